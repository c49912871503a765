"""Phones and accessibility in the browser (issue 11, stage 3).

- axe-core finds no serious or critical violation in any mode, on a desktop and on a phone;
- on a phone the page scrolls (a swipe outside the view scrolls, inside it turns the hand),
  every control is reachable and at least 44 px high, the quiz question included;
- the keyboard focus ring is drawn and has at least 3:1 contrast;
- every mode can be reached and worked with the keyboard alone, a locate question answered by
  moving a probe with the arrow keys (the probe shows nothing of the answer).
"""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect
from ui_quizzes import LOCATE_QUIZ, write_quiz

from handatlas.ui.theme import FOCUS_HEX, TOUCH_PX

from .browser_helpers import (
    CONTROLS_JS,
    axe_serious,
    contrast,
    css_rgb,
    image,
    sign_in,
    tab_to,
)
from .conftest import INSTRUCTOR, open_hand

pytestmark = pytest.mark.browser

MODE_NAMES = ("Explore", "Press", "Quiz", "Drill", "Author")


def enter_mode(hand, mode: str) -> None:
    """Switch to ``mode`` and bring it to the state a learner would check: a question shown,
    a drill started, an instructor signed in."""
    page = hand.page
    page.evaluate("() => scrollTo(0, 0)")  # the mode buttons are at the top of the page
    hand.set_mode(mode.lower())
    if mode == "Quiz":
        page.locator(".quiz-start button").click()
        hand.wait_until(lambda: hand.app.quiz.question.shown is not None, "a quiz question")
    elif mode == "Drill":
        page.locator(".drill-learner input").fill("ada")
        page.locator(".drill-code input").fill("ada-1815")
        page.locator(".drill-start button").click()
        hand.wait_until(lambda: hand.app.drill.question.shown is not None, "a drill question")
    elif mode == "Author":  # a student's page: the link to the sign-in page
        expect(page.locator("a.author-sign-in")).to_be_visible()


def signed_in_author(hand):
    """The page reopened signed in as the instructor, in Author mode (a new :class:`Hand`)."""
    sign_in(hand.page, hand.served.url, *INSTRUCTOR)
    again = open_hand(hand.page, hand.served)
    assert again.app.author.user == INSTRUCTOR[0]
    again.set_mode("author")
    expect(again.page.locator(".author-save")).to_be_visible()
    return again


def axe_every_mode(hand) -> dict[str, list[dict]]:
    """axe's serious findings per mode, on the sign-in page and on the instructor's Author mode."""
    found = {}
    for mode in MODE_NAMES:
        enter_mode(hand, mode)
        found[mode] = axe_serious(hand.page)
    hand.page.goto(hand.served.url + "login")
    expect(hand.page.locator("#username")).to_be_visible()
    found["sign-in page"] = axe_serious(hand.page)
    author = signed_in_author(hand)
    found["Author, signed in"] = axe_serious(author.page)
    author.assert_clean()
    return found


# ----------------------------------------------------------------------------- axe
@pytest.mark.parametrize("narrow_hand", [pytest.param(True, id="phone")], indirect=True)
def test_axe_finds_nothing_serious_on_a_phone(narrow_hand):
    found = axe_every_mode(narrow_hand)
    assert len(found) == len(MODE_NAMES) + 2
    assert {where: v for where, v in found.items() if v} == {}


def test_axe_finds_nothing_serious_on_a_desktop(hand):
    found = axe_every_mode(hand)
    assert len(found) == len(MODE_NAMES) + 2
    assert {where: v for where, v in found.items() if v} == {}


