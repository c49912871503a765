"""Quiz, Drill and Author in the browser: a locate question answered by a click, no key before the
answer, a drill whose progress survives a server restart, a question authored by a click and
found in the saved YAML, and clear messages for broken quiz files."""

from __future__ import annotations

import os
import shutil

import yaml
from playwright.sync_api import expect
from ui_quizzes import IDENTIFY_QUIZ, LOCATE_QUIZ, PRESS_QUIZ, write_quiz

from handatlas.quiz import default_quiz_dir, load_quiz

from .browser_helpers import sign_in as browser_sign_in
from .conftest import INSTRUCTOR, open_hand, start_server


def start_quiz(hand, title):
    hand.set_mode("quiz")
    hand.page.locator(".quiz-pick select").select_option(label=title)
    hand.page.locator(".quiz-start button").click()


def test_locate_question_answered_by_clicking_the_hand(page, served):
    write_quiz(served.quizzes, "one_locate.yaml", LOCATE_QUIZ)
    hand = open_hand(page, served)
    start_quiz(hand, "One locate")
    expect(page.locator(".q-text")).to_contain_text("Click where you feel the radial pulse")
    click = hand.click_world(hand.app.atlas.landmark("radial_pulse").point)
    assert click["mode"] == "quiz" and click["result"] == "right"
    expect(page.locator(".q-result")).to_contain_text("Right")
    expect(page.locator(".q-score")).to_contain_text("Score: 1 of 1 (100%) — passed")
    hand.assert_clean()


def test_nothing_is_chosen_before_the_learner_chooses(page, served):
    """No verdict starts selected: an untouched Submit is refused, not scored as the first option."""
    write_quiz(served.quizzes, "one_press.yaml", PRESS_QUIZ)
    hand = open_hand(page, served)
    start_quiz(hand, "One press")
    buttons = page.locator(".q-verdict button")
    expect(buttons).to_have_count(3)
    expect(page.locator(".q-verdict button.bk-active")).to_have_count(0)
    page.locator(".q-submit button").click()
    expect(page.locator(".message")).to_contain_text("Choose an answer first")
    assert hand.app.quiz.question.feedback is None
    buttons.filter(has_text="caution").click()
    buttons.filter(has_text="avoid").click()  # a second click moves the choice
    expect(page.locator(".q-verdict button.bk-active")).to_have_count(1)
    expect(page.locator(".q-verdict button.bk-active")).to_have_text("avoid")
    page.locator(".q-submit button").click()
    expect(page.locator(".q-result")).to_contain_text("Right")
    hand.assert_clean()


def test_no_answer_key_reaches_the_browser_before_the_answer(page, served):
    write_quiz(served.quizzes, "one_identify.yaml", IDENTIFY_QUIZ)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(
        f if isinstance(f, str) else f.decode("utf-8", "replace"))))
    hand = open_hand(page, served)
    hand.set_mode("quiz")
    frames.clear()
    hand.page.locator(".quiz-pick select").select_option(label="One identify")
    hand.page.locator(".quiz-start button").click()
    expect(page.locator(".q-text")).to_contain_text("Type the name of the highlighted structure")
    hand.wait_until(lambda: hand.app.scene.extra, "the target to be drawn")
    page.wait_for_timeout(300)
    before = " ".join(frames).lower()
    assert frames and "retinaculum" not in before and "carpal tunnel" not in before
    page.locator(".q-text-answer input").fill("transverse carpal ligament")
    page.locator(".q-submit button").click()
    expect(page.locator(".q-result")).to_contain_text("Right")
    assert "flexor retinaculum" in " ".join(frames).lower()  # the answer comes after
    hand.assert_clean()


def sign_in(page, served, password):
    browser_sign_in(page, served.url, INSTRUCTOR[0], password)


