"""The quiz file format (``quizzes/*.yaml``), as pydantic models.

A file holds one quiz::

    format_version: 1
    quiz:
      id: wrist_caution            # lower-case slug, unique across the bank
      title: Areas of caution at the wrist
      author: handatlas
      pass_mark: 0.8               # a fraction of the total score, 0 to 1 (0.8 = 80 %)
      shuffle: true                # present questions (and options) in random order
      description: Optional text.
    questions:
      - id: pulse_firm             # unique within the file
        type: press                # locate, identify, press, territory, choice, order
        prompt: A firm press at the radial pulse point. What is the verdict?
        where: radial_pulse        # a landmark id, or [x, y, z] in mm (hand frame)
        grade: firm
        ask: [verdict, at_risk]
        explanation: A {grade} press here is {verdict}; the {structure} lies {depth_mm} mm deep.
        tags: [topic:radial_artery, domain:pathology]
        difficulty: 2

Spatial answer keys (what a locate click must hit, the verdict of a press, the structures at
risk, the territory of a point) are never written in the file: :mod:`handatlas.quiz.keys`
computes them from the atlas, so a quiz cannot contradict the model; a press explanation is a
template filled from that key (:mod:`handatlas.quiz.explanations`).  Choice answers are
0-based indices into ``options``; ``order`` lists its items in the correct order.

Every model forbids unknown keys; texts, questions per file and the file itself are bounded by
:mod:`handatlas.quiz.limits`.  Checks that need the atlas, or that concern whether an answer
is possible at all (an index out of range, duplicate options), live in
:mod:`handatlas.quiz.checking`, so that they are reported with the file's line numbers.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, StrictInt, field_validator

from handatlas.lookup.grades import GRADES as GRADE_FORCE_N
from handatlas.quiz.limits import MAX_PROMPT_CHARS, MAX_TEXT_CHARS

#: The format version this module reads and writes.
FORMAT_VERSION = 1
#: Question types, in the order the documentation lists them.
QUESTION_TYPES = ("locate", "identify", "press", "territory", "choice", "order")
#: Press grades, in order of force: the names of :data:`handatlas.lookup.grades.GRADES` (one definition).
GRADES: tuple[str, ...] = tuple(GRADE_FORCE_N)
#: What a press question can ask for.
PRESS_ASKS = ("verdict", "at_risk")
#: Tag prefixes: ``topic:<what>`` and ``domain:<exam domain>``.
TAG_PREFIXES = ("topic", "domain")

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=80)]
#: Texts are bounded (:mod:`handatlas.quiz.limits`): a prompt, and any other text.
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS)]
Prompt = Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]
OptionalText = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
Tag = Annotated[str, Field(pattern=r"^(topic|domain):[a-z0-9][a-z0-9_-]*$", max_length=80)]
Point = tuple[FiniteFloat, FiniteFloat, FiniteFloat]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class QuizHeader(_Model):
    """The ``quiz:`` block.

    ``pass_mark`` is a fraction from 0 to 1 of the maximum score (``0.8`` means 80 %); a
    percentage such as ``80`` is refused with that hint rather than guessed.
    """

    id: Slug
    title: Text
    author: Text
    pass_mark: Annotated[float, Field(ge=0.0, le=1.0)] = 0.7
    shuffle: bool = False
    description: OptionalText = ""


class _Question(_Model):
    """Fields every question has."""

    id: Slug
    prompt: Prompt
    explanation: Text
    tags: list[Tag] = Field(default_factory=list)
    difficulty: Annotated[StrictInt, Field(ge=1, le=5)] = 3


class Locate(_Question):
    """Click the target: a structure (id, name, acronym or synonym) or a landmark id.

    A click within ``tolerance_mm`` of the target's surface (or of the landmark point) scores
    full marks; see :func:`handatlas.quiz.grading.grade_locate`.
    """

    type: Literal["locate"]
    target: Text
    tolerance_mm: Annotated[float, Field(gt=0.0, le=50.0)] = 5.0


class Identify(_Question):
    """Name the highlighted ``target`` structure, from ``options`` or typed.

    Typed answers match the name, acronym, synonyms and ``accept`` (extra spellings) with a
    little fuzziness; ``synonyms: false`` accepts the name and ``accept`` only.
    """

    type: Literal["identify"]
    target: Text
    options: list[OptionalText] | None = None
    accept: list[Text] = Field(default_factory=list)
    synonyms: bool = True


class Press(_Question):
    """Press at ``where`` with ``grade``: give the verdict and/or the structures at risk."""

    type: Literal["press"]
    where: Text | Point
    grade: Literal[GRADES] = "moderate"  # type: ignore[valid-type]
    radius_mm: Annotated[float, Field(gt=0.0, le=40.0)] = 8.0
    ask: list[Literal[PRESS_ASKS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: ["verdict"], min_length=1
    )

    @field_validator("ask", mode="before")
    @classmethod
    def _one_ask(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Territory(_Question):
    """Which nerve supplies the skin at ``where`` (a landmark id or a point)?

    ``variant`` names one of the atlas's territory variants; default the atlas's default.
    """

    type: Literal["territory"]
    where: Text | Point
    variant: OptionalText | None = None


class Choice(_Question):
    """Single best answer (``answer: 2``) or multiple answers (``answer: [0, 2]``).

    Indices are 0-based.  ``scenario`` holds the case text of a certification-style item.
    """

    type: Literal["choice"]
    scenario: OptionalText = ""
    options: list[OptionalText]
    answer: StrictInt | list[StrictInt]

    @property
    def answers(self) -> tuple[int, ...]:
        """The right indices as a tuple."""
        return (self.answer,) if isinstance(self.answer, int) else tuple(self.answer)

    @property
    def multiple(self) -> bool:
        """Whether the learner may pick several options (``answer`` is a list)."""
        return isinstance(self.answer, list)


class Order(_Question):
    """Put ``items`` (written here in the correct order) in order."""

    type: Literal["order"]
    items: list[OptionalText]


Question = Annotated[Locate | Identify | Press | Territory | Choice | Order, Field(discriminator="type")]
#: The types whose answer is a place on the hand (their keys are computed from the atlas).
SPATIAL_TYPES = QUESTION_TYPES[:4]


class QuizFile(_Model):
    """A whole quiz file."""

    format_version: Literal[1]
    quiz: QuizHeader
    questions: Annotated[list[Question], Field(min_length=1)]
