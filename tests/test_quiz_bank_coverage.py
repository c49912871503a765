"""The shipped quiz bank covers what issue 4 asks of it: counts, spatial types, every nerve and
artery, every named landmark, the territories, every structure group and the course content.

Ids are taken from ANATOMY.md (the content contract), so a renamed or dropped id fails here
rather than silently shrinking the coverage.  A structure counts as covered when it is the
``target`` of a locate or identify question, an option of an identify question, a structure at
risk in the computed key of a press question that asks for them, or is named (by its full atlas
name) in the options or items of a choice or order question.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest

from handatlas.quiz import compute_key, default_quiz_dir, load_quiz, quiz_paths
from handatlas.quiz.blueprint import WEIGHTS
from handatlas.quiz.keys import normalise
from handatlas.quiz.schema import Choice, Identify, Locate, Order, Press, Territory

DIGITS = ("thumb", "index", "middle", "ring", "little")
SIDES = ("radial", "ulnar")
NERVES = (
    "median_nerve", "median_recurrent_branch", "median_palmar_cutaneous_branch",
    *(f"common_palmar_digital_nerve_{n}" for n in range(1, 5)),
    "ulnar_nerve", "ulnar_nerve_superficial_branch", "ulnar_nerve_deep_branch",
    "ulnar_nerve_dorsal_branch", "radial_nerve_superficial_branch",
    *(f"digital_nerve_{d}_{s}" for d in DIGITS for s in SIDES),
)
ARTERIES = (
    "radial_artery", "ulnar_artery", "superficial_palmar_arch", "deep_palmar_arch",
    *(f"common_palmar_digital_artery_{n}" for n in range(2, 5)),
    *(f"digital_artery_{d}_{s}" for d in DIGITS for s in SIDES),
)
NAMED_LANDMARKS = (
    "anatomical_snuffbox", "radial_pulse", "carpal_tunnel", "guyons_canal", "pisiform",
    "hook_of_hamate", "radial_styloid", "ulnar_styloid", "thenar_eminence", "hypothenar_eminence",
    "palm_center", "first_web_space_palmar", "first_web_space_dorsal", "dorsum_center",
    "distal_wrist_crease", "volar_forearm_mid", "dorsal_forearm_mid",
    # the web spaces the atlas adds to ANATOMY.md's list
    "first_web_space_apex", "second_web_space", "third_web_space", "fourth_web_space",
)
#: Structure groups of ANATOMY.md -> the atlas group whose members count for it.
GROUPS = {
    "bones": "bones", "fascia and retinacula": "fascia_and_retinacula", "thenar": "thenar_group",
    "adductor": "adductor_compartment", "hypothenar": "hypothenar_group",
    "interossei": "interossei", "lumbricals": "lumbricals", "tendons": "tendons",
    "nerves": "nerves", "arteries": "arteries", "veins": "veins",
}
#: Course content of ANATOMY.md -> the topic tag its questions carry.
COURSE_TOPICS = (
    "effleurage", "petrissage", "myofascial_release", "trigger_points", "lymphatic_drainage",
    "proprioception", "neurovascular_bundle", "dupuytren", "thenar", "hypothenar", "interossei",
    "territories", "cutaneous_innervation", "contraindications", "pressure_grading",
    "sequencing", "consent", "trauma_informed", "documentation", "skin",
)
DOMAINS = tuple(WEIGHTS)  # the blueprint's (FSMTB MBLEx) content areas
CONTRAINDICATIONS = ("infection", "fracture", "neuropathy", "hypertension", "skin lesion", "sprain")
ROUTINE = ("effleurage", "petrissage", "myofascial", "trigger point", "lymphatic")
SPATIAL_MINIMUM = 20


@dataclass
class Coverage:
    """What a list of questions covers, with the atlas's keys computed."""

    structures: set[str] = field(default_factory=set)
    landmarks: set[str] = field(default_factory=set)
    territories: Counter = field(default_factory=Counter)
    spatial: Counter = field(default_factory=Counter)


def text_of(q) -> str:
    """Every learner-facing text of a question, normalised (lower case, no punctuation)."""
    parts = [q.prompt, q.explanation, getattr(q, "scenario", "")]
    parts += list(getattr(q, "options", None) or []) + list(getattr(q, "items", None) or [])
    return " " + normalise(" ".join(parts)) + " "


def coverage(questions, atlas) -> Coverage:
    names = {normalise(s.name): s.id for s in atlas.structures.values() if s.tissue}
    out = Coverage()
    for q in questions:
        if isinstance(q, (Press, Territory)) and isinstance(q.where, str):
            out.landmarks.add(q.where.strip().lower())
        if isinstance(q, Locate):
            if q.target.strip().lower() in atlas.landmarks:
                out.landmarks.add(q.target.strip().lower())
            else:
                out.structures.add(atlas.structure(q.target).id)
            out.spatial["locate"] += 1
        elif isinstance(q, Identify):
            out.structures.add(atlas.structure(q.target).id)
            out.structures.update(atlas.structure(o).id for o in q.options or ())
            out.spatial["identify"] += 1
        elif isinstance(q, Press):
            key = compute_key(q, atlas)
            if "at_risk" in q.ask:
                out.structures.update(key.at_risk)
            out.spatial["press"] += 1
        elif isinstance(q, Territory):
            out.territories[compute_key(q, atlas).territory] += 1
            out.spatial["territory"] += 1
        elif isinstance(q, (Choice, Order)):
            for text in (q.options if isinstance(q, Choice) else q.items):
                padded = f" {normalise(text)} "
                out.structures.update(sid for name, sid in names.items() if f" {name} " in padded)
    return out


