"""Sign-in at a school's OpenID Connect provider (Panel's generic handler) against a fake provider.

The app runs in this process (``build_server(oidc=…)``), the provider is ``tests/fake_oidc.py``;
the clients are ``session_client.Browser`` (a cookie jar, no redirect followed), so every step of
the flow is looked at: the redirect to the provider, the state cookie, the code's exchange, the
identity cookie, the session token.  Forged, replayed and stray codes are refused; an unverified
address, a token for another client, another Azure directory are refused by the identity rule.
"""

from __future__ import annotations

import shutil
import time
import urllib.parse
import urllib.request

import pytest
from fake_oidc import CLIENT_ID, CLIENT_SECRET
from session_client import Browser, NoRedirect, Socket, payload_of, refused, run, start_app_server

from handatlas.cli import main
from handatlas.oidc import OidcConfig, OidcError, SignInRefused, identify, oidc_config
from handatlas.quiz import default_quiz_dir
from handatlas.quiz.progress import ProgressStore
from handatlas.ui.app import shared_atlas
from handatlas.ui.quizstate import DrillState
from handatlas.ui.state import MODES, HandState

SECRET = "the OIDC tests' server secret, long enough"
INSTRUCTOR = "Ann.Teacher@School.edu"
STUDENT = "sam@school.edu"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
pytestmark = pytest.mark.filterwarnings("ignore:reference already known:UserWarning")


@pytest.fixture(scope="module")
def served(tmp_path_factory, fake):
    quizzes = tmp_path_factory.mktemp("quizzes") / "quizzes"
    shutil.copytree(default_quiz_dir(), quizzes)
    db = str(tmp_path_factory.mktemp("db") / "progress.sqlite")
    config = OidcConfig(provider="generic", key=CLIENT_ID, secret=CLIENT_SECRET,
                        authorize_url=fake.authorize_url, token_url=fake.token_url,
                        userinfo_url=fake.userinfo_url, instructors=(INSTRUCTOR.lower(),))
    running = start_app_server(secret=SECRET, quizzes=quizzes, progress_db=db, oidc=config, use_xheaders=True)
    running.db = db
    try:
        yield running
    finally:
        running.stop()


def _provider_redirect(url: str, user: str) -> str:
    """Sign ``user`` in on the provider's form; the address it sends the browser back to."""
    parsed = urllib.parse.urlsplit(url)
    post = urllib.request.Request(f"{parsed.scheme}://{parsed.netloc}{parsed.path}?{parsed.query}",
                                  data=urllib.parse.urlencode({"user": user}).encode())
    try:
        urllib.request.build_opener(NoRedirect).open(post, timeout=30)
    except urllib.error.HTTPError as err:
        assert err.code == 302, err.read()
        return err.headers["Location"]
    raise AssertionError("the provider did not send the browser back")


def _start(browser: Browser) -> tuple[str, dict[str, str]]:
    """Open the app unsigned: the way to the provider's authorize address; its query."""
    status, headers, _ = browser.request("")
    assert status == 302 and headers["Location"].startswith("./login"), (status, headers)
    status, headers, _ = browser.request(headers["Location"].removeprefix("./"))
    assert status == 302, status
    to_provider = headers["Location"]
    return to_provider, dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(to_provider).query))


def _code_of(url: str) -> str:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["code"]


def _login(code: str, state: str) -> str:
    return "login?" + urllib.parse.urlencode({"code": code, "state": state})


def sign_in(served, browser: Browser, user: str) -> tuple[int, dict[str, str], str]:
    """The whole flow; the answer to the return from the provider."""
    to_provider, _ = _start(browser)
    back = _provider_redirect(to_provider, user)
    assert back.startswith(served.url + "login?")
    return browser.request(back.removeprefix(served.url))


