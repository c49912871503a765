"""Tubes as exact capsule chains: how deep a sinking pad must go to touch one, and how far it is.

Every nerve, artery and vein is stored with its centre line and radii; consecutive centre-line
points make a segment, and the segment swept by a sphere of the mean of its two radii makes a
capsule.  Two questions are asked of the capsules of many structures at once:

* **distance**: from a point to each structure's surface, ``min |p - segment| - rho``;
* **depth**: a sphere of radius ``r`` (the thumb pad) touching the skin at ``p`` from outside
  sinks along the inward axis ``u``; how far (``s >= 0``) until it first touches the structure?
  That is the first hit of the ray ``p - r u + s u`` on the capsule grown by ``r`` (0 when the
  pad already overlaps it).

The kernels are compiled with numba (cached in the user cache directory, see
:mod:`handatlas.lookup.jit`) and checked against the plain numpy references
:func:`distance_reference` and :func:`depth_reference`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from handatlas.lookup.jit import njit, prange

NO_HIT = np.inf


@dataclass(frozen=True, eq=False)
class CapsuleSet:
    """The capsules of several tube structures.

    Attributes
    ----------
    ids : tuple of str
        Structure ids, indexed by ``owner``.
    a, b : (m, 3) float64
        Segment ends.
    radius : (m,) float64
        Capsule radius of each segment.
    owner : (m,) int64
        Index into ``ids`` of each segment's structure.
    """

    ids: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    radius: np.ndarray
    owner: np.ndarray

    @classmethod
    def from_polylines(cls, polylines: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> CapsuleSet:
        """Build from ``{id: [(points (k, 3), radii (k,)), ...]}`` (several paths per id allowed).

        Examples
        --------
        >>> line = np.array([[0.0, 0, 0], [0, 10, 0], [0, 20, 0]])
        >>> caps = CapsuleSet.from_polylines({"nerve": [(line, np.array([1.0, 1.0, 0.5]))]})
        >>> caps.radius.tolist()
        [1.0, 0.75]
        """
        ids = tuple(polylines)
        a, b, radius, owner = [], [], [], []
        for i, sid in enumerate(ids):
            for points, radii in polylines[sid]:
                pts = np.asarray(points, dtype=np.float64)
                rad = np.asarray(radii, dtype=np.float64)
                a.append(pts[:-1])
                b.append(pts[1:])
                radius.append((rad[:-1] + rad[1:]) / 2)
                owner.append(np.full(len(pts) - 1, i, dtype=np.int64))
        return cls(ids, np.vstack(a), np.vstack(b), np.concatenate(radius), np.concatenate(owner))

    def __len__(self) -> int:
        return len(self.radius)

    @cached_property
    def mid(self) -> np.ndarray:
        """(m, 3) segment midpoints."""
        return (self.a + self.b) / 2

    @cached_property
    def half(self) -> np.ndarray:
        """(m,) half segment lengths."""
        return np.linalg.norm(self.b - self.a, axis=1) / 2


# ----------------------------------------------------------------------------- compiled kernels
@njit
def _segment_distance(px, py, pz, a, b):
    """Distance from a point to segment ``a``-``b``."""
    ux, uy, uz = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    wx, wy, wz = px - a[0], py - a[1], pz - a[2]
    uu = ux * ux + uy * uy + uz * uz
    t = 0.0
    if uu > 0.0:
        t = (wx * ux + wy * uy + wz * uz) / uu
        t = min(max(t, 0.0), 1.0)
    dx, dy, dz = wx - t * ux, wy - t * uy, wz - t * uz
    return np.sqrt(dx * dx + dy * dy + dz * dz)


@njit
def _sphere_hit(ox, oy, oz, dx, dy, dz, cx, cy, cz, r):
    """First t >= 0 at which the ray o + t d (unit d) is within r of point c; inf if never."""
    qx, qy, qz = ox - cx, oy - cy, oz - cz
    c = qx * qx + qy * qy + qz * qz - r * r
    if c <= 0.0:
        return 0.0
    b = qx * dx + qy * dy + qz * dz
    if b >= 0.0:
        return np.inf
    h = b * b - c
    if h < 0.0:
        return np.inf
    return -b - np.sqrt(h)


@njit
def _capsule_hit(ox, oy, oz, dx, dy, dz, a, b, r):
    """First t >= 0 at which the ray o + t d (unit d) enters the capsule a-b of radius r."""
    if _segment_distance(ox, oy, oz, a, b) <= r:
        return 0.0
    bax, bay, baz = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    oax, oay, oaz = ox - a[0], oy - a[1], oz - a[2]
    baba = bax * bax + bay * bay + baz * baz
    bard = bax * dx + bay * dy + baz * dz
    baoa = bax * oax + bay * oay + baz * oaz
    rdoa = dx * oax + dy * oay + dz * oaz
    oaoa = oax * oax + oay * oay + oaz * oaz
    best = np.inf
    qa = baba - bard * bard
    if qa > 1e-12 * baba:  # the cylinder's side, where the ray is not parallel to it
        qb = baba * rdoa - baoa * bard
        qc = baba * oaoa - baoa * baoa - r * r * baba
        h = qb * qb - qa * qc
        if h >= 0.0:
            t = (-qb - np.sqrt(h)) / qa
            y = baoa + t * bard
            if t >= 0.0 and 0.0 < y < baba:
                best = t
    best = min(best, _sphere_hit(ox, oy, oz, dx, dy, dz, a[0], a[1], a[2], r))
    best = min(best, _sphere_hit(ox, oy, oz, dx, dy, dz, b[0], b[1], b[2], r))
    return best


@njit
def _press_one(i, points, directions, pad, max_depth, a, b, radius, owner, mid, half, depth, distance, first):
    """Fill row ``i`` of depth, distance and first-touched segment for one press.

    ``distance`` is filled only where ``distance[i, 0]`` is not NaN on entry (the caller asks).
    """
    px, py, pz = points[i, 0], points[i, 1], points[i, 2]
    dx, dy, dz = directions[i, 0], directions[i, 1], directions[i, 2]
    ox, oy, oz = px - pad * dx, py - pad * dy, pz - pad * dz
    reach = max_depth + 2.0 * pad  # no touched surface point lies further than this from p
    want_distance = not np.isnan(distance[i, 0])
    for j in range(a.shape[0]):
        k = owner[j]
        if want_distance:
            ex, ey, ez = mid[j, 0] - px, mid[j, 1] - py, mid[j, 2] - pz
            limit = reach + half[j] + radius[j]
            if ex * ex + ey * ey + ez * ez <= limit * limit:
                dist = _segment_distance(px, py, pz, a[j], b[j]) - radius[j]
                distance[i, k] = min(distance[i, k], dist)
        # the pad's centre sweeps o .. o + max_depth d; a segment whose midpoint is further from
        # that sweep than pad + radius + half its length cannot be touched
        ex, ey, ez = mid[j, 0] - ox, mid[j, 1] - oy, mid[j, 2] - oz
        s = min(max(ex * dx + ey * dy + ez * dz, 0.0), max_depth)
        fx, fy, fz = ex - s * dx, ey - s * dy, ez - s * dz
        limit = pad + half[j] + radius[j]
        if fx * fx + fy * fy + fz * fz > limit * limit:
            continue
        t = _capsule_hit(ox, oy, oz, dx, dy, dz, a[j], b[j], radius[j] + pad)
        if t < depth[i, k]:
            depth[i, k] = t
            first[i, k] = j


@njit
def _press_serial(points, directions, pad, max_depth, a, b, radius, owner, mid, half, out0, out1, out2):
    for i in range(points.shape[0]):
        _press_one(i, points, directions, pad, max_depth, a, b, radius, owner, mid, half, out0, out1, out2)


@njit(parallel=True)
def _press_parallel(points, directions, pad, max_depth, a, b, radius, owner, mid, half, out0, out1, out2):
    for i in prange(points.shape[0]):
        _press_one(i, points, directions, pad, max_depth, a, b, radius, owner, mid, half, out0, out1, out2)


#: Below this many presses the serial kernel is faster than starting threads.
PARALLEL_FROM = 64


def press_capsules(
    capsules: CapsuleSet,
    points: np.ndarray,
    directions: np.ndarray,
    *,
    pad_mm: float,
    max_depth_mm: float,
    with_distance: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sinking depth and surface distance of every capsule structure, for every press.

    Parameters
    ----------
    capsules
        The structures.
    points : (n, 3) float
        Contact points on the skin.
    directions : (n, 3) float
        Unit inward axes.
    pad_mm : float
        Radius of the pad sphere.
    max_depth_mm : float
        How far the pad sinks at most; structures it cannot touch within that depth report
        ``inf`` depth.
    with_distance : bool
        Also compute surface distances (exact for every structure the pad touches; ``inf``
        for structures further than ``max_depth_mm + 2 * pad_mm``); ``NaN`` when False.

    Returns
    -------
    depth, distance : (n, k) float
        ``depth[i, j]``: how far press ``i``'s pad sinks before touching structure ``j``;
        ``distance[i, j]``: from contact point ``i`` to the surface of structure ``j``.
    segment : (n, k) int
        The segment the pad touches first (-1 where it touches none).
    """
    pts = np.ascontiguousarray(points, dtype=np.float64)
    dirs = np.ascontiguousarray(directions, dtype=np.float64)
    shape = (len(pts), len(capsules.ids))
    depth, distance = np.full(shape, np.inf), np.full(shape, np.inf if with_distance else np.nan)
    first = np.full(shape, -1, dtype=np.int64)
    kernel = _press_parallel if len(pts) >= PARALLEL_FROM else _press_serial
    kernel(pts, dirs, float(pad_mm), float(max_depth_mm), capsules.a, capsules.b, capsules.radius,
           capsules.owner, capsules.mid, capsules.half, depth, distance, first)
    return depth, distance, first


