"""The ``handatlas`` command.

Errors go to stderr with exit code 2 (usage, unknown ids, bad values) or 1 (invalid files found
by a check); never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from handatlas import format as fmt
from handatlas.atlas import Atlas, UnknownNameError, load_atlas
from handatlas.outputs import check_output

if TYPE_CHECKING:
    from handatlas.quiz.drill import BankQuestion
    from handatlas.quiz.progress import ProgressStore


class CommandError(Exception):
    """A user error: printed as ``handatlas: error: ...`` with an exit code."""

    def __init__(self, message: str, *, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own errors: exit 2, no traceback
        self.print_usage(sys.stderr)
        raise CommandError(message)


def _atlas(args: argparse.Namespace) -> Atlas:
    return load_atlas(args.atlas)


def _console():
    from rich.console import Console

    return Console(soft_wrap=False)


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=1) + "\n")


# ------------------------------------------------------------------ commands
def cmd_summary(args: argparse.Namespace) -> int:
    """Print what the atlas holds."""
    from rich.table import Table

    atlas = _atlas(args)
    table = Table(title=f"{atlas.info.name} {atlas.info.version} — {atlas.folder}")
    for col in ("group", "structures", "with mesh", "triangles"):
        table.add_column(col, justify="left" if col == "group" else "right")
    total = 0
    for gid in atlas.children("hand"):
        ids = (gid, *atlas.descendants(gid))
        meshes = [i for i in ids if atlas.structures[i].has_mesh]
        faces = sum(atlas.triangles(i) for i in meshes)
        total += faces
        table.add_row(atlas.structures[gid].name, str(len(ids)), str(len(meshes)), f"{faces:,}")
    table.add_row("all", str(len(atlas.structures)), str(len(atlas.with_geometry())), f"{total:,}")
    console = _console()
    console.print(table)
    console.print(
        f"{len(atlas.landmarks)} landmarks; territories {', '.join(atlas.territory_labels)} "
        f"(variants: {', '.join(atlas.manifest.territories.variants)}); frame: {atlas.info.frame}"
    )
    return 0


def cmd_structures(args: argparse.Namespace) -> int:
    """List structures as a table or JSON."""
    from handatlas.search import find

    atlas = _atlas(args)
    ids = tuple(atlas.structures)
    if args.group:
        group = find(atlas, args.group, first=("group", "structure"), what="group or structure")
        if group.kind == "landmark":
            raise UnknownNameError(f"{args.group.strip()!r} is a landmark (a place to press), not a group; "
                                   f"try: handatlas info {args.group.strip()!r}")
        ids = (group.id, *atlas.descendants(group.id))
    rows = [atlas.structures[i].as_dict() for i in ids]
    if args.json:
        _print_json(rows)
        return 0
    from rich.table import Table

    table = Table()
    for col in ("id", "name", "parent", "tissue", "layer", "risk"):
        # ids are what the next command is typed with: never cut (the names wrap instead)
        table.add_column(col, no_wrap=col == "id", overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    _console().print(table)
    return 0


def cmd_landmarks(args: argparse.Namespace) -> int:
    """List landmarks as a table or JSON."""
    atlas = _atlas(args)
    rows = [lm.as_dict() for lm in atlas.landmarks.values()]
    if args.json:
        _print_json(rows)
        return 0
    from rich.table import Table

    table = Table()
    for col in ("id", "point (mm)", "normal"):
        table.add_column(col)
    for row in rows:
        point = ", ".join(f"{v:7.1f}" for v in row["point"])
        normal = ", ".join(f"{v:5.2f}" for v in row["normal"])
        table.add_row(str(row["id"]), point, normal)
    _console().print(table)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    """Describe one structure (or landmark)."""
    from handatlas.names import landmark_name
    from handatlas.search import KIND_LABELS, also_named, find

    atlas = _atlas(args)
    entry = find(atlas, args.name)
    also = [f"{e.name} ({KIND_LABELS[e.kind]} {e.id})" for e in also_named(atlas, args.name, entry)]
    if entry.kind == "landmark":
        lm = atlas.landmark(entry.id)
        data = {**lm.as_dict(), "name": landmark_name(atlas, lm.id), "description": lm.description,
                "territory": atlas.territory_at(lm.point)}
    else:
        s = atlas.structures[entry.id]
        data = {
            **s.as_dict(),
            "acronym": s.acronym,
            "synonyms": list(s.synonyms),
            "risk_note": s.risk_note,
            "colour": s.colour,
            "description": s.description,
            "ancestors": list(atlas.ancestors(s.id)),
            "children": list(atlas.children(s.id)),
        }
        if s.has_mesh:
            mesh = atlas.mesh(s.id)
            data["triangles"] = len(mesh.faces)
            data["bounds_mm"] = [[round(float(v), 1) for v in b] for b in mesh.bounds]
    data["also_named"] = also
    if args.json:
        _print_json(data)
        return 0
    console = _console()
    for key, value in data.items():
        if value in ("", [], None):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        console.print(f"[bold]{key:>12}[/bold]  {shown}", highlight=False)
    return 0


def _picture_path(path: str) -> None:
    """:func:`handatlas.render.check_image_path`, its error a command error."""
    from handatlas.render import check_image_path

    try:
        check_image_path(path)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def cmd_render(args: argparse.Namespace) -> int:
    """Render a named view to PNG."""
    from handatlas.render import render_view

    size = parse_size(args.size)
    check_output(args.output)  # before the work
    _picture_path(args.output)
    atlas = _atlas(args)
    layers = [t for t in args.layers.split(",") if t.strip()] if args.layers else None
    path = render_view(atlas, args.output, view=args.view, layers=layers, size=size)
    print(path)
    return 0


#: Picture sizes ``--size`` accepts, per side (pixels).
MIN_SIDE_PX, MAX_SIDE_PX = 64, 4096


def parse_size(text: str) -> tuple[int, int]:
    """``"900x1100"`` -> ``(900, 1100)``, each side from :data:`MIN_SIDE_PX` to :data:`MAX_SIDE_PX`."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CommandError(f"--size must look like 900x1100, got {text!r}") from None
    for side in (width, height):
        if not MIN_SIDE_PX <= side <= MAX_SIDE_PX:
            raise CommandError(f"--size {text!r}: each side must be {MIN_SIDE_PX} to {MAX_SIDE_PX} pixels")
    return width, height


