"""Time offset and clock drift between two recordings of the same movement.

Sign convention (used by every function here): a result with ``offset_s = d`` and
``drift = r`` says that stream ``y`` lags stream ``x`` by ``d + r t`` seconds,

    y(t) = x(t - d - r t),    t on y's clock (sample k of either stream is at k / fs),

so :func:`shift_stream` puts ``y`` on ``x``'s timeline by reading it at
``t + d + r t``. A positive offset means ``y``'s events come later.

Method: both streams are reduced to one frame-invariant scalar (the norm of the
angular velocity, or the jerk norm around an impact), filtered to the same band,
z-scored, and cross-correlated (FFT). The integer lag of the highest peak is
refined below one sample by maximising the Pearson correlation with the second
stream read through a cubic spline (bounded scalar search within one sample).
Drift comes from the same estimate in sliding windows, with a weighted straight
line through the window offsets.

Confidence: ``corr`` is the Pearson correlation at the chosen lag; ``margin`` is
``corr`` minus the highest correlation at any lag at least ``min_separation_s``
away (gait is periodic, so a lag one stride off is the usual competitor).
``confidence = max(corr, 0) * min(margin / 0.1, 1)``: a margin of 0.1 in correlation
counts as unambiguous. Below about 0.3 check the result by eye.

Signals compared:

* IMU vs IMU on the same body part, or any two IMUs on one rigid body: ``|gyr|``
  (:func:`sync_imu_imu`; the norm does not depend on how either sensor is mounted);
* IMUs on different body parts: a common event, a tap or a jump (:func:`sync_by_impact`);
* IMU vs optical markers: the angular velocity of a frame built from three markers
  on the sensor's segment, against the gyroscope (:func:`sync_imu_mocap`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.ndimage import uniform_filter1d
from scipy.optimize import minimize_scalar
from scipy.signal import correlate, correlation_lags
from scipy.spatial.transform import Rotation
from scipy.stats import theilslopes

from imukin.errors import ImukinError
from imukin.rotations import marker_frames  # noqa: F401 - part of this module's interface
from imukin.signal import lowpass, resample

MARGIN_FULL = 0.1  # correlation margin over the best competing lag that counts as unambiguous
MIN_SEPARATION_S = 0.3  # s, competing peaks are searched at least this far from the best lag
GYR_BAND_HZ = 12.0  # Hz, low-pass applied to angular-velocity norms before comparing them
IMPACT_SEARCH_S = 15.0  # s from the start of a recording searched for the common impact (a jump or taps)
FLIGHT_G = 0.4  # a jump's flight: every sensor's specific force below this many g (free fall reads 0) ...
MIN_FLIGHT_S = 0.08  # ... for at least this long (a 5 cm jump is airborne 0.2 s; a walker never leaves the ground)
MIN_SYNCED_S = 2.0  # s, shortest span all sensors must share once synchronised


@dataclass
class SyncResult:
    """Offset and drift of stream ``y`` relative to stream ``x`` (see the module notes for the sign)."""

    offset_s: float  # s, y lags x by this at t = 0
    drift: float = 0.0  # s per s, the lag grows by this per second (1e-6 = 1 ppm)
    corr: float = 0.0  # Pearson correlation of the compared signals at the chosen lag
    margin: float = 0.0  # corr minus the best correlation at least min_separation_s away
    confidence: float = 0.0  # max(corr, 0) * min(margin / 0.1, 1), in [0, 1]
    residual_rms: float = float("nan")  # RMS difference of the compared signals after alignment (their units)
    method: str = ""  # what was compared
    windows: list[tuple[float, float, float]] = field(default_factory=list)  # (t_s, offset_s, confidence) per window

    @property
    def drift_ppm(self) -> float:
        return self.drift * 1e6

    def offset_at(self, t_s) -> np.ndarray | float:
        """Lag of ``y`` behind ``x`` at time(s) ``t_s`` on y's clock."""
        return self.offset_s + self.drift * np.asarray(t_s, float)

    def as_dict(self) -> dict:
        """Plain-type summary for provenance records."""
        return {"offset_s": self.offset_s, "drift_ppm": self.drift_ppm, "corr": self.corr, "margin": self.margin,
                "confidence": self.confidence, "residual_rms": self.residual_rms, "method": self.method}


