"""End-to-end fixtures: the app served in-process, Debian's chromium driven by pytest-playwright.

One server per test module (the app as ``handatlas serve`` builds it, in a thread) on a temporary copy of the
shipped quizzes and a temporary progress database; one page per test.  The ``hand`` fixture
opens the app, waits until the scene has drawn the meshes and records, for the test to assert
on, console errors, page errors, errors logged by the server and every request to a host other
than this machine.  The tests skip only when there is no chromium (``tests/run.sh`` installs
Debian's); ``playwright install`` is never needed.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import expect
from session_client import TOKEN_RE, start_app_server

from handatlas.accounts import Instructors, hash_password
from handatlas.quiz import default_quiz_dir
from handatlas.ui.app import HandApp, shared_atlas
from handatlas.ui.state import HandState

from .browser_helpers import CHROMIUM, CHROMIUM_ARGS, DEEP_TEXT_JS, camera_eye, image, is_external

READY = "div[data-ready='1']"
PAGE_TIMEOUT_S = 60.0
HERE = Path(__file__).parent
#: How long an ``expect`` waits for the page (5 s by default): software WebGL on two loaded cores
#: can take seconds to redraw before Bokeh applies the next change.
expect.set_options(timeout=20_000)
#: Bokeh's deserializer warns (it used to fail) when a click event carries a full copy of a
#: button the server already knows; Bokeh recovers and handles the click (bokeh/bokeh#12915,
#: "there are situations observed in panel ... usually recoverable"; HoloViews' own UI tests
#: ignore it the same way, holoviz/holoviews#6529).  Under ``filterwarnings = error`` the
#: in-process server would drop the click instead, so the browser tests let it stay a warning.
KNOWN_BOKEH_WARNING = "ignore:reference already known:UserWarning"


def pytest_collection_modifyitems(items):
    """Every test in this folder is a ``browser`` test."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.filterwarnings(KNOWN_BOKEH_WARNING))


@pytest.fixture(scope="session", autouse=True)
def _need_chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium; tests/run.sh does it)")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url():
    """No base URL (each module serves its own app).  Replaces pytest-playwright's fallback fixture,
    a plugin-object method that pytest 9 warns about (and ``filterwarnings = error`` would fail)."""
    return None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}}


class _Errors(logging.Handler):
    """Collects every ERROR logged in the process (handler failures, Bokeh/Panel callback errors)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if _closed_socket(record):
            return
        self.records.append(f"{record.name}: {record.getMessage()}")


def _closed_socket(record: logging.LogRecord) -> bool:
    """Tornado's complaint that a page closed (by the previous test) while a message was on its way."""
    from tornado.iostream import StreamClosedError
    from tornado.websocket import WebSocketClosedError

    exc = record.exc_info[1] if record.exc_info else None
    closed = isinstance(exc, WebSocketClosedError | StreamClosedError)
    return closed or "WebSocketClosedError" in record.getMessage()


@pytest.fixture(scope="module")
def atlas():
    """The atlas the served app uses (warmed up once per process)."""
    return shared_atlas()


@pytest.fixture(scope="module")
def eye(atlas):
    """Where the camera of the opening (palmar) view is: fitted to the meshes shown at start."""
    start = HandState(atlas)
    return camera_eye(atlas, [sid for sid, shown in start.visible.items() if shown])


@dataclass
class Served:
    url: str
    instances: list[HandApp]
    errors: _Errors
    quizzes: Path
    progress_db: str
    stop: Callable[[], None]
    #: The app of the session of a page's token (made just after the page).
    app_of: Callable[[str], HandApp]


#: The instructor the served app knows (its password hashed with few iterations: tests only).
INSTRUCTOR = ("instructor", "test password 1")


#: The server secret of the browser tests.
SECRET = "the browser tests' server secret, long enough"


