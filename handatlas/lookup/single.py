"""One press, compiled: the stress, pinning and shielding of every candidate structure in one call.

:func:`handatlas.lookup.press.assess` answers many presses with numpy around the compiled
kernels; for a single press the numpy calls (a few µs each, some forty of them) cost more than
the work.  :func:`assess_one` gives the same :class:`~handatlas.lookup.press.PressBatch` (one
row) with less of them: the stress kernel for the press, called directly
(:func:`handatlas.lookup.capsules._stress_one`); then one compiled call (:func:`_judge`) for the
structures the stress could flag: pinning by the one definition
(:func:`handatlas.lookup.pinning.pinned_against`'s, its rule functions called on scalars), the
levels (:func:`handatlas.lookup.model.level_codes`'s rule, :func:`_level`), and for those
flagged the shielding ray (:func:`~handatlas.lookup.pinning.shielding_ray`,
:func:`~handatlas.lookup.pinning.is_shielded`), the distance and the depth below the skin, the
rays through the compiled BVHs (:mod:`handatlas.lookup.bvh`).  A safe press's most loaded
structure is one more compiled call (:func:`most_loaded_one`).
``tests/test_press_fast_path.py`` compares this path with the batch path on Embree's rays, and
the most loaded structure with every structure's stress computed at once.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from handatlas.lookup import model
from handatlas.lookup.bvh import first_hit_scaled
from handatlas.lookup.capsules import _box_near, _stress_one, _structure_bounds, _structure_search, skin_depth
from handatlas.lookup.jit import njit
from handatlas.lookup.model import (
    AVOID,
    BOUND_STEP,
    CAUTION,
    CAUTION_FRACTION,
    COLUMN_MAX_MM,
    REFERENCE_FORCE_N,
    SAFE,
    TABLE_STEP,
    flag_floor_kpa,
    halfspace_table,
    influence_bound,
    influence_envelope,
    pressure_kpa,
    reach_terms,
    tissue_strain,
)
from handatlas.lookup.pinning import is_confined, is_pinned, is_shielded, shielding_ray

if TYPE_CHECKING:
    from handatlas.lookup.index import LookupIndex
    from handatlas.lookup.press import PressBatch


@njit
def _stress(points, directions, pad, strain, prune_strain, columns, sheet_depth, sheet_factor, reaches,
            geometry, table, step, envelope, need, flag_need, flag_reach, pressure):
    """The stress kernel's row for press 0 (:func:`handatlas.lookup.capsules.stress_capsules`)."""
    k = flag_need.shape[0]
    rank, load = np.zeros((1, k)), np.zeros((1, k))
    segment = np.full((1, k), -1, dtype=np.int64)
    param, depth, offset = np.zeros((1, k)), np.full((1, k), np.inf), np.full((1, k), np.inf)
    factor = np.ones((1, k))
    _stress_one(0, points, directions, pad, strain, prune_strain, columns, sheet_depth, sheet_factor,
                reaches, *geometry, table, step, envelope, need, flag_need, flag_reach, rank, load, segment,
                param, depth, offset, factor)
    return pressure * load, depth, offset, segment, param


@njit
def _centre(a, b, j, t):
    """The centre-line point at ``t`` along segment ``j`` (as
    :func:`handatlas.lookup.capsules.critical_points`)."""
    return (a[j, 0] + t * (b[j, 0] - a[j, 0]), a[j, 1] + t * (b[j, 1] - a[j, 1]),
            a[j, 2] + t * (b[j, 2] - a[j, 2]))


@njit
def _is_pinned(px, py, pz, dx, dy, dz, cx, cy, cz, rad, backing, roofs, has_roofs, bones, gap_mm, canal_mm):
    """Whether a structure whose critical point's centre is ``c`` (capsule radius ``rad``) is pinned
    (:func:`~handatlas.lookup.pinning.pinned_against` on scalars:
    :func:`~handatlas.lookup.pinning.is_pinned`, then :func:`~handatlas.lookup.pinning.is_confined`)."""
    if is_pinned(first_hit_scaled(cx, cy, cz, dx, dy, dz, backing), rad, gap_mm):
        return True
    if not has_roofs:
        return False
    depth = (cx - px) * dx + (cy - py) * dy + (cz - pz) * dz
    roof = first_hit_scaled(cx, cy, cz, -dx, -dy, -dz, roofs)
    return roof < depth and is_confined(roof, depth, first_hit_scaled(cx, cy, cz, dx, dy, dz, bones), rad,
                                        canal_mm)


