"""The rebuild of the atlas (``test_rebuild.py``) is the suite's longest step, several minutes of a
single core: when it is selected, it starts in a background process as soon as the tests are
collected, at a lower priority, and the rebuild tests wait for it.  The other tests, one core's
work each, run meanwhile on the machine's other core."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

#: The tests that need the rebuilt atlas.
REBUILD_TESTS = "tests/pipeline/test_rebuild.py::test_rebuild_matches"
_BUILD = "import sys; from handatlas.build.pipeline import build_atlas; build_atlas(sys.argv[1])"
_key = pytest.StashKey[tuple[subprocess.Popen, Path]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    if not any(item.nodeid.startswith(REBUILD_TESTS) for item in session.items):
        return
    try:
        import myo_sim  # noqa: F401  (the build extra; without it the rebuild tests are skipped)
    except ImportError:
        return
    folder = Path(tempfile.mkdtemp(prefix="handatlas-rebuild-"))
    log = (folder / "build.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-c", _BUILD, str(folder / "atlas")], stdout=log,
                            stderr=subprocess.STDOUT, preexec_fn=lambda: os.nice(10))
    session.config.stash[_key] = (proc, folder)


def pytest_sessionfinish(session: pytest.Session) -> None:
    proc, folder = session.config.stash.get(_key, (None, None))
    if proc is not None:
        proc.kill()
        proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def rebuilt_folder(pytestconfig, tmp_path_factory) -> Path:
    """The folder of the atlas rebuilt in the background (waits for the build to end)."""
    proc, folder = pytestconfig.stash.get(_key, (None, None))
    if proc is None:  # selected some other way: build it here
        from handatlas.build.pipeline import build_atlas

        out = tmp_path_factory.mktemp("rebuilt") / "atlas"
        build_atlas(out)
        return out
    if proc.wait() != 0:
        log = (folder / "build.log").read_text(errors="replace")[-4000:]
        pytest.fail(f"the rebuild failed (exit {proc.returncode}):\n{log}")
    return folder / "atlas"
