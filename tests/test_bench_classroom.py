"""The classroom benchmark's machinery, run small (three students, a few seconds) so it cannot rot.

No timing is asserted here: the numbers come from ``benchmarks/bench_classroom.py`` itself.
"""

from __future__ import annotations

import asyncio

import pytest
from session_client import run
from test_serve_lifetimes import CHECK_S, LIFETIME_S, SLACK_S, _bench

pytestmark = pytest.mark.filterwarnings("ignore:reference already known:UserWarning")


@pytest.fixture(scope="module")
def bench():
    return _bench()


@pytest.fixture(scope="module")
def server(bench, tmp_path_factory):
    running = bench.start_server(procs=1, workdir=tmp_path_factory.mktemp("classroom"),
                                 lifetime_s=LIFETIME_S, check_s=CHECK_S)
    try:
        yield running
    finally:
        running.stop()


def test_a_student_does_every_action_and_each_is_timed(bench, server):
    """Press, quiz answer, drill answer, one student each: each is timed (a question with nothing to
    choose is skipped, and counted; the next one is answered)."""
    results = bench.Results()
    tries = 6

    async def lesson(student) -> None:
        await student.join()
        for _ in range(tries):
            await student.act(student.activity)
            if results.latency[student.activity]:
                break
        await student.act(student.activity)  # again: after "Next question" (or another landmark)
        await student.leave()

    async def lessons() -> None:
        await asyncio.gather(*(lesson(bench.Student(i, server.url, results, seed=i, activity=action))
                               for i, action in enumerate(bench.ACTIONS)))

    run(lessons())
    assert dict(results.failures) == {}
    assert {a: bool(results.latency[a]) for a in bench.ACTIONS} == dict.fromkeys(bench.ACTIONS, True)
    assert len(results.latency["press"]) == 2


def test_the_report_names_every_action_memory_and_sessions_left(bench, server):
    report = run(bench.run_class(server, students=3, duration_s=4, ramp_s=0.5, mean_wait_s=0.5,
                                         after_close_s=LIFETIME_S + CHECK_S + SLACK_S, seed=10))
    assert report["joined"] == 3 and report["failures"] == {}
    assert set(report["actions"]) == {"press", "quiz", "drill"}
    assert sum(stats["n"] for stats in report["actions"].values()) >= 2
    for stats in report["actions"].values():
        assert stats["n"] == 0 or stats["p50_ms"] <= stats["p95_ms"] <= stats["max_ms"]
    assert report["server_mb_idle"] > 0 and "mb_per_idle_session" in report
    assert report["idle_sessions"] >= 3
    # a page whose websocket came after the (short) lifetime has its session built again
    assert report["sessions_built"] >= 3
    assert report["sessions_left"] == 0
