"""Explore mode in the browser: layers, search, click to identify."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from handatlas.ui.picking import cast, parse_ray

from .browser_helpers import find_target

pytestmark = pytest.mark.browser


def untick(hand, group):
    hand.page.locator(f".layer-{group} input[type=checkbox]").uncheck()
    ids = hand.app.state.groups[group]
    hand.wait_until(lambda: not any(hand.app.state.visible[i] for i in ids), f"{group} hidden")


def check_ray(hand, point):
    """The ray the browser sent passes through the clicked world point (the projection is right)."""
    origin, direction = parse_ray(hand.app.scene.pick)
    miss = np.linalg.norm(np.cross(np.asarray(point) - origin, direction))
    assert miss < 1.5, f"the click ray passes {miss:.2f} mm from the point clicked"
    return origin, direction


def test_untick_bones_hides_them_and_clicks_go_through(hand, atlas, eye):
    state, ident = hand.app.state, hand.page.locator(".identification")
    bones = set(state.groups["bones"])
    untick(hand, "skin")
    shown = state.visible_ids()
    target = find_target(atlas, eye, shown, lambda s: s in bones, after=shown - bones,
                         want_after=lambda s: s is not None and s not in bones, step_mm=1.5)
    click = hand.click_world(target.point)
    check_ray(hand, target.point)
    assert click["result"] == target.first
    expect(ident).to_contain_text(atlas.structures[target.first].name)

    untick(hand, "bones")
    assert not any(state.visible[b] for b in bones)
    assert all(not layer["visible"] for sid, layer in hand.app.scene.layers.items() if sid in bones)
    click = hand.click_world(target.point)
    origin, direction = check_ray(hand, target.point)
    behind = cast(atlas, origin, direction, state.visible_ids())
    assert behind is not None and behind.id not in bones
    assert click["result"] == behind.id and state.selected == behind.id
    expect(ident).to_contain_text(atlas.structures[behind.id].name)
    hand.assert_clean()


def test_search_finds_the_median_nerve(hand, atlas):
    page = hand.page
    page.locator(".search input").fill("median nerve")
    page.locator(".search-go button").click()
    hand.wait_until(lambda: hand.app.state.selected == "median_nerve", "the median nerve selected")
    ident = page.locator(".identification")
    expect(ident).to_contain_text("Median nerve")
    note = atlas.structures["median_nerve"].risk_note
    assert note
    expect(ident.locator(".risk-note")).to_contain_text(note[:60])
    assert hand.app.state.highlight.get("median_nerve")
    hand.assert_clean()


def test_click_identifies_a_bone(hand, atlas, eye):
    state = hand.app.state
    untick(hand, "skin")
    bones = set(state.groups["bones"])
    target = find_target(atlas, eye, state.visible_ids(),
                         lambda s: s.startswith("metacarpal") or s == "capitate")
    click = hand.click_world(target.point)
    origin, direction = check_ray(hand, target.point)
    assert click["result"] == target.first and target.first in bones
    hit = cast(atlas, origin, direction, state.visible_ids())
    assert hit is not None and hit.id == target.first
    assert np.linalg.norm(hit.point - target.point) < 2.0
    assert state.selected == target.first
    expect(hand.page.locator(".identification")).to_contain_text(atlas.structures[target.first].name)
    hand.assert_clean()


def test_hidden_layers_travel_only_when_first_shown(hand, atlas):
    """A page fetches the meshes it shows when it opens; the muscles' part comes when they are first
    ticked, and they are drawn."""
    parts = hand.app.scene.meshes["parts"]
    muscles = set(hand.app.state.groups["muscles"])
    assert muscles <= {e["id"] for e in parts[1]["index"]}
    fetched_js = ("() => performance.getEntriesByType('resource').map((e) => e.name)"
                  ".filter((n) => n.includes('/meshes/'))")
    urls = [p["url"][2:] for p in parts]
    assert [u.rsplit("/", 1)[1] for u in hand.page.evaluate(fetched_js)] == [urls[0].rsplit("/", 1)[1]]
    before = hand.canvas_image()
    hand.page.locator(".layer-muscles input[type=checkbox]").check()
    hand.wait_until(lambda: all(hand.app.state.visible[i] for i in muscles), "muscles shown")
    expect(hand.page.locator(".scene")).to_be_visible()
    hand.wait_until(lambda: len(hand.page.evaluate(fetched_js)) == 2, "the muscles' part fetched")

    def changed() -> float:
        return float(np.mean(np.any(hand.canvas_image() != before, axis=-1)))

    assert hand.wait_until(lambda: changed() > 0.01, "the muscles drawn", timeout=30)
    hand.assert_clean()
