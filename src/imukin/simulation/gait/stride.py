"""Per-subject stride table: cadence law, fit to the ground, and the phase warps that even the speed.

:func:`stride_table` fits each subject's kinematics to the ground on a grid of speeds. The
target cadence is an empirical law of speed and leg length (:func:`step_frequency_hz`)
times the subject's cadence factor. Walking: the hip flexion and pelvic rotation ranges are
scaled so that the no-slip stride length is ``speed / stride frequency``; a hip flexion
offset and a correction of the trailing leg in double support put both feet on the ground
when the heel lands (:func:`_fit_ground`); a phase warp (:func:`walk_warp`) evens out the
forward speed within the stride. Running: the range scale sets the contact length; a phase
warp (:func:`run_warp`) gives the stance the spring-mass speed course.
"""
from __future__ import annotations

import numpy as np

from imukin.conventions import SIDES, G
from imukin.simulation.body import SubjectParams
from imukin.simulation.gait.contact import RUN_SPEED_DIP, forward_kinematics
from imukin.simulation.gait.pose import FIT_HIP, FIT_SCALE, FIT_TOE_OFF, FIT_TRAIL, N_FIT, segment_pose, trail_fit_basis
from imukin.simulation.gait.smooth import smootherstep
from imukin.simulation.gait.templates import VSTAR_RANGE, stance_fraction

#: Limits of the per-subject stride scale (hip flexion and pelvic rotation range factor).
_STRIDE_SCALE_RANGE = (0.65, 1.4)

#: Walking: limits (deg) of the trailing-leg correction (see :data:`~imukin.simulation.gait.pose.FIT_TRAIL`).
_TRAIL_FIT_RANGE = (-15.0, 15.0)
#: Walking: limits (deg) of the per-subject hip flexion offset fitted with it.
_HIP_FIT_RANGE = (-8.0, 8.0)

#: Running: Fourier harmonics of the phase warp (see :func:`run_warp`).
WARP_HARMONICS = 16
#: Walking: bounds of the phase warp's rate relative to its mean (see :func:`walk_warp`), and its
#: circular Gaussian smoothing (SD in cycles).
WALK_WARP_RATE_RANGE = (0.2, 3.0)
WALK_WARP_SMOOTH = 0.02
#   Known gap, measured and not changed: where a person's curve deviations (imukin.simulation.body) nearly
#   stall the stance foot's sweep in mid-stance, this warp runs through the stall at up to five times the
#   mean rate and swings the other leg as fast (knee flexion rates above 600 deg/s in 10 of 40 walkers;
#   real walking peaks near 350-450). Simulators without it (a per-phase floor on the clock rate bounding
#   each joint's speed-up, with and without smoother deviations) gave human rates and more real signals,
#   but the walking networks retrained on them were not better on real motion: docs/real_data.md ("Where
#   it led") has the measurements.
#: Walking: relative swing of the forward speed about its mean, lowest when the pelvis is highest (the
#: inverted pendulum's exchange of kinetic and potential energy; Cavagna et al. 1977, Zijlstra & Hof 2003:
#: the body's forward speed varies by about +-5-10 % at comfortable speeds).
WALK_SPEED_SWING = 0.08


# ---------------------------------------------------------------- cadence
def step_frequency_hz(activity: str, speed_m_s, leg_length_m: float = 0.91) -> np.ndarray:
    """Population step frequency (steps/s) at a speed, for a leg length (hip centre to floor).

    Walking: stride length / leg length = 2.64 v*^0.66 with ``v* = v / sqrt(g L)``, fitted
    to adult overground cadence (about 1.6 Hz at 0.8 m/s, 1.87 Hz at 1.3 m/s, 2.2 Hz at
    2.0 m/s for a 0.91 m leg; the form of Grieve 1968 / Alexander 1984). Running:
    ``(2.2 + 0.15 v) (0.91 / L)^0.3`` Hz (about 2.5 Hz at 2 m/s, 2.7 at 3.3, 2.95 at 5;
    Cavanagh & Kram 1989; Heiderscheit et al. 2011).
    """
    v = np.asarray(speed_m_s, float)
    if activity == "running":
        return (2.2 + 0.15 * v) * (0.91 / leg_length_m) ** 0.3
    vstar = np.maximum(v, 1e-3) / np.sqrt(G * leg_length_m)
    stride_len = 2.64 * vstar ** 0.66 * leg_length_m
    return 2.0 * v / stride_len


