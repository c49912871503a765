"""Muscle bellies, fascial sheets and tendons: the closed soft-tissue solids of the atlas.

Geometry kinds of the specification handled here (points as in :mod:`handatlas.build.points`):

``{kind: belly, path: [POINT, ...], width: MM, thickness: MM, facing: DIR, profile: [...]}``
    A muscle belly: an elliptic section swept along a smooth centreline from origin to
    insertion.  ``width`` and ``thickness`` are the full axes at the widest section;
    ``thickness`` is measured along ``facing`` (``palmar``, ``dorsal``, ``radial``, ``ulnar``,
    ``distal``, ``proximal``, a vector, or a point spec: the direction from the belly's middle
    toward that point); ``profile`` scales the section along the path (values spread evenly,
    default a spindle).  ``heads: [{path: ..., ...}, ...]`` unites several such bellies (fields
    not given in a head are taken from the structure).
``{kind: sheet, parts: [{rows: [[POINT, ...], ...]} | {strip: [POINT, ...], width: MM}], thickness: MM}``
    A thin closed slab: each ``rows`` part is a smooth surface through a grid of control points
    (rows proximal to distal, the same number of columns in each) thickened along its normal
    toward ``facing`` (``side: outer``: the slab lies on the facing side of the control surface,
    ``inner``: behind it, ``centre``: around it); each ``strip`` part is a flat band along a path.
    The parts are united.
``{kind: tendon, radius: R | [R0, ...], path: [POINT | {site: NAME, offset: [...]}, ...]}``
    A tube like a nerve's, whose path may also name myo-sim tendon path sites.  A path item may
    carry ``margin: MM``, the least depth of the tendon's surface under the skin at that point
    (default the structure's ``margin`` plus 0.1 mm), spread linearly between control points: a
    tendon under a retinaculum keeps below it, in the build and in the relaxation.

Every solid is then kept under the skin: vertices less than :data:`SKIN_CLEARANCE_MM` under it
are pulled inward (``margin`` overrides it).  Bellies and sheets are carved (boolean
difference) by the bones they touch (``carve_bones: false`` to keep them), by the tubes
listed in ``avoid`` (nerves and vessels built earlier), each inflated to ``avoid_radius``, so
that a muscle never swallows a neurovascular bundle, and by the solids listed in ``carve_by``
(bellies or sheets built earlier in the specification, as they were before the bones cut them):
where two muscles' raw shapes overlap, the one built first keeps the shared space, so
neighbours fill a compartment without interpenetrating, and a sheet that runs into the bones
(the interosseous membrane) walls one compartment off from the next.  ``simplify: MM`` then
drops every vertex the surface can lose without moving more than MM (manifold3d's
simplification; keeps long forearm bellies to a few thousand triangles).  A belly is one body:
only its largest piece is kept (a sheet's too with ``one_body: true``).  Meshes are watertight,
consistently wound and deterministic.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import trimesh
from scipy.interpolate import make_interp_spline
from scipy.spatial import cKDTree

from handatlas.build.digits import unit
from handatlas.build.paths import path_points
from handatlas.build.points import DIRECTIONS, PointContext, PointError
from handatlas.build.tubes import (
    along_control,
    catmull_rom,
    interpolate_radii,
    keep_clear,
    sweep_tube,
    unkink,
)
from handatlas.build.writer import MeshData

if TYPE_CHECKING:
    import manifold3d

KINDS = ("belly", "sheet", "tendon")
#: Every solid's vertices end at least this far under the skin (DESIGN.md asks for 0.5 mm).
SKIN_CLEARANCE_MM = 0.7
#: Spacing of the skin samples that measure depth, mm.
SKIN_SAMPLE_MM = 0.5
BELLY_STEP_MM = 2.0
BELLY_SECTIONS = 16
TENDON_STEP_MM = 1.5
TENDON_SIDES = 10
SHEET_STEP_MM = 2.0
DEFAULT_PROFILE = (0.3, 0.8, 1.0, 0.85, 0.35)
DEFAULT_AVOID_RADIUS_MM = 2.4
#: Bones are decimated to this many faces before they carve a muscle (a light, exact-enough cut).
CARVE_BONE_FACES = 1500
#: Pieces of a carved solid smaller than this fraction of its volume are dropped.
MIN_PIECE_FRACTION = 0.03


# ---------------------------------------------------------------------------- skin distance
class SkinDepth:
    """Depth of points under a closed skin (positive inside), fast enough for every vertex.

    The skin is sampled densely (:func:`surface_samples`, spacing ``spacing``); the distance to
    the nearest sample overestimates the distance to the skin by at most
    ``sqrt(d**2 + h**2) - d`` (``h`` the covering radius, about ``0.6 * spacing``): under 0.1 mm at
    the depths that matter here.  Inside/outside comes from ray tests.

    Parameters
    ----------
    skin
        Closed, outward-wound skin.
    spacing : float
        Sample spacing, mm.
    """

    def __init__(self, skin: trimesh.Trimesh, *, spacing: float = SKIN_SAMPLE_MM) -> None:
        self.skin = skin
        self.samples, self.faces = surface_samples(np.asarray(skin.triangles, dtype=float), spacing)
        self.tree = cKDTree(self.samples)
        self.normals = np.asarray(skin.face_normals, dtype=float)

    def closest(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest skin samples, their distances and triangle ids for ``points`` ``(n, 3)``."""
        distance, index = self.tree.query(np.asarray(points, dtype=float).reshape(-1, 3))
        return self.samples[index], distance, self.faces[index]

    def depth(self, points: np.ndarray) -> np.ndarray:
        """Signed depth under the skin, mm: positive inside, negative outside."""
        pts = np.asarray(points, dtype=float).reshape(-1, 3)
        _, distance, _ = self.closest(pts)
        return np.where(self.skin.contains(pts), distance, -distance)


