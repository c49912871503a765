"""The meshes the browser draws: decimated, quantised and compressed once per process.

The atlas's full-resolution meshes stay on the server, where clicks are intersected with them;
the browser only needs something that looks the same.  Every structure with more than
:data:`DECIMATE_ABOVE` triangles except the skin is decimated by quadrics (VTK): bones, tubes and
tendons, smooth and round, by four fifths, staying within :data:`DISPLAY_TOLERANCE_MM` of the
atlas's meshes (``tests/test_ui_core.py``); the thin sheets of fascia and the muscles, which lose
their edges sooner, by half (:data:`REDUCTION`).  A software renderer's redraw grows with the
triangles drawn: 0.27 s for the 226k a page showed when it opened with every structure halved,
0.2 s for the 144k now.  The skin keeps every vertex so that per-vertex data computed on the
atlas's skin (the safety map, the territories) can be drawn on it as is.  Positions are quantised
in :data:`STEP_MM` steps (16 bits over the atlas's bounding box); positions and triangle indices
are sent as differences from the previous one, zigzag-coded and split into byte planes
(:func:`_planes`), which deflate to 0.7 of the plain quantised values; the whole is one zlib
stream that the browser inflates with the built-in ``DecompressionStream``.

The meshes come in two parts (:func:`display_meshes`): those a page shows when it opens, drawn
at once, and the others (the muscles, the subcutaneous layer), which a browser fetches only when
one of them is first shown.  Each part is served as a static file named by its content hash
(:func:`blob_path`, :func:`published`): geometry only, no structure names, cached by the browser
for good (a new atlas has a new name), while the index that names its meshes travels with the
session.

No panel import here.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from dataclasses import dataclass

import numpy as np

from handatlas import format as fmt
from handatlas.atlas import Atlas
from handatlas.ui.colours import hex_to_rgb

#: Structures with more triangles than this are decimated for display (the skin never is).
DECIMATE_ABOVE = 1500
#: Fraction of triangles removed when decimating, by layer (others: :data:`REDUCTION_DEFAULT`).
REDUCTION = {"skeleton": 0.8, "neurovascular": 0.8, "tendon": 0.8, "subcutaneous": 0.8}
#: Fraction removed from the layers not in :data:`REDUCTION` (thin sheets, muscles' fine edges).
REDUCTION_DEFAULT = 0.5
#: How far (mm, both ways) a display mesh of a layer in :data:`REDUCTION` strays from the atlas's.
DISPLAY_TOLERANCE_MM = 0.5
#: Quantisation step of the positions (mm): a hundredth of a pixel on a 1,000-pixel hand; coarser
#: only for an atlas wider than 16 bits of it (655 mm).
STEP_MM = 0.01
_LEVELS = 65535
#: Where the server publishes the blobs (``/<MESH_ROUTE>/<digest>.bin``).
MESH_ROUTE = "meshes"
_PUBLISHED: dict[str, bytes] = {}


@dataclass(frozen=True)
class DisplayMeshes:
    """The compressed display meshes of an atlas and the index that unpacks them.

    Attributes
    ----------
    blob : numpy.ndarray
        uint8, a zlib stream: for each mesh in ``index`` order, its quantised positions (16 bits)
        then its triangle indices (16 bits, or 32 when ``wide``), each as zigzag-coded differences
        in byte planes (:func:`_planes`; positions column by column), each part 4-byte aligned.
    index : list of dict
        Per mesh: ``id``, ``colour`` (RGB 0-1), ``points`` (vertex count), ``triangles``,
        ``wide`` (32-bit indices).
    origin, scale : list of float
        ``position = origin + quantised * scale`` (mm).
    raw_bytes : int
        Size before compression.
    triangles : int
        Triangles drawn in all.
    """

    blob: np.ndarray
    index: list[dict[str, object]]
    origin: list[float]
    scale: list[float]
    raw_bytes: int
    triangles: int

    @functools.cached_property
    def digest(self) -> str:
        """The blob's content hash (hex, 20 characters): its file name."""
        return hashlib.sha256(self.blob.tobytes()).hexdigest()[:20]

    def payload(self) -> dict[str, object]:
        """What the scene component receives of this part: where to fetch it, how to unpack it."""
        return {"url": blob_path(self.digest), "bytes": int(self.blob.size), "index": self.index,
                "origin": self.origin, "scale": self.scale}


