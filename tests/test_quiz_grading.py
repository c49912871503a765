"""Grading on analytic cases with the fixture atlas (geometry in conftest.write_fixture_atlas)."""

from __future__ import annotations

import numpy as np
import pytest

from handatlas.quiz import compute_key, grade
from handatlas.quiz.grading import f1, grade_choice, grade_order, kendall_tau
from handatlas.quiz.keys import ChoiceKey, OrderKey, normalise
from handatlas.quiz.schema import Choice, Identify, Locate, Order, Press, Territory

COMMON = {"prompt": "?", "explanation": "!"}


def locate(target, tolerance_mm=5.0):
    return Locate(id="l", type="locate", target=target, tolerance_mm=tolerance_mm, **COMMON)


def identify(target, **kw):
    return Identify(id="i", type="identify", target=target, **kw, **COMMON)


# ----------------------------------------------------------------------------- locate
@pytest.mark.parametrize(("z", "distance", "score"), [
    (10.0, 0.0, 1.0),             # inside the nerve
    (14.0, 2.3, 1.0),             # 2.3 mm above its surface (11.7)
    (16.6, 4.9, 1.0),             # just within the tolerance
    (17.4, 5.7, 0.0),             # just outside the tolerance: no partial credit
    (19.2, 7.5, 0.0),
    (25.0, 13.3, 0.0),
])
def test_locate_structure_by_distance_to_its_surface(fixture_atlas, z, distance, score):
    g = grade(locate("Median nerve"), [0.0, 5.0, z], atlas=fixture_atlas)
    assert g.score == pytest.approx(score, abs=0.02)
    assert g.correct == (distance <= 5.0)
    assert f"{distance:.0f} mm" in g.feedback


def test_locate_landmark_by_distance_to_its_point(fixture_atlas):
    q = locate("palm_center", tolerance_mm=5)
    key = compute_key(q, fixture_atlas)
    assert key.kind == "landmark"
    assert grade(q, [3, 4, 20], key=key).score == 1.0
    g = grade(q, [0, 7.5, 20], key=key)
    assert (g.score, g.correct) == (0.0, False)
    assert g.feedback == "Close, but the centre of the palm is 8 mm from your click (tolerance 5 mm)."
    assert grade(q, [0, 10, 20], key=key).score == 0.0


def test_locate_a_group_uses_every_mesh_below_it(fixture_atlas):
    key = compute_key(locate("carpals"), fixture_atlas)
    assert len(key.surfaces) == 2  # capitate and hamate
    assert grade(locate("carpals"), [-20, 30, 8.5], key=key).correct  # just over the hamate plate


# ----------------------------------------------------------------------------- identify
@pytest.mark.parametrize(("typed", "ok"), [
    ("Capitate", True),
    ("  the CAPITATE! ", True),
    ("os capitatum", True),          # synonym
    ("capitat", True),               # typo, ratio 0.93
    ("os capitatun", True),
    ("hamate", False),               # another structure
    ("cap", False),
    ("", False),
])
def test_identify_typed(fixture_atlas, typed, ok):
    assert grade(identify("capitate"), typed, atlas=fixture_atlas).correct is ok


def test_identify_acronym_and_other_structures(fixture_atlas):
    assert grade(identify("radial_artery"), "RA", atlas=fixture_atlas).correct
    assert grade(identify("ulnar artery"), "ulnar arterie", atlas=fixture_atlas).correct
    wrong = grade(identify("ulnar artery"), "radial arteyr", atlas=fixture_atlas)  # closer to the radial
    assert not wrong.correct
    g = grade(identify("ulnar artery"), "Radial artery", atlas=fixture_atlas)
    assert g.score == 0.0
    assert g.feedback == "No: 'Radial artery' is the radial artery; this is the ulnar artery."


def test_identify_without_synonyms_and_with_extras(fixture_atlas):
    q = identify("capitate", synonyms=False, accept=["head bone"])
    assert not grade(q, "os capitatum", atlas=fixture_atlas).correct
    assert grade(q, "Head-bone", atlas=fixture_atlas).correct


