"""The distal forearm of the shipped atlas: bellies that fill it, tendons that leave them at
realistic levels, and the interosseous membrane between the volar and dorsal compartments.

Levels are measured proximal to the distal wrist crease (mm).  The figures are plausible ranges
from standard anatomy texts (musculotendinous junctions of the distal forearm; the share of a
mid-forearm section taken by muscle), not sourced means, so the ranges are wide.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import trimesh
from surface_anatomy import FOREARM_EXTENSORS, FOREARM_FLEXORS

FOREARM_MUSCLES = (*FOREARM_FLEXORS, *FOREARM_EXTENSORS)
#: tendon -> (its muscle, lowest and highest level at which it leaves the belly, mm).  Most
#: bellies become tendons 2-8 cm above the wrist; palmaris longus is a short belly on a long
#: tendon; brachioradialis is tendinous over the distal half of the forearm.
LEAVES = {
    "fcr_tendon": ("flexor_carpi_radialis", 40.0, 100.0),
    "palmaris_longus_tendon": ("palmaris_longus", 60.0, 130.0),
    "fcu_tendon": ("flexor_carpi_ulnaris", 20.0, 60.0),
    "fpl_tendon": ("flexor_pollicis_longus", 25.0, 65.0),
    **{f"fds_tendon_{d}": ("flexor_digitorum_superficialis", 25.0, 70.0) for d in range(2, 6)},
    **{f"fdp_tendon_{d}": ("flexor_digitorum_profundus", 25.0, 65.0) for d in range(2, 6)},
    "brachioradialis_tendon": ("brachioradialis", 50.0, 125.0),
    "apl_tendon": ("abductor_pollicis_longus", 25.0, 80.0),
    "epb_tendon": ("extensor_pollicis_brevis", 25.0, 80.0),
    "epl_tendon": ("extensor_pollicis_longus", 25.0, 80.0),
    **{f"edc_tendon_{d}": ("extensor_digitorum", 25.0, 80.0) for d in range(2, 6)},
    # ECRL's belly ends in the upper third of the forearm, ECRB's near its middle; ECU and
    # extensor indicis reach the lower forearm (EI's fibres almost to the wrist)
    "ecrl_tendon": ("extensor_carpi_radialis_longus", 70.0, 130.0),
    "ecrb_tendon": ("extensor_carpi_radialis_brevis", 40.0, 100.0),
    "ecu_tendon": ("extensor_carpi_ulnaris", 20.0, 60.0),
    "eip_tendon": ("extensor_indicis", 10.0, 50.0),
}
#: Deep muscles on each side of the membrane, and the levels (mm) at which they are checked.
VOLAR_DEEP = ("flexor_digitorum_profundus", "flexor_pollicis_longus")
DORSAL_DEEP = ("extensor_pollicis_longus", "abductor_pollicis_longus", "extensor_indicis")
MEMBRANE_LEVELS = (60.0, 80.0, 100.0)
#: Overlap of two bellies deeper than this is an interpenetration, not a shared surface (mm).
OVERLAP_MM = 0.3


def crease_y(atlas) -> float:
    return float(atlas.landmark("distal_wrist_crease").point[1])


def section_points(atlas, y: float, spacing: float = 0.7) -> np.ndarray:
    """A grid of points on the transverse plane at ``y``, inside the skin."""
    lo, hi = atlas.skin.bounds
    xs, zs = np.meshgrid(np.arange(lo[0], hi[0], spacing), np.arange(lo[2], hi[2], spacing))
    points = np.column_stack([xs.ravel(), np.full(xs.size, y), zs.ravel()])
    return points[atlas.skin.contains(points)]


def inside_any(atlas, ids, points: np.ndarray) -> np.ndarray:
    y = points[0, 1]
    out = np.zeros(len(points), dtype=bool)
    for sid in ids:
        mesh = atlas.mesh(sid)
        if mesh.bounds[0][1] <= y <= mesh.bounds[1][1]:
            out |= mesh.contains(points)
    return out


@pytest.mark.parametrize("level", [80.0, 100.0])
def test_forearm_section_is_mostly_muscle(atlas, level):
    """At 8 and 10 cm above the crease muscle bellies fill at least 45 % of the section inside the
    skin (the rest: skin and subcutis, bones, tendons, nerves and vessels)."""
    points = section_points(atlas, crease_y(atlas) - level)
    share = inside_any(atlas, FOREARM_MUSCLES, points).mean()
    assert share >= 0.45, f"muscle fills {share:.0%} of the forearm section at {level:.0f} mm; target >= 45 %"


@pytest.mark.parametrize("tendon", list(LEAVES))
def test_tendon_leaves_its_belly_at_a_realistic_level(atlas, tendon):
    """The most distal point of a tendon's centreline inside its muscle lies in the muscle's range."""
    muscle, lowest, highest = LEAVES[tendon]
    line, _ = atlas.centerline(tendon)
    inside = atlas.mesh(muscle).contains(line)
    assert inside.any(), f"{tendon} never runs inside {muscle}"
    level = crease_y(atlas) - line[inside][:, 1].max()
    assert lowest <= level <= highest, (f"{tendon} leaves {muscle} {level:.0f} mm above the crease; "
                                        f"target {lowest:.0f}-{highest:.0f} mm")


def membrane_side(atlas, level: float):
    """The interosseous membrane's line at a level: a point on it and its palmar-facing normal in
    the (x, z) plane."""
    section = atlas.mesh("interosseous_membrane").section([0, 1, 0], [0, crease_y(atlas) - level, 0])
    assert section is not None, f"no interosseous membrane {level:.0f} mm above the crease"
    xz = section.vertices[:, [0, 2]]
    centre = xz.mean(axis=0)
    _, _, axes = np.linalg.svd(xz - centre)
    normal = np.array([-axes[0][1], axes[0][0]])
    return centre, normal if normal[1] > 0 else -normal


@pytest.mark.parametrize("level", MEMBRANE_LEVELS)
def test_interosseous_membrane_divides_the_compartments(atlas, level):
    """The deep flexors (FDP, FPL) lie palmar to the membrane and the deep extensors (EPL, APL,
    extensor indicis) dorsal to it: no vertex of a muscle's section crosses it."""
    centre, normal = membrane_side(atlas, level)
    y = crease_y(atlas) - level
    wrong = []
    for sid, sign in [*((s, 1.0) for s in VOLAR_DEEP), *((s, -1.0) for s in DORSAL_DEEP)]:
        section = atlas.mesh(sid).section([0, 1, 0], [0, y, 0])
        if section is None:
            continue
        xz = section.vertices[:, [0, 2]]
        near = np.abs((xz - centre) @ np.array([normal[1], -normal[0]])) < 6.0  # within the membrane's span
        if near.any() and (sign * ((xz[near] - centre) @ normal)).min() < -0.5:
            wrong.append(sid)
    assert not wrong, f"{wrong} reach across the interosseous membrane {level:.0f} mm above the crease"


def test_forearm_bellies_do_not_interpenetrate(atlas):
    """Neighbouring bellies share surfaces but none reaches more than 0.3 mm into another."""
    meshes = {sid: atlas.mesh(sid) for sid in FOREARM_MUSCLES}
    worst = {}
    for a, b in itertools.combinations(FOREARM_MUSCLES, 2):
        lo = np.maximum(meshes[a].bounds[0], meshes[b].bounds[0])
        hi = np.minimum(meshes[a].bounds[1], meshes[b].bounds[1])
        if np.any(lo > hi):
            continue
        points = meshes[a].vertices[np.all((meshes[a].vertices > lo) & (meshes[a].vertices < hi), axis=1)]
        if len(points) == 0:
            continue
        depth = trimesh.proximity.ProximityQuery(meshes[b]).signed_distance(points).max()
        if depth > OVERLAP_MM:
            worst[f"{a} in {b}"] = round(float(depth), 2)
    assert not worst, f"bellies reaching into each other (mm): {worst}"
