"""Tests for imukin.io.opensim: .trc and .sto/.mot round trips."""
import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.io.c3d import MarkerData, read_c3d
from imukin.io.opensim import read_storage, read_trc, write_storage, write_trc


@pytest.mark.parametrize("units", ["mm", "m"])
def test_trc_round_trip_real_markers(data_dir, tmp_path, units):
    m = read_c3d(data_dir / "real/opensim-core/walking2.c3d").subset(["RASI", "LASI", "RPSI", "LPSI", "RTH1"],
                                                                      slice(300, 700))
    write_trc(tmp_path / "w.trc", m, units=units)
    back = read_trc(tmp_path / "w.trc", align_walking=False)
    assert back.labels == m.labels and back.fs == 250.0 and back.units_in == units
    assert np.array_equal(np.isnan(back.xyz), np.isnan(m.xyz))  # missing samples survive as empty fields
    assert np.nanmax(np.abs(back.xyz - m.xyz)) < 1e-6  # metres
    assert back.first_frame == m.first_frame
    # re-aligned on this excerpt's own pelvis displacement: only a small turn about Y
    turned = read_trc(tmp_path / "w.trc").lab_from_file
    assert np.allclose(turned[1], [0, 1, 0]) and turned[0, 0] > np.cos(np.radians(2))


def test_trc_turns_x_to_walking_direction(tmp_path):
    n = 20
    t = np.arange(n) / 100.0
    xyz = np.zeros((n, 2, 3))
    xyz[:, 0] = np.stack([np.zeros(n), np.full(n, 0.95), -1.2 * t], axis=1)  # RASI walks along -Z
    xyz[:, 1] = xyz[:, 0] + [-0.24, 0.0, 0.0]  # LASI to the walker's left (-X when facing -Z)
    write_trc(tmp_path / "z.trc", MarkerData(labels=["RASI", "LASI"], fs=100.0, xyz=xyz))
    m = read_trc(tmp_path / "z.trc")
    assert m.marker("RASI")[-1, 0] > m.marker("RASI")[0, 0] + 0.2  # now +X
    assert np.allclose(m.marker("RASI")[:, 1], 0.95)  # Y kept
    assert m.marker("RASI")[0, 2] - m.marker("LASI")[0, 2] == pytest.approx(0.24)  # right is +Z
    raw = read_trc(tmp_path / "z.trc", align_walking=False)
    assert np.allclose(raw.xyz, xyz, atol=1e-9)


def test_storage_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    names = ["time", "hip_flexion_r", "knee_angle_r", "ankle_angle_r"]
    data = np.column_stack([np.arange(50) / 100.0, rng.normal(size=(50, 3)) * 30])
    data[3, 2] = np.nan
    for suffix, deg in ((".mot", True), (".sto", False)):
        path = tmp_path / f"ik{suffix}"
        write_storage(path, names, data, in_degrees=deg)
        n2, d2, head = read_storage(path)
        assert n2 == names and head["inDegrees"] is deg and head["nRows"] == "50"
        assert np.array_equal(np.isnan(d2), np.isnan(data)) and np.allclose(d2, data, equal_nan=True, rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ik.mot", "ik.sto"]  # no temporary files left


def test_old_style_mot_header(tmp_path):
    p = tmp_path / "old.mot"
    p.write_text("Coordinates\ndatacolumns 2\ndatarows 2\nrange 0 0.01\nendheader\ntime   knee\n0 10.5\n0.01 11\n")
    names, data, head = read_storage(p)
    assert names == ["time", "knee"] and data.shape == (2, 2) and data[1, 1] == 11.0
    assert head["datacolumns"] == "2" and head["inDegrees"] is True


def test_errors(tmp_path):
    with pytest.raises(ImukinError, match="does not exist"):
        read_trc(tmp_path / "none.trc")
    (tmp_path / "x.trc").write_text("hello\n")
    with pytest.raises(ImukinError, match="not an OpenSim .trc"):
        read_trc(tmp_path / "x.trc")
    (tmp_path / "x.sto").write_text("name\nversion=1\ntime\tq\n0\t1\n")
    with pytest.raises(ImukinError, match="endheader"):
        read_storage(tmp_path / "x.sto")
    with pytest.raises(ImukinError, match="column names"):
        write_storage(tmp_path / "y.sto", ["time", "a"], np.zeros((3, 3)))
    assert not (tmp_path / "y.sto").exists()
