"""Grading: pure functions from a key and an answer to a :class:`Grade` (score 0..1).

Rules
-----
locate
    ``d`` = distance (mm) from the clicked point to the target: to the nearest surface of the
    structure (trimesh closest point; 0 inside a closed surface) or to the landmark point.
    ``d <= tolerance``: score 1, correct; farther: 0 (the message says how far the click was).
identify
    An option (index or text) scores 1 when it is the target.  A typed answer is normalised
    (case, punctuation, a leading "the") and matched against the target's name, id, acronym,
    synonyms and the question's ``accept`` list: exact, or a typo with difflib ratio >= 0.85 that
    is closer to the target than to any other structure's name.  No partial credit.
press
    The verdict scores 1 when equal to the computed one, else 0 (blank included).  The
    structures at risk score the F1 of the named set against the computed set; "nothing is at
    risk" is an answer of its own (:data:`NOTHING_AT_RISK`, 1 when the computed set is empty),
    and naming nothing at all scores 0.  When a question asks for both, the score is their
    mean; correct only when both are fully right.
territory
    Exact label (``median``, ``ulnar``, ``radial``; "median nerve" is accepted as "median").
choice
    Single answer: 1 or 0 (no pick, or several, 0).  Multiple answers: the share of the right
    options picked minus the share of the wrong options picked, floored at 0; correct only at
    1.  Picking every option, or none, scores 0; so does picking at random, on average.
order
    Kendall's tau between the learner's order and the correct one, floored at 0: every pair in
    the right relative order counts +1, every inverted pair -1, over the number of pairs.  One
    adjacent swap among five items scores 0.8; a random order about 0; a reversal 0.  The
    order shown is drawn with tau as close to 0 as the item count allows, so submitting it
    as shown (or reversed) scores about 0 too.

Partial credit is given only where stated above: the structures at risk of a press, multiple
answers of a choice, and order.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from handatlas.quiz import schema
from handatlas.quiz.keys import (
    ChoiceKey,
    IdentifyKey,
    Key,
    LocateKey,
    OrderKey,
    PressKey,
    TerritoryKey,
    compute_key,
    normalise,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from handatlas.atlas import Atlas

#: Smallest difflib ratio for a typed name with a typo to count.
FUZZY_RATIO = 0.85
#: The answer "nothing is at risk" to a press question's ``at_risk`` (a list naming nothing
#: is a blank answer, not this one).
NOTHING_AT_RISK = "none"


@dataclass(frozen=True)
class Grade:
    """The grade of one answer.

    Attributes
    ----------
    score : float
        0 to 1.
    correct : bool
        Fully right (for locate: within the tolerance).
    feedback : str
        One or two sentences for the learner.
    key : object
        The key graded against (see :mod:`handatlas.quiz.keys`).
    """

    score: float
    correct: bool
    feedback: str
    key: Any


def _lower(name: str) -> str:
    """'Flexor retinaculum' -> 'flexor retinaculum' (acronyms such as 'FCR tendon' kept)."""
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


def _grade(score: float, feedback: str, key: Any, *, correct: bool | None = None) -> Grade:
    score = float(min(1.0, max(0.0, score)))
    return Grade(score, score >= 1.0 if correct is None else correct, feedback, key)


# ----------------------------------------------------------------------------- locate
def locate_distance(key: LocateKey, point: ArrayLike) -> float:
    """Distance (mm) from ``point`` to the key's landmark point or nearest structure surface."""
    import trimesh

    p = np.asarray(point, dtype=float).reshape(3)
    if key.point is not None:
        return float(np.linalg.norm(p - key.point))
    best = np.inf
    for mesh in key.surfaces:
        _, dist, _ = trimesh.proximity.closest_point(mesh, p[None])
        d = float(dist[0])
        if d > 0 and mesh.is_watertight and bool(mesh.contains(p[None])[0]):
            d = 0.0
        best = min(best, d)
    return best


