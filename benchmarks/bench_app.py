"""The web app in Debian's chromium (headless, software WebGL), side by side with its baselines.

Measured in one run:

(a) start: ``handatlas serve`` in a fresh process until the port accepts connections
    (*server ready*), then a new
    page until the scene reports the meshes drawn, ``div[data-ready='1']`` (*page ready*);
    median of :data:`STARTS` runs.
(b) press latency: an in-process server (so the Python side is visible), Press mode, a click at
    a landmark's screen position :data:`CLICKS` times (cycling over landmarks so the answer
    changes): mouse release to the Python handler done (wall clock), the handler alone
    (``app.last_click['ms']``), and mouse release to the verdict's text changing in the page
    (measured inside the page); p50/p95.
(c) first-page payload: every HTTP response body as it travelled (compressed) and every websocket
    frame received until the page is ready, by kind (the meshes are a static file), against the
    baseline of shipping the atlas's meshes raw (float32 vertices and uint32 triangles,
    undecimated, uncompressed); then the same page opened again in that browser, its meshes
    from the browser's cache.

Prints a table and ends with one JSON line.  Needs chromium at /usr/bin/chromium (never
``playwright install``).  Run: ``.venv/bin/python benchmarks/bench_app.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("BOKEH_RESOURCES", "server")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.browser.browser_helpers import CHROMIUM, CHROMIUM_ARGS, SCENE_STATE_JS  # noqa: E402 (the tests' own)

READY = "div[data-ready='1']"
STARTS = 3
CLICKS = 20
LANDMARKS = ("radial_pulse", "thenar_eminence", "carpal_tunnel", "hypothenar_eminence", "palm_center")

#: In-page helpers: the verdict's text (Panel renders into shadow roots), and the time of the
#: last mouse release (the scene picks on release).
PAGE_JS = """() => {
  window.__deepFind = (sel) => {
    const stack = [document];
    while (stack.length) {
      const node = stack.pop();
      const hit = node.querySelector ? node.querySelector(sel) : null;
      if (hit) return hit;
      const all = node.querySelectorAll ? node.querySelectorAll('*') : [];
      for (const el of all) if (el.shadowRoot) stack.push(el.shadowRoot);
    }
    return null;
  };
  window.__deepText = (el) => {
    if (!el) return '';
    let out = el.textContent || '';
    const all = [el, ...el.querySelectorAll('*')];
    for (const e of all) if (e.shadowRoot) out += ' ' + window.__deepText(e.shadowRoot);
    return out;
  };
  window.__lastUp = 0;
  window.addEventListener('pointerup', () => { window.__lastUp = performance.now(); }, true);
}"""
VERDICT_CHANGED_JS = """(before) => {
  const el = window.__deepFind('.press-result');
  const text = window.__deepText(el);
  if (text && text !== before && text.includes('—')) {
    return {text, ms: performance.now() - window.__lastUp};
  }
  return false;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pct(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q)) if samples else float("nan")


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def kind_of(url: str, content_type: str) -> str:
    path = url.split("?", 1)[0]
    if "html" in content_type or path.endswith("/"):
        return "html"
    if "javascript" in content_type or path.endswith((".js", ".mjs")):
        return "js"
    if "css" in content_type or path.endswith(".css"):
        return "css"
    if path.endswith(".bin"):
        return "meshes"
    return "other"


def wire_bytes(response: Any) -> int:
    """The body's size as it travelled (compressed, 0 when it came from the browser's cache)."""
    return max(int(response.request.sizes()["responseBodySize"]), 0)


# ------------------------------------------------------------------ (a) + (c)
class NotTheApp(RuntimeError):
    """The server answered, but its page has no 3D hand."""


def server_command(port: int, db: str) -> tuple[str, list[str]]:
    """``handatlas serve`` on ``port`` with a progress store of its own."""
    exe = Path(sys.executable).with_name("handatlas")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "handatlas.cli"]
    return "handatlas serve", [*cmd, "serve", "--port", str(port), "--db", db]


def start_server(cmd: list[str], port: int, log) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    while not port_open(port):
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before opening port {port}")
        if time.monotonic() - t0 > 120:
            stop(proc)
            raise RuntimeError(f"did not open port {port} in 120 s")
        time.sleep(0.02)
    return proc


