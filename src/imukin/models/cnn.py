"""Temporal CNN: the reference ``CustomConv1D`` (Rapp et al. 2021).

``n_layers`` blocks of Conv1d(channels, kernel, stride 1, 'same' padding) -> ReLU ->
BatchNorm1d -> Dropout, then per time step Linear(channels -> 20) -> Sigmoid ->
Linear(20 -> out_dim). Receptive field: ``n_layers * (kernel - 1) * dilation + 1`` samples
(121 samples = 0.6 s at 200 Hz for the defaults). ``dilation`` (1 in the reference) widens
the field at no extra cost.

Two-sided by default (the field is centred on the output frame). ``causal=True`` pads each
convolution on the left only, with ``(kernel - 1) * dilation`` zeros, so the output at frame
``t`` depends on inputs up to ``t`` only (the field lies entirely in the past): the model for
streaming (:mod:`imukin.streaming`). Both variants have the same weights and layer names.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from imukin.models.base import SequenceModel, SequenceModelConfig, check_bool, check_int, check_prob
from imukin.models.registry import register_model


class ConvBlock(nn.Module):
    """Conv1d -> ReLU -> BatchNorm1d -> Dropout, on (B, C, T).

    ``causal=False``: 'same' padding (symmetric). ``causal=True``: ``(kernel - 1) * dilation``
    zeros on the left only, so output frame ``t`` sees input frames ``t - (kernel - 1) * dilation .. t``.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dropout: float, dilation: int = 1,
                 causal: bool = False) -> None:
        super().__init__()
        self.causal = causal
        self.left_pad = (kernel_size - 1) * dilation if causal else 0  # frames of history a causal conv needs
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, stride=1, padding=0 if causal else "same", dilation=dilation)
        self.act = nn.ReLU()
        self.bn = nn.BatchNorm1d(c_out)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, T) -> (B, C_out, T)
        if self.causal:
            x = F.pad(x, (self.left_pad, 0))  # (B, C_in, left_pad + T)
        return self.drop(self.bn(self.act(self.conv(x))))

    def step(self, x: torch.Tensor) -> torch.Tensor:
        """A causal block on frames whose history is already in front: (B, C_in, left_pad + n) -> (B, C_out, n).

        The streaming form of :meth:`forward` (eval mode): the caller keeps the block's last
        ``left_pad`` input frames (zeros at the start, as the padding) and puts them before new ones.
        The convolution is one matrix product over the unfolded taps: for the one or few frames of a
        streaming step that is far quicker than ``conv1d``'s set-up, and gives its numbers to float
        rounding.
        """
        k, d = self.conv.kernel_size[0], self.conv.dilation[0]
        b, c_in, _ = x.shape
        taps = x.unfold(2, (k - 1) * d + 1, 1)[..., ::d]  # (B, C_in, n, k): the inputs each output frame sees
        n = taps.shape[2]
        cols = taps.permute(0, 2, 1, 3).reshape(b, n, c_in * k)  # (B, n, C_in * k)
        w = self.conv.weight.reshape(self.conv.out_channels, c_in * k)  # (C_out, C_in * k)
        h = torch.addmm(self.conv.bias, cols.reshape(b * n, -1), w.t()).reshape(b, n, -1)  # (B, n, C_out)
        return self.drop(self.bn(self.act(h.transpose(1, 2))))  # (B, C_out, n)


@dataclass
class CNNConfig(SequenceModelConfig):
    """Options of :class:`CNN` (defaults: the reference's typical best, C = 70, k = 41, 3 layers)."""

    n_layers: int = 3  # conv blocks; reference search space {1, 2, 3}
    channels: int = 70  # conv channels; reference search space 10..70, best near 70
    kernel_size: int = 41  # conv kernel in samples (0.2 s at 200 Hz); odd keeps 'same' padding symmetric
    dropout: float = 0.1  # after each block; reference search space [0, 0.3]
    head_hidden: int = 20  # width of the per-time-step Linear -> Sigmoid -> Linear head (reference: 20)
    dilation: int = 1  # spacing of the kernel taps (reference: 1); 2 doubles the receptive field at the same cost
    causal: bool = False  # True: left padding only, the output at frame t sees inputs up to t (streaming);
    # False: 'same' padding, the field centred on t (the reference; every checkpoint without the field)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("n_layers", "channels", "kernel_size", "head_hidden", "dilation"):
            check_int(self, name, 1)
        check_prob(self, "dropout")
        check_bool(self, "causal")


@register_model("cnn")
@register_model("cnn_ori", target="orientation")
class CNN(SequenceModel):
    """Temporal CNN, (B, T, in_channels) -> (B, T, out_dim)."""

    family = "cnn"
    config_class = CNNConfig

    def __init__(self, config: CNNConfig) -> None:
        super().__init__(config)
        c = config
        self.blocks = nn.Sequential(*[
            ConvBlock(c.in_channels if i == 0 else c.channels, c.channels, c.kernel_size, c.dropout, c.dilation,
                      c.causal)
            for i in range(c.n_layers)
        ])
        self.head = nn.Sequential(nn.Linear(c.channels, c.head_hidden), nn.Sigmoid(),
                                  nn.Linear(c.head_hidden, c.out_dim))
        self._init_weights()

    @property
    def receptive_field(self) -> int:
        """``n_layers * (kernel_size - 1) * dilation + 1`` frames (the output at a frame sees nothing further);
        centred on the output frame, or ending at it when ``causal``."""
        return self.config.n_layers * (self.config.kernel_size - 1) * self.config.dilation + 1

    def _init_weights(self) -> None:
        """All initialisation in one place: He (ReLU) for convs, Xavier for the head, zero biases."""
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm1d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in_channels) -> (B, T, out_dim)."""
        self._check_input(x)
        h = self.blocks(x.transpose(1, 2))  # (B, C, T)
        return self.head(h.transpose(1, 2))  # (B, T, C) -> (B, T, out_dim)
