"""Where the data shipped with handatlas lives: an environment variable, the wheel, or the source tree."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def shipped_dir(name: str, *, env: str) -> Path:
    """The folder ``name`` (``"meshes"``, ``"quizzes"``) that ships with handatlas.

    Looked up in order: ``$env``; ``handatlas/_data/<name>`` inside an installed wheel; the
    repository's top-level ``<name>/`` (editable installs and source checkouts).

    Examples
    --------
    >>> shipped_dir("quizzes", env="HANDATLAS_QUIZZES").name  # doctest: +SKIP
    'quizzes'
    """
    value = os.environ.get(env)
    if value:
        return Path(value)
    packaged = resources.files("handatlas") / "_data" / name
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / name
