"""Quiz exports read back with independent readers: xml.etree, a GIFT parser written here, sqlite3."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import struct
import zipfile
from pathlib import Path

import pytest
import yaml

from handatlas.cli import main
from handatlas.quiz import default_quiz_dir, load_quiz, quiz_paths
from handatlas.quiz.export import export_quizzes
from handatlas.quiz.export.moodle import picture_file
from handatlas.quiz.export.pictures import SIZE, PictureCache

SMALL = """\
format_version: 1
quiz:
  id: small_export
  title: Small export test
  author: tests
  shuffle: true
  description: Every question type.
questions:
  - id: loc_nerve
    type: locate
    prompt: Click on the median nerve.
    target: median_nerve
    explanation: It runs down the middle.
    tags: [topic:median_nerve, domain:anatomy_physiology]
    difficulty: 2
  - id: loc_point
    type: locate
    prompt: Click on the centre of the palm.
    target: palm_center
    explanation: Over the bone.
  - id: ident_typed
    type: identify
    prompt: Name the highlighted vessel.
    target: radial_artery
    accept: [radial a]
    explanation: The radial artery.
  - id: ident_options
    type: identify
    prompt: Which structure is highlighted?
    target: capitate
    options: [capitate, hamate, median nerve]
    explanation: The capitate is the bone in the middle.
  - id: press_both
    type: press
    prompt: A firm press at the radial pulse point.
    where: radial_pulse
    grade: firm
    ask: [verdict, at_risk]
    explanation: The radial artery lies under it.
    tags: [topic:radial_artery, domain:areas_of_caution]
  - id: press_verdict
    type: press
    prompt: A light press on the back of the hand.
    where: dorsum_center
    grade: light
    explanation: Nothing lies within 4 mm.
  - id: terr
    type: territory
    prompt: Which nerve supplies the skin where the pulse is felt at the wrist?
    where: radial_pulse
    explanation: The radial side is radial.
  - id: choice_single
    type: choice
    scenario: "A client says: my wrist {hurts} = 3/10 #pain ~ today."
    prompt: What do you do first?
    options: [Ask about it, Ignore it, Press harder]
    answer: 0
    explanation: Ask first.
    tags: [domain:client_assessment]
  - id: choice_multi
    type: choice
    prompt: Which are contraindications?
    options: [Fever, Open wound, Recent fracture, Mild fatigue]
    answer: [0, 1, 2]
    explanation: The first three are.
  - id: order_long
    type: order
    prompt: Order the steps.
    items: [Greet, Assess, Treat, Document]
    explanation: Assess before you treat.
  - id: order_short
    type: order
    prompt: Order two steps.
    items: [Wash hands, Touch client]
    explanation: Hands first.
"""
SPATIAL = {"loc_nerve", "loc_point", "ident_typed", "ident_options", "press_both", "press_verdict", "terr"}
#: Exported items of SMALL: press_both is split into a verdict and an at-risk item.
SMALL_ITEMS = {
    "loc_nerve": "multichoice", "loc_point": "multichoice", "ident_typed": "shortanswer",
    "ident_options": "multichoice", "press_both.verdict": "multichoice", "press_both.at_risk": "multichoice",
    "press_verdict": "multichoice", "terr": "multichoice", "choice_single": "multichoice",
    "choice_multi": "multichoice", "order_long": "matching", "order_short": "multichoice",
}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


@pytest.fixture(scope="module")
def cache() -> PictureCache:
    return PictureCache()


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (asserting the signature)."""
    assert data.startswith(PNG)
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def export(paths, atlas, fmt, out, **kw):
    return export_quizzes([load_quiz(p) for p in paths], atlas, fmt=fmt, output=out, **kw)


