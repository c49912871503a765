"""Smooth paths and watertight tubes: the geometry of nerves, vessels and tendons.

Paths are centripetal Catmull-Rom curves through control points (a global spline overshoots
into loops), resampled at a fixed arc-length step; tubes are swept along them with
parallel-transport frames and closed with flat caps, so they are watertight by construction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import trimesh

from handatlas.build.digits import unit
from handatlas.lookup.surface import SurfaceQuery

STEP_MM = 1.0
SIDES = 12


def catmull_rom(points: np.ndarray, *, step: float = STEP_MM) -> np.ndarray:
    """A centripetal Catmull-Rom curve through ``points``, resampled every ``step`` mm.

    Parameters
    ----------
    points : (n, 3) float
        Control points, n >= 2; consecutive duplicates are dropped.
    step : float
        Arc-length spacing of the output.

    Returns
    -------
    (k, 3) float
        Starts at the first control point and ends at the last.
    """
    pts = np.asarray(points, dtype=float)
    keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-6])
    pts = pts[keep]
    if len(pts) < 2:
        msg = "a path needs at least two distinct points"
        raise ValueError(msg)
    ext = np.vstack([2 * pts[0] - pts[1], pts, 2 * pts[-1] - pts[-2]])
    dense: list[np.ndarray] = []
    for i in range(len(pts) - 1):
        p0, p1, p2, p3 = ext[i : i + 4]
        t0 = 0.0
        t1 = t0 + np.linalg.norm(p1 - p0) ** 0.5
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5
        n = max(8, int(np.ceil(np.linalg.norm(p2 - p1) / step * 4)))
        t = np.linspace(t1, t2, n, endpoint=i == len(pts) - 2)[:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        dense.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    curve = np.vstack(dense)
    return resample(curve, step=step)


def resample(curve: np.ndarray, *, step: float = STEP_MM) -> np.ndarray:
    """Resample a polyline at (nearly) equal arc-length spacing, keeping both ends."""
    seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(np.ceil(s[-1] / step)) + 1)
    target = np.linspace(0.0, s[-1], n)
    return np.column_stack([np.interp(target, s, curve[:, k]) for k in range(3)])


def along_control(control: np.ndarray, curve: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values given at the control points of a curve, spread linearly along its samples.

    Parameters
    ----------
    control : (n, 3) float
        The control points the curve passes through (:func:`catmull_rom`), in order.
    curve : (k, 3) float
        The curve's samples.
    values : (n,) float
        One value per control point.

    Returns
    -------
    (k,) float
        Each sample's value, linear in sample index between the samples nearest the control
        points (constant before the first and after the last).

    Examples
    --------
    >>> line = catmull_rom(np.array([[0.0, 0, 0], [0, 4, 0], [0, 8, 0]]))
    >>> along_control(np.array([[0.0, 0, 0], [0, 4, 0], [0, 8, 0]]), line, np.array([1.0, 3.0, 3.0]))
    array([1. , 1.5, 2. , 2.5, 3. , 3. , 3. , 3. , 3. ])
    """
    control = np.asarray(control, dtype=float)
    curve = np.asarray(curve, dtype=float)
    nearest = np.array([int(np.argmin(np.linalg.norm(curve - point, axis=1))) for point in control])
    nearest = np.maximum.accumulate(nearest)
    return np.interp(np.arange(len(curve)), nearest, np.asarray(values, dtype=float))


def interpolate_radii(radii: float | list[float], count: int) -> np.ndarray:
    """Radii along a path: a constant, or values spread evenly from start to end."""
    values = np.atleast_1d(np.asarray(radii, dtype=float))
    if values.size == 1:
        return np.full(count, values[0])
    return np.interp(np.linspace(0.0, 1.0, count), np.linspace(0.0, 1.0, values.size), values)