_COORDS = re.compile(r"^\s*-?\d*\.?\d+(?:[eE][-+]?\d+)?(?:\s*,\s*-?\d*\.?\d+(?:[eE][-+]?\d+)?){2}\s*$")


def parse_xyz(text: str, *, name: str = "point") -> list[float]:
    """``"x,y,z"`` (mm) -> three floats, with a clear error for anything else."""
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise CommandError(f"{name} must be three numbers X,Y,Z in mm, got {text!r}") from None
    if len(values) != 3:
        raise CommandError(f"{name} must be three numbers X,Y,Z in mm, got {len(values)} in {text!r}")
    return values


def cmd_press(args: argparse.Namespace) -> int:
    """Press at a landmark, a structure or X,Y,Z and print what is at risk."""
    from handatlas.search import find

    atlas = _atlas(args)
    where: str | list[float]
    if _COORDS.match(args.where) or "," in args.where:
        where = parse_xyz(args.where)
    else:  # a landmark wins over a structure of the same name, as in atlas.press
        where = find(atlas, args.where, first=("landmark", "structure", "group"),
                     what="landmark or structure").id
    direction = parse_xyz(args.direction, name="--direction") if args.direction else None
    report = atlas.press(where, grade=args.grade, radius_mm=args.radius, force_n=args.force,
                         direction=direction)
    if args.json:
        _print_json(report.as_dict())
        return 0
    print_report(report, atlas)
    return 0


def print_report(report, atlas: Atlas) -> None:
    """A press report as readable tables."""
    from rich.table import Table

    from handatlas.lookup.model import GRADE_FORCE_N
    from handatlas.names import landmark_name

    console = _console()
    colour = {"avoid": "bold red", "caution": "bold yellow", "safe": "bold green"}[report.verdict]
    point = ", ".join(f"{v:.1f}" for v in report.point)
    where = landmark_name(atlas, report.landmark) if report.landmark else point
    load = f"{report.force_n:g} N"
    if report.force_n == GRADE_FORCE_N[report.grade]:  # the grade's force, not one given instead
        load = f"{report.grade}, {load}"
    pad = f"{report.radius_mm:g}"
    article = "an" if pad.startswith("8") or pad.split(".")[0] in ("11", "18") else "a"
    console.print(f"[bold]{where}[/bold] — {load} on {article} {pad} mm "
                  f"pad ({report.pressure_kpa:.0f} kPa, sinks {report.sink_mm:.1f} mm), territory "
                  f"{report.territory}: [{colour}]{report.verdict.upper()}[/{colour}]", highlight=False)
    console.print(report.message, highlight=False)
    if report.at_risk or report.shielded:
        table = Table(title="flagged")
        for col in ("structure", "tissue", "level", "stress kPa", "distance mm", "depth mm", ""):
            table.add_column(col, justify="right" if "mm" in col or "kPa" in col else "left")
        for row, note in [(r, "pinned on bone" if r.pinned else "") for r in report.at_risk] + [
                (r, "behind bone") for r in report.shielded]:
            table.add_row(row.name, row.tissue, row.level, f"{row.stress_kpa:.0f}", f"{row.distance_mm:.1f}",
                          f"{row.depth_mm:.1f}", note)
        console.print(table)
    table = Table(title="layers along the axis")
    for col in ("structure", "layer", "from mm", "to mm"):
        table.add_column(col, justify="right" if "mm" in col else "left")
    for layer in report.layers:
        s = atlas.structures[layer.id]
        table.add_row(s.name, s.layer or "", f"{layer.entry_mm:.1f}", f"{layer.exit_mm:.1f}")
    console.print(table)


