"""The package versions the build runs with: pinned in ``constraints.txt``, recorded in the manifest.

The build is deterministic for a given set of packages (its chaotic step, the tube relaxation,
rounds its points so that floating-point noise cannot grow), but another numpy, scipy or
manifold3d may round, order or triangulate differently.  So the versions that made the committed
``meshes/`` are pinned in :data:`CONSTRAINTS` (``pip install -c``), and every build writes the
versions it actually ran with into the manifest (``atlas.build_environment``).

Examples
--------
>>> mismatched_packages()  # doctest: +SKIP
{}
"""

from __future__ import annotations

from importlib import metadata, resources
from pathlib import Path

__all__ = ["CONSTRAINTS", "installed_versions", "mismatched_packages", "pinned_versions"]

#: The pip constraints file of the build, shipped in the package.
CONSTRAINTS = Path(str(resources.files("handatlas.build") / "constraints.txt"))


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def pinned_versions(path: str | Path = CONSTRAINTS) -> dict[str, str]:
    """Package -> version of every ``name==version`` line of a constraints file.

    Raises
    ------
    ValueError
        A line that is neither a comment nor ``name==version`` (the message names file and line).
    """
    path = Path(path)
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            msg = f"{path}: line {number}: expected 'package==version', found {raw!r}"
            raise ValueError(msg)
        pins[_canonical(name)] = version.strip()
    return pins


def installed_versions(packages: list[str] | None = None) -> dict[str, str]:
    """Installed version of each package (default: the pinned ones); ``"missing"`` if absent."""
    out: dict[str, str] = {}
    for name in packages if packages is not None else list(pinned_versions()):
        try:
            out[_canonical(name)] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[_canonical(name)] = "missing"
    return out


def mismatched_packages() -> dict[str, tuple[str, str]]:
    """Pinned packages whose installed version differs: name -> (pinned, installed)."""
    pins = pinned_versions()
    have = installed_versions(list(pins))
    return {name: (pins[name], have[name]) for name in pins if have[name] != pins[name]}
