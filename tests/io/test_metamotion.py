"""MbientLab MetaMotion (MetaBase) exports: two files per sensor, sampled apart, put on one clock; bad sets refused.

The files are written here in MetaBase's layout (``<name>_<date>_<MAC>_<Signal>_<rate>Hz_<fw>.csv``, Unix ms,
the accelerometer in g and the gyroscope in deg/s, each signal on its own stamps)."""
import warnings

import numpy as np
import pytest

from imukin.conventions import G
from imukin.errors import ImukinError
from imukin.io.metamotion import is_metamotion_file, metamotion_sensors, read_metamotion
from imukin.io.recording import load_recording
from tests.preprocessing.motion import write_metamotion

T0 = 1_678_974_670.0  # s since 1970
MACS = {"RightThigh": "C8E2A1F4B7D0", "RightShank": "D4D7C843B379", "Pelvis": "FB7D0BFC0351"}


def signals(t):
    """Smooth acc (g) and gyr (deg/s) as functions of absolute time (s): what any sample of them must read."""
    u = t - T0
    acc = np.stack([0.3 * np.sin(2 * np.pi * 1.1 * u), 1.0 + 0.2 * np.cos(2 * np.pi * 0.9 * u),
                    0.1 * np.sin(2 * np.pi * 0.7 * u + 1.0)], axis=1)
    gyr = np.stack([40 * np.sin(2 * np.pi * 0.8 * u), 90 * np.cos(2 * np.pi * 1.0 * u), 20 * np.sin(2 * np.pi * u)],
                   axis=1)
    return acc, gyr


def write_session(folder, starts=None, gyr_lag_s=0.004, n=600):
    """Three sensors at 100 Hz; each begins at its own instant (not on a shared sample grid), its gyroscope
    sampled ``gyr_lag_s`` after its accelerometer."""
    starts = starts or {"RightThigh": 0.0, "RightShank": 0.037, "Pelvis": 0.113}
    for name, s in starts.items():
        t_acc = T0 + s + np.arange(n) / 100.0
        t_gyr = t_acc + gyr_lag_s
        write_metamotion(folder, name, MACS[name], t_acc, signals(t_acc)[0], t_gyr, signals(t_gyr)[1])
    return folder


def test_a_sensor_is_read_from_its_two_files(tmp_path):
    write_session(tmp_path)
    pairs, others, notes = metamotion_sensors(sorted(tmp_path.iterdir()))
    assert len(pairs) == 3 and not others and not notes
    acc_file, gyr_file = pairs[next(k for k in pairs if k.startswith("RightShank"))]
    assert is_metamotion_file(acc_file) and "Accelerometer" in acc_file.name and "Gyroscope" in gyr_file.name
    rec = read_metamotion(acc_file, gyr_file)
    assert rec.name == "RightShank" and rec.meta["device_id"] == MACS["RightShank"] and rec.fs == pytest.approx(100)
    assert rec.units == {"acc": "g (header)", "gyr": "deg/s (header)"}
    assert rec.t_start == pytest.approx(T0 + 0.047, abs=1e-6)  # its first acc sample is before any gyroscope one
    acc, gyr = signals(rec.t + rec.t_start)  # the truth at the accelerometer's stamps
    assert np.allclose(rec.acc, acc * G, atol=1e-4 * G)
    assert np.allclose(np.rad2deg(rec.gyr), gyr, atol=0.05)  # the gyroscope read 4 ms earlier, by interpolation
    assert not np.allclose(np.rad2deg(rec.gyr), signals(rec.t + rec.t_start + 0.004)[1], atol=0.05)


def test_a_folder_is_put_on_the_sensors_shared_clock(tmp_path):
    """Sensors that began 37 and 113 ms apart: every segment's sample k is the same instant of the shared clock."""
    rec = load_recording(write_session(tmp_path))
    assert set(rec.segments) == {"rthigh", "rshank", "pelvis"} and rec.fs == pytest.approx(100.0)
    assert rec.sensors["rshank"] == f"RightShank ({MACS['RightShank']})"
    t = T0 + 0.123 + np.arange(rec.n_frames) / rec.fs  # the latest start (the pelvis's second acc sample)
    acc, gyr = signals(t)
    for seg in rec.segments:
        assert np.allclose(rec.acc[seg], acc * G, atol=2e-3 * G), seg
        assert np.allclose(np.rad2deg(rec.gyr[seg]), gyr, atol=0.3), seg
    assert rec.n_frames == pytest.approx(600 - 12, abs=1)  # the span all three cover


