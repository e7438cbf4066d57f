"""AMASS / SMPL-H motion files (``.npz``) -> lower-limb kinematics -> simulated IMUs.

File contents used
------------------
``poses``
    (T, 3 K) axis-angle rotations (radians) of the K joints of the SMPL kinematic tree,
    each relative to its parent, the global (root) orientation first. SMPL (K = 24),
    SMPL-H (K = 52, AMASS's ``poses`` (T, 156)) and SMPL-X (K = 55) share the first 22
    body joints; only pelvis 0, hips 1 (left) / 2 (right), knees 4 / 5 and ankles 7 / 8
    are used (the foot joints 10 / 11 only move the toes).
``trans``
    (T, 3) root translation in metres.
``mocap_framerate`` or ``mocap_frame_rate``
    Frames per second.
``gender``, ``betas``
    Optional: sex for the metadata; shape coefficients for a body model (below).

Frames
------
AMASS world coordinates are Z up. :data:`AMASS_TO_LAB` turns them into a Y-up lab
(x stays, z becomes y, y becomes -z); the lab is then turned about Y so that X is the
main direction of travel (:mod:`imukin.sources.motion`).

SMPL joint frames at rest (all pose parameters zero) are aligned with the body: x to the
body's left, y up, z forward. imukin segment frames are x anterior, y superior, z right,
so every segment's orientation is ``R_segment = AMASS_TO_LAB @ G_joint @ SMPL_TO_SEGMENT``
with ``G_joint`` the joint's global rotation (product of the local rotations from the
root) and the constant :data:`SMPL_TO_SEGMENT` (a quarter turn about y: segment x = SMPL z,
y = y, z = -x). The SMPL zero pose is therefore imukin's neutral standing pose (all joint
angles zero). In SMPL's template the legs stand a few degrees apart in that pose, so
hip adduction and knee varus of AMASS motions are relative to that slightly abducted rest.

Joint positions
---------------
By default an anthropometric skeleton scaled by height (``SourceConfig.height_m``,
1.75 m unless given: without the body model the height cannot be computed from
``betas``): hip centres ``pelvis_width / 2`` to either side of the pelvis origin, knee
``thigh_length`` and ankle ``shank_length`` down the segment's y axis (proportions of
:mod:`imukin.simulation.body`). The SMPL root joint sits :data:`ROOT_ABOVE_HIPS_PER_HEIGHT`
of the height above the midpoint of the hip centres (about 9 cm in the SMPL template).

With a body-model file (``--body-model``; an ``.npz`` read with ``allow_pickle=False``,
so it can hold arrays only), joint positions come from its rest joints: either ``J``
(K, 3), or ``J_regressor`` (K, V), ``v_template`` (V, 3) and ``shapedirs`` (V, 3, B)
evaluated at the file's ``betas`` (``J = J_regressor @ (v_template + shapedirs @ betas)``).
Each joint's offset from its parent, in the parent's rest frame, is then constant:
``p_child = p_parent + G_parent @ (J_child - J_parent)`` (SMPL's forward kinematics), and
the root joint is at ``trans + J_root``. Segment lengths for the sensor sites are the
model's; the height is the vertical extent of the shaped template when it is given.
"""
from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from imukin.conventions import SIDES, segment_name, subject_id
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path
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

#: SMPL joint indices of the lower limbs.
SMPL_JOINTS = {"pelvis": 0, "left_hip": 1, "right_hip": 2, "left_knee": 4, "right_knee": 5,
               "left_ankle": 7, "right_ankle": 8, "left_foot": 10, "right_foot": 11}
#: Parent of each of the first 12 SMPL joints (-1: root).
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8)
#: imukin segment -> the SMPL joint whose rotation moves it.
SEGMENT_JOINT = {"pelvis": 0, "lthigh": 1, "rthigh": 2, "lshank": 4, "rshank": 5, "lfoot": 7, "rfoot": 8}
#: Columns: imukin segment axes (x anterior, y superior, z right) in SMPL joint coordinates
#: (x left, y up, z forward) at rest.
SMPL_TO_SEGMENT = np.array([[0.0, 0.0, -1.0],
                            [0.0, 1.0, 0.0],
                            [1.0, 0.0, 0.0]])
