"""The relaxation that pushes intersecting tubes apart, on analytic cases."""

from __future__ import annotations

import numpy as np

from handatlas.build.relax import GAP_MM, QUANTUM_MM, Tube, measure, relax


def line(start, end, step=1.0):
    start, end = np.asarray(start, float), np.asarray(end, float)
    n = int(np.ceil(np.linalg.norm(end - start) / step)) + 1
    return start + np.linspace(0.0, 1.0, n)[:, None] * (end - start)


def test_crossing_tubes_end_up_separated_by_their_radii():
    a = Tube("a", [line([-20, 0, 0], [20, 0, 0])], [np.full(41, 1.5)], tissue="tendon")
    b = Tube("b", [line([0, -20, 0.5], [0, 20, 0.5])], [np.full(41, 1.0)], tissue="nerve")
    assert measure([a, b])
    report = relax([a, b])
    assert report.pairs_before == 1 and report.pairs_after == 0
    gap = np.linalg.norm(a.paths[0][:, None] - b.paths[0][None], axis=2).min()
    assert gap >= 1.5 + 1.0 + GAP_MM - 0.1
    # the nerve (stiffer per unit area, but thinner) and the tendon share the move; the order
    # of the layers is kept: b stays palmar (+z) of a
    assert b.paths[0][20, 2] > a.paths[0][20, 2]


def test_relaxation_is_deterministic():
    def tubes():
        b = line([0, -20, 0.3], [0, 20, -0.2])
        return [Tube("a", [line([-20, 0, 0], [20, 0, 0])], [np.full(41, 1.5)]),
                Tube("b", [b], [np.full(len(b), 1.0)])]
    first, second = tubes(), tubes()
    relax(first)
    relax(second)
    for x, y in zip(first, second, strict=True):
        np.testing.assert_array_equal(x.paths[0], y.paths[0])


def test_branch_point_is_left_alone():
    trunk = Tube("trunk", [line([0, -30, 0], [0, 30, 0])], [np.full(61, 1.5)])
    branch_line = line([0, 0, 0], [20, 20, 0])
    branch = Tube("branch", [branch_line], [np.full(len(branch_line), 0.7)], joins="trunk")
    relax([trunk, branch])
    np.testing.assert_allclose(branch.paths[0][0], [0, 0, 0])  # still on the trunk
    np.testing.assert_allclose(trunk.paths[0][30], [0, 0, 0])
    assert not measure([trunk, branch])


def test_insertion_stays_put():
    tendon = Tube("tendon", [line([-20, 0, 0], [0, 0, 0])], [np.full(21, 1.5)], tissue="tendon",
                  insertion=True)
    nerve = Tube("nerve", [line([-10, -10, 0.2], [-10, 10, 0.2])], [np.full(21, 1.0)])
    relax([tendon, nerve])
    np.testing.assert_allclose(tendon.paths[0][-1], [0, 0, 0])
    assert not measure([tendon, nerve])


def test_constraint_is_applied():
    a = Tube("a", [line([-20, 0, 0], [20, 0, 0])], [np.full(41, 1.5)])
    b = Tube("b", [line([0, -20, 0.5], [0, 20, 0.5])], [np.full(41, 1.0)])

    def floor(points, radii, margins, travel):  # nothing may go below z = -1
        out = points.copy()
        out[:, 2] = np.maximum(out[:, 2], -1.0)
        return out

    relax([a, b], constrain=floor)
    assert a.paths[0][:, 2].min() >= -1.0 and b.paths[0][:, 2].min() >= -1.0


def test_floating_point_noise_in_the_input_is_rounded_away():
    # the relaxation is chaotic (a nearest sample switches, a point is or is not pushed): without
    # rounding, 1e-7 mm in the input moved the atlas's tendons by up to 1 mm.  Noise far below
    # the rounding quantum (another CPU's last bits) must leave the output unchanged.
    def tubes(noise):
        rng = np.random.default_rng(7)
        crossing = [line([-20, 0, 0], [20, 0, 0]), line([0, -20, 0.3], [0, 20, -0.2]),
                    line([-15, -15, 0.1], [15, 15, 0.4])]
        return [Tube(name, [p + rng.normal(scale=noise, size=p.shape) if noise else p],
                     [np.full(len(p), r)], tissue=tissue)
                for name, p, r, tissue in zip("abc", crossing, (1.5, 1.0, 0.8), ("tendon", "nerve", "vein"),
                                              strict=True)]

    def wall(points, radii, margins, travel):  # a constraint with a discontinuity: snap to z <= 1.2
        out = points.copy()
        out[:, 2] = np.minimum(out[:, 2], 1.2)
        return out

    clean, noisy = tubes(0.0), tubes(1e-11)
    relax(clean, constrain=wall)
    relax(noisy, constrain=wall)
    for x, y in zip(clean, noisy, strict=True):
        np.testing.assert_array_equal(x.paths[0], y.paths[0])
    assert all(np.allclose(p, np.round(p / QUANTUM_MM) * QUANTUM_MM, atol=1e-9, rtol=0)
               for t in clean for p in t.paths)
