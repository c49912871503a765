"""``handatlas serve`` as a separate process for the browser tests, and a drill answered through the
page alone (no Python-side view of the session: the server is another process).  No pytest here."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import expect
from session_client import NoRedirect, free_port

from .browser_helpers import wait_for_scene

SERVE = "import sys; from handatlas.cli import main; sys.exit(main())"
#: Seconds ``handatlas serve`` may take to answer (it loads the atlas first; two loaded cores).
START_S = 180.0


def serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a served test app: no HANDATLAS_/PANEL_ variable of the caller, folders in
    ``tmp_path``, a fixed secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HANDATLAS_", "PANEL_", "AAD_"))}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               HANDATLAS_SECRET="the served browser tests' secret, long enough", **extra)
    return env


def serve_cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``handatlas serve --port <free> --address 127.0.0.1 *args``; (process, base URL) once it
    answers.  Its output goes to a log file in ``tmp_path`` (:func:`stop_cli` returns it)."""
    port = free_port()
    log = open(tmp_path / f"serve-{port}.log", "w")  # closed by stop_cli
    command = [sys.executable, "-c", SERVE, "serve", "--port", str(port), "--address", "127.0.0.1", *args]
    proc = subprocess.Popen(command, env=env or serve_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}/"
    opener = urllib.request.build_opener(NoRedirect)
    t0 = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {Path(log.name).read_text()[-2000:]}")
        try:
            opener.open(url + "login", timeout=5).close()
            return proc, url
        except urllib.error.HTTPError:  # a redirect to a provider is an answer too
            return proc, url
        except OSError:
            assert time.monotonic() - t0 < START_S, "the server never answered"
            time.sleep(0.3)


def stop_cli(proc: subprocess.Popen) -> str:
    """Stop the server (as Ctrl-C would); its log."""
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.close()  # type: ignore[attr-defined]
    return Path(proc.log.name).read_text()  # type: ignore[attr-defined]


def open_mode(page, mode: str, shows: str) -> None:
    """Switch the app's mode with its button; wait until the element ``shows`` is visible."""
    page.locator(".modes button", has_text=mode.capitalize()).click()
    expect(page.locator(shows).first).to_be_visible()


def answer_drill(page, *, topic: str = "domain:ethics") -> int:
    """Start a 3-question drill on ``topic`` and answer it in the page to its end (a missed question
    comes back): the first option of each question that has options, the others skipped; the
    answers given."""
    page.locator(".drill-tags input").fill(topic)
    page.locator(".drill-tags .choices__item--choice", has_text=topic).first.click()
    page.locator(".drill-count input").press("Home")  # the fewest questions: 3
    page.locator(".drill-start button").click()
    done = page.locator(".drill-progress", has_text="Drill done")
    answered = 0
    for number in range(1, 13):
        expect(page.locator(".q-number")).to_contain_text(f"Question {number} of")
        options = page.locator(".q-options input")
        if options.count() and options.first.is_visible():
            options.first.check()
            page.locator(".q-submit button").click()
            expect(page.locator(".q-next-due")).to_contain_text("Next due in ")  # the answer was recorded
            answered += 1
        else:
            page.locator(".q-skip button").click()
        expect(page.locator(".q-next button:visible").or_(done).first).to_be_visible()
        if done.count():
            return answered
        page.locator(".q-next button").click()
    raise AssertionError("the drill did not end after 12 questions")


def open_app(page, url: str) -> None:
    """Open ``url`` and wait until the 3D hand is drawn."""
    page.goto(url, timeout=120_000)
    wait_for_scene(page, timeout_s=120)
