"""Transformer encoder with rotary position embedding (after Tang et al. 2025, with fixes).

Linear(in_channels x patch -> d_model) on non-overlapping patches of ``patch`` frames ->
``n_layers`` encoder blocks -> LayerNorm -> Linear(d_model -> out_dim x patch), unfolded
back to one output per frame. Each block has fused-qkv multi-head
self-attention with rotary position embedding on q and k (:mod:`imukin.models.rotary`,
rotate-half layout, so attention depends on relative position only) and a
feed-forward network.

**Pre-LN** blocks (``x + attn(LN(x))``, ``x + ffn(LN(x))``, one final LayerNorm):
the residual stream is an identity path, so gradients stay well scaled at
initialisation and training is stable without learning-rate warm-up. The
reference used post-LN (``LN(x + attn(x))``), which is known to need warm-up and
careful learning rates (Xiong et al. 2020).

**Patches.** One token per ``patch`` frames (default 4: 50 tokens/s at 200 Hz, still
twice the highest frequency of gait joint angles). Attention cost falls by ``patch``
squared, which makes the model trainable on a CPU; ``patch=1`` gives one token per frame
as in the reference. A signal whose length is not a multiple of ``patch`` is padded by
repeating its last frame, and the output is cropped back.

No position is learned, so any sequence length works (rotary tables grow on
demand). ``causal=True`` masks future tokens: the output at frame ``t`` then depends
on inputs up to the end of ``t``'s patch only (a look-ahead of at most ``patch - 1``
frames; ``patch=1`` for strictly causal streaming).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from imukin.errors import ImukinError
from imukin.models.base import SequenceModel, SequenceModelConfig, check_bool, check_int, check_prob
from imukin.models.registry import register_model
from imukin.models.rotary import RotaryEmbedding

_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


class SelfAttention(nn.Module):
    """Multi-head self-attention, fused qkv, rotary q/k, scaled_dot_product_attention."""

    def __init__(self, d_model: int, n_heads: int, dropout: float, causal: bool, rope_base: float,
                 attn_dropout: float = 0.0) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.attn_dropout = attn_dropout
        self.causal = causal
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.resid_drop = nn.Dropout(dropout)
        self.rotary = RotaryEmbedding(self.head_dim, base=rope_base)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape  # (B, T, d_model)
        qkv = self.qkv(x).view(B, T, 3, self.n_heads, self.head_dim)  # (B, T, 3, H, Dh)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, T, Dh)
        q, k = self.rotary(q, k)  # rotated by absolute position; scores see m - n only
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_dropout if self.training else 0.0,
                                           is_causal=self.causal)  # (B, H, T, Dh)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, d_model)
        return self.resid_drop(self.proj(y))


class FeedForward(nn.Module):
    """Linear(d_model -> d_ff) -> activation -> Linear(d_ff -> d_model) -> Dropout."""

    def __init__(self, d_model: int, d_ff: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.fc = nn.Linear(d_model, d_ff)
        self.act = _ACTIVATIONS[activation]()
        self.proj = nn.Linear(d_ff, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d_model) -> (B, T, d_model)
        return self.drop(self.proj(self.act(self.fc(x))))


class Block(nn.Module):
    """Pre-LN encoder block: ``x + attn(LN(x))`` then ``x + ffn(LN(x))``."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = SelfAttention(cfg.d_model, cfg.n_heads, cfg.dropout, cfg.causal, cfg.rope_base, cfg.attn_dropout)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ffn = FeedForward(cfg.d_model, cfg.d_ff, cfg.dropout, cfg.activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d_model)
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


@dataclass
class TransformerConfig(SequenceModelConfig):
    """Options of :class:`Transformer` (depth, heads, d_ff and dropout as described by Tang et al.)."""

    n_layers: int = 4  # encoder blocks
    n_heads: int = 6  # attention heads
    d_model: int = 96  # width; 96 / 6 heads = head size 16 (even, as RoPE needs); small enough for CPU training
    d_ff: int = 256  # hidden width of the feed-forward network
    dropout: float = 0.1  # on residual branches and the input embedding
    attn_dropout: float = 0.0  # on attention weights; off by default: on a CPU it costs a third of a step
    activation: str = "gelu"  # feed-forward activation, "gelu" or "relu" (the reference used ReLU)
    causal: bool = False  # True: output at t sees inputs up to t only (streaming); False: two-sided
    rope_base: float = 10000.0  # rotary frequency base (Su et al. 2021)
    patch: int = 4  # frames per token (4 -> 50 tokens/s at 200 Hz); 1 = one token per frame

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("n_layers", "n_heads", "d_model", "d_ff", "patch"):
            check_int(self, name, 1)
        check_prob(self, "dropout")
        check_prob(self, "attn_dropout")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ImukinError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}) with an "
                              "even head size for rotary embedding; e.g. d_model=96 with n_heads=6")
        if self.activation not in _ACTIVATIONS:
            raise ImukinError(f"unknown activation {self.activation!r}; choose one of: {', '.join(_ACTIVATIONS)}")
        check_bool(self, "causal")
        if not isinstance(self.rope_base, (int, float)) or isinstance(self.rope_base, bool) or self.rope_base <= 1:
            raise ImukinError(f"TransformerConfig.rope_base must be a number > 1, got {self.rope_base!r}")


@register_model("transformer")
@register_model("transformer_ori", target="orientation")
class Transformer(SequenceModel):
    """Rotary pre-LN transformer encoder, (B, T, in_channels) -> (B, T, out_dim)."""

    family = "transformer"
    config_class = TransformerConfig

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__(config)
        c = config
        self.embed = nn.Linear(c.in_channels * c.patch, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.n_layers)])
        self.ln_f = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.out_dim * c.patch)
        self._init_weights()

    def _init_weights(self) -> None:
        """All initialisation in one place (as GPT-2): N(0, 0.02) weights, zero biases, LayerNorm (1, 0);
        the projections that write into the residual stream get std 0.02 / sqrt(2 n_layers) so its
        variance does not grow with depth."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        resid_std = 0.02 / math.sqrt(2 * self.config.n_layers)
        for block in self.blocks:
            nn.init.normal_(block.attn.proj.weight, mean=0.0, std=resid_std)
            nn.init.normal_(block.ffn.proj.weight, mean=0.0, std=resid_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in_channels) -> (B, T, out_dim)."""
        self._check_input(x)
        B, T, C = x.shape
        p = self.config.patch
        pad = (-T) % p
        if pad:
            x = torch.cat([x, x[:, -1:].expand(B, pad, C)], dim=1)  # (B, T + pad, C), last frame repeated
        h = self.drop(self.embed(x.reshape(B, (T + pad) // p, p * C)))  # (B, N, d_model), N tokens
        for block in self.blocks:
            h = block(h)  # (B, N, d_model)
        y = self.head(self.ln_f(h))  # (B, N, out_dim * p)
        return y.reshape(B, T + pad, -1)[:, :T]  # (B, T, out_dim)
