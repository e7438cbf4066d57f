"""Whole-sequence orientation refinement: network orientations fused with the gyroscope.

The problem
-----------
An orientation network gives, for every frame, the two sensors' orientations in a
*heading-free* frame (segment 1's heading removed, see
:func:`imukin.rotations.heading_free`). The gyroscopes give how each sensor
turns from one frame to the next, with noise and a bias. Both are combined by finding
the orientations ``R[k, t]`` (sensor k = 1 proximal, 2 distal; every frame at once)
and the two gyroscope biases ``b[k]`` that minimise::

    sum_k,t || (Log(R[k,t]^T R[k,t+1]) - theta[k,t] + b[k] dt) / (sigma_g dt) ||^2   gyroscope
  + sum_k,t || (R[k,t]^T e_up - u[k,t]) / sigma_p ||^2                               tilt prior
  + sum_t   || Log(Q[t]^T R[1,t]^T R[2,t]) / sigma_p ||^2                            relative prior
  + sum_k   || b[k] / sigma_b ||^2                                                   bias prior
  + sum_k,t || c[k,t] (R[k,t]^T e_up - a[k,t] / |a[k,t]|) / sigma_a ||^2             gravity (optional)

with ``theta[k, t]`` the gyroscope's rotation over one sample (trapezoid plus coning
term, as :func:`imukin.simulation.imu.integrate_gyroscope`), ``dt = 1 / fs``;
``(Log(R_t^T R_t+1) - theta_t) / dt`` is the ``log(R_t^T R_t+1) * fs - w_t`` of the
reference. ``u[k, t] = R_net[k, t]^T e_up`` is the direction of gravity (up) that the
network sees in each sensor, ``Q[t] = R_net[1, t]^T R_net[2, t]`` the relative
orientation it sees, ``a`` the accelerometer and ``c`` a quasi-static gate
``exp(-(|a| - g)^2 / (2 gate^2))``.

The heading, and the frame in which this is solved
--------------------------------------------------
The gyroscope keeps the heading while the network's frame removes segment 1's heading
at every frame: a time-varying frame rotation, so ``R_net`` and gyroscope increments
cannot be compared directly. Everything the network knows that does not depend on
heading is exactly its tilt of segment 1 (two degrees of freedom: segment 1's heading
is zero by construction) and the relative orientation of the two segments (three);
the tilt of segment 2 follows from them. The priors above use exactly those
(tilt of both segments, relative orientation), and they are unchanged by any rotation
of the lab about the vertical. So the orientations are solved in an ordinary lab frame
whose heading comes from the gyroscope; only one constant (the heading of the whole
lab) is left free, and Levenberg-Marquardt damping fixes it at its starting value. The
result is handed back in that lab frame (:attr:`OptimizeResult.r1`) and heading-free
like the network's (:meth:`OptimizeResult.heading_free`); joint angles only need
``R1^T R2``, which both give alike.

The solver
----------
Gauss-Newton with Levenberg-Marquardt damping on SO(3) with right perturbations
``R <- R Exp(delta)`` and analytic Jacobians (``J_r^{-1}`` of the logarithm). Every
residual touches one frame or two neighbouring frames, so the normal equations over
the ``6 T`` orientation unknowns are block-tridiagonal: they are assembled entry by entry
from closed forms of the Jacobian products (vectors over all frames, written straight
into band storage with 8 off-diagonals) and solved by a banded Cholesky factorisation
(LAPACK ``dpbtrf``) in O(T). The six bias unknowns couple to every frame; they border
the band and are eliminated by a Schur complement (one forward substitution with seven
right-hand sides through the same factor, one back substitution). Each accepted
point's residuals give both its cost and the next normal equations. Start
(:func:`smooth_start`): tilt and relative orientation from the network, heading from
integrating segment 1's gyroscope, then each segment's gyroscope integrated over short
chunks placed where the network puts them on average, so that the start is as smooth as
the motion. From the network's frames directly (a few degrees of jitter between
neighbouring frames, hundreds of times the gyroscope's per-sample SD) the solver settled
on some running ankles in a minimum 25-30 times costlier than the one found from the
smooth start, the ankle 27-66 deg off (4 of 24 held-out running legs); elsewhere both
starts reach the same minimum.

Long recordings are solved in overlapping windows (``window_s``, ``overlap_s``) and
stitched in the middle of each overlap, the later window turned about the vertical to
continue the earlier one's heading. With known biases a frame's solution depends on
data within a few fusion time constants (``prior_sd / (gyro_sd dt)`` frames, 2.5 s by
default), so windows reproduce the whole-sequence result; the biases are estimated per
window (minutes of data by default, which also follows a slowly drifting bias). Memory
stays bounded by the window, not the recording.

If the iteration does not converge, a warning says so and the network's orientations
(with the gyroscope heading) are returned instead: never a half-converged result.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy.linalg import lapack
from scipy.spatial.transform import Rotation

from imukin.conventions import UP_LAB, G
from imukin.errors import ImukinError
from imukin.rotations import heading_free, heading_of, heading_rotation, so3_exp, so3_log
from imukin.signal import window_starts
from imukin.simulation.imu import integrate_gyroscope

N_SEG = 2  # segments per joint: 1 proximal, 2 distal
START_CHUNK_S = 1.0  # s, chunks of the smooth start (gyroscope drift within one stays well under a degree)
N_BAND = 8  # upper bandwidth of the normal equations with 6 unknowns per frame


@dataclass
class OptimizeConfig:
    """Weights and stopping rules of the refinement. Defaults suit 200 Hz gait with MEMS gyroscopes."""

    gyro_sd_dps: float = 2.0  # deg/s, SD of the gyroscope rate error per sample (noise, scale error, tissue motion)
    prior_sd_deg: float = 5.0  # deg, SD of the network's per-frame tilt and relative-orientation error
    estimate_bias: bool = True  # solve for a constant gyroscope bias per sensor (MEMS turn-on bias ~0.5 deg/s)
    bias_sd_dps: float = 2.0  # deg/s, prior SD of each bias component (keeps weakly seen components near 0)
    gravity_sd_deg: float = 0.0  # deg, SD of the accelerometer gravity-direction term; 0 switches it off
    gravity_gate_ms2: float = 1.0  # m/s^2, frames weigh exp(-(|acc| - g)^2 / (2 gate^2)) in the gravity term
    max_iter: int = 100  # Levenberg-Marquardt iterations before giving up (and falling back to the network);
    # ~6 for network errors of a few degrees, ~50 for errors of 100 degrees
    tol: float = 1e-8  # converged when an accepted step lowers the cost by less than this fraction ...
    step_tol_deg: float = 1e-3  # ... or moves no frame by more than this (degrees)
    window_s: float = 300.0  # s, longer recordings are solved in overlapping windows of this length
    overlap_s: float = 30.0  # s, overlap of consecutive windows (stitched in its middle)

    def __post_init__(self):
        for name in ("gyro_sd_dps", "prior_sd_deg", "bias_sd_dps", "gravity_gate_ms2", "window_s", "overlap_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ImukinError(f"optimizer setting {name} must be a positive number, got {v}")
        if not (math.isfinite(self.gravity_sd_deg) and self.gravity_sd_deg >= 0):
            raise ImukinError(f"gravity_sd_deg must be >= 0 (0 switches the term off), got {self.gravity_sd_deg}")
        if self.overlap_s >= self.window_s:
            raise ImukinError(f"overlap_s ({self.overlap_s}) must be less than window_s ({self.window_s})")
        if int(self.max_iter) < 1:
            raise ImukinError(f"max_iter must be at least 1, got {self.max_iter}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class OptimizeResult:
    """Refined orientations of a joint's two sensors."""

    r1: np.ndarray  # (T, 3, 3) segment-1 sensor orientation; lab frame whose heading follows the gyroscope
    r2: np.ndarray  # (T, 3, 3) segment-2 sensor orientation, same frame
    bias: np.ndarray  # (2, 3) rad/s, estimated gyroscope biases (mean over windows)
    converged: bool  # False: at least one window fell back to the network orientations
    n_iter: int  # iterations, summed over windows
    cost_initial: float  # cost at the start (network tilt/relative orientation, gyroscope heading)
    cost_final: float  # cost at the end

    def heading_free(self) -> tuple[np.ndarray, np.ndarray]:
        """The two orientations with segment 1's heading removed, as the network gives them: 2 x (T, 3, 3)."""
        return heading_free(self.r1, self.r2)

    def relative(self) -> np.ndarray:
        """``R1^T R2`` (T, 3, 3), the input of :func:`imukin.conventions.relative_rotation_to_angles`."""
        return np.swapaxes(self.r1, -1, -2) @ self.r2


