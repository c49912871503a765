"""A class on one server: N simulated students, each a lightweight websocket client of the real app.

``handatlas serve`` runs as a subprocess (``--num-procs``), with a fresh progress store and
secret.  The students (no browsers: :mod:`session_client` over HTTP and Bokeh's websocket,
keeping the page as JSON) join one by one over the ramp, each opening the page and its
websocket, then act every 5 s on average (exponential waits) until the end.  A class does three
things, a third of the students each (a running quiz turns pressing off, as in an exam):

- **press**: in Press mode, pick another landmark; timed until the patch with the verdict
  label at the pressed point;
- **quiz**: in Quiz mode, choose the first option of the shown question and Submit; timed until
  the patch with the feedback (its "Next question" button); the next question is then asked for
  (not timed);
- **drill**: the same in Drill mode, after signing in with a name and personal code (the
  sign-in, a password hash, is not timed; it is one per student).

Questions without a choice to make (locate, typed name, order) are skipped (not timed).
Latency is the time from sending the change to the server's patch that answers it: the
generator shares the machine, so it is included.  Memory per idle session is the growth of the
server's memory (PSS, summed over its processes: shared pages counted once) from before the
students join to when they have all joined and not yet acted, divided by the sessions the server
then holds (its log; a page whose join failed still has one, until its lifetime ends).
Sessions left are the server's own count (its log) 30 s after every student has closed.

Run: ``.venv/bin/python benchmarks/bench_classroom.py --students 200 --procs 1 --duration 120``.
Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from session_client import Browser, Socket, find_class, free_port, raw_models

ACTIONS = ("press", "quiz", "drill")
MODE_INDEX = {"explore": 0, "press": 1, "quiz": 2, "drill": 3}
#: A CSS class of each mode's panels, which the server makes when the mode is first chosen.
MODE_CLASS = {"press": "press-landmark", "quiz": "quiz-start", "drill": "drill-start"}
CHOICES = ("q-options", "q-verdict", "q-territory")
LANDMARKS = ("anatomical_snuffbox", "radial_pulse", "carpal_tunnel", "guyons_canal")
QUESTION_NUMBER = re.compile(r"Question (\d+) of (\d+)")
SESSION_LINE = re.compile(r"process (\d+): a session (opened|closed), (\d+) (?:live|left)")
#: Seconds after the last student closes when the sessions left are counted.
AFTER_CLOSE_S = 30.0
#: Seconds an action's answer may take before it counts as a failure (and a question's display).
ACTION_TIMEOUT_S = 30.0
SETUP_TIMEOUT_S = 20.0


@dataclass
class Server:
    """``handatlas serve`` in a subprocess, its session counts read from its log."""

    url: str
    proc: subprocess.Popen[str]
    live: dict[int, int] = field(default_factory=dict)
    opened: int = 0
    log: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def sessions(self) -> int:
        """Sessions alive now, over every server process."""
        return sum(self.live.values())

    def pss_mb(self) -> float:
        """The proportional set size of the server's processes (shared pages split between them), MB."""
        total = 0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            total += int(re.search(r"^Pss:\s+(\d+) kB", rollup, re.M).group(1))
        return total / 1024

    def stop(self) -> None:
        """Stop the server's processes: its process group (the forked ones outlive a parent killed alone)."""
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.reader is not None:
            self.reader.join(10)
        self.proc.stderr.close()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def start_server(*, procs: int, workdir: Path, lifetime_s: float | None = None,
                 check_s: float | None = None) -> Server:
    """Start ``handatlas serve`` on a free port and wait until it answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDATLAS_")}
    env.update(XDG_CONFIG_HOME=str(workdir / "config"), XDG_DATA_HOME=str(workdir / "data"))
    cmd = [sys.executable, "-c", "import sys; from handatlas.cli import main; sys.exit(main())", "serve",
           "--port", str(port), "--num-procs", str(procs), "--db", str(workdir / "progress.sqlite")]
    if lifetime_s is not None:
        cmd += ["--session-lifetime", str(lifetime_s)]
    if check_s is not None:
        cmd += ["--session-check", str(check_s)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    server = Server(url=f"http://127.0.0.1:{port}/", proc=proc)

    def read_log() -> None:
        for line in proc.stderr:
            server.log.append(line)
            found = SESSION_LINE.search(line)
            if found:
                server.live[int(found.group(1))] = int(found.group(3))
                server.opened += found.group(2) == "opened"

    server.reader = threading.Thread(target=read_log, daemon=True)
    server.reader.start()
    t0 = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise RuntimeError("handatlas serve exited:\n" + "".join(server.log[-20:]))
        try:
            if Browser(server.url).request("login")[0] in (200, 302, 404):
                return server
        except OSError:
            pass
        if time.monotonic() - t0 > 180:
            server.stop()
            raise RuntimeError("handatlas serve never answered")
        time.sleep(0.3)


@dataclass
class Results:
    """Latencies (s) by action, and what went wrong."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: int = 0


