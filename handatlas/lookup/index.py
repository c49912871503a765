"""The spatial index of an atlas, built once per atlas and cached on it (weakly)."""

from __future__ import annotations

import weakref
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import trimesh

from handatlas.lookup.capsules import CapsuleSet
from handatlas.lookup.grades import RISK_VERDICT
from handatlas.lookup.model import (
    AVOID_TISSUES,
    CAUTION_FRACTION,
    CONFINING_SHEETS,
    PINNED_FACTOR,
    PINNING_SHEETS,
    SHEET_FACTOR,
    TOLERANCE_KPA,
)
from handatlas.lookup.rays import RayIndex
from handatlas.lookup.surface import SKIN_CLASSES_MM, SurfaceQuery

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
    backing
        Ray index over the bones and the sheets that pin like bone.
    roofs
        Ray index over the sheets that close a fibro-osseous tunnel (``None`` when the atlas has none).
    sheets
        Ray index over the fascial sheets that spread a press (``None`` when the atlas has none).
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
    def tissues(self) -> tuple[str, ...]:
        """Tissue class of each capsule structure, as the pressure model knows them.

        A structure whose tissue has no tolerance of its own is judged as a nerve when its risk
        is high and as a vein otherwise.
        """
        out = []
        for sid in self.capsules.ids:
            s = self.atlas.structures[sid]
            known = s.tissue in TOLERANCE_KPA
            out.append(s.tissue if known else ("nerve" if s.risk == "high" else "vein"))
        return tuple(out)

    @cached_property
    def tolerance(self) -> np.ndarray:
        """(k,) tolerance (kPa) of each capsule structure over soft tissue."""
        return np.array([TOLERANCE_KPA[t] for t in self.tissues], dtype=np.float64)

    @cached_property
    def pinned_tolerance(self) -> np.ndarray:
        """(k,) tolerance (kPa) of each capsule structure pinned against bone."""
        return np.array([TOLERANCE_KPA[t] * PINNED_FACTOR[t] for t in self.tissues], dtype=np.float64)

    @cached_property
    def flag_floor(self) -> np.ndarray:
        """(k,) the least stress (kPa) that can flag each capsule structure (pinned, at the caution
        threshold): below it a structure is safe whatever lies behind it."""
        return CAUTION_FRACTION * self.pinned_tolerance

    @cached_property
    def can_avoid(self) -> np.ndarray:
        """(k,) whether each capsule structure can give ``avoid`` (nerves and arteries)."""
        return np.array([t in AVOID_TISSUES for t in self.tissues], dtype=bool)

    @cached_property
    def sheet_ids(self) -> tuple[str, ...]:
        """The fascial sheets of :data:`handatlas.lookup.model.SHEET_FACTOR` this atlas has."""
        return tuple(sid for sid in SHEET_FACTOR if sid in self.atlas.structures
                     and self.atlas.structures[sid].has_mesh)

    @cached_property
    def sheet_factor(self) -> np.ndarray:
        """(s,) the spreading factor of each sheet of :attr:`sheet_ids`."""
        return np.array([SHEET_FACTOR[sid] for sid in self.sheet_ids], dtype=np.float64)

    @cached_property
    def sheets(self) -> RayIndex | None:
        if not self.sheet_ids:
            return None
        return RayIndex({sid: self.atlas.mesh(sid) for sid in self.sheet_ids})

    def sheet_depths(self, points: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """(n, s) mid-depth of the first crossing of each sheet along each axis (``inf``: missed)."""
        out = np.full((len(points), len(self.sheet_ids)), np.inf)
        if self.sheets is None or len(points) == 0:
            return out
        rays, dist, owner = self.sheets.hits(points, directions)
        keep = dist >= -1e-9
        rays, dist, owner = rays[keep], dist[keep], owner[keep]
        if len(rays) == 0:
            return out
        key = rays * len(self.sheet_ids) + owner
        order = np.lexsort((dist, key))
        key, dist = key[order], dist[order]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        second = np.minimum(first + 1, len(key) - 1)
        paired = (second > first) & (key[second] == key[first])
        leave = np.where(paired, dist[second], dist[first])
        out.reshape(-1)[key[first]] = (dist[first] + leave) / 2
        return out

    @cached_property
    def bones(self) -> RayIndex:
        ids = [s.id for s in self.atlas if s.has_mesh and s.tissue == "bone"]
        return RayIndex({sid: self.atlas.mesh(sid) for sid in ids})

    @cached_property
    def backing(self) -> RayIndex:
        """Ray index over what pins a structure: the bones and the sheets of
        :data:`handatlas.lookup.model.PINNING_SHEETS` the atlas has."""
        ids = [s.id for s in self.atlas if s.has_mesh and (s.tissue == "bone" or s.id in PINNING_SHEETS)]
        return RayIndex({sid: self.atlas.mesh(sid) for sid in ids})

    @cached_property
    def roofs(self) -> RayIndex | None:
        """Ray index over the sheets of :data:`handatlas.lookup.model.CONFINING_SHEETS` the atlas has."""
        ids = [sid for sid in CONFINING_SHEETS
               if sid in self.atlas.structures and self.atlas.structures[sid].has_mesh]
        return RayIndex({sid: self.atlas.mesh(sid) for sid in ids}) if ids else None

    @cached_property
    def everything(self) -> RayIndex:
        return RayIndex({sid: self.atlas.mesh(sid) for sid in self.atlas.with_geometry()})

    @cached_property
    def skin(self) -> SurfaceQuery:
        """Exact closest-point queries on the skin."""
        return SurfaceQuery(self.atlas.skin, classes_mm=SKIN_CLASSES_MM)

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
