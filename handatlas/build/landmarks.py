"""Named landmarks: bone prominences and the skin points (with outward normals) that users press.

Every landmark is the first skin point hit by a ray from a bone-relative origin in a stated
direction, so it follows the bones and the skin of whatever pose the build uses.  The digit grid
(``<digit>_<segment>_<aspect>``) casts from each bone's mid-shaft (its centroid) in the
direction of the aspect, perpendicular to the bone's axis (for the thumb, its own frame: palmar
is the pulp side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import trimesh
from numpy.typing import ArrayLike
from trimesh.ray.ray_triangle import RayMeshIntersector

from handatlas.build.digits import DIGITS, segment_frame, segments_of, unit

if TYPE_CHECKING:
    from handatlas.build.skeleton import PosedHand

#: How many of the furthest vertices average into a prominence.
PROMINENCE_VERTICES = 8
#: The radial pulse is felt this far proximal to the radial styloid tip (mm).
PULSE_PROXIMAL_MM = 15.0
#: ... and at this fraction of the distal radius's width from its ulnar border (lateral to FCR).
PULSE_WIDTH_FRACTION = 0.72
#: The anatomical snuffbox is over the scaphoid's waist in this direction (dorsoradial).
SNUFFBOX_DIRECTION = np.array([0.8, 0.1, -0.6]) / np.linalg.norm([0.8, 0.1, -0.6])
#: The forearm midline landmarks lie this far proximal to the distal wrist crease (mm).
FOREARM_MID_MM = 80.0
#: Half-height of the band of radius and ulna vertices averaged into a shaft's centre (mm).
SHAFT_BAND_MM = 2.0


class Prominences:
    """Bony landmarks of the posed hand (hand frame, mm)."""

    def __init__(self, hand: PosedHand) -> None:
        self.hand = hand

    def centroid(self, bone: str) -> np.ndarray:
        """Centre of mass of a bone."""
        return np.asarray(self.hand.meshes[bone].center_mass, dtype=float)

    def extreme(self, bone: str, direction: np.ndarray, *, count: int = PROMINENCE_VERTICES) -> np.ndarray:
        """Mean of the ``count`` vertices of ``bone`` furthest along ``direction``."""
        verts = np.asarray(self.hand.meshes[bone].vertices)
        order = np.argsort(-(verts @ unit(direction)), kind="stable")
        return verts[order[:count]].mean(axis=0)

    def scaphoid_tubercle(self) -> np.ndarray:
        """Palmar-radial tubercle of the scaphoid (radial anchor of the flexor retinaculum)."""
        return self.extreme("scaphoid", np.array([0.45, 0.0, 0.9]))

    def trapezium_tubercle(self) -> np.ndarray:
        """Palmar ridge of the trapezium."""
        return self.extreme("trapezium", np.array([0.0, 0.0, 1.0]))

    def hook_of_hamate(self) -> np.ndarray:
        """Tip of the hamulus, the hamate's most palmar point."""
        return self.extreme("hamate", np.array([0.0, 0.0, 1.0]))

    def radial_styloid(self) -> np.ndarray:
        """Tip of the radial styloid (the most distal point of the radius's radial third)."""
        from handatlas.build.skeleton import radial_styloid_tip

        return radial_styloid_tip(self.hand.meshes["radius"])

    def ulnar_styloid(self) -> np.ndarray:
        """Tip of the ulnar styloid: the ulna's most distal point on its dorsal-ulnar side."""
        return self.extreme("ulna", np.array([-0.3, 1.0, -0.3]), count=4)

    def listers_tubercle(self) -> np.ndarray:
        """Lister's (dorsal) tubercle: the most dorsal point of the radius's distal 25 mm in line
        with the interval of the 2nd and 3rd metacarpals (MoBL's radius has no tubercle of its own:
        the dorsal surface there stands in for it; EPL turns ulnar to it, ECRB radial to it)."""
        verts = np.asarray(self.hand.meshes["radius"].vertices)
        line = (self.hand.joint_centres["metacarpal_2"][0] + self.hand.joint_centres["metacarpal_3"][0]) / 2
        distal = verts[(verts[:, 1] > verts[:, 1].max() - 25.0) & (np.abs(verts[:, 0] - line) < 3.0)]
        return distal[np.argsort(distal[:, 2], kind="stable")[:PROMINENCE_VERTICES]].mean(axis=0)

    def pisiform_palmar(self) -> np.ndarray:
        """The palmar surface of the pisiform (felt at the base of the hypothenar eminence)."""
        return self.extreme("pisiform", np.array([0.0, 0.0, 1.0]))

    def snuffbox_floor(self) -> np.ndarray:
        """Where the snuffbox's ray leaves the scaphoid: the floor the radial artery crosses."""
        origin = self.centroid("scaphoid")
        mesh = self.hand.meshes["scaphoid"]
        hits, _, _ = mesh.ray.intersects_location([origin], [SNUFFBOX_DIRECTION])
        return hits[np.argmax((hits - origin) @ SNUFFBOX_DIRECTION)]

    def dorsal_carpus(self) -> np.ndarray:
        """The dorsal surface of the proximal carpal row, ``(2, 3)``: a segment from the most
        dorsal point of the scaphoid to that of the triquetrum (the lunate lies between them).
        Under the extensor retinaculum and the extensor tendons, the skin over it is thin."""
        dorsal = np.array([0.0, 0.0, -1.0])
        return np.array([self.extreme("scaphoid", dorsal), self.extreme("triquetrum", dorsal)])

    def border(self, bone: str, direction: ArrayLike, start: float, end: float) -> np.ndarray:
        """A bone's border between fractions ``start`` and ``end`` of its length (along y): the
        extreme points in ``direction`` at the two ends, ``(2, 3)``."""
        verts = np.asarray(self.hand.meshes[bone].vertices)
        low, high = verts[:, 1].min(), verts[:, 1].max()
        out = []
        for t in (start, end):
            band = verts[np.abs(verts[:, 1] - (low + t * (high - low))) < 0.08 * (high - low)]
            out.append(band[np.argsort(-(band @ unit(direction)), kind="stable")[:6]].mean(axis=0))
        return np.array(out)

    def shaft_centre(self, bone: str, y: float) -> np.ndarray:
        """The centre of a long bone's cross-section at level ``y``: the mean of its vertices
        within :data:`SHAFT_BAND_MM` of that level."""
        verts = np.asarray(self.hand.meshes[bone].vertices)
        band = verts[np.abs(verts[:, 1] - y) < SHAFT_BAND_MM]
        if not len(band):
            msg = f"the {bone} does not reach y = {y:.1f} mm"
            raise ValueError(msg)
        return band.mean(axis=0)

    def forearm_centre(self, y: float) -> np.ndarray:
        """Midway between the radius and ulna shafts at level ``y`` (inside the forearm)."""
        centre = (self.shaft_centre("radius", y) + self.shaft_centre("ulna", y)) / 2
        centre[1] = y
        return centre

    def radial_pulse_origin(self) -> np.ndarray:
        """A point in the distal radius under the radial pulse (lateral to the FCR tendon)."""
        verts = np.asarray(self.hand.meshes["radius"].vertices)
        y0 = self.radial_styloid()[1] - PULSE_PROXIMAL_MM
        ring = verts[np.abs(verts[:, 1] - y0) < 2.0]
        x_lo, x_hi = ring[:, 0].min(), ring[:, 0].max()
        x = x_lo + PULSE_WIDTH_FRACTION * (x_hi - x_lo)
        return np.array([x, y0, ring[:, 2].mean()])


