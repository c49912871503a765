"""Who may author questions: instructor credentials (PBKDF2-HMAC-SHA256 password hashes).

No UI code here.  ``$HANDATLAS_INSTRUCTOR_PASSWORD`` (one shared password for the user
``instructor``) and/or ``$HANDATLAS_INSTRUCTORS`` (the path of a YAML file
``{users: {alice: "pbkdf2_sha256$..."}}`` made with :func:`hash_password`).  With neither,
:func:`load_instructors` returns None and authoring is off; :data:`AUTHORING_HELP` tells how to
turn it on.  Students never sign in.

Examples
--------
>>> team = Instructors({"alice": hash_password("secret", iterations=1000)})
>>> team.check("alice", "secret")
True
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from handatlas.quiz.loading import read_yaml
from handatlas.quiz.problems import QuizError

#: One shared instructor password (user name :data:`SHARED_USER`).
PASSWORD_ENV = "HANDATLAS_INSTRUCTOR_PASSWORD"
#: The path of a credentials file.
INSTRUCTORS_ENV = "HANDATLAS_INSTRUCTORS"
#: The user name that goes with the shared password.
SHARED_USER = "instructor"
#: The hash scheme of :func:`hash_password`.
SCHEME = "pbkdf2_sha256"
#: PBKDF2 iterations of a new hash (OWASP 2023 advice for PBKDF2-HMAC-SHA256).
ITERATIONS = 600_000
#: Iterations for the shared password, hashed in memory at start (it never leaves the process).
ENV_ITERATIONS = 50_000

AUTHORING_HELP = f"""\
Authoring is off: no instructor is configured. Turn it on in one of two ways, then restart
`handatlas serve`:

1. One shared password (user name "{SHARED_USER}"):
       export {PASSWORD_ENV}='a long passphrase'

2. A credentials file with one hash per instructor:
       handatlas instructor-hash            # asks for a password, prints its hash
   and write the hashes into a YAML file, e.g. instructors.yaml:
       users:
         alice: "pbkdf2_sha256$600000$<salt>$<hash>"
         bob: "pbkdf2_sha256$600000$<salt>$<hash>"
   then
       export {INSTRUCTORS_ENV}=/path/to/instructors.yaml

Both may be set. Questions are saved as YAML files in the quizzes folder.
"""


class CredentialsError(ValueError):
    """The credentials file (or the password variable) cannot be used; names the file and line."""


def hash_password(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>`` of ``password`` (PBKDF2-HMAC-SHA256).

    Examples
    --------
    >>> hash_password("pw", iterations=1000, salt=b"0123456789abcdef").split("$")[:3]
    ['pbkdf2_sha256', '1000', '30313233343536373839616263646566']
    """
    if not isinstance(password, str) or not password:
        raise ValueError("the password is empty")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ValueError(f"iterations must be a positive whole number, not {iterations!r}")
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def parse_hash(encoded: str) -> tuple[int, bytes, bytes]:
    """``(iterations, salt, digest)`` of an encoded hash.

    Raises
    ------
    ValueError
        Saying what is wrong with it.
    """
    parts = encoded.split("$") if isinstance(encoded, str) else []
    if len(parts) != 4 or parts[0] != SCHEME:
        raise ValueError(f"expected {SCHEME}$<iterations>$<salt hex>$<hash hex> "
                         f"(made by `handatlas instructor-hash`)")
    _, iterations, salt, digest = parts
    if not iterations.isdigit() or int(iterations) < 1:
        raise ValueError(f"the iterations {iterations!r} are not a positive whole number")
    try:
        salt_bytes, digest_bytes = bytes.fromhex(salt), bytes.fromhex(digest)
    except ValueError:
        raise ValueError("the salt and the hash must be hexadecimal") from None
    if not salt_bytes or len(digest_bytes) != 32:
        raise ValueError("the salt is empty or the hash is not 32 bytes (64 hex digits)")
    return int(iterations), salt_bytes, digest_bytes


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches an encoded hash (constant-time comparison)."""
    iterations, salt, digest = parse_hash(encoded)
    given = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(given, digest)


class Instructors:
    """The instructors allowed to author: user name -> encoded hash.

    Parameters
    ----------
    hashes
        User name -> :func:`hash_password` output.
    sources
        Where they came from (shown on the page).

    Examples
    --------
    >>> team = Instructors({"alice": hash_password("secret", iterations=1000)})
    >>> team.check("alice", "secret"), team.check("alice", "wrong"), team.check("bob", "secret")
    (True, False, False)
    """

    def __init__(self, hashes: Mapping[str, str], *, sources: Sequence[str] = ()) -> None:
        if not hashes:
            raise ValueError("no instructors")
        for user, encoded in hashes.items():
            try:
                parse_hash(encoded)
            except ValueError as exc:
                raise CredentialsError(f"instructor {user!r}: {exc}") from None
        self._hashes = dict(hashes)
        self.sources = tuple(sources)
        self._cost = max(parse_hash(encoded)[0] for encoded in self._hashes.values())
        # a hash nobody's password matches (random digest), as costly as the costliest real one
        self._dummy = f"{SCHEME}${self._cost}${os.urandom(16).hex()}${os.urandom(32).hex()}"

    @property
    def users(self) -> tuple[str, ...]:
        """The user names, sorted."""
        return tuple(sorted(self._hashes))

    @property
    def iterations(self) -> int:
        """The PBKDF2 iterations every :meth:`check` costs (the most of any instructor's hash)."""
        return self._cost

    def check(self, user: str, password: str) -> bool:
        """Whether ``user`` may author with ``password``.

        Every call costs :attr:`iterations` PBKDF2 rounds, whoever is named: an unknown name is
        checked against a dummy hash, a hash with fewer rounds is topped up, so the time of a
        wrong guess does not tell whether the name exists.  Slow (≈ 0.3 s): call it off the
        event loop.
        """
        if not isinstance(user, str) or not isinstance(password, str):
            return False
        encoded = self._hashes.get(user.strip()) if password else None
        if encoded is None:
            verify_password(password or "-", self._dummy)  # the same work, then no
            return False
        iterations = parse_hash(encoded)[0]
        if iterations < self._cost:
            hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), b"top-up", self._cost - iterations)
        return verify_password(password, encoded)

    def __repr__(self) -> str:
        return f"Instructors({', '.join(self.users)})"


