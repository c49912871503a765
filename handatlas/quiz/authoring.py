"""Instructor authoring: building questions from form fields and clicks, saving them as YAML.

No UI code here (who may author is :mod:`handatlas.accounts`).  Two parts:

Drafts
    :func:`locate_question` ... :func:`order_question` build a question as a plain dict (the
    quiz file's fields) from form fields and clicks, checked against the format;
    :func:`preview_key` shows what the atlas says its key is.
Saving
    :func:`save_question` adds (or replaces) a question in ``<quizzes>/<slug>.yaml``, editing the
    file's text so that everything else, comments included, stays byte for byte; the whole new
    text is loaded and checked against the atlas before it is written, atomically.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from handatlas.names import landmark_phrase
from handatlas.quiz import schema
from handatlas.quiz.checking import check_quiz
from handatlas.quiz.keys import (
    ChoiceKey,
    IdentifyKey,
    KeyProblem,
    LocateKey,
    PressKey,
    TerritoryKey,
    compute_key,
)
from handatlas.quiz.loading import (
    LoadedQuiz,
    load_quiz,
    parse_quiz,
    quiz_paths,
    read_quiz_text,
    real_path,
)
from handatlas.quiz.problems import Problem, QuizError
from handatlas.quiz.session import answer_text

if TYPE_CHECKING:
    from handatlas.atlas import Atlas

class AuthoringError(ValueError):
    """A question or file that cannot be saved; ``problems`` lists the reasons (file:line)."""

    def __init__(self, message: str, problems: Sequence[Problem | str] = ()) -> None:
        self.problems = tuple(problems)
        lines = [message, *(f"  {p}" for p in self.problems)]
        super().__init__("\n".join(lines))


# ----------------------------------------------------------------------------- drafts
def _plain(value: Any) -> Any:
    """Numpy scalars and arrays, tuples -> plain Python for YAML."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def click_point(point: Sequence[float]) -> list[float]:
    """A clicked point as the file stores it: ``[x, y, z]`` rounded to 0.1 mm."""
    values = [float(v) for v in _plain(point)]
    if len(values) != 3:
        raise AuthoringError(f"a point has 3 coordinates, not {len(values)}")
    return [round(v, 1) + 0.0 for v in values]


def _where(where: str | Sequence[float]) -> str | list[float]:
    return where.strip() if isinstance(where, str) else click_point(where)


_DRAFT_HEADER = {"id": "draft", "title": "Draft", "author": "draft"}


def _describe(problem: Problem) -> str:
    """A problem without the draft's file and line."""
    scope = [f"field {problem.field!r}"] if problem.field else []
    return ", ".join([*scope, problem.message]) if scope else problem.message


def _draft(question: Mapping[str, Any], atlas: Atlas | None = None) -> LoadedQuiz:
    """The question alone in a quiz, loaded and checked but for its domain tag (:func:`save_question`
    requires that); raises AuthoringError listing the problems."""
    question = _plain(question)
    text = yaml.safe_dump({"format_version": schema.FORMAT_VERSION, "quiz": _DRAFT_HEADER,
                           "questions": [question]}, sort_keys=False, allow_unicode=True)
    qid = question.get("id", "?") if isinstance(question, dict) else "?"
    try:
        draft = parse_quiz(text, name="draft")
    except QuizError as exc:
        problems = [_describe(p) for p in exc.problems]
        raise AuthoringError(f"question {qid!r} is not valid:", problems) from None
    problems = check_quiz(draft, atlas, domains=False)
    if problems:
        raise AuthoringError(f"question {qid!r} is not valid:", [_describe(p) for p in problems])
    return draft


