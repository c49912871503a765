"""The safety map: a press at every skin vertex, keeping what does not depend on the load.

A structure's critical point is chosen among candidates picked for a reference force
(:data:`~handatlas.lookup.model.REFERENCE_FORCE_N`, or the press's own when larger), on the
undeformed tissue: for every force up to the reference it is the same point
(:func:`handatlas.lookup.capsules.stress_capsules`).  So are the soft-tissue column and the
sheets on each axis, the critical point's depth, offset and sheet factor, and whether bone pins
it or shields it: all of that is worked out once per pad radius and reference force, for the
largest force asked for so far (:class:`SkinPresses`), and kept on the atlas's index.  A safety
map for a force then only takes the half-space table at each candidate's compressed depth, the
levels and the verdicts; the rays for pinning and shielding are cast the first time a candidate
could be flagged.

The verdicts are those of :func:`handatlas.lookup.press.evaluate` (``press_many``): a structure
that ``evaluate`` leaves out for a force (beyond the reach, or unable to reach its flagging
floor, ``flag_load`` and ``flag_reach``) is below its floor here too, so it is not flagged either
way (``tests/test_press_fast_path.py`` and ``tests/test_safety_map_points.py`` compare them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from handatlas.lookup.capsules import _table_lookup, critical_points, stress_capsules
from handatlas.lookup.jit import njit
from handatlas.lookup.model import (
    COLUMN_MAX_MM,
    REFERENCE_FORCE_N,
    SAFE,
    TABLE_STEP,
    flag_floor_kpa,
    halfspace_table,
    level_codes,
    pressure_kpa,
    reach_mm,
    tissue_strain,
)
from handatlas.lookup.pinning import behind_bone, pinned_against

if TYPE_CHECKING:
    from handatlas.lookup.index import LookupIndex

#: How many (radius, reference force) entries an index keeps (each ~ 10-20 MB for the whole skin).
KEPT = 4


@njit
def _loads(depth, offset, factor, column, strain, pad, table, step, out):
    """``sigma_z / p`` at each candidate on the column compressed by ``strain``: the arithmetic of
    the stress kernel's ``load`` (:func:`handatlas.lookup.capsules._chunk_samples`)."""
    for m in range(depth.shape[0]):
        zs = depth[m]
        zz = zs * (1.0 - strain) if zs <= column[m] else zs - strain * column[m]
        out[m] = _table_lookup(table, step, zz / pad, offset[m] / pad) * factor[m]


