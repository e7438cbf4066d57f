import numpy as np
import pytest
from scipy.spatial.transform import Rotation, Slerp

from imukin.errors import ImukinError
from imukin.preprocessing.synchronize import (
    SyncResult,
    angular_velocity,
    estimate_offset,
    estimate_offset_drift,
    find_flight,
    impact_offsets,
    marker_frames,
    shift_stream,
    sync_by_impact,
    sync_imu_imu,
    sync_imu_mocap,
    sync_sensors_by_impact,
)
from tests.preprocessing.motion import mounted_imu, standing_then_walking


@pytest.fixture(scope="module")
def walk():
    return standing_then_walking(4, stand_s=2.0, walk_s=14.0)


def _delayed(x, fs, delay_s, drift=0.0):
    """y(t) = x(t - delay - drift t), sampled like x: (N, ...) -> (N, ...)."""
    from scipy.interpolate import CubicSpline

    t = np.arange(len(x)) / fs
    return CubicSpline(t, x, axis=0)(np.clip(t - delay_s - drift * t, 0.0, t[-1]))


def test_subsample_offset_between_two_sensors_on_one_segment(walk):
    fs = 100.0
    _, g1 = mounted_imu(walk, "rshank", np.eye(3), fs, rng=np.random.default_rng(0))
    _, g2 = mounted_imu(walk, "rshank", Rotation.random(random_state=2).as_matrix(), fs, rng=np.random.default_rng(1))
    g2 = _delayed(g2, fs, 0.2374)
    res = sync_imu_imu(g1, g2, fs, max_lag_s=1.0)
    assert abs(res.offset_s - 0.2374) < 1.5e-3  # sub-sample: well below the 10 ms period
    assert res.corr > 0.95 and res.confidence > 0.5


def test_drift_is_recovered_and_undone(walk):
    fs = 100.0
    _, g1 = mounted_imu(walk, "rthigh", np.eye(3), fs, rng=np.random.default_rng(0))
    g2 = _delayed(g1, fs, -0.08, drift=400e-6)  # 400 ppm: 6 ms over the recording
    res = sync_imu_imu(g1, g2, fs, max_lag_s=0.5, drift=True)
    assert abs(res.drift_ppm - 400.0) < 60.0
    assert abs(res.offset_s + 0.08) < 1.5e-3
    back, valid = shift_stream(g2, fs, res)
    assert np.abs(back - g1)[valid][300:-300].max() < 0.05 * np.abs(g1).max()


