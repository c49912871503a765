"""Pictures of the atlas with pyvista: the only module that turns meshes into VTK objects.

Off screen by default (``pyvista.OFF_SCREEN``); on a machine without a display VTK's EGL window
with Mesa's software renderer works (``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow``, set here
when no display is present).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from handatlas import format as fmt
from handatlas.outputs import atomic_output, check_output

#: The picture files a render is written as (what VTK's screenshot writers take: pyvista's list).
IMAGE_SUFFIXES = (".png", ".jpeg", ".jpg", ".bmp", ".tif", ".tiff")


def check_image_path(path: str | Path) -> None:
    """Refuse, before any work, an output path whose suffix is not a picture's.

    Raises
    ------
    ValueError
        Naming the path and the suffixes a picture may have.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        has = f"ends in '{suffix}'" if suffix else "has no suffix"
        raise ValueError(f"-o {path}: a picture's name ends in {', '.join(IMAGE_SUFFIXES)}; this one {has}")

if TYPE_CHECKING:
    import pyvista as pv

    from handatlas.atlas import Atlas

#: Named cameras: (direction from the focal point to the camera, view-up), hand frame.
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "palmar": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "dorsal": ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    "radial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "ulnar": ((-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
}
SKIN_OPACITY = 0.28


def _pyvista() -> pv:
    if not os.environ.get("DISPLAY") and "VTK_DEFAULT_OPENGL_WINDOW" not in os.environ:
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkEGLRenderWindow"
    import pyvista

    pyvista.OFF_SCREEN = True
    return pyvista


def resolve_layers(atlas: Atlas, layers: Iterable[str] | None) -> tuple[str, ...]:
    """Structure ids (with geometry) selected by layer names, group ids or structure names.

    Parameters
    ----------
    atlas
        The atlas.
    layers
        Each item is a layer of :data:`handatlas.format.LAYERS` (``"skeleton"``), a tissue
        (``"nerve"``) or any structure or group name (``"thenar group"``, ``"median nerve"``).
        ``None`` selects everything.

    Raises
    ------
    handatlas.atlas.UnknownNameError
        For a name that is none of these.
    """
    if layers is None:
        return atlas.with_geometry()
    chosen: list[str] = []
    for token in layers:
        key = token.strip().lower()
        if key in fmt.LAYERS:
            ids = [s.id for s in atlas if s.has_mesh and s.layer == key]
        elif key in fmt.TISSUES and key not in atlas:
            ids = [s.id for s in atlas if s.has_mesh and s.tissue == key]
        else:
            ids = list(atlas.with_geometry(token))
        chosen.extend(i for i in ids if i not in chosen)
    return tuple(chosen)


def to_polydata(atlas: Atlas, structure_id: str) -> pv.PolyData:
    """A structure's mesh as :class:`pyvista.PolyData`."""
    pyvista = _pyvista()
    arr = atlas.arrays(structure_id)
    faces = np.hstack([np.full((len(arr["faces"]), 1), 3, dtype=np.int64), arr["faces"]])
    return pyvista.PolyData(arr["vertices"].astype(np.float64), faces.ravel())


