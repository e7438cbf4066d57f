"""Torch-free signal processing for every layer above the foundation: resampling, low-pass
filtering and overlapping windows.

Only numpy and scipy are used, so readers, preprocessing, sources and the simulator
can change rates and filter without loading torch.

Resampling
----------
:func:`resample` changes the rate with :func:`scipy.signal.resample_poly` (a
Kaiser-windowed FIR anti-aliasing filter whose delay is compensated, so the output
is zero-phase: output sample ``n`` is at time ``n / fs_out`` like input sample ``m``
is at ``m / fs_in``). The rate ratio is approximated by a fraction ``up / down``
with ``down <= 1000`` (:meth:`fractions.Fraction.limit_denominator`). Common ratios
are exact (204.8 -> 200 Hz is 125/128, 148 -> 200 Hz is 50/37, 100 -> 200 Hz is 2/1).
When the fraction is not exact (an irrational ratio, or one needing a larger
denominator) the relative rate error can reach about 1e-3, which over a long
recording becomes a real time drift (0.1 % of 10 min is 0.6 s); the polyphase
output is then moved onto the exact ``n / fs_out`` grid by cubic-spline
interpolation. That step is a tiny time warp of an already band-limited signal, so
it neither aliases nor shifts phase.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import butter, resample_poly, sosfiltfilt

from imukin.errors import ImukinError

MAX_DENOMINATOR = 1000  # largest up/down factor of the polyphase resampler
DEFAULT_WINDOW = 400  # frames; 2 s at 200 Hz: the training crop and the inference window of the models


# ---------------------------------------------------------------- resampling
def interp_columns(t_new, t, x) -> np.ndarray:
    """Linear interpolation of each column of ``x`` (N, C), sampled at increasing times ``t`` (N,), at
    ``t_new`` (M,): (M, C), edge values held outside ``t``."""
    x = np.asarray(x, float)
    return np.stack([np.interp(t_new, t, x[:, c]) for c in range(x.shape[1])], axis=1)


def _check_rate(name: str, fs: float) -> float:
    fs = float(fs)
    if not (math.isfinite(fs) and fs > 0):
        raise ImukinError(f"{name} must be a positive sampling rate in Hz, got {fs}")
    return fs


def rational_ratio(fs_in: float, fs_out: float, max_denominator: int = MAX_DENOMINATOR) -> tuple[int, int, float]:
    """Polyphase factors for ``fs_in -> fs_out``: ``(up, down, relative rate error)``.

    ``up / down`` is the closest fraction to ``fs_out / fs_in`` with
    ``down <= max_denominator``; the error is ``(fs_in * up / down) / fs_out - 1``.
    """
    fs_in = _check_rate("fs_in", fs_in)
    fs_out = _check_rate("fs_out", fs_out)
    frac = Fraction(fs_out / fs_in).limit_denominator(max_denominator)
    if frac == 0:  # extreme downsampling: keep a valid (1, down) pair
        frac = Fraction(1, max_denominator)
    err = (fs_in * frac.numerator / frac.denominator) / fs_out - 1.0
    return frac.numerator, frac.denominator, err


def n_resampled(n_in: int, fs_in: float, fs_out: float) -> int:
    """Number of samples at ``fs_out`` spanning the same time as ``n_in`` samples at ``fs_in``.

    ``ceil(n_in * fs_out / fs_in)``: the output times ``n / fs_out`` that fall before
    ``n_in / fs_in`` (matches ``resample_poly`` for exact ratios).
    """
    return max(1, int(math.ceil(n_in * float(fs_out) / float(fs_in) - 1e-9)))


def resample(x, fs_in: float, fs_out: float, axis: int = 0) -> np.ndarray:
    """Anti-aliased, zero-phase resampling from ``fs_in`` to ``fs_out`` (any ratio).

    Parameters
    ----------
    x : array_like
        Signal, time along ``axis``.
    fs_in, fs_out : float
        Input and output rates in Hz.
    axis : int
        Time axis.

    Returns
    -------
    ndarray
        ``n_resampled(n, fs_in, fs_out)`` samples along ``axis``, sample ``k`` at time
        ``k / fs_out``; float32 in, float32 out, else float64.

    Notes
    -----
    :func:`scipy.signal.resample_poly` with ``padtype="line"`` (edges extended by a
    fitted line, so a gravity offset or a trend does not ring at the ends). A ratio
    that is not exactly ``up / down`` with ``down <= 1000`` gets a cubic-spline step
    onto the exact output grid (see the module notes).
    """
    fs_in = _check_rate("fs_in", fs_in)
    fs_out = _check_rate("fs_out", fs_out)
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[axis] == 0:
        raise ImukinError(f"cannot resample an array of shape {x.shape} along axis {axis}; it has no samples")
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    x = x.astype(dtype, copy=False)
    n_in = x.shape[axis]
    if fs_in == fs_out:
        return x.copy()
    if n_in == 1:  # a single sample is a constant
        return np.repeat(x, n_resampled(1, fs_in, fs_out), axis=axis)
    up, down, err = rational_ratio(fs_in, fs_out)
    y = resample_poly(x, up, down, axis=axis, padtype="line")  # at fs_mid = fs_in * up / down
    n_out = n_resampled(n_in, fs_in, fs_out)
    if abs(err) < 1e-12:
        return _fit_length(y, n_out, axis).astype(dtype, copy=False)
    fs_mid = fs_in * up / down
    t_mid = np.arange(y.shape[axis]) / fs_mid  # (M,)
    t_out = np.arange(n_out) / fs_out  # (n_out,)
    spline = CubicSpline(t_mid, y, axis=axis, bc_type="not-a-knot", extrapolate=True)
    return spline(t_out).astype(dtype, copy=False)


def _fit_length(y: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Crop, or extend by repeating the last sample, to exactly ``n`` samples along ``axis``."""
    m = y.shape[axis]
    if m >= n:
        return np.take(y, np.arange(n), axis=axis)
    pad = [(0, 0)] * y.ndim
    pad[axis] = (0, n - m)
    return np.pad(y, pad, mode="edge")


