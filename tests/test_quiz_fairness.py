"""Naive strategies cannot pass: every shipped quiz played without knowing anything scores < 40 %.

Each strategy answers what a candidate who knows nothing would, through the same
:class:`~handatlas.quiz.session.QuizRun` the app uses (options shuffled per run, orders drawn,
keys computed from the atlas), over many shuffle seeds: the first option shown, the last one,
always the same verdict, always the median nerve, every option or structure there is, or a blank
answer.  A question a strategy has nothing to say to (a locate click, say) is submitted blank
where the app allows it, else skipped; both score 0.  ``pytest -s`` prints the table.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import mean
from typing import Any

import pytest

from handatlas.quiz import default_quiz_dir
from handatlas.quiz.bank import open_quiz, quiz_choices
from handatlas.quiz.grading import NOTHING_AT_RISK
from handatlas.quiz.keys import ChoiceKey, IdentifyKey, OrderKey, PressKey, TerritoryKey
from handatlas.quiz.session import PublicQuestion, QuizFlowError, QuizRun, risk_choices

#: Shuffle seeds each strategy is played over (the brief: at least 100).
SEEDS = 100
#: What a naive strategy must stay under, on every quiz.
CEILING = 0.40

Strategy = Callable[[PublicQuestion, list[str]], Any]


def _position(q: PublicQuestion, pick: int) -> Any:
    """The option at ``pick`` (0 first, -1 last) of whatever the question shows, or None."""
    if q.options:
        i = range(len(q.options))[pick]
        return [i] if q.multiple else i
    if q.type == "press":
        return {**({"verdict": q.choices[pick]} if "verdict" in q.ask else {}),
                **({"at_risk": [NOTHING_AT_RISK]} if "at_risk" in q.ask else {})}
    if q.type == "territory":
        return q.choices[pick]
    if q.type == "order":  # the items picked in the order shown, or in the reverse order
        return list(q.items if pick == 0 else q.items[::-1])
    return None


def _always(verdict: str) -> Strategy:
    def play(q: PublicQuestion, risks: list[str]) -> Any:
        if q.type != "press":
            return None
        return {**({"verdict": verdict} if "verdict" in q.ask else {}),
                **({"at_risk": [NOTHING_AT_RISK]} if "at_risk" in q.ask else {})}
    return play


def _median(q: PublicQuestion, risks: list[str]) -> Any:
    if q.type == "territory":
        return "median"
    if q.type == "identify" and not q.options:
        return "median nerve"
    if q.options:
        hits = [i for i, o in enumerate(q.options) if "median" in o.lower()]
        return None if not hits else (hits if q.multiple else hits[0])
    if q.type == "press":
        return {**({"verdict": "avoid"} if "verdict" in q.ask else {}),
                **({"at_risk": ["median_nerve"]} if "at_risk" in q.ask else {})}
    return None


def _everything(q: PublicQuestion, risks: list[str]) -> Any:
    if q.type == "choice" and q.multiple:
        return list(range(len(q.options)))
    if q.type == "press" and "at_risk" in q.ask:
        return {**({"verdict": "avoid"} if "verdict" in q.ask else {}), "at_risk": risks}
    return None


def _blank(q: PublicQuestion, risks: list[str]) -> Any:
    if q.type == "press":
        return {field: ([] if field == "at_risk" else None) for field in q.ask}
    if q.type == "choice":
        return []
    if q.type in ("identify", "territory"):
        return ""
    return None


STRATEGIES: dict[str, Strategy] = {
    "first option": lambda q, risks: _position(q, 0),
    "last option": lambda q, risks: _position(q, -1),
    "always safe": _always("safe"),
    "always caution": _always("caution"),
    "always avoid": _always("avoid"),
    "always median": _median,
    "select all": _everything,
    "blank": _blank,
}
QUIZZES = [path.name for _, path in quiz_choices(default_quiz_dir())]


def play(quiz_name: str, strategy: Strategy, atlas, keys: dict, *, seeds: int = SEEDS) -> float:
    """The strategy's mean score (fraction of the maximum) over ``seeds`` runs of a quiz."""
    quiz = open_quiz(default_quiz_dir(), quiz_name)
    risks = [sid for sid, _ in risk_choices(atlas)]
    scores = []
    for seed in range(seeds):
        run = QuizRun(quiz, atlas, seed=seed, keys=keys)
        while run.current is not None:
            answer = strategy(run.current, risks)
            try:
                run.answer(answer) if answer is not None else run.skip()
            except QuizFlowError:  # an answer the app refuses (e.g. a blank order): nothing to submit
                run.skip()
        scores.append(run.fraction)
    return mean(scores)


@pytest.fixture(scope="module")
def key_cache() -> dict[str, dict]:
    return {}


@pytest.mark.parametrize("quiz_name", QUIZZES)
def test_naive_strategies_score_under_40_percent(quiz_name, atlas, key_cache):
    keys = key_cache.setdefault(quiz_name, {})
    scores = {name: play(quiz_name, strategy, atlas, keys) for name, strategy in STRATEGIES.items()}
    print(f"\n{quiz_name:42s} " + "  ".join(f"{name} {score:.0%}" for name, score in scores.items()))
    assert max(scores.values()) < CEILING, scores
    assert scores["blank"] == 0.0


def _oracle(run: QuizRun) -> Any:
    """The right answer, in the form the page sends (positions among the options shown)."""
    key, shown = run._key_now(), run.current
    order = run._orders[run._position]
    if isinstance(key, ChoiceKey):
        picks = sorted(order.index(i) for i in key.answers)
        return picks if shown.multiple else picks[0]
    if isinstance(key, IdentifyKey):
        return order.index(key.options.index(key.target)) if key.options else key.name
    if isinstance(key, PressKey):
        return {"verdict": key.verdict, "at_risk": list(key.at_risk) or [NOTHING_AT_RISK]}
    if isinstance(key, TerritoryKey):
        return key.territory
    if isinstance(key, OrderKey):
        return list(key.items)
    return None  # locate: a click


@pytest.mark.parametrize("quiz_name", ["areas_of_caution.yaml", "territories.yaml", "hand_anatomy.yaml"])
def test_knowing_the_answers_scores_full_marks_through_the_same_harness(quiz_name, atlas, key_cache):
    """The strategies' answers take the forms the grader reads: the right ones score 1 each."""
    quiz = open_quiz(default_quiz_dir(), quiz_name)
    for seed in range(3):
        run = QuizRun(quiz, atlas, seed=seed, keys=key_cache.setdefault(quiz_name, {}))
        clicks = 0
        while run.current is not None:
            answer = _oracle(run)
            clicks += answer is None
            run.answer(answer) if answer is not None else run.skip()
        assert run.score == pytest.approx(run.total - clicks)
