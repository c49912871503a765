"""Anki ``.apkg`` through genanki: one deck per quiz, one note per question.

Ids are stable: the note type's id comes from a fixed name (one note type for every quiz), each
deck's id from its quiz id, each note's GUID from the quiz and question ids, so re-importing an
updated export updates the cards instead of duplicating them.  Pictures are media files of the
package with opaque names (``<img src="hand-<hash>.png">``,
:func:`~handatlas.quiz.export.moodle.picture_file`); tags become Anki tags with ``::`` for ``:``.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from handatlas.quiz.export.items import Exported, ExportQuiz, Item, seeded
from handatlas.quiz.export.moodle import html_paragraphs, html_text, picture_name

MODEL_NAME = "handatlas quiz question"
FIELDS = ("Id", "Quiz", "Type", "Front", "Back", "Explanation")
CSS = """.card { font-family: sans-serif; font-size: 18px; text-align: left; color: #222; background: #fff; }
.card img { max-width: 100%; }
.explanation { margin-top: 1em; color: #444; font-size: 16px; }
.tagline { color: #888; font-size: 12px; }
"""
FRONT = "{{Front}}"
BACK = '{{FrontSide}}<hr id="answer">{{Back}}<div class="explanation">{{Explanation}}</div>'


def stable_id(*parts: str) -> int:
    """A deterministic id in genanki's recommended range [2**30, 2**31).

    Examples
    --------
    >>> stable_id("deck", "areas_of_caution") == stable_id("deck", "areas_of_caution")
    True
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return (1 << 30) + int.from_bytes(digest[:4], "big") % (1 << 30)


def anki_tags(tags: Sequence[str]) -> list[str]:
    """``topic:radial_artery`` -> ``topic::radial_artery`` (Anki's tag hierarchy)."""
    return ["::".join(part for part in tag.split(":") if part).replace(" ", "_") for tag in tags]


def _model():
    import genanki

    return genanki.Model(
        stable_id("model", MODEL_NAME), MODEL_NAME,
        fields=[{"name": f} for f in FIELDS],
        templates=[{"name": "Question", "qfmt": FRONT, "afmt": BACK}],
        css=CSS,
    )


def shown_order(item: Item, exported: Exported) -> list[str]:
    """The items of an order question as the card shows them: a seeded shuffle, never the right
    order (Anki cannot shuffle; a shuffle may give the right order back, 1 time in 6 for three)."""
    right = [answer for _, answer in item.pairs]
    shuffled = list(right)
    rng = seeded(exported.quiz_id, item.id)
    while len(set(right)) > 1 and shuffled == right:
        rng.shuffle(shuffled)
    return shuffled


def _options_html(item: Item, exported: Exported) -> str:
    if item.kind == "matching":
        lis = "".join(f"<li>{html_text(t)}</li>" for t in shown_order(item, exported))
        return f"<p><i>Put in order:</i></p><ul>{lis}</ul>"
    if item.kind == "shortanswer":
        return "<p><i>Type or say the name.</i></p>"
    hint = "" if item.single else "<p><i>Select every right answer.</i></p>"
    lis = "".join(f"<li>{html_text(a.text)}</li>" for a in item.answers)
    return f'{hint}<ol type="A">{lis}</ol>'


def _answer_html(item: Item) -> str:
    if item.kind == "matching":
        return "<ol>" + "".join(f"<li>{html_text(a)}</li>" for _, a in item.pairs) + "</ol>"
    if item.kind == "shortanswer":
        first, *others = (a.text for a in item.answers)
        also = f" <span>(also accepted: {html_text(', '.join(others))})</span>" if others else ""
        return f"<p><b>{html_text(first)}</b>{also}</p>"
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    right = [f"{letters[i]}. {html_text(a.text)}" for i, a in enumerate(item.answers) if a.fraction > 0]
    return "<p><b>" + "<br>".join(right) + "</b></p>"


def note_fields(exported: Exported, *, media: str | None) -> list[str]:
    """The fields of one note (see :data:`FIELDS`); every part of a question on one card.

    The parts of a two-part press share their prompt: a later part shows only the paragraphs
    the card has not shown yet ("Part 2: select every structure at risk."), not the prompt again.
    """
    front, back = [], []
    shown: set[str] = set()
    for k, item in enumerate(exported.items):
        picture = f'<p><img src="{media}"></p>' if k == 0 and media is not None else ""
        paragraphs = [p.strip() for p in item.prompt.split("\n\n") if p.strip() and p.strip() not in shown]
        shown.update(paragraphs)
        front.append(html_paragraphs("\n\n".join(paragraphs)) + picture + _options_html(item, exported))
        back.append(_answer_html(item))
    return [exported.id, exported.quiz_id, exported.question.type, "".join(front), "<hr>".join(back),
            html_paragraphs(exported.explanation)]


def write_apkg(quizzes: Sequence[ExportQuiz], path: Path, *, png: Callable[[Exported], bytes | None]) -> int:
    """Write the package; return the number of notes.

    Raises
    ------
    OSError
        When the package cannot be written.
    """
    import genanki

    model = _model()
    decks = []
    with tempfile.TemporaryDirectory(prefix="handatlas-anki-") as tmp:
        media_files: list[str] = []
        for quiz in quizzes:
            deck = genanki.Deck(stable_id("deck", quiz.id), f"handatlas::{quiz.title}",
                                description=html_text(quiz.description))
            for exported in quiz.questions:
                picture = png(exported) if exported.picture is not None else None
                media = None
                if picture is not None:
                    media = picture_name(exported)
                    (Path(tmp) / media).write_bytes(picture)
                    media_files.append(str(Path(tmp) / media))
                deck.add_note(genanki.Note(model=model, fields=note_fields(exported, media=media),
                                           tags=anki_tags(exported.tags),
                                           guid=genanki.guid_for(exported.quiz_id, exported.id)))
            decks.append(deck)
        genanki.Package(decks, media_files=media_files).write_to_file(str(path))
    return sum(len(d.notes) for d in decks)
