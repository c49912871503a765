"""A learner's quiz and drill session (handatlas.quiz.session, .bank): nothing leaks before the answer."""

from __future__ import annotations

import json
import os
import random
import sys
import textwrap

import numpy as np
import pytest
from drill_helpers import choice_bank, spatial_bank
from fsrs import Scheduler

from handatlas.lookup.grades import VERDICTS
from handatlas.quiz import compute_key, default_quiz_dir, load_quiz, quiz_paths
from handatlas.quiz.bank import QuizFlowError, open_quiz, quiz_choices
from handatlas.quiz.checking import HAND_TERRITORIES
from handatlas.quiz.drill import Drill
from handatlas.quiz.explanations import explanation_text
from handatlas.quiz.grading import grade, kendall_tau
from handatlas.quiz.keys import IdentifyKey, LocateKey, normalise
from handatlas.quiz.progress import ProgressStore
from handatlas.quiz.schema import Choice, Identify, Locate, Order, Press, Territory
from handatlas.quiz.session import DrillRun, QuizRun, display_name, highlight_ids, public_question

BANK_FILES = quiz_paths([default_quiz_dir()])
KEY_FIELDS = ("answer", "answers", "target", "explanation", "tags", "verdict", "at_risk", "territory", "key")


@pytest.fixture(scope="module")
def bank():
    return [(load_quiz(path).model.quiz.id, q) for path in BANK_FILES for q in load_quiz(path).questions]


# ----------------------------------------------------------------------------- no leaks
def test_no_public_question_of_the_bank_gives_its_key_away(atlas, bank):
    seen_types = set()
    for n, (quiz_id, q) in enumerate(bank):
        public = public_question(q, atlas, number=n + 1, total=len(bank), rng=random.Random(n))
        data = public.as_dict()
        text = json.dumps(data)  # JSON-able plain data
        where = f"{quiz_id}/{q.id}"
        assert not [f for f in KEY_FIELDS if f in data], where
        assert " ".join(q.explanation.split()) not in " ".join(text.split()), where
        # outside the question's own texts no field names the answer
        own = ("prompt", "scenario", "options", "items")
        rest = json.dumps({k: v for k, v in data.items() if k not in own}).lower()
        # the uid is opaque: question ids such as name_ulnar_artery name their answer
        assert q.id not in rest and quiz_id not in rest, where
        if isinstance(q, Locate | Identify):
            key = compute_key(q, atlas)
            assert isinstance(key, LocateKey | IdentifyKey)
            for secret in {key.target, key.name, key.target.replace("_", " "), q.target}:
                assert secret.lower() not in rest, (where, secret)
        if isinstance(q, Identify):
            assert data["shows_target"] is True
            if q.options is not None:  # the options are display names, the target one of several
                assert len(data["options"]) >= 2 and key.name in data["options"], where
            else:
                assert data["options"] is None
        if isinstance(q, Locate):
            assert data["needs_click"] is True and data["tolerance_mm"] == q.tolerance_mm
        if isinstance(q, Choice):
            assert data["options"] == q.options and data["multiple"] == q.multiple
        if isinstance(q, Order):
            assert sorted(data["items"]) == sorted(q.items)
            if len(q.items) >= 3:
                assert data["items"] != q.items, where
        if isinstance(q, Press | Territory):
            assert len(data["marker"]) == 3 and all(isinstance(v, float) for v in data["marker"])
            if isinstance(q.where, str):
                np.testing.assert_allclose(data["marker"], atlas.landmark(q.where).point)
            if isinstance(q, Press):  # the verdicts are a scale: shown in its order
                assert data["choices"] == list(VERDICTS)
            else:  # the nerves in a drawn order
                assert sorted(data["choices"]) == sorted(HAND_TERRITORIES)
        seen_types.add(q.type)
    assert seen_types == {"locate", "identify", "press", "territory", "choice", "order"}


def test_order_items_are_shown_as_far_from_the_right_order_as_from_its_reverse():
    q = Order(id="o", type="order", prompt="?", explanation="!", items=["a", "b", "c"])
    shown = {public_question(q, None, number=1, total=1, rng=random.Random(s)).items for s in range(40)}
    # three pairs: one or two of them inverted, never none (the key) nor all (its reverse)
    assert shown == {("a", "c", "b"), ("b", "a", "c"), ("b", "c", "a"), ("c", "a", "b")}
    five = Order(id="o", type="order", prompt="?", explanation="!", items=list("abcde"))
    for s in range(40):
        items = public_question(five, None, number=1, total=1, rng=random.Random(s)).items
        assert kendall_tau(["abcde".index(i) for i in items]) == 0.0  # as shown, or reversed: 0 points
        assert grade(five, list(items)).score == grade(five, list(items)[::-1]).score == 0.0
    two = Order(id="o", type="order", prompt="?", explanation="!", items=["a", "b"])
    assert public_question(two, None, number=1, total=1, rng=random.Random(0)).items == ("b", "a")


