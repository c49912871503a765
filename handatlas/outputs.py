"""Files the command line writes (``-o``): regular files only, written atomically.

An output path is checked before any work is done (:func:`check_output`): a symbolic link is
followed to its target (which is written, the link kept); a folder, a device, a pipe or a socket
is refused; the folder must exist and be writable.  The data is then written to a temporary file
in the destination's folder and renamed over the target (:func:`atomic_output`), so a reader never
sees half a file and a failed write leaves what was there before.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


class OutputError(ValueError):
    """An output path that cannot be written (the message names it and why)."""


def check_output(path: str | Path) -> Path:
    """The file to write for ``path``: symlinks resolved, special files and folders refused.

    Raises
    ------
    OutputError
        For a folder, a device, a pipe, a socket, a missing or unwritable folder, or an existing
        file that cannot be written.

    Examples
    --------
    >>> check_output("/dev/null")
    Traceback (most recent call last):
    ...
    handatlas.outputs.OutputError: cannot write /dev/null: it is a character device, not a regular file
    """
    given = Path(path)
    if str(path) == "":
        raise OutputError("the output path is empty")
    target = given.resolve() if given.is_symlink() else given.absolute()
    try:
        mode = target.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as exc:
        raise OutputError(f"cannot write {given}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"cannot write {given}: it is {_kind(mode)}, not a regular file")
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {given}: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {given}: permission denied in {folder}")
    if mode is not None and not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {given}: permission denied")
    return target


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "a special file")


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Write ``path`` atomically: yield a temporary path to write, then rename it over the target.

    The temporary file lies in the target's folder and keeps the target's suffix (some writers
    choose the format by it); it gets the permissions a new file would (``0o666`` less the umask).
    On an error it is removed and the target is left as it was.

    Raises
    ------
    OutputError
        As :func:`check_output`, or when the writing or the rename fails.
    """
    target = check_output(path)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        if not temporary.is_file() or temporary.stat().st_size == 0:
            raise OutputError(f"cannot write {path}: nothing was written")
        umask = os.umask(0)
        os.umask(umask)
        temporary.chmod(0o666 & ~umask)
        temporary.replace(target)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`); return the file written."""
    with atomic_output(path) as temporary:
        temporary.write_bytes(data)
    return check_output(path)
