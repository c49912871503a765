"""Instructor sign-in: the password check behind a throttle (no UI code here).

Failed sign-ins are counted per client address and per account name (known or not: an unknown
name is throttled like a real one, so the throttle does not tell them apart), in the progress
store's ``login_failures`` table, so every server process on one store shares the count.  The
first :data:`FREE_FAILURES` failures in :data:`WINDOW_S` cost nothing; each further one locks
the client and the account for :data:`BASE_LOCK_S` seconds, doubling up to :data:`MAX_LOCK_S`.
While either is locked no password is checked at all.  A success clears both counts.

:meth:`SignIn.attempt` is slow (a PBKDF2 check, database writes): the web server runs it in a
thread pool, never on its event loop.

Examples
--------
>>> from handatlas.accounts import Instructors, hash_password
>>> from handatlas.quiz.progress import ProgressStore
>>> gate = SignIn(Instructors({"alice": hash_password("pw", iterations=1000)}), ProgressStore.open("sqlite://"))
>>> gate.attempt("10.0.0.1", "alice", "guess").ok, gate.attempt("10.0.0.1", "alice", "pw").ok
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handatlas.accounts import Instructors
from handatlas.quiz.progress import ProgressStore, utcnow

#: Failed sign-ins allowed per client and per account within :data:`WINDOW_S` before a lock.
FREE_FAILURES = 5
#: How long failures are remembered (seconds).
WINDOW_S = 15 * 60.0
#: The first lock (seconds); it doubles with each further failure.
BASE_LOCK_S = 30.0
#: The longest lock (seconds): an attacker can keep an instructor out this long at most per round.
MAX_LOCK_S = 15 * 60.0
#: Account names are compared after stripping and lowering, cut to this length.
NAME_CHARS = 80


def lock_seconds(failures: int) -> float:
    """Seconds locked after the ``failures``-th failure in the window.

    Examples
    --------
    >>> [lock_seconds(n) for n in (5, 6, 7, 20)]
    [0.0, 30.0, 60.0, 900.0]
    """
    over = failures - FREE_FAILURES
    return 0.0 if over <= 0 else min(MAX_LOCK_S, BASE_LOCK_S * 2 ** (over - 1))


@dataclass(frozen=True)
class Outcome:
    """What a sign-in attempt gave: ``ok``, or why not (``wait_s`` > 0: locked, try later)."""

    ok: bool
    user: str | None = None
    wait_s: float = 0.0

    @property
    def message(self) -> str:
        """The message for the sign-in page (the same for a wrong name and a wrong password)."""
        if self.ok:
            return ""
        if self.wait_s > 0:
            return f"Too many failed sign-ins: try again in {max(1, round(self.wait_s))} s."
        return "Wrong instructor name or password."


class Throttle:
    """Failure counts and locks by key (``client:…``, ``account:…``, ``learner:…``) in the store.

    Parameters
    ----------
    store
        Where failures are counted (the progress store; shared by server processes).
    """

    def __init__(self, store: ProgressStore) -> None:
        self.store = store

    def wait_s(self, keys: tuple[str, ...], *, now: datetime) -> float:
        """Seconds until none of ``keys`` is locked (0: go ahead)."""
        until = self.store.login_locks(keys, now=now)
        return 0.0 if until is None else (until - now).total_seconds()

    def failed(self, keys: tuple[str, ...], *, now: datetime) -> float:
        """Count a failure for each key; the seconds now locked (0: not locked)."""
        locked = [self.store.add_login_failure(key, window_s=WINDOW_S, lock_s=lock_seconds, now=now)[1]
                  for key in keys]
        return max(((u - now).total_seconds() for u in locked if u is not None), default=0.0)

    def cleared(self, keys: tuple[str, ...]) -> None:
        """Forget the failures of ``keys`` (after a success)."""
        self.store.clear_login_failures(keys)


class SignIn:
    """Check instructor passwords behind the throttle.

    Parameters
    ----------
    instructors
        Who may sign in.
    store
        Where failures are counted (the progress store; shared by server processes).
    """

    def __init__(self, instructors: Instructors, store: ProgressStore) -> None:
        self.instructors = instructors
        self.store = store
        self.throttle = Throttle(store)

    @staticmethod
    def keys(client: str, user: str) -> tuple[str, str]:
        """The throttle's keys for a client address and a typed account name."""
        return f"client:{client}"[:200], f"account:{user.strip().lower()[:NAME_CHARS]}"

    def attempt(self, client: str, user: str, password: str, *, now: datetime | None = None) -> Outcome:
        """Check ``user``/``password`` from ``client`` unless the client or the account is locked."""
        now = now or utcnow()
        keys = self.keys(client, user)
        wait = self.throttle.wait_s(keys, now=now)
        if wait > 0:
            return Outcome(ok=False, wait_s=wait)
        if self.instructors.check(user, password):
            self.throttle.cleared(keys)
            return Outcome(ok=True, user=user.strip())
        return Outcome(ok=False, wait_s=self.throttle.failed(keys, now=now))
