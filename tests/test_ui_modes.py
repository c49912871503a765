"""The web app's modes driven from Python (no browser): clicks as view rays, widgets set directly.

The browser tests (tests/browser/) check the same paths through chromium; these check the
behaviour in detail and fast.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh
import yaml
from scipy.spatial import cKDTree
from ui_quizzes import IDENTIFY_QUIZ, LOCATE_QUIZ, write_quiz

from handatlas.accounts import Instructors, hash_password
from handatlas.quiz import compute_key, default_quiz_dir, load_quiz
from handatlas.quiz.authoring import AuthoringError
from handatlas.quiz.drill import load_bank
from handatlas.quiz.session import highlight_ids
from handatlas.render import VIEWS
from handatlas.ui.app import HandApp
from handatlas.ui.display import display_geometry
from handatlas.ui.quizstate import anonymous_mesh
from handatlas.ui.quizviews import drill_html, score_html

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
                   instructors=instructors, instructor="instructor")
    made.__panel__()
    return made


@pytest.fixture
def student_app(atlas, quizzes, tmp_path) -> HandApp:
    """A student's session on a server where authoring is on."""
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
    assert app.quiz.score["passed"] and "Score: 1 of 1 (100%)" in score_html(app.quiz.title, app.quiz.score)


def test_a_right_place_on_the_far_side_is_turned_into_view(app, quizzes):
    """Asked in the palmar view for a place on the back of the hand, a wrong click reveals the
    right place: the view turns to the dorsal side, where the mark is (it was left out of sight)."""
    write_quiz(quizzes, "one_locate.yaml", LOCATE_QUIZ.replace("radial_pulse", "dorsum_center"))
    app.state.mode = "quiz"
    app.quiz.start("one_locate.yaml")
    app.state.view = "palmar"
    views = []
    app.scene.param.watch(lambda e: views.append(e.new["name"]), "view")
    lm = app.atlas.landmark("palm_center")
    app.on_click(ray_at(lm.point, lm.normal))
    assert app.last_click["result"] == "wrong"
    assert app.state.view == "dorsal" and views[-1] == "dorsal"
    # a right place already in sight leaves the view alone
    write_quiz(quizzes, "one_locate.yaml", LOCATE_QUIZ)
    app.quiz.start("one_locate.yaml")
    app.state.view = "palmar"
    lm = app.atlas.landmark("hypothenar_eminence")
    app.on_click(ray_at(lm.point, lm.normal))
    assert app.last_click["result"] == "wrong" and app.state.view == "palmar"


def test_locate_click_far_away_is_wrong_and_the_answer_is_shown(app, quizzes):
    write_quiz(quizzes, "one_locate.yaml", LOCATE_QUIZ)
    app.state.mode = "quiz"
    run = app.quiz.start("one_locate.yaml")
    lm = app.atlas.landmark("hypothenar_eminence")
    app.on_click(ray_at(lm.point, lm.normal))
    assert app.last_click["result"] == "wrong"
    assert run.score == 0.0 and "not passed" in score_html(app.quiz.title, app.quiz.score)
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
    # drawn where the retinaculum is (within the jitter of its display mesh), but not as its mesh
    points = np.asarray(extra["points"]).reshape(-1, 3)
    v, f = display_geometry(app.atlas, "flexor_retinaculum")
    _, distance, _ = trimesh.Trimesh(v, f, process=False).nearest.on_surface(points)
    assert len(extra["faces"]) > 0 and np.percentile(distance, 95) < 0.5
    assert len(points) != len(v) and len(extra["faces"]) != f.size
    assert "retinaculum" not in json.dumps(app.quiz.question.shown.as_dict()).lower()
    feedback = app.quiz.question.submit("transverse carpal ligament")
    assert feedback is not None and feedback.correct
    assert app.state.extra == {} and "flexor_retinaculum" in app.state.highlight


