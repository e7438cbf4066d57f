"""Recurrent model: the reference LSTM (Rapp et al. 2021).

nn.LSTM(in_channels, hidden, n_layers, bidirectional, dropout between layers,
batch_first) -> per time step Linear(hidden * (1 + bidirectional) -> out_dim).
Bidirectional (the default) looks at the whole sequence; ``bidirectional=False``
is causal and suits streaming.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from imukin.models.base import SequenceModel, SequenceModelConfig, check_bool, check_int, check_prob
from imukin.models.registry import register_model


@dataclass
class LSTMConfig(SequenceModelConfig):
    """Options of :class:`LSTM` (defaults inside the reference search space)."""

    hidden_size: int = 60  # units per direction; reference search space 10..70 step 10
    n_layers: int = 2  # stacked LSTM layers; reference search space {1, 2, 3}
    bidirectional: bool = True  # two-sided context; False gives a causal (streaming) model
    dropout: float = 0.1  # between stacked layers only (PyTorch semantics); reference [0, 0.3]

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "hidden_size", 1)
        check_int(self, "n_layers", 1)
        check_prob(self, "dropout")
        check_bool(self, "bidirectional")


@register_model("lstm")
@register_model("lstm_ori", target="orientation")
class LSTM(SequenceModel):
    """LSTM, (B, T, in_channels) -> (B, T, out_dim)."""

    family = "lstm"
    config_class = LSTMConfig

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__(config)
        c = config
        self.lstm = nn.LSTM(c.in_channels, c.hidden_size, c.n_layers, batch_first=True,
                            bidirectional=c.bidirectional,
                            dropout=c.dropout if c.n_layers > 1 else 0.0)  # no-op (and a warning) for 1 layer
        self.head = nn.Linear(c.hidden_size * (2 if c.bidirectional else 1), c.out_dim)
        self._init_weights()

    def _init_weights(self) -> None:
        """All initialisation in one place: Xavier input weights, orthogonal recurrent weights,
        zero biases except the forget gate (bias 1, so gradients flow through long sequences)."""
        h = self.config.hidden_size
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(p)
            elif name.startswith("weight_hh"):
                for gate in range(4):  # gates stacked as (input, forget, cell, output) along dim 0
                    nn.init.orthogonal_(p.data[gate * h:(gate + 1) * h])
            elif name.startswith("bias_ih"):
                nn.init.zeros_(p)
                nn.init.ones_(p.data[h:2 * h])  # forget gate; bias_hh stays zero so the sum is 1
            elif name.startswith("bias_hh"):
                nn.init.zeros_(p)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in_channels) -> (B, T, out_dim)."""
        self._check_input(x)
        h, _ = self.lstm(x)  # (B, T, hidden * directions)
        return self.head(h)  # (B, T, out_dim)
