"""Checking quizzes against the fixture atlas: unknown ids with did-you-mean, impossible answers."""

from __future__ import annotations

import textwrap

import pytest
from conftest import edit_manifest

from handatlas import load_atlas
from handatlas.quiz import check_files, check_quiz, parse_quiz

HEAD = """\
format_version: 1
quiz:
  id: wrist
  title: Wrist
  author: tester
questions:
"""
# the first question starts at line 7


def check(text: str, atlas) -> list[str]:
    quiz = parse_quiz(HEAD + textwrap.dedent(text), name="q.yaml")
    return [str(p) for p in check_quiz(quiz, atlas, domains=False)]  # domain tags: test_domain_*


def question(kind: str, body: str, qid: str = "q1") -> str:
    """A question of ``kind``: id at line 7, type 8, prompt 9, explanation 10, ``body`` from 11."""
    return (f"  - id: {qid}\n    type: {kind}\n    prompt: What?\n    explanation: This.\n"
            + textwrap.indent(textwrap.dedent(body), "    "))


def test_valid_questions_have_no_problems(fixture_atlas):
    text = (question("locate", "target: median nerve\n", "a")
            + question("locate", "target: palm_center\n", "b")
            + question("identify", "target: os capitatum\noptions: [capitate, hamate]\n", "c")
            + question("press", "where: radial_pulse\ngrade: firm\nask: [verdict, at_risk]\n", "d")
            + question("press", "where: [0, 0, 20]\n", "e")
            + question("territory", "where: [-25, 0, 20]\nvariant: dorsal_ulnar_2_5\n", "f")
            + question("choice", "options: [a, b, c]\nanswer: [0, 2]\n", "g")
            + question("order", "items: [first, second]\n", "h"))
    assert check(text, fixture_atlas) == []


def test_unknown_structure_suggests(fixture_atlas):
    assert check(question("locate", "target: median nerv\n"), fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'target': unknown structure or landmark 'median nerv'; "
        "did you mean 'median_nerve'?"]


def test_unknown_identify_target_suggests_by_synonym(fixture_atlas):
    assert check(question("identify", "target: os capitatumm\n"), fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'target': unknown structure 'os capitatumm'; "
        "did you mean 'capitate'?"]


def test_unknown_landmark_suggests(fixture_atlas):
    assert check(question("press", "where: radial_puls\n"), fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'where': unknown landmark 'radial_puls'; "
        "did you mean 'radial_pulse'?"]


def test_unknown_landmark_in_territory(fixture_atlas):
    assert check(question("territory", "where: palm_centre\n"), fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'where': unknown landmark 'palm_centre'; "
        "did you mean 'palm_center'?"]


def test_unknown_variant_suggests(fixture_atlas):
    assert check(question("territory", "where: palm_center\nvariant: dorsal_ulnar\n"), fixture_atlas) == [
        "q.yaml:12: question 'q1', field 'variant': unknown territory variant 'dorsal_ulnar'; "
        "did you mean 'dorsal_ulnar_2_5'?"]


def test_identify_option_unknown_and_target_missing(fixture_atlas):
    text = question("identify", "target: capitate\noptions: [hamate, median nerf]\n")
    assert check(text, fixture_atlas) == [
        "q.yaml:12: question 'q1', field 'options[1]': unknown structure 'median nerf'; "
        "did you mean 'median_nerve'?"]
    assert check(question("identify", "target: capitate\noptions: [hamate, skin]\n"), fixture_atlas) == [
        "q.yaml:12: question 'q1', field 'options': none of the options is the target 'capitate'"]
    assert check(question("identify", "target: capitate\noptions: [capitate, os capitatum]\n"),
                  fixture_atlas) == ["q.yaml:12: question 'q1', field 'options[1]': names 'capitate' again"]


def test_press_asking_for_at_risk_with_an_empty_key(fixture_atlas):
    assert check(question("press", "where: palm_center\ngrade: light\nask: at_risk\n"), fixture_atlas) == [
        "q.yaml:13: question 'q1', field 'ask': asks for the structures at risk, but a light press here "
        "puts none at risk (verdict safe); ask for the verdict only, or choose another point or grade"]


