"""Checkpoint folders: round trip for every model, metadata, and clear errors."""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import imukin
from imukin.conventions import CHANNELS, N_CHANNELS
from imukin.errors import ImukinError
from imukin.models import create_model, list_models, load_checkpoint, read_checkpoint_info, save_checkpoint
from imukin.models.checkpoint import META_FILE, WEIGHTS_FILE

TINY = {"cnn": dict(channels=8, kernel_size=5, n_layers=2), "lstm": dict(hidden_size=8),
        "transformer": dict(n_layers=1, d_model=16, n_heads=2, d_ff=32)}
TINY["ensemble"] = dict(member="cnn", member_config=TINY["cnn"], n_members=2)


def tiny(name: str, **extra):
    return create_model(name, **TINY[name.removesuffix("_ori")], **extra)


@pytest.mark.parametrize("name", list_models())
def test_round_trip_gives_identical_outputs(name, tmp_path):
    torch.manual_seed(0)
    model = tiny(name)
    x = torch.randn(2, 40, N_CHANNELS)
    model.train()(x)  # moves BatchNorm running statistics away from their initial values
    model.eval()
    meta = {"mean": np.arange(N_CHANNELS, dtype=np.float32), "std": [1.0] * N_CHANNELS,
            "channels": CHANNELS, "fs": np.float64(200.0), "joint": "knee", "metrics": {"rmse_deg": [1.5, 2, 3]}}
    save_checkpoint(tmp_path / "m", model, meta)
    loaded, meta2 = load_checkpoint(tmp_path / "m")
    assert not loaded.training
    assert loaded.model_name == name
    assert loaded.config == model.config
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert meta2["mean"] == list(range(N_CHANNELS))
    assert meta2["channels"] == list(CHANNELS)
    assert meta2["fs"] == 200.0 and meta2["metrics"]["rmse_deg"] == [1.5, 2, 3]


def test_folder_contents(tmp_path):
    model = tiny("transformer", causal=True)
    save_checkpoint(tmp_path, model, {"activity": "walking"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [META_FILE, WEIGHTS_FILE]  # no temporary leftovers
    info = read_checkpoint_info(tmp_path)
    assert info["model_name"] == "transformer"
    assert info["config"]["causal"] is True
    assert info["imukin_version"] == imukin.__version__
    assert len(info["weights"]["sha256"]) == 64
    state = load_file(str(tmp_path / WEIGHTS_FILE))
    assert set(state) == set(model.state_dict())  # rotary tables are not stored


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(ImukinError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")
    with pytest.raises(ImukinError, match=META_FILE):
        load_checkpoint(tmp_path)
    save_checkpoint(tmp_path, tiny("lstm"))
    (tmp_path / WEIGHTS_FILE).unlink()
    with pytest.raises(ImukinError, match=WEIGHTS_FILE):
        load_checkpoint(tmp_path)


def edit_json(folder, **changes):
    path = folder / META_FILE
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))
    return doc


def test_unknown_model_name_and_option(tmp_path):
    save_checkpoint(tmp_path, tiny("cnn"))
    edit_json(tmp_path, model_name="wavenet")
    with pytest.raises(ImukinError, match="unknown model 'wavenet'"):
        load_checkpoint(tmp_path)
    doc = edit_json(tmp_path, model_name="cnn")
    edit_json(tmp_path, config={**doc["config"], "depthwise": True})
    with pytest.raises(ImukinError, match="depthwise"):
        load_checkpoint(tmp_path)


def test_weights_that_do_not_fit(tmp_path):
    save_checkpoint(tmp_path, tiny("cnn"))
    doc = edit_json(tmp_path)
    edit_json(tmp_path, config={**doc["config"], "channels": 9})
    with pytest.raises(ImukinError, match="do not fit"):
        load_checkpoint(tmp_path)
    # a consistent checksum but weights of another model
    other = tmp_path / "other"
    save_checkpoint(other, tiny("lstm"))
    (tmp_path / WEIGHTS_FILE).write_bytes((other / WEIGHTS_FILE).read_bytes())
    edit_json(tmp_path, config=doc["config"], weights=read_checkpoint_info(other)["weights"])
    with pytest.raises(ImukinError, match="do not fit"):
        load_checkpoint(tmp_path)


def test_corrupted_weights_fail_the_checksum(tmp_path):
    save_checkpoint(tmp_path, tiny("cnn"))
    state = load_file(str(tmp_path / WEIGHTS_FILE))
    state["head.2.bias"] = state["head.2.bias"] + 1
    save_file(state, str(tmp_path / WEIGHTS_FILE))
    with pytest.raises(ImukinError, match="checksum"):
        load_checkpoint(tmp_path)


def test_not_json_serialisable_meta_is_refused(tmp_path):
    with pytest.raises(ImukinError, match="JSON"):
        save_checkpoint(tmp_path, tiny("cnn"), {"fn": object()})
    with pytest.raises(ImukinError, match="finite"):
        save_checkpoint(tmp_path, tiny("cnn"), {"loss": float("nan")})
    assert not (tmp_path / META_FILE).exists() and not (tmp_path / WEIGHTS_FILE).exists()
    save_checkpoint(tmp_path, tiny("cnn"), {"loss": 1.0})  # a checkpoint there: a refused save leaves it whole
    before = {f: (tmp_path / f).read_bytes() for f in (META_FILE, WEIGHTS_FILE)}
    with pytest.raises(ImukinError, match="finite"):
        save_checkpoint(tmp_path, tiny("cnn"), {"loss": float("inf")})
    assert {f: (tmp_path / f).read_bytes() for f in (META_FILE, WEIGHTS_FILE)} == before
    load_checkpoint(tmp_path)


def test_saving_a_plain_module_is_refused(tmp_path):
    with pytest.raises(ImukinError, match="create_model"):
        save_checkpoint(tmp_path, torch.nn.Linear(2, 2), {})


def test_a_model_of_other_channels_is_refused(tmp_path):
    save_checkpoint(tmp_path / "m", tiny("cnn"), {"channels": list(reversed(CHANNELS))})
    with pytest.raises(ImukinError, match="trained on the input channels"):
        load_checkpoint(tmp_path / "m")
    save_checkpoint(tmp_path / "ok", tiny("cnn"), {"channels": list(CHANNELS)})
    load_checkpoint(tmp_path / "ok")