def test_no_identify_target_of_the_bank_matches_a_mesh_of_the_scene(app):
    """The anonymous target's counts are not its mesh's, its coordinates match no display mesh."""
    meshes = {sid: display_geometry(app.atlas, sid) for sid in app.state.group_of}
    every_vertex = cKDTree(np.vstack([v for v, _ in meshes.values()]))
    targets = {compute_key(item.question, app.atlas).target for item in load_bank(default_quiz_dir())
               if item.question.type == "identify"}
    assert len(targets) > 20
    rng = np.random.default_rng(0)
    for target in sorted(targets):
        extra = anonymous_mesh(app.state, target, rng=rng)
        points = np.asarray(extra["points"]).reshape(-1, 3)
        faces = len(extra["faces"]) // 3
        own = [meshes[part] for part in highlight_ids(app.atlas, target)]
        assert (len(points), faces) != (sum(len(v) for v, _ in own), sum(len(f) for _, f in own)), target
        assert all((len(points), faces) != (len(v), len(f)) for v, f in own), target
        same = every_vertex.query(points, distance_upper_bound=1e-3)[0] < 1e-3
        assert same.mean() < 0.01, (target, same.mean())


def test_widget_question_refuses_a_click_and_empty_answer(app, quizzes):
    write_quiz(quizzes, "one_identify.yaml", IDENTIFY_QUIZ)
    app.state.mode = "quiz"
    app.quiz.start("one_identify")
    lm = app.atlas.landmark("palm_center")
    app.on_click(ray_at(lm.point, lm.normal))
    assert "buttons" in app.state.message
    assert app.quiz.question.submit("") is None and "Choose an answer" in app.state.message


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
    while app.quiz.question.shown is not None:
        app.quiz.question.skip()
        app.quiz.question.show()
    html = score_html("", app.quiz.score)
    assert run.finished and run.score == 0 and f"Score: 0 of {run.max_score:g} (0%)" in html
    # every question is in the review, skipped, with its answer and explanation
    assert f"To review: {run.total} questions" in html and html.count("<li value=") == run.total
    assert html.count("<p>Skipped. The answer: ") == run.total and "Skipped: Skipped" not in html
    assert app.state.exam is False


def test_tools_that_would_answer_a_quiz_are_off_while_it_runs(app):
    app.state.mode = "press"
    app.state.show_safety_map("firm")
    assert app.state.overlay
    app.state.select("median_nerve")
    app.state.mode = "quiz"
    run = app.quiz.start("areas_of_caution")
    assert app.state.exam and not app.state.overlay and not app.state.pin and not app.state.selected
    for mode in ("press", "explore"):  # back to the tools mid-quiz: they stay off
        app.state.mode = mode
        assert not app.state.overlay
        assert app.state.press("radial_pulse") is None and "A quiz is running" in app.state.message
        app.state.message = ""
        app.state.search("median nerve")
        assert not app.state.selected and not app.state.highlight and "A quiz is running" in app.state.message
        markers = app.state.markers  # the question's own mark
        assert app.state.find_best("snuffbox") is None and not app.state.landmark
        assert app.state.markers == markers
    # restarting asks first once something is answered; ending early too
    app.state.mode = "quiz"
    app.quiz.question.skip()
    assert app.quiz.start() is None and app.quiz.confirm == "restart" and app.quiz.question.run is run
    app.quiz.cancel()
    app.quiz.end()
    assert app.quiz.confirm == "end" and not run.finished
    app.quiz.question.show()  # the next question
    app.quiz.question.submit()  # untouched: refused with a message...
    assert "Choose an answer first" in app.state.message
    app.quiz.end(confirmed=True)
    assert app.state.message == ""  # ...that does not outlive the quiz
    assert run.finished and app.quiz.score is not None and app.quiz.score["max_score"] == run.total
    app.state.mode = "press"  # the quiz is over: the tools are back, the map follows its control again
    assert app.state.overlay and app.state.press("radial_pulse")["verdict"] == "avoid"