@dataclass(frozen=True)
class Ray:
    """Where a landmark's ray starts (inside the skin) and which way it goes."""

    origin: np.ndarray
    direction: np.ndarray
    description: str


def named_rays(hand: PosedHand) -> dict[str, Ray]:
    """The rays of the named sites of ANATOMY.md."""
    bone = Prominences(hand)
    palmar, dorsal = np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, -1.0])
    pis, hook = bone.centroid("pisiform"), bone.hook_of_hamate()
    scaph_tub = bone.scaphoid_tubercle()
    crease_y = (pis[1] + scaph_tub[1]) / 2
    web = (bone.centroid("metacarpal_1") + bone.centroid("metacarpal_2")) / 2
    tunnel = (scaph_tub + pis + bone.trapezium_tubercle() + hook) / 4
    forearm = bone.forearm_centre(crease_y - FOREARM_MID_MM)
    return {
        "anatomical_snuffbox": Ray(bone.centroid("scaphoid"), SNUFFBOX_DIRECTION,
                                   "Hollow between the APL/EPB and EPL tendons over the scaphoid"),
        "radial_pulse": Ray(bone.radial_pulse_origin(), palmar,
                            "Radial pulse over the distal radius, lateral to the FCR tendon"),
        "carpal_tunnel": Ray(tunnel, palmar,
                             "Palm just distal to the distal wrist crease, between the eminences"),
        "guyons_canal": Ray(pis + 0.4 * (hook - pis), palmar,
                            "Just radial and distal to the pisiform, over Guyon's canal"),
        "pisiform": Ray(pis, palmar, "Over the pisiform, ulnar palmar wrist"),
        "hook_of_hamate": Ray(hook - 2.0 * palmar, palmar, "Over the hook of the hamate"),
        "radial_styloid": Ray(bone.radial_styloid() - np.array([3.0, 0.0, 0.0]), unit([1.0, 0.0, 0.0]),
                              "Over the tip of the radial styloid"),
        "ulnar_styloid": Ray(bone.ulnar_styloid() + np.array([2.0, -2.0, 2.0]), unit([-0.5, 0.0, -0.85]),
                             "Over the ulnar styloid, dorsal-ulnar wrist"),
        "thenar_eminence": Ray(bone.centroid("metacarpal_1"), palmar, "The thenar eminence's bulk"),
        "hypothenar_eminence": Ray(bone.centroid("metacarpal_5"), unit([-0.3, 0.0, 1.0]),
                                   "The hypothenar eminence's bulk"),
        "palm_center": Ray(bone.centroid("metacarpal_3"), palmar,
                           "Centre of the palm over the third metacarpal shaft"),
        "first_web_space_palmar": Ray(web, palmar, "Palmar skin of the first web space"),
        "first_web_space_dorsal": Ray(web, dorsal, "Dorsal skin of the first web space"),
        "dorsum_center": Ray(bone.centroid("metacarpal_3"), dorsal,
                             "Centre of the dorsum over the third metacarpal shaft"),
        "distal_wrist_crease": Ray(np.array([(pis[0] + scaph_tub[0]) / 2, crease_y, 0.0]), palmar,
                                   "Midpoint of the distal wrist crease"),
        "volar_forearm_mid": Ray(forearm, palmar,
                                 "Midline of the volar forearm, 8 cm proximal to the distal wrist crease"),
        "dorsal_forearm_mid": Ray(forearm, dorsal,
                                  "Midline of the dorsal forearm, 8 cm proximal to the distal wrist crease"),
    }


