"""The committed atlas is what the build makes: rebuild it and compare geometrically.

The build is reproduced within 1e-4 mm by the package versions pinned in
``handatlas/build/constraints.txt`` (``tests/run.sh`` installs with them); the manifest records the
versions that made the committed meshes.  Every test here is strict: a rebuild that does not
reproduce a committed mesh fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from handatlas import load_atlas
from handatlas.atlas import default_atlas_dir
from handatlas.build.environment import CONSTRAINTS, mismatched_packages, pinned_versions

pytestmark = pytest.mark.build
pytest.importorskip("myo_sim")


def test_the_build_environment_is_the_pinned_one():
    wrong = mismatched_packages()
    assert not wrong, (f"installed versions differ from {CONSTRAINTS} (pinned, installed): {wrong}; "
                       f"install with: pip install -c {CONSTRAINTS} -e '.[build]'")


def test_the_committed_meshes_were_built_with_the_pinned_versions():
    recorded = load_atlas(default_atlas_dir()).info.build_environment
    assert recorded == pinned_versions(), (
        f"meshes/manifest.json records {recorded}, {CONSTRAINTS} pins {pinned_versions()}: "
        "rebuild (handatlas build) after changing a pin")


@pytest.fixture(scope="module")
def rebuilt(rebuilt_folder):
    """The atlas as ``handatlas build`` makes it now (built in the background: conftest.py)."""
    return load_atlas(rebuilt_folder)


def _same(new, old, sid):
    assert sorted(new) == sorted(old), sid
    np.testing.assert_array_equal(new["faces"], old["faces"], err_msg=sid)
    np.testing.assert_allclose(new["vertices"], old["vertices"], atol=1e-4, rtol=0, err_msg=sid)
    for key in set(new) - {"faces", "vertices"}:
        np.testing.assert_allclose(new[key], old[key], atol=1e-4, rtol=0, err_msg=f"{sid}: {key}")


def test_rebuild_matches_the_committed_structures_and_landmarks(rebuilt):
    shipped = load_atlas(default_atlas_dir())
    assert list(rebuilt.structures) == list(shipped.structures)
    assert [s.as_dict() for s in rebuilt] == [s.as_dict() for s in shipped]
    assert list(rebuilt.landmarks) == list(shipped.landmarks)
    for lid, lm in shipped.landmarks.items():
        np.testing.assert_allclose(rebuilt.landmarks[lid].point, lm.point, atol=1e-4, rtol=0)
        np.testing.assert_allclose(rebuilt.landmarks[lid].normal, lm.normal, atol=1e-4, rtol=0)


@pytest.mark.parametrize("tissue", ["bone", "skin", "nerve", "artery", "vein", "tendon", "muscle",
                                    "retinaculum", "fascia"])
def test_rebuild_matches_every_committed_mesh(rebuilt, tissue):
    shipped = load_atlas(default_atlas_dir())
    ids = [sid for sid in shipped.with_geometry() if shipped.structures[sid].tissue == tissue]
    assert ids, tissue
    for sid in ids:
        _same(rebuilt.arrays(sid), shipped.arrays(sid), sid)


def test_committed_files_are_intact():
    assert load_atlas(default_atlas_dir()).validate() == []
