"""Instructor sign-in: the server secret, equal cost for every name, the throttle (shared through
the store), and a server that keeps answering while four clients guess passwords."""

from __future__ import annotations

import hashlib
import os
import statistics
import threading
import time
from datetime import timedelta

import pytest
from session_client import Browser, start_app_server

from handatlas.accounts import ITERATIONS, Instructors, hash_password
from handatlas.quiz.progress import ProgressStore, utcnow
from handatlas.secret import SECRET_ENV, SecretError, derive_key, server_secret
from handatlas.throttle import BASE_LOCK_S, FREE_FAILURES, SignIn, lock_seconds

PASSWORD = "a long instructor passphrase"


# ----------------------------------------------------------------------------- the secret
def test_a_secret_is_generated_once_with_owner_only_permissions(tmp_path):
    path = tmp_path / "config" / "server_secret"
    first = server_secret(env={}, path=path)
    assert len(first) >= 32 and os.stat(path).st_mode & 0o777 == 0o600
    assert server_secret(env={}, path=path) == first, "the stored secret is reused"
    given = "given on the command line " * 2
    assert server_secret(given, env={SECRET_ENV: "x" * 40}, path=path) == given.strip()
    assert server_secret(env={SECRET_ENV: "y" * 40}, path=path) == "y" * 40
    os.chmod(path, 0o644)
    with pytest.raises(SecretError, match=r"readable by other users.*chmod 600"):
        server_secret(env={}, path=path)
    with pytest.raises(SecretError, match="--secret: the secret is 5 characters long"):
        server_secret("short")
    assert derive_key(first, "cookies") != derive_key(first, "bokeh session ids")


# ----------------------------------------------------------------------------- equal cost
def test_every_name_costs_the_same_pbkdf2_work(monkeypatch):
    team = Instructors({"alice": hash_password("pw-alice", iterations=2000),
                        "bob": hash_password("pw-bob", iterations=500)})
    spent: list[int] = []
    real = hashlib.pbkdf2_hmac

    def counting(name, password, salt, iterations, *args):
        spent.append(iterations)
        return real(name, password, salt, iterations, *args)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    costs = {}
    for user, password in (("alice", "wrong"), ("alice", "pw-alice"), ("bob", "wrong"), ("nobody", "wrong"),
                           ("nobody", ""), ("", "x")):
        spent.clear()
        team.check(user, password)
        costs[(user, password)] = sum(spent)
    assert set(costs.values()) == {2000}, costs
    assert team.iterations == 2000 and team.check("bob", "pw-bob") and not team.check("nobody", "pw-bob")


# ----------------------------------------------------------------------------- the throttle
@pytest.fixture
def gate(tmp_path):
    store = ProgressStore.open(tmp_path / "progress.sqlite")
    yield SignIn(Instructors({"alice": hash_password(PASSWORD, iterations=1000)}), store)
    store.close()


def test_failures_lock_the_client_and_the_account(gate):
    now = utcnow()
    for _ in range(FREE_FAILURES):
        assert gate.attempt("10.0.0.1", "alice", "guess", now=now).wait_s == 0
    locked = gate.attempt("10.0.0.1", "alice", "guess", now=now)
    assert not locked.ok and locked.wait_s == BASE_LOCK_S and "Too many failed sign-ins" in locked.message
    # locked: even the right password is not checked, from this client or another one (the account)
    assert not gate.attempt("10.0.0.1", "alice", PASSWORD, now=now).ok
    assert not gate.attempt("10.9.9.9", "alice", PASSWORD, now=now).ok
    # and this client may not try another account either
    assert gate.attempt("10.0.0.1", "bob", "guess", now=now).wait_s > 0
    # another client, another account: untouched
    other = gate.attempt("10.0.0.2", "carol", "guess", now=now)
    assert other.wait_s == 0 and other.message == "Wrong instructor name or password."
    later = now + timedelta(seconds=BASE_LOCK_S + 1)
    assert gate.attempt("10.0.0.1", "alice", PASSWORD, now=later).ok, "the lock ends"
    assert gate.attempt("10.0.0.1", "alice", "guess", now=later).wait_s == 0, "a success clears the count"


def test_locks_grow_and_are_capped():
    assert [lock_seconds(n) for n in range(1, FREE_FAILURES + 1)] == [0.0] * FREE_FAILURES
    steps = [lock_seconds(FREE_FAILURES + k) for k in range(1, 12)]
    assert steps[:3] == [BASE_LOCK_S, 2 * BASE_LOCK_S, 4 * BASE_LOCK_S] and max(steps) == steps[-1] == 900


