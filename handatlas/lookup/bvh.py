"""Rays through closed triangle meshes, compiled: a bounding volume hierarchy traversed by numba.

:class:`MeshRays` answers the same questions as :class:`handatlas.lookup.rays.RayIndex` (every hit
of a ray, the layer stack, the first hit) on the same meshes, with the same distances: a hit's
distance is the ray's intersection with the hit triangle's plane in float64, as
``RayIndex`` refines Embree's.  The difference is where the work runs: here every hit of a ray is
found in one traversal of the hierarchy (no casting again past each hit), and the traversal is a
plain numba function, so that :mod:`handatlas.lookup.single` can cast all the rays of a press
inside one compiled call instead of a Python call of ~25 µs per Embree query.

The hierarchy is a linear BVH: triangles sorted by the Morton code of their centroids, each node
split where the highest differing bit of its codes changes (Karras 2012, "Maximizing parallelism
in the construction of BVHs"), at most :data:`LEAF_SIZE` triangles a leaf.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from handatlas.lookup.jit import njit, prange
from handatlas.lookup.rays import LAYER_SEED_MM, Crossing, RayIndex, concatenated, pair_crossings

if TYPE_CHECKING:
    import trimesh

#: Most triangles in a leaf of the hierarchy.
LEAF_SIZE = 4
#: Depth of the traversal stack (the hierarchy of a million triangles is ~ 40 deep).
STACK = 96
#: Two hits of one structure closer than this along a ray are one (a ray through a shared edge
#: crosses both triangles there; mm).
SAME_HIT_MM = 1e-9
#: A grazing ray (``|d . n| <= GRAZING |n|``) keeps the Moller-Trumbore distance; otherwise the
#: distance is the intersection with the triangle's plane (as ``RayIndex`` refines Embree's).
GRAZING = 1e-6
#: Below this many rays the batch kernels run serially (starting threads costs more).
PARALLEL_FROM = 64
#: From this many rays on, first hits are asked of Embree (its SIMD traversal of a SAH hierarchy is
#: ~3x faster per ray than this one; the distances are refined on the same planes, so equal).
EMBREE_FROM = 1024


# ----------------------------------------------------------------------------- build
def _morton(centroids: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """63-bit Morton codes (21 bits per axis) of points in the box ``lower``-``upper``."""
    scale = (2**21 - 1) / np.maximum(upper - lower, 1e-12)
    q = np.clip(((centroids - lower) * scale).astype(np.uint64), 0, 2**21 - 1)
    code = np.zeros(len(q), dtype=np.uint64)
    for bit in range(21):
        for axis in range(3):
            code |= ((q[:, axis] >> np.uint64(bit)) & np.uint64(1)) << np.uint64(3 * bit + axis)
    return code


@njit
def _build(codes, tri_lo, tri_hi, leaf_size, node_lo, node_hi, node_left, node_start, node_count):
    """Top-down over the Morton-sorted triangles; returns the number of nodes.

    Node ``n`` is a leaf when ``node_left[n] < 0`` (triangles ``node_start[n]`` to
    ``node_start[n] + node_count[n]``), else its children are ``node_left[n]`` and
    ``node_left[n] + 1``.  Children are created after their parent, so the bounds are filled in
    reverse order of creation.
    """
    n_nodes = 1
    stack = np.empty(128, dtype=np.int64)
    stack[0] = 0
    top = 1
    node_start[0] = 0
    node_count[0] = codes.shape[0]
    while top > 0:
        top -= 1
        n = stack[top]
        lo, count = node_start[n], node_count[n]
        hi = lo + count
        if count <= leaf_size:
            node_left[n] = -1
            continue
        first, last = codes[lo], codes[hi - 1]
        split = lo + count // 2
        if first != last:
            # the highest bit in which the codes of the range differ splits it
            diff = first ^ last
            bit = np.uint64(1)
            while bit <= (diff >> np.uint64(1)):
                bit = bit << np.uint64(1)
            left, right = lo, hi - 1  # first index with the bit set
            while left < right:
                mid = (left + right) // 2
                if codes[mid] & bit:
                    right = mid
                else:
                    left = mid + 1
            if lo < left < hi:
                split = left
        child = n_nodes
        n_nodes += 2
        node_left[n] = child
        node_start[child], node_count[child] = lo, split - lo
        node_start[child + 1], node_count[child + 1] = split, hi - split
        stack[top] = child
        stack[top + 1] = child + 1
        top += 2
    for n in range(n_nodes - 1, -1, -1):
        if node_left[n] < 0:
            for axis in range(3):
                node_lo[n, axis] = np.inf
                node_hi[n, axis] = -np.inf
            for f in range(node_start[n], node_start[n] + node_count[n]):
                for axis in range(3):
                    node_lo[n, axis] = min(node_lo[n, axis], tri_lo[f, axis])
                    node_hi[n, axis] = max(node_hi[n, axis], tri_hi[f, axis])
        else:
            c = node_left[n]
            for axis in range(3):
                node_lo[n, axis] = min(node_lo[c, axis], node_lo[c + 1, axis])
                node_hi[n, axis] = max(node_hi[c, axis], node_hi[c + 1, axis])
    return n_nodes


def hierarchy(corners: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """The BVH of triangles ``corners`` (f, 3, 3): the triangles' order in it, and its nodes
    ``(lo (m, 3), hi (m, 3), left (m,), start (m,), count (m,))`` (see :func:`_build`)."""
    centroids = corners.mean(axis=1)
    lower, upper = centroids.min(axis=0), centroids.max(axis=0)
    codes = _morton(centroids, lower, upper)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    corners = corners[order]
    n_max = 2 * len(order) + 1
    node_lo, node_hi = np.empty((n_max, 3)), np.empty((n_max, 3))
    node_left = np.full(n_max, -1, dtype=np.int64)
    node_start, node_count = np.zeros(n_max, dtype=np.int64), np.zeros(n_max, dtype=np.int64)
    n_nodes = _build(codes, np.ascontiguousarray(corners.min(axis=1)),
                     np.ascontiguousarray(corners.max(axis=1)), LEAF_SIZE, node_lo, node_hi, node_left,
                     node_start, node_count)
    return order, (node_lo[:n_nodes].copy(), node_hi[:n_nodes].copy(), node_left[:n_nodes].copy(),
                   node_start[:n_nodes].copy(), node_count[:n_nodes].copy())


def _aligned(rows: int, cols: int) -> np.ndarray:
    """A zeroed float64 array whose rows start on 64-byte cache lines (``cols`` a multiple of 8)."""
    buf = np.zeros(rows * cols + 8)
    skip = (-buf.ctypes.data % 64) // 8
    return buf[skip:skip + rows * cols].reshape(rows, cols)


def packed_nodes(node_lo: np.ndarray, node_hi: np.ndarray, node_left: np.ndarray, node_start: np.ndarray,
                 node_count: np.ndarray) -> np.ndarray:
    """:func:`hierarchy`'s nodes as one (m, 8) array, a node per cache line: its box's low and high
    corners, then its first child (an inner node) or ``-(count + 1)`` (a leaf), then its first
    triangle.  A traversal that starts cold reads one line per node instead of five."""
    nodes = _aligned(len(node_lo), 8)
    nodes[:, 0:3], nodes[:, 3:6] = node_lo, node_hi
    nodes[:, 6] = np.where(node_left >= 0, node_left, -(node_count + 1))
    nodes[:, 7] = node_start
    return nodes


def packed_triangles(corner: np.ndarray) -> np.ndarray:
    """Triangles ``corner`` (f, 3, 3) as one (f, 16) array, two cache lines each: the first corner,
    the two edges from it, the normal (their cross product) and its length."""
    tris = _aligned(len(corner), 16)
    tris[:, 0:3] = corner[:, 0]
    tris[:, 3:6] = corner[:, 1] - corner[:, 0]
    tris[:, 6:9] = corner[:, 2] - corner[:, 0]
    tris[:, 9:12] = np.cross(tris[:, 3:6], tris[:, 6:9])
    tris[:, 12] = np.linalg.norm(tris[:, 9:12], axis=1)
    return tris


#: A tree with no triangles (for a query over a set of meshes the atlas does not have).
EMPTY_TREE = (packed_nodes(np.zeros((1, 3)), np.zeros((1, 3)), np.full(1, -1), np.zeros(1, dtype=np.int64),
                           np.zeros(1, dtype=np.int64)), packed_triangles(np.zeros((1, 3, 3))))


# ----------------------------------------------------------------------------- traversal
@njit
def _box_entry(nodes, n, ox, oy, oz, ix, iy, iz, t_max):
    """Where a ray (origin o, inverse direction i) enters node ``n``'s box, or inf when it misses it
    before t_max."""
    t1, t2 = (nodes[n, 0] - ox) * ix, (nodes[n, 3] - ox) * ix
    near, far = min(t1, t2), max(t1, t2)
    t1, t2 = (nodes[n, 1] - oy) * iy, (nodes[n, 4] - oy) * iy
    near, far = max(near, min(t1, t2)), min(far, max(t1, t2))
    t1, t2 = (nodes[n, 2] - oz) * iz, (nodes[n, 5] - oz) * iz
    near, far = max(near, min(t1, t2)), min(far, max(t1, t2))
    if far < max(near, 0.0) or near > t_max:
        return np.inf
    return near


@njit
def _hit_triangle(f, ox, oy, oz, dx, dy, dz, tris):
    """Distance along the (unit) ray to triangle ``f``, or inf when it misses (Moller-Trumbore,
    edges included; the distance from the triangle's plane unless the ray grazes it)."""
    ax, ay, az = tris[f, 3], tris[f, 4], tris[f, 5]
    bx, by, bz = tris[f, 6], tris[f, 7], tris[f, 8]
    px, py, pz = dy * bz - dz * by, dz * bx - dx * bz, dx * by - dy * bx
    det = ax * px + ay * py + az * pz
    if det == 0.0:
        return np.inf
    inv = 1.0 / det
    tx, ty, tz = ox - tris[f, 0], oy - tris[f, 1], oz - tris[f, 2]
    u = (tx * px + ty * py + tz * pz) * inv
    if u < 0.0 or u > 1.0:
        return np.inf
    qx, qy, qz = ty * az - tz * ay, tz * ax - tx * az, tx * ay - ty * ax
    v = (dx * qx + dy * qy + dz * qz) * inv
    if v < 0.0 or u + v > 1.0:
        return np.inf
    t = (bx * qx + by * qy + bz * qz) * inv
    nx, ny, nz = tris[f, 9], tris[f, 10], tris[f, 11]
    facing = dx * nx + dy * ny + dz * nz
    if abs(facing) > GRAZING * tris[f, 12]:
        t = ((tris[f, 0] - ox) * nx + (tris[f, 1] - oy) * ny + (tris[f, 2] - oz) * nz) / facing
    return t


@njit
def _inverse(d):
    """``1 / d`` for the slab test, a huge number for a zero component."""
    return 1.0 / d if d != 0.0 else 1e300


@njit
def _leaf(nodes, n):
    """``(first triangle, how many)`` of node ``n``, or ``(-1, 0)`` for an inner node."""
    code = int(nodes[n, 6])
    if code >= 0:
        return -1, 0
    return int(nodes[n, 7]), -code - 1


@njit
def first_hit_one(ox, oy, oz, dx, dy, dz, t_min, nodes, tris):
    """``(distance, triangle)`` of the first hit at ``t >= t_min`` of a ray with a unit direction
    (``(inf, -1)`` when there is none)."""
    ix, iy, iz = _inverse(dx), _inverse(dy), _inverse(dz)
    best, face = np.inf, -1
    stack = np.empty(STACK, dtype=np.int64)
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        n = stack[top]
        if _box_entry(nodes, n, ox, oy, oz, ix, iy, iz, best) == np.inf:
            continue
        start, count = _leaf(nodes, n)
        if start >= 0:
            for f in range(start, start + count):
                t = _hit_triangle(f, ox, oy, oz, dx, dy, dz, tris)
                if t_min <= t < best:
                    best, face = t, f
            continue
        c = int(nodes[n, 6])
        near0 = _box_entry(nodes, c, ox, oy, oz, ix, iy, iz, best)
        near1 = _box_entry(nodes, c + 1, ox, oy, oz, ix, iy, iz, best)
        # the nearer child is searched first (pushed last)
        if near0 <= near1:
            if near1 < np.inf:
                stack[top] = c + 1
                top += 1
            if near0 < np.inf:
                stack[top] = c
                top += 1
        else:
            if near0 < np.inf:
                stack[top] = c
                top += 1
            stack[top] = c + 1
            top += 1
    return best, face


@njit
def all_hits_one(ox, oy, oz, dx, dy, dz, t_min, t_max, nodes, tris, out_t, out_face):
    """Every hit of a ray (unit direction) with ``t_min <= t <= t_max``, unsorted, into ``out_t`` and
    ``out_face``; returns how many there are (may exceed the buffers' length: then only the
    first fill them, and the caller asks again with larger buffers)."""
    ix, iy, iz = _inverse(dx), _inverse(dy), _inverse(dz)
    count = 0
    stack = np.empty(STACK, dtype=np.int64)
    stack[0] = 0
    top = 1
    while top > 0:
        top -= 1
        n = stack[top]
        if _box_entry(nodes, n, ox, oy, oz, ix, iy, iz, t_max) == np.inf:
            continue
        start, many = _leaf(nodes, n)
        if start >= 0:
            for f in range(start, start + many):
                t = _hit_triangle(f, ox, oy, oz, dx, dy, dz, tris)
                if t_min <= t <= t_max and t < np.inf:
                    if count < out_t.shape[0]:
                        out_t[count] = t
                        out_face[count] = f
                    count += 1
            continue
        c = int(nodes[n, 6])
        stack[top] = c
        stack[top + 1] = c + 1
        top += 2
    return count


@njit
def sort_hits(t, face, owner, count):
    """Sort the first ``count`` hits by distance (then owner) in place and drop repeats (one structure
    hit twice within :data:`SAME_HIT_MM`, at a shared edge); returns how many are left."""
    for i in range(1, count):  # insertion sort: a ray crosses a few dozen surfaces
        tt, ff = t[i], face[i]
        j = i - 1
        while j >= 0 and (t[j] > tt or (t[j] == tt and owner[face[j]] > owner[ff])):
            t[j + 1], face[j + 1] = t[j], face[j]
            j -= 1
        t[j + 1], face[j + 1] = tt, ff
    kept = 0
    for i in range(count):
        repeat = False
        j = kept - 1
        while j >= 0 and t[i] - t[j] <= SAME_HIT_MM:
            if owner[face[j]] == owner[face[i]]:
                repeat = True
                break
            j -= 1
        if not repeat:
            t[kept], face[kept] = t[i], face[i]
            kept += 1
    return kept


@njit
def first_hit_scaled(ox, oy, oz, dx, dy, dz, tree):
    """Distance to the first hit along ``d`` in units of its length (``nan`` for a zero ``d``): the
    direction made unit as numpy does it (norm, then divide), as :meth:`MeshRays.first_hit`."""
    length = np.sqrt(dx * dx + dy * dy + dz * dz)
    if length == 0.0:
        return np.nan
    return first_hit_one(ox, oy, oz, dx / length, dy / length, dz / length, 0.0, *tree)[0] / length


@njit
def _first_of(i, origins, directions, tree, out):
    out[i] = first_hit_scaled(origins[i, 0], origins[i, 1], origins[i, 2], directions[i, 0], directions[i, 1],
                              directions[i, 2], tree)


@njit
def _first_hits(origins, directions, tree, out):
    for i in range(origins.shape[0]):
        _first_of(i, origins, directions, tree, out)


@njit(parallel=True)
def _first_hits_parallel(origins, directions, tree, out):
    for i in prange(origins.shape[0]):
        _first_of(i, origins, directions, tree, out)


@njit
def _hits_of(i, origins, units, tree, owner, counts, out_t, out_face):
    count = all_hits_one(origins[i, 0], origins[i, 1], origins[i, 2], units[i, 0], units[i, 1], units[i, 2],
                         0.0, np.inf, *tree, out_t[i], out_face[i])
    counts[i] = sort_hits(out_t[i], out_face[i], owner, count) if count <= out_t.shape[1] else count


@njit
def _all_hits(origins, units, tree, owner, counts, out_t, out_face):
    """Each ray's hits (distance >= 0) into row ``i`` of ``out_t``/``out_face``, sorted, repeats
    dropped; ``counts[i]`` how many (more than the rows hold: the row is incomplete, ask again)."""
    for i in range(origins.shape[0]):
        _hits_of(i, origins, units, tree, owner, counts, out_t, out_face)


@njit(parallel=True)
def _all_hits_parallel(origins, units, tree, owner, counts, out_t, out_face):
    for i in prange(origins.shape[0]):
        _hits_of(i, origins, units, tree, owner, counts, out_t, out_face)


class MeshRays:
    """All-hit and first-hit ray queries over a set of closed meshes (compiled BVH).

    The same interface and answers as :class:`handatlas.lookup.rays.RayIndex`.

    Parameters
    ----------
    meshes : dict of str -> trimesh.Trimesh
        Structure id -> closed mesh.
    """

    def __init__(self, meshes: dict[str, trimesh.Trimesh]) -> None:
        self.ids = tuple(meshes)
        self._meshes = meshes
        vertices, faces_all, owner_all = concatenated(meshes)
        corner = vertices[faces_all]
        order, nodes = hierarchy(corner)
        corner = corner[order]
        #: (f,) the structure (index into ``ids``) of each triangle, in the hierarchy's order.
        self.owner = np.ascontiguousarray(owner_all[order])
        #: (f, 3) the triangles' vertex indices, in the hierarchy's order.
        self.faces = np.ascontiguousarray(faces_all[order])
        #: The arrays the traversal reads (pass as ``*tree``): :func:`packed_nodes` and
        #: :func:`packed_triangles`, a node or a triangle in one or two cache lines.
        self.tree = (packed_nodes(*nodes), packed_triangles(corner))

    @cached_property
    def embree(self) -> RayIndex:
        """The same meshes in Embree, for first hits of many rays at once (built when first needed)."""
        return RayIndex(self._meshes)

    def first_hit(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distance to the first surface along each ray (``inf`` where there is none), in units of
        each direction's length (from :data:`EMBREE_FROM` rays on, Embree's)."""
        origins = np.ascontiguousarray(np.atleast_2d(origins), dtype=np.float64)
        directions = np.ascontiguousarray(np.atleast_2d(directions), dtype=np.float64)
        if len(origins) >= EMBREE_FROM:
            return self.embree.first_hit(origins, directions)
        out = np.empty(len(origins))
        kernel = _first_hits_parallel if len(origins) >= PARALLEL_FROM else _first_hits
        kernel(origins, directions, self.tree, out)
        return out

    def hits(self, origins: np.ndarray, directions: np.ndarray, *,
             seed_mm: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every hit of every ray at distance >= 0: (ray index, distance along the ray, owner index),
        sorted by ray, then distance.

        ``seed_mm`` is accepted for :class:`~handatlas.lookup.rays.RayIndex`'s interface and ignored
        (one traversal finds every hit).
        """
        del seed_mm
        origins = np.ascontiguousarray(np.atleast_2d(origins), dtype=np.float64)
        directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
        if len(origins) == 0:
            return np.zeros(0, int), np.zeros(0), np.zeros(0, int)
        length = np.linalg.norm(directions, axis=1)
        scale = np.where(length > 0, length, 1.0)
        units = np.ascontiguousarray(directions / scale[:, None])
        counts = np.zeros(len(origins), dtype=np.int64)
        capacity = 64
        while True:
            out_t = np.empty((len(origins), capacity))
            out_face = np.empty((len(origins), capacity), dtype=np.int64)
            kernel = _all_hits_parallel if len(origins) >= PARALLEL_FROM else _all_hits
            kernel(origins, units, self.tree, self.owner, counts, out_t, out_face)
            if counts.max(initial=0) <= capacity:
                break
            capacity = int(counts.max()) + 1
        keep = np.arange(capacity)[None, :] < counts[:, None]
        rays = np.repeat(np.arange(len(origins)), counts)
        dist = out_t[keep] / scale[rays]
        return rays, dist, self.owner[out_face[keep]]

    def crossings(self, origin: np.ndarray, direction: np.ndarray, *,
                  start_mm: float = 0.0) -> list[Crossing]:
        """The intervals one ray spends inside each structure, in order of entry (as
        :meth:`handatlas.lookup.rays.RayIndex.crossings`)."""
        direction = np.asarray(direction, dtype=np.float64)
        start = np.asarray(origin, dtype=np.float64) - start_mm * direction
        _, dist, owner = self.hits(start[None], direction[None], seed_mm=LAYER_SEED_MM)
        return pair_crossings(self.ids, dist - start_mm, owner)


# ----------------------------------------------------------------------------- one press's axis
@njit
def axis_rays(px, py, pz, dx, dy, dz, start_mm, bones, sheets, sheet_owner, n_sheets, everything,
              everything_owner, sheet_depth, layer_t, layer_face):
    """The rays a single press casts along its inward axis, in one compiled call.

    Returns the distance from the contact to the first bone (``inf``: none) and the number of
    hits of the layer stack; fills ``sheet_depth`` (the mid-depth of each sheet's first crossing,
    ``inf`` where the axis misses it, as :meth:`handatlas.lookup.index.LookupIndex.sheet_depths`)
    and ``layer_t``/``layer_face`` (every surface the axis crosses from ``start_mm`` above the
    contact, sorted; distances from that start).  A count above the buffers' length means they
    were too small.
    """
    column = first_hit_one(px, py, pz, dx, dy, dz, 0.0, *bones)[0]
    for s in range(n_sheets):
        sheet_depth[s] = np.inf
    if n_sheets > 0:
        t = np.empty(64)
        face = np.empty(64, dtype=np.int64)
        count = all_hits_one(px, py, pz, dx, dy, dz, 0.0, np.inf, *sheets, t, face)
        count = sort_hits(t, face, sheet_owner, min(count, 64))
        for s in range(n_sheets):
            first = -1.0
            for h in range(count):
                if sheet_owner[face[h]] != s:
                    continue
                if first < 0.0:
                    first = t[h]
                else:
                    sheet_depth[s] = (first + t[h]) / 2
                    break
            if first >= 0.0 and sheet_depth[s] == np.inf:
                sheet_depth[s] = first
    count = all_hits_one(px - start_mm * dx, py - start_mm * dy, pz - start_mm * dz, dx, dy, dz, 0.0, np.inf,
                         *everything, layer_t, layer_face)
    if count <= layer_t.shape[0]:
        count = sort_hits(layer_t, layer_face, everything_owner, count)
    return column, count
