"""BVH reader: round trips through CMU-style files imukin writes, joint maps, bad input."""
import json

import h5py
import numpy as np
import pytest

from imukin.cli import main
from imukin.conventions import SEGMENTS
from imukin.errors import ImukinError
from imukin.sources.bvh import DEFAULT_JOINT_MAP, bvh_record, forward_kinematics, read_bvh, write_bvh

from .conftest import HEIGHT_M, max_angle_error, yaw_between


def test_parser_reads_hierarchy_and_motion(tmp_path, walk):
    kin, _ = walk
    path = write_bvh(tmp_path / "a.bvh", kin, fs=100.0)
    bvh = read_bvh(path)
    assert bvh.fs == pytest.approx(100.0) and bvh.motion.shape == (250, 6 + 3 * 11)
    assert bvh.names[:3] == ["Hips", "RHipJoint", "RightUpLeg"]
    assert bvh.joints[bvh.names.index("LeftLeg")].parent == bvh.names.index("LeftUpLeg")
    _, rest = forward_kinematics(bvh, rest=True)
    hip, knee = rest[0, bvh.names.index("LeftUpLeg")], rest[0, bvh.names.index("LeftLeg")]
    assert np.linalg.norm(hip - knee) == pytest.approx(kin.subject.thigh_length_m)
    assert hip[0] > 0  # CMU orientation: the body's left is +x


@pytest.mark.parametrize("abduction_deg, units_per_m", [(0.0, 1.0), (20.0, 100.0 / 2.54)])
def test_round_trip_is_exact(tmp_path, walk, ideal_cfg, abduction_deg, units_per_m):
    """Rest legs 20 deg apart (CMU-like) and inches: the rest pose is undone, lengths rescaled from the height."""
    kin, ref = walk
    path = write_bvh(tmp_path / "a.bvh", kin, rest_leg_abduction_deg=abduction_deg, units_per_m=units_per_m)
    rec = bvh_record(path, cfg=ideal_cfg)
    assert rec.n_frames == ref.n_frames
    assert max_angle_error(rec, ref) < 1e-5  # the file holds 10 significant digits
    y = yaw_between(rec, ref)
    for seg in SEGMENTS:
        assert np.abs(rec.acc[seg] - ref.acc[seg]).max() < 0.05  # m/s^2; digits of 1 kHz positions
        assert np.abs(rec.gyr[seg] - ref.gyr[seg]).max() < 1e-5  # rad/s
        assert np.allclose(rec.rmat[seg], y @ ref.rmat[seg], atol=1e-7)
    assert rec.attrs["source"] == "bvh" and rec.meta[1] == pytest.approx(100 * HEIGHT_M)


def test_joint_map_file(tmp_path, walk, ideal_cfg):
    kin, ref = walk
    names = {"pelvis": "root", "rthigh": "R_Femur", "lthigh": "L_Femur", "rshank": "R_Tibia", "lshank": "L_Tibia",
             "rfoot": "R_Foot", "lfoot": "mixamorig:leftfoot"}
    path = write_bvh(tmp_path / "b.bvh", kin, fs=200.0, joint_names=names)
    with pytest.raises(ImukinError, match=r"no BVH joint Hips \(pelvis\), RightUpLeg.*--bvh-map") as e:
        bvh_record(path, cfg=ideal_cfg)
    assert "\n" not in str(e.value) and "R_Femur" in str(e.value)  # lists the file's joints
    mapping = tmp_path / "map.json"
    # LeftFoot matches "mixamorig:leftfoot" by its unprefixed name, case ignored
    mapping.write_text(json.dumps({k: v for k, v in names.items() if k != "lfoot"}))
    rec = bvh_record(path, cfg=ideal_cfg, joint_map=mapping)
    assert max_angle_error(rec, ref) < 0.5
    mapping.write_text(json.dumps({"rknee": "R_Tibia"}))
    with pytest.raises(ImukinError, match="unknown segment"):
        bvh_record(path, joint_map=mapping)
    mapping.write_text(json.dumps({**names, "rshank": "L_Tibia"}))  # not below R_Femur
    with pytest.raises(ImukinError, match="does not hang below"):
        bvh_record(path, joint_map=mapping)


def test_bad_files_raise_one_line(tmp_path, walk):
    kin, _ = walk
    text = write_bvh(tmp_path / "a.bvh", kin, fs=100.0).read_text()
    cases = {
        "cut.bvh": (text[:-200], "truncated"),
        "rate.bvh": (text.replace("Frame Time: 0.01", "Frame Time: 100"), "outside 10-10000 Hz"),
        "chan.bvh": (text.replace("Zrotation Yrotation Xrotation", "Zrot Yrotation Xrotation", 1), "bad CHANNELS"),
        "none.bvh": ("hello", "not a BVH file"),
    }
    for name, (body, message) in cases.items():
        (tmp_path / name).write_text(body)
        with pytest.raises(ImukinError, match=message) as e:
            bvh_record(tmp_path / name)
        assert "\n" not in str(e.value)


def test_cli(tmp_path, walk):
    kin, _ = walk
    write_bvh(tmp_path / "mocap" / "01_01.bvh", kin, fs=120.0, rest_leg_abduction_deg=20.0)
    out = tmp_path / "bvh.h5"
    assert main(["simulate", "--bvh", str(tmp_path / "mocap"), "--fs", "100", "--out", str(out)]) == 0
    with h5py.File(out) as f:
        assert f.attrs["source"] == "bvh" and f.attrs["fs"] == 100.0 and f["s0000/lfoot/acc"].shape == (250, 3)
    assert main(["simulate", "--bvh", str(tmp_path / "mocap"), "--bvh-map", str(tmp_path / "missing.json"),
                 "--out", str(tmp_path / "x.h5")]) == 2
    assert main(["simulate", "--bvh", str(tmp_path / "mocap"), "--amass", str(tmp_path), "--out",
                 str(tmp_path / "x.h5")]) == 2
    assert not (tmp_path / "x.h5").exists()
    assert DEFAULT_JOINT_MAP["lshank"] == "LeftLeg"
