"""Pressure queries: "I press here, this hard: what is at risk, and how much?"

The model is :mod:`handatlas.lookup.model` (DESIGN.md, "The pressure model", second edition): a
press is a skin point, an inward axis (the negated outward skin normal unless given), a contact
radius ``r`` (a thumb pad, 8 mm) and a load (a grade's force, or ``force_n``).  This module finds
the geometry the model needs, for one press or many:

* the soft-tissue column on the axis above the first bone (the sink stops at bone);
* the depth at which the axis crosses each fascial sheet (sheets spread the load);
* the stress reaching every nerve, artery and vein (compiled kernel,
  :func:`handatlas.lookup.capsules.stress_capsules`), at its most loaded point;
* for every structure loaded enough to be flagged, whether bone lies between the contact and
  that point (*shielded*: pressure does not pass through bone) and whether bone lies within
  :data:`~handatlas.lookup.model.PINNED_GAP_MM` behind it along the axis, or it lies in a
  fibro-osseous tunnel under a retinaculum (*pinned*,
  :func:`handatlas.lookup.pinning.pinned_against`).

For each structure, ``depth_mm`` is its nearest surface below the undeformed skin along the
inward axis, at its most loaded point (measured from the skin above it,
:func:`handatlas.lookup.capsules.below_skin`), and ``distance_mm`` the straight distance from the contact
point to its surface.  The verdict is the worst level of the structures flagged and not shielded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from handatlas.atlas import unknown_name
from handatlas.lookup.capsules import critical_points, stress_capsules, surface_distances
from handatlas.lookup.index import LookupIndex, lookup_index
from handatlas.lookup.model import (
    ADVICE,
    AVOID,
    CAUTION,
    COLUMN_MAX_MM,
    CONFINING_SHEETS,
    DEFAULT_GRADE,
    DEFAULT_RADIUS_MM,
    GRADE_FORCE_N,
    LEVELS,
    LIGHT_ADVICE,
    PINNING_SHEETS,
    REFERENCE_FORCE_N,
    SAFE,
    VERDICTS,
    flag_floor_kpa,
    level_codes,
    pressure_kpa,
    reach_mm,
    resolve_load,
    tissue_strain,
)
from handatlas.lookup.pinning import behind_bone, pinned_against, pinned_by
from handatlas.lookup.single import assess_one, most_loaded_one
from handatlas.lookup.skinmap import skin_presses
from handatlas.lookup.territory import as_points

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from handatlas.atlas import Atlas

#: Points further than this from the skin (inside or outside) are not presses (mm).
MAX_SKIN_GAP_MM = 10.0
#: The layer stack's ray starts this far outside the skin, so that the skin itself counts (mm).
LAYER_START_MM = 0.5
#: How many of the most loaded structures a safe press's message looks at (for one not behind bone).
MOST_LOADED_CHECKS = 5
#: The least stress a safe press's message quotes (kPa): below it, nothing is worth a number.
WORTH_A_NUMBER_KPA = 0.5


@dataclass(frozen=True)
class AtRisk:
    """A structure the press flags (or would flag, were it not behind bone).

    Attributes
    ----------
    distance_mm
        Straight from the contact point to the structure's surface.
    depth_mm
        Its nearest surface below the undeformed skin, along the inward axis, at its most loaded
        point (the number the message quotes).
    stress_kpa
        The stress reaching it.
    level
        ``caution`` or ``avoid`` (for a shielded structure: what it would be without the bone).
    pinned
        Bone lies within a few mm behind it along the axis (a lower tolerance).
    """

    id: str
    name: str
    tissue: str
    risk: str
    distance_mm: float
    depth_mm: float
    stress_kpa: float
    level: str
    pinned: bool

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "tissue": self.tissue, "risk": self.risk,
                "distance_mm": round(self.distance_mm, 2), "depth_mm": round(self.depth_mm, 1),
                "stress_kpa": round(self.stress_kpa, 1), "level": self.level, "pinned": self.pinned}


@dataclass(frozen=True)
class Layer:
    """A structure the inward axis passes through, with where it enters and leaves (mm)."""

    id: str
    entry_mm: float
    exit_mm: float

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "entry_mm": round(self.entry_mm, 2), "exit_mm": round(self.exit_mm, 2)}


@dataclass(frozen=True)
class PressReport:
    """The answer to one press; ``as_dict()`` is the JSON of ``handatlas press --json``.

    ``at_risk`` is ordered worst first (level, then stress over tolerance): the message names
    ``at_risk[0]``.
    """

    point: np.ndarray
    normal: np.ndarray
    direction: np.ndarray
    radius_mm: float
    grade: str
    force_n: float
    pressure_kpa: float
    sink_mm: float
    landmark: str | None
    territory: str
    verdict: str
    at_risk: tuple[AtRisk, ...]
    shielded: tuple[AtRisk, ...]
    layers: tuple[Layer, ...]
    message: str
    most_loaded: tuple[str, float, float] | None = None

    @property
    def focus(self) -> tuple[str, float] | None:
        """``(name, depth mm)`` of the structure the message is about, or ``None``.

        The worst structure at risk; for a safe press the first shielded one, else the most
        loaded nerve or vessel within reach (:attr:`most_loaded`); ``None`` when none is near.
        """
        if self.at_risk:
            return self.at_risk[0].name, self.at_risk[0].depth_mm
        if self.shielded:
            return self.shielded[0].name, self.shielded[0].depth_mm
        if self.most_loaded is not None:
            return self.most_loaded[0], self.most_loaded[1]
        return None

    @property
    def depth_limit_mm(self) -> float:
        """The first edition's name of :attr:`sink_mm` (kept for old readers)."""
        return self.sink_mm

    def as_dict(self) -> dict[str, object]:
        return {
            "point": [round(float(v), 3) for v in self.point],
            "normal": [round(float(v), 4) for v in self.normal],
            "direction": [round(float(v), 4) for v in self.direction],
            "radius_mm": self.radius_mm,
            "grade": self.grade,
            "force_n": self.force_n,
            "pressure_kpa": round(self.pressure_kpa, 1),
            "sink_mm": round(self.sink_mm, 2),
            "depth_limit_mm": round(self.sink_mm, 2),
            "landmark": self.landmark,
            "territory": self.territory,
            "verdict": self.verdict,
            "at_risk": [a.as_dict() for a in self.at_risk],
            "shielded": [a.as_dict() for a in self.shielded],
            "layers": [layer.as_dict() for layer in self.layers],
            "message": self.message,
            "most_loaded": None if self.most_loaded is None else {
                "name": self.most_loaded[0], "depth_mm": round(self.most_loaded[1], 1),
                "stress_kpa": round(self.most_loaded[2], 1)},
        }


