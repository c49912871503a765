"""The on-disk format of an atlas: file names, vocabularies, the manifest schema and mesh files.

An atlas is a folder::

    meshes/
        manifest.json        # format_version, atlas metadata, structures, landmarks, territories
        <structure id>.npz   # one mesh file per structure that has geometry

Every mesh file is an uncompressed ``.npz`` holding ``vertices`` (n, 3) float32 in millimetres
and ``faces`` (m, 3) int32; tubes (nerves, vessels) add their ``centerline`` (k, 3), ``radii``
(k,) and ``path_starts`` (p,) int32 (where each polyline begins); the skin adds one
``territory_<variant>`` (n,) uint8 array per territory variant, whose codes index
``manifest["territories"]["labels"]``.  Files are written byte for byte reproducibly (fixed zip
timestamps, sorted members) and guarded by a sha256 in the manifest.

This module owns the names, the vocabularies and the validation of the manifest; it performs no
I/O at import time and imports neither pyvista nor panel.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
MESH_SUFFIX = ".npz"

TISSUES = ("bone", "muscle", "tendon", "fascia", "retinaculum", "nerve", "artery", "vein", "skin")
LAYERS = ("skin", "subcutaneous", "fascia", "muscle", "tendon", "neurovascular", "skeleton")
RISKS = ("low", "caution", "high")
TERRITORY_LABELS = ("median", "ulnar", "radial", "forearm")
ROOT_ID = "hand"
SKIN_ID = "skin"

#: Risk class that each tissue carries (DESIGN.md, "Vocabularies").
TISSUE_RISK = {
    "bone": "low",
    "muscle": "low",
    "tendon": "low",
    "fascia": "low",
    "retinaculum": "low",
    "skin": "low",
    "vein": "caution",
    "nerve": "high",
    "artery": "high",
}

Tissue = Literal["bone", "muscle", "tendon", "fascia", "retinaculum", "nerve", "artery", "vein", "skin"]
Layer = Literal["skin", "subcutaneous", "fascia", "muscle", "tendon", "neurovascular", "skeleton"]
Risk = Literal["low", "caution", "high"]

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """A manifest or mesh file that is not a valid atlas; the message names file and field."""


def _snake_case(value: str) -> str:
    if not _ID.match(value):
        msg = f"{value!r} is not a lowercase snake_case id"
        raise ValueError(msg)
    return value


#: A structure or landmark id: lowercase snake_case.
Identifier = Annotated[str, AfterValidator(_snake_case)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeshRef(_Strict):
    """Where a structure's geometry lives and how to check it."""

    file: str
    sha256: str
    vertices: int = Field(ge=3)
    faces: int = Field(ge=1)
    kind: Literal["surface", "tube"] = "surface"

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str) -> str:
        if not _SHA.match(value):
            msg = f"{value!r} is not a 64-digit lowercase hex sha256"
            raise ValueError(msg)
        return value

    @field_validator("file")
    @classmethod
    def _file(cls, value: str) -> str:
        if "/" in value or "\\" in value or not value.endswith(MESH_SUFFIX):
            msg = f"{value!r} must be a plain file name ending in {MESH_SUFFIX}"
            raise ValueError(msg)
        return value


class StructureRecord(_Strict):
    """One row of the structure table: a group (no mesh) or a structure with geometry."""

    id: Identifier
    name: str = Field(min_length=1)
    acronym: str = ""
    synonyms: tuple[str, ...] = ()
    parent: str | None
    tissue: Tissue | None = None
    layer: Layer | None = None
    risk: Risk | None = None
    risk_note: str = ""
    colour: str = "#c0c0c0"
    description: str = ""
    mesh: MeshRef | None = None

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not _COLOUR.match(value):
            msg = f"{value!r} is not a colour like '#a1b2c3'"
            raise ValueError(msg)
        return value


