"""The Quiz and Drill modes' state as ``param`` parameters (no panel import).

:class:`QuestionState` is one run of questions (a :class:`~handatlas.quiz.session.QuizRun` or a
:class:`~handatlas.quiz.session.DrillRun`): the question shown, the learner's answer so far and
the feedback.  :class:`QuizState` and :class:`DrillState` add what each mode chooses and
reports.  The views in :mod:`handatlas.ui.quizviews` only display these parameters and set the
answer; the tests drive them without a browser.  The page only ever receives a
:class:`~handatlas.quiz.session.PublicQuestion` before the answer: an identify question shows
its target as an anonymous mesh (:func:`anonymous_mesh`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import param

from handatlas.learners import LearnerGate, LearnerOutcome
from handatlas.quiz.bank import QuizFlowError, open_quiz, quiz_choices, read_folder
from handatlas.quiz.drill import Drill, Progress, Summary, folder_bank, learner_progress
from handatlas.quiz.progress import ProgressStore, StoreError
from handatlas.quiz.session import DrillRun, Feedback, PublicQuestion, QuizRun, highlight_ids
from handatlas.ui.colours import ANSWER_RGB, MARKER_RGB, TARGET_RGB, level_rgb
from handatlas.ui.display import display_geometry
from handatlas.ui.state import HandState

#: An identify target is re-meshed before it is sent: this share of its displayed triangles (drawn
#: per question) is removed by quadric decimation...
REMESH_REDUCTION = (0.15, 0.35)
#: ...and every vertex moved by a random offset of this size (mm, standard deviation; far below
#: what shows on screen), so that neither its counts nor its coordinates match a mesh of the scene.
REMESH_JITTER_MM = 0.05


def remeshed(vertices: np.ndarray, faces: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same surface with other triangles: decimated by a drawn share, every vertex jittered."""
    import pyvista

    cells = np.hstack([np.full((len(faces), 1), 3, dtype=np.int64), faces]).ravel()
    poly = pyvista.PolyData(np.asarray(vertices, np.float64), cells)
    if len(faces) > 8:
        poly = poly.decimate(float(rng.uniform(*REMESH_REDUCTION)))
    points = np.asarray(poly.points, np.float64)
    return points + rng.normal(0.0, REMESH_JITTER_MM, points.shape), np.asarray(poly.regular_faces, np.int64)


def anonymous_mesh(state: HandState, sid: str, *, rng: np.random.Generator | None = None) -> dict[str, Any]:
    """The display geometry of a structure (or group) as one mesh with no name attached.

    Re-meshed (:func:`remeshed`, ``rng`` default fresh entropy): a page holding the scene's
    meshes cannot find the target among them by its vertex or triangle count or by equal
    coordinates.
    """
    rng = np.random.default_rng() if rng is None else rng
    points, faces, offset = [], [], 0
    for part in highlight_ids(state.atlas, sid):
        v, f = remeshed(*display_geometry(state.atlas, part), rng)
        points.append(v)
        faces.append(f + offset)
        offset += len(v)
    return {
        "points": np.vstack(points).astype(np.float32).ravel().round(2).tolist(),
        "faces": np.vstack(faces).ravel().tolist(),
        "colour": TARGET_RGB,
    }


def blank_answer(question: PublicQuestion) -> Any:
    """The answer before the learner has chosen anything (what the widgets start from)."""
    if question.type == "press":
        ask = question.ask or ()
        return {
            **({"verdict": None} if "verdict" in ask else {}),
            **({"at_risk": []} if "at_risk" in ask else {}),
        }
    if question.type == "order" or (question.type == "choice" and question.multiple):
        return []
    return None


def is_blank(answer: Any) -> bool:
    """Whether an answer is still missing something the learner must choose."""
    if answer is None or answer == [] or answer == "":
        return True
    return isinstance(answer, dict) and any(v is None or v == [] for v in answer.values())


