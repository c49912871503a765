"""Check quizzes against the atlas: unknown ids, impossible answers, empty keys.

Loading (:mod:`handatlas.quiz.loading`) refuses what the format itself forbids.  Checking
finds what only the content or the atlas can tell: an answer index out of range, duplicate or
empty options, an order of fewer than two items, an unknown structure or landmark (with "did you
mean"), a locate target without geometry, a press that asks for the structures at risk where
none are, a territory point outside the hand's territories, a quiz id used by two files, a press
explanation that is not a template filled from its key (:mod:`handatlas.quiz.explanations`), a
press whose key is not clear of the model's thresholds (:data:`PRESS_MARGIN`), a territory
point near a border between territories (:data:`TERRITORY_MARGIN_MM`), a prompt that gives its
answer away by naming the key option and no other (:func:`giveaway_problems`), a question
without exactly one exam-domain tag of the blueprint (:func:`domain_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from handatlas.lookup.model import GRADE_FORCE_N
from handatlas.lookup.territory import skin_tree
from handatlas.quiz import schema
from handatlas.quiz.blueprint import DOMAIN_PREFIX, domain_problem
from handatlas.quiz.explanations import render_press, template_problems
from handatlas.quiz.keys import KeyProblem, compute_key, normalise
from handatlas.quiz.loading import LoadedQuiz, load_quiz, quiz_paths
from handatlas.quiz.problems import Problem, QuizError

if TYPE_CHECKING:
    from handatlas.atlas import Atlas

#: Territory labels a territory question may have as its answer.
HAND_TERRITORIES = ("median", "ulnar", "radial")

#: A press question's key is the model's one verdict, so it must hold with the force divided
#: and multiplied by this factor (a quarter either way, less than the gap between two grades:
#: moderate is 5 times light, firm 2.7 times moderate); so must the structures at risk when the
#: question asks for them.  Otherwise the answer would turn on a calibrated threshold.
PRESS_MARGIN = 1.25
#: A territory question's point must be at least this far (mm) from skin of another territory:
#: sources disagree near the borders, and so do hands.
TERRITORY_MARGIN_MM = 4.0
#: An option's name shorter than this (normalised) is not looked for in a prompt: "no" or "a"
#: occur in any text (:func:`giveaway_problems`).
GIVEAWAY_MIN_CHARS = 3


def _options(quiz: LoadedQuiz, i: int, options: list[str], *, kind: str) -> list[Problem]:
    if not options:
        return [quiz.problem(i, ("options",), "the option list is empty")]
    out = []
    if len(options) < 2:
        out.append(quiz.problem(i, ("options",), f"a {kind} needs at least 2 options, got 1"))
    return out + _distinct(quiz, i, options, field="options", noun="option")


def _distinct(quiz: LoadedQuiz, i: int, texts: list[str], *, field: str, noun: str) -> list[Problem]:
    """Blank texts and texts that repeat an earlier one (ignoring case and punctuation)."""
    out = []
    seen: dict[str, int] = {}
    for j, text in enumerate(texts):
        key = normalise(text)
        if not key:
            out.append(quiz.problem(i, (field, j), f"the {noun} is blank"))
        elif key in seen:
            first = seen[key]
            out.append(quiz.problem(i, (field, j), f"duplicate of {field}[{first}] {texts[first]!r}"))
        else:
            seen[key] = j
    return out


def structural_problems(quiz: LoadedQuiz, i: int, q: schema.Question) -> list[Problem]:
    """Problems of question ``i`` that need no atlas: impossible or ambiguous answers."""
    out: list[Problem] = []
    if isinstance(q, schema.Choice):
        out += _options(quiz, i, q.options, kind="choice question")
        if q.multiple and not q.answers:
            out.append(quiz.problem(i, ("answer",), "the answer list is empty: name at least one option"))
        for k, a in enumerate(q.answers):
            path = ("answer", k) if q.multiple else ("answer",)
            if not 0 <= a < len(q.options):
                top = f"0 to {len(q.options) - 1}" if q.options else "none: the list is empty"
                out.append(quiz.problem(i, path, f"index {a} is out of range: options are numbered {top}"))
            elif a in q.answers[:k]:
                out.append(quiz.problem(i, path, f"index {a} is listed twice"))
    elif isinstance(q, schema.Order):
        if len(q.items) < 2:
            message = f"an order question needs at least 2 items, got {len(q.items)}"
            out.append(quiz.problem(i, ("items",), message))
        out += _distinct(quiz, i, q.items, field="items", noun="item")
    elif isinstance(q, schema.Identify) and q.options is not None:
        out += _options(quiz, i, q.options, kind="identify question")
    elif isinstance(q, schema.Press):
        if len(set(q.ask)) != len(q.ask):
            out.append(quiz.problem(i, ("ask",), "lists the same thing twice"))
        out += [quiz.problem(i, ("explanation",), f"press explanations are templates filled from the "
                                                  f"computed key: {message}")
                for message in template_problems(" ".join(q.explanation.split()))]
    return out


def domain_problems(quiz: LoadedQuiz, i: int, q: schema.Question) -> list[Problem]:
    """A problem unless question ``i`` has exactly one exam-domain tag of the blueprint
    (:func:`handatlas.quiz.blueprint.domain_problem`), at its tags (or the question's first line)."""
    message = domain_problem(q)
    if message is None:
        return []
    domains = [j for j, t in enumerate(q.tags) if t.startswith(DOMAIN_PREFIX)]
    return [quiz.problem(i, ("tags", domains[-1]) if domains else ("tags",), message)]


def key_problems(quiz: LoadedQuiz, i: int, q: schema.Question, atlas: Atlas) -> list[Problem]:
    """Problems of question ``i`` found by computing its key from the atlas."""
    try:
        key = compute_key(q, atlas)
    except KeyProblem as exc:
        return [quiz.problem(i, exc.field_path, exc.message)]
    if isinstance(q, schema.Identify) and key.options is not None:
        if key.target not in key.options:
            return [quiz.problem(i, ("options",), f"none of the options is the target {key.target!r}")]
        if len(set(key.options)) != len(key.options):
            j = next(j for j, o in enumerate(key.options) if o in key.options[:j])
            return [quiz.problem(i, ("options", j), f"names {key.options[j]!r} again")]
    if isinstance(q, schema.Press) and "at_risk" in q.ask and not key.at_risk:
        return [quiz.problem(i, ("ask",), f"asks for the structures at risk, but a {q.grade} press here "
                                          f"puts none at risk (verdict {key.verdict}); ask for the "
                                          f"verdict only, or choose another point or grade")]
    if isinstance(q, schema.Press):
        try:
            render_press(" ".join(q.explanation.split()), key)
        except ValueError as exc:
            return [quiz.problem(i, ("explanation",), str(exc))]
    if isinstance(q, schema.Press):
        return _press_margin(quiz, i, q, atlas)
    if isinstance(q, schema.Territory) and key.territory not in HAND_TERRITORIES:
        return [quiz.problem(i, ("where",), f"the skin here is labelled {key.territory!r}, not a hand "
                                            f"territory ({', '.join(HAND_TERRITORIES)}); choose a point "
                                            f"on the hand")]
    if isinstance(q, schema.Territory):
        return _territory_margin(quiz, i, q, atlas, key.territory)
    return []


def _press_margin(quiz: LoadedQuiz, i: int, q: schema.Press, atlas: Atlas) -> list[Problem]:
    """A problem when the key changes with the force a quarter lower or higher (:data:`PRESS_MARGIN`)."""
    where = q.where if isinstance(q.where, str) else list(q.where)
    force = GRADE_FORCE_N[q.grade]
    reports = [atlas.press(where, grade=q.grade, radius_mm=q.radius_mm, force_n=force * f)
               for f in (1 / PRESS_MARGIN, 1.0, PRESS_MARGIN)]
    verdicts = [r.verdict for r in reports]
    if len(set(verdicts)) > 1:
        return [quiz.problem(i, ("grade",), f"the verdict is {verdicts[1]} at {q.grade}, but "
                                            f"{verdicts[0]} with a quarter less force or {verdicts[2]} with "
                                            f"a quarter more: too close to a threshold to be a fair key; "
                                            f"choose another point or grade")]
    sets = [{a.id for a in r.at_risk} for r in reports]
    if "at_risk" in q.ask and sets[0] != sets[2]:
        changed = sorted(sets[2] - sets[0])
        names = f"{', '.join(changed)} {'is' if len(changed) == 1 else 'are'}"
        return [quiz.problem(i, ("ask",), f"whether {names} at risk turns on a quarter more or less "
                                          f"force: ask for the verdict only, or choose another point "
                                          f"or grade")]
    return []


def _territory_margin(quiz: LoadedQuiz, i: int, q: schema.Territory, atlas: Atlas,
                      territory: str) -> list[Problem]:
    """A problem when skin of another territory is within :data:`TERRITORY_MARGIN_MM`."""
    point = atlas.landmark(q.where).point if isinstance(q.where, str) else np.asarray(q.where, dtype=float)
    codes = atlas.territory_codes(variant=q.variant)
    near = codes[skin_tree(atlas).query_ball_point(np.asarray(point, dtype=float), TERRITORY_MARGIN_MM)]
    others = sorted({atlas.territory_labels[c] for c in near} - {territory})
    if others:
        return [quiz.problem(i, ("where",), f"{' and '.join(others)} skin lies within "
                                            f"{TERRITORY_MARGIN_MM:g} mm: too near a border between "
                                            f"territories for a fair key; choose a point farther in")]
    return []


def _named_in(text: str, names: Iterable[str]) -> str | None:
    """The first of ``names`` (normalised) found in the normalised ``text`` as whole words."""
    for name in names:
        if len(name) >= GIVEAWAY_MIN_CHARS and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            return name
    return None


def _structure_names(atlas: Atlas | None, written: str) -> list[str]:
    """An identify option's names: as written and, when the atlas knows it, the structure's id
    (underscores as spaces), name, acronym and synonyms; normalised, longest first."""
    names = {normalise(written)}
    if atlas is not None and written in atlas:
        s = atlas.structure(written)
        names |= {normalise(a) for a in (s.id, s.name, s.acronym, *s.synonyms) if a}
    return sorted(names - {""}, key=lambda n: (-len(n), n))


def giveaway_problems(quiz: LoadedQuiz, i: int, q: schema.Question,
                      atlas: Atlas | None = None) -> list[Problem]:
    """A problem when question ``i``'s prompt gives its answer away: it names a key option and no
    wrong option.

    The rule, for choice, identify and territory questions:

    - The text read is the prompt (and a choice question's ``scenario``), compared after
      :func:`~handatlas.quiz.keys.normalise` (case, apostrophes and punctuation ignored), an
      option's name counting only as whole words ("ulnar" in "the ulnar side", not in
      "ulnaris") and only from :data:`GIVEAWAY_MIN_CHARS` characters.
    - An option's names: a choice option, its text.  An identify option, its text and, with the
      atlas, the id (underscores as spaces), name, acronym and synonyms of the structure it
      names (the atlas accepts them all as the answer).  An identify question without options
      has one option, its target, and no wrong one: any of its names in the prompt gives it
      away.  A territory question's options are :data:`HAND_TERRITORIES`, each named by its
      label alone or followed by "nerve"; its key is the computed territory (needs the atlas).
    - The question is refused when the options named in the text are some key options and no
      wrong option.  A prompt naming a wrong option too (or every option) is left alone.

    Locate, press and order questions are not checked: a locate prompt names its target by
    design, and press and order prompts have no options to single out.
    """
    text = normalise(q.prompt)
    if isinstance(q, schema.Choice):
        text = normalise(f"{q.scenario} {q.prompt}")
        names = [[normalise(o)] for o in q.options]
        keys, labels = set(q.answers), [f"option {j}" for j in range(len(q.options))]
    elif isinstance(q, schema.Identify):
        written = q.options if q.options is not None else [q.target]
        names = [_structure_names(atlas, o) for o in written]
        target = set(_structure_names(atlas, q.target))
        keys = {j for j, n in enumerate(names) if target & set(n)}
        labels = [f"option {j}" if q.options is not None else "the target" for j in range(len(written))]
    elif isinstance(q, schema.Territory) and atlas is not None:
        try:
            territory = compute_key(q, atlas).territory
        except KeyProblem:
            return []
        names = [[f"{t} nerve", t] for t in HAND_TERRITORIES]
        keys = {j for j, t in enumerate(HAND_TERRITORIES) if t == territory}
        labels = [f"the {t} nerve" for t in HAND_TERRITORIES]
    else:
        return []
    found = {j: name for j, options in enumerate(names) if (name := _named_in(text, options))}
    if not found or not set(found) <= keys:
        return []
    j = min(found)
    where = ("prompt",) if _named_in(normalise(q.prompt), [found[j]]) else ("scenario",)
    return [quiz.problem(i, where, f"names {found[j]!r} ({labels[j]}, the answer) and no wrong option: "
                                   f"it gives the answer away; reword it without naming the answer")]


def check_quiz(quiz: LoadedQuiz, atlas: Atlas | None = None, *, domains: bool = True) -> list[Problem]:
    """Every problem of a loaded quiz (the atlas checks are skipped without an atlas).

    ``domains=False`` leaves out :func:`domain_problems` (a draft previewed before it is tagged).

    Examples
    --------
    >>> from handatlas.quiz import check_quiz, default_quiz_dir, load_quiz
    >>> check_quiz(load_quiz(default_quiz_dir() / "hand_anatomy.yaml"), atlas)  # doctest: +SKIP
    []
    """
    out: list[Problem] = []
    for i, q in enumerate(quiz.questions):
        found = structural_problems(quiz, i, q)
        if not found and atlas is not None:
            found = key_problems(quiz, i, q, atlas)
        if not found:
            found = giveaway_problems(quiz, i, q, atlas)
        out += found + (domain_problems(quiz, i, q) if domains else [])
    return sorted(out, key=lambda p: p.line)


def check_file(path: str | Path, atlas: Atlas | None = None) -> list[Problem]:
    """Load and check one file; loading errors come back as problems too."""
    try:
        quiz = load_quiz(path)
    except QuizError as exc:
        return list(exc.problems)
    return check_quiz(quiz, atlas)


def _listed(paths: Iterable[str | Path]) -> list[tuple[Path, Path | None]]:
    """Each quiz file with the folder it was listed from (``None``: named directly)."""
    out: list[tuple[Path, Path | None]] = []
    for path in map(Path, paths):
        listed = quiz_paths([path])
        out += [(p, path if listed != [path] else None) for p in listed]
    return out


def check_files(paths: Iterable[str | Path], atlas: Atlas | None = None, *,
                domains: bool = True) -> list[Problem]:
    """Check files and folders (their ``*.yaml``); also refuses a quiz id used by two files.

    Parameters
    ----------
    paths
        Quiz files, or folders whose ``*.yaml`` files are checked (a symlink of a folder
        pointing out of it is refused).
    atlas
        The atlas to compute keys from (``None``: only the checks that need no atlas).
    domains
        Require every question's one exam domain (:func:`domain_problems`); an export to
        another quiz system does not need it.

    Returns
    -------
    list of Problem
        Empty when every file is valid.

    Examples
    --------
    >>> from handatlas import load_atlas
    >>> from handatlas.quiz import check_files, default_quiz_dir
    >>> check_files([default_quiz_dir()], load_atlas())
    []
    """
    out: list[Problem] = []
    owners: dict[str, tuple[str, int]] = {}
    for path, folder in _listed(paths):
        try:
            quiz = load_quiz(path, folder=folder)
        except QuizError as exc:
            out += exc.problems
            continue
        out += check_quiz(quiz, atlas, domains=domains)
        qid = quiz.model.quiz.id
        if qid in owners:
            other, line = owners[qid]
            out.append(Problem(quiz.name, quiz.line("quiz", "id"), f"quiz id {qid!r} is also used by "
                                                                   f"{other}:{line}", None, "quiz.id"))
        else:
            owners[qid] = (quiz.name, quiz.line("quiz", "id"))
    return out
