"""The fast CSV and .mot writers give byte for byte what per-value formatting gives (the .mot with its six
decimals, other storage files with every digit)."""
import numpy as np
import pytest

from imukin.io.angle_files import CSV_HEADER, MOT_FORMAT, write_joint_csv, write_mot
from imukin.io.opensim import write_storage


def _old_csv(t, a) -> str:  # the per-value writer before the speed-up
    table = np.column_stack([np.asarray(t, float), np.asarray(a, float)])
    rows = np.char.mod("%.4f", table)
    rows[~np.isfinite(table)] = ""
    return "\n".join([CSV_HEADER, *(",".join(r) for r in rows)]) + "\n"


def _old_storage(name, names, data, in_degrees=True, fmt="%r") -> str:
    data = np.asarray(data, float)
    head = [name, "version=1", f"nRows={data.shape[0]}", f"nColumns={data.shape[1]}",
            f"inDegrees={'yes' if in_degrees else 'no'}", "endheader", "\t".join(names)]
    body = ["\t".join(fmt % float(v) if np.isfinite(v) else "NaN" for v in row) for row in data]
    return "\n".join(head + body) + "\n"


def _angles(n, seed, holes=True):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, 3)) * np.array([30.0, 5.0, 1e-5])  # tiny values round to -0.0000
    if n and holes:
        a[rng.random((n, 3)) < 0.05] = np.nan
        a[0, 1], a[-1, 2] = np.inf, -np.inf
        a[n // 2] = np.nan
        a[n // 3, 0] = -0.0
        a[n // 4, 1] = 123456789.123456789
    return a


@pytest.mark.parametrize("n,holes", [(0, False), (1, True), (7, False), (70_000, True), (70_000, False)])
def test_joint_csv_bytes(tmp_path, n, holes):
    t = np.arange(n) / 100.0
    a = _angles(n, n, holes)
    path = write_joint_csv(tmp_path / "rknee.csv", t, a)
    assert path.read_text() == _old_csv(t, a)


@pytest.mark.parametrize("n,holes", [(1, False), (5, True), (20_000, True), (20_000, False)])
def test_storage_bytes(tmp_path, n, holes):
    rng = np.random.default_rng(n)
    data = np.column_stack([np.arange(n) / 100.0, rng.standard_normal((n, 6)) * 40, _angles(n, 1, holes)])
    names = ["time", *(f"c{i}" for i in range(data.shape[1] - 1))]
    write_storage(tmp_path / "x.mot", names, data, in_degrees=True)
    assert (tmp_path / "x.mot").read_text() == _old_storage("x", names, data)


def test_mot_bytes(tmp_path):
    n = 5000
    t = np.arange(n) / 100.0
    angles = {"rknee": _angles(n, 2), "lhip": _angles(n, 3), "rankle": _angles(n, 4, holes=False)}
    write_mot(tmp_path / "trial.mot", t, angles)
    from imukin.io.angle_files import _hold_last, opensim_columns

    names, values = opensim_columns(angles)
    expected = _old_storage("trial", ["time", *names], np.column_stack([t, _hold_last(values)]), fmt=MOT_FORMAT)
    assert (tmp_path / "trial.mot").read_text() == expected
