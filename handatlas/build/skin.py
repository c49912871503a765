"""The skin: a smooth, watertight implicit surface around the posed hand.

The skin is the zero level set of a field ``f`` (mm, negative inside) on a voxel grid in the hand
frame:

1. **Bone offset.** Every bone surface is sampled densely; one exact Euclidean distance
   transform gives every voxel its nearest bone sample ``s``. The soft tissue over a sample
   depends on where its surface faces: ``t = lateral + (palmar - lateral) * max(0, c)**1.5 +
   (dorsal - lateral) * max(0, -c)**1.5`` with ``c`` the cosine between the sample's surface
   normal and its bone's palmar axis (:data:`SOFT_TISSUE`), and ``f = |x - s| - t``. Taking
   ``t`` from the sample, not from the voxel's direction, makes ``f`` a union of spheres that is
   smooth across the surface (no "orange peel").
2. **Soft-tissue primitives**, each anchored to bone-local points so that they follow the pose,
   combined with a polynomial smooth minimum: tapered capsules along the phalanges, palm and
   dorsal slabs, thenar and hypothenar ellipsoids, the first web space and a forearm elliptic
   cylinder around the radius and ulna.
3. The **palpable prominences** (:data:`PALPABLE`): over the bony points that are felt just
   under the skin (the styloids, Lister's tubercle, the pisiform, the scaphoid tubercle, the
   metacarpal borders; the hook of the hamate deeper, the snuffbox's floor; the dorsal proximal
   carpal row under the extensor compartments) a cap on the distance to the bone (the
   literature's 2–5 mm; hook 5–8 mm, snuffbox floor 5–9 mm, dorsal carpus 8 mm), rising away from
   the prominence like a tent, is applied with a smooth maximum: the primitives of step 2 are
   shapes for the fleshy parts and would otherwise pad the bony ones 2–3 times too thick.
   Then a Gaussian blur (which also rounds the caps' edges), then the **web spaces**: between
   the fingers a flat, round-ended cleft is cut out of the field (a smooth maximum) from each
   web commissure, about a third of the way along the proximal phalanges, so that every finger
   is a separate cylinder of skin from there on;
   the cut keeps clear of the bones and its floor is rounded into a U (:func:`web_carves`).
4. The flat cap ``f = max(f, cap_y - y)``, marching cubes, the largest component,
   Taubin smoothing, quadric decimation (fast_simplification keeps the surface closed). Cap
   vertices are snapped back onto the cap plane after smoothing and decimation.

Examples
--------
>>> from handatlas.build.skeleton import pose_hand
>>> skin = build_skin(pose_hand())  # doctest: +SKIP
>>> skin.is_watertight  # doctest: +SKIP
True
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import trimesh
from numpy.typing import ArrayLike
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage import measure

from handatlas.build.bones import decimate, is_sound
from handatlas.build.skeleton import PosedHand

__all__ = [
    "PALPABLE",
    "SOFT_TISSUE",
    "Anchor",
    "Blend",
    "Carve",
    "Cleft",
    "Ellipsoid",
    "EllipticCylinder",
    "Grid",
    "Palpable",
    "SkinBuild",
    "Slab",
    "TaperedCapsule",
    "bone_offset_field",
    "build_skin",
    "build_skin_report",
    "skin_primitives",
    "web_carves",
]

# ----------------------------------------------------------------------------- parameters
#: Soft tissue over each bone, mm: (palmar, lateral, dorsal).
SOFT_TISSUE: dict[str, tuple[float, float, float]] = {
    "radius": (5.0, 5.0, 4.0),
    "ulna": (6.0, 5.0, 4.0),
    "scaphoid": (4.5, 5.0, 4.0),
    "lunate": (6.0, 5.0, 4.0),
    "triquetrum": (6.0, 5.0, 4.0),
    "pisiform": (4.0, 4.0, 4.0),
    "trapezium": (4.5, 5.0, 4.0),
    "trapezoid": (7.0, 5.0, 4.0),
    "capitate": (7.0, 5.0, 4.0),
    "hamate": (6.0, 5.0, 4.0),
    "metacarpal_1": (4.0, 3.5, 3.0),
    # dorsally: thin skin, the dorsal venous network and the extensor tendons on the bone
    "metacarpal_2": (9.0, 4.0, 4.4),
    "metacarpal_3": (9.0, 4.0, 4.4),
    "metacarpal_4": (9.0, 4.0, 4.4),
    "metacarpal_5": (9.0, 5.0, 4.4),
    "proximal_phalanx_1": (5.5, 4.0, 2.8),
    "distal_phalanx_1": (5.5, 4.0, 2.2),
    **{f"proximal_phalanx_{d}": (4.5, 3.5, 2.6) for d in (2, 3, 4, 5)},
    **{f"middle_phalanx_{d}": (4.2, 3.2, 2.3) for d in (2, 3, 4, 5)},
    **{f"distal_phalanx_{d}": (4.5, 3.2, 2.0) for d in (2, 3, 4, 5)},
}

#: Bone-local palmar direction (myo-sim body frames: -z palmar; the ulna frame is the MoBL
#: ground frame, anterior +x; the thumb column is pronated, its pulp faces ulnar-palmar).
_THUMB_PALMAR = (-0.6, 0.0, -0.8)
PALMAR_AXIS: dict[str, tuple[float, float, float]] = {bone: (0.0, 0.0, -1.0) for bone in SOFT_TISSUE} | {
    "ulna": (1.0, 0.0, 0.0),
    "metacarpal_1": _THUMB_PALMAR,
    "proximal_phalanx_1": _THUMB_PALMAR,
    "distal_phalanx_1": _THUMB_PALMAR,
}

#: Bone surface samples per voxel face (squared density factor): spacing = voxel / this.
SAMPLES_PER_VOXEL = 3.0
#: Grid margin around the bones, mm.
GRID_MARGIN_MM = 18.0
#: Gaussian blur of the field, mm.
BLUR_MM = 1.6
#: Taubin smoothing iterations of the marching-cubes surface.
TAUBIN_ITERATIONS = 25
#: Vertices within this distance of the cap plane after smoothing are put back onto it, mm.
CAP_SNAP_MM = 0.05


# ----------------------------------------------------------------------------- anchors
@dataclass(frozen=True)
class Anchor:
    """A point fixed to a bone: bone id and bone-local millimetres.

    Examples
    --------
    >>> Anchor("capitate", (0.0, -6.0, -5.0)).resolve(hand)  # doctest: +SKIP
    array([-1.9,  5.2,  5.5])
    """

    bone: str
    local: tuple[float, float, float]

    def resolve(self, hand: PosedHand) -> np.ndarray:
        """The anchor in the hand frame, mm."""
        return hand.to_hand(self.bone, self.local)


@dataclass(frozen=True)
class Mix:
    """A weighted mean of anchors on different bones (e.g. between the radius and ulna)."""

    anchors: tuple[Anchor, ...]
    weights: tuple[float, ...]

    def resolve(self, hand: PosedHand) -> np.ndarray:
        """The mixed point in the hand frame, mm."""
        points = np.array([anchor.resolve(hand) for anchor in self.anchors])
        weights = np.asarray(self.weights, dtype=np.float64)
        return weights @ points / weights.sum()


def _palmar(hand: PosedHand, bone: str) -> np.ndarray:
    """Unit palmar axis of ``bone`` in the hand frame."""
    axis = np.asarray(PALMAR_AXIS[bone], dtype=np.float64)
    return hand.transforms[bone][:3, :3] @ (axis / np.linalg.norm(axis))


# ----------------------------------------------------------------------------- shapes (SDFs)
def smooth_min(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum of two fields with blend radius ``k`` (mm)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1.0 - h) + a * h - k * h * (1.0 - h)


@dataclass(frozen=True)
class TaperedCapsule:
    """Capsule from ``start`` (radius ``start_radius``) to ``end`` (``end_radius``), mm."""

    start: np.ndarray
    end: np.ndarray
    start_radius: float
    end_radius: float

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned box holding the shape."""
        reach = max(self.start_radius, self.end_radius)
        return np.minimum(self.start, self.end) - reach, np.maximum(self.start, self.end) + reach

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (approximate), ``(..., 3) -> (...)``."""
        axis = self.end - self.start
        t = np.clip(((points - self.start) @ axis) / (axis @ axis), 0.0, 1.0)
        nearest = self.start + t[..., None] * axis
        radius = self.start_radius + (self.end_radius - self.start_radius) * t
        return np.linalg.norm(points - nearest, axis=-1) - radius


def _triangle_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray):
    """Exact unsigned distance from ``points`` to the triangle ``abc`` (Inigo Quilez)."""
    ba, pa = b - a, points - a
    cb, pb = c - b, points - b
    ac, pc = a - c, points - c
    normal = np.cross(ba, ac)
    sides = (
        np.sign(pa @ np.cross(ba, normal))
        + np.sign(pb @ np.cross(cb, normal))
        + np.sign(pc @ np.cross(ac, normal))
    )
    inside = sides >= 2.0

    def edge_squared(edge: np.ndarray, offset: np.ndarray) -> np.ndarray:
        t = np.clip((offset @ edge) / (edge @ edge), 0.0, 1.0)
        gap = edge * t[..., None] - offset
        return np.einsum("...k,...k->...", gap, gap)

    edges = np.minimum(np.minimum(edge_squared(ba, pa), edge_squared(cb, pb)), edge_squared(ac, pc))
    plane = (pa @ normal) ** 2 / (normal @ normal)
    return np.sqrt(np.where(inside, plane, edges))


@dataclass(frozen=True)
class Slab:
    """A rounded slab: points within ``radius`` of a fan of triangles (corners in order), mm."""

    corners: np.ndarray
    radius: float

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned box holding the shape."""
        return self.corners.min(axis=0) - self.radius, self.corners.max(axis=0) + self.radius

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance, ``(..., 3) -> (...)``."""
        first = self.corners[0]
        nearest = np.full(points.shape[:-1], np.inf)
        for second, third in zip(self.corners[1:-1], self.corners[2:], strict=True):
            nearest = np.minimum(nearest, _triangle_distance(points, first, second, third))
        return nearest - self.radius


@dataclass(frozen=True)
class Ellipsoid:
    """Ellipsoid with centre, orthonormal axes (columns) and semi-axes, mm."""

    centre: np.ndarray
    axes: np.ndarray
    radii: np.ndarray

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned box holding the shape."""
        reach = np.sqrt((self.axes**2) @ (self.radii**2))
        return self.centre - reach, self.centre + reach

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Approximate signed distance, ``(..., 3) -> (...)``."""
        scaled = ((points - self.centre) @ self.axes) / self.radii
        return (np.linalg.norm(scaled, axis=-1) - 1.0) * self.radii.min()


@dataclass(frozen=True)
class EllipticCylinder:
    """Elliptic cylinder from ``start`` to ``end``, open (unbounded) before ``start``.

    Past ``end`` it closes with a half-ellipsoid dome ``end_cap`` mm long (flat if 0). The
    section is a superellipse whose exponent goes from ``start_exponent`` to ``end_exponent``
    (2: an ellipse; larger: squarer, a flattened oval).

    The semi-axes ``(across, depth)`` taper linearly from ``start_radii`` to ``end_radii``;
    ``across`` lies along ``across_direction`` (orthogonalised against the axis), turning
    linearly toward ``end_across_direction`` (if given) along the cylinder.
    """

    start: np.ndarray
    end: np.ndarray
    across_direction: np.ndarray
    start_radii: tuple[float, float]
    end_radii: tuple[float, float]
    proximal_reach: float = 60.0
    end_across_direction: np.ndarray | None = None
    end_cap: float = 0.0
    start_exponent: float = 2.0
    end_exponent: float = 2.0

    def _frame(self) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        axis = self.end - self.start
        length = float(np.linalg.norm(axis))
        axis = axis / length
        across = self.across_direction - axis * (self.across_direction @ axis)
        across = across / np.linalg.norm(across)
        return axis, length, across, np.cross(axis, across)

    def _end_across(self, axis: np.ndarray, across: np.ndarray) -> np.ndarray:
        if self.end_across_direction is None:
            return across
        end = self.end_across_direction - axis * (self.end_across_direction @ axis)
        return end / np.linalg.norm(end)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned box holding the shape (``proximal_reach`` mm before ``start``)."""
        axis, _, _, _ = self._frame()
        reach = max(*self.start_radii, *self.end_radii)
        before = self.start - axis * self.proximal_reach
        after = self.end + axis * self.end_cap
        return (
            np.minimum(before, after) - reach,
            np.maximum(before, after) + reach,
        )

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Approximate signed distance, ``(..., 3) -> (...)``."""
        axis, length, across, _ = self._frame()
        end_across = self._end_across(axis, across)
        offset = points - self.start
        along = offset @ axis
        s = np.clip(along / length, 0.0, 1.0)
        radial = offset - along[..., None] * axis
        turned = (1.0 - s)[..., None] * across + s[..., None] * end_across
        turned = turned / np.linalg.norm(turned, axis=-1, keepdims=True)
        depth = np.cross(axis, turned)
        rx = self.start_radii[0] + (self.end_radii[0] - self.start_radii[0]) * s
        rz = self.start_radii[1] + (self.end_radii[1] - self.start_radii[1]) * s
        u = np.einsum("...k,...k->...", radial, turned)
        v = np.einsum("...k,...k->...", radial, depth)
        power = self.start_exponent + (self.end_exponent - self.start_exponent) * s
        norm = (np.abs(u / rx) ** power + np.abs(v / rz) ** power) ** (1.0 / power)
        if self.end_cap <= 0.0:
            return np.maximum((norm - 1.0) * np.minimum(rx, rz), along - length)
        beyond = np.maximum(along - length, 0.0) / self.end_cap
        return (np.hypot(norm, beyond) - 1.0) * np.minimum(rx, rz)


Shape = TaperedCapsule | Slab | Ellipsoid | EllipticCylinder


@dataclass(frozen=True)
class Blend:
    """A named shape merged into the field with a smooth minimum of radius ``k`` (mm)."""

    name: str
    shape: Shape
    k: float


# ----------------------------------------------------------------------------- primitives
#: Digit -> (proximal, middle, distal phalanx, tip site) and capsule radii (start, end) per
#: segment, mm.
FINGERS: dict[int, tuple[tuple[str, str, str, str], tuple[tuple[float, float], ...]]] = {
    2: (
        ("proximal_phalanx_2", "middle_phalanx_2", "distal_phalanx_2", "IFtip_r"),
        ((9.0, 8.2), (8.0, 7.4), (7.2, 6.2)),
    ),
    3: (
        ("proximal_phalanx_3", "middle_phalanx_3", "distal_phalanx_3", "MFtip_r"),
        ((9.3, 8.5), (8.3, 7.6), (7.4, 6.4)),
    ),
    4: (
        ("proximal_phalanx_4", "middle_phalanx_4", "distal_phalanx_4", "RFtip_r"),
        ((8.8, 8.0), (7.8, 7.1), (7.0, 6.0)),
    ),
    5: (
        ("proximal_phalanx_5", "middle_phalanx_5", "distal_phalanx_5", "LFtip_r"),
        ((7.8, 7.1), (7.0, 6.4), (6.4, 5.5)),
    ),
}
#: The thumb column from the carpometacarpal joint: the first metacarpal is subcutaneous on its
#: dorsal-radial side, the thenar eminence covers its palmar-ulnar side.
THUMB: tuple[tuple[str, str, str, str], tuple[tuple[float, float], ...]] = (
    ("metacarpal_1", "proximal_phalanx_1", "distal_phalanx_1", "THtip_r"),
    ((5.5, 7.5), (9.0, 8.6), (8.4, 7.0)),
)
#: Skin beyond the fingertip site, mm.
TIP_PULP_MM = 4.0
#: Palmar shift of the digit capsules at their start and end, mm.
CAPSULE_PALMAR_SHIFT_MM = (1.5, 1.0)
#: Smooth-min radius of the digit capsules, mm.
DIGIT_BLEND_MM = 2.5


def _digit_capsules(
    hand: PosedHand,
    name: str,
    segments: Sequence[str],
    tip_site: str,
    radii: Sequence[tuple[float, float]],
    *,
    palmar_bone: str | None = None,
) -> Iterator[Blend]:
    """Tapered capsules from each joint centre to the next, the last one past the tip."""
    ends = [hand.joint_centres[bone] for bone in segments] + [hand.sites[tip_site]]
    start_shift, end_shift = CAPSULE_PALMAR_SHIFT_MM
    for index, (bone, (start_radius, end_radius)) in enumerate(zip(segments, radii, strict=True)):
        palmar = _palmar(hand, palmar_bone or bone)
        start = ends[index] + palmar * start_shift
        end = ends[index + 1] + palmar * end_shift
        if index == len(segments) - 1:
            direction = (end - start) / np.linalg.norm(end - start)
            end = end + direction * (TIP_PULP_MM - end_radius)
        capsule = TaperedCapsule(start, end, start_radius, end_radius)
        yield Blend(f"{name}_{bone}", capsule, DIGIT_BLEND_MM)
    yield Blend(
        f"{name}_pulp",
        _pulp(ends[-2], ends[-1], _palmar(hand, palmar_bone or segments[-1]), radii[-1][1]),
        DIGIT_BLEND_MM,
    )


#: The pulp of a distal phalanx: an ellipsoid palmar to its capsule, (across, along, depth) as
#: fractions of the capsule's end radius, of the segment length and of the end radius.
PULP_SHAPE = (0.85, 0.42, 0.85)
#: Palmar offset of the pulp's centre from the segment axis, in end radii.
PULP_PALMAR_SHIFT = 0.45
#: Where along the distal segment (joint centre to tip site) the pulp is centred.
PULP_CENTRE = 0.6


def _pulp(joint: np.ndarray, tip: np.ndarray, palmar: np.ndarray, radius: float) -> Ellipsoid:
    """The fingertip pulp: a little palmar fullness over the distal phalanx."""
    along = tip - joint
    length = float(np.linalg.norm(along))
    centre = joint + PULP_CENTRE * along + palmar * PULP_PALMAR_SHIFT * radius
    half = along / length * PULP_SHAPE[1] * length
    across, _, depth = PULP_SHAPE
    return _oriented_ellipsoid(
        centre - half, centre + half, palmar, (across * radius, PULP_SHAPE[1] * length, depth * radius)
    )


def finger_primitives(hand: PosedHand) -> list[Blend]:
    """Tapered capsules around every phalanx of the fingers and the thumb."""
    blends: list[Blend] = []
    for digit, (names, radii) in FINGERS.items():
        blends.extend(_digit_capsules(hand, f"digit{digit}", names[:3], names[3], radii))
    segments, radii = THUMB
    blends.extend(
        _digit_capsules(hand, "thumb", segments[:3], segments[3], radii, palmar_bone="metacarpal_1")
    )
    return blends


def _oriented_ellipsoid(
    start: np.ndarray, end: np.ndarray, up: np.ndarray, radii: tuple[float, float, float]
) -> Ellipsoid:
    """Ellipsoid centred between ``start`` and ``end``, long axis along them.

    ``up`` points from the centre toward the skin the ellipsoid bulges (its depth axis is
    ``up`` orthogonalised against the long axis); ``radii`` are (across, along, depth)
    semi-axes.
    """
    along = (end - start) / np.linalg.norm(end - start)
    across = np.cross(along, up)
    across = across / np.linalg.norm(across)
    depth = np.cross(across, along)
    return Ellipsoid(
        centre=(start + end) / 2.0,
        axes=np.column_stack([across, along, depth]),
        radii=np.asarray(radii, dtype=np.float64),
    )


def _corners(hand: PosedHand, anchors: Sequence[Anchor]) -> np.ndarray:
    return np.array([anchor.resolve(hand) for anchor in anchors])


# Palm: one rounded slab, a fan around the centre of the palm. Its mid-surface lies ~12 mm
# palmar to the metacarpals, so its palmar face is the gently domed floor of the palm (≈ 21 mm
# palmar to the hand's origin at the centre, ≈ 17 mm over the metacarpal heads): the flexor
# tendons, the superficial arch, the common digital nerves and the aponeurosis fit under it.
# Its rounded rims make the ulnar border, the distal palm over the metacarpal heads and the
# proximal palm at the distal wrist crease. (Hand-frame position of each corner in comments.)
PALM_PAD = (
    Anchor("metacarpal_3", (0.7, 3.9, -14.4)),  # (-3, 34, 11.5): the fan centre
    Anchor("hamate", (-2.9, 1.7, -11.3)),  # (-17, -1, 7)
    Anchor("capitate", (6.2, 2.2, -6.2)),  # (4, -3, 7.5)
    Anchor("metacarpal_2", (-0.1, 11.4, -6.1)),  # (12, 26, 9)
    Anchor("metacarpal_2", (0.5, -19.6, 3.7)),  # (14, 58, 4)
    Anchor("metacarpal_3", (0.2, -22.6, -1.9)),  # (-1, 62, 3)
    Anchor("metacarpal_4", (1.3, -20.0, -2.1)),  # (-13, 60, 3)
    Anchor("metacarpal_5", (1.1, -16.7, -0.7)),  # (-24, 50, 4.5)
    Anchor("metacarpal_5", (1.3, 10.4, -9.1)),  # (-25, 22, 9)
    Anchor("hamate", (-2.9, 1.7, -11.3)),  # closes the fan
)
PALM_PAD_RADIUS_MM = 12.0
PALM_PAD_BLEND_MM = 8.0
# Dorsum: fills the intermetacarpal valleys (interossei and extensor tendons).
DORSAL_PAD = (
    Anchor("metacarpal_2", (0.0, 10.0, 3.0)),
    Anchor("proximal_phalanx_2", (0.0, 6.0, 3.0)),
    Anchor("proximal_phalanx_5", (-1.0, 6.0, 2.0)),
    Anchor("metacarpal_5", (-1.0, 12.0, 2.0)),
)
DORSAL_PAD_RADIUS_MM = 6.0
# Thenar eminence (APB, FPB, OP): from the scaphoid tubercle and trapezium along the ulnar-palmar
# side of the first metacarpal; (start, end, up): up points palmar and a little radial.
THENAR_AXIS = (
    Anchor("scaphoid", (4.9, -3.1, -8.9)),  # (9, -9, 15): the scaphoid tubercle
    Anchor("metacarpal_1", (7.6, -24.4, -4.9)),  # (29, 31, 24)
    Anchor("metacarpal_1", (2.9, -7.0, -11.4)),  # (23.5, 14, 31)
)
THENAR_RADII = (13.0, 24.0, 10.5)
THENAR_BLEND_MM = 14.0
# First web space (adductor pollicis and the first dorsal interosseous).
FIRST_WEB = (
    Anchor("metacarpal_2", (4.0, 10.0, -4.0)),
    Anchor("proximal_phalanx_1", (-5.0, -2.0, -1.0)),
    Anchor("proximal_phalanx_2", (5.0, 8.0, -2.0)),
)
FIRST_WEB_RADIUS_MM = 5.0
# Hypothenar eminence (ADM, FDM, ODM): from the pisiform along the palmar-ulnar side of the
# fifth metacarpal; up points palmar and a little ulnar.
HYPOTHENAR_AXIS = (
    Anchor("pisiform", (2.8, 4.3, -5.1)),  # (-19, -12, 11)
    Anchor("metacarpal_5", (-0.2, -17.9, -9.0)),  # (-28, 50, 12)
    Anchor("metacarpal_5", (3.0, 8.7, -21.5)),  # (-27.4, 22, 21.4)
)
HYPOTHENAR_RADII = (9.0, 30.0, 12.0)
HYPOTHENAR_BLEND_MM = 8.0


def _ellipsoid(hand: PosedHand, axis: Sequence[Anchor], radii: tuple[float, float, float]) -> Ellipsoid:
    start, end, up = (anchor.resolve(hand) for anchor in axis)
    return _oriented_ellipsoid(start, end, up - (start + end) / 2.0, radii)


def palm_primitives(hand: PosedHand) -> list[Blend]:
    """Palm and dorsal pads, thenar and hypothenar eminences, first web space."""
    return [
        Blend("palm_pad", Slab(_corners(hand, PALM_PAD), PALM_PAD_RADIUS_MM), PALM_PAD_BLEND_MM),
        Blend("dorsal_pad", Slab(_corners(hand, DORSAL_PAD), DORSAL_PAD_RADIUS_MM), 5.0),
        Blend("thenar", _ellipsoid(hand, THENAR_AXIS, THENAR_RADII), THENAR_BLEND_MM),
        Blend("first_web", Slab(_corners(hand, FIRST_WEB), FIRST_WEB_RADIUS_MM), 4.0),
        Blend("hypothenar", _ellipsoid(hand, HYPOTHENAR_AXIS, HYPOTHENAR_RADII), HYPOTHENAR_BLEND_MM),
    ]


# Forearm: an elliptic cylinder around the radius and the ulna, from the proximal forearm to
# the carpus, open proximally (the cap closes it). Its section is wide across the forearm: at
# the cap it leans toward the line from the ulna to the radius, at the wrist it lies in the
# plane of the palm (a flattened oval, ≈ 60 × 36 mm at the distal radius).
FOREARM_PROXIMAL = Mix(
    (
        Anchor("radius", (27.3, -130.5, 15.1)),  # (8, -127, -3)
        Anchor("ulna", (-4.8, -137.0, 27.8)),  # (-20, -133, -21)
    ),
    (1.0, 1.0),
)
FOREARM_DISTAL = Anchor("capitate", (-0.8, 12.1, 0.2))  # (0, -12, -2)
FOREARM_ACROSS_PROXIMAL = (
    Anchor("ulna", (-8.7, -140.0, 29.2)),
    Anchor("radius", (42.4, -129.2, 23.3)),  # (25, -127, -6)
)
FOREARM_ACROSS_DISTAL = (
    Anchor("capitate", (-18.3, 0.6, -8.5)),  # (-20, -2, 2)
    Anchor("capitate", (18.3, 3.3, 7.9)),  # (20, -2, -2)
)
FOREARM_PROXIMAL_RADII = (36.0, 23.0)
FOREARM_DISTAL_RADII = (26.0, 20.0)
FOREARM_BLEND_MM = 8.0
#: Superellipse exponent of the wrist section (2 at the cap: an ellipse).
FOREARM_DISTAL_EXPONENT = 2.6
#: Length of the rounded distal end of the forearm cylinder, inside the proximal palm, mm.
FOREARM_END_CAP_MM = 16.0
# The dorsal wrist: a tapered capsule over the dorsal carpus (extensor tendons under the extensor
# retinaculum) that ramps the dorsum of the hand down to the deeper dorsal forearm.
DORSAL_WRIST = (
    Anchor("capitate", (-4.7, 20.3, 1.0)),  # (-3, -20, -5)
    Anchor("capitate", (-2.3, -16.1, 0.3)),  # (-3, 16, 1)
)
DORSAL_WRIST_RADII = (17.0, 11.0)


def forearm_primitives(hand: PosedHand) -> list[Blend]:
    """The forearm and wrist elliptic cylinder."""
    ulna_point, radius_point = (anchor.resolve(hand) for anchor in FOREARM_ACROSS_PROXIMAL)
    ulnar_point, radial_point = (anchor.resolve(hand) for anchor in FOREARM_ACROSS_DISTAL)
    cylinder = EllipticCylinder(
        start=FOREARM_PROXIMAL.resolve(hand),
        end=FOREARM_DISTAL.resolve(hand),
        across_direction=radius_point - ulna_point,
        start_radii=FOREARM_PROXIMAL_RADII,
        end_radii=FOREARM_DISTAL_RADII,
        end_across_direction=radial_point - ulnar_point,
        end_cap=FOREARM_END_CAP_MM,
        end_exponent=FOREARM_DISTAL_EXPONENT,
    )
    start, end = (anchor.resolve(hand) for anchor in DORSAL_WRIST)
    ramp = TaperedCapsule(start, end, *DORSAL_WRIST_RADII)
    return [Blend("forearm", cylinder, FOREARM_BLEND_MM), Blend("dorsal_wrist", ramp, FOREARM_BLEND_MM)]


# ----------------------------------------------------------------------------- web spaces
@dataclass(frozen=True)
class Cleft:
    """A flat, round-ended wedge between two fingers: the space distal to a web commissure.

    In the plane spanned by ``start -> end`` and ``depth_direction`` it is a tapered 2-D
    capsule (half-width ``start_radius`` at the commissure, ``end_radius`` at ``end``) swept
    ``half_depth`` mm palmar and dorsal; its round proximal end is the U of the commissure.
    ``slope`` moves the commissure distally per mm palmar (the dorsal web slopes from the
    knuckles down to a free margin near the palmar skin), mm.
    """

    start: np.ndarray
    end: np.ndarray
    depth_direction: np.ndarray
    start_radius: float
    end_radius: float
    half_depth: float
    slope: float = 0.0

    def _frame(self) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        depth = self.depth_direction / np.linalg.norm(self.depth_direction)
        along = self.end - self.start
        along = along - depth * (along @ depth)
        length = float(np.linalg.norm(along))
        along = along / length
        return along, length, depth, np.cross(along, depth)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned box holding the shape."""
        _, _, depth, _ = self._frame()
        reach = max(self.start_radius, self.end_radius) + abs(self.slope) * self.half_depth
        ends = (self.start, self.end)
        corners = np.array([point + sign * self.half_depth * depth for point in ends for sign in (-1, 1)])
        return corners.min(axis=0) - reach, corners.max(axis=0) + reach

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Approximate signed distance, ``(..., 3) -> (...)``."""
        along, length, depth, across = self._frame()
        offset = points - self.start
        w = offset @ depth
        s = offset @ along - self.slope * np.clip(w, -self.half_depth, self.half_depth)
        u = offset @ across
        t = np.clip(s / length, 0.0, 1.0)
        radius = self.start_radius + (self.end_radius - self.start_radius) * t
        flat = np.hypot(s - t * length, u) - radius
        return np.maximum(flat, np.abs(w) - self.half_depth)


@dataclass(frozen=True)
class Carve:
    """A named shape cut out of the field with a smooth maximum of radius ``k`` (mm).

    The cut stops ``clearance`` mm from the bones of ``sides`` (one group of bones per side of
    the cut): the distances to the groups are merged with a smooth minimum of radius
    ``fillet``, so that where the cut reaches both sides its floor is round, not a V.
    """

    name: str
    shape: Cleft
    k: float
    sides: tuple[tuple[str, ...], ...] = ()
    clearance: float = 2.5
    fillet: float = 5.0


#: Web spaces between the fingers: radial digit -> where the commissure lies, as fractions of
#: the two proximal phalanges (radial, ulnar digit) from their MCP joint centres. The webs lie
#: about a third of the way along the proximal phalanges; the fifth MCP joint is ~10 mm
#: proximal to the fourth, so the fourth web is near the ring finger's base.
WEB_COMMISSURES: dict[int, tuple[float, float]] = {2: (0.35, 0.33), 3: (0.33, 0.36), 4: (0.18, 0.39)}
#: The cleft runs from the commissure to this fraction of the proximal phalanges.
WEB_CLEFT_END = 1.3
#: Half-width of the cleft at the commissure (the radius of its U) and at its distal end, mm.
WEB_CLEFT_RADII = (3.0, 3.5)
#: Palmar and dorsal reach of the cleft, mm.
WEB_CLEFT_HALF_DEPTH_MM = 16.0
#: Distal shift of the commissure per mm palmar: the dorsal web slopes down from the knuckles.
WEB_CLEFT_SLOPE = 0.3
#: Smooth-max radius of the cut, mm.
WEB_CLEFT_BLEND_MM = 3.0
#: The cut stays this far from the bones of the two fingers, mm.
WEB_BONE_CLEARANCE_MM = 2.0
#: Where the cut reaches the bones of both fingers, its floor is rounded with this radius, mm.
WEB_FLOOR_FILLET_MM = 5.0


def _between_skins(
    hand: PosedHand, radial: int, fraction: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The point midway between the two fingers' capsule surfaces at the given fractions, and
    the unit direction from the radial finger's axis to the ulnar one's."""
    points, radii = [], []
    for digit, tau in zip((radial, radial + 1), fraction, strict=True):
        proximal, middle = FINGERS[digit][0][:2]
        start, end = hand.joint_centres[proximal], hand.joint_centres[middle]
        points.append(start + tau * (end - start))
        (r0, r1) = FINGERS[digit][1][0]
        radii.append(r0 + (r1 - r0) * min(tau, 1.0))
    gap = points[1] - points[0]
    distance = float(np.linalg.norm(gap))
    return points[0] + gap / distance * (distance + radii[0] - radii[1]) / 2.0, gap / distance


