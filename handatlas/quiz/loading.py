"""Read quiz files: safe YAML with line numbers, validated by :mod:`handatlas.quiz.schema`.

The YAML is composed with :class:`yaml.SafeLoader` (never ``yaml.load``), so only plain data is
built, and the node tree gives every key and item its line.  Any problem raises a
:class:`~handatlas.quiz.problems.QuizError` listing every reason as ``file:line: question 'id',
field 'name': message``.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from handatlas.quiz import limits, schema
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
class _Refused(Exception):
    """Refused while reading the YAML (a limit of :mod:`~handatlas.quiz.limits`, a value Python
    cannot hold), at a 1-based line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


class _BoundedLoader(yaml.SafeLoader):
    """:class:`yaml.SafeLoader` that refuses deep nesting and alias bombs while composing.

    PyYAML composes recursively: nesting thousands deep ends in a ``RecursionError``, and aliases
    of aliases ("billion laughs") expand to billions of nodes downstream.  Each node is counted
    as composed (an alias as every node it repeats), so neither ever gets far.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0
        self.nodes = 0
        self.aliases = 0
        self.sizes: dict[int, int] = {}  # id(node) -> its node count, once composed

    def _count(self, n: int, line: int) -> None:
        self.nodes += n
        if self.nodes > limits.MAX_NODES:
            raise _Refused(line, f"too much data: over {limits.MAX_NODES:,} YAML values "
                                    f"(counting each alias as all it repeats) by this line")

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # an integer of 5000 digits, a 13th month
            raise _Refused(node.start_mark.line + 1, f"this value cannot be read: {exc}") from None

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > limits.MAX_ALIASES:
                raise _Refused(line, f"too many aliases (*{event.anchor}): at most "
                                        f"{limits.MAX_ALIASES} in a file")
            node = super().compose_node(parent, index)
            size = self.sizes.get(id(node))
            if size is None:
                raise _Refused(line, f"the alias *{event.anchor} is inside the value it names "
                                        f"(a value that contains itself)")
            self._count(size, line)
            return node
        self.depth += 1
        if self.depth > limits.MAX_DEPTH:
            raise _Refused(line, f"nested too deeply: more than {limits.MAX_DEPTH} levels of "
                                    f"lists and mappings (a quiz needs 4)")
        before = self.nodes
        self._count(1, line)
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        self.sizes[id(node)] = self.nodes - before
        return node


def _walk(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], dupes: list[tuple[PathKey, int, int]],
          seen: set[int], spans: dict[PathKey, tuple[int, int]]) -> None:
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
            _walk(value_node, (*path, key), lines, dupes, seen, spans)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, dupes, seen, spans)
    elif node.end_mark.line > node.start_mark.line:  # a text over several lines
        spans[path] = (node.start_mark.line + 1, node.end_mark.line + 1)


@dataclass(frozen=True)
class _Parsed:
    data: Any
    lines: dict[PathKey, int]
    #: The first and last line of each text written over several lines.
    spans: dict[PathKey, tuple[int, int]]


def _yaml_problem(exc: yaml.YAMLError, text: str, name: str) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: only its position is known
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return Problem(name, line, f"broken YAML: the control character U+{code:04X} is not allowed "
                                   f"in YAML text (column {column})")
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else 1
    what = getattr(exc, "problem", None) or str(exc)
    if what == "mapping values are not allowed here":
        what += ("; is this key indented further than the keys above it, or does a text hold "
                 "': ' (then quote the text)?")
    elif what.startswith("expected <block end>"):
        what = (f"{what}; is this line indented further than the lines above it, or a list item "
                f"('- ') out of line?")
    where = f" (column {mark.column + 1})" if mark is not None else ""
    return Problem(name, line, f"broken YAML: {what}{where}")


def _refused(name: str, problems: list[Problem]) -> QuizError:
    """The error for ``problems``: the first :data:`~handatlas.quiz.limits.MAX_PROBLEMS` by line,
    then how many more."""
    problems = sorted(problems, key=lambda p: p.line)
    if len(problems) <= limits.MAX_PROBLEMS:
        return QuizError(problems)
    rest = problems[limits.MAX_PROBLEMS:]
    return QuizError([*problems[:limits.MAX_PROBLEMS],
                      Problem(name, rest[0].line, f"and {len(rest)} more problems from this line on "
                                                  f"(fix the first {limits.MAX_PROBLEMS})")])


def _parse(text: str, name: str) -> _Parsed:
    try:
        loader = _BoundedLoader(text)  # refuses control characters at once
    except yaml.YAMLError as exc:
        raise QuizError([_yaml_problem(exc, text, name)]) from None
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise QuizError([_yaml_problem(exc, text, name)]) from None
    except _Refused as exc:
        raise QuizError([Problem(name, exc.line, exc.message)]) from None
    finally:
        loader.dispose()
    lines: dict[PathKey, int] = {}
    spans: dict[PathKey, tuple[int, int]] = {}
    dupes: list[tuple[PathKey, int, int]] = []
    if node is not None:
        _walk(node, (), lines, dupes, set(), spans)
    if dupes:
        raise _refused(name, [_located(name, data, path, line, f"given twice (first at line {first})")
                              for path, line, first in dupes])
    return _Parsed(data, lines, spans)


def read_yaml(text: str, name: str) -> tuple[Any, dict[PathKey, int]]:
    """Safely parse one YAML document and map every key path to its line.

    The :mod:`~handatlas.quiz.limits` on nesting, aliases and size hold.

    Raises
    ------
    QuizError
        For broken YAML (with its line), several documents, a key given twice, or a limit passed.

    Examples
    --------
    >>> data, lines = read_yaml("a:\\n  b: [1, 2]\\n", "x.yaml")
    >>> data, lines[("a", "b")]
    ({'a': {'b': [1, 2]}}, 2)
    """
    parsed = _parse(text, name)
    return parsed.data, parsed.lines


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


def _shown(value: Any, *, limit: int = 80) -> str:
    """``repr(value)``, cut short: a message never repeats a huge value."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 20]}… ({len(text):,} characters)"