# ---------------------------------------------------------------- signals
def gyr_norm(gyr: np.ndarray, fs: float, cutoff_hz: float = GYR_BAND_HZ) -> np.ndarray:
    """``|gyr|`` low-passed at ``cutoff_hz``: (N, 3) -> (N,). Independent of sensor mounting."""
    gyr = _check_xyz(gyr, "gyr")
    return lowpass(np.linalg.norm(gyr, axis=1), fs, cutoff_hz)


def jerk_norm(acc: np.ndarray, fs: float, cutoff_hz: float = 20.0) -> np.ndarray:
    """Norm of the time derivative of the acceleration, (N, 3) -> (N,); peaks at impacts (taps, landings)."""
    acc = _check_xyz(acc, "acc")
    return np.linalg.norm(np.gradient(lowpass(acc, fs, cutoff_hz), axis=0), axis=1) * fs


def angular_velocity(rmat: np.ndarray, fs: float) -> np.ndarray:
    """Body-frame angular velocity (rad/s) of an orientation sequence, (N, 3, 3) -> (N, 3).

    Central differences on the rotation group: ``w[k] = rotvec(R[k-1]^T R[k+1]) fs / 2``
    (one-sided at the ends). Frames with NaN give NaN.
    """
    rmat = np.asarray(rmat, float)
    if rmat.ndim != 3 or rmat.shape[1:] != (3, 3) or len(rmat) < 3:
        raise ImukinError(f"rmat must have shape (N, 3, 3) with N >= 3, got {rmat.shape}")
    ok = np.all(np.isfinite(rmat.reshape(len(rmat), -1)), axis=1)  # (N,)
    r = rmat.copy()
    r[~ok] = np.eye(3)
    rot = Rotation.from_matrix(r)
    w = np.empty((len(r), 3))
    w[1:-1] = (rot[:-2].inv() * rot[2:]).as_rotvec() * (fs / 2.0)
    w[0] = (rot[0].inv() * rot[1]).as_rotvec() * fs
    w[-1] = (rot[-2].inv() * rot[-1]).as_rotvec() * fs
    bad = ~ok | np.concatenate([[False], ~ok[:-2], [False]]) | np.concatenate([[False], ~ok[2:], [False]])
    bad[0] |= not ok[1] if len(ok) > 1 else False
    bad[-1] |= not ok[-2] if len(ok) > 1 else False
    w[bad] = np.nan
    return w


# ---------------------------------------------------------------- core estimate
def estimate_offset(x, y, fs: float, max_lag_s: float | None = None, min_separation_s: float = MIN_SEPARATION_S,
                    method: str = "xcorr", lag_bounds_s: tuple[float, float] | None = None) -> SyncResult:
    """Lag of ``y`` behind ``x`` by normalised cross-correlation with sub-sample refinement.

    Parameters
    ----------
    x, y : array_like, shape (N,) and (M,)
        The two scalar signals at the same rate ``fs``; NaN samples are treated as
        missing (zero after z-scoring).
    fs : float
        Rate of both, Hz.
    max_lag_s : float, optional
        Largest lag searched either way (default: half the shorter signal).
    min_separation_s : float
        Competing peaks for the confidence are searched at least this far away.
    method : str
        Label stored in the result.
    lag_bounds_s : (float, float), optional
        Search only lags in this interval (seconds) instead of ``+-max_lag_s``.

    Returns
    -------
    SyncResult
        ``offset_s`` (y lags x), ``corr``, ``margin``, ``confidence``, ``residual_rms``
        (of the z-scored signals).

    Examples
    --------
    >>> t = np.arange(2000) / 100.0
    >>> x = np.sin(2 * np.pi * 0.37 * t) * np.exp(-((t - 8) / 3) ** 2)
    >>> y = np.sin(2 * np.pi * 0.37 * (t - 0.123)) * np.exp(-((t - 8.123) / 3) ** 2)
    >>> round(estimate_offset(x, y, 100.0).offset_s, 3)
    0.123
    """
    xz, x_ok = _zscore(x)
    yz, y_ok = _zscore(y)
    n_min = min(len(xz), len(yz))
    if n_min < 8:
        raise ImukinError(f"signals too short to synchronise ({len(xz)} and {len(yz)} samples); need at least 8")
    max_lag = int(round((max_lag_s if max_lag_s is not None else 0.5 * n_min / fs) * fs))
    max_lag = max(1, min(max_lag, n_min - 4))
    r, lags, overlap = _pearson_per_lag(xz, x_ok, yz, y_ok)  # (N + M - 1,) each
    if lag_bounds_s is not None:
        in_range = (lags >= np.floor(lag_bounds_s[0] * fs)) & (lags <= np.ceil(lag_bounds_s[1] * fs))
    else:
        in_range = np.abs(lags) <= max_lag
    sel = in_range & (overlap > 0.25 * n_min)
    if not sel.any():
        raise ImukinError("the two signals do not overlap enough at any lag; widen max_lag_s or check the inputs")
    r = np.where(sel, r, -np.inf)
    k = int(np.argmax(r))
    lag_int = int(lags[k])
    # sub-sample refinement: maximise the exact Pearson correlation within one sample
    spline = CubicSpline(np.arange(len(yz)), yz)

    def neg_corr(d):  # d in samples
        return -_pearson_shifted(xz, x_ok, spline, y_ok, len(yz), lag_int + d)

    opt = minimize_scalar(neg_corr, bounds=(-1.0, 1.0), method="bounded", options={"xatol": 1e-4})
    d = float(opt.x) if -opt.fun >= -neg_corr(0.0) else 0.0
    lag = lag_int + d
    corr = -neg_corr(d)
    # best competitor at least min_separation_s away
    far = sel & (np.abs(lags - lag_int) >= max(1, int(round(min_separation_s * fs))))
    second = float(np.max(r[far])) if far.any() else -1.0
    margin = corr - second
    conf = max(corr, 0.0) * min(max(margin, 0.0) / MARGIN_FULL, 1.0)
    resid = _residual_shifted(xz, x_ok, spline, y_ok, len(yz), lag)
    return SyncResult(offset_s=lag / fs, corr=float(corr), margin=float(margin), confidence=float(conf),
                      residual_rms=float(resid), method=method)


