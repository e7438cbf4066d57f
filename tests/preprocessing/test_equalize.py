import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.preprocessing.equalize import (
    NOISE_CHANNELS,
    NoiseProfile,
    allan_deviation,
    coloured_noise,
    combine_profiles,
    equalize_noise,
    estimate_noise,
    noisiest,
)

FS = 100.0


def _still(density_acc, density_gyr, n=3000, seed=0, walk=0.0):
    """A sensor lying still (+9.81 on y) with white noise of the given densities, optional bias random walk."""
    rng = np.random.default_rng(seed)
    acc = np.array([0.0, 9.81, 0.0]) + rng.normal(0, density_acc * np.sqrt(FS), (n, 3))
    gyr = rng.normal(0, density_gyr * np.sqrt(FS), (n, 3))
    if walk:
        gyr += np.cumsum(rng.normal(0, walk / np.sqrt(FS), (n, 3)), axis=0)
    return acc, gyr


def test_white_noise_density_is_measured():
    acc, gyr = _still(1.5e-3, np.deg2rad(0.01))
    p = estimate_noise(acc, gyr, FS)
    assert np.allclose(p.density[:3], 1.5e-3, rtol=0.1)
    assert np.allclose(p.density[3:], np.deg2rad(0.01), rtol=0.1)
    assert np.allclose(p.hf_rms[:3], 1.5e-3 * np.sqrt(2 * (FS / 2 - 5.0)), rtol=0.1)
    assert p.still_s == pytest.approx(30.0, abs=0.5)


def test_allan_deviation_of_white_noise_falls_as_one_over_root_tau():
    x = np.random.default_rng(1).normal(0, 0.1, 20000)
    taus, adev = allan_deviation(x, FS)
    expected = 0.1 / np.sqrt(taus * FS)
    ok = taus < 5.0  # longer averaging times have few clusters and scatter more
    assert np.allclose(adev[ok], expected[ok], rtol=0.15)


def test_bias_instability_is_resolved_on_a_long_still_period():
    acc, gyr = _still(1.5e-3, np.deg2rad(0.01), n=60000, walk=np.deg2rad(0.05))  # 10 min, strong bias walk
    p = estimate_noise(acc, gyr, FS)
    assert p.bias_resolved[3:].all() and (p.bias_tau_s[3:] < 300).all()


def test_cleaner_sensor_is_brought_up_with_coloured_noise():
    clean = _still(1.5e-3, np.deg2rad(0.01), seed=2)
    noisy = _still(6e-3, np.deg2rad(0.05), seed=3)
    target = estimate_noise(*noisy, FS)
    acc, gyr, rep = equalize_noise(*clean, FS, target, rng=np.random.default_rng(0))
    assert rep.action == ["added"] * 6
    assert np.allclose(rep.after.hf_rms, target.hf_rms, rtol=0.08)
    assert np.allclose(rep.before.hf_rms * 3.5, target.hf_rms, rtol=0.3)  # before: about 4x cleaner
    assert np.allclose(acc.mean(axis=0), clean[0].mean(axis=0), atol=0.01)  # zero-mean noise


def test_coloured_target_spectrum_is_reproduced():
    rng = np.random.default_rng(4)
    n = 6000
    pink = np.stack([coloured_noise(lambda f: np.where(f > 0, 1e-4 / np.maximum(f, 1e-9), 0), n, FS, rng)
                     for _ in range(6)], axis=1)  # 1/f noise on every channel
    acc = np.array([0, 9.81, 0]) + pink[:, :3]
    gyr = pink[:, 3:] * 0.1
    target = estimate_noise(acc, gyr, FS)
    out_acc, out_gyr, rep = equalize_noise(*_still(1e-4, 1e-5, n=n, seed=5), FS, target)
    band = target.freqs >= 5.0
    ratio = rep.after.psd[:, band] / target.psd[:, band]
    assert 0.6 < np.median(ratio) < 1.4
    assert (rep.after.psd[0, band][0] / rep.after.psd[0, band][-1]) > 3  # still falls with frequency


def test_noisier_sensor_is_low_passed():
    noisy = _still(3e-3, np.deg2rad(0.02), seed=6)
    target = estimate_noise(*_still(1.5e-3, np.deg2rad(0.012), seed=7), FS)
    acc, gyr, rep = equalize_noise(*noisy, FS, target)
    assert rep.action == ["lowpass"] * 6
    assert all(15.0 <= fc < 50.0 for fc in rep.cutoff_hz)
    assert (rep.after.hf_rms < rep.before.hf_rms).all()
    assert (np.abs(rep.after.hf_rms / target.hf_rms - 1) < 0.25).all()


def test_profiles_combine_pick_and_round_trip():
    a = estimate_noise(*_still(1e-3, 1e-4, seed=8), FS)
    b = estimate_noise(*_still(4e-3, 0.5e-4, seed=9), FS)
    top = noisiest([a, b])
    assert np.allclose(top.hf_rms[:3], b.hf_rms[:3]) and np.allclose(top.hf_rms[3:], a.hf_rms[3:])
    med = combine_profiles([a, b])
    assert med.still_s == pytest.approx(a.still_s + b.still_s)
    back = NoiseProfile.from_dict(med.as_dict(with_psd=True))
    assert np.allclose(back.psd, med.psd) and list(med.as_dict()["hf_rms"]) == list(NOISE_CHANNELS)


def test_no_still_period_raises():
    rng = np.random.default_rng(0)
    with pytest.raises(ImukinError, match="still period"):
        estimate_noise(rng.normal(0, 5, (500, 3)), rng.normal(0, 3, (500, 3)), FS)


def test_real_gaitmap_standing_noise(gaitmap_imu):
    """The real foot IMUs stand still for about 0.7 s at the start: enough for a noise figure."""
    from imukin.signal import resample

    rec = gaitmap_imu["left"]
    acc, gyr = resample(rec.acc, 204.8, 100.0), resample(rec.gyr, 204.8, 100.0)
    p = estimate_noise(acc, gyr, 100.0)
    assert 0.3 < p.still_s < 2.0
    assert (p.hf_rms[:3] < 0.1).all() and (p.hf_rms[3:] < 0.02).all()  # m/s^2, rad/s: sensor noise, not gait
    assert (p.density[:3] > 1e-4).all()
