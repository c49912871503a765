"""Risk along a massage stroke: a polyline over the skin, pressed every millimetre (same model as a press)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from handatlas.lookup.grades import DEFAULT_GRADE, DEFAULT_RADIUS_MM, SAFE, VERDICTS
from handatlas.lookup.model import GRADE_FORCE_N, resolve_load
from handatlas.lookup.press import press_many
from handatlas.lookup.territory import as_points

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from handatlas.atlas import Atlas

#: Spacing of the presses along a stroke (mm).
STROKE_STEP_MM = 1.0
#: Longest stroke accepted (mm): a hand and forearm are not longer.
MAX_STROKE_MM = 600.0


@dataclass(frozen=True)
class StrokeReport:
    """What a stroke passes over.

    Attributes
    ----------
    samples : (n, 3) float
        Skin points every :data:`STROKE_STEP_MM` along the stroke.
    arc_mm : (n,) float
        Arc length of each sample from the start.
    verdicts : (n,) int8
        Verdict code of a press at each sample.
    verdict : str
        The worst verdict along the stroke.
    riskiest : tuple of float
        ``(start_mm, end_mm)`` of the longest stretch with the worst verdict (empty when safe).
    structures : tuple of str
        Ids of the structures at risk on that stretch, most often first.
    message : str
        One sentence.
    """

    samples: np.ndarray
    arc_mm: np.ndarray
    verdicts: np.ndarray
    verdict: str
    riskiest: tuple[float, ...]
    structures: tuple[str, ...]
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "length_mm": round(float(self.arc_mm[-1]), 1),
            "riskiest_mm": [round(v, 1) for v in self.riskiest],
            "structures": list(self.structures),
            "verdicts": [VERDICTS[int(v)] for v in self.verdicts],
            "message": self.message,
        }


def _resample(points: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(np.ceil(arc[-1] / step)) + 1)
    target = np.linspace(0.0, arc[-1], n)
    return np.column_stack([np.interp(target, arc, points[:, k]) for k in range(3)]), target


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """First and last index of the longest run of True (first such run on ties)."""
    best, start, best_run = 0, None, (0, -1)
    for i, flag in enumerate([*mask.tolist(), False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start > best:
                best, best_run = i - start, (start, i - 1)
            start = None
    return best_run


def stroke(
    atlas: Atlas,
    path_points: ArrayLike,
    *,
    grade: str = DEFAULT_GRADE,
    radius_mm: float = DEFAULT_RADIUS_MM,
    force_n: float | None = None,
) -> StrokeReport:
    """Press every millimetre along a stroke and find its riskiest stretch.

    Parameters
    ----------
    atlas
        The atlas.
    path_points : (k, 3) float, k >= 2
        The stroke's corners (mm); each sample is snapped to the nearest skin point.
    grade, radius_mm, force_n
        As for :func:`handatlas.lookup.press.press`.

    Examples
    --------
    >>> report = atlas.stroke([[10, -60, 20], [10, 0, 20]], grade="firm")  # doctest: +SKIP
    >>> report.verdict, report.structures[0]  # doctest: +SKIP
    ('avoid', 'radial_artery')
    """
    grade, force, _ = resolve_load(grade, force_n, radius_mm)
    load = grade if force == GRADE_FORCE_N[grade] else f"{force:g} N"
    corners = as_points(path_points, name="stroke")
    if len(corners) < 2:
        msg = "a stroke needs at least two points"
        raise ValueError(msg)
    length = float(np.linalg.norm(np.diff(corners, axis=0), axis=1).sum())
    if not 0 < length <= MAX_STROKE_MM:
        msg = f"a stroke must be longer than 0 and at most {MAX_STROKE_MM:g} mm, got {length:.1f} mm"
        raise ValueError(msg)
    samples, arc = _resample(corners, STROKE_STEP_MM)
    batch = press_many(atlas, samples, grade=grade, radius_mm=radius_mm, force_n=force_n)
    worst = int(batch.verdict.max())
    verdict = VERDICTS[worst]
    if worst == SAFE:
        message = f"The whole stroke ({arc[-1]:.0f} mm) is safe at {load} pressure."
        return StrokeReport(batch.points, arc, batch.verdict, verdict, (), (), message)
    first, last = _longest_run(batch.verdict == worst)
    counts = batch.at_risk[first : last + 1].sum(axis=0)
    order = np.argsort(-counts, kind="stable")
    ids = tuple(batch.ids[k] for k in order if counts[k] > 0)
    names = ", ".join(atlas.structures[i].name.lower() for i in ids[:3])
    action = "avoid" if verdict == "avoid" else "lighten"
    message = (f"{action.capitalize()} {load} pressure from {arc[first]:.0f} to {arc[last]:.0f} mm "
               f"along this stroke: it passes over the {names}.")
    return StrokeReport(batch.points, arc, batch.verdict, verdict, (float(arc[first]), float(arc[last])),
                        ids, message)
