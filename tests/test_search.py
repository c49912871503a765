"""Finding structures and landmarks by what people type (handatlas.search), on the shipped atlas."""

from __future__ import annotations

import json

import pytest

from handatlas.atlas import UnknownNameError
from handatlas.cli import main
from handatlas.names import landmark_name, landmark_phrase
from handatlas.search import find, search_index


@pytest.mark.parametrize(("text", "kind", "sid"), [
    ("radial pulse", "landmark", "radial_pulse"),             # a landmark's name
    ("anatomical snuffbox", "landmark", "anatomical_snuffbox"),
    ("snuffbox", "landmark", "anatomical_snuffbox"),          # the one name with that word
    ("Guyon's canal", "landmark", "guyons_canal"),            # with its apostrophe
    ("centre of the palm", "landmark", "palm_center"),        # the display name
    ("palm_center", "landmark", "palm_center"),               # the id
    ("FCR", "structure", "fcr_tendon"),                       # an acronym (as atlas.structure)
    ("navicular", "structure", "scaphoid"),                   # a synonym
    ("pisiform", "structure", "pisiform"),                    # a bone and a landmark: bone first
    ("hand", "group", "hand"),
])
def test_find_takes_ids_names_acronyms_synonyms_of_structures_and_landmarks(atlas, text, kind, sid):
    entry = find(atlas, text)
    assert (entry.kind, entry.id) == (kind, sid)


def test_find_can_prefer_landmarks_and_names_what_it_might_mean(atlas):
    assert find(atlas, "pisiform", first=("landmark", "structure", "group")).kind == "landmark"
    with pytest.raises(UnknownNameError, match=r"unknown structure or landmark 'radial'; did you mean "
                                               r"'Radial artery'") as info:
        find(atlas, "radial")  # many names start so: none is taken
    assert "_" not in str(info.value)
    with pytest.raises(UnknownNameError, match=r"unknown landmark 'plam center'; did you mean "
                                               r"'Centre of the palm'\?"):
        find(atlas, "plam center", what="landmark")


def test_one_display_name_per_landmark(atlas):
    assert landmark_name(atlas, "palm_center") == "Centre of the palm"
    assert landmark_phrase(atlas, "palm_center") == "centre of the palm"
    named = {e.id: e.name for e in search_index(atlas) if e.kind == "landmark"}
    assert all(named[lid] == landmark_name(atlas, lid) for lid in atlas.landmarks)


@pytest.mark.parametrize(("text", "lid"), [
    ("radial pulse", "radial_pulse"), ("snuffbox", "anatomical_snuffbox"),
    ("anatomical snuffbox", "anatomical_snuffbox"), ("Guyon's canal", "guyons_canal")])
def test_cli_info_finds_landmarks_by_name(capsys, text, lid):
    assert main(["info", text, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == lid and "point" in data and data["name"] == landmark_name_of(lid)


def landmark_name_of(lid):
    from handatlas import load_atlas

    return landmark_name(load_atlas(), lid)


def test_cli_press_at_a_landmark_by_its_display_name(capsys):
    assert main(["press", "centre of the palm", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["landmark"] == "palm_center"
    assert main(["press", "centre of the palm"]) == 0
    assert "Centre of the palm — moderate, 15 N" in capsys.readouterr().out
