"""Segment poses from any motion source -> :class:`~imukin.simulation.gait.Kinematics` -> IMUs.

Every reader in :mod:`imukin.sources` (AMASS/SMPL-H, BVH, OpenSim IK) ends in the same
two steps, so all sources give the same HDF5 as the synthetic corpus:

1. :func:`poses_to_kinematics`: the source's segment orientations (columns = imukin
   segment axes, x anterior, y superior, z right, in the lab frame, Y up) and joint
   centres at the source rate become a :class:`Kinematics` at ``fs_internal``:

   * the joint centres are rewritten as constant-in-the-segment offsets (hip centre in
     the pelvis frame, knee centre in the thigh frame, ankle centre in the shank frame;
     constant for any rigid skeleton), so resampling cannot stretch a bone;
   * optionally (``lowpass_hz``, off by default) a zero-phase 4th-order Butterworth
     low-pass at the source rate on the orientation quaternions, the pelvis position and
     the offsets: raw optical motion capture carries millimetre jitter that a double
     derivative turns into tens of m/s^2 of accelerometer noise;
   * the lab is turned about the vertical so that X is the main direction of travel
     (the pelvis displacement from the first to the last frame; when that is under
     :data:`MIN_TRAVEL_M`, as on a treadmill, the mean horizontal direction of the pelvis
     x axis);
   * quintic-spline interpolation (as :func:`imukin.simulation.imu.ideal_imu` uses) of
     the quaternions, the pelvis position and the offsets to ``fs_internal``, then
     forward kinematics and :func:`imukin.conventions.joint_angles`.
2. :func:`kinematics_to_record`: :func:`imukin.simulation.corpus.record_from_kinematics`
   (sensor sites, mounting, soft tissue, electronics), with the subject's metadata and
   provenance attributes (``source``, ``source_file``, ``source_subject``).

Angles therefore always come from the same segment frames that carry the sensors.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.interpolate import make_interp_spline
from scipy.ndimage import uniform_filter1d
from scipy.spatial.transform import Rotation

from imukin.conventions import (
    JOINTS,
    SEGMENTS,
    SIDES,
    joint_angles,
    joint_segments,
    same_rate,
    segment_name,
)
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.rotations import heading_rotation
from imukin.signal import lowpass
from imukin.simulation.body import (
    ANKLE_HEIGHT_PER_HEIGHT,
    FOOT_PER_HEIGHT,
    PELVIS_DEPTH_PER_HEIGHT,
    PELVIS_WIDTH_PER_HEIGHT,
    SHANK_PER_HEIGHT,
    THIGH_PER_HEIGHT,
    SubjectParams,
)
from imukin.simulation.corpus import check_output_rate, record_from_kinematics
from imukin.simulation.gait import Kinematics
from imukin.simulation.sensor_errors import SensorErrorConfig

#: Source frame rates accepted (Hz); anything outside is taken for a unit or header error.
FS_SOURCE_RANGE_HZ = (10.0, 10000.0)
#: Shortest motion (s) turned into a subject.
MIN_DURATION_S = 0.5
#: Below this net pelvis travel (m) the heading comes from the pelvis orientation instead.
MIN_TRAVEL_M = 0.5
#: Default body height (m) when a source gives no segment lengths.
DEFAULT_HEIGHT_M = 1.75
#: Window (s) of the moving average of the pelvis velocity that gives ``Kinematics.speed``.
SPEED_WINDOW_S = 1.0
#: Relative jitter of the sample interval accepted as a uniform rate.
UNIFORM_RTOL = 0.01
#: Parent segment of each leg segment (its origin is a joint centre fixed in the parent).
PARENT = {segment_name(t, s): segment_name(p, s) for s in SIDES
          for t, p in (("thigh", "pelvis"), ("shank", "thigh"), ("foot", "shank"))}
#: Order in which forward kinematics visits the segments (parents first).
_FK_ORDER = tuple(segment_name(t, s) for t in ("thigh", "shank", "foot") for s in SIDES)


@dataclass
class SourceConfig:
    """How a motion file becomes a subject. Every field has a default."""

    fs: float = 200.0  # Hz, output rate of IMU signals and angles (the reference layout's 200 Hz)
    fs_internal: float = 1000.0  # Hz, poses are interpolated to this rate for the IMU physics
    #   (sources at or above it are used at their own rate)
    height_m: float = DEFAULT_HEIGHT_M  # body height for the anthropometric skeleton and sensor sites
    mass_kg: float | None = None  # stored in meta; None = unknown (-1)
    lowpass_hz: float | None = None  # zero-phase low-pass of the poses at the source rate (None: off,
    #   for fitted motion such as AMASS or OpenSim IK); 15-20 Hz for raw, jittery captures, whose
    #   millimetre noise a double derivative turns into accelerometer noise. It also removes real
    #   content: 15 Hz changes simulated foot accelerations by ~20 % RMS in walking, ~40 % in running
    align_heading: bool = True  # turn the lab about Y so that X is the main direction of travel
    activity: str = "unknown"  # stored as the subject's activity attribute
    errors: SensorErrorConfig = field(default_factory=SensorErrorConfig)  # sensor error model
    seed: int = 0  # sensor error draws of subject i use default_rng([seed, i])

    def __post_init__(self) -> None:
        check_output_rate(self.fs)
        if not 50.0 <= float(self.fs_internal) <= 10000.0:
            raise ImukinError(f"fs_internal {self.fs_internal} Hz is outside 50-10000 Hz")
        if not 0.5 <= float(self.height_m) <= 2.5:
            raise ImukinError(f"height_m {self.height_m} m (--height-m) is outside 0.5-2.5 m; "
                              "give the height in metres")
        if self.mass_kg is not None and not 2.0 <= float(self.mass_kg) <= 400.0:
            raise ImukinError(f"body mass {self.mass_kg} kg is outside 2-400 kg")
        if self.lowpass_hz is not None and not float(self.lowpass_hz) > 0:
            raise ImukinError(f"lowpass_hz must be positive or None, got {self.lowpass_hz}")


# ---------------------------------------------------------------- subject
def anthropometric_subject(height_m: float = DEFAULT_HEIGHT_M, sex: str | None = None, mass_kg: float | None = None,
                           **lengths_m) -> SubjectParams:
    """A subject with the average body proportions of :mod:`imukin.simulation.body`.

    Parameters
    ----------
    height_m : float
        Standing height; every length not given is its Winter (2009) proportion of it.
    sex : {"female", "male"}, optional
        Unknown (None) is stored as ``"male"`` in the parameters; :func:`kinematics_to_record`
        writes -1 (unknown) into the record's meta.
    mass_kg : float, optional
        Unknown (None) is stored as 70 kg in the parameters (it affects nothing simulated).
    **lengths_m
        Overrides of :class:`SubjectParams` length fields (``thigh_length_m``, ...).

    Returns
    -------
    SubjectParams
        Thigh and shank radii scale with height like the mean of
        :func:`~imukin.simulation.body.draw_subject`.
    """
    h = float(height_m)
    params = dict(
        sex=sex or "male", height_m=h, mass_kg=float(mass_kg) if mass_kg else 70.0,
        thigh_length_m=THIGH_PER_HEIGHT * h, shank_length_m=SHANK_PER_HEIGHT * h,
        foot_length_m=FOOT_PER_HEIGHT * h, ankle_height_m=ANKLE_HEIGHT_PER_HEIGHT * h,
        pelvis_width_m=PELVIS_WIDTH_PER_HEIGHT * h, pelvis_depth_m=PELVIS_DEPTH_PER_HEIGHT * h,
        thigh_radius_m=0.075 * h / 1.72, shank_radius_m=0.05 * h / 1.72,
    )
    params.update({k: float(v) for k, v in lengths_m.items()})
    return SubjectParams(**params)


# ---------------------------------------------------------------- checks
def check_source_rate(fs: float, where: str) -> float:
    """Return ``fs`` as a float, or raise when it is not a plausible motion-capture rate."""
    fs = float(fs)
    lo, hi = FS_SOURCE_RANGE_HZ
    if not (math.isfinite(fs) and lo <= fs <= hi):
        raise ImukinError(f"{where}: frame rate {fs:g} Hz is outside {lo:g}-{hi:g} Hz; fix the file's frame rate "
                          "(or its frame time) field")
    return fs


def uniform_rate(t: np.ndarray, where: str) -> float:
    """Sampling rate of strictly increasing, evenly spaced times (1 % jitter allowed)."""
    t = np.asarray(t, float)
    if t.ndim != 1 or len(t) < 2 or not np.all(np.isfinite(t)):
        raise ImukinError(f"{where}: needs at least two finite time stamps")
    dt = np.diff(t)
    if np.any(dt <= 0):
        k = int(np.flatnonzero(dt <= 0)[0])
        raise ImukinError(f"{where}: time does not increase at row {k + 1}; sort the rows or remove duplicates")
    med = float(np.median(dt))
    if np.max(np.abs(dt - med)) > UNIFORM_RTOL * med:
        raise ImukinError(f"{where}: samples are not evenly spaced (intervals {dt.min():.6g}-{dt.max():.6g} s); "
                          "resample the motion to a constant rate first")
    return check_source_rate(1.0 / med, where)


def continuous_quat(rot: np.ndarray) -> np.ndarray:
    """Rotation matrices (N, 3, 3) -> quaternions (N, 4), signs flipped so neighbours agree."""
    q = Rotation.from_matrix(rot).as_quat()  # (N, 4)
    flip = np.cumsum(np.concatenate([[0], np.sum(q[1:] * q[:-1], axis=1) < 0])) % 2  # (N,)
    return np.where(flip[:, None] == 1, -q, q)


# ---------------------------------------------------------------- poses -> Kinematics
def travel_heading_rotation(pelvis_pos: np.ndarray, pelvis_rot: np.ndarray) -> np.ndarray:
    """Rotation (3, 3) about lab Y that turns the main direction of travel onto +X.

    The direction is the horizontal pelvis displacement from the first to the last frame;
    when it is shorter than :data:`MIN_TRAVEL_M` (treadmill, turning on the spot), the
    mean horizontal direction of the pelvis x (anterior) axis.
    """
    d = pelvis_pos[-1] - pelvis_pos[0]  # (3,)
    d = np.array([d[0], 0.0, d[2]])
    if np.linalg.norm(d) < MIN_TRAVEL_M:
        fwd = pelvis_rot[:, :, 0].mean(axis=0)  # (3,) mean anterior axis
        d = np.array([fwd[0], 0.0, fwd[2]])
    if np.linalg.norm(d) < 1e-9:
        return np.eye(3)
    psi = math.atan2(-d[2], d[0])  # heading of d about +Y (X towards -Z is positive)
    return heading_rotation(-psi)


def poses_to_kinematics(t: np.ndarray, rot: dict[str, np.ndarray], pos: dict[str, np.ndarray],
                        subject: SubjectParams, cfg: SourceConfig | None = None, where: str = "motion") -> Kinematics:
    """Kinematics at the internal rate from segment orientations and joint centres.

    Parameters
    ----------
    t : ndarray, shape (N,)
        Evenly spaced times in seconds (the first becomes the start).
    rot : dict of str -> ndarray, shape (N, 3, 3)
        Every segment of :data:`imukin.conventions.SEGMENTS`: columns = segment axes
        (x anterior, y superior, z right) in a Y-up lab frame.
    pos : dict of str -> ndarray, shape (N, 3)
        Every segment's origin in metres, as in :class:`Kinematics`: pelvis = midpoint of
        the hip centres, thigh = hip centre, shank = knee centre, foot = ankle centre.
    subject : SubjectParams
        Body size used for the sensor sites (and stored in the result).
    cfg : SourceConfig, optional
        Rates, low-pass and heading alignment.
    where : str
        Name of the source, for error messages.

    Returns
    -------
    Kinematics
        ``heel_strikes`` are empty (events are not detected); ``speed`` is the magnitude of
        the horizontal pelvis velocity averaged over :data:`SPEED_WINDOW_S` (sway cancels).
    """
    cfg = cfg or SourceConfig()
    fs_src = uniform_rate(t, where)
    n = len(t)
    if (n - 1) / fs_src < MIN_DURATION_S:
        raise ImukinError(f"{where}: {(n - 1) / fs_src:.2f} s of motion; at least {MIN_DURATION_S} s is needed")
    missing = [s for s in SEGMENTS if s not in rot or s not in pos]
    if missing:
        raise ImukinError(f"{where}: no pose for segment(s) {', '.join(missing)}")
    for seg in SEGMENTS:
        r, p = np.asarray(rot[seg], float), np.asarray(pos[seg], float)
        if r.shape != (n, 3, 3) or p.shape != (n, 3):
            raise ImukinError(f"{where}: {seg} pose has shapes {r.shape}, {p.shape}; expected {(n, 3, 3)}, {(n, 3)}")
        bad = ~(np.all(np.isfinite(r), axis=(1, 2)) & np.all(np.isfinite(p), axis=1))
        if bad.any():
            k = np.flatnonzero(bad)
            raise ImukinError(f"{where}: {seg} has NaN or inf in frames {k[0]}-{k[-1]}; fill or cut those frames")
    rot = {s: np.asarray(rot[s], float) for s in SEGMENTS}
    pos = {s: np.asarray(pos[s], float) for s in SEGMENTS}

    offsets = {seg: np.einsum("nji,nj->ni", rot[PARENT[seg]], pos[seg] - pos[PARENT[seg]])  # R_parent^T d
               for seg in _FK_ORDER}  # (N, 3) each, in the parent segment frame
    h = travel_heading_rotation(pos["pelvis"], rot["pelvis"]) if cfg.align_heading else np.eye(3)
    rot = {s: h @ r for s, r in rot.items()}  # (N, 3, 3) each, lab turned about Y
    pelvis = pos["pelvis"] @ h.T  # (N, 3)
    pelvis = pelvis - pelvis[0] * np.array([1.0, 0.0, 1.0])  # start above the origin

    # one (N, 4 * 7 + 3 + 3 * 6) block: quaternions, pelvis position, offsets
    quats = [continuous_quat(rot[s]) for s in SEGMENTS]
    block = np.concatenate(quats + [pelvis] + [offsets[s] for s in _FK_ORDER], axis=1)
    block = lowpass(block, fs_src, cfg.lowpass_hz)
    t_src = np.arange(n) / fs_src  # evenly spaced (rounding jitter of text files removed)
    if fs_src < cfg.fs_internal * (1.0 - 1e-9):
        fs = float(cfg.fs_internal)
        t_int = np.arange(int(math.floor(t_src[-1] * fs + 1e-9)) + 1) / fs  # (M,)
        block = make_interp_spline(t_src, block, k=5)(t_int)  # (M, C)
    else:
        fs, t_int = fs_src, t_src

    nq = 4 * len(SEGMENTS)
    rot_i = {s: Rotation.from_quat(block[:, 4 * k:4 * k + 4]).as_matrix() for k, s in enumerate(SEGMENTS)}
    pos_i = {"pelvis": block[:, nq:nq + 3]}
    for k, seg in enumerate(_FK_ORDER):  # forward kinematics, parents first
        off = block[:, nq + 3 + 3 * k:nq + 6 + 3 * k]  # (M, 3)
        par = PARENT[seg]
        pos_i[seg] = pos_i[par] + np.einsum("nij,nj->ni", rot_i[par], off)
    angles = {}
    for jn in JOINTS:
        side = "right" if jn[0] == "r" else "left"
        prox, dist = joint_segments(jn[1:], side)
        angles[jn] = joint_angles(rot_i[prox], rot_i[dist], jn[1:], side)  # (M, 3)
    vel = np.gradient(pos_i["pelvis"][:, [0, 2]], 1.0 / fs, axis=0)  # (M, 2) horizontal
    win = max(1, min(len(t_int), int(round(SPEED_WINDOW_S * fs))))
    speed = np.linalg.norm(uniform_filter1d(vel, win, axis=0, mode="nearest"), axis=1)  # (M,) sway averaged out
    return Kinematics(t=t_int, fs=fs, rot=rot_i, pos=pos_i, angles=angles, speed=speed,
                      heel_strikes={s: np.zeros(0) for s in SIDES}, subject=subject)


# ---------------------------------------------------------------- Kinematics -> record
def kinematics_to_record(kin: Kinematics, subject_id: str, cfg: SourceConfig, index: int = 0,
                         sex: str | None = None, attrs: dict | None = None) -> SubjectRecord:
    """Simulate the seven IMUs of a source subject (see :func:`record_from_kinematics`).

    Parameters
    ----------
    kin : Kinematics
    subject_id : str
        ``s<id>`` group name.
    cfg : SourceConfig
        Output rate, sensor errors, seed, mass, activity.
    index : int
        Subject index: sensor errors are drawn from ``default_rng([cfg.seed, index])``.
    sex : {"female", "male"} or None
        None writes -1 (unknown) into ``meta``.
    attrs : dict, optional
        Provenance added to the record's attributes.
    """
    rng = np.random.default_rng([cfg.seed, index])
    rec = record_from_kinematics(kin, subject_id, cfg.fs, cfg.errors, rng)
    sex_code = {"male": 1.0, "female": 0.0}.get(sex or "", -1.0)
    rec.meta = np.array([sex_code, 100.0 * kin.subject.height_m, float(cfg.mass_kg) if cfg.mass_kg else -1.0,
                         float(np.mean(kin.speed))])
    rec.attrs.update(activity=cfg.activity, subject_index=int(index), speed_mean_m_s=float(np.mean(kin.speed)),
                     fs_internal=float(kin.fs), lowpass_hz=float(cfg.lowpass_hz) if cfg.lowpass_hz else 0.0)
    rec.attrs.update(attrs or {})
    return rec


def sample_kinematics(kin: Kinematics, fs: float | None = None) -> tuple[np.ndarray, dict, dict]:
    """Segment orientations and origins of ``kin`` at another rate (for the file writers).

    Quintic splines through the positions and the sign-continuous quaternions (exact at
    ``kin``'s own samples). Returns ``(t (M,), rot {seg: (M,3,3)}, pos {seg: (M,3)})``.
    """
    if fs is None or same_rate(float(fs), kin.fs):
        return kin.t.copy(), {s: kin.rot[s].copy() for s in SEGMENTS}, {s: kin.pos[s].copy() for s in SEGMENTS}
    fs = check_source_rate(fs, "export")
    t0 = kin.t[0]
    t = t0 + np.arange(int(math.floor((kin.t[-1] - t0) * fs + 1e-9)) + 1) / fs  # (M,)
    rot, pos = {}, {}
    for s in SEGMENTS:
        sp = make_interp_spline(kin.t, np.concatenate([continuous_quat(kin.rot[s]), kin.pos[s]], axis=1), k=5)
        v = sp(t)  # (M, 7)
        rot[s] = Rotation.from_quat(v[:, :4]).as_matrix()
        pos[s] = v[:, 4:]
    return t, rot, pos


# ---------------------------------------------------------------- files
def expand_paths(paths, suffixes: tuple[str, ...], skip_names: tuple[str, ...] = ()) -> list[Path]:
    """Files given directly, plus files with one of ``suffixes`` found recursively in folders (sorted).

    Raises
    ------
    ImukinError
        A path that does not exist, or nothing found.
    """
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in suffixes
                           and f.name.lower() not in skip_names)
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise ImukinError(f"{p} does not exist; pass motion files or folders that hold them")
    if not out:
        raise ImukinError(f"no {'/'.join(suffixes)} files in {', '.join(str(p) for p in paths)}")
    return out


def source_subject_name(path: str | os.PathLike) -> str:
    """Original subject id of a motion file: its folder's name (AMASS/CMU layout ``SUBJECT/clip``)."""
    return Path(path).resolve().parent.name
