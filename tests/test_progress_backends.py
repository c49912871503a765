"""The progress store on both backends it supports: SQLite files and a real PostgreSQL server.

The PostgreSQL server is private to the test session (``tests/pg_server.py``, Debian's binaries,
installed by ``tests/run.sh``); these tests never skip.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from drill_helpers import choice_bank
from fsrs import Card, Rating, Scheduler
from test_quiz_drill import WORKER, env, wait_for

from handatlas.quiz.progress import SCHEMA_VERSION, ProgressStore, StoreError

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SCHED = Scheduler(enable_fuzzing=False)


def reviewed(rating: Rating, at: datetime = T0):
    return lambda card: SCHED.review_card(card or Card(card_id=1, due=at), rating, review_datetime=at)[0]


def sql(url: str, text: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(text))]
    finally:
        engine.dispose()


def test_learners_answers_and_cards_round_trip(store_url):
    with ProgressStore.open(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION
        ada = store.learner_id("ada")
        assert store.learner_id(" ada ") == ada and store.learner_id("bob") != ada
        sid = store.start_session("ada", tags=["topic:wrist"], match="any", count=2, at=T0)
        store.record_answer("ada", "q", "a", {"verdict": "avoid"}, score=0.0, correct=False, rating=1,
                            review=reviewed(Rating.Again), session_id=sid, at=T0)
        row = store.record_answer("ada", "q", "a", [2, 0], score=1.0, correct=True, rating=3,
                                  review=reviewed(Rating.Good, T0 + timedelta(minutes=1)), session_id=sid,
                                  at=T0 + timedelta(minutes=1))
        store.end_session(sid, at=T0 + timedelta(minutes=2))
    with ProgressStore.open(store_url) as store:  # reopened: everything is there
        assert store.learner_names() == ["ada", "bob"]
        assert [(a.answer, a.correct, a.answered_at) for a in store.answers("ada")] == [
            ({"verdict": "avoid"}, False, T0), ([2, 0], True, T0 + timedelta(minutes=1))]
        (card,) = store.cards("ada").values()
        assert card.reps == row.reps == 2
        assert store.session(sid)["ended_at"] == T0 + timedelta(minutes=2)


def test_an_answer_and_its_card_commit_together(store_url):
    def broken(card):
        raise RuntimeError("scheduler exploded")

    with ProgressStore.open(store_url) as store:
        with pytest.raises(RuntimeError, match="scheduler exploded"):
            store.record_answer("ada", "q", "a", 1, score=1.0, correct=True, rating=3, review=broken)
        assert store.answers("ada") == [] and store.cards("ada") == {}
    assert sql(store_url, "SELECT count(*) FROM answers") == [(0,)]


def test_stores_opening_a_fresh_database_at_once(store_url):
    """Four stores open one empty database at the same moment: one creates the tables, all open."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            barrier.wait(timeout=30)
            with ProgressStore.open(store_url) as store:
                store.learner_id("same learner")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sql(store_url, "SELECT key, value FROM meta") == [("schema_version", str(SCHEMA_VERSION))]
    assert sql(store_url, "SELECT count(*) FROM learners") == [(1,)]


