"""The compiled capsule kernels against plain-numpy brute force on the shipped atlas's tubes."""

from __future__ import annotations

import numpy as np
import pytest

from handatlas.lookup.capsules import depth_reference, distance_reference, press_capsules
from handatlas.lookup.index import lookup_index

N_POINTS = 1000


@pytest.fixture(scope="module")
def presses(atlas):
    """1000 random skin points with their normals, a few with tilted axes, and random grades."""
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
    depth_limit = rng.choice([4.0, 10.0, 20.0], N_POINTS)
    pad = rng.choice([4.0, 8.0, 12.0], N_POINTS)
    return points, inward, depth_limit, pad


def test_fast_kernel_matches_brute_force(atlas, presses):
    caps = lookup_index(atlas).capsules
    points, inward, limits, pads = presses
    compared = grazes = 0
    for i in range(N_POINTS):
        depth, distance, _ = press_capsules(caps, points[i : i + 1], inward[i : i + 1],
                                            pad_mm=pads[i], max_depth_mm=limits[i])
        ref_depth, grazed = depth_reference(caps, points[i], inward[i], pad_mm=pads[i], max_depth=limits[i])
        fast = depth[0] <= limits[i]
        slow = ref_depth <= limits[i]
        differ = fast != slow
        assert not (differ & ~grazed).any(), (
            f"press {i}: ids differ: fast {[caps.ids[k] for k in np.flatnonzero(fast)]}, "
            f"reference {[caps.ids[k] for k in np.flatnonzero(slow)]}")
        grazes += int((differ & grazed).sum())
        both = fast & slow
        np.testing.assert_allclose(depth[0][both], ref_depth[both], atol=0.05, err_msg=f"press {i}")
        ref_distance = distance_reference(caps, points[i])
        np.testing.assert_allclose(distance[0][fast], ref_distance[fast], atol=0.05, err_msg=f"press {i}")
        compared += int(both.sum())
    assert compared > 1000  # the comparison covered many structures, not just empty presses
    assert grazes <= 0.01 * compared


def test_batch_equals_single_presses(atlas, presses):
    caps = lookup_index(atlas).capsules
    points, inward, _, _ = presses
    batch_depth, _, batch_first = press_capsules(caps, points, inward, pad_mm=8.0, max_depth_mm=20.0)
    for i in range(0, N_POINTS, 97):
        depth, _, first = press_capsules(caps, points[i : i + 1], inward[i : i + 1], pad_mm=8.0,
                                         max_depth_mm=20.0)
        np.testing.assert_array_equal(batch_depth[i], depth[0])
        np.testing.assert_array_equal(batch_first[i], first[0])
