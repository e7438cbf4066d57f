import argparse
import json
import shutil

import h5py
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imukin.conventions import G
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.job_h5 import read_dataset, write_dataset
from imukin.preprocessing.align import angle_errors_deg
from imukin.preprocessing.cli import add_commands
from imukin.preprocessing.harmonize import HarmonizeConfig, harmonize, scan_input_dir
from tests.preprocessing.motion import (
    mounted_imu,
    standing_then_walking,
    write_apdm_h5,
    write_metamotion,
    write_motion_bids,
    write_xsens_txt,
)

MOUNT = {("p0", "rthigh"): 1, ("p0", "rshank"): 2, ("p1", "rthigh"): 3, ("p1", "rshank"): 4}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, gaitmap_dir):
    root = tmp_path_factory.mktemp("harmonize_in")
    # dataset 1: the real gaitmap feet, one multi-sensor file mapped by imukin.json
    g = root / "gaitmap" / "subject01"
    g.mkdir(parents=True)
    shutil.copy(gaitmap_dir / "imu_sample.csv", g)
    (g / "imukin.json").write_text(json.dumps({"fs": 204.8, "preset": "gaitmap", "activity": "walking",
                                               "sensors": {"left_sensor": "lfoot", "right_sensor": "rfoot"}}))
    # dataset 2: Xsens exports at 120 Hz, host jitter, a dropped packet, sensors mounted anyhow, cleaner noise
    for s in ("p0", "p1"):
        d = root / "xsens_lab" / s
        d.mkdir(parents=True)
        poses = standing_then_walking(20 + int(s[1]), stand_s=2.5, walk_s=7.0)
        rng = np.random.default_rng(int(s[1]))
        for seg in ("rthigh", "rshank"):
            r_mount = Rotation.random(random_state=MOUNT[(s, seg)]).as_matrix()
            acc, gyr = mounted_imu(poses, seg, r_mount, 120.0, rng=rng)
            t = np.arange(len(acc)) / 120.0 + rng.uniform(-0.2, 0.2, len(acc)) / 120.0
            keep = np.ones(len(acc), bool)
            keep[400:402] = False
            write_xsens_txt(d / f"{seg}.txt", acc[keep], gyr[keep], 120.0, t=t[keep], packet=np.flatnonzero(keep))
    (root / "xsens_lab" / "imukin.json").write_text(json.dumps({"activity": "walking"}))
    # dataset 3: a reference-layout file at 200 Hz with angles and orientations
    poses = standing_then_walking(30, stand_s=2.0, walk_s=6.0)
    rec = SubjectRecord(subject_id="s0042", fs=200.0, meta=np.array([1.0, 180.0, 75.0, -1.0]))
    t_out = np.arange(int(poses.t[-1] * 200)) / 200.0
    idx = np.searchsorted(poses.t, t_out)
    for seg in ("lthigh", "lshank"):
        rec.acc[seg], rec.gyr[seg] = mounted_imu(poses, seg, np.eye(3), 200.0, rng=np.random.default_rng(5))
        rec.acc[seg], rec.gyr[seg] = rec.acc[seg][:len(t_out)], rec.gyr[seg][:len(t_out)]
        rec.rmat[seg] = poses.rot[seg][idx]
    rec.angle["lknee"] = poses.angles["lknee"][idx]
    (root / "sim").mkdir()
    write_dataset(root / "sim" / "walking_data.h5", [rec], attrs={"activity": "walking"})
    return root


