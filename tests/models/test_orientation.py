"""6D rotation representation: Gram-Schmidt gives rotations; matrix -> 6D -> matrix is exact."""
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from imukin.errors import ImukinError
from imukin.models.orientation import (
    matrix_to_sixd,
    output_to_rotations,
    rotations_to_output,
    sixd_to_matrix,
)


def test_round_trip_on_rotations():
    r = torch.tensor(Rotation.random(50, random_state=0).as_matrix(), dtype=torch.float32)  # (50, 3, 3)
    torch.testing.assert_close(sixd_to_matrix(matrix_to_sixd(r)), r, atol=1e-6, rtol=0)


def test_gram_schmidt_keeps_first_column_direction():
    d6 = torch.randn(100, 6, generator=torch.Generator().manual_seed(0))
    r = sixd_to_matrix(d6)
    b1 = d6[:, :3] / d6[:, :3].norm(dim=-1, keepdim=True)
    torch.testing.assert_close(r[:, :, 0], b1)
    # second column lies in the plane of a1 and a2, on a2's side
    assert ((r[:, :, 1] * d6[:, 3:]).sum(-1) > 0).all()
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(100), atol=1e-5, rtol=0)


def test_network_output_layout():
    rots = torch.tensor(Rotation.random(2 * 3 * 2, random_state=1).as_matrix(), dtype=torch.float32)
    rots = rots.reshape(2, 3, 2, 3, 3)  # (B, T, segment, 3, 3)
    y = rotations_to_output(rots)  # (B, T, 12)
    assert y.shape == (2, 3, 12)
    torch.testing.assert_close(y[..., 0:3], rots[:, :, 0, :, 0])  # seg1 first column
    torch.testing.assert_close(y[..., 9:12], rots[:, :, 1, :, 1])  # seg2 second column
    torch.testing.assert_close(output_to_rotations(y), rots, atol=1e-6, rtol=0)


def test_columns_are_frame_axes_like_conventions():
    r = Rotation.from_euler("z", 90, degrees=True).as_matrix()  # sensor x axis points along lab y
    out = sixd_to_matrix(matrix_to_sixd(torch.tensor(r, dtype=torch.float32)))
    np.testing.assert_allclose(out[:, 0].numpy(), [0, 1, 0], atol=1e-7)


def test_wrong_shapes_raise():
    with pytest.raises(ImukinError):
        sixd_to_matrix(torch.zeros(4, 5))
    with pytest.raises(ImukinError, match="orientation"):
        output_to_rotations(torch.zeros(1, 4, 3))