def test_unknown_names_are_throttled_like_known_ones(gate):
    now = utcnow()
    known = [gate.attempt("10.1.0.1", "alice", "guess", now=now).wait_s for _ in range(FREE_FAILURES + 1)]
    unknown = [gate.attempt("10.2.0.1", "zed", "guess", now=now).wait_s for _ in range(FREE_FAILURES + 1)]
    assert known == unknown


def test_server_processes_share_the_count(tmp_path):
    """Two stores on one database (two server processes): failures add up across them."""
    team = Instructors({"alice": hash_password(PASSWORD, iterations=1000)})
    path = tmp_path / "shared.sqlite"
    with ProgressStore.open(path) as one, ProgressStore.open(path) as two:
        first, second = SignIn(team, one), SignIn(team, two)
        now = utcnow()
        for k in range(FREE_FAILURES):
            (first if k % 2 else second).attempt("10.0.0.7", "alice", "guess", now=now)
        assert first.attempt("10.0.0.7", "alice", "guess", now=now).wait_s > 0
        assert second.attempt("10.0.0.8", "alice", PASSWORD, now=now).wait_s > 0


def test_concurrent_failures_are_all_counted(tmp_path):
    team = Instructors({"alice": hash_password(PASSWORD, iterations=1000)})
    path = tmp_path / "race.sqlite"
    stores = [ProgressStore.open(path) for _ in range(4)]
    try:
        gates = [SignIn(team, s) for s in stores]
        threads = [threading.Thread(target=g.attempt, args=(f"10.3.0.{i}", "alice", "guess")) for i, g in
                   enumerate(gates)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        count = stores[0].add_login_failure("account:alice", window_s=900, lock_s=lambda n: 0)[0]
        assert count == 5, "four concurrent failures and this one"
    finally:
        for s in stores:
            s.close()


# ----------------------------------------------------------------------------- over HTTP
@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A served app whose instructor has a real-cost hash; client addresses from X-Forwarded-For."""
    team = Instructors({"instructor": hash_password(PASSWORD, iterations=ITERATIONS)})
    running = start_app_server(secret="another test secret, long enough for signing", instructors=team,
                               progress_db=str(tmp_path_factory.mktemp("db") / "progress.sqlite"),
                               use_xheaders=True, liveness=True)
    try:
        yield running
    finally:
        running.stop()


def _error(browser: Browser, location: str) -> str:
    return browser.request(location.lstrip("./"))[2]


def test_the_sign_in_page_throttles(guarded):
    guesser = Browser(guarded.url, forwarded_for="192.0.2.10")
    for _ in range(FREE_FAILURES):
        status, location = guesser.sign_in("instructor", "guess")
        assert status == 302 and "Wrong instructor name or password" in _error(guesser, location)
    status, location = guesser.sign_in("instructor", "guess")
    assert "Too many failed sign-ins" in _error(guesser, location)
    # the account is locked: the right password from another client is refused without a check
    teacher = Browser(guarded.url, forwarded_for="192.0.2.99")
    status, location = teacher.sign_in("instructor", PASSWORD)
    assert "Too many failed sign-ins" in _error(teacher, location)
    assert teacher.cookie("handatlas_instructor") is None


def test_cookies_are_secure_behind_a_tls_proxy(guarded):
    status, headers, _ = Browser(guarded.url, forwarded_for="192.0.2.50").request(
        "", headers={"X-Forwarded-Proto": "https"})
    assert status == 200 and "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]


def test_the_server_answers_while_four_clients_guess(guarded):
    """Four guessers (each from ever new addresses and names, so the throttle never stops them)
    keep the password threads busy; pings to the same server still come back, much faster than
    a guess (with the hash on the event loop, each ping would wait behind the guesses)."""
    guesses: list[float] = []
    pings: list[float] = []
    done = threading.Event()

    def guesser(k: int) -> None:
        for n in range(3):
            browser = Browser(guarded.url, forwarded_for=f"198.51.{k}.{n}")
            t0 = time.perf_counter()
            browser.sign_in(f"nobody{k}_{n}", "guess")
            guesses.append(time.perf_counter() - t0)

    workers = [threading.Thread(target=guesser, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()

    def pinger() -> None:
        browser = Browser(guarded.url)
        while not done.is_set():
            t0 = time.perf_counter()
            assert browser.request("liveness")[0] == 200
            pings.append(time.perf_counter() - t0)
            time.sleep(0.02)

    ping = threading.Thread(target=pinger)
    ping.start()
    for w in workers:
        w.join()
    done.set()
    ping.join()
    assert len(guesses) == 12
    assert len(pings) >= 5, f"only {len(pings)} pings came back while 12 guesses were checked"
    assert statistics.median(pings) < statistics.median(guesses) / 4, (pings, guesses)
