"""The instructors' class report: per learner and topic, the class's weakest topics first, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from drill_helpers import choice_bank
from fsrs import Card, Rating, Scheduler

from handatlas.cli import main
from handatlas.quiz.classreport import CSV_COLUMNS, class_report, csv_text
from handatlas.quiz.drill import load_bank
from handatlas.quiz.progress import ProgressStore

DAY0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def answer(store: ProgressStore, learner: str, qid: str, *, right: bool, at: datetime) -> None:
    """Record one answer to choice question ``qid`` of the fixture bank, as a drill does."""
    rating = Rating.Good if right else Rating.Again
    scheduler = Scheduler()

    def review(card):
        return scheduler.review_card(card or Card(due=at), rating, review_datetime=at)[0]

    store.record_answer(learner, "drills", qid, 0 if right else 1, score=float(right), correct=right,
                        rating=int(rating), review=review, seconds=5.0, at=at)


@pytest.fixture
def classroom(tmp_path):
    """Ann: wrist right, thumb wrong; Ben: wrist right, palm right twice; Cy: registered, no answers.

    Fixture bank topics: c00 wrist, c01 thumb, c02 palm, c03 nerves, c04 wrist...
    """
    bank = choice_bank(tmp_path / "bank")
    db = tmp_path / "class.sqlite"
    with ProgressStore.open(db) as store:
        answer(store, "ann", "c00", right=True, at=DAY0)
        answer(store, "ann", "c01", right=False, at=DAY0 + timedelta(hours=1))
        answer(store, "ann", "c05", right=False, at=DAY0 + timedelta(hours=2))
        answer(store, "ben", "c04", right=True, at=DAY0)
        answer(store, "ben", "c02", right=True, at=DAY0)
        answer(store, "ben", "c02", right=True, at=DAY0 + timedelta(days=1))
        store.learner_id("cy")
    return bank, db


def test_rows_per_learner_and_topic(classroom):
    bank, db = classroom
    with ProgressStore.open(db) as store:
        report = class_report(store, load_bank(bank), now=DAY0 + timedelta(days=2))
    rows = {(r.learner, r.topic): r for r in report.rows}
    assert set(rows) == {("ann", "wrist"), ("ann", "thumb"), ("ben", "wrist"), ("ben", "palm")}
    assert set(report.learners) == {"ann", "ben", "cy"}
    thumb = rows["ann", "thumb"]
    assert (thumb.answers, thumb.accuracy, thumb.mean_score, thumb.cards) == (2, 0.0, 0.0, 2)
    assert thumb.last == DAY0 + timedelta(hours=2)
    palm = rows["ben", "palm"]
    assert (palm.answers, palm.accuracy, palm.cards) == (2, 1.0, 1)
    # failed cards are forgotten sooner: two days on, Ann's thumb is due and predicted below Ben's palm
    assert thumb.due == 2 and palm.due == 0
    assert thumb.recall < rows["ann", "wrist"].recall and thumb.recall < palm.recall
    # the class's weakest topic first; Ann's weakest first among her rows
    assert report.topics[0].topic == "thumb" and report.topics[0].learners == 1
    wrist = next(t for t in report.topics if t.topic == "wrist")
    assert (wrist.learners, wrist.answers, wrist.accuracy) == (2, 2, 1.0)
    assert [r.topic for r in report.for_learner("ann")] == ["thumb", "wrist"]


def test_csv_export(classroom):
    bank, db = classroom
    with ProgressStore.open(db) as store:
        store.learner_id("=HYPERLINK(\"http://x\")")  # a hostile name stays text in a spreadsheet
        answer(store, "=HYPERLINK(\"http://x\")", "c00", right=True, at=DAY0)
        text = csv_text(class_report(store, load_bank(bank), now=DAY0 + timedelta(days=2)))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 5
    ann = [r for r in rows if r["learner"] == "ann"]
    assert [r["topic"] for r in ann] == ["thumb", "wrist"]
    assert ann[0]["answers"] == "2" and ann[0]["accuracy"] == "0.000" and ann[0]["cards_due"] == "2"
    assert ann[1]["last_activity"] == "2026-11-02T09:00:00Z"
    assert any(r["learner"] == "'=HYPERLINK(\"http://x\")" for r in rows)


def test_class_command(classroom, tmp_path, capsys):
    bank, db = classroom
    out = tmp_path / "class.csv"
    assert main(["class", "--db", str(db), "--quizzes", str(bank), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 learners; the weakest topics first:" in printed
    assert printed.index("thumb") < printed.index("palm")
    assert f"{out}: 4 rows (3 learners)" in printed
    assert out.read_text().startswith(",".join(CSV_COLUMNS))
    assert main(["class", "--db", str(db), "--quizzes", str(bank), "-o", str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err


def test_class_command_refuses_a_store_that_is_not_there(classroom, tmp_path, capsys):
    """A typo in --db is told, not answered with an empty class (and no empty store is left)."""
    bank, _ = classroom
    typo = tmp_path / "progres.sqlite"
    assert main(["class", "--db", str(typo), "--quizzes", str(bank)]) == 2
    err = capsys.readouterr().err
    assert "no progress store" in err and str(typo) in err
    assert not typo.exists()