def start_server(quizzes: Path, progress_db: str, *, instructors: Instructors | None = None) -> Served:
    """Serve the app as ``handatlas serve`` does (signed sessions, sign-in at /login) on a free port
    in a thread of this process; ``Served.stop()`` ends it."""
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    running = start_app_server(secret=SECRET, quizzes=quizzes, progress_db=progress_db,
                               instructors=instructors, liveness=True)
    t0 = time.monotonic()
    while True:
        try:
            urllib.request.urlopen(running.url + "liveness", timeout=1).close()
            break
        except OSError:
            assert time.monotonic() - t0 < 30, "the server does not answer /liveness"
            time.sleep(0.05)

    def stop() -> None:
        running.stop()
        logging.getLogger().removeHandler(errors)

    return Served(running.url, running.sessions, errors, quizzes, progress_db, stop, running.app_of)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app on a free port, on a copy of the shipped quizzes and a fresh progress store.

    Authoring is on for :data:`INSTRUCTOR`.
    """
    quizzes = tmp_path_factory.mktemp("quizzes") / "quizzes"
    shutil.copytree(default_quiz_dir(), quizzes)
    progress_db = str(tmp_path_factory.mktemp("progress") / "progress.sqlite")
    instructors = Instructors({INSTRUCTOR[0]: hash_password(INSTRUCTOR[1], iterations=1000)})
    running = start_server(quizzes, progress_db, instructors=instructors)
    try:
        yield running
    finally:
        running.stop()


@dataclass
class Hand:
    """One opened page of the app and the Python session behind it."""

    page: Any
    app: HandApp
    served: Served
    console_errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    server_errors_before: int = 0

    @property
    def scene(self):
        return self.page.locator(READY)

    def world_to_client(self, xyz) -> tuple[float, float]:
        x, y = self.scene.evaluate("(el, p) => el.worldToClient(...p)", [float(v) for v in xyz])
        return x, y

    def wait_until(self, predicate: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
        """Poll a Python-side condition (the server runs in this process)."""
        t0 = time.monotonic()
        while True:
            value = predicate()
            if value:
                return value
            assert time.monotonic() - t0 < timeout, f"timed out waiting for {what}"
            time.sleep(0.01)

    def click_at(self, x: float, y: float) -> dict[str, Any]:
        """Click a page position and wait until the app has handled the click; returns last_click."""
        before = self.app.last_click
        self.page.mouse.click(x, y)
        return self.wait_until(lambda: self.app.last_click is not before and self.app.last_click,
                               "the click to reach Python")

    def click_world(self, xyz) -> dict[str, Any]:
        return self.click_at(*self.world_to_client(xyz))

    def canvas_image(self) -> np.ndarray:
        return image(self.page.locator("canvas").screenshot())

    def text(self) -> str:
        return self.page.evaluate(DEEP_TEXT_JS)

    def set_mode(self, mode: str) -> None:
        self.page.locator(".modes button", has_text=mode.capitalize()).click()
        self.wait_until(lambda: self.app.state.mode == mode, f"mode {mode}")

    def assert_clean(self) -> None:
        """No console or page error, no request off this machine, no error in the server log."""
        assert self.external == [], f"requests to other hosts: {self.external}"
        assert self.console_errors == [], f"browser errors: {self.console_errors}"
        server = self.served.errors.records[self.server_errors_before:]
        assert server == [], f"server errors: {server}"


def open_hand(page, served: Served) -> Hand:
    """Open the app in ``page`` and wait until the 3D hand is drawn."""
    rec = Hand(page=page, app=None, served=served,  # type: ignore[arg-type]
               server_errors_before=len(served.errors.records))
    page.on("console", lambda m: m.type == "error" and rec.console_errors.append(m.text))
    page.on("pageerror", lambda e: rec.console_errors.append(f"page error: {e}"))

    def note(url: str) -> None:
        if is_external(url):
            rec.external.append(url)

    page.on("request", lambda r: note(r.url))
    page.on("websocket", lambda ws: note(ws.url))
    page.set_default_timeout(20_000)
    page.goto(served.url, timeout=PAGE_TIMEOUT_S * 1000)  # the first page of a loaded machine is slow
    # poll rather than wait for the selector: a session that fails to build should fail the test at once
    ready = page.locator(READY)
    t0 = time.monotonic()
    while ready.count() == 0:
        failed = served.errors.records[rec.server_errors_before:]
        assert not failed, f"the app session failed: {failed}"
        assert not rec.console_errors, f"the page failed: {rec.console_errors}"
        assert time.monotonic() - t0 < PAGE_TIMEOUT_S, "the 3D hand was never drawn (no data-ready='1')"
        page.wait_for_timeout(50)
    token = TOKEN_RE.search(page.content())
    assert token, "no session token in the page"
    rec.app = served.app_of(token.group(1))  # this page's own session (others may be made meanwhile)
    rec.wait_until(lambda: rec.app.scene.ready, "the scene to report ready")
    return rec


@pytest.fixture
def hand(page, served) -> Hand:
    """The app in a fresh 1280 x 900 page, the hand drawn."""
    return open_hand(page, served)


@pytest.fixture
def narrow_hand(request, browser, browser_context_args, served):
    """The app opened 390 x 844 px wide; ``request.param`` True emulates a phone (mobile viewport
    rules, touch, 2x pixels), False a narrow desktop window."""
    phone = bool(getattr(request, "param", True))
    extra = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if phone else {}
    viewport = {"width": 390, "height": 844}
    context = browser.new_context(**{**browser_context_args, "viewport": viewport, **extra})
    try:
        yield open_hand(context.new_page(), served)
    finally:
        context.close()
