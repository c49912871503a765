"""Sign-in at a school's OpenID Connect provider, through Panel's own OAuth handlers.

:class:`OidcAuth` is the server's auth provider when ``handatlas serve --oauth-provider …`` is
given.  Every page needs a signed-in user: a browser without the signed :data:`IDENTITY_COOKIE` is
sent to ``/login``, which is Panel's handler of the provider (``panel.auth.AUTH_PROVIDERS``:
the authorization redirect with a ``state`` kept in a cookie, the code exchanged at the token
endpoint with the client secret, the userinfo endpoint when the token endpoint sends no ID
token), subclassed by :class:`OidcLoginMixin` to keep handatlas's rules:

- every cookie it sets is HttpOnly, SameSite=Lax and Secure over HTTPS;
- a returning code without the ``state`` cookie of a sign-in this browser started is refused
  (Panel compares the two, and would let an empty state match a missing cookie);
- the provider's claims go through :func:`handatlas.oidc.identify` (verified address, audience,
  expiry, Azure directory), and the browser keeps only handatlas's signed identity cookie: Panel's
  ``user`` cookie and the provider's tokens (access, ID, refresh) are never set;
- a refusal is a plain page saying why (no stack trace, no script from elsewhere).

The identity is a student's learner (:mod:`handatlas.ui.server` writes it into the session's
signed token); the listed identities are instructors.  ``/logout`` forgets the identity (the
browser stays signed in at the provider).
"""

from __future__ import annotations

import logging
import secrets
from html import escape
from typing import Any

from panel.auth import AUTH_PROVIDERS, BasicAuthProvider
from panel.io.state import state as pn_state
from panel.util import decode_token
from tornado.web import HTTPError, RequestHandler

from handatlas.oidc import Identity, OidcConfig, OidcInstructors, SignInRefused, identify, normalized
from handatlas.ui.login import SIGN_IN_DAYS, is_https

log = logging.getLogger(__name__)

