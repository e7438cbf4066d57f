"""Rotary embedding: relative positions, norm preservation, layout consistency, growth."""
import torch

from imukin.models.rotary import LAYOUT, RotaryEmbedding, apply_rotary

D = 16  # head size


def rotate_at_positions(rope: RotaryEmbedding, v: torch.Tensor, length: int) -> torch.Tensor:
    """The same vector v (D,) placed at positions 0 .. length-1 and rotated: (length, D)."""
    x = v.expand(1, 1, length, D)  # (B, H, T, D)
    q, _ = rope(x, x)
    return q[0, 0]


def scores(q_rot: torch.Tensor, k_rot: torch.Tensor) -> torch.Tensor:
    return q_rot @ k_rot.T  # (T, T): S[m, n] = <rope(q, m), rope(k, n)>


def unit(gen):
    v = torch.randn(D, generator=gen)
    return v / v.norm()


def assert_relative(s: torch.Tensor, shifts, atol: float) -> float:
    """Max |S[m, n] - S[m + s, n + s]| over a grid of positions; asserts below atol when atol > 0."""
    worst = 0.0
    for m in range(0, 60, 7):
        for n in range(0, 60, 5):
            for shift in shifts:
                worst = max(worst, abs(s[m, n] - s[m + shift, n + shift]).item())
    if atol > 0:
        assert worst < atol, worst
    return worst


def test_scores_depend_only_on_relative_position():
    gen = torch.Generator().manual_seed(0)
    rope = RotaryEmbedding(D)
    q, k = unit(gen), unit(gen)
    s = scores(rotate_at_positions(rope, q, 600), rotate_at_positions(rope, k, 600))
    assert_relative(s, shifts=(1, 3, 17, 100, 250, 500), atol=1e-5)
    # and the scores do vary with the offset (the check above is not vacuous)
    assert (s[0, :50] - s[0, 0]).abs().max() > 0.1


def test_norms_are_preserved():
    gen = torch.Generator().manual_seed(1)
    rope = RotaryEmbedding(D)
    x = torch.randn(2, 3, 300, D, generator=gen)
    q, k = rope(x, 2 * x)
    torch.testing.assert_close(q.norm(dim=-1), x.norm(dim=-1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(k.norm(dim=-1), 2 * x.norm(dim=-1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(q[..., 0, :], x[..., 0, :])  # position 0 is not rotated


def test_tables_match_rotate_half_pairing():
    assert LAYOUT == "rotate-half"
    rope = RotaryEmbedding(D)
    cos, sin = rope.tables(50)
    half = D // 2
    torch.testing.assert_close(cos[:, :half], cos[:, half:])  # dims i and i + D/2 share one angle
    torch.testing.assert_close(sin[:, :half], sin[:, half:])
    # The rotation equals complex multiplication of (x_i + j x_{i+D/2}) by exp(j pos theta_i).
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(50, D, generator=gen, dtype=torch.float64)
    theta = 10000.0 ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)  # (D/2,)
    angle = torch.arange(50, dtype=torch.float64)[:, None] * theta  # (T, D/2)
    z = torch.complex(x[:, :half], x[:, half:]) * torch.polar(torch.ones_like(angle), angle)
    expected = torch.cat([z.real, z.imag], dim=-1).float()
    torch.testing.assert_close(apply_rotary(x.float(), cos, sin), expected, atol=1e-5, rtol=1e-5)


def rotate_neighbours(x, cos, sin):
    """The reference's defect: pairs (2i, 2i+1) rotated with half-split tables."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    rotated = torch.stack([-x2, x1], dim=-1).flatten(-2)
    return x * cos + rotated * sin


def test_mismatched_layout_breaks_relative_position():
    gen = torch.Generator().manual_seed(3)
    rope = RotaryEmbedding(D)
    cos, sin = rope.tables(200)
    q, k = unit(gen), unit(gen)
    good = scores(apply_rotary(q.expand(200, D), cos, sin), apply_rotary(k.expand(200, D), cos, sin))
    bad = scores(rotate_neighbours(q.expand(200, D), cos, sin), rotate_neighbours(k.expand(200, D), cos, sin))
    assert assert_relative(good, shifts=(1, 17, 100), atol=1e-5) < 1e-5
    assert assert_relative(bad, shifts=(1, 17, 100), atol=0) > 1e-2  # this test catches the defect


def test_cache_grows_lazily_and_matches_a_fresh_build():
    rope = RotaryEmbedding(D)
    initial = rope.cos_cached.shape[0]
    cos_long, sin_long = rope.tables(initial * 3 + 5)
    assert rope.cos_cached.shape[0] >= initial * 3 + 5
    cos_off, _ = rope.tables(10, offset=initial * 3 - 5)
    torch.testing.assert_close(cos_off, cos_long[initial * 3 - 5:initial * 3 + 5])
    fresh = RotaryEmbedding(D)
    torch.testing.assert_close(cos_long[:initial], fresh.cos_cached[:initial])
    pos = torch.arange(initial * 3 + 5, dtype=torch.float64)[:, None]  # (T, 1)
    theta = 10000.0 ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)  # (D/2,)
    torch.testing.assert_close(sin_long[:, :D // 2], (pos * theta).sin().float(), atol=1e-7, rtol=0)
    assert "cos_cached" not in rope.state_dict()  # non-persistent: never in checkpoints


def test_rotation_runs_in_float32_for_low_precision_inputs():
    rope = RotaryEmbedding(D).to(torch.bfloat16)  # casts the cached tables ...
    x = torch.randn(1, 1, 40, D)
    q, _ = rope(x.to(torch.bfloat16), x.to(torch.bfloat16))
    assert q.dtype == torch.bfloat16
    assert rope.cos_cached.dtype == torch.float32  # ... which are rebuilt in float32 on use
    ref, _ = RotaryEmbedding(D)(x.to(torch.bfloat16).float(), x)
    torch.testing.assert_close(q.float(), ref, atol=2e-2, rtol=1e-2)