def _stride_length(subject: SubjectParams, activity: str, vstar: float, fit: np.ndarray, use_subject: bool) -> float:
    """No-slip stride length (m) at constant speed: the middle stride of 2.5 one-second strides."""
    fs = 100.0  # samples per stride
    t = np.arange(int(2.5 * fs) + 1) / fs
    ph = {"right": t.copy(), "left": t + 0.5 + (subject.phase_asym if use_subject else 0.0)}
    x = forward_kinematics(subject, activity, fs, ph, np.full(t.shape, vstar), np.zeros(t.shape),
                           np.tile(fit, (len(t), 1)), None, use_subject)["pelvis_pos"][:, 0]
    return float(x[int(2 * fs)] - x[int(fs)])


def _double_support_gap(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool):
    """Height (m) of the landing foot above the trailing foot over double support.

    Returns ``(lead_phase, gap, correction)``: the landing leg's phase (M,) after its heel
    strike, the gap (M,) averaged over the right and left heel strikes, and the trailing-leg
    correction (deg, M,) that ``fit`` applies there.
    """
    asym = subject.phase_asym if use_subject else 0.0
    ds = float(stance_fraction("walking", vstar)) - 0.5
    lead = np.linspace(0.0, ds + 0.01, 14)  # (M,)
    m = len(lead)
    pr = np.concatenate([lead, lead + 0.5 - asym])  # right leading, then left leading
    ph = {"right": pr, "left": pr + 0.5 + asym}
    res = segment_pose(subject, "walking", ph, np.full(2 * m, vstar), np.zeros(2 * m), np.tile(fit, (2 * m, 1)), None,
                use_subject)
    d = res["low"]["right"] - res["low"]["left"]  # (2M,)
    gap = 0.5 * (d[:m] - d[m:])
    corr = trail_fit_basis(ph["left"][:m]) @ fit[FIT_TRAIL]  # correction on the trailing leg (both sides)
    return lead, gap, corr


def _fit_ground(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool) -> np.ndarray:
    """Fit the hip posture and the trailing-leg correction to the ground (two Gauss-Newton steps):
    the landing heel touches the ground at heel strike and is never above the trailing foot
    during double support."""
    for _ in range(2):
        # hip flexion offset: closes the gap at heel strike (about 5 mm per degree)
        _, gap, _ = _double_support_gap(subject, vstar, fit, use_subject)
        bumped = fit.copy()
        bumped[FIT_HIP] += 2.0
        _, gap_b, _ = _double_support_gap(subject, vstar, bumped, use_subject)
        if abs(gap_b[0] - gap[0]) > 1e-6:
            fit = fit.copy()
            fit[FIT_HIP] = float(np.clip(fit[FIT_HIP] - 2.0 * gap[0] / (gap_b[0] - gap[0]), *_HIP_FIT_RANGE))
        # trailing-leg correction: the shape of the gap over double support
        lead, gap, corr = _double_support_gap(subject, vstar, fit, use_subject)
        sens = {}
        for sgn in (1.0, -1.0):  # raising and lowering the trailing foot act through different joints
            bumped = fit.copy()
            bumped[FIT_TRAIL] += 5.0 * sgn
            _, gap_b, corr_b = _double_support_gap(subject, vstar, bumped, use_subject)
            dc = corr_b - corr
            sens[sgn] = (gap_b - gap) / np.where(np.abs(dc) > 1e-6, dc, 1e-6)  # (M,) m per deg
        s_dir = np.where(gap > 0.0, sens[1.0], sens[-1.0])
        want = ((lead <= 0.02) | (gap > 0.0)) & (np.abs(s_dir) > 1e-5)  # touch at heel strike; landing
        #   foot never above the trailing one afterwards
        target = corr - np.where(want, gap / np.where(want, s_dir, 1.0), 0.0)
        target = np.clip(target, *_TRAIL_FIT_RANGE)
        basis = trail_fit_basis(lead + 0.5)  # (M, J)
        wt = np.where(lead <= 0.02, 5.0, 1.0)[:, None]  # the heel-strike contact itself matters most
        fit = fit.copy()
        d2 = np.diff(np.eye(basis.shape[1]), 2, axis=0)  # smoothness: neighbouring bumps alike
        fit[FIT_TRAIL] = np.linalg.solve((wt * basis).T @ basis + 0.5 * d2.T @ d2 + 0.01 * np.eye(basis.shape[1]),
                                          (wt * basis).T @ target)
    return fit


