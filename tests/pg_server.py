"""A private PostgreSQL server for the tests (Debian's binaries, a throw-away cluster).

``tests/run.sh`` installs Debian's ``postgresql`` when it is missing; the server runs from
``/usr/lib/postgresql/<version>/bin`` on a free port with its socket in the cluster's folder.
``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` user and
every server command runs as that user.  There is no skipping: without the binaries the tests that
need the server fail and say how to install them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        msg = ("PostgreSQL's server binaries are missing (/usr/lib/postgresql/*/bin): install Debian's "
               "postgresql package (tests/run.sh does)")
        raise RuntimeError(msg)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a private server; yield a SQLAlchemy URL of its ``postgres`` database; stop it."""
    bin_dir = _binaries()
    as_root = os.geteuid() == 0
    user = "postgres" if as_root else pwd.getpwuid(os.geteuid()).pw_name
    folder = Path(tempfile.mkdtemp(prefix="handatlas-pg-"))
    data = folder / "data"
    if as_root:
        shutil.chown(folder, user=user)
    prefix = ["runuser", "-u", user, "--"] if as_root else []

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120)

    port = _free_port()
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8")
        options = f"-p {port} -k {folder} -c listen_addresses='' -c fsync=off -c max_connections=60"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
        yield f"postgresql+psycopg://{user}@/postgres?host={folder}&port={port}"
    finally:
        if data.exists():
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def fresh_database(server_url: str) -> str:
    """Create an empty database on the server; return its URL."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(20):  # the template database may be busy for a moment
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
                break
            except sa.exc.OperationalError:
                if attempt == 19:
                    raise
                time.sleep(0.1)
    finally:
        engine.dispose()
    return server_url.replace("/postgres?", f"/{name}?")
