"""The committed atlas is what the build makes: rebuild it and compare geometrically."""

from __future__ import annotations

import numpy as np
import pytest

from handatlas import load_atlas
from handatlas.atlas import default_atlas_dir

pytestmark = pytest.mark.build
pytest.importorskip("myo_sim")


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    from handatlas.build.pipeline import build_atlas

    folder = tmp_path_factory.mktemp("rebuilt")
    build_atlas(folder)
    return load_atlas(folder)


def test_rebuild_matches_committed_atlas(rebuilt):
    shipped = load_atlas(default_atlas_dir())
    assert list(rebuilt.structures) == list(shipped.structures)
    assert [s.as_dict() for s in rebuilt] == [s.as_dict() for s in shipped]
    for sid in shipped.with_geometry():
        new, old = rebuilt.arrays(sid), shipped.arrays(sid)
        assert sorted(new) == sorted(old), sid
        np.testing.assert_array_equal(new["faces"], old["faces"], err_msg=sid)
        np.testing.assert_allclose(new["vertices"], old["vertices"], atol=1e-4, err_msg=sid)
        for key in set(new) - {"faces", "vertices"}:
            np.testing.assert_allclose(new[key], old[key], atol=1e-4, err_msg=f"{sid}: {key}")
    assert list(rebuilt.landmarks) == list(shipped.landmarks)
    for lid, lm in shipped.landmarks.items():
        np.testing.assert_allclose(rebuilt.landmarks[lid].point, lm.point, atol=1e-4)


def test_committed_files_are_intact():
    assert load_atlas(default_atlas_dir()).validate() == []
