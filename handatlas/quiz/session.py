"""A learner's session: taking a quiz or drilling, without ever showing an answer key before the answer.

No UI code here: the app shows a :class:`PublicQuestion`, sends the learner's answer to
:meth:`QuizRun.answer` or :meth:`DrillRun.answer` and shows the :class:`Feedback` that comes back.

What the browser may see before answering
-----------------------------------------
A :class:`PublicQuestion` holds the prompt and what is needed to answer, and nothing that gives
the key away: no target id or name, no answer index, no tags (``topic:median_nerve`` would name
the target), no explanation, and an opaque ``uid`` (question ids such as ``name_ulnar_artery``
name their answer too).  Order items are shuffled away from the right order.  For an identify
question the app shows the target's geometry under an anonymous name: it asks the run for
:meth:`QuizRun.target_structure` on the server side.

Answers
-------
As :func:`handatlas.quiz.grade` takes them: locate ``(x, y, z)`` (mm, the clicked skin point);
identify a name or an option index; press ``{"verdict": ..., "at_risk": [ids or names]}``;
territory a nerve name; choice an index or a list of indices; order the item texts in the
learner's order.  Option indices count in the order :attr:`PublicQuestion.options` shows them.

Examples
--------
>>> run = QuizRun(open_quiz(default_quiz_dir(), "hand_anatomy.yaml"), atlas, seed=1)  # doctest: +SKIP
>>> question = run.current  # doctest: +SKIP
>>> feedback = run.answer("median nerve")  # doctest: +SKIP
>>> feedback.correct, feedback.answer_text  # doctest: +SKIP
(True, 'Median nerve')
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from handatlas.lookup.grades import VERDICTS
from handatlas.quiz import schema
from handatlas.quiz.checking import HAND_TERRITORIES
from handatlas.quiz.explanations import explanation_text
from handatlas.quiz.grading import Grade, grade
from handatlas.quiz.keys import (
    ChoiceKey,
    IdentifyKey,
    Key,
    KeyProblem,
    LocateKey,
    OrderKey,
    PressKey,
    TerritoryKey,
    compute_key,
)
from handatlas.quiz.loading import LoadedQuiz
from handatlas.quiz.problems import QuizFlowError
from handatlas.quiz.shuffle import (
    option_order,
    order_items,
    picked_options,
    shown_positions,
    territory_choices,
    unshuffle,
)

if TYPE_CHECKING:
    from handatlas.atlas import Atlas
    from handatlas.quiz.drill import Drill, Progress, Summary

XYZ = tuple[float, float, float]


# ----------------------------------------------------------------------------- what is shown
@dataclass(frozen=True)
class PublicQuestion:
    """A question as the browser may see it before the answer.

    Attributes
    ----------
    uid : str
        Opaque id of this question in this run (pass it back to ``answer(..., uid=...)``).
    type, prompt : str
    number, total : int
        1-based position and the run's length.
    difficulty : int
    scenario : str
        The case text of a choice question ("" otherwise).
    options : tuple of str or None
        Choice: the option texts; identify: the options as display names (None: typed answer).
    items : tuple of str or None
        Order: the items, shuffled away from the right order.
    marker : tuple of float or None
        Press and territory: the skin point (mm, hand frame) to mark.
    grade, radius_mm, ask
        Press: the grade, the thumb-pad radius and what to ask (``verdict``, ``at_risk``).
    choices : tuple of str or None
        Press: the verdicts; territory: the nerve names to choose from.
    multiple : bool
        Choice: several options may be picked.
    needs_click : bool
        Locate: the answer is a click on the hand.
    tolerance_mm : float or None
        Locate: how close a click must be.
    shows_target : bool
        Identify: the app shows the target (from ``target_structure()``) anonymously.
    time_limit : float or None
        Drill: seconds allowed.
    """

    uid: str
    type: str
    prompt: str
    number: int
    total: int
    difficulty: int = 3
    scenario: str = ""
    options: tuple[str, ...] | None = None
    items: tuple[str, ...] | None = None
    marker: XYZ | None = None
    grade: str | None = None
    radius_mm: float | None = None
    ask: tuple[str, ...] | None = None
    choices: tuple[str, ...] | None = None
    multiple: bool = False
    needs_click: bool = False
    tolerance_mm: float | None = None
    shows_target: bool = False
    time_limit: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able plain data (tuples as lists)."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in self.__dict__.items()}


@dataclass(frozen=True)
class Feedback:
    """What the app shows after an answer (or a skip).

    Attributes
    ----------
    score : float
        0 to 1.
    correct : bool
    feedback : str
        The grader's sentence(s) (:class:`handatlas.quiz.grading.Grade`).
    explanation : str
        The question's explanation.
    answer_text : str
        The right answer, readable: ``"Median nerve"``, ``"avoid — at risk: radial artery"``,
        the right option(s), the order joined by arrows.
    structures : tuple of str
        Structure ids (with geometry) to highlight: the locate or identify target, or what a
        press puts at risk.
    points : tuple of (x, y, z)
        Points to mark: a landmark locate target, the press or territory point.
    territory : str or None
        Territory questions: the right territory (to show that overlay).
    skipped : bool
    next_due : str
        Drills: when the question is next due ("in 10 minutes", "in 3 days (Wed 4 Mar 2026)"),
        and whether this drill asks it again; "" otherwise.
    """

    score: float
    correct: bool
    feedback: str
    explanation: str
    answer_text: str
    structures: tuple[str, ...] = ()
    points: tuple[XYZ, ...] = ()
    territory: str | None = None
    skipped: bool = False
    next_due: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able plain data."""
        out = dict(self.__dict__)
        out["structures"] = list(self.structures)
        out["points"] = [list(p) for p in self.points]
        return out


