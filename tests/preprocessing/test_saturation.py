"""Saturated sensors: a channel cut flat at its range is found, a real or quantised one is not; cut gyroscope
peaks are put back."""
import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import imukin
from imukin.preprocessing.saturation import (
    SaturationWatch,
    find_saturation,
    repair_saturated,
    saturated_axes,
    saturation_notes,
)


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


def test_cut_peaks_come_back_near_the_true_ones():
    """A smooth signal cut at its range: the repaired peaks lie near the true ones, and what the cut took
    from the signal's integral (an angle, for a gyroscope) comes mostly back."""
    x = _walk_like()
    lim = 4.36
    cut = np.clip(x, -lim, lim)
    y, runs = repair_saturated(cut)
    assert runs >= 18  # both ends, about one run per stride each
    at = np.abs(cut[:, 0]) >= lim
    assert np.all(np.abs(y[at, 0]) > lim)  # beyond the range, where the signal was
    assert np.abs(y - x).max() < 0.25 * np.abs(cut - x).max()
    assert abs((y - x)[:, 0].sum()) < 0.1 * np.abs(cut - x)[:, 0].sum()
    assert np.array_equal(y[~at], cut[~at])  # the samples within the range are kept
    assert saturated_axes(y) == []


def test_runs_at_the_ends_or_at_gaps_stay_cut():
    x = _walk_like()
    cut = np.clip(x, -4.36, 4.36)
    a, b = np.flatnonzero(np.abs(cut[:, 0]) >= 4.36)[[0, -1]]
    gapped = cut.copy()
    gapped[a - 1] = np.nan  # a gap just before the first run
    y, _ = repair_saturated(gapped[: b + 1])  # and the last run at the very end
    assert y[a, 0] == cut[a, 0] and y[b, 0] == cut[b, 0]
    assert np.abs(y[a + 60:b - 60, 0]).max() > 4.5  # the runs between are repaired


def test_a_real_recording_cut_at_250_deg_s_is_reported_and_repaired(data_dir, tmp_path):
    """The Kuopio trial as a +-250 deg/s gyroscope would record it: every shank and foot is named in the
    report (as recorded, +-2000 deg/s, none is), and with the cut peaks put back the knee and ankle angles
    come back near those of the whole signals; kept as recorded they do not."""
    rec = imukin.load_recording(data_dir / "real" / "kuopio", fs=100)
    whole = imukin.predict(rec, joints=["knee", "ankle"])
    assert not [w for w in whole.warnings if "saturated" in w or "put back" in w]
    lim = np.radians(250.0)
    cut = dataclasses.replace(rec, gyr={k: np.clip(v, -lim, lim) for k, v in rec.gyr.items()})
    kept = imukin.predict(cut, joints=["knee", "ankle"], repair_saturation=False)
    repaired = imukin.predict(cut, joints=["knee", "ankle"])
    for pred in (kept, repaired):
        named = {w.split(":")[0] for w in pred.warnings if "gyroscope saturated" in w}
        assert named == {"rshank", "lshank", "rfoot", "lfoot"}
    assert {w.split(":")[0] for w in repaired.warnings if "put back" in w} == {"rshank", "lshank", "rfoot", "lfoot"}
    assert not [w for w in kept.warnings if "put back" in w]

    def off(pred, j):  # offset-removed flexion RMSE (deg) against the whole signals' angles
        d = pred.angles[j][:, 0] - whole.angles[j][:, 0]
        return float(np.sqrt(np.mean((d - d.mean()) ** 2)))

    for j in ("rknee", "lknee", "rankle", "lankle"):
        assert off(repaired, j) < 0.5 * off(kept, j), (j, off(repaired, j), off(kept, j))
    assert max(off(repaired, j) for j in ("rknee", "lknee")) < 0.6


def test_the_cli_repairs_unless_told_not_to(data_dir, tmp_path):
    from imukin.cli import main
    from tests.preprocessing.motion import write_motion_bids

    rec = imukin.load_recording(data_dir / "real" / "kuopio", fs=100)
    lim = np.radians(250.0)
    sensors = {s: (rec.acc[s], np.clip(rec.gyr[s], -lim, lim)) for s in ("rthigh", "rshank")}
    path = write_motion_bids(tmp_path / "rec", "sub-01_task-walk_tracksys-imu", sensors, 100.0, extra_point=False)
    for flags, repaired in (((), True), (("--no-repair",), False)):
        out = tmp_path / f"out{len(flags)}"
        assert main(["predict", str(path), "--joints", "knee", "--no-plots", "--quiet", "--out", str(out), *flags]) == 0
        report = (out / "report.md").read_text()
        assert "rshank: the gyroscope saturated" in report
        assert ("rshank: 6 cut gyroscope peaks put back" in report) == repaired