def worker(url, quizzes, learner, answers, *extra):
    return subprocess.Popen([sys.executable, str(WORKER), url, str(quizzes), learner, answers,
                             *map(str, extra)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env())


def test_two_drills_at_once_lose_no_update(store_url, tmp_path):
    n = 20
    bank = choice_bank(tmp_path / "big", n=n)
    go = tmp_path / "go"
    ProgressStore.open(store_url).close()
    one = worker(store_url, bank, "pat", ",".join(["0"] * n), "--go", go, "--pause", 0.005)
    two = worker(store_url, bank, "pat", ",".join(["1"] * n), "--go", go, "--pause", 0.005)
    try:
        for proc in (one, two):
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()
        outs = [proc.communicate(timeout=60) for proc in (one, two)]
    finally:
        for proc in (one, two):
            proc.kill()
            proc.communicate(timeout=10)
    assert [one.returncode, two.returncode] == [0, 0], [err for _, err in outs]
    assert sql(store_url, "SELECT count(*), sum(CASE WHEN correct THEN 1 ELSE 0 END) FROM answers") == [
        (2 * n, n)]
    assert sql(store_url, "SELECT count(*), min(reps), max(reps) FROM cards") == [(n, 2, 2)]


def test_a_killed_drill_loses_nothing_acknowledged(store_url, tmp_path):
    bank = choice_bank(tmp_path / "bank", n=12)
    proc = worker(store_url, bank, "kim", "0,1,0,0,1", "--then-sleep", 60)
    acknowledged = 0
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        while acknowledged < 5:
            line = proc.stdout.readline()
            assert line.startswith("answered"), (line, proc.stderr.read())
            acknowledged += 1
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    wait_for(lambda: sql(store_url, "SELECT count(*) FROM answers") == [(5,)], what="five answers")
    assert sql(store_url, "SELECT sum(reps) FROM cards") == [(5,)]


def test_a_missing_driver_is_named_with_the_extra(monkeypatch, postgres_url):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg -> ImportError
    with pytest.raises(StoreError) as err:
        ProgressStore.open(postgres_url)
    message = str(err.value)
    assert "its driver is missing" in message and "pip install 'handatlas[postgres]'" in message


def test_serve_names_a_bad_store_before_serving(capsys, monkeypatch):
    from handatlas.cli import main

    monkeypatch.setitem(sys.modules, "psycopg", None)
    code = main(["serve", "--db", "postgresql+psycopg://nobody@/school?host=/nonexistent", "--port", "5999"])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'handatlas[postgres]'" in err and "serving on" not in err


def version_2_metadata() -> sa.MetaData:
    """The tables as handatlas wrote them at schema version 2 (answers without ``shown``)."""
    from handatlas.quiz import progress

    v2 = sa.MetaData()
    for name in ("meta", "learners", "cards", "sessions", "learner_codes", "login_failures"):
        progress.metadata.tables[name].to_metadata(v2)
    sa.Table("answers", v2,
             sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id"), nullable=True),
             sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id"), nullable=False),
             sa.Column("quiz_id", sa.String(80), nullable=False),
             sa.Column("question_id", sa.String(80), nullable=False),
             sa.Column("answer", sa.Text, nullable=False),
             sa.Column("score", sa.Float, nullable=False),
             sa.Column("correct", sa.Boolean, nullable=False),
             sa.Column("seconds", sa.Float, nullable=True),
             sa.Column("rating", sa.Integer, nullable=False),
             sa.Column("answered_at", sa.DateTime, nullable=False),
             sa.Index("ix_answers_learner_time", "learner_id", "answered_at"))
    return v2


def version_1_store(url: str) -> None:
    """A store as handatlas wrote it at schema version 1 (learner names case-sensitive), holding
    'Ada' and 'ada' (each with answers, a session and a card for question q) and 'Bo'."""
    v2 = version_2_metadata()
    v1 = sa.MetaData()
    sa.Table("learners", v1, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("name", sa.String(200), nullable=False, unique=True),
             sa.Column("created_at", sa.DateTime, nullable=False))
    for name in ("meta", "cards", "sessions", "answers"):
        v2.tables[name].to_metadata(v1)
    engine = sa.create_engine(url)
    t = v1.tables
    state = {name: reviewed(rating, at)(None).to_json()
             for name, rating, at in (("Ada", Rating.Good, T0),
                                      ("ada", Rating.Again, T0 + timedelta(days=1)))}
    try:
        with engine.begin() as conn:
            v1.create_all(conn)
            conn.execute(t["meta"].insert().values(key="schema_version", value="1"))
            for lid, name in ((1, "Ada"), (2, "ada"), (3, "Bo")):
                conn.execute(t["learners"].insert().values(id=lid, name=name, created_at=T0))
            for lid, name, day in ((1, "Ada", 0), (2, "ada", 1)):
                at = T0 + timedelta(days=day)
                conn.execute(t["sessions"].insert().values(id=lid, learner_id=lid, tags="[]", match="any",
                                                           count=1, started_at=at))
                conn.execute(t["answers"].insert().values(
                    session_id=lid, learner_id=lid, quiz_id="z", question_id="q", answer="0", score=1.0 - day,
                    correct=not day, rating=3 - 2 * day, answered_at=at))
                conn.execute(t["cards"].insert().values(
                    learner_id=lid, quiz_id="z", question_id="q", state=state[name], due=at, reps=1,
                    lapses=day, updated_at=at))
            conn.execute(t["cards"].insert().values(
                learner_id=2, quiz_id="z", question_id="only_lower", state=state["ada"], due=T0, reps=1,
                lapses=0, updated_at=T0))
    finally:
        engine.dispose()


def test_a_version_1_store_is_upgraded_to_case_insensitive_names(store_url):
    """'Ada' and 'ada' of a version 1 store become one learner: every answer and session kept."""
    version_1_store(store_url)
    with ProgressStore.open(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        assert store.learner_names() == ["Ada", "Bo"]
        assert store.learner_id("ADA") == store.learner_id("ada") == store.learner_id(" Ada ") == 1
        assert store.learner_name("aDa") == "Ada"
        assert [(a.session_id, a.score) for a in store.answers("ada")] == [(1, 1.0), (2, 0.0)]
        cards = store.cards("ADA")
        assert sorted(cards) == [("z", "only_lower"), ("z", "q")]
        q = cards[("z", "q")]
        # the newer card, with the reps and lapses of both
        assert (q.reps, q.lapses, q.updated_at) == (2, 1, T0 + timedelta(days=1))
        assert q.card.last_review == T0 + timedelta(days=1)
        assert store.learner_id("bo", create=False) == 3
        assert store.learner_id("Carl") == store.learner_id("CARL") and store.learner_names()[-1] == "Carl"
    assert sql(store_url, "SELECT count(*) FROM learners") == [(3,)]


def version_2_store(url: str) -> dict[str, list[tuple]]:
    """A store as handatlas wrote it at schema version 2: two learners (one with a code), two
    sessions, three answers, two cards and a sign-in failure.  Returns every table's rows."""
    v2 = version_2_metadata()
    t = v2.tables
    card = reviewed(Rating.Good)(None).to_json()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            v2.create_all(conn)
            conn.execute(t["meta"].insert().values(key="schema_version", value="2"))
            for lid, name in ((1, "Ada"), (2, "Bo")):
                conn.execute(t["learners"].insert().values(id=lid, name=name, name_key=name.lower(),
                                                           created_at=T0))
                conn.execute(t["sessions"].insert().values(id=lid, learner_id=lid, tags='["topic:wrist"]',
                                                           match="any", count=2, started_at=T0,
                                                           ended_at=T0 + timedelta(minutes=5)))
                conn.execute(t["cards"].insert().values(learner_id=lid, quiz_id="z", question_id="q",
                                                        state=card, due=T0, reps=lid, lapses=0,
                                                        updated_at=T0))
            for i, (lid, answer, score) in enumerate(((1, "[0, 2]", 0.5), (1, '"median"', 1.0),
                                                      (2, '{"verdict": "avoid"}', 0.0)), 1):
                conn.execute(t["answers"].insert().values(
                    session_id=lid, learner_id=lid, quiz_id="z", question_id="q", answer=answer,
                    score=score, correct=score == 1.0, seconds=4.5, rating=3,
                    answered_at=T0 + timedelta(minutes=i)))
            conn.execute(t["learner_codes"].insert().values(learner_id=1, code_hash="pbkdf2$x", set_at=T0))
            conn.execute(t["login_failures"].insert().values(key="account:bo", failures=2, first_at=T0))
    finally:
        engine.dispose()
    return {name: sql(url, f"SELECT * FROM {name} ORDER BY 1, 2") for name in t if name != "meta"}


def test_a_version_2_store_is_upgraded_keeping_every_row(store_url):
    """Version 2 -> 3 adds answers.shown (the order a learner saw); no row changes or goes."""
    before = version_2_store(store_url)
    with ProgressStore.open(store_url) as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        old = store.answers("ada")
        assert [(a.answer, a.score, a.shown) for a in old] == [([0, 2], 0.5, None), ("median", 1.0, None)]
        store.record_answer("Ada", "z", "q", 1, score=0.0, correct=False, rating=1,
                            review=reviewed(Rating.Again, T0 + timedelta(hours=1)),
                            at=T0 + timedelta(hours=1), shown={"options": [2, 0, 1]})
    after = {name: sql(store_url, f"SELECT * FROM {name} ORDER BY 1, 2") for name in before}
    for name in ("learners", "sessions", "learner_codes", "login_failures"):
        assert after[name] == before[name], name
    assert [r[:-1] for r in after["answers"][:3]] == before["answers"]  # the same rows, shown NULL
    assert [r[-1] for r in after["answers"]] == [None, None, None, '{"options": [2, 0, 1]}']
    assert after["cards"][1] == before["cards"][1]  # Bo's card untouched; Ada's reviewed again
    with ProgressStore.open(store_url) as store:  # opened again: nothing to upgrade, nothing lost
        assert store.schema_version == 3
        assert [a.shown for a in store.answers("ada")] == [None, None, {"options": [2, 0, 1]}]
        assert len(store.answers("bo")) == 1


def test_learner_names_are_case_insensitive(store_url):
    with ProgressStore.open(store_url) as store:
        zoe = store.learner_id("Zoë Ann")
        assert store.learner_id("ZOË  ann") == store.learner_id("zoë ann") == zoe
        store.record_answer("zoë ann", "z", "q", 0, score=1.0, correct=True, rating=3,
                            review=reviewed(Rating.Good))
    with ProgressStore.open(store_url) as store:  # a new process finds the progress under any case
        assert store.learner_names() == ["Zoë Ann"]
        assert [a.question_id for a in store.answers("ZOË ANN")] == ["q"]
        with pytest.raises(KeyError, match="no learner named 'Zed'"):
            store.learner_id("Zed", create=False)
