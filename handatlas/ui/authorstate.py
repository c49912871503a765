"""The Author mode's state as ``param`` parameters (no panel import).

Off unless an instructor credential is configured (:func:`handatlas.accounts.load_instructors`);
students never need to sign in.  The instructor is fixed when the session is made (signed in at
``/login`` before the page opened, :mod:`handatlas.ui.login`); without one every action here is
refused, whatever a client sends.  A click fills the question's target (the structure hit, or the
nearest landmark when snapping is on) or its ``where`` (a landmark, or the skin point); the key
is computed by the atlas and shown before saving; :func:`handatlas.quiz.authoring.save_question`
checks the whole file and writes only inside the quizzes folder.  The form in
:mod:`handatlas.ui.authorview` displays and sets these parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import param

from handatlas.accounts import Instructors
from handatlas.lookup.grades import GRADES
from handatlas.quiz.authoring import (
    AuthoringError,
    choice_question,
    click_point,
    identify_question,
    locate_question,
    order_question,
    press_question,
    preview_key,
    save_question,
    territory_question,
)
from handatlas.quiz.bank import QuizFlowError, open_quiz, quiz_choices
from handatlas.quiz.problems import QuizError
from handatlas.quiz.schema import PRESS_ASKS, QUESTION_TYPES
from handatlas.ui.colours import MARKER_RGB
from handatlas.ui.state import HandState

NEW_FILE = "(new file)"
NEW_QUESTION = "(new question)"
#: A click this close to a landmark (mm) names the landmark when snapping is on.
SNAP_MM = 8.0
#: Question types whose target is a structure or landmark, and those pressed at a place.
SPATIAL_TARGET = ("locate", "identify")
SPATIAL_WHERE = ("press", "territory")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _option_numbers(text: str, count: int) -> list[int]:
    """The right option numbers typed in the form (from 1, as the form numbers them), checked
    against the ``count`` options there are.

    Raises
    ------
    AuthoringError
        For text that is not numbers, no number, a number out of range or one given twice; in the
        form's numbering ("4 is out of range: the options are 1 to 3").
    """
    try:
        numbers = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise AuthoringError(f"answer: {text!r} is not option numbers like 2 or 1, 3") from None
    if not numbers:
        raise AuthoringError("answer: give the number of the right option (e.g. 2), or several (1, 3)")
    for k, number in enumerate(numbers):
        if not 1 <= number <= count:
            known = f"the options are 1 to {count}" if count > 1 else (
                "there is only option 1" if count == 1 else "there are no options yet")
            raise AuthoringError(f"answer: {number} is out of range: {known}")
        if number in numbers[:k]:
            raise AuthoringError(f"answer: {number} is listed twice")
    return numbers


class AuthorState(param.Parameterized):
    """Create or edit a question and save it to a quiz file of the folder (instructors only).

    Parameters
    ----------
    hand
        The session's hand state (clicks, markers, messages).
    folder
        The quizzes folder (nothing is written outside it).
    instructors
        Who may author; None turns the mode off.
    user
        The instructor of this session (None: a student; every action is refused).
    """

    user = param.String(default=None, allow_None=True, constant=True,
                        doc="The instructor of this session (None: a student).")
    file = param.Selector(default=NEW_FILE, objects=[NEW_FILE], doc="The quiz file to save into.")
    new_file = param.String(default="", doc="Name of a new quiz file (file = NEW_FILE).")
    new_title = param.String(default="", doc="Title of a new quiz file.")
    existing = param.Selector(default=NEW_QUESTION, objects=[NEW_QUESTION], doc="A question to edit.")
    type = param.Selector(default="press", objects=list(QUESTION_TYPES))
    qid = param.String(default="", doc="Question id.")
    prompt = param.String(default="")
    explanation = param.String(default="", doc="Shown after the answer.")
    tags = param.String(default="", doc="Comma separated, e.g. topic:radial_artery, domain:pathology "
                                        "(exactly one exam domain).")
    difficulty = param.Integer(default=3, bounds=(1, 5))
    target = param.String(default="", doc="Target (structure or landmark) or where (landmark or [x, y, z]).")
    snap = param.Boolean(default=True, doc=f"Snap clicks to a landmark within {SNAP_MM:g} mm.")
    tolerance = param.Number(default=5.0, bounds=(1.0, 20.0), doc="Locate: click tolerance (mm).")
    grade = param.Selector(default="moderate", objects=list(GRADES))
    ask = param.ListSelector(default=["verdict"], objects=list(PRESS_ASKS))
    options = param.String(default="", doc="Options, one per line.")
    answer = param.String(default="", doc="Choice: the right option numbers from 1, e.g. 2 or 1, 3.")
    items = param.String(default="", doc="Order: the items in the right order, one per line.")
    output = param.Dict(default={}, doc="The last preview or save: {'kind': 'key'|'saved', 'text', ...}.")

    def __init__(self, hand: HandState, folder: Path, instructors: Instructors | None, *,
                 user: str | None = None, **params: Any) -> None:
        if user is not None and (instructors is None or user not in instructors.users):
            raise ValueError(f"{user!r} is not a configured instructor")
        super().__init__(user=user, **params)
        self.hand = hand
        self.folder = folder
        self.instructors = instructors
        if user is not None:
            self.refresh_files()

    @property
    def enabled(self) -> bool:
        """Whether authoring is on (an instructor is configured)."""
        return self.instructors is not None

    def guard(self, action: Any) -> Any:
        """Run ``action()``; a refused question or file becomes the page's message."""
        try:
            return action()
        except (AuthoringError, QuizFlowError, QuizError, ValueError) as err:
            self.hand.message = str(err)
            return None

    # ------------------------------------------------------------------ access
    def require_instructor(self) -> str:
        """The session's instructor; raises :class:`AuthoringError` in a student's session."""
        if self.user is None:
            raise AuthoringError("only a signed-in instructor may author questions: sign in at /login")
        return self.user

    # ------------------------------------------------------------------ files
    def refresh_files(self, *, select: str | None = None) -> None:
        """List the folder's quiz files (and a new file) and choose ``select`` or the first."""
        try:
            names = [path.name for _, path in quiz_choices(self.folder)]
        except QuizFlowError as err:
            self.hand.message = str(err)
            names = []
        self.param.file.objects = [*names, NEW_FILE]
        chosen = select if select in names else (names[0] if names else NEW_FILE)
        if self.file == chosen:
            self.param.trigger("file")
        else:
            self.file = chosen

    @param.depends("file", watch=True)
    def _list_questions(self) -> None:
        ids: list[str] = []
        if self.file and self.file != NEW_FILE:
            try:
                ids = [q.id for q in open_quiz(self.folder, self.file).questions]
            except QuizFlowError as err:
                self.hand.message = str(err)
        self.param.existing.objects = [NEW_QUESTION, *ids]
        self.existing = NEW_QUESTION

    @param.depends("existing", watch=True)
    def _load_existing(self) -> None:
        self.guard(lambda: self.load_question(self.existing))

    def load_question(self, qid: str) -> None:
        """Fill the form with a question of the chosen file (to edit it)."""
        if not qid or qid == NEW_QUESTION or self.user is None:
            return
        q = next(q for q in open_quiz(self.folder, self.file).questions if q.id == qid)
        where = getattr(q, "target", None) or getattr(q, "where", None)
        values: dict[str, Any] = {
            "type": q.type,
            "qid": q.id,
            "prompt": q.prompt,
            "explanation": q.explanation,
            "tags": ", ".join(q.tags),
            "difficulty": q.difficulty,
            "target": where if isinstance(where, str) else (str(list(where)) if where else ""),
        }
        if q.type == "locate":
            values["tolerance"] = q.tolerance_mm
        if q.type == "press":
            values.update(grade=q.grade, ask=list(q.ask))
        if q.type in ("choice", "identify"):
            values["options"] = "\n".join(getattr(q, "options", None) or [])
        if q.type == "choice":
            values["answer"] = ", ".join(str(i + 1) for i in q.answers)
        if q.type == "order":
            values["items"] = "\n".join(q.items)
        self.param.update(**values)

    # ------------------------------------------------------------------ clicks
    def on_click(self, message: dict[str, Any]) -> str | None:
        """Fill the target (structure or landmark) or the place (landmark or skin point) from a click."""
        hand = self.hand
        if self.user is None:
            hand.message = "Sign in as an instructor to author questions." if self.instructors else ""
            return None
        kind = self.type
        if kind not in SPATIAL_TARGET + SPATIAL_WHERE:
            hand.message = f"A {kind} question has no place on the hand: the click was not used."
            return None
        hit = hand.hit(message) if kind in SPATIAL_TARGET else None
        point = hit.point if hit is not None else hand.skin_point(message)
        if point is None:
            return None
        landmark = self.nearest_landmark(point) if self.snap else None
        if landmark:
            value = landmark
        elif kind in SPATIAL_TARGET:
            value = hit.id if hit else ""
        else:
            value = str(click_point(point))
        self.target = value
        hand.markers = [{"xyz": [float(v) for v in point], "colour": MARKER_RGB, "radius": 2.0}]
        return value

    def nearest_landmark(self, point: np.ndarray) -> str | None:
        """The landmark within :data:`SNAP_MM` of ``point``, nearest first; None when there is none."""
        best, best_d = None, SNAP_MM
        for lid, lm in self.hand.atlas.landmarks.items():
            d = float(np.linalg.norm(lm.point - point))
            if d < best_d:
                best, best_d = lid, d
        return best

    # ------------------------------------------------------------------ build, preview, save
    def _where(self) -> str | list[float]:
        text = self.target.strip()
        if text.startswith("["):
            try:
                values = [float(v) for v in text.strip("[]").split(",")]
            except ValueError:
                raise AuthoringError(f"where: {text!r} is neither a landmark id nor [x, y, z]") from None
            if len(values) != 3:
                raise AuthoringError(f"where: {text!r} needs three numbers [x, y, z]")
            return values
        return text

    def question(self, *, draft: bool = False) -> dict[str, Any]:
        """The question the form describes, validated (raises AuthoringError with the field).

        ``draft`` stands in for a missing id, prompt or explanation (to preview the key early).
        """
        qid, prompt, explanation = self.qid, self.prompt, self.explanation
        if draft:
            qid, prompt, explanation = qid or "draft", prompt or "(prompt)", explanation or "(explanation)"
        common = {
            "question_id": qid,
            "prompt": prompt,
            "explanation": explanation,
            "tags": [t for t in self.tags.split(",") if t.strip()],
            "difficulty": self.difficulty,
        }
        kind = self.type
        if kind == "locate":
            return locate_question(**common, target=self.target, tolerance_mm=self.tolerance)
        if kind == "identify":
            return identify_question(**common, target=self.target, options=_lines(self.options) or None)
        if kind == "press":
            return press_question(**common, where=self._where(), grade=self.grade, ask=self.ask)
        if kind == "territory":
            return territory_question(**common, where=self._where())
        if kind == "choice":
            options = _lines(self.options)
            picks = [i - 1 for i in _option_numbers(self.answer, len(options))]
            answer: int | list[int] = picks[0] if len(picks) == 1 else picks
            return choice_question(**common, options=options, answer=answer)
        return order_question(**common, items=_lines(self.items))

    def preview(self) -> str:
        """Show what the atlas says the answer is."""
        self.require_instructor()
        text = preview_key(self.question(draft=True), self.hand.atlas)
        self.hand.message = ""
        self.output = {"kind": "key", "text": text}
        return text

    def _destination(self) -> tuple[str, dict[str, Any] | None]:
        """The file to save into and, for a new one, its quiz header (a new file's name must be new)."""
        if self.file != NEW_FILE:
            return self.file, None
        name = self.new_file.strip()
        name = name if name.endswith(".yaml") else f"{name}.yaml"
        bare = "/" not in name and "\\" not in name  # others are refused by save_question
        if bare and ((self.folder / name).exists() or (self.folder / name).is_symlink()):
            raise AuthoringError(f"{name} already exists in the quizzes folder: choose it in the Quiz "
                                 f"file list to add to it, or give the new file another name")
        stem = name.removesuffix(".yaml")
        return name, {"id": stem.replace("-", "_"), "title": self.new_title.strip() or stem,
                      "author": self.user}

    def save(self) -> Path:
        """Save the question into the chosen (or new) file of the quizzes folder.

        The note of an earlier save is cleared first: a failed save shows its error alone.  A new
        file may not be named like one that exists (pick that one from the list to add to it).
        """
        if self.output.get("kind") == "saved":
            self.output = {}
        self.require_instructor()
        name, header = self._destination()
        question = self.question()
        key = preview_key(question, self.hand.atlas)
        replace = self.existing == question["id"]
        path = save_question(
            self.folder, name, question, atlas=self.hand.atlas, header=header, replace=replace
        )
        self.hand.message = ""
        self.output = {"kind": "saved", "text": key, "id": question["id"], "file": path.name}
        self.refresh_files(select=path.name)
        return path