def _canonical_stride(subject: SubjectParams, activity: str, vstar: float, fit: np.ndarray, use_subject: bool):
    """Two canonical strides (1 s each, 400 samples per stride, constant ``vstar`` and ``fit``).

    Returns ``(phase per side, the :func:`forward_kinematics` result, slice of the second stride)``.
    """
    fs = 400.0  # samples per (1 s) stride
    t = np.arange(int(2 * fs)) / fs
    asym = subject.phase_asym if use_subject else 0.0
    ph = {"right": t.copy(), "left": t + 0.5 + asym}
    res = forward_kinematics(subject, activity, fs, ph, np.full(t.shape, vstar), np.zeros(t.shape),
                             np.tile(fit, (len(t), 1)), None, use_subject)
    return ph, res, slice(int(fs), int(2 * fs))  # second stride, phase 0..1


def _stance_sweep(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool):
    """Running, one canonical stride (1 s): stance weights and the stance foot's backward speed
    relative to the pelvis per unit phase (m per cycle), on a phase grid.

    Returns ``(phase (M,), stance weight (M,), sweep speed (M,), dip (M,))``; ``dip`` is the
    stance-weighted ``sin(pi s)`` of the fraction ``s`` of stance gone (0 at contact and
    toe-off, 1 at mid-stance).
    """
    ph, res, sl = _canonical_stride(subject, "running", vstar, fit, use_subject)
    asym = subject.phase_asym if use_subject else 0.0
    phase = ph["right"][sl] - 1.0
    beta, ramp = fit[FIT_TOE_OFF], 0.03
    stance, sweep, dip = np.zeros(len(phase)), np.zeros(len(phase)), np.zeros(len(phase))
    for side, p0 in (("right", phase), ("left", phase + 0.5 + asym)):
        d = (p0 + 0.5) % 1.0 - 0.5
        w = smootherstep(d / ramp + 0.5) * smootherstep((beta - d) / ramp + 0.5)
        stance += w
        sweep += w * np.linalg.norm(res["vel_c"][side][sl], axis=1)
        dip += w * np.sin(np.pi * np.clip(d / beta, 0.0, 1.0))
    return phase, stance, sweep, dip


def run_warp(subject: SubjectParams, vstar: float, fit: np.ndarray, stride_m: float, use_subject: bool) -> np.ndarray:
    """Running: phase warp that gives the no-slip horizontal speed the course of real running.

    The stance leg of the templates does not sweep back at a steady rate (the knee flexes
    and extends under load). A runner's horizontal speed is constant in flight (no
    horizontal force) and dips in stance, braking in its first half and propelled in the
    second (the spring-mass model), by about :data:`RUN_SPEED_DIP` at mid-stance. The
    phase therefore advances at a rate inversely proportional to the stance foot's
    backward speed relative to the pelvis (per unit phase) times that course, and uniformly
    in flight, so that a uniform clock ``u`` gives the stride length ``stride_m``.
    Returns the Fourier coefficients (1 + 2 WARP_HARMONICS,) of the periodic ``phase(u) - u``.
    """
    phase, stance, sweep, dip = _stance_sweep(subject, vstar, fit, use_subject)
    rate = sweep / stride_m  # du/dphase in stance for an even speed
    # the dip course, with the stance's total time (the template's duty factor) kept
    dipped = rate / (1.0 - RUN_SPEED_DIP * dip)
    rate = dipped * (float(np.sum(rate)) / max(float(np.sum(dipped)), 1e-12))
    flight = (1.0 - float(np.mean(rate))) / max(float(np.mean(1.0 - stance)), 1e-6)
    dudp = rate + (1.0 - stance) * max(flight, 0.3)
    # smooth circularly (Gaussian, SD 0.015 cycles) so the phase rate has no kinks
    return _warp_coefficients(phase, dudp, smooth=0.015, floor=0.05)


