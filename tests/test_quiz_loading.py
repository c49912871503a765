"""Loading quiz files: every malformed case is refused with file, line and field."""

from __future__ import annotations

import textwrap

import pytest

from handatlas.quiz import QuizError, load_quiz, parse_quiz
from handatlas.quiz.loading import read_yaml

HEAD = """\
format_version: 1
quiz:
  id: wrist
  title: Wrist
  author: tester
  pass_mark: 0.8
questions:
"""
# line 8 onward: the questions
PRESS = """\
  - id: q1
    type: press
    prompt: Press here.
    explanation: Because.
    where: radial_pulse
    grade: firm
"""


def write(tmp_path, text: str, name: str = "wrist.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(tmp_path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(QuizError) as info:
        load_quiz(path)
    prefix = str(tmp_path) + "/"
    return [str(p).replace(prefix, "") for p in info.value.problems]


def test_a_valid_file_loads_with_lines(tmp_path):
    quiz = load_quiz(write(tmp_path, HEAD + PRESS))
    assert quiz.model.quiz.pass_mark == 0.8
    q = quiz.questions[0]
    assert (q.type, q.where, q.grade, q.ask, q.radius_mm, q.difficulty) == (
        "press", "radial_pulse", "firm", ["verdict"], 8.0, 3)
    assert quiz.line("questions", 0, "grade") == 13
    assert quiz.line("questions", 0, "tags") == 8  # absent: the question's line
    assert quiz.name == str(tmp_path / "wrist.yaml")


def test_the_message_names_file_line_field(tmp_path):
    assert problems(tmp_path, HEAD + PRESS.replace("grade: firm", "grade: hard")) == [
        "wrist.yaml:13: question 'q1', field 'grade': 'hard' is not one of light, moderate, firm"]


def test_broken_yaml_names_its_line(tmp_path):
    text = HEAD + PRESS.replace("    where: radial_pulse", "    where: [radial_pulse")
    (message,) = problems(tmp_path, text)
    assert message.startswith("wrist.yaml:13: broken YAML: ")
    assert "column" in message


def test_broken_yaml_tab_indent(tmp_path):
    (message,) = problems(tmp_path, HEAD + "\t- id: q1\n")
    assert message.startswith("wrist.yaml:8: broken YAML: found character '\\t'")


def test_unknown_question_type_suggests(tmp_path):
    assert problems(tmp_path, HEAD + PRESS.replace("type: press", "type: presss")) == [
        "wrist.yaml:9: question 'q1', field 'type': unknown question type 'presss'; did you mean "
        "'press'? (types: locate, identify, press, territory, choice, order)"]


def test_missing_type(tmp_path):
    assert problems(tmp_path, HEAD + PRESS.replace("    type: press\n", "")) == [
        "wrist.yaml:8: question 'q1', field 'type': missing; choose one of locate, identify, press, "
        "territory, choice, order"]


def test_duplicate_question_ids_name_both_lines(tmp_path):
    assert problems(tmp_path, HEAD + PRESS + PRESS) == [
        "wrist.yaml:14: question 'q1', field 'id': duplicate id: also used at line 8"]


def test_missing_field(tmp_path):
    assert problems(tmp_path, HEAD + PRESS.replace("    explanation: Because.\n", "")) == [
        "wrist.yaml:8: question 'q1', field 'explanation': required, but missing"]


def test_missing_header_field(tmp_path):
    assert problems(tmp_path, HEAD.replace("  author: tester\n", "") + PRESS) == [
        "wrist.yaml:2: field 'quiz.author': required, but missing"]


def test_wrong_format_version(tmp_path):
    assert problems(tmp_path, HEAD.replace("format_version: 1", "format_version: 2") + PRESS) == [
        "wrist.yaml:1: field 'format_version': 2 is not supported: this handatlas reads format_version 1"]


def test_missing_format_version(tmp_path):
    assert problems(tmp_path, HEAD.replace("format_version: 1\n", "") + PRESS) == [
        "wrist.yaml:1: field 'format_version': required, but missing"]


def test_unknown_key_suggests(tmp_path):
    text = HEAD + PRESS.replace("grade: firm", "grade: firm\n    radius: 6")
    assert problems(tmp_path, text) == [
        "wrist.yaml:14: question 'q1', field 'radius': unknown field; did you mean 'radius_mm'?"]


def test_unknown_key_in_header_and_top_level(tmp_path):
    text = HEAD.replace("  pass_mark: 0.8", "  passmark: 0.8") + PRESS + "extra: 1\n"
    assert problems(tmp_path, text) == [
        "wrist.yaml:6: field 'quiz.passmark': unknown field; did you mean 'pass_mark'?",
        "wrist.yaml:14: field 'extra': unknown field (known: format_version, quiz, questions)",
    ]


def test_pass_mark_is_a_fraction(tmp_path):
    assert problems(tmp_path, HEAD.replace("pass_mark: 0.8", "pass_mark: 80") + PRESS) == [
        "wrist.yaml:6: field 'quiz.pass_mark': 80 is not a fraction from 0 to 1 (write 0.8 for 80 %)"]


def test_key_given_twice(tmp_path):
    assert problems(tmp_path, HEAD + PRESS.replace("grade: firm", "grade: firm\n    grade: light")) == [
        "wrist.yaml:14: question 'q1', field 'grade': given twice (first at line 13)"]


def test_where_must_be_landmark_or_point(tmp_path):
    assert problems(tmp_path, HEAD + PRESS.replace("where: radial_pulse", "where: [1, 2]")) == [
        "wrist.yaml:12: question 'q1', field 'where': must be a landmark id or a point [x, y, z] in mm, "
        "not [1, 2]"]


def test_bad_tag_and_difficulty(tmp_path):
    text = HEAD + PRESS + "    tags: [topic:wrist, wrist]\n    difficulty: 6\n"
    assert problems(tmp_path, text) == [
        "wrist.yaml:14: question 'q1', field 'tags[1]': 'wrist' must look like topic:<word> or "
        "domain:<word> (lower case, _ or -)",
        "wrist.yaml:15: question 'q1', field 'difficulty': input should be less than or equal to 5 (got 6)",
    ]


def test_choice_answer_type(tmp_path):
    text = HEAD + """\
  - id: c1
    type: choice
    prompt: Which?
    explanation: That one.
    options: [a, b]
    answer: b
"""
    assert problems(tmp_path, text) == [
        "wrist.yaml:13: question 'c1', field 'answer': must be an option index (0-based) or a list of "
        "indices, not 'b'"]


def test_question_without_id_is_numbered(tmp_path):
    text = HEAD + PRESS.replace("  - id: q1\n    type: press", "  - type: press")
    assert problems(tmp_path, text) == ["wrist.yaml:8: question #1, field 'id': required, but missing"]


def test_no_questions(tmp_path):
    assert problems(tmp_path, HEAD.replace("questions:\n", "questions: []\n")) == [
        "wrist.yaml:7: field 'questions': the quiz needs at least one question"]


@pytest.mark.parametrize(("text", "expected"), [
    ("", "wrist.yaml:1: the file is empty; expected format_version, quiz and questions"),
    ("- 1\n- 2\n", "wrist.yaml:1: expected a mapping with format_version, quiz and questions, not a list"),
    ("a: 1\n---\nb: 2\n", "wrist.yaml:2: broken YAML: but found another document (column 1)"),
])
def test_not_a_quiz(tmp_path, text, expected):
    assert problems(tmp_path, text) == [expected]


def test_unreadable_file(tmp_path):
    with pytest.raises(QuizError, match=r"nope\.yaml: cannot read the file: No such file"):
        load_quiz(tmp_path / "nope.yaml")


def test_python_tags_are_not_executed(tmp_path):
    text = HEAD + PRESS.replace("where: radial_pulse", "where: !!python/object/apply:os.system ['echo hi']")
    (message,) = problems(tmp_path, text)
    assert message.startswith("wrist.yaml:12: broken YAML: could not determine a constructor")


def test_several_problems_are_reported_together_in_line_order(tmp_path):
    text = HEAD.replace("pass_mark: 0.8", "pass_mark: 2") + PRESS.replace("grade: firm", "grade: hard")
    lines = [int(p.split(":")[1]) for p in problems(tmp_path, text)]
    assert lines == [6, 13]


def test_read_yaml_maps_items_and_keys():
    data, lines = read_yaml("a:\n  - x: 1\n    y: [1, 2]\n  - 3\n", "t.yaml")
    assert data == {"a": [{"x": 1, "y": [1, 2]}, 3]}
    assert lines[("a", 0, "y")] == 3 and lines[("a", 1)] == 4


def test_parse_quiz_from_text():
    quiz = parse_quiz(HEAD + PRESS, name="inline.yaml")
    assert quiz.name == "inline.yaml" and quiz.questions[0].id == "q1"


def test_yaml_booleans_get_a_quoting_hint(tmp_path):
    text = HEAD + """\
  - id: o1
    type: order
    prompt: Which first?
    explanation: This one.
    items: [yes, maybe]
"""
    assert problems(tmp_path, text) == [
        "wrist.yaml:12: question 'o1', field 'items[0]': expected a text, got True (YAML reads "
        "yes/no/on/off as true/false: put such words in quotes)"]


def test_points_must_be_finite(tmp_path):
    assert problems(tmp_path, HEAD + PRESS.replace("where: radial_pulse", "where: [1, 2, .nan]")) == [
        "wrist.yaml:12: question 'q1', field 'where': must be a landmark id or a point [x, y, z] in mm, "
        "not [1, 2, nan]"]


def test_a_question_must_be_a_mapping(tmp_path):
    assert problems(tmp_path, HEAD + "  - [1]\n") == [
        "wrist.yaml:8: question #1: must be a mapping of fields, not list [1]"]
