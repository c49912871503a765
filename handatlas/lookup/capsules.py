"""Tubes as exact capsule chains: the stress a press sends to each, and how far each is.

Every nerve, artery and vein is stored with its centre line and radii; consecutive centre-line
points make a segment, and the segment swept by a sphere of the mean of its two radii makes a
capsule.  Two questions are asked of the capsules of many structures at once:

* **distance**: from a point to each structure's surface, ``min |p - segment| - rho``;
* **load**: a disc pad pressing on the skin at ``p`` along the inward axis ``u``; what fraction
  of its pressure reaches each structure (the elastic half-space of
  :mod:`handatlas.lookup.model`, with the column's compression and the fascial sheets), where
  on the structure, and how deep that is.

The kernels (and the tabulation of the half-space solution) are compiled with numba (cached in
the user cache directory, see :mod:`handatlas.lookup.jit`) and checked against the plain numpy
references :func:`distance_reference` and :func:`stress_reference`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from handatlas.lookup.bvh import first_hit_scaled
from handatlas.lookup.jit import njit, prange

#: Consecutive segments (of one structure) per chunk of the branch and bound.
CHUNK = 16


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
        Index into ``ids`` of each segment's structure (non-decreasing: a structure's segments
        are consecutive).
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

    @cached_property
    def chunks(self) -> np.ndarray:
        """(c + 1,) bounds of runs of at most :data:`CHUNK` consecutive segments of one structure.

        A chunk never spans two structures, so that a whole chunk can be skipped
        once its structure holds a sample that no point of the chunk can beat.
        """
        starts = [0]
        for j in range(1, len(self)):
            if self.owner[j] != self.owner[j - 1] or j - starts[-1] >= CHUNK:
                starts.append(j)
        return np.array([*starts, len(self)], dtype=np.int64)

    @cached_property
    def structure_bounds(self) -> np.ndarray:
        """(k + 1,) each structure's segments are ``structure_bounds[k]:structure_bounds[k + 1]``."""
        return np.searchsorted(self.owner, np.arange(len(self.ids) + 1)).astype(np.int64)

    @cached_property
    def chunk_owner(self) -> np.ndarray:
        """(c,) the structure of each chunk."""
        return np.ascontiguousarray(self.owner[self.chunks[:-1]])

    @cached_property
    def chunk_chords(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(start (c, 3), end (c, 3), slack (c,), radius (c,))`` of each chunk: the chord from its
        first to its last centre-line point, how far its centre line strays from the chord plus
        its longest half segment, and its largest capsule radius.

        Every segment's point nearest to any given point, and every sample's centre, lie within
        ``slack`` of the chord: the bounds of the branch and bound.
        """
        start = self.a[self.chunks[:-1]]
        end = self.b[self.chunks[1:] - 1]
        slack = np.empty(len(start))
        radius = np.empty(len(start))
        for c, (s, e) in enumerate(zip(self.chunks[:-1], self.chunks[1:], strict=True)):
            ends = np.vstack([self.a[s:e], self.b[s:e]])
            chord = end[c] - start[c]
            t = np.clip((ends - start[c]) @ chord / max(float(chord @ chord), 1e-18), 0.0, 1.0)
            stray = np.linalg.norm(ends - (start[c] + t[:, None] * chord), axis=1).max()
            slack[c] = stray + self.half[s:e].max()
            radius[c] = self.radius[s:e].max()
        return start, end, slack, radius

    @cached_property
    def structure_chunks(self) -> np.ndarray:
        """(k + 1,) each structure's chunks are ``structure_chunks[k]:structure_chunks[k + 1]``."""
        return np.searchsorted(self.chunk_owner, np.arange(len(self.ids) + 1)).astype(np.int64)

    @cached_property
    def structure_boxes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(low (k, 3), high (k, 3), margin (k,))``: the box of each structure's chords and the
        most its chunks' distance bound (:func:`_chunk_near`) takes off the distance to a chord.

        No chunk of a structure is nearer to a point than its distance to the box less the margin.
        """
        start, end, slack, radius = self.chunk_chords
        runs = [slice(s, e) for s, e in itertools.pairwise(self.structure_chunks)]
        low = np.array([np.minimum(start[r].min(0), end[r].min(0)) for r in runs])
        high = np.array([np.maximum(start[r].max(0), end[r].max(0)) for r in runs])
        margin = np.array([(slack[r] + np.sqrt(2.0) * radius[r]).max() for r in runs])
        return low, high, margin * (1.0 + 1e-12) + 1e-9  # (rounding kept on the safe side)

    @cached_property
    def kernel_geometry(self) -> tuple[np.ndarray, ...]:
        """The arrays the compiled kernel reads, in its order."""
        return (self.a, self.b, self.radius, self.owner, self.mid, self.half, self.chunks, *self.chunk_chords,
                self.structure_chunks, *self.structure_boxes)


# ----------------------------------------------------------------------------- compiled kernels
@njit(parallel=True)
def _tabulate(zs, rhos, nodes, weights, out):
    """``sigma_z / p`` under a unit disc at every ``(zs[i], rhos[j])``.

    The point-load solution integrated over the disc in polar coordinates around the field point:
    the radial integral is exact, ``z^3 / (z^2 + t^2)^(3/2)`` between where the ray at each angle
    enters and leaves the disc, which leaves one angular integral (Gauss-Legendre on ``[0, 1]``
    with the angle mapped as ``u^2`` so that the nodes cluster where the edge is nearest).
    """
    n = nodes.shape[0]
    for i in prange(zs.shape[0]):
        z = zs[i]
        z3 = z * z * z
        for j in range(rhos.shape[0]):
            rho = rhos[j]
            if z == 0.0:
                out[i, j] = 1.0 if rho < 1.0 else (0.5 if rho == 1.0 else 0.0)
                continue
            acc = 0.0
            if rho <= 1.0:
                # from inside the disc, the ray at angle theta leaves it at t
                for k in range(n):
                    u = nodes[k]
                    theta = np.pi * u * u
                    s = np.sin(theta)
                    t = -rho * np.cos(theta) + np.sqrt(max(1.0 - rho * rho * s * s, 0.0))
                    q = z * z + t * t
                    acc += weights[k] * 2.0 * np.pi * u * z3 / (q * np.sqrt(q))
                out[i, j] = 1.0 - acc / np.pi
            else:
                # from outside, the ray enters at t1 and leaves at t2; sin(theta) = sin(psi) / rho
                for k in range(n):
                    u = nodes[k]
                    psi = 0.5 * np.pi * u * u
                    sp, cp = np.sin(psi), np.cos(psi)
                    ct = np.sqrt(1.0 - (sp / rho) ** 2)
                    t1, t2 = rho * ct - cp, rho * ct + cp
                    q1, q2 = z * z + t1 * t1, z * z + t2 * t2
                    g = z3 / (q1 * np.sqrt(q1)) - z3 / (q2 * np.sqrt(q2))
                    acc += weights[k] * np.pi * u * g * cp / (rho * ct)
                out[i, j] = acc / np.pi


def tabulate_halfspace(zs: np.ndarray, rhos: np.ndarray, nodes: np.ndarray, weights: np.ndarray,
                       out: np.ndarray) -> None:
    """Fill ``out[i, j]`` with ``sigma_z / p`` under a unit disc at depth ``zs[i]``, offset ``rhos[j]``.

    ``nodes`` and ``weights`` are a Gauss-Legendre rule on ``[0, 1]``; see
    :func:`handatlas.lookup.model.halfspace_table`.
    """
    _tabulate(np.ascontiguousarray(zs, dtype=np.float64), np.ascontiguousarray(rhos, dtype=np.float64),
              np.ascontiguousarray(nodes, dtype=np.float64), np.ascontiguousarray(weights, dtype=np.float64),
              out)


@njit
def _table_lookup(table, step, z, rho):
    """Bilinear interpolation of the half-space table at ``(z/r, rho/r)``; the point load beyond it."""
    n = table.shape[0] - 1
    top = n * step
    if z >= top or rho >= top:
        r2 = z * z + rho * rho
        return 1.5 * z * z * z / (r2 * r2 * np.sqrt(r2))
    fz, fr = z / step, rho / step
    i, j = min(int(fz), n - 1), min(int(fr), n - 1)
    dz, dr = fz - i, fr - j
    return ((1.0 - dz) * ((1.0 - dr) * table[i, j] + dr * table[i, j + 1])
            + dz * ((1.0 - dr) * table[i + 1, j] + dr * table[i + 1, j + 1]))


@njit
def _envelope(envelope, step, z, rho):
    """An upper bound of the table at every ``(z' >= z, rho' >= rho)`` (and of the point load beyond)."""
    n = envelope.shape[0] - 1
    top = n * step
    far = 1.5 / max(top * top, z * z + rho * rho)  # the point load beyond the table
    if z >= top or rho >= top:
        return far
    return max(envelope[int(z / step), int(rho / step)], far)


@njit
def _foot(px, py, pz, dx, dy, dz, a, b):
    """Parameter in [0, 1] of the point of segment a-b nearest to the line p + s d (unit d)."""
    ux, uy, uz = b[0] - a[0], b[1] - a[1], b[2] - a[2]
    wx, wy, wz = a[0] - px, a[1] - py, a[2] - pz
    ud = ux * dx + uy * dy + uz * dz
    wd = wx * dx + wy * dy + wz * dz
    qx, qy, qz = ux - ud * dx, uy - ud * dy, uz - ud * dz  # the segment across the axis
    rx, ry, rz = wx - wd * dx, wy - wd * dy, wz - wd * dz
    qq = qx * qx + qy * qy + qz * qz
    if qq <= 1e-18:
        return 0.5
    return min(max(-(rx * qx + ry * qy + rz * qz) / qq, 0.0), 1.0)


@njit
def _chunk_near(px, py, pz, start, end, slack, rad):
    """No sample of a chunk lies nearer to the contact than this (from its chord)."""
    ux, uy, uz = end[0] - start[0], end[1] - start[1], end[2] - start[2]
    wx, wy, wz = px - start[0], py - start[1], pz - start[2]
    t = min(max((wx * ux + wy * uy + wz * uz) / max(ux * ux + uy * uy + uz * uz, 1e-18), 0.0), 1.0)
    qx, qy, qz = start[0] + t * ux - px, start[1] + t * uy - py, start[2] + t * uz - pz
    return np.sqrt(qx * qx + qy * qy + qz * qz) - slack - 1.4142135623730951 * rad


@njit
def _chunk_bounds(near, px, py, pz, dx, dy, dz, pad, column, reach, prune_strain, need, strain, want_load,
                  start, end, slack, rad, envelope, step):
    """Bounds over a chunk's samples, from its chord and ``near`` (its :func:`_chunk_near`):
    ``(bound, load)``.

    ``bound`` is an upper bound of ``sigma_z / p`` on the undeformed tissue (sheets only lower
    it), or -1 when none of its segments would pass their own candidate tests (beyond the reach,
    behind the contact plane, or unable to reach ``need`` on the column compressed at
    ``prune_strain``); ``load`` (with ``want_load``, else 0) an upper bound on the column
    compressed by ``strain``.  The cheap tests come first and end the work early.
    """
    if near > reach:
        return -1.0, 0.0
    ta = (start[0] - px) * dx + (start[1] - py) * dy + (start[2] - pz) * dz
    tb = (end[0] - px) * dx + (end[1] - py) * dy + (end[2] - pz) * dz
    if max(ta, tb) + slack <= 0.0:  # wholly behind the contact plane
        return -1.0, 0.0
    # nor shallower, nor nearer to the axis, than these
    ux, uy, uz = end[0] - start[0], end[1] - start[1], end[2] - start[2]
    t = _foot(px, py, pz, dx, dy, dz, start, end)
    qx, qy, qz = start[0] + t * ux - px, start[1] + t * uy - py, start[2] + t * uz - pz
    zq = qx * dx + qy * dy + qz * dz
    rho_low = max(np.sqrt(max(qx * qx + qy * qy + qz * qz - zq * zq, 0.0)) - slack - rad, 0.0)
    z_low = max(min(ta, tb) - slack - rad, 0.0)
    squeezed = z_low * (1.0 - prune_strain) if z_low <= column else z_low - prune_strain * column
    if _envelope(envelope, step, squeezed / pad, rho_low / pad) < need:
        return -1.0, 0.0
    bound = _envelope(envelope, step, z_low / pad, rho_low / pad)
    if not want_load:
        return bound, 0.0
    squeezed = z_low * (1.0 - strain) if z_low <= column else z_low - strain * column
    return bound, _envelope(envelope, step, squeezed / pad, rho_low / pad)


@njit
def _chunk_samples(i, lo, hi, px, py, pz, dx, dy, dz, pad, strain, prune_strain, column, reach, sheet_depth,
                   sheet_factor, a, b, radius, owner, mid, half, table, step, envelope, need,
                   rank, load, segment, param, depth, offset, factor):
    """Sample the segments ``lo:hi`` of one chunk for press ``i`` (see :func:`stress_capsules`)."""
    for j in range(lo, hi):
        k = owner[j]
        rad = radius[j]
        ex, ey, ez = mid[j, 0] - px, mid[j, 1] - py, mid[j, 2] - pz
        # no point of this capsule's samples lies nearer to the contact than this
        far = ex * ex + ey * ey + ez * ez
        near = np.sqrt(far) - half[j] - 1.4142135623730951 * rad
        if near > reach:
            continue
        # nor shallower, nor nearer to the axis, than these
        ta = (a[j, 0] - px) * dx + (a[j, 1] - py) * dy + (a[j, 2] - pz) * dz
        tb = (b[j, 0] - px) * dx + (b[j, 1] - py) * dy + (b[j, 2] - pz) * dz
        if max(ta, tb) <= 0.0:  # wholly behind the contact plane
            continue
        zm = ex * dx + ey * dy + ez * dz
        z_low = max(min(ta, tb) - rad, 0.0)
        rho_low = max(np.sqrt(max(far - zm * zm, 0.0)) - half[j] - rad, 0.0)
        # skip what no force of this size could flag, even on the compressed column
        squeezed = z_low * (1.0 - prune_strain) if z_low <= column else z_low - prune_strain * column
        if _envelope(envelope, step, squeezed / pad, rho_low / pad) < need:
            continue
        # skip what cannot beat this structure's best sample so far
        if rank[i, k] > 0.0 and _envelope(envelope, step, z_low / pad, rho_low / pad) <= rank[i, k]:
            continue
        # two samples: the point nearest to the axis and the end nearest to the skin
        for m in range(2):
            t = _foot(px, py, pz, dx, dy, dz, a[j], b[j]) if m == 0 else (0.0 if ta <= tb else 1.0)
            cx = a[j, 0] + t * (b[j, 0] - a[j, 0]) - px
            cy = a[j, 1] + t * (b[j, 1] - a[j, 1]) - py
            cz = a[j, 2] + t * (b[j, 2] - a[j, 2]) - pz
            zc = cx * dx + cy * dy + cz * dz
            if zc <= 0.0:  # behind the contact plane, outside the loaded half-space
                continue
            rc = np.sqrt(max(cx * cx + cy * cy + cz * cz - zc * zc, 0.0))
            zs = max(zc - rad, 0.0)
            rs = max(rc - rad, 0.0)
            sheet = 1.0
            for s in range(sheet_factor.shape[0]):
                if sheet_depth[i, s] < zc:
                    sheet *= sheet_factor[s]
            # the most loaded point is chosen on the undeformed tissue, so that it does not move
            # with the force; the load there is then taken on the compressed column
            f0 = _table_lookup(table, step, zs / pad, rs / pad) * sheet
            if f0 > rank[i, k]:
                zz = zs * (1.0 - strain) if zs <= column else zs - strain * column
                rank[i, k] = f0
                load[i, k] = _table_lookup(table, step, zz / pad, rs / pad) * sheet
                segment[i, k] = j
                param[i, k] = t
                depth[i, k] = zs
                offset[i, k] = rs
                factor[i, k] = sheet


@njit
def _box_near(k, px, py, pz, box_low, box_high, box_margin):
    """No chunk of structure ``k`` comes nearer to the point than this (its box's distance less its
    margin, :attr:`CapsuleSet.structure_boxes`; negative inside)."""
    ex = max(box_low[k, 0] - px, 0.0, px - box_high[k, 0])
    ey = max(box_low[k, 1] - py, 0.0, py - box_high[k, 1])
    ez = max(box_low[k, 2] - pz, 0.0, pz - box_high[k, 2])
    return np.sqrt(ex * ex + ey * ey + ez * ez) - box_margin[k]


@njit
def _structure_near(k, px, py, pz, structure_chunks, chord_start, chord_end, chord_slack, chord_radius,
                    box_low, box_high, box_margin, within, near):
    """Whether a chunk of structure ``k`` comes within ``within`` of the contact: its box first, then
    each chunk (``near[c]``: the chunk's :func:`_chunk_near`, filled for every chunk of ``k`` unless
    its box alone answers no)."""
    if _box_near(k, px, py, pz, box_low, box_high, box_margin) > within:
        return False
    found = False
    for c in range(structure_chunks[k], structure_chunks[k + 1]):
        near[c] = _chunk_near(px, py, pz, chord_start[c], chord_end[c], chord_slack[c], chord_radius[c])
        found = found or near[c] <= within
    return found


@njit
def _structure_bounds(k, px, py, pz, dx, dy, dz, pad, column, reach, prune_strain, need, strain, want_load,
                      structure_chunks, chord_start, chord_end, chord_slack, chord_radius, envelope, step,
                      near, bound):
    """:func:`_chunk_bounds` of every chunk of structure ``k`` (into ``bound``, from ``near``):
    ``(best, load)``, its best-bounded chunk (-1 when none passes) and, with ``want_load``, an upper
    bound of its load on the column compressed by ``strain``."""
    best = -1
    loaded = 0.0
    for c in range(structure_chunks[k], structure_chunks[k + 1]):
        bound[c], top = _chunk_bounds(near[c], px, py, pz, dx, dy, dz, pad, column, reach, prune_strain, need,
                                      strain, want_load, chord_start[c], chord_end[c], chord_slack[c],
                                      chord_radius[c], envelope, step)
        if bound[c] < 0.0:
            continue
        if best < 0 or bound[c] > bound[best]:
            best = c
        loaded = max(loaded, top)
    return best, loaded


@njit
def _structure_search(i, k, best, px, py, pz, dx, dy, dz, pad, strain, prune_strain, column, reach,
                      sheet_depth, sheet_factor, a, b, radius, owner, mid, half, chunks, structure_chunks,
                      bound, table, step, envelope, need, rank, load, segment, param, depth, offset, factor):
    """Structure ``k``'s critical point for press ``i`` (row ``i``, column ``k`` of the outputs): its
    best-bounded chunk ``best`` is sampled first, then the others, each skipped when its ``bound``
    cannot beat what the structure already holds."""
    _chunk_samples(i, chunks[best], chunks[best + 1], px, py, pz, dx, dy, dz, pad, strain, prune_strain,
                   column, reach, sheet_depth, sheet_factor, a, b, radius, owner, mid, half, table, step,
                   envelope, need, rank, load, segment, param, depth, offset, factor)
    for c in range(structure_chunks[k], structure_chunks[k + 1]):
        if c == best or bound[c] < 0.0 or (rank[i, k] > 0.0 and bound[c] <= rank[i, k]):
            continue
        _chunk_samples(i, chunks[c], chunks[c + 1], px, py, pz, dx, dy, dz, pad, strain, prune_strain, column,
                       reach, sheet_depth, sheet_factor, a, b, radius, owner, mid, half, table, step,
                       envelope, need, rank, load, segment, param, depth, offset, factor)


@njit
def _stress_one(i, points, directions, pad, strain, prune_strain, columns, sheet_depth, sheet_factor, reaches,
                a, b, radius, owner, mid, half, chunks, chord_start, chord_end, chord_slack, chord_radius,
                structure_chunks, box_low, box_high, box_margin,
                table, step, envelope, need, flag_need, flag_reach,
                rank, load, segment, param, depth, offset, factor):
    """Fill row ``i`` of the outputs of :func:`stress_capsules` for one press.

    Branch and bound over the chunks: each chunk gets an upper bound of what its samples can
    reach; the best-bounded chunk of every structure is searched first, then the others, each
    skipped when its bound cannot beat what its structure already holds.  A structure whose
    chunks cannot reach ``flag_need`` on the compressed column is skipped whole, and so, before
    any bound is computed, is a structure none of whose chunks comes within its ``flag_reach``
    (its box first, then its chunks).
    """
    px, py, pz = points[i, 0], points[i, 1], points[i, 2]
    dx, dy, dz = directions[i, 0], directions[i, 1], directions[i, 2]
    column = columns[i]
    reach = reaches[i]
    near = np.empty(chord_slack.shape[0])  # each chunk's distance bound, where looked at
    bound = np.full(chord_slack.shape[0], -1.0)
    for k in range(rank.shape[1]):
        if not _structure_near(k, px, py, pz, structure_chunks, chord_start, chord_end, chord_slack,
                               chord_radius, box_low, box_high, box_margin, flag_reach[i, k], near):
            continue
        best, loaded = _structure_bounds(k, px, py, pz, dx, dy, dz, pad, column, reach, prune_strain, need,
                                         strain, flag_need[k] > 0.0, structure_chunks, chord_start, chord_end,
                                         chord_slack, chord_radius, envelope, step, near, bound)
        if best < 0 or loaded < flag_need[k]:
            continue
        _structure_search(i, k, best, px, py, pz, dx, dy, dz, pad, strain, prune_strain, column, reach,
                          sheet_depth, sheet_factor, a, b, radius, owner, mid, half, chunks, structure_chunks,
                          bound, table, step, envelope, need, rank, load, segment, param, depth, offset,
                          factor)


@njit
def _stress_serial(points, directions, pad, strain, prune_strain, columns, sheet_depth, sheet_factor,
                   reaches, geometry, table, step, envelope, need, flag_need, flag_reach, rank, load,
                   segment, param, depth, offset, factor):
    for i in range(points.shape[0]):
        _stress_one(i, points, directions, pad, strain, prune_strain, columns, sheet_depth, sheet_factor,
                    reaches, *geometry, table, step, envelope, need, flag_need, flag_reach, rank, load,
                    segment, param, depth, offset, factor)


@njit(parallel=True)
def _stress_parallel(points, directions, pad, strain, prune_strain, columns, sheet_depth, sheet_factor,
                     reaches, geometry, table, step, envelope, need, flag_need, flag_reach, rank, load,
                     segment, param, depth, offset, factor):
    for i in prange(points.shape[0]):
        _stress_one(i, points, directions, pad, strain, prune_strain, columns, sheet_depth, sheet_factor,
                    reaches, *geometry, table, step, envelope, need, flag_need, flag_reach, rank, load,
                    segment, param, depth, offset, factor)


#: Below this many presses the serial kernel is faster than starting threads.
PARALLEL_FROM = 64


@dataclass(frozen=True)
class CapsuleLoads:
    """What a press does to every capsule structure (rows: presses, columns: structures).

    Attributes
    ----------
    rank : (n, k) float
        ``sigma_z / p`` at the structure's most loaded sample on the undeformed tissue, sheets
        included (0 where the structure lies beyond the reach): that sample is its critical point.
    load : (n, k) float
        ``sigma_z / p`` at the critical point once the column has compressed.
    segment : (n, k) int
        The segment of that sample (-1 where none).
    param : (n, k) float
        Its parameter along the segment (0 at ``a``, 1 at ``b``).
    depth : (n, k) float
        Its nearest surface below the undeformed skin along the axis (mm; ``inf`` where none).
    offset : (n, k) float
        Its lateral offset from the axis, surface to axis (mm).
    factor : (n, k) float
        The product of the factors of the fascial sheets above it (1 where none, or no sample).
    """

    rank: np.ndarray
    load: np.ndarray
    segment: np.ndarray
    param: np.ndarray
    depth: np.ndarray
    offset: np.ndarray
    factor: np.ndarray


def stress_capsules(
    capsules: CapsuleSet,
    points: np.ndarray,
    directions: np.ndarray,
    *,
    pad_mm: float,
    strain: float,
    columns: np.ndarray,
    sheet_depth: np.ndarray,
    sheet_factor: np.ndarray,
    reach_mm: np.ndarray,
    need_load: float = 0.0,
    prune_strain: float | None = None,
    flag_load: float | np.ndarray = 0.0,
    flag_reach: np.ndarray | None = None,
) -> CapsuleLoads:
    """The stress each press sends to every capsule structure, as a fraction of its pressure.

    Each segment is sampled at its point nearest to the axis and at its end nearest to the skin
    (segments are about 1 mm long); at each sample the capsule's surface lies at depth
    ``z = max(z_c - rho_tube, 0)`` and lateral offset ``max(rho_c - rho_tube, 0)`` from the
    contact (samples behind the contact plane, ``z_c <= 0``, are outside the loaded half-space and
    left out); the column above bone compresses by
    ``strain`` (:func:`handatlas.lookup.model.compressed_depth`), the half-space table gives
    ``sigma_z / p``, and every fascial sheet whose mid-depth on the axis lies above ``z_c``
    multiplies it by its factor.  A structure's critical point is its sample with the largest
    ``sigma_z / p`` on the undeformed tissue (so that it does not move with the force); its load
    is the value there on the compressed column (which never falls as the force rises).

    Parameters
    ----------
    capsules
        The structures.
    points, directions : (n, 3) float
        Contact points on the skin and unit inward axes.
    pad_mm
        Pad radius.
    strain
        Tissue strain under this press's pressure.
    columns : (n,) float
        Soft tissue above the first bone on each axis (mm, capped).
    sheet_depth : (n, s) float
        Mid-depth of each fascial sheet on each axis (``inf`` where the axis misses it).
    sheet_factor : (s,) float
        The factor of each sheet.
    reach_mm : (n,) float
        Capsules further than this from each contact point are skipped
        (:func:`handatlas.lookup.model.reach_mm`); within it, segments that cannot beat their
        structure's best sample so far are skipped too (:func:`handatlas.lookup.model.influence_envelope`).
    need_load
        Segments whose samples' compressed ``sigma_z / p`` cannot reach this are skipped (the
        flagging floor over the pressure).
    prune_strain
        The strain that compression is taken at when skipping segments (default ``strain``).
        The caller passes the reach, need and strain of a reference force at least this press's
        (:data:`handatlas.lookup.model.REFERENCE_FORCE_N`), so that the candidates, and with them
        each structure's critical point, do not change with the force: the stress there, and
        whether it is pinned or shielded, then never fall as the force rises.
    flag_load : float or (k,) float
        A structure none of whose chunks can reach this ``sigma_z / p`` on the column compressed
        by ``strain`` (this press's floor for flagging it; one value, or one per structure) is
        left out whole: its row stays zero, as for a structure beyond the reach.  Whether the
        others are candidates, and their critical points, do not depend on it.
    flag_reach : (n, k) float, optional
        Per press and structure, the distance beyond which this press cannot flag it
        (:func:`handatlas.lookup.model.reach_mm` at its own floor): a structure with no chunk
        within it is left out whole, as for ``flag_load`` (default: none is).
    """
    from handatlas.lookup.model import TABLE_STEP, halfspace_table, influence_envelope

    pts = np.ascontiguousarray(points, dtype=np.float64)
    dirs = np.ascontiguousarray(directions, dtype=np.float64)
    shape = (len(pts), len(capsules.ids))
    rank, load, segment = np.zeros(shape), np.zeros(shape), np.full(shape, -1, dtype=np.int64)
    param, depth, offset = np.zeros(shape), np.full(shape, np.inf), np.full(shape, np.inf)
    factor = np.ones(shape)
    kernel = _stress_parallel if len(pts) >= PARALLEL_FROM else _stress_serial
    kernel(pts, dirs, float(pad_mm), float(strain), float(strain if prune_strain is None else prune_strain),
           np.ascontiguousarray(columns, dtype=np.float64),
           np.ascontiguousarray(sheet_depth, dtype=np.float64).reshape(len(pts), len(sheet_factor)),
           np.ascontiguousarray(sheet_factor, dtype=np.float64), _filled(reach_mm, (len(pts),)),
           capsules.kernel_geometry, halfspace_table(), TABLE_STEP, influence_envelope(), float(need_load),
           _filled(flag_load, (len(capsules.ids),)),
           _filled(np.inf if flag_reach is None else flag_reach, shape),
           rank, load, segment, param, depth, offset, factor)
    return CapsuleLoads(rank, load, segment, param, depth, offset, factor)


def _filled(value: float | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` broadcast to ``shape``, as a contiguous float64 array (no copy when it already is one)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape == shape:
        return np.ascontiguousarray(arr)
    if arr.ndim == 0:
        return np.full(shape, float(arr))
    return np.ascontiguousarray(np.broadcast_to(arr, shape))


@njit
def below_skin(back_mm, towards_mm, radius_mm, plane_mm):
    """The depth of a structure that a report quotes (``depth_mm``): its nearest surface below the
    undeformed skin, by the shorter way out from its critical point's centre, ``back_mm`` back
    along the press axis or ``towards_mm`` straight towards the contact point (each to where it
    leaves the skin), less its capsule radius ``radius_mm``; ``plane_mm`` (its depth below the
    contact's tangent plane) where neither way meets the skin.

    Where the skin is flat around the contact the first is the depth along the axis.  It is measured
    at the structure, not from the contact's tangent plane, because where the skin curves away from
    the contact (a web space, the slope of the hypothenar eminence over Guyon's canal) a structure
    can lie level with the contact point, yet under millimetres of skin and fat: the second way
    out finds them.
    """
    way = min(back_mm, towards_mm)
    if not np.isfinite(way):
        return plane_mm
    return max(way - radius_mm, 0.0)


@njit
def skin_depth(px, py, pz, dx, dy, dz, cx, cy, cz, radius_mm, plane_mm, skin):
    """:func:`below_skin` of one structure: contact ``p``, unit inward axis ``d``, critical point's
    centre ``c`` (``skin``: the skin's compiled BVH, :attr:`handatlas.lookup.bvh.MeshRays.tree`)."""
    back = first_hit_scaled(cx, cy, cz, -dx, -dy, -dz, skin)
    tx, ty, tz = px - cx, py - cy, pz - cz
    length = np.sqrt(tx * tx + ty * ty + tz * tz)
    towards = first_hit_scaled(cx, cy, cz, tx, ty, tz, skin) * length if length > 0.0 else np.inf
    return below_skin(back, towards, radius_mm, plane_mm)


@njit
def skin_depths(points, directions, centres, radii, plane, skin, out):
    """:func:`skin_depth` for each press point, axis, critical point, capsule radius and plane depth."""
    for m in range(points.shape[0]):
        out[m] = skin_depth(points[m, 0], points[m, 1], points[m, 2], directions[m, 0], directions[m, 1],
                            directions[m, 2], centres[m, 0], centres[m, 1], centres[m, 2], radii[m],
                            plane[m], skin)


@njit
def below_skin_all(back, towards, radii, plane, out):
    """:func:`below_skin` of arrays (the ways out found by another ray engine)."""
    for m in range(back.shape[0]):
        out[m] = below_skin(back[m], towards[m], radii[m], plane[m])


def critical_points(capsules: CapsuleSet, segments: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Centre-line points at ``params`` along ``segments`` (the most loaded sample of each)."""
    a, b = capsules.a[segments], capsules.b[segments]
    return a + np.asarray(params)[:, None] * (b - a)

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


def surface_distance(capsules: CapsuleSet, point: np.ndarray, structure: int) -> float:
    """Distance from one point to the surface of one structure (plain numpy over its segments)."""
    mine = np.flatnonzero(capsules.owner == structure)
    return float(_gaps(capsules, np.asarray(point, float)[None], mine)[0].min())


@njit
def _surface_distances(points, structures, bounds, a, b, radius, out):
    for n in range(points.shape[0]):
        best = np.inf
        px, py, pz = points[n, 0], points[n, 1], points[n, 2]
        for j in range(bounds[structures[n]], bounds[structures[n] + 1]):
            ux, uy, uz = b[j, 0] - a[j, 0], b[j, 1] - a[j, 1], b[j, 2] - a[j, 2]
            rx, ry, rz = px - a[j, 0], py - a[j, 1], pz - a[j, 2]
            t = min(max((rx * ux + ry * uy + rz * uz) / max(ux * ux + uy * uy + uz * uz, 1e-18), 0.0), 1.0)
            qx, qy, qz = rx - t * ux, ry - t * uy, rz - t * uz
            gap = np.sqrt(qx * qx + qy * qy + qz * qz) - radius[j]
            best = min(best, gap)
        out[n] = best


def surface_distances(capsules: CapsuleSet, points: np.ndarray, structures: np.ndarray) -> np.ndarray:
    """Distance from each point to the surface of its structure (compiled; see :func:`surface_distance`)."""
    points = np.ascontiguousarray(np.atleast_2d(points), dtype=np.float64)
    out = np.empty(len(points))
    _surface_distances(points, np.ascontiguousarray(structures, dtype=np.int64), capsules.structure_bounds,
                       capsules.a, capsules.b, capsules.radius, out)
    return out


def stress_reference(
    capsules: CapsuleSet,
    point: np.ndarray,
    direction: np.ndarray,
    *,
    pad_mm: float,
    strain: float,
    column_mm: float,
    sheet_depth: np.ndarray,
    sheet_factor: np.ndarray,
    reach_mm: float = np.inf,
    need_load: float = 0.0,
    prune_strain: float | None = None,
    samples: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Plain numpy, every segment, no chunks, no pruning: the loads of every structure for one press.

    The same definition as :func:`stress_capsules` (the point of each segment nearest to the axis
    and its end nearest to the skin; segments further than ``reach_mm`` from the contact, or
    whose compressed load cannot reach ``need_load``, left out) through
    :func:`handatlas.lookup.model.influence`; with ``samples > 0`` each segment is sampled that
    many times more, evenly (to measure what the two samples miss).

    Returns
    -------
    rank, load, depth : (k,) float
        As in :class:`CapsuleLoads`.
    """
    from handatlas.lookup.model import compressed_depth, envelope_bound, influence

    p, u = np.asarray(point, float), np.asarray(direction, float)
    a, b = capsules.a, capsules.b
    ab = b - a
    w = a - p
    ab_perp = ab - np.outer(ab @ u, u)
    w_perp = w - np.outer(w @ u, u)
    qq = np.einsum("ij,ij->i", ab_perp, ab_perp)
    foot = np.clip(-np.einsum("ij,ij->i", w_perp, ab_perp) / np.where(qq > 1e-18, qq, 1.0), 0, 1)
    ts = [np.where(qq > 1e-18, foot, 0.5), np.where(w @ u <= (b - p) @ u, 0.0, 1.0)]
    ts += [np.full(len(a), x) for x in np.linspace(0.0, 1.0, samples + 2)[1:-1]] if samples else []
    e = capsules.mid - p
    far = np.einsum("ij,ij->i", e, e)
    near = np.sqrt(far) - capsules.half - np.sqrt(2.0) * capsules.radius
    za, zb = w @ u, (b - p) @ u
    z_low = np.maximum(np.minimum(za, zb) - capsules.radius, 0.0)
    rho_low = np.maximum(np.sqrt(np.maximum(far - (e @ u) ** 2, 0.0)) - capsules.half - capsules.radius, 0.0)
    squeezed = compressed_depth(z_low, column_mm, strain if prune_strain is None else prune_strain)
    within = (near <= reach_mm) & (np.maximum(za, zb) > 0) & (
        envelope_bound(squeezed / pad_mm, rho_low / pad_mm) >= need_load)
    ranks, loads, depths = [], [], []
    for t in ts:
        c = a + t[:, None] * ab - p
        zc = c @ u
        rc = np.sqrt(np.maximum(np.einsum("ij,ij->i", c, c) - zc * zc, 0.0))
        zs = np.maximum(zc - capsules.radius, 0.0)
        rs = np.maximum(rc - capsules.radius, 0.0)
        sheet = np.ones(len(a))
        for s, factor in enumerate(np.asarray(sheet_factor, float)):
            sheet = np.where(np.asarray(sheet_depth, float)[s] < zc, sheet * factor, sheet)
        ranks.append(np.where(within & (zc > 0), influence(zs / pad_mm, rs / pad_mm) * sheet, 0.0))
        loads.append(influence(compressed_depth(zs, column_mm, strain) / pad_mm, rs / pad_mm) * sheet)
        depths.append(zs)
    rank_all = np.array(ranks)
    pick = np.argmax(rank_all, axis=0)  # the first of equal samples, as the kernel
    cols = np.arange(len(a))
    rank_seg = rank_all[pick, cols]
    load_seg, depth_seg = np.array(loads)[pick, cols], np.array(depths)[pick, cols]
    rank = np.zeros(len(capsules.ids))
    load = np.zeros(len(capsules.ids))
    depth = np.full(len(capsules.ids), np.inf)
    for k in range(len(capsules.ids)):
        mine = np.flatnonzero(capsules.owner == k)
        best = mine[np.argmax(rank_seg[mine])]
        if rank_seg[best] > 0:
            rank[k], load[k], depth[k] = rank_seg[best], load_seg[best], depth_seg[best]
    return rank, load, depth
