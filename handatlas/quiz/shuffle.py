"""The order a question's options are shown in: shuffled per attempt, mapped back to the file's.

A quiz file tends to list the right option first; shown in the file's order, always picking the
first option would pass.  Every run (the web app's quizzes and drills, the terminal drill) draws
an order per question from its seeded random generator, shows the options in it, takes answers
as positions among the options shown and grades them as indices into the file's options.  The
order stays on the server: sent to the page, it would tell where the file's first option went.
"""

from __future__ import annotations

import random
from typing import Any

from handatlas.quiz import schema


def option_order(question: schema.Question, rng: random.Random) -> tuple[int, ...] | None:
    """The order to show a question's options in (indices into the file's), drawn from ``rng``;
    None for a question without options.

    A file lists the right option first more often than not; shown in the file's order, always
    picking the first option would pass.  The order stays on the server (it would tell where the
    file's first option went).
    """
    options = question.options if isinstance(question, schema.Choice | schema.Identify) else None
    if not options:
        return None
    order = list(range(len(options)))
    rng.shuffle(order)
    return tuple(order)


def unshuffle(question: schema.Question, answer: Any, order: tuple[int, ...] | None) -> Any:
    """An answer given by position among the shown options, as indices into the file's options.

    Anything that is not an option position (a typed name, a click, a verdict) is returned as is;
    a position out of range is too, so that grading names it.
    """
    if order is None or not isinstance(question, schema.Choice | schema.Identify):
        return answer

    def back(i: Any) -> Any:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(order):
            return i
        return order[i]

    if isinstance(answer, list | tuple):
        return sorted(back(i) for i in answer)
    return back(answer)
