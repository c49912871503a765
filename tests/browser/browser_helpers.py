"""Helpers of the browser tests (and of benchmarks/bench_app.py): no pytest in here.

- the Chromium launch flags (Debian's chromium, software WebGL, no background traffic);
- where the scene's camera is after it opens (the same ``resetCamera`` arithmetic as vtk.js),
  so a test can choose a world point whose click ray surely hits the structure it expects;
- colour counts of a screenshot.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from urllib.parse import urlparse

import numpy as np

from handatlas.atlas import Atlas
from handatlas.render import VIEWS
from handatlas.ui.picking import cast

CHROMIUM = os.environ.get("HANDATLAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
#: vtk.js's default view angle (degrees) and the zoom the app applies to a named view.
VIEW_ANGLE = 30.0

#: Every text of the page, shadow roots included (Panel renders into shadow roots, where
#: ``page.content()`` does not look).
DEEP_TEXT_JS = """() => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { out.push(node.textContent); return; }
    if (node.nodeName === 'STYLE' || node.nodeName === 'SCRIPT') return;
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(document.body);
  return out.join(' ');
}"""


#: "ready" once the scene has drawn the meshes; "no-scene" when Bokeh has rendered the page but
#: there is no 3D scene in it (the server is serving something else); else false.
SCENE_STATE_JS = """() => {
  const find = (root, sel) => {
    const hit = root.querySelector(sel);
    if (hit) return hit;
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) { const h = find(el.shadowRoot, sel); if (h) return h; }
    }
    return null;
  };
  if (find(document, "div[data-ready='1']")) return 'ready';
  const rendered = window.Bokeh && Bokeh.index && Object.keys(Bokeh.index).length > 0;
  if (!rendered) return false;
  window.__renderedAt = window.__renderedAt || performance.now();
  const waited = performance.now() - window.__renderedAt;
  return (!find(document, '.hand-scene') && waited > 8000) ? 'no-scene' : false;
}"""


def wait_for_scene(page, timeout_s: float = 60.0) -> None:
    """Wait until the 3D hand is drawn; fail early, with the page's text, when the page has no scene."""
    state = page.wait_for_function(SCENE_STATE_JS, polling=100, timeout=timeout_s * 1000).json_value()
    if state != "ready":
        raise AssertionError(f"the page shows no 3D scene; it says: {page.evaluate(DEEP_TEXT_JS)[:300]!r}")


def is_external(url: str) -> bool:
    """True for an http(s)/ws(s) address on any host but this machine."""
    u = urlparse(url)
    return u.scheme in ("http", "https", "ws", "wss") and (u.hostname or "") not in LOCAL_HOSTS


def camera_eye(atlas: Atlas, visible: Iterable[str], view: str = "palmar") -> np.ndarray:
    """Where vtk.js puts the camera for a named view: ``resetCamera`` over the visible meshes.

    The focal point is the centre of their bounding box, the distance ``r / sin(angle / 2)``
    with ``r`` half the box's diagonal (``cam.zoom`` then narrows the angle, not the distance).
    """
    points = np.vstack([atlas.arrays(sid)["vertices"] for sid in visible])
    lo, hi = points.min(axis=0), points.max(axis=0)
    radius = 0.5 * float(np.linalg.norm(hi - lo))
    distance = radius / np.sin(np.radians(VIEW_ANGLE) / 2)
    return (lo + hi) / 2 + distance * np.asarray(VIEWS[view][0], float)


@dataclass(frozen=True)
class Target:
    """A world point to click and what the click ray hits there."""

    point: np.ndarray
    first: str
    then: str | None = None


def _first(atlas: Atlas, eye: np.ndarray, point: np.ndarray, visible: Collection[str]) -> str | None:
    d = point - eye
    hit = cast(atlas, eye, d / np.linalg.norm(d), visible)
    return None if hit is None else hit.id


