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


class _Recorder:
    """A stand-in for PointContext that records the point specs a digit course asks for."""

    hand = None

    def __init__(self) -> None:
        self.specs: list[dict] = []

    def point(self, spec):
        self.specs.append(dict(spec))
        return np.zeros(3)


def test_digit_course_default_stations_beside_the_phalanges():
    from handatlas.build.paths import digit_course

    ctx = _Recorder()
    points = digit_course(ctx, {"digit": "index", "side": "ulnar", "lateral": 4.0, "palmar": 3.0})
    assert len(points) == 6  # proximal 2, middle 1, distal 3
    assert [s["at"] for s in ctx.specs][:3] == [
        "proximal_phalanx_2.shaft(0.15)", "proximal_phalanx_2.shaft(0.6)", "middle_phalanx_2.shaft(0.5)"]
    assert ctx.specs[0]["local"] == [-4.0, 0.0, 3.0]  # ulnar side: minus the radial axis
    assert "toward" not in ctx.specs[0]


def test_digit_course_stations_and_depth_under_the_skin(monkeypatch):
    from handatlas.build import paths
    from handatlas.build.digits import SegmentFrame

    frame = SegmentFrame("x", np.zeros(3), np.array([0.0, 10.0, 0.0]), np.zeros(3), np.array([0.0, 1.0, 0.0]),
                         np.array([0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0]))
    monkeypatch.setattr(paths, "segment_frame", lambda hand, digit, segment: frame)
    ctx = _Recorder()
    item = {"digit": "little", "side": "ulnar", "lateral": 1.0, "palmar": -1.0, "depth": 2.0,
            "stations": {"proximal_phalanx": [0.2, 0.9], "metacarpal": [0.5]}}
    assert len(paths.digit_course(ctx, item)) == 3
    assert [s["at"] for s in ctx.specs] == ["metacarpal_5.shaft(0.5)", "proximal_phalanx_5.shaft(0.2)",
                                            "proximal_phalanx_5.shaft(0.9)"]  # proximal to distal
    np.testing.assert_allclose(ctx.specs[0]["toward"], np.array([-1.0, 0.0, -1.0]) / np.sqrt(2))  # dorsoulnar
    assert all(s["depth"] == 2.0 and "local" not in s for s in ctx.specs)


@pytest.mark.parametrize(("stations", "message"), [
    ({"middle_phalanx": [0.5]}, "unknown segment"),  # the thumb has none
    ({"proximal_phalanx": [1.2]}, "must lie in 0..1"),
    ([0.5], "must map segments"),
])
def test_digit_course_refuses_bad_stations(stations, message):
    from handatlas.build.paths import digit_course
    from handatlas.build.points import PointError

    item = {"digit": "thumb", "side": "radial", "lateral": 1.0, "palmar": -1.0, "stations": stations}
    with pytest.raises(PointError, match=message):
        digit_course(_Recorder(), item)
