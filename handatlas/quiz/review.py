"""A review of past drill answers: each question with its options in the order the learner saw them.

No UI code.  The progress store keeps, with every drill answer, what the learner saw
(``answers.shown``, :mod:`handatlas.quiz.progress`): the option indices of the file in the order
shown, or an order question's items as shown.  :func:`past_answer` turns a stored answer back into
the question as it was asked, with the learner's pick and the right option as positions among the
options shown; :func:`review_text` writes it out for the terminal (``handatlas drill`` ends with
the items missed in the drill).

Answers recorded before the store kept the order (schema version 2 and older), and answers whose
question has since changed its options, are shown in the file's order with :attr:`PastAnswer.as_seen`
false (the text says so): the order they were seen in is not known.

Examples
--------
>>> from handatlas.quiz.drill import Drill, load_bank
>>> from handatlas.quiz.progress import ProgressStore
>>> store = ProgressStore.open("sqlite://")
>>> drill = Drill(store, load_bank(), learner="ada", types=["choice"], count=1, seed=3)
>>> dq = drill.next_question()
>>> _ = drill.answer(dq.uid, dq.question.answers[0])
>>> past = past_answers(store, drill.bank, "ada")[0]
>>> past.options == tuple(dq.question.options[i] for i in dq.option_order), past.as_seen
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from handatlas.quiz import schema
from handatlas.quiz.keys import KeyProblem, identify_key, normalise
from handatlas.quiz.progress import AnswerRow, ProgressStore
from handatlas.quiz.shuffle import picked_options, shown_positions

if TYPE_CHECKING:
    from handatlas.atlas import Atlas
    from handatlas.quiz.drill import BankQuestion


@dataclass(frozen=True)
class PastAnswer:
    """A stored drill answer with its question as the learner saw it.

    Attributes
    ----------
    uid : str
        ``quiz_id/question_id``.
    answered_at : datetime
    score : float
    correct : bool
    question : handatlas.quiz.schema.Question or None
        The question as the bank holds it now (None: no longer in the bank).
    options : tuple of str or None
        Choice and identify: the options in the order the learner saw them (identify: structure
        names when the atlas is given, else as the file writes them).
    picked : tuple of int
        Positions among ``options`` the learner chose (empty for a typed answer).
    right : tuple of int
        Positions among ``options`` of the right option(s) (identify without the atlas: found
        when the option is written as the target is).
    items : tuple of str or None
        Order: the items in the order shown.
    answer : Any
        The answer as stored (option indices of the file, a typed name, item texts...).
    as_seen : bool
        Whether ``options`` / ``items`` are in the order the learner saw (False: not recorded,
        or the question's options changed since; then they are in the file's order).
    """

    uid: str
    answered_at: datetime
    score: float
    correct: bool
    question: schema.Question | None
    options: tuple[str, ...] | None
    picked: tuple[int, ...]
    right: tuple[int, ...]
    items: tuple[str, ...] | None
    answer: Any
    as_seen: bool


def seen_order(question: schema.Question, shown: Mapping[str, Any] | None) -> tuple[int, ...] | None:
    """The stored option order of ``question`` (indices into its options), or None when none was
    stored or it no longer fits the question's options (not a permutation of them).

    Examples
    --------
    >>> q = schema.Choice(type="choice", id="c", prompt="P?", explanation="E.", options=["a", "b", "c"],
    ...                   answer=0)
    >>> seen_order(q, {"options": [2, 0, 1]}), seen_order(q, {"options": [1, 0]}), seen_order(q, None)
    ((2, 0, 1), None, None)
    """
    options = getattr(question, "options", None)
    order = (shown or {}).get("options")
    if not options or not isinstance(order, list):
        return None
    if sorted(order) != list(range(len(options))) or any(isinstance(i, bool) for i in order):
        return None
    return tuple(order)


def _identify_right(question: schema.Identify, atlas: Atlas | None) -> list[int]:
    options = question.options or []
    if atlas is not None:
        try:
            key = identify_key(question, atlas)
        except KeyProblem:
            key = None
        if key is not None and key.options is not None:
            return [i for i, o in enumerate(key.options) if o == key.target]
    return [i for i, o in enumerate(options) if normalise(o) == normalise(question.target)]


def _option_text(option: str, atlas: Atlas | None) -> str:
    if atlas is not None and option in atlas:
        return atlas.structure(option).name
    return option


def past_answer(row: AnswerRow, bank: Mapping[str, BankQuestion], *,
                atlas: Atlas | None = None) -> PastAnswer:
    """A stored answer with its question's options (or items) in the order the learner saw them.

    Parameters
    ----------
    row
        An answer read back by :meth:`handatlas.quiz.progress.ProgressStore.answers`.
    bank
        Bank questions by uid (``quiz_id/question_id``).
    atlas
        Names identify options and finds their right option (optional).
    """
    uid = f"{row.quiz_id}/{row.question_id}"
    found = bank.get(uid)
    question = found.question if found is not None else None
    common = {"uid": uid, "answered_at": row.answered_at, "score": row.score, "correct": row.correct,
              "question": question, "answer": row.answer}
    options = getattr(question, "options", None)
    if isinstance(question, schema.Choice | schema.Identify) and options:
        order = seen_order(question, row.shown)
        shown = order if order is not None else tuple(range(len(options)))
        right = (question.answers if isinstance(question, schema.Choice)
                 else _identify_right(question, atlas))
        return PastAnswer(**common, options=tuple(_option_text(options[i], atlas) for i in shown),
                          picked=shown_positions(shown, picked_options(row.answer)),
                          right=shown_positions(shown, right), items=None, as_seen=order is not None)
    if isinstance(question, schema.Order):
        stored = (row.shown or {}).get("items")
        as_seen = isinstance(stored, list) and sorted(map(str, stored)) == sorted(question.items)
        items = tuple(stored) if as_seen else tuple(question.items)
        return PastAnswer(**common, options=None, picked=(), right=(), items=items, as_seen=as_seen)
    return PastAnswer(**common, options=None, picked=(), right=(), items=None, as_seen=True)


def past_answers(store: ProgressStore, bank: Sequence[BankQuestion] | Mapping[str, BankQuestion],
                 learner: str, *, session_id: int | None = None, missed: bool = False,
                 limit: int | None = None, atlas: Atlas | None = None) -> list[PastAnswer]:
    """A learner's stored answers as :class:`PastAnswer`, oldest first.

    ``session_id``: one drill's only; ``missed``: only those not fully right; ``limit``: the
    latest ones only (counted after ``missed``).
    """
    by_uid = bank if isinstance(bank, Mapping) else {q.uid: q for q in bank}
    rows = store.answers(learner, session_id=session_id)
    if missed:
        rows = [r for r in rows if not r.correct]
    if limit is not None:
        rows = rows[-limit:] if limit > 0 else []
    return [past_answer(r, by_uid, atlas=atlas) for r in rows]


def review_text(past: PastAnswer) -> str:
    """A past answer as plain text: the prompt, the options numbered as the learner saw them, the
    learner's pick and the right one marked.

    Examples
    --------
    >>> print(review_text(past))  # doctest: +SKIP
    drills/c03, 2026-03-01 09:00 UTC: wrong (score 0.00)
      Question 3?
        1. wrong  <- your answer
        2. right  (right)
        3. also wrong
    """
    mark = "right" if past.correct else ("partly right" if past.score > 0 else "wrong")
    head = f"{past.uid}, {past.answered_at:%Y-%m-%d %H:%M} UTC: {mark} (score {past.score:.2f})"
    q = past.question
    if q is None:
        return head + "\n  (this question is no longer in the bank)"
    if not past.as_seen:
        head += "\n  (the order it was shown in was not recorded: the file's order)"
    lines = [head]
    if isinstance(q, schema.Choice) and q.scenario:
        lines.append("  " + " ".join(q.scenario.split()))
    lines.append("  " + " ".join(q.prompt.split()))
    if past.options is not None:
        for n, text in enumerate(past.options):
            tags = (["<- your answer"] if n in past.picked else []) + (["(right)"] if n in past.right else [])
            lines.append(f"    {n + 1}. {text}" + (f"  {' '.join(tags)}" if tags else ""))
        if not past.picked and past.answer is not None:
            lines.append(f"  Your answer: {past.answer}")
    elif past.items is not None:
        lines.append("  Shown: " + "  ".join(f"{n}. {item}" for n, item in enumerate(past.items, 1)))
        given = past.answer if isinstance(past.answer, list) else [past.answer]
        lines.append(f"  Your order: {', '.join(map(str, given))}")
        lines.append(f"  Right order: {', '.join(q.items)}")
    elif not isinstance(q, schema.Locate):  # a click is a list of points: nothing to read
        lines.append(f"  Your answer: {_answer_words(past.answer)}")
    return "\n".join(lines)


def missed_review(store: ProgressStore, bank: Sequence[BankQuestion] | Mapping[str, BankQuestion],
                  learner: str, *, session_id: int | None = None, limit: int | None = None,
                  atlas: Atlas | None = None) -> str:
    """The answers of ``learner`` not fully right (one drill's, or the latest ``limit``), each as
    :func:`review_text` shows it, under a heading; "" when there are none.

    Examples
    --------
    >>> print(missed_review(store, bank, "ada", limit=5))  # doctest: +SKIP
    Review of the items missed (options as you saw them):
    drills/c03, 2026-03-01 09:00 UTC: wrong (score 0.00)
    ...
    """
    missed = past_answers(store, bank, learner, session_id=session_id, missed=True, limit=limit, atlas=atlas)
    if not missed:
        return ""
    return ("Review of the items missed (options as you saw them):\n"
            + "\n".join(review_text(p) for p in missed) + "\n")


def _answer_words(answer: Any) -> str:
    if isinstance(answer, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_answer_words(v)}" for k, v in answer.items())
    if isinstance(answer, list):
        return ", ".join(map(str, answer))
    return str(answer)
