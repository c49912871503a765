"""The atlas: structures with their hierarchy, meshes, landmarks and skin territories.

``load_atlas()`` reads a folder written by ``handatlas build`` (by default the one shipped with
the package).  Meshes are read lazily and checked against their sha256 when first used.  This
module holds no spatial query code: ``Atlas.territory_at`` (and the pressure queries) delegate to
:mod:`handatlas.lookup`, imported on first use.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from handatlas import format as fmt
from handatlas.resources import shipped_dir

if TYPE_CHECKING:
    import trimesh
    from numpy.typing import ArrayLike

    from handatlas.lookup.press import PressBatch, PressReport
    from handatlas.lookup.stroke import StrokeReport

ATLAS_ENV = "HANDATLAS_ATLAS"


class UnknownNameError(KeyError):
    """An id or name that the atlas does not know; the message suggests close matches."""

    def __init__(self, message: str, *, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions = suggestions

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Structure:
    """One structure (or group of structures) of the atlas.

    Attributes
    ----------
    id : str
        Canonical id, e.g. ``"median_nerve"``.
    name, acronym, synonyms
        How people call it; all of them work in :meth:`Atlas.structure`.
    parent : str or None
        Id of the parent group (``None`` only for the root ``"hand"``).
    tissue, layer, risk : str or None
        Vocabularies of :mod:`handatlas.format`; ``None`` for pure groups.
    risk_note : str
        What a student should know before pressing over it.
    colour : str
        ``"#rrggbb"``.
    has_mesh : bool
        Whether the structure has geometry of its own.
    """

    id: str
    name: str
    acronym: str
    synonyms: tuple[str, ...]
    parent: str | None
    tissue: str | None
    layer: str | None
    risk: str | None
    risk_note: str
    colour: str
    description: str
    has_mesh: bool
    is_tube: bool

    @property
    def is_group(self) -> bool:
        """True for a node without geometry of its own (e.g. ``thenar_group``)."""
        return not self.has_mesh

    def as_dict(self) -> dict[str, object]:
        """The JSON row of ``handatlas structures --json``."""
        return {
            "id": self.id,
            "name": self.name,
            "parent": self.parent,
            "tissue": self.tissue,
            "layer": self.layer,
            "risk": self.risk,
        }


@dataclass(frozen=True)
class Landmark:
    """A named skin point with its outward unit normal (mm, hand frame)."""

    id: str
    point: np.ndarray
    normal: np.ndarray
    description: str = ""

    def as_dict(self) -> dict[str, object]:
        """The JSON row of ``handatlas landmarks --json``."""
        return {
            "id": self.id,
            "point": [round(float(v), 3) for v in self.point],
            "normal": [round(float(v), 5) for v in self.normal],
        }


def _suggest(word: str, candidates: list[str]) -> tuple[str, ...]:
    return tuple(difflib.get_close_matches(word.lower(), candidates, n=3, cutoff=0.6))


def unknown_name(kind: str, word: str, candidates: list[str]) -> UnknownNameError:
    """An :class:`UnknownNameError` for ``word`` with up to three close ``candidates``."""
    hints = _suggest(word, candidates)
    hint = f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""
    return UnknownNameError(f"unknown {kind} {word!r}{hint}", suggestions=hints)


class Atlas:
    """A loaded atlas folder.

    Parameters
    ----------
    folder
        The folder holding ``manifest.json`` and the mesh files.

    Examples
    --------
    >>> from handatlas import load_atlas
    >>> atlas = load_atlas()
    >>> atlas.structure("FCR").id  # doctest: +SKIP
    'fcr_tendon'
    >>> atlas.ancestors("scaphoid")  # doctest: +SKIP
    ('carpals', 'bones', 'hand')
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.manifest = fmt.read_manifest(self.folder)
        self.info = self.manifest.atlas
        self._records = {rec.id: rec for rec in self.manifest.structures}
        self.structures: Mapping[str, Structure] = {
            rec.id: Structure(
                id=rec.id,
                name=rec.name,
                acronym=rec.acronym,
                synonyms=rec.synonyms,
                parent=rec.parent,
                tissue=rec.tissue,
                layer=rec.layer,
                risk=rec.risk,
                risk_note=rec.risk_note,
                colour=rec.colour,
                description=rec.description,
                has_mesh=rec.mesh is not None,
                is_tube=rec.mesh is not None and rec.mesh.kind == "tube",
            )
            for rec in self.manifest.structures
        }
        self._children: dict[str, list[str]] = {sid: [] for sid in self.structures}
        for s in self.structures.values():
            if s.parent is not None:
                self._children[s.parent].append(s.id)
        self._names: dict[str, str] = {}
        for s in self.structures.values():
            for alias in (s.id, s.name, s.acronym, *s.synonyms, s.id.replace("_", " ")):
                if alias:
                    self._names.setdefault(alias.casefold(), s.id)
        self.landmarks: Mapping[str, Landmark] = {
            lm.id: Landmark(
                id=lm.id,
                point=np.array(lm.point, dtype=float),
                normal=np.array(lm.normal, dtype=float),
                description=lm.description,
            )
            for lm in self.manifest.landmarks
        }
        self._arrays: dict[str, dict[str, np.ndarray]] = {}
        self._meshes: dict[str, trimesh.Trimesh] = {}

    def __repr__(self) -> str:
        n_mesh = sum(s.has_mesh for s in self.structures.values())
        return (f"Atlas({str(self.folder)!r}: {len(self.structures)} structures, "
                f"{n_mesh} meshes, {len(self.landmarks)} landmarks)")

    # ------------------------------------------------------------------ names
    def structure(self, name: str) -> Structure:
        """Find a structure by id, name, acronym or synonym (case-insensitive).

        Raises
        ------
        UnknownNameError
            With up to three suggestions ("did you mean ...").
        """
        if not isinstance(name, str):
            msg = f"a structure name must be a string, not {type(name).__name__}"
            raise TypeError(msg)
        key = name.strip().casefold()
        if key in self._names:
            return self.structures[self._names[key]]
        raise unknown_name("structure", name, list(self._names))

    def __getitem__(self, name: str) -> Structure:
        return self.structure(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().casefold() in self._names

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every name that :meth:`structure` accepts (lower case)."""
        return tuple(self._names)

    def __iter__(self) -> Iterator[Structure]:
        return iter(self.structures.values())

    def landmark(self, landmark_id: str) -> Landmark:
        """Find a landmark by id (case-insensitive), suggesting close ids when unknown."""
        key = landmark_id.strip().casefold()
        if key in self.landmarks:
            return self.landmarks[key]
        raise unknown_name("landmark", landmark_id, list(self.landmarks))

    # -------------------------------------------------------------- hierarchy
    def parent(self, name: str) -> Structure | None:
        """The parent group, or ``None`` for the root."""
        s = self.structure(name)
        return None if s.parent is None else self.structures[s.parent]

    def children(self, name: str) -> tuple[str, ...]:
        """Ids of the direct children, in manifest order."""
        return tuple(self._children[self.structure(name).id])

    def ancestors(self, name: str) -> tuple[str, ...]:
        """Ids from the parent up to the root."""
        out: list[str] = []
        node = self.structure(name).parent
        while node is not None:
            out.append(node)
            node = self.structures[node].parent
        return tuple(out)

    def descendants(self, name: str) -> tuple[str, ...]:
        """Ids of every structure below, depth first in manifest order."""
        out: list[str] = []
        stack = list(reversed(self._children[self.structure(name).id]))
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(self._children[node]))
        return tuple(out)

    def with_geometry(self, name: str = fmt.ROOT_ID) -> tuple[str, ...]:
        """Ids of the structures with a mesh at or below ``name``."""
        start = self.structure(name).id
        ids = (start, *self.descendants(start))
        return tuple(i for i in ids if self.structures[i].has_mesh)

    # ------------------------------------------------------------------ geometry
    def arrays(self, name: str) -> dict[str, np.ndarray]:
        """The raw arrays of a structure's mesh file (read once, sha256-checked)."""
        s = self.structure(name)
        if not s.has_mesh:
            examples = list(self.with_geometry(s.id))[:5]
            msg = f"structure {s.id!r} is a group and has no mesh; try one of {examples}"
            raise ValueError(msg)
        if s.id not in self._arrays:
            ref = self._records[s.id].mesh
            assert ref is not None
            self._arrays[s.id] = fmt.read_mesh_file(self.folder / ref.file, sha256=ref.sha256)
        return self._arrays[s.id]

    def mesh(self, name: str) -> trimesh.Trimesh:
        """The structure's surface as a :class:`trimesh.Trimesh` (mm, hand frame; cached)."""
        import trimesh

        sid = self.structure(name).id
        if sid not in self._meshes:
            arr = self.arrays(sid)
            self._meshes[sid] = trimesh.Trimesh(
                vertices=arr["vertices"].astype(np.float64), faces=arr["faces"], process=False
            )
        return self._meshes[sid]

    def centerline(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The centreline ``(k, 3)`` and radii ``(k,)`` of a tube (nerve, artery, vein).

        A structure made of several paths (a venous network) returns them concatenated; see
        :meth:`centerlines` for one array per path.
        """
        s = self.structure(name)
        arr = self.arrays(s.id)
        if "centerline" not in arr:
            msg = f"structure {s.id!r} is not a tube"
            raise ValueError(msg)
        return arr["centerline"].astype(np.float64), arr["radii"].astype(np.float64)

    def centerlines(self, name: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each path of a tube structure as ``(points (k, 3), radii (k,))``."""
        line, radii = self.centerline(name)
        starts = [int(i) for i in self.arrays(name)["path_starts"]] + [len(line)]
        return [(line[a:b], radii[a:b]) for a, b in itertools.pairwise(starts)]

    def triangles(self, name: str) -> int:
        """Triangle count of a structure's mesh as the manifest records it (0 for groups)."""
        ref = self._records[self.structure(name).id].mesh
        return 0 if ref is None else ref.faces

    @property
    def skin(self) -> trimesh.Trimesh:
        """The closed skin surface."""
        return self.mesh(fmt.SKIN_ID)

    # --------------------------------------------------------------- territories
    @property
    def territory_labels(self) -> tuple[str, ...]:
        """Names of the territory codes stored per skin vertex."""
        return self.manifest.territories.labels

    def territories(self, *, variant: str | None = None) -> np.ndarray:
        """The territory label of every skin vertex, as an array of strings.

        Parameters
        ----------
        variant
            A variant of ``manifest.territories.variants``; default the atlas's default.
        """
        codes = self.territory_codes(variant=variant)
        return np.asarray(self.territory_labels, dtype=object)[codes]

    def territory_codes(self, *, variant: str | None = None) -> np.ndarray:
        """Territory codes (indices into :attr:`territory_labels`) of every skin vertex."""
        info = self.manifest.territories
        variant = info.default if variant is None else variant
        if variant not in info.variants:
            raise unknown_name("territory variant", variant, list(info.variants))
        return self.arrays(fmt.SKIN_ID)[f"territory_{variant}"]

    def territory_at(self, point: ArrayLike, *, variant: str | None = None) -> str:
        """The cutaneous nerve territory of the skin nearest to ``point``.

        Examples
        --------
        >>> atlas.territory_at(atlas.landmark("first_web_space_dorsal").point)  # doctest: +SKIP
        'radial'
        """
        from handatlas.lookup.territory import territory_at

        return territory_at(self, point, variant=variant)

    # ------------------------------------------------------------------ pressure
    def press(self, where: str | ArrayLike, *, grade: str = "moderate", radius_mm: float = 8.0,
              force_n: float | None = None, direction: ArrayLike | None = None) -> PressReport:
        """Press at a landmark, over a structure or at coordinates (see :mod:`handatlas.lookup.press`).

        ``grade`` is a force on the pad (light 3 N, moderate 15 N, firm 40 N); ``force_n``
        overrides it.

        Examples
        --------
        >>> atlas.press("radial_pulse", grade="firm").verdict  # doctest: +SKIP
        'avoid'
        """
        from handatlas.lookup.press import press

        return press(self, where, grade=grade, radius_mm=radius_mm, force_n=force_n, direction=direction)

    def press_many(self, points: ArrayLike, normals: ArrayLike | None = None, *, grade: str = "moderate",
                   radius_mm: float = 8.0, force_n: float | None = None) -> PressBatch:
        """Many presses at once; arrays of verdicts, stresses and structures at risk."""
        from handatlas.lookup.press import press_many

        return press_many(self, points, normals, grade=grade, radius_mm=radius_mm, force_n=force_n)

    def safety_map(self, *, grade: str = "firm", radius_mm: float = 8.0,
                   force_n: float | None = None) -> np.ndarray:
        """One verdict code per skin vertex (0 safe, 1 caution, 2 avoid)."""
        from handatlas.lookup.press import safety_map

        return safety_map(self, grade=grade, radius_mm=radius_mm, force_n=force_n)

    def stroke(
        self, path_points: ArrayLike, *, grade: str = "moderate", radius_mm: float = 8.0,
        force_n: float | None = None,
    ) -> StrokeReport:
        """Risk along a massage stroke (a polyline over the skin), with its riskiest stretch."""
        from handatlas.lookup.stroke import stroke

        return stroke(self, path_points, grade=grade, radius_mm=radius_mm, force_n=force_n)

    # ------------------------------------------------------------------ checks
    def validate(self) -> list[str]:
        """Read every mesh file and check it; return a list of problems (empty when valid)."""
        problems: list[str] = []
        for sid in self.with_geometry():
            rec = self._records[sid].mesh
            assert rec is not None
            try:
                arr = fmt.read_mesh_file(self.folder / rec.file, sha256=rec.sha256)
            except fmt.ManifestError as exc:
                problems.append(f"structure {sid!r}: {exc}")
                continue
            if len(arr["vertices"]) != rec.vertices or len(arr["faces"]) != rec.faces:
                problems.append(
                    f"structure {sid!r}: {rec.file} has {len(arr['vertices'])} vertices and "
                    f"{len(arr['faces'])} faces, the manifest says {rec.vertices} and {rec.faces}"
                )
        return problems


def default_atlas_dir() -> Path:
    """Where the shipped atlas lives: ``$HANDATLAS_ATLAS``, the wheel's data, or the source tree."""
    return shipped_dir("meshes", env=ATLAS_ENV)


def load_atlas(folder: str | Path | None = None) -> Atlas:
    """Load an atlas folder (default: the atlas shipped with handatlas).

    Parameters
    ----------
    folder
        A folder with ``manifest.json``; default :func:`default_atlas_dir`.

    Raises
    ------
    handatlas.format.ManifestError
        When the manifest is missing or invalid; the message names file, structure and field.

    Examples
    --------
    >>> from handatlas import load_atlas
    >>> atlas = load_atlas()
    >>> atlas.structure("median nerve").risk  # doctest: +SKIP
    'high'
    """
    return Atlas(default_atlas_dir() if folder is None else folder)
