"""Sensor error model: each part does what its magnitude says, and nothing when switched off."""
from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imukin.conventions import G
from imukin.errors import ImukinError
from imukin.simulation.imu import ideal_imu
from imukin.simulation.sensor_errors import (
    SensorErrorConfig,
    apply_electronic_errors,
    draw_mounting,
    soft_tissue_motion,
)

IDEAL = SensorErrorConfig.ideal()


def _gait_load(t: np.ndarray, impact: float = 40.0) -> np.ndarray:
    """Shank-like acceleration in the lab: smooth swing plus a heel-strike impact every second, (N, 3)."""
    acc = np.zeros((len(t), 3))
    acc[:, 0] = 8.0 * np.sin(2 * np.pi * t)
    acc[:, 1] = impact * np.exp(-0.5 * ((t % 1.0 - 0.5) / 0.01) ** 2)
    return acc


def _angles_deg(rot: np.ndarray) -> np.ndarray:
    return np.rad2deg(Rotation.from_matrix(rot).magnitude())


# ---------------------------------------------------------------- ideal
def test_ideal_config_changes_nothing(rng):
    acc = rng.normal(size=(500, 3)) * 30.0
    gyr = rng.normal(size=(500, 3)) * 5.0
    acc_m, gyr_m = apply_electronic_errors(acc, gyr, 100.0, IDEAL, rng)
    np.testing.assert_array_equal(acc_m, acc)
    np.testing.assert_array_equal(gyr_m, gyr)
    r_mount, offset = draw_mounting(IDEAL, rng)
    np.testing.assert_array_equal(r_mount, np.eye(3))
    np.testing.assert_array_equal(offset, 0.0)
    t = np.arange(2000) / 1000.0
    rot, disp = soft_tissue_motion(t, _gait_load(t), IDEAL, rng)
    np.testing.assert_array_equal(rot, np.tile(np.eye(3), (len(t), 1, 1)))
    np.testing.assert_array_equal(disp, 0.0)


def test_defaults_are_not_ideal(rng):
    acc = np.tile([0.0, G, 0.0], (200, 1))
    acc_m, gyr_m = apply_electronic_errors(acc, np.zeros((200, 3)), 100.0, SensorErrorConfig(), rng)
    assert np.abs(acc_m - acc).max() > 1e-3 and np.abs(gyr_m).max() > 1e-4


# ---------------------------------------------------------------- electronic
@pytest.mark.parametrize("fs", [100.0, 400.0])
def test_white_noise_sd_matches_density(fs, rng):
    cfg = replace(IDEAL, acc_noise_density=(1.5e-3, 1.5e-3), gyr_noise_density_dps=(0.01, 0.01))
    n = 20000
    acc_m, gyr_m = apply_electronic_errors(np.tile([0.0, G, 0.0], (n, 1)), np.zeros((n, 3)), fs, cfg, rng)
    np.testing.assert_allclose(acc_m.std(axis=0), 1.5e-3 * np.sqrt(fs), rtol=0.1)
    np.testing.assert_allclose(gyr_m.std(axis=0), np.deg2rad(0.01) * np.sqrt(fs), rtol=0.1)
    # within 5 standard errors
    np.testing.assert_allclose(acc_m.mean(axis=0), [0.0, G, 0.0], atol=5 * 1.5e-3 * np.sqrt(fs / n))


def test_noise_density_is_drawn_per_sensor_within_range(rng):
    cfg = replace(IDEAL, acc_noise_density=(1.0e-3, 2.0e-3))
    zeros = np.zeros((4000, 3))
    sds = [apply_electronic_errors(zeros, zeros, 100.0, cfg, rng)[0].std() for _ in range(30)]
    sds = np.array(sds) / np.sqrt(100.0)  # back to densities
    assert 0.9e-3 < sds.min() < 1.3e-3 and 1.7e-3 < sds.max() < 2.1e-3


def test_constant_bias_scale_and_misalignment_statistics(rng):
    n_sensors = 800
    x = np.array([[10.0, 0.0, 0.0], [10.0, 0.0, 0.0]])  # (2, 3) input along sensor x
    cfg_bias = replace(IDEAL, acc_bias_sd=0.05, gyr_bias_sd_dps=0.5)
    cfg_gain = replace(IDEAL, scale_sd=0.01, misalignment_sd_deg=0.5)
    bias_a, bias_g, gain = [], [], []
    for _ in range(n_sensors):
        a, g = apply_electronic_errors(np.zeros((2, 3)), np.zeros((2, 3)), 100.0, cfg_bias, rng)
        assert np.array_equal(a[0], a[1])  # constant in time
        bias_a.append(a[0])
        bias_g.append(g[0])
        gain.append(apply_electronic_errors(x, x, 100.0, cfg_gain, rng)[0][0] / 10.0)
    np.testing.assert_allclose(np.std(bias_a), 0.05, rtol=0.1)
    np.testing.assert_allclose(np.std(bias_g), np.deg2rad(0.5), rtol=0.1)
    gain = np.array(gain)  # (S, 3): first column of the gain matrix
    np.testing.assert_allclose(np.std(gain[:, 0] - 1.0), 0.01, rtol=0.1)  # scale factor
    np.testing.assert_allclose(np.std(gain[:, 1:]), np.deg2rad(0.5), rtol=0.1)  # cross-axis tilt


