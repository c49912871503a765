"""Widgets of the Explore and Press modes and the layer tree, bound to a :class:`HandState`.

Only local assets: no icons, no template, no ``design`` (they fetch fonts from a CDN).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import TYPE_CHECKING, Any

import panel as pn

from handatlas.lookup.grades import GRADES, VERDICTS
from handatlas.names import landmark_phrase
from handatlas.render import VIEWS
from handatlas.search import Entry, landmark_name
from handatlas.ui.charts import depth_bar
from handatlas.ui.colours import VERDICT_HEX
from handatlas.ui.controls import RangeInput, range_for, tick_box
from handatlas.ui.state import EXAM_MESSAGE, HandState, guarded
from handatlas.ui.theme import PHONE_MAX_PX

if TYPE_CHECKING:
    from handatlas.atlas import Atlas

VERDICT_ALERT = {"safe": "success", "caution": "warning", "avoid": "danger"}


def plain_message(text: str) -> str:
    """A message (often with what the user typed in it) for a Markdown pane, shown as it is written:
    its HTML escaped and held in one HTML block, so that neither tags nor Markdown in it are read.

    Examples
    --------
    >>> plain_message("Nothing is called '<img src=x onerror=alert(1)>' or *this*")
    "<div class='plain'>Nothing is called &#x27;&lt;img src=x onerror=alert(1)&gt;&#x27; or *this*</div>"
    """
    return f"<div class='plain'>{escape(' '.join(text.split()))}</div>" if text.strip() else ""


def _label(text: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(text, margin=(6, 10, 0, 10))


def exam_notice(state: HandState) -> pn.pane.Alert:
    """Shown while a quiz runs: why this mode's tools do nothing."""
    return pn.pane.Alert(EXAM_MESSAGE, alert_type="info", visible=state.param.exam,
                         css_classes=["exam-notice"], margin=(4, 10))


def layer_tree(state: HandState) -> pn.Column:
    """One row per top-level group: a named tick box to show it, its opacity, and a Parts toggle
    that lists its structures (each with its own tick box).

    Every control has its own name (the group's); nothing interactive sits inside another
    (a card header holding a checkbox was a button inside a button for screen readers).
    """
    atlas = state.atlas
    rows = []
    for group, ids in state.groups.items():
        name = atlas.structures[group].name
        shown = tick_box(
            name,
            value=any(state.visible[i] for i in ids),
            margin=(4, 6),
            css_classes=[f"layer-{group}", "layer-shown"],
            styles={"flex": "0 0 150px"},
            stylesheets=[".bk-input-group label { white-space: normal; line-height: 1.2; }"],
        )
        opacity = RangeInput(
            value=state.opacity[group],
            start=0.0,
            end=1.0,
            step=0.05,
            label=f"{name} opacity",
            show_label=False,
            margin=(4, 6),
            css_classes=[f"opacity-{group}"],
            styles={"flex": "1 1 90px"},
            sizing_mode="stretch_width",
        )
        members = pn.widgets.CheckBoxGroup(
            options={atlas.structures[i].name: i for i in ids},
            value=[i for i in ids if state.visible[i]],
            inline=False,
            css_classes=[f"members-{group}"],
            margin=(0, 10, 4, 34),
            visible=False,
        )
        parts = pn.widgets.Toggle(
            label=f"{len(ids)} parts",
            value=False,
            margin=(4, 6),
            width=78,
            css_classes=[f"parts-{group}"],
            visible=len(ids) > 1,
        )
        parts.param.watch(lambda e, members=members: setattr(members, "visible", e.new), "value")

        def on_group(event, group=group, members=members):
            if bool(event.new) == any(state.visible[i] for i in state.groups[group]):
                return  # a sync from the state, not the learner's tick
            state.show_group(group, bool(event.new))
            members.value = [i for i in state.groups[group] if state.visible[i]]

        def on_members(event, group=group):
            state.show({i: i in event.new for i in state.groups[group]})

        shown.param.watch(on_group, "value")
        opacity.param.watch(lambda e, group=group: state.set_opacity(group, e.new), "value")
        members.param.watch(on_members, "value")

        def sync(_event, group=group, name=name, shown=shown, members=members, opacity=opacity):
            ids_ = state.groups[group]
            members.value = [i for i in ids_ if state.visible[i]]
            shown.value = [name] if any(state.visible[i] for i in ids_) else []
            opacity.value = state.opacity[group]

        state.param.watch(sync, ["visible", "opacity"])
        rows.append(
            pn.Column(
                pn.Row(shown, opacity, parts, sizing_mode="stretch_width", styles={"align-items": "center"}),
                members,
                sizing_mode="stretch_width",
                margin=(2, 0),
                css_classes=["layer-row", f"card-{group}"],
                styles={"border-bottom": "1px solid #ddd"},
            )
        )
    return pn.Column(
        _label("**Layers** — tick to show, slide for opacity"),
        *rows,
        sizing_mode="stretch_width",
        css_classes=["layer-tree"],
    )


