"""Transformer specifics: causal mode, unseen lengths, relative-position behaviour."""
import pytest
import torch

from imukin.conventions import N_CHANNELS
from imukin.models import create_model
from imukin.models.rotary import RotaryEmbedding

SMALL = dict(n_layers=2, d_model=32, n_heads=2, d_ff=64)


@pytest.fixture
def x():
    return torch.randn(2, 80, N_CHANNELS, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("patch", [1, 4])
def test_causal_output_ignores_the_future(x, patch):
    """Strictly causal with one token per frame; with patches, up to the end of the frame's patch."""
    torch.manual_seed(0)
    model = create_model("transformer", causal=True, patch=patch, **SMALL).eval()
    t = 43  # last frame of a patch of 4
    changed = x.clone()
    changed[:, t + 1:] = torch.randn_like(changed[:, t + 1:])
    y0, y1 = model(x), model(changed)
    torch.testing.assert_close(y0[:, :t + 1], y1[:, :t + 1], atol=1e-6, rtol=0)
    assert (y0[:, t + 1:] - y1[:, t + 1:]).abs().max() > 1e-3


def test_two_sided_output_sees_the_future(x):
    torch.manual_seed(0)
    model = create_model("transformer", **SMALL).eval()
    changed = x.clone()
    changed[:, 41:] += 1.0
    assert (model(x)[:, :41] - model(changed)[:, :41]).abs().max() > 1e-4


def test_lengths_longer_than_any_cache():
    torch.manual_seed(0)
    model = create_model("transformer", causal=True, **SMALL).eval()
    cache = model.blocks[0].attn.rotary.cos_cached.shape[0]
    n = 4 * (2 * cache + 31) + 3  # tokens well past the cache, frames not a multiple of the patch
    long = torch.randn(1, n, N_CHANNELS)
    y_long = model(long)
    assert y_long.shape == (1, n, 3)
    assert torch.isfinite(y_long).all()
    assert model.blocks[0].attn.rotary.cos_cached.shape[0] >= 2 * cache + 31
    # causal: the prefix of a long sequence gives the same outputs as the prefix alone
    torch.testing.assert_close(model(long[:, :100]), y_long[:, :100], atol=1e-5, rtol=0)


def test_patches_cover_every_frame():
    """Each output frame has its own value (no frame is a copy of its patch neighbour)."""
    torch.manual_seed(0)
    model = create_model("transformer", patch=4, **SMALL).eval()
    y = model(torch.randn(1, 37, N_CHANNELS))
    assert y.shape == (1, 37, 3)
    assert (y[0, 1:] - y[0, :-1]).abs().amin() > 0


def test_rotary_used_on_head_size():
    model = create_model("transformer")
    rope = model.blocks[0].attn.rotary
    assert isinstance(rope, RotaryEmbedding)
    assert rope.head_dim == model.config.d_model // model.config.n_heads == 16


def test_attention_scores_do_not_depend_on_absolute_offset():
    """Scores are the same whether a sequence sits at table positions 0.. or 123.. (relative only)."""
    rope = RotaryEmbedding(16)
    gen = torch.Generator().manual_seed(5)
    q = torch.randn(1, 2, 30, 16, generator=gen)
    k = torch.randn(1, 2, 30, 16, generator=gen)
    q0, k0 = rope(q, k)
    q1, k1 = rope(q, k, offset=123)
    s0, s1 = q0 @ k0.transpose(-1, -2), q1 @ k1.transpose(-1, -2)  # (B, H, T, T)
    torch.testing.assert_close(s0, s1, atol=1e-4, rtol=1e-5)