# ----------------------------------------------------------------------------- drill
def test_drill_progress_persists_in_the_store(atlas, quizzes, tmp_path):
    db = str(tmp_path / "progress.sqlite")
    first = HandApp(atlas, quizzes=quizzes, progress_db=db)
    first.drill.param.update(learner="sam", code="4821", tags=["domain:ethics"], count=3)
    assert first.drill.start() is None and "personal code" in first.state.message
    assert first.drill.sign_in() and first.drill.code == ""
    run = first.drill.start()
    assert run is not None
    answered = 0
    question = first.drill.question
    while question.shown is not None:
        shown = question.shown
        if answered:
            question.skip()
        else:  # one answer of the right form, right or wrong
            assert question.submit(list(shown.items) if shown.type == "order" else 0) is not None
        answered += 1
        question.show()
    drill = first.drill
    assert "Drill done" in drill_html(drill.summary, drill.progress_of, drill.progress)
    first.drill.store.close()
    # a new app on the same store (a server restart) sees the learner's answers
    second = HandApp(atlas, quizzes=quizzes, progress_db=db)
    drill = second.drill
    drill.param.update(learner="sam", code="1111")  # someone else typing sam's name
    assert not drill.sign_in() and "not sam's" in second.state.message
    drill.show_progress()
    assert drill.progress is None and drill.progress_of == "", "nothing of sam's is shown"
    drill.code = "4821"
    assert drill.sign_in()
    drill.show_progress()
    report = drill_html(drill.summary, drill.progress_of, drill.progress)
    assert "sam: 1 answer, " in report and "retention-chart" in report
    drill.param.update(learner="nobody", code="9999")
    assert drill.sign_in() and "Welcome, nobody" in second.state.message
    assert drill.start() is not None and "Welcome, nobody" in second.state.message, "the welcome stays"
    drill.show_progress()
    assert "nobody: 0 answers" in drill_html(drill.summary, drill.progress_of, drill.progress)
    drill.learner = "sam"  # the session signed in "nobody": sam's progress needs sam's code again
    drill.show_progress()
    assert drill.progress_of == "nobody" and "personal code" in second.state.message


def test_a_learner_from_before_sets_a_code_at_the_next_sign_in(atlas, quizzes, tmp_path):
    from handatlas.quiz.progress import ProgressStore

    db = str(tmp_path / "progress.sqlite")
    with ProgressStore.open(db) as store:  # a learner made before codes existed
        store.learner_id("lee")
        assert store.learner_code("lee") is None
    app = HandApp(atlas, quizzes=quizzes, progress_db=db)
    app.drill.param.update(learner="lee", code="77")
    assert not app.drill.sign_in() and "4 to 32 characters" in app.state.message
    app.drill.code = "lee-code"
    assert app.drill.sign_in() and app.drill.signed_in == "lee"
    other = HandApp(atlas, quizzes=quizzes, progress_db=db)
    other.drill.param.update(learner="lee", code="another")
    assert not other.drill.sign_in(), "the code is set: nobody else can claim lee"
    for _ in range(5):
        other.drill.sign_in()
    other.drill.code = "lee-code"
    assert not other.drill.sign_in() and "Too many wrong codes" in other.state.message


def test_drill_needs_a_name(app):
    assert app.drill.start() is None and "name" in app.state.message


def test_class_progress_only_for_a_signed_in_instructor(app, student_app):
    from handatlas.ui.authorview import author_results, class_table_html

    drill = student_app.drill  # the same store as the instructor's session
    drill.param.update(learner="sam", code="sam-code", tags=["domain:ethics"], count=3)
    assert drill.sign_in() and drill.start() is not None
    shown = drill.question.shown
    assert drill.question.submit(list(shown.items) if shown.type == "order" else 0) is not None
    refused = student_app.classes
    assert refused.refresh() is None and "signed-in instructor" in student_app.state.message
    assert refused.csv() == ""
    shown_classes = {c for obj in author_results(student_app.author, refused).select()
                     for c in (getattr(obj, "css_classes", None) or [])}
    assert "class-refresh" not in shown_classes, "a student's page holds no class view"
    classes = app.classes
    report = classes.refresh()
    assert report is not None and report.learners == ("sam",) and report.topics
    html = class_table_html(report, "")
    assert "Recall now" in html and "Due now" in html  # of today; a learner's own page charts tomorrow's
    assert "Class progress: 1 learner," in html and report.topics[0].topic in html
    classes.learner = "sam"
    assert "sam: weakest topics first" in class_table_html(classes.report, classes.learner)
    assert classes.csv().startswith("learner,topic,answers") and "\nsam," in classes.csv()


