"""Structures keep out of each other: no tube passes through bone or through another tube."""

from __future__ import annotations

import itertools

import numpy as np
import trimesh
from scipy.spatial import cKDTree

#: Overlap allowed between two surfaces (mm): a touch, not a crossing.
TOLERANCE_MM = 0.3
#: Near its ends a tube meets what it branches from or inserts on (mm).
END_ZONE_MM = 6.0


def tubes(atlas):
    return [s.id for s in atlas if s.is_tube]


def inner(line: np.ndarray) -> np.ndarray:
    """Centre-line points away from both ends."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    return (arc > END_ZONE_MM) & (arc < arc[-1] - END_ZONE_MM)


def test_no_tube_through_bone(atlas):
    bones = [s.id for s in atlas if s.tissue == "bone"]
    queries = {b: trimesh.proximity.ProximityQuery(atlas.mesh(b)) for b in bones}
    boxes = {b: atlas.mesh(b).bounds for b in bones}
    problems = []
    for sid in tubes(atlas):
        for line, radii in atlas.centerlines(sid):
            keep = inner(line)
            pts, rad = line[keep], radii[keep]
            for b in bones:
                lo, hi = boxes[b]
                near = np.all((pts > lo - 5) & (pts < hi + 5), axis=1)
                if not near.any():
                    continue
                inside = queries[b].signed_distance(pts[near])  # + inside the bone
                worst = float((inside + rad[near]).max())
                if worst > TOLERANCE_MM:
                    problems.append(f"{sid} enters {b} by {worst:.1f} mm")
    assert not problems, "; ".join(problems)


def test_tubes_do_not_cross(atlas):
    ids = tubes(atlas)
    lines = {sid: [(line[inner(line)], radii[inner(line)]) for line, radii in atlas.centerlines(sid)]
             for sid in ids}
    problems = []
    for a, b in itertools.combinations(ids, 2):
        for (pa, ra), (pb, rb) in itertools.product(lines[a], lines[b]):
            if len(pa) == 0 or len(pb) == 0:
                continue
            dist, j = cKDTree(pb).query(pa)
            overlap = (ra + rb[j]) - dist
            if overlap.max() > TOLERANCE_MM + 0.5:  # 1 mm sampling of the centre lines
                problems.append(f"{a} x {b}: {overlap.max():.1f} mm")
    assert not problems, "; ".join(problems)