def find_target(atlas: Atlas, eye: np.ndarray, visible: Collection[str], want: Callable[[str], bool], *,
                after: Collection[str] | None = None, want_after: Callable[[str | None], bool] | None = None,
                jitter_mm: float = 1.0, eye_jitter_mm: float = 10.0, step_mm: float = 3.0) -> Target:
    """A point on a structure ``want`` accepts that a click from ``eye`` hits first, robustly.

    Rays from ``eye`` through a grid over the hand (``step_mm`` apart); a candidate is kept only when the same
    structure is hit when the point moves by ``jitter_mm`` sideways and the eye by
    ``eye_jitter_mm`` (the camera is modelled, not read from the browser; the model matches the
    browser to 1e-4 mm, the jitter covers rounding to whole pixels).  With ``after``
    (another visible set) every one of those rays must also hit something ``want_after``
    accepts (default: anything) among ``after``; ``then`` is what the nominal ray hits.
    """
    axis = (eye - np.mean([atlas.arrays(s)["vertices"].mean(axis=0) for s in visible], axis=0))
    axis /= np.linalg.norm(axis)
    u = np.cross(axis, [0.0, 1.0, 0.0] if abs(axis[1]) < 0.9 else [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    offsets = [a * u * jitter_mm + b * v * jitter_mm for a in (-1, 0, 1) for b in (-1, 0, 1)]
    eyes = [eye, *(eye + s * eye_jitter_mm * w for s in (-1, 1) for w in (u, v))]
    for x in np.arange(-60.0, 75.0, step_mm):
        for y in np.arange(-130.0, 160.0, step_mm):
            d = np.array([x, y, 0.0]) - eye
            hit = cast(atlas, eye, d / np.linalg.norm(d), visible)
            if hit is None or not want(hit.id):
                continue
            p = hit.point
            if any(_first(atlas, e, p + o, visible) != hit.id for e in eyes for o in offsets):
                continue
            then = None
            if after is not None:
                accept = want_after or (lambda sid: sid is not None)
                then = _first(atlas, eye, p, after)
                if not all(accept(_first(atlas, e, p + o, after)) for e in eyes for o in offsets):
                    continue
            return Target(p, hit.id, then)
    raise LookupError("no point on the hand passes the robustness checks")


def image(png: bytes) -> np.ndarray:
    """A PNG screenshot as an RGB uint8 array."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def distinct_colours(img: np.ndarray) -> int:
    return len(np.unique(img.reshape(-1, 3), axis=0))


def non_background(img: np.ndarray, background: tuple[int, int, int] = (255, 255, 255)) -> float:
    """Fraction of pixels that differ clearly from the background."""
    return float((np.abs(img.astype(int) - background).sum(-1) > 30).mean())


def reddish(img: np.ndarray) -> int:
    """Pixels whose red channel clearly dominates (verdict 'avoid', arteries)."""
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return int(((r > g + 70) & (r > b + 70)).sum())


def greenish(img: np.ndarray) -> int:
    """Pixels whose green channel clearly dominates (verdict 'safe'; nothing else is green)."""
    r, g, b = (img[..., k].astype(int) for k in range(3))
    return int(((g > r + 40) & (g > b + 40)).sum())


# ----------------------------------------------------------------------------- accessibility
#: The element that has the keyboard focus, looked for through the shadow roots: its tag, text,
#: accessible name (aria-label or the label around it), type and the CSS classes of the Panel
#: components it sits in (their host elements), innermost first.
DEEP_FOCUS_JS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return null;
  const hosts = [];
  for (let n = el; n; ) {
    const root = n.getRootNode();
    if (!(root instanceof ShadowRoot)) break;
    n = root.host;
    hosts.push(n.className || '');
  }
  const label = el.getAttribute('aria-label') || (el.closest('label') ? el.closest('label').textContent : '');
  return { tag: el.tagName.toLowerCase(), text: (el.textContent || '').trim().slice(0, 80),
           label: (label || '').trim(), type: el.type || '', hosts: hosts.join(' ') };
}"""


def focused(page) -> dict | None:
    """What has the keyboard focus (see :data:`DEEP_FOCUS_JS`); None when nothing does."""
    return page.evaluate(DEEP_FOCUS_JS)


def tab_to(page, want: Callable[[dict], bool], what: str, *, timeout_s: float = 60.0) -> dict:
    """Press Tab until the focused element is one ``want`` accepts; fail after ``timeout_s``.

    A control the server is still adding (a mode's panel just switched on) is not in the tab order
    yet: after each lap of the page the loop pauses briefly and goes round again, as a keyboard user
    would, until the deadline.
    """
    deadline = time.monotonic() + timeout_s
    seen: list = []
    lap: list = []
    while time.monotonic() < deadline:
        page.keyboard.press("Tab")
        now = focused(page)
        if now and want(now):
            return now
        key = now and (now["tag"], now["text"][:20] or now["label"][:20], now["hosts"][-40:])
        if lap and key == lap[0]:  # round the page once: let the page catch up, then go on
            seen, lap = lap, []
            page.wait_for_timeout(250)
        lap.append(key)
    raise AssertionError(f"Tab never reached {what} in {timeout_s:.0f} s; one lap went through "
                         f"{[k[:2] if k else None for k in (seen or lap)]}")


#: Every visible control of the page, through the shadow roots, with its box in page coordinates
#: (a tick box is measured by the label around it, a multi-choice by its frame: what a finger hits).
CONTROLS_JS = """() => {
  const out = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const tag = el.tagName.toLowerCase();
      const control = ['button', 'select', 'textarea', 'canvas'].includes(tag)
        || (tag === 'input' && el.type !== 'hidden') || el.getAttribute('role') === 'slider';
      if (!control) continue;
      let target = el;
      if (tag === 'input' && (el.type === 'checkbox' || el.type === 'radio') && el.closest('label')) {
        target = el.closest('label');
      }
      if (el.closest('.choices')) target = el.closest('.choices').querySelector('.choices__inner') || el;
      const r = target.getBoundingClientRect();
      const style = getComputedStyle(el);
      if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
      out.push({ tag, type: el.type || '', text: (target.textContent || el.getAttribute('aria-label') || '')
                   .trim().slice(0, 40),
                 left: r.left + scrollX, top: r.top + scrollY, width: r.width, height: r.height });
    }
  };
  walk(document);
  return out;
}"""


def relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG relative luminance of an sRGB colour given as 0-255 channels."""
    def channel(c: float) -> float:
        c = c / 255.0
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """WCAG contrast ratio of two sRGB colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def css_rgb(text: str) -> tuple[float, float, float]:
    """``rgb(r, g, b)`` or ``rgba(...)`` from getComputedStyle as three 0-255 numbers."""
    inside = text[text.index("(") + 1:text.index(")")]
    r, g, b = (float(v) for v in inside.replace("/", ",").split(",")[:3])
    return r, g, b


def sign_in(page, url: str, user: str, password: str) -> None:
    """Sign in on the app's sign-in page (the app itself never takes a password)."""
    page.goto(url + "login")
    page.locator("#username").fill(user)
    page.locator("#password").fill(password)
    page.locator("button[type=submit]").click()


def axe_serious(page) -> list[dict]:
    """The serious and critical violations axe-core (``axe-playwright-python``) finds in the page.

    axe is injected by the test only: the app never loads it.
    """
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