def test_press_key_must_be_clear_of_the_thresholds(fixture_atlas):
    # over the median nerve with no bone behind, with a 7 mm pad: safe at moderate, caution a
    # quarter harder (with an 8 mm pad, safe either way; with 5 mm, caution either way)
    near = check(question("press", "where: [0, -40, 20]\ngrade: moderate\nradius_mm: 7\n"), fixture_atlas)
    assert near == ["q.yaml:12: question 'q1', field 'grade': the verdict is safe at moderate, but safe with "
                    "a quarter less force or caution with a quarter more: too close to a threshold to be a "
                    "fair key; choose another point or grade"]
    for radius in (8, 5):
        body = f"where: [0, -40, 20]\ngrade: moderate\nradius_mm: {radius}\n"
        assert check(question("press", body), fixture_atlas) == []
    # over the radial artery: the verdict holds at firm, the structures at risk too
    assert check(question("press", "where: [25, -40, 20]\ngrade: firm\nask: [verdict, at_risk]\n"),
                 fixture_atlas) == []


def test_territory_point_must_be_clear_of_a_border(fixture_atlas):
    # median between x = -10 and x = 10 (the fixture's skin vertices are 4 mm apart or less)
    (message,) = check(question("territory", "where: [8, 0, 20]\n"), fixture_atlas)
    assert message == ("q.yaml:11: question 'q1', field 'where': radial skin lies within 4 mm: too near a "
                       "border between territories for a fair key; choose a point farther in")
    assert check(question("territory", "where: [0, 0, 20]\n"), fixture_atlas) == []


def test_press_point_off_the_skin(fixture_atlas):
    (message,) = check(question("press", "where: [0, 0, 100]\n"), fixture_atlas)
    assert message.startswith("q.yaml:11: question 'q1', field 'where': point [0.0, 0.0, 100.0] is 80.0 mm "
                              "outside the skin")


def test_choice_impossible_answers(fixture_atlas):
    assert check(question("choice", "options: [a, b, c]\nanswer: 3\n"), fixture_atlas) == [
        "q.yaml:12: question 'q1', field 'answer': index 3 is out of range: options are numbered 0 to 2"]
    assert check(question("choice", "options: [a, b, c]\nanswer: [0, -1, 0]\n"), fixture_atlas) == [
        "q.yaml:12: question 'q1', field 'answer[1]': index -1 is out of range: options are numbered 0 to 2",
        "q.yaml:12: question 'q1', field 'answer[2]': index 0 is listed twice"]
    assert check(question("choice", "options: [a, b]\nanswer: []\n"), fixture_atlas) == [
        "q.yaml:12: question 'q1', field 'answer': the answer list is empty: name at least one option"]