#: The name the brief uses for the same thing.
Reveal = Feedback


@dataclass(frozen=True)
class Result:
    """One question of a finished or running :class:`QuizRun` (server side: real ids)."""

    number: int
    question_id: str
    type: str
    answer: Any
    feedback: Feedback

    @property
    def score(self) -> float:
        """The score, 0 to 1 (0 when skipped)."""
        return self.feedback.score

    @property
    def correct(self) -> bool:
        """Fully right."""
        return self.feedback.correct

    @property
    def skipped(self) -> bool:
        """Passed over without an answer."""
        return self.feedback.skipped


# ----------------------------------------------------------------------------- helpers
def _xyz(values: Any) -> XYZ:
    x, y, z = (float(v) for v in values)
    return (x, y, z)


def where_point(atlas: Atlas, where: str | tuple[float, float, float]) -> XYZ:
    """The skin point of a press or territory question: a landmark's point or the given point.

    Raises
    ------
    QuizFlowError
        For an unknown landmark (with "did you mean").
    """
    if not isinstance(where, str):
        return _xyz(where)
    try:
        return _xyz(atlas.landmark(where).point)
    except KeyError as exc:
        raise QuizFlowError(str(exc)) from None


def display_name(atlas: Atlas | None, name: str) -> str:
    """The atlas name of a structure id or alias (``"median_recurrent_branch"`` -> its name)."""
    if atlas is not None and name in atlas:
        return atlas.structure(name).name
    return name


def highlight_ids(atlas: Atlas, structure: str) -> tuple[str, ...]:
    """Ids with geometry to highlight for ``structure`` (a group expands; the skin only for itself)."""
    sid = atlas.structure(structure).id
    return tuple(i for i in atlas.with_geometry(sid) if i != "skin" or sid == "skin")


def risk_choices(atlas: Atlas) -> list[tuple[str, str]]:
    """``(id, name)`` of every structure a press can put at risk (high or caution, with geometry).

    Offer these for the "at risk" answer of every press question alike: they give nothing away.
    """
    rows = [(s.id, s.name) for s in atlas.structures.values() if s.has_mesh and s.risk in ("high", "caution")]
    return sorted(rows, key=lambda row: row[1].casefold())


