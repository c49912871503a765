"""``handatlas serve --db postgresql+psycopg://…`` end to end: a drill answered in chromium is a row in
a real PostgreSQL server (the tests' private one, ``tests/pg_server.py``) and is still there after
the server restarts.  Without PostgreSQL's binaries this test fails (it never skips)."""

from __future__ import annotations

import sqlalchemy as sa
from pg_server import fresh_database
from playwright.sync_api import expect

from .served_cli import answer_drill, open_app, open_mode, serve_cli, stop_cli


def _answers(url: str) -> list[tuple[str, int]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT l.name, count(*) FROM answers a "
                                        "JOIN learners l ON l.id = a.learner_id GROUP BY l.name"))
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def _sign_in_learner(page, name: str, code: str) -> None:
    open_mode(page, "drill", ".drill-learner input")
    page.locator(".drill-learner input").fill(name)
    page.locator(".drill-code input").fill(code)


def test_a_drill_answer_is_kept_in_postgresql_across_a_restart(browser, browser_context_args, postgres_url,
                                                               tmp_path):
    db = fresh_database(postgres_url)
    assert db.startswith("postgresql+psycopg://")
    proc, url = serve_cli(tmp_path, "--db", db)
    try:
        context = browser.new_context(**browser_context_args)
        page = context.new_page()
        open_app(page, url)
        _sign_in_learner(page, "kim", "kim-4821")
        answered = answer_drill(page)
        assert answered >= 1
        context.close()
    finally:
        log = stop_cli(proc)
    assert "Traceback" not in log, log[-3000:]
    assert _answers(db) == [("kim", answered)], "every answer is a row of the PostgreSQL store"

    proc, url = serve_cli(tmp_path, "--db", db)  # a new server on the same database
    try:
        context = browser.new_context(**browser_context_args)
        page = context.new_page()
        open_app(page, url)
        _sign_in_learner(page, "kim", "kim-4821")
        page.locator(".drill-progress-button button").click()
        expect(page.locator(".drill-progress")).to_contain_text(f"kim: {answered} answers")
        context.close()
    finally:
        log = stop_cli(proc)
    assert "Traceback" not in log, log[-3000:]
    assert _answers(db) == [("kim", answered)]