def _pearson_per_lag(x: np.ndarray, x_ok: np.ndarray, y: np.ndarray, y_ok: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pearson correlation of ``x[n]`` with ``y[n + L]`` over the valid overlap, for every lag ``L``.

    Sums over each lag's overlap come from six FFT correlations (products, sums and
    sums of squares with the validity masks), so a lag that overlaps the strong part of
    a non-stationary signal is not favoured. Returns ``(r, lags, n_valid)``.
    """
    xo, yo = x_ok.astype(float), y_ok.astype(float)
    xv, yv = np.where(x_ok, x, 0.0), np.where(y_ok, y, 0.0)
    corr = lambda a, b: correlate(a, b, mode="full", method="fft")  # noqa: E731  sum_n b[n] a[n + L]
    n = np.rint(corr(yo, xo))
    sxy = corr(yv, xv)
    sx, sxx = corr(yo, xv), corr(yo, xv * xv)
    sy, syy = corr(yv, xo), corr(yv * yv, xo)
    lags = correlation_lags(len(y), len(x), mode="full")
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sy / n
        var = (sxx - sx * sx / n) * (syy - sy * sy / n)
        r = np.where((n >= 2) & (var > 1e-12 * np.maximum(n, 1) ** 2), cov / np.sqrt(np.abs(var)), -1.0)
    return np.clip(r, -1.0, 1.0), lags, n


def _zscore(x) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, float).ravel()
    ok = np.isfinite(x)
    if ok.sum() < 8:
        raise ImukinError("a signal to synchronise has fewer than 8 finite samples")
    mu, sd = x[ok].mean(), x[ok].std()
    if sd == 0:
        raise ImukinError("a signal to synchronise is constant (no movement); record a tap, jump or walk to align on")
    z = np.where(ok, (x - mu) / sd, 0.0)
    return z, ok


def _shifted_pair(xz, x_ok, spline, y_ok, n_y, lag) -> tuple[np.ndarray, np.ndarray]:
    """x[n] and y read at n + lag on the overlap (both valid): two equal-length arrays."""
    n = np.arange(len(xz))
    pos = n + lag
    inside = (pos >= 0) & (pos <= n_y - 1) & x_ok
    near = np.clip(np.rint(pos).astype(int), 0, n_y - 1)
    inside &= y_ok[near] & y_ok[np.clip(np.floor(pos).astype(int), 0, n_y - 1)] & \
        y_ok[np.clip(np.ceil(pos).astype(int), 0, n_y - 1)]
    return xz[inside], spline(pos[inside])


def _pearson_shifted(xz, x_ok, spline, y_ok, n_y, lag) -> float:
    a, b = _shifted_pair(xz, x_ok, spline, y_ok, n_y, lag)
    if len(a) < 8 or a.std() == 0 or b.std() == 0:
        return -1.0
    return float(np.corrcoef(a, b)[0, 1])


def _residual_shifted(xz, x_ok, spline, y_ok, n_y, lag) -> float:
    a, b = _shifted_pair(xz, x_ok, spline, y_ok, n_y, lag)
    a = (a - a.mean()) / (a.std() or 1.0)
    b = (b - b.mean()) / (b.std() or 1.0)
    return float(np.sqrt(np.mean((a - b) ** 2))) if len(a) else float("nan")


def estimate_offset_drift(x, y, fs: float, max_lag_s: float | None = None, window_s: float = 10.0,
                          step_s: float | None = None, local_lag_s: float = 0.25, min_confidence: float = 0.2,
                          min_activity: float = 0.2, method: str = "xcorr") -> SyncResult:
    """Offset and linear clock drift: a global offset, then offsets in sliding windows and a line through them.

    Parameters
    ----------
    x, y : array_like
        Scalar signals at ``fs`` (see :func:`estimate_offset`).
    fs : float
        Hz.
    max_lag_s : float, optional
        Largest lag searched by the global estimate.
    window_s, step_s : float
        Window length (shortened to a third of the recording, but not below 4 s, when
        that gives more windows) and hop (default: half a window).
    local_lag_s : float
        Largest deviation of a window's offset from the global one.
    min_confidence : float
        Windows below this confidence are left out of the line fit.
    min_activity : float
        Windows whose standard deviation is below this fraction of the whole
        signal's are skipped (nothing moves there).

    Returns
    -------
    SyncResult
        ``offset_s`` at ``t = 0`` and ``drift`` (s/s) from the window fit, with the
        global estimate's ``corr``, ``margin`` and ``confidence``; ``windows`` lists
        ``(centre time on y's clock, offset, confidence)``. The line through the
        window offsets is a Theil-Sen fit; with fewer than three usable windows
        the drift is 0 and the offset the global one.
    """
    glob = estimate_offset(x, y, fs, max_lag_s=max_lag_s, method=method)
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    window_s = min(window_s, max(4.0, len(y) / fs / 3.0))  # at least about five windows when possible
    step_s = step_s or window_s / 2.0
    win, hop = int(round(window_s * fs)), max(1, int(round(step_s * fs)))
    rows = []
    sd_x, sd_y = np.nanstd(x), np.nanstd(y)
    for s in range(0, max(1, len(y) - win + 1), hop):
        if np.nanstd(y[s:s + win]) < min_activity * sd_y:
            continue  # nothing moves here: a z-scored window of noise would look confident
        centre_y = (s + win / 2.0) / fs  # on y's clock
        # the x samples that correspond to this y window, widened by the local search range
        x0 = int(round(s - glob.offset_s * fs - local_lag_s * fs))
        x1 = int(round(s + win - glob.offset_s * fs + local_lag_s * fs))
        x0c, x1c = max(0, x0), min(len(x), x1)
        if x1c - x0c < win // 2 or np.nanstd(x[x0c:x1c]) < min_activity * sd_x:
            continue
        # y[s + n] = x[x0c + n - L]: the window lag L relates to the global lag by off = (L + s - x0c) / fs
        base = (s - x0c) / fs
        try:
            loc = estimate_offset(x[x0c:x1c], y[s:s + win], fs, method=method,
                                  lag_bounds_s=(glob.offset_s - local_lag_s - base, glob.offset_s + local_lag_s - base))
        except ImukinError:
            continue
        off = loc.offset_s + base
        if abs(off - glob.offset_s) <= local_lag_s + 1e-9:
            rows.append((centre_y, off, loc.confidence))
    res = SyncResult(offset_s=glob.offset_s, corr=glob.corr, margin=glob.margin, confidence=glob.confidence,
                     residual_rms=glob.residual_rms, method=method, windows=rows)
    good = [r for r in rows if r[2] >= min_confidence]
    if len(good) >= 3:
        t_c, o_c, _ = (np.array(v) for v in zip(*good))
        # y(t) = x(t - d - r t): with t on y's clock the lag at window centre t_c is d + r t_c;
        # Theil-Sen (median of pairwise slopes) so one bad window cannot tilt the line
        slope, intercept, _, _ = theilslopes(o_c, t_c)
        res.drift, res.offset_s = float(slope), float(intercept)
    return res


def shift_stream(y: np.ndarray, fs: float, sync: SyncResult, n_out: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Put ``y`` on ``x``'s timeline: ``out[n] = y(n / fs + offset + drift n / fs)`` (cubic spline).

    Parameters
    ----------
    y : ndarray, shape (M,) or (M, C)
    fs : float
        Rate of both streams, Hz.
    sync : SyncResult
        From one of the estimators (``y`` lags ``x``).
    n_out : int, optional
        Output length (default ``M``).

    Returns
    -------
    y_aligned : ndarray, shape (n_out,) or (n_out, C)
        Samples outside ``y``'s span hold the nearest edge value.
    valid : ndarray of bool, shape (n_out,)
        True where the output was read inside ``y``'s span.
    """
    y = np.asarray(y, float)
    n_out = len(y) if n_out is None else int(n_out)
    t = np.arange(n_out) / fs
    # out(t) = y(t') with t' - lag(t') = t  ->  t' = (t + d) / (1 - r)
    pos = (t + sync.offset_s) / (1.0 - sync.drift) * fs  # (n_out,) in y's samples
    valid = (pos >= -1e-9) & (pos <= len(y) - 1 + 1e-9)
    spline = CubicSpline(np.arange(len(y)), y, axis=0)
    out = spline(np.clip(pos, 0, len(y) - 1))
    return out, valid


# ---------------------------------------------------------------- IMU vs IMU
def sync_imu_imu(gyr_x: np.ndarray, gyr_y: np.ndarray, fs: float, max_lag_s: float | None = None,
                 drift: bool = False, cutoff_hz: float = GYR_BAND_HZ) -> SyncResult:
    """Lag of IMU ``y`` behind IMU ``x`` from their angular-velocity norms.

    Valid for two sensors on the same rigid body (any mounting), e.g. a reference
    sensor taped to a lab sensor, or two systems on one segment. Sensors on
    different segments rotate differently; use :func:`sync_by_impact` for them.
    Both gyroscopes must be at the same rate ``fs`` (resample first).
    """
    gx, gy = gyr_norm(gyr_x, fs, cutoff_hz), gyr_norm(gyr_y, fs, cutoff_hz)
    if drift:
        return estimate_offset_drift(gx, gy, fs, max_lag_s=max_lag_s, method="gyr_norm")
    return estimate_offset(gx, gy, fs, max_lag_s=max_lag_s, method="gyr_norm")


def find_impact(acc: np.ndarray, fs: float, search: tuple[float, float] | None = None) -> float:
    """Time (s) of the strongest impact (largest jerk-norm peak) in ``acc`` (N, 3), optionally within ``search``."""
    w = max(1, int(round(0.02 * fs)))  # 20 ms: one peak per impact (the jerk of a pulse has two lobes)
    j = uniform_filter1d(jerk_norm(acc, fs), w, mode="nearest")
    lo, hi = 0, len(j)
    if search is not None:
        lo, hi = max(0, int(search[0] * fs)), min(len(j), int(np.ceil(search[1] * fs)))
    if hi - lo < 3:
        raise ImukinError(f"impact search window {search} holds fewer than 3 samples")
    return (lo + int(np.argmax(j[lo:hi]))) / fs


def sync_by_impact(acc_x: np.ndarray, acc_y: np.ndarray, fs: float, search_x: tuple[float, float] | None = None,
                   search_y: tuple[float, float] | None = None, window_s: float = 1.0) -> SyncResult:
    """Lag of IMU ``y`` behind IMU ``x`` from a common impact (tap on both sensors, or a jump landing).

    The strongest jerk-norm peak in each stream (optionally within a search window,
    in seconds on that stream's clock) gives the coarse lag; cross-correlating the
    jerk norms within ``window_s`` around the peaks refines it below one sample.
    Works for sensors on different segments and any mounting.
    """
    tx, ty = find_impact(acc_x, fs, search_x), find_impact(acc_y, fs, search_y)
    jx, jy = jerk_norm(acc_x, fs), jerk_norm(acc_y, fs)
    h = int(round(window_s * fs))
    ix, iy = int(round(tx * fs)), int(round(ty * fs))
    x0, y0 = max(0, ix - h), max(0, iy - h)
    seg_x, seg_y = jx[x0:ix + h + 1], jy[y0:iy + h + 1]
    loc = estimate_offset(seg_x, seg_y, fs, max_lag_s=0.25 * window_s, method="impact")
    loc.offset_s = loc.offset_s + (y0 - x0) / fs
    return loc


def _without_nan_tail(acc, gyr) -> tuple[np.ndarray, np.ndarray]:
    """A sensor's (N, 3) signals without the NaN rows at their end (the padding of a shorter recording)."""
    acc, gyr = np.asarray(acc, float), np.asarray(gyr, float)
    ok = np.flatnonzero(np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1))
    last = int(ok[-1]) + 1 if ok.size else 0
    return acc[:last], gyr[:last]


