"""BVH (Biovision hierarchy) motion files -> lower-limb kinematics -> simulated IMUs.

The format
----------
``HIERARCHY``: nested ``ROOT``/``JOINT`` blocks, each with an ``OFFSET`` (the joint's
position in its parent's frame at rest) and ``CHANNELS`` (``Xposition``... and
``Xrotation``... in the order the values appear); ``End Site`` blocks close chains.
``MOTION``: ``Frames: N``, ``Frame Time: dt`` and N rows of channel values. A joint's
local rotation is the product of its rotation channels in their order (intrinsic, degrees:
``Zrotation Xrotation Yrotation`` is ``Rz @ Rx @ Ry``); its local translation is its
offset plus any position channels. At rest (all channels zero) every joint frame is
parallel to the file's world frame. The format is small, so :func:`read_bvh` parses it
with NumPy; it has no dependency beyond imukin's own.

Joint names
-----------
:data:`DEFAULT_JOINT_MAP` maps imukin segments to the CMU skeleton's joints (the CMU
motion-capture database's BVH conversions, also used by many other exporters):

=========  ==============  =====================================================
segment    BVH joint       origin used
=========  ==============  =====================================================
pelvis     ``Hips``        midpoint of the two thigh joints (the hip centres)
rthigh     ``RightUpLeg``  position of that joint (hip centre)
rshank     ``RightLeg``    knee centre
rfoot      ``RightFoot``   ankle centre
lthigh...  ``LeftUpLeg``, ``LeftLeg``, ``LeftFoot`` likewise
=========  ==============  =====================================================

A segment moves with its joint's global rotation. Other skeletons: a JSON file
(``--bvh-map``) mapping any of these segment names to the file's joint names overrides
the table, e.g. ``{"pelvis": "pelvis", "rthigh": "femur_r"}``. A name that is not in
the file also matches a joint whose name ends in ``:<name>`` (Mixamo-style prefixes),
ignoring case, when exactly one does.

Frames and units
----------------
From the rest pose: *up* is the file axis closest to the direction from the ankles to
the hips, *right* the direction from the left to the right hip centre (made horizontal)
and *anterior* = up x right. The lab takes anterior, up, right as X, Y, Z (then it is
turned so that X is the direction of travel). Segment frames at rest: pelvis and feet
are (anterior, up, right); thigh and shank have y along the bone (distal joint to
proximal joint), x the anterior direction made perpendicular to it and z = x x y. So a
rest pose whose legs stand apart (the CMU skeleton's thighs point about 20 degrees
outwards) gives the hip adduction of that pose, not zero. Lengths are scaled so the
rest skeleton's hip-to-ankle length equals that of a person of ``SourceConfig.height_m``
(units need not be known), unless ``length_unit_m`` is given.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from imukin.conventions import SEGMENTS, SIDES, segment_name, subject_id
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path
from imukin.simulation.body import SHANK_PER_HEIGHT, THIGH_PER_HEIGHT
from imukin.simulation.gait import Kinematics
from imukin.sources.motion import (
    SourceConfig,
    anthropometric_subject,
    check_source_rate,
    expand_paths,
    kinematics_to_record,
    poses_to_kinematics,
    sample_kinematics,
    source_subject_name,
)

#: imukin segment -> joint name in CMU-style BVH skeletons.
DEFAULT_JOINT_MAP = {"pelvis": "Hips", "rthigh": "RightUpLeg", "lthigh": "LeftUpLeg", "rshank": "RightLeg",
                     "lshank": "LeftLeg", "rfoot": "RightFoot", "lfoot": "LeftFoot"}
_AXES = {"X": 0, "Y": 1, "Z": 2}


@dataclass
class BvhJoint:
    """One ``ROOT``/``JOINT`` of the hierarchy."""

    name: str
    parent: int  # index of the parent joint, -1 for the root
    offset: np.ndarray  # (3,) position in the parent frame at rest, file units
    channels: list[str] = field(default_factory=list)  # e.g. ["Zrotation", "Xrotation", "Yrotation"]
    first_channel: int = 0  # column of the first channel in the motion rows


@dataclass
class BvhData:
    """A parsed BVH file."""

    joints: list[BvhJoint]
    frame_time_s: float
    motion: np.ndarray  # (T, C) channel values
    path: Path

    @property
    def fs(self) -> float:
        return 1.0 / self.frame_time_s

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]


def read_bvh(path: str | os.PathLike) -> BvhData:
    """Parse a BVH file.

    Raises
    ------
    ImukinError
        Missing file, malformed hierarchy (the offending token is named), unknown
        channel names, a frame count that does not match the values, or an absurd
        frame time.
    """
    path = Path(path)
    if not path.is_file():
        raise ImukinError(f"BVH file {path} does not exist; check the path")
    text = path.read_text(errors="replace")
    head, sep, body = text.partition("MOTION")
    if not sep or "HIERARCHY" not in head:
        raise ImukinError(f"{path.name} is not a BVH file (it needs a HIERARCHY and a MOTION section)")
    tok = head.split()
    joints: list[BvhJoint] = []
    stack: list[int | None] = []  # open blocks: joint index, None for End Site
    pending: int | None = None
    n_chan = 0
    i = tok.index("HIERARCHY") + 1
    try:
        while i < len(tok):
            w = tok[i]
            if w in ("ROOT", "JOINT"):
                parent = next((s for s in reversed(stack) if s is not None), -1)
                if w == "ROOT" and stack:
                    raise ImukinError(f"{path.name}: ROOT {tok[i + 1]} inside another joint")
                joints.append(BvhJoint(name=tok[i + 1], parent=parent, offset=np.zeros(3)))
                pending, i = len(joints) - 1, i + 2
            elif w == "End":
                pending, i = None, i + 2  # "End Site"
            elif w == "{":
                stack.append(pending)
                i += 1
            elif w == "}":
                stack.pop()
                i += 1
            elif w == "OFFSET":
                if stack and stack[-1] is not None:
                    joints[stack[-1]].offset = np.array([float(v) for v in tok[i + 1:i + 4]])
                i += 4
            elif w == "CHANNELS":
                k = int(tok[i + 1])
                names = tok[i + 2:i + 2 + k]
                bad = [c for c in names if c[1:] not in ("position", "rotation") or c[0] not in _AXES]
                if bad or len(names) != k or not stack or stack[-1] is None:
                    raise ImukinError(f"{path.name}: bad CHANNELS line near {' '.join(tok[i:i + 2 + k])!r}")
                joints[stack[-1]].channels = list(names)
                joints[stack[-1]].first_channel = n_chan
                n_chan += k
                i += 2 + k
            else:
                raise ImukinError(f"{path.name}: unexpected word {w!r} in the HIERARCHY section")
    except ImukinError:
        raise
    except (IndexError, ValueError):
        raise ImukinError(f"{path.name}: the HIERARCHY section is cut off or has a non-numeric value") from None
    if not joints or stack:
        raise ImukinError(f"{path.name}: the HIERARCHY section has no joints or unbalanced braces")

    lines = body.strip().splitlines()
    try:
        frames = int(lines[0].split(":")[1])
        frame_time = float(lines[1].split(":")[1])
        if not lines[0].strip().lower().startswith("frames") or "time" not in lines[1].lower():
            raise ValueError
        values = np.array(" ".join(lines[2:]).split(), dtype=float)
    except (IndexError, ValueError):
        raise ImukinError(f"{path.name}: MOTION must start with 'Frames: N' and 'Frame Time: dt' lines "
                          "followed by numbers") from None
    if frame_time <= 0:
        raise ImukinError(f"{path.name}: Frame Time {frame_time} s must be positive")
    check_source_rate(1.0 / frame_time, path.name)
    if frames < 1 or values.size != frames * n_chan:
        raise ImukinError(f"{path.name}: MOTION holds {values.size} values but Frames {frames} x {n_chan} channels "
                          f"= {frames * n_chan}; the file is truncated or its Frames line is wrong")
    return BvhData(joints=joints, frame_time_s=frame_time, motion=values.reshape(frames, n_chan), path=path)


# ---------------------------------------------------------------- joint names
def load_joint_map(path: str | os.PathLike | None) -> dict[str, str]:
    """:data:`DEFAULT_JOINT_MAP` updated with a JSON file's ``{segment: joint name}`` entries."""
    out = dict(DEFAULT_JOINT_MAP)
    if path is None:
        return out
    path = Path(path)
    if not path.is_file():
        raise ImukinError(f"BVH joint map {path} does not exist; check the path")
    try:
        user = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ImukinError(f"{path.name} is not valid JSON (line {e.lineno}); write an object such as "
                          '{"rthigh": "RightHip"}') from None
    if not isinstance(user, dict) or not all(isinstance(v, str) for v in user.values()):
        raise ImukinError(f"{path.name} must hold one JSON object of segment name -> BVH joint name strings")
    unknown = [k for k in user if k not in SEGMENTS]
    if unknown:
        raise ImukinError(f"{path.name}: unknown segment(s) {', '.join(unknown)}; use {', '.join(SEGMENTS)}")
    out.update(user)
    return out