def test_one_bad_file_is_left_out_of_quiz_and_drill_with_its_message(atlas, quizzes, tmp_path):
    """A deeply nested file (once a RecursionError that emptied every page), a FIFO and a symlink
    out of the folder: each is named with its reason; Quiz and Drill go on with the other files."""
    from handatlas.ui.quizviews import drill_panel, quiz_panel

    deep = "format_version: 1\nquiz: {id: deep, title: Deep, author: x}\nquestions: " + "[" * 5000
    write_quiz(quizzes, "zz_deep.yaml", deep + "]" * 5000 + "\n")
    os.mkfifo(quizzes / "zz_pipe.yaml")
    (quizzes / "zz_link.yaml").symlink_to(write_quiz(tmp_path, "outside.yaml", LOCATE_QUIZ))
    (quizzes / "zz_loop.yaml").symlink_to("zz_loop.yaml")
    app = HandApp(atlas, quizzes=quizzes, progress_db=str(tmp_path / "progress.sqlite"))
    app.__panel__()
    assert app.state.message == ""
    # Quiz: every good file offered, the bad one listed as invalid and explained
    shipped = len(list(default_quiz_dir().glob("*.yaml")))
    assert "Hand anatomy" in app.quiz.titles and len(app.quiz.param.quiz.objects) == shipped + 3
    notes = "\n".join(app.quiz.skipped)
    assert f"{quizzes / 'zz_deep.yaml'}:3: nested too deeply" in notes
    assert f"{quizzes / 'zz_pipe.yaml'}: is not a regular file" in notes
    assert f"{quizzes / 'zz_link.yaml'}: refusing zz_link.yaml: it points outside" in notes
    assert f"{quizzes / 'zz_loop.yaml'}: cannot read the file: Too many levels of symbolic links" in notes
    assert app.quiz.start("hand_anatomy.yaml") is not None
    assert app.quiz.start("zz_deep.yaml") is None and "zz_deep.yaml:3: nested too deeply" in app.state.message
    assert app.quiz.start("zz_link.yaml") is None and "outside the quiz folder" in app.state.message
    # Drill: the same rules, the good files drilled
    assert app.drill.skipped == app.quiz.skipped
    assert {q.quiz_id for q in app.drill.bank} == {load_quiz(p).model.quiz.id
                                                   for p in default_quiz_dir().glob("*.yaml")}
    app.drill.param.update(learner="sam", code="sam-code")
    assert app.drill.sign_in()
    assert app.drill.start() is not None and app.drill.question.shown is not None
    # both panels show the notes
    for panel, css in ((quiz_panel(app.quiz), "quiz-skipped"), (drill_panel(app.drill), "drill-skipped")):
        (pane,) = panel.select(lambda obj, css=css: css in getattr(obj, "css_classes", []))
        assert pane.visible and "4 quiz files left out" in pane.object and "zz_deep.yaml:3:" in pane.object


def test_a_folder_of_only_bad_files_says_so(atlas, tmp_path):
    folder = tmp_path / "quizzes"
    folder.mkdir()
    write_quiz(folder, "bad.yaml", "format_version: 1\nquiz: [\n")
    app = HandApp(atlas, quizzes=folder, progress_db=str(tmp_path / "progress.sqlite"))
    assert app.drill.bank is None and "no quiz file" in app.state.message
    app.drill.param.update(learner="sam", code="sam-code")
    assert app.drill.sign_in()
    assert app.drill.start() is None and app.drill.skipped[0].startswith(f"{folder / 'bad.yaml'}:3: broken")


# ----------------------------------------------------------------------------- author
def test_authoring_is_off_without_instructors(atlas, quizzes):
    from handatlas.accounts import AUTHORING_HELP
    from handatlas.ui.authorview import author_panel

    off = HandApp(atlas, quizzes=quizzes, instructors=None)
    assert not off.author.enabled and "HANDATLAS_INSTRUCTOR_PASSWORD" in AUTHORING_HELP
    help_pane = author_panel(off.author).select(lambda obj: "author-help" in getattr(obj, "css_classes", []))
    assert help_pane and help_pane[0].visible and "Authoring is off" in help_pane[0].object
    assert off.author.on_click(ray_at([0, 0, 30], [0, 0, 1])) is None


def test_a_student_session_has_no_editor_and_every_author_action_is_refused(student_app, quizzes):
    from handatlas.ui.authorview import author_panel

    author = student_app.author
    assert author.enabled and author.user is None
    panel = author_panel(author)
    classes = {c for obj in panel.select() for c in (getattr(obj, "css_classes", None) or [])}
    assert "author-login" in classes and "author-save" not in classes and "author-id" not in classes
    before = {p.name: p.read_bytes() for p in quizzes.glob("*.yaml")}
    author.file = "(new file)"
    author.new_file = "sneaked"
    author.type, author.qid, author.prompt, author.explanation = "press", "q", "Press?", "Because."
    author.target = "radial_pulse"
    assert author.guard(author.save) is None and author.guard(author.preview) is None
    assert "signed-in instructor" in student_app.state.message
    assert author.output == {}
    lm = student_app.atlas.landmark("radial_pulse")
    student_app.state.mode = "author"
    student_app.on_click(ray_at(lm.point, lm.normal))
    assert "Sign in" in student_app.state.message
    assert {p.name: p.read_bytes() for p in quizzes.glob("*.yaml")} == before
    with pytest.raises(ValueError, match="not a configured instructor"):
        HandApp(student_app.atlas, quizzes=quizzes, instructors=author.instructors, instructor="mallory")
    with pytest.raises(TypeError):  # the session's instructor is fixed when it is made
        author.user = "instructor"