#: AMASS world (Z up) -> imukin lab (Y up): x -> X, y -> -Z, z -> Y.
AMASS_TO_LAB = np.array([[1.0, 0.0, 0.0],
                         [0.0, 0.0, 1.0],
                         [0.0, -1.0, 0.0]])
#: SMPL root joint above the midpoint of the hip centres, per unit height (anthropometric skeleton).
ROOT_ABOVE_HIPS_PER_HEIGHT = 0.053
#: Joints of a body-model ``J`` that must exist.
_N_JOINTS_NEEDED = 9
#: Per-subject shape files of the AMASS folder layout (betas and gender, no motion).
SKIP_NAMES = ("shape.npz",)
_RATE_KEYS = ("mocap_framerate", "mocap_frame_rate")


@dataclass
class Skeleton:
    """Constant joint offsets of the lower-limb chain.

    Attributes
    ----------
    root_to_pelvis : ndarray, shape (3,)
        Midpoint of the hip centres relative to the SMPL root joint, pelvis segment frame (m).
    hip : dict of str -> ndarray, shape (3,)
        Per side, the hip centre relative to the pelvis origin, pelvis segment frame.
    knee, ankle : dict of str -> ndarray, shape (3,)
        Per side, knee centre from the hip centre in the thigh frame, ankle centre from
        the knee centre in the shank frame.
    root_rest : ndarray, shape (3,)
        SMPL root joint of the rest pose (added to ``trans``), SMPL coordinates; zero for
        the anthropometric skeleton.
    height_m : float
        Body height (m) the skeleton stands for.
    """

    root_to_pelvis: np.ndarray
    hip: dict
    knee: dict
    ankle: dict
    root_rest: np.ndarray
    height_m: float

    def subject(self, sex: str | None, mass_kg: float | None):
        """The SubjectParams of this skeleton (lengths for the sensor sites)."""
        mean = lambda d: float(np.mean([np.linalg.norm(d[s]) for s in SIDES]))  # noqa: E731
        return anthropometric_subject(self.height_m, sex, mass_kg, thigh_length_m=mean(self.knee),
                                      shank_length_m=mean(self.ankle),
                                      pelvis_width_m=float(np.linalg.norm(self.hip["right"] - self.hip["left"])))


def anthropometric_skeleton(height_m: float) -> Skeleton:
    """Skeleton from body height with the proportions of :mod:`imukin.simulation.body`."""
    p = anthropometric_subject(height_m)
    return Skeleton(
        root_to_pelvis=np.array([0.0, -ROOT_ABOVE_HIPS_PER_HEIGHT * height_m, 0.0]),
        hip={s: np.array([0.0, 0.0, 0.5 * p.pelvis_width_m * (1.0 if s == "right" else -1.0)]) for s in SIDES},
        knee={s: np.array([0.0, -p.thigh_length_m, 0.0]) for s in SIDES},
        ankle={s: np.array([0.0, -p.shank_length_m, 0.0]) for s in SIDES},
        root_rest=np.zeros(3), height_m=float(height_m))


def _npz(path: Path, what: str):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ImukinError(f"{path} is not a readable .npz {what} ({e.__class__.__name__}); "
                          f"pass a NumPy .npz archive") from None


def _array(f, key: str, path: Path) -> np.ndarray:
    try:
        return np.asarray(f[key])
    except ValueError:  # object arrays need pickle, which is never used
        raise ImukinError(f"{path}: array {key!r} is stored as Python objects, which imukin does not unpickle; "
                          f"save it as a plain numeric array") from None


