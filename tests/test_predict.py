"""imukin evaluate and imukin predict end to end on a tiny trained run."""
import json

import numpy as np
import pytest

from imukin.cli import main
from imukin.io.job_h5 import read_subject
from imukin.simulation.corpus import CorpusConfig, simulate_corpus
from imukin.training.dataset import split_subjects
from imukin.training.trainer import TrainConfig, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus_factory):
    d = tmp_path_factory.mktemp("run")
    data = corpus_factory(n_subjects=5, seed=9, duration_s=6.0)
    tc = TrainConfig(model="cnn", joint="knee", steps=30, batch_size=8, window=200, eval_every=10, warmup_steps=5,
                     model_overrides={"n_layers": 2, "channels": 16, "kernel_size": 21})
    train(tc, data, d / "run", progress=False)
    return data, d / "run"


def test_evaluate_writes_report(trained, tmp_path, capsys):
    data, run = trained
    assert main(["evaluate", "--run", str(run), "--run", str(run), "--data", str(data), "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics) == 2
    m = next(iter(metrics.values()))
    test_ids = split_subjects([f"s{i:04d}" for i in range(5)])["test"]
    assert [p["subject"] for p in m["per_subject"]] == test_ids
    assert m["knee"]["flexion"]["rmse"]["mean"] > 0
    assert (tmp_path / "report.md").exists() and (tmp_path / "rmse_by_axis.png").stat().st_size > 1000
    assert list(tmp_path.glob("traces_*.png"))
    assert "flexion" in capsys.readouterr().out


def write_demo_folder(folder, rec, fs_factor=1, deg=False, in_g=False):
    folder.mkdir(exist_ok=True)
    for side, prefix in (("Right", "r"), ("Left", "l")):
        for k, seg in ((1, f"{prefix}thigh"), (2, f"{prefix}shank")):
            acc = rec.acc[seg][::fs_factor] / (9.81 if in_g else 1)
            gyr = np.rad2deg(rec.gyr[seg][::fs_factor]) if deg else rec.gyr[seg][::fs_factor]
            np.save(folder / f"{side}_seg{k}_acc.npy", acc)
            np.save(folder / f"{side}_seg{k}_gyr.npy", gyr)
        np.save(folder / f"{side}_mocap_angle.npy", rec.angle[f"{prefix}knee"][::fs_factor])


def test_predict_any_rate_both_legs(trained, tmp_path, capsys):
    data, run = trained
    rec = read_subject(data, "s0001")
    write_demo_folder(tmp_path, rec, fs_factor=2)  # 100 Hz recording, model at 200 Hz
    code = main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--run", str(run), "--fs", "100"])
    assert code == 0
    for side in ("right", "left"):
        arr = np.load(tmp_path / f"{side}_knee_angles.npy")
        assert arr.shape == (len(rec.angle["rknee"][::2]), 3) and np.all(np.isfinite(arr))
        lines = (tmp_path / f"{side}_knee_angles.csv").read_text().splitlines()
        assert lines[0] == "time_s,flexion_deg,adduction_deg,rotation_deg" and len(lines) == len(arr) + 1
        assert float(lines[2].split(",")[0]) == pytest.approx(0.01)
        assert (tmp_path / f"{side}_knee_angles.png").exists()
    metrics = json.loads((tmp_path / "knee_metrics.json").read_text())
    assert set(metrics) == {"right", "left"} and metrics["left"]["flexion"]["rmse"] > 0


def test_predict_refuses_wrong_units(trained, tmp_path, capsys):
    data, run = trained
    rec = read_subject(data, "s0001")
    write_demo_folder(tmp_path, rec, deg=True)
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--run", str(run), "--fs", "200"]) == 2
    assert "deg/s" in capsys.readouterr().err
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--run", str(run),
                 "--gyr-units", "deg/s", "--fs", "200"]) == 0
    write_demo_folder(tmp_path, rec, in_g=True)
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--run", str(run), "--fs", "200"]) == 2
    assert "looks like g" in capsys.readouterr().err


def test_predict_refuses_nan_and_wrong_joint(trained, tmp_path, capsys):
    data, run = trained
    rec = read_subject(data, "s0001")
    write_demo_folder(tmp_path, rec)
    acc = np.load(tmp_path / "Right_seg1_acc.npy")
    acc[100:110] = np.nan
    np.save(tmp_path / "Right_seg1_acc.npy", acc)
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert "NaN" in err and "100" in err and "109" in err
    assert not list(tmp_path.glob("*_angles.*"))
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "hip", "--run", str(run), "--side", "left",
                 "--fs", "200"]) == 2
    assert "knee model" in capsys.readouterr().err


def test_predict_older_form_needs_a_rate(trained, tmp_path, capsys):
    """.npy files carry no time stamps: no silent default rate."""
    data, run = trained
    write_demo_folder(tmp_path, read_subject(data, "s0001"))
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--run", str(run)]) == 2
    err = capsys.readouterr().err
    assert "--fs" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*_angles.*"))


@pytest.fixture(scope="module")
def ori_run(trained, tmp_path_factory):
    data, _ = trained
    d = tmp_path_factory.mktemp("ori")
    tc = TrainConfig(model="cnn", joint="knee", target="orientation", steps=20, batch_size=8, window=200,
                     eval_every=10, warmup_steps=5, model_overrides={"n_layers": 2, "channels": 16, "kernel_size": 21})
    train(tc, data, d / "ori", progress=False)
    _, run = trained
    assert main(["fit-blend", "--run", str(run), "--ori-run", str(d / "ori"), "--data", str(data)]) == 0
    assert (d / "ori" / "blend.json").exists()
    return d / "ori"


