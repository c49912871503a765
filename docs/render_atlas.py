"""Pictures of the atlas for the README: ``python docs/render_atlas.py``.

Writes, off screen (pyvista through EGL), from the shipped atlas:

- ``hand_<view>.png``: the four named views, every layer under a translucent skin;
- ``wrist_palmar.png`` and ``wrist_dorsal.png``: close-ups of the wrist (the second edition's
  retinacula, hook of the hamate, Guyon's canal, FCR outside the tunnel, the snuffbox);
- ``wrist_section.png``: a transverse section through the carpal tunnel, every structure cut by
  the plane drawn in its colour, seen from distal;
- ``safety_map_<grade>.png``: the safety map of each grade (8 mm pad), palmar and dorsal.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np
import pyvista as pv

from handatlas import load_atlas, render

DOCS = Path(__file__).resolve().parent
GRADES = ("light", "moderate", "firm")
#: Wrist close-ups: name -> (view, focal point, parallel scale in mm).
CLOSE_UPS = {
    "wrist_palmar": ("palmar", (0.0, -8.0, 10.0), 38.0),
    "wrist_dorsal": ("dorsal", (0.0, -15.0, -10.0), 38.0),
}


def close_up(atlas, name: str) -> Path:
    """A wrist close-up: bones, retinacula, tendons, nerves, vessels under a faint skin."""
    view, focus, scale = CLOSE_UPS[name]
    layers = ["skeleton", "fascia", "tendon", "neurovascular", "skin"]
    plotter = render.scene(atlas, layers=layers, view=view, size=(1000, 900), skin_opacity=0.12)
    plotter.camera.focal_point = focus
    direction = np.asarray(render.VIEWS[view][0])
    plotter.camera.position = tuple(np.asarray(focus) + 400.0 * direction)
    plotter.camera.parallel_scale = scale
    plotter.add_text(f"{view} wrist", font_size=12, color="black")
    return render.save(plotter, DOCS / f"{name}.png")


def section(atlas, *, y: float) -> Path:
    """Every structure cut by the plane ``y`` (mm), seen from distal, in its colour."""
    plotter = pv.Plotter(off_screen=True, window_size=[1100, 900])
    plotter.set_background("white")
    for sid in atlas.with_geometry():
        cut = render.to_polydata(atlas, sid).slice(normal=(0.0, 1.0, 0.0), origin=(0.0, y, 0.0))
        if cut.n_points:
            width = 2 if sid == "skin" else 4
            plotter.add_mesh(cut, color=atlas.structures[sid].colour, line_width=width,
                             render_lines_as_tubes=False)
    plotter.view_vector((0.0, 1.0, 0.0), viewup=(0.0, 0.0, 1.0))
    plotter.enable_parallel_projection()
    plotter.reset_camera()
    plotter.camera.zoom(1.3)
    plotter.add_text(f"transverse section {y:.0f} mm (carpal tunnel), seen from distal; palmar up, "
                     "radial left", font_size=10, color="black")
    return render.save(plotter, DOCS / "wrist_section.png")


def main() -> int:
    pv.OFF_SCREEN = True
    atlas = load_atlas()
    written = []
    for view in render.VIEWS:
        written.append(render.render_view(atlas, DOCS / f"hand_{view}.png", view=view))
    written += [close_up(atlas, name) for name in CLOSE_UPS]
    tunnel_y = float(np.mean([atlas.landmark(i).point[1] for i in ("pisiform", "hook_of_hamate")]))
    written.append(section(atlas, y=tunnel_y))
    for grade in GRADES:
        codes = atlas.safety_map(grade=grade)
        plotter = render.safety_map_plotter(atlas, codes, title=f"{grade} pressure, thumb pad")
        written.append(render.save(plotter, DOCS / f"safety_map_{grade}.png"))
    print("\n".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
