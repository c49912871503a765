"""Nerves, vessels and tendons as tubes along authored paths.

Geometry kinds of the specification handled here:

``{kind: tube, radius: R | [R0, ..., Rn], path: [POINT, ...], margin: MM}``
    One tube through the points (see :mod:`handatlas.build.points`); radii spread evenly along
    it.  Path items may also be a digit course, ``{digit: index, side: radial, lateral: MM,
    palmar: MM}``, which expands into points beside each phalanx of that digit (lateral and
    palmar distances from the bone's axis, tapering toward the tip), the way proper digital
    nerves and arteries run.  Optional keys of a digit course: ``stations: {SEGMENT: [T, ...]}``
    (which segments it passes and at which fractions of their shafts; the metacarpal may be one
    of them) and ``depth: MM``, which makes ``lateral`` and ``palmar`` a direction only: each
    point then lies ``depth`` mm under the skin that a ray from the bone's axis in that direction
    meets (the way subcutaneous dorsal digital nerves run, whatever the finger's thickness).
``{kind: tubes, radius: R, paths: [[POINT, ...], ...]}``
    Several tubes as one structure (a venous network).

After the curve is made, every centreline point is kept out of the bones and under the skin by
at least its radius plus ``margin`` (default 1 mm): bone and skin bound every tube.  Where that
folds the curve into a kink (a point pushed onto a joint's concavity), the kink is smoothed out
locally (:func:`handatlas.build.tubes.unkink`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from handatlas.build.digits import DIGITS, SEGMENTS, bone_id, segment_frame, segments_of
from handatlas.build.points import PointContext, PointError
from handatlas.build.tubes import catmull_rom, interpolate_radii, keep_clear, sweep_tube, unkink
from handatlas.build.writer import MeshData

if TYPE_CHECKING:
    import trimesh

DEFAULT_MARGIN_MM = 1.0
#: Where along each phalanx a digit course passes (fractions of the shaft) and how much the
#: lateral and palmar distances shrink toward the tip.
DIGIT_STATIONS = {
    "proximal_phalanx": ((0.15, 0.6), 1.0),
    "middle_phalanx": ((0.5,), 0.85),
    "distal_phalanx": ((0.3, 0.6, 0.85), 0.7),
}


def digit_course(ctx: PointContext, item: Mapping[str, Any]) -> list[np.ndarray]:
    """Points beside the bones of one digit: ``{digit, side, lateral, palmar}``, optionally with
    ``stations`` and ``depth`` (see the module docstring).

    Raises
    ------
    PointError
        For an unknown digit, side or segment, or a station outside the shaft.
    """
    digit_name = str(item["digit"])
    if digit_name not in DIGITS:
        msg = f"digit course {dict(item)!r}: digit must be one of {', '.join(DIGITS)}"
        raise PointError(msg)
    side = str(item.get("side", "radial"))
    if side not in ("radial", "ulnar"):
        msg = f"digit course {dict(item)!r}: side must be radial or ulnar"
        raise PointError(msg)
    sign = 1.0 if side == "radial" else -1.0
    lateral, palmar = float(item["lateral"]), float(item["palmar"])
    number = DIGITS.index(digit_name) + 1
    stations = _stations(item, number)
    depth = item.get("depth")
    points = []
    for segment, (fractions, scale) in stations.items():
        bone = bone_id(number, segment)
        if depth is None:
            for t in fractions:
                spec = {"at": f"{bone}.shaft({t})", "local": [sign * lateral * scale, 0.0, palmar * scale]}
                points.append(ctx.point(spec))
            continue
        frame = segment_frame(ctx.hand, number, segment)
        toward = sign * lateral * frame.radial + palmar * frame.palmar
        if np.linalg.norm(toward) < 1e-9:
            msg = f"digit course {dict(item)!r}: lateral and palmar give no direction"
            raise PointError(msg)
        for t in fractions:
            spec = {"at": f"{bone}.shaft({t})", "toward": (toward / np.linalg.norm(toward)).tolist(),
                    "depth": float(depth)}
            points.append(ctx.point(spec))
    return points


def _stations(item: Mapping[str, Any], digit: int) -> dict[str, tuple[tuple[float, ...], float]]:
    """Segment -> (shaft fractions, scale of the distances) of a digit course, proximal first."""
    given = item.get("stations")
    if given is None:
        return {s: DIGIT_STATIONS[s] for s in segments_of(digit) if s != "metacarpal"}
    if not isinstance(given, Mapping) or not given:
        msg = f"digit course {dict(item)!r}: stations must map segments to lists of fractions"
        raise PointError(msg)
    unknown = sorted(str(s) for s in given if s not in segments_of(digit))
    if unknown:
        msg = (f"digit course {dict(item)!r}: unknown segment(s) {unknown}; the {DIGITS[digit - 1]} has "
               f"{', '.join(segments_of(digit))}")
        raise PointError(msg)
    out = {}
    for segment in SEGMENTS:
        if segment not in given:
            continue
        fractions = tuple(float(t) for t in np.atleast_1d(given[segment]))
        if not fractions or min(fractions) < 0.0 or max(fractions) > 1.0:
            msg = f"digit course {dict(item)!r}: the {segment} stations must lie in 0..1"
            raise PointError(msg)
        out[segment] = (fractions, DIGIT_STATIONS.get(segment, ((), 1.0))[1])
    return out


def path_points(ctx: PointContext, items: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Evaluate a path: point specs and digit courses, in order."""
    out: list[np.ndarray] = []
    for item in items:
        if isinstance(item, Mapping) and "digit" in item:
            out.extend(digit_course(ctx, item))
        else:
            out.append(ctx.point(item))
    return np.array(out, dtype=float)


