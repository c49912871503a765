"""Search over structures, groups (regions) and landmarks by name, acronym or synonym, forgiving typos.

No panel import.  :func:`search_index` lists what can be found, each under its display name
(never an internal id); :func:`suggest` ranks them for what the learner has typed so far:
whole names first, then names that start with the text, words that start with it, names that
contain it, and last near misses (``"median nrve"``).

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
from dataclasses import dataclass

from handatlas import names
from handatlas.atlas import Atlas

#: What an entry is, in the order equal matches are listed.
KINDS = ("structure", "landmark", "group")
#: Words shown after a suggestion's name.
KIND_LABELS = {"structure": "structure", "landmark": "landmark", "group": "region"}
#: Landmark names that the id alone spells badly.
LANDMARK_NAMES = {"palm_center": "Centre of the palm", "dorsum_center": "Centre of the back of the hand"}


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
        Every text it answers to (name, acronym, synonyms), normalised by :func:`normalise`.
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


def landmark_name(atlas: Atlas, landmark_id: str) -> str:
    """A landmark's display name: ``"guyons_canal"`` -> ``"Guyon's canal"``
    (:func:`handatlas.names.landmark_name`, but for the few the app words its own way)."""
    return LANDMARK_NAMES.get(landmark_id) or names.landmark_name(atlas, landmark_id)


@functools.lru_cache(maxsize=4)
def search_index(atlas: Atlas) -> tuple[Entry, ...]:
    """Every structure, group and landmark of the atlas as a search entry (built once per atlas)."""
    entries = []
    for s in atlas.structures.values():
        if s.id == "hand":
            continue
        names = [s.name, s.acronym or "", *s.synonyms]
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
