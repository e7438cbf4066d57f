"""Subject split, channel building with left-side mirroring, normalisation."""
import numpy as np
import pytest

from imukin.conventions import mirror_imu, side_inputs
from imukin.errors import ImukinError
from imukin.normalization import Normalizer
from imukin.training.dataset import split_subjects


def test_split_is_subject_wise_and_fixed():
    ids = [f"s{i:04d}" for i in range(57)]
    a = split_subjects(ids, seed=0)
    b = split_subjects(list(reversed(ids)), seed=0)
    assert a == b  # same split whatever order the file lists subjects in
    sets = [set(a[k]) for k in ("train", "val", "test")]
    assert sets[0].isdisjoint(sets[1]) and sets[0].isdisjoint(sets[2]) and sets[1].isdisjoint(sets[2])
    assert set().union(*sets) == set(ids)
    assert [len(a[k]) for k in ("train", "val", "test")] == [45, 6, 6]
    assert split_subjects(ids, seed=1) != a
    small = split_subjects(["s1", "s2", "s3"])
    assert all(len(v) == 1 for v in small.values())
    with pytest.raises(ImukinError, match="at least 3 subjects"):
        split_subjects(["s1", "s2"])


def test_left_inputs_are_mirrored(rng):
    acc1, gyr1, acc2, gyr2 = (rng.normal(size=(10, 3)) for _ in range(4))
    right = side_inputs(acc1, gyr1, acc2, gyr2, "right")
    left = side_inputs(acc1, gyr1, acc2, gyr2, "left")
    m_acc, m_gyr = mirror_imu(acc1, gyr1)
    assert np.allclose(left[:, 0:3], m_acc) and np.allclose(left[:, 4:7], m_gyr)
    assert np.allclose(left[:, [3, 7, 11, 15]], right[:, [3, 7, 11, 15]])  # norms unchanged
    assert np.allclose(left[:, 2], -right[:, 2]) and np.allclose(left[:, 4], -right[:, 4])


def test_normalizer(rng):
    xs = [rng.normal(3, 2, size=(100, 16)) for _ in range(3)]
    ys = [rng.normal(-5, 10, size=(100, 3)) for _ in range(3)]
    n = Normalizer.fit(xs, ys)
    z = n.x(np.concatenate(xs))
    assert np.allclose(z.mean(0), 0, atol=1e-5) and np.allclose(z.std(0), 1, atol=1e-4)
    back = Normalizer.from_dict(n.to_dict())
    y = np.concatenate(ys)
    assert np.allclose(back.y_inverse(back.y(y)), y, atol=1e-4)
