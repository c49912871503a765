"""Views of the Quiz and Drill modes: they display a :mod:`handatlas.ui.quizstate` and set its answer.

The page only ever receives a :class:`~handatlas.quiz.session.PublicQuestion` before the answer
(no key, no target name: an identify question shows its target as an anonymous mesh); the
feedback, the right answer on the model and the explanation come after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from html import escape
from typing import Any
from urllib.parse import unquote

import panel as pn

from handatlas.quiz.drill import Progress, Summary, due_text
from handatlas.quiz.grading import NOTHING_AT_RISK
from handatlas.quiz.progress import utcnow
from handatlas.quiz.session import Feedback, PublicQuestion, risk_choices
from handatlas.ui.charts import retention_chart
from handatlas.ui.controls import range_for
from handatlas.ui.quizstate import DrillState, QuestionState, QuizState

#: Chosen items (chips) wrap between words: choices.js breaks them anywhere ("whil|e you work").
CHIP_CSS = ".choices__list--multiple .choices__item { word-break: normal; overflow-wrap: break-word; }"

#: The words a grader's feedback may open with: the view's own title says them already.
VERDICT_OPENINGS = ("Yes: ", "No: ", "Not quite: ")


def feedback_text(text: str, *, titled: bool) -> str:
    """A grader's feedback under the view's title (Right / Partly right / Not quite): without the
    verdict word it opens with, so that it is not said twice ("Not quite. Not quite: …").

    Examples
    --------
    >>> feedback_text("Not quite: the verdict is safe, not caution.", titled=True)
    'The verdict is safe, not caution.'
    >>> feedback_text("Not quite: the verdict is safe.", titled=False)
    'Not quite: the verdict is safe.'
    """
    for opening in VERDICT_OPENINGS if titled else ():
        if text.startswith(opening):
            rest = text[len(opening):]
            return rest[:1].upper() + rest[1:]
    return text


def _title(text: str) -> pn.pane.Markdown:
    return pn.pane.Markdown(text, margin=(6, 10, 0, 10))


def _writer(question: QuestionState, field: str | None = None) -> Callable[[Any], None]:
    """Writes a widget's value into the answer (or into one field of it)."""

    def write(value: Any) -> None:
        value = list(value) if isinstance(value, list | tuple) else value
        if field is None:
            question.answer = value
        else:
            question.answer = {**(question.answer or {}), field: value}

    return write


def answer_inputs(question: QuestionState, q: PublicQuestion) -> list[Any]:
    """The widgets that answer ``q``; each writes into ``question.answer``."""
    w = pn.widgets
    if q.type == "locate":
        hint = (
            "Click the place on the hand. Deep targets: show their layer (and fade the skin) "
            f"under Layers first. Within {q.tolerance_mm:g} mm counts."
        )
        return [pn.pane.Markdown(hint, css_classes=["q-hint"])]
    inputs: list[Any] = []
    widgets: list[tuple[Any, str | None]] = []
    singles: list[Any] = []  # the widgets of _single_choice: a list of at most one option
    if q.type == "identify" and q.options:
        pick = _single_choice(w.CheckBoxGroup, options={o: i for i, o in enumerate(q.options)},
                              css_classes=["q-options"], label="The structure shown in magenta")
        singles.append(pick)
        inputs += [pn.pane.Markdown("The structure shown in magenta is:"), pick]
        widgets.append((pick, None))
    elif q.type == "identify":
        typed = w.TextInput(placeholder="Its name", css_classes=["q-text-answer"])
        inputs += [pn.pane.Markdown("Name the structure shown in magenta:"), typed]
        widgets.append((typed, None))
        typed.param.watch(lambda e: _writer(question)(e.new), "value_input")
    elif q.type == "press":
        if "verdict" in (q.ask or ()):
            verdict = _single_choice(w.CheckButtonGroup, options=list(q.choices or ()),
                                     css_classes=["q-verdict"], label="Verdict")
            singles.append(verdict)
            inputs += [
                pn.pane.Markdown(f"A **{q.grade}** press ({q.radius_mm:g} mm pad) at the black mark:"),
                verdict,
            ]
            widgets.append((verdict, "verdict"))
        if "at_risk" in (q.ask or ()):
            at_risk = w.MultiChoice(
                options={"Nothing is at risk": NOTHING_AT_RISK,
                         **{name: sid for sid, name in risk_choices(question.hand.atlas)}},
                placeholder="Structures at risk",
                css_classes=["q-at-risk"],
                stylesheets=[CHIP_CSS],
            )
            inputs += [pn.pane.Markdown("Which structures are at risk?"), at_risk]
            widgets.append((at_risk, "at_risk"))
    elif q.type == "territory":
        nerve = _single_choice(w.CheckButtonGroup, options=list(q.choices or ()), css_classes=["q-territory"],
                               label="Nerve")
        singles.append(nerve)
        inputs += [pn.pane.Markdown("Which nerve supplies the skin at the black mark?"), nerve]
        widgets.append((nerve, None))
    elif q.type == "choice":
        options = {o: i for i, o in enumerate(q.options or ())}
        if q.multiple:
            picks = w.CheckBoxGroup(options=options, value=[], css_classes=["q-options"], inline=False)
            inputs += [pn.pane.Markdown("Pick every right answer."), picks]
            widgets.append((picks, None))
        else:
            pick = _single_choice(w.CheckBoxGroup, options=options, css_classes=["q-options"], inline=False,
                                  label="Answer")
            singles.append(pick)
            inputs.append(pick)
            widgets.append((pick, None))
    elif q.type == "order":
        order = w.MultiChoice(options=list(q.items or ()), css_classes=["q-order"], stylesheets=[CHIP_CSS])
        inputs += [
            pn.pane.Markdown("Pick the items in order, first to last: " + "; ".join(q.items or ())),
            order,
        ]
        widgets.append((order, None))
    for widget, field in widgets:
        write = _writer(question, field)
        single = any(widget is s for s in singles)
        # a single choice's value is read when its watcher runs: keeping one option sets it again
        widget.param.watch(lambda e, write=write, single=single, widget=widget:
                           write(_picked(widget.value) if single else e.new), "value")
    return inputs


