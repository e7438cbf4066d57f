"""Mixing dataset files: renumbered subjects, provenance, one rate, atomic output."""
import json

import h5py
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imukin.cli import main
from imukin.conventions import JOINTS, SEGMENTS
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.job_h5 import read_dataset, write_dataset
from imukin.sources.mix import mix_datasets, resample_record, resampled_copy


def _record(sid, fs, seconds=2.0, source="synthetic"):
    """Smooth test signals: 1.5 Hz sines and a steady turn about Y."""
    t = np.arange(int(seconds * fs)) / fs
    rec = SubjectRecord(subject_id=sid, fs=fs, attrs={"source": source} if source else {})
    for k, seg in enumerate(SEGMENTS):
        rec.acc[seg] = np.column_stack([np.sin(2 * np.pi * 1.5 * t + k), 9.81 + 0 * t, np.cos(2 * np.pi * t)])
        rec.gyr[seg] = 0.5 * rec.acc[seg]
        rec.rmat[seg] = Rotation.from_rotvec(np.outer(0.8 * t, [0, 1, 0])).as_matrix()
    for j in JOINTS:
        rec.angle[j] = 20 * np.column_stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t), 0 * t])
    return rec


def test_resample_record_keeps_smooth_signals():
    rec = _record("s0001", 100.0)
    out = resample_record(rec, 200.0)
    t = np.arange(out.n_frames) / 200.0
    inner = slice(20, -20)
    assert out.fs == 200.0 and out.n_frames == 400 and out.attrs["resampled_from_hz"] == 100.0
    assert np.allclose(out.acc["rfoot"][inner, 0], np.sin(2 * np.pi * 1.5 * t + 5)[inner], atol=1e-3)
    want = Rotation.from_rotvec(np.outer(0.8 * np.minimum(t, 1.99), [0, 1, 0])).as_matrix()
    assert np.allclose(out.rmat["pelvis"], want, atol=1e-9)
    assert resample_record(rec, 100.0) is rec


def test_mix_renumbers_and_records_provenance(tmp_path):
    a = write_dataset(tmp_path / "a.h5", [_record("s0000", 200.0), _record("s0007", 200.0)],
                      attrs={"source": "synthetic", "activity": "walking"})
    b = write_dataset(tmp_path / "b.h5", [_record("s0000", 100.0, source="amass")],
                      attrs={"source": "amass", "activity": "unknown"})
    out = mix_datasets([a, b], tmp_path / "mixed.h5")
    recs = read_dataset(out)
    assert [r.subject_id for r in recs] == ["s0000", "s0001", "s0002"]
    assert all(r.fs == 200.0 for r in recs) and recs[2].n_frames == 400
    assert [r.attrs["dataset_subject"] for r in recs] == ["s0000", "s0007", "s0000"]
    assert [r.attrs["source_type"] for r in recs] == ["synthetic", "synthetic", "amass"]
    assert recs[2].attrs["dataset_file"] == str(b)
    with h5py.File(out) as f:
        assert f.attrs["source"] == "mixed" and f.attrs["activity"] == "mixed"
        assert [s["subjects"] for s in json.loads(f.attrs["sources"])] == [2, 1]
    assert read_dataset(mix_datasets([b, a], tmp_path / "m100.h5", fs=100.0))[1].n_frames == 200


def test_resampled_copy_is_made_again_for_a_new_source(tmp_path):
    src = write_dataset(tmp_path / "a.h5", [_record("s0000", 200.0)], attrs={"source": "synthetic"})
    copy = resampled_copy(src, tmp_path / "w", 100.0)
    assert read_dataset(copy)[0].fs == 100.0
    made = copy.stat().st_mtime_ns
    assert resampled_copy(src, tmp_path / "w", 100.0) == copy and copy.stat().st_mtime_ns == made  # reused
    write_dataset(src, [_record("s0000", 200.0, seconds=3.0)], attrs={"source": "synthetic"})  # simulated again
    assert read_dataset(resampled_copy(src, tmp_path / "w", 100.0))[0].n_frames == 300


def test_mix_bad_input_leaves_nothing(tmp_path):
    a = write_dataset(tmp_path / "a.h5", [_record("s0000", 200.0)])
    with pytest.raises(ImukinError, match="does not exist"):
        mix_datasets([a, tmp_path / "missing.h5"], tmp_path / "out.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(ImukinError, match="not a readable HDF5"):
        mix_datasets([a, tmp_path / "junk.h5"], tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists() and not list(tmp_path.glob(".out.h5*"))


def test_cli_mix(tmp_path):
    a = write_dataset(tmp_path / "a.h5", [_record("s0000", 100.0, source=None)], attrs={"source": "bvh"})
    b = write_dataset(tmp_path / "b.h5", [_record("s0003", 200.0, source=None)], attrs={"source": "opensim_ik"})
    out = tmp_path / "c.h5"
    assert main(["simulate", "--mix", str(a), str(b), "--out", str(out)]) == 0  # at --fs, 200 Hz by default
    recs = read_dataset(out)
    assert [r.attrs["source_type"] for r in recs] == ["bvh", "opensim_ik"] and recs[0].fs == 200.0
    assert main(["simulate", "--mix", str(a), "--markers", str(a), "--out", str(tmp_path / "d.h5")]) == 2
    assert not (tmp_path / "d.h5").exists()
