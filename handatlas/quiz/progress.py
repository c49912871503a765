"""The progress store: learners, FSRS review cards, every answer and drill sessions (SQLAlchemy 2 Core).

Where
-----
SQLite by default at ``platformdirs.user_data_dir("handatlas")/progress.sqlite``; any SQLAlchemy URL
from ``--db`` or ``$HANDATLAS_DB_URL`` (e.g. ``postgresql+psycopg://user@host/school``).  A plain
path (no ``://``) means a SQLite file.  The SQL is dialect-neutral Core; only the SQLite connection
setup below is SQLite-specific.

Tables (schema version 3)
-------------------------
``meta``      key, value: ``schema_version``.
``learners``  id, name (as first written), name_key (unique: :func:`learner_key`), created_at.
``cards``     (learner_id, quiz_id, question_id) primary key; ``state`` = the FSRS card as JSON
              (:meth:`fsrs.Card.to_json`), ``due``, ``reps``, ``lapses``, ``updated_at``.
``sessions``  id, learner_id, tags (JSON list), match, count, time_limit, started_at, ended_at.
``answers``   id, session_id, learner_id, quiz_id, question_id, answer (JSON), score, correct,
              seconds, rating (FSRS 1-4), answered_at, shown (JSON or NULL): what the learner saw,
              to show it again in a review (:mod:`handatlas.quiz.review`): ``{"options": [2, 0,
              1]}``, the option indices of the file in the order shown (choice, identify), or
              ``{"items": [...]}``, an order question's items as shown.
``learner_codes``  learner_id, code_hash (PBKDF2, :func:`handatlas.accounts.hash_password`), set_at:
              a learner's personal code (:mod:`handatlas.learners`).
``login_failures``  key (``client:<address>`` or ``account:<name>``), failures, first_at,
              locked_until: the sign-in throttle's state (:mod:`handatlas.throttle`), shared by
              every server process on the store.  Both added without a version change: opening
              an older store creates them, and an older handatlas ignores them.
Times are UTC, stored without a zone (``DateTime``) and read back as aware UTC datetimes.

Learner names
-------------
Names are case-insensitive: "Ada", "ada " and "ADA" are one learner, found by
:func:`learner_key` (Unicode NFKC, case-folded, inner spaces collapsed) in Python, so that SQLite
(whose ``lower()`` knows ASCII only) and PostgreSQL agree.  The name is shown as first written.
Version 1 stores kept names case-sensitive; the upgrade to version 2 fills ``name_key`` and
merges learners whose names differ only in case into the oldest one: their answers and sessions
all move to it, and where both have a card for one question the more recently reviewed card is
kept (with the reps and lapses of both added).  Nothing answered is lost.

The order a learner saw
-----------------------
Options are shown in a drawn order (:mod:`handatlas.quiz.shuffle`).  From version 3 each answer
keeps that order (``answers.shown``), so that a review shows the options as the learner saw them.
The upgrade from version 2 adds the column and keeps every row; answers given before it have no
order (NULL), and a review shows their options in the file's order, saying so.

PostgreSQL needs the ``postgres`` extra (``pip install 'handatlas[postgres]'``, psycopg 3); a
missing driver is named when the store is opened.  Stores opening one fresh database at once
create its tables one at a time (an advisory lock, :data:`SCHEMA_LOCK_KEY`).

Durability
----------
:meth:`ProgressStore.record_answer` inserts the answer and updates its card in **one
transaction**: a process killed mid-drill loses nothing already answered.  On SQLite the file is
in WAL journal mode with a busy timeout, and every transaction starts with ``BEGIN IMMEDIATE``
(the write lock is taken up front and waited for), so two drills on one file serialise their
writes instead of failing or losing one.

Examples
--------
>>> store = ProgressStore.open("sqlite://")        # in memory
>>> learner = store.learner_id("ada")
>>> store.learner_names()
['ada']
"""

from __future__ import annotations

import json
import os
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fsrs import Card, State
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine

#: The schema this module writes; a store with a higher version is refused.
SCHEMA_VERSION = 3
#: Environment variable holding the store's SQLAlchemy URL.
DB_ENV = "HANDATLAS_DB_URL"
#: How long (seconds) a SQLite writer waits for another one before giving up.
BUSY_TIMEOUT_S = 30.0
#: How often opening a SQLite store is tried when another process holds the file's lock.
OPEN_ATTEMPTS = 20
#: The PostgreSQL advisory lock taken while the tables are created or upgraded (any fixed number).
SCHEMA_LOCK_KEY = 0x48414E44  # "HAND"
#: What to install for a database URL whose driver is missing.
DRIVER_EXTRAS = {"postgresql": "pip install 'handatlas[postgres]' (psycopg 3)"}

