"""``imukin train``, ``imukin search``, ``imukin finetune``: training joint-angle networks.

``imukin train`` also runs as one of several DDP processes when started by ``torchrun``
(:mod:`imukin.training.distributed`).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from imukin.argtypes import (
    add_option,
    device,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    unit_fraction,
)
from imukin.conventions import ACTIVITIES, JOINT_NAMES
from imukin.errors import ImukinError
from imukin.pretrained import PRETRAINED_MODELS
from imukin.signal import DEFAULT_WINDOW
from imukin.training.choices import AXIS_WEIGHTINGS, MODEL_FAMILIES, MODEL_NAMES, TARGETS, VAL_METRICS


def add_commands(sub) -> None:
    """Register the training subcommands on an argparse subparsers object."""
    p = sub.add_parser("train", help="train a joint-angle network",
                       description="Train a CNN, LSTM or transformer mapping two IMUs to one joint's angles. "
                                   "Run the same command again after an interruption to resume.")
    p.add_argument("--model", default="cnn", choices=MODEL_NAMES,
                   help="architecture (the _ori names fix --target orientation)")
    p.add_argument("--joint", required=True, choices=JOINT_NAMES)
    p.add_argument("--activity", choices=ACTIVITIES, help="checked against the dataset's activity")
    p.add_argument("--target", default="angle", choices=TARGETS,
                   help="angle: the joint's three angles; orientation: the two sensors' heading-free orientations "
                        "(for predict --refine)")
    p.add_argument("--data", type=Path, required=True, help="dataset .h5 file (reference layout)")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, metrics log)")
    p.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps")
    p.add_argument("--steps", type=positive_int, help="maximum optimiser steps")
    p.add_argument("--batch-size", type=positive_int, help="windows per step")
    p.add_argument("--window", type=positive_int, help="frames per training window")
    p.add_argument("--lr", type=positive_float, help="peak learning rate")
    p.add_argument("--seed", type=nonnegative_int, help="training seed")
    p.add_argument("--checkpoint-every", type=positive_int,
                   help="steps between resume checkpoints (default: at every validation pass, 150 steps)")
    p.add_argument("--offset-weight", type=unit_fraction,
                   help="weight in [0, 1] of each window's mean angle error in the loss (1: plain MSE)")
    p.add_argument("--val-metric", choices=VAL_METRICS,
                   help="metric of early stopping (default rmse_offset_removed)")
    p.add_argument("--axis-weighting", choices=AXIS_WEIGHTINGS,
                   help="loss weight of the angle axes: sd (each in its own SD) or degrees (all in degrees; default)")
    p.add_argument("--delay-max-ms", type=nonnegative_float, metavar="MS",
                   help="augment with sensors sampled apart: a delayed sensor is late or early by up to MS ms "
                        "(default 0: none; for systems whose sensors do not share a clock)")
    p.add_argument("--delay-fraction", type=unit_fraction,
                   help="probability in [0, 1] that a sensor is delayed when --delay-max-ms is given (default 0.5)")
    p.add_argument("--teacher", type=Path, metavar="RUN",
                   help="a trained angle model of the same joint and data (e.g. an `imukin ensemble`) whose outputs "
                        "the network learns in place of the reference (distillation)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help="model config overrides, e.g. --set n_layers=2 channels=40 (cnn; see docs/commands.md for each "
                        "model's keys)")
    p.add_argument("--lazy", action="store_true",
                   help="read training windows from the file as needed instead of loading the corpus into memory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run in --out that was made with other settings (default: refuse)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)
    _add_search(sub)
    _add_finetune(sub)
    _add_ensemble(sub)


def _add_ensemble(sub) -> None:
    p = sub.add_parser("ensemble", help="average several trainings of one recipe into one model",
                       description="Build one model whose output is the mean of several trained runs of the same "
                                   "recipe (other --seed values): it predicts, refines and exports like a single "
                                   "run. The runs must share architecture, joint, activity, rate and normalisation.")
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="two or more run folders")
    p.add_argument("--out", type=Path, required=True, help="folder of the ensemble model")
    p.add_argument("--overwrite", action="store_true", help="replace a model already in --out (default: refuse)")
    p.add_argument("--quiet", action="store_true", help="no line per member")
    p.set_defaults(func=cmd_ensemble)


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="hyperparameter search (Optuna; many workers can share one study)",
                       description="Search model and training hyperparameters with Optuna's TPE sampler and "
                                   "median pruning. Run the same command again to resume, or on several "
                                   "machines with one --storage database to share the work.")
    p.add_argument("--model", default="cnn", choices=MODEL_FAMILIES, help="architecture to tune")
    p.add_argument("--joint", choices=JOINT_NAMES, help="joint to train (required unless --summary)")
    p.add_argument("--activity", choices=ACTIVITIES, help="checked against the dataset's activity")
    p.add_argument("--data", type=Path, help="dataset .h5 file (required unless --summary)")
    p.add_argument("--trials", type=positive_int, default=20, help="finished trials the study should reach")
    p.add_argument("--storage", help="SQLAlchemy URL shared by workers, e.g. postgresql+psycopg2://u:p@host/db "
                                     "(default: sqlite file study.db in --out)")
    p.add_argument("--study-name", help="study name (default: <activity>_<joint>_<model>)")
    p.add_argument("--out", type=Path, help="search folder (default: runs/search/<activity>_<joint>_<model>)")
    p.add_argument("--steps", type=positive_int, default=1500, help="maximum optimiser steps per trial")
    p.add_argument("--eval-every", type=positive_int, default=100,
                   help="steps between validation passes (pruning points)")
    p.add_argument("--patience", type=positive_int, default=5,
                   help="validation passes without improvement before stopping")
    p.add_argument("--batch-size", type=positive_int, default=16, help="windows per step")
    p.add_argument("--window", type=positive_int, default=DEFAULT_WINDOW, help="frames per training window")
    p.add_argument("--startup-trials", type=nonnegative_int, default=5,
                   help="random trials before TPE and pruning start")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="sampler seed; give each parallel worker its own")
    p.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps")
    p.add_argument("--summary", action="store_true",
                   help="print and write the trial table, best parameters and a plot, then exit")
    p.add_argument("--quiet", action="store_true", help="no line per trial")
    p.set_defaults(func=cmd_search)


def _add_finetune(sub) -> None:
    p = sub.add_parser("finetune", help="fine-tune a trained model on a few subjects of another dataset",
                       description="Fine-tune a run or the shipped model on a few subjects of a dataset and "
                                   "report test RMSE before and after on subjects never used in fine-tuning.")
    add_option(p, "--run", aliases=("--from",), required=True, metavar="RUN",
               help="run folder to start from, or 'pretrained' (the shipped model)")
    p.add_argument("--data", type=Path, required=True, help="dataset .h5 file to adapt to")
    p.add_argument("--out", type=Path, required=True, help="new run folder")
    p.add_argument("--joint", choices=JOINT_NAMES, help="joint (default: the source model's)")
    p.add_argument("--activity", choices=ACTIVITIES, help="with --run pretrained (default: the dataset's)")
    p.add_argument("--model", default="cnn", choices=PRETRAINED_MODELS, help="with --run pretrained: the shipped model")
    p.add_argument("--freeze", default="none", choices=("none", "encoder", "all-but-head"),
                   help="none: train everything; encoder: freeze feature layers, adapt norm layers and head; "
                        "all-but-head: train the output head only")
    add_option(p, "--subjects", aliases=("--n-subjects",), type=subject_count, default=5, metavar="N",
               help="number of fine-tuning subjects drawn from the training split (without --subject-ids)")
    p.add_argument("--subject-ids", nargs="+", metavar="ID",
                   help="fine-tuning subject ids instead (training split; test subjects are refused)")
    p.add_argument("--steps", type=positive_int, default=600, help="maximum optimiser steps")
    p.add_argument("--lr", type=positive_float, default=5e-4, help="peak learning rate")
    p.add_argument("--eval-every", type=positive_int, default=50, help="steps between validation passes")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="training seed and subject draw")
    p.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps")
    p.add_argument("--keep-tuned", action="store_true",
                   help="keep the fine-tuned weights even when they are worse than the source on the validation "
                        "subjects (default: keep the better, with a warning)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_finetune)


def subject_count(text: str) -> int:
    """``finetune --subjects``: a number of subjects; subject ids are refused with a pointer to ``--subject-ids``."""
    try:
        int(str(text).strip())
    except ValueError:
        if str(text).strip()[:1].isalpha():
            raise argparse.ArgumentTypeError(f"expected a number of subjects, got {text!r}; name subjects with "
                                             f"--subject-ids {text} ...") from None
    return positive_int(text)


subject_count.__name__ = positive_int.__name__


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


def cmd_ensemble(args) -> int:
    from imukin.io.paths import check_output_dir
    from imukin.models.ensemble import build_ensemble

    check_output_dir(args.out)
    if any(Path(r).resolve() == Path(args.out).resolve() for r in args.runs):
        raise ImukinError(f"--out {args.out} is one of the runs; write the ensemble to a new folder")
    if (Path(args.out) / "model.json").exists() and not args.overwrite:
        raise ImukinError(f"--out {args.out} already holds a model; pass --overwrite to replace it, or another folder")
    out = build_ensemble(args.runs, args.out)
    if not args.quiet:
        from imukin.models import read_checkpoint_info

        for m in read_checkpoint_info(out)["meta"]["members"]:
            val = ", ".join(f"{k} {v:.2f}" for k, v in (m.get("val_rmse_deg") or {}).items())
            print(f"  {m['run']}: seed {m.get('seed')}" + (f", validation RMSE (deg) {val}" if val else ""))
    print(f"ensemble of {len(args.runs)} runs in {out}")
    return 0


def cmd_train(args) -> int:
    from imukin.io.job_h5 import file_attrs
    from imukin.io.paths import check_output_dir
    from imukin.training import distributed
    from imukin.training.trainer import TrainConfig, train

    check_output_dir(args.out)
    activity = str(file_attrs(args.data).get("activity", "unknown"))
    if args.activity and activity in ACTIVITIES and activity != args.activity:
        raise ImukinError(f"{args.data} holds {activity} data but --activity {args.activity} was given")
    given = {name: getattr(args, name) for name in ("steps", "batch_size", "window", "lr", "seed", "offset_weight",
                                                    "val_metric", "axis_weighting", "checkpoint_every",
                                                    "delay_max_ms", "delay_fraction")
             if getattr(args, name, None) is not None}
    if args.teacher is not None:
        given["teacher"] = str(args.teacher)
    cfg = TrainConfig(model=args.model, joint=args.joint, target=args.target, device=args.device,
                      model_overrides=parse_overrides(args.set), **given)
    data = None
    if args.lazy:
        if args.target != "angle":
            raise ImukinError("--lazy reads joint-angle targets only; drop --lazy for --target orientation")
        from imukin.training.lazy import load_joint_data_lazy

        data = load_joint_data_lazy(args.data, args.joint, split_seed=cfg.split_seed, splits=("train", "val"))
    ctx = distributed.init_from_env(args.device)
    try:
        summary = train(cfg, args.data, args.out, progress=not args.quiet, data=data, dist=ctx,
                        overwrite=getattr(args, "overwrite", False))
    finally:
        if ctx.enabled:
            distributed.shutdown()
    if not ctx.is_main:
        return 0
    axes = summary.get("best_val_rmse_axes") or []
    per_axis = ", ".join(f"{a:.2f}" for a in axes)
    what = "flexion, adduction, rotation" if args.target == "angle" else "orientation error, segment 1, segment 2"
    print(f"best validation RMSE {summary['best_val_rmse_deg']:.2f} deg ({what}: {per_axis}) "
          f"at step {summary['best_step']}; model in {args.out}")
    return 0


def cmd_search(args) -> int:
    from imukin.io.paths import check_output_dir
    from imukin.training.search import SearchConfig, run_search, search_summary

    if args.out is not None:
        check_output_dir(args.out)
    if args.summary:
        if args.out is None:
            raise ImukinError("--summary needs --out SEARCH_FOLDER (or --storage and --study-name)")
        print(search_summary(args.out, storage=args.storage, study_name=args.study_name)["text"])
        print(f"wrote {args.out}/trials.csv, summary.md and search.png")
        return 0
    if args.joint is None or args.data is None:
        raise ImukinError("imukin search needs --joint and --data (or --summary --out FOLDER)")
    cfg = SearchConfig(model=args.model, joint=args.joint, trials=args.trials, storage=args.storage,
                       study_name=args.study_name, seed=args.seed, steps=args.steps, eval_every=args.eval_every,
                       patience=args.patience, batch_size=args.batch_size, window=args.window,
                       startup_trials=args.startup_trials, device=args.device)
    out = args.out
    if out is None:
        from imukin.io.job_h5 import file_attrs

        activity = args.activity or str(file_attrs(args.data).get("activity", "unknown"))
        out = Path("runs") / "search" / f"{activity}_{args.joint}_{args.model}"
    result = run_search(cfg, args.data, out, activity=args.activity, progress=not args.quiet)
    best = "none complete yet" if result["best_value"] is None else (
        f"trial {result['best_trial']} with validation RMSE {result['best_value']:.3f} deg "
        f"{json.dumps(result['best_params'])}")
    print(f"study {result['study_name']}: {result['n_finished']} finished trials, this worker ran "
          f"{len(result['trials_run'])} {result['trials_run']}; best: {best}")
    if result["best_dir"]:
        print(f"best run: {result['best_dir']} (imukin evaluate --run / predict --run accept it)")
    return 0


def cmd_finetune(args) -> int:
    from imukin.io.paths import check_output_dir
    from imukin.training.finetune import FinetuneConfig, finetune, format_report

    check_output_dir(args.out)
    cfg = FinetuneConfig(freeze=args.freeze, subjects=tuple(args.subject_ids or ()), n_subjects=args.subjects,
                         steps=args.steps, lr=args.lr, eval_every=args.eval_every, seed=args.seed, device=args.device,
                         keep_better=not getattr(args, "keep_tuned", False))
    report = finetune(args.run, args.data, args.out, cfg, joint=args.joint, activity=args.activity,
                      model=args.model, progress=not args.quiet)
    print(format_report(report))
    print(f"model in {args.out}; report in {args.out}/finetune_report.json")
    return 0
