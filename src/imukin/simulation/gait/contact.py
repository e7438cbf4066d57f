"""Whole-body translation from ground contact: walking and running, ballistic flight, stance helpers.

The loaded foot rolls without slipping (the pelvis horizontal velocity is minus the velocity,
relative to the pelvis, of the material point under the foot) and touches the ground (sets
the pelvis height). Walking: the load passes from the trailing to the leading foot across
double support, no foot ever enters the ground, and the result is jerk-limited. Running:
stance from heel strike to toe-off, ballistic flight (vertical acceleration -g, constant
horizontal velocity) between stances, joined by a jerk-limited least-squares fit
(:func:`_ballistic_fit`).
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import solveh_banded

from imukin.conventions import SIDES, G, segment_name
from imukin.simulation.body import SubjectParams
from imukin.simulation.gait.pose import FIT_TOE_OFF, segment_pose
from imukin.simulation.gait.smooth import smootherstep, softplus

#: Walking contact: softness (m) of the no-penetration guard.
_CONTACT_SOFT_M = 0.002
#: Running: tolerances of the ballistic fits (see :func:`_ballistic_fit`). Vertical position:
#: stance tracking (m), flight acceleration (m/s^2), jerk (m/s^3). Horizontal velocity: tracking
#: (m/s), flight acceleration (m/s^2), jerk (m/s^3); the horizontal fit tracks the whole course
#: (the flight speed is set in :func:`_running_translation`), so its flight term has no weight and
#: it is jerk-limited smoothing, as the walking fits are.
_RUN_FIT_VERTICAL = (0.003, 0.5, 1500.0)
_RUN_FIT_HORIZONTAL = (0.05, 0.5, 300.0)
#: Walking: the same fits with no flight, as jerk-limited smoothing of the contact solution.
#: Known limit: the contact path of the template kinematics is inconsistent by millimetres at every load
#: hand-over, and this fit follows it, so the whole body (every segment's accelerometer, the pelvis's
#: too) rings at up to +-30 m/s^2 for ~0.2 s after each heel strike, where a real pelvis sees a few m/s^2.
#: A path kept on the scale of ground reaction forces (the foot giving 2-10 mm, accelerations of
#: ~2.5 m/s^2) removed the ringing, but the walking CNNs trained on it were no better on the real
#: checks (offset-removed flexion on the Kuopio IMUs and on IMUs from real marker trials: worse in 6
#: of 9 joint cells by up to 0.28 deg, better in 2 by up to 0.09): the ringing stands in for the
#: heel-strike transients that real shank and foot sensors record. Adding those transients in their own
#: right to the smooth path (each heel strike ringing the tissue oscillator with a 0.2-0.4 m/s speed
#: change at the foot, 70/40/25 % of it at shank/thigh/pelvis) did not bring the real checks back either
#: (CNN flexion worse in 7 of 9 cells by up to 0.30 deg, better in 2 by up to 0.17), so the ringing stays.
_WALK_FIT_VERTICAL = (0.002, 1.0, 500.0)
_WALK_FIT_HORIZONTAL = (0.02, 1.0, 150.0)

#: Running: dip of the horizontal speed at mid-stance relative to the speed in flight. The braking
#: impulse of a running step (about 0.02 body weight x s, Munro et al. 1987) takes about 0.2 m/s off
#: 3-5 m/s, so about 5 %; the speed is lowest at mid-stance, when the pelvis is lowest.
RUN_SPEED_DIP = 0.05


# ---------------------------------------------------------------- poses in the lab
def forward_kinematics(subject: SubjectParams, activity: str, fs: float, phase: dict, vstar: np.ndarray,
                       psi: np.ndarray, fit: np.ndarray, mods: dict | None, use_subject: bool,
                       t0: float = 0.0, standing=None) -> dict:
    """:func:`~imukin.simulation.gait.pose.segment_pose` plus the whole-body translation from ground contact.

    The arguments are those of :func:`~imukin.simulation.gait.pose.segment_pose`, with the
    sampling rate ``fs`` (Hz) and the time ``t0`` (s) of the first sample (and ``standing``). Besides the pose
    entries the result holds ``pelvis_pos`` (N, 3), ``toe_offs`` (side -> toe-off times, s)
    and ``vel_c`` (side -> (N, 2) horizontal velocity, relative to the pelvis, of the
    material point under the foot).
    """
    res = segment_pose(subject, activity, phase, vstar, psi, fit, mods, use_subject, standing)
    rot, rel, low = res["rot"], res["rel"], res["low"]
    dt = 1.0 / fs
    vel_c = {}
    for side in SIDES:
        ft = segment_name("foot", side)
        # velocity (relative to the pelvis) of the material point under the foot: v_origin + R' p
        v_org = np.gradient(rel[ft][:, [0, 2]], dt, axis=0)  # (N, 2)
        r_dot = np.gradient(rot[ft][:, [0, 2], :], dt, axis=0)  # (N, 2, 3)
        vel_c[side] = v_org + np.einsum("nkj,nj->nk", r_dot, res["contact"][side])  # (N, 2)
    if activity == "walking":
        y, v_h = _walking_translation(fs, phase, fit[:, FIT_TOE_OFF], low, vel_c)
    else:
        y, v_h = _running_translation(fs, phase, fit[:, FIT_TOE_OFF], low, vel_c)
    t = t0 + np.arange(len(vstar)) / fs
    toe_offs = {sd: crossings(phase[sd] - fit[:, FIT_TOE_OFF], t) for sd in SIDES}  # phase passes k + beta
    xz = np.concatenate([np.zeros((1, 2)), np.cumsum(0.5 * (v_h[1:] + v_h[:-1]) * dt, axis=0)])  # (N, 2)
    res["pelvis_pos"] = np.column_stack([xz[:, 0], y, xz[:, 1]])
    res["toe_offs"] = toe_offs
    res["vel_c"] = vel_c
    return res


def crossings(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Times where a non-decreasing x passes an integer (linear interpolation)."""
    k = np.floor(x)
    i = np.flatnonzero(k[1:] > k[:-1])
    frac = (k[i + 1] - x[i]) / np.maximum(x[i + 1] - x[i], 1e-12)
    return t[i] + frac * (t[i + 1] - t[i])