def test_evaluate_methods_side_by_side(trained, ori_run, tmp_path, capsys):
    data, run = trained
    code = main(["evaluate", "--run", str(run), "--data", str(data), "--out", str(tmp_path),
                 "--method", "network", "refined", "classical", "--ori-run", str(ori_run)])
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics) == {"cnn", "cnn+refined", "classical (VQF)"}
    for m in metrics.values():
        assert np.isfinite(m["knee"]["flexion"]["rmse"]["mean"])
    assert main(["evaluate", "--run", str(run), "--data", str(data), "--out", str(tmp_path / "x"),
                 "--method", "refined"]) == 2
    assert "--ori-run" in capsys.readouterr().err


def test_predict_refine(trained, ori_run, tmp_path, capsys):
    data, run = trained
    rec = read_subject(data, "s0001")
    write_demo_folder(tmp_path, rec)
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--run", str(run), "--refine",
                 "--fs", "200"]) == 2
    assert "--ori-run" in capsys.readouterr().err
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--run", str(run), "--refine",
                 "--ori-run", str(ori_run), "--side", "right", "--fs", "200"]) == 0
    arr = np.load(tmp_path / "right_knee_angles.npy")
    assert arr.shape == rec.angle["rknee"].shape and np.all(np.isfinite(arr))


def test_predict_both_networks_older_form(trained, ori_run, tmp_path, capsys):
    """--model both: the mean of the shipped networks' angles; with --ori-run (one network to refine) refused."""
    from imukin.fusion.refine import pretrained_predictor

    data, _ = trained
    rec = read_subject(data, "s0001")
    write_demo_folder(tmp_path, rec)
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--model", "both", "--refine",
                 "--ori-run", str(ori_run), "--side", "right", "--fs", "200"]) == 2
    err = capsys.readouterr().err
    assert "--model cnn" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*_angles.*"))
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--model", "both", "--side", "right",
                 "--fs", "200", "--quiet"]) == 0
    want = pretrained_predictor("knee", "walking", "both").predict(*rec.joint_inputs("knee", "right"), side="right",
                                                                    fs=200)
    assert np.allclose(np.load(tmp_path / "right_knee_angles.npy"), want, atol=1e-5)


def test_predict_refine_uses_shipped_models(tmp_path, capsys):
    """Without --run, --refine runs the shipped angle model, orientation model and blend."""
    from imukin.fusion.refine import pretrained_refined

    cfg = CorpusConfig(activity="walking", n_subjects=1, seed=31, duration_s=8.0)
    rec = next(iter(simulate_corpus(cfg, workers=1, progress=False)))
    write_demo_folder(tmp_path, rec)
    assert main(["predict", "--root-path", str(tmp_path), "--joint", "knee", "--activity", "walking",
                 "--refine", "--side", "right", "--fs", "200"]) == 0
    arr = np.load(tmp_path / "right_knee_angles.npy")
    assert arr.shape == rec.angle["rknee"].shape and np.all(np.isfinite(arr))
    ref = rec.angle["rknee"]
    # the refined knee flexion follows the reference's course (offset removed) within a few degrees
    err = arr[:, 0] - ref[:, 0]
    assert np.sqrt(np.mean((err - err.mean()) ** 2)) < 5.0
    # every shipped blend belongs to the shipped weights (a stale blend is refused on load)
    p = pretrained_refined("knee", "walking", "transformer")
    assert p.blend["joint"] == "knee" and len(p.blend["w"]) == 3


def test_predict_older_form_puts_back_cut_gyroscope_peaks(trained, tmp_path, capsys):
    """The older form names a saturated sensor and repairs it as imukin predict RECORDING does, unless --no-repair."""
    data, run = trained
    rec = read_subject(data, "s0001")
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    write_demo_folder(whole, rec)
    write_demo_folder(cut, rec)
    gyr = np.load(cut / "Right_seg2_gyr.npy")  # (T, 3) right shank, rad/s
    lim = 0.6 * np.abs(gyr).max()  # a range the walking shank exceeds at every swing
    np.save(cut / "Right_seg2_gyr.npy", np.clip(gyr, -lim, lim))
    args = ["predict", "--joint", "knee", "--side", "right", "--run", str(run), "--fs", "200"]
    assert main([*args, "--root-path", str(whole)]) == 0
    assert "saturated" not in capsys.readouterr().out
    flex = {}
    for flags, out in (((), "repaired"), (("--no-repair",), "kept")):
        assert main([*args, "--root-path", str(cut), "--out", str(tmp_path / out), *flags]) == 0
        printed = capsys.readouterr().out
        assert "rshank: the gyroscope saturated" in printed
        assert ("cut gyroscope peaks put back" in printed) == (out == "repaired")
        flex[out] = np.load(tmp_path / out / "right_knee_angles.npy")[:, 0]
    truth = np.load(whole / "right_knee_angles.npy")[:, 0]
    err = {k: float(np.sqrt(np.mean((v - truth) ** 2))) for k, v in flex.items()}
    assert err["repaired"] < 0.5 * err["kept"], err
