"""The fast paths against the straightforward one, on the shipped atlas.

``press`` casts its axis's rays in one compiled call through a BVH of its own
(:class:`handatlas.lookup.bvh.MeshRays`, :meth:`LookupIndex.axis`) and ``safety_map`` reuses
what does not depend on the load; the straightforward path is :func:`handatlas.lookup.press.evaluate`
on an index whose rays are Embree's, cast again past each hit
(:class:`handatlas.lookup.rays.RayIndex`).  On many random skin points, for every grade and two
pads, both must give the same verdicts and, structure by structure, the same stress, level,
pinning and shielding.
"""

from __future__ import annotations

import numpy as np
import pytest

from handatlas.lookup.bvh import MeshRays
from handatlas.lookup.capsules import critical_points, stress_capsules
from handatlas.lookup.index import LookupIndex, lookup_index
from handatlas.lookup.model import COLUMN_MAX_MM, GRADE_FORCE_N, LEVELS, VERDICTS, tissue_strain
from handatlas.lookup.pinning import SHIELD_TOLERANCE_MM
from handatlas.lookup.press import MOST_LOADED_CHECKS, WORTH_A_NUMBER_KPA, evaluate
from handatlas.lookup.rays import RayIndex

GRADES = ("light", "moderate", "firm")
RADII = (8.0, 20.0)
N_PRESSES = 120
N_MAP = 3000


@pytest.fixture(scope="module")
def reference(atlas) -> LookupIndex:
    return LookupIndex(atlas, rays=RayIndex)


@pytest.fixture(scope="module")
def skin_points(atlas) -> tuple[np.ndarray, np.ndarray]:
    """Random points on the skin's faces (not only vertices) with their interpolated normals."""
    index = lookup_index(atlas)
    skin = atlas.skin
    rng = np.random.default_rng(20261205)
    faces = rng.choice(len(skin.faces), N_PRESSES, replace=False)
    weights = rng.dirichlet(np.ones(3), N_PRESSES)
    points = np.einsum("ij,ijk->ik", weights, skin.vertices[skin.faces[faces]])
    return points, index.skin.normals_at(points, faces)


@pytest.mark.parametrize("radius", RADII)
@pytest.mark.parametrize("grade", GRADES)
def test_press_equals_straightforward_evaluation(atlas, reference, skin_points, grade, radius):
    points, normals = skin_points
    slow = evaluate(reference, points, -normals, force_n=GRADE_FORCE_N[grade], radius_mm=radius,
                    with_distance=True)
    flagged_somewhere = 0
    for i, (point, normal) in enumerate(zip(points, normals, strict=True)):
        report = atlas.press(point, grade=grade, radius_mm=radius, direction=-normal)
        where = f"point {i} {np.round(point, 2).tolist()} at {grade}, r {radius:g}"
        assert report.verdict == VERDICTS[slow.verdict[i]], where
        fast = {a.id: a for a in (*report.at_risk, *report.shielded)}
        expected = {slow.ids[k]: k for k in np.flatnonzero(slow.level[i] > 0)}
        assert set(fast) == set(expected), where
        for sid, k in expected.items():
            item = fast[sid]
            assert item.stress_kpa == pytest.approx(slow.stress[i, k], rel=1e-9), (where, sid)
            assert item.level == LEVELS[slow.level[i, k]], (where, sid)
            assert item.pinned == bool(slow.pinned[i, k]), (where, sid)
            assert (item in report.shielded) == bool(slow.shielded[i, k]), (where, sid)
            assert item.depth_mm == pytest.approx(slow.skin_depth[i, k], rel=1e-9), (where, sid)
            assert item.distance_mm == pytest.approx(slow.distance[i, k], rel=1e-9), (where, sid)
        assert report.sink_mm == pytest.approx(slow.sink[i], rel=1e-9), where
        flagged_somewhere += bool(expected)
    if radius == 8.0:  # with a palm's breadth few of these presses flag anything
        assert flagged_somewhere >= 5  # the comparison covered presses that flag something


def most_loaded_straightforward(atlas, index: LookupIndex, report) -> tuple[str, float, float] | None:
    """The message's most loaded structure by its definition: every structure's stress at once (no
    reach, no floor); of the five with the highest stress over tolerance, at least
    WORTH_A_NUMBER_KPA, the first with no bone between the contact and its critical point."""
    caps, point, axis = index.capsules, report.point[None], report.direction[None]
    pressure = report.pressure_kpa
    column = np.minimum(index.bones.first_hit(point, axis), COLUMN_MAX_MM)
    loads = stress_capsules(caps, point, axis, pad_mm=report.radius_mm, strain=float(tissue_strain(pressure)),
                            columns=column, sheet_depth=index.sheet_depths(point, axis),
                            sheet_factor=index.sheet_factor, reach_mm=np.array([np.inf]))
    stress = pressure * loads.load[0]
    ratio = stress / index.tolerance
    order = [k for k in np.argsort(-ratio, kind="stable") if stress[k] >= WORTH_A_NUMBER_KPA]
    for k in order[:MOST_LOADED_CHECKS]:
        centre = critical_points(caps, loads.segment[0, k : k + 1], loads.param[0, k : k + 1])[0]
        length = float(np.linalg.norm(centre - report.point))
        bone = index.bones.first_hit(point, ((centre - report.point) / length)[None])[0]
        if bone >= length - caps.radius[loads.segment[0, k]] - SHIELD_TOLERANCE_MM:
            radius = caps.radius[loads.segment[0, k : k + 1]]
            depth = index.depth_below_skin(point, axis, centre[None], radius, loads.depth[0, k : k + 1])[0]
            return atlas.structures[caps.ids[k]].name, float(depth), float(stress[k])
    return None


