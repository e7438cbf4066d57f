import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from imukin.errors import ImukinError
from imukin.inference import predict_windows
from imukin.signal import n_resampled, rational_ratio, resample, resample_to_length, window_starts


class MovingAverage(torch.nn.Module):
    """Depthwise moving average over time (context-dependent, zero padded at its input's ends)."""

    def __init__(self, channels: int, k: int = 21):
        super().__init__()
        self.conv = torch.nn.Conv1d(channels, channels, k, padding=k // 2, groups=channels, bias=False)
        self.conv.weight.data.fill_(1.0 / k)
        self.k = k

    def forward(self, x):  # (B, W, C) -> (B, W, C)
        return self.conv(x.transpose(1, 2)).transpose(1, 2)


def test_identity_model_is_exact(rng):
    x = rng.normal(size=(1234, 5)).astype(np.float32)
    y = predict_windows(lambda b: b, x, window=100, overlap=0.5, batch_size=4)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_array_equal(y, x)
    # pointwise nonlinear model, another overlap
    y = predict_windows(lambda b: torch.tanh(b[..., :2]) * 3, x, window=64, overlap=0.75, batch_size=3)
    np.testing.assert_allclose(y, np.tanh(x[:, :2]) * 3, rtol=0, atol=1e-5)


@pytest.mark.parametrize("n_frames", [1, 37, 100, 101, 250, 1000])
def test_constant_model_stays_constant_including_edges(n_frames, rng):
    x = rng.normal(size=(n_frames, 4)).astype(np.float32)
    const = lambda b: torch.full((*b.shape[:2], 3), 7.25)  # noqa: E731
    for overlap in (0.0, 0.5, 0.9):
        y = predict_windows(const, x, window=100, overlap=overlap, batch_size=2)
        assert y.shape == (n_frames, 3)
        assert np.all(y == np.float32(7.25))  # exactly, edges included


def test_short_input_runs_one_shorter_window(rng):
    x = rng.normal(size=(30, 16)).astype(np.float32)
    seen = []

    def fn(b):
        seen.append(tuple(b.shape))
        return b[..., :3] * 2

    y = predict_windows(fn, x, window=400, progress=True)
    assert seen == [(1, 30, 16)]
    np.testing.assert_allclose(y, 2 * x[:, :3], atol=1e-6)


def test_moving_average_matches_full_length_away_from_window_edges(rng):
    window, k = 200, 21
    n = 10 * window  # T = 10 windows
    x = rng.normal(size=(n, 3)).astype(np.float32)
    model = MovingAverage(3, k).eval()
    with torch.no_grad():
        full = model(torch.from_numpy(x)[None])[0].numpy()  # (T, 3)
    y = predict_windows(model, x, window=window, overlap=0.5, batch_size=4, device="cpu")
    starts = window_starts(n, window, 0.5)
    # frames whose every covering window sees the whole kernel are exact
    affected = np.zeros(n, bool)
    for s in starts:
        for edge in (s, s + window):
            if 0 < edge < n:
                affected[max(0, edge - k // 2):edge + k // 2] = True
    interior = ~affected
    interior[: k // 2] = interior[-(k // 2):] = False  # the full computation is zero padded there too
    assert interior.sum() >= 0.75 * n
    np.testing.assert_allclose(y[interior], full[interior], atol=1e-5)
    # near window edges the taper keeps the blended error small
    inner = slice(k // 2, n - k // 2)
    assert np.abs(y[inner] - full[inner]).max() < 0.02 * np.abs(full).max()
    # the whole recording, edges included, equals the full computation where it has the same padding
    np.testing.assert_allclose(y[: k // 2], full[: k // 2], atol=1e-5)
    np.testing.assert_allclose(y[-(k // 2):], full[-(k // 2):], atol=1e-5)


def test_module_with_grad_parameters_runs_without_grad_and_float64_input(rng):
    model = torch.nn.Linear(4, 2)  # parameters require grad: .numpy() would fail outside no_grad
    x = rng.normal(size=(500, 4))  # float64
    y = predict_windows(model, x, window=128, batch_size=3)
    with torch.no_grad():
        ref = model(torch.from_numpy(x.astype(np.float32))).numpy()
    np.testing.assert_allclose(y, ref, atol=1e-5)


def test_memory_is_flat_in_length():
    window, ch, batch = 64, 16, 8
    seen_batches = []

    def fn(b):
        seen_batches.append(b.shape[0])
        return b[..., :3] + 1.0

    peaks = {}
    for n in (20_000, 80_000):
        x = np.ones((n, ch), np.float32)
        tracemalloc.start()
        y = predict_windows(fn, x, window=window, overlap=0.5, batch_size=batch)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peaks[n] = peak - y.nbytes  # everything but the output
        all_windows_bytes = window_starts(n, window, 0.5).size * window * ch * 4
        assert peaks[n] < all_windows_bytes / 10
        assert np.all(y == 2.0)
    assert max(seen_batches) == batch
    # besides the output, memory does not grow with T (only the tiny start-index array does)
    assert peaks[80_000] - peaks[20_000] < 64 * 1024
    assert peaks[80_000] < 20 * batch * window * ch * 4


def test_bad_inputs_raise(rng):
    x = rng.normal(size=(50, 2)).astype(np.float32)
    with pytest.raises(ImukinError, match=r"\(B, W, K\)"):
        predict_windows(lambda b: b[:, :-1], x, window=20)
    with pytest.raises(ImukinError, match="overlap"):
        predict_windows(lambda b: b, x, overlap=1.0)
    with pytest.raises(ImukinError, match=r"\(T, C\)"):
        predict_windows(lambda b: b, x[:, 0])


def test_window_starts_cover_the_end():
    s = window_starts(1000, 300, 0.5)
    assert s[0] == 0 and s[-1] == 700 and np.all(np.diff(s) <= 150)
    assert window_starts(10, 300, 0.5).tolist() == [0]


def test_rational_ratios():
    assert rational_ratio(100, 200)[:2] == (2, 1)
    assert rational_ratio(204.8, 200)[:2] == (125, 128)
    assert rational_ratio(148, 200)[:2] == (50, 37)
    up, down, err = rational_ratio(200, 200 * np.sqrt(2))
    assert down <= 1000 and 0 < abs(err) < 1e-5


def test_resample_round_trip_2hz_sine():
    fs = 100.0
    t = np.arange(1000) / fs
    x = np.sin(2 * np.pi * 2 * t)
    up = resample(x, 100, 200)
    assert up.shape == (2000,)
    np.testing.assert_allclose(up[100:-100], np.sin(2 * np.pi * 2 * np.arange(2000) / 200)[100:-100], atol=1e-2)
    back = resample(up, 200, 100)
    assert back.shape == x.shape
    np.testing.assert_allclose(back[50:-50], x[50:-50], atol=1e-2)


def test_resample_204_8_to_100_is_anti_aliased():
    fs = 204.8
    n = 4096  # 20 s
    t = np.arange(n) / fs
    x = np.sin(2 * np.pi * 5 * t) + np.sin(2 * np.pi * 80 * t)  # 80 Hz would alias to 20 Hz at 100 Hz
    y = resample(x, fs, 100.0)
    assert y.shape == (n_resampled(n, fs, 100.0),) == (2000,)
    win = np.hanning(y.size)
    spec = np.abs(np.fft.rfft(y * win)) * 2 / win.sum()  # amplitude spectrum
    f = np.fft.rfftfreq(y.size, 1 / 100.0)
    amp5 = spec[np.argmin(np.abs(f - 5))]
    amp20 = spec[np.abs(f - 20) < 1].max()
    assert amp5 == pytest.approx(1.0, abs=0.01)
    assert 20 * np.log10(amp20 / 1.0) < -40  # the 80 Hz component (amplitude 1) suppressed by > 40 dB
    # and the 5 Hz sine is kept in phase (zero-phase filter)
    tt = np.arange(y.size) / 100.0
    y5 = resample(np.sin(2 * np.pi * 5 * t), fs, 100.0)
    np.testing.assert_allclose(y5[100:-100], np.sin(2 * np.pi * 5 * tt)[100:-100], atol=1e-2)


def test_resample_irrational_ratio_lands_on_exact_grid():
    fs_in, fs_out = 100.0, 100.0 * np.sqrt(2)
    x = np.sin(2 * np.pi * 3 * np.arange(3000) / fs_in)
    y = resample(x, fs_in, fs_out)
    assert y.size == n_resampled(3000, fs_in, fs_out)
    ty = np.arange(y.size) / fs_out
    np.testing.assert_allclose(y[100:-100], np.sin(2 * np.pi * 3 * ty)[100:-100], atol=1e-2)


def test_resample_axis_dtype_and_length_helper(rng):
    x = rng.normal(size=(3, 740)).astype(np.float32)  # time along axis 1
    y = resample(x, 148, 200, axis=1)
    assert y.shape == (3, 1000) and y.dtype == np.float32
    back = resample_to_length(y, 200, 148, 740, axis=1)
    assert back.shape == x.shape
    same = resample(x, 148, 148, axis=1)
    assert same is not x and np.array_equal(same, x)
    padded = resample_to_length(np.arange(10.0), 100, 100, 12)
    assert padded.tolist()[-3:] == [9.0, 9.0, 9.0]
    with pytest.raises(ImukinError):
        resample(x, 0, 100)
    with pytest.raises(ImukinError):
        resample(np.zeros((0, 3)), 100, 200)


def test_cnn_long_windows_match_one_pass_over_the_whole_recording():
    """A CNN (finite receptive field) runs on long, slightly overlapping windows with the
    result of a single pass over the whole recording; a transformer keeps its window."""
    from imukin.inference import LOCAL_WINDOW, inference_windowing
    from imukin.models import create_model

    torch.manual_seed(0)
    cnn = create_model("cnn", n_layers=2, channels=8, kernel_size=21).eval()
    how = inference_windowing(cnn, 400)
    assert how["window"] == LOCAL_WINDOW and 0 < how["overlap"] * LOCAL_WINDOW <= cnn.receptive_field + 4
    x = np.random.default_rng(0).standard_normal((3 * LOCAL_WINDOW + 123, 16)).astype(np.float32)
    with torch.no_grad():
        whole = cnn(torch.from_numpy(x)[None])[0].numpy()  # (T, 3)
    y = predict_windows(cnn, x, **how)
    assert np.max(np.abs(y - whole)) < 1e-5 * np.max(np.abs(whole))
    plain = predict_windows(cnn, x, window=how["window"], overlap=how["overlap"])  # no margin: edges leak in
    assert np.max(np.abs(plain - whole)) > 1e-3 * np.max(np.abs(whole))
    transformer = create_model("transformer", d_model=16, n_heads=2, n_layers=1, d_ff=16)
    assert inference_windowing(transformer, 400) == {"window": 400, "overlap": 0.5, "margin": 0}


def test_inference_model_computes_what_the_model_computes(rng):
    """The faster copy (channels-last convolutions, batch norm as an affine map) agrees with the
    model to float32 rounding, leaves the model as it was, and is only made where it applies."""
    from imukin.inference import FFT_MIN_SPAN, ChannelsLastConv1d, FFTConv1d, inference_model
    from imukin.models import create_model

    torch.manual_seed(0)
    x = torch.from_numpy(rng.standard_normal((3, 1000, 16)).astype(np.float32))
    for kwargs in ({}, {"dilation": 2}, {"causal": True}, {"causal": True, "dilation": 2}):
        cnn = create_model("cnn", n_layers=3, channels=24, kernel_size=21, **kwargs)
        for m in cnn.modules():  # batch statistics that are not the identity
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
        cnn.eval()
        fast = inference_model(cnn)
        kind = FFTConv1d if 20 * kwargs.get("dilation", 1) + 1 >= FFT_MIN_SPAN else ChannelsLastConv1d
        assert fast is not cnn and sum(isinstance(m, kind) for m in fast.modules()) == 3, kwargs
        assert not any(isinstance(m, torch.nn.Conv1d) for m in fast.modules())
        assert not any(isinstance(m, (ChannelsLastConv1d, FFTConv1d)) for m in cnn.modules())
        with torch.no_grad():
            want, got = cnn(x), fast(x)
        assert torch.max(torch.abs(got - want)) <= 1e-5 * torch.max(torch.abs(want))
    assert inference_model(cnn.train()) is cnn  # training mode: left alone
    transformer = create_model("transformer", d_model=16, n_heads=2, n_layers=1, d_ff=16).eval()
    assert inference_model(transformer) is transformer  # nothing to swap


def test_default_batch_holds_a_fixed_number_of_frames():
    from imukin.inference import DEFAULT_BATCH_FRAMES

    seen = []

    def fn(b):
        seen.append(b.shape[0])
        return b[..., :1]

    predict_windows(fn, np.zeros((200_000, 2), np.float32), window=1000)
    assert max(seen) == DEFAULT_BATCH_FRAMES // 1000


@settings(max_examples=40, deadline=None)
@given(c_in=st.integers(1, 9), c_out=st.integers(1, 9), k=st.integers(1, 45), dilation=st.integers(1, 3),
       padding=st.sampled_from(["same", "valid", 0, 3]), frames=st.integers(1, 700), bias=st.booleans(),
       block=st.sampled_from([256, 512]))
def test_fft_convolution_is_the_convolution(c_in, c_out, k, dilation, padding, frames, bias, block):
    """FFTConv1d against Conv1d itself, on every padding and any length the convolution takes."""
    from imukin.inference import FFTConv1d

    span = (k - 1) * dilation + 1
    assume(span < block)
    pad = 0 if padding == "valid" else (span - 1 if padding == "same" else 2 * padding)
    assume(frames + pad >= span)
    torch.manual_seed(frames)
    conv = torch.nn.Conv1d(c_in, c_out, k, padding=padding, dilation=dilation, bias=bias).eval()
    x = torch.randn(2, frames, c_in).transpose(1, 2)  # (B, C, T) as the models pass it
    with torch.no_grad():
        want, got = conv(x.contiguous()), FFTConv1d(conv, block=block)(x)
    assert got.shape == want.shape
    assert torch.max(torch.abs(got - want)) <= 1e-5 * (1 + torch.max(torch.abs(want)))


def test_lazy_frames_give_what_the_array_gives(rng):
    """A signal made window by window (LazyFrames) runs to exactly the array's result, and only the
    frames of the windows asked for are ever made."""
    from imukin.inference import LazyFrames, inference_windowing
    from imukin.models import create_model

    torch.manual_seed(0)
    cnn = create_model("cnn", n_layers=2, channels=8, kernel_size=21).eval()
    x = rng.standard_normal((40_000, 16)).astype(np.float32)
    asked = []

    def frames(i, j):
        asked.append(j - i)
        return x[i:j]

    how = inference_windowing(cnn, 400)
    want = predict_windows(cnn, x, **how)
    got = predict_windows(cnn, LazyFrames(len(x), 16, frames), **how)
    assert np.array_equal(got, want)
    assert max(asked) <= how["window"] < len(x)  # never the whole signal at once
    n_windows = window_starts(len(x), how["window"], how["overlap"]).size
    assert asked == [how["window"]] * n_windows  # the windows' frames, each window once
    with pytest.raises(ImukinError, match="contiguous"):
        LazyFrames(10, 1, frames)[::2]


def test_passes_run_two_at_a_time_on_half_the_threads_each():
    """run_concurrently overlaps two calls (a barrier two calls must reach together would time out one
    after the other), gives each half the intra-op threads, restores the count and raises what a call raised."""
    import threading

    from imukin.inference import run_concurrently

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        barrier, seen = threading.Barrier(2, timeout=10), []

        def meet(k):
            seen.append((k, torch.get_num_threads()))
            barrier.wait()

        run_concurrently(meet, range(4))
        assert sorted(k for k, _ in seen) == [0, 1, 2, 3] and {n for _, n in seen} == {1}
        assert torch.get_num_threads() == 2

        def fail(k):
            if k == 3:
                raise ValueError("pass 3 failed")

        with pytest.raises(ValueError, match="pass 3"):
            run_concurrently(fail, range(5))
        assert torch.get_num_threads() == 2
        order = []
        run_concurrently(order.append, range(3), device="cuda")  # a GPU: one call after the other, in order
        assert order == [0, 1, 2] and torch.get_num_threads() == 2
        torch.set_num_threads(1)  # one thread: the same
        order = []
        run_concurrently(order.append, range(3))
        assert order == [0, 1, 2]
    finally:
        torch.set_num_threads(before)
