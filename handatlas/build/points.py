"""Bone-relative points: how the anatomy specification places soft tissue.

A point spec is a mapping, written in YAML as a flow mapping, with exactly one anchor key and
an optional ``offset``:

``{at: ANCHOR}``
    A named place on a bone (see below).
``{mix: [[ANCHOR, WEIGHT], ...]}``
    The weighted mean of anchors (weights are normalised), e.g. a point between two bones.
``{landmark: ID, depth: MM}``
    A named skin landmark moved ``depth`` mm inward along its normal: how literature depths
    ("4.7 mm below the skin") enter the model.
``{along: STRUCTURE, t: FRACTION}``
    A point of an already-built tube's centreline at arc-length fraction ``t`` (0 = start,
    1 = end): where a branch leaves its trunk.

Optional keys refine the point:

``local: [radial, distal, palmar]``
    millimetres in the frame of the anchor's digit segment (its radial, axial and palmar
    directions; for the thumb its own frame), for points that sit beside a finger bone;
``toward: DIRECTION, depth: MM``
    cast a ray from the point toward ``palmar``, ``dorsal``, ``radial``, ``ulnar`` (or a vector)
    to the skin and place the point ``depth`` mm under the skin where the ray leaves it, along
    the skin's inward normal there: how "subcutaneous" or "5 mm under the palmar skin" is said;

``offset: [dx, dy, dz]`` adds millimetres along the hand frame's axes (+x radial, +y distal,
+z palmar) of the built pose, last (after ``toward``).  Anchors are bone-relative, so points
follow the bones; offsets are small (a few mm) and read in the hand frame, which keeps the
specification legible.

``shift: [dx, dy, dz]`` moves the anchor the same way *before* ``toward`` casts from it: "the
point 5 mm under the dorsal skin 3 mm ulnar to Lister's tubercle" is
``{at: ..., shift: [-3, 0, 0], toward: dorsal, depth: 5}`` (an ``offset`` would move the point
off its depth wherever the skin is not flat).

Anchors name a bone and a feature, ``BONE.FEATURE``:

- ``BONE`` alone: the centroid;
- ``base`` / ``head``: the proximal / distal joint centre of a metacarpal or phalanx (``head``
  of a distal phalanx is its fingertip site); for the radius and ulna, the centre of the cut
  at the forearm cap and the centre of the distal end;
- ``shaft(T)``: the point at fraction T from base to head;
- ``palmar``, ``dorsal``, ``radial``, ``ulnar``, ``proximal``, ``distal``: the mean of the
  vertices furthest in that direction (a surface point); ``extreme(X, Y, Z)`` the same in any
  direction;
- named prominences: ``scaphoid.tubercle``, ``trapezium.tubercle``, ``hamate.hook``,
  ``radius.styloid``, ``ulna.styloid``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh

from handatlas.build.digits import DIGITS, digit_of, segment_ends, segment_frame, unit
from handatlas.build.landmarks import Prominences, cast_to_skin
from handatlas.lookup.surface import SurfaceQuery

if TYPE_CHECKING:
    from handatlas.build.skeleton import PosedHand

DIRECTIONS = {
    "palmar": (0.0, 0.0, 1.0),
    "dorsal": (0.0, 0.0, -1.0),
    "radial": (1.0, 0.0, 0.0),
    "ulnar": (-1.0, 0.0, 0.0),
    "distal": (0.0, 1.0, 0.0),
    "proximal": (0.0, -1.0, 0.0),
}
#: The distal end of the radius or ulna: the mean of its vertices within this of its tip (mm).
FOREARM_END_MM = 6.0
_SHAFT = re.compile(r"^shaft\(\s*([0-9.]+)\s*\)$")
_EXTREME = re.compile(r"^extreme\(\s*([-0-9.]+)\s*,\s*([-0-9.]+)\s*,\s*([-0-9.]+)\s*\)$")


class PointError(ValueError):
    """A point spec that cannot be evaluated; the message names the spec."""


class PointContext:
    """Evaluates point specs against a posed hand, its landmarks and the tubes built so far.

    Parameters
    ----------
    hand
        The posed hand.
    landmarks
        Landmark id -> (point, outward normal).
    curves
        Structure id -> centreline ``(k, 3)`` of tubes built so far (filled by the build).
    skin
        The closed skin, for ``toward``/``depth`` points.
    """

    def __init__(
        self,
        hand: PosedHand,
        *,
        landmarks: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
        curves: dict[str, np.ndarray] | None = None,
        skin: trimesh.Trimesh | None = None,
    ) -> None:
        self.hand = hand
        self.bones = Prominences(hand)
        self.landmarks = dict(landmarks or {})
        self.curves = curves if curves is not None else {}
        #: Structure id -> skin margin of each centreline point, for tubes whose margin varies.
        self.margins: dict[str, np.ndarray] = {}
        self.skin = skin
        self._named: dict[str, Callable[[], np.ndarray]] = {
            "scaphoid.tubercle": self.bones.scaphoid_tubercle,
            "trapezium.tubercle": self.bones.trapezium_tubercle,
            "hamate.hook": self.bones.hook_of_hamate,
            "radius.styloid": self.bones.radial_styloid,
            "ulna.styloid": self.bones.ulnar_styloid,
        }

    @cached_property
    def bone_surface(self) -> SurfaceQuery:
        """Exact closest points on the union of the bones (for keeping tubes out of them)."""
        return SurfaceQuery(trimesh.util.concatenate(list(self.hand.meshes.values())))

    # ------------------------------------------------------------------ anchors
    def anchor(self, name: str) -> np.ndarray:
        """The hand-frame position of an anchor such as ``"metacarpal_3.head"``."""
        if name in self._named:
            return self._named[name]()
        bone, _, feature = name.partition(".")
        if bone not in self.hand.meshes:
            msg = f"unknown bone {bone!r} in anchor {name!r}"
            raise PointError(msg)
        if not feature:
            return self.bones.centroid(bone)
        if feature in DIRECTIONS:
            return self.bones.extreme(bone, np.array(DIRECTIONS[feature]))
        if match := _EXTREME.match(feature):
            return self.bones.extreme(bone, np.array([float(v) for v in match.groups()]))
        if feature in ("base", "head") or _SHAFT.match(feature):
            base, head = self._ends(bone, name)
            if feature == "base":
                return base
            if feature == "head":
                return head
            t = float(_SHAFT.match(feature).group(1))  # type: ignore[union-attr]
            return base + t * (head - base)
        msg = f"unknown feature {feature!r} in anchor {name!r}"
        raise PointError(msg)

    def _ends(self, bone: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        digit = digit_of(bone)
        if bone in ("radius", "ulna"):
            verts = np.asarray(self.hand.meshes[bone].vertices)
            base = verts[verts[:, 1] < verts[:, 1].min() + 0.5].mean(axis=0)
            head = verts[verts[:, 1] > verts[:, 1].max() - FOREARM_END_MM].mean(axis=0)
            return base, head
        if digit == 0:
            msg = f"anchor {name!r}: base/head/shaft exist only for metacarpals and phalanges"
            raise PointError(msg)
        return segment_ends(self.hand, digit, bone.rsplit("_", 1)[0])

    # ------------------------------------------------------------------ specs
    def point(self, spec: Mapping[str, Any]) -> np.ndarray:
        """Evaluate one point spec to a hand-frame point (mm).

        Examples
        --------
        >>> ctx.point({"at": "metacarpal_3.palmar", "offset": [0, 0, 4]})  # doctest: +SKIP
        array([...])
        """
        if not isinstance(spec, Mapping):
            msg = f"a point must be a mapping like {{at: capitate}}, got {spec!r}"
            raise PointError(msg)
        keys = {"at", "mix", "landmark", "along"} & set(spec)
        allowed = {"at", "mix", "landmark", "along", "offset", "shift", "depth", "t", "local", "toward"}
        extra = set(spec) - allowed
        if len(keys) != 1 or extra:
            msg = f"point {dict(spec)!r} needs exactly one of at, mix, landmark, along" + (
                f" (unknown keys: {sorted(map(str, extra))})" if extra else ""
            )
            raise PointError(msg)
        if "at" in spec:
            base = self.anchor(str(spec["at"]))
        elif "mix" in spec:
            pairs = spec["mix"]
            weights = np.array([float(w) for _, w in pairs])
            base = sum(w * self.anchor(str(a)) for (a, _), w in zip(pairs, weights, strict=True))
            base = base / weights.sum()
        elif "landmark" in spec:
            lid = str(spec["landmark"])
            if lid not in self.landmarks:
                msg = f"point {dict(spec)!r}: unknown landmark {lid!r}"
                raise PointError(msg)
            point, normal = self.landmarks[lid]
            base = point - float(spec.get("depth", 0.0)) * unit(normal)
        else:
            sid = str(spec["along"])
            if sid not in self.curves:
                msg = f"point {dict(spec)!r}: {sid!r} is not built yet (list it before its branches)"
                raise PointError(msg)
            base = point_along(self.curves[sid], float(spec.get("t", 1.0)))
        point = np.asarray(base, dtype=float)
        if "local" in spec:
            point = point + self._local_offset(spec)
        point = point + _vector(spec, "shift")
        if "toward" in spec:
            point = self._under_skin(point, spec)
        return point + _vector(spec, "offset")

    def _local_offset(self, spec: Mapping[str, Any]) -> np.ndarray:
        bone = str(spec.get("at", "")).partition(".")[0]
        digit = digit_of(bone)
        if "at" not in spec or digit == 0:
            msg = f"point {dict(spec)!r}: 'local' needs an 'at' anchor on a metacarpal or phalanx"
            raise PointError(msg)
        frame = segment_frame(self.hand, digit, bone.rsplit("_", 1)[0])
        radial, distal, palmar = _vector(spec, "local")
        return radial * frame.radial + distal * frame.axis + palmar * frame.palmar

    def _under_skin(self, point: np.ndarray, spec: Mapping[str, Any]) -> np.ndarray:
        if self.skin is None:
            msg = f"point {dict(spec)!r}: 'toward' needs the skin"
            raise PointError(msg)
        toward = spec["toward"]
        direction = unit(DIRECTIONS[toward] if isinstance(toward, str) else toward)
        hit, normal = cast_to_skin(self.skin, point[None], direction[None])
        return hit[0] - float(spec.get("depth", 0.0)) * unit(normal[0])

    def points(self, specs: list[Mapping[str, Any]]) -> np.ndarray:
        """Evaluate a list of point specs to ``(n, 3)``."""
        return np.array([self.point(s) for s in specs], dtype=float)


def _vector(spec: Mapping[str, Any], key: str) -> np.ndarray:
    value = np.asarray(spec.get(key, (0.0, 0.0, 0.0)), dtype=float)
    if value.shape != (3,):
        msg = f"point {dict(spec)!r}: {key} must be three numbers"
        raise PointError(msg)
    return value


def point_along(curve: np.ndarray, t: float) -> np.ndarray:
    """The point at arc-length fraction ``t`` of a polyline ``(k, 3)``."""
    seg = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    target = np.clip(t, 0.0, 1.0) * s[-1]
    return np.array([np.interp(target, s, curve[:, k]) for k in range(3)])


__all__ = ["DIGITS", "DIRECTIONS", "PointContext", "PointError", "point_along"]