# ----------------------------------------------------------------------------- GIFT reader
def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _split_unescaped(text: str, pattern: str) -> list[str]:
    """Split ``text`` at matches of ``pattern`` not preceded by a backslash (kept at piece starts)."""
    starts = [m.start() for m in re.finditer(rf"(?<!\\){pattern}", text)]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def parse_gift(text: str) -> list[dict]:
    """A small GIFT reader: comments kept per block, ``::name::text{answers}`` parsed."""
    questions = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.strip().splitlines() if ln.strip()]
        comments = [ln for ln in lines if ln.lstrip().startswith("//")]
        body = "\n".join(ln for ln in lines if not ln.lstrip().startswith("//"))
        if not body or body.startswith("$CATEGORY:"):
            continue
        m = re.fullmatch(r"::(?P<name>(?:[^:\\]|\\.)+)::(?P<text>(?:[^{\\]|\\.)*)\{(?P<ans>.*)\}", body, re.S)
        assert m, body
        answers_part, *rest = re.split(r"(?<!\\)####", m["ans"], maxsplit=1)
        feedback = rest[0].strip() if rest else ""
        answers = []
        for piece in _split_unescaped(answers_part.strip(), r"[=~]"):
            mark, rest = piece[0], piece[1:].strip()
            weight = None
            w = re.match(r"%(-?[\d.]+)%", rest)
            if w:
                weight, rest = float(w[1]), rest[w.end():]
            pair = re.split(r"\s->\s", rest, maxsplit=1)
            answers.append({"mark": mark, "weight": weight, "text": _unescape(pair[0]),
                            "match": _unescape(pair[1]) if len(pair) == 2 else None})
        questions.append({"name": _unescape(m["name"]), "text": _unescape(m["text"]), "answers": answers,
                          "feedback": _unescape(feedback), "comments": comments})
    return questions


# ----------------------------------------------------------------------------- Moodle
def test_moodle_small_types_fractions_pictures(small, tmp_path, fixture_atlas, cache):
    import xml.etree.ElementTree as ET

    out = tmp_path / "small.xml"
    result = export([small], fixture_atlas, "moodle", out, cache=cache)
    root = ET.parse(out).getroot()
    assert root.tag == "quiz"
    category, *questions = root.findall("question")
    assert category.get("type") == "category"
    assert category.findtext("category/text") == "$course$/top/Small export test"
    by_name = {q.findtext("name/text"): q for q in questions}
    assert {n: q.get("type") for n, q in by_name.items()} == SMALL_ITEMS
    assert result.items == len(SMALL_ITEMS) and result.questions == 11 and result.pictures == len(SPATIAL)

    def answers(name):
        return {a.findtext("text"): float(a.get("fraction")) for a in by_name[name].findall("answer")}

    assert answers("choice_single") == {"Ask about it": 100, "Ignore it": 0, "Press harder": 0}
    multi = answers("choice_multi")
    assert by_name["choice_multi"].findtext("single") == "false"
    assert sum(f for f in multi.values() if f > 0) == pytest.approx(100, abs=1e-3)
    assert multi["Mild fatigue"] == pytest.approx(-33.33333)
    assert answers("press_both.verdict") == {"Caution": 100, "Safe": 0, "Avoid": 0}  # no bone under it
    at_risk = answers("press_both.at_risk")
    assert at_risk["Radial artery"] == 100 and len(at_risk) >= 4
    assert all(f == -100 for name, f in at_risk.items() if name != "Radial artery")
    assert answers("press_verdict")["Safe"] == 100
    assert answers("terr") == {"Median nerve": 0, "Ulnar nerve": 0, "Radial nerve": 100}
    assert answers("loc_nerve")["Median nerve"] == 100 and len(answers("loc_nerve")) == 4
    assert answers("loc_point") == {
        "Centre of the palm": 100, "Centre of the back of the hand": 0, "Radial pulse": 0}
    assert answers("ident_options") == {"Capitate": 100, "Hamate": 0, "Median nerve": 0}
    typed = answers("ident_typed")
    assert {"Radial artery", "RA", "radial a"} <= set(typed) and set(typed.values()) == {100}
    assert by_name["ident_typed"].findtext("usecase") == "0"
    subs = by_name["order_long"].findall("subquestion")
    pairs = [(s.findtext("text"), s.findtext("answer/text")) for s in subs]
    assert pairs == [("Step 1", "Greet"), ("Step 2", "Assess"), ("Step 3", "Treat"), ("Step 4", "Document")]
    assert answers("order_short") == {"Wash hands → Touch client": 100, "Touch client → Wash hands": 0}
    # explanations, tags, the scenario's special characters
    assert "radial artery lies under it" in by_name["press_both.at_risk"].findtext("generalfeedback/text")
    tags = [t.findtext("text") for t in by_name["loc_nerve"].findall("tags/tag")]
    assert tags == ["topic:median_nerve", "domain:anatomy_physiology", "difficulty:2"]
    assert "{hurts} = 3/10 #pain ~ today" in by_name["choice_single"].findtext("questiontext/text")
    # pictures: one embedded PNG per spatial item, referenced from the text
    for name, q in by_name.items():
        files = q.findall("questiontext/file")
        assert len(files) == (1 if name.split(".")[0] in SPATIAL else 0), name
        for f in files:
            assert f.get("encoding") == "base64"
            assert f'src="@@PLUGINFILE@@/{f.get("name")}"' in q.findtext("questiontext/text")
            assert png_size(base64.b64decode(f.text)) == SIZE
    # the locate item names no answer in its text
    assert "median" not in by_name["loc_nerve"].findtext("questiontext/text").lower()


