"""The order a question's options are shown in: shuffled per attempt, mapped back to the file's.

An order question's items are shown in a drawn order as far from the right one as from its
reverse (:func:`order_items`), and a territory question's nerves in a drawn order too
(:func:`territory_choices`).

A quiz file tends to list the right option first; shown in the file's order, always picking the
first option would pass.  Every run (the web app's quizzes and drills, the terminal drill) draws
an order per question from its seeded random generator, shows the options in it, takes answers
as positions among the options shown and grades them as indices into the file's options.  The
order stays on the server: sent to the page, it would tell where the file's first option went.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

from handatlas.quiz import schema
from handatlas.quiz.grading import kendall_tau

#: Draws :func:`order_items` makes before it keeps the best order drawn.
ORDER_DRAWS = 500


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


def picked_options(answer: Any) -> list[int]:
    """The option indices in a choice or identify answer (none for a typed name or a skip).

    Examples
    --------
    >>> picked_options([0, 2]), picked_options(1), picked_options("median nerve"), picked_options(None)
    ([0, 2], [1], [], [])
    """
    values = answer if isinstance(answer, list | tuple) else [answer]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def shown_positions(order: Iterable[int], indices: Iterable[int]) -> tuple[int, ...]:
    """Where the file's options ``indices`` were shown, given the order shown (sorted positions).

    Examples
    --------
    >>> shown_positions((2, 0, 1), [0, 2])
    (0, 1)
    """
    place = {i: n for n, i in enumerate(order)}
    return tuple(sorted(place[i] for i in indices if i in place))


def order_items(items: list[str], rng: random.Random) -> tuple[str, ...]:
    """The items of an order question in the order to show them, drawn from ``rng``.

    Order answers score Kendall's tau against the right order, floored at 0
    (:func:`handatlas.quiz.grading.grade_order`); the order shown has tau as close to 0 as the
    item count allows (0 when the number of pairs is even, else one pair's worth), so that
    submitting it untouched, or reversed, earns about nothing.  Never the right order itself.
    """
    n = len(items)
    if n < 2 or len(set(items)) < n:
        return tuple(items)
    pairs = n * (n - 1) // 2
    best: list[int] | None = None
    for _ in range(ORDER_DRAWS):
        order = list(range(n))
        rng.shuffle(order)
        if order == sorted(order):
            continue
        if best is None or abs(kendall_tau(order)) < abs(kendall_tau(best)):
            best = order
        if abs(kendall_tau(best)) * pairs <= pairs % 2:
            break
    return tuple(items[i] for i in (best or list(range(n))[::-1]))


def territory_choices(territories: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """The nerves a territory question offers, in an order drawn from ``rng``.

    Answers are names, not positions, so nothing maps back.
    """
    out = list(territories)
    rng.shuffle(out)
    return tuple(out)
