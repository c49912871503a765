"""Smooth paths and watertight tubes: the geometry of nerves, vessels and tendons.

Paths are centripetal Catmull-Rom curves through control points (a global spline overshoots
into loops), resampled at a fixed arc-length step; tubes are swept along them with
parallel-transport frames and closed with flat caps, so they are watertight by construction.
"""

from __future__ import annotations

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
