"""One-question quizzes for the web app's tests (Python-side and browser), and their writer."""

from __future__ import annotations

import textwrap
from pathlib import Path

#: A locate question on the radial pulse (6 mm tolerance); file ``one_locate.yaml``, title "One locate".
LOCATE_QUIZ = """\
    format_version: 1
    quiz: {id: one_locate, title: One locate, author: test, pass_mark: 1.0}
    questions:
      - id: q1
        type: locate
        prompt: Click where you feel the radial pulse.
        target: radial_pulse
        tolerance_mm: 6
        explanation: Lateral to the flexor carpi radialis tendon.
"""

#: A typed identify question on the flexor retinaculum; file ``one_identify.yaml``, title "One identify".
IDENTIFY_QUIZ = """\
    format_version: 1
    quiz: {id: one_identify, title: One identify, author: test}
    questions:
      - id: q1
        type: identify
        prompt: Type the name of the highlighted structure.
        target: flexor_retinaculum
        explanation: It is the roof of the carpal tunnel.
"""

#: A press question asking for the verdict; file ``one_press.yaml``, title "One press".
PRESS_QUIZ = """\
    format_version: 1
    quiz: {id: one_press, title: One press, author: test}
    questions:
      - id: q1
        type: press
        prompt: A firm press at the radial pulse point. What is the verdict?
        where: radial_pulse
        grade: firm
        explanation: "A {grade} press here is {verdict}: the {structure} lies {depth_mm} mm deep."
"""


def write_quiz(folder: Path, name: str, body: str) -> Path:
    """Write a quiz text (dedented) into ``folder``."""
    path = folder / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path
