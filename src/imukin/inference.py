"""Prediction on recordings of any length and any sampling rate.

Windowed prediction
-------------------
:func:`predict_windows` cuts a long (T, C) signal into overlapping windows of a
fixed length (as demucs' ``apply_model(split=True)`` does for audio), runs the model
on a few windows at a time, and blends the window outputs back with a smooth taper.
Each position's blend weights are normalised to sum to one and frames are summed in
float64 until final, so a model whose output is constant stays exactly constant
everywhere, edges included, and a pointwise model gives exactly its full-length
result. Memory does not grow with T beyond the (T, K) output: windows are cut
from the input batch by batch, and only one window's worth of frames is pending.

Faster layers
-------------
:func:`inference_model` gives a copy of a model in ``eval()`` mode whose layers compute the
same function faster on a CPU: each ``Conv1d`` runs as a 2-D convolution on channels-last
memory (oneDNN's fastest path for these shapes, about twice the speed of its 1-D one on
(B, C, T) input), and each ``BatchNorm1d`` as the per-channel affine map it is in
``eval()`` mode, which keeps that memory layout. A ``Conv1d`` whose kernel spans
:data:`FFT_MIN_SPAN` frames or more runs instead as :class:`FFTConv1d`, an overlap-save FFT
convolution that needs a fraction of the multiplications. The outputs agree to float32 rounding
(:func:`inference_model` checks this on a short input and falls back to the model itself
otherwise).

Side by side
------------
:func:`run_concurrently` runs several network passes (e.g. the joints of a recording) two at a
time, each on half of PyTorch's CPU threads: the FFTs, products and element-wise steps of one
pass leave cores idle that the other pass then uses. On 2 cores two passes with one thread each
take about 14 % less time than one after the other with two.

Rate changes live in :mod:`imukin.signal` (:func:`imukin.signal.resample`).
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from imukin.errors import ImukinError
from imukin.signal import DEFAULT_WINDOW, window_starts

DEFAULT_OVERLAP = 0.5  # fraction of a window shared with the next one
DEFAULT_BATCH_FRAMES = 16384  # frames per model call (windows x window length): bounds memory independently of T;
# one CNN window (LOCAL_WINDOW) per call; no slower than 65536, and two passes side by side hold half the memory
LOCAL_WINDOW = 16384  # frames per window for models with a finite receptive field (see inference_windowing)
CONCURRENT_PASSES = 2  # network passes run side by side on a CPU by run_concurrently (each on 1/2 of the threads)
FFT_MIN_SPAN = 32  # frames a Conv1d's dilated kernel spans from which FFTConv1d computes it (3-4x faster than
# the direct ChannelsLastConv1d for the shipped CNNs' 70-channel kernels spanning 41-81 frames; slower below ~20)


# ---------------------------------------------------------------- windowed prediction
def _taper(n: int) -> np.ndarray:
    """Strictly positive Hann taper of length ``n``: (n,), sampled at bin centres.

    ``0.5 - 0.5 cos(2 pi (i + 0.5) / n)`` never reaches zero, so the first and last
    samples of a recording (covered by one window only) keep a usable weight, and
    windows at 50 % overlap sum to a constant.
    """
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * (np.arange(n) + 0.5) / n)).astype(np.float64)


def _blend_weights(starts: np.ndarray, taper: np.ndarray, j: int) -> np.ndarray:
    """Weights of window ``j`` normalised by the taper sum of all windows at each frame: (W,).

    Only windows starting within ``W`` frames of window ``j`` overlap it, so this
    costs O(W * overlapping windows) and no T-sized memory.
    """
    w = taper.size
    s = starts[j]
    lo = np.searchsorted(starts, s - w, side="right")
    hi = np.searchsorted(starts, s + w, side="left")
    den = np.zeros(w)  # (W,) taper sum at frames s .. s+W-1
    for k in range(lo, hi):
        d = int(starts[k] - s)  # offset of window k relative to window j, |d| < W
        if d >= 0:
            den[d:] += taper[: w - d]
        else:
            den[: w + d] += taper[-d:]
    return taper / den


class ChannelsLastConv1d(torch.nn.Module):
    """A ``Conv1d`` (zero padding) computed as a 2-D convolution on channels-last memory: (B, C, T) -> (B, O, T).

    Input that is a transposed (B, T, C) tensor, as sequence models pass it, is used without a copy,
    and the output keeps that layout.
    """

    def __init__(self, conv: torch.nn.Conv1d):
        super().__init__()
        w = conv.weight.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last)  # (O, C/g, 1, k)
        self.register_buffer("weight", w)
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone())
        self.padding = conv.padding if isinstance(conv.padding, str) else (0, conv.padding[0])
        self.stride, self.dilation, self.groups = (1, conv.stride[0]), (1, conv.dilation[0]), conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x.unsqueeze(2), self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups).squeeze(2)


def kernel_span(conv: torch.nn.Conv1d) -> int:
    """Frames a ``Conv1d``'s dilated kernel spans: ``(k - 1) * dilation + 1``."""
    return (conv.kernel_size[0] - 1) * conv.dilation[0] + 1