# ---------------------------------------------------------------- SO(3) helpers
def hat(v: np.ndarray) -> np.ndarray:
    """Skew-symmetric matrices ``[v]x``: (..., 3) -> (..., 3, 3)."""
    z = np.zeros(v.shape[:-1])
    x, y, w = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([np.stack([z, -w, y], -1), np.stack([w, z, -x], -1), np.stack([-y, x, z], -1)], -2)


def _jr_inv_coefficient(theta2: np.ndarray) -> np.ndarray:
    """``c`` of ``J_r^{-1}(phi) = I + K / 2 + c K^2`` (``K = [phi]x``) from ``theta^2 = |phi|^2``: (...) -> (...)."""
    theta = np.sqrt(theta2)
    small = theta < 1e-4
    t = np.where(small, 1.0, theta)
    return np.where(small, 1.0 / 12.0 + theta2 / 720.0, 1.0 / t**2 - (1.0 + np.cos(t)) / (2.0 * t * np.sin(t)))


def right_jacobian_inv(phi: np.ndarray) -> np.ndarray:
    """``J_r^{-1}(phi)`` with ``Log(Exp(phi) Exp(d)) = phi + J_r^{-1}(phi) d + O(d^2)``: (n, 3) -> (n, 3, 3)."""
    c = _jr_inv_coefficient(np.sum(phi * phi, axis=-1))  # (n,)
    k = hat(phi)
    return np.eye(3) + 0.5 * k + c[:, None, None] * (k @ k)


def _tr(r: np.ndarray) -> np.ndarray:
    return np.swapaxes(r, -1, -2)


def _sumsq(x: np.ndarray) -> float:
    # einsum, not a BLAS dot: a threaded BLAS call can wait for a busy core far longer than it computes
    x = x.reshape(-1)
    return float(np.einsum("i,i->", x, x))


