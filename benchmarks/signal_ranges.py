"""Real against simulated walking signals: where the simulator's sensors leave the range of real ones.

Per leg segment type, over the walking frames of a real recording (each sensor turned into its
segment's axes by ``imukin predict``'s alignment) and over simulated walkers (the held-out people
of ``benchmarks/accuracy.py``), both at 100 Hz: the 99.5th percentile of the acceleration norm,
the 0.5th and 99.5th percentiles of the flexion rate (segment z) and the largest angular-rate
norm. The last column counts the simulated legs beyond the real recording's larger leg. Real:
the Kuopio trial by default, or any recording ``imukin predict`` reads. Nothing is fitted.

    .venv/bin/python benchmarks/signal_ranges.py [--real ../shared/data/real/kuopio --fs 100] [--subjects 12]

One real recording is one person on one day: the table shows where to look, not a range to fit.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from imukin.api import find_mounting
from imukin.conventions import SIDES, segment_name
from imukin.errors import ImukinError
from imukin.io.job_h5 import iter_dataset
from imukin.io.recording import load_recording
from imukin.preprocessing.align import walking_mask
from imukin.signal import resample

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import test_corpus  # noqa: E402  (the held-out people, one place)

FS = 100.0  # Hz, the rate both sides are compared at
SEGMENTS = ("thigh", "shank", "foot")
STATS = ("|acc| p99.5 (m/s^2)", "flexion rate p0.5 (rad/s)", "flexion rate p99.5 (rad/s)", "|gyr| max (rad/s)")
LOW_TAIL = np.array([False, True, False, False])  # per STATS entry: extreme means below the real one


def signal_stats(acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
    """The four statistics of STATS from segment-frame (T, 3) signals: (4,)."""
    return np.array([np.percentile(np.linalg.norm(acc, axis=1), 99.5), np.percentile(gyr[:, 2], 0.5),
                     np.percentile(gyr[:, 2], 99.5), np.linalg.norm(gyr, axis=1).max()])


def real_stats(path: Path, fs: float | None, sensors: dict | None = None) -> dict:
    """``{segment name: (4,)}`` over each leg sensor's walking frames, aligned as imukin predict aligns them."""
    rec = load_recording(path, fs=fs, sensors=sensors)
    legs = [segment_name(seg, side) for seg in SEGMENTS for side in SIDES if segment_name(seg, side) in rec.acc]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # alignment notes are not this table's subject
        mounting, _ = find_mounting(rec, legs, "walking")
    out = {}
    for seg in legs:
        acc, gyr = mounting[seg].apply(np.nan_to_num(rec.acc[seg]), np.nan_to_num(rec.gyr[seg]))
        walk = walking_mask(gyr, rec.fs)
        if walk.sum() < rec.fs:
            continue
        acc, gyr = resample(acc[walk], rec.fs, FS), resample(gyr[walk], rec.fs, FS)
        out[seg] = signal_stats(acc, gyr)
    return out


def simulated_stats(n: int, duration_s: float, workdir: Path) -> dict:
    """``{segment type: (legs, 4)}`` over the held-out simulated walkers."""
    path = test_corpus("walking", n, duration_s, workdir)
    out = {s: [] for s in SEGMENTS}
    for rec in iter_dataset(path, rmat=False):
        for seg in SEGMENTS:
            for side in SIDES:
                name = segment_name(seg, side)
                if name in rec.acc:
                    out[seg].append(signal_stats(resample(rec.acc[name], rec.fs, FS),
                                                 resample(rec.gyr[name], rec.fs, FS)))
    return {s: np.array(v) for s, v in out.items() if v}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, default=Path("../shared/data/real/kuopio"), help="a real walking recording")
    ap.add_argument("--fs", type=float, default=100.0, help="its rate, Hz, where the files do not state it")
    ap.add_argument("--sensors", type=json.loads, help='segment -> sensor name, as JSON, where the names do not '
                    'say it, e.g. \'{"lfoot": "left_sensor", "rfoot": "right_sensor"}\'')
    ap.add_argument("--subjects", type=int, default=12, help="held-out simulated walkers")
    ap.add_argument("--duration-s", type=float, default=30.0)
    ap.add_argument("--workdir", type=Path, default=Path("runs/benchmark"))
    args = ap.parse_args()
    if not args.real.exists():
        print(f"no recording at {args.real}; pass --real with a walking recording imukin predict reads",
              file=sys.stderr)
        return 2
    try:
        real = real_stats(args.real, args.fs, args.sensors)
    except ImukinError as e:
        print(f"signal_ranges.py: error: {e}", file=sys.stderr)
        return 2
    sim = simulated_stats(args.subjects, args.duration_s, args.workdir)
    print(f"\nWalking signals at {FS:g} Hz, segment axes: real {args.real} (walking frames) against "
          f"{args.subjects} simulated walkers (median [min, max] over their legs)\n")
    print("| segment | statistic | real right / left | simulated | simulated legs beyond the real |")
    print("|---|---|---|---|---|")
    for seg, s in sim.items():
        r = [real.get(segment_name(seg, side)) for side in SIDES]
        for k, stat in enumerate(STATS):
            vals = [x[k] for x in r if x is not None]
            real_txt = " / ".join("-" if x is None else f"{x[k]:.1f}" for x in r)
            if vals:
                beyond = int(np.sum(s[:, k] < min(vals)) if LOW_TAIL[k] else np.sum(s[:, k] > max(vals)))
                beyond_txt = f"{beyond} of {len(s)}"
            else:
                beyond_txt = "-"
            print(f"| {seg} | {stat} | {real_txt} | {np.median(s[:, k]):.1f} [{s[:, k].min():.1f}, "
                  f"{s[:, k].max():.1f}] | {beyond_txt} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
