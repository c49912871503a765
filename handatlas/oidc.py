"""Sign-in through a school's OpenID Connect provider: its settings and who a signed-in user is.

No UI code here (the sign-in itself runs through Panel's OAuth handlers, :mod:`handatlas.ui.oidc`).
``handatlas serve --oauth-provider generic|google|azure|azurev2`` turns it on; then everyone signs
in at the provider: a student's identity is their learner (no name and code), and the identities
listed as instructors (``--instructor``, ``$HANDATLAS_OIDC_INSTRUCTORS``) get the Author mode.

The rule that makes an identity an instructor is deliberately plain: the value of one claim (the
provider's *user key*: ``email`` for Google and the generic provider, ``unique_name`` (the UPN) for
Azure v1, ``email`` for Azure v2) equals a listed identity (compared case-insensitively when it is an
address).  :func:`identify` refuses the claims that would let someone else take that value:

- an ``email`` the provider says is not verified (``email_verified: false``);
- an ID token for another client (``aud``) or already expired (``exp``);
- on Azure, a token from another directory than the school's (``tid`` must be the tenant id given
  with ``--oauth-tenant``; ``common``/``organizations``/``consumers`` are refused: anyone could
  make a directory of their own and give a user any address).

Examples
--------
>>> config = OidcConfig(provider="google", key="k", secret="s", instructors=("Ann@School.edu",))
>>> identify({"email": "ann@school.edu", "email_verified": True}, config)
Identity(user='ann@school.edu', instructor=True)
>>> identify({"email": "sam@school.edu", "email_verified": True}, config).instructor
False
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: The providers handatlas supports, by Panel's names (``panel.auth.AUTH_PROVIDERS``).
PROVIDERS = ("generic", "google", "azure", "azurev2")
#: The claim naming the user, by provider (Panel's ``_USER_KEY`` of each handler).
USER_KEYS = {"generic": "email", "google": "email", "azure": "unique_name", "azurev2": "email"}
#: Environment variables read when the option is not given (Panel's own names where it has one).
KEY_ENV = "PANEL_OAUTH_KEY"
SECRET_ENV = "PANEL_OAUTH_SECRET"
AUTHORIZE_URL_ENV = "PANEL_OAUTH_AUTHORIZE_URL"
TOKEN_URL_ENV = "PANEL_OAUTH_TOKEN_URL"
USERINFO_URL_ENV = "PANEL_OAUTH_USER_URL"
USER_KEY_ENV = "PANEL_USER_KEY"
TENANT_ENV = "AAD_TENANT_ID"
REDIRECT_URI_ENV = "PANEL_OAUTH_REDIRECT_URI"
INSTRUCTORS_ENV = "HANDATLAS_OIDC_INSTRUCTORS"
#: The scopes asked for: an identity and an address, nothing more (no refresh token).
SCOPES = ("openid", "email", "profile")
#: Azure's shared endpoints: any directory's users sign in there.
SHARED_TENANTS = ("common", "organizations", "consumers")
GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: The longest identity accepted (a learner name has at most 200 characters).
MAX_IDENTITY = 200


class OidcError(ValueError):
    """The OpenID Connect settings cannot be used; names the option or variable at fault."""


class SignInRefused(ValueError):
    """The provider's answer does not make a usable identity; says why (shown to the user)."""


@dataclass(frozen=True)
class Identity:
    """Who signed in: ``user`` (the learner's name in the store) and whether an instructor."""

    user: str
    instructor: bool


def normalized(identity: str) -> str:
    """The form identities are compared in: trimmed, and case-folded when it is an address."""
    identity = identity.strip()
    return identity.casefold() if "@" in identity else identity


@dataclass(frozen=True)
class OidcConfig:
    """What ``handatlas serve`` needs to sign users in at an OpenID Connect provider.

    Parameters
    ----------
    provider
        One of :data:`PROVIDERS`.
    key, secret
        The client id and client secret the provider issued for this site.
    authorize_url, token_url, userinfo_url
        The generic provider's endpoints (its discovery document lists them).
    user_key
        The claim naming the user (default the provider's, :data:`USER_KEYS`).
    tenant
        Azure: the school's directory (tenant) id, a GUID.
    redirect_uri
        The address the provider sends users back to (``https://<site>/login``); default the
        address the request came to.
    instructors
        The identities that get the Author mode (values of ``user_key``).
    """

    provider: str
    key: str
    secret: str
    authorize_url: str = ""
    token_url: str = ""
    userinfo_url: str = ""
    user_key: str = ""
    tenant: str = ""
    redirect_uri: str = ""
    instructors: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise OidcError(f"--oauth-provider: {self.provider!r} is not one of {', '.join(PROVIDERS)}")
        if not self.key:
            raise OidcError(f"--oauth-key (or ${KEY_ENV}): the client id the provider issued is missing")
        if not self.secret:
            raise OidcError(f"--oauth-secret (or ${SECRET_ENV}): the client secret the provider issued "
                            "is missing")
        if self.provider == "generic":
            for option, env, url in (("--oauth-authorize-url", AUTHORIZE_URL_ENV, self.authorize_url),
                                     ("--oauth-token-url", TOKEN_URL_ENV, self.token_url)):
                if not url:
                    raise OidcError(f"{option} (or ${env}): the generic provider needs it (see its "
                                    "/.well-known/openid-configuration)")
        urls = {"--oauth-authorize-url": self.authorize_url, "--oauth-token-url": self.token_url,
                "--oauth-userinfo-url": self.userinfo_url, "--oauth-redirect-uri": self.redirect_uri}
        for option, url in urls.items():
            if url and not re.match(r"https?://[^/\s]+", url):
                raise OidcError(f"{option}: {url!r} is not an http(s) address")
            if url and option != "--oauth-redirect-uri" and not _secure(url):
                raise OidcError(f"{option}: {url!r} must be https (the provider's answers are trusted "
                                "because they come over TLS); plain http only on this machine")
        if self.provider.startswith("azure") and not GUID_RE.fullmatch(self.tenant):
            shared = f" ({self.tenant!r} lets any directory in)" if self.tenant in SHARED_TENANTS else ""
            raise OidcError(f"--oauth-tenant (or ${TENANT_ENV}): Azure needs the school's directory (tenant) "
                            f"id, a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47{shared}; got "
                            f"{self.tenant!r}")
        for who in self.instructors:
            if not who.strip() or len(who) > MAX_IDENTITY:
                raise OidcError(f"--instructor: {who!r} is not an identity")

    @property
    def claim(self) -> str:
        """The claim naming the user."""
        return self.user_key or USER_KEYS[self.provider]

    @property
    def instructor_set(self) -> frozenset[str]:
        return frozenset(normalized(who) for who in self.instructors)

    def panel_options(self) -> dict[str, Any]:
        """``pn.serve``'s ``oauth_*`` options for Panel's handler of :attr:`provider`."""
        extra: dict[str, Any] = {"scope": list(SCOPES), "USER_KEY": self.claim}
        if self.provider == "generic":
            extra.update(AUTHORIZE_URL=self.authorize_url, TOKEN_URL=self.token_url)
            if self.userinfo_url:
                extra["USER_URL"] = self.userinfo_url
        if self.tenant:
            extra["tenant"] = self.tenant
        options: dict[str, Any] = {"oauth_key": self.key, "oauth_secret": self.secret,
                                   "oauth_extra_params": extra, "oauth_jwt_user": self.claim}
        if self.redirect_uri:
            options["oauth_redirect_uri"] = self.redirect_uri
        return options


