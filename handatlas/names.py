"""Readable names of an atlas's landmarks, with the apostrophes their ids cannot hold.

Landmark ids are identifiers (``guyons_canal``); the names people read are "Guyon's canal" and,
inside a sentence, "the radial pulse".  Shared by the app, the command line, the terminal drill,
the quiz keys and the exports: one display name per landmark.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handatlas.atlas import Atlas

#: Landmark names that the id alone spells badly.
LANDMARK_NAMES = {"palm_center": "Centre of the palm", "dorsum_center": "Centre of the back of the hand"}


@cache
def possessives(atlas: Atlas) -> dict[str, str]:
    """Proper names with an apostrophe in the atlas's own texts, by their form in ids.

    Ids cannot hold apostrophes (``guyons_canal``); the structure names, synonyms and landmark
    descriptions can ("Guyon's canal").  Only capitalised words count ("Guyon's", not the
    common noun of "the eminence's bulk").

    Examples
    --------
    >>> possessives(atlas)["guyons"]  # doctest: +SKIP
    "Guyon's"
    """
    texts = [t for s in atlas for t in (s.name, *s.synonyms)]
    texts += [lm.description for lm in atlas.landmarks.values()]
    found = {w for t in texts for w in re.findall(r"\b[A-Z]\w*['’]s\b", t)}
    return {re.sub(r"['’]", "", w).lower(): w.replace("’", "'") for w in found}


def landmark_name(atlas: Atlas, landmark_id: str) -> str:
    """A landmark's display name, the one shown everywhere (app, verdicts, quiz feedback, drill,
    exports, command line): :data:`LANDMARK_NAMES`, else the structure of the same id, else the id
    in words with the apostrophes of proper names put back (:func:`possessives`).

    Examples
    --------
    >>> landmark_name(atlas, "radial_pulse"), landmark_name(atlas, "guyons_canal")  # doctest: +SKIP
    ('Radial pulse', "Guyon's canal")
    >>> landmark_name(atlas, "palm_center")  # doctest: +SKIP
    'Centre of the palm'
    """
    if landmark_id in LANDMARK_NAMES:
        return LANDMARK_NAMES[landmark_id]
    if landmark_id in atlas.structures:
        return atlas.structures[landmark_id].name
    names = possessives(atlas)
    words = " ".join(names.get(w, w) for w in landmark_id.split("_"))
    return words[:1].upper() + words[1:]


def landmark_phrase(atlas: Atlas, landmark_id: str) -> str:
    """A landmark's name inside a sentence: lower case, but for proper names ("Guyon's canal").

    Examples
    --------
    >>> landmark_phrase(atlas, "guyons_canal"), landmark_phrase(atlas, "radial_pulse")  # doctest: +SKIP
    ("Guyon's canal", 'radial pulse')
    """
    proper = set(possessives(atlas).values())
    return " ".join(w if w in proper else w.lower() for w in landmark_name(atlas, landmark_id).split(" "))


def counted(n: int, noun: str) -> str:
    """A number and a noun that takes an -s: ``1 answer``, ``2 answers``, ``0 answers``.

    Examples
    --------
    >>> counted(1, "learner"), counted(3, "learner")
    ('1 learner', '3 learners')
    """
    return f"{n} {noun}{'' if n == 1 else 's'}"
