"""Fine-tuning: freezing, subject-independent test, before/after report, a normal run folder, bad input."""
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from imukin.cli import main
from imukin.errors import ImukinError
from imukin.io.job_h5 import subject_ids
from imukin.models import create_model, load_checkpoint
from imukin.predictor import AnglePredictor
from imukin.simulation.sensor_errors import SensorErrorConfig
from imukin.training.dataset import split_subjects
from imukin.training.finetune import FinetuneConfig, choose_subjects, finetune, frozen_parameters
from imukin.training.trainer import TrainConfig, train

SHIFTED = SensorErrorConfig(mount_sd_deg=25.0, acc_noise_density=(0.01, 0.02), gyr_noise_density_dps=(0.05, 0.1))


@pytest.fixture(scope="module")
def setup(tmp_path_factory, corpus_factory):
    d = tmp_path_factory.mktemp("ft")
    source_data = corpus_factory("source.h5", n_subjects=5, seed=11, duration_s=5.0, fs=100.0)
    target = corpus_factory("shifted.h5", n_subjects=9, seed=12, duration_s=5.0, fs=100.0, errors=SHIFTED)
    cfg = TrainConfig(model="cnn", joint="knee", model_overrides={"n_layers": 2, "channels": 12, "kernel_size": 9},
                      steps=40, batch_size=8, window=100, warmup_steps=5, eval_every=10, patience=100, lr=3e-3)
    train(cfg, source_data, d / "source_run", progress=False)
    return d, d / "source_run", target


def test_freeze_modes_pick_the_right_parameters():
    cnn = create_model("cnn", n_layers=2, channels=8, kernel_size=5)
    assert frozen_parameters(cnn, "none") == ()
    enc = set(frozen_parameters(cnn, "encoder"))
    assert enc == {"blocks.0.conv.weight", "blocks.0.conv.bias", "blocks.1.conv.weight", "blocks.1.conv.bias"}
    head_only = set(frozen_parameters(cnn, "all-but-head"))
    assert head_only == {n for n, _ in cnn.named_parameters() if not n.startswith("head.")}
    tr = create_model("transformer", n_layers=1, d_model=16, n_heads=2, d_ff=16)
    enc = frozen_parameters(tr, "encoder")
    assert enc and not any(".ln" in n or n.startswith(("ln_f", "head")) for n in enc)
    lstm = create_model("lstm", hidden_size=8, n_layers=1)
    assert set(frozen_parameters(lstm, "encoder")) == set(frozen_parameters(lstm, "all-but-head"))
    with pytest.raises(ImukinError):
        frozen_parameters(cnn, "everything")


def test_finetune_is_subject_independent_and_reports_before_after(setup, capsys):
    d, source, target = setup
    out = d / "tuned"
    assert main(["finetune", "--run", str(source), "--data", str(target), "--out", str(out), "--freeze", "encoder",
                 "--subjects", "3", "--steps", "30", "--eval-every", "10", "--lr", "0.003", "--quiet",
                 "--keep-tuned"]) == 0  # the freeze mechanics are checked on the tuned weights
    printed = capsys.readouterr().out
    assert "before" in printed and "after" in printed
    report = json.loads((out / "finetune_report.json").read_text())
    subj = report["subjects"]
    test_split = split_subjects(subject_ids(target), seed=0)["test"]
    assert subj["test"] == test_split and len(subj["train"]) == 3
    assert set(subj["train"]).isdisjoint(subj["test"]) and set(subj["val"]).isdisjoint(subj["test"])
    assert set(subj["train"]).isdisjoint(subj["val"])
    for when in ("before", "after"):
        assert np.isfinite(report[when]["mean"]) and report[when]["mean"] > 0
    assert report["train"]["best_val_rmse_deg"] < float("inf")
    # frozen encoder: convolutions unchanged, head and batch norm adapted
    src, tuned = load_file(source / "model.safetensors"), load_file(out / "model.safetensors")
    assert np.array_equal(src["blocks.0.conv.weight"], tuned["blocks.0.conv.weight"])
    assert not np.array_equal(src["head.2.weight"], tuned["head.2.weight"])
    assert not np.array_equal(src["blocks.0.bn.weight"], tuned["blocks.0.bn.weight"])
    # a normal run: predict and evaluate accept it, and it records where it came from
    _, meta = load_checkpoint(out)
    assert meta["finetune"]["test_subjects"] == test_split and meta["finetune"]["freeze"] == "encoder"
    assert AnglePredictor(out).joint == "knee"
    # after recomputes from the saved weights
    model, _ = load_checkpoint(out)
    assert isinstance(model, torch.nn.Module)


def test_head_only_keeps_batch_norm_statistics(setup):
    d, source, target = setup
    two = tuple(split_subjects(subject_ids(target), seed=0)["train"][:2])
    report = finetune(source, target, d / "head", FinetuneConfig(freeze="all-but-head", subjects=two, steps=10,
                                                                 eval_every=5), progress=False)
    src, tuned = load_file(source / "model.safetensors"), load_file(d / "head" / "model.safetensors")
    for k in src:
        if not k.startswith("head."):
            assert np.array_equal(src[k], tuned[k]), k  # weights and running statistics untouched
    assert report["subjects"]["train"] == list(two)


def test_finetune_bad_input(setup, capsys):
    d, source, target = setup
    test_subject = split_subjects(subject_ids(target), seed=0)["test"][0]
    out = d / "never"
    assert main(["finetune", "--run", str(source), "--data", str(target), "--out", str(out),
                 "--subject-ids", test_subject, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "test subjects" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ImukinError, match="not in"):
        choose_subjects(target, FinetuneConfig(subjects=("s9999",)))
    with pytest.raises(ImukinError, match="more than"):
        choose_subjects(target, FinetuneConfig(n_subjects=50))
    with pytest.raises(ImukinError, match="hip model"):
        finetune(source, target, out, joint="hip", progress=False)
    with pytest.raises(ImukinError, match="model.json|does not exist"):
        finetune(d / "nothing", target, out, progress=False)
    with pytest.raises(ImukinError, match="freeze"):
        FinetuneConfig(freeze="half")
    assert not out.exists()


def test_finetune_takes_a_dataset_at_another_rate(setup, tmp_path, capsys, corpus_factory):
    """The source model runs at 100 Hz; a 200 Hz dataset is resampled to it, subject ids kept."""
    d, source, _ = setup
    target = corpus_factory("lab200.h5", n_subjects=6, seed=14, duration_s=4.0, fs=200.0)
    out = tmp_path / "tuned200"
    assert main(["finetune", "--run", str(source), "--data", str(target), "--out", str(out), "--subjects", "2",
                 "--steps", "10", "--eval-every", "5", "--quiet"]) == 0
    copy = out / ".data_100Hz.h5"
    assert subject_ids(copy) == subject_ids(target)
    from imukin.io.job_h5 import file_attrs, read_subject

    assert file_attrs(copy)["fs"] == 100.0 and len(read_subject(copy, "s0000").acc["rthigh"]) == 400
    report = json.loads((out / "finetune_report.json").read_text())
    assert np.isfinite(report["after"]["mean"])
