"""Pressure queries, side by side with the naive baseline, in one run.

Baseline: what a first implementation would do, trimesh's ``closest_point`` against the mesh of
every structure that can be at risk (nerves, arteries, veins), per press point; it is timed on a
subsample and scaled.  Ours: the pressure model of :mod:`handatlas.lookup.model` (stresses
from the half-space table by compiled capsule-chain kernels with a reach prefilter, bone
shielding and pinning by Embree rays), which answers far more than distances.

Measured: (a) single press latency p50/p99 over random skin points (each point's median of
:data:`PASSES` passes; the p99 of the single shots too), the full report (at-risk structures, shielding,
stresses, layer stack, territory, explanation) at firm and at moderate pressure, and the core
query alone (``evaluate``, the batch path, for one press); (b) ``safety_map`` over every skin
vertex: the first map for a pad (nothing kept yet) and a map of another grade
with the same pad (what does not depend on the load kept, :mod:`handatlas.lookup.skinmap`), and
``press_many``;
(c) cold start: a fresh interpreter that imports handatlas, loads the atlas and answers one
press.  Prints a table and ends with one JSON line.
Run: ``.venv/bin/python benchmarks/bench_lookup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import trimesh

from handatlas import load_atlas
from handatlas.lookup.index import lookup_index
from handatlas.lookup.model import GRADE_FORCE_N
from handatlas.lookup.press import evaluate

SINGLE = 400
PASSES = 3
BASELINE_SAMPLE = 40

COLD = """
import time
t0 = time.perf_counter()
import handatlas
atlas = handatlas.load_atlas()
report = atlas.press("radial_pulse", grade="firm")
print(time.perf_counter() - t0)
"""


def percentiles(samples: np.ndarray | list[float]) -> tuple[float, float]:
    """p50 and p99 of ``samples``; of (passes, points) samples, over the points' medians."""
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = np.median(samples, axis=0)
    return float(np.percentile(samples, 50)), float(np.percentile(samples, 99))