def cmd_safety_map(args: argparse.Namespace) -> int:
    """Render the skin coloured by the verdict of a press at every point."""
    from handatlas.lookup.press import verdict_shares
    from handatlas.render import safety_map_plotter, save

    check_output(args.output)  # before the work
    _picture_path(args.output)
    atlas = _atlas(args)
    codes = atlas.safety_map(grade=args.grade, radius_mm=args.radius, force_n=args.force)
    views = [v.strip() for v in args.view.split(",") if v.strip()]
    load = f"{args.force:g} N" if args.force is not None else args.grade
    title = f"{load} pressure, {args.radius:g} mm pad"
    path = save(safety_map_plotter(atlas, codes, views=views, title=title), args.output)
    shares = ", ".join(f"{name} {share:.0%}" for name, share in verdict_shares(atlas, codes).items())
    print(f"{path}: {shares} of the skin's area")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    """Rebuild the atlas from myo-sim and the anatomy specification."""
    try:
        from handatlas.build.pipeline import build_atlas
    except ImportError as exc:
        raise CommandError(
            f"the build needs the 'build' extra ({exc}); install it with: pip install -e '.[build]'"
        ) from None
    out = Path(args.out) if args.out else None
    report = build_atlas(out)
    print(report)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Check the manifest and every mesh file; exit 1 when anything is wrong."""
    try:
        atlas = _atlas(args)
    except fmt.ManifestError as exc:
        raise CommandError(str(exc), code=1) from None
    problems = atlas.validate()
    for problem in problems:
        print(f"handatlas: invalid: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{atlas.folder}: valid ({len(atlas.with_geometry())} meshes, "
          f"{len(atlas.landmarks)} landmarks)")
    return 0


def cmd_quiz_check(args: argparse.Namespace) -> int:
    """Check quiz files (default: the shipped ones) against the atlas; exit 1 if any is invalid."""
    from handatlas.quiz import check_files, default_quiz_dir, quiz_paths

    given = args.files or [default_quiz_dir()]
    paths = quiz_paths(given)
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing or not paths:
        raise CommandError(f"no such quiz file: {missing[0]}" if missing else "no quiz files to check")
    problems = check_files(given, _atlas(args))  # a folder's symlinks leading out of it are refused
    for problem in problems:
        print(problem, file=sys.stderr)
    bad = {p.file for p in problems}
    for path in paths:
        if str(path) not in bad:
            print(f"{path}: valid")
    return 1 if problems else 0


def cmd_quiz_export(args: argparse.Namespace) -> int:
    """Export quiz files to Moodle XML, GIFT or an Anki package; exit 1 if a file is invalid."""
    from handatlas.quiz import check_files, load_quiz, quiz_paths
    from handatlas.quiz.export import ExportError, PictureError, export_quizzes

    paths = quiz_paths(args.files)
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing or not paths:
        raise CommandError(f"no such quiz file: {missing[0]}" if missing else "no quiz files to export")
    atlas = _atlas(args)
    # a folder's symlinks leading out of it are refused; Moodle or Anki need no exam domains
    problems = check_files(args.files, atlas, domains=False)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"handatlas: error: nothing exported: {len({p.file for p in problems})} invalid quiz file(s)",
              file=sys.stderr)
        return 1
    try:
        result = export_quizzes([load_quiz(p) for p in paths], atlas, fmt=args.format, output=args.output,
                                pictures=not args.no_pictures)
    except (ExportError, PictureError) as exc:
        raise CommandError(str(exc)) from None
    print(f"{result.path}: {result.fmt}, {result.questions} questions as {result.items} items, "
          f"{result.pictures} pictures")
    return 0


def cmd_quiz_mock(args: argparse.Namespace) -> int:
    """Draw a mock exam from the bank with the blueprint's domain weights; write it as a quiz file."""
    from handatlas.outputs import write_bytes
    from handatlas.quiz import QuizError, default_quiz_dir, load_quiz, quiz_paths
    from handatlas.quiz.blueprint import BLUEPRINT, BlueprintError, QuotaError, domain_counts, domain_table
    from handatlas.quiz.checking import domain_problems
    from handatlas.quiz.mock import mock_exam, mock_quiz_yaml

    paths = quiz_paths(args.files or [default_quiz_dir()])
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing or not paths:
        raise CommandError(f"no such quiz file: {missing[0]}" if missing else "no quiz files to draw from")
    if args.count < 1:
        raise CommandError(f"--count must be at least 1, got {args.count}")
    if args.output is not None:
        check_output(args.output)  # before the work
    try:
        quizzes = [load_quiz(path) for path in paths]
    except QuizError as exc:
        raise CommandError(str(exc), code=1) from None
    untagged = [problem for quiz in quizzes for i, q in enumerate(quiz.questions)
                for problem in domain_problems(quiz, i, q)]
    if untagged:
        raise CommandError("questions without one exam domain (a mock exam is drawn by domain):\n"
                           + "\n".join(map(str, untagged)), code=1)
    bank = [q for quiz in quizzes for q in quiz.questions]
    if args.count > len(bank):
        raise CommandError(f"--count {args.count} is more than the {len(bank)} questions in the bank")
    try:
        exam = mock_exam(bank, count=args.count, seed=args.seed)
    except QuotaError as exc:
        raise CommandError(f"--count {args.count} is too many for this bank: {exc}") from None
    except BlueprintError as exc:
        raise CommandError(str(exc), code=1) from None
    text = mock_quiz_yaml(exam, seed=args.seed)
    summary = f"{len(exam)} of {len(bank)} questions, seed {args.seed}, weights of the {BLUEPRINT}:\n"
    summary += domain_table(domain_counts(exam))
    if args.output:
        path = write_bytes(args.output, text.encode("utf-8"))
        print(f"{path}: {summary}")
    else:
        sys.stdout.write(text)
        print(summary, file=sys.stderr)
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    """Run an FSRS-scheduled drill in the terminal; every answer is saved as it is given."""
    import getpass
    import os

    from handatlas.quiz import QuizError, default_quiz_dir
    from handatlas.quiz.drill import Drill, run_terminal
    from handatlas.quiz.progress import ProgressStore, StoreError

    tags = [t.strip() for t in (args.tags or "").split(",") if t.strip()]
    learner = args.learner or os.environ.get("HANDATLAS_LEARNER")
    if not learner:
        try:
            learner = getpass.getuser()
        except (OSError, KeyError):  # no login name (e.g. a container without a passwd entry)
            learner = "learner"
    if args.count < 1:
        raise CommandError(f"--count must be at least 1, got {args.count}")
    if args.time_limit is not None and not args.time_limit > 0:
        raise CommandError(f"--time-limit must be a positive number of seconds, got {args.time_limit:g}")
    quizzes = Path(args.quizzes) if args.quizzes else default_quiz_dir()
    if not quizzes.exists():
        raise CommandError(f"no such quiz folder or file: {quizzes}")
    bank = drill_bank(quizzes)
    try:
        store = ProgressStore.open(args.db)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    if args.review is not None:
        with store:
            return print_review(store, bank, learner, args)
    try:
        # every type: locate questions are answered by a landmark's name (drill.parse_answer)
        drill = Drill(store, bank, learner=learner, tags=tags, match=args.match, count=args.count,
                      time_limit=args.time_limit, atlas=lambda: _atlas(args), seed=args.seed)
        return run_terminal(drill, stdin=sys.stdin, stdout=sys.stdout)
    except QuizError as exc:
        raise CommandError(str(exc), code=1) from None
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.close()


