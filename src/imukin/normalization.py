"""Per-channel z-scoring of network inputs and targets with training-set statistics (stored in checkpoints)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Normalizer:
    """Per-channel z-scoring of inputs and targets with training-set statistics."""

    x_mean: np.ndarray  # (16,)
    x_std: np.ndarray  # (16,)
    y_mean: np.ndarray  # (3,)
    y_std: np.ndarray  # (3,)

    @classmethod
    def fit(cls, xs: list[np.ndarray], ys: list[np.ndarray], scale_y: bool = True) -> Normalizer:
        """Statistics of the training data; ``scale_y=False`` leaves targets as they are (orientations)."""
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        if not scale_y:
            return cls(x.mean(0), np.maximum(x.std(0), 1e-6), np.zeros(y.shape[1]), np.ones(y.shape[1]))
        return cls(x.mean(0), np.maximum(x.std(0), 1e-6), y.mean(0), np.maximum(y.std(0), 1e-6))

    def to_dict(self) -> dict:
        return {k: np.asarray(getattr(self, k), float).tolist() for k in ("x_mean", "x_std", "y_mean", "y_std")}

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        return cls(*(np.asarray(d[k], np.float32) for k in ("x_mean", "x_std", "y_mean", "y_std")))

    def x(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.x_mean) / self.x_std).astype(np.float32)

    def y(self, y: np.ndarray) -> np.ndarray:
        return ((y - self.y_mean) / self.y_std).astype(np.float32)

    def y_inverse(self, y: np.ndarray) -> np.ndarray:
        return y * self.y_std + self.y_mean
