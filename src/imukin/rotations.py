"""Rotations shared across imukin (frames and signs are defined in :mod:`imukin.conventions`)."""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from imukin.errors import ImukinError


def heading_rotation(psi) -> np.ndarray:
    """Rotations about lab up (+Y) by the heading ``psi`` (rad): (...) -> (..., 3, 3).

    >>> heading_rotation(np.pi / 2).round(6) @ [1.0, 0.0, 0.0]  # +X turns to -Z
    array([ 0.,  0., -1.])
    """
    psi = np.asarray(psi, float)
    c, s = np.cos(psi), np.sin(psi)
    r = np.zeros(psi.shape + (3, 3))
    r[..., 0, 0], r[..., 0, 2], r[..., 1, 1], r[..., 2, 0], r[..., 2, 2] = c, s, 1.0, -s, c
    return r


def heading_of(r: np.ndarray) -> np.ndarray:
    """Heading (rad about lab +Y) of each frame's x axis: (..., 3, 3) -> (...); the inverse of
    :func:`heading_rotation` for frames without tilt."""
    return np.arctan2(-r[..., 2, 0], r[..., 0, 0])


def heading_free(r1: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove segment 1's heading (rotation about lab Y) from two orientation sequences.

    Both (T, 3, 3) sequences are turned by ``Ry(-psi1(t))``, where ``psi1`` is the heading
    of segment 1's x axis, so walking direction does not matter and ``R1^T R2`` (hence the
    joint angle) is unchanged.
    """
    ry_inv = np.swapaxes(heading_rotation(heading_of(r1)), -1, -2)  # (T, 3, 3)
    return ry_inv @ r1, ry_inv @ r2


def marker_frames(m1: np.ndarray, m2: np.ndarray, m3: np.ndarray) -> np.ndarray:
    """Orientation of a frame built from three markers on one segment, (N, 3) x 3 -> (N, 3, 3).

    ``e1 = m2 - m1``, ``e2 = (m3 - m1) x e1``, ``e3 = e1 x e2`` (normalised); columns
    of the result are ``e1 e2 e3`` in lab coordinates. Frames with a missing or
    collinear marker are NaN.
    """
    m1, m2, m3 = (np.asarray(m, float) for m in (m1, m2, m3))
    if not (m1.shape == m2.shape == m3.shape and m1.ndim == 2 and m1.shape[1] == 3):
        raise ImukinError(f"markers must be three (N, 3) arrays of equal length; "
                          f"got {m1.shape}, {m2.shape}, {m3.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        e1 = m2 - m1
        e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
        e2 = np.cross(m3 - m1, e1)
        e2 /= np.linalg.norm(e2, axis=1, keepdims=True)
        e3 = np.cross(e1, e2)
    return np.stack([e1, e2, e3], axis=2)  # (N, 3, 3)


def so3_exp(v: np.ndarray) -> np.ndarray:
    """Rotation matrices from rotation vectors (radians): (..., 3) -> (..., 3, 3)."""
    shape = v.shape[:-1]
    return Rotation.from_rotvec(v.reshape(-1, 3)).as_matrix().reshape(*shape, 3, 3)


def so3_log(r: np.ndarray) -> np.ndarray:
    """Rotation vectors (radians) of rotation matrices: (..., 3, 3) -> (..., 3), angle in [0, pi].

    Closed form (fast, and exact to rounding for small angles); rows within 1e-3 rad of pi,
    where it loses precision, go through :class:`scipy.spatial.transform.Rotation`.
    """
    shape = r.shape[:-2]
    r = r.reshape(-1, 3, 3)
    cos = np.clip((r[:, 0, 0] + r[:, 1, 1] + r[:, 2, 2] - 1.0) * 0.5, -1.0, 1.0)  # (n,)
    theta = np.arccos(cos)
    w = 0.5 * np.stack([r[:, 2, 1] - r[:, 1, 2], r[:, 0, 2] - r[:, 2, 0], r[:, 1, 0] - r[:, 0, 1]], -1)  # sin(th) n
    small = theta < 1e-4
    sin = np.sin(theta)
    scale = np.where(small, 1.0 + theta**2 / 6.0, theta / np.where(small, 1.0, sin))
    out = w * scale[:, None]
    near_pi = theta > np.pi - 1e-3
    if near_pi.any():
        out[near_pi] = Rotation.from_matrix(r[near_pi]).as_rotvec()
    return out.reshape(*shape, 3)