def test_a_watch_over_pushed_chunks_finds_what_the_whole_signals_give():
    """Any chunking of the samples (one at a time, runs split across pushes, NaN gaps) gives find_saturation's
    answer over the whole signals."""
    x = _walk_like()
    gyr = {"rshank": np.clip(x, -4.36, 4.36), "rthigh": x}
    acc = {"rshank": np.clip(x[:, ::-1] * 3, -19.6, 19.6), "rthigh": x * 2}
    gyr["rshank"][200:203] = np.nan  # a gap inside the signal
    whole = find_saturation(acc, gyr)
    assert set(whole) == {"rshank"} and set(whole["rshank"]) == {"accelerometer", "gyroscope"}
    rng = np.random.default_rng(1)
    for sizes in ([1], [7], rng.integers(1, 40, 200).tolist()):
        watch = SaturationWatch(["rthigh", "rshank"])
        k, i = 0, 0
        while k < len(x):
            n = sizes[i % len(sizes)]
            watch.push({s: a[k:k + n] for s, a in acc.items()}, {s: g[k:k + n] for s, g in gyr.items()})
            k, i = k + n, i + 1
        got = watch.found()
        for seg, signals in whole.items():
            for what, hits in signals.items():
                key = lambda d: (d["axis"], d["level"])  # noqa: E731
                assert sorted(got[seg][what], key=key) == sorted(hits, key=key), (sizes[:3], seg, what)
        assert set(got) == set(whole)


def test_values_written_coarsely_are_not_taken_for_a_cut_range(data_dir):
    """The Kuopio trial written with two decimals: its standing start repeats each channel's extreme again and
    again, but far below any sensor's range; neither the whole recording nor a stream of it (at any moment)
    names a sensor."""
    rec = imukin.load_recording(data_dir / "real" / "kuopio", fs=100)
    acc = {s: np.round(a, 2) for s, a in rec.acc.items()}
    gyr = {s: np.round(g, 2) for s, g in rec.gyr.items()}
    standing = slice(0, 150)
    assert saturated_axes(gyr["pelvis"][standing])  # the rule alone would take the standing for cut ...
    assert find_saturation({s: a[standing] for s, a in acc.items()}, {s: g[standing] for s, g in gyr.items()}) == {}
    assert find_saturation(acc, gyr) == {}
    watch = SaturationWatch(list(acc))
    for k in range(0, rec.n_frames, 5):
        watch.push({s: a[k:k + 5] for s, a in acc.items()}, {s: g[k:k + 5] for s, g in gyr.items()})
        assert watch.found() == {}, k


@settings(max_examples=60, deadline=None)
@given(amps=st.lists(st.floats(0.2, 3.0), min_size=3, max_size=3), freqs=st.lists(st.floats(0.3, 3.0), min_size=3,
       max_size=3), phase=st.floats(0.0, 6.3), cut=st.floats(0.4, 0.9), fs=st.sampled_from([50.0, 100.0, 204.8]))
def test_a_repair_changes_only_the_cut_runs_and_keeps_them_beyond_the_limit(amps, freqs, phase, cut, fs):
    """Any smooth signal cut at a fraction of its peak: samples off the limit stay as they are, the repaired
    ones lie at or beyond it (the peak was there), and an uncut signal is left alone. The signals carry a
    little noise, as every sensor's do: an exactly periodic one, sampled in step with its period, reaches its
    sampled maximum once a period and does read as cut (the rule's premise is that real peaks differ)."""
    t = np.arange(int(8 * fs)) / fs
    x = sum(a * np.sin(2 * np.pi * f * t + k * phase) for k, (a, f) in enumerate(zip(amps, freqs)))
    x = x + np.random.default_rng(round(1e6 * phase)).normal(0.0, 1e-3, x.shape)  # (N,) a 16-bit sensor's noise
    sig = np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=1)
    y, runs = repair_saturated(sig)
    assert runs == 0 and np.array_equal(y, sig)  # nothing cut, nothing changed
    hi, lo = cut * x.max(), cut * x.min()
    clipped = np.clip(sig, lo, hi)
    y, _ = repair_saturated(clipped)
    off = (clipped[:, 0] < hi) & (clipped[:, 0] > lo)
    assert np.array_equal(y[off], clipped[off]) and np.array_equal(y[:, 1:], clipped[:, 1:])
    assert np.all(y[clipped[:, 0] >= hi, 0] >= hi) and np.all(y[clipped[:, 0] <= lo, 0] <= lo)
