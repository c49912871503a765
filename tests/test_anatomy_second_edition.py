"""The second edition of ANATOMY.md: every finding of the review with an anatomy atlas, measured
the way the review measured it.

Each test probes the shipped atlas as an anatomist would: the soft tissue between a landmark on
the skin and the bone under it, rays from the skin along the inward normal and the order of the
layers they cross, transverse sections at a level, and the shape of centrelines.  Thresholds are
the literature figures of ANATOMY.md (about 2 SD where a source gives one, else its stated
range).  Every assertion message prints the measured value and its target; each measurement is
also kept in the test's ``user_properties`` (``--junitxml`` with ``-o junit_family=xunit1``
writes them out) for the review table.
"""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from surface_anatomy import (
    ARTERIES,
    DIGITS,
    DORSAL_DIGITAL_NERVES,
    FOREARM_EXTENSORS,
    FOREARM_FLEXORS,
    NERVES,
    VEINS,
    RayProbe,
    bone_gap,
    branch_origin,
    carpal_tubercles,
    depth_below_skin,
    extreme,
    hamate_hook,
    listers_tubercle,
    max_turn,
    min_skin_depth,
    nearest_skin,
    point_at_y,
    points_at_y,
    tunnel_levels,
)

FINGER_FLEXORS = (*(f"fds_tendon_{d}" for d in range(2, 6)), *(f"fdp_tendon_{d}" for d in range(2, 6)))
FLEXOR_TENDONS = ("fpl_tendon", *FINGER_FLEXORS)
#: The extensor tendons ANATOMY.md welcomes besides the first edition's: the wrist extensors and the
#: proper extensor of the index.  EDM (compartment 5) is left out of this edition: MoBL's ulnar head
#: and styloid lie 4-5 mm under the dorsal skin, leaving it no room beside EDC 5 without a fold.
NEW_EXTENSORS = ("ecrl_tendon", "ecrb_tendon", "ecu_tendon", "eip_tendon")
EXTENSOR_TENDONS = ("apl_tendon", "epb_tendon", "epl_tendon", *(f"edc_tendon_{d}" for d in range(2, 6)),
                    *NEW_EXTENSORS)
TENDONS = (*FLEXOR_TENDONS, "fcr_tendon", "palmaris_longus_tendon", "fcu_tendon", *EXTENSOR_TENDONS)
HAND_MUSCLES = (
    "abductor_pollicis_brevis", "flexor_pollicis_brevis", "opponens_pollicis", "adductor_pollicis",
    "abductor_digiti_minimi", "flexor_digiti_minimi_brevis", "opponens_digiti_minimi", "palmaris_brevis",
    *(f"dorsal_interosseous_{k}" for k in range(1, 5)), *(f"palmar_interosseous_{k}" for k in range(1, 4)),
    *(f"lumbrical_{k}" for k in range(1, 5)),
)
FOREARM_MUSCLES = (*FOREARM_FLEXORS, *FOREARM_EXTENSORS)
LUMBRICALS = frozenset(f"lumbrical_{k}" for k in range(1, 5))
#: The muscle each tendon leaves (ANATOMY.md ids).
TENDON_MUSCLE = {
    "fcr_tendon": "flexor_carpi_radialis",
    "palmaris_longus_tendon": "palmaris_longus",
    "fcu_tendon": "flexor_carpi_ulnaris",
    "fpl_tendon": "flexor_pollicis_longus",
    **{f"fds_tendon_{d}": "flexor_digitorum_superficialis" for d in range(2, 6)},
    **{f"fdp_tendon_{d}": "flexor_digitorum_profundus" for d in range(2, 6)},
    "apl_tendon": "abductor_pollicis_longus",
    "epb_tendon": "extensor_pollicis_brevis",
    "epl_tendon": "extensor_pollicis_longus",
    **{f"edc_tendon_{d}": "extensor_digitorum" for d in range(2, 6)},
    "ecrl_tendon": "extensor_carpi_radialis_longus",
    "ecrb_tendon": "extensor_carpi_radialis_brevis",
    "ecu_tendon": "extensor_carpi_ulnaris",
    "eip_tendon": "extensor_indicis",
}
#: Dorsal digital nerves of the ulnar nerve's dorsal branch; the others come from the radial nerve.
DORSAL_ULNAR_DIGITS = ("dorsal_digital_nerve_ring_ulnar", "dorsal_digital_nerve_little_radial",
                       "dorsal_digital_nerve_little_ulnar")
#: Tubes allowed to turn sharply: the deep branch of the ulnar nerve hooks around the hamate.
TURNS_BY_ANATOMY = ("ulnar_nerve_deep_branch",)
#: A turn of more than this over TURN_SPAN_MM of centreline is a kink or a hairpin.
MAX_TURN_DEG, TURN_SPAN_MM = 60.0, 3.0
#: Level of the forearm section and of the forearm landmarks: 8 cm proximal to the wrist crease.
FOREARM_LEVEL_MM = 80.0
#: Surfaces may touch; an overlap deeper than this is a crossing (mm).
TOUCH_MM = 0.3
SOLID_TISSUES = ("muscle", "tendon", "fascia", "retinaculum", "bone")


# ----------------------------------------------------------------------------- not built yet
#: Findings the atlas does not meet yet (issue 9 is open), by test name (a parametrised test's
#: name with its id, or without it for every id), with what is missing.  Strict: a finding that
#: starts to hold fails here until it leaves this table.
PENDING: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _pending(request):
    name = request.node.name
    reason = PENDING.get(name, PENDING.get(name.split("[")[0]))
    if reason is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))


# ----------------------------------------------------------------------------- helpers
@pytest.fixture
def measured(request):
    """``measured(name, value, target)``: keep a measurement in ``user_properties``, return it."""

    def record(name: str, value, target: str):
        shown = np.round(value, 2).tolist() if isinstance(value, np.ndarray) else value
        request.node.user_properties.append((name, f"{shown} | target {target}"))
        return value

    return record


@pytest.fixture(scope="module")
def probe(atlas) -> RayProbe:
    """A ray probe over every structure except the skin."""
    return RayProbe(atlas, [sid for sid in atlas.with_geometry() if sid != "skin"])


def require(atlas, sid: str):
    """The structure ``sid``, or a test failure that names the missing id."""
    if sid not in atlas.structures:
        pytest.fail(f"{sid!r} is missing from the atlas (ANATOMY.md, second edition)")
    return atlas.structures[sid]


def require_landmark(atlas, lid: str):
    """The landmark ``lid``, or a test failure that names the missing id."""
    if lid not in atlas.landmarks:
        pytest.fail(f"landmark {lid!r} is missing from the atlas (ANATOMY.md, second edition)")
    return atlas.landmarks[lid]


def of_tissue(atlas, *tissues: str) -> set[str]:
    """Ids of the structures with a mesh of any of these tissues."""
    return {s.id for s in atlas if s.has_mesh and s.tissue in tissues}


def crease_y(atlas) -> float:
    return float(atlas.landmark("distal_wrist_crease").point[1])


def forearm_y(atlas) -> float:
    return crease_y(atlas) - FOREARM_LEVEL_MM