def print_review(store: ProgressStore, bank: list[BankQuestion], learner: str,
                 args: argparse.Namespace) -> int:
    """``handatlas drill --review N``: the learner's last N answers not fully right, each with its
    options in the order the learner saw them (:mod:`handatlas.quiz.review`); no drill is started."""
    from handatlas.quiz.progress import StoreError
    from handatlas.quiz.review import missed_review

    if args.review < 1:
        raise CommandError(f"--review must be at least 1, got {args.review}")
    try:
        name = store.learner_name(learner)
        missed = [a for a in store.answers(name) if not a.correct][-args.review:]
    except KeyError:
        raise CommandError(f"no progress for learner {learner!r} in {store.url}") from None
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    identify = {q.uid for q in bank if q.question.type == "identify"}
    atlas = _atlas(args) if any(f"{a.quiz_id}/{a.question_id}" in identify for a in missed) else None
    text = missed_review(store, bank, name, limit=args.review, atlas=atlas)
    print(text.rstrip("\n") if text else f"{name} has no answer that was not fully right.")
    return 0


def drill_bank(quizzes: Path) -> list[BankQuestion]:
    """The questions ``handatlas drill`` asks from a quiz folder or file.

    A folder is read as the app reads it (:func:`handatlas.quiz.drill.folder_bank`): a file that
    cannot be loaded is left out, named on stderr with its reason, and the rest is drilled.  Exit
    1 (a :class:`CommandError`) only when nothing can be loaded.
    """
    from handatlas.quiz import QuizError
    from handatlas.quiz.drill import folder_bank, load_bank

    if not quizzes.is_dir():
        try:
            return load_bank(quizzes)
        except QuizError as exc:
            raise CommandError(str(exc), code=1) from None
    bank, notes = folder_bank(quizzes)
    for note in notes:
        print(f"handatlas: left out: {note}", file=sys.stderr)
    if not bank:
        why = f"every quiz file of {quizzes} was left out" if notes else f"no quiz files in {quizzes}"
        raise CommandError(f"nothing to drill: {why}", code=1)
    return bank