def web_carves(hand: PosedHand) -> list[Carve]:
    """The clefts that separate the fingers distal to the 2nd, 3rd and 4th web commissures."""
    carves = []
    for radial, fraction in WEB_COMMISSURES.items():
        start, across = _between_skins(hand, radial, fraction)
        end, _ = _between_skins(hand, radial, (WEB_CLEFT_END, WEB_CLEFT_END))
        # the cleft's plane is normal to the line between the fingers: the little finger lies
        # palmar to the ring finger, so its plane leans
        depth = _palmar(hand, FINGERS[radial][0][0]) + _palmar(hand, FINGERS[radial + 1][0][0])
        depth = depth - across * (depth @ across)
        cleft = Cleft(start, end, depth, *WEB_CLEFT_RADII, WEB_CLEFT_HALF_DEPTH_MM, WEB_CLEFT_SLOPE)
        sides = tuple(
            tuple(f"{segment}_{digit}" for segment in ("metacarpal", "proximal_phalanx", "middle_phalanx"))
            for digit in (radial, radial + 1)
        )
        name = f"web_{radial}_{radial + 1}"
        carves.append(
            Carve(name, cleft, WEB_CLEFT_BLEND_MM, sides, WEB_BONE_CLEARANCE_MM, WEB_FLOOR_FILLET_MM)
        )
    return carves