def test_author_writes_a_press_question_by_clicking(app, quizzes):
    app.state.mode = "author"
    author = app.author
    author.file = "areas_of_caution.yaml"
    before = (quizzes / "areas_of_caution.yaml").read_text()
    author.type = "press"
    author.qid = "pulse_by_click"
    author.prompt = "A firm press here: the verdict?"
    author.explanation = "The radial artery is 5 mm deep."
    author.tags = "topic:radial_artery, domain:pathology"
    author.grade = "firm"
    lm = app.atlas.landmark("radial_pulse")
    app.on_click(ray_at(lm.point + np.array([0.5, 0.5, 0.0]), lm.normal))
    assert author.target == "radial_pulse"  # snapped to the landmark
    assert "avoid" in author.preview()
    path = author.save()
    after = path.read_text()
    assert after.startswith(before.rstrip("\n")), "the rest of the file is kept as it was"
    saved = next(q for q in load_quiz(path).questions if q.id == "pulse_by_click")
    assert saved.where == "radial_pulse" and saved.grade == "firm"


def test_author_point_without_snapping_and_new_file(app, quizzes):
    app.state.mode = "author"
    author = app.author
    author.file = "(new file)"
    author.new_file = "my_new_quiz"
    author.new_title = "My new quiz"
    author.type = "territory"
    author.snap = False
    author.qid, author.prompt, author.explanation = "t1", "Which nerve?", "The median."
    author.tags = "domain:anatomy_physiology"
    lm = app.atlas.landmark("palm_center")
    app.on_click(ray_at(lm.point, lm.normal))
    where = yaml.safe_load(author.target)
    assert np.allclose(where, lm.point, atol=0.1)
    path = author.save()
    assert path == quizzes / "my_new_quiz.yaml"
    quiz = load_quiz(path)
    assert quiz.model.quiz.title == "My new quiz" and quiz.questions[0].type == "territory"


@pytest.mark.parametrize(("tags", "says"), [
    ("topic:radial_artery", "field 'tags': no domain tag: add exactly one of domain:anatomy_physiology"),
    ("topic:radial_artery, domain:safety", "field 'tags[1]': domain:safety is not an exam domain; use one "
                                           "of domain:anatomy_physiology"),
])
def test_author_save_needs_one_exam_domain(app, quizzes, tags, says):
    from handatlas.quiz.blueprint import WEIGHTS
    from handatlas.ui.authorview import author_panel

    author = app.author
    author.file = "areas_of_caution.yaml"
    before = (quizzes / "areas_of_caution.yaml").read_bytes()
    author.type, author.qid, author.target, author.grade = "press", "untagged", "radial_pulse", "firm"
    author.prompt, author.explanation = "A firm press here: the verdict?", "The radial artery is 5 mm deep."
    author.tags = tags
    assert "avoid" in author.preview()  # a draft's key shows before it is tagged
    assert author.guard(author.save) is None
    message = app.state.message
    assert "cannot save areas_of_caution.yaml; nothing was written" in message
    assert re.search(r"areas_of_caution\.yaml:\d+: question 'untagged', " + re.escape(says), message), message
    assert (quizzes / "areas_of_caution.yaml").read_bytes() == before
    field = author_panel(author).select(lambda obj: "author-tags" in getattr(obj, "css_classes", []))[0]
    suggested = [t.strip().removeprefix("domain:") for t in field.placeholder.split(",") if "domain:" in t]
    assert len(suggested) == 1 and suggested[0] in WEIGHTS  # the placeholder's tags would save


