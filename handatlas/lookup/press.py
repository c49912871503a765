"""Pressure queries: "I press here, this hard: what is at risk, and how deep?"

The model (DESIGN.md, "The pressure model"): a press is a skin point, an inward axis (the
negated outward skin normal unless given), a contact radius ``r`` (a thumb pad, 8 mm) and a
grade with its depth ``d`` (light 4, moderate 10, firm 20 mm).  The pad is a sphere of radius
``r`` sinking along the axis.  For each structure, ``depth_mm`` is how far the pad sinks before
it first touches the structure and ``distance_mm`` the distance from the contact point to its
surface.  A structure is at risk when ``depth_mm <= d``, its risk class is high or caution, and
no bone lies between the contact point and where the pad would touch it (pressure does not
pass through bone).  The verdict is ``avoid`` (a high-risk structure at risk), ``caution``
(only caution ones) or ``safe``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from handatlas.atlas import unknown_name
from handatlas.lookup.capsules import press_capsules, touch_points
from handatlas.lookup.grades import (
    AVOID,
    CAUTION,
    DEFAULT_GRADE,
    DEFAULT_RADIUS_MM,
    SAFE,
    VERDICTS,
    check_radius,
    grade_depth,
)
from handatlas.lookup.index import LookupIndex, lookup_index
from handatlas.lookup.territory import as_points, territory_codes_at

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from handatlas.atlas import Atlas

#: Points further than this from the skin (inside or outside) are not presses (mm).
MAX_SKIN_GAP_MM = 10.0
#: How deep to look for the next structure beyond a grade's depth, for the explanation (mm).
NEAREST_SEARCH_MM = 40.0
#: A bone hit this much short of the contact still shields (mm): grazing hits do not count.
SHIELD_TOLERANCE_MM = 0.2


@dataclass(frozen=True)
class AtRisk:
    """A structure the press reaches."""

    id: str
    name: str
    tissue: str
    risk: str
    distance_mm: float
    depth_mm: float

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "tissue": self.tissue, "risk": self.risk,
                "distance_mm": round(self.distance_mm, 2), "depth_mm": round(self.depth_mm, 2)}


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
    """The answer to one press; ``as_dict()`` is the JSON of ``handatlas press --json``."""

    point: np.ndarray
    normal: np.ndarray
    direction: np.ndarray
    radius_mm: float
    grade: str
    depth_limit_mm: float
    landmark: str | None
    territory: str
    verdict: str
    at_risk: tuple[AtRisk, ...]
    shielded: tuple[AtRisk, ...]
    layers: tuple[Layer, ...]
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "point": [round(float(v), 3) for v in self.point],
            "normal": [round(float(v), 4) for v in self.normal],
            "direction": [round(float(v), 4) for v in self.direction],
            "radius_mm": self.radius_mm,
            "grade": self.grade,
            "depth_limit_mm": self.depth_limit_mm,
            "landmark": self.landmark,
            "territory": self.territory,
            "verdict": self.verdict,
            "at_risk": [a.as_dict() for a in self.at_risk],
            "shielded": [a.as_dict() for a in self.shielded],
            "layers": [layer.as_dict() for layer in self.layers],
            "message": self.message,
        }


@dataclass(frozen=True)
class PressBatch:
    """Many presses at once (``press_many``): arrays, one row per press.

    Attributes
    ----------
    ids : tuple of str
        The structures that can be at risk (columns).
    verdict : (n,) int8
        Codes into :data:`handatlas.lookup.grades.VERDICTS`.
    at_risk, shielded : (n, k) bool
    depth : (n, k) float
        How far each pad sinks before touching each structure (``inf``: not within the grade).
    distance : (n, k) float
        Contact point to surface, for single presses (``NaN`` in batches).
    """

    ids: tuple[str, ...]
    points: np.ndarray
    directions: np.ndarray
    verdict: np.ndarray
    at_risk: np.ndarray
    shielded: np.ndarray
    depth: np.ndarray
    distance: np.ndarray


# ----------------------------------------------------------------------------- the batch core
def evaluate(
    index: LookupIndex,
    points: np.ndarray,
    directions: np.ndarray,
    *,
    depth_limit: float,
    radius_mm: float,
    with_distance: bool = False,
) -> PressBatch:
    """The pressure model for many presses on the skin (points and unit inward axes given)."""
    depth, distance, segment = press_capsules(index.capsules, points, directions, pad_mm=radius_mm,
                                              max_depth_mm=depth_limit, with_distance=with_distance)
    reached = depth <= depth_limit
    rows, cols = np.nonzero(reached)
    shielded = np.zeros_like(reached)
    if len(rows):
        centres = points[rows] - radius_mm * directions[rows] + depth[rows, cols][:, None] * directions[rows]
        contact = touch_points(index.capsules, centres, segment[rows, cols])
        towards = contact - points[rows]
        length = np.linalg.norm(towards, axis=1)
        unit = towards / np.maximum(length, 1e-9)[:, None]
        bone = index.bones.first_hit(points[rows], unit)
        shielded[rows, cols] = bone < length - SHIELD_TOLERANCE_MM
    at_risk = reached & ~shielded
    codes = np.where(at_risk, index.risk_codes[None, :], SAFE)
    verdict = codes.max(axis=1, initial=SAFE).astype(np.int8)
    return PressBatch(index.capsules.ids, points, directions, verdict, at_risk, shielded, depth, distance)


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
        ``light``, ``moderate`` or ``firm``.
    radius_mm
        Contact radius (the pad).
    direction
        Inward axis; default the negated skin normal.

    Examples
    --------
    >>> report = atlas.press("radial_pulse", grade="firm")  # doctest: +SKIP
    >>> report.verdict, report.at_risk[0].id  # doctest: +SKIP
    ('avoid', 'radial_artery')
    """
    limit = grade_depth(grade)
    radius = check_radius(radius_mm)
    contact = resolve(atlas, where)
    inward = _inward(contact.normal, direction)
    index = lookup_index(atlas)
    batch = evaluate(index, contact.point[None], inward[None], depth_limit=limit, radius_mm=radius,
                     with_distance=True)
    rows = []
    for k, sid in enumerate(batch.ids):
        if batch.depth[0, k] <= limit:
            s = atlas.structures[sid]
            rows.append((bool(batch.at_risk[0, k]), AtRisk(sid, s.name, s.tissue or "", s.risk or "",
                                                           float(batch.distance[0, k]),
                                                           float(batch.depth[0, k]))))
    rows.sort(key=lambda r: (r[1].depth_mm, r[1].distance_mm))
    at_risk = tuple(r for ok, r in rows if ok)
    shielded = tuple(r for ok, r in rows if not ok)
    layers = tuple(Layer(c.id, c.entry_mm, c.exit_mm)
                   for c in index.everything.crossings(contact.point, inward, start_mm=0.5))
    territory = atlas.territory_labels[int(territory_codes_at(atlas, contact.point)[0])]
    verdict = VERDICTS[int(batch.verdict[0])]
    nearest = _nearest_beyond(atlas, index, contact.point, inward, radius, limit)
    message = explain(verdict=verdict, grade=grade.strip().lower(), at_risk=at_risk, shielded=shielded,
                      nearest=nearest, atlas=atlas, layers=layers)
    return PressReport(contact.point, contact.normal, inward, radius, grade.strip().lower(), limit,
                       contact.landmark, territory, verdict, at_risk, shielded, layers, message)