def load_body_model(path: str | os.PathLike, betas: np.ndarray | None = None) -> tuple[np.ndarray, float | None]:
    """Rest joint positions of a body model, shape (K, 3) SMPL coordinates, and its height (m) if known.

    Parameters
    ----------
    path : path-like
        ``.npz`` with ``J``, or ``J_regressor`` + ``v_template`` (+ ``shapedirs``).
    betas : ndarray, optional
        Shape coefficients (the motion file's); the first ``min(len(betas), B)`` are used.
    """
    path = Path(path)
    if not path.is_file():
        raise ImukinError(f"body model {path} does not exist; check the path")
    with _npz(path, "body model") as f:
        keys = set(f.files)
        verts = None
        if "J_regressor" in keys and "v_template" in keys:
            verts = _array(f, "v_template", path).astype(float)  # (V, 3)
            if "shapedirs" in keys and betas is not None and len(betas):
                sd = _array(f, "shapedirs", path).astype(float)  # (V, 3, B)
                nb = min(sd.shape[-1], len(betas))
                verts = verts + sd[..., :nb] @ np.asarray(betas, float)[:nb]
            reg = _array(f, "J_regressor", path).astype(float)  # (K, V)
            if reg.ndim != 2 or reg.shape[1] != verts.shape[0]:
                raise ImukinError(f"{path}: J_regressor {reg.shape} does not fit v_template {verts.shape}")
            joints = reg @ verts  # (K, 3)
        elif "J" in keys:
            joints = _array(f, "J", path).astype(float)
        else:
            raise ImukinError(f"{path}: body model needs 'J' or 'J_regressor' + 'v_template' (+ 'shapedirs'); "
                              f"it has {', '.join(sorted(keys)) or 'no arrays'}")
    if (joints.ndim != 2 or joints.shape[1] != 3 or joints.shape[0] < _N_JOINTS_NEEDED
            or not np.all(np.isfinite(joints))):
        raise ImukinError(f"{path}: rest joints must be a finite (K, 3) array with K >= {_N_JOINTS_NEEDED}, "
                          f"got {joints.shape}")
    height = float(np.ptp(verts[:, 1])) if verts is not None else None
    return joints, height


def body_model_skeleton(joints: np.ndarray, height_m: float) -> Skeleton:
    """Skeleton from SMPL rest joints (K, 3): offsets ``J_child - J_parent`` in segment coordinates."""
    c_t = SMPL_TO_SEGMENT.T  # SMPL coordinates -> segment coordinates at rest
    j = np.asarray(joints, float)
    mid = 0.5 * (j[1] + j[2])
    ids = {"left": (1, 4, 7), "right": (2, 5, 8)}
    return Skeleton(
        root_to_pelvis=c_t @ (mid - j[0]),
        hip={s: c_t @ (j[ids[s][0]] - mid) for s in SIDES},
        knee={s: c_t @ (j[ids[s][1]] - j[ids[s][0]]) for s in SIDES},
        ankle={s: c_t @ (j[ids[s][2]] - j[ids[s][1]]) for s in SIDES},
        root_rest=j[0].copy(), height_m=float(height_m))


@dataclass
class AmassMotion:
    """The parts of an AMASS file imukin uses."""

    poses: np.ndarray  # (T, 3K) axis-angle, radians
    trans: np.ndarray  # (T, 3) m, AMASS world (Z up)
    fs: float  # Hz
    betas: np.ndarray  # (B,) shape coefficients (may be empty)
    sex: str | None  # "female", "male" or None (neutral / unknown)
    path: Path


