"""handatlas: an interactive 3D anatomy and pressure-safety trainer for the human hand.

Importing the package does no I/O; ``load_atlas()`` reads the shipped atlas.

Examples
--------
>>> import handatlas
>>> atlas = handatlas.load_atlas()  # doctest: +SKIP
>>> atlas.structure("median nerve").risk  # doctest: +SKIP
'high'
"""

from __future__ import annotations

from handatlas.atlas import Atlas, Landmark, Structure, UnknownNameError, load_atlas
from handatlas.format import ManifestError

__all__ = ["Atlas", "Landmark", "ManifestError", "Structure", "UnknownNameError", "load_atlas"]
__version__ = "0.1.0"
