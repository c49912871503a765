"""Atlas geometry for exports: neighbouring structures, nearest landmarks, a view that shows a place.

Distances are between mesh vertices (k-d trees), good to a millimetre or two on the shipped
atlas, which is all that choosing distractors and a camera needs.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from handatlas import format as fmt
from handatlas.names import landmark_name, landmark_phrase, possessives
from handatlas.render import VIEWS

if TYPE_CHECKING:
    from handatlas.atlas import Atlas

__all__ = ["Geometry", "landmark_name", "landmark_phrase", "possessives"]

#: Tissues whose structures make plausible "at risk" distractors.
NEUROVASCULAR = ("nerve", "artery", "vein")
#: Most vertices of a structure compared against another one.
SAMPLE = 1500
#: Side views are chosen only when they face the place clearly better than palmar or dorsal.
SIDE_WEIGHT = 0.6


class Geometry:
    """Distance queries over one atlas's meshes and landmarks (k-d trees built on demand)."""

    def __init__(self, atlas: Atlas) -> None:
        self.atlas = atlas
        self._trees: dict[str, cKDTree] = {}

    @cached_property
    def structure_ids(self) -> tuple[str, ...]:
        """Every structure with a mesh of its own, except the skin."""
        return tuple(i for i in self.atlas.with_geometry() if i != fmt.SKIN_ID)

    @cached_property
    def _skin(self) -> tuple[cKDTree, np.ndarray]:
        skin = self.atlas.skin
        return cKDTree(skin.vertices), np.asarray(skin.vertex_normals)

    def vertices(self, sid: str) -> np.ndarray:
        """Up to :data:`SAMPLE` vertices of a structure, evenly strided."""
        verts = np.asarray(self.atlas.arrays(sid)["vertices"], dtype=float)
        return verts[:: max(1, len(verts) // SAMPLE)]

    def points(self, sid: str) -> np.ndarray:
        """Sampled vertices of a structure or of every mesh below a group."""
        ids = [i for i in self.atlas.with_geometry(sid) if i != fmt.SKIN_ID or sid == fmt.SKIN_ID]
        return np.vstack([self.vertices(i) for i in ids])

    def tree(self, sid: str) -> cKDTree:
        """The k-d tree of a structure's vertices."""
        if sid not in self._trees:
            self._trees[sid] = cKDTree(np.asarray(self.atlas.arrays(sid)["vertices"], dtype=float))
        return self._trees[sid]

    def distance(self, sid: str, points: np.ndarray) -> float:
        """Smallest distance (mm) from ``points`` to the structure's vertices."""
        dist, _ = self.tree(sid).query(np.atleast_2d(points))
        return float(np.min(dist))

    def related(self, a: str, b: str) -> bool:
        """Whether one structure lies below the other in the hierarchy (or they are the same)."""
        return a == b or a in self.atlas.ancestors(b) or b in self.atlas.ancestors(a)

    def skin_normal(self, point: np.ndarray) -> np.ndarray:
        """The outward normal of the skin vertex nearest ``point``."""
        tree, normals = self._skin
        _, index = tree.query(np.asarray(point, dtype=float))
        return normals[int(index)]

    def centroid(self, sid: str) -> np.ndarray:
        """The mean of the vertices of a structure (or of every mesh below a group)."""
        return self.points(sid).mean(axis=0)

    def nearest_landmark(self, points: np.ndarray, *, exclude: tuple[str, ...] = ()) -> tuple[str, float]:
        """The landmark closest to ``points`` (a point or many) and its distance in mm."""
        pts = np.atleast_2d(points)
        best = ("", np.inf)
        for lid, lm in self.atlas.landmarks.items():
            if lid in exclude:
                continue
            d = float(np.min(np.linalg.norm(pts - lm.point, axis=1)))
            if d < best[1]:
                best = (lid, d)
        return best


def view_facing(normal: np.ndarray) -> str:
    """The named view of :data:`handatlas.render.VIEWS` that looks most squarely at ``normal``.

    Examples
    --------
    >>> view_facing(np.array([0.0, 0.1, -1.0]))
    'dorsal'
    """
    def score(name: str) -> float:
        weight = 1.0 if name in ("palmar", "dorsal") else SIDE_WEIGHT
        return weight * float(np.dot(VIEWS[name][0], normal))

    return max(VIEWS, key=score)