def _tapped(walk, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Thigh and foot accelerometers ((N, 3) each, any mounting) with one tap seen by both at 1.0 s."""
    a1, _ = mounted_imu(walk, "rthigh", np.eye(3), fs, rng=np.random.default_rng(0))
    a2, _ = mounted_imu(walk, "lfoot", Rotation.random(random_state=5).as_matrix(), fs, rng=np.random.default_rng(1))
    tap = np.exp(-0.5 * ((np.arange(len(a1)) / fs - 1.0) / 0.004) ** 2)[:, None] * np.array([30.0, -20.0, 10.0])
    return a1 + tap, a2 + tap @ Rotation.random(random_state=6).as_matrix()


def test_tap_on_sensors_on_different_segments(walk):
    fs = 200.0
    a1, a2 = _tapped(walk, fs)
    a2 = _delayed(a2, fs, 0.3128)
    res = sync_by_impact(a1, a2, fs, search_x=(0.0, 1.8), search_y=(0.0, 1.8))
    assert abs(res.offset_s - 0.3128) < 2e-3


def test_confidence_is_low_for_unrelated_signals():
    rng = np.random.default_rng(0)
    res = estimate_offset(rng.normal(size=2000), rng.normal(size=2000), 100.0)
    assert res.confidence < 0.3


def test_constant_signal_raises():
    with pytest.raises(ImukinError, match="constant"):
        estimate_offset(np.ones(100), np.arange(100.0), 100.0)


def test_marker_frame_rate_equals_the_gyroscope(walk):
    """Three 'markers' fixed on the shank: their frame's angular rate is the segment's gyroscope norm."""
    fs = 100.0
    t_out = np.arange(int(walk.t[-1] * fs)) / fs
    sl = Slerp(walk.t, Rotation.from_matrix(walk.rot["rshank"]))
    r = sl(t_out).as_matrix()
    pts = [np.einsum("nij,j->ni", r, p) for p in ((0, 0, 0), (0.1, 0, 0.02), (0, -0.1, 0.05))]
    w = angular_velocity(marker_frames(*pts), fs)
    _, gyr = mounted_imu(walk, "rshank", np.eye(3), fs, noise=False)
    n = min(len(w), len(gyr))
    assert np.abs(np.linalg.norm(w[:n], axis=1) - np.linalg.norm(gyr[:n], axis=1))[5:-5].max() < 0.05


def test_imu_vs_mocap_on_real_gaitmap_data(gaitmap_imu, gaitmap_markers):
    """Real foot IMUs (204.8 Hz) against foot markers (100 Hz), recorded together."""
    for side in ("left", "right"):
        r = sync_imu_mocap(gaitmap_imu[side].gyr, 204.8, gaitmap_markers[side], 100.0)
        assert abs(r.sync.offset_s) < 0.005  # the files are synchronised
        assert r.sync.corr > 0.95 and r.sync.confidence > 0.8
        assert r.residual_norm_rms < 0.25 * r.norm_rms
    # a known delay of the markers is found on top of the recording's own offset
    base = sync_imu_mocap(gaitmap_imu["left"].gyr, 204.8, gaitmap_markers["left"], 100.0).sync.offset_s
    rm = gaitmap_markers["left"]
    t = np.arange(len(rm)) / 100.0
    shifted = Slerp(t, Rotation.from_matrix(rm))(np.clip(t - 0.1234, 0, t[-1])).as_matrix()
    r = sync_imu_mocap(gaitmap_imu["left"].gyr, 204.8, shifted, 100.0)
    assert abs(r.sync.offset_s - base - 0.1234) < 2e-3


def test_sync_result_offsets_follow_the_sign_convention():
    res = SyncResult(offset_s=0.5, drift=1e-3)
    assert res.offset_at(10.0) == pytest.approx(0.51)
    assert res.as_dict()["drift_ppm"] == pytest.approx(1000.0)


def test_windows_without_movement_do_not_make_a_drift():
    t = np.arange(3000) / 100.0
    x = np.sin(2 * np.pi * 0.37 * t) * np.exp(-((t - 7) / 2) ** 2)  # moves only around t = 7 s
    res = estimate_offset_drift(x, x, 100.0, window_s=6.0)
    assert res.drift == 0.0 and abs(res.offset_s) < 1e-3
    assert all(abs(w[0] - 7.0) < 6.0 for w in res.windows)


def test_sensors_put_together_by_a_jump(walk):
    """Three sensors on different segments, one tap seen by all at 1.2 s, two of them recorded 43 ms later and
    27 ms earlier than the first: the offsets come back to a few milliseconds and the signals line up again."""
    fs = 200.0
    segs = ("pelvis", "rthigh", "lfoot")
    true = {s: mounted_imu(walk, s, np.eye(3), fs, rng=np.random.default_rng(i)) for i, s in enumerate(segs)}
    tap = np.exp(-0.5 * ((np.arange(len(true["pelvis"][0])) / fs - 1.2) / 0.004) ** 2)[:, None] * [30.0, -20.0, 10.0]
    true = {s: (a + tap, g) for s, (a, g) in true.items()}
    moved = {"pelvis": true["pelvis"], "rthigh": tuple(_delayed(x, fs, 0.043) for x in true["rthigh"]),
             "lfoot": tuple(_delayed(x, fs, -0.027) for x in true["lfoot"])}
    acc, gyr, info = sync_sensors_by_impact({s: v[0] for s, v in moved.items()}, {s: v[1] for s, v in moved.items()},
                                            fs)
    assert info["reference"] == "pelvis" and info["sensors"]["pelvis"]["offset_s"] == 0.0
    assert abs(info["sensors"]["rthigh"]["offset_s"] - 0.043) < 2e-3
    assert abs(info["sensors"]["lfoot"]["offset_s"] + 0.027) < 2e-3
    a, b = info["frames"]
    # the foot began last, the thigh ended first: the span all three cover
    assert a == pytest.approx(0.027 * fs, abs=1.5) and len(true["pelvis"][0]) - b == pytest.approx(0.043 * fs, abs=1.5)
    for s in segs:
        assert acc[s].shape == gyr[s].shape == (b - a, 3)
        scale = np.abs(true[s][1]).max()
        assert np.abs(gyr[s] - true[s][1][a:b])[20:-20].max() < 0.05 * scale, s
    with pytest.raises(ImukinError, match="share"):
        sync_sensors_by_impact({s: v[0][:400] for s, v in moved.items()}, {s: v[1][:400] for s, v in moved.items()},
                               fs, search_s=1.9)  # 2 s recorded: 1.9 s shared


def test_a_jump_gives_the_offset_to_a_fraction_of_a_sample(walk):
    """A flight (specific force near 0 for 0.25 s) seen by two sensors, the second recorded 12.5 ms later at
    100 Hz: the landing's instants, read between samples, give the offset to within a millisecond; a sensor
    that never leaves the ground has no flight."""
    fs = 100.0
    a1, _ = mounted_imu(walk, "pelvis", np.eye(3), fs, rng=np.random.default_rng(0))
    a2, _ = mounted_imu(walk, "rshank", Rotation.random(random_state=3).as_matrix(), fs, rng=np.random.default_rng(1))
    t = np.arange(len(a1)) / fs
    assert find_flight(a1, fs, (0.0, t[-1])) is None  # standing and walking: no flight
    weight = np.clip(np.abs(t - 1.125) / 0.01 - 12.0, 0.0, 1.0)[:, None]  # 0 in flight (1.0-1.25 s), ramps 10 ms
    a1, a2 = a1 * weight, a2 * weight
    up, down = find_flight(a1, fs, (0.0, 5.0))
    assert abs(up - 1.0) < 0.01 and abs(down - 1.25) < 0.01
    offsets, impact = impact_offsets({"pelvis": a1, "rshank": _delayed(a2, fs, 0.0125)}, fs)
    res = offsets["rshank"]
    assert res.method == "jump landing" and abs(res.offset_s - 0.0125) < 1e-3 and res.confidence > 0.9
    assert impact == pytest.approx(down)


def test_a_gap_is_no_flight(walk):
    """Missing samples (NaN) read as no specific force would look like free fall: they are not taken for a jump,
    and two sensors tapped together are still put together by the tap."""
    fs = 200.0
    a1, a2 = _tapped(walk, fs)
    a2 = _delayed(a2, fs, 0.05)
    a1[250:290], a2[300:340] = np.nan, np.nan  # 0.2 s lost in each, 0.25 s apart
    assert find_flight(a2, fs, (0.0, 1.8)) is None
    res = impact_offsets({"rthigh": a1, "lfoot": a2}, fs, search_s=1.8)[0]["lfoot"]
    assert res.method != "jump landing" and abs(res.offset_s - 0.05) < 2e-3