def _resolve(bvh: BvhData, joint_map: dict[str, str]) -> dict[str, int]:
    """Segment -> joint index; raises one line listing every name not found."""
    names = bvh.names
    exact = {n: k for k, n in enumerate(names)}
    out, missing = {}, []
    for seg in SEGMENTS:
        want = joint_map[seg]
        if want in exact:
            out[seg] = exact[want]
            continue
        cands = [k for k, n in enumerate(names) if n.split(":")[-1].lower() == want.split(":")[-1].lower()]
        if len(cands) == 1:
            out[seg] = cands[0]
        else:
            missing.append(f"{want} ({seg})")
    if missing:
        shown = ", ".join(names[:40]) + (" ..." if len(names) > 40 else "")
        raise ImukinError(f"{bvh.path.name}: no BVH joint {', '.join(missing)}; its joints are {shown}; pass "
                          f"joint_map (--bvh-map FILE.json) mapping imukin segments to this file's joint names, "
                          f'e.g. {{"rthigh": "{names[min(1, len(names) - 1)]}"}}')
    for side in SIDES:  # each segment's joint must lie below the previous one
        chain = [out["pelvis"]] + [out[segment_name(t, side)] for t in ("thigh", "shank", "foot")]
        for up, down in zip(chain[:-1], chain[1:]):
            k = bvh.joints[down].parent
            while k >= 0 and k != up:
                k = bvh.joints[k].parent
            if k != up:
                raise ImukinError(f"{bvh.path.name}: joint {names[down]} does not hang below {names[up]}; "
                                  "fix the segment -> joint names (--bvh-map)")
    return out