# ----------------------------------------------------------------------------- grading the bank
def _far(atlas, key: LocateKey):
    """A skin vertex farther than twice the tolerance from the locate target."""
    from handatlas.quiz.grading import locate_distance

    skin = atlas.skin.vertices
    anchor = key.point if key.point is not None else key.surfaces[0].vertices[0]
    for i in np.argsort(-np.linalg.norm(skin - anchor, axis=1))[:20]:
        if locate_distance(key, skin[i]) > 2 * key.tolerance_mm:
            return skin[i]
    raise AssertionError(f"no far point for {key.target}")


def right_and_wrong(q, key, atlas):
    """A right and a wrong answer to a bank question, in the formats the page sends."""
    if isinstance(q, Locate):
        right = key.point if key.point is not None else key.surfaces[0].vertices[0]
        return tuple(float(v) for v in right), tuple(float(v) for v in _far(atlas, key))
    if isinstance(q, Identify):
        if key.options is not None:
            i = key.options.index(key.target)
            return i, (i + 1) % len(key.options)
        other = next(s.name for s in atlas.structures.values()
                     if s.has_mesh and s.id != key.target and normalise(s.name) not in key.accepted)
        return key.name, other
    if isinstance(q, Press):
        wrong_verdict = next(v for v in VERDICTS if v != key.verdict)
        not_at_risk = next(s.id for s in atlas.structures.values() if s.has_mesh and s.id not in key.at_risk)
        return ({"verdict": key.verdict, "at_risk": list(key.at_risk)},
                {"verdict": wrong_verdict, "at_risk": [not_at_risk]})
    if isinstance(q, Territory):
        return key.territory, next(t for t in HAND_TERRITORIES if t != key.territory)
    if isinstance(q, Choice):
        wrong = [i for i in range(len(q.options)) if i not in q.answers]
        return (list(q.answers), wrong) if q.multiple else (q.answer, wrong[0])
    return list(q.items), list(reversed(q.items))


def as_shown(current, q, answer, atlas=None):
    """A file-order answer (option indices) as the page sends it: positions among the options as
    shown (the run shuffles them)."""
    if not isinstance(q, Choice | Identify) or q.options is None:
        return answer
    texts = list(q.options) if isinstance(q, Choice) else [display_name(atlas, o) for o in q.options]

    def position(i):
        return current.options.index(texts[i]) if isinstance(i, int) and 0 <= i < len(texts) else i

    return [position(i) for i in answer] if isinstance(answer, list) else position(answer)


@pytest.mark.parametrize("path", BANK_FILES, ids=lambda p: p.stem)
def test_right_answers_score_1_and_wrong_ones_0_on_the_bank(atlas, path):
    quiz = load_quiz(path)
    good, bad = QuizRun(quiz, atlas, seed=1), QuizRun(quiz, atlas, seed=1)
    while not good.finished:
        q = good.question
        assert bad.question == q and bad.current.uid == good.current.uid  # same seed, same run
        key = compute_key(q, atlas)
        right, wrong = right_and_wrong(q, key, atlas)
        target = good.target_structure()
        assert target == (key.target if isinstance(q, Identify) else None)
        fb = good.answer(as_shown(good.current, q, right, atlas), uid=good.current.uid)
        assert (fb.score, fb.correct) == (1.0, True), (q.id, fb.feedback)
        assert fb.explanation == explanation_text(q, key) and fb.answer_text
        miss = bad.answer(as_shown(bad.current, q, wrong, atlas))
        assert (miss.score, miss.correct) == (0.0, False), (q.id, miss.feedback)
        assert miss.answer_text == fb.answer_text
        if isinstance(q, Locate) and key.point is not None:
            np.testing.assert_allclose(fb.points[0], key.point)
        elif isinstance(q, Locate | Identify):
            assert fb.structures == highlight_ids(atlas, key.target) and fb.structures
        if isinstance(q, Identify):
            assert fb.answer_text == key.name
        if isinstance(q, Press):
            assert fb.structures == key.at_risk and fb.answer_text.startswith(key.verdict + " — ")
        if isinstance(q, Territory):
            assert fb.territory == key.territory and fb.answer_text == f"{key.territory.capitalize()} nerve"
        json.dumps(fb.as_dict())
    assert good.score == good.max_score == len(quiz.questions) and good.passed
    assert bad.score == 0.0 and not bad.passed and bad.answered == len(quiz.questions)