def _single_choice(cls: type, **params: Any) -> Any:
    """A one-answer choice that starts with nothing chosen.

    Panel's radio groups always start on their first option, which pre-answers a question (and
    submitting it untouched scored as that answer); a check group starts empty, and choosing an
    option here unchecks the one chosen before, so at most one stays chosen.
    """
    widget = cls(value=[], **params)

    def keep_last(event: Any) -> None:
        if len(event.new) > 1:
            widget.value = [v for v in event.new if v not in event.old][-1:]

    widget.param.watch(keep_last, "value")
    return widget


def _picked(values: list[Any]) -> Any:
    """The one option chosen in a :func:`_single_choice` (None when nothing is)."""
    return values[0] if len(values) == 1 else None


def question_view(question: QuestionState) -> pn.Column:
    """The shown question, its answer widgets and the Submit and Skip buttons."""

    def render(shown: PublicQuestion | None) -> pn.Column:
        if shown is None:
            return pn.Column()
        head = pn.pane.HTML(
            f"<div class='q-number'>Question {shown.number} of {shown.total}</div>"
            + (f"<p class='q-scenario'><i>{escape(shown.scenario)}</i></p>" if shown.scenario else "")
            + f"<p class='q-prompt'><b>{escape(shown.prompt)}</b></p>",
            sizing_mode="stretch_width",
            css_classes=["q-text"],
        )
        done = pn.bind(lambda feedback: feedback is not None, question.param.feedback)
        submit = pn.widgets.Button(
            label="Submit",
            color="primary",
            css_classes=["q-submit"],
            visible=not shown.needs_click,
            disabled=done,
        )
        skip = pn.widgets.Button(label="Skip", color="default", css_classes=["q-skip"], disabled=done)
        submit.on_click(lambda _e: question.submit())
        skip.on_click(lambda _e: question.skip())
        return pn.Column(
            head, *answer_inputs(question, shown), pn.Row(submit, skip), sizing_mode="stretch_width"
        )

    return pn.Column(
        pn.bind(render, question.param.shown), sizing_mode="stretch_width", css_classes=["q-area"]
    )


def feedback_html(feedback: Feedback) -> str:
    """The answer and the explanation after a question."""
    due = f"<p class='q-next-due'>{escape(feedback.next_due)}</p>" if feedback.next_due else ""
    return (
        f"<p><b>Answer:</b> {escape(feedback.answer_text)}</p>"
        f"<p class='q-explanation'>{escape(feedback.explanation)}</p>" + due
    )


