"""Every ``-o`` writes a regular file atomically and refuses anything else with exit 2."""

from __future__ import annotations

import os
import socket

import pytest

from handatlas.cli import main
from handatlas.outputs import OutputError, atomic_output, check_output, write_bytes


def run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_regular_file_is_written_and_replaced_atomically(tmp_path):
    target = tmp_path / "out.txt"
    assert write_bytes(target, b"first") == target
    assert write_bytes(target, b"second") == target
    assert target.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_bytes(b"kept")
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert target.read_bytes() == b"kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    with pytest.raises(OutputError, match="nothing was written"), atomic_output(target):
        pass
    assert target.read_bytes() == b"kept"


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.txt"
    real.write_bytes(b"old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_bytes(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new"


@pytest.mark.parametrize("kind", ["folder", "fifo", "socket", "device", "folder-is-a-file", "missing-folder"])
def test_special_paths_are_refused(tmp_path, kind):
    path = tmp_path / "x"
    if kind == "folder":
        path.mkdir()
        expected = "it is a folder"
    elif kind == "fifo":
        os.mkfifo(path)
        expected = "it is a pipe"
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
        expected = "it is a socket"
    elif kind == "device":
        path = "/dev/null"
        expected = "it is a character device, not a regular file"
    elif kind == "folder-is-a-file":
        path.write_text("a file")
        path = path / "out.png"
        expected = "no such folder"
    else:
        path = tmp_path / "missing" / "out.png"
        expected = "no such folder"
    with pytest.raises(OutputError, match=expected):
        check_output(path)
    with pytest.raises(OutputError, match=expected), atomic_output(path) as temporary:
        temporary.write_bytes(b"never")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "full"
    link.symlink_to("/dev/null")
    with pytest.raises(OutputError, match="character device"):
        check_output(link)


def test_cli_refuses_a_folder_and_a_pipe_before_any_work(capsys, tmp_path, fixture_dir):
    for args in (["render", "-o", tmp_path], ["safety-map", "-o", tmp_path]):
        code, out, err = run(capsys, "--atlas", fixture_dir, *args)
        assert code == 2 and out == "", err
        assert err == f"handatlas: error: cannot write {tmp_path}: it is a folder, not a regular file\n"
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "--atlas", fixture_dir, "render", "-o", fifo)
    assert code == 2 and "it is a pipe" in err and "Traceback" not in err


@pytest.mark.parametrize("size", ["0x0", "40000x40000", "900x-1", "63x900", "900x1100x3", "big"])
def test_cli_bounds_the_picture_size(capsys, tmp_path, fixture_dir, size):
    code, _, err = run(capsys, "--atlas", fixture_dir, "render", "--size", size, "-o", tmp_path / "x.png")
    assert code == 2 and "--size" in err
    assert not (tmp_path / "x.png").exists()


def test_quiz_export_refuses_a_device_and_writes_through_a_symlink(capsys, tmp_path, fixture_dir):
    from handatlas.quiz import default_quiz_dir

    quiz = default_quiz_dir() / "hand_anatomy.yaml"
    code, _, err = run(capsys, "quiz", "export", quiz, "--format", "gift", "-o", "/dev/null")
    assert code == 2 and "/dev/null: it is a character device" in err
    real = tmp_path / "bank.gift"
    real.write_text("old")
    link = tmp_path / "link.gift"
    link.symlink_to(real)
    code, _, err = run(capsys, "quiz", "export", quiz, "--format", "gift", "-o", link)
    assert code == 0, err
    assert link.is_symlink() and "::" in real.read_text()
