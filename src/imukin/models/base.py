"""What every imukin sequence model shares: the input/output contract and its config fields.

Every model maps ``(B, T, in_channels)`` float32 inputs (the channels of
:data:`imukin.conventions.CHANNELS`, z-scored) to ``(B, T, out_dim)`` per time step.
The ``target`` field of the config picks the output:

``"angle"``
    3 joint angles ``[flexion, adduction, rotation]`` (normalised degrees).
``"orientation"``
    two 6D rotations (12 channels, layout in :mod:`imukin.models.orientation`);
    :meth:`SequenceModel.rotations` turns them into ``(B, T, 2, 3, 3)`` matrices.

The registered names ``<family>_ori`` are the same architectures with
``target="orientation"`` fixed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from imukin.conventions import ANGLE_AXES, N_CHANNELS
from imukin.errors import ImukinError
from imukin.models.orientation import ORIENTATION_DIM, output_to_rotations

#: Output channels per target.
TARGET_DIMS = {"angle": len(ANGLE_AXES), "orientation": ORIENTATION_DIM}


@dataclass
class SequenceModelConfig:
    """Fields common to every model config (subclasses add their own)."""

    in_channels: int = N_CHANNELS  # input channels per time step; 16 = two IMUs (conventions.CHANNELS)
    target: str = "angle"  # "angle": 3 joint angles; "orientation": two 6D rotations (12 outputs)

    def __post_init__(self) -> None:
        if self.target not in TARGET_DIMS:
            raise ImukinError(f"unknown target {self.target!r}; choose one of: {', '.join(TARGET_DIMS)}")
        check_int(self, "in_channels", 1)

    @property
    def out_dim(self) -> int:
        """Output channels per time step (3 for angles, 12 for orientations)."""
        return TARGET_DIMS[self.target]


class SequenceModel(nn.Module):
    """Base class: stores the config and gives the registered name and rotation helper.

    Subclasses set ``family`` (the registered name of the angle variant) and
    ``config_class``, build layers in ``__init__`` and call ``self._init_weights()``.
    """

    family: str = ""  # registered name of the angle variant, e.g. "cnn"
    config_class: type = SequenceModelConfig

    def __init__(self, config: SequenceModelConfig) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise ImukinError(f"{type(self).__name__} needs a {self.config_class.__name__}, got "
                              f"{type(config).__name__}; build models with imukin.models.create_model")
        self.config = config

    @property
    def model_name(self) -> str:
        """Registered name that rebuilds this model, e.g. ``"cnn"`` or ``"cnn_ori"``."""
        return self.family + ("_ori" if self.config.target == "orientation" else "")

    @property
    def out_dim(self) -> int:
        return self.config.out_dim

    @property
    def receptive_field(self) -> int | None:
        """Input frames each output frame depends on; ``None`` when it is the whole window."""
        return None

    def num_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def rotations(self, x: torch.Tensor) -> torch.Tensor:
        """Forward pass of an orientation model as rotation matrices: (B, T, C) -> (B, T, 2, 3, 3)."""
        if self.config.target != "orientation":
            raise ImukinError(f"model {self.model_name!r} predicts angles, not rotations; "
                              f"use {self.family + '_ori'!r} for orientations")
        return output_to_rotations(self(x))

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 3 or x.shape[-1] != self.config.in_channels:
            raise ImukinError(f"{self.model_name} expects input of shape (batch, time, {self.config.in_channels}), "
                              f"got {tuple(x.shape)}; stack the channels of imukin.conventions.CHANNELS last")
        if x.shape[1] == 0:
            raise ImukinError(f"{self.model_name} got an empty sequence (T = 0); pass at least one time step")


def check_int(cfg, name: str, minimum: int) -> None:
    """Raise ImukinError unless ``cfg.<name>`` is an int >= minimum.

    Parameters
    ----------
    cfg : dataclass instance
        A model config.
    name : str
        The field to check.
    minimum : int
        Smallest allowed value.
    """
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ImukinError(f"{type(cfg).__name__}.{name} must be an integer >= {minimum}, got {value!r}")


def check_bool(cfg, name: str) -> None:
    """Raise ImukinError unless ``cfg.<name>`` is True or False (a switch such as ``causal``)."""
    value = getattr(cfg, name)
    if not isinstance(value, bool):
        raise ImukinError(f"{type(cfg).__name__}.{name} must be True or False, got {value!r}")


def check_prob(cfg, name: str) -> None:
    """Raise ImukinError unless ``cfg.<name>`` is a probability in [0, 1).

    Parameters
    ----------
    cfg : dataclass instance
        A model config.
    name : str
        The field to check (a dropout rate, say).
    """
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ImukinError(f"{type(cfg).__name__}.{name} must be a number in [0, 1), got {value!r}")
