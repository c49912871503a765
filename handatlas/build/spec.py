"""Read the authored anatomy specification with errors that name file and line.

The specification is a folder of YAML files (``handatlas/build/anatomy/``), one per part of the
hand, read in the order of :data:`SPEC_FILES`.  Each file has an optional ``defaults:`` block
(fields keyed by geometry kind) and a ``structures:`` list; each structure has the manifest
fields (id, name, acronym, synonyms, parent, tissue, layer, risk, risk_note, colour,
description) and a ``geometry`` mapping whose ``kind`` selects the builder: ``group`` (no mesh),
``bone`` (a myo-sim bone), ``skin``; soft structures carry their bone-relative control points.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from handatlas import format as fmt

SPEC_DIR = "anatomy"
SPEC_FILES = ("hand.yaml", "bones.yaml", "nerves.yaml", "arteries.yaml", "veins.yaml",
              "tendons.yaml", "fascia.yaml", "muscles.yaml", "forearm.yaml")


class SpecError(ValueError):
    """An invalid anatomy specification; the message names file, line, structure and field."""


class Geometry(BaseModel):
    """How the build makes a structure's mesh; ``kind`` selects the builder."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: Literal["group", "bone", "skin", "tube", "tubes", "belly", "sheet", "tendon"]


class StructureSpec(BaseModel):
    """One authored structure: the manifest fields plus its geometry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1)
    acronym: str = ""
    synonyms: tuple[str, ...] = ()
    parent: str | None
    tissue: fmt.Tissue | None = None
    layer: fmt.Layer | None = None
    risk: fmt.Risk | None = None
    risk_note: str = ""
    colour: str = "#c0c0c0"
    description: str = ""
    geometry: Geometry

    def record(self) -> dict[str, Any]:
        """The manifest row (without ``mesh``)."""
        return self.model_dump(exclude={"geometry"}, mode="json")


def default_spec_dir() -> Path:
    """The folder of the anatomy specification shipped in the package."""
    return Path(str(resources.files("handatlas.build") / SPEC_DIR))


def _structure_lines(text: str) -> list[int]:
    """1-based line of each item of the ``structures`` list, for error messages."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "structures" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def load_spec(folder: str | Path | None = None) -> list[StructureSpec]:
    """Load and validate the anatomy specification, every file of :data:`SPEC_FILES` in order.

    Parameters
    ----------
    folder
        The specification folder; default :func:`default_spec_dir`.

    Raises
    ------
    SpecError
        E.g. ``.../bones.yaml: line 40: structure 'radius', field 'risk': Input should be ...``.
    """
    folder = Path(folder) if folder is not None else default_spec_dir()
    specs: list[StructureSpec] = []
    where: dict[str, str] = {}
    for name in SPEC_FILES:
        path = folder / name
        if not path.exists():
            msg = f"{path}: specification file is missing"
            raise SpecError(msg)
        for spec, line in load_spec_file(path):
            if spec.id in where:
                msg = f"{path}: line {line}: structure {spec.id!r}: duplicate id (first in {where[spec.id]})"
                raise SpecError(msg)
            where[spec.id] = f"{path.name} line {line}"
            specs.append(spec)
    return specs


def load_spec_file(path: Path) -> list[tuple[StructureSpec, int]]:
    """Validate one specification file; each structure with its 1-based line."""
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        msg = f"{path}: {where}invalid YAML ({getattr(exc, 'problem', exc)})"
        raise SpecError(msg) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("structures"), list):
        msg = f"{path}: expected a mapping with a 'structures' list"
        raise SpecError(msg)
    lines = _structure_lines(text)
    defaults = doc.get("defaults") or {}
    specs: list[tuple[StructureSpec, int]] = []
    for i, raw in enumerate(doc["structures"]):
        line = f"line {lines[i]}: " if i < len(lines) else ""
        if not isinstance(raw, dict):
            msg = f"{path}: {line}structures[{i}] must be a mapping, found {raw!r}"
            raise SpecError(msg)
        kind = (raw.get("geometry") or {}).get("kind")
        entry = {**defaults.get(kind, {}), **raw}
        try:
            specs.append((StructureSpec.model_validate(entry), lines[i] if i < len(lines) else 0))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            msg = (f"{path}: {line}structure {raw.get('id', f'#{i}')!r}, field {field!r}: "
                   f"{err['msg']} (found {err.get('input')!r})")
            raise SpecError(msg) from None
    return specs