def surface_samples(triangles: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Points on every triangle on a barycentric grid of about ``spacing`` mm, with their triangle.

    Parameters
    ----------
    triangles : (t, 3, 3) float
    spacing : float

    Returns
    -------
    points : (s, 3) float
    faces : (s,) int
        Triangle of each point (shared edges are sampled once per triangle).
    """
    edges = np.linalg.norm(triangles - np.roll(triangles, 1, axis=1), axis=2).max(axis=1)
    steps = np.maximum(1, np.ceil(edges / spacing)).astype(int)
    points, faces = [], []
    for k in np.unique(steps):
        which = np.flatnonzero(steps == k)
        i, j = np.meshgrid(np.arange(k + 1), np.arange(k + 1), indexing="ij")
        keep = (i + j) <= k
        w1, w2 = i[keep] / k, j[keep] / k
        bary = np.column_stack([1.0 - w1 - w2, w1, w2])
        points.append(np.einsum("bk,tkd->tbd", bary, triangles[which]).reshape(-1, 3))
        faces.append(np.repeat(which, len(bary)))
    return np.vstack(points), np.concatenate(faces)


def pull_inside(vertices: np.ndarray, field: SkinDepth, *, clearance: float = SKIN_CLEARANCE_MM,
                iterations: int = 4) -> np.ndarray:
    """Move every vertex less than ``clearance`` under the skin to ``clearance`` under it.

    Parameters
    ----------
    vertices : (n, 3) float
    field
        The skin's :class:`SkinDepth`.
    clearance : float
        Minimum depth, mm.

    Returns
    -------
    (n, 3) float
        Vertices already deep enough are unchanged.
    """
    out = np.array(vertices, dtype=float)
    target = clearance * 1.02
    for _ in range(iterations):
        depth = field.depth(out)
        bad = depth < clearance
        if not bad.any():
            break
        closest, _, face = field.closest(out[bad])
        out[bad] = closest - field.normals[face] * target
    return out


# ---------------------------------------------------------------------------- primitives
def ellipse_sweep(curve: np.ndarray, half_width: np.ndarray, half_thickness: np.ndarray,
                  facing: np.ndarray, *, sections: int = BELLY_SECTIONS) -> trimesh.Trimesh:
    """A closed solid of elliptic section swept along ``curve``.

    Parameters
    ----------
    curve : (k, 3) float
        Centreline, k >= 2.
    half_width, half_thickness : (k,) float
        Semi-axes at each centreline point; the thickness axis is ``facing`` made perpendicular
        to the path.
    facing : (3,) float
        Direction of the thickness axis.
    sections : int
        Vertices around each ring.

    Returns
    -------
    trimesh.Trimesh
        Watertight, outward-wound, flat-capped.

    Examples
    --------
    >>> line = np.array([[0, 0, 0], [0, 10, 0], [0, 20, 0.0]])
    >>> ellipse_sweep(line, np.full(3, 2.0), np.full(3, 1.0), np.array([0, 0, 1.0])).is_watertight
    True
    """
    curve = np.asarray(curve, dtype=float)
    tangent = np.gradient(curve, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    up = np.asarray(facing, dtype=float)[None] - tangent * (tangent @ facing)[:, None]
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    across = np.cross(tangent, up)
    angle = np.linspace(0.0, 2 * np.pi, sections, endpoint=False)
    ring = (np.cos(angle)[None, :, None] * (half_width[:, None, None] * across[:, None, :])
            + np.sin(angle)[None, :, None] * (half_thickness[:, None, None] * up[:, None, :]))
    verts = (curve[:, None, :] + ring).reshape(-1, 3)
    return _close_rings(verts, curve, sections)


def _close_rings(verts: np.ndarray, curve: np.ndarray, sections: int) -> trimesh.Trimesh:
    k = len(curve)
    i = np.arange(k - 1)[:, None] * sections
    j = np.arange(sections)[None, :]
    a, b = i + j, i + (j + 1) % sections
    c, d = a + sections, b + sections
    side = np.concatenate([np.stack([a, b, d], -1), np.stack([a, d, c], -1)]).reshape(-1, 3)
    start, end = len(verts), len(verts) + 1
    cap0 = np.column_stack([np.full(sections, start), (j[0] + 1) % sections, j[0]])
    last = (k - 1) * sections
    cap1 = np.column_stack([np.full(sections, end), last + j[0], last + (j[0] + 1) % sections])
    mesh = trimesh.Trimesh(np.vstack([verts, curve[0], curve[-1]]), np.vstack([side, cap0, cap1]),
                           process=False)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def smooth_grid(control: np.ndarray, *, step: float = SHEET_STEP_MM) -> np.ndarray:
    """A dense grid through a grid of control points (interpolating splines in both directions).

    Parameters
    ----------
    control : (p, q, 3) float
        Rows of control points, p, q >= 2.
    step : float
        Target spacing of the output, mm.

    Returns
    -------
    (m, n, 3) float
        Passes through the control points at the grid's corners and edges.
    """
    control = np.asarray(control, dtype=float)
    p, q = control.shape[:2]
    down = np.linalg.norm(np.diff(control, axis=0), axis=2).sum(axis=0).max()
    across = np.linalg.norm(np.diff(control, axis=1), axis=2).sum(axis=1).max()
    m = max(p, int(np.ceil(down / step)) + 1)
    n = max(q, int(np.ceil(across / step)) + 1)
    u, v = np.linspace(0, 1, p), np.linspace(0, 1, q)
    rows = make_interp_spline(u, control, k=min(3, p - 1), axis=0)(np.linspace(0, 1, m))
    return make_interp_spline(v, rows, k=min(3, q - 1), axis=1)(np.linspace(0, 1, n))


def grid_normals(grid: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """Unit normals ``(m, n, 3)`` of a grid surface, turned toward ``facing`` on average."""
    du = np.gradient(grid, axis=0)
    dv = np.gradient(grid, axis=1)
    normal = np.cross(du, dv)
    normal /= np.linalg.norm(normal, axis=2, keepdims=True)
    if np.einsum("ijk,k->", normal, facing) < 0:
        normal = -normal
    return normal


def slab(grid: np.ndarray, normals: np.ndarray, *, outer: float, inner: float) -> trimesh.Trimesh:
    """A closed slab over a grid surface: from ``inner`` mm behind it to ``outer`` mm in front.

    Parameters
    ----------
    grid : (m, n, 3) float
        The surface.
    normals : (m, n, 3) float
        Unit normals ("in front").
    outer, inner : float
        Offsets of the two faces; the slab is ``outer + inner`` thick.

    Returns
    -------
    trimesh.Trimesh
        Watertight, outward-wound.

    Examples
    --------
    >>> g = np.stack(np.meshgrid(np.arange(3.0), np.arange(4.0), [0.0], indexing="ij"), -1)[:, :, 0]
    >>> n = np.zeros_like(g); n[..., 2] = 1
    >>> round(slab(g, n, outer=0.5, inner=0.5).volume, 6)
    6.0
    """
    m, n = grid.shape[:2]
    top = (grid + outer * normals).reshape(-1, 3)
    bottom = (grid - inner * normals).reshape(-1, 3)
    idx = np.arange(m * n).reshape(m, n)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    c, d = idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    top_faces = np.concatenate([np.stack([a, b, c], -1), np.stack([a, c, d], -1)])
    bottom_faces = top_faces[:, ::-1] + m * n
    border = np.concatenate([idx[0, :], idx[1:, -1], idx[-1, -2::-1], idx[-2:0:-1, 0]])
    p, q = border, np.roll(border, -1)
    # the top faces walk the border p -> q (or q -> p); walls take the opposite direction
    walls = np.concatenate([np.stack([q, p, p + m * n], -1), np.stack([q, p + m * n, q + m * n], -1)])
    faces = np.vstack([top_faces, bottom_faces, walls])
    mesh = trimesh.Trimesh(np.vstack([top, bottom]), faces, process=False)
    if not mesh.is_winding_consistent:
        walls = walls[:, ::-1]
        mesh = trimesh.Trimesh(np.vstack([top, bottom]), np.vstack([top_faces, bottom_faces, walls]),
                               process=False)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


# ---------------------------------------------------------------------------- booleans
def to_manifold(mesh: trimesh.Trimesh) -> manifold3d.Manifold:
    """A trimesh as a :class:`manifold3d.Manifold` (raises if it is not a valid solid)."""
    import manifold3d

    solid = manifold3d.Manifold(manifold3d.Mesh(vert_properties=np.asarray(mesh.vertices, np.float32),
                                                tri_verts=np.asarray(mesh.faces, np.uint32)))
    if solid.status() != manifold3d.Error.NoError:
        msg = f"not a valid solid for booleans: {solid.status()}"
        raise ValueError(msg)
    return solid


def from_manifold(solid: manifold3d.Manifold) -> trimesh.Trimesh:
    """A :class:`manifold3d.Manifold` back as a trimesh, pieces below :data:`MIN_PIECE_FRACTION` dropped."""
    pieces = [p for p in solid.decompose() if p.volume() > 0]
    total = sum(p.volume() for p in pieces)
    meshes = []
    for piece in sorted(pieces, key=lambda p: -p.volume()):
        if piece.volume() < MIN_PIECE_FRACTION * total:
            continue
        out = piece.to_mesh()
        meshes.append(trimesh.Trimesh(np.asarray(out.vert_properties[:, :3], float),
                                      np.asarray(out.tri_verts, np.int64), process=False))
    if not meshes:
        msg = "the solid vanished (carved away entirely)"
        raise ValueError(msg)
    return trimesh.util.concatenate(meshes) if len(meshes) > 1 else meshes[0]


def unite(meshes: Sequence[trimesh.Trimesh]) -> trimesh.Trimesh:
    """The union of closed meshes (one mesh is returned as is)."""
    if len(meshes) == 1:
        return meshes[0]
    import manifold3d

    return from_manifold(manifold3d.Manifold.batch_boolean([to_manifold(m) for m in meshes],
                                                           manifold3d.OpType.Add))


def carve(mesh: trimesh.Trimesh, cutters: Sequence[trimesh.Trimesh]) -> trimesh.Trimesh:
    """``mesh`` minus every cutter that touches its bounding box."""
    low, high = mesh.bounds
    near = [c for c in cutters if np.all(c.bounds[0] <= high) and np.all(c.bounds[1] >= low)]
    if not near:
        return mesh
    import manifold3d

    tools = manifold3d.Manifold.batch_boolean([to_manifold(c) for c in near], manifold3d.OpType.Add)
    return from_manifold(to_manifold(mesh) - tools)


# ---------------------------------------------------------------------------- spec evaluation
def direction(ctx: PointContext, value: Any, centre: np.ndarray) -> np.ndarray:
    """A unit direction: a name of :data:`DIRECTIONS`, a vector, or a point spec (toward it)."""
    if isinstance(value, str):
        if value not in DIRECTIONS:
            msg = f"unknown direction {value!r} (use one of {', '.join(DIRECTIONS)})"
            raise PointError(msg)
        return np.array(DIRECTIONS[value])
    if isinstance(value, Mapping):
        return unit(ctx.point(value) - centre)
    return unit(np.asarray(value, dtype=float))


def solid_path(ctx: PointContext, items: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """Evaluate a path whose items may also be myo-sim sites: ``{site: NAME, offset: [...]}``
    (a tendon's ``margin`` key is read by :func:`path_margins`)."""
    out: list[np.ndarray] = []
    for item in items:
        if isinstance(item, Mapping) and "margin" in item:
            item = {k: v for k, v in item.items() if k != "margin"}
        if isinstance(item, Mapping) and "site" in item:
            name = str(item["site"])
            if name not in ctx.hand.sites:
                msg = f"unknown myo-sim site {name!r}"
                raise PointError(msg)
            offset = np.asarray(item.get("offset", (0.0, 0.0, 0.0)), dtype=float)
            out.append(np.asarray(ctx.hand.sites[name], dtype=float) + offset)
        else:
            out.extend(path_points(ctx, [item]))
    return np.array(out, dtype=float)


def path_margins(ctx: PointContext, items: Sequence[Mapping[str, Any]], default: float) -> np.ndarray:
    """The skin margin at every control point of a tendon's path: an item's ``margin`` or
    ``default`` (a digit course gives one value per point it expands to)."""
    out: list[float] = []
    for item in items:
        count = len(solid_path(ctx, [item])) if isinstance(item, Mapping) and "digit" in item else 1
        out.extend([float(item.get("margin", default)) if isinstance(item, Mapping) else default] * count)
    return np.array(out, dtype=float)


def belly(ctx: PointContext, head: Mapping[str, Any]) -> trimesh.Trimesh:
    """One raw belly (before skin and carving) from its spec fields."""
    curve = catmull_rom(solid_path(ctx, head["path"]), step=float(head.get("step", BELLY_STEP_MM)))
    profile = interpolate_radii(list(head.get("profile", DEFAULT_PROFILE)), len(curve))
    facing = direction(ctx, head.get("facing", "palmar"), curve[len(curve) // 2])
    half_w = 0.5 * float(head["width"]) * profile
    half_t = 0.5 * float(head["thickness"]) * profile
    return ellipse_sweep(curve, half_w, half_t, facing, sections=int(head.get("sections", BELLY_SECTIONS)))


def sheet_part(ctx: PointContext, part: Mapping[str, Any], geometry: Mapping[str, Any]) -> trimesh.Trimesh:
    """One part of a sheet: a thickened grid surface or a flat strip."""
    thickness = float(part.get("thickness", geometry.get("thickness", 1.0)))
    facing_spec = part.get("facing", geometry.get("facing", "palmar"))
    if "strip" in part:
        head = {"path": part["strip"], "width": part["width"], "thickness": thickness,
                "facing": facing_spec, "profile": part.get("profile", (1.0,)), "sections": 12}
        return belly(ctx, head)
    rows = part.get("rows")
    if not rows or len({len(r) for r in rows}) != 1 or len(rows) < 2 or len(rows[0]) < 2:
        msg = "a sheet part needs 'rows': at least two rows of the same length (>= 2)"
        raise PointError(msg)
    control = np.array([[ctx.point(p) for p in row] for row in rows], dtype=float)
    grid = smooth_grid(control, step=float(geometry.get("step", SHEET_STEP_MM)))
    facing = direction(ctx, facing_spec, grid[grid.shape[0] // 2, grid.shape[1] // 2])
    normals = grid_normals(grid, facing)
    side = str(part.get("side", geometry.get("side", "centre")))
    outer = {"outer": thickness, "inner": 0.0, "centre": thickness / 2}[side]
    return slab(grid, normals, outer=outer, inner=thickness - outer)


class Carving:
    """Cutters shared by every solid of one build: decimated bones, inflated tubes and the
    solids built so far."""

    def __init__(self, ctx: PointContext) -> None:
        self.ctx = ctx
        self._bones: list[trimesh.Trimesh] | None = None
        self.solids: dict[str, trimesh.Trimesh] = {}

    def bones(self) -> list[trimesh.Trimesh]:
        """The posed bones, decimated (computed once)."""
        if self._bones is None:
            self._bones = [decimate(m, CARVE_BONE_FACES) for m in self.ctx.hand.meshes.values()]
        return self._bones

    def tubes(self, ids: Sequence[str], radius: float) -> list[trimesh.Trimesh]:
        """Tubes of ``radius`` along the centrelines of already-built structures."""
        out = []
        for sid in ids:
            if sid not in self.ctx.curves:
                msg = f"avoid: {sid!r} is not built yet (list it before the solids that avoid it)"
                raise PointError(msg)
            curve = self.ctx.curves[sid]
            out.append(sweep_tube(curve, np.full(len(curve), radius), sides=10))
        return out

    def built(self, ids: Sequence[str]) -> list[trimesh.Trimesh]:
        """Solids built earlier in this build, as they were before the bones cut them (for
        ``carve_by``: a sheet that ends inside a bone then seals against it without a seam)."""
        missing = [sid for sid in ids if sid not in self.solids]
        if missing:
            msg = f"carve_by: {missing} not built yet (list them before the solids they carve)"
            raise PointError(msg)
        return [self.solids[sid] for sid in ids]


def decimate(mesh: trimesh.Trimesh, faces: int) -> trimesh.Trimesh:
    """A lighter copy of a closed mesh (fast-simplification), kept valid for booleans."""
    if len(mesh.faces) <= faces:
        return mesh
    import fast_simplification

    points, tris = fast_simplification.simplify(np.asarray(mesh.vertices, np.float32),
                                                np.asarray(mesh.faces, np.int32),
                                                target_reduction=1.0 - faces / len(mesh.faces))
    light = trimesh.Trimesh(np.asarray(points, float), np.asarray(tris, np.int64))
    try:
        to_manifold(light)
    except ValueError:
        return mesh
    return light


#: The skin field and cutters of each build, made once per build (keyed by its point context).
_STATE: weakref.WeakKeyDictionary[PointContext, tuple[SkinDepth, Carving]] = weakref.WeakKeyDictionary()


def _state(ctx: PointContext, skin: trimesh.Trimesh) -> tuple[SkinDepth, Carving]:
    """The skin field and cutters of the current build."""
    if ctx not in _STATE:
        _STATE[ctx] = (SkinDepth(skin), Carving(ctx))
    return _STATE[ctx]


def build_solid(structure_id: str, geometry: Mapping[str, Any], ctx: PointContext, *,
                skin: trimesh.Trimesh) -> MeshData:
    """Mesh data of a ``belly``, ``sheet`` or ``tendon`` structure.

    Raises
    ------
    PointError
        With the structure id, when the specification cannot be evaluated.
    """
    try:
        if geometry["kind"] == "tendon":
            return build_tendon(structure_id, geometry, ctx, skin=skin)
        field, carving = _state(ctx, skin)
        mesh = raw_solid(geometry, ctx)
        clearance = float(geometry.get("margin", SKIN_CLEARANCE_MM))
        mesh.vertices = pull_inside(mesh.vertices, field, clearance=clearance)
        cutters = list(carving.tubes(geometry.get("avoid", ()),
                                     float(geometry.get("avoid_radius", DEFAULT_AVOID_RADIUS_MM))))
        mesh = carve(mesh, cutters + carving.built(geometry.get("carve_by", ())))
        carving.solids[structure_id] = mesh
        if geometry.get("carve_bones", True):
            mesh = carve(mesh, carving.bones())
        if "simplify" in geometry:
            mesh = simplify(mesh, float(geometry["simplify"]))
        if geometry.get("one_body", geometry["kind"] == "belly"):
            mesh = largest_piece(mesh)
        mesh.vertices = pull_inside(mesh.vertices, field, clearance=clearance)
    except (PointError, ValueError, KeyError) as exc:
        msg = f"structure {structure_id!r}: {exc}"
        raise PointError(msg) from None
    return MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces))


def simplify(mesh: trimesh.Trimesh, tolerance: float) -> trimesh.Trimesh:
    """A lighter copy of a closed mesh whose surface moves by at most ``tolerance`` mm.

    Uses manifold3d's simplification, which keeps the solid valid (fast-simplification's
    quadric decimation tears carved bellies along their thin walls); degenerate slivers it
    leaves are dropped as :func:`from_manifold` drops small pieces.

    Parameters
    ----------
    mesh
        A closed, consistently wound mesh.
    tolerance : float
        The largest distance any point of the surface may move, mm.

    Returns
    -------
    trimesh.Trimesh
        Watertight, outward-wound.
    """
    return from_manifold(to_manifold(mesh).simplify(tolerance))


def largest_piece(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The connected piece of a closed mesh with the largest volume (the mesh itself if whole).

    Parameters
    ----------
    mesh
        Closed pieces, possibly several.

    Returns
    -------
    trimesh.Trimesh

    Examples
    --------
    >>> two = trimesh.util.concatenate([trimesh.creation.box(), trimesh.creation.box().apply_scale(2)])
    >>> round(largest_piece(two).volume, 6)
    8.0
    """
    pieces = mesh.split(only_watertight=False)
    if len(pieces) <= 1:
        return mesh
    return max(pieces, key=lambda piece: abs(piece.volume))


def raw_solid(geometry: Mapping[str, Any], ctx: PointContext) -> trimesh.Trimesh:
    """The uncarved solid of a belly (its heads united) or a sheet (its parts united)."""
    if geometry["kind"] == "belly":
        heads = geometry.get("heads") or [{}]
        shared = {k: v for k, v in geometry.items() if k != "heads"}
        return unite([belly(ctx, {**shared, **head}) for head in heads])
    parts = geometry.get("parts")
    if not parts:
        msg = "a sheet needs 'parts'"
        raise PointError(msg)
    return unite([sheet_part(ctx, part, geometry) for part in parts])


def build_tendon(structure_id: str, geometry: Mapping[str, Any], ctx: PointContext, *,
                 skin: trimesh.Trimesh) -> MeshData:
    """A tendon tube; its centreline is recorded in ``ctx.curves`` like a nerve's."""
    radius = geometry.get("radius")
    if radius is None or not geometry.get("path"):
        msg = "a tendon needs a radius and a path"
        raise PointError(msg)
    control = solid_path(ctx, geometry["path"])
    curve = catmull_rom(control, step=float(geometry.get("step", TENDON_STEP_MM)))
    radii = interpolate_radii(list(np.atleast_1d(radius)), len(curve))
    default = float(geometry.get("margin", SKIN_CLEARANCE_MM)) + 0.1
    given = path_margins(ctx, geometry["path"], default)
    margin = along_control(control, curve, given) if np.any(given != default) else default

    def clear(points: np.ndarray, rad: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        at = margin if np.ndim(margin) == 0 or index is None else margin[index]
        return keep_clear(points, rad, skin=skin, bones=ctx.bone_surface, skin_margin=at)

    curve = unkink(clear(curve, radii), radii, clear)
    mesh = sweep_tube(curve, radii, sides=int(geometry.get("sides", TENDON_SIDES)))
    ctx.curves[structure_id] = curve
    if np.ndim(margin):
        ctx.margins[structure_id] = np.asarray(margin)
    return MeshData(np.asarray(mesh.vertices), np.asarray(mesh.faces), centerline=curve, radii=radii,
                    path_starts=np.array([0], dtype=np.int32))