# ---------------------------------------------------------------- translation
def _walking_translation(fs: float, phase: dict, beta: np.ndarray, low: dict, vel_c: dict):
    """Walking: the foot in stance by its phase (toe-off at ``beta`` (N,) of the cycle) carries
    the body; the load passes from the trailing to the leading foot across double support;
    no foot ever enters the ground.

    Returns the pelvis height (N,) and horizontal velocity (N, 2) [x, z].
    """
    ds = beta - 0.5  # double support, cycles
    load = {}
    for side in SIDES:
        frac = phase[side] - np.floor(phase[side])
        load[side] = smootherstep(frac / ds) * smootherstep((beta - frac) / ds)  # (N,)
    total = np.maximum(load["right"] + load["left"], 1e-6)
    w_r = load["right"] / total  # (N,) share of the right foot
    y_load = -(w_r * low["right"] + (1.0 - w_r) * low["left"])  # pelvis height with the loaded foot down
    lo = np.minimum(low["right"], low["left"])
    soft_low = lo - _CONTACT_SOFT_M * np.log(np.exp((lo - low["right"]) / _CONTACT_SOFT_M)
                                             + np.exp((lo - low["left"]) / _CONTACT_SOFT_M))
    y = y_load + softplus(-soft_low - y_load, _CONTACT_SOFT_M)  # never so low that a foot enters the ground
    v_h = -(w_r[:, None] * vel_c["right"] + (1.0 - w_r)[:, None] * vel_c["left"])  # (N, 2)
    # jerk-limited smoothing: heel strikes and load hand-overs without unphysical spikes
    ones = np.ones_like(y)
    y = _ballistic_fit(y, ones, fs, 2, 0.0, *_WALK_FIT_VERTICAL)
    v_h = np.stack([_ballistic_fit(v_h[:, k], ones, fs, 1, 0.0, *_WALK_FIT_HORIZONTAL) for k in range(2)], axis=1)
    return y, v_h


