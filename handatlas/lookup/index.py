"""The spatial index of an atlas, built once per atlas and cached on it (weakly)."""

from __future__ import annotations

import weakref
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from handatlas.lookup.capsules import CapsuleSet
from handatlas.lookup.grades import RISK_VERDICT
from handatlas.lookup.rays import RayIndex
from handatlas.lookup.surface import SurfaceQuery

if TYPE_CHECKING:
    from handatlas.atlas import Atlas

_INDEXES: weakref.WeakKeyDictionary[Atlas, LookupIndex] = weakref.WeakKeyDictionary()


class LookupIndex:
    """Everything the pressure queries need, built lazily from an atlas.

    Attributes
    ----------
    capsules
        Capsule chains of the structures that can be at risk (risk ``high`` or ``caution``).
    bones
        Ray index over the bones (pressure does not pass through bone).
    everything
        Ray index over every closed mesh, skin included (the layer stack).
    """

    def __init__(self, atlas: Atlas) -> None:
        self.atlas = atlas

    @cached_property
    def capsules(self) -> CapsuleSet:
        ids = [s.id for s in self.atlas if s.is_tube and s.risk in RISK_VERDICT]
        return CapsuleSet.from_polylines({sid: self.atlas.centerlines(sid) for sid in ids})

    @cached_property
    def risk_codes(self) -> np.ndarray:
        """Verdict code each capsule structure gives when at risk."""
        return np.array([RISK_VERDICT[self.atlas.structures[s].risk] for s in self.capsules.ids])

    @cached_property
    def bones(self) -> RayIndex:
        ids = [s.id for s in self.atlas if s.has_mesh and s.tissue == "bone"]
        return RayIndex({sid: self.atlas.mesh(sid) for sid in ids})

    @cached_property
    def everything(self) -> RayIndex:
        return RayIndex({sid: self.atlas.mesh(sid) for sid in self.atlas.with_geometry()})

    @cached_property
    def skin(self) -> SurfaceQuery:
        """Exact closest-point queries on the skin."""
        return SurfaceQuery(self.atlas.skin)

    def snap_to_skin(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest skin point, its outward normal and the signed distance (+ inside) of each point."""
        skin = self.skin
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        closest, faces = skin.closest(points)
        corners = skin.faces[faces]
        normals = _interpolate(skin.vertices[corners], closest, skin.vertex_normals[corners])
        return closest, normals, skin.signed_distance(points, closest, faces)


def _interpolate(triangles: np.ndarray, points: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Barycentric interpolation of per-vertex unit vectors, renormalised."""
    bary = trimesh.triangles.points_to_barycentric(triangles, points)
    out = np.einsum("ij,ijk->ik", bary, values)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def lookup_index(atlas: Atlas) -> LookupIndex:
    """The (cached) index of an atlas."""
    index = _INDEXES.get(atlas)
    if index is None:
        index = LookupIndex(atlas)
        _INDEXES[atlas] = index
    return index