def skin_primitives(hand: PosedHand) -> list[Blend]:
    """Every soft-tissue primitive of the skin, posed, in the order they are blended."""
    return forearm_primitives(hand) + palm_primitives(hand) + finger_primitives(hand)


# ----------------------------------------------------------------------------- palpable bone
@dataclass(frozen=True)
class Palpable:
    """A bony prominence felt under the skin: a cap on the soft tissue over it.

    The prominence is a point or a segment (a border, the dorsal carpus), named after a method of
    :class:`handatlas.build.landmarks.Prominences`, and the direction its surface faces.  Within
    ``inner`` mm of it (measured across ``facing``) the skin lies at most ``thickness`` mm from the
    nearest bone; further out the cap rises by ``slope`` mm per mm, so the skin is pulled down over
    the bone like a tent and meets the fleshy tissue around it smoothly.
    """

    name: str
    facing: tuple[float, float, float]
    thickness: float
    inner: float
    slope: float = 0.6


#: Soft tissue over the dorsal proximal carpal row, mm: skin and subcutis (with the dorsal veins
#: and the superficial radial nerve's branches), the extensor retinaculum and the extensor tendons
#: in their compartments on the dorsal carpal ligaments -- about 7-8 mm, not the 13-18 mm of a
#: plain forearm-to-hand blend.
DORSAL_CARPUS_MM = 8.0
#: Skin + subcutis over palpable bone, mm (ANATOMY.md, second edition: the styloids, Lister's
#: tubercle, the pisiform, the scaphoid tubercle and the metacarpal borders 2–5 mm; the hook of the
#: hamate 5–8 mm, deep in the base of the hypothenar eminence; the snuffbox's floor 5–9 mm under
#: skin, fascia, the superficial radial nerve's branches and the radial artery).
PALPABLE: tuple[Palpable, ...] = (
    Palpable("radial_styloid", (1.0, 0.0, 0.0), 4.5, 3.0),
    Palpable("ulnar_styloid", (-0.5, 0.0, -0.85), 3.5, 4.0),
    Palpable("listers_tubercle", (0.0, 0.0, -1.0), 4.0, 4.0),
    Palpable("pisiform_palmar", (0.0, 0.0, 1.0), 4.0, 3.0),
    Palpable("scaphoid_tubercle", (0.45, 0.0, 0.9), 4.5, 2.0),
    Palpable("hook_of_hamate", (0.0, 0.0, 1.0), 6.5, 2.0),
    Palpable("snuffbox_floor", (0.8, 0.1, -0.6), 7.0, 4.0),
    Palpable("index_radial_border", (1.0, 0.0, -0.3), 4.0, 2.0),
    Palpable("little_ulnar_border", (-1.0, 0.0, 0.0), 4.5, 2.0),
    Palpable("dorsal_carpus", (0.0, 0.0, -1.0), DORSAL_CARPUS_MM, 8.0),
)
#: Borders given as segments: name -> (bone, direction in the hand frame, start, end fraction).
BORDERS: dict[str, tuple[str, tuple[float, float, float], float, float]] = {
    "index_radial_border": ("metacarpal_2", (1.0, 0.0, 0.0), 0.25, 0.8),
    "little_ulnar_border": ("metacarpal_5", (-1.0, 0.0, 0.0), 0.3, 0.85),
}
#: A cap reaches this far across its prominence (mm) ...
PALPABLE_REACH_MM = 20.0
#: ... and from this far below the prominence's surface outward (mm).
PALPABLE_BELOW_MM = 2.0
#: Half-angle of the cone over a prominence that its cap covers (degrees) ...
PALPABLE_CONE_DEG = 55.0
#: ... outside it the cap rises this steeply (mm per mm).
PALPABLE_ASIDE_SLOPE = 3.0
#: Smooth-maximum radius of the caps, mm.
PALPABLE_BLEND_MM = 1.5


