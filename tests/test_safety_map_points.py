"""The safety map (one batch over every skin vertex) against single presses, point by point.

``safety_map`` and ``press_many`` answer many presses at once (batched rays, a parallel kernel,
per-structure reaches); ``press`` answers one with the full report.  On a few hundred skin
vertices per grade both must give the same verdict and flag the same structures.
"""

from __future__ import annotations

import numpy as np
import pytest

from handatlas.lookup.model import VERDICTS

GRADES = ("light", "moderate", "firm")
N_VERTICES = 300


@pytest.mark.parametrize("grade", GRADES)
def test_safety_map_equals_single_presses(atlas, grade):
    skin = atlas.skin
    codes = atlas.safety_map(grade=grade)
    batch = atlas.press_many(skin.vertices, skin.vertex_normals, grade=grade)
    np.testing.assert_array_equal(batch.verdict, codes)
    picks = np.random.default_rng(20261205).choice(len(skin.vertices), N_VERTICES, replace=False)
    for v in picks:
        report = atlas.press(skin.vertices[v], grade=grade, direction=-skin.vertex_normals[v])
        where = f"vertex {v} at {grade}"
        assert report.verdict == VERDICTS[codes[v]], where
        at_risk = {batch.ids[k] for k in np.flatnonzero(batch.at_risk[v])}
        shielded = {batch.ids[k] for k in np.flatnonzero(batch.shielded[v])}
        assert {a.id for a in report.at_risk} == at_risk, where
        assert {a.id for a in report.shielded} == shielded, where
    assert len(set(codes[picks].tolist())) >= 2  # the comparison covered more than safe skin
