"""Augmentation keeps what physics keeps: norms, rotation proper, acc and gyr rotated alike, a delayed sensor's
channels moved in time together."""
import math

import numpy as np
import pytest
import torch

from imukin.training.augment import add_noise, delay_sensors, random_rotations, rotate_sensors


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


def _delays(x, y, block):
    """Per sequence, the delay (samples) that maps x's ramp channels of ``block`` onto y's, from the middle frames
    (the ramp is linear, so a delay d reads the ramp minus d there)."""
    return (x[:, 20:-20, block] - y[:, 20:-20, block]).mean(dim=(1, 2))


def test_delay_sensors_moves_each_sensor_in_time_by_its_own_draw():
    g = torch.Generator().manual_seed(3)
    ramp = torch.arange(100.0)[None, :, None]  # every channel a ramp: value = frame
    x = ramp.repeat(400, 1, 16)
    y = delay_sensors(x, max_samples=2.5, fraction=0.5, generator=g)
    d1, d2 = _delays(x, y, slice(0, 8)), _delays(x, y, slice(8, 16))
    for d, block in ((d1, slice(0, 8)), (d2, slice(8, 16))):
        # all eight channels of a sensor by the same delay, the ramp read at t - d between samples
        assert torch.allclose(y[:, 20:-20, block], x[:, 20:-20, block] - d[:, None, None], atol=1e-4)
        assert d.abs().max() <= 2.5 + 1e-5
        assert 0.4 < float((d == 0).float().mean()) < 0.6  # about half the sensors left on time
        late = d[d != 0]
        assert float((late > 0).float().mean()) == pytest.approx(0.5, abs=0.1)  # late and early alike
    assert float((d1 == d2).float().mean()) < 0.4  # each sensor its own draw
    # the edges repeat the first and last samples rather than wrap round
    assert float(y.min()) == 0.0 and float(y.max()) == 99.0


def test_a_delayed_signal_is_read_between_samples_as_numpy_interpolates_it():
    gx = torch.Generator().manual_seed(4)
    x = torch.randn(30, 60, 16, generator=gx, dtype=torch.float64)
    x[..., 0] = torch.arange(60.0, dtype=torch.float64)  # a ramp on sensor 1 tells its delay
    x[..., 8] = torch.arange(60.0, dtype=torch.float64)  # and on sensor 2
    y = delay_sensors(x, max_samples=3.0, fraction=1.0, generator=torch.Generator().manual_seed(5))
    t = np.arange(60.0)
    for b in range(30):
        for first in (0, 8):
            d = float(x[b, 30, first] - y[b, 30, first])  # the ramp read at t - d
            assert 0 < abs(d) <= 3.0
            for c in range(first + 1, first + 8):
                want = np.interp(t - d, t, x[b, :, c].numpy())  # edges held, as the augmentation does
                np.testing.assert_allclose(y[b, :, c].numpy(), want, atol=1e-9)


def test_no_delay_leaves_the_input_as_it_was():
    x = torch.randn(2, 50, 16, generator=torch.Generator().manual_seed(6))
    g = torch.Generator().manual_seed(7)
    assert torch.equal(delay_sensors(x, max_samples=0.0, fraction=1.0, generator=g), x)
    assert torch.equal(delay_sensors(x, max_samples=3.0, fraction=0.0, generator=g), x)
