"""Questions -> format-neutral export items, with keys computed from the atlas.

Every question becomes one :class:`Exported` holding one or two :class:`Item` (a press asking for
both the verdict and the structures at risk gives two), the picture to render, and a second set
of items for formats without pictures (GIFT).

Mappings
--------
choice
    Multiple choice; one right answer (100 %), or several: each right option ``100/n`` %, each
    wrong one ``-100/n`` % (Moodle floors the sum at 0), which is the core's
    ``(right - wrong) / n`` rule.
order
    Three or more items: a matching question, "Step 1" ... "Step n" -> item; each position earns
    ``1/n`` of the marks, like the partial credit of the core's Kendall tau, and it scales to any
    length (a multiple choice of whole sequences gives away the answer by elimination).  Two
    items: a multiple choice between the right sequence and the reversed one (matching needs
    three pairs in GIFT).
identify
    With ``options``: multiple choice.  Typed: short answer accepting the name, acronym,
    synonyms and ``accept`` spellings (and their forms without punctuation).
locate
    Multiple choice "which structure is highlighted?" (landmarks: "which landmark is marked?")
    among the nearest neighbouring structures (or landmarks).  Without a picture: "which of these
    lies nearest the landmark L?", whose distractors are all at least 5 mm farther from L.
press
    Verdict: multiple choice safe / caution / avoid.  At risk: multiple answers, the structures
    the atlas puts at risk against structures that are not at risk: those shielded by bone
    first, then the nearest nerves and vessels.
territory
    Multiple choice median / ulnar / radial nerve.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from handatlas.lookup.grades import GRADES, VERDICTS
from handatlas.quiz import schema
from handatlas.quiz.checking import HAND_TERRITORIES
from handatlas.quiz.explanations import explanation_text
from handatlas.quiz.export.geometry import (
    NEUROVASCULAR,
    Geometry,
    landmark_name,
    landmark_phrase,
    view_facing,
)
from handatlas.quiz.keys import IdentifyKey, LocateKey, PressKey, TerritoryKey, compute_key, normalise

if TYPE_CHECKING:
    from handatlas.atlas import Atlas
    from handatlas.quiz.loading import LoadedQuiz

#: Distractors of a locate question.
LOCATE_DISTRACTORS = 3
#: Landmarks closer than this to a landmark target are not offered as distractors (mm).
LANDMARK_APART_MM = 10.0
#: Text-only locate items: distractors lie at least this much farther from the cue landmark (mm).
CUE_MARGIN_MM = 5.0
#: At least this many options for "which structures are at risk".
AT_RISK_OPTIONS = 6
#: Marker sphere radius of a landmark or territory point (mm).
POINT_MARKER_MM = 4.5
#: How a press prompt refers to the picture's marker.
MARKED = "the blue dot marks the point."


@dataclass(frozen=True)
class Answer:
    """One option: ``fraction`` is the percentage of the marks it earns (-100 to 100)."""

    text: str
    fraction: float


@dataclass(frozen=True)
class Item:
    """One gradable item.

    Attributes
    ----------
    id : str
        The question id, with ``.verdict`` / ``.at_risk`` for the parts of a two-part press.
    kind : str
        ``multichoice``, ``shortanswer`` or ``matching``.
    prompt : str
        Plain text; paragraphs separated by blank lines.
    answers : tuple of Answer
        Options (multichoice) or accepted answers (shortanswer).
    pairs : tuple of (str, str)
        Matching pairs, in the right order.
    single : bool
        One answer to choose (multichoice).
    """

    id: str
    kind: str
    prompt: str
    answers: tuple[Answer, ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    single: bool = True

    @property
    def right(self) -> tuple[str, ...]:
        """The texts of the options that earn marks."""
        return tuple(a.text for a in self.answers if a.fraction > 0)


@dataclass(frozen=True)
class Picture:
    """What to render (hashable, so renders can be cached)."""

    view: str
    layers: tuple[str, ...] | None = None
    highlight: tuple[str, ...] = ()
    marker: tuple[float, float, float] | None = None
    marker_radius: float = POINT_MARKER_MM
    skin_opacity: float | None = None
    alt: str = ""


@dataclass(frozen=True)
class Exported:
    """One question ready for the writers."""

    quiz_id: str
    question: schema.Question
    items: tuple[Item, ...]
    text_items: tuple[Item, ...]
    picture: Picture | None
    no_picture_note: str = ""
    explanation: str = ""

    @property
    def id(self) -> str:
        """The question id."""
        return self.question.id

    @property
    def tags(self) -> tuple[str, ...]:
        """The question's tags and ``difficulty:<n>``."""
        return (*self.question.tags, f"difficulty:{self.question.difficulty}")