# ----------------------------------------------------------------------------- GIFT
def test_gift_small_blocks_answers_weights(small, tmp_path, fixture_atlas):
    out = tmp_path / "small.gift"
    export([small], fixture_atlas, "gift", out)
    text = out.read_text(encoding="utf-8")
    assert "$CATEGORY: $course$/top/Small export test" in text
    questions = {q["name"]: q for q in parse_gift(text)}
    assert set(questions) == set(SMALL_ITEMS)
    for name, q in questions.items():
        no_picture = any("no picture" in c and "GIFT cannot embed images" in c for c in q["comments"])
        assert no_picture == (name.split(".")[0] in SPATIAL), name
        assert q["feedback"].startswith("[html]<p>")
    single = questions["choice_single"]
    assert sorted((a["mark"], a["text"]) for a in single["answers"]) == [
        ("=", "Ask about it"), ("~", "Ignore it"), ("~", "Press harder")]
    assert "{hurts} = 3/10 #pain ~ today" in single["text"]
    weights = {a["text"]: a["weight"] for a in questions["choice_multi"]["answers"]}
    assert sum(w for w in weights.values() if w > 0) == pytest.approx(100, abs=1e-3)
    assert weights["Mild fatigue"] == pytest.approx(-33.33333)
    typed = questions["ident_typed"]["answers"]
    assert all(a["mark"] == "=" for a in typed) and {"Radial artery", "RA"} <= {a["text"] for a in typed}
    assert "lies nearest the radial pulse landmark" in questions["ident_typed"]["text"]
    match = questions["order_long"]["answers"]
    assert [(a["text"], a["match"]) for a in match] == [
        ("Step 1", "Greet"), ("Step 2", "Assess"), ("Step 3", "Treat"), ("Step 4", "Document")]
    risk = {a["text"]: a["weight"] for a in questions["press_both.at_risk"]["answers"]}
    assert risk["Radial artery"] == 100 and all(w == -100 for t, w in risk.items() if t != "Radial artery")
    # without a picture, locate asks "which lies nearest landmark L" and still has one right answer
    locate = questions["loc_point"]
    assert "nearest the centre of the back of the hand landmark" in locate["text"]
    assert [a["text"] for a in locate["answers"] if a["mark"] == "="] == ["Centre of the palm"]
    assert "[tag:topic:median_nerve]" in " ".join(questions["loc_nerve"]["comments"])