@functools.lru_cache(maxsize=512)
def display_geometry(atlas: Atlas, structure_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and triangles of a structure as drawn in the browser (made once per process)."""
    arrays = atlas.arrays(structure_id)
    vertices, faces = arrays["vertices"], arrays["faces"]
    if structure_id != fmt.SKIN_ID and len(faces) > DECIMATE_ABOVE:
        from handatlas.render import to_polydata

        reduction = REDUCTION.get(atlas[structure_id].layer, REDUCTION_DEFAULT)
        poly = to_polydata(atlas, structure_id).decimate(reduction)
        vertices, faces = poly.points, poly.regular_faces
    vertices, faces = np.array(vertices, np.float64), np.array(faces, np.int64)
    vertices.flags.writeable = faces.flags.writeable = False  # shared by every caller
    return vertices, faces


def _zigzag_deltas(values: np.ndarray, *, bits: int) -> np.ndarray:
    """Differences from the previous row, wrapped to ``bits`` and zigzag-coded (unsigned).

    Neighbouring vertices lie close together and neighbouring triangles share vertices, so the
    differences are small; zigzag coding (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...) keeps small negative
    ones small too, so that their high bytes are zero.
    """
    span = 1 << bits
    diff = np.diff(values.astype(np.int64), axis=0, prepend=0) % span
    signed = np.where(diff >= span // 2, diff - span, diff)
    return ((signed << 1) ^ (signed >> 63)) % span


def _planes(codes: np.ndarray, *, bits: int) -> bytes:
    """Codes ``(n,)`` or ``(n, 3)`` as byte planes: per column, every low byte, then every next
    byte...  Mostly-zero high bytes sit together, where deflate packs them to almost nothing."""
    columns = codes.reshape(len(codes), -1).T.astype(f"<u{bits // 8}")
    return b"".join(np.ascontiguousarray(columns).view(np.uint8)
                    .reshape(columns.shape[0], -1, bits // 8)[:, :, k].tobytes()
                    for k in range(bits // 8))


def _unplanes(raw: bytes, offset: int, shape: tuple[int, int], *, bits: int) -> np.ndarray:
    """The inverse of :func:`_planes` followed by undoing :func:`_zigzag_deltas`."""
    n, columns = shape
    size = bits // 8
    planes = np.frombuffer(raw, np.uint8, n * columns * size, offset).reshape(size, columns, n)
    codes = sum(planes[k].astype(np.int64) << (8 * k) for k in range(size)).T
    signed = (codes >> 1) ^ -(codes & 1)
    return np.cumsum(signed, axis=0) % (1 << bits)


def _aligned(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def pack(atlas: Atlas, ids: tuple[str, ...] | None = None, *, level: int = 6) -> DisplayMeshes:
    """Decimate, quantise and compress the meshes ``ids`` (default: every mesh of the atlas).

    The skin comes last so that the browser draws the translucent layer over the others.
    """
    ids = ids if ids is not None else atlas.with_geometry()
    ids = tuple(sorted(ids, key=lambda sid: sid == fmt.SKIN_ID))
    geometry = {sid: display_geometry(atlas, sid) for sid in ids}
    lo = np.min([v.min(axis=0) for v, _ in geometry.values()], axis=0)
    hi = np.max([v.max(axis=0) for v, _ in geometry.values()], axis=0)
    scale = np.maximum((hi - lo) / _LEVELS, STEP_MM)
    parts: list[bytes] = []
    index: list[dict[str, object]] = []
    for sid in ids:
        vertices, faces = geometry[sid]
        quantised = np.rint((vertices - lo) / scale).clip(0, _LEVELS)
        wide = len(vertices) > _LEVELS
        parts.append(_aligned(_planes(_zigzag_deltas(quantised, bits=16), bits=16)))
        bits = 32 if wide else 16
        parts.append(_aligned(_planes(_zigzag_deltas(faces.ravel(), bits=bits), bits=bits)))
        index.append(
            {
                "id": sid,
                "colour": hex_to_rgb(atlas.structures[sid].colour),
                "points": len(vertices),
                "triangles": len(faces),
                "wide": wide,
            }
        )
    raw = b"".join(parts)
    blob = np.frombuffer(zlib.compress(raw, level), dtype=np.uint8)
    return DisplayMeshes(
        blob=blob,
        index=index,
        origin=[float(v) for v in lo],
        scale=[float(v) for v in scale],
        raw_bytes=len(raw),
        triangles=sum(int(i["triangles"]) for i in index),
    )


@functools.lru_cache(maxsize=4)
def display_meshes(atlas: Atlas, first: frozenset[str] = frozenset()) -> tuple[DisplayMeshes, ...]:
    """The display meshes in parts: the meshes of ``first`` (drawn when a page opens), then the
    others (fetched by a browser when one of them is first shown); one part if either is empty.

    Built once per process, atlas and ``first`` (shared by all sessions), and published for the
    server to serve (:func:`published`).
    """
    ids = atlas.with_geometry()
    groups = [tuple(sid for sid in ids if sid in first), tuple(sid for sid in ids if sid not in first)]
    parts = tuple(pack(atlas, group) for group in groups if group)
    for meshes in parts:
        _PUBLISHED[meshes.digest] = meshes.blob.tobytes()
    return parts


def scene_payload(parts: tuple[DisplayMeshes, ...]) -> dict[str, object]:
    """The scene's ``meshes`` parameter: each part's address and index, the first drawn at once."""
    return {"parts": [meshes.payload() for meshes in parts]}


def blob_path(digest: str) -> str:
    """The blob's address, relative to the app's page."""
    return f"./{MESH_ROUTE}/{digest}.bin"


def published(digest: str) -> bytes | None:
    """The blob of that content hash, if this process has packed it (else None)."""
    return _PUBLISHED.get(digest)


def unpack(meshes: DisplayMeshes) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The inverse of :func:`pack` (what the browser does), for tests and tools."""
    raw = zlib.decompress(meshes.blob.tobytes())
    origin, scale = np.asarray(meshes.origin), np.asarray(meshes.scale)
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    offset = 0
    for entry in meshes.index:
        n_points, n_tris = int(entry["points"]), int(entry["triangles"])
        q = _unplanes(raw, offset, (n_points, 3), bits=16)
        offset += len(_aligned(bytes(n_points * 6)))
        bits = 32 if entry["wide"] else 16
        faces = _unplanes(raw, offset, (n_tris * 3, 1), bits=bits).reshape(-1, 3)
        offset += len(_aligned(bytes(n_tris * 3 * bits // 8)))
        out[str(entry["id"])] = (origin + q * scale, faces)
    return out
