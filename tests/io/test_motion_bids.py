"""Motion-BIDS recordings (*_motion.tsv, *_channels.tsv, *_motion.json): read by tracked point, loaded as any
recording, bad sets refused in one line. The files are written here in the BIDS motion layout from the real
Kuopio trial's signals, so the numbers can be checked against the same trial read from its Xsens exports."""
import contextlib
import io
import warnings

import numpy as np
import pytest

from imukin.cli import main
from imukin.conventions import G
from imukin.errors import ImukinError
from imukin.io.motion_bids import is_motion_bids, read_motion_bids
from imukin.io.recording import load_recording
from tests.preprocessing.motion import write_motion_bids

POINTS = {"pelvis": "pelvis", "rthigh": "right_thigh", "rshank": "right_shank", "lthigh": "left_thigh",
          "lshank": "left_shank"}
STEM = "sub-01_task-walk_tracksys-imu"


@pytest.fixture
def kuopio(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_recording(data_dir / "real" / "kuopio", fs=100)


def test_every_tracked_point_is_read_in_its_units(kuopio, tmp_path):
    sensors = {name: (kuopio.acc[seg] / G, np.rad2deg(kuopio.gyr[seg])) for seg, name in POINTS.items()}
    path = write_motion_bids(tmp_path, STEM, sensors, 100.0, units=("g", "deg/s"))
    assert is_motion_bids(path) and not is_motion_bids(tmp_path / f"{STEM}_channels.tsv")
    recs = read_motion_bids(path)
    assert [r.name for r in recs] == list(POINTS.values())  # the head's magnetometer is passed over
    for r, seg in zip(recs, POINTS):
        assert r.fs == 100.0 and r.units == {"acc": "g (header)", "gyr": "deg/s (header)"}
        assert np.allclose(r.acc, kuopio.acc[seg], atol=1e-6)
        assert np.allclose(r.gyr, kuopio.gyr[seg], atol=1e-7)


def test_loaded_as_a_recording_by_file_or_folder(kuopio, tmp_path):
    """The tracked points name the segments; a missing sample (n/a) is a gap; a LATENCY channel gives the time."""
    sensors = {name: (kuopio.acc[seg].copy(), kuopio.gyr[seg].copy()) for seg, name in POINTS.items()}
    sensors["right_shank"][0][400] = np.nan
    t = 1.5 + np.arange(kuopio.n_frames) / 100.0
    path = write_motion_bids(tmp_path / "bids", STEM, sensors, None, latency=t)
    for where in (path, tmp_path / "bids"):
        rec = load_recording(where)
        assert set(rec.segments) == set(POINTS) and rec.fs == pytest.approx(100.0) and rec.rate_source == "time stamps"
        assert rec.sensors["rshank"] == "right_shank"
        assert np.allclose(rec.gyr["lthigh"], kuopio.gyr["lthigh"], atol=1e-7)
        assert np.allclose(rec.acc["rshank"][399], kuopio.acc["rshank"][399], atol=1e-7)
    picked = load_recording(path, sensors={"lshank": "right_shank", "lthigh": "right_thigh"})
    assert picked.segments == ("lthigh", "lshank")


def test_bad_sets_get_one_clear_line(kuopio, tmp_path):
    sensors = {"right_thigh": (kuopio.acc["rthigh"], kuopio.gyr["rthigh"]),
               "right_shank": (kuopio.acc["rshank"], kuopio.gyr["rshank"])}
    path = write_motion_bids(tmp_path / "a", STEM, sensors, None)  # no sidecar, no latency
    with pytest.raises(ImukinError, match="no SamplingFrequency .* and no LATENCY channel"):
        read_motion_bids(path)
    assert load_recording(path, fs=100).fs == 100.0  # the rate given instead
    path = write_motion_bids(tmp_path / "b", STEM, sensors, 100.0)
    chan = tmp_path / "b" / f"{STEM}_channels.tsv"
    chan.write_text(chan.read_text().replace("tracked_point", "placement"))
    with pytest.raises(ImukinError, match="lacks the column.*tracked_point"):
        read_motion_bids(path)
    path = write_motion_bids(tmp_path / "c", STEM, sensors, 100.0)
    chan = tmp_path / "c" / f"{STEM}_channels.tsv"
    chan.write_text("\n".join(chan.read_text().splitlines()[:-1]) + "\n")  # one channel fewer than columns
    with pytest.raises(ImukinError, match="columns but .* describes"):
        read_motion_bids(path)
    write_motion_bids(tmp_path / "c", "sub-02_task-walk_tracksys-imu", sensors, 100.0)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["predict", str(tmp_path / "c"), "--out", str(tmp_path / "out")])
    assert code == 2 and "2 Motion-BIDS recordings" in err.getvalue() and not (tmp_path / "out").exists()