def _question(kind: str, question_id: str, prompt: str, explanation: str, tags: Iterable[str],
              difficulty: int, fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": question_id.strip(), "type": kind, "prompt": prompt.strip()}
    out.update({k: v for k, v in fields.items() if v is not None})
    out["explanation"] = explanation.strip()
    tags = [t.strip() for t in tags if t.strip()]
    if tags:
        out["tags"] = tags
    out["difficulty"] = difficulty
    out = _plain(out)
    _draft(out)
    return out


def locate_question(*, question_id: str, prompt: str, explanation: str, target: str,
                    tolerance_mm: float = 5.0, tags: Iterable[str] = (),
                    difficulty: int = 3) -> dict[str, Any]:
    """A locate question; ``target`` is the structure or landmark id the instructor clicked."""
    return _question("locate", question_id, prompt, explanation, tags, difficulty,
                     {"target": target.strip(), "tolerance_mm": float(tolerance_mm)})


def identify_question(*, question_id: str, prompt: str, explanation: str, target: str,
                      options: Sequence[str] | None = None, accept: Sequence[str] = (), synonyms: bool = True,
                      tags: Iterable[str] = (), difficulty: int = 3) -> dict[str, Any]:
    """An identify question: name the (clicked) ``target``, from ``options`` or typed."""
    return _question("identify", question_id, prompt, explanation, tags, difficulty, {
        "target": target.strip(), "options": None if options is None else [o.strip() for o in options],
        "accept": [a.strip() for a in accept] or None, "synonyms": None if synonyms else False})


def press_question(*, question_id: str, prompt: str, explanation: str, where: str | Sequence[float],
                   grade: str = "moderate", radius_mm: float = 8.0, ask: Sequence[str] = ("verdict",),
                   tags: Iterable[str] = (), difficulty: int = 3) -> dict[str, Any]:
    """A press question at a landmark id or a clicked point (rounded to 0.1 mm)."""
    return _question("press", question_id, prompt, explanation, tags, difficulty, {
        "where": _where(where), "grade": grade, "radius_mm": None if radius_mm == 8.0 else float(radius_mm),
        "ask": list(ask)})


def territory_question(*, question_id: str, prompt: str, explanation: str, where: str | Sequence[float],
                       variant: str | None = None, tags: Iterable[str] = (),
                       difficulty: int = 3) -> dict[str, Any]:
    """A territory question at a landmark id or a clicked point (rounded to 0.1 mm)."""
    return _question("territory", question_id, prompt, explanation, tags, difficulty,
                     {"where": _where(where), "variant": variant})


def choice_question(*, question_id: str, prompt: str, explanation: str, options: Sequence[str],
                    answer: int | Sequence[int], scenario: str = "", tags: Iterable[str] = (),
                    difficulty: int = 3) -> dict[str, Any]:
    """A choice question: ``answer`` is a 0-based index, or a list of them for several answers."""
    picks = answer if isinstance(answer, int) else [int(a) for a in answer]
    return _question("choice", question_id, prompt, explanation, tags, difficulty, {
        "scenario": scenario.strip() or None, "options": [o.strip() for o in options], "answer": picks})


def order_question(*, question_id: str, prompt: str, explanation: str, items: Sequence[str],
                   tags: Iterable[str] = (), difficulty: int = 3) -> dict[str, Any]:
    """An order question: ``items`` in the correct order."""
    return _question("order", question_id, prompt, explanation, tags, difficulty,
                     {"items": [i.strip() for i in items]})


def _mm(values: Any) -> str:
    return "(" + ", ".join(f"{float(v):.1f}" for v in values) + ") mm"


def preview_key(question: Mapping[str, Any], atlas: Atlas) -> str:
    """What the atlas says the key of a draft question is, as text for the instructor.

    Raises
    ------
    AuthoringError
        When the question is invalid or names something the atlas lacks ("did you mean").

    Examples
    --------
    >>> preview_key(press_question(question_id="p", prompt="?", explanation="!",  # doctest: +SKIP
    ...                            where="radial_pulse", grade="firm"), atlas)
    'Verdict of a firm press (8 mm pad): avoid. At risk: radial artery. ...'
    """
    q = _draft(question, atlas).questions[0]
    try:
        key = compute_key(q, atlas)
    except KeyProblem as exc:
        raise AuthoringError(f"question {q.id!r} is not valid:", [exc.message]) from None
    if isinstance(key, LocateKey):
        if key.point is not None:
            return (f"Click target: the landmark {key.target} at {_mm(key.point)}, "
                    f"within {key.tolerance_mm:g} mm.")
        parts = len(key.surfaces)
        return (f"Click target: {key.name} ({key.target}, {parts} surface{'s' * (parts != 1)}), "
                f"within {key.tolerance_mm:g} mm.")
    if isinstance(key, IdentifyKey):
        text = f"Target: {key.name} ({key.target}). Typed answers accepted: {', '.join(key.accepted)}."
        if key.options is not None:
            right = key.options.index(key.target)
            shown = key.option_texts[right] if key.option_texts else key.name
            text += f" Right option: {right + 1}. {shown}."
        return text
    if isinstance(key, PressKey):
        assert isinstance(q, schema.Press)
        at_risk = ", ".join(key.names[i] for i in key.at_risk) or "nothing"
        at = f"the {landmark_phrase(atlas, q.where)}" if isinstance(q.where, str) else _mm(key.point)
        return (f"Verdict of a {key.grade} press ({q.radius_mm:g} mm pad) at {at}: "
                f"{key.verdict}. At risk: {at_risk}. {key.message}")
    if isinstance(key, TerritoryKey):
        others = "".join(f"; {v}: {t}" for v, t in key.by_variant.items() if v != key.variant)
        return f"Territory ({key.variant}): {key.territory}{others}."
    if isinstance(key, ChoiceKey):
        picks = ", ".join(f"{i + 1}. {key.options[i]}" for i in sorted(key.answers))
        return f"Right answer{'s' if key.multiple else ''}: {picks}."
    return f"Correct order: {answer_text(q, key)}."


# ----------------------------------------------------------------------------- saving
_FILE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,79}\.yaml")
_BREAK = re.compile(r"\r\n|\r|\n|\x85|\u2028|\u2029")  # what PyYAML counts as a line break
_DASH = re.compile(r"^( *)-(?: |$)")
_FOLD_OVER = 70  # prompts and explanations longer than this are written as folded (>-) text
_SAVE_LOCK = threading.Lock()


