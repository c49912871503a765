"""A review of past drill answers shows each question's options in the order the learner saw them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from drill_helpers import choice_bank, spatial_bank
from fsrs import Scheduler
from test_quiz_drill import run_cli

from handatlas.cli import main
from handatlas.quiz.drill import Drill, load_bank
from handatlas.quiz.progress import AnswerRow, ProgressStore
from handatlas.quiz.review import past_answer, past_answers, review_text, seen_order
from handatlas.quiz.session import DrillRun

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    with ProgressStore.open(tmp_path / "progress.sqlite") as s:
        yield s


def new_drill(store, bank, **kw):
    kw.setdefault("learner", "ada")
    kw.setdefault("seed", 0)
    return Drill(store, bank, scheduler=Scheduler(enable_fuzzing=False), clock=lambda: T0, **kw)


def shuffled_choice(drill):
    """The first handed-out choice question whose options are not shown in the file's order."""
    while (dq := drill.next_question()) is not None:
        if dq.type == "choice" and list(dq.option_order) != sorted(dq.option_order):
            return dq
        drill.skip(dq.uid)
    raise AssertionError("no shuffled choice question")


def test_a_drill_answer_keeps_the_order_shown_and_the_review_shows_it(store, tmp_path):
    bank = choice_bank(tmp_path / "bank")
    drill = new_drill(store, bank, types=["choice"], count=12)
    dq = shuffled_choice(drill)
    shown = [dq.question.options[i] for i in dq.option_order]  # what the terminal and the app show
    wrong = shown.index("also wrong")
    drill.answer(dq.uid, dq.option_order[wrong])  # the file's index of the option picked
    (row,) = store.answers("ada")
    assert row.shown == {"options": list(dq.option_order)}
    (past,) = past_answers(store, drill.bank, "ada", missed=True)
    assert past.as_seen and past.options == tuple(shown)
    assert past.picked == (wrong,) and past.right == (shown.index("right"),)
    text = review_text(past).splitlines()
    assert text[0] == f"{dq.uid}, 2026-03-01 09:00 UTC: wrong (score 0.00)"
    assert text[2:] == [f"    {n}. {o}" + ("  <- your answer" if o == "also wrong" else
                                            "  (right)" if o == "right" else "")
                        for n, o in enumerate(shown, 1)]


def test_the_app_drill_records_the_order_its_page_shows(store, tmp_path):
    """DrillRun (the web app's drill) shows the options in the order the store then keeps."""
    drill = new_drill(store, choice_bank(tmp_path / "bank", n=6), types=["choice"], count=6, seed=4)
    run = DrillRun(drill)
    seen = []  # every asking (a miss is asked again, in a new order), in the order answered
    while (public := run.current) is not None:
        seen.append((drill.next_question().uid, public.options))
        run.answer(public.options.index("wrong"), uid=public.uid)  # position on the page
    pasts = past_answers(store, drill.bank, "ada")
    assert [(p.uid, p.options) for p in pasts] == seen and len(seen) == 18  # each asked 3 times
    assert len({p.options for p in pasts}) > 1  # not one fixed order
    for past in pasts:
        assert past.as_seen and past.options[past.picked[0]] == "wrong"
        assert past.options[past.right[0]] == "right"


def test_order_and_identify_answers_are_reviewed_as_seen(store, tmp_path, fixture_atlas):
    bank = spatial_bank(tmp_path / "bank")
    choice_bank(bank, n=1, quiz_id="choices")
    drill = new_drill(store, bank, types=["order", "identify"], count=5, atlas=fixture_atlas)
    asked = {}
    for _ in range(2):  # both wrong: a reversed order, a typed wrong name
        dq = drill.next_question()
        asked[dq.uid] = dq
        drill.answer(dq.uid, list(reversed(dq.question.items)) if dq.type == "order" else "hamate")
    order, bone = asked["choices/seq"], asked["spatial/bone"]
    pasts = {p.uid: p for p in past_answers(store, drill.bank, "ada", atlas=fixture_atlas)}
    assert pasts["choices/seq"].items == order.items and pasts["choices/seq"].as_seen
    text = review_text(pasts["choices/seq"])
    assert "  Shown: " + "  ".join(f"{n}. {i}" for n, i in enumerate(order.items, 1)) in text
    assert "Right order: first, second, third, fourth" in text
    names = tuple(fixture_atlas.structure(bone.question.options[i]).name for i in bone.option_order)
    assert pasts["spatial/bone"].options == names
    assert names[pasts["spatial/bone"].right[0]] == fixture_atlas.structure("capitate").name
    assert "Your answer: hamate" in review_text(pasts["spatial/bone"])