@pytest.fixture(scope="module")
def result(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("harmonize_out")
    with pytest.warns(UserWarning):  # unit assumptions of the text exports are announced
        res = harmonize([inputs / "gaitmap", inputs / "xsens_lab", inputs / "sim"], out, HarmonizeConfig(fs=100.0))
    return res


def test_one_file_at_the_common_rate(result):
    recs = read_dataset(result.output)
    assert [r.subject_id for r in recs] == ["s0000", "s0001", "s0002", "s0003"]
    assert all(r.fs == 100.0 for r in recs)
    assert sorted(recs[0].acc) == ["lfoot", "rfoot"] and abs(recs[0].n_frames - 2000) <= 2  # 20 s
    with h5py.File(result.output) as f:
        assert f.attrs["fs"] == 100.0 and f.attrs["activity"] == "walking"
        assert json.loads(f.attrs["datasets"]) == ["gaitmap", "sim", "xsens_lab"]


def test_provenance_per_subject(result):
    recs = {r.subject_id: r for r in read_dataset(result.output)}
    g = recs["s0000"].attrs
    assert g["dataset"] == "gaitmap" and json.loads(g["original_fs"]) == {"rfoot": 204.8, "lfoot": 204.8}
    x = recs["s0001"].attrs
    res = json.loads(x["resample"])["rthigh"]
    assert res["method"] == "timestamps" and [gap["n_missing"] for gap in res["gaps"]] == [2]
    assert json.loads(x["sync"]) == {"method": "none"}
    assert set(json.loads(x["noise_before"])["rthigh"]) == {"acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"}
    h = recs["s0003"].attrs
    assert h["original_id"] == "s0042" and h["source"].endswith("walking_data.h5:s0042")


def test_sensor_axes_are_found_through_the_whole_pipeline(result):
    recs = {r.subject_id: r for r in read_dataset(result.output)}
    for sid, s in (("s0001", "p0"), ("s0002", "p1")):
        al = json.loads(recs[sid].attrs["alignment"])
        for seg in ("rthigh", "rshank"):
            r_true = Rotation.random(random_state=MOUNT[(s, seg)]).as_matrix()
            assert angle_errors_deg(np.array(al[seg]["r_mount"]), r_true).max() < 5.0
            still = slice(0, 150)  # standing: +9.81 on the segment's y axis after alignment
            assert np.allclose(recs[sid].acc[seg][still].mean(axis=0), [0, 9.81, 0], atol=0.25)


def test_orientations_follow_the_alignment(result):
    rec = {r.subject_id: r for r in read_dataset(result.output)}["s0003"]
    al = json.loads(rec.attrs["alignment"])["lthigh"]
    assert al["method"] == "auto" and angle_errors_deg(np.array(al["r_mount"]), np.eye(3)).max() < 5.0
    r = rec.rmat["lthigh"]
    assert np.allclose(r[:150], np.eye(3), atol=0.1)  # standing: segment frame = lab frame
    assert rec.angle["lknee"].shape == (rec.n_frames, 3)


def test_noise_is_equalised_to_the_noisiest_dataset(result):
    rep = result.report
    tgt = rep["noise_target"]["hf_rms"]
    lab = rep["datasets"]["xsens_lab"]["noise"]["hf_rms"]
    gm = rep["datasets"]["gaitmap"]["noise"]["hf_rms"]
    assert all(tgt[c] == pytest.approx(max(lab[c], gm[c])) for c in tgt)
    assert rep["datasets"]["sim"]["noise"]["still_s"] > 0
    recs = {r.subject_id: r for r in read_dataset(result.output)}
    after = json.loads(recs["s0001"].attrs["noise_after"])["rshank"]
    before = json.loads(recs["s0001"].attrs["noise_before"])["rshank"]
    action = json.loads(recs["s0001"].attrs["noise_action"])["rshank"]
    for c in ("acc_x", "gyr_z"):
        if action[c] == "added":
            assert after[c] == pytest.approx(tgt[c], rel=0.25) and after[c] > before[c]


def test_quality_report_names_subject_check_and_frames(result):
    text = result.exclusions_path.read_text()
    assert text.startswith("quality checks: 4 subjects")
    q = result.report["quality"]
    assert q["n_subjects"] == 4
    for e in q["exclusions"]:
        assert e["subject"] in q["failed"] and e["check"] in ("angle_jump", "acc_jump", "gyr_max", "rom_extreme",
                                                              "long_gap")
    passed = {r.subject_id: r.attrs["checks_passed"] for r in read_dataset(result.output)}
    assert {s for s, ok in passed.items() if not ok} == set(q["failed"])


def test_cli_runs_and_drops_failed(inputs, tmp_path):
    parser = argparse.ArgumentParser(prog="imukin")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["harmonize", "--input-dirs", str(inputs / "xsens_lab"), str(inputs / "sim"),
                              "--out", str(tmp_path / "out"), "--fs", "200", "--quiet", "--drop-failed",
                              "--noise", "none"])
    with pytest.warns(UserWarning):
        assert args.func(args) == 0
    recs = read_dataset(tmp_path / "out" / "harmonized.h5")
    assert recs and all(r.fs == 200.0 and r.attrs["checks_passed"] for r in recs)
    assert json.loads(recs[0].attrs["noise_action"])["rthigh"] == "none"


