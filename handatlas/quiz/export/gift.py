"""GIFT: Moodle's plain-text question format.

GIFT cannot embed images, so spatial questions use their text-only variants (see
:mod:`handatlas.quiz.export.items`) and carry a comment line saying so.  Tags and ids are
written as ``// [id:…] [tag:…]`` comments, which recent Moodle versions read; the explanation is
the general feedback (``####``).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from handatlas.quiz.export.items import Exported, ExportQuiz, Item
from handatlas.quiz.export.moodle import fraction_text

_SPECIAL = "\\~=#{}:"


def escape(text: str) -> str:
    r"""Escape GIFT's special characters (and HTML's ``& < >``); newlines become spaces.

    Examples
    --------
    >>> escape("a {b}: c = d ~ e # f")
    'a \\{b\\}\\: c \\= d \\~ e \\# f'
    """
    text = html.escape(" ".join(text.split()), quote=False)
    return "".join(f"\\{c}" if c in _SPECIAL else c for c in text)


def short_answer(text: str) -> str:
    r"""A short answer: ``*`` is Moodle's wildcard there (``C*`` would accept anything starting
    with C), so a literal one is written ``\*``, which the GIFT reader passes on as is (it is not
    one of GIFT's own escapes) and the short-answer grader reads as a plain asterisk; then
    GIFT's specials are escaped.  No HTML escaping: answers are compared as plain text.

    Examples
    --------
    >>> short_answer("C*7 {cervical}")
    'C\\*7 \\{cervical\\}'
    """
    text = " ".join(text.split())
    return "".join("\\*" if c == "*" else f"\\{c}" if c in _SPECIAL else c for c in text)


def html_text(text: str) -> str:
    """Blank-line paragraphs as one escaped ``[html]`` line."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "[html]" + "".join(f"<p>{escape(p)}</p>" for p in paragraphs)


def _answer_lines(item: Item) -> list[str]:
    if item.kind == "matching":
        return [f"={escape(stem)} -> {escape(answer)}" for stem, answer in item.pairs]
    if item.kind == "shortanswer":
        return [f"={short_answer(a.text)}" for a in item.answers]
    if item.single:
        return [f"{'=' if a.fraction >= 100 else '~'}{escape(a.text)}" for a in item.answers]
    return [f"~%{fraction_text(a.fraction)}%{escape(a.text)}" for a in item.answers]


def question_block(item: Item, exported: Exported) -> str:
    """One question, with its comment lines, ending in a blank line."""
    q = exported.question
    tags = " ".join(f"[tag:{t}]" for t in exported.tags)
    lines = [f"// {exported.quiz_id}/{item.id} ({q.type} as {item.kind})",
             f"// [id:{exported.quiz_id}.{item.id}] {tags}"]
    if exported.picture is not None:
        lines.append(f"// {exported.no_picture_note}")
    lines.append(f"::{escape(item.id)}::{html_text(item.prompt)} {{")
    lines += [f"\t{line}" for line in _answer_lines(item)]
    lines.append(f"\t####{html_text(exported.explanation)}")
    lines.append("}")
    return "\n".join(lines) + "\n\n"


def gift_text(quizzes: Sequence[ExportQuiz]) -> str:
    """The GIFT document of ``quizzes``, one ``$CATEGORY`` per quiz."""
    out = ["// handatlas quiz export (GIFT). GIFT has no images: spatial questions are asked in words.\n\n"]
    for quiz in quizzes:
        out.append(f"$CATEGORY: $course$/top/{quiz.title.replace('/', '-')}\n\n")
        for exported in quiz.questions:
            out += [question_block(item, exported) for item in exported.text_items]
    return "".join(out)
