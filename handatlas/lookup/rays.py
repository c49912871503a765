"""Rays through the atlas: every surface a ray crosses, with the structure each belongs to.

The closed meshes of a set of structures are concatenated into one Embree scene (``embreex``)
with a face -> owner map.  A ray from the skin inward yields, per structure, the depths at which
it enters and leaves: the *layer stack*.  A ray toward a structure tells whether a bone lies in
between: *shielding*.

Embree answers first-hit queries for many rays at once; every hit of a ray is found by casting
it again just past each hit until nothing new is found.  Done ray by ray that is one call per
surface crossed; here every round is one call for all rays, and a ray can be seeded at several
points along its way through the scene's bounding box at once (``seed_mm``), so that a single
ray's whole stack takes two or three calls.  A hit is known by its ray and triangle (a straight
ray crosses a triangle once), so hits found from two seeds count once.

The lookup index uses :class:`handatlas.lookup.bvh.MeshRays` (a compiled BVH: every hit in one
traversal, and callable from compiled code), which asks this class for first hits of large
batches; :class:`RayIndex` over every mesh is the reference the tests compare it with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from embreex import rtcore_scene
from embreex.mesh_construction import TriangleMesh

if TYPE_CHECKING:
    import trimesh

#: A ray cast again past a hit starts this far beyond it (mm): surfaces nearer than this to the
#: last one are not told apart (float32 resolution over the hand is about 3e-5 mm).
STEP_PAST_MM = 1e-4
#: Spacing of the seeds of a single ray's layer stack (mm).
LAYER_SEED_MM = 2.0


@dataclass(frozen=True)
class Crossing:
    """One interval of a ray inside a structure (mm from the ray's origin)."""

    id: str
    entry_mm: float
    exit_mm: float


def concatenated(meshes: dict[str, trimesh.Trimesh]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The meshes as one: vertices ``(v, 3)`` float64, faces ``(f, 3)`` int64 into them, and each
    face's owner ``(f,)``, the index of its mesh in ``meshes``' order."""
    faces, verts, owner = [], [], []
    offset = 0
    for i, mesh in enumerate(meshes.values()):
        verts.append(np.asarray(mesh.vertices, dtype=np.float64))
        faces.append(np.asarray(mesh.faces, dtype=np.int64) + offset)
        owner.append(np.full(len(mesh.faces), i, dtype=np.int64))
        offset += len(mesh.vertices)
    return np.vstack(verts), np.vstack(faces), np.concatenate(owner)


class RayIndex:
    """All-hit and first-hit ray queries over a set of closed meshes.

    Parameters
    ----------
    meshes : dict of str -> trimesh.Trimesh
        Structure id -> closed mesh.
    """

    def __init__(self, meshes: dict[str, trimesh.Trimesh]) -> None:
        self.ids = tuple(meshes)
        vertices, self.faces, self.owner = concatenated(meshes)
        # each face's plane in float64, to refine Embree's float32 distances
        corner = vertices[self.faces]
        self._plane_point = corner[:, 0]
        self._plane_normal = np.cross(corner[:, 1] - corner[:, 0], corner[:, 2] - corner[:, 0])
        # coordinates relative to the scene's corner keep float32 precise
        self.lower, self.upper = vertices.min(axis=0), vertices.max(axis=0)
        self._scene = rtcore_scene.EmbreeScene()
        TriangleMesh(scene=self._scene, vertices=(vertices - self.lower).astype(np.float32),
                     indices=self.faces.astype(np.int32))

    def _first(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance (float32 precision) to and triangle of the first hit of each ray (``inf`` and -1
        where none)."""
        found = self._scene.run((origins - self.lower).astype(np.float32), directions.astype(np.float32),
                                output=1)
        face = np.asarray(found["primID"], dtype=np.int64)
        return np.where(face >= 0, np.asarray(found["tfar"], dtype=np.float64), np.inf), face

    def _refine(self, origins: np.ndarray, directions: np.ndarray, faces: np.ndarray,
                dist: np.ndarray) -> np.ndarray:
        """Embree's distances, made float64: the ray's intersection with each hit triangle's plane
        (Embree's value kept for rays grazing the plane, where the plane's is ill-conditioned)."""
        normal = self._plane_normal[faces]
        facing = np.einsum("ij,ij->i", directions, normal)
        good = np.abs(facing) > 1e-6 * np.linalg.norm(normal, axis=1)
        exact = np.einsum("ij,ij->i", self._plane_point[faces] - origins, normal)
        return np.where(good, exact / np.where(good, facing, 1.0), dist)

    def _span(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each ray enters and leaves the scene's bounding box (from 0; empty when ``>``)."""
        inv = 1.0 / np.where(directions == 0.0, 1e-300, directions)
        t1 = (self.lower - 1.0 - origins) * inv
        t2 = (self.upper + 1.0 - origins) * inv
        return np.maximum(np.minimum(t1, t2).max(axis=1), 0.0), np.maximum(t1, t2).min(axis=1)

    def hits(self, origins: np.ndarray, directions: np.ndarray, *,
             seed_mm: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every hit of every ray: (ray index, distance along the ray, owner index), sorted.

        Parameters
        ----------
        origins, directions : (n, 3) float
            Rays; distances are in units of each direction's length (mm for unit directions).
        seed_mm
            Also start each ray every ``seed_mm`` along its way through the scene's bounding box
            (fewer rounds for a few long rays); default: from its origin only.
        """
        origins = np.atleast_2d(np.asarray(origins, dtype=np.float64))
        directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
        length = np.linalg.norm(directions, axis=1)
        unit = directions / np.where(length > 0, length, 1.0)[:, None]
        rays = np.arange(len(origins))
        starts = np.zeros(len(origins))
        if seed_mm is not None and len(origins):
            near, far = self._span(origins, unit)
            count = np.where(far > near, np.ceil((far - near) / seed_mm), 0).astype(np.int64) + 1
            rays = np.repeat(rays, count)
            steps = np.arange(len(rays)) - np.repeat(np.cumsum(count) - count, count)
            starts = np.where(steps == 0, 0.0, np.repeat(near, count) + steps * seed_mm)
        seen: set[int] = set()
        found_rays, found_dist, found_faces = [], [], []
        while len(rays):
            dist, face = self._first(origins[rays] + starts[:, None] * unit[rays], unit[rays])
            hit = face >= 0
            rays, dist, face = rays[hit], starts[hit] + dist[hit], face[hit]
            keys = (rays * len(self.faces) + face).tolist()
            new = np.fromiter((k not in seen and not seen.add(k) for k in keys), dtype=bool, count=len(keys))
            rays, dist, face = rays[new], dist[new], face[new]
            found_rays.append(rays)
            found_dist.append(dist)
            found_faces.append(face)
            starts = dist + STEP_PAST_MM
        if not found_rays:
            return np.zeros(0, int), np.zeros(0), np.zeros(0, int)
        rays, dist, faces = (np.concatenate(x) for x in (found_rays, found_dist, found_faces))
        dist = self._refine(origins[rays], unit[rays], faces, dist) / np.where(length > 0, length, 1.0)[rays]
        order = np.lexsort((dist, rays))
        return rays[order], dist[order], self.owner[faces[order]]

    def crossings(
        self, origin: np.ndarray, direction: np.ndarray, *, start_mm: float = 0.0
    ) -> list[Crossing]:
        """The intervals one ray spends inside each structure, in order of entry.

        The ray starts ``start_mm`` before ``origin`` (so that a surface at the origin counts);
        depths are reported from ``origin`` and clipped at 0.
        """
        direction = np.asarray(direction, dtype=np.float64)
        start = np.asarray(origin, dtype=np.float64) - start_mm * direction
        _, dist, owner = self.hits(start[None], direction[None], seed_mm=LAYER_SEED_MM)
        return pair_crossings(self.ids, dist - start_mm, owner)

    def first_hit(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distance to the first surface along each ray (``inf`` where there is none)."""
        origins = np.atleast_2d(np.asarray(origins, dtype=np.float64))
        directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
        if len(origins) == 0:
            return np.zeros(0)
        length = np.linalg.norm(directions, axis=1, keepdims=True)
        unit = directions / length
        dist, face = self._first(origins, unit)
        hit = np.flatnonzero(face >= 0)
        dist[hit] = self._refine(origins[hit], unit[hit], face[hit], dist[hit])
        return dist / length[:, 0]


def pair_crossings(ids: tuple[str, ...], depths: np.ndarray, owner: np.ndarray) -> list[Crossing]:
    """The intervals a ray spends inside each structure, from its hits (depth, owner index), in
    order of entry; depths are clipped at 0."""
    structures: dict[int, list[float]] = {}
    for depth, k in zip(np.round(depths, 6).tolist(), np.asarray(owner).tolist(), strict=True):
        structures.setdefault(k, []).append(depth)
    out = []
    for k, found in sorted(structures.items()):
        found.sort()
        # a ray through an edge hits twice: equal depths of one structure count once
        found = [d for i, d in enumerate(found) if i == 0 or d != found[i - 1]]
        # each structure's depths pair up in order: entry, exit, entry, exit, ...
        out += [Crossing(ids[k], max(found[i], 0.0), max(found[i + 1], 0.0))
                for i in range(0, len(found) - 1, 2)]
    out.sort(key=lambda c: (c.entry_mm, c.exit_mm))
    return out
