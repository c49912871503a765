"""The web app's modes driven from Python (no browser): clicks as view rays, widgets set directly.

The browser tests (tests/browser/) check the same paths through chromium; these check the
behaviour in detail and fast.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from ui_quizzes import IDENTIFY_QUIZ, LOCATE_QUIZ, write_quiz

from handatlas.accounts import Instructors, hash_password
from handatlas.quiz import default_quiz_dir, load_quiz
from handatlas.ui.app import HandApp
from handatlas.ui.quizviews import anonymous_mesh

PASSWORD = "correct horse battery"


def ray_at(point, normal, *, seq=1, back=150.0):
    """A click message whose view ray comes from outside along the normal and meets ``point``."""
    point, normal = np.asarray(point, float), np.asarray(normal, float)
    return {"seq": seq, "ray": {"origin": (point + back * normal).tolist(), "direction": (-normal).tolist()}}


@pytest.fixture
def quizzes(tmp_path) -> Path:
    folder = tmp_path / "quizzes"
    shutil.copytree(default_quiz_dir(), folder)
    return folder


@pytest.fixture
def app(atlas, quizzes, tmp_path) -> HandApp:
    instructors = Instructors({"instructor": hash_password(PASSWORD, iterations=1000)})
    made = HandApp(atlas, quizzes=quizzes, progress_db=str(tmp_path / "progress.sqlite"),
                   instructors=instructors)
    made.__panel__()
    return made


# ----------------------------------------------------------------------------- quiz
def test_locate_question_answered_by_a_click(app, quizzes):
    write_quiz(quizzes, "one_locate.yaml", LOCATE_QUIZ)
    app.state.mode = "quiz"
    run = app.quiz.start("one_locate")
    assert run is not None and app.state.message == ""
    lm = app.atlas.landmark("radial_pulse")
    app.on_click(ray_at(lm.point, lm.normal))
    assert app.last_click["result"] == "right"
    assert run.finished and run.score == 1.0
    assert "1 / 1" in app.quiz.status.object and "passed" in app.quiz.status.object


def test_locate_click_far_away_is_wrong_and_the_answer_is_shown(app, quizzes):
    write_quiz(quizzes, "one_locate.yaml", LOCATE_QUIZ)
    app.state.mode = "quiz"
    run = app.quiz.start("one_locate.yaml")
    lm = app.atlas.landmark("hypothenar_eminence")
    app.on_click(ray_at(lm.point, lm.normal))
    assert app.last_click["result"] == "wrong"
    assert run.score == 0.0 and "not passed" in app.quiz.status.object
    pulse = app.atlas.landmark("radial_pulse").point
    shown = [np.asarray(m["xyz"]) for m in app.state.markers]
    assert any(np.allclose(p, pulse, atol=1e-6) for p in shown), "the right place is marked on the hand"


def test_identify_shows_the_target_anonymously(app, quizzes):
    write_quiz(quizzes, "one_identify.yaml", IDENTIFY_QUIZ)
    app.state.mode = "quiz"
    app.quiz.start("one_identify")
    extra = app.state.extra
    sent = json.dumps({"extra": extra, "highlight": app.state.highlight, "markers": app.state.markers})
    assert "flexor_retinaculum" not in sent and "retinaculum" not in sent.lower()
    expected = anonymous_mesh(app.state, "flexor_retinaculum")
    assert extra["points"] == expected["points"] and len(extra["faces"]) > 0
    text = " ".join(str(getattr(w, "object", "")) for w in app.quiz.flow.question.objects)
    assert "retinaculum" not in text.lower()
    feedback = app.quiz.flow.submit("transverse carpal ligament")
    assert feedback is not None and feedback.correct
    assert app.state.extra == {} and "flexor_retinaculum" in app.state.highlight


def test_widget_question_refuses_a_click_and_empty_answer(app, quizzes):
    write_quiz(quizzes, "one_identify.yaml", IDENTIFY_QUIZ)
    app.state.mode = "quiz"
    app.quiz.start("one_identify")
    lm = app.atlas.landmark("palm_center")
    app.on_click(ray_at(lm.point, lm.normal))
    assert "buttons" in app.state.message
    assert app.quiz.flow.submit("") is None and "Choose an answer" in app.state.message


def test_unknown_and_broken_quiz_files_give_messages(app, quizzes):
    app.state.mode = "quiz"
    assert app.quiz.start("no_such_quiz") is None
    assert "no_such_quiz" in app.state.message and "areas_of_caution" in app.state.message
    write_quiz(quizzes, "broken.yaml",
               "format_version: 1\nquiz: {id: broken, title: x, author: y}\nquestions: [\n")
    assert app.quiz.start("broken.yaml") is None
    assert "broken.yaml" in app.state.message and ":" in app.state.message
    assert "Traceback" not in app.state.message
    assert app.quiz.start("../etc/passwd") is None and app.state.message


def test_a_whole_quiz_scored_at_the_end(app):
    app.state.mode = "quiz"
    run = app.quiz.start("territories")
    while app.quiz.flow.shown is not None:
        app.quiz.flow.skip()
        app.quiz.flow.show()
    assert run.finished and run.score == 0 and f"0 / {run.max_score:g}" in app.quiz.status.object


# ----------------------------------------------------------------------------- drill
def test_drill_progress_persists_in_the_store(atlas, quizzes, tmp_path):
    db = str(tmp_path / "progress.sqlite")
    first = HandApp(atlas, quizzes=quizzes, progress_db=db)
    first.drill.learner.value = "sam"
    first.drill.tags.value = ["domain:ethics"]
    first.drill.count.value = 3
    run = first.drill.start()
    assert run is not None
    answered = 0
    while first.drill.flow.shown is not None:
        shown = first.drill.flow.shown
        if answered:
            first.drill.flow.skip()
        else:  # one answer of the right form, right or wrong
            assert first.drill.flow.submit(list(shown.items) if shown.type == "order" else 0) is not None
        answered += 1
        first.drill.flow.show()
    assert "Drill done" in first.drill.report.object
    first.drill.store.close()
    # a new app on the same store (a server restart) sees the learner's answers
    second = HandApp(atlas, quizzes=quizzes, progress_db=db)
    second.drill.learner.value = "sam"
    second.drill.progress()
    assert "sam: 1 answers" in second.drill.report.object
    assert "retention-chart" in second.drill.report.object
    second.drill.learner.value = "nobody"
    second.drill.progress()
    assert "No drills yet" in second.drill.report.object


def test_drill_needs_a_name(app):
    assert app.drill.start() is None and "name" in app.state.message


# ----------------------------------------------------------------------------- author
def test_authoring_is_off_without_instructors(atlas, quizzes):
    off = HandApp(atlas, quizzes=quizzes, instructors=None)
    text = " ".join(str(getattr(w, "object", "")) for w in off.author.body.objects)
    assert "Authoring is off" in text and "HANDATLAS_INSTRUCTOR_PASSWORD" in text
    assert off.author.on_click(ray_at([0, 0, 30], [0, 0, 1])) is None


def test_author_writes_a_press_question_by_clicking(app, quizzes):
    app.state.mode = "author"
    assert not app.author.sign_in("instructor", "wrong password")
    assert "Wrong" in app.state.message
    assert app.author.sign_in("instructor", PASSWORD)
    author = app.author
    author.file.value = "areas_of_caution.yaml"
    before = (quizzes / "areas_of_caution.yaml").read_text()
    author.type.value = "press"
    author.qid.value = "pulse_by_click"
    author.prompt.value = "A firm press here: the verdict?"
    author.explanation.value = "The radial artery is 5 mm deep."
    author.grade.value = "firm"
    lm = app.atlas.landmark("radial_pulse")
    app.on_click(ray_at(lm.point + np.array([0.5, 0.5, 0.0]), lm.normal))
    assert author.target.value == "radial_pulse"  # snapped to the landmark
    assert "avoid" in author.preview()
    path = author.save()
    after = path.read_text()
    assert after.startswith(before.rstrip("\n")), "the rest of the file is kept as it was"
    saved = next(q for q in load_quiz(path).questions if q.id == "pulse_by_click")
    assert saved.where == "radial_pulse" and saved.grade == "firm"


def test_author_point_without_snapping_and_new_file(app, quizzes):
    app.state.mode = "author"
    app.author.sign_in("instructor", PASSWORD)
    author = app.author
    author.file.value = "(new file)"
    author.new_file.value = "my_new_quiz"
    author.new_title.value = "My new quiz"
    author.type.value = "territory"
    author.snap.value = False
    author.qid.value, author.prompt.value, author.explanation.value = "t1", "Which nerve?", "The median."
    lm = app.atlas.landmark("palm_center")
    app.on_click(ray_at(lm.point, lm.normal))
    where = yaml.safe_load(author.target.value)
    assert np.allclose(where, lm.point, atol=0.1)
    path = author.save()
    assert path == quizzes / "my_new_quiz.yaml"
    quiz = load_quiz(path)
    assert quiz.model.quiz.title == "My new quiz" and quiz.questions[0].type == "territory"


def test_author_bad_input_keeps_the_file(app, quizzes):
    app.author.sign_in("instructor", PASSWORD)
    author = app.author
    author.file.value = "territories.yaml"
    before = (quizzes / "territories.yaml").read_bytes()
    author.type.value = "locate"
    author.qid.value, author.prompt.value, author.explanation.value = "bad", "Click it.", "Because."
    author.target.value = "no_such_structure"
    assert author._guard(author.save) is None
    assert "no_such_structure" in app.state.message
    assert (quizzes / "territories.yaml").read_bytes() == before
    author.file.value = "(new file)"
    author.new_file.value = "../outside"
    author.target.value = "median nerve"
    assert author._guard(author.save) is None
    assert not (quizzes.parent / "outside.yaml").exists() and app.state.message


def test_author_edits_an_existing_question(app, quizzes):
    app.author.sign_in("instructor", PASSWORD)
    author = app.author
    author.file.value = "areas_of_caution.yaml"
    author.existing.value = "radial_pulse_firm"
    assert author.qid.value == "radial_pulse_firm" and author.target.value == "radial_pulse"
    author.grade.value = "light"
    author.save()
    quiz = load_quiz(quizzes / "areas_of_caution.yaml")
    edited = [q for q in quiz.questions if q.id == "radial_pulse_firm"]
    assert len(edited) == 1 and edited[0].grade == "light"
