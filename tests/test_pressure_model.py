"""Properties of the pressure model (DESIGN.md, "The pressure model", second edition).

The model's functions (:mod:`handatlas.lookup.model`) are checked against closed forms and brute
force; the properties the design asks for are checked on many presses of the shipped atlas.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from trimesh.ray.ray_triangle import RayMeshIntersector

from handatlas.lookup import model
from handatlas.lookup.capsules import critical_points
from handatlas.lookup.index import lookup_index

FORCES = (1.0, 3.0, 8.0, 15.0, 25.0, 40.0, 70.0)


# ----------------------------------------------------------------------------- the half-space
def brute_force_influence(z: float, rho: float, *, rings: int = 600, spokes: int = 720) -> float:
    """``sigma_z / p`` under a unit disc: Boussinesq's point load summed over a fine polar grid."""
    s = (np.arange(rings) + 0.5) / rings  # radii of the ring midpoints
    phi = (np.arange(spokes) + 0.5) * 2 * np.pi / spokes
    ss, pp = np.meshgrid(s, phi, indexing="ij")
    area = ss * (1.0 / rings) * (2 * np.pi / spokes)
    r2 = z * z + ss * ss + rho * rho - 2 * ss * rho * np.cos(pp)
    return float((3 * z**3 / (2 * np.pi * r2**2.5) * area).sum())


def test_table_matches_the_closed_form_on_the_axis():
    table = model.halfspace_table()
    grid = np.arange(table.shape[0]) * model.TABLE_STEP
    np.testing.assert_allclose(table[:, 0], model.influence_on_axis(grid), atol=1e-12)
    z = np.random.default_rng(1).uniform(0, 8, 500)  # interpolated, and beyond the table
    np.testing.assert_allclose(model.influence(z, 0.0), model.influence_on_axis(z), atol=2e-3)


def test_table_matches_brute_force_off_the_axis():
    rng = np.random.default_rng(2)
    zs = rng.uniform(0.15, 4.0, 40)
    rhos = rng.uniform(0.0, 4.0, 40)
    for z, rho in zip(zs, rhos, strict=True):
        assert model.influence(z, rho) == pytest.approx(brute_force_influence(z, rho), abs=4e-3), (z, rho)
    # the computed table is the cached one
    np.testing.assert_allclose(model.compute_halfspace_table(), model.halfspace_table(), atol=1e-12)


def test_table_falls_with_depth_on_the_axis_and_with_offset():
    table = model.halfspace_table()
    assert (np.diff(table[:, 0]) <= 1e-12).all()
    assert (np.diff(table, axis=1) <= 1e-9).all()  # a loaded disc's stress falls away from its axis
    assert table[0, 0] == 1.0 and table[0, -1] == 0.0


def test_influence_bound_is_a_bound():
    bound = model.influence_bound()
    rng = np.random.default_rng(3)
    z, rho = rng.uniform(0, 12, 20000), rng.uniform(0, 12, 20000)
    cell = np.minimum((np.hypot(z, rho) / model.BOUND_STEP).astype(int), len(bound) - 1)
    assert (model.influence(z, rho) <= bound[cell] + 1e-12).all()


# ----------------------------------------------------------------------------- the model for one structure
def test_pressure_and_sink():
    assert model.pressure_kpa(40.0, 8.0) == pytest.approx(198.94, abs=0.01)
    p = np.geomspace(1, 2000, 50)
    strain = model.tissue_strain(p)
    assert (np.diff(strain) > 0).all() and (strain < model.STRAIN_MAX).all()
    column = np.linspace(0, 60, 50)
    sink = model.sink_mm(200.0, column)
    assert (sink < np.minimum(column, model.COLUMN_MAX_MM) + 1e-12).all()  # never through bone


@pytest.mark.parametrize("offset", [0.0, 4.0, 8.0, 10.0, 16.0, 30.0])
@pytest.mark.parametrize("column", [2.0, 8.0, 30.0])
def test_stress_never_falls_when_the_force_rises(offset, column):
    """Compression brings structures nearer; the stress still grows with the force everywhere."""
    for depth in np.linspace(0.0, 40.0, 81):
        stress = [model.structure_stress(force_n=f, radius_mm=8.0, depth_mm=depth, offset_mm=offset,
                                         column_mm=column) for f in np.geomspace(0.5, 120, 40)]
        assert (np.diff(stress) >= -1e-9).all(), (depth, offset, column)


