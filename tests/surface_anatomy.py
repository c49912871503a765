"""Anatomical reference lines and bony points computed from an atlas, for the fact tests.

These are independent re-derivations from the atlas's public API (meshes and landmarks), not
the build's own code, so that the tests check the model rather than repeat it.
"""

from __future__ import annotations

import functools

import numpy as np
import trimesh
from scipy.spatial import cKDTree

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
    # second edition
    "volar_forearm_mid", "dorsal_forearm_mid",
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


# ----------------------------------------------------------------------------- second edition
FOREARM_FLEXORS = (
    "flexor_digitorum_superficialis", "flexor_digitorum_profundus", "flexor_pollicis_longus",
    "flexor_carpi_radialis", "flexor_carpi_ulnaris", "palmaris_longus", "pronator_quadratus",
)
FOREARM_EXTENSORS = (
    "brachioradialis", "extensor_carpi_radialis_longus", "extensor_carpi_radialis_brevis",
    "extensor_digitorum", "extensor_carpi_ulnaris", "abductor_pollicis_longus", "extensor_pollicis_brevis",
    "extensor_pollicis_longus", "extensor_indicis", "extensor_digiti_minimi",
)
DORSAL_DIGITAL_NERVES = [f"dorsal_digital_nerve_{d}_{s}" for d in DIGITS for s in ("radial", "ulnar")]


def bone_gap(atlas, bone: str, points) -> np.ndarray:
    """Distance from each point (outside the bone) to the bone's surface (mm)."""
    query = trimesh.proximity.ProximityQuery(atlas.mesh(bone))
    return np.abs(query.signed_distance(np.atleast_2d(points)))


def nearest_skin(atlas, points) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nearest skin point of each point, its distance and the outward skin normal there.

    Returns
    -------
    closest : (n, 3) float
    distance : (n,) float
    normal : (n, 3) float
        The normal of the skin triangle that holds the closest point.
    """
    closest, distance, triangle = trimesh.proximity.closest_point(atlas.skin, np.atleast_2d(points))
    return closest, distance, np.asarray(atlas.skin.face_normals)[triangle]


def surface_grid(mesh: trimesh.Trimesh, spacing: float) -> np.ndarray:
    """Points on every triangle of a mesh on a barycentric grid: no point of the surface lies more
    than ``spacing`` mm from one of them."""
    triangles = np.asarray(mesh.triangles)
    longest = np.linalg.norm(triangles - np.roll(triangles, 1, axis=1), axis=2).max(axis=1)
    steps = np.maximum(1, np.ceil(longest / spacing)).astype(int)
    out = [np.asarray(mesh.vertices)]
    for k in np.unique(steps[steps > 1]):
        ij = np.array([(i, j) for i in range(k + 1) for j in range(k + 1 - i)], float) / k
        weights = np.column_stack([ij, 1.0 - ij.sum(axis=1)])
        out.append(np.einsum("wv,fvd->fwd", weights, triangles[steps == k]).reshape(-1, 3))
    return np.vstack(out)


#: Spacing of the skin grid behind :func:`min_skin_depth` (mm).
SKIN_GRID_MM = 1.0


@functools.lru_cache(maxsize=2)
def _skin_grid(atlas) -> cKDTree:
    return cKDTree(surface_grid(atlas.skin, SKIN_GRID_MM))


def min_skin_depth(atlas, points) -> float:
    """The smallest depth under the skin over many points (mm; negative when one lies outside).

    Exact: the distance to a dense grid on the skin exceeds the distance to the skin by at most
    the grid spacing, so only the points within that of the shallowest are measured exactly.

    Examples
    --------
    >>> min_skin_depth(atlas, atlas.mesh("pronator_quadratus").vertices) >= 0.5  # doctest: +SKIP
    True
    """
    points = np.atleast_2d(np.asarray(points, float))
    to_grid, _ = _skin_grid(atlas).query(points)
    candidates = points[to_grid <= to_grid.min() + SKIN_GRID_MM]
    return float(trimesh.proximity.ProximityQuery(atlas.skin).signed_distance(candidates).min())


def arc_resample(line: np.ndarray, step: float) -> np.ndarray:
    """A polyline resampled at equal arc-length steps (mm), keeping both ends."""
    line = np.asarray(line, float)
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    line = line[np.concatenate([[True], seg > 1e-9])]
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    s = np.append(np.arange(0.0, arc[-1], step), arc[-1])
    return np.column_stack([np.interp(s, arc, line[:, k]) for k in range(3)])


def max_turn(line: np.ndarray, *, span: float = 3.0, chord: float = 1.0,
             step: float = 0.25) -> tuple[float, np.ndarray]:
    """The largest change of direction of a centreline over any ``span`` mm of its length.

    The direction at arc length s is that of the chord from s - chord/2 to s + chord/2; the turn
    is the angle between the directions at s and at s + span.  A hairpin gives about 180 degrees;
    a smooth bend of radius R about ``degrees(span / R)``.

    Returns
    -------
    degrees : float
    where : (3,) float
        The middle of the worst window.

    Examples
    --------
    >>> max_turn(np.array([[0, 0, 0], [0, 10, 0], [10, 10, 0]]))[0]  # a right angle
    90.0
    """
    p = arc_resample(line, step)
    half, width = round(chord / 2 / step), round(span / step)
    if len(p) <= 2 * half + width:
        return 0.0, p[len(p) // 2]
    tangent = p[2 * half:] - p[:-2 * half]
    tangent /= np.linalg.norm(tangent, axis=1)[:, None]
    cosine = np.clip(np.sum(tangent[:-width] * tangent[width:], axis=1), -1.0, 1.0)
    angle = np.degrees(np.arccos(cosine))
    k = int(np.argmax(angle))
    return float(angle[k]), p[k + half + width // 2]


def branch_origin(atlas, branch: str, trunk: str) -> np.ndarray:
    """The end of a branch's centreline that lies nearest the trunk it leaves."""
    line, _ = atlas.centerline(branch)
    parent, _ = atlas.centerline(trunk)
    gaps = [np.linalg.norm(parent - end, axis=1).min() for end in (line[0], line[-1])]
    return line[0] if gaps[0] <= gaps[1] else line[-1]


