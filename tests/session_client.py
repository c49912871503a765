"""A lightweight client of the served app, without a browser: HTTP pages and Bokeh's websocket.

``Browser`` keeps cookies like a browser (one jar per browser); ``open_page`` returns the
session token embedded in the page; ``Socket`` speaks Bokeh's protocol over the websocket
(pull the document, change widget values, click buttons, wait for the server's patches).

Two ways to read the page: :meth:`Socket.pull` builds a Bokeh ``Document`` (needs Panel's and
handatlas's model classes imported: the tests), :meth:`Socket.pull_raw` keeps only each model's
id, type and attributes as JSON (no model classes, a fraction of the memory: the classroom
benchmark's simulated students, ``benchmarks/bench_classroom.py``).
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bokeh.client.websocket import WebSocketClientConnectionWrapper
from bokeh.document import Document
from bokeh.document.events import MessageSentEvent, ModelChangedEvent
from bokeh.events import ButtonClick
from bokeh.protocol import Protocol
from bokeh.protocol.messages.patch_doc import patch_doc
from bokeh.protocol.receiver import Receiver
from bokeh.util.token import get_session_id, get_token_payload
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

TOKEN_RE = re.compile(r'"token":\s*"([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """An HTTP client with its own cookie jar (one "browser")."""

    def __init__(self, base: str, *, forwarded_for: str | None = None) -> None:
        self.base = base.rstrip("/") + "/"
        self.jar = http.cookiejar.CookieJar()
        self.forwarded_for = forwarded_for
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, *, data: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """(status, headers, body) of a GET (or a POST of ``data``); redirects are not followed."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path.lstrip("/"), data=body, headers=dict(headers or {}))
        if self.forwarded_for:
            req.add_header("X-Forwarded-For", self.forwarded_for)
        try:
            with self._opener.open(req, timeout=120) as resp:
                return resp.status, dict(resp.headers), resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read().decode("utf-8", "replace")

    def open_page(self, path: str = "") -> str:
        """Open the app page and return its session token."""
        status, _, body = self.request(path)
        assert status == 200, f"the page answered {status}: {body[:200]}"
        found = TOKEN_RE.search(body)
        assert found, "no session token in the page"
        return found.group(1)

    def sign_in(self, user: str, password: str) -> tuple[int, str]:
        """POST the sign-in form; (status, Location) of the answer."""
        status, headers, _ = self.request("login", data={"username": user, "password": password})
        return status, headers.get("Location", "")

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


def session_of(token: str) -> str:
    return get_session_id(token)


def payload_of(token: str) -> dict[str, Any]:
    return get_token_payload(token)