# ----------------------------------------------------------------------------- a quiz run
def small_quiz(folder, *, pass_mark=0.5, shuffle=False):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "small.yaml"
    questions = "".join(textwrap.dedent(f"""\
          - id: c{i}
            type: choice
            prompt: Question {i}?
            options: [right, wrong, also wrong]
            answer: 0
            explanation: Because {i}.
        """) for i in range(4))
    path.write_text(f"format_version: 1\nquiz: {{id: small, title: Small, author: tests, "
                    f"pass_mark: {pass_mark}, shuffle: {str(shuffle).lower()}}}\nquestions:\n{questions}")
    return load_quiz(path)


def test_quiz_run_scores_and_passes(tmp_path, fixture_atlas):
    quiz = small_quiz(tmp_path)
    run = QuizRun(quiz, fixture_atlas)
    assert [run.current.number, run.current.total] == [1, 4] and run.question.id == "c0"
    first = run.current.uid

    def right():
        return run.current.options.index("right")

    assert run.answer(right(), uid=first).correct
    with pytest.raises(QuizFlowError, match="already answered"):
        run.answer(0, uid=first)  # a second click on the same submit button
    with pytest.raises(QuizFlowError, match="out of range"):
        run.answer(7)  # nothing recorded: the question stays
    assert run.question.id == "c1" and run.answered == 1
    assert run.answer(run.current.options.index("wrong")).score == 0.0
    skipped = run.skip()
    assert skipped.skipped and skipped.score == 0.0 and skipped.answer_text == "right"
    assert run.answer(right()).correct
    assert run.finished and run.current is None and run.question is None
    assert (run.score, run.max_score, run.answered) == (2.0, 4.0, 3)
    assert run.passed  # 2 / 4 >= 0.5
    assert [r.question_id for r in run.results] == ["c0", "c1", "c2", "c3"]
    assert [r.skipped for r in run.results] == [False, False, True, False]
    with pytest.raises(QuizFlowError, match="finished"):
        run.answer(0)
    strict = QuizRun(small_quiz(tmp_path / "strict", pass_mark=0.8), fixture_atlas)
    for text in ("right", "right", "right", "wrong"):
        strict.answer(strict.current.options.index(text))
    assert strict.score == 3.0 and not strict.passed  # 0.75 < 0.8


def test_options_are_shown_in_a_seeded_shuffle_and_answers_map_back(tmp_path, fixture_atlas):
    """The file lists the right option first; shown, it lands in every position about as often,
    the same seed shows the same order, and the answer is graded by the option, not its place."""
    quiz = small_quiz(tmp_path)
    places = []
    for seed in range(300):
        run = QuizRun(quiz, fixture_atlas, seed=seed)
        assert sorted(run.current.options) == ["also wrong", "right", "wrong"]
        places.append(run.current.options.index("right"))
        again = QuizRun(quiz, fixture_atlas, seed=seed)
        assert again.current.options == run.current.options
        fb = run.answer(places[-1])
        assert fb.correct and run.results[0].answer == 0  # stored as the file's index
    counts = [places.count(k) for k in range(3)]
    assert all(70 <= c <= 130 for c in counts), counts  # 100 expected each (sd 8)
    # always answering the first shown option scores about a third, not everything
    first = [QuizRun(quiz, fixture_atlas, seed=seed) for seed in range(120)]
    for run in first:
        while not run.finished:
            run.answer(0)
    share = sum(run.fraction for run in first) / len(first)
    assert 0.2 < share < 0.45, share


def test_quiz_run_shuffles_with_its_seed(tmp_path, fixture_atlas):
    def order(seed, shuffle=True):
        run = QuizRun(small_quiz(tmp_path / f"{seed}{shuffle}", shuffle=shuffle), fixture_atlas, seed=seed)
        ids = []
        while not run.finished:
            ids.append(run.question.id)
            run.skip()
        return ids

    assert order(3) == order(3)
    assert len({tuple(order(s)) for s in range(6)}) > 1
    assert order(3, shuffle=False) == ["c0", "c1", "c2", "c3"]