def _nearest_beyond(atlas: Atlas, index: LookupIndex, point: np.ndarray, inward: np.ndarray,
                    radius: float, limit: float) -> tuple[str, float] | None:
    """The structure the pad would reach next beyond the grade's depth, with that depth."""
    depth, _, _ = press_capsules(index.capsules, point[None], inward[None], pad_mm=radius,
                                 max_depth_mm=NEAREST_SEARCH_MM, with_distance=False)
    beyond = np.where(depth[0] > limit, depth[0], np.inf)
    if not np.isfinite(beyond).any():
        return None
    k = int(np.argmin(beyond))
    return atlas.structures[index.capsules.ids[k]].name, float(beyond[k])


def _lower(name: str) -> str:
    return name[0].lower() + name[1:]


def _beneath(rows: Sequence[AtRisk], limit: int = 2) -> str:
    """E.g. 'the radial artery lies 3 mm and the cephalic vein 2 mm beneath this point'."""
    parts = [f"the {_lower(r.name)} {max(r.distance_mm, 0.0):.0f} mm" for r in rows[:limit]]
    parts[0] = parts[0].replace(f"{_lower(rows[0].name)} ", f"{_lower(rows[0].name)} lies ", 1)
    if len(rows) > limit:
        parts.append(f"{len(rows) - limit} more")
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{joined} beneath this point"