def find_flight(acc: np.ndarray, fs: float, search: tuple[float, float]) -> tuple[float, float] | None:
    """The first jump's flight within ``search`` (s): (take-off, landing) times in s, where the specific force
    stays below :data:`FLIGHT_G` g for :data:`MIN_FLIGHT_S` or longer, each edge read between its two samples
    where the magnitude crosses that level; or None."""
    from imukin.conventions import G

    lo, hi = max(0, int(search[0] * fs)), min(len(acc), int(np.ceil(search[1] * fs)))
    mag = np.linalg.norm(np.nan_to_num(acc[lo:hi], nan=G), axis=1) / G  # (n,) in g
    low = mag < FLIGHT_G
    d = np.diff(np.concatenate([[0], low.astype(int), [0]]))
    for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)):
        if (b - a) / fs < MIN_FLIGHT_S:
            continue

        def crossing(i: int, j: int) -> float:  # where mag crosses FLIGHT_G between samples i and j
            if i < 0 or j >= len(mag) or mag[i] == mag[j]:
                return float(max(i, 0))
            return i + (FLIGHT_G - mag[i]) / (mag[j] - mag[i]) * (j - i)

        return (lo + crossing(a - 1, a)) / fs, (lo + crossing(b - 1, b)) / fs
    return None


