"""First-principles checks of the ideal IMU: gravity, pure spins, circles, free fall, integration."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imukin.conventions import G
from imukin.errors import ImukinError
from imukin.simulation.imu import ideal_imu, integrate_gyroscope

FS = 1000.0  # Hz, internal simulation rate


def _times(seconds: float, fs: float = FS) -> np.ndarray:
    return np.arange(int(round(seconds * fs)) + 1) / fs


def _expm_skew(axis_rate: np.ndarray, t: np.ndarray) -> np.ndarray:
    """exp([w]x t) for a constant vector w at every time, (N, 3, 3)."""
    return Rotation.from_rotvec(np.outer(t, axis_rate)).as_matrix()


# ---------------------------------------------------------------- (a) static
@pytest.mark.parametrize(
    "rmat, expected",
    [
        (np.eye(3), [0.0, G, 0.0]),  # upright: +9.81 on y
        (np.diag([1.0, -1.0, -1.0]), [0.0, -G, 0.0]),  # upside down
        (Rotation.from_euler("z", 90, degrees=True).as_matrix(), [G, 0.0, 0.0]),  # sensor x points up
        (Rotation.from_euler("x", -90, degrees=True).as_matrix(), [0.0, 0.0, G]),  # sensor z points up
    ],
)
def test_static_sensor_reads_gravity_on_its_up_axis(rmat, expected):
    t = _times(0.5, 200.0)
    acc, gyr = ideal_imu(t, np.tile(rmat, (len(t), 1, 1)), np.tile([0.3, 1.0, -2.0], (len(t), 1)))
    np.testing.assert_allclose(acc, np.tile(expected, (len(t), 1)), atol=1e-9)
    np.testing.assert_allclose(gyr, 0.0, atol=1e-9)


def test_static_sensor_random_orientations(rng):
    t = _times(0.2, 200.0)
    for r in Rotation.random(5, rng=rng).as_matrix():
        acc, gyr = ideal_imu(t, np.tile(r, (len(t), 1, 1)), np.zeros((len(t), 3)))
        np.testing.assert_allclose(acc, np.tile(r.T @ [0.0, G, 0.0], (len(t), 1)), atol=1e-9)
        assert np.abs(gyr).max() < 1e-9


# ---------------------------------------------------------------- (b) spins
def test_spin_about_sensor_axis_reads_that_rate():
    t = _times(3.0)
    w_sensor = np.array([1.0, -2.0, 0.5]) * 1.7  # rad/s, not axis-aligned
    r0 = Rotation.from_euler("xyz", [20, -35, 50], degrees=True).as_matrix()
    rmat = r0 @ _expm_skew(w_sensor, t)  # R = R0 exp([w]x t): constant body rate w
    acc, gyr = ideal_imu(t, rmat, np.zeros((len(t), 3)))
    np.testing.assert_allclose(gyr, np.tile(w_sensor, (len(t), 1)), atol=1e-6)
    np.testing.assert_allclose(acc, np.einsum("nji,j->ni", rmat, [0.0, G, 0.0]), atol=1e-6)


def test_spin_about_lab_axis_reads_rate_in_sensor_frame():
    t = _times(3.0)
    axis_lab = np.array([0.3, 0.9, -0.4]) / np.linalg.norm([0.3, 0.9, -0.4])
    rate = 4.0  # rad/s
    r0 = Rotation.from_euler("zxy", [10, 70, -40], degrees=True).as_matrix()
    rmat = _expm_skew(axis_lab * rate, t) @ r0  # spin about a lab-fixed axis
    acc, gyr = ideal_imu(t, rmat, np.zeros((len(t), 3)))
    expected = r0.T @ axis_lab * rate  # the lab axis seen from the sensor never changes
    np.testing.assert_allclose(gyr, np.tile(expected, (len(t), 1)), atol=1e-6)
    assert np.abs(expected - axis_lab * rate).max() > 1.0  # the frame matters in this test
    np.testing.assert_allclose(acc, np.einsum("nji,j->ni", rmat, [0.0, G, 0.0]), atol=1e-6)


def test_two_spins_time_varying_body_rate():
    # R = exp([a]x t) exp([b]x t) has body rate exp(-[b]x t) a + b (derived by hand, not by scipy)
    t = _times(2.0)
    a = np.array([0.5, 1.5, -1.0])
    b = np.array([-2.0, 0.3, 0.8])
    rmat = _expm_skew(a, t) @ _expm_skew(b, t)
    _, gyr = ideal_imu(t, rmat, np.zeros((len(t), 3)))
    expected = np.einsum("nji,j->ni", _expm_skew(b, t), a) + b  # exp(-[b]t) a = exp([b]t)^T a
    np.testing.assert_allclose(gyr, expected, atol=1e-6)


# ---------------------------------------------------------------- (c) circles
RADIUS_M, OMEGA = 0.8, 2.0 * np.pi * 0.7  # horizontal circle in the lab X-Z plane


def _circle(t):
    """Counter-clockwise seen from above (+Y), i.e. a positive turn about +Y: X -> -Z."""
    th = OMEGA * t
    return RADIUS_M * np.stack([np.cos(th), np.zeros_like(th), -np.sin(th)], axis=1), th  # (N, 3)


def _following(th):
    """Orientation turning with the circle: sensor x tangential, y up, z = x cross y pointing outwards."""
    return Rotation.from_rotvec(np.outer(th + np.pi / 2, [0.0, 1.0, 0.0])).as_matrix()


def test_circle_fixed_orientation_reads_centripetal_force():
    t = _times(3.0)
    pos, _ = _circle(t)
    acc, gyr = ideal_imu(t, np.tile(np.eye(3), (len(t), 1, 1)), pos)
    horiz = acc[:, [0, 2]]  # (N, 2)
    np.testing.assert_allclose(np.linalg.norm(horiz, axis=1), RADIUS_M * OMEGA**2, rtol=1e-6)
    toward_centre = -pos[:, [0, 2]] / RADIUS_M
    np.testing.assert_allclose(np.sum(horiz * toward_centre, axis=1), RADIUS_M * OMEGA**2, rtol=1e-6)
    np.testing.assert_allclose(acc[:, 1], G, atol=1e-6)
    np.testing.assert_allclose(gyr, 0.0, atol=1e-9)


def test_circle_following_orientation_reads_constant_signals():
    t = _times(3.0)
    pos, th = _circle(t)
    rmat = _following(th)
    x_lab, z_lab = rmat[:, :, 0], rmat[:, :, 2]
    velocity_dir = np.gradient(pos, t, axis=0) / (RADIUS_M * OMEGA)
    np.testing.assert_allclose(x_lab[1:-1], velocity_dir[1:-1], atol=1e-4)  # x is tangential
    np.testing.assert_allclose(z_lab, pos / RADIUS_M, atol=1e-12)  # z points away from the centre
    acc, gyr = ideal_imu(t, rmat, pos)
    # the centripetal specific force points to the centre: -r W^2 on z
    np.testing.assert_allclose(acc, np.tile([0.0, G, -RADIUS_M * OMEGA**2], (len(t), 1)), atol=1e-6)
    np.testing.assert_allclose(gyr, np.tile([0.0, OMEGA, 0.0], (len(t), 1)), atol=1e-6)


def test_output_times_between_samples():
    t = _times(3.0)
    pos, th = _circle(t)
    t_out = np.linspace(0.0, 3.0, 137)  # mostly between the 1 kHz samples
    acc, gyr = ideal_imu(t, _following(th), pos, t_out=t_out)
    assert acc.shape == gyr.shape == (137, 3)
    np.testing.assert_allclose(acc, np.tile([0.0, G, -RADIUS_M * OMEGA**2], (137, 1)), atol=1e-6)
    np.testing.assert_allclose(gyr, np.tile([0.0, OMEGA, 0.0], (137, 1)), atol=1e-6)


# ---------------------------------------------------------------- (d) integration
def _smooth_rotvec(t, rng):
    amp = rng.uniform(0.3, 1.2, size=(4, 3))  # rad
    freq = rng.uniform(0.2, 2.0, size=(4, 3))  # Hz
    phase = rng.uniform(0, 2 * np.pi, size=(4, 3))
    return np.sum(amp * np.sin(2 * np.pi * freq * t[:, None, None] + phase), axis=1)  # (N, 3)


def test_integrating_gyroscope_recovers_orientation(rng):
    t = _times(10.0)
    rmat = Rotation.from_rotvec(_smooth_rotvec(t, rng)).as_matrix()
    _, gyr = ideal_imu(t, rmat, np.zeros((len(t), 3)))
    assert np.abs(gyr).max() > 3.0  # a vigorous 3-D motion
    est = integrate_gyroscope(gyr, FS, rmat[0])
    err_deg = np.rad2deg(Rotation.from_matrix(np.swapaxes(est, 1, 2) @ rmat).magnitude())
    assert err_deg.max() < 0.1


def test_integrate_constant_rate_is_exact():
    w = np.array([0.4, -1.1, 2.0])
    r0 = Rotation.from_euler("xyz", [5, 10, 15], degrees=True).as_matrix()
    est = integrate_gyroscope(np.tile(w, (501, 1)), 100.0, r0)
    t = np.arange(501) / 100.0
    np.testing.assert_allclose(est, r0 @ _expm_skew(w, t), atol=1e-10)
    np.testing.assert_array_equal(est[0], r0)


def test_integrate_two_spins_converges_at_second_order():
    # analytic body rate of exp([a]t) exp([b]t) (a coning motion): error ~ dt^2
    a, b = np.array([0.0, 0.0, 2.0]), np.array([3.0, 0.0, 0.0])
    errors = []
    for fs in (100.0, 200.0):
        t = np.arange(int(10 * fs) + 1) / fs
        gyr = np.einsum("nji,j->ni", _expm_skew(b, t), a) + b
        est = integrate_gyroscope(gyr, fs, np.eye(3))
        truth = _expm_skew(a, t) @ _expm_skew(b, t)
        errors.append(np.rad2deg(Rotation.from_matrix(np.swapaxes(est, 1, 2) @ truth).magnitude()).max())
    assert errors[0] < 0.1  # deg after 10 s at 100 Hz
    assert 3.5 < errors[0] / errors[1] < 4.5  # halving dt quarters the error


# ---------------------------------------------------------------- (e) free fall
def test_free_fall_reads_zero():
    t = _times(1.5)
    pos = np.array([0.1, 2.0, -0.3]) + np.outer(t, [1.0, 3.0, -0.5]) + 0.5 * np.outer(t**2, [0.0, -G, 0.0])
    rmat = _expm_skew(np.array([2.0, -1.0, 3.0]), t)  # tumbling while falling
    acc, gyr = ideal_imu(t, rmat, pos)
    np.testing.assert_allclose(acc, 0.0, atol=1e-6)
    np.testing.assert_allclose(gyr, np.tile([2.0, -1.0, 3.0], (len(t), 1)), atol=1e-6)


# ---------------------------------------------------------------- contract
def test_bad_input_raises_imukin_error():
    t = _times(0.1, 100.0)
    r = np.tile(np.eye(3), (len(t), 1, 1))
    p = np.zeros((len(t), 3))
    with pytest.raises(ImukinError, match="strictly increasing"):
        ideal_imu(t[::-1], r, p)
    with pytest.raises(ImukinError, match="rmat must be"):
        ideal_imu(t, r[:-1], p)
    with pytest.raises(ImukinError, match="proper rotation"):
        ideal_imu(t, r * 1.01, p)
    with pytest.raises(ImukinError, match="proper rotation"):
        ideal_imu(t, r * np.array([1.0, 1.0, -1.0]), p)  # reflection
    with pytest.raises(ImukinError, match="outside"):
        ideal_imu(t, r, p, t_out=np.array([0.0, 0.2]))
    with pytest.raises(ImukinError, match="at least 6"):
        ideal_imu(t[:5], r[:5], p[:5])
    with pytest.raises(ImukinError, match="shape"):
        integrate_gyroscope(np.zeros((10, 2)), 100.0, np.eye(3))
    with pytest.raises(ImukinError, match="fs"):
        integrate_gyroscope(np.zeros((10, 3)), 0.0, np.eye(3))