def test_author_writes_a_question_by_clicking_and_it_is_saved(page, served):
    hand = open_hand(page, served)
    hand.set_mode("author")
    expect(page.locator(".author-body")).to_contain_text("sign in")
    assert page.locator(".author-save").count() == 0, "a student's page has no editor"
    page.locator("a.author-sign-in").click()
    expect(page.locator("h1")).to_have_text("Instructor sign-in")
    sign_in(page, served, "not the password")
    expect(page.locator(".error")).to_contain_text("Wrong instructor name or password")
    sign_in(page, served, INSTRUCTOR[1])
    hand = open_hand(page, served)  # the page reopens as the instructor's session
    assert hand.app.author.user == INSTRUCTOR[0]
    hand.set_mode("author")
    expect(page.locator(".author-body")).to_contain_text("Signed in as")
    page.locator(".author-file select").select_option("areas_of_caution.yaml")
    page.locator(".author-type select").select_option("press")
    page.locator(".author-id input").fill("browser_pulse_press")
    page.locator(".author-prompt textarea").fill("A firm press at the radial pulse: the verdict?")
    page.locator(".author-explanation textarea").fill("The radial artery lies about 5 mm deep here.")
    page.locator(".author-tags input").fill("topic:radial_artery, domain:pathology")  # one exam domain
    hand.click_world(hand.app.atlas.landmark("radial_pulse").point)
    expect(page.locator(".author-target input")).to_have_value("radial_pulse")
    # light: the pinned artery takes 15 kPa against a caution threshold of 14, so a fifth less
    # force is safe and the key would turn on the threshold
    page.locator(".author-grade button").filter(has_text="light").click()
    page.locator(".author-preview button").click()
    expect(page.locator(".message")).to_contain_text("too close to a threshold")
    page.locator(".author-grade button").filter(has_text="firm").click()
    page.locator(".author-preview button").click()
    expect(page.locator(".author-output")).to_contain_text("avoid")
    page.locator(".author-save button").click()
    expect(page.locator(".author-output")).to_contain_text("Saved browser_pulse_press")
    path = served.quizzes / "areas_of_caution.yaml"
    saved = next(q for q in load_quiz(path).questions if q.id == "browser_pulse_press")
    assert saved.where == "radial_pulse" and saved.type == "press"
    raw = yaml.safe_load(path.read_text())
    assert raw["questions"][-1]["id"] == "browser_pulse_press"
    hand.assert_clean()
    page.locator("a.author-sign-out").click()  # back to a student's page
    hand.wait_until(lambda: served.instances[-1].author.user is None and served.instances[-1] is not hand.app,
                    "a fresh student session")
    assert not [c for c in page.context.cookies() if c["name"] == "handatlas_instructor"]


def test_broken_and_unknown_quiz_files_give_messages_in_the_page(page, served):
    broken = "format_version: 1\nquiz: {id: zz, title: x, author: y}\nquestions: [\n"
    write_quiz(served.quizzes, "zz_broken.yaml", broken)
    try:
        hand = open_hand(page, served)
        start_quiz(hand, "zz_broken.yaml (invalid: open it to see why)")
        message = page.locator(".message")
        expect(message).to_contain_text("zz_broken.yaml:")
        assert "Traceback" not in hand.text()
        # a click on the hand with no question shown is a message too, not an error
        hand.app.quiz.question.shown = None
        hand.click_world(hand.app.atlas.landmark("palm_center").point)
        expect(message).to_contain_text("Pick a quiz and start it first")
        hand.assert_clean()
    finally:
        (served.quizzes / "zz_broken.yaml").unlink()


def test_a_bad_file_leaves_quiz_and_drill_working_and_says_why(page, served):
    """A deeply nested file (once a RecursionError that left every page empty) and a FIFO: the
    page names both, a good quiz and a drill still start."""
    deep = "format_version: 1\nquiz: {id: zz_deep, title: Deep, author: x}\nquestions: "
    write_quiz(served.quizzes, "zz_deep.yaml", deep + "[" * 5000 + "]" * 5000 + "\n")
    os.mkfifo(served.quizzes / "zz_pipe.yaml")
    try:
        hand = open_hand(page, served)
        start_quiz(hand, "Hand anatomy")
        expect(page.locator(".q-number")).to_contain_text("Question 1 of")
        notes = page.locator(".quiz-skipped")
        expect(notes).to_contain_text("2 quiz files left out")
        expect(notes).to_contain_text("zz_deep.yaml:3: nested too deeply")
        expect(notes).to_contain_text("zz_pipe.yaml: is not a regular file")
        hand.set_mode("drill")
        expect(page.locator(".drill-skipped")).to_contain_text("zz_deep.yaml:3: nested too deeply")
        page.locator(".drill-learner input").fill("robin")
        page.locator(".drill-code input").fill("robin-code")
        page.locator(".drill-start button").click()
        shown = hand.wait_until(lambda: hand.app.drill.question.shown, "the drill's first question")
        expect(page.locator(".q-number:visible")).to_have_text(f"Question 1 of {shown.total}")
        assert "Traceback" not in hand.text()
        hand.assert_clean()
    finally:
        (served.quizzes / "zz_deep.yaml").unlink()
        (served.quizzes / "zz_pipe.yaml").unlink()