def stop(proc: subprocess.Popen) -> None:
    """Stop the server we started: its own process group only."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def ws_wire_bytes(frames: list[bytes], *, deflated: bool) -> int:
    """Payload bytes of the frames as they travelled: the browser reports them inflated, so when
    permessage-deflate was agreed they are deflated again as the server does (one raw deflate
    stream per connection at :data:`~handatlas.ui.server.WS_COMPRESSION_LEVEL`, each message
    flushed and its 4-byte tail dropped, RFC 7692)."""
    if not deflated:
        return sum(len(f) for f in frames)
    from handatlas.ui.server import WS_COMPRESSION_LEVEL

    stream = zlib.compressobj(WS_COMPRESSION_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    return sum(len(stream.compress(f) + stream.flush(zlib.Z_SYNC_FLUSH)) - 4 for f in frames)


def cold_start(playwright, log, db: str, *, payload: bool) -> dict[str, Any]:
    port = free_port()
    how, cmd = server_command(port, db)
    t0 = time.perf_counter()
    proc = start_server(cmd, port, log)
    server_ready = time.perf_counter() - t0
    browser = launch(playwright)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        responses: list[Any] = []
        frames: list[bytes] = []
        ready = {"done": False}
        handshake: dict[str, str] = {}

        def on_frame(data: Any) -> None:
            if not ready["done"]:
                frames.append(data.encode() if isinstance(data, str) else data)

        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on("Network.webSocketHandshakeResponseReceived",
               lambda e: handshake.update({k.lower(): v for k, v in e["response"]["headers"].items()}))
        page.on("response", lambda r: responses.append(r))
        page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
        t1 = time.perf_counter()
        page.goto(f"http://localhost:{port}/")
        state = page.wait_for_function(SCENE_STATE_JS, polling="raf", timeout=120_000).json_value()
        ready["done"] = True
        page_ready = time.perf_counter() - t1
        if state != "ready":
            raise NotTheApp(f"{how}: the page has no 3D scene")
        out: dict[str, Any] = {"how": how, "server_ready_s": server_ready, "page_ready_s": page_ready,
                               "total_s": server_ready + page_ready}
        if payload:
            kinds: dict[str, int] = {}
            for r in responses:
                if r.status >= 300:
                    continue
                k = kind_of(r.url, r.headers.get("content-type", ""))
                kinds[k] = kinds.get(k, 0) + wire_bytes(r)
            deflated = "permessage-deflate" in handshake.get("sec-websocket-extensions", "")
            kinds["websocket"] = ws_wire_bytes(frames, deflated=deflated)
            out["payload"] = kinds
            out["ws_frames"] = len(frames)
            out["ws_deflated"] = deflated
        # the app opened again in the same browser: the meshes come from its cache
        again = context.new_page()
        fetched: list[Any] = []
        again.on("response", lambda r: fetched.append(r))
        t2 = time.perf_counter()
        again.goto(f"http://localhost:{port}/")
        again.wait_for_function(SCENE_STATE_JS, polling="raf", timeout=120_000)
        out["page_again_s"] = time.perf_counter() - t2
        out["meshes_again_bytes"] = sum(wire_bytes(r) for r in fetched if kind_of(r.url, "") == "meshes")
        return out
    finally:
        browser.close()
        stop(proc)


def cold_starts(playwright, log, db: str) -> list[dict[str, Any]]:
    """:data:`STARTS` cold starts of ``handatlas serve``, the first one with the payload counted."""
    first = cold_start(playwright, log, db, payload=True)
    rest = [cold_start(playwright, log, db, payload=False) for _ in range(STARTS - 1)]
    return [first, *rest]


# ------------------------------------------------------------------ (b)
def press_latency(playwright, db: str) -> dict[str, Any]:
    import panel as pn
    from panel.io.state import state as pn_state

    from handatlas.ui.app import create_app, shared_atlas
    from handatlas.ui.server import MESH_PATTERNS

    atlas = shared_atlas()
    instances: list[Any] = []

    def factory():
        app = create_app(progress_db=db)
        instances.append(app)
        return app

    sid = uuid.uuid4().hex
    thread = pn.serve(factory, port=0, threaded=True, show=False, liveness=True, server_id=sid, verbose=False,
                      extra_patterns=MESH_PATTERNS)
    while sid not in pn_state._servers:
        time.sleep(0.02)
    url = f"http://localhost:{pn_state._servers[sid][0].port}/"
    browser = launch(playwright)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(READY, state="attached", timeout=120_000)
        page.evaluate(PAGE_JS)
        app = instances[-1]
        page.locator(".modes button", has_text="Press").click()
        page.locator(".press-grade button", has_text="Firm").click()
        while app.state.grade != "firm":
            time.sleep(0.01)
        scene = page.locator(READY)
        where = [scene.evaluate("(el, p) => el.worldToClient(...p)", atlas.landmark(lm).point.tolist())
                 for lm in LANDMARKS]
        to_python, handler, to_page, first = [], [], [], None
        text = ""
        for k in range(CLICKS + 1):  # the first click is reported apart (cold)
            x, y = where[k % len(where)]
            before = app.last_click
            page.mouse.click(x, y)
            while app.last_click is before:
                time.sleep(0.001)
            done = time.time()
            sent = app.scene.pick.get("t", 0) / 1000
            changed = page.wait_for_function(VERDICT_CHANGED_JS, arg=text, polling="raf", timeout=30_000)
            result = changed.json_value()
            text = result["text"]
            sample = (1000 * (done - sent), float(app.last_click["ms"]), float(result["ms"]))
            if k == 0:
                first = sample
                continue
            to_python.append(sample[0])
            handler.append(sample[1])
            to_page.append(sample[2])
        return {"to_python": to_python, "handler": handler, "to_page": to_page, "first": first}
    finally:
        browser.close()
        thread.stop()


# ------------------------------------------------------------------ main
def main() -> None:
    if not os.path.exists(CHROMIUM):
        sys.exit(f"no chromium at {CHROMIUM}: apt-get install chromium")
    warnings.simplefilter("ignore", PendingDeprecationWarning)  # Panel 2.0 deprecations in the app
    from playwright.sync_api import sync_playwright

    from handatlas import load_atlas
    from handatlas.ui.display import display_meshes
    from handatlas.ui.state import shown_at_start

    atlas = load_atlas()
    raw_mesh = sum(12 * len(atlas.arrays(s)["vertices"]) + 12 * len(atlas.arrays(s)["faces"])
                   for s in atlas.with_geometry())
    parts = display_meshes(atlas, shown_at_start(atlas))

    with tempfile.TemporaryDirectory(prefix="bench_app_") as tmp, sync_playwright() as pw:
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            starts = cold_starts(pw, log, str(Path(tmp) / "progress.sqlite"))
        press = press_latency(pw, str(Path(tmp) / "progress2.sqlite"))

    def med(key: str) -> float:
        return statistics.median(s[key] for s in starts)

    payload = starts[0]["payload"]
    total_bytes = sum(payload.values())
    rows = [
        (f"(a) server ready ({starts[0]['how']}), median of {STARTS}", f"{med('server_ready_s'):.2f} s"),
        ("(a) page ready: goto to meshes drawn", f"{med('page_ready_s'):.2f} s"),
        ("(a) server start to first rendered hand", f"{med('total_s'):.2f} s"),
        ("(a) page opened again in that browser (meshes cached)", f"{med('page_again_s'):.2f} s"),
        ("(b) first press: release to Python / to page",
         f"{press['first'][0]:.0f} / {press['first'][2]:.0f} ms"),
        (f"(b) release to Python handled, p50 / p95 (n={CLICKS})",
         f"{pct(press['to_python'], 50):.0f} / {pct(press['to_python'], 95):.0f} ms"),
        ("(b) Python handler alone, p50 / p95",
         f"{pct(press['handler'], 50):.1f} / {pct(press['handler'], 95):.1f} ms"),
        ("(b) release to verdict changed in page, p50 / p95",
         f"{pct(press['to_page'], 50):.0f} / {pct(press['to_page'], 95):.0f} ms"),
    ]
    for kind in ("html", "js", "css", "meshes", "websocket", "other"):
        if kind in payload:
            rows.append((f"(c) first page: {kind}", f"{payload[kind] / 1e6:.3f} MB"))
    rows += [
        ("(c) first page: total", f"{total_bytes / 1e6:.3f} MB"),
        (f"(c) baseline: raw meshes ({sum(p.triangles for p in parts):,} tris drawn of "
         f"{sum(atlas.triangles(s) for s in atlas.with_geometry()):,})", f"{raw_mesh / 1e6:.3f} MB"),
        ("(c) mesh parts (decimated, quantised, zlib): shown at first / the rest",
         " / ".join(f"{p.blob.nbytes / 1e6:.3f}" for p in parts) + " MB"),
        ("(c) mesh blob fetched again by the second page", f"{starts[0]['meshes_again_bytes'] / 1e6:.3f} MB"),
    ]
    print(f"chromium headless (SwiftShader WebGL); {os.cpu_count()} CPUs")
    for name, value in rows:
        print(f"  {name:<62} {value:>18}")
    result = {
        "benchmark": "app",
        "served_by": starts[0]["how"],
        "server_ready_s": round(med("server_ready_s"), 2),
        "page_ready_s": round(med("page_ready_s"), 2),
        "start_to_hand_s": round(med("total_s"), 2),
        "page_again_s": round(med("page_again_s"), 2),
        "meshes_again_bytes": int(starts[0]["meshes_again_bytes"]),
        "first_press_to_page_ms": round(press["first"][2]),
        "press_to_python_p50_ms": round(pct(press["to_python"], 50), 1),
        "press_to_python_p95_ms": round(pct(press["to_python"], 95), 1),
        "press_handler_p50_ms": round(pct(press["handler"], 50), 1),
        "press_handler_p95_ms": round(pct(press["handler"], 95), 1),
        "press_to_page_p50_ms": round(pct(press["to_page"], 50), 1),
        "press_to_page_p95_ms": round(pct(press["to_page"], 95), 1),
        "payload_bytes": {k: int(v) for k, v in payload.items()},
        "payload_total_bytes": int(total_bytes),
        "ws_bytes": int(payload["websocket"]),
        "raw_mesh_bytes": int(raw_mesh),
        "ratio_raw_mesh_to_sent": round(raw_mesh / (payload["websocket"] + payload.get("meshes", 0)), 2),
        "ratio_raw_mesh_to_total": round(raw_mesh / total_bytes, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