class QuestionState(param.Parameterized):
    """One run of questions: the question shown, the answer being given, the feedback.

    Parameters
    ----------
    hand
        The session's hand state: markers, the anonymous target and the right answer are drawn
        through its scene parameters; problems go to its ``message``.
    """

    shown = param.ClassSelector(
        class_=PublicQuestion,
        default=None,
        allow_None=True,
        doc="The question on the page (None: no run, or the run is over).",
    )
    answer = param.Parameter(default=None, doc="The learner's answer so far, as grade() takes it.")
    feedback = param.ClassSelector(
        class_=Feedback,
        default=None,
        allow_None=True,
        doc="The feedback of the shown question once answered or skipped.",
    )
    finished = param.Boolean(default=False, doc="The run has no question left.")

    def __init__(self, hand: HandState, **params: Any) -> None:
        super().__init__(**params)
        self.hand = hand
        self.run: QuizRun | DrillRun | None = None

    @property
    def answered(self) -> bool:
        """The shown question has its feedback."""
        return self.feedback is not None

    def start(self, run: QuizRun | DrillRun) -> None:
        """Begin a run at its first question."""
        self.run = run
        self.finished = False
        self.show()

    def show(self) -> None:
        """Show the run's current question (or finish)."""
        hand = self.hand
        hand.highlight, hand.markers, hand.extra = {}, [], {}
        current = self.run.current if self.run else None
        with param.parameterized.batch_call_watchers(self):
            self.feedback = None
            self.answer = None if current is None else blank_answer(current)
            self.shown = current
        if current is None:
            self.finished = self.run is not None
            return
        if current.shows_target and self.run is not None:
            target = self.run.target_structure()
            if target:
                hand.extra = anonymous_mesh(hand, target)
        if current.marker is not None:
            hand.markers = [{"xyz": list(current.marker), "colour": MARKER_RGB, "radius": 2.5}]
            hand.face(current.marker)

    def submit(self, answer: Any = None) -> Feedback | None:
        """Grade ``answer`` (default the answer the widgets set) and show the feedback."""
        if self.run is None or self.shown is None or self.answered:
            return None
        answer = self.answer if answer is None else answer
        if is_blank(answer):
            self.hand.message = "Choose an answer first (or Skip)."
            return None
        try:
            feedback = self.run.answer(answer, uid=self.shown.uid)
        except QuizFlowError as err:
            self.hand.message = str(err)
            return None
        self._show_feedback(feedback)
        return feedback

    def skip(self) -> Feedback | None:
        """Pass over the shown question; its answer is shown."""
        if self.run is None or self.shown is None or self.answered:
            return None
        try:
            feedback = self.run.skip(uid=self.shown.uid)
        except QuizFlowError as err:
            self.hand.message = str(err)
            return None
        self._show_feedback(feedback)
        return feedback

    def on_click(self, message: dict[str, Any]) -> str | None:
        """A click answers a locate question: each shown surface under the cursor is a candidate."""
        hand = self.hand
        if self.shown is None or self.answered:
            hand.message = "" if self.shown else "Pick a quiz and start it first."
            return None
        if not self.shown.needs_click:
            hand.message = "This question is answered with the buttons beside the hand, not by a click."
            return None
        seen = hand.seen(message)  # every surface seen under the cursor: the best counts
        if not seen:
            return None
        points = [[float(v) for v in h.point] for h in seen]
        hand.markers = [{"xyz": points[-1], "colour": MARKER_RGB, "radius": 2.0}]
        feedback = self.submit(points)
        return None if feedback is None else ("right" if feedback.correct else "wrong")

    def _show_feedback(self, feedback: Feedback) -> None:
        hand = self.hand
        hand.message = ""
        hand.extra = {}
        hand.highlight = {
            sid: ANSWER_RGB for s in feedback.structures for sid in highlight_ids(hand.atlas, s)
        }
        if self.shown is not None and self.shown.type == "press" and self.shown.marker is not None:
            # what the press flags, in its level's colour (a caution verdict shows no red)
            report = hand.atlas.press(
                np.asarray(self.shown.marker), grade=self.shown.grade, radius_mm=self.shown.radius_mm or 8.0
            ).as_dict()
            levels = {a["id"]: level_rgb(a) for a in report["at_risk"]}
            caution = level_rgb({"level": "caution"})
            hand.highlight = {sid: levels.get(sid, caution) for sid in feedback.structures}
        for sid in hand.highlight:
            hand.reveal(sid)
        hand.markers = [
            *hand.markers,
            *({"xyz": list(p), "colour": ANSWER_RGB, "radius": 3.5} for p in feedback.points),
        ]
        if feedback.points:  # a right place on the side turned away is turned into view
            hand.face(feedback.points[0], unless_seen=True)
        self.feedback = feedback
        if self.run is not None and self.run.finished:
            self.finished = True


