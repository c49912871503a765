"""Certification drills: questions drawn from the bank by tag, scheduled per learner with FSRS.

No UI code: :class:`Drill` serves the terminal (:func:`run_terminal`, ``handatlas drill``) and the
web app alike, and records every answer in a :class:`~handatlas.quiz.progress.ProgressStore`.

Selection
---------
A tag pattern is a full tag (``topic:median_nerve``), a bare word matching any prefix
(``median_nerve`` = ``topic:median_nerve`` or ``domain:median_nerve``) or a shell pattern
(``topic:*nerve``).  ``match="any"`` (default) takes a question carrying at least one pattern's
tag; ``match="all"`` only one matching every pattern.  No patterns: the whole bank.

Order
-----
Due cards first (most overdue first), then new questions (easier first, shuffled within a
difficulty by the drill's seed), then cards not yet due (soonest first), up to ``count``.

Each asking of a question shows its options (and an order question its items) in an order drawn
from a generator seeded by the drill's seed, the learner, the question and the attempt
(:meth:`Drill.asking_rng`); without a seed, the drill draws one, so every drill shows new orders.
The order shown is stored with the answer (:mod:`handatlas.quiz.progress`, ``answers.shown``)
for a review (:mod:`handatlas.quiz.review`).

Failed cards come back in the same drill
----------------------------------------
An answer rated Again puts the card in FSRS's learning (new card) or relearning (lapsed card)
steps: due again in 1 or 10 minutes (``Scheduler.learning_steps`` / ``relearning_steps``).  The
drill asks it again (:attr:`DrillQuestion.attempt` > 1): as soon as it is due, before the next
planned question; and when the planned questions are done, the ones still waiting are asked
then, early, rather than making the learner wait (FSRS records the review at that time).  A
question is asked at most :data:`MAX_ASKS` times per drill.  Every answer, first or again, is
recorded and counts in the summary's score.

Rating (grade -> FSRS)
----------------------
=====================================================  ==========
over the time limit (the answer then scores 0)           Again
score < 0.5                                              Again
not fully right, score >= 0.5 (partial credit)           Hard
right, answered within ``easy_seconds`` (default 10 s)   Easy
right                                                    Good
=====================================================  ==========

Summary
-------
Weak topics are the tags of the drill's questions whose mean score over the learner's last
:data:`RECENT` answers to questions with that tag is below :data:`WEAK_BELOW`, lowest first.
Predicted recall per tag (``retention``) is the mean probability of recall, :data:`RECALL_HORIZON`
(one day) from now, of the learner's reviewed cards with that tag (questions never answered are
left out), from each card's FSRS stability and the time since its last review counted in hours
(:func:`recall`).  ``fsrs.Scheduler.get_card_retrievability`` counts whole days, so read "now" it
gave 100 % for every card answered today, failed or not: a topic failed this morning showed
"predicted recall 100 %".  A failed new card has a stability of about 0.2 days: about 77 %
tomorrow, against about 95 % for one answered right (Good, stability 2.3 days).

Review
------
After a terminal drill, the items missed are shown again with their options in the order the
learner saw them (:func:`missed_text`; the store keeps that order with each answer,
:mod:`handatlas.quiz.review`).

Next due
--------
Every answer reports when the card is next due (:attr:`Answered.next_due`, :func:`due_text`):
the terminal prints it after the feedback and the app shows it under the answer.

Examples
--------
>>> from handatlas.quiz.progress import ProgressStore
>>> store = ProgressStore.open("sqlite://")
>>> drill = Drill(store, default_quiz_dir(), learner="ada", tags=["domain:ethics"], count=2,
...               types=["choice", "order"], seed=1)
>>> q = drill.next_question()
>>> g = drill.answer(q.uid, q.question.answers[0] if q.type == "choice" else list(q.question.items))
>>> drill.summary().answered
1
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import random
import re
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

from fsrs import Card, Rating, Scheduler

from handatlas.lookup.grades import VERDICTS
from handatlas.names import counted, landmark_name, landmark_phrase
from handatlas.quiz import default_quiz_dir, schema
from handatlas.quiz.bank import read_folder
from handatlas.quiz.explanations import explanation_text
from handatlas.quiz.grading import NOTHING_AT_RISK, Grade, grade
from handatlas.quiz.keys import Key, compute_key, normalise
from handatlas.quiz.loading import load_quiz, quiz_paths
from handatlas.quiz.progress import ProgressStore, learner_key, utcnow
from handatlas.quiz.shuffle import option_order, order_items, unshuffle

if TYPE_CHECKING:
    from handatlas.atlas import Atlas

#: A correct answer within this many seconds rates Easy.
EASY_SECONDS = 10.0
#: A score below this rates Again; a partial one at or above it, Hard.
AGAIN_BELOW = 0.5
#: A tag is weak when its recent mean score is below this.
WEAK_BELOW = 0.8
#: How many of a tag's latest answers count for its recent accuracy.
RECENT = 10
#: How many times at most one question is asked in one drill (the first time and after failures).
MAX_ASKS = 3
#: Predicted recall is read this far ahead of now (see the module doc).
RECALL_HORIZON = timedelta(days=1)

Match = Literal["any", "all"]


# ----------------------------------------------------------------------------- the bank
@dataclass(frozen=True)
class BankQuestion:
    """A question of the bank with the quiz it belongs to.

    ``uid`` (``quiz_id/question_id``) is unique across the bank.
    """

    quiz_id: str
    question: schema.Question
    source: Path

    @property
    def uid(self) -> str:
        """``quiz_id/question_id``."""
        return f"{self.quiz_id}/{self.question.id}"

    @property
    def key(self) -> tuple[str, str]:
        """``(quiz_id, question_id)``, the store's key."""
        return (self.quiz_id, self.question.id)

    @property
    def tags(self) -> tuple[str, ...]:
        """The question's tags."""
        return tuple(self.question.tags)