def points_at_y(line: np.ndarray, y: float, *, tol: float = 0.75) -> np.ndarray:
    """Every centreline point within ``tol`` mm of the transverse plane at ``y`` (a tube that
    doubles back crosses a level more than once)."""
    return line[np.abs(line[:, 1] - y) <= tol]


def hamate_hook(atlas, *, body_radius: float = 8.0) -> dict[str, object]:
    """The hook of the hamate measured on the bone.

    The tip is the most palmar part of the hamate; the body is what lies more than
    ``body_radius`` mm from the tip in the palm plane (x, y), so that the hook's own base is left
    out.  The projection is how far the tip stands palmar to the body's palmar surface.
    """
    hamate = atlas.mesh("hamate")
    verts = np.asarray(hamate.vertices)
    tip = extreme(hamate, [0, 0, 1], count=3)
    body = verts[np.linalg.norm(verts[:, :2] - tip[:2], axis=1) > body_radius]
    return {
        "tip": tip,
        "projection": float(tip[2] - body[:, 2].max()),
        "above_centroid": float(tip[2] - hamate.center_mass[2]),
    }


def listers_tubercle(atlas) -> np.ndarray:
    """Lister's tubercle: the most dorsal (-z) point of the distal radius in line with the second
    and third metacarpals, 5-25 mm proximal to the tip of the radial styloid.  (MyoHand's radius
    has no distinct tubercle there, so this is the dorsal bone an anatomist would feel.)"""
    verts = np.asarray(atlas.mesh("radius").vertices)
    x2 = atlas.mesh("metacarpal_2").center_mass[0]
    x3 = atlas.mesh("metacarpal_3").center_mass[0]
    tip = verts[:, 1].max()
    band = verts[(verts[:, 0] > min(x2, x3)) & (verts[:, 0] < max(x2, x3))
                 & (verts[:, 1] > tip - 25) & (verts[:, 1] < tip - 5)]
    return band[np.argsort(band[:, 2])[:5]].mean(axis=0)


def tunnel_levels(atlas) -> tuple[float, float]:
    """The inlet and outlet of the carpal tunnel (y, mm): the level of the scaphoid tubercle and
    the pisiform, and that of the trapezium ridge and the hook of the hamate."""
    tub = carpal_tubercles(atlas)
    tip = hamate_hook(atlas)["tip"]
    return ((tub["scaphoid"][1] + tub["pisiform"][1]) / 2, (tub["trapezium"][1] + tip[1]) / 2)


class RayProbe:
    """Every structure that a ray crosses, nearest first: the review's probe from the skin.

    Parameters
    ----------
    atlas
        The atlas.
    ids
        The structures (with meshes) the probe sees.

    Examples
    --------
    >>> probe = RayProbe(atlas, ["abductor_pollicis_brevis", "metacarpal_1"])  # doctest: +SKIP
    >>> lm = atlas.landmark("thenar_eminence")  # doctest: +SKIP
    >>> probe.first(lm.point, -lm.normal)  # doctest: +SKIP
    (0.7, 'abductor_pollicis_brevis')
    """

    def __init__(self, atlas, ids) -> None:
        self.ids = tuple(ids)
        meshes = [atlas.mesh(sid) for sid in self.ids]
        self.owner = np.concatenate([np.full(len(m.faces), k) for k, m in enumerate(meshes)])
        self.scene = trimesh.util.concatenate(meshes)

    def hits(self, origins, directions, max_depth: float = np.inf) -> list[list[tuple[float, str]]]:
        """For each ray, ``(depth, id)`` of every surface crossing up to ``max_depth``, nearest first."""
        origins = np.atleast_2d(np.asarray(origins, float))
        directions = np.atleast_2d(np.asarray(directions, float))
        directions = directions / np.linalg.norm(directions, axis=1)[:, None]
        if len(directions) == 1 < len(origins):
            directions = np.repeat(directions, len(origins), axis=0)
        where, ray, tri = self.scene.ray.intersects_location(origins, directions, multiple_hits=True)
        depth = np.linalg.norm(where - origins[ray], axis=1)
        out: list[list[tuple[float, str]]] = [[] for _ in origins]
        for k in np.argsort(depth):
            if depth[k] <= max_depth:
                out[ray[k]].append((float(depth[k]), self.ids[self.owner[tri[k]]]))
        return out

    def first(self, origin, direction, among=None, max_depth: float = np.inf) -> tuple[float, str | None]:
        """The nearest crossing of one ray with any of ``among`` (default: all), or ``(inf, None)``."""
        for depth, sid in self.hits(origin, direction, max_depth)[0]:
            if among is None or sid in among:
                return depth, sid
        return float("inf"), None