def scene(
    atlas: Atlas,
    *,
    layers: Sequence[str] | None = None,
    view: str = "palmar",
    size: tuple[int, int] = (900, 1100),
    skin_opacity: float | None = None,
    highlight: Iterable[str] = (),
) -> pv.Plotter:
    """A plotter showing the selected structures from a named view.

    Parameters
    ----------
    atlas
        The atlas.
    layers
        As in :func:`resolve_layers`; default everything.
    view
        One of :data:`VIEWS`.
    size
        Window size in pixels (width, height).
    skin_opacity
        Opacity of the skin; default opaque when the skin is alone, translucent otherwise.
    highlight
        Structure ids drawn in strong colour while the rest is faded.
    """
    _check_view(view)
    pyvista = _pyvista()
    ids = resolve_layers(atlas, layers)
    highlight = set(highlight)
    plotter = pyvista.Plotter(off_screen=True, window_size=list(size))
    plotter.set_background("white")
    others = [i for i in ids if i != fmt.SKIN_ID]
    for sid in others:
        s = atlas.structures[sid]
        faded = bool(highlight) and sid not in highlight
        plotter.add_mesh(
            to_polydata(atlas, sid),
            color="#d0d0d0" if faded else s.colour,
            opacity=0.25 if faded else 1.0,
            smooth_shading=True,
            specular=0.2,
            name=sid,
        )
    if fmt.SKIN_ID in ids:
        opacity = skin_opacity if skin_opacity is not None else (SKIN_OPACITY if others else 1.0)
        plotter.add_mesh(
            to_polydata(atlas, fmt.SKIN_ID),
            color=atlas.structures[fmt.SKIN_ID].colour,
            opacity=opacity,
            smooth_shading=True,
            specular=0.1,
            name=fmt.SKIN_ID,
        )
    _point_camera(plotter, view, zoom=1.15)
    return plotter


def _check_view(view: str) -> None:
    if view not in VIEWS:
        msg = f"unknown view {view!r}; choose one of {', '.join(VIEWS)}"
        raise ValueError(msg)


def _point_camera(plotter: pv.Plotter, view: str, *, zoom: float) -> None:
    """Look at the whole scene from a named view, without perspective."""
    direction, up = VIEWS[view]
    plotter.view_vector(direction, viewup=up)
    plotter.enable_parallel_projection()
    plotter.reset_camera()
    plotter.camera.zoom(zoom)


#: Colours of the verdicts on a safety map: safe, caution, avoid.
VERDICT_COLOURS = ("#4caf50", "#ffb300", "#e53935")


def safety_map_plotter(
    atlas: Atlas,
    codes: np.ndarray,
    *,
    views: Sequence[str] = ("palmar", "dorsal"),
    size: tuple[int, int] = (1400, 1000),
    title: str = "",
) -> pv.Plotter:
    """The skin coloured by verdict code per vertex, one panel per view."""
    for view in views:
        _check_view(view)
    pyvista = _pyvista()
    skin = to_polydata(atlas, fmt.SKIN_ID)
    skin.point_data["verdict"] = np.asarray(codes, dtype=float)
    plotter = pyvista.Plotter(off_screen=True, window_size=list(size), shape=(1, len(views)))
    for i, view in enumerate(views):
        plotter.subplot(0, i)
        plotter.set_background("white")
        plotter.add_mesh(skin.copy(), scalars="verdict", cmap=list(VERDICT_COLOURS), clim=[-0.5, 2.5],
                         n_colors=3, show_scalar_bar=False, smooth_shading=True,
                         interpolate_before_map=False)
        plotter.add_text(f"{title} — {view}" if title else view, font_size=12, color="black")
        _point_camera(plotter, view, zoom=1.2)
    return plotter


def save(plotter: pv.Plotter, path: str | Path) -> Path:
    """Write a plotter's picture to a PNG file atomically (:mod:`handatlas.outputs`) and close it.

    Raises
    ------
    handatlas.outputs.OutputError
        When ``path`` is not a writable regular file (checked before rendering).
    """
    try:
        with atomic_output(path) as temporary:
            plotter.screenshot(str(temporary))
    finally:
        plotter.close()
    return check_output(path)


def render_view(
    atlas: Atlas,
    path: str | Path,
    *,
    view: str = "palmar",
    layers: Sequence[str] | None = None,
    size: tuple[int, int] = (900, 1100),
    skin_opacity: float | None = None,
) -> Path:
    """Render a named view to a PNG file and return its path.

    Examples
    --------
    >>> render_view(load_atlas(), "palmar.png", view="palmar", layers=["skeleton", "skin"])  # doctest: +SKIP
    """
    return save(scene(atlas, layers=layers, view=view, size=size, skin_opacity=skin_opacity), path)