def resample_to_length(x, fs_in: float, fs_out: float, n_out: int, axis: int = 0) -> np.ndarray:
    """Resample and return exactly ``n_out`` samples along ``axis``.

    For coming back to a recording's own length after processing at another rate,
    e.g. ``resample_to_length(y_200hz, 200, 148, n_original)``: rounding of the
    sample count at each rate change can leave one sample too many or too few, which
    this crops or fills with the last value.
    """
    if int(n_out) < 1:
        raise ImukinError(f"n_out must be at least 1, got {n_out}")
    return _fit_length(resample(x, fs_in, fs_out, axis=axis), int(n_out), axis)


# ---------------------------------------------------------------- filtering
LOWPASS_MAX_FRACTION = 0.45  # of fs; a cutoff at or above this passes practically the whole band: no filtering


def lowpass(x, fs: float, cutoff_hz: float | None, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 (the design run forwards and backwards).

    Parameters
    ----------
    x : array_like, shape (N, ...)
        Signal, time along axis 0.
    fs : float
        Sampling rate, Hz.
    cutoff_hz : float or None
        -3 dB frequency of one pass (the forward-backward result is at -6 dB there).
        ``None``, zero or a negative value means no filtering.
    order : int
        Order of the Butterworth design (the effective order is twice this).

    Returns
    -------
    ndarray, shape (N, ...), float64
        A new array. It holds ``x`` unfiltered when ``cutoff_hz`` is unset, when it is at
        or above ``LOWPASS_MAX_FRACTION * fs`` (0.45 fs: the filter would pass practically
        the whole band, and a design that close to Nyquist is poorly conditioned), or when
        ``x`` has no more samples than the edge padding of
        :func:`scipy.signal.sosfiltfilt` (``3 * (2 * n_sections + 1)``, 15 for order 4),
        where the padded edges would dominate the result.
    """
    x = np.array(x, dtype=float)
    if cutoff_hz is None or not cutoff_hz > 0 or cutoff_hz >= LOWPASS_MAX_FRACTION * float(fs):
        return x
    sos = butter(int(order), float(cutoff_hz), btype="low", fs=float(fs), output="sos")
    if x.shape[0] <= 3 * (2 * len(sos) + 1):
        return x
    return sosfiltfilt(sos, x, axis=0)


# ---------------------------------------------------------------- windows
def window_starts(n_frames: int, window: int, overlap: float) -> np.ndarray:
    """Start frames of the overlapping windows covering ``n_frames`` frames.

    Windows of length ``window`` start every ``hop = max(1, round(window * (1 - overlap)))``
    frames; one last window is added flush with the end when the regular grid does
    not reach it. For ``n_frames <= window`` there is a single window at 0 (of length
    ``n_frames``).

    Parameters
    ----------
    n_frames : int
        Frames to cover.
    window : int
        Window length in frames.
    overlap : float
        Fraction of a window shared with the next, in [0, 1).

    Returns
    -------
    ndarray of int, shape (n_windows,)
    """
    if n_frames <= window:
        return np.zeros(1, dtype=np.int64)
    hop = max(1, int(round(window * (1.0 - overlap))))
    starts = np.arange(0, n_frames - window + 1, hop, dtype=np.int64)
    if starts[-1] != n_frames - window:
        starts = np.append(starts, n_frames - window)
    return starts
