"""The web app's logic without a browser: display meshes, HandState (layers, search, clicks, press,
stroke, safety map) and the SVG charts, on the shipped atlas."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
import trimesh

from handatlas import format as fmt
from handatlas.lookup.press import verdict_shares
from handatlas.ui.charts import DEEPEST_MM, depth_bar, retention_chart
from handatlas.ui.colours import MARKER_RGB
from handatlas.ui.display import (
    DECIMATE_ABOVE,
    DISPLAY_TOLERANCE_MM,
    REDUCTION,
    REDUCTION_DEFAULT,
    STEP_MM,
    display_geometry,
    display_meshes,
    unpack,
)
from handatlas.ui.picking import BadClick, cast, parse_ray
from handatlas.ui.state import (
    DEFAULT_OPACITY,
    DEFAULT_SHOWN,
    SEE_THROUGH,
    SELECTED_RGB,
    VERDICT_RGB,
    HandState,
    safety_codes,
    shown_at_start,
)
from handatlas.ui.views import VERDICT_WORDS, safety_legend

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def packed(atlas):
    parts = display_meshes(atlas, shown_at_start(atlas))
    return parts, {sid: mesh for part in parts for sid, mesh in unpack(part).items()}


@pytest.fixture
def state(atlas):
    return HandState(atlas)


# ----------------------------------------------------------------------------- display meshes
def test_pack_unpack_round_trip(atlas, packed):
    parts, out = packed
    ids = [[str(e["id"]) for e in part.index] for part in parts]
    # what a page shows when it opens comes first; the rest (muscles...) only when shown
    assert [set(i) for i in ids] == [set(shown_at_start(atlas)),
                                     set(atlas.with_geometry()) - shown_at_start(atlas)]
    assert {"muscles", "skin", "bones"} <= set(atlas.children(fmt.ROOT_ID))
    assert not set(atlas.with_geometry("muscles")) & set(ids[0]) and ids[0][-1] == fmt.SKIN_ID
    for meshes in parts:
        assert np.all(np.asarray(meshes.scale) == STEP_MM)  # the atlas is narrower than 655 mm
        for entry in meshes.index:
            sid = str(entry["id"])
            vertices, faces = display_geometry(atlas, sid)
            got_v, got_f = out[sid]
            assert got_v.shape == vertices.shape and entry["points"] == len(vertices)
            assert np.abs(got_v - vertices).max() <= STEP_MM / 2 + 1e-9, sid
            assert np.array_equal(got_f, faces), sid
            assert entry["triangles"] == len(faces)
            assert entry["wide"] == (len(vertices) > 65535)
            if sid != fmt.SKIN_ID and atlas.triangles(sid) > DECIMATE_ABOVE:
                assert len(faces) < atlas.triangles(sid), f"{sid} should be decimated"
        assert meshes.triangles == sum(len(out[str(e["id"])][1]) for e in meshes.index)
        assert meshes.blob.dtype == np.uint8 and meshes.blob.nbytes < meshes.raw_bytes
    # positions and indices deflate to well under the plain quantised values' ~ 1.47 MB
    assert sum(m.blob.nbytes for m in parts) < 1.2e6


def test_skin_is_sent_undecimated(atlas, packed):
    """Per-vertex skin data (the safety map) is drawn on the browser's skin as is."""
    _, out = packed
    skin = atlas.arrays(fmt.SKIN_ID)
    vertices, faces = out[fmt.SKIN_ID]
    assert len(vertices) == len(skin["vertices"])
    assert np.abs(vertices - skin["vertices"]).max() <= STEP_MM / 2 + 1e-9
    assert np.array_equal(faces, skin["faces"])