#: The web spaces: landmark id -> (radial digit, description).
COMMISSURES = {
    "first_web_space_apex": (1, "Apex of the first web space, where Kaplan's cardinal line starts"),
    "second_web_space": (2, "Commissure of the web between the index and middle fingers"),
    "third_web_space": (3, "Commissure of the web between the middle and ring fingers"),
    "fourth_web_space": (4, "Commissure of the web between the ring and little fingers"),
}
#: Only skin within this distance of the two MCP joints' midpoint belongs to a web space (mm).
COMMISSURE_REACH_MM = 45.0
#: Radius over which a commissure's normal is averaged (mm).
NORMAL_RADIUS_MM = 5.0


def commissure(hand: PosedHand, skin: trimesh.Trimesh, digit: int) -> np.ndarray:
    """The commissure (free margin) of the web between ``digit`` and ``digit + 1``.

    The plane that bisects the angle between the two proximal phalanges, through the midpoint
    of their MCP joints, passes between the two fingers; its section of the skin is the palm
    and the web, and the web's free margin is that section's point furthest along the
    bisector.
    """
    from trimesh.intersections import mesh_plane

    first, second = (segment_frame(hand, d, "proximal_phalanx") for d in (digit, digit + 1))
    origin = (first.proximal + second.proximal) / 2
    bisector = unit(first.axis + second.axis)
    section = mesh_plane(skin, unit(first.axis - second.axis), origin).reshape(-1, 3)
    near = section[np.linalg.norm(section - origin, axis=1) < COMMISSURE_REACH_MM]
    return near[np.argmax((near - origin) @ bisector)]


def mean_normal(skin: trimesh.Trimesh, point: np.ndarray, *, radius: float = NORMAL_RADIUS_MM) -> np.ndarray:
    """The mean outward vertex normal of the skin around ``point`` (for saddle points)."""
    near = np.linalg.norm(skin.vertices - point, axis=1) < radius
    return unit(np.asarray(skin.vertex_normals)[near].sum(axis=0))


