"""What bone does to a structure under a press: pins it from behind, or shields it from in front.

The definitions, in one place: :func:`pinned_against` (used on arrays by the batch path and the
safety map; the compiled single press calls the same :func:`is_pinned` and :func:`is_confined` on
scalars) and :func:`behind_bone` (the batch path and the safety map; the compiled single press
calls the same :func:`shielding_ray` and :func:`is_shielded` on scalars):

* *pinned*: bone (or a sheet of :data:`~handatlas.lookup.model.PINNING_SHEETS`, the index's
  ``backing`` rays) lies within :data:`~handatlas.lookup.model.PINNED_GAP_MM` behind the
  structure's surface, along the press axis from its critical point's centre; or it is confined
  in a fibro-osseous tunnel (a sheet of :data:`~handatlas.lookup.model.CONFINING_SHEETS` between
  it and the skin, bone within :data:`~handatlas.lookup.model.CANAL_DEPTH_MM` behind it);
* *shielded*: bone (the index's ``bones`` rays) lies between the contact point and the structure,
  on the straight line to its critical point's centre, more than :data:`SHIELD_TOLERANCE_MM` short
  of its surface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from handatlas.lookup import model
from handatlas.lookup.jit import njit

if TYPE_CHECKING:
    from handatlas.lookup.index import LookupIndex

#: A bone hit this much short of a structure still shields (mm): grazing hits do not count.
SHIELD_TOLERANCE_MM = 0.2


def pinned_gap_mm() -> float:
    """:data:`handatlas.lookup.model.PINNED_GAP_MM`, read when called (the calibration sets it)."""
    return float(model.PINNED_GAP_MM)


@njit
def is_pinned(behind_mm, radius_mm, gap_mm):
    """Pinned: the first hit of the pinning ray (from the centre) is within ``gap_mm`` of the surface."""
    return behind_mm <= radius_mm + gap_mm


@njit
def is_confined(roof_mm, depth_mm, floor_mm, radius_mm, canal_mm):
    """Confined in a tunnel: the roof (a confining sheet, looked for from the centre back towards
    the skin) lies between it and the contact, ``depth_mm`` along the axis, and the floor (bone,
    looked for from the centre along the axis) within ``canal_mm`` of its surface."""
    return (roof_mm < depth_mm) & (floor_mm <= radius_mm + canal_mm)


@njit
def shielding_ray(px, py, pz, cx, cy, cz):
    """The ray that looks for bone in between: from the contact ``p`` towards the centre ``c``; with
    the distance to the centre."""
    tx, ty, tz = cx - px, cy - py, cz - pz
    length = np.sqrt(tx * tx + ty * ty + tz * tz)
    scale = max(length, 1e-9)
    return px, py, pz, tx / scale, ty / scale, tz / scale, length


@njit
def is_shielded(bone_mm, length_mm, radius_mm, tolerance_mm):
    """Shielded: the shielding ray meets bone more than ``tolerance_mm`` short of the surface."""
    return bone_mm < length_mm - radius_mm - tolerance_mm


def pinned_against(index: LookupIndex, points: np.ndarray, directions: np.ndarray, centres: np.ndarray,
                   radii: np.ndarray) -> np.ndarray:
    """Whether each structure point is pinned under its press: it cannot move away from the load;
    the one definition the batch path, the single press and the safety map apply.

    Pinned against bone: bone (or a sheet of :data:`~handatlas.lookup.model.PINNING_SHEETS`) within
    :data:`~handatlas.lookup.model.PINNED_GAP_MM` behind its surface along the axis.  Or confined in
    a fibro-osseous tunnel: a sheet of :data:`~handatlas.lookup.model.CONFINING_SHEETS` crossed by
    the axis between it and the skin, and bone within
    :data:`~handatlas.lookup.model.CANAL_DEPTH_MM` behind it (the median nerve in the carpal tunnel).

    Parameters
    ----------
    index
        The atlas's lookup index.
    points, directions : (m, 3) float
        Each press's contact point and unit inward axis.
    centres : (m, 3) float
        The structure's critical point (on its centre line).
    radii : (m,) float
        The structure's radius there.
    """
    radii = np.asarray(radii, dtype=np.float64)
    behind = index.backing.first_hit(centres, directions)
    pinned = np.asarray(is_pinned(behind, radii, pinned_gap_mm()), dtype=bool)
    if index.roofs is None or len(centres) == 0:
        return pinned
    depth = np.einsum("ij,ij->i", centres - points, directions)
    roof = np.full(len(centres), np.inf)
    roof[~pinned] = index.roofs.first_hit(centres[~pinned], -directions[~pinned])
    roofed = roof < depth
    if roofed.any():
        floor = index.bones.first_hit(centres[roofed], directions[roofed])
        pinned[roofed] = is_confined(roof[roofed], depth[roofed], floor, radii[roofed],
                                     float(model.CANAL_DEPTH_MM))
    return pinned


def pinned_by(index: LookupIndex, direction: np.ndarray, centre: np.ndarray, radius: float) -> str | None:
    """What a structure that :func:`pinned_against` finds pinned (critical point ``centre``, capsule
    radius ``radius``, pressed along the unit ``direction``) is pinned against: the bone or sheet
    behind it within the gap, else the confining sheet above it (a structure id; ``None`` when it
    is not pinned)."""
    centre = np.asarray(centre, dtype=np.float64)[None]
    direction = np.asarray(direction, dtype=np.float64)[None]
    _, behind, owner = index.backing.hits(centre, direction)
    if len(behind) and is_pinned(float(behind[0]), float(radius), pinned_gap_mm()):
        return index.backing.ids[int(owner[0])]
    if index.roofs is not None:
        _, above, owner = index.roofs.hits(centre, -direction)
        if len(above):
            return index.roofs.ids[int(owner[0])]
    return None


def behind_bone(index: LookupIndex, points: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Whether bone shields each structure (centre ``centres``, capsule radius ``radii``) from the
    contact point it is pressed from (see the module's docstring)."""
    towards = centres - points
    length = np.linalg.norm(towards, axis=1)
    unit = towards / np.maximum(length, 1e-9)[:, None]
    bone = index.bones.first_hit(points, unit)
    return np.asarray(is_shielded(bone, length, np.asarray(radii, dtype=np.float64), SHIELD_TOLERANCE_MM),
                      dtype=bool)
