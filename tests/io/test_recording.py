"""imukin.load_recording: every form in, one Recording out; bad input refused with one line."""
import json
import shutil

import numpy as np
import pytest

from imukin.conventions import G
from imukin.errors import ImukinError
from imukin.io.recording import Recording, load_recording, read_sensor_map, segment_from_name

KUOPIO_SEGMENTS = ("pelvis", "rthigh", "lthigh", "rshank", "lshank", "rfoot", "lfoot")


@pytest.fixture
def kuopio(data_dir):
    return data_dir / "real" / "kuopio"


@pytest.mark.parametrize("name, seg", [
    ("femur_r_imu", "rthigh"), ("tibia_l_imu", "lshank"), ("calcn_r_imu", "rfoot"), ("pelvis_imu", "pelvis"),
    ("RightThigh", "rthigh"), ("LeftLowerLeg", "lshank"), ("lfoot", "lfoot"), ("Right_Shank.csv", "rshank"),
    ("sacrum", "pelvis"), ("upper-leg_L", "lthigh"),
    ("thigh", None), ("l_comf_01-000_00B42D48", None), ("knee", None), ("rthigh_rshank", None)])
def test_segment_from_name(name, seg):
    assert segment_from_name(name) == seg


def test_kuopio_folder_with_vendor_map(kuopio):
    rec = load_recording(kuopio, fs=100)
    assert rec.segments == KUOPIO_SEGMENTS
    assert rec.sensors["pelvis"].endswith("00B42DA3.txt") and rec.sensors["lfoot"].endswith("00B42D4E.txt")
    assert rec.fs == 100 and rec.n_frames == 972
    # first principles: the standing start reads ~9.81 m/s^2 on every sensor, in m/s^2 and rad/s
    for seg in rec.segments:
        assert np.linalg.norm(rec.acc[seg][:100].mean(0)) == pytest.approx(G, abs=0.5)
        assert np.abs(rec.gyr[seg][:100]).mean() < 0.1
    assert [j for j, _ in rec.joints()] == ["hip", "knee", "ankle"] * 2


def test_sensors_that_began_apart_on_one_clock_are_aligned_on_their_stamps(kuopio, tmp_path):
    """Xsens sensors share one packet counter; a right-thigh file that begins 3 packets later (a sensor that
    started late) is aligned on the counter, not on its first row, and the others lose those 3 samples."""
    whole = load_recording(kuopio, fs=100)
    folder = tmp_path / "kuopio"
    shutil.copytree(kuopio, folder)
    thigh = folder / "l_comf_01-000_00B42DA2.txt"  # femur_r_imu
    lines = thigh.read_text().splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("PacketCounter"))
    assert lines[header + 1].startswith("04097")
    thigh.write_text("".join(lines[:header + 1] + lines[header + 4:]))  # packets 4097-4099 gone
    late = load_recording(folder, fs=100)
    assert late.n_frames == whole.n_frames - 3
    for seg in KUOPIO_SEGMENTS:
        # (the stamps are interpolated onto the grid: equal to float rounding)
        assert np.allclose(late.acc[seg], whole.acc[seg][3:], rtol=0, atol=1e-9), seg
        assert np.allclose(late.gyr[seg], whole.gyr[seg][3:], rtol=0, atol=1e-9), seg
    assert any("aligned on their time stamps" in n and "pelvis 3" in n for n in late.notes)


def test_stamps_of_separate_clocks_leave_the_sensors_starting_together(tmp_path):
    """Time stamps that begin off the sample grid of each other (each sensor's own clock) do not move the
    sensors; the recording says so."""
    t, acc, gyr = _walkish(300, 100.0)
    _write_csv(tmp_path / "rthigh.csv", t + 12.0, acc, gyr)
    _write_csv(tmp_path / "rshank.csv", t + 12.0137, acc, gyr)  # 1.37 samples later: not one clock's grid
    rec = load_recording(tmp_path)
    assert rec.n_frames == 300 and np.allclose(rec.acc["rthigh"], rec.acc["rshank"], rtol=0, atol=1e-4)
    assert any("not one clock" in n for n in rec.notes)


def test_kuopio_needs_a_rate(kuopio):
    with pytest.raises(ImukinError, match="no time stamps.*--fs 100"):
        load_recording(kuopio)


@pytest.mark.parametrize("fs", [float("nan"), float("inf"), 0, -100, 1, 5000])
def test_bad_rates_refused(kuopio, fs):
    with pytest.raises(ImukinError, match="Hz|rate"):
        load_recording(kuopio, fs=fs)