def load_bank(paths: str | Path | Iterable[str | Path] | None = None) -> list[BankQuestion]:
    """Every question of the quiz files (folders expand to their ``*.yaml``); default the shipped bank.

    Raises
    ------
    handatlas.quiz.QuizError
        When a file is invalid.
    ValueError
        When there are no quiz files or two files share a quiz id.

    Examples
    --------
    >>> len(load_bank()) > 20
    True
    """
    if paths is None:
        paths = [default_quiz_dir()]
    elif isinstance(paths, str | Path):
        paths = [paths]
    files = quiz_paths(paths)
    if not files:
        raise ValueError(f"no quiz files in {', '.join(map(str, paths))}")
    seen: dict[str, Path] = {}
    out: list[BankQuestion] = []
    for path in files:
        quiz = load_quiz(path)
        qid = quiz.model.quiz.id
        if qid in seen:
            raise ValueError(f"quiz id {qid!r} is used by both {seen[qid]} and {path}")
        seen[qid] = path
        out += [BankQuestion(qid, q, path) for q in quiz.questions]
    return out


def folder_bank(folder: str | Path) -> tuple[list[BankQuestion], list[str]]:
    """The bank of a quiz folder as the app drills it, and a note for each file left out.

    The Quiz mode's rules hold (:func:`handatlas.quiz.bank.read_folder`): a file that cannot be
    loaded, or a symlink pointing out of the folder, is left out with its ``file:line`` message
    and the other files are drilled; so is a file repeating an earlier file's quiz id.

    Raises
    ------
    handatlas.quiz.problems.QuizFlowError
        When the folder does not exist.

    Examples
    --------
    >>> bank, notes = folder_bank(default_quiz_dir())
    >>> len(bank) > 20, notes
    (True, [])
    """
    found = read_folder(folder)
    notes = found.notes()
    owners: dict[str, str] = {}
    out: list[BankQuestion] = []
    for quiz in found.quizzes:
        qid = quiz.model.quiz.id
        if qid in owners:
            notes.append(f"{quiz.name}:{quiz.line('quiz', 'id')}: quiz id {qid!r} is also used by "
                         f"{owners[qid]}: left out")
            continue
        owners[qid] = quiz.name
        out += [BankQuestion(qid, q, quiz.path) for q in quiz.questions]
    return out, sorted(notes)


def _tag_matches(pattern: str, tag: str) -> bool:
    pattern = pattern.strip().lower()
    if ":" not in pattern:
        tag = tag.split(":", 1)[1]
    return fnmatch.fnmatchcase(tag, pattern)


def select_questions(bank: Sequence[BankQuestion], tags: Iterable[str] = (), *, match: Match = "any",
                     types: Iterable[str] | None = None) -> list[BankQuestion]:
    """The questions carrying the ``tags`` patterns (see the module doc), of ``types`` only.

    Raises
    ------
    ValueError
        For ``match`` other than any/all, an unknown type, or a pattern no question carries
        (with "did you mean").

    Examples
    --------
    >>> bank = load_bank()
    >>> picked = select_questions(bank, ["topic:median_nerve", "domain:ethics"])
    >>> all({"topic:median_nerve", "domain:ethics"} & set(q.tags) for q in picked)
    True
    """
    if match not in ("any", "all"):
        raise ValueError(f"match must be 'any' or 'all', not {match!r}")
    patterns = [t.strip() for t in tags if t.strip()]
    wanted = None if types is None else set(types)
    if wanted is not None and wanted - set(schema.QUESTION_TYPES):
        bad = sorted(wanted - set(schema.QUESTION_TYPES))[0]
        raise ValueError(f"unknown question type {bad!r} (types: {', '.join(schema.QUESTION_TYPES)})")
    known = sorted({t for q in bank for t in q.tags})
    for p in patterns:
        if not any(_tag_matches(p, t) for t in known):
            words = {**{t.split(":", 1)[1]: t for t in known}, **{t: t for t in known}}
            close = list(dict.fromkeys(words[w] for w in difflib.get_close_matches(p.lower(), words, n=3,
                                                                                   cutoff=0.75)))
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"no question is tagged {p!r}{hint}")
    combine = any if match == "any" else all
    out = []
    for q in bank:
        if wanted is not None and q.question.type not in wanted:
            continue
        if not patterns or combine(any(_tag_matches(p, t) for t in q.tags) for p in patterns):
            out.append(q)
    return out


# ----------------------------------------------------------------------------- rating
def rating_for(score: float, correct: bool, *, seconds: float | None = None,
               time_limit: float | None = None, easy_seconds: float | None = EASY_SECONDS) -> Rating:
    """The FSRS rating of a graded answer (the table in the module doc).

    Examples
    --------
    >>> rating_for(1.0, True, seconds=30).name, rating_for(1.0, True, seconds=4).name
    ('Good', 'Easy')
    >>> rating_for(0.6, False).name, rating_for(0.2, False).name
    ('Hard', 'Again')
    """
    if time_limit is not None and seconds is not None and seconds > time_limit:
        return Rating.Again
    if score < AGAIN_BELOW:
        return Rating.Again
    if not correct:
        return Rating.Hard
    if easy_seconds is not None and seconds is not None and seconds <= easy_seconds:
        return Rating.Easy
    return Rating.Good


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class DrillQuestion:
    """A question as handed out by :meth:`Drill.next_question`.

    Attributes
    ----------
    uid : str
        ``quiz_id/question_id``: pass it to :meth:`Drill.answer`.
    question : handatlas.quiz.schema.Question
    number, total : int
        1-based position in the drill and the drill's length.
    new : bool
        Never answered by this learner before.
    due : datetime or None
        When FSRS wanted it asked (None for a new question).
    items : tuple of str or None
        For ``order`` questions, the items in the (shuffled) order to show them.
    time_limit : float or None
        Seconds allowed.
    option_order : tuple of int or None
        For choice and identify questions with options, the order to show them in (indices into
        the file's options; :mod:`handatlas.quiz.shuffle`).
    attempt : int
        1 the first time; 2, 3 when asked again after a failure in this drill (the module doc).
    """

    uid: str
    quiz_id: str
    question: schema.Question
    number: int
    total: int
    new: bool
    due: datetime | None
    items: tuple[str, ...] | None = None
    time_limit: float | None = None
    option_order: tuple[int, ...] | None = None
    attempt: int = 1

    @property
    def type(self) -> str:
        """The question type."""
        return self.question.type

    @property
    def ask_id(self) -> tuple[str, int]:
        """``(uid, attempt)``: this asking of the question in the drill."""
        return (self.uid, self.attempt)

    @property
    def shown(self) -> dict[str, list[Any]] | None:
        """What the learner sees, as the store keeps it with the answer for a review
        (:mod:`handatlas.quiz.review`): ``{"options": option_order}`` or ``{"items": items}``;
        None for a question shown the same way every time."""
        if self.option_order is not None:
            return {"options": list(self.option_order)}
        if self.items is not None:
            return {"items": list(self.items)}
        return None


