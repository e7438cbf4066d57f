"""Augmentation keeps what physics keeps: norms, rotation proper, acc and gyr rotated alike."""
import math

import torch

from imukin.training.augment import add_noise, random_rotations, rotate_sensors


def test_random_rotations_are_proper_with_the_asked_spread():
    g = torch.Generator().manual_seed(0)
    r = random_rotations(4000, math.radians(20), g)
    eye = torch.eye(3).expand(4000, 3, 3)
    assert torch.allclose(r.transpose(1, 2) @ r, eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(4000), atol=1e-5)
    angle = torch.arccos(((r.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1))
    rms_deg = math.degrees(angle.pow(2).mean().sqrt().item())
    assert abs(rms_deg - 20) < 1.5


def test_rotate_sensors_keeps_norms_and_rotates_acc_and_gyr_together():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(5, 40, 16)
    for a in (0, 4, 8, 12):
        x[..., a + 3] = x[..., a:a + 3].norm(dim=-1)
    y = rotate_sensors(x, 30.0, g)
    for a in (0, 4, 8, 12):
        assert torch.allclose(y[..., a:a + 3].norm(dim=-1), x[..., a + 3], atol=1e-5)
    assert not torch.allclose(y, x)
    # the same rotation for acc and gyr of a sensor: recover it from the acc and apply it to the gyr
    for acc0, gyr0 in ((0, 4), (8, 12)):
        sol = torch.linalg.lstsq(x[0, :, acc0:acc0 + 3], y[0, :, acc0:acc0 + 3]).solution  # (3,3)
        assert torch.allclose(x[0, :, gyr0:gyr0 + 3] @ sol, y[0, :, gyr0:gyr0 + 3], atol=1e-4)
    assert torch.equal(rotate_sensors(x, 0.0, g), x)


def test_noise_level():
    g = torch.Generator().manual_seed(2)
    x = torch.zeros(8, 500, 16)
    assert abs(add_noise(x, 0.15, g).std().item() - 0.15) < 0.01
