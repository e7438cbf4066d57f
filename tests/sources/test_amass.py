"""AMASS/SMPL-H reader: round trips through files imukin writes, body models, bad input."""
import dataclasses

import h5py
import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from imukin.cli import main
from imukin.conventions import SEGMENTS
from imukin.errors import ImukinError
from imukin.simulation.corpus import record_from_kinematics
from imukin.simulation.sensor_errors import SensorErrorConfig
from imukin.sources.amass import (
    AMASS_TO_LAB,
    SMPL_TO_SEGMENT,
    amass_kinematics,
    amass_record,
    read_amass,
    write_amass_npz,
)
from imukin.sources.motion import SourceConfig

from .conftest import HEIGHT_M, max_angle_error, rel_rms, yaw_between


def test_frame_constants_are_rotations():
    for m in (AMASS_TO_LAB, SMPL_TO_SEGMENT):
        assert np.allclose(m @ m.T, np.eye(3)) and np.isclose(np.linalg.det(m), 1.0)
    assert np.allclose(AMASS_TO_LAB @ [0, 0, 1], [0, 1, 0])  # AMASS up (Z) -> lab up (Y)
    # SMPL z (forward) is the segment's anterior x, SMPL -x (body's right) is z
    assert np.allclose(SMPL_TO_SEGMENT @ [1, 0, 0], [0, 0, 1]) and np.allclose(SMPL_TO_SEGMENT @ [0, 0, 1], [-1, 0, 0])


def test_npz_layout(tmp_path, walk):
    kin, _ = walk
    path = write_amass_npz(tmp_path / "clip_poses.npz", kin, fs=120.0)
    with np.load(path, allow_pickle=False) as f:
        assert f["poses"].shape[1] == 156 and f["trans"].shape == (f["poses"].shape[0], 3)
        assert float(f["mocap_framerate"]) == 120.0
        assert np.all(f["poses"][:, 9:12] == 0) and np.all(f["poses"][:, 66:] == 0)  # spine, arms, hands untouched
    motion = read_amass(path)
    assert motion.sex == kin.subject.sex and motion.fs == 120.0


def test_round_trip_at_native_rate_is_exact(tmp_path, walk, ideal_cfg):
    kin, ref = walk
    rec = amass_record(write_amass_npz(tmp_path / "a.npz", kin), cfg=ideal_cfg)
    assert rec.n_frames == ref.n_frames
    assert max_angle_error(rec, ref) < 1e-6
    for seg in SEGMENTS:
        assert np.abs(rec.acc[seg] - ref.acc[seg]).max() < 1e-5  # m/s^2
        assert np.abs(rec.gyr[seg] - ref.gyr[seg]).max() < 1e-8  # rad/s
    y = yaw_between(rec, ref)  # the lab is turned about Y onto the direction of travel, nothing else
    assert np.allclose(y[1], [0, 1, 0], atol=1e-9)
    for seg in SEGMENTS:
        assert np.allclose(rec.rmat[seg], y @ ref.rmat[seg], atol=1e-9)
    assert rec.attrs["source"] == "amass" and rec.meta[1] == pytest.approx(100 * HEIGHT_M)
    assert rec.meta[2] == -1  # mass unknown


def test_round_trip_at_mocap_rate(tmp_path, walk, ideal_cfg):
    """120 Hz (AMASS CMU's rate): interpolation back to 1000 Hz loses little.

    Angles stay within the 0.5 deg bar (about 0.1 deg measured inside, 0.2 deg at the ends).
    A 120 Hz capture cannot hold the generator's heel-strike transients (a few ms long:
    unfiltered shank and foot accelerations differ by 15-30 % RMS), so shank and foot
    signals are compared after the same 15 Hz zero-phase low-pass (measured: acc within
    4 %, gyr within 0.2 %), pelvis and thighs unfiltered (0.2 %); 100 ms at the ends,
    where the interpolating spline has no neighbours, are left out.
    """
    kin, ref = walk
    rec = amass_record(write_amass_npz(tmp_path / "a.npz", kin, fs=120.0), cfg=ideal_cfg)
    assert abs(rec.n_frames - ref.n_frames) <= 1
    assert max_angle_error(rec, ref) < 0.5
    sos = butter(4, 15.0, fs=200.0, output="sos")
    n = min(rec.n_frames, ref.n_frames)
    for seg in SEGMENTS:
        filt = (lambda x: sosfiltfilt(sos, x[:n], axis=0)) if seg[1:] in ("shank", "foot") else (lambda x: x[:n])
        assert rel_rms(filt(rec.acc[seg]), filt(ref.acc[seg]), edge=20) < 0.08, seg
        assert rel_rms(filt(rec.gyr[seg]), filt(ref.gyr[seg]), edge=20) < 0.01, seg


def _body_model(subject, root_above_m=0.08):
    """SMPL-style rest joints (24, 3) of a subject: pelvis, hips, knees, ankles where imukin puts them."""
    c = SMPL_TO_SEGMENT  # segment coordinates -> SMPL coordinates
    j = np.zeros((24, 3))
    j[0] = [0.0, 0.95, 0.0]
    mid = j[0] + c @ [0.0, -root_above_m, 0.0]
    for side, (hip, knee, ankle) in (("left", (1, 4, 7)), ("right", (2, 5, 8))):
        zs = 1.0 if side == "right" else -1.0
        j[hip] = mid + c @ [0.0, 0.0, zs * subject.pelvis_width_m / 2]
        j[knee] = j[hip] + c @ [0.0, -subject.thigh_length_m, 0.0]
        j[ankle] = j[knee] + c @ [0.0, -subject.shank_length_m, 0.0]
    j[3] = j[0] + [0, 0.1, 0]
    for k in range(9, 24):
        j[k] = j[k % 9] + [0.0, 0.01 * k, 0.0]
    return j


