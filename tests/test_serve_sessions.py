"""The served app's sessions, attacked over HTTP and the websocket (a real server, no browser).

A client-chosen session id is refused; a session cannot be joined by a second client, even with
the first one's token; author actions reach the server only from the session of a signed-in
instructor, opened by that instructor's browser.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import time
import urllib.error
import urllib.request
import zlib

import pytest
import yaml
from bokeh.util.token import check_token_signature, generate_jwt_token, generate_session_id
from session_client import (
    TOKEN_RE,
    Browser,
    Socket,
    payload_of,
    refusal,
    refused,
    run,
    session_of,
    start_app_server,
)

from handatlas.accounts import Instructors, hash_password
from handatlas.quiz import default_quiz_dir
from handatlas.secret import derive_key
from handatlas.ui.state import MODES

SECRET = "a test secret that is long enough to sign things"
INSTRUCTOR = ("instructor", "test password 1")
#: The Author mode's place among the mode buttons.
AUTHOR_MODE = MODES.index("author")
pytestmark = pytest.mark.filterwarnings("ignore:reference already known:UserWarning")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    quizzes = tmp_path_factory.mktemp("quizzes") / "quizzes"
    shutil.copytree(default_quiz_dir(), quizzes)
    instructors = Instructors({INSTRUCTOR[0]: hash_password(INSTRUCTOR[1], iterations=1000)})
    running = start_app_server(secret=SECRET, quizzes=quizzes, instructors=instructors,
                               progress_db=str(tmp_path_factory.mktemp("db") / "progress.sqlite"))
    running.quizzes = quizzes
    try:
        yield running
    finally:
        running.stop()


def test_session_ids_are_made_and_signed_by_the_server(served):
    browser = Browser(served.url)
    first, second = browser.open_page(), browser.open_page()
    assert session_of(first) != session_of(second), "every page is a new session"
    key = derive_key(SECRET, "bokeh session ids")
    assert check_token_signature(first, secret_key=key.encode(), signed=True)
    assert not check_token_signature(first, secret_key=b"another key" * 4, signed=True)


@pytest.mark.parametrize("query", ["?bokeh-session-id=anything", "?bokeh-session-id={sid}",
                                   "?bokeh-token={token}"])
def test_a_client_chosen_session_id_is_refused(served, query):
    victim = Browser(served.url)
    token = victim.open_page()
    attacker = Browser(served.url)
    status, _, _ = attacker.request(query.format(sid=session_of(token), token=token))
    assert status == 403
    status, _, _ = attacker.request("", headers={"Bokeh-Session-Id": session_of(token)})
    assert status == 403
    assert Browser(served.url).request("autoload.js?bokeh-autoload-element=x")[0] == 404


def test_a_token_not_signed_by_the_server_is_refused(served):
    browser = Browser(served.url)
    browser.open_page()  # the browser cookie
    forged = generate_jwt_token(generate_session_id(signed=False), signed=False, extra_payload={})
    assert refused(Socket.connect(served.url, forged, cookies=browser.cookie_header())) == 403
    wrong_key = generate_jwt_token(generate_session_id(secret_key=b"k" * 40, signed=True),
                                   secret_key=b"k" * 40, signed=True)
    assert refused(Socket.connect(served.url, wrong_key, cookies=browser.cookie_header())) == 403


def test_a_page_is_written_before_its_session_is_made_and_its_styles_come_from_here(served):
    """Pages are written from the server's kept layout, so they do not wait for their session; each
    page's own session is made just after it (its websocket need not come), and every stylesheet
    its models ask for is served by this server (not Panel's CDN), as when the page was written
    from the session itself."""
    browser = Browser(served.url)
    _, _, body = browser.request("")
    token = TOKEN_RE.search(body).group(1)
    assert not re.search(r"""(src|href)=["']https?://""", body), "the page's assets come from this server"
    made = set()
    for _ in range(100):
        made = {s.id for s in served.server.get_sessions("/")}
        if session_of(token) in made:
            break
        time.sleep(0.05)
    assert session_of(token) in made, "the page's session is made without its websocket"

    async def stylesheets() -> list[str]:
        sock = await Socket.connect(served.url, token, cookies=browser.cookie_header())
        try:
            raw = await sock.pull_raw()
        finally:
            await sock.close()
        return [m["attributes"]["url"] for m in raw.values() if m["name"] == "ImportedStyleSheet"]

    urls = run(stylesheets())
    assert len(urls) > 5 and not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls


def test_a_second_client_cannot_join_a_session(served):
    victim, attacker = Browser(served.url), Browser(served.url)
    attacker.open_page()  # the attacker has a browser cookie of its own
    token = victim.open_page()
    # another browser with the victim's token, before and after the victim connects
    assert refused(Socket.connect(served.url, token, cookies=attacker.cookie_header())) == 403
    assert refused(Socket.connect(served.url, token)) == 403  # no cookie at all

    async def victim_then_thief() -> int | None:
        sock = await Socket.connect(served.url, token, cookies=victim.cookie_header())
        await sock.pull()
        try:  # even with every cookie of the victim: a session takes one connection
            return await refusal(Socket.connect(served.url, token, cookies=victim.cookie_header()))
        finally:
            await sock.close()

    assert run(victim_then_thief()) == 403


def test_websockets_from_other_origins_are_refused(served):
    browser = Browser(served.url)
    token = browser.open_page()
    evil = Socket.connect(served.url, token, cookies=browser.cookie_header(), origin="http://evil.example")
    assert refused(evil) == 403
    assert refused(Socket.connect(served.url, token, cookies=browser.cookie_header())) is None


def test_the_page_token_carries_only_the_cookie_the_page_sets_itself(served):
    """The session reads the drill's remembered name (a cookie the page's script sets), never the
    HttpOnly cookies: the page can read its own token."""
    status, _, body = Browser(served.url).request("", headers={
        "Cookie": "handatlas_learner=R%C3%A9mi; handatlas_browser=stolen; handatlas_instructor=x; other=1"})
    assert status == 200
    token = TOKEN_RE.search(body).group(1)
    assert payload_of(token)["cookies"] == {"handatlas_learner": "R%C3%A9mi"}


def test_sign_in_sets_a_strict_cookie_and_sign_out_removes_it(served):
    browser = Browser(served.url)
    status, location = browser.sign_in(INSTRUCTOR[0], "not the password")
    assert status == 302 and "error=" in location and browser.cookie("handatlas_instructor") is None
    assert "Wrong instructor name or password" in browser.request(location.lstrip("./"))[2]
    status, headers, _ = browser.request("login", data={"username": INSTRUCTOR[0], "password": INSTRUCTOR[1]})
    assert status == 302 and headers["Location"] == "./"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("handatlas_instructor=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS it is Secure (test_sign_in.py)
    token = browser.open_page()
    assert payload_of(token)["handatlas"]["instructor"] == INSTRUCTOR[0]
    assert "handatlas_instructor" not in str(payload_of(token)), "the page's token holds no cookie"
    status, headers, _ = browser.request("logout")
    assert status == 302 and browser.cookie("handatlas_instructor") is None
    assert payload_of(browser.open_page())["handatlas"]["instructor"] is None
    # a token made while signed in is refused once the browser has signed out
    assert refused(Socket.connect(served.url, token, cookies=browser.cookie_header())) == 403


def test_a_login_form_posted_from_another_site_is_refused(served):
    status, _, _ = Browser(served.url).request(
        "login", data={"username": INSTRUCTOR[0], "password": INSTRUCTOR[1]},
        headers={"Origin": "http://evil.example"})
    assert status == 403


async def _author(sock: Socket, qid: str) -> None:
    """Fill the author form for a new press question in a new file and press Save."""
    await sock.set(sock.model("author-file"), "value", "(new file)")
    for css, value in (("author-new-file", "ws_authored"), ("author-id", qid),
                       ("author-target", "carpal_tunnel"), ("author-prompt", "A press here: the verdict?"),
                       ("author-explanation", "The radial artery is close."),
                       ("author-tags", "topic:carpal_tunnel, domain:pathology")):  # one exam domain
        await sock.set(sock.model(css), "value", value)
    await sock.click(sock.model("author-save"))


def test_author_actions_need_a_signed_in_instructor_on_that_session(served):
    target = served.quizzes / "ws_authored.yaml"
    instructor, student, thief = Browser(served.url), Browser(served.url), Browser(served.url)
    assert instructor.sign_in(*INSTRUCTOR)[0] == 302
    thief.open_page()

    async def scenario() -> None:
        # a student's session holds no editor: no model an author action could go to
        token = student.open_page()
        pupil = await Socket.connect(served.url, token, cookies=student.cookie_header())
        teacher = None
        try:
            await pupil.pull()
            await pupil.ready()
            await pupil.choose_mode(AUTHOR_MODE, "author-login")
            assert pupil.has("author-login") and not pupil.has("author-save") and not pupil.has("author-id")
            assert payload_of(token)["handatlas"]["instructor"] is None

            # the instructor's own session: the same actions save a question (the test can author)
            own_token = instructor.open_page()
            assert await refusal(Socket.connect(served.url, own_token, cookies=thief.cookie_header())) == 403
            teacher = await Socket.connect(served.url, own_token, cookies=instructor.cookie_header())
            await teacher.pull()
            await teacher.ready()
            await teacher.choose_mode(AUTHOR_MODE, "author-save")
            await _author(teacher, "by_the_instructor")
            await teacher.wait_for_patch(lambda patch: "Saved" in str(patch))
            saved = yaml.safe_load(target.read_text())
            assert [q["id"] for q in saved["questions"]] == ["by_the_instructor"]

            # the student sends a click on the instructor's save button, by its id: nothing happens
            before = target.read_bytes()
            await pupil.click(teacher.model("author-save"))  # its id: the instructor's button
            await pupil.pull()  # the server has handled everything sent before this reply
            assert target.read_bytes() == before
            assert [s.author.user for s in served.sessions[-2:]] == [None, "instructor"]
        finally:
            await pupil.close()
            if teacher is not None:
                await teacher.close()

    run(scenario())



def test_the_websocket_is_deflated_when_the_browser_offers_it(served):
    """permessage-deflate, as browsers offer it: the session's document travels compressed."""
    browser = Browser(served.url)
    token = browser.open_page()

    async def scenario() -> tuple[str, int]:
        sock = await Socket.connect(served.url, token, cookies=browser.cookie_header(), compression=True)
        try:
            doc = await sock.pull()
            return sock.extensions, len(doc.roots)
        finally:
            await sock.close()

    extensions, roots = run(scenario())
    assert extensions.startswith("permessage-deflate") and roots > 0


def test_the_meshes_are_a_cacheable_static_file_of_geometry_only(served):
    """The display meshes travel as a static file named by its content hash (cached for good,
    no structure name in it); the session sends only where it is and how to unpack it."""
    from handatlas.ui.app import shared_atlas
    from handatlas.ui.display import display_meshes
    from handatlas.ui.state import shown_at_start

    atlas = shared_atlas()
    parts = display_meshes(atlas, shown_at_start(atlas))
    browser = Browser(served.url)
    token = browser.open_page()

    async def scene_payload() -> dict:
        sock = await Socket.connect(served.url, token, cookies=browser.cookie_header())
        try:
            await sock.pull()
            return sock.model("scene").data.meshes
        finally:
            await sock.close()

    payload = run(scene_payload())
    assert "blob" not in str(payload) and len(payload["parts"]) == len(parts) == 2
    for sent, meshes in zip(payload["parts"], parts, strict=True):
        assert sent["index"] == meshes.index and sent["url"] == f"./meshes/{meshes.digest}.bin"
        status, headers, _ = browser.request(sent["url"][2:])
        assert status == 200 and headers["Cache-Control"] == "public, max-age=31536000, immutable"
        with urllib.request.urlopen(served.url + sent["url"][2:], timeout=60) as resp:
            body = resp.read()
        assert body == meshes.blob.tobytes()
        assert hashlib.sha256(body).hexdigest().startswith(meshes.digest)
        raw = zlib.decompress(body)
        assert len(raw) == meshes.raw_bytes and b"median" not in raw and b"nerve" not in raw
        status, _, _ = browser.request(sent["url"][2:], headers={"If-None-Match": f'"{meshes.digest}"'})
        assert status == 304
    assert browser.request(f"meshes/{'0' * 20}.bin")[0] == 404
    assert browser.request("meshes/../static/x.bin")[0] == 404


def test_scripts_go_out_gzipped_from_a_kept_copy(served):
    """Panel's, Bokeh's and the scene's scripts are compressed once per process, not per request: the
    same gzipped bytes each time, the file's own bytes inside, a 304 for the browser's copy; a range
    request and a client without gzip get the file as it is."""
    from handatlas.ui import static

    browser = Browser(served.url)
    _, _, page = browser.request("")
    scripts = re.findall(r"""<script[^>]+src=["']([^"']+\.js[^"']*)["']""", page)
    scripts = [s.removeprefix("./").replace("&amp;", "&") for s in scripts]
    assert any("vtk-hand.js" in s for s in scripts) and any("bokeh.min.js" in s for s in scripts), scripts

    def get(path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(served.url + path, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    revalidated = 0
    for path in scripts:
        status, headers, body = get(path, **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers.get("Content-Encoding") == "gzip", (path, headers)
        assert int(headers["Content-Length"]) == len(body)
        plain_status, plain_headers, plain = get(path)
        assert plain_status == 200 and "Content-Encoding" not in plain_headers
        assert gzip.decompress(body) == plain, path
        assert get(path, **{"Accept-Encoding": "gzip"})[2] == body, "the same kept copy"
        if "ETag" in plain_headers:
            assert headers["ETag"] != plain_headers["ETag"], "a gzipped copy is another representation"
            assert get(path, **{"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]})[0] == 304
            revalidated += 1
        if "Last-Modified" in headers:
            since = {"Accept-Encoding": "gzip", "If-Modified-Since": headers["Last-Modified"]}
            assert get(path, **since)[0] == 304
            revalidated += 1
        status, headers, part = get(path, **{"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
        if headers.get("Content-Encoding") == "gzip":  # (Tornado's compress_response on the part)
            part = gzip.decompress(part)
        assert status == 206 and part == plain[:100], "a range of the file itself, not of a kept copy"
    assert revalidated >= 1
    assert any(path.endswith("vtk-hand.js") for path, _ in static.GzippedOnce._kept)