def feedback_view(question: QuestionState) -> pn.Column:
    """The verdict on the answer, the right answer, the explanation and Next.

    The panes stay; an answer changes their text and shows them (rebuilding them on every answer
    made Panel walk the whole page's models)."""
    result = pn.pane.Alert("", alert_type="secondary", css_classes=["q-result"], visible=False,
                           sizing_mode="stretch_width")
    details = pn.pane.HTML("", sizing_mode="stretch_width", visible=False)
    nxt = pn.widgets.Button(label="Next question", color="primary", css_classes=["q-next"], visible=False)
    nxt.on_click(lambda _e: question.show())

    def show(*_events: Any) -> None:
        feedback = question.feedback
        with pn.io.hold():
            if feedback is None:
                result.param.update(object="", visible=False)
                details.param.update(object="", visible=False)
                nxt.visible = False
                return
            kind = "success" if feedback.correct else ("warning" if feedback.score > 0 else "danger")
            if feedback.skipped:
                title = ""
            elif feedback.correct:
                title = "**Right.** "
            elif feedback.score > 0:
                title = f"**Partly right ({feedback.score:.0%}).** "
            else:
                title = "**Not quite.** "
            text = escape(feedback_text(feedback.feedback, titled=bool(title)))
            result.param.update(object=f"{title}{text}",
                                alert_type="secondary" if feedback.skipped else kind, visible=True)
            details.param.update(object=feedback_html(feedback), visible=True)
            nxt.visible = not question.finished

    question.param.watch(show, ["feedback", "finished"])
    show()
    return pn.Column(result, details, nxt, sizing_mode="stretch_width", css_classes=["q-feedback"])


# ----------------------------------------------------------------------------- quiz
def score_html(title: str, score: dict[str, Any] | None) -> str:
    """The quiz's title and length while it runs; at the end the score and a review of the misses."""
    if score is None:
        return f"<p>{escape(title)}</p>" if title else ""
    verdict = "passed" if score["passed"] else "not passed"
    partly = score["score"] - score["right"]
    points = f"{score['score']:g} of {score['max_score']:g}"
    extra = f" ({score['right']} fully right, {partly:g} from partial credit)" if partly > 1e-9 else ""
    out = (
        f"<h3>Score: {points} ({score['fraction']:.0%}) — {verdict}</h3>"
        f"<p>{escape(extra.strip(' ()'))}{'. ' if extra else ''}Pass mark {score['pass_mark']:.0%}. "
        f"Pick a quiz to go again.</p>"
    )
    missed = score.get("missed") or []
    if missed:
        items = "".join(
            f"<li value='{m['number']}'><p><b>{escape(m['prompt'])}</b></p>"
            f"{_options_as_seen(m)}<p>{_how_it_went(m)}</p>"
            f"<p><b>Answer:</b> {escape(m['answer_text'])}</p>"
            f"<p class='q-explanation'>{escape(m['explanation'])}</p></li>"
            for m in missed
        )
        plural = "s" if len(missed) != 1 else ""
        out += f"<h4>To review: {len(missed)} question{plural}</h4><ol class='q-review'>{items}</ol>"
    return out


def _options_as_seen(missed: dict[str, Any]) -> str:
    """A missed choice or identify question's options numbered in the order the learner saw them,
    the learner's pick and the right one marked ("" for other types)."""
    options = missed.get("options")
    if not options:
        return ""
    lines = []
    for n, text in enumerate(options):
        marks = ["your answer"] * (n in missed["picked"]) + ["right"] * (n in missed["right"])
        lines.append(f"{n + 1}. {escape(text)}" + (f" <b>({', '.join(marks)})</b>" if marks else ""))
    return "<p class='q-seen'>The options as you saw them:<br>" + "<br>".join(lines) + "</p>"


def _how_it_went(missed: dict[str, Any]) -> str:
    """A skip's feedback already says so; an answer's gets its score."""
    if missed["skipped"]:
        return escape(missed["feedback"])
    return f"You scored {missed['score']:.0%}: {escape(missed['feedback'])}"


def confirm_html(confirm: str, answered: int) -> str:
    """What a restart or an early end would lose."""
    if confirm == "restart":
        plural = "s" if answered != 1 else ""
        return f"<p><b>Start again?</b> Your {answered} answer{plural} in this quiz will be lost.</p>"
    if confirm == "end":
        return "<p><b>End the quiz now?</b> The questions not answered yet count as skipped (0).</p>"
    return ""


