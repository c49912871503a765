"""Anatomical reference lines and bony points computed from an atlas, for the fact tests.

These are independent re-derivations from the atlas's public API (meshes and landmarks), not
the build's own code, so that the tests check the model rather than repeat it.
"""

from __future__ import annotations

import numpy as np
import trimesh

DIGITS = ("thumb", "index", "middle", "ring", "little")
SEGMENTS = ("metacarpal", "proximal_phalanx", "middle_phalanx", "distal_phalanx")

BONES = (
    ["radius", "ulna", "scaphoid", "lunate", "triquetrum", "pisiform", "trapezium", "trapezoid", "capitate",
     "hamate"]
    + [f"metacarpal_{i}" for i in range(1, 6)]
    + [f"proximal_phalanx_{i}" for i in range(1, 6)]
    + [f"middle_phalanx_{i}" for i in range(2, 6)]
    + [f"distal_phalanx_{i}" for i in range(1, 6)]
)
DIGITAL_NERVES = [f"digital_nerve_{d}_{s}" for d in DIGITS for s in ("radial", "ulnar")]
DIGITAL_ARTERIES = [f"digital_artery_{d}_{s}" for d in DIGITS for s in ("radial", "ulnar")]
NERVES = [
    "median_nerve", "median_recurrent_branch", "median_palmar_cutaneous_branch",
    "common_palmar_digital_nerve_1", "common_palmar_digital_nerve_2", "common_palmar_digital_nerve_3",
    "common_palmar_digital_nerve_4", "ulnar_nerve", "ulnar_nerve_superficial_branch",
    "ulnar_nerve_deep_branch", "ulnar_nerve_dorsal_branch", "radial_nerve_superficial_branch",
    *DIGITAL_NERVES,
]
ARTERIES = [
    "radial_artery", "ulnar_artery", "superficial_palmar_arch", "deep_palmar_arch",
    "common_palmar_digital_artery_2", "common_palmar_digital_artery_3", "common_palmar_digital_artery_4",
    *DIGITAL_ARTERIES,
]
VEINS = ["dorsal_venous_network", "cephalic_vein", "basilic_vein"]
NAMED_LANDMARKS = [
    "anatomical_snuffbox", "radial_pulse", "carpal_tunnel", "guyons_canal", "pisiform", "hook_of_hamate",
    "radial_styloid", "ulnar_styloid", "thenar_eminence", "hypothenar_eminence", "palm_center",
    "first_web_space_palmar", "first_web_space_dorsal", "dorsum_center", "distal_wrist_crease",
]


def grid_landmarks() -> list[str]:
    """The digit grid of ANATOMY.md: ``<digit>_<segment>_<aspect>``."""
    out = []
    for digit in DIGITS:
        for segment in SEGMENTS:
            if digit == "thumb" and segment == "middle_phalanx":
                continue
            aspects = ("palmar", "dorsal")
            if segment != "metacarpal":
                aspects += ("radial", "ulnar")
            out += [f"{digit}_{segment}_{aspect}" for aspect in aspects]
    return [*out, "thumb_metacarpal_radial", "index_metacarpal_radial", "little_metacarpal_ulnar"]


def extreme(mesh: trimesh.Trimesh, direction, count: int = 8) -> np.ndarray:
    """Mean of the ``count`` vertices furthest along ``direction``: a bony prominence."""
    direction = np.asarray(direction, float) / np.linalg.norm(direction)
    verts = np.asarray(mesh.vertices)
    return verts[np.argsort(-(verts @ direction))[:count]].mean(axis=0)


def carpal_tubercles(atlas) -> dict[str, np.ndarray]:
    """The four attachments of the flexor retinaculum."""
    return {
        "scaphoid": extreme(atlas.mesh("scaphoid"), [0.45, 0, 0.9]),
        "trapezium": extreme(atlas.mesh("trapezium"), [0, 0, 1]),
        "pisiform": np.asarray(atlas.mesh("pisiform").center_mass),
        "hamate": extreme(atlas.mesh("hamate"), [0, 0, 1]),
    }


class Kaplan:
    """Kaplan's cardinal line in the palm plane (x, y): from the apex of the first web space
    toward the hook of the hamate."""

    def __init__(self, atlas) -> None:
        self.start = atlas.landmark("first_web_space_apex").point[:2]
        end = atlas.landmark("hook_of_hamate").point[:2]
        direction = (self.start - end) / np.linalg.norm(self.start - end)
        normal = np.array([-direction[1], direction[0]])
        self.normal = normal if normal[1] > 0 else -normal

    def distal_distance(self, point) -> float:
        """Signed distance of a point distal (+) to the line, in the palm plane (mm)."""
        return float((np.asarray(point)[:2] - self.start) @ self.normal)


def most_distal(points: np.ndarray) -> np.ndarray:
    """The point with the largest y (the most distal)."""
    return points[np.argmax(points[:, 1])]


def depth_below_skin(atlas, points) -> np.ndarray:
    """Distance from each point (inside the hand) to the skin surface."""
    return trimesh.proximity.ProximityQuery(atlas.skin).signed_distance(np.atleast_2d(points))


def point_at_y(line: np.ndarray, y: float) -> np.ndarray:
    """The centreline point nearest to the transverse plane at ``y``."""
    return line[np.argmin(np.abs(line[:, 1] - y))]