# ----------------------------------------------------------------------------- Anki
def read_apkg(path: Path, tmp_path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        z.extract("collection.anki2", tmp_path)
        media = json.loads(z.read("media"))
        files = {name: z.read(key) for key, name in media.items()}
    con = sqlite3.connect(tmp_path / "collection.anki2")
    try:
        notes = con.execute("select guid, mid, flds, tags from notes").fetchall()
        decks = json.loads(con.execute("select decks from col").fetchone()[0])
        models = json.loads(con.execute("select models from col").fetchone()[0])
        cards = con.execute("select nid, did from cards").fetchall()
    finally:
        con.close()
    return {"names": names, "media": media, "files": files, "notes": notes, "decks": decks,
            "models": models, "cards": cards}


def test_anki_small_notes_tags_media(small, tmp_path, fixture_atlas, cache):
    out = tmp_path / "small.apkg"
    result = export([small], fixture_atlas, "anki", out, cache=cache)
    pkg = read_apkg(out, tmp_path)
    assert result.items == 11 and len(pkg["notes"]) == 11 and len(pkg["cards"]) == 11
    model = next(m for m in pkg["models"].values() if m["name"] == "handatlas quiz question")
    assert [f["name"] for f in model["flds"]] == ["Id", "Quiz", "Type", "Front", "Back", "Explanation"]
    deck = next(d for d in pkg["decks"].values() if d["name"] == "handatlas::Small export test")
    assert {did for _, did in pkg["cards"]} == {deck["id"]}
    notes = {}
    for guid, mid, flds, tags in pkg["notes"]:
        fields = flds.split("\x1f")
        assert str(mid) == str(model["id"])
        notes[fields[0]] = {"guid": guid, "fields": fields, "tags": tags.split()}
    assert set(notes) == {name.split(".")[0] for name in SMALL_ITEMS}
    press = notes["press_both"]["fields"]
    assert press[2] == "press" and "Caution" in press[4] and "Radial artery" in press[4]
    assert "radial artery lies under it" in press[5]
    tags = notes["press_both"]["tags"]
    assert tags == ["topic::radial_artery", "domain::areas_of_caution", "difficulty::3"]
    assert "<li>Greet</li>" in notes["order_long"]["fields"][4]
    # pictures: one media file per spatial note, referenced from its front, a real PNG
    assert len(pkg["files"]) == len(SPATIAL)
    for qid in SPATIAL:
        name = picture_file("small_export", qid)
        assert qid not in name and name.startswith("hand-")  # opaque: the id would tell the answer
        assert f'<img src="{name}">' in notes[qid]["fields"][3]
        assert png_size(pkg["files"][name]) == SIZE
    assert "<img" not in notes["choice_single"]["fields"][3]
    # ids are stable: a second export has the same GUIDs, note type and deck ids
    again = tmp_path / "again"
    again.mkdir()
    export([small], fixture_atlas, "anki", again / "small.apkg", pictures=False)
    pkg2 = read_apkg(again / "small.apkg", again)
    assert {n[0] for n in pkg2["notes"]} == {n["guid"] for n in notes.values()}
    assert set(pkg2["models"]) == set(pkg["models"]) and set(pkg2["decks"]) == set(pkg["decks"])
    assert pkg2["files"] == {}


# ----------------------------------------------------------------------------- the shipped bank
def _bank_counts() -> tuple[int, int]:
    """(questions, items) of the shipped bank, counted from the YAML itself."""
    questions = items = 0
    for path in quiz_paths([default_quiz_dir()]):
        for q in yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]:
            questions += 1
            ask = q.get("ask", ["verdict"])
            items += 2 if q["type"] == "press" and isinstance(ask, list) and len(set(ask)) == 2 else 1
    return questions, items


