"""Digits, rays and their axes in the posed hand: the vocabulary shared by territories and landmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from handatlas.build.skeleton import PosedHand

DIGITS = ("thumb", "index", "middle", "ring", "little")
SEGMENTS = ("metacarpal", "proximal_phalanx", "middle_phalanx", "distal_phalanx")
TIP_SITES = ("THtip_r", "IFtip_r", "MFtip_r", "RFtip_r", "LFtip_r")
CARPALS = ("scaphoid", "lunate", "triquetrum", "pisiform", "trapezium", "trapezoid", "capitate", "hamate")

#: Palmar direction of the thumb column in its own bone frames (myo-sim local; the pulp faces
#: ulnar-palmar because the thumb is pronated relative to the fingers).
THUMB_PALMAR_LOCAL = np.array([-0.6, 0.0, -0.8]) / 1.0


def unit(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled to length 1."""
    return np.asarray(vector, dtype=float) / np.linalg.norm(vector)


def bone_id(digit: int, segment: str) -> str:
    """Bone id of a digit (1 = thumb ... 5 = little) and segment; the thumb has no middle phalanx.

    Examples
    --------
    >>> bone_id(2, "metacarpal"), bone_id(1, "distal_phalanx")
    ('metacarpal_2', 'distal_phalanx_1')
    """
    if digit == 1 and segment == "middle_phalanx":
        msg = "the thumb has no middle phalanx"
        raise ValueError(msg)
    return f"{segment}_{digit}"


def segments_of(digit: int) -> tuple[str, ...]:
    """The segments of a digit, proximal to distal."""
    return tuple(s for s in SEGMENTS if not (digit == 1 and s == "middle_phalanx"))


def digit_of(bone: str) -> int:
    """Digit number of a metacarpal or phalanx id, 0 for carpals and forearm bones."""
    tail = bone.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


#: The base of a metacarpal (its CMC joint centre) lies this far inside its proximal end, mm.
BASE_INSET_MM = 3.0


def segment_ends(hand: PosedHand, digit: int, segment: str) -> tuple[np.ndarray, np.ndarray]:
    """Proximal and distal joint centres of a digit segment (hand frame, mm).

    Phalanges: their body origin (the proximal joint centre) and the next bone's origin, or the
    fingertip site for a distal phalanx.  Metacarpals: the head is the MCP joint centre (the
    proximal phalanx's origin); the myo-sim body origin of a finger metacarpal lies near its
    head, so the base is taken on the line from the head through the bone's centroid,
    :data:`BASE_INSET_MM` inside the bone's proximal end.
    """
    bone = bone_id(digit, segment)
    chain = segments_of(digit)
    i = chain.index(segment)
    if i + 1 < len(chain):
        distal = np.asarray(hand.joint_centres[bone_id(digit, chain[i + 1])], dtype=float)
    else:
        distal = np.asarray(hand.sites[TIP_SITES[digit - 1]], dtype=float)
    if segment != "metacarpal" or digit == 1:
        return np.asarray(hand.joint_centres[bone], dtype=float), distal
    centroid = np.asarray(hand.meshes[bone].center_mass, dtype=float)
    axis = unit(distal - centroid)
    reach = (np.asarray(hand.meshes[bone].vertices) - centroid) @ axis
    return centroid + axis * (reach.min() + BASE_INSET_MM), distal


@dataclass(frozen=True)
class SegmentFrame:
    """Where a digit segment sits and which way its aspects face (hand frame, unit vectors).

    Attributes
    ----------
    bone : str
        Bone id.
    proximal, distal : (3,) float
        Joint centres at both ends (the fingertip site for distal phalanges).
    centre : (3,) float
        Mid-shaft: the bone's centroid.
    axis, palmar, radial : (3,) float
        Proximal-to-distal axis and the palmar and radial directions perpendicular to it.  For
        the thumb, palmar is the pulp side and radial the border away from the index finger.
    """

    bone: str
    proximal: np.ndarray
    distal: np.ndarray
    centre: np.ndarray
    axis: np.ndarray
    palmar: np.ndarray
    radial: np.ndarray

    def direction(self, aspect: str) -> np.ndarray:
        """Unit direction of an aspect: palmar, dorsal, radial or ulnar."""
        table = {"palmar": self.palmar, "dorsal": -self.palmar,
                 "radial": self.radial, "ulnar": -self.radial}
        return table[aspect]


def segment_frame(hand: PosedHand, digit: int, segment: str) -> SegmentFrame:
    """The :class:`SegmentFrame` of one digit segment in the posed hand."""
    bone = bone_id(digit, segment)
    proximal, distal = segment_ends(hand, digit, segment)
    axis = unit(distal - proximal)
    if digit == 1:
        palmar_guess = hand.transforms[bone][:3, :3] @ THUMB_PALMAR_LOCAL
    else:
        palmar_guess = np.array([0.0, 0.0, 1.0])
    palmar = unit(palmar_guess - axis * (palmar_guess @ axis))
    radial = np.cross(axis, palmar)
    away = hand.meshes[bone].center_mass - hand.joint_centres["metacarpal_3"]
    if (digit == 1 and radial @ away < 0) or (digit > 1 and radial[0] < 0):
        radial = -radial
    return SegmentFrame(bone, proximal, distal, np.asarray(hand.meshes[bone].center_mass),
                        axis, palmar, radial)


def ray_line(
    hand: PosedHand, digit: int, segment: str = "proximal_phalanx"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The axis of one bone of a ray: (point, axis, radial), through its proximal joint centre.

    The signed distance ``(p - point) @ radial`` tells on which side of the axis a point lies.
    """
    frame = segment_frame(hand, digit, segment)
    return frame.proximal, frame.axis, frame.radial