@dataclass(frozen=True)
class PressBatch:
    """Many presses at once (``press_many``): arrays, one row per press.

    Attributes
    ----------
    ids : tuple of str
        The structures the model assesses (columns): nerves, arteries, veins.
    force_n, pressure_kpa, radius_mm : float
        The load, the same for every press.
    verdict : (n,) int8
        Codes into :data:`handatlas.lookup.model.VERDICTS`.
    stress : (n, k) float
        Stress reaching each structure (kPa; 0 beyond the reach where nothing can be flagged).
    level : (n, k) int8
        Each structure's level (``SAFE`` = not flagged), shielding aside.
    at_risk : (n, k) bool
        Flagged and not behind bone.
    shielded : (n, k) bool
        Flagged but behind bone.
    pinned : (n, k) bool
        Bone within a few mm behind the structure (checked where it could be flagged).
    depth, offset : (n, k) float
        Depth below the contact's tangent plane and lateral offset from the axis of each
        structure's most loaded point, the model's ``z`` and ``rho`` (mm; ``inf`` where nothing
        reaches it).
    distance : (n, k) float
        Contact point to surface of the flagged structures, for single presses (``NaN``
        elsewhere and in batches).
    segment, param : (n, k)
        The capsule segment and the parameter along it of the most loaded point.
    column, sink : (n,) float
        Soft tissue above the first bone on each axis (capped) and the modelled sink (mm).
    sheet_depth : (n, s) float
        Mid-depth of each fascial sheet on each axis (``inf`` where the axis misses it).
    skin_depth : (n, k) float
        The depth a report quotes of each flagged structure, below the skin
        (:func:`handatlas.lookup.capsules.below_skin`), for single presses (``NaN`` elsewhere and in
        batches, as ``distance``).
    """

    ids: tuple[str, ...]
    points: np.ndarray
    directions: np.ndarray
    force_n: float
    pressure_kpa: float
    radius_mm: float
    verdict: np.ndarray
    stress: np.ndarray
    level: np.ndarray
    at_risk: np.ndarray
    shielded: np.ndarray
    pinned: np.ndarray
    depth: np.ndarray
    offset: np.ndarray
    distance: np.ndarray
    segment: np.ndarray
    param: np.ndarray
    column: np.ndarray
    sink: np.ndarray
    sheet_depth: np.ndarray | None = None
    skin_depth: np.ndarray | None = None