def grade_locate(key: LocateKey, point: ArrayLike) -> Grade:
    """Grade a click at ``point`` (mm, hand frame).

    ``point`` may also be several points, shape (k, 3): the surfaces a click ray meets through
    translucent layers (the skin over a nerve); the nearest to the target counts.

    Examples
    --------
    >>> from handatlas.quiz.keys import LocateKey
    >>> key = LocateKey("palm_center", "palm center", "landmark", 5.0, point=np.zeros(3))
    >>> grade_locate(key, [0, 4.0, 0]).score, grade_locate(key, [0, 7.5, 0]).score
    (1.0, 0.0)
    """
    points = np.asarray(point, dtype=float)
    if points.ndim == 2 and points.shape[1] == 3 and len(points):
        d = min(locate_distance(key, p) for p in points)
    else:
        d = locate_distance(key, points)
    tol = key.tolerance_mm
    if d <= tol:
        return _grade(1.0, f"Yes: that is the {_lower(key.name)} ({d:.0f} mm away, within {tol:g} mm).", key)
    near = "Close, but" if d <= 2 * tol else "No:"
    text = f"{near} the {_lower(key.name)} is {d:.0f} mm from your click (tolerance {tol:g} mm)."
    return _grade(0.0, text, key, correct=False)


# ----------------------------------------------------------------------------- identify
def match_name(key: IdentifyKey, text: str) -> tuple[bool, str | None]:
    """Whether typed ``text`` names the target; the other structure it names, if any."""
    typed = normalise(text)
    if not typed:
        return False, None
    if typed in key.accepted:
        return True, None
    if typed in key.others:
        return False, key.others[typed]
    mine = max((difflib.SequenceMatcher(None, typed, a).ratio() for a in key.accepted), default=0.0)
    theirs_name, theirs = None, 0.0
    for alias, name in key.others.items():
        r = difflib.SequenceMatcher(None, typed, alias).ratio()
        if r > theirs:
            theirs_name, theirs = name, r
    if mine >= FUZZY_RATIO and mine > theirs:
        return True, None
    return False, theirs_name if theirs >= FUZZY_RATIO else None


def grade_identify(key: IdentifyKey, answer: str | int) -> Grade:
    """Grade a typed name or a chosen option (index or its text).

    Examples
    --------
    >>> from handatlas.quiz.keys import IdentifyKey
    >>> key = IdentifyKey("capitate", "Capitate", ("capitate", "os capitatum"))
    >>> grade_identify(key, "Capitat").correct
    True
    """
    if key.options is not None and isinstance(answer, int | np.integer) and not isinstance(answer, bool):
        if not 0 <= answer < len(key.options):
            msg = f"option {answer} is out of range 0..{len(key.options) - 1}"
            raise ValueError(msg)
        ok = key.options[answer] == key.target
        name = _lower(key.name)
        return _grade(float(ok), f"Yes: the {name}." if ok else f"No: this is the {name}.", key)
    if not isinstance(answer, str):
        msg = f"an identify answer is a name or an option index, not {answer!r}"
        raise TypeError(msg)
    if key.option_texts is not None:
        for text, sid in zip(key.option_texts, key.options or (), strict=True):
            if normalise(text) == normalise(answer):
                ok = sid == key.target
                return _grade(float(ok), f"Yes: the {_lower(key.name)}." if ok
                              else f"No: this is the {_lower(key.name)}.", key)
    ok, other = match_name(key, answer)
    if ok:
        exact = normalise(answer) in key.accepted
        spelling = "" if exact else f" (mind the spelling: {key.name})"
        return _grade(1.0, f"Yes: the {_lower(key.name)}{spelling}.", key)
    named = f"{answer!r} is the {_lower(other)}; " if other else ""
    return _grade(0.0, f"No: {named}this is the {_lower(key.name)}.", key)


# ----------------------------------------------------------------------------- press
def f1(named: Iterable[str], key: Iterable[str]) -> float:
    """The F1 score of a named set against the key set (1 when both are empty).

    Examples
    --------
    >>> f1({"a", "b"}, {"a"})
    0.6666666666666666
    """
    a, k = set(named), set(key)
    if not a and not k:
        return 1.0
    hit = len(a & k)
    return 0.0 if hit == 0 else 2 * hit / (len(a) + len(k))


