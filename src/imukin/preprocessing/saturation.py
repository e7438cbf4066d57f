"""Sensors that saturated: channels that sit at one extreme value, again and again.

An accelerometer or gyroscope whose range is too small for the motion (many MEMS parts
default to +-2 g and +-250 deg/s; a walking foot turns at up to about 800 deg/s and lands at
up to about 10 g) reads its range limit wherever the motion exceeds it: the signal is cut
flat there, and the angles computed from it are wrong around those samples. On a real
recording the largest value of a channel is reached once, at one peak; a channel cut at its
range reaches the very same value at many peaks. So a channel counts as saturated when its
largest (or smallest) value recurs in :data:`MIN_RUNS` separate runs of samples or more, at a
level no sensor's range ends below (:data:`MIN_RANGE`; a coarsely written standing repeats its
largest value too). A synthetic signal that repeats exactly (a sinusoid sampled in step with its
period) meets the rule as well; a real sensor's noise keeps its peaks apart.

Measured on the Kuopio trial (Xsens MTw2, +-2000 deg/s) with every gyroscope cut at 250 deg/s
(as such a sensor would record it: 19-20 % of the feet's samples, 10-12 % of the shanks'), the
cnn's offset-removed flexion RMSE went from 2.99 to 16.2 deg on the left ankle and from 1.60 to
3.43 on the left knee; cut at 500 deg/s (2 % of the feet's samples) the ankles moved by less than
a degree. Hence a note in :func:`imukin.predict`'s report rather than an error: what a cut costs
depends on how much is cut.

:func:`repair_saturated` puts back what it can: each cut run of samples becomes the arc of a
parabola that leaves and rejoins the signal at its range limit with the signal's own slopes there
(a quadratic through the cut peak, as Dang & Suh, Sensors 14(5), 2014, estimate saturated gyroscope
peaks). ``imukin.predict`` does so by default (``repair_saturation``). Measured in
``benchmarks/saturation.py``.
"""
from __future__ import annotations

import numpy as np

from imukin.conventions import G
from imukin.preprocessing.align import bouts

MIN_RUNS = 3  # separate runs at the channel's extreme value that make it saturated (a real peak: one; two
# peaks of a 16-bit reading can meet on one step by chance, three hardly)
REL_TOL = 1e-9  # relative tolerance of "the same value" (values written and read back as text keep it)
#: The smallest level a sensor's range can end at, per signal (SI units): 0.9 times the smallest range MEMS
#: parts offer (accelerometers +-2 g, gyroscopes +-125 deg/s), the 0.9 for calibration. A channel whose
#: extreme recurs below it is quantised, not cut (a stretch of standing written with two decimals reads its
#: largest value again and again).
MIN_RANGE = {"accelerometer": 0.9 * 2.0 * G, "gyroscope": 0.9 * np.radians(125.0)}


def _at_level(v: np.ndarray, level: float) -> np.ndarray:
    """(N,) where the channel ``v`` (N,) reads ``level`` (to :data:`REL_TOL`; NaN never does)."""
    return np.abs(v - level) <= REL_TOL * max(1.0, abs(level))


def saturated_axes(x: np.ndarray) -> list[dict]:
    """The axes of a (N, 3) signal that sit at an extreme value in :data:`MIN_RUNS` runs or more.

    Parameters
    ----------
    x : array_like, shape (N, 3)
        One sensor's accelerometer or gyroscope (any unit); NaN samples are ignored.

    Returns
    -------
    list of dict
        One entry per saturated axis end: ``{"axis": 0-2, "level": the value, "samples": count,
        "share": of the finite samples, "runs": count}``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 4, 400)
    >>> x = np.stack([3 * np.sin(2 * np.pi * t), np.cos(t), t], axis=1)
    >>> saturated_axes(x)
    []
    >>> [(d["axis"], d["level"], d["runs"]) for d in saturated_axes(np.clip(x, -2, 2))]
    [(0, 2.0, 4), (0, -2.0, 4)]
    """
    x = np.asarray(x, float)
    out = []
    for k in range(x.shape[1]):
        v = x[:, k]
        ok = np.isfinite(v)
        if ok.sum() < 3:
            continue
        for level in (float(np.max(v[ok])), float(np.min(v[ok]))):
            at = _at_level(v, level)  # (N,) at the extreme
            runs = len(bouts(at))
            if runs >= MIN_RUNS:
                out.append({"axis": k, "level": level, "samples": int(at.sum()),
                            "share": float(at.sum() / ok.sum()), "runs": runs})
    return out