def test_the_flow_goes_through_the_provider_and_keeps_only_a_signed_identity(served, fake):
    browser = Browser(served.url)
    before = len(served.sessions)
    to_provider, query = _start(browser)
    assert len(served.sessions) == before, "no app session before the sign-in"
    assert to_provider.startswith(fake.authorize_url + "?")
    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
    assert query["redirect_uri"] == served.url + "login"
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    state_cookie = next(c for c in browser.jar if c.name == "panel-oauth-state")
    assert state_cookie.has_nonstandard_attr("HttpOnly")
    assert state_cookie.get_nonstandard_attr("SameSite") == "Lax"

    fake.calls.clear()
    status, headers, _ = browser.request(_provider_redirect(to_provider, STUDENT).removeprefix(served.url))
    assert status == 302 and headers["Location"] == "/"
    assert ("POST", "/token") in fake.calls and ("GET", "/userinfo") in fake.calls
    names = {c.name for c in browser.jar}
    assert "handatlas_identity" in names
    assert not names & {"user", "access_token", "id_token", "refresh_token"}, "no token leaves the server"
    assert "SameSite=Lax" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]

    made = len(served.sessions)
    token = browser.open_page()
    own = payload_of(token)["handatlas"]
    assert own["learner"] == STUDENT and own["instructor"] is None
    for _ in range(100):  # the page's session is made just after the page
        if len(served.sessions) > made:
            break
        time.sleep(0.05)
    session = served.sessions[-1]
    assert session.drill.identity == STUDENT and session.author.user is None


def test_an_instructor_identity_gets_the_editor_and_a_student_does_not(served):
    teacher, pupil = Browser(served.url), Browser(served.url)
    assert sign_in(served, teacher, INSTRUCTOR)[0] == 302  # listed in lower case: the case is ignored
    assert sign_in(served, pupil, STUDENT)[0] == 302

    async def pull_both() -> tuple[bool, bool]:
        found = []
        for browser in (teacher, pupil):
            sock = await Socket.connect(served.url, browser.open_page(), cookies=browser.cookie_header())
            try:
                await sock.pull()
                await sock.ready()
                await sock.choose_mode(MODES.index("author"), ("author-login", "author-who"))
                found.append(sock.has("author-save"))
            finally:
                await sock.close()
        return found[0], found[1]

    assert run(pull_both()) == (True, False)
    assert [s.author.user for s in served.sessions[-2:]] == [INSTRUCTOR.lower(), None]


def test_a_student_drills_as_their_identity_only(tmp_path):
    """Whatever name and code a page sends, the drill and the progress are the identity's."""
    db = str(tmp_path / "progress.sqlite")
    drill = DrillState(HandState(shared_atlas()), default_quiz_dir(), db, identity=STUDENT)
    drill.learner, drill.code = "someone else", "their-code"
    assert drill.needs_code is False and drill.sign_in() is False
    assert drill.start() is not None
    drill.show_progress()
    assert drill.progress_of == STUDENT
    with ProgressStore.open(db) as store:
        assert store.learner_names() == [STUDENT]


def test_forged_replayed_and_stray_codes_are_refused(served, fake):
    browser = Browser(served.url)
    to_provider, query = _start(browser)
    status, _, body = browser.request(_login("forged", query["state"]))
    assert status == 401 and "Sign-in refused" in body and browser.cookie("handatlas_identity") is None

    # a real code with another state (a link made by someone else's sign-in)
    to_provider, query = _start(browser)
    back = _provider_redirect(to_provider, STUDENT)
    assert browser.request(_login(_code_of(back), query["state"][:-4] + "AAAA"))[0] == 401
    assert browser.cookie("handatlas_identity") is None

    # login CSRF: a link with the attacker's own valid code, opened by a browser with no sign-in
    # under way; an empty or missing state must not match the missing state cookie
    attacker, victim = Browser(served.url), Browser(served.url)
    forms = [lambda c: f"login?code={c}&state=", lambda c: f"login?code={c}",
             lambda c: "login?next=" + urllib.parse.quote(f"/?code={c}&state=")]
    for form in forms:
        to_provider, _ = _start(attacker)
        path = form(_code_of(_provider_redirect(to_provider, "mallory@x.org")))
        assert victim.request(path)[0] == 401, path
        assert victim.cookie("handatlas_identity") is None

    # a used code does not work twice
    to_provider, _ = _start(browser)
    back = _provider_redirect(to_provider, STUDENT)
    assert browser.request(back.removeprefix(served.url))[0] == 302
    replayer = Browser(served.url)
    _, query = _start(replayer)
    assert replayer.request(_login(_code_of(back), query["state"]))[0] == 401
    assert replayer.cookie("handatlas_identity") is None


