"""The authored anatomy specification: valid as shipped, refused with file and line when broken."""

from __future__ import annotations

import re

import pytest

from handatlas.build.spec import SPEC_FILES, SpecError, default_spec_dir, load_spec, load_spec_file
from handatlas.format import TISSUE_RISK


def test_shipped_spec_is_valid():
    specs = load_spec()
    ids = [s.id for s in specs]
    assert ids[0] == "hand" and len(ids) == len(set(ids))
    for s in specs:
        if s.geometry.kind != "group":
            assert s.tissue and s.layer and s.risk, s.id
            assert TISSUE_RISK[s.tissue] == s.risk, f"{s.id}: {s.tissue} should be {TISSUE_RISK[s.tissue]}"


def _write(tmp_path, text):
    path = tmp_path / "bones.yaml"
    path.write_text(text)
    return path


def test_bad_field_names_line(tmp_path):
    path = _write(tmp_path, """format_version: 1
structures:
  - {id: hand, name: Hand, parent: null, geometry: {kind: group}}
  - {id: radius, name: Radius, parent: hand, tissue: bone, layer: skeleton, risk: hihg,
     geometry: {kind: bone}}
""")
    with pytest.raises(SpecError) as info:
        load_spec_file(path)
    msg = str(info.value)
    assert f"{path}: line 4: structure 'radius', field 'risk'" in msg and "'hihg'" in msg


def test_unknown_key_and_duplicate(tmp_path):
    path = _write(tmp_path, """structures:
  - {id: hand, name: Hand, parent: null, geometry: {kind: group}, colour_hex: "#ffffff"}
""")
    with pytest.raises(SpecError, match="line 2: structure 'hand', field 'colour_hex'"):
        load_spec_file(path)
    path = _write(tmp_path, """structures:
  - {id: hand, name: Hand, parent: null, geometry: {kind: group}}
  - {id: hand, name: Hand, parent: null, geometry: {kind: group}}
""")
    assert [s.id for s, _ in load_spec_file(path)] == ["hand", "hand"]


def test_broken_yaml(tmp_path):
    path = _write(tmp_path, "structures:\n  - {id: hand, name: [\n")
    with pytest.raises(SpecError, match=r"line \d+: invalid YAML"):
        load_spec_file(path)


def test_unsafe_yaml_is_refused(tmp_path):
    path = _write(tmp_path, "structures: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(SpecError, match="invalid YAML"):
        load_spec_file(path)


def test_spec_ships_in_package():
    assert all((default_spec_dir() / name).exists() for name in SPEC_FILES)


def test_duplicate_across_files(tmp_path):
    hand = "structures:\n  - {id: hand, name: Hand, parent: null, geometry: {kind: group}}\n"
    (tmp_path / "hand.yaml").write_text(hand)
    _write(tmp_path, "structures:\n  - {id: bones, name: B, parent: hand, geometry: {kind: group}}\n"
                     "  - {id: hand, name: Hand, parent: null, geometry: {kind: group}}\n")
    expected = "bones.yaml: line 3: structure 'hand': duplicate id (first in hand.yaml line 2)"
    with pytest.raises(SpecError, match=re.escape(expected)):
        load_spec(tmp_path)
