"""The pressure model, second edition: every parameter in one place, each with its source.

A press is a **load**, not a rigid sphere sinking to a fixed depth (DESIGN.md, "The pressure
model").  This module holds the physics and the calibration; :mod:`handatlas.lookup.press` finds
the geometry (which structures lie where under the pad, what bone and fascia lie between) and
asks this module what the load does to them.  No pyvista, no panel, no atlas.

The model, step by step:

1. **Force and pressure.**  A grade is a force on the pad (:data:`GRADE_FORCE_N`); the pad is a
   disc of radius ``r`` (the contact radius), so the contact pressure is
   ``p = F / (pi r^2)`` (:func:`pressure_kpa`).  The same grade with a broad pad is gentler.
2. **Sink.**  Soft tissue compresses under the pressure and stops at bone: the tissue strain is a
   saturating curve of the pressure (:func:`tissue_strain`), and the pad sinks that fraction of
   the soft-tissue column above the first bone on the axis (:func:`sink_mm`).  Structures in the
   column come closer to the pad by the same strain (:func:`compressed_depth`): a deeper sink
   never lowers a stress (the stress grows at most as ``z^3`` with depth, and the strain curve is
   gentle enough, see :data:`STRAIN_MAX`).
3. **Stress reaching a structure** at depth ``z`` and lateral offset ``rho`` from the axis: the
   vertical stress under a uniformly loaded disc on an elastic half-space (Boussinesq's point-load
   solution ``sigma_z = 3 P z^3 / (2 pi R^5)`` integrated over the disc, Love 1929).  On the axis it
   is ``p [1 - z^3 / (r^2 + z^2)^(3/2)]`` in closed form; elsewhere it is tabulated once on a
   ``(z/r, rho/r)`` grid (:func:`halfspace_table`) and interpolated bilinearly
   (:func:`influence`).  Beyond the table the point-load solution is used.
4. **Fascial sheets spread the load**: a sheet crossed by the axis above a structure multiplies
   its stress by :data:`SHEET_FACTOR`.  **Bone between stops it**: a structure behind bone is
   *shielded* (the geometry is found by :mod:`handatlas.lookup.press`).
5. **Harm.**  Each tissue class has a tolerance (:data:`TOLERANCE_KPA`); a structure pinned
   against bone (bone, or a sheet of :data:`PINNING_SHEETS`, within :data:`PINNED_GAP_MM` behind
   it along the axis), or confined in a fibro-osseous tunnel (a sheet of :data:`CONFINING_SHEETS`
   over it and bone within :data:`CANAL_DEPTH_MM` behind it), tolerates
   :data:`PINNED_FACTOR` of it.  A structure is *flagged* when its stress exceeds
   :data:`CAUTION_FRACTION` of its tolerance; its level is ``avoid`` when a nerve or artery
   exceeds its tolerance, else ``caution`` (veins give caution at most).  The verdict of a press
   is its worst level, ``safe`` when nothing is flagged.

Sources are named next to each parameter; "calibrated" marks a value chosen so that the model
reproduces ANATOMY.md's verdict reference and whole-skin area bands (change it here and only
here).
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import tempfile
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from platformdirs import user_cache_dir

# ----------------------------------------------------------------------------- grades and pad
#: Grade name -> force on the pad (N) [DESIGN.md].  Light ~ the weight of 300 g; firm over a thumb pad
#: (r 8 mm) is ~ 200 kPa, near the ~ 227 kPa (interquartile 100-408) that physiotherapists applied
#: in deep friction [Chaves 2020, Appl Sci 10:2705]; moderate is in between on a log scale
#: (DESIGN.md, "The pressure model").
GRADE_FORCE_N: dict[str, float] = {"light": 3.0, "moderate": 15.0, "firm": 40.0}
#: The grade used when none is given.
DEFAULT_GRADE = "moderate"
#: Default contact radius: a thumb pad (mm) [DESIGN.md]; 20 mm is a flat palm.
DEFAULT_RADIUS_MM = 8.0
#: Largest contact radius accepted (mm): beyond a palm's width a press is not a press.
MAX_RADIUS_MM = 40.0
#: The lookup picks each structure's candidate points for this force (or the press's, if larger):
#: the same candidates for every grade, so a structure's critical point does not move with the
#: force and its stress, pinning and shielding never fall as the force rises.  Above the firm grade
#: and most hands' strength; only a speed/coverage parameter, no calibration.
REFERENCE_FORCE_N = 70.0

# ----------------------------------------------------------------------------- sink
#: Tissue strain at very high pressure (fraction of the soft-tissue column).  Calibrated; of the
#: order of the ~ 50-60 % to which heel-pad and fingertip-pulp tissue compresses under body-weight
#: loads.  Must stay below ~ 0.8 for the stresses to grow with the force (see
#: :func:`compressed_depth`).
STRAIN_MAX = 0.6
#: Pressure (kPa) at which the strain reaches half of :data:`STRAIN_MAX` (calibrated): light
#: (~ 15 kPa on a thumb pad) compresses the tissue ~ 14 %, moderate ~ 36 %, firm ~ 48 %.
STRAIN_HALF_KPA = 50.0
#: Where no bone lies on the axis within this depth, the soft-tissue column is taken as this long
#: (mm): the forearm's muscle bellies and the web spaces (calibrated).
COLUMN_MAX_MM = 30.0

# ----------------------------------------------------------------------------- spreading
#: Fascial sheets: the factor by which a sheet crossed by the axis above a structure multiplies the
#: stress reaching it (calibrated).  The palmar aponeurosis and the retinacula are dense collagen
#: sheets, far stiffer than the fat and muscle around them, that carry part of the load sideways
#: to their attachments; the flexor retinaculum is the stiffest and is anchored to bone on both
#: sides (the carpal tunnel's pressure still rises under a press on the palm, so it does not
#: stop the load).
SHEET_FACTOR: dict[str, float] = {
    "palmar_aponeurosis": 0.6,
    "flexor_retinaculum": 0.8,
    "extensor_retinaculum": 0.7,
}

# ----------------------------------------------------------------------------- harm
#: Tissue class -> the stress (kPa) a structure of that class tolerates in a brief press when it lies
#: over soft tissue (calibrated).  Over soft tissue a nerve or artery moves and shares the load with
#: what surrounds it: it tolerates about what the skin does, the pressure-pain threshold of the
#: hand, ~ 325 +/- 97 kPa with a 1 cm^2 probe [Brain 2020, carpal tunnel patients], so firm pressure
#: on a thumb pad (~ 200 kPa) flags it but does not reach avoid.  A vein empties at a few kPa and
#: refills; brief pressure does not injure it, so its tolerance only marks where a press sits right
#: on it and squeezes it against bone, or a point smaller than a thumb (a knuckle, an elbow) bears on
#: it: unpinned, a vein is flagged from 225 kPa, above a firm press on a thumb pad (veins never give
#: avoid).  At 700 kPa (flagged from 175 kPa) the subcutaneous veins of the forearm and the dorsum
#: kept the safe share of the skin at firm at 18 % (ANATOMY.md: at least 20 %).
TOLERANCE_KPA: dict[str, float] = {"nerve": 350.0, "artery": 350.0, "vein": 900.0}
#: Tissue classes that can give ``avoid``; the others give ``caution`` at most.
AVOID_TISSUES = frozenset({"nerve", "artery"})
#: Fraction of the tolerance left for a structure pinned against bone, per tissue (calibrated):
#: the pulse points, Guyon's canal, the finger sides, the snuffbox floor.  Pinned, a structure
#: cannot move away and is squeezed.  An artery tolerates 56 kPa and is flagged from 14 kPa
#: (~ 105 mmHg), about the systolic pressure at which a pinned artery closes (the principle of the
#: cuff and of pulse palpation).  A nerve tolerates 84 kPa and is flagged from 21 kPa (~ 160
#: mmHg): well above the 4-11 kPa (30-80 mmHg) at which *sustained* compression slows and stops a
#: nerve's blood flow [Rydevik 1981, J Hand Surg 6:3], since a press is brief; flagged from 14 kPa,
#: like the artery, the digital nerves pinned on the phalanges made 27 % of the skin "avoid" at
#: moderate pressure (ANATOMY.md's band: at most 20 %) and the thenar eminence "caution" at moderate.
#: The flagging thresholds (these times :data:`CAUTION_FRACTION`) are what the sources fix; the
#: factors follow the caution fraction.
PINNED_FACTOR: dict[str, float] = {"nerve": 0.24, "artery": 0.16, "vein": 0.16}
#: Bone within this distance behind a structure's far surface, along the axis, pins it (mm):
#: "within a few mm" [DESIGN.md].
PINNED_GAP_MM = 4.0
#: Sheets that pin like bone: the flexor retinaculum is a tense band of collagen anchored to the
#: carpal bones on both sides (scaphoid and trapezium to pisiform and hamate), the floor of
#: Guyon's canal and the bed of the palmar cutaneous branch over the carpal tunnel; a nerve or
#: vessel on it cannot move away from a press any more than on bone [ePlasty 2020;20:e12].
PINNING_SHEETS = ("flexor_retinaculum",)
#: Sheets that close a fibro-osseous tunnel: a structure beneath one (the sheet crossed by the axis
#: between it and the skin) with bone within :data:`CANAL_DEPTH_MM` behind it is confined and counts
#: as pinned.  The flexor retinaculum roofs the carpal tunnel, whose other three sides are the
#: carpal bones; its contents (the median nerve and nine flexor tendons in their synovium) cannot
#: move away from a press on the roof, and the pressure in the tunnel rises with it: pressing on the
#: tunnel at about 20 kPa (150 mmHg) for 30 s reproduces a compressed median nerve's symptoms, the
#: carpal compression test [Durkan 1991, J Bone Joint Surg Am 73:535].  The extensor retinaculum
#: closes the six dorsal compartments too, but no nerve or vessel of the atlas runs beneath it
#: (ANATOMY.md: the veins and cutaneous nerves lie superficial to it), so it is left out.
CONFINING_SHEETS = ("flexor_retinaculum",)
#: Bone this far behind a structure beneath a confining sheet (mm) puts it inside the tunnel: the
#: carpal tunnel's depth, front to back, 10.4 +/- 1.1 mm [Klauser 2009, Radiology; Mani 2011]
#: (ANATOMY.md).
CANAL_DEPTH_MM = 10.4
#: A structure is flagged when its stress exceeds this fraction of its tolerance (calibrated):
#: the caution threshold, 87.5 kPa for a nerve or artery over soft tissue, 14 kPa for an artery
#: pinned on bone.  At 0.2 (70 kPa over soft tissue) a firm press on a thumb pad flagged the
#: forearm's median and ulnar nerves and arteries under the flexor bellies over much of the volar
#: forearm, where massage works firmly, and only 16 % of the skin was safe at firm (ANATOMY.md's
#: band: at least 20 %); at 0.3 the pinned tolerances it implies (47 kPa for an artery) made 30 %
#: of the skin "avoid" at moderate (band: at most 20 %).  ``docs/calibrate_pressure.py`` prints
#: the side-by-side table.
CAUTION_FRACTION = 0.25

# ----------------------------------------------------------------------------- the half-space table
#: The table spans ``0 <= z/r <= TABLE_MAX`` and ``0 <= rho/r <= TABLE_MAX``; beyond it the
#: point-load solution is within ~ 3 % of the disc's.
TABLE_MAX = 6.0
#: Grid step of the table in units of the pad radius.
TABLE_STEP = 0.02
#: Gauss-Legendre nodes of the angular integral of each table entry (error < 0.005 p).
TABLE_NODES = 96

#: Verdicts in order of severity; ``safety_map`` returns these codes.
VERDICTS = ("safe", "caution", "avoid")
SAFE, CAUTION, AVOID = 0, 1, 2
LEVELS = VERDICTS  # a structure's level uses the same codes (``safe`` = not flagged)


# ----------------------------------------------------------------------------- validation
def grade_force(grade: str) -> float:
    """The force (N) of a grade name, case-insensitive.

    Raises
    ------
    ValueError
        For an unknown grade, with the known ones and a suggestion.

    Examples
    --------
    >>> grade_force("Firm")
    40.0
    """
    if not isinstance(grade, str) or grade.strip().lower() not in GRADE_FORCE_N:
        hint = difflib.get_close_matches(str(grade).lower(), list(GRADE_FORCE_N), n=1)
        suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
        msg = f"unknown grade {grade!r}: choose light, moderate or firm{suggestion}"
        raise ValueError(msg)
    return GRADE_FORCE_N[grade.strip().lower()]


def check_force(force_n: float) -> float:
    """Validate a force (N): a finite number above 0.

    Examples
    --------
    >>> check_force(12)
    12.0
    """
    try:
        value = float(force_n)
    except (TypeError, ValueError):
        msg = f"force must be a number of newtons, got {force_n!r}"
        raise ValueError(msg) from None
    if not math.isfinite(value) or value <= 0.0:
        msg = f"force must be a finite number of newtons above 0, got {force_n!r}"
        raise ValueError(msg)
    return value


def check_radius(radius_mm: float) -> float:
    """Validate a contact radius (mm): a finite number in (0, MAX_RADIUS_MM]."""
    try:
        value = float(radius_mm)
    except (TypeError, ValueError):
        msg = f"radius must be a number of millimetres, got {radius_mm!r}"
        raise ValueError(msg) from None
    if not 0.0 < value <= MAX_RADIUS_MM:  # NaN fails this too
        msg = f"radius must be more than 0 and at most {MAX_RADIUS_MM:g} mm, got {radius_mm!r}"
        raise ValueError(msg)
    return value


def resolve_load(grade: str, force_n: float | None, radius_mm: float) -> tuple[str, float, float]:
    """``(grade, force N, radius mm)`` checked; ``force_n`` overrides the grade's force."""
    force = grade_force(grade)
    if force_n is not None:
        force = check_force(force_n)
    return grade.strip().lower(), force, check_radius(radius_mm)


