"""The handatlas web app: one page with the 3D hand and the Explore, Press, Quiz, Drill and Author modes.

``handatlas serve`` calls :func:`serve`; tests call :func:`build_server` (a real server) or
:func:`create_app`.
Every asset comes from this server (Panel's bundled Bokeh and es-module-shims, and the part of
vtk.js the 3D hand uses, :mod:`handatlas.ui.scene`): the app works offline.  A click in the 3D
view arrives as a view ray (:mod:`handatlas.ui.scene`) and is handled by the active mode; a
failing handler shows its message in the page, never a stack trace (the trace goes to the
server log).
"""

from __future__ import annotations

import functools
import logging
import os
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import panel as pn
import param

from handatlas.accounts import Instructors
from handatlas.atlas import Atlas, load_atlas
from handatlas.oidc import OidcConfig
from handatlas.quiz import default_quiz_dir
from handatlas.quiz.progress import ProgressStore
from handatlas.throttle import SignIn
from handatlas.ui.authorstate import AuthorState
from handatlas.ui.authorview import author_panel, author_results
from handatlas.ui.classstate import ClassState
from handatlas.ui.display import display_meshes, scene_payload
from handatlas.ui.login import InstructorAuth
from handatlas.ui.oidc import OidcAuth
from handatlas.ui.quizstate import DrillState, QuizState
from handatlas.ui.quizviews import drill_panel, drill_results, quiz_panel, quiz_results
from handatlas.ui.scene import HandScene, view_camera
from handatlas.ui.server import PageLayout, assets_from_here, current_identity, make_server
from handatlas.ui.state import MODES, HandState, guarded, shown_at_start
from handatlas.ui.theme import PHONE_MAX_PX, Accessible
from handatlas.ui.views import (
    exam_notice,
    identification,
    layer_tree,
    plain_message,
    press_controls,
    press_result,
    safety_legend,
    search_box,
    view_buttons,
)

TITLE = "handatlas — hand anatomy and pressure safety"
#: Bokeh's page template with a viewport tag (Panel adds the ``extends``).
VIEWPORT_TEMPLATE = (
    '{% block preamble %}{{ super() }}<meta name="viewport" content="width=device-width, initial-scale=1">'
    "{% endblock %}"
)

#: The camera when the page opens and after Reset.
OPENING_VIEW = "palmar"
#: The message's text in the warning's dark brown (7:1 on its yellow; Bootstrap's lighter
#: #997404 is 3.9:1); on a phone the view buttons sit at the foot of the view: the message floats
#: just above them.
MESSAGE_CSS = (
    ".plain { color: #664d03; }"
    ":host { overflow-wrap: anywhere; }"  # a long unbroken word typed in the search wraps
    f"@media (max-width: {PHONE_MAX_PX}px) {{ :host {{ bottom: 56px !important; }} }}"
)
#: The message banner floats over the foot of the 3D view (it never moves the hand, nor blocks a click).
MESSAGE_STYLES = {
    "position": "absolute",
    "bottom": "6px",
    "left": "6px",
    "z-index": "20",
    "width": "calc(100% - 12px)",
    "max-width": "calc(100% - 12px)",  # (Bokeh sizes the pane to its parent: 6 px too wide)
    "box-sizing": "border-box",
    "box-shadow": "0 2px 6px rgba(0, 0, 0, 0.25)",
    "pointer-events": "none",  # clicks go through to the hand under it
}

#: The safety map's legend sits in the lower left corner of the view.
LEGEND_STYLES = {
    "position": "absolute",
    "bottom": "8px",
    "left": "8px",
    "z-index": "10",
    "background": "rgba(255, 255, 255, 0.92)",
    "border": "1px solid #999",
    "border-radius": "4px",
    "padding": "4px 8px",
}
LEGEND_CSS = """
ul { list-style: none; margin: 4px 0; padding: 0; }
li { margin: 2px 0; }
.swatch { display: inline-block; width: 1.4em; height: 1.4em; line-height: 1.4em; text-align: center;
          margin-right: 6px; border: 1px solid #333; font-weight: bold; }
.meaning { color: #333; }
"""
# on a phone the view buttons sit at the foot of the view: the legend floats above them
LEGEND_CSS += f"@media (max-width: {PHONE_MAX_PX}px) {{ :host {{ bottom: 56px !important; }} }}"

