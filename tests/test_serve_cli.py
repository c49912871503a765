"""``handatlas serve`` as a school runs it: a separate process, the secret made on first start,
client-chosen session ids refused, and HTTPS with Secure cookies."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from session_client import free_port

from handatlas.cli import main

SERVE = "import sys; from handatlas.cli import main; sys.exit(main())"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDATLAS_")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"),
               HANDATLAS_INSTRUCTOR_PASSWORD="a shared instructor passphrase")
    return env


def _get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=30, context=context) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def _serve(tmp_path: Path, *args: str, scheme: str = "http", context: ssl.SSLContext | None = None):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--port", str(port), *args],
                            env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"{scheme}://localhost:{port}/"
    t0 = time.monotonic()
    while True:
        assert proc.poll() is None, f"serve exited: {proc.stderr.read()}"
        try:
            _get(url + "login", context)
            return proc, url
        except OSError:
            assert time.monotonic() - t0 < 120, "the server never answered"
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.stderr.close()


def test_serve_makes_its_secret_and_refuses_client_session_ids(tmp_path):
    proc, url = _serve(tmp_path)
    try:
        secret = tmp_path / "config" / "handatlas" / "server_secret"
        assert secret.is_file() and secret.stat().st_mode & 0o777 == 0o600
        status, headers = _get(url)
        assert status == 200 and "HttpOnly" in headers["Set-Cookie"] and "Secure" not in headers["Set-Cookie"]
        assert _get(url + "?bokeh-session-id=anything")[0] == 403
        assert _get(url + "login")[0] == 200
    finally:
        _stop(proc)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_serve_over_https_sets_secure_cookies(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.create_default_context(cafile=str(cert))
    proc, url = _serve(tmp_path, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), scheme="https",
                       context=context)
    try:
        status, headers = _get(url, context)
        assert status == 200
        assert "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]
    finally:
        _stop(proc)


def test_serve_options_are_checked(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert main(["serve", "--ssl-certfile", str(tmp_path / "c.pem")]) == 2
    assert "go together" in capsys.readouterr().err
    assert main(["serve", "--secret", "too short"]) == 2
    assert "at least 32" in capsys.readouterr().err
