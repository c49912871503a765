"""Pressure queries on the fixture atlas, where every answer can be worked out by hand.

Fixture (tests/conftest.py): skin box with its palmar face at z = 20; the median nerve along y at
x = 0, z = 10 (r 1.7), pinned on the capitate (a sphere of radius 8 at the origin) near y = 0;
the radial artery at x = 25, z = 15 (r 1.4) for y <= 0; a bone plate at z 5..8 over x -32..-5,
y 15..45 with the ulnar artery under it (y = 30, z = 3, r 1).  With the shipped calibration an
unpinned nerve or artery is flagged (caution) at firm pressure and never reaches avoid, a pinned
one reaches avoid.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from handatlas import UnknownNameError
from handatlas.lookup.grades import AVOID, CAUTION, SAFE, VERDICTS
from handatlas.lookup.model import COLUMN_MAX_MM, STRAIN_HALF_KPA, STRAIN_MAX, influence, tissue_strain
from handatlas.lookup.press import verdict_shares


def stress_on_axis(force_n, radius_mm, depth_mm, *, column_mm=COLUMN_MAX_MM):
    """The model's stress on the axis, worked out by hand (closed form, compressed column)."""
    p = 1000 * force_n / (np.pi * radius_mm**2)
    strain = STRAIN_MAX * p / (p + STRAIN_HALF_KPA)
    z = depth_mm * (1 - strain) if depth_mm <= column_mm else depth_mm - strain * column_mm
    return p * (1 - z**3 / (radius_mm**2 + z**2) ** 1.5)


def test_press_straight_above_a_nerve(fixture_atlas):
    report = fixture_atlas.press([0, -20, 20], grade="firm", radius_mm=8)
    nerve = {r.id: r for r in report.at_risk}["median_nerve"]
    # contact at z = 20; nerve surface at z = 10 + 1.7, straight below
    assert nerve.distance_mm == pytest.approx(20 - 11.7, abs=1e-6)
    assert nerve.depth_mm == pytest.approx(8.3, abs=1e-6)
    # no bone on this axis: the column is the cap; the stress is the closed form on the axis
    assert nerve.stress_kpa == pytest.approx(stress_on_axis(40, 8, 8.3), rel=1e-3)
    assert not nerve.pinned and nerve.level == "caution" and report.verdict == "caution"
    assert report.force_n == 40.0 and report.pressure_kpa == pytest.approx(40_000 / (np.pi * 64))
    assert report.depth_limit_mm == report.sink_mm == pytest.approx(
        float(tissue_strain(report.pressure_kpa)) * COLUMN_MAX_MM)
    np.testing.assert_allclose(report.direction, [0, 0, -1], atol=1e-6)
    assert "the median nerve, 8.3 mm deep, takes 178 kPa" in report.message
    assert "use light, broad, moving strokes here" in report.message


def test_press_beside_a_nerve(fixture_atlas):
    # 6 mm to the side: the nerve's surface is 4.3 mm off the axis, inside the 8 mm pad
    report = fixture_atlas.press([6, -20, 20], grade="firm", radius_mm=8)
    nerve = {r.id: r for r in report.at_risk}["median_nerve"]
    assert nerve.depth_mm == pytest.approx(8.3, abs=1e-6)
    assert nerve.distance_mm == pytest.approx(np.hypot(6, 10) - 1.7, abs=1e-6)
    p = report.pressure_kpa
    z = 8.3 * (1 - float(tissue_strain(p)))
    assert nerve.stress_kpa == pytest.approx(p * float(influence(z / 8, 4.3 / 8)), rel=1e-3)
    straight = fixture_atlas.press([0, -20, 20], grade="firm", radius_mm=8).at_risk[0]
    assert nerve.stress_kpa < straight.stress_kpa


def test_pinned_on_bone_is_worse(fixture_atlas):
    """The same nerve at the same depth: over the capitate it is pinned, elsewhere it is not."""
    over_bone = fixture_atlas.press([0, 0, 20], grade="firm")
    free = fixture_atlas.press([0, -20, 20], grade="firm")
    assert over_bone.at_risk[0].pinned and not free.at_risk[0].pinned
    assert over_bone.at_risk[0].depth_mm == free.at_risk[0].depth_mm == pytest.approx(8.3)
    assert (over_bone.verdict, free.verdict) == ("avoid", "caution")
    assert "pinned against the capitate" in over_bone.message, over_bone.message  # the bone under it
    assert over_bone.message.startswith("Avoid firm pressure")