def _lower(name: str) -> str:
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ----------------------------------------------------------------------------- question -> public
def public_question(question: schema.Question, atlas: Atlas | None, *, number: int, total: int,
                    rng: random.Random, uid: str | None = None, items: tuple[str, ...] | None = None,
                    time_limit: float | None = None, order: tuple[int, ...] | None = None) -> PublicQuestion:
    """What the browser may see of ``question`` before the answer.

    Parameters
    ----------
    question
        A question of a loaded quiz.
    atlas
        Resolves landmark points and option names (may be None for choice and order).
    number, total
        1-based position and the run's length.
    rng
        Shuffles order items; draws the opaque ``uid`` when none is given.
    uid
        The opaque id to use.
    items
        Order: the shown order (e.g. :attr:`handatlas.quiz.drill.DrillQuestion.items`).
    time_limit
        Seconds allowed (drills).
    order
        Choice and identify: the order to show the options in (:func:`option_order`; default
        the file's).

    Raises
    ------
    QuizFlowError
        When ``where`` names a landmark the atlas lacks.
    """
    common: dict[str, Any] = {
        # upper case: a lower-case question or quiz id can never show up in it, even by chance
        "uid": uid if uid is not None else f"Q{number}-{rng.getrandbits(40):010X}",
        "type": question.type, "prompt": question.prompt.strip(), "number": number, "total": total,
        "difficulty": question.difficulty, "time_limit": time_limit,
    }
    if isinstance(question, schema.Choice):
        shown = [question.options[i] for i in (order or range(len(question.options)))]
        return PublicQuestion(**common, scenario=question.scenario.strip(), options=tuple(shown),
                              multiple=question.multiple)
    if isinstance(question, schema.Order):
        shown = tuple(items) if items is not None else order_items(list(question.items), rng)
        return PublicQuestion(**common, items=shown)
    if isinstance(question, schema.Locate):
        return PublicQuestion(**common, needs_click=True, tolerance_mm=question.tolerance_mm)
    if isinstance(question, schema.Identify):
        options = None
        if question.options is not None:
            options = tuple(display_name(atlas, question.options[i])
                            for i in (order or range(len(question.options))))
        return PublicQuestion(**common, options=options, shows_target=True)
    if atlas is None:
        raise TypeError(f"a {question.type} question needs the atlas")
    marker = where_point(atlas, question.where)
    if isinstance(question, schema.Press):
        return PublicQuestion(**common, marker=marker, grade=question.grade, radius_mm=question.radius_mm,
                              ask=tuple(dict.fromkeys(question.ask)), choices=VERDICTS)
    return PublicQuestion(**common, marker=marker, choices=territory_choices(HAND_TERRITORIES, rng))


# ----------------------------------------------------------------------------- key -> feedback
def answer_text(question: schema.Question, key: Key) -> str:
    """The right answer as a learner reads it.

    Examples
    --------
    >>> answer_text(press_question, press_key)  # doctest: +SKIP
    'avoid — at risk: radial artery'
    """
    if isinstance(key, LocateKey | IdentifyKey):
        return _capital(key.name)
    if isinstance(key, PressKey):
        at_risk = ", ".join(_lower(key.names[i]) for i in key.at_risk)
        return f"{key.verdict} — " + (f"at risk: {at_risk}" if at_risk else "nothing at risk")
    if isinstance(key, TerritoryKey):
        return f"{_capital(key.territory)} nerve"
    if isinstance(key, ChoiceKey):
        return "; ".join(key.options[i] for i in sorted(key.answers))
    if isinstance(key, OrderKey):
        return " → ".join(key.items)
    raise TypeError(f"not an answer key: {key!r}")


def reveal(question: schema.Question, key: Key, grade: Grade | None, atlas: Atlas | None) -> Feedback:
    """The feedback of an answered question (``grade=None``: skipped) with what to show on the hand."""
    structures: tuple[str, ...] = ()
    points: tuple[XYZ, ...] = ()
    territory = None
    if isinstance(key, LocateKey):
        if key.point is not None:
            points = (_xyz(key.point),)
        elif atlas is not None:
            structures = highlight_ids(atlas, key.target)
    elif isinstance(key, IdentifyKey) and atlas is not None:
        structures = highlight_ids(atlas, key.target)
    elif isinstance(key, PressKey):
        structures, points = tuple(key.at_risk), (_xyz(key.point),)
    elif isinstance(key, TerritoryKey):
        territory = key.territory
        if atlas is not None and isinstance(question, schema.Territory):
            points = (where_point(atlas, question.where),)
    text = answer_text(question, key)
    explanation = explanation_text(question, key)
    if grade is None:
        return Feedback(0.0, False, f"Skipped. The answer: {text}.", explanation, text, structures, points,
                        territory, skipped=True)
    return Feedback(grade.score, grade.correct, grade.feedback, explanation, text, structures, points,
                    territory)