metadata = sa.MetaData()

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)
learners = sa.Table(
    "learners", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("name_key", sa.String(200), nullable=True),  # nullable: added to version 1 stores
    sa.Index("ux_learners_name_key", "name_key", unique=True),
)
cards = sa.Table(
    "cards", metadata,
    sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id"), primary_key=True),
    sa.Column("quiz_id", sa.String(80), primary_key=True),
    sa.Column("question_id", sa.String(80), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("due", sa.DateTime, nullable=False, index=True),
    sa.Column("reps", sa.Integer, nullable=False, default=0),
    sa.Column("lapses", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id"), nullable=False, index=True),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("match", sa.String(8), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("time_limit", sa.Float, nullable=True),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("ended_at", sa.DateTime, nullable=True),
)
answers = sa.Table(
    "answers", metadata,
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
    sa.Column("shown", sa.Text, nullable=True),  # nullable: added to version 2 stores
    sa.Index("ix_answers_learner_time", "learner_id", "answered_at"),
)

learner_codes = sa.Table(
    "learner_codes", metadata,
    sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id"), primary_key=True),
    sa.Column("code_hash", sa.String(200), nullable=False),
    sa.Column("set_at", sa.DateTime, nullable=False),
)
login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("first_at", sa.DateTime, nullable=False),
    sa.Column("locked_until", sa.DateTime, nullable=True),
)


def learner_key(name: str) -> str:
    """The case-insensitive form a learner is found by: NFKC, case-folded, spaces collapsed.

    Examples
    --------
    >>> learner_key("  Zoë   ANN ") == learner_key("zoë ann")
    True
    """
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _merge_learner(conn: Connection, keep: int, gone: int) -> None:
    """Move learner ``gone``'s answers, sessions and cards to ``keep`` and delete ``gone``."""
    conn.execute(answers.update().where(answers.c.learner_id == gone).values(learner_id=keep))
    conn.execute(sessions.update().where(sessions.c.learner_id == gone).values(learner_id=keep))
    theirs = conn.execute(sa.select(cards).where(cards.c.learner_id == gone)).mappings().all()
    for card in theirs:
        where = ((cards.c.learner_id == keep) & (cards.c.quiz_id == card["quiz_id"])
                 & (cards.c.question_id == card["question_id"]))
        mine = conn.execute(sa.select(cards).where(where)).mappings().first()
        if mine is None:
            conn.execute(cards.insert().values({**card, "learner_id": keep}))
        else:
            newer = card if card["updated_at"] > mine["updated_at"] else mine
            conn.execute(cards.update().where(where).values(
                state=newer["state"], due=newer["due"], updated_at=newer["updated_at"],
                reps=mine["reps"] + card["reps"], lapses=mine["lapses"] + card["lapses"]))
    conn.execute(cards.delete().where(cards.c.learner_id == gone))
    conn.execute(learners.delete().where(learners.c.id == gone))


def _case_insensitive_names(conn: Connection) -> None:
    """Version 1 -> 2: ``learners.name_key``; learners differing only in case merged (module doc)."""
    conn.execute(sa.text("ALTER TABLE learners ADD COLUMN name_key VARCHAR(200)"))
    first: dict[str, int] = {}
    for lid, name in conn.execute(sa.select(learners.c.id, learners.c.name).order_by(learners.c.id)).all():
        key = learner_key(name)
        if key in first:
            _merge_learner(conn, first[key], lid)
        else:
            first[key] = lid
            conn.execute(learners.update().where(learners.c.id == lid).values(name_key=key))
    next(ix for ix in learners.indexes if ix.name == "ux_learners_name_key").create(conn)


def _shown_order(conn: Connection) -> None:
    """Version 2 -> 3: ``answers.shown`` (NULL for the answers already there; module doc)."""
    conn.execute(sa.text("ALTER TABLE answers ADD COLUMN shown TEXT"))


#: Upgrades from version ``v`` to ``v + 1``, run in order inside the opening transaction.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _case_insensitive_names, 2: _shown_order}


class StoreError(RuntimeError):
    """The store cannot be opened or used; the message names the URL or path."""


@dataclass(frozen=True)
class AnswerRow:
    """One recorded answer, as read back by :meth:`ProgressStore.answers`."""

    id: int
    session_id: int | None
    quiz_id: str
    question_id: str
    answer: Any
    score: float
    correct: bool
    seconds: float | None
    rating: int
    answered_at: datetime
    shown: dict[str, Any] | None = None  # what the learner saw (module doc); None: not recorded


@dataclass(frozen=True)
class CardRow:
    """One review card: the FSRS card of a learner for a question."""

    quiz_id: str
    question_id: str
    card: Card
    reps: int
    lapses: int
    updated_at: datetime

    @property
    def due(self) -> datetime:
        """When FSRS next wants the question asked (aware, UTC)."""
        return self.card.due


# ----------------------------------------------------------------------------- helpers
def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def to_db(when: datetime) -> datetime:
    """Aware (or naive UTC) -> naive UTC, the stored form."""
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def from_db(when: datetime) -> datetime:
    """The stored naive UTC -> aware UTC."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def to_json(value: Any) -> str:
    """JSON of an answer (numpy arrays and scalars become lists and numbers)."""

    def plain(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if isinstance(obj, set | frozenset | tuple):
            return list(obj)
        msg = f"cannot store an answer containing {type(obj).__name__} {obj!r}"
        raise TypeError(msg)

    return json.dumps(value, default=plain, ensure_ascii=False)


def default_db_path() -> Path:
    """``platformdirs.user_data_dir("handatlas")/progress.sqlite``.

    Examples
    --------
    >>> default_db_path().name
    'progress.sqlite'
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("handatlas")) / "progress.sqlite"


