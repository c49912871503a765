"""Push apart tubes that intersect: a deterministic relaxation of the built centrelines.

Authored courses put nerves, vessels and tendons near their literature positions, but tubes a
few millimetres thick still cross each other where many run together (the carpal tunnel, the web
spaces, the dorsum).  After every tube is built, :func:`relax` moves centreline points of
overlapping tubes apart until their surfaces are :data:`GAP_MM` apart:

- Overlaps are found among centreline samples with a KD-tree (only pairs closer than the sum of
  the largest radii); for each point and each other structure only the nearest sample counts.
- Each point of a pair moves perpendicular to its own centreline, away from the other point, by
  a share of the overlap inversely proportional to its *stiffness* ``factor(tissue) * r**2``
  (cross-section area: a thick tendon displaces a thin nerve more than the reverse).  Nerves and
  arteries get :data:`STIFFNESS` 8: their courses carry the literature depths and relations the
  trainer teaches (pulse points, the tunnel, Guyon's canal), so they should be the last to move;
  superficial veins, the most variable structures, get 0.5.
- Displacements are smoothed along each path (a binomial kernel) so tubes bend instead of
  kinking, capped per iteration (:data:`MAX_STEP_MM`), and scaled by each point's *mobility*:
  0 at a junction (a branch whose path starts ``{along: X}`` and X near that point, or two tubes
  whose ends touch), at a tendon's insertion, rising linearly to 1 between
  :data:`FIXED_MM` and :data:`FREE_MM` from it.  Pairs of points both within :data:`JOIN_MM` of
  a junction they share are not pushed (a branch is meant to touch its trunk there).
- Every :data:`CONSTRAIN_EVERY` iterations the moved points are handed to ``constrain`` (the
  build passes :func:`handatlas.build.tubes.keep_clear`: out of the bones, under the skin);
  points it had to move are marked *blocked* and take a quarter of their share afterwards, so
  the partner that still has room gives way.

- Last, the tubes marked ``unkink`` are smoothed locally where their centrelines still turn
  sharply (:func:`unkink`): the authored course and the keep-clear constraint leave kinks the
  relaxation cannot see.  Only the points within :data:`UNKINK_REACH_MM` of a kink move, by
  Laplacian smoothing weighted by their mobility; the result is constrained again and kept only if
  the kink eases and the tube crosses no other tube deeper than before (nor than
  :data:`UNKINK_TOUCH_MM`), give or take :data:`UNKINK_SLACK_MM`.

Everything is plain array arithmetic in a fixed order: the same input gives the same output.
The relaxation is chaotic all the same (a nearest sample that changes, a point that is or is not
pushed by the constraint): a perturbation of 1e-7 mm in the input moved tendons by up to 1 mm and
changed the topology of the muscles carved around them.  So the points are rounded to
:data:`QUANTUM_MM` on entry and after every step: differences in the last bits of the arithmetic
(another CPU's vector instructions, another BLAS) are rounded away instead of amplified.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

#: Surface-to-surface gap the relaxation aims for (mm).
GAP_MM = 0.35
#: Relative stiffness by tissue, multiplied by the squared radius.
STIFFNESS = {"nerve": 8.0, "artery": 8.0, "vein": 0.5, "tendon": 1.0}
#: Points closer than this to a junction or insertion do not move (mm) ...
FIXED_MM = 1.5
#: ... and points further than this move freely; linear in between (mm).
FREE_MM = 6.0
#: Two tubes sharing a junction are not pushed apart within this distance of it (mm).
JOIN_MM = 5.0
#: An end of a tube this close to another tube's centreline joins it there (mm).
TOUCH_MM = 0.6
#: Largest move of a point in one iteration (mm).
MAX_STEP_MM = 0.6
ITERATIONS = 120
#: Binomial smoothing rounds of each step's displacements along a path: wide enough that
#: crowded tubes bend over centimetres instead of rippling.
SMOOTHING_ROUNDS = 8
CONSTRAIN_EVERY = 6
#: A point the constraint moved keeps this fraction of its mobility in later shares.
BLOCKED = 0.25
#: Stop when no surfaces overlap by more than this (mm).
TOLERANCE_MM = 0.02
#: Overlap with another tube that smoothing a kink after the relaxation may leave (mm).
KINK_OVERLAP_MM = 0.5
#: Grid the centreline points are rounded to on entry and after every step (mm): far below any
#: anatomical scale, far above floating-point noise (about 1e-14 mm at hand coordinates).
QUANTUM_MM = 1e-3


#: A centreline turning more than this (degrees) over :data:`UNKINK_SPAN_MM` around a point is
#: smoothed there (the atlas's limit is 60 degrees over 3 mm).
UNKINK_DEG = 50.0
#: The length of centreline a turn is measured over (mm) ...
UNKINK_SPAN_MM = 3.0
#: ... at every this many mm along it.
TURN_STEP_MM = 0.25
#: Points this far along the centreline from a kink are smoothed with it (mm).
UNKINK_REACH_MM = 5.0
#: Smoothing rounds at most ...
UNKINK_ROUNDS = 80
#: ... tried in this order: the first that eases the kink and crosses nothing is kept.
UNKINK_SCHEDULE = (80, 40, 20, 10, 5, 3, 2, 1)
#: A smoothed tube may overlap another by this much at most (mm), or by what it did before, plus
#: :data:`UNKINK_SLACK_MM`.
UNKINK_TOUCH_MM = 0.2
UNKINK_SLACK_MM = 0.05


def quantize(points: np.ndarray) -> np.ndarray:
    """Round points to the :data:`QUANTUM_MM` grid (a new array)."""
    return np.round(np.asarray(points, dtype=float) / QUANTUM_MM) * QUANTUM_MM


@dataclass
class Tube:
    """One tube structure for :func:`relax`.

    Attributes
    ----------
    sid : str
        Structure id.
    paths : list of (k, 3) float
        Centrelines (one per path; a venous network has several).
    radii : list of (k,) float
        Radius at each centreline point.
    tissue : str
        ``nerve``, ``artery``, ``vein`` or ``tendon`` (selects the stiffness).
    joins : str, optional
        The structure the first path starts on (its path begins with ``{along: joins}``).
    insertion : bool
        The last point is anchored (a tendon's insertion).
    margin : float or list of (k,) float
        Skin margin handed to ``constrain``: one value, or one per centreline point of each path.
    unkink : bool
        Smooth the kinks left after the relaxation (:func:`unkink`).
    """

    sid: str
    paths: list[np.ndarray]
    radii: list[np.ndarray]
    tissue: str = "nerve"
    joins: str | None = None
    insertion: bool = False
    margin: float | list[np.ndarray] = 1.0
    unkink: bool = False

    def point_margins(self) -> np.ndarray:
        """The skin margin of every centreline point, paths in order."""
        if np.ndim(self.margin) == 0:
            return np.full(sum(len(line) for line in self.paths), float(self.margin))
        return np.concatenate([np.asarray(m, dtype=float) for m in self.margin])


@dataclass
class RelaxReport:
    """What :func:`relax` did: overlapping structure pairs and the worst overlap, before/after."""

    pairs_before: int = 0
    pairs_after: int = 0
    worst_before: float = 0.0
    worst_after: float = 0.0
    iterations: int = 0
    moved: dict[str, float] = field(default_factory=dict)
    unkinked: list[str] = field(default_factory=list)
    kinked: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return (f"relax: {self.pairs_before} -> {self.pairs_after} overlapping pairs, worst "
                f"{self.worst_before:.2f} -> {self.worst_after:.2f} mm in {self.iterations} iterations"
                + (f"; kinks smoothed in {len(self.unkinked)} paths" if self.unkinked else "")
                + (f", left in {len(self.kinked)}" if self.kinked else ""))


Constrain = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


class _Flat:
    """All centreline samples in one array, with their owners and neighbours."""

    def __init__(self, tubes: Sequence[Tube]) -> None:
        points, radii, owner, path_of, prev, nxt = [], [], [], [], [], []
        self.slices: list[list[slice]] = []
        start = 0
        path_id = 0
        for s, tube in enumerate(tubes):
            own = []
            for line, rad in zip(tube.paths, tube.radii, strict=True):
                k = len(line)
                idx = np.arange(start, start + k)
                points.append(np.asarray(line, dtype=float))
                radii.append(np.asarray(rad, dtype=float))
                owner.append(np.full(k, s))
                path_of.append(np.full(k, path_id))
                prev.append(np.maximum(idx - 1, start))
                nxt.append(np.minimum(idx + 1, start + k - 1))
                own.append(slice(start, start + k))
                start += k
                path_id += 1
            self.slices.append(own)
        self.points = np.vstack(points)
        self.radii = np.concatenate(radii)
        self.owner = np.concatenate(owner)
        self.path = np.concatenate(path_of)
        self.prev = np.concatenate(prev)
        self.next = np.concatenate(nxt)

    def tangents(self) -> np.ndarray:
        t = self.points[self.next] - self.points[self.prev]
        norm = np.linalg.norm(t, axis=1, keepdims=True)
        return t / np.where(norm > 1e-12, norm, 1.0)

    def smooth(self, values: np.ndarray, rounds: int = 2) -> np.ndarray:
        out = values
        for _ in range(rounds):
            out = 0.25 * out[self.prev] + 0.5 * out + 0.25 * out[self.next]
        return out


def _ramp(distance: np.ndarray) -> np.ndarray:
    return np.clip((distance - FIXED_MM) / (FREE_MM - FIXED_MM), 0.0, 1.0)


def _junctions(tubes: Sequence[Tube], flat: _Flat) -> tuple[np.ndarray, list[set[int]]]:
    """Junction points and the structures meeting at each (branch starts and touching ends)."""
    index = {t.sid: s for s, t in enumerate(tubes)}
    found: list[tuple[np.ndarray, set[int]]] = []
    for s, tube in enumerate(tubes):
        if tube.joins is not None and tube.joins in index:
            found.append((tube.paths[0][0], {s, index[tube.joins]}))
    tree = cKDTree(flat.points)
    for s, tube in enumerate(tubes):
        for line in tube.paths:
            for end in (line[0], line[-1]):
                for i in sorted(tree.query_ball_point(end, TOUCH_MM)):
                    if flat.owner[i] != s:
                        found.append((end, {s, int(flat.owner[i])}))
    points: list[np.ndarray] = []
    members: list[set[int]] = []
    for point, who in found:
        for k, other in enumerate(points):
            if np.linalg.norm(other - point) < 1.0:
                members[k] |= who
                break
        else:
            points.append(np.asarray(point, dtype=float))
            members.append(set(who))
    return np.array(points).reshape(-1, 3), members


def _mobility(tubes: Sequence[Tube], flat: _Flat, joints: np.ndarray,
              members: list[set[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Mobility of every sample (0..1) and which junctions each sample lies near."""
    n = len(flat.points)
    mobility = np.ones(n)
    near = np.zeros((n, max(1, len(joints))), dtype=bool)
    for k, (point, who) in enumerate(zip(joints, members, strict=True)):
        mine = np.isin(flat.owner, sorted(who))
        dist = np.linalg.norm(flat.points - point, axis=1)
        mobility[mine] = np.minimum(mobility[mine], _ramp(dist[mine]))
        near[:, k] = mine & (dist < JOIN_MM)
    for s, tube in enumerate(tubes):
        if tube.insertion:
            sl = flat.slices[s][0]
            line = flat.points[sl]
            seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
            from_end = np.concatenate([np.cumsum(seg[::-1])[::-1], [0.0]])
            mobility[sl] = np.minimum(mobility[sl], _ramp(from_end))
    return mobility, near


def _contacts(flat: _Flat, near: np.ndarray, *, gap: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed overlapping pairs ``(a, b)``, nearest sample of each other structure per point,
    and their overlaps (mm)."""
    reach = 2 * flat.radii.max() + gap
    pairs = cKDTree(flat.points).query_pairs(reach, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    i, j = pairs[:, 0], pairs[:, 1]
    keep = flat.owner[i] != flat.owner[j]
    i, j = i[keep], j[keep]
    dist = np.linalg.norm(flat.points[i] - flat.points[j], axis=1)
    overlap = flat.radii[i] + flat.radii[j] + gap - dist
    keep = overlap > 0
    keep &= ~np.any(near[i] & near[j], axis=1)
    i, j, dist, overlap = i[keep], j[keep], dist[keep], overlap[keep]
    a, b = np.concatenate([i, j]), np.concatenate([j, i])
    dist, overlap = np.concatenate([dist, dist]), np.concatenate([overlap, overlap])
    order = np.lexsort((b, dist, flat.owner[b], a))
    a, b, overlap = a[order], b[order], overlap[order]
    first = np.ones(len(a), dtype=bool)
    first[1:] = (a[1:] != a[:-1]) | (flat.owner[b][1:] != flat.owner[b][:-1])
    return a[first], b[first], overlap[first]


def measure(tubes: Sequence[Tube], *, gap: float = 0.0) -> dict[tuple[str, str], float]:
    """Worst surface overlap (mm, > 0) of every pair of structures that overlap, junctions excepted."""
    flat = _Flat(tubes)
    joints, members = _junctions(tubes, flat)
    _, near = _mobility(tubes, flat, joints, members)
    a, b, overlap = _contacts(flat, near, gap=gap)
    worst: dict[tuple[str, str], float] = {}
    for x, y, o in zip(flat.owner[a], flat.owner[b], overlap, strict=True):
        if x < y:
            key = (tubes[x].sid, tubes[y].sid)
            worst[key] = max(worst.get(key, 0.0), float(o))
    return worst


def relax(tubes: Sequence[Tube], *, constrain: Constrain | None = None,
          finish: Constrain | None = None, gap: float = GAP_MM,
          iterations: int = ITERATIONS) -> RelaxReport:
    """Push overlapping tubes apart in place (``tube.paths`` are replaced).

    Parameters
    ----------
    tubes
        The tubes; their order fixes the (deterministic) order of the arithmetic.
    constrain
        ``constrain(points, radii, margins, travel) -> points``: keeps moved points (which
        have travelled ``travel`` mm since the start) where they may be
        (out of the bones, under the skin); called every :data:`CONSTRAIN_EVERY` iterations and
        at the end on the points that moved.
    finish
        Like ``constrain``, applied once at the end instead of it (an exact, slower check);
        default ``constrain``.
    gap
        Target surface-to-surface gap, mm.
    iterations
        Upper bound on the iterations.

    Returns
    -------
    RelaxReport
    """
    report = RelaxReport()
    if len(tubes) < 2:
        return report
    before = measure(tubes, gap=0.0)
    report.pairs_before = len(before)
    report.worst_before = max(before.values(), default=0.0)
    flat = _Flat(tubes)
    flat.points = quantize(flat.points)
    start = flat.points.copy()
    joints, members = _junctions(tubes, flat)
    mobility, near = _mobility(tubes, flat, joints, members)
    tissue = np.array([STIFFNESS.get(t.tissue, 1.0) for t in tubes])
    stiffness = tissue[flat.owner] * flat.radii**2
    margins = np.concatenate([t.point_margins() for t in tubes])
    blocked = np.ones(len(flat.points))
    checked = flat.points.copy()
    for it in range(iterations):
        report.iterations = it + 1
        a, b, overlap = _contacts(flat, near, gap=gap)
        if len(a) == 0 or overlap.max() < TOLERANCE_MM:
            break
        give = mobility * blocked / stiffness
        total = give[a] + give[b]
        share = np.divide(give[a], total, out=np.zeros_like(total), where=total > 0)
        tangent = flat.tangents()[a]
        away = flat.points[a] - flat.points[b]
        away -= tangent * np.einsum("ij,ij->i", away, tangent)[:, None]
        norm = np.linalg.norm(away, axis=1)
        degenerate = norm < 1e-6
        if degenerate.any():  # centrelines through each other: push across both of them
            other = flat.tangents()[b[degenerate]]
            cross = np.cross(tangent[degenerate], other)
            flip = np.where(a[degenerate] < b[degenerate], 1.0, -1.0)[:, None]
            fallback = np.cross(tangent[degenerate], [0.0, 0.0, 1.0])
            small = np.linalg.norm(cross, axis=1) < 1e-6
            cross[small] = fallback[small]
            away[degenerate] = cross * flip
            norm[degenerate] = np.linalg.norm(away[degenerate], axis=1)
        away /= np.maximum(norm, 1e-12)[:, None]
        disp = np.zeros_like(flat.points)
        np.add.at(disp, a, (share * overlap)[:, None] * away)
        disp = flat.smooth(disp, rounds=SMOOTHING_ROUNDS) * mobility[:, None]
        length = np.linalg.norm(disp, axis=1, keepdims=True)
        disp *= np.minimum(1.0, MAX_STEP_MM / np.maximum(length, 1e-12))
        flat.points = quantize(flat.points + disp)
        if constrain is not None and (it + 1) % CONSTRAIN_EVERY == 0:
            blocked = _apply(flat, constrain, margins, checked, blocked, start)
            checked = flat.points.copy()
    finish = finish or constrain
    if finish is not None:
        _apply(flat, finish, margins, start, blocked, start)
    report.unkinked, report.kinked = unkink(tubes, flat, mobility, near, margins, finish)
    for s, tube in enumerate(tubes):
        tube.paths = [flat.points[sl].copy() for sl in flat.slices[s]]
        shift = np.linalg.norm(flat.points[flat.owner == s] - start[flat.owner == s], axis=1).max()
        if shift > 1e-9:
            report.moved[tube.sid] = float(shift)
    after = measure(tubes, gap=0.0)
    report.pairs_after = len(after)
    report.worst_after = max(after.values(), default=0.0)
    return report


def turn_angles(line: np.ndarray, span: float = UNKINK_SPAN_MM, chord: float = 1.0) -> np.ndarray:
    """The turn across every point of a polyline: degrees between its directions ``span / 2`` mm
    before and after the point, each that of a ``chord`` mm chord (0 where they run off an end).

    The atlas's own measure (a turn over ``span`` mm of centreline), centred on each point.

    Examples
    --------
    >>> line = np.array([[0.0, y, 0] for y in range(6)] + [[x, 5.0, 0] for x in range(1, 6)])
    >>> float(turn_angles(line).max())
    90.0
    """
    line = np.asarray(line, dtype=float)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])

    def at(s: np.ndarray) -> np.ndarray:
        return np.column_stack([np.interp(s, arc, line[:, k]) for k in range(3)])

    def direction(s: np.ndarray) -> np.ndarray:
        d = at(s + chord / 2) - at(s - chord / 2)
        return d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)

    reach = span / 2 + chord / 2
    if arc[-1] <= 2 * reach:
        return np.zeros(len(line))
    # measured every TURN_STEP_MM along the line (a kink between two points counts in full), each
    # turn kept at the point nearest its centre
    s = np.arange(reach, arc[-1] - reach + 1e-9, TURN_STEP_MM)
    cosine = np.einsum("ij,ij->i", direction(s - span / 2), direction(s + span / 2))
    turn = np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))
    nearest = np.clip(np.searchsorted(arc, s), 1, len(arc) - 1)
    nearest -= (s - arc[nearest - 1]) < (arc[nearest] - s)
    out = np.zeros(len(line))
    np.maximum.at(out, nearest, turn)
    return out


def _smooth_kinks(line: np.ndarray, mobility: np.ndarray, rounds: int = UNKINK_ROUNDS) -> np.ndarray:
    """``line`` with its kinks smoothed: up to ``rounds`` Laplacian steps on the points within
    :data:`UNKINK_REACH_MM` of a turn sharper than :data:`UNKINK_DEG`, weighted by mobility."""
    out = line.copy()
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    kinks = np.flatnonzero(turn_angles(line) > UNKINK_DEG)
    window = np.zeros(len(line), dtype=bool)
    for k in kinks:
        window |= np.abs(arc - arc[k]) <= UNKINK_REACH_MM
    window[[0, -1]] = False
    weight = 0.5 * mobility[window][:, None]
    for _ in range(rounds):
        middle = 0.5 * (out[:-2] + out[2:])
        laplacian = np.zeros_like(out)
        laplacian[1:-1] = middle - out[1:-1]
        out[window] += weight * laplacian[window]
        if turn_angles(out).max() <= UNKINK_DEG:
            break
    return out


def _worst_overlaps(flat: _Flat, near: np.ndarray, owner: int) -> dict[int, float]:
    """The deepest overlap of structure ``owner`` with every structure it overlaps (mm)."""
    a, b, overlap = _contacts(flat, near, gap=0.0)
    mine = flat.owner[a] == owner
    worst: dict[int, float] = {}
    for other, depth in zip(flat.owner[b][mine], overlap[mine], strict=True):
        worst[int(other)] = max(worst.get(int(other), 0.0), float(depth))
    return worst


def unkink(tubes: Sequence[Tube], flat: _Flat, mobility: np.ndarray, near: np.ndarray,
           margins: np.ndarray, constrain: Constrain | None) -> tuple[list[str], dict[str, str]]:
    """Smooth the kinks of the tubes marked ``unkink``, in place in ``flat.points``.

    Each path with a turn sharper than :data:`UNKINK_DEG` is smoothed near it
    (:func:`_smooth_kinks`), handed to ``constrain`` (out of the bones, under the skin) and kept
    only if its sharpest turn eases and it overlaps no other structure by more than
    :data:`UNKINK_TOUCH_MM` or than it did before (plus :data:`UNKINK_SLACK_MM`).

    Returns
    -------
    smoothed : list of str
        The structures whose paths were smoothed (once per path).
    left : dict of str -> str
        The marked structures still turning more than :data:`UNKINK_DEG`, and why.
    """
    smoothed: list[str] = []
    left: dict[str, str] = {}
    for s, tube in enumerate(tubes):
        if not tube.unkink:
            continue
        for sl in flat.slices[s]:
            line = flat.points[sl]
            before = turn_angles(line).max()
            if before <= UNKINK_DEG:
                continue
            old = line.copy()
            worst_before = _worst_overlaps(flat, near, s)
            why = ""
            # the strongest smoothing that eases the kink without crossing another tube
            for rounds in UNKINK_SCHEDULE:
                candidate = _smooth_kinks(old, mobility[sl], rounds)
                if constrain is not None:
                    travel = np.linalg.norm(candidate - old, axis=1)
                    candidate = constrain(candidate, flat.radii[sl], margins[sl], travel)
                candidate = quantize(candidate)
                after = turn_angles(candidate).max()
                if after >= before:
                    why = why or f"smoothing and the constraint gave {after:.0f}"
                    continue
                flat.points[sl] = candidate
                worst_after = _worst_overlaps(flat, near, s)
                crossed = [f"{tubes[other].sid} {depth:.2f} mm" for other, depth in worst_after.items()
                           if depth > max(UNKINK_TOUCH_MM, worst_before.get(other, 0.0)) + UNKINK_SLACK_MM]
                if not crossed:
                    break
                flat.points[sl] = old
                why = why or f"smoothing would cross {', '.join(crossed)}"
            else:
                left[tube.sid] = f"{before:.0f} degrees; {why}"
                continue
            smoothed.append(tube.sid)
            if after > UNKINK_DEG:
                left[tube.sid] = f"{before:.0f} -> {after:.0f} degrees ({rounds} rounds)"
    return smoothed, left


def _apply(flat: _Flat, constrain: Constrain, margins: np.ndarray, checked: np.ndarray,
           blocked: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Constrain the points that moved since the last check; mark those it moved as blocked."""
    moved = np.flatnonzero(np.linalg.norm(flat.points - checked, axis=1) > 1e-9)
    if len(moved) == 0:
        return blocked
    travel = np.linalg.norm(flat.points[moved] - start[moved], axis=1)
    fixed = quantize(constrain(flat.points[moved], flat.radii[moved], margins[moved], travel))
    pushed = np.linalg.norm(fixed - flat.points[moved], axis=1) > 0.05
    flat.points[moved] = fixed
    out = blocked.copy()
    out[moved[pushed]] = BLOCKED
    return out


# ---------------------------------------------------------------------------- the build's use
#: Geometry kinds built as tubes (and relaxed together).
TUBE_KINDS = ("tube", "tubes", "tendon")
#: Spacing of the bone and skin samples of the approximate clearance test (mm).
FIELD_MM = 0.8
#: How far the approximate clearance test looks for the surface (mm).
SEARCH_MM = 5.0


def relax_built(specs: Sequence, meshes: dict, ctx, skin) -> RelaxReport:
    """Relax every built tube of ``specs`` in ``meshes`` (``MeshData`` by id), in place.

    Re-sweeps the meshes of the tubes that moved, records their new centrelines in the
    ``MeshData`` and in ``ctx.curves`` (so solids built later carve around the final courses).
    """
    from handatlas.build.paths import DEFAULT_MARGIN_MM
    from handatlas.build.solids import SKIN_CLEARANCE_MM, TENDON_SIDES
    from handatlas.build.tubes import BONE_CLEARANCE_MM, SIDES, keep_clear, push_inside, sweep_tube
    from handatlas.build.writer import MeshData

    tubes: list[Tube] = []
    sides: dict[str, int] = {}
    for spec in specs:
        geometry = spec.geometry.model_dump()
        kind = geometry["kind"]
        if kind not in TUBE_KINDS or spec.id not in meshes:
            continue
        data = meshes[spec.id]
        cuts = [*(int(i) for i in data.path_starts), len(data.centerline)]
        first = (geometry.get("path") or (geometry.get("paths") or [[]])[0] or [{}])[0]
        joins = str(first["along"]) if isinstance(first, dict) and "along" in first else None
        if kind == "tendon":
            margin = float(geometry.get("margin", SKIN_CLEARANCE_MM)) + 0.1
            if spec.id in ctx.margins:
                margin = [ctx.margins[spec.id]]
            sides[spec.id] = int(geometry.get("sides", TENDON_SIDES))
        else:
            margin = float(geometry.get("margin", DEFAULT_MARGIN_MM))
            sides[spec.id] = SIDES
        tubes.append(Tube(spec.id,
                          [data.centerline[a:b].copy() for a, b in itertools.pairwise(cuts)],
                          [data.radii[a:b].copy() for a, b in itertools.pairwise(cuts)],
                          tissue=str(spec.tissue or "tendon"), joins=joins,
                          insertion=kind == "tendon", margin=margin,
                          unkink=bool(geometry.get("unkink", False))))

    bones = ctx.bone_surface
    bone_field = _Field(bones.vertices[bones.faces], bones.face_normals)
    skin_field = _Field(np.asarray(skin.triangles, dtype=float), np.asarray(skin.face_normals))

    def constrain(points: np.ndarray, radii: np.ndarray, margins: np.ndarray,
                  travel: np.ndarray) -> np.ndarray:
        # Inside the loop: the sampled fields (about 0.1 mm off), out of the bones by their
        # clearance and under the skin by the margin, a few rounds for squeezed points.
        out = points.copy()
        for _ in range(4):
            out = bone_field.keep_out(out, radii + BONE_CLEARANCE_MM)
            out = skin_field.keep_out(out, radii + margins, inside=True)
        return out

    def exact(points: np.ndarray, radii: np.ndarray, margins: np.ndarray,
              travel: np.ndarray) -> np.ndarray:
        # At the end: the build's own exact keep_clear, for the points near a bone or the skin.
        # Every point was clear as built and has since moved ``travel``: it can only have
        # crossed a surface it is now within ``travel`` of.
        near_bone = bone_field.distance(points) < np.maximum(radii + BONE_CLEARANCE_MM, travel) + 0.5
        near_skin = skin_field.distance(points) < np.maximum(radii + margins, travel) + 0.5
        out = points.copy()
        if near_bone.any():
            out[near_bone] = keep_clear(points[near_bone], radii[near_bone], skin=skin, bones=bones,
                                        skin_margin=margins[near_bone])
        only = near_skin & ~near_bone
        if only.any():
            out[only] = push_inside(points[only], radii[only], skin, margin=margins[only])
        return out

    report = relax(tubes, constrain=constrain, finish=exact)
    smooth_kinks(tubes, report, lambda points, radii, margin: keep_clear(
        points, radii, skin=skin, bones=bones, skin_margin=margin))
    for tube in tubes:
        if tube.sid not in report.moved:
            continue
        parts = [sweep_tube(line, rad, sides=sides[tube.sid])
                 for line, rad in zip(tube.paths, tube.radii, strict=True)]
        offsets = np.cumsum([0] + [len(m.vertices) for m in parts[:-1]])
        old = meshes[tube.sid]
        meshes[tube.sid] = MeshData(
            np.vstack([m.vertices for m in parts]),
            np.vstack([m.faces + off for m, off in zip(parts, offsets, strict=True)]),
            centerline=np.vstack(tube.paths), radii=np.concatenate(tube.radii),
            path_starts=old.path_starts)
        ctx.curves[tube.sid] = tube.paths[0]
    return report



def _path_clear(clear: Callable[[np.ndarray, np.ndarray, float | np.ndarray], np.ndarray],
                margin: float | np.ndarray) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """``clear`` for the points ``index`` of one path whose skin margin is ``margin`` (one value or
    one per point)."""

    def run(points: np.ndarray, radii: np.ndarray, index: np.ndarray) -> np.ndarray:
        return clear(points, radii, margin if np.ndim(margin) == 0 else margin[index])

    return run


def smooth_kinks(tubes: Sequence[Tube], report: RelaxReport,
                 clear: Callable[[np.ndarray, np.ndarray, float | np.ndarray], np.ndarray]) -> None:
    """Smooth the kinks the relaxation left in the tubes it moved, in place, and update the
    report's overlaps.

    Points pushed apart and then back out of a bone one by one can fold a centreline; a
    smoothing step inside the loop fights the push and trades kinks for crossings, so the
    kinks are taken out afterwards, locally (:func:`handatlas.build.tubes.unkink`: only the
    points within a few millimetres of a sharp turn move).  A tube keeps its kink when the
    smoothing would make it overlap another tube by more than it did (and more than
    :data:`KINK_OVERLAP_MM`).

    Parameters
    ----------
    tubes
        The relaxed tubes.
    report
        :func:`relax`'s report; ``moved``, ``pairs_after`` and ``worst_after`` are updated.
    clear
        ``clear(points, radii, margin) -> points``: the bone and skin constraint (``margin`` one
        value or one per point).
    """
    from handatlas.build.tubes import unkink

    def overlaps(sid: str) -> dict[str, float]:
        return {a if b == sid else b: o for (a, b), o in measure(tubes, gap=0.0).items() if sid in (a, b)}

    for tube in tubes:
        if tube.sid not in report.moved:
            continue
        scalar = isinstance(tube.margin, int | float)
        margins = [tube.margin] * len(tube.paths) if scalar else [np.asarray(m) for m in tube.margin]
        paths = [unkink(line, rad, _path_clear(clear, margin))
                 for line, rad, margin in zip(tube.paths, tube.radii, margins, strict=True)]
        if all(np.array_equal(a, b) for a, b in zip(paths, tube.paths, strict=True)):
            continue
        before, kept = overlaps(tube.sid), tube.paths
        tube.paths = paths
        after = overlaps(tube.sid)
        if any(o > max(before.get(other, 0.0), KINK_OVERLAP_MM) for other, o in after.items()):
            tube.paths = kept  # smoothing would push it into a neighbour: keep the kink
    after = measure(tubes, gap=0.0)
    report.pairs_after = len(after)
    report.worst_after = max(after.values(), default=0.0)


class _Field:
    """Signed distance to a closed surface from dense samples (nearest sample and its normal)."""

    def __init__(self, triangles: np.ndarray, normals: np.ndarray) -> None:
        from handatlas.build.solids import surface_samples

        self.samples, faces = surface_samples(np.asarray(triangles, dtype=float), FIELD_MM)
        self.normals = np.asarray(normals, dtype=float)[faces]
        self.tree = cKDTree(self.samples)

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Unsigned distance to the nearest sample (``inf`` beyond :data:`SEARCH_MM`)."""
        return self.tree.query(points, distance_upper_bound=SEARCH_MM, workers=-1)[0]

    def keep_out(self, points: np.ndarray, need: np.ndarray, *, inside: bool = False) -> np.ndarray:
        """Move points closer than ``need`` to the surface (or on the wrong side) to ``need`` off
        it: outside the surface, or inside it with ``inside``."""
        # points move less than SEARCH_MM between two calls: further from the surface they
        # are still on the side they were (every point starts clear of bone and skin)
        distance, index = self.tree.query(points, distance_upper_bound=SEARCH_MM, workers=-1)
        found = np.flatnonzero(np.isfinite(distance))
        index = index[found]
        normal = self.normals[index]
        side = np.einsum("ij,ij->i", points[found] - self.samples[index], normal)
        sign = -1.0 if inside else 1.0
        bad = (sign * side < 0) | (distance[found] < need[found])
        out = points.copy()
        out[found[bad]] = (self.samples[index[bad]]
                           + sign * normal[bad] * (need[found[bad]] * 1.02)[:, None])
        return out
