"""Helpers for the drill tests: small quiz banks written to disk, and reading a store with sqlite3."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

TOPICS = ("wrist", "thumb", "palm", "nerves")


def choice_bank(folder: Path, *, n: int = 12, quiz_id: str = "drills") -> Path:
    """A quiz of ``n`` single-answer choice questions ``c00``, ``c01``...: the right option is 0.

    Tags: ``topic:<TOPICS[i % 4]>`` and ``domain:anatomy_physiology`` (even i) or
    ``domain:areas_of_caution`` (odd i); difficulty ``1 + i % 3``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["format_version: 1", "quiz:", f"  id: {quiz_id}", "  title: Drill fixture",
             "  author: tests", "questions:"]
    for i in range(n):
        domain = "anatomy_physiology" if i % 2 == 0 else "areas_of_caution"
        lines += [f"  - id: c{i:02d}", "    type: choice", f"    prompt: Question {i}?",
                  "    options: [right, wrong, also wrong]", "    answer: 0",
                  f"    explanation: Because {i}.", f"    tags: [topic:{TOPICS[i % 4]}, domain:{domain}]",
                  f"    difficulty: {1 + i % 3}"]
    lines += ["  - id: seq", "    type: order", "    prompt: Put them in order.",
              "    items: [first, second, third, fourth]", "    explanation: Alphabet soup.",
              "    tags: [topic:sequencing, domain:professional_practice]", "    difficulty: 5"]
    path = folder / f"{quiz_id}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return folder


def spatial_bank(folder: Path) -> Path:
    """Press, territory and identify questions on the fixture atlas (tests/conftest.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spatial.yaml").write_text(textwrap.dedent("""\
        format_version: 1
        quiz: {id: spatial, title: Spatial, author: tests}
        questions:
          - id: pulse
            type: press
            prompt: A firm press at the radial pulse. Verdict and structures at risk?
            where: radial_pulse
            grade: firm
            ask: [verdict, at_risk]
            explanation: The radial artery is right there.
            tags: [topic:radial_artery]
            difficulty: 1
          - id: palm_skin
            type: territory
            prompt: Which nerve supplies the centre of the palm?
            where: palm_center
            explanation: The median nerve.
            tags: [topic:territories]
            difficulty: 2
          - id: bone
            type: identify
            prompt: Name the highlighted bone.
            target: capitate
            options: [capitate, hamate]
            explanation: It is the capitate.
            tags: [topic:carpals]
            difficulty: 3
          - id: click
            type: locate
            prompt: Click the median nerve.
            target: median_nerve
            explanation: It runs down the middle.
            tags: [topic:carpals]
            difficulty: 4
        """))
    return folder


def query(db: Path, sql: str, *args: object) -> list[tuple]:
    """Run one query on a SQLite store (read-only), waiting for writers."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` of a SQLite file ('ok' when sound)."""
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