def skipped_html(notes: list[str]) -> str:
    """The quiz files a mode leaves out, each with its first ``file:line`` problem ('' if none)."""
    if not notes:
        return ""
    items = "".join(f"<li>{escape(note)}</li>" for note in notes)
    files = f"{len(notes)} quiz file{'s' * (len(notes) > 1)}"
    return f"<details open><summary>{files} left out (fix and reload):</summary><ul>{items}</ul></details>"


def _skipped(state: QuizState | DrillState, css: str) -> pn.pane.HTML:
    return pn.pane.HTML(
        pn.bind(skipped_html, state.param.skipped),
        visible=pn.bind(bool, state.param.skipped),
        css_classes=[css],
        styles={"font-size": "0.85em", "color": "#8a4b00"},
        sizing_mode="stretch_width",
        margin=(0, 10),
    )


def quiz_panel(state: QuizState) -> pn.Column:
    """The Quiz sidebar: pick a quiz, start it, answer its questions; restart and end ask first."""
    pick = pn.widgets.Select.from_param(
        state.param.quiz, options=state.titles, label="Quiz", css_classes=["quiz-pick"], margin=(4, 10)
    )
    start = pn.widgets.Button(label="Start quiz", color="primary", css_classes=["quiz-start"])
    start.on_click(lambda _e: state.start())
    running = pn.bind(lambda _shown, _finished: state.running, state.question.param.shown,
                      state.question.param.finished)
    end = pn.widgets.Button(label="End quiz", color="default", css_classes=["quiz-end"], visible=running)
    end.on_click(lambda _e: state.end())
    asking = pn.bind(bool, state.param.confirm)
    yes = pn.widgets.Button(label="Yes", color="danger", css_classes=["quiz-confirm"])
    yes.on_click(lambda _e: state.end(confirmed=True) if state.confirm == "end"
                 else state.start(confirmed=True))
    no = pn.widgets.Button(label="Keep going", color="default", css_classes=["quiz-cancel"])
    no.on_click(lambda _e: state.cancel())
    answered = pn.bind(lambda confirm: confirm_html(confirm, len(getattr(state.question.run, "results", ()))),
                       state.param.confirm)
    confirm = pn.Column(pn.pane.HTML(answered, margin=(0, 10)), pn.Row(yes, no), visible=asking,
                        css_classes=["quiz-confirm-box"], sizing_mode="stretch_width")
    return pn.Column(
        _title("**Quiz** — pick one and start"),
        pick,
        pn.Row(start, end),
        confirm,
        _skipped(state, "quiz-skipped"),
        question_view(state.question),
        sizing_mode="stretch_width",
    )


def quiz_results(state: QuizState) -> pn.Column:
    """Under the hand: the feedback and the score."""
    status = pn.pane.HTML(
        pn.bind(score_html, state.param.title, state.param.score),
        css_classes=["q-score"],
        sizing_mode="stretch_width",
    )
    return pn.Column(feedback_view(state.question), status, sizing_mode="stretch_width")


# ----------------------------------------------------------------------------- drill
#: The cookie the browser keeps the learner's name in (a year), read back when the page loads.
LEARNER_COOKIE = "handatlas_learner"
#: Runs in the browser whenever the name field changes: remember the name (an empty name forgets).
REMEMBER_LEARNER_JS = f"""
const name = String(cb_obj.value_input ?? cb_obj.value ?? '').trim();
document.cookie = '{LEARNER_COOKIE}=' + encodeURIComponent(name)
  + '; max-age=' + (name ? 31536000 : 0) + '; path=/; SameSite=Lax';
"""


def remembered_learner(cookies: Mapping[str, str]) -> str:
    """The learner's name the browser remembered (:data:`LEARNER_COOKIE`), or "".

    Examples
    --------
    >>> remembered_learner({"handatlas_learner": "Zo%C3%AB%20Ann"})
    'Zoë Ann'
    """
    return unquote(cookies.get(LEARNER_COOKIE, "")).strip()[:200]


