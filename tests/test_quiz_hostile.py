"""Hostile quiz files: every one is refused with its file and line, never a traceback or a hang.

Deep nesting (a ``RecursionError`` in PyYAML's composer), files over the size limit, too many
questions, a huge prompt, alias bombs, thousands of anchors, a value that contains itself, bytes
that are not UTF-8, control characters, a folder or a FIFO named like a quiz, a symlink leaving
the folder, and keys indented too far (reported at their own line, not at the question's).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from handatlas.cli import main
from handatlas.quiz import QuizError, check_files, limits, load_quiz, parse_quiz
from handatlas.quiz.bank import quiz_choices, read_folder
from handatlas.quiz.drill import folder_bank
from handatlas.quiz.loading import read_yaml

HEAD = "format_version: 1\nquiz:\n  id: {qid}\n  title: {title}\n  author: tester\nquestions:\n"
#: One valid choice question (lines 7-12 after HEAD), but for its exam domain (see :func:`good`).
CHOICE = """\
  - id: q{n}
    type: choice
    prompt: Which finger is the thumb?
    explanation: The thumb is the first digit.
    options: [first digit, second digit]
    answer: 0
"""
#: The exam domain a valid question needs (line 13 after a question of CHOICE).
DOMAIN = "    tags: [domain:anatomy_physiology]\n"


def head(qid: str = "hostile", title: str = "Hostile") -> str:
    return HEAD.format(qid=qid, title=title)


def good(qid: str = "good") -> str:
    """A valid quiz file of 13 lines."""
    return head(qid, f"Good {qid}") + CHOICE.format(n=1) + DOMAIN


def many_questions(n: int) -> str:
    return head() + "".join(CHOICE.format(n=i) for i in range(n))


def laughs(levels: int = 9) -> str:
    text = head() + "lol0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, levels + 1):
        text += f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n"
    return text + f"questions: *a{levels}\n"


def over_size() -> str:
    line = "# " + "x" * 97 + "\n"  # 100 bytes a line
    return good() + line * (limits.MAX_FILE_BYTES // 100 + 10)


#: The line holding the byte at which the size limit is reached: 12 lines, then 100 bytes a line.
OVER_SIZE_LINE = len(good().splitlines()) + (limits.MAX_FILE_BYTES - len(good())) // 100 + 1
#: The folded prompt swallows ``answer:``, indented like the prompt's text (line 12).
SWALLOWED = head() + """\
  - id: q1
    type: choice
    prompt: >
      Which finger is
      the thumb?
      answer: 0
    explanation: The thumb is the first digit.
    options: [first digit, second digit]