def choice_form(author, answer):
    author.file = "areas_of_caution.yaml"
    author.type, author.qid, author.tags = "choice", "consent_first", "topic:consent, domain:ethics"
    author.prompt, author.explanation = "Before a hand massage?", "Consent comes first."
    author.options = "Ask for consent\nStart at once\nAsk about pain"
    author.answer = answer


@pytest.mark.parametrize(("answer", "message"), [
    ("4", "answer: 4 is out of range: the options are 1 to 3"),
    ("0", "answer: 0 is out of range: the options are 1 to 3"),
    ("-1", "answer: -1 is out of range: the options are 1 to 3"),
    ("1, 1", "answer: 1 is listed twice"),
    ("", "answer: give the number of the right option (e.g. 2), or several (1, 3)"),
    ("one", "answer: 'one' is not option numbers like 2 or 1, 3"),
])
def test_author_choice_answer_is_checked_in_the_forms_numbering(app, quizzes, answer, message):
    author = app.author
    choice_form(author, answer)
    before = (quizzes / "areas_of_caution.yaml").read_bytes()
    assert author.guard(author.save) is None
    assert app.state.message == message
    assert (quizzes / "areas_of_caution.yaml").read_bytes() == before


def test_author_choice_answer_numbers_from_1_are_saved_from_0(app, quizzes):
    author = app.author
    choice_form(author, "3, 1")
    path = author.save()
    saved = next(q for q in load_quiz(path).questions if q.id == "consent_first")
    assert list(saved.answers) == [2, 0] and saved.options[2] == "Ask about pain"


def test_a_failed_save_clears_the_earlier_saved_note(app, quizzes):
    from handatlas.ui.authorview import output_html

    author = app.author
    choice_form(author, "1")
    author.save()
    assert author.output["kind"] == "saved" and "Saved" in output_html(author.output)
    author.qid = "consent_again"
    author.answer = "4"
    assert author.guard(author.save) is None
    assert "out of range" in app.state.message
    assert author.output == {} and "Saved" not in output_html(author.output)


def test_author_new_file_named_like_an_existing_one_is_refused(app, quizzes):
    author = app.author
    before = (quizzes / "territories.yaml").read_bytes()
    author.file = "(new file)"
    author.new_file, author.new_title = "territories", "My territories"
    author.type, author.qid, author.tags = "territory", "t_new", "domain:anatomy_physiology"
    author.prompt, author.explanation, author.target = "Which nerve?", "The radial.", "radial_pulse"
    assert author.guard(author.save) is None
    assert app.state.message == ("territories.yaml already exists in the quizzes folder: choose it in the "
                                 "Quiz file list to add to it, or give the new file another name")
    assert (quizzes / "territories.yaml").read_bytes() == before


def test_author_bad_input_keeps_the_file(app, quizzes):
    author = app.author
    author.file = "territories.yaml"
    before = (quizzes / "territories.yaml").read_bytes()
    author.type = "locate"
    author.qid, author.prompt, author.explanation = "bad", "Click it.", "Because."
    author.target = "no_such_structure"
    assert author.guard(author.save) is None
    assert "no_such_structure" in app.state.message
    assert (quizzes / "territories.yaml").read_bytes() == before
    author.file = "(new file)"
    author.new_file = "../outside"
    author.target = "median nerve"
    assert author.guard(author.save) is None
    assert not (quizzes.parent / "outside.yaml").exists() and app.state.message


def test_author_edits_an_existing_question(app, quizzes):
    author = app.author
    author.file = "areas_of_caution.yaml"
    before = (quizzes / "areas_of_caution.yaml").read_bytes()
    author.existing = "radial_pulse_firm"
    assert author.qid == "radial_pulse_firm" and author.target == "radial_pulse"
    author.grade = "light"  # a light press on the pulse is within a quarter of the force of a threshold
    with pytest.raises(AuthoringError, match="too close to a threshold"):
        author.save()
    assert (quizzes / "areas_of_caution.yaml").read_bytes() == before
    author.existing = "dorsum_veins"
    assert author.qid == "dorsum_veins" and author.target == "dorsum_center"
    author.grade = "light"
    author.save()
    quiz = load_quiz(quizzes / "areas_of_caution.yaml")
    edited = [q for q in quiz.questions if q.id == "dorsum_veins"]
    assert len(edited) == 1 and edited[0].grade == "light"