def _prominence(hand: PosedHand, name: str) -> np.ndarray:
    """The segment ``(2, 3)`` of a palpable prominence (a point is a segment of length 0)."""
    from handatlas.build.landmarks import Prominences

    bones = Prominences(hand)
    if name in BORDERS:
        bone, direction, start, end = BORDERS[name]
        return bones.border(bone, np.array(direction), start, end)
    place = np.asarray(getattr(bones, name)(), dtype=float)
    return place if place.ndim == 2 else np.array([place, place])


def _segment_distance(points: np.ndarray, segment: np.ndarray) -> np.ndarray:
    a, b = segment
    axis = b - a
    length = float(axis @ axis)
    t = np.clip(((points - a) @ axis) / length, 0.0, 1.0) if length > 0 else np.zeros(points.shape[:-1])
    return np.linalg.norm(points - (a + t[..., None] * axis), axis=-1)


def palpable_field(hand: PosedHand, grid: Grid, bone_field: BoneField) -> np.ndarray:
    """The caps of :data:`PALPABLE` as one field (mm; the skin must be where it is <= 0).

    A voxel ``x`` over a prominence (no deeper than :data:`PALPABLE_BELOW_MM` under its surface,
    within :data:`PALPABLE_REACH_MM` across it) gets ``bone(x) - cap(x)``: ``bone(x)`` the distance
    to the nearest bone sample (negative inside a bone), ``cap(x)`` the thickness plus the slope
    times how far ``x`` lies across the prominence beyond ``inner``.  Both are continuous in
    ``x``, so the caps add no creases of their own; elsewhere the field is very negative.
    """
    seeds = bone_field.seeds
    shell = np.zeros(grid.shape, dtype=bool)
    shell[tuple(seeds.index.T)] = True
    solid = ndimage.binary_fill_holes(shell)
    out = np.full(grid.shape, -PALPABLE_REACH_MM, dtype=np.float32)
    for palpable in PALPABLE:
        segment = _prominence(hand, palpable.name)
        normal = np.asarray(palpable.facing, dtype=float) / np.linalg.norm(palpable.facing)
        reach = PALPABLE_REACH_MM + float(np.linalg.norm(segment[1] - segment[0]))
        window = grid.window(segment.min(axis=0) - reach, segment.max(axis=0) + reach)
        points = grid.points(window)
        height = (points - segment[0]) @ normal
        flat = points - height[..., None] * normal
        across = _segment_distance(flat, segment - ((segment - segment[0]) @ normal)[:, None] * normal)
        use = (height > -PALPABLE_BELOW_MM) & (across < PALPABLE_REACH_MM)
        nearest = bone_field.nearest[window][use]
        bone = np.linalg.norm(points[use] - seeds.points[nearest], axis=-1)
        bone = np.where(solid[window][use], -bone, bone)
        beyond = np.maximum(across[use] - palpable.inner, 0.0)
        # outside a cone of PALPABLE_CONE_DEG around the facing direction the cap lifts off
        # quickly: tissue beside the bone (an eminence beside a border) is not over it
        aside = np.maximum(beyond - np.tan(np.radians(PALPABLE_CONE_DEG)) * np.maximum(height[use], 0.0), 0.0)
        cap = palpable.thickness + palpable.slope * beyond + PALPABLE_ASIDE_SLOPE * aside
        part = out[window]
        part[use] = np.maximum(part[use], bone - cap)
        out[window] = part
    return out