def _key(question: schema.Question, atlas: Atlas | None) -> Key:
    try:
        return compute_key(question, atlas)
    except KeyProblem as exc:
        raise QuizFlowError(f"question {question.id!r}: {exc.message}") from None


def _grade(question: schema.Question, answer: Any, key: Key, atlas: Atlas | None) -> Grade:
    try:
        return grade(question, answer, atlas=atlas, key=key)
    except (ValueError, TypeError) as exc:
        raise QuizFlowError(f"cannot grade this answer: {exc}") from None


def _check_uid(uid: str | None, current: PublicQuestion | None, answered: set[str]) -> PublicQuestion:
    if current is None:
        raise QuizFlowError("the run is finished: there is no question left to answer")
    if uid is not None and uid != current.uid:
        if uid in answered:
            raise QuizFlowError(f"question {uid!r} was already answered")
        raise QuizFlowError(f"question {uid!r} is not the current question ({current.uid!r})")
    return current


@dataclass(frozen=True)
class Missed:
    """A question of a finished quiz that was not fully right, for the review at the end.

    ``options`` are a choice or identify question's options in the order the learner saw them
    (None for other types); ``picked`` and ``right`` are positions among them: the learner's
    pick(s) and the right option(s).
    """

    number: int
    prompt: str
    score: float
    skipped: bool
    feedback: str
    answer_text: str
    explanation: str
    options: tuple[str, ...] | None = None
    picked: tuple[int, ...] = ()
    right: tuple[int, ...] = ()