def test_identify_options(fixture_atlas):
    q = identify("capitate", options=["Hamate", "os capitatum"])
    key = compute_key(q, fixture_atlas)
    assert key.options == ("hamate", "capitate")
    assert grade(q, 1, key=key).correct and not grade(q, 0, key=key).correct
    assert grade(q, "Os capitatum", key=key).correct
    with pytest.raises(ValueError, match="out of range"):
        grade(q, 2, key=key)


def test_normalise():
    assert normalise("Guyon's canal") == normalise("guyons-canal") == "guyons canal"


# ----------------------------------------------------------------------------- press
def press(where, grade_="light", ask=("verdict", "at_risk")):
    return Press(id="p", type="press", where=where, grade=grade_, ask=list(ask), **COMMON)


def test_press_key_from_the_lookup(fixture_atlas):
    key = compute_key(press("radial_pulse", "firm"), fixture_atlas)  # artery surface 3.6 mm deep, no bone
    assert (key.verdict, key.at_risk) == ("caution", ("radial_artery",))
    key = compute_key(press("palm_center"), fixture_atlas)  # nerve surface 8.3 mm deep: light is safe
    assert (key.verdict, key.at_risk) == ("safe", ())
    key = compute_key(press([0, 0, 20], "firm"), fixture_atlas)  # the nerve pinned on the capitate
    assert (key.verdict, key.at_risk) == ("avoid", ("median_nerve",))


def test_press_grading(fixture_atlas):
    q = press("palm_center", "firm")
    key = compute_key(q, fixture_atlas)
    assert grade(q, {"verdict": "avoid", "at_risk": ["Median nerve"]}, atlas=fixture_atlas, key=key).correct
    answer = {"verdict": "Avoid", "at_risk": ["median_nerve", "radial_artery"]}
    g = grade(q, answer, atlas=fixture_atlas, key=key)
    assert g.score == pytest.approx((1 + 2 / 3) / 2) and not g.correct
    assert "radial_artery is not within reach" in g.feedback
    g = grade(q, {"verdict": "safe"}, key=key)
    assert g.score == 0.0 and "the verdict is avoid, not safe" in g.feedback
    verdict_only = press("palm_center", ask=["verdict"])
    assert grade(verdict_only, "safe", atlas=fixture_atlas).correct


def test_press_blank_scores_nothing_and_nothing_at_risk_is_an_answer(fixture_atlas):
    safe = press("palm_center")  # light: nothing at risk
    key = compute_key(safe, fixture_atlas)
    assert key.at_risk == ()
    blank = grade(safe, {"verdict": None, "at_risk": []}, key=key)
    assert blank.score == 0.0 and "not blank" in blank.feedback and "you named nothing" in blank.feedback
    assert grade(safe, {"verdict": "safe", "at_risk": []}, key=key).score == 0.5
    assert grade(safe, {"verdict": "safe", "at_risk": ["none"]}, key=key).correct
    assert grade(safe, {"verdict": "safe", "at_risk": ["Nothing"]}, key=key).correct
    firm = press("palm_center", "firm")
    firm_key = compute_key(firm, fixture_atlas)
    assert grade(firm, {"verdict": "avoid", "at_risk": ["none"]}, key=firm_key).score == 0.5
    with pytest.raises(ValueError, match="not both"):
        grade(firm, {"verdict": "avoid", "at_risk": ["none", "median_nerve"]}, key=firm_key)


def test_f1():
    assert f1([], []) == 1.0 and f1(["a"], []) == 0.0 and f1(["a", "b"], ["a", "c"]) == 0.5


# ----------------------------------------------------------------------------- territory
def test_territory_variants(fixture_atlas):
    q = Territory(id="t", type="territory", where=[-5, 0, 20], **COMMON)
    g = grade(q, "Median nerve", atlas=fixture_atlas)
    assert g.correct and "in the dorsal_ulnar_2_5 variant: ulnar" in g.feedback
    q2 = Territory(id="t", type="territory", where=[-5, 0, 20], variant="dorsal_ulnar_2_5", **COMMON)
    assert grade(q2, "ulnar", atlas=fixture_atlas).correct
    q3 = Territory(id="t", type="territory", where="radial_pulse", **COMMON)
    assert compute_key(q3, fixture_atlas).territory == "radial"