# ----------------------------------------------------------------------------- the grid
@dataclass(frozen=True)
class Grid:
    """A regular grid of voxel centres: ``lower + spacing * index``, mm."""

    lower: np.ndarray
    spacing: float
    shape: tuple[int, int, int]

    @classmethod
    def around(cls, lower: ArrayLike, upper: ArrayLike, spacing: float) -> Grid:
        """The grid covering the box ``[lower, upper]``."""
        lower = np.asarray(lower, dtype=np.float64)
        counts = np.ceil((np.asarray(upper, dtype=np.float64) - lower) / spacing).astype(int) + 1
        return cls(lower=lower, spacing=spacing, shape=(int(counts[0]), int(counts[1]), int(counts[2])))

    def axis(self, dimension: int) -> np.ndarray:
        """Voxel-centre coordinates along one axis."""
        return self.lower[dimension] + self.spacing * np.arange(self.shape[dimension])

    def points(self, window: tuple[slice, slice, slice]) -> np.ndarray:
        """Voxel centres of a window, ``(i, j, k, 3)``."""
        axes = [self.axis(d)[window[d]] for d in range(3)]
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)

    def window(self, lower: ArrayLike, upper: ArrayLike) -> tuple[slice, slice, slice]:
        """Index window of the voxels inside a box (clipped to the grid)."""
        start = np.floor((np.asarray(lower) - self.lower) / self.spacing).astype(int)
        stop = np.ceil((np.asarray(upper) - self.lower) / self.spacing).astype(int) + 1
        start = np.clip(start, 0, self.shape)
        stop = np.clip(stop, 0, self.shape)
        return (
            slice(int(start[0]), int(stop[0])),
            slice(int(start[1]), int(stop[1])),
            slice(int(start[2]), int(stop[2])),
        )


