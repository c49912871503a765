"""The Quiz and Drill modes: one question at a time, answered with widgets or a click on the hand.

The page only ever receives a :class:`~handatlas.quiz.session.PublicQuestion` before the answer
(no key, no target name: an identify question shows its target as an anonymous mesh); the
feedback, the right answer on the model and the explanation come after.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn

from handatlas.quiz.bank import QuizFlowError, open_quiz, quiz_choices
from handatlas.quiz.drill import Drill, learner_progress, load_bank
from handatlas.quiz.progress import ProgressStore, StoreError
from handatlas.quiz.session import DrillRun, Feedback, PublicQuestion, QuizRun, highlight_ids, risk_choices
from handatlas.ui.charts import retention_chart
from handatlas.ui.display import display_geometry
from handatlas.ui.state import VERDICT_RGB, HandState

TARGET_RGB = [0.85, 0.1, 0.85]
RIGHT_RGB = VERDICT_RGB["safe"]
MARKER_RGB = [0.1, 0.25, 0.95]


def anonymous_mesh(state: HandState, sid: str) -> dict[str, Any]:
    """The display geometry of a structure (or group) as one mesh with no name attached."""
    points, faces, offset = [], [], 0
    for part in highlight_ids(state.atlas, sid):
        v, f = display_geometry(state.atlas, part)
        points.append(v)
        faces.append(f + offset)
        offset += len(v)
    return {
        "points": np.vstack(points).astype(np.float32).ravel().round(2).tolist(),
        "faces": np.vstack(faces).ravel().tolist(),
        "colour": TARGET_RGB,
    }


class QuestionFlow:
    """Shows the current question of a :class:`QuizRun` or :class:`DrillRun` and takes the answer.

    Parameters
    ----------
    state
        The session state (its scene parameters show markers, targets and the right answer).
    on_finish
        Called when the run has no more questions.
    """

    def __init__(self, state: HandState, *, on_finish: Callable[[], None]) -> None:
        self.state = state
        self.on_finish = on_finish
        self.run: QuizRun | DrillRun | None = None
        self.shown: PublicQuestion | None = None
        self.answered = False
        self.question = pn.Column(sizing_mode="stretch_width", css_classes=["q-area"])
        self.feedback = pn.Column(sizing_mode="stretch_width", css_classes=["q-feedback"])
        self._read: Callable[[], Any] | None = None

    # ------------------------------------------------------------------ flow
    def start(self, run: QuizRun | DrillRun) -> None:
        """Begin a run at its first question."""
        self.run = run
        self.show()

    def show(self) -> None:
        """Show the run's current question (or finish)."""
        self.feedback.objects = []
        self.state.highlight, self.state.markers, self.state.extra = {}, [], {}
        self.answered = False
        current = self.run.current if self.run else None
        self.shown = current
        if current is None:
            self.question.objects = []
            self.on_finish()
            return
        if current.shows_target:
            target = self.run.target_structure()
            if target:
                self.state.extra = anonymous_mesh(self.state, target)
        if current.marker is not None:
            self.state.markers = [{"xyz": list(current.marker), "colour": MARKER_RGB, "radius": 2.5}]
        self.question.objects = self._widgets(current)

    def _widgets(self, q: PublicQuestion) -> list[Any]:
        head = pn.pane.HTML(
            f"<div class='q-number'>Question {q.number} of {q.total}</div>"
            + (f"<p class='q-scenario'><i>{escape(q.scenario)}</i></p>" if q.scenario else "")
            + f"<p class='q-prompt'><b>{escape(q.prompt)}</b></p>",
            sizing_mode="stretch_width",
            css_classes=["q-text"],
        )
        inputs, self._read = self._inputs(q)
        submit = pn.widgets.Button(
            label="Submit", color="primary", css_classes=["q-submit"], visible=not q.needs_click
        )
        skip = pn.widgets.Button(label="Skip", color="default", css_classes=["q-skip"])
        submit.on_click(lambda _e: self._guard(lambda: self.submit(self._read() if self._read else None)))
        skip.on_click(lambda _e: self._guard(self.skip))
        return [head, *inputs, pn.Row(submit, skip)]

    def _inputs(self, q: PublicQuestion) -> tuple[list[Any], Callable[[], Any] | None]:
        if q.type == "locate":
            hint = (
                "Click the place on the hand. Deep targets: show their layer (and fade the skin) "
                f"under Layers first. Within {q.tolerance_mm:g} mm counts."
            )
            return [pn.pane.Markdown(hint, css_classes=["q-hint"])], None
        if q.type == "identify" and q.options:
            w = pn.widgets.RadioBoxGroup(
                options={o: i for i, o in enumerate(q.options)}, value=None, css_classes=["q-options"]
            )
            return [pn.pane.Markdown("The structure shown in magenta is:"), w], lambda: w.value
        if q.type == "identify":
            w = pn.widgets.TextInput(placeholder="Its name", css_classes=["q-text-answer"])
            return [
                pn.pane.Markdown("Name the structure shown in magenta:"),
                w,
            ], lambda: w.value_input or w.value
        if q.type == "press":
            widgets, readers = [], {}
            if "verdict" in (q.ask or ()):
                v = pn.widgets.RadioButtonGroup(
                    options=list(q.choices or ()), value=None, css_classes=["q-verdict"]
                )
                widgets += [
                    pn.pane.Markdown(f"A **{q.grade}** press ({q.radius_mm:g} mm pad) at the blue mark:"),
                    v,
                ]
                readers["verdict"] = lambda: v.value
            if "at_risk" in (q.ask or ()):
                r = pn.widgets.MultiChoice(
                    options={name: sid for sid, name in risk_choices(self.state.atlas)},
                    placeholder="Structures at risk",
                    css_classes=["q-at-risk"],
                )
                widgets += [pn.pane.Markdown("Which structures are at risk?"), r]
                readers["at_risk"] = lambda: list(r.value)
            return widgets, lambda: {k: read() for k, read in readers.items()}
        if q.type == "territory":
            w = pn.widgets.RadioButtonGroup(
                options=list(q.choices or ()), value=None, css_classes=["q-territory"]
            )
            return [pn.pane.Markdown("Which nerve supplies the skin at the blue mark?"), w], lambda: w.value
        if q.type == "choice":
            options = {o: i for i, o in enumerate(q.options or ())}
            if q.multiple:
                w = pn.widgets.CheckBoxGroup(
                    options=options, value=[], css_classes=["q-options"], inline=False
                )
                return [pn.pane.Markdown("Pick every right answer."), w], lambda: list(w.value)
            w = pn.widgets.RadioBoxGroup(options=options, value=None, css_classes=["q-options"], inline=False)
            return [w], lambda: w.value
        if q.type == "order":
            w = pn.widgets.MultiChoice(options=list(q.items or ()), css_classes=["q-order"])
            return [
                pn.pane.Markdown("Pick the items in order, first to last: " + "; ".join(q.items or ())),
                w,
            ], lambda: list(w.value)
        raise QuizFlowError(f"unknown question type {q.type!r}")

    def _guard(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except QuizFlowError as err:
            self.state.message = str(err)
            return None

    def submit(self, answer: Any) -> Feedback | None:
        """Grade an answer to the shown question and show the feedback."""
        if self.run is None or self.shown is None or self.answered:
            return None
        if (
            answer is None
            or answer == []
            or answer == ""
            or (isinstance(answer, dict) and None in answer.values())
        ):
            self.state.message = "Choose an answer first (or Skip)."
            return None
        feedback = self.run.answer(answer, uid=self.shown.uid)
        self._show_feedback(feedback)
        return feedback

    def skip(self) -> Feedback | None:
        """Pass over the shown question; its answer is shown."""
        if self.run is None or self.shown is None or self.answered:
            return None
        feedback = self.run.skip(uid=self.shown.uid)
        self._show_feedback(feedback)
        return feedback

    def on_click(self, message: dict[str, Any]) -> str | None:
        """A click answers a locate question: each shown surface under the cursor is a candidate."""
        if self.shown is None or self.answered:
            self.state.message = "" if self.shown else "Pick a quiz and start it first."
            return None
        if not self.shown.needs_click:
            self.state.message = "This question is answered with the buttons beside the hand, not by a click."
            return None
        seen = self.state.seen(message)  # every surface seen under the cursor: the best counts
        if not seen:
            return None
        points = [[float(v) for v in h.point] for h in seen]
        self.state.markers = [{"xyz": points[-1], "colour": MARKER_RGB, "radius": 2.0}]
        feedback = self.submit(points)
        return None if feedback is None else ("right" if feedback.correct else "wrong")

    def _show_feedback(self, feedback: Feedback) -> None:
        self.answered = True
        self.state.message = ""
        self.state.extra = {}
        self.state.highlight = {
            sid: RIGHT_RGB for s in feedback.structures for sid in highlight_ids(self.state.atlas, s)
        }
        for sid in self.state.highlight:
            self.state.reveal(sid)
        self.state.markers = [
            *self.state.markers,
            *({"xyz": list(p), "colour": RIGHT_RGB, "radius": 3.5} for p in feedback.points),
        ]
        kind = "success" if feedback.correct else ("warning" if feedback.score > 0 else "danger")
        title = (
            ""
            if feedback.skipped
            else "**Right.** "
            if feedback.correct
            else f"**Partly right ({feedback.score:.0%}).** "
            if feedback.score > 0
            else "**Not quite.** "
        )
        last = self.run is not None and self.run.finished
        nxt = pn.widgets.Button(
            label="Next question", color="primary", css_classes=["q-next"], visible=not last
        )
        nxt.on_click(lambda _e: self.show())
        self.feedback.objects = [
            pn.pane.Alert(
                f"{title}{escape(feedback.feedback)}",
                alert_type="secondary" if feedback.skipped else kind,
                css_classes=["q-result"],
            ),
            pn.pane.HTML(
                f"<p><b>Answer:</b> {escape(feedback.answer_text)}</p>"
                f"<p class='q-explanation'>{escape(feedback.explanation)}</p>",
                sizing_mode="stretch_width",
            ),
            nxt,
        ]
        for w in self.question.objects:
            if isinstance(w, pn.Row):
                for b in w.objects:
                    b.disabled = True
        if last:  # the score (or the drill's summary) right under the last feedback
            self.on_finish()


class QuizMode:
    """Pick a quiz of the folder and take it; a score at the end."""

    def __init__(self, state: HandState, quizzes: Path) -> None:
        self.state = state
        self.folder = quizzes
        self.flow = QuestionFlow(state, on_finish=self._finished)
        self.status = pn.pane.HTML("", css_classes=["q-score"], sizing_mode="stretch_width")
        try:
            choices = {title: path.name for title, path in quiz_choices(quizzes)}
        except QuizFlowError as err:
            choices = {}
            self.state.message = str(err)
        self.pick = pn.widgets.Select(
            options=choices, label="Quiz", css_classes=["quiz-pick"], margin=(4, 10)
        )
        self.start_button = pn.widgets.Button(label="Start quiz", color="primary", css_classes=["quiz-start"])
        self.start_button.on_click(lambda _e: self.start(self.pick.value))

    def start(self, name: str | None) -> QuizRun | None:
        """Open a quiz file of the folder by name and show its first question."""
        try:
            run = QuizRun(open_quiz(self.folder, name or ""), self.state.atlas)
        except QuizFlowError as err:
            self.state.message = str(err)
            return None
        self.state.message = ""
        self.status.object = f"<p>{escape(run.header.title)}: {run.total} questions.</p>"
        self.flow.start(run)
        return run

    def _finished(self) -> None:
        run = self.flow.run
        if not isinstance(run, QuizRun):
            return
        verdict = "passed" if run.passed else "not passed"
        self.status.object = (
            f"<h3>Score: {run.score:g} / {run.max_score:g} ({run.fraction:.0%}) — {verdict}</h3>"
            f"<p>Pass mark {run.header.pass_mark:.0%}. Pick a quiz to go again.</p>"
        )

    def panel(self) -> pn.Column:
        """The sidebar."""
        return pn.Column(
            pn.pane.Markdown("**Quiz** — pick one and start", margin=(6, 10, 0, 10)),
            self.pick,
            self.start_button,
            self.flow.question,
            sizing_mode="stretch_width",
        )

    def results(self) -> pn.Column:
        """Under the hand: feedback and the score."""
        return pn.Column(self.flow.feedback, self.status, sizing_mode="stretch_width")


class DrillMode:
    """Certification-prep drills by tag, scheduled by FSRS; progress per learner in the store."""

    def __init__(self, state: HandState, quizzes: Path, progress_db: str | None) -> None:
        self.state = state
        self.folder = quizzes
        self.progress_db = progress_db
        self.store: ProgressStore | None = None
        self.bank = None
        self.flow = QuestionFlow(state, on_finish=self._finished)
        tags: list[str] = []
        try:
            self.bank = load_bank(quizzes)
            tags = sorted({t for q in self.bank for t in q.tags})
        except (QuizFlowError, ValueError) as err:
            self.state.message = f"The drill cannot load the quizzes: {err}"
        self.learner = pn.widgets.TextInput(
            label="Your name", value="", placeholder="e.g. sam", css_classes=["drill-learner"], margin=(4, 10)
        )
        self.tags = pn.widgets.MultiChoice(
            label="Topics (none = everything)", options=tags, css_classes=["drill-tags"], margin=(4, 10)
        )
        self.count = pn.widgets.IntSlider(
            label="Questions", start=3, end=30, value=10, css_classes=["drill-count"], margin=(4, 10)
        )
        self.start_button = pn.widgets.Button(
            label="Start drill", color="primary", css_classes=["drill-start"]
        )
        self.show_progress = pn.widgets.Button(
            label="My progress", color="default", css_classes=["drill-progress-button"]
        )
        self.start_button.on_click(lambda _e: self.start())
        self.show_progress.on_click(lambda _e: self.progress())
        self.report = pn.pane.HTML("", css_classes=["drill-progress"], sizing_mode="stretch_width")

    def _store(self) -> ProgressStore:
        if self.store is None:
            self.store = ProgressStore.open(self.progress_db)
        return self.store

    def _name(self) -> str | None:
        name = (self.learner.value_input or self.learner.value or "").strip()
        if not name:
            self.state.message = "Type your name first: your progress is kept under it."
            return None
        return name

    def start(self) -> DrillRun | None:
        """Start a drill for the learner with the chosen topics."""
        name = self._name()
        if name is None or self.bank is None:
            return None
        try:
            drill = Drill(
                self._store(),
                self.bank,
                learner=name,
                tags=self.tags.value,
                count=self.count.value,
                atlas=self.state.atlas,
            )
        except (ValueError, StoreError) as err:
            self.state.message = str(err)
            return None
        self.state.message = ""
        run = DrillRun(drill)
        self.report.object = ""
        self.flow.start(run)
        return run

    def _finished(self) -> None:
        run = self.flow.run
        if not isinstance(run, DrillRun):
            return
        summary = run.close()
        weak = ", ".join(t.split(":", 1)[-1].replace("_", " ") for t in summary.weak_topics[:6]) or "none"
        self.report.object = (
            f"<h3>Drill done: {summary.score:.1f} / {summary.answered} "
            f"({summary.fraction:.0%})</h3><p>Weak topics: {escape(weak)}.</p>"
            + self._progress_html(summary.learner)
        )

    def _progress_html(self, name: str) -> str:
        try:
            progress = learner_progress(self._store(), self.bank or [], name)
        except (StoreError, KeyError):
            return f"<p>No drills yet for {escape(name)}.</p>"
        topics = {t: r for t, r in progress.retention.items() if t.startswith("topic:")}
        right = sum(a["correct"] for a in progress.answers)
        return (
            f"<p class='drill-totals'>{escape(name)}: {len(progress.answers)} answers, {right} right; "
            f"{progress.cards} questions reviewed, {progress.due_now} due now.</p>"
            + retention_chart(dict(sorted(topics.items(), key=lambda kv: kv[1])[:12]))
        )

    def progress(self) -> None:
        """Show the learner's progress (answers, reviewed and due cards, recall by topic)."""
        name = self._name()
        if name is not None:
            self.state.message = ""
            self.report.object = self._progress_html(name)

    def panel(self) -> pn.Column:
        """The sidebar."""
        return pn.Column(
            pn.pane.Markdown("**Drill** — spaced repetition for the exam", margin=(6, 10, 0, 10)),
            self.learner,
            self.tags,
            self.count,
            pn.Row(self.start_button, self.show_progress),
            self.flow.question,
            sizing_mode="stretch_width",
        )

    def results(self) -> pn.Column:
        """Under the hand: feedback and progress."""
        return pn.Column(self.flow.feedback, self.report, sizing_mode="stretch_width")
