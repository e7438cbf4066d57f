"""``imukin predict``: joint angles from a person's own recording (the reference demo layout).

Reads ``<Side>_seg1_acc.npy`` ... from ``--root-path`` (see :mod:`imukin.io.demo_layout`),
predicts with the shipped pretrained model or a run, and writes per leg
``<side>_<joint>_angles.csv`` (``time_s,flexion_deg,adduction_deg,rotation_deg``) and
``<side>_<joint>_angles.npy`` (T, 3) at the input rate; with a reference present, also
``metrics.json`` and a plot.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from imukin.conventions import ACTIVITIES, ANGLE_AXES, G, JOINT_NAMES, SIDES
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path, write_text_atomic


def add_commands(sub) -> None:
    """Register ``imukin predict``."""
    p = sub.add_parser("predict", help="predict joint angles from a recording folder",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("--root-path", type=Path, required=True, help="folder with <Side>_seg1_acc.npy etc.")
    p.add_argument("--joint", required=True, choices=JOINT_NAMES)
    p.add_argument("--activity", default="walking", choices=ACTIVITIES)
    p.add_argument("--side", choices=SIDES, help="one leg (default: every leg found)")
    p.add_argument("--fs", type=float, help="input sampling rate in Hz (default: the model's, or CSV time stamps)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", default="cnn", help="pretrained model: cnn or transformer")
    src.add_argument("--run", type=Path, help="a trained run folder instead of the pretrained model")
    p.add_argument("--refine", action="store_true",
                   help="optimisation stage: fuse an orientation network with the gyroscopes and blend "
                        "(the shipped orientation model and blend by default; with --run, also --ori-run)")
    p.add_argument("--ori-run", type=Path, help="orientation run (imukin train --target orientation) for --refine")
    p.add_argument("--acc-units", default="m/s^2", choices=("m/s^2", "g"), help="units of the accelerometer files")
    p.add_argument("--gyr-units", default="rad/s", choices=("rad/s", "deg/s"), help="units of the gyroscope files")
    p.add_argument("--align", default="none", choices=("none", "auto"),
                   help="auto: find each sensor's mounting (standing gives vertical, walking the other axes) "
                        "and rotate its signals into the segment frame first")
    p.add_argument("--out", type=Path, help="output folder (default: --root-path)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args) -> int:
    from imukin.io.demo_layout import available_sides, check_units, read_leg
    from imukin.predictor import AnglePredictor

    sides = [args.side] if args.side else available_sides(args.root_path)
    if not sides:
        raise ImukinError(f"{args.root_path} holds no Right_/Left_ sensor files; expected Right_seg1_acc.npy, "
                          "Right_seg1_gyr.npy, Right_seg2_acc.npy, Right_seg2_gyr.npy (or Right_seg1.csv ...)")
    legs = [read_leg(args.root_path, side) for side in sides]  # read and check everything before writing
    predictor = AnglePredictor(args.run, args.device) if args.run else \
        AnglePredictor.pretrained(args.joint, args.activity, args.model, args.device)
    if predictor.joint != args.joint:
        raise ImukinError(f"{predictor.run_dir} is a {predictor.joint} model but --joint {args.joint} was given")
    if args.refine:
        from imukin.fusion.refine import RefinedPredictor, pretrained_refined

        if args.ori_run is not None:
            predictor = RefinedPredictor(predictor.run_dir, args.ori_run, device=args.device)
        elif args.run is None:
            predictor = pretrained_refined(args.joint, args.activity, args.model, args.device)
        else:
            raise ImukinError("--refine with --run needs --ori-run (an orientation run of the same joint; "
                              "train one with 'imukin train --target orientation', then 'imukin fit-blend')")
    out = args.out or args.root_path
    acc_scale = G if args.acc_units == "g" else 1.0
    gyr_scale = np.pi / 180 if args.gyr_units == "deg/s" else 1.0
    for leg in legs:  # scale and check units of every leg before anything is written
        leg.acc1, leg.acc2 = leg.acc1 * acc_scale, leg.acc2 * acc_scale
        leg.gyr1, leg.gyr2 = leg.gyr1 * gyr_scale, leg.gyr2 * gyr_scale
        check_units(np.concatenate([leg.acc1, leg.acc2], 1), np.concatenate([leg.gyr1, leg.gyr2], 1),
                    f"{leg.side} leg")
    metrics = {}
    for leg in legs:
        fs = args.fs or leg.fs or predictor.fs
        preds = np.stack([_predict_one(predictor, leg, s, fs, args) for s in range(leg.acc1.shape[0])])  # (S, T, 3)
        stem = f"{leg.side}_{args.joint}_angles"
        _write_outputs(out, stem, preds, fs)
        print(f"{leg.side} {args.joint}: {preds.shape[0] * preds.shape[1] / fs:.1f} s at {fs:g} Hz -> {out / stem}.csv")
        if leg.reference is not None:
            metrics[leg.side] = _compare(out, leg, preds, fs, args.joint)
    if metrics:
        write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=2))
        for side, m in metrics.items():
            cells = ", ".join(f"{ax} {m[ax]['rmse']:.2f} ({m[ax]['rmse_offset_removed']:.2f})" for ax in ANGLE_AXES)
            print(f"{side} RMSE deg (offset removed): {cells}")
    return 0


def _predict_one(predictor, leg, s: int, fs: float, args) -> np.ndarray:
    """Angles (T, 3) of sequence ``s`` of a leg, after automatic axis alignment when asked."""
    signals = (leg.acc1[s], leg.gyr1[s], leg.acc2[s], leg.gyr2[s])
    if args.align == "auto":
        from imukin.preprocessing.align import align_leg

        signals, info = align_leg(*signals, fs, leg.side, args.joint)
    return predictor.predict(*signals, side=leg.side, fs=fs, progress=True)


def _write_outputs(out: Path, stem: str, preds: np.ndarray, fs: float) -> None:
    arr = preds[0] if preds.shape[0] == 1 else preds
    with atomic_path(out / f"{stem}.npy") as tmp:
        np.save(tmp, arr.astype(np.float64))
    flat = preds.reshape(-1, 3)
    t = (np.arange(preds.shape[1]) / fs)
    t = np.tile(t, preds.shape[0])
    with atomic_path(out / f"{stem}.csv") as tmp:
        np.savetxt(tmp, np.column_stack([t, flat]), delimiter=",", fmt="%.4f",
                   header="time_s,flexion_deg,adduction_deg,rotation_deg", comments="")


def _compare(out: Path, leg, preds: np.ndarray, fs: float, joint: str) -> dict:
    from imukin.evaluation.metrics import sequence_metrics
    from imukin.evaluation.plots import plot_traces

    ref = leg.reference.reshape(-1, 3)
    m = sequence_metrics(preds.reshape(-1, 3), ref)
    n = min(len(ref), int(20 * fs))
    plot_traces(out / f"{leg.side}_{joint}_angles.png", np.arange(n) / fs, {"imukin": preds.reshape(-1, 3)[:n]},
                ref[:n], title=f"{leg.side} {joint}")
    return m
