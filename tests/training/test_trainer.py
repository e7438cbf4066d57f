"""Training on a tiny simulated corpus: learning, determinism, resume after a kill, outputs."""
import csv
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from imukin.errors import ImukinError
from imukin.training import trainer as trainer_mod
from imukin.training.trainer import TrainConfig, train
from tests.conftest import TINY_CNN


@pytest.fixture(scope="module")
def corpus(corpus_factory):
    return corpus_factory(n_subjects=6, seed=5, duration_s=6.0, fs=100.0)


def tiny(**kw):
    base = dict(model="cnn", joint="knee", model_overrides=TINY_CNN, steps=40, batch_size=8, window=100,
                warmup_steps=5, eval_every=10, patience=100, lr=3e-3)
    base.update(kw)
    return TrainConfig(**base)


def test_schedule_warms_up_and_never_collapses():
    cfg = TrainConfig(steps=1000, warmup_steps=100, lr=1e-3, min_lr_ratio=0.02)
    lrs = np.array([cfg.lr_at(s) for s in range(1000)])
    assert lrs[0] < lrs[50] < lrs[99] <= 1e-3 + 1e-12
    assert np.all(np.diff(lrs[100:]) <= 1e-15) and lrs[-1] == pytest.approx(2e-5, rel=0.05)
    assert lrs.min() >= 1e-5  # the reference's decay reached 1e-6 by step 400