def _skin_grid(hand: PosedHand, voxel_mm: float) -> Grid:
    vertices = np.vstack([mesh.vertices for mesh in hand.meshes.values()])
    lower = vertices.min(axis=0) - GRID_MARGIN_MM
    upper = vertices.max(axis=0) + GRID_MARGIN_MM
    # half a voxel off the cap plane: no field value is exactly zero on a grid node there
    lower[1] = hand.cap_y - 2.5 * voxel_mm
    return Grid.around(lower, upper, voxel_mm)


# ----------------------------------------------------------------------------- the bone field
@dataclass(frozen=True)
class _Seeds:
    points: np.ndarray  # (n, 3) float64
    thickness: np.ndarray  # (n,) float32
    index: np.ndarray  # (n, 3) int voxel of each seed
    normals: np.ndarray  # (n, 3) outward normal of the bone surface at each seed
    bones: np.ndarray  # (n,) index into SOFT_TISSUE of each seed's bone


def _bone_samples(hand: PosedHand, spacing: float) -> tuple[np.ndarray, ...]:
    """Dense deterministic surface samples of every bone: points, soft-tissue thickness, outward
    normals and the index of the bone in :data:`SOFT_TISSUE`."""
    points, thickness, normals, bones = [], [], [], []
    for number, bone in enumerate(SOFT_TISSUE):
        mesh = hand.meshes[bone]
        count = max(int(np.ceil(mesh.area / spacing**2)), 200)
        samples, faces = trimesh.sample.sample_surface(mesh, count, seed=number)
        cosine = mesh.face_normals[faces] @ _palmar(hand, bone)
        palmar, lateral, dorsal = SOFT_TISSUE[bone]
        points.append(samples)
        thickness.append(
            lateral
            + (palmar - lateral) * np.clip(cosine, 0.0, 1.0) ** 1.5
            + (dorsal - lateral) * np.clip(-cosine, 0.0, 1.0) ** 1.5
        )
        normals.append(mesh.face_normals[faces])
        bones.append(np.full(len(samples), number))
    return np.vstack(points), np.concatenate(thickness), np.vstack(normals), np.concatenate(bones)


