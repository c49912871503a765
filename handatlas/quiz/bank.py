"""The quiz files of a folder as the app offers them: listed by title, opened by bare name only.

No UI code here.  The app never opens a path the learner typed: :func:`open_quiz` takes a bare
file name of the folder and refuses anything else (``../x``, absolute paths, symlinks out).

Examples
--------
>>> from handatlas.quiz import default_quiz_dir
>>> titles = [title for title, _ in quiz_choices(default_quiz_dir())]  # doctest: +SKIP
>>> open_quiz(default_quiz_dir(), "hand_anatomy").model.quiz.id  # doctest: +SKIP
'hand_anatomy'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handatlas.quiz.loading import LoadedQuiz, folder_files, load_quiz, outside_folder, real_path
from handatlas.quiz.problems import QuizError, QuizFlowError

__all__ = ["FolderQuizzes", "QuizFlowError", "open_quiz", "question_ids", "quiz_choices", "read_folder"]


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise QuizFlowError(f"the quiz folder {folder} does not exist")
    return folder_files(folder)


def _inside(path: Path, folder: Path) -> bool:
    return not outside_folder(path, folder)


@dataclass(frozen=True)
class FolderQuizzes:
    """The quiz files of a folder: those that load, and why each other one was left out.

    Attributes
    ----------
    quizzes : list of LoadedQuiz
        In file-name order.
    skipped : dict
        Path -> the :class:`~handatlas.quiz.problems.QuizError` that kept it out (invalid, over a
        limit, not a regular file, or a symlink pointing out of the folder).
    """

    quizzes: list[LoadedQuiz] = field(default_factory=list)
    skipped: dict[Path, QuizError] = field(default_factory=dict)

    def notes(self) -> list[str]:
        """One line per skipped file: its first problem (``file:line: ...``) and how many more."""
        out = []
        for err in self.skipped.values():
            more = len(err.problems) - 1
            tail = f" (and {more} more problem{'s' * (more > 1)})" if more else ""
            out.append(f"{err.problems[0]}{tail}")
        return out


def read_folder(folder: str | Path) -> FolderQuizzes:
    """Load every quiz file of ``folder``; a file that cannot be loaded is skipped, with its reasons.

    One bad file never hides the others: whatever is wrong with it (broken YAML, a limit of
    :mod:`handatlas.quiz.limits` passed, a FIFO, a symlink out of the folder) is kept in
    :attr:`FolderQuizzes.skipped`.

    A file unchanged since it was last read here (same target, size, inode and modification
    time) is not parsed again: every page of the app reads the folder, and a file just under the
    size limit can take seconds to parse.

    Raises
    ------
    QuizFlowError
        When the folder does not exist.
    """
    folder = Path(folder)
    out = FolderQuizzes()
    for path in _files(folder):
        loaded = _load_once(path, folder)
        if isinstance(loaded, QuizError):
            out.skipped[path] = loaded
        else:
            out.quizzes.append(loaded)
    return out


#: path -> (what identified its content, the quiz or why it failed); see :func:`read_folder`.
_READ: dict[tuple[Path, Path], tuple[tuple[Any, ...], LoadedQuiz | QuizError]] = {}
_READ_MAX = 1024


def _load_once(path: Path, folder: Path) -> LoadedQuiz | QuizError:
    try:
        st = os.stat(path)
        version: tuple[Any, ...] = (real_path(path), real_path(folder), st.st_mode, st.st_ino, st.st_size,
                                    st.st_mtime_ns, st.st_ctime_ns)
    except OSError:
        version = ()  # unreadable: loaded (and refused) every time
    cached = _READ.get((path, folder))
    if version and cached is not None and cached[0] == version:
        return cached[1]
    try:
        loaded: LoadedQuiz | QuizError = load_quiz(path, folder=folder)
    except QuizError as exc:
        loaded = exc
    if version:
        if len(_READ) >= _READ_MAX:
            _READ.clear()
        _READ[(path, folder)] = (version, loaded)
    return loaded


def quiz_choices(folder: str | Path, *, found: FolderQuizzes | None = None) -> list[tuple[str, Path]]:
    """``(title, path)`` of each quiz file in ``folder``, in file-name order.

    A file that cannot be loaded is listed as ``"<name> (invalid: open it to see why)"``;
    symlinks pointing out of the folder are left out.  ``found``: the folder as
    :func:`read_folder` read it already.
    """
    folder = Path(folder)
    found = found if found is not None else read_folder(folder)
    titles = {quiz.path: quiz.model.quiz.title for quiz in found.quizzes}
    titles |= {path: f"{path.name} (invalid: open it to see why)" for path in found.skipped
               if _inside(path, folder)}
    return [(titles[path], path) for path in sorted(titles)]


def open_quiz(folder: str | Path, name: str) -> LoadedQuiz:
    """Load the quiz file ``name`` (``hand_anatomy.yaml`` or ``hand_anatomy``) of ``folder``.

    Raises
    ------
    QuizFlowError
        For a path rather than a bare name (``../x``, ``/etc/passwd``), a symlink pointing out
        of the folder, an unknown name (the message lists the folder's quiz files), or an
        invalid file (the loader's ``file:line`` messages, as they are).
    """
    folder = Path(folder)
    files = {p.name: p for p in _files(folder)}
    known = ", ".join(files) or "none"
    text = name.strip() if isinstance(name, str) else ""
    if not text or "/" in text or "\\" in text or text.startswith(".") or Path(text).is_absolute():
        raise QuizFlowError(f"refusing quiz name {name!r}: choose one of the quiz files in {folder} "
                            f"(known: {known})")
    path = files.get(text) or files.get(f"{text}.yaml") or files.get(f"{text}.yml")
    if path is None:
        raise QuizFlowError(f"no quiz file {text!r} in {folder}; known quiz files: {known}")
    if not _inside(path, folder):
        raise QuizFlowError(f"refusing {path.name}: it points outside the quiz folder {folder}")
    try:
        return load_quiz(path, folder=folder)
    except QuizError as exc:
        raise QuizFlowError(str(exc)) from exc


def question_ids(folder: str | Path, name: str) -> list[str]:
    """The question ids of the quiz file ``name`` of ``folder``, in file order.

    Raises
    ------
    QuizFlowError
        As :func:`open_quiz`.
    """
    return [q.id for q in open_quiz(folder, name).questions]
