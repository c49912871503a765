"""Closest points on a triangle mesh (the skin), exact, with a KD-tree prefilter.

Let ``d`` be the distance from a point to the nearest mesh vertex: the closest point of the mesh
is no further than ``d``. A face whose vertices all lie within ``R`` of its centroid can only
hold that closest point if its centroid lies within ``d + R``; so a KD-tree over the centroids
of the faces with ``R`` up to a size class's bound gives every candidate among them, and the few
faces larger than every class (e.g. the forearm cap) are always searched. One class (``R <=
SMALL_FACE_MM``) suits meshes of even faces; a decimated skin, whose faces range from under 1 mm
to over 10 mm, is searched faster with several (:data:`SKIN_CLASSES_MM`). Candidates are
searched exactly by a compiled point-triangle kernel (Ericson, *Real-Time Collision Detection*,
5.1.5).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from handatlas.lookup.bvh import hierarchy
from handatlas.lookup.jit import njit

#: Faces with every vertex within this of their centroid go into the KD-tree (mm).
SMALL_FACE_MM = 8.0
#: Size classes for the skin (mm): a KD-tree each, searched within ``d`` plus the class's bound.
SKIN_CLASSES_MM = (1.5, 3.0, 6.0, 12.0)


@njit
def _closest_on_triangle(p, a, b, c):
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = ab @ ap, ac @ ap
    if d1 <= 0.0 and d2 <= 0.0:
        return a
    bp = p - b
    d3, d4 = ab @ bp, ac @ bp
    if d3 >= 0.0 and d4 <= d3:
        return b
    vc = d1 * d4 - d3 * d2
    if vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
        return a + ab * (d1 / (d1 - d3))
    cp = p - c
    d5, d6 = ab @ cp, ac @ cp
    if d6 >= 0.0 and d5 <= d6:
        return c
    vb = d5 * d2 - d1 * d6
    if vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
        return a + ac * (d2 / (d2 - d6))
    va = d3 * d6 - d5 * d4
    if va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
        return b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6)))
    denom = 1.0 / (va + vb + vc)
    return a + ab * (vb * denom) + ac * (vc * denom)


@njit
def _closest(points, vertices, faces, starts, candidates, big, out_point, out_face):
    """For each point, the closest point among its candidate faces and the big faces."""
    for i in range(points.shape[0]):
        best = np.inf
        n_small = starts[i + 1] - starts[i]
        for m in range(n_small + big.shape[0]):
            f = candidates[starts[i] + m] if m < n_small else big[m - n_small]
            q = _closest_on_triangle(points[i], vertices[faces[f, 0]], vertices[faces[f, 1]],
                                     vertices[faces[f, 2]])
            d = ((points[i] - q) ** 2).sum()
            if d < best:
                best = d
                out_point[i] = q
                out_face[i] = f


@njit
def _dot(ux, uy, uz, vx, vy, vz):
    return ux * vx + uy * vy + uz * vz


@njit
def _closest_on_face(p, vertices, faces, f):
    """The point of face ``f`` nearest to ``p`` and its squared distance, ``(qx, qy, qz, d)``: the
    steps of :func:`_closest_on_triangle` on scalars, so that the traversal of one press makes no
    array per triangle (it is not used by :func:`_closest`, the batch path the atlas's build
    runs: its rounding, a few ulps apart, moved rebuilt meshes by micrometres)."""
    a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
    px, py, pz = p[0], p[1], p[2]
    ax, ay, az = vertices[a, 0], vertices[a, 1], vertices[a, 2]
    bx, by, bz = vertices[b, 0], vertices[b, 1], vertices[b, 2]
    cx, cy, cz = vertices[c, 0], vertices[c, 1], vertices[c, 2]
    abx, aby, abz = bx - ax, by - ay, bz - az
    acx, acy, acz = cx - ax, cy - ay, cz - az
    d1 = _dot(abx, aby, abz, px - ax, py - ay, pz - az)
    d2 = _dot(acx, acy, acz, px - ax, py - ay, pz - az)
    d3 = _dot(abx, aby, abz, px - bx, py - by, pz - bz)
    d4 = _dot(acx, acy, acz, px - bx, py - by, pz - bz)
    d5 = _dot(abx, aby, abz, px - cx, py - cy, pz - cz)
    d6 = _dot(acx, acy, acz, px - cx, py - cy, pz - cz)
    vc, vb, va = d1 * d4 - d3 * d2, d5 * d2 - d1 * d6, d3 * d6 - d5 * d4
    if d1 <= 0.0 and d2 <= 0.0:
        qx, qy, qz = ax, ay, az
    elif d3 >= 0.0 and d4 <= d3:
        qx, qy, qz = bx, by, bz
    elif vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
        t = d1 / (d1 - d3)
        qx, qy, qz = ax + abx * t, ay + aby * t, az + abz * t
    elif d6 >= 0.0 and d5 <= d6:
        qx, qy, qz = cx, cy, cz
    elif vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
        t = d2 / (d2 - d6)
        qx, qy, qz = ax + acx * t, ay + acy * t, az + acz * t
    elif va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
        t = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        qx, qy, qz = bx + (cx - bx) * t, by + (cy - by) * t, bz + (cz - bz) * t
    else:
        denom = 1.0 / (va + vb + vc)
        v, w = vb * denom, vc * denom
        qx, qy, qz = ax + abx * v + acx * w, ay + aby * v + acy * w, az + abz * v + acz * w
    ex, ey, ez = px - qx, py - qy, pz - qz
    return qx, qy, qz, ex * ex + ey * ey + ez * ez


@njit
def _normals_at(vertices, faces, vertex_normals, points, face_ids, out):
    """Barycentric interpolation of the vertex normals at points on their faces, renormalised
    (barycentric coordinates by Cramer's rule, as ``trimesh.triangles.points_to_barycentric``)."""
    for i in range(points.shape[0]):
        f = face_ids[i]
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        e0 = vertices[b] - vertices[a]
        e1 = vertices[c] - vertices[a]
        w = points[i] - vertices[a]
        d00 = e0[0] * e0[0] + e0[1] * e0[1] + e0[2] * e0[2]
        d01 = e0[0] * e1[0] + e0[1] * e1[1] + e0[2] * e1[2]
        d02 = e0[0] * w[0] + e0[1] * w[1] + e0[2] * w[2]
        d11 = e1[0] * e1[0] + e1[1] * e1[1] + e1[2] * e1[2]
        d12 = e1[0] * w[0] + e1[1] * w[1] + e1[2] * w[2]
        inv = 1.0 / (d00 * d11 - d01 * d01)
        u2 = (d00 * d12 - d01 * d02) * inv
        u1 = (d11 * d02 - d01 * d12) * inv
        u0 = 1.0 - u1 - u2
        n = u0 * vertex_normals[a] + u1 * vertex_normals[b] + u2 * vertex_normals[c]
        out[i] = n / np.sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2])