@dataclass(frozen=True)
class Answered:
    """One answer of this drill; ``next_due`` is when FSRS next wants the question asked."""

    uid: str
    score: float
    correct: bool
    rating: Rating
    seconds: float | None
    next_due: datetime
    attempt: int = 1
    answered_at: datetime | None = None

    def due_text(self) -> str:
        """When the card is next due, from the time of the answer (:func:`due_text`)."""
        return due_text(self.next_due, self.answered_at or utcnow())


@dataclass(frozen=True)
class Summary:
    """The end-of-drill summary (see :meth:`Drill.summary`)."""

    learner: str
    session_id: int
    total: int
    answered: int
    correct: int
    score: float
    skipped: int
    tag_accuracy: dict[str, tuple[float, int]]
    weak_topics: list[str]
    retention: dict[str, float]
    results: list[Answered] = field(repr=False)
    pending: int = 0

    @property
    def again(self) -> int:
        """Answers to questions asked again after a failure in this drill."""
        return sum(r.attempt > 1 for r in self.results)

    @property
    def fraction(self) -> float:
        """Score over answered questions, 0 to 1 (0 when nothing was answered)."""
        return self.score / self.answered if self.answered else 0.0

    def text(self) -> str:
        """A few readable lines."""
        again = f" ({self.again} asked again after a miss)" if self.again else ""
        lines = [f"{self.learner}: {self.score:.1f} / {self.answered}{again} ({self.fraction:.0%}), "
                 f"{self.correct} fully right, {self.skipped} skipped, {self.pending} not reached."]
        if self.weak_topics:
            weak = ", ".join(f"{t} {self.tag_accuracy[t][0]:.0%} of {self.tag_accuracy[t][1]}"
                             for t in self.weak_topics[:5])
            lines.append(f"Weak topics (recent accuracy): {weak}.")
        elif self.answered:
            lines.append("No weak topics: every tag is at 80 % or better recently.")
        if self.retention:
            low = sorted(self.retention.items(), key=lambda kv: (kv[1], kv[0]))[:5]
            shown = ", ".join(f"{t} {r:.0%}" for t, r in low)
            lines.append(f"Predicted recall tomorrow (FSRS): {shown}.")
        return "\n".join(lines)


@dataclass(frozen=True)
class Progress:
    """A learner's progress, for charts (see :meth:`Drill.progress`).

    Attributes
    ----------
    answers : list of dict
        Every answer, oldest first: ``at``, ``uid``, ``score``, ``correct``, ``seconds``.
    daily : list of dict
        Per UTC day: ``date``, ``answered``, ``correct``, ``mean_score``.
    retention : dict
        Tag -> mean predicted recall, :data:`RECALL_HORIZON` from now, of the reviewed cards
        with that tag (:func:`recall`).
    forecast : list of tuple
        ``(days from now, mean predicted recall of all reviewed cards)`` for 0..30 days.
    cards, due_now : int
        Reviewed cards of bank questions, and how many of them are due.
    next_due : datetime or None
        When the soonest card not yet due is due (None: none is waiting).
    """

    learner: str
    answers: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    retention: dict[str, float]
    forecast: list[tuple[int, float]]
    cards: int
    due_now: int
    next_due: datetime | None = None

    def totals_text(self) -> str:
        """The learner's totals as plain text, counted nouns in the singular for one.

        Examples
        --------
        >>> Progress("Kim", [{"correct": False}], [], {}, [], 1, 0).totals_text()
        'Kim: 1 answer, 0 right; 1 question reviewed, 0 due now.'
        """
        right = sum(bool(a["correct"]) for a in self.answers)
        return (f"{self.learner}: {counted(len(self.answers), 'answer')}, {right} right; "
                f"{counted(self.cards, 'question')} reviewed, {self.due_now} due now.")


