"""Cutaneous nerve territory of a point, from the per-vertex labels of the skin."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from handatlas.atlas import Atlas

_TREES: weakref.WeakKeyDictionary[Atlas, cKDTree] = weakref.WeakKeyDictionary()


def skin_tree(atlas: Atlas) -> cKDTree:
    """A KD-tree over the skin vertices, built once per atlas."""
    tree = _TREES.get(atlas)
    if tree is None:
        tree = cKDTree(atlas.skin.vertices)
        _TREES[atlas] = tree
    return tree


def as_points(points: ArrayLike, *, name: str = "point") -> np.ndarray:
    """Validate coordinates: ``(3,)`` or ``(n, 3)`` finite floats, returned as ``(n, 3)``.

    Raises
    ------
    ValueError
        Naming the argument and the offending value.
    """
    try:
        arr = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        msg = f"{name} must be numbers x, y, z in mm, got {points!r}"
        raise ValueError(msg) from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 3:
        msg = f"{name} must have 3 coordinates (x, y, z in mm), got shape {np.shape(points)}"
        raise ValueError(msg)
    if not np.all(np.isfinite(arr)):
        msg = f"{name} has non-finite coordinates: {arr[~np.isfinite(arr).all(axis=1)][0].tolist()}"
        raise ValueError(msg)
    return arr


def territory_codes_at(atlas: Atlas, points: ArrayLike, *, variant: str | None = None) -> np.ndarray:
    """Territory codes of the skin vertex nearest to each point.

    Parameters
    ----------
    atlas
        The atlas.
    points : (n, 3) or (3,) float
        Millimetres, hand frame.
    variant
        Territory variant; default the atlas's.

    Returns
    -------
    (n,) uint8
        Indices into ``atlas.territory_labels``.
    """
    pts = as_points(points)
    codes = atlas.territory_codes(variant=variant)
    _, idx = skin_tree(atlas).query(pts)
    return codes[idx]


def territory_at(atlas: Atlas, point: ArrayLike, *, variant: str | None = None) -> str:
    """The territory label (``"median"``, ``"ulnar"``, ``"radial"``, ...) at one point.

    Examples
    --------
    >>> territory_at(atlas, [0.0, 40.0, 20.0])  # doctest: +SKIP
    'median'
    """
    pts = as_points(point)
    if len(pts) != 1:
        msg = f"territory_at takes one point, got {len(pts)}; use territory_codes_at for many"
        raise ValueError(msg)
    code = territory_codes_at(atlas, pts, variant=variant)[0]
    return atlas.territory_labels[int(code)]