# ---------------------------------------------------------------- the problem
@dataclass
class Problem:
    """Data of one refinement problem (one window), in the units the residuals use."""

    fs: float  # Hz
    theta: np.ndarray  # (2, T-1, 3) rad, gyroscope rotation over each sample step
    up: np.ndarray  # (2, T, 3) network's up direction in each sensor frame (tilt prior)
    rel: np.ndarray  # (T, 3, 3) network's relative orientation R1^T R2
    grav: np.ndarray | None  # (2, T, 3) accelerometer directions, or None
    grav_w: np.ndarray | None  # (2, T) gravity-term weights (gate / sigma_a), or None
    s_gyro: float  # 1 / (sigma_g dt)
    s_prior: float  # 1 / sigma_p (rad)
    s_bias: float  # 1 / sigma_b (rad/s); 0 when biases are not estimated
    estimate_bias: bool

    @property
    def n_frames(self) -> int:
        return self.up.shape[1]

    @property
    def n_unknowns(self) -> int:
        return 6 * self.n_frames + (6 if self.estimate_bias else 0)


def gyro_increments(gyr: np.ndarray, fs: float) -> np.ndarray:
    """Rotation vector over each sample step (trapezoid plus coning): (T, 3) rad/s -> (T-1, 3) rad."""
    dt = 1.0 / fs
    return 0.5 * dt * (gyr[:-1] + gyr[1:]) + (dt * dt / 12.0) * np.cross(gyr[:-1], gyr[1:])


def build_problem(r_net: np.ndarray, gyr: np.ndarray, fs: float, cfg: OptimizeConfig,
                  acc: np.ndarray | None = None) -> Problem:
    """Residual data from network orientations (2, T, 3, 3), gyroscopes (2, T, 3) and accelerometers."""
    up = np.einsum("ktji,j->kti", r_net, UP_LAB)  # (2, T, 3) = R^T e_up
    rel = _tr(r_net[0]) @ r_net[1]  # (T, 3, 3)
    grav = grav_w = None
    if cfg.gravity_sd_deg > 0 and acc is not None:
        norm = np.linalg.norm(acc, axis=-1)  # (2, T)
        grav = acc / np.maximum(norm, 1e-9)[..., None]
        gate = np.exp(-0.5 * ((norm - G) / cfg.gravity_gate_ms2) ** 2)
        grav_w = gate / np.deg2rad(cfg.gravity_sd_deg)
    return Problem(fs=fs, theta=np.stack([gyro_increments(g, fs) for g in gyr]), up=up, rel=rel, grav=grav,
                   grav_w=grav_w, s_gyro=fs / np.deg2rad(cfg.gyro_sd_dps), s_prior=1.0 / np.deg2rad(cfg.prior_sd_deg),
                   s_bias=1.0 / np.deg2rad(cfg.bias_sd_dps) if cfg.estimate_bias else 0.0,
                   estimate_bias=cfg.estimate_bias)


@dataclass
class Term:
    """Residuals of one kind: rows are frames ``0..n-1``, each touching a few 3-vector unknowns."""

    r: np.ndarray  # (n, d) whitened residuals
    blocks: list  # [(frame offset, segment, J (n, d, 3))]: d r / d delta[segment, row + offset]
    bias_blocks: list  # [(segment, J (n, d, 3))]: d r / d b[segment]


def residual_terms(p: Problem, r: np.ndarray, b: np.ndarray, jac: bool = True) -> list[Term]:
    """All residual terms at orientations ``r`` (2, T, 3, 3) and biases ``b`` (2, 3), with Jacobians.

    The term-by-term statement of the problem (explicit Jacobian blocks), used by
    :func:`dense_jacobian`; the solver assembles the same normal equations in closed form
    (:func:`normal_equations`). The bias prior (six plain residuals) is not listed here.
    """
    dt = 1.0 / p.fs
    terms = []
    # gyroscope: Log(R_t^T R_t+1) - theta_t + b dt, both segments at once
    e = _tr(r[:, :-1]) @ r[:, 1:]  # (2, T-1, 3, 3)
    phi = so3_log(e)  # (2, T-1, 3)
    res = (phi - p.theta + (b[:, None, :] * dt if p.estimate_bias else 0.0)) * p.s_gyro
    if jac:
        n = phi.shape[1]
        jri = right_jacobian_inv(phi.reshape(-1, 3)).reshape(2, n, 3, 3) * p.s_gyro
        ja = -(jri @ _tr(e))  # d/d delta_t
        jc = np.broadcast_to(np.eye(3) * dt * p.s_gyro, (n, 3, 3))
    for k in range(N_SEG):
        if jac:
            terms.append(Term(res[k], [(0, k, ja[k]), (1, k, jri[k])], [(k, jc)] if p.estimate_bias else []))
        else:
            terms.append(Term(res[k], [], []))
    # tilt prior (and optional gravity term): R^T e_up - u, Jacobian [R^T e_up]x
    v = np.einsum("ktji,j->kti", r, UP_LAB)  # (2, T, 3)
    hv = hat(v) if jac else None
    for k in range(N_SEG):
        terms.append(Term((v[k] - p.up[k]) * p.s_prior, [(0, k, hv[k] * p.s_prior)] if jac else [], []))
        if p.grav is not None:
            w = p.grav_w[k][:, None]  # (T, 1)
            terms.append(Term((v[k] - p.grav[k]) * w, [(0, k, hv[k] * w[..., None])] if jac else [], []))
    # relative prior: Log(Q^T R1^T R2)
    r12 = _tr(r[0]) @ r[1]  # (T, 3, 3)
    e = _tr(p.rel) @ r12
    phi = so3_log(e)  # (T, 3)
    blocks = []
    if jac:
        jri = right_jacobian_inv(phi) * p.s_prior
        blocks = [(0, 0, -(jri @ _tr(r12))), (0, 1, jri)]
    terms.append(Term(phi * p.s_prior, blocks, []))
    return terms