# ----------------------------------------------------------------------------- the drill
class Drill:
    """A drill session for one learner.

    Parameters
    ----------
    store
        Where answers and cards go.
    bank
        Bank questions (:func:`load_bank`) or quiz files / folders to load them from.
    learner
        The learner's name (created in the store when new).
    tags, match, types
        Which questions (:func:`select_questions`).
    count
        How many questions at most.
    time_limit
        Seconds per question; an answer over it scores 0 (rated Again).
    atlas
        The atlas (or a function returning it) for spatial keys; default the shipped atlas,
        loaded at the first spatial question.
    scheduler
        The FSRS scheduler (default ``fsrs.Scheduler()``: 90 % desired retention).
    seed
        Seeds the order of new questions, and with the learner, question and attempt the order
        of each question's options and items (:meth:`asking_rng`); None: drawn at random.
    clock
        Returns the current aware datetime (tests pass a fake one).
    easy_seconds
        A right answer within this many seconds rates Easy (None: never).

    Examples
    --------
    >>> drill = Drill(ProgressStore.open("sqlite://"), default_quiz_dir(), learner="ada",
    ...               tags=["topic:consent"], types=["choice", "order"])
    >>> "topic:consent" in drill.next_question().question.tags
    True
    """

    def __init__(self, store: ProgressStore, bank: Sequence[BankQuestion] | str | Path | Iterable[str | Path],
                 *, learner: str, tags: Iterable[str] = (), match: Match = "any", count: int = 10,
                 types: Iterable[str] | None = None, time_limit: float | None = None,
                 atlas: Atlas | Callable[[], Atlas] | None = None, scheduler: Scheduler | None = None,
                 seed: int | None = None, clock: Callable[[], datetime] = utcnow,
                 easy_seconds: float | None = EASY_SECONDS) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"count must be a positive whole number, not {count!r}")
        if time_limit is not None and not (isinstance(time_limit, int | float) and time_limit > 0
                                           and math.isfinite(time_limit)):
            raise ValueError(f"time_limit must be a positive number of seconds, not {time_limit!r}")
        if isinstance(bank, str | Path) or (not isinstance(bank, Sequence)):
            bank = load_bank(bank)
        elif bank and not isinstance(bank[0], BankQuestion):
            bank = load_bank(bank)
        self.store = store
        self.bank: list[BankQuestion] = list(bank)
        self.tags = [t.strip() for t in tags if t.strip()]
        self.match: Match = match
        self.time_limit = None if time_limit is None else float(time_limit)
        self.scheduler = scheduler or Scheduler()
        self.clock = clock
        self.easy_seconds = easy_seconds
        self._atlas = atlas
        self._keys: dict[str, Key] = {}
        self._rng = random.Random(seed)
        self.seed = self._rng.getrandbits(64) if seed is None else seed
        store.learner_id(learner)
        self.learner = store.learner_name(learner)  # as first written: names are case-insensitive
        self.selection = select_questions(self.bank, self.tags, match=match, types=types)
        if not self.selection:
            kinds = f" of type {', '.join(sorted(types))}" if types is not None else ""
            raise ValueError(f"no questions{kinds} match {', '.join(self.tags) or 'the bank'} ({match})")
        self._by_uid = {q.uid: q for q in self.bank}
        self.queue = self._plan(count)
        self.session_id = store.start_session(self.learner, tags=self.tags, match=match,
                                              count=len(self.queue), time_limit=self.time_limit,
                                              at=self._now())
        self.again: list[DrillQuestion] = []  # failed questions asked again (the module doc)
        self._handed: dict[tuple[str, int], float] = {}
        self._done: dict[tuple[str, int], Answered] = {}
        self._skipped: set[tuple[str, int]] = set()
        self._closed = False

    # -- planning
    def _now(self) -> datetime:
        return self.clock().astimezone(UTC)

    def _plan(self, count: int) -> list[DrillQuestion]:
        now = self._now()
        cards = self.store.cards(self.learner, [q.key for q in self.selection])
        due, new, later = [], [], []
        for q in self.selection:
            card = cards.get(q.key)
            if card is None:
                new.append(q)
            elif card.due <= now:
                due.append((card.due, q))
            else:
                later.append((card.due, q))
        self._rng.shuffle(new)
        new.sort(key=lambda q: q.question.difficulty)
        picked = [(d, q) for d, q in sorted(due, key=lambda x: x[0])] + [(None, q) for q in new]
        picked += sorted(later, key=lambda x: x[0])
        picked = picked[:count]
        out = []
        for i, (d, q) in enumerate(picked):
            items = None
            if isinstance(q.question, schema.Order):
                items = order_items(list(q.question.items), self.asking_rng(q.uid, 1))
            out.append(DrillQuestion(q.uid, q.quiz_id, q.question, i + 1, len(picked), d is None, d, items,
                                     self.time_limit, option_order(q.question, self.asking_rng(q.uid, 1))))
        return out

    # -- asking
    def asking_rng(self, uid: str, attempt: int) -> random.Random:
        """The generator an asking of question ``uid`` draws its option (and item) order from:
        seeded by the drill's :attr:`seed`, the learner (case-insensitive), the question and the
        attempt, so one learner's second attempt shows another order than the first, and two
        learners drilling with one seed see different orders.

        Examples
        --------
        >>> drill.asking_rng("q/x", 1).random() == drill.asking_rng("q/x", 1).random()  # doctest: +SKIP
        True
        """
        return random.Random(f"{self.seed}:{learner_key(self.learner)}:{uid}:{attempt}")

    def _open(self, dq: DrillQuestion) -> bool:
        return dq.ask_id not in self._done and dq.ask_id not in self._skipped

    def next_question(self) -> DrillQuestion | None:
        """The question to ask now (the same until it is answered or skipped); None at the end.

        A failed question asked again comes first once due; the planned ones next; then the
        failed ones still waiting, early (see the module doc).
        """
        now = self._now()
        waiting = [dq for dq in self.again if self._open(dq)]
        planned = next((dq for dq in self.queue if self._open(dq)), None)
        handed = [dq for dq in [*waiting, planned] if dq is not None and dq.ask_id in self._handed]
        if handed:  # handed out and not answered yet: still the one to answer
            return handed[0]
        due = [dq for dq in waiting if dq.due is not None and dq.due <= now]
        dq = due[0] if due else planned if planned is not None else (waiting[0] if waiting else None)
        if dq is not None:
            self._handed[dq.ask_id] = time.monotonic()
        return dq

    def _find(self, question_id: str) -> DrillQuestion:
        """The open asking of a question (by uid or bare id), else its last asking."""
        asks = [*self.queue, *self.again]
        hits = [dq for dq in asks if question_id in (dq.uid, dq.question.id)]
        if len({dq.uid for dq in hits}) == 1:
            return next((dq for dq in hits if self._open(dq)), hits[-1])
        if hits:
            raise ValueError(f"question id {question_id!r} is ambiguous in this drill; use one of "
                             f"{', '.join(dict.fromkeys(dq.uid for dq in hits))}")
        close = difflib.get_close_matches(question_id, [dq.uid for dq in self.queue], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"question {question_id!r} is not in this drill{hint}")

    def atlas(self) -> Atlas:
        """The atlas for spatial keys (loaded once)."""
        if self._atlas is None:
            from handatlas.atlas import load_atlas

            self._atlas = load_atlas()
        elif callable(self._atlas) and not hasattr(self._atlas, "structures"):
            self._atlas = self._atlas()
        return self._atlas  # type: ignore[return-value]

    def key(self, question_id: str) -> Key:
        """The answer key of a drill question (computed once)."""
        dq = self._find(question_id)
        if dq.uid not in self._keys:
            spatial = dq.type in schema.SPATIAL_TYPES
            self._keys[dq.uid] = compute_key(dq.question, self.atlas() if spatial else None)
        return self._keys[dq.uid]

    def answer(self, question_id: str, answer: Any, *, seconds: float | None = None) -> Grade:
        """Grade an answer, record it and update the learner's card, in one transaction.

        Parameters
        ----------
        question_id
            The ``uid`` (or the bare question id when unique in the drill).
        answer
            As :func:`handatlas.quiz.grading.grade` takes it.
        seconds
            Time taken; default the time since :meth:`next_question` handed it out.

        Raises
        ------
        ValueError, TypeError
            For a malformed answer (nothing is recorded), or a question already answered.
        """
        dq = self._find(question_id)
        if dq.ask_id in self._done:
            raise ValueError(f"question {dq.uid!r} was already answered in this drill")
        if seconds is None and dq.ask_id in self._handed:
            seconds = time.monotonic() - self._handed[dq.ask_id]
        atlas = self.atlas() if dq.type in schema.SPATIAL_TYPES else None  # names -> ids for press
        g = grade(dq.question, answer, atlas=atlas, key=self.key(dq.uid))
        if self.time_limit is not None and seconds is not None and seconds > self.time_limit:
            g = Grade(0.0, False, f"Time's up: {seconds:.0f} s, over the {self.time_limit:g} s limit. "
                                  f"{g.feedback}", g.key)
        rating = rating_for(g.score, g.correct, seconds=seconds, time_limit=self.time_limit,
                            easy_seconds=self.easy_seconds)
        now = self._now()
        card_id = zlib.crc32(dq.uid.encode()) + 1

        def review(card: Card | None) -> Card:
            return self.scheduler.review_card(card or Card(card_id=card_id, due=now), rating,
                                              review_datetime=now)[0]

        stored = self.store.record_answer(
            self.learner, dq.quiz_id, dq.question.id, answer, score=g.score, correct=g.correct,
            rating=int(rating), review=review, seconds=seconds, session_id=self.session_id, at=now,
            shown=dq.shown)
        self._done[dq.ask_id] = Answered(dq.uid, g.score, g.correct, rating, seconds, stored.due, dq.attempt,
                                         now)
        if rating == Rating.Again and dq.attempt < MAX_ASKS:
            self._ask_again(dq, stored.due)
        return g

    def _ask_again(self, dq: DrillQuestion, due: datetime) -> None:
        """Queue a failed question to be asked again in this drill once FSRS has it due."""
        total = len(self.queue) + len(self.again) + 1
        order = option_order(dq.question, self.asking_rng(dq.uid, dq.attempt + 1))
        items = dq.items
        if isinstance(dq.question, schema.Order) and items is not None:
            while len(items) > 1 and list(items) == dq.question.items:
                items = tuple(self._rng.sample(dq.question.items, len(items)))
        again = replace(dq, number=total, total=total, new=False, due=due, items=items, option_order=order,
                        attempt=dq.attempt + 1)
        self.queue = [replace(q, total=total) if self._open(q) and q.ask_id not in self._handed else q
                      for q in self.queue]
        self.again = [replace(q, total=total) if self._open(q) and q.ask_id not in self._handed else q
                      for q in self.again] + [again]

    def answered(self, dq: DrillQuestion) -> Answered | None:
        """The answer given to this asking of a question (None: not answered)."""
        return self._done.get(dq.ask_id)

    def will_ask_again(self, dq: DrillQuestion) -> bool:
        """Whether this drill asks the question again after ``dq`` (a failure, see the module doc)."""
        return any(q.uid == dq.uid and q.attempt > dq.attempt for q in self.again)

    def skip(self, question_id: str) -> None:
        """Pass over a question without recording anything."""
        self._skipped.add(self._find(question_id).ask_id)

    @property
    def remaining(self) -> int:
        """Questions (and failed questions to ask again) neither answered nor skipped."""
        return sum(self._open(dq) for dq in [*self.queue, *self.again])

    # -- results
    def _tags_of(self, uid: str) -> tuple[str, ...]:
        q = self._by_uid.get(uid)
        return q.tags if q else ()

    def summary(self) -> Summary:
        """Score of this drill, weak topics and retention per tag (see the module doc)."""
        results = list(self._done.values())
        drill_tags = sorted({t for dq in self.queue for t in dq.question.tags})
        recent: dict[str, list[float]] = defaultdict(list)
        for a in reversed(self.store.answers(self.learner)):
            for t in self._tags_of(f"{a.quiz_id}/{a.question_id}"):
                if len(recent[t]) < RECENT:
                    recent[t].append(a.score)
        accuracy = {t: (sum(recent[t]) / len(recent[t]), len(recent[t])) for t in drill_tags if recent[t]}
        weak = sorted((t for t, (acc, _) in accuracy.items() if acc < WEAK_BELOW),
                      key=lambda t: (accuracy[t][0], -accuracy[t][1], t))
        retention = {t: r for t, r in self.retention().items() if t in drill_tags}
        return Summary(self.learner, self.session_id, len(self.queue), len(results),
                       sum(r.correct for r in results), sum(r.score for r in results), len(self._skipped),
                       accuracy, weak, retention, results, self.remaining)

    def retention(self, when: datetime | None = None, learner: str | None = None) -> dict[str, float]:
        """Tag -> mean predicted recall at ``when`` (default :data:`RECALL_HORIZON` from now) of the
        learner's reviewed cards (:func:`recall`).

        Examples
        --------
        >>> drill.retention()  # doctest: +SKIP
        {'domain:ethics': 0.77}
        """
        when = self._now() + RECALL_HORIZON if when is None else when
        return retention(self.store, self._by_uid, learner or self.learner, when=when,
                         scheduler=self.scheduler)

    def progress(self, learner: str | None = None, *, days: int = 30) -> Progress:
        """A learner's answers over time and retention, for charts (default this drill's learner).

        Examples
        --------
        >>> drill.progress().forecast[0]  # doctest: +SKIP
        (0, 0.93)
        """
        return learner_progress(self.store, self.bank, learner or self.learner, days=days,
                                scheduler=self.scheduler, now=self._now())

    def close(self) -> Summary:
        """End the session (recording its end time) and return the summary."""
        if not self._closed:
            self.store.end_session(self.session_id, at=self._now())
            self._closed = True
        return self.summary()

    def __enter__(self) -> Drill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def recall(card: Card, when: datetime, scheduler: Scheduler) -> float:
    """The probability, by FSRS's forgetting curve, that ``card`` is recalled at ``when``.

    ``fsrs.Scheduler.get_card_retrievability`` counts the time since the last review in whole
    days (a card reviewed minutes ago, failed or not, is at 1.0 all day); here it counts in
    fractions of a day.  0 for a card never reviewed.

    Examples
    --------
    >>> from fsrs import Card, Rating, Scheduler
    >>> s, t0 = Scheduler(enable_fuzzing=False), datetime(2026, 1, 1, tzinfo=UTC)
    >>> failed = s.review_card(Card(due=t0), Rating.Again, review_datetime=t0)[0]
    >>> [round(recall(failed, t0 + timedelta(hours=h), s), 2) for h in (24, 6)]
    [0.77, 0.89]
    """
    if card.last_review is None or card.stability is None:
        return 0.0
    elapsed = max(0.0, (when - card.last_review).total_seconds() / 86400.0)
    decay = -float(scheduler.parameters[20])  # FSRS-6's forgetting curve, as fsrs computes it
    factor = 0.9 ** (1 / decay) - 1
    return float((1 + factor * elapsed / card.stability) ** decay)