#: The view buttons float in the top right corner of the 3D view (in every mode, on every screen).
VIEW_BAR_STYLES = {
    "position": "absolute",
    "top": "4px",
    "right": "4px",
    "z-index": "15",
    "flex-wrap": "wrap",
    "justify-content": "flex-end",
    "max-width": "calc(100% - 8px)",
}


#: On a phone the hand fills the view's height and its fingertips reach the top: the view buttons go
#: to the foot of the view (over the cut forearm), where a tap meant for a fingertip cannot hit them.
VIEW_BAR_PHONE_CSS = (
    f"@media (max-width: {PHONE_MAX_PX}px) {{ :host {{ top: auto !important; bottom: 4px !important; }} }}"
)

#: The view buttons look like buttons over the picture: an opaque face and a border.
VIEW_BUTTON_CSS = (
    ".bk-btn.bk-btn-light { background: rgba(255, 255, 255, 0.8); border: 1px solid #767676; color: #111; }"
)


def view_buttons(on_view: Callable[[str], None], *, reset: Callable[[], None]) -> pn.Row:
    """One button per named camera view and Reset, over the top right corner of the hand.

    No hover tooltips: a Bokeh tooltip popped up over the neighbouring buttons and took their clicks.
    """
    buttons = []
    for name in VIEWS:
        b = pn.widgets.Button(
            label=name.capitalize(),
            color="light",
            margin=(2, 2),
            width=64,
            css_classes=[f"view-{name}"],
            stylesheets=[VIEW_BUTTON_CSS],
        )
        b.on_click(lambda _e, name=name: on_view(name))
        buttons.append(b)
    again = pn.widgets.Button(
        label="Reset", color="light", margin=(2, 2), width=64, css_classes=["view-reset"],
        stylesheets=[VIEW_BUTTON_CSS],
    )
    again.on_click(lambda _e: reset())
    return pn.Row(*buttons, again, margin=0, css_classes=["view-bar"], styles=VIEW_BAR_STYLES,
                  stylesheets=[VIEW_BAR_PHONE_CSS])


def search_box(state: HandState, on_found: Callable[[Entry], None]) -> pn.Column:
    """Type part of a name, acronym or synonym; click a suggestion (or Find / Enter for the best one).

    Suggestions are structures, regions and landmarks under their display names, typos forgiven.
    While a quiz runs the box is off and suggests nothing (a suggestion would answer a question).
    """
    box = pn.widgets.TextInput(
        placeholder="Search: median nerve, FCR, snuffbox…",
        sizing_mode="stretch_width",
        css_classes=["search"],
        margin=(4, 6),
        disabled=state.param.exam,
    )
    go = pn.widgets.Button(label="Find", color="primary", width=64, margin=(4, 6), css_classes=["search-go"],
                           disabled=state.param.exam)

    def choose(entry: Entry) -> None:
        state.choose(entry)
        box.value = box.value_input = ""
        on_found(entry)

    def best(_event: object = None) -> None:
        entry = state.find_best(box.value_input or box.value)
        if entry is not None:
            box.value = box.value_input = ""
            on_found(entry)

    shown: dict[str, Any] = {"key": None, "view": None}

    def suggestions(text: str, exam: bool) -> pn.Column:
        found_all = [] if exam else state.find(text or "")
        key = tuple((f.entry.kind, f.entry.id) for f in found_all)
        if key == shown["key"]:  # another letter that changes nothing: the buttons stay (a click
            return shown["view"]  # on one while typing on is not lost to a new copy of it)
        buttons = []
        for found in found_all:
            b = pn.widgets.Button(
                label=found.label,
                color="light",
                sizing_mode="stretch_width",
                margin=(1, 6),
                css_classes=["suggestion"],
                description=found.entry.detail or None,
                stylesheets=[".bk-btn { text-align: left; }"],
            )
            b.on_click(lambda _e, entry=found.entry: choose(entry))
            buttons.append(b)
        view = pn.Column(*buttons, sizing_mode="stretch_width", css_classes=["suggestions"])
        shown.update(key=key, view=view)
        return view

    go.on_click(best)
    box.param.watch(best, "enter_pressed")
    return pn.Column(
        pn.Row(box, go, sizing_mode="stretch_width"),
        pn.bind(suggestions, box.param.value_input, state.param.exam),
        sizing_mode="stretch_width",
    )