def test_shipped_bank_counts(tmp_path, atlas):
    import xml.etree.ElementTree as ET

    paths = quiz_paths([default_quiz_dir()])
    n_questions, n_items = _bank_counts()
    quizzes = [load_quiz(p) for p in paths]
    export_quizzes(quizzes, atlas, fmt="moodle", output=tmp_path / "bank.xml", pictures=False)
    export_quizzes(quizzes, atlas, fmt="gift", output=tmp_path / "bank.gift")
    export_quizzes(quizzes, atlas, fmt="anki", output=tmp_path / "bank.apkg", pictures=False)
    root = ET.parse(tmp_path / "bank.xml").getroot()
    kinds = [q.get("type") for q in root.findall("question")]
    assert kinds.count("category") == len(paths)
    assert len(kinds) - len(paths) == n_items
    assert set(kinds) <= {"category", "multichoice", "shortanswer", "matching"}
    for q in root.findall("question[@type='multichoice']"):
        fractions = [float(a.get("fraction")) for a in q.findall("answer")]
        assert sum(f for f in fractions if f > 0) == pytest.approx(100, abs=1e-3), q.findtext("name/text")
    gift = parse_gift((tmp_path / "bank.gift").read_text(encoding="utf-8"))
    assert len(gift) == n_items
    assert all(any(a["mark"] == "=" or (a["weight"] or 0) > 0 for a in q["answers"]) for q in gift)
    pkg = read_apkg(tmp_path / "bank.apkg", tmp_path)
    assert len(pkg["notes"]) == n_questions
    assert len({n[0] for n in pkg["notes"]}) == n_questions  # unique GUIDs


# ----------------------------------------------------------------------------- the command
def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_export_gift(capsys, small, tmp_path, fixture_dir):
    out = tmp_path / "small.gift"
    code, stdout, err = run(capsys, "--atlas", fixture_dir, "quiz", "export", small, "--format", "gift",
                            "-o", out)
    assert (code, err) == (0, "")
    assert stdout == f"{out}: gift, 11 questions as 12 items, 0 pictures\n"
    assert len(parse_gift(out.read_text(encoding="utf-8"))) == 12


def test_cli_export_errors(capsys, small, tmp_path, fixture_dir):
    code, out, err = run(capsys, "--atlas", fixture_dir, "quiz", "export", small, "--format", "qti", "-o",
                         tmp_path / "x")
    assert code == 2 and "invalid choice: 'qti'" in err and "Traceback" not in err
    missing = tmp_path / "no_such_dir" / "x.gift"
    code, out, err = run(capsys, "--atlas", fixture_dir, "quiz", "export", small, "--format", "gift", "-o",
                         missing)
    assert code == 2 and err == f"handatlas: error: cannot write {missing}: no such folder {missing.parent}\n"
    code, out, err = run(capsys, "--atlas", fixture_dir, "quiz", "export", small, "--format", "gift", "-o",
                         tmp_path)
    assert code == 2
    assert err == f"handatlas: error: cannot write {tmp_path}: it is a folder, not a regular file\n"
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL.replace("grade: firm", "grade: hard"))
    code, out, err = run(capsys, "--atlas", fixture_dir, "quiz", "export", bad, "--format", "moodle", "-o",
                         tmp_path / "bad.xml")
    line = SMALL.splitlines().index("    grade: firm") + 1
    assert code == 1 and out == ""
    assert err.splitlines()[0] == (f"{bad}:{line}: question 'press_both', field 'grade': 'hard' is not "
                                   f"one of light, moderate, firm")
    assert "nothing exported" in err and not (tmp_path / "bad.xml").exists()
    code, out, err = run(capsys, "--atlas", fixture_dir, "quiz", "export", tmp_path / "nope.yaml",
                         "--format", "anki", "-o", tmp_path / "x.apkg")
    assert code == 2 and err == f"handatlas: error: no such quiz file: {tmp_path / 'nope.yaml'}\n"