def due_text(due: datetime, now: datetime) -> str:
    """When a card is due, in words, from ``now``: "now", "in 10 minutes", "in 3 days (Sat 4 Apr)".

    Examples
    --------
    >>> t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    >>> due_text(t0 + timedelta(minutes=1), t0), due_text(t0 + timedelta(days=3, hours=2), t0)
    ('in 1 minute', 'in 3 days (Wed 4 Mar 2026)')
    """
    seconds = (due - now).total_seconds()
    if seconds < 30:
        return "now"

    def unit(n: int, word: str) -> str:
        return f"in {n} {word}{'' if n == 1 else 's'}"

    if seconds < 3600:
        return unit(max(1, round(seconds / 60)), "minute")
    if seconds < 86400:
        return unit(round(seconds / 3600), "hour")
    day = due.astimezone(UTC)
    return unit(round(seconds / 86400), "day") + f" ({day:%a} {day.day} {day:%b %Y})"


def retention(store: ProgressStore, bank: dict[str, BankQuestion], learner: str, *, when: datetime,
              scheduler: Scheduler) -> dict[str, float]:
    """Tag -> mean predicted recall (:func:`recall`) at ``when`` of the learner's reviewed cards.

    ``bank`` maps question uids to bank questions (for their tags).
    """
    per_tag: dict[str, list[float]] = defaultdict(list)
    for (quiz_id, qid), card in store.cards(learner).items():
        r = recall(card.card, when, scheduler)
        question = bank.get(f"{quiz_id}/{qid}")
        for t in question.tags if question else ():
            per_tag[t].append(r)
    return {t: sum(rs) / len(rs) for t, rs in sorted(per_tag.items())}


