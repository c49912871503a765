"""Instructor authoring (handatlas.quiz.authoring) and credentials (handatlas.accounts)."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pytest

from handatlas.accounts import (
    AUTHORING_HELP,
    INSTRUCTORS_ENV,
    PASSWORD_ENV,
    CredentialsError,
    Instructors,
    hash_password,
    load_instructors,
)
from handatlas.quiz import check_files, default_quiz_dir, load_quiz
from handatlas.quiz.authoring import (
    AuthoringError,
    choice_question,
    click_point,
    identify_question,
    locate_question,
    order_question,
    press_question,
    preview_key,
    save_question,
    territory_question,
)
from handatlas.quiz.schema import Press

FAST = 1000  # PBKDF2 iterations in tests
TEXT = {"prompt": "A firm press at the radial pulse point. What is the verdict and what is at risk?",
        "explanation": "The radial artery lies a few millimetres under the skin at the pulse point, "
                       "on the radius."}


@pytest.fixture
def quizzes(tmp_path):
    """A writable copy of the shipped quiz folder."""
    return shutil.copytree(default_quiz_dir(), tmp_path / "quizzes")


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def pulse(question_id="new_pulse", **kw):
    kw = {**TEXT, "where": "radial_pulse", "grade": "firm", "ask": ["verdict", "at_risk"],
          "tags": ["topic:radial_artery", "domain:pathology"], "difficulty": 2, **kw}
    return press_question(question_id=question_id, **kw)


# ----------------------------------------------------------------------------- credentials
def test_hash_password_round_trips_and_salts():
    a, b = hash_password("s3cret", iterations=FAST), hash_password("s3cret", iterations=FAST)
    assert a != b and a.startswith("pbkdf2_sha256$1000$") and len(a.split("$")[3]) == 64
    team = Instructors({"alice": a})
    assert team.check("alice", "s3cret")
    assert not team.check("alice", "s3cret ") and not team.check("bob", "s3cret")
    assert not team.check("alice", "") and team.users == ("alice",)
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


def test_no_credentials_means_authoring_is_off():
    assert load_instructors({}) is None
    assert load_instructors({PASSWORD_ENV: "  ", INSTRUCTORS_ENV: ""}) is None
    for needed in (PASSWORD_ENV, INSTRUCTORS_ENV, "handatlas instructor-hash", "users:"):
        assert needed in AUTHORING_HELP


def test_the_shared_password_from_the_environment():
    team = load_instructors({PASSWORD_ENV: "correct horse"})
    assert team is not None and team.users == ("instructor",)
    assert team.check("instructor", "correct horse")
    assert not team.check("instructor", "wrong horse") and not team.check("alice", "correct horse")


def test_a_credentials_file(tmp_path):
    path = tmp_path / "instructors.yaml"
    path.write_text(f"# instructors\nusers:\n  alice: \"{hash_password('alpha', iterations=FAST)}\"\n"
                    f"  bob: '{hash_password('bravo', iterations=FAST)}'\n")
    team = load_instructors({INSTRUCTORS_ENV: str(path), PASSWORD_ENV: "shared"})
    assert team.users == ("alice", "bob", "instructor")
    assert team.check("alice", "alpha") and team.check("bob", "bravo") and team.check("instructor", "shared")
    assert not team.check("alice", "bravo") and not team.check("bob", "alpha")


@pytest.mark.parametrize(("text", "expected"), [
    ("users:\n  alice: pbkdf2_sha256$1000$00ff\n", ":2: users.alice: expected pbkdf2_sha256$"),
    ("users:\n  alice: md5$1000$00ff$00\n", ":2: users.alice:"),
    ("users:\n  alice: pbkdf2_sha256$many$00ff$" + "00" * 32 + "\n", ":2: users.alice: the iterations"),
    ("users:\n  alice: pbkdf2_sha256$10$zz$" + "00" * 32 + "\n", ":2: users.alice: the salt and the hash"),
    ("users: [alice]\n", ":1: expected a mapping 'users:'"),
    ("people:\n  alice: x\n", "expected a mapping 'users:'"),
    ("users:\n  alice: [unclosed\n", "broken YAML"),
])
def test_a_broken_credentials_file_names_file_line_and_field(tmp_path, text, expected):
    path = tmp_path / "team.yaml"
    path.write_text(text)
    with pytest.raises(CredentialsError) as err:
        load_instructors({INSTRUCTORS_ENV: str(path)})
    assert str(path) in str(err.value) and expected in str(err.value)


def test_a_missing_credentials_file(tmp_path):
    with pytest.raises(CredentialsError, match=r"nobody\.yaml: cannot read"):
        load_instructors({INSTRUCTORS_ENV: str(tmp_path / "nobody.yaml")})


# ----------------------------------------------------------------------------- drafts
def test_builders_make_plain_valid_questions():
    assert click_point(np.array([12.345, -0.04, 7.96])) == [12.3, 0.0, 8.0]
    q = pulse(where=np.array([21.234, -37.78, 14.41]))
    assert q["where"] == [21.2, -37.8, 14.4] and type(q["where"][0]) is float
    assert list(q)[:3] == ["id", "type", "prompt"] and q["type"] == "press" and "radius_mm" not in q
    c = choice_question(question_id="c", prompt="Which?", explanation="Because.", options=["a", "b", "c"],
                        answer=[0, 2], tags=["domain:ethics"])
    assert c["answer"] == [0, 2] and "scenario" not in c
    o = order_question(question_id="o", prompt="Order?", explanation="So.", items=["x", "y"])
    assert o["items"] == ["x", "y"] and "tags" not in o
    with pytest.raises(AuthoringError, match="field 'id'"):
        pulse(question_id="Bad Id!")
    with pytest.raises(AuthoringError, match="field 'grade'"):
        pulse(grade="hard")
    with pytest.raises(AuthoringError, match="out of range"):
        choice_question(question_id="c", prompt="?", explanation="!", options=["a", "b"], answer=5)
    with pytest.raises(AuthoringError, match="at least 2 items"):
        order_question(question_id="o", prompt="?", explanation="!", items=["only"])


def test_preview_shows_what_the_atlas_says(atlas):
    text = preview_key(pulse(), atlas)
    assert "firm press" in text and "avoid" in text and "Radial artery" in text
    assert "at the radial pulse:" in text  # the landmark chosen, not its coordinates
    terr = territory_question(question_id="t", prompt="Which nerve?", explanation="Median.",
                              where="palm_center")
    assert preview_key(terr, atlas).startswith("Territory (standard): median")
    loc = locate_question(question_id="l", prompt="Click the median nerve.", explanation="There.",
                          target="median_nerve")
    assert preview_key(loc, atlas).startswith("Click target: Median nerve (median_nerve")
    lm = locate_question(question_id="l", prompt="Click the snuffbox.", explanation="There.",
                         target="anatomical_snuffbox", tolerance_mm=10)
    assert "landmark anatomical_snuffbox" in preview_key(lm, atlas)
    ident = identify_question(question_id="i", prompt="Name it.", explanation="It is.", target="capitate",
                              options=["hamate", "capitate"])
    shown = preview_key(ident, atlas)
    assert "Target: Capitate (capitate)" in shown and "Right option: 2." in shown
    with pytest.raises(AuthoringError, match="did you mean 'median_nerve'"):
        typo = locate_question(question_id="l", prompt="?", explanation="!", target="median nerv")
        preview_key(typo, atlas)


# ----------------------------------------------------------------------------- saving
def test_append_keeps_the_file_byte_for_byte(quizzes, atlas):
    path = quizzes / "areas_of_caution.yaml"
    before = path.read_bytes()
    assert save_question(quizzes, "areas_of_caution.yaml", pulse(), atlas=atlas) == path
    after = path.read_bytes()
    assert after.startswith(before) and len(after) > len(before)
    quiz = load_quiz(path)
    new = quiz.questions[-1]
    assert isinstance(new, Press) and new.id == "new_pulse" and new.where == "radial_pulse"
    assert new.ask == ["verdict", "at_risk"] and new.prompt == TEXT["prompt"]
    assert new.explanation == TEXT["explanation"]
    assert new.tags == ["topic:radial_artery", "domain:pathology"]
    assert check_files([quizzes], atlas) == []
    assert [p.name for p in quizzes.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_replace_keeps_the_comments_around_the_question(quizzes, atlas):
    path = quizzes / "bones_and_landmarks.yaml"
    old = path.read_text()
    start = old.index("  - id: bl_locate_fourth_web\n")
    end = old.index("  # -------", start)  # the section comment after it
    count = len(load_quiz(path).questions)
    question = pulse("bl_locate_fourth_web", where=[21.23, -37.77, 14.44], ask=["verdict"])
    with pytest.raises(AuthoringError, match="already in the file"):
        save_question(quizzes, path.name, question, atlas=atlas)
    assert path.read_text() == old
    save_question(quizzes, path.name, question, atlas=atlas, replace=True)
    new = path.read_text()
    assert new.startswith(old[:start]) and new.endswith(old[end:])
    assert [line for line in old.splitlines() if line.strip().startswith("#")] == \
           [line for line in new.splitlines() if line.strip().startswith("#")]
    quiz = load_quiz(path)
    assert len(quiz.questions) == count
    replaced = next(q for q in quiz.questions if q.id == "bl_locate_fourth_web")
    assert replaced.type == "press" and list(replaced.where) == [21.2, -37.8, 14.4]
    assert "tolerance_mm: 10" not in new[start:len(new) - len(old) + end]  # the old fields are gone
    assert check_files([quizzes], atlas) == []


def test_invalid_questions_leave_the_folder_untouched(quizzes, atlas):
    before = snapshot(quizzes)
    unknown = {"id": "click_it", "type": "locate", "prompt": "Click the median nerve.",
               "explanation": "It runs down the middle of the wrist.", "target": "median nerv"}
    with pytest.raises(AuthoringError) as err:
        save_question(quizzes, "hand_anatomy.yaml", unknown, atlas=atlas)
    message = str(err.value)
    line = len((quizzes / "hand_anatomy.yaml").read_text().splitlines()) + 6  # the new block's target line
    assert f"hand_anatomy.yaml:{line}: question 'click_it', field 'target'" in message
    assert "did you mean" in message and "nothing was written" in message
    bad_id = {**unknown, "id": "Bad Id", "target": "median_nerve"}
    with pytest.raises(AuthoringError, match=r"hand_anatomy\.yaml:\d+: question 'Bad Id', field 'id'"):
        save_question(quizzes, "hand_anatomy.yaml", bad_id, atlas=atlas)
    no_risk = {**unknown, "type": "press", "where": "thenar_eminence", "grade": "light", "ask": ["at_risk"]}
    del no_risk["target"]
    with pytest.raises(AuthoringError, match="puts none at risk"):
        save_question(quizzes, "hand_anatomy.yaml", no_risk, atlas=atlas)
    assert snapshot(quizzes) == before


@pytest.mark.parametrize("name", ["../escape.yaml", "/tmp/escape.yaml", "sub/x.yaml", "x.yml", "x.txt",
                                  ".hidden.yaml", "..", "Upper.yaml", "a..b.yaml", ""])
def test_file_names_must_be_bare_slugs(quizzes, atlas, name):
    before = snapshot(quizzes)
    with pytest.raises(AuthoringError, match="refusing"):
        save_question(quizzes, name, pulse(), atlas=atlas, header={"id": "x", "title": "X", "author": "me"})
    assert snapshot(quizzes) == before
    assert not (quizzes.parent / "escape.yaml").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks")
def test_a_symlink_out_of_the_folder_is_refused(quizzes, atlas, tmp_path):
    outside = tmp_path / "outside.yaml"
    shutil.copy(quizzes / "territories.yaml", outside)
    (quizzes / "territories.yaml").unlink()
    os.symlink(outside, quizzes / "linked.yaml")
    before = outside.read_bytes()
    with pytest.raises(AuthoringError, match="outside the quiz folder"):
        save_question(quizzes, "linked.yaml", pulse(), atlas=atlas)
    assert outside.read_bytes() == before


def test_a_new_file_needs_a_header_and_a_fresh_quiz_id(quizzes, atlas):
    before = snapshot(quizzes)
    with pytest.raises(AuthoringError, match="new file"):
        save_question(quizzes, "wrist.yaml", pulse(), atlas=atlas)
    taken = {"id": "hand_anatomy", "title": "Wrist", "author": "me"}
    with pytest.raises(AuthoringError, match=r"wrist\.yaml:\d+: field 'quiz.id': .*hand_anatomy\.yaml:\d+"):
        save_question(quizzes, "wrist.yaml", pulse(), atlas=atlas, header=taken)
    with pytest.raises(AuthoringError, match="pass_mark"):
        save_question(quizzes, "wrist.yaml", pulse(), atlas=atlas,
                      header={**taken, "id": "wrist", "pass_mark": 80})
    assert snapshot(quizzes) == before
    header = {"id": "wrist", "title": "The wrist", "author": "Ada", "pass_mark": 0.75, "shuffle": True}
    path = save_question(quizzes, "wrist.yaml", pulse(), atlas=atlas, header=header)
    quiz = load_quiz(path)
    assert quiz.model.quiz.title == "The wrist" and quiz.model.quiz.pass_mark == 0.75
    assert [q.id for q in quiz.questions] == ["new_pulse"]
    second = choice_question(question_id="consent", prompt="Before you start?", explanation="Ask first.",
                             options=["Ask for consent", "Start at once"], answer=0, tags=["domain:ethics"],
                             scenario="A new client: yes, they booked.")
    first_text = path.read_text()
    save_question(quizzes, "wrist.yaml", second, atlas=atlas)
    assert path.read_text().startswith(first_text)
    assert load_quiz(path).questions[1].scenario == "A new client: yes, they booked."
    assert check_files([quizzes], atlas) == []


def test_saving_into_a_hostile_file_is_refused_and_nothing_written(quizzes, atlas):
    """A symlink loop, a non-UTF-8 file and a file over the size limit: a message, no traceback."""
    from handatlas.quiz import limits

    (quizzes / "loop.yaml").symlink_to("loop.yaml")
    (quizzes / "latin.yaml").write_bytes(b"format_version: 1\nquiz:\n  title: Caf\xe9\n")
    (quizzes / "huge.yaml").write_bytes(b"# padding\n" * (limits.MAX_FILE_BYTES // 10 + 1))
    def files():
        return {p.name: p.read_bytes() for p in sorted(quizzes.iterdir()) if not p.is_symlink()}

    before = files()
    with pytest.raises(AuthoringError, match=r"refusing loop\.yaml: it is not a file"):
        save_question(quizzes, "loop.yaml", pulse(), atlas=atlas)
    with pytest.raises(AuthoringError, match=r"latin\.yaml cannot be loaded") as info:
        save_question(quizzes, "latin.yaml", pulse(), atlas=atlas)
    assert "latin.yaml:3: not UTF-8 text: byte 0xe9" in str(info.value)
    with pytest.raises(AuthoringError, match="over the size limit of 5 MB"):
        save_question(quizzes, "huge.yaml", pulse(), atlas=atlas)
    assert files() == before and os.readlink(quizzes / "loop.yaml") == "loop.yaml"
