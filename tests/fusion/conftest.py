"""Synthetic two-segment motion with known orientations, for the fusion tests."""
import numpy as np
import pytest

from imukin.rotations import heading_free, so3_exp
from imukin.simulation.imu import ideal_imu

FS = 200.0


def smooth_noise(rng, n, sd_deg, fs=FS, corr_s=0.1):
    """Time-correlated rotation-vector noise (n, 3) with an overall RMS angle of sd_deg."""
    from scipy.ndimage import gaussian_filter1d

    v = gaussian_filter1d(rng.normal(size=(n, 3)), sigma=corr_s * fs, axis=0)
    v *= np.deg2rad(sd_deg) / np.sqrt(np.mean(np.sum(v**2, axis=1)))
    return v


def two_segment_motion(seconds=12.0, seed=0, bias_dps=0.6, noise_dps=0.15):
    """Truth orientations of a thigh-like and a shank-like sensor, their gyroscopes and accelerometers.

    The walker turns (heading changes by ~70 deg), the segments swing like in gait. The
    gyroscopes get a constant bias (``bias_dps`` per axis, random sign) and white noise.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t = np.arange(n) / FS
    f = 0.9  # Hz, stride rate
    heading = 0.1 * t + 0.2 * np.sin(0.3 * t)  # rad
    hip = np.stack([0.08 * np.sin(2 * np.pi * f * t + 1), 0.1 * np.sin(2 * np.pi * f * t + 2),
                    0.45 * np.sin(2 * np.pi * f * t)], 1)
    knee = np.stack([0.05 * np.sin(2 * np.pi * f * t), 0.08 * np.sin(2 * np.pi * f * t + 0.5),
                     -0.5 * (1 - np.cos(2 * np.pi * f * t + 0.8))], 1)
    r_head = so3_exp(np.stack([0 * t, heading, 0 * t], 1))
    mount1, mount2 = so3_exp(np.deg2rad([5.0, -8.0, 3.0])), so3_exp(np.deg2rad([-4.0, 6.0, 9.0]))
    r1 = r_head @ so3_exp(hip) @ mount1
    r2 = r_head @ so3_exp(hip) @ so3_exp(knee) @ mount2
    pos = np.stack([np.cos(heading) * t, 0.02 * np.sin(4 * np.pi * f * t), -np.sin(heading) * t], 1)
    acc1, g1 = ideal_imu(t, r1, pos)
    acc2, g2 = ideal_imu(t, r2, pos)
    bias = rng.choice([-1.0, 1.0], size=(2, 3)) * np.deg2rad(bias_dps)
    g1 = g1 + bias[0] + rng.normal(scale=np.deg2rad(noise_dps), size=g1.shape)
    g2 = g2 + bias[1] + rng.normal(scale=np.deg2rad(noise_dps), size=g2.shape)
    return {"r1": r1, "r2": r2, "gyr1": g1, "gyr2": g2, "acc1": acc1, "acc2": acc2, "bias": bias, "fs": FS}


@pytest.fixture(scope="session")
def motion():
    return two_segment_motion()


def noisy_network(m, sd_deg=5.0, seed=1):
    """Heading-free truth with time-correlated errors of ``sd_deg`` RMS: what a network would give."""
    rng = np.random.default_rng(seed)
    h1, h2 = heading_free(m["r1"], m["r2"])
    n = len(h1)
    return h1 @ so3_exp(smooth_noise(rng, n, sd_deg)), h2 @ so3_exp(smooth_noise(rng, n, sd_deg))


@pytest.fixture(scope="session")
def tiny_corpus(corpus_factory):
    """Five simulated walkers, 10 s each at 100 Hz (full sensor error model)."""
    return corpus_factory(n_subjects=5, seed=11, duration_s=10.0, fs=100.0)


def random_problem(seed: int, n: int, estimate_bias: bool):
    """A small optimisation problem with large random rotations, and a point away from its optimum
    (non-trivial residuals): ``(problem, r (2, n, 3, 3), b (2, 3))``."""
    from imukin.fusion.optimize import OptimizeConfig, build_problem

    rng = np.random.default_rng(seed)
    r_net = so3_exp(rng.normal(scale=0.8, size=(2, n, 3)))
    gyr = rng.normal(scale=2.0, size=(2, n, 3))
    acc = rng.normal(scale=3.0, size=(2, n, 3)) + np.array([0.0, 9.81, 0.0])
    cfg = OptimizeConfig(gravity_sd_deg=8.0, gravity_gate_ms2=3.0, estimate_bias=estimate_bias)
    p = build_problem(r_net, gyr, 50.0, cfg, acc)
    r = so3_exp(rng.normal(scale=0.8, size=(2, n, 3)))
    b = rng.normal(scale=0.05, size=(2, 3))
    return p, r, b