@njit
def _level(stress, tolerance, can_avoid, caution_fraction):
    """:func:`~handatlas.lookup.model.level_codes` of one structure."""
    if stress > tolerance and can_avoid:
        return AVOID
    return CAUTION if stress > caution_fraction * tolerance else SAFE


@njit
def _judge(point, direction, stress, segment, param, plane, a, b, radius, bounds, flag_floor, tolerance,
           pinned_tolerance, can_avoid, caution_fraction, backing, roofs, has_roofs, bones, gap_mm, canal_mm,
           shield_mm, skin):
    """What a press's stresses mean for each structure: ``(pinned, level, shielded, distance, below)``.

    Bone behind is looked for where the stress could flag a structure (above its ``flag_floor``),
    as :func:`~handatlas.lookup.press.assess` does; then come its tolerance and level
    (:func:`_level`), and for each structure flagged, whether bone shields it, the distance from the
    contact to its surface (as :func:`handatlas.lookup.capsules.surface_distances`) and its depth
    below the skin (:func:`handatlas.lookup.capsules.skin_depths`); ``nan`` for the others.
    """
    k = stress.shape[1]
    px, py, pz = point[0], point[1], point[2]
    dx, dy, dz = direction[0], direction[1], direction[2]
    pinned = np.zeros((1, k), dtype=np.bool_)
    level = np.zeros((1, k), dtype=np.int8)
    shield = np.zeros((1, k), dtype=np.bool_)
    distance = np.full((1, k), np.nan)
    below = np.full((1, k), np.nan)
    for s in range(k):
        if not stress[0, s] > flag_floor[s]:
            continue
        j = segment[0, s]
        cx, cy, cz = _centre(a, b, j, param[0, s])
        rad = radius[j]
        pinned[0, s] = _is_pinned(px, py, pz, dx, dy, dz, cx, cy, cz, rad, backing, roofs, has_roofs, bones,
                                  gap_mm, canal_mm)
        limit = pinned_tolerance[s] if pinned[0, s] else tolerance[s]
        level[0, s] = _level(stress[0, s], limit, can_avoid[s], caution_fraction)
        if level[0, s] == SAFE:
            continue
        ox, oy, oz, ux, uy, uz, length = shielding_ray(px, py, pz, cx, cy, cz)
        shield[0, s] = is_shielded(first_hit_scaled(ox, oy, oz, ux, uy, uz, bones), length, rad, shield_mm)
        best = np.inf
        for m in range(bounds[s], bounds[s + 1]):
            vx, vy, vz = b[m, 0] - a[m, 0], b[m, 1] - a[m, 1], b[m, 2] - a[m, 2]
            rx, ry, rz = px - a[m, 0], py - a[m, 1], pz - a[m, 2]
            q = (rx * vx + ry * vy + rz * vz) / max(vx * vx + vy * vy + vz * vz, 1e-18)
            q = min(max(q, 0.0), 1.0)
            qx, qy, qz = rx - q * vx, ry - q * vy, rz - q * vz
            best = min(best, np.sqrt(qx * qx + qy * qy + qz * qz) - radius[m])
        distance[0, s] = best
        below[0, s] = skin_depth(px, py, pz, dx, dy, dz, cx, cy, cz, rad, plane[0, s], skin)
    return pinned, level, shield, distance, below


@njit
def _bound_at(bound, step, distance):
    """:func:`~handatlas.lookup.model.influence_bound` at ``distance`` pad radii or more (the point load
    beyond it)."""
    i = int(distance / step)
    return bound[i] if i < bound.shape[0] else 1.5 / (distance * distance)


