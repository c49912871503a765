"""Off-screen pictures: actors and colours first, then pixels."""

from __future__ import annotations

import numpy as np
import pytest

from handatlas.render import resolve_layers, scene

pv = pytest.importorskip("pyvista")


def test_resolve_layers(fixture_atlas):
    assert resolve_layers(fixture_atlas, ["skeleton"]) == ("capitate", "hamate")
    assert resolve_layers(fixture_atlas, ["nerve", "skin"]) == ("median_nerve", "skin")
    assert resolve_layers(fixture_atlas, ["arteries"]) == ("radial_artery", "ulnar_artery")
    assert set(resolve_layers(fixture_atlas, None)) == set(fixture_atlas.with_geometry())


def test_scene_actors_and_colours(fixture_atlas):
    plotter = scene(fixture_atlas, layers=["skeleton", "nerve", "skin"], view="palmar")
    try:
        assert set(plotter.actors) == {"capitate", "hamate", "median_nerve", "skin"}
        skin = plotter.actors["skin"].prop
        assert skin.opacity == pytest.approx(0.28)
        assert pv.Color(plotter.actors["median_nerve"].prop.color).hex_rgb == "#f2d43a"
        assert np.allclose(plotter.camera.direction, (0, 0, -1), atol=1e-6)
    finally:
        plotter.close()


def test_unknown_view(fixture_atlas):
    with pytest.raises(ValueError, match="unknown view 'top'"):
        scene(fixture_atlas, view="top")


@pytest.mark.parametrize("view", ["palmar", "radial"])
def test_render_png_shows_the_model(fixture_atlas, tmp_path, view):
    from PIL import Image

    from handatlas.render import render_view

    path = render_view(fixture_atlas, tmp_path / f"{view}.png", view=view, size=(300, 400))
    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert img.shape == (400, 300, 3)
    not_white = (np.abs(img - 255).sum(axis=2) > 30).mean()
    assert 0.05 < not_white < 0.9
    # the nerve's yellow shows through the translucent skin
    yellowish = (img[..., 0] > 150) & (img[..., 1] > 120) & (img[..., 2] < 110)
    assert yellowish.sum() > 50