@pytest.mark.parametrize("force", FORCES)
def test_on_the_axis_a_wider_pad_is_gentler(force):
    radii = np.linspace(2.0, 30.0, 29)
    for depth in (0.5, 2.0, 5.0, 10.0, 20.0, 35.0):
        stress = [model.structure_stress(force_n=force, radius_mm=r, depth_mm=depth) for r in radii]
        assert (np.diff(stress) < 0).all(), depth


@pytest.mark.parametrize("tissue", ["nerve", "artery", "vein"])
def test_pinned_is_never_safer(tissue):
    """A structure pinned on bone is never safer than the same structure over soft tissue at equal depth."""
    order = {"safe": 0, "caution": 1, "avoid": 2}
    for force in FORCES:
        for depth in (0.5, 2.0, 4.0, 8.0, 15.0):
            for offset in (0.0, 6.0, 12.0):
                args = {"tissue": tissue, "force_n": force, "radius_mm": 8.0, "depth_mm": depth,
                        "offset_mm": offset, "column_mm": depth + 3.0}
                pinned = model.structure_level(pinned=True, **args)
                free = model.structure_level(pinned=False, **args)
                assert order[pinned] >= order[free], (force, depth, offset)
    assert model.tolerance_kpa(tissue, pinned=True) < model.tolerance_kpa(tissue)


def test_veins_give_caution_at_most():
    for force in (40.0, 200.0, 1000.0):
        assert model.structure_level(tissue="vein", pinned=True, force_n=force, radius_mm=4.0,
                                     depth_mm=0.5) == "caution"
    assert model.structure_level(tissue="nerve", pinned=True, force_n=200.0, radius_mm=4.0,
                                 depth_mm=0.5) == "avoid"


def test_sheets_spread_the_load():
    bare = model.structure_stress(force_n=40, radius_mm=8, depth_mm=6)
    under = model.structure_stress(force_n=40, radius_mm=8, depth_mm=6, sheets=("palmar_aponeurosis",))
    assert under == pytest.approx(bare * model.SHEET_FACTOR["palmar_aponeurosis"])
    assert all(0 < f < 1 for f in model.SHEET_FACTOR.values())


def test_every_parameter_in_one_place():
    params = model.parameters()
    assert params["GRADE_FORCE_N"] == {"light": 3.0, "moderate": 15.0, "firm": 40.0}
    assert set(params["TOLERANCE_KPA"]) == {"nerve", "artery", "vein"}
    assert 0 < params["CAUTION_FRACTION"] < 1
    assert set(params["PINNED_FACTOR"]) == set(params["TOLERANCE_KPA"])
    assert all(0 < f < 1 for f in params["PINNED_FACTOR"].values())


# ----------------------------------------------------------------------------- properties on the atlas
@pytest.fixture(scope="module")
def skin_points(atlas):
    rng = np.random.default_rng(20261124)
    skin = atlas.skin
    picks = rng.choice(len(skin.vertices), 1500, replace=False)
    return skin.vertices[picks], skin.vertex_normals[picks]


@pytest.fixture(scope="module")
def by_force(atlas, skin_points):
    pts, nrm = skin_points
    return {f: atlas.press_many(pts, nrm, grade="moderate", force_n=f) for f in FORCES}


def test_flags_and_verdicts_never_rise_when_the_force_falls(by_force):
    for low, high in itertools.pairwise(FORCES):
        a, b = by_force[low], by_force[high]
        assert not (a.at_risk & ~b.at_risk).any(), (low, high)
        assert (a.verdict <= b.verdict).all(), (low, high)
        assert (np.where(a.at_risk, a.level, 0) <= np.where(b.at_risk, b.level, 0)).all()
        # below the flagging floor stresses are not all computed (the reach grows with the force)
        matters = a.stress > model.flag_floor_kpa()
        assert (a.stress[matters] <= b.stress[matters] + 1e-9).all(), (low, high)
    assert by_force[FORCES[-1]].at_risk.sum() > by_force[FORCES[1]].at_risk.sum() > 0


def test_grades_are_their_forces(atlas, skin_points, by_force):
    pts, nrm = skin_points
    firm = atlas.press_many(pts, nrm, grade="firm")
    np.testing.assert_array_equal(firm.verdict, by_force[40.0].verdict)
    np.testing.assert_array_equal(firm.stress, by_force[40.0].stress)


