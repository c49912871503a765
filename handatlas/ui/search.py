"""The app's search (:mod:`handatlas.search`, where it lives: the command line uses it too)."""

from handatlas.search import (
    KIND_LABELS,
    KINDS,
    LANDMARK_NAMES,
    Entry,
    Suggestion,
    find,
    landmark_name,
    normalise,
    search_index,
    suggest,
)

__all__ = ["KINDS", "KIND_LABELS", "LANDMARK_NAMES", "Entry", "Suggestion", "find", "landmark_name",
           "normalise", "search_index", "suggest"]
