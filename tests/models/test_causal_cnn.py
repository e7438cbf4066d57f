"""The causal CNN (CNNConfig.causal): the output at a frame never depends on later inputs."""
import numpy as np
import pytest
import torch

from imukin.errors import ImukinError
from imukin.inference import inference_windowing, predict_windows
from imukin.models import create_model, load_checkpoint
from imukin.pretrained import PRETRAINED_DIR


def _model(causal: bool, **kw):
    torch.manual_seed(0)
    cfg = {"n_layers": 3, "channels": 12, "kernel_size": 7, "dilation": 2}
    cfg.update(kw)
    return create_model("cnn", causal=causal, **cfg).eval()


@pytest.mark.parametrize("t_cut", [0, 1, 37, 99])
def test_future_inputs_do_not_change_past_outputs(t_cut):
    m = _model(True)
    x = torch.randn(2, 100, 16)
    x2 = x.clone()
    x2[:, t_cut:] = torch.randn(2, 100 - t_cut, 16) * 5  # new future from t_cut on
    with torch.no_grad():
        y, y2 = m(x), m(x2)
    assert torch.equal(y[:, :t_cut], y2[:, :t_cut])
    assert (y[:, t_cut:] - y2[:, t_cut:]).abs().max() > 1e-3  # and the present does change


def test_causal_receptive_field_lies_in_the_past():
    m = _model(True)
    rf = m.receptive_field  # 3 * 6 * 2 + 1 = 37
    assert rf == 37
    x = torch.randn(1, 120, 16)
    x2 = x.clone()
    x2[:, :50] += 3.0  # change inputs up to frame 49
    with torch.no_grad():
        d = (m(x) - m(x2)).abs().amax(dim=(0, 2))  # (T,)
    assert d[49 + rf - 1] > 0  # frame 49 is still in the field of frame 49 + rf - 1
    assert torch.all(d[49 + rf:] == 0)  # and out of the field of every later frame


def test_two_sided_default_does_see_the_future():
    m = _model(False)
    assert m.config.causal is False
    x = torch.randn(1, 80, 16)
    x2 = x.clone()
    x2[:, 40:] += 3.0
    with torch.no_grad():
        assert (m(x)[:, :40] - m(x2)[:, :40]).abs().max() > 1e-3


def test_same_weights_and_names_as_the_two_sided_model():
    a, b = _model(True), _model(False)
    assert a.state_dict().keys() == b.state_dict().keys()
    b.load_state_dict(a.state_dict())
    with torch.no_grad():  # identical weights, the causal output is the two-sided one shifted by half the field
        x = torch.randn(1, 200, 16)
        ya, yb = a(x), b(x)
    h = (a.receptive_field - 1) // 2
    np.testing.assert_allclose(ya[:, 2 * h:].numpy(), yb[:, h:-h].numpy(), atol=1e-5)


def test_shipped_checkpoints_still_load_two_sided():
    for name in ("walking_knee_cnn", "running_hip_cnn_ori"):
        model, _ = load_checkpoint(PRETRAINED_DIR / name)
        members = getattr(model, "members", [model])  # the walking knee cnn is an ensemble of three cnns
        assert all(m.config.causal is False for m in members)


def test_windowed_inference_of_a_causal_model_equals_one_pass():
    m = _model(True)
    x = np.random.default_rng(0).normal(size=(3000, 16)).astype(np.float32)
    w = inference_windowing(m, 400)
    w["window"] = 300  # several windows over the recording
    w["overlap"] = 2.0 * (w["margin"] + 1) / 300
    with torch.no_grad():
        one = m(torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_allclose(predict_windows(m, x, **w), one, atol=1e-5)


def test_causal_must_be_a_bool():
    with pytest.raises(ImukinError, match="causal"):
        create_model("cnn", causal="yes")


@pytest.mark.parametrize("patch,look_ahead", [(1, 0), (4, 3)])
def test_causal_transformer_looks_ahead_only_within_its_patch(patch, look_ahead):
    """The transformer's causal mask is over tokens: patch=1 is strictly causal, a patch of p frames
    lets a frame see the rest of its patch (p - 1 frames at most), never a later patch."""
    torch.manual_seed(0)
    m = create_model("transformer", causal=True, patch=patch, n_layers=2, n_heads=2, d_model=16, d_ff=32).eval()
    x = torch.randn(1, 64, 16)
    t_cut = 40  # a patch boundary for both patch sizes
    x2 = x.clone()
    x2[:, t_cut:] += 3.0
    with torch.no_grad():
        d = (m(x) - m(x2)).abs().amax(dim=(0, 2))  # (T,)
    assert torch.all(d[:t_cut] == 0)  # nothing before the cut sees the change
    x3 = x.clone()
    x3[:, t_cut + look_ahead] += 3.0  # the last frame of the patch that starts at the cut
    with torch.no_grad():
        d3 = (m(x) - m(x3)).abs().amax(dim=(0, 2))
    assert torch.all(d3[:t_cut] == 0)  # earlier patches never see it
    assert d3[t_cut] > 0  # frame t_cut sees frame t_cut + look_ahead: itself, or the end of its patch
