"""Pressure queries on the fixture atlas, where every answer can be worked out by hand.

Fixture (tests/conftest.py): skin box with its palmar face at z = 20; the median nerve along y at
x = 0, z = 10 (r 1.7); the radial artery at x = 25, z = 15 (r 1.4) for y <= 0; a bone plate at
z 5..8 over x -32..-5, y 15..45 with the ulnar artery under it (y = 30, z = 3, r 1).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from handatlas import UnknownNameError
from handatlas.lookup.grades import AVOID, CAUTION, SAFE, VERDICTS


def test_press_straight_above_a_nerve(fixture_atlas):
    report = fixture_atlas.press([0, -20, 20], grade="moderate", radius_mm=8)
    nerve = {r.id: r for r in report.at_risk}["median_nerve"]
    # contact at z = 20; nerve surface at z = 10 + 1.7
    assert nerve.distance_mm == pytest.approx(20 - 11.7, abs=1e-6)
    # the pad's lowest point reaches z = 11.7 after sinking 8.3 mm
    assert nerve.depth_mm == pytest.approx(8.3, abs=1e-6)
    assert report.verdict == "avoid" and report.depth_limit_mm == 10.0
    np.testing.assert_allclose(report.direction, [0, 0, -1], atol=1e-6)
    assert "median nerve lies 8 mm beneath" in report.message


def test_press_beside_a_nerve_reaches_it_with_the_pad_edge(fixture_atlas):
    # 6 mm to the side: the pad (r 8) touches the nerve (r 1.7) when its centre is 9.7 mm away
    report = fixture_atlas.press([6, -20, 20], grade="firm", radius_mm=8)
    nerve = {r.id: r for r in report.at_risk}["median_nerve"]
    centre_z = 10 + np.sqrt(9.7**2 - 6**2)
    assert nerve.depth_mm == pytest.approx(28 - centre_z, abs=1e-6)
    assert nerve.distance_mm == pytest.approx(np.hypot(6, 10) - 1.7, abs=1e-6)


def test_grades(fixture_atlas):
    verdicts = {g: fixture_atlas.press([0, -20, 20], grade=g).verdict for g in ("light", "moderate", "firm")}
    assert verdicts == {"light": "safe", "moderate": "avoid", "firm": "avoid"}
    light = fixture_atlas.press([0, -20, 20], grade="light")
    assert "median nerve" in light.message and "reached 8 mm deep" in light.message


def test_bone_shields(fixture_atlas):
    shielded = fixture_atlas.press([-20, 30, 20], grade="firm")
    assert shielded.verdict == "safe"
    assert [s.id for s in shielded.shielded] == ["ulnar_artery"]
    assert shielded.shielded[0].depth_mm == pytest.approx(28 - (3 + 1 + 8), abs=1e-6)
    assert "behind the hamate" in shielded.message
    open_ = fixture_atlas.press([-36, 30, 20], grade="firm")  # beside the plate: nothing shields
    assert open_.verdict == "avoid" and [a.id for a in open_.at_risk] == ["ulnar_artery"]


def test_layer_stack(fixture_atlas):
    report = fixture_atlas.press([-20, 30, 20], grade="firm")
    layers = {layer.id: (layer.entry_mm, layer.exit_mm) for layer in report.layers}
    assert layers["skin"] == pytest.approx((0.0, 40.0), abs=1e-6)
    assert layers["hamate"] == pytest.approx((12.0, 15.0), abs=1e-6)
    assert layers["ulnar_artery"][0] == pytest.approx(16.0, abs=0.05)  # polygonal tube: 16 + r(1 - cos)
    assert [layer.id for layer in report.layers] == ["skin", "hamate", "ulnar_artery"]


def test_report_json(fixture_atlas):
    data = json.loads(json.dumps(fixture_atlas.press("radial_pulse", grade="firm").as_dict()))
    assert set(data) >= {"point", "normal", "direction", "radius_mm", "grade", "depth_limit_mm", "landmark",
                         "territory", "verdict", "at_risk", "layers", "message"}
    assert data["landmark"] == "radial_pulse" and data["territory"] == "radial"
    assert data["at_risk"][0] == {"id": "radial_artery", "name": "Radial artery", "tissue": "artery",
                                  "risk": "high", "distance_mm": 3.6, "depth_mm": 3.6}


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
    ],
)
def test_bad_input(fixture_atlas, where, kwargs, message):
    pattern = re.escape(message)
    with pytest.raises((ValueError, UnknownNameError), match=pattern):
        fixture_atlas.press(where, **kwargs)


def test_press_many_and_safety_map(fixture_atlas):
    pts = np.array([[0, -20, 20], [-20, 30, 20], [-36, 30, 20], [30, 40, 20.0]])
    batch = fixture_atlas.press_many(pts, np.tile([0, 0, 1.0], (4, 1)), grade="firm")
    assert [VERDICTS[v] for v in batch.verdict] == ["avoid", "safe", "avoid", "safe"]
    assert batch.shielded[1, batch.ids.index("ulnar_artery")]
    codes = fixture_atlas.safety_map(grade="firm")
    assert codes.shape == (len(fixture_atlas.skin.vertices),)
    assert set(np.unique(codes)) <= {SAFE, CAUTION, AVOID}
    assert (codes == AVOID).any() and (codes == SAFE).any()


def test_stroke(fixture_atlas):
    report = fixture_atlas.stroke([[-30, -20, 20], [0, -20, 20], [14, -20, 20]], grade="moderate")
    assert report.verdict == "avoid" and report.structures == ("median_nerve",)
    assert report.arc_mm[-1] == pytest.approx(44.0)
    start, end = report.riskiest
    assert start < 30 < end and end - start < 30  # the stretch over the nerve (x = 0 at 30 mm)
    with pytest.raises(ValueError, match="at least two points"):
        fixture_atlas.stroke([[0, 0, 20]])
