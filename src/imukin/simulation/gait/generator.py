"""Generate one walking or running sequence: :class:`GaitConfig` in, :class:`Kinematics` out.

:func:`generate_gait` draws the speed and heading profiles and the stride-to-stride variation,
runs the clock of each leg through the subject's stride table
(:func:`~imukin.simulation.gait.stride.stride_table`) and its phase warp, and returns the
segment poses, joint angles and gait events (see :mod:`imukin.simulation.gait` for the steps).
:func:`normalise_cycles` cuts any signal into time-normalised gait cycles.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline

from imukin.conventions import ACTIVITIES, SIDES, check_choice
from imukin.errors import ImukinError
from imukin.simulation.body import N_CURVES, SubjectParams
from imukin.simulation.gait.contact import crossings, forward_kinematics
from imukin.simulation.gait.pose import CurveModifiers, Standing, standing_pose
from imukin.simulation.gait.smooth import smooth_noise, smootherstep
from imukin.simulation.gait.stride import WARP_HARMONICS, stride_table
from imukin.simulation.gait.templates import fourier_basis, speed_terms

# ---------------------------------------------------------------- speeds
#: Default speed range (m/s) per activity, for randomly drawn sequences.
SPEED_RANGE_M_S = {"walking": (0.6, 2.0), "running": (2.0, 5.0)}
#: Hard limits (m/s) for explicitly requested speeds.
SPEED_LIMITS_M_S = {"walking": (0.2, 2.6), "running": (1.5, 7.0)}

#: Relative weight of the stride-to-stride offset modulation per curve (sagittal curves vary most).
_STRIDE_OFFSET_WEIGHT = np.array([0.3, 0.3, 0.5, 1.0, 0.6, 0.8, 1.0, 0.4, 0.8, 1.0, 0.6, 0.6])

#: Seconds simulated before and after the sequence and cut off (edge effects of flights and derivatives).
_MARGIN_S = 1.0


# ---------------------------------------------------------------- config and result
def check_stand_prob(stand_prob: float, activity: str) -> None:
    """Refuse, in one line, a probability of standing starts and ends outside [0, 1] or for running."""
    if not 0.0 <= stand_prob <= 1.0 or (stand_prob and activity != "walking"):
        raise ImukinError(f"stand_prob {stand_prob:g} must be in [0, 1], and 0 for {activity} (standing starts "
                          f"and ends are simulated for walking only)")


@dataclass
class GaitConfig:
    """What kind of sequence to generate. Every field has a default."""

    activity: str = "walking"  # "walking" or "running"
    duration_s: float = 30.0  # length of the sequence
    fs_internal: float = 1000.0  # Hz, rate of the poses (the IMU simulation samples from them)
    speed_m_s: float | None = None  # initial speed; None draws it uniformly from speed_range_m_s
    speed_range_m_s: tuple[float, float] | None = None  # None: walking 0.6-2.0, running 2.0-5.0 m/s
    speed_change_prob: float = 0.5  # probability that the speed changes within the sequence
    speed_change_every_s: tuple[float, float] = (6.0, 15.0)  # time between speed changes (uniform)
    speed_change_rel: float = 0.3  # largest relative speed change (new = old * (1 +- U(0, this)))
    speed_change_duration_s: float = 3.0  # a speed change is a smooth ramp this long
    turn_prob: float = 0.5  # probability that the sequence has gentle turns
    turn_every_s: tuple[float, float] = (5.0, 15.0)  # time between turn starts (uniform)
    turn_angle_deg: tuple[float, float] = (20.0, 90.0)  # heading change of one turn (either side)
    turn_duration_s: tuple[float, float] = (3.0, 8.0)  # duration of one turn
    subject_variation: bool = True  # apply the subject's curve deviations and asymmetry
    stride_time_cv: float = 0.02  # stride-to-stride coefficient of variation of stride time
    step_phase_sd: float = 0.004  # left-right step timing jitter, fraction of the cycle
    stride_amp_sd: float = 0.03  # stride-to-stride relative SD of each curve's amplitude
    stride_offset_sd_deg: float = 0.8  # stride-to-stride SD of each curve's offset (sagittal curves)
    stand_prob: float = 0.0  # walking: probability that the sequence starts standing still, and (drawn again)
    #   that it ends so (simulation.gait.pose.standing_pose); 0 walks throughout
    stand_s: tuple[float, float] = (1.0, 4.0)  # time stood still at a start or end (uniform)
    stand_ramp_s: tuple[float, float] = (1.0, 2.5)  # time from standing to walking or back (uniform)

    def __post_init__(self):
        check_choice("activity", self.activity, ACTIVITIES)
        if not self.duration_s > 0:
            raise ImukinError(f"gait duration_s must be positive, got {self.duration_s}")
        if not 50.0 <= self.fs_internal <= 10000.0:
            raise ImukinError(f"fs_internal {self.fs_internal} Hz is outside 50-10000 Hz")
        lo, hi = self.speed_range
        lim = SPEED_LIMITS_M_S[self.activity]
        if not lim[0] <= lo <= hi <= lim[1]:
            raise ImukinError(f"{self.activity} speed range {lo}-{hi} m/s is outside {lim[0]}-{lim[1]} m/s")
        if self.speed_m_s is not None and not lim[0] <= self.speed_m_s <= lim[1]:
            raise ImukinError(f"{self.activity} speed {self.speed_m_s} m/s is outside {lim[0]}-{lim[1]} m/s; "
                              f"choose a speed in that range")
        check_stand_prob(self.stand_prob, self.activity)
        for name in ("speed_change_prob", "turn_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ImukinError(f"gait {name} must be in [0, 1], got {getattr(self, name)}")

    @property
    def speed_range(self) -> tuple[float, float]:
        """The speed range in use (m/s)."""
        return tuple(self.speed_range_m_s) if self.speed_range_m_s is not None else SPEED_RANGE_M_S[self.activity]


@dataclass
class Kinematics:
    """Segment poses and joint angles of one generated sequence."""

    t: np.ndarray  # (N,) s at fs_internal
    fs: float  # Hz
    rot: dict[str, np.ndarray]  # segment (conventions.SEGMENTS) -> (N,3,3) segment frame in lab (columns = axes)
    pos: dict[str, np.ndarray]  # segment -> (N,3) m, frame origin (pelvis: mid hip centres; thigh: hip
    #   centre; shank: knee centre; foot: ankle centre)
    angles: dict[str, np.ndarray]  # joint (conventions.JOINTS) -> (N,3) deg [flexion, adduction, rotation]
    speed: np.ndarray  # (N,) m/s, instantaneous target speed (about 0 standing still)
    heel_strikes: dict[str, np.ndarray]  # "right"/"left" -> heel strike times (s), gait cycle starts
    subject: SubjectParams  # who walked
    pelvis_angles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (N,3) deg, Plug-in Gait
    #   PelvisAngles (right side): [anterior tilt, obliquity (right up), rotation (right forward)]
    #   of the pelvis relative to the walking direction
    heading_deg: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (N,) walking direction in
    #   the lab, degrees about +Y from +X (positive turns to the left)
    toe_offs: dict[str, np.ndarray] = field(default_factory=dict)  # "right"/"left" -> toe-off times (s)
    #   (walking: the end of the load hand-over to the other foot)

    @property
    def n_frames(self) -> int:
        return int(self.t.shape[0])


# ---------------------------------------------------------------- smooth random profiles
def _speed_profile(t: np.ndarray, cfg: GaitConfig, rng: np.random.Generator) -> np.ndarray:
    """Target speed (m/s) over time: the initial speed, then smooth ramps to new speeds."""
    lo, hi = cfg.speed_range
    v0 = float(cfg.speed_m_s) if cfg.speed_m_s is not None else float(rng.uniform(lo, hi))
    v = np.full(t.shape, v0)
    if rng.random() < cfg.speed_change_prob:
        t_next, cur = float(rng.uniform(*cfg.speed_change_every_s)) * 0.5, v0
        while t_next < t[-1]:
            new = float(np.clip(cur * (1.0 + rng.uniform(-cfg.speed_change_rel, cfg.speed_change_rel)), lo, hi))
            v += (new - cur) * smootherstep((t - t_next) / cfg.speed_change_duration_s)
            cur = new
            t_next += cfg.speed_change_duration_s + float(rng.uniform(*cfg.speed_change_every_s))
    return v


def _heading_profile(t: np.ndarray, cfg: GaitConfig, rng: np.random.Generator) -> np.ndarray:
    """Heading (rad) about +Y: a sum of smooth turns."""
    psi = np.zeros(t.shape)
    if rng.random() < cfg.turn_prob:
        t_next = float(rng.uniform(1.0, cfg.turn_every_s[1]))
        while t_next < t[-1]:
            ang = np.deg2rad(rng.uniform(*cfg.turn_angle_deg)) * rng.choice([-1.0, 1.0])
            dur = float(rng.uniform(*cfg.turn_duration_s))
            psi += ang * smootherstep((t - t_next) / dur)
            t_next += dur + float(rng.uniform(*cfg.turn_every_s))
    return psi


def _walking_share(t: np.ndarray, cfg: GaitConfig, rng: np.random.Generator) -> np.ndarray:
    """How far each sample (t (N,) s, the sequence from 0 to ``cfg.duration_s``) is from standing still (0) to
    walking (1): a standing start and end, each with ``cfg.stand_prob``, joined to the walk by smooth ramps.
    Ends that would leave less than half the sequence walking are not drawn."""
    go = np.ones(t.shape)
    for end in ("start", "end"):
        if rng.random() >= cfg.stand_prob:
            continue
        still, ramp = float(rng.uniform(*cfg.stand_s)), float(rng.uniform(*cfg.stand_ramp_s))
        if 4.0 * (still + ramp) > cfg.duration_s:
            continue
        if end == "start":
            go *= smootherstep((t - still) / ramp)
        else:
            go *= 1.0 - smootherstep((t - (cfg.duration_s - still - ramp)) / ramp)
    return np.clip(go, 0.0, 1.0)  # the ramp's rounding can leave -1e-15


# ---------------------------------------------------------------- public entry point
def generate_gait(subject: SubjectParams, cfg: GaitConfig | None = None,
                  rng: np.random.Generator | None = None) -> Kinematics:
    """Generate one walking or running sequence.

    Parameters
    ----------
    subject : SubjectParams
        Body and style (see :func:`imukin.simulation.body.draw_subject`).
    cfg : GaitConfig, optional
        Activity, duration, rate, speed profile, turns, variability.
    rng : numpy.random.Generator, optional
        The only source of randomness: the same seed gives identical arrays.

    Returns
    -------
    Kinematics
    """
    cfg = cfg or GaitConfig()
    rng = rng if rng is not None else np.random.default_rng()
    if not isinstance(subject, SubjectParams):
        raise ImukinError(f"generate_gait needs a SubjectParams, got {type(subject).__name__}; "
                          f"use imukin.simulation.body.draw_subject")
    act, fs = cfg.activity, float(cfg.fs_internal)
    n = int(round(cfg.duration_s * fs))
    if n < 10:
        raise ImukinError(f"duration {cfg.duration_s} s at {fs} Hz gives only {n} samples; make it longer")
    m = int(round(_MARGIN_S * fs))  # extra samples simulated on both sides, then cut off
    t = (np.arange(n + 2 * m) - m) / fs  # (N + 2m,)
    speed = _speed_profile(t, cfg, rng)  # (N+2m,)
    psi = _heading_profile(t, cfg, rng)  # (N+2m,)
    vstar = subject.dimensionless_speed(speed)  # (N+2m,)
    use_subject = cfg.subject_variation
    # standing starts and ends from their own stream of random numbers (a sequence without them is unchanged)
    srng = rng.spawn(1)[0] if cfg.stand_prob > 0 else None
    go = _walking_share(t, cfg, srng) if srng is not None else np.ones(t.shape)  # (N+2m,)

    # stride frequency = speed / stride length of the subject's own (scaled) kinematics
    grid, fit_grid, sl_grid, warp_grid = stride_table(subject, act, use_subject)
    vc = np.clip(vstar, grid[0], grid[-1])
    fit = CubicSpline(grid, fit_grid)(vc)  # (N+2m, N_FIT) per-subject ground fit
    f0 = speed / CubicSpline(grid, sl_grid)(vc)  # (N+2m,) strides per second
    jitter = smooth_noise(t, 1.0 / float(np.mean(f0)), cfg.stride_time_cv, rng)[:, 0]
    # steps shorten with go (the curves move towards the standing pose) and slow with sqrt(go): a start from
    # standing takes short, quick steps first
    freq = f0 * (1.0 - jitter) * np.sqrt(go)
    u_r = float(rng.random()) + np.concatenate([[0.0], np.cumsum(0.5 * (freq[1:] + freq[:-1]) / fs)])  # clock
    step_jit = smooth_noise(u_r, 1.0, cfg.step_phase_sd, rng)[:, 0]
    u_l = u_r + 0.5 + (subject.phase_asym if use_subject else 0.0) + step_jit
    phase = {"right": u_r, "left": u_l}
    # an even speed through the stride (see walk_warp and run_warp)
    warp = CubicSpline(grid, warp_grid)(vc)  # (N+2m, 1 + 2W)
    phase = {sd: u + np.sum(warp * fourier_basis(u, WARP_HARMONICS), axis=1) for sd, u in phase.items()}

    mods = {}
    off_sd = cfg.stride_offset_sd_deg * _STRIDE_OFFSET_WEIGHT
    for side in SIDES:
        a = smooth_noise(phase[side], 1.0, np.full(N_CURVES, cfg.stride_amp_sd), rng, N_CURVES)
        o = smooth_noise(phase[side], 1.0, off_sd, rng, N_CURVES)
        mods[side] = CurveModifiers(scale=1.0 + a, offset=o)

    standing = None
    if go.min() < 1.0:
        mid = len(t) // 2
        pose = standing_pose(subject, act, speed_terms(act, vstar[mid:mid + 1])[0], fit[mid], use_subject, t, srng)
        standing = Standing(still=1.0 - go, pose=pose)
    res = forward_kinematics(subject, act, fs, phase, vstar, psi, fit, mods, use_subject, t0=float(t[0]),
                             standing=standing)
    keep = slice(m, m + n)
    p0 = res["pelvis_pos"][keep] - res["pelvis_pos"][m] * np.array([1.0, 0.0, 1.0])  # start above the origin
    t_out = t[keep]
    within = lambda ev: ev[(ev >= t_out[0]) & (ev <= t_out[-1])]  # noqa: E731
    return Kinematics(
        t=t_out, fs=fs,
        rot={seg: r[keep] for seg, r in res["rot"].items()},
        pos={seg: p0 + r[keep] for seg, r in res["rel"].items()},
        angles={j: a[keep] for j, a in res["angles"].items()},
        speed=(speed * go ** 1.5)[keep],
        heel_strikes={s: within(crossings(phase[s], t)) for s in SIDES},
        subject=subject,
        pelvis_angles=res["pelvis_angles"][keep],
        heading_deg=np.rad2deg(psi[keep]),
        toe_offs={s: within(ev) for s, ev in res["toe_offs"].items()},
    )


# ---------------------------------------------------------------- analysis helper
def normalise_cycles(x: np.ndarray, t: np.ndarray, heel_strikes: np.ndarray, n_points: int = 51) -> np.ndarray:
    """Time-normalise a signal into gait cycles (heel strike to next heel strike).

    Parameters
    ----------
    x : ndarray, shape (N, ...)
    t : ndarray, shape (N,)
    heel_strikes : ndarray, shape (K,)
        Cycle start times; cycles not fully inside ``t`` are skipped.
    n_points : int
        Samples per cycle, 0 % to 100 % inclusive (51 -> every 2 %).

    Returns
    -------
    ndarray, shape (n_cycles, n_points, ...)
    """
    hs = np.asarray(heel_strikes, float)
    hs = hs[(hs >= t[0]) & (hs <= t[-1])]
    if len(hs) < 2:
        raise ImukinError("need at least two heel strikes inside the signal to cut gait cycles")
    frac = np.linspace(0.0, 1.0, n_points)
    tq = (hs[:-1, None] + (hs[1:] - hs[:-1])[:, None] * frac).ravel()  # (C * n_points,)
    flat = np.asarray(x, float).reshape(len(t), -1)
    out = np.stack([np.interp(tq, t, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape(len(hs) - 1, n_points, *np.asarray(x).shape[1:])
