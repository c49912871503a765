"""The server's secret: signs session ids (Bokeh) and cookies (Tornado).  No UI code here.

Given with ``handatlas serve --secret`` or ``$HANDATLAS_SECRET``; otherwise read from
``platformdirs.user_config_dir("handatlas")/server_secret``, which the first start creates with a
random secret, readable by its owner only (mode 0600).  Every server process of one site must
use the same secret (several processes, a restart: sessions and sign-ins stay valid).  Each use
gets its own key derived from the secret (:func:`derive_key`), so a key seen by one part never
serves another.

Examples
--------
>>> len(derive_key("x" * 40, "cookies")), derive_key("x" * 40, "a") != derive_key("x" * 40, "b")
(64, True)
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

#: The environment variable holding the secret.
SECRET_ENV = "HANDATLAS_SECRET"
#: The file name of the generated secret in the user's config folder.
SECRET_FILE = "server_secret"
#: The shortest secret accepted (characters).
MIN_LENGTH = 32


class SecretError(ValueError):
    """The secret cannot be used; names the file or the option at fault."""


def default_secret_path() -> Path:
    """``platformdirs.user_config_dir("handatlas")/server_secret``."""
    import platformdirs

    return Path(platformdirs.user_config_dir("handatlas")) / SECRET_FILE


def _checked(secret: str, where: str) -> str:
    secret = secret.strip()
    if len(secret) < MIN_LENGTH:
        raise SecretError(f"{where}: the secret is {len(secret)} characters long; it needs at least "
                          f"{MIN_LENGTH} (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return secret


def read_or_create(path: Path) -> str:
    """The secret stored at ``path``; a new random one is written there (mode 0600) when missing.

    Raises
    ------
    SecretError
        The file is readable by others than its owner, too short, or cannot be read or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise SecretError(f"{path}: cannot create the server secret: {exc.strerror or exc}") from None
    else:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretError(f"{path}: the server secret is readable by other users "
                              f"(mode {stat.filemode(mode)}); run: chmod 600 {path}")
        return _checked(path.read_text(encoding="ascii"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SecretError(f"{path}: cannot read the server secret: {reason}") from None


def server_secret(given: str | None = None, *, env: Mapping[str, str] | None = None,
                  path: Path | None = None) -> str:
    """The secret: ``given`` (``--secret``), else ``$HANDATLAS_SECRET``, else the stored one.

    Parameters
    ----------
    given
        The secret given on the command line (None: not given).
    env
        The environment to read (default ``os.environ``); an empty variable counts as unset.
    path
        Where a generated secret is kept (default :func:`default_secret_path`).

    Raises
    ------
    SecretError
        Too short, or its file is unusable.
    """
    if given is not None:
        return _checked(given, "--secret")
    env = os.environ if env is None else env
    if env.get(SECRET_ENV, "").strip():
        return _checked(env[SECRET_ENV], f"${SECRET_ENV}")
    return read_or_create(path or default_secret_path())


def derive_key(secret: str, purpose: str) -> str:
    """A 64-hex-digit key for one ``purpose`` (HMAC-SHA256 of the purpose under the secret)."""
    return hmac.new(secret.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).hexdigest()