@njit
def _most_loaded(point, direction, pad, strain, column, sheet_depth, sheet_factor, a, b, radius, owner, mid,
                 half, chunks, chord_start, chord_end, chord_slack, chord_radius, structure_chunks, box_low,
                 box_high, box_margin, table, step, envelope, bound_table, bound_step, pressure, tolerance,
                 worth, checks, tolerance_mm, bones, skin):
    """Of the ``checks`` structures with the highest stress over ``tolerance`` (and at least ``worth``
    kPa), the first with no bone between the contact and its critical point: ``(k, stress, depth
    below the skin)``, or ``(-1, nan, nan)`` when there is none.

    Every structure's stress, as :func:`~handatlas.lookup.capsules.stress_capsules` gives it with no
    reach and no floor, by branch and bound across the structures: its box bounds its stress over
    tolerance (no sample lies nearer than the box less its margin, nor nearer once the column has
    compressed than :func:`~handatlas.lookup.model.reach_mm` allows; ``bound_table``, the
    :func:`~handatlas.lookup.model.influence_bound`), then its chunks do
    (:func:`~handatlas.lookup.capsules._structure_bounds`), and it is searched
    (:func:`~handatlas.lookup.capsules._structure_search`) only when both could beat the best found.
    Ties go to the structure that comes first, as a stable sort by falling stress over tolerance
    has them.
    """
    px, py, pz = point[0, 0], point[0, 1], point[0, 2]
    dx, dy, dz = direction[0, 0], direction[0, 1], direction[0, 2]
    n = tolerance.shape[0]
    rank, load = np.zeros((1, n)), np.zeros((1, n))
    segment = np.full((1, n), -1, dtype=np.int64)
    param, depth, offset = np.zeros((1, n)), np.full((1, n), np.inf), np.full((1, n), np.inf)
    factor = np.ones((1, n))
    near = np.zeros(chord_slack.shape[0])  # no reach: every chunk is near enough
    bound = np.full(chord_slack.shape[0], -1.0)
    # bounds of each structure's stress over tolerance: from its box, then (when looked at) its chunks;
    # -1 where it cannot reach worth
    boxed = np.empty(n)
    for k in range(n):
        far = max(_box_near(k, px, py, pz, box_low, box_high, box_margin), 0.0)
        squeezed = max(far * (1.0 - strain), far - strain * column)
        most = pressure * _bound_at(bound_table, bound_step, squeezed / pad)
        boxed[k] = most / tolerance[k] if most >= worth else -1.0
    order = np.argsort(-boxed, kind="mergesort")
    chunked = np.full(n, np.nan)
    best_chunk = np.full(n, -1, dtype=np.int64)
    searched = np.zeros(n, dtype=np.bool_)
    passed = np.zeros(n, dtype=np.bool_)  # below worth, or behind bone
    for _ in range(checks):
        top, top_ratio = -1, -1.0
        for k in order:
            if boxed[k] < 0.0 or boxed[k] < top_ratio:
                break
            if passed[k]:
                continue
            if np.isnan(chunked[k]):
                best_chunk[k], loaded = _structure_bounds(
                    k, px, py, pz, dx, dy, dz, pad, column, np.inf, strain, 0.0, strain, True,
                    structure_chunks, chord_start, chord_end, chord_slack, chord_radius, envelope, step, near,
                    bound)
                ok = best_chunk[k] >= 0 and pressure * loaded >= worth
                chunked[k] = pressure * loaded / tolerance[k] if ok else -1.0
            if chunked[k] < 0.0 or chunked[k] < top_ratio:
                continue
            if not searched[k]:
                _structure_search(0, k, best_chunk[k], px, py, pz, dx, dy, dz, pad, strain, strain, column,
                                  np.inf, sheet_depth, sheet_factor, a, b, radius, owner, mid, half, chunks,
                                  structure_chunks, bound, table, step, envelope, 0.0, rank, load, segment,
                                  param, depth, offset, factor)
                searched[k] = True
            stress = pressure * load[0, k]
            if stress < worth:
                passed[k] = True
                continue
            ratio = stress / tolerance[k]
            if ratio > top_ratio or (ratio == top_ratio and k < top):
                top, top_ratio = k, ratio
        if top < 0:
            break
        j = segment[0, top]
        cx, cy, cz = _centre(a, b, j, param[0, top])
        ox, oy, oz, ux, uy, uz, length = shielding_ray(px, py, pz, cx, cy, cz)
        if not is_shielded(first_hit_scaled(ox, oy, oz, ux, uy, uz, bones), length, radius[j], tolerance_mm):
            return top, pressure * load[0, top], skin_depth(px, py, pz, dx, dy, dz, cx, cy, cz, radius[j],
                                                            depth[0, top], skin)
        passed[top] = True
    return -1, np.nan, np.nan


@functools.lru_cache(maxsize=64)
def _reach_terms(index: LookupIndex, pressure: float, radius_mm: float, strain: float, reference: float,
                 reference_strain: float) -> tuple[tuple[float, float], tuple[np.ndarray, np.ndarray]]:
    """What a single press's reaches are made of, per load and pad (a few per process):
    :func:`~handatlas.lookup.model.reach_mm` is ``min(far, near + strain * column)``; ``(far, near)``
    of the reference force at the lowest flagging floor, and of this press at each structure's own
    floor (as :func:`handatlas.lookup.press._flag_reach`)."""
    far, near = reach_terms(reference, radius_mm, reference_strain)
    floors, which = index.flag_floors
    flag_far, flag_near = reach_terms(pressure, radius_mm, strain, floor_kpa=floors)
    return (float(far), float(near)), (flag_far[which], flag_near[which])