def touch_points(capsules: CapsuleSet, centres: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Where a pad centred at ``centres[i]`` touches the capsule of segment ``segments[i]``.

    Parameters
    ----------
    centres : (n, 3) float
    segments : (n,) int

    Returns
    -------
    (n, 3) float
        The point of each capsule's surface nearest to its centre.
    """
    a, b, rad = capsules.a[segments], capsules.b[segments], capsules.radius[segments]
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", centres - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-18),
                0.0, 1.0)
    foot = a + t[:, None] * ab
    towards = centres - foot
    length = np.linalg.norm(towards, axis=1, keepdims=True)
    return foot + rad[:, None] * towards / np.maximum(length, 1e-12)


# ----------------------------------------------------------------------------- references
def _gaps(capsules: CapsuleSet, centres: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """(len(centres), len(segments)): distance from each centre to each capsule's surface."""
    a, b, rad = capsules.a[segments], capsules.b[segments], capsules.radius[segments]
    ab = b - a
    rel = centres[:, None, :] - a[None, :, :]
    t = np.clip(np.einsum("smk,mk->sm", rel, ab) / np.maximum(np.einsum("mk,mk->m", ab, ab), 1e-18), 0.0, 1.0)
    return np.linalg.norm(rel - t[..., None] * ab[None], axis=2) - rad[None, :]


def distance_reference(capsules: CapsuleSet, point: np.ndarray) -> np.ndarray:
    """Plain numpy, every segment: distance from one point to every structure's surface."""
    gap = _gaps(capsules, np.asarray(point, float)[None], np.arange(len(capsules)))[0]
    out = np.full(len(capsules.ids), np.inf)
    np.minimum.at(out, capsules.owner, gap)
    return out


def depth_reference(
    capsules: CapsuleSet,
    point: np.ndarray,
    direction: np.ndarray,
    *,
    pad_mm: float,
    max_depth: float,
    step: float = 0.05,
    graze_mm: float = 0.02,
) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy: sink the pad in small steps, then refine the first contact by bisection.

    Returns
    -------
    depth : (k,) float
        First contact depth, ``inf`` for structures not touched within ``max_depth``.
    grazed : (k,) bool
        Structures whose closest approach along the sweep is within ``graze_mm`` of touching
        (where a grid can disagree with an exact solver about touch / no touch).
    """
    point, direction = np.asarray(point, float), np.asarray(direction, float)
    start = point - pad_mm * direction
    sinks = np.arange(0.0, max_depth + step, step)
    centres = start + sinks[:, None] * direction
    depth = np.full(len(capsules.ids), np.inf)
    grazed = np.zeros(len(capsules.ids), bool)
    # a structure further from the contact point than the pad can ever reach is not touched
    within = distance_reference(capsules, point) <= max_depth + 2 * pad_mm + graze_mm
    for k in np.flatnonzero(within):
        mine = np.flatnonzero(capsules.owner == k)
        gap = _gaps(capsules, centres, mine).min(axis=1) - pad_mm
        if gap.min() > 0:
            grazed[k] = gap.min() <= graze_mm
            continue
        first = int(np.argmax(gap <= 0))
        if first == 0:
            depth[k] = 0.0
            continue
        lo, hi = sinks[first - 1], sinks[first]
        for _ in range(24):
            mid = (lo + hi) / 2
            if _gaps(capsules, (start + mid * direction)[None], mine).min() - pad_mm <= 0:
                hi = mid
            else:
                lo = mid
        depth[k] = hi
        grazed[k] = hi > max_depth - step
    return depth, grazed
