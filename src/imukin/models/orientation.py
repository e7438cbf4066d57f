"""The continuous 6D rotation representation (Zhou et al. 2019, CVPR) and its Gram-Schmidt map.

A rotation matrix is represented by its first two **columns** ``[R[:, 0], R[:, 1]]``
(6 numbers); columns are frame axes in lab coordinates, as for every ``rmat`` in
:mod:`imukin.conventions`. An orientation network predicts two such rotations per
time step (segment 1 = proximal, then segment 2), so its output has 12 channels::

    [seg1 col0 xyz, seg1 col1 xyz, seg2 col0 xyz, seg2 col1 xyz]

:func:`sixd_to_matrix` turns any 6 numbers into a proper rotation (Gram-Schmidt),
:func:`matrix_to_sixd` is its inverse on rotations (used to build training targets).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from imukin.errors import ImukinError

SIXD_DIM = 6  # numbers per rotation
N_ROTATIONS = 2  # rotations per time step: segment 1 (proximal), segment 2 (distal)
ORIENTATION_DIM = SIXD_DIM * N_ROTATIONS  # 12 output channels of an orientation model

_EPS = 1e-8  # guards the normalisations against an all-zero prediction


def sixd_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """Rotation matrices from 6D vectors by Gram-Schmidt.

    Parameters
    ----------
    d6 : Tensor, shape (..., 6)
        ``[a1 xyz, a2 xyz]``: unnormalised first and second column.

    Returns
    -------
    Tensor, shape (..., 3, 3)
        ``R = [b1 b2 b3]`` (columns) with ``b1 = a1/|a1|``,
        ``b2 = normalise(a2 - (b1.a2) b1)``, ``b3 = b1 x b2``; ``R^T R = I``, ``det R = +1``.
    """
    if d6.shape[-1] != SIXD_DIM:
        raise ImukinError(f"6D rotations need a last dimension of 6, got shape {tuple(d6.shape)}; "
                          "reshape the network output to (..., 6)")
    a1, a2 = d6[..., :3], d6[..., 3:]  # (..., 3) each
    b1 = F.normalize(a1, dim=-1, eps=_EPS)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1, eps=_EPS)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)  # (..., 3, 3), columns b1 b2 b3


def matrix_to_sixd(r: torch.Tensor) -> torch.Tensor:
    """6D vectors of rotation matrices: (..., 3, 3) -> (..., 6), first column then second."""
    if r.shape[-2:] != (3, 3):
        raise ImukinError(f"rotation matrices need shape (..., 3, 3), got {tuple(r.shape)}")
    return torch.cat([r[..., :, 0], r[..., :, 1]], dim=-1)  # (..., 6)


def output_to_rotations(y: torch.Tensor) -> torch.Tensor:
    """Orientation-model output to rotation matrices: (B, T, 12) -> (B, T, 2, 3, 3)."""
    if y.shape[-1] != ORIENTATION_DIM:
        raise ImukinError(f"orientation outputs have {ORIENTATION_DIM} channels, got shape {tuple(y.shape)}; "
                          "use a model built with target='orientation'")
    d6 = y.reshape(*y.shape[:-1], N_ROTATIONS, SIXD_DIM)  # (B, T, 2, 6)
    return sixd_to_matrix(d6)  # (B, T, 2, 3, 3)


def rotations_to_output(r: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`output_to_rotations` on rotations: (B, T, 2, 3, 3) -> (B, T, 12)."""
    if r.shape[-3:] != (N_ROTATIONS, 3, 3):
        raise ImukinError(f"expected (..., 2, 3, 3) rotations (segment 1, segment 2), got {tuple(r.shape)}")
    d6 = matrix_to_sixd(r)  # (..., 2, 6)
    return d6.reshape(*d6.shape[:-2], ORIENTATION_DIM)  # (..., 12)