def explain(*, verdict: str, grade: str, at_risk: Sequence[AtRisk], shielded: Sequence[AtRisk],
            nearest: tuple[str, float] | None, atlas: Atlas, layers: Sequence[Layer]) -> str:
    """One sentence a student understands."""
    if verdict == "avoid":
        high = [r for r in at_risk if r.risk == "high"]
        if grade == "light":
            return (f"Even light pressure reaches here: {_beneath(high)}; keep contact broad and brief, "
                    f"and never hold pressure.")
        return f"Avoid {grade} pressure here: {_beneath(high)}; use light, broad pressure instead."
    if verdict == "caution":
        return f"Take care with {grade} pressure: {_beneath(at_risk)}; keep strokes light and brief."
    if shielded:
        bones = [layer.id for layer in layers if atlas.structures[layer.id].tissue == "bone"]
        behind = f" behind the {atlas.structures[bones[0]].name.lower()}" if bones else " behind bone"
        return (f"{grade.capitalize()} pressure is safe here: the {shielded[0].name.lower()} lies"
                f"{behind}, which the pressure does not pass.")
    if nearest is not None:
        return (f"{grade.capitalize()} pressure is safe here: no nerve, artery or vein within reach; "
                f"the nearest, the {_lower(nearest[0])}, would be reached "
                f"{nearest[1]:.0f} mm deep.")
    return f"{grade.capitalize()} pressure is safe here: no nerve, artery or vein within reach."


# ----------------------------------------------------------------------------- batches
def press_many(
    atlas: Atlas,
    points: ArrayLike,
    normals: ArrayLike | None = None,
    *,
    grade: str = DEFAULT_GRADE,
    radius_mm: float = DEFAULT_RADIUS_MM,
) -> PressBatch:
    """Many presses at once.

    Parameters
    ----------
    points : (n, 3) float
        Skin points (mm).  Without ``normals`` they are snapped to the skin first.
    normals : (n, 3) float, optional
        Outward unit normals at ``points``; the inward axes are their negatives.

    Returns
    -------
    PressBatch
    """
    limit = grade_depth(grade)
    radius = check_radius(radius_mm)
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
        nrm = nrm / np.linalg.norm(nrm, axis=1, keepdims=True)
    return evaluate(index, pts, -nrm, depth_limit=limit, radius_mm=radius)


def safety_map(atlas: Atlas, *, grade: str = "firm", radius_mm: float = DEFAULT_RADIUS_MM) -> np.ndarray:
    """The verdict code of a press at every skin vertex (see ``VERDICTS``).

    Examples
    --------
    >>> codes = atlas.safety_map(grade="firm")  # doctest: +SKIP
    >>> (codes == AVOID).mean()  # doctest: +SKIP
    """
    skin = atlas.skin
    return press_many(atlas, skin.vertices, skin.vertex_normals, grade=grade, radius_mm=radius_mm).verdict


__all__ = ["AVOID", "CAUTION", "SAFE", "AtRisk", "Layer", "PressBatch", "PressReport", "press", "press_many",
           "safety_map"]