def test_grades_and_force(fixture_atlas):
    verdicts = {g: fixture_atlas.press([0, 0, 20], grade=g).verdict for g in ("light", "moderate", "firm")}
    assert verdicts == {"light": "safe", "moderate": "caution", "firm": "avoid"}
    light = fixture_atlas.press([0, 0, 20], grade="light")
    assert "median nerve (8.3 mm deep)" in light.message and "below what calls for caution" in light.message
    forced = fixture_atlas.press([0, 0, 20], grade="light", force_n=40.0)
    firm = fixture_atlas.press([0, 0, 20], grade="firm")
    assert forced.grade == "light" and forced.force_n == 40.0 and forced.verdict == "avoid"
    assert forced.at_risk[0].stress_kpa == pytest.approx(firm.at_risk[0].stress_kpa)
    assert "Even 40 N pressure" not in forced.message and "Avoid 40 N pressure here" in forced.message
    gentle = fixture_atlas.press([0, 0, 20], grade="firm", force_n=2.0)
    assert gentle.verdict == "safe" and gentle.force_n == 2.0


def test_broad_pad_is_gentler(fixture_atlas):
    thumb = fixture_atlas.press([0, 0, 20], grade="firm", radius_mm=8)
    palm = fixture_atlas.press([0, 0, 20], grade="firm", radius_mm=20)
    assert palm.pressure_kpa < thumb.pressure_kpa / 6
    assert palm.at_risk[0].stress_kpa < thumb.at_risk[0].stress_kpa
    assert palm.verdict == "caution"


def test_bone_shields(fixture_atlas):
    shielded = fixture_atlas.press([-20, 30, 20], grade="firm")
    assert shielded.verdict == "safe" and shielded.at_risk == ()
    assert [s.id for s in shielded.shielded] == ["ulnar_artery"]
    assert shielded.shielded[0].depth_mm == pytest.approx(20 - (3 + 1), abs=1e-6)
    assert "behind the hamate" in shielded.message
    open_ = fixture_atlas.press([-36, 30, 20], grade="firm")  # beside the plate: nothing shields
    assert open_.verdict == "caution" and [a.id for a in open_.at_risk] == ["ulnar_artery"]


def test_layer_stack(fixture_atlas):
    report = fixture_atlas.press([-20, 30, 20], grade="firm")
    layers = {layer.id: (layer.entry_mm, layer.exit_mm) for layer in report.layers}
    assert layers["skin"] == pytest.approx((0.0, 40.0), abs=1e-6)
    assert layers["hamate"] == pytest.approx((12.0, 15.0), abs=1e-6)
    assert layers["ulnar_artery"][0] == pytest.approx(16.0, abs=0.05)  # polygonal tube: 16 + r(1 - cos)
    assert [layer.id for layer in report.layers] == ["skin", "hamate", "ulnar_artery"]


def test_report_json(fixture_atlas):
    report = fixture_atlas.press("radial_pulse", grade="firm")
    data = json.loads(json.dumps(report.as_dict()))
    assert set(data) >= {"point", "normal", "direction", "radius_mm", "grade", "force_n", "pressure_kpa",
                         "sink_mm", "depth_limit_mm", "landmark", "territory", "verdict", "at_risk",
                         "shielded", "layers", "message"}
    assert data["landmark"] == "radial_pulse" and data["territory"] == "radial"
    assert data["force_n"] == 40.0 and data["depth_limit_mm"] == data["sink_mm"]
    item = data["at_risk"][0]
    keys = ("id", "name", "tissue", "risk", "distance_mm", "depth_mm", "level", "pinned")
    assert {k: item[k] for k in keys} == {
        "id": "radial_artery", "name": "Radial artery", "tissue": "artery", "risk": "high",
        "distance_mm": 3.6, "depth_mm": 3.6, "level": "caution", "pinned": False}
    assert item["stress_kpa"] == pytest.approx(stress_on_axis(40, 8, 3.6), abs=0.2)
    assert f"{item['depth_mm']:.1f} mm deep" in data["message"] and "radial artery" in data["message"]


def test_where_forms(fixture_atlas):
    by_landmark = fixture_atlas.press("palm_center")
    assert by_landmark.landmark == "palm_center"
    np.testing.assert_allclose(by_landmark.point, [0, 0, 20])
    by_structure = fixture_atlas.press("radial artery")  # its nearest skin point
    assert by_structure.landmark is None and by_structure.point[2] == pytest.approx(20.0)
    assert 23 < by_structure.point[0] < 27
    snapped = fixture_atlas.press([0.3, -20, 23.0])  # 3 mm above the skin: snapped onto it
    np.testing.assert_allclose(snapped.point, [0.3, -20, 20], atol=1e-6)