def test_bias_random_walk_grows_with_sqrt_time(rng):
    fs, seconds, n_sensors = 50.0, 40.0, 300
    cfg = replace(IDEAL, gyr_bias_walk_dps=0.01)
    n = int(fs * seconds)
    ends = np.array(
        [apply_electronic_errors(np.zeros((n, 3)), np.zeros((n, 3)), fs, cfg, rng)[1][-1] for _ in range(n_sensors)]
    )
    np.testing.assert_allclose(ends.std(), np.deg2rad(0.01) * np.sqrt(seconds), rtol=0.1)


def test_saturation_clips(rng):
    t = np.arange(400) / 100.0
    acc = np.stack([300.0 * np.sin(2 * np.pi * t), np.full_like(t, G), np.zeros_like(t)], axis=1)
    gyr = np.stack([np.zeros_like(t), 60.0 * np.sin(2 * np.pi * t), np.zeros_like(t)], axis=1)  # 60 rad/s peaks
    only_ranges = replace(IDEAL, acc_range=16 * G, gyr_range_dps=2000.0)
    acc_m, gyr_m = apply_electronic_errors(acc, gyr, 100.0, only_ranges, rng)
    np.testing.assert_array_equal(acc_m, np.clip(acc, -16 * G, 16 * G))
    np.testing.assert_array_equal(gyr_m, np.clip(gyr, -np.deg2rad(2000.0), np.deg2rad(2000.0)))
    assert np.sum(np.abs(acc_m[:, 0]) == 16 * G) > 50  # many samples sit on the rail
    acc_m, gyr_m = apply_electronic_errors(acc, gyr, 100.0, SensorErrorConfig(), rng)  # clipping comes last
    assert np.abs(acc_m).max() == pytest.approx(16 * G)
    assert np.abs(gyr_m).max() == pytest.approx(np.deg2rad(2000.0))


def test_same_seed_same_sensor_different_seed_different():
    cfg = SensorErrorConfig()
    t = np.arange(1000) / 1000.0
    acc = np.tile([0.0, G, 0.0], (len(t), 1))

    def run(seed):
        rng = np.random.default_rng(seed)
        return (
            *apply_electronic_errors(acc, np.zeros_like(acc), 100.0, cfg, rng),
            *draw_mounting(cfg, rng),
            *soft_tissue_motion(t, _gait_load(t), cfg, rng),
        )

    for x, y in zip(run(7), run(7)):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(run(7), run(8)):
        assert not np.allclose(x, y)


# ---------------------------------------------------------------- mounting
@pytest.mark.parametrize("sd_deg", [10.0, 27.0])
def test_mounting_rotation_statistics(sd_deg, rng):
    cfg = replace(IDEAL, mount_sd_deg=sd_deg, offset_sd_m=0.02)
    draws = [draw_mounting(cfg, rng) for _ in range(2000)]
    rotvec = Rotation.from_matrix(np.stack([d[0] for d in draws])).as_rotvec()  # (2000, 3)
    angles = np.rad2deg(np.linalg.norm(rotvec, axis=1))
    assert np.sqrt(np.mean(angles**2)) == pytest.approx(sd_deg, rel=0.1)
    axes = rotvec / np.linalg.norm(rotvec, axis=1, keepdims=True)
    assert np.abs(np.mean(axes**2, axis=0) - 1 / 3).max() < 0.05  # no preferred axis
    offsets = np.stack([d[1] for d in draws])
    np.testing.assert_allclose(offsets.std(axis=0), 0.02, rtol=0.1)


# ---------------------------------------------------------------- soft tissue
@pytest.mark.parametrize("impact", [40.0, 100.0])  # walking-like and running-like heel strikes
def test_soft_tissue_is_small_but_present(impact, rng):
    t = np.arange(10000) / 1000.0
    rot, disp = soft_tissue_motion(t, _gait_load(t, impact), SensorErrorConfig(), rng)
    ang = _angles_deg(rot)
    dist_mm = 1e3 * np.linalg.norm(disp, axis=1)
    assert ang.max() < 6.0 and dist_mm.max() < 20.0
    assert np.sqrt(np.mean(ang**2)) > 0.3 and np.sqrt(np.mean(dist_mm**2)) > 0.5


def test_soft_tissue_oscillator_step_response(rng):
    # a step of 5 m/s^2 settles at 5 / w^2 and overshoots by exp(-pi zeta / sqrt(1 - zeta^2))
    f_n, zeta, step = 15.0, 0.3, 5.0
    cfg = replace(IDEAL, tissue_freq_hz=(f_n, f_n), tissue_damping=(zeta, zeta), tissue_disp_gain=1.0)
    t = np.arange(3000) / 2000.0
    load = np.zeros((len(t), 3))
    load[t >= 0.5, 0] = step
    rot, disp = soft_tissue_motion(t, load, cfg, rng)
    np.testing.assert_array_equal(rot, np.tile(np.eye(3), (len(t), 1, 1)))  # no rocking configured
    change = disp[:, 0] - disp[0, 0]
    settle = -step / (2 * np.pi * f_n) ** 2  # the mass lags behind the pushed segment
    assert change[-1] == pytest.approx(settle, rel=0.01)
    overshoot = change.min() / settle - 1.0
    assert overshoot == pytest.approx(np.exp(-np.pi * zeta / np.sqrt(1 - zeta**2)), rel=0.05)
    np.testing.assert_allclose(disp[:, 1:], 0.0, atol=1e-12)


