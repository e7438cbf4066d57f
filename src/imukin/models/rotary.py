"""Rotary position embedding (RoPE; Su et al. 2021), "rotate-half" layout.

Layout (GPT-NeoX / Hugging Face "rotate_half"): for a head of even size ``D``,
dimension ``i`` is paired with dimension ``i + D/2`` (``i < D/2``), and the pair
is rotated by the angle ``pos * theta_i`` with ``theta_i = base^(-2i/D)``. The
cos/sin tables are therefore built as ``cat([freqs, freqs])`` along the last axis,
so column ``i`` and column ``i + D/2`` hold the same angle: exactly the pairing
that :func:`rotate_half` applies. (Pairing neighbours ``(2i, 2i+1)`` needs
interleaved tables ``repeat_interleave(freqs, 2)`` instead; mixing the two layouts
breaks the relative-position property, see ``tests/models/test_rotary.py``.)

With tables and pairing consistent, ``<rope(q, m), rope(k, n)>`` depends on
``m - n`` only, and ``|rope(x, m)| = |x|``.

The angle tables are computed in float64 and stored in float32; the rotation is
done in float32 whatever the input dtype. Tables are non-persistent buffers (they
are not in checkpoints) and grow on demand for sequences longer than any seen.
"""
from __future__ import annotations

import torch
from torch import nn

from imukin.errors import ImukinError

LAYOUT = "rotate-half"  # dimension i pairs with i + D/2
_INITIAL_CACHE_LEN = 256  # positions cached at construction; grows lazily


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """``(x1, x2) -> (-x2, x1)`` with ``x1 = x[..., :D/2]``, ``x2 = x[..., D/2:]``."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` (..., T, D) with rotate-half tables ``cos``, ``sin`` (T, D); computed in float32."""
    xf = x.float()
    return (xf * cos + rotate_half(xf) * sin).to(x.dtype)


class RotaryEmbedding(nn.Module):
    """Rotary position embedding for queries and keys of shape (B, H, T, D).

    Parameters
    ----------
    head_dim : int
        Size ``D`` of one attention head; must be even.
    base : float
        Frequency base (10000 as in the original paper).
    """

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim <= 0 or head_dim % 2:
            raise ImukinError(f"rotary embedding needs an even head size, got {head_dim}; "
                              "choose d_model / n_heads even")
        self.head_dim = head_dim
        self.base = float(base)
        self.register_buffer("cos_cached", torch.empty(0, head_dim), persistent=False)  # (L, D)
        self.register_buffer("sin_cached", torch.empty(0, head_dim), persistent=False)  # (L, D)
        self._build(_INITIAL_CACHE_LEN, torch.device("cpu"))

    def inv_freq(self) -> torch.Tensor:
        """``theta_i = base^(-2i/D)``, i = 0 .. D/2-1, float64, shape (D/2,)."""
        return self.base ** (-torch.arange(0, self.head_dim, 2, dtype=torch.float64) / self.head_dim)

    def _build(self, length: int, device: torch.device) -> None:
        pos = torch.arange(length, dtype=torch.float64)  # (L,)
        freqs = torch.outer(pos, self.inv_freq())  # (L, D/2) angles in rad
        angles = torch.cat([freqs, freqs], dim=-1)  # (L, D): column i and i + D/2 share an angle
        self.cos_cached = angles.cos().to(device=device, dtype=torch.float32)
        self.sin_cached = angles.sin().to(device=device, dtype=torch.float32)

    def tables(self, length: int, offset: int = 0, device: torch.device | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin tables for positions ``offset .. offset + length - 1``: two (length, D) tensors."""
        device = self.cos_cached.device if device is None else device
        needed = offset + length
        stale = self.cos_cached.device != device or self.cos_cached.dtype != torch.float32  # e.g. after .half()
        if needed > self.cos_cached.shape[0] or stale:
            cached = self.cos_cached.shape[0]
            length_new = cached if needed <= cached else max(needed, 2 * cached)  # doubling: few rebuilds
            self._build(max(length_new, _INITIAL_CACHE_LEN), device)
        return self.cos_cached[offset:needed], self.sin_cached[offset:needed]

    def forward(self, q: torch.Tensor, k: torch.Tensor, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Rotate queries and keys (B, H, T, D) by their positions ``offset + t``."""
        cos, sin = self.tables(q.shape[-2], offset, q.device)  # (T, D) each
        return apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