def identification(state: HandState) -> pn.pane.HTML:
    """What the selected structure is: name, group, tissue, layer, risk and its note."""
    atlas = state.atlas

    def render(selected: str, landmark: str = "") -> str:
        if landmark:
            lm = atlas.landmark(landmark)
            return (
                f"<div class='ident'><h3>{escape(landmark_name(atlas, landmark))}</h3><p>Landmark, marked "
                f"on the skin in magenta.</p><p>{escape(lm.description)}</p></div>"
            )
        if not selected:
            return (
                "<p class='hint'>Click a structure on the hand, or search for one, to see what it is. "
                "Drag to turn the hand, scroll or pinch to zoom.</p>"
            )
        s = atlas.structures[selected]
        parent = atlas.structures[s.parent].name if s.parent else ""
        risk = {"high": "⚠ high — avoid pressure", "caution": "caution", "low": "low"}.get(s.risk or "", "—")
        rows = [("Group", parent), ("Tissue", s.tissue or "group"), ("Layer", s.layer or "—"), ("Risk", risk)]
        if s.acronym or s.synonyms:
            rows.insert(0, ("Also called", ", ".join([x for x in (s.acronym, *s.synonyms) if x])))
        table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        note = (
            f"<p class='risk-note'><b>Before you press:</b> {escape(s.risk_note)}</p>" if s.risk_note else ""
        )
        desc = f"<p>{escape(s.description)}</p>" if s.description else ""
        return f"<div class='ident'><h3>{escape(s.name)}</h3><table>{table}</table>{note}{desc}</div>"

    return pn.pane.HTML(
        pn.bind(render, state.param.selected, state.param.landmark),
        sizing_mode="stretch_width",
        css_classes=["identification"],
    )


#: Words and symbols that go with each verdict colour (the colour never speaks alone).
VERDICT_WORDS = {
    "safe": ("✓", "Safe", "nothing flagged"),
    "caution": ("!", "Caution", "brief, broad, moving contact only"),
    "avoid": ("✕", "Avoid", "this grade here can injure"),
}


def safety_legend(overlay: dict[str, object]) -> str:
    """The safety map's legend: a labelled swatch (with a symbol) per verdict and its share of the skin's
    area (``overlay["shares"]``).

    Empty when no map is shown.
    """
    if overlay.get("codes") is None:
        return ""
    shares = overlay.get("shares") or {}
    rows = []
    for verdict in VERDICTS:
        symbol, word, meaning = VERDICT_WORDS[verdict]
        share = float(shares.get(verdict, 0.0))
        text_colour = "#000" if verdict == "caution" else "#fff"
        rows.append(
            f"<li><span class='swatch' style='background:{VERDICT_HEX[verdict]};color:{text_colour}'>"
            f"{symbol}</span><b>{word}</b> {share:.0%} <span class='meaning'>— {meaning}</span></li>"
        )
    grade = escape(str(overlay.get("grade", "")))
    return (
        f"<div class='legend' role='group' aria-label='Safety map legend'><b>Safety map: {grade} press</b>"
        f"<ul>{''.join(rows)}</ul><small>Darker is riskier; share of the skin.</small></div>"
    )


def press_controls(state: HandState, on_clear) -> pn.Column:
    """Grade, radius, landmark, tool, safety map and stroke buttons (off while a quiz runs: what they
    would choose is refused then, and a refused choice must not look chosen)."""
    atlas = state.atlas
    off = state.param.exam
    tool = pn.widgets.RadioButtonGroup.from_param(
        state.param.tool,
        options={"Press a point": "point", "Draw a stroke": "stroke"},
        color="default",
        css_classes=["press-tool"],
        disabled=off,
        margin=(4, 8),
    )
    grade = pn.widgets.RadioButtonGroup.from_param(
        state.param.grade,
        options={g.capitalize(): g for g in GRADES},
        color="default",
        css_classes=["press-grade"],
        disabled=off,
        margin=(4, 8),
    )
    radius = range_for(
        state, "radius_mm", label="Contact radius (mm)", step=1.0, css_classes=["press-radius"],
        margin=(4, 10), sizing_mode="stretch_width",
    )
    landmarks = pn.widgets.Select(
        options={"": "", **{landmark_name(atlas, lm): lm for lm in atlas.landmarks}},
        label="Or press at a landmark",
        css_classes=["press-landmark"],
        disabled=off,
        margin=(4, 10),
    )
    safety = pn.widgets.Select.from_param(
        state.param.safety_grade,
        options={"No safety map": "", **{f"Safety map: {g}": g for g in GRADES}},
        label="Colour the skin",
        css_classes=["safety-map"],
        disabled=off,
        margin=(4, 10),
    )
    check = pn.widgets.Button(
        label="Check stroke", color="primary", css_classes=["stroke-check"], margin=(4, 8), disabled=off
    )
    clear = pn.widgets.Button(
        label="Clear", color="default", css_classes=["press-clear"], margin=(4, 8), disabled=off
    )
    landmarks.param.watch(guarded(state, lambda e: e.new and state.press_landmark(e.new)), "value")
    check.on_click(guarded(state, lambda _e: state.check_stroke()))
    clear.on_click(guarded(state, lambda _e: on_clear()))
    strokes = pn.Row(check, clear, visible=pn.bind(lambda t: t == "stroke", tool))
    hint = pn.pane.Markdown(
        pn.bind(
            lambda t: (
                "Click points along the stroke on the skin, then **Check stroke**."
                if t == "stroke"
                else "Click the skin where you would press."
            ),
            tool,
        ),
        margin=(0, 10),
    )
    return pn.Column(
        _label("**Press** — how hard, how wide, where"),
        tool,
        grade,
        radius,
        hint,
        landmarks,
        strokes,
        safety,
        sizing_mode="stretch_width",
        css_classes=["press-controls"],
    )


