"""The MyoHand skeleton from myo-sim: bodies, forward kinematics and the hand frame.

The body tree of the right forearm and hand is read from myo-sim's
``models/arm/assets/myoarm_r_chain.xml`` with :mod:`xml.etree` (no mujoco), forward kinematics
mirrors ``mj_kinematics`` in numpy, and :func:`pose_hand` expresses the posed bones in the hand
frame of DESIGN.md: right hand, millimetres, palm up; origin at the centroid of the capitate;
+x radial, +y distal, +z palmar.

Units: the XML is in metres; everything this module returns is in millimetres. A body's *local*
coordinates are its myo-sim body frame scaled to millimetres (for the carpals and the fingers:
+x radial, +y proximal, -z palmar at the reference pose).

Examples
--------
>>> from handatlas.build.skeleton import pose_hand
>>> hand = pose_hand()  # doctest: +SKIP
>>> hand.sites["MFtip_r"][1] > 80.0  # the middle fingertip is distal  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import importlib.util
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh
from numpy.typing import ArrayLike
from scipy.spatial.transform import Rotation

from handatlas.build import bones as bone_meshes

__all__ = [
    "BONE_BODIES",
    "MASSAGE_POSE",
    "Body",
    "Joint",
    "PosedHand",
    "Skeleton",
    "forward_kinematics",
    "hand_frame",
    "load_skeleton",
    "pose_hand",
]

CHAIN_XML = Path("models/arm/assets/myoarm_r_chain.xml")
ASSETS_XML = Path("models/arm/assets/myoarm_r_assets.xml")
MESH_ROOT = Path("models")  # mesh files are named "meshes/*.stl", relative to models/
ROOT_BODY = "ulna_r"
METRES_TO_MM = 1000.0

#: Structure id (ANATOMY.md) -> myo-sim body name. 29 bones; the thumb has no middle phalanx.
BONE_BODIES: dict[str, str] = {
    "radius": "radius_r",
    "ulna": "ulna_r",
    "scaphoid": "scaphoid_r",
    "lunate": "lunate_r",
    "triquetrum": "triquetrum_r",
    "pisiform": "pisiform_r",
    "trapezium": "trapezium_r",
    "trapezoid": "trapezoid_r",
    "capitate": "capitate_r",
    "hamate": "hamate_r",
    "metacarpal_1": "firstmc_r",
    "metacarpal_2": "secondmc_r",
    "metacarpal_3": "thirdmc_r",
    "metacarpal_4": "fourthmc_r",
    "metacarpal_5": "fifthmc_r",
    "proximal_phalanx_1": "proximal_thumb_r",
    "proximal_phalanx_2": "2proxph_r",
    "proximal_phalanx_3": "3proxph_r",
    "proximal_phalanx_4": "4proxph_r",
    "proximal_phalanx_5": "5proxph_r",
    "middle_phalanx_2": "midph2_r",
    "middle_phalanx_3": "midph3_r",
    "middle_phalanx_4": "midph4_r",
    "middle_phalanx_5": "midph5_r",
    "distal_phalanx_1": "distal_thumb_r",
    "distal_phalanx_2": "distph2_r",
    "distal_phalanx_3": "distph3_r",
    "distal_phalanx_4": "distph4_r",
    "distal_phalanx_5": "distph5_r",
}

#: Palm up on a massage table: forearm fully supinated, wrist neutral, fingers nearly straight and
#: slightly spread, thumb relaxed beside the index. Joint names as compiled in ``myohand_r``
#: (every name ends in ``_r``); the XML spellings without ``_r`` are accepted too. Signs:
#: finger flexion positive = flexion, finger abduction positive = radial, ``cmc_flexion``
#: negative = flexion across the palm, ``cmc_abduction`` positive = palmar abduction, thumb
#: ``mp``/``ip`` negative = flexion.
MASSAGE_POSE: dict[str, float] = {
    "pro_sup_r": -math.pi / 2,
    "flexion_r": 0.0,
    "deviation_r": 0.0,
    "mcp2_abduction_r": 0.15,
    "mcp3_abduction_r": 0.0,
    "mcp4_abduction_r": -0.12,
    "mcp5_abduction_r": -0.22,
    "mcp2_flexion_r": 0.05,
    "mcp3_flexion_r": 0.05,
    "mcp4_flexion_r": 0.07,
    "mcp5_flexion_r": 0.10,
    "pm2_flexion_r": 0.10,
    "pm3_flexion_r": 0.10,
    "pm4_flexion_r": 0.12,
    "pm5_flexion_r": 0.15,
    "md2_flexion_r": 0.05,
    "md3_flexion_r": 0.05,
    "md4_flexion_r": 0.05,
    "md5_flexion_r": 0.08,
    "cmc_flexion_r": 0.5,
    "cmc_abduction_r": -0.3,
    "mp_flexion_r": -0.1,
    "ip_flexion_r": -0.15,
}

#: Extra length (mm) kept on the radius and ulna distal to the cap plane, so they end inside the
#: skin.
BONE_CUT_OFFSET_MM = 1.0
#: The radial styloid tip: mean of this many radius vertices with the largest y ...
STYLOID_VERTEX_COUNT = 5
#: ... among the vertices within this distance (mm) of the distal end of the radius ...
STYLOID_DISTAL_BAND_MM = 30.0
#: ... and in the radial third of that distal band (by x).
STYLOID_RADIAL_FRACTION = 1.0 / 3.0


# ----------------------------------------------------------------------------- parsed model
@dataclass(frozen=True)
class Joint:
    """A hinge joint of a body.

    Attributes
    ----------
    name : str
        Canonical name (always ending in ``_r``).
    xml_name : str
        The name as spelled in the XML.
    axis : (3,) float
        Unit rotation axis in the body's local frame.
    anchor : (3,) float
        Point on the axis, body-local millimetres.
    limits : (2,) float
        Range in radians.
    """

    name: str
    xml_name: str
    axis: np.ndarray
    anchor: np.ndarray
    limits: tuple[float, float]


@dataclass(frozen=True)
class Body:
    """One body of the myo-sim chain.

    Attributes
    ----------
    name : str
        myo-sim body name, e.g. ``"thirdmc_r"``.
    parent : str or None
        Parent body name (None for the root).
    offset : (3,) float
        Position of the body frame in its parent's frame, mm.
    rotation : (3, 3) float
        Orientation of the body frame in its parent's frame.
    joints : tuple of Joint
        Hinges in XML order.
    mesh : str or None
        Name of the mesh asset attached to the body.
    sites : dict of str -> (3,) float
        Site positions, body-local mm.
    """

    name: str
    parent: str | None
    offset: np.ndarray
    rotation: np.ndarray
    joints: tuple[Joint, ...]
    mesh: str | None
    sites: dict[str, np.ndarray]


@dataclass(frozen=True)
class Skeleton:
    """The parsed forearm and hand chain of myo-sim.

    Attributes
    ----------
    bodies : dict of str -> Body
        Every body of the subtree rooted at the ulna, parents before children.
    mesh_files : dict of str -> Path
        Mesh asset name -> STL file.
    source : Path
        The myo-sim package folder.
    """

    bodies: dict[str, Body]
    mesh_files: dict[str, Path]
    source: Path

    @property
    def joints(self) -> dict[str, Joint]:
        """Every joint by canonical name, in tree order."""
        return {joint.name: joint for body in self.bodies.values() for joint in body.joints}

    def site_body(self, site: str) -> str:
        """Name of the body that carries ``site``."""
        for body in self.bodies.values():
            if site in body.sites:
                return body.name
        msg = f"unknown site {site!r}"
        raise KeyError(msg)

    def bone_mesh_files(self) -> dict[str, Path]:
        """Bone id -> STL file of that bone, for the 29 bones of :data:`BONE_BODIES`."""
        files = {}
        for bone, body_name in BONE_BODIES.items():
            mesh_name = self.bodies[body_name].mesh
            if mesh_name is None:
                msg = f"body {body_name!r} ({bone}) has no mesh geom"
                raise ValueError(msg)
            files[bone] = self.mesh_files[mesh_name]
        return files


def canonical_joint_name(name: str) -> str:
    """The ``myohand_r`` spelling of a joint name: the XML name with a ``_r`` suffix.

    Examples
    --------
    >>> canonical_joint_name("cmc_flexion")
    'cmc_flexion_r'
    >>> canonical_joint_name("mp_flexion_r")
    'mp_flexion_r'
    """
    return name if name.endswith("_r") else f"{name}_r"


def _floats(text: str | None, default: ArrayLike) -> np.ndarray:
    if text is None:
        return np.array(default, dtype=np.float64)
    return np.array([float(token) for token in text.split()], dtype=np.float64)


def _orientation(element: ET.Element) -> np.ndarray:
    """Rotation matrix of an MJCF element (radians, MuJoCo's default ``eulerseq="xyz"``)."""
    if element.get("quat") is not None:
        w, x, y, z = _floats(element.get("quat"), [1, 0, 0, 0])
        return Rotation.from_quat([x, y, z, w]).as_matrix()
    if element.get("euler") is not None:
        return Rotation.from_euler("XYZ", _floats(element.get("euler"), [0, 0, 0])).as_matrix()
    if element.get("axisangle") is not None:
        values = _floats(element.get("axisangle"), [0, 0, 1, 0])
        axis = values[:3] / np.linalg.norm(values[:3])
        return Rotation.from_rotvec(axis * values[3]).as_matrix()
    for unsupported in ("xyaxes", "zaxis"):
        if element.get(unsupported) is not None:
            msg = f"body {element.get('name')!r}: {unsupported} orientation is not supported"
            raise NotImplementedError(msg)
    return np.eye(3)


def _parse_joint(element: ET.Element) -> Joint:
    joint_type = element.get("type", "hinge")
    if joint_type != "hinge":
        msg = f"joint {element.get('name')!r}: only hinge joints are supported, got {joint_type}"
        raise NotImplementedError(msg)
    axis = _floats(element.get("axis"), [0, 0, 1])
    limits = _floats(element.get("range"), [0, 0])
    xml_name = element.get("name", "")
    return Joint(
        name=canonical_joint_name(xml_name),
        xml_name=xml_name,
        axis=axis / np.linalg.norm(axis),
        anchor=_floats(element.get("pos"), [0, 0, 0]) * METRES_TO_MM,
        limits=(float(limits[0]), float(limits[1])),
    )


def _parse_body(element: ET.Element, parent: str | None, out: dict[str, Body]) -> None:
    """Parse ``element`` and its descendants into ``out`` (parents first)."""
    joints: list[Joint] = []
    sites: dict[str, np.ndarray] = {}
    mesh: str | None = None
    children: list[ET.Element] = []
    for child in element:
        if child.tag == "joint":
            joints.append(_parse_joint(child))
        elif child.tag == "site":
            sites[child.get("name", "")] = _floats(child.get("pos"), [0, 0, 0]) * METRES_TO_MM
        elif child.tag == "geom" and child.get("mesh") is not None:
            has_offset = any(child.get(key) is not None for key in ("pos", "quat", "euler"))
            if has_offset:
                msg = f"mesh geom {child.get('name')!r} has an offset; not supported"
                raise NotImplementedError(msg)
            mesh = child.get("mesh")
        elif child.tag == "body":
            children.append(child)
    name = element.get("name", "")
    out[name] = Body(
        name=name,
        parent=parent,
        offset=_floats(element.get("pos"), [0, 0, 0]) * METRES_TO_MM,
        rotation=_orientation(element),
        joints=tuple(joints),
        mesh=mesh,
        sites=sites,
    )
    for child in children:
        _parse_body(child, name, out)


def _parse_mesh_files(assets_xml: Path, mesh_root: Path) -> dict[str, Path]:
    files = {}
    for element in ET.parse(assets_xml).getroot().iter("mesh"):
        scale = _floats(element.get("scale"), [1, 1, 1])
        if not np.allclose(scale, 1.0):
            msg = f"mesh {element.get('name')!r} has scale {scale}; only 1 1 1 is supported"
            raise NotImplementedError(msg)
        files[element.get("name", "")] = mesh_root / element.get("file", "")
    return files


def find_myo_sim() -> Path:
    """The installed ``myo_sim`` package folder (found with importlib, not imported)."""
    spec = importlib.util.find_spec("myo_sim")
    if spec is None or spec.origin is None:
        msg = "myo-sim is not installed; install the build extra: pip install 'handatlas[build]'"
        raise ModuleNotFoundError(msg)
    return Path(spec.origin).parent


@functools.lru_cache(maxsize=4)
def _load_skeleton_cached(myo_sim_dir: Path) -> Skeleton:
    chain = ET.parse(myo_sim_dir / CHAIN_XML).getroot()
    root = next((b for b in chain.iter("body") if b.get("name") == ROOT_BODY), None)
    if root is None:
        msg = f"{myo_sim_dir / CHAIN_XML}: no body named {ROOT_BODY!r}"
        raise ValueError(msg)
    bodies: dict[str, Body] = {}
    _parse_body(root, None, bodies)
    mesh_files = _parse_mesh_files(myo_sim_dir / ASSETS_XML, myo_sim_dir / MESH_ROOT)
    return Skeleton(bodies=bodies, mesh_files=mesh_files, source=myo_sim_dir)


def load_skeleton(myo_sim_dir: str | Path | None = None) -> Skeleton:
    """Parse the forearm and hand bodies of myo-sim.

    Parameters
    ----------
    myo_sim_dir : str or Path, optional
        The ``myo_sim`` package folder; found with importlib when omitted.

    Returns
    -------
    Skeleton
        The bodies of the subtree rooted at ``ulna_r`` (cached per folder).

    Examples
    --------
    >>> skeleton = load_skeleton()  # doctest: +SKIP
    >>> len(skeleton.bodies)  # doctest: +SKIP
    29
    """
    folder = find_myo_sim() if myo_sim_dir is None else Path(myo_sim_dir)
    return _load_skeleton_cached(folder.resolve())


# ----------------------------------------------------------------------------- kinematics
def _rigid(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = translation
    return matrix


def _joint_angles(skeleton: Skeleton, pose: Mapping[str, float]) -> dict[str, float]:
    """Pose keyed by canonical joint names; unknown names raise KeyError."""
    known = skeleton.joints
    angles = {}
    for name, value in pose.items():
        canonical = canonical_joint_name(name)
        if canonical not in known:
            msg = f"unknown joint {name!r}; known joints: {', '.join(known)}"
            raise KeyError(msg)
        angles[canonical] = float(value)
    return angles


def forward_kinematics(skeleton: Skeleton, pose: Mapping[str, float]) -> dict[str, np.ndarray]:
    """World transform of every body, in the root (ulna) frame, millimetres.

    Mirrors ``mj_kinematics``: a body frame is its parent's frame composed with the body's
    offset and orientation; then each hinge, in XML order, rotates the frame about its local axis
    through its local anchor. The root body's own frame is the world (its joints are ignored).

    Parameters
    ----------
    skeleton : Skeleton
        Parsed bodies.
    pose : mapping of str -> float
        Joint angles in radians; joints not named are at 0.

    Returns
    -------
    dict of str -> (4, 4) float
        Body name -> transform from body-local mm to root-frame mm.
    """
    angles = _joint_angles(skeleton, pose)
    transforms: dict[str, np.ndarray] = {}
    for body in skeleton.bodies.values():
        if body.parent is None:
            transforms[body.name] = np.eye(4)
            continue
        parent = transforms[body.parent]
        rotation = parent[:3, :3] @ body.rotation
        origin = parent[:3, :3] @ body.offset + parent[:3, 3]
        for joint in body.joints:
            angle = angles.get(joint.name, 0.0)
            if angle == 0.0:
                continue
            anchor = origin + rotation @ joint.anchor
            rotation = rotation @ Rotation.from_rotvec(joint.axis * angle).as_matrix()
            origin = anchor - rotation @ joint.anchor
        transforms[body.name] = _rigid(rotation, origin)
    return transforms


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def hand_frame(body_transforms: Mapping[str, np.ndarray], capitate_centroid: np.ndarray) -> np.ndarray:
    """The hand frame of DESIGN.md, as a 4x4 from hand-frame mm to the frame of the transforms.

    Origin: the capitate centroid. +y: unit vector to the 3rd MCP joint centre (origin of
    ``3proxph_r``). +z: normal of the plane through the 2nd MCP centre, the 5th MCP centre and
    the capitate centroid, orthogonalised against y, pointing palmar (the -z of the lunate).
    +x = y x z (radial for a right hand).

    Parameters
    ----------
    body_transforms : mapping of str -> (4, 4) float
        Posed body transforms (any common frame, mm).
    capitate_centroid : (3,) float
        Centroid of the posed capitate in that frame.
    """
    origin = np.asarray(capitate_centroid, dtype=np.float64)
    mcp2 = body_transforms["2proxph_r"][:3, 3]
    mcp3 = body_transforms["3proxph_r"][:3, 3]
    mcp5 = body_transforms["5proxph_r"][:3, 3]
    distal = _unit(mcp3 - origin)
    normal = np.cross(mcp2 - origin, mcp5 - origin)
    normal = _unit(normal - distal * (normal @ distal))
    lunate_palmar = body_transforms["lunate_r"][:3, :3] @ np.array([0.0, 0.0, -1.0])
    if normal @ lunate_palmar < 0:
        normal = -normal
    radial = np.cross(distal, normal)
    return _rigid(np.column_stack([radial, distal, normal]), origin)


# ----------------------------------------------------------------------------- the posed hand
@dataclass(frozen=True)
class PosedHand:
    """The 29 bones posed in the hand frame (mm; +x radial, +y distal, +z palmar).

    Attributes
    ----------
    transforms : dict of str -> (4, 4) float
        Bone id -> transform from that bone's local mm (myo-sim body frame scaled to mm) to the
        hand frame.
    meshes : dict of str -> trimesh.Trimesh
        Bone id -> repaired watertight mesh in the hand frame; radius and ulna cut
        :data:`BONE_CUT_OFFSET_MM` distal to the cap plane and closed.
    sites : dict of str -> (3,) float
        Every myo-sim site of the forearm and hand (fingertips ``THtip_r`` … ``LFtip_r``,
        tendon path sites, ...) in the hand frame.
    joint_centres : dict of str -> (3,) float
        Bone id -> origin of that bone's body (the proximal joint centre of metacarpals and
        phalanges) in the hand frame.
    cap_y : float
        y of the forearm cap plane.
    """

    transforms: dict[str, np.ndarray]
    meshes: dict[str, trimesh.Trimesh]
    sites: dict[str, np.ndarray]
    joint_centres: dict[str, np.ndarray]
    cap_y: float

    def _transform(self, bone: str) -> np.ndarray:
        try:
            return self.transforms[bone]
        except KeyError:
            msg = f"unknown bone {bone!r}; known bones: {', '.join(self.transforms)}"
            raise KeyError(msg) from None

    def to_hand(self, bone: str, local_mm: ArrayLike) -> np.ndarray:
        """Body-local mm of ``bone`` -> hand frame mm; (3,) or (n, 3) in, same shape out.

        Examples
        --------
        >>> hand.to_hand("capitate", [0.0, 0.0, 0.0])  # doctest: +SKIP
        array([...])
        """
        matrix = self._transform(bone)
        points = np.asarray(local_mm, dtype=np.float64)
        return points @ matrix[:3, :3].T + matrix[:3, 3]

    def to_local(self, bone: str, hand_mm: ArrayLike) -> np.ndarray:
        """Hand frame mm -> body-local mm of ``bone``; (3,) or (n, 3) in, same shape out."""
        matrix = self._transform(bone)
        points = np.asarray(hand_mm, dtype=np.float64)
        return (points - matrix[:3, 3]) @ matrix[:3, :3]


def _transformed(mesh: trimesh.Trimesh, matrix: np.ndarray) -> trimesh.Trimesh:
    vertices = mesh.vertices @ matrix[:3, :3].T + matrix[:3, 3]
    return trimesh.Trimesh(vertices=vertices, faces=mesh.faces.copy(), process=False)


def radial_styloid_tip(radius_mesh: trimesh.Trimesh) -> np.ndarray:
    """Tip of the radial styloid of a radius posed in the hand frame.

    The distal end is taken along +y of the hand frame. Among the radius vertices within
    :data:`STYLOID_DISTAL_BAND_MM` of the most distal vertex, those in the radial third (largest
    x) are kept, and the tip is the mean of the :data:`STYLOID_VERTEX_COUNT` of them with the
    largest y.

    Parameters
    ----------
    radius_mesh : trimesh.Trimesh
        The uncut radius, hand frame.

    Returns
    -------
    (3,) float
    """
    vertices = np.asarray(radius_mesh.vertices)
    distal = vertices[vertices[:, 1] >= vertices[:, 1].max() - STYLOID_DISTAL_BAND_MM]
    x_low, x_high = distal[:, 0].min(), distal[:, 0].max()
    radial = distal[distal[:, 0] >= x_high - STYLOID_RADIAL_FRACTION * (x_high - x_low)]
    order = np.lexsort((radial[:, 0], radial[:, 2], -radial[:, 1]))
    return radial[order[:STYLOID_VERTEX_COUNT]].mean(axis=0)


def pose_hand(
    skeleton: Skeleton | None = None,
    *,
    pose: Mapping[str, float] = MASSAGE_POSE,
    cap_mm: float = 120.0,
) -> PosedHand:
    """Pose the bones and express them in the hand frame.

    Parameters
    ----------
    skeleton : Skeleton, optional
        Parsed bodies; :func:`load_skeleton` when omitted.
    pose : mapping of str -> float
        Joint angles (radians); names with or without the ``_r`` suffix.
    cap_mm : float
        Distance from the radial styloid tip to the forearm cap plane, mm.

    Returns
    -------
    PosedHand

    Examples
    --------
    >>> hand = pose_hand()  # doctest: +SKIP
    >>> bool(hand.sites["THtip_r"][0] > 0)  # the thumb is radial  # doctest: +SKIP
    True
    """
    skeleton = load_skeleton() if skeleton is None else skeleton
    world = forward_kinematics(skeleton, pose)
    local_meshes = bone_meshes.load_bones(skeleton.bone_mesh_files())

    capitate = _transformed(local_meshes["capitate"], world[BONE_BODIES["capitate"]])
    world_from_hand = hand_frame(world, np.asarray(capitate.center_mass))
    hand_from_world = np.linalg.inv(world_from_hand)

    transforms = {bone: hand_from_world @ world[body] for bone, body in BONE_BODIES.items()}
    meshes = {bone: _transformed(local_meshes[bone], transforms[bone]) for bone in BONE_BODIES}
    cap_y = float(radial_styloid_tip(meshes["radius"])[1] - cap_mm)
    for bone in ("radius", "ulna"):
        meshes[bone] = bone_meshes.cut_below(meshes[bone], y=cap_y + BONE_CUT_OFFSET_MM)

    sites = {
        site: hand_from_world[:3, :3] @ (world[body.name][:3, :3] @ local + world[body.name][:3, 3])
        + hand_from_world[:3, 3]
        for body in skeleton.bodies.values()
        for site, local in body.sites.items()
    }
    joint_centres = {bone: transforms[bone][:3, 3].copy() for bone in BONE_BODIES}
    return PosedHand(
        transforms=transforms,
        meshes=meshes,
        sites=sites,
        joint_centres=joint_centres,
        cap_y=cap_y,
    )
