"""Rotations shared across imukin (frames and signs are defined in :mod:`imukin.conventions`)."""
from __future__ import annotations

import numpy as np


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
