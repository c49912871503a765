"""The app server: signed, server-made session ids, each bound to one browser and one connection.

:func:`make_server` builds Panel's server (``pn.serve``'s :func:`panel.io.server.get_server`)
with Bokeh's session signing on (``sign_sessions``, ``secret_key``, ``generate_session_ids``)
and swaps two of its handlers for stricter ones:

- :class:`SessionPageHandler` (the page) refuses a session id or token chosen by the client
  (``?bokeh-session-id=…``, ``?bokeh-token=…``, a ``Bokeh-Session-Id`` header): every page gets
  a fresh session with an id made and signed here.  The page's HTML is laid out from a kept
  :class:`PageLayout` (every page's HTML is the same but for its token) and its session is made
  just after the HTML is sent, while the browser loads the scripts.  It sets the browser cookie
  :data:`BROWSER_COOKIE` (random, HttpOnly, SameSite=Lax, Secure over HTTPS) and writes into the
  session's signed token a digest of that cookie, the signed-in instructor, if any, and the
  learner signed in at the school's OpenID Connect provider, if any (:data:`PAYLOAD_KEY`).
  Of the request's cookies only :data:`PAGE_COOKIES` go into the token (the page can read its
  token; HttpOnly would mean nothing otherwise).
- :class:`SessionSocketHandler` (the websocket) refuses, before the handshake, a token whose
  browser digest is not that of the connecting browser's cookie, an instructor's (or learner's)
  token from a browser no longer signed in as them, and any second connection to a session.

Origins stay checked by Bokeh (``allow_websocket_origin``).  Instructors sign in through
:mod:`handatlas.ui.login`, or everyone through :mod:`handatlas.ui.oidc`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from bokeh.util.token import (
    check_token_signature,
    generate_jwt_token,
    generate_session_id,
    get_session_id,
    get_token_payload,
)
from panel.io.resources import LOCAL_DIST
from panel.io.server import AutoloadJsHandler, DocHandler, Server, WSHandler, get_server
from panel.io.state import set_curdoc
from panel.io.state import state as pn_state
from tornado.ioloop import IOLoop
from tornado.web import HTTPError, RequestHandler

from handatlas.secret import derive_key
from handatlas.ui.display import MESH_ROUTE, published
from handatlas.ui.login import InstructorAuth, is_https
from handatlas.ui.oidc import OidcAuth
from handatlas.ui.quizviews import LEARNER_COOKIE
from handatlas.ui.static import gzip_static_files

log = logging.getLogger(__name__)

#: The cookie that binds a page's session to its browser.
BROWSER_COOKIE = "handatlas_browser"
#: The cookies a session may read (set by the page's script, e.g. the drill's remembered name).
PAGE_COOKIES = frozenset({LEARNER_COOKIE})
#: The key of handatlas's own part of a session token's payload.
PAYLOAD_KEY = "handatlas"
#: Seconds a page has to open its websocket (Bokeh's ``session_token_expiration``).
TOKEN_EXPIRY_S = 120
#: Seconds a session without a websocket is kept (Bokeh's ``unused_session_lifetime``): a closed
#: page's session, or a page whose websocket never came.  Long enough for a slow phone to load the page.
SESSION_LIFETIME_S = 15.0
#: Seconds between two looks for unused sessions (Bokeh's ``check_unused_sessions``): a closed
#: page's session is gone within ``SESSION_LIFETIME_S + SESSION_CHECK_S`` (20 s by default).
SESSION_CHECK_S = 5.0


def browser_digest(secret_key: bytes | str, cookie: str | None) -> str:
    """What a token records of a browser cookie (a keyed digest, not the cookie)."""
    key = secret_key if isinstance(secret_key, bytes) else secret_key.encode("utf-8")
    return hmac.new(key, (cookie or "").encode("utf-8"), hashlib.sha256).hexdigest()


def session_identity(payload: dict[str, Any] | None) -> dict[str, Any]:
    """``{"instructor": name or None, "learner": identity or None, "client": address}`` from a session
    token's payload (``learner``: signed in at the school's OpenID Connect provider)."""
    own = (payload or {}).get(PAYLOAD_KEY) or {}
    return {"instructor": own.get("instructor"), "learner": own.get("learner"),
            "client": str(own.get("client") or "?")}


def current_identity() -> dict[str, Any]:
    """The identity of the session being built (:func:`session_identity` of its token)."""
    context = getattr(pn_state.curdoc, "session_context", None)
    has_token = context is not None and getattr(context, "_token", None) is not None
    return session_identity(context.token_payload if has_token else None)


def assets_from_here(doc: Any) -> None:
    """Record on a session's document, before its models are made, what Panel records when it writes
    the session's page (``server_html_page_for_session``): the page's assets are served here.  Panel's
    models and designs take their stylesheets' address from it (else Panel's CDN: a page laid out from
    a :class:`PageLayout` would come up without styles)."""
    with set_curdoc(doc):
        dist_url = f"{pn_state.rel_path}/{LOCAL_DIST}" if pn_state.rel_path else LOCAL_DIST
    doc._template_variables["dist_url"] = dist_url


class PageLayout:
    """The document every page's HTML is laid out from: the app as an anonymous student opens it,
    never served (:class:`SessionPageHandler`).

    A page's HTML is its scripts, styles, title and template and one element per root of the
    document (BokehJS fills them in the roots' order from the session it pulls), so it is the
    same for every session but for the token; a session takes ≈ 0.2 s to make, which the page
    no longer waits for.

    Parameters
    ----------
    make
        Makes the document (:func:`handatlas.ui.app.page_layout`).
    """

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        #: The document, once made (:meth:`make`).
        self.document: Any = None

    def make(self) -> None:
        """Make the document (once; a process makes it before its first page, or after it when
        Tornado forked the process)."""
        if self.document is None:
            self.document = self._make()


class _LaidOut:
    """What :meth:`DocHandler.get` reads of a session to write its page: the layout's document and
    this page's token."""

    def __init__(self, document: Any, token: str) -> None:
        self.document, self.token = document, token


class SessionPageHandler(DocHandler):
    """The app page: a new session per request, its id made and signed by the server."""

    CLIENT_IDS = ("bokeh-session-id", "bokeh-token")

    def _browser_cookie(self) -> str:
        value = self.get_signed_cookie(BROWSER_COOKIE)
        if value:
            return value.decode("ascii", "replace")
        fresh = secrets.token_urlsafe(24)
        self.set_signed_cookie(BROWSER_COOKIE, fresh, expires_days=None, path="/", httponly=True,
                               samesite="Lax", secure=is_https(self))
        return fresh

    async def get_session(self) -> Any:
        if any(self.get_argument(name, None) is not None for name in self.CLIENT_IDS) or (
            "Bokeh-Session-Id" in self.request.headers
        ):
            log.warning("refused a client-chosen session id from %s", self.request.remote_ip)
            raise HTTPError(403, reason="Session ids are made by the server")
        app = self.application
        auth = app.auth_provider
        session_id = generate_session_id(secret_key=app.secret_key, signed=True)
        payload: dict[str, Any] = {
            "headers": {k: v for k, v in self.request.headers.items() if k.lower() != "cookie"},
            # only the cookies the page's own script sets (readable by it anyway): never the
            # HttpOnly browser and sign-in cookies
            "cookies": {k: m.value for k, m in self.request.cookies.items() if k in PAGE_COOKIES},
            "arguments": self.request.arguments or {},
        }
        payload.update(self.application_context.application.process_request(self.request))
        payload[PAYLOAD_KEY] = {
            "browser": browser_digest(app.secret_key, self._browser_cookie()),
            "instructor": auth.instructor_of(self),
            "learner": auth.learner_of(self),
            "client": self.request.remote_ip or "?",
        }
        token = generate_jwt_token(session_id, secret_key=app.secret_key, signed=True,
                                   expiration=app.session_token_expiration, extra_payload=payload)
        layout: PageLayout | None = getattr(app, LAYOUT_ATTRIBUTE, None)
        if layout is None or layout.document is None:
            session = await self.application_context.create_session_if_needed(session_id, self.request, token)
            if layout is not None:
                IOLoop.current().add_callback(layout.make)
            return session
        # the page's session, made once the page's scripts are on their way (its websocket waits for
        # it, or makes it, if it comes first)
        IOLoop.current().call_later(SESSION_AFTER_PAGE_S, self.application_context.create_session_if_needed,
                                    session_id, self.request, token)
        return _LaidOut(layout.document, token)


class NoEmbedHandler(AutoloadJsHandler):
    """``autoload.js`` (embedding the app in another page) is off: it would take client session ids."""

    async def get(self, *args: Any, **kwargs: Any) -> None:
        raise HTTPError(404)


class SessionSocketHandler(WSHandler):
    """The websocket: one connection per session, from the browser that opened the page."""

    def _refusal(self) -> str | None:
        # Tornado checks the origin only after prepare(): check it first here, so that a refused
        # origin cannot use up a session's one connection
        origin = self.request.headers.get("Origin")
        if origin is not None and not self.check_origin(origin):
            return f"origin {origin!r} not allowed"
        offered = [p.strip() for p in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        if len(offered) != 2 or offered[0] != "bokeh":
            return "no session token"
        token = offered[1]
        app = self.application
        if not check_token_signature(token, secret_key=app.secret_key, signed=True):
            return "a token not signed by this server"
        payload = get_token_payload(token)
        own = payload.get(PAYLOAD_KEY) or {}
        cookie = self.get_signed_cookie(BROWSER_COOKIE)
        seen = browser_digest(app.secret_key, cookie.decode("ascii", "replace") if cookie else None)
        if not cookie or not hmac.compare_digest(str(own.get("browser", "")), seen):
            return "a session opened by another browser"
        auth = app.auth_provider
        if own.get("instructor") and auth.instructor_of(self) != own["instructor"]:
            return "an instructor session from a browser not signed in as that instructor"
        if own.get("learner") and auth.learner_of(self) != own["learner"]:
            return "a learner's session from a browser no longer signed in as that learner"
        expiry = float(payload.get("session_expiry", 0))
        if not _first_connection(app, token, expiry):
            return "a second connection to a session"
        return None

    async def prepare(self) -> None:
        await super().prepare()
        if self._finished:
            return
        why = self._refusal()
        if why is not None:
            log.warning("refused a websocket from %s: %s", self.request.remote_ip, why)
            self.set_status(403)
            self.finish(f"Refused: {why}.")


def _first_connection(app: Any, token: str, expiry: float) -> bool:
    """Whether this is the first connection with ``token``'s session (remembered until the token expires)."""
    seen: dict[str, float] = app.__dict__.setdefault("_handatlas_connected", {})
    now = time.time()
    for sid in [sid for sid, until in seen.items() if until < now]:
        del seen[sid]
    sid = get_session_id(token)
    if sid in seen:
        return False
    seen[sid] = max(expiry, now + 1)
    return True


class MeshBlobHandler(RequestHandler):
    """``/meshes/<digest>.bin``: the display meshes' blob (:mod:`handatlas.ui.display`), named
    by its content hash, so the browser may keep it for good."""

    def get(self, digest: str) -> None:
        blob = published(digest)
        if blob is None:
            raise HTTPError(404)
        etag = f'"{digest}"'
        self.set_header("Cache-Control", "public, max-age=31536000, immutable")
        self.set_header("ETag", etag)
        if self.request.headers.get("If-None-Match") == etag:
            self.set_status(304)
            return
        self.set_header("Content-Type", "application/octet-stream")  # already deflated
        self.write(blob)


#: zlib level of the websocket's permessage-deflate (Bokeh's ``websocket_compression_level``): a
#: session's document is JSON that deflates to about a tenth; level 6 costs little CPU for it.
WS_COMPRESSION_LEVEL = 6

#: The route of the meshes' blob: pass to ``pn.serve(..., extra_patterns=MESH_PATTERNS)`` when
#: serving the app without :func:`make_server` (tools that take pictures or time the page).
MESH_PATTERNS = [(rf"/{MESH_ROUTE}/([0-9a-f]{{20}})\.bin", MeshBlobHandler)]

#: Seconds after a page is sent when its session is made: the page's script requests come within
#: about 0.1 s, and a session takes the event loop ≈ 0.2 s to make, while the browser takes
#: ≈ 0.4 s to evaluate the scripts before it connects.
SESSION_AFTER_PAGE_S = 0.15

#: Where the Tornado application keeps its :class:`PageLayout`.
LAYOUT_ATTRIBUTE = "handatlas_layout"

#: Panel's handlers and what replaces them.
REPLACED = {
    DocHandler: SessionPageHandler,
    WSHandler: SessionSocketHandler,
    AutoloadJsHandler: NoEmbedHandler,
}


def _swap_handlers(server: Server) -> None:
    swapped = set()
    for rule in server._tornado.wildcard_router.rules:
        new = REPLACED.get(rule.target)
        if new is not None:
            swapped.add(rule.target)
            rule.target = new
    missing = set(REPLACED) - swapped
    if missing:  # a Panel upgrade moved them: refuse to serve without the checks
        names = ", ".join(sorted(cls.__name__ for cls in missing))
        raise RuntimeError(f"cannot install handatlas's session checks: Panel's {names} not found")


def make_server(
    app: Callable[[], Any],
    *,
    secret: str,
    auth: InstructorAuth | OidcAuth,
    port: int = 5006,
    address: str | None = "localhost",
    origins: list[str] | None = None,
    title: str = "handatlas",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    use_xheaders: bool = False,
    num_procs: int = 1,
    session_lifetime_s: float = SESSION_LIFETIME_S,
    session_check_s: float = SESSION_CHECK_S,
    layout: PageLayout | None = None,
    **kwargs: Any,
) -> Server:
    """Panel's server for ``app`` at ``/`` with signed sessions and instructor sign-in (not started).

    Parameters
    ----------
    app
        Makes one session's page.
    secret
        The server secret (:func:`handatlas.secret.server_secret`): session ids and cookies are
        signed with keys derived from it.
    auth
        The auth provider: instructors' passwords (students need no account), or the school's
        OpenID Connect provider (everyone signs in there; Panel's ``oauth_*`` options are set here).
    origins
        ``host[:port]`` values a websocket may come from (Bokeh's ``allow_websocket_origin``).
    ssl_certfile, ssl_keyfile
        Serve HTTPS (the cookies are then Secure).
    use_xheaders
        Trust a reverse proxy's ``X-Forwarded-For``/``X-Forwarded-Proto`` (client address for the
        throttle, HTTPS for Secure cookies).
    num_procs
        Server processes (Bokeh's ``num_procs``): the listening socket is bound here, then
        Tornado forks this many processes that share it (0: one per CPU).  Nothing ``app`` makes
        may exist before the fork; a page's session lives in the process that answered the page.
    session_lifetime_s, session_check_s
        How long a session without a websocket is kept, and how often unused sessions are looked
        for (a closed page's session is gone within their sum).
    layout
        The pages' HTML is laid out from it once it is made (made after the first page otherwise);
        without it every page waits for its session.
    kwargs
        More of :func:`panel.io.server.get_server`'s options (e.g. ``liveness``).
    """
    if num_procs < 0:
        raise ValueError(f"num_procs must be 0 (one per CPU) or more, got {num_procs}")
    if not (session_lifetime_s > 0 and session_check_s > 0):
        msg = f"session lifetimes must be positive, got {session_lifetime_s} and {session_check_s}"
        raise ValueError(msg)
    if num_procs != 1:
        kwargs["num_procs"] = num_procs
    if isinstance(auth, OidcAuth):
        kwargs.update(auth.panel_options())
    server = get_server(
        {"/": app},
        port=port,
        address=address,
        websocket_origin=origins,
        title=title,
        sign_sessions=True,
        generate_session_ids=True,
        secret_key=derive_key(secret, "bokeh session ids"),
        cookie_secret=derive_key(secret, "cookies"),
        session_token_expiration=TOKEN_EXPIRY_S,
        auth_provider=auth,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        use_xheaders=use_xheaders,
        extra_patterns=[*MESH_PATTERNS, *kwargs.pop("extra_patterns", [])],
        unused_session_lifetime_milliseconds=round(session_lifetime_s * 1000),
        check_unused_sessions_milliseconds=round(session_check_s * 1000),
        websocket_compression_level=WS_COMPRESSION_LEVEL,
        **kwargs,
    )
    _swap_handlers(server)
    _without_unused_scripts(server)
    if kwargs.get("compress_response"):
        gzip_static_files(server._tornado)
    setattr(server._tornado, LAYOUT_ATTRIBUTE, layout)
    return server


#: BokehJS bundles a page loads that the app never uses: WebGL plotting (the app has no Bokeh plot;
#: its 3D view is vtk.js).  Panel keeps every bundle but MathJax's; bokeh-tables stays (Panel's
#: own bundle needs it).
UNUSED_BUNDLES = frozenset({"bokeh-gl"})


def _without_unused_scripts(server: Server) -> None:
    """Pages leave out :data:`UNUSED_BUNDLES` (194 KB of script a page otherwise parses)."""
    tornado = server._tornado
    resources = tornado.resources

    def used(absolute_url: Any = None) -> Any:
        found = resources(absolute_url)
        return found.clone(components=[c for c in found.components if c not in UNUSED_BUNDLES])

    tornado.resources = used
