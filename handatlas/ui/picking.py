"""What a click hit: the view ray from the browser against the atlas's full-resolution meshes.

No panel import here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from handatlas.atlas import Atlas
from handatlas.lookup.index import lookup_index


class BadClick(ValueError):
    """A click message that is not a usable ray (shown to the user as is)."""


@dataclass(frozen=True)
class Hit:
    """The first visible surface a click ray meets.

    Attributes
    ----------
    id : str
        Structure hit.
    point : numpy.ndarray
        Where, in mm (hand frame).
    behind : tuple of str
        Every structure the ray crosses from there on, visible or not, nearest first.
    """

    id: str
    point: np.ndarray
    behind: tuple[str, ...]


def parse_ray(message: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Origin and unit direction of the ``pick`` message the scene sends.

    Raises
    ------
    BadClick
        When the message holds no finite origin and non-zero direction.
    """
    try:
        ray = message["ray"]
        origin = np.asarray(ray["origin"], dtype=np.float64).reshape(3)
        direction = np.asarray(ray["direction"], dtype=np.float64).reshape(3)
    except (KeyError, TypeError, ValueError) as err:
        raise BadClick(f"the click could not be read (ray {message.get('ray')!r}): {err}") from None
    norm = float(np.linalg.norm(direction))
    if not (np.all(np.isfinite(origin)) and np.isfinite(norm) and norm > 0):
        raise BadClick(
            f"the click could not be read: origin {origin.tolist()}, direction {direction.tolist()}"
        )
    return origin, direction / norm


def cast_all(atlas: Atlas, origin: np.ndarray, direction: np.ndarray, visible: Collection[str]) -> list[Hit]:
    """Where the ray first meets each ``visible`` structure, nearest first."""
    index = lookup_index(atlas).everything
    _, dist, owner = index.hits(origin[None], direction[None])
    ids = [index.ids[k] for k in owner]
    out: list[Hit] = []
    seen: set[str] = set()
    for k, sid in enumerate(ids):
        if sid in visible and sid not in seen:
            seen.add(sid)
            out.append(Hit(sid, origin + dist[k] * direction, tuple(dict.fromkeys(ids[k:]))))
    return out


def cast(atlas: Atlas, origin: np.ndarray, direction: np.ndarray, visible: Collection[str]) -> Hit | None:
    """The first surface of a ``visible`` structure along the ray, or None when it misses them all."""
    hits = cast_all(atlas, origin, direction, visible)
    return hits[0] if hits else None
