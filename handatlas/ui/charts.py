"""Small inline SVG pictures for the app: the depth bar of a press and the retention chart.

Plain strings (no panel import, nothing fetched): the app puts them in HTML panes; tests parse
them as XML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from handatlas.atlas import Atlas
from handatlas.format import SKIN_ID

#: The deepest the depth bar's axis goes (mm): the thickness of the wrist, palm to back.
DEEPEST_MM = 50.0
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'
#: Width of a character of :data:`_FONT`, generous (px): labels longer than their column are cut.
_CHAR_PX = 6.2


def fit_label(text: str, width_px: float) -> str:
    """``text`` cut with an ellipsis to fit ``width_px`` in the charts' font."""
    most = max(int(width_px / _CHAR_PX), 4)
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def depth_bar(report: Mapping[str, object], atlas: Atlas, *, width: int = 520,
              max_mm: float | None = None) -> str:
    """The layer stack under a press as horizontal bars against depth, with how far the pad sinks.

    One row per structure under the skin that the inward axis crosses, a bar from its entry to its
    exit depth in the structure's colour, at-risk structures outlined in red, then a row per
    at-risk structure the axis passes beside (its most loaded point lies off the axis) with a red
    mark at the depth the verdict quotes, and a dashed line at how far the pad pushes the skin in
    (``sink_mm``: the stress reaches deeper, falling with depth, so structures flagged below the
    line are no contradiction; the line once read "pressure reaches", which made them look one).

    Parameters
    ----------
    report
        ``PressReport.as_dict()``.
    atlas
        For names and colours.
    width
        Picture width in pixels.
    max_mm
        Depth at the right edge (deeper layers are clipped); by default 30 mm, or deeper in 5 mm
        steps to the deepest structure the report names (at risk, shielded, or the most loaded of
        a safe press), up to :data:`DEEPEST_MM`.
    """
    layers: Sequence[Mapping[str, float]] = [layer for layer in report["layers"] if layer["id"] != SKIN_ID]  # type: ignore[union-attr]
    at_risk = {str(a["id"]) for a in report["at_risk"]}  # type: ignore[union-attr]
    crossed = {str(layer["id"]) for layer in layers}
    beside = [a for a in report["at_risk"] if str(a["id"]) not in crossed]  # type: ignore[union-attr]
    sink = float(report["sink_mm"])  # type: ignore[arg-type]
    if max_mm is None:
        named = [*report["at_risk"], *report["shielded"], *filter(None, [report.get("most_loaded")])]  # type: ignore[misc]
        deepest = max((float(a["depth_mm"]) for a in named), default=0.0)  # type: ignore[index]
        max_mm = min(max(30.0, 5.0 * math.ceil((deepest + 1.0) / 5.0)), DEEPEST_MM)
    left, right, row, top = 200, 12, 16, 18
    span = width - left - right
    rows = len(layers) + len(beside)
    height = top + row * max(rows, 1) + 36

    def x(mm: float) -> float:
        return left + span * min(max(mm, 0.0), max_mm) / max_mm

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="depth-bar" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="max-width:100%;height:auto" role="img" '
        f'aria-label="Layers under the press by depth">',
        f'<text x="{left}" y="11" {_FONT} fill="#444">depth under the skin (mm)</text>',
    ]
    for i, layer in enumerate(layers):
        sid = str(layer["id"])
        structure = atlas.structures[sid]
        y = top + i * row
        risky = sid in at_risk
        name = escape(structure.name)
        parts.append(
            f'<text x="{left - 6}" y="{y + 11}" text-anchor="end" {_FONT} '
            f'fill="{"#b71c1c" if risky else "#222"}"><title>{name}</title>'
            f"{escape(fit_label(structure.name, left - 8))}</text>"
        )
        x0, x1 = x(float(layer["entry_mm"])), x(float(layer["exit_mm"]))
        stroke = ' stroke="#d32f2f" stroke-width="2"' if risky else ' stroke="#555" stroke-width="0.5"'
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1.5):.1f}" height="{row - 4}" '
            f'fill="{structure.colour}"{stroke}><title>{name}: {layer["entry_mm"]:.1f}–'
            f"{layer['exit_mm']:.1f} mm</title></rect>"
        )
    for i, item in enumerate(beside, start=len(layers)):
        structure = atlas.structures[str(item["id"])]
        y = top + i * row
        name, depth = escape(structure.name), float(item["depth_mm"])  # type: ignore[arg-type]
        parts.append(
            f'<text class="beside-label" x="{left - 6}" y="{y + 11}" text-anchor="end" {_FONT} '
            f'fill="#b71c1c"><title>{name}'
            f"</title>{escape(fit_label(structure.name + ' (beside)', left - 8))}</text>"
            f'<circle class="beside-axis" cx="{x(depth):.1f}" cy="{y + row / 2:.1f}" r="4.5" '
            f'fill="{structure.colour}" stroke="#d32f2f" stroke-width="2"><title>{name}: {depth:.1f} mm '
            f"under the skin, beside the press's axis</title></circle>"
        )
    bottom = top + row * max(rows, 1)
    for mm in range(0, int(max_mm) + 1, 5):
        parts.append(
            f'<line x1="{x(mm):.1f}" y1="{bottom}" x2="{x(mm):.1f}" y2="{bottom + 4}" stroke="#444"/>'
        )
        parts.append(f'<text x="{x(mm):.1f}" y="{bottom + 15}" text-anchor="middle" {_FONT}>{mm}</text>')
    pushed = f"the pad pushes the skin in {sink:.1f} mm"
    parts.append(
        f'<line class="depth-limit" x1="{x(sink):.1f}" y1="{top - 4}" x2="{x(sink):.1f}" '
        f'y2="{bottom}" stroke="#1a237e" stroke-width="1.5" stroke-dasharray="4 3">'
        f"<title>A {escape(str(report['grade']))} press: {pushed}; the stress reaches deeper, falling "
        f"with depth</title></line>"
        f'<text class="depth-limit-label" x="{left}" y="{bottom + 30}" {_FONT} fill="#1a237e">'
        f"- - - {pushed}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def retention_chart(retention: Mapping[str, float], *, width: int = 340, bar: int = 16) -> str:
    """Predicted recall per topic (0-1) as horizontal bars, weakest first."""
    items = sorted(retention.items(), key=lambda kv: kv[1])
    left = 150
    height = 20 + bar * max(len(items), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="retention-chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Predicted recall by topic">',
        f'<text x="{left}" y="11" {_FONT} fill="#444">predicted recall tomorrow</text>',
    ]
    if not items:
        parts.append(f'<text x="8" y="32" {_FONT}>No answers yet.</text>')
    for i, (topic, value) in enumerate(items):
        y = 16 + i * bar
        colour = "#e53935" if value < 0.7 else "#ffb300" if value < 0.9 else "#43a047"
        label = escape(topic.removeprefix("topic:").replace("_", " "))
        parts.append(f'<text x="{left - 6}" y="{y + 11}" text-anchor="end" {_FONT}>{label}</text>')
        parts.append(
            f'<rect x="{left}" y="{y + 2}" width="{(width - left - 40) * value:.1f}" '
            f'height="{bar - 4}" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{left + (width - left - 40) * value + 4:.1f}" y="{y + 11}" {_FONT}>{value:.0%}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
