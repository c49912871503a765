"""The spatial index of an atlas, built once per atlas and cached on it (weakly)."""

from __future__ import annotations

import weakref
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from handatlas.lookup.bvh import EMPTY_TREE, MeshRays, axis_rays
from handatlas.lookup.capsules import CapsuleSet, below_skin_all, skin_depths
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
from handatlas.lookup.rays import Crossing, RayIndex, pair_crossings
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

    Parameters
    ----------
    atlas
        The atlas.
    rays
        The ray engine: :class:`~handatlas.lookup.bvh.MeshRays` (compiled; the default) or
        :class:`~handatlas.lookup.rays.RayIndex` (Embree, re-cast past each hit; the reference the
        tests compare with).
    """

    def __init__(self, atlas: Atlas, *, rays: type[MeshRays] | type[RayIndex] = MeshRays) -> None:
        self.atlas = atlas
        self.rays = rays

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
    def tolerance_list(self) -> tuple[list[float], list[float]]:
        """:attr:`tolerance` and :attr:`pinned_tolerance` as lists (for a single press's report)."""
        return self.tolerance.tolist(), self.pinned_tolerance.tolist()

    @cached_property
    def flag_floor(self) -> np.ndarray:
        """(k,) the least stress (kPa) that can flag each capsule structure (pinned, at the caution
        threshold): below it a structure is safe whatever lies behind it."""
        return CAUTION_FRACTION * self.pinned_tolerance

    @cached_property
    def flag_floors(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct values of :attr:`flag_floor` and, for each structure, which is its own."""
        floors, which = np.unique(self.flag_floor, return_inverse=True)
        return floors, which.astype(np.int64)

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
    def sheets(self) -> MeshRays | RayIndex | None:
        if not self.sheet_ids:
            return None
        return self.rays({sid: self.atlas.mesh(sid) for sid in self.sheet_ids})

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

    def axis(self, point: np.ndarray, direction: np.ndarray, *,
             start_mm: float) -> tuple[float, np.ndarray, list[Crossing]]:
        """What one press's inward axis crosses: ``(first bone, sheet depths, layer stack)``.

        The distance from ``point`` to the first bone along the unit ``direction`` (``inf``: none),
        :meth:`sheet_depths` of the axis, and :meth:`RayIndex.crossings
        <handatlas.lookup.rays.RayIndex.crossings>` of :attr:`everything` from ``start_mm`` above
        the point: the same answers as those three queries, in one compiled call with
        :class:`~handatlas.lookup.bvh.MeshRays`.
        """
        point = np.ascontiguousarray(point, dtype=np.float64)
        direction = np.ascontiguousarray(direction, dtype=np.float64)
        bones, sheets, everything = self.bones, self.sheets, self.everything
        if not (isinstance(bones, MeshRays) and isinstance(everything, MeshRays)
                and isinstance(sheets, MeshRays | None)):
            return (float(bones.first_hit(point[None], direction[None])[0]),
                    self.sheet_depths(point[None], direction[None])[0],
                    everything.crossings(point, direction, start_mm=start_mm))
        sheet_depth = np.empty(len(self.sheet_ids))
        size = 128
        while True:
            layer_t, layer_face = np.empty(size), np.empty(size, dtype=np.int64)
            column, count = axis_rays(*point, *direction, float(start_mm), bones.tree,
                                      EMPTY_TREE if sheets is None else sheets.tree,
                                      np.zeros(1, dtype=np.int64) if sheets is None else sheets.owner,
                                      len(self.sheet_ids), everything.tree, everything.owner, sheet_depth,
                                      layer_t, layer_face)
            if count <= size:
                break
            size = count
        crossings = pair_crossings(everything.ids, layer_t[:count] - start_mm,
                                   everything.owner[layer_face[:count]])
        return column, sheet_depth, crossings

    @cached_property
    def bones(self) -> MeshRays | RayIndex:
        ids = [s.id for s in self.atlas if s.has_mesh and s.tissue == "bone"]
        return self.rays({sid: self.atlas.mesh(sid) for sid in ids})

    @cached_property
    def backing(self) -> MeshRays | RayIndex:
        """Ray index over what pins a structure: the bones and the sheets of
        :data:`handatlas.lookup.model.PINNING_SHEETS` the atlas has."""
        ids = [s.id for s in self.atlas if s.has_mesh and (s.tissue == "bone" or s.id in PINNING_SHEETS)]
        return self.rays({sid: self.atlas.mesh(sid) for sid in ids})

    @cached_property
    def roofs(self) -> MeshRays | RayIndex | None:
        """Ray index over the sheets of :data:`handatlas.lookup.model.CONFINING_SHEETS` the atlas has."""
        ids = [sid for sid in CONFINING_SHEETS
               if sid in self.atlas.structures and self.atlas.structures[sid].has_mesh]
        return self.rays({sid: self.atlas.mesh(sid) for sid in ids}) if ids else None

    @cached_property
    def everything(self) -> MeshRays | RayIndex:
        return self.rays({sid: self.atlas.mesh(sid) for sid in self.atlas.with_geometry()})

    @cached_property
    def skin_rays(self) -> MeshRays | RayIndex:
        """Ray index over the skin alone (the depth of a structure below it)."""
        return self.rays({"skin": self.atlas.skin})

    def depth_below_skin(self, points: np.ndarray, directions: np.ndarray, centres: np.ndarray,
                         radii: np.ndarray, plane: np.ndarray) -> np.ndarray:
        """:func:`~handatlas.lookup.capsules.below_skin` of structures with critical points ``centres``
        (m, 3), capsule radii ``radii`` and depths below the tangent plane ``plane`` (m,), pressed
        at ``points`` (m, 3) along ``directions`` (m, 3)."""
        centres = np.ascontiguousarray(centres, dtype=np.float64)
        out = np.empty(len(centres))
        if len(centres) == 0:
            return out
        radii, plane = np.asarray(radii, dtype=np.float64), np.asarray(plane, dtype=np.float64)
        if isinstance(self.skin_rays, MeshRays):  # one compiled call
            skin_depths(np.ascontiguousarray(points, dtype=np.float64),
                        np.ascontiguousarray(directions, dtype=np.float64), centres, radii, plane,
                        self.skin_rays.tree, out)
            return out
        back = self.skin_rays.first_hit(centres, -np.asarray(directions, dtype=np.float64))
        towards = np.asarray(points, dtype=np.float64) - centres
        length = np.linalg.norm(towards, axis=1)
        hit = self.skin_rays.first_hit(centres, np.where(length[:, None] > 0, towards, 1.0))
        below_skin_all(back, np.where(length > 0, hit * length, np.inf), radii, plane, out)
        return out

    @cached_property
    def skin(self) -> SurfaceQuery:
        """Exact closest-point queries on the skin."""
        return SurfaceQuery(self.atlas.skin, classes_mm=SKIN_CLASSES_MM)

    def snap_to_skin(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest skin point, its outward normal and the signed distance (+ inside) of each point."""
        skin = self.skin
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if len(points) == 1:  # (signed_distance's numpy on one row costs more than the query)
            point, face = skin.closest_one(points[0])
            closest, faces = point[None], np.array([face])
            off = points[0] - point
            gap = float(np.sqrt(off @ off))
            signed = np.array([-gap if off @ skin.face_normals[face] > 0 else gap])
            return closest, skin.normals_at(closest, faces), signed
        closest, faces = skin.closest(points)
        return closest, skin.normals_at(closest, faces), skin.signed_distance(points, closest, faces)


def lookup_index(atlas: Atlas) -> LookupIndex:
    """The (cached) index of an atlas."""
    index = _INDEXES.get(atlas)
    if index is None:
        index = LookupIndex(atlas)
        _INDEXES[atlas] = index
    return index
