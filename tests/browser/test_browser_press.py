"""Press mode in the browser: press at a point or a landmark, the safety map, a stroke."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from handatlas.ui.picking import cast

from .browser_helpers import greenish, reddish

pytestmark = pytest.mark.browser


def press_mode(hand, grade=None):
    hand.set_mode("press")
    if grade:
        hand.page.locator(".press-grade button", has_text=grade.capitalize()).click()
        hand.wait_until(lambda: hand.app.state.grade == grade, f"grade {grade}")


def test_firm_press_on_the_radial_pulse_is_avoid(hand, atlas):
    press_mode(hand, "firm")
    landmark = atlas.landmark("radial_pulse")
    click = hand.click_world(landmark.point)
    assert click["mode"] == "press" and click["result"] == "avoid", click
    report = hand.app.state.report
    assert np.linalg.norm(np.asarray(report["point"]) - landmark.point) < 2.0
    assert "radial_artery" in [a["id"] for a in report["at_risk"]]
    expect(hand.page.locator(".verdict")).to_contain_text("AVOID")
    at_risk = hand.page.locator(".press-result table.at-risk")
    expect(at_risk).to_contain_text(atlas.structures["radial_artery"].name)
    expect(at_risk.locator("td.level-avoid").first).to_contain_text("avoid")
    hand.assert_clean()


@pytest.mark.parametrize(("landmark", "label", "phrase"), [
    ("carpal_tunnel", "Carpal tunnel", "carpal tunnel"),
    ("palm_center", "Centre of the palm", "centre of the palm"),
    ("guyons_canal", "Guyon's canal", "Guyon's canal"),
])
def test_press_at_a_landmark_matches_the_atlas(hand, atlas, landmark, label, phrase):
    press_mode(hand)
    grade = hand.app.state.grade
    hand.page.locator(".press-landmark select").select_option(label=label)
    hand.wait_until(lambda: (hand.app.state.report or {}).get("landmark") == landmark, f"press at {landmark}")
    expected = atlas.press(landmark, grade=grade, radius_mm=hand.app.state.radius_mm)
    assert hand.app.state.report["verdict"] == expected.verdict
    expect(hand.page.locator(".verdict")).to_contain_text(f"{expected.verdict.upper()} at {phrase} — ")
    expect(hand.page.locator(".verdict")).to_contain_text(expected.message)
    assert hand.page.locator(".verdict").inner_text().lower().count(f"{grade} press") <= 1  # said once
    hand.assert_clean()


def test_safety_map_colours_the_skin(hand, atlas):
    press_mode(hand)
    before = hand.canvas_image()
    # moderate: about half of the skin safe and a fifth avoid, so both colours show from any view
    hand.page.locator(".safety-map select").select_option(label="Safety map: moderate")
    hand.wait_until(lambda: hand.app.state.overlay.get("codes") is not None, "the overlay")
    codes = np.asarray(hand.app.state.overlay["codes"])
    assert np.array_equal(codes, atlas.safety_map(grade="moderate", radius_mm=hand.app.state.radius_mm))
    # the browser draws it a moment later
    def coloured() -> bool:
        img = hand.canvas_image()
        return greenish(img) > 20 * max(greenish(before), 50) and reddish(img) > reddish(before) + 2000

    hand.wait_until(coloured, "green and red skin in the picture", timeout=10)
    hand.assert_clean()


def test_stroke_across_the_wrist(hand, atlas, eye):
    press_mode(hand)
    hand.page.locator(".press-tool button", has_text="Draw a stroke").click()
    hand.wait_until(lambda: hand.app.state.tool == "stroke", "the stroke tool")
    wrist_y = atlas.landmark("distal_wrist_crease").point[1] - 10.0
    points = []
    for x in (-15.0, 0.0, 15.0):
        d = np.array([x, wrist_y, 0.0]) - eye
        hit = cast(atlas, eye, d / np.linalg.norm(d), {"skin"})
        assert hit is not None
        points.append(hit.point)
    for k, p in enumerate(points, 1):
        click = hand.click_world(p)
        assert click["result"] == "stroke"
        assert len(hand.app.state.stroke) == k
    assert np.allclose(hand.app.state.stroke, points, atol=2.0)
    hand.page.locator(".stroke-check button").click()
    report = hand.wait_until(lambda: hand.app.state.stroke_report, "the stroke report")
    expected = atlas.stroke(hand.app.state.stroke, grade=hand.app.state.grade)
    assert report["verdict"] == expected.verdict
    expect(hand.page.locator(".verdict")).to_contain_text(f"Stroke: {expected.verdict.upper()}")
    hand.assert_clean()