def learner_progress(store: ProgressStore, bank: Sequence[BankQuestion], learner: str, *, days: int = 30,
                     scheduler: Scheduler | None = None, now: datetime | None = None) -> Progress:
    """A learner's answers over time and retention, for charts, without starting a drill.

    Raises
    ------
    handatlas.quiz.progress.StoreError
        When the store has no such learner.

    Examples
    --------
    >>> learner_progress(store, load_bank(), "ada").cards  # doctest: +SKIP
    12
    """
    scheduler = scheduler or Scheduler()
    now = utcnow() if now is None else now
    by_uid = {q.uid: q for q in bank}
    store.learner_id(learner, create=False)
    learner = store.learner_name(learner)
    rows = store.answers(learner)
    answers = [{"at": a.answered_at, "uid": f"{a.quiz_id}/{a.question_id}", "score": a.score,
                "correct": a.correct, "seconds": a.seconds} for a in rows]
    by_day: dict[str, list[Any]] = defaultdict(list)
    for a in rows:
        by_day[a.answered_at.date().isoformat()].append(a)
    daily = [{"date": d, "answered": len(v), "correct": sum(a.correct for a in v),
              "mean_score": sum(a.score for a in v) / len(v)} for d, v in sorted(by_day.items())]
    cards = [c for k, c in store.cards(learner).items() if f"{k[0]}/{k[1]}" in by_uid]
    forecast = []
    for d in range(days + 1):
        when = now + timedelta(days=d)
        rs = [recall(c.card, when, scheduler) for c in cards]
        forecast.append((d, sum(rs) / len(rs) if rs else 0.0))
    waiting = [c.due for c in cards if c.due > now]
    return Progress(learner, answers, daily,
                    retention(store, by_uid, learner, when=now + RECALL_HORIZON, scheduler=scheduler),
                    forecast, len(cards), sum(c.due <= now for c in cards), min(waiting, default=None))


# ----------------------------------------------------------------------------- terminal
#: Without a bone under a landmark, a typed landmark reaches this deep (mm) below the skin.
LANDMARK_DEPTH_MM = 30.0


def find_landmark(atlas: Atlas, text: str) -> str:
    """The landmark id a typed name means: its display name (:func:`handatlas.names.landmark_name`)
    or its id with spaces for underscores, any case, or a typo of either (difflib ratio >=
    :data:`handatlas.quiz.grading.FUZZY_RATIO`, one clear best).

    Raises
    ------
    ValueError
        When no landmark (or more than one) is that close, with the closest names.
    """
    from handatlas.quiz.grading import FUZZY_RATIO

    names = {normalise(lid): lid for lid in atlas.landmarks}
    names |= {normalise(landmark_name(atlas, lid)): lid for lid in atlas.landmarks}
    typed = normalise(text)
    if typed in names:
        return names[typed]
    close = difflib.get_close_matches(typed, names, n=2, cutoff=FUZZY_RATIO)
    if len(close) == 1 or (close and (names[close[0]] == names[close[1]]
                                      or difflib.SequenceMatcher(None, typed, close[0]).ratio()
                                      > difflib.SequenceMatcher(None, typed, close[1]).ratio())):
        return names[close[0]]
    near = difflib.get_close_matches(typed, names, n=3, cutoff=0.5)
    shown = dict.fromkeys(landmark_phrase(atlas, names[n]) for n in near)
    hint = f"; did you mean {', '.join(map(repr, shown))}?" if shown else ""
    raise ValueError(f"no landmark named {text.strip()!r}{hint} (type 'list' to see them)")


