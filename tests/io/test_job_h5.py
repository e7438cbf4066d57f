"""The reference HDF5 layout: round trip, foreign files, atomic writes, bad input."""
import h5py
import numpy as np
import pytest

from imukin.conventions import JOINTS, SEGMENTS
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.job_h5 import file_attrs, read_dataset, read_subject, subject_ids, write_dataset


def make_record(sid, n, rng, fs=200.0):
    rec = SubjectRecord(subject_id=sid, fs=fs, meta=np.array([1, 180, 75, 1.3]), attrs={"activity": "walking"})
    for seg in SEGMENTS:
        rec.acc[seg] = rng.normal(size=(n, 3))
        rec.gyr[seg] = rng.normal(size=(n, 3))
        rec.rmat[seg] = np.tile(np.eye(3), (n, 1, 1))
    for j in JOINTS:
        rec.angle[j] = rng.normal(size=(n, 3)) * 10
    return rec


def test_round_trip(tmp_path, rng):
    recs = [make_record("s0001", 50, rng), make_record("s0002", 70, rng)]
    path = write_dataset(tmp_path / "d.h5", recs, attrs={"activity": "walking", "seed": 3})
    assert subject_ids(path) == ["s0001", "s0002"]
    attrs = file_attrs(path)
    assert attrs["fs"] == 200.0 and attrs["activity"] == "walking" and attrs["seed"] == 3
    assert attrs["units_acc"] == "m/s^2" and attrs["units_gyr"] == "rad/s"
    back = read_dataset(path)
    for a, b in zip(recs, back):
        assert b.subject_id == a.subject_id and b.n_frames == a.n_frames
        for seg in SEGMENTS:
            assert np.allclose(a.acc[seg], b.acc[seg], atol=1e-5)
            assert np.allclose(a.rmat[seg], b.rmat[seg])
        for j in JOINTS:
            assert np.allclose(a.angle[j], b.angle[j], atol=1e-4)
        assert np.allclose(a.meta, b.meta) and b.attrs["activity"] == "walking"
    part = read_subject(path, "s0002", segments=["pelvis"], joints=["rhip"], rmat=False)
    assert list(part.acc) == ["pelvis"] and list(part.angle) == ["rhip"] and not part.rmat


def test_reads_a_reference_file_made_elsewhere(tmp_path, rng):
    """A Calgary-style file written without imukin's attributes loads, at 200 Hz."""
    path = tmp_path / "walking_data.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("s12")
        for seg in ("pelvis", "rthigh", "rshank"):
            g[f"{seg}/acc"] = rng.normal(size=(30, 3))
            g[f"{seg}/gyr"] = rng.normal(size=(30, 3))
            g[f"{seg}/rmat"] = np.tile(np.eye(3), (30, 1, 1))
        g["rknee/angle"] = np.zeros((30, 3))
        g["meta"] = np.array([0, -1, -1, 1.2])
        g.attrs["checks_passed"] = True
    rec = read_subject(path, "s12")
    assert rec.fs == 200.0 and rec.n_frames == 30
    assert set(rec.acc) == {"pelvis", "rthigh", "rshank"}
    assert rec.joint_inputs("knee", "right")[0].shape == (30, 3)
    with pytest.raises(ImukinError, match="lshank"):
        rec.joint_inputs("knee", "left")


def test_failed_write_keeps_the_old_file(tmp_path, rng):
    path = write_dataset(tmp_path / "d.h5", [make_record("s0001", 20, rng)])
    before = path.read_bytes()
    bad = make_record("s0002", 20, rng)
    bad.acc["pelvis"][5, 1] = np.nan

    def records():
        yield make_record("s0003", 20, rng)
        yield bad

    with pytest.raises(ImukinError, match="non-finite values in frames 5-5"):
        write_dataset(path, records())
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]


def test_bad_inputs(tmp_path, rng):
    with pytest.raises(ImukinError, match="does not exist"):
        read_dataset(tmp_path / "missing.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(ImukinError, match="not a readable HDF5"):
        read_dataset(tmp_path / "junk.h5")
    with pytest.raises(ImukinError, match=".h5"):
        write_dataset(tmp_path / "out.csv", [make_record("s1", 5, rng)])
    with pytest.raises(ImukinError, match="Hz"):
        write_dataset(tmp_path / "x.h5", [make_record("s1", 5, rng), make_record("s2", 5, rng, fs=100.0)])
    assert not (tmp_path / "x.h5").exists()