def test_exported_options_are_shuffled_reproducibly(atlas):
    """The bank lists the right option first more often than not; exported, the right option
    lands in every position about equally often, and the same export gives the same order."""
    from collections import Counter

    from handatlas.quiz.export.geometry import Geometry
    from handatlas.quiz.export.items import export_quiz

    geometry = Geometry(atlas)
    places: Counter[int] = Counter()
    for path in quiz_paths([default_quiz_dir()]):
        quiz = load_quiz(path)
        exported = export_quiz(quiz, atlas, geometry=geometry).questions
        for e in exported:
            for item in e.items:
                if item.kind == "multichoice" and item.single and len(item.answers) >= 3:
                    places[next(i for i, a in enumerate(item.answers) if a.fraction > 0)] += 1
    scenarios = default_quiz_dir() / "certification_scenarios.yaml"
    first = export_quiz(load_quiz(scenarios), atlas, geometry=geometry)
    again = export_quiz(load_quiz(scenarios), atlas, geometry=geometry)
    assert [e.items for e in again.questions] == [e.items for e in first.questions]
    total = sum(places.values())
    assert total > 150, total
    assert places[0] / total < 0.4, places  # about a quarter or a third, not the file's habit
    print(f"key positions in exported single-answer items: {dict(sorted(places.items()))}")


# ----------------------------------------------------------------------------- fixes
FIXES = """\
format_version: 1
quiz: {id: fixes, title: "Fixes: Guyon's quiz", author: tests, description: "The client's hand."}
questions:
  - id: press_asks
    type: press
    prompt: A light press on the back of the hand. What is the verdict?
    where: dorsum_center
    grade: light
    explanation: Nothing lies within 4 mm.
  - id: press_two
    type: press
    prompt: A firm press at the client's radial pulse point.
    where: radial_pulse
    grade: firm
    ask: [verdict, at_risk]
    explanation: The radial artery lies under it.
  - id: typed_star
    type: identify
    prompt: Name the highlighted vessel (it's the one at the pulse).
    target: radial_artery
    accept: ["radial a*", "a & b"]
    explanation: It's the radial artery.
  - id: pick_one
    type: choice
    prompt: Which is the client's choice?
    options: ["Don't press", "Press", "Ask again"]
    answer: 0
    explanation: "Don't press: ask first."
  - id: steps
    type: order
    prompt: Put the steps in order.
    items: [Greet, Assess, Treat]
    explanation: Assess before you treat.
"""


@pytest.fixture
def fixes(tmp_path) -> Path:
    path = tmp_path / "fixes.yaml"
    path.write_text(FIXES)
    return path


def moodle_gift_text(raw: str) -> str:
    """What Moodle's GIFT reader makes of an answer's text (qformat_gift::escapedchar_pre/post):
    ``\\\\`` is a backslash, ``\\`` before one of ``:#={}~`` escapes it, any other backslash stays."""
    text = raw.replace("\\\\", "\x00")
    text = re.sub(r"\\([:#={}~])", r"\1", text)
    return text.replace("\x00", "\\")


def test_gift_short_answers_escape_the_wildcard_and_no_html(fixes, tmp_path, fixture_atlas):
    """Before: ``=radial a*`` (Moodle's wildcard: any answer starting 'radial a' scored) and
    ``=a &amp; b``.  Now the short-answer grader receives ``radial a\\*`` (a literal asterisk) and
    ``a & b``; the Moodle XML export does the same."""
    import xml.etree.ElementTree as ET

    out = tmp_path / "fixes.gift"
    export([fixes], fixture_atlas, "gift", out)
    text = out.read_text(encoding="utf-8")
    block = next(b for b in text.split("\n\n") if "::typed_star::" in b)
    answers = [moodle_gift_text(ln.strip()[1:]) for ln in block.splitlines() if ln.startswith("\t=")]
    assert "radial a\\*" in answers and "a & b" in answers and "radial a*" not in answers
    export([fixes], fixture_atlas, "moodle", tmp_path / "fixes.xml", pictures=False)
    root = ET.parse(tmp_path / "fixes.xml").getroot()
    typed = next(q for q in root.findall("question") if q.findtext("name/text") == "typed_star")
    assert {"radial a\\*", "a & b"} <= {a.findtext("text") for a in typed.findall("answer")}