@pytest.fixture(scope="module")
def bank():
    questions = [q for path in quiz_paths([default_quiz_dir()]) for q in load_quiz(path).questions]
    assert questions, f"no quiz questions found in {default_quiz_dir()}"
    return questions


@pytest.fixture(scope="module")
def covered(bank, atlas):
    return coverage(bank, atlas)


def test_the_bank_is_large_enough(bank):
    assert len(bank) >= 150, len(bank)
    assert len({q.id for q in bank}) == len(bank), "question ids must be unique across the bank"
    assert len(quiz_paths([default_quiz_dir()])) >= 6, "several files, one quiz each"


def test_each_spatial_type_has_enough_questions(covered):
    for kind in ("locate", "identify", "press", "territory"):
        assert covered.spatial[kind] >= SPATIAL_MINIMUM, (kind, covered.spatial)


def test_every_nerve_and_artery_is_covered(covered, atlas):
    for sid in NERVES + ARTERIES:
        assert sid in atlas.structures and atlas.structures[sid].risk == "high", sid
    assert sorted(set(NERVES) - covered.structures) == []
    assert sorted(set(ARTERIES) - covered.structures) == []


def test_every_named_landmark_is_a_target_or_a_press_point(covered, atlas):
    assert set(NAMED_LANDMARKS) <= set(atlas.landmarks)
    assert sorted(set(NAMED_LANDMARKS) - covered.landmarks) == []
    # plus a good share of the digit grid
    assert len(covered.landmarks - set(NAMED_LANDMARKS)) >= 30, sorted(covered.landmarks)


def test_every_structure_group_is_covered(covered, atlas):
    for label, group in GROUPS.items():
        members = {group, *atlas.descendants(group)}
        assert members & covered.structures, f"no question covers the {label} ({group})"


def test_the_territories_are_all_asked(covered):
    for nerve in ("median", "ulnar", "radial"):
        assert covered.territories[nerve] >= 5, covered.territories


def test_press_questions_span_the_verdicts_and_grades(bank, atlas):
    presses = [q for q in bank if isinstance(q, Press)]
    verdicts = Counter(compute_key(q, atlas).verdict for q in presses)
    grades = Counter(q.grade for q in presses)
    assert all(verdicts[v] >= 2 for v in ("safe", "caution", "avoid")), verdicts
    assert all(grades[g] >= 3 for g in ("light", "moderate", "firm")), grades
    assert sum("at_risk" in q.ask for q in presses) >= 10


def test_tags_cover_domains_topics_and_difficulty(bank):
    tags = Counter(t for q in bank for t in set(q.tags))
    for q in bank:
        assert any(t.startswith("domain:") for t in q.tags), q.id
        assert any(t.startswith("topic:") for t in q.tags), q.id
    for domain in DOMAINS:
        assert tags[f"domain:{domain}"] >= 8, (domain, tags[f"domain:{domain}"])
    for topic in COURSE_TOPICS:
        assert tags[f"topic:{topic}"] >= 2, (topic, tags[f"topic:{topic}"])
    levels = Counter(q.difficulty for q in bank)
    assert all(levels[d] >= 2 for d in range(1, 6)), levels


def test_certification_style_scenarios(bank):
    scenarios = [q for q in bank if isinstance(q, Choice) and q.scenario.strip()]
    assert len(scenarios) >= 20, len(scenarios)
    assert {d for q in scenarios for d in q.tags} >= {"domain:client_assessment", "domain:ethics",
                                                      "domain:pathology"}


def test_course_content_is_taught(bank):
    tagged = {t: [q for q in bank if f"topic:{t}" in q.tags] for t in COURSE_TOPICS}
    contra = " ".join(text_of(q) for q in tagged["contraindications"])
    for word in CONTRAINDICATIONS:
        assert re.search(rf"\b{word}", contra), f"contraindications never mention {word!r}"
    assert "clear" in contra and "sprain" in contra  # deep work after a sprain only when cleared
    # the routine, in the course's order, as an order question
    routines = [q for q in bank if isinstance(q, Order)
                and all(any(step in normalise(item) for item in q.items) for step in ROUTINE)]
    assert routines, "no order question on the technique sequence"
    for q in routines:
        position = [next(i for i, item in enumerate(q.items) if step in normalise(item)) for step in ROUTINE]
        assert position == sorted(position), (q.id, q.items)
    # trigger points: the Travell & Simons map, into the fingers, and why the course text differs
    tp = [text_of(q) for q in tagged["trigger_points"]]
    assert any("travell" in t and "finger" in t and "forearm" in t for t in tp)
    assert any(" lymph" in text_of(q) and "axilla" in text_of(q) for q in tagged["lymphatic_drainage"])
    touch = " ".join(text_of(q) for q in tagged["proprioception"])
    assert "meissner" in touch and "pacinian" in touch
    interossei = " ".join(text_of(q) for q in tagged["interossei"])
    assert "abduct" in interossei and "adduct" in interossei
    assert any("soap" in text_of(q) for q in tagged["documentation"])
    assert any("pressure" in text_of(q) and "start" in text_of(q) for q in tagged["pressure_grading"])


def test_the_coverage_check_can_fail(bank, atlas):
    """Dropping every question that covers one nerve makes the nerve check fail."""
    def covers(q):
        return coverage([q], atlas).structures & {"median_recurrent_branch"}

    reduced = coverage([q for q in bank if not covers(q)], atlas)
    assert "median_recurrent_branch" not in reduced.structures
    assert "median_recurrent_branch" in coverage(bank, atlas).structures