# ----------------------------------------------------------------------------- the batch core
def evaluate(
    index: LookupIndex,
    points: np.ndarray,
    directions: np.ndarray,
    *,
    force_n: float,
    radius_mm: float,
    with_distance: bool = False,
) -> PressBatch:
    """The pressure model for many presses on the skin (points and unit inward axes given).

    Parameters
    ----------
    index
        The atlas's lookup index.
    points, directions : (n, 3) float
        Contact points and unit inward axes.
    force_n, radius_mm
        The load and the pad (checked by the caller).
    with_distance
        Also compute contact-to-surface distances (single presses).
    """
    points = np.ascontiguousarray(points, dtype=np.float64)
    directions = np.ascontiguousarray(directions, dtype=np.float64)
    column = np.minimum(index.bones.first_hit(points, directions), COLUMN_MAX_MM)
    sheets = index.sheet_depths(points, directions)
    return assess(index, points, directions, column, sheets, force_n=force_n, radius_mm=radius_mm,
                  with_distance=with_distance)


def assess(
    index: LookupIndex,
    points: np.ndarray,
    directions: np.ndarray,
    column: np.ndarray,
    sheets: np.ndarray,
    *,
    force_n: float,
    radius_mm: float,
    with_distance: bool = False,
) -> PressBatch:
    """The pressure model for presses whose axes' soft-tissue column and sheet depths are known.

    The second half of :func:`evaluate` (which casts the axes' rays itself); :func:`press` finds
    the column and the sheets of its single axis in one compiled call
    (:meth:`~handatlas.lookup.index.LookupIndex.axis`) and comes here.

    Parameters
    ----------
    column : (n,) float
        Soft tissue above the first bone on each axis, capped at
        :data:`~handatlas.lookup.model.COLUMN_MAX_MM`.
    sheets : (n, s) float
        Mid-depth of each fascial sheet on each axis (:meth:`LookupIndex.sheet_depths
        <handatlas.lookup.index.LookupIndex.sheet_depths>`).
    """
    caps = index.capsules
    pressure = pressure_kpa(force_n, radius_mm)
    strain = float(tissue_strain(pressure))
    # candidates are chosen for a reference force at least this one, so that each structure's
    # critical point (and whether it is pinned or shielded) is the same for every force up to it
    reference = pressure_kpa(max(force_n, REFERENCE_FORCE_N), radius_mm)
    reference_strain = float(tissue_strain(reference))
    loads = stress_capsules(caps, points, directions, pad_mm=radius_mm, strain=strain, columns=column,
                            sheet_depth=sheets,
                            sheet_factor=index.sheet_factor,
                            reach_mm=reach_mm(reference, radius_mm, reference_strain, column),
                            need_load=flag_floor_kpa() / reference, prune_strain=reference_strain,
                            flag_load=index.flag_floor / pressure,
                            flag_reach=_flag_reach(index, pressure, radius_mm, strain, column))
    stress = pressure * loads.load
    shielded = np.zeros(stress.shape, bool)
    pinned = np.zeros(stress.shape, bool)
    # bone behind is looked for where a structure could be flagged, bone between where one is
    rows, cols = np.nonzero(stress > index.flag_floor[None, :])
    if len(rows):
        centre = critical_points(caps, loads.segment[rows, cols], loads.param[rows, cols])
        rad = caps.radius[loads.segment[rows, cols]]
        pinned[rows, cols] = pinned_against(index, points[rows], directions[rows], centre, rad)
    tolerance = np.where(pinned, index.pinned_tolerance[None, :], index.tolerance[None, :])
    level = level_codes(stress, tolerance, index.can_avoid[None, :])
    flagged = level > SAFE
    if len(rows):
        check = flagged[rows, cols]
        rows, cols, centre, rad = rows[check], cols[check], centre[check], rad[check]
        shielded[rows, cols] = behind_bone(index, points[rows], centre, rad)
    distance = np.full(stress.shape, np.nan)
    skin_depth = np.full(stress.shape, np.nan)
    if with_distance:
        rows, cols = np.nonzero(flagged)
        distance[rows, cols] = surface_distances(caps, points[rows], cols)
        seg = loads.segment[rows, cols]
        skin_depth[rows, cols] = index.depth_below_skin(points[rows], directions[rows],
                                                        critical_points(caps, seg, loads.param[rows, cols]),
                                                        caps.radius[seg], loads.depth[rows, cols])
    at_risk = flagged & ~shielded
    verdict = np.where(at_risk, level, SAFE).max(axis=1, initial=SAFE).astype(np.int8)
    return PressBatch(caps.ids, points, directions, float(force_n), pressure, float(radius_mm), verdict,
                      stress, level, at_risk, flagged & shielded, pinned, loads.depth, loads.offset,
                      distance, loads.segment, loads.param, column, strain * column, sheets, skin_depth)