# ----------------------------------------------------------------------------- phone
def swipe(page, x: float, y: float, *, dy: float, steps: int = 10) -> None:
    """A finger put down at (x, y) and dragged by ``dy`` px (real touch events, through CDP)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for k in range(1, steps + 1):
        point = {"x": x, "y": y + dy * k / steps}
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


#: What is under a point of the page, through the shadow roots Panel draws in.
UNDER_JS = """([x, y]) => {
  let el = document.elementFromPoint(x, y);
  while (el && el.shadowRoot) {
    const inner = el.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === el) break;
    el = inner;
  }
  return el ? el.tagName : null;
}"""


@pytest.mark.parametrize("narrow_hand", [pytest.param(True, id="phone")], indirect=True)
def test_the_view_buttons_leave_the_fingertips_to_the_finger(narrow_hand):
    """On a phone the view and reset buttons float over the view without covering the hand's
    fingertips (a tap there pressed a view button): every fingertip landmark of the opening view
    is under the canvas, and every view button is still in sight."""
    hand = narrow_hand
    page = hand.page
    page.evaluate("() => scrollTo(0, 0)")
    tips = [lm for lm in hand.app.atlas.landmarks if lm.endswith("distal_phalanx_palmar")]
    assert len(tips) == 5
    for lm in tips:
        x, y = hand.world_to_client(hand.app.atlas.landmark(lm).point)
        assert page.evaluate(UNDER_JS, [x, y]) == "CANVAS", lm
    buttons = page.locator(".view-bar button")
    assert buttons.count() >= 5
    for k in range(buttons.count()):
        expect(buttons.nth(k)).to_be_in_viewport()
    # the safety map's legend and a message float over the view above them, not on them
    hand.set_mode("press")
    hand.app.state.safety_grade = "firm"
    legend = page.locator(".safety-legend")
    expect(legend).to_be_visible()
    page.evaluate("() => scrollTo(0, 0)")
    shown, bar = legend.bounding_box(), page.locator(".view-bar").bounding_box()
    assert shown["y"] + shown["height"] <= bar["y"] + 1, (shown, bar)
    hand.app.state.safety_grade = ""
    hand.set_mode("explore")
    box = page.locator(".search input")
    box.fill("zzqqxx")
    box.press("Enter")
    page.evaluate("() => scrollTo(0, 0)")
    message = page.locator(".message")
    expect(message).to_be_visible()
    shown, bar = message.bounding_box(), page.locator(".view-bar").bounding_box()
    assert shown["y"] + shown["height"] <= bar["y"] + 1, (shown, bar)


@pytest.mark.parametrize("narrow_hand", [pytest.param(True, id="phone")], indirect=True)
def test_phone_page_scrolls_outside_the_view_and_turns_the_hand_inside(narrow_hand):
    hand = narrow_hand
    page = hand.page
    height = page.evaluate("() => innerHeight")
    assert page.evaluate("() => document.scrollingElement.scrollHeight") > height + 200
    box = page.locator("canvas").bounding_box()
    assert box["width"] >= 370, box  # the view is as wide as the phone
    assert box["height"] <= 0.7 * height, box  # and leaves room above or below it to swipe
    assert page.locator("canvas").evaluate("(c) => getComputedStyle(c).touchAction") == "none"
    # a finger dragged up inside the view turns the hand and leaves the page where it is ...
    camera = hand.scene.evaluate("(el) => el.probe().position")
    swipe(page, 195, box["y"] + 0.7 * box["height"], dy=-150)
    hand.wait_until(lambda: hand.scene.evaluate("(el) => el.probe().position") != camera,
                    "the hand to turn under a finger")
    assert page.evaluate("() => scrollY") == 0
    # ... and dragged up below the view it scrolls the page
    below = box["y"] + box["height"] + 0.5 * (height - box["y"] - box["height"])
    assert below < height - 20
    swipe(page, 195, below, dy=-150)
    hand.wait_until(lambda: page.evaluate("() => scrollY") > 50, "the page to scroll under a finger")
    hand.assert_clean()


def settle(page, done, *, timeout_ms: float = 20_000, every_ms: float = 300) -> bool:
    """Wait until ``done()`` holds, polling gently: Bokeh lays a mode's panel out in steps, in the
    page's own event loop, and a tight loop of measurements from the test would only slow it."""
    for _ in range(int(timeout_ms / every_ms)):
        if done():
            return True
        page.wait_for_timeout(every_ms)
    return done()


def off_page(page) -> list[dict]:
    """The controls that lie (partly) outside the page's scrollable area."""
    width = page.evaluate("() => innerWidth")
    height = page.evaluate("() => document.scrollingElement.scrollHeight")
    return [c for c in page.evaluate(CONTROLS_JS)
            if c["left"] < -1 or c["left"] + c["width"] > width + 1 or c["top"] + c["height"] > height + 1]


def laid_out(page) -> bool:
    """Whether the page has finished laying out a mode: every control on the page, and the controls
    and the page's height the same 300 ms apart.  Bokeh lays a new mode out in steps: a check made
    when no control was off the page could pass before the layer rows were drawn, and the next
    measurement find them below a page not yet grown (one run in three, before this waited)."""
    def shape() -> tuple:
        return (page.evaluate("() => document.scrollingElement.scrollHeight"),
                [(c["text"], c["top"], c["height"]) for c in page.evaluate(CONTROLS_JS)])

    before = shape()
    page.wait_for_timeout(300)
    return before == shape() and not off_page(page)