@dataclass(frozen=True)
class ExportQuiz:
    """A quiz ready for the writers."""

    id: str
    title: str
    description: str
    shuffle: bool
    questions: tuple[Exported, ...]


# ----------------------------------------------------------------------------- helpers
def seeded(*parts: str) -> random.Random:
    """A random generator seeded from text, so exports are reproducible."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def fractions(n_right: int) -> tuple[float, float]:
    """(right, wrong) percentages of a multiple-answer item with ``n_right`` right options."""
    share = round(100.0 / n_right, 5)
    return share, -share


def _multi(item_id: str, prompt: str, right: list[str], wrong: list[str], *, single: bool) -> Item:
    if single:
        answers = [Answer(t, 100.0 if t in right else 0.0) for t in (*right, *wrong)]
    else:
        good, bad = fractions(len(right))
        answers = [Answer(t, good) for t in right] + [Answer(t, bad) for t in wrong]
    return Item(item_id, "multichoice", prompt, tuple(answers), single=single)


def _sorted_options(item: Item) -> Item:
    """The same item with its options in alphabetical order (generated options carry no order)."""
    return Item(item.id, item.kind, item.prompt, tuple(sorted(item.answers, key=lambda a: a.text)),
                item.pairs, item.single)


def _paragraphs(*parts: str) -> str:
    return "\n\n".join(p.strip() for p in parts if p and p.strip())


def _ask(prompt: str, ask: str) -> str:
    """``ask`` after ``prompt``, unless the prompt already asks it (no question asked twice).

    Examples
    --------
    >>> _ask("A press at the pulse. What is the verdict?", "What is the verdict?")
    'A press at the pulse. What is the verdict?'
    """
    return prompt if normalise(ask) in normalise(prompt) else _paragraphs(prompt, ask)


def _where_text(atlas: Atlas, geometry: Geometry, where: str | tuple[float, float, float]) -> str:
    if isinstance(where, str):
        return f"the {landmark_phrase(atlas, where.strip().lower())} landmark"
    lid, _ = geometry.nearest_landmark(np.asarray(where))
    coords = ", ".join(f"{v:.0f}" for v in where)
    return f"the point ({coords}) mm, near the {landmark_phrase(atlas, lid)} landmark"


# ----------------------------------------------------------------------------- per type
def choice_items(q: schema.Choice) -> tuple[Item, ...]:
    """A choice question as one multiple choice."""
    right = [q.options[i] for i in q.answers]
    prompt = _paragraphs(q.scenario, q.prompt)
    if not q.multiple:
        answers = tuple(Answer(o, 100.0 if i in q.answers else 0.0) for i, o in enumerate(q.options))
        return (Item(q.id, "multichoice", prompt, answers),)
    good, bad = fractions(len(right))
    answers = tuple(Answer(o, good if i in q.answers else bad) for i, o in enumerate(q.options))
    prompt = _ask(prompt, "Select every right answer.")
    return (Item(q.id, "multichoice", prompt, answers, single=False),)


def order_items(q: schema.Order) -> tuple[Item, ...]:
    """An order question as matching (3+ items) or a choice between two sequences."""
    if len(q.items) >= 3:
        pairs = tuple((f"Step {i + 1}", text) for i, text in enumerate(q.items))
        return (Item(q.id, "matching", _ask(q.prompt, "Match each step to its item."), pairs=pairs),)
    right = " → ".join(q.items)
    wrong = " → ".join(reversed(q.items))
    return (_multi(q.id, q.prompt, [right], [wrong], single=True),)


def typed_answers(atlas: Atlas, q: schema.Identify, key: IdentifyKey) -> tuple[str, ...]:
    """Accepted spellings: name, ``accept``, acronym and synonyms, then their normalised forms."""
    s = atlas.structures[key.target]
    names = [s.name, *q.accept] + ([s.acronym, *s.synonyms] if q.synonyms else [])
    names += [normalise(n) for n in names]
    out: dict[str, str] = {}
    for name in names:
        if name and name.strip():
            out.setdefault(name.strip().casefold(), name.strip())
    return tuple(out.values())


def _structure_picture(geometry: Geometry, sid: str, alt: str) -> Picture:
    normal = geometry.skin_normal(geometry.centroid(sid))
    return Picture(view_facing(normal), highlight=tuple(geometry.atlas.with_geometry(sid)),
                   skin_opacity=0.2, alt=alt)


def _point_picture(geometry: Geometry, point: np.ndarray, *, layers: tuple[str, ...] | None,
                   radius: float, alt: str, skin_opacity: float | None = None) -> Picture:
    marker = tuple(round(float(v), 3) for v in point)
    return Picture(view_facing(geometry.skin_normal(point)), layers=layers, marker=marker,
                   marker_radius=radius, skin_opacity=skin_opacity, alt=alt)


def _nearest_hint(atlas: Atlas, geometry: Geometry, points: np.ndarray, *,
                  exclude: tuple[str, ...] = ()) -> str:
    lid, _ = geometry.nearest_landmark(points, exclude=exclude)
    lm = atlas.landmarks[lid]
    desc = f" ({lm.description})" if lm.description else ""
    return f"the {landmark_phrase(atlas, lid)} landmark{desc}"


def identify_export(q: schema.Identify, key: IdentifyKey, atlas: Atlas, geometry: Geometry
                    ) -> tuple[tuple[Item, ...], tuple[Item, ...], Picture]:
    """Identify: options -> multiple choice, typed -> short answer; a hint replaces the picture."""
    if key.options is not None and key.option_texts is not None:
        # the atlas's names: authors may write an option as an id, an acronym or a synonym
        answers = tuple(Answer(atlas.structures[sid].name, 100.0 if sid == key.target else 0.0)
                        for sid in key.options)
        item = Item(q.id, "multichoice", q.prompt, answers)
    else:
        answers = tuple(Answer(t, 100.0) for t in typed_answers(atlas, q, key))
        item = Item(q.id, "shortanswer", q.prompt, answers)
    hint = _nearest_hint(atlas, geometry, geometry.points(key.target))
    text = Item(item.id, item.kind, _paragraphs(q.prompt, f"(No picture here: the structure lies "
                                                         f"nearest {hint}.)"), item.answers)
    picture = _structure_picture(geometry, key.target, "the structure to name, highlighted")
    return (item,), (text,), picture


def _locate_candidates(key: LocateKey, atlas: Atlas, geometry: Geometry) -> list[tuple[str, str, float]]:
    """(id, name, distance to the target) of every other structure or landmark, nearest first."""
    if key.kind == "landmark":
        out = [(lid, landmark_name(atlas, lid), float(np.linalg.norm(lm.point - key.point)))
               for lid, lm in atlas.landmarks.items() if lid != key.target]
        out = [c for c in out if c[2] >= max(LANDMARK_APART_MM, key.tolerance_mm)]
    else:
        target = atlas.structures[key.target]
        pts = geometry.points(key.target)
        out = []
        for sid in geometry.structure_ids:
            if any(geometry.related(sid, t) for t in atlas.with_geometry(key.target)) or geometry.related(
                    sid, key.target):
                continue
            s = atlas.structures[sid]
            penalty = 0.0 if s.tissue == target.tissue else 10.0
            out.append((sid, s.name, geometry.distance(sid, pts) + penalty))
    names: set[str] = set()
    unique = []
    for c in sorted(out, key=lambda c: (c[2], c[0])):
        if normalise(c[1]) not in names and normalise(c[1]) != normalise(key.name):
            names.add(normalise(c[1]))
            unique.append(c)
    return unique


def _locate_name(key: LocateKey, atlas: Atlas) -> str:
    return landmark_name(atlas, key.target) if key.kind == "landmark" else key.name


def _place_points(key: LocateKey, atlas: Atlas, geometry: Geometry, cid: str) -> np.ndarray:
    if key.kind == "landmark":
        return atlas.landmarks[cid].point[None, :]
    return geometry.points(cid)


def locate_export(q: schema.Locate, key: LocateKey, atlas: Atlas, geometry: Geometry
                  ) -> tuple[tuple[Item, ...], tuple[Item, ...], Picture]:
    """Locate as "which is highlighted?" (picture) and "which lies nearest landmark L?" (text)."""
    candidates = _locate_candidates(key, atlas, geometry)
    name = _locate_name(key, atlas)
    what = "landmark is marked by the blue dot" if key.kind == "landmark" else "structure is highlighted"
    wrong = [c[1] for c in candidates[:LOCATE_DISTRACTORS]]
    item = _sorted_options(_multi(q.id, f"Which {what} in the picture?", [name], wrong, single=True))
    # text: a cue landmark near the target; distractors clearly farther from it
    target_pts = _place_points(key, atlas, geometry, key.target)
    exclude = (key.target,) if key.kind == "landmark" else ()
    cue, cue_d = geometry.nearest_landmark(target_pts, exclude=exclude)
    cue_pt = atlas.landmarks[cue].point[None, :]
    far = [c[1] for c in candidates
           if np.min(np.linalg.norm(_place_points(key, atlas, geometry, c[0]) - cue_pt, axis=1))
           >= cue_d + CUE_MARGIN_MM][:LOCATE_DISTRACTORS]
    kind = "landmark" if key.kind == "landmark" else "structure"
    hint = _nearest_hint(atlas, geometry, target_pts, exclude=exclude)
    text = _sorted_options(_multi(q.id, f"Where is it? Which {kind} lies nearest {hint}?", [name], far,
                                  single=True))
    if key.kind == "landmark":
        picture = _point_picture(geometry, key.point, layers=("skeleton", "skin"), radius=POINT_MARKER_MM,
                                 alt="a landmark marked by a blue dot", skin_opacity=0.35)
    else:
        picture = _structure_picture(geometry, key.target, "a highlighted structure")
    return (item,), (text,), picture


def _at_risk_distractors(key: PressKey, report_shielded: tuple[str, ...], atlas: Atlas,
                         geometry: Geometry) -> list[str]:
    """Structures not at risk: shielded ones, then the nearest nerves and vessels, then others."""
    def eligible(sid: str) -> bool:
        return not any(geometry.related(sid, r) for r in key.at_risk)

    ranked = [(0, 0.0, sid) for sid in report_shielded if eligible(sid)]
    for sid in geometry.structure_ids:
        if eligible(sid) and sid not in report_shielded:
            tier = 1 if atlas.structures[sid].tissue in NEUROVASCULAR else 2
            ranked.append((tier, geometry.distance(sid, key.point), sid))
    n = max(3, AT_RISK_OPTIONS - len(key.at_risk))
    names = {normalise(atlas.structures[r].name) for r in key.at_risk}
    out: list[str] = []
    for _, _, sid in sorted(ranked):
        name = atlas.structures[sid].name
        if normalise(name) not in names:
            names.add(normalise(name))
            out.append(name)
        if len(out) == n:
            break
    return out


def press_export(q: schema.Press, key: PressKey, atlas: Atlas, geometry: Geometry
                 ) -> tuple[tuple[Item, ...], tuple[Item, ...], Picture]:
    """Press: the verdict (single) and/or the structures at risk (multiple), one item each."""
    where = _where_text(atlas, geometry, q.where)
    setting = (f"Press: {q.grade} ({GRADES[q.grade]:g} N), {q.radius_mm:g} mm pad, at {where}; "
               f"{MARKED}")
    two = len(key.ask) == 2
    items = []
    if "verdict" in key.ask:
        wrong = [v.capitalize() for v in VERDICTS if v != key.verdict]
        ask = "Part 1: what is the verdict?" if two else "What is the verdict?"
        items.append(_multi(f"{q.id}.verdict" if two else q.id, _ask(_paragraphs(q.prompt, setting), ask),
                            [key.verdict.capitalize()], wrong, single=True))
    if "at_risk" in key.ask:
        shielded = tuple(r.id for r in atlas.press(
            q.where if isinstance(q.where, str) else list(q.where), grade=q.grade,
            radius_mm=q.radius_mm).shielded)
        right = [atlas.structures[r].name for r in key.at_risk]
        wrong = _at_risk_distractors(key, shielded, atlas, geometry)
        ask = "Part 2: select every structure at risk." if two else "Select every structure at risk."
        items.append(_sorted_options(_multi(f"{q.id}.at_risk" if two else q.id,
                                            _ask(_paragraphs(q.prompt, setting), ask), right, wrong,
                                            single=False)))
    text_items = tuple(Item(i.id, i.kind, i.prompt.replace(f"; {MARKED}", "."),
                            i.answers, i.pairs, i.single) for i in items)
    picture = _point_picture(geometry, key.point, layers=None, radius=POINT_MARKER_MM,
                             alt="the press point, a blue dot", skin_opacity=0.3)
    return tuple(items), text_items, picture


def territory_export(q: schema.Territory, key: TerritoryKey, atlas: Atlas, geometry: Geometry
                     ) -> tuple[tuple[Item, ...], tuple[Item, ...], Picture]:
    """Territory: median / ulnar / radial nerve."""
    notes = atlas.manifest.territories.notes
    variant = f"Assume this territory map: {notes.get(key.variant, key.variant)}" if q.variant else ""
    options = [f"{t.capitalize()} nerve" for t in HAND_TERRITORIES]
    right = [f"{key.territory.capitalize()} nerve"]
    item = _multi(q.id, _paragraphs(q.prompt, variant), right, [o for o in options if o not in right],
                  single=True)
    in_order = tuple(sorted(item.answers, key=lambda a: options.index(a.text)))
    item = Item(item.id, item.kind, item.prompt, in_order)
    where = _where_text(atlas, geometry, q.where)
    text = Item(item.id, item.kind, _paragraphs(item.prompt, f"(The point: {where}.)"), item.answers)
    where_id = q.where.strip().lower() if isinstance(q.where, str) else None
    point = atlas.landmarks[where_id].point if where_id else np.asarray(q.where, dtype=float)
    picture = _point_picture(geometry, point, layers=("skin",), radius=POINT_MARKER_MM,
                             alt="a skin point marked by a blue dot")
    return (item,), (text,), picture


# ----------------------------------------------------------------------------- public
def export_question(quiz_id: str, q: schema.Question, atlas: Atlas, geometry: Geometry) -> Exported:
    """One question as export items (keys computed from the atlas).

    Raises
    ------
    handatlas.quiz.keys.KeyProblem
        When the key cannot be computed (a quiz that does not pass ``handatlas quiz check``).
    """
    if isinstance(q, schema.Choice | schema.Order):
        items = choice_items(q) if isinstance(q, schema.Choice) else order_items(q)
        items = tuple(shuffled_options(quiz_id, item) for item in items)
        return Exported(quiz_id, q, items, items, None, explanation=explanation_text(q, None))
    key = compute_key(q, atlas)
    builders = {"identify": identify_export, "locate": locate_export, "press": press_export,
                "territory": territory_export}
    items, text_items, picture = builders[q.type](q, key, atlas, geometry)
    items = tuple(shuffled_options(quiz_id, item) for item in items)
    text_items = tuple(shuffled_options(quiz_id, item) for item in text_items)
    note = "no picture: GIFT cannot embed images (the Moodle XML and Anki exports carry the rendered picture)"
    return Exported(quiz_id, q, items, text_items, picture, note, explanation_text(q, key))


def shuffled_options(quiz_id: str, item: Item) -> Item:
    """A multiple-choice item with its options in a seeded random order (reproducible from the
    quiz and item ids): the file lists the right option first more often than not, and a format
    without shuffling (GIFT read as is, Anki) would show it there.  Other items are returned as
    they are."""
    if item.kind != "multichoice":
        return item
    answers = list(item.answers)
    seeded(quiz_id, item.id, "options").shuffle(answers)
    return Item(item.id, item.kind, item.prompt, tuple(answers), item.pairs, item.single)


def export_quiz(quiz: LoadedQuiz, atlas: Atlas, *, geometry: Geometry | None = None) -> ExportQuiz:
    """A loaded quiz as export items.

    Examples
    --------
    >>> from handatlas.quiz import default_quiz_dir, load_quiz
    >>> q = export_quiz(load_quiz(default_quiz_dir() / "hand_anatomy.yaml"), atlas)  # doctest: +SKIP
    >>> q.questions[0].items[0].kind  # doctest: +SKIP
    'shortanswer'
    """
    geometry = geometry or Geometry(atlas)
    header = quiz.model.quiz
    questions = tuple(export_question(header.id, q, atlas, geometry) for q in quiz.questions)
    return ExportQuiz(header.id, header.title, header.description, header.shuffle, questions)