def _flag_reach(index: LookupIndex, pressure: float, radius_mm: float, strain: float,
                column: np.ndarray) -> np.ndarray:
    """(n, k) distance from each contact beyond which this press cannot flag each structure: the
    reach (:func:`handatlas.lookup.model.reach_mm`) at the structure's own flagging floor (computed
    once per distinct floor)."""
    floors, which = index.flag_floors
    return reach_mm(pressure, radius_mm, strain, np.asarray(column)[:, None], floor_kpa=floors)[:, which]


# ----------------------------------------------------------------------------- where
@dataclass(frozen=True)
class Contact:
    """A resolved press location."""

    point: np.ndarray
    normal: np.ndarray
    landmark: str | None


def resolve(atlas: Atlas, where: str | ArrayLike) -> Contact:
    """A landmark id, a structure name (its nearest skin point) or coordinates -> skin contact.

    A landmark id wins over a structure of the same name.

    Raises
    ------
    handatlas.atlas.UnknownNameError
        For a name that is neither a landmark nor a structure (with suggestions).
    ValueError
        For coordinates that are malformed, not finite, or more than
        :data:`MAX_SKIN_GAP_MM` from the skin.
    """
    index = lookup_index(atlas)
    if isinstance(where, str):
        key = where.strip().lower()
        if key in atlas.landmarks:
            lm = atlas.landmarks[key]
            return Contact(lm.point.copy(), lm.normal.copy(), lm.id)
        if where not in atlas:
            raise unknown_name("landmark or structure", where, [*atlas.landmarks, *atlas.aliases])
        structure = atlas.structure(where)
        ids = atlas.with_geometry(structure.id)
        if not ids or ids == ("skin",):
            msg = f"{structure.name!r} has no geometry under the skin to press over"
            raise ValueError(msg)
        verts = np.vstack([atlas.mesh(i).vertices for i in ids if i != "skin"])
        _, _, signed = index.snap_to_skin(verts)
        nearest = verts[np.argmin(signed)]
        closest, normals, _ = index.snap_to_skin(nearest[None])
        return Contact(closest[0], normals[0], None)
    point = as_points(where, name="point")
    if len(point) != 1:
        msg = f"press takes one point, got {len(point)}; use press_many for batches"
        raise ValueError(msg)
    closest, normals, signed = index.snap_to_skin(point)
    if abs(signed[0]) > MAX_SKIN_GAP_MM:
        side = "inside" if signed[0] > 0 else "outside"
        msg = (f"point {np.round(point[0], 2).tolist()} is {abs(signed[0]):.1f} mm {side} the skin; "
               f"a press must be within {MAX_SKIN_GAP_MM:g} mm of the skin")
        raise ValueError(msg)
    return Contact(closest[0], normals[0], None)


def _inward(normal: np.ndarray, direction: ArrayLike | None) -> np.ndarray:
    if direction is None:
        return -normal
    vec = as_points(direction, name="direction")[0]
    length = float(np.linalg.norm(vec))
    if length == 0:
        msg = "direction must not be zero"
        raise ValueError(msg)
    vec = vec / length
    if vec @ normal >= 0:
        msg = f"direction {np.round(vec, 3).tolist()} points out of the skin; press inward"
        raise ValueError(msg)
    return vec


