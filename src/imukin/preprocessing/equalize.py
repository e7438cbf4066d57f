"""Sensor noise: measure it on still periods, and bring one dataset's noise to another's.

What is measured (per channel ``acc_x acc_y acc_z gyr_x gyr_y gyr_z``, on still frames)
---------------------------------------------------------------------------------------
``psd``
    One-sided power spectral density (Welch, units^2/Hz) on a fixed grid of
    frequencies. Below ``f_lo_hz`` (default 5 Hz) a standing person's sway dominates,
    so only the band above it is treated as sensor noise.
``hf_rms``
    Noise RMS in the band ``[f_lo_hz, fs / 2]``: ``sqrt(integral of psd)``. This is
    what the equalisation matches: the noise power a network sees at the common rate.
``density``
    White-noise density, ``sqrt(median psd in [f_lo, 0.8 fs/2] / 2)`` (units/sqrt(Hz));
    the same convention as :mod:`imukin.simulation.sensor_errors` (per-sample SD =
    density x sqrt(fs)).
``bias_instability``
    Minimum of the overlapping Allan deviation divided by 0.664 (the flicker floor
    convention), with the averaging time where it occurs. From still periods shorter
    than a few tens of seconds the minimum sits at the longest averaging time, which
    only bounds the bias instability from above; ``bias_resolved`` says which.

Equalisation (:func:`equalize_noise`), per channel
--------------------------------------------------
* Cleaner than the target: add noise whose spectrum is the difference of the two
  spectra above ``f_lo_hz`` (coloured in general; white if both are white; continued
  flat below ``f_lo_hz``), plus flicker noise (PSD ~ 1/f, below ``f_lo_hz``) making up
  a resolved bias-instability difference.
* Noisier than the target: low-pass (zero-phase Butterworth) at the cutoff that brings
  white noise of the source's density down to the target's ``hf_rms``, never below
  ``min_cutoff_hz`` (default 15 Hz: gait content).
* Within ``tolerance`` (default 10 %): unchanged.

The profile is measured again after the change and reported next to the one before.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import trapezoid
from scipy.signal import welch

from imukin.conventions import same_rate
from imukin.errors import ImukinError
from imukin.preprocessing.align import AlignConfig, bouts, still_mask
from imukin.signal import lowpass

NOISE_CHANNELS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
N_FREQ = 65  # points of the fixed frequency grid of a profile's PSD (0 .. fs/2)
FLICKER_ADEV = 0.664  # Allan deviation floor of flicker noise per unit bias instability


@dataclass
class NoiseConfig:
    """How noise is measured and matched; every field has a default."""

    f_lo_hz: float = 5.0  # Hz, lower edge of the band treated as sensor noise (sway and gait are below)
    min_still_s: float = 0.5  # s, shortest still bout used
    psd_window_s: float = 0.64  # s, Welch segment length (64 samples at 100 Hz)
    tolerance: float = 0.10  # relative hf_rms difference left alone
    min_cutoff_hz: float = 15.0  # Hz, lowest low-pass cutoff used to reduce noise
    still: AlignConfig = field(default_factory=AlignConfig)  # thresholds of the still detector


@dataclass
class NoiseProfile:
    """Noise of one sensor (or the median of a dataset), per channel of :data:`NOISE_CHANNELS`."""

    fs: float  # Hz, rate the profile was measured at
    freqs: np.ndarray  # (F,) Hz, fixed grid 0 .. fs/2
    psd: np.ndarray  # (6, F) one-sided PSD, (m/s^2)^2/Hz and (rad/s)^2/Hz
    hf_rms: np.ndarray  # (6,) noise RMS in [f_lo, fs/2]
    density: np.ndarray  # (6,) white-noise density, units/sqrt(Hz)
    bias_instability: np.ndarray  # (6,) min Allan deviation / 0.664
    bias_tau_s: np.ndarray  # (6,) averaging time of that minimum, s
    bias_resolved: np.ndarray  # (6,) bool, False when the minimum is at the longest averaging time
    still_s: float  # s of still data measured
    f_lo_hz: float = 5.0  # Hz, band edge used

    def as_dict(self, with_psd: bool = False) -> dict:
        """Plain-type summary (channels as keys); the PSD only on request."""
        d = {"fs": self.fs, "still_s": round(self.still_s, 3), "f_lo_hz": self.f_lo_hz,
             "hf_rms": _ch(self.hf_rms), "density": _ch(self.density),
             "bias_instability": _ch(self.bias_instability), "bias_tau_s": _ch(self.bias_tau_s),
             "bias_resolved": {c: bool(v) for c, v in zip(NOISE_CHANNELS, self.bias_resolved)}}
        if with_psd:
            d["freqs"] = self.freqs.tolist()
            d["psd"] = self.psd.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NoiseProfile:
        """Inverse of :meth:`as_dict` (``with_psd=True``); a profile without a PSD gets a white one."""
        try:
            fs = float(d["fs"])
            get = lambda k: np.array([float(d[k][c]) for c in NOISE_CHANNELS])  # noqa: E731
            hf, dens = get("hf_rms"), get("density")
            freqs = np.asarray(d.get("freqs", np.linspace(0, fs / 2, N_FREQ)), float)
            psd = np.asarray(d["psd"], float) if "psd" in d else np.tile(2 * dens[:, None] ** 2, (1, len(freqs)))
            return cls(fs=fs, freqs=freqs, psd=psd, hf_rms=hf, density=dens,
                       bias_instability=get("bias_instability"),
                       bias_tau_s=get("bias_tau_s") if "bias_tau_s" in d else np.full(6, np.nan),
                       bias_resolved=np.array([bool(d.get("bias_resolved", {}).get(c, False)) for c in NOISE_CHANNELS]),
                       still_s=float(d.get("still_s", 0.0)), f_lo_hz=float(d.get("f_lo_hz", 5.0)))
        except (KeyError, TypeError, ValueError) as e:
            raise ImukinError(f"not a noise profile ({e.__class__.__name__}: {e}); it needs fs, hf_rms, density and "
                              f"bias_instability per channel {', '.join(NOISE_CHANNELS)}") from None


def _ch(v) -> dict:
    return {c: float(x) for c, x in zip(NOISE_CHANNELS, v)}


# ---------------------------------------------------------------- Allan deviation
def allan_deviation(x: np.ndarray, fs: float, taus: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Overlapping Allan deviation of a rate signal.

    Parameters
    ----------
    x : ndarray, shape (N,) or (N, C)
        Samples (e.g. angular rate), regular at ``fs``.
    fs : float
        Hz.
    taus : ndarray, optional
        Averaging times in seconds (default: logarithmic from ``1/fs`` to ``N/(4 fs)``).

    Returns
    -------
    taus : ndarray, shape (K,)
    adev : ndarray, shape (K,) or (K, C)

    Notes
    -----
    ``sigma^2(tau) = sum (theta[k+2m] - 2 theta[k+m] + theta[k])^2 / (2 tau^2 (N - 2m))``
    with ``theta`` the running integral and ``m = tau fs``. White noise of per-sample SD
    ``s`` gives ``s / sqrt(tau fs)``.
    """
    x = np.asarray(x, float)
    one = x.ndim == 1
    x2 = x[:, None] if one else x  # (N, C)
    n = len(x2)
    if n < 4:
        raise ImukinError(f"need at least 4 samples for an Allan deviation, got {n}")
    if taus is None:
        m = np.unique(np.round(np.logspace(0, np.log10(max(1, n // 4)), 30)).astype(int))
    else:
        m = np.unique(np.clip(np.round(np.asarray(taus) * fs).astype(int), 1, max(1, (n - 1) // 2)))
    theta = np.concatenate([np.zeros((1, x2.shape[1])), np.cumsum(x2, axis=0)]) / fs  # (N+1, C)
    out = np.empty((len(m), x2.shape[1]))
    for i, mi in enumerate(m):
        d = theta[2 * mi:] - 2 * theta[mi:-mi] + theta[:-2 * mi]  # (N+1-2m, C)
        tau = mi / fs
        out[i] = np.sqrt(np.mean(d * d, axis=0) / (2 * tau * tau))
    return m / fs, (out[:, 0] if one else out)


# ---------------------------------------------------------------- measuring
def still_bouts(acc: np.ndarray, gyr: np.ndarray, fs: float, cfg: NoiseConfig | None = None) -> list[tuple[int, int]]:
    """Still periods of at least ``cfg.min_still_s``, ``[start, stop)`` frame pairs."""
    cfg = cfg or NoiseConfig()
    return [b for b in bouts(still_mask(acc, gyr, fs, cfg.still)) if b[1] - b[0] >= cfg.min_still_s * fs]


def estimate_noise(acc: np.ndarray, gyr: np.ndarray, fs: float, still: list[tuple[int, int]] | None = None,
                   cfg: NoiseConfig | None = None) -> NoiseProfile:
    """Noise profile of one sensor from its still periods.

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        m/s^2 and rad/s, regular at ``fs``.
    fs : float
        Hz.
    still : list of (int, int), optional
        ``[start, stop)`` frames to measure on; default: detected still bouts.
    cfg : NoiseConfig, optional

    Returns
    -------
    NoiseProfile

    Raises
    ------
    ImukinError
        No still period long enough.
    """
    cfg = cfg or NoiseConfig()
    x = np.concatenate([np.asarray(acc, float), np.asarray(gyr, float)], axis=1)  # (N, 6)
    if x.ndim != 2 or x.shape[1] != 6:
        raise ImukinError(f"acc and gyr must be (N, 3) each; got {np.shape(acc)} and {np.shape(gyr)}")
    if still is None:
        still = still_bouts(acc, gyr, fs, cfg)
    still = [(int(a), int(b)) for a, b in still if b - a >= max(8, int(cfg.min_still_s * fs))]
    if not still:
        raise ImukinError(f"no still period of at least {cfg.min_still_s:g} s to measure sensor noise on; "
                          "record a few seconds of quiet standing (or the sensors lying still)")
    freqs = np.linspace(0.0, fs / 2.0, N_FREQ)  # (F,)
    nper = max(8, int(round(cfg.psd_window_s * fs)))
    psd_sum, w_sum = np.zeros((6, N_FREQ)), 0.0
    for a, b in still:
        seg = x[a:b] - x[a:b].mean(axis=0)
        f, p = welch(seg, fs=fs, nperseg=min(nper, len(seg)), axis=0, detrend="linear")  # (F', 6)
        psd_sum += (b - a) * np.stack([np.interp(freqs, f, p[:, c]) for c in range(6)])
        w_sum += b - a
    psd = psd_sum / w_sum  # (6, F)
    band = freqs >= cfg.f_lo_hz
    if band.sum() < 2:
        raise ImukinError(f"the rate {fs} Hz leaves no noise band above f_lo_hz={cfg.f_lo_hz} Hz; lower f_lo_hz")
    hf = np.sqrt(trapezoid(psd[:, band], freqs[band], axis=1))
    mid = band & (freqs <= 0.8 * fs / 2.0)
    density = np.sqrt(np.median(psd[:, mid if mid.sum() >= 1 else band], axis=1) / 2.0)
    # Allan deviation on the longest bout
    a, b = max(still, key=lambda s: s[1] - s[0])
    taus, adev = allan_deviation(x[a:b], fs)  # (K,), (K, 6)
    k = np.argmin(adev, axis=0)  # (6,)
    resolved = (k < len(taus) - 2) & (adev[-1, np.arange(6)] > 1.1 * adev[k, np.arange(6)])
    return NoiseProfile(fs=float(fs), freqs=freqs, psd=psd, hf_rms=hf, density=density,
                        bias_instability=adev[k, np.arange(6)] / FLICKER_ADEV, bias_tau_s=taus[k],
                        bias_resolved=resolved, still_s=w_sum / fs, f_lo_hz=cfg.f_lo_hz)


def combine_profiles(profiles: list[NoiseProfile]) -> NoiseProfile:
    """Median profile of several sensors or subjects measured at one rate (a dataset's profile)."""
    if not profiles:
        raise ImukinError("no noise profiles to combine; the dataset has no still periods")
    fs = {p.fs for p in profiles}
    if len(fs) != 1:
        raise ImukinError(f"noise profiles measured at different rates {sorted(fs)}; resample first")
    st = lambda name: np.stack([getattr(p, name) for p in profiles])  # noqa: E731
    return NoiseProfile(fs=profiles[0].fs, freqs=profiles[0].freqs, psd=np.median(st("psd"), axis=0),
                        hf_rms=np.median(st("hf_rms"), axis=0), density=np.median(st("density"), axis=0),
                        bias_instability=np.median(st("bias_instability"), axis=0),
                        bias_tau_s=np.median(st("bias_tau_s"), axis=0),
                        bias_resolved=np.mean(st("bias_resolved"), axis=0) >= 0.5,
                        still_s=float(sum(p.still_s for p in profiles)), f_lo_hz=profiles[0].f_lo_hz)


def noisiest(profiles: list[NoiseProfile]) -> NoiseProfile:
    """Per channel, the profile with the largest ``hf_rms`` (the usual target: adding noise loses nothing)."""
    if not profiles:
        raise ImukinError("no noise profiles to choose a target from")
    idx = np.argmax(np.stack([p.hf_rms for p in profiles]), axis=0)  # (6,)
    pick = lambda name: np.stack([getattr(profiles[i], name)[c] for c, i in enumerate(idx)])  # noqa: E731
    return NoiseProfile(fs=profiles[0].fs, freqs=profiles[0].freqs, psd=pick("psd"), hf_rms=pick("hf_rms"),
                        density=pick("density"), bias_instability=pick("bias_instability"),
                        bias_tau_s=pick("bias_tau_s"), bias_resolved=pick("bias_resolved"),
                        still_s=float(min(p.still_s for p in profiles)), f_lo_hz=profiles[0].f_lo_hz)


# ---------------------------------------------------------------- synthesising
def coloured_noise(psd_fn, n: int, fs: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with a given one-sided PSD, (n,).

    ``psd_fn(f)`` returns units^2/Hz at frequencies ``f`` (Hz, 0 .. fs/2). Made in the
    frequency domain (random complex amplitudes scaled by ``sqrt(n fs P / 2)``, zero at
    DC), so its variance is the integral of the PSD.
    """
    f = np.fft.rfftfreq(n, 1.0 / fs)  # (n//2+1,)
    p = np.maximum(np.asarray(psd_fn(f), float), 0.0)
    amp = np.sqrt(n * fs * p / 2.0)
    spec = amp * (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) / np.sqrt(2.0)
    spec[0] = 0.0
    if n % 2 == 0:  # the Nyquist bin of a real signal is real
        spec[-1] = amp[-1] * rng.standard_normal()
    return np.fft.irfft(spec, n=n)


@dataclass
class EqualizeReport:
    """What :func:`equalize_noise` did, per channel."""

    action: list[str]  # per channel: "added", "lowpass", "unchanged"
    cutoff_hz: list[float | None]  # low-pass cutoff per channel (None unless "lowpass")
    before: NoiseProfile  # profile of the input
    target: NoiseProfile  # profile aimed at
    after: NoiseProfile | None = None  # profile measured on the output (same still frames)
    reached: list[bool] = field(default_factory=list)  # after.hf_rms within tolerance of the target

    def as_dict(self) -> dict:
        return {"action": dict(zip(NOISE_CHANNELS, self.action)),
                "cutoff_hz": dict(zip(NOISE_CHANNELS, self.cutoff_hz)),
                "before": self.before.as_dict(), "target": self.target.as_dict(),
                "after": self.after.as_dict() if self.after is not None else None,
                "reached": dict(zip(NOISE_CHANNELS, map(bool, self.reached)))}


def equalize_noise(acc: np.ndarray, gyr: np.ndarray, fs: float, target: NoiseProfile,
                   source: NoiseProfile | None = None, rng: np.random.Generator | None = None,
                   still: list[tuple[int, int]] | None = None, cfg: NoiseConfig | None = None
                   ) -> tuple[np.ndarray, np.ndarray, EqualizeReport]:
    """Bring one sensor's noise to a target profile (add coloured noise, or low-pass).

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        Signals at ``fs`` (the target's rate).
    fs : float
        Hz.
    target : NoiseProfile
        Profile to reach (e.g. :func:`noisiest` of the datasets' profiles).
    source : NoiseProfile, optional
        This sensor's profile (default: measured on ``still``). Pass a dataset's
        profile for a recording without still periods.
    rng : numpy.random.Generator, optional
        Source of the added noise (default: seed 0, so results are reproducible).
    still : list of (int, int), optional
        Still frames used to measure the profiles (default: detected).
    cfg : NoiseConfig, optional

    Returns
    -------
    acc, gyr : ndarray, shape (N, 3)
    report : EqualizeReport
        Per channel action, cutoff, profiles before, target and after (``after`` is
        None when the recording has no still period to measure it on).
    """
    cfg = cfg or NoiseConfig()
    rng = rng if rng is not None else np.random.default_rng(0)
    if not same_rate(target.fs, fs):
        raise ImukinError(f"the target noise profile was measured at {target.fs} Hz but the signals are at {fs} Hz; "
                          "resample before equalising")
    x = np.concatenate([np.asarray(acc, float), np.asarray(gyr, float)], axis=1)  # (N, 6)
    if still is None:
        still = still_bouts(acc, gyr, fs, cfg)
    if source is None:
        source = estimate_noise(acc, gyr, fs, still, cfg)
    n = len(x)
    actions, cutoffs = [], []
    out = x.copy()
    for c in range(6):
        s_hf, t_hf = source.hf_rms[c], target.hf_rms[c]
        if t_hf > s_hf * (1.0 + cfg.tolerance):
            d_psd = np.clip(target.psd[c] - np.interp(target.freqs, source.freqs, source.psd[c]), 0.0, None)
            d_psd[target.freqs < cfg.f_lo_hz] = 0.0
            if not np.any(d_psd > 0):  # spectra cross: fall back to white noise of the missing power
                d_psd = np.where(target.freqs >= cfg.f_lo_hz, (t_hf ** 2 - s_hf ** 2) / (fs / 2 - cfg.f_lo_hz), 0.0)
            # below f_lo keep the added spectrum flat at its level there (white noise is white at all f)
            first = np.argmax(target.freqs >= cfg.f_lo_hz)
            d_psd[:first] = d_psd[first]
            noise = coloured_noise(lambda f, d_psd=d_psd: np.interp(f, target.freqs, d_psd), n, fs, rng)
            if target.bias_resolved[c] and target.bias_instability[c] > source.bias_instability[c]:
                h = FLICKER_ADEV ** 2 * (target.bias_instability[c] ** 2 - source.bias_instability[c] ** 2) \
                    / (2.0 * np.log(2.0))  # one-sided flicker PSD h / f
                f_lo = cfg.f_lo_hz  # the band above f_lo is matched by the spectra already
                noise += coloured_noise(
                    lambda f, h=h, f_lo=f_lo: np.where((f > 0) & (f < f_lo), h / np.maximum(f, 1e-12), 0.0),
                    n, fs, rng)
            out[:, c] += noise
            actions.append("added")
            cutoffs.append(None)
        elif t_hf < s_hf * (1.0 - cfg.tolerance):
            dens = max(source.density[c], 1e-30)
            fc = cfg.f_lo_hz + t_hf ** 2 / (2.0 * dens ** 2)  # white noise of density d in [f_lo, fc]
            fc = float(np.clip(fc, cfg.min_cutoff_hz, 0.99 * fs / 2.0))
            out[:, c] = lowpass(x[:, c], fs, fc)
            actions.append("lowpass")
            cutoffs.append(fc)
        else:
            actions.append("unchanged")
            cutoffs.append(None)
    rep = EqualizeReport(action=actions, cutoff_hz=cutoffs, before=source, target=target)
    if still:
        rep.after = estimate_noise(out[:, :3], out[:, 3:], fs, still, cfg)
        rep.reached = list(np.abs(rep.after.hf_rms / target.hf_rms - 1.0) <= 2 * cfg.tolerance)
    return out[:, :3], out[:, 3:], rep


__all__ = ["NOISE_CHANNELS", "NoiseConfig", "NoiseProfile", "allan_deviation", "still_bouts", "estimate_noise",
           "combine_profiles", "noisiest", "coloured_noise", "EqualizeReport", "equalize_noise"]