def test_an_id_token_from_the_token_endpoint_is_used_and_checked(served, fake):
    """A provider that answers with an ID token: Panel reads the user from it (no userinfo call);
    one issued for another client is refused."""
    fake.id_tokens = True
    try:
        browser = Browser(served.url)
        fake.calls.clear()
        assert sign_in(served, browser, "ida@school.edu")[0] == 302
        assert ("POST", "/token") in fake.calls and ("GET", "/userinfo") not in fake.calls
        assert payload_of(browser.open_page())["handatlas"]["learner"] == "ida@school.edu"
        fake.claims["oscar@school.edu"] = {"aud": "another-client"}
        other = Browser(served.url)
        status, _, body = sign_in(served, other, "oscar@school.edu")
        assert status == 403 and "another application" in body
        assert other.cookie("handatlas_identity") is None
    finally:
        fake.id_tokens = False


def test_cookies_are_secure_and_the_return_address_https_behind_a_tls_proxy(served):
    status, headers, _ = Browser(served.url).request("login?next=%2F", headers={"X-Forwarded-Proto": "https"})
    assert status == 302
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query))
    assert query["redirect_uri"] == served.url.replace("http://", "https://") + "login"
    cookie = headers["Set-Cookie"]
    assert "panel-oauth-state=" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_an_unverified_address_is_refused(served, fake):
    fake.claims["eve@school.edu"] = {"email_verified": False}
    browser = Browser(served.url)
    status, _, body = sign_in(served, browser, "eve@school.edu")
    assert status == 403 and "not verified" in body
    assert browser.cookie("handatlas_identity") is None


def test_signing_out_ends_the_identity_and_its_sessions(served):
    browser = Browser(served.url)
    assert sign_in(served, browser, STUDENT)[0] == 302
    token = browser.open_page()
    status, _, body = browser.request("logout")
    assert status == 200 and "signed out" in body
    assert browser.cookie("handatlas_identity") is None
    assert refused(Socket.connect(served.url, token, cookies=browser.cookie_header())) == 403
    status, headers, _ = browser.request("")
    assert status == 302 and "login" in headers["Location"]


def test_the_identity_rule():
    config = OidcConfig(provider="generic", key="k", secret="s", authorize_url="https://p/a",
                        token_url="https://p/t", instructors=("ann@school.edu",))
    assert identify({"email": "ANN@school.edu"}, config).instructor
    for claims, why in [({"name": "ann"}, "no 'email' claim"),
                        ({"email": "ann@school.edu", "email_verified": "false"}, "not verified"),
                        ({"email": "ann@school.edu", "aud": "another-client"}, "another application"),
                        ({"email": "ann@school.edu", "exp": 1000}, "expired")]:
        with pytest.raises(SignInRefused, match=why):
            identify(claims, config, now=2000)
    azure = OidcConfig(provider="azure", key="k", secret="s", tenant=TENANT)
    assert identify({"unique_name": "ann@school.edu", "tid": TENANT}, azure).user == "ann@school.edu"
    with pytest.raises(SignInRefused, match="another directory"):
        identify({"unique_name": "ann@school.edu", "tid": "00000000-0000-0000-0000-000000000000"}, azure)


def test_the_settings_name_what_is_missing():
    with pytest.raises(OidcError, match="--oauth-token-url"):
        oidc_config("generic", key="k", secret="s", authorize_url="https://p/a", env={})
    with pytest.raises(OidcError, match="must be https"):
        oidc_config("generic", key="k", secret="s", authorize_url="https://p/a", token_url="http://p/t",
                    env={})
    with pytest.raises(OidcError, match="PANEL_OAUTH_SECRET"):
        oidc_config("google", key="k", env={})
    with pytest.raises(OidcError, match="lets any directory in"):
        oidc_config("azure", key="k", secret="s", tenant="common", env={})
    config = oidc_config("google", env={"PANEL_OAUTH_KEY": "k", "PANEL_OAUTH_SECRET": "s",
                                        "HANDATLAS_OIDC_INSTRUCTORS": "a@x.org, b@x.org"})
    assert config.instructors == ("a@x.org", "b@x.org") and config.claim == "email"


def test_serve_refuses_incomplete_settings(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for name in ("PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET", "AAD_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--oauth-provider", "azure", "--oauth-key", "k", "--oauth-secret", "s"]) == 2
    assert "--oauth-tenant" in capsys.readouterr().err
    assert main(["serve", "--instructor", "ann@school.edu"]) == 2
    assert "--oauth-provider" in capsys.readouterr().err