def test_choice_options(fixture_atlas):
    assert check(question("choice", "options: []\nanswer: 0\n"), fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'options': the option list is empty",
        "q.yaml:12: question 'q1', field 'answer': index 0 is out of range: options are numbered none: "
        "the list is empty"]
    assert check(question("choice", "options: [Radial artery, ' radial  ARTERY ']\nanswer: 0\n"),
                 fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'options[1]': duplicate of options[0] 'Radial artery'"]
    assert check(question("choice", "options: [only]\nanswer: 0\n"), fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'options': a choice question needs at least 2 options, got 1"]


def test_order_items(fixture_atlas):
    assert check(question("order", "items: [alone]\n"), fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'items': an order question needs at least 2 items, got 1"]
    assert check(question("order", "items: [a, b, A]\n"), fixture_atlas) == [
        "q.yaml:11: question 'q1', field 'items[2]': duplicate of items[0] 'a'"]


def test_locate_target_without_geometry(atlas_copy):
    def add_group(doc):
        doc["structures"].append({"id": "veins", "name": "Veins", "acronym": "", "synonyms": [],
                                  "parent": "hand", "tissue": None, "layer": None, "risk": None,
                                  "risk_note": "", "colour": "#3050c0", "description": "", "mesh": None})

    edit_manifest(atlas_copy, add_group)
    atlas = load_atlas(atlas_copy)
    assert check(question("locate", "target: Veins\n"), atlas) == [
        "q.yaml:11: question 'q1', field 'target': 'veins' has no geometry to click "
        "(a group with no meshes below it)"]


def test_checks_without_an_atlas_skip_the_keys():
    text = question("locate", "target: nonsense\n") + question("choice", "options: [a]\nanswer: 0\n", "q2")
    assert check(text, None) == [
        "q.yaml:16: question 'q2', field 'options': a choice question needs at least 2 options, got 1"]


@pytest.fixture
def two_files(tmp_path):
    good = tmp_path / "a.yaml"
    good.write_text(HEAD + question("locate", "target: capitate\ntags: [domain:anatomy_physiology]\n"))
    same_id = tmp_path / "b.yaml"
    same_id.write_text(HEAD + question("locate", "target: capitat\ntags: [domain:anatomy_physiology]\n"))
    return tmp_path


def test_check_files_over_a_folder(two_files, fixture_atlas):
    found = [str(p).replace(str(two_files) + "/", "") for p in check_files([two_files], fixture_atlas)]
    assert found == [
        "b.yaml:11: question 'q1', field 'target': unknown structure or landmark 'capitat'; "
        "did you mean 'capitate'?",
        "b.yaml:3: field 'quiz.id': quiz id 'wrist' is also used by a.yaml:3",
    ]


def test_check_files_reports_loading_errors(tmp_path, fixture_atlas):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format_version: 1\nquiz: [\n")
    (problem,) = check_files([bad], fixture_atlas)
    assert problem.file == str(bad) and problem.line == 3 and "broken YAML" in problem.message


# ----------------------------------------------------------------------------- prompts giving answers away
def asked(kind: str, prompt: str, body: str) -> str:
    """A question with its own ``prompt`` (at line 9)."""
    return question(kind, body).replace("prompt: What?", f"prompt: {prompt}")


def giveaway(text: str, atlas) -> list[str]:
    return [m for m in check(text, atlas) if "gives the answer away" in m]


def test_a_prompt_naming_the_key_option_and_no_other_is_refused(fixture_atlas):
    options = "options: [Refer her to her doctor, Massage firmly, Ignore it]\n"
    (message,) = check(asked("choice", "Should you refer her to her doctor?", options + "answer: 0\n"),
                       fixture_atlas)
    assert message == ("q.yaml:9: question 'q1', field 'prompt': names 'refer her to her doctor' (option 0, "
                       "the answer) and no wrong option: it gives the answer away; reword it without "
                       "naming the answer")
    # naming a wrong option too, or only a wrong one, singles nothing out
    assert giveaway(asked("choice", "Refer her to her doctor, or ignore it?", options + "answer: 0\n"),
                    fixture_atlas) == []
    assert giveaway(asked("choice", "Why not massage firmly?", options + "answer: 0\n"), fixture_atlas) == []
    # whole words only, and no name under 3 characters
    assert giveaway(asked("choice", "Is it ignore itself?", options + "answer: 2\n"), fixture_atlas) == []
    assert giveaway(asked("choice", "Say no or yes?", "options: ['no', maybe]\nanswer: 0\n"),
                    fixture_atlas) == []
    # the scenario counts as well, and every key of a multiple-answer question
    scenario = "scenario: She says she will massage firmly at home.\n"
    (message,) = giveaway(asked("choice", "What now?", scenario + options + "answer: [1, 2]\n"),
                          fixture_atlas)
    assert message.startswith("q.yaml:11: question 'q1', field 'scenario': names 'massage firmly' (option 1")


def test_an_identify_prompt_naming_its_target_by_a_synonym_is_refused(fixture_atlas):
    # without options any name of the target gives it away: the atlas's synonym, its acronym
    (message,) = check(asked("identify", "Name this bone, the os capitatum.", "target: capitate\n"),
                       fixture_atlas)
    assert "field 'prompt': names 'os capitatum' (the target, the answer) and no wrong option" in message
    artery = "target: radial artery\n"
    assert giveaway(asked("identify", "Where does the radial artery run?", artery), fixture_atlas)
    assert giveaway(asked("identify", "Name the vessel (RA).", artery), fixture_atlas) == []  # 2 letters
    assert giveaway(asked("identify", "Name the highlighted bone.", "target: capitate\n"),
                    fixture_atlas) == []
    # with options: the key named by its synonym, the other option not named
    body = "target: capitate\noptions: [capitate, hamate]\n"
    assert giveaway(asked("identify", "The os capitatum, or not?", body), fixture_atlas)
    assert giveaway(asked("identify", "Capitate or hamate?", body), fixture_atlas) == []
    assert giveaway(asked("identify", "Is it the hamate?", body), fixture_atlas) == []


def test_a_territory_prompt_naming_the_answers_nerve_is_refused(fixture_atlas):
    body = "where: [-25, 0, 20]\n"  # ulnar skin
    (message,) = check(asked("territory", "Which nerve supplies the ulnar side here?", body), fixture_atlas)
    assert message == ("q.yaml:9: question 'q1', field 'prompt': names 'ulnar' (the ulnar nerve, the answer) "
                       "and no wrong option: it gives the answer away; reword it without naming the answer")
    for fair in ("Which nerve supplies the little-finger side here?", "Median, ulnar or radial nerve?",
                 "Is this the radial nerve's skin?"):
        assert giveaway(asked("territory", fair, body), fixture_atlas) == [], fair


def test_no_prompt_of_the_bank_gives_its_answer_away():
    from handatlas.quiz import default_quiz_dir, load_quiz, quiz_paths
    from handatlas.quiz.checking import giveaway_problems

    atlas = load_atlas()
    found, checked = [], 0
    for path in quiz_paths([default_quiz_dir()]):
        quiz = load_quiz(path)
        for i, q in enumerate(quiz.questions):
            checked += q.type in ("choice", "identify", "territory")
            found += giveaway_problems(quiz, i, q, atlas)
    assert checked > 300 and found == []


# ----------------------------------------------------------------------------- exam domains
DOMAINS = ("domain:anatomy_physiology, domain:kinesiology, domain:pathology, domain:benefits_effects, "
           "domain:client_assessment, domain:ethics, domain:professional_practice")


@pytest.mark.parametrize(("tags", "line", "field", "message"), [
    ("", 7, "tags", f"no domain tag: add exactly one of {DOMAINS}"),
    ("tags: [topic:x]\n", 12, "tags", f"no domain tag: add exactly one of {DOMAINS}"),
    ("tags: [topic:x, domain:safety]\n", 12, "tags[1]",
     f"domain:safety is not an exam domain; use one of {DOMAINS}"),
    ("tags:\n  - domain:ethics\n  - domain:pathology\n", 14, "tags[1]",
     f"2 domain tags (domain:ethics, domain:pathology): keep exactly one of {DOMAINS}"),
])
def test_a_question_needs_exactly_one_exam_domain(tmp_path, fixture_atlas, capsys, tags, line, field,
                                                  message):
    from handatlas.cli import main

    path = tmp_path / "q.yaml"
    path.write_text(HEAD + question("locate", "target: capitate\n" + tags))
    (problem,) = check_files([path], fixture_atlas)
    assert str(problem) == f"{path}:{line}: question 'q1', field '{field}': {message}"
    assert main(["--atlas", str(fixture_atlas.folder), "quiz", "check", str(path)]) == 1
    assert f"{path}:{line}: question 'q1', field '{field}': {message}" in capsys.readouterr().err
    assert main(["quiz", "mock", str(path), "--count", "1"]) == 1
    err = capsys.readouterr().err
    assert f"{path}:{line}: question 'q1', field '{field}': {message}" in err and "Traceback" not in err
    path.write_text(HEAD + question("locate", "target: capitate\ntags: [topic:x, domain:kinesiology]\n"))
    assert check_files([path], fixture_atlas) == []
