"""Moodle XML: one category per quiz, multichoice / shortanswer / matching questions.

Pictures are embedded as base64 ``<file>`` elements of the question text and referenced as
``@@PLUGINFILE@@/name.png``; explanations go into ``generalfeedback``, tags into ``<tags>``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

from handatlas.quiz.export.items import Exported, ExportQuiz, Item
from handatlas.quiz.export.pictures import SIZE

#: Moodle's default penalty for a wrong try in adaptive mode.
PENALTY = "0.3333333"


def fraction_text(value: float) -> str:
    """A Moodle fraction: up to five decimals, no trailing zeros.

    Examples
    --------
    >>> fraction_text(100.0), fraction_text(-33.333333), fraction_text(0.0)
    ('100', '-33.33333', '0')
    """
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def html_text(text: str) -> str:
    """Text escaped for an HTML element's content: ``& < >`` only, so that apostrophes and
    quotes stay as typed (``html.escape``'s default turns them into ``&#x27;`` and ``&quot;``).

    Examples
    --------
    >>> html_text("Guyon's <canal>")
    "Guyon's &lt;canal&gt;"
    """
    return html.escape(text, quote=False)


def html_paragraphs(text: str) -> str:
    """Plain text with blank-line paragraphs -> escaped HTML paragraphs."""
    return "".join(f"<p>{html_text(p.strip())}</p>" for p in text.split("\n\n") if p.strip())


def picture_name(exported: Exported) -> str:
    """The file name of a question's picture (:func:`picture_file`)."""
    return picture_file(exported.quiz_id, exported.id)


def picture_file(quiz_id: str, question_id: str) -> str:
    """A picture's file name: unique across quizzes, stable, and opaque.

    A hash of the quiz and question ids: a name such as ``identify_ulnar_nerve.png`` would give
    the answer away to anyone who looks at the picture's address.
    """
    digest = hashlib.sha256(f"{quiz_id}/{question_id}".encode()).hexdigest()[:16]
    return f"hand-{digest}.png"


def _text(parent: ET.Element, tag: str, text: str, **attrib: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrib)
    ET.SubElement(element, "text").text = text
    return element


def _sub(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _question_text(q: ET.Element, item: Item, exported: Exported, png: bytes | None) -> None:
    body = html_paragraphs(item.prompt)
    if png is not None:
        name = picture_name(exported)
        alt = html.escape(exported.picture.alt if exported.picture else "", quote=True)
        width, height = SIZE
        body += f'<p><img src="@@PLUGINFILE@@/{name}" alt="{alt}" width="{width}" height="{height}"/></p>'
    element = _text(q, "questiontext", body, format="html")
    if png is not None:
        file = ET.SubElement(element, "file", name=picture_name(exported), path="/", encoding="base64")
        file.text = base64.b64encode(png).decode("ascii")


def _answers(q: ET.Element, item: Item, *, fmt: str) -> None:
    for answer in item.answers:
        text = html_text(answer.text) if fmt == "html" else answer.text.replace("*", r"\*")
        element = _text(q, "answer", text, fraction=fraction_text(answer.fraction), format=fmt)
        _text(element, "feedback", "", format="html")


def _type_fields(q: ET.Element, item: Item) -> None:
    if item.kind == "multichoice":
        _sub(q, "single", "true" if item.single else "false")
        _sub(q, "shuffleanswers", "1")  # every attempt in its own order, whatever the quiz says
        _sub(q, "answernumbering", "abc")
        _answers(q, item, fmt="html")
    elif item.kind == "shortanswer":
        _sub(q, "usecase", "0")
        _answers(q, item, fmt="moodle_auto_format")
    else:  # matching
        _sub(q, "shuffleanswers", "1")
        for stem, answer in item.pairs:
            sub = _text(q, "subquestion", html_text(stem), format="html")
            _text(sub, "answer", answer)


def question_element(item: Item, exported: Exported, *, png: bytes | None) -> ET.Element:
    """One ``<question>``."""
    q = ET.Element("question", type=item.kind)
    _text(q, "name", item.id)
    _question_text(q, item, exported, png)
    _text(q, "generalfeedback", html_paragraphs(exported.explanation), format="html")
    _sub(q, "defaultgrade", "1")
    _sub(q, "penalty", PENALTY)
    _sub(q, "hidden", "0")
    _sub(q, "idnumber", f"{exported.quiz_id}.{item.id}"[:100])
    _type_fields(q, item)
    tags = ET.SubElement(q, "tags")
    for tag in exported.tags:
        _text(tags, "tag", tag)
    return q


def _category(quiz: ExportQuiz) -> ET.Element:
    q = ET.Element("question", type="category")
    _text(q, "category", f"$course$/top/{quiz.title.replace('/', '-')}")
    _text(q, "info", html_paragraphs(quiz.description), format="html")
    return q


def moodle_xml(quizzes: Sequence[ExportQuiz], *, png: Callable[[Exported], bytes | None]) -> bytes:
    """The Moodle XML document of ``quizzes``.

    Parameters
    ----------
    quizzes
        The quizzes, each as a category.
    png
        The picture of a question (PNG bytes), or ``None`` for none.
    """
    root = ET.Element("quiz")
    for quiz in quizzes:
        root.append(_category(quiz))
        for exported in quiz.questions:
            picture = png(exported) if exported.picture is not None else None
            for item in exported.items:
                root.append(question_element(item, exported, png=picture))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
