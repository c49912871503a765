"""Rays through the atlas: every surface a ray crosses, with the structure each belongs to.

All closed meshes (skin included) are concatenated into one triangle soup with a face -> owner
map and handed to trimesh's ray engine (Embree through ``embreex`` when installed, else
trimesh's own).  A ray from the skin inward yields, per structure, the depths at which it
enters and leaves: the *layer stack*.  A ray toward a structure tells whether a bone lies in
between: *shielding*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh


@dataclass(frozen=True)
class Crossing:
    """One interval of a ray inside a structure (mm from the ray's origin)."""

    id: str
    entry_mm: float
    exit_mm: float


class RayIndex:
    """All-hit ray queries over a set of closed meshes.

    Parameters
    ----------
    meshes : dict of str -> trimesh.Trimesh
        Structure id -> closed mesh.
    """

    def __init__(self, meshes: dict[str, trimesh.Trimesh]) -> None:
        self.ids = tuple(meshes)
        faces, verts, owner = [], [], []
        offset = 0
        for i, sid in enumerate(self.ids):
            mesh = meshes[sid]
            verts.append(np.asarray(mesh.vertices, dtype=np.float64))
            faces.append(np.asarray(mesh.faces, dtype=np.int64) + offset)
            owner.append(np.full(len(mesh.faces), i, dtype=np.int64))
            offset += len(mesh.vertices)
        self.owner = np.concatenate(owner)
        self.mesh = trimesh.Trimesh(np.vstack(verts), np.vstack(faces), process=False)
        self._intersector = self.mesh.ray

    def hits(self, origins: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every hit of every ray: (ray index, distance along the ray, owner index), sorted."""
        origins = np.atleast_2d(np.asarray(origins, dtype=np.float64))
        directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
        faces, rays, locations = self._intersector.intersects_id(
            origins, directions, multiple_hits=True, return_locations=True
        )
        if len(faces) == 0:
            return np.zeros(0, int), np.zeros(0), np.zeros(0, int)
        dist = np.einsum("ij,ij->i", locations - origins[rays], directions[rays])
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
        _, dist, owner = self.hits(start[None], direction[None])
        dist = dist - start_mm
        out: list[Crossing] = []
        for k in np.unique(owner):
            d = np.unique(np.round(dist[owner == k], 6))  # a ray through an edge hits twice
            for entry, leave in zip(d[0::2], d[1::2], strict=False):
                out.append(Crossing(self.ids[k], max(float(entry), 0.0), max(float(leave), 0.0)))
        out.sort(key=lambda c: (c.entry_mm, c.exit_mm))
        return out

    def first_hit(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Distance to the first surface along each ray (``inf`` where there is none)."""
        origins = np.atleast_2d(np.asarray(origins, dtype=np.float64))
        directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
        out = np.full(len(origins), np.inf)
        if len(origins) == 0:
            return out
        scene = getattr(self._intersector, "_scene", None)
        if scene is not None and hasattr(scene, "run") and hasattr(scene, "scale"):
            # Embree directly: one first-hit query per ray, distances in the scene's scaled units
            unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
            hit = scene.run(origins, unit.astype(np.float32), output=1)
            found = hit["geomID"] >= 0
            out[found] = hit["tfar"][found] / scene.scale
            return out
        locations, rays, _ = self._intersector.intersects_location(origins, directions, multiple_hits=False)
        if len(rays):
            out[rays] = np.einsum("ij,ij->i", locations - origins[rays], directions[rays])
        return out
