"""Cold start of ``load_atlas()``, side by side with loading the same meshes from STL files.

Each measurement runs in a fresh interpreter (median of several runs): importing handatlas and
reading the manifest, then every mesh's arrays (sha256-checked), then every mesh as a
``trimesh.Trimesh``.  The baseline loads the same meshes, exported as STL, with
``trimesh.load(process=True)`` (what a naive app would do).  Imports are timed apart from
loading so that the ratio compares the loading itself.

Prints a table and ends with one JSON line.  Run: ``.venv/bin/python benchmarks/bench_load.py``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPEATS = 7

OURS = """
import time
t0 = time.perf_counter()
import handatlas
atlas = handatlas.load_atlas()
t1 = time.perf_counter()
for sid in atlas.with_geometry():
    atlas.arrays(sid)
t2 = time.perf_counter()
import trimesh
t3 = time.perf_counter()
for sid in atlas.with_geometry():
    atlas.mesh(sid)
t4 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3)
"""

STL = """
import sys, time
from pathlib import Path
t0 = time.perf_counter()
import trimesh
t1 = time.perf_counter()
for path in sorted(Path(sys.argv[1]).glob("*.stl")):
    trimesh.load(path, process=True)
print(t1 - t0, time.perf_counter() - t1)
"""


def run(code: str, *args: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.split()]


def median_runs(code: str, *args: str) -> list[float]:
    runs = [run(code, *args) for _ in range(REPEATS)]
    return [statistics.median(col) for col in zip(*runs, strict=True)]


def main() -> None:
    from handatlas import load_atlas

    atlas = load_atlas()
    triangles = sum(atlas.triangles(s) for s in atlas.with_geometry())
    start, arrays, trimesh_import, to_trimesh = median_runs(OURS)
    with tempfile.TemporaryDirectory() as tmp:
        for sid in atlas.with_geometry():
            atlas.mesh(sid).export(Path(tmp) / f"{sid}.stl")
        _, stl = median_runs(STL, tmp)
    ours = arrays + to_trimesh
    rows = [
        ("cold: import handatlas + load_atlas()", start),
        ("every mesh's arrays (sha256-checked)", arrays),
        ("import trimesh (once, when meshes are needed)", trimesh_import),
        ("every mesh as trimesh", to_trimesh),
        ("cold load_atlas() with every mesh's arrays", start + arrays),
        ("baseline: every mesh from STL (trimesh.load)", stl),
    ]
    print(f"atlas: {len(atlas.with_geometry())} meshes, {triangles:,} triangles; "
          f"median of {REPEATS} fresh interpreters")
    for name, seconds in rows:
        print(f"  {name:<48} {seconds * 1000:8.1f} ms")
    result = {
        "benchmark": "load",
        "meshes": len(atlas.with_geometry()),
        "triangles": triangles,
        "cold_load_atlas_s": round(start, 4),
        "cold_load_with_arrays_s": round(start + arrays, 4),
        "meshes_as_trimesh_s": round(ours, 4),
        "stl_meshes_s": round(stl, 4),
        "ratio_stl_over_ours": round(stl / ours, 1),
        "target_cold_load_s": 0.5,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
