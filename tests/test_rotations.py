"""Rotations shared across imukin: rotation vectors both ways, headings."""
import numpy as np
from scipy.spatial.transform import Rotation

from imukin.rotations import heading_of, heading_rotation, so3_exp, so3_log


def test_rotation_vectors_round_trip_from_tiny_angles_to_pi():
    rng = np.random.default_rng(0)
    axes = rng.normal(size=(400, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.concatenate([[0.0, 1e-9, 1e-5], rng.uniform(0.0, np.pi - 1e-2, 394), [np.pi - 1e-4, np.pi - 1e-6, 3.0]])
    v = axes * angles[:, None]  # (400, 3), angle in [0, pi)
    r = so3_exp(v)
    assert np.allclose(r, Rotation.from_rotvec(v).as_matrix(), atol=1e-12)
    assert np.allclose(so3_log(r), v, atol=1e-6)


def test_a_quarter_turn_about_up_takes_anterior_to_left():
    """Right-handed, Y up, Z right: +90 deg about +Y turns +X (anterior) to -Z (left), like the heading."""
    r = so3_exp(np.array([0.0, np.pi / 2, 0.0]))
    assert np.allclose(r @ [1.0, 0.0, 0.0], [0.0, 0.0, -1.0], atol=1e-12)
    assert np.allclose(r, heading_rotation(np.pi / 2), atol=1e-12)
    assert np.isclose(heading_of(r), np.pi / 2)
