"""Smooth building blocks of the gait generator: a C2 ramp, a soft ramp and smooth random signals."""
from __future__ import annotations

import numpy as np
from scipy.interpolate import CubicSpline


def smootherstep(s: np.ndarray) -> np.ndarray:
    """Ramp from 0 (``s <= 0``) to 1 (``s >= 1``), ``6 s^5 - 15 s^4 + 10 s^3`` between: C2 at both ends."""
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (s * (6.0 * s - 15.0) + 10.0)


def softplus(x: np.ndarray, tau: float) -> np.ndarray:
    """Smooth ``max(x, 0)`` with softness ``tau`` (same unit as ``x``): ``tau log(1 + exp(x / tau))``."""
    return tau * np.logaddexp(0.0, x / tau)


def smooth_noise(x: np.ndarray, knot_step: float, sd, rng: np.random.Generator, n_ch: int = 1) -> np.ndarray:
    """Smooth random signal(s) of x: N(0, sd) values at knots every ``knot_step``, cubic spline."""
    knots = np.arange(np.floor(x.min() / knot_step) - 2, np.ceil(x.max() / knot_step) + 3) * knot_step
    vals = rng.standard_normal((len(knots), n_ch)) * np.asarray(sd, float)
    return CubicSpline(knots, vals)(x)  # (N, n_ch)