def find_saturation(acc: dict, gyr: dict) -> dict[str, dict[str, list[dict]]]:
    """The saturated axis ends (:func:`saturated_axes`, at a level no smaller than :data:`MIN_RANGE`) of every
    sensor: ``{segment: {"accelerometer": [...], "gyroscope": [...]}}``, only the sensors and signals that
    saturated.

    Parameters
    ----------
    acc, gyr : dict of str -> ndarray, shape (N, 3)
        Per segment, m/s^2 and rad/s.
    """
    found = {}
    for what, signals in (("accelerometer", acc), ("gyroscope", gyr)):
        for seg, x in signals.items():
            hits = [d for d in saturated_axes(x) if abs(d["level"]) >= MIN_RANGE[what]]
            if hits:
                found.setdefault(seg, {})[what] = hits
    return found


def saturation_notes(acc: dict, gyr: dict, found: dict | None = None) -> list[str]:
    """One line per sensor and signal that saturated, for a recording's report.

    Parameters
    ----------
    acc, gyr : dict of str -> ndarray, shape (N, 3)
        Per segment, m/s^2 and rad/s (with ``found``, only their segments are read).
    found : dict, optional
        :func:`find_saturation` of the same signals, where it was run already (or a
        :meth:`SaturationWatch.found`).
    """
    found = find_saturation(acc, gyr) if found is None else found
    notes = []
    for what, signals, unit, scale, shown, enough in (("accelerometer", acc, "m/s^2", 1.0 / G, "g", 16.0),
                                                      ("gyroscope", gyr, "rad/s", 180.0 / np.pi, "deg/s", 2000.0)):
        for seg in signals:
            hits = found.get(seg, {}).get(what)
            if not hits:
                continue
            worst = max(hits, key=lambda d: d["share"])
            where = ", ".join(f"{'xyz'[d['axis']]} at {d['level']:+.2f} {unit} ({d['level'] * scale:+.0f} {shown}, "
                              f"{d['share']:.1%} of samples)" for d in hits)
            top = max(abs(d["level"]) for d in hits) * scale  # the range, in g or deg/s
            advice = (f"record with a range of at least {enough:g} {shown}" if top < 0.99 * enough else
                      "a larger range, where the sensor has one, would keep them")
            notes.append(f"{seg}: the {what} saturated (cut flat at its range: {where}); the angles near "
                         f"those samples are unreliable{' and may be far off' if worst['share'] > 0.05 else ''}; "
                         f"{advice}")
    return notes


