"""Read quiz files: safe YAML with line numbers, validated by :mod:`handatlas.quiz.schema`.

The YAML is composed with :class:`yaml.SafeLoader` (never ``yaml.load``), so only plain data is
built, and the node tree gives every key and item its line.  Any problem raises a
:class:`~handatlas.quiz.problems.QuizError` listing every reason as ``file:line: question 'id',
field 'name': message``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from handatlas.quiz import schema
from handatlas.quiz.problems import Problem, QuizError, format_field

PathKey = tuple[str | int, ...]

_QUESTION_MODELS: dict[str, type[BaseModel]] = {
    "locate": schema.Locate, "identify": schema.Identify, "press": schema.Press,
    "territory": schema.Territory, "choice": schema.Choice, "order": schema.Order,
}
_QUOTE = " (YAML reads yes/no/on/off as true/false: put such words in quotes)"
#: Fields whose type is a union: one plain message instead of one per alternative.
_FIELD_HINTS = {
    "where": "must be a landmark id or a point [x, y, z] in mm",
    "answer": "must be an option index (0-based) or a list of indices",
    "options": "must be a list of texts",
    "ask": "must be verdict, at_risk or a list of both",
}


@dataclass(frozen=True)
class LoadedQuiz:
    """A validated quiz file with the line of every key and item.

    Attributes
    ----------
    path : pathlib.Path
    name : str
        The path as the user gave it (used in messages).
    model : handatlas.quiz.schema.QuizFile
    lines : dict
        ``("questions", 3, "grade")`` -> 1-based line.
    """

    path: Path
    name: str
    model: schema.QuizFile
    lines: dict[PathKey, int] = field(repr=False)

    @property
    def questions(self) -> list[schema.Question]:
        """The questions, in file order."""
        return self.model.questions

    def line(self, *path: str | int) -> int:
        """The line of ``path`` or of its nearest enclosing node."""
        key: PathKey = tuple(path)
        while key and key not in self.lines:
            key = key[:-1]
        return self.lines.get(key, 1)

    def problem(self, index: int, field_path: Sequence[str | int], message: str) -> Problem:
        """A problem in question ``index`` (0-based), at ``field_path`` within it."""
        path = ("questions", index, *field_path)
        return Problem(self.name, self.line(*path), message, self.questions[index].id,
                       format_field(field_path))


# ----------------------------------------------------------------------------- YAML with lines
def _walk(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], dupes: list[tuple[PathKey, int, int]],
          seen: set[int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in seen:  # an alias of a node walked already
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first:
                dupes.append(((*path, key), line, first[key]))
                continue
            first[key] = line
            lines[(*path, key)] = line
            _walk(value_node, (*path, key), lines, dupes, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, dupes, seen)


def read_yaml(text: str, name: str) -> tuple[Any, dict[PathKey, int]]:
    """Safely parse one YAML document and map every key path to its line.

    Raises
    ------
    QuizError
        For broken YAML (with its line), several documents, or a key given twice.

    Examples
    --------
    >>> data, lines = read_yaml("a:\\n  b: [1, 2]\\n", "x.yaml")
    >>> data, lines[("a", "b")]
    ({'a': {'b': [1, 2]}}, 2)
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        what = getattr(exc, "problem", None) or str(exc)
        where = f" (column {mark.column + 1})" if mark is not None else ""
        raise QuizError([Problem(name, line, f"broken YAML: {what}{where}")]) from None
    finally:
        loader.dispose()
    lines: dict[PathKey, int] = {}
    dupes: list[tuple[PathKey, int, int]] = []
    if node is not None:
        _walk(node, (), lines, dupes, set())
    if dupes:
        raise QuizError([_located(name, data, path, line, f"given twice (first at line {first})")
                         for path, line, first in dupes])
    return data, lines


# ----------------------------------------------------------------------------- messages
def _question_label(data: Any, index: int) -> str:
    try:
        qid = data["questions"][index].get("id")
    except (TypeError, KeyError, IndexError, AttributeError):
        qid = None
    return qid if isinstance(qid, str) and qid else f"#{index + 1}"


def _located(name: str, data: Any, path: PathKey, line: int, message: str) -> Problem:
    """A problem at ``path`` of the raw data: question label and field derived from the path."""
    if len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int):
        return Problem(name, line, message, _question_label(data, path[1]), format_field(path[2:]))
    return Problem(name, line, message, None, format_field(path))


def _line(lines: dict[PathKey, int], path: PathKey) -> int:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def _data_path(data: Any, loc: Sequence[str | int], *, missing: bool) -> PathKey:
    """Pydantic's ``loc`` -> the path in the data (dropping union and tag labels)."""
    path: list[str | int] = []
    cur = data
    for k, part in enumerate(loc):
        if isinstance(cur, dict) and part in cur:
            path.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            path.append(part)
            cur = cur[part]
        elif missing and k == len(loc) - 1 and isinstance(cur, dict):
            path.append(part)
    return tuple(path)


def _choices(expected: str) -> str:
    names = re.findall(r"'([^']*)'", expected)
    return ", ".join(names) if names else expected


def _model_at(data: Any, path: PathKey) -> type[BaseModel] | None:
    if not path or path[0] not in ("quiz", "questions"):
        return schema.QuizFile
    if path[0] == "quiz":
        return schema.QuizHeader
    try:
        return _QUESTION_MODELS.get(data["questions"][path[1]].get("type"))
    except (TypeError, KeyError, IndexError, AttributeError):
        return None