# ----------------------------------------------------------------------------- load and sink
def pressure_kpa(force_n: float, radius_mm: float) -> float:
    """Contact pressure (kPa) of a force (N) on a disc of radius ``radius_mm``.

    Examples
    --------
    >>> round(pressure_kpa(40.0, 8.0))
    199
    """
    return 1000.0 * force_n / (math.pi * radius_mm * radius_mm)


def tissue_strain(pressure: float | np.ndarray) -> float | np.ndarray:
    """Compressive strain of soft tissue under a pressure (kPa): the tissue stiffness curve.

    ``STRAIN_MAX * p / (p + STRAIN_HALF_KPA)``: stiff at first contact, stiffening further as it
    compresses (a hyperbolic fit, as used for the heel pad and the fingertip).
    """
    p = np.maximum(pressure, 0.0)
    return STRAIN_MAX * p / (p + STRAIN_HALF_KPA)


def sink_mm(pressure: float | np.ndarray, column_mm: float | np.ndarray) -> float | np.ndarray:
    """How far the pad sinks (mm): the strain times the soft-tissue column (never through bone).

    Parameters
    ----------
    pressure
        Contact pressure (kPa).
    column_mm
        Soft tissue on the axis above the first bone (mm), at most :data:`COLUMN_MAX_MM`.
    """
    return tissue_strain(pressure) * np.minimum(column_mm, COLUMN_MAX_MM)


