"""Pressure grades and verdicts: the names the app, the quizzes and the CLI use.

The values (a grade is a force on the pad) and every other parameter of the pressure model live
in :mod:`handatlas.lookup.model`; this module re-exports the names that were here first.
"""

from __future__ import annotations

from handatlas.lookup.model import (
    AVOID,
    CAUTION,
    DEFAULT_GRADE,
    DEFAULT_RADIUS_MM,
    GRADE_FORCE_N,
    MAX_RADIUS_MM,
    SAFE,
    VERDICTS,
    check_force,
    check_radius,
    grade_force,
)

#: Grade name -> force on the pad (N); the same dict as :data:`handatlas.lookup.model.GRADE_FORCE_N`.
GRADES = GRADE_FORCE_N
#: Risk classes of the structures the pressure model assesses (the others are never at risk),
#: with the worst verdict each can give.
RISK_VERDICT = {"caution": CAUTION, "high": AVOID}

__all__ = ["AVOID", "CAUTION", "DEFAULT_GRADE", "DEFAULT_RADIUS_MM", "GRADES", "MAX_RADIUS_MM",
           "RISK_VERDICT", "SAFE", "VERDICTS", "check_force", "check_radius", "grade_force"]