def _fields_at(data: Any, path: PathKey) -> set[str]:
    """The fields of the model at ``path`` (a question of unknown type: any question's fields)."""
    if path == ("quiz",):
        return set(schema.QuizHeader.model_fields)
    model = _model_at(data, path)
    if model is None:
        return {f for m in _QUESTION_MODELS.values() for f in m.model_fields}
    return set(model.model_fields)


_BREAKS = re.compile("\r\n|\r|\n|\x85|\u2028|\u2029")  # the line breaks YAML counts


def _misplaced_keys(name: str, data: Any, parsed: _Parsed, text: str) -> tuple[list[Problem], set[PathKey]]:
    """Keys indented too far, each reported at its own line; and the paths those reports explain.

    Indented deeper than its neighbours, a key either becomes a mapping under the key above it
    (``explanation:`` then ``  options: ...``) or, after a text written over several lines,
    part of that text.  Either way the field it was meant to be is missing or defaulted, and
    pydantic would report it at the question's first line.
    """
    blocks: list[PathKey] = [("quiz",)] if isinstance(data.get("quiz"), dict) else []
    questions = data.get("questions")
    blocks += [("questions", i) for i, q in enumerate(questions if isinstance(questions, list) else [])
               if isinstance(q, dict)]
    mappings = {block: data[block[0]] if len(block) == 1 else data[block[0]][block[1]] for block in blocks}
    problems: list[Problem] = []
    covered: set[PathKey] = set()
    for block, mapping in mappings.items():  # a key nested under the key above it
        fields = _fields_at(data, block)
        for key, value in mapping.items():
            if not isinstance(value, dict):
                continue
            for inner in [k for k in value if k in fields and k != key]:
                line, above = _line(parsed.lines, (*block, key, inner)), _line(parsed.lines, (*block, key))
                problems.append(_located(name, data, (*block, inner), line,
                                         f"indented under {key!r} (line {above}): line {inner!r} up "
                                         f"with {key!r}"))
                covered |= {(*block, key), (*block, inner)}
    text_lines = _BREAKS.split(text) if parsed.spans else []
    for path, (first, last) in parsed.spans.items():  # a key swallowed by a text over several lines
        block = path[:2] if path[:1] == ("questions",) else path[:1]
        if block not in mappings or len(path) <= len(block):
            continue
        fields, key = _fields_at(data, block), path[len(block)]
        for number in range(first + 1, min(last, len(text_lines)) + 1):
            found = re.match(r"\s*([a-z_]+)\s*:(\s|$)", text_lines[number - 1])
            if found and found[1] in fields and found[1] not in mappings[block]:
                inner = found[1]
                problems.append(_located(name, data, (*block, inner), number,
                                         f"read as part of the text of {key!r} (line {first}), "
                                         f"being indented further than {key!r}: line {inner!r} up "
                                         f"with {key!r}"))
                covered.add((*block, inner))
    header = data.get("quiz")
    for inner in [k for k in header if k in schema.QuizFile.model_fields and k not in data] \
            if isinstance(header, dict) else []:  # questions: indented under quiz:
        line, above = _line(parsed.lines, ("quiz", inner)), _line(parsed.lines, ("quiz",))
        problems.append(Problem(name, line, f"indented under 'quiz' (line {above}): line {inner!r} up "
                                            f"with 'quiz'", None, inner))
        covered |= {("quiz", inner), (inner,)}
    return problems, covered


