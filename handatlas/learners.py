"""Learners: a name plus a short personal code, so that one learner cannot read or write another's
drill progress (no UI code here).

A new name takes the code typed with it; a learner from before codes existed sets one the same
way at the next sign-in.  Codes are stored as PBKDF2 hashes (:func:`handatlas.accounts.hash_password`,
:data:`CODE_ITERATIONS` rounds) in the store's ``learner_codes`` table, and guesses go through
the same throttle as instructor passwords (:mod:`handatlas.throttle`: per client address and per
learner name).  :meth:`LearnerGate.attempt` is slow (a hash): the web app runs it in a thread.

Examples
--------
>>> from handatlas.quiz.progress import ProgressStore
>>> gate = LearnerGate(ProgressStore.open("sqlite://"))
>>> gate.attempt("10.0.0.1", "sam", "4821").ok, gate.attempt("10.0.0.1", "sam", "0000").ok
(True, False)
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime

from handatlas.accounts import SCHEME, hash_password, verify_password
from handatlas.quiz.progress import ProgressStore, utcnow
from handatlas.throttle import NAME_CHARS, Throttle

#: PBKDF2 rounds of a learner code (a code is short: the throttle, not the hash, limits guessing).
CODE_ITERATIONS = 100_000
#: A code: 4 to 32 characters, no spaces.
CODE_RE = re.compile(r"\S{4,32}")
CODE_RULE = "a personal code of 4 to 32 characters without spaces (e.g. 4 digits only you know)"


def _locked(wait_s: float) -> str:
    return f"Too many wrong codes: try again in {max(1, round(wait_s))} s."


@dataclass(frozen=True)
class LearnerOutcome:
    """A learner sign-in: ``ok`` (``new``: the code was just set) or why not."""

    ok: bool
    name: str = ""
    new: bool = False
    message: str = ""


class LearnerGate:
    """Check (or set, the first time) learners' codes behind the throttle.

    Parameters
    ----------
    store
        The progress store (codes and the throttle's counts).
    """

    def __init__(self, store: ProgressStore) -> None:
        self.store = store
        self.throttle = Throttle(store)
        self._dummy = f"{SCHEME}${CODE_ITERATIONS}${os.urandom(16).hex()}${os.urandom(32).hex()}"

    @staticmethod
    def keys(client: str, name: str) -> tuple[str, str]:
        return f"client:{client}"[:200], f"learner:{name.strip().lower()[:NAME_CHARS]}"

    def attempt(self, client: str, name: str, code: str, *, now: datetime | None = None) -> LearnerOutcome:
        """Sign learner ``name`` in with ``code`` (setting it if the learner has none yet)."""
        name = name.strip()
        if not name:
            return LearnerOutcome(ok=False, message="Type your name first: your progress is kept under it.")
        if not code:
            return LearnerOutcome(ok=False, message=f"Type your code too: {CODE_RULE}.")
        if not CODE_RE.fullmatch(code):
            return LearnerOutcome(ok=False, message=f"That is not a code this app takes: it is {CODE_RULE}.")
        now = now or utcnow()
        keys = self.keys(client, name)
        wait = self.throttle.wait_s(keys, now=now)
        if wait > 0:
            return LearnerOutcome(ok=False, message=_locked(wait))
        stored = self.store.learner_code(name)
        if stored is None:
            if self.store.claim_learner_code(name, hash_password(code, iterations=CODE_ITERATIONS)):
                self.throttle.cleared(keys)
                welcome = f"Welcome, {name}: remember your code, it keeps your progress yours."
                return LearnerOutcome(ok=True, name=name, new=True, message=welcome)
            stored = self.store.learner_code(name) or self._dummy  # set meanwhile by another sign-in
        if verify_password(code, stored):
            self.throttle.cleared(keys)
            return LearnerOutcome(ok=True, name=name)
        wait = self.throttle.failed(keys, now=now)
        hint = f" {_locked(wait)}" if wait > 0 else ""
        return LearnerOutcome(ok=False, message=f"That code is not {name}'s.{hint} (A new learner picks "
                                                f"another name.)")

