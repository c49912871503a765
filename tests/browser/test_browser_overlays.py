"""Overlays in the browser follow their controls, and colours that mean something come with words.

- choosing the safety map light then firm changes the map's pixels (it once kept the light map);
- leaving Press mode takes the map off the hand and coming back puts it back;
- the map has a legend with the verdicts' words and symbols;
- a picked structure is magenta (no tissue is), and after a press question the artery at risk
  shows in the avoid colour, never in the "safe" green;
- while a quiz runs, the map and the Explore label are off the hand, and Press, search and
  naming by click give nothing in any mode; after the quiz they are back.
"""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from handatlas.ui.colours import SELECTED_RGB, VERDICT_RGB

from .browser_helpers import greenish

pytestmark = pytest.mark.browser


def choose_map(hand, grade: str) -> None:
    label = f"Safety map: {grade}" if grade else "No safety map"
    hand.page.locator(".safety-map select").select_option(label=label)
    shown = grade or None
    hand.wait_until(lambda: hand.app.state.overlay.get("grade") == shown, f"the {grade or 'no'} map")


def settled(hand, previous: np.ndarray | None = None, timeout: float = 15.0) -> np.ndarray:
    """A canvas picture once two in a row agree (and it differs from ``previous`` when given)."""
    last = hand.canvas_image()

    def same() -> list[np.ndarray]:
        nonlocal last
        hand.page.wait_for_timeout(250)
        now = hand.canvas_image()
        stable = np.array_equal(now, last) and (previous is None or not np.array_equal(now, previous))
        last = now
        return [now] if stable else []

    return hand.wait_until(same, "the picture to settle", timeout=timeout)[0]


def test_safety_map_light_then_firm_changes_the_picture(hand, atlas):
    hand.set_mode("press")
    choose_map(hand, "light")
    light = settled(hand)
    choose_map(hand, "firm")
    firm = settled(hand, previous=light)
    changed = float((np.abs(firm.astype(int) - light.astype(int)).sum(-1) > 40).mean())
    assert changed > 0.02, f"only {changed:.1%} of the pixels changed from light to firm"
    assert greenish(firm) < greenish(light), "firm is safe in fewer places than light"
    hand.assert_clean()


def test_the_map_leaves_with_press_mode_and_comes_back(hand):
    hand.set_mode("press")
    before = settled(hand)
    choose_map(hand, "moderate")
    coloured = settled(hand, previous=before)
    hand.set_mode("explore")
    hand.wait_until(lambda: hand.app.scene.overlay == {}, "the map off the hand in Explore")
    expect(hand.page.locator(".safety-legend")).to_be_hidden()
    assert greenish(settled(hand, previous=coloured)) < greenish(coloured) / 10
    hand.set_mode("press")
    hand.wait_until(lambda: hand.app.scene.overlay.get("grade") == "moderate", "the map back in Press")
    expect(hand.page.locator(".safety-map select")).to_have_value("Safety map: moderate")
    hand.assert_clean()


def test_a_running_quiz_turns_the_answering_tools_off(hand, atlas):
    page, app = hand.page, hand.app
    hand.set_mode("press")
    before = settled(hand)
    choose_map(hand, "firm")
    coloured = settled(hand, previous=before)
    hand.set_mode("quiz")
    page.locator(".quiz-pick select").select_option(label="Areas of caution of the hand and wrist")
    page.locator(".quiz-start button").click()
    hand.wait_until(lambda: app.quiz.question.shown is not None, "the first question")
    expect(page.locator(".quiz-end button")).to_be_visible()
    hand.set_mode("press")  # back to Press mid-quiz: no map, and a click presses nothing
    expect(page.locator(".exam-notice:visible")).to_contain_text("A quiz is running")
    assert app.scene.overlay == {}
    assert greenish(settled(hand, previous=coloured)) < greenish(coloured) / 10
    expect(page.locator(".safety-legend")).to_be_hidden()
    pulse = atlas.landmark("radial_pulse").point
    click = hand.click_world(pulse)
    assert click["mode"] == "press" and click["result"] is None and app.state.report is None
    expect(page.locator(".message")).to_contain_text("A quiz is running")
    hand.set_mode("explore")  # nor can the search name or frame anything: it is off
    expect(page.locator(".search input")).to_be_disabled()
    expect(page.locator(".search-go button")).to_be_disabled()
    assert app.scene.highlight == {} and app.scene.label == {}
    hand.set_mode("quiz")  # ending the quiz asks first, then the tools are back
    page.locator(".quiz-end button").click()
    expect(page.locator(".quiz-confirm-box")).to_contain_text("End the quiz now?")
    page.locator(".quiz-confirm button").click()
    expect(page.locator(".q-score")).to_contain_text("Score: 0 of 18")
    expect(page.locator(".q-review li")).to_have_count(18)
    hand.set_mode("press")
    hand.wait_until(lambda: app.scene.overlay.get("grade") == "firm", "the map back after the quiz")
    hand.assert_clean()


def test_the_safety_map_has_a_legend_with_words(hand):
    hand.set_mode("press")
    legend = hand.page.locator(".safety-legend")
    expect(legend).to_be_hidden()
    choose_map(hand, "firm")
    expect(legend).to_be_visible()
    for text in ("Safety map: firm press", "Safe", "Caution", "Avoid", "✓", "!", "✕", "%"):
        expect(legend).to_contain_text(text)
    choose_map(hand, "")
    expect(legend).to_be_hidden()
    hand.assert_clean()


def test_selection_colour_is_magenta_and_no_tissue_colour(hand, atlas):
    page = hand.page
    page.locator(".search input").fill("cephalic vein")
    page.locator(".search-go button").click()
    hand.wait_until(lambda: hand.app.scene.highlight == {"cephalic_vein": SELECTED_RGB}, "the vein selected")
    img = settled(hand)
    r, g, b = (img[..., k].astype(int) for k in range(3))
    magenta = int(((r > g + 80) & (b > g + 80)).sum())
    assert magenta > 200, "the picked vein is drawn magenta"
    hand.assert_clean()


def test_press_answer_shows_the_artery_in_the_avoid_colour(hand, atlas):
    app = hand.app
    quiz = app.quiz
    hand.set_mode("quiz")
    run = quiz.start("areas_of_caution")
    assert run is not None
    question = quiz.question
    while True:  # skip to the first press question with something at risk: its answer is shown
        assert question.shown is not None, "the quiz has a press question with structures at risk"
        press = question.shown.type == "press"
        feedback = question.skip()
        if press and feedback is not None and feedback.structures:
            break
        question.show()
    shown = hand.wait_until(lambda: app.scene.highlight, "the answer on the hand")
    assert set(shown) == set(feedback.structures)
    verdict_colours = [VERDICT_RGB["caution"], VERDICT_RGB["avoid"]]
    assert all(colour in verdict_colours for colour in shown.values()), "flagged: caution or avoid colour"
    arteries = [s for s in feedback.structures if atlas.structures[s].tissue == "artery"]
    assert all(shown[s] != VERDICT_RGB["safe"] for s in arteries), "an artery to avoid is never green"
    hand.assert_clean()
