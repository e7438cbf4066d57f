"""Accuracy against the recording's rate and the sensors' bandwidth: the shipped walking models on held-out
simulated walkers whose IMU signals are band-limited or sampled more slowly than in training.

Real sensors record at 50-200 Hz and many filter their signals on board well below the Nyquist rate
(a MEMS digital low-pass of 20-40 Hz is common in consumer and some research sensors). ``imukin predict``
resamples any rate to each model's own (:func:`imukin.signal.resample`), so a slow or band-limited
recording reaches the networks without the high frequencies they saw in training. This prints, per joint
and model, walking flexion offset-removed RMSE (deg, mean over legs) on the held-out walkers of
``benchmarks/accuracy.py`` (seed 9001, simulated at 200 Hz with the full sensor error model):

* as simulated (200 Hz);
* low-passed at 40, 25 and 15 Hz (4th-order Butterworth, zero phase: the bandwidth alone, not a filter's delay);
* resampled to 100, 60 and 50 Hz (the reference angles alike), predicted at that rate.

Nothing is fitted; the conditions are datasheet-typical values, not a real recording's.

    .venv/bin/python benchmarks/input_rate.py [--subjects 12] [--models cnn cnn+refined transformer] \
        [--candidates DIR]  # also trained, not shipped models DIR/walking_<joint>_<model>
"""
from __future__ import annotations

import sys
from pathlib import Path

from imukin.signal import lowpass, resample

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import flexion_error, heldout_walkers, heldout_walkers_parser, print_condition_table  # noqa: E402

CUTOFFS_HZ = (40.0, 25.0, 15.0)  # on-board low-pass cut-offs
RATES_HZ = (100.0, 60.0, 50.0)  # recording rates


def conditions(fs: float) -> list[tuple[str, float | None, float]]:
    """``(label, low-pass cut-off or None, rate)`` of every column."""
    return ([(f"{fs:g} Hz as simulated", None, fs)] + [(f"low-pass {c:g} Hz", c, fs) for c in CUTOFFS_HZ]
            + [(f"{r:g} Hz", None, r) for r in RATES_HZ])


def leg_error(predictor, rec, joint: str, side: str, fs: float, cutoff: float | None, rate: float) -> float:
    """Offset-removed flexion RMSE (deg) of one leg under one condition."""
    x = rec.joint_inputs(joint, side)  # 4 x (T, 3)
    y = rec.joint_angle(joint, side)  # (T, 3)
    if cutoff is not None:
        x = [lowpass(a, fs, cutoff) for a in x]
    if rate != fs:
        x, y = [resample(a, fs, rate) for a in x], resample(y, fs, rate)
    return flexion_error(predictor.predict(*x, side=side, fs=rate), y)


def main() -> int:
    args = heldout_walkers_parser(__doc__.splitlines()[0]).parse_args()
    recs, fs = heldout_walkers(args)
    conds = conditions(fs)
    print(f"Walking flexion, offset-removed RMSE (deg), mean over {2 * len(recs)} legs of {len(recs)} held-out "
          "simulated walkers, with the IMU signals band-limited or sampled more slowly\n")
    print_condition_table([c[0] for c in conds], recs, args.models,
                          lambda p, i, rec, joint, s, side, c: leg_error(p, rec, joint, side, fs, *conds[c][1:]),
                          candidates=args.candidates)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