def impact_offsets(acc: dict, fs: float, search_s: float | None = IMPACT_SEARCH_S) -> tuple[dict, float]:
    """Each sensor's lag behind the first one from a common impact. Where both show a jump's flight
    (:func:`find_flight`: the specific force near 0 for a while, which no walking or running step gives), the
    lag is the difference of the instants the flight ends, the landing (confidence: the ratio of the two flights'
    durations, 1 when they agree); otherwise (taps) :func:`sync_by_impact` on the strongest impact, which a hard
    heel strike can beat: jump if you can.

    Parameters
    ----------
    acc : dict of str -> ndarray, shape (N_k, 3)
        Per sensor, m/s^2, the first being the reference; NaN rows (gaps) are no flight, and 0 for the impact.
    fs : float
        Hz, the rate of every sensor.
    search_s : float or None
        Seconds from the start searched (None: the whole recording).

    Returns
    -------
    offsets : dict of str -> SyncResult
        Per sensor but the reference, its lag behind the reference.
    impact_s : float
        The impact (the landing, where there is a flight) on the reference's clock, s.
    """
    names = list(acc)
    raw = {k: np.asarray(acc[k], float) for k in names}  # (N_k, 3) each; a gap is no flight (find_flight)
    filled = {k: np.nan_to_num(a) for k, a in raw.items()}  # gaps as 0 for the impact's jerk
    window, flight = {}, {}
    for k in names:
        span = (len(raw[k]) - 1) / fs
        window[k] = (0.0, span if search_s is None else min(float(search_s), span))
        flight[k] = find_flight(raw[k], fs, window[k])
    ref = names[0]
    offsets = {}
    for k in names[1:]:
        if flight[ref] is not None and flight[k] is not None:
            (up0, down0), (up1, down1) = flight[ref], flight[k]
            agree = min(down0 - up0, down1 - up1) / max(down0 - up0, down1 - up1)
            offsets[k] = SyncResult(offset_s=down1 - down0, corr=agree, margin=agree, confidence=agree,
                                    method="jump landing")
        else:
            offsets[k] = sync_by_impact(filled[ref], filled[k], fs, search_x=window[ref], search_y=window[k])
    impact = flight[ref][1] if flight[ref] is not None else find_impact(filled[ref], fs, window[ref])
    return offsets, impact