def grade_press(key: PressKey, answer: Mapping[str, Any] | str | Sequence[str]) -> Grade:
    """Grade ``{"verdict": ..., "at_risk": [ids]}`` (or a bare verdict, or a bare id list).

    Examples
    --------
    >>> from handatlas.quiz.keys import PressKey
    >>> key = PressKey("avoid", ("radial_artery",), {"radial_artery": "Radial artery"},
    ...                ("verdict", "at_risk"), "firm", np.zeros(3), "")
    >>> grade_press(key, {"verdict": "avoid", "at_risk": ["none"]}).score
    0.5
    """
    if isinstance(answer, str):
        answer = {"verdict": answer}
    elif not isinstance(answer, Mapping):
        answer = {"at_risk": list(answer)}
    scores, notes = [], []
    if "verdict" in key.ask:
        given = str(answer.get("verdict") or "").strip().lower()
        ok = given == key.verdict
        scores.append(float(ok))
        notes.append(f"the verdict is {key.verdict}" + ("" if ok else f", not {given or 'blank'}"))
    if "at_risk" in key.ask:
        named = _named_at_risk(answer.get("at_risk") or ())
        scores.append(0.0 if named is None else f1(named, key.at_risk))
        missed = [key.names[i] for i in key.at_risk if i not in (named or ())]
        extra = sorted((named or set()) - set(key.at_risk))
        at_risk = ", ".join(key.names[i] for i in key.at_risk) or "nothing"
        note = f"at risk: {at_risk}"
        if named is None:
            note += " (you named nothing)"
        elif missed:
            note += f" (you missed {', '.join(missed)})"
        if extra:
            note += f" ({', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not within reach)"
        notes.append(note)
    score = sum(scores) / len(scores)
    text = "; ".join(notes)
    return _grade(score, f"{'Yes' if score >= 1 else 'Not quite'}: {text}. {key.message}".strip(), key)


def _named_at_risk(answer: Iterable[Any]) -> set[str] | None:
    """The structures named, the empty set for :data:`NOTHING_AT_RISK`, None when blank.

    Raises
    ------
    ValueError
        For "nothing is at risk" together with structures.
    """
    names = [str(a) for a in answer]
    if not names:
        return None
    nothing = [a for a in names if normalise(a) in (NOTHING_AT_RISK, "nothing")]
    if nothing and len(nothing) < len(names):
        msg = "choose either 'nothing is at risk' or the structures at risk, not both"
        raise ValueError(msg)
    return set() if nothing else set(names)


# ----------------------------------------------------------------------------- territory
def grade_territory(key: TerritoryKey, answer: str) -> Grade:
    """Grade a territory name (``median``, ``ulnar``, ``radial``; "median nerve" works too).

    Examples
    --------
    >>> from handatlas.quiz.keys import TerritoryKey
    >>> grade_territory(TerritoryKey("median", "standard", {"standard": "median"}), "Median nerve").correct
    True
    """
    given = normalise(str(answer)).removesuffix(" nerve").strip()
    ok = given == key.territory
    others = {v: t for v, t in key.by_variant.items() if t != key.territory}
    variants = "".join(f" (in the {v} variant: {t})" for v, t in others.items())
    text = f"the {key.territory} nerve supplies this skin{variants}"
    return _grade(float(ok), f"{'Yes' if ok else 'No'}: {text}.", key)


# ----------------------------------------------------------------------------- choice
def grade_choice(key: ChoiceKey, picks: int | Iterable[int]) -> Grade:
    """Grade one pick or a set of picks (0-based option indices).

    Examples
    --------
    >>> from handatlas.quiz.keys import ChoiceKey
    >>> key = ChoiceKey(frozenset({0, 2}), ("a", "b", "c", "d"), True)
    >>> grade_choice(key, [0, 1, 2]).score  # both right ones, and one of the two wrong ones
    0.5
    >>> grade_choice(key, [0, 1, 2, 3]).score
    0.0
    """
    chosen = {int(picks)} if isinstance(picks, int | np.integer) else {int(p) for p in picks}
    bad = sorted(p for p in chosen if not 0 <= p < len(key.options))
    if bad:
        msg = f"option {bad[0]} is out of range 0..{len(key.options) - 1}"
        raise ValueError(msg)
    right = ", ".join(key.options[i] for i in sorted(key.answers))
    if not key.multiple:
        ok = chosen == set(key.answers)
        return _grade(float(ok), "Yes." if ok else f"No: the best answer is {right}.", key)
    hits, wrong = len(chosen & key.answers), len(chosen - key.answers)
    wrong_options = len(key.options) - len(key.answers)
    score = max(0.0, hits / len(key.answers) - (wrong / wrong_options if wrong_options else 0.0))
    text = "Yes." if score >= 1 else (f"{hits} of {len(key.answers)} right, {wrong} wrong: "
                                      f"the answers are {right}.")
    return _grade(score, text, key)