# ----------------------------------------------------------------------------- views follow the state
def test_answer_widgets_write_the_answer_and_the_feedback_follows(app, quizzes):
    import panel as pn

    from handatlas.ui.quizviews import answer_inputs, feedback_view

    write_quiz(quizzes, "one_identify.yaml", IDENTIFY_QUIZ)
    app.quiz.start("one_identify")
    question = app.quiz.question
    assert question.answer is None and question.feedback is None
    typed = next(w for w in answer_inputs(question, question.shown) if isinstance(w, pn.widgets.TextInput))
    typed.value_input = "transverse carpal ligament"
    assert question.answer == "transverse carpal ligament"
    view = feedback_view(question)
    feedback = question.submit()
    assert feedback is not None and feedback.correct and question.finished
    shown = view.select(pn.pane.Alert)
    assert shown and "Right" in shown[0].object


def test_press_question_answer_starts_blank_for_each_ask(atlas, quizzes):
    from handatlas.ui.quizstate import blank_answer, is_blank

    app = HandApp(atlas, quizzes=quizzes)  # no page: no widget has chosen anything
    app.quiz.start("areas_of_caution")
    question = app.quiz.question
    while question.shown.type != "press":
        question.skip()
        question.show()
    answer = blank_answer(question.shown)
    assert set(answer) == set(question.shown.ask) and is_blank(answer) == ("verdict" in answer)
    if "verdict" in answer:  # nothing chosen yet: refused with a message, nothing recorded
        assert question.submit() is None and "Choose an answer" in app.state.message
        assert question.feedback is None


def test_answer_widgets_start_with_nothing_chosen_and_keep_one(app):
    """Nothing is pre-selected (an untouched Submit is refused, not scored as the first option);
    choosing a second option replaces the first."""
    import panel as pn

    from handatlas.ui.quizviews import answer_inputs

    app.quiz.start("areas_of_caution")
    question = app.quiz.question
    while question.shown.type != "press" or "verdict" not in question.shown.ask:
        question.skip()
        question.show()
    widgets = answer_inputs(question, question.shown)
    (verdict,) = [w for w in widgets if isinstance(w, pn.widgets.CheckButtonGroup)]
    assert verdict.value == [] and question.answer["verdict"] is None
    assert question.submit() is None and "Choose an answer" in app.state.message
    verdict.value = ["safe"]
    assert question.answer["verdict"] == "safe"
    verdict.value = ["safe", "avoid"]  # a click on another option
    assert verdict.value == ["avoid"] and question.answer["verdict"] == "avoid"
    verdict.value = []  # the chosen option clicked again: nothing chosen
    assert question.answer["verdict"] is None


def test_author_form_fields_are_state_parameters(app, quizzes):
    from handatlas.ui.authorview import author_panel

    panel = author_panel(app.author)
    app.author.file = "areas_of_caution.yaml"
    app.author.existing = "radial_pulse_firm"  # the form follows the state
    ids = panel.select(lambda obj: "author-id" in getattr(obj, "css_classes", []))
    assert ids and ids[0].value == "radial_pulse_firm"
    ids[0].value = "renamed"  # and the state follows the form
    assert app.author.qid == "renamed"


def test_warm_up_leaves_no_view_behind():
    """The throwaway session a server lays out at start is not kept (Panel registers every view
    it lays out until cleaned up)."""
    import panel as pn

    from handatlas.ui.app import warm_up

    views = dict(pn.state._views)
    warm_up()
    assert pn.state._views == views


def test_a_question_with_a_mark_turns_the_hand_to_it(app):
    """A mark on the back of the hand (or its side) is not left out of sight: each question with a
    mark turns the view to the named view facing the skin there, even after the learner turned
    the hand themselves."""
    skin = app.atlas.skin
    tree = cKDTree(skin.vertices)
    app.state.mode = "quiz"
    app.quiz.start("areas_of_caution")
    faced = []
    while app.quiz.question.shown is not None:
        shown = app.quiz.question.shown
        if shown.marker is not None:
            normal = skin.vertex_normals[tree.query(shown.marker)[1]]
            want = max(VIEWS, key=lambda v: float(np.dot(VIEWS[v][0], normal)))
            assert app.scene.view["name"] == want, shown.prompt
            faced.append(want)
            app.set_view("palmar" if want != "palmar" else "dorsal")  # the learner turns the hand
        app.quiz.question.skip()
        app.quiz.question.show()
    assert "dorsal" in faced and "palmar" in faced, faced


