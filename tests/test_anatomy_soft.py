"""Facts about the muscles, fascia, retinacula and tendons of the shipped atlas (ANATOMY.md)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from handatlas.build.solids import SkinDepth

THENAR = ("abductor_pollicis_brevis", "flexor_pollicis_brevis", "opponens_pollicis")
HYPOTHENAR = ("abductor_digiti_minimi", "flexor_digiti_minimi_brevis", "opponens_digiti_minimi")
DORSAL_INTEROSSEI = {1: (1, 2), 2: (2, 3), 3: (3, 4), 4: (4, 5)}
#: palmar interosseous -> (metacarpal, side: +1 radial, -1 ulnar)
PALMAR_INTEROSSEI = {1: (2, -1), 2: (4, 1), 3: (5, 1)}
FLEXORS = ("fpl_tendon", *(f"fds_tendon_{d}" for d in range(2, 6)), *(f"fdp_tendon_{d}" for d in range(2, 6)))
TENDONS = (*FLEXORS, "fcr_tendon", "palmaris_longus_tendon", "fcu_tendon", "apl_tendon", "epb_tendon",
           "epl_tendon", *(f"edc_tendon_{d}" for d in range(2, 6)),
           "ecrl_tendon", "ecrb_tendon", "ecu_tendon", "eip_tendon")
MUSCLES = (*THENAR, "adductor_pollicis", *HYPOTHENAR,
           *(f"dorsal_interosseous_{k}" for k in DORSAL_INTEROSSEI),
           *(f"palmar_interosseous_{k}" for k in PALMAR_INTEROSSEI), *(f"lumbrical_{k}" for k in range(1, 5)))
EXPECTED = {
    **{sid: ("muscle", "muscle") for sid in MUSCLES},
    "palmaris_brevis": ("muscle", "subcutaneous"),
    **{sid: ("tendon", "tendon") for sid in TENDONS},
    "palmar_aponeurosis": ("fascia", "fascia"),
    "flexor_retinaculum": ("retinaculum", "fascia"),
    "extensor_retinaculum": ("retinaculum", "fascia"),
}
GROUPS = ("fascia_and_retinacula", "thenar_group", "hypothenar_group", "interossei", "lumbricals", "tendons",
          "flexor_tendons", "extensor_tendons", "muscles")


@pytest.fixture(scope="module")
def skin_depth(atlas) -> SkinDepth:
    return SkinDepth(atlas.skin)


def centroid(atlas, sid: str) -> np.ndarray:
    return atlas.mesh(sid).center_mass


def vertical_hits(mesh: trimesh.Trimesh, points: np.ndarray) -> list[np.ndarray]:
    """z of every crossing of the vertical line through each point with ``mesh``."""
    origins = np.column_stack([points[:, 0], points[:, 1], np.full(len(points), 500.0)])
    down = np.tile([0.0, 0.0, -1.0], (len(points), 1))
    locations, rays, _ = mesh.ray.intersects_location(origins, down, multiple_hits=True)
    return [locations[rays == i, 2] for i in range(len(points))]


def depth_along(atlas, point: np.ndarray, direction: np.ndarray) -> float:
    """Distance from ``point`` to the skin along ``direction`` (the depth a press would meet)."""
    direction = np.asarray(direction, float) / np.linalg.norm(direction)
    hits, _, _ = atlas.skin.ray.intersects_location(point[None], direction[None])
    return float(np.linalg.norm(hits - point, axis=1).min())


def section_point(atlas, sid: str, y: float) -> tuple[np.ndarray, float]:
    """The centreline point of a tube at the level ``y`` (the closest one) and its radius."""
    line, radii = atlas.centerline(sid)
    i = int(np.argmin(np.abs(line[:, 1] - y)))
    return line[i], float(radii[i])


# ---------------------------------------------------------------------------- inventory
@pytest.mark.parametrize("sid", sorted(EXPECTED))
def test_structure_exists_with_tissue_and_layer(atlas, sid):
    s = atlas.structure(sid)
    assert (s.tissue, s.layer, s.risk) == (*EXPECTED[sid], "low")
    assert s.risk_note and s.description and s.colour.startswith("#")
    assert "hand" in atlas.ancestors(sid)


@pytest.mark.parametrize("group", GROUPS)
def test_groups(atlas, group):
    assert atlas.structure(group).is_group and atlas.ancestors(group)[-1] == "hand"


def test_acronyms_find_their_structures(atlas):
    pairs = [("APB", "abductor_pollicis_brevis"), ("ODM", "opponens_digiti_minimi"),
             ("DI1", "dorsal_interosseous_1"), ("PI2", "palmar_interosseous_2"), ("FCR", "fcr_tendon"),
             ("transverse carpal ligament", "flexor_retinaculum")]
    for name, sid in pairs:
        assert atlas.structure(name).id == sid


@pytest.mark.parametrize("sid", sorted(EXPECTED))
def test_closed_and_inside_the_skin(atlas, skin_depth, sid):
    mesh = atlas.mesh(sid)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert skin_depth.depth(mesh.vertices).min() >= 0.5


def test_skin_depth_agrees_with_trimesh(atlas, skin_depth):
    ids = ("palmar_aponeurosis", "extensor_retinaculum", "abductor_digiti_minimi", "edc_tendon_3")
    points = np.vstack([atlas.mesh(sid).vertices[::97] for sid in ids])
    exact = trimesh.proximity.signed_distance(atlas.skin, points)
    np.testing.assert_allclose(skin_depth.depth(points), exact, atol=0.05)


def test_triangle_budget(atlas):
    ids = [sid for sid in EXPECTED]
    assert sum(atlas.triangles(sid) for sid in ids) <= 200_000


# ---------------------------------------------------------------------------- muscles
def mean_distance_to(atlas, sid: str, bone: str) -> float:
    _, distance, _ = trimesh.proximity.closest_point(atlas.mesh(bone), atlas.mesh(sid).vertices[::5])
    return float(distance.mean())


def test_thenar_layering(atlas):
    outward = atlas.landmark("thenar_eminence").normal
    depth = {sid: depth_along(atlas, centroid(atlas, sid), outward) for sid in THENAR}
    assert depth["abductor_pollicis_brevis"] < depth["opponens_pollicis"]
    assert depth["flexor_pollicis_brevis"] < depth["opponens_pollicis"]
    to_mc1 = {sid: mean_distance_to(atlas, sid, "metacarpal_1") for sid in THENAR}
    assert min(to_mc1, key=to_mc1.get) == "opponens_pollicis"
    assert centroid(atlas, "abductor_pollicis_brevis")[0] > centroid(atlas, "flexor_pollicis_brevis")[0]


def test_hypothenar_layering(atlas):
    group = (*HYPOTHENAR, "palmaris_brevis")
    depth = {sid: depth_along(atlas, centroid(atlas, sid), [0.0, 0.0, 1.0]) for sid in group}
    assert max(depth, key=depth.get) == "opponens_digiti_minimi"
    assert min(depth, key=depth.get) == "palmaris_brevis"
    to_mc5 = {sid: mean_distance_to(atlas, sid, "metacarpal_5") for sid in HYPOTHENAR}
    assert min(to_mc5, key=to_mc5.get) == "opponens_digiti_minimi"


def _between(point: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of the way from a to b of the point's projection on the line a-b."""
    return float((point - a) @ (b - a) / ((b - a) @ (b - a)))