def compressed_depth(depth_mm: float | np.ndarray, column_mm: float | np.ndarray,
                     strain: float) -> float | np.ndarray:
    """Depth under the sunk pad of a point ``depth_mm`` under the undeformed skin.

    The column above bone compresses uniformly by ``strain``; what lies deeper than the column
    moves with it.  Since the stress grows at most as ``z^3`` with depth (Boussinesq) and
    ``p * strain'(p) / (1 - strain) <= 0.23`` for :data:`STRAIN_MAX` = 0.6, the stress
    ``p * f(compressed depth)`` never falls when the force rises.
    """
    column = np.minimum(column_mm, COLUMN_MAX_MM)
    z = np.maximum(depth_mm, 0.0)
    return np.where(z <= column, z * (1.0 - strain), z - strain * column)


# ----------------------------------------------------------------------------- the half-space
def influence_on_axis(z_over_r: float | np.ndarray) -> float | np.ndarray:
    """Closed form on the axis: ``sigma_z / p = 1 - z^3 / (r^2 + z^2)^(3/2)`` (Love 1929).

    Examples
    --------
    >>> float(influence_on_axis(0.0)), round(float(influence_on_axis(1.0)), 4)
    (1.0, 0.6464)
    """
    z = np.asarray(z_over_r, dtype=np.float64)
    return 1.0 - z**3 / (1.0 + z * z) ** 1.5


