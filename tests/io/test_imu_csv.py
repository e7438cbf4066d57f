import warnings
from pathlib import Path

import numpy as np
import pytest

from imukin.conventions import G
from imukin.errors import ImukinError
from imukin.io.imu_csv import detect_preset, detect_units, read_imu_csv
from tests.preprocessing.motion import (
    mounted_imu,
    standing_then_walking,
    write_dot_csv,
    write_shimmer_csv,
    write_xsens_txt,
)

GAITMAP = Path(__file__).resolve().parents[1] / "data" / "real" / "gaitmap" / "imu_sample.csv"


@pytest.fixture(scope="module")
def signals():
    poses = standing_then_walking(3, stand_s=1.0, walk_s=4.0)
    return mounted_imu(poses, "rshank", np.eye(3), 120.0)  # m/s^2, rad/s


def test_gaitmap_two_row_header(recwarn):
    recs = read_imu_csv(GAITMAP, fs=204.8)
    assert [r.name for r in recs] == ["left_sensor", "right_sensor"]
    left = recs[0]
    assert left.preset == "gaitmap" and left.fs == 204.8 and left.t is None and left.acc.shape == (4096, 3)
    raw = np.loadtxt(GAITMAP, delimiter=",", skiprows=2, max_rows=3)
    assert np.allclose(left.gyr[:3, 0], np.deg2rad(raw[:, 7]))  # deg/s -> rad/s
    assert np.allclose(left.acc[:3, 0], raw[:, 1])
    msgs = [str(w.message) for w in recwarn]
    assert any("assumed deg/s" in m and "gaitmap preset" in m for m in msgs)
    with pytest.raises(ImukinError, match="sampling rate"):
        read_imu_csv(GAITMAP)
    assert len(read_imu_csv(GAITMAP, fs=204.8, sensors=["right_sensor"])) == 1


def test_xsens_export_with_wrapping_counters_and_a_dropped_packet(tmp_path, signals):
    acc, gyr = signals
    keep = np.ones(len(acc), bool)
    keep[200:204] = False
    p = tmp_path / "MT_012345.txt"
    write_xsens_txt(p, acc[keep], gyr[keep], 120.0, t=(np.arange(len(acc)) / 120.0)[keep],
                    packet=np.flatnonzero(keep) + 65500)
    assert detect_preset(p.read_text().splitlines()) == "xsens"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (rec,) = read_imu_csv(p)
    assert rec.preset == "xsens" and rec.fs == 120.0  # from "// Update Rate"
    assert rec.meta["DeviceId"] == "00B42D4F"
    assert np.allclose(np.diff(rec.t)[199], 5 / 120.0, atol=1e-4)  # the gap survives the tick wrap-around
    assert np.all(np.diff(rec.t) > 0)
    assert np.allclose(rec.gyr, gyr[keep], atol=1e-5)  # rad/s kept


def test_dot_export_deg_per_s(tmp_path, signals):
    acc, gyr = signals
    p = tmp_path / "dot_sensor.csv"
    write_dot_csv(p, acc, np.rad2deg(gyr), 120.0)
    with pytest.warns(UserWarning) as caught:
        (rec,) = read_imu_csv(p)
    assert any("assumed deg/s (dot preset default" in str(w.message) for w in caught)
    assert rec.preset == "dot" and rec.fs == 120.0
    assert np.allclose(rec.gyr, gyr, atol=1e-5)
    assert np.allclose(rec.t[-1], (len(acc) - 1) / 120.0, atol=1e-5)


def test_generic_csv_units_in_header_and_mapping(tmp_path, signals):
    acc, gyr = signals
    t = np.arange(len(acc)) / 120.0
    p = tmp_path / "lab.csv"
    np.savetxt(p, np.column_stack([t * 1000, acc / G, np.rad2deg(gyr)]), delimiter=",", comments="",
               header="time_ms,acc_x (g),acc_y (g),acc_z (g),gyr_x [deg/s],gyr_y [deg/s],gyr_z [deg/s]")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # units stated in the header: no warning
        (rec,) = read_imu_csv(p)
    assert rec.units == {"acc": "g (header)", "gyr": "deg/s (header)"}
    assert np.allclose(rec.acc, acc, atol=1e-6) and np.allclose(rec.gyr, gyr, atol=1e-6)
    assert rec.fs == pytest.approx(120.0, rel=1e-6)
    q = tmp_path / "custom.csv"
    np.savetxt(q, np.column_stack([t, acc, gyr]), delimiter=";", comments="", header="T;A1;A2;A3;W1;W2;W3")
    (rec2,) = read_imu_csv(q, columns={"acc": ["A1", "A2", "A3"], "gyr": ["W1", "W2", "W3"], "time": "T"},
                           acc_units="m/s^2", gyr_units="rad/s")
    assert np.allclose(rec2.gyr, gyr, atol=1e-6) and rec2.fs == pytest.approx(120.0, rel=1e-6)


@pytest.mark.parametrize("acc_names, gyr_names", [
    ("Accelerometer X (m/s^2),Accelerometer Y (m/s^2),Accelerometer Z (m/s^2)",
     "Gyroscope X (deg/s),Gyroscope Y (deg/s),Gyroscope Z (deg/s)"),
    ("AccelX,AccelY,AccelZ", "GyroX,GyroY,GyroZ"),
    ("accelerometer_x,accelerometer_y,accelerometer_z", "gyroscope_x,gyroscope_y,gyroscope_z")])