def read_credentials(path: str | Path) -> dict[str, str]:
    """User name -> hash from a credentials file (``{users: {name: hash}}``), checked.

    Raises
    ------
    CredentialsError
        Naming the file, the line and the user or field at fault.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CredentialsError(f"{name}: cannot read the instructors file ({INSTRUCTORS_ENV}): "
                               f"{reason}") from None
    try:
        data, lines = read_yaml(text, name)
    except QuizError as exc:
        raise CredentialsError(str(exc)) from None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(users, dict) or not users:
        raise CredentialsError(f"{name}:{lines.get(('users',), 1)}: expected a mapping 'users:' of user "
                               f"names to password hashes, e.g. users: {{alice: \"pbkdf2_sha256$...\"}}")
    extra = sorted(set(data) - {"users"}, key=str)
    if extra:
        raise CredentialsError(f"{name}:{lines.get((extra[0],), 1)}: unknown field {extra[0]!r} "
                               f"(the file holds only 'users')")
    out = {}
    for user, encoded in users.items():
        line = lines.get(("users", str(user)), 1)
        if not isinstance(user, str) or not re.fullmatch(r"[A-Za-z0-9_.@-]{1,80}", user):
            raise CredentialsError(f"{name}:{line}: users: {user!r} is not a user name (letters, digits, "
                                   f"'_', '.', '@' or '-')")
        try:
            parse_hash(encoded)
        except ValueError as exc:
            raise CredentialsError(f"{name}:{line}: users.{user}: {exc}") from None
        out[user] = encoded
    return out


def load_instructors(env: Mapping[str, str] | None = None) -> Instructors | None:
    """The configured instructors, or None when authoring is off (see :data:`AUTHORING_HELP`).

    Parameters
    ----------
    env
        The environment to read (default ``os.environ``).  An empty variable counts as unset.

    Raises
    ------
    CredentialsError
        When the credentials file is missing or broken.
    """
    env = os.environ if env is None else env
    hashes: dict[str, str] = {}
    sources = []
    path = env.get(INSTRUCTORS_ENV, "").strip()
    if path:
        hashes.update(read_credentials(path))
        sources.append(path)
    password = env.get(PASSWORD_ENV, "")
    if password.strip():
        hashes[SHARED_USER] = hash_password(password, iterations=ENV_ITERATIONS)
        sources.append(f"${PASSWORD_ENV}")
    return Instructors(hashes, sources=sources) if hashes else None
