"""Off-screen pictures of export items, rendered once per picture and cached.

Built on :func:`handatlas.render.scene`, built once per export and restyled per picture (building
the scene takes about a second, restyling and rendering about a tenth); a point (a landmark, a
press, a territory point) is drawn as a small sphere added to the scene's plotter here, so the
renderer needs no hook.

Framing
-------
The camera looks from the picture's view at its target (the highlighted structures, or the
marker), framing the target's bounding box widened to at least :data:`FIELD_MM` across, so that
the place stays recognisable while a small target is large enough to see.  Framed on the whole
hand (before), the 4.5 mm marker of a landmark covered about 100 pixels of a 480 x 600 picture and
a thin nerve branch a few hundred; framed on its place at :data:`SIZE`, several thousand
(``tests/test_quiz_export.py`` measures it).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from handatlas import format as fmt
from handatlas.quiz.export.items import Picture
from handatlas.render import SKIN_OPACITY

if TYPE_CHECKING:
    from handatlas.atlas import Atlas

#: Picture size (width, height) in pixels.
SIZE = (640, 800)
#: The camera frames at least this much (mm) around a picture's target (see the module doc).
FIELD_MM = 60.0
#: Colour of the marker sphere.
MARKER_COLOUR = "#1e63d6"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Structures that are not highlighted: pale and faint, so that a thin target shows through.
FADED_COLOUR = "#d0d0d0"
FADED_OPACITY = 0.15
#: The highlighted target (the app's magenta), whatever its atlas colour: a pale yellow nerve
#: among faded grey structures was hard to find.
HIGHLIGHT_COLOUR = "#e0199b"
#: As :func:`handatlas.render.scene` zooms.
ZOOM = 1.15


class PictureError(RuntimeError):
    """A picture could not be rendered (no OpenGL, for instance)."""


class SceneRenderer:
    """One off-screen scene of the whole atlas, restyled per picture (fast: meshes are built once).

    The first picture builds :func:`handatlas.render.scene`; each picture then only changes
    which structures are visible, their colour and opacity (as ``scene(layers=..., highlight=...)``
    would draw them), the marker sphere and the camera.
    """

    def __init__(self, atlas: Atlas, *, size: tuple[int, int] = SIZE) -> None:
        self.atlas = atlas
        self.size = size
        self._plotter = None
        self._actors: dict = {}

    def _scene(self):
        from handatlas.render import scene

        if self._plotter is None:
            self._plotter = scene(self.atlas, size=self.size, skin_opacity=SKIN_OPACITY)
            self._actors = dict(self._plotter.actors)
        return self._plotter

    def _style(self, plotter, picture: Picture) -> None:
        from handatlas.render import resolve_layers

        shown = set(resolve_layers(self.atlas, list(picture.layers) if picture.layers else None))
        highlight = set(picture.highlight)
        others = [i for i in shown if i != fmt.SKIN_ID]
        for sid in self.atlas.with_geometry():
            actor = self._actors[sid]
            actor.visibility = sid in shown
            if sid == fmt.SKIN_ID:
                default = SKIN_OPACITY if others else 1.0
                actor.prop.opacity = default if picture.skin_opacity is None else picture.skin_opacity
                continue
            faded = bool(highlight) and sid not in highlight
            colour = HIGHLIGHT_COLOUR if sid in highlight else self.atlas.structures[sid].colour
            actor.prop.color = FADED_COLOUR if faded else colour
            actor.prop.opacity = FADED_OPACITY if faded else 1.0

    def _marker(self, plotter, picture: Picture) -> None:
        import pyvista

        plotter.remove_actor("marker", render=False)
        if picture.marker is not None:
            sphere = pyvista.Sphere(radius=picture.marker_radius, center=picture.marker)
            plotter.add_mesh(sphere, color=MARKER_COLOUR, smooth_shading=True, name="marker", render=False)

    def target_bounds(self, picture: Picture) -> tuple[float, ...] | None:
        """The box the camera frames: the target's bounds widened to :data:`FIELD_MM` (None: the
        whole scene, for a picture without a target)."""
        import numpy as np

        if picture.marker is not None:
            centre = np.asarray(picture.marker, dtype=float)
            low, high = centre - picture.marker_radius, centre + picture.marker_radius
        elif picture.highlight:
            boxes = np.array([self.atlas.mesh(sid).bounds for sid in picture.highlight
                              if sid in self._actors])
            if not len(boxes):
                return None
            low, high = boxes[:, 0].min(axis=0), boxes[:, 1].max(axis=0)
        else:
            return None
        centre, half = (low + high) / 2, np.maximum((high - low) / 2, FIELD_MM / 2)
        return tuple(float(v) for pair in zip(centre - half, centre + half, strict=True) for v in pair)

    def frame(self, plotter, picture: Picture) -> None:
        """Point the camera (see the module doc)."""
        from handatlas.render import VIEWS

        direction, up = VIEWS[picture.view]
        plotter.view_vector(direction, viewup=up, render=False)
        bounds = self.target_bounds(picture)
        if bounds is None:
            plotter.reset_camera(render=False)
            plotter.camera.zoom(ZOOM)
        else:
            plotter.reset_camera(render=False, bounds=bounds)

    def png(self, picture: Picture) -> bytes:
        """Render one picture and return the PNG bytes."""
        plotter = self._scene()
        self._style(plotter, picture)
        self._marker(plotter, picture)
        self.frame(plotter, picture)
        with tempfile.TemporaryDirectory(prefix="handatlas-picture-") as tmp:
            path = Path(tmp) / "picture.png"
            plotter.screenshot(str(path))
            return path.read_bytes()

    def close(self) -> None:
        """Free the scene."""
        if self._plotter is not None:
            self._plotter.close()
            self._plotter = None


def render_png(renderer: SceneRenderer, picture: Picture) -> bytes:
    """Render one picture with ``renderer``; VTK failures become :class:`PictureError`.

    Raises
    ------
    PictureError
        When VTK cannot render or writes something that is not a PNG.
    """
    try:
        data = renderer.png(picture)
    except (RuntimeError, OSError) as exc:
        msg = f"cannot render a picture ({exc}); export with --no-pictures"
        raise PictureError(msg) from None
    if not data.startswith(PNG_SIGNATURE):
        msg = "the renderer wrote something that is not a PNG; export with --no-pictures"
        raise PictureError(msg)
    return data


class PictureCache:
    """PNG bytes per (atlas folder, picture, size): a picture is rendered once per process."""

    def __init__(self) -> None:
        self._png: dict[tuple[str, Picture, tuple[int, int]], bytes] = {}
        self._renderers: dict[tuple[str, tuple[int, int]], SceneRenderer] = {}
        self.rendered = 0

    def png(self, atlas: Atlas, picture: Picture, *, size: tuple[int, int] = SIZE) -> bytes:
        """The picture's PNG, rendered on first use."""
        key = (str(atlas.folder), picture, size)
        if key not in self._png:
            renderer = self._renderers.setdefault((str(atlas.folder), size), SceneRenderer(atlas, size=size))
            self._png[key] = render_png(renderer, picture)
            self.rendered += 1
        return self._png[key]

    def release(self) -> None:
        """Close the scenes (the rendered PNGs stay cached)."""
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()


#: The cache used when a caller brings none.
DEFAULT_CACHE = PictureCache()
