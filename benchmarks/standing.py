"""Accuracy on walks that start and end standing still: the shipped walking models, with and without the
optimisation stage, on held-out simulated walkers who stand before they walk off and after they stop.

Real recordings start and end with standing (a calibration pose, waiting for the go, stopping at the end of a
walkway); the shipped corpora walk throughout unless a recipe sets ``stand_prob``
(:class:`imukin.simulation.corpus.CorpusConfig`). Here every walker of ``benchmarks/accuracy.py`` (seed 9001,
the same people) stands 1-4 s, walks off over 1-2.5 s, walks, and stops again the same way
(``stand_prob=1``, :mod:`imukin.simulation.gait`). Nothing is fitted.

Columns (flexion, deg, mean over legs):

- *whole walk*: offset-removed RMSE over the whole sequence, standing included;
- *walking part*: offset-removed RMSE from 7 s after the start to 7 s before the end (past every ramp);
- *standing against the walk*: how far the error's mean over the first and over the last second (standing
  whatever the draw) lies from its mean over the walking part, averaged over both ends: what a network reads
  for standing beyond the offset it has while walking;
- *standing spread*: the error's SD within those seconds (a reading that wanders while nothing moves).

Then the same on a real person: the Kuopio trial (7 Xsens MTw2, ``../shared/data/real/kuopio``) stands about
1.8 s before walking off. Over its standing start, found as ``imukin predict --calibrate standing`` finds it
(every sensor still, :func:`imukin.api.still_bouts`, the first bout of at least
``AlignConfig.min_still_s``), each model's flexion through ``imukin.predict`` (sensor mountings found by the
alignment): its range and SD there, where the real legs hold still. ``--no-real`` skips it.

    .venv/bin/python benchmarks/standing.py [--subjects 12] [--models cnn cnn+refined transformer] \\
        [--candidates DIR]  # also trained, not shipped models DIR/walking_<joint>_<model>
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import TEST_SEEDS, flexion_error, heldout_walkers_parser, print_condition_table  # noqa: E402

from imukin.conventions import JOINT_NAMES, SIDES, joint_name  # noqa: E402
from imukin.io.job_h5 import file_attrs, iter_dataset, subject_ids  # noqa: E402
from imukin.simulation.corpus import CorpusConfig, cached_corpus  # noqa: E402

COLUMNS = ["whole walk", "walking part", "standing against the walk", "standing spread"]
WALK_FROM_S = 7.0  # s from either end past which the walk has reached its speed (standing <= 4 s + ramp <= 2.5 s)
STILL_S = 1.0  # s at either end that are standing whatever the draw (standing >= 1 s)
REAL_DATA = Path("../shared/data/real/kuopio")  # the real trial that starts standing, where it is


def standing_corpus(n: int, duration: float, workdir: Path) -> Path:
    """The held-out walkers (seed 9001), each starting and ending standing, simulated once and cached."""
    path = workdir / f"walking_heldout_s{TEST_SEEDS['walking']}_n{n}_d{duration:g}_st1.h5"
    return cached_corpus(path, CorpusConfig(activity="walking", n_subjects=n, seed=TEST_SEEDS["walking"],
                                            duration_s=duration, stand_prob=1.0))


def standing_frames(rec) -> tuple[int, int]:
    """The first bout (start, stop frames) in which every sensor of recording ``rec`` is still, as ``imukin
    predict --calibrate standing`` finds the standing (:func:`imukin.api.still_bouts`)."""
    from imukin.api import still_bouts
    from imukin.errors import ImukinError

    runs, _ = still_bouts(rec, rec.acc)
    if not runs:
        raise ImukinError(f"{rec.name} has no standing on every sensor long enough to score")
    return runs[0]


def real_standing(rec, frames: tuple[int, int], models: list[str], candidates: Path | None) -> None:
    """Print each model's flexion range and SD (deg) over ``frames`` (the standing start) of real recording ``rec``."""
    import imukin
    from imukin.pretrained import angle_runs

    a, b = frames
    print(f"\nReal standing: {rec.name} ({rec.source}), frames {a}-{b} ({(b - a) / rec.fs:.1f} s) with every sensor "
          "still; flexion range / SD (deg) of each model's angles there, right / left\n")
    runs = {label: dict(model=label.split("+")[0], refine=label.endswith("+refined")) for label in models}
    for joint in JOINT_NAMES if candidates else []:
        for run in angle_runs(candidates, "walking", joint):
            runs[f"new {run.name.split('_', 2)[2]} ({joint})"] = dict(run=run, joints=[joint])
    print("| model | " + " | ".join(JOINT_NAMES) + " |")
    print("|---|" + "---:|" * len(JOINT_NAMES))
    for label, kw in runs.items():
        angles = imukin.predict(rec, **kw).angles
        cells = []
        for joint in JOINT_NAMES:
            flex = [angles[joint_name(joint, side)][a:b, 0] for side in SIDES if joint_name(joint, side) in angles]
            cells.append(" / ".join(f"{np.ptp(f):.2f}, {f.std():.2f}" for f in flex) if flex else "-")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