def _message(err: dict[str, Any], data: Any, path: PathKey) -> tuple[PathKey, str]:
    """Our wording of one pydantic error, and the path it belongs to."""
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    field_name = next((p for p in reversed(path) if isinstance(p, str)), "")
    if kind == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        close = difflib.get_close_matches(tag, schema.QUESTION_TYPES, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (*path, "type"), (f"unknown question type {_shown(tag)}{hint} "
                                 f"(types: {', '.join(schema.QUESTION_TYPES)})")
    if kind == "union_tag_not_found":
        return (*path, "type"), f"missing; choose one of {', '.join(schema.QUESTION_TYPES)}"
    question = data["questions"][path[1]] if len(path) >= 3 and path[0] == "questions" else None
    hinted = field_name in _FIELD_HINTS and question is not None and path[2] == field_name
    if hinted and field_name in question:
        value = question[field_name]
        quote = _QUOTE if isinstance(value, list) and any(isinstance(v, bool) for v in value) else ""
        return path[:3], f"{_FIELD_HINTS[field_name]}, not {_shown(value)}{quote}"
    if kind == "string_too_long":
        return path, f"too long: {len(value):,} characters, at most {ctx.get('max_length'):,}"
    if kind == "string_type" and isinstance(value, bool):
        return path, f"expected a text, got {_shown(value)}{_QUOTE}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return path, f"must be a mapping of fields, not {type(value).__name__} {_shown(value)}"
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
        return path, f"{_shown(value)} is not supported: this handatlas reads format_version {supported}"
    if kind == "literal_error":
        return path, f"{_shown(value)} is not one of {_choices(str(ctx.get('expected', '')))}"
    if kind == "string_pattern_mismatch" and field_name == "tags":
        return path, f"{_shown(value)} must look like topic:<word> or domain:<word> (lower case, _ or -)"
    if kind == "string_pattern_mismatch":
        return path, f"{_shown(value)} must be lower-case letters, digits, '_', '.' or '-'"
    if kind == "too_short" and path == ("questions",):
        return path, "the quiz needs at least one question"
    if field_name == "pass_mark":
        return path, f"{_shown(value)} is not a fraction from 0 to 1 (write 0.8 for 80 %)"
    msg = err["msg"][0].lower() + err["msg"][1:]
    shown = "" if isinstance(value, dict | list) else f" (got {_shown(value)})"
    return path, f"{msg}{shown}"


def _validation_problems(name: str, data: Any, lines: dict[PathKey, int], exc: ValidationError, *,
                         covered: set[PathKey] = frozenset()) -> list[Problem]:
    """Our problems for pydantic's errors, except those under ``covered`` (already explained)."""
    problems: dict[tuple[PathKey, str], Problem] = {}
    for err in exc.errors():
        path = _data_path(data, err["loc"], missing=err["type"] in ("missing", "extra_forbidden"))
        if any(path[:len(c)] == c for c in covered):
            continue
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
    parsed = _parse(text, name)
    data, lines = parsed.data, parsed.lines
    if data is None:
        raise QuizError([Problem(name, 1, "the file is empty; expected format_version, quiz and questions")])
    if not isinstance(data, dict):
        raise QuizError([Problem(name, 1, f"expected a mapping with format_version, quiz and questions, "
                                          f"not a {type(data).__name__}")])
    questions = data.get("questions")
    if isinstance(questions, list) and len(questions) > limits.MAX_QUESTIONS:
        line = _line(lines, ("questions", limits.MAX_QUESTIONS))
        raise QuizError([Problem(name, line, f"too many questions: {len(questions)}, at most "
                                             f"{limits.MAX_QUESTIONS} in a file (split it into several "
                                             f"files); question #{limits.MAX_QUESTIONS + 1} starts here",
                                 None, "questions")])
    problems, covered = _misplaced_keys(name, data, parsed, text)
    problems += _duplicate_ids(name, data, lines)
    try:
        model = schema.QuizFile.model_validate(data)
    except ValidationError as exc:
        problems += _validation_problems(name, data, lines, exc, covered=covered)
    if problems:
        raise _refused(name, problems)
    return LoadedQuiz(path or Path(name), name, model, lines)


def load_quiz(path: str | Path, *, folder: str | Path | None = None) -> LoadedQuiz:
    """Read and validate one quiz file.

    Parameters
    ----------
    path
        A ``.yaml`` file; messages name it as given.  It must be a regular file within the
        :mod:`~handatlas.quiz.limits`.
    folder
        The folder ``path`` was listed from: a path (a symlink) leading out of it is refused.

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
    if folder is not None and outside_folder(Path(path), Path(folder)):
        raise QuizError([Problem(name, 0, f"refusing {Path(path).name}: it points outside the quiz "
                                          f"folder {folder}")])
    return parse_quiz(read_quiz_text(path, name=name), name=name, path=Path(path))


def read_quiz_text(path: str | Path, *, name: str) -> str:
    """The text of a quiz file: a regular file, UTF-8, at most ``limits.MAX_FILE_BYTES`` long.

    Never blocks on a FIFO and never reads more than the limit (plus one byte).

    Raises
    ------
    QuizError
        For a folder, a FIFO or device, a file that cannot be opened, a file over the size limit
        (at the line where the limit is reached) or bytes that are not UTF-8 (at their line).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise QuizError([Problem(name, 0, f"cannot read the file: {exc.strerror or exc}")]) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = ("is a folder, not a quiz file" if stat.S_ISDIR(mode)
                else "is not a regular file (a FIFO, socket or device): not read")
        raise QuizError([Problem(name, 0, what)])
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(limits.MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise QuizError([Problem(name, 0, f"cannot read the file: {exc.strerror or exc}")]) from None
    if len(data) > limits.MAX_FILE_BYTES:
        line = data.count(b"\n", 0, limits.MAX_FILE_BYTES) + 1
        raise QuizError([Problem(name, line, f"the file is over the size limit of "
                                             f"{limits.MAX_FILE_BYTES / 1e6:g} MB (reached at this line): "
                                             f"split it into several files")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise QuizError([Problem(name, line, f"not UTF-8 text: byte {data[exc.start]:#04x} at column "
                                             f"{column} (save the file as UTF-8)")]) from None


def outside_folder(path: Path, folder: Path) -> bool:
    """Whether ``path`` (a symlink, say) resolves to somewhere outside ``folder``.

    A symlink loop never raises here (it resolves to where the loop is, and fails to load).
    """
    return not real_path(path).is_relative_to(real_path(folder))


def real_path(path: str | Path) -> Path:
    """``path`` with every symlink resolved; unlike ``Path.resolve`` on Python 3.11, never raises
    on a symlink loop."""
    return Path(os.path.realpath(path))


def folder_files(folder: str | Path) -> list[Path]:
    """The ``*.yaml`` / ``*.yml`` entries of a folder, sorted: files, and whatever else is so named."""
    folder = Path(folder)
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def quiz_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders to their ``*.yaml`` / ``*.yml`` files (sorted); keep files as given.

    A folder itself named ``*.yaml`` is kept as a file (loading it says what it is).
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir() and p.suffix not in (".yaml", ".yml"):
            out += folder_files(p)
        else:
            out.append(p)
    return out
