"""Ideal IMU physics: what a perfect sensor attached to a moving frame measures.

The sensor's position and orientation are interpolated by one quintic B-spline
(:func:`interpolating_spline`, the spline of ``scipy.interpolate.make_interp_spline``
with ``k=5``) through the position and the unit quaternion components, and the signals
come from the spline's *analytic* derivatives, never from finite differences:

* ``acc = R^T (p'' - g)`` with ``g = conventions.GRAVITY_LAB``: the specific force
  in the sensor frame (a sensor at rest reads +9.81 m/s^2 on its up axis);
* ``gyr = 2 vec(q* (x) q') / |q|^2``: the angular velocity in the sensor (body)
  frame, ``R' = R [gyr]x``. The division by ``|q|^2`` makes this exact for the
  normalised quaternion even where the spline leaves the unit sphere slightly.

``scipy.spatial.transform.RotationSpline`` also returns the body-frame rate, but
its iterative solve is about ten times slower on long sequences; the quaternion spline
needs one banded solve shared with the position.

:func:`integrate_gyroscope` is the inverse: body-frame rates back to orientations.
"""
from __future__ import annotations

import numpy as np
from scipy.interpolate import BSpline
from scipy.linalg import lapack
from scipy.spatial.transform import Rotation

from imukin.conventions import GRAVITY_LAB
from imukin.errors import ImukinError

SPLINE_ORDER = 5  # quintic: p'' and the angular rate are C3, so resampling stays smooth
_T_TOL = 1e-9  # s, slack allowed when t_out touches the ends of t
_ORTHO_TOL = 1e-6  # largest accepted |R^T R - I| entry of an input rotation matrix


