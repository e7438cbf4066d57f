"""How fast a recording's person strides, against the strides the shipped models learnt from.

The shipped models learnt from simulated people walking at 0.6-2.0 m/s and running at 2.0-5.0 m/s
(:data:`imukin.simulation.gait.SPEED_RANGE_M_S`). Slower walking, as older adults and patients walk
(0.3-0.6 m/s), costs them accuracy (``benchmarks/accuracy.py`` prints walking flexion by speed band;
docs/models.md, "By walking speed"). Body-worn sensors do not measure speed, but the stride period
follows it closely (:func:`imukin.simulation.gait.stride.step_frequency_hz`), so a recording whose
legs stride more slowly (or quickly) than any simulated person did in training gets a note saying so.

>>> lo, hi = trained_stride_range_s("walking")  # s
>>> print(f"{lo:.2f} {hi:.2f}")
0.80 1.61
"""
from __future__ import annotations

import functools

import numpy as np

from imukin.conventions import SEGMENTS
from imukin.errors import ImukinError
from imukin.preprocessing.align import STRIDE_RANGE_S, AlignConfig, bouts, gait_window
from imukin.simulation.body import draw_subject
from imukin.simulation.gait import SPEED_RANGE_M_S
from imukin.simulation.gait.stride import step_frequency_hz

PEOPLE = 1000  # simulated people whose strides give the trained range
PERCENTILES = (1.0, 99.0)  # the range's ends: the fastest 1 % at the top speed, the slowest 1 % at the lowest
#: Stride periods (s) searched, whatever the activity asked for: a run analysed as walking (the default) is
#: found at its own stride, not at two (a walking search starts at 0.8 s), and then gets its note.
ANY_STRIDE_S = (min(lo for lo, _ in STRIDE_RANGE_S.values()), max(hi for _, hi in STRIDE_RANGE_S.values()))
LEG_SEGMENTS = tuple(s for s in SEGMENTS if s != "pelvis")  # sensors whose stride period is taken (the
#   pelvis's is less clear: it moves with both legs)


@functools.lru_cache(maxsize=8)
def trained_stride_range_s(activity: str, speed_range_m_s: tuple[float, float] | None = None) -> tuple[float, float]:
    """Shortest and longest stride periods (s) of the people the shipped models learnt from.

    Parameters
    ----------
    activity : {"walking", "running"}
    speed_range_m_s : (float, float), optional
        Speeds of the training corpus (default: the activity's, ``SPEED_RANGE_M_S``).

    Returns
    -------
    (float, float)
        The 1st percentile of the stride period at the fastest speed and the 99th at the slowest, over
        :data:`PEOPLE` simulated people (each with their own leg length and cadence).
    """
    lo_v, hi_v = speed_range_m_s or SPEED_RANGE_M_S[activity]
    people = [draw_subject(np.random.default_rng([0, i]), activity) for i in range(PEOPLE)]

    def periods(v: float) -> np.ndarray:  # (PEOPLE,) s: two steps
        return np.array([2.0 / (p.cadence_factor * float(step_frequency_hz(activity, v, p.leg_length_m)))
                         for p in people])

    return float(np.percentile(periods(hi_v), PERCENTILES[0])), float(np.percentile(periods(lo_v), PERCENTILES[1]))


def recording_stride_s(acc: dict, gyr: dict, fs: float, activity: str, cfg: AlignConfig | None = None) -> float:
    """Median stride period (s) over a recording's leg sensors (each over its longest bout of gait within
    its longest stretch without gaps); NaN where no leg sensor has a bout with a stride period."""
    found = []
    for name in acc:
        if name not in LEG_SEGMENTS:
            continue
        a, g = np.asarray(acc[name], float), np.asarray(gyr[name], float)
        stretches = bouts(np.isfinite(a).all(axis=1) & np.isfinite(g).all(axis=1))
        if not stretches:
            continue
        start, stop = max(stretches, key=lambda r: r[1] - r[0])
        a, g = a[start:stop], g[start:stop]
        try:
            _, period = gait_window(a, g, fs, name, activity, cfg, limits=ANY_STRIDE_S)  # the longest bout of gait
        except ImukinError:
            continue
        if np.isfinite(period):
            found.append(period)
    return float(np.median(found)) if found else float("nan")


def stride_notes(acc: dict, gyr: dict, fs: float, activity: str) -> list[str]:
    """One note when the recording's strides lie outside those the shipped models learnt from, else none.

    Parameters
    ----------
    acc, gyr : dict
        ``{sensor name: (T, 3)}`` m/s^2 and rad/s, any frames (the stride period does not need the mounting).
    fs : float
        Hz.
    activity : {"walking", "running"}

    Returns
    -------
    list of str
    """
    stride = recording_stride_s(acc, gyr, fs, activity)
    if not np.isfinite(stride):
        return []
    lo, hi = trained_stride_range_s(activity)
    v_lo, v_hi = SPEED_RANGE_M_S[activity]
    if stride > hi:
        return [f"the legs stride every {stride:.2f} s ({120.0 / stride:.0f} steps/min): slower {activity} than the "
                f"models learnt from (simulated people at {v_lo:g} m/s and faster stride within {hi:.2f} s); expect "
                + ("larger errors, less so with the optimisation stage (--refine; docs/models.md, 'By walking speed')"
                   if activity == "walking" else "larger errors; if this is walking, give --activity walking")]
    if stride < lo:
        return [f"the legs stride every {stride:.2f} s ({120.0 / stride:.0f} steps/min): faster {activity} than the "
                f"models learnt from (simulated people at {v_hi:g} m/s and slower stride at least every {lo:.2f} s); "
                "expect larger errors" + ("; if this is running, give --activity running" if activity == "walking"
                                          else "")]
    return []
