"""The 3D view in the browser: keys typed in inputs never reach it, messages never move it, and
the view and reset buttons are there in every mode."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from handatlas.ui.state import MODES

pytestmark = pytest.mark.browser


def probe(hand) -> dict:
    return hand.scene.evaluate("(el) => el.probe()")


def test_typing_in_the_search_leaves_the_view_as_it_was(hand):
    page = hand.page
    before, picture = probe(hand), hand.canvas_image()
    box = page.locator(".search input")
    box.click()
    box.press_sequentially("median nerve", delay=15)  # "v" once made points, "r" reset the camera
    box.press_sequentially(" wsr", delay=15)
    page.wait_for_timeout(300)
    after = probe(hand)
    assert after == before, (before, after)
    assert after["representations"] == [2]  # every mesh drawn as a surface (vtk.js: 2 = SURFACE)
    assert np.array_equal(hand.canvas_image(), picture), "the picture changed while typing"
    expect(box).to_have_value("median nerve wsr")
    hand.assert_clean()


def test_shortcuts_work_when_the_canvas_has_the_focus(hand):
    page = hand.page
    canvas = page.locator("canvas")
    canvas.focus()
    page.keyboard.press("w")
    hand.wait_until(lambda: probe(hand)["representations"] == [1], "wireframe (1) from the canvas's own w")
    page.keyboard.press("s")
    hand.wait_until(lambda: probe(hand)["representations"] == [2], "surfaces again")
    hand.assert_clean()


def test_a_click_picks_without_moving_the_view_and_a_drag_turns_it_without_picking(hand):
    """A click once started vtk.js's trackball: the view was drawn again at press and at release
    (0.2-0.3 s each in a software renderer), just as the click's verdict arrived."""
    page, app = hand.page, hand.app
    box = page.locator("canvas").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = probe(hand)
    moves = hand.scene.get_attribute("data-moves")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 1.5, y + 1, steps=2)  # a hand's tremor is still a click
    before_click = app.last_click
    page.mouse.up()
    hand.wait_until(lambda: app.last_click is not before_click and app.last_click, "the click to reach it")
    page.wait_for_timeout(300)
    assert probe(hand) == before
    assert hand.scene.get_attribute("data-moves") == moves, "a click started the view moving"
    seq = app.scene.pick.get("seq")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 80, y + 10, steps=8)
    page.mouse.up()
    hand.wait_until(lambda: probe(hand)["position"] != before["position"], "the drag to turn the hand")
    page.wait_for_timeout(300)
    assert app.scene.pick.get("seq") == seq, "a drag picked"
    assert int(hand.scene.get_attribute("data-moves") or 0) == int(moves or 0) + 1
    hand.assert_clean()


def test_a_message_never_moves_the_hand(hand):
    page = hand.page
    canvas = page.locator("canvas")
    before = canvas.bounding_box()
    box = canvas.bounding_box()
    hand.click_at(box["x"] + 8, box["y"] + 8)  # the white corner: misses the hand
    message = page.locator(".message")
    expect(message).to_be_visible()
    expect(message).to_contain_text("Nothing shown lies under that point")
    page.wait_for_timeout(200)
    assert canvas.bounding_box() == before
    again = hand.click_at(box["x"] + 8, box["y"] + 8)  # under the banner: the click still reaches the view
    assert again["result"] is None
    hand.assert_clean()


def test_view_and_reset_buttons_in_every_mode(hand):
    page = hand.page
    app = hand.app
    for mode in MODES:
        hand.set_mode(mode)
        dorsal = page.locator(".view-dorsal button")
        expect(dorsal).to_be_visible()
        dorsal.click()
        hand.wait_until(lambda: app.scene.view.get("name") == "dorsal", f"the dorsal view in {mode}")
        page.locator(".view-reset button").click()
        hand.wait_until(lambda: app.scene.view.get("name") == "palmar", f"reset to palmar in {mode}")
    hand.assert_clean()


def test_a_picked_structure_is_labelled_where_it_was_clicked(hand, atlas, eye):
    from .browser_helpers import find_target

    state = hand.app.state
    hand.page.locator(".layer-skin input[type=checkbox]").uncheck()
    hand.wait_until(lambda: not state.visible["skin"], "the skin hidden")
    target = find_target(atlas, eye, state.visible_ids(), lambda s: s.startswith("metacarpal"))
    x, y = hand.world_to_client(target.point)
    click = hand.click_at(x, y)
    assert click["result"] == target.first
    pin, card = hand.page.locator(".hand-pin"), hand.page.locator(".hand-pin-card")
    expect(card).to_be_visible()
    name = atlas.structures[target.first].name
    expect(pin.locator(".hand-pin-card")).to_contain_text(name)
    expect(pin.locator(".hand-pin-card")).to_contain_text("bone")
    px, py = (float(pin.get_attribute(f"data-{k}")) for k in "xy")
    assert abs(px - x) < 4 and abs(py - y) < 4, ((px, py), (x, y))
    hand.page.locator(".view-dorsal button").click()  # turned away: the pin follows (or hides)
    moved = lambda: pin.get_attribute("data-x") != f"{px}" or not card.is_visible()  # noqa: E731
    hand.wait_until(moved, "the pin to follow the hand")
    hand.set_mode("quiz")  # a label never follows into a quiz
    expect(card).to_be_hidden()
    hand.assert_clean()


def test_a_press_is_labelled_with_its_verdict_in_words(hand, atlas):
    hand.set_mode("press")
    hand.page.locator(".press-grade button", has_text="Firm").click()
    hand.wait_until(lambda: hand.app.state.grade == "firm", "grade firm")
    hand.click_world(atlas.landmark("radial_pulse").point)
    card = hand.page.locator(".hand-pin-card")
    expect(card).to_contain_text("AVOID — firm press")
    expect(card).to_contain_text(atlas.structures["radial_artery"].name)
    hand.assert_clean()


def test_a_label_stays_inside_the_view_on_a_phone(narrow_hand, atlas):
    """At 390 px a press's 240 px card went left of the radial pulse and off the view's edge."""
    hand = narrow_hand
    hand.set_mode("press")
    for landmark in ("radial_pulse", "guyons_canal", "thenar_eminence"):
        hand.click_world(atlas.landmark(landmark).point)
        card = hand.page.locator(".hand-pin-card")
        expect(card).to_be_visible()
        box, view = card.bounding_box(), hand.page.locator("div[data-ready].hand-scene").bounding_box()
        assert view["x"] - 1 <= box["x"] and box["x"] + box["width"] <= view["x"] + view["width"] + 1, (
            landmark, box, view)
    hand.assert_clean()
