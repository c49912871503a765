"""Pressure grades and verdicts: the parameters of the pressure model (DESIGN.md).

A grade says how deep a thumb pad sinks: ``light`` 4 mm, ``moderate`` 10 mm, ``firm`` 20 mm.
The verdict of a press is ``avoid`` when a high-risk structure (nerve, artery) is at risk,
``caution`` when only caution ones (veins) are, and ``safe`` otherwise.
"""

from __future__ import annotations

import difflib

#: Grade name -> how far the pad sinks (mm).
GRADES: dict[str, float] = {"light": 4.0, "moderate": 10.0, "firm": 20.0}
#: Default contact radius: a thumb pad (mm).
DEFAULT_RADIUS_MM = 8.0
DEFAULT_GRADE = "moderate"
#: Verdicts in order of severity; ``safety_map`` returns these codes.
VERDICTS = ("safe", "caution", "avoid")
SAFE, CAUTION, AVOID = 0, 1, 2
#: Risk classes that can put a structure at risk, with the verdict each one gives.
RISK_VERDICT = {"caution": CAUTION, "high": AVOID}
#: Largest contact radius accepted (mm): beyond a palm's width a press is not a press.
MAX_RADIUS_MM = 40.0


def grade_depth(grade: str) -> float:
    """Depth limit (mm) of a grade name, case-insensitive.

    Raises
    ------
    ValueError
        For an unknown grade, with the known ones and a suggestion.

    Examples
    --------
    >>> grade_depth("Firm")
    20.0
    """
    if not isinstance(grade, str) or grade.strip().lower() not in GRADES:
        hint = difflib.get_close_matches(str(grade).lower(), list(GRADES), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        msg = f"unknown grade {grade!r}: choose light, moderate or firm{suggestion}"
        raise ValueError(msg)
    return GRADES[grade.strip().lower()]


def check_radius(radius_mm: float) -> float:
    """Validate a contact radius (mm): a finite number in (0, MAX_RADIUS_MM]."""
    try:
        value = float(radius_mm)
    except (TypeError, ValueError):
        msg = f"radius must be a number of millimetres, got {radius_mm!r}"
        raise ValueError(msg) from None
    if not 0.0 < value <= MAX_RADIUS_MM:
        msg = f"radius must be more than 0 and at most {MAX_RADIUS_MM:g} mm, got {radius_mm!r}"
        raise ValueError(msg)
    return value