def ideal_imu(
    t: np.ndarray, rmat: np.ndarray, pos: np.ndarray, t_out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Ideal accelerometer and gyroscope signals of a sensor from its pose.

    Parameters
    ----------
    t : ndarray, shape (N,)
        Strictly increasing times in seconds, N >= 6 (typically a high internal
        rate such as 1000 Hz).
    rmat : ndarray, shape (N, 3, 3)
        Sensor orientation, columns = sensor axes in lab coordinates
        (``v_lab = R @ v_sensor``).
    pos : ndarray, shape (N, 3)
        Sensor position in the lab frame, metres.
    t_out : ndarray, shape (M,), optional
        Output times within ``[t[0], t[-1]]``; default ``t``.

    Returns
    -------
    acc : ndarray, shape (M, 3)
        Specific force ``R^T (p'' - g)`` in the sensor frame, m/s^2.
    gyr : ndarray, shape (M, 3)
        Angular velocity in the sensor frame (``R' = R [gyr]x``), rad/s.

    Examples
    --------
    >>> t = np.arange(10) / 100.0
    >>> acc, gyr = ideal_imu(t, np.tile(np.eye(3), (10, 1, 1)), np.zeros((10, 3)))
    >>> np.round(acc[0], 2).tolist(), float(np.abs(gyr).max())
    ([0.0, 9.81, 0.0], 0.0)
    """
    t, rmat, pos = _check_pose(t, rmat, pos)
    tt = t if t_out is None else _check_t_out(t_out, t)

    quat = _continuous_quat(rmat)  # (N, 4) x, y, z, w
    both = interpolating_spline(t, np.concatenate([pos, quat], axis=1))  # one banded solve
    sp_pos = BSpline(both.t, both.c[:, :3], SPLINE_ORDER, extrapolate=False)
    sp_quat = BSpline(both.t, both.c[:, 3:], SPLINE_ORDER, extrapolate=False)

    p_dd = sp_pos(tt, 2)  # (M, 3) lab acceleration
    q_d = sp_quat(tt, 1)  # (M, 4)
    if t_out is None:  # the spline interpolates: at the knots it returns the input exactly
        q = quat
        acc = np.einsum("nji,nj->ni", rmat, p_dd - GRAVITY_LAB)  # (N, 3) = R^T (p'' - g)
    else:
        q = sp_quat(tt)  # (M, 4), |q| ~ 1
        acc = Rotation.from_quat(q).apply(p_dd - GRAVITY_LAB, inverse=True)  # (M, 3), from_quat normalises
    v, s = q[:, :3], q[:, 3:]
    v_d, s_d = q_d[:, :3], q_d[:, 3:]
    # vec(q* (x) q') for Hamilton quaternions q = (v, s): s v' - s' v - v x v'
    gyr = 2.0 * (s * v_d - s_d * v - np.cross(v, v_d)) / np.sum(q * q, axis=1, keepdims=True)
    return acc, gyr


def integrate_gyroscope(gyr: np.ndarray, fs: float, r0: np.ndarray) -> np.ndarray:
    """Orientations from body-frame angular velocity (strapdown integration).

    Each step applies the exact rotation ``R[k+1] = R[k] expm([theta_k]x)`` with
    the rate taken as linear between samples, ``theta_k = (w_k + w_{k+1}) dt / 2
    + (w_k x w_{k+1}) dt^2 / 12`` (trapezoid plus the two-sample coning term). The
    running product is a vectorised parallel prefix scan over quaternions, so a
    long recording costs ``log2(N)`` array operations.

    Parameters
    ----------
    gyr : ndarray, shape (N, 3)
        Angular velocity in the sensor frame, rad/s.
    fs : float
        Sampling rate, Hz.
    r0 : ndarray, shape (3, 3)
        Orientation at the first sample (columns = sensor axes in lab coordinates).

    Returns
    -------
    ndarray, shape (N, 3, 3)
        Orientation at every sample; ``out[0] == r0``.

    Examples
    --------
    >>> r = integrate_gyroscope(np.tile([0.0, 0.0, np.pi / 2], (101, 1)), 100.0, np.eye(3))
    >>> np.round(r[-1] @ [1.0, 0.0, 0.0], 6) + 0.0  # x turned 90 deg about z
    array([0., 1., 0.])
    """
    gyr = np.asarray(gyr, float)
    if gyr.ndim != 2 or gyr.shape[1] != 3 or len(gyr) < 1:
        raise ImukinError(f"gyr must have shape (N, 3), got {gyr.shape}; pass one row per sample")
    if not np.all(np.isfinite(gyr)):
        raise ImukinError("gyr contains NaN or inf; interpolate or drop the gaps before integrating")
    if not (np.isfinite(fs) and fs > 0):
        raise ImukinError(f"fs must be a positive sampling rate in Hz, got {fs}")
    r0 = np.asarray(r0, float)
    if r0.shape != (3, 3):
        raise ImukinError(f"r0 must be one 3x3 rotation matrix, got shape {r0.shape}")
    dt = 1.0 / fs
    theta = 0.5 * dt * (gyr[:-1] + gyr[1:]) + (dt * dt / 12.0) * np.cross(gyr[:-1], gyr[1:])  # (N-1, 3)
    if _rotation_error(r0[None]) > _ORTHO_TOL:
        raise ImukinError("r0 must be a proper rotation matrix; orthonormalise it first")
    quat = np.concatenate([_matrix_to_quat(r0[None]), Rotation.from_rotvec(theta).as_quat()])  # (N, 4)
    return Rotation.from_quat(_prefix_product(quat)).as_matrix()  # (N, 3, 3)


def interpolating_spline(x: np.ndarray, y: np.ndarray) -> BSpline:
    """Quintic not-a-knot interpolating spline through ``y`` at the sites ``x``.

    The same spline as ``scipy.interpolate.make_interp_spline(x, y, k=5)`` (equal to
    rounding). The banded LU factorisation of the collocation matrix depends on ``x`` alone;
    it is kept for the last ``x`` seen, so the many signals of one simulated subject (segment
    positions, sensor poses) share one factorisation and each costs a banded back-substitution.

    Parameters
    ----------
    x : ndarray, shape (N,)
        Strictly increasing sites, N >= 6.
    y : ndarray, shape (N, ...)
        Values at the sites.

    Returns
    -------
    scipy.interpolate.BSpline
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if y.shape[0] != x.shape[0]:
        raise ImukinError(f"y must have one row per site: x has {x.shape[0]}, y has shape {y.shape}")
    knots, lu, piv = _collocation_lu(x)
    c, info = lapack.dgbtrs(lu, SPLINE_ORDER, SPLINE_ORDER, y.reshape(len(x), -1), piv)  # (N, C)
    if info != 0:  # pragma: no cover - only for a malformed call
        raise ImukinError(f"banded spline solve failed (LAPACK dgbtrs info {info})")
    return BSpline.construct_fast(knots, np.ascontiguousarray(c.reshape(y.shape)), SPLINE_ORDER)


_LU_CACHE: list = []  # [(x, knots, lu, piv)] for the last sites seen


def _collocation_lu(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Not-a-knot knots (N + 6,) and the banded LU factors of the quintic collocation matrix at ``x`` (N,)."""
    cached = _LU_CACHE[0] if _LU_CACHE else None
    if cached is not None and cached[0].shape == x.shape and np.array_equal(cached[0], x):
        return cached[1:]
    k = SPLINE_ORDER
    if len(x) < k + 1 or np.any(np.diff(x) <= 0):
        raise ImukinError(f"spline sites must be strictly increasing, at least {k + 1} of them")
    half = (k + 1) // 2
    knots = np.r_[(x[0],) * (k + 1), x[half:-half], (x[-1],) * (k + 1)]  # (N + k + 1,) not-a-knot
    a = BSpline.design_matrix(x, knots, k).tocoo()  # (N, N), k + 1 entries per row
    ab = np.zeros((3 * k + 1, len(x)), order="F")  # LAPACK band storage with room for the pivots
    ab[2 * k + a.row - a.col, a.col] = a.data
    lu, piv, info = lapack.dgbtrf(ab, k, k, overwrite_ab=True)
    if info != 0:
        raise ImukinError("the spline collocation matrix is singular; the sites are too unevenly spaced")
    _LU_CACHE[:] = [(x.copy(), knots, lu, piv)]
    return knots, lu, piv


# ---------------------------------------------------------------- helpers
def _check_pose(t, rmat, pos) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.asarray(t, float)
    rmat = np.asarray(rmat, float)
    pos = np.asarray(pos, float)
    if t.ndim != 1:
        raise ImukinError(f"t must be a 1-D array of times in seconds, got shape {t.shape}")
    n = len(t)
    if n < SPLINE_ORDER + 1:
        raise ImukinError(f"need at least {SPLINE_ORDER + 1} samples for the quintic spline, got {n}")
    if rmat.shape != (n, 3, 3) or pos.shape != (n, 3):
        raise ImukinError(
            f"rmat must be (N, 3, 3) and pos (N, 3) with N = len(t) = {n}; got {rmat.shape} and {pos.shape}"
        )
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(rmat)) and np.all(np.isfinite(pos))):
        raise ImukinError("t, rmat or pos contains NaN or inf; fill the gaps before simulating an IMU")
    if np.any(np.diff(t) <= 0):
        raise ImukinError("t must be strictly increasing; sort the samples and drop duplicate times")
    dev = _rotation_error(rmat)
    if dev > _ORTHO_TOL:
        raise ImukinError(
            f"rmat must hold proper rotation matrices (max |R^T R - I| = {dev:.2g}); "
            "orthonormalise the frames first, e.g. Rotation.from_matrix(rmat).as_matrix()"
        )
    return t, rmat, pos


def _check_t_out(t_out, t: np.ndarray) -> np.ndarray:
    t_out = np.asarray(t_out, float)
    if t_out.ndim != 1:
        raise ImukinError(f"t_out must be a 1-D array of times in seconds, got shape {t_out.shape}")
    if len(t_out) and (t_out.min() < t[0] - _T_TOL or t_out.max() > t[-1] + _T_TOL):
        raise ImukinError(
            f"t_out spans [{t_out.min():g}, {t_out.max():g}] s, outside the pose's [{t[0]:g}, {t[-1]:g}] s; "
            "request output times inside the simulated interval"
        )
    return np.clip(t_out, t[0], t[-1])


def _matrix_to_quat(rmat: np.ndarray) -> np.ndarray:
    """Scalar-last unit quaternions of rotation matrices, (N, 3, 3) -> (N, 4) (Shepperd's method).

    Component-wise numpy; ``Rotation.from_matrix`` also orthonormalises its input
    and is several times slower on long sequences.
    """
    r = np.ascontiguousarray(np.moveaxis(rmat, 0, -1))  # (3, 3, N): element rows are contiguous
    r00, r11, r22 = r[0, 0], r[1, 1], r[2, 2]
    # four unnormalised candidates (x, y, z, w); each is exact, the largest component is best conditioned
    cand = np.stack(
        [
            [1 + r00 - r11 - r22, r[0, 1] + r[1, 0], r[0, 2] + r[2, 0], r[2, 1] - r[1, 2]],
            [r[0, 1] + r[1, 0], 1 - r00 + r11 - r22, r[1, 2] + r[2, 1], r[0, 2] - r[2, 0]],
            [r[0, 2] + r[2, 0], r[1, 2] + r[2, 1], 1 - r00 - r11 + r22, r[1, 0] - r[0, 1]],
            [r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1], 1 + r00 + r11 + r22],
        ]
    )  # (4 cases, 4 components, N)
    best = np.argmax(np.stack([r00, r11, r22, r00 + r11 + r22]), axis=0)  # (N,)
    q = np.take_along_axis(cand, np.broadcast_to(best, (1, 4, len(best))), axis=0)[0]  # (4, N)
    return (q / np.sqrt(np.sum(q * q, axis=0))).T


def _rotation_error(rmat: np.ndarray) -> float:
    """Largest ``|R^T R - I|`` entry over a stack (N, 3, 3); inf if any determinant is negative."""
    c = np.ascontiguousarray(np.moveaxis(rmat, (0, 2), (-1, 0)))  # (3 columns, 3 rows, N)
    dev = 0.0
    for i in range(3):
        for j in range(i, 3):
            dev = max(dev, np.abs(np.sum(c[i] * c[j], axis=0) - (i == j)).max())
    det = np.sum(np.cross(c[0], c[1], axis=0) * c[2], axis=0)  # (N,) triple product
    return float(np.inf) if np.any(det < 0) else float(dev)


def _continuous_quat(rmat: np.ndarray) -> np.ndarray:
    """Quaternions (N, 4) with signs chosen so consecutive ones are on the same hemisphere."""
    q = _matrix_to_quat(rmat)  # (N, 4) scalar last
    flip = np.sum(q[1:] * q[:-1], axis=1) < 0  # (N-1,)
    sign = np.concatenate([[1.0], np.where(np.cumsum(flip) % 2 == 1, -1.0, 1.0)])
    return q * sign[:, None]


def _quat_mul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton product of scalar-last quaternions stored by component, (4, K) x (4, K) -> (4, K)."""
    px, py, pz, pw = p
    qx, qy, qz, qw = q
    return np.stack(
        [
            pw * qx + qw * px + py * qz - pz * qy,
            pw * qy + qw * py + pz * qx - px * qz,
            pw * qz + qw * pz + px * qy - py * qx,
            pw * qw - px * qx - py * qy - pz * qz,
        ]
    )


def _prefix_product(quat: np.ndarray) -> np.ndarray:
    """Inclusive running product ``q[0] q[1] ... q[k]`` (Hillis-Steele scan), (N, 4) -> (N, 4)."""
    q = np.ascontiguousarray(quat.T)  # (4, N): component rows keep the arithmetic contiguous
    shift = 1
    while shift < q.shape[1]:
        prod = _quat_mul(q[:, :-shift], q[:, shift:])  # (4, N - shift), from the values before this step
        q[:, shift:] = prod / np.sqrt(np.sum(prod * prod, axis=0))
        shift *= 2
    return q.T