def main() -> None:
    atlas = load_atlas()
    skin = atlas.skin
    index = lookup_index(atlas)
    risky = list(index.capsules.ids)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(skin.vertices), SINGLE, replace=False)
    points, normals = skin.vertices[picks], skin.vertex_normals[picks]

    atlas.press(points[0], grade="firm")  # warm up: build indexes, load compiled kernels
    atlas.press(points[1], grade="moderate")
    atlas.safety_map(grade="firm")
    atlas.press_many(skin.vertices[:100], skin.vertex_normals[:100], grade="moderate")

    # PASSES passes over the points; a point's latency is its median over the passes, so that the tail
    # is the points' own and not a hiccup of the machine (the single shots are kept too)
    full, moderate, core = (np.empty((PASSES, SINGLE)) for _ in range(3))
    for run in range(PASSES):
        for n, (p, d) in enumerate(zip(points, normals, strict=True)):
            t = time.perf_counter()
            atlas.press(p, grade="firm")
            full[run, n] = time.perf_counter() - t
            t = time.perf_counter()
            atlas.press(p, grade="moderate")
            moderate[run, n] = time.perf_counter() - t
            t = time.perf_counter()
            evaluate(index, p[None], -d[None], force_n=GRADE_FORCE_N["firm"], radius_mm=8.0)
            core[run, n] = time.perf_counter() - t

    meshes = [atlas.mesh(sid) for sid in risky]
    naive = []
    for p in points[:BASELINE_SAMPLE]:
        t = time.perf_counter()
        for mesh in meshes:
            trimesh.proximity.closest_point(mesh, p[None])
        naive.append(time.perf_counter() - t)

    index.__dict__.pop("_skin_presses", None)  # nothing kept: the first map for this pad
    t = time.perf_counter()
    atlas.safety_map(grade="firm")
    safety = time.perf_counter() - t
    t = time.perf_counter()
    atlas.safety_map(grade="moderate")
    safety_kept = time.perf_counter() - t
    t = time.perf_counter()
    atlas.press_many(skin.vertices, skin.vertex_normals, grade="moderate")
    batch = time.perf_counter() - t
    naive_batch = float(np.mean(naive)) * len(skin.vertices)

    cold = sorted(float(subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True,
                                       check=True).stdout) for _ in range(3))[1]

    full50, full99 = percentiles(full)
    moderate50, moderate99 = percentiles(moderate)
    core50, core99 = percentiles(core)
    naive50, naive99 = percentiles(naive)
    shots99 = float(np.percentile(full, 99)), float(np.percentile(moderate, 99))
    rows = [
        ("single press, full report, firm (p50 / p99)", f"{full50 * 1e3:.3f} / {full99 * 1e3:.3f} ms"),
        ("single press, full report, moderate (p50 / p99)",
         f"{moderate50 * 1e3:.3f} / {moderate99 * 1e3:.3f} ms"),
        ("single press, core query (p50 / p99)", f"{core50 * 1e3:.3f} / {core99 * 1e3:.3f} ms"),
        ("  p99 of the single shots, firm / moderate", f"{shots99[0] * 1e3:.3f} / {shots99[1] * 1e3:.3f} ms"),
        ("baseline single press (p50 / p99)", f"{naive50 * 1e3:.1f} / {naive99 * 1e3:.1f} ms"),
        (f"safety_map, {len(skin.vertices):,} skin vertices (firm, first for the pad)", f"{safety:.3f} s"),
        ("  per 100k skin points", f"{safety * 1e5 / len(skin.vertices):.3f} s"),
        ("safety_map, another grade, same pad (moderate)", f"{safety_kept:.3f} s"),
        ("  per 100k skin points", f"{safety_kept * 1e5 / len(skin.vertices):.3f} s"),
        ("press_many, every skin vertex (moderate)", f"{batch:.3f} s"),
        ("baseline over every skin vertex (scaled)", f"{naive_batch:.1f} s"),
        ("cold: import + load_atlas() + first press", f"{cold:.2f} s"),
        ("ratio to baseline: full report (p50)", f"{naive50 / full50:,.0f}x"),
        ("ratio to baseline: safety map, first / kept", f"{naive_batch / safety:,.0f}x / "
                                                        f"{naive_batch / safety_kept:,.0f}x"),
    ]
    print(f"atlas: {len(risky)} structures at risk as {len(index.capsules):,} capsules; "
          f"{len(skin.vertices):,} skin vertices; baseline on {BASELINE_SAMPLE} points, scaled")
    for name, value in rows:
        print(f"  {name:<60} {value:>22}")
    result = {
        "benchmark": "lookup",
        "single_press_full_p50_ms": round(full50 * 1e3, 3),
        "single_press_full_p99_ms": round(full99 * 1e3, 3),
        "single_press_moderate_p50_ms": round(moderate50 * 1e3, 3),
        "single_press_moderate_p99_ms": round(moderate99 * 1e3, 3),
        "single_press_core_p50_ms": round(core50 * 1e3, 4),
        "single_press_core_p99_ms": round(core99 * 1e3, 4),
        "single_shots_full_p99_ms": round(shots99[0] * 1e3, 3),
        "single_shots_moderate_p99_ms": round(shots99[1] * 1e3, 3),
        "baseline_single_p50_ms": round(naive50 * 1e3, 2),
        "safety_map_s": round(safety, 3),
        "safety_map_per_100k_s": round(safety * 1e5 / len(skin.vertices), 3),
        "safety_map_kept_s": round(safety_kept, 4),
        "safety_map_kept_per_100k_s": round(safety_kept * 1e5 / len(skin.vertices), 4),
        "press_many_s": round(batch, 3),
        "baseline_batch_s": round(naive_batch, 1),
        "cold_start_s": round(cold, 2),
        "ratio_single_core": round(naive50 / core50, 1),
        "ratio_single_full": round(naive50 / full50, 1),
        "ratio_batch": round(naive_batch / safety, 1),
        "ratio_batch_kept": round(naive_batch / safety_kept, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