def tube_along(
    ctx: PointContext,
    items: Sequence[Mapping[str, Any]],
    radius: float | Sequence[float],
    *,
    skin: trimesh.Trimesh,
    margin: float = DEFAULT_MARGIN_MM,
) -> tuple[trimesh.Trimesh, np.ndarray, np.ndarray]:
    """Tube mesh, centreline and radii of one path, kept under the skin."""
    control = path_points(ctx, items)
    curve = catmull_rom(control)
    radii = interpolate_radii(list(np.atleast_1d(radius)), len(curve))

    def clear(points: np.ndarray, rad: np.ndarray, _index: np.ndarray | None = None) -> np.ndarray:
        return keep_clear(points, rad, skin=skin, bones=ctx.bone_surface, skin_margin=margin)

    curve = unkink(clear(curve, radii), radii, clear)
    return sweep_tube(curve, radii), curve, radii


def build_tube(structure_id: str, geometry: Mapping[str, Any], ctx: PointContext, *,
               skin: trimesh.Trimesh) -> MeshData:
    """Mesh data of a ``tube`` or ``tubes`` structure; records its centreline in ``ctx.curves``.

    Raises
    ------
    PointError
        With the structure id, when a point cannot be evaluated.
    """
    margin = float(geometry.get("margin", DEFAULT_MARGIN_MM))
    radius = geometry.get("radius")
    if radius is None:
        msg = f"structure {structure_id!r}: a tube needs a radius"
        raise PointError(msg)
    paths = [geometry.get("path")] if geometry["kind"] == "tube" else geometry.get("paths")
    if not paths or not all(paths):
        msg = f"structure {structure_id!r}: a {geometry['kind']} needs at least one path of points"
        raise PointError(msg)
    meshes, curves, radii, starts = [], [], [], []
    for items in paths:
        try:
            mesh, curve, rad = tube_along(ctx, items, radius, skin=skin, margin=margin)
        except PointError as exc:
            msg = f"structure {structure_id!r}: {exc}"
            raise PointError(msg) from None
        starts.append(sum(len(c) for c in curves))
        meshes.append(mesh)
        curves.append(curve)
        radii.append(rad)
    ctx.curves[structure_id] = curves[0]
    offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
    vertices = np.vstack([m.vertices for m in meshes])
    faces = np.vstack([m.faces + off for m, off in zip(meshes, offsets, strict=True)])
    return MeshData(vertices, faces, centerline=np.vstack(curves), radii=np.concatenate(radii),
                    path_starts=np.array(starts, dtype=np.int32))