def test_exports_keep_apostrophes_and_ask_each_question_once(fixes, tmp_path, fixture_atlas):
    """Before: ``client&#x27;s`` in every HTML text, "What is the verdict?" twice in a press whose
    prompt asks it, and a two-part press card showing its prompt twice."""
    import xml.etree.ElementTree as ET

    export([fixes], fixture_atlas, "moodle", tmp_path / "fixes.xml", pictures=False)
    export([fixes], fixture_atlas, "gift", tmp_path / "fixes.gift")
    export([fixes], fixture_atlas, "anki", tmp_path / "fixes.apkg", pictures=False)
    root = ET.parse(tmp_path / "fixes.xml").getroot()
    texts = {q.findtext("name/text"): q.findtext("questiontext/text") for q in root.findall("question")}
    assert "client's radial pulse" in texts["press_two.verdict"]
    options = {a.findtext("text") for q in root.findall("question") for a in q.findall("answer")}
    assert "Don't press" in options
    xml_text = (tmp_path / "fixes.xml").read_text(encoding="utf-8")
    gift_text = (tmp_path / "fixes.gift").read_text(encoding="utf-8")
    pkg = read_apkg(tmp_path / "fixes.apkg", tmp_path)
    anki_text = " ".join(n[2] for n in pkg["notes"])
    for name, body in (("moodle", xml_text), ("gift", gift_text), ("anki", anki_text)):
        assert "&#x27;" not in body and "&#39;" not in body and "&quot;" not in body, name
    assert "It's the radial artery." in anki_text and "Don't press" in anki_text
    assert texts["press_asks"].lower().count("what is the verdict?") == 1
    gift = {q["name"]: q for q in parse_gift(gift_text)}
    assert gift["press_asks"]["text"].lower().count("what is the verdict?") == 1
    notes = {n[2].split("\x1f")[0]: n[2].split("\x1f") for n in pkg["notes"]}
    front = notes["press_two"][3]
    assert front.count("A firm press at the client's radial pulse point.") == 1
    assert "Part 1: what is the verdict?" in front and "Part 2: select every structure at risk." in front
    assert notes["press_asks"][3].lower().count("what is the verdict?") == 1


def test_landmark_names_keep_their_apostrophes(atlas):
    """Before: "at the guyons canal landmark" in the exported prompts."""
    from handatlas.quiz.export.geometry import landmark_name, landmark_phrase, possessives

    assert landmark_name(atlas, "guyons_canal") == "Guyon's canal"
    assert landmark_phrase(atlas, "guyons_canal") == "Guyon's canal"  # in a sentence: still capital
    assert landmark_phrase(atlas, "radial_pulse") == "radial pulse"
    assert landmark_name(atlas, "thenar_eminence") == "Thenar eminence"  # no "eminence's"
    assert set(possessives(atlas)) == {"guyons", "kaplans"}


def test_anki_order_items_are_never_shown_in_the_right_order(tmp_path, atlas, fixture_atlas, fixes):
    """Before: 1 of the bank's 16 order notes showed its items in the right order (a seeded shuffle
    can give the order back); now none does."""
    from handatlas.quiz.export.anki import shown_order
    from handatlas.quiz.export.items import export_quiz

    checked = 0
    for path in [*quiz_paths([default_quiz_dir()]), fixes]:
        for e in export_quiz(load_quiz(path), fixture_atlas if path == fixes else atlas).questions:
            for item in e.items:
                if item.kind == "matching":
                    right = [a for _, a in item.pairs]
                    shown = shown_order(item, e)
                    assert sorted(shown) == sorted(right) and shown != right, e.id
                    assert shown == shown_order(item, e)  # reproducible
                    checked += 1
    assert checked >= 10


