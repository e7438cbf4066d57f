"""imukin.predict and imukin predict RECORDING: every joint of a real recording, one set of numbers."""
import json
import shutil

import numpy as np
import pytest

import imukin
from imukin.cli import main
from imukin.errors import ImukinError
from imukin.simulation.corpus import CorpusConfig, simulate_corpus

JOINTS6 = ["rhip", "lhip", "rknee", "lknee", "rankle", "lankle"]


@pytest.fixture(scope="module")
def kuopio_prediction(tmp_path_factory):
    from pathlib import Path

    folder = Path(__file__).parent / "data" / "real" / "kuopio"
    out = tmp_path_factory.mktemp("kuopio_out")
    code = main(["predict", str(folder), "--fs", "100", "--out", str(out), "--quiet"])
    return folder, out, code


def test_cli_predicts_every_joint_of_a_real_recording(kuopio_prediction):
    folder, out, code = kuopio_prediction
    assert code == 0
    for j in JOINTS6:
        lines = (out / f"{j}.csv").read_text().splitlines()
        assert lines[0] == "time_s,flexion_deg,adduction_deg,rotation_deg" and len(lines) == 973
    assert (out / "overview.png").stat().st_size > 10_000 and (out / "zoom.png").stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "pelvis" in report and "100 Hz" in report and "mounting" in report


def test_python_api_gives_identical_numbers(kuopio_prediction):
    folder, out, _ = kuopio_prediction
    pred = imukin.predict(imukin.load_recording(folder, fs=100))
    assert pred.joints == JOINTS6
    for j in JOINTS6:
        csv = np.loadtxt(out / f"{j}.csv", delimiter=",", skiprows=1)
        assert np.array_equal(np.round(pred.angles[j], 4), np.round(csv[:, 1:], 4))
    # walking: knee flexion swings over tens of degrees on both legs, hips flex and extend
    for side in "rl":
        knee = pred.angles[f"{side}knee"][:, 0]
        assert np.ptp(knee) > 40 and np.ptp(pred.angles[f"{side}hip"][:, 0]) > 25
    cols = pred.as_columns()
    assert list(cols)[:2] == ["time_s", "rhip_flexion_deg"] and len(cols) == 1 + 6 * 3


def test_mot_loads_in_opensim(kuopio_prediction):
    opensim = pytest.importorskip("opensim")
    _, out, _ = kuopio_prediction
    table = opensim.TimeSeriesTable(str(out / "kuopio.mot"))
    labels = list(table.getColumnLabels())
    for name in ("hip_flexion_r", "hip_adduction_r", "hip_rotation_r", "knee_angle_r", "ankle_angle_r",
                 "subtalar_angle_r", "hip_flexion_l", "knee_angle_l", "ankle_angle_l"):
        assert name in labels
    assert table.getNumRows() == 972
    knee = table.getDependentColumn("knee_angle_r").to_numpy()
    csv = np.loadtxt(out / "rknee.csv", delimiter=",", skiprows=1)
    assert np.allclose(knee, -csv[:, 1], atol=1e-3)  # gait2392: knee flexion is negative
    assert opensim.Storage(str(out / "kuopio.mot")).isInDegrees()


@pytest.fixture(scope="module")
def walker():
    cfg = CorpusConfig(activity="walking", n_subjects=1, seed=77, duration_s=8.0, fs=100.0)
    return next(iter(simulate_corpus(cfg, workers=1, progress=False)))


def test_arrays_need_a_rate_and_nan_gaps_stay_local(walker):
    signals = {s: (walker.acc[s], walker.gyr[s]) for s in ("rthigh", "rshank")}
    with pytest.raises(ImukinError, match="fs="):
        imukin.predict(signals)
    whole = imukin.predict(signals, fs=100, align="none").angles["rknee"]
    assert np.all(np.isfinite(whole))
    gappy = {s: (a.copy(), g.copy()) for s, (a, g) in signals.items()}
    gappy["rshank"][0][300:320] = np.nan  # 0.2 s: splits the recording
    gappy["rthigh"][1][500:505] = np.nan  # 0.05 s: filled
    out = imukin.predict(gappy, fs=100, align="none")
    knee = out.angles["rknee"]
    assert np.isnan(knee[300:320]).all() and np.isfinite(np.delete(knee, np.s_[300:320], axis=0)).all()
    assert out.gaps == [(300, 320)] and any("interpolated" in w for w in out.warnings)
    # away from the gap's edges the pieces agree with the whole recording
    assert np.abs(knee[100:250, 0] - whole[100:250, 0]).max() < 1.0


