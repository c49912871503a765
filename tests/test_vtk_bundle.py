"""The part of vtk.js the web app ships (handatlas/ui/vtk-hand.js) matches what builds it and what
uses it: the pinned version, and every vtk.js class the scene reads.  (Rebuilding it needs npm and
the registry: ``npm ci && npm run build`` in handatlas/ui/vtkjs gives the same bytes.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

UI = Path(__file__).resolve().parent.parent / "handatlas" / "ui"
BUNDLE = UI / "vtk-hand.js"
SOURCE = UI / "vtkjs"


def test_the_bundle_is_the_pinned_vtk_js():
    pinned = json.loads((SOURCE / "package.json").read_text())["dependencies"]["@kitware/vtk.js"]
    lock = json.loads((SOURCE / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/@kitware/vtk.js"]
    first = BUNDLE.read_text(encoding="utf-8").splitlines()[0]
    assert locked["version"] == pinned
    assert f"@kitware/vtk.js {pinned} " in first, first
    assert f"@kitware/vtk.js {pinned}:" in (UI.parent.parent / "NOTICE").read_text(encoding="utf-8")


def test_every_class_the_scene_reads_is_bundled():
    scene = (UI / "scene.js").read_text(encoding="utf-8")
    used = set()
    for names, path in re.findall(r"const \{([^}]*)\} = vtk\.([\w.]+);", scene):
        used |= {f"{path}.{name.strip()}" for name in names.split(",")}
    used |= set(re.findall(r"vtk\.((?:\w+\.)+vtk\w+)", scene))
    assert "Rendering.Core.vtkActor" in used and "Rendering.Misc.vtkGenericRenderWindow" in used, used

    entry = (SOURCE / "entry.js").read_text(encoding="utf-8")
    published = entry[entry.index("window.handatlasVtk = {"):]
    imported = dict(re.findall(r"import (vtk\w+) from '@kitware/vtk\.js/([\w/]+)';", entry))
    for name in used:
        *path, cls = name.split(".")
        assert re.search(rf"{path[-1]}: \{{[^}}]*\b{cls}\b", published), name  # published under that path
        assert imported[cls].split("/")[:len(path)] == path, (name, imported[cls])  # from that module
    assert "window.handatlasVtk={" in BUNDLE.read_text(encoding="utf-8")