@njit
def _box_gap(p, node_lo, node_hi, n):
    """Squared distance from ``p`` to the box of node ``n``."""
    gap = 0.0
    for axis in range(3):
        g = max(node_lo[n, axis] - p[axis], 0.0, p[axis] - node_hi[n, axis])
        gap += g * g
    return gap


@njit
def _push_nearer_last(stack, top, p, node_lo, node_hi, c):
    """Push the children ``c`` and ``c + 1`` of a node, the one nearer to ``p`` last (searched
    first); returns the new top of the stack."""
    if _box_gap(p, node_lo, node_hi, c) <= _box_gap(p, node_lo, node_hi, c + 1):
        stack[top], stack[top + 1] = c + 1, c
    else:
        stack[top], stack[top + 1] = c, c + 1
    return top + 2


@njit
def _closest_bvh(p, vertices, faces, order, node_lo, node_hi, node_left, node_start, node_count, out_point):
    """The face nearest to ``p`` (the lowest face index among equally near ones) through the BVH
    of :func:`handatlas.lookup.bvh.hierarchy`, its closest point into ``out_point``."""
    best, best_face = np.inf, -1
    stack = np.empty(96, dtype=np.int64)
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        n = stack[top]
        if _box_gap(p, node_lo, node_hi, n) > best:
            continue
        c = node_left[n]
        if c < 0:
            for m in range(node_start[n], node_start[n] + node_count[n]):
                f = order[m]
                qx, qy, qz, d = _closest_on_face(p, vertices, faces, f)
                if d < best or (d == best and f < best_face):
                    best, best_face = d, f
                    out_point[0], out_point[1], out_point[2] = qx, qy, qz
            continue
        top = _push_nearer_last(stack, top, p, node_lo, node_hi, c)
    return best_face


@njit
def _nearest_vertex_bvh(p, vertices, faces, order, node_lo, node_hi, node_left, node_start, node_count):
    """The mesh vertex nearest to ``p`` (the lowest index among equally near ones) through the BVH of
    the faces (every vertex of a closed mesh is a corner of a face inside its leaf's box)."""
    best, best_vertex = np.inf, -1
    stack = np.empty(96, dtype=np.int64)
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        n = stack[top]
        if _box_gap(p, node_lo, node_hi, n) > best:
            continue
        c = node_left[n]
        if c < 0:
            for m in range(node_start[n], node_start[n] + node_count[n]):
                for corner in range(3):
                    v = faces[order[m], corner]
                    ex, ey, ez = p[0] - vertices[v, 0], p[1] - vertices[v, 1], p[2] - vertices[v, 2]
                    d = ex * ex + ey * ey + ez * ez
                    if d < best or (d == best and v < best_vertex):
                        best, best_vertex = d, v
            continue
        top = _push_nearer_last(stack, top, p, node_lo, node_hi, c)
    return best_vertex