def read_amass(path: str | os.PathLike) -> AmassMotion:
    """Read and check an AMASS/SMPL-H motion ``.npz`` (never unpickles).

    Raises
    ------
    ImukinError
        Missing file or arrays (named), wrong shapes, non-finite values, absurd frame rate.
    """
    path = Path(path)
    if not path.is_file():
        raise ImukinError(f"AMASS file {path} does not exist; check the path")
    with _npz(path, "AMASS motion file") as f:
        keys = set(f.files)
        missing = [k for k in ("poses", "trans") if k not in keys]
        if not keys & set(_RATE_KEYS):
            missing.append("mocap_framerate (or mocap_frame_rate)")
        if missing:
            have = ", ".join(sorted(keys)) or "nothing"
            raise ImukinError(f"{path.name} lacks {', '.join(missing)} (it has {have}); "
                              "pass an AMASS/SMPL-H motion file (AMASS folders also hold shape.npz files, "
                              "which have no motion)")
        poses = _array(f, "poses", path).astype(float)
        trans = _array(f, "trans", path).astype(float)
        fs = float(np.asarray(_array(f, next(k for k in _RATE_KEYS if k in keys), path)).reshape(-1)[0])
        betas = _array(f, "betas", path).astype(float).reshape(-1) if "betas" in keys else np.zeros(0)
        sex = None
        if "gender" in keys:
            try:
                g = np.asarray(f["gender"]).reshape(-1)[0]
                g = (g.decode() if isinstance(g, bytes) else str(g)).strip().lower()
                sex = g if g in ("female", "male") else None
            except (ValueError, IndexError):
                sex = None
    if poses.ndim != 2 or poses.shape[1] % 3 or poses.shape[1] < 3 * _N_JOINTS_NEEDED:
        raise ImukinError(f"{path.name}: poses has shape {poses.shape}; expected (T, 3K) axis-angle with K >= "
                          f"{_N_JOINTS_NEEDED} joints (SMPL-H: (T, 156))")
    if trans.shape != (poses.shape[0], 3):
        raise ImukinError(f"{path.name}: trans has shape {trans.shape}, expected ({poses.shape[0]}, 3) like poses")
    fs = check_source_rate(fs, path.name)
    used = np.concatenate([poses[:, 3 * j:3 * j + 3] for j in SEGMENT_JOINT.values()] + [trans], axis=1)
    if not np.all(np.isfinite(used)):
        k = np.flatnonzero(~np.all(np.isfinite(used), axis=1))
        raise ImukinError(f"{path.name}: NaN or inf in frames {k[0]}-{k[-1]}; cut those frames")
    return AmassMotion(poses=poses, trans=trans, fs=fs, betas=betas, sex=sex, path=path)


def _global_rotations(poses: np.ndarray) -> dict[int, np.ndarray]:
    """Global rotations (T, 3, 3) of SMPL joints 0..8 (SMPL coordinates -> AMASS world)."""
    glob: dict[int, np.ndarray] = {}
    for j in range(9):
        local = Rotation.from_rotvec(poses[:, 3 * j:3 * j + 3]).as_matrix()  # (T, 3, 3)
        par = SMPL_PARENTS[j]
        glob[j] = local if par < 0 else glob[par] @ local
    return glob


def amass_kinematics(motion: AmassMotion, cfg: SourceConfig | None = None,
                     body_model: str | os.PathLike | None = None) -> Kinematics:
    """Lower-limb :class:`Kinematics` of an AMASS motion (module docstring)."""
    cfg = cfg or SourceConfig()
    if body_model is not None:
        joints, h = load_body_model(body_model, motion.betas)
        skel = body_model_skeleton(joints, h or cfg.height_m)
    else:
        skel = anthropometric_skeleton(cfg.height_m)
    glob = _global_rotations(motion.poses)
    rot = {seg: AMASS_TO_LAB @ glob[j] @ SMPL_TO_SEGMENT for seg, j in SEGMENT_JOINT.items()}  # (T, 3, 3)
    root = (motion.trans + skel.root_rest) @ AMASS_TO_LAB.T  # (T, 3) lab
    pos = {"pelvis": root + rot["pelvis"] @ skel.root_to_pelvis}
    for s in SIDES:
        th, sh, ft = (segment_name(x, s) for x in ("thigh", "shank", "foot"))
        pos[th] = pos["pelvis"] + rot["pelvis"] @ skel.hip[s]
        pos[sh] = pos[th] + rot[th] @ skel.knee[s]
        pos[ft] = pos[sh] + rot[sh] @ skel.ankle[s]
    t = np.arange(motion.poses.shape[0]) / motion.fs
    return poses_to_kinematics(t, rot, pos, skel.subject(motion.sex, cfg.mass_kg), cfg, where=motion.path.name)