def sync_sensors_by_impact(acc: dict, gyr: dict, fs: float, search_s: float = IMPACT_SEARCH_S
                           ) -> tuple[dict, dict, dict]:
    """Sensors that were not sampled together, put on one timeline by a common impact near the start.

    The wearer jumps once (or the sensors are tapped together) in the first ``search_s`` seconds; each sensor
    is shifted onto the first one's timeline by its lag (:func:`impact_offsets`) and every sensor is cut to the
    span all of them then cover.

    Parameters
    ----------
    acc, gyr : dict of str -> ndarray, shape (N, 3)
        Per sensor, in the recording's order (the first is the reference), m/s^2 and rad/s; NaN rows are
        gaps, NaN rows at a sensor's end the padding of a shorter recording.
    fs : float
        Hz, the rate of every sensor.
    search_s : float
        Seconds from the start searched for the impact.

    Returns
    -------
    acc, gyr : dict of str -> ndarray, shape (M, 3)
        On the reference's timeline, cut to the common span.
    info : dict
        ``{"reference": name, "frames": [start, stop) on the reference's timeline, "impact_s": the impact's
        time (s) on the output's timeline, "sensors": {name: {"offset_s", "corr", "confidence"}}}`` (as in
        :class:`SyncResult`; a positive offset: that sensor's recording began ``offset_s`` before the
        reference's, its events come later).

    Raises
    ------
    ImukinError
        Fewer than :data:`MIN_SYNCED_S` seconds left that every sensor covers.
    """
    names = list(acc)
    ref = names[0]
    trimmed = {k: _without_nan_tail(acc[k], gyr[k]) for k in names}  # a shorter recording's padding dropped
    acc, gyr = {k: a for k, (a, _) in trimmed.items()}, {k: g for k, (_, g) in trimmed.items()}
    n = len(acc[ref])
    offsets, impact = impact_offsets(acc, fs, search_s)
    out_acc, out_gyr, valid = {ref: acc[ref]}, {ref: gyr[ref]}, np.ones(n, bool)
    sensors = {ref: {"offset_s": 0.0, "reference": True}}
    for k, res in offsets.items():
        both = np.concatenate([acc[k], gyr[k]], axis=1)  # (N_k, 6)
        moved, ok = shift_stream(np.nan_to_num(both), fs, res, n_out=n)  # (n, 6) on the reference's timeline
        gaps, _ = shift_stream(np.isnan(both).any(axis=1).astype(float), fs, res, n_out=n)
        moved[gaps > 0.01] = np.nan  # a gap stays a gap after the shift
        out_acc[k], out_gyr[k] = moved[:, :3], moved[:, 3:]
        valid &= ok
        sensors[k] = {"offset_s": float(res.offset_s), "corr": float(res.corr), "confidence": float(res.confidence)}
    idx = np.flatnonzero(valid)
    if idx.size < MIN_SYNCED_S * fs:
        raise ImukinError(f"once synchronised by the impact the sensors share {idx.size / fs:.1f} s, less than "
                          f"{MIN_SYNCED_S:g} s; check that every sensor recorded the jump or tap in the first "
                          f"{search_s:g} s")
    a, b = int(idx[0]), int(idx[-1]) + 1
    return ({k: v[a:b] for k, v in out_acc.items()}, {k: v[a:b] for k, v in out_gyr.items()},
            {"reference": ref, "frames": [a, b], "impact_s": float(impact - a / fs), "sensors": sensors})