def split_identities(text: str) -> tuple[str, ...]:
    """Identities from a comma- or space-separated list (``$HANDATLAS_OIDC_INSTRUCTORS``)."""
    return tuple(part for part in re.split(r"[,\s]+", text) if part)


def oidc_config(provider: str | None, *, key: str | None = None, secret: str | None = None,
                authorize_url: str | None = None, token_url: str | None = None,
                userinfo_url: str | None = None, user_key: str | None = None, tenant: str | None = None,
                redirect_uri: str | None = None, instructors: Iterable[str] = (),
                env: Mapping[str, str] | None = None) -> OidcConfig | None:
    """The settings from ``serve``'s options, each missing one from its environment variable.

    Returns None when ``provider`` is None (OpenID Connect off).

    Raises
    ------
    OidcError
        Naming the option or variable that is missing or wrong.
    """
    if provider is None:
        return None
    env = os.environ if env is None else env

    def pick(given: str | None, name: str) -> str:
        return (given if given is not None else env.get(name, "")).strip()

    listed = tuple(instructors) or split_identities(env.get(INSTRUCTORS_ENV, ""))
    return OidcConfig(
        provider=provider, key=pick(key, KEY_ENV), secret=pick(secret, SECRET_ENV),
        authorize_url=pick(authorize_url, AUTHORIZE_URL_ENV), token_url=pick(token_url, TOKEN_URL_ENV),
        userinfo_url=pick(userinfo_url, USERINFO_URL_ENV), user_key=pick(user_key, USER_KEY_ENV),
        tenant=pick(tenant, TENANT_ENV), redirect_uri=pick(redirect_uri, REDIRECT_URI_ENV),
        instructors=listed,
    )


def _secure(url: str) -> bool:
    """Whether ``url`` is https, or http to this machine (a provider under test)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or parts.hostname in ("localhost", "127.0.0.1", "::1")


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def identify(claims: Mapping[str, Any], config: OidcConfig, *, now: float | None = None) -> Identity:
    """Who the provider's claims (an ID token's or the userinfo endpoint's) name.

    Raises
    ------
    SignInRefused
        The claims lack the user key, name an unverified address, were issued for another client
        or have expired, or (Azure) come from another directory.
    """
    claim = config.claim
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise SignInRefused(f"the provider did not say who you are (no {claim!r} claim)")
    user = value.strip()
    if len(user) > MAX_IDENTITY or any(ord(c) < 32 for c in user):
        raise SignInRefused(f"the provider's {claim!r} is not a usable name")
    if claim == "email" and _false(claims.get("email_verified")):
        raise SignInRefused(f"the provider has not verified the address {user}")
    audience = claims.get("aud")
    if audience is not None:
        audiences = audience if isinstance(audience, list) else [audience]
        if config.key not in audiences:
            raise SignInRefused("the provider's token was issued for another application")
    expiry = claims.get("exp")
    if isinstance(expiry, int | float) and expiry < (time.time() if now is None else now):
        raise SignInRefused("the provider's token has expired")
    if config.provider.startswith("azure") and str(claims.get("tid", "")).lower() != config.tenant.lower():
        raise SignInRefused("the account belongs to another directory than this school's")
    return Identity(user=user, instructor=normalized(user) in config.instructor_set)


class OidcInstructors:
    """The instructors of a site signed in through its provider (the Author mode's ``instructors``).

    They have no password here: :attr:`users` are the listed identities, :func:`normalized`.
    """

    def __init__(self, identities: Iterable[str]) -> None:
        self._users = tuple(sorted({normalized(who) for who in identities}))
        if not self._users:
            raise ValueError("no instructors")
        self.sources = ("--instructor",)

    @property
    def users(self) -> tuple[str, ...]:
        return self._users

    def check(self, user: str, password: str) -> bool:
        """Always False: these instructors sign in at the provider, never with a password here."""
        return False

    def __repr__(self) -> str:
        return f"OidcInstructors({', '.join(self._users)})"