class LandmarkRecord(_Strict):
    """A named pressure point: a skin point and its outward unit normal (mm, hand frame)."""

    id: Identifier
    point: tuple[float, float, float]
    normal: tuple[float, float, float]
    description: str = ""

    @field_validator("normal")
    @classmethod
    def _unit(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        norm = float(np.linalg.norm(value))
        if not abs(norm - 1.0) < 1e-3:
            msg = f"normal {list(value)} has length {norm:.4f}, expected 1"
            raise ValueError(msg)
        return value


class TerritoryInfo(_Strict):
    """The cutaneous territory labels stored per skin vertex, and their variants."""

    labels: tuple[str, ...] = TERRITORY_LABELS
    variants: tuple[str, ...] = ("standard",)
    default: str = "standard"
    notes: dict[str, str] = Field(default_factory=dict)


class AtlasInfo(_Strict):
    """Metadata of the atlas as a whole."""

    name: str
    version: str
    units: Literal["mm"] = "mm"
    frame: str
    pose: str
    sources: tuple[str, ...] = ()
    generator: str = ""
    #: Package -> version that the build ran with (empty for atlases made otherwise).
    build_environment: dict[str, str] = Field(default_factory=dict)


class Manifest(_Strict):
    """The whole manifest file."""

    format_version: int
    atlas: AtlasInfo
    structures: tuple[StructureRecord, ...]
    landmarks: tuple[LandmarkRecord, ...] = ()
    territories: TerritoryInfo = TerritoryInfo()


# ----------------------------------------------------------------------------- reading
def _describe_location(data: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into 'structure 'radius', field 'risk''."""
    parts: list[str] = []
    node = data
    for i, key in enumerate(loc):
        if isinstance(key, int) and isinstance(node, list) and i > 0:
            section = loc[i - 1]
            item = node[key] if key < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            kind = {"structures": "structure", "landmarks": "landmark"}.get(str(section), "item")
            parts[-1] = f"{kind} {ident!r}" if ident else f"{section}[{key}]"
        else:
            parts.append(str(key))
        node = node[key] if isinstance(node, (dict, list)) and _has(node, key) else None
    if len(parts) > 1:
        return ", ".join([*parts[:-1], f"field {parts[-1]!r}"])
    return f"field {parts[0]!r}" if parts else "top level"


def _has(node: dict | list, key: int | str) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(key, int) and 0 <= key < len(node)


def parse_manifest(data: Any, *, source: str | Path = MANIFEST_NAME) -> Manifest:
    """Validate manifest data (already parsed from JSON) and its internal consistency.

    Parameters
    ----------
    data
        The decoded JSON document.
    source
        The file the data came from, used in error messages.

    Returns
    -------
    Manifest
        The validated manifest.

    Raises
    ------
    ManifestError
        With a message naming the file, the structure (or landmark) and the field, e.g.
        ``meshes/manifest.json: structure 'radius', field 'risk': Input should be 'low', ...``.
    """
    if not isinstance(data, dict):
        msg = f"{source}: expected a JSON object at the top level, found {type(data).__name__}"
        raise ManifestError(msg)
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        msg = f"{source}: field 'format_version' is {version!r}; this handatlas reads {FORMAT_VERSION}"
        raise ManifestError(msg)
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _describe_location(data, tuple(err["loc"]))
        found = err.get("input")
        shown = "" if isinstance(found, (dict, list)) else f" (found {found!r})"
        msg = f"{source}: {where}: {err['msg']}{shown}"
        if len(exc.errors()) > 1:
            msg += f" [and {len(exc.errors()) - 1} more problem(s)]"
        raise ManifestError(msg) from None
    _check_consistency(manifest, source)
    return manifest


def _check_consistency(manifest: Manifest, source: str | Path) -> None:
    """Ids unique, parents known, one root, no cycles, vocabularies coherent."""
    seen: dict[str, int] = {}
    for i, rec in enumerate(manifest.structures):
        if rec.id in seen:
            msg = (f"{source}: structure {rec.id!r}, field 'id': duplicate id "
                   f"(structures[{seen[rec.id]}] and structures[{i}])")
            raise ManifestError(msg)
        seen[rec.id] = i
    roots = [rec.id for rec in manifest.structures if rec.parent is None]
    if roots != [ROOT_ID]:
        msg = f"{source}: exactly one root structure {ROOT_ID!r} must have parent null, found {roots}"
        raise ManifestError(msg)
    for rec in manifest.structures:
        if rec.parent is not None and rec.parent not in seen:
            msg = f"{source}: structure {rec.id!r}, field 'parent': unknown parent {rec.parent!r}"
            raise ManifestError(msg)
        if rec.mesh is not None and (rec.tissue is None or rec.layer is None or rec.risk is None):
            missing = [f for f in ("tissue", "layer", "risk") if getattr(rec, f) is None]
            msg = (f"{source}: structure {rec.id!r}, field {missing[0]!r}: "
                   "required for a structure with a mesh")
            raise ManifestError(msg)
    parents = {rec.id: rec.parent for rec in manifest.structures}
    for rec in manifest.structures:
        node, steps = rec.id, 0
        while node is not None:
            node = parents[node]
            steps += 1
            if steps > len(parents):
                msg = f"{source}: structure {rec.id!r}, field 'parent': the hierarchy has a cycle"
                raise ManifestError(msg)
    landmark_ids: set[str] = set()
    for lm in manifest.landmarks:
        if lm.id in landmark_ids:
            msg = f"{source}: landmark {lm.id!r}, field 'id': duplicate id"
            raise ManifestError(msg)
        landmark_ids.add(lm.id)
    terr = manifest.territories
    if terr.default not in terr.variants:
        msg = f"{source}: territories, field 'default': {terr.default!r} is not one of {list(terr.variants)}"
        raise ManifestError(msg)


def read_manifest(folder: str | Path) -> Manifest:
    """Read and validate ``folder/manifest.json``.

    Examples
    --------
    >>> from handatlas.format import read_manifest
    >>> manifest = read_manifest("meshes")  # doctest: +SKIP
    >>> manifest.structures[0].id  # doctest: +SKIP
    'hand'
    """
    path = Path(folder) / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{path}: no atlas manifest here"
        raise ManifestError(msg) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg})"
        raise ManifestError(msg) from None
    return parse_manifest(data, source=path)


def manifest_json(manifest: Manifest) -> str:
    """Serialise a manifest as stable, human-diffable JSON text."""
    return json.dumps(manifest.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n"


# ----------------------------------------------------------------------------- mesh files
def sha256_file(path: str | Path) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """Serialise arrays as an uncompressed ``.npz`` whose bytes depend only on the arrays."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    return buf.getvalue()


def write_atomic(path: str | Path, payload: bytes | str) -> None:
    """Write a file through a temporary sibling and an atomic rename, never half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def mesh_arrays(
    vertices: np.ndarray,
    faces: np.ndarray,
    *,
    centerline: np.ndarray | None = None,
    radii: np.ndarray | None = None,
    path_starts: np.ndarray | None = None,
    territories: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Arrays of one mesh file, in the dtypes of the format.

    Parameters
    ----------
    vertices : (n, 3) float
        Millimetres, hand frame.
    faces : (m, 3) int
        Triangles, counter-clockwise seen from outside.
    centerline : (k, 3) float, optional
        Centreline of a tube.
    radii : (k,) float, optional
        Radius at each centreline point.
    path_starts : (p,) int, optional
        Start index of each polyline in ``centerline`` (several paths, e.g. a venous network);
        default one path starting at 0.
    territories : mapping of variant -> (n,) int, optional
        Territory codes per vertex (skin only).
    """
    out = {
        "vertices": np.asarray(vertices, dtype=np.float32).reshape(-1, 3),
        "faces": np.asarray(faces, dtype=np.int32).reshape(-1, 3),
    }
    if (centerline is None) != (radii is None):
        msg = "a tube needs both centerline and radii"
        raise ValueError(msg)
    if centerline is not None and radii is not None:
        out["centerline"] = np.asarray(centerline, dtype=np.float32).reshape(-1, 3)
        out["radii"] = np.asarray(radii, dtype=np.float32).reshape(-1)
        if len(out["radii"]) != len(out["centerline"]):
            msg = "centerline and radii differ in length"
            raise ValueError(msg)
        starts = np.zeros(1, dtype=np.int32) if path_starts is None else np.asarray(path_starts, np.int32)
        if starts[0] != 0 or np.any(np.diff(starts) < 2) or starts[-1] > len(out["centerline"]) - 2:
            msg = f"path_starts {starts.tolist()} do not split {len(out['centerline'])} points into paths"
            raise ValueError(msg)
        out["path_starts"] = starts
    for variant, codes in (territories or {}).items():
        arr = np.asarray(codes, dtype=np.uint8).reshape(-1)
        if len(arr) != len(out["vertices"]):
            msg = f"territory variant {variant!r} has {len(arr)} labels for {len(out['vertices'])} vertices"
            raise ValueError(msg)
        out[f"territory_{variant}"] = arr
    return out


def read_mesh_file(path: str | Path, *, sha256: str | None = None) -> dict[str, np.ndarray]:
    """Load a mesh file, checking its sha256 when given.

    Raises
    ------
    ManifestError
        When the file is missing, corrupt, or its digest differs from ``sha256``.
    """
    path = Path(path)
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        msg = f"{path}: mesh file is missing"
        raise ManifestError(msg) from None
    if sha256 is not None:
        found = hashlib.sha256(payload).hexdigest()
        if found != sha256:
            msg = f"{path}: sha256 is {found}, the manifest expects {sha256} (file corrupted or changed)"
            raise ManifestError(msg)
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        msg = f"{path}: not a readable mesh file ({exc})"
        raise ManifestError(msg) from None
    for key in ("vertices", "faces"):
        if key not in arrays:
            msg = f"{path}: array {key!r} is missing"
            raise ManifestError(msg)
    faces = arrays["faces"]
    if faces.size and (faces.min() < 0 or faces.max() >= len(arrays["vertices"])):
        msg = f"{path}: array 'faces' indexes vertices outside 0..{len(arrays['vertices']) - 1}"
        raise ManifestError(msg)
    return arrays
