"""The reproducible build of the atlas: ``handatlas build`` writes ``meshes/``.

Importing this package needs nothing beyond the core dependencies; the geometry modules that
read myo-sim (``skeleton``, ``bones``, ``skin``) need the ``build`` extra.
"""