def row(shown, answer=1):
    return AnswerRow(1, None, "drills", "c00", answer, 0.0, False, 3.0, 1, T0, shown)


def test_an_answer_without_a_recorded_order_is_shown_in_the_files_order(tmp_path):
    """Answers from a version 2 store (shown NULL), or whose question's options changed since."""
    bank = {q.uid: q for q in load_bank(choice_bank(tmp_path / "bank", n=1))}
    for shown in (None, {"options": [1, 0]}, {"options": [0, 0, 1]}, {"options": [True, 0, 2]}):
        past = past_answer(row(shown), bank)
        assert not past.as_seen and past.options == ("right", "wrong", "also wrong")
        assert (past.picked, past.right) == ((1,), (0,))
        assert "(the order it was shown in was not recorded: the file's order)" in review_text(past)
    assert past_answer(row({"options": [2, 1, 0]}), bank).options == ("also wrong", "wrong", "right")
    gone = past_answer(AnswerRow(2, None, "old", "x", 0, 0.0, False, None, 1, T0), bank)
    assert gone.question is None and "no longer in the bank" in review_text(gone)
    assert seen_order(bank["drills/c00"].question, {"items": ["a"]}) is None


def test_the_terminal_drill_ends_with_the_missed_items_as_seen(tmp_path):
    bank = choice_bank(tmp_path / "bank", n=3)
    tags = ["topic:wrist", "topic:thumb"]
    with ProgressStore.open("sqlite://") as mem:  # the questions the command asks, as it draws them
        queue = Drill(mem, bank, learner="ann", count=2, seed=0, tags=tags).queue
    db = tmp_path / "p.sqlite"
    picks = [[dq.question.options[i] for i in dq.option_order] for dq in queue]
    # the first answered wrong ("wrong"), the second right
    answers = f"{picks[0].index('wrong') + 1}\n{picks[1].index('right') + 1}\nquit\n"
    r = run_cli(["--quizzes", bank, "--db", db, "--learner", "ann", "--count", "2", "--seed", "0",
                 "--tags", ",".join(tags)], answers)
    assert r.returncode == 0, r.stderr
    _, _, review = r.stdout.partition("Review of the items missed (options as you saw them):\n")
    assert review, r.stdout
    lines = review.splitlines()
    assert lines[0].startswith(f"{queue[0].uid}, ") and lines[0].endswith(": wrong (score 0.00)")
    assert lines[1] == f"  Question {int(queue[0].question.id[1:])}?"
    assert [ln.split(". ", 1)[1].split("  ")[0] for ln in lines[2:5]] == picks[0]
    assert queue[1].uid not in review


def test_drill_review_shows_the_latest_misses_as_seen_without_drilling(tmp_path, capsys):
    bank = choice_bank(tmp_path / "bank", n=4)
    db = tmp_path / "p.sqlite"
    with ProgressStore.open(db) as store:
        drill = new_drill(store, bank, types=["choice"], count=4, seed=2)
        seen = []
        for _ in range(4):  # wrong, right, wrong, wrong
            dq = drill.next_question()
            pick = "right" if len(seen) == 1 else "wrong"
            drill.answer(dq.uid, dq.question.options.index(pick))
            seen.append((dq.uid, [dq.question.options[i] for i in dq.option_order], pick))
        drill.close()
    common = ["drill", "--quizzes", str(bank), "--db", str(db), "--learner", "ADA"]
    assert main([*common, "--review", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Review of the items missed (options as you saw them):"
    heads = [n for n, line in enumerate(out) if line.startswith("drills/")]
    assert [out[n].split(",")[0] for n in heads] == [seen[2][0], seen[3][0]]  # the latest two misses
    for n, (_, options, _) in zip(heads, seen[2:], strict=True):
        assert [line.split(". ", 1)[1].split("  ")[0] for line in out[n + 2:n + 5]] == options
    assert main([*common, "--review"]) == 0 and capsys.readouterr().out.count("\ndrills/") == 3  # all
    with ProgressStore.open(db) as store:  # nothing drilled, nothing recorded
        assert len(store.answers("ada")) == 4
    assert main(["drill", "--quizzes", str(bank), "--db", str(db), "--learner", "zed", "--review"]) == 2
    assert capsys.readouterr().err == f"handatlas: error: no progress for learner 'zed' in sqlite:///{db}\n"