def compute_halfspace_table() -> np.ndarray:
    """Compute the table of :func:`halfspace_table` (about 0.3 s; the cached copy is read instead)."""
    grid = np.linspace(0.0, TABLE_MAX, round(TABLE_MAX / TABLE_STEP) + 1)
    from handatlas.lookup.capsules import tabulate_halfspace

    x, w = np.polynomial.legendre.leggauss(TABLE_NODES)
    out = np.empty((len(grid), len(grid)))
    tabulate_halfspace(grid, grid, (x + 1.0) / 2.0, w / 2.0, out)
    out[:, 0] = influence_on_axis(grid)  # the axis in closed form
    np.clip(out, 0.0, 1.0, out=out)
    return out


@cache
def halfspace_table() -> np.ndarray:
    """``sigma_z / p`` under a uniformly loaded disc of unit radius on an elastic half-space.

    Row ``i`` is the depth ``z/r = i * TABLE_STEP``, column ``j`` the lateral offset
    ``rho/r = j * TABLE_STEP``, both from 0 to :data:`TABLE_MAX`.  Each entry integrates the
    point-load solution over the disc: in polar coordinates around the field point the radial
    integral is exact, which leaves one angular integral (Gauss-Legendre, :data:`TABLE_NODES`
    nodes clustered where the disc's edge is nearest).  Computed once and kept in the user cache
    directory (next to the compiled kernels), read from there by later processes.
    """
    name = f"halfspace-{TABLE_MAX:g}-{TABLE_STEP:g}-{TABLE_NODES}-v1.npy"
    path = Path(user_cache_dir("handatlas")) / name
    n = round(TABLE_MAX / TABLE_STEP) + 1
    out = None
    with contextlib.suppress(OSError, ValueError):
        out = np.load(path, allow_pickle=False)
    if out is None or out.shape != (n, n) or out.dtype != np.float64:
        out = compute_halfspace_table()
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as tmp:
                np.save(tmp, out)
            os.replace(tmp.name, path)
    out.setflags(write=False)
    return out