def grid_rays(hand: PosedHand) -> dict[str, Ray]:
    """The digit grid: ``<digit>_<segment>_<aspect>`` from each bone's mid-shaft."""
    rays: dict[str, Ray] = {}
    for number, digit in enumerate(DIGITS, start=1):
        for segment in segments_of(number):
            frame = segment_frame(hand, number, segment)
            aspects = ["palmar", "dorsal"]
            if segment != "metacarpal":
                aspects += ["radial", "ulnar"]
            elif digit in ("thumb", "index"):
                aspects.append("radial")
            elif digit == "little":
                aspects.append("ulnar")
            for aspect in aspects:
                name = f"{digit}_{segment}_{aspect}"
                where = f"the {segment.replace('_', ' ')} of the {digit}"
                rays[name] = Ray(frame.centre, frame.direction(aspect),
                                 f"{aspect.capitalize()} skin over {where}")
    return rays


def cast_to_skin(
    skin: trimesh.Trimesh, origins: np.ndarray, directions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First skin hit of each ray, with the interpolated outward vertex normal there.

    Parameters
    ----------
    skin
        Closed skin mesh.
    origins, directions : (n, 3) float
        Rays starting inside the skin.

    Returns
    -------
    points, normals : (n, 3) float

    Raises
    ------
    ValueError
        When a ray misses the skin (its origin lies outside).
    """
    intersector = RayMeshIntersector(skin)
    faces, rays, locations = intersector.intersects_id(
        origins, directions, multiple_hits=True, return_locations=True
    )
    points = np.full((len(origins), 3), np.nan)
    normals = np.full((len(origins), 3), np.nan)
    best = np.full(len(origins), np.inf)
    vertex_normals = np.asarray(skin.vertex_normals)
    for face, ray, loc in zip(faces, rays, locations, strict=True):
        dist = float((loc - origins[ray]) @ directions[ray])
        if 0 < dist < best[ray]:
            best[ray] = dist
            points[ray] = loc
            tri = skin.vertices[skin.faces[face]]
            bary = _barycentric(tri, loc)
            normals[ray] = unit(bary @ vertex_normals[skin.faces[face]])
    missed = np.flatnonzero(~np.isfinite(best))
    if len(missed):
        msg = f"rays {missed.tolist()} miss the skin: their origins lie outside it"
        raise ValueError(msg)
    return points, normals


def _barycentric(triangle: np.ndarray, point: np.ndarray) -> np.ndarray:
    a, b, c = triangle
    v0, v1, v2 = b - a, c - a, point - a
    d00, d01, d11 = v0 @ v0, v0 @ v1, v1 @ v1
    d20, d21 = v2 @ v0, v2 @ v1
    denom = d00 * d11 - d01 * d01
    v = (d11 * d20 - d01 * d21) / denom
    w = (d00 * d21 - d01 * d20) / denom
    return np.array([1.0 - v - w, v, w])


def build_landmarks(hand: PosedHand, skin: trimesh.Trimesh) -> list[dict[str, object]]:
    """Every landmark as a manifest row ``{"id", "point", "normal", "description"}``.

    Points are rounded to 1e-4 mm and normals to 1e-6 so that rebuilds give identical text.
    """
    rays = {**named_rays(hand), **grid_rays(hand)}
    names = list(rays)
    origins = np.array([rays[n].origin for n in names], dtype=float)
    directions = np.array([rays[n].direction for n in names], dtype=float)
    inside = skin.contains(origins)
    if not inside.all():
        outside = [n for n, ok in zip(names, inside, strict=True) if not ok]
        msg = f"landmark rays start outside the skin: {outside}"
        raise ValueError(msg)
    points, normals = cast_to_skin(skin, origins, directions)
    for name, (digit, text) in COMMISSURES.items():
        point = commissure(hand, skin, digit)
        names.append(name)
        points = np.vstack([points, point])
        normals = np.vstack([normals, mean_normal(skin, point)])
        rays[name] = Ray(point, normals[-1], text)
    return [
        {
            "id": name,
            "point": [round(float(v), 4) for v in point],
            "normal": [round(float(v), 6) for v in unit(normal)],
            "description": rays[name].description,
        }
        for name, point, normal in zip(names, points, normals, strict=True)
    ]