def _warp_coefficients(phase: np.ndarray, dudp: np.ndarray, smooth: float, floor: float) -> np.ndarray:
    """Fourier coefficients (1 + 2 WARP_HARMONICS,) of the periodic ``phase(u) - u`` of a phase warp.

    ``dudp`` (M,) is the clock's rate per unit phase on the periodic ``phase`` grid (M,); it is
    smoothed circularly (Gaussian, SD ``smooth`` cycles), kept above ``floor`` and integrated
    to the clock ``u(phase)``, normalised to one cycle, and inverted on a uniform clock grid.
    """
    n = len(phase)
    k = np.fft.rfftfreq(n, d=1.0 / n)
    dudp = np.fft.irfft(np.fft.rfft(dudp) * np.exp(-0.5 * (2 * np.pi * k * smooth) ** 2), n=n)
    dudp = np.maximum(dudp, floor)
    u = np.concatenate([[0.0], np.cumsum(0.5 * (dudp[1:] + dudp[:-1]) / n)])
    u /= u[-1] + 0.5 * (dudp[-1] + dudp[0]) / n
    grid_u = np.arange(512) / 512
    phase_of_u = np.interp(grid_u, u, phase)  # (512,)
    f = np.fft.rfft(phase_of_u - grid_u) / len(grid_u)
    coef = np.empty(1 + 2 * WARP_HARMONICS)
    coef[0] = f[0].real
    coef[1::2] = 2.0 * f[1:WARP_HARMONICS + 1].real
    coef[2::2] = -2.0 * f[1:WARP_HARMONICS + 1].imag
    return coef


def _walk_sweep(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool):
    """Walking, one canonical stride (1 s): the no-slip pelvis speed per unit phase (m per cycle)
    that the loaded feet give (load shares as in ground contact, :mod:`~imukin.simulation.gait.contact`),
    on a phase grid.

    Returns ``(phase (M,), sweep speed (M,), pelvis height over the loaded feet (M,))``.
    """
    ph, res, sl = _canonical_stride(subject, "walking", vstar, fit, use_subject)
    beta = fit[FIT_TOE_OFF]
    ds = beta - 0.5
    load = {}
    for side in SIDES:
        frac = ph[side][sl] - np.floor(ph[side][sl])
        load[side] = smootherstep(frac / ds) * smootherstep((beta - frac) / ds)
    w_r = load["right"] / np.maximum(load["right"] + load["left"], 1e-6)
    v = w_r[:, None] * res["vel_c"]["right"][sl] + (1.0 - w_r)[:, None] * res["vel_c"]["left"][sl]  # (M, 2)
    height = -(w_r * res["low"]["right"][sl] + (1.0 - w_r) * res["low"]["left"][sl])  # (M,) pelvis over the load
    return ph["right"][sl] - 1.0, np.linalg.norm(v, axis=1), height


def walk_warp(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool) -> np.ndarray:
    """Walking: phase warp that gives the no-slip pelvis speed the course of real walking.

    The templates' stance kinematics sweep the loaded foot back unevenly (slowly in loading
    response, fast in mid-stance), so the no-slip pelvis speed of the unwarped templates
    swings between about 0.1 and 2.5 times its mean within each step, and the pelvis moves
    fastest when it is highest: the opposite of real walking, whose forward speed varies by
    about 10 % and is lowest at mid-stance (inverted pendulum; Zijlstra & Hof 2003). The
    phase therefore advances at a rate inversely proportional to that speed times the target
    course ``1 - WALK_SPEED_SWING * h`` (``h`` the pelvis height over the loaded feet, scaled to
    +-1), bounded to [:data:`WALK_WARP_RATE_RANGE`] times the mean and smoothed, so a uniform
    clock gives a forward speed that dips by about :data:`WALK_SPEED_SWING` when the pelvis is
    highest, with the stride length and cadence unchanged. Returns the
    Fourier coefficients (1 + 2 WARP_HARMONICS,) of the periodic ``phase(u) - u``.
    """
    phase, sweep, height = _walk_sweep(subject, vstar, fit, use_subject)
    dev = height - float(np.mean(height))
    v_target = 1.0 - WALK_SPEED_SWING * dev / max(float(np.max(np.abs(dev))), 1e-6)  # slowest when highest
    dudp = np.clip(sweep / v_target / max(float(np.mean(sweep / v_target)), 1e-6), *WALK_WARP_RATE_RANGE)
    return _warp_coefficients(phase, dudp, smooth=WALK_WARP_SMOOTH, floor=WALK_WARP_RATE_RANGE[0])