def influence(z_over_r: np.ndarray | float, rho_over_r: np.ndarray | float) -> np.ndarray:
    """``sigma_z / p`` at depth ``z/r`` and lateral offset ``rho/r`` (vectorised, numpy).

    Bilinear in the table, the point-load solution ``1.5 z^3 / R^5`` beyond it.

    Examples
    --------
    >>> round(float(influence(1.0, 0.0)), 3)
    0.646
    """
    table = halfspace_table()
    z = np.maximum(np.asarray(z_over_r, dtype=np.float64), 0.0)
    rho = np.maximum(np.asarray(rho_over_r, dtype=np.float64), 0.0)
    z, rho = np.broadcast_arrays(z, rho)
    n = table.shape[0] - 1
    fz, fr = z / TABLE_STEP, rho / TABLE_STEP
    inside = (z < TABLE_MAX) & (rho < TABLE_MAX)
    ic = np.where(inside, np.minimum(fz.astype(np.int64), n - 1), 0)
    jc = np.where(inside, np.minimum(fr.astype(np.int64), n - 1), 0)
    dz, dr = fz - ic, fr - jc
    value = ((1 - dz) * ((1 - dr) * table[ic, jc] + dr * table[ic, jc + 1])
             + dz * ((1 - dr) * table[ic + 1, jc] + dr * table[ic + 1, jc + 1]))
    r2 = np.maximum(z * z + rho * rho, TABLE_MAX**2)  # only used beyond the table
    far = 1.5 * z**3 / (r2 * r2 * np.sqrt(r2))
    return np.where(inside, value, far)