def test_no_joint_possible_names_found_and_missing(walker):
    signals = {s: (walker.acc[s], walker.gyr[s]) for s in ("pelvis", "rshank")}
    with pytest.raises(ImukinError, match="found pelvis, rshank, missing .*rthigh"):
        imukin.predict(signals, fs=100)


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # option parsing errors exit from argparse, with the same one line
        code = e.code
    return code, capsys.readouterr().err.strip()


def one_line(code, err, *words):
    assert code == 2, err
    assert err.startswith("imukin: error: ") and "\n" not in err and "Traceback" not in err
    for w in words:
        assert w in err, err


def test_cli_bad_input_one_line_nothing_written(tmp_path, capsys, data_dir):
    kuopio = data_dir / "real" / "kuopio"
    out = tmp_path / "out"
    one_line(*run(capsys, "predict", kuopio, "--out", out), "--fs")
    for fs in ("nan", "inf", "0", "-5", "5000"):
        one_line(*run(capsys, "predict", kuopio, "--fs", fs, "--out", out), "fs")
    one_line(*run(capsys, "predict", tmp_path / "nowhere", "--fs", "100", "--out", out), "nowhere")
    (tmp_path / "map.json").write_text('{"elbow": "x.txt"}')
    one_line(*run(capsys, "predict", kuopio, "--fs", "100", "--sensors", tmp_path / "map.json", "--out", out),
             "elbow")
    assert not out.exists()
    partial = tmp_path / "partial"
    shutil.copytree(kuopio, partial)
    (partial / "l_comf_01-000_00B42DAE.txt").unlink()
    one_line(*run(capsys, "predict", partial, "--fs", "100", "--out", out), "rshank")
    assert not out.exists()


def test_calibration_on_the_standing_start(data_dir, tmp_path, walker):
    rec = imukin.load_recording(data_dir / "real" / "kuopio", fs=100)
    plain = imukin.predict(rec, joints=["knee"])
    cal = imukin.predict(rec, joints=["knee"], calibrate="standing")
    a, b = cal.calibration["rknee"]["frames"]
    assert a == 0 and b > 100  # the trial starts with ~1.8 s of standing
    assert cal.calibration["rknee"]["carried"] == [b, rec.n_frames]  # the whole walk is within CARRY_S
    # one constant per joint: the course is the network's
    diff = cal.angles["rknee"] - plain.angles["rknee"]
    assert np.allclose(diff, diff[0], atol=1e-9)
    assert abs(cal.angles["rknee"][a:b, 0].mean()) < 5  # near the pose, where the filters carried it from
    pose = tmp_path / "pose.json"
    pose.write_text('{"rknee": [5, 0, 0]}')
    posed = imukin.predict(rec, joints=["knee"], calibrate=pose)
    assert abs((posed.angles["rknee"] - cal.angles["rknee"])[:, 0].mean() - 5.0) < 1.0
    assert np.array_equal(posed.angles["lknee"], cal.angles["lknee"])
    signals = {s: (walker.acc[s], walker.gyr[s]) for s in ("rthigh", "rshank")}
    with pytest.raises(ImukinError, match="no quiet standing"):
        imukin.predict(signals, fs=100, align="none", calibrate="standing")
    with pytest.raises(ImukinError, match="joint"):
        imukin.predict(rec, joints=["knee"], calibrate={"elbow": [0, 0, 0]})


def test_still_bouts_find_the_standing_start_and_nothing_in_a_walk(data_dir, walker):
    from imukin.api import still_bouts
    from imukin.io.recording import Recording

    rec = imukin.load_recording(data_dir / "real" / "kuopio", fs=100)
    runs, still = still_bouts(rec, rec.acc)
    assert runs[0][0] == 0 and runs[0][1] > 100  # ~1.8 s of standing first, every sensor still
    assert still.shape == (rec.n_frames,) and still[: runs[0][1]].all() and not still[runs[0][1]]
    moving = Recording.from_arrays({s: (walker.acc[s], walker.gyr[s]) for s in ("rthigh", "rshank")}, fs=100)
    assert still_bouts(moving, ["rthigh", "rshank"])[0] == []  # a walk throughout: no standing


