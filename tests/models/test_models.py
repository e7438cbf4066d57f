"""Every registered model: shapes, gradients, overfitting one batch, orientation outputs."""
import dataclasses
import math

import pytest
import torch

from imukin.conventions import N_CHANNELS
from imukin.errors import ImukinError
from imukin.models import TARGET_DIMS, create_model, list_models
from imukin.training.choices import ENSEMBLE_NAMES

MODELS = [m for m in list_models() if m not in ENSEMBLE_NAMES]  # the trainable ones (ensembles: test_ensemble.py)


def _seed(name: str) -> int:
    return sum(map(ord, name))


def smooth_batch(out_dim: int, seed: int, batch: int = 2, steps: int = 64):
    """Random inputs and smooth random targets: (B, T, 16), (B, T, out_dim)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, steps, N_CHANNELS, generator=gen)
    t = torch.linspace(0.0, 1.0, steps)[None, :, None]  # (1, T, 1)
    freq = 0.5 + 3.0 * torch.rand(batch, 1, out_dim, generator=gen)
    phase = 2 * math.pi * torch.rand(batch, 1, out_dim, generator=gen)
    return x, torch.sin(2 * math.pi * freq * t + phase)


def test_registry_lists_all_families_and_orientation_variants():
    assert set(MODELS) == {"cnn", "lstm", "transformer", "cnn_ori", "lstm_ori", "transformer_ori"}
    assert set(list_models()) == set(MODELS) | {"ensemble", "ensemble_ori"}


@pytest.mark.parametrize("name", MODELS)
def test_forward_shape_and_contract(name):
    torch.manual_seed(_seed(name))
    model = create_model(name)
    expected = TARGET_DIMS["orientation" if name.endswith("_ori") else "angle"]
    assert model.model_name == name
    assert model.out_dim == expected
    for steps in (1, 37, 200):  # odd lengths and a single step
        y = model.eval()(torch.randn(3, steps, N_CHANNELS))
        assert y.shape == (3, steps, expected)
        assert y.dtype == torch.float32
        assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_config_fields_all_have_defaults(name):
    cfg = create_model(name).config
    assert dataclasses.is_dataclass(cfg)
    for f in dataclasses.fields(cfg):
        assert f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING, f.name


@pytest.mark.parametrize("name", MODELS)
def test_backward_gives_finite_grads_for_every_parameter(name):
    torch.manual_seed(_seed(name))
    model = create_model(name).train()
    x, y = smooth_batch(model.out_dim, _seed(name), batch=3, steps=50)
    loss = torch.nn.functional.mse_loss(model(x), y)
    assert torch.isfinite(loss)
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has non-finite gradient"
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", MODELS)
def test_overfits_one_small_batch(name):
    torch.manual_seed(_seed(name))
    model = create_model(name, dropout=0.0).train()
    x, y = smooth_batch(model.out_dim, _seed(name))  # 2 sequences x 64 steps
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(300):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if losses[-1] < 0.05 * losses[0]:
            break
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < 0.05 * losses[0], f"loss only fell from {losses[0]:.3f} to {losses[-1]:.3f}"


@pytest.mark.parametrize("name", [n for n in MODELS if n.endswith("_ori")])
def test_orientation_outputs_are_proper_rotations(name):
    torch.manual_seed(_seed(name))
    model = create_model(name).eval()
    r = model.rotations(torch.randn(2, 30, N_CHANNELS))
    assert r.shape == (2, 30, 2, 3, 3)
    eye = torch.eye(3).expand_as(r)
    torch.testing.assert_close(r.transpose(-1, -2) @ r, eye, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(2, 30, 2), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", [n for n in MODELS if not n.endswith("_ori")])
def test_angle_models_refuse_rotations(name):
    with pytest.raises(ImukinError, match="_ori"):
        create_model(name).rotations(torch.randn(1, 4, N_CHANNELS))


@pytest.mark.parametrize("name", MODELS)
def test_bad_input_shape_raises(name):
    model = create_model(name)
    with pytest.raises(ImukinError, match="16"):
        model(torch.randn(2, 10, 12))
    with pytest.raises(ImukinError):
        model(torch.randn(10, N_CHANNELS))


def test_create_model_overrides_and_errors():
    model = create_model("cnn", n_layers=1, channels=8)
    assert (model.config.n_layers, model.config.channels) == (1, 8)
    assert len(model.blocks) == 1
    with pytest.raises(ImukinError, match="valid options: .*kernel_size"):
        create_model("cnn", kernel=3)
    with pytest.raises(ImukinError, match="choose one of: cnn"):
        create_model("resnet")
    with pytest.raises(ImukinError, match="use model 'lstm'"):
        create_model("lstm_ori", target="angle")
    with pytest.raises(ImukinError, match="even head size"):
        create_model("transformer", d_model=90)  # head size 15
    with pytest.raises(ImukinError, match="dropout"):
        create_model("lstm", dropout=1.5)
    with pytest.raises(ImukinError, match="target"):
        create_model("cnn", target="angles")


def test_target_override_matches_orientation_name():
    model = create_model("transformer", target="orientation", n_layers=1)
    assert model.model_name == "transformer_ori"
    assert model.out_dim == 12


@pytest.mark.parametrize("dilation", [1, 2])
def test_cnn_receptive_field_is_exact(dilation):
    """A change at one input frame reaches exactly the output frames within half the receptive field."""
    torch.manual_seed(0)
    model = create_model("cnn", n_layers=2, channels=8, kernel_size=5, dilation=dilation).eval()
    half = (model.receptive_field - 1) // 2
    assert model.receptive_field == 2 * 4 * dilation + 1
    x = torch.randn(1, 60, 16)
    x2 = x.clone()
    x2[0, 30] += 5.0
    with torch.no_grad():
        changed = (model(x2) - model(x)).abs().amax(dim=-1)[0] > 1e-7  # (T,)
    frames = torch.nonzero(changed).flatten()
    assert frames.min().item() == 30 - half and frames.max().item() == 30 + half