class SurfaceQuery:
    """Exact closest points and signed distances on a closed mesh.

    Parameters
    ----------
    mesh
        A closed triangle mesh with outward normals.
    classes_mm
        Increasing bounds of the face size classes (each with a KD-tree over its centroids);
        faces larger than the last are searched for every point.
    """

    def __init__(self, mesh: trimesh.Trimesh, *, classes_mm: tuple[float, ...] = (SMALL_FACE_MM,)) -> None:
        # plain arrays: trimesh re-hashes its arrays on every attribute access
        self.vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
        self.faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
        self.face_normals = np.asarray(mesh.face_normals, dtype=np.float64).copy()
        self.vertex_normals = np.asarray(mesh.vertex_normals, dtype=np.float64).copy()
        self.vertex_tree = cKDTree(self.vertices)
        centroids = self.vertices[self.faces].mean(axis=1)
        reach = np.linalg.norm(self.vertices[self.faces] - centroids[:, None, :], axis=2).max(axis=1)
        size = np.searchsorted(np.asarray(classes_mm), reach)  # class index; len(classes) = big
        self.classes = tuple(
            (bound, np.flatnonzero(size == c).astype(np.int64), cKDTree(centroids[size == c]))
            for c, bound in enumerate(classes_mm) if (size == c).any())
        self.big_faces = np.flatnonzero(size == len(classes_mm)).astype(np.int64)

    def closest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closest surface point ``(n, 3)`` and its face ``(n,)`` for each point."""
        points = np.ascontiguousarray(np.atleast_2d(points), dtype=np.float64)
        nearest, _ = self.vertex_tree.query(points)
        per_class = [(faces, tree.query_ball_point(points, nearest + bound + 1e-9, return_sorted=False))
                     for bound, faces, tree in self.classes]
        lengths = np.array([[len(b) for b in balls] for _, balls in per_class], dtype=np.int64).reshape(
            len(per_class), len(points)).sum(axis=0)
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        members = np.fromiter((faces[f] for i in range(len(points)) for faces, balls in per_class
                               for f in balls[i]), dtype=np.int64, count=int(starts[-1]))
        out_point = np.empty_like(points)
        out_face = np.empty(len(points), dtype=np.int64)
        _closest(points, self.vertices, self.faces, starts, members, self.big_faces, out_point, out_face)
        return out_point, out_face

    @cached_property
    def _hierarchy(self) -> tuple[np.ndarray, ...]:
        order, nodes = hierarchy(self.vertices[self.faces])
        return (order.astype(np.int64), *nodes)

    @cached_property
    def bvh(self) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """``(vertices, faces, hierarchy)``: what :func:`_closest_bvh` reads after the point (pass as
        ``*bvh``, then the output point)."""
        return self.vertices, self.faces, self._hierarchy

    def closest_one(self, point: np.ndarray) -> tuple[np.ndarray, int]:
        """The closest surface point ``(3,)`` to one point and its face, through a BVH (faster than
        :meth:`closest` for one point).  Where several faces are equally near (a point nearest to
        an edge or a vertex) this takes the lowest face index and :meth:`closest` the first it
        searched: the same point up to rounding, and normals interpolated there equal up to
        rounding."""
        out = np.empty(3)
        face = _closest_bvh(np.ascontiguousarray(point, dtype=np.float64), self.vertices, self.faces,
                            *self._hierarchy, out)
        return out, face

    def nearest_vertex(self, point: np.ndarray) -> int:
        """The index of the mesh vertex nearest to one point (through the BVH of :meth:`closest_one`)."""
        point = np.ascontiguousarray(point, dtype=np.float64)
        return int(_nearest_vertex_bvh(point, self.vertices, self.faces, *self._hierarchy))

    def normals_at(self, points: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """(n, 3) the vertex normals interpolated at points on the given faces (unit vectors)."""
        points = np.ascontiguousarray(points, dtype=np.float64)
        out = np.empty_like(points)
        _normals_at(self.vertices, self.faces, self.vertex_normals, points,
                    np.ascontiguousarray(faces, dtype=np.int64), out)
        return out

    def signed_distance(self, points: np.ndarray, closest: np.ndarray, faces: np.ndarray) -> np.ndarray:
        """Distance to the surface, positive inside (the sign from the face normal)."""
        gap = np.linalg.norm(points - closest, axis=1)
        outside = np.einsum("ij,ij->i", points - closest, self.face_normals[faces]) > 0
        return np.where(outside, -gap, gap)
