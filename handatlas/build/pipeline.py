"""``handatlas build``: myo-sim bones + the anatomy specification -> ``meshes/``.

Deterministic: the same myo-sim (pinned 0.2.4) and the same code give the same files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from handatlas import __version__
from handatlas import format as fmt
from handatlas.build.environment import installed_versions
from handatlas.build.paths import build_tube
from handatlas.build.points import PointContext
from handatlas.build.relax import TUBE_KINDS, relax_built
from handatlas.build.solids import KINDS as SOLID_KINDS
from handatlas.build.solids import build_solid
from handatlas.build.spec import StructureSpec, load_spec
from handatlas.build.writer import MeshData, write_atlas

ATLAS_NAME = "handatlas right hand"
ATLAS_VERSION = "0.2.0"
POSE_NAME = "massage_palm_up"
FRAME = ("right hand, millimetres, posed palm up; origin the centroid of the capitate; "
         "+x radial, +y distal, +z palmar")
SOURCES = (
    "Bone meshes and body tree: myo-sim 0.2.4 (MyoSuite, Apache-2.0), derived from the MoBL-ARMS "
    "OpenSim model (Holzbaur et al. 2005, Ann Biomed Eng 33:829; Saul et al. 2015, Comput Methods "
    "Biomech Biomed Engin 18:1445)",
    "Soft tissue, territories and landmarks authored in handatlas/build from the literature "
    "listed in NOTICE",
)
SKIN_VOXEL_MM = 1.0
SKIN_FACES = 60_000


@dataclass
class BuildReport:
    """What a build wrote and how long each step took."""

    folder: Path
    structures: int = 0
    meshes: int = 0
    triangles: dict[str, int] = field(default_factory=dict)
    landmarks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    relax: str = ""

    def __str__(self) -> str:
        total = sum(self.triangles.values())
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        return (f"wrote {self.folder}: {self.structures} structures, {self.meshes} meshes, "
                f"{total:,} triangles, {self.landmarks} landmarks ({steps})"
                + (f"; {self.relax}" if self.relax else ""))


def source_meshes_dir() -> Path:
    """The ``meshes/`` folder of the source tree (the build's default output)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").exists():
        msg = "not running from a source checkout: pass an output folder (handatlas build --out DIR)"
        raise FileNotFoundError(msg)
    return root / "meshes"


def _mesh_data(mesh) -> MeshData:
    return MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces))


def build_atlas(out: str | Path | None = None, *, spec_dir: str | Path | None = None) -> BuildReport:
    """Build the atlas and write it to ``out`` (default: the source tree's ``meshes/``).

    Parameters
    ----------
    out
        Output folder.
    spec_dir
        Anatomy specification folder; default the packaged one.

    Returns
    -------
    BuildReport
    """
    from handatlas.build.landmarks import build_landmarks
    from handatlas.build.skeleton import pose_hand
    from handatlas.build.skin import build_skin
    from handatlas.build.territories import VARIANT_NOTES, VARIANTS, label_territories

    folder = Path(out) if out is not None else source_meshes_dir()
    report = BuildReport(folder)
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[step] = now - clock
        clock = now

    specs = load_spec(spec_dir)
    hand = pose_hand()
    lap("bones")
    skin = build_skin(hand, voxel_mm=SKIN_VOXEL_MM, target_faces=SKIN_FACES)
    lap("skin")
    territories = label_territories(hand, skin)
    landmarks = build_landmarks(hand, skin)
    lap("territories+landmarks")

    ctx = PointContext(
        hand,
        landmarks={lm["id"]: (np.array(lm["point"]), np.array(lm["normal"])) for lm in landmarks},
        skin=skin,
    )
    meshes: dict[str, MeshData] = {}
    # tubes first (in order: branches need their trunks), then push apart those that intersect,
    # then the solids, which carve around the final tube courses
    tubes = [s for s in specs if s.geometry.kind in TUBE_KINDS]
    for spec in tubes:
        meshes[spec.id] = _geometry(spec, hand=hand, skin=skin, territories=territories, ctx=ctx)
    lap("tubes")
    report.relax = str(relax_built(tubes, meshes, ctx, skin))
    lap("relax")
    for spec in specs:
        if spec.geometry.kind in TUBE_KINDS:
            continue
        data = _geometry(spec, hand=hand, skin=skin, territories=territories, ctx=ctx)
        if data is not None:
            meshes[spec.id] = data
    lap("soft tissue")
    info = {
        "name": ATLAS_NAME,
        "version": ATLAS_VERSION,
        "units": "mm",
        "frame": FRAME,
        "pose": POSE_NAME,
        "sources": list(SOURCES),
        "generator": f"handatlas {__version__}",
        "build_environment": installed_versions(),
    }
    manifest = write_atlas(
        folder,
        info=info,
        records=[s.record() for s in specs],
        meshes=meshes,
        landmarks=landmarks,
        territories={"labels": list(fmt.TERRITORY_LABELS), "variants": list(VARIANTS),
                     "default": VARIANTS[0], "notes": VARIANT_NOTES},
    )
    lap("write")
    report.structures = len(manifest.structures)
    report.meshes = len(meshes)
    report.triangles = {sid: len(m.faces) for sid, m in meshes.items()}
    report.landmarks = len(manifest.landmarks)
    return report


def _geometry(spec: StructureSpec, *, hand, skin, territories, ctx: PointContext) -> MeshData | None:
    """Build one structure's mesh according to its geometry kind (``None`` for groups)."""
    geometry = spec.geometry.model_dump()
    kind = geometry["kind"]
    if kind == "group":
        return None
    if kind == "bone":
        return _mesh_data(hand.meshes[spec.id])
    if kind == "skin":
        return MeshData(np.asarray(skin.vertices), np.asarray(skin.faces), territories=territories)
    if kind in ("tube", "tubes"):
        return build_tube(spec.id, geometry, ctx, skin=skin)
    if kind in SOLID_KINDS:
        return build_solid(spec.id, geometry, ctx, skin=skin)
    msg = f"structure {spec.id!r}: no builder for geometry kind {kind!r}"
    raise ValueError(msg)
