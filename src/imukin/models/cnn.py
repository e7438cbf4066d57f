"""Temporal CNN: the reference ``CustomConv1D`` (Rapp et al. 2021).

``n_layers`` blocks of Conv1d(channels, kernel, stride 1, 'same' padding) -> ReLU ->
BatchNorm1d -> Dropout, then per time step Linear(channels -> 20) -> Sigmoid ->
Linear(20 -> out_dim). Receptive field: ``n_layers * (kernel - 1) * dilation + 1`` samples
(121 samples = 0.6 s at 200 Hz for the defaults). Two-sided (non-causal). ``dilation``
(1 in the reference) widens the field at no extra cost.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from imukin.models.base import SequenceModel, SequenceModelConfig, _check_int, _check_prob
from imukin.models.registry import register_model


class ConvBlock(nn.Module):
    """Conv1d (same padding) -> ReLU -> BatchNorm1d -> Dropout, on (B, C, T)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dropout: float, dilation: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, stride=1, padding="same", dilation=dilation)
        self.act = nn.ReLU()
        self.bn = nn.BatchNorm1d(c_out)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, T) -> (B, C_out, T)
        return self.drop(self.bn(self.act(self.conv(x))))


@dataclass
class CNNConfig(SequenceModelConfig):
    """Options of :class:`CNN` (defaults: the reference's typical best, C = 70, k = 41, 3 layers)."""

    n_layers: int = 3  # conv blocks; reference search space {1, 2, 3}
    channels: int = 70  # conv channels; reference search space 10..70, best near 70
    kernel_size: int = 41  # conv kernel in samples (0.2 s at 200 Hz); odd keeps 'same' padding symmetric
    dropout: float = 0.1  # after each block; reference search space [0, 0.3]
    head_hidden: int = 20  # width of the per-time-step Linear -> Sigmoid -> Linear head (reference: 20)
    dilation: int = 1  # spacing of the kernel taps (reference: 1); 2 doubles the receptive field at the same cost

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("n_layers", "channels", "kernel_size", "head_hidden", "dilation"):
            _check_int(self, name, 1)
        _check_prob(self, "dropout")


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
            ConvBlock(c.in_channels if i == 0 else c.channels, c.channels, c.kernel_size, c.dropout, c.dilation)
            for i in range(c.n_layers)
        ])
        self.head = nn.Sequential(nn.Linear(c.channels, c.head_hidden), nn.Sigmoid(),
                                  nn.Linear(c.head_hidden, c.out_dim))
        self._init_weights()

    @property
    def receptive_field(self) -> int:
        """``n_layers * (kernel_size - 1) * dilation + 1`` frames (the output at a frame sees nothing further)."""
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
