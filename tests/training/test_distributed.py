"""DDP under torchrun: two CPU processes train the same model as one process."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import load_file

from imukin.cli import main
from imukin.errors import ImukinError
from imukin.training.distributed import DistContext, init_from_env

ARGS = ["--joint", "knee", "--steps", "12", "--batch-size", "8", "--window", "100", "--lr", "0.003", "--quiet"]
MODELS = {  # no batch norm: the two-process run must match to rounding
    "transformer": ["--set", "n_layers=1", "d_model=16", "n_heads=2", "d_ff=32", "dropout=0.0", "patch=2"],
    # batch norm: on CPU each process normalises with its half of the batch (no SyncBatchNorm on CPU)
    "cnn": ["--set", "n_layers=2", "channels=12", "kernel_size=9", "dropout=0.0"],
}


@pytest.fixture(scope="module")
def corpus(corpus_factory):
    return corpus_factory(n_subjects=5, seed=8, duration_s=5.0, fs=100.0)


def _torchrun(corpus, out, model):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "imukin.cli", "train", "--model", model, "--data", str(corpus), "--out", str(out), *ARGS,
           *MODELS[model]]
    return subprocess.run(["nice", "-n", "19", *cmd], capture_output=True, text=True, env=env, timeout=240)


@pytest.mark.slow  # torchrun starts two processes per model: ~10 s each
@pytest.mark.parametrize("model", list(MODELS))
def test_two_processes_match_one(corpus, tmp_path, model, capsys):
    assert main(["train", "--model", model, "--data", str(corpus), "--out", str(tmp_path / "one"),
                 *ARGS, *MODELS[model]]) == 0
    proc = _torchrun(corpus, tmp_path / "two", model)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("best validation RMSE") == 1  # only rank 0 reports
    one = json.loads((tmp_path / "one" / "train_summary.json").read_text())
    two = json.loads((tmp_path / "two" / "train_summary.json").read_text())
    assert one["processes"] == 1 and two["processes"] == 2 and two["steps_run"] == one["steps_run"] == 12
    wa, wb = load_file(tmp_path / "one" / "model.safetensors"), load_file(tmp_path / "two" / "model.safetensors")
    assert wa.keys() == wb.keys()
    keys = [k for k in wa if wa[k].dtype.kind == "f"]
    diff = np.sqrt(sum(((wa[k] - wb[k]) ** 2).sum() for k in keys) / sum((wa[k] ** 2).sum() for k in keys))
    if model == "transformer":  # identical up to float reduction order
        assert diff < 1e-5
        assert two["best_val_rmse_deg"] == pytest.approx(one["best_val_rmse_deg"], rel=1e-5)
    else:  # per-process batch statistics: close, not identical
        assert 0 < diff < 0.01
        assert two["best_val_rmse_deg"] == pytest.approx(one["best_val_rmse_deg"], rel=0.01)


def test_context_helpers(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = init_from_env("cpu")
    assert not ctx.enabled and ctx.is_main and ctx.share(8) == slice(0, 8)
    two = DistContext(rank=1, world_size=2)
    assert two.share(8) == slice(4, 8) and not two.is_main
    with pytest.raises(ImukinError, match="split evenly"):
        two.share(7)
