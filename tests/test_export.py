"""imukin export: ONNX models that give PyTorch's numbers from raw channels, a right sidecar, one-line errors."""
import json

import numpy as np
import pytest
import torch

pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

from imukin.cli import main  # noqa: E402
from imukin.conventions import CHANNELS  # noqa: E402
from imukin.inference import inference_windowing, predict_windows  # noqa: E402
from imukin.predictor import TrainedRun  # noqa: E402
from imukin.pretrained import PRETRAINED_DIR  # noqa: E402

# (--model, shipped folder, target): one of each architecture and an orientation model
MODELS = [("cnn", "walking_knee_cnn", "angle"), ("transformer", "walking_knee_transformer", "angle"),
          ("cnn_ori", "walking_knee_cnn_ori", "orientation")]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The three models exported through the command line: {model: (onnx path, sidecar path)}."""
    out = tmp_path_factory.mktemp("onnx")
    files = {}
    for model, _, _ in MODELS:
        path = out / f"knee_{model}.onnx"
        assert main(["export", "--model", model, "--joint", "knee", "--activity", "walking", "--format", "onnx",
                     "--out", str(path), "--quiet"]) == 0
        files[model] = (path, path.with_suffix(".json"))
    return files


def _session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _raw_input(run, n, seed=0):
    """Raw (n, 16) channels in physical units, spread like the training data."""
    z = np.random.default_rng(seed).standard_normal((n, len(CHANNELS)))
    return (z * run.norm.x_std + run.norm.x_mean).astype(np.float32)


@pytest.mark.slow  # the `exported` fixture traces three models with the ONNX exporter: ~10 s
@pytest.mark.parametrize("model,folder,target", MODELS)
def test_onnx_runtime_matches_pytorch(exported, model, folder, target):
    run = TrainedRun(PRETRAINED_DIR / folder, target=target)
    sess = _session(exported[model][0])
    x = _raw_input(run, 2 * run.window + 37)  # several windows, a length no multiple of the patch
    expected = run.outputs(x)  # imukin's own path: normalise, windows, model, de-normalise
    got = predict_windows(lambda b: torch.from_numpy(sess.run(None, {"imu": b.numpy()})[0]), x,
                          **inference_windowing(run.model, run.window))
    assert got.shape == expected.shape == (len(x), run.model.out_dim)
    assert np.abs(got - expected).max() < 1e-3  # degrees for angle models
    # dynamic batch and time: any length in one call gives the model's own one-pass output
    for n in (5, 257):
        xb = np.stack([x[:n], x[1:n + 1]])
        with torch.no_grad():
            ref = run.norm.y_inverse(run.model(torch.from_numpy(run.norm.x(xb))).numpy())
        assert np.abs(sess.run(None, {"imu": xb})[0] - ref).max() < 1e-3


@pytest.mark.slow  # uses the `exported` fixture
@pytest.mark.parametrize("model,folder,target", MODELS)
def test_sidecar(exported, model, folder, target):
    path, side = exported[model]
    doc = json.loads(side.read_text())
    meta = json.loads((PRETRAINED_DIR / folder / "model.json").read_text())["meta"]
    assert doc["model_file"] == path.name and doc["source"] == folder
    assert doc["channels"] == list(CHANNELS) and len(doc["channel_units"]) == 16
    assert doc["fs"] == meta["fs"] and doc["window"] == meta["window"]
    assert (doc["joint"], doc["activity"], doc["target"]) == ("knee", "walking", target)
    assert doc["input"]["shape"] == ["batch", "time", 16] and doc["dynamic_time"] is True
    if target == "angle":
        assert doc["outputs"] == ["flexion", "adduction", "rotation"] and doc["units"] == "deg"
    else:
        assert len(doc["outputs"]) == 12 and doc["output"]["shape"][-1] == 12
    import hashlib

    import imukin

    assert doc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc["imukin_version"] == imukin.__version__
    sess = _session(path)
    assert [i.name for i in sess.get_inputs()] == [doc["input"]["name"]]
    assert [o.name for o in sess.get_outputs()] == [doc["output"]["name"]]


def _bad(capsys, tmp_path, *argv):
    before = sorted(tmp_path.rglob("*"))
    code = main(["export", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("imukin: error:"), err
    assert sorted(tmp_path.rglob("*")) == before  # nothing written
    return lines[0]


def test_bad_input_one_line_exit_2(tmp_path, capsys):
    out = str(tmp_path / "m.onnx")
    assert "invalid choice: 'lstm' (choose from 'cnn'" in _bad(capsys, tmp_path, "--model", "lstm", "--out", out)
    assert "invalid choice: 'tflite'" in _bad(capsys, tmp_path, "--format", "tflite", "--out", out)
    (tmp_path / "folder").mkdir()
    assert "existing folder" in _bad(capsys, tmp_path, "--out", str(tmp_path / "folder"))
    assert ".onnx" in _bad(capsys, tmp_path, "--out", str(tmp_path / "m.txt"))
    not_a_run = tmp_path / "not_a_run"
    not_a_run.mkdir()
    assert "model.json" in _bad(capsys, tmp_path, "--run", str(not_a_run), "--out", out)
    assert "does not exist" in _bad(capsys, tmp_path, "--run", str(tmp_path / "missing"), "--out", out)
    (tmp_path / "file.onnx").write_text("x")
    assert "not a folder" in _bad(capsys, tmp_path, "--all", "--out", str(tmp_path / "file.onnx"))
    try:  # argparse: --run and --model exclude each other
        code = main(["export", "--run", str(not_a_run), "--model", "cnn", "--out", out])
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_trained_run_exports(tmp_path):
    """--run: a trained run folder (here a small CNN checkpoint) with its own rate and window."""
    from imukin.models import create_model
    from imukin.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    norm = {"x_mean": np.linspace(-1, 1, 16).tolist(), "x_std": np.linspace(0.5, 2, 16).tolist(),
            "y_mean": [10.0, -2.0, 3.0], "y_std": [20.0, 3.0, 5.0]}
    save_checkpoint(tmp_path / "run", create_model("cnn", n_layers=1, channels=8, kernel_size=5),
                    meta={"normalization": norm, "fs": 100.0, "window": 200, "joint": "hip",
                          "activity": "running", "target": "angle"})
    assert main(["export", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "hip.onnx"), "--quiet"]) == 0
    doc = json.loads((tmp_path / "hip.json").read_text())
    assert (doc["fs"], doc["window"], doc["joint"], doc["activity"]) == (100.0, 200, "hip", "running")
    run = TrainedRun(tmp_path / "run")
    x = _raw_input(run, 300)
    got = _session(tmp_path / "hip.onnx").run(None, {"imu": x[None]})[0][0]
    assert np.abs(got - run.outputs(x)).max() < 1e-3


def test_ensemble_run_exports(tmp_path):
    """--run with an ensemble (imukin ensemble): the exported graph gives the members' mean."""
    from imukin.models import build_ensemble, create_model
    from imukin.models.checkpoint import save_checkpoint

    norm = {"x_mean": np.linspace(-1, 1, 16).tolist(), "x_std": np.linspace(0.5, 2, 16).tolist(),
            "y_mean": [10.0, -2.0, 3.0], "y_std": [20.0, 3.0, 5.0]}
    runs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        runs.append(save_checkpoint(tmp_path / f"s{seed}", create_model("cnn", n_layers=1, channels=8, kernel_size=5),
                                    meta={"normalization": norm, "fs": 100.0, "window": 200, "joint": "hip",
                                          "activity": "running", "target": "angle"}))
    build_ensemble(runs, tmp_path / "ens")
    assert main(["export", "--run", str(tmp_path / "ens"), "--out", str(tmp_path / "ens.onnx"), "--quiet"]) == 0
    run = TrainedRun(tmp_path / "ens")
    x = _raw_input(run, 300)
    got = _session(tmp_path / "ens.onnx").run(None, {"imu": x[None]})[0][0]
    singles = [TrainedRun(r).outputs(x) for r in runs]
    assert np.abs(got - run.outputs(x)).max() < 1e-3
    assert np.abs(got - (singles[0] + singles[1]) / 2).max() < 1e-3
    assert np.abs(singles[0] - singles[1]).max() > 0.1  # the members differ, so the mean is a real check
