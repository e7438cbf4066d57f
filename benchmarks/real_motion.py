"""The shipped walking models on real human walking: IMUs simulated from real Vicon marker trials.

The generator's gait is imukin's own; this benchmark judges the pretrained networks on motion
that real people made, recorded by an optical system (the JOB way): each segment's frame comes
from a real marker cluster on the skin (so the trial's own soft-tissue artefact is in it),
an IMU is simulated at that frame (``imukin simulate --markers``) and, unless ``--ideal``,
given the default electronic errors of a real sensor (noise, bias, bias drift, scale,
misalignment). The reference is the joint angle between the same two frames. Trials:
``walking2.c3d`` and ``walking5.c3d`` (opensim-core, tracking clusters, 250 Hz) and
``walk.c3d`` (kineticstoolkit, Plug-in Gait, 100 Hz); 2-5 s each, so the offset-removed
figures remove one mean per trial and leg.

    .venv/bin/python benchmarks/real_motion.py [--data ../shared/data] [--ideal]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from imukin.conventions import ANGLE_AXES, JOINT_NAMES, SIDES
from imukin.errors import ImukinError
from imukin.evaluation.metrics import sequence_metrics
from imukin.simulation.markers import records_from_marker_files
from imukin.simulation.sensor_errors import SensorErrorConfig

TRIALS = ("real/opensim-core/walking2.c3d", "real/opensim-core/walking5.c3d", "real/kineticstoolkit/walk.c3d")
DEFAULT_DATA = next((p for p in (Path("../shared/data"), Path("tests/data")) if (p / TRIALS[0]).exists()),
                    Path("tests/data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the real/ trials")
    ap.add_argument("--ideal", action="store_true", help="perfect sensors (no electronic errors)")
    ap.add_argument("--seed", type=int, default=0, help="sensor error draws")
    ap.add_argument("--candidates", type=Path, help="a folder of trained runs walking_<joint>_<model> to compare "
                    "with the shipped models (rows 'new <model>')")
    args = ap.parse_args()
    missing = [t for t in TRIALS if not (args.data / t).exists()]
    if missing:
        sys.exit(f"missing trials under {args.data}: {', '.join(missing)}; pass --data with the shared data folder")
    from imukin.fusion.refine import candidate_predictors, shipped_predictors, with_both

    records = records_from_marker_files([args.data / t for t in TRIALS], fs_out=200.0,
                                        errors=None if args.ideal else SensorErrorConfig(), seed=args.seed)
    rows = []  # (joint, model, trial, side, metrics)
    for joint in JOINT_NAMES:
        predictors = with_both(shipped_predictors("walking", joint))
        if args.candidates is not None:
            predictors.update(candidate_predictors(args.candidates, "walking", joint))
        for label, predictor in predictors.items():
            for trial, rec in zip(TRIALS, records):
                for side in SIDES:
                    try:
                        acc1, gyr1, acc2, gyr2 = rec.joint_inputs(joint, side)
                        ref = rec.joint_angle(joint, side)
                    except ImukinError:  # a segment the trial lacks
                        continue
                    pred = predictor.predict(acc1, gyr1, acc2, gyr2, side=side, fs=rec.fs)
                    rows.append((joint, label, Path(trial).name, side, sequence_metrics(pred, ref)))
    sensors = "perfect sensors" if args.ideal else "default electronic sensor errors"
    print(f"\nShipped walking models on IMUs simulated from real marker trials ({sensors}), degrees, "
          "mean over trials and legs (n)\n")
    print("| joint | model | n | RMSE flex / add / rot | offset removed flex / add / rot | r flexion |")
    print("|---|---|---|---|---|---|")
    for joint in JOINT_NAMES:
        labels = dict.fromkeys(r[1] for r in rows if r[0] == joint)
        for label in labels:
            ms = [r[4] for r in rows if r[0] == joint and r[1] == label]
            mean = {k: [np.mean([m[ax][k] for m in ms]) for ax in ANGLE_AXES] for k in ("rmse", "rmse_offset_removed")}
            r_flex = np.mean([m["flexion"]["r"] for m in ms])
            print(f"| {joint} | {label} | {len(ms)} | {' / '.join(f'{v:.2f}' for v in mean['rmse'])} | "
                  f"{' / '.join(f'{v:.2f}' for v in mean['rmse_offset_removed'])} | {r_flex:.3f} |")
    print("\nPer trial and leg, offset-removed flexion RMSE (deg)\n")
    trials = list(dict.fromkeys((r[2], r[3]) for r in rows))
    print("| joint | model | " + " | ".join(f"{t} {s}" for t, s in trials) + " |")
    print("|---|---|" + "---|" * len(trials))
    for joint in JOINT_NAMES:
        for label in dict.fromkeys(r[1] for r in rows if r[0] == joint):
            cells = {(r[2], r[3]): r[4]["flexion"]["rmse_offset_removed"]
                     for r in rows if r[0] == joint and r[1] == label}
            print(f"| {joint} | {label} | "
                  + " | ".join(f"{cells[k]:.2f}" if k in cells else "-" for k in trials) + " |")


if __name__ == "__main__":
    main()
