"""Answer keys computed from the atlas, never typed in a quiz file.

- ``locate``: the target's surfaces (every mesh at or below a structure) or a landmark's point.
- ``identify``: the structure's id, its accepted names, and the names of every other structure
  (so that a typo closer to another structure is not accepted).
- ``press``: the verdict and the ids at risk from :meth:`handatlas.Atlas.press`.
- ``territory``: :meth:`handatlas.Atlas.territory_at` in the question's variant (and the others).
- ``choice`` and ``order``: taken from the file (no atlas needed).

:func:`compute_key` raises :class:`KeyProblem` (naming the field) when a key cannot be computed;
:mod:`handatlas.quiz.checking` reports it with the file's line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from handatlas.names import landmark_phrase
from handatlas.quiz import schema

if TYPE_CHECKING:
    import trimesh

    from handatlas.atlas import Atlas


class KeyProblem(ValueError):
    """A key that cannot be computed: ``field`` names the question's field at fault."""

    def __init__(self, field_path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field_path = field_path
        self.message = message


@dataclass(frozen=True)
class LocateKey:
    """Where a locate click must land: a landmark ``point`` or the ``surfaces`` of a structure."""

    target: str
    name: str
    kind: str  # "structure" | "landmark"
    tolerance_mm: float
    point: np.ndarray | None = None
    surfaces: tuple[trimesh.Trimesh, ...] = field(default=(), repr=False)


@dataclass(frozen=True)
class IdentifyKey:
    """The structure to name: accepted (normalised) names and, for typed answers, the others."""

    target: str
    name: str
    accepted: tuple[str, ...]
    others: dict[str, str] = field(default_factory=dict, repr=False)  # normalised alias -> name
    options: tuple[str, ...] | None = None  # structure ids, in the file's order
    option_texts: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PressKey:
    """The verdict and the structures at risk of a press, with their names.

    ``structure`` and ``depth_mm`` are the structure the verdict is about and its depth as the
    report quotes it (:attr:`handatlas.lookup.press.PressReport.focus`), or ``None`` when no
    nerve or vessel is within reach: they fill a press explanation's template
    (:mod:`handatlas.quiz.explanations`).
    """

    verdict: str
    at_risk: tuple[str, ...]
    names: dict[str, str]
    ask: tuple[str, ...]
    grade: str
    point: np.ndarray
    message: str
    structure: str | None = None
    depth_mm: float | None = None


@dataclass(frozen=True)
class TerritoryKey:
    """The territory of a skin point in ``variant``; ``by_variant`` holds every variant's label."""

    territory: str
    variant: str
    by_variant: dict[str, str]


@dataclass(frozen=True)
class ChoiceKey:
    """The right option indices."""

    answers: frozenset[int]
    options: tuple[str, ...]
    multiple: bool


@dataclass(frozen=True)
class OrderKey:
    """The items in their correct order."""

    items: tuple[str, ...]


Key = LocateKey | IdentifyKey | PressKey | TerritoryKey | ChoiceKey | OrderKey


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped, other punctuation as spaces, a leading 'the' removed.

    Examples
    --------
    >>> normalise("  The Guyon's  canal!")
    'guyons canal'
    """
    text = re.sub(r"['’`]", "", text.casefold())
    text = " ".join(re.sub(r"[^\w]+|_", " ", text).split())
    return text.removeprefix("the ")


def suggest(atlas: Atlas, word: str, *, structures: bool = True, landmarks: bool = False) -> list[str]:
    """Up to three ids close to ``word`` (difflib over ids, names, acronyms and synonyms).

    Examples
    --------
    >>> suggest(atlas, "median nerv")  # doctest: +SKIP
    ['median_nerve']
    """
    candidates: dict[str, str] = {}
    if landmarks:
        candidates.update({normalise(lm): lm for lm in atlas.landmarks})
    if structures:
        for s in atlas.structures.values():
            for alias in (s.id, s.name, s.acronym, *s.synonyms):
                if alias:
                    candidates.setdefault(normalise(alias), s.id)
    out: list[str] = []
    for hit in difflib.get_close_matches(normalise(word), list(candidates), n=8, cutoff=0.6):
        if candidates[hit] not in out:
            out.append(candidates[hit])
    return out[:3]


def _unknown(atlas: Atlas, kind: str, word: str, field_path: tuple[str | int, ...], *,
             structures: bool, landmarks: bool) -> KeyProblem:
    hints = suggest(atlas, word, structures=structures, landmarks=landmarks)
    hint = f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""
    return KeyProblem(field_path, f"unknown {kind} {word!r}{hint}")


def _structure(atlas: Atlas, name: str, field_path: tuple[str | int, ...]) -> str:
    if name not in atlas:
        raise _unknown(atlas, "structure", name, field_path, structures=True, landmarks=False)
    return atlas.structure(name).id


def _point(atlas: Atlas, where: str | tuple[float, float, float]) -> np.ndarray:
    if isinstance(where, str):
        key = where.strip().lower()
        if key not in atlas.landmarks:
            raise _unknown(atlas, "landmark", where, ("where",), structures=False, landmarks=True)
        return atlas.landmarks[key].point.copy()
    return np.asarray(where, dtype=float)


def accepted_names(atlas: Atlas, structure_id: str, *, synonyms: bool = True,
                   extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The normalised names a typed answer may match (id, name, acronym, synonyms, extras)."""
    s = atlas.structures[structure_id]
    names = [s.name, *extra] + ([s.id, s.acronym, *s.synonyms] if synonyms else [])
    return tuple(dict.fromkeys(normalise(n) for n in names if n))


# ----------------------------------------------------------------------------- per type
def locate_key(question: schema.Locate, atlas: Atlas) -> LocateKey:
    """The key of a locate question (a landmark id wins over a structure of the same name)."""
    target = question.target.strip()
    if target.lower() in atlas.landmarks:
        lm = atlas.landmarks[target.lower()]
        return LocateKey(lm.id, landmark_phrase(atlas, lm.id), "landmark", question.tolerance_mm,
                         point=lm.point.copy())
    if target not in atlas:
        raise _unknown(atlas, "structure or landmark", target, ("target",), structures=True, landmarks=True)
    s = atlas.structure(target)
    ids = [i for i in atlas.with_geometry(s.id) if i != "skin" or s.id == "skin"]
    if not ids:
        msg = f"{s.id!r} has no geometry to click (a group with no meshes below it)"
        raise KeyProblem(("target",), msg)
    return LocateKey(s.id, s.name, "structure", question.tolerance_mm,
                     surfaces=tuple(atlas.mesh(i) for i in ids))


def identify_key(question: schema.Identify, atlas: Atlas) -> IdentifyKey:
    """The key of an identify question; the target must have geometry to highlight."""
    sid = _structure(atlas, question.target, ("target",))
    if not atlas.with_geometry(sid):
        raise KeyProblem(("target",), f"{sid!r} has no geometry to highlight")
    options = None
    if question.options is not None:
        options = tuple(_structure(atlas, o, ("options", i)) for i, o in enumerate(question.options))
    accepted = accepted_names(atlas, sid, synonyms=question.synonyms, extra=tuple(question.accept))
    others = {}
    for s in atlas.structures.values():
        if s.id != sid:
            for alias in (s.id, s.name, s.acronym, *s.synonyms):
                if alias and normalise(alias) not in accepted:
                    others.setdefault(normalise(alias), s.name)
    texts = tuple(question.options) if question.options is not None else None
    return IdentifyKey(sid, atlas.structures[sid].name, accepted, others, options, texts)


def press_key(question: schema.Press, atlas: Atlas) -> PressKey:
    """The key of a press question, from :meth:`handatlas.Atlas.press`."""
    where = question.where if isinstance(question.where, str) else list(question.where)
    if isinstance(where, str) and where.strip().lower() not in atlas.landmarks:
        raise _unknown(atlas, "landmark", where, ("where",), structures=False, landmarks=True)
    try:
        report = atlas.press(where, grade=question.grade, radius_mm=question.radius_mm)
    except ValueError as exc:
        raise KeyProblem(("where",), str(exc)) from None
    focus = report.focus
    structure = None if focus is None else focus[0][:1].lower() + focus[0][1:]
    depth = None if focus is None else round(focus[1], 1)
    return PressKey(report.verdict, tuple(r.id for r in report.at_risk),
                    {r.id: r.name for r in report.at_risk}, tuple(dict.fromkeys(question.ask)),
                    question.grade, report.point, report.message, structure, depth)


def territory_key(question: schema.Territory, atlas: Atlas) -> TerritoryKey:
    """The key of a territory question, in its variant (default: the atlas's default)."""
    info = atlas.manifest.territories
    variant = info.default if question.variant is None else question.variant
    if variant not in info.variants:
        close = difflib.get_close_matches(variant, list(info.variants), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(info.variants)})"
        raise KeyProblem(("variant",), f"unknown territory variant {variant!r}{hint}")
    point = _point(atlas, question.where)
    try:
        by_variant = {v: atlas.territory_at(point, variant=v) for v in info.variants}
    except ValueError as exc:
        raise KeyProblem(("where",), str(exc)) from None
    return TerritoryKey(by_variant[variant], variant, by_variant)


def compute_key(question: schema.Question, atlas: Atlas | None = None) -> Key:
    """The answer key of a question; spatial types need the atlas.

    Raises
    ------
    KeyProblem
        When the question names something the atlas lacks, or its key cannot be computed.

    Examples
    --------
    >>> from handatlas.quiz.schema import Press
    >>> q = Press(id="p", type="press", prompt="?", explanation="!", where="radial_pulse", grade="firm")
    >>> compute_key(q, atlas).verdict  # doctest: +SKIP
    'avoid'
    """
    if isinstance(question, schema.Choice):
        return ChoiceKey(frozenset(question.answers), tuple(question.options), question.multiple)
    if isinstance(question, schema.Order):
        return OrderKey(tuple(question.items))
    if atlas is None:
        msg = f"a {question.type} question needs the atlas to compute its key"
        raise TypeError(msg)
    if isinstance(question, schema.Locate):
        return locate_key(question, atlas)
    if isinstance(question, schema.Identify):
        return identify_key(question, atlas)
    if isinstance(question, schema.Press):
        return press_key(question, atlas)
    return territory_key(question, atlas)
