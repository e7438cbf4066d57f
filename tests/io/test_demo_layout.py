"""imukin.io.demo_layout: one leg's two IMUs as .npy or .csv files in the reference demo folder layout."""
import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.io.demo_layout import IMU_CSV_COLUMNS, available_sides, read_leg

T = 50


def _signals(seed: int = 0) -> list[np.ndarray]:
    """acc1, gyr1, acc2, gyr2, reference: (T, 3) each."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((T, 3)) for _ in range(5)]


def _write_npy(root, side: str, arrays, reference: bool = True):
    s = side.capitalize()
    names = [f"{s}_seg{k}_{q}.npy" for k in (1, 2) for q in ("acc", "gyr")]
    for name, a in zip(names, arrays[:4]):
        np.save(root / name, a)
    if reference:
        np.save(root / f"{s}_mocap_angle.npy", arrays[4])


def _write_csv(path, columns, data, fs: float | None = None):
    header = list(columns)
    if fs is not None:
        header = ["time_s"] + header
        data = np.column_stack([np.arange(len(data)) / fs, data])
    np.savetxt(path, data, delimiter=",", header=",".join(header), comments="")


def test_npy_leg(tmp_path):
    arrays = _signals()
    _write_npy(tmp_path, "right", arrays)
    assert available_sides(tmp_path) == ["right"]
    leg = read_leg(tmp_path, "right")
    assert leg.side == "right" and leg.fs is None
    for got, want in zip((leg.acc1, leg.gyr1, leg.acc2, leg.gyr2, leg.reference), arrays):
        assert got.shape == (1, T, 3) and np.array_equal(got[0], want)  # one sequence of (T, 3)


def test_npy_sequences_and_no_reference(tmp_path):
    arrays = [np.stack([a, a + 1.0]) for a in _signals()]  # (S, T, 3) with S = 2
    _write_npy(tmp_path, "left", arrays, reference=False)
    leg = read_leg(tmp_path, "left")
    assert leg.acc1.shape == (2, T, 3) and leg.reference is None
    assert np.array_equal(leg.gyr2, arrays[3])


def test_csv_leg_with_time_stamps(tmp_path):
    acc1, gyr1, acc2, gyr2, ref = _signals(1)
    _write_csv(tmp_path / "Left_seg1.csv", IMU_CSV_COLUMNS, np.hstack([acc1, gyr1]), fs=100.0)
    _write_csv(tmp_path / "Left_seg2.csv", IMU_CSV_COLUMNS, np.hstack([acc2, gyr2]), fs=100.0)
    _write_csv(tmp_path / "Left_mocap_angle.csv", ("flexion", "adduction", "rotation"), ref)
    assert available_sides(tmp_path) == ["left"]
    leg = read_leg(tmp_path, "left")
    assert leg.fs == pytest.approx(100.0)
    assert np.allclose(leg.acc1[0], acc1) and np.allclose(leg.gyr2[0], gyr2) and np.allclose(leg.reference[0], ref)


def test_bad_folders_are_refused_with_the_reason(tmp_path):
    with pytest.raises(ImukinError, match="--root-path .* is not a folder"):
        read_leg(tmp_path / "missing", "right")
    with pytest.raises(ImukinError, match="has no Right_seg1_acc.npy"):
        read_leg(tmp_path, "right")
    arrays = _signals()
    _write_npy(tmp_path, "right", arrays)
    (tmp_path / "Right_seg2_gyr.npy").unlink()
    with pytest.raises(ImukinError, match="lacks Right_seg2_gyr.npy"):
        read_leg(tmp_path, "right")
    np.save(tmp_path / "Right_seg2_gyr.npy", arrays[3][:-1])
    with pytest.raises(ImukinError, match="differ in length"):
        read_leg(tmp_path, "right")
    bad = arrays[3].copy()
    bad[7] = np.nan
    np.save(tmp_path / "Right_seg2_gyr.npy", bad)
    with pytest.raises(ImukinError, match="NaN or inf samples .*first at 7"):
        read_leg(tmp_path, "right")
    np.save(tmp_path / "Right_seg2_gyr.npy", arrays[3][:, :2])
    with pytest.raises(ImukinError, match=r"expected \(T, 3\)"):
        read_leg(tmp_path, "right")


def test_csv_without_a_column_is_refused(tmp_path):
    acc1, gyr1, *_ = _signals()
    _write_csv(tmp_path / "Right_seg1.csv", IMU_CSV_COLUMNS[:5], np.hstack([acc1, gyr1])[:, :5])
    _write_csv(tmp_path / "Right_seg2.csv", IMU_CSV_COLUMNS, np.hstack([acc1, gyr1]))
    with pytest.raises(ImukinError, match="lacks column.*gyr_z"):
        read_leg(tmp_path, "right")