def _running_translation(fs: float, phase: dict, beta: np.ndarray, low: dict, vel_c: dict):
    """Running: stance by phase (heel strike to toe-off at ``beta`` (N,) of the cycle), ballistic
    flight between stances; returns the pelvis height (N,) and horizontal velocity (N, 2).

    The stance foot sets the height and (no slip) the velocity; flights are parabolas
    (acceleration -g) between the toe-off and landing heights. The horizontal velocity in
    flight is constant from one stance to the next: the adjoining stances' mean speed
    over the mean of their dip course (:data:`RUN_SPEED_DIP`), as a runner's speed is the
    same at toe-off and at the next contact. The no-slip velocity is followed in the middle
    of stance only (:data:`_RUN_CONTACT_EDGE`): at contact and toe-off the templates' rolling
    heel and toe give no-slip speeds far from the body's. :func:`_ballistic_fit` then joins
    stance and flight with bounded jerk."""
    n = len(beta)
    t = np.arange(n) / fs
    ramp = 0.03  # cycles, width of the load hand-over at contact and toe-off
    w, w_mid, hs, to = {}, {}, {}, {}
    for side in SIDES:
        p = phase[side]
        frac = p - np.floor(p)
        d_hs = (frac + 0.5) % 1.0 - 0.5  # cycles since heel strike, in [-0.5, 0.5)
        w[side] = smootherstep(d_hs / ramp + 0.5) * smootherstep((beta - d_hs) / ramp + 0.5)
        w_mid[side] = w[side] * _stance_middle(d_hs / beta)
        hs[side] = crossings(p, t)
        to[side] = crossings(p - beta, t)  # toe-off: phase passes k + beta
    wsum = w["right"] + w["left"]  # (N,) in [0, 1]
    wmid = w_mid["right"] + w_mid["left"]  # (N,) in [0, 1]
    safe = np.maximum(wsum, 1e-12)
    y_st = -(w["right"] * low["right"] + w["left"] * low["left"]) / safe  # (N,)
    v_st = -(w["right"][:, None] * vel_c["right"] + w["left"][:, None] * vel_c["left"]) / safe[:, None]
    # flights: from each toe-off to the next heel strike of either foot
    t_to = np.concatenate([to["right"], to["left"]])
    t_hs = np.sort(np.concatenate([hs["right"], hs["left"]]))
    t_to = np.sort(t_to)
    y, v = y_st.copy(), v_st.copy()
    if len(t_to) and len(t_hs):
        j = np.searchsorted(t_hs, t_to)
        ok = j < len(t_hs)
        t0, t1 = t_to[ok], t_hs[j[ok]]
        y_ref = lambda tt: np.interp(tt, t, y_st)  # noqa: E731
        y0, y1 = y_ref(t0), y_ref(t1)
        k1 = np.minimum(np.searchsorted(t_to, t1), len(t_to) - 1)
        v0 = _stance_mean(v_st, wmid, t, t_hs[np.maximum(j[ok] - 1, 0)], t0) / _RUN_STANCE_MEAN_SPEED  # (K, 2)
        v1 = _stance_mean(v_st, wmid, t, t1, t_to[k1]) / _RUN_STANCE_MEAN_SPEED
        # each sample belongs to the flight whose [previous stance middle, next stance middle] holds it
        mids = 0.5 * (t1[:-1] + t0[1:])
        f = np.searchsorted(mids, t)  # (N,) flight index
        a, b = t0[f], t1[f]
        s = (t - a) / np.maximum(b - a, 1e-9)
        y_fl = y0[f] + s * (y1[f] - y0[f]) + 0.5 * G * (t - a) * (b - t)  # curvature -g through both ends
        v_fl = v0[f] + np.clip(s, 0.0, 1.0)[:, None] * (v1[f] - v0[f])  # (N, 2), constant speed in flight
        y = wsum * y_st + (1.0 - wsum) * y_fl
        v = wmid[:, None] * v_st + (1.0 - wmid)[:, None] * v_fl
    y = _ballistic_fit(y, wsum, fs, 2, -G, *_RUN_FIT_VERTICAL)
    ones = np.ones_like(wmid)
    v = np.stack([_ballistic_fit(v[:, k], ones, fs, 1, 0.0, *_RUN_FIT_HORIZONTAL) for k in range(2)], axis=1)
    return y, v


# ---------------------------------------------------------------- stance helpers
#: Running: fraction of stance at contact and at toe-off over which the horizontal velocity passes from
#: the flight value to the no-slip one (see :func:`_running_translation`).
_RUN_CONTACT_EDGE = 0.2