def _frames(curve: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tangents = np.gradient(curve, axis=0)
    tangents /= np.maximum(np.linalg.norm(tangents, axis=1, keepdims=True), 1e-12)
    normal = np.cross(tangents[0], [0.0, 0.0, 1.0])
    if np.linalg.norm(normal) < 1e-3:
        normal = np.cross(tangents[0], [1.0, 0.0, 0.0])
    normal = unit(normal)
    normals = np.empty_like(curve)
    for i, tangent in enumerate(tangents):
        projected = normal - tangent * (normal @ tangent)
        if np.linalg.norm(projected) < 1e-6:  # the curve turned onto the normal: keep the binormal side
            projected = np.cross(np.cross(tangent, normal), tangent)
            if np.linalg.norm(projected) < 1e-6:
                projected = np.cross(tangent, [0.0, 0.0, 1.0] if abs(tangent[2]) < 0.9 else [1.0, 0.0, 0.0])
        normal = unit(projected)
        normals[i] = normal
    binormals = np.cross(tangents, normals)
    return tangents, normals, binormals


def sweep_tube(curve: np.ndarray, radii: np.ndarray, *, sides: int = SIDES) -> trimesh.Trimesh:
    """A closed tube of circular cross-section along ``curve``.

    Parameters
    ----------
    curve : (k, 3) float
        Centreline.
    radii : (k,) float
        Radius at each centreline point.
    sides : int
        Vertices around each ring.

    Returns
    -------
    trimesh.Trimesh
        Watertight, outward-facing.
    """
    k = len(curve)
    _, normals, binormals = _frames(curve)
    angle = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    cos, sin = np.cos(angle)[None, :, None], np.sin(angle)[None, :, None]
    ring = cos * normals[:, None, :] + sin * binormals[:, None, :]
    verts = curve[:, None, :] + radii[:, None, None] * ring
    verts = verts.reshape(-1, 3)
    i = np.arange(k - 1)[:, None] * sides
    j = np.arange(sides)[None, :]
    a, b = i + j, i + (j + 1) % sides
    c, d = a + sides, b + sides
    side_faces = np.concatenate([np.stack([a, b, d], -1), np.stack([a, d, c], -1)]).reshape(-1, 3)
    start, end = len(verts), len(verts) + 1
    verts = np.vstack([verts, curve[0], curve[-1]])
    cap0 = np.column_stack([np.full(sides, start), (j[0] + 1) % sides, j[0]])
    last = (k - 1) * sides
    cap1 = np.column_stack([np.full(sides, end), last + j[0], last + (j[0] + 1) % sides])
    mesh = trimesh.Trimesh(verts, np.vstack([side_faces, cap0, cap1]), process=False)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


#: Gap kept between a tube's surface and any bone (mm).
BONE_CLEARANCE_MM = 0.4


def keep_clear(
    curve: np.ndarray,
    radii: np.ndarray,
    *,
    skin: trimesh.Trimesh,
    bones: SurfaceQuery,
    skin_margin: float | np.ndarray,
    bone_clearance: float = BONE_CLEARANCE_MM,
    rounds: int = 6,
) -> np.ndarray:
    """Keep a tube between the bones and the skin: out of every bone by ``bone_clearance`` and
    at least ``skin_margin`` under the skin (surface to surface; one value or one per point).

    Points inside the bone margin move out along the bone's surface normal, then points too
    close to the skin move in along the skin's; a few rounds settle points squeezed between.
    """
    out = np.array(curve, dtype=float)
    for _ in range(rounds):
        closest, faces = bones.closest(out)
        depth = bones.signed_distance(out, closest, faces)  # + inside a bone
        need = radii + bone_clearance
        bad = depth > -need + 1e-6
        if bad.any():
            out[bad] = closest[bad] + bones.face_normals[faces[bad]] * (need[bad] * 1.02)[:, None]
        moved = push_inside(out, radii, skin, margin=skin_margin, iterations=1)
        if not bad.any() and np.array_equal(moved, out):
            break
        out = moved
    return out


def push_inside(curve: np.ndarray, radii: np.ndarray, skin: trimesh.Trimesh, *,
                margin: float | np.ndarray = 1.0, iterations: int = 4) -> np.ndarray:
    """Move centreline points inward until each lies at least ``radius + margin`` under the skin.

    Parameters
    ----------
    curve : (k, 3) float
    radii : (k,) float
    skin
        Closed skin (outward normals).
    margin : float or (k,) float
        Minimum skin-to-surface distance, mm (one value or one per point).

    Returns
    -------
    (k, 3) float
        The corrected centreline; points already deep enough are unchanged.
    """
    out = np.array(curve, dtype=float)
    need = radii + margin
    query = trimesh.proximity.ProximityQuery(skin)
    for _ in range(iterations):
        depth = query.signed_distance(out)  # positive inside
        bad = depth < need - 1e-6
        if not bad.any():
            break
        closest, _, tri = query.on_surface(out[bad])
        out[bad] = closest - skin.face_normals[tri] * need[bad][:, None] * 1.05
    return out


#: A centreline may turn by at most this much over :data:`KINK_SPAN_MM` of its length (degrees);
#: :func:`unkink` aims a little lower so that rounding and later moves keep it under the limit
#: of ANATOMY.md (60 degrees over 3 mm).
KINK_DEG = 50.0
KINK_SPAN_MM = 3.0
#: How far either side of a kink :func:`unkink` smooths the centreline (mm of arc length).
KINK_REACH_MM = 4.0


def turn_angles(curve: np.ndarray, *, span: float = KINK_SPAN_MM, chord: float = 1.0,
                step: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """How sharply a centreline turns: the angle between its directions ``span`` mm apart.

    The curve is resampled every ``step`` mm; the direction at arc length s is that of the
    chord from s - chord/2 to s + chord/2, so a hairpin gives about 180 degrees and a smooth
    bend of radius R about ``degrees(span / R)``.

    Parameters
    ----------
    curve : (k, 3) float
        Centreline, k >= 2.
    span, chord, step : float
        Window, chord and resampling step, mm.

    Returns
    -------
    angles : (w,) float
        Turn of each window, degrees (empty if the curve is shorter than one window).
    starts : (w,) float
        Arc length at which each window begins, mm.

    Examples
    --------
    >>> angles, _ = turn_angles(np.array([[0, 0, 0], [0, 10, 0], [10, 10, 0.0]]))
    >>> round(float(angles.max()), 1)
    90.0
    """
    seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    samples = np.arange(0.0, arc[-1] + 1e-9, step)
    p = np.column_stack([np.interp(samples, arc, curve[:, k]) for k in range(3)])
    half, width = round(chord / 2 / step), round(span / step)
    if len(p) <= 2 * half + width:
        return np.zeros(0), np.zeros(0)
    tangent = p[2 * half:] - p[:-2 * half]
    tangent /= np.maximum(np.linalg.norm(tangent, axis=1), 1e-12)[:, None]
    cosine = np.clip(np.sum(tangent[:-width] * tangent[width:], axis=1), -1.0, 1.0)
    return np.degrees(np.arccos(cosine)), samples[: len(cosine)]


def unkink(curve: np.ndarray, radii: np.ndarray,
           clear: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], *,
           limit: float = KINK_DEG, span: float = KINK_SPAN_MM, reach: float = KINK_REACH_MM,
           rounds: int = 40) -> np.ndarray:
    """Smooth the sharp turns out of a centreline, only where it turns too sharply.

    Keeping a tube out of the bones moves each point to the nearest bone surface, so points
    beside a joint's concavity bunch up or step back, and an authored course that meets a bone
    head-on folds into a kink.  Each round finds the windows that turn more than ``limit``
    degrees over ``span`` mm (:func:`turn_angles`), smooths the points within ``reach`` mm of
    them (a binomial kernel, the ends fixed), spreads those points evenly along their stretch
    and hands the curve back to ``clear`` (the bone and skin constraint).  Points elsewhere
    never move, so a curve without kinks is returned unchanged.

    Parameters
    ----------
    curve : (k, 3) float
        Centreline.
    radii : (k,) float
        Radius at each point.
    clear : callable
        ``clear(points, radii, index) -> points``: the constraint, applied to the smoothed points
        only, ``index`` their positions in ``curve`` (for per-point margins; e.g. :func:`keep_clear`
        with the build's skin and bones).
    limit, span : float
        Largest acceptable turn (degrees) over ``span`` mm.
    reach : float
        Arc length smoothed either side of a kink, mm.
    rounds : int
        Upper bound on the rounds.

    Returns
    -------
    (k, 3) float
        The smoothed centreline (same number of points, same ends).
    """
    out = np.array(curve, dtype=float)
    radii = np.asarray(radii, dtype=float)
    if len(out) < 5:
        return out
    for _ in range(rounds):
        angles, starts = turn_angles(out, span=span)
        bad = angles > limit
        if not bad.any():
            break
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(out, axis=0), axis=1))])
        lo, hi = starts[bad] - reach, starts[bad] + span + reach
        region = np.any((arc[:, None] >= lo[None]) & (arc[:, None] <= hi[None]), axis=1)
        region[[0, -1]] = False
        moved = out.copy()
        for _ in range(4):
            moved[1:-1] = np.where(region[1:-1, None],
                                   0.25 * moved[:-2] + 0.5 * moved[1:-1] + 0.25 * moved[2:], moved[1:-1])
        moved = _even_stretches(moved, region)
        out[region] = clear(moved[region], radii[region], np.flatnonzero(region))
    return out


def _even_stretches(curve: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Spread the points of each run of ``region`` evenly along the curve between the run's
    fixed neighbours (bunched points are what a hairpin is made of)."""
    out = curve.copy()
    idx = np.flatnonzero(region)
    if len(idx) == 0:
        return out
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    for run in runs:
        a, b = run[0] - 1, run[-1] + 1
        piece = curve[a : b + 1]
        seg = np.linalg.norm(np.diff(piece, axis=0), axis=1)
        arc = np.concatenate([[0.0], np.cumsum(seg)])
        target = np.linspace(0.0, arc[-1], len(piece))
        out[a : b + 1] = np.column_stack([np.interp(target, arc, piece[:, k]) for k in range(3)])
    return out
