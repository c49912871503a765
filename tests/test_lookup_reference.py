"""The compiled stress kernel against plain-numpy brute force on the shipped atlas's tubes."""

from __future__ import annotations

import numpy as np
import pytest

from handatlas.lookup.capsules import (
    distance_reference,
    stress_capsules,
    stress_reference,
    surface_distance,
    surface_distances,
)
from handatlas.lookup.index import lookup_index
from handatlas.lookup.model import flag_floor_kpa, pressure_kpa, reach_mm, tissue_strain

N_POINTS = 1000


@pytest.fixture(scope="module")
def presses(atlas):
    """1000 random skin points with their normals, a few with tilted axes, random forces and pads."""
    return random_presses(atlas)


def random_presses(atlas):
    """The presses of the ``presses`` fixture."""
    rng = np.random.default_rng(20261123)
    skin = atlas.skin
    faces = rng.integers(0, len(skin.faces), N_POINTS)
    bary = rng.dirichlet([1, 1, 1], N_POINTS)
    tri = skin.vertices[skin.faces[faces]]
    points = np.einsum("ij,ijk->ik", bary, tri)
    normals = np.einsum("ij,ijk->ik", bary, skin.vertex_normals[skin.faces[faces]])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    inward = -normals
    tilt = rng.normal(scale=0.3, size=inward.shape)
    tilted = rng.random(N_POINTS) < 0.2
    inward[tilted] += tilt[tilted]
    inward /= np.linalg.norm(inward, axis=1, keepdims=True)
    force = rng.choice([3.0, 15.0, 40.0], N_POINTS)
    pad = rng.choice([4.0, 8.0, 12.0], N_POINTS)
    return points, inward, force, pad


def one_press(index, point, direction, force, pad):
    """Everything the kernel needs for one press, as :func:`handatlas.lookup.press.evaluate` finds it."""
    p = pressure_kpa(force, pad)
    strain = float(tissue_strain(p))
    column = np.minimum(index.bones.first_hit(point[None], direction[None]), 30.0)
    sheets = index.sheet_depths(point[None], direction[None])
    reach = reach_mm(p, pad, strain, column)
    return p, strain, column, sheets, reach


def need(p):
    """The least load that could be flagged under pressure ``p``."""
    return flag_floor_kpa() / p


def test_fast_kernel_matches_brute_force(atlas, presses):
    index = lookup_index(atlas)
    caps = index.capsules
    points, inward, forces, pads = presses
    floor = flag_floor_kpa()
    compared = 0
    for i in range(N_POINTS):
        p, strain, column, sheets, reach = one_press(index, points[i], inward[i], forces[i], pads[i])
        fast = stress_capsules(caps, points[i : i + 1], inward[i : i + 1], pad_mm=pads[i], strain=strain,
                               columns=column, sheet_depth=sheets, sheet_factor=index.sheet_factor,
                               reach_mm=reach, need_load=need(p))
        rank, load, depth = stress_reference(caps, points[i], inward[i], pad_mm=pads[i], strain=strain,
                                             column_mm=float(column[0]), sheet_depth=sheets[0],
                                             sheet_factor=index.sheet_factor, reach_mm=float(reach[0]),
                                             need_load=need(p))
        # the pruning only skips what cannot matter: the critical points agree wherever a structure
        # is loaded enough to be flagged, and nothing the kernel leaves out could be
        matters = p * load > floor
        np.testing.assert_allclose(fast.rank[0][matters], rank[matters], rtol=1e-9, err_msg=f"press {i}")
        np.testing.assert_allclose(fast.load[0][matters], load[matters], rtol=1e-9, err_msg=f"press {i}")
        np.testing.assert_allclose(fast.depth[0][matters], depth[matters], atol=1e-9, err_msg=f"press {i}")
        assert (fast.rank[0] <= rank + 1e-12).all()
        assert not ((p * fast.load[0] > floor) & ~matters).any()
        compared += int(matters.sum())
    assert compared > 1000  # the comparison covered many structures, not just empty presses


def test_reach_leaves_out_nothing_that_could_be_flagged(atlas, presses):
    """Without the reach and the envelope test the brute force flags the same structures."""
    index = lookup_index(atlas)
    caps = index.capsules
    points, inward, forces, pads = presses
    for i in range(0, N_POINTS, 7):
        p, strain, column, sheets, reach = one_press(index, points[i], inward[i], forces[i], pads[i])
        kwargs = {"pad_mm": pads[i], "strain": strain, "column_mm": float(column[0]),
                  "sheet_depth": sheets[0], "sheet_factor": index.sheet_factor}
        _, within, _ = stress_reference(caps, points[i], inward[i], reach_mm=float(reach[0]),
                                        need_load=need(p), **kwargs)
        _, everything, _ = stress_reference(caps, points[i], inward[i], **kwargs)
        floor = flag_floor_kpa()
        np.testing.assert_array_equal(p * within > floor, p * everything > floor, err_msg=f"press {i}")


def test_two_samples_per_segment_are_enough(atlas, presses):
    """Sampling each ~1 mm segment densely changes the loads by little."""
    index = lookup_index(atlas)
    caps = index.capsules
    points, inward, forces, pads = presses
    for i in range(0, N_POINTS, 50):
        p, strain, column, sheets, _ = one_press(index, points[i], inward[i], forces[i], pads[i])
        kwargs = {"pad_mm": pads[i], "strain": strain, "column_mm": float(column[0]),
                  "sheet_depth": sheets[0], "sheet_factor": index.sheet_factor}
        _, two, _ = stress_reference(caps, points[i], inward[i], **kwargs)
        _, dense, _ = stress_reference(caps, points[i], inward[i], samples=9, **kwargs)
        assert (p * np.abs(dense - two) <= 0.05 * p * dense + 1.0).all(), f"press {i}"


def test_batch_equals_single_presses(atlas, presses):
    index = lookup_index(atlas)
    caps = index.capsules
    points, inward, _, _ = presses
    p, strain = pressure_kpa(40.0, 8.0), float(tissue_strain(pressure_kpa(40.0, 8.0)))
    columns = np.minimum(index.bones.first_hit(points, inward), 30.0)
    sheets = index.sheet_depths(points, inward)
    reach = reach_mm(p, 8.0, strain, columns)
    kwargs = {"pad_mm": 8.0, "strain": strain, "sheet_factor": index.sheet_factor}
    batch = stress_capsules(caps, points, inward, columns=columns, sheet_depth=sheets, reach_mm=reach,
                            need_load=need(p), **kwargs)
    for i in range(0, N_POINTS, 97):
        one = stress_capsules(caps, points[i : i + 1], inward[i : i + 1], columns=columns[i : i + 1],
                              sheet_depth=sheets[i : i + 1], reach_mm=reach[i : i + 1], need_load=need(p),
                              **kwargs)
        np.testing.assert_array_equal(batch.load[i], one.load[0])
        np.testing.assert_array_equal(batch.segment[i], one.segment[0])


def test_surface_distance(atlas, presses):
    caps = lookup_index(atlas).capsules
    points = presses[0]
    for i in range(0, N_POINTS, 101):
        every = distance_reference(caps, points[i])
        for k in range(0, len(caps.ids), 5):
            assert surface_distance(caps, points[i], k) == pytest.approx(every[k])
        ks = np.arange(len(caps.ids))
        np.testing.assert_allclose(surface_distances(caps, np.repeat(points[i][None], len(ks), 0), ks), every,
                                   rtol=1e-12, atol=1e-12)
