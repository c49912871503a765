"""Quiz exports for instructors: Moodle XML, GIFT and Anki ``.apkg``.

Spatial questions (locate, identify, press, territory) become multiple choice or short answer
with keys computed from the atlas, and a picture rendered off screen where the format allows
(Moodle XML: embedded PNG; Anki: media file; GIFT: none, the questions are asked in words).
The mapping of every question type is described in :mod:`handatlas.quiz.export.items`.

Examples
--------
>>> from handatlas import load_atlas
>>> from handatlas.quiz import default_quiz_dir, load_quiz
>>> from handatlas.quiz.export import export_quizzes
>>> quiz = load_quiz(default_quiz_dir() / "hand_anatomy.yaml")
>>> export_quizzes([quiz], load_atlas(), fmt="gift", output="hand.gift")  # doctest: +SKIP
ExportResult(path=PosixPath('hand.gift'), fmt='gift', questions=..., items=..., pictures=0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from handatlas.outputs import OutputError, atomic_output, check_output
from handatlas.quiz.export.geometry import Geometry
from handatlas.quiz.export.items import Exported, ExportQuiz, export_quiz
from handatlas.quiz.export.pictures import DEFAULT_CACHE, PictureCache, PictureError

if TYPE_CHECKING:
    from handatlas.atlas import Atlas
    from handatlas.quiz.loading import LoadedQuiz

#: Export formats and the file suffix each one usually has.
FORMATS = {"moodle": ".xml", "gift": ".gift", "anki": ".apkg"}

__all__ = ["FORMATS", "ExportError", "ExportResult", "PictureError", "export_quizzes"]


class ExportError(ValueError):
    """An export that cannot be made (unknown format, unwritable output)."""


@dataclass(frozen=True)
class ExportResult:
    """What was written: questions of the quizzes, items in the file, pictures embedded."""

    path: Path
    fmt: str
    questions: int
    items: int
    pictures: int


def export_quizzes(quizzes: Sequence[LoadedQuiz], atlas: Atlas, *, fmt: str, output: str | Path,
                   pictures: bool = True, cache: PictureCache | None = None) -> ExportResult:
    """Export loaded (and checked) quizzes to one file.

    Parameters
    ----------
    quizzes
        Quizzes that pass ``handatlas quiz check``.
    atlas
        The atlas the spatial keys and pictures come from.
    fmt
        ``moodle``, ``gift`` or ``anki``.
    output
        The file to write, atomically (replaced if it exists; a symbolic link's target is
        written; see :mod:`handatlas.outputs`).
    pictures
        Render pictures for spatial questions (Moodle and Anki only).
    cache
        Where rendered pictures are kept (default: one cache per process).

    Raises
    ------
    ExportError
        For an unknown format or an output that cannot be written.
    PictureError
        When a picture cannot be rendered.
    """
    if fmt not in FORMATS:
        msg = f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}"
        raise ExportError(msg)
    try:
        path = check_output(output)
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    geometry = Geometry(atlas)
    exported = [export_quiz(q, atlas, geometry=geometry) for q in quizzes]
    cache = cache or DEFAULT_CACHE
    drawn: set[str] = set()

    def png(item: Exported) -> bytes | None:
        if not pictures or item.picture is None:
            return None
        drawn.add(f"{item.quiz_id}/{item.id}")
        return cache.png(atlas, item.picture)

    try:
        items = _write(exported, fmt, path, png)
    except OutputError as exc:
        raise ExportError(str(exc)) from None
    finally:
        cache.release()
    n_questions = sum(len(q.questions) for q in exported)
    return ExportResult(path, fmt, n_questions, items, len(drawn))


def _write(exported: list[ExportQuiz], fmt: str, path: Path, png) -> int:
    """Write one format atomically; return the number of items (questions or notes) in the file."""
    with atomic_output(path) as temporary:
        if fmt == "anki":
            from handatlas.quiz.export.anki import write_apkg

            return write_apkg(exported, temporary, png=png)
        if fmt == "moodle":
            from handatlas.quiz.export.moodle import moodle_xml

            temporary.write_bytes(moodle_xml(exported, png=png))
            return sum(len(e.items) for q in exported for e in q.questions)
        from handatlas.quiz.export.gift import gift_text

        temporary.write_bytes(gift_text(exported).encode("utf-8"))
        return sum(len(e.text_items) for q in exported for e in q.questions)