def landmark_click(atlas: Atlas, landmark_id: str) -> list[list[float]]:
    """A click on a landmark, as the app's click through translucent layers: the landmark's
    skin point and every surface its inward normal meets, down to the first bone (or
    :data:`LANDMARK_DEPTH_MM` where there is none).  Graded as a click: the nearest counts.

    Examples
    --------
    >>> landmark_click(atlas, "palm_center")[0]  # doctest: +SKIP
    [0.0, 0.0, 20.0]
    """
    import numpy as np

    from handatlas.lookup.index import lookup_index

    lm = atlas.landmark(landmark_id)
    direction = -np.asarray(lm.normal, dtype=float)
    origin = np.asarray(lm.point, dtype=float) - direction  # 1 mm outside the skin
    index = lookup_index(atlas)
    _, dist, _ = index.everything.hits(origin[None], direction[None])
    limit = LANDMARK_DEPTH_MM + 1.0
    if any(s.has_mesh and s.tissue == "bone" for s in atlas):
        _, bone, _ = index.bones.hits(origin[None], direction[None])
        limit = float(bone.min()) if len(bone) else limit
    points = [lm.point, *(origin + d * direction for d in dist if d <= limit + 1e-6)]
    return [[float(v) for v in p] for p in points]


@cache
def _landmark_clicks(atlas: Atlas) -> dict[str, list[list[float]]]:
    return {lid: landmark_click(atlas, lid) for lid in atlas.landmarks}


def landmark_reaches(atlas: Atlas, question: schema.Locate, key: Key) -> bool:
    """Whether some landmark answers a locate question (:func:`landmark_click` within the
    tolerance).  On the shipped atlas 43 of the bank's 50 do; the terminal drill leaves the others
    (thin deep targets away from every landmark) to the web app, unrecorded."""
    return any(grade(question, click, atlas=atlas, key=key).correct
               for click in _landmark_clicks(atlas).values())


def landmark_list(atlas: Atlas) -> str:
    """Every landmark's name, as typed in the terminal drill (its id in words works too)."""
    return ", ".join(sorted(landmark_phrase(atlas, lid) for lid in atlas.landmarks))


class _Skip(Exception):
    pass


class _Quit(Exception):
    pass


def _numbers(text: str, n: int) -> list[int]:
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    try:
        picks = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"type option numbers from 1 to {n}, not {text.strip()!r}") from None
    bad = [p for p in picks if not 1 <= p <= n]
    if bad or not picks:
        raise ValueError(f"choose numbers from 1 to {n}, not {text.strip()!r}")
    return [p - 1 for p in picks]


def _option_text(option: str, atlas: Atlas | None) -> str:
    if atlas is not None and option in atlas:
        return atlas.structure(option).name
    return option


def question_text(dq: DrillQuestion, *, atlas: Atlas | None = None) -> str:
    """A drill question as plain text (prompt, scenario, numbered options or items).

    Examples
    --------
    >>> print(question_text(drill.next_question()))  # doctest: +SKIP
    [1/5] choice, difficulty 2 ...
    """
    q = dq.question
    head = f"[{dq.number}/{dq.total}] {q.type}, difficulty {q.difficulty}" + (" (new)" if dq.new else "")
    if dq.attempt > 1:
        head += ", again: missed earlier in this drill"
    if dq.time_limit:
        head += f", {dq.time_limit:g} s"
    lines = [head]
    if isinstance(q, schema.Choice) and q.scenario:
        lines.append(q.scenario.strip())
    lines.append(q.prompt.strip())
    shown = dq.option_order or range(len(getattr(q, "options", None) or ()))
    if isinstance(q, schema.Choice):
        lines += [f"  {n}. {q.options[i]}" for n, i in enumerate(shown, 1)]
        lines.append("Choose all that apply (e.g. 1,3)." if q.multiple else "Choose one number.")
    elif isinstance(q, schema.Identify) and q.options:
        lines += [f"  {n}. {_option_text(q.options[i], atlas)}" for n, i in enumerate(shown, 1)]
        lines.append("Choose a number or type the name.")
    elif isinstance(q, schema.Identify):
        lines.append("Type the name.")
    elif isinstance(q, schema.Order):
        lines += [f"  {i}. {o}" for i, o in enumerate(dq.items or q.items, 1)]
        lines.append("Type the numbers in the right order (e.g. 3 1 2 4).")
    elif isinstance(q, schema.Territory):
        labels = [lb for lb in (atlas.territory_labels if atlas else ("median", "ulnar", "radial"))
                  if lb != "forearm"]
        lines.append(f"Type the nerve ({', '.join(labels)}).")
    elif isinstance(q, schema.Locate):
        lines.append(f"Type the landmark you would click (e.g. 'radial pulse'; 'list' shows them all); "
                     f"within {q.tolerance_mm:g} mm of the target, through the layers, counts.")
    elif isinstance(q, schema.Press):
        if isinstance(q.where, str):
            where = landmark_phrase(atlas, q.where) if atlas is not None else q.where.replace("_", " ")
        else:
            where = ", ".join(f"{v:g}" for v in q.where) + " mm"
        lines.append(f"(a {q.grade} press at {where})")
    return "\n".join(lines)