@pytest.mark.parametrize("narrow_hand", [pytest.param(True, id="phone")], indirect=True)
def test_phone_every_control_is_reachable_and_finger_sized(narrow_hand):
    hand = narrow_hand
    page = hand.page
    for mode in MODE_NAMES:
        enter_mode(hand, mode)
        settle(page, lambda: laid_out(page))  # the assertion below names the controls left off
        controls = page.evaluate(CONTROLS_JS)
        assert len(controls) > 15, controls
        outside = off_page(page)
        small = [c for c in controls if c["height"] < TOUCH_PX - 0.5 or c["width"] < TOUCH_PX - 0.5]
        assert outside == [], f"{mode}: controls off the page: {outside}"
        assert small == [], f"{mode}: controls smaller than {TOUCH_PX} px: {small}"
        for name in ("Palmar", "Reset"):  # the view buttons float on the view in every mode
            assert page.locator(".stage .view-bar button", has_text=name).is_visible()
    # the quiz question (started above) is reachable: scrolled to, it is on screen
    page.evaluate("() => scrollTo(0, 0)")
    hand.set_mode("quiz")
    prompt = page.locator(".q-prompt >> visible=true")
    prompt.scroll_into_view_if_needed()
    expect(prompt).to_be_in_viewport()
    # the layer tree keeps its names and tick boxes at 390 px
    for group in ("skin", "bones", "nerves"):
        row = page.locator(f".layer-{group} label")
        row.scroll_into_view_if_needed()
        expect(row).to_be_in_viewport()
        assert row.inner_text().strip() == hand.app.atlas.structures[group].name
    hand.assert_clean()


# ----------------------------------------------------------------------------- focus
def test_focus_ring_is_visible_with_3_to_1_contrast(hand):
    page = hand.page
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Press", "the Press mode button")
    style = page.evaluate("""() => {
      let el = document.activeElement;
      while (el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
      const s = getComputedStyle(el), r = el.getBoundingClientRect();
      return { color: s.outlineColor, style: s.outlineStyle, width: parseFloat(s.outlineWidth),
               offset: parseFloat(s.outlineOffset), box: [r.left, r.top, r.width, r.height] };
    }""")
    assert style["style"] == "solid" and style["width"] >= 2, style
    ring = css_rgb(style["color"])
    assert contrast(ring, (255, 255, 255)) >= 3.0  # against the page around it
    # the ring is really drawn: its colour is in the pixels just outside the button
    x, y, w, h = style["box"]
    pad = style["offset"] + style["width"] + 2
    clip = {"x": x - pad, "y": y - pad, "width": w + 2 * pad, "height": h + 2 * pad}
    shot = image(page.screenshot(clip=clip))
    want = np.array([int(FOCUS_HEX[i:i + 2], 16) for i in (1, 3, 5)])
    assert np.all(np.abs(ring - want) < 2), (ring, FOCUS_HEX)
    ring_pixels = int((np.abs(shot.astype(int) - want).sum(-1) < 40).sum())
    assert ring_pixels > 2 * (w + h), ring_pixels
    hand.assert_clean()


# ----------------------------------------------------------------------------- keyboard
def is_button(text: str):
    return lambda f: f["tag"] == "button" and f["text"] == text


def mode_by_keyboard(hand, name: str, panel: str) -> None:
    """Tab to the mode button ``name``, press Enter, and wait until the server is in that mode
    and the browser shows the mode's panel (``panel``, a CSS selector)."""
    tab_to(hand.page, is_button(name), f"the {name} mode button")
    hand.page.keyboard.press("Enter")
    hand.wait_until(lambda: hand.app.state.mode == name.lower(), f"{name} mode")
    expect(hand.page.locator(panel)).to_be_visible()


def has_class(cls: str, tag: str = "input"):
    return lambda f: f["tag"] == tag and cls in f["hosts"].split()


