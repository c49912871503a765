"""Paths and tubes on analytic cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from handatlas.build.points import point_along
from handatlas.build.tubes import catmull_rom, interpolate_radii, push_inside, resample, sweep_tube


def test_curve_passes_through_control_points():
    ctrl = np.array([[0, 0, 0], [10, 5, 0], [20, 0, 3], [30, 10, 0.0]])
    curve = catmull_rom(ctrl, step=0.5)
    np.testing.assert_allclose(curve[0], ctrl[0])
    np.testing.assert_allclose(curve[-1], ctrl[-1])
    dist = np.linalg.norm(curve[:, None] - ctrl[None], axis=2).min(axis=0)
    assert dist.max() < 0.3
    steps = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    assert steps.max() < 0.55 and steps.min() > 0.4


def test_straight_tube_volume_and_closure():
    curve = resample(np.array([[0, 0, 0], [0, 50, 0.0]]), step=1.0)
    radii = interpolate_radii(2.0, len(curve))
    tube = sweep_tube(curve, radii, sides=48)
    assert tube.is_watertight and tube.is_winding_consistent and tube.volume > 0
    assert tube.volume == pytest.approx(np.pi * 4 * 50, rel=0.01)
    # every ring vertex lies at the radius from the axis
    ring = tube.vertices[:-2]
    np.testing.assert_allclose(np.hypot(ring[:, 0], ring[:, 2]), 2.0, atol=1e-9)


def test_tapered_radii():
    np.testing.assert_allclose(interpolate_radii([2.0, 1.0], 3), [2.0, 1.5, 1.0])
    np.testing.assert_allclose(interpolate_radii(0.7, 2), [0.7, 0.7])


def test_point_along():
    line = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0.0]])
    np.testing.assert_allclose(point_along(line, 0.25), [5, 0, 0])
    np.testing.assert_allclose(point_along(line, 0.75), [10, 5, 0])
    np.testing.assert_allclose(point_along(line, 1.0), [10, 10, 0])


def test_push_inside_box():
    skin = trimesh.creation.box(extents=(40, 40, 20)).subdivide_to_size(5.0)  # palmar face z = 10
    curve = np.array([[0, -5, 9.5], [0, 0, 5.0], [0, 5, 11.0]])
    radii = np.array([1.0, 1.0, 1.0])
    out = push_inside(curve, radii, skin, margin=1.0)
    np.testing.assert_allclose(out[1], curve[1])  # deep enough: unchanged
    assert out[0, 2] <= 10 - 2.0 + 1e-6 and out[2, 2] <= 10 - 2.0 + 1e-6
    np.testing.assert_allclose(out[[0, 2], :2], curve[[0, 2], :2], atol=1e-6)
