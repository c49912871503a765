"""Learner codes: a new name sets its code, a learner from before sets one at the next sign-in,
a wrong code reads and writes nothing, guesses are throttled, and two first sign-ins at once
cannot both claim a name."""

from __future__ import annotations

import threading

from handatlas.learners import LearnerGate
from handatlas.quiz.progress import ProgressStore, utcnow
from handatlas.throttle import FREE_FAILURES


def test_codes_are_set_once_and_checked(tmp_path):
    with ProgressStore.open(tmp_path / "p.sqlite") as store:
        gate = LearnerGate(store)
        first = gate.attempt("10.0.0.1", " ada ", "ada-code")
        assert first.ok and first.new and first.name == "ada" and store.learner_names() == ["ada"]
        assert store.learner_code("ada").startswith("pbkdf2_sha256$100000$")
        again = gate.attempt("10.0.0.2", "ada", "ada-code")
        assert again.ok and not again.new
        wrong = gate.attempt("10.0.0.3", "ada", "guess")
        assert not wrong.ok and "not ada's" in wrong.message
        assert not gate.attempt("10.0.0.3", "", "ada-code").ok
        assert "4 to 32" in gate.attempt("10.0.0.3", "bob", "abc").message
        assert "not a code" in gate.attempt("10.0.0.3", "bob", "x" * 40).message
        assert gate.attempt("10.0.0.3", "bob", "").message.startswith("Type your code too")
        assert store.learner_names() == ["ada"], "refused attempts create nobody"


def test_a_learner_signs_in_in_any_case_of_the_name(tmp_path):
    """'Kim' and 'kim' are one learner (as the progress is kept): the code set as 'Kim' lets 'kim'
    in, and a wrong code for either counts against the one learner."""
    with ProgressStore.open(tmp_path / "p.sqlite") as store:
        gate = LearnerGate(store)
        assert gate.attempt("10.0.0.1", "Kim", "4821").new
        for name in ("kim", " KIM ", "Kim"):
            signed = gate.attempt("10.0.0.2", name, "4821")
            assert signed.ok and not signed.new, (name, signed.message)
        assert not gate.attempt("10.0.0.3", "kim", "0000").ok
        assert store.learner_names() == ["Kim"]


def test_code_guessing_is_throttled_per_learner(tmp_path):
    with ProgressStore.open(tmp_path / "p.sqlite") as store:
        gate = LearnerGate(store)
        assert gate.attempt("10.0.0.1", "ada", "ada-code").ok
        now = utcnow()
        for k in range(FREE_FAILURES + 1):  # the free ones, and one that locks
            gate.attempt(f"10.1.0.{k}", "ada", f"guess{k}", now=now)
        locked = gate.attempt("10.9.0.1", "ada", "ada-code", now=now)
        assert not locked.ok and "Too many wrong codes" in locked.message


def test_two_first_sign_ins_at_once_cannot_both_claim_a_name(tmp_path):
    path = tmp_path / "race.sqlite"
    stores = [ProgressStore.open(path) for _ in range(4)]
    try:
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(
            LearnerGate(stores[i]).attempt(f"10.0.0.{i}", "kim", f"code-{i}"))) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.ok for r in results) == 1 and sum(r.new for r in results) == 1
    finally:
        for s in stores:
            s.close()


def test_codes_and_the_throttle_on_both_stores(store_url):
    """The new tables on SQLite and PostgreSQL: four stores (four server processes) at once."""
    stores = [ProgressStore.open(store_url) for _ in range(4)]
    try:
        results = []
        threads = [threading.Thread(target=lambda i=i: results.append(
            LearnerGate(stores[i]).attempt(f"10.0.0.{i}", "kim", f"code-{i}"))) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(r.ok for r in results) == 1
        failures = [threading.Thread(target=stores[i].add_login_failure, args=("account:x",),
                                     kwargs={"window_s": 900, "lock_s": lambda n: 0}) for i in range(4)]
        for t in failures:
            t.start()
        for t in failures:
            t.join()
        count, until = stores[0].add_login_failure("account:x", window_s=900, lock_s=lambda n: 60 * (n > 4))
        assert count == 5 and until is not None
        assert stores[1].login_locks(("account:x", "client:y")) == until
        stores[2].clear_login_failures(("account:x",))
        assert stores[3].login_locks(("account:x",)) is None
    finally:
        for s in stores:
            s.close()