def _message(err: dict[str, Any], data: Any, path: PathKey) -> tuple[PathKey, str]:
    """Our wording of one pydantic error, and the path it belongs to."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    field_name = next((p for p in reversed(path) if isinstance(p, str)), "")
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        close = difflib.get_close_matches(tag, schema.QUESTION_TYPES, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (*path, "type"), (f"unknown question type {tag!r}{hint} "
                                 f"(types: {', '.join(schema.QUESTION_TYPES)})")
    if kind == "union_tag_not_found":
        return (*path, "type"), f"missing; choose one of {', '.join(schema.QUESTION_TYPES)}"
    question = data["questions"][path[1]] if len(path) >= 3 and path[0] == "questions" else None
    hinted = field_name in _FIELD_HINTS and question is not None and path[2] == field_name
    if hinted and field_name in question:
        value = question[field_name]
        quote = _QUOTE if isinstance(value, list) and any(isinstance(v, bool) for v in value) else ""
        return path[:3], f"{_FIELD_HINTS[field_name]}, not {value!r}{quote}"
    if kind == "string_type" and isinstance(value, bool):
        return path, f"expected a text, got {value!r}{_QUOTE}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return path, f"must be a mapping of fields, not {type(value).__name__} {value!r}"
    if kind == "missing":
        return path, "required, but missing"
    if kind == "extra_forbidden":
        model = _model_at(data, path)
        known = list(model.model_fields) if model else []
        close = difflib.get_close_matches(str(path[-1]), known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"
        return path, f"unknown field{hint}"
    if path == ("format_version",):
        supported = schema.FORMAT_VERSION
        return path, f"{value!r} is not supported: this handatlas reads format_version {supported}"
    if kind == "literal_error":
        return path, f"{value!r} is not one of {_choices(str(ctx.get('expected', '')))}"
    if kind == "string_pattern_mismatch" and field_name == "tags":
        return path, f"{value!r} must look like topic:<word> or domain:<word> (lower case, _ or -)"
    if kind == "string_pattern_mismatch":
        return path, f"{value!r} must be lower-case letters, digits, '_', '.' or '-'"
    if kind == "too_short" and path == ("questions",):
        return path, "the quiz needs at least one question"
    if field_name == "pass_mark":
        return path, f"{value!r} is not a fraction from 0 to 1 (write 0.8 for 80 %)"
    msg = err["msg"][0].lower() + err["msg"][1:]
    shown = "" if isinstance(value, dict | list) else f" (got {value!r})"
    return path, f"{msg}{shown}"


def _validation_problems(name: str, data: Any, lines: dict[PathKey, int],
                         exc: ValidationError) -> list[Problem]:
    problems: dict[tuple[PathKey, str], Problem] = {}
    for err in exc.errors():
        path = _data_path(data, err["loc"], missing=err["type"] in ("missing", "extra_forbidden"))
        path, message = _message(err, data, path)
        line = _line(lines, path)
        problems.setdefault((path, message), _located(name, data, path, line, message))
    return list(problems.values())


def _duplicate_ids(name: str, data: Any, lines: dict[PathKey, int]) -> list[Problem]:
    first: dict[str, int] = {}
    out = []
    questions = data.get("questions") if isinstance(data, dict) else None
    for i, q in enumerate(questions if isinstance(questions, list) else []):
        qid = q.get("id") if isinstance(q, dict) else None
        if not isinstance(qid, str):
            continue
        line = _line(lines, ("questions", i, "id"))
        if qid in first:
            out.append(Problem(name, line, f"duplicate id: also used at line {first[qid]}", qid, "id"))
        else:
            first[qid] = line
    return out


# ----------------------------------------------------------------------------- public
def parse_quiz(text: str, *, name: str = "<quiz>", path: Path | None = None) -> LoadedQuiz:
    """Parse and validate quiz YAML text.

    Raises
    ------
    QuizError
        With every problem found, each naming ``name``, the line and the field.

    Examples
    --------
    >>> text = open("quizzes/hand_anatomy.yaml").read()  # doctest: +SKIP
    >>> quiz = parse_quiz(text, name="hand_anatomy.yaml")  # doctest: +SKIP
    >>> quiz.model.quiz.title  # doctest: +SKIP
    'Hand anatomy'
    """
    data, lines = read_yaml(text, name)
    if data is None:
        raise QuizError([Problem(name, 1, "the file is empty; expected format_version, quiz and questions")])
    if not isinstance(data, dict):
        raise QuizError([Problem(name, 1, f"expected a mapping with format_version, quiz and questions, "
                                          f"not a {type(data).__name__}")])
    problems = _duplicate_ids(name, data, lines)
    try:
        model = schema.QuizFile.model_validate(data)
    except ValidationError as exc:
        problems += _validation_problems(name, data, lines, exc)
    if problems:
        raise QuizError(problems)
    return LoadedQuiz(path or Path(name), name, model, lines)


def load_quiz(path: str | Path) -> LoadedQuiz:
    """Read and validate one quiz file.

    Parameters
    ----------
    path
        A ``.yaml`` file; messages name it as given.

    Raises
    ------
    QuizError
        When the file cannot be read, is not valid YAML or does not follow the format.

    Examples
    --------
    >>> from handatlas.quiz import default_quiz_dir, load_quiz
    >>> quiz = load_quiz(default_quiz_dir() / "hand_anatomy.yaml")
    >>> quiz.model.format_version
    1
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise QuizError([Problem(name, 0, f"cannot read the file: {reason}")]) from None
    return parse_quiz(text, name=name, path=Path(path))


def quiz_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders to their ``*.yaml`` / ``*.yml`` files (sorted); keep files as given."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            out.append(p)
    return out