def test_demo_layout_folder(tmp_path):
    poses = standing_then_walking(40, stand_s=2.0, walk_s=5.0)
    d = tmp_path / "demo" / "trial1"
    d.mkdir(parents=True)
    for k, seg in ((1, "rthigh"), (2, "rshank")):
        acc, gyr = mounted_imu(poses, seg, np.eye(3), 100.0)
        np.save(d / f"Right_seg{k}_acc.npy", acc)
        np.save(d / f"Right_seg{k}_gyr.npy", gyr)
    (d / "imukin.json").write_text(json.dumps({"joint": "knee", "fs": 100.0}))
    res = harmonize([tmp_path / "demo"], tmp_path / "out", HarmonizeConfig(fs=100.0))
    (rec,) = read_dataset(res.output)
    assert sorted(rec.acc) == ["rshank", "rthigh"]


def test_apdm_recordings_are_subjects(tmp_path):
    """Each APDM .h5 of an input folder is one subject; its sensors' labels name the segments, a sternum sensor
    is left out, and the input folder's imukin.json maps labels or device ids where given."""
    poses = standing_then_walking(41, stand_s=2.0, walk_s=5.0)
    thigh, shank = (mounted_imu(poses, seg, np.eye(3), 128.0) for seg in ("rthigh", "rshank"))
    (tmp_path / "opal").mkdir()
    write_apdm_h5(tmp_path / "opal" / "walk1.h5", {"Right Upper Leg": thigh, "Right Lower Leg": shank,
                                                  "Sternum": thigh}, 128.0)
    write_apdm_h5(tmp_path / "opal" / "walk2.h5", {"Right Upper Leg": thigh, "Right Lower Leg": shank}, 128.0)
    assert [s.label for s in scan_input_dir(tmp_path / "opal")] == ["walk1.h5", "walk2.h5"]
    res = harmonize([tmp_path / "opal"], tmp_path / "out", HarmonizeConfig(fs=100.0))
    recs = read_dataset(res.output)
    assert len(recs) == 2 and all(sorted(r.acc) == ["rshank", "rthigh"] for r in recs)
    assert recs[0].fs == 100.0 and len(recs[0].acc["rthigh"]) == pytest.approx(len(thigh[0]) * 100 / 128, abs=2)
    (tmp_path / "opal" / "imukin.json").write_text(json.dumps({"sensors": {"1300": "lthigh", "Right Lower Leg":
                                                                           "lshank"}}))
    res = harmonize([tmp_path / "opal"], tmp_path / "out2", HarmonizeConfig(fs=100.0))
    assert all(sorted(r.acc) == ["lshank", "lthigh"] for r in read_dataset(res.output))


def test_metamotion_folders_are_subjects(tmp_path):
    """A subject folder of MetaMotion exports: the device names give the segments, the sensors (which began 50 ms
    apart, each gyroscope sampled 2 ms after its accelerometer) come out on one clock."""
    poses = standing_then_walking(41, stand_s=2.0, walk_s=5.0)
    t0 = 1_678_974_670.0
    for i, (seg, name) in enumerate((("rthigh", "RightThigh"), ("rshank", "RightShank"))):
        acc, gyr = mounted_imu(poses, seg, np.eye(3), 100.0)
        t = t0 + 0.05 * i + np.arange(len(acc)) / 100.0
        write_metamotion(tmp_path / "mm" / "s1", name, f"C8E2A1F4B7{i:02X}", t, acc / G, t + 0.002,
                         np.rad2deg(gyr))
    assert [s.label for s in scan_input_dir(tmp_path / "mm")] == ["s1"]
    res = harmonize([tmp_path / "mm"], tmp_path / "out", HarmonizeConfig(fs=100.0))
    (rec,) = read_dataset(res.output)
    assert sorted(rec.acc) == ["rshank", "rthigh"] and rec.fs == 100.0
    assert len(rec.acc["rthigh"]) == len(rec.acc["rshank"]) == pytest.approx(len(acc) - 6, abs=2)


