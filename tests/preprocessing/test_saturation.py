"""Saturated sensors: a channel cut flat at its range is found, a real or quantised one is not."""
import dataclasses

import numpy as np

import imukin
from imukin.preprocessing.saturation import saturated_axes, saturation_notes


def _walk_like(fs=100.0, seconds=10.0):
    """Strides of 1.07 s with a little noise, as real strides: no two peaks reach the same value."""
    t = np.arange(int(fs * seconds)) / fs
    f = 1 / 1.07
    x = np.stack([6 * np.sin(2 * np.pi * f * t) + 2 * np.sin(4 * np.pi * f * t + 1), np.cos(3 * t), 0.5 * t], axis=1)
    return x + np.random.default_rng(0).normal(0.0, 0.01, x.shape)


def test_a_cut_channel_is_found_at_its_level_and_a_whole_one_is_not():
    x = _walk_like()
    assert saturated_axes(x) == [] and saturated_axes(np.round(x, 3)) == []  # quantised peaks differ
    hits = saturated_axes(np.clip(x, -4.36, 4.36))
    assert {(d["axis"], d["level"]) for d in hits} == {(0, 4.36), (0, -4.36)}
    assert all(d["runs"] >= 9 and 0.0 < d["share"] < 0.5 for d in hits)  # about one run per stride
    y = np.clip(x, -4.36, 4.36)
    y[::7] = np.nan  # gaps are left out, not taken for values
    assert {d["level"] for d in saturated_axes(y)} == {4.36, -4.36}


def test_notes_name_the_sensor_the_signal_and_what_to_do():
    x = _walk_like()
    notes = saturation_notes({"rfoot": np.clip(x * 10, -39.24, 39.24)}, {"rfoot": x, "rshank": np.clip(x, -4.36, 4.36)})
    assert len(notes) == 2
    assert notes[0].startswith("rfoot: the accelerometer saturated") and "+4 g" in notes[0] and "16 g" in notes[0]
    assert notes[1].startswith("rshank: the gyroscope saturated") and "+250 deg/s" in notes[1]
    assert "may be far off" in notes[1] and "2000 deg/s" in notes[1]  # a quarter of the samples cut
    top = saturation_notes({}, {"rfoot": np.clip(x * 10, -34.9066, 34.9066)})[0]  # cut at 2000 deg/s
    assert "larger range" in top


def test_a_real_recording_cut_at_250_deg_s_is_reported(data_dir):
    """The Kuopio trial as a +-250 deg/s gyroscope would record it: every shank and foot is named in the
    report; as recorded (+-2000 deg/s), none is."""
    rec = imukin.load_recording(data_dir / "real" / "kuopio", fs=100)
    assert not [w for w in imukin.predict(rec, joints=["ankle"]).warnings if "saturated" in w]
    lim = np.radians(250.0)
    cut = dataclasses.replace(rec, gyr={k: np.clip(v, -lim, lim) for k, v in rec.gyr.items()})
    named = {w.split(":")[0] for w in imukin.predict(cut, joints=["ankle"]).warnings if "gyroscope saturated" in w}
    assert named == {"rshank", "lshank", "rfoot", "lfoot"}