class Socket:
    """A Bokeh protocol connection to one session (run its coroutines with :func:`run`)."""

    def __init__(self, ws: Any) -> None:
        self.ws = WebSocketClientConnectionWrapper(ws)
        self.protocol = Protocol()
        self.receiver = Receiver(self.protocol)
        self.doc = Document()
        #: id -> {"name": type name, "attributes": {...}} of the models seen (:meth:`pull_raw`)
        self.raw: dict[str, dict[str, Any]] = {}

    @classmethod
    async def connect(cls, base: str, token: str, *, cookies: str = "", origin: str | None = None,
                      compression: bool = False) -> Socket:
        """Open the websocket with ``token`` (offering permessage-deflate if ``compression``, as
        browsers do); raises HTTPClientError (e.g. 403) when refused."""
        url = base.replace("http", "ws", 1).rstrip("/") + "/ws"
        parsed = urllib.parse.urlparse(base)
        headers = {"Origin": origin or f"{parsed.scheme}://{parsed.netloc}"}
        if cookies:
            headers["Cookie"] = cookies
        ws = await websocket_connect(HTTPRequest(url, headers=headers), subprotocols=["bokeh", token],
                                     compression_options={} if compression else None)
        sock = cls(ws)
        ack = await sock.read()
        assert ack.msgtype == "ACK", ack.msgtype
        return sock

    @property
    def extensions(self) -> str:
        """The websocket extensions the server agreed to (``Sec-WebSocket-Extensions``)."""
        return self.ws._socket.headers.get("Sec-WebSocket-Extensions", "")

    async def read(self) -> Any:
        while True:
            fragment = await self.ws.read_message()
            if fragment is None:
                raise ConnectionError("the server closed the websocket")
            msg = await self.receiver.consume(fragment)
            if msg is not None:
                return msg

    async def pull(self) -> Document:
        await self.protocol.create("PULL-DOC-REQ").send(self.ws)
        while True:
            msg = await self.read()
            if msg.msgtype == "PULL-DOC-REPLY":
                msg.push_to_document(self.doc)
                return self.doc

    async def pull_raw(self) -> dict[str, dict[str, Any]]:
        """Pull the document as JSON only (:attr:`raw`; no model classes needed)."""
        await self.protocol.create("PULL-DOC-REQ").send(self.ws)
        while True:
            msg = await self.read()
            if msg.msgtype == "PULL-DOC-REPLY":
                self.raw.clear()
                self.learn(msg.content)
                return self.raw

    async def ready(self) -> None:
        """Tell the server the page is shown (a browser's ``document_ready``; Panel holds some
        updates until then)."""
        await self.send_raw({"kind": "MessageSent", "msg_type": "bokeh_event",
                             "msg_data": {"type": "event", "name": "document_ready",
                                          "values": {"type": "map", "entries": []}}})

    def learn(self, content: Any) -> None:
        """Remember every model described in ``content`` (a pull reply or a patch) in :attr:`raw`."""
        raw_models(content, into=self.raw)

    def find(self, css_class: str) -> tuple[str, str]:
        """(id, type name) of the last model seen with this CSS class (KeyError when there is none)."""
        return find_class(self.raw, css_class)

    def attribute(self, css_class: str, attr: str) -> Any:
        return self.raw[self.find(css_class)[0]]["attributes"].get(attr)

    async def send_raw(self, *events: dict[str, Any]) -> None:
        """Send a patch of raw JSON events (see :meth:`change` and :meth:`press`)."""
        await patch_doc(patch_doc.create_header(), {}, {"events": list(events)}).send(self.ws)

    async def change(self, css_class: str | tuple[str, str], attr: str, value: Any) -> None:
        """Send a change of ``attr`` of the model with this CSS class, or of this (id, type name)."""
        mid, _ = self.find(css_class) if isinstance(css_class, str) else css_class
        self.raw.setdefault(mid, {"name": None, "attributes": {}})["attributes"][attr] = value
        await self.send_raw({"kind": "ModelChanged", "model": {"id": mid}, "attr": attr, "new": value})

    async def press(self, css_class: str | tuple[str, str]) -> None:
        """Send a click on the button with this CSS class, or of this (id, type name)."""
        mid, name = self.find(css_class) if isinstance(css_class, str) else css_class
        values = {"type": "map", "entries": [["model", {"type": "object", "name": name, "id": mid}]]}
        await self.send_raw({"kind": "MessageSent", "msg_type": "bokeh_event",
                             "msg_data": {"type": "event", "name": "button_click", "values": values}})

    def model(self, css_class: str) -> Any:
        """The model of the page with this CSS class (AssertionError when there is none)."""
        found = [m for m in self.doc.models if css_class in (getattr(m, "css_classes", None) or [])]
        assert found, f"no model with class {css_class!r} in the document"
        return found[0]

    async def choose_mode(self, index: int, css_class: str | tuple[str, ...]) -> None:
        """Choose the ``index``-th mode button, as the page would, and wait until the panels that
        mode makes on first use have come (a model with ``css_class``, or one of them; a socket
        that pulled the page as objects pulls it again).  The page must have said it is shown
        (:meth:`ready`)."""
        wanted = (css_class,) if isinstance(css_class, str) else css_class
        if self.raw:
            await self.change("modes", "active", index)
        else:
            await self.set(self.model("modes"), "active", index)
        await self.wait_for_patch(lambda patch: any(f'"{c}"' in json.dumps(patch) for c in wanted))
        if not self.raw:
            await self.pull()

    def has(self, css_class: str) -> bool:
        return any(css_class in (getattr(m, "css_classes", None) or []) for m in self.doc.models)

    async def set(self, model: Any, attr: str, value: Any) -> None:
        """Send a change of ``model.attr`` to the server (as the page would)."""
        event = ModelChangedEvent(self.doc, model, attr, value)
        await self.protocol.create("PATCH-DOC", [event]).send(self.ws)

    async def click(self, model: Any) -> None:
        """Send a button click on ``model``."""
        event = MessageSentEvent(self.doc, "bokeh_event", ButtonClick(model))
        await self.protocol.create("PATCH-DOC", [event]).send(self.ws)

    async def wait_for_patch(self, predicate: Callable[[dict[str, Any]], bool], *,
                             timeout: float = 60) -> None:
        """Read the server's patches until one satisfies ``predicate`` (given the patch's JSON)."""
        async def loop() -> None:
            while True:
                msg = await self.read()
                if msg.msgtype != "PATCH-DOC":
                    continue
                content = json.loads(json.dumps(msg.content, default=str))
                if self.raw:
                    self.learn(content)
                if predicate(content):
                    return

        await asyncio.wait_for(loop(), timeout)

    async def close(self) -> None:
        """Close the websocket and wait until the server has closed it too (no socket left open)."""
        conn = self.ws._socket
        conn.close()
        try:
            await asyncio.wait_for(_drain(conn), 10)
        finally:
            stream = getattr(conn, "stream", None) or getattr(getattr(conn, "protocol", None), "stream", None)
            if stream is not None:
                stream.close()


