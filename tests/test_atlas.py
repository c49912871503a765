"""The atlas API on the fixture atlas: names, hierarchy, meshes, landmarks, territories."""

from __future__ import annotations

import numpy as np
import pytest

from handatlas import UnknownNameError


def test_lookup_by_id_name_acronym_synonym(fixture_atlas):
    a = fixture_atlas
    assert a.structure("median_nerve").id == "median_nerve"
    assert a.structure("Median Nerve").id == "median_nerve"
    assert a.structure("median nerve").id == "median_nerve"
    assert a.structure("ra").id == "radial_artery"
    assert a.structure("OS CAPITATUM").id == "capitate"
    assert a["carpus"].id == "carpals"
    assert "Radial artery" in a and "brachial artery" not in a


def test_unknown_name_suggests(fixture_atlas):
    with pytest.raises(UnknownNameError) as info:
        fixture_atlas.structure("median nrve")
    assert "did you mean" in str(info.value) and "'median nerve'" in str(info.value)
    assert "median nerve" in info.value.suggestions
    with pytest.raises(UnknownNameError, match=r"unknown structure 'zzz'$"):
        fixture_atlas.structure("zzz")


def test_hierarchy(fixture_atlas):
    a = fixture_atlas
    assert a.parent("capitate").id == "carpals"
    assert a.parent("hand") is None
    assert a.ancestors("capitate") == ("carpals", "bones", "hand")
    assert a.children("bones") == ("carpals",)
    assert a.descendants("bones") == ("carpals", "capitate", "hamate")
    assert set(a.with_geometry()) == {"capitate", "hamate", "median_nerve", "radial_artery", "ulnar_artery",
                                      "skin"}
    # every structure reaches the root
    for s in a:
        assert s.id == "hand" or a.ancestors(s.id)[-1] == "hand"


def test_structure_fields(fixture_atlas):
    s = fixture_atlas.structure("median_nerve")
    assert (s.tissue, s.layer, s.risk, s.colour) == ("nerve", "neurovascular", "high", "#f2d43a")
    assert "tunnel" in s.risk_note
    assert s.is_tube and not s.is_group
    assert fixture_atlas.structure("bones").is_group
    assert s.as_dict() == {"id": "median_nerve", "name": "Median nerve", "parent": "nerves",
                           "tissue": "nerve", "layer": "neurovascular", "risk": "high"}


def test_meshes(fixture_atlas):
    bone = fixture_atlas.mesh("capitate")
    assert bone.is_watertight
    assert bone.volume == pytest.approx(4 / 3 * np.pi * 8**3, rel=0.02)
    skin = fixture_atlas.skin
    assert skin.is_watertight and skin.volume == pytest.approx(80 * 120 * 40)
    line, radii = fixture_atlas.centerline("median_nerve")
    assert line.shape == (5, 3) and np.allclose(radii, 1.7)
    with pytest.raises(ValueError, match="is a group"):
        fixture_atlas.mesh("bones")
    with pytest.raises(ValueError, match="not a tube"):
        fixture_atlas.centerline("capitate")


def test_landmarks(fixture_atlas):
    lm = fixture_atlas.landmark("palm_center")
    np.testing.assert_allclose(lm.point, [0, 0, 20])
    assert lm.as_dict() == {"id": "palm_center", "point": [0.0, 0.0, 20.0], "normal": [0.0, 0.0, 1.0]}
    with pytest.raises(UnknownNameError, match="did you mean 'palm_center'"):
        fixture_atlas.landmark("palm_centre")


def test_territories(fixture_atlas):
    a = fixture_atlas
    assert a.territory_at([30, 0, 20]) == "radial"
    assert a.territory_at([-30, 0, 20]) == "ulnar"
    assert a.territory_at((0, 0, 20)) == "median"
    assert a.territory_at([-5, 0, 20], variant="dorsal_ulnar_2_5") == "ulnar"
    labels = a.territories()
    assert set(labels) == {"median", "ulnar", "radial"}
    with pytest.raises(UnknownNameError, match="did you mean 'standard'"):
        a.territory_at([0, 0, 0], variant="standrd")
    with pytest.raises(ValueError, match="non-finite"):
        a.territory_at([np.nan, 0, 0])
    with pytest.raises(ValueError, match="3 coordinates"):
        a.territory_at([1, 2])


def test_validate_clean(fixture_atlas):
    assert fixture_atlas.validate() == []


def test_import_does_no_io_and_no_gui():
    import subprocess
    import sys

    code = ("import sys, handatlas; "
            "bad = [m for m in ('pyvista', 'vtk', 'panel', 'trimesh') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
