"""Resampling of real recordings: time stamps with jitter, dropped samples, any rate ratio.

Regularly sampled signals go straight to :func:`imukin.signal.resample`
(anti-aliased polyphase FIR, zero phase, any ratio including irrational ones). Real
recordings carry time stamps instead, and those have two kinds of defect that this
module repairs first:

Jitter
    Wireless IMUs sample on their own crystal but are stamped by the receiving host,
    so stamps scatter around a regular grid. :func:`regularize_timestamps` fits the
    grid ``t_k = t0 + k / fs`` (``k`` the sample index, a robust straight-line fit of
    stamp against index) and, with ``timing="grid"`` (the default), treats the
    scatter as stamp noise and places every sample on the fitted grid. The fitted
    ``fs`` is the sensor's true rate, which may differ from its nominal rate by a
    few hundred ppm. With ``timing="stamps"`` the stamps are taken as the true
    sampling instants and the signal is interpolated from them.
Gaps
    Samples missing from the grid (a stamp step of ``k`` periods, ``k >= 2``) are
    filled by cubic interpolation across the gap when the gap is at most
    ``max_gap_s`` long; longer gaps are filled linearly (so the anti-aliasing filter
    does not ring) and *flagged*: the output carries a boolean mask of the frames
    that lie in a long gap, and the list of gaps.

After repair the signal is regular at the fitted rate and goes through the
polyphase resampler, whose zero-phase FIR keeps events where they were.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline

from imukin.errors import ImukinError
from imukin.signal import n_resampled, resample

MAX_GAP_S = 0.1  # s, longest gap filled silently (5-20 samples at gait rates); longer ones are flagged
_FIRST_FIT = 256  # samples in the first grid fit, doubled until all are used
GAP_FACTOR = 1.5  # a stamp step longer than this many sample periods is a gap
MAX_JITTER = 0.45  # largest accepted |stamp - grid| in sample periods; beyond it the stamps are not a jittered grid


@dataclass
class Gap:
    """One stretch of missing samples in the input."""

    t_start_s: float  # time of the last sample before the gap
    t_end_s: float  # time of the first sample after it
    n_missing: int  # samples missing from the regular grid
    filled: bool  # True: cubic fill (short gap); False: linear fill, frames flagged

    @property
    def duration_s(self) -> float:
        return self.t_end_s - self.t_start_s


@dataclass
class TimingReport:
    """What :func:`regularize_timestamps` found in a time stamp series."""

    fs_nominal: float | None = None  # Hz, rate given by the caller (None: estimated)
    fs_fitted: float = 0.0  # Hz, rate of the fitted sampling grid
    t0_s: float = 0.0  # s, time of grid sample 0
    jitter_rms_s: float = 0.0  # s, RMS of stamp minus fitted grid time
    jitter_max_s: float = 0.0  # s, largest |stamp - grid|
    n_duplicates: int = 0  # stamps dropped because they repeat a grid slot
    gaps: list[Gap] = field(default_factory=list)

    @property
    def drift_ppm(self) -> float | None:
        """Rate of the sensor clock relative to its nominal rate, parts per million."""
        if self.fs_nominal is None:
            return None
        return (self.fs_fitted / self.fs_nominal - 1.0) * 1e6

    def as_dict(self) -> dict:
        """Plain-type summary for provenance records."""
        return {"fs_nominal": self.fs_nominal, "fs_fitted": self.fs_fitted, "t0_s": self.t0_s,
                "jitter_rms_s": self.jitter_rms_s, "jitter_max_s": self.jitter_max_s,
                "n_duplicates": self.n_duplicates, "drift_ppm": self.drift_ppm,
                "gaps": [{"t_start_s": g.t_start_s, "duration_s": g.duration_s, "n_missing": g.n_missing,
                          "filled": g.filled} for g in self.gaps]}


@dataclass
class Resampled:
    """A signal on a regular grid at ``fs`` after :func:`resample_timestamped`."""

    x: np.ndarray  # (M, C) signal at fs, sample k at time t0_s + k / fs
    fs: float  # Hz, output rate
    t0_s: float  # s, time of output sample 0 (on the input's clock)
    flagged: np.ndarray  # (M,) bool, True inside a gap longer than max_gap_s
    timing: TimingReport  # what was found in the input stamps

    @property
    def t(self) -> np.ndarray:
        """Output times in seconds, (M,)."""
        return self.t0_s + np.arange(len(self.x)) / self.fs


def estimate_rate(t: np.ndarray) -> float:
    """Nominal rate from time stamps: the reciprocal of the median positive stamp step (Hz)."""
    t = np.asarray(t, float)
    dt = np.diff(t)
    dt = dt[dt > 0]
    if dt.size == 0:
        raise ImukinError("time stamps never increase; pass stamps in seconds, one per sample")
    return float(1.0 / np.median(dt))


def regularize_timestamps(t, fs_nominal: float | None = None, max_gap_s: float = MAX_GAP_S
                          ) -> tuple[np.ndarray, np.ndarray, TimingReport]:
    """Fit a regular sampling grid to jittery, gappy time stamps.

    Every sample gets the grid slot nearest to its stamp on the line
    ``t = t0 + k / fs`` (the first guess of ``t0`` is the circular mean of the first
    stamps' phases on the nominal grid); the line is fitted (least squares, refitted without
    residuals beyond four standard deviations) to the first 256 samples, then to
    twice as many, and so on, so the rate is known well before a rounding could slip
    by a whole period. Robust to jitter up to nearly half a period and to a nominal
    rate off by up to about 0.1 %. A later sample that lands in an occupied slot is
    dropped (a repeated packet).

    Parameters
    ----------
    t : array_like, shape (N,)
        Time stamps in seconds, non-decreasing apart from jitter.
    fs_nominal : float, optional
        Nominal rate in Hz (the sensor's setting). Default: estimated from the
        median stamp step.
    max_gap_s : float
        Gaps up to this length are marked ``filled``; longer ones are flagged.

    Returns
    -------
    index : ndarray of int, shape (N,)
        Grid slot of every input sample (0 for the first); -1 for a sample dropped
        because an earlier one already took its slot.
    t_grid : ndarray, shape (N,)
        Fitted grid time of every input sample, ``t0 + index / fs_fitted`` (NaN for
        dropped samples).
    report : TimingReport
        Fitted rate, jitter, gaps.

    Raises
    ------
    ImukinError
        Too few stamps, non-finite stamps, or stamps that scatter by more than
        :data:`MAX_JITTER` periods around any regular grid.
    """
    t = np.asarray(t, float).ravel()
    if t.size < 2:
        raise ImukinError(f"need at least 2 time stamps to find a sampling rate, got {t.size}")
    if not np.all(np.isfinite(t)):
        raise ImukinError("time stamps contain NaN or inf; drop those rows or pass the rate with fs=")
    fs0 = float(fs_nominal) if fs_nominal is not None else estimate_rate(t)
    if not (np.isfinite(fs0) and fs0 > 0):
        raise ImukinError(f"sampling rate must be positive, got {fs0}")
    # slots from the stamps on a line fitted to a growing prefix: the rate is refined before
    # the rounding could slip by a period (a 200 ppm clock error is 0.05 periods after 256 samples)
    a = 1.0 / fs0
    n_use = min(t.size, _FIRST_FIT)
    # grid phase of the first samples as a circular mean (robust to jitter; t[0] alone may be off by it)
    theta = 2.0 * np.pi * (t[:n_use] - t[0]) * fs0
    b = float(t[0]) + float(np.angle(np.mean(np.exp(1j * theta)))) / (2.0 * np.pi * fs0)
    while True:
        index = np.rint((t[:n_use] - b) / a).astype(np.int64)  # (n_use,)
        keep = _first_in_slot(index)
        a, b = _robust_line(index[keep], t[:n_use][keep])
        if n_use == t.size:
            break
        n_use = min(t.size, 2 * n_use)
    index = np.rint((t - b) / a).astype(np.int64)  # (N,)
    b += a * index[0]
    index -= index[0]
    keep = _first_in_slot(index)
    k, tk = index[keep], t[keep]
    a, b = _robust_line(k, tk)
    if a <= 0:
        raise ImukinError("time stamps do not increase with the sample index; sort the rows by time")
    resid = tk - (a * k + b)  # (N_kept,)
    fs_fit = 1.0 / a
    if np.max(np.abs(resid)) * fs_fit > MAX_JITTER:
        raise ImukinError(f"time stamps scatter by up to {np.max(np.abs(resid)) * 1e3:.2f} ms around the best "
                          f"{fs_fit:.5g} Hz grid; pass the sensor's nominal rate (fs_nominal=) or use timing='stamps'")
    report = TimingReport(fs_nominal=None if fs_nominal is None else float(fs_nominal), fs_fitted=float(fs_fit),
                          t0_s=float(b), jitter_rms_s=float(np.sqrt(np.mean(resid ** 2))),
                          jitter_max_s=float(np.max(np.abs(resid))), n_duplicates=int((~keep).sum()))
    for i in np.flatnonzero(np.diff(k) > 1):
        n_miss = int(k[i + 1] - k[i] - 1)
        t_s, t_e = b + a * k[i], b + a * k[i + 1]
        report.gaps.append(Gap(float(t_s), float(t_e), n_miss, filled=bool(t_e - t_s <= max_gap_s + 1e-12)))
    index = np.where(keep, index, -1)
    t_grid = np.where(keep, b + a * index, np.nan)
    return index, t_grid, report


def _first_in_slot(index: np.ndarray) -> np.ndarray:
    """Mask of samples whose slot is beyond every earlier sample's slot (later duplicates dropped), (N,)."""
    return np.concatenate([[True], index[1:] > np.maximum.accumulate(index)[:-1]])


def _robust_line(k: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Least-squares ``t = a k + b``, refitted once without residuals beyond 4 SD: (a, b)."""
    a, b = np.polyfit(k.astype(float), t, 1)
    resid = t - (a * k + b)
    good = np.abs(resid) <= max(4.0 * np.std(resid), 1e-12)
    if 2 <= good.sum() < len(good):
        a, b = np.polyfit(k[good].astype(float), t[good], 1)
    return float(a), float(b)


def _fill_gaps(k: np.ndarray, x: np.ndarray, gaps: list[Gap], fs: float, t0: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Samples at slots ``k`` -> every slot 0..k[-1]: cubic fill of short gaps, linear of long ones.

    Returns the regular signal (K, C) and a (K,) mask of the slots in long gaps.
    """
    n = int(k[-1]) + 1
    out = np.empty((n, x.shape[1]))  # (K, C)
    out[k] = x
    flagged = np.zeros(n, bool)
    if len(k) == n:
        return out, flagged
    missing = np.setdiff1d(np.arange(n), k)  # (n_missing,)
    lin = np.stack([np.interp(missing, k, x[:, c]) for c in range(x.shape[1])], axis=1)  # (n_missing, C)
    cub = CubicSpline(k, x, axis=0)(missing) if len(k) >= 4 else lin
    for g in gaps:
        if not g.filled:
            s0 = int(round((g.t_start_s - t0) * fs))
            flagged[s0 + 1:s0 + 1 + g.n_missing] = True
    out[missing] = np.where(flagged[missing][:, None], lin, cub)
    return out, flagged


def resample_timestamped(t, x, fs_out: float, fs_nominal: float | None = None, timing: str = "grid",
                         max_gap_s: float = MAX_GAP_S) -> Resampled:
    """Resample a time-stamped recording onto a regular grid at ``fs_out``.

    Parameters
    ----------
    t : array_like, shape (N,)
        Time stamps in seconds (jitter, duplicates and dropped samples allowed).
    x : array_like, shape (N,) or (N, C)
        Samples.
    fs_out : float
        Output rate in Hz; any ratio to the input rate.
    fs_nominal : float, optional
        The sensor's nominal rate in Hz (default: estimated from the stamps).
    timing : {"grid", "stamps"}
        ``"grid"``: the sensor sampled regularly and the stamps carry jitter, so
        every sample is put on the fitted grid. ``"stamps"``: the stamps are the
        true sampling instants; the signal is interpolated (cubic spline) from them
        at the grid times before resampling.
    max_gap_s : float
        Longest gap filled without flagging.

    Returns
    -------
    Resampled
        Output signal (M, C), its start time, the flag mask of frames in long gaps,
        and the timing report (fitted rate, jitter, gaps).

    Examples
    --------
    >>> t = np.arange(2048) / 204.8
    >>> out = resample_timestamped(t, np.sin(2 * np.pi * t), 100.0)
    >>> out.fs, out.x.shape, bool(out.flagged.any())
    (100.0, (1000, 1), False)
    """
    if timing not in ("grid", "stamps"):
        raise ImukinError(f"timing must be 'grid' or 'stamps', got {timing!r}")
    x2 = np.asarray(x, float)
    x2 = x2.reshape(len(x2), -1)  # (N, C)
    t = np.asarray(t, float).ravel()
    if len(t) != len(x2):
        raise ImukinError(f"{len(t)} time stamps for {len(x2)} samples; pass one stamp per row")
    if not np.all(np.isfinite(x2)):
        raise ImukinError("samples contain NaN or inf; drop those rows (their stamps then mark a gap) and retry")
    if timing == "stamps":
        rep = _stamps_report(t, fs_nominal, max_gap_s)
        order = np.argsort(t, kind="stable")
        ts, xs = t[order], x2[order]
        uniq = np.concatenate([[True], np.diff(ts) > 0])
        ts, xs = ts[uniq], xs[uniq]
        n = int(np.floor((ts[-1] - ts[0]) * rep.fs_fitted + 1e-9)) + 1
        t_reg = ts[0] + np.arange(n) / rep.fs_fitted  # (K,)
        regular = CubicSpline(ts, xs, axis=0)(t_reg)  # (K, C)
        flag_in = np.zeros(n, bool)
        for g in rep.gaps:
            if not g.filled:  # linear across a long gap, and flagged
                sel = (t_reg > g.t_start_s) & (t_reg < g.t_end_s)  # (K,)
                ends = np.searchsorted(ts, [g.t_start_s, g.t_end_s])
                for c in range(regular.shape[1]):
                    regular[sel, c] = np.interp(t_reg[sel], ts[ends], xs[ends, c])
                flag_in |= sel
    else:
        index, _, rep = regularize_timestamps(t, fs_nominal, max_gap_s)
        keep = index >= 0
        regular, flag_in = _fill_gaps(index[keep], x2[keep], rep.gaps, rep.fs_fitted, rep.t0_s)  # (K, C), (K,)
    y = resample(regular, rep.fs_fitted, fs_out, axis=0)  # (M, C)
    flagged = np.zeros(len(y), bool)
    if flag_in.any():
        # an output frame is flagged when either neighbouring input slot is flagged
        slot = np.arange(len(y)) / float(fs_out) * rep.fs_fitted
        lo = np.clip(np.floor(slot).astype(int), 0, len(flag_in) - 1)
        flagged = flag_in[lo] | flag_in[np.clip(lo + 1, 0, len(flag_in) - 1)]
    return Resampled(x=y, fs=float(fs_out), t0_s=rep.t0_s, flagged=flagged, timing=rep)


def _stamps_report(t: np.ndarray, fs_nominal: float | None, max_gap_s: float) -> TimingReport:
    """Timing report when stamps are true instants: rate, spread of the steps, gaps."""
    fs = float(fs_nominal) if fs_nominal is not None else estimate_rate(t)
    ts = np.sort(t)
    dt = np.diff(ts)
    rep = TimingReport(fs_nominal=None if fs_nominal is None else fs, fs_fitted=fs, t0_s=float(ts[0]),
                       jitter_rms_s=float(np.std(dt[dt < GAP_FACTOR / fs])) if np.any(dt < GAP_FACTOR / fs) else 0.0,
                       jitter_max_s=float(np.max(np.abs(dt[dt < GAP_FACTOR / fs] - 1 / fs), initial=0.0)),
                       n_duplicates=int(np.sum(dt == 0)))
    for i in np.flatnonzero(dt > GAP_FACTOR / fs):
        rep.gaps.append(Gap(float(ts[i]), float(ts[i + 1]), int(round(dt[i] * fs)) - 1,
                            filled=bool(dt[i] <= max_gap_s + 1e-12)))
    return rep


def resample_regular(x, fs_in: float, fs_out: float) -> np.ndarray:
    """Regularly sampled (N, ...) at ``fs_in`` -> (M, ...) at ``fs_out`` (anti-aliased, zero phase).

    A thin wrapper over :func:`imukin.signal.resample` with time on axis 0;
    ``M = n_resampled(N, fs_in, fs_out)``.
    """
    return resample(np.asarray(x, float), fs_in, fs_out, axis=0)


__all__ = ["Gap", "TimingReport", "Resampled", "estimate_rate", "regularize_timestamps", "resample_timestamped",
           "resample_regular", "n_resampled", "MAX_GAP_S"]