@pytest.mark.parametrize("k", sorted(DORSAL_INTEROSSEI))
def test_dorsal_interosseous_between_its_metacarpals(atlas, k):
    a, b = (centroid(atlas, f"metacarpal_{m}") for m in DORSAL_INTEROSSEI[k])
    assert 0.15 < _between(centroid(atlas, f"dorsal_interosseous_{k}"), a, b) < 0.85


@pytest.mark.parametrize("k", sorted(PALMAR_INTEROSSEI))
def test_palmar_interosseous_on_its_side(atlas, k):
    mc, side = PALMAR_INTEROSSEI[k]
    offset = centroid(atlas, f"palmar_interosseous_{k}") - centroid(atlas, f"metacarpal_{mc}")
    assert side * offset[0] > 1.5


@pytest.mark.parametrize("k", range(1, 5))
def test_lumbrical_radial_to_its_mcp_joint(atlas, k):
    head = atlas.mesh(f"metacarpal_{k + 1}")
    phalanx = atlas.mesh(f"proximal_phalanx_{k + 1}")
    tip = head.vertices[head.vertices[:, 1].argmax()]
    mcp = 0.5 * (tip + phalanx.vertices[phalanx.vertices[:, 1].argmin()])
    lumbrical = atlas.mesh(f"lumbrical_{k}")
    near = lumbrical.vertices[np.abs(lumbrical.vertices[:, 1] - mcp[1]) < 4]
    assert len(near) and near[:, 0].mean() > mcp[0] + 1.0


# ---------------------------------------------------------------------------- retinaculum and tunnel
def _tube_points_under(atlas, mesh: trimesh.Trimesh, sid: str):
    line, radii = atlas.centerline(sid)
    inside = (line[:, 1] > mesh.bounds[0][1]) & (line[:, 1] < mesh.bounds[1][1])
    hits = vertical_hits(mesh, line[inside])
    return [(p, r, h) for p, r, h in zip(line[inside], radii[inside], hits, strict=True) if len(h)]


def test_median_nerve_deep_to_the_flexor_retinaculum(atlas):
    roof = atlas.mesh("flexor_retinaculum")
    rows = _tube_points_under(atlas, roof, "median_nerve")
    assert len(rows) >= 5
    assert all(p[2] + r < h.min() for p, r, h in rows)