def cmd_class(args: argparse.Namespace) -> int:
    """Print a class's weakest topics from the progress store; ``-o`` writes every learner's rows as CSV."""
    from handatlas.names import counted
    from handatlas.outputs import write_bytes
    from handatlas.quiz import QuizError, default_quiz_dir
    from handatlas.quiz.classreport import class_report, csv_text, topics_text
    from handatlas.quiz.drill import load_bank
    from handatlas.quiz.progress import ProgressStore, StoreError

    quizzes = Path(args.quizzes) if args.quizzes else default_quiz_dir()
    if args.output is not None:
        check_output(args.output)
    try:
        bank = load_bank(quizzes)
    except QuizError as exc:
        raise CommandError(str(exc), code=1) from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    try:
        with ProgressStore.open(args.db, create=False) as store:
            report = class_report(store, bank)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    print(topics_text(report, limit=args.limit))
    if args.output is not None:
        path = write_bytes(args.output, csv_text(report).encode("utf-8"))
        print(f"{path}: {counted(len(report.rows), 'row')} ({counted(len(report.learners), 'learner')})")
    return 0


def check_store(db: str | None) -> None:
    """Open the progress store once: a bad URL or a missing driver is named now, not at the first drill."""
    from handatlas.quiz.progress import ProgressStore, StoreError

    try:
        ProgressStore.open(db).close()
    except StoreError as exc:
        raise CommandError(str(exc)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the web app (blocks until interrupted)."""
    from handatlas.accounts import CredentialsError, load_instructors
    from handatlas.oidc import OidcError, oidc_config
    from handatlas.quiz import default_quiz_dir
    from handatlas.secret import SecretError, server_secret

    if not 0 < args.port < 65536:
        raise CommandError(f"--port must be between 1 and 65535, got {args.port}")
    quizzes = Path(args.quizzes) if args.quizzes else default_quiz_dir()
    if not quizzes.is_dir():
        raise CommandError(f"--quizzes: no such folder: {quizzes}")
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise CommandError("--ssl-certfile and --ssl-keyfile go together (HTTPS needs both)")
    for option, path in (("--ssl-certfile", args.ssl_certfile), ("--ssl-keyfile", args.ssl_keyfile)):
        if path and not Path(path).is_file():
            raise CommandError(f"{option}: no such file: {path}")
    if args.num_procs < 0:
        raise CommandError(f"--num-procs must be 0 (one per CPU) or more, got {args.num_procs}")
    if args.num_procs != 1 and sys.platform == "win32":
        raise CommandError("--num-procs needs fork(): one process only on Windows")
    for option, value in (("--session-lifetime", args.session_lifetime),
                          ("--session-check", args.session_check)):
        if not 0 < value <= 3600:
            raise CommandError(f"{option} must be more than 0 and at most 3600 seconds, got {value:g}")
    check_store(args.db)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("handatlas").setLevel(args.log_level.upper())
    try:
        oidc = oidc_config(args.oauth_provider, key=args.oauth_key, secret=args.oauth_secret,
                           authorize_url=args.oauth_authorize_url, token_url=args.oauth_token_url,
                           userinfo_url=args.oauth_userinfo_url, user_key=args.oauth_user_key,
                           tenant=args.oauth_tenant, redirect_uri=args.oauth_redirect_uri,
                           instructors=args.instructor or ())
        instructors = load_instructors() if oidc is None else None
        secret = server_secret(args.secret)
    except (CredentialsError, SecretError, OidcError) as exc:
        raise CommandError(str(exc)) from None
    if oidc is None and args.instructor:
        raise CommandError("--instructor names identities at an OpenID Connect provider: give "
                           "--oauth-provider too (password instructors come from $HANDATLAS_INSTRUCTORS)")
    from handatlas.ui.app import serve

    scheme = "https" if args.ssl_certfile else "http"
    procs = f"{args.num_procs} processes" if args.num_procs != 1 else "one process"
    if oidc is not None:
        who = (f"everyone signs in at the {oidc.provider} provider; instructors: "
               f"{', '.join(oidc.instructors) if oidc.instructors else 'none (authoring off)'}")
    else:
        who = f"authoring {'on: instructors sign in at /login' if instructors else 'off'}"
    print(f"handatlas: serving on {scheme}://{args.address}:{args.port}/ ({procs}; quizzes: {quizzes}; "
          f"{who}); Ctrl-C stops", file=sys.stderr)
    origins = args.allow_websocket_origin or None
    try:
        serve(port=args.port, address=args.address, quizzes=quizzes, progress_db=args.db,
              atlas_dir=args.atlas, instructors=instructors, show=args.show, secret=secret,
              origins=origins, ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
              use_xheaders=args.use_xheaders, num_procs=args.num_procs,
              session_lifetime_s=args.session_lifetime, session_check_s=args.session_check, oidc=oidc)
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.address}:{args.port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        pass
    return 0


def cmd_instructor_hash(args: argparse.Namespace) -> int:
    """Ask for a password and print its hash for an instructors credentials file."""
    import getpass

    from handatlas.accounts import hash_password

    password = sys.stdin.readline().rstrip("\n") if args.stdin else getpass.getpass("Instructor password: ")
    if len(password) < 8:
        raise CommandError("the password must be at least 8 characters long")
    print(hash_password(password))
    return 0


# ------------------------------------------------------------------ parser
FORCE_HELP = "force on the pad in newtons (instead of the grade's)"
#: ``serve --oauth-provider``'s choices (:data:`handatlas.oidc.PROVIDERS`).
OIDC_PROVIDERS = ("generic", "google", "azure", "azurev2")
#: ``serve``'s session lifetimes (those of :mod:`handatlas.ui.server`, which imports Panel: not here).
SESSION_LIFETIME_S = 15.0
SESSION_CHECK_S = 5.0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``handatlas``."""
    parser = _Parser(prog="handatlas", description=__doc__.splitlines()[0])
    parser.add_argument("--atlas", metavar="DIR", help="atlas folder (default: the shipped one)")
    parser.set_defaults(func=cmd_summary)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        return p

    add("summary", cmd_summary, "what the atlas holds")
    p = add("structures", cmd_structures, "list the structures")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--group", help="only this group and what lies below it")
    p = add("landmarks", cmd_landmarks, "list the named landmarks (skin points with normals)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("info", cmd_info, "describe a structure or landmark")
    p.add_argument("name", metavar="ID_OR_NAME")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("render", cmd_render, "render a view of the hand to PNG (off screen)")
    p.add_argument("--view", choices=("palmar", "dorsal", "radial", "ulnar"), default="palmar")
    p.add_argument("--layers", help="comma-separated layers, tissues or structure names")
    p.add_argument("--size", default="900x1100", help="WIDTHxHEIGHT in pixels")
    p.add_argument("-o", "--output", required=True, metavar="FILE.png")
    p = add("press", cmd_press, "press at a landmark, structure or X,Y,Z: what is at risk, how deep")
    p.add_argument("where", metavar="LANDMARK|STRUCTURE|X,Y,Z",
                   help="a landmark or structure (id, name, acronym or synonym), or coordinates in mm "
                        "(negative ones after --)")
    p.add_argument("--grade", default="moderate", help="light (3 N), moderate (15 N) or firm (40 N)")
    p.add_argument("--radius", type=float, default=8.0, metavar="MM", help="contact radius (default 8)")
    p.add_argument("--force", type=float, metavar="N", help=FORCE_HELP)
    p.add_argument("--direction", metavar="DX,DY,DZ", help="inward axis (default: into the skin)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = add("safety-map", cmd_safety_map, "render the skin coloured by the verdict of a press everywhere")
    p.add_argument("--grade", default="firm", help="light (3 N), moderate (15 N) or firm (40 N)")
    p.add_argument("--radius", type=float, default=8.0, metavar="MM", help="contact radius (default 8)")
    p.add_argument("--force", type=float, metavar="N", help=FORCE_HELP)
    p.add_argument("--view", default="palmar,dorsal", help="comma-separated views")
    p.add_argument("-o", "--output", required=True, metavar="FILE.png")
    p = add("build", cmd_build, "rebuild the atlas from myo-sim (needs the build extra)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: the source tree's meshes/)")
    add("validate", cmd_validate, "check the manifest and every mesh file")
    quiz = sub.add_parser("quiz", help="check, export or draw quizzes",
                          description="check, export or draw quizzes")
    quiz_sub = quiz.add_subparsers(dest="quiz_command", metavar="ACTION", parser_class=_Parser, required=True)
    p = quiz_sub.add_parser("check", help="validate quiz files against the atlas",
                            description="validate quiz files against the atlas (exit 1 if any is invalid)")
    p.set_defaults(func=cmd_quiz_check)
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="quiz files or folders (default: the shipped quizzes)")
    p = quiz_sub.add_parser("export", help="export quizzes to Moodle XML, GIFT or Anki",
                            description="export quiz files to Moodle XML, GIFT or an Anki package")
    p.set_defaults(func=cmd_quiz_export)
    p.add_argument("files", nargs="+", metavar="FILE", help="quiz files or folders")
    p.add_argument("--format", required=True, choices=("moodle", "gift", "anki"), help="the output format")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="the file to write")
    p.add_argument("--no-pictures", action="store_true", help="do not render pictures (Moodle, Anki)")
    p = quiz_sub.add_parser("mock", help="draw a mock exam following the MBLEx domain weights",
                            description="draw a mock exam from quiz files (default: the shipped bank) with "
                                        "the domain weights of the FSMTB MBLEx content outline")
    p.set_defaults(func=cmd_quiz_mock)
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="quiz files or folders (default: the shipped quizzes)")
    p.add_argument("--count", type=int, default=60, metavar="N", help="questions in the exam (default 60)")
    p.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0): same seed, same exam")
    p.add_argument("-o", "--output", metavar="FILE.yaml", help="write the quiz file here (default: stdout)")
    p = add("drill", cmd_drill, "drill quiz questions by tag in the terminal, scheduled per learner (FSRS)")
    p.add_argument("--tags", metavar="TAG[,TAG...]", help="topic:... / domain:... tags, bare words or "
                   "patterns such as topic:*nerve (default: the whole bank)")
    p.add_argument("--match", choices=("any", "all"), default="any",
                   help="a question needs any (default) or all of the tags")
    p.add_argument("--learner", metavar="NAME",
                   help="learner name (default: $HANDATLAS_LEARNER or your login)")
    p.add_argument("--count", type=int, default=10, metavar="N", help="questions at most (default 10)")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL or SQLite path of the progress store "
                   "(default: $HANDATLAS_DB_URL or progress.sqlite in the user data folder)")
    p.add_argument("--quizzes", metavar="DIR", help="quiz folder or file (default: the shipped quizzes)")
    p.add_argument("--time-limit", type=float, metavar="S", help="seconds per question (over it scores 0)")
    p.add_argument("--seed", type=int, help="seed the order of new questions")
    p.add_argument("--review", type=int, nargs="?", const=10, metavar="N",
                   help="show the learner's last N items missed (default 10), options in the order "
                        "they were shown, instead of drilling")
    p = add("class", cmd_class, "the class's progress for instructors: weakest topics first, CSV per learner")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL or SQLite path of the progress store "
                   "(default: $HANDATLAS_DB_URL or progress.sqlite in the user data folder)")
    p.add_argument("--quizzes", metavar="DIR", help="the quiz folder whose tags give the topics "
                   "(default: the shipped quizzes)")
    p.add_argument("--limit", type=int, default=15, metavar="N", help="topics to print (default 15)")
    p.add_argument("-o", "--output", metavar="FILE.csv", help="write every learner's rows per topic as CSV")
    p = add("serve", cmd_serve, "start the web app: explore, press, quiz, drill and author in the browser")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument("--address", default="localhost", help="address to listen on (default localhost)")
    p.add_argument("--quizzes", metavar="DIR", help="quiz folder (default: the shipped quizzes)")
    p.add_argument("--db", metavar="URL", help="SQLAlchemy URL or SQLite path of the drill progress store "
                   "(default: $HANDATLAS_DB_URL or progress.sqlite in the user data folder)")
    p.add_argument("--show", action="store_true", help="open the page in a browser")
    p.add_argument("--secret", metavar="TEXT", help="the secret that signs session ids and cookies "
                   "(default $HANDATLAS_SECRET, else one generated and kept in the user config folder)")
    p.add_argument("--allow-websocket-origin", action="append", metavar="HOST[:PORT]",
                   help="a host a page may come from (repeat; needed behind a proxy; default this server)")
    p.add_argument("--ssl-certfile", metavar="PEM", help="serve HTTPS with this certificate (chain)")
    p.add_argument("--ssl-keyfile", metavar="PEM", help="the certificate's private key")
    p.add_argument("--use-xheaders", action="store_true",
                   help="behind a reverse proxy: trust its X-Forwarded-For/-Proto (client address, HTTPS)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info",
                   help="what the server logs to stderr (default info: sign-ins, refusals, sessions)")
    p.add_argument("--num-procs", type=int, default=1, metavar="N",
                   help="server processes sharing the port (default 1; 0: one per CPU)")
    p.add_argument("--session-lifetime", type=float, default=SESSION_LIFETIME_S, metavar="S",
                   help=f"seconds a session without its page is kept (default {SESSION_LIFETIME_S:g})")
    p.add_argument("--session-check", type=float, default=SESSION_CHECK_S, metavar="S",
                   help=f"seconds between looks for such sessions (default {SESSION_CHECK_S:g}): a closed "
                        "page's session is gone within the lifetime plus this")
    oidc = p.add_argument_group("sign-in at the school's OpenID Connect provider (docs/sign_in_oidc.md)")
    oidc.add_argument("--oauth-provider", choices=OIDC_PROVIDERS,
                      help="everyone signs in there: students' identities are their learners, the "
                           "--instructor identities author (instructor passwords are then off)")
    oidc.add_argument("--oauth-key", metavar="ID", help="the client id (default $PANEL_OAUTH_KEY)")
    oidc.add_argument("--oauth-secret", metavar="TEXT",
                      help="the client secret (default $PANEL_OAUTH_SECRET; prefer the variable: "
                           "options show in the process list)")
    oidc.add_argument("--oauth-authorize-url", metavar="URL",
                      help="generic: the authorization endpoint (default $PANEL_OAUTH_AUTHORIZE_URL)")
    oidc.add_argument("--oauth-token-url", metavar="URL",
                      help="generic: the token endpoint (default $PANEL_OAUTH_TOKEN_URL)")
    oidc.add_argument("--oauth-userinfo-url", metavar="URL",
                      help="generic: the userinfo endpoint (default $PANEL_OAUTH_USER_URL)")
    oidc.add_argument("--oauth-user-key", metavar="CLAIM",
                      help="the claim naming the user (default $PANEL_USER_KEY, else email; Azure v1: "
                           "unique_name)")
    oidc.add_argument("--oauth-tenant", metavar="GUID",
                      help="azure/azurev2: the school's directory (tenant) id (default $AAD_TENANT_ID)")
    oidc.add_argument("--oauth-redirect-uri", metavar="URL",
                      help="where the provider sends users back: https://<site>/login (default "
                           "$PANEL_OAUTH_REDIRECT_URI, else the address the request came to)")
    oidc.add_argument("--instructor", action="append", metavar="IDENTITY",
                      help="an identity (e.g. an address) that may author (repeat; default the comma-"
                           "separated $HANDATLAS_OIDC_INSTRUCTORS)")
    p = add("instructor-hash", cmd_instructor_hash,
            "hash an instructor password for the credentials file ($HANDATLAS_INSTRUCTORS)")
    p.add_argument("--stdin", action="store_true", help="read the password from standard input")
    return parser


def _coordinates_last(argv: list[str]) -> list[str]:
    """Let ``press -12.5,3,4 --grade firm`` work: argparse would read -12.5,... as an option."""
    if "--" in argv:
        return argv
    coords = [a for a in argv if a.startswith("-") and _COORDS.match(a)]
    if not coords:
        return argv
    return [a for a in argv if a not in coords] + ["--", *coords]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``handatlas`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(_coordinates_last(list(sys.argv[1:] if argv is None else argv)))
        return args.func(args)
    except CommandError as exc:
        print(f"handatlas: error: {exc}", file=sys.stderr)
        return exc.code
    except UnknownNameError as exc:
        print(f"handatlas: error: {exc}", file=sys.stderr)
        return 2
    except fmt.ManifestError as exc:
        print(f"handatlas: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"handatlas: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