class QuizState(param.Parameterized):
    """Pick a quiz file of the folder and take it; the score at the end.

    Parameters
    ----------
    hand
        The session's hand state.
    folder
        The quizzes folder.
    """

    quiz = param.Selector(default=None, objects=[], allow_None=True, doc="File name of the quiz to take.")
    title = param.String(default="", doc="Title of the quiz being taken.")
    score = param.Dict(
        default=None,
        allow_None=True,
        doc="At the end: score, max_score, right, fraction, passed, pass_mark, missed (Missed dicts).",
    )
    confirm = param.Selector(
        default="", objects=["", "restart", "end"], doc="An action that would lose answers, awaiting a yes."
    )
    skipped = param.List(default=[], item_type=str, doc="Why each quiz file that cannot be taken fails.")

    def __init__(self, hand: HandState, folder: Path, **params: Any) -> None:
        super().__init__(**params)
        self.hand = hand
        self.folder = folder
        self.question = QuestionState(hand)
        self.titles: dict[str, str] = {}
        try:
            found = read_folder(folder)  # a bad file is listed as invalid, never hides the others
        except QuizFlowError as err:
            hand.message = str(err)
        else:
            self.titles = {title: path.name for title, path in quiz_choices(folder, found=found)}
            self.skipped = found.notes()
        self.param.quiz.objects = list(self.titles.values())
        self.quiz = next(iter(self.titles.values()), None)
        self.question.param.watch(self._finished, "finished")

    @property
    def running(self) -> bool:
        """A quiz has started and is not over."""
        run = self.question.run
        return isinstance(run, QuizRun) and not run.finished

    def start(self, name: str | None = None, *, confirmed: bool = False) -> QuizRun | None:
        """Open a quiz file of the folder by name (default the chosen one) and show its first question.

        While a quiz with answers is running, asks first (``confirm = "restart"``) unless
        ``confirmed``.
        """
        run = self.question.run
        if self.running and run is not None and run.results and not confirmed:
            self.confirm = "restart"
            return None
        self.confirm = ""
        try:
            run = QuizRun(open_quiz(self.folder, name or self.quiz or ""), self.hand.atlas)
        except QuizFlowError as err:
            self.hand.message = str(err)
            return None
        self.hand.message = ""
        self.score = None
        self.title = f"{run.header.title}: {run.total} question{'s' if run.total != 1 else ''}."
        self.hand.exam = True
        self.question.start(run)
        return run

    def end(self, *, confirmed: bool = False) -> None:
        """End the running quiz early (asks first unless ``confirmed``): the rest counts as skipped."""
        run = self.question.run
        if not self.running or not isinstance(run, QuizRun):
            return
        if not confirmed:
            self.confirm = "end"
            return
        self.confirm = ""
        run.end()
        self.question.show()  # no question left: finished

    def cancel(self) -> None:
        """Keep going: forget the pending restart or end."""
        self.confirm = ""

    def _finished(self, event: param.parameterized.Event) -> None:
        run = self.question.run
        if event.new and isinstance(run, QuizRun):
            self.hand.exam = False
            self.hand.message = ""  # e.g. "Choose an answer first", left from the last question
            self.score = {
                "score": run.score,
                "max_score": run.max_score,
                "right": sum(r.correct for r in run.results),
                "fraction": run.fraction,
                "passed": run.passed,
                "pass_mark": run.header.pass_mark,
                "missed": [m.__dict__ for m in run.missed()],
            }


