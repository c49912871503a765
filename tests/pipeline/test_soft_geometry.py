"""Muscle bellies, sheets and the skin clearance on analytic cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from handatlas.build.solids import (
    SkinDepth,
    carve,
    ellipse_sweep,
    grid_normals,
    largest_piece,
    pull_inside,
    simplify,
    slab,
    smooth_grid,
    surface_samples,
    unite,
)
from handatlas.build.tubes import resample


def _flat_grid(nx: int = 11, ny: int = 21, spacing: float = 1.0) -> np.ndarray:
    x, y = np.meshgrid(np.arange(nx) * spacing, np.arange(ny) * spacing, indexing="ij")
    return np.stack([x, y, np.zeros_like(x)], axis=-1)


def test_slab_thickness_and_volume():
    grid = _flat_grid()
    normals = grid_normals(grid, np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(normals[..., 2], 1.0)
    mesh = slab(grid, normals, outer=0.0, inner=1.2)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert mesh.volume == pytest.approx(10 * 20 * 1.2)
    assert mesh.bounds[0][2] == pytest.approx(-1.2) and mesh.bounds[1][2] == pytest.approx(0.0)


def test_slab_normals_follow_facing():
    grid = _flat_grid()
    down = grid_normals(grid, np.array([0.0, 0.0, -1.0]))
    np.testing.assert_allclose(down[..., 2], -1.0)
    mesh = slab(grid, down, outer=1.0, inner=0.0)  # "outer" lies on the facing side
    assert mesh.bounds[0][2] == pytest.approx(-1.0) and mesh.volume == pytest.approx(200.0)


def test_smooth_grid_passes_through_control_points():
    control = np.array([[[0, 0, 0], [10, 0, 0], [20, 0, 2]], [[0, 10, 1], [10, 10, 3], [20, 10, 1.0]]])
    grid = smooth_grid(control, step=1.0)
    np.testing.assert_allclose(grid[0, 0], control[0, 0])
    np.testing.assert_allclose(grid[-1, -1], control[-1, -1])
    assert grid.shape[0] >= 11 and grid.shape[1] >= 21


def test_swept_belly_volume_matches_the_ellipse():
    curve = resample(np.array([[0, 0, 0], [0, 40, 0.0]]), step=1.0)
    a, b, sides = 3.0, 1.5, 64
    mesh = ellipse_sweep(curve, np.full(len(curve), a), np.full(len(curve), b), np.array([0, 0, 1.0]),
                         sections=sides)
    assert mesh.is_watertight and mesh.is_winding_consistent
    polygon = 0.5 * sides * np.sin(2 * np.pi / sides)  # inscribed polygon of the unit circle
    assert mesh.volume == pytest.approx(polygon * a * b * 40, rel=1e-6)
    # the thickness axis is the facing direction: z extent 2b, x extent 2a
    np.testing.assert_allclose(mesh.extents[[0, 2]], [2 * a, 2 * b], atol=1e-9)


def test_spindle_belly_volume():
    curve = resample(np.array([[0, 0, 0], [0, 0, 30.0]]), step=0.25)
    s = np.linspace(0, 1, len(curve))
    scale = np.sin(np.pi * s) * 0.9 + 0.1
    mesh = ellipse_sweep(curve, 4 * scale, 2 * scale, np.array([1.0, 0, 0]), sections=96)
    expected = np.pi * 4 * 2 * np.trapezoid(scale**2, s * 30)
    assert mesh.volume == pytest.approx(expected, rel=0.005)


def test_surface_samples_cover_the_triangles():
    box = trimesh.creation.box(extents=(10, 10, 10))
    points, faces = surface_samples(np.asarray(box.triangles), 0.5)
    assert np.abs(np.abs(points).max(axis=1) - 5).max() < 1e-9  # all on the surface
    assert set(faces) == set(range(len(box.faces)))
    # every point of the surface lies within 0.5 mm of a sample
    probe = trimesh.sample.sample_surface_even(box, 500, seed=1)[0]
    gap = np.linalg.norm(probe[:, None] - points[None], axis=2).min(axis=1)
    assert gap.max() < 0.5


def test_skin_depth_in_a_box():
    skin = trimesh.creation.box(extents=(40, 40, 20))  # palmar face z = 10
    field = SkinDepth(skin, spacing=0.5)
    depth = field.depth(np.array([[0, 0, 9.0], [0, 0, 0.0], [15, 0, 0], [0, 0, 12.0]]))
    np.testing.assert_allclose(depth, [1.0, 10.0, 5.0, -2.0], atol=0.05)


def test_pull_inside_a_box():
    skin = trimesh.creation.box(extents=(40, 40, 20))
    field = SkinDepth(skin, spacing=0.5)
    points = np.array([[0, 0, 9.9], [0, 0, 11.0], [19.8, 0, 0], [0, 0, 5.0]])
    out = pull_inside(points, field, clearance=0.7)
    depth = 10 - np.abs(out[:, 2])
    assert out[0, 2] == pytest.approx(9.3, abs=0.05) and out[1, 2] == pytest.approx(9.3, abs=0.05)
    assert out[2, 0] == pytest.approx(19.3, abs=0.05)
    np.testing.assert_allclose(out[3], points[3])  # deep enough: unchanged
    assert (field.depth(out) >= 0.7 - 0.05).all() and depth.min() > 0


def test_carve_and_unite_keep_solids_closed():
    block = trimesh.creation.box(extents=(20, 10, 10))
    rod = trimesh.creation.cylinder(radius=2.0, height=30, sections=32)  # along z through the block
    cut = carve(block, [rod])
    assert cut.is_watertight and cut.volume == pytest.approx(2000 - rod.volume / 3, rel=0.01)
    other = trimesh.creation.box(extents=(20, 10, 10))
    other.apply_translation([10, 0, 0])
    joined = unite([block, other])
    assert joined.is_watertight and joined.volume == pytest.approx(3000, rel=1e-6)
    far = trimesh.creation.box(extents=(1, 1, 1))
    far.apply_translation([100, 0, 0])
    assert carve(block, [far]) is block


def test_a_wall_through_a_belly_leaves_its_larger_side():
    """A sheet cutting right through a block (as the interosseous membrane cuts a belly that
    spills past it) leaves two pieces; the belly keeps the larger."""
    block = trimesh.creation.box(extents=(20, 10, 10))
    wall = trimesh.creation.box(extents=(1, 12, 12))
    wall.apply_translation([5, 0, 0])  # 15 mm of block on one side, 4 mm on the other
    cut = carve(block, [wall])
    assert len(cut.split(only_watertight=False)) == 2
    kept = largest_piece(cut)
    assert kept.is_watertight and kept.volume == pytest.approx(15 * 10 * 10 - 0.5 * 100, rel=1e-6)
    assert largest_piece(block) is block


def test_simplify_keeps_a_closed_surface_within_its_tolerance():
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=10.0)
    light = simplify(sphere, 0.05)
    assert len(light.faces) < len(sphere.faces) / 2
    assert light.is_watertight and light.is_winding_consistent
    radius = np.linalg.norm(light.vertices, axis=1)
    assert np.abs(radius - 10.0).max() <= 0.05 + 1e-3
    assert light.volume == pytest.approx(sphere.volume, rel=0.01)
