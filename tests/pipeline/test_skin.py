"""The skin: watertight, around every bone, capped, anatomically plausible, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("myo_sim")
pytest.importorskip("skimage")
pytest.importorskip("fast_simplification")

import trimesh
from scipy.spatial import cKDTree

from handatlas.build.skeleton import BONE_CUT_OFFSET_MM, PosedHand, pose_hand
from handatlas.build.skin import build_skin

pytestmark = [pytest.mark.build]

TARGET_FACES = 60000


@pytest.fixture(scope="module")
def hand() -> PosedHand:
    return pose_hand()


@pytest.fixture(scope="module")
def skin(hand: PosedHand) -> trimesh.Trimesh:
    return build_skin(hand, voxel_mm=1.0, target_faces=TARGET_FACES)


def _depth_along(skin: trimesh.Trimesh, point: np.ndarray, direction: np.ndarray) -> float:
    """Distance from an inside point to the skin along a direction."""
    hits, _, _ = skin.ray.intersects_location([point], [direction])
    return float(np.min((hits - point) @ direction))


def test_skin_is_one_closed_outward_surface(skin: trimesh.Trimesh) -> None:
    assert skin.is_watertight
    assert skin.is_winding_consistent
    assert skin.body_count == 1
    assert skin.volume > 300_000.0  # mm³: hand and 12 cm of forearm
    assert abs(len(skin.faces) - TARGET_FACES) <= 0.01 * TARGET_FACES
    assert skin.vertices.dtype == np.float64
    np.testing.assert_array_equal(skin.vertices, np.round(skin.vertices, 6))
    # outward: the normal at the most distal vertex points distally
    top = np.argmax(skin.vertices[:, 1])
    assert skin.vertex_normals[top][1] > 0.5


def test_every_bone_lies_inside_the_skin(hand: PosedHand, skin: trimesh.Trimesh) -> None:
    surface = trimesh.sample.sample_surface_even(skin, 150_000, seed=1)[0]
    tree = cKDTree(surface)
    for bone, mesh in hand.meshes.items():
        vertices = np.asarray(mesh.vertices)
        assert skin.contains(vertices[:: max(1, len(vertices) // 200)]).all(), bone
        near, _ = tree.query(vertices)
        close = vertices[near < 4.0]  # sampling gap << 2 mm: exact check only where it matters
        if len(close) == 0:
            continue
        depth = trimesh.proximity.signed_distance(skin, close)
        # the cut ends of the radius and ulna lie BONE_CUT_OFFSET_MM inside the cap
        cut = close[:, 1] < hand.cap_y + 1.5
        assert depth[~cut].min(initial=np.inf) >= 1.5, bone
        assert depth[cut].min(initial=np.inf) >= BONE_CUT_OFFSET_MM - 0.01, bone


def test_cap_is_a_flat_disc_at_cap_y(hand: PosedHand, skin: trimesh.Trimesh) -> None:
    assert skin.vertices[:, 1].min() == pytest.approx(hand.cap_y, abs=1e-6)
    facing_down = skin.face_normals[:, 1] < -0.999
    on_cap = np.abs(skin.triangles_center[:, 1] - hand.cap_y) < 1e-6
    assert (facing_down == on_cap).all()
    cap_area = skin.area_faces[on_cap].sum()
    assert 2000.0 < cap_area < 4000.0  # forearm section 12 cm above the wrist, mm²
    cap = skin.submesh([np.flatnonzero(on_cap)], append=True)
    assert cap.body_count == 1


def test_palmar_soft_tissue_is_thicker_than_dorsal(hand: PosedHand, skin: trimesh.Trimesh) -> None:
    for digit in (2, 3, 4):
        bone = f"metacarpal_{digit}"
        mesh = hand.meshes[bone]
        local = hand.to_local(bone, mesh.vertices)
        middle = 0.5 * (local[:, 1].min() + local[:, 1].max())
        centre = hand.to_hand(bone, [0.0, middle, 0.0])
        palmar_axis = hand.transforms[bone][:3, :3] @ np.array([0.0, 0.0, -1.0])
        palmar = _depth_along(skin, centre, palmar_axis)
        dorsal = _depth_along(skin, centre, -palmar_axis)
        assert palmar > dorsal + 5.0, bone


def test_radial_pulse_soft_tissue(hand: PosedHand, skin: trimesh.Trimesh) -> None:
    """Palmar soft tissue over the distal radius, 10-20 mm proximal to the styloid: 5-8 mm."""
    styloid_y = hand.cap_y + 120.0
    vertices = hand.meshes["radius"].vertices
    for offset in (10.0, 15.0, 20.0):
        band = vertices[np.abs(vertices[:, 1] - (styloid_y - offset)) < 1.5]
        radial = band[band[:, 0] > np.median(band[:, 0])]
        palmar_point = radial[np.argmax(radial[:, 2])]
        depth = _depth_along(skin, palmar_point, np.array([0.0, 0.0, 1.0]))
        assert 5.0 <= depth <= 8.0, offset


def test_skin_build_is_deterministic(hand: PosedHand, skin: trimesh.Trimesh) -> None:
    again = build_skin(hand, voxel_mm=1.0, target_faces=TARGET_FACES)
    np.testing.assert_array_equal(again.vertices, skin.vertices)
    np.testing.assert_array_equal(again.faces, skin.faces)


def _palmar_height(skin: trimesh.Trimesh, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Height (z) of the palmar skin over a grid, seen from the palmar side: (len(ys), len(xs))."""
    origins = np.array([[x, y, 300.0] for y in ys for x in xs])
    directions = np.tile([0.0, 0.0, -1.0], (len(origins), 1))
    hits, rays, _ = skin.ray.intersects_location(origins, directions, multiple_hits=False)
    height = np.full(len(origins), np.nan)
    height[rays] = hits[:, 2]
    return height.reshape(len(ys), len(xs))