# ---------------------------------------------------------------- forward kinematics
def forward_kinematics(bvh: BvhData, rest: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Global joint rotations (T, J, 3, 3) and positions (T, J, 3) in file coordinates and units.

    ``rest=True`` gives the rest pose (all channels zero) as one frame.
    """
    motion = np.zeros((1, bvh.motion.shape[1])) if rest else bvh.motion
    n, nj = motion.shape[0], len(bvh.joints)
    glob = np.empty((n, nj, 3, 3))
    pos = np.empty((n, nj, 3))
    for k, j in enumerate(bvh.joints):
        vals = motion[:, j.first_channel:j.first_channel + len(j.channels)]  # (T, c)
        rot_idx = [c for c, name in enumerate(j.channels) if name.endswith("rotation")]
        if rot_idx:
            seq = "".join(j.channels[c][0] for c in rot_idx)  # upper case: intrinsic, in channel order
            local = Rotation.from_euler(seq, vals[:, rot_idx], degrees=True).as_matrix()  # (T, 3, 3)
        else:
            local = np.broadcast_to(np.eye(3), (n, 3, 3))
        trans = np.broadcast_to(j.offset, (n, 3)).copy()  # (T, 3)
        for c, name in enumerate(j.channels):
            if name.endswith("position"):
                trans[:, _AXES[name[0]]] += vals[:, c]
        if j.parent < 0:
            glob[:, k], pos[:, k] = local, trans
        else:
            glob[:, k] = glob[:, j.parent] @ local
            pos[:, k] = pos[:, j.parent] + np.einsum("nij,nj->ni", glob[:, j.parent], trans)
    return glob, pos


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def bvh_kinematics(bvh: BvhData, cfg: SourceConfig | None = None, joint_map: dict[str, str] | None = None,
                   length_unit_m: float | None = None) -> Kinematics:
    """Lower-limb :class:`Kinematics` of a BVH motion (module docstring).

    Parameters
    ----------
    bvh : BvhData
    cfg : SourceConfig, optional
    joint_map : dict, optional
        Segment -> joint name (default :data:`DEFAULT_JOINT_MAP`).
    length_unit_m : float, optional
        Metres per file length unit; default: scale the rest legs to ``cfg.height_m``.
    """
    cfg = cfg or SourceConfig()
    ids = _resolve(bvh, joint_map or DEFAULT_JOINT_MAP)
    _, rest = forward_kinematics(bvh, rest=True)
    rest = rest[0]  # (J, 3)
    p = {seg: rest[k] for seg, k in ids.items()}
    hips = 0.5 * (p["rthigh"] + p["lthigh"])
    up_raw = hips - 0.5 * (p["rfoot"] + p["lfoot"])
    if np.linalg.norm(up_raw) < 1e-9:
        raise ImukinError(f"{bvh.path.name}: hips and ankles coincide in the rest pose; check the joint names")
    a = int(np.argmax(np.abs(up_raw)))
    up = np.zeros(3)
    up[a] = np.sign(up_raw[a])
    right = p["rthigh"] - p["lthigh"]
    right = right - (right @ up) * up
    if np.linalg.norm(right) < 1e-9:
        raise ImukinError(f"{bvh.path.name}: the two hip joints coincide at rest; check the left/right joint names")
    right = _unit(right)
    body = np.stack([np.cross(up, right), up, right], axis=1)  # (3, 3) columns anterior, up, right (file)
    to_lab = body.T  # file -> lab

    legs = [np.linalg.norm(p[segment_name("thigh", s)] - p[segment_name("shank", s)])
            + np.linalg.norm(p[segment_name("shank", s)] - p[segment_name("foot", s)]) for s in SIDES]
    if length_unit_m is None:
        scale = (THIGH_PER_HEIGHT + SHANK_PER_HEIGHT) * cfg.height_m / float(np.mean(legs))
    else:
        scale = float(length_unit_m)
    if not np.isfinite(scale) or scale <= 0:
        raise ImukinError(f"{bvh.path.name}: cannot scale the skeleton (leg length {np.mean(legs)}); "
                          "give length_unit_m")

    rest_frame = {}  # segment frame at rest, columns in file coordinates
    for seg in SEGMENTS:
        if seg.endswith("thigh") or seg.endswith("shank"):
            child = p[seg.replace("thigh", "shank")] if seg.endswith("thigh") else p[seg.replace("shank", "foot")]
            y = _unit(p[seg] - child)
            x = _unit(body[:, 0] - (body[:, 0] @ y) * y)
            rest_frame[seg] = np.stack([x, y, np.cross(x, y)], axis=1)
        else:
            rest_frame[seg] = body
    glob, pos = forward_kinematics(bvh)  # (T, J, 3, 3), (T, J, 3)
    rot = {seg: to_lab @ glob[:, ids[seg]] @ rest_frame[seg] for seg in SEGMENTS}
    pos_lab = {seg: scale * pos[:, ids[seg]] @ to_lab.T for seg in SEGMENTS if seg != "pelvis"}
    pos_lab["pelvis"] = 0.5 * (pos_lab["rthigh"] + pos_lab["lthigh"])
    mean_len = lambda a, b: float(np.mean([np.linalg.norm(p[segment_name(a, s)] - p[segment_name(b, s)])  # noqa: E731
                                           for s in SIDES])) * scale
    subject = anthropometric_subject(cfg.height_m, None, cfg.mass_kg, thigh_length_m=mean_len("thigh", "shank"),
                                     shank_length_m=mean_len("shank", "foot"),
                                     pelvis_width_m=float(np.linalg.norm(p["rthigh"] - p["lthigh"])) * scale)
    t = np.arange(bvh.motion.shape[0]) * bvh.frame_time_s
    return poses_to_kinematics(t, rot, pos_lab, subject, cfg, where=bvh.path.name)


def bvh_record(path: str | os.PathLike, subject_id: str = "s0000", cfg: SourceConfig | None = None,
               joint_map: dict[str, str] | str | os.PathLike | None = None, index: int = 0,
               length_unit_m: float | None = None) -> SubjectRecord:
    """Simulate one subject's IMUs and joint angles from a BVH file.

    Parameters
    ----------
    path : path-like
        The ``.bvh`` file.
    subject_id : str
        ``s<id>`` group name of the result.
    cfg : SourceConfig, optional
    joint_map : dict or path-like, optional
        Segment -> joint names, or a JSON file of them (merged over :data:`DEFAULT_JOINT_MAP`).
    index : int
        Seeds the sensor-error draws.
    length_unit_m : float, optional
        Metres per file unit (default: from ``cfg.height_m``).
    """
    cfg = cfg or SourceConfig()
    jm = {**DEFAULT_JOINT_MAP, **joint_map} if isinstance(joint_map, dict) else load_joint_map(joint_map)
    bvh = read_bvh(path)
    kin = bvh_kinematics(bvh, cfg, jm, length_unit_m)
    return kinematics_to_record(kin, subject_id, cfg, index, None, attrs=dict(
        source="bvh", source_file=str(bvh.path), source_subject=source_subject_name(bvh.path),
        source_clip=bvh.path.stem, fs_source=bvh.fs))


def iter_bvh_records(paths, cfg: SourceConfig | None = None, joint_map=None,
                     first_index: int = 0) -> Iterator[SubjectRecord]:
    """One record per BVH file (folders searched recursively for ``.bvh``)."""
    jm = {**DEFAULT_JOINT_MAP, **joint_map} if isinstance(joint_map, dict) else load_joint_map(joint_map)
    for k, p in enumerate(expand_paths(paths, (".bvh",))):
        i = first_index + k
        yield bvh_record(p, subject_id(i), cfg, jm, index=i)


# ---------------------------------------------------------------- writer
#: Segment axes (lab x forward, y up, z right) -> the CMU file frame (y up, facing +z, x to the left).
LAB_TO_CMU = np.array([[0.0, 0.0, -1.0],
                       [0.0, 1.0, 0.0],
                       [1.0, 0.0, 0.0]])


def write_bvh(path: str | os.PathLike, kin: Kinematics, fs: float | None = None, rest_leg_abduction_deg: float = 0.0,
              units_per_m: float = 1.0, joint_names: dict[str, str] | None = None) -> Path:
    """Export lower-limb kinematics as a CMU-style BVH file (atomically).

    The skeleton is CMU's lower body (``Hips`` with ``LHipJoint``/``LeftUpLeg``/
    ``LeftLeg``/``LeftFoot``/``LeftToeBase``, the right side likewise, and ``LowerBack``),
    Y up and facing +Z at rest, lengths from ``kin.subject``; every joint has
    ``Zrotation Yrotation Xrotation`` channels (the root also ``X/Y/Zposition``).

    Parameters
    ----------
    path : path-like
        Destination ``.bvh``.
    kin : Kinematics
    fs : float, optional
        Frame rate (default ``kin.fs``; others sampled by quintic splines).
    rest_leg_abduction_deg : float
        Thigh bones point this far outwards in the rest pose (CMU's are about 20 degrees);
        the joint rotations compensate, so the motion is the same.
    units_per_m : float
        File length units per metre (1: metres, 100: centimetres).
    joint_names : dict, optional
        Segment -> joint name, replacing the CMU names of the mapped joints.
    """
    names = {**DEFAULT_JOINT_MAP, **(joint_names or {})}
    t, rot, pos = sample_kinematics(kin, fs)
    fs_out = kin.fs if fs is None else float(fs)
    s = kin.subject
    d = LAB_TO_CMU
    tilt = {side: Rotation.from_rotvec([np.deg2rad(rest_leg_abduction_deg) * (1.0 if side == "left" else -1.0),
                                        0.0, 0.0]).as_matrix() for side in SIDES}
    rest = {seg: d for seg in SEGMENTS}  # segment frame at rest, file coordinates
    for side in SIDES:
        rest[segment_name("thigh", side)] = d @ tilt[side]
    glob = {seg: d @ rot[seg] @ rest[seg].T for seg in SEGMENTS}  # (T, 3, 3) file frame
    u = float(units_per_m)
    fmt = lambda v: " ".join(f"{x:.10g}" for x in v)  # noqa: E731
    lines = ["HIERARCHY", f"ROOT {names['pelvis']}", "{", "\tOFFSET 0 0 0",
             "\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation"]
    chan = "CHANNELS 3 Zrotation Yrotation Xrotation"
    columns = [pos["pelvis"] @ d.T * u, _euler(glob["pelvis"])]
    for side in SIDES:
        zs = 1.0 if side == "right" else -1.0
        th, sh, ft = (segment_name(x, side) for x in ("thigh", "shank", "foot"))
        pre = "Right" if side == "right" else "Left"
        hip = d @ np.array([0.0, 0.0, zs * 0.5 * s.pelvis_width_m]) * u
        knee = rest[th] @ np.array([0.0, -s.thigh_length_m, 0.0]) * u
        ankle = d @ np.array([0.0, -s.shank_length_m, 0.0]) * u
        toe = d @ np.array([0.52 * s.foot_length_m, -0.8 * s.ankle_height_m, 0.0]) * u
        lines += [f"\tJOINT {pre[0]}HipJoint", "\t{", "\t\tOFFSET 0 0 0", f"\t\t{chan}",
                  f"\t\tJOINT {names[th]}", "\t\t{", f"\t\t\tOFFSET {fmt(hip)}", f"\t\t\t{chan}",
                  f"\t\t\tJOINT {names[sh]}", "\t\t\t{", f"\t\t\t\tOFFSET {fmt(knee)}", f"\t\t\t\t{chan}",
                  f"\t\t\t\tJOINT {names[ft]}", "\t\t\t\t{", f"\t\t\t\t\tOFFSET {fmt(ankle)}", f"\t\t\t\t\t{chan}",
                  f"\t\t\t\t\tJOINT {pre}ToeBase", "\t\t\t\t\t{", f"\t\t\t\t\t\tOFFSET {fmt(toe)}",
                  f"\t\t\t\t\t\t{chan}", "\t\t\t\t\t\tEnd Site", "\t\t\t\t\t\t{",
                  f"\t\t\t\t\t\t\tOFFSET {fmt(d @ np.array([0.2 * s.foot_length_m, 0.0, 0.0]) * u)}",
                  "\t\t\t\t\t\t}", "\t\t\t\t\t}", "\t\t\t\t}", "\t\t\t}", "\t\t}", "\t}"]
        zero = np.zeros((len(t), 3))
        columns += [zero, _euler(np.swapaxes(glob["pelvis"], 1, 2) @ glob[th]),
                    _euler(np.swapaxes(glob[th], 1, 2) @ glob[sh]), _euler(np.swapaxes(glob[sh], 1, 2) @ glob[ft]),
                    zero]
    lines += ["\tJOINT LowerBack", "\t{", f"\t\tOFFSET {fmt(d @ np.array([0.0, 0.06 * s.height_m, 0.0]) * u)}",
              f"\t\t{chan}", "\t\tEnd Site", "\t\t{",
              f"\t\t\tOFFSET {fmt(d @ np.array([0.0, 0.25 * s.height_m, 0.0]) * u)}", "\t\t}", "\t}", "}",
              "MOTION", f"Frames: {len(t)}", f"Frame Time: {1.0 / fs_out:.10g}"]
    columns.append(np.zeros((len(t), 3)))
    data = np.concatenate(columns, axis=1)  # (T, C)
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as fh:
            fh.write("\n".join(lines) + "\n")
            np.savetxt(fh, data, fmt="%.10g", delimiter=" ")
    return path


def _euler(r: np.ndarray) -> np.ndarray:
    """(T, 3, 3) -> (T, 3) degrees for ``Zrotation Yrotation Xrotation`` channels."""
    import warnings

    with warnings.catch_warnings():  # gimbal lock only changes how the angles are split, not the rotation
        warnings.simplefilter("ignore", UserWarning)
        return Rotation.from_matrix(r).as_euler("ZYX", degrees=True)