def stride_table(subject: SubjectParams, activity: str, use_subject: bool):
    """Per-subject fit of the kinematics to the ground on a grid of v*.

    Returns ``(grid (G,), fit (G, N_FIT), stride length (G,) m, warp (G, 1 + 2W))``; the fit
    slots are :data:`~imukin.simulation.gait.pose.FIT_SCALE` etc. Walking: the stride scale (hip flexion and pelvic
    rotation range) makes the no-slip stride length equal the cadence law's ``speed /
    stride frequency`` (the length returned is what the kinematics produce, linear in the
    scale), and a hip flexion offset and the trailing-leg correction put both feet on the
    ground when the heel lands. Running: the stride scale makes the stance sweep the
    contact length of the template's stance fraction, the stride length is the cadence
    law's, and the phase warp (:func:`run_warp`) keeps the speed even.
    """
    lo, hi = VSTAR_RANGE[activity]
    grid = np.linspace(lo, hi, 5)
    fit_tab, lengths = np.zeros((len(grid), N_FIT)), np.empty(len(grid))
    warp = np.zeros((len(grid), 1 + 2 * WARP_HARMONICS))
    for i, v in enumerate(grid):
        speed = float(subject.speed_m_s(v))
        step_hz = subject.cadence_factor * float(step_frequency_hz(activity, speed, subject.leg_length_m))
        target = 2.0 * speed / step_hz  # stride length (m) of the cadence law
        fit = np.zeros(N_FIT)
        fit[FIT_SCALE] = 1.0
        fit[FIT_TOE_OFF] = float(stance_fraction(activity, v))
        if activity == "running":  # stride length from the cadence law; the warp keeps the speed even
            contact = target * fit[FIT_TOE_OFF]  # contact length (m) for the template's stance fraction
            for _ in range(2):  # the stride scale makes the stance sweep that long
                s1 = float(np.mean(_stance_sweep(subject, v, fit, use_subject)[2])) / 2.0
                f2 = fit.copy()
                f2[FIT_SCALE] += 0.2
                s2 = float(np.mean(_stance_sweep(subject, v, f2, use_subject)[2])) / 2.0
                if abs(s2 - s1) > 1e-6:
                    fit[FIT_SCALE] = float(np.clip(fit[FIT_SCALE] + 0.2 * (contact - s1) / (s2 - s1),
                                                    *_STRIDE_SCALE_RANGE))
            fit_tab[i], lengths[i] = fit, target
            warp[i] = run_warp(subject, v, fit, target, use_subject)
            continue
        for _ in range(2):  # the ground fit and the stride scale depend on each other
            if activity == "walking":
                fit = _fit_ground(subject, v, fit, use_subject)
            s1 = _stride_length(subject, activity, v, fit, use_subject)
            f2 = fit.copy()
            f2[FIT_SCALE] += 0.2
            s2 = _stride_length(subject, activity, v, f2, use_subject)
            k = fit[FIT_SCALE] + 0.2 * (target - s1) / (s2 - s1) if abs(s2 - s1) > 1e-6 else fit[FIT_SCALE]
            k = float(np.clip(k, *_STRIDE_SCALE_RANGE))
            lengths[i] = s1 + (k - fit[FIT_SCALE]) / 0.2 * (s2 - s1)
            fit[FIT_SCALE] = k
        fit_tab[i] = fit
        if activity == "walking":
            warp[i] = walk_warp(subject, v, fit, use_subject)
    return grid, fit_tab, lengths, warp