def _stance_middle(s: np.ndarray) -> np.ndarray:
    """Weight (0-1) of the no-slip velocity at the fraction ``s`` of stance gone (0 outside stance)."""
    s = np.clip(s, 0.0, 1.0)
    return smootherstep(s / _RUN_CONTACT_EDGE) * smootherstep((1.0 - s) / _RUN_CONTACT_EDGE)


def _stance_speed_course_mean() -> float:
    """Mean of the stance speed course ``1 - RUN_SPEED_DIP sin(pi s)`` under :func:`_stance_middle`."""
    s = np.linspace(0.0, 1.0, 2001)
    m = _stance_middle(s)
    return float(np.sum(m * (1.0 - RUN_SPEED_DIP * np.sin(np.pi * s))) / np.sum(m))


def _stance_mean(v: np.ndarray, weight: np.ndarray, t: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Weighted mean of ``v`` (N, C) over the samples in each ``[start_k, end_k]`` (K,): (K, C); the
    value at ``end_k`` where the interval holds no weight."""
    c = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(weight[:, None] * v, axis=0)])  # (N + 1, C)
    cw = np.concatenate([[0.0], np.cumsum(weight)])  # (N + 1,)
    i0 = np.searchsorted(t, start, side="left")
    i1 = np.searchsorted(t, end, side="right")
    sw = (cw[i1] - cw[i0])[:, None]
    at_end = np.stack([np.interp(end, t, v[:, k]) for k in range(v.shape[1])], axis=1)
    return np.where(sw > 1e-9, (c[i1] - c[i0]) / np.maximum(sw, 1e-9), at_end)


#: Running: mean of the stance speed course over the middle of stance, relative to the flight speed.
_RUN_STANCE_MEAN_SPEED = _stance_speed_course_mean()


# ---------------------------------------------------------------- ballistic fit
def _banded_gram(stencil: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    """Upper banded form (B, n) of ``D^T diag(weight) D`` for the difference operator D whose rows
    are ``stencil`` at offsets 0..n-len(stencil); ``weight`` has one entry per row; B = 4."""
    m = len(stencil)
    ab = np.zeros((4, n))
    idx = np.arange(len(weight))
    for a in range(m):
        for b in range(a, m):  # entry (i+a, i+b) gets weight_i * c_a * c_b
            ab[3 - (b - a), idx + b] += weight * stencil[a] * stencil[b]
    return ab


#: Finite-difference stencils of the first, second and third derivative (divide by dt^k).
_STENCILS = {1: np.array([-1.0, 1.0]), 2: np.array([1.0, -2.0, 1.0]), 3: np.array([-1.0, 3.0, -3.0, 1.0])}


def _ballistic_fit(ref: np.ndarray, stance_w: np.ndarray, fs: float, order: int, free_value: float,
                   sigma_ref: float, sigma_free: float, sigma_smooth: float) -> np.ndarray:
    """Smooth signal x that follows ``ref`` in stance and moves freely (ballistically) in flight.

    Least squares, one banded linear solve; per sample: the stance weight ``w`` times
    ``((x - ref) / sigma_ref)^2``, plus ``(1 - w) ((x^(order) - free_value) / sigma_free)^2``
    (flight: the order-th derivative takes its free value, e.g. a vertical acceleration of
    -g, or a horizontal acceleration of 0 for a velocity signal), plus
    ``(x^(order + 1) / sigma_smooth)^2`` (bounded jerk at the transitions).
    """
    n, dt = len(ref), 1.0 / fs
    d_free = _STENCILS[order] / dt ** order
    d_smooth = _STENCILS[order + 1] / dt ** (order + 1)
    w_ref = stance_w / sigma_ref ** 2  # (N,)
    k = len(d_free)
    w_free = (1.0 - stance_w[(k - 1) // 2: n - k // 2]) / sigma_free ** 2  # (N-k+1,) at the stencil centres
    ab = _banded_gram(d_smooth, np.full(n - len(d_smooth) + 1, 1.0 / sigma_smooth ** 2), n)
    ab += _banded_gram(d_free, w_free, n)
    ab[-1] += w_ref
    rhs = w_ref * ref
    for j, c in enumerate(d_free):  # D^T (w_free * free_value)
        rhs[j:n - k + 1 + j] += c * w_free * free_value
    return solveh_banded(ab, rhs)