# ----------------------------------------------------------------------------- order
def kendall_tau(order: Sequence[int]) -> float:
    """Kendall's tau of a permutation of ``range(n)`` against the identity (1 for n < 2)."""
    n = len(order)
    if n < 2:
        return 1.0
    s = sum(1 if order[i] < order[j] else -1 for i in range(n) for j in range(i + 1, n))
    return s / (n * (n - 1) / 2)


def grade_order(key: OrderKey, answer: Sequence[str] | Sequence[int]) -> Grade:
    """Grade the learner's sequence: item texts, or indices into the correct order.

    Examples
    --------
    >>> from handatlas.quiz.keys import OrderKey
    >>> grade_order(OrderKey(("a", "b", "c", "d", "e")), ["a", "c", "b", "d", "e"]).score
    0.8
    """
    n = len(key.items)
    if all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in answer):
        ranks = [int(a) for a in answer]
    else:
        where = {normalise(item): i for i, item in enumerate(key.items)}
        try:
            ranks = [where[normalise(str(a))] for a in answer]
        except KeyError as exc:
            msg = f"{exc.args[0]!r} is not one of the items"
            raise ValueError(msg) from None
    if sorted(ranks) != list(range(n)):
        msg = f"an order answer must list each of the {n} items once"
        raise ValueError(msg)
    tau = kendall_tau(ranks)
    pairs = n * (n - 1) // 2
    right = round((tau + 1) / 2 * pairs)
    text = "Yes." if tau >= 1 else f"{right} of {pairs} pairs in order: " + " → ".join(key.items) + "."
    return _grade(max(0.0, tau), text, key)


# ----------------------------------------------------------------------------- dispatch
def _ids(atlas: Atlas | None, names: Iterable[str]) -> list[str]:
    out = []
    for n in names:
        out.append(atlas.structure(n).id if atlas is not None and n in atlas else str(n))
    return out


def grade(question: schema.Question, answer: Any, *, atlas: Atlas | None = None,
          key: Key | None = None) -> Grade:
    """Grade an answer to any question; the key is computed from the atlas unless given.

    Parameters
    ----------
    question
        A question of a loaded quiz.
    answer
        locate: a point ``(x, y, z)`` or several (see :func:`grade_locate`); identify: a name or
        option index; press:
        ``{"verdict": ..., "at_risk": [ids or names]}``; territory: a name; choice: an index or a
        list of indices; order: the items (or their indices) in the learner's order.
    atlas, key
        The atlas to compute the key from, or a key computed before (e.g. cached per quiz).

    Examples
    --------
    >>> grade(question, {"verdict": "avoid"}, atlas=atlas).correct  # doctest: +SKIP
    True
    """
    if key is None:
        key = compute_key(question, atlas)
    if isinstance(key, LocateKey):
        return grade_locate(key, answer)
    if isinstance(key, IdentifyKey):
        return grade_identify(key, answer)
    if isinstance(key, PressKey):
        if isinstance(answer, Mapping) and "at_risk" in answer:
            answer = {**answer, "at_risk": _ids(atlas, answer["at_risk"])}
        elif not isinstance(answer, str | Mapping):
            answer = _ids(atlas, answer)
        return grade_press(key, answer)
    if isinstance(key, TerritoryKey):
        return grade_territory(key, answer)
    if isinstance(key, ChoiceKey):
        return grade_choice(key, answer)
    return grade_order(key, answer)