def test_a_landmark_on_the_far_side_turns_the_hand_to_it(app):
    """Pressed from the list (Press) or found by the search (Explore), a landmark on the back of
    the hand turned nothing: its pin and card were drawn on the palm.  A landmark in sight leaves
    the view as the learner turned it, and so does pressing again at another grade."""
    state = app.state
    app.set_view("palmar")
    state.mode = "press"
    state.press_landmark("dorsum_center")
    assert state.report["landmark"] == "dorsum_center" and state.view == "dorsal"
    state.grade = "firm" if state.grade != "firm" else "moderate"  # presses again: no turn
    app.set_view("radial")
    state.grade = "light"
    assert state.view == "radial"
    app.set_view("palmar")
    state.press_landmark("palm_center")
    assert state.view == "palmar"
    state.mode = "explore"
    app.set_view("palmar")
    state.show_landmark("anatomical_snuffbox")
    assert state.view in ("radial", "dorsal"), state.view
    state.show_landmark("carpal_tunnel")  # in sight from there? no: the palm faces away
    assert state.view == "palmar"


def test_a_blank_search_clears_the_last_ones_message(app):
    app.state.find_best("wrsv3 median WSRV")
    assert "Nothing in the atlas is called" in app.state.message
    app.state.find_best("  ")
    assert app.state.message == ""


def test_the_hint_under_the_view_follows_the_press_tool(app):
    from handatlas.ui.views import press_result

    hint = press_result(app.state)[0]
    assert "to press there" in hint.object
    app.state.tool = "stroke"
    assert "Check stroke" in hint.object


def test_a_message_stays_with_its_mode(app):
    """A quiz's "Choose an answer first" is not left over the hand in Press mode."""
    app.state.mode = "quiz"
    app.quiz.start("areas_of_caution")
    app.quiz.question.submit()
    assert "Choose an answer first" in app.state.message
    app.state.mode = "press"
    assert app.state.message == ""


def test_what_a_mode_draws_leaves_and_returns_with_it(app):
    """A press's red artery and mark stayed on the hand in Quiz and Drill; they leave with Press
    mode and come back with it, and a quiz that starts drops them for good."""
    state = app.state
    state.mode = "press"
    state.press("radial_pulse")
    drawn = {"highlight": dict(state.highlight), "markers": list(state.markers), "pin": dict(state.pin)}
    assert drawn["highlight"] and drawn["markers"] and drawn["pin"]
    for mode in ("drill", "quiz", "explore"):
        state.mode = mode
        assert not state.highlight and not state.markers and not state.pin, mode
    state.mode = "press"
    assert {"highlight": state.highlight, "markers": state.markers, "pin": state.pin} == drawn
    state.mode = "quiz"
    app.quiz.start("areas_of_caution")
    state.mode = "press"
    assert not state.highlight and not state.pin and state.report is None


@pytest.mark.parametrize(("feedback", "shown"), [
    ("Not quite: the verdict is safe, not caution.", "The verdict is safe, not caution."),
    ("Yes: that is the median nerve.", "That is the median nerve."),
    ("No: the dorsum center is 161 mm from your click.", "The dorsum center is 161 mm from your click."),
    ("Skipped.", "Skipped."),
])
def test_quiz_feedback_says_its_verdict_once(feedback, shown):
    """The view's title says Right / Partly right / Not quite: the grader's opening word goes
    ('Not quite. Not quite: …' was shown)."""
    from handatlas.ui.quizviews import feedback_text

    assert feedback_text(feedback, titled=True) == shown
    assert feedback_text(feedback, titled=False) == feedback


def test_press_controls_are_off_while_a_quiz_runs(atlas):
    """A choice made in Press during a quiz is refused; the controls are off then, so that a refused
    landmark or safety map does not stay shown as chosen."""
    from handatlas.ui.state import HandState
    from handatlas.ui.views import press_controls

    state = HandState(atlas)
    controls = press_controls(state, lambda: None)
    widgets = [w for w in controls.select(lambda o: hasattr(o, "disabled") and hasattr(o, "css_classes"))
               if {"press-tool", "press-grade", "press-landmark", "safety-map", "stroke-check",
                   "press-clear"} & set(w.css_classes)]
    assert len(widgets) == 6 and not any(w.disabled for w in widgets)
    state.exam = True
    assert all(w.disabled for w in widgets)
    state.exam = False
    assert not any(w.disabled for w in widgets)