def nearest_on(line: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The centreline point nearest to ``point``."""
    return line[np.argmin(np.linalg.norm(line - point, axis=1))]


def tube_between(atlas, sid: str, y_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The centreline points (and radii) of a tube between two levels."""
    line, radii = atlas.centerline(sid)
    keep = (line[:, 1] >= y_range[0]) & (line[:, 1] <= y_range[1])
    return line[keep], radii[keep]


def outward_hits(atlas, probe: RayProbe, points: np.ndarray) -> list[list[tuple[float, str]]]:
    """For points under the skin: every structure crossed between each point and its nearest skin
    point (what lies superficial to it)."""
    skin_points, distance, _ = nearest_skin(atlas, points)
    hits = probe.hits(points, skin_points - points)
    return [[h for h in row if h[0] < d] for row, d in zip(hits, distance, strict=True)]


def inward_hits(atlas, probe: RayProbe, points: np.ndarray, depth: float) -> list[list[tuple[float, str]]]:
    """For points under the skin: every structure crossed within ``depth`` mm further from the
    nearest skin point (what lies deep to it)."""
    skin_points, _, _ = nearest_skin(atlas, points)
    return probe.hits(points, points - skin_points, max_depth=depth)


# ============================================================================= 1. soft tissue over bone
#: site -> (bones under it, lowest and highest skin-to-bone distance, mm).  Palpable bone: skin and
#: subcutis 2-5 mm (5.5 allowed); the hook is felt deep in the hypothenar base, 5-8 mm (9
#: allowed); the snuffbox floor lies 5-9 mm under the skin.
BONY_SITES = {
    "radial_styloid": (("radius",), 2.0, 5.5),
    "ulnar_styloid": (("ulna",), 2.0, 5.5),
    "pisiform": (("pisiform",), 2.0, 5.5),
    "scaphoid_tubercle": (("scaphoid",), 2.0, 5.5),
    "listers_tubercle": (("radius",), 2.0, 5.5),
    "index_metacarpal_radial": (("metacarpal_2",), 2.0, 5.5),
    "little_metacarpal_ulnar": (("metacarpal_5",), 2.0, 5.5),
    "hook_of_hamate": (("hamate",), 5.0, 9.0),
    "anatomical_snuffbox": (("scaphoid", "trapezium"), 5.0, 9.0),
}
#: Sites without a landmark of their own: the bony prominence (the skin over it is the nearest).
PROMINENCES = {
    "scaphoid_tubercle": lambda atlas: carpal_tubercles(atlas)["scaphoid"],
    "listers_tubercle": listers_tubercle,
}


def skin_over(atlas, site: str) -> np.ndarray:
    """The skin point an anatomist presses: the site's landmark, or the skin nearest the prominence."""
    if site in PROMINENCES:
        return nearest_skin(atlas, PROMINENCES[site](atlas))[0][0]
    return atlas.landmark(site).point


@pytest.mark.parametrize("site", list(BONY_SITES))
def test_soft_tissue_over_bone(atlas, measured, site):
    """Skin to bone at a palpable landmark: from the skin point to the nearest bone surface (the
    depth along the inward normal, often longer or a miss past a narrow bone, is recorded too)."""
    bones, low, high = BONY_SITES[site]
    point = skin_over(atlas, site)
    name = "/".join(bones)
    if site not in PROMINENCES:
        inward = -atlas.landmark(site).normal
        hits = [atlas.mesh(b).ray.intersects_location([point], [inward])[0] for b in bones]
        along = min((float(np.linalg.norm(h - point, axis=1).min()) for h in hits if len(h)), default=np.inf)
        measured(f"{site}: skin to {name} along the inward normal (mm)", along, "(recorded)")
    gap = measured(f"{site}: skin to {name} (mm)", min(float(bone_gap(atlas, b, point)[0]) for b in bones),
                   f"{low}-{high}")
    assert low <= gap <= high, f"{site}: skin to {name} {gap:.1f} mm; target {low}-{high} mm"


def test_radial_artery_palpable_in_the_snuffbox(atlas, measured):
    """The artery lies on the snuffbox floor where its pulse is felt: its centreline at most 7 mm
    under the skin, within a thumb pad (8 mm) of the landmark."""
    lm = atlas.landmark("anatomical_snuffbox")
    near = nearest_on(atlas.centerline("radial_artery")[0], lm.point)
    depth = measured("snuffbox: radial artery centreline depth (mm)", float(depth_below_skin(atlas, near)[0]),
                     "<= 7")
    reach = measured("snuffbox: landmark to the radial artery centreline (mm)",
                     float(np.linalg.norm(near - lm.point)), "<= 8")
    assert depth <= 7.0, f"radial artery {depth:.1f} mm under the skin at the snuffbox; target <= 7 mm"
    assert reach <= 8.0, f"radial artery {reach:.1f} mm from the snuffbox landmark; target <= 8 mm"


# ============================================================================= 2. hook of the hamate
def test_hook_of_the_hamate_projects_palmarly(atlas, measured):
    hook = hamate_hook(atlas)
    height = measured("hook tip palmar to the hamate body (mm)", hook["projection"], ">= 8")
    assert height >= 8.0, (f"the hook stands {height:.1f} mm palmar to the hamate body "
                           f"({hook['above_centroid']:.1f} mm above its centroid); target >= 8 mm")


def test_hook_tip_distal_and_radial_to_the_pisiform(atlas, measured):
    tip = hamate_hook(atlas)["tip"]
    offset = measured("hook tip - pisiform centre (x radial, y distal, z palmar; mm)",
                      tip - atlas.mesh("pisiform").center_mass, "x > 0, y > 0")
    distance = measured("hook tip to the pisiform centre (mm)", float(np.linalg.norm(offset)), "15-25")
    assert 15.0 <= distance <= 25.0, f"hook tip {distance:.1f} mm from the pisiform; target 15-25 mm"
    assert offset[0] > 0 and offset[1] > 0, f"hook tip offset {np.round(offset, 1)}; target distal and radial"


def test_hook_walls_the_tunnel_and_guyons_canal(atlas, measured):
    """At the level of its tip the hook has the finger flexors on its radial side (the carpal
    tunnel) and the ulnar nerve on its ulnar side (the distal part of Guyon's canal)."""
    tip = hamate_hook(atlas)["tip"]
    ulnar = np.vstack([atlas.centerline(s)[0] for s in ("ulnar_nerve", "ulnar_nerve_superficial_branch")])
    nerve = measured("ulnar nerve x - hook tip x (mm)", float(point_at_y(ulnar, tip[1])[0] - tip[0]), "< 0")
    flexor_x = min(point_at_y(atlas.centerline(t)[0], tip[1])[0] for t in FINGER_FLEXORS)
    tendon = measured("most ulnar finger flexor x - hook tip x (mm)", float(flexor_x - tip[0]), "> 0")
    assert nerve < 0, f"ulnar nerve {nerve:+.1f} mm radial of the hook tip; target ulnar to it"
    assert tendon > 0, f"a finger flexor lies {-tendon:.1f} mm ulnar of the hook tip; target radial to it"



@pytest.mark.parametrize("sid", ["ulnar_artery", "ulnar_nerve"])
def test_on_the_floor_of_guyons_canal(atlas, probe, measured, sid):
    """From the level of the pisiform to the hook the ulnar artery and nerve lie on the canal's
    floor, the flexor retinaculum's ulnar part (ANATOMY.md: they enter the hand superficial to the
    retinaculum; the pressure model counts them pinned there): the first structure dorsal to each
    is the retinaculum (beneath the nerve's division, its deep branch)."""
    pisiform, hook = (require_landmark(atlas, lid).point[1] for lid in ("pisiform", "hook_of_hamate"))
    points, radii = tube_between(atlas, sid, (pisiform - 3.0, hook))
    hits = probe.hits(points, np.tile([0.0, 0.0, -1.0], (len(points), 1)), max_depth=10.0)
    below = [[h for h in row if not h[1].startswith(sid)][:1] for row in hits]  # nor its own branches
    first = [row[0][1] if row else "nothing" for row in below]
    gaps = np.array([row[0][0] if row else np.inf for row in below]) - radii
    off = [f"y {p[1]:.1f}: {f}" for p, f in zip(points, first, strict=True) if f != "flexor_retinaculum"]
    name = sid.replace("_", " ")
    measured(f"{name} points in Guyon's canal off the retinaculum", len(off), "0")
    widest = measured(f"{name} to the canal's floor, widest gap (mm)", float(gaps.max()), "<= 3.5")
    assert len(points) >= 10 and not off, f"the {name} does not lie on the retinaculum at {off}"
    assert widest <= 3.5, f"the {name} lies up to {widest:.1f} mm above its floor; target <= 3.5 mm"


# ============================================================================= 3. flexor retinaculum
def roof_gaps(atlas, points: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For tube points (centres and radii): the gap from the tube's palmar surface up to the deep
    surface of the flexor retinaculum above it, along +z (nan where no retinaculum is above)."""
    origins = points.copy()
    origins[:, 2] = 500.0
    down = np.tile([0.0, 0.0, -1.0], (len(points), 1))
    roof = atlas.mesh("flexor_retinaculum")
    where, ray, _ = roof.ray.intersects_location(origins, down, multiple_hits=True)
    deep = np.full(len(points), np.nan)
    for k in np.unique(ray):
        deep[k] = where[ray == k, 2].min()
    return deep - points[:, 2] - radii


def test_flexor_retinaculum_length(atlas, measured):
    lo, hi = atlas.mesh("flexor_retinaculum").bounds[:, 1]
    length = measured("flexor retinaculum, proximal-distal (mm)", float(hi - lo), "22-30")
    assert 22.0 <= length <= 30.0, f"flexor retinaculum {length:.1f} mm proximal-distal; target 22-30 mm"


def test_median_nerve_directly_under_the_retinaculum(atlas, measured):
    """Between the tunnel's inlet and outlet the retinaculum roofs the nerve all along, and at
    some level the nerve lies right under it (gap <= 1.5 mm)."""
    gaps = roof_gaps(atlas, *tube_between(atlas, "median_nerve", tunnel_levels(atlas)))
    assert len(gaps) >= 5, f"only {len(gaps)} median nerve points between the tunnel's inlet and outlet"
    uncovered = measured("median nerve points in the tunnel with no retinaculum above",
                         int(np.isnan(gaps).sum()), "0")
    closest = measured("median nerve surface to the retinaculum, smallest gap (mm)",
                       float(np.nanmin(gaps)), "0-1.5")
    assert uncovered == 0, f"{uncovered} of {len(gaps)} median nerve points in the tunnel have no roof"
    assert closest >= -TOUCH_MM, f"the median nerve crosses the retinaculum (gap {closest:.1f} mm)"
    assert closest <= 1.5, f"median nerve {closest:.1f} mm under the retinaculum at best; target <= 1.5 mm"


# ============================================================================= 4. FCR outside the tunnel
def fcr_groove_points(atlas) -> tuple[np.ndarray, np.ndarray]:
    """FCR centreline points from the tunnel inlet to the trapezium ridge, and their radii."""
    y_in, _ = tunnel_levels(atlas)
    points, radii = tube_between(atlas, "fcr_tendon", (y_in, carpal_tubercles(atlas)["trapezium"][1]))
    assert len(points) >= 3, "the FCR tendon does not pass the levels of the carpal tunnel"
    return points, radii


def test_fcr_radial_to_the_tunnel_contents(atlas, measured):
    """From the inlet to the trapezium ridge FCR lies radial to the median nerve with a wall
    between them (x gap of the surfaces >= 1 mm) and radial to every flexor tendon of the tunnel."""
    points, radii = fcr_groove_points(atlas)
    nerve, nerve_r = atlas.centerline("median_nerve")
    k = np.argmin(np.abs(nerve[None, :, 1] - points[:, None, 1]), axis=1)
    wall = measured("FCR radial to the median nerve: x gap of the surfaces (mm)",
                    float((points[:, 0] - radii - nerve[k, 0] - nerve_r[k]).min()), ">= 1")
    lead = np.inf
    for sid in FLEXOR_TENDONS:
        line, _ = atlas.centerline(sid)
        for p in points:
            level = points_at_y(line, p[1], tol=1.0)
            if len(level):
                lead = min(lead, float(p[0] - level[:, 0].max()))
    lead = measured("FCR x - the most radial tunnel tendon's x (mm)", lead, "> 0")
    assert wall >= 1.0, f"FCR only {wall:.1f} mm radial of the median nerve's surface; target >= 1 mm"
    assert lead > 0.0, f"FCR {lead:+.1f} mm radial of a flexor tendon in the tunnel; target radial of all"


def test_fcr_superficial_to_fpl(atlas, measured):
    """In its trapezial groove FCR lies palmar to FPL, which runs on the tunnel's radial floor."""
    points, _ = fcr_groove_points(atlas)
    fpl, _ = atlas.centerline("fpl_tendon")
    lead = measured("FCR z - FPL z in the tunnel, smallest (mm)",
                    float(min(p[2] - point_at_y(fpl, p[1])[2] for p in points)), "> 0")
    assert lead > 0, f"FCR {lead:+.1f} mm palmar of FPL at worst; target palmar (superficial) at every level"


def test_fcr_in_its_groove_on_the_trapezium(atlas, measured):
    """FCR runs in its own groove on the trapezium: where the retinaculum roofs it, it lies in that
    groove (at most 5 mm ulnar to the ridge and within 2 mm of the trapezium or scaphoid)."""
    points, radii = fcr_groove_points(atlas)
    ridge = carpal_tubercles(atlas)["trapezium"]
    on_trapezium = bone_gap(atlas, "trapezium", points) - radii
    on_bone = np.minimum(on_trapezium, bone_gap(atlas, "scaphoid", points) - radii)
    roofed = ~np.isnan(roof_gaps(atlas, points, radii))
    in_tunnel = roofed & ((ridge[0] - points[:, 0] > 5.0) | (on_bone > 2.0))
    nearest = measured("FCR surface to the trapezium, nearest (mm)", float(on_trapezium.min()), "<= 2")
    measured("FCR points under the retinaculum outside the trapezial groove", int(in_tunnel.sum()), "0")
    assert nearest <= 2.0, f"FCR {nearest:.1f} mm from the trapezium at best; target <= 2 mm (in its groove)"
    assert not in_tunnel.any(), (
        f"{int(in_tunnel.sum())} of {len(points)} FCR points lie under the retinaculum in the tunnel, up "
        f"to {(ridge[0] - points[in_tunnel, 0]).max():.1f} mm ulnar of the trapezium ridge; target in its "
        "groove")


# ============================================================================= 5. extensor retinaculum
def extensor_tendons(atlas) -> set[str]:
    """The extensor tendons of ANATOMY.md and any other tendon of the ``extensor_tendons`` group."""
    group = atlas.descendants("extensor_tendons") if "extensor_tendons" in atlas.structures else ()
    return {sid for sid in (*group, *EXTENSOR_TENDONS)
            if sid in atlas.structures and atlas.structures[sid].tissue == "tendon"}


def test_extensor_retinaculum_superficial_to_extensor_tendons(atlas, probe, measured):
    """Rays from the dorsal and side skin over the wrist that cross both the retinaculum and an
    extensor tendon meet the retinaculum first (the six compartments lie beneath it)."""
    lo, hi = atlas.mesh("extensor_retinaculum").bounds[:, 1]
    verts, normals = np.asarray(atlas.skin.vertices), np.asarray(atlas.skin.vertex_normals)
    pick = np.flatnonzero((verts[:, 1] > lo + 3) & (verts[:, 1] < hi - 3) & (normals[:, 2] < 0.3))
    tendons = extensor_tendons(atlas)
    rows = probe.hits(verts[pick] - 0.05 * normals[pick], -normals[pick], max_depth=25.0)
    checked, wrong = 0, []
    for origin, row in zip(verts[pick], rows, strict=True):
        tendon = next((d for d, sid in row if sid in tendons), None)
        cover = next((d for d, sid in row if sid == "extensor_retinaculum"), None)
        if tendon is not None and cover is not None:
            checked += 1
            if cover >= tendon:
                wrong.append(origin)
    measured("dorsal wrist rays crossing the retinaculum and an extensor tendon", checked, ">= 20")
    measured("of those, rays meeting the tendon first", len(wrong), "0")
    assert checked >= 20, f"only {checked} rays from the dorsal wrist skin cross the retinaculum and a tendon"
    assert not wrong, (f"{len(wrong)} of {checked} rays meet an extensor tendon before the extensor "
                       f"retinaculum (e.g. from the skin at {np.round(wrong[0], 1)}); target 0")


@pytest.mark.parametrize("sid", ["cephalic_vein", "dorsal_venous_network", "basilic_vein",
                                 "radial_nerve_superficial_branch", "ulnar_nerve_dorsal_branch"])
def test_extensor_retinaculum_deep_to_veins_and_cutaneous_nerves(atlas, probe, measured, sid):
    """Along the line from the skin through each point of the vein or nerve at the retinaculum's
    levels, the retinaculum is never between it and the skin."""
    lo, hi = atlas.mesh("extensor_retinaculum").bounds[:, 1]
    line, _ = atlas.centerline(sid)
    points = line[(line[:, 1] >= lo) & (line[:, 1] <= hi)]
    if not len(points):
        measured(f"{sid}: points at the retinaculum's levels", 0, "-")
        return
    covered = [p for p, row in zip(points, outward_hits(atlas, probe, points), strict=True)
               if any(s == "extensor_retinaculum" for _, s in row)]
    deeper = inward_hits(atlas, probe, points, 12.0)
    over = sum(any(s == "extensor_retinaculum" for _, s in row) for row in deeper)
    measured(f"{sid}: points over the retinaculum", over, "-")
    measured(f"{sid}: points under the retinaculum", len(covered), "0")
    assert not covered, (f"{sid}: the extensor retinaculum lies superficial to it at {len(covered)} of "
                         f"{len(points)} points (e.g. {np.round(covered[0], 1)}); target deep to it")


# ============================================================================= 6. cephalic vein
def cephalic_over_snuffbox(atlas, radius: float = 12.0) -> np.ndarray:
    """The cephalic vein's centreline points within ``radius`` mm of the snuffbox landmark."""
    line, _ = atlas.centerline("cephalic_vein")
    near = line[np.linalg.norm(line - atlas.landmark("anatomical_snuffbox").point, axis=1) <= radius]
    assert len(near), f"the cephalic vein passes no nearer than {radius} mm to the snuffbox landmark"
    return near


def thumb_base(atlas) -> np.ndarray:
    """The base of the first metacarpal: the mean of its most proximal vertices along the thumb."""
    mc1 = atlas.mesh("metacarpal_1")
    verts = np.asarray(mc1.vertices)
    along = (verts - mc1.center_mass) @ (atlas.mesh("distal_phalanx_1").center_mass - mc1.center_mass)
    return verts[along <= np.percentile(along, 8)].mean(axis=0)


def test_cephalic_vein_subcutaneous_over_the_snuffbox(atlas, measured):
    depth = measured("cephalic vein over the snuffbox: deepest centreline point (mm)",
                     float(depth_below_skin(atlas, cephalic_over_snuffbox(atlas)).max()), "<= 4")
    assert depth <= 4.0, f"cephalic vein {depth:.1f} mm under the skin over the snuffbox; target <= 4 mm"


def test_cephalic_vein_superficial_to_epl_and_the_retinaculum(atlas, probe, measured):
    """Over the snuffbox nothing solid (tendon, retinaculum, muscle, bone) lies between the vein and
    the skin."""
    solid = of_tissue(atlas, *SOLID_TISSUES)
    rows = outward_hits(atlas, probe, cephalic_over_snuffbox(atlas))
    over = measured("structures between the cephalic vein and the skin over the snuffbox",
                    sorted({sid for row in rows for _, sid in row if sid in solid}), "none")
    assert not over, f"over the snuffbox the cephalic vein lies deep to {over}; target subcutaneous"


def test_cephalic_vein_stays_off_the_palmar_thumb_base(atlas, measured):
    """Within 25 mm of the first metacarpal's base the vein stays on the thumb's dorsal side
    (measured along the thumb's own palmar axis from the base)."""
    base = thumb_base(atlas)
    line, _ = atlas.centerline("cephalic_vein")
    near = line[np.linalg.norm(line - base, axis=1) <= 25.0]
    assert len(near), "the cephalic vein does not pass the thumb base"
    offset = (near - base) @ atlas.landmark("thumb_metacarpal_palmar").normal
    worst = measured("cephalic vein: most palmar point past the thumb base, thumb palmar axis (mm)",
                     float(offset.max()), "< 0")
    assert worst < 0, (f"the cephalic vein lies {worst:.1f} mm palmar to the thumb base at "
                       f"{np.round(near[np.argmax(offset)], 1)}; target on its dorsal side")


# ============================================================================= 7. thenar and hypothenar
EMINENCES = {"thenar_eminence": "thenar_group", "hypothenar_eminence": "hypothenar_group"}


@pytest.mark.parametrize("landmark", list(EMINENCES))
def test_eminence_is_muscle_under_the_skin(atlas, probe, measured, landmark):
    """Along the inward normal the first solid structure (muscle, tendon, fascia, bone: nerves and
    vessels may lie in the subcutis) is a muscle of the group, within 6 mm of the skin."""
    lm = atlas.landmark(landmark)
    group = set(atlas.descendants(EMINENCES[landmark]))
    depth, sid = probe.first(lm.point - 0.05 * lm.normal, -lm.normal, among=of_tissue(atlas, *SOLID_TISSUES),
                             max_depth=40.0)
    measured(f"{landmark}: first solid structure", f"{sid} at {depth:.1f} mm",
             f"{EMINENCES[landmark]}, <= 6 mm")
    assert sid in group, f"{landmark}: the first structure met is {sid} ({depth:.1f} mm); target its muscle"
    assert depth <= 6.0, f"{landmark}: muscle {depth:.1f} mm under the skin; target <= 6 mm"


# ============================================================================= 8. branch origins
def test_dorsal_branch_of_the_ulnar_nerve_origin(atlas, measured):
    """6.4 cm proximal to the ulnar head, 8.3 cm to the pisiform [Botte 1990]; 7.0 +- 1.0 cm by
    ultrasound [Muscle Nerve 2018]: 6-8 cm proximal to the pisiform."""
    origin = branch_origin(atlas, "ulnar_nerve_dorsal_branch", "ulnar_nerve")
    pisiform = atlas.mesh("pisiform").center_mass
    proximal = measured("dorsal ulnar branch origin proximal to the pisiform centre (mm, along y)",
                        float(pisiform[1] - origin[1]), "60-80")
    assert 60.0 <= proximal <= 80.0, (
        f"the dorsal branch leaves the ulnar nerve {proximal:.1f} mm proximal to the pisiform "
        f"({np.linalg.norm(pisiform - origin):.1f} mm straight); target 60-80 mm")


def test_palmar_cutaneous_branch_origin(atlas, measured):
    """4.56 cm [Bezerra 1986]; 4.69 +- 0.89 cm [Ann Rehabil Med 2019] proximal to the wrist."""
    origin = branch_origin(atlas, "median_palmar_cutaneous_branch", "median_nerve")
    proximal = measured("median palmar cutaneous branch origin proximal to the crease (mm, along y)",
                        float(crease_y(atlas) - origin[1]), "36-64")
    assert 36.0 <= proximal <= 64.0, (f"the palmar cutaneous branch leaves the median nerve "
                                      f"{proximal:.1f} mm proximal to the distal wrist crease; target 36-64")


WRIST_LEVELS = {
    "distal_wrist_crease": crease_y,
    "bistyloid_line": lambda atlas: float(np.mean([atlas.landmark(k).point[1]
                                                   for k in ("radial_styloid", "ulnar_styloid")])),
}


@pytest.mark.parametrize("level", list(WRIST_LEVELS))
def test_palmar_cutaneous_branch_at_the_wrist(atlas, measured, level):
    """At the wrist it is subcutaneous (about 1.9 mm under the skin), between FCR and palmaris
    longus."""
    y = WRIST_LEVELS[level](atlas)
    pcb = point_at_y(atlas.centerline("median_palmar_cutaneous_branch")[0], y)
    assert abs(pcb[1] - y) < 1.5, f"the palmar cutaneous branch does not reach the {level} (y {y:.1f})"
    fcr = point_at_y(atlas.centerline("fcr_tendon")[0], y)[0]
    pl = point_at_y(atlas.centerline("palmaris_longus_tendon")[0], y)[0]
    depth = measured(f"palmar cutaneous branch depth at the {level} (mm)",
                     float(depth_below_skin(atlas, pcb)[0]), "<= 4")
    measured(f"palmar cutaneous branch x at the {level} (x, PL x, FCR x)", np.array([pcb[0], pl, fcr]),
             "between PL and FCR")
    assert depth <= 4.0, f"palmar cutaneous branch {depth:.1f} mm deep at the {level}; target <= 4 mm"
    assert min(fcr, pl) < pcb[0] < max(fcr, pl), (
        f"palmar cutaneous branch at x {pcb[0]:.1f}, not between FCR ({fcr:.1f}) and PL ({pl:.1f})")


@pytest.mark.parametrize("branch", ["ulnar_nerve_superficial_branch", "ulnar_nerve_deep_branch"])
def test_ulnar_nerve_divides_distal_to_the_pisiform(atlas, measured, branch):
    """The ulnar nerve divides 0.9 +- 0.3 cm distal to the pisiform (3-15 mm allowed)."""
    origin = branch_origin(atlas, branch, "ulnar_nerve")
    distal = measured(f"{branch} origin distal to the pisiform centre (mm, along y)",
                      float(origin[1] - atlas.mesh("pisiform").center_mass[1]), "3-15")
    assert 3.0 <= distal <= 15.0, f"the ulnar nerve divides {distal:.1f} mm distal to the pisiform; want 3-15"


# ============================================================================= 9. forearm muscles
@pytest.mark.parametrize("sid", FOREARM_MUSCLES)
def test_forearm_muscle_exists(atlas, sid):
    s = require(atlas, sid)
    group = "forearm_flexors" if sid in FOREARM_FLEXORS else "forearm_extensors"
    vocabulary = (s.tissue, s.layer, s.risk)
    assert vocabulary == ("muscle", "muscle", "low"), f"{sid}: tissue, layer, risk {vocabulary}"
    assert s.parent == group and s.has_mesh, f"{sid}: parent {s.parent!r}; target {group!r}, with a mesh"
    assert atlas.ancestors(sid)[-1] == "hand"


@pytest.mark.parametrize("sid", FOREARM_MUSCLES)
def test_forearm_muscle_closed_and_inside_the_skin(atlas, measured, sid):
    require(atlas, sid)
    mesh = atlas.mesh(sid)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0, f"{sid} is not closed"
    depth = measured(f"{sid}: shallowest vertex under the skin (mm)", min_skin_depth(atlas, mesh.vertices),
                     ">= 0.5")
    assert depth >= 0.5, f"{sid}: a vertex lies {depth:.2f} mm under the skin; target >= 0.5 mm"


def test_pronator_quadratus_on_the_distal_radius_and_ulna(atlas, measured):
    """The distal 4-5 cm of the forearm, on both bones: 30-55 mm long, its distal edge within
    25 mm of the radial styloid's tip, touching the radius and the ulna."""
    require(atlas, "pronator_quadratus")
    pq = atlas.mesh("pronator_quadratus")
    lo, hi = pq.bounds[:, 1]
    tip = atlas.mesh("radius").bounds[1][1]
    length = measured("pronator quadratus, proximal-distal (mm)", float(hi - lo), "30-55")
    edges = measured("pronator quadratus edges proximal to the styloid tip (distal, proximal; mm)",
                     np.array([tip - hi, tip - lo]), "<= 25, <= 70")
    gaps = {bone: measured(f"pronator quadratus to the {bone} (mm)",
                           float(bone_gap(atlas, bone, pq.vertices[::3]).min()), "<= 1.5")
            for bone in ("radius", "ulna")}
    assert 30.0 <= length <= 55.0, f"pronator quadratus {length:.1f} mm long; target 30-55 mm"
    assert edges[0] <= 25.0 and edges[1] <= 70.0, (
        f"pronator quadratus {edges[0]:.1f}-{edges[1]:.1f} mm proximal to the styloid tip; target the "
        "distal 4-5 cm")
    assert max(gaps.values()) <= 1.5, f"pronator quadratus to the bones {gaps}; target on both (<= 1.5 mm)"


def test_pronator_quadratus_deep_to_the_flexor_tendons(atlas, measured):
    """No flexor tendon at its levels has the pronator quadratus palmar to it."""
    require(atlas, "pronator_quadratus")
    pq = atlas.mesh("pronator_quadratus")
    lo, hi = pq.bounds[:, 1]
    wrong = []
    for sid in (*FLEXOR_TENDONS, "fcr_tendon"):
        points, _ = tube_between(atlas, sid, (lo, hi))
        up = np.tile([0.0, 0.0, 1.0], (len(points), 1))
        if len(points) and pq.ray.intersects_any(points, up).any():
            wrong.append(sid)
    measured("flexor tendons with the pronator quadratus palmar to them", wrong, "none")
    assert not wrong, f"pronator quadratus lies palmar to {wrong}; target deep to every flexor tendon"


def test_forearm_section_volar_rays_meet_muscle(atlas, probe, measured):
    """8 cm proximal to the crease, rays from the volar skin (the middle 60 % of its width) meet a
    muscle belly or a tendon within 8 mm, mostly a belly: the forearm is not an empty sleeve."""
    y = forearm_y(atlas)
    verts = np.asarray(atlas.skin.vertices)
    ring = verts[np.abs(verts[:, 1] - y) < 2.0]
    x0, x1 = ring[:, 0].min(), ring[:, 0].max()
    xs = np.linspace(x0 + 0.2 * (x1 - x0), x1 - 0.2 * (x1 - x0), 13)
    origins = np.column_stack([xs, np.full_like(xs, y), np.full_like(xs, 500.0)])
    down = np.tile([0.0, 0.0, -1.0], (len(xs), 1))
    where, _, tri = atlas.skin.ray.intersects_location(origins, down)  # the first hit: the volar skin
    normals = np.asarray(atlas.skin.face_normals)[tri]
    muscles, tendons = of_tissue(atlas, "muscle"), of_tissue(atlas, "tendon")
    rows = probe.hits(where - 0.05 * normals, -normals, max_depth=30.0)
    first_solid = [next((d for d, s in row if s in muscles | tendons), np.inf) for row in rows]
    first_muscle = [next((d for d, s in row if s in muscles), np.inf) for row in rows]
    deepest = measured("volar forearm rays at 8 cm: deepest first muscle or tendon (mm)",
                       float(max(first_solid)), "<= 8")
    share = measured("volar forearm rays at 8 cm meeting a muscle belly within 8 mm (fraction)",
                     float(np.mean(np.array(first_muscle) <= 8.0)), ">= 0.6")
    assert deepest <= 8.0, f"a volar ray meets no muscle or tendon within {deepest:.1f} mm; target <= 8 mm"
    assert share >= 0.6, f"only {share:.0%} of volar rays meet a muscle belly within 8 mm; target >= 60 %"


def test_forearm_section_median_nerve_deep_to_fds(atlas, probe, measured):
    """8 cm proximal to the crease the median nerve runs between FDS and FDP: FDS palmar to it
    and the nerve at least 8 mm under the skin."""
    require(atlas, "flexor_digitorum_superficialis")
    nerve = point_at_y(atlas.centerline("median_nerve")[0], forearm_y(atlas))
    depth = measured("median nerve depth at 8 cm (mm)", float(depth_below_skin(atlas, nerve)[0]), ">= 8")
    over = measured("structures palmar (+z) to the median nerve at 8 cm",
                    sorted({s for _, s in probe.hits(nerve, [0.0, 0.0, 1.0], max_depth=40.0)[0]}) ,
                    "includes flexor_digitorum_superficialis")
    assert depth >= 8.0, f"median nerve {depth:.1f} mm under the skin at 8 cm; target >= 8 mm (deep to FDS)"
    assert "flexor_digitorum_superficialis" in over, f"FDS is not palmar to the median nerve at 8 cm: {over}"


def test_radial_artery_superficial_in_the_distal_forearm(atlas, measured):
    """From 8 cm down to the pulse point the radial artery lies under skin and fascia (and the
    edge of brachioradialis): at most 10 mm deep."""
    pulse = atlas.landmark("radial_pulse").point[1]
    points, _ = tube_between(atlas, "radial_artery", (forearm_y(atlas), pulse))
    depth = measured("radial artery from 8 cm to the pulse point: deepest (mm)",
                     float(depth_below_skin(atlas, points).max()), "<= 10")
    assert depth <= 10.0, f"radial artery {depth:.1f} mm under the skin in the distal forearm; target <= 10"


def test_ulnar_artery_under_the_flexors_in_the_forearm(atlas, probe, measured):
    """8 cm proximal to the crease the ulnar artery lies on FDP under FCU and FDS: covered by one
    of them, 5-20 mm under the skin (a plausible range, not a sourced figure)."""
    artery = point_at_y(atlas.centerline("ulnar_artery")[0], forearm_y(atlas))
    depth = measured("ulnar artery depth at 8 cm (mm)", float(depth_below_skin(atlas, artery)[0]), "5-20")
    over = measured("structures between the ulnar artery and the skin at 8 cm",
                    sorted({s for _, s in outward_hits(atlas, probe, artery[None])[0]} - {"ulnar_artery"}),
                    "FCU or FDS among them")
    assert 5.0 <= depth <= 20.0, f"ulnar artery {depth:.1f} mm under the skin at 8 cm; target 5-20 mm"
    assert {"flexor_carpi_ulnaris", "flexor_digitorum_superficialis"} & set(over), (
        f"the ulnar artery is not covered by FCU or FDS at 8 cm (over it: {over})")


@pytest.mark.parametrize("tendon", list(TENDON_MUSCLE))
def test_tendon_leaves_its_muscle(atlas, measured, tendon):
    """A forearm tendon begins in (or on) its own muscle belly, not in empty space."""
    muscle = TENDON_MUSCLE[tendon]
    require(atlas, muscle)
    line, _ = atlas.centerline(tendon)
    start = line[np.argmin(line[:, 1])]
    outside = -trimesh.proximity.ProximityQuery(atlas.mesh(muscle)).signed_distance([start])[0]
    gap = measured(f"{tendon}: proximal end to {muscle} (mm)", float(outside), "<= 2")
    assert gap <= 2.0, f"{tendon} begins {gap:.1f} mm from {muscle}; target in or on it (<= 2 mm)"


def test_brachioradialis_inserts_by_the_radial_styloid(atlas, measured):
    """Brachioradialis (with its tendon: any id starting ``brachioradialis``) reaches the radius
    within 30 mm of the styloid's tip, at the base of the styloid."""
    require(atlas, "brachioradialis")
    tip = extreme(atlas.mesh("radius"), [0.5, 1.0, 0.0], count=3)
    points = np.vstack([atlas.mesh(sid).vertices for sid in atlas.with_geometry()
                        if sid.startswith("brachioradialis")])
    near = points[np.linalg.norm(points - tip, axis=1) <= 30.0]
    gap = measured("brachioradialis to the radius within 30 mm of the styloid tip (mm)",
                   float(bone_gap(atlas, "radius", near).min()) if len(near) else np.inf, "<= 1.5")
    assert gap <= 1.5, f"brachioradialis comes no nearer than {gap:.1f} mm to the distal radius; target on it"


# ============================================================================= 10. forearm landmarks
#: landmark -> which way it faces (+1 palmar, -1 dorsal)
FOREARM_LANDMARKS = {"volar_forearm_mid": 1.0, "dorsal_forearm_mid": -1.0}


@pytest.mark.parametrize("lid", list(FOREARM_LANDMARKS))
def test_forearm_midline_landmark(atlas, measured, lid):
    """On the skin, on the volar (dorsal) midline, 8 cm (+- 3 mm) proximal to the crease, facing
    palmar (dorsal)."""
    lm = require_landmark(atlas, lid)
    sign = FOREARM_LANDMARKS[lid]
    verts = np.asarray(atlas.skin.vertices)
    ring = verts[np.abs(verts[:, 1] - lm.point[1]) < 2.0]
    proximal = measured(f"{lid}: proximal to the crease (mm)", float(crease_y(atlas) - lm.point[1]), "77-83")
    facing = measured(f"{lid}: normal z", float(lm.normal[2]), ">= 0.7" if sign > 0 else "<= -0.7")
    off = measured(f"{lid}: x off the forearm's midline (mm)",
                   float(lm.point[0] - (ring[:, 0].min() + ring[:, 0].max()) / 2), "within +- 5")
    assert abs(proximal - FOREARM_LEVEL_MM) <= 3.0, f"{lid}: {proximal:.1f} mm from the crease; target 77-83"
    assert abs(depth_below_skin(atlas, lm.point)[0]) < 0.05, f"{lid} is not on the skin"
    assert sign * facing >= 0.7, f"{lid} normal {np.round(lm.normal, 2)}; target {sign:+.0f} * z >= 0.7"
    assert abs(off) <= 5.0, f"{lid} {off:+.1f} mm off the midline; target within 5 mm"
    assert sign * (lm.point[2] - ring[:, 2].mean()) > 0, f"{lid} is on the wrong face of the forearm"


# ============================================================================= 11. dorsal digital nerves
def digit_frame(atlas, digit: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Mid-shaft of a proximal phalanx, its palmar axis and its lateral axes (the grid landmarks'
    normals, so the thumb has its own frame)."""
    number = DIGITS.index(digit) + 1
    centre = np.asarray(atlas.mesh(f"proximal_phalanx_{number}").center_mass)
    palmar = atlas.landmark(f"{digit}_proximal_phalanx_palmar").normal
    sides = {side: atlas.landmark(f"{digit}_proximal_phalanx_{side}").normal for side in ("radial", "ulnar")}
    return centre, palmar, sides


@pytest.mark.parametrize("sid", DORSAL_DIGITAL_NERVES)
def test_dorsal_digital_nerve_exists(atlas, measured, sid):
    s = require(atlas, sid)
    vocabulary = (s.tissue, s.layer, s.risk)
    assert vocabulary == ("nerve", "neurovascular", "high"), f"{sid}: tissue, layer, risk {vocabulary}"
    assert s.is_tube and atlas.ancestors(sid)[-1] == "hand"
    depth = measured(f"{sid}: shallowest vertex under the skin (mm)",
                     min_skin_depth(atlas, atlas.mesh(sid).vertices), ">= 0.5")
    assert depth >= 0.5, f"{sid}: a vertex lies {depth:.2f} mm under the skin; target >= 0.5 mm"


@pytest.mark.parametrize("sid", DORSAL_DIGITAL_NERVES)
def test_dorsal_digital_nerve_on_the_dorsolateral_phalanx(atlas, measured, sid):
    """Beside the proximal phalanx's mid-shaft: on its side, dorsal of its mid-plane and of the
    palmar digital nerve of that side."""
    require(atlas, sid)
    digit, side = sid.split("_")[3:5]
    centre, palmar, sides = digit_frame(atlas, digit)
    n = nearest_on(atlas.centerline(sid)[0], centre) - centre
    p = nearest_on(atlas.centerline(f"digital_nerve_{digit}_{side}")[0], centre) - centre
    offset = measured(f"{sid}: palmar, lateral offsets and distance from the mid-shaft (mm)",
                      np.array([n @ palmar, n @ sides[side], np.linalg.norm(n)]), "< 0, > 2, <= 12")
    assert offset[0] < 0, f"{sid} {offset[0]:+.1f} mm palmar of the phalanx mid-plane; target dorsal"
    assert offset[1] > 2.0, f"{sid} {offset[1]:+.1f} mm to the {side} of the phalanx axis; target > 2 mm"
    assert offset[2] <= 12.0, f"{sid} passes {offset[2]:.1f} mm from the mid-shaft; target <= 12 mm"
    assert n @ palmar < p @ palmar, f"{sid} is not dorsal to digital_nerve_{digit}_{side}"


@pytest.mark.parametrize("sid", DORSAL_DIGITAL_NERVES)
def test_dorsal_digital_nerve_branches_from_its_source(atlas, measured, sid):
    """Its proximal end meets the superficial radial nerve (thumb to radial ring) or the dorsal
    branch of the ulnar nerve (ulnar ring, little) within 3 mm: directly, through a sibling
    dorsal digital nerve, or through another dorsal nerve of that nerve's group."""
    require(atlas, sid)
    ulnar = sid in DORSAL_ULNAR_DIGITS
    source = "ulnar_nerve_dorsal_branch" if ulnar else "radial_nerve_superficial_branch"
    siblings = (s for s in DORSAL_DIGITAL_NERVES if (s in DORSAL_ULNAR_DIGITS) == ulnar)
    group = (s for s in atlas.descendants(atlas.structures[source].parent) if "dorsal" in s)
    family = {source, *siblings, *group} - {sid}
    tubes = [s for s in family if s in atlas.structures and atlas.structures[s].is_tube]
    lines = np.vstack([atlas.centerline(s)[0] for s in tubes])
    line, _ = atlas.centerline(sid)
    gap = measured(f"{sid}: proximal end to its source nerve (mm)",
                   float(min(np.linalg.norm(lines - end, axis=1).min() for end in (line[0], line[-1]))),
                   "<= 3")
    assert gap <= 3.0, f"{sid} begins {gap:.1f} mm from {source} and its branches; target <= 3 mm"


# ============================================================================= 12. mesh quality
TURN_IDS = [sid for sid in (*NERVES, *ARTERIES, *VEINS, *TENDONS, *DORSAL_DIGITAL_NERVES)
            if sid not in TURNS_BY_ANATOMY]


@pytest.mark.parametrize("sid", TURN_IDS)
def test_no_kink_or_hairpin(atlas, measured, sid):
    """At most 60 degrees of turn over any 3 mm of centreline (each path of a network)."""
    require(atlas, sid)
    worst, where = max((max_turn(line, span=TURN_SPAN_MM) for line, _ in atlas.centerlines(sid)),
                       key=lambda t: t[0])
    measured(f"{sid}: sharpest turn over 3 mm (degrees)", round(worst, 1), f"<= {MAX_TURN_DEG:.0f}")
    assert worst <= MAX_TURN_DEG, (f"{sid} turns {worst:.0f} degrees within {TURN_SPAN_MM:.0f} mm at "
                                   f"{np.round(where, 1)}; target <= {MAX_TURN_DEG:.0f}")


def test_no_kink_in_other_tubes(atlas):
    """The same for any other nerve, vessel or tendon the atlas holds (ECRL, EIP, ... when added)."""
    known = {*TURN_IDS, *TURNS_BY_ANATOMY}
    worst = {s.id: max(max_turn(line, span=TURN_SPAN_MM)[0] for line, _ in atlas.centerlines(s.id))
             for s in atlas if s.is_tube and s.id not in known}
    bad = {sid: round(turn) for sid, turn in worst.items() if turn > MAX_TURN_DEG}
    assert not bad, f"tubes turning more than {MAX_TURN_DEG:.0f} degrees over {TURN_SPAN_MM:.0f} mm: {bad}"


@pytest.mark.parametrize("tendon", TENDONS)
def test_tendon_not_through_a_muscle(atlas, measured, tendon):
    """No centreline point inside a muscle (that is, the tendon buried in it by at least its
    radius), except its own muscle of origin and, for FDP, the lumbricals that arise from it."""
    line = np.vstack([points for points, _ in atlas.centerlines(tendon)])
    allowed = {TENDON_MUSCLE.get(tendon)} | (LUMBRICALS if tendon.startswith("fdp_") else set())
    through = {}
    for muscle in sorted(of_tissue(atlas, "muscle") - allowed):
        mesh = atlas.mesh(muscle)
        lo, hi = mesh.bounds
        points = line[np.all((line > lo - 1) & (line < hi + 1), axis=1)]
        if len(points) and (inside := mesh.contains(points)).any():
            through[muscle] = int(inside.sum())
    measured(f"{tendon}: muscles it passes through (centreline points inside)", through, "none")
    assert not through, f"{tendon} passes through {through} (centreline points inside); target none"


@pytest.mark.parametrize("sid", [*HAND_MUSCLES, *FOREARM_MUSCLES])
def test_muscle_is_one_closed_body(atlas, measured, sid):
    """Not shredded: one connected, watertight, consistently wound body."""
    require(atlas, sid)
    mesh = atlas.mesh(sid)
    faces = np.arange(len(mesh.faces))
    parts = trimesh.graph.connected_components(mesh.face_adjacency, nodes=faces, min_len=1)
    pieces = measured(f"{sid}: connected pieces", len(parts), "1")
    assert pieces == 1, f"{sid} is in {pieces} pieces; target one body"
    assert mesh.is_watertight and mesh.is_winding_consistent, f"{sid} is not watertight, consistently wound"
    assert mesh.volume > 0, f"{sid} is wound inside out"


# ============================================================================= 13. the other extensor tendons
#: Dorsal compartment of each extensor tendon under the retinaculum, radial (1) to ulnar (6).
COMPARTMENT = {
    "apl_tendon": 1, "epb_tendon": 1, "ecrl_tendon": 2, "ecrb_tendon": 2, "epl_tendon": 3,
    **{f"edc_tendon_{d}": 4 for d in range(2, 6)}, "eip_tendon": 4, "ecu_tendon": 6,
}
#: Wrist extensor -> the metacarpal it inserts on.
INSERTS_ON = {"ecrl_tendon": "metacarpal_2", "ecrb_tendon": "metacarpal_3", "ecu_tendon": "metacarpal_5"}
#: Proper finger extensor -> (its finger, the EDC tendon whose extensor hood it joins).
JOINS_HOOD = {"eip_tendon": ("index", "edc_tendon_2")}
#: A compartment's floor is the bone: tendon surface to the radius or ulna (mm), about the 1-2 mm
#: of the sheath and the compartment's floor.
FLOOR_MM = 3.0


def under_retinaculum(atlas, probe: RayProbe, sid: str) -> np.ndarray:
    """The centreline points of ``sid`` with the extensor retinaculum between them and the skin
    (the stretch in its dorsal compartment)."""
    lo, hi = atlas.mesh("extensor_retinaculum").bounds[:, 1]
    line = np.vstack([points for points, _ in atlas.centerlines(sid)])
    points = line[(line[:, 1] >= lo) & (line[:, 1] <= hi)]
    if not len(points):
        return points
    rows = outward_hits(atlas, probe, points)
    return points[[any(s == "extensor_retinaculum" for _, s in row) for row in rows]]


@pytest.mark.parametrize("sid", NEW_EXTENSORS)
def test_extensor_tendon_exists(atlas, sid):
    s = require(atlas, sid)
    vocabulary = (s.tissue, s.layer, s.risk)
    assert vocabulary == ("tendon", "tendon", "low"), f"{sid}: tissue, layer, risk {vocabulary}"
    assert s.is_tube and "extensor_tendons" in atlas.ancestors(sid), f"{sid} is not an extensor tendon tube"


@pytest.mark.parametrize("sid", NEW_EXTENSORS)
def test_extensor_tendon_passes_under_the_retinaculum(atlas, probe, measured, sid):
    """At least 8 mm of the tendon runs in a compartment (the retinaculum over it)."""
    require(atlas, sid)
    covered = under_retinaculum(atlas, probe, sid)
    span = measured(f"{sid}: length under the extensor retinaculum, along y (mm)",
                    float(np.ptp(covered[:, 1])) if len(covered) else 0.0, ">= 8")
    assert span >= 8.0, f"{sid} runs under the extensor retinaculum over {span:.1f} mm; target >= 8 mm"


def compartment_pairs() -> list[tuple[str, str]]:
    """Each new tendon with every tendon of the neighbouring built compartments (radial one first;
    compartment 5 is not built, so 4 and 6 are neighbours)."""
    built = sorted(set(COMPARTMENT.values()))
    pairs = []
    for new in NEW_EXTENSORS:
        for other, k in COMPARTMENT.items():
            if other == new or abs(built.index(k) - built.index(COMPARTMENT[new])) != 1:
                continue
            pair = (new, other) if COMPARTMENT[new] < k else (other, new)
            if pair not in pairs:
                pairs.append(pair)
    return pairs


@pytest.mark.parametrize(("radial", "ulnar"), compartment_pairs())
def test_extensor_compartments_in_order(atlas, probe, measured, radial, ulnar):
    """At a level where both run under the retinaculum, the tendon of the lower-numbered
    compartment lies radial to that of the next (1 APL/EPB, 2 ECRL/ECRB, 3 EPL, 4 EDC/EIP, 5 EDM
    (not built), 6 ECU)."""
    a, b = (under_retinaculum(atlas, probe, require(atlas, sid).id) for sid in (radial, ulnar))
    assert len(a) and len(b), f"{radial if not len(a) else ulnar} never runs under the retinaculum"
    lo, hi = max(a[:, 1].min(), b[:, 1].min()), min(a[:, 1].max(), b[:, 1].max())
    assert lo <= hi, f"{radial} and {ulnar} share no level under the retinaculum"
    y = (lo + hi) / 2
    gap = measured(f"{radial} radial to {ulnar} at y={y:.1f} (mm)",
                   float(point_at_y(a, y)[0] - point_at_y(b, y)[0]), "> 0")
    assert gap > 0, f"{radial} lies {-gap:.1f} mm ulnar to {ulnar} under the retinaculum; target radial"


@pytest.mark.parametrize("sid", ["ecrl_tendon", "ecrb_tendon"])
def test_second_compartment_radial_to_listers_tubercle(atlas, probe, measured, sid):
    """ECRL and ECRB pass radial to Lister's tubercle, on the dorsal radius."""
    covered = under_retinaculum(atlas, probe, require(atlas, sid).id)
    tubercle = listers_tubercle(atlas)
    point = point_at_y(covered, tubercle[1])
    side = measured(f"{sid}: radial to Lister's tubercle at its level (mm)",
                    float(point[0] - tubercle[0]), "> 0")
    line, radii = atlas.centerline(sid)
    radius = radii[np.argmin(np.linalg.norm(line - point, axis=1))]
    floor = measured(f"{sid}: surface to the radius there (mm)",
                     float(bone_gap(atlas, "radius", point)[0] - radius), f"<= {FLOOR_MM}")
    assert side > 0, f"{sid} passes {-side:.1f} mm ulnar to Lister's tubercle; target radial"
    assert floor <= FLOOR_MM, f"{sid} lies {floor:.1f} mm off the radius at Lister's tubercle; target on it"


def test_ecu_in_its_groove_by_the_ulnar_styloid(atlas, probe, measured):
    """ECU runs under the retinaculum on the ulnar head, within 12 mm of the styloid's tip."""
    covered = under_retinaculum(atlas, probe, require(atlas, "ecu_tendon").id)
    assert len(covered), "ecu_tendon never runs under the retinaculum"
    tip = extreme(atlas.mesh("ulna"), [0, 1, 0], count=3)
    near = measured("ECU: nearest point under the retinaculum to the ulnar styloid tip (mm)",
                    float(np.linalg.norm(covered - tip, axis=1).min()), "<= 12")
    line, radii = atlas.centerline("ecu_tendon")
    point = covered[np.argmin(np.linalg.norm(covered - tip, axis=1))]
    radius = radii[np.argmin(np.linalg.norm(line - point, axis=1))]
    floor = measured("ECU: surface to the ulna there (mm)", float(bone_gap(atlas, "ulna", point)[0] - radius),
                     f"<= {FLOOR_MM}")
    assert near <= 12.0, f"ECU passes {near:.1f} mm from the ulnar styloid's tip; target <= 12 mm"
    assert floor <= FLOOR_MM, f"ECU lies {floor:.1f} mm off the ulna by the styloid; target in its groove"


def test_eip_deep_to_the_edc_tendons(atlas, probe, measured):
    """In the fourth compartment EIP lies deeper under the skin than the EDC tendon beside it."""
    covered = under_retinaculum(atlas, probe, require(atlas, "eip_tendon").id)
    assert len(covered), "eip_tendon never runs under the retinaculum"
    deeper = []
    for point in covered:
        beside = min((point_at_y(atlas.centerline(f"edc_tendon_{d}")[0], point[1]) for d in range(2, 6)),
                     key=lambda q: abs(q[0] - point[0]))
        deeper.append(depth_below_skin(atlas, point[None])[0] - depth_below_skin(atlas, beside[None])[0])
    worst = measured("EIP deeper than the nearest EDC tendon, least over its compartment (mm)",
                     float(np.min(deeper)), "> 0")
    assert worst > 0, f"EIP lies {-worst:.1f} mm shallower than the EDC tendon beside it; target deep to it"


def dorsal_stretch(atlas, sid: str, *, end_mm: float = 4.0) -> np.ndarray:
    """The centreline from the retinaculum's proximal edge to ``end_mm`` before the insertion."""
    line, _ = atlas.centerline(sid)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    lo = atlas.mesh("extensor_retinaculum").bounds[0, 1]
    return line[(line[:, 1] >= lo) & (arc <= arc[-1] - end_mm)]


@pytest.mark.parametrize("sid", NEW_EXTENSORS)
def test_extensor_tendon_dorsal_to_bone(atlas, probe, measured, sid):
    """From the wrist to its insertion nothing bony lies between the tendon and the nearest skin,
    and that skin faces dorsally (ECU: dorsally or ulnarly)."""
    require(atlas, sid)
    points = dorsal_stretch(atlas, sid)
    bones = of_tissue(atlas, "bone")
    rows = outward_hits(atlas, probe, points)
    under_bone = [p for p, row in zip(points, rows, strict=True) if any(s in bones for _, s in row)]
    normals = nearest_skin(atlas, points)[2]
    facing = normals[:, 2] < 0 if sid != "ecu_tendon" else (normals[:, 2] < 0) | (normals[:, 0] < -0.5)
    measured(f"{sid}: points with bone between it and the skin", len(under_bone), "0")
    measured(f"{sid}: points nearest to palmar skin", int((~facing).sum()), "0")
    assert not under_bone, (f"{sid}: bone lies superficial to it at {len(under_bone)} points, "
                            f"e.g. {np.round(under_bone[0], 1)}")
    assert facing.all(), (f"{sid}: {int((~facing).sum())} points lie nearer the palmar skin, "
                          f"e.g. {np.round(points[~facing][0], 1)}")


@pytest.mark.parametrize("sid", list(INSERTS_ON))
def test_wrist_extensor_inserts_on_its_metacarpal(atlas, measured, sid):
    """The distal end lies on the base of its metacarpal (surface within 1.5 mm), on its dorsal
    side (ECU: on its ulnar side)."""
    bone = INSERTS_ON[sid]
    line, radii = atlas.centerline(require(atlas, sid).id)
    end, radius = line[-1], radii[-1]
    gap = measured(f"{sid}: end surface to {bone} (mm)",
                   float(bone_gap(atlas, bone, end)[0] - radius), "<= 1.5")
    verts = np.asarray(atlas.mesh(bone).vertices)
    base = verts[verts[:, 1] <= verts[:, 1].min() + 8.0]
    mid = base.mean(axis=0)
    near_base = measured(f"{sid}: end distal to the base's proximal surface (mm)",
                         float(end[1] - verts[:, 1].min()), "<= 10")
    assert gap <= 1.5, f"{sid} ends {gap:.1f} mm off {bone}; target on it"
    assert near_base <= 10.0, f"{sid} ends {near_base:.1f} mm along {bone}; target at its base"
    if sid == "ecu_tendon":
        side = measured("ECU end ulnar to the base's centre (mm)", float(mid[0] - end[0]), "> 3")
        assert side > 3.0, (f"ECU ends {side:.1f} mm ulnar to the centre of the fifth metacarpal's base; "
                            "target on its ulnar side")
    else:
        side = measured(f"{sid}: end dorsal to the base's centre (mm)", float(mid[2] - end[2]), "> 2")
        assert side > 2.0, (f"{sid} ends {side:.1f} mm dorsal to the centre of {bone}'s base; "
                            "target on its dorsum")


@pytest.mark.parametrize("sid", list(JOINS_HOOD))
def test_proper_extensor_joins_the_hood_ulnar_to_edc(atlas, measured, sid):
    """EIP ends at the MCP joint of the index finger, in its extensor hood, and runs on the ulnar
    side of that finger's EDC tendon over the metacarpal head."""
    digit, edc = JOINS_HOOD[sid]
    number = DIGITS.index(digit) + 1
    line, _ = atlas.centerline(require(atlas, sid).id)
    head = np.asarray(atlas.mesh(f"metacarpal_{number}").center_mass)
    joint = np.asarray(atlas.mesh(f"proximal_phalanx_{number}").vertices)
    joint = joint[np.argsort((joint - head) @ (joint.mean(axis=0) - head))[:20]].mean(axis=0)
    reach = measured(f"{sid}: end to the MCP joint of the {digit} finger (mm)",
                     float(np.linalg.norm(line[-1] - joint)), "<= 10")
    hood = measured(f"{sid}: end to {edc} (mm)",
                    float(np.linalg.norm(atlas.centerline(edc)[0] - line[-1], axis=1).min()), "<= 4")
    radial = atlas.landmark(f"{digit}_proximal_phalanx_radial").normal
    near_head = nearest_on(line, head + 0.8 * (joint - head))
    beside = nearest_on(atlas.centerline(edc)[0], near_head)
    side = measured(f"{sid}: ulnar to {edc} by the MCP joint (mm)",
                    float((beside - near_head) @ radial), "> 0")
    assert reach <= 10.0, f"{sid} ends {reach:.1f} mm from the {digit} MCP joint; target in its hood"
    assert hood <= 4.0, f"{sid} ends {hood:.1f} mm from {edc}; target joining its hood"
    assert side > 0, f"{sid} runs {-side:.1f} mm radial to {edc}; target on its ulnar side"


@pytest.mark.parametrize("sid", NEW_EXTENSORS)
def test_extensor_tendon_not_through_another_tendon(atlas, measured, sid):
    """Away from its ends (6 mm), no other tendon's surface overlaps it by more than a touch."""
    line, radii = atlas.centerline(require(atlas, sid).id)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    keep = (arc > 6.0) & (arc < arc[-1] - 6.0)
    worst = {}
    for other in sorted(of_tissue(atlas, "tendon") - {sid}):
        for points, rad in atlas.centerlines(other):
            distance = np.linalg.norm(line[keep][:, None] - points[None], axis=2)
            overlap = float((radii[keep][:, None] + rad[None] - distance).max())
            if overlap > TOUCH_MM + 0.5:  # centrelines sampled about every millimetre
                worst[other] = round(overlap, 2)
    measured(f"{sid}: tendons it crosses (overlap, mm)", worst, "none")
    assert not worst, f"{sid} runs through {worst} (mm of overlap); target none"
