"""Every colour of the app that means something, in one place (RGB 0-1; no panel import).

Tissue colours come from the atlas (arteries red, veins blue, nerves yellow, bones cream,
muscles brown, tendons off-white, fascia and retinacula grey-blue, skin peach).  The colours
here are chosen not to be confused with them: the selection and the structure a question is
about are magenta, which no tissue uses; verdicts have their own palette, always shown with a
word (a legend, the verdict banner), never by colour alone.
"""

from __future__ import annotations

from handatlas.lookup.grades import VERDICTS


def hex_to_rgb(colour: str) -> list[float]:
    """``"#rrggbb"`` to three floats in 0-1.

    Examples
    --------
    >>> hex_to_rgb("#ff8000")
    [1.0, 0.502, 0.0]
    """
    value = colour.lstrip("#")
    return [round(int(value[i : i + 2], 16) / 255, 3) for i in (0, 2, 4)]


#: Verdict colours (safe, caution, avoid): a diverging palette whose lightness also orders them
#: (caution lightest, avoid darkest), so that they differ without colour vision too.
VERDICT_HEX = dict(zip(VERDICTS, ("#1a9850", "#fdd835", "#a50026"), strict=True))
VERDICT_RGB = {name: hex_to_rgb(c) for name, c in VERDICT_HEX.items()}
#: What the learner picked or searched for; also the structure a question shows: no tissue is magenta.
SELECTED_HEX = "#e020e0"
SELECTED_RGB = hex_to_rgb(SELECTED_HEX)
#: The anonymous structure an identify question shows (the same "this one" colour).
TARGET_RGB = SELECTED_RGB
#: The right answer revealed after a question (locate and identify targets, landmark points).
ANSWER_RGB = SELECTED_RGB
#: Points the app marks on the skin: a press, a question's place, a click.
MARKER_RGB = [0.05, 0.05, 0.05]
#: The points and the line of a stroke being drawn.
STROKE_RGB = [0.1, 0.1, 0.1]


def level_rgb(at_risk: dict[str, object]) -> list[float]:
    """The colour of a structure a press flags: its level's (``caution`` or ``avoid``) verdict colour.

    Without a ``level`` (older reports), a high-risk structure counts as ``avoid``.
    """
    level = at_risk.get("level") or ("avoid" if at_risk.get("risk") == "high" else "caution")
    return VERDICT_RGB[str(level)]
