"""APDM Opal .h5 recordings: read with their labels and time stamps, loaded as any recording, bad files refused.

The files are written here in APDM's layouts (format version 5: /Sensors/<id>/Accelerometer, Gyroscope, Time in
microseconds, Configuration attribute "Label 0"; versions 2-4: root attributes CaseIdList and MonitorLabelList,
/<case id>/Calibrated/Accelerometers and Gyroscopes, /<case id>/Time) from the real Kuopio trial's signals, so the
numbers can be checked against the same trial read from its Xsens exports."""
import contextlib
import io
import warnings

import h5py
import numpy as np
import pytest

from imukin.cli import main
from imukin.errors import ImukinError
from imukin.io.apdm_h5 import is_apdm_file, read_apdm_h5
from imukin.io.recording import load_recording
from tests.preprocessing.motion import write_apdm_h5

LABELS = {"pelvis": "Lumbar", "rthigh": "Right Upper Leg", "rshank": "Right Lower Leg", "rfoot": "Right Foot",
          "lthigh": "Left Upper Leg", "lshank": "Left Lower Leg", "lfoot": "Left Foot"}
T0_US = 1_678_974_670_000_000  # a recording's first stamp, microseconds since 1970


@pytest.fixture
def kuopio(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_recording(data_dir / "real" / "kuopio", fs=100)


def write_apdm(path, rec, early: dict | None = None, gyr_scale: float = 1.0, sternum: bool = True, version: int = 5):
    """An APDM file of ``rec``'s sensors (labels from LABELS; a sternum sensor with the pelvis's signals)."""
    sensors = {LABELS[seg]: (rec.acc[seg], rec.gyr[seg] * gyr_scale) for seg in LABELS}
    if sternum:
        sensors["Sternum"] = (rec.acc["pelvis"], rec.gyr["pelvis"])
    return write_apdm_h5(path, sensors, rec.fs, early={LABELS[s]: k for s, k in (early or {}).items()}, t0_us=T0_US,
                         version=version)


def test_every_sensor_is_read_with_its_label_stamps_and_units(kuopio, tmp_path):
    path = write_apdm(tmp_path / "walk.h5", kuopio)
    assert is_apdm_file(path)
    recs = read_apdm_h5(path)
    assert [r.name for r in recs] == list(LABELS.values()) + ["Sternum"]
    assert [r.meta["device_id"] for r in recs] == [str(1300 + i) for i in range(8)]
    for r, seg in zip(recs, LABELS):
        assert np.array_equal(r.acc, kuopio.acc[seg]) and np.array_equal(r.gyr, kuopio.gyr[seg])
        assert r.fs == pytest.approx(100.0) and r.t[0] == 0.0 and r.t[-1] == pytest.approx(9.71)
        assert r.t_start == pytest.approx(T0_US * 1e-6)
        assert r.units == {"acc": "m/s^2 (header)", "gyr": "rad/s (header)"}


def test_loaded_as_a_recording_the_labels_give_the_segments(kuopio, tmp_path):
    """The sensors map to segments by their labels, the sternum is left out with a note, and sensors that began
    a sample or two apart on the shared clock are aligned on it: the same signals as the Xsens exports."""
    path = write_apdm(tmp_path / "walk.h5", kuopio, early={"rthigh": 1, "lshank": 2})
    rec = load_recording(path)
    assert set(rec.segments) == set(LABELS) and rec.fs == pytest.approx(100.0) and rec.rate_source == "time stamps"
    assert rec.n_frames == kuopio.n_frames
    for seg in LABELS:
        # (the stamps are interpolated onto the grid: equal to float rounding)
        assert np.allclose(rec.acc[seg], kuopio.acc[seg], rtol=0, atol=1e-9), seg
        assert np.allclose(rec.gyr[seg], kuopio.gyr[seg], rtol=0, atol=1e-9), seg
    assert rec.sensors["rthigh"] == "Right Upper Leg (1301)"
    assert any("Sternum" in n and "left out" in n for n in rec.notes)
    assert any("aligned on their time stamps" in n and "rthigh 1" in n and "lshank 2" in n for n in rec.notes)


def test_a_sensor_map_picks_sensors_by_label_or_device_id(kuopio, tmp_path):
    path = write_apdm(tmp_path / "walk.h5", kuopio)
    rec = load_recording(path, sensors={"rthigh": "1303", "rshank": "Right Lower Leg"})  # the foot as a thigh
    assert rec.segments == ("rthigh", "rshank")
    assert np.allclose(rec.gyr["rthigh"], kuopio.gyr["rfoot"], rtol=0, atol=1e-9)
    with pytest.raises(ImukinError, match=r"has no sensor 'Right Thigh' \(for rthigh\); it has Lumbar \(1300\)"):
        load_recording(path, sensors={"rthigh": "Right Thigh"})


@pytest.mark.parametrize("version", [3, 4])
def test_older_formats_are_read_as_the_current_one(kuopio, tmp_path, version):
    """Format versions 2-4: the same sensors, labels, stamps and units as version 5, the case ids as device ids."""
    new = read_apdm_h5(write_apdm(tmp_path / "new.h5", kuopio, early={"rthigh": 1}))
    path = write_apdm(tmp_path / "old.h5", kuopio, early={"rthigh": 1}, version=version)
    assert is_apdm_file(path)
    old = read_apdm_h5(path)
    assert [r.name for r in old] == [r.name for r in new]
    assert [r.meta["device_id"] for r in old] == [f"SI-{1300 + i:06d}" for i in range(8)]
    for a, b in zip(old, new):
        assert np.array_equal(a.acc, b.acc) and np.array_equal(a.gyr, b.gyr) and np.array_equal(a.t, b.t)
        assert a.t_start == b.t_start and a.fs == b.fs and a.units == b.units
    rec = load_recording(path, sensors=None)
    assert set(rec.segments) == set(LABELS) and rec.sensors["rshank"] == "Right Lower Leg (SI-001302)"
    assert np.allclose(rec.gyr["rthigh"], kuopio.gyr["rthigh"], rtol=0, atol=1e-9)


def test_format_2_lists_as_datasets_and_padded_case_ids(kuopio, tmp_path):
    """Version 2 kept CaseIdList and MonitorLabelList as root datasets; ids may carry padding past the group's name."""
    path = tmp_path / "v2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["FileFormatVersion"] = 2
        f["CaseIdList"] = np.array([b"SI-000646   ", b"SI-000647\x00\x00"], dtype="S12")
        f["MonitorLabelList"] = np.array([b"Right Upper Leg", b"Right Lower Leg"])
        for case, seg in (("SI-000646", "rthigh"), ("SI-000647", "rshank")):
            g = f.create_group(case)
            g["Calibrated/Accelerometers"], g["Calibrated/Gyroscopes"] = kuopio.acc[seg], kuopio.gyr[seg]
            g["Time"] = (T0_US + 10000 * np.arange(kuopio.n_frames)).astype(np.uint64)
    assert is_apdm_file(path)
    rec = load_recording(path)
    assert rec.segments == ("rthigh", "rshank") and rec.sensors["rthigh"] == "Right Upper Leg (SI-000646)"
    assert np.allclose(rec.acc["rshank"], kuopio.acc["rshank"], rtol=0, atol=1e-9)


def test_units_the_data_contradict_are_refused(kuopio, tmp_path):
    path = write_apdm(tmp_path / "deg.h5", kuopio, gyr_scale=180 / np.pi)  # a gyroscope written in deg/s
    with pytest.raises(ImukinError, match="declares the gyroscope in rad/s"):
        read_apdm_h5(path)
    assert read_apdm_h5(path, gyr_units="deg/s")[0].units["gyr"] == "deg/s (given)"


def test_unreadable_apdm_and_other_h5_files_get_one_clear_line(tmp_path):
    old = tmp_path / "old.h5"
    with h5py.File(old, "w") as f:  # a sensor with no gyroscope: nothing to read
        f.attrs["FileFormatVersion"] = 3
        f.attrs["CaseIdList"] = np.array([b"SI-000646"])
        f["/SI-000646/Calibrated/Accelerometers"] = np.zeros((10, 3))
    with pytest.raises(ImukinError, match="APDM file of format version 3.*export it again"):
        load_recording(old)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    assert not is_apdm_file(other) and not is_apdm_file(tmp_path / "missing.h5")
    with pytest.raises(ImukinError, match="neither a reference-layout dataset nor an APDM recording"):
        load_recording(other)
    named = tmp_path / "named.h5"
    with h5py.File(named, "w") as f:
        g = f.create_group("Sensors/77")
        g["Accelerometer"], g["Gyroscope"] = np.ones((200, 3)) * 5.7, np.zeros((200, 3))
        g["Time"] = (T0_US + 10000 * np.arange(200)).astype(np.uint64)
        g.create_group("Configuration").attrs["Label 0"] = np.bytes_("Sternum")
    with pytest.raises(ImukinError, match=r"no sensor label names a leg segment \(Sternum\)"):
        load_recording(named)


def test_predict_cli_refuses_an_apdm_file_with_no_sensor_in_one_line(tmp_path):
    old = tmp_path / "old.h5"
    with h5py.File(old, "w") as f:
        f.attrs["FileFormatVersion"] = 4
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["predict", str(old), "--out", str(tmp_path / "out")])
    assert code == 2 and "\n" not in err.getvalue().strip() and "format version 4" in err.getvalue()
    assert not (tmp_path / "out").exists()
