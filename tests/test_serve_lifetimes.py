"""Sessions are freed when their pages close (a real server, short lifetimes), and ``handatlas serve
--num-procs 2`` serves pages, websockets and presses from both of its processes."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import sys
import time
from pathlib import Path

import pytest
from session_client import Browser, Socket, run, start_app_server

from handatlas.cli import SESSION_CHECK_S, SESSION_LIFETIME_S
from handatlas.quiz import default_quiz_dir
from handatlas.ui import server as ui_server

SECRET = "a test secret that is long enough to sign things"
LIFETIME_S, CHECK_S = 1.0, 0.5
#: Slack over lifetime + check period for the server to run the discard on a busy machine.
SLACK_S = 15.0
pytestmark = pytest.mark.filterwarnings("ignore:reference already known:UserWarning")


def _bench():
    """benchmarks/bench_classroom.py (not a package): its server runner reads session counts from the log."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_classroom.py"
    spec = importlib.util.spec_from_file_location("bench_classroom", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_classroom", module)
    spec.loader.exec_module(module)
    return module


def _live(running) -> int:
    return len(running.server.get_sessions("/"))


def _poll(count, want: int, *, within_s: float) -> int:
    deadline = time.monotonic() + within_s
    while (n := count()) != want and time.monotonic() < deadline:
        time.sleep(0.1)
    return n


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    quizzes = tmp_path_factory.mktemp("quizzes") / "quizzes"
    shutil.copytree(default_quiz_dir(), quizzes)
    running = start_app_server(secret=SECRET, quizzes=quizzes, session_lifetime_s=LIFETIME_S,
                               session_check_s=CHECK_S,
                               progress_db=str(tmp_path_factory.mktemp("db") / "progress.sqlite"))
    try:
        yield running
    finally:
        running.stop()


def test_the_cli_defaults_are_the_servers():
    assert (SESSION_LIFETIME_S, SESSION_CHECK_S) == (ui_server.SESSION_LIFETIME_S, ui_server.SESSION_CHECK_S)
    assert SESSION_LIFETIME_S + SESSION_CHECK_S <= 30, "a closed page's session is gone within 30 s"


def test_a_closed_pages_session_is_freed_and_an_open_one_kept(served):
    assert _poll(lambda: _live(served), 0, within_s=LIFETIME_S + CHECK_S + SLACK_S) == 0
    browser = Browser(served.url)

    async def scenario() -> None:
        sock = await Socket.connect(served.url, browser.open_page(), cookies=browser.cookie_header())
        await sock.pull_raw()
        await sock.ready()
        assert _live(served) == 1
        await asyncio.sleep(LIFETIME_S + 3 * CHECK_S)  # several looks for unused sessions
        assert _live(served) == 1, "a session with its page open is kept"
        await sock.choose_mode(1, "press-landmark")  # and still answers
        await sock.change("press-landmark", "value", "radial_pulse")
        await sock.wait_for_patch(lambda patch: "Radial artery" in str(patch), timeout=60)
        await sock.close()

    run(scenario())
    assert _poll(lambda: _live(served), 0, within_s=LIFETIME_S + CHECK_S + SLACK_S) == 0
    # a page whose websocket never came is freed the same way (its session is made just after it)
    browser.open_page()
    assert _poll(lambda: _live(served), 1, within_s=5) == 1
    assert _poll(lambda: _live(served), 0, within_s=LIFETIME_S + CHECK_S + SLACK_S) == 0


def test_serve_with_two_processes(tmp_path):
    bench = _bench()
    server = bench.start_server(procs=2, workdir=tmp_path, lifetime_s=LIFETIME_S, check_s=CHECK_S)
    try:
        pids = {int(p) for p in bench._children(server.proc.pid)}
        assert len(pids) == 2, server.log

        async def students() -> list[float]:
            class_ = [bench.Student(i, server.url, bench.Results(), seed=i) for i in range(8)]
            for student in class_:
                await student.join()
            for student in class_:
                await student.press()
            for student in class_:
                await student.leave()
            return [t for s in class_ for t in s.results.latency["press"]]

        assert len(run(students())) == 8, "every press answered"
        # which worker accepts a connection is the kernel's choice (all 8 may land on one):
        # every session was made by one of the two workers, none by the parent
        assert server.live and set(server.live) <= pids, f"sessions made by the workers: {server.log}"
        assert _poll(server.sessions, 0, within_s=LIFETIME_S + CHECK_S + SLACK_S) == 0, server.log
    finally:
        server.stop()
