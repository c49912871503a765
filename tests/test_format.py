"""The manifest is refused, with file, structure and field named, whenever it is broken."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import edit_manifest

from handatlas import ManifestError, load_atlas
from handatlas import format as fmt


def _structure(doc, sid):
    return next(s for s in doc["structures"] if s["id"] == sid)


def refused(folder, pattern):
    with pytest.raises(ManifestError, match=pattern) as info:
        atlas = load_atlas(folder)
        problems = atlas.validate()
        if problems:
            raise ManifestError("; ".join(problems))
        atlas.mesh("capitate")
    return str(info.value)


def test_duplicate_id(atlas_copy):
    edit_manifest(atlas_copy, lambda d: d["structures"].append(dict(_structure(d, "capitate"))))
    msg = refused(atlas_copy, "duplicate id")
    assert "manifest.json" in msg and "'capitate'" in msg and "'id'" in msg


def test_unknown_parent(atlas_copy):
    edit_manifest(atlas_copy, lambda d: _structure(d, "capitate").update(parent="carpus_bones"))
    msg = refused(atlas_copy, "unknown parent")
    assert "structure 'capitate', field 'parent'" in msg and "'carpus_bones'" in msg


def test_unknown_key(atlas_copy):
    edit_manifest(atlas_copy, lambda d: _structure(d, "median_nerve").update(colour_hex="#ffffff"))
    msg = refused(atlas_copy, "Extra inputs are not permitted")
    assert "structure 'median_nerve', field 'colour_hex'" in msg


def test_bad_vocabulary(atlas_copy):
    edit_manifest(atlas_copy, lambda d: _structure(d, "median_nerve").update(risk="hihg"))
    msg = refused(atlas_copy, "field 'risk'")
    assert "structure 'median_nerve'" in msg and "'hihg'" in msg


def test_missing_mesh_file(atlas_copy):
    (atlas_copy / "capitate.npz").unlink()
    msg = refused(atlas_copy, "mesh file is missing")
    assert "capitate.npz" in msg and "structure 'capitate'" in msg


def test_bad_sha256(atlas_copy):
    path = atlas_copy / "capitate.npz"
    data = bytearray(path.read_bytes())
    data[-200] ^= 0xFF
    path.write_bytes(bytes(data))
    msg = refused(atlas_copy, "sha256")
    assert "capitate.npz" in msg and "corrupted" in msg


def test_malformed_sha_field(atlas_copy):
    edit_manifest(atlas_copy, lambda d: _structure(d, "capitate")["mesh"].update(sha256="xyz"))
    msg = refused(atlas_copy, "structure 'capitate', mesh, field 'sha256'")
    assert "'xyz'" in msg


def test_broken_json_names_line(atlas_copy):
    path = atlas_copy / "manifest.json"
    lines = path.read_text().splitlines()
    lines[3] = lines[3] + ",,"
    path.write_text("\n".join(lines))
    refused(atlas_copy, re.escape("manifest.json: line 4"))


def test_wrong_format_version(atlas_copy):
    edit_manifest(atlas_copy, lambda d: d.update(format_version=99))
    refused(atlas_copy, "'format_version' is 99")


def test_cycle(atlas_copy):
    edit_manifest(atlas_copy, lambda d: _structure(d, "bones").update(parent="carpals"))
    refused(atlas_copy, "cycle")


def test_missing_manifest(tmp_path):
    refused(tmp_path, "no atlas manifest")


def test_landmark_normal_must_be_unit(atlas_copy):
    edit_manifest(atlas_copy, lambda d: d["landmarks"][0].update(normal=[0, 0, 2]))
    msg = refused(atlas_copy, "landmark 'palm_center', field 'normal'")
    assert "length 2.0000" in msg


def test_npz_bytes_reproducible():
    arrays = {"vertices": np.arange(9, dtype=np.float32).reshape(3, 3),
              "faces": np.array([[0, 1, 2]], dtype=np.int32)}
    assert fmt.npz_bytes(arrays) == fmt.npz_bytes(dict(reversed(arrays.items())))


def test_round_trip_keeps_arrays(fixture_atlas):
    arr = fixture_atlas.arrays("median_nerve")
    assert arr["vertices"].dtype == np.float32 and arr["faces"].dtype == np.int32
    assert arr["centerline"].shape == (5, 3)
    np.testing.assert_allclose(arr["radii"], 1.7)


def test_write_refuses_bad_records_and_keeps_old_files(atlas_copy):
    from handatlas.build.writer import write_atlas

    before = (atlas_copy / "manifest.json").read_bytes()
    with pytest.raises(ManifestError, match="structure 'x', field 'tissue'"):
        write_atlas(atlas_copy, info={"name": "a", "version": "1", "frame": "f", "pose": "p"},
                    records=[{"id": "hand", "name": "Hand", "parent": None},
                             {"id": "x", "name": "X", "parent": "hand", "tissue": "cartilage"}],
                    meshes={})
    assert (atlas_copy / "manifest.json").read_bytes() == before
