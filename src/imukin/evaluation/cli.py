"""``imukin evaluate``: accuracy of trained runs on a dataset split, as a report with plots."""
from __future__ import annotations

from pathlib import Path

from imukin.argtypes import device
from imukin.conventions import ANGLE_AXES

#: Subject sets ``--split`` can name (the training split is recomputed from the run's seed).
SPLITS = ("test", "val", "train", "all")
#: ``--method``: the angle network alone; with the optimisation stage (``predict --refine``); the VQF baseline.
METHODS = ("network", "refined", "classical")


def add_commands(sub) -> None:
    """Register the evaluation subcommands."""
    p = sub.add_parser("evaluate", help="evaluate trained runs on a dataset split",
                       description="Per joint and axis RMSE, offset-removed RMSE, MAE and Pearson r "
                                   "(mean ± SD over subjects), with plots and a markdown report.")
    p.add_argument("--run", type=Path, action="append", required=True,
                   help="run folder (repeat to compare several runs)")
    p.add_argument("--data", type=Path, required=True, help="dataset .h5 file")
    p.add_argument("--split", default="test", choices=SPLITS,
                   help="subjects to evaluate (the training split is recomputed from the run's seed)")
    p.add_argument("--out", type=Path, required=True, help="report folder")
    p.add_argument("--method", nargs="+", default=["network"], choices=METHODS,
                   help="angle network alone, refined: with the optimisation stage (the stage predict --refine "
                        "runs; needs --ori-run), and/or the classical VQF baseline; several give a side-by-side table")
    p.add_argument("--ori-run", type=Path, help="orientation run (imukin train --target orientation) for refined")
    p.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps")
    p.add_argument("--quiet", action="store_true", help="no progress bars or info lines; the table is still printed")
    p.set_defaults(func=cmd_evaluate)

    b = sub.add_parser("fit-blend", help="fit the per-axis blend of the optimisation stage on validation data",
                       description="Fit scale s and weight w per angle axis (theta = w alpha + (1 - w) beta') "
                                   "for an angle run and an orientation run; writes blend.json into the "
                                   "orientation run, where predict --refine and evaluate --method refined find it.")
    b.add_argument("--run", type=Path, required=True, help="angle run")
    b.add_argument("--ori-run", type=Path, required=True, help="orientation run of the same joint")
    b.add_argument("--data", type=Path, required=True, help="dataset .h5 file (its validation split is used)")
    b.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps")
    b.add_argument("--quiet", action="store_true", help="no summary line")
    b.set_defaults(func=cmd_fit_blend)


def cmd_evaluate(args) -> int:
    from imukin.evaluation.evaluate import evaluate_runs
    from imukin.io.paths import check_output_dir, cleanup_on_error

    check_output_dir(args.out)
    with cleanup_on_error(args.out):  # no empty report folder is left after an error
        metrics = evaluate_runs(args.run, args.data, args.out, split=args.split, device=args.device,
                                methods=args.method, ori_run=args.ori_run, progress=not args.quiet)
    print(f"{'run':<24} {'axis':<10} {'RMSE':>12} {'RMSE (offset removed)':>22}")
    for label, m in metrics.items():
        agg = m[m["joint"]]
        for ax in ANGLE_AXES:
            r, o = agg[ax]["rmse"], agg[ax]["rmse_offset_removed"]
            print(f"{label:<24} {ax:<10} {r['mean']:6.2f} ± {r['sd']:4.2f} {o['mean']:14.2f} ± {o['sd']:4.2f}")
    print(f"report in {args.out}/report.md")
    return 0


def cmd_fit_blend(args) -> int:
    from imukin.fusion.refine import fit_blend

    params = fit_blend(args.run, args.ori_run, args.data, split="val", device=args.device)
    if not args.quiet:
        print(f"blend fitted: s = {params.get('s')}, w = {params.get('w')} -> {args.ori_run}/blend.json")
    return 0