class SaturationWatch:
    """:func:`find_saturation` for signals that arrive a few samples at a time (a stream).

    Keeps, per channel, its largest and smallest value so far, how many separate runs of samples reached
    each and how many samples sat there; a channel end counts as saturated once :data:`MIN_RUNS` runs
    have reached its extreme at a level no smaller than :data:`MIN_RANGE`, as :func:`find_saturation` decides
    over a whole recording.

    Parameters
    ----------
    segments : sequence of str
        The sensors, in the order of :meth:`push`'s groups of three channels.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(400) / 100.0
    >>> gyr = np.clip(np.stack([8 * np.sin(2 * np.pi * t), np.cos(t), 0 * t], axis=1), -4.36, 4.36)
    >>> watch = SaturationWatch(["rshank"])
    >>> for k in range(0, 400, 7):  # 7 samples at a time
    ...     watch.push({"rshank": np.zeros((len(gyr[k:k + 7]), 3))}, {"rshank": gyr[k:k + 7]})
    >>> [(h["axis"], h["level"], h["runs"]) for h in watch.found()["rshank"]["gyroscope"]]
    [(0, 4.36, 4), (0, -4.36, 4)]
    """

    def __init__(self, segments) -> None:
        self.segments = list(segments)
        c = 2 * 3 * len(self.segments)  # channels: (acc, gyr) x xyz per sensor
        self._level = np.full((2, c), np.nan)  # (max/min, C) extreme so far
        self._runs = np.zeros((2, c), int)  # runs that reached it
        self._samples = np.zeros((2, c), int)  # samples at it
        self._at_end = np.zeros((2, c), bool)  # the last sample pushed sat at it
        self._finite = np.zeros(c, int)  # finite samples per channel

    def push(self, acc: dict, gyr: dict) -> None:
        """Add the next samples: ``{segment: (n, 3)}`` each, m/s^2 and rad/s."""
        self.push_columns(np.concatenate([np.concatenate([np.asarray(acc[s]), np.asarray(gyr[s])], axis=1)
                                          for s in self.segments], axis=1))

    def push_columns(self, x) -> None:
        """Add the next samples as one array (n, 6 * sensors): per sensor, in :attr:`segments` order, its
        accelerometer x, y, z (m/s^2), then its gyroscope x, y, z (rad/s)."""
        x = np.asarray(x, float)  # (n, C)
        if not len(x):
            return
        ok = np.isfinite(x)
        whole = bool(ok.all())  # the usual case: no gap, no masking needed
        self._finite += len(x) if whole else ok.sum(axis=0)
        for e, sign in enumerate((1.0, -1.0)):  # the largest value, then the smallest
            y = sign * x if whole else np.where(ok, sign * x, -np.inf)  # (n, C)
            m = sign * y.max(axis=0)  # (C,) the chunk's extreme; inf: no finite sample
            lvl = self._level[e]  # (C,) NaN: nothing seen yet
            short = sign * (m - lvl) < -REL_TOL * np.maximum(1.0, np.abs(lvl))  # (C,) short of the extreme
            reach = np.zeros(len(m), bool)  # (C,) the chunk's last sample sits at the channel's extreme
            for c in np.flatnonzero(np.isfinite(m) & ~short):  # usually none: most samples are no extreme
                level = self._level[e, c]
                if not (np.isfinite(level) and _at_level(m[c:c + 1], level)[0]):  # a new extreme: drop the old runs
                    self._level[e, c], self._runs[e, c], self._samples[e, c] = m[c], 0, 0
                    self._at_end[e, c] = False
                at = _at_level(x[:, c], self._level[e, c])  # (n,) at the extreme
                runs = bouts(at)
                self._runs[e, c] += len(runs) - int(runs[0][0] == 0 and self._at_end[e, c])  # one run across pushes
                self._samples[e, c] += int(at.sum())
                reach[c] = at[-1]
            self._at_end[e] = reach

    def found(self) -> dict[str, dict[str, list[dict]]]:
        """The saturated axis ends so far, as :func:`find_saturation` gives them for whole signals."""
        out = {}
        for e in range(2):
            for c in np.flatnonzero(self._runs[e] >= MIN_RUNS):
                seg, rest = divmod(int(c), 6)
                what, axis = ("accelerometer", "gyroscope")[rest // 3], rest % 3
                if abs(self._level[e, c]) < MIN_RANGE[what]:
                    continue  # quantised, not cut (as find_saturation)
                out.setdefault(self.segments[seg], {}).setdefault(what, []).append(
                    {"axis": axis, "level": float(self._level[e, c]), "samples": int(self._samples[e, c]),
                     "share": float(self._samples[e, c] / max(self._finite[c], 1)), "runs": int(self._runs[e, c])})
        for signals in out.values():
            for hits in signals.values():
                hits.sort(key=lambda d: (d["axis"], -d["level"]))
        return out


def _crossing(u_prev: float, slope: float, edge: int, direction: float) -> float:
    """Where a signal ``u`` (< 0 within the range, 0 at its limit) reaches 0 between ``edge``, its last sample
    within the range (``u_prev``), and the next one, ``direction`` +1 forward or -1 backward, moving at ``slope``
    (> 0) per sample."""
    return edge + direction * float(np.clip(-u_prev / slope, 0.0, 1.0))


def repair_saturated(x: np.ndarray, hits: list[dict] | None = None) -> tuple[np.ndarray, int]:
    """A (N, 3) signal with each run cut flat at a saturated axis end replaced by a parabola through its edges.

    Over a run of samples at the range limit ``L`` (the level of a :func:`saturated_axes` entry), the signal
    left the range at ``t0`` and came back at ``t1`` (read between samples from the slopes of the two samples
    on either side); there it is put back as ``L + c (t - t0)(t1 - t)`` (beyond ``L``), ``c`` giving the arc
    the mean of the signal's slopes leaving and rejoining the range: a quadratic through the cut peak, as
    Dang & Suh (Sensors 14(5), 2014) estimate saturated gyroscope peaks. Runs at the recording's ends, next
    to a gap (NaN), or where the signal does not rise into the limit and fall out of it, stay as they are.
    Meant for angular rates, which peak smoothly; an accelerometer's impacts are spikes whose height beyond
    the range no curve through their flanks gives (``benchmarks/saturation.py``).

    Parameters
    ----------
    x : array_like, shape (N, 3)
        One sensor's gyroscope (any unit).
    hits : list of dict, optional
        The saturated axis ends, as :func:`saturated_axes` returns them (found here when not given).

    Returns
    -------
    repaired : ndarray, shape (N, 3)
        A copy of ``x`` with the cut runs replaced.
    runs : int
        How many runs were replaced.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(400) / 100.0
    >>> x = np.stack([3 * np.sin(2 * np.pi * t), np.zeros_like(t), np.zeros_like(t)], axis=1)
    >>> y, n = repair_saturated(np.clip(x, -2, 2))
    >>> n, bool(np.abs(y - x).max() < 0.2)
    (8, True)
    """
    y = np.array(x, float)
    n = len(y)
    done = 0
    for hit in saturated_axes(y) if hits is None else hits:
        axis, level = hit["axis"], float(hit["level"])
        sign = 1.0 if level >= 0 else -1.0  # beyond the limit: further from 0
        v = y[:, axis]
        at = _at_level(v, level)  # (N,) at the limit
        u = sign * (v - level)  # (N,) < 0 within the range, 0 at the limit
        for a, b in bouts(at):
            if a < 2 or b + 2 > n or not np.all(np.isfinite(u[[a - 2, a - 1, b, b + 1]])):
                continue
            rise, fall = u[a - 1] - u[a - 2], u[b] - u[b + 1]  # per sample, into and out of the limit
            if rise <= 0 or fall <= 0:
                continue
            t0, t1 = _crossing(u[a - 1], rise, a - 1, 1.0), _crossing(u[b], fall, b, -1.0)
            if t1 <= t0:  # a single sample just touching the limit
                continue
            t = np.arange(a, b, dtype=float)  # (b - a,) samples of the run
            c = 0.5 * (rise + fall) / (t1 - t0)  # the arc's end slopes: c (t1 - t0)
            v[a:b] = level + sign * c * (t - t0) * (t1 - t)
            done += 1
    return y, done


def repair_gyroscopes(gyr: dict, found: dict) -> tuple[dict, dict[str, int]]:
    """Each gyroscope of ``gyr`` (``{segment: (N, 3)}``, rad/s) that ``found`` (:func:`find_saturation` of the same
    signals) names saturated, repaired (:func:`repair_saturated`): the signals (the others as they were) and the
    runs put back per segment repaired (:func:`repaired_note` words them for a report)."""
    out, runs = dict(gyr), {}
    for seg, x in gyr.items():
        hits = found.get(seg, {}).get("gyroscope")
        if hits:
            out[seg], runs[seg] = repair_saturated(x, hits)
    return out, runs


def repaired_note(where: str, runs: int) -> str:
    """The report line of a sensor (``where``: its segment, and more where needed) whose ``runs`` cut gyroscope
    peaks were put back."""
    return (f"{where}: {runs} cut gyroscope peak{'s' if runs != 1 else ''} put back as smooth curves through the "
            "samples either side (predict with --no-repair to keep them as recorded)")
