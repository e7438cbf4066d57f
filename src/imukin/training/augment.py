"""Training-time augmentation of 16-channel inputs (batched, in torch, on the training device).

As in the reference: each sensor of each sequence gets one constant random rotation
(axis uniform on the sphere, angle ~ N(0, sd)), which rotates its accelerometer and
gyroscope alike and leaves the norm channels unchanged; then Gaussian noise of a fraction
of each channel's standard deviation is added to the z-scored input.

Optionally (:func:`delay_sensors`, before both), a share of the sensors is shifted in time
by a random delay: sensors that are not sampled on one clock (wireless sensors synchronised
after the fact, or not at all) are milliseconds to tens of milliseconds apart, and a
network trained only on sensors sampled together reads that lag as motion
(``benchmarks/sensor_faults.py``).
"""
from __future__ import annotations

import math

import torch

from imukin.conventions import SENSOR_BLOCKS, SENSOR_CHANNELS


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


def delay_sensors(x: torch.Tensor, max_samples: float, fraction: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Delay a random share of the sensors of each sequence by their own random time.

    Each sensor of each sequence is, with probability ``fraction``, late by ``d`` samples,
    ``d`` uniform in ``[-max_samples, max_samples]`` (negative: early): its eight channels at
    frame ``t`` then read what it sensed at ``t - d``, linearly interpolated between samples;
    frames before the window's first (or after its last) repeat the edge sample. The
    reference angles are not moved, so the other sensor and the target keep their time.

    Parameters
    ----------
    x : Tensor, shape (B, T, 16)
        Raw (not z-scored) inputs.
    max_samples : float
        Largest delay in samples (the training rate times the delay in seconds).
    fraction : float
        Probability in [0, 1] that a sensor is delayed at all.
    generator : torch.Generator, optional
        CPU generator of the draws.

    Examples
    --------
    >>> x = torch.arange(5.0)[None, :, None].repeat(1, 1, 16)
    >>> y = delay_sensors(x, max_samples=2.0, fraction=1.0, generator=torch.Generator().manual_seed(0))
    >>> bool(torch.equal(y[0, :, :8].std(dim=1), torch.zeros(5)))  # a sensor's channels move together
    True
    """
    if max_samples <= 0 or fraction <= 0:
        return x
    b, w = x.shape[:2]
    out = x.clone()
    t = torch.arange(w, device=x.device, dtype=x.dtype)  # (W,)
    for block in SENSOR_CHANNELS:
        d = (torch.rand(b, generator=generator) * 2.0 - 1.0) * max_samples  # (B,) drawn on the CPU
        d = d * (torch.rand(b, generator=generator) < fraction)
        src = (t[None, :] - d.to(device=x.device, dtype=x.dtype)[:, None]).clamp(0, w - 1)  # (B, W) when sensed
        lo = src.floor().long()  # (B, W)
        hi = (lo + 1).clamp(max=w - 1)
        frac = (src - lo.to(x.dtype))[..., None]  # (B, W, 1)
        xs = x[..., block]  # (B, W, 8)
        n = xs.shape[-1]
        before = torch.gather(xs, 1, lo[..., None].expand(-1, -1, n))  # (B, W, 8): the samples either side
        after = torch.gather(xs, 1, hi[..., None].expand(-1, -1, n))
        out[..., block] = before * (1.0 - frac) + after * frac
    return out
