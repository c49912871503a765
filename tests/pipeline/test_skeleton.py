"""The myo-sim skeleton, forward kinematics, the hand frame and the repaired bones."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("myo_sim")
pytest.importorskip("skimage")
pytest.importorskip("fast_simplification")

from handatlas.build import bones, skeleton
from handatlas.build.skeleton import BONE_BODIES, MASSAGE_POSE, pose_hand

pytestmark = [pytest.mark.build]

#: Volume of the raw radius and ulna by generalised winding number on a 1 mm grid (the raw
#: meshes are open and overlap, so their signed volume means nothing).
RAW_WINDING_VOLUME_MM3 = {"radius": 36_450.0, "ulna": 39_574.0}


@pytest.fixture(scope="module")
def hand() -> skeleton.PosedHand:
    return pose_hand()


@pytest.fixture(scope="module")
def records() -> dict[str, bones.RepairRecord]:
    return bones.repair_records(skeleton.load_skeleton().bone_mesh_files())


def test_the_chain_has_29_bones_with_meshes() -> None:
    parsed = skeleton.load_skeleton()
    assert len(parsed.bodies) == 29
    assert sorted(BONE_BODIES.values()) == sorted(parsed.bodies)
    assert len(BONE_BODIES) == 29
    assert not any(bone.startswith("middle_phalanx_1") for bone in BONE_BODIES)
    assert all(path.is_file() for path in parsed.bone_mesh_files().values())


def test_capitate_centroid_is_the_origin(hand: skeleton.PosedHand) -> None:
    np.testing.assert_allclose(hand.meshes["capitate"].center_mass, 0.0, atol=1e-6)


def test_axes_point_radial_distal_palmar(hand: skeleton.PosedHand) -> None:
    assert hand.sites["THtip_r"][0] > 30.0
    assert hand.sites["MFtip_r"][1] > 80.0
    assert hand.meshes["pisiform"].center_mass[2] > 0.0
    assert hand.joint_centres["proximal_phalanx_2"][0] > hand.joint_centres["proximal_phalanx_5"][0]
    assert hand.meshes["radius"].center_mass[0] > hand.meshes["ulna"].center_mass[0]


def test_palmar_surface_of_the_third_metacarpal_is_above_its_dorsal_surface(
    hand: skeleton.PosedHand,
) -> None:
    mesh = hand.meshes["metacarpal_3"]
    local = hand.to_local("metacarpal_3", mesh.vertices)
    middle = 0.5 * (local[:, 1].min() + local[:, 1].max())
    shaft = (np.abs(local[:, 1] - middle) < 3.0) & (np.abs(local[:, 0]) < 2.0)
    palmar = mesh.vertices[shaft][np.argmin(local[shaft, 2])]  # myo-sim: -z palmar
    dorsal = mesh.vertices[shaft][np.argmax(local[shaft, 2])]
    assert palmar[2] > dorsal[2] + 5.0


def test_frame_is_right_handed_and_rigid(hand: skeleton.PosedHand) -> None:
    for matrix in hand.transforms.values():
        rotation = matrix[:3, :3]
        np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(rotation) == pytest.approx(1.0)


def test_to_local_inverts_to_hand(hand: skeleton.PosedHand) -> None:
    points = np.random.default_rng(7).normal(scale=40.0, size=(50, 3))
    for bone in ("capitate", "distal_phalanx_1", "radius", "middle_phalanx_4"):
        np.testing.assert_allclose(hand.to_local(bone, hand.to_hand(bone, points)), points, atol=1e-9)
        np.testing.assert_allclose(hand.to_hand(bone, [0.0, 0.0, 0.0]), hand.joint_centres[bone], atol=1e-12)
    assert hand.to_hand("hamate", [1.0, 2.0, 3.0]).shape == (3,)


def test_sites_follow_their_bones(hand: skeleton.PosedHand) -> None:
    parsed = skeleton.load_skeleton()
    body = parsed.site_body("IFtip_r")
    bone = next(b for b, name in BONE_BODIES.items() if name == body)
    assert bone == "distal_phalanx_2"
    local = parsed.bodies[body].sites["IFtip_r"]
    np.testing.assert_allclose(hand.to_hand(bone, local), hand.sites["IFtip_r"], atol=1e-9)
    assert len(hand.sites) == 330
    assert {"THtip_r", "IFtip_r", "MFtip_r", "RFtip_r", "LFtip_r"} <= set(hand.sites)


def test_all_bones_are_single_watertight_solids(hand: skeleton.PosedHand) -> None:
    assert sorted(hand.meshes) == sorted(BONE_BODIES)
    for bone, mesh in hand.meshes.items():
        assert mesh.is_watertight, bone
        assert mesh.is_winding_consistent, bone
        assert mesh.body_count == 1, bone
        assert bones.signed_volume(mesh) > 0.0, bone


def test_repairs(records: dict[str, bones.RepairRecord]) -> None:
    assert records["radius"].method == records["ulna"].method == "remesh"
    assert records["pisiform"].method != "none"
    assert records["distal_phalanx_5"].method != "none"
    assert records["hamate"].method == "hook_added"
    untouched = [r for r in records.values() if r.method == "none"]
    assert len(untouched) == 24
    assert all(r.faces == r.faces_raw for r in untouched)
    for bone in ("pisiform", "distal_phalanx_5"):  # hole filling keeps the shape
        assert records[bone].volume_mm3 == pytest.approx(records[bone].volume_raw_mm3, rel=0.02)


def test_the_hook_of_the_hamate_projects_a_centimetre_palmarly(
    hand: skeleton.PosedHand, records: dict[str, bones.RepairRecord]
) -> None:
    # ANATOMY.md, second edition: the hook projects about 1 cm palmarly from the hamate's body; its
    # tip lies 1.5-2.5 cm distal and radial to the pisiform
    hamate = np.asarray(hand.meshes["hamate"].vertices)
    tip = hamate[np.argmax(hamate[:, 2])]
    body = hamate[np.abs(hamate[:, 0] - tip[0]) < 6.0]
    body = body[(body[:, 1] < tip[1] - 8.0) | (body[:, 1] > tip[1] + 6.0)]  # beside the hook
    assert tip[2] - np.percentile(body[:, 2], 95) >= 8.0
    pisiform = np.asarray(hand.meshes["pisiform"].center_mass)
    assert 15.0 <= np.linalg.norm(tip - pisiform) <= 25.0
    assert tip[1] > pisiform[1] + 10.0 and tip[0] > pisiform[0] + 3.0  # distal and radial
    assert records["hamate"].volume_mm3 > records["hamate"].volume_raw_mm3 + 150.0


@pytest.mark.parametrize("bone", ["radius", "ulna"])
def test_remeshed_forearm_bones_keep_their_volume(records: dict[str, bones.RepairRecord], bone: str) -> None:
    record = records[bone]
    assert 6000 <= record.faces <= 10000
    assert 0.2 < record.volume_mm3 / record.hull_volume_raw_mm3 < 0.5
    assert record.volume_mm3 == pytest.approx(RAW_WINDING_VOLUME_MM3[bone], rel=0.04)


def test_forearm_bones_are_cut_just_inside_the_cap(hand: skeleton.PosedHand) -> None:
    styloid = skeleton.radial_styloid_tip(
        skeleton._transformed(
            bones.load_bones(skeleton.load_skeleton().bone_mesh_files())["radius"],
            hand.transforms["radius"],
        )
    )
    assert hand.cap_y == pytest.approx(styloid[1] - 120.0)
    assert styloid[0] > 10.0  # radial side
    for bone in ("radius", "ulna"):
        lowest = hand.meshes[bone].vertices[:, 1].min()
        assert lowest == pytest.approx(hand.cap_y + skeleton.BONE_CUT_OFFSET_MM, abs=1e-6)
    assert pose_hand(cap_mm=80.0).cap_y == pytest.approx(hand.cap_y + 40.0)


def test_finger_flexion_moves_the_tip_palmar(hand: skeleton.PosedHand) -> None:
    flexed = pose_hand(pose={**MASSAGE_POSE, "mcp3_flexion_r": 0.5})
    assert flexed.sites["MFtip_r"][2] > hand.sites["MFtip_r"][2] + 20.0
    np.testing.assert_allclose(flexed.sites["IFtip_r"], hand.sites["IFtip_r"], atol=1e-9)


def test_joint_names_with_or_without_suffix(hand: skeleton.PosedHand) -> None:
    xml_names = {**MASSAGE_POSE}
    xml_names["cmc_flexion"] = xml_names.pop("cmc_flexion_r")
    xml_names["md3_flexion"] = xml_names.pop("md3_flexion_r")
    same = pose_hand(pose=xml_names)
    np.testing.assert_allclose(same.sites["THtip_r"], hand.sites["THtip_r"], atol=1e-12)
    with pytest.raises(KeyError, match="unknown joint"):
        pose_hand(pose={"wrist_twist": 0.1})


def test_massage_pose_is_supinated() -> None:
    assert MASSAGE_POSE["pro_sup_r"] == pytest.approx(-math.pi / 2)


def test_posing_is_deterministic(hand: skeleton.PosedHand) -> None:
    again = pose_hand()
    for bone in BONE_BODIES:
        np.testing.assert_array_equal(again.meshes[bone].vertices, hand.meshes[bone].vertices)
        np.testing.assert_array_equal(again.meshes[bone].faces, hand.meshes[bone].faces)


def test_no_mujoco_import() -> None:
    folder = Path(skeleton.__file__).parent
    for name in ("skeleton.py", "bones.py", "skin.py"):
        assert "import mujoco" not in (folder / name).read_text()
