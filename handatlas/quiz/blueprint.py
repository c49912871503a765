"""The exam blueprint the bank is tagged by: the FSMTB MBLEx content outline.

Every question of the shipped bank carries exactly one ``domain:<slug>`` tag, and the slugs are
the seven content areas of the Federation of State Massage Therapy Boards' *Massage & Bodywork
Licensing Examination* (MBLEx) content outline, in effect since 1 July 2018 (the outline that
followed FSMTB's 2017 job task analysis).  The weights are the outline's shares of the 100 exam
items.  :mod:`handatlas.quiz.mock` draws mock exams that follow them.

The bank is hand-centred, so its own shares differ from the weights (anatomy is over-represented);
the one rule on the bank is that no domain holds more than :data:`MAX_BANK_SHARE` of it.

Examples
--------
>>> from handatlas.quiz.blueprint import DOMAINS, WEIGHTS, quotas
>>> [d.slug for d in DOMAINS][:3]
['anatomy_physiology', 'kinesiology', 'pathology']
>>> round(sum(WEIGHTS.values()), 6)
1.0
>>> quotas(60)["client_assessment"]
10
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from handatlas.quiz import schema

#: The published blueprint the domains follow.
BLUEPRINT = "FSMTB Massage & Bodywork Licensing Examination (MBLEx) content outline"
#: Which edition of it.
BLUEPRINT_VERSION = "in effect since 1 July 2018 (from FSMTB's 2017 job task analysis)"
#: No domain may hold more than this share of the shipped bank.
MAX_BANK_SHARE = 0.35
#: A mock exam's domain shares stay within this many percentage points of the weights.
MOCK_TOLERANCE_POINTS = 5.0
#: The tag prefix of a domain.
DOMAIN_PREFIX = "domain:"


@dataclass(frozen=True)
class Domain:
    """One content area of the blueprint.

    Attributes
    ----------
    slug : str
        The tag word: a question in this domain is tagged ``domain:<slug>``.
    title : str
        The content area's name in the outline.
    weight : float
        Its share of the exam, 0 to 1.
    covers : str
        What the bank files under it, in a few words.
    """

    slug: str
    title: str
    weight: float
    covers: str


#: The seven content areas, in the outline's order.
DOMAINS: tuple[Domain, ...] = (
    Domain("anatomy_physiology", "Anatomy & Physiology", 0.11,
           "bones, landmarks, nerves, vessels, territories, skin and touch receptors"),
    Domain("kinesiology", "Kinesiology", 0.12,
           "muscles and tendons: location, attachments, actions; joints and range of motion"),
    Domain("pathology", "Pathology, Contraindications, Areas of Caution, Special Populations", 0.14,
           "areas of caution and press verdicts, contraindications, conditions of the hand"),
    Domain("benefits_effects",
           "Benefits and Physiological Effects of Techniques that Manipulate Soft Tissue", 0.15,
           "strokes and sequencing, effects of touch on the nervous system, evidence levels"),
    Domain("client_assessment", "Client Assessment, Reassessment & Treatment Planning", 0.17,
           "intake, readiness, outcome measures, adapting the plan"),
    Domain("ethics", "Ethics, Boundaries, Laws & Regulations", 0.16,
           "consent, boundaries, scope of practice and referral, confidentiality"),
    Domain("professional_practice", "Guidelines for Professional Practice", 0.15,
           "hygiene and safety, documentation, self-care and supervision"),
)
#: Slug -> weight (fractions summing to 1).
WEIGHTS: dict[str, float] = {d.slug: d.weight for d in DOMAINS}
#: Slug -> the outline's title.
TITLES: dict[str, str] = {d.slug: d.title for d in DOMAINS}


class BlueprintError(ValueError):
    """A question without exactly one blueprint domain, or a bank too small for a mock exam."""


class QuotaError(BlueprintError):
    """A domain with fewer questions than a mock exam of the asked size needs (ask for fewer)."""


def domain_tags(question: schema.Question) -> list[str]:
    """The words of a question's ``domain:`` tags, in file order.

    Examples
    --------
    >>> from handatlas.quiz.schema import Choice
    >>> q = Choice(type="choice", id="q", prompt="?", explanation="!", options=["a", "b"], answer=0,
    ...            tags=["topic:consent", "domain:ethics"])
    >>> domain_tags(q)
    ['ethics']
    """
    return [t[len(DOMAIN_PREFIX):] for t in question.tags if t.startswith(DOMAIN_PREFIX)]


def domain_problem(question: schema.Question) -> str | None:
    """What is wrong with a question's domain tags (None: exactly one, of the blueprint).

    Every question needs exactly one ``domain:<slug>`` tag naming a content area of
    :data:`DOMAINS`: ``handatlas quiz check`` and the Author mode refuse others, and mock exams
    (:mod:`handatlas.quiz.mock`) are drawn by it.

    Examples
    --------
    >>> from handatlas.quiz.schema import Choice
    >>> q = Choice(type="choice", id="q", prompt="?", explanation="!", options=["a", "b"], answer=0,
    ...            tags=["topic:consent", "domain:safety"])
    >>> domain_problem(q).split(";")[0]
    'domain:safety is not an exam domain'
    """
    found = domain_tags(question)
    allowed = ", ".join(f"{DOMAIN_PREFIX}{slug}" for slug in WEIGHTS)
    if not found:
        return f"no domain tag: add exactly one of {allowed}"
    if len(found) > 1:
        return (f"{len(found)} domain tags ({', '.join(DOMAIN_PREFIX + f for f in found)}): keep exactly "
                f"one of {allowed}")
    if found[0] not in WEIGHTS:
        return f"{DOMAIN_PREFIX}{found[0]} is not an exam domain; use one of {allowed}"
    return None


def domain_of(question: schema.Question) -> str:
    """The one blueprint domain of a question.

    Raises
    ------
    BlueprintError
        If the question has no domain tag, several, or one that is not a blueprint slug
        (:func:`domain_problem`).
    """
    problem = domain_problem(question)
    if problem is not None:
        raise BlueprintError(f"question {question.id!r}: {problem}")
    return domain_tags(question)[0]


def tag_problems(questions: Iterable[schema.Question]) -> list[str]:
    """Messages for every question without exactly one blueprint domain or without a topic.

    Returns
    -------
    list of str
        Empty when every question is tagged as the bank requires.
    """
    out = []
    for q in questions:
        try:
            domain_of(q)
        except BlueprintError as exc:
            out.append(str(exc))
        if not any(t.startswith("topic:") for t in q.tags):
            out.append(f"question {q.id!r} has no topic: tag")
    return out


def domain_counts(questions: Iterable[schema.Question]) -> Counter[str]:
    """Questions per blueprint domain (every domain present, possibly 0).

    Raises
    ------
    BlueprintError
        If a question has no single blueprint domain.
    """
    counts: Counter[str] = Counter(dict.fromkeys(WEIGHTS, 0))
    counts.update(domain_of(q) for q in questions)
    return counts


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Each domain's share (0 to 1) of the total of ``counts``."""
    total = sum(counts.values())
    return {slug: (counts.get(slug, 0) / total if total else 0.0) for slug in WEIGHTS}