# ---------------------------------------------------------------- IMU vs mocap
@dataclass
class MocapSync:
    """IMU vs marker-cluster synchronisation and what remains after it."""

    sync: SyncResult  # lag of the markers' |w| behind the gyroscope's |w|
    fs: float  # Hz, rate at which the two were compared
    residual_norm_rms: float  # rad/s, RMS of |w_gyr| - |w_markers| after alignment
    norm_rms: float  # rad/s, RMS of |w_gyr| (for scale)
    r_sensor_to_markers: np.ndarray  # (3, 3) best rotation w_markers = R w_gyr (Wahba / Kabsch)
    residual_vec_rms: float  # rad/s, RMS of |w_markers - R w_gyr| after alignment and rotation
    n_compared: int  # samples in the comparison

    def as_dict(self) -> dict:
        return {**self.sync.as_dict(), "fs_compared": self.fs, "residual_norm_rms": self.residual_norm_rms,
                "norm_rms": self.norm_rms, "residual_vec_rms": self.residual_vec_rms,
                "r_sensor_to_markers": np.round(self.r_sensor_to_markers, 6).tolist(), "n_compared": self.n_compared}


def sync_imu_mocap(gyr: np.ndarray, fs_imu: float, rmat_markers: np.ndarray, fs_mocap: float,
                   fs_compare: float | None = None, cutoff_hz: float = GYR_BAND_HZ, max_lag_s: float | None = None,
                   drift: bool = False) -> MocapSync:
    """Synchronise a gyroscope with the frame of a marker cluster on the same segment.

    Parameters
    ----------
    gyr : ndarray, shape (N, 3)
        Gyroscope, rad/s, sample k at ``k / fs_imu``.
    fs_imu : float
        Hz.
    rmat_markers : ndarray, shape (M, 3, 3)
        Marker-cluster orientation (e.g. from :func:`marker_frames`), sample k at
        ``k / fs_mocap``; NaN frames are gaps.
    fs_mocap : float
        Hz.
    fs_compare : float, optional
        Common rate for the comparison (default: the lower of the two).
    cutoff_hz : float
        Both angular-velocity signals are low-passed here (zero phase), so marker
        noise and the gyroscope's wider band do not bias the comparison.
    max_lag_s : float, optional
        Largest lag searched (default: half the recording).
    drift : bool
        Also fit a linear clock drift.

    Returns
    -------
    MocapSync
        ``sync.offset_s`` is the lag of the marker stream behind the IMU stream;
        residuals are computed after shifting the markers onto the IMU timeline.
    """
    gyr = _check_xyz(gyr, "gyr")
    fs_c = float(fs_compare or min(fs_imu, fs_mocap))
    w_m = angular_velocity(rmat_markers, fs_mocap)  # (M, 3) marker-frame body rates
    ok_m = np.all(np.isfinite(w_m), axis=1)
    if ok_m.sum() < 16:
        raise ImukinError("fewer than 16 valid marker frames; fill marker gaps before synchronising")
    w_m_filled = w_m.copy()
    for c in range(3):  # bridge gaps for filtering; gap frames stay excluded below
        w_m_filled[~ok_m, c] = np.interp(np.flatnonzero(~ok_m), np.flatnonzero(ok_m), w_m[ok_m, c])
    w_m_f = lowpass(w_m_filled, fs_mocap, cutoff_hz)
    w_g_f = lowpass(gyr, fs_imu, cutoff_hz)
    w_g_c = resample(w_g_f, fs_imu, fs_c, axis=0)  # (Nc, 3)
    w_m_c = resample(w_m_f, fs_mocap, fs_c, axis=0)  # (Mc, 3)
    ok_c = resample(ok_m.astype(float), fs_mocap, fs_c) > 0.99  # (Mc,)
    n_g, n_m = np.linalg.norm(w_g_c, axis=1), np.linalg.norm(w_m_c, axis=1)
    n_m_masked = np.where(ok_c, n_m, np.nan)
    est = estimate_offset_drift if drift else estimate_offset
    sync = est(n_g, n_m_masked, fs_c, max_lag_s=max_lag_s, method="imu_vs_markers_gyr_norm")
    # markers on the IMU timeline
    w_m_al, valid = shift_stream(w_m_c, fs_c, sync, n_out=len(w_g_c))
    ok_al, _ = shift_stream(ok_c.astype(float), fs_c, sync, n_out=len(w_g_c))
    use = valid & (ok_al > 0.99)
    if use.sum() < 16:
        raise ImukinError("after synchronisation the IMU and marker recordings overlap by fewer than 16 samples")
    a, b = w_g_c[use], w_m_al[use]
    resid_norm = float(np.sqrt(np.mean((np.linalg.norm(a, axis=1) - np.linalg.norm(b, axis=1)) ** 2)))
    rot, _ = Rotation.align_vectors(b, a)  # b ~ R a
    resid_vec = float(np.sqrt(np.mean(np.sum((b - rot.apply(a)) ** 2, axis=1))))
    sync.residual_rms = resid_norm
    return MocapSync(sync=sync, fs=fs_c, residual_norm_rms=resid_norm,
                     norm_rms=float(np.sqrt(np.mean(np.linalg.norm(a, axis=1) ** 2))),
                     r_sensor_to_markers=rot.as_matrix(), residual_vec_rms=resid_vec, n_compared=int(use.sum()))


def _check_xyz(a, name: str) -> np.ndarray:
    a = np.asarray(a, float)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ImukinError(f"{name} must have shape (N, 3), got {a.shape}")
    return a


__all__ = ["SyncResult", "MocapSync", "gyr_norm", "jerk_norm", "marker_frames", "angular_velocity",
           "estimate_offset", "estimate_offset_drift", "shift_stream", "sync_imu_imu", "find_impact",
           "sync_by_impact", "sync_imu_mocap"]
