"""The shipped quizzes and the shipped atlas: keys, coverage, and ``handatlas quiz check``."""

from __future__ import annotations

from collections import Counter

import pytest

from handatlas.cli import main
from handatlas.quiz import compute_key, default_quiz_dir, grade, load_quiz, quiz_paths
from handatlas.quiz.schema import QUESTION_TYPES, SPATIAL_TYPES, Press, Territory

COMMON = {"id": "k", "prompt": "?", "explanation": "!"}


@pytest.fixture(scope="module")
def bank():
    return [q for path in quiz_paths([default_quiz_dir()]) for q in load_quiz(path).questions]


def test_press_key_at_the_radial_pulse(atlas):
    q = Press(type="press", where="radial_pulse", grade="firm", ask=["verdict", "at_risk"], **COMMON)
    key = compute_key(q, atlas)
    assert key.verdict == "avoid" and "radial_artery" in key.at_risk
    assert grade(q, {"verdict": "avoid", "at_risk": list(key.at_risk)}, key=key).correct
    assert grade(q, {"verdict": "avoid", "at_risk": ["radial artery"]}, atlas=atlas, key=key).score > 0.5


def test_territory_key_at_the_thenar_eminence(atlas):
    q = Territory(type="territory", where="thenar_eminence", **COMMON)
    assert compute_key(q, atlas).territory == "median"
    assert grade(q, "median", atlas=atlas).correct


def test_the_bank_covers_every_type(bank):
    counts = Counter(q.type for q in bank)
    assert set(counts) == set(QUESTION_TYPES)
    assert all(counts[t] >= 3 for t in SPATIAL_TYPES), counts
    assert len(bank) >= 30
    assert all(any(t.startswith("domain:") for t in q.tags) for q in bank)
    assert all(len(q.explanation) >= 60 for q in bank)
    assert len({q.id for q in bank}) == len(bank)


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_checks_the_shipped_quizzes(capsys):
    code, out, err = run(capsys, "quiz", "check", default_quiz_dir())
    assert (code, err) == (0, "")
    assert "areas_of_caution.yaml: valid" in out and "hand_anatomy.yaml: valid" in out
    assert run(capsys, "quiz", "check")[0] == 0


def test_cli_refuses_a_broken_file(capsys, tmp_path, fixture_dir):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format_version: 1\nquiz:\n  id: bad\n  title: Bad\n  author: me\nquestions:\n"
                   "  - id: q1\n    type: press\n    prompt: p\n    explanation: e\n"
                   "    where: radial_pulse\n    grade: hard\n")
    good = default_quiz_dir() / "hand_anatomy.yaml"
    code, out, err = run(capsys, "quiz", "check", bad, good)
    assert code == 1
    assert err == f"{bad}:12: question 'q1', field 'grade': 'hard' is not one of light, moderate, firm\n"
    assert f"{good}: valid" in out
    code, _, err = run(capsys, "--atlas", fixture_dir, "quiz", "check", tmp_path / "missing.yaml")
    assert code == 2 and "no such quiz file" in err