def progress_html(name: str, progress: Progress | None) -> str:
    """A learner's totals and recall by topic (a chart), or that there is nothing yet."""
    if not name:
        return ""
    if progress is None:
        return f"<p>No drills yet for {escape(name)}.</p>"
    topics = {t: r for t, r in progress.retention.items() if t.startswith("topic:")}
    waiting = ""
    if progress.next_due is not None:
        waiting = f" Next card due {due_text(progress.next_due, utcnow())}."
    return (
        f"<p class='drill-totals'>{escape(progress.totals_text())}{escape(waiting)}</p>"
        + retention_chart(dict(sorted(topics.items(), key=lambda kv: kv[1])[:12]))
    )


def drill_html(summary: Summary | None, name: str, progress: Progress | None) -> str:
    """The end-of-drill summary (if a drill just ended) and the learner's progress."""
    head = ""
    if summary is not None:
        weak = ", ".join(t.split(":", 1)[-1].replace("_", " ") for t in summary.weak_topics[:6]) or "none"
        head = (
            f"<h3>Drill done: {summary.score:.1f} / {summary.answered} ({summary.fraction:.0%})</h3>"
            f"<p>Weak topics: {escape(weak)}.</p>"
        )
    return head + progress_html(name, progress)


def _learner_inputs(state: DrillState) -> list[Any]:
    """The learner's name and personal code.

    The name field starts with the name this browser typed last (a cookie: names are
    case-insensitive, so "Kim" finds kim's progress).
    """
    w = pn.widgets
    if not state.learner:
        state.learner = remembered_learner(pn.state.cookies or {})
    learner = w.TextInput.from_param(
        state.param.learner,
        label="Your name",
        placeholder="e.g. sam",
        css_classes=["drill-learner"],
        margin=(4, 10),
    )
    learner.param.watch(lambda e: setattr(state, "learner", e.new), "value_input")
    learner.jscallback(value=REMEMBER_LEARNER_JS, value_input=REMEMBER_LEARNER_JS)
    code = w.PasswordInput.from_param(
        state.param.code,
        label="Your personal code (a new name sets it)",
        placeholder="4 or more characters",
        css_classes=["drill-code"],
        margin=(4, 10),
    )
    code.param.watch(lambda e: setattr(state, "code", e.new), "value_input")
    return [learner, code]


def _identity(state: DrillState) -> pn.pane.HTML:
    """Who is signed in at the school's provider (no name nor code to type)."""
    return pn.pane.HTML(
        f"<p>Signed in as <b>{escape(str(state.identity))}</b> — "
        "<a class='drill-sign-out' href='./logout'>sign out</a></p>",
        css_classes=["drill-identity"],
        margin=(4, 10),
        sizing_mode="stretch_width",
    )


def drill_panel(state: DrillState) -> pn.Column:
    """The Drill sidebar: the learner (name and code, or the identity signed in at the school's
    provider), topics and length, start, progress, the questions."""
    w = pn.widgets
    who = _learner_inputs(state) if state.identity is None else [_identity(state)]
    tags = w.MultiChoice.from_param(
        state.param.tags, label="Topics (none = everything)", css_classes=["drill-tags"], margin=(4, 10)
    )
    count = range_for(
        state, "count", label="Questions", step=1, css_classes=["drill-count"], margin=(4, 10),
        sizing_mode="stretch_width",
    )
    start = w.Button(label="Start drill", color="primary", css_classes=["drill-start"])
    progress = w.Button(label="My progress", color="default", css_classes=["drill-progress-button"])

    async def signed_in() -> bool:
        # the code's hash is checked in a thread: the page's event loop keeps serving everyone
        if state.needs_code:
            state.accept(await asyncio.get_running_loop().run_in_executor(None, state.check_learner))
        return not state.needs_code

    async def start_drill(_event: Any) -> None:
        if await signed_in():
            state.start()

    async def show_progress(_event: Any) -> None:
        if await signed_in():
            state.show_progress()

    start.on_click(start_drill)
    progress.on_click(show_progress)
    return pn.Column(
        _title("**Drill** — spaced repetition for the exam"),
        *who,
        tags,
        count,
        pn.Row(start, progress),
        _skipped(state, "drill-skipped"),
        question_view(state.question),
        sizing_mode="stretch_width",
    )


def drill_results(state: DrillState) -> pn.Column:
    """Under the hand: the feedback and the learner's progress."""
    report = pn.pane.HTML(
        pn.bind(drill_html, state.param.summary, state.param.progress_of, state.param.progress),
        css_classes=["drill-progress"],
        sizing_mode="stretch_width",
    )
    return pn.Column(feedback_view(state.question), report, sizing_mode="stretch_width")
