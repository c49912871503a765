"""The bank against the exam blueprint (FSMTB MBLEx content outline), and mock exams drawn from it.

Prints the bank's and a mock exam's counts and domain shares (``pytest -s`` shows them).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from handatlas.cli import main
from handatlas.quiz import check_files, default_quiz_dir, load_quiz, quiz_paths
from handatlas.quiz.blueprint import (
    DOMAINS,
    MAX_BANK_SHARE,
    MOCK_TOLERANCE_POINTS,
    WEIGHTS,
    BlueprintError,
    domain_counts,
    domain_of,
    domain_table,
    quotas,
    shares,
    tag_problems,
)
from handatlas.quiz.mock import mock_exam, mock_quiz_yaml
from handatlas.quiz.schema import Choice

#: The files of issue 12's stage 4: the mental-health half of the course and the rest of it.
NEW_FILES = (
    "psychophysiology_of_touch.yaml", "regulation_and_alliance.yaml", "trauma_informed_practice.yaml",
    "scope_ethics_and_referral.yaml", "contraindications_and_pathology.yaml",
    "outcomes_and_documentation.yaml", "technique_effects.yaml", "kinesiology_wrist_fingers.yaml",
)
NEW_MINIMUM = 150
#: The outline's published percentages (content areas in its order).
OUTLINE = {"anatomy_physiology": 11, "kinesiology": 12, "pathology": 14, "benefits_effects": 15,
           "client_assessment": 17, "ethics": 16, "professional_practice": 15}
GIVEAWAYS = re.compile(r"\b(all|none|both) of the above\b|\ball of these\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def bank():
    return [q for path in quiz_paths([default_quiz_dir()]) for q in load_quiz(path).questions]


@pytest.fixture(scope="module")
def new_items():
    folder = default_quiz_dir()
    return {name: load_quiz(folder / name).questions for name in NEW_FILES}


def test_the_blueprint_is_the_published_outline():
    assert {d.slug: round(d.weight * 100) for d in DOMAINS} == OUTLINE
    assert sum(OUTLINE.values()) == 100
    for count in (1, 7, 20, 60, 100, 137):
        q = quotas(count)
        assert sum(q.values()) == count
        assert all(abs(q[s] - count * w) < 1 for s, w in WEIGHTS.items()), (count, q)
    with pytest.raises(BlueprintError):
        quotas(0)


def test_every_item_has_a_topic_and_one_blueprint_domain(bank):
    assert tag_problems(bank) == []


def test_no_domain_holds_more_than_35_percent_of_the_bank(bank):
    counts = domain_counts(bank)
    print(f"\nThe bank: {len(bank)} questions in {len(quiz_paths([default_quiz_dir()]))} files\n"
          + domain_table(counts))
    assert max(shares(counts).values()) <= MAX_BANK_SHARE, counts
    # and every domain can fill a 100-item exam
    assert all(counts[s] >= q for s, q in quotas(100).items()), counts


def test_at_least_150_new_items(new_items):
    counts = {name: len(qs) for name, qs in new_items.items()}
    print("\nNew items per file: " + ", ".join(f"{n} {c}" for n, c in counts.items())
          + f"; total {sum(counts.values())}")
    print(domain_table(domain_counts([q for qs in new_items.values() for q in qs]), weights=False))
    assert sum(counts.values()) >= NEW_MINIMUM, counts


def test_new_items_are_fair(new_items):
    """Keys spread over the positions, the key not the longest option by habit, no giveaways."""
    items = [q for qs in new_items.values() for q in qs]
    assert all(len(q.explanation) >= 60 for q in items)
    single = [q for q in items if isinstance(q, Choice) and not q.multiple]
    positions = Counter(q.answer for q in single)
    four = [q for q in single if len(q.options) == 4]
    assert len(four) >= 60
    spread = Counter(q.answer for q in four)
    assert all(spread[i] >= 0.18 * len(four) for i in range(4)), spread
    assert positions[0] <= 0.35 * len(single), positions
    longest = [q.id for q in single if len(q.options[q.answer]) > max(
        len(o) for i, o in enumerate(q.options) if i != q.answer)]
    assert len(longest) <= 0.35 * len(single), (len(longest), len(single))
    multiple = [q for q in items if isinstance(q, Choice) and q.multiple]
    assert len(multiple) >= 15
    assert all(len(q.answers) < len(q.options) for q in multiple), "select-all must not score full marks"
    prefix = [q.id for q in multiple if list(q.answers) == list(range(len(q.answers)))]
    assert len(prefix) <= 0.25 * len(multiple), prefix  # "the first few options" is no strategy
    assert sum(len(q.answers) <= len(q.options) // 2 for q in multiple) >= 5  # nor "all but one"
    for q in items:
        texts = [q.prompt, *(getattr(q, "options", None) or [])]
        assert not any(GIVEAWAYS.search(t) for t in texts), q.id


def test_the_course_errors_are_corrected(new_items, bank):
    text = {q.id: " ".join([q.prompt, q.explanation, *(getattr(q, "options", None) or [])]).lower()
            for q in bank}
    # effleurage toward the heart, hormones with their evidence, trigger points of the finger flexors
    assert any("course" in t and "effleurage" in t and "toward the heart" in t for t in text.values())
    assert sum("evidence" in t and ("cortisol" in t or "oxytocin" in t) for t in text.values()) >= 4
    assert any("course" in t and "profundus" in t and "forearm" in t and "finger" in t
               for t in text.values())


def mock_shares(exam):
    return shares(domain_counts(exam))


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_a_mock_exam_follows_the_weights(bank, seed):
    exam = mock_exam(bank, count=60, seed=seed)
    assert len(exam) == 60 and len({q.id for q in exam}) == 60
    share = mock_shares(exam)
    if seed == 1:
        print("\nMock exam, 60 items, seed 1\n" + domain_table(domain_counts(exam)))
    for slug, weight in WEIGHTS.items():
        assert abs(share[slug] - weight) * 100 <= MOCK_TOLERANCE_POINTS, (slug, share[slug], weight)
    assert [q.id for q in mock_exam(bank, count=60, seed=seed)] == [q.id for q in exam]


def test_mock_exams_differ_by_seed_and_fail_clearly(bank):
    assert [q.id for q in mock_exam(bank, seed=1)] != [q.id for q in mock_exam(bank, seed=2)]
    for count in (20, 100):
        share = mock_shares(mock_exam(bank, count=count, seed=3))
        assert all(abs(share[s] - w) * 100 <= MOCK_TOLERANCE_POINTS for s, w in WEIGHTS.items())
    with pytest.raises(BlueprintError, match="fewer than"):
        mock_exam([q for q in bank if domain_of(q) != "ethics"][:80], count=60)
    with pytest.raises(BlueprintError, match="repeat"):
        mock_exam(bank + bank[:1])


def test_a_mock_exam_is_a_valid_quiz_file(bank, atlas, tmp_path, capsys):
    path = tmp_path / "mock.yaml"
    path.write_text(mock_quiz_yaml(mock_exam(bank, count=60, seed=5), seed=5))
    assert check_files([path], atlas) == []
    loaded = load_quiz(path)
    assert [q.id for q in loaded.questions] == [q.id for q in mock_exam(bank, count=60, seed=5)]
    assert loaded.questions == mock_exam(bank, count=60, seed=5)


def test_cli_draws_a_mock_exam(tmp_path, capsys):
    out = tmp_path / "mock.yaml"
    code = main(["quiz", "mock", "--count", "60", "--seed", "1", "-o", str(out)])
    printed, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert "60 of" in printed and "client_assessment" in printed
    assert len(load_quiz(out).questions) == 60
    assert main(["quiz", "mock", "--count", "0"]) == 2
    assert "--count must be at least 1" in capsys.readouterr().err
    assert main(["quiz", "mock", "--count", "100000"]) == 2
    assert "--count 100000 is more than the" in capsys.readouterr().err


def test_cli_mock_names_a_count_one_domain_cannot_fill(bank, tmp_path, capsys):
    few = [q for q in bank if domain_of(q) != "ethics"] + [q for q in bank if domain_of(q) == "ethics"][:2]
    source = tmp_path / "few.yaml"
    source.write_text(mock_quiz_yaml(few, seed=0))
    assert main(["quiz", "mock", str(source), "--count", "60"]) == 2
    err = capsys.readouterr().err
    assert "--count 60 is too many for this bank: domain:ethics has 2 questions" in err, err


@pytest.mark.parametrize("where", ["missing/mock.yaml", "folder", "/dev/null"])
def test_cli_mock_refuses_an_output_it_cannot_write(tmp_path, capsys, where):
    (tmp_path / "folder").mkdir()
    output = where if where.startswith("/") else str(tmp_path / where)
    assert main(["quiz", "mock", "--count", "10", "-o", output]) == 2
    out, err = capsys.readouterr()
    assert f"handatlas: error: cannot write {output}" in err and "Traceback" not in out + err, err
    assert (tmp_path / "folder").is_dir() and not (tmp_path / "missing").exists()