def test_cli_reports_the_calibration(data_dir, tmp_path):
    out = tmp_path / "cal"
    assert main(["predict", str(data_dir / "real" / "kuopio"), "--fs", "100", "--joints", "knee", "--calibrate",
                 "standing", "--no-plots", "--quiet", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "## Calibration" in report and "carried into the motion over frames" in report
    offsets = json.loads((out / "report.json").read_text())["calibration"]
    assert set(offsets) == {"rknee", "lknee"} and offsets["rknee"]["carried"][0] == offsets["rknee"]["frames"][1]


def test_a_known_pose_is_carried_into_the_walk():
    """Simulated walkers who hold their first pose for 2 s, then walk: calibrating on that pose gives the
    absolute knee and hip flexion within a few degrees. The networks learnt no standing: their own angles
    in it, made to equal the pose, would set the offset far worse."""
    from imukin.simulation.sensor_errors import SensorErrorConfig

    still = SensorErrorConfig(gyr_bias_sd_dps=0.0, acc_bias_sd=0.0, gyr_bias_walk_dps=0.0, acc_bias_walk=0.0)
    n0, errs = 200, []  # a still prefix has no way to show a bias, so the walk has none either
    for seed in (1000, 1001):
        w = next(iter(simulate_corpus(CorpusConfig(n_subjects=1, seed=seed, duration_s=10.0, fs=100.0,
                                                   errors=still), workers=1, progress=False)))
        signals = {}
        for s in ("pelvis", "rthigh", "rshank"):
            up = w.rmat[s][0].T @ np.array([0.0, 9.81, 0.0])  # a still sensor reads +g up, in its own frame
            signals[s] = (np.concatenate([np.tile(up, (n0, 1)), w.acc[s]]),
                          np.concatenate([np.zeros((n0, 3)), w.gyr[s]]))
        pose = {j: w.angle[j][0].tolist() for j in ("rhip", "rknee")}
        plain = imukin.predict(signals, fs=100, align="none", sides=["right"]).angles
        cal = imukin.predict(signals, fs=100, align="none", sides=["right"], calibrate=pose)
        for j in ("rhip", "rknee"):
            a, b = cal.calibration[j]["frames"]
            assert a == 0 and abs(b - n0) < 30 and cal.calibration[j]["carried"][0] == b
            in_standing = plain[j] + (np.array(pose[j]) - plain[j][a:b].mean(axis=0))
            rmse = [np.sqrt(np.mean((x[n0:, 0] - w.angle[j][:, 0]) ** 2)) for x in (cal.angles[j], in_standing)]
            errs.append(rmse)
    errs = np.array(errs)  # (4, 2): carried, networks in the standing
    assert errs[:, 0].max() < 3.0 and errs[:, 0].mean() < 0.5 * errs[:, 1].mean(), errs


def test_known_mounting_from_a_file(walker, tmp_path):
    """A sensor turned 90 deg about its long axis, with that mounting given: the same angles as unturned."""
    from scipy.spatial.transform import Rotation

    r = Rotation.from_euler("ZXY", [0, 0, 90], degrees=True).as_matrix()  # v_segment = r @ v_sensor
    turned = {"rthigh": (walker.acc["rthigh"] @ r, walker.gyr["rthigh"] @ r),
              "rshank": (walker.acc["rshank"], walker.gyr["rshank"])}
    plain = imukin.predict({s: (walker.acc[s], walker.gyr[s]) for s in ("rthigh", "rshank")}, fs=100, align="none")
    f = tmp_path / "mounting.json"
    f.write_text('{"rthigh": {"euler_zxy_deg": [0, 0, 90]}}')
    given = imukin.predict(turned, fs=100, align="none", mounting=f)
    assert np.allclose(given.angles["rknee"], plain.angles["rknee"], atol=1e-4)
    assert given.mounting["rthigh"]["method"] == "manual"
    with pytest.raises(ImukinError, match="mounting file .* does not exist"):
        imukin.predict(turned, fs=100, mounting=tmp_path / "none.json")


def test_joints_share_inputs_and_get_the_numbers_of_their_own_model(walker):
    """predict resamples each segment once for every joint that uses it; each joint still gets exactly
    what its model gives on its own two sensors, also when a long gap splits the recording."""
    from imukin.conventions import joint_name, joint_segments
    from imukin.predictor import AnglePredictor

    signals = {s: (walker.acc[s].copy(), walker.gyr[s].copy()) for s in walker.acc}
    signals["lshank"][1][400:430] = np.nan  # 0.3 s: a long gap, two stretches
    out = imukin.predict(signals, fs=100, align="none")
    assert out.joints == JOINTS6
    assert {"align", "load_models", "resample", "models"} <= set(out.timings) and out.timings["models"] > 0
    n = len(walker.acc["pelvis"])
    for joint in ("hip", "knee", "ankle"):
        model = AnglePredictor.pretrained(joint, "walking")
        for side in ("right", "left"):
            prox, dist = joint_segments(joint, side)
            want = np.full((n, 3), np.nan)
            for s, e in ((0, 400), (430, n)):
                want[s:e] = model.predict(signals[prox][0][s:e], signals[prox][1][s:e], signals[dist][0][s:e],
                                          signals[dist][1][s:e], side=side, fs=100)
            assert np.array_equal(out.angles[joint_name(joint, side)], want, equal_nan=True)


def test_refined_joints_get_the_numbers_of_their_own_refined_predictor(walker):
    """With refine, the shared-input path gives what the refined predictor gives on its own."""
    from imukin.fusion.refine import pretrained_refined

    signals = {s: (walker.acc[s], walker.gyr[s]) for s in ("lthigh", "lshank")}
    out = imukin.predict(signals, fs=100, align="none", refine=True)
    want = pretrained_refined("knee", "walking", "cnn").predict(*signals["lthigh"], *signals["lshank"], side="left",
                                                                 fs=100)
    assert out.joints == ["lknee"]
    assert np.array_equal(out.angles["lknee"], want)


def test_both_networks_through_the_shared_inputs_give_their_mean(walker):
    """model="both": each joint gets the mean of what the shipped cnn and transformer give on their own."""
    from imukin.predictor import AnglePredictor

    signals = {s: (walker.acc[s], walker.gyr[s]) for s in ("rthigh", "rshank")}
    out = imukin.predict(signals, fs=100, align="none", model="both")
    nets = [AnglePredictor.pretrained("knee", "walking", m) for m in ("cnn", "transformer")]
    want = np.mean([p.predict(*signals["rthigh"], *signals["rshank"], side="right", fs=100) for p in nets], axis=0)
    assert out.joints == ["rknee"] and out.models["rknee"] == "walking_knee_both"
    assert np.allclose(out.angles["rknee"], want, atol=1e-9)


def test_real_recording_cut_to_its_walking_is_aligned_from_gait_alone(data_dir):
    """The Kuopio trial without its standing start and end: every mounting comes from the gait (the feet from
    their own travel, the legs made to agree along and across), confidently and without warnings, and every
    joint's flexion stays close to that of the whole trial aligned with its standing period (a sensor turned
    the wrong way round would be off by tens of degrees; benchmarks/alignment.py prints the figures)."""
    import dataclasses

    rec = imukin.load_recording(data_dir / "real" / "kuopio", fs=100)
    whole = imukin.predict(rec)
    cut = dataclasses.replace(rec, acc={k: v[250:852] for k, v in rec.acc.items()},
                              gyr={k: v[250:852] for k, v in rec.gyr.items()})
    out = imukin.predict(cut)
    assert out.warnings == [] and set(out.angles) == set(JOINTS6)
    rules = {s: m["sign_rule"] for s, m in out.mounting.items()}
    assert rules["rfoot"].startswith("gait+zupt") and rules["lfoot"].startswith("gait+zupt")
    assert all(rules[s].endswith("+leg") for s in ("rthigh", "lthigh", "rshank", "lshank")), rules
    assert all(m["confidence"] > 0.9 for m in out.mounting.values())
    for j in JOINTS6:
        assert np.abs(out.angles[j][:, 0] - whole.angles[j][250:852, 0]).mean() < 2.0, j


def test_a_seated_start_is_neither_the_standing_alignment_nor_the_calibration_pose(data_dir):
    """The Kuopio trial with 2 s of sitting and a rise put before it (thighs pitched 85 deg, the pelvis
    tilted back 20): the thighs' mountings and `--calibrate standing` take the standing after the rise, so
    the knees come out as from the trial itself; sitting is still, but not upright standing."""
    import dataclasses

    from imukin.preprocessing.align import align_segment
    from tests.preprocessing.motion import seated_first

    rec = imukin.load_recording(data_dir / "real" / "kuopio", fs=100)
    whole = imukin.predict(rec, joints=["knee"], calibrate="standing")
    pitch = {"pelvis": -20.0, "rthigh": 85.0, "lthigh": 85.0}
    acc, gyr = {}, {}
    for seg in rec.segments:
        r = align_segment(rec.acc[seg], rec.gyr[seg], 100.0, seg).r_mount
        acc[seg], gyr[seg], n_pre = seated_first(rec.acc[seg], rec.gyr[seg], r, pitch.get(seg, 0.0), 100.0)
    out = imukin.predict(dataclasses.replace(rec, acc=acc, gyr=gyr), joints=["knee"], calibrate="standing")
    for seg in ("rthigh", "lthigh"):
        assert out.mounting[seg]["still_frames"][0] >= n_pre - 10, out.mounting[seg]
    for j in ("rknee", "lknee"):
        assert out.calibration[j]["frames"][0] >= n_pre - 10
        assert np.abs(out.angles[j][n_pre:, 0] - whole.angles[j][:, 0]).mean() < 1.0, j


def _jumped(acc, start=55, land=80, amp=60.0):
    """A sensor's specific force with a jump drawn in: near 0 in flight (frames start-land), a landing spike."""
    t = np.arange(len(acc)) / 100.0
    out = acc.copy()
    out[start:land] = 0.3 * np.random.default_rng(start).normal(size=(land - start, 3))
    return out + np.exp(-0.5 * ((t - land / 100.0 - 0.02) / 0.01) ** 2)[:, None] * np.array([0.3, 1.0, 0.1]) * amp


def test_sensors_not_sampled_together_are_synchronised_by_a_jump(walker):
    """The shank sensor recorded 40 ms later than the thigh's: without sync the knee is off by several degrees;
    with sync="impact" the jump puts it back, the offset and the frames kept are reported."""
    signals = {s: (_jumped(walker.acc[s]), walker.gyr[s]) for s in ("rthigh", "rshank")}
    late = dict(signals, rshank=tuple(x[4:] for x in signals["rshank"]))  # began 40 ms into the motion: shorter
    truth = walker.angle["rknee"][:, 0]

    def error(angles, frames=(0, None)):
        d = angles[150:-50, 0] - truth[frames[0]:frames[1]][150:-50]
        return float(np.sqrt(np.mean((d - d.mean()) ** 2)))

    with pytest.raises(ImukinError, match="unequal length"):
        imukin.predict(late, fs=100, align="none")
    plain = imukin.predict(dict(late, rthigh=tuple(x[:-4] for x in late["rthigh"])), fs=100, align="none")
    synced = imukin.predict(late, fs=100, align="none", sync="impact")
    assert plain.sync == {} and synced.sync["reference"] == "rthigh"
    assert abs(synced.sync["sensors"]["rshank"]["offset_s"] + 0.040) < 0.005  # its events came 40 ms early
    a, b = synced.sync["frames"]
    assert len(synced.angles["rknee"]) == b - a and any("synchronised by the impact" in w for w in synced.warnings)
    assert error(synced.angles["rknee"], (a, b)) < 0.35 * error(plain.angles["rknee"], (0, len(truth) - 4))
    with pytest.raises(ImukinError, match="sync"):
        imukin.predict(late, fs=100, align="none", sync="taps")


def test_cli_synchronises_and_reports_it(walker, tmp_path):
    folder = tmp_path / "unsynced"
    folder.mkdir()
    t = np.arange(len(walker.acc["rthigh"])) / 100.0
    for seg, k in (("rthigh", 0), ("rshank", 4)):  # the shank's file begins 40 ms into the motion
        a, g = _jumped(walker.acc[seg])[k:], walker.gyr[seg][k:]
        np.savetxt(folder / f"{seg}.csv", np.column_stack([t[:len(a)], a, g]), delimiter=",", comments="",
                   header="time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z")
    out = tmp_path / "angles"
    assert main(["predict", str(folder), "--sync", "impact", "--align", "none", "--quiet", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert abs(report["sync"]["sensors"]["rshank"]["offset_s"] + 0.040) < 0.005
    assert 0.7 < report["sync"]["impact_s"] < 0.85  # the landing drawn in (flight ends at 0.80 s), thigh timeline
    assert (out / "sync.png").stat().st_size > 10_000
    assert report["settings"]["sync"] == "impact" and "## Synchronisation" in (out / "report.md").read_text()
