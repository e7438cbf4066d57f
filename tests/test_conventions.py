"""The sign table of docs/conventions.md, checked from geometry (not from the code's own inverse)."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imukin import conventions as C
from imukin.errors import ImukinError

DEG = np.deg2rad(30)
MED = {"right": -1.0, "left": 1.0}  # lab Z of the medial direction for each leg


def turn(v_from, v_to):
    """Smallest rotation taking direction v_from onto v_to."""
    rot, _ = Rotation.align_vectors([v_to], [v_from])
    return rot.as_matrix()


# (name, joint, side -> (segment axis in its own frame, where it points after the movement), angle column, sign)
def movements(side):
    m = MED[side]
    c, s = np.cos(DEG), np.sin(DEG)
    return [
        ("hip flexion: knee moves forward", "hip", ([0, -1, 0], [s, -c, 0]), 0, +1),
        ("hip extension: knee moves back", "hip", ([0, -1, 0], [-s, -c, 0]), 0, -1),
        ("knee flexion: foot moves back", "knee", ([0, -1, 0], [-s, -c, 0]), 0, +1),
        ("ankle dorsiflexion: toes up", "ankle", ([1, 0, 0], [c, s, 0]), 0, +1),
        ("ankle plantarflexion: toes down", "ankle", ([1, 0, 0], [c, -s, 0]), 0, -1),
        ("hip adduction: knee moves medially", "hip", ([0, -1, 0], [0, -c, m * s]), 1, +1),
        ("hip abduction: knee moves laterally", "hip", ([0, -1, 0], [0, -c, -m * s]), 1, -1),
        ("knee varus: ankle moves medially", "knee", ([0, -1, 0], [0, -c, m * s]), 1, +1),
        ("ankle inversion: sole faces medially", "ankle", ([0, 1, 0], [0, c, -m * s]), 1, +1),
        ("hip internal rotation: front of thigh turns medially", "hip", ([1, 0, 0], [c, 0, m * s]), 2, +1),
        ("hip external rotation: front of thigh turns laterally", "hip", ([1, 0, 0], [c, 0, -m * s]), 2, -1),
        ("knee internal rotation: front of shank turns medially", "knee", ([1, 0, 0], [c, 0, m * s]), 2, +1),
        ("foot internal rotation: toes turn medially", "ankle", ([1, 0, 0], [c, 0, m * s]), 2, +1),
    ]


@pytest.mark.parametrize("side", C.SIDES)
def test_sign_table(side):
    for name, joint, (v0, v1), col, sign in movements(side):
        r_prox = Rotation.from_euler("y", 20, degrees=True).as_matrix()  # heading must not matter
        r_dist = r_prox @ turn(v0, v1)
        ang = C.joint_angles(r_prox, r_dist, joint, side)
        assert np.sign(ang[col]) == sign, f"{side} {name}: got {ang}"
        assert abs(ang[col]) == pytest.approx(30, abs=1e-6), f"{side} {name}: got {ang}"
        others = [k for k in range(3) if k != col]
        assert np.allclose(ang[others], 0, atol=1e-6), f"{side} {name}: got {ang}"


def test_neutral_is_zero():
    eye = np.eye(3)
    for joint in C.JOINT_NAMES:
        for side in C.SIDES:
            assert np.allclose(C.joint_angles(eye, eye, joint, side), 0)


def test_angles_round_trip(rng):
    ang = rng.uniform([-60, -25, -30], [60, 25, 30], size=(50, 3))
    for joint in C.JOINT_NAMES:
        for side in C.SIDES:
            r = C.angles_to_relative_rotation(ang, joint, side)
            assert np.allclose(C.relative_rotation_to_angles(r, joint, side), ang, atol=1e-9)


def test_left_is_mirror_of_right(rng):
    """A left-leg movement that mirrors a right-leg one gives the same angles."""
    for _ in range(20):
        r1 = Rotation.random(random_state=rng.integers(1 << 30)).as_matrix()
        r2 = r1 @ Rotation.from_rotvec(rng.normal(0, 0.4, 3)).as_matrix()
        right = C.joint_angles(r1, r2, "knee", "right")
        left = C.joint_angles(C.mirror_rotation(r1), C.mirror_rotation(r2), "knee", "left")
        assert np.allclose(right, left, atol=1e-9)


def test_mirror_imu_matches_mirrored_motion(rng):
    """Mirroring the motion of a sensor maps its readings as mirror_imu says."""
    from imukin.simulation.imu import ideal_imu

    t = np.arange(0, 2, 1e-3)
    rv = np.stack([0.3 * np.sin(2 * np.pi * t), 0.5 * np.sin(3 * t), 0.2 * np.cos(5 * t)], 1)
    r = Rotation.from_rotvec(rv).as_matrix()
    p = np.stack([t, 0.1 * np.sin(4 * t), 0.2 * np.cos(3 * t)], 1)
    acc, gyr = ideal_imu(t, r, p)
    acc_m, gyr_m = ideal_imu(t, C.mirror_rotation(r), p @ C.MIRROR)
    exp_acc, exp_gyr = C.mirror_imu(acc, gyr)
    assert np.allclose(acc_m, exp_acc, atol=1e-6) and np.allclose(gyr_m, exp_gyr, atol=1e-6)
    assert not np.allclose(acc_m, acc, atol=1e-3)  # the motion is not symmetric already


def test_channels_layout():
    acc = np.array([[3.0, 4.0, 0.0]])
    gyr = np.array([[0.0, 0.0, 2.0]])
    x = C.joint_channels(acc, gyr, acc, gyr)
    assert x.shape == (1, C.N_CHANNELS) == (1, 16)
    assert C.CHANNELS[3] == "seg1_acc_norm" and x[0, 3] == 5.0
    assert C.CHANNELS[15] == "seg2_gyr_norm" and x[0, 15] == 2.0


def test_named_channel_blocks_split_what_joint_channels_joins(rng):
    parts = [rng.normal(size=(5, 3)) for _ in range(4)]
    x = C.joint_channels(*parts)
    for got, want in zip(C.split_channels(x), parts):
        assert np.allclose(got, want, atol=1e-6)
    for (acc, gyr), seg in zip(C.SENSOR_BLOCKS, ("seg1", "seg2")):
        assert C.CHANNELS[acc] == tuple(f"{seg}_acc_{a}" for a in "xyz")
        assert C.CHANNELS[gyr] == tuple(f"{seg}_gyr_{a}" for a in "xyz")


def test_names_and_bad_choices():
    assert C.joint_segments("hip", "left") == ("pelvis", "lthigh")
    assert C.joint_segments("ankle", "right") == ("rshank", "rfoot")
    assert C.joint_name("knee", "left") == "lknee"
    assert all(C.joint_name(*C.joint_and_side(n)) == n for n in C.JOINTS)
    with pytest.raises(ImukinError, match="choose one of"):
        C.joint_segments("elbow", "left")
    with pytest.raises(ImukinError, match="side"):
        C.joint_name("knee", "middle")
    with pytest.raises(ImukinError, match="joint"):
        C.joint_and_side("lelbow")