@pytest.mark.parametrize("grade", GRADES)
def test_safe_press_names_the_structure_nearest_its_tolerance(atlas, reference, skin_points, grade):
    """``press`` finds it by branch and bound across the structures, searching only those that could
    beat the best found."""
    points, normals = skin_points
    named = 0
    for i, (point, normal) in enumerate(zip(points, normals, strict=True)):
        report = atlas.press(point, grade=grade, direction=-normal)
        if report.at_risk or report.shielded:
            continue
        expected = most_loaded_straightforward(atlas, reference, report)
        where = f"point {i} {np.round(point, 2).tolist()} at {grade}"
        assert (report.most_loaded is None) == (expected is None), (where, report.most_loaded, expected)
        if expected is not None:
            assert report.most_loaded[0] == expected[0], where
            assert report.most_loaded[1:] == pytest.approx(expected[1:], rel=1e-9), where
            named += 1
    assert named >= 10  # (at firm, most of these presses flag something)


@pytest.mark.parametrize("order", [("firm", "moderate", "light"), ("light", "moderate", "firm")])
@pytest.mark.parametrize("radius", RADII)
def test_safety_map_equals_straightforward_evaluation(atlas, reference, radius, order):
    """Firm first prepares the presses the lighter grades reuse; light first prepares them again
    for each larger force."""
    skin = atlas.skin
    lookup_index(atlas).__dict__.pop("_skin_presses", None)
    picks = np.random.default_rng(7).choice(len(skin.vertices), N_MAP, replace=False)
    normals = skin.vertex_normals[picks]
    unit = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    for grade in order:
        codes = atlas.safety_map(grade=grade, radius_mm=radius)
        slow = evaluate(reference, skin.vertices[picks], -unit, force_n=GRADE_FORCE_N[grade],
                        radius_mm=radius)
        np.testing.assert_array_equal(codes[picks], slow.verdict, err_msg=f"{grade} after {order}")
        if radius == 8.0:
            assert len(set(codes[picks].tolist())) >= 2  # the comparison covered more than safe skin
    again = atlas.safety_map(grade=order[0], radius_mm=radius)
    np.testing.assert_array_equal(again[picks], evaluate(
        reference, skin.vertices[picks], -unit, force_n=GRADE_FORCE_N[order[0]], radius_mm=radius).verdict)


def test_mesh_rays_agree_with_embree(atlas, reference):
    """First hits are the same; every hit Embree finds is found at the same distance (Embree, cast
    again past each hit, can miss a surface within 1e-4 mm of the last one; the BVH cannot)."""
    skin = atlas.skin
    rng = np.random.default_rng(3)
    picks = rng.choice(len(skin.vertices), 500, replace=False)
    origins = skin.vertices[picks]
    directions = -skin.vertex_normals[picks] + rng.normal(0.0, 0.3, (500, 3))
    fast = lookup_index(atlas)
    for name in ("bones", "backing", "sheets"):
        ours, embree = getattr(fast, name), getattr(reference, name)
        assert isinstance(ours, MeshRays)
        np.testing.assert_allclose(ours.first_hit(origins, directions), embree.first_hit(origins, directions),
                                   rtol=1e-12, atol=1e-12)
        r1, d1, o1 = embree.hits(origins, directions)
        r2, d2, o2 = ours.hits(origins, directions)
        theirs = set(zip(r1.tolist(), np.round(d1, 7).tolist(), o1.tolist(), strict=True))
        found = set(zip(r2.tolist(), np.round(d2, 7).tolist(), o2.tolist(), strict=True))
        assert len(theirs - found) <= len(theirs) // 1000, name
        # closed meshes, rays from outside them: every structure is crossed an even number of times
        counts = np.unique(np.stack([r2, o2]), axis=1, return_counts=True)[1]
        assert (counts % 2 == 0).mean() > 0.99, name


def test_skin_queries_through_the_bvh_agree(atlas):
    """One point's closest skin point and nearest vertex through the skin's BVH are those of the
    KD-tree searches used for many points (also on vertices, where several faces are equally near
    and the two may pick different ones)."""
    from handatlas.lookup.territory import skin_tree

    skin = lookup_index(atlas).skin
    rng = np.random.default_rng(11)
    points = np.vstack([skin.vertices[rng.choice(len(skin.vertices), 300)] + rng.normal(0.0, 3.0, (300, 3)),
                        skin.vertices[rng.choice(len(skin.vertices), 100)]])
    closest, faces = skin.closest(points)
    _, nearest = skin_tree(atlas).query(points)
    ties = 0
    for i, point in enumerate(points):
        one, face = skin.closest_one(point)
        np.testing.assert_allclose(one, closest[i], rtol=0, atol=1e-9, err_msg=str(i))
        if face != faces[i]:  # equally near faces: the same point on both
            ties += 1
            assert np.linalg.norm(point - one) == pytest.approx(np.linalg.norm(point - closest[i]), abs=1e-9)
        assert skin.nearest_vertex(point) == nearest[i], i
    assert ties < len(points) // 2
