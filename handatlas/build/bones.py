"""Loading and repairing the 29 MyoHand bone meshes (body-local frames, millimetres).

Most myo-sim bone meshes are watertight once duplicate vertices are merged and are kept as they
are. Four are not (REPORT.md of the skeleton prototype):

- ``pisiform``: a watertight bone plus a degenerate sliver and a tiny detached piece -> keep the
  largest component, then fill holes;
- ``distal_phalanx_5``: 7 boundary edges -> fill the holes;
- ``radius`` and ``ulna``: ~390 triangles, non-manifold, in several pieces with slits ->
  *remeshed*: the surface is sampled on a fine voxel grid, gaps are closed morphologically, the
  solid is filled, a signed distance field is contoured with marching cubes, then Taubin
  smoothing and quadric decimation give a smooth watertight mesh.

One bone is completed: MoBL's ``hamate`` has only a 3–4 mm palmar bump where the hook of the
hamate (hamulus) should project about 1 cm palmarly from the body, forming the ulnar wall of the
carpal tunnel, with its tip 1.5–2.5 cm distal and radial to the pisiform (palpation anatomy).
:data:`HOOK_OF_HAMATE` authors it in the hamate's frame: the convex hull of three balls (a
proximodistal base on the body's palmar surface, a tip curving radially), united with the bone.

All repairs happen in the bone's local frame, so they do not depend on the pose, and they are
deterministic (no random sampling).

Examples
--------
>>> from handatlas.build.skeleton import load_skeleton
>>> meshes = load_bones(load_skeleton().bone_mesh_files())  # doctest: +SKIP
>>> all(m.is_watertight for m in meshes.values())  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import fast_simplification
import numpy as np
import trimesh
from scipy import ndimage
from skimage import measure

__all__ = [
    "REMESH_BONES",
    "RepairRecord",
    "cut_below",
    "load_bones",
    "remesh_solid",
    "repair_records",
    "signed_volume",
]

METRES_TO_MM = 1000.0
#: Bones replaced by a smooth remesh of their crude source mesh.
REMESH_BONES = ("radius", "ulna")
#: Voxel size of the remesh, mm.
REMESH_VOXEL_MM = 0.5
#: Radius (in voxels) of the morphological closing that bridges slits between pieces.
REMESH_CLOSING_VOXELS = 3
#: Triangles of a remeshed bone.
REMESH_TARGET_FACES = 8000
#: Taubin smoothing iterations of a remeshed bone.
REMESH_TAUBIN_ITERATIONS = 10
#: The hook of the hamate, in the hamate's body frame (mm): balls (centre, radius) whose convex
#: hull is united with the bone.  Posed palm up the base runs from y 0.5 to 8 mm along the body's
#: palmar surface at x -14.5 (hand frame) and the tip lies at (-12, 7.5, 12.5): 10 mm palmar to
#: the body and 17 mm distal-radial to the pisiform's centre.
HOOK_OF_HAMATE: tuple[tuple[tuple[float, float, float], float], ...] = (
    ((-1.79, 0.83, -4.58), 3.0),
    ((-1.71, -6.60, -3.54), 3.0),
    ((3.80, -7.25, -13.67), 2.3),
)
#: Largest share of the volume that dropping detached fragments may remove.
MAX_DROPPED_VOLUME_FRACTION = 0.01


@dataclass(frozen=True)
class RepairRecord:
    """What was done to one bone mesh.

    Attributes
    ----------
    bone : str
        Bone id.
    method : str
        ``"none"``, ``"fill_holes"``, ``"largest_component+fill_holes"``, ``"remesh"`` or
        ``"hook_added"`` (the hamate).
    faces_raw, faces : int
        Triangles before and after.
    volume_raw_mm3, volume_mm3 : float
        Signed volume before (meaningful only roughly for an open mesh) and after, mm³.
    hull_volume_raw_mm3 : float
        Convex-hull volume of the source mesh, mm³ (an upper bound of any sane repair).
    """

    bone: str
    method: str
    faces_raw: int
    faces: int
    volume_raw_mm3: float
    volume_mm3: float
    hull_volume_raw_mm3: float


def _read_stl(path: Path) -> trimesh.Trimesh:
    """An STL in millimetres with duplicate vertices merged."""
    mesh = trimesh.load_mesh(path, process=True)
    mesh.apply_scale(METRES_TO_MM)
    return mesh


def signed_volume(mesh: trimesh.Trimesh) -> float:
    """Signed volume (mm³) by the divergence theorem; defined for open meshes too."""
    a, b, c = (mesh.triangles[:, k] for k in range(3))
    return float(np.einsum("ij,ij->", a, np.cross(b, c)) / 6.0)


def is_sound(mesh: trimesh.Trimesh) -> bool:
    """True for a single watertight, consistently wound mesh of positive volume."""
    return (
        mesh.is_watertight
        and mesh.is_winding_consistent
        and mesh.body_count == 1
        and signed_volume(mesh) > 0.0
    )


# ----------------------------------------------------------------------------- hole filling
def _largest_component(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The component with the most faces; refuses to drop a noticeable volume."""
    parts = mesh.split(only_watertight=False)
    if len(parts) <= 1:
        return mesh
    order = sorted(range(len(parts)), key=lambda i: (-len(parts[i].faces), i))
    kept = parts[order[0]]
    kept_volume = abs(signed_volume(kept))
    dropped = sum(abs(signed_volume(parts[i])) for i in order[1:])
    if dropped > MAX_DROPPED_VOLUME_FRACTION * kept_volume:
        msg = f"dropping fragments would lose {dropped:.1f} mm³ of {kept_volume:.1f} mm³"
        raise ValueError(msg)
    return kept


