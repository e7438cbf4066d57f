import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.preprocessing.resample import regularize_timestamps, resample_regular, resample_timestamped
from imukin.preprocessing.synchronize import angular_velocity
from imukin.signal import lowpass


@pytest.mark.parametrize("fs_in, fs_out", [(204.8, 100.0), (120.0, 200.0), (148.0, 100.0), (100.0 * np.sqrt(2), 60.0)])
def test_any_ratio_keeps_a_slow_tone_in_place(fs_in, fs_out):
    t = np.arange(int(12 * fs_in)) / fs_in
    y = resample_regular(np.sin(2 * np.pi * 1.7 * t), fs_in, fs_out)
    t_out = np.arange(len(y)) / fs_out
    inner = slice(int(fs_out), -int(fs_out))  # away from the ends
    assert np.abs(y[inner] - np.sin(2 * np.pi * 1.7 * t_out[inner])).max() < 2e-3  # zero phase, right rate


def test_downsampling_removes_what_would_alias():
    fs_in, fs_out = 204.8, 100.0
    t = np.arange(4096) / fs_in
    x = np.sin(2 * np.pi * 2.0 * t) + np.sin(2 * np.pi * 70.0 * t)  # 70 Hz would alias to 30 Hz
    y = resample_regular(x, fs_in, fs_out)
    spec = np.abs(np.fft.rfft(y[100:-100] * np.hanning(len(y) - 200)))
    f = np.fft.rfftfreq(len(y) - 200, 1 / fs_out)
    assert spec[np.abs(f - 30.0) < 1.0].max() < 0.01 * spec[np.abs(f - 2.0) < 0.5].max()


def test_jitter_drift_and_gaps_are_repaired_and_flagged():
    rng = np.random.default_rng(3)
    fs, n = 204.8, 6000
    k = np.arange(n)
    t_true = 0.25 + k / fs * (1 + 300e-6)  # the sensor samples 300 ppm slower than its nominal rate
    stamps = t_true + rng.uniform(-0.3, 0.3, n) / fs  # host jitter, 0.3 periods
    x = np.stack([np.sin(2 * np.pi * 1.1 * t_true), np.cos(2 * np.pi * 0.7 * t_true)], axis=1)
    keep = np.ones(n, bool)
    keep[[500, 501, 502]] = False  # 15 ms: filled
    keep[3000:3060] = False  # 0.29 s: flagged
    out = resample_timestamped(stamps[keep], x[keep], 100.0, fs_nominal=fs)
    rep = out.timing
    assert abs(rep.drift_ppm + 300.0) < 20.0
    assert 0.16 / fs < rep.jitter_rms_s < 0.19 / fs  # uniform +-0.3 periods has RMS 0.173 periods
    assert [g.n_missing for g in rep.gaps] == [3, 60]
    assert [g.filled for g in rep.gaps] == [True, False]
    t_out = out.t
    truth = np.stack([np.sin(2 * np.pi * 1.1 * t_out), np.cos(2 * np.pi * 0.7 * t_out)], axis=1)
    err = np.abs(out.x - truth).max(axis=1)
    flagged_t = t_out[out.flagged]
    assert flagged_t.min() > 0.25 + 2999 / fs * (1 + 300e-6) - 0.02 and flagged_t.max() < 0.25 + 3060 / fs + 0.02
    assert err[~out.flagged][100:-100].max() < 5e-3  # short gap filled by the spline, jitter removed


def test_stamps_mode_interpolates_irregular_instants():
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.6, 1.4, 3000)) / 120.0  # truly irregular sampling instants
    x = np.sin(2 * np.pi * 0.9 * t)
    out = resample_timestamped(t, x, 200.0, fs_nominal=120.0, timing="stamps")
    assert np.abs(out.x[:, 0] - np.sin(2 * np.pi * 0.9 * out.t))[200:-200].max() < 5e-3


def test_bad_stamps_raise():
    with pytest.raises(ImukinError, match="NaN"):
        regularize_timestamps([0.0, np.nan, 0.02])
    with pytest.raises(ImukinError, match="one stamp per row"):
        resample_timestamped(np.arange(10) / 100, np.zeros(9), 50.0)


def test_gaitmap_gyro_resampled_to_mocap_rate_matches_the_markers(gaitmap_imu, gaitmap_markers):
    """Real data: 204.8 -> 100 Hz gyroscope norm against the foot markers' angular rate."""
    gyr = gaitmap_imu["left"].gyr
    g100 = resample_regular(gyr, 204.8, 100.0)
    w = lowpass(angular_velocity(gaitmap_markers["left"], 100.0), 100.0, 12.0)
    n = min(len(g100), len(w))
    a, b = np.linalg.norm(lowpass(g100, 100.0, 12.0)[:n], axis=1), np.linalg.norm(w[:n], axis=1)
    assert np.corrcoef(a, b)[0, 1] > 0.95
    assert abs(len(g100) - len(gyr) * 100.0 / 204.8) <= 1
