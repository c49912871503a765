"""Quizzes: the file format, loading with file:line errors, checking against the atlas, grading.

No UI code here.  Spatial answer keys are computed from the atlas (:mod:`handatlas.quiz.keys`),
never typed in a quiz file.

Examples
--------
>>> from handatlas import load_atlas
>>> from handatlas.quiz import check_files, default_quiz_dir, grade, load_quiz
>>> atlas = load_atlas()
>>> check_files([default_quiz_dir()], atlas)
[]
>>> quiz = load_quiz(default_quiz_dir() / "areas_of_caution.yaml")
>>> question = next(q for q in quiz.questions if q.type == "press")
>>> grade(question, {"verdict": "avoid"}, atlas=atlas).score  # doctest: +SKIP
1.0
"""

from __future__ import annotations

from pathlib import Path

from handatlas.quiz.checking import check_files, check_quiz
from handatlas.quiz.grading import Grade, grade
from handatlas.quiz.keys import compute_key
from handatlas.quiz.loading import LoadedQuiz, load_quiz, parse_quiz, quiz_paths
from handatlas.quiz.problems import Problem, QuizError
from handatlas.resources import shipped_dir

QUIZ_ENV = "HANDATLAS_QUIZZES"

__all__ = [
    "Grade",
    "LoadedQuiz",
    "Problem",
    "QuizError",
    "check_files",
    "check_quiz",
    "compute_key",
    "default_quiz_dir",
    "grade",
    "load_quiz",
    "parse_quiz",
    "quiz_paths",
]


def default_quiz_dir() -> Path:
    """Where the shipped quizzes live: ``$HANDATLAS_QUIZZES``, the wheel's data, or the source tree.

    Examples
    --------
    >>> default_quiz_dir().name
    'quizzes'
    """
    return shipped_dir("quizzes", env=QUIZ_ENV)