CSS = """
:host { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { text-align: left; padding: 2px 8px 2px 0; vertical-align: top; }
.ident h3 { margin: 0 0 4px 0; }
.risk-note { background: #fff8e1; border-left: 4px solid #ffb300; padding: 6px 8px; }
.hint { color: #555; }
h1.title { font-size: 1.25em; margin: 6px 10px; }
"""

log = logging.getLogger(__name__)


class HandApp(pn.viewable.Viewer):
    """One browser session.

    Parameters
    ----------
    atlas
        The atlas (shared, read-only, by every session).
    quizzes
        The quiz folder (Quiz, Drill and Author modes); default the shipped quizzes.
    progress_db
        Where drill progress is stored (a path or SQLAlchemy URL; default the user's data folder).
    instructors
        Who may author questions; None turns the Author mode off (with instructions).
    instructor
        The instructor signed in for this session (None: a student's session).
    learner
        The learner signed in at the school's OpenID Connect provider (None: learners type a name
        and a personal code in Drill).
    client
        The address the page came from (learner codes are throttled per address).
    """

    last_click = param.Dict(default={}, doc="The last click handled: seq, mode, structure, ms.")

    def __init__(
        self,
        atlas: Atlas,
        *,
        quizzes: Path | None = None,
        progress_db: str | None = None,
        instructors: Instructors | None = None,
        instructor: str | None = None,
        learner: str | None = None,
        client: str = "?",
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.atlas = atlas
        self.quizzes = Path(quizzes) if quizzes is not None else default_quiz_dir()
        self.state = HandState(atlas)
        self._view_seq = 0
        self.scene = HandScene(
            meshes=scene_payload(display_meshes(atlas, shown_at_start(atlas))),
            layers=self.state.layer_state(),
            view=view_camera(OPENING_VIEW, zoom=1.1),
            sizing_mode="stretch_both",
            min_height=380,
            css_classes=["scene"],
        )
        self._link_scene()
        self.quiz = QuizState(self.state, self.quizzes)
        self.drill = DrillState(self.state, self.quizzes, progress_db, client=client, identity=learner)
        self.author = AuthorState(self.state, self.quizzes, instructors, user=instructor)
        self.classes = ClassState(self.author, self.quizzes, progress_db)
        self.click_handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "explore": self._identify,
            "press": self._press,
            "quiz": self.quiz.question.on_click,
            "drill": self.drill.question.on_click,
            "author": self.author.on_click,
        }
        self.mode_panels: dict[str, Callable[[], Any]] = {
            "explore": self._explore_panel,
            "press": self._press_panel,
            "quiz": lambda: quiz_panel(self.quiz),
            "drill": lambda: drill_panel(self.drill),
            "author": lambda: author_panel(self.author),
        }
        self.scene.param.watch(lambda e: self.on_click(e.new), "pick")

    # ------------------------------------------------------------------ scene plumbing
    def _link_scene(self) -> None:
        state, scene = self.state, self.scene

        def layers(_event: Any) -> None:
            scene.layers = state.layer_state()

        state.param.watch(layers, ["visible", "opacity"])
        for name in ("highlight", "markers", "overlay", "extra"):
            state.param.watch(lambda e, name=name: setattr(scene, name, e.new), name)
        state.param.watch(lambda e: setattr(scene, "label", e.new), "pin")
        state.param.watch(lambda e: setattr(scene, "path", e.new), "stroke")
        state.param.watch(lambda e: self.set_view(e.new), "view")

    def set_view(self, name: str) -> None:
        """Turn the camera to a named view (the view buttons): the state knows the view the learner
        chose, so that a mark is turned to only when that view does not show it."""
        if self.state.view != name:
            self.state.view = name  # its watcher calls back here
            return
        self._view_seq += 1
        self.scene.view = view_camera(name, zoom=1.1, seq=self._view_seq)

    def reset_view(self) -> None:
        """Turn the camera back to the opening view."""
        self.set_view(OPENING_VIEW)

    def frame(self, sid: str, *, kind: str = "structure") -> None:
        """Turn the camera onto a structure, group or landmark."""
        self._view_seq += 1
        self.scene.focus = {"bounds": self.state.focus_bounds(sid, kind=kind), "seq": self._view_seq}

    def on_click(self, message: dict[str, Any]) -> None:
        """Hand a click to the active mode."""
        if not message:
            return
        t0 = time.perf_counter()
        handler = self.click_handlers.get(self.state.mode)
        result = guarded(self.state, handler)(message) if handler else None
        self.last_click = {
            "seq": message.get("seq"),
            "mode": self.state.mode,
            "result": result,
            "ms": 1000 * (time.perf_counter() - t0),
        }

    def _identify(self, message: dict[str, Any]) -> str | None:
        if self.state.closed_for_exam():
            return None
        hit = self.state.hit(message)
        if hit is None:
            return None
        self.state.select(hit.id, at=hit.point)
        return hit.id

    def _press(self, message: dict[str, Any]) -> str | None:
        if self.state.closed_for_exam():
            return None
        point = self.state.skin_point(message)
        if point is None:
            return None
        if self.state.tool == "stroke":
            self.state.add_stroke_point(point)
            return "stroke"
        return str(self.state.press(point)["verdict"])

    # ------------------------------------------------------------------ panels
    def _explore_panel(self) -> pn.viewable.Viewable:
        def found(entry: Any) -> None:
            if not self.state.exam:
                self.frame(entry.id, kind=entry.kind)

        return pn.Column(exam_notice(self.state), search_box(self.state, guarded(self.state, found)),
                         sizing_mode="stretch_width")

    def _press_panel(self) -> pn.viewable.Viewable:
        return pn.Column(exam_notice(self.state), press_controls(self.state, self.state.clear_press),
                         sizing_mode="stretch_width")

    def _results(self, mode: str) -> pn.viewable.Viewable:
        if mode == "press":
            return press_result(self.state)
        if mode == "explore":
            return identification(self.state)
        if mode == "quiz":
            return quiz_results(self.quiz)
        if mode == "drill":
            return drill_results(self.drill)
        return author_results(self.author, self.classes)

    def __panel__(self) -> pn.viewable.Viewable:
        state = self.state
        modes = pn.widgets.RadioButtonGroup.from_param(
            state.param.mode,
            options={m.capitalize(): m for m in MODES},
            color="primary",
            variant="outline",
            css_classes=["modes"],
            margin=(6, 8),
            sizing_mode="stretch_width",
        )
        # a mode's panels are made the first time it is chosen (a session is quicker to open and
        # its page lighter), then stay in the page, shown or hidden: re-inserting a rendered panel
        # would register its Bokeh models twice
        panels = {m: pn.Column(sizing_mode="stretch_width", margin=0) for m in MODES}
        results = {m: pn.Column(sizing_mode="stretch_width", margin=0) for m in MODES}

        def show_mode(mode: str) -> None:
            if not panels[mode].objects:
                panels[mode].objects = [self.mode_panels[mode]()]
                results[mode].objects = [self._results(mode)]
            for m in MODES:
                panels[m].visible = results[m].visible = m == mode

        show_mode(state.mode)
        state.param.watch(lambda e: show_mode(e.new), "mode")
        side = pn.Column(
            *panels.values(),
            layer_tree(state),
            sizing_mode="stretch_width",
            css_classes=["side"],
            styles={"flex": "1 1 330px", "max-width": "420px", "min-width": "290px"},
        )
        # the message floats over the top of the view: showing it never moves the hand
        message = pn.pane.Alert(
            pn.bind(plain_message, state.param.message),
            alert_type="warning",
            visible=pn.bind(bool, state.param.message),
            css_classes=["message"],
            sizing_mode="stretch_width",
            margin=0,
            styles=MESSAGE_STYLES,
            stylesheets=[MESSAGE_CSS],
        )
        legend = pn.pane.HTML(
            pn.bind(safety_legend, state.param.overlay),
            visible=pn.bind(bool, state.param.overlay),
            css_classes=["safety-legend"],
            margin=0,
            styles=LEGEND_STYLES,
            stylesheets=[LEGEND_CSS],
        )
        stage = pn.Column(
            self.scene,
            view_buttons(self.set_view, reset=self.reset_view),
            message,
            legend,
            height=560,
            sizing_mode="stretch_width",
            css_classes=["stage"],
            styles={"position": "relative"},
        )
        main = pn.Column(
            stage,
            *results.values(),
            sizing_mode="stretch_width",
            css_classes=["main"],
            styles={"flex": "3 1 480px", "min-width": "300px"},
            stylesheets=[CSS],
        )
        header = pn.Row(
            pn.pane.HTML(f"<h1 class='title'>{TITLE}</h1>", stylesheets=[CSS]),
            modes,
            sizing_mode="stretch_width",
            css_classes=["header"],
            styles={"flex-wrap": "wrap"},
        )
        # row-reverse: the controls sit left of the hand on wide screens and under it on phones
        return pn.Column(
            header,
            pn.FlexBox(
                main,
                side,
                flex_wrap="wrap",
                flex_direction="row-reverse",
                align_items="flex-start",
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
            stylesheets=[CSS],
        )


@functools.lru_cache(maxsize=2)
def shared_atlas(folder: str | None = None) -> Atlas:
    """The atlas (default the shipped one) with its lookup index and display meshes warmed up.

    Built once per process and shared read-only by every session.  It runs before the fork of
    ``--num-procs``, so nothing here may start threads (numba's parallel kernels, Embree's batches):
    a safety map made here cost one of two forked processes in a test run.
    """
    atlas = load_atlas(folder)
    display_meshes(atlas, shown_at_start(atlas))
    atlas.press(next(iter(atlas.landmarks.values())).point)  # warms the numba kernels and ray engines
    return atlas


def warm_up(atlas_dir: str | None = None) -> None:
    """Make and lay out one throwaway session (no progress store, no document served), so that a
    fresh process's first page does not pay for what a process does once: Panel's and Bokeh's
    first use of each model class, the extension's set-up (about 1 s here)."""
    from bokeh.document import Document

    session = pn.panel(create_app(progress_db="sqlite://", atlas_dir=atlas_dir))
    root = session.get_root(Document())
    # what Panel does when a served session ends (Viewable._server_destroy)
    session._cleanup(root)
    pn.state._views.pop(root.ref["id"], None)


def page_layout(atlas_dir: str | None = None) -> Any:
    """The document every page's HTML is laid out from (:class:`handatlas.ui.server.PageLayout`): the
    app as an anonymous student opens it, on a throwaway progress store, laid out as Panel lays
    out a session's document (``server_doc``), never served."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        pn.panel(create_app(progress_db="sqlite://", atlas_dir=atlas_dir)).server_doc(doc, title=TITLE)
    return doc


def create_app(
    *,
    quizzes: Path | None = None,
    progress_db: str | None = None,
    instructors: Instructors | None = None,
    instructor: str | None = None,
    learner: str | None = None,
    client: str = "?",
    atlas_dir: str | None = None,
) -> HandApp:
    """A new session of the app on the shared atlas (``instructor``: who signed in, None for a student;
    ``learner``: the identity signed in at the school's provider; ``client``: the page's address)."""
    pn.extension(notifications=False)  # (not "vtk": the scene brings its own)
    pn.config.design = Accessible
    if pn.state.curdoc is not None:  # phones lay the page out at their own width, not 980 px
        pn.state.curdoc.template = VIEWPORT_TEMPLATE
    return HandApp(shared_atlas(atlas_dir), quizzes=quizzes, progress_db=progress_db, instructors=instructors,
                   instructor=instructor, learner=learner, client=client)


def build_server(
    *,
    secret: str,
    port: int = 5006,
    address: str = "localhost",
    quizzes: Path | None = None,
    progress_db: str | None = None,
    atlas_dir: str | None = None,
    instructors: Instructors | None = None,
    origins: list[str] | None = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    use_xheaders: bool = False,
    on_session: Callable[[HandApp], None] | None = None,
    oidc: OidcConfig | None = None,
    **kwargs: Any,
) -> Any:
    """The app's server, not started (:func:`handatlas.ui.server.make_server`; see :func:`serve`).

    ``on_session`` is called with every new session (tests keep them).  The sign-in throttle
    counts failures in the progress store at ``progress_db``.  With ``oidc`` everyone signs in at
    the school's OpenID Connect provider (:mod:`handatlas.ui.oidc`): ``instructors`` is ignored,
    the identities ``oidc`` lists are the instructors.
    """
    os.environ.setdefault("BOKEH_RESOURCES", "server")
    shared_atlas(atlas_dir)  # before a fork (``num_procs``): the processes share its pages
    layout = PageLayout(functools.partial(page_layout, atlas_dir))
    if kwargs.get("num_procs", 1) == 1:
        layout.make()  # (it warms up what warm_up does)
    else:  # a forked process makes its own layout after its first page
        warm_up(atlas_dir)
    auth: InstructorAuth | OidcAuth
    if oidc is not None:
        auth = OidcAuth(oidc)
        instructors = auth.instructors  # type: ignore[assignment]
    else:
        store = ProgressStore.open(progress_db) if instructors else None
        if store is not None:  # a forked process opens connections of its own, never its parent's
            os.register_at_fork(after_in_child=functools.partial(_forget_connections, weakref.ref(store)))
        auth = InstructorAuth(SignIn(instructors, store) if store is not None else None)
    if origins is None:
        origins = [f"{host}:{port}" for host in ("localhost", "127.0.0.1", address)] if port else None
    live = {"sessions": 0}

    def closed(_context: Any) -> None:
        live["sessions"] -= 1
        log.info("process %d: a session closed, %d left", os.getpid(), live["sessions"])

    def app() -> HandApp:  # pn.serve calls plain functions only (a functools.partial is shown as text)
        assets_from_here(pn.state.curdoc)
        who = current_identity()
        session = create_app(quizzes=quizzes, progress_db=progress_db, instructors=instructors,
                             instructor=who["instructor"], learner=who["learner"], client=who["client"],
                             atlas_dir=atlas_dir)
        live["sessions"] += 1
        pn.state.on_session_destroyed(closed)
        log.info("process %d: a session opened, %d live", os.getpid(), live["sessions"])
        if on_session is not None:
            on_session(session)
        return session

    kwargs.setdefault("compress_response", True)  # gzip: the page's 5.5 MB of JavaScript travel as 1.4 MB
    return make_server(app, secret=secret, auth=auth, port=port, address=address, origins=origins,
                       title=TITLE, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                       use_xheaders=use_xheaders, layout=layout, **kwargs)


def _forget_connections(store: weakref.ref[ProgressStore]) -> None:
    """In a forked process: drop the parent's pooled connections without closing them (SQLAlchemy's
    advice for engines that cross a fork); the child connects afresh when it needs to."""
    alive = store()
    if alive is not None:
        alive.engine.dispose(close=False)


def serve(*, show: bool = False, **options: Any) -> None:
    """Start the app server and block (``handatlas serve``); ``options`` as :func:`build_server`.

    Everything is served by this process (no CDN).  Session ids are made and signed by the
    server with keys derived from ``secret``; instructors sign in at ``/login``.
    """
    from tornado.process import task_id

    server = build_server(**options)
    if show and not task_id():  # one process (of ``num_procs``) opens the page
        server.io_loop.add_callback(server.show, "/")
    server.start()
    server.io_loop.start()
