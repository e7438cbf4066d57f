"""Training-time augmentation of 16-channel inputs (batched, in torch, on the training device).

As in the reference: each sensor of each sequence gets one constant random rotation
(axis uniform on the sphere, angle ~ N(0, sd)), which rotates its accelerometer and
gyroscope alike and leaves the norm channels unchanged; then Gaussian noise of a fraction
of each channel's standard deviation is added to the z-scored input.
"""
from __future__ import annotations

import math

import torch

from imukin.conventions import SENSOR_BLOCKS


def random_rotations(n: int, sd_rad: float, generator: torch.Generator | None = None,
                     device=None) -> torch.Tensor:
    """``n`` rotation matrices (n, 3, 3): uniform axis, angle ~ N(0, sd_rad^2) (Rodrigues)."""
    # Drawn on the CPU with a CPU generator (reproducible on any device), then moved.
    axis = torch.randn(n, 3, generator=generator)
    axis = axis / axis.norm(dim=1, keepdim=True).clamp_min(1e-9)
    angle = torch.randn(n, generator=generator) * sd_rad  # (n,)
    k = torch.zeros(n, 3, 3)
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(1, 2)  # skew-symmetric [axis]x
    s, c = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    return (torch.eye(3) + s * k + (1 - c) * (k @ k)).to(device)


def rotate_sensors(x: torch.Tensor, sd_deg: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate each sensor of each sequence by its own constant random rotation.

    Parameters
    ----------
    x : Tensor, shape (B, T, 16)
        Raw (not z-scored) inputs.
    sd_deg : float
        Standard deviation of the rotation angle in degrees.
    """
    if sd_deg <= 0:
        return x
    b = x.shape[0]
    out = x.clone()
    for acc, gyr in SENSOR_BLOCKS:  # the norm channels stay as they are
        r = random_rotations(b, math.radians(sd_deg), generator, device=x.device).to(x.dtype)  # (B, 3, 3)
        # readings of a sensor rotated by r on its segment: v' = r^T v
        out[..., acc] = torch.einsum("bji,btj->bti", r, x[..., acc])  # (B, T, 3)
        out[..., gyr] = torch.einsum("bji,btj->bti", r, x[..., gyr])
    return out


def add_noise(x: torch.Tensor, fraction: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Add N(0, fraction^2) noise to z-scored inputs (fraction of each channel's SD)."""
    if fraction <= 0:
        return x
    noise = torch.randn(x.shape, generator=generator).to(device=x.device, dtype=x.dtype)
    return x + fraction * noise
