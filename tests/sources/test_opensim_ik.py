"""OpenSim IK reader: the generic model's round trip, sign conventions, bad input."""
import dataclasses

import h5py
import numpy as np
import pytest

from imukin.cli import main
from imukin.conventions import SEGMENTS
from imukin.errors import ImukinError
from imukin.io.opensim import read_storage, write_storage
from imukin.simulation.corpus import record_from_kinematics
from imukin.simulation.sensor_errors import SensorErrorConfig
from imukin.sources.opensim_ik import (
    ANKLE_AXIS,
    SUBTALAR_AXIS,
    ik_kinematics,
    kinematics_to_coordinates,
    opensim_ik_record,
    read_ik,
    write_opensim_mot,
)

from .conftest import HEIGHT_M


def _mot(tmp_path, walk, name="a.mot", model="gait2392"):
    kin, _ = walk
    return write_opensim_mot(tmp_path / name, kin, model=model)


def test_axes_are_mirrored_unit_vectors():
    for axes in (ANKLE_AXIS, SUBTALAR_AXIS):
        assert np.linalg.norm(axes["right"]) == pytest.approx(1.0, abs=1e-6)
        assert np.allclose(axes["left"], -axes["right"] * [1, 1, -1])  # axial vector mirrored through z


def test_written_mot_has_gait2392_signs(tmp_path, walk):
    kin, _ = walk
    names, data, header = read_storage(_mot(tmp_path, walk))
    col = {n: data[:, k] for k, n in enumerate(names)}
    assert header["inDegrees"] and names[0] == "time"
    assert np.median(col["knee_angle_r"]) < -5  # gait2392: knee flexion negative
    assert np.allclose(col["hip_flexion_l"], kin.angles["lhip"][:, 0])  # hips are imukin's angles
    assert np.allclose(col["hip_adduction_l"], kin.angles["lhip"][:, 1])


def test_round_trip_keeps_what_the_model_can_represent(tmp_path, walk, ideal_cfg):
    """Hips and pelvis are exact, knee flexion exact; the hinge drops knee adduction and rotation
    (a few degrees in the generator) and the two-axis ankle fits the foot within a few degrees."""
    kin, ref = walk
    rec = opensim_ik_record(_mot(tmp_path, walk), cfg=ideal_cfg)
    assert rec.attrs["opensim_model"] == "gait2392" and rec.n_frames == ref.n_frames
    for j in ("rhip", "lhip"):
        assert np.abs(rec.angle[j] - ref.angle[j]).max() < 1e-6
    for j in ("rknee", "lknee"):
        assert np.abs(rec.angle[j][:, 0] - ref.angle[j][:, 0]).max() < 1e-6
        assert np.all(rec.angle[j][:, 1:] == pytest.approx(0.0, abs=1e-9))
    for j in ("rankle", "lankle"):
        err = rec.angle[j][:, 0] - ref.angle[j][:, 0]  # measured: RMS ~2 deg, max ~4.3 deg
        assert np.sqrt(np.mean(err ** 2)) < 3.0 and np.abs(err).max() < 6.0
    for seg in ("pelvis", "rthigh", "lthigh"):  # their poses are reproduced exactly
        assert np.abs(rec.acc[seg] - ref.acc[seg]).max() < 1e-5
        assert np.abs(rec.gyr[seg] - ref.gyr[seg]).max() < 1e-8


def test_model_motion_round_trips_exactly(tmp_path, walk, ideal_cfg):
    """Kinematics the generic model produced come back unchanged through .mot: every IMU signal."""
    kin, _ = walk
    t, coords = read_ik(_mot(tmp_path, walk))
    k1 = ik_kinematics(t, coords, dataclasses.replace(ideal_cfg, align_heading=False))
    direct = record_from_kinematics(k1, "s0000", 200.0, SensorErrorConfig.ideal(), np.random.default_rng(0))
    back = opensim_ik_record(write_opensim_mot(tmp_path / "b.mot", k1, model="rajagopal"), cfg=ideal_cfg)
    assert back.attrs["opensim_model"] == "rajagopal"  # knee sign detected from the data
    for seg in SEGMENTS:
        assert np.abs(back.acc[seg] - direct.acc[seg]).max() < 1e-5
        assert np.abs(back.gyr[seg] - direct.gyr[seg]).max() < 1e-8
    for j in direct.angle:
        assert np.abs(back.angle[j] - direct.angle[j]).max() < 1e-6


def test_opensim4_labels_and_radians(tmp_path, walk, ideal_cfg):
    kin, _ = walk
    names, data = kinematics_to_coordinates(kin, fs=100.0)
    paths = [n if n == "time" or n.startswith("pelvis") else f"/jointset/j/{n}/value" for n in names]
    rad = data.copy()
    rot = [k for k, n in enumerate(names) if n != "time" and not n.endswith(("_tx", "_ty", "_tz"))]
    rad[:, rot] = np.deg2rad(rad[:, rot])
    write_storage(tmp_path / "r.sto", paths, rad, in_degrees=False)
    write_storage(tmp_path / "d.mot", names, data)
    a = opensim_ik_record(tmp_path / "r.sto", cfg=ideal_cfg)
    b = opensim_ik_record(tmp_path / "d.mot", cfg=ideal_cfg)
    assert max(np.abs(a.angle[j] - b.angle[j]).max() for j in a.angle) < 1e-9


def test_bad_input(tmp_path, walk):
    kin, _ = walk
    names, data = kinematics_to_coordinates(kin, fs=100.0)
    keep = [k for k, n in enumerate(names) if n not in ("knee_angle_l", "pelvis_ty")]
    write_storage(tmp_path / "m.mot", [names[k] for k in keep], data[:, keep])
    with pytest.raises(ImukinError, match="lacks coordinate.*pelvis_ty, knee_angle_l"):
        opensim_ik_record(tmp_path / "m.mot")
    jitter = data.copy()
    jitter[50:, 0] += 0.003  # a gap of a third of a sample
    write_storage(tmp_path / "j.mot", names, jitter)
    with pytest.raises(ImukinError, match="not evenly spaced"):
        opensim_ik_record(tmp_path / "j.mot")
    slow = data.copy()
    slow[:, 0] *= 1000.0  # milliseconds written as seconds: 0.1 Hz
    write_storage(tmp_path / "s.mot", names, slow)
    with pytest.raises(ImukinError, match="frame rate"):
        opensim_ik_record(tmp_path / "s.mot")
    write_storage(tmp_path / "ok.mot", names, data)
    with pytest.raises(ImukinError, match="unknown OpenSim model"):
        opensim_ik_record(tmp_path / "ok.mot", model="gait2354x")


def test_cli(tmp_path, walk):
    _mot(tmp_path / "ik", walk, name="trial.mot")
    out = tmp_path / "ik.h5"
    assert main(["simulate", "--opensim-mot", str(tmp_path / "ik" / "trial.mot"), "--height-m", str(HEIGHT_M),
                 "--seed", "3", "--out", str(out)]) == 0
    with h5py.File(out) as f:
        assert f.attrs["source"] == "opensim_ik" and f["s0000"].attrs["opensim_model"] == "gait2392"
        assert f["s0000/meta"][1] == pytest.approx(100 * HEIGHT_M)
    assert main(["simulate", "--opensim-mot", str(tmp_path / "nope.mot"), "--out", str(tmp_path / "x.h5")]) == 2
    assert not (tmp_path / "x.h5").exists()
