"""The Author mode: instructors write questions by clicking the hand and save them as YAML.

Off (with instructions on the page) unless an instructor credential is configured
(:func:`handatlas.accounts.load_instructors`); students never need to sign in.  A click
fills the question's target (the structure hit, or the nearest landmark when snapping is on) or
its ``where`` (a landmark, or the skin point); the key is computed by the atlas and shown before
saving; :func:`handatlas.quiz.authoring.save_question` checks the whole file and writes only
inside the quizzes folder.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn

from handatlas.accounts import AUTHORING_HELP, Instructors
from handatlas.lookup.grades import GRADES
from handatlas.quiz import load_quiz
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
from handatlas.quiz.bank import QuizFlowError, quiz_choices
from handatlas.quiz.problems import QuizError
from handatlas.ui.state import HandState

NEW_FILE = "(new file)"
NEW_QUESTION = "(new question)"
SNAP_MM = 8.0
TYPES = ("locate", "identify", "press", "territory", "choice", "order")
SPATIAL_TARGET = ("locate", "identify")
SPATIAL_WHERE = ("press", "territory")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class AuthorMode:
    """Sign in, then create or edit a question and save it to a quiz file of the folder.

    Parameters
    ----------
    state
        The session state (clicks, markers).
    quizzes
        The quizzes folder (nothing is written outside it).
    instructors
        Who may author; None turns the mode off.
    """

    def __init__(self, state: HandState, quizzes: Path, instructors: Instructors | None) -> None:
        self.state = state
        self.folder = quizzes
        self.instructors = instructors
        self.user: str | None = None
        w = pn.widgets
        self.login_user = w.TextInput(
            label="Instructor", value="instructor", css_classes=["author-user"], margin=(4, 10)
        )
        self.login_password = w.PasswordInput(
            label="Password", css_classes=["author-password"], margin=(4, 10)
        )
        self.login_button = w.Button(label="Sign in", color="primary", css_classes=["author-login"])
        self.login_button.on_click(lambda _e: self.sign_in(self.login_user.value, self.login_password.value))
        self.file = w.Select(label="Quiz file", css_classes=["author-file"], margin=(4, 10))
        self.new_file = w.TextInput(
            label="New file name", placeholder="my_quiz.yaml", css_classes=["author-new-file"], margin=(4, 10)
        )
        self.new_title = w.TextInput(
            label="New quiz title",
            placeholder="Wrist safety",
            margin=(4, 10),
            css_classes=["author-new-title"],
        )
        self.existing = w.Select(label="Question", css_classes=["author-existing"], margin=(4, 10))
        self.type = w.Select(
            label="Type", options=list(TYPES), value="press", css_classes=["author-type"], margin=(4, 10)
        )
        self.qid = w.TextInput(
            label="Question id", placeholder="pulse_firm", css_classes=["author-id"], margin=(4, 10)
        )
        self.prompt = w.TextAreaInput(label="Prompt", rows=2, css_classes=["author-prompt"], margin=(4, 10))
        self.explanation = w.TextAreaInput(
            label="Explanation (shown after the answer)",
            rows=2,
            css_classes=["author-explanation"],
            margin=(4, 10),
        )
        self.tags = w.TextInput(
            label="Tags (comma separated)",
            placeholder="topic:radial_artery, domain:safety",
            css_classes=["author-tags"],
            margin=(4, 10),
        )
        self.difficulty = w.IntSlider(label="Difficulty", start=1, end=5, value=3, margin=(4, 10))
        self.target = w.TextInput(
            label="Target / where — click the hand", css_classes=["author-target"], margin=(4, 10)
        )
        self.snap = w.Checkbox(
            label=f"Snap clicks to a landmark within {SNAP_MM:g} mm",
            value=True,
            css_classes=["author-snap"],
            margin=(4, 10),
        )
        self.tolerance = w.FloatSlider(
            label="Click tolerance (mm)", start=1, end=20, step=1, value=5, margin=(4, 10)
        )
        self.grade = w.RadioButtonGroup(
            options=list(GRADES), value="moderate", css_classes=["author-grade"], margin=(4, 10)
        )
        self.ask = w.CheckBoxGroup(
            options=["verdict", "at_risk"],
            value=["verdict"],
            inline=True,
            css_classes=["author-ask"],
            margin=(4, 10),
        )
        self.options = w.TextAreaInput(
            label="Options, one per line (identify: optional)",
            rows=4,
            css_classes=["author-options"],
            margin=(4, 10),
        )
        self.answer = w.TextInput(
            label="Right option numbers, from 1 (e.g. 2 or 1, 3)",
            css_classes=["author-answer"],
            margin=(4, 10),
        )
        self.items = w.TextAreaInput(
            label="Items in the right order, one per line",
            rows=4,
            css_classes=["author-items"],
            margin=(4, 10),
        )
        self.preview_button = w.Button(
            label="Preview key", color="default", css_classes=["author-preview"]
        )
        self.save_button = w.Button(label="Save", color="primary", css_classes=["author-save"])
        self.preview_button.on_click(lambda _e: self._guard(self.preview))
        self.save_button.on_click(lambda _e: self._guard(self.save))
        self.output = pn.pane.HTML("", css_classes=["author-output"], sizing_mode="stretch_width")
        self.file.param.watch(lambda _e: self._list_questions(), "value")
        self.existing.param.watch(lambda e: self._guard(lambda: self.load_question(e.new)), "value")
        self.body = pn.Column(sizing_mode="stretch_width", css_classes=["author-body"])
        self._render()

    # ------------------------------------------------------------------ access
    def sign_in(self, user: str, password: str) -> bool:
        """Check the credential; on success show the editor."""
        if self.instructors is None or not self.instructors.check(user.strip(), password):
            self.state.message = "Wrong instructor name or password."
            return False
        self.user = user.strip()
        self.state.message = ""
        self.login_password.value = ""
        self._refresh_files()
        self._render()
        return True

    def _render(self) -> None:
        if self.instructors is None:
            self.body.objects = [
                pn.pane.Markdown(
                    "**Authoring is off.**\n\n```\n" + AUTHORING_HELP + "```",
                    css_classes=["author-help"],
                    sizing_mode="stretch_width",
                )
            ]
        elif self.user is None:
            self.body.objects = [
                pn.pane.Markdown("Instructors sign in to write questions."),
                self.login_user,
                self.login_password,
                self.login_button,
            ]
        else:
            spatial = pn.Column(
                self.target,
                self.snap,
                sizing_mode="stretch_width",
                visible=pn.bind(lambda t: t in SPATIAL_TARGET + SPATIAL_WHERE, self.type),
            )
            self.body.objects = [
                pn.pane.Markdown(f"Signed in as **{escape(self.user)}**."),
                self.file,
                pn.Column(self.new_file, self.new_title, visible=pn.bind(lambda f: f == NEW_FILE, self.file)),
                self.existing,
                self.type,
                self.qid,
                self.prompt,
                spatial,
                pn.Column(self.tolerance, visible=pn.bind(lambda t: t == "locate", self.type)),
                pn.Column(self.grade, self.ask, visible=pn.bind(lambda t: t == "press", self.type)),
                pn.Column(self.options, visible=pn.bind(lambda t: t in ("choice", "identify"), self.type)),
                pn.Column(self.answer, visible=pn.bind(lambda t: t == "choice", self.type)),
                pn.Column(self.items, visible=pn.bind(lambda t: t == "order", self.type)),
                self.explanation,
                self.tags,
                self.difficulty,
                pn.Row(self.preview_button, self.save_button),
            ]

    def _guard(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except (AuthoringError, QuizFlowError, QuizError, ValueError) as err:
            self.state.message = str(err)
            return None

    # ------------------------------------------------------------------ files
    def _refresh_files(self, select: str | None = None) -> None:
        try:
            names = [path.name for _, path in quiz_choices(self.folder)]
        except QuizFlowError as err:
            self.state.message = str(err)
            names = []
        self.file.options = [*names, NEW_FILE]
        self.file.value = select if select in names else (names[0] if names else NEW_FILE)
        self._list_questions()

    def _list_questions(self) -> None:
        ids: list[str] = []
        if self.file.value and self.file.value != NEW_FILE:
            try:
                ids = [q.id for q in load_quiz(self.folder / self.file.value).questions]
            except QuizError as err:
                self.state.message = str(err)
        self.existing.options = [NEW_QUESTION, *ids]
        self.existing.value = NEW_QUESTION

    def load_question(self, qid: str) -> None:
        """Fill the form with a question of the chosen file (to edit it)."""
        if not qid or qid == NEW_QUESTION:
            return
        q = next(q for q in load_quiz(self.folder / self.file.value).questions if q.id == qid)
        self.type.value = q.type
        self.qid.value, self.prompt.value, self.explanation.value = q.id, q.prompt, q.explanation
        self.tags.value = ", ".join(q.tags)
        self.difficulty.value = q.difficulty
        where = getattr(q, "target", None) or getattr(q, "where", None)
        self.target.value = where if isinstance(where, str) else (str(list(where)) if where else "")
        if q.type == "locate":
            self.tolerance.value = q.tolerance_mm
        if q.type == "press":
            self.grade.value, self.ask.value = q.grade, list(q.ask)
        if q.type in ("choice", "identify"):
            self.options.value = "\n".join(getattr(q, "options", None) or [])
        if q.type == "choice":
            self.answer.value = ", ".join(str(i + 1) for i in q.answers)
        if q.type == "order":
            self.items.value = "\n".join(q.items)

    # ------------------------------------------------------------------ clicks
    def on_click(self, message: dict[str, Any]) -> str | None:
        """Fill the target (structure or landmark) or the place (landmark or skin point) from a click."""
        if self.user is None:
            self.state.message = "Sign in as an instructor to author questions." if self.instructors else ""
            return None
        kind = self.type.value
        if kind not in SPATIAL_TARGET + SPATIAL_WHERE:
            self.state.message = f"A {kind} question has no place on the hand: the click was not used."
            return None
        hit = self.state.hit(message) if kind in SPATIAL_TARGET else None
        point = hit.point if hit is not None else self.state.skin_point(message)
        if point is None:
            return None
        landmark = self._nearest_landmark(point) if self.snap.value else None
        if landmark:
            value = landmark
        elif kind in SPATIAL_TARGET:
            value = hit.id if hit else ""
        else:
            value = str(click_point(point))
        self.target.value = value
        self.state.markers = [{"xyz": [float(v) for v in point], "colour": [0.1, 0.25, 0.95], "radius": 2.0}]
        return value

    def _nearest_landmark(self, point: np.ndarray) -> str | None:
        best, best_d = None, SNAP_MM
        for lid, lm in self.state.atlas.landmarks.items():
            d = float(np.linalg.norm(lm.point - point))
            if d < best_d:
                best, best_d = lid, d
        return best

    # ------------------------------------------------------------------ build, preview, save
    def _where(self) -> str | list[float]:
        text = self.target.value.strip()
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
        qid, prompt, explanation = self.qid.value, self.prompt.value, self.explanation.value
        if draft:
            qid, prompt, explanation = qid or "draft", prompt or "(prompt)", explanation or "(explanation)"
        common = {
            "question_id": qid,
            "prompt": prompt,
            "explanation": explanation,
            "tags": [t for t in self.tags.value.split(",") if t.strip()],
            "difficulty": self.difficulty.value,
        }
        kind = self.type.value
        if kind == "locate":
            return locate_question(**common, target=self.target.value, tolerance_mm=self.tolerance.value)
        if kind == "identify":
            return identify_question(
                **common, target=self.target.value, options=_lines(self.options.value) or None
            )
        if kind == "press":
            return press_question(**common, where=self._where(), grade=self.grade.value, ask=self.ask.value)
        if kind == "territory":
            return territory_question(**common, where=self._where())
        if kind == "choice":
            try:
                picks = [int(v) - 1 for v in self.answer.value.replace(" ", "").split(",") if v]
            except ValueError:
                raise AuthoringError(
                    f"answer: {self.answer.value!r} is not option numbers like 2 or 1, 3"
                ) from None
            answer: int | list[int] = picks[0] if len(picks) == 1 else picks
            return choice_question(**common, options=_lines(self.options.value), answer=answer)
        return order_question(**common, items=_lines(self.items.value))

    def preview(self) -> str:
        """Show what the atlas says the answer is."""
        text = preview_key(self.question(draft=True), self.state.atlas)
        self.state.message = ""
        self.output.object = f"<p class='author-key'><b>Key from the atlas:</b> {escape(text)}</p>"
        return text

    def save(self) -> Path:
        """Save the question into the chosen (or new) file of the quizzes folder."""
        question = self.question()
        key = preview_key(question, self.state.atlas)
        if self.file.value == NEW_FILE:
            name = self.new_file.value.strip()
            name = name if name.endswith(".yaml") else f"{name}.yaml"
            header = {
                "id": name.removesuffix(".yaml").replace("-", "_"),
                "title": self.new_title.value.strip() or name.removesuffix(".yaml"),
                "author": self.user,
            }
        else:
            name, header = self.file.value, None
        replace = self.existing.value == question["id"]
        path = save_question(
            self.folder, name, question, atlas=self.state.atlas, header=header, replace=replace
        )
        self.state.message = ""
        self.output.object = (
            f"<p class='author-saved'>Saved <b>{escape(question['id'])}</b> to "
            f"{escape(path.name)}. Key: {escape(key)}</p>"
        )
        self._refresh_files(select=path.name)
        return path

    def panel(self) -> pn.Column:
        """The sidebar."""
        return pn.Column(
            pn.pane.Markdown("**Author** — write questions by clicking the hand", margin=(6, 10, 0, 10)),
            self.body,
            sizing_mode="stretch_width",
        )

    def results(self) -> pn.Column:
        """Under the hand: the key preview and the save result."""
        return pn.Column(self.output, sizing_mode="stretch_width")