# ----------------------------------------------------------------------------- layers
def test_layer_state_follows_visibility_and_group_opacity(atlas, state):
    layers = state.layer_state()
    assert set(layers) == set(atlas.with_geometry())
    for sid, layer in layers.items():
        group = state.group_of[sid]
        assert layer["visible"] == (group in DEFAULT_SHOWN), sid
        assert layer["opacity"] == DEFAULT_OPACITY.get(group, 1.0)
    bones = state.groups["bones"]
    state.show_group("bones", False)
    state.set_opacity("nerves", 0.0)
    layers = state.layer_state()
    assert not any(layers[b]["visible"] for b in bones)
    assert all(layers[n]["opacity"] == 0.0 for n in state.groups["nerves"])
    clickable = state.visible_ids()
    assert not clickable & set(bones) and not clickable & set(state.groups["nerves"])
    assert "skin" in clickable  # translucent but shown
    state.reveal("median_nerve")
    assert state.visible["median_nerve"] and state.opacity["nerves"] == 1.0


def test_layer_tree_can_show_one_member_of_a_hidden_group(atlas, state):
    from handatlas.ui.views import layer_tree

    layer_tree(state)
    state.show_group("nerves", False)
    state.search("median nerve")  # reveals the median nerve only
    assert [n for n in state.groups["nerves"] if state.visible[n]] == ["median_nerve"]


# ----------------------------------------------------------------------------- search
@pytest.mark.parametrize(("text", "sid"), [
    ("median nerve", "median_nerve"),       # name
    ("  Median Nerve ", "median_nerve"),    # case and spaces
    ("MN", "median_nerve"),                 # acronym
    ("SBRN", "radial_nerve_superficial_branch"),
    ("navicular", "scaphoid"),              # synonym
])
def test_search_selects_highlights_and_reveals(atlas, state, text, sid):
    state.show_group(state.group_of[sid], False)
    structure = state.search(text)
    assert structure is not None and structure.id == sid
    assert state.selected == sid and state.message == ""
    assert state.highlight == {sid: SELECTED_RGB}
    assert state.visible[sid]


def test_search_a_group_reveals_its_members(atlas, state):
    state.show_group("bones", False)
    structure = state.search("carpus")
    assert structure is not None and structure.id == "carpals"
    members = atlas.with_geometry("carpals")
    assert members and all(state.visible[m] for m in members)
    assert set(state.highlight) == set(members)


def test_search_unknown_name_suggests(state):
    assert state.search("median nerv") is None
    assert "unknown structure 'median nerv'" in state.message
    assert "did you mean" in state.message and "median nerve" in state.message
    assert state.selected == ""
    assert state.search("xyzzy") is None and "xyzzy" in state.message
    assert state.search("   ") is None


# ----------------------------------------------------------------------------- clicks
def _brute_hits(meshes, origin, direction):
    """Each structure's first crossing of the ray, nearest first: [(distance, id, point)]."""
    out = []
    for sid, intersector in meshes.items():
        locations, _, _ = intersector.intersects_location(origin[None], direction[None], multiple_hits=True)
        if len(locations):
            dist = (locations - origin) @ direction
            k = int(np.argmin(dist))
            out.append((float(dist[k]), sid, locations[k]))
    return sorted(out, key=lambda h: h[0])


def test_hit_matches_brute_force_ray_casting(atlas, state):
    rng = np.random.default_rng(7)
    state.show_group("muscles", True)
    state.show_group("veins", False)
    lo, hi = atlas.skin.bounds
    centre = (lo + hi) / 2
    intersectors = {sid: trimesh.ray.ray_triangle.RayMeshIntersector(atlas.mesh(sid))
                    for sid in atlas.with_geometry()}
    checks = 0
    for k in range(50):
        state.show({fmt.SKIN_ID: k % 2 == 0})  # half the rays reach the deeper structures
        visible = state.visible_ids()
        meshes = {sid: intersectors[sid] for sid in visible}
        # aim at a vertex of a visible structure (most rays hit something), from any direction
        target = atlas.arrays(sorted(visible)[rng.integers(len(visible))])["vertices"]
        aim = target[rng.integers(len(target))] + rng.normal(scale=1.0, size=3)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        origin = aim - 400.0 * direction
        message = {"seq": k, "ray": {"origin": origin.tolist(), "direction": (direction * 3.0).tolist()}}
        hit = state.hit(message)
        seen = state.seen(message)
        brute = _brute_hits(meshes, origin, direction)
        if not brute:
            assert hit is None and seen == [] and "Nothing shown" in state.message
            continue
        # what the eye meets: through translucent layers up to the first opaque one, which is picked
        opaque = [i for i, (_, sid, _) in enumerate(brute)
                  if state.opacity[state.group_of[sid]] >= SEE_THROUGH]
        expected = brute[: opaque[0] + 1] if opaque else brute
        _, sid, point = brute[opaque[0]] if opaque else brute[0]
        checks += 1
        assert [h.id for h in seen] == [e[1] for e in expected], k
        assert hit is not None, f"ray {k}: brute force hits {sid}"
        assert hit.id == sid, f"ray {k}: {hit.id} != {sid}"
        assert np.linalg.norm(hit.point - point) < 1e-6, k
        assert hit.behind[0] == sid and state.message == ""
        assert np.linalg.norm(hit.point - centre) < np.linalg.norm(hi - lo)
    assert checks >= 40