def _write_csv(path, t, acc, gyr):
    rows = np.column_stack([t, acc, gyr])
    np.savetxt(path, rows, delimiter=",", header="time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z", comments="",
               fmt="%.6f")


def _walkish(n, fs, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    acc = np.column_stack([np.sin(6 * t), G + np.cos(6 * t), 0.3 * np.sin(3 * t)]) + 0.05 * rng.normal(size=(n, 3))
    gyr = np.column_stack([0.2 * np.sin(6 * t), 0.1 * np.cos(3 * t), 3 * np.sin(6 * t)])
    return t, acc, gyr


def test_csv_folder_rate_from_time_stamps(tmp_path):
    for seg in ("rthigh", "rshank"):
        _write_csv(tmp_path / f"{seg}.csv", *_walkish(300, 148.0))
    rec = load_recording(tmp_path)
    assert rec.fs == pytest.approx(148.0, rel=1e-3) and rec.rate_source == "time stamps"
    assert load_recording(tmp_path, fs=148.5).fs == 148.5  # within 1 %: the given nominal rate
    with pytest.raises(ImukinError, match="contradicts the time stamps"):
        load_recording(tmp_path, fs=100)


@pytest.mark.parametrize("name, words", [
    ("walk.c3d", r"motion-capture or OpenSim file \(\.c3d\), not an IMU recording; .*simulate --markers"),
    ("trial_markers.trc", "not an IMU recording"), ("ik.mot", "not an IMU recording"),
    ("notes.pdf", "does not read .pdf files; pass a sensor file"),
    ("acc.npy", "reference .npy layout; pass the folder")])
def test_files_that_hold_no_imu_data_are_refused(tmp_path, name, words):
    (tmp_path / name).write_bytes(b"not imu data\n")
    with pytest.raises(ImukinError, match=words):
        load_recording(tmp_path / name, fs=100)


def test_unequal_length_and_rate_refused(tmp_path):
    _write_csv(tmp_path / "rthigh.csv", *_walkish(300, 100.0))
    _write_csv(tmp_path / "rshank.csv", *_walkish(200, 100.0))
    with pytest.raises(ImukinError, match="unequal length"):
        load_recording(tmp_path)
    _write_csv(tmp_path / "rshank.csv", *_walkish(600, 200.0))
    with pytest.raises(ImukinError, match="unequal rate"):
        load_recording(tmp_path)


def test_segment_given_twice_and_unknown_names(tmp_path):
    _write_csv(tmp_path / "rthigh.csv", *_walkish(300, 100.0))
    _write_csv(tmp_path / "RightThigh.csv", *_walkish(300, 100.0))
    with pytest.raises(ImukinError, match="rthigh is given twice"):
        load_recording(tmp_path)
    (tmp_path / "RightThigh.csv").rename(tmp_path / "sensor7.csv")
    (tmp_path / "rthigh.csv").rename(tmp_path / "sensor8.csv")
    with pytest.raises(ImukinError, match="no file name names a segment.*--sensors"):
        load_recording(tmp_path)
    (tmp_path / "map.json").write_text(json.dumps({"rthigh": "sensor7", "rshank": "sensor8"}))
    rec = load_recording(tmp_path, sensors=tmp_path / "map.json")
    assert rec.segments == ("rthigh", "rshank")
    (tmp_path / "bad.json").write_text(json.dumps({"rthigh": "sensor7", "rshank": "sensor9"}))
    with pytest.raises(ImukinError, match="not there.*rshank -> sensor9"):
        load_recording(tmp_path, sensors=tmp_path / "bad.json")
    with pytest.raises(ImukinError, match="unknown segment 'elbow'"):
        load_recording(tmp_path, sensors={"elbow": "sensor7"})
    with pytest.raises(ImukinError, match="given twice"):
        read_sensor_map_from({"rthigh": "sensor7", "RightThigh": "sensor8"}, tmp_path)


def read_sensor_map_from(d, folder):
    p = folder / "twice.json"
    p.write_text(json.dumps(d))
    return read_sensor_map(p)


def test_mapping_file_naming_missing_files(kuopio, tmp_path):
    folder = tmp_path / "k"
    shutil.copytree(kuopio, folder)
    (folder / "l_comf_01-000_00B42D48.txt").unlink()
    with pytest.raises(ImukinError, match="rfoot -> l_comf_01-000_00B42D48"):
        load_recording(folder, fs=100)


def test_units_that_look_wrong(tmp_path):
    t, acc, gyr = _walkish(300, 100.0)
    with pytest.raises(ImukinError, match="looks like g"):
        Recording.from_arrays({"rthigh": (acc / G, gyr), "rshank": (acc / G, gyr)}, fs=100)
    with pytest.raises(ImukinError, match="deg/s"):
        Recording.from_arrays({"rthigh": (acc, np.rad2deg(gyr)), "rshank": (acc, np.rad2deg(gyr))}, fs=100)
    rec = Recording.from_arrays({"rthigh": (acc / G, gyr)}, fs=100, acc_units="g")
    assert np.linalg.norm(rec.acc["rthigh"], axis=1).mean() == pytest.approx(G, rel=0.05)


def test_too_short_and_missing_rate():
    t, acc, gyr = _walkish(50, 100.0)
    with pytest.raises(ImukinError, match="too short for any stride"):
        Recording.from_arrays({"rthigh": (acc, gyr)}, fs=100)
    with pytest.raises(ImukinError, match="fs="):
        Recording.from_arrays({"rthigh": (acc, gyr)}, fs=None)


def test_time_stamp_gaps_become_nan(tmp_path):
    t, acc, gyr = _walkish(400, 100.0)
    keep = np.ones(400, bool)
    keep[100:105] = False  # 0.05 s: filled
    keep[200:240] = False  # 0.4 s: a gap
    for seg in ("rthigh", "rshank"):
        _write_csv(tmp_path / f"{seg}.csv", t[keep], acc[keep], gyr[keep])
    rec = load_recording(tmp_path)
    gaps = rec.gap_mask()
    assert rec.n_frames == 400 and not gaps[95:110].any() and gaps[200:240].all() and gaps.sum() == 40


def test_h5_dataset(corpus_factory):
    path = corpus_factory("w.h5", n_subjects=2, seed=5, duration_s=3.0, fs=100.0)
    with pytest.raises(ImukinError, match="2 subjects.*--subject"):
        load_recording(path)
    rec = load_recording(path, subject="s0001")
    assert rec.fs == 100 and len(rec.segments) == 7 and "rknee" in rec.reference
    with pytest.raises(ImukinError, match="contradicts"):
        load_recording(path, subject="s0001", fs=200)


def test_a_shimmer_export_of_several_devices_names_its_segments(tmp_path):
    """One Consensys file with two Shimmers named after their segments in Consensys: the device names map
    them, as the sensor names of any multi-sensor file."""
    from tests.preprocessing.motion import mounted_imu, standing_then_walking, write_shimmer_csv

    poses = standing_then_walking(2, stand_s=1.0, walk_s=3.0)
    devices = {name: mounted_imu(poses, seg, np.eye(3), 102.4, noise=False)
               for name, seg in (("RightThigh", "rthigh"), ("RightShank", "rshank"))}
    write_shimmer_csv(tmp_path / "walk.csv", devices, 102.4)
    rec = load_recording(tmp_path / "walk.csv")
    assert rec.segments == ("rthigh", "rshank") and rec.fs == pytest.approx(102.4, rel=1e-3)
    assert rec.rate_source == "time stamps" and rec.sensors == {"rthigh": "walk.csv", "rshank": "walk.csv"}
    n = rec.n_frames  # the stamps, written in ms to 3 decimals, may leave the last sample off the grid
    assert n >= len(devices["RightShank"][1]) - 1
    assert np.allclose(rec.gyr["rshank"], devices["RightShank"][1][:n], atol=1e-3)  # (the ms stamps jitter)


def test_stamps_in_whole_milliseconds_give_the_true_rate(tmp_path):
    """At 102.4 Hz, stamps written in whole milliseconds step 9 or 10 ms (the median step says 100 Hz); the rate
    counts sample steps over the time they span, a dropped sample as two steps."""
    from tests.preprocessing.motion import mounted_imu, standing_then_walking

    poses = standing_then_walking(3, stand_s=1.0, walk_s=4.0)
    acc, gyr = mounted_imu(poses, "rshank", np.eye(3), 102.4, noise=False)
    keep = np.ones(len(acc), bool)
    keep[200] = False  # a dropped sample
    ms = np.floor(np.arange(len(acc)) * 1000.0 / 102.4)[keep]
    np.savetxt(tmp_path / "rshank.csv", np.column_stack([ms, acc[keep], gyr[keep]]), delimiter=",", comments="",
               header="time_ms,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z", fmt="%.0f" + ",%.6f" * 6)
    rec = load_recording(tmp_path, acc_units="m/s^2", gyr_units="rad/s")
    assert rec.fs == pytest.approx(102.4, rel=1e-3) and rec.rate_source == "time stamps"
    assert rec.n_frames == pytest.approx(len(acc), abs=1)