#: Step (in pad radii) of :func:`influence_bound`.
BOUND_STEP = 0.05
#: :func:`influence_bound` covers distances up to this many pad radii (the point load beyond).
BOUND_MAX = 60.0


@cache
def influence_bound() -> np.ndarray:
    """``bound[i]``: no ``sigma_z / p`` at ``i * BOUND_STEP`` pad radii or more from the contact exceeds it.

    An exact prefilter: structures further than where the bound falls below what could flag
    them are skipped.  A bilinear value is at most its four table corners, which lie at most
    ``sqrt(2) * TABLE_STEP`` nearer; beyond the table the point load ``1.5 z^3 / R^5 <= 1.5 / R^2``.
    """
    table = halfspace_table()
    grid = np.arange(table.shape[0]) * TABLE_STEP
    dist = np.hypot(grid[:, None], grid[None, :]).ravel()
    order = np.argsort(dist)
    dist, values = dist[order], table.ravel()[order]
    suffix = np.maximum.accumulate(values[::-1])[::-1]  # max over dist >= dist[k]
    at = np.arange(round(BOUND_MAX / BOUND_STEP) + 1) * BOUND_STEP
    first = np.searchsorted(dist, at - math.sqrt(2.0) * TABLE_STEP)
    inside = np.where(first < len(dist), suffix[np.minimum(first, len(dist) - 1)], 0.0)
    out = np.maximum(inside, 1.5 / np.maximum(at, TABLE_MAX) ** 2)
    out.setflags(write=False)
    return out


@cache
def influence_envelope() -> np.ndarray:
    """``envelope[i, j]``: the largest table entry at depth index ``>= i`` and offset index ``>= j``.

    The stress under a loaded disc falls with the offset at every depth, but off the axis it first
    grows with depth: the envelope is an upper bound over everything deeper and further out, used
    to skip segments that cannot be flagged or cannot beat what a structure already has.  (Beyond
    the table the point load is bounded by ``1.5 / R^2`` separately.)
    """
    table = halfspace_table()
    out = np.maximum.accumulate(np.maximum.accumulate(table[::-1, ::-1], axis=0), axis=1)[::-1, ::-1]
    out = np.ascontiguousarray(out)
    out.setflags(write=False)
    return out