# ----------------------------------------------------------------------------- a quiz
class QuizRun:
    """One learner taking one quiz, question by question.

    Parameters
    ----------
    quiz
        A loaded quiz (:func:`handatlas.quiz.bank.open_quiz`).
    atlas
        The atlas the spatial keys come from.
    seed
        Seeds the question order (when the quiz shuffles), the order of every question's options
        and order items, and the opaque uids.  Choice and identify answers are positions among
        the options as shown; :attr:`results` hold them as indices into the file's options.
    keys
        Keys computed before, by question index in the file, shared with other runs of the same
        quiz on the same atlas (filled as questions are reached).

    Examples
    --------
    >>> run = QuizRun(quiz, atlas, seed=0)  # doctest: +SKIP
    >>> while run.current is not None:  # doctest: +SKIP
    ...     run.answer(answer_from_the_page)
    >>> run.passed  # doctest: +SKIP
    True
    """

    def __init__(self, quiz: LoadedQuiz, atlas: Atlas, *, seed: int | None = None,
                 keys: dict[int, Key] | None = None) -> None:
        self.quiz = quiz
        self.atlas = atlas
        self.header = quiz.model.quiz
        rng = random.Random(seed)
        self._order = list(range(len(quiz.questions)))
        if self.header.shuffle:
            rng.shuffle(self._order)
        self._salt = rng.getrandbits(64)
        self._position = 0
        self._public: dict[int, PublicQuestion] = {}
        self._orders: dict[int, tuple[int, ...] | None] = {}
        self._keys: dict[int, Key] = {} if keys is None else keys
        self._answered: set[str] = set()
        self.results: list[Result] = []

    def _question(self) -> schema.Question:
        return self.quiz.questions[self._order[self._position]]

    @property
    def total(self) -> int:
        """How many questions the quiz has."""
        return len(self._order)

    @property
    def current(self) -> PublicQuestion | None:
        """The question to show now; None when finished."""
        if self.finished:
            return None
        pos = self._position
        if pos not in self._public:
            rng = random.Random(f"{self._salt}:{pos}")
            self._orders[pos] = option_order(self._question(), rng)
            self._public[pos] = public_question(self._question(), self.atlas, number=pos + 1,
                                                total=self.total, rng=rng, order=self._orders[pos])
        return self._public[pos]

    @property
    def question(self) -> schema.Question | None:
        """Server side only (it holds the key): the current question as loaded; None when finished."""
        return None if self.finished else self._question()

    def target_structure(self) -> str | None:
        """Server side only: the structure id to show anonymously for an identify question, else None."""
        if self.finished or not isinstance(self._question(), schema.Identify):
            return None
        key = self._key_now()
        return key.target if isinstance(key, IdentifyKey) else None

    def _key_now(self) -> Key:
        index = self._order[self._position]
        if index not in self._keys:
            self._keys[index] = _key(self.quiz.questions[index], self.atlas)
        return self._keys[index]

    def answer(self, answer: Any, *, uid: str | None = None) -> Feedback:
        """Grade the answer to the current question and move on.

        Parameters
        ----------
        answer
            As the module doc says.
        uid
            The :attr:`PublicQuestion.uid` the page answered: refuses a second submission.

        Raises
        ------
        QuizFlowError
            When finished, for a ``uid`` already answered or not current, or a malformed answer
            (then nothing is recorded and the question stays).
        """
        shown = _check_uid(uid, self.current, self._answered)
        question, key = self._question(), self._key_now()
        answer = unshuffle(question, answer, self._orders[self._position])
        feedback = reveal(question, key, _grade(question, answer, key, self.atlas), self.atlas)
        return self._record(shown, question, answer, feedback)

    def skip(self, *, uid: str | None = None) -> Feedback:
        """Pass over the current question (score 0); the feedback shows its answer."""
        shown = _check_uid(uid, self.current, self._answered)
        question = self._question()
        return self._record(shown, question, None, reveal(question, self._key_now(), None, self.atlas))

    def _record(self, shown: PublicQuestion, question: schema.Question, answer: Any,
                feedback: Feedback) -> Feedback:
        self.results.append(Result(shown.number, question.id, question.type, answer, feedback))
        self._answered.add(shown.uid)
        self._position += 1
        return feedback

    @property
    def finished(self) -> bool:
        """Every question answered or skipped."""
        return self._position >= self.total

    @property
    def answered(self) -> int:
        """Questions answered (not skipped)."""
        return sum(not r.skipped for r in self.results)

    @property
    def score(self) -> float:
        """Sum of the scores so far."""
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        """The best possible score: one per question."""
        return float(self.total)

    @property
    def fraction(self) -> float:
        """``score / max_score``, 0 to 1."""
        return self.score / self.max_score if self.max_score else 0.0

    @property
    def passed(self) -> bool:
        """Whether the score reaches the quiz's pass mark (a fraction of the maximum)."""
        return self.fraction >= self.header.pass_mark - 1e-9

    def missed(self) -> list[Missed]:
        """The questions answered so far that were not fully right (skipped ones too), in order."""
        prompts = {q.id: q.prompt.strip() for q in self.quiz.questions}
        return [Missed(r.number, prompts[r.question_id], r.score, r.skipped, r.feedback.feedback,
                       r.feedback.answer_text, r.feedback.explanation, *self._as_seen(r))
                for r in self.results if not r.correct]

    def _as_seen(self, result: Result) -> tuple[tuple[str, ...] | None, tuple[int, ...], tuple[int, ...]]:
        """A result's options as shown, with the positions of the learner's pick(s) and the key."""
        pos = result.number - 1
        order, shown = self._orders.get(pos), self._public.get(pos)
        if order is None or shown is None or shown.options is None:
            return None, (), ()
        key = self._keys.get(self._order[pos])
        if isinstance(key, ChoiceKey):
            right = key.answers
        elif isinstance(key, IdentifyKey) and key.options is not None:
            right = frozenset(i for i, o in enumerate(key.options) if o == key.target)
        else:
            right = frozenset()
        picked = shown_positions(order, picked_options(result.answer))
        return shown.options, picked, shown_positions(order, right)

    def end(self) -> None:
        """Stop early: every question not yet answered counts as skipped (score 0)."""
        while not self.finished:
            self.skip()


