"""Shared fixtures: a tiny atlas built from primitives with the real writer, the shipped atlas, and
the atlas rebuilt in the background for the rebuild tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import trimesh

from handatlas import load_atlas
from handatlas.atlas import default_atlas_dir
from handatlas.build.writer import MeshData, write_atlas

FIXTURE_INFO = {
    "name": "fixture hand",
    "version": "0.0.1",
    "frame": "mm; +x radial, +y distal, +z palmar",
    "pose": "none",
    "sources": ["primitives made in tests/conftest.py"],
    "generator": "tests",
}


def _row(sid, name, parent, *, tissue=None, layer=None, risk=None, **extra):
    return {"id": sid, "name": name, "parent": parent, "tissue": tissue, "layer": layer,
            "risk": risk, **extra}


def tube(start, end, radius, *, sections=16):
    """A straight capsule tube with its centreline: the geometry of a nerve or vessel."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    axis = end - start
    mesh = trimesh.creation.capsule(height=np.linalg.norm(axis), radius=radius, count=[sections, sections])
    # trimesh's capsule runs along z, centred on the origin
    align = trimesh.geometry.align_vectors([0, 0, 1], axis / np.linalg.norm(axis))
    mesh.apply_transform(align)
    mesh.apply_translation((start + end) / 2)
    centre = np.linspace(start, end, 5)
    return MeshData(mesh.vertices, mesh.faces, centerline=centre, radii=np.full(5, radius))


def write_fixture_atlas(folder: Path) -> Path:
    """Write the fixture atlas: a box of skin around a bone, a nerve and an artery.

    Skin: box 80 x 120 x 40 mm centred on the origin (palmar face at z = +20).  Territories:
    ``radial`` for x > 10, ``ulnar`` for x < -10, ``median`` between; the variant
    ``dorsal_ulnar_2_5`` makes every vertex with x < 0 ulnar.  Inside: a bone sphere (capitate,
    radius 8 at the origin), the median nerve (x = 0, z = 10, r = 1.7, along y), the radial
    artery (x = 25, z = 15, r = 1.4, y <= 0), a bone plate (hamate: x -32..-5, y 15..45,
    z 5..8) and under it the ulnar artery (y = 30, z = 3, r = 1, along x from -38 to 38).
    """
    skin = trimesh.creation.box(extents=(80, 120, 40)).subdivide_to_size(4.0)
    x = skin.vertices[:, 0]
    standard = np.where(x > 10, 2, np.where(x < -10, 1, 0))
    variant = np.where(x < 0, 1, standard)
    bone = trimesh.creation.icosphere(subdivisions=3, radius=8.0)
    plate = trimesh.creation.box(bounds=[[-32, 15, 5], [-5, 45, 8]])
    records = [
        _row("hand", "Hand", None),
        _row("bones", "Bones", "hand"),
        _row("carpals", "Carpal bones", "bones", synonyms=["carpus"]),
        _row("capitate", "Capitate", "carpals", tissue="bone", layer="skeleton", risk="low",
             colour="#e8dcc0", synonyms=["os capitatum"]),
        _row("hamate", "Hamate", "carpals", tissue="bone", layer="skeleton", risk="low", colour="#e8dcc0"),
        _row("nerves", "Nerves", "hand"),
        _row("median_nerve", "Median nerve", "nerves", tissue="nerve", layer="neurovascular",
             risk="high", colour="#f2d43a", risk_note="No sustained pressure over the tunnel."),
        _row("arteries", "Arteries", "hand"),
        _row("radial_artery", "Radial artery", "arteries", tissue="artery", layer="neurovascular",
             risk="high", colour="#d22d2d", acronym="RA"),
        _row("ulnar_artery", "Ulnar artery", "arteries", tissue="artery", layer="neurovascular",
             risk="high", colour="#d22d2d"),
        _row("skin", "Skin", "hand", tissue="skin", layer="skin", risk="low", colour="#f1c6a8"),
    ]
    meshes = {
        "capitate": MeshData(bone.vertices, bone.faces),
        "median_nerve": tube([0, -50, 10], [0, 50, 10], 1.7),
        "radial_artery": tube([25, -50, 15], [25, 0, 15], 1.4),
        "hamate": MeshData(plate.vertices, plate.faces),
        "ulnar_artery": tube([-38, 30, 3], [38, 30, 3], 1.0),
        "skin": MeshData(skin.vertices, skin.faces,
                         territories={"standard": standard, "dorsal_ulnar_2_5": variant}),
    }
    landmarks = [
        {"id": "palm_center", "point": [0.0, 0.0, 20.0], "normal": [0.0, 0.0, 1.0],
         "description": "over the bone"},
        {"id": "radial_pulse", "point": [25.0, -40.0, 20.0], "normal": [0.0, 0.0, 1.0]},
        {"id": "dorsum_center", "point": [0.0, 0.0, -20.0], "normal": [0.0, 0.0, -1.0]},
    ]
    territories = {"labels": ["median", "ulnar", "radial", "forearm"],
                   "variants": ["standard", "dorsal_ulnar_2_5"], "default": "standard"}
    write_atlas(folder, info=FIXTURE_INFO, records=records, meshes=meshes, landmarks=landmarks,
                territories=territories)
    return folder


@pytest.fixture(scope="session")
def fixture_dir(tmp_path_factory) -> Path:
    """A pristine fixture atlas folder (do not modify: copy it with ``atlas_copy``)."""
    return write_fixture_atlas(tmp_path_factory.mktemp("fixture_atlas"))


@pytest.fixture(scope="session")
def fixture_atlas(fixture_dir):
    return load_atlas(fixture_dir)


@pytest.fixture
def atlas_copy(fixture_dir, tmp_path) -> Path:
    """A writable copy of the fixture atlas folder."""
    target = tmp_path / "atlas"
    shutil.copytree(fixture_dir, target)
    return target


def edit_manifest(folder: Path, change) -> Path:
    """Apply ``change(document)`` to a folder's manifest.json and write it back."""
    path = folder / "manifest.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=1))
    return path


@pytest.fixture(scope="session")
def atlas():
    """The shipped atlas (meshes/ of the source tree or the installed package)."""
    if not (default_atlas_dir() / "manifest.json").exists():
        pytest.fail(f"the shipped atlas is missing at {default_atlas_dir()}")
    return load_atlas()


@pytest.fixture(scope="session")
def postgres_url():
    """A private PostgreSQL server for the session (tests/pg_server.py): its ``postgres`` database's URL."""
    from pg_server import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """The URL of an empty progress store on each backend: a SQLite file, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'progress.sqlite'}"
    from pg_server import fresh_database

    return fresh_database(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module")
def fake():
    """A fake OpenID Connect provider (tests/fake_oidc.py), serving for one test module."""
    from fake_oidc import start_fake_provider

    provider = start_fake_provider()
    try:
        yield provider
    finally:
        provider.stop()


# ----------------------------------------------------------------------------- the rebuild
# The rebuild of the atlas (tests/pipeline/test_rebuild.py) is the suite's longest step, minutes
# of one core: when it is selected, it starts in a background process as soon as the tests are
# collected, at a lower priority, and the rebuild tests wait for it.  The other tests, one core's
# work each, run meanwhile on the machine's other core.
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
    with (folder / "build.log").open("wb") as log:  # the build writes to its own copy
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