def _seeds(hand: PosedHand, grid: Grid) -> _Seeds:
    """One bone sample per seeded voxel: the one nearest to that voxel's centre."""
    points, thickness, normals, bones = _bone_samples(hand, grid.spacing / SAMPLES_PER_VOXEL)
    index = np.rint((points - grid.lower) / grid.spacing).astype(np.int64)
    inside = np.all((index >= 0) & (index < np.asarray(grid.shape)), axis=1)
    points, thickness, index = points[inside], thickness[inside], index[inside]
    normals, bones = normals[inside], bones[inside]
    offset = np.linalg.norm(points - (grid.lower + index * grid.spacing), axis=1)
    linear = np.ravel_multi_index(tuple(index.T), grid.shape)
    order = np.lexsort((offset, linear))
    _, first = np.unique(linear[order], return_index=True)
    chosen = order[first]
    return _Seeds(points[chosen], thickness[chosen].astype(np.float32), index[chosen], normals[chosen],
                  bones[chosen])


@dataclass(frozen=True)
class BoneField:
    """The bone offset field and, per voxel, the nearest bone sample (an index into ``seeds``)."""

    field: np.ndarray  # (i, j, k) float32, mm
    nearest: np.ndarray  # (i, j, k) int64
    seeds: _Seeds


def bone_offset_field(hand: PosedHand, grid: Grid) -> BoneField:
    """Distance to the nearest bone sample minus its soft-tissue thickness, mm (float32).

    Parameters
    ----------
    hand : PosedHand
        Posed bones.
    grid : Grid
        Voxel grid.

    Returns
    -------
    BoneField
        ``field`` (i, j, k) float32, the nearest sample of every voxel and the samples.
    """
    seeds = _seeds(hand, grid)
    seeded = np.ones(grid.shape, dtype=bool)
    seeded[tuple(seeds.index.T)] = False
    owner = np.full(grid.shape, -1, dtype=np.int64)
    owner[tuple(seeds.index.T)] = np.arange(len(seeds.points))
    nearest = ndimage.distance_transform_edt(seeded, return_distances=False, return_indices=True)
    nearest_seed = owner[tuple(nearest)]
    del nearest
    field = np.empty(grid.shape, dtype=np.float32)
    seed_points = seeds.points.astype(np.float32)
    for i in range(grid.shape[0]):  # slab by slab: bounded memory
        centres = grid.points((slice(i, i + 1), slice(None), slice(None)))[0].astype(np.float32)
        owners = nearest_seed[i]
        gap = np.linalg.norm(centres - seed_points[owners], axis=-1)
        field[i] = gap - seeds.thickness[owners]
    return BoneField(field, nearest_seed, seeds)


