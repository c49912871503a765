"""The 3D hand in the browser: a Panel ``JSComponent`` over the part of vtk.js it uses.

Panel's own VTK pane sends only the camera back to Python, so this component draws the
display meshes (:mod:`handatlas.ui.display`) with vtk.js and, on a click (a press and release
within 4 px; a drag rotates), sends the *view ray* to Python.  Python intersects the ray with
the atlas's full-resolution meshes (:mod:`handatlas.ui.picking`): exact, fast, and Python has
the last word on what was hit.  Nothing is fetched from a CDN: vtk.js comes from this package,
``vtk-hand.js`` (the polygon rendering and trackball camera it uses, 0.5 MB, built from
``vtkjs/`` by ``npm ci && npm run build``; Panel's whole vtk.js bundle is 2.6 MB of script for
every page to parse); the meshes arrive as compressed static files, in parts
(:mod:`handatlas.ui.display`).

Everything the scene shows is a parameter: ``layers`` (visibility, opacity), ``highlight``
(structure colours that stand out while the rest fades), ``overlay`` (per-vertex skin
colours, e.g. the safety map), ``markers`` (spheres), ``path`` (a polyline), ``extra`` (one
anonymous mesh, e.g. the structure an identify question shows without naming it),
``view``/``focus`` (cameras).  The browser writes ``pick`` and ``ready``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import param
from panel.custom import JSComponent

from handatlas.render import VIEWS


def view_camera(name: str, *, zoom: float = 1.0, seq: int = 0) -> dict[str, object]:
    """The ``view`` parameter for a named view of :data:`handatlas.render.VIEWS`.

    ``seq`` makes a repeated choice of the same view a new value (so it re-applies).
    """
    direction, up = VIEWS[name]
    return {"name": name, "direction": list(direction), "up": list(up), "zoom": zoom, "seq": seq}


class HandScene(JSComponent):
    """The 3D hand (see the module docstring for what each parameter draws)."""

    meshes = param.Dict(default={}, doc="display.scene_payload(): the display meshes, in parts.")
    layers = param.Dict(default={}, doc="{structure id: {'visible': bool, 'opacity': 0-1}}")
    highlight = param.Dict(default={}, doc="{structure id: [r, g, b]} drawn in that colour, opaque.")
    fade = param.Boolean(default=True, doc="Fade the structures not highlighted.")
    overlay = param.Dict(default={}, doc="{'codes': uint8 per skin vertex, 'palette': [[r, g, b], ...]}")
    markers = param.List(default=[], doc="[{'xyz': [x, y, z], 'colour': [r, g, b], 'radius': mm}]")
    path = param.List(default=[], doc="A polyline [[x, y, z], ...] (the stroke being drawn).")
    extra = param.Dict(default={}, doc="One anonymous mesh {'points': [...], 'faces': [...], 'colour'}.")
    label = param.Dict(default={}, doc="A label pinned at a point: {'xyz', 'title', 'lines': [str]}.")
    view = param.Dict(default={}, doc="view_camera(...): a named camera.")
    focus = param.Dict(default={}, doc="{'bounds': [x0, x1, y0, y1, z0, z1], 'seq': n}: frame these bounds.")
    pick = param.Dict(
        default={}, doc="Written by the browser on a click: {'seq', 'ray': {origin, direction}}."
    )
    ready = param.Boolean(default=False, doc="Written by the browser once the meshes are drawn.")
    error = param.String(default="", doc="Written by the browser when the view cannot be built.")

    #: The part of vtk.js the scene uses (``window.handatlasVtk``), served by Panel next to this module.
    __javascript__: ClassVar[list[str]] = ["vtk-hand.js"]

    _esm = Path(__file__).with_name("scene.js")  # package data, read by Panel when a page opens
