"""Press-question explanations as templates filled from the computed key.

A press question's key (its verdict, the structure the verdict is about and that structure's
depth) is computed from the atlas by the pressure model, never typed in the quiz file.  The
explanation that teaches it must not contradict it, so a press explanation is a template::

    explanation: >-
      Verdict at {grade} pressure: {verdict}. The {structure} lies {depth_mm} mm under the skin
      here, on the flat distal radius; take a pulse with the fingertips and light pressure.

Its fields are :data:`FIELDS`. The words of the verdicts (:data:`VERDICT_WORDS`) may appear only
through ``{verdict}``, so a template can never state a verdict of its own (the bank's press
explanations all say it: ``tests/test_quiz_explanations.py``). ``{depth_mm}`` takes a format
(``{depth_mm:.0f}``); the others take none. Only plain field names are allowed (no attributes,
indices or conversions). Other question types have no computed fields: their explanation is
plain text.
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING

from handatlas.quiz import schema

if TYPE_CHECKING:
    from handatlas.quiz.keys import Key, PressKey

#: The fields a press explanation may use.
FIELDS = ("verdict", "structure", "depth_mm", "grade")
#: Fields that take a format spec (numbers).
NUMERIC = ("depth_mm",)
#: Words that state a verdict: in a press explanation only ``{verdict}`` may supply them.
VERDICT_WORDS = re.compile(r"\b(safe|caution|avoid)\b", re.IGNORECASE)


def _fields(template: str) -> list[tuple[str, str, str | None]]:
    """``(field, format spec, conversion)`` for each replacement field; raises ``ValueError``."""
    return [(name, spec or "", conversion) for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None]


def template_problems(template: str) -> list[str]:
    """What is wrong with a press explanation as a template (an empty list when nothing).

    Examples
    --------
    >>> template_problems("Verdict: {verdict}; the {structure} is {depth_mm:.0f} mm deep.")
    []
    >>> template_problems("Avoid this point: the {nerve} is close.")
    ['unknown field {nerve} (fields: {verdict}, {structure}, {depth_mm}, {grade})', \
"the verdict word 'Avoid' is written out: say it with {verdict}, so that it follows the key"]
    """
    try:
        fields = _fields(template)
    except ValueError as exc:
        return [f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}"]
    known = ", ".join(f"{{{f}}}" for f in FIELDS)
    out = []
    for name, spec, conversion in fields:
        if name not in FIELDS:
            out.append(f"unknown field {{{name}}} (fields: {known})")
        elif conversion is not None:
            out.append(f"{{{name}!{conversion}}}: conversions are not allowed")
        elif spec and name not in NUMERIC:
            out.append(f"{{{name}:{spec}}}: only {', '.join(NUMERIC)} takes a format")
        elif spec:
            try:
                format(1.0, spec)
            except ValueError:
                out.append(f"{{{name}:{spec}}}: not a number format")
    literal = "".join(text for text, *_ in string.Formatter().parse(template))
    out += [f"the verdict word {m.group(0)!r} is written out: say it with {{verdict}}, so that it follows "
            f"the key" for m in VERDICT_WORDS.finditer(literal)]
    return out


def press_values(key: PressKey) -> dict[str, object]:
    """The values of :data:`FIELDS` for a press key (``structure``/``depth_mm`` may be ``None``)."""
    return {"verdict": key.verdict, "structure": key.structure, "depth_mm": key.depth_mm, "grade": key.grade}


def render_press(template: str, key: PressKey) -> str:
    """The explanation of a press question with the fields of its key filled in.

    Raises
    ------
    ValueError
        When the template is invalid (:func:`template_problems`) or uses ``{structure}`` or
        ``{depth_mm}`` where no nerve or vessel is within reach of the press.
    """
    problems = template_problems(template)
    if problems:
        raise ValueError("; ".join(problems))
    values = press_values(key)
    used = {name for name, _, _ in _fields(template)}
    missing = sorted(n for n in used if values[n] is None)
    if missing:
        msg = (f"uses {', '.join('{' + n + '}' for n in missing)}, but no nerve or vessel is within reach of "
               f"this press (verdict {key.verdict})")
        raise ValueError(msg)
    return template.format_map(values)


def explanation_text(question: schema.Question, key: Key) -> str:
    """The explanation a learner reads: whitespace collapsed, press fields filled from ``key``."""
    text = " ".join(question.explanation.split())
    if isinstance(question, schema.Press):
        return render_press(text, key)  # type: ignore[arg-type]
    return text
