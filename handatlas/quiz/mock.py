"""Mock exams: a quiz drawn from the bank with the blueprint's domain weights.

:func:`mock_exam` picks ``count`` questions (default 60) so that each domain of
:mod:`handatlas.quiz.blueprint` gets its quota (the weight times ``count``, rounded by largest
remainder, hence within one item of it), chosen at random within the domain with a seeded
generator: the same bank, count and seed always give the same exam.  :func:`mock_quiz_yaml`
writes it as a quiz file that ``handatlas quiz check`` accepts.

Examples
--------
>>> from handatlas.quiz import default_quiz_dir, load_quiz, quiz_paths
>>> from handatlas.quiz.mock import mock_exam
>>> bank = [q for p in quiz_paths([default_quiz_dir()]) for q in load_quiz(p).questions]
>>> exam = mock_exam(bank, count=60, seed=1)
>>> len(exam), [q.id for q in exam] == [q.id for q in mock_exam(bank, count=60, seed=1)]
(60, True)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import yaml

from handatlas.quiz import schema
from handatlas.quiz.blueprint import (
    BLUEPRINT,
    BLUEPRINT_VERSION,
    WEIGHTS,
    BlueprintError,
    QuotaError,
    domain_of,
    quotas,
)

#: Questions in a mock exam unless told otherwise (the MBLEx has 100; 60 makes a shorter sitting).
DEFAULT_COUNT = 60
#: The pass mark written into a mock exam's header.
MOCK_PASS_MARK = 0.75
#: Keys written first and last in a question, in this order; the rest in the model's order between.
_FIRST_KEYS = ("id", "type", "scenario", "prompt")
_LAST_KEYS = ("explanation", "tags", "difficulty")


def mock_exam(questions: Sequence[schema.Question], *, count: int = DEFAULT_COUNT,
              seed: int = 0) -> list[schema.Question]:
    """Draw a mock exam from ``questions`` that follows the blueprint's weights.

    Parameters
    ----------
    questions
        The bank: every question tagged with exactly one blueprint domain, ids unique.
    count
        Items in the exam.
    seed
        Seeds the choice within each domain and the order of the exam.

    Returns
    -------
    list of Question
        ``count`` distinct questions, shuffled.

    Raises
    ------
    BlueprintError
        If a question has no single blueprint domain or ids repeat; a :class:`QuotaError` (one
        of them) if a domain has fewer questions than its quota.
    """
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        raise BlueprintError(f"question ids repeat across the bank: {', '.join(repeated[:5])}")
    by_domain: dict[str, list[schema.Question]] = {slug: [] for slug in WEIGHTS}
    for q in questions:
        by_domain[domain_of(q)].append(q)
    rng = random.Random(seed)
    picked: list[schema.Question] = []
    for slug, quota in quotas(count).items():
        pool = sorted(by_domain[slug], key=lambda q: q.id)
        if len(pool) < quota:
            raise QuotaError(f"domain:{slug} has {len(pool)} questions, fewer than the {quota} a "
                                 f"{count}-item mock exam needs")
        picked += rng.sample(pool, quota)
    rng.shuffle(picked)
    return picked


def _question_data(question: schema.Question) -> dict[str, Any]:
    data = question.model_dump(mode="json", exclude_defaults=True)
    data["type"] = question.type
    first = {key: data.pop(key) for key in _FIRST_KEYS if key in data}
    last = {key: data.pop(key) for key in _LAST_KEYS if key in data}
    return first | data | last


def mock_quiz_data(questions: Sequence[schema.Question], *, seed: int) -> dict[str, Any]:
    """A quiz file's data (header and questions) for a drawn mock exam."""
    count = len(questions)
    header = {
        "id": f"mock_exam_{count}_seed_{seed}",
        "title": f"Mock exam: {count} items (seed {seed})",
        "author": "handatlas quiz mock",
        "pass_mark": MOCK_PASS_MARK,
        "shuffle": True,
        "description": (f"Drawn from the bank with the domain weights of the {BLUEPRINT}, "
                        f"{BLUEPRINT_VERSION}."),
    }
    return {"format_version": schema.FORMAT_VERSION, "quiz": header,
            "questions": [_question_data(q) for q in questions]}


def mock_quiz_yaml(questions: Sequence[schema.Question], *, seed: int) -> str:
    """The YAML text of a quiz file holding a drawn mock exam (valid for ``quiz check``).

    Examples
    --------
    >>> from handatlas.quiz import parse_quiz
    >>> from handatlas.quiz.schema import Choice
    >>> q = Choice(type="choice", id="q1", prompt="Which?", explanation="Because.", options=["a", "b"],
    ...            answer=1, tags=["topic:x", "domain:ethics"])
    >>> parse_quiz(mock_quiz_yaml([q], seed=3)).questions[0] == q
    True
    """
    schema.QuizFile.model_validate(data := mock_quiz_data(questions, seed=seed))
    comment = "# A mock exam drawn by `handatlas quiz mock`; edit freely, or draw again with another seed.\n"
    return comment + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