def main() -> int:
    ap = heldout_walkers_parser(__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path,
                    help=f"the Kuopio trial's folder (a real recording that starts standing; default {REAL_DATA} "
                    "where it is)")
    ap.add_argument("--no-real", action="store_true", help="the simulated walkers only")
    args = ap.parse_args()
    if args.real is not None and not args.real.is_dir():
        print(f"error: no real recording at {args.real}; give its folder with --real, or --no-real", file=sys.stderr)
        return 2
    real = None if args.no_real else args.real or (REAL_DATA if REAL_DATA.is_dir() else None)
    if real is not None:  # read, and find its standing, before the long part
        import imukin
        from imukin.errors import ImukinError

        try:
            real = imukin.load_recording(real, fs=100.0)
            frames = standing_frames(real)
        except ImukinError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.duration_s < 2 * WALK_FROM_S + 4.0:
        print(f"error: --duration-s {args.duration_s:g} leaves no walking part; give at least "
              f"{2 * WALK_FROM_S + 4.0:g} s", file=sys.stderr)
        return 2
    path = standing_corpus(args.subjects, args.duration_s, args.workdir)
    recs = list(iter_dataset(path, subjects=subject_ids(path), rmat=False))
    fs = float(file_attrs(path)["fs"])
    print(f"Walking flexion (deg), mean over {2 * args.subjects} legs of {args.subjects} held-out simulated "
          f"walkers at {fs:g} Hz who stand 1-4 s before walking off and after stopping\n")
    cache = {}

    def leg_error(predictor, i, rec, joint, s, side, c):
        key = (id(predictor), i, side)
        if key not in cache:
            cache[key] = predictor.predict(*rec.joint_inputs(joint, side), side=side, fs=fs)  # (T, 3) deg
        y, ref = cache[key], rec.joint_angle(joint, side)
        n, k, w = len(ref), int(round(STILL_S * fs)), int(round(WALK_FROM_S * fs))
        if c == 0:
            return flexion_error(y, ref)
        if c == 1:
            return flexion_error(y[w:n - w], ref[w:n - w])
        err = y[:, 0] - ref[:, 0]  # (T,) flexion error
        ends = (err[:k], err[n - k:])
        if c == 2:
            walk = err[w:n - w].mean()
            return float(np.mean([abs(e.mean() - walk) for e in ends]))
        return float(np.mean([e.std() for e in ends]))

    print_condition_table(COLUMNS, recs, args.models, leg_error, candidates=args.candidates)
    if real is not None:
        real_standing(real, frames, args.models, args.candidates)
    elif not args.no_real:
        print(f"\nReal standing: skipped, no {REAL_DATA} (give the Kuopio trial's folder with --real)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
