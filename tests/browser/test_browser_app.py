"""The app as a whole in the browser: loads offline, draws the hand, survives bad clicks, fits a phone."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from handatlas.ui import display
from handatlas.ui.state import shown_at_start

from .browser_helpers import distinct_colours, is_external, non_background, wait_for_scene

pytestmark = pytest.mark.browser


def test_loads_offline_and_draws_the_hand(hand):
    page = hand.page
    expect(page.locator("canvas")).to_have_count(1)
    # the part of vtk.js the scene uses, from this server; not Panel's whole vtk.js (2.6 MB of script)
    assert page.evaluate("() => typeof window.handatlasVtk.Rendering.Core.vtkActor") == "object"
    assert page.evaluate("() => typeof window.vtk") == "undefined"
    scripts = page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)")
    assert [s for s in scripts if s.split("?")[0].endswith("/vtk-hand.js")], scripts
    assert not [s for s in scripts if "vtk.js@" in s or "abstractvtkplot" in s], scripts
    img = hand.canvas_image()
    colours, covered = distinct_colours(img), non_background(img)
    assert colours > 200 and covered > 0.05, (colours, covered)
    assert hand.app.scene.error == ""
    hand.assert_clean()


def test_bad_click_shows_a_message_not_a_trace(hand):
    app, page = hand.app, hand.page
    message = page.locator(".message")
    app.scene.pick = {"seq": 99, "ray": {"origin": [0, 0, "x"], "direction": [0, 0, 0]}}  # as if sent broken
    assert app.last_click["seq"] == 99 and app.last_click["result"] is None
    assert "could not be read" in app.state.message
    expect(message).to_be_visible()
    expect(message).to_contain_text("could not be read")

    box = page.locator("canvas").bounding_box()
    click = hand.click_at(box["x"] + 8, box["y"] + 8)  # the white corner: misses the hand
    assert click["result"] is None
    expect(message).to_contain_text("Nothing shown lies under that point")
    # the message floats inside the view: it never widens the page
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= innerWidth")
    view, shown = page.locator("canvas").bounding_box(), message.bounding_box()
    assert view["x"] <= shown["x"] and shown["x"] + shown["width"] <= view["x"] + view["width"] + 1
    assert "Traceback" not in hand.text()
    hand.assert_clean()


@pytest.mark.parametrize("narrow_hand", [
    pytest.param(False, id="narrow-window"),
    pytest.param(True, id="phone"),
], indirect=True)
def test_fits_a_phone(narrow_hand):
    hand = narrow_hand
    page = hand.page
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 391
    # a long unbroken word searched for is quoted in the message, which wraps it (it once made the
    # page 890 px wide)
    box = page.locator(".search input")
    box.fill("x" * 120)
    box.press("Enter")
    message = page.locator(".message")
    expect(message).to_contain_text("x" * 40)
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= 391
    shown = message.bounding_box()
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= 391
    canvas = page.locator("canvas")
    expect(canvas).to_be_visible()
    hand.wait_until(lambda: canvas.bounding_box()["width"] >= 300, "the canvas to be at least 300 px wide",
                    timeout=5)
    buttons = page.locator(".modes button")
    assert buttons.count() >= 2
    for k in range(buttons.count()):
        expect(buttons.nth(k)).to_be_in_viewport()
    hand.assert_clean()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_handatlas_serve_shows_the_app(browser, tmp_path):
    """The command users run: ``handatlas serve`` in its own process serves the app, offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "serve.log").open("wb")
    db = str(tmp_path / "progress.sqlite")
    cmd = [sys.executable, "-m", "handatlas.cli", "serve", "--port", str(port), "--db", db]
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}  # its generated secret goes here
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    page = browser.new_page()
    external: list[str] = []
    page.on("request", lambda r: is_external(r.url) and external.append(r.url))
    try:
        t0 = time.monotonic()
        while not port_open(port):
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() - t0 < 60, "handatlas serve did not open its port"
            time.sleep(0.05)
        responses = []
        page.on("response", lambda r: responses.append(r))
        page.goto(f"http://localhost:{port}/")
        wait_for_scene(page)
        assert page.title().startswith("handatlas")
        assert external == []
        # the JavaScript (5.5 MB as files) travels compressed
        scripts = [r for r in responses if r.url.split("?")[0].endswith(".js")]
        assert scripts and all(r.headers.get("content-encoding") == "gzip" for r in scripts), \
            [(r.url, r.headers.get("content-encoding")) for r in scripts]
    finally:
        page.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        log.close()


def test_scene_decodes_the_display_meshes(page, served, atlas):
    """scene.js fetches and inflates the served blob and decodes it to what display.py packed:
    every mesh's positions (quantised) and triangles."""
    meshes = display.display_meshes(atlas, shown_at_start(atlas))[-1]  # the part fetched later
    expected = display.unpack(meshes)
    module = Path(display.__file__).with_name("scene.js").read_bytes()
    page.goto(served.url + "liveness")
    got = page.evaluate(
        """async ([src, url, index]) => {
            const scene = await import("data:text/javascript;base64," + src);
            const raw = await scene.fetchMeshes(url);
            const out = {};
            let offset = 0;
            for (const e of index) {
                const q = scene.undelta(raw, offset, e.points, 3, 2);
                offset += Math.ceil(e.points * 6 / 4) * 4;
                const size = e.wide ? 4 : 2;
                const f = scene.undelta(raw, offset, e.triangles * 3, 1, size);
                offset += Math.ceil(e.triangles * 3 * size / 4) * 4;
                out[e.id] = [Array.from(q.slice(0, 30)), Array.from(f.slice(-30)),
                             q.reduce((a, v, i) => (a + v * (i % 7 + 1)) % 1000003, 0),
                             f.reduce((a, v, i) => (a + v * (i % 5 + 1)) % 1000003, 0)];
            }
            return out;
        }""",
        [base64.b64encode(module).decode(), served.url + display.blob_path(meshes.digest)[2:],
         meshes.index])
    origin, scale = np.asarray(meshes.origin), np.asarray(meshes.scale)
    assert set(got) == set(expected)
    for sid, (vertices, faces) in expected.items():
        q = np.rint((vertices - origin) / scale).astype(np.int64).ravel()
        f = faces.ravel()
        head, tail, q_sum, f_sum = got[sid]
        assert head == q[:30].tolist() and tail == f[-30:].tolist(), sid
        assert q_sum == int((q * (np.arange(len(q)) % 7 + 1)).sum() % 1000003), sid
        assert f_sum == int((f * (np.arange(len(f)) % 5 + 1)).sum() % 1000003), sid