def test_train_learns_writes_and_is_deterministic(corpus, tmp_path):
    s1 = train(tiny(), corpus, tmp_path / "a", progress=False)
    s2 = train(tiny(), corpus, tmp_path / "b", progress=False)
    rows = list(csv.DictReader(open(tmp_path / "a" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [10, 20, 30, 40]
    val = [float(r["val_rmse_deg"]) for r in rows]
    assert min(val) < val[0]  # learning happens
    assert s1["best_val_rmse_deg"] == s2["best_val_rmse_deg"]
    wa, wb = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    meta = json.loads((tmp_path / "a" / "model.json").read_text())
    flat = json.dumps(meta)
    for key in ("normalization", "data_hash", "channels", "split", "imukin_version"):
        assert key in flat
    assert meta["model_name"] == "cnn" and meta["meta"]["joint"] == "knee" and meta["meta"]["fs"] == 100.0
    # a finished run is not trained again
    assert train(tiny(), corpus, tmp_path / "a", progress=False)["best_step"] == s1["best_step"]


def test_resume_after_kill_gives_the_same_model(corpus, tmp_path, monkeypatch):
    full = train(tiny(), corpus, tmp_path / "full", progress=False)
    real_save = trainer_mod._save_resume

    def killing_save(path, key, model, opt, rng, gen, state):
        real_save(path, key, model, opt, rng, gen, state)
        if state["step"] == 20:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer_mod, "_save_resume", killing_save)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(), corpus, tmp_path / "killed", progress=False)
    monkeypatch.setattr(trainer_mod, "_save_resume", real_save)
    assert not (tmp_path / "killed" / "train_summary.json").exists()
    resumed = train(tiny(), corpus, tmp_path / "killed", progress=False)
    assert resumed["best_val_rmse_deg"] == pytest.approx(full["best_val_rmse_deg"], abs=1e-6)
    wa, wb = load_file(tmp_path / "full" / "model.safetensors"), load_file(tmp_path / "killed" / "model.safetensors")
    assert all(np.allclose(wa[k], wb[k], atol=1e-6) for k in wa)
    rows = list(csv.DictReader(open(tmp_path / "killed" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [10, 20, 30, 40]


@pytest.mark.parametrize("model,overrides", [("lstm", {"hidden_size": 8, "n_layers": 1}),
                                             ("transformer", {"n_layers": 1, "d_model": 24, "n_heads": 2, "d_ff": 32})])
def test_other_models_train(corpus, tmp_path, model, overrides):
    s = train(tiny(model=model, model_overrides=overrides, steps=20), corpus, tmp_path / model, progress=False)
    assert np.isfinite(s["best_val_rmse_deg"]) and (tmp_path / model / "model.safetensors").exists()


def test_orientation_target_trains_and_keeps_joint_angles(corpus, tmp_path):
    import torch

    from imukin.conventions import joint_angles
    from imukin.io.job_h5 import read_subject
    from imukin.models.orientation import output_to_rotations
    from imukin.training.dataset import load_joint_data, record_orientation_target

    rec = read_subject(corpus, "s0000")
    y = record_orientation_target(rec, "knee", "left")  # (T, 12), mirrored and heading-free
    r = output_to_rotations(torch.from_numpy(y)[None]).numpy()[0]  # (T, 2, 3, 3)
    assert np.allclose(r[:, 0, :, 0][:, 2], 0, atol=1e-5)  # segment 1 x axis has no lateral heading component
    # relative orientation (so the joint angle of the sensor frames) is unchanged by heading removal
    direct = joint_angles(rec.rmat["lthigh"], rec.rmat["lshank"], "knee", "left")
    back = joint_angles(r[:, 0], r[:, 1], "knee", "right")  # mirrored left reads like a right leg
    assert np.allclose(direct, back, atol=1e-3)
    data = load_joint_data(corpus, "knee", splits=("train", "val"), target="orientation")
    s = train(tiny(target="orientation", steps=20), corpus, tmp_path / "ori", progress=False, data=data)
    assert np.isfinite(s["best_val_rmse_deg"]) and len(s["best_val_rmse_axes"]) == 2


def test_offset_weight_splits_the_loss_into_course_and_mean():
    from imukin.training.trainer import _loss

    g = torch.Generator().manual_seed(0)
    out, target = torch.randn(4, 50, 3, generator=g), torch.randn(4, 50, 3, generator=g)
    # weight 1 is the plain MSE
    assert torch.allclose(_loss(out, target, "angle", 1.0), torch.nn.functional.mse_loss(out, target))
    # a constant offset per window costs only offset_weight times its square
    shifted = target + torch.tensor([2.0, -1.0, 0.5])
    assert torch.allclose(_loss(shifted, target, "angle", 0.0), torch.tensor(0.0), atol=1e-6)
    assert torch.allclose(_loss(shifted, target, "angle", 0.1), torch.tensor(0.1 * (4 + 1 + 0.25) / 3))


def test_axis_weights_make_the_loss_a_weighted_mean_over_axes():
    from imukin.training.trainer import _loss

    target = torch.zeros(2, 10, 3)
    out = target + torch.tensor([1.0, 2.0, 3.0])[None, None]  # a constant error per axis
    # equal weights are the unweighted loss
    assert torch.allclose(_loss(out, target, "angle", 1.0, torch.ones(3)), _loss(out, target, "angle", 1.0))
    # weights (4, 1, 1): the first axis's squared error 1 counts four times
    assert torch.allclose(_loss(out, target, "angle", 1.0, torch.tensor([4.0, 1.0, 1.0])),
                          torch.tensor((4 * 1 + 4 + 9) / 6.0))


def test_degree_weighting_trains_and_bad_names_are_refused(corpus, tmp_path):
    s = train(tiny(steps=20, axis_weighting="degrees"), corpus, tmp_path / "deg", progress=False)
    assert np.isfinite(s["best_val_rmse_deg"]) and len(s["best_val_rmse_axes"]) == 3
    with pytest.raises(ImukinError, match="axis_weighting"):
        TrainConfig(axis_weighting="radians")


def test_offset_removed_validation_metric(corpus, tmp_path):
    raw = train(tiny(steps=20, offset_weight=0.1, val_metric="rmse"), corpus, tmp_path / "raw", progress=False)
    removed = train(tiny(steps=20, offset_weight=0.1, val_metric="rmse_offset_removed"), corpus,
                    tmp_path / "removed", progress=False)
    # the same training; removing each sequence's mean error can only lower the best RMSE
    assert removed["best_val_rmse_deg"] < raw["best_val_rmse_deg"]


def test_a_teacher_replaces_the_reference(corpus, tmp_path):
    """Distillation: a network trained with a teacher learns the teacher's outputs, not the reference. The
    teacher here says one constant angle; its student's angles barely move, where a network trained on the
    reference follows the gait."""
    from imukin.inference import predict_windows
    from imukin.models import load_checkpoint, save_checkpoint
    from imukin.normalization import Normalizer
    from imukin.training.dataset import load_joint_data

    data = load_joint_data(corpus, "knee", splits=("train", "val"), target="angle")
    plain = tmp_path / "plain"
    train(tiny(steps=60), corpus, plain, progress=False, data=data)
    model, meta = load_checkpoint(plain)
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].bias.copy_(torch.tensor([1.0, -0.5, 0.5]))  # z-scored: a constant pose
    save_checkpoint(tmp_path / "constant", model, meta)
    student = tmp_path / "student"
    train(tiny(steps=60, teacher=str(tmp_path / "constant")), corpus, student, progress=False, data=data)
    x, _ = next(data.val_pairs())  # (T, 16) raw channels of one validation leg

    def flexion_sd(run):
        net, m = load_checkpoint(run)
        norm = Normalizer.from_dict(m["normalization"])
        return float(norm.y_inverse(predict_windows(net.eval(), norm.x(x), window=100))[:, 0].std())  # degrees

    spread = {"plain": flexion_sd(plain), "student": flexion_sd(student)}
    assert spread["plain"] > 5.0 and spread["student"] < 0.3 * spread["plain"], spread
    assert "teacher" not in json.loads((plain / "train_summary.json").read_text())["key"]  # runs keep their keys
    assert "teacher_weights" in json.loads((student / "train_summary.json").read_text())["key"]
    with pytest.raises(ImukinError, match="teacher"):
        tiny(target="orientation", teacher=str(plain))
    with pytest.raises(ImukinError, match="hip angle model as teacher"):
        train(tiny(joint="hip", teacher=str(plain)), corpus, tmp_path / "hip", progress=False)


def test_delay_augmentation_is_part_of_the_run_and_checked(corpus, tmp_path):
    plain = train(tiny(steps=10, eval_every=10), corpus, tmp_path / "plain", progress=False)
    late = train(tiny(steps=10, eval_every=10, delay_max_ms=30.0), corpus, tmp_path / "late", progress=False)
    assert "delay_max_ms" not in plain["key"]  # runs without delays keep their keys
    assert json.loads(late["key"])["cfg"]["delay_max_ms"] == 30.0
    assert late["best_val_rmse_deg"] != plain["best_val_rmse_deg"]  # the delayed batches trained another network
    for bad in (dict(delay_max_ms=-1.0), dict(delay_max_ms=float("nan")), dict(delay_fraction=1.5)):
        with pytest.raises(ImukinError, match="delay"):
            tiny(**bad)
    from imukin.cli import main

    assert main(["train", "--joint", "knee", "--data", str(corpus), "--out", str(tmp_path / "cli"), "--steps", "2",
                 "--window", "100", "--batch-size", "4", "--set", *(f"{k}={v}" for k, v in TINY_CNN.items()),
                 "--delay-max-ms", "25", "--delay-fraction", "0.3", "--quiet"]) == 0
    cfg = json.loads(json.loads((tmp_path / "cli" / "train_summary.json").read_text())["key"])["cfg"]
    assert (cfg["delay_max_ms"], cfg["delay_fraction"]) == (25.0, 0.3)
