"""Search in the browser: clickable suggestions by display name over structures, regions and landmarks."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def final_suggestions(hand, text: str) -> None:
    """Wait until the page shows the suggestions for all of ``text`` (the server answers each
    letter typed; a click on an earlier list's button could land as it is replaced)."""
    labels = [found.label for found in hand.app.state.find(text)]
    assert labels, text
    expect(hand.page.locator(".suggestion button")).to_have_text(labels)


def test_snuffbox_is_found_and_marked(hand, atlas):
    page, app = hand.page, hand.app
    box = page.locator(".search input")
    box.press_sequentially("snuffbox", delay=20)
    final_suggestions(hand, "snuffbox")
    suggestion = page.locator(".suggestion button", has_text="Anatomical snuffbox")
    expect(suggestion).to_be_visible()
    expect(suggestion).to_contain_text("landmark")
    labels = page.locator(".suggestion button").all_inner_texts()
    assert labels and all("_" not in text for text in labels), labels
    suggestion.click()
    point = atlas.landmark("anatomical_snuffbox").point
    hand.wait_until(lambda: app.scene.markers and np.allclose(app.scene.markers[0]["xyz"], point),
                    "the landmark marked")
    assert app.state.landmark == "anatomical_snuffbox"
    hand.wait_until(lambda: app.scene.focus.get("bounds"), "the camera framing the landmark")
    ident = page.locator(".identification")
    expect(ident).to_contain_text("Anatomical snuffbox")
    expect(ident).to_contain_text(atlas.landmark("anatomical_snuffbox").description[:40])
    expect(page.locator(".suggestion button")).to_have_count(0)
    hand.assert_clean()


def test_a_typo_still_finds_the_structure(hand):
    page, app = hand.page, hand.app
    page.locator(".search input").press_sequentially("median nrve", delay=20)
    final_suggestions(hand, "median nrve")
    suggestion = page.locator(".suggestion button").first
    expect(suggestion).to_contain_text("Median nerve")
    suggestion.click()
    hand.wait_until(lambda: app.state.selected == "median_nerve", "the median nerve selected")
    expect(page.locator(".identification")).to_contain_text("Median nerve")
    hand.assert_clean()


def test_what_is_typed_is_shown_as_text_never_run(hand):
    """Text typed in the search comes back in the message as typed: no tag in it is made, no script
    in it runs, no Markdown link is drawn."""
    page = hand.page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    typed = '<img src=x onerror="alert(document.domain)"> [log in again](https://evil.example/)'
    box = page.locator(".search input")
    box.fill(typed)
    box.press("Enter")
    message = page.locator(".message")
    expect(message).to_contain_text('<img src=x onerror="alert(document.domain)">')
    expect(message).to_contain_text("[log in again](https://evil.example/)")
    assert message.locator("img, a").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []
    hand.assert_clean()


def test_enter_chooses_the_best_match(hand):
    page, app = hand.page, hand.app
    box = page.locator(".search input")
    box.press_sequentially("carpal bones", delay=20)
    box.press("Enter")
    carpals = set(app.atlas.with_geometry("carpals"))
    hand.wait_until(lambda: set(app.scene.highlight) == carpals, "the carpal bones highlighted")
    assert app.state.selected == "carpals"
    hand.assert_clean()


def test_the_search_is_off_and_suggests_nothing_while_a_quiz_runs(hand):
    """The notice said searching was off during a quiz, yet the box still listed "Median nerve ·
    structure" and its kin as the learner typed: a suggestion list answers a question."""
    page, app = hand.page, hand.app
    box = page.locator(".search input")
    box.press_sequentially("median", delay=20)
    final_suggestions(hand, "median")
    hand.set_mode("quiz")
    page.locator(".quiz-start button").click()
    hand.wait_until(lambda: app.quiz.question.shown is not None, "the first question")
    hand.set_mode("explore")
    expect(page.locator(".suggestion button")).to_have_count(0)
    expect(box).to_be_disabled()
    expect(page.locator(".search-go button")).to_be_disabled()
    hand.set_mode("quiz")
    app.quiz.end(confirmed=True)
    hand.set_mode("explore")
    expect(box).to_be_enabled()
    box.fill("")
    box.press_sequentially("ulnar", delay=20)
    final_suggestions(hand, "ulnar")
    hand.assert_clean()