def parse_answer(dq: DrillQuestion, text: str, *, field_name: str | None = None,
                 atlas: Atlas | None = None) -> Any:
    """Turn a typed line into the answer :func:`~handatlas.quiz.grading.grade` takes.

    ``field_name`` is ``verdict`` or ``at_risk`` for press questions (one line each).  A locate
    question is answered by a landmark's name (:func:`find_landmark`, :func:`landmark_click`;
    needs ``atlas``).

    Raises
    ------
    ValueError
        With what to type instead.

    Examples
    --------
    >>> parse_answer(dq_choice_multiple, "1, 3")  # doctest: +SKIP
    [0, 2]
    """
    q = dq.question
    text = text.strip()
    if isinstance(q, schema.Choice):
        picks = _numbers(text, len(q.options))
        if not q.multiple:
            if len(picks) != 1:
                raise ValueError(f"choose one number from 1 to {len(q.options)}")
            return unshuffle(q, picks[0], dq.option_order)
        return unshuffle(q, sorted(set(picks)), dq.option_order)
    if isinstance(q, schema.Identify):
        if q.options and text.isdigit():
            return unshuffle(q, _numbers(text, len(q.options))[0], dq.option_order)
        if not text:
            raise ValueError("type a name" + (" or an option number" if q.options else ""))
        return text
    if isinstance(q, schema.Order):
        items = dq.items or tuple(q.items)
        picks = _numbers(text, len(items))
        if sorted(picks) != list(range(len(items))):
            raise ValueError(f"type each number from 1 to {len(items)} once")
        return [items[i] for i in picks]
    if isinstance(q, schema.Press) and field_name == "verdict":
        word = normalise(text)
        hits = [v for v in VERDICTS if v.startswith(word)] if word else []
        if len(hits) != 1:
            raise ValueError(f"type safe, caution or avoid, not {text!r}")
        return hits[0]
    if isinstance(q, schema.Press):
        if not normalise(text):
            raise ValueError("type the structures at risk, or none")
        if normalise(text) in ("none", "nothing"):
            return [NOTHING_AT_RISK]
        return [p.strip() for p in re.split(r"[,;]", text) if p.strip()]
    if isinstance(q, schema.Locate):
        if atlas is None:
            raise ValueError("a locate question needs the atlas")
        if normalise(text) == "list":
            raise ValueError(f"landmarks: {landmark_list(atlas)}")
        if not text:
            raise ValueError("type a landmark's name (or 'list')")
        return landmark_click(atlas, find_landmark(atlas, text))
    if not text:
        raise ValueError("type an answer")
    return text


def _read(stdin: TextIO, stdout: TextIO, prompt: str) -> str:
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if not line:
        raise EOFError
    if not stdin.isatty():  # piped: show the answer so that the transcript reads well
        stdout.write(line if line.endswith("\n") else line + "\n")
    word = line.strip().lower()
    if word in ("quit", "exit", "q"):
        raise _Quit
    if word in ("skip", "pass", "?"):
        raise _Skip
    return line


def _ask(dq: DrillQuestion, stdin: TextIO, stdout: TextIO, atlas: Atlas | None) -> Any:
    q = dq.question
    if isinstance(q, schema.Press):
        out: dict[str, Any] = {}
        labels = {"verdict": "verdict (safe / caution / avoid)",
                  "at_risk": "structures at risk (names, comma-separated, or none)"}
        for f in dict.fromkeys(q.ask):
            out[f] = _ask_field(dq, stdin, stdout, f"{labels[f]}> ", f, atlas)
        return out
    return _ask_field(dq, stdin, stdout, "> ", None, atlas)


def _ask_field(dq: DrillQuestion, stdin: TextIO, stdout: TextIO, prompt: str, field_name: str | None,
               atlas: Atlas | None) -> Any:
    while True:
        line = _read(stdin, stdout, prompt)
        try:
            return parse_answer(dq, line, field_name=field_name, atlas=atlas)
        except ValueError as exc:
            stdout.write(f"  {exc}\n")


def _answer(drill: Drill, dq: DrillQuestion, stdin: TextIO, stdout: TextIO, start: float,
            atlas: Atlas | None) -> Grade:
    while True:
        answer = _ask(dq, stdin, stdout, atlas)
        try:
            return drill.answer(dq.uid, answer, seconds=time.monotonic() - start)
        except (ValueError, TypeError) as exc:  # e.g. an option out of range: nothing recorded
            stdout.write(f"  {exc}\n")


def run_terminal(drill: Drill, *, stdin: TextIO, stdout: TextIO) -> int:
    """Run a drill on text streams: question, answer line(s), feedback and explanation; a summary.

    ``skip`` passes a question (nothing recorded), ``quit`` or end of input stops.  Every answer
    is saved as soon as it is given.  Returns 0, or 130 after Ctrl-C.

    Examples
    --------
    >>> run_terminal(drill, stdin=sys.stdin, stdout=sys.stdout)  # doctest: +SKIP
    0
    """
    code = 0
    atlas = None
    if any(dq.type in schema.SPATIAL_TYPES for dq in drill.queue):
        atlas = drill.atlas()
    stdout.write(f"Drill for {drill.learner}: {len(drill.queue)} questions"
                 f"{' tagged ' + (', '.join(drill.tags)) + f' ({drill.match})' if drill.tags else ''}. "
                 f"Type 'skip' to pass, 'quit' to stop.\n")
    try:
        while (dq := drill.next_question()) is not None:
            if (atlas is not None and isinstance(dq.question, schema.Locate)
                    and not landmark_reaches(atlas, dq.question, drill.key(dq.uid))):
                stdout.write(f"\n[{dq.number}/{dq.total}] locate: no landmark lies within "
                             f"{dq.question.tolerance_mm:g} mm of this target; it needs a click on the hand "
                             f"(handatlas serve). Skipped.\n")
                drill.skip(dq.uid)
                continue
            stdout.write("\n" + question_text(dq, atlas=atlas) + "\n")
            start = time.monotonic()
            try:
                g = _answer(drill, dq, stdin, stdout, start, atlas)
            except _Skip:
                drill.skip(dq.uid)
                stdout.write("  Skipped.\n")
                continue
            mark = "Right." if g.correct else ("Partly right." if g.score > 0 else "Wrong.")
            stdout.write(f"  {mark} {g.feedback} (score {g.score:.2f})\n")
            stdout.write(f"  Why: {explanation_text(dq.question, drill.key(dq.uid))}\n")
            done = drill.answered(dq)
            if done is not None:
                again = " (asked again in this drill)" if drill.will_ask_again(dq) else ""
                stdout.write(f"  Next due {done.due_text()}{again}.\n")
    except (EOFError, _Quit):
        stdout.write("\n")
    except KeyboardInterrupt:
        stdout.write("\nInterrupted.\n")
        code = 130
    summary = drill.close()
    stdout.write("\n" + summary.text() + f"\nProgress saved in {drill.store.url}.\n")
    stdout.write(missed_text(drill, atlas=atlas))
    stdout.flush()
    return code


def missed_text(drill: Drill, *, atlas: Atlas | None = None) -> str:
    """The review printed after a terminal drill: every answer of the drill not fully right, read
    back from the store, with its options in the order the learner saw them
    (:mod:`handatlas.quiz.review`); "" when nothing was missed."""
    from handatlas.quiz.review import missed_review

    text = missed_review(drill.store, drill.bank, drill.learner, session_id=drill.session_id, atlas=atlas)
    return "\n" + text if text else ""