# Known intermittent (2 of about 10 whole-suite runs, never alone in 12 runs): in the Drill step Tab
# went round one input and nothing for 60 s, as if the rest of the page were inert; not understood
# yet. A second run must pass.
@pytest.mark.flaky(reruns=1)
def test_every_mode_works_from_the_keyboard(hand):
    page, app = hand.page, hand.app
    # Explore: search by typing, then pick with the probe
    tab_to(page, has_class("search"), "the search box")
    page.keyboard.type("median nerve")
    page.keyboard.press("Enter")
    hand.wait_until(lambda: app.state.selected == "median_nerve", "the search to select the median nerve")
    tab_to(page, lambda f: f["tag"] == "canvas", "the 3D view")
    before = app.last_click
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    hand.wait_until(lambda: app.last_click is not before, "a pick at the probe")
    # Press: mode button, then press the skin at the probe
    mode_by_keyboard(hand, "Press", ".press-controls")
    tab_to(page, lambda f: f["tag"] == "canvas", "the 3D view")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    hand.wait_until(lambda: app.state.report is not None, "a press at the probe")
    tab_to(page, lambda f: f["tag"] == "input" and f["label"] == "Contact radius (mm)", "the radius")
    page.keyboard.press("End")
    hand.wait_until(lambda: app.state.radius_mm == 20.0, "the radius at its largest")
    # Quiz: start and skip a question
    mode_by_keyboard(hand, "Quiz", ".quiz-start button")
    tab_to(page, is_button("Start quiz"), "Start quiz")
    page.keyboard.press("Enter")
    hand.wait_until(lambda: app.quiz.question.shown is not None, "the first question")
    tab_to(page, is_button("Skip"), "Skip")
    page.keyboard.press("Enter")
    hand.wait_until(lambda: app.quiz.question.feedback is not None, "the feedback")
    # Drill: type a name and a code, start
    mode_by_keyboard(hand, "Drill", ".drill-start button")
    tab_to(page, has_class("drill-learner"), "the name box")
    page.keyboard.type("kim")
    tab_to(page, has_class("drill-code"), "the code box")
    page.keyboard.type("kim-4821")
    tab_to(page, is_button("Start drill"), "Start drill")
    page.keyboard.press("Enter")
    hand.wait_until(lambda: app.drill.question.shown is not None, "the first drill question")
    # Author: follow the sign-in link, sign in on that page, back to the app signed in
    mode_by_keyboard(hand, "Author", "a.author-sign-in")
    hand.assert_clean()
    tab_to(page, lambda f: f["tag"] == "a" and f["text"] == "sign in", "the sign-in link")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Instructor sign-in")
    sessions = len(hand.served.instances)
    tab_to(page, lambda f: f["tag"] == "input" and f["type"] == "text", "the name box")
    page.keyboard.type(INSTRUCTOR[0])
    tab_to(page, lambda f: f["tag"] == "input" and f["type"] == "password", "the password box")
    page.keyboard.type(INSTRUCTOR[1])
    page.keyboard.press("Enter")  # submits the form
    hand.wait_until(lambda: len(hand.served.instances) > sessions
                    and hand.served.instances[-1].author.user == INSTRUCTOR[0],
                    "the page reopened signed in as the instructor")


def probe_at(hand) -> tuple[float, float]:
    x, y = hand.scene.get_attribute("data-probe").split(",")
    return float(x), float(y)


def test_locate_question_answered_with_the_arrow_keys_gives_nothing_away(page, served):
    write_quiz(served.quizzes, "one_locate.yaml", LOCATE_QUIZ)
    hand = open_hand(page, served)
    hand.set_mode("quiz")
    page.locator(".quiz-pick select").select_option(label="One locate")
    page.locator(".quiz-start button").click()
    expect(page.locator(".q-text")).to_contain_text("Click where you feel the radial pulse")
    app = hand.app
    scene_before = {k: getattr(app.scene, k) for k in ("highlight", "markers", "extra", "label", "overlay")}
    click_before = app.last_click
    page.locator("canvas").focus()
    page.keyboard.press("ArrowUp")  # the probe appears in the middle of the view
    probe = page.locator(".hand-probe")
    expect(probe).to_be_visible()
    look = probe.evaluate("(p) => p.style.cssText.replace(/transform:[^;]*;?/, '')")
    tx, ty = hand.world_to_client(app.atlas.landmark("radial_pulse").point)
    for step, shift in ((12, False), (3, True)):  # coarse steps, then fine ones
        x, y = probe_at(hand)
        for key, n in (("ArrowRight" if tx > x else "ArrowLeft", round(abs(tx - x) / step)),
                       ("ArrowDown" if ty > y else "ArrowUp", round(abs(ty - y) / step))):
            for _ in range(n):
                page.keyboard.press(f"Shift+{key}" if shift else key)
    x, y = probe_at(hand)
    assert abs(x - tx) <= 2 and abs(y - ty) <= 2, ((x, y), (tx, ty))
    # moving the probe sent nothing and changed nothing: it looks the same over the answer
    assert app.last_click is click_before
    assert {k: getattr(app.scene, k) for k in scene_before} == scene_before
    assert probe.evaluate("(p) => p.style.cssText.replace(/transform:[^;]*;?/, '')") == look
    assert app.quiz.question.feedback is None
    page.keyboard.press("Enter")
    click = hand.wait_until(lambda: app.last_click is not click_before and app.last_click, "the answer")
    assert click["mode"] == "quiz" and click["result"] == "right"
    expect(page.locator(".q-result")).to_contain_text("Right")
    hand.assert_clean()