def amass_record(path: str | os.PathLike, subject_id: str = "s0000", cfg: SourceConfig | None = None,
                 body_model: str | os.PathLike | None = None, index: int = 0) -> SubjectRecord:
    """Simulate one subject's IMUs and joint angles from an AMASS ``.npz`` file.

    Parameters
    ----------
    path : path-like
        AMASS/SMPL-H motion file.
    subject_id : str
        ``s<id>`` group name of the result.
    cfg : SourceConfig, optional
        Output rate, height, sensor errors, ...
    body_model : path-like, optional
        Body-model ``.npz`` for the joint positions (module docstring).
    index : int
        Seeds the sensor-error draws (``default_rng([cfg.seed, index])``).
    """
    cfg = cfg or SourceConfig()
    motion = read_amass(path)
    kin = amass_kinematics(motion, cfg, body_model)
    return kinematics_to_record(kin, subject_id, cfg, index, motion.sex, attrs=dict(
        source="amass", source_file=str(motion.path), source_subject=source_subject_name(motion.path),
        source_clip=motion.path.stem, fs_source=motion.fs,
        body_model=str(body_model) if body_model is not None else "anthropometric"))


def iter_amass_records(paths, cfg: SourceConfig | None = None, body_model=None,
                       first_index: int = 0) -> Iterator[SubjectRecord]:
    """One record per AMASS motion file (folders searched recursively, ``shape.npz`` skipped)."""
    for k, p in enumerate(expand_paths(paths, (".npz",), SKIP_NAMES)):
        i = first_index + k
        yield amass_record(p, subject_id(i), cfg, body_model, index=i)


# ---------------------------------------------------------------- writer
def write_amass_npz(path: str | os.PathLike, kin: Kinematics, fs: float | None = None,
                    body_model: str | os.PathLike | None = None, n_joints: int = 52) -> Path:
    """Export lower-limb kinematics as an AMASS-style SMPL-H ``.npz`` (atomically).

    The inverse of :func:`amass_kinematics`: global orientation and local axis-angle
    rotations of hips, knees and ankles (all other joints zero), ``trans`` such that the
    reader's skeleton (anthropometric from ``kin.subject.height_m``, or ``body_model``)
    puts the pelvis where ``kin`` has it, in AMASS's Z-up world.

    Parameters
    ----------
    path : path-like
        Destination ``.npz``.
    kin : Kinematics
    fs : float, optional
        Frame rate of the file (default ``kin.fs``); other rates are sampled by quintic splines.
    body_model : path-like, optional
        Body model whose root joint and pelvis offset ``trans`` refers to.
    n_joints : int
        Joints in ``poses`` (52: SMPL-H, (T, 156)).
    """
    if n_joints < _N_JOINTS_NEEDED:
        raise ImukinError(f"n_joints must be at least {_N_JOINTS_NEEDED}, got {n_joints}")
    t, rot, pos = sample_kinematics(kin, fs)
    fs_out = kin.fs if fs is None else float(fs)
    if body_model is not None:
        joints, h = load_body_model(body_model)
        skel = body_model_skeleton(joints, h or kin.subject.height_m)
    else:
        skel = anthropometric_skeleton(kin.subject.height_m)
    glob = {j: AMASS_TO_LAB.T @ rot[seg] @ SMPL_TO_SEGMENT.T for seg, j in SEGMENT_JOINT.items()}  # (T, 3, 3)
    poses = np.zeros((len(t), 3 * n_joints))
    for j in SEGMENT_JOINT.values():
        par = SMPL_PARENTS[j]
        local = glob[j] if par < 0 else np.swapaxes(glob[par], 1, 2) @ glob[j]
        poses[:, 3 * j:3 * j + 3] = Rotation.from_matrix(local).as_rotvec()
    root_lab = pos["pelvis"] - rot["pelvis"] @ skel.root_to_pelvis  # (T, 3)
    trans = root_lab @ AMASS_TO_LAB - skel.root_rest  # lab -> AMASS world is AMASS_TO_LAB^T
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, poses=poses, trans=trans, betas=np.zeros(16), gender=np.array(kin.subject.sex),
                     mocap_framerate=np.array(fs_out), dmpls=np.zeros((len(t), 8)))
    return path