def _surface_height(skin: trimesh.Trimesh, start: np.ndarray, direction: np.ndarray) -> float:
    direction = direction / np.linalg.norm(direction)
    return float((start + direction * _depth_along(skin, start, direction))[2])


def test_palm_is_gently_cupped(hand: PosedHand, skin: trimesh.Trimesh) -> None:
    """Thenar 6-14 mm and hypothenar -4-6 mm above the palm centre (as the landmarks probe them)."""
    up = np.array([0.0, 0.0, 1.0])
    centre = _surface_height(skin, hand.meshes["metacarpal_3"].vertices.mean(axis=0), up)
    thenar = _surface_height(skin, hand.meshes["metacarpal_1"].vertices.mean(axis=0), up)
    hypothenar = _surface_height(
        skin, hand.meshes["metacarpal_5"].vertices.mean(axis=0), np.array([-0.3, 0.0, 1.0])
    )
    assert 6.0 <= thenar - centre <= 14.0
    assert -4.0 <= hypothenar - centre <= 6.0
    # room for the aponeurosis, the superficial arch, the nerves and the flexor tendons
    shaft = hand.meshes["metacarpal_3"].vertices
    column = shaft[np.hypot(*(shaft[:, :2] - shaft.mean(axis=0)[:2]).T) < 3.0]
    assert centre - column[:, 2].max() >= 10.0


def test_palm_has_no_creases(skin: trimesh.Trimesh) -> None:
    """Over the central palm the skin bends gently: no crease or pit deeper than 3 mm over 8 mm."""
    xs = np.arange(-25.0, 15.5, 1.0)
    ys = np.arange(0.0, 55.5, 1.0)
    height = _palmar_height(skin, xs, ys)
    assert not np.isnan(height).any()
    step = 4
    across = height[:, : -2 * step] + height[:, 2 * step :] - 2.0 * height[:, step:-step]
    along = height[: -2 * step] + height[2 * step :] - 2.0 * height[step:-step]
    assert across.max() <= 3.0
    assert along.max() <= 3.0


def _web_levels(hand: PosedHand, skin: trimesh.Trimesh, digit: int) -> np.ndarray:
    """Whether the skin joins ``digit`` and ``digit + 1`` at fractions 0..1 of their proximal
    phalanges: a point midway between the two bone axes lies inside the skin."""
    from handatlas.build.digits import segment_frame

    first, second = (segment_frame(hand, d, "proximal_phalanx") for d in (digit, digit + 1))
    fractions = np.linspace(0.0, 1.0, 41)[:, None]
    middle = (first.proximal + second.proximal) / 2 + fractions * (
        first.distal - first.proximal + second.distal - second.proximal
    ) / 2
    return skin.contains(middle)


def test_fingers_are_separate_at_their_proximal_phalanges(hand: PosedHand, skin: trimesh.Trimesh) -> None:
    """Web commissures lie about a third of the way along the proximal phalanges: from each
    proximal phalanx's mid-shaft the skin is reached sideways within 12 mm, on its own finger."""
    from handatlas.build.digits import segment_frame

    shafts = {d: segment_frame(hand, d, "proximal_phalanx") for d in (2, 3, 4, 5)}
    for digit, frame in shafts.items():
        for side in (1.0, -1.0):
            direction = side * frame.radial
            depth = _depth_along(skin, frame.centre, direction)
            assert 3.0 <= depth <= 12.0, (digit, side, depth)
            exit_point = frame.centre + direction * depth
            gaps = {
                d: float(np.min(np.linalg.norm(hand.meshes[f.bone].vertices - exit_point, axis=1)))
                for d, f in shafts.items()
            }
            assert min(gaps, key=gaps.get) == digit, (digit, side, gaps)
    for digit in (2, 3, 4):
        joined = _web_levels(hand, skin, digit)
        assert joined[0], digit  # a web at the MCP joints ...
        margin = int(np.argmin(joined))
        first_free = margin / (len(joined) - 1)
        assert not joined[margin:].any(), digit  # ... with one free margin
        assert 0.15 <= first_free <= 0.45, (digit, first_free)  # about a third along the phalanges
