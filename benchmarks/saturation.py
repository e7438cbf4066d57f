"""Sensors whose range is too small: what a gyroscope or accelerometer cut at its range costs, and what
``imukin predict``'s repair of cut gyroscope peaks gets back.

Many MEMS parts default to +-250 or +-500 deg/s and +-2 g; a walking shank turns at up to about 450 deg/s, a
foot at 800 and more, and a foot lands at several g. A channel cut at its range reads the limit wherever the
motion exceeds it (:mod:`imukin.preprocessing.saturation`). Each column cuts every sensor's channels at one
range, as such a part would have recorded them, and, where it says "repaired", puts the cut peaks back with
:func:`imukin.preprocessing.saturation.repair_saturated` (what ``imukin predict`` does to gyroscopes by
default; the accelerometer column shows why it leaves accelerometers alone).

Two tables, walking flexion offset-removed RMSE (deg):

1. the held-out simulated walkers of ``benchmarks/accuracy.py`` (seed 9001, 200 Hz), mean over their legs,
   against the simulated truth;
2. the Kuopio real trial (Xsens MTw2 at 100 Hz, recorded at +-2000 deg/s and +-16 g), cut here, each sensor
   aligned as ``imukin predict`` aligns it, against the marker reference of ``benchmarks/real_imu.py``.

Nothing is fitted: the repair has no constant chosen from either.

    .venv/bin/python benchmarks/saturation.py [--subjects 12] [--models cnn cnn+refined] [--no-real]
"""
from __future__ import annotations

import dataclasses
import sys
import warnings
from pathlib import Path

import numpy as np

from imukin.conventions import JOINT_NAMES, SIDES, G, joint_name, joint_segments
from imukin.preprocessing.saturation import repair_saturated

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import flexion_error, heldout_walkers, heldout_walkers_parser, print_condition_table  # noqa: E402

# column label -> (gyroscope range deg/s, accelerometer range g, repaired); 0: not cut
CONDITIONS = {
    "as recorded": (0.0, 0.0, False),
    "gyro 500 deg/s": (500.0, 0.0, False),
    "gyro 500 deg/s, repaired": (500.0, 0.0, True),
    "gyro 250 deg/s": (250.0, 0.0, False),
    "gyro 250 deg/s, repaired": (250.0, 0.0, True),
    "acc 2 g": (0.0, 2.0, False),
    "acc 2 g, repaired alike": (0.0, 2.0, True),
}


def cut(acc: np.ndarray, gyr: np.ndarray, condition: tuple) -> tuple[np.ndarray, np.ndarray]:
    """One sensor's (acc, gyr) ((T, 3), m/s^2 and rad/s) as a part of the condition's ranges records them."""
    gyr_dps, acc_g, repaired = condition
    if gyr_dps:
        lim = np.radians(gyr_dps)
        gyr = np.clip(gyr, -lim, lim)
        gyr = repair_saturated(gyr)[0] if repaired else gyr
    if acc_g:
        lim = acc_g * G
        acc = np.clip(acc, -lim, lim)
        acc = repair_saturated(acc)[0] if repaired else acc
    return acc, gyr


def simulated_table(args) -> None:
    recs, fs = heldout_walkers(args)
    print(f"1. Held-out simulated walkers: walking flexion, offset-removed RMSE (deg), mean over {2 * len(recs)} "
          f"legs of {len(recs)} walkers at {fs:g} Hz\n")
    conditions = list(CONDITIONS.values())

    def leg_error(p, i, rec, joint, s, side, c):
        a1, g1, a2, g2 = rec.joint_inputs(joint, side)
        x = (*cut(a1, g1, conditions[c]), *cut(a2, g2, conditions[c]))
        return flexion_error(p.predict(*x, side=side, fs=fs), rec.joint_angle(joint, side))

    print_condition_table(list(CONDITIONS), recs, args.models, leg_error)


def real_table(args) -> None:
    import real_imu

    from imukin.fusion.refine import shipped_predictors

    imus, _, ref = real_imu.load_trial(args.data)
    print(f"\n2. The Kuopio real trial ({args.data}): walking flexion, offset-removed RMSE (deg) against the "
          "marker reference, right / left\n")
    print("| joint | model | " + " | ".join(CONDITIONS) + " |")
    print("|---|---|" + "---:|" * len(CONDITIONS))
    aligned = []
    for c in CONDITIONS.values():
        cut_imus = {s: dataclasses.replace(r, **dict(zip(("acc", "gyr"), cut(r.acc, r.gyr, c))))
                    for s, r in imus.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aligned.append(real_imu.align_all(cut_imus)[0])
    for joint in JOINT_NAMES:
        predictors = shipped_predictors("walking", joint)
        for label in [m for m in args.models if m in predictors]:
            cells = []
            for al in aligned:
                errs = []
                for side in SIDES:
                    s1, s2 = joint_segments(joint, side)
                    jn = joint_name(joint, side)
                    if s1 not in al or s2 not in al:
                        errs.append(float("nan"))
                        continue
                    ok = ref.valid(jn)
                    y = predictors[label].predict(*al[s1], *al[s2], side=side, fs=real_imu.FS)
                    errs.append(flexion_error(y[ok], ref.angles[jn][ok]))
                cells.append(" / ".join(f"{e:.2f}" for e in errs))
            print(f"| {joint} | {label} | " + " | ".join(cells) + " |", flush=True)


def main() -> int:
    ap = heldout_walkers_parser(__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data/real/kuopio"), help="the Kuopio trial's folder")
    ap.add_argument("--no-real", action="store_true", help="the simulated walkers only")
    ap.add_argument("--no-sim", action="store_true", help="the Kuopio trial only")
    args = ap.parse_args()
    if not args.no_real and not (args.data / "l_comf_01_markers.trc").exists():
        print(f"missing {args.data}/l_comf_01_markers.trc; pass --data with the Kuopio folder, or --no-real",
              file=sys.stderr)
        return 2
    if not args.no_sim:
        simulated_table(args)
    if not args.no_real:
        real_table(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