# ----------------------------------------------------------------------------- the report
def press(
    atlas: Atlas,
    where: str | ArrayLike,
    *,
    grade: str = DEFAULT_GRADE,
    radius_mm: float = DEFAULT_RADIUS_MM,
    force_n: float | None = None,
    direction: ArrayLike | None = None,
) -> PressReport:
    """Press at a landmark, over a structure, or at coordinates; report what is at risk.

    Parameters
    ----------
    atlas
        The atlas.
    where
        A landmark id (``"radial_pulse"``), a structure name (its nearest skin point) or
        ``(x, y, z)`` in mm (snapped to the nearest skin point).
    grade
        ``light``, ``moderate`` or ``firm``: a force on the pad
        (:data:`handatlas.lookup.model.GRADE_FORCE_N`).
    radius_mm
        Contact radius (the pad).
    force_n
        The force (N) instead of the grade's.
    direction
        Inward axis; default the negated skin normal.

    Raises
    ------
    ValueError
        For an unknown grade, a force or radius that is not a finite positive number, or a bad
        point or direction.

    Examples
    --------
    >>> report = atlas.press("radial_pulse", grade="firm")  # doctest: +SKIP
    >>> report.verdict, report.at_risk[0].id  # doctest: +SKIP
    ('avoid', 'radial_artery')
    """
    grade, force, radius = resolve_load(grade, force_n, radius_mm)
    contact = resolve(atlas, where)
    inward = _inward(contact.normal, direction)
    index = lookup_index(atlas)
    bone, sheets, crossings = index.axis(contact.point, inward, start_mm=LAYER_START_MM)
    batch = assess_one(index, contact.point, inward, min(bone, COLUMN_MAX_MM), sheets, force_n=force,
                       radius_mm=radius)
    rows = []
    flagged = np.flatnonzero(batch.level[0] > SAFE).tolist()
    if flagged:
        level, stress, pinned, shield = (x[0].tolist() for x in (batch.level, batch.stress, batch.pinned,
                                                                batch.shielded))
        depth, distance = batch.skin_depth[0].tolist(), batch.distance[0].tolist()
        tolerance, pinned_tolerance = index.tolerance_list
        for k in flagged:
            s = atlas.structures[batch.ids[k]]
            ratio = stress[k] / (pinned_tolerance[k] if pinned[k] else tolerance[k])
            item = AtRisk(s.id, s.name, s.tissue or "", s.risk or "", distance[k], depth[k], stress[k],
                          LEVELS[level[k]], pinned[k])
            rows.append((shield[k], -level[k], -ratio, item))
    rows.sort(key=lambda r: (r[1], r[2], r[3].depth_mm))
    at_risk = tuple(r[3] for r in rows if not r[0])
    over_tolerance = next((-r[2] > 1.0 for r in rows if not r[0]), False)
    shielded = tuple(r[3] for r in rows if r[0])
    layers = tuple(Layer(c.id, c.entry_mm, c.exit_mm) for c in crossings)
    # the territory of the nearest skin vertex, as territory_codes_at finds it (through the skin's BVH)
    territory = atlas.territory_labels[int(atlas.territory_codes()[index.skin.nearest_vertex(contact.point)])]
    verdict = VERDICTS[int(batch.verdict[0])]
    most_loaded = _most_loaded(atlas, index, batch) if not (at_risk or shielded) else None
    against = _pinned_on(atlas, index, batch, at_risk[0], layers) if at_risk and at_risk[0].pinned else ""
    message = explain(verdict=verdict, load=_load_text(grade, force), at_risk=at_risk, shielded=shielded,
                      most_loaded=most_loaded, atlas=atlas, layers=layers, pinned_on=against,
                      over_tolerance=over_tolerance, light=force <= GRADE_FORCE_N["light"])
    return PressReport(contact.point, contact.normal, inward, radius, grade, force, batch.pressure_kpa,
                       float(batch.sink[0]), contact.landmark, territory, verdict, at_risk, shielded, layers,
                       message, most_loaded)


def _load_text(grade: str, force: float) -> str:
    """``"firm"``, or ``"25 N"`` when the force is not the grade's."""
    return grade if force == GRADE_FORCE_N[grade] else f"{force:g} N"


def _most_loaded(atlas: Atlas, index: LookupIndex, batch: PressBatch) -> tuple[str, float, float] | None:
    """``(name, depth mm, stress kPa)`` of the structure nearest its tolerance, not behind bone.

    For the message of a safe press: of the :data:`MOST_LOADED_CHECKS` structures with the highest
    stress over tolerance (and at least :data:`WORTH_A_NUMBER_KPA`), the first with no bone between
    the contact and its critical point, its depth quoted below the skin
    (:func:`handatlas.lookup.single.most_loaded_one`: every structure's stress with no reach and no
    floor, by branch and bound across the structures).
    """
    found = most_loaded_one(index, batch, checks=MOST_LOADED_CHECKS, worth_kpa=WORTH_A_NUMBER_KPA)
    if found is None:
        return None
    k, stress, depth = found
    return atlas.structures[batch.ids[k]].name, depth, stress


