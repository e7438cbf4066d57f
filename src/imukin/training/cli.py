"""``imukin train``: train one joint-angle network on a dataset file."""
from __future__ import annotations

import json
from pathlib import Path

from imukin.conventions import ACTIVITIES, JOINT_NAMES
from imukin.errors import ImukinError


def add_commands(sub) -> None:
    """Register the training subcommands on an argparse subparsers object."""
    p = sub.add_parser("train", help="train a joint-angle network",
                       description="Train a CNN, LSTM or transformer mapping two IMUs to one joint's angles. "
                                   "Run the same command again after an interruption to resume.")
    p.add_argument("--model", default="cnn", help="cnn, lstm or transformer")
    p.add_argument("--joint", required=True, choices=JOINT_NAMES)
    p.add_argument("--activity", choices=ACTIVITIES, help="checked against the dataset's activity")
    p.add_argument("--target", default="angle", choices=("angle", "orientation"),
                   help="angle: the joint's three angles; orientation: the two sensors' heading-free orientations "
                        "(for predict --refine)")
    p.add_argument("--data", type=Path, required=True, help="dataset .h5 file (reference layout)")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, metrics log)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--steps", type=int, help="maximum optimiser steps")
    p.add_argument("--batch-size", type=int, help="windows per step")
    p.add_argument("--window", type=int, help="frames per training window")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--seed", type=int, help="training seed")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="model config overrides, e.g. --set layers=2 channels=40")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


def parse_overrides(items: list[str]) -> dict:
    """``["layers=2", "dropout=0.1", "bidirectional=true"]`` -> typed dict (JSON values where possible)."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ImukinError(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v.lower() if v.lower() in ("true", "false") else v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def cmd_train(args) -> int:
    from imukin.io.job_h5 import file_attrs
    from imukin.models import list_models
    from imukin.training.trainer import TrainConfig, train

    if args.model not in list_models():
        raise ImukinError(f"unknown model {args.model!r}; choose one of: {', '.join(list_models())}")
    activity = str(file_attrs(args.data).get("activity", "unknown"))
    if args.activity and activity in ACTIVITIES and activity != args.activity:
        raise ImukinError(f"{args.data} holds {activity} data but --activity {args.activity} was given")
    cfg = TrainConfig(model=args.model, joint=args.joint, target=args.target, device=args.device,
                      model_overrides=parse_overrides(args.set))
    for name in ("steps", "batch_size", "window", "lr", "seed"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    summary = train(cfg, args.data, args.out, progress=not args.quiet)
    axes = summary.get("best_val_rmse_axes") or []
    per_axis = ", ".join(f"{a:.2f}" for a in axes)
    what = "flexion, adduction, rotation" if args.target == "angle" else "orientation error, segment 1, segment 2"
    print(f"best validation RMSE {summary['best_val_rmse_deg']:.2f} deg ({what}: {per_axis}) "
          f"at step {summary['best_step']}; model in {args.out}")
    return 0