class SkinPresses:
    """Presses at given skin points with one pad: every structure's critical point, kept.

    Parameters
    ----------
    index
        The atlas's lookup index.
    points, directions : (n, 3) float
        Contact points and unit inward axes.
    radius_mm
        The pad.
    force_n
        The largest force the verdicts are asked for: what it cannot flag is left out (no smaller
        force can flag it either, since the stress never falls as the force rises), as
        :func:`~handatlas.lookup.press.evaluate` leaves it out for that force.
    reference_force_n
        The force the candidates are picked for (at least
        :data:`~handatlas.lookup.model.REFERENCE_FORCE_N` and ``force_n``).
    """

    def __init__(self, index: LookupIndex, points: np.ndarray, directions: np.ndarray, *, radius_mm: float,
                 force_n: float, reference_force_n: float) -> None:
        from handatlas.lookup.press import _flag_reach as flag_reach

        self.index = index
        self.points = np.ascontiguousarray(points, dtype=np.float64)
        self.directions = np.ascontiguousarray(directions, dtype=np.float64)
        self.radius_mm = float(radius_mm)
        self.reference_force_n = float(reference_force_n)
        #: The largest force :meth:`verdicts` answers for.
        self.force_n = float(force_n)
        column = np.minimum(index.bones.first_hit(self.points, self.directions), COLUMN_MAX_MM)
        sheets = index.sheet_depths(self.points, self.directions)
        reference = pressure_kpa(self.reference_force_n, self.radius_mm)
        reference_strain = float(tissue_strain(reference))
        pressure = pressure_kpa(self.force_n, self.radius_mm)
        strain = float(tissue_strain(pressure))
        # the call evaluate makes for force_n (its loads are not used: only the critical points)
        loads = stress_capsules(index.capsules, self.points, self.directions, pad_mm=self.radius_mm,
                                strain=strain, columns=column, sheet_depth=sheets,
                                sheet_factor=index.sheet_factor,
                                reach_mm=reach_mm(reference, self.radius_mm, reference_strain, column),
                                need_load=flag_floor_kpa() / reference, prune_strain=reference_strain,
                                flag_load=index.flag_floor / pressure,
                                flag_reach=flag_reach(index, pressure, self.radius_mm, strain, column))
        rows, cols = np.nonzero(loads.rank > 0.0)
        #: (m,) the press and the structure of each candidate.
        self.rows, self.cols = rows, cols
        self.column = np.ascontiguousarray(column[rows])
        self.depth = np.ascontiguousarray(loads.depth[rows, cols])
        self.offset = np.ascontiguousarray(loads.offset[rows, cols])
        self.factor = np.ascontiguousarray(loads.factor[rows, cols])
        self.segment = loads.segment[rows, cols]
        self.param = loads.param[rows, cols]
        #: (m,) int8: pinned (1), not (0), not yet looked for (-1); the same for shielded.
        self.pinned = np.full(len(rows), -1, dtype=np.int8)
        self.shielded = np.full(len(rows), -1, dtype=np.int8)

    def _centres(self, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        caps = self.index.capsules
        return critical_points(caps, self.segment[which], self.param[which]), caps.radius[self.segment[which]]

    def verdicts(self, force_n: float) -> np.ndarray:
        """(n,) int8 verdict codes of a press of ``force_n`` (at most :attr:`force_n`) at every point."""
        if force_n > self.force_n:
            msg = f"force {force_n:g} N is above the {self.force_n:g} N these presses were prepared for"
            raise ValueError(msg)
        index, rows, cols = self.index, self.rows, self.cols
        pressure = pressure_kpa(force_n, self.radius_mm)
        load = np.empty(len(rows))
        _loads(self.depth, self.offset, self.factor, self.column, float(tissue_strain(pressure)),
               self.radius_mm, halfspace_table(), TABLE_STEP, load)
        stress = pressure * load
        # bone behind is looked for where a structure could be flagged, bone between where one is
        could = stress > index.flag_floor[cols]
        new = np.flatnonzero(could & (self.pinned < 0))
        if len(new):
            centre, rad = self._centres(new)
            where = rows[new]
            self.pinned[new] = pinned_against(index, self.points[where], self.directions[where], centre, rad)
        pinned = could & (self.pinned == 1)
        tolerance = np.where(pinned, index.pinned_tolerance[cols], index.tolerance[cols])
        level = level_codes(stress, tolerance, index.can_avoid[cols])
        flagged = level > SAFE
        new = np.flatnonzero(flagged & (self.shielded < 0))
        if len(new):
            centre, rad = self._centres(new)
            self.shielded[new] = behind_bone(index, self.points[rows[new]], centre, rad)
        at_risk = np.flatnonzero(flagged & (self.shielded == 0))
        verdict = np.full(len(self.points), SAFE, dtype=np.int8)
        np.maximum.at(verdict, rows[at_risk], level[at_risk])
        return verdict


def skin_presses(index: LookupIndex, points: np.ndarray, directions: np.ndarray, *, radius_mm: float,
                 force_n: float) -> SkinPresses:
    """The (kept) :class:`SkinPresses` at every skin vertex (``points``, along the press axes
    ``directions``: ``safety_map``'s) for this pad, prepared for this force or a larger one.

    Kept per pad and reference force; prepared again when a larger force than before is asked
    for (a map of the firm grade first serves the lighter grades after it).
    """
    reference = max(float(force_n), REFERENCE_FORCE_N)
    key = (float(radius_mm), reference)
    kept: dict[tuple[float, float], SkinPresses] = index.__dict__.setdefault("_skin_presses", {})
    if key not in kept or kept[key].force_n < force_n:
        kept.pop(key, None)
        while len(kept) >= KEPT:
            kept.pop(next(iter(kept)))
        kept[key] = SkinPresses(index, np.asarray(points, dtype=np.float64), directions, radius_mm=radius_mm,
                                force_n=force_n, reference_force_n=reference)
    return kept[key]
