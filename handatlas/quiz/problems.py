"""Problems found in quiz files, each naming the file, the line and the field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a quiz file.

    ``str(problem)`` reads ``quizzes/wrist.yaml:14: question 'q3', field 'grade': 'hard' is not
    one of light, moderate, firm``.

    Attributes
    ----------
    file : str
        The file as the user named it.
    line : int
        1-based line (0 when the file could not be read at all).
    message : str
        What is wrong, with a "did you mean" where one helps.
    question : str or None
        The question's id (or ``#n`` when it has none), ``None`` outside questions.
    field : str or None
        The field, e.g. ``grade`` or ``options[2]``; ``quiz.pass_mark`` in the header.
    """

    file: str
    line: int
    message: str
    question: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        scope = []
        if self.question is not None:
            scope.append(f"question {self.question!r}" if not self.question.startswith("#")
                         else f"question {self.question}")
        if self.field is not None:
            scope.append(f"field {self.field!r}")
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {', '.join(scope)}: {self.message}" if scope else f"{where}: {self.message}"


class QuizError(ValueError):
    """A quiz file that cannot be loaded; ``problems`` lists every reason, in line order.

    Examples
    --------
    >>> from handatlas.quiz import load_quiz
    >>> load_quiz("broken.yaml")  # doctest: +SKIP
    Traceback (most recent call last):
    QuizError: broken.yaml:3: broken YAML: ...
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: (p.file, p.line)))
        super().__init__("\n".join(str(p) for p in self.problems))


def format_field(path: Sequence[str | int]) -> str | None:
    """``("options", 2)`` -> ``"options[2]"``; ``("quiz", "pass_mark")`` -> ``"quiz.pass_mark"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


class QuizFlowError(ValueError):
    """Something the app shows as ``str(err)``: a refused quiz name, a broken file, a bad answer."""