def envelope_bound(z_over_r: np.ndarray, rho_over_r: np.ndarray) -> np.ndarray:
    """:func:`influence_envelope` at ``(z/r, rho/r)`` floored to the grid (numpy; the point load beyond)."""
    env = influence_envelope()
    n = env.shape[0] - 1
    top = n * TABLE_STEP
    z, rho = np.broadcast_arrays(np.asarray(z_over_r, float), np.asarray(rho_over_r, float))
    far = 1.5 / np.maximum(top * top, z * z + rho * rho)
    inside = (z < top) & (rho < top)
    i = np.where(inside, (z / TABLE_STEP).astype(np.int64), 0)
    j = np.where(inside, (rho / TABLE_STEP).astype(np.int64), 0)
    return np.where(inside, np.maximum(env[np.clip(i, 0, n), np.clip(j, 0, n)], far), far)


@cache
def reach_radii(need: float) -> float:
    """Pad radii beyond which no ``sigma_z / p`` on the undeformed tissue reaches ``need``
    (from :func:`influence_bound`; cached, a few values per grade)."""
    below = np.flatnonzero(influence_bound() < need)
    return below[0] * BOUND_STEP if len(below) else math.sqrt(1.5 / need)


@lru_cache(maxsize=64)
def _reach_radii_of(needs: tuple[float, ...]) -> np.ndarray:
    """:func:`reach_radii` of several needs, as an array (cached: one per grade and pad)."""
    out = np.array([reach_radii(x) for x in needs])
    out.flags.writeable = False
    return out


def reach_mm(pressure: float, radius_mm: float, strain: float, column_mm: np.ndarray | float,
             *, floor_kpa: float | None = None) -> np.ndarray:
    """Distance (mm) from the contact beyond which no structure can be flagged, per press.

    Beyond ``L`` pad radii the stress is below ``floor_kpa`` (default :func:`flag_floor_kpa`) on
    the undeformed tissue (:func:`reach_radii`); compression moves a point nearer by at most the
    strain, and by at most the strain times the column.  ``floor_kpa`` may be an array (one floor
    per column of the result, broadcast against ``column_mm``).
    """
    far, near = reach_terms(pressure, radius_mm, strain, floor_kpa=floor_kpa)
    column = np.minimum(np.asarray(column_mm, dtype=np.float64), COLUMN_MAX_MM)
    return np.minimum(far, near + strain * column)


