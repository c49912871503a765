"""The ``handatlas`` command on the fixture atlas: outputs, exit codes, messages."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handatlas.cli import main


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_structures_json(capsys, fixture_dir):
    code, out, err = run(capsys, "--atlas", fixture_dir, "structures", "--json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert rows[0] == {"id": "hand", "name": "Hand", "parent": None, "tissue": None,
                       "layer": None, "risk": None}
    assert {r["id"] for r in rows} >= {"capitate", "median_nerve", "skin"}
    assert all(set(r) == {"id", "name", "parent", "tissue", "layer", "risk"} for r in rows)


def test_structures_group_table(capsys, fixture_dir):
    code, out, _ = run(capsys, "--atlas", fixture_dir, "structures", "--group", "Bones")
    assert code == 0
    assert "capitate" in out and "median_nerve" not in out


def test_landmarks_json(capsys, fixture_dir):
    code, out, _ = run(capsys, "--atlas", fixture_dir, "landmarks", "--json")
    rows = json.loads(out)
    assert code == 0
    assert rows[0] == {"id": "palm_center", "point": [0.0, 0.0, 20.0], "normal": [0.0, 0.0, 1.0]}
    assert all(set(r) == {"id", "point", "normal"} for r in rows)


def test_info_structure_and_landmark(capsys, fixture_dir):
    code, out, _ = run(capsys, "--atlas", fixture_dir, "info", "RA", "--json")
    data = json.loads(out)
    assert code == 0 and data["id"] == "radial_artery" and data["ancestors"] == ["arteries", "hand"]
    assert data["triangles"] > 100
    code, out, _ = run(capsys, "--atlas", fixture_dir, "info", "radial_pulse", "--json")
    data = json.loads(out)
    assert data["territory"] == "radial" and data["point"] == [25.0, -40.0, 20.0]
    code, out, _ = run(capsys, "--atlas", fixture_dir, "info", "median nerve")
    assert code == 0 and "tunnel" in out


def test_unknown_name_exit_2(capsys, fixture_dir):
    code, out, err = run(capsys, "--atlas", fixture_dir, "info", "medain nerve")
    assert code == 2 and out == ""
    assert err.startswith("handatlas: error: unknown structure or landmark 'medain nerve'; did you mean "
                          "'Median nerve'")
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys, fixture_dir):
    code, _, err = run(capsys, "--atlas", fixture_dir, "render", "--view", "top", "-o", "x.png")
    assert code == 2 and "invalid choice: 'top'" in err
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err


def test_validate(capsys, atlas_copy):
    code, out, _ = run(capsys, "--atlas", atlas_copy, "validate")
    assert code == 0 and "valid (6 meshes, 3 landmarks)" in out
    (atlas_copy / "skin.npz").write_bytes(b"not a mesh")
    code, out, err = run(capsys, "--atlas", atlas_copy, "validate")
    assert code == 1
    assert "structure 'skin'" in err and "skin.npz: sha256" in err


def test_validate_broken_manifest_exit_1(capsys, tmp_path):
    (tmp_path / "manifest.json").write_text("{")
    code, _, err = run(capsys, "--atlas", tmp_path, "validate")
    assert code == 1 and "manifest.json: line 1" in err


def test_summary_is_default(capsys, fixture_dir):
    code, out, _ = run(capsys, "--atlas", fixture_dir)
    assert code == 0 and "3 landmarks" in out and "Nerves" in out


@pytest.mark.parametrize("flag", ["--help"])
def test_help(capsys, flag):
    with pytest.raises(SystemExit) as info:
        main([flag])
    assert info.value.code == 0
    assert "render" in capsys.readouterr().out


def test_press_json_contract(capsys, fixture_dir):
    code, out, err = run(capsys, "--atlas", fixture_dir, "press", "palm_center", "--grade", "firm", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert {"point", "normal", "direction", "radius_mm", "grade", "depth_limit_mm", "landmark", "territory",
            "verdict", "at_risk", "layers", "message", "force_n", "pressure_kpa", "sink_mm",
            "shielded"} <= set(data)
    assert data["verdict"] == "avoid" and data["force_n"] == 40.0 and data["radius_mm"] == 8.0
    assert data["depth_limit_mm"] == data["sink_mm"] > 0
    assert data["at_risk"][0]["id"] == "median_nerve"
    assert set(data["at_risk"][0]) == {"id", "name", "tissue", "risk", "distance_mm", "depth_mm",
                                       "stress_kpa", "level", "pinned"}
    assert data["at_risk"][0]["level"] == "avoid" and data["at_risk"][0]["pinned"] is True
    assert f"{data['at_risk'][0]['depth_mm']:.1f} mm deep" in data["message"]
    assert all(set(layer) == {"id", "entry_mm", "exit_mm"} for layer in data["layers"])


def test_press_force(capsys, fixture_dir):
    code, out, _ = run(capsys, "--atlas", fixture_dir, "press", "palm_center", "--force", "2", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["force_n"] == 2.0 and data["grade"] == "moderate" and data["verdict"] == "safe"
    assert data["message"].startswith("2 N pressure is safe here"), data["message"]
    code, out, _ = run(capsys, "--atlas", fixture_dir, "press", "palm_center", "--force", "3.3")
    assert code == 0 and "Centre of the palm — 3.3 N on an 8 mm pad" in out and "moderate" not in out, out
    assert "3.3 N pressure is safe here" in out


@pytest.mark.parametrize("form", [["--", "-20,30,20"], ["-20,30,20"], ["-20, 30, 20"]])
def test_press_negative_coordinates(capsys, fixture_dir, form):
    code, out, err = run(capsys, "--atlas", fixture_dir, "press", "--grade", "firm", "--json", *form)
    assert code == 0, err
    data = json.loads(out)
    assert data["point"] == [-20.0, 30.0, 20.0] and data["verdict"] == "safe"
    assert data["shielded"][0]["id"] == "ulnar_artery" and data["at_risk"] == []


def test_press_table(capsys, fixture_dir):
    code, out, _ = run(capsys, "--atlas", fixture_dir, "press", "palm_center", "--grade", "firm")
    assert code == 0 and "AVOID" in out and "Median nerve" in out and "layers along the axis" in out
    assert "40 N" in out and "kPa" in out and "pinned" in out
    assert "Centre of the palm — firm, 40 N on an 8 mm pad" in out  # the grade's own force: both named


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["press", "plam_center"],
         "unknown landmark or structure 'plam_center'; did you mean 'Centre of the palm'"),
        (["press", "1,2"], "point must be three numbers X,Y,Z in mm, got 2 in '1,2'"),
        (["press", "a,b,c"], "point must be three numbers X,Y,Z in mm, got 'a,b,c'"),
        (["press", "nan,0,0"], "point has non-finite coordinates"),
        (["press", "0,0,300"], "280.0 mm outside the skin"),
        (["press", "palm_center", "--grade", "hard"], "unknown grade 'hard'"),
        (["press", "palm_center", "--radius", "0"], "radius must be more than 0"),
        (["press", "palm_center", "--radius", "x"], "invalid float value: 'x'"),
        (["press", "palm_center", "--direction", "0,0,1"], "points out of the skin"),
        (["press", "palm_center", "--radius", "nan"], "radius must be more than 0"),
        (["press", "palm_center", "--force", "0"], "force must be a finite number of newtons above 0"),
        (["press", "palm_center", "--force", "-3"], "force must be a finite number of newtons above 0"),
        (["press", "palm_center", "--force", "nan"], "force must be a finite number of newtons above 0"),
        (["press", "palm_center", "--force", "inf"], "force must be a finite number of newtons above 0"),
        (["press", "palm_center", "--force", "x"], "invalid float value: 'x'"),
        (["press", "palm_center", "--grade", "frim", "--force", "3"], "unknown grade 'frim'"),
        (["safety-map", "--force", "0", "-o", "x.png"], "force must be a finite number of newtons above 0"),
        (["safety-map", "--grade", "hard", "-o", "x.png"], "unknown grade 'hard'"),
    ],
)
def test_press_errors(capsys, fixture_dir, args, message):
    code, out, err = run(capsys, "--atlas", fixture_dir, *args)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_safety_map_picture(capsys, fixture_dir, tmp_path):
    from PIL import Image

    target = tmp_path / "map.png"
    code, out, _ = run(capsys, "--atlas", fixture_dir, "safety-map", "--grade", "light", "--force", "40",
                       "-o", target)
    assert code == 0 and "avoid" in out and "of the skin's area" in out
    img = np.asarray(Image.open(target).convert("RGB")).astype(int)
    red = (img[..., 0] > 180) & (img[..., 1] < 90) & (img[..., 2] < 90)
    green = (img[..., 1] > 130) & (img[..., 0] < 120) & (img[..., 2] < 120)
    assert red.sum() > 200 and green.sum() > 200  # both verdicts are drawn


@pytest.mark.parametrize("option", ["--session-lifetime", "--session-check"])
@pytest.mark.parametrize(("value", "shown"), [("0", "0"), ("-1", "-1"), ("3600.5", "3600.5")])
def test_serve_session_times_say_what_is_allowed(capsys, option, value, shown):
    code, _, err = run(capsys, "serve", option, value)
    assert code == 2
    assert f"{option} must be more than 0 and at most 3600 seconds, got {shown}" in err, err


def test_a_picture_needs_a_picture_name(tmp_path, capsys):
    """render and safety-map name the -o path and the suffixes a picture takes, before any work."""
    for command in (["render"], ["safety-map"]):
        for name, has in (("x.txt", "ends in '.txt'"), ("x", "has no suffix")):
            target = tmp_path / name
            assert main([*command, "-o", str(target)]) == 2
            err = capsys.readouterr().err
            assert f"-o {target}" in err and ".png" in err and has in err, err
            assert not target.exists()


def test_structures_table_never_cuts_an_id(capsys):
    """Ids are what the next command is typed with: on an 80-column terminal they were cut
    ("median_nerve…")."""
    from rich.console import Console

    import handatlas.cli as cli

    wide = cli._console
    cli._console = lambda: Console(width=80, force_terminal=False)
    try:
        code, out, _ = run(capsys, "structures", "--group", "nerves")
    finally:
        cli._console = wide
    assert code == 0 and "…" not in out
    for sid in ("median_nerve", "median_palmar_cutaneous_branch", "dorsal_digital_nerve_little_radial"):
        assert f"│ {sid} " in out, sid


def test_structures_of_a_group_by_any_of_its_names(capsys):
    """``--group`` takes what ``info`` takes (a name, a synonym), and a miss suggests display names,
    not a two-letter acronym that happens to be close ("nope" once suggested "op")."""
    code, out, _ = run(capsys, "structures", "--group", "thenar eminence", "--json")
    assert code == 0
    assert {r["id"] for r in json.loads(out)} == {"thenar_group", "abductor_pollicis_brevis",
                                                  "flexor_pollicis_brevis", "opponens_pollicis"}
    code, out, err = run(capsys, "structures", "--group", "nope")
    assert code == 2 and out == "" and err.strip() == "handatlas: error: unknown group or structure 'nope'"
    code, out, err = run(capsys, "structures", "--group", "radial pulse")
    assert code == 2 and "'radial pulse' is a landmark" in err and "handatlas info 'radial pulse'" in err


def test_info_says_what_else_a_name_means(capsys):
    """"Thenar eminence" names the muscle group and the landmark pressed over it: info shows the
    first and names the other."""
    code, out, _ = run(capsys, "info", "thenar eminence", "--json")
    data = json.loads(out)
    assert code == 0 and data["id"] == "thenar_group"
    assert data["also_named"] == ["Thenar eminence (landmark thenar_eminence)"]
    # the landmark's own id, as `handatlas landmarks` lists it, shows the landmark
    code, out, _ = run(capsys, "info", "thenar_eminence", "--json")
    data = json.loads(out)
    assert data["id"] == "thenar_eminence" and data["also_named"] == ["Thenar group (region thenar_group)"]
    code, out, _ = run(capsys, "info", "median nerve", "--json")
    assert json.loads(out)["also_named"] == []
