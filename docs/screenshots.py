"""Screenshots of each mode of the web app, for the README: ``python docs/screenshots.py``.

Serves the app in-process on a free port, drives Debian's chromium with Playwright (software
WebGL) through Explore, Press, Quiz, Drill and Author, and writes ``docs/app_<mode>.png`` plus
``docs/app_mobile.png`` and ``docs/app_phone_<mode>.png`` (390 x 844, touch).  Quiz progress and
authored questions go to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import panel as pn
from panel.io.state import state as pn_state
from playwright.sync_api import Page, sync_playwright

from handatlas.accounts import Instructors, hash_password
from handatlas.quiz import default_quiz_dir
from handatlas.ui.app import create_app
from handatlas.ui.server import MESH_PATTERNS

DOCS = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def serve(tmp: Path) -> tuple[str, list]:
    """Start the app on a free port; return its URL and the list of sessions."""
    quizzes = tmp / "quizzes"
    shutil.copytree(default_quiz_dir(), quizzes)
    instructors = Instructors({"instructor": hash_password("demo", iterations=1000)})
    apps: list = []

    def factory():
        # every page is an instructor's (the Author picture shows the editor; `handatlas serve` asks
        # instructors to sign in at /login first)
        app = create_app(quizzes=quizzes, progress_db=str(tmp / "progress.db"), instructors=instructors,
                         instructor="instructor")
        apps.append(app)
        return app

    sid = uuid.uuid4().hex
    pn.serve(factory, port=0, threaded=True, show=False, liveness=True, server_id=sid,
             extra_patterns=MESH_PATTERNS)
    while sid not in pn_state._servers:
        time.sleep(0.05)
    url = f"http://localhost:{pn_state._servers[sid][0].port}/"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "liveness", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return url, apps


def click_world(page: Page, xyz) -> None:
    """Click the screen position of a world point (mm)."""
    scene = page.locator("div[data-ready='1']")
    x, y = scene.evaluate("(el, p) => el.worldToClient(...p)", [float(v) for v in xyz])
    page.mouse.click(x, y)


def mode(page: Page, name: str) -> None:
    page.locator(".modes button", has_text=name).click()
    page.wait_for_timeout(600)


def phone_modes(page: Page) -> None:
    """``docs/app_phone_<mode>.png``: each mode on a phone, scrolled to where its controls start."""
    steps = {
        "explore": lambda: page.locator(".search input").fill("median nerve"),
        "press": lambda: page.locator(".press-grade button", has_text="Firm").click(),
        "quiz": lambda: page.locator(".quiz-start button").click(),
        "drill": lambda: (page.locator(".drill-learner input").fill("sam"),
                          page.locator(".drill-start button").click()),
        "author": lambda: None,
    }
    first = {"explore": ".search", "press": ".press-controls", "quiz": ".q-area", "drill": ".drill-learner",
             "author": ".author-body"}
    for name, step in steps.items():
        page.evaluate("() => scrollTo(0, 0)")
        mode(page, name.capitalize())
        step()
        page.wait_for_timeout(1200)
        page.locator(first[name]).first.evaluate("(el) => el.scrollIntoView({block: 'start'})")
        page.evaluate("() => scrollBy(0, -300)")  # the foot of the hand above, the controls below
        page.wait_for_timeout(600)
        page.screenshot(path=str(DOCS / f"app_phone_{name}.png"))


def main() -> int:
    tmp = Path(tempfile.mkdtemp())
    url, apps = serve(tmp)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=180_000)  # a loaded machine takes long to serve the first page
        page.wait_for_selector("div[data-ready='1']", state="attached", timeout=90_000)
        app = apps[-1]
        atlas = app.atlas
        page.wait_for_timeout(1000)
        # Explore: search the median nerve
        page.locator(".search input").fill("median nerve")
        page.locator(".search-go button").click()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(DOCS / "app_explore.png"))
        # Press: firm at the radial pulse
        mode(page, "Press")
        app.state.select("")
        app.set_view("palmar")
        page.locator(".press-grade button", has_text="Firm").click()
        page.wait_for_timeout(500)
        click_world(page, atlas.landmark("radial_pulse").point)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(DOCS / "app_press.png"))
        page.locator(".safety-map select").select_option(label="Safety map: light")
        for _ in range(600):  # the first map of a grade takes a few seconds to compute
            if app.state.overlay:
                break
            page.wait_for_timeout(100)
        page.wait_for_timeout(2500)
        page.screenshot(path=str(DOCS / "app_safety_map.png"))
        page.locator(".safety-map select").select_option(label="No safety map")
        app.state.clear_press()
        # Quiz: the areas of caution, first question
        mode(page, "Quiz")
        page.locator(".quiz-pick select").select_option(label="Areas of caution of the hand and wrist")
        page.locator(".quiz-start button").click()
        page.wait_for_timeout(1000)
        page.locator(".q-skip button").click()  # the feedback shows the answer on the hand
        page.wait_for_timeout(1500)
        page.screenshot(path=str(DOCS / "app_quiz.png"))
        # Drill
        mode(page, "Drill")
        page.locator(".drill-learner input").fill("sam")
        page.locator(".drill-code input").fill("sam-1234")
        page.locator(".drill-start button").click()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(DOCS / "app_drill.png"))
        # Author
        mode(page, "Author")
        page.locator(".author-id input").fill("pulse_moderate_press")
        page.locator(".author-prompt textarea").fill("A moderate press at the radial pulse: the verdict?")
        page.locator(".author-explanation textarea").fill("The radial artery lies about 5 mm deep here.")
        click_world(page, atlas.landmark("radial_pulse").point)
        page.wait_for_timeout(800)
        page.locator(".author-preview button").click()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(DOCS / "app_author.png"))
        # Phone (390 x 844, touch): the opening screen, then each mode scrolled to its controls
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                      is_mobile=True, has_touch=True)
        phone = context.new_page()
        phone.goto(url, timeout=180_000)
        phone.wait_for_selector("div[data-ready='1']", state="attached", timeout=90_000)
        phone.wait_for_timeout(1500)
        phone.screenshot(path=str(DOCS / "app_mobile.png"), full_page=False)
        phone_modes(phone)
        context.close()
        browser.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print("wrote", *sorted(p.name for p in DOCS.glob("app_*.png")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
