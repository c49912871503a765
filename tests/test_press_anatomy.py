"""The classic areas of caution of ANATOMY.md, pressed on the shipped atlas."""

from __future__ import annotations

import numpy as np
import pytest
from trimesh.ray.ray_triangle import RayMeshIntersector

from handatlas.lookup.capsules import touch_points
from handatlas.lookup.index import lookup_index


def risky(atlas, where, grade):
    return [a.id for a in atlas.press(where, grade=grade).at_risk]


def test_radial_pulse_even_light_pressure_reaches_the_artery(atlas):
    report = atlas.press("radial_pulse", grade="light")
    assert report.verdict == "avoid" and report.at_risk[0].id == "radial_artery"
    assert "radial artery" in report.message and report.territory == "forearm"


def test_anatomical_snuffbox(atlas):
    assert "radial_nerve_superficial_branch" in risky(atlas, "anatomical_snuffbox", "moderate")
    assert "radial_artery" in risky(atlas, "anatomical_snuffbox", "firm")
    assert "cephalic_vein" in risky(atlas, "anatomical_snuffbox", "moderate")


def test_carpal_tunnel(atlas):
    assert "median_nerve" in risky(atlas, "carpal_tunnel", "firm")
    assert "median_nerve" not in risky(atlas, "carpal_tunnel", "light")


def test_guyons_canal(atlas):
    at_risk = risky(atlas, "guyons_canal", "moderate")
    assert "ulnar_nerve" in at_risk and "ulnar_artery" in at_risk


def test_mid_palm_arch(atlas):
    assert "superficial_palmar_arch" in risky(atlas, "palm_center", "firm")
    assert "superficial_palmar_arch" not in risky(atlas, "palm_center", "light")


@pytest.mark.parametrize("digit", ["thumb", "index", "middle", "ring", "little"])
@pytest.mark.parametrize("side", ["radial", "ulnar"])
def test_finger_sides(atlas, digit, side):
    at_risk = risky(atlas, f"{digit}_proximal_phalanx_{side}", "moderate")
    assert f"digital_nerve_{digit}_{side}" in at_risk or f"digital_artery_{digit}_{side}" in at_risk


def test_dorsum_at_light_pressure(atlas):
    report = atlas.press("dorsum_center", grade="light")
    assert report.verdict in ("safe", "caution")
    assert all(a.risk == "caution" for a in report.at_risk)


def test_flags_grow_with_the_grade(atlas):
    rng = np.random.default_rng(7)
    skin = atlas.skin
    picks = rng.choice(len(skin.vertices), 500, replace=False)
    pts, nrm = skin.vertices[picks], skin.vertex_normals[picks]
    flags = [atlas.press_many(pts, nrm, grade=g).at_risk for g in ("light", "moderate", "firm")]
    assert not (flags[0] & ~flags[1]).any() and not (flags[1] & ~flags[2]).any()
    assert flags[2].sum() > flags[1].sum() > flags[0].sum() > 0


def test_no_flag_through_bone(atlas):
    """Checked with trimesh's plain ray engine, independent of the index's Embree one."""
    rng = np.random.default_rng(11)
    skin = atlas.skin
    picks = rng.choice(len(skin.vertices), 300, replace=False)
    pts, nrm = skin.vertices[picks], skin.vertex_normals[picks]
    batch = atlas.press_many(pts, nrm, grade="firm")
    index = lookup_index(atlas)
    rows, cols = np.nonzero(batch.at_risk | batch.shielded)
    # contact point of each reached structure, recomputed from the depths
    caps = index.capsules
    centres = pts[rows] - 8.0 * -nrm[rows] + batch.depth[rows, cols][:, None] * -nrm[rows]
    first = []
    for centre, c in zip(centres, cols, strict=True):
        mine = np.flatnonzero(caps.owner == c)
        first.append(mine[np.argmin(np.linalg.norm(caps.mid[mine] - centre, axis=1))])
    first = np.array(first)
    contact = touch_points(caps, centres, first)
    bones = [s.id for s in atlas if s.tissue == "bone"]
    engines = [RayMeshIntersector(atlas.mesh(b)) for b in bones]
    towards = contact - pts[rows]
    length = np.linalg.norm(towards, axis=1)
    unit = towards / length[:, None]
    blocked = np.zeros(len(rows), bool)
    for engine in engines:
        locations, ray_ids, _ = engine.intersects_location(pts[rows], unit, multiple_hits=False)
        if len(ray_ids):
            dist = np.einsum("ij,ij->i", locations - pts[rows][ray_ids], unit[ray_ids])
            blocked[ray_ids[dist < length[ray_ids] - 0.5]] = True
    flagged = batch.at_risk[rows, cols]
    assert not (flagged & blocked).any(), "a structure behind bone was flagged"
    assert batch.shielded.any()


@pytest.mark.parametrize(("lid", "expected"), [("thumb_distal_phalanx_palmar", "median"),
                                               ("little_proximal_phalanx_palmar", "ulnar"),
                                               ("first_web_space_dorsal", "radial"),
                                               ("index_distal_phalanx_dorsal", "median")])
def test_report_territory(atlas, lid, expected):
    assert atlas.press(lid, grade="light").territory == expected
