"""Sign-in at a school's OpenID Connect provider in chromium: ``handatlas serve --oauth-provider generic``
pointed at the fake provider of ``tests/fake_oidc.py`` (its sign-in form stands for the school's).

Opening the app leads to the provider and back, signed in; an instructor identity gets the
editor, a student identity does not, and its drill answers are kept under its identity; a forged
code is refused and leaves the browser signed out.
"""

from __future__ import annotations

import pytest
from fake_oidc import CLIENT_ID, CLIENT_SECRET
from playwright.sync_api import expect

from handatlas.quiz.progress import ProgressStore

from .browser_helpers import DEEP_TEXT_JS, wait_for_scene
from .served_cli import answer_drill, open_mode, serve_cli, serve_env, stop_cli

INSTRUCTOR = "ann@school.edu"
STUDENT = "sam@school.edu"


@pytest.fixture(scope="module")
def app(tmp_path_factory, fake):
    """``handatlas serve`` signing in at the fake provider; (base URL, progress database)."""
    folder = tmp_path_factory.mktemp("served_oidc")
    db = str(folder / "progress.sqlite")
    env = serve_env(folder, PANEL_OAUTH_SECRET=CLIENT_SECRET)  # the secret from the environment
    proc, url = serve_cli(folder, "--db", db, "--oauth-provider", "generic", "--oauth-key", CLIENT_ID,
                          "--oauth-authorize-url", fake.authorize_url, "--oauth-token-url", fake.token_url,
                          "--oauth-userinfo-url", fake.userinfo_url, "--instructor", INSTRUCTOR.upper(),
                          env=env)
    try:
        yield url, db
    finally:
        log = stop_cli(proc)
        assert "Traceback" not in log, log[-3000:]


def sign_in(page, url: str, fake, user: str) -> None:
    """Open the app: the provider's form comes first; sign ``user`` in there and wait for the hand."""
    page.goto(url, timeout=120_000)
    expect(page.locator("#user")).to_be_visible()
    assert page.url.startswith(fake.authorize_url + "?")
    page.locator("#user").fill(user)
    page.locator("#continue").click()
    wait_for_scene(page, timeout_s=120)
    assert page.url == url, page.url


def test_an_instructor_signs_in_at_the_provider_and_gets_the_editor(browser, browser_context_args, app, fake):
    url, _ = app
    context = browser.new_context(**browser_context_args)
    try:
        page = context.new_page()
        sign_in(page, url, fake, INSTRUCTOR)
        cookies = {c["name"]: c for c in context.cookies()}
        identity = cookies["handatlas_identity"]
        assert identity["httpOnly"] and identity["sameSite"] == "Lax"
        assert not {"user", "access_token", "id_token"} & set(cookies)
        open_mode(page, "author", ".author-who")
        expect(page.locator(".author-who")).to_contain_text(f"Signed in as {INSTRUCTOR}")
        expect(page.locator(".author-save button")).to_be_visible()
    finally:
        context.close()


def test_a_student_drills_as_their_identity_without_the_editor(browser, browser_context_args, app, fake):
    url, db = app
    context = browser.new_context(**browser_context_args)
    try:
        page = context.new_page()
        sign_in(page, url, fake, STUDENT)
        open_mode(page, "drill", ".drill-identity")
        expect(page.locator(".drill-identity")).to_contain_text(f"Signed in as {STUDENT}")
        expect(page.locator(".drill-learner")).to_have_count(0)  # no name, no code to type
        expect(page.locator(".drill-code")).to_have_count(0)
        answered = answer_drill(page)
        assert answered >= 1
        open_mode(page, "author", ".author-login")
        expect(page.locator(".author-save")).to_have_count(0)
    finally:
        context.close()
    with ProgressStore.open(db) as store:
        assert len(store.answers(STUDENT)) == answered
        assert INSTRUCTOR not in store.learner_names()


def test_a_forged_code_is_refused_and_signs_nobody_in(browser, browser_context_args, app, fake):
    url, _ = app
    context = browser.new_context(**browser_context_args)
    try:
        page = context.new_page()
        page.goto(url, timeout=120_000)  # a sign-in under way: the provider's form
        expect(page.locator("#user")).to_be_visible()
        state = dict(p.split("=", 1) for p in page.url.split("?", 1)[1].split("&"))["state"]
        answer = page.goto(f"{url}login?code=forged-code&state={state}")
        assert answer.status == 401
        assert "Sign-in refused" in page.evaluate(DEEP_TEXT_JS)
        assert "handatlas_identity" not in {c["name"] for c in context.cookies()}
        page.goto(url)  # still signed out: back to the provider
        expect(page.locator("#user")).to_be_visible()
    finally:
        context.close()