@dataclass
class Linearization:
    """Every residual at one point ``(r, b)`` and the rotations their Jacobians are made of."""

    cost: float  # sum of squared whitened residuals, bias prior included
    e: np.ndarray  # (2, T-1, 3, 3) R_t^T R_t+1
    phi: np.ndarray  # (2, T-1, 3) Log(R_t^T R_t+1)
    res: np.ndarray  # (2, T-1, 3) whitened gyroscope residuals
    v: np.ndarray  # (2, T, 3) R^T e_up
    r12: np.ndarray  # (T, 3, 3) R1^T R2
    phi_rel: np.ndarray  # (T, 3) Log(Q^T R1^T R2)


def linearize(p: Problem, r: np.ndarray, b: np.ndarray) -> Linearization:
    """Residuals and cost at one point (the terms of :func:`residual_terms`, without Jacobians).

    Parameters
    ----------
    p : Problem
    r : ndarray, shape (2, T, 3, 3)
        Orientations of both segments.
    b : ndarray, shape (2, 3)
        Gyroscope biases, rad/s.

    Returns
    -------
    Linearization
        The cost and what :func:`normal_equations` builds the Gauss-Newton system from.
    """
    e = _tr(r[:, :-1]) @ r[:, 1:]  # (2, T-1, 3, 3)
    phi = so3_log(e)  # (2, T-1, 3)
    res = phi - p.theta
    if p.estimate_bias:
        res += b[:, None, :] * (1.0 / p.fs)
    res *= p.s_gyro
    v = np.einsum("ktji,j->kti", r, UP_LAB)  # (2, T, 3) = R^T e_up
    r12 = _tr(r[0]) @ r[1]  # (T, 3, 3)
    phi_rel = so3_log(_tr(p.rel) @ r12)  # (T, 3)
    cost = _sumsq(res) + p.s_prior**2 * (_sumsq(v - p.up) + _sumsq(phi_rel))
    if p.grav is not None:
        cost += _sumsq((v - p.grav) * p.grav_w[..., None])
    if p.estimate_bias:
        cost += _sumsq(b * p.s_bias)
    return Linearization(cost=cost, e=e, phi=phi, res=res, v=v, r12=r12, phi_rel=phi_rel)


def total_cost(p: Problem, r: np.ndarray, b: np.ndarray) -> float:
    """Sum of squared whitened residuals."""
    return linearize(p, r, b).cost