class _Folded(str):
    pass


class _Flow(list):  # type: ignore[type-arg]
    pass


class _Dumper(yaml.SafeDumper):
    """Safe dumping in the bank's style: indented lists, tags and points inline, long text folded."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_Dumper.add_representer(_Folded, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", str(s), style=">"))
_Dumper.add_representer(_Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", list(v),
                                                                 flow_style=True))


def _styled(question: dict[str, Any], *, fold: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in question.items():
        if fold and k in ("prompt", "explanation", "scenario") and isinstance(v, str) and len(v) > _FOLD_OVER:
            v = _Folded(" ".join(v.split()))
        elif k in ("tags", "where", "ask", "answer") and isinstance(v, list):
            v = _Flow(v)
        out[k] = v
    return out


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=96)


def _block(question: dict[str, Any], indent: str, newline: str, *, fold: bool) -> str:
    lines = _dump([_styled(question, fold=fold)]).splitlines()
    return "".join((indent + line if line else "") + newline for line in lines)


def _lines(text: str) -> list[str]:
    """The lines of ``text`` with their breaks, split where PyYAML counts lines."""
    out, start = [], 0
    for m in _BREAK.finditer(text):
        out.append(text[start:m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def _blank(line: str) -> bool:
    return not line.strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Layout:
    """Where each question of a loaded file sits in its lines (0-based, end exclusive)."""

    def __init__(self, quiz: LoadedQuiz, lines: list[str]) -> None:
        self.spans: list[tuple[int, int]] = []
        self.indent = "  "
        n = len(quiz.questions)
        top = sorted(line for key, line in quiz.lines.items() if len(key) == 1)
        questions_line = quiz.line("questions")
        after = [line for line in top if line > questions_line]
        boundary = after[0] - 1 if after else len(lines)
        dashes = [self._dash(lines, quiz.line("questions", i) - 1, quiz.name) for i in range(n)]
        for i, (row, indent) in enumerate(dashes):
            limit = dashes[i + 1][0] if i + 1 < n else boundary
            end = max(line for key, line in quiz.lines.items() if key[:2] == ("questions", i))
            while end < limit and (_blank(lines[end]) or _indent(lines[end]) > indent):
                end += 1
            while end - 1 > row and _blank(lines[end - 1]):
                end -= 1
            self.spans.append((row, end))
        if dashes:
            self.indent = " " * dashes[-1][1]

    @staticmethod
    def _dash(lines: list[str], row: int, name: str) -> tuple[int, int]:
        for r in (row, row - 1):
            m = _DASH.match(lines[r]) if 0 <= r < len(lines) else None
            if m and (r == row or _blank(lines[r][m.end():])):
                return r, len(m.group(1))
        raise AuthoringError(f"cannot edit {name} as text: its questions are not a block list "
                             f"('- id: ...' lines); edit it by hand")


def _check_name(folder: Path, file_name: str) -> Path:
    if not isinstance(file_name, str) or not file_name or "/" in file_name or "\\" in file_name \
            or ".." in file_name or Path(file_name).is_absolute():
        raise AuthoringError(f"refusing {file_name!r}: give a bare file name such as my_quiz.yaml, "
                             f"saved in {folder}")
    if not _FILE_NAME.fullmatch(file_name):
        raise AuthoringError(f"refusing {file_name!r}: a quiz file name is lower-case letters, digits, '_' "
                             f"or '-', ending in .yaml (e.g. wrist_caution.yaml)")
    path = folder / file_name
    if path.is_symlink() or path.exists():
        real = real_path(path)
        if real.parent != folder:
            raise AuthoringError(f"refusing {file_name}: it points outside the quiz folder {folder}")
        if not real.is_file():
            raise AuthoringError(f"refusing {file_name}: it is not a file")
        return real
    return path


def _new_file(header: Mapping[str, Any] | None, file_name: str, question: dict[str, Any], *,
              fold: bool) -> str:
    if not header:
        raise AuthoringError(f"{file_name} is a new file: give its quiz header (id, title, author, "
                             f"pass_mark, shuffle)")
    head = _dump({"format_version": schema.FORMAT_VERSION, "quiz": _plain(dict(header))})
    return ("# Written from the handatlas authoring page. Spatial answer keys are computed from the atlas.\n"
            f"{head}\nquestions:\n{_block(question, '  ', chr(10), fold=fold)}")


def _edited(text: str, quiz: LoadedQuiz, question: dict[str, Any], *, replace: bool, fold: bool) -> str:
    lines = _lines(text)
    layout = _Layout(quiz, lines)
    newline = "\r\n" if "\r\n" in text else "\n"
    ids = [q.id for q in quiz.questions]
    qid = question.get("id")
    block = _block(question, layout.indent, newline, fold=fold)
    if qid in ids and not replace:
        line = quiz.line("questions", ids.index(qid), "id")
        raise AuthoringError(f"{quiz.name}:{line}: a question with id {qid!r} is already in the file; "
                             f"choose another id, or replace that question")
    if qid in ids:
        start, end = layout.spans[ids.index(qid)]
        return "".join(lines[:start]) + block + "".join(lines[end:])
    end = layout.spans[-1][1]
    before, rest = "".join(lines[:end]), "".join(lines[end:])
    if before and not _BREAK.search(before[-1]):
        before += newline
    if rest and not _blank(_lines(rest)[0]):
        block += newline
    return before + newline + block + rest


def _same_quiz_id(folder: Path, path: Path, quiz: LoadedQuiz) -> list[Problem]:
    qid = quiz.model.quiz.id
    for other in quiz_paths([folder]):
        if real_path(other) == real_path(path):
            continue
        try:
            theirs = load_quiz(other)
        except QuizError:
            continue
        if theirs.model.quiz.id == qid:
            return [Problem(quiz.name, quiz.line("quiz", "id"), f"quiz id {qid!r} is already used by "
                            f"{other.name}:{theirs.line('quiz', 'id')}", None, "quiz.id")]
    return []


def _write(path: Path, text: str) -> None:
    """Write atomically: a temporary file in the same folder, flushed, then renamed over ``path``."""
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_question(quizzes_dir: str | Path, file_name: str, question: Mapping[str, Any], *, atlas: Atlas,
                  header: Mapping[str, Any] | None = None, replace: bool = False) -> Path:
    """Add ``question`` to ``<quizzes_dir>/<file_name>`` (or create the file) and return its path.

    The file's other text, comments included, is kept byte for byte: the question is appended
    after the last one (or, with ``replace=True``, written over the question with the same id;
    when there is none it is appended).  The whole new text is loaded and checked against the
    atlas, and the quiz id against the folder's other files, before anything is written.

    Parameters
    ----------
    quizzes_dir
        The quizzes folder; nothing is written outside it.
    file_name
        A bare ``<slug>.yaml``.
    question
        The question's fields (e.g. from :func:`press_question`).
    atlas
        To check the keys.
    header
        The ``quiz:`` header of a new file (id, title, author, pass_mark, shuffle, description);
        ignored when the file exists.
    replace
        Replace the question with the same id instead of refusing it.

    Raises
    ------
    AuthoringError
        For a refused file name, a duplicate id, an invalid question or file (every problem with
        ``file:line``); the file on disk is then untouched.
    """
    folder = real_path(quizzes_dir)
    if not folder.is_dir():
        raise AuthoringError(f"the quiz folder {quizzes_dir} does not exist")
    path = _check_name(folder, file_name)
    if not isinstance(question, Mapping) or not isinstance(question.get("id"), str):
        raise AuthoringError("a question is a mapping of fields with an 'id'")
    question = _plain(dict(question))
    with _SAVE_LOCK:
        old = _read(path, file_name)
        for fold in (True, False):  # folded text unless it would not read back the same
            text = _new_text(old, path, file_name, question, header, replace=replace, fold=fold)
            new = _validated(text, folder, path, file_name, atlas)
            index = [q.id for q in new.questions].index(question["id"])
            if new.questions[index] == _draft(question).questions[0]:
                break
        else:
            raise AuthoringError(f"{file_name}: the question does not read back as written; save it by hand")
        current = _read(path, file_name)
        if current != old:
            raise AuthoringError(f"{file_name} changed on disk while saving; reload it and save again")
        _write(path, text)
    return path


def _read(path: Path, file_name: str) -> str | None:
    """The file's text (None: a new file), within the loader's limits."""
    if not path.exists():
        return None
    try:
        return read_quiz_text(path, name=file_name)
    except QuizError as exc:
        raise AuthoringError(f"{file_name} cannot be loaded; fix it by hand first:", exc.problems) from None


def _new_text(old: str | None, path: Path, file_name: str, question: dict[str, Any],
              header: Mapping[str, Any] | None, *, replace: bool, fold: bool) -> str:
    if old is None:
        return _new_file(header, file_name, question, fold=fold)
    try:
        quiz = parse_quiz(old, name=file_name, path=path)
    except QuizError as exc:
        raise AuthoringError(f"{file_name} cannot be loaded; fix it by hand first:", exc.problems) from None
    return _edited(old, quiz, question, replace=replace, fold=fold)


def _validated(text: str, folder: Path, path: Path, file_name: str, atlas: Atlas) -> LoadedQuiz:
    try:
        new = parse_quiz(text, name=file_name, path=path)
    except QuizError as exc:
        raise AuthoringError(f"cannot save {file_name}; nothing was written:", exc.problems) from None
    problems = check_quiz(new, atlas) + _same_quiz_id(folder, path, new)
    if problems:
        raise AuthoringError(f"cannot save {file_name}; nothing was written:", problems)
    return new
