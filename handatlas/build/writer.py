"""Write an atlas folder: one mesh file per structure and the manifest, validated first."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handatlas import format as fmt


@dataclass(frozen=True)
class MeshData:
    """Geometry of one structure, ready to be written.

    Attributes
    ----------
    vertices : (n, 3) float
        Millimetres, hand frame.
    faces : (m, 3) int
        Triangles wound counter-clockwise seen from outside.
    centerline : (k, 3) float, optional
        Tube centreline (nerves and vessels).
    radii : (k,) float, optional
        Tube radius at each centreline point.
    path_starts : (p,) int, optional
        Where each polyline of a multi-path tube (a venous network) starts in ``centerline``.
    territories : mapping of variant -> (n,) int
        Territory codes per vertex (skin only).
    """

    vertices: np.ndarray
    faces: np.ndarray
    centerline: np.ndarray | None = None
    radii: np.ndarray | None = None
    path_starts: np.ndarray | None = None
    territories: Mapping[str, np.ndarray] = field(default_factory=dict)


def write_atlas(
    folder: str | Path,
    *,
    info: Mapping[str, Any],
    records: Sequence[Mapping[str, Any]],
    meshes: Mapping[str, MeshData],
    landmarks: Sequence[Mapping[str, Any]] = (),
    territories: Mapping[str, Any] | None = None,
) -> fmt.Manifest:
    """Validate and write an atlas folder.

    Nothing is written unless the whole manifest validates; mesh files are written atomically,
    the manifest last, and mesh files of the folder that the new manifest does not name are
    removed.

    Parameters
    ----------
    folder
        Target folder (created if needed).
    info
        The ``atlas`` block of the manifest (name, version, frame, pose, sources, generator).
    records
        Structure rows without ``mesh``; their order is the manifest's order.
    meshes
        Geometry by structure id.
    landmarks
        Rows ``{"id", "point", "normal", "description"}``.
    territories
        The ``territories`` block (labels, variants, default, notes).

    Returns
    -------
    Manifest
        What was written.
    """
    folder = Path(folder)
    unknown = sorted(set(meshes) - {r["id"] for r in records})
    if unknown:
        msg = f"meshes given for structures without a record: {unknown}"
        raise ValueError(msg)
    payloads: dict[str, bytes] = {}
    rows: list[dict[str, Any]] = []
    for rec in records:
        row = dict(rec)
        data = meshes.get(rec["id"])
        if data is not None:
            arrays = fmt.mesh_arrays(
                data.vertices,
                data.faces,
                centerline=data.centerline,
                radii=data.radii,
                path_starts=data.path_starts,
                territories=data.territories,
            )
            name = f"{rec['id']}{fmt.MESH_SUFFIX}"
            payloads[name] = fmt.npz_bytes(arrays)
            row["mesh"] = {
                "file": name,
                "sha256": hashlib.sha256(payloads[name]).hexdigest(),
                "vertices": len(arrays["vertices"]),
                "faces": len(arrays["faces"]),
                "kind": "tube" if data.centerline is not None else "surface",
            }
        rows.append(row)
    document = {
        "format_version": fmt.FORMAT_VERSION,
        "atlas": dict(info),
        "structures": rows,
        "landmarks": [dict(lm) for lm in landmarks],
        "territories": dict(territories or {}),
    }
    manifest = fmt.parse_manifest(document, source=folder / fmt.MANIFEST_NAME)
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in payloads.items():
        target = folder / name
        if not target.exists() or target.read_bytes() != payload:
            fmt.write_atomic(target, payload)
    fmt.write_atomic(folder / fmt.MANIFEST_NAME, fmt.manifest_json(manifest))
    for stale in folder.glob(f"*{fmt.MESH_SUFFIX}"):
        if stale.name not in payloads:
            stale.unlink()
    return manifest
