"""Ensembles: the mean of their members, built only from runs of one recipe, and taken by every consumer."""
import json

import numpy as np
import pytest
import torch

from imukin.cli import main
from imukin.conventions import CHANNELS, N_CHANNELS
from imukin.errors import ImukinError
from imukin.models import build_ensemble, create_model, load_checkpoint, save_checkpoint

SMALL = dict(n_layers=2, channels=8, kernel_size=5)
NORM = {"x_mean": np.linspace(-1, 1, 16).tolist(), "x_std": np.linspace(0.5, 2, 16).tolist(),
        "y_mean": [10.0, -2.0, 3.0], "y_std": [20.0, 3.0, 5.0]}


def _run(folder, seed, name="cnn", norm=NORM, **options):
    """A trained-run folder of a small model drawn with ``seed`` (BatchNorm statistics moved off their start)."""
    torch.manual_seed(seed)
    model = create_model(name, **{**SMALL, **options})
    model.train()(torch.randn(4, 60, N_CHANNELS))
    meta = {"normalization": norm, "fs": 100.0, "window": 200, "joint": "knee", "activity": "walking",
            "target": model.config.target, "channels": list(CHANNELS), "train_config": {"seed": seed},
            "val_rmse_deg": {"flexion": 1.0 + seed}}
    save_checkpoint(folder, model.eval(), meta)
    return folder


def test_output_is_the_mean_of_the_members(tmp_path):
    runs = [_run(tmp_path / f"s{i}", i) for i in range(3)]
    out = build_ensemble(runs, tmp_path / "ens")
    ens, meta = load_checkpoint(out)
    members = [load_checkpoint(r)[0] for r in runs]
    x = torch.randn(2, 90, N_CHANNELS)
    with torch.no_grad():
        expected = sum(m(x) for m in members) / 3
        single = members[0](x)
        got = ens(x)
    assert torch.allclose(got, expected, atol=1e-6)
    assert not torch.allclose(got, single, atol=1e-3)  # the members really differ
    assert ens.model_name == "ensemble" and ens.config.member == "cnn" and ens.config.n_members == 3
    assert ens.receptive_field == members[0].receptive_field == 2 * 4 + 1
    assert [m["seed"] for m in meta["members"]] == [0, 1, 2]
    assert meta["normalization"] == NORM and meta["fs"] == 100.0
    assert "val_rmse_deg" not in meta  # a member's validation error is not the ensemble's


def test_orientation_members_average_to_rotations(tmp_path):
    runs = [_run(tmp_path / f"s{i}", i, name="cnn_ori", norm=None) for i in range(2)]
    ens, _ = load_checkpoint(build_ensemble(runs, tmp_path / "ens"))
    assert ens.model_name == "ensemble_ori"
    with torch.no_grad():
        r = ens.rotations(torch.randn(1, 30, N_CHANNELS))  # (1, 30, 2, 3, 3)
    eye = torch.eye(3).expand_as(r)
    assert torch.allclose(r @ r.transpose(-1, -2), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(r), torch.ones(r.shape[:-2]), atol=1e-5)


def test_refuses_runs_of_different_recipes(tmp_path):
    a = _run(tmp_path / "a", 0)
    with pytest.raises(ImukinError, match="at least two"):
        build_ensemble([a], tmp_path / "e")
    with pytest.raises(ImukinError, match="other options"):
        build_ensemble([a, _run(tmp_path / "b", 1, channels=6)], tmp_path / "e")
    other = {**NORM, "x_std": [1.0] * 16}
    with pytest.raises(ImukinError, match="'normalization'"):
        build_ensemble([a, _run(tmp_path / "c", 1, norm=other)], tmp_path / "e")
    ens = build_ensemble([a, _run(tmp_path / "d", 1)], tmp_path / "e")
    with pytest.raises(ImukinError, match="already an ensemble"):
        build_ensemble([ens, a], tmp_path / "f")
    assert not (tmp_path / "f").exists()


def test_command_line(tmp_path, capsys):
    runs = [str(_run(tmp_path / f"s{i}", i)) for i in range(2)]
    assert main(["ensemble", *runs, "--out", str(tmp_path / "ens")]) == 0
    assert "ensemble of 2 runs" in capsys.readouterr().out
    doc = json.loads((tmp_path / "ens" / "model.json").read_text())
    assert doc["model_name"] == "ensemble" and len(doc["meta"]["members"]) == 2
    assert main(["ensemble", runs[0], "--out", str(tmp_path / "one")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at least two" in err[0]
    assert not (tmp_path / "one").exists()
    before = (tmp_path / "ens" / "model.json").read_text()
    assert main(["ensemble", runs[1], runs[0], "--out", str(tmp_path / "ens")]) == 2  # a model is there
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "ens" / "model.json").read_text() == before
    assert main(["ensemble", runs[1], runs[0], "--out", str(tmp_path / "ens"), "--overwrite", "--quiet"]) == 0
    assert [m["seed"] for m in json.loads((tmp_path / "ens" / "model.json").read_text())["meta"]["members"]] == [1, 0]


def test_predictor_takes_an_ensemble(tmp_path):
    """A folder with an ensemble predicts like any run (normalisation, windows, output scale)."""
    from imukin.predictor import TrainedRun

    runs = [_run(tmp_path / f"s{i}", i) for i in range(2)]
    ens = TrainedRun(build_ensemble(runs, tmp_path / "ens"))
    singles = [TrainedRun(r) for r in runs]
    x = np.random.default_rng(0).standard_normal((500, N_CHANNELS)).astype(np.float32)
    assert np.allclose(ens.outputs(x), (singles[0].outputs(x) + singles[1].outputs(x)) / 2, atol=1e-4)


def test_finetune_trains_every_members_head():
    from imukin.training.finetune import frozen_parameters

    ens = create_model("ensemble", member="cnn", member_config=SMALL, n_members=2)
    frozen = frozen_parameters(ens, "all-but-head")
    assert frozen and not any(".head." in n for n in frozen)
    assert {n for n, _ in ens.named_parameters()} - set(frozen) == {
        n for n, _ in ens.named_parameters() if ".head." in n}
