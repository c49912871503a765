"""The Author mode's form: widgets bound to an :class:`~handatlas.ui.authorstate.AuthorState`.

One of three, as the session is: how to turn authoring on (no instructor configured), a
link to the sign-in page (a student's session), or the question editor (an instructor's
session).  Every field is the widget of a state parameter (``from_param``); the buttons call
the state's methods.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

import panel as pn

from handatlas.accounts import AUTHORING_HELP
from handatlas.names import counted
from handatlas.quiz.classreport import ClassReport
from handatlas.ui.authorstate import NEW_FILE, SNAP_MM, SPATIAL_TARGET, SPATIAL_WHERE, AuthorState
from handatlas.ui.classstate import ClassState
from handatlas.ui.controls import range_for, tick_for

_M = (4, 10)


#: The class tables' recall and due columns are of today (a learner's own page charts tomorrow's).
NOW_COLUMNS = "<th title='predicted recall now (FSRS)'>Recall now</th><th title='cards due now'>Due now</th>"


def output_html(output: dict[str, Any]) -> str:
    """The key preview or what was saved."""
    if not output:
        return ""
    text = escape(str(output.get("text", "")))
    if output.get("kind") == "saved":
        return (
            f"<p class='author-saved'>Saved <b>{escape(output['id'])}</b> to {escape(output['file'])}. "
            f"Key: {text}</p>"
        )
    return f"<p class='author-key'><b>Key from the atlas:</b> {text}</p>"


def _sign_in() -> pn.pane.HTML:
    """A link to the sign-in page (the password is never typed into the app's own session)."""
    return pn.pane.HTML(
        "<p>Instructors <a class='author-sign-in' href='./login'>sign in</a> to write questions "
        "(the page reopens signed in).</p>",
        css_classes=["author-login"],
        sizing_mode="stretch_width",
    )


def _signed_in(user: str) -> pn.pane.HTML:
    return pn.pane.HTML(
        f"<p>Signed in as <b>{escape(user)}</b> — "
        "<a class='author-sign-out' href='./logout'>sign out</a></p>",
        css_classes=["author-who"],
        sizing_mode="stretch_width",
    )


def _editor(state: AuthorState) -> pn.Column:
    w, p = pn.widgets, state.param

    def typed(t: str, *kinds: str) -> bool:
        return t in kinds

    def text(param: Any, cls: str, **kw: Any) -> Any:
        widget = (w.TextAreaInput if kw.pop("area", False) else w.TextInput).from_param(
            param, css_classes=[cls], margin=_M, **kw
        )
        widget.param.watch(
            lambda e: setattr(state, param.name, e.new), "value_input"
        )  # typed, not only blurred
        return widget

    kind = p.type
    preview = w.Button(label="Preview key", color="default", css_classes=["author-preview"])
    save = w.Button(label="Save", color="primary", css_classes=["author-save"])
    preview.on_click(lambda _e: state.guard(state.preview))
    save.on_click(lambda _e: state.guard(state.save))
    return pn.Column(
        _signed_in(state.user or ""),
        w.Select.from_param(p.file, label="Quiz file", css_classes=["author-file"], margin=_M),
        pn.Column(
            text(p.new_file, "author-new-file", label="New file name", placeholder="my_quiz.yaml"),
            text(p.new_title, "author-new-title", label="New quiz title", placeholder="Wrist safety"),
            visible=pn.bind(lambda f: f == NEW_FILE, p.file),
        ),
        w.Select.from_param(p.existing, label="Question", css_classes=["author-existing"], margin=_M),
        w.Select.from_param(p.type, label="Type", css_classes=["author-type"], margin=_M),
        text(p.qid, "author-id", label="Question id", placeholder="pulse_firm"),
        text(p.prompt, "author-prompt", label="Prompt", area=True, rows=2),
        pn.Column(
            text(p.target, "author-target", label="Target / where — click the hand"),
            tick_for(state, "snap", label=f"Snap clicks to a landmark within {SNAP_MM:g} mm",
                     css_classes=["author-snap"], margin=_M),
            visible=pn.bind(typed, kind, *SPATIAL_TARGET, *SPATIAL_WHERE),
            sizing_mode="stretch_width",
        ),
        pn.Column(
            range_for(state, "tolerance", label="Click tolerance (mm)", step=1.0, margin=_M,
                      sizing_mode="stretch_width", css_classes=["author-tolerance"]),
            visible=pn.bind(typed, kind, "locate"),
        ),
        pn.Column(
            w.RadioButtonGroup.from_param(p.grade, css_classes=["author-grade"], margin=_M),
            w.CheckBoxGroup.from_param(p.ask, inline=True, css_classes=["author-ask"], margin=_M),
            visible=pn.bind(typed, kind, "press"),
        ),
        pn.Column(
            text(
                p.options,
                "author-options",
                label="Options, one per line (identify: optional)",
                area=True,
                rows=4,
            ),
            visible=pn.bind(typed, kind, "choice", "identify"),
        ),
        pn.Column(
            text(p.answer, "author-answer", label="Right option numbers, from 1 (e.g. 2 or 1, 3)"),
            visible=pn.bind(typed, kind, "choice"),
        ),
        pn.Column(
            text(p.items, "author-items", label="Items in the right order, one per line", area=True, rows=4),
            visible=pn.bind(typed, kind, "order"),
        ),
        text(
            p.explanation,
            "author-explanation",
            label="Explanation (shown after the answer)",
            area=True,
            rows=2,
        ),
        text(
            p.tags,
            "author-tags",
            label="Tags (comma separated)",
            placeholder="topic:radial_artery, domain:pathology",
        ),
        range_for(state, "difficulty", label="Difficulty", step=1, margin=_M, sizing_mode="stretch_width",
                  css_classes=["author-difficulty"]),
        pn.Row(preview, save),
        sizing_mode="stretch_width",
    )


def author_panel(state: AuthorState) -> pn.Column:
    """The Author sidebar: off (with instructions), a link to sign in, or the editor.

    The editor's widgets exist only in an instructor's session: a student's page holds no
    model an author action could be sent to.
    """
    if not state.enabled:
        body: pn.viewable.Viewable = pn.pane.Markdown(
            "**Authoring is off.**\n\n```\n" + AUTHORING_HELP + "```",
            css_classes=["author-help"],
            sizing_mode="stretch_width",
        )
    elif state.user is None:
        body = _sign_in()
    else:
        body = _editor(state)
    return pn.Column(
        pn.pane.Markdown("**Author** — write questions by clicking the hand", margin=(6, 10, 0, 10)),
        pn.Column(body, sizing_mode="stretch_width", css_classes=["author-body"]),
        sizing_mode="stretch_width",
    )


def author_results(state: AuthorState, classes: ClassState) -> pn.Column:
    """Under the hand: the key preview and the save result; the class's progress (built only in an
    instructor's session: a student's page holds none of its widgets)."""
    return pn.Column(
        pn.pane.HTML(
            pn.bind(output_html, state.param.output),
            css_classes=["author-output"],
            sizing_mode="stretch_width",
        ),
        *([class_panel(classes)] if state.user is not None else []),
        sizing_mode="stretch_width",
    )


def class_table_html(report: ClassReport | None, learner: str) -> str:
    """The class's topics, weakest first, or one learner's rows."""
    if report is None:
        return ""
    def pct(x: float | None) -> str:
        return "" if x is None else f"{x:.0%}"

    if learner:
        rows = report.for_learner(learner)
        head = f"<tr><th>Topic</th><th>Answers</th><th>Right</th>{NOW_COLUMNS}<th>Last</th></tr>"
        body = "".join(
            f"<tr><td>{escape(r.topic)}</td><td>{r.answers}</td><td>{pct(r.accuracy)}</td>"
            f"<td>{pct(r.recall)}</td><td>{r.due}</td>"
            f"<td>{'' if r.last is None else f'{r.last:%Y-%m-%d}'}</td></tr>"
            for r in rows
        )
        return f"<h4>{escape(learner)}: weakest topics first</h4><table>{head}{body}</table>"
    if not report.topics:
        return f"<p>{counted(len(report.learners), 'learner')}, no answers yet.</p>"
    head = f"<tr><th>Topic</th><th>Learners</th><th>Answers</th><th>Right</th>{NOW_COLUMNS}</tr>"
    body = "".join(
        f"<tr><td>{escape(t.topic)}</td><td>{t.learners}</td><td>{t.answers}</td><td>{pct(t.accuracy)}</td>"
        f"<td>{pct(t.recall)}</td><td>{t.due}</td></tr>"
        for t in report.topics[:20]
    )
    return (f"<h4>Class progress: {counted(len(report.learners), 'learner')}, the weakest topics first</h4>"
            f"<table class='class-topics'>{head}{body}</table>")


def class_panel(state: ClassState) -> pn.Column:
    """Under the hand, for a signed-in instructor: the class's weakest topics, a learner's rows, CSV."""
    refresh = pn.widgets.Button(label="Class progress", color="default", css_classes=["class-refresh"])
    refresh.on_click(lambda _e: state.refresh())
    learners = pn.widgets.Select(label="Learner", options=[""], css_classes=["class-learner"], margin=_M,
                                 visible=pn.bind(lambda r: r is not None, state.param.report))

    def follow(report: ClassReport | None) -> None:
        learners.options = {"The whole class": "", **{n: n for n in (report.learners if report else ())}}

    state.param.watch(lambda e: follow(e.new), "report")
    learners.param.watch(lambda e: setattr(state, "learner", e.new), "value")
    download = pn.widgets.FileDownload(callback=lambda: io.BytesIO(state.csv().encode("utf-8")),
                                       filename="class_progress.csv", label="Download CSV",
                                       css_classes=["class-csv"], color="default",
                                       visible=pn.bind(lambda r: r is not None, state.param.report))
    table = pn.pane.HTML(pn.bind(class_table_html, state.param.report, state.param.learner),
                         css_classes=["class-table"], sizing_mode="stretch_width")
    return pn.Column(pn.Row(refresh, learners, download), table, sizing_mode="stretch_width",
                     visible=pn.bind(lambda u: u is not None, state.author.param.user))
