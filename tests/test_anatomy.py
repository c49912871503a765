"""The shipped atlas against the facts of ANATOMY.md: ids, frame, skin, bones, nerves, vessels,
landmarks and territories.  Literature figures are checked to about 2 SD.
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from surface_anatomy import (
    ARTERIES,
    BONES,
    DIGITAL_ARTERIES,
    DIGITAL_NERVES,
    NAMED_LANDMARKS,
    NERVES,
    VEINS,
    Kaplan,
    carpal_tubercles,
    depth_below_skin,
    grid_landmarks,
    most_distal,
    point_at_y,
)

TUBES = NERVES + ARTERIES + VEINS
#: Normal palmar bowing of the flexor retinaculum above the line from the hook of the hamate to
#: the trapezium (ultrasound: about 2-3 mm; 4 mm and more suggests carpal tunnel syndrome).
PALMAR_BOWING_MM = 2.5


# ----------------------------------------------------------------------------- scope
@pytest.mark.parametrize("sid", [*BONES, *NERVES, *ARTERIES, *VEINS, "skin"])
def test_structure_exists_with_vocabulary(atlas, sid):
    s = atlas.structure(sid)
    assert s.id == sid and s.has_mesh
    expected = {"bone": ("bone", "skeleton", "low"), "nerve": ("nerve", "neurovascular", "high"),
                "artery": ("artery", "neurovascular", "high"), "vein": ("vein", "subcutaneous", "caution"),
                "skin": ("skin", "skin", "low")}[s.tissue]
    assert (s.tissue, s.layer, s.risk) == expected
    assert atlas.ancestors(sid)[-1] == "hand"
    assert s.risk_note or s.tissue == "bone"


@pytest.mark.parametrize("lid", NAMED_LANDMARKS + grid_landmarks())
def test_landmark_lies_on_the_skin_facing_out(atlas, lid):
    lm = atlas.landmark(lid)
    query = trimesh.proximity.ProximityQuery(atlas.skin)
    assert abs(query.signed_distance([lm.point])[0]) < 0.05
    assert np.linalg.norm(lm.normal) == pytest.approx(1.0, abs=1e-3)
    inside, outside = atlas.skin.contains([lm.point - 1.5 * lm.normal, lm.point + 1.5 * lm.normal])
    assert inside and not outside


def test_triangle_budget(atlas):
    total = sum(atlas.triangles(s) for s in atlas.with_geometry())
    assert total <= 600_000


def test_frame(atlas):
    np.testing.assert_allclose(atlas.mesh("capitate").center_mass, 0.0, atol=1e-3)
    assert atlas.mesh("distal_phalanx_1").center_mass[0] > 30  # thumb radial (+x)
    assert atlas.mesh("distal_phalanx_3").center_mass[1] > 120  # fingers distal (+y)
    mc3 = atlas.mesh("metacarpal_3")
    palm, dorsum = atlas.landmark("palm_center"), atlas.landmark("dorsum_center")
    assert palm.point[2] > mc3.bounds[1][2] and dorsum.point[2] < mc3.bounds[0][2]  # palmar is +z
    assert palm.normal[2] > 0.5 and dorsum.normal[2] < -0.5


# ----------------------------------------------------------------------------- skin and bones
def test_every_mesh_is_closed(atlas):
    for sid in atlas.with_geometry():
        mesh = atlas.mesh(sid)
        assert mesh.is_watertight and mesh.volume > 0, sid


@pytest.mark.parametrize("sid", BONES + TUBES)
def test_inside_the_skin(atlas, sid):
    verts = np.asarray(atlas.mesh(sid).vertices)
    sample = verts[:: max(1, len(verts) // 1500)]
    depth = depth_below_skin(atlas, sample)
    assert depth.min() >= 0.5, f"{sid}: a vertex lies {depth.min():.2f} mm under the skin"


def test_palmar_soft_tissue_thicker_than_dorsal(atlas):
    mc3 = trimesh.proximity.ProximityQuery(atlas.mesh("metacarpal_3"))
    palmar = mc3.signed_distance([atlas.landmark("palm_center").point])[0]
    dorsal = mc3.signed_distance([atlas.landmark("dorsum_center").point])[0]
    assert -palmar > -dorsal + 4.0


# ----------------------------------------------------------------------------- wrist
def test_radial_artery_at_the_pulse_point(atlas):
    line, radii = atlas.centerline("radial_artery")
    pulse = atlas.landmark("radial_pulse").point
    depth = np.linalg.norm(line - pulse, axis=1).min()
    assert 4.7 - 2 * 1.7 <= depth <= 4.7 + 2 * 1.7  # Kang 2013: 4.7 +- 1.7 mm
    assert 2 * radii.mean() == pytest.approx(3.0, abs=0.4)


def test_ulnar_artery_radial_to_the_nerve_in_guyons_canal(atlas):
    artery, radii = atlas.centerline("ulnar_artery")
    nerve, _ = atlas.centerline("ulnar_nerve")
    tub = carpal_tubercles(atlas)
    y = atlas.landmark("guyons_canal").point[1]
    a, n = point_at_y(artery, y), point_at_y(nerve, y)
    assert a[0] > n[0]  # radial = +x
    assert 2 * radii.mean() == pytest.approx(2.7, abs=0.4)
    # the canal lies between the pisiform (medial) and the hook of the hamate (its lateral wall:
    # both ulnar to the hook's tip)
    for p in (a, n):
        assert tub["pisiform"][0] - 3 < p[0] < tub["hamate"][0]
    # superficial to the carpal bones: palmar to the pisiform (the hook rises beside them)
    assert min(a[2], n[2]) > tub["pisiform"][2]


def test_median_nerve_in_the_carpal_tunnel(atlas):
    line, radii = atlas.centerline("median_nerve")
    tub = carpal_tubercles(atlas)
    y_in = (tub["scaphoid"][1] + tub["pisiform"][1]) / 2
    y_out = (tub["trapezium"][1] + tub["hamate"][1]) / 2
    inside = (line[:, 1] > y_in) & (line[:, 1] < y_out)
    assert inside.sum() >= 5
    for point, radius in zip(line[inside], radii[inside], strict=True):
        t = (point[1] - y_in) / (y_out - y_in)
        radial = (1 - t) * tub["scaphoid"] + t * tub["trapezium"]
        ulnar = (1 - t) * tub["pisiform"] + t * tub["hamate"]
        assert ulnar[0] < point[0] < radial[0]  # between hook/pisiform and trapezium/scaphoid
        s = (point[0] - ulnar[0]) / (radial[0] - ulnar[0])
        # the retinaculum spans the tubercles, bowing palmar by up to PALMAR_BOWING_MM midway
        roof = (1 - s) * ulnar[2] + s * radial[2] + PALMAR_BOWING_MM * 4 * s * (1 - s)
        assert point[2] + radius < roof  # deep (dorsal) to the roof
    area = np.pi * radii[inside].mean() ** 2
    assert 5.0 <= area <= 10.0  # 5-10 mm2 at the inlet (Klauser 2009)


def test_snuffbox(atlas):
    snuffbox = atlas.landmark("anatomical_snuffbox").point
    artery, _ = atlas.centerline("radial_artery")
    near = artery[np.argmin(np.linalg.norm(artery - snuffbox, axis=1))]
    assert np.linalg.norm(near - snuffbox) < 12
    # it crosses the floor: scaphoid and trapezium
    for bone in ("scaphoid", "trapezium"):
        gap = -trimesh.proximity.ProximityQuery(atlas.mesh(bone)).signed_distance(artery).max()
        assert gap < 4.0, f"radial artery {gap:.1f} mm from the {bone}"
    cephalic, _ = atlas.centerline("cephalic_vein")
    assert np.linalg.norm(cephalic - snuffbox, axis=1).min() < 8  # the cephalic vein begins over it
    sbrn, _ = atlas.centerline("radial_nerve_superficial_branch")
    assert np.linalg.norm(sbrn - snuffbox, axis=1).min() < 8


def test_superficial_radial_nerve_is_subcutaneous(atlas):
    sbrn, _ = atlas.centerline("radial_nerve_superficial_branch")
    styloid_y = atlas.landmark("radial_styloid").point[1]
    # subcutaneous from about 9 cm proximal to the radial styloid (Abrams 1992) to the hand
    course = sbrn[(sbrn[:, 1] > styloid_y - 85) & (sbrn[:, 1] < styloid_y + 20)]
    assert len(course) > 50
    assert depth_below_skin(atlas, course).max() <= 4.0


# ----------------------------------------------------------------------------- palm
def test_recurrent_motor_branch_origin(atlas):
    line, radii = atlas.centerline("median_recurrent_branch")
    kaplan = Kaplan(atlas)
    origin = line[0]
    proximal = -kaplan.distal_distance(origin)
    assert 6.3 - 2 * 2.0 <= proximal <= 6.3 + 2 * 2.0  # Wilhelmi: 6.3 +- 2.0 mm proximal
    radial = origin[0] - atlas.landmark("third_web_space").point[0]
    assert 8.6 - 2 * 1.9 <= radial <= 8.6 + 2 * 1.9  # 8.6 +- 1.9 mm radial to the 3rd web line
    assert 2 * radii.mean() == pytest.approx(0.7, abs=0.3)


def test_superficial_palmar_arch_position(atlas):
    arch, _ = atlas.centerline("superficial_palmar_arch")
    apex = most_distal(arch)
    from_crease = apex[1] - atlas.landmark("distal_wrist_crease").point[1]
    assert 51.8 - 2 * 7.6 <= from_crease <= 44.2 + 2 * 5.0  # McLean 51.8 +- 7.6; Varalakshmi 44.2 +- 5.0
    assert 15.3 - 2 * 8.6 <= Kaplan(atlas).distal_distance(apex) <= 15.3 + 2 * 8.6


def test_deep_palmar_arch_position(atlas):
    deep = most_distal(atlas.centerline("deep_palmar_arch")[0])
    superficial = most_distal(atlas.centerline("superficial_palmar_arch")[0])
    assert 40 - 2 * 8 <= deep[1] - atlas.landmark("distal_wrist_crease").point[1] <= 40 + 2 * 8
    assert 6.7 - 2 * 4.8 <= Kaplan(atlas).distal_distance(deep) <= 6.7 + 2 * 4.8
    assert 3.0 <= superficial[1] - deep[1] <= 20.0  # about 1 cm proximal to the superficial arch
    assert depth_below_skin(atlas, deep)[0] > depth_below_skin(atlas, superficial)[0] + 3


@pytest.mark.parametrize("nerve", [f"common_palmar_digital_nerve_{i}" for i in (2, 3, 4)])
def test_common_digital_nerves_lie_deep_to_the_arch(atlas, nerve):
    arch, _ = atlas.centerline("superficial_palmar_arch")
    line, _ = atlas.centerline(nerve)
    gaps = np.linalg.norm(line[:, None, :2] - arch[None, :, :2], axis=2)
    i, j = np.unravel_index(np.argmin(gaps), gaps.shape)
    assert gaps[i, j] < 3.0, f"{nerve} does not cross the arch in the palm plane"
    depth_nerve, depth_arch = depth_below_skin(atlas, np.array([line[i], arch[j]]))
    assert depth_nerve > depth_arch


def test_deep_branch_of_the_ulnar_nerve_hooks_around_the_hamate(atlas):
    line, _ = atlas.centerline("ulnar_nerve_deep_branch")
    gap = -trimesh.proximity.ProximityQuery(atlas.mesh("hamate")).signed_distance(line).max()
    assert gap < 4.0
    assert line[-1][0] > line[0][0] + 20  # it crosses the palm radially


# ----------------------------------------------------------------------------- fingers
@pytest.mark.parametrize("digit", ["thumb", "index", "middle", "ring", "little"])
@pytest.mark.parametrize("side", ["radial", "ulnar"])
def test_digital_nerve_is_palmar_to_the_artery(atlas, digit, side):
    number = ["thumb", "index", "middle", "ring", "little"].index(digit) + 1
    bone = atlas.mesh(f"proximal_phalanx_{number}")
    centre = np.asarray(bone.center_mass)
    palmar = atlas.landmark(f"{digit}_proximal_phalanx_palmar").normal
    lateral = atlas.landmark(f"{digit}_proximal_phalanx_{side}").normal
    nerve, _ = atlas.centerline(f"digital_nerve_{digit}_{side}")
    artery, _ = atlas.centerline(f"digital_artery_{digit}_{side}")
    n = nerve[np.argmin(np.linalg.norm(nerve - centre, axis=1))]
    a = artery[np.argmin(np.linalg.norm(artery - centre, axis=1))]
    assert (n - centre) @ palmar > (a - centre) @ palmar  # the nerve is palmar to the artery
    assert (n - centre) @ lateral > 2.0 and (a - centre) @ lateral > 2.0  # both on that side
    assert (n - centre) @ palmar > 0  # at the palmar-lateral border


@pytest.mark.parametrize("sid", DIGITAL_NERVES + DIGITAL_ARTERIES)
def test_digital_structures_reach_the_distal_phalanx(atlas, sid):
    digit = sid.split("_")[2]
    number = ["thumb", "index", "middle", "ring", "little"].index(digit) + 1
    end = atlas.centerline(sid)[0][-1]
    gaps = {b: -trimesh.proximity.ProximityQuery(atlas.mesh(b)).signed_distance([end])[0] for b in BONES}
    assert min(gaps, key=gaps.get) == f"distal_phalanx_{number}"  # it ends beside the distal phalanx
    assert gaps[f"distal_phalanx_{number}"] < 6.0


# ----------------------------------------------------------------------------- landmarks
def test_named_landmark_positions(atlas):
    p = {k: atlas.landmark(k).point for k in NAMED_LANDMARKS}
    assert p["guyons_canal"][0] > p["pisiform"][0] and p["guyons_canal"][1] > p["pisiform"][1]
    assert p["carpal_tunnel"][1] > p["distal_wrist_crease"][1]
    assert p["hypothenar_eminence"][0] < p["carpal_tunnel"][0] < p["thenar_eminence"][0]
    assert p["radial_pulse"][1] < p["distal_wrist_crease"][1] and p["radial_pulse"][0] > 5
    assert p["radial_styloid"][0] == max(v[0] for k, v in p.items() if v[1] < 0)
    assert p["ulnar_styloid"][0] < 0 and p["ulnar_styloid"][2] < 0
    mc3 = atlas.mesh("metacarpal_3").bounds
    assert mc3[0][0] < p["palm_center"][0] < mc3[1][0] and mc3[0][0] < p["dorsum_center"][0] < mc3[1][0]
    assert p["first_web_space_palmar"][2] > p["first_web_space_dorsal"][2]
    snuff = atlas.landmark("anatomical_snuffbox").normal
    assert snuff[0] > 0.3 and snuff[2] < 0  # faces radially and dorsally


# ----------------------------------------------------------------------------- territories
TERRITORY_FACTS = {
    "thenar_eminence": "median", "palm_center": "median", "carpal_tunnel": "median",
    "hypothenar_eminence": "ulnar", "thumb_distal_phalanx_palmar": "median",
    "index_distal_phalanx_palmar": "median", "middle_proximal_phalanx_palmar": "median",
    "ring_proximal_phalanx_radial": "median", "ring_proximal_phalanx_ulnar": "ulnar",
    "little_proximal_phalanx_palmar": "ulnar", "little_distal_phalanx_dorsal": "ulnar",
    "little_metacarpal_dorsal": "ulnar", "index_distal_phalanx_dorsal": "median",
    "middle_middle_phalanx_dorsal": "median", "thumb_distal_phalanx_dorsal": "median",
    "index_proximal_phalanx_dorsal": "radial", "thumb_proximal_phalanx_dorsal": "radial",
    "first_web_space_dorsal": "radial", "dorsum_center": "radial", "index_metacarpal_dorsal": "radial",
    "radial_pulse": "forearm",
}


@pytest.mark.parametrize(("lid", "expected"), TERRITORY_FACTS.items())
def test_territory_at_landmark(atlas, lid, expected):
    assert atlas.territory_at(atlas.landmark(lid).point) == expected


def test_dorsal_ulnar_variant_covers_two_and_a_half_digits(atlas):
    # the radial half of the dorsal ring finger: radial nerve usually, ulnar nerve in the variant
    ring = atlas.landmark("ring_proximal_phalanx_dorsal")
    ring_dorsal = ring.point + 3.0 * atlas.landmark("ring_proximal_phalanx_radial").normal
    assert atlas.territory_at(ring_dorsal) == "radial"
    assert atlas.territory_at(ring_dorsal, variant="dorsal_ulnar_2_5") == "ulnar"
    index_dorsal = atlas.landmark("index_proximal_phalanx_dorsal").point
    assert atlas.territory_at(index_dorsal, variant="dorsal_ulnar_2_5") == "radial"


def test_territory_shares(atlas):
    labels = atlas.territories()
    share = {t: float(np.mean(labels == t)) for t in ("median", "ulnar", "radial", "forearm")}
    assert all(v > 0.05 for v in share.values()), share
    assert share["median"] > share["ulnar"]


@pytest.mark.parametrize("lid", grid_landmarks())
def test_grid_landmark_lies_on_its_own_bone(atlas, lid):
    """Each digit-grid point is the skin of its own segment: fingers are separate there, not webbed."""
    digit, rest = lid.split("_", 1)
    segment = rest.rsplit("_", 1)[0]
    number = ["thumb", "index", "middle", "ring", "little"].index(digit) + 1
    own = f"{segment}_{number}"
    point = atlas.landmark(lid).point
    gaps = {b: -trimesh.proximity.ProximityQuery(atlas.mesh(b)).signed_distance([point])[0] for b in BONES}
    if lid.endswith("metacarpal_palmar"):  # under the thick, arched palm a neighbour can be as near
        assert gaps[own] < min(gaps.values()) + 4.0 and gaps[own] < 25.0
        return
    assert min(gaps, key=gaps.get) == own, f"{lid} lies nearer {min(gaps, key=gaps.get)} than {own}"
    assert gaps[own] < 14.0