#: The signed cookie holding the signed-in identity (a learner, maybe an instructor).
IDENTITY_COOKIE = "handatlas_identity"
#: The cookies Panel's handlers would set after a sign-in (its user, the provider's tokens).
PANEL_COOKIES = frozenset({"user", "access_token", "id_token", "refresh_token", "oauth_expiry"})

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>handatlas — {title}</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 30em; margin: 3em auto; padding: 0 1em; }}
.error {{ background: #fdecea; border-left: 4px solid #d32f2f; padding: 0.5em; }}</style>
</head><body><h1>{title}</h1>{body}</body></html>
"""


def refused_page(why: str) -> str:
    body = (f"<p class='error' role='alert'>Sign-in refused: {escape(why)}.</p>"
            "<p><a href='./login'>Sign in again</a></p>")
    return PAGE.format(title="sign-in refused", body=body)


SIGNED_OUT_PAGE = PAGE.format(
    title="signed out",
    body="<p>You are signed out of handatlas. Your school account itself stays signed in: on a shared "
         "computer, sign out there too, or close the browser.</p><p><a href='./login'>Sign in again</a></p>",
)


class OidcLoginMixin:
    """handatlas's rules on top of one of Panel's OAuth login handlers (see the module's notes)."""

    auth: OidcAuth  # set on the class made by each provider

    def set_cookie(self, name: str, value: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.update(httponly=True, samesite="Lax", secure=is_https(self))  # type: ignore[arg-type]
        super().set_cookie(name, value, *args, **kwargs)  # type: ignore[misc]

    def set_signed_cookie(self, name: str, value: Any, expires_days: float | None = 30, version: Any = None,
                          **kwargs: Any) -> None:
        if name in PANEL_COOKIES:  # kept here for :meth:`_claims`, never sent to the browser
            self.__dict__.setdefault("_withheld", {})[name] = value
            return
        super().set_signed_cookie(name, value, expires_days=expires_days, version=version,  # type: ignore[misc]
                                  **kwargs)

    set_secure_cookie = set_signed_cookie  # Panel's name for it

    @property
    def _redirect_uri(self) -> str:
        # Panel's default is the site's root; the provider must send users back here
        given = self.auth.config.redirect_uri
        return given or f"{self.request.protocol}://{self.request.host}{self.auth.login_url}"  # type: ignore[attr-defined]

    def get_state_cookie(self) -> str:
        # no sign-in under way in this browser: a value no request can carry
        return super().get_state_cookie() or "none-" + secrets.token_hex(16)  # type: ignore[misc]

    def _claims(self) -> dict[str, Any]:
        """The claims Panel read from the ID token or the userinfo endpoint."""
        raw = self.__dict__.get("_withheld", {}).get("id_token")
        if raw is None:
            return {}
        if pn_state.encryption:
            raw = pn_state.encryption.decrypt(raw).decode("utf-8")
        try:
            claims = decode_token(raw.decode("ascii") if isinstance(raw, bytes) else raw)
        except (ValueError, UnicodeError):
            return {}
        return claims if isinstance(claims, dict) else {}

    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")  # type: ignore[attr-defined]
        await super().get()  # type: ignore[misc]

    async def get_authenticated_user(self, redirect_uri: str, client_id: str, state: str,
                                     client_secret: str | None = None, code: str | None = None) -> str | None:
        user = await super().get_authenticated_user(  # type: ignore[misc]
            redirect_uri, client_id, state, client_secret=client_secret, code=code)
        if not code:  # the redirect to the provider
            return user
        try:
            identity = identify(self._claims(), self.auth.config)
        except SignInRefused as why:
            log.warning("refused a sign-in from %s: %s", self.request.remote_ip, why)  # type: ignore[attr-defined]
            raise HTTPError(403, str(why).replace("%", "%%"), reason="Sign-in refused") from None
        log.info("%s %r signed in from %s", "instructor" if identity.instructor else "learner", identity.user,
                 self.request.remote_ip)  # type: ignore[attr-defined]
        self.auth.remember(self, identity)  # type: ignore[arg-type]
        return identity.user

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        why = "the sign-in did not complete"
        if isinstance(exc, HTTPError) and exc.log_message:
            why = exc.log_message % exc.args if exc.args else exc.log_message.replace("%%", "%")
        self.clear_cookie(IDENTITY_COOKIE, path="/")  # type: ignore[attr-defined]
        self.set_header("Content-Type", "text/html; charset=utf-8")  # type: ignore[attr-defined]
        self.finish(refused_page(why))  # type: ignore[attr-defined]


class OidcLogoutHandler(RequestHandler):
    """``/logout``: forget the identity; say how to leave the provider too."""

    def get(self) -> None:
        self.clear_cookie(IDENTITY_COOKIE, path="/")
        self.set_header("Cache-Control", "no-store")
        self.write(SIGNED_OUT_PAGE)


class OidcAuth(BasicAuthProvider):
    """Panel's auth provider when users sign in at an OpenID Connect provider.

    Parameters
    ----------
    config
        The provider's settings and the instructors' identities.
    """

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self.instructors = OidcInstructors(config.instructors) if config.instructors else None
        base = AUTH_PROVIDERS[config.provider]
        self._login = type(f"Handatlas{base.__name__}", (OidcLoginMixin, base), {"auth": self})
        super().__init__(login_endpoint="/login", logout_endpoint="/logout")

    def remember(self, handler: RequestHandler, identity: Identity) -> None:
        """Keep ``identity`` in the browser's signed cookie (HttpOnly, SameSite=Lax, Secure over HTTPS)."""
        handler.set_signed_cookie(IDENTITY_COOKIE, identity.user, expires_days=SIGN_IN_DAYS, path="/",
                                  httponly=True, samesite="Lax", secure=is_https(handler))

    def learner_of(self, handler: RequestHandler) -> str | None:
        """The identity the request's signed cookie names, while the sign-in lasts."""
        raw = handler.get_signed_cookie(IDENTITY_COOKIE, max_age_days=SIGN_IN_DAYS)
        try:
            return raw.decode("utf-8") if raw else None
        except UnicodeDecodeError:
            return None

    def instructor_of(self, handler: RequestHandler) -> str | None:
        """The signed-in identity (:func:`normalized`) if it is a listed instructor."""
        user = self.learner_of(handler)
        who = normalized(user) if user else None
        return who if who and self.instructors is not None and who in self.instructors.users else None

    @property
    def get_user(self) -> Any:
        return self.learner_of  # None: Bokeh sends the browser to /login

    @property
    def login_handler(self) -> type[RequestHandler]:
        return self._login

    @property
    def logout_handler(self) -> type[RequestHandler]:
        return OidcLogoutHandler

    def panel_options(self) -> dict[str, Any]:
        """``pn.serve``'s ``oauth_*`` options (Panel's handlers read them from ``panel.config``)."""
        return self.config.panel_options()

    def close(self) -> None:
        """Nothing to release (for symmetry with :class:`handatlas.ui.login.InstructorAuth`)."""
