"""The reference's optimisation stage as published, for speed and accuracy comparisons only.

``benchmarks/fusion.py`` times it against :func:`imukin.fusion.optimize.optimize_orientations`;
it is not part of the imukin package.

For each segment and each frame it solves one small problem with
:func:`scipy.optimize.minimize` (BFGS, gradients by finite differences): find the
rotation increment ``dR``, parametrised by 6 numbers (two columns, Gram-Schmidt), that
minimises ``| w[t+1] - rotvec(dR) * fs |``, then sets ``R[t+1] = R[t] dR``, starting from
the network's orientation at the first frame. In effect this is gyroscope integration,
one frame at a time; the network's later orientations are never used. The objective
(Gram-Schmidt, rotation vector in closed form, norm) is evaluated in plain floating-point
arithmetic on the six numbers, a few microseconds per call, rather than through numpy
calls on 3-vectors (``np.cross`` and ``np.linalg.norm`` alone cost about 25 us per call,
about two thirds of the time) or :class:`scipy.spatial.transform.Rotation` (about 100 us
per call), so the baseline is as fast as this algorithm allows and speed comparisons are
not inflated. imukin's :func:`imukin.fusion.optimize.optimize_orientations` replaces it.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from imukin.errors import ImukinError

_IDENTITY_6D = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])  # first two columns of the identity


def _gram_schmidt(d6: np.ndarray) -> np.ndarray:
    """A rotation matrix from 6 numbers (first and second column, orthonormalised)."""
    a1, a2 = d6[:3], d6[3:]
    b1 = a1 / np.linalg.norm(a1)
    b2 = a2 - b1 * (b1 @ a2)
    b2 = b2 / np.linalg.norm(b2)
    return np.stack([b1, b2, np.cross(b1, b2)], axis=1)


def _rotvec(r: np.ndarray) -> np.ndarray:
    """Rotation vector of one rotation matrix (closed form; increments are far from pi)."""
    cos = min(1.0, max(-1.0, (r[0, 0] + r[1, 1] + r[2, 2] - 1.0) * 0.5))
    theta = math.acos(cos)
    w = 0.5 * np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if theta < 1e-6:
        return w
    if theta > math.pi - 1e-3:
        return Rotation.from_matrix(r).as_rotvec()
    return w * (theta / math.sin(theta))


def _objective(d6: np.ndarray, wx: float, wy: float, wz: float, fs: float) -> float:
    """``| w - rotvec(gram_schmidt(d6)) * fs |``: :func:`_gram_schmidt` and :func:`_rotvec` written out
    on the six numbers (same operations, no array calls)."""
    a1x, a1y, a1z, a2x, a2y, a2z = d6.tolist()
    n1 = math.sqrt(a1x * a1x + a1y * a1y + a1z * a1z)
    b1x, b1y, b1z = a1x / n1, a1y / n1, a1z / n1
    d = b1x * a2x + b1y * a2y + b1z * a2z
    b2x, b2y, b2z = a2x - b1x * d, a2y - b1y * d, a2z - b1z * d
    n2 = math.sqrt(b2x * b2x + b2y * b2y + b2z * b2z)
    b2x, b2y, b2z = b2x / n2, b2y / n2, b2z / n2
    b3x, b3y, b3z = b1y * b2z - b1z * b2y, b1z * b2x - b1x * b2z, b1x * b2y - b1y * b2x  # b1 x b2
    theta = math.acos(min(1.0, max(-1.0, (b1x + b2y + b3z - 1.0) * 0.5)))  # columns b1 b2 b3: trace
    rx, ry, rz = 0.5 * (b2z - b3y), 0.5 * (b3x - b1z), 0.5 * (b1y - b2x)
    if theta > math.pi - 1e-3:
        rx, ry, rz = _rotvec(np.array([[b1x, b2x, b3x], [b1y, b2y, b3y], [b1z, b2z, b3z]]))
    elif theta >= 1e-6:
        k = theta / math.sin(theta)
        rx, ry, rz = rx * k, ry * k, rz * k
    ex, ey, ez = wx - rx * fs, wy - ry * fs, wz - rz * fs
    return math.sqrt(ex * ex + ey * ey + ez * ez)


def reference_integrate(gyr: np.ndarray, fs: float, r0: np.ndarray) -> np.ndarray:
    """One segment's orientations by the reference's per-frame BFGS.

    Parameters
    ----------
    gyr : ndarray, shape (T, 3)
        Gyroscope, rad/s, sensor frame.
    fs : float
        Sampling rate, Hz.
    r0 : ndarray, shape (3, 3)
        Network orientation at the first frame.

    Returns
    -------
    ndarray, shape (T, 3, 3)
    """
    gyr = np.asarray(gyr, float)
    if gyr.ndim != 2 or gyr.shape[1] != 3 or len(gyr) < 2:
        raise ImukinError(f"gyr must have shape (T, 3) with T >= 2, got {gyr.shape}")
    fs = float(fs)
    out = np.empty((len(gyr), 3, 3))
    out[0] = r0
    for t in range(len(gyr) - 1):
        res = minimize(_objective, _IDENTITY_6D, args=(*gyr[t + 1].tolist(), fs), method="BFGS")
        out[t + 1] = out[t] @ _gram_schmidt(res.x)
    return out