def test_custom_direction(fixture_atlas):
    slanted = fixture_atlas.press([10, -20, 20], grade="firm", direction=[-1, 0, -1])
    np.testing.assert_allclose(slanted.direction, np.array([-1, 0, -1]) / np.sqrt(2))
    with pytest.raises(ValueError, match="points out of the skin"):
        fixture_atlas.press([10, -20, 20], direction=[0, 0, 1])


@pytest.mark.parametrize(
    ("where", "kwargs", "message"),
    [
        ("radial_plse", {}, "unknown landmark or structure 'radial_plse'; did you mean 'radial_pulse'"),
        ([np.nan, 0, 20], {}, "non-finite"),
        ([0, 0, 200], {}, "180.0 mm outside the skin"),
        ([1, 2], {}, "3 coordinates"),
        ("palm_center", {"grade": "hard"}, "unknown grade 'hard'"),
        ("palm_center", {"grade": "frim"}, "did you mean 'firm'"),
        ("palm_center", {"radius_mm": 0}, "radius must be more than 0"),
        ("palm_center", {"radius_mm": -3}, "radius must be more than 0"),
        ("palm_center", {"radius_mm": np.nan}, "radius must be more than 0"),
        ("palm_center", {"force_n": 0}, "force must be a finite number of newtons above 0"),
        ("palm_center", {"force_n": -5}, "force must be a finite number of newtons above 0"),
        ("palm_center", {"force_n": np.inf}, "force must be a finite number of newtons above 0"),
        ("palm_center", {"force_n": np.nan}, "force must be a finite number of newtons above 0"),
        ("palm_center", {"force_n": "x"}, "force must be a number of newtons"),
    ],
)
def test_bad_input(fixture_atlas, where, kwargs, message):
    pattern = re.escape(message)
    with pytest.raises((ValueError, UnknownNameError), match=pattern):
        fixture_atlas.press(where, **kwargs)


def test_press_many_and_safety_map(fixture_atlas):
    pts = np.array([[0, -20, 20], [-20, 30, 20], [-36, 30, 20], [30, 40, 20.0], [0, 0, 20]])
    batch = fixture_atlas.press_many(pts, np.tile([0, 0, 1.0], (5, 1)), grade="firm")
    assert [VERDICTS[v] for v in batch.verdict] == ["caution", "safe", "caution", "safe", "avoid"]
    assert batch.shielded[1, batch.ids.index("ulnar_artery")]
    nerve = batch.ids.index("median_nerve")
    assert batch.pinned[4, nerve] and not batch.pinned[0, nerve]
    single = fixture_atlas.press([0, -20, 20], grade="firm")
    assert batch.stress[0, batch.ids.index("median_nerve")] == pytest.approx(single.at_risk[0].stress_kpa)
    forced = fixture_atlas.press_many(pts, np.tile([0, 0, 1.0], (5, 1)), grade="light", force_n=40.0)
    np.testing.assert_array_equal(forced.verdict, batch.verdict)
    codes = fixture_atlas.safety_map(grade="firm")
    assert codes.shape == (len(fixture_atlas.skin.vertices),)
    assert set(np.unique(codes)) <= {SAFE, CAUTION, AVOID}
    assert (codes == AVOID).any() and (codes == SAFE).any()
    np.testing.assert_array_equal(fixture_atlas.safety_map(grade="moderate", force_n=40.0), codes)
    shares = verdict_shares(fixture_atlas, codes)
    assert set(shares) == set(VERDICTS) and sum(shares.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="force must be"):
        fixture_atlas.safety_map(force_n=-1)


def test_stroke(fixture_atlas):
    report = fixture_atlas.stroke([[-30, 0, 20], [0, 0, 20], [14, 0, 20]], grade="firm")
    assert report.verdict == "avoid" and report.structures == ("median_nerve",)
    assert report.arc_mm[-1] == pytest.approx(44.0)
    start, end = report.riskiest
    assert start < 30 < end and end - start < 30  # over the nerve on the capitate (x = 0 at 30 mm)
    assert "Avoid firm pressure" in report.message
    forced = fixture_atlas.stroke([[-30, 0, 20], [0, 0, 20], [14, 0, 20]], grade="firm", force_n=2.0)
    assert forced.verdict == "safe" and "2 N" in forced.message
    with pytest.raises(ValueError, match="at least two points"):
        fixture_atlas.stroke([[0, 0, 20]])