def _press_html(atlas: Atlas, report: dict[str, Any]) -> str:
    """The table of the structures at risk, those shielded by bone, and the skin territory."""
    rows = "".join(
        f"<tr><td>{escape(atlas.structures[a['id']].name)}</td>"
        f"<td class='level-{a['level']}'>{a['level']}{' (pinned)' if a['pinned'] else ''}</td>"
        f"<td>{a['stress_kpa']:.0f} kPa</td><td>{a['depth_mm']:.1f} mm</td>"
        f"<td>{a['distance_mm']:.1f} mm</td></tr>"
        for a in report["at_risk"]
    )
    shielded = ", ".join(atlas.structures[a["id"]].name for a in report["shielded"])
    table = (
        f"<table class='at-risk'><tr><th>At risk</th><th>level</th><th>stress</th><th>depth</th>"
        f"<th>from the contact</th></tr>{rows}</table>"
        if rows
        else "<p>Nothing at risk within reach.</p>"
    )
    extra = f"<p>Shielded by bone: {escape(shielded)}.</p>" if shielded else ""
    return f"{table}{extra}<p>Skin territory: <b>{escape(str(report['territory']))}</b>.</p>"


def press_result(state: HandState) -> pn.Column:
    """The verdict, its explanation, the structures at risk and the depth bar.

    The panes stay; a new press changes their text (rebuilding them would make every press send
    the browser a new part of the page, and make Panel walk the whole page's models).
    """
    atlas = state.atlas
    hints = {"point": "Click the skin (or pick a landmark) to press there.",
             "stroke": "Click points along the stroke on the skin, then **Check stroke**."}
    hint = pn.pane.Markdown(pn.bind(hints.get, state.param.tool), css_classes=["hint"])
    verdict = pn.pane.Alert("", alert_type="light", css_classes=["verdict"], visible=False,
                            sizing_mode="stretch_width")
    details = pn.pane.HTML("", sizing_mode="stretch_width", visible=False)
    depth = pn.pane.HTML("", css_classes=["depth"], sizing_mode="stretch_width", visible=False)

    def show(*_events: Any) -> None:
        report, stroke = state.report, state.stroke_report
        if stroke:
            names = ", ".join(atlas.structures[s].name for s in stroke["structures"]) or "nothing"
            a, b = (stroke["riskiest_mm"] + [0, 0])[:2]
            head = f"**Stroke: {stroke['verdict'].upper()}** — {stroke['message']}"
            body = (f"<p>Length {stroke['length_mm']} mm; riskiest stretch {a}–{b} mm over "
                    f"{escape(names)}.</p>")
            worst, bar = str(stroke["verdict"]), ""
        elif report:
            worst = str(report["verdict"])
            # the message names the grade and the place ("Avoid firm pressure here: ..."): the head
            # adds only the verdict and the landmark's name
            where = f" at {landmark_phrase(atlas, report['landmark'])}" if report["landmark"] else ""
            head = f"**{worst.upper()}**{where} — {report['message']}"
            body, bar = _press_html(atlas, report), depth_bar(report, atlas)
        else:
            worst, head, body, bar = "", "", "", ""
        with pn.io.hold():
            hint.visible = not head
            if head:
                verdict.param.update(object=head, alert_type=VERDICT_ALERT[worst])
            verdict.visible = bool(head)
            details.param.update(object=body, visible=bool(body))
            depth.param.update(object=bar, visible=bool(bar))

    state.param.watch(show, ["report", "stroke_report"])
    show()
    return pn.Column(hint, verdict, details, depth, sizing_mode="stretch_width", css_classes=["press-result"])