def test_body_model_gives_its_joint_positions(tmp_path, walk, ideal_cfg):
    kin, _ = walk
    other = dataclasses.replace(kin.subject, thigh_length_m=0.43, shank_length_m=0.38, pelvis_width_m=0.18)
    pos = {"pelvis": kin.pos["pelvis"]}  # the same motion with the other body's bones
    for side, zs in (("r", 1.0), ("l", -1.0)):
        pos[side + "thigh"] = pos["pelvis"] + kin.rot["pelvis"] @ [0.0, 0.0, zs * 0.09]
        pos[side + "shank"] = pos[side + "thigh"] + kin.rot[side + "thigh"] @ [0.0, -0.43, 0.0]
        pos[side + "foot"] = pos[side + "shank"] + kin.rot[side + "shank"] @ [0.0, -0.38, 0.0]
    kin2 = dataclasses.replace(kin, subject=other, pos=pos)
    joints = _body_model(other)
    np.savez(tmp_path / "model_J.npz", J=joints)
    # the same joints as J_regressor @ (v_template + shapedirs @ betas), with betas zero in the motion file
    verts = np.concatenate([joints, [[0, 1.7, 0], [0, 0.0, 0]]])  # two extra vertices: 1.7 m tall
    reg = np.hstack([np.eye(24), np.zeros((24, 2))])
    np.savez(tmp_path / "model_reg.npz", J_regressor=reg, v_template=verts, shapedirs=np.ones((26, 3, 10)))
    path = write_amass_npz(tmp_path / "a.npz", kin2, body_model=tmp_path / "model_J.npz")
    subjects = {}
    for model, height in (("model_J.npz", HEIGHT_M), ("model_reg.npz", 1.7)):
        subjects[model] = (out := amass_kinematics(read_amass(path), SourceConfig(height_m=HEIGHT_M, lowpass_hz=None),
                               body_model=tmp_path / model)).subject
        assert out.subject.thigh_length_m == pytest.approx(0.43) and out.subject.pelvis_width_m == pytest.approx(0.18)
        assert out.subject.height_m == pytest.approx(height)
        y = out.rot["pelvis"][0] @ kin2.rot["pelvis"][0].T
        for seg in SEGMENTS:  # joint centres relative to the pelvis, up to the heading turn
            want = (kin2.pos[seg] - kin2.pos["pelvis"]) @ y.T
            assert np.abs(out.pos[seg] - out.pos["pelvis"] - want).max() < 1e-9, seg
    rec = amass_record(path, cfg=ideal_cfg, body_model=tmp_path / "model_J.npz")
    direct = record_from_kinematics(dataclasses.replace(kin2, subject=subjects["model_J.npz"]), "s0000", 200.0,
                                    SensorErrorConfig.ideal(), np.random.default_rng(0))
    assert max(np.abs(rec.acc[s] - direct.acc[s]).max() for s in SEGMENTS) < 1e-5


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("change, message", [
    (dict(poses=None), "lacks poses"),
    (dict(mocap_framerate=None), "mocap_framerate"),
    (dict(mocap_framerate=np.array(0.5)), "outside 10-10000 Hz"),
    (dict(trans=np.zeros((5, 3))), "trans has shape"),
    (dict(poses=np.zeros((40, 10))), "poses has shape"),
])
def test_bad_files_raise_one_line(tmp_path, change, message):
    arrays = dict(poses=np.zeros((40, 156)), trans=np.zeros((40, 3)), mocap_framerate=np.array(60.0))
    arrays.update(change)
    path = _save(tmp_path / "bad.npz", **{k: v for k, v in arrays.items() if v is not None})
    with pytest.raises(ImukinError, match=message) as e:
        amass_record(path)
    assert "\n" not in str(e.value)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = _save(tmp_path / "obj.npz", poses=np.array([{"evil": 1}], dtype=object), trans=np.zeros((1, 3)),
                 mocap_framerate=np.array(60.0))
    with pytest.raises(ImukinError, match="does not unpickle"):
        read_amass(path)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ImukinError, match="not a readable .npz"):
        read_amass(tmp_path / "junk.npz")


def test_cli_folder_and_bad_input(tmp_path, walk):
    kin, _ = walk
    folder = tmp_path / "CMU" / "07"
    write_amass_npz(folder / "07_01_poses.npz", kin, fs=60.0)
    np.savez(folder / "shape.npz", betas=np.zeros(16))  # AMASS per-subject shape file: skipped
    out = tmp_path / "amass.h5"
    assert main(["simulate", "--amass", str(tmp_path / "CMU"), "--height-m", "1.68", "--ideal-sensors",
                 "--out", str(out)]) == 0
    with h5py.File(out) as f:
        assert list(f) == ["s0000"] and f.attrs["source"] == "amass"
        assert f["s0000"].attrs["source_subject"] == "07" and f["s0000/rknee/angle"].shape[1] == 3
    bad = _save(tmp_path / "bad.npz", poses=np.zeros((40, 156)), mocap_framerate=np.array(60.0))
    out2 = tmp_path / "never.h5"
    assert main(["simulate", "--amass", str(folder / "07_01_poses.npz"), str(bad), "--out", str(out2)]) == 2
    assert not out2.exists() and not list(tmp_path.glob(".never.h5*"))  # nothing half-written
    assert main(["simulate", "--body-model", str(bad), "--out", str(out2)]) == 2