def _has(patch: dict[str, Any], text: str) -> bool:
    return text in json.dumps(patch)


def _question(patch: dict[str, Any]) -> bool:
    return _has(patch, '"q-submit"')


def _classes(patch: dict[str, Any], css_classes: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """(id, type name) of the models in ``patch`` with these CSS classes (those it has)."""
    models = raw_models(patch)
    found = {}
    for css in css_classes:
        try:
            found[css] = find_class(models, css)
        except KeyError:
            pass
    return found


class Student:
    """One simulated student: a page, its websocket, and the state of their quiz and drill."""

    def __init__(self, number: int, server_url: str, results: Results, *, seed: int,
                 activity: str = "press") -> None:
        self.number = number
        self.activity = activity
        self.url = server_url
        self.results = results
        self.rng = random.Random(seed)
        self.sock: Socket | None = None
        self.mode = "explore"
        self.landmark = ""
        self.question: dict[str, dict[str, tuple[str, str]]] = {}  # mode -> css class -> (id, type)
        self.started: set[str] = set()  # modes with a question shown, not yet answered
        self.running: set[str] = set()  # modes with a quiz or drill under way
        self.last: dict[str, bool] = {}  # mode -> whether the question shown is its run's last
        self.step = ""  # what the student waits for (named in a failure)
        self.visited = {"explore"}  # modes whose panels the page has
        self.next_button: dict[str, tuple[str, str]] = {}  # mode -> its Next button (id, type)

    async def join(self) -> None:
        """Open the page and its websocket, pull the page, say it is shown."""
        browser = Browser(self.url)
        token = await asyncio.to_thread(browser.open_page)
        self.sock = await Socket.connect(self.url, token, cookies=browser.cookie_header())
        await self.sock.pull_raw()
        for model in self.sock.raw.values():  # the meshes (1.5 MB): not needed, and 200 copies weigh
            model["attributes"].pop("meshes", None)
        await self.sock.ready()

    async def leave(self) -> None:
        if self.sock is not None:
            await self.sock.close()

    async def act(self, action: str) -> None:
        """Do ``action`` and record its latency (or its failure)."""
        try:
            await getattr(self, action)()
        except (TimeoutError, KeyError, ConnectionError) as exc:
            self.results.failures[f"{action}: {type(exc).__name__} waiting for {self.step}"] += 1

    async def _mode(self, mode: str) -> None:
        if self.mode != mode:
            await self.sock.change("modes", "active", MODE_INDEX[mode])
            self.mode = mode
            if mode not in self.visited:  # its panels are made now: wait until they have come
                self.step = f"the {mode} mode's panels"
                # its controls, and for a quiz or drill its own Next button (the other has one
                # too), which may come in a patch of their own
                wanted = [f'"{MODE_CLASS[mode]}"'] + (['"q-next"'] if mode in ("quiz", "drill") else [])
                seen: dict[str, Any] = {}

                def arrived(patch: dict[str, Any]) -> bool:
                    seen.update({css: patch for css in wanted if _has(patch, css)})
                    return len(seen) == len(wanted)

                await self.sock.wait_for_patch(arrived, timeout=SETUP_TIMEOUT_S)
                if '"q-next"' in seen:
                    self.next_button[mode] = find_class(raw_models(seen['"q-next"']), "q-next")
                self.visited.add(mode)

    async def _timed(self, action: str, send: Any, answered: Any) -> None:
        self.step = f"the answer of a {action}"
        t0 = time.perf_counter()
        await send
        await self.sock.wait_for_patch(answered, timeout=ACTION_TIMEOUT_S)
        self.results.latency[action].append(time.perf_counter() - t0)

    async def press(self) -> None:
        await self._mode("press")
        self.landmark = self.rng.choice([lm for lm in LANDMARKS if lm != self.landmark])
        changed = self.sock.change("press-landmark", "value", self.landmark)
        await self._timed("press", changed, lambda p: _has(p, '"attr": "label"') and _has(p, '"title"'))

    async def _next_question(self, mode: str, send: Any) -> None:
        """Send ``send`` and keep the widgets of the question it shows (read from its own patch)."""
        shown: list[dict[str, Any]] = []
        self.step = f"a {mode} question"
        await send
        await self.sock.wait_for_patch(lambda p: _question(p) and not shown.append(p),
                                       timeout=SETUP_TIMEOUT_S)
        self.question[mode] = _classes(shown[-1], (*CHOICES, "q-at-risk", "q-submit", "q-skip"))
        number = QUESTION_NUMBER.search(json.dumps(shown[-1]))
        self.last[mode] = number is not None and number.group(1) == number.group(2)
        self.started.add(mode)

    async def _start(self, mode: str) -> None:
        if mode == "quiz":
            send = self.sock.press("quiz-start")
            if "quiz" in self.running:  # starting again while a quiz runs asks first
                await send
                send = self.sock.press("quiz-confirm")
        else:
            await self.sock.change("drill-learner", "value", f"student{self.number}")
            await self.sock.change("drill-code", "value", f"code-{self.number}-x")
            send = self.sock.press("drill-start")
        await self._next_question(mode, send)
        self.running.add(mode)

    async def _answer(self, mode: str) -> None:
        await self._mode(mode)
        if mode not in self.started:
            await self._start(mode)
        shown = self.question[mode]
        self.started.discard(mode)  # until the next question is shown
        choice = next((css for css in CHOICES if css in shown), None)
        def answered(patch: dict[str, Any]) -> bool:  # the feedback's text: the right answer
            return _has(patch, "Answer:")

        if choice is None:  # nothing to choose (locate, a typed name, an order): skip it, not timed
            self.results.skipped += 1
            self.step = f"the skip of a {mode} question"
            await self.sock.press(shown["q-skip"])
            await self.sock.wait_for_patch(answered, timeout=ACTION_TIMEOUT_S)
        else:
            await self.sock.change(shown[choice], "active", [0])
            if "q-at-risk" in shown:  # a press question asks the verdict and what is at risk
                options = self.sock.raw[shown["q-at-risk"][0]]["attributes"]["options"]
                first = options[0][0] if isinstance(options[0], list | tuple) else options[0]
                await self.sock.change(shown["q-at-risk"], "value", [first])
            await self._timed(mode, self.sock.press(shown["q-submit"]), answered)
        nxt = self.next_button[mode]
        if self.last[mode]:  # the quiz or drill is over: its result comes (not timed)
            self.running.discard(mode)
            if self.sock.raw[nxt[0]]["attributes"].get("visible") is not False:
                self.step = f"the result of a {mode}"
                await self.sock.press(nxt)
                await self.sock.wait_for_patch(lambda _p: True, timeout=SETUP_TIMEOUT_S)
        else:
            await self._next_question(mode, self.sock.press(nxt))

    async def quiz(self) -> None:
        await self._answer("quiz")

    async def drill(self) -> None:
        await self._answer("drill")


async def run_class(server: Server, *, students: int, duration_s: float, ramp_s: float,
                    mean_wait_s: float = 5.0, after_close_s: float = AFTER_CLOSE_S,
                    seed: int = 0) -> dict[str, Any]:
    """Join ``students`` over ``ramp_s``, let them act for ``duration_s``, close them all."""
    results = Results()
    class_ = [Student(i, server.url, results, seed=seed + i, activity=ACTIONS[i % len(ACTIONS)])
              for i in range(students)]
    await asyncio.sleep(0)
    before_mb = server.pss_mb()
    opened_before = server.opened

    async def join(student: Student, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            await student.join()
        except Exception as exc:  # a refused or failed join is reported, not fatal
            results.failures[f"join: {type(exc).__name__}"] += 1
            student.sock = None

    await asyncio.gather(*(join(s, ramp_s * i / max(students, 1)) for i, s in enumerate(class_)))
    joined = [s for s in class_ if s.sock is not None]
    await asyncio.sleep(2)  # the last pages settle
    idle_mb = server.pss_mb()
    idle_sessions = server.sessions()  # (and the warm-up's, if its lifetime has not ended yet)
    t_end = time.monotonic() + duration_s

    async def live(student: Student) -> None:
        while True:
            wait = student.rng.expovariate(1 / mean_wait_s)
            if time.monotonic() + wait > t_end:
                return
            await asyncio.sleep(wait)
            await student.act(student.activity)

    await asyncio.gather(*(live(s) for s in joined))
    busy_mb = server.pss_mb()
    await asyncio.gather(*(s.leave() for s in joined), return_exceptions=True)
    closed_at = time.monotonic()
    await asyncio.sleep(after_close_s)
    return {
        "students": students,
        "joined": len(joined),
        "duration_s": duration_s,
        "actions": {a: _stats(results.latency.get(a, [])) for a in ACTIONS},
        "skipped_questions": results.skipped,
        "failures": dict(results.failures),
        "server_mb_before": round(before_mb, 1),
        "server_mb_idle": round(idle_mb, 1),
        "server_mb_busy": round(busy_mb, 1),
        "idle_sessions": idle_sessions,
        "mb_per_idle_session": round((idle_mb - before_mb) / max(idle_sessions, 1), 2),
        "sessions_built": server.opened - opened_before,
        "sessions_left_after_s": round(time.monotonic() - closed_at, 1),
        "sessions_left": server.sessions(),
    }


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "p50_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": round(p95 * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


def warm_up(server: Server) -> None:
    """One page and websocket before measuring (the first session imports and compiles lazily)."""
    async def once() -> None:
        student = Student(-1, server.url, Results(), seed=0)
        await student.join()
        await student.press()
        await student.leave()

    for _ in range(max(1, len(_children(server.proc.pid)))):
        asyncio.run(once())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20, help="simulated students (default 20)")
    parser.add_argument("--procs", type=int, default=1, help="handatlas serve --num-procs (default 1)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of acting, after the ramp")
    parser.add_argument("--ramp", type=float, help="seconds over which the students join "
                        "(default 0.25 s a student)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ramp = args.ramp if args.ramp is not None else 0.25 * args.students
    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        server = start_server(procs=args.procs, workdir=Path(tmp))
        try:
            warm_up(server)
            report = asyncio.run(run_class(server, students=args.students, duration_s=args.duration,
                                           ramp_s=ramp, seed=args.seed))
        finally:
            server.stop()
    report.update(procs=args.procs, cpus=os.cpu_count(), load_avg=[round(x, 2) for x in os.getloadavg()])
    print(f"{args.students} students, --num-procs {args.procs}, {args.duration:g} s after a {ramp:g} s ramp "
          f"({report['joined']} joined; load average now {report['load_avg']})")
    for action, stats in report["actions"].items():
        if stats["n"]:
            print(f"  {action:6s} n={stats['n']:5d}  p50 {stats['p50_ms']:7.1f} ms  "
                  f"p95 {stats['p95_ms']:7.1f} ms  max {stats['max_ms']:7.1f} ms")
        else:
            print(f"  {action:6s} n=0")
    print(f"  questions skipped (nothing to choose): {report['skipped_questions']}; "
          f"failures: {report['failures'] or 'none'}")
    print(f"  server memory (PSS): {report['server_mb_before']} MB before, {report['server_mb_idle']} MB "
          f"with every student idle ({report['idle_sessions']} sessions), {report['server_mb_busy']} MB "
          f"busy: {report['mb_per_idle_session']} MB per idle session")
    print(f"  sessions built: {report['sessions_built']} for {report['joined']} students; "
          f"left {report['sessions_left_after_s']} s after all closed: {report['sessions_left']}")
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()