class FFTConv1d(torch.nn.Module):
    """A ``Conv1d`` (zero padding, stride 1, one group) computed by overlap-save FFT: (B, C, T) -> (B, O, T').

    Each block of ``block`` input frames is transformed once, every output channel is a sum over the
    input channels of products in the frequency domain (one matrix product per frequency over all
    blocks of the batch), and the ``block - k_eff + 1`` frames of each block that the circular
    convolution leaves exact are kept (``k_eff``: the dilated kernel's span). For kernels spanning tens
    of frames this needs a fraction of a direct convolution's multiplications; the result agrees with
    it to float32 rounding.
    """

    def __init__(self, conv: torch.nn.Conv1d, block: int = 256):
        super().__init__()
        w = conv.weight.detach()  # (O, C, k)
        d, span = conv.dilation[0], kernel_span(conv)
        if block <= span:
            raise ImukinError(f"FFTConv1d block {block} must exceed the kernel's span {span}")
        dilated = w.new_zeros(w.shape[0], w.shape[1], span)
        dilated[..., ::d] = w
        # correlation (what Conv1d computes) is convolution with the kernel reversed
        self.register_buffer("weight_f", torch.fft.rfft(dilated.flip(-1), n=block).permute(2, 1, 0).contiguous())
        self.register_buffer("bias", None if conv.bias is None else conv.bias.detach().clone()[:, None])
        if conv.padding == "same":  # (Conv1d refuses "same" with stride > 1)
            self.pad = ((span - 1) // 2, span - 1 - (span - 1) // 2)
        elif conv.padding == "valid":
            self.pad = (0, 0)
        else:
            self.pad = (conv.padding[0], conv.padding[0])
        self.span, self.block, self.out_channels = span, block, w.shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        n_out = t + sum(self.pad) - self.span + 1  # output frames
        if n_out < 1:
            raise ImukinError(f"FFTConv1d: {t} input frames (padded by {self.pad}) are fewer than the kernel's span "
                              f"{self.span}")
        keep = self.block - self.span + 1  # exact frames per block
        n_blocks = -(-n_out // keep)
        xp = F.pad(x, (self.pad[0], n_blocks * keep + self.span - 1 - t - self.pad[0]))  # (B, C, n_blocks*keep+span-1)
        y = x.new_empty(b, self.out_channels, n_out)  # (B, O, T')
        for i in range(b):  # one sequence at a time: the spectra of a whole batch would take several times the memory
            spec = torch.fft.rfft(xp[i].unfold(-1, self.block, keep), dim=-1)  # (C, n_blocks, F)
            out = torch.matmul(spec.permute(2, 1, 0), self.weight_f)  # (F, n_blocks, O)
            yi = torch.fft.irfft(out.permute(2, 1, 0), n=self.block, dim=-1)  # (O, n_blocks, block)
            y[i] = yi[..., self.span - 1:].reshape(self.out_channels, n_blocks * keep)[:, :n_out]
        return y if self.bias is None else y.add_(self.bias)


class ChannelAffine(torch.nn.Module):
    """``BatchNorm1d`` in ``eval()`` mode as ``x * scale + shift`` per channel (dim 1), in any memory layout."""

    def __init__(self, bn: torch.nn.BatchNorm1d):
        super().__init__()
        scale = torch.rsqrt(bn.running_var.detach() + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight.detach()
        shift = -bn.running_mean.detach() * scale
        if bn.bias is not None:
            shift = shift + bn.bias.detach()
        self.register_buffer("scale", scale[:, None])  # (C, 1): broadcasts over (B, C, T)
        self.register_buffer("shift", shift[:, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.shift, x, self.scale)


def inference_model(model: torch.nn.Module, check_frames: int = 512, atol: float = 1e-4) -> torch.nn.Module:
    """A copy of ``model`` (in ``eval()`` mode) with faster equivalents of its 1-D layers, for CPU inference.

    ``Conv1d`` with zero padding becomes :class:`ChannelsLastConv1d`, ``BatchNorm1d`` with
    running statistics :class:`ChannelAffine` (see the module notes). On other devices, or
    when nothing is swapped, the model itself is returned. The copy is checked against the
    model on a random (2, ``check_frames``, C) input; if they differ by more than ``atol``
    (relative to the output's scale) the model itself is returned.

    Parameters
    ----------
    model : torch.nn.Module
        A sequence model (B, T, C) -> (B, T, K) in ``eval()`` mode.
    check_frames : int
        Length of the check input.
    atol : float
        Largest accepted difference, relative to ``max(1, max |output|)``.

    Returns
    -------
    torch.nn.Module
    """
    if model.training or _module_device(model).type != "cpu":
        return model
    fast = copy.deepcopy(model)
    swapped = 0
    for parent in fast.modules():
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.Conv1d and child.padding_mode == "zeros":
                fft = kernel_span(child) >= FFT_MIN_SPAN and child.stride[0] == 1 and child.groups == 1
                setattr(parent, name, FFTConv1d(child) if fft else ChannelsLastConv1d(child))
                swapped += 1
            elif type(child) is torch.nn.BatchNorm1d and child.track_running_stats and child.running_var is not None:
                setattr(parent, name, ChannelAffine(child))
                swapped += 1
    if not swapped:
        return model
    c_in = getattr(getattr(model, "config", None), "in_channels", None)
    if c_in is None:
        return model
    x = torch.randn(2, int(check_frames), int(c_in), generator=torch.Generator().manual_seed(0))
    try:
        with torch.inference_mode():
            want, got = model(x), fast(x)
    except Exception:  # noqa: BLE001 -- any doubt: keep the model as it is
        return model
    if got.shape != want.shape or not bool((got - want).abs().max() <= atol * max(1.0, float(want.abs().max()))):
        return model
    return fast


def _module_device(fn) -> torch.device:
    if isinstance(fn, torch.nn.Module):
        for p in fn.parameters():
            return p.device
        for b in fn.buffers():
            return b.device
    return torch.device("cpu")


def inference_windowing(model, window: int) -> dict:
    """Window length, overlap and edge margin to run ``model`` with over a long recording.

    A model whose output frame depends only on a finite ``receptive_field`` (the CNN)
    gives the same result inside any window longer than that field, so it runs on long
    windows (``LOCAL_WINDOW``) that overlap by about one receptive field, and the frames
    near a window edge (whose field reaches into the padding) are taken from the
    neighbouring window: the one-pass result at little extra cost. Other models (transformer,
    LSTM) see their whole window and run on their training window at 50 % overlap.

    Returns
    -------
    dict
        ``window``, ``overlap`` and ``margin`` for :func:`predict_windows`.
    """
    rf = getattr(model, "receptive_field", None)
    if not rf:
        return {"window": int(window), "overlap": DEFAULT_OVERLAP, "margin": 0}
    w = max(int(window), LOCAL_WINDOW, 8 * int(rf))
    # output frames within this of a window edge see its padding (a causal model's field lies all before the frame)
    half = int(rf) if getattr(getattr(model, "config", None), "causal", False) else int(rf) // 2 + 1
    return {"window": w, "overlap": min(DEFAULT_OVERLAP, 2.0 * (half + 1) / w), "margin": half}


class LazyFrames:
    """A (T, C) signal made a stretch at a time, for :func:`predict_windows` in place of an array.

    ``frames(i, j)`` gives frames ``i:j`` as a (j - i, C) array; :func:`predict_windows` asks only
    for its windows, so a long recording's model input never exists whole.

    Examples
    --------
    >>> import numpy as np
    >>> x = LazyFrames(1000, 2, lambda i, j: np.arange(i, j, dtype=np.float32)[:, None].repeat(2, 1))
    >>> x.shape, x[10:12].tolist()
    ((1000, 2), [[10.0, 10.0], [11.0, 11.0]])
    """

    ndim = 2

    def __init__(self, n_frames: int, n_channels: int, frames: Callable[[int, int], np.ndarray]):
        self.shape, self.frames = (int(n_frames), int(n_channels)), frames

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: slice) -> np.ndarray:
        start, stop, step = key.indices(self.shape[0])
        if step != 1:
            raise ImukinError("LazyFrames gives contiguous stretches of frames only")
        return self.frames(start, stop)


def predict_windows(fn: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray | LazyFrames,
                    window: int = DEFAULT_WINDOW, overlap: float = DEFAULT_OVERLAP, batch_size: int | None = None,
                    progress: bool | str = False, device: str | torch.device | None = None,
                    margin: int = 0) -> np.ndarray:
    """Run a sequence model over a signal of any length in overlapping, blended windows.

    Parameters
    ----------
    fn : callable
        Maps a float32 tensor (B, W, C) to a tensor (B, W, K), e.g. a model in
        ``eval()`` mode (its mode is left as it is). Called under ``torch.inference_mode()``.
    x : ndarray or LazyFrames, shape (T, C)
        Input signal (already normalised as the model expects). Cast to float32 one
        batch at a time, so a float64 input is not copied whole; a :class:`LazyFrames`
        is made window by window.
    window : int
        Window length W in frames. A signal shorter than W is run as one window of its
        own length.
    overlap : float
        Fraction of a window shared with the next, in [0, 1). Frames near a window's
        edges see less context; the Hann taper gives them less weight.
    batch_size : int, optional
        Windows per call of ``fn``; with ``window`` it bounds the memory used. Default:
        as many as hold :data:`DEFAULT_BATCH_FRAMES` frames (at least one); a small model
        runs much faster on a few large calls than on many small ones.
    progress : bool or str
        Show a tqdm progress bar over batches (a str: the bar's label, e.g. the joint, where
        several run side by side).
    device : str or torch.device, optional
        Where to put each batch; by default the device of ``fn``'s parameters when it
        is an ``nn.Module``, else the CPU.
    margin : int
        Frames at each window edge whose weight is scaled by 1e-9: wherever another window
        covers them, that window's output is used (a model with a finite receptive field
        then gives exactly its one-pass result when the windows overlap by ``2 * margin``
        frames or more); at the recording's ends they keep their full weight.

    Returns
    -------
    ndarray, shape (T, K), float32
        Blended outputs. Where windows overlap the output is the taper-weighted mean of
        their outputs, with weights summing to one at every frame.

    Examples
    --------
    >>> import numpy as np, torch
    >>> y = predict_windows(lambda b: 2 * b, np.ones((1000, 3), np.float32), window=256)
    >>> y.shape, float(y.min()), float(y.max())
    ((1000, 3), 2.0, 2.0)
    """
    n_frames, window, batch_size = _checked_windowing(x, window, overlap, batch_size)
    dev = torch.device(device) if device is not None else _module_device(fn)
    starts = window_starts(n_frames, window, overlap)
    blender = _OverlapAdd(n_frames, window, starts, _edge_taper(window, margin))
    batches = range(0, starts.size, batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc=progress if isinstance(progress, str) else "windows", unit="batch")
    with torch.inference_mode():
        for b0 in batches:
            idx = range(b0, min(b0 + batch_size, starts.size))
            y = _run_batch(fn, x, starts, idx, window, dev)  # (B, W, K)
            for i, j in enumerate(idx):
                blender.add(j, y[i])
    return blender.finish()


def _checked_windowing(x, window, overlap, batch_size) -> tuple[int, int, int]:
    """``(n_frames, window, batch_size)`` for :func:`predict_windows`, or one line on what is wrong."""
    if not isinstance(x, (np.ndarray, LazyFrames)) or x.ndim != 2:
        raise ImukinError(f"input must be a numpy array (T, C), got {getattr(x, 'shape', type(x).__name__)}; "
                          "stack the channels as columns")
    n_frames = x.shape[0]
    if n_frames == 0:
        raise ImukinError("input has no frames; pass a recording with at least one sample")
    if batch_size is None:
        batch_size = max(1, DEFAULT_BATCH_FRAMES // max(1, min(int(window), n_frames)))
    if int(window) < 1 or int(batch_size) < 1:
        raise ImukinError(f"window ({window}) and batch_size ({batch_size}) must be positive integers")
    if not 0.0 <= overlap < 1.0:
        raise ImukinError(f"overlap {overlap} is outside [0, 1); use e.g. 0.5 for half-window overlap")
    return n_frames, int(min(window, n_frames)), int(batch_size)


def _edge_taper(window: int, margin: int) -> np.ndarray:
    """The blend taper (W,) with ``margin`` frames at each edge scaled by 1e-9."""
    taper = _taper(window)  # (W,)
    m = min(int(margin), window // 2)
    if m > 0:
        taper[:m] *= 1e-9
        taper[window - m:] *= 1e-9
    return taper


def _run_batch(fn, x: np.ndarray | LazyFrames, starts: np.ndarray, idx: range, window: int, dev) -> np.ndarray:
    """The model's outputs (B, W, K) float32 for the windows ``idx`` of ``x``, checked for shape."""
    chunk = np.stack([x[starts[j]:starts[j] + window] for j in idx]).astype(np.float32, copy=False)  # (B, W, C)
    y = fn(torch.from_numpy(chunk).to(dev))  # (B, W, K)
    if not isinstance(y, torch.Tensor) or y.ndim != 3 or y.shape[:2] != (len(idx), window):
        raise ImukinError(f"the model returned {getattr(y, 'shape', type(y).__name__)} for input "
                          f"{tuple(chunk.shape)}; it must map (B, W, C) to (B, W, K)")
    return y.detach().to("cpu", torch.float32).numpy()


class _OverlapAdd:
    """Taper-weighted overlap-add of window outputs, windows added in order of their start.

    Frames before the current window's start get no more contributions: they are final. The
    pending frames ``[p0, p0 + W)`` accumulate in float64, so weights summing to one give back
    a constant (or the identity) exactly once rounded to float32.
    """

    def __init__(self, n_frames: int, window: int, starts: np.ndarray, taper: np.ndarray):
        self.n_frames, self.window, self.starts, self.taper = n_frames, window, starts, taper
        self.out: np.ndarray | None = None  # (T, K) float32, allocated once K is known
        self.pend: np.ndarray | None = None  # (W, K) float64
        self.p0 = 0
        self.cache: dict[tuple, np.ndarray] = {}  # interior windows share their blend weights

    def add(self, j: int, y: np.ndarray) -> None:
        """Add the output (W, K) of window ``j``."""
        w = self.window
        if self.out is None:
            self.out = np.empty((self.n_frames, y.shape[1]), dtype=np.float32)  # (T, K)
            self.pend = np.zeros((w, y.shape[1]))  # (W, K)
        s = int(self.starts[j])
        shift = s - self.p0  # 0 <= shift <= W since hop <= W
        if shift:
            self.out[self.p0:s] = self.pend[:shift]
            self.pend[: w - shift] = self.pend[shift:]
            self.pend[w - shift:] = 0.0
            self.p0 = s
        lo = np.searchsorted(self.starts, s - w, side="right")
        hi = np.searchsorted(self.starts, s + w, side="left")
        key = tuple((self.starts[lo:hi] - s).tolist())
        if key not in self.cache:
            if len(self.cache) > 64:  # only edge windows differ from the interior; keep it small
                self.cache.clear()
            self.cache[key] = _blend_weights(self.starts, self.taper, j)
        self.pend += self.cache[key][:, None] * y

    def finish(self) -> np.ndarray:
        """The blended outputs (T, K) float32."""
        assert self.out is not None and self.p0 + self.window == self.n_frames  # the last window ends at T
        self.out[self.p0:] = self.pend
        return self.out


# ---------------------------------------------------------------- passes side by side
def run_concurrently(fn: Callable, items: Iterable, device: str | torch.device = "cpu") -> None:
    """Call ``fn(item)`` for every item, :data:`CONCURRENT_PASSES` at a time on a CPU.

    Each concurrent call runs on ``torch.get_num_threads() // CONCURRENT_PASSES`` intra-op threads
    (restored afterwards). On a GPU, with one CPU thread or one item, the calls run one after the
    other. ``fn`` must be safe to call from several threads at once (PyTorch modules in
    ``eval()`` mode under ``inference_mode`` are); the first exception raised is raised here.

    Examples
    --------
    >>> out = {}
    >>> run_concurrently(lambda k: out.update({k: k * k}), range(4))
    >>> sorted(out.items())
    [(0, 0), (1, 1), (2, 4), (3, 9)]
    """
    items = list(items)
    n_threads = torch.get_num_threads()
    workers = min(CONCURRENT_PASSES, len(items), n_threads)
    if torch.device(device).type != "cpu" or workers < 2:
        for item in items:
            fn(item)
        return
    torch.set_num_threads(n_threads // workers)
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="imukin-pass") as pool:
            for _ in pool.map(fn, items):
                pass
    finally:
        torch.set_num_threads(n_threads)
