"""The progress store: tables, schema version, clear errors, one transaction per answer."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from drill_helpers import integrity, query
from fsrs import Card, Rating, Scheduler, State

from handatlas.quiz import progress
from handatlas.quiz.progress import SCHEMA_VERSION, ProgressStore, StoreError, resolve_url

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SCHED = Scheduler(enable_fuzzing=False)


def reviewed(rating: Rating, at: datetime = T0):
    return lambda card: SCHED.review_card(card or Card(card_id=1, due=at), rating, review_datetime=at)[0]


@pytest.fixture
def db(tmp_path):
    return tmp_path / "progress.sqlite"


@pytest.fixture
def store(db):
    with ProgressStore.open(db) as s:
        yield s


def test_open_creates_the_tables_in_wal_mode(store, db):
    tables = {r[0] for r in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "learners", "cards", "answers", "sessions", "learner_codes", "login_failures"}
    assert query(db, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(SCHEMA_VERSION),)]
    assert store.schema_version == SCHEMA_VERSION
    assert query(db, "PRAGMA journal_mode") == [("wal",)]


def test_reopening_keeps_the_data(db):
    with ProgressStore.open(db) as s:
        s.learner_id("ada")
    with ProgressStore.open(f"sqlite:///{db}") as s:
        assert s.learner_names() == ["ada"]


def test_a_newer_schema_is_refused(db):
    ProgressStore.open(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as err:
        ProgressStore.open(db)
    assert str(err.value) == (f"the progress store sqlite:///{db} has schema version 99, newer than this "
                              f"handatlas reads ({SCHEMA_VERSION}): upgrade handatlas")


@pytest.mark.parametrize(("url", "message"), [
    ("not a url://x", "not a database URL: 'not a url://x' (expected e.g. sqlite:///path/progress.sqlite "
                      "or postgresql+psycopg://user@host/db)"),
    ("nosuchdialect://host/db", "cannot use the database URL 'nosuchdialect://host/db': "
                                "Can't load plugin: sqlalchemy.dialects:nosuchdialect"),
    ("postgresql+nosuchdriver://u:secret@h/db", "cannot use the database URL "
     "'postgresql+nosuchdriver://u:***@h/db': "
     "Can't load plugin: sqlalchemy.dialects:postgresql.nosuchdriver"),
])
def test_bad_urls_are_named_and_passwords_hidden(url, message):
    with pytest.raises(StoreError) as err:
        ProgressStore.open(url)
    assert str(err.value) == message


def test_a_missing_folder_is_named(tmp_path):
    path = tmp_path / "nope" / "p.sqlite"
    with pytest.raises(StoreError) as err:
        ProgressStore.open(path)
    assert str(err.value) == f"cannot open the progress store {path}: its folder {path.parent} does not exist"


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "p.sqlite"
    path.write_text("hello, I am a text file\n" * 100)
    with pytest.raises(StoreError) as err:
        ProgressStore.open(path)
    assert str(err.value) == f"cannot open the progress store sqlite:///{path}: file is not a database"


def test_a_path_that_cannot_be_opened_is_named(tmp_path):
    folder = tmp_path / "a_folder.sqlite"
    folder.mkdir()  # a folder where the file should be: unwritable as a database, even for root
    with pytest.raises(StoreError) as err:
        ProgressStore.open(folder)
    expected = f"cannot open the progress store sqlite:///{folder}: unable to open database file"
    assert str(err.value) == expected


def test_url_from_argument_environment_or_default(monkeypatch, tmp_path):
    monkeypatch.setenv(progress.DB_ENV, f"sqlite:///{tmp_path}/env.sqlite")
    assert resolve_url(None)[0].database == f"{tmp_path}/env.sqlite"
    assert resolve_url(tmp_path / "arg.sqlite")[0].database == f"{tmp_path}/arg.sqlite"
    monkeypatch.delenv(progress.DB_ENV)
    monkeypatch.setattr(progress, "default_db_path", lambda: tmp_path / "data" / "progress.sqlite")
    url, default = resolve_url(None)
    assert default and url.database == f"{tmp_path}/data/progress.sqlite"
    ProgressStore.open().close()  # the default folder is created
    assert (tmp_path / "data" / "progress.sqlite").is_file()


def test_default_path_is_in_the_user_data_dir():
    import platformdirs

    assert progress.default_db_path() == (
        progress.Path(platformdirs.user_data_dir("handatlas")) / "progress.sqlite")


def test_learners(store):
    a = store.learner_id("ada")
    assert store.learner_id("  ada ") == a
    assert store.learner_id("bob") != a
    assert store.learner_names() == ["ada", "bob"]
    with pytest.raises(KeyError, match="no learner named 'cy'"):
        store.learner_id("cy", create=False)
    with pytest.raises(ValueError, match="a learner name must be a non-empty text, not '  '"):
        store.learner_id("  ")


def test_record_and_read_answers_and_cards(store, db):
    sid = store.start_session("ada", tags=["topic:wrist"], match="any", count=3, time_limit=30, at=T0)
    store.record_answer("ada", "q", "a", {"verdict": "avoid", "at_risk": ["radial_artery"]}, score=0.5,
                        correct=False, rating=int(Rating.Hard), review=reviewed(Rating.Hard), seconds=12.5,
                        session_id=sid, at=T0)
    row = store.record_answer("ada", "q", "b", [2, 0], score=1.0, correct=True, rating=int(Rating.Good),
                              review=reviewed(Rating.Good), session_id=sid, at=T0 + timedelta(minutes=1))
    t2 = T0 + timedelta(minutes=2)
    store.record_answer("ada", "q", "a", "again", score=0.0, correct=False, rating=1,
                        review=reviewed(Rating.Again, t2), at=t2)
    store.end_session(sid, at=T0 + timedelta(minutes=5))
    assert row.reps == 1 and row.due > T0
    rows = store.answers("ada")
    assert [(a.question_id, a.answer, a.score, a.correct, a.seconds, a.rating) for a in rows] == [
        ("a", {"verdict": "avoid", "at_risk": ["radial_artery"]}, 0.5, False, 12.5, 2),
        ("b", [2, 0], 1.0, True, None, 3),
        ("a", "again", 0.0, False, None, 1),
    ]
    assert rows[0].answered_at == T0 and rows[0].session_id == sid
    assert [a.question_id for a in store.answers("ada", session_id=sid)] == ["a", "b"]
    assert [a.question_id for a in store.answers("ada", limit=1)] == ["a"]
    cards = store.cards("ada")
    assert set(cards) == {("q", "a"), ("q", "b")}
    assert cards[("q", "a")].reps == 2 and cards[("q", "b")].reps == 1
    assert cards[("q", "a")].card.state in (State.Learning, State.Relearning)
    assert store.cards("ada", [("q", "b")]).keys() == {("q", "b")}
    session = store.session(sid)
    assert session["tags"] == ["topic:wrist"] and session["ended_at"] == T0 + timedelta(minutes=5)
    assert query(db, "SELECT count(*) FROM cards") == [(2,)]


def test_an_answer_and_its_card_commit_together(store, db):
    def broken(card):
        raise RuntimeError("scheduler exploded")

    with pytest.raises(RuntimeError, match="scheduler exploded"):
        store.record_answer("ada", "q", "a", 1, score=1.0, correct=True, rating=3, review=broken, at=T0)
    assert store.answers("ada") == [] and store.cards("ada") == {}
    with pytest.raises(TypeError, match="cannot store an answer containing object"):
        store.record_answer("ada", "q", "a", object(), score=1.0, correct=True, rating=3,
                            review=reviewed(Rating.Good))
    assert query(db, "SELECT count(*) FROM answers") == [(0,)]
    assert integrity(db) == "ok"


def test_numpy_answers_are_stored_as_lists(store):
    import numpy as np

    store.record_answer("ada", "q", "loc", np.array([1.5, 2.0, 3.0]), score=1.0, correct=True, rating=3,
                        review=reviewed(Rating.Good))
    assert store.answers("ada")[0].answer == [1.5, 2.0, 3.0]


def test_in_memory_store():
    with ProgressStore.open("sqlite://") as s:
        s.record_answer("ada", "q", "a", 0, score=1.0, correct=True, rating=3, review=reviewed(Rating.Good))
        assert len(s.answers("ada")) == 1