def test_hit_lists_everything_behind_visible_or_not(atlas, state):
    points, _ = atlas.centerline("median_nerve")
    aim = points[len(points) // 2]
    origin, down = aim + np.array([0.0, 0.0, 150.0]), np.array([0.0, 0.0, -1.0])
    hit = cast(atlas, origin, down, state.visible_ids())
    assert hit is not None and hit.id == fmt.SKIN_ID and hit.behind[0] == fmt.SKIN_ID
    assert "median_nerve" in hit.behind
    state.show_group(fmt.SKIN_ID, False)
    state.show_group("nerves", False)
    deeper = cast(atlas, origin, down, state.visible_ids())
    assert deeper is None or deeper.id not in (fmt.SKIN_ID, "median_nerve")
    assert cast(atlas, origin, down, {"median_nerve"}).id == "median_nerve"


@pytest.mark.parametrize("ray", [
    None,
    {"origin": [0, 0, "x"], "direction": [0, 0, 1]},
    {"origin": [0, 0, 0], "direction": [0, 0, 0]},
    {"origin": [0, float("nan"), 0], "direction": [0, 0, 1]},
    {"origin": [0, 0], "direction": [0, 0, 1]},
    {"direction": [0, 0, 1]},
])
def test_bad_click_is_a_message(state, ray):
    message = {"seq": 1} if ray is None else {"seq": 1, "ray": ray}
    with pytest.raises(BadClick):
        parse_ray(message)
    assert state.hit(message) is None
    assert state.message.startswith("the click could not be read")
    assert state.skin_point(message) is None and "could not be read" in state.message


def test_click_that_misses_says_so(state):
    away = {"seq": 1, "ray": {"origin": [500, 500, 500], "direction": [1, 0, 0]}}
    assert state.hit(away) is None and state.message.startswith("Nothing shown")
    assert state.skin_point(away) is None and "missed the hand" in state.message


def test_skin_point_ignores_hidden_layers(atlas, state):
    lm = atlas.landmark("radial_pulse")
    state.show_group(fmt.SKIN_ID, False)
    origin = lm.point + 80 * lm.normal
    message = {"seq": 1, "ray": {"origin": origin.tolist(), "direction": (-lm.normal).tolist()}}
    point = state.skin_point(message)
    assert point is not None and np.linalg.norm(point - lm.point) < 1.0


# ----------------------------------------------------------------------------- press
def test_press_sets_report_highlight_and_marker(atlas, state):
    state.grade = "firm"
    report = state.press("radial_pulse")
    expected = atlas.press("radial_pulse", grade="firm", radius_mm=state.radius_mm).as_dict()
    assert report == expected and state.report == expected
    assert report["verdict"] == "avoid"
    levels = {a["id"]: a["level"] for a in report["at_risk"]}
    assert levels["radial_artery"] == "avoid"
    # each structure in the colour of its own level under this press, not of its risk class
    assert state.highlight == {sid: VERDICT_RGB[level] for sid, level in levels.items()}
    assert "caution" in levels.values()  # the palmar cutaneous branch: caution here, risk class high
    assert state.markers == [{"xyz": report["point"], "colour": MARKER_RGB, "radius": 2.5}]
    state.clear_press()
    assert state.report is None and state.highlight == {} and state.markers == []


def test_press_at_a_point_uses_grade_and_radius(atlas, state):
    point = atlas.landmark("palm_center").point
    state.grade, state.radius_mm = "light", 4.0
    report = state.press(point)
    assert report == atlas.press(point, grade="light", radius_mm=4.0).as_dict()
    assert state.markers[0]["colour"] == MARKER_RGB  # the verdict is said in words, not by the mark's colour


def test_changing_the_grade_or_pad_presses_the_same_place_again(atlas, state):
    """A verdict on screen never names a grade other than the one chosen (seen: Firm chosen after a
    light press at the carpal tunnel left "SAFE — light press" showing)."""
    state.grade = "light"
    state.press("carpal_tunnel")
    assert state.report["verdict"] == "safe"
    state.grade = "firm"
    assert state.report == atlas.press("carpal_tunnel", grade="firm", radius_mm=state.radius_mm).as_dict()
    assert state.report["verdict"] == "avoid" and state.pin["title"] == "AVOID — firm press"
    point = atlas.landmark("palm_center").point
    state.press(point)
    state.radius_mm = 20.0
    assert state.report == atlas.press(point, grade="firm", radius_mm=20.0).as_dict()


def test_stroke(atlas, state):
    assert state.check_stroke() is None and "at least two points" in state.message
    y = atlas.landmark("distal_wrist_crease").point[1] - 10
    points = []
    for x in (-15.0, 0.0, 15.0):
        hit = cast(atlas, np.array([x, y, 200.0]), np.array([0.0, 0.0, -1.0]), {fmt.SKIN_ID})
        assert hit is not None
        state.add_stroke_point(hit.point)
        points.append([round(float(v), 2) for v in hit.point])
    assert state.stroke == points
    assert len(state.markers) == 3
    state.grade = "firm"
    result = state.check_stroke()
    expected = atlas.stroke(points, grade="firm", radius_mm=state.radius_mm).as_dict()
    assert result == expected and state.stroke_report == expected and state.message == ""
    colour = VERDICT_RGB["avoid" if expected["verdict"] == "avoid" else "caution"]
    assert state.highlight == dict.fromkeys(expected["structures"], colour)
    state.add_stroke_point(np.array(points[0]))  # drawing on forgets the old answer
    assert state.stroke_report is None and len(state.stroke) == 4
    state.clear_press()
    assert state.stroke == [] and state.stroke_report is None


# ----------------------------------------------------------------------------- safety map
@pytest.mark.parametrize("grade", ["light", "firm"])
def test_safety_map_overlay_is_the_atlas_safety_map(atlas, state, grade):
    state.mode = "press"
    state.show_safety_map(grade)
    codes = state.overlay["codes"]
    assert codes.dtype == np.uint8 and len(codes) == len(atlas.skin.vertices)
    assert np.array_equal(codes, atlas.safety_map(grade=grade, radius_mm=state.radius_mm))
    assert state.overlay["palette"] == [VERDICT_RGB[v] for v in ("safe", "caution", "avoid")]
    assert state.visible[fmt.SKIN_ID] and state.opacity[fmt.SKIN_ID] >= 0.6
    assert safety_codes(atlas, grade, float(state.radius_mm)) is codes  # cached per process
    # the legend's shares are of the skin's area (ANATOMY.md's bands), not of its vertices
    shares = verdict_shares(atlas, codes)
    assert state.overlay["shares"] == shares
    legend = safety_legend(state.overlay)
    for verdict, share in shares.items():
        row = legend.split(f"<b>{VERDICT_WORDS[verdict][1]}</b>")[1].split("</li>")[0]
        assert row.strip().startswith(f"{share:.0%}"), (verdict, legend)
    state.show_safety_map("")
    assert state.overlay == {} and state.safety_grade == ""


def test_the_safety_map_follows_its_control(atlas, state):
    """Light then firm shows the firm map (it once kept the first grade), radius included."""
    state.mode = "press"
    state.safety_grade = "light"
    light = state.overlay["codes"]
    state.safety_grade = "firm"
    assert state.overlay["grade"] == "firm"
    assert np.array_equal(state.overlay["codes"], safety_codes(atlas, "firm", state.radius_mm))
    assert not np.array_equal(state.overlay["codes"], light)
    state.radius_mm = 16.0
    assert np.array_equal(state.overlay["codes"], safety_codes(atlas, "firm", 16.0))


def test_the_safety_map_shows_in_press_mode_only(atlas, state):
    skin = (state.visible[fmt.SKIN_ID], state.opacity[fmt.SKIN_ID])
    state.mode = "press"
    state.safety_grade = "moderate"
    assert state.overlay and state.opacity[fmt.SKIN_ID] >= 0.85
    state.mode = "quiz"
    assert state.overlay == {} and (state.visible[fmt.SKIN_ID], state.opacity[fmt.SKIN_ID]) == skin
    assert state.safety_grade == "moderate"  # the control keeps its choice
    state.mode = "press"
    assert state.overlay["grade"] == "moderate"


def test_selection_and_answers_use_colours_no_tissue_has(atlas, state):
    from handatlas.ui.colours import ANSWER_RGB, TARGET_RGB, hex_to_rgb

    tissue = {tuple(hex_to_rgb(s.colour)) for s in atlas.structures.values() if s.has_mesh}
    for colour in (SELECTED_RGB, ANSWER_RGB, TARGET_RGB):
        assert min(np.linalg.norm(np.subtract(colour, t)) for t in tissue) > 0.35
    veins = hex_to_rgb(atlas.structures["cephalic_vein"].colour)
    assert np.linalg.norm(np.subtract(SELECTED_RGB, veins)) > 0.5  # a pick no longer looks like a vein


# ----------------------------------------------------------------------------- charts
def _rows(svg: str) -> list[tuple[str, ET.Element]]:
    """(label, bar) per row of the depth bar: the right-aligned names (in full: their title) and the
    rects with a title.  A label shown cut is the start of the name and fits its column."""
    root = ET.fromstring(svg)
    labels = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end" and t.get("class") is None]
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(labels) == len(bars)
    for t in labels:
        shown, full = "".join(t.itertext())[len(t.find(f"{SVG}title").text):], t.find(f"{SVG}title").text
        assert shown == full or (shown.endswith("…") and full.startswith(shown[:-1])), (shown, full)
        assert len(shown) * 6.2 <= float(t.get("x")) - 2, f"{shown!r} does not fit left of its bar"
    return [(t.find(f"{SVG}title").text or "", r) for t, r in zip(labels, bars, strict=True)]


@pytest.mark.parametrize("where", ["carpal_tunnel", "radial_pulse", "palm_center", "dorsum_center"])
def test_depth_bar_has_one_row_per_layer(atlas, where):
    report = atlas.press(where, grade="firm").as_dict()
    svg = depth_bar(report, atlas)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("class") == "depth-bar"
    rows = _rows(svg)
    names = [atlas.structures[str(layer["id"])].name for layer in report["layers"]]
    skin = atlas.structures[fmt.SKIN_ID].name
    drawn = [name for name, _ in rows]
    # the skin row is optional (every press starts in the skin); every other layer has its row, in order
    assert [n for n in drawn if n != skin] == [n for n in names if n != skin]
    assert drawn.count(skin) <= 1
    at_risk = {atlas.structures[str(a["id"])].name for a in report["at_risk"]}
    for name, bar in rows:
        assert (bar.get("stroke") == "#d32f2f") == (name in at_risk), name
    limit = [line for line in root.iter(f"{SVG}line") if line.get("class") == "depth-limit"]
    assert len(limit) == 1
    assert str(report["grade"]) in limit[0].find(f"{SVG}title").text
    # the line is how far the pad pushes the skin in, not how deep the pressure reaches (structures
    # flagged below it looked like a contradiction), and it says so on the page
    label = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "depth-limit-label"]
    assert label == [f"- - - the pad pushes the skin in {report['sink_mm']:.1f} mm"]
    assert "reaches deeper" in limit[0].find(f"{SVG}title").text