def target_pixels(png: bytes) -> int:
    """Pixels of a picture in the target's colours: the magenta highlight or the blue marker."""
    import io

    import numpy as np
    from PIL import Image

    hsv = np.asarray(Image.open(io.BytesIO(png)).convert("HSV")).astype(int)
    return int(((hsv[..., 1] > 90) & (hsv[..., 2] > 60)).sum())


def test_pictures_show_a_small_target_large_enough(atlas):
    """A thin nerve branch (median_recurrent_branch, about 2 mm thick) and a landmark's 4.5 mm
    marker on the shipped atlas.  Before (whole hand framed in 480 x 600, the nerve in its pale
    atlas colour): 15 and 94 target pixels.  Now framed on the place: hundreds and thousands."""
    from handatlas.quiz.export.geometry import Geometry, view_facing
    from handatlas.quiz.export.items import POINT_MARKER_MM, Picture
    from handatlas.quiz.export.pictures import PictureCache

    geometry = Geometry(atlas)
    cache = PictureCache()
    sid = "median_recurrent_branch"
    nerve = Picture(view_facing(geometry.skin_normal(geometry.centroid(sid))), highlight=(sid,),
                    skin_opacity=0.2)
    lm = atlas.landmark("first_web_space_apex")
    marker = Picture(view_facing(geometry.skin_normal(lm.point)), layers=("skeleton", "skin"),
                     marker=tuple(float(v) for v in lm.point), marker_radius=POINT_MARKER_MM,
                     skin_opacity=0.35)
    try:
        nerve_px, marker_px = target_pixels(cache.png(atlas, nerve)), target_pixels(cache.png(atlas, marker))
    finally:
        cache.release()
    print(f"target pixels: {sid} {nerve_px}, marker {marker_px}")
    assert nerve_px >= 200 and marker_px >= 1200
    assert png_size(cache.png(atlas, nerve)) == SIZE


def test_the_real_anki_importer_reads_the_package(small, tmp_path, fixture_atlas, cache):
    """Anki's own importer (the ``anki`` package) imports the .apkg: decks, notes, tags, media."""
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    out = tmp_path / "small.apkg"
    export([small], fixture_atlas, "anki", out, cache=cache)
    (tmp_path / "profile").mkdir()
    col = Collection(str(tmp_path / "profile" / "collection.anki2"))
    try:
        col.import_anki_package(ImportAnkiPackageRequest(
            package_path=str(out), options=ImportAnkiPackageOptions(with_scheduling=False)))
        assert col.note_count() == 11 and col.card_count() == 11
        assert "handatlas::Small export test" in [d.name for d in col.decks.all_names_and_ids()]
        notes = {col.get_note(nid)["Id"]: col.get_note(nid) for nid in col.find_notes("")}
        assert set(notes) == {name.split(".")[0] for name in SMALL_ITEMS}
        press = notes["press_both"]
        assert press.tags == ["difficulty::3", "domain::areas_of_caution", "topic::radial_artery"]
        assert press.note_type()["name"] == "handatlas quiz question"
        media = Path(col.media.dir())
        for qid in SPATIAL:
            picture = media / picture_file("small_export", qid)
            assert png_size(picture.read_bytes()) == SIZE
            assert f'<img src="{picture.name}">' in notes[qid]["Front"]
        card = notes["order_long"].cards()[0]
        question, answer = card.question(), card.answer()
        assert "Put in order" in question and "<li>Greet</li>" in answer
        assert col.find_notes("tag:topic::median_nerve") == [notes["loc_nerve"].id]
    finally:
        col.close()