class DrillState(param.Parameterized):
    """Certification-prep drills by tag, scheduled by FSRS; progress per learner in the store.

    Parameters
    ----------
    hand
        The session's hand state.
    folder
        The quizzes folder (the bank).
    progress_db
        Where progress is stored (a path or SQLAlchemy URL; default the user's data folder).
    client
        The address the session's page came from (the code throttle counts per address).
    identity
        The learner signed in at the school's OpenID Connect provider (None: none).

    A learner signs in with a name and a personal code (:mod:`handatlas.learners`); a drill starts
    and progress shows only for the learner this session signed in.  With an ``identity`` there is
    no name nor code: every drill and all progress are that identity's, whatever the page sends.
    """

    learner = param.String(default="", doc="The learner's name: progress is kept under it.")
    code = param.String(default="", doc="The learner's personal code (checked, then cleared).")
    signed_in = param.String(default="", doc="The learner whose code this session checked ('' = none).")
    tags = param.ListSelector(default=[], objects=[], doc="Topics to drill (none: everything).")
    count = param.Integer(default=10, bounds=(3, 30), doc="Questions in the drill.")
    summary = param.ClassSelector(
        class_=Summary, default=None, allow_None=True, doc="The last drill's summary."
    )
    progress = param.ClassSelector(
        class_=Progress,
        default=None,
        allow_None=True,
        doc="The learner's progress (answers, cards, recall by topic).",
    )
    progress_of = param.String(default="", doc="Whose progress was asked for ('' = nobody yet).")
    skipped = param.List(default=[], item_type=str, doc="Why each quiz file left out of the bank is out.")

    def __init__(self, hand: HandState, folder: Path, progress_db: str | None, *, client: str = "?",
                 identity: str | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.identity = identity
        if identity is not None:
            self.learner = self.signed_in = identity
        self.hand = hand
        self.folder = folder
        self.progress_db = progress_db
        self.client = client
        self.store: ProgressStore | None = None
        self._gate: LearnerGate | None = None
        self._welcome = ""  # a new learner's welcome, kept for the drill that starts after it
        self.bank = None
        self.question = QuestionState(hand)
        try:
            bank, self.skipped = folder_bank(folder)  # a bad file is left out, never the whole bank
        except QuizFlowError as err:
            bank = []
            hand.message = f"The drill cannot load the quizzes: {err}"
        if bank:
            self.bank = bank
            self.param.tags.objects = sorted({t for q in self.bank for t in q.tags})
        elif not hand.message:
            hand.message = f"The drill has no question to ask: no quiz file of {folder} can be loaded."
        self.question.param.watch(self._finished, "finished")

    def _store(self) -> ProgressStore:
        if self.store is None:
            self.store = ProgressStore.open(self.progress_db)
        return self.store

    def _name(self) -> str | None:
        if self.identity is not None:
            return self.identity
        name = self.learner.strip()
        if not name:
            self.hand.message = "Type your name first: your progress is kept under it."
            return None
        if name != self.signed_in:
            self.hand.message = f"Type {name}'s personal code first: it keeps each learner's progress theirs."
            return None
        return name

    # ------------------------------------------------------------------ learners
    @property
    def needs_code(self) -> bool:
        """Whether the name typed is not the learner this session signed in."""
        if self.identity is not None:
            return False
        return self.learner.strip() != self.signed_in or not self.signed_in

    def check_learner(self) -> LearnerOutcome:
        """Check (or set, the first time) the typed name's code.  Slow, and touches no parameter:
        the page runs it in a thread, then hands the outcome to :meth:`accept`."""
        if self.identity is not None:
            return LearnerOutcome(ok=False, message=f"You are signed in as {self.identity}.")
        try:
            if self._gate is None:
                self._gate = LearnerGate(self._store())
            return self._gate.attempt(self.client, self.learner, self.code)
        except (ValueError, StoreError) as err:
            return LearnerOutcome(ok=False, message=str(err))

    def accept(self, outcome: LearnerOutcome) -> bool:
        """Apply a :meth:`check_learner` outcome: the learner is signed in, or the message says why not."""
        if self.identity is not None:
            return False
        with param.parameterized.batch_call_watchers(self):
            if outcome.ok:
                self.signed_in, self.code = outcome.name, ""
                if self.learner.strip() != outcome.name:
                    self.learner = outcome.name
            else:
                self.signed_in = ""
        self.hand.message = outcome.message
        # a new learner's welcome (remember your code) outlasts the drill starting just after it
        self._welcome = outcome.message if outcome.ok and outcome.new else ""
        return outcome.ok

    def sign_in(self) -> bool:
        """:meth:`check_learner` then :meth:`accept`, in this thread."""
        return self.accept(self.check_learner())

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
                tags=self.tags,
                count=self.count,
                atlas=self.hand.atlas,
            )
        except (ValueError, StoreError) as err:
            self.hand.message = str(err)
            return None
        self.hand.message, self._welcome = self._welcome, ""
        run = DrillRun(drill)
        self.summary, self.progress, self.progress_of = None, None, ""
        self.question.start(run)
        return run

    def _finished(self, event: param.parameterized.Event) -> None:
        run = self.question.run
        if event.new and isinstance(run, DrillRun):
            summary = run.close()
            self._load_progress(summary.learner)
            self.summary = summary

    def _load_progress(self, name: str) -> None:
        try:
            progress = learner_progress(self._store(), self.bank or [], name)
        except (StoreError, KeyError):
            progress = None
        with param.parameterized.batch_call_watchers(self):
            self.progress, self.progress_of = progress, name

    def show_progress(self) -> None:
        """Load the signed-in learner's progress (answers, reviewed and due cards, recall by topic)."""
        name = self._name()
        if name is not None:
            self.hand.message = ""
            self._load_progress(name)
