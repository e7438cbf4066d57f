"""The synthetic corpus: simulated subjects -> gait kinematics -> sensor poses -> IMU signals.

For each subject (its own random stream ``default_rng([seed, index])``, so any subject
can be regenerated alone and the corpus is identical however many workers build it):

1. :func:`~imukin.simulation.body.draw_subject` draws body size and gait style;
2. :func:`~imukin.simulation.gait.generate_gait` gives segment poses at a high rate;
3. each of the seven sensors is placed on its segment (site, placement offset and
   mounting rotation, soft-tissue wobble from :mod:`~imukin.simulation.sensor_errors`);
4. :func:`~imukin.simulation.imu.ideal_imu` turns the sensor pose into specific force
   and angular velocity, sampled at ``fs``;
5. :func:`~imukin.simulation.sensor_errors.apply_electronic_errors` adds scale,
   misalignment, bias, noise and saturation.

The joint angles stored are those of the anatomical segment frames (the truth), not of
the sensors.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from imukin._version import __version__
from imukin.conventions import ACTIVITIES, FS_RANGE, SEGMENTS, check_choice, subject_id
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.simulation.body import (
    N_DEV_HARMONICS,
    check_curve_harmonics,
    check_harmonic_curves,
    check_placement,
    draw_subject,
    sensor_sites,
)
from imukin.simulation.gait import SPEED_LIMITS_M_S, GaitConfig, Kinematics, check_stand_prob, generate_gait
from imukin.simulation.imu import ideal_imu, interpolating_spline
from imukin.simulation.sensor_errors import (
    TISSUE_DRIVERS,
    SensorErrorConfig,
    apply_electronic_errors,
    draw_mounting,
    soft_tissue_motion,
)
from imukin.workers import process_pool

GENERATOR = f"imukin-synthetic-{__version__}"
#: Revision of the simulated physics: bumped whenever the same configuration and seed give other signals,
#: so that a corpus cached by an earlier revision is simulated again (:func:`is_current_corpus`).
#: A file without the attribute is revision 1.
SIMULATOR_REVISION = 1


@dataclass
class CorpusConfig:
    """What to simulate. Every field has a default that gives a realistic corpus."""

    activity: str = "walking"  # "walking" (0.6-2.0 m/s) or "running" (2.0-5.0 m/s)
    n_subjects: int = 10  # simulated people; each gets one continuous sequence
    seed: int = 0  # corpus seed; subject i uses default_rng([seed, i])
    fs: float = 200.0  # Hz, output rate (the reference layout's 200 Hz)
    duration_s: float = 30.0  # seconds per subject
    first_subject: int = 0  # index of the first subject (ids continue from here)
    speed_range_m_s: tuple[float, float] | None = None  # None: the activity's range (simulation.gait.SPEED_RANGE_M_S)
    curve_harmonics: int = N_DEV_HARMONICS  # harmonics in which people's joint curves differ (simulation.body)
    harmonic_curves: tuple[str, ...] | None = None  # curves with the harmonics beyond N_DEV_HARMONICS; None: all
    stand_prob: float = 0.0  # walking: probability that a person starts standing still, and that they end so
    #   (simulation.gait.GaitConfig.stand_prob); 0: everyone walks throughout
    placement: dict | None = None  # segment type -> sensor site (simulation.body.SENSOR_SITES); None: the defaults
    errors: SensorErrorConfig = field(default_factory=SensorErrorConfig)  # full default error model

    def __post_init__(self):
        check_choice("activity", self.activity, ACTIVITIES)
        # one type per field, so that a corpus asked for with 20 or 20.0 s is written, cached and hashed alike
        self.n_subjects, self.seed, self.first_subject = int(self.n_subjects), int(self.seed), int(self.first_subject)
        self.curve_harmonics = check_curve_harmonics(self.curve_harmonics, "curve_harmonics")
        self.harmonic_curves = check_harmonic_curves(self.harmonic_curves, "harmonic_curves")
        if self.curve_harmonics <= N_DEV_HARMONICS:  # no further harmonics for any curve to have
            self.harmonic_curves = None
        if self.placement is not None:  # only the sites that differ from the defaults are kept
            default = check_placement(None)
            self.placement = {k: v for k, v in check_placement(self.placement).items() if v != default[k]} or None
        self.fs, self.duration_s, self.stand_prob = float(self.fs), float(self.duration_s), float(self.stand_prob)
        check_stand_prob(self.stand_prob, self.activity)
        if self.n_subjects < 1:
            raise ImukinError(f"n_subjects must be at least 1 (imukin simulate --subjects), got {self.n_subjects}")
        check_output_rate(self.fs)
        if not 2.0 <= self.duration_s <= 3600.0:
            raise ImukinError(f"duration_s {self.duration_s} s (--duration-s) is outside 2-3600 s")
        if self.speed_range_m_s is not None:
            self.speed_range_m_s = tuple(float(v) for v in self.speed_range_m_s)
            lo, hi = self.speed_range_m_s
            lim = SPEED_LIMITS_M_S[self.activity]
            if not lim[0] <= lo <= hi <= lim[1]:
                raise ImukinError(f"{self.activity} speed range {lo:g}-{hi:g} m/s (--speed-range) is outside "
                                  f"{lim[0]:g}-{lim[1]:g} m/s; give LO <= HI within it")


def check_output_rate(fs: float) -> None:
    """Refuse, in one line, a simulated IMU output rate (``--fs``) outside :data:`~imukin.conventions.FS_RANGE`."""
    if not FS_RANGE[0] <= float(fs) <= FS_RANGE[1]:
        raise ImukinError(f"fs {fs} Hz (--fs) is outside {FS_RANGE[0]:g}-{FS_RANGE[1]:g} Hz; IMUs for gait "
                          "record at 50-400 Hz")


def internal_rate(fs: float) -> float:
    """Rate (Hz) at which poses are computed for output rate ``fs``: an integer multiple of ``fs``,
    at least 500 Hz (IMU signals come from exact spline derivatives of these poses, so the
    internal rate only has to resolve the motion and the soft-tissue oscillation, < 40 Hz)."""
    return fs * max(1, int(np.ceil(500.0 / fs)))


def _resample_rotations(t: np.ndarray, rot: np.ndarray, t_out: np.ndarray) -> np.ndarray:
    """Orientations (N,3,3) at times t -> (M,3,3) at t_out (exact when t_out is a subset of t)."""
    idx = np.searchsorted(t, t_out)
    idx = np.clip(idx, 0, len(t) - 1)
    if np.allclose(t[idx], t_out, atol=1e-9):
        return rot[idx]
    return Slerp(t, Rotation.from_matrix(rot))(t_out).as_matrix()


def _resample(t: np.ndarray, x: np.ndarray, t_out: np.ndarray) -> np.ndarray:
    """(N, ...) at t -> (M, ...) at t_out by linear interpolation (exact on a subset of t)."""
    flat = x.reshape(len(t), -1)
    out = np.stack([np.interp(t_out, t, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape(len(t_out), *x.shape[1:])


def record_from_kinematics(kin: Kinematics, subject_id: str, fs: float, errors: SensorErrorConfig,
                           rng: np.random.Generator, placement: dict | None = None) -> SubjectRecord:
    """Simulate the seven IMUs of one subject from its gait kinematics.

    Parameters
    ----------
    kin : Kinematics
        Segment poses at the internal rate.
    subject_id : str
        ``s<id>`` group name.
    fs : float
        Output rate in Hz.
    errors : SensorErrorConfig
        Sensor error model (``SensorErrorConfig.ideal()`` for perfect sensors).
    rng : numpy.random.Generator
        Stream for the per-sensor error draws.
    placement : dict, optional
        Segment type -> sensor site (:func:`imukin.simulation.body.sensor_sites`); default the usual sites.

    Returns
    -------
    SubjectRecord
    """
    t = kin.t
    n_out = int(np.floor((t[-1] - t[0]) * fs + 1e-9)) + 1
    t_out = t[0] + np.arange(n_out) / fs
    sites = sensor_sites(kin.subject, placement)
    rec = SubjectRecord(subject_id=subject_id, fs=fs)
    # every segment's acceleration from one quintic spline solve (the factorisation is shared, see
    # interpolating_spline): (N, S, 3) lab
    p_all = np.stack([kin.pos[seg] for seg in SEGMENTS], axis=1)  # (N, S, 3)
    acc_all = interpolating_spline(t, p_all).derivative(2)(t)  # (N, S, 3)
    for s_i, seg in enumerate(SEGMENTS):
        r_seg, p_seg = kin.rot[seg], kin.pos[seg]  # (N,3,3), (N,3)
        r_mount, offset = draw_mounting(errors, rng)  # (3,3), (3,) in the segment frame
        seg_acc = acc_all[:, s_i]  # (N,3) lab
        drivers = _tissue_drivers(kin, seg) if errors.tissue_joint_coupling > 0 else None  # (N, K) deg or None
        r_wobble, d_wobble = soft_tissue_motion(t, seg_acc, errors, rng, seg_rmat=r_seg,
                                                drivers=drivers)  # (N,3,3), (N,3)
        r_sensor = r_seg @ r_wobble @ r_mount  # (N,3,3)
        p_sensor = p_seg + np.einsum("nij,nj->ni", r_seg, sites[seg] + offset + d_wobble)  # (N,3)
        acc, gyr = ideal_imu(t, r_sensor, p_sensor, t_out)  # (M,3) each
        rec.acc[seg], rec.gyr[seg] = apply_electronic_errors(acc, gyr, fs, errors, rng)
        rec.rmat[seg] = _resample_rotations(t, r_sensor, t_out)
    for joint, ang in kin.angles.items():
        rec.angle[joint] = _resample(t, ang, t_out)
    s = kin.subject
    rec.meta = np.array([1.0 if s.sex == "male" else 0.0, 100.0 * s.height_m, s.mass_kg, float(np.mean(kin.speed))])
    return rec


def _tissue_drivers(kin: Kinematics, seg: str) -> np.ndarray | None:
    """(N, K) flexion angles (deg) of the joints whose motion slides the skin of segment ``seg`` (``"rthigh"``:
    the right hip and knee; :data:`~imukin.simulation.sensor_errors.TISSUE_DRIVERS`), or None for none."""
    joints = TISSUE_DRIVERS.get(seg[1:], ())  # "rthigh" -> "thigh"; the pelvis and the feet have none
    if not joints:
        return None
    return np.stack([kin.angles[seg[0] + joint][:, 0] for joint in joints], axis=1)


def simulate_subject(cfg: CorpusConfig, index: int) -> SubjectRecord:
    """Simulate subject ``index`` of a corpus (deterministic for ``(cfg.seed, index)``)."""
    rng = np.random.default_rng([cfg.seed, index])
    params = draw_subject(rng, cfg.activity, cfg.curve_harmonics, cfg.harmonic_curves)
    kin = generate_gait(params, GaitConfig(activity=cfg.activity, duration_s=cfg.duration_s,
                                           fs_internal=internal_rate(cfg.fs),
                                           speed_range_m_s=cfg.speed_range_m_s, stand_prob=cfg.stand_prob), rng)
    rec = record_from_kinematics(kin, subject_id(index), cfg.fs, cfg.errors, rng, cfg.placement)
    rec.attrs.update(source="synthetic", generator=GENERATOR, activity=cfg.activity, seed=cfg.seed,
                     subject_index=index, speed_mean_m_s=float(np.mean(kin.speed)),
                     speed_min_m_s=float(np.min(kin.speed)), speed_max_m_s=float(np.max(kin.speed)))
    return rec


def _simulate_one(args):
    cfg, index = args
    return simulate_subject(cfg, index)


def simulate_corpus(cfg: CorpusConfig, workers: int | None = None, progress: bool = False) -> Iterator[SubjectRecord]:
    """Yield the corpus's subjects in order, simulated on ``workers`` processes.

    Parameters
    ----------
    cfg : CorpusConfig
    workers : int, optional
        Processes to use (default: the number of CPUs, at most the subject count).
        The output does not depend on it.
    progress : bool
        Show a progress bar (tqdm, on stderr).
    """
    from tqdm.auto import tqdm

    indices = range(cfg.first_subject, cfg.first_subject + cfg.n_subjects)
    workers = min(workers or os.cpu_count() or 1, cfg.n_subjects)
    bar = tqdm(total=cfg.n_subjects, desc=f"simulating {cfg.activity}", unit="subject", disable=not progress)
    with bar:
        if workers <= 1:
            for i in indices:
                yield simulate_subject(cfg, i)
                bar.update()
        else:
            with process_pool(workers) as pool:  # workers die with this process (kill -9 too)
                for rec in pool.map(_simulate_one, [(cfg, i) for i in indices], chunksize=1):
                    yield rec
                    bar.update()


#: CorpusConfig fields written on a corpus only when they differ from their defaults (so that corpora cached before
#: them stay current; a file that has one was simulated with it set), each with how it is written.
OPTIONAL_ATTRS = {
    "speed_range_m_s": lambda v: "{:g}-{:g}".format(*v),  # default None: the activity's range
    "curve_harmonics": int,  # default N_DEV_HARMONICS
    "harmonic_curves": ",".join,  # default None: every curve
    "stand_prob": lambda v: f"{v:g}",  # default 0: no standing
    "placement": lambda v: ",".join(f"{k}={site}" for k, site in sorted(v.items())),  # default None: the usual sites
}


def corpus_attrs(cfg: CorpusConfig) -> dict:
    """File-level HDF5 attributes describing a simulated corpus."""
    defaults = {f.name: f.default for f in fields(CorpusConfig)}
    d = {k: v for k, v in asdict(cfg).items() if k != "errors"}
    for key, written in OPTIONAL_ATTRS.items():
        if d[key] == defaults[key]:
            del d[key]
        else:
            d[key] = written(d[key])
    errors = asdict(cfg.errors)
    if errors["tissue_joint_coupling"] == 0:  # written only when set, so that corpora cached before it stay current
        del errors["tissue_joint_coupling"]
    d["errors"] = str(errors)
    d.update(source="synthetic", generator=GENERATOR, simulator_revision=SIMULATOR_REVISION)
    return d


def is_current_corpus(attrs: dict, cfg: CorpusConfig) -> bool:
    """True when a cached corpus file's attributes (:func:`corpus_attrs`) are those of ``cfg`` simulated
    by this revision of the simulator (:data:`SIMULATOR_REVISION`); a cache that is not is simulated again."""
    want = {k: v for k, v in corpus_attrs(cfg).items() if k not in ("generator", "simulator_revision")}
    return (int(attrs.get("simulator_revision", 1)) == SIMULATOR_REVISION
            and all(str(attrs.get(k)) == str(v) for k, v in want.items())  # the whole configuration
            and not any(k in attrs for k in OPTIONAL_ATTRS if k not in want))  # and no option cfg leaves default


def cached_corpus(path: str | os.PathLike, cfg: CorpusConfig, progress: bool = True) -> Path:
    """``path`` when it holds the corpus ``cfg`` describes, simulated by this revision of the simulator;
    otherwise the corpus is simulated and written there (atomically) first."""
    from imukin.io.job_h5 import file_attrs, write_dataset

    path = Path(path)
    if path.exists() and is_current_corpus(file_attrs(path), cfg):
        return path
    return write_dataset(path, simulate_corpus(cfg, progress=progress), attrs=corpus_attrs(cfg))