# ----------------------------------------------------------------------------- a drill
class DrillRun:
    """The web app's view of a :class:`handatlas.quiz.drill.Drill`: same interface as :class:`QuizRun`.

    Build the drill with every type the page can ask (the default ``types=None`` includes locate).
    The time from handing a question out (the first :attr:`current` that shows it) to its
    answer is passed to the drill as ``seconds``.

    Parameters
    ----------
    drill
        The drill session (it records every answer in its store).
    clock
        Monotonic seconds (tests pass a fake one).
    """

    def __init__(self, drill: Drill, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.drill = drill
        self._clock = clock
        self._rng = random.Random()
        self._public: dict[tuple[str, int], PublicQuestion] = {}  # by DrillQuestion.ask_id
        self._orders: dict[tuple[str, int], tuple[int, ...] | None] = {}
        self._handed: dict[tuple[str, int], float] = {}
        self._answered: set[str] = set()

    def _atlas(self, question: schema.Question) -> Atlas | None:
        return self.drill.atlas() if question.type in schema.SPATIAL_TYPES else None

    @property
    def current(self) -> PublicQuestion | None:
        """The question to show now; None when the drill is over."""
        dq = self.drill.next_question()
        if dq is None:
            return None
        ask = dq.ask_id
        if ask not in self._public:
            self._orders[ask] = dq.option_order
            self._public[ask] = public_question(dq.question, self._atlas(dq.question), number=dq.number,
                                                total=dq.total, rng=self._rng, items=dq.items,
                                                time_limit=dq.time_limit, order=self._orders[ask])
            self._handed[ask] = self._clock()
        return self._public[ask]

    def target_structure(self) -> str | None:
        """Server side only: the structure id to show anonymously for an identify question, else None."""
        dq = self.drill.next_question()
        if dq is None or not isinstance(dq.question, schema.Identify):
            return None
        try:
            key = self.drill.key(dq.uid)
        except KeyProblem as exc:
            raise QuizFlowError(f"question {dq.uid!r}: {exc.message}") from None
        return key.target if isinstance(key, IdentifyKey) else None

    def answer(self, answer: Any, *, uid: str | None = None) -> Feedback:
        """Grade and record the answer to the current question (see :meth:`QuizRun.answer`)."""
        shown = _check_uid(uid, self.current, self._answered)
        dq = self.drill.next_question()
        assert dq is not None
        seconds = max(0.0, self._clock() - self._handed[dq.ask_id])
        answer = unshuffle(dq.question, answer, self._orders[dq.ask_id])
        try:
            g = self.drill.answer(dq.uid, answer, seconds=seconds)
        except KeyProblem as exc:
            raise QuizFlowError(f"question {dq.uid!r}: {exc.message}") from None
        except (ValueError, TypeError) as exc:
            raise QuizFlowError(f"cannot grade this answer: {exc}") from None
        self._answered.add(shown.uid)
        feedback = reveal(dq.question, g.key, g, self._atlas(dq.question))
        done = self.drill.answered(dq)
        if done is None:
            return feedback
        again = " This drill asks it again." if self.drill.will_ask_again(dq) else ""
        return replace(feedback, next_due=f"Next due {done.due_text()}.{again}")

    def skip(self, *, uid: str | None = None) -> Feedback:
        """Pass over the current question (nothing recorded); the feedback shows its answer."""
        shown = _check_uid(uid, self.current, self._answered)
        dq = self.drill.next_question()
        assert dq is not None
        try:
            key = self.drill.key(dq.uid)
        except KeyProblem as exc:
            raise QuizFlowError(f"question {dq.uid!r}: {exc.message}") from None
        self.drill.skip(dq.uid)
        self._answered.add(shown.uid)
        return reveal(dq.question, key, None, self._atlas(dq.question))

    @property
    def finished(self) -> bool:
        """Every question answered or skipped."""
        return self.drill.next_question() is None

    def summary(self) -> Summary:
        """The drill's summary (:meth:`handatlas.quiz.drill.Drill.summary`)."""
        return self.drill.summary()

    def progress(self, learner: str | None = None, *, days: int = 30) -> Progress:
        """The learner's progress for charts (:meth:`handatlas.quiz.drill.Drill.progress`)."""
        return self.drill.progress(learner, days=days)

    def close(self) -> Summary:
        """End the drill session and return its summary."""
        return self.drill.close()