def resolve_url(db: str | Path | None = None) -> tuple[URL, bool]:
    """The store's URL: ``db``, else ``$HANDATLAS_DB_URL``, else the default SQLite file.

    Returns the URL and whether it is the default (whose folder may be created).  A value
    without ``://`` is a SQLite file path.

    Raises
    ------
    StoreError
        When the value is not a valid SQLAlchemy URL.

    Examples
    --------
    >>> resolve_url("sqlite:////tmp/p.sqlite")[0].database
    '/tmp/p.sqlite'
    >>> resolve_url("/tmp/p.sqlite")[0].drivername
    'sqlite'
    """
    default = False
    if db is None or str(db).strip() == "":
        db = os.environ.get(DB_ENV) or None
    if db is None:
        db, default = default_db_path(), True
    text = str(db).strip()
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser())), default
    try:
        return sa.make_url(text), default
    except sa_exc.ArgumentError:
        raise StoreError(f"not a database URL: {text!r} (expected e.g. sqlite:///path/progress.sqlite "
                         f"or postgresql+psycopg://user@host/db)") from None


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _sqlite_setup(engine: Engine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE for every transaction."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver must not BEGIN on its own: we do, below
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable across a process kill in WAL mode
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


# ----------------------------------------------------------------------------- the store
class ProgressStore:
    """Learners, review cards, answers and drill sessions in a SQL database.

    Use :meth:`open`; close with :meth:`close` (or as a context manager).

    Examples
    --------
    >>> from fsrs import Card
    >>> with ProgressStore.open("sqlite://") as store:
    ...     sid = store.start_session("ada", tags=["topic:wrist"], match="any", count=5)
    ...     row = store.record_answer("ada", "q1", "a", 1, score=1.0, correct=True, rating=3,
    ...                               review=lambda card: Card(card_id=1), session_id=sid)
    ...     [a.question_id for a in store.answers("ada")]
    ['a']
    """

    def __init__(self, engine: Engine, *, shown: str) -> None:
        self.engine = engine
        self.url = shown
        self._learners: dict[str, int] = {}

    # -- opening
    @classmethod
    def open(cls, db: str | Path | None = None, *, create: bool = True) -> ProgressStore:
        """Open (creating or upgrading the tables) the store at ``db`` (see :func:`resolve_url`);
        with ``create`` false, a SQLite file that does not exist is refused rather than made (a
        report reads a store: a typo in its path must not answer "no answers yet").

        Raises
        ------
        StoreError
            Bad URL, missing driver, unwritable or missing folder, a file that is not a
            database, a missing SQLite file when not ``create``, or a store written by a newer
            handatlas.
        """
        url, default = resolve_url(db)
        shown = _shown(url)
        is_sqlite = url.get_backend_name() == "sqlite"
        memory = is_sqlite and url.database in (None, "", ":memory:")
        if is_sqlite and not memory:
            path = Path(str(url.database))
            if default:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create the progress folder {path.parent}: "
                                     f"{exc.strerror or exc}") from None
            if not path.parent.is_dir():
                raise StoreError(f"cannot open the progress store {path}: "
                                 f"its folder {path.parent} does not exist")
            if not create and not path.is_file():
                raise StoreError(f"there is no progress store at {path}: check the path "
                                 f"(nothing was created)")
        kwargs: dict[str, Any] = {}
        if is_sqlite:
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S}
        try:
            engine = sa.create_engine(url, **kwargs)
        except ImportError as exc:
            hint = DRIVER_EXTRAS.get(url.get_backend_name())
            extra = f"; install it with: {hint}" if hint else ""
            raise StoreError(f"cannot use the database URL {shown!r}: its driver is missing ({exc}){extra}"
                             ) from None
        except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
            raise StoreError(f"cannot use the database URL {shown!r}: {exc}") from None
        if is_sqlite:
            _sqlite_setup(engine)
        store = cls(engine, shown=shown)
        try:
            for attempt in range(OPEN_ATTEMPTS):
                try:
                    store._migrate()
                    break
                except sa_exc.OperationalError as exc:
                    # a fresh SQLite file switching to WAL while another store does the same
                    # answers "locked" at once, whatever the busy timeout: try again shortly
                    if not is_sqlite or "locked" not in str(exc.orig) or attempt == OPEN_ATTEMPTS - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))
        except sa_exc.SQLAlchemyError as exc:
            engine.dispose()
            reason = getattr(exc, "orig", None) or exc
            raise StoreError(f"cannot open the progress store {shown}: {reason}") from None
        except StoreError:
            engine.dispose()
            raise
        return store

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # stores opening a fresh database at once would create the tables concurrently
                # (and fail on PostgreSQL's catalogue); one at a time, each after the last commit
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            metadata.create_all(conn, checkfirst=True)
            row = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).first()
            if row is None:
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            try:
                version = int(row.value)
            except ValueError:
                raise StoreError(f"the progress store {self.url} has a broken schema_version "
                                 f"{row.value!r}") from None
            if version > SCHEMA_VERSION:
                raise StoreError(f"the progress store {self.url} has schema version {version}, "
                                 f"newer than this handatlas reads ({SCHEMA_VERSION}): upgrade handatlas")
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](conn)
            if version < SCHEMA_VERSION:
                conn.execute(meta.update().where(meta.c.key == "schema_version")
                             .values(value=str(SCHEMA_VERSION)))

    @property
    def schema_version(self) -> int:
        """The stored schema version."""
        with self.engine.begin() as conn:
            q = sa.select(meta.c.value).where(meta.c.key == "schema_version")
            return int(conn.execute(q).scalar_one())

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa_exc.OperationalError as exc:
            raise StoreError(f"the progress store {self.url} failed: {exc.orig}") from None

    # -- learners
    def learner_id(self, name: str, *, create: bool = True) -> int:
        """The id of learner ``name`` (case-insensitive: :func:`learner_key`), created when missing.

        Raises
        ------
        ValueError
            For an empty or over-long name.
        KeyError
            When ``create`` is false and there is no such learner.
        """
        name = _learner_name(name)
        key = learner_key(name)
        if key in self._learners:
            return self._learners[key]
        for _ in range(3):
            with self._tx() as conn:
                found = conn.execute(sa.select(learners.c.id).where(learners.c.name_key == key)).scalar()
                if found is None and create:
                    try:
                        with conn.begin_nested():
                            insert = learners.insert().values(name=name, name_key=key,
                                                              created_at=to_db(utcnow()))
                            found = conn.execute(insert).inserted_primary_key[0]
                    except sa_exc.IntegrityError:  # created meanwhile by another process
                        continue
            if found is None:
                raise KeyError(f"no learner named {name!r}")
            self._learners[key] = int(found)
            return int(found)
        raise StoreError(f"cannot create learner {name!r} in {self.url}")

    def learner_name(self, name: str) -> str:
        """The learner's name as first written (``name`` in any case).

        Raises
        ------
        KeyError
            When there is no such learner.
        """
        lid = self.learner_id(name, create=False)
        with self._tx() as conn:
            return str(conn.execute(sa.select(learners.c.name).where(learners.c.id == lid)).scalar_one())

    def learner_names(self) -> list[str]:
        """Every learner's name, sorted."""
        with self._tx() as conn:
            return list(conn.execute(sa.select(learners.c.name).order_by(learners.c.name)).scalars())

    # -- sessions
    def start_session(self, learner: str, *, tags: Sequence[str], match: str, count: int,
                      time_limit: float | None = None, at: datetime | None = None) -> int:
        """Record the start of a drill session; its id."""
        lid = self.learner_id(learner)
        with self._tx() as conn:
            return int(conn.execute(sessions.insert().values(
                learner_id=lid, tags=json.dumps(list(tags)), match=match, count=count,
                time_limit=time_limit, started_at=to_db(at or utcnow()))).inserted_primary_key[0])

    def end_session(self, session_id: int, *, at: datetime | None = None) -> None:
        """Record the end of a drill session."""
        with self._tx() as conn:
            conn.execute(sessions.update().where(sessions.c.id == session_id)
                         .values(ended_at=to_db(at or utcnow())))

    def session(self, session_id: int) -> dict[str, Any]:
        """One session as a dict (tags decoded, times aware UTC)."""
        with self._tx() as conn:
            row = conn.execute(sa.select(sessions).where(sessions.c.id == session_id)).mappings().first()
        if row is None:
            raise KeyError(f"no drill session {session_id}")
        out = dict(row)
        out["tags"] = json.loads(out["tags"])
        for k in ("started_at", "ended_at"):
            out[k] = from_db(out[k]) if out[k] is not None else None
        return out

    # -- answers and cards
    def record_answer(self, learner: str, quiz_id: str, question_id: str, answer: Any, *,
                      score: float, correct: bool, rating: int,
                      review: Callable[[Card | None], Card], seconds: float | None = None,
                      session_id: int | None = None, at: datetime | None = None,
                      shown: Mapping[str, Any] | None = None) -> CardRow:
        """Record one answer and update its review card, in one transaction.

        ``shown`` is what the learner saw (``{"options": [...]}`` or ``{"items": [...]}``, the
        module doc), kept for a review.

        ``review`` receives the stored card (``None`` for a new question), read inside the
        transaction under the write lock, and returns the card after this review.  Either both
        the answer and the card are written, or neither.

        Returns
        -------
        CardRow
            The card as stored.
        """
        lid = self.learner_id(learner)
        when = at or utcnow()
        payload = to_json(answer)
        seen = None if shown is None else to_json(dict(shown))
        for attempt in range(3):
            try:
                with self._tx() as conn:
                    conn.execute(answers.insert().values(
                        session_id=session_id, learner_id=lid, quiz_id=quiz_id, question_id=question_id,
                        answer=payload, score=float(score), correct=bool(correct),
                        seconds=None if seconds is None else float(seconds), rating=int(rating),
                        answered_at=to_db(when), shown=seen))
                    where = ((cards.c.learner_id == lid) & (cards.c.quiz_id == quiz_id)
                             & (cards.c.question_id == question_id))
                    old = conn.execute(sa.select(cards).where(where).with_for_update()).mappings().first()
                    card = review(Card.from_json(old["state"]) if old else None)
                    lapse = int(old is not None and card.state == State.Relearning
                                and Card.from_json(old["state"]).state == State.Review)
                    values = {"state": card.to_json(), "due": to_db(card.due), "updated_at": to_db(when)}
                    if old is None:
                        conn.execute(cards.insert().values(learner_id=lid, quiz_id=quiz_id,
                                                           question_id=question_id, reps=1, lapses=0,
                                                           **values))
                        reps, lapses = 1, 0
                    else:
                        reps, lapses = old["reps"] + 1, old["lapses"] + lapse
                        conn.execute(cards.update().where(where).values(reps=reps, lapses=lapses, **values))
                return CardRow(quiz_id, question_id, card, reps, lapses, from_db(to_db(when)))
            except sa_exc.IntegrityError:  # the card was inserted meanwhile (PostgreSQL): redo
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def cards(self, learner: str,
              keys: Iterable[tuple[str, str]] | None = None) -> dict[tuple[str, str], CardRow]:
        """The learner's cards by ``(quiz_id, question_id)``, optionally only those in ``keys``."""
        lid = self.learner_id(learner)
        wanted = None if keys is None else set(keys)
        with self._tx() as conn:
            rows = conn.execute(sa.select(cards).where(cards.c.learner_id == lid)).mappings().all()
        out = {}
        for r in rows:
            k = (r["quiz_id"], r["question_id"])
            if wanted is None or k in wanted:
                out[k] = CardRow(r["quiz_id"], r["question_id"], Card.from_json(r["state"]), r["reps"],
                                 r["lapses"], from_db(r["updated_at"]))
        return out

    def answers(self, learner: str, *, since: datetime | None = None, session_id: int | None = None,
                limit: int | None = None) -> list[AnswerRow]:
        """The learner's answers, oldest first (``limit``: only the latest ones)."""
        lid = self.learner_id(learner)
        q = sa.select(answers).where(answers.c.learner_id == lid)
        if since is not None:
            q = q.where(answers.c.answered_at >= to_db(since))
        if session_id is not None:
            q = q.where(answers.c.session_id == session_id)
        q = q.order_by(answers.c.answered_at.desc(), answers.c.id.desc())
        if limit is not None:
            q = q.limit(limit)
        with self._tx() as conn:
            rows = conn.execute(q).mappings().all()
        return [AnswerRow(r["id"], r["session_id"], r["quiz_id"], r["question_id"],
                          json.loads(r["answer"]), r["score"], bool(r["correct"]), r["seconds"], r["rating"],
                          from_db(r["answered_at"]), None if r["shown"] is None else json.loads(r["shown"]))
                for r in reversed(rows)]

    # -- learner codes (see handatlas.learners)
    def learner_code(self, name: str) -> str | None:
        """The stored code hash of learner ``name`` (in any case, :func:`learner_key`, as
        :meth:`learner_id` finds the learner); None for a new learner or one without a code."""
        key = learner_key(_learner_name(name))
        with self._tx() as conn:
            q = (sa.select(learner_codes.c.code_hash)
                 .join(learners, learners.c.id == learner_codes.c.learner_id)
                 .where(learners.c.name_key == key))
            return conn.execute(q).scalar()

    def claim_learner_code(self, name: str, code_hash: str) -> bool:
        """Give learner ``name`` (created when new) the code ``code_hash`` unless one is set already.

        Returns whether this call set it (False: another sign-in set a code first).
        """
        learner = self.learner_id(name)
        try:
            with self._tx() as conn:
                conn.execute(learner_codes.insert().values(learner_id=learner, code_hash=code_hash,
                                                           set_at=to_db(utcnow())))
        except sa_exc.IntegrityError:
            return False
        return True

    # -- sign-in throttle (see handatlas.throttle)
    def login_locks(self, keys: Sequence[str], *, now: datetime | None = None) -> datetime | None:
        """The latest ``locked_until`` of ``keys`` still in the future, or None (not locked)."""
        now = now or utcnow()
        with self._tx() as conn:
            q = sa.select(sa.func.max(login_failures.c.locked_until)).where(
                login_failures.c.key.in_(list(keys)), login_failures.c.locked_until > to_db(now))
            until = conn.execute(q).scalar()
        return None if until is None else from_db(until)

    def add_login_failure(self, key: str, *, window_s: float, lock_s: Callable[[int], float],
                          now: datetime | None = None) -> tuple[int, datetime | None]:
        """Count a failed sign-in for ``key``; returns (failures in the window, locked until).

        Failures older than ``window_s`` seconds start a new count; ``lock_s(failures)`` says how
        long ``key`` is locked after this one (0: not locked).  One transaction (the row locked on
        PostgreSQL, the database on SQLite), so server processes counting at once lose no failure.
        """
        now = now or utcnow()
        for attempt in range(2):
            try:
                with self._tx() as conn:
                    row = conn.execute(sa.select(login_failures).where(login_failures.c.key == key)
                                       .with_for_update()).first()
                    fresh = row is None or (now - from_db(row.first_at)).total_seconds() > window_s
                    failures = 1 if fresh else row.failures + 1
                    first = now if fresh else from_db(row.first_at)
                    seconds = lock_s(failures)
                    until = now + timedelta(seconds=seconds) if seconds > 0 else None
                    values = {"failures": failures, "first_at": to_db(first),
                              "locked_until": None if until is None else to_db(until)}
                    if row is None:
                        conn.execute(login_failures.insert().values(key=key, **values))
                    else:
                        conn.execute(login_failures.update().where(login_failures.c.key == key)
                                     .values(**values))
                return failures, until
            except sa_exc.IntegrityError:  # another process inserted the first failure meanwhile
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def clear_login_failures(self, keys: Sequence[str]) -> None:
        """Forget the failures of ``keys`` (after a successful sign-in)."""
        with self._tx() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.key.in_(list(keys))))


def _learner_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a learner name must be a non-empty text, not {name!r}")
    name = name.strip()
    if len(name) > 200:
        raise ValueError(f"a learner name has at most 200 characters, not {len(name)}: {name[:40]!r}…")
    return name
