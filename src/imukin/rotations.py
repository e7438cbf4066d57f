"""Rotations shared across imukin (frames and signs are defined in :mod:`imukin.conventions`)."""
from __future__ import annotations

import numpy as np


def heading_free(r1: np.ndarray, r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove segment 1's heading (rotation about lab Y) from two orientation sequences.

    Both (T, 3, 3) sequences are turned by ``Ry(-psi1(t))``, where ``psi1`` is the heading
    of segment 1's x axis, so walking direction does not matter and ``R1^T R2`` (hence the
    joint angle) is unchanged.
    """
    x = r1[:, :, 0]  # (T, 3) segment 1 x axis in lab
    psi = np.arctan2(-x[:, 2], x[:, 0])  # heading about +Y
    c, s = np.cos(psi), np.sin(psi)
    ry_inv = np.zeros((len(psi), 3, 3))
    ry_inv[:, 0, 0], ry_inv[:, 0, 2], ry_inv[:, 1, 1], ry_inv[:, 2, 0], ry_inv[:, 2, 2] = c, -s, 1.0, s, c
    return ry_inv @ r1, ry_inv @ r2
