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

from pathlib import Path

from handatlas.quiz.loading import LoadedQuiz, load_quiz, quiz_paths
from handatlas.quiz.problems import QuizError, QuizFlowError

__all__ = ["QuizFlowError", "open_quiz", "question_ids", "quiz_choices"]


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise QuizFlowError(f"the quiz folder {folder} does not exist")
    return [p for p in quiz_paths([folder]) if p.is_file() or p.is_symlink()]


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def quiz_choices(folder: str | Path) -> list[tuple[str, Path]]:
    """``(title, path)`` of each quiz file in ``folder``, in file-name order.

    A file that cannot be loaded is listed as ``"<name> (invalid: open it to see why)"``;
    symlinks pointing out of the folder are left out.
    """
    folder = Path(folder)
    out = []
    for path in _files(folder):
        if not _inside(path, folder):
            continue
        try:
            title = load_quiz(path).model.quiz.title
        except QuizError:
            title = f"{path.name} (invalid: open it to see why)"
        out.append((title, path))
    return out


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
        return load_quiz(path)
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