def fill_small_holes(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Keep the largest component, fill its holes and make the winding outward.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        A nearly closed mesh (small holes, tiny detached fragments).

    Returns
    -------
    trimesh.Trimesh
        A new watertight mesh.
    """
    repaired = _largest_component(mesh).copy()
    repaired.remove_unreferenced_vertices()
    trimesh.repair.fill_holes(repaired)
    trimesh.repair.fix_normals(repaired)
    if not is_sound(repaired):
        msg = "hole filling did not give a watertight mesh"
        raise ValueError(msg)
    return repaired


# ----------------------------------------------------------------------------- remeshing
def _surface_samples(mesh: trimesh.Trimesh, spacing: float) -> np.ndarray:
    """Points on every triangle on a barycentric grid finer than ``spacing`` (deterministic)."""
    chunks = []
    triangles = mesh.triangles
    edges = np.linalg.norm(triangles - np.roll(triangles, 1, axis=1), axis=2).max(axis=1)
    steps = np.maximum(np.ceil(edges / spacing).astype(int), 1)
    for count in np.unique(steps):
        i, j = np.meshgrid(np.arange(count + 1), np.arange(count + 1), indexing="ij")
        keep = i + j <= count
        weights = np.column_stack([i[keep], j[keep], count - i[keep] - j[keep]]) / count
        group = triangles[steps == count]
        chunks.append(np.einsum("wk,tkd->twd", weights, group).reshape(-1, 3))
    return np.vstack(chunks)


def _solid_mask(points: np.ndarray, lower: np.ndarray, shape: tuple[int, ...], voxel: float) -> np.ndarray:
    """Voxels inside the closed shell traced by ``points``."""
    shell = np.zeros(shape, dtype=bool)
    index = np.floor((points - lower) / voxel).astype(int)
    shell[tuple(index.T)] = True
    ball = ndimage.generate_binary_structure(3, 1)
    ball = ndimage.iterate_structure(ball, REMESH_CLOSING_VOXELS)
    closed = ndimage.binary_closing(shell, structure=ball, border_value=0)
    return ndimage.binary_fill_holes(closed)


def _signed_distance(solid: np.ndarray, voxel: float) -> np.ndarray:
    """Signed distance (mm, negative inside) of a voxel solid, zero on its boundary faces."""
    outside = ndimage.distance_transform_edt(~solid)
    inside = ndimage.distance_transform_edt(solid)
    return np.where(solid, 0.5 - inside, outside - 0.5) * voxel


def remesh_solid(
    mesh: trimesh.Trimesh,
    *,
    voxel_mm: float = REMESH_VOXEL_MM,
    target_faces: int = REMESH_TARGET_FACES,
) -> trimesh.Trimesh:
    """A smooth watertight remesh of a crude, open or non-manifold surface.

    The surface is sampled finer than half a voxel, the traced shell is closed with a ball of
    :data:`REMESH_CLOSING_VOXELS` voxels and filled; the level set of its signed distance that
    passes through the middle of the shell (half a voxel inside the solid's boundary, where the
    source surface runs) is contoured with marching cubes, smoothed (Taubin) and decimated.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Source surface, mm.
    voxel_mm : float
        Voxel size.
    target_faces : int
        Triangles of the result.

    Returns
    -------
    trimesh.Trimesh
        Single watertight component, outward normals.
    """
    margin = (REMESH_CLOSING_VOXELS + 3) * voxel_mm
    lower = mesh.bounds[0] - margin
    shape = tuple(np.ceil((mesh.bounds[1] + margin - lower) / voxel_mm).astype(int) + 1)
    solid = _solid_mask(_surface_samples(mesh, 0.5 * voxel_mm), lower, shape, voxel_mm)
    field = ndimage.gaussian_filter(_signed_distance(solid, voxel_mm), sigma=0.75)
    # The shell is one voxel thick and centred on the source surface: contour half a voxel in.
    vertices, faces, _, _ = measure.marching_cubes(field, level=-0.5 * voxel_mm, spacing=(voxel_mm,) * 3)
    # Voxel i spans [lower + i*voxel, lower + (i+1)*voxel): its centre is half a voxel up.
    vertices = vertices + lower + 0.5 * voxel_mm
    surface = _largest_component(trimesh.Trimesh(vertices, faces, process=True))
    trimesh.smoothing.filter_taubin(surface, iterations=REMESH_TAUBIN_ITERATIONS)
    simplified = decimate(surface, target_faces)
    trimesh.repair.fix_normals(simplified)
    if not is_sound(simplified):
        msg = "remeshing did not give a single watertight mesh"
        raise ValueError(msg)
    return simplified


def decimate(mesh: trimesh.Trimesh, target_faces: int) -> trimesh.Trimesh:
    """Quadric decimation with fast_simplification (keeps a closed mesh closed).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed mesh.
    target_faces : int
        Wanted number of triangles (returned unchanged when it already has fewer).
    """
    if len(mesh.faces) <= target_faces:
        return mesh.copy()
    vertices, faces = fast_simplification.simplify(
        np.asarray(mesh.vertices, dtype=np.float32),
        np.asarray(mesh.faces, dtype=np.int32),
        target_reduction=1.0 - target_faces / len(mesh.faces),
    )
    return trimesh.Trimesh(np.asarray(vertices, dtype=np.float64), faces, process=True)


# ----------------------------------------------------------------------------- the set of bones
def with_hook(hamate: trimesh.Trimesh) -> trimesh.Trimesh:
    """The hamate (body frame, mm) united with its hook, :data:`HOOK_OF_HAMATE`."""
    from handatlas.build.solids import unite  # the build's booleans (manifold3d)

    balls = [trimesh.creation.icosphere(subdivisions=3, radius=radius).vertices + centre
             for centre, radius in HOOK_OF_HAMATE]
    hook = trimesh.convex.convex_hull(np.vstack(balls))
    united = unite([hamate, hook])
    united = trimesh.Trimesh(united.vertices, united.faces, process=True)
    if not is_sound(united):
        msg = "the hamate with its hook is not a single watertight mesh"
        raise ValueError(msg)
    return united


def _repair(bone: str, raw: trimesh.Trimesh) -> tuple[trimesh.Trimesh, str]:
    if bone in REMESH_BONES:
        return remesh_solid(raw), "remesh"
    if bone == "hamate":
        return with_hook(raw if is_sound(raw) else fill_small_holes(raw)), "hook_added"
    if is_sound(raw):
        return raw, "none"
    method = "largest_component+fill_holes" if raw.body_count > 1 else "fill_holes"
    return fill_small_holes(raw), method


@functools.lru_cache(maxsize=2)
def _load_all(
    files: tuple[tuple[str, str], ...],
) -> tuple[tuple[str, trimesh.Trimesh, RepairRecord], ...]:
    loaded = []
    for bone, path in files:
        raw = _read_stl(Path(path))
        repaired, method = _repair(bone, raw)
        record = RepairRecord(
            bone=bone,
            method=method,
            faces_raw=len(raw.faces),
            faces=len(repaired.faces),
            volume_raw_mm3=signed_volume(raw),
            volume_mm3=signed_volume(repaired),
            hull_volume_raw_mm3=float(raw.convex_hull.volume),
        )
        loaded.append((bone, repaired, record))
    return tuple(loaded)


def _key(mesh_files: Mapping[str, Path]) -> tuple[tuple[str, str], ...]:
    return tuple((bone, str(Path(path).resolve())) for bone, path in mesh_files.items())


def load_bones(mesh_files: Mapping[str, Path]) -> dict[str, trimesh.Trimesh]:
    """Load and repair bone meshes, in their local frames, in millimetres.

    Parameters
    ----------
    mesh_files : mapping of str -> Path
        Bone id -> STL file (metres), e.g. :meth:`Skeleton.bone_mesh_files`.

    Returns
    -------
    dict of str -> trimesh.Trimesh
        Bone id -> a fresh copy of the repaired mesh (the repair is cached per process).
    """
    return {bone: mesh.copy() for bone, mesh, _ in _load_all(_key(mesh_files))}


def repair_records(mesh_files: Mapping[str, Path]) -> dict[str, RepairRecord]:
    """What :func:`load_bones` did to each bone (method, triangles, volumes)."""
    return {bone: record for bone, _, record in _load_all(_key(mesh_files))}


# ----------------------------------------------------------------------------- cutting
def _boundary_loops(faces: np.ndarray) -> list[list[int]]:
    """Closed loops of boundary vertices, each in the direction of its faces' edges."""
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    undirected = np.sort(directed, axis=1)
    _, inverse, counts = np.unique(undirected, axis=0, return_inverse=True, return_counts=True)
    boundary = directed[counts[inverse.ravel()] == 1]
    following = {int(a): int(b) for a, b in boundary}
    if len(following) != len(boundary):
        msg = "the cut is not a set of simple loops"
        raise ValueError(msg)
    loops = []
    remaining = dict(following)
    while remaining:
        start = min(remaining)
        loop = [start]
        current = remaining.pop(start)
        while current != start:
            loop.append(current)
            current = remaining.pop(current)
        loops.append(loop)
    return loops


def cut_below(mesh: trimesh.Trimesh, *, y: float) -> trimesh.Trimesh:
    """Remove the part of a closed mesh below the plane ``Y = y`` and close the cut flat.

    Each cut outline is closed by a fan from its centroid (a bone shaft's section is
    star-shaped about its centroid; this is checked).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Closed mesh, hand frame mm.
    y : float
        Height of the cut plane; the part with larger y is kept.

    Returns
    -------
    trimesh.Trimesh
        Watertight mesh with outward normals.
    """
    kept_vertices, kept_faces, _ = trimesh.intersections.slice_faces_plane(
        vertices=np.asarray(mesh.vertices),
        faces=np.asarray(mesh.faces),
        plane_normal=np.array([0.0, 1.0, 0.0]),
        plane_origin=np.array([0.0, y, 0.0]),
    )
    sliced = trimesh.Trimesh(kept_vertices, kept_faces, process=False)
    sliced.merge_vertices()
    sliced.update_faces(sliced.nondegenerate_faces())
    sliced.remove_unreferenced_vertices()
    vertices = np.asarray(sliced.vertices, dtype=np.float64).copy()
    faces = [np.asarray(sliced.faces)]
    for loop in _boundary_loops(np.asarray(sliced.faces)):
        ring = np.array(loop)
        vertices[ring, 1] = y
        centre = vertices[ring].mean(axis=0)
        centre_index = len(vertices)
        vertices = np.vstack([vertices, centre])
        # boundary edge a->b of the kept faces; the cap triangle runs b->a to match.
        fan = np.column_stack([np.roll(ring, -1), ring, np.full(len(ring), centre_index)])
        normals = np.cross(
            vertices[fan[:, 1]] - vertices[fan[:, 0]], vertices[fan[:, 2]] - vertices[fan[:, 0]]
        )
        if np.any(normals[:, 1] >= 0.0):
            msg = f"cut outline at y={y:.2f} is not star-shaped about its centroid"
            raise ValueError(msg)
        faces.append(fan)
    closed = trimesh.Trimesh(vertices, np.vstack(faces), process=True)
    if not is_sound(closed):
        msg = f"cutting at y={y:.2f} did not give a single watertight mesh"
        raise ValueError(msg)
    return closed