def assess_one(index: LookupIndex, point: np.ndarray, direction: np.ndarray, column: float,
               sheets: np.ndarray, *, force_n: float, radius_mm: float) -> PressBatch:
    """:func:`handatlas.lookup.press.assess` for one press (``with_distance``), in one compiled call.

    Parameters
    ----------
    point, direction : (3,) float
        The contact point and the unit inward axis.
    column
        Soft tissue above the first bone on the axis (capped).
    sheets : (s,) float
        Mid-depth of each fascial sheet on the axis.
    """
    from handatlas.lookup import pinning
    from handatlas.lookup.press import PressBatch

    caps = index.capsules
    points = np.ascontiguousarray(point, dtype=np.float64).reshape(1, 3)
    directions = np.ascontiguousarray(direction, dtype=np.float64).reshape(1, 3)
    columns = np.array([column], dtype=np.float64)
    pressure = pressure_kpa(force_n, radius_mm)
    strain = float(tissue_strain(pressure))
    reference = pressure_kpa(max(force_n, REFERENCE_FORCE_N), radius_mm)
    reference_strain = float(tissue_strain(reference))
    (reach_far, reach_near), (flag_far, flag_near) = _reach_terms(index, pressure, float(radius_mm), strain,
                                                                  reference, reference_strain)
    column = min(float(column), COLUMN_MAX_MM)
    stress, depth, offset, segment, param = _stress(
        points, directions, float(radius_mm), strain, reference_strain, columns,
        np.ascontiguousarray(sheets, dtype=np.float64).reshape(1, -1), index.sheet_factor,
        np.array([min(reach_far, reach_near + reference_strain * column)]),
        caps.kernel_geometry, halfspace_table(), TABLE_STEP, influence_envelope(),
        flag_floor_kpa() / reference, index.flag_floor / pressure,
        np.minimum(flag_far, flag_near + strain * column)[None, :], pressure)
    roofs = index.bones if index.roofs is None else index.roofs  # (not looked at without roofs)
    pinned, level, shield, distance, below = _judge(
        points[0], directions[0], stress, segment, param, depth, caps.a, caps.b, caps.radius,
        caps.structure_bounds, index.flag_floor, index.tolerance, index.pinned_tolerance, index.can_avoid,
        CAUTION_FRACTION, index.backing.tree, roofs.tree, index.roofs is not None, index.bones.tree,
        pinning.pinned_gap_mm(), float(model.CANAL_DEPTH_MM), float(pinning.SHIELD_TOLERANCE_MM),
        index.skin_rays.tree)
    flagged = level > SAFE
    shielded = flagged & shield
    at_risk = flagged & ~shield
    verdict = np.array([level[at_risk].max(initial=SAFE)], dtype=np.int8)
    return PressBatch(caps.ids, points, directions, float(force_n), pressure, float(radius_mm), verdict,
                      stress, level, at_risk, shielded, pinned, depth, offset, distance, segment, param,
                      columns, strain * columns, np.asarray(sheets, dtype=np.float64).reshape(1, -1), below)


def most_loaded_one(index: LookupIndex, batch: PressBatch, *, checks: int, worth_kpa: float,
                    ) -> tuple[int, float, float] | None:
    """``(structure, stress kPa, depth below the skin mm)`` of a press's most loaded structure not
    behind bone (:func:`_most_loaded`: of the ``checks`` structures with the highest stress over
    tolerance and at least ``worth_kpa``, the first with no bone in between), or ``None``.

    ``batch`` is the press's own (one row): its contact, axis, column and sheets are used again.
    """
    from handatlas.lookup import pinning

    caps = index.capsules
    pressure = batch.pressure_kpa
    k, stress, depth = _most_loaded(
        batch.points, batch.directions, float(batch.radius_mm), float(tissue_strain(pressure)),
        float(batch.column[0]), np.ascontiguousarray(batch.sheet_depth, dtype=np.float64), index.sheet_factor,
        *caps.kernel_geometry, halfspace_table(), TABLE_STEP, influence_envelope(), influence_bound(),
        BOUND_STEP, pressure, index.tolerance, float(worth_kpa), int(checks),
        float(pinning.SHIELD_TOLERANCE_MM), index.bones.tree, index.skin_rays.tree)
    return None if k < 0 else (int(k), float(stress), float(depth))
