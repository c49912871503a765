"""Search over structures, groups (regions) and landmarks by name, acronym or synonym, forgiving typos.

Used by the web app's search box and by the command line's ``info`` and ``press``.
:func:`search_index` lists what can be found, each under its display name (never an internal
id; a landmark's is :func:`handatlas.names.landmark_name`); :func:`suggest` ranks them for what
the learner has typed so far: whole names first, then names that start with the text, words that
start with it, names that contain it, and last near misses (``"median nrve"``); :func:`find`
takes the one thing a typed name means, or says what it might have meant.

Examples
--------
>>> from handatlas import load_atlas
>>> [s.entry.name for s in suggest(search_index(load_atlas()), "snuffbox")][:1]  # doctest: +SKIP
['Anatomical snuffbox']
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from handatlas.atlas import Atlas, UnknownNameError
from handatlas.names import LANDMARK_NAMES, landmark_name

__all__ = ["KINDS", "KIND_LABELS", "LANDMARK_NAMES", "Entry", "Suggestion", "also_named", "find",
           "landmark_name", "normalise", "search_index", "suggest"]

#: What an entry is, in the order equal matches are listed.
KINDS = ("structure", "landmark", "group")
#: Words shown after a suggestion's name.
KIND_LABELS = {"structure": "structure", "landmark": "landmark", "group": "region"}
#: The score of a match of every typed word at the start of a word of a name (:func:`find` takes
#: such a match when it is the only one).
WORD_START_SCORE = 0.8


@dataclass(frozen=True)
class Entry:
    """Something the search can find.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    id : str
        The atlas id (structure, group or landmark) — never shown.
    name : str
        The display name.
    aliases : tuple of str
        Every text it answers to (name, acronym, synonyms, id), normalised by :func:`normalise`.
    detail : str
        One line to show under the name (a landmark's description, a structure's group).
    """

    kind: str
    id: str
    name: str
    aliases: tuple[str, ...]
    detail: str = ""


@dataclass(frozen=True)
class Suggestion:
    """An entry and how well it matches (0-1)."""

    entry: Entry
    score: float

    @property
    def label(self) -> str:
        """``"Anatomical snuffbox · landmark"``."""
        return f"{self.entry.name} · {KIND_LABELS[self.entry.kind]}"


def normalise(text: str) -> str:
    """Lower case, ``_``/``-`` as spaces, no apostrophes or other punctuation, single spaces.

    Examples
    --------
    >>> normalise("  Guyon's_canal ")
    'guyons canal'
    """
    text = text.casefold().replace("_", " ").replace("-", " ")
    text = re.sub(r"[^\w\s]", "", text)
    return " ".join(text.split())


@functools.lru_cache(maxsize=4)
def search_index(atlas: Atlas) -> tuple[Entry, ...]:
    """Every structure, group and landmark of the atlas as a search entry (built once per atlas)."""
    entries = []
    for s in atlas.structures.values():
        if s.id == "hand":
            continue
        names = [s.name, s.acronym or "", *s.synonyms, s.id]
        aliases = tuple(dict.fromkeys(normalise(n) for n in names if n))
        parent = atlas.structures[s.parent].name if s.parent in atlas.structures else ""
        entries.append(Entry("structure" if s.has_mesh else "group", s.id, s.name, aliases, parent))
    for lid, lm in atlas.landmarks.items():
        name = landmark_name(atlas, lid)
        aliases = tuple(dict.fromkeys((normalise(name), normalise(lid))))
        entries.append(Entry("landmark", lid, name, aliases, lm.description))
    return tuple(entries)


def _score(query: str, alias: str) -> float:
    if alias == query:
        return 1.0
    if alias.startswith(query):
        return 0.9
    words = alias.split()
    if all(any(w.startswith(q) for w in words) for q in query.split()):
        return 0.8
    if query in alias:
        return 0.7
    ratio = difflib.SequenceMatcher(None, query, alias).ratio()
    best_word = max((difflib.SequenceMatcher(None, query, w).ratio() for w in words), default=0.0)
    fuzzy = max(ratio, best_word * 0.95)
    return 0.6 * fuzzy if fuzzy >= 0.75 else 0.0


def suggest(entries: tuple[Entry, ...], text: str, *, limit: int = 8) -> list[Suggestion]:
    """The entries that match ``text`` best, best first (nothing for fewer than two characters).

    Parameters
    ----------
    entries
        From :func:`search_index`.
    text
        What the learner typed.
    limit
        The most suggestions to return.
    """
    query = normalise(text)
    if len(query) < 2:
        return []
    scored = []
    for entry in entries:
        score = max((_score(query, a) for a in entry.aliases), default=0.0)
        if score > 0:
            scored.append(Suggestion(entry, round(score, 3)))
    scored.sort(key=lambda s: (-s.score, KINDS.index(s.entry.kind), len(s.entry.name), s.entry.name))
    return scored[:limit]


def find(atlas: Atlas, text: str, *, first: Sequence[str] = ("structure", "group", "landmark"),
         what: str = "structure or landmark") -> Entry:
    """The structure, group or landmark that ``text`` names.

    ``text`` may be an id, a name, an acronym or a synonym, in any case, with or without
    apostrophes, underscores or hyphens (``"Guyon's canal"``, ``"radial pulse"``, ``"FCR"``); an
    id exactly as typed (``"thenar_eminence"``, the landmark) names its own entry before a name
    that reads the same (``"thenar eminence"``, a synonym of the thenar group).
    Failing that, the one entry whose name has every typed word at the start of one of its words
    (``"snuffbox"``: the anatomical snuffbox).

    Parameters
    ----------
    atlas
    text
        What was typed.
    first
        Which kind wins when a name is both (``"pisiform"`` is a bone and a landmark).
    what
        What is looked for, in the error message.

    Raises
    ------
    UnknownNameError
        When nothing, or more than one thing, is named so; with up to three suggestions, by
        display name.

    Examples
    --------
    >>> find(atlas, "Guyon's canal").id, find(atlas, "snuffbox").id  # doctest: +SKIP
    ('guyons_canal', 'anatomical_snuffbox')
    """
    if text.strip().casefold() == "hand":
        root = atlas.structure("hand")
        return Entry("group", root.id, root.name, ("hand",))
    query = normalise(text)
    entries = search_index(atlas)
    exact = [e for e in entries if query in e.aliases]
    named = [e for e in exact if e.id == text.strip()]  # an id as typed names its own entry
    if named:
        exact = named
    if exact:
        return min(exact, key=lambda e: first.index(e.kind) if e.kind in first else len(first))
    found = suggest(entries, text, limit=4)
    if len(query) >= 3:
        starts = [s.entry for s in found if s.score >= WORD_START_SCORE]
        if len(starts) == 1:
            return starts[0]
    hints = tuple(s.entry.name for s in found[:3])
    hint = f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""
    raise UnknownNameError(f"unknown {what} {text.strip()!r}{hint}", suggestions=hints)


def also_named(atlas: Atlas, text: str, entry: Entry) -> tuple[Entry, ...]:
    """The other things ``text`` names exactly, besides the ``entry`` :func:`find` took
    (``"thenar eminence"``: the muscle group, and the landmark pressed over it)."""
    query = normalise(text)
    return tuple(e for e in search_index(atlas)
                 if query in e.aliases and (e.kind, e.id) != (entry.kind, entry.id))
