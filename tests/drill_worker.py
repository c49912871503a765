"""A drill in a subprocess, for the kill and concurrency tests (run as a script).

    python tests/drill_worker.py DB QUIZ_DIR LEARNER ANSWERS [--go FILE] [--pause S] [--then-sleep S]

``ANSWERS`` is a comma-separated list of choice indices, answered in the drill's order, one per
question.  With ``--go`` the worker waits for FILE to exist before its first answer (so two workers
start together); ``--pause`` sleeps between answers; ``--then-sleep`` sleeps after the last one
(the drill still open) so that a test can kill it.  Prints ``answered N`` after each answer.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from fsrs import Scheduler

from handatlas.quiz.drill import Drill
from handatlas.quiz.progress import ProgressStore


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("db")
    p.add_argument("quizzes")
    p.add_argument("learner")
    p.add_argument("answers")
    p.add_argument("--go")
    p.add_argument("--pause", type=float, default=0.0)
    p.add_argument("--then-sleep", type=float, default=0.0)
    args = p.parse_args(argv)
    picks = [int(a) for a in args.answers.split(",")]
    store = ProgressStore.open(args.db)
    drill = Drill(store, args.quizzes, learner=args.learner, count=len(picks), types=["choice"], seed=0,
                  scheduler=Scheduler(enable_fuzzing=False))
    print("ready", flush=True)
    if args.go:
        deadline = time.monotonic() + 30
        while not Path(args.go).exists() and time.monotonic() < deadline:
            time.sleep(0.005)
    for n, pick in enumerate(picks, 1):
        dq = drill.next_question()
        drill.answer(dq.uid, pick, seconds=3.0)
        print(f"answered {n}", flush=True)
        if args.pause:
            time.sleep(args.pause)
    if args.then_sleep:
        time.sleep(args.then_sleep)
    drill.close()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