def quotas(count: int) -> dict[str, int]:
    """How many of ``count`` items each domain gets: the weights, rounded by largest remainder.

    Each quota is within one item of ``count * weight``, so for 20 items or more every domain's
    share is within :data:`MOCK_TOLERANCE_POINTS` of its weight.

    Parameters
    ----------
    count
        The number of items, at least 1.

    Examples
    --------
    >>> quotas(100) == {d.slug: round(d.weight * 100) for d in DOMAINS}
    True
    >>> sum(quotas(37).values())
    37
    """
    if count < 1:
        raise BlueprintError(f"a mock exam needs at least 1 item, not {count}")
    exact = {slug: weight * count for slug, weight in WEIGHTS.items()}
    out = {slug: int(value) for slug, value in exact.items()}
    order = sorted(WEIGHTS, key=lambda s: (out[s] - exact[s], -WEIGHTS[s]))
    for slug in order[: count - sum(out.values())]:
        out[slug] += 1
    return out


def domain_table(counts: Mapping[str, int], *, weights: bool = True) -> str:
    """A plain-text table: domain, items, share (and the blueprint weight).

    Examples
    --------
    >>> print(domain_table({"ethics": 2, "pathology": 2}).splitlines()[0])
    domain                  items   share  weight
    """
    total = sum(counts.values())
    share = shares(counts)
    head = f"{'domain':<22} {'items':>6} {'share':>7}" + (f" {'weight':>7}" if weights else "")
    rows = [head]
    for slug in WEIGHTS:
        row = f"{slug:<22} {counts.get(slug, 0):>6} {share[slug]:>7.1%}"
        rows.append(row + (f" {WEIGHTS[slug]:>7.0%}" if weights else ""))
    rows.append(f"{'total':<22} {total:>6} {1.0 if total else 0.0:>7.0%}")
    return "\n".join(rows)
