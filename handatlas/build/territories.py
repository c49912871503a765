"""Cutaneous nerve territories: a label per skin vertex (median, ulnar, radial, forearm).

The rules follow the textbook map of ANATOMY.md ("Territories"):

* palmar: median for the thumb, index, middle and the radial half of the ring finger and for
  the palm radial to the ring-finger axis (the lateral two thirds, thenar eminence included);
  ulnar for the rest (ulnar half of the ring finger, the little finger, the hypothenar palm);
* dorsal: ulnar for the little finger, the ulnar half of the ring finger and the dorsum ulnar to
  the ring-finger axis (1½ digits); the median for the skin over the middle and distal phalanges
  of the index, middle and radial half of the ring finger and over the thumb's distal phalanx
  (nail beds); radial for the rest of the dorsum and the dorsal thumb;
* ``forearm`` proximal to the distal wrist crease.

The variant ``dorsal_ulnar_2_5`` moves the dorsal border to the middle-finger axis: the ulnar
nerve then supplies the dorsal skin of 2½ digits (ring, little and the ulnar half of the middle
finger) and the dorsum ulnar to the middle finger, where the standard map gives it to the radial
nerve; the median's nail-bed zones are unchanged.

A vertex is assigned to the bone nearest to it (carpals and hand bones; proximal to the wrist
crease everything is forearm) and is palmar when its outward normal faces that bone's palmar
direction more than a cosine: :data:`DIGIT_PALMAR_COSINE` on the phalanges, whose lateral
borders count as palmar because the proper palmar digital nerves supply them, and
:data:`PALM_PALMAR_COSINE` (the mid-lateral line) over the metacarpals and carpus.  Radial and
ulnar halves are split by the axis of the ring finger on the digits and by the axis of the
fourth metacarpal over the palm and dorsum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from handatlas.build.digits import CARPALS, digit_of, ray_line, segment_frame, segments_of
from handatlas.format import TERRITORY_LABELS

if TYPE_CHECKING:
    import trimesh

    from handatlas.build.skeleton import PosedHand

VARIANTS = ("standard", "dorsal_ulnar_2_5")
VARIANT_NOTES = {
    "standard": "Ulnar nerve dorsally to 1½ digits; median nail beds of the radial 3½ digits.",
    "dorsal_ulnar_2_5": "Dorsal branch of the ulnar nerve to 2½ digits (a common variant).",
}
#: On the phalanges a vertex is palmar when normal · palmar > this (the sides count as palmar).
DIGIT_PALMAR_COSINE = -0.35
#: Over the metacarpals and carpus the border is the mid-lateral line.
PALM_PALMAR_COSINE = 0.0
MEDIAN, ULNAR, RADIAL, FOREARM = (TERRITORY_LABELS.index(t) for t in ("median", "ulnar", "radial", "forearm"))


def wrist_crease_y(hand: PosedHand) -> float:
    """y of the distal wrist crease: level with the pisiform and the scaphoid tubercle.

    The crease overlies the proximal border of the flexor retinaculum, between the pisiform
    (ulnar) and the scaphoid tubercle (radial); we take the mean y of the pisiform centroid and
    the most palmar-radial point of the scaphoid.
    """
    from handatlas.build.landmarks import Prominences

    bones = Prominences(hand)
    return float((bones.centroid("pisiform")[1] + bones.scaphoid_tubercle()[1]) / 2)


def _nearest_bone(hand: PosedHand, points: np.ndarray) -> np.ndarray:
    names = [b for b in hand.meshes if b in CARPALS or digit_of(b) > 0]
    verts = [np.asarray(hand.meshes[b].vertices) for b in names]
    owner = np.concatenate([np.full(len(v), i) for i, v in enumerate(verts)])
    _, idx = cKDTree(np.vstack(verts)).query(points)
    return np.asarray(names, dtype=object)[owner[idx]]


def label_territories(hand: PosedHand, skin: trimesh.Trimesh) -> dict[str, np.ndarray]:
    """Territory codes per skin vertex, for every variant.

    Parameters
    ----------
    hand
        The posed hand.
    skin
        The skin mesh (hand frame).

    Returns
    -------
    dict of str -> (n,) uint8
        Variant -> codes indexing :data:`handatlas.format.TERRITORY_LABELS`.
    """
    points = np.asarray(skin.vertices)
    normals = np.asarray(skin.vertex_normals)
    bone = _nearest_bone(hand, points)
    digit = np.array([digit_of(b) for b in bone])
    segment = np.array([b.rsplit("_", 1)[0] if d else "carpal" for b, d in zip(bone, digit, strict=True)])

    palmar_dir = np.tile([0.0, 0.0, 1.0], (len(points), 1))
    for d in range(1, 6):
        for seg in segments_of(d):
            mask = (digit == d) & (segment == seg)
            palmar_dir[mask] = segment_frame(hand, d, seg).palmar
    on_digit = np.isin(segment, ("proximal_phalanx", "middle_phalanx", "distal_phalanx"))
    cosine = np.where(on_digit, DIGIT_PALMAR_COSINE, PALM_PALMAR_COSINE)
    palmar = np.einsum("ij,ij->i", normals, palmar_dir) > cosine
    distal_seg = np.isin(segment, ("middle_phalanx", "distal_phalanx"))

    def side_of(ray: int) -> np.ndarray:
        """Signed distance radial to the ray's axis: the finger's on the digit, else its metacarpal's."""
        finger = ray_line(hand, ray, "proximal_phalanx")
        palm = ray_line(hand, ray, "metacarpal")
        return np.where(on_digit, (points - finger[0]) @ finger[2], (points - palm[0]) @ palm[2])

    ring_side, middle_side = side_of(4), side_of(3)
    radial_to_ring = ring_side > 0

    codes = np.full(len(points), RADIAL, dtype=np.uint8)
    # palmar side
    palmar_median = palmar & ((digit == 1) | (digit == 2) | (digit == 3)
                              | ((digit == 4) & radial_to_ring)
                              | ((digit == 0) & radial_to_ring))
    codes[palmar & ~palmar_median] = ULNAR
    codes[palmar_median] = MEDIAN
    # dorsal side
    dorsal = ~palmar
    nail_beds = dorsal & ((distal_seg & ((digit == 2) | (digit == 3) | ((digit == 4) & radial_to_ring)))
                          | ((digit == 1) & (segment == "distal_phalanx")))
    dorsal_ulnar = dorsal & (digit != 1) & ~radial_to_ring
    codes[dorsal & ~nail_beds & ~dorsal_ulnar] = RADIAL
    codes[dorsal_ulnar] = ULNAR
    codes[nail_beds] = MEDIAN

    forearm = points[:, 1] < wrist_crease_y(hand)
    codes[forearm] = FOREARM

    variant = codes.copy()
    wider = dorsal & ~forearm & ~nail_beds & (digit != 1) & (middle_side < 0)
    variant[wider] = ULNAR
    return {"standard": codes, "dorsal_ulnar_2_5": variant}