def test_generic_csv_finds_common_column_names(tmp_path, signals, acc_names, gyr_names):
    acc, gyr = signals
    p = tmp_path / "export.csv"
    stated = "(deg/s)" in gyr_names
    np.savetxt(p, np.column_stack([np.arange(len(acc)) / 120.0, acc, np.rad2deg(gyr) if stated else gyr]),
               delimiter=",", comments="", header=f"time_s,{acc_names},{gyr_names}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (rec,) = read_imu_csv(p)
    assert np.allclose(rec.acc, acc, atol=1e-6) and np.allclose(rec.gyr, gyr, atol=1e-6)


def test_unit_detection_warns_with_what_it_assumed(tmp_path, signals):
    acc, gyr = signals
    p = tmp_path / "rshank.csv"
    np.savetxt(p, np.column_stack([acc / G, gyr]), delimiter=",", comments="", header="ax,ay,az,gx,gy,gz")
    with pytest.warns(UserWarning) as rec_w:
        (rec,) = read_imu_csv(p, fs=120.0)
    msgs = " ".join(str(w.message) for w in rec_w)
    assert "assumed g" in msgs and "assumed rad/s" in msgs
    assert np.allclose(np.median(np.linalg.norm(rec.acc, axis=1)), np.median(np.linalg.norm(acc, axis=1)))
    assert detect_units(acc, np.rad2deg(gyr)) == ("m/s^2", "deg/s")


def test_contradictory_header_units_raise(tmp_path, signals):
    acc, gyr = signals
    p = tmp_path / "bad.csv"
    np.savetxt(p, np.column_stack([acc, np.rad2deg(gyr)]), delimiter=",", comments="",
               header="acc_x (g),acc_y (g),acc_z (g),gyr_x,gyr_y,gyr_z")
    with pytest.raises(ImukinError, match="looks like m/s\\^2"):
        read_imu_csv(p, fs=120.0)


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(ImukinError, match="does not exist"):
        read_imu_csv(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ImukinError, match="empty"):
        read_imu_csv(tmp_path / "empty.csv")
    (tmp_path / "cols.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ImukinError, match="no acc columns"):
        read_imu_csv(tmp_path / "cols.csv")
    with pytest.raises(ImukinError, match="preset"):
        read_imu_csv(GAITMAP, preset="vicon")


def test_shimmer_consensys_export_with_two_devices(tmp_path, signals):
    """A Consensys export of two Shimmers: one sensor per device, named as in Consensys; the wide-range
    accelerometer (the low-noise one clips at 2 g), deg/s to rad/s from the units row, time from the Unix
    milliseconds; a text time column and the trailing delimiters are no obstacle."""
    acc, gyr = signals
    acc = acc.copy()
    acc[100:103] *= 3.0  # an impact beyond 2 g, which the low-noise accelerometer clips
    p = tmp_path / "session.csv"
    write_shimmer_csv(p, {"Shimmer_40AC": (acc, gyr), "RightShank": (acc[:, ::-1], -gyr)}, 120.0)
    assert detect_preset(p.read_text().splitlines()) == "shimmer"
    recs = read_imu_csv(p)
    assert [r.name for r in recs] == ["Shimmer_40AC", "RightShank"]
    a, b = recs
    assert a.preset == "shimmer" and a.fs == pytest.approx(120.0, rel=1e-4)
    assert np.allclose(a.acc, acc, atol=1e-5) and np.allclose(a.gyr, gyr, atol=1e-6)
    assert np.allclose(b.acc, acc[:, ::-1], atol=1e-5) and np.allclose(b.gyr, -gyr, atol=1e-6)
    assert a.units == {"acc": "m/s^2 (header)", "gyr": "deg/s (header)"}
    assert a.t[0] == 0.0 and a.t[-1] == pytest.approx((len(acc) - 1) / 120.0, abs=1e-3)
    assert a.t_start == pytest.approx(1_678_974_670.0)
    assert [r.name for r in read_imu_csv(p, sensors=["RightShank"])] == ["RightShank"]
    with pytest.raises(ImukinError, match="has no sensor.*LeftShank.*it has Shimmer_40AC, RightShank"):
        read_imu_csv(p, sensors=["LeftShank"])
    comma = tmp_path / "comma.csv"
    write_shimmer_csv(comma, {"S1": (acc, gyr)}, 120.0, sep=",")
    assert np.allclose(read_imu_csv(comma)[0].gyr, gyr, atol=1e-6)
    no_gyro = tmp_path / "acc_only.csv"
    no_gyro.write_text('"sep=,"\nS1_Timestamp_Unix_CAL,S1_Accel_LN_X_CAL,S1_Accel_LN_Y_CAL,S1_Accel_LN_Z_CAL,S1_Gyro_X_CAL\n'
                       "ms,m/(s^2),m/(s^2),m/(s^2),deg/s\n1,0,9.8,0,0\n2,0,9.8,0,0\n")
    with pytest.raises(ImukinError, match="device S1 lacks an X, Y or Z column"):
        read_imu_csv(no_gyro)