@pytest.mark.parametrize("sid", ["ulnar_nerve", "ulnar_artery", "median_palmar_cutaneous_branch"])
def test_superficial_to_the_flexor_retinaculum(atlas, sid):
    roof = atlas.mesh("flexor_retinaculum")
    rows = _tube_points_under(atlas, roof, sid)
    assert len(rows) >= 3
    assert all(p[2] - r > h.max() for p, r, h in rows)


def test_fds_palmar_to_fdp_in_the_tunnel(atlas):
    y = atlas.mesh("flexor_retinaculum").bounds.mean(axis=0)[1]
    fds = np.mean([section_point(atlas, f"fds_tendon_{d}", y)[0][2] for d in range(2, 6)])
    fdp = np.mean([section_point(atlas, f"fdp_tendon_{d}", y)[0][2] for d in range(2, 6)])
    assert fds > fdp + 2.0
    for d in (3, 4):
        fds_d, _ = section_point(atlas, f"fds_tendon_{d}", y)
        fdp_d, _ = section_point(atlas, f"fdp_tendon_{d}", y)
        assert fds_d[2] > fdp_d[2]


@pytest.mark.parametrize("sid", FLEXORS)
def test_flexor_tendons_deep_to_the_retinaculum(atlas, sid):
    roof = atlas.mesh("flexor_retinaculum")
    rows = _tube_points_under(atlas, roof, sid)
    assert rows and all(p[2] < h.min() for p, _, h in rows)


# ---------------------------------------------------------------------------- wrist
def test_radial_artery_radial_to_fcr_at_the_pulse(atlas):
    y = atlas.landmark("radial_pulse").point[1]
    artery, _ = section_point(atlas, "radial_artery", y)
    fcr, _ = section_point(atlas, "fcr_tendon", y)
    assert artery[0] > fcr[0] + 2.0


def test_ulnar_nerve_deep_and_radial_to_fcu(atlas):
    top = atlas.mesh("pisiform").bounds[0][1]
    for y in (top - 25, top - 20, top - 15):
        nerve, _ = section_point(atlas, "ulnar_nerve", y)
        fcu, _ = section_point(atlas, "fcu_tendon", y)
        assert nerve[2] < fcu[2] and nerve[0] > fcu[0]


def test_anatomical_snuffbox(atlas):
    lm = atlas.landmark("anatomical_snuffbox")
    normal = lm.normal / np.linalg.norm(lm.normal)
    across = np.cross(normal, [0.0, 1.0, 0.0])
    across /= np.linalg.norm(across)  # radial-palmar along the skin
    assert across[2] > 0

    def where(sid):
        point, _ = section_point(atlas, sid, lm.point[1])
        return (point - lm.point) @ across, (point - lm.point) @ normal

    artery = where("radial_artery")
    for sid in ("apl_tendon", "epb_tendon"):
        side, height = where(sid)
        assert side > artery[0] and side > 0 and height > artery[1]
    side, height = where("epl_tendon")
    assert side < artery[0] and side < 0 and height > artery[1]


def test_superficial_radial_nerve_crosses_the_first_compartment(atlas):
    styloid = atlas.landmark("radial_styloid").point
    nerve, nerve_r = atlas.centerline("radial_nerve_superficial_branch")
    near = np.linalg.norm(nerve - styloid, axis=1) < 25
    gaps = []
    for sid in ("apl_tendon", "epb_tendon"):
        line, radii = atlas.centerline(sid)
        d = np.linalg.norm(nerve[near][:, None] - line[None], axis=2)
        gaps.append((d - nerve_r[near][:, None] - radii[None]).min())
    assert min(gaps) <= 5.0


# ---------------------------------------------------------------------------- palm
def test_palm_layers(atlas):
    """Mid palm: aponeurosis > superficial arch > flexor tendons > deep arch (palmar to dorsal)."""
    arch, arch_r = atlas.centerline("superficial_palmar_arch")
    deep, deep_r = atlas.centerline("deep_palmar_arch")
    aponeurosis = atlas.mesh("palmar_aponeurosis")
    for d in (3, 4):
        x = centroid(atlas, f"metacarpal_{d}")[0]
        i = int(np.argmin(np.abs(arch[:, 0] - x)))
        j = int(np.argmin(np.abs(deep[:, 0] - x)))
        for kind in ("fds", "fdp"):
            tendon, r = section_point(atlas, f"{kind}_tendon_{d}", arch[i, 1])
            assert tendon[2] + r < arch[i, 2] - arch_r[i]
            tendon, r = section_point(atlas, f"{kind}_tendon_{d}", deep[j, 1])
            assert tendon[2] - r > deep[j, 2] + deep_r[j]
        hits = vertical_hits(aponeurosis, arch[i][None])[0]
        assert len(hits) and hits.min() > arch[i, 2] + arch_r[i]
