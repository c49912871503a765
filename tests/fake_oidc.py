"""A fake OpenID Connect provider for the sign-in tests: a small Tornado app in a thread of the test.

It speaks the authorization-code flow as Panel's generic handler uses it:

- ``GET /authorize?client_id&redirect_uri&response_type=code&scope&state`` shows a form (a user
  field, as a provider's sign-in page would); ``POST /authorize`` makes a one-use code for that
  user and sends the browser back to ``redirect_uri?code=…&state=…``;
- ``POST /token`` (form: ``grant_type=authorization_code``, ``code``, ``redirect_uri``,
  ``client_id``, ``client_secret``) answers ``{"access_token": …, "token_type": "Bearer"}`` for a
  code it issued to that client and redirect address (and an ID token when :attr:`id_tokens`);
- ``GET /userinfo`` with ``Authorization: Bearer <access token>`` answers the user's claims.

Every request is recorded in :attr:`FakeProvider.calls`.  The claims of a user are
``{"sub", "email", "email_verified": True, "name"}`` updated with :attr:`FakeProvider.claims`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlencode

import tornado.web
from session_client import free_port

CLIENT_ID = "handatlas-test-client"
CLIENT_SECRET = "the fake provider's client secret"

FORM = """<!DOCTYPE html><html><head><title>Fake school sign-in</title></head><body>
<h1>Fake school sign-in</h1>
<form method="post" action="/authorize?{query}">
<label for="user">Account</label><input id="user" name="user">
<button id="continue" type="submit">Continue</button></form></body></html>"""


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@dataclass
class FakeProvider:
    """The running provider: its base URL, what it was asked, and switches for the tests."""

    url: str = ""
    calls: list[tuple[str, str]] = field(default_factory=list)
    #: extra or changed claims by user (e.g. ``{"eve@school.edu": {"email_verified": False}}``)
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: whether the token endpoint also sends an (unsigned) ID token
    id_tokens: bool = False
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    stop: Any = None

    def user_claims(self, user: str) -> dict[str, Any]:
        base = {"sub": f"sub-{user}", "email": user, "email_verified": True, "name": user.split("@")[0]}
        return {**base, **self.claims.get(user, {})}

    @property
    def authorize_url(self) -> str:
        return self.url + "authorize"

    @property
    def token_url(self) -> str:
        return self.url + "token"

    @property
    def userinfo_url(self) -> str:
        return self.url + "userinfo"


class _Handler(tornado.web.RequestHandler):
    def initialize(self, fake: FakeProvider) -> None:
        self.fake = fake

    def prepare(self) -> None:
        self.fake.calls.append((self.request.method or "", self.request.path))

    def refuse(self, status: int, error: str) -> None:
        self.set_status(status)
        self.finish({"error": error, "error_description": f"fake provider: {error}"})


class Authorize(_Handler):
    def get(self) -> None:
        wanted = {"client_id": CLIENT_ID, "response_type": "code"}
        if any(self.get_argument(name, "") != value for name, value in wanted.items()):
            self.refuse(400, "invalid_request")
            return
        self.finish(FORM.format(query=escape(self.request.query)))

    def post(self) -> None:
        user = self.get_body_argument("user", "").strip()
        redirect_uri = self.get_query_argument("redirect_uri", "")
        if not user or self.get_query_argument("client_id", "") != CLIENT_ID or not redirect_uri:
            self.refuse(400, "invalid_request")
            return
        code = secrets.token_urlsafe(16)
        self.fake.codes[code] = {"user": user, "redirect_uri": redirect_uri}
        state = self.get_query_argument("state", "")
        self.redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")


class Token(_Handler):
    def post(self) -> None:
        if (self.get_body_argument("client_id", "") != CLIENT_ID
                or self.get_body_argument("client_secret", "") != CLIENT_SECRET):
            self.refuse(401, "invalid_client")
            return
        issued = self.fake.codes.pop(self.get_body_argument("code", ""), None)  # a code works once
        if (self.get_body_argument("grant_type", "") != "authorization_code" or issued is None
                or self.get_body_argument("redirect_uri", "") != issued["redirect_uri"]):
            self.refuse(400, "invalid_grant")
            return
        access = secrets.token_urlsafe(24)
        self.fake.tokens[access] = issued["user"]
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
        if self.fake.id_tokens:
            claims = {"iss": self.fake.url.rstrip("/"), "aud": CLIENT_ID,
                      **self.fake.user_claims(issued["user"])}
            body["id_token"] = f"{_b64({'alg': 'none'})}.{_b64(claims)}.sig"
        self.finish(body)


class UserInfo(_Handler):
    def get(self) -> None:
        auth = self.request.headers.get("Authorization", "")
        user = self.fake.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if user is None:
            self.refuse(401, "invalid_token")
            return
        self.finish(self.fake.user_claims(user))


def start_fake_provider() -> FakeProvider:
    """Serve a :class:`FakeProvider` on a free port of 127.0.0.1 in a thread; ``.stop()`` ends it."""
    fake = FakeProvider()
    port = free_port()
    fake.url = f"http://127.0.0.1:{port}/"
    started = threading.Event()
    box: dict[str, Any] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = tornado.web.Application([(r"/authorize", Authorize, {"fake": fake}),
                                       (r"/token", Token, {"fake": fake}),
                                       (r"/userinfo", UserInfo, {"fake": fake})])
        box["server"] = app.listen(port, address="127.0.0.1")
        box["loop"] = loop
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=serve, daemon=True, name="fake-oidc-provider")
    thread.start()
    started.wait(30)

    def stop() -> None:
        loop = box["loop"]
        loop.call_soon_threadsafe(box["server"].stop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    fake.stop = stop
    return fake