def test_quiz_run_on_the_fixture_atlas(tmp_path, fixture_atlas):
    quiz = load_quiz(spatial_bank(tmp_path) / "spatial.yaml")
    run = QuizRun(quiz, fixture_atlas)
    assert run.current.type == "press" and run.current.marker == (25.0, -40.0, 20.0)
    assert run.current.ask == ("verdict", "at_risk") and run.target_structure() is None
    # the fixture's radial artery lies on no bone: firm pressure flags it (caution), names work as ids do
    fb = run.answer({"verdict": "caution", "at_risk": ["radial artery"]})
    assert fb.correct and fb.structures == ("radial_artery",) and fb.points[0] == (25.0, -40.0, 20.0)
    assert fb.answer_text == "caution — at risk: radial artery"
    assert run.answer("median nerve").correct and run.current.shows_target
    assert run.target_structure() == "capitate" and "capitate" not in json.dumps(run.current.as_dict())
    assert sorted(run.current.options) == ["Capitate", "Hamate"]
    assert run.answer(run.current.options.index("Hamate")).score == 0.0
    assert run.current.needs_click and run.target_structure() is None
    assert run.answer((0.0, 20.0, 11.0)).correct  # on the median nerve's surface
    assert run.finished and run.score == 3.0


# ----------------------------------------------------------------------------- drills
class Ticks:
    """A fake monotonic clock: 3.5 s pass between handing a question out and answering it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 3.5
        return self.now


def test_drill_run_records_answers_that_survive_a_new_store(tmp_path, fixture_atlas):
    bank = spatial_bank(tmp_path / "bank")
    choice_bank(tmp_path / "bank", n=2, quiz_id="choices")
    db = tmp_path / "progress.sqlite"
    store = ProgressStore.open(db)
    drill = Drill(store, bank, learner="ada", atlas=fixture_atlas, seed=0, count=10,
                  scheduler=Scheduler(enable_fuzzing=False))
    run = DrillRun(drill, clock=Ticks())
    answered = {}
    while (shown := run.current) is not None:
        dq = drill.next_question()
        assert shown.number == dq.number and shown.total == dq.total == 7
        assert dq.question.id not in shown.uid and dq.quiz_id not in shown.uid
        key = drill.key(dq.uid)
        if dq.type == "order":
            assert shown.items == dq.items and list(shown.items) != dq.question.items
        if dq.type == "identify":
            assert run.target_structure() == "capitate"
        else:
            assert run.target_structure() is None
        right, _ = right_and_wrong(dq.question, key, fixture_atlas)
        right = as_shown(shown, dq.question, right, fixture_atlas)
        fb = run.answer(right, uid=shown.uid)
        assert fb.correct, (dq.uid, fb.feedback)
        with pytest.raises(QuizFlowError):
            run.answer(right, uid=shown.uid)
        answered[dq.uid] = dq.type
    assert run.finished and "spatial/click" in answered  # locate questions are asked in the web app
    assert run.summary().answered == 7 and run.progress().cards == 7
    run.close()
    store.close()
    with ProgressStore.open(db) as again:
        rows = again.answers("ada")
        assert {f"{r.quiz_id}/{r.question_id}" for r in rows} == set(answered)
        assert all(r.score == 1.0 and r.correct and r.seconds == pytest.approx(3.5) for r in rows)
        assert len(again.cards("ada")) == 7


def test_drill_run_asks_a_miss_again_and_says_when_cards_are_due(tmp_path, fixture_atlas):
    """The app's drill: a wrong answer's feedback says when it is due and that the drill asks it
    again; it comes back (a fresh opaque uid, numbered after the planned ones)."""
    store = ProgressStore.open(tmp_path / "p.sqlite")
    drill = Drill(store, choice_bank(tmp_path / "bank", n=2, quiz_id="choices"), learner="ada", seed=0,
                  types=["choice"], scheduler=Scheduler(enable_fuzzing=False))
    run = DrillRun(drill, clock=Ticks())
    first = run.current
    right = drill.next_question().option_order.index(0)
    fb = run.answer((right + 1) % 3, uid=first.uid)                          # wrong
    assert not fb.correct and fb.next_due == "Next due in 1 minute. This drill asks it again."
    second = run.current
    assert (second.number, second.total) == (2, 3)
    fb = run.answer(drill.next_question().option_order.index(0), uid=second.uid)
    assert fb.correct and fb.next_due.startswith("Next due in 8 days") and "again" not in fb.next_due  # Easy
    third = run.current
    assert third.prompt == first.prompt and third.uid not in (first.uid, second.uid) and third.number == 3
    fb = run.answer(drill.next_question().option_order.index(0), uid=third.uid)
    assert fb.correct and run.finished and len(store.answers("ada")) == 3
    store.close()


def test_drill_run_skip_shows_the_answer_and_records_nothing(tmp_path, fixture_atlas):
    store = ProgressStore.open(tmp_path / "p.sqlite")
    drill = Drill(store, spatial_bank(tmp_path / "bank"), learner="bo", atlas=fixture_atlas, seed=0,
                  types=["press"])
    run = DrillRun(drill)
    fb = run.skip()
    assert fb.skipped and fb.answer_text.startswith("caution") and run.finished
    with pytest.raises(QuizFlowError, match="finished"):
        run.skip()
    assert store.answers("bo") == []
    store.close()


# ----------------------------------------------------------------------------- quiz files
def test_open_quiz_refuses_paths_and_unknown_names(tmp_path):
    folder = tmp_path / "quizzes"
    choice_bank(folder, n=2, quiz_id="alpha")
    outside = choice_bank(tmp_path / "elsewhere", n=2, quiz_id="secret") / "secret.yaml"
    for name in ("../elsewhere/secret.yaml", "../x", "/etc/passwd", str(outside), ".", "..", "", "a\\b.yaml"):
        with pytest.raises(QuizFlowError, match="refusing"):
            open_quiz(folder, name)
    with pytest.raises(QuizFlowError) as err:
        open_quiz(folder, "beta.yaml")
    assert str(folder) in str(err.value) and "alpha.yaml" in str(err.value)
    assert open_quiz(folder, "alpha").model.quiz.id == "alpha"
    assert open_quiz(folder, "alpha.yaml").model.quiz.id == "alpha"
    if sys.platform != "win32":
        os.symlink(outside, folder / "sneaky.yaml")
        with pytest.raises(QuizFlowError, match="outside"):
            open_quiz(folder, "sneaky.yaml")
        assert [p.name for _, p in quiz_choices(folder)] == ["alpha.yaml"]
    with pytest.raises(QuizFlowError, match="does not exist"):
        open_quiz(tmp_path / "nope", "alpha")


def test_open_quiz_reports_broken_yaml_with_file_and_line(tmp_path):
    folder = tmp_path / "quizzes"
    choice_bank(folder, n=1, quiz_id="alpha")
    (folder / "broken.yaml").write_text("format_version: 1\nquiz:\n  id: broken\n  title: [unclosed\n")
    with pytest.raises(QuizFlowError) as err:
        open_quiz(folder, "broken.yaml")
    assert "broken.yaml:" in str(err.value) and "broken YAML" in str(err.value)
    line = str(err.value).split("broken.yaml:")[1].split(":")[0]
    assert line.isdigit() and int(line) >= 4
    choices = dict((p.name, title) for title, p in quiz_choices(folder))
    assert choices == {"alpha.yaml": "Drill fixture",
                       "broken.yaml": "broken.yaml (invalid: open it to see why)"}


def test_the_shipped_folder_lists_every_quiz():
    titles = quiz_choices(default_quiz_dir())
    assert [p for _, p in titles] == BANK_FILES
    assert all(not t.endswith("see why)") for t, _ in titles)


def test_the_review_of_a_quiz_shows_the_missed_options_as_the_learner_saw_them(tmp_path, fixture_atlas):
    from handatlas.ui.quizviews import score_html

    run = QuizRun(small_quiz(tmp_path), fixture_atlas, seed=5)
    shown = []
    for pick in ("wrong", "right", "also wrong", None):
        options = run.current.options
        shown.append(options)
        if pick is None:
            run.skip()
        else:
            run.answer(options.index(pick))
    assert len(set(shown)) > 1  # the order differs between questions
    missed = run.missed()
    assert [m.number for m in missed] == [1, 3, 4]
    for m, pick in zip(missed, ("wrong", "also wrong", None), strict=True):
        assert m.options == shown[m.number - 1]
        assert [m.options[i] for i in m.picked] == ([pick] if pick else [])
        assert [m.options[i] for i in m.right] == ["right"]
    html = score_html("", {"passed": False, "score": 1.0, "right": 1, "max_score": 4.0, "fraction": 0.25,
                           "pass_mark": 0.5, "missed": [m.__dict__ for m in missed]})
    first = html.split("<li value='1'>")[1].split("</li>")[0]
    lines = first.split("The options as you saw them:<br>")[1].split("</p>")[0].split("<br>")
    assert lines == [f"{n}. {o}" + (" <b>(your answer)</b>" if o == "wrong" else
                                    " <b>(right)</b>" if o == "right" else "")
                     for n, o in enumerate(shown[0], 1)]