# ----------------------------------------------------------------------------- surface
def _apply(field: np.ndarray, grid: Grid, blend: Blend) -> None:
    """``field = smooth_min(field, shape)`` inside the shape's box (plus the blend margin)."""
    lower, upper = blend.shape.bounds()
    window = grid.window(lower - blend.k - 1.0, upper + blend.k + 1.0)
    distance = blend.shape.distance(grid.points(window))
    field[window] = smooth_min(field[window], distance, blend.k).astype(np.float32)


#: The bone clearance of a carve is enforced within this distance of its shape, mm.
CARVE_CLAMP_REACH_MM = 6.0


def _bone_distance(hand: PosedHand, bones: Sequence[str], points: np.ndarray) -> np.ndarray:
    """Distance from ``points`` to the nearest surface sample of ``bones``, mm."""
    samples = []
    for bone in bones:
        mesh = hand.meshes[bone]
        count = max(int(np.ceil(mesh.area / 0.4**2)), 200)
        samples.append(trimesh.sample.sample_surface(mesh, count, seed=list(SOFT_TISSUE).index(bone))[0])
    distance, _ = cKDTree(np.vstack(samples)).query(points.reshape(-1, 3))
    return distance.reshape(points.shape[:-1])


def _carve(field: np.ndarray, grid: Grid, hand: PosedHand, carve: Carve) -> None:
    """``field = smooth_max(field, -shape)`` inside the shape's box (plus the blend margin),
    but no closer to the carve's bones than its clearance."""
    lower, upper = carve.shape.bounds()
    window = grid.window(lower - carve.k - 1.0, upper + carve.k + 1.0)
    points = grid.points(window)
    cut = -carve.shape.distance(points)
    near = cut > -CARVE_CLAMP_REACH_MM  # deeper in the fingers the cut changes nothing
    if carve.sides and near.any():
        distances = [_bone_distance(hand, bones, points[near]) for bones in carve.sides]
        bone = distances[0]
        for other in distances[1:]:
            bone = smooth_min(bone, other, carve.fillet)
        cut[near] = smooth_min(cut[near], bone - carve.clearance, carve.k)
    field[window] = (-smooth_min(-field[window], -cut, carve.k)).astype(np.float32)


def _cap(field: np.ndarray, grid: Grid, cap_y: float) -> np.ndarray:
    below = (cap_y - grid.axis(1)).astype(np.float32)
    return np.maximum(field, below[None, :, None])


def _contour(field: np.ndarray, grid: Grid) -> trimesh.Trimesh:
    padded = np.pad(field, 1, mode="constant", constant_values=np.float32(10.0))
    vertices, faces, _, _ = measure.marching_cubes(padded, level=0.0, spacing=(grid.spacing,) * 3)
    vertices = vertices + grid.lower - grid.spacing
    return trimesh.Trimesh(vertices.astype(np.float64), faces, process=True)


def _largest_component(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    parts = mesh.split(only_watertight=False)
    order = sorted(range(len(parts)), key=lambda i: (-len(parts[i].faces), i))
    return parts[order[0]]


def _snap_cap(mesh: trimesh.Trimesh, cap_y: float) -> trimesh.Trimesh:
    vertices = np.array(mesh.vertices)
    vertices[np.abs(vertices[:, 1] - cap_y) < CAP_SNAP_MM, 1] = cap_y
    vertices[vertices[:, 1] < cap_y, 1] = cap_y
    return trimesh.Trimesh(vertices, mesh.faces, process=False)


def _finish(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Round vertices to 1e-6 mm, make the normals outward, check it."""
    finished = trimesh.Trimesh(np.round(mesh.vertices, 6), mesh.faces, process=True)
    trimesh.repair.fix_winding(finished)
    if finished.volume < 0:
        finished.invert()
    if not is_sound(finished):
        msg = "the skin is not a single watertight surface"
        raise RuntimeError(msg)
    return finished


@dataclass(frozen=True)
class SkinBuild:
    """The skin and how it was built.

    Attributes
    ----------
    mesh : trimesh.Trimesh
        The skin, hand frame mm.
    grid_shape : tuple of int
        Voxels of the field.
    timings_s : dict of str -> float
        Seconds per stage.
    """

    mesh: trimesh.Trimesh
    grid_shape: tuple[int, int, int]
    timings_s: dict[str, float] = field(default_factory=dict)


def build_skin_report(hand: PosedHand, *, voxel_mm: float = 1.0, target_faces: int = 60000) -> SkinBuild:
    """Build the skin and report grid size and timings; see :func:`build_skin`."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    grid = _skin_grid(hand, voxel_mm)
    bone_field = bone_offset_field(hand, grid)
    field_mm = bone_field.field
    lap("bone_field")
    for blend in skin_primitives(hand):
        _apply(field_mm, grid, blend)
    lap("primitives")
    caps = palpable_field(hand, grid, bone_field)
    field_mm = (-smooth_min(-field_mm, -caps, PALPABLE_BLEND_MM)).astype(np.float32)
    field_mm = ndimage.gaussian_filter(field_mm, BLUR_MM / voxel_mm)
    for carve in web_carves(hand):
        _carve(field_mm, grid, hand, carve)
    field_mm = _cap(field_mm, grid, hand.cap_y)
    surface = _largest_component(_contour(field_mm, grid))
    lap("contour")
    trimesh.smoothing.filter_taubin(surface, iterations=TAUBIN_ITERATIONS)
    surface = _snap_cap(surface, hand.cap_y)
    # decimation can leave a sliver of two faces beside a crease: keep the surface itself
    surface = _snap_cap(_largest_component(decimate(surface, target_faces)), hand.cap_y)
    skin = _finish(surface)
    lap("smooth_decimate")
    timings["total"] = round(sum(timings.values()), 3)
    return SkinBuild(mesh=skin, grid_shape=grid.shape, timings_s=timings)


def build_skin(hand: PosedHand, *, voxel_mm: float = 1.0, target_faces: int = 60000) -> trimesh.Trimesh:
    """A smooth, watertight, single-component skin around the posed hand.

    Parameters
    ----------
    hand : PosedHand
        The posed bones (:func:`handatlas.build.skeleton.pose_hand`).
    voxel_mm : float
        Voxel size of the implicit field.
    target_faces : int
        Triangles after decimation.

    Returns
    -------
    trimesh.Trimesh
        Hand frame mm, outward normals, vertices rounded to 1e-6 mm, closed by a flat cap at
        ``y = hand.cap_y``.

    Examples
    --------
    >>> skin = build_skin(pose_hand(), voxel_mm=1.0)  # doctest: +SKIP
    >>> round(skin.bounds[0][1], 3) == round(pose_hand().cap_y, 3)  # doctest: +SKIP
    True
    """
    return build_skin_report(hand, voxel_mm=voxel_mm, target_faces=target_faces).mesh