"""


#: name -> (text or bytes, the line named, words of the message)
CASES: dict[str, tuple[str | bytes, int, str]] = {
    "deep_lists": (head() + "  - " + "[" * 5000 + "]" * 5000 + "\n", 7, "nested too deeply"),
    "deep_mappings": (head() + "  - " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", 7, "nested too deeply"),
    "billion_laughs": (laughs(), 11, "too much data"),
    # 15 nodes before the list (the root, 7 keys, 7 values), then one a line from line 8
    "many_anchors": (head() + "x:\n" + "".join(f"  - &a{i} x\n" for i in range(60_000)),
                     8 + limits.MAX_NODES - 15, "too much data"),
    "many_aliases": (head() + "x: &a lol\ny: [" + ", ".join(["*a"] * 300) + "]\n", 8, "too many aliases"),
    "self_containing_alias": (head() + "  - &a [*a]\n", 7, "inside the value it names"),
    "over_size": (over_size(), OVER_SIZE_LINE, "over the size limit of 5 MB"),
    "too_many_questions": (many_questions(limits.MAX_QUESTIONS + 20), 7 + 6 * limits.MAX_QUESTIONS,
                           f"too many questions: {limits.MAX_QUESTIONS + 20}"),
    "long_prompt": (head() + CHOICE.format(n=1).replace("Which finger is the thumb?", "x" * 50_000), 9,
                    f"field 'prompt': too long: 50,000 characters, at most {limits.MAX_PROMPT_CHARS:,}"),
    "long_id": (head(qid="a" * 100_000), 3, "field 'quiz.id': too long: 100,000 characters, at most 80"),
    "long_version": ("format_version: '" + "9" * 100_000 + "'\n", 1,
                     "… (100,002 characters) is not supported"),
    "huge_type": (head() + "  - id: q1\n    type: " + "k" * 1_000_000 + "\n", 8,
                  "unknown question type 'kkkk"),
    "huge_integer": (head() + "  - id: q1\n    difficulty: " + "9" * 5000 + "\n", 8,
                     "this value cannot be read: Exceeds the limit (4300 digits)"),
    "impossible_date": (head() + "  - id: q1\n    prompt: 2024-13-45\n", 8,
                        "this value cannot be read: month"),
    "not_utf8": ((head() + CHOICE.format(n=1)).encode() + b"    tags: [topic:\xff\xfe]\n", 13,
                 "not UTF-8 text: byte 0xff"),
    "latin1": ("format_version: 1\nquiz:\n  id: x\n  title: Caf\xe9\n".encode("latin-1"), 4, "not UTF-8"),
    "control_character": (good().replace("thumb?", "thumb?\x07"), 9, "control character U+0007"),
    "binary": (b"\x00\x01\x02" * 1000, 1, "control character U+0000"),
    "nested_under_key": (good().replace("    options: [first digit, second digit]\n",
                                        "      options: [first digit, second digit]\n")
                         .replace("explanation: The thumb is the first digit.", "explanation:"),
                         11, "field 'options': indented under 'explanation' (line 10)"),
    "swallowed_by_text": (SWALLOWED, 12, "field 'answer': read as part of the text of 'prompt' (line 9)"),
    "questions_under_quiz": (good().replace("\nquestions:\n", "\n  questions:\n"), 6,
                             "field 'questions': indented under 'quiz' (line 2): line 'questions' up"),
    "over_indented_plain_text": (good().replace("    answer: 0", "      answer: 0"), 12,
                                 "indented further than"),
    "over_indented_after_list": (good().replace("    options: [first digit, second digit]\n",
                                                "    options:\n      - thumb\n      - index\n")
                                 .replace("    answer: 0", "        answer: 0"), 14,
                                 "is this key indented further than the keys above it"),
}


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- the loader
@pytest.mark.parametrize("case", CASES)
def test_hostile_file_refused_with_its_line(tmp_path, case):
    content, line, words = CASES[case]
    path = _write(tmp_path / f"{case}.yaml", content)
    with pytest.raises(QuizError) as info:
        load_quiz(path)
    first = info.value.problems[0]
    assert (first.file, first.line) == (str(path), line), str(info.value)
    assert words in first.message or words in str(first), str(first)
    assert len(str(info.value)) < 1000, "a message never repeats a huge value"


def test_problems_of_a_file_are_capped():
    text = head() + "  - id: q1\n" + "    a: 1\n" * 2000
    with pytest.raises(QuizError) as info:
        parse_quiz(text, name="q.yaml")
    problems = info.value.problems
    assert len(problems) == limits.MAX_PROBLEMS + 1
    assert str(problems[-1]) == (f"q.yaml:{9 + limits.MAX_PROBLEMS}: and {1999 - limits.MAX_PROBLEMS} more "
                                 f"problems from this line on (fix the first {limits.MAX_PROBLEMS})")


def test_the_swallowed_case_is_what_it_says():
    """The over-indented ``answer:`` really is inside the folded prompt (so pydantic alone would
    report it missing at the question's first line, 7)."""
    data, _ = read_yaml(SWALLOWED, "t.yaml")
    assert data["questions"][0]["prompt"] == "Which finger is the thumb? answer: 0\n"


def test_a_misplaced_key_is_one_problem_not_three():
    with pytest.raises(QuizError) as info:
        parse_quiz(CASES["nested_under_key"][0], name="q.yaml")
    assert [str(p) for p in info.value.problems] == [
        "q.yaml:11: question 'q1', field 'options': indented under 'explanation' (line 10): line "
        "'options' up with 'explanation'"]


def test_a_text_naming_a_defaulted_field_is_reported():
    """``grade: firm`` indented into the explanation would silently leave the default grade."""
    text = head() + textwrap.dedent("""\
          - id: p1
            type: press
            prompt: A press at the radial pulse. What is the verdict?
            where: radial_pulse
            explanation: |
              A {grade} press here is {verdict}.
              grade: firm
        """)
    with pytest.raises(QuizError) as info:
        parse_quiz(text, name="q.yaml")
    assert [(p.line, p.field) for p in info.value.problems] == [(13, "grade")]


def test_texts_that_merely_mention_a_field_are_fine():
    text = good().replace("    explanation: The thumb is the first digit.\n",
                          "    explanation: >\n      The thumb is the first digit.\n"
                          "      Answer: yes, and options: none of the others.\n")
    assert parse_quiz(text, name="q.yaml").questions[0].explanation.startswith("The thumb")


def test_limits_leave_room_for_the_largest_legitimate_file():
    quiz = parse_quiz(many_questions(limits.MAX_QUESTIONS), name="q.yaml")
    assert len(quiz.questions) == limits.MAX_QUESTIONS
    prompt = "x" * limits.MAX_PROMPT_CHARS
    assert parse_quiz(good().replace("Which finger is the thumb?", prompt), name="q.yaml")
    shared = many_questions(2).replace("    answer: 0\n", "    answer: 0\n    tags: &t [topic:thumb]\n", 1)
    shared += "    tags: *t\n"  # the second question's tags: an alias of the first's
    assert [q.tags for q in parse_quiz(shared, name="q.yaml").questions] == [["topic:thumb"]] * 2


def test_folders_fifos_and_links_out_are_named(tmp_path):
    folder = tmp_path / "quizzes"
    folder.mkdir()
    (folder / "folder.yaml").mkdir()
    os.mkfifo(folder / "pipe.yaml")  # reading it would block forever: it is never opened for reading
    outside = _write(tmp_path / "secret.yaml", good("secret"))
    (folder / "link.yaml").symlink_to(outside)
    _write(folder / "good.yaml", good())
    found = read_folder(folder)
    assert [q.name for q in found.quizzes] == [str(folder / "good.yaml")]
    assert found.notes() == [
        f"{folder}/folder.yaml: is a folder, not a quiz file",
        f"{folder}/link.yaml: refusing link.yaml: it points outside the quiz folder {folder}",
        f"{folder}/pipe.yaml: is not a regular file (a FIFO, socket or device): not read",
    ]
    # the link is followed when named directly: it is the user's own file
    assert load_quiz(folder / "link.yaml").model.quiz.id == "secret"


# ----------------------------------------------------------------------------- the CLI
@pytest.mark.parametrize("case", CASES)
def test_quiz_check_exit_1_with_file_and_line(capsys, fixture_dir, tmp_path, case):
    content, line, words = CASES[case]
    folder = tmp_path / "quizzes"
    folder.mkdir()
    bad = _write(folder / f"{case}.yaml", content)
    _write(folder / "good.yaml", good())
    code, out, err = run(capsys, "--atlas", fixture_dir, "quiz", "check", folder)
    assert code == 1
    assert f"{bad}:{line}: " in err and words in err, err[:2000]
    assert f"{folder / 'good.yaml'}: valid" in out
    assert "Traceback" not in out + err
    assert len(err) < 2000


@pytest.mark.parametrize("kind", ["folder", "fifo", "link_out", "broken_link", "link_loop"])
def test_quiz_check_names_what_is_not_a_quiz_file(capsys, fixture_dir, tmp_path, kind):
    folder = tmp_path / "quizzes"
    folder.mkdir()
    path = folder / f"{kind}.yaml"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "link_out":
        path.symlink_to(_write(tmp_path / "elsewhere.yaml", good("elsewhere")))
    elif kind == "broken_link":
        path.symlink_to(folder / "gone.yaml")
    else:
        path.symlink_to(path.name)
    _write(folder / "good.yaml", good())
    code, out, err = run(capsys, "--atlas", fixture_dir, "quiz", "check", folder)
    words = {"folder": "is a folder", "fifo": "not a regular file",
             "link_out": "points outside the quiz folder", "broken_link": "cannot read the file",
             "link_loop": "Too many levels of symbolic links"}[kind]
    assert code == 1 and f"{path}: " in err and words in err, err
    assert f"{folder / 'good.yaml'}: valid" in out and "Traceback" not in out + err


@pytest.mark.parametrize("command", [["quiz", "export", "--format", "gift", "-o", "out.gift"],
                                     ["quiz", "mock", "--count", "3", "-o", "mock.yaml"]])
def test_export_and_mock_refuse_hostile_folders_too(capsys, fixture_dir, tmp_path, command):
    folder = tmp_path / "quizzes"
    folder.mkdir()
    deep = _write(folder / "deep.yaml", CASES["deep_lists"][0])
    (folder / "dir.yaml").mkdir()
    _write(folder / "good.yaml", good())
    *action, flag, output = command
    code, out, err = run(capsys, "--atlas", fixture_dir, *action, folder, flag, tmp_path / output)
    assert code == 1 and f"{deep}:7: nested too deeply" in err and "Traceback" not in out + err
    assert not (tmp_path / output).exists()


def test_quiz_check_on_a_fifo_named_directly(capsys, fixture_dir, tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")
    code, _, err = run(capsys, "--atlas", fixture_dir, "quiz", "check", tmp_path / "pipe.yaml")
    assert code == 1 and f"{tmp_path / 'pipe.yaml'}: is not a regular file" in err


def test_quiz_check_deep_nesting_in_a_real_process(tmp_path, fixture_dir):
    """The case that used to print a RecursionError traceback, run as the user runs it."""
    bad = _write(tmp_path / "deep.yaml", CASES["deep_lists"][0])
    result = subprocess.run([sys.executable, "-m", "handatlas.cli", "--atlas", str(fixture_dir), "quiz",
                             "check", str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{bad}:7: nested too deeply"), result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr


# ----------------------------------------------------------------------------- the bank as the app reads it
def test_one_bad_file_leaves_the_others_to_quiz_and_drill(tmp_path):
    folder = tmp_path / "quizzes"
    folder.mkdir()
    _write(folder / "a_good.yaml", good("a_good"))
    _write(folder / "b_deep.yaml", CASES["deep_lists"][0])
    _write(folder / "c_good.yaml", good("c_good"))
    _write(folder / "d_same_id.yaml", good("a_good"))
    (folder / "e_link.yaml").symlink_to(_write(tmp_path / "out.yaml", good("out")))
    titles = [title for title, _ in quiz_choices(folder)]
    invalid = "b_deep.yaml (invalid: open it to see why)"
    assert titles == ["Good a_good", invalid, "Good c_good", "Good a_good"]
    bank, notes = folder_bank(folder)
    assert sorted({q.quiz_id for q in bank}) == ["a_good", "c_good"]
    assert notes == [
        f"{folder}/b_deep.yaml:7: nested too deeply: more than {limits.MAX_DEPTH} levels of lists and "
        f"mappings (a quiz needs 4)",
        f"{folder}/d_same_id.yaml:3: quiz id 'a_good' is also used by {folder}/a_good.yaml: left out",
        f"{folder}/e_link.yaml: refusing e_link.yaml: it points outside the quiz folder {folder}",
    ]


def test_check_files_refuses_links_out_of_a_folder_only(tmp_path):
    folder = tmp_path / "quizzes"
    folder.mkdir()
    (folder / "link.yaml").symlink_to(_write(tmp_path / "out.yaml", good("out")))
    assert [p.message for p in check_files([folder])] == [
        f"refusing link.yaml: it points outside the quiz folder {folder}"]
    assert check_files([folder / "link.yaml"]) == []


def test_read_folder_parses_a_file_again_only_when_it_changed(tmp_path):
    folder = tmp_path / "quizzes"
    folder.mkdir()
    path = _write(folder / "a.yaml", good("a"))
    bad = _write(folder / "b.yaml", CASES["deep_lists"][0])
    first, again = read_folder(folder), read_folder(folder)
    assert again.quizzes[0] is first.quizzes[0] and again.skipped[bad] is first.skipped[bad]
    _write(path, good("a").replace("Good a", "Renamed"))
    _write(bad, good("b"))
    changed = read_folder(folder)
    assert [q.model.quiz.title for q in changed.quizzes] == ["Renamed", "Good b"] and not changed.skipped
    path.unlink()
    path.symlink_to(bad)  # the same name, another file
    assert [q.model.quiz.title for q in read_folder(folder).quizzes] == ["Good b", "Good b"]