def test_depth_bar_reaches_the_structure_the_message_names(atlas):
    """At mid-forearm on the back the message names the ulnar nerve, 31.5 mm deep: the axis goes
    past the 30 mm it once stopped at, where its row was squeezed against the edge (never past
    DEEPEST_MM); a press whose structures are all shallower keeps 30 mm."""
    report = atlas.press("dorsal_forearm_mid", grade="firm").as_dict()
    deepest = report["most_loaded"]["depth_mm"]
    assert report["most_loaded"]["name"] == "Ulnar nerve" and f"({deepest:.1f} mm deep)" in report["message"]
    assert 30.0 < deepest < DEEPEST_MM - 1.0
    root = ET.fromstring(depth_bar(report, atlas))
    ticks = [float(t.text) for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"]
    assert ticks[-1] >= deepest + 1.0 and ticks[-1] % 5 == 0 and ticks[-1] - deepest <= 6.0
    shallow = atlas.press("radial_pulse", grade="light").as_dict()
    ticks = [float(t.text) for t in ET.fromstring(depth_bar(shallow, atlas)).iter(f"{SVG}text")
             if t.get("text-anchor") == "middle"]
    assert ticks[-1] == 30.0


@pytest.mark.parametrize(("where", "grade"), [("guyons_canal", "moderate"), ("carpal_tunnel", "firm"),
                                             ("radial_pulse", "light")])
def test_depth_bar_shows_every_structure_the_verdict_names(atlas, where, grade):
    """A structure at risk beside the axis (Guyon's canal: the ulnar artery's most loaded point is
    off the tilted axis) has its row too, marked at the depth the verdict quotes."""
    report = atlas.press(where, grade=grade).as_dict()
    root = ET.fromstring(depth_bar(report, atlas))
    crossed = {str(layer["id"]) for layer in report["layers"]}
    marks = {c.find(f"{SVG}title").text.split(":")[0]: float(c.get("cx"))
             for c in root.iter(f"{SVG}circle") if c.get("class") == "beside-axis"}
    ticks = {float(t.text): float(t.get("x"))
             for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "middle"}
    mm = (ticks[5.0] - ticks[0.0]) / 5.0
    for item in report["at_risk"]:
        name = atlas.structures[str(item["id"])].name
        if str(item["id"]) in crossed:
            assert name not in marks
        else:
            assert marks[name] == pytest.approx(ticks[0.0] + mm * item["depth_mm"], abs=0.2), name
    if where == "guyons_canal":
        assert "Ulnar artery" in marks  # the headline structure, beside the axis


def test_depth_bar_escapes_and_clips():
    class Fake:
        def __init__(self) -> None:
            self.structures = {"x": type("S", (), {"name": "A <b> & C", "colour": "#123456"})()}

    report = {"layers": [{"id": "x", "entry_mm": 10.0, "exit_mm": 99.0}], "at_risk": [],
              "shielded": [], "sink_mm": 20.0, "grade": "firm"}
    svg = depth_bar(report, Fake(), width=400, max_mm=30.0)
    (name, bar), = _rows(svg)
    assert name == "A <b> & C"
    long = {"x": type("S", (), {"name": "Flexor digitorum superficialis tendon of the middle finger",
                                "colour": "#123456"})()}
    (name, _), = _rows(depth_bar(report, type("F", (), {"structures": long})(), width=400))
    assert name == long["x"].name  # in full in its title, cut on the page
    assert float(bar.get("x")) + float(bar.get("width")) <= 400 - 12 + 1e-6


def test_retention_chart_parses():
    svg = retention_chart({"topic:median_nerve": 0.95, "topic:carpal_tunnel": 0.4})
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts.index("carpal tunnel") < texts.index("median nerve")  # weakest first
    assert "No answers yet." in [t.text for t in ET.fromstring(retention_chart({})).iter(f"{SVG}text")]


def test_scene_javascript_ships_as_package_data():
    from handatlas.ui.scene import HandScene

    path = HandScene._esm
    assert path.is_file() and path.suffix == ".js" and path.parent.name == "ui"
    assert "export function render" in path.read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- search suggestions
@pytest.mark.parametrize(("text", "kind", "sid", "name"), [
    ("snuffbox", "landmark", "anatomical_snuffbox", "Anatomical snuffbox"),  # the placeholder's example
    ("median nrve", "structure", "median_nerve", "Median nerve"),          # a typo
    ("FCR", "structure", "flexor_carpi_radialis", "Flexor carpi radialis"),  # an acronym
    ("navicular", "structure", "scaphoid", "Scaphoid"),                      # a synonym
    ("guyon", "landmark", "guyons_canal", "Guyon's canal"),
    ("carpal bones", "group", "carpals", "Carpal bones"),                    # a region
])
def test_search_suggests_structures_landmarks_and_regions(state, text, kind, sid, name):
    found = state.find(text)
    assert found, text
    best = found[0].entry
    assert (best.kind, best.id, best.name) == (kind, sid, name)
    assert all("_" not in s.label for s in found), "suggestions show display names, not ids"


def test_choosing_a_landmark_marks_it(atlas, state):
    entry = state.find_best("snuffbox")
    assert entry is not None and state.landmark == "anatomical_snuffbox" and state.selected == ""
    assert np.allclose(state.markers[0]["xyz"], atlas.landmark("anatomical_snuffbox").point)
    assert state.markers[0]["colour"] == SELECTED_RGB
    state.choose(state.find("median nerve")[0].entry)
    assert state.selected == "median_nerve" and state.landmark == ""
    assert state.find_best("qqqq zzzz") is None and "Nothing in the atlas" in state.message


def test_landmarks_are_named_with_their_apostrophes_everywhere(atlas, state):
    """Guyon's canal, not "Guyons canal" or "guyons_canal": in the search, the pin, the Press
    mode's list of landmarks, a locate key and the terminal drill's press prompt."""
    from handatlas.quiz import schema
    from handatlas.quiz.drill import DrillQuestion, question_text
    from handatlas.quiz.keys import locate_key
    from handatlas.search import landmark_name, search_index

    assert landmark_name(atlas, "guyons_canal") == "Guyon's canal"
    named = {e.id: e.name for e in search_index(atlas) if e.kind == "landmark"}
    assert named["guyons_canal"] == "Guyon's canal" and not any("_" in n for n in named.values())
    state.show_landmark("guyons_canal")
    assert state.pin["title"] == "Guyon's canal"
    key = locate_key(schema.Locate(id="g", type="locate", prompt="Where?", target="guyons_canal",
                                    explanation="There."), atlas)
    assert key.name == "Guyon's canal"
    press = schema.Press(id="p", type="press", prompt="A press here?", where="guyons_canal", grade="firm",
                         explanation="Here.")
    shown = DrillQuestion(uid="q/p", quiz_id="q", question=press, number=1, total=1, new=True, due=None)
    assert "(a firm press at Guyon's canal)" in question_text(shown, atlas=atlas)


def test_display_meshes_stay_near_the_atlas(atlas):
    """Bones, tubes and tendons, decimated hardest, are drawn within DISPLAY_TOLERANCE_MM of the
    atlas's meshes both ways (each drawn vertex to the atlas's surface, each atlas vertex to the
    drawn surface), so that a structure is seen where a click finds it; the rest are halved."""
    checked = []
    for sid in atlas.with_geometry():
        if sid == fmt.SKIN_ID or atlas.triangles(sid) <= DECIMATE_ABOVE:
            continue
        vertices, faces = display_geometry(atlas, sid)
        hard = atlas[sid].layer in REDUCTION
        expected = (1 - (REDUCTION[atlas[sid].layer] if hard else REDUCTION_DEFAULT)) * atlas.triangles(sid)
        assert abs(len(faces) - expected) <= 0.02 * atlas.triangles(sid) + 2, sid
        if not hard:
            continue
        full, drawn = atlas.mesh(sid), trimesh.Trimesh(vertices, faces, process=False)
        stray = max(trimesh.proximity.closest_point(full, vertices)[1].max(),
                    trimesh.proximity.closest_point(drawn, full.vertices)[1].max())
        assert stray <= DISPLAY_TOLERANCE_MM, f"{sid}: drawn {stray:.2f} mm from the atlas's mesh"
        checked.append(sid)
    assert {"radial_artery", "median_nerve", "metacarpal_2", "pisiform"} <= set(checked)