def _lower(name: str) -> str:
    return name[0].lower() + name[1:]


def _others(rows: Sequence[AtRisk]) -> str:
    """`` The ulnar nerve and 2 more are flagged too.`` for the rows after the first."""
    rest = rows[1:]
    if not rest:
        return ""
    named = f"the {_lower(rest[0].name)}"
    if len(rest) == 1:
        return f" The {named[4:]} is flagged too."
    return f" The {named[4:]} and {len(rest) - 1} more are flagged too."


def _pinned_on(atlas: Atlas, index: LookupIndex, batch: PressBatch, item: AtRisk,
               layers: Sequence[Layer]) -> str:
    """What the pinned structure ``item`` of a press (one row, ``batch``) is pinned against, for its
    message (``"the flexor retinaculum"``): the first bone or pinning sheet
    (:data:`~handatlas.lookup.model.PINNING_SHEETS`, :data:`~handatlas.lookup.model.CONFINING_SHEETS`)
    the press's axis meets below its depth; for a structure beside the axis, which the axis may
    pass by, the one the pinning rule found (:func:`~handatlas.lookup.pinning.pinned_by`)."""
    for layer in layers:
        s = atlas.structures[layer.id]
        pins = s.tissue == "bone" or s.id in PINNING_SHEETS + CONFINING_SHEETS
        if pins and layer.exit_mm > item.depth_mm:
            return f"the {_lower(s.name)}"
    k = batch.ids.index(item.id)
    segment = batch.segment[0, k]
    centre = critical_points(index.capsules, batch.segment[0, k:k + 1], batch.param[0, k:k + 1])[0]
    found = pinned_by(index, batch.directions[0], centre, float(index.capsules.radius[segment]))
    return f"the {_lower(atlas.structures[found].name)}" if found else ""


def explain(*, verdict: str, load: str, at_risk: Sequence[AtRisk], shielded: Sequence[AtRisk],
            most_loaded: tuple[str, float, float] | None, atlas: Atlas, layers: Sequence[Layer],
            pinned_on: str = "", over_tolerance: bool = False, light: bool = False) -> str:
    """One sentence (or two) a student understands.

    It names the worst structure (``at_risk[0]``), quotes its ``depth_mm`` as the at-risk table
    does (one decimal), what it is pinned against when it is (``pinned_on``, :func:`_pinned_on`),
    whether a caution is over its tolerance (``over_tolerance``: a vein, never worse than caution)
    and says what to do instead.
    """
    capital = load[:1].upper() + load[1:]  # "Firm", "3.3 N" (str.capitalize would give "3.3 n")
    if verdict in ("avoid", "caution"):
        worst = at_risk[0]
        pinned = (f" and pinned against {pinned_on}" if pinned_on else " and pinned") if worst.pinned else ""
        where = f"the {_lower(worst.name)}, {worst.depth_mm:.1f} mm deep{pinned},"
        stress = f"{worst.stress_kpa:.0f} kPa"
        advice = LIGHT_ADVICE if light else ADVICE
        if verdict == "avoid":
            opening = f"Even {load} pressure is too much here" if light else f"Avoid {load} pressure here"
            return (f"{opening}: {where} would take {stress}, more than it tolerates; {advice}."
                    + _others(at_risk))
        # a vein is flagged caution at most, even over its tolerance
        near = "more than it tolerates" if over_tolerance else "near what it tolerates"
        return (f"Take care with {load} pressure here: {where} takes {stress}, {near}; "
                f"{advice}, and do not hold." + _others(at_risk))
    if shielded:
        bones = [layer.id for layer in layers if atlas.structures[layer.id].tissue == "bone"]
        behind = f" behind the {atlas.structures[bones[0]].name.lower()}" if bones else " behind bone"
        return (f"{capital} pressure is safe here: the {_lower(shielded[0].name)} lies"
                f"{behind}, which the pressure does not pass.")
    if most_loaded is not None:
        name, depth, stress_kpa = most_loaded
        return (f"{capital} pressure is safe here: the most loaded nerve or vessel, the "
                f"{_lower(name)} ({depth:.1f} mm deep), takes {stress_kpa:.0f} kPa, below what calls for "
                f"caution.")
    return f"{capital} pressure is safe here: no nerve, artery or vein within reach."