def test_soft_tissue_load_in_segment_frame(rng):
    cfg = replace(IDEAL, tissue_freq_hz=(15.0, 15.0), tissue_disp_gain=1.0)
    t = np.arange(3000) / 2000.0
    load = np.zeros((len(t), 3))
    load[t >= 0.5, 0] = 5.0  # lab x
    seg = np.tile(Rotation.from_euler("z", 90, degrees=True).as_matrix(), (len(t), 1, 1))  # segment y = lab -x
    _, disp = soft_tissue_motion(t, load, cfg, rng, seg_rmat=seg)
    change = disp[-1] - disp[0]
    assert change[1] == pytest.approx(5.0 / (2 * np.pi * 15.0) ** 2, rel=0.01)  # -(R^T step) / w^2 on y
    assert abs(change[0]) < 1e-9


def test_soft_tissue_is_smooth_enough_for_an_imu(rng):
    # a sensor on a still segment, moved only by slow tissue motion, still reads about gravity and no spin
    t = np.arange(4000) / 1000.0
    cfg = replace(IDEAL, tissue_slow_rot_deg=2.0, tissue_slow_disp_m=0.005)
    rot, disp = soft_tissue_motion(t, np.zeros((len(t), 3)), cfg, rng)
    acc, gyr = ideal_imu(t, rot, disp)
    assert np.abs(acc - rot.transpose(0, 2, 1) @ [0.0, G, 0.0]).max() < 0.2
    assert 1e-3 < np.abs(gyr).max() < np.deg2rad(30.0)


def test_skin_sliding_turns_the_sensor_in_proportion_to_its_joints(rng):
    """With ``tissue_joint_coupling`` the sensor turns linearly with the driving joint angles: one driver gives a
    fixed axis and an angle proportional to the driver's departure from its mean; without drivers, or at 0, the
    result is the one without the option."""
    t = np.arange(3000) / 1000.0
    knee = 30.0 + 30.0 * np.sin(2 * np.pi * t)  # (N,) deg, a 0-60 deg flexion cycle
    cfg = replace(IDEAL, tissue_joint_coupling=0.05)
    rot, disp = soft_tissue_motion(t, _gait_load(t), cfg, rng, drivers=knee[:, None])
    rotvec = Rotation.from_matrix(rot).as_rotvec()  # (N, 3) rad
    dev = np.deg2rad(knee - knee.mean())  # (N,) rad
    k = np.linalg.lstsq(dev[:, None], rotvec, rcond=None)[0][0]  # (3,) rad per rad: the drawn coupling
    np.testing.assert_allclose(rotvec, dev[:, None] * k, atol=1e-9)  # linear, one axis
    assert 0.0 < np.linalg.norm(k) < 0.5  # SD 0.05 per axis: |k| ~ 0.08, never near 0.5
    np.testing.assert_array_equal(disp, 0.0)  # it turns the sensor, it does not move it
    full = SensorErrorConfig()  # every other tissue part on, so that the draws after them would show
    plain = soft_tissue_motion(t, _gait_load(t), full, np.random.default_rng(3))[0]
    off = soft_tissue_motion(t, _gait_load(t), full, np.random.default_rng(3), drivers=knee[:, None])[0]  # c = 0
    no_drivers = soft_tissue_motion(t, _gait_load(t), replace(full, tissue_joint_coupling=0.05),
                                    np.random.default_rng(3))[0]
    np.testing.assert_array_equal(off, plain)
    np.testing.assert_array_equal(no_drivers, plain)
    with pytest.raises(ImukinError, match="drivers"):
        soft_tissue_motion(t, _gait_load(t), cfg, rng, drivers=knee[:10, None])


# ---------------------------------------------------------------- contract
def test_bad_input_raises_imukin_error(rng):
    with pytest.raises(ImukinError, match="must be >= 0"):
        SensorErrorConfig(acc_bias_sd=-1.0)
    with pytest.raises(ImukinError, match="low <= high"):
        SensorErrorConfig(tissue_damping=(0.5, 0.3))
    with pytest.raises(ImukinError, match="Generator"):
        draw_mounting(SensorErrorConfig(), 42)
    with pytest.raises(ImukinError, match="shape"):
        apply_electronic_errors(np.zeros((5, 3)), np.zeros((4, 3)), 100.0, IDEAL, rng)
    with pytest.raises(ImukinError, match="uniformly"):
        soft_tissue_motion(np.array([0.0, 0.1, 0.3]), np.zeros((3, 3)), IDEAL, rng)