def raw_models(content: Any, *, into: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """The models described in a message's JSON ``content``: id -> {"name", "attributes"}
    (added to ``into`` when given)."""
    models = {} if into is None else into
    stack = [content]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "object" and "id" in item and "attributes" in item:
                known = models.setdefault(item["id"], {"name": item.get("name"), "attributes": {}})
                known["attributes"].update(item["attributes"])
            if item.get("kind") == "ModelChanged" and (item.get("model") or {}).get("id") in models:
                models[item["model"]["id"]]["attributes"][item["attr"]] = item.get("new")
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))
    return models


def find_class(models: dict[str, dict[str, Any]], css_class: str) -> tuple[str, str]:
    """(id, type name) of the last of ``models`` with this CSS class (KeyError when there is none)."""
    for mid, model in reversed(models.items()):
        if css_class in (model["attributes"].get("css_classes") or []):
            return mid, model["name"]
    raise KeyError(f"no model with class {css_class!r} seen")


async def _drain(conn: Any) -> None:
    """Read ``conn`` until the server's close (read_message answers None)."""
    while await conn.read_message() is not None:
        pass


def run(coro: Any) -> Any:
    """Run a coroutine on a fresh event loop, in a thread of its own: this thread may already
    run one (Playwright's sync API keeps a loop running in the main thread for the whole session
    once a browser test has started it)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="handatlas-test-client")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


async def refusal(coro: Any) -> int | None:
    """The HTTP status that refused a websocket handshake (None when it was accepted)."""
    try:
        sock = await coro
    except HTTPClientError as err:
        return err.code
    await sock.close()
    return None


def refused(coro: Any) -> int | None:
    """:func:`refusal` run on a fresh event loop (:func:`run`)."""
    return run(refusal(coro))


@dataclass
class Running:
    """A served app: its base URL, the sessions it made (in order, and by session id), and how to
    stop it."""

    url: str
    sessions: list[Any] = field(default_factory=list)
    by_id: dict[str, Any] = field(default_factory=dict)
    stop: Callable[[], None] = lambda: None
    server: Any = None

    def made(self, app: Any) -> None:
        """``build_server``'s ``on_session``: keep the session's app (a page's session is made just
        after its page, so it is found by its id, :meth:`app_of`)."""
        import panel as pn

        self.sessions.append(app)
        self.by_id[pn.state.curdoc.session_context.id] = app

    def app_of(self, token: str, *, within_s: float = 30.0) -> Any:
        """The app of the session of a page's ``token``, once it is made."""
        sid = session_of(token)
        deadline = time.monotonic() + within_s
        while sid not in self.by_id:
            assert time.monotonic() < deadline, f"no session {sid} was made"
            time.sleep(0.02)
        return self.by_id[sid]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app_server(**options: Any) -> Running:
    """``handatlas.ui.app.build_server(**options)`` served on a free port in a thread of this process."""
    from handatlas.ui.app import build_server, shared_atlas

    shared_atlas()  # warm up outside the server thread
    port = free_port()
    running = Running(url=f"http://127.0.0.1:{port}/")
    started = threading.Event()
    box: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            server = build_server(port=port, address="127.0.0.1", on_session=running.made, **options)
            server.start()
            box["server"] = server
        except BaseException as exc:  # report it to the test
            box["error"] = exc
            raise
        finally:
            started.set()
        server.io_loop.start()

    thread = threading.Thread(target=serve, daemon=True, name="handatlas-test-server")
    thread.start()
    started.wait(120)
    if "error" in box:
        raise box["error"]
    server = running.server = box["server"]

    def stop() -> None:
        def halt() -> None:
            server.stop()
            server.io_loop.stop()

        server.io_loop.add_callback(halt)
        thread.join(30)
        server._tornado.auth_provider.close()

    running.stop = stop
    return running