# ----------------------------------------------------------------------------- batches
def press_many(
    atlas: Atlas,
    points: ArrayLike,
    normals: ArrayLike | None = None,
    *,
    grade: str = DEFAULT_GRADE,
    radius_mm: float = DEFAULT_RADIUS_MM,
    force_n: float | None = None,
) -> PressBatch:
    """Many presses at once.

    Parameters
    ----------
    points : (n, 3) float
        Skin points (mm).  Without ``normals`` they are snapped to the skin first.
    normals : (n, 3) float, optional
        Outward unit normals at ``points``; the inward axes are their negatives.
    grade, radius_mm, force_n
        As for :func:`press`.

    Returns
    -------
    PressBatch
    """
    _, force, radius = resolve_load(grade, force_n, radius_mm)
    pts = as_points(points, name="points")
    index = lookup_index(atlas)
    if normals is None:
        pts, nrm, signed = index.snap_to_skin(pts)
        far = np.abs(signed) > MAX_SKIN_GAP_MM
        if far.any():
            i = int(np.flatnonzero(far)[0])
            msg = (f"points[{i}] is {abs(signed[i]):.1f} mm from the skin; presses must be within "
                   f"{MAX_SKIN_GAP_MM:g} mm")
            raise ValueError(msg)
    else:
        nrm = as_points(normals, name="normals")
        if nrm.shape != pts.shape:
            msg = f"normals has shape {nrm.shape}, points {pts.shape}"
            raise ValueError(msg)
        return evaluate(index, pts, inward_axes(nrm), force_n=force, radius_mm=radius)
    return evaluate(index, pts, -nrm, force_n=force, radius_mm=radius)


def inward_axes(normals: np.ndarray) -> np.ndarray:
    """(n, 3) the press axes at skin points with outward ``normals`` (n, 3): the negated unit normals
    (``press_many`` with normals, and ``safety_map``)."""
    return -(normals / np.linalg.norm(normals, axis=1, keepdims=True))


def safety_map(atlas: Atlas, *, grade: str = "firm", radius_mm: float = DEFAULT_RADIUS_MM,
               force_n: float | None = None) -> np.ndarray:
    """The verdict code of a press at every skin vertex (see ``VERDICTS``).

    The verdicts of ``press_many`` at the skin's vertices along their negated normals; what does
    not depend on the load is worked out once per pad and kept (:mod:`handatlas.lookup.skinmap`),
    so the maps of the other grades take a fraction of the first's time.

    Examples
    --------
    >>> codes = atlas.safety_map(grade="firm")  # doctest: +SKIP
    >>> (codes == AVOID).mean()  # doctest: +SKIP
    """
    _, force, radius = resolve_load(grade, force_n, radius_mm)
    skin = atlas.skin
    axes = inward_axes(np.asarray(skin.vertex_normals, dtype=np.float64))
    presses = skin_presses(lookup_index(atlas), skin.vertices, axes, radius_mm=radius, force_n=force)
    return presses.verdicts(force)


def verdict_shares(atlas: Atlas, codes: ArrayLike) -> dict[str, float]:
    """The share of the skin's area under each verdict of a safety map (each vertex weighs a third of
    the area of its faces).

    Examples
    --------
    >>> verdict_shares(atlas, atlas.safety_map(grade="firm"))  # doctest: +SKIP
    {'safe': 0.2, 'caution': 0.53, 'avoid': 0.27}
    """
    skin = atlas.skin
    codes = np.asarray(codes)
    if codes.shape != (len(skin.vertices),):
        msg = f"codes has shape {codes.shape}, the skin has {len(skin.vertices)} vertices"
        raise ValueError(msg)
    weight = np.zeros(len(skin.vertices))
    np.add.at(weight, skin.faces.ravel(), np.repeat(skin.area_faces / 3.0, 3))
    weight /= weight.sum()
    return {name: float(weight[codes == i].sum()) for i, name in enumerate(VERDICTS)}


__all__ = ["AVOID", "CAUTION", "SAFE", "AtRisk", "Layer", "PressBatch", "PressReport", "assess", "evaluate",
           "inward_axes", "press", "press_many", "safety_map", "verdict_shares"]