@pytest.mark.parametrize(("typed", "key", "right"), [
    ("meidan", "median", True), ("medain nerve", "median", True), ("Mdian", "median", True),
    ("ulner", "ulnar", True), ("ulna", "ulnar", True), ("radail", "radial", True),
    ("ulnar", "median", False), ("radial", "median", False), ("median", "radial", False),  # other labels
    ("ulner", "median", False),                                   # a typo of another label
    ("radius", "radial", False), ("med", "median", False), ("", "median", False),  # too far off
])
def test_territory_answers_forgive_typos_but_never_take_another_label(typed, key, right):
    from handatlas.quiz.grading import grade_territory
    from handatlas.quiz.keys import TerritoryKey

    g = grade_territory(TerritoryKey(key, "standard", {"standard": key}), typed)
    assert g.correct is right
    if right and typed.lower().removesuffix(" nerve") != key:
        assert f"(read {typed.lower().removesuffix(' nerve')!r} as {key!r})" in g.feedback


# ----------------------------------------------------------------------------- choice
@pytest.mark.parametrize(("picks", "score"), [
    ([0, 2], 1.0), ([0], 0.5), ([0, 1, 2], 0.5), ([0, 1], 0.0), ([1, 3], 0.0), ([], 0.0), ([2, 0, 2], 1.0),
    ([0, 1, 2, 3], 0.0),  # every option: what is right is cancelled by what is wrong
])
def test_choice_multiple_partial_credit(picks, score):
    # the share of right options picked minus the share of wrong options picked
    q = Choice(id="c", type="choice", options=["a", "b", "c", "d"], answer=[0, 2], **COMMON)
    g = grade(q, picks)
    assert g.score == score and g.correct == (score == 1.0)


def test_choice_single():
    q = Choice(id="c", type="choice", options=["a", "b", "c"], answer=1, **COMMON)
    assert grade(q, 1).correct and grade(q, [1]).correct
    g = grade(q, 2)
    assert (g.score, g.feedback) == (0.0, "No: the best answer is b.")
    with pytest.raises(ValueError, match="out of range"):
        grade_choice(ChoiceKey(frozenset({1}), ("a", "b"), False), 5)


# ----------------------------------------------------------------------------- order
ITEMS = ["effleurage", "petrissage", "myofascial release", "trigger points", "lymphatic strokes"]


@pytest.mark.parametrize(("order", "score"), [
    ([0, 1, 2, 3, 4], 1.0),
    ([1, 0, 2, 3, 4], 0.8),        # one adjacent swap: 9 of 10 pairs, tau 0.8
    ([0, 1, 2, 4, 3], 0.8),
    ([4, 3, 2, 1, 0], 0.0),        # reversed: tau -1, floored
    ([2, 0, 1, 3, 4], 0.6),        # two inverted pairs
])
def test_order_kendall_tau(order, score):
    q = Order(id="o", type="order", items=ITEMS, **COMMON)
    assert grade(q, order).score == pytest.approx(score)
    assert grade(q, [ITEMS[i].upper() for i in order]).score == pytest.approx(score)


def test_order_rejects_non_permutations():
    key = OrderKey(("a", "b", "c"))
    with pytest.raises(ValueError, match="each of the 3 items once"):
        grade_order(key, ["a", "a", "b"])
    with pytest.raises(ValueError, match="'z' is not one of the items"):
        grade_order(key, ["a", "b", "z"])
    assert kendall_tau([0]) == 1.0


def test_grades_are_plain_data(fixture_atlas):
    g = grade(locate("palm_center"), np.array([0.0, 0.0, 20.0]), atlas=fixture_atlas)
    assert isinstance(g.score, float) and g.correct is True and g.key.target == "palm_center"