def reach_terms(pressure: float, radius_mm: float, strain: float, *,
                floor_kpa: float | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(far, near)``: :func:`reach_mm` is ``min(far, near + strain * column)`` (the column capped at
    :data:`COLUMN_MAX_MM`), for each floor."""
    need = (flag_floor_kpa() if floor_kpa is None else np.asarray(floor_kpa, dtype=np.float64)) / max(
        pressure, 1e-12)
    radii = (reach_radii(float(need)) if np.ndim(need) == 0
             else _reach_radii_of(tuple(np.ravel(need).tolist())).reshape(np.shape(need)))
    return np.asarray(radii * radius_mm / (1.0 - strain)), np.asarray(radii * radius_mm)


# ----------------------------------------------------------------------------- harm and verdicts
def tolerance_kpa(tissue: str | np.ndarray, *, pinned: bool | np.ndarray = False) -> float | np.ndarray:
    """The tolerance (kPa) of a tissue class, lower when pinned against bone.

    Examples
    --------
    >>> tolerance_kpa("nerve"), tolerance_kpa("nerve", pinned=True)
    (350.0, 84.0)
    """
    if isinstance(tissue, str):
        return TOLERANCE_KPA[tissue] * (PINNED_FACTOR[tissue] if pinned else 1.0)
    names = np.asarray(tissue).ravel()
    base = np.array([TOLERANCE_KPA[t] for t in names]).reshape(np.shape(tissue))
    factor = np.array([PINNED_FACTOR[t] for t in names]).reshape(np.shape(tissue))
    return base * np.where(pinned, factor, 1.0)


def flag_floor_kpa() -> float:
    """The lowest stress (kPa) that can flag anything (every tissue, pinned)."""
    return CAUTION_FRACTION * min(TOLERANCE_KPA[t] * PINNED_FACTOR[t] for t in TOLERANCE_KPA)


def level_codes(stress: np.ndarray, tolerance: np.ndarray, can_avoid: np.ndarray) -> np.ndarray:
    """Level of each structure: ``SAFE`` (not flagged), ``CAUTION`` or ``AVOID`` (int8 codes)."""
    stress = np.asarray(stress, dtype=np.float64)
    flagged = stress > CAUTION_FRACTION * tolerance
    over = (stress > tolerance) & can_avoid
    return np.where(over, AVOID, np.where(flagged, CAUTION, SAFE)).astype(np.int8)


def structure_stress(
    *,
    force_n: float,
    radius_mm: float,
    depth_mm: float,
    offset_mm: float = 0.0,
    column_mm: float = COLUMN_MAX_MM,
    sheets: tuple[str, ...] = (),
) -> float:
    """The stress (kPa) reaching a point under a press: the model for one structure.

    Parameters
    ----------
    force_n, radius_mm
        The load and the pad.
    depth_mm
        The structure's nearest surface under the undeformed skin, along the axis.
    offset_mm
        Its lateral offset from the axis.
    column_mm
        Soft tissue on the axis above the first bone.
    sheets
        Fascial sheets (keys of :data:`SHEET_FACTOR`) crossed by the axis above the structure.

    Examples
    --------
    >>> round(structure_stress(force_n=15, radius_mm=8, depth_mm=3.0), 1)
    73.7
    """
    p = pressure_kpa(force_n, radius_mm)
    z = compressed_depth(depth_mm, column_mm, float(tissue_strain(p)))
    factor = math.prod(SHEET_FACTOR[s] for s in sheets)
    return float(p * influence(z / radius_mm, offset_mm / radius_mm) * factor)


def structure_level(
    *,
    tissue: str,
    pinned: bool,
    force_n: float,
    radius_mm: float,
    depth_mm: float,
    offset_mm: float = 0.0,
    column_mm: float = COLUMN_MAX_MM,
    sheets: tuple[str, ...] = (),
) -> str:
    """The level (``safe``, ``caution``, ``avoid``) of one structure under a press.

    Examples
    --------
    >>> structure_level(tissue="artery", pinned=True, force_n=15, radius_mm=8, depth_mm=4.0)
    'avoid'
    """
    stress = structure_stress(force_n=force_n, radius_mm=radius_mm, depth_mm=depth_mm, offset_mm=offset_mm,
                              column_mm=column_mm, sheets=sheets)
    code = level_codes(np.array([stress]), np.array([tolerance_kpa(tissue, pinned=pinned)]),
                       np.array([tissue in AVOID_TISSUES]))[0]
    return LEVELS[int(code)]


#: What to do instead, in every message that warns.
ADVICE = "use light, broad, moving strokes here"
#: What to do instead when even light pressure warns.
LIGHT_ADVICE = "keep contact broad, brief and moving"


def parameters() -> dict[str, object]:
    """Every parameter of the model by name (for reports and the README)."""
    return {
        "GRADE_FORCE_N": dict(GRADE_FORCE_N), "DEFAULT_RADIUS_MM": DEFAULT_RADIUS_MM,
        "STRAIN_MAX": STRAIN_MAX, "STRAIN_HALF_KPA": STRAIN_HALF_KPA, "COLUMN_MAX_MM": COLUMN_MAX_MM,
        "SHEET_FACTOR": dict(SHEET_FACTOR), "TOLERANCE_KPA": dict(TOLERANCE_KPA),
        "PINNED_FACTOR": dict(PINNED_FACTOR), "PINNED_GAP_MM": PINNED_GAP_MM,
        "PINNING_SHEETS": PINNING_SHEETS, "CONFINING_SHEETS": CONFINING_SHEETS,
        "CANAL_DEPTH_MM": CANAL_DEPTH_MM,
        "CAUTION_FRACTION": CAUTION_FRACTION,
    }