def answer_drill(hand) -> int:
    """Answer the drill's choice questions with their first option, skip the rest; return answers."""
    page, flow, answered = hand.page, hand.app.drill.question, 0
    while True:
        hand.wait_until(lambda: flow.shown is None or not flow.answered, "the next question")
        shown = flow.shown
        if shown is None:
            return answered
        expect(page.locator(".q-number")).to_contain_text(f"Question {shown.number} of")
        if shown.type == "choice":
            page.locator(".q-options input").first.check()
            page.locator(".q-submit button").click()
            answered += 1
        else:
            page.locator(".q-skip button").click()
        hand.wait_until(lambda: flow.answered, f"feedback ({shown.type}; {hand.app.state.message!r})")
        if shown.type == "choice":  # an answer says when the card is next due
            expect(page.locator(".q-next-due")).to_contain_text("Next due in ")
        if flow.run.finished:
            return answered
        page.locator(".q-next button").click()


def test_drill_progress_persists_after_a_server_restart(browser, browser_context_args, tmp_path):
    quizzes = tmp_path / "quizzes"
    shutil.copytree(default_quiz_dir(), quizzes)
    db = str(tmp_path / "progress.sqlite")
    first = start_server(quizzes, db)
    try:
        context = browser.new_context(**browser_context_args)
        hand = open_hand(context.new_page(), first)
        hand.set_mode("drill")
        hand.page.locator(".drill-learner input").fill("kim")
        hand.page.locator(".drill-code input").fill("kim-4821")  # a new learner: this sets kim's code
        tags = hand.page.locator(".drill-tags input")
        tags.fill("domain:ethics")
        hand.page.locator(".drill-tags .choices__item--choice", has_text="domain:ethics").first.click()
        hand.page.locator(".drill-count input").press("Home")  # the fewest questions: 3
        drill = hand.app.drill
        hand.wait_until(lambda: drill.tags == ["domain:ethics"] and drill.count == 3,
                        "the topic and the count")
        hand.page.locator(".drill-start button").click()
        hand.wait_until(lambda: hand.app.drill.question.run is not None, "the drill to start")
        answered = answer_drill(hand)
        assert answered >= 1
        expect(hand.page.locator(".drill-progress")).to_contain_text("Drill done")
        hand.assert_clean()
        context.close()
    finally:
        first.stop()
    second = start_server(quizzes, db)  # a new server process state on the same store
    try:
        context = browser.new_context(**browser_context_args)
        hand = open_hand(context.new_page(), second)
        hand.set_mode("drill")
        hand.page.locator(".drill-learner input").fill("kim")
        hand.page.locator(".drill-code input").fill("not-kims-code")
        hand.page.locator(".drill-progress-button button").click()
        expect(hand.page.locator(".message")).to_contain_text("not kim's")
        assert hand.app.drill.progress is None, "another learner's progress is not shown"
        hand.page.locator(".drill-code input").fill("kim-4821")
        hand.page.locator(".drill-progress-button button").click()
        report = hand.page.locator(".drill-progress")
        expect(report).to_contain_text(f"kim: {answered} answers")
        expect(report).to_contain_text("Next card due in ")
        expect(report.locator("svg.retention-chart")).to_have_count(1)
        hand.assert_clean()
        context.close()
    finally:
        second.stop()


def test_the_browser_remembers_the_learner_and_names_ignore_case(browser, browser_context_args, served):
    """The name typed in Drill is kept by the browser (a cookie) and filled in when the app opens
    again; typed in another case, it finds the same learner's progress."""
    context = browser.new_context(**browser_context_args)
    try:
        hand = open_hand(context.new_page(), served)
        hand.set_mode("drill")
        hand.page.locator(".drill-learner input").fill("Rémi Case")
        hand.wait_until(lambda: hand.app.drill.learner == "Rémi Case", "the name on the server")
        hand.wait_until(lambda: any(c["name"] == "handatlas_learner" for c in context.cookies()),
                        "the browser to keep the name")
        served_store = hand.app.drill._store()
        served_store.learner_id("Rémi Case")  # a learner with progress under that name
        hand.assert_clean()
        hand.page.close()
        again = open_hand(context.new_page(), served)  # the app opened again in this browser
        again.set_mode("drill")
        expect(again.page.locator(".drill-learner input")).to_have_value("Rémi Case")
        assert again.app.drill.learner == "Rémi Case"
        expect(again.page.locator(".drill-code input")).to_have_value("")  # the name only, never the code
        field = again.page.locator(".drill-learner input")
        field.fill("RÉMI CASE")
        again.page.locator(".drill-code input").fill("remi-4821")  # the code is never remembered
        again.page.locator(".drill-progress-button button").click()
        expect(again.page.locator(".drill-progress")).to_contain_text("Rémi Case: 0 answers")
        again.assert_clean()
    finally:
        context.close()
    fresh = browser.new_context(**browser_context_args)  # another browser: nothing remembered
    try:
        other = open_hand(fresh.new_page(), served)
        other.set_mode("drill")
        expect(other.page.locator(".drill-learner input")).to_have_value("")
    finally:
        fresh.close()
