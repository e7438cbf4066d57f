"""``imukin evaluate``: accuracy of trained runs on a dataset split, as a report with plots."""
from __future__ import annotations

from pathlib import Path

from imukin.conventions import ANGLE_AXES


def add_commands(sub) -> None:
    """Register the evaluation subcommands."""
    p = sub.add_parser("evaluate", help="evaluate trained runs on a dataset split",
                       description="Per joint and axis RMSE, offset-removed RMSE, MAE and Pearson r "
                                   "(mean ± SD over subjects), with plots and a markdown report.")
    p.add_argument("--run", type=Path, action="append", required=True,
                   help="run folder (repeat to compare several runs)")
    p.add_argument("--data", type=Path, required=True, help="dataset .h5 file")
    p.add_argument("--split", default="test", choices=("test", "val", "train", "all"),
                   help="subjects to evaluate (the training split is recomputed from the run's seed)")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from imukin.evaluation.evaluate import evaluate_runs

    metrics = evaluate_runs(args.run, args.data, args.out, split=args.split, device=args.device)
    print(f"{'run':<24} {'axis':<10} {'RMSE':>12} {'RMSE (offset removed)':>22}")
    for label, m in metrics.items():
        agg = m[m["joint"]]
        for ax in ANGLE_AXES:
            r, o = agg[ax]["rmse"], agg[ax]["rmse_offset_removed"]
            print(f"{label:<24} {ax:<10} {r['mean']:6.2f} ± {r['sd']:4.2f} {o['mean']:14.2f} ± {o['sd']:4.2f}")
    print(f"report in {args.out}/report.md")
    return 0