def dense_jacobian(p: Problem, r: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stacked residual vector (M,) and its Jacobian (M, N) as dense arrays (small problems, for checks).

    Unknowns are ordered ``[delta_1(t=0), delta_2(t=0), delta_1(t=1), ..., b_1, b_2]``.
    """
    n_frames = p.n_frames
    rows, jrows = [], []
    for t in residual_terms(p, r, b):
        n, d = t.r.shape
        jt = np.zeros((n, d, p.n_unknowns))
        idx = np.arange(n)
        for off, seg, j in t.blocks:
            for c in range(3):
                jt[idx, :, 6 * (idx + off) + 3 * seg + c] += j[:, :, c]
        for seg, j in t.bias_blocks:
            jt[:, :, 6 * n_frames + 3 * seg:6 * n_frames + 3 * seg + 3] += j
        rows.append(t.r.reshape(-1))
        jrows.append(jt.reshape(n * d, -1))
    if p.estimate_bias:
        rows.append((b * p.s_bias).reshape(-1))
        jb = np.zeros((6, p.n_unknowns))
        jb[:, 6 * n_frames:] = np.eye(6) * p.s_bias
        jrows.append(jb)
    return np.concatenate(rows), np.concatenate(jrows)


def _components(a: np.ndarray, n_axes: int = 1) -> np.ndarray:
    """The last ``n_axes`` axes moved to the front, contiguous: (..., 3) -> (3, ...), (..., 3, 3) -> (3, 3, ...)."""
    return np.ascontiguousarray(np.moveaxis(a, tuple(range(-n_axes, 0)), tuple(range(n_axes))))


def _jr_coefficients(p3: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``|phi|^2``, ``c``, ``alpha``, ``beta`` of rotation vectors given by components (3, ...).

    ``J_r^{-1}(phi) = I + K / 2 + c K^2`` (``K = [phi]x``) and
    ``J_r^{-T} J_r^{-1} = beta I + alpha phi phi^T``.
    """
    th2 = p3[0] * p3[0] + p3[1] * p3[1] + p3[2] * p3[2]
    c = _jr_inv_coefficient(th2)
    alpha = 2.0 * c - 0.25 - c * c * th2
    return th2, c, alpha, 1.0 - alpha * th2


def _cross3(a: np.ndarray, b: np.ndarray, i: int) -> np.ndarray:
    """Component ``i`` of ``a x b`` for vectors given by components (3, ...)."""
    j, k = (i + 1) % 3, (i + 2) % 3
    return a[j] * b[k] - a[k] * b[j]


@dataclass
class NormalEquations:
    """Gauss-Newton system ``J^T J dx = -J^T r`` of one linearisation, bias unknowns kept apart."""

    ab: np.ndarray  # (9, 6T) frame part of J^T J, lower band storage (ab[i - j, j] = H[i, j], i >= j)
    rhs: np.ndarray  # (6T, 7) Fortran order: frame-to-bias block B of J^T J (zero without biases), J^T r
    c: np.ndarray  # (6, 6) bias block of J^T J, bias prior included (identity without biases)
    gb: np.ndarray  # (6,) bias part of J^T r
    estimate_bias: bool  # False: no bias unknowns (rhs[:, :6], c and gb are placeholders)

    @property
    def gx(self) -> np.ndarray:
        """Frame part of ``J^T r`` (6T,)."""
        return self.rhs[:, 6]

    @property
    def bmat(self) -> np.ndarray:
        """Frame-to-bias block of ``J^T J`` (6T, 6)."""
        return self.rhs[:, :6]

    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole ``J^T J`` (N, N) and ``J^T r`` (N,), biases last (if estimated), as dense arrays (small
        problems, for checks)."""
        n = self.ab.shape[1]
        h = np.zeros((n, n))
        for d in range(self.ab.shape[0]):
            i = np.arange(n - d)
            h[i + d, i] = h[i, i + d] = self.ab[d, :n - d]
        if not self.estimate_bias:
            return h, self.gx.copy()
        return np.block([[h, self.bmat], [self.bmat.T, self.c]]), np.concatenate([self.gx, self.gb])


def normal_equations(p: Problem, lin: Linearization, b: np.ndarray) -> NormalEquations:
    """``J^T J`` and ``J^T r`` at a linearisation, from closed forms of the Jacobian products.

    With ``K = [phi]x``, ``J_r^{-1}(phi) = I + K / 2 + c K^2`` gives
    ``J_r^{-T} J_r^{-1} = beta I + alpha phi phi^T`` (``alpha = 2c - 1/4 - c^2 |phi|^2``,
    ``beta = 1 - alpha |phi|^2``) and ``J_r^{-T} phi = phi``; ``Exp(phi)`` leaves ``phi``
    unchanged, so each gyroscope residual adds the same 3x3 block at both of its frames.
    These are the products of :func:`dense_jacobian`'s blocks, to rounding. Every entry is
    computed as a vector over frames (arrays of components first, frames last) and written
    straight into LAPACK's band storage.

    Parameters
    ----------
    p : Problem
    lin : Linearization
        Residuals at the current point (:func:`linearize`).
    b : ndarray, shape (2, 3)
        Gyroscope biases of that point, rad/s (for the bias prior's gradient).

    Returns
    -------
    NormalEquations
    """
    n_frames = p.n_frames
    dt = 1.0 / p.fs
    s2, sp2 = p.s_gyro**2, p.s_prior**2
    band = np.zeros((n_frames, 6, N_BAND + 1))  # band[t, i, d] = H[6t + i + d, 6t + i]: LAPACK's layout
    rhs = np.zeros((6 * n_frames, 7), order="F")
    gx = rhs[:, 6].reshape(n_frames, 2, 3)  # view: J^T r of frame t, segment k, axis i
    # gyroscope, both segments (2, T-1): d/d delta_t+1 = s J_r^{-1}, d/d delta_t = -s J_r^{-1} E^T, d/d b = s dt
    ph, res, e = _components(lin.phi), _components(lin.res), _components(lin.e, 2)  # (3, 2, n), (3, 3, 2, n)
    th2, c, alpha, beta = _jr_coefficients(ph)  # (2, n) each
    # tilt prior and gravity term (2, T): J^T J = w (|v|^2 I - v v^T), J^T r = s^2 v x u (+ w_a^2 v x a)
    v, up = _components(lin.v), _components(p.up)  # (3, 2, T)
    wt = sp2 if p.grav is None else sp2 + p.grav_w**2  # scalar or (2, T)
    v2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    # relative prior (T,): d/d delta_2 = s J_r^{-1}, d/d delta_1 = -s J_r^{-1} R12^T
    pr, r12 = _components(lin.phi_rel), _components(lin.r12, 2)  # (3, T), (3, 3, T)
    _, _, alpha_r, beta_r = _jr_coefficients(pr)
    a = np.einsum("ijt,jt->it", r12, pr)  # (3, T) R12 phi
    for i in range(3):
        for j in range(i, 3):
            m = alpha * ph[i] * ph[j]  # (2, n) entry of J_r^{-T} J_r^{-1} / s^2
            if i == j:
                m += beta
            blk = np.empty((2, n_frames))  # (2, T) frame block entry (i, j) of each segment
            blk[:, 0] = 0.0
            blk[:, 1:] = m
            blk[:, :-1] += m
            blk *= s2
            blk -= wt * (v[i] * v[j])
            rel = [alpha_r * a[i] * a[j], alpha_r * pr[i] * pr[j]]  # segment 1, segment 2
            if i == j:
                blk += wt * v2
                rel = [x + beta_r for x in rel]
            for k in range(N_SEG):
                band[:, 3 * k + i, j - i] = blk[k] + sp2 * rel[k]
    for i in range(3):
        for j in range(3):
            # segment 1 axis i to segment 2 axis j, same frame
            band[:, i, 3 + j - i] = -sp2 * (beta_r * r12[i, j] + alpha_r * a[i] * pr[j])
            # frame t to frame t+1, same segment: -s^2 E J_r^{-T} J_r^{-1} = -s^2 (beta E + alpha phi phi^T)
            off = -s2 * (beta * e[i, j] + alpha * ph[i] * ph[j])  # (2, n)
            for k in range(N_SEG):
                band[:-1, 3 * k + i, 6 + j - i] = off[k]
    # J^T r: gyroscope J_r^{-T} res at frame t+1 and -E J_r^{-T} res at frame t, tilt/gravity, relative prior
    pr_dot = ph[0] * res[0] + ph[1] * res[1] + ph[2] * res[2]
    q = [(1.0 - c * th2) * res[i] - 0.5 * _cross3(ph, res, i) + c * pr_dot * ph[i] for i in range(3)]  # (2, n)
    for i in range(3):
        eq = e[i, 0] * q[0] + e[i, 1] * q[1] + e[i, 2] * q[2]
        g = sp2 * _cross3(v, up, i)  # (2, T)
        if p.grav is not None:
            g += p.grav_w**2 * _cross3(v, _components(p.grav), i)
        g[:, 1:] += p.s_gyro * q[i]
        g[:, :-1] -= p.s_gyro * eq
        g[0] -= sp2 * a[i]
        g[1] += sp2 * pr[i]
        gx[:, :, i] = g.T
    ab = band.reshape(6 * n_frames, N_BAND + 1).T  # (9, 6T), Fortran order
    if not p.estimate_bias:
        return NormalEquations(ab=ab, rhs=rhs, c=np.eye(6), gb=np.zeros(6), estimate_bias=False)
    # frame-to-bias blocks: s^2 dt J_r^{-T} at frame t+1, -s^2 dt E J_r^{-T} at frame t
    diag = 1.0 - c * th2
    jt = [[c * ph[m] * ph[j] + (diag if m == j else 0.0) for j in range(3)] for m in range(3)]  # J_r^{-T}, (2, n)
    for m in range(3):  # - K / 2, K = [phi]x
        jt[m][(m + 1) % 3] += 0.5 * ph[(m + 2) % 3]
        jt[m][(m + 2) % 3] -= 0.5 * ph[(m + 1) % 3]
    for i in range(3):
        for j in range(3):
            ejt = e[i, 0] * jt[0][j] + e[i, 1] * jt[1][j] + e[i, 2] * jt[2][j]  # (2, n)
            for k in range(N_SEG):
                col = rhs[:, 3 * k + j].reshape(n_frames, 6)
                col[1:, 3 * k + i] = (s2 * dt) * jt[i][j][k]
                col[:-1, 3 * k + i] -= (s2 * dt) * ejt[k]
    cb = np.eye(6) * (s2 * dt * dt * (n_frames - 1) + p.s_bias**2)
    gb = (lin.res.sum(axis=1) * (p.s_gyro * dt) + b * p.s_bias**2).reshape(-1)
    return NormalEquations(ab=ab, rhs=rhs, c=cb, gb=gb, estimate_bias=True)


def solve_step(p: Problem, ne: NormalEquations, mu: float) -> tuple[np.ndarray, np.ndarray]:
    """Damped Gauss-Newton step ``(H + mu I) dx = -g``: frame updates (T, 2, 3) and bias update (2, 3).

    The frame part is factorised ``L L^T`` in band storage (LAPACK ``dpbtrf``). The bias
    unknowns border it: with ``Y = L^{-1} [B, g_x]`` (one forward substitution, seven
    right-hand sides) their Schur complement is ``C + mu I - Y_B^T Y_B``, and one back
    substitution gives the frame updates.

    Parameters
    ----------
    p : Problem
    ne : NormalEquations
        The undamped system (left unchanged, so a rejected step can be retried with more damping).
    mu : float
        Damping added to the diagonal.

    Returns
    -------
    dx : ndarray, shape (T, 2, 3)
        Rotation-vector updates of each frame and segment, rad.
    db : ndarray, shape (2, 3)
        Bias updates, rad/s (zero when biases are not estimated).

    Raises
    ------
    numpy.linalg.LinAlgError
        The damped matrix is not positive definite.
    """
    n_frames = p.n_frames
    ab = ne.ab.copy(order="F")
    ab[0] += mu
    cb, info = lapack.dpbtrf(ab, lower=1, overwrite_ab=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"the damped normal equations are not positive definite (dpbtrf info {info})")
    if not p.estimate_bias:
        dx, _ = lapack.dpbtrs(cb, ne.rhs[:, 6:], lower=1)
        return -dx.reshape(n_frames, 2, 3), np.zeros((2, 3))
    y, _ = lapack.dtbtrs(cb, ne.rhs, uplo="L", trans="N")  # (6T, 7) L^{-1} [B, g_x]
    yb, yg = y[:, :6], y[:, 6]
    # products with the tall Y by einsum (no threaded BLAS, see _sumsq)
    schur = ne.c + mu * np.eye(6) - np.einsum("ni,nj->ij", yb, yb)
    db = np.linalg.solve(schur, -ne.gb + np.einsum("ni,n->i", yb, yg))
    dx, _ = lapack.dtbtrs(cb, (yg + np.einsum("ni,i->n", yb, db))[:, None], uplo="L", trans="T", overwrite_b=1)
    return -dx.reshape(n_frames, 2, 3), db.reshape(2, 3)


def retract(r: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``R Exp(delta)`` for (2, T, 3, 3) orientations and (T, 2, 3) updates."""
    return r @ so3_exp(np.swapaxes(dx, 0, 1))


def initial_orientations(r_net: np.ndarray, gyr1: np.ndarray, fs: float) -> np.ndarray:
    """Network tilt and relative orientation with segment 1's gyroscope heading: (2, T, 3, 3)."""
    r1_gyro = integrate_gyroscope(gyr1, fs, r_net[0, 0])  # (T, 3, 3), drifts but gives the heading's course
    return heading_rotation(heading_of(r1_gyro))[None] @ r_net


def smooth_start(r0: np.ndarray, gyr: np.ndarray, fs: float, chunk_s: float = START_CHUNK_S) -> np.ndarray:
    """The solver's start: each segment's gyroscope course, turned chunk by chunk (``chunk_s``) to where
    ``r0`` puts it on average.

    With ``G`` the gyroscope's rotation since the first frame
    (:func:`imukin.simulation.imu.integrate_gyroscope` from the identity), the start is ``M_c G(t)``
    in chunk ``c``, ``M_c`` the chordal mean of ``r0(t) G(t)^T`` over the chunk (constant there for a
    perfect network and gyroscope): the gyroscope's shape, the network's place.

    Parameters
    ----------
    r0 : ndarray, shape (2, T, 3, 3)
        Orientations to follow on average (:func:`initial_orientations`).
    gyr : ndarray, shape (2, T, 3)
        Gyroscopes, rad/s.
    fs : float
        Hz.
    chunk_s : float
        Chunk length, s.

    Returns
    -------
    ndarray, shape (2, T, 3, 3)
    """
    n = r0.shape[1]
    step = max(2, int(round(chunk_s * fs)))
    chunk = np.arange(n) // step  # (T,) chunk of each frame
    out = np.empty_like(r0)
    for k in range(N_SEG):
        g = integrate_gyroscope(gyr[k], fs, np.eye(3))  # (T, 3, 3)
        total = np.add.reduceat(r0[k] @ _tr(g), np.arange(0, n, step), axis=0)  # (C, 3, 3) per-chunk sums
        u, _, vt = np.linalg.svd(total)
        u[..., -1] *= np.sign(np.linalg.det(u @ vt))[:, None]  # nearest rotation (chordal mean)
        out[k] = (u @ vt)[chunk] @ g
    return out


def levenberg_marquardt(p: Problem, r0: np.ndarray, cfg: OptimizeConfig) -> tuple[np.ndarray, np.ndarray, dict]:
    """Minimise :func:`total_cost` from ``r0`` (2, T, 3, 3), biases from zero.

    Returns
    -------
    r, b, info
        Orientations (2, T, 3, 3), biases (2, 3) rad/s and ``{"converged", "n_iter",
        "cost_initial", "cost_final", "reason"}``. Not converged: ``r``, ``b`` are the
        last accepted iterate (the caller falls back).
    """
    r, b = r0, np.zeros((2, 3))
    lin = linearize(p, r, b)  # the accepted point's residuals also give its normal equations
    cost = lin.cost
    info = {"converged": False, "n_iter": 0, "cost_initial": cost, "cost_final": cost, "reason": ""}
    if not math.isfinite(cost):
        info["reason"] = "the starting cost is not finite (NaN in the inputs?)"
        return r, b, info
    mu = None
    step_tol = np.deg2rad(cfg.step_tol_deg)
    for it in range(int(cfg.max_iter)):
        info["n_iter"] = it + 1
        ne = normal_equations(p, lin, b)
        if mu is None:  # tiny against the data terms; it only fixes the free lab heading
            mu = 1e-9 * float(ne.ab[0].max())
        while True:
            try:
                dx, db = solve_step(p, ne, mu)
            except np.linalg.LinAlgError:
                dx = None
            if dx is not None and np.all(np.isfinite(dx)) and np.all(np.isfinite(db)):
                r_new, b_new = retract(r, dx), b + db
                lin_new = linearize(p, r_new, b_new)
                cost_new = lin_new.cost
                if math.isfinite(cost_new) and cost_new <= cost:
                    break
            mu *= 8.0
            if mu > 1e12:
                info["reason"] = "no step lowers the cost (damping exhausted)"
                info["cost_final"] = cost
                return r, b, info
        decrease = cost - cost_new
        r, b, cost, lin = r_new, b_new, cost_new, lin_new
        mu = max(mu / 4.0, 1e-15)
        if decrease <= cfg.tol * max(cost, 1e-300) or float(np.abs(dx).max()) < step_tol:
            info.update(converged=True, cost_final=cost)
            return r, b, info
    info["cost_final"] = cost
    info["reason"] = f"not converged in {cfg.max_iter} iterations"
    return r, b, info


# ---------------------------------------------------------------- public entry point
def _check_inputs(r1_net, r2_net, gyr1, gyr2, fs, acc1, acc2):
    fs = float(fs)
    if not (math.isfinite(fs) and fs > 0):
        raise ImukinError(f"fs must be a positive sampling rate in Hz, got {fs}")
    r1_net, r2_net = np.asarray(r1_net, float), np.asarray(r2_net, float)
    n = len(r1_net) if r1_net.ndim == 3 else -1
    if r1_net.shape != (n, 3, 3) or r2_net.shape != (n, 3, 3) or n < 2:
        raise ImukinError(f"network orientations must be two (T, 3, 3) arrays with T >= 2, got {r1_net.shape} "
                          f"and {r2_net.shape}")
    gyr1, gyr2 = np.asarray(gyr1, float), np.asarray(gyr2, float)
    if gyr1.shape != (n, 3) or gyr2.shape != (n, 3):
        raise ImukinError(f"gyroscopes must be (T, 3) with T = {n} like the orientations, got "
                          f"{gyr1.shape} and {gyr2.shape}")
    acc = None
    if acc1 is not None or acc2 is not None:
        if acc1 is None or acc2 is None:
            raise ImukinError("pass both accelerometers (acc1 and acc2) or neither")
        acc1, acc2 = np.asarray(acc1, float), np.asarray(acc2, float)
        if acc1.shape != (n, 3) or acc2.shape != (n, 3):
            raise ImukinError(f"accelerometers must be (T, 3) with T = {n}, got {acc1.shape} and {acc2.shape}")
        acc = (acc1, acc2)
    for name, arrays in (("network orientations", (r1_net, r2_net)), ("gyroscope", (gyr1, gyr2)),
                         ("accelerometer", acc or ())):
        if not all(np.all(np.isfinite(a)) for a in arrays):
            raise ImukinError(f"the {name} input has NaN or inf samples; interpolate or drop the gaps first")
    # kept as separate arrays (no whole-recording copies); windows are stacked as they are solved
    return (r1_net, r2_net), (gyr1, gyr2), fs, acc


def _window(pair, s: int, e: int) -> np.ndarray | None:
    """Frames [s, e) of a pair of per-segment arrays, stacked: (2, e - s, ...)."""
    return None if pair is None else np.stack([pair[0][s:e], pair[1][s:e]])


def _solve_window(r_net, gyr, fs, acc, cfg) -> tuple[np.ndarray, np.ndarray, dict]:
    # project onto rotations (network outputs after Gram-Schmidt are rotations to rounding)
    r_net = Rotation.from_matrix(r_net.reshape(-1, 3, 3)).as_matrix().reshape(r_net.shape)
    r0 = initial_orientations(r_net, gyr[0], fs)
    p = build_problem(r_net, gyr, fs, cfg, acc)
    r, b, info = levenberg_marquardt(p, smooth_start(r0, gyr, fs), cfg)
    if not info["converged"]:
        warnings.warn(f"orientation optimisation failed ({info['reason']}, cost {info['cost_initial']:.3g} -> "
                      f"{info['cost_final']:.3g}); using the network orientations for these "
                      f"{r_net.shape[1]} frames", RuntimeWarning, stacklevel=3)
        return r0, np.zeros((2, 3)), info
    return r, b, info


def optimize_orientations(r1_net, r2_net, gyr1, gyr2, fs: float, acc1=None, acc2=None,
                          config: OptimizeConfig | None = None) -> OptimizeResult:
    """Refine a joint's two sensor orientations with its gyroscopes, all frames at once.

    Parameters
    ----------
    r1_net, r2_net : ndarray, shape (T, 3, 3)
        Network orientations of the proximal and distal sensors (columns = sensor axes),
        heading-free as :mod:`imukin.training.dataset` defines them (any lab heading is
        accepted: only tilt and relative orientation are used).
    gyr1, gyr2 : ndarray, shape (T, 3)
        Gyroscopes of the same sensors, rad/s, sensor frames, same rate (mirrored like the
        orientations for a left leg).
    fs : float
        Sampling rate, Hz.
    acc1, acc2 : ndarray, shape (T, 3), optional
        Accelerometers (m/s^2), used by the gravity term when ``config.gravity_sd_deg > 0``.
    config : OptimizeConfig, optional

    Returns
    -------
    OptimizeResult
        Refined orientations. When a window does not converge, a ``RuntimeWarning`` is
        issued and that window holds the network orientations (``converged=False``).

    Examples
    --------
    >>> import numpy as np
    >>> eye = np.tile(np.eye(3), (400, 1, 1)); still = np.zeros((400, 3))
    >>> res = optimize_orientations(eye, eye, still, still, fs=200.0)
    >>> res.converged, bool(np.allclose(res.relative(), np.eye(3), atol=1e-9))
    (True, True)
    """
    cfg = config or OptimizeConfig()
    r_net, gyr, fs, acc = _check_inputs(r1_net, r2_net, gyr1, gyr2, fs, acc1, acc2)
    n = len(r_net[0])
    window = max(int(round(cfg.window_s * fs)), 2)
    overlap = max(int(round(cfg.overlap_s * fs)), 1)
    bounds = [(int(s), min(int(s) + window, n)) for s in window_starts(n, window, overlap / window)]
    out = np.empty((2, n, 3, 3))
    biases, converged, n_iter, c0, c1 = [], True, 0, 0.0, 0.0
    cut_prev = 0
    for i, (s, e) in enumerate(bounds):
        r, b, info = _solve_window(_window(r_net, s, e), _window(gyr, s, e), fs, _window(acc, s, e), cfg)
        converged &= bool(info["converged"])
        n_iter += info["n_iter"]
        c0 += info["cost_initial"]
        c1 += info["cost_final"] if info["converged"] else info["cost_initial"]
        biases.append(b)
        if i > 0:  # continue the previous window's heading at the stitch frame
            k = cut_prev - 1  # last frame already written; both windows hold it
            psi = heading_of(out[0, k:k + 1]) - heading_of(r[0, k - s:k - s + 1])
            r = heading_rotation(psi)[None] @ r
        cut = e if i == len(bounds) - 1 else (bounds[i + 1][0] + e) // 2  # middle of the overlap
        out[:, cut_prev:cut] = r[:, cut_prev - s:cut - s]
        cut_prev = cut
    return OptimizeResult(r1=out[0], r2=out[1], bias=np.mean(biases, axis=0), converged=converged, n_iter=n_iter,
                          cost_initial=c0, cost_final=c1)
