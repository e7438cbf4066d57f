"""The reference's optimisation stage as published, for speed and accuracy comparisons only.

``benchmarks/fusion.py`` times it against :func:`imukin.fusion.optimize.optimize_orientations`;
it is not part of the imukin package.

For each segment and each frame it solves one small problem with
:func:`scipy.optimize.minimize` (BFGS, gradients by finite differences): find the
rotation increment ``dR``, parametrised by 6 numbers (two columns, Gram-Schmidt), that
minimises ``| w[t+1] - rotvec(dR) * fs |``, then sets ``R[t+1] = R[t] dR``, starting from
the network's orientation at the first frame. In effect this is gyroscope integration,
one frame at a time; the network's later orientations are never used. The rotation
vector is computed in closed form (a few microseconds) rather than through
:class:`scipy.spatial.transform.Rotation` (about 100 us per call for one matrix), so the
baseline is as fast as this algorithm allows and speed comparisons are not inflated. imukin's
:func:`imukin.fusion.optimize.optimize_orientations` replaces it.
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
    out = np.empty((len(gyr), 3, 3))
    out[0] = r0
    for t in range(len(gyr) - 1):
        w = gyr[t + 1]

        def objective(d6: np.ndarray, w=w) -> float:
            return float(np.linalg.norm(w - _rotvec(_gram_schmidt(d6)) * fs))

        res = minimize(objective, _IDENTITY_6D, method="BFGS")
        out[t + 1] = out[t] @ _gram_schmidt(res.x)
    return out


def reference_refine(r1_net: np.ndarray, r2_net: np.ndarray, gyr1: np.ndarray, gyr2: np.ndarray,
                     fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Both segments of a joint as the reference refines them: 2 x (T, 3, 3) from the first network frame."""
    return reference_integrate(gyr1, fs, r1_net[0]), reference_integrate(gyr2, fs, r2_net[0])