def test_a_motion_bids_dataset_gives_one_subject_per_recording(tmp_path):
    """A BIDS tree (sub-*/motion/*_motion.tsv): each recording is one subject, its tracked points its segments."""
    poses = standing_then_walking(41, stand_s=2.0, walk_s=5.0)
    sensors = {name: mounted_imu(poses, seg, np.eye(3), 100.0) for seg, name in (("rthigh", "right_thigh"),
                                                                                 ("rshank", "right_shank"))}
    for sub in ("sub-01", "sub-02"):
        write_motion_bids(tmp_path / "bids" / sub / "motion", f"{sub}_task-walk_tracksys-imu", sensors, 100.0)
    found = scan_input_dir(tmp_path / "bids")
    assert [s.label for s in found] == [f"sub-0{i}/motion/sub-0{i}_task-walk_tracksys-imu_motion.tsv" for i in (1, 2)]
    res = harmonize([tmp_path / "bids"], tmp_path / "out", HarmonizeConfig(fs=100.0))
    recs = read_dataset(res.output)
    assert len(recs) == 2 and all(sorted(r.acc) == ["rshank", "rthigh"] for r in recs)


def test_bad_input_leaves_nothing_behind(inputs, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ImukinError, match="does not exist"):
        harmonize([inputs / "gaitmap", tmp_path / "missing"], out)
    assert not out.exists()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    with pytest.raises(ImukinError, match="holds no reference-layout"):
        scan_input_dir(tmp_path / "junk")
    bad = tmp_path / "badman" / "s1"
    bad.mkdir(parents=True)
    (bad / "rthigh.csv").write_text("acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z\n0,9.8,0,0,0,0\n0,9.8,0,0,0,0\n")
    (bad / "imukin.json").write_text("{not json")
    out.mkdir()
    (out / "harmonized.h5").write_bytes(b"old")
    with pytest.raises(ImukinError, match="not valid JSON"):
        harmonize([tmp_path / "badman"], out)
    assert (out / "harmonized.h5").read_bytes() == b"old" and sorted(p.name for p in out.iterdir()) == ["harmonized.h5"]
    with pytest.raises(ImukinError, match="--fs"):
        HarmonizeConfig(fs=0.0)


def test_cut_gyroscope_peaks_are_put_back_and_recorded(tmp_path):
    """A shank gyroscope cut at +-150 deg/s: named in a warning and the provenance, and its cut peaks put back
    (nearer the whole signal than the cut one), unless repair_saturation is off."""
    poses = standing_then_walking(43, stand_s=2.0, walk_s=6.0)
    whole = {seg: mounted_imu(poses, seg, np.eye(3), 100.0) for seg in ("rthigh", "rshank")}
    lim = np.radians(150.0)
    cut = {"rthigh": whole["rthigh"], "rshank": (whole["rshank"][0], np.clip(whole["rshank"][1], -lim, lim))}
    assert np.abs(whole["rshank"][1]).max() > 1.5 * lim
    write_motion_bids(tmp_path / "bids" / "sub-01" / "motion", "sub-01_task-walk_tracksys-imu", cut, 100.0,
                      extra_point=False)
    gyr = {}
    for repair in (True, False):
        with pytest.warns(UserWarning, match="rshank: the gyroscope saturated"):
            res = harmonize([tmp_path / "bids"], tmp_path / f"out_{repair}",
                            HarmonizeConfig(fs=100.0, align="none", noise="none", repair_saturation=repair))
        (rec,) = read_dataset(res.output)
        sat = json.loads(rec.attrs["saturation"])
        assert sat["rthigh"] == {}
        assert sorted(h["level"] for h in sat["rshank"]["gyroscope"]) == pytest.approx([-lim, lim], rel=1e-6)
        assert ("gyroscope_runs_repaired" in sat["rshank"]) == repair
        gyr[repair] = rec.gyr["rshank"]
    n = min(len(g) for g in gyr.values())
    at = np.abs(gyr[False][:n]) >= lim * (1 - 1e-6)
    assert at.sum() > 20
    err = {k: np.sqrt(np.mean((g[:n][at] - whole["rshank"][1][:n][at]) ** 2)) for k, g in gyr.items()}
    assert err[True] < 0.5 * err[False], err
