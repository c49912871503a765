"""Press explanations are templates filled from the computed key, so they cannot contradict it."""

from __future__ import annotations

import re

import numpy as np
import pytest

from handatlas.quiz import compute_key, default_quiz_dir, load_quiz, quiz_paths
from handatlas.quiz.explanations import (
    FIELDS,
    VERDICT_WORDS,
    explanation_text,
    render_press,
    template_problems,
)
from handatlas.quiz.keys import PressKey
from handatlas.quiz.schema import Press

VERDICTS = ("safe", "caution", "avoid")


def bank_presses():
    for path in quiz_paths([default_quiz_dir()]):
        for q in load_quiz(path).questions:
            if isinstance(q, Press):
                yield pytest.param(q, id=f"{path.stem}:{q.id}")


@pytest.mark.parametrize("question", list(bank_presses()))
def test_every_press_explanation_renders_from_its_key(question, atlas):
    key = compute_key(question, atlas)
    text = explanation_text(question, key)
    assert "{" not in text and "}" not in text, text
    # the verdict it states is the key's, and no other verdict word appears
    assert [w.lower() for w in VERDICT_WORDS.findall(text)] == [key.verdict], text
    assert key.grade in text
    if "{structure}" in question.explanation:
        assert key.structure and f"the {key.structure}" in text
    if "{depth_mm}" in question.explanation:
        assert f"{key.depth_mm} mm" in text
        assert key.depth_mm == round(key.depth_mm, 1) and key.depth_mm >= 0


def test_the_key_names_what_the_report_names(atlas):
    """``{structure}``/``{depth_mm}`` are the report's worst structure and the depth it quotes."""
    for where, grade in [("radial_pulse", "firm"), ("anatomical_snuffbox", "moderate"), ("pisiform", "firm")]:
        q = Press(id="p", type="press", prompt="?", explanation="{verdict}", where=where, grade=grade)
        key = compute_key(q, atlas)
        report = atlas.press(where, grade=grade)
        assert key.verdict == report.verdict != "safe"
        worst = report.at_risk[0]
        assert key.structure.lower() == worst.name.lower()
        assert key.depth_mm == round(worst.depth_mm, 1)
        assert f"{worst.depth_mm:.1f} mm" in report.message  # the message quotes the same depth


def test_a_safe_press_names_its_most_loaded_structure_or_nothing(atlas):
    q = Press(id="p", type="press", prompt="?", explanation="{verdict}", where="thenar_eminence",
              grade="light")
    key = compute_key(q, atlas)
    report = atlas.press("thenar_eminence", grade="light")
    assert key.verdict == report.verdict == "safe" and not report.at_risk and not report.shielded
    assert key.structure.lower() == report.most_loaded[0].lower()
    assert key.depth_mm == round(report.most_loaded[1], 1)
    assert f"{key.depth_mm:.1f} mm deep" in report.message


@pytest.mark.parametrize(("template", "problem"), [
    ("This point is safe.", "the verdict word 'safe' is written out"),
    ("Caution: the {structure} is near.", "the verdict word 'Caution'"),
    ("{verdict}: AVOID firm work.", "the verdict word 'AVOID'"),
    ("The {nerve} is close: {verdict}.", "unknown field {nerve}"),
    ("{verdict.__class__}", "unknown field {verdict.__class__}"),
    ("{verdict!r}", "conversions are not allowed"),
    ("{structure:>20} {verdict}", "only depth_mm takes a format"),
    ("{depth_mm:q} {verdict}", "not a number format"),
    ("A brace { alone {verdict}", "not a valid template"),
])
def test_bad_templates_are_named(template, problem):
    problems = template_problems(template)
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("template", [
    "A {grade} press is {verdict}; the {structure} is {depth_mm:.0f} mm deep.",
    "Verdict: {verdict}. Do this safely and cautiously; avoidance is not the point.",  # other word forms
    "{verdict} {{literal braces}}",
])
def test_good_templates_pass(template):
    assert template_problems(template) == []


def _key(verdict: str, structure: str | None, depth: float | None) -> PressKey:
    return PressKey(verdict, (), {}, ("verdict",), "firm", np.zeros(3), "", structure, depth)


def test_render_fills_the_fields_and_refuses_a_missing_structure():
    text = render_press("A {grade} press: {verdict}; the {structure}, {depth_mm:.0f} mm.",
                        _key("avoid", "ulnar nerve", 3.4))
    assert text == "A firm press: avoid; the ulnar nerve, 3 mm."
    assert render_press("{verdict} at {grade}", _key("safe", None, None)) == "safe at firm"
    with pytest.raises(ValueError, match=r"uses \{structure\}, but no nerve or vessel is within reach"):
        render_press("{verdict}; the {structure}", _key("safe", None, None))
    with pytest.raises(ValueError, match="verdict word 'safe'"):
        render_press("{verdict}, so safe", _key("avoid", "x", 1.0))


def test_bank_press_explanations_say_the_verdict(atlas):
    """A house rule of the shipped bank: every press explanation states the computed verdict."""
    for param in bank_presses():
        (q,) = param.values
        assert "{verdict}" in q.explanation, q.id
        assert {f for f in re.findall(r"\{(\w+)", q.explanation)} <= set(FIELDS)


def test_checker_reports_a_template_problem_with_its_line(fixture_atlas):
    from test_quiz_checking import check, question

    text = question("press", "where: radial_pulse\ngrade: firm\n").replace("explanation: This.",
                                                                          "explanation: Safe, {nerve}.")
    problems = check(text, fixture_atlas)
    assert any(p.startswith("q.yaml:10: question 'q1', field 'explanation'") and "'Safe'" in p
               for p in problems), problems
    assert any("unknown field {nerve}" in p for p in problems), problems


def test_checker_refuses_a_structure_where_none_is_in_reach(fixture_atlas):
    """A light press on the fixture's dorsum reaches no nerve or vessel: ``{structure}`` is refused."""
    from test_quiz_checking import check, question

    body = "where: dorsum_center\ngrade: light\n"
    good = question("press", body).replace("explanation: This.", "explanation: '{verdict} at {grade}'")
    assert check(good, fixture_atlas) == []
    bad = good.replace("{verdict} at {grade}", "{verdict}: the {structure}")
    assert check(bad, fixture_atlas) == [
        "q.yaml:10: question 'q1', field 'explanation': uses {structure}, but no nerve or vessel is within "
        "reach of this press (verdict safe)"]
