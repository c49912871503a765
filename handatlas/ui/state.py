"""What one browser session of the app is looking at, as ``param`` parameters (no panel import).

:class:`HandState` holds the layer visibility and opacity, the selected structure, the press
settings and the last press or stroke, the safety-map overlay and what the 3D scene should draw
(highlights, markers, path, an anonymous mesh).  Its methods are the app's behaviour for the
Explore and Press modes; the widgets in :mod:`handatlas.ui.views` only display and set these
parameters, and the tests drive them without a browser.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import param

from handatlas import format as fmt
from handatlas.atlas import Atlas, Structure
from handatlas.lookup.grades import GRADES
from handatlas.lookup.press import verdict_shares
from handatlas.render import VIEWS
from handatlas.search import Entry, Suggestion, landmark_name, search_index, suggest
from handatlas.ui.colours import MARKER_RGB, SELECTED_RGB, STROKE_RGB, VERDICT_RGB, level_rgb
from handatlas.ui.picking import BadClick, Hit, cast, cast_all, parse_ray

log = logging.getLogger("handatlas.ui")
MODES = ("explore", "press", "quiz", "drill", "author")
#: Opacity of each top-level group when the app opens (0 hides it).
DEFAULT_OPACITY = {
    "skin": 0.3,
    "bones": 1.0,
    "nerves": 1.0,
    "arteries": 1.0,
    "veins": 1.0,
    "tendons": 1.0,
    "fascia_and_retinacula": 0.55,
    "muscles": 0.85,
}
#: Groups shown when the app opens.
DEFAULT_SHOWN = ("skin", "bones", "nerves", "arteries", "veins", "tendons", "fascia_and_retinacula")
#: Layers less opaque than this are seen through: a click points at what lies behind them.
SEE_THROUGH = 0.5
#: Why Explore's naming and searching, Press and the safety map do nothing while a quiz runs.
EXAM_MESSAGE = ("A quiz is running: naming, searching, pressing and the safety map are off until it "
                "ends (they would answer it). Finish the quiz, or end it in Quiz mode.")


def shown_at_start(atlas: Atlas) -> frozenset[str]:
    """The structures a page shows when it opens: those of the groups of :data:`DEFAULT_SHOWN`."""
    return frozenset(sid for group in atlas.children(fmt.ROOT_ID) if group in DEFAULT_SHOWN
                     for sid in atlas.with_geometry(group))


@functools.lru_cache(maxsize=8)
def safety_codes(atlas: Atlas, grade: str, radius_mm: float) -> np.ndarray:
    """Verdict code per skin vertex, cached per process (the same for every session)."""
    return atlas.safety_map(grade=grade, radius_mm=radius_mm).astype(np.uint8)


@functools.lru_cache(maxsize=8)
def safety_shares(atlas: Atlas, grade: str, radius_mm: float) -> dict[str, float]:
    """The share of the skin's area under each verdict of :func:`safety_codes` (not of its vertices:
    they are denser where the skin curves, at the fingers and the web spaces)."""
    return verdict_shares(atlas, safety_codes(atlas, grade, radius_mm))


#: Skin whose normal makes at least this cosine with a view's direction is seen in it (not edge-on).
SEEN_COS = 0.2

#: The parameters of what a mode draws on the hand (kept per mode, see ``HandState._swap_marks``).
MODE_MARKS = ("highlight", "markers", "extra", "pin", "stroke")


class HandState(param.Parameterized):
    """One session's view of the atlas and its Explore and Press behaviour.

    Parameters
    ----------
    atlas
        The atlas.
    """

    mode = param.Selector(default="explore", objects=list(MODES))
    visible = param.Dict(default={}, doc="structure id -> shown")
    opacity = param.Dict(default={}, doc="top-level group id -> opacity 0-1")
    selected = param.String(default="", doc="Structure identified or searched last.")
    landmark = param.String(default="", doc="Landmark found by the search ('' when a structure is selected).")
    grade = param.Selector(default="moderate", objects=list(GRADES))
    radius_mm = param.Number(default=8.0, bounds=(2.0, 20.0), doc="Contact radius of the press.")
    tool = param.Selector(default="point", objects=["point", "stroke"], doc="Press a point or draw a stroke.")
    report = param.Dict(default=None, allow_None=True, doc="The last press: PressReport.as_dict().")
    stroke = param.List(default=[], doc="Skin points of the stroke being drawn.")
    stroke_report = param.Dict(default=None, allow_None=True, doc="StrokeReport.as_dict() of the stroke.")
    safety_grade = param.Selector(default="", objects=["", *GRADES], doc="Safety map shown ('' = none).")
    message = param.String(default="", doc="The last problem to show the user (bad click, unknown name).")
    exam = param.Boolean(default=False, doc="A quiz is running: the tools that would answer it are off.")
    # what the scene draws besides the layers
    highlight = param.Dict(default={})
    markers = param.List(default=[])
    overlay = param.Dict(default={})
    extra = param.Dict(default={})
    pin = param.Dict(default={}, doc="A label pinned on the hand: {'xyz', 'title', 'lines'} ({} = none).")
    view = param.Selector(default="palmar", objects=list(VIEWS))

    def __init__(self, atlas: Atlas, **params: Any) -> None:
        self.atlas = atlas
        self.groups: dict[str, tuple[str, ...]] = {
            g: atlas.with_geometry(g) for g in atlas.children(fmt.ROOT_ID) if atlas.with_geometry(g)
        }
        self.group_of = {sid: g for g, ids in self.groups.items() for sid in ids}
        shown = shown_at_start(atlas)
        params.setdefault("visible", {sid: sid in shown for sid in self.group_of})
        params.setdefault("opacity", {g: DEFAULT_OPACITY.get(g, 1.0) for g in self.groups})
        self._skin_before: tuple[bool, float] | None = None
        #: What each mode left on the hand when it was left (:data:`MODE_MARKS`), back when it returns.
        self._marks: dict[str, dict[str, Any]] = {}
        super().__init__(**params)
        self.param.watch(self._swap_marks, "mode")

    # ------------------------------------------------------------------ layers
    def layer_state(self) -> dict[str, dict[str, object]]:
        """The scene's ``layers`` parameter."""
        return {
            sid: {"visible": bool(self.visible.get(sid)), "opacity": float(self.opacity[g])}
            for sid, g in self.group_of.items()
        }

    def visible_ids(self) -> set[str]:
        """Structures a click can hit: shown and not (nearly) transparent."""
        return {sid for sid, g in self.group_of.items() if self.visible.get(sid) and self.opacity[g] > 0.02}

    def show(self, ids: Mapping[str, bool]) -> None:
        """Show or hide structures (``{id: shown}``)."""
        self.visible = {**self.visible, **{sid: bool(v) for sid, v in ids.items()}}

    def show_group(self, group: str, shown: bool) -> None:
        """Show or hide every structure of a top-level group."""
        self.show(dict.fromkeys(self.groups[group], shown))

    def set_opacity(self, group: str, value: float) -> None:
        """Opacity of a top-level group."""
        self.opacity = {**self.opacity, group: float(value)}

    def reveal(self, sid: str) -> None:
        """Make a structure visible and clickable, with its group at least half opaque."""
        group = self.group_of[sid]
        self.show({sid: True})
        if self.opacity[group] < 0.5:
            self.set_opacity(group, 0.5 if group == fmt.SKIN_ID else 1.0)

    # ------------------------------------------------------------------ exam
    def closed_for_exam(self) -> bool:
        """True (with the message) while a quiz runs: naming, searching and pressing would answer it."""
        if self.exam:
            self.message = EXAM_MESSAGE
        return self.exam

    @param.depends("exam", watch=True)
    def _clear_for_exam(self) -> None:
        """A quiz starts: what Explore and Press left on the hand goes (their labels, colours, map)."""
        if self.exam:
            self._marks.clear()  # nor may another mode bring them back mid-quiz
            self.param.update(selected="", landmark="", pin={}, report=None, stroke=[], stroke_report=None)

    # ------------------------------------------------------------------ explore
    def search(self, text: str) -> Structure | None:
        """Select the structure a name, acronym or synonym means; a group selects its members.

        An unknown name sets ``message`` (with the atlas's suggestions) and returns None.
        """
        text = text.strip()
        if not text or self.closed_for_exam():
            return None
        try:
            structure = self.atlas.structure(text)
        except KeyError as err:
            self.message = str(err).strip("'\"")
            return None
        self.select(structure.id)
        for sid in self.atlas.with_geometry(structure.id):
            self.reveal(sid)
        return structure

    def find(self, text: str, *, limit: int = 8) -> list[Suggestion]:
        """Structures, regions and landmarks matching ``text``, best first (:mod:`handatlas.search`)."""
        return suggest(search_index(self.atlas), text, limit=limit)

    def choose(self, entry: Entry) -> None:
        """Show what a search suggestion names: select a structure or region, or mark a landmark."""
        if self.closed_for_exam():
            return
        if entry.kind == "landmark":
            self.show_landmark(entry.id)
            return
        self.select(entry.id)
        for sid in self.atlas.with_geometry(entry.id):
            self.reveal(sid)

    def find_best(self, text: str) -> Entry | None:
        """Choose the best match of ``text`` (the Find button, Enter); a message when nothing matches."""
        if self.closed_for_exam():
            return None
        found = self.find(text, limit=1)
        if not found:
            # a blank search asks nothing: the message of the last one goes too
            asked = text.strip()
            self.message = f"Nothing in the atlas is called {asked!r}: try another name." if asked else ""
            return None
        self.choose(found[0].entry)
        return found[0].entry

    def show_landmark(self, landmark_id: str) -> None:
        """Mark a landmark on the skin (and show what it is)."""
        point = self.atlas.landmark(landmark_id).point
        marker = {"xyz": [float(v) for v in point], "colour": SELECTED_RGB, "radius": 3.0}
        pin = {"xyz": marker["xyz"], "title": landmark_name(self.atlas, landmark_id), "lines": ["landmark"]}
        self.param.update(
            message="", selected="", highlight={}, markers=[marker], landmark=landmark_id, pin=pin
        )
        self.face(point, unless_seen=True)  # the snuffbox is not marked out of sight, on the far side

    def select(self, sid: str, *, at: np.ndarray | None = None) -> None:
        """Select a structure (or a group), highlight its meshes and pin its label; ``""`` clears.

        ``at`` is where the label is pinned (a clicked point); default on the structure's surface.
        """
        if sid and self.closed_for_exam():
            return
        ids = self.atlas.with_geometry(sid) if sid else ()
        highlight = {i: SELECTED_RGB for i in ids if i != fmt.SKIN_ID}
        pin = self.structure_pin(sid, at=at) if sid else {}
        self.param.update(message="", landmark="", selected=sid, highlight=highlight, pin=pin)

    def structure_pin(self, sid: str, *, at: np.ndarray | None = None) -> dict[str, object]:
        """The label of a structure, pinned at ``at`` (a clicked point) or on its surface near its middle."""
        s = self.atlas.structures[sid]
        if at is None:
            points = np.vstack([self.atlas.arrays(i)["vertices"] for i in self.atlas.with_geometry(sid)])
            at = points[np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1))]
        risk = {"high": "⚠ high risk: no firm pressure", "caution": "caution: broad, light pressure"}
        lines = [" · ".join(x for x in (s.tissue or "region", s.layer) if x)]
        if s.risk in risk:
            lines.append(risk[s.risk])
        return {"xyz": [float(v) for v in at], "title": s.name, "lines": lines}

    def face(self, xyz: Any, *, unless_seen: bool = False) -> str:
        """Turn the view to the named view that looks straight at the skin at ``xyz`` (the one
        most nearly along its normal): a mark on the back of the hand is not left out of sight.
        Sets :attr:`view` (even to the view it has: the learner may have turned the hand since);
        with ``unless_seen``, only when the skin there faces away from the current view."""
        from handatlas.lookup.index import lookup_index

        skin = lookup_index(self.atlas).skin
        point, face = skin.closest_one(np.asarray(xyz, dtype=np.float64))
        normal = skin.normals_at(point[None], np.array([face]))[0]
        if unless_seen and float(np.dot(VIEWS[self.view][0], normal)) > SEEN_COS:
            return self.view
        name = max(VIEWS, key=lambda v: float(np.dot(VIEWS[v][0], normal)))
        self.view = name
        self.param.trigger("view")
        return name

    def focus_bounds(self, sid: str, *, kind: str = "structure") -> list[float]:
        """Bounds ``[x0, x1, y0, y1, z0, z1]`` of a structure, group or landmark, for the camera."""
        if kind == "landmark":
            pts = self.atlas.landmark(sid).point[None] + np.array([[-15.0] * 3, [15.0] * 3])
        else:
            pts = np.vstack([self.atlas.arrays(i)["vertices"] for i in self.atlas.with_geometry(sid)])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        return [float(v) for pair in zip(lo, hi, strict=True) for v in pair]

    def _ray(self, message: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            return parse_ray(message)
        except BadClick as err:
            self.message = str(err)
            return None

    def seen(self, message: Mapping[str, Any]) -> list[Hit]:
        """The shown structures under a click, front to back, up to the first opaque one.

        A translucent layer (opacity below :data:`SEE_THROUGH`, like the default skin) lets the
        eye through: what the learner points at may be it or anything seen behind it.
        """
        ray = self._ray(message)
        if ray is None:
            return []
        out: list[Hit] = []
        for h in cast_all(self.atlas, *ray, self.visible_ids()):
            out.append(h)
            if self.opacity[self.group_of[h.id]] >= SEE_THROUGH:
                break
        self.message = "" if out else "Nothing shown lies under that point: click on the hand."
        return out

    def hit(self, message: Mapping[str, Any]) -> Hit | None:
        """The structure a click points at: the first opaque one seen, else the first translucent one.

        Sets ``message`` when the click misses everything shown or cannot be read.
        """
        seen = self.seen(message)
        if not seen:
            return None
        opaque = [h for h in seen if self.opacity[self.group_of[h.id]] >= SEE_THROUGH]
        return opaque[0] if opaque else seen[0]

    def skin_point(self, message: Mapping[str, Any]) -> np.ndarray | None:
        """Where a click ray first meets the skin, shown or not (a press is always on the skin)."""
        ray = self._ray(message)
        if ray is None:
            return None
        found = cast(self.atlas, *ray, {fmt.SKIN_ID})
        self.message = "" if found else "That click missed the hand: press on the skin."
        return None if found is None else found.point

    # ------------------------------------------------------------------ press
    def press(self, where: str | np.ndarray) -> dict[str, object] | None:
        """Press at a landmark, structure or point with the current grade and radius (None during a quiz)."""
        if self.closed_for_exam():
            return None
        report = self.atlas.press(where, grade=self.grade, radius_mm=self.radius_mm).as_dict()
        self.message = ""
        self.report = report
        self.highlight = {a["id"]: level_rgb(a) for a in report["at_risk"]}  # type: ignore[union-attr]
        self.markers = [{"xyz": report["point"], "colour": MARKER_RGB, "radius": 2.5}]
        names = [self.atlas.structures[a["id"]].name for a in report["at_risk"]]  # type: ignore[union-attr]
        self.pin = {
            "xyz": report["point"],
            "title": f"{str(report['verdict']).upper()} — {report['grade']} press",
            "lines": [f"at risk: {', '.join(names[:3])}" if names else "nothing at risk"],
        }
        return report

    def press_landmark(self, landmark_id: str) -> dict[str, object] | None:
        """:meth:`press` at a landmark chosen from the list, the view turned to it when it lies on
        the far side (the pin and the verdict's card were drawn on the palm for the back of the
        hand)."""
        report = self.press(landmark_id)
        if report is not None:
            self.face(report["point"], unless_seen=True)
        return report

    @param.depends("grade", "radius_mm", watch=True)
    def _press_again(self) -> None:
        """The press (or stroke) shown follows the grade and the pad: changing either presses the
        same place again, so the verdict never names a grade other than the one chosen."""
        if self.report is not None:
            landmark = self.report.get("landmark")
            self.press(str(landmark) if landmark else np.asarray(self.report["point"], float))
        if self.stroke_report is not None:
            self.check_stroke()

    def add_stroke_point(self, point: np.ndarray) -> None:
        """Extend the stroke being drawn by a skin point."""
        if self.closed_for_exam():
            return
        self.stroke_report = None
        self.stroke = [*self.stroke, [round(float(v), 2) for v in point]]
        self.markers = [{"xyz": p, "colour": STROKE_RGB, "radius": 1.6} for p in self.stroke]

    def check_stroke(self) -> dict[str, object] | None:
        """Check the stroke drawn so far; needs two points."""
        if self.closed_for_exam():
            return None
        if len(self.stroke) < 2:
            self.message = "Click at least two points on the skin to draw a stroke."
            return None
        result = self.atlas.stroke(self.stroke, grade=self.grade, radius_mm=self.radius_mm).as_dict()
        self.message = ""
        self.stroke_report = result
        colour = VERDICT_RGB["avoid" if result["verdict"] == "avoid" else "caution"]
        self.highlight = {sid: colour for sid in result["structures"]}  # type: ignore[union-attr]
        return result

    def _swap_marks(self, event: param.parameterized.Event) -> None:
        """What is drawn on the hand belongs to the mode that drew it: a press's colours and mark, an
        Explore label, a question's marker leave with their mode and come back with it (a press's
        red artery stayed on the hand in Quiz and Drill).  A message goes for good ("Choose an
        answer first" means nothing in Press mode)."""
        self._marks[event.old] = {name: getattr(self, name) for name in MODE_MARKS}
        back = self._marks.pop(event.new, None)
        if back is None:  # nothing drawn there yet
            back = {name: type(self.param[name].default)() for name in MODE_MARKS}
        self.param.update(message="", **back)

    def clear_press(self) -> None:
        """Forget the press, the stroke and their highlights."""
        self.pin = {}
        self.report = None
        self.stroke = []
        self.stroke_report = None
        self.highlight = {}
        self.markers = []

    def show_safety_map(self, grade: str) -> None:
        """Colour the skin by the verdict of a press at each vertex (``""`` removes the colours)."""
        self.safety_grade = grade

    @param.depends("safety_grade", "radius_mm", "mode", "exam", watch=True, on_init=True)
    def _follow_safety_map(self) -> None:
        """The overlay follows its control: the grade, the radius, and Press mode being shown (no quiz)."""
        grade = self.safety_grade if self.mode == "press" and not self.exam else ""
        if not grade:
            self.overlay = {}
            if self._skin_before is not None:
                self.show({fmt.SKIN_ID: self._skin_before[0]})
                self.set_opacity(fmt.SKIN_ID, self._skin_before[1])
                self._skin_before = None
            return
        codes = safety_codes(self.atlas, grade, float(self.radius_mm))
        self.overlay = {"codes": codes, "palette": list(VERDICT_RGB.values()), "grade": grade,
                        "shares": safety_shares(self.atlas, grade, float(self.radius_mm))}
        if self._skin_before is None:
            self._skin_before = (bool(self.visible.get(fmt.SKIN_ID)), float(self.opacity[fmt.SKIN_ID]))
        self.show({fmt.SKIN_ID: True})
        self.set_opacity(fmt.SKIN_ID, max(self.opacity[fmt.SKIN_ID], 0.85))


def guarded(state: HandState, handler: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``handler``; on an error show its message in the page (trace to the log)."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as err:
            log.exception("handler %s failed", getattr(handler, "__name__", handler))
            state.message = f"That did not work: {err}"
            return None

    return run