def test_on_the_axis_a_wider_pad_gives_lower_stress(atlas):
    # DESIGN.md: on the axis a wider pad at the same force gives lower stress; off the axis a
    # structure beside a narrow pad can fall inside a wide pad's footprint, so verdicts may rise
    for where in ("radial_pulse", "carpal_tunnel", "palm_center", "guyons_canal"):
        reports = [atlas.press(where, grade="firm", radius_mm=r) for r in (5.0, 8.0, 12.0, 20.0)]
        sinks = [r.sink_mm for r in reports]
        assert sinks == sorted(sinks, reverse=True)
        for depth in (1.0, 3.0, 6.0, 10.0):
            stress = [model.structure_stress(force_n=40.0, radius_mm=r.radius_mm, depth_mm=depth,
                                             offset_mm=0.0, column_mm=20.0) for r in reports]
            assert stress == sorted(stress, reverse=True), (where, depth)


@pytest.mark.parametrize("force", [15.0, 40.0, 70.0])
def test_nothing_flagged_through_bone(atlas, skin_points, by_force, force):
    """Checked with trimesh's plain ray engine, independent of the index's Embree one."""
    pts, _ = skin_points
    batch = by_force[force]
    caps = lookup_index(atlas).capsules
    rows, cols = np.nonzero(batch.at_risk | batch.shielded)
    segments = batch.segment[rows, cols]
    centre = critical_points(caps, segments, batch.param[rows, cols])
    towards = centre - pts[rows]
    length = np.linalg.norm(towards, axis=1) - caps.radius[segments]
    unit = towards / np.linalg.norm(towards, axis=1)[:, None]
    blocked = np.zeros(len(rows), bool)
    for bone in (s.id for s in atlas if s.tissue == "bone"):
        engine = RayMeshIntersector(atlas.mesh(bone))
        locations, ray_ids, _ = engine.intersects_location(pts[rows], unit, multiple_hits=False)
        if len(ray_ids):
            dist = np.einsum("ij,ij->i", locations - pts[rows][ray_ids], unit[ray_ids])
            blocked[ray_ids[dist < length[ray_ids] - 0.5]] = True
    assert not (batch.at_risk[rows, cols] & blocked).any(), "a structure behind bone was flagged"
    assert batch.shielded.any()


def test_the_sink_stops_at_bone(by_force):
    for batch in by_force.values():
        assert (batch.sink < batch.column).all()


# ----------------------------------------------------------------------------- the report
@pytest.mark.parametrize("where", ["radial_pulse", "carpal_tunnel", "palm_center", "dorsum_center",
                                   "guyons_canal", "index_proximal_phalanx_radial", "thenar_eminence"])
@pytest.mark.parametrize("grade", ["light", "moderate", "firm"])
def test_json_fields_present_and_consistent(atlas, where, grade):
    report = atlas.press(where, grade=grade)
    data = json.loads(json.dumps(report.as_dict()))
    assert {"force_n", "pressure_kpa", "sink_mm", "depth_limit_mm", "at_risk", "shielded", "verdict",
            "message"} <= set(data)
    assert data["force_n"] == model.GRADE_FORCE_N[grade]
    pressure = model.pressure_kpa(data["force_n"], data["radius_mm"])
    assert data["pressure_kpa"] == pytest.approx(pressure, abs=0.05)
    assert data["depth_limit_mm"] == data["sink_mm"] > 0
    for item in data["at_risk"] + data["shielded"]:
        assert {"id", "name", "tissue", "risk", "distance_mm", "depth_mm", "stress_kpa", "level",
                "pinned"} <= set(item)
        assert item["level"] in ("caution", "avoid") and item["stress_kpa"] > 0
        assert item["distance_mm"] >= 0
    levels = [item["level"] for item in data["at_risk"]]
    assert data["verdict"] == ("avoid" if "avoid" in levels else "caution" if levels else "safe")
    assert all(item["tissue"] != "vein" or item["level"] == "caution" for item in data["at_risk"])
    if data["at_risk"]:
        worst = data["at_risk"][0]
        assert worst["name"][0].lower() + worst["name"][1:] in data["message"]
        # the table's depth, with the table's rounding
        assert f"{worst['depth_mm']:.1f} mm deep" in data["message"]
        assert "broad" in data["message"] and "moving" in data["message"]
        assert levels == sorted(levels, key=("avoid", "caution").index)  # worst first
