"""Instructor sign-in through Panel's auth hooks: an auth provider, a login and a logout page.

Students never sign in: every page is open, and :class:`InstructorAuth` names a visitor without
a valid instructor cookie :data:`GUEST` (Panel's own basic auth would send everyone to the
login page, and compares plaintext passwords).  Instructors sign in at ``/login``: the form
posts a name and a password, checked by :class:`handatlas.throttle.SignIn` in a thread pool (the
event loop keeps serving everyone during the PBKDF2 check), and on success the browser gets the
signed :data:`INSTRUCTOR_COOKIE` (HttpOnly, SameSite=Lax, Secure when the request came over
HTTPS, valid :data:`SIGN_IN_DAYS`).  A page opened with that cookie is an instructor's session
(:mod:`handatlas.ui.server` records it in the session's signed token); ``/logout`` removes the
cookie and opens a fresh student page.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from html import escape
from typing import Any
from urllib.parse import quote, urlparse

from panel.auth import BasicAuthProvider, BasicLoginHandler, LogoutHandler
from tornado.web import RequestHandler

from handatlas.accounts import AUTHORING_HELP
from handatlas.throttle import Outcome, SignIn

log = logging.getLogger(__name__)

#: The signed cookie holding the signed-in instructor's name.
INSTRUCTOR_COOKIE = "handatlas_instructor"
#: How long a sign-in lasts (days): the cookie expires and is refused after it.
SIGN_IN_DAYS = 0.5
#: The user of a page without an instructor: a student (not a valid instructor name).
GUEST = "(student)"
#: Threads that check passwords (two cores: more would only queue inside the CPU).
HASH_THREADS = 2

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>handatlas — instructor sign-in</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 26em; margin: 3em auto; padding: 0 1em; }}
label {{ display: block; margin: 0.8em 0 0.2em; }} input {{ width: 100%; padding: 0.4em; font-size: 1em; }}
button {{ margin-top: 1em; padding: 0.5em 1.2em; font-size: 1em; }}
.error {{ background: #fdecea; border-left: 4px solid #d32f2f; padding: 0.5em; }}
pre {{ white-space: pre-wrap; font-size: 0.85em; }}
</style></head><body>
<h1>Instructor sign-in</h1>
{body}
<p><a href="./">Continue without signing in</a> — students need no account.</p>
</body></html>
"""

FORM = """{error}<form method="post" action="./login">
<label for="username">Instructor</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>
"""


def is_https(handler: RequestHandler) -> bool:
    """Whether the request came over TLS (directly, or through a proxy trusted with ``--use-xheaders``)."""
    return handler.request.protocol == "https"


def instructor_of(handler: RequestHandler, sign_in: SignIn | None) -> str | None:
    """The instructor named by the request's signed cookie, if still valid and still configured."""
    if sign_in is None:
        return None
    raw = handler.get_signed_cookie(INSTRUCTOR_COOKIE, max_age_days=SIGN_IN_DAYS)
    name = raw.decode("utf-8", "replace") if raw else None
    return name if name and name in sign_in.instructors.users else None


class InstructorLoginHandler(BasicLoginHandler):
    """``/login``: the form (GET) and the throttled password check (POST)."""

    auth: InstructorAuth  # set on the subclass made by each provider

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.write(self.page(self.get_argument("error", "")))

    def page(self, error: str = "") -> str:
        if self.auth.sign_in is None:
            body = f"<pre>{escape(AUTHORING_HELP)}</pre>"
        else:
            shown = f"<p class='error' role='alert'>{escape(error)}</p>" if error else ""
            body = FORM.format(error=shown)
        return LOGIN_PAGE.format(body=body)

    def _same_origin(self) -> bool:
        origin = self.request.headers.get("Origin")
        return origin is None or urlparse(origin).netloc.lower() == self.request.host.lower()

    async def post(self) -> None:
        if not self._same_origin():  # a form posted from another site
            self.set_status(403)
            self.finish("Sign-in refused: the form came from another site.")
            return
        user = self.get_argument("username", "")[:200]
        password = self.get_argument("password", "")[:1024]
        outcome = await self.auth.check(self.request.remote_ip or "?", user, password)
        if outcome.ok:
            log.info("instructor %r signed in from %s", outcome.user, self.request.remote_ip)
            self.set_current_user(outcome.user)
            self.redirect("./")
        else:
            log.warning("failed instructor sign-in for %r from %s", user[:80], self.request.remote_ip)
            self.redirect("./login?error=" + quote(outcome.message))

    def set_current_user(self, user: str | None) -> None:
        if not user:
            self.clear_cookie(INSTRUCTOR_COOKIE, path="/")
            return
        self.set_signed_cookie(INSTRUCTOR_COOKIE, user, expires_days=SIGN_IN_DAYS, path="/",
                               httponly=True, samesite="Lax", secure=is_https(self))


class InstructorLogoutHandler(LogoutHandler):
    """``/logout``: forget the instructor and open a fresh student page."""

    def get(self) -> None:
        self.clear_cookie(INSTRUCTOR_COOKIE, path="/")
        self.redirect("./")


class InstructorAuth(BasicAuthProvider):
    """Panel's auth provider for handatlas: everyone gets in, instructors are told apart.

    Parameters
    ----------
    sign_in
        The throttled password check; None when no instructor is configured (authoring off).
    """

    def __init__(self, sign_in: SignIn | None) -> None:
        self.sign_in = sign_in
        self._pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="handatlas-sign-in")
        self._login = type("LoginHandler", (InstructorLoginHandler,), {"auth": self})
        super().__init__(login_endpoint="/login", logout_endpoint="/logout")

    async def check(self, client: str, user: str, password: str) -> Outcome:
        """:meth:`SignIn.attempt` in the thread pool (never on the event loop)."""
        if self.sign_in is None:
            return Outcome(ok=False)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.sign_in.attempt, client, user, password)

    def instructor_of(self, handler: RequestHandler) -> str | None:
        """The instructor signed in on the request's browser, if any."""
        return instructor_of(handler, self.sign_in)

    def learner_of(self, handler: RequestHandler) -> str | None:
        """None: learners sign in inside the app, with a name and a personal code."""
        return None

    @property
    def get_user(self) -> Any:
        def get_user(handler: RequestHandler) -> str:
            return instructor_of(handler, self.sign_in) or GUEST

        return get_user

    @property
    def login_handler(self) -> type[RequestHandler]:
        return self._login

    @property
    def logout_handler(self) -> type[RequestHandler]:
        return InstructorLogoutHandler

    def close(self) -> None:
        """Stop the password threads and release the throttle's database connections."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self.sign_in is not None:
            self.sign_in.store.close()

