"""The per-axis blend: applying it, and fitting s and w on validation data."""
import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.fusion.blend import apply_blend, fit_blend_params


def test_apply_blend_endpoints():
    rng = np.random.default_rng(0)
    alpha, beta = rng.normal(size=(50, 3)) * 10, rng.normal(size=(50, 3)) * 10 + 30.0
    assert np.allclose(apply_blend(alpha, beta, [2, 2, 2], [1, 1, 1]), alpha)
    out = apply_blend(alpha, beta, [2, 1, 0.5], [0, 0, 0])
    assert np.allclose(out.mean(0), alpha.mean(0))  # mean of beta swapped for alpha's
    assert np.allclose(out - out.mean(0), (beta - beta.mean(0)) * [2, 1, 0.5])


def test_fit_recovers_known_scale_and_weight():
    rng = np.random.default_rng(1)
    s_true = np.array([1.3, 0.8, 1.1])
    sd_a, sd_b = np.array([2.0, 3.0, 1.0]), np.array([3.0, 1.5, 2.0])  # alpha and beta' error SDs
    w_true = sd_b**2 / (sd_a**2 + sd_b**2)  # optimal inverse-variance weight of alpha
    alphas, betas, refs = [], [], []
    for k in range(12):
        t = np.arange(2000) / 200.0
        y = np.stack([40 * np.sin(2 * np.pi * t + k), 15 * np.sin(2 * np.pi * t + 2 * k),
                      25 * np.sin(2 * np.pi * t + 3 * k)], 1) + rng.normal(size=3) * 5  # (T, 3)
        alphas.append(y + rng.normal(size=y.shape) * sd_a)
        offset = rng.normal(size=3) * 10  # mounting offset of the sensor-frame angles
        betas.append((y - y.mean(0) + rng.normal(size=y.shape) * sd_b) / s_true + offset)
        refs.append(y)
    p = fit_blend_params(alphas, betas, refs)
    assert np.allclose(p["s"], s_true, rtol=0.03), p["s"]
    assert np.allclose(p["w"], w_true, atol=0.04), (p["w"], w_true)
    assert np.all(np.array(p["rmse_deg"]) < np.array(p["rmse_alpha_deg"]))


def test_fit_rejects_bad_input():
    with pytest.raises(ImukinError):
        fit_blend_params([np.zeros((10, 3))], [np.zeros((9, 3))], [np.zeros((10, 3))])
    with pytest.raises(ImukinError):
        fit_blend_params([], [], [])
