"""Simulator throughput and peak memory: one table.

Target: a 100-subject corpus, 60 s per subject, 7 sensors at 200 Hz, in under ``TARGET_S`` (30 s) on 2
cores (first 60 s, now 30 s); other sizes are held to the same rate. Run:
``.venv/bin/python benchmarks/simulator_throughput.py [--subjects 100]``.
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from imukin.argtypes import add_option
from imukin.io.job_h5 import write_dataset
from imukin.simulation.corpus import CorpusConfig, corpus_attrs, simulate_corpus

TARGET_S = 30.0  # s for 100 people x 60 s x 7 sensors at 200 Hz on 2 cores


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0  # Linux reports KiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=100)
    add_option(ap, "--duration-s", aliases=("--duration",), type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    args = ap.parse_args()
    rows = []
    for activity in ("walking", "running"):
        cfg = CorpusConfig(activity=activity, n_subjects=args.subjects, seed=7, duration_s=args.duration_s)
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            path = write_dataset(Path(d) / "c.h5", simulate_corpus(cfg, workers=args.workers), attrs=corpus_attrs(cfg))
            wall = time.perf_counter() - t0
            size_mb = path.stat().st_size / 1e6
        sensor_s = args.subjects * args.duration_s * 7
        rows.append((activity, args.subjects, args.duration_s, wall, sensor_s / wall, size_mb))
    print(f"\nSimulator throughput ({args.workers} worker processes, 7 sensors at 200 Hz, full sensor error model)\n")
    print("| activity | subjects | s/subject | wall s | sensor-s per wall-s | file MB | target |")
    print("|---|---|---|---|---|---|---|")
    for a, n, d, wall, thr, mb in rows:
        limit = TARGET_S * n * d / (100 * 60)  # s, the target scaled to this corpus size
        ok = "met" if wall <= limit else "missed"
        print(f"| {a} | {n} | {d:g} | {wall:.1f} | {thr:,.0f} | {mb:.1f} | {ok} (<{limit:.1f} s) |")
    print(f"\npeak resident memory (largest process): {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