def test_a_sensor_map_and_left_out_signals(tmp_path):
    write_session(tmp_path)
    mag = tmp_path / f"RightShank_2023-03-16T13.51.10.120_{MACS['RightShank']}_Magnetometer_25.000Hz_1.7.3.csv"
    mag.write_text("epoc (ms),timestamp (+0100),elapsed (s),x-axis (T),y-axis (T),z-axis (T)\n"
                   "1678974670000,2023-03-16T13.51.10.000,0.000,0.00002,0.00001,0.00004\n")
    rec = load_recording(tmp_path, sensors={"lthigh": MACS["RightThigh"], "lshank": "RightShank"})
    assert rec.segments == ("lthigh", "lshank")
    assert any("Magnetometer" in n and "left out" in n for n in rec.notes)
    with pytest.raises(ImukinError, match=r"has no sensor 'LeftFoot' \(for lfoot\)"):
        load_recording(tmp_path, sensors={"lfoot": "LeftFoot"})


def test_bad_sets_get_one_clear_line(tmp_path):
    t = T0 + np.arange(200) / 100.0
    acc, gyr = signals(t)
    write_metamotion(tmp_path / "half", "RightThigh", MACS["RightThigh"], t, acc, t, gyr, signals=("Gyroscope",))
    with pytest.raises(ImukinError, match="has .*Gyroscope.* but no accelerometer export"):
        load_recording(tmp_path / "half")
    write_metamotion(tmp_path / "apart", "RightThigh", MACS["RightThigh"], t, acc, t + 100.0, gyr)
    with pytest.raises(ImukinError, match="do not overlap in time"):
        load_recording(tmp_path / "apart")
    write_session(tmp_path / "mixed")
    (tmp_path / "mixed" / "lfoot.csv").write_text("time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0,0,0,9.8,0,0,0\n")
    with pytest.raises(ImukinError, match="MetaMotion exports and other sensor files"):
        load_recording(tmp_path / "mixed")
    one = next((tmp_path / "half").iterdir())
    with pytest.raises(ImukinError, match="one signal of a MetaMotion .* pass the folder"):
        load_recording(one)
    rad = tmp_path / "rad"
    write_metamotion(rad, "RightThigh", MACS["RightThigh"], t, acc, t, gyr)
    for p in rad.iterdir():  # a gyroscope labelled rad/s whose values are deg/s
        p.write_text(p.read_text().replace("(deg/s)", "(rad/s)"))
    with pytest.raises(ImukinError, match="declares the gyroscope in rad/s"):
        load_recording(rad)


def test_the_real_trial_as_metamotion_files_gives_the_same_angles(data_dir, tmp_path):
    """The Kuopio trial's signals written as MetaBase exports (g, deg/s, Unix ms; each gyroscope 3 ms after its
    accelerometer): the same recording as read from the Xsens exports, the gyroscope read between its samples,
    and the knee angles of ``imukin.predict`` within half a degree of those from the Xsens exports."""
    import imukin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xsens = load_recording(data_dir / "real" / "kuopio", fs=100)
    names = {"pelvis": "Pelvis", "rthigh": "RightThigh", "rshank": "RightShank", "lthigh": "LeftThigh",
             "lshank": "LeftShank"}
    t = T0 + np.arange(xsens.n_frames) / 100.0
    for i, (seg, name) in enumerate(names.items()):
        write_metamotion(tmp_path, name, f"C8E2A1F4B7{i:02X}", t, xsens.acc[seg] / G, t + 0.003,
                         np.rad2deg(xsens.gyr[seg]))
    rec = load_recording(tmp_path)
    assert set(rec.segments) == set(names) and rec.fs == pytest.approx(100.0)
    n = rec.n_frames
    assert n == xsens.n_frames - 1  # the first acc sample comes before any gyroscope sample: left out
    for seg in names:
        assert np.allclose(rec.acc[seg], xsens.acc[seg][1:], atol=1e-4), seg
        # the gyroscope read at the accelerometer's stamps, 7 ms after one of its samples and 3 ms before the next
        between = 0.3 * xsens.gyr[seg][:-1] + 0.7 * xsens.gyr[seg][1:]
        assert np.allclose(rec.gyr[seg], between, atol=1e-6), seg
    a = imukin.predict(rec, joints=["knee"])
    b = imukin.predict(xsens, joints=["knee"])
    for jn in ("rknee", "lknee"):
        d = a.angles[jn][:, 0] - b.angles[jn][1:, 0]
        assert np.sqrt(np.mean(d ** 2)) < 0.5, jn
