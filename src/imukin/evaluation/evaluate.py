"""Evaluate trained runs on a dataset split: metrics per subject, aggregated, with plots.

Each subject contributes both legs; a subject's figure is the mean of its legs, and tables
give mean ± SD over subjects (so a subject with two legs does not count twice).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from imukin.conventions import ANGLE_AXES, SIDES
from imukin.errors import ImukinError
from imukin.evaluation.metrics import aggregate, sequence_metrics
from imukin.evaluation.plots import plot_rmse_bars, plot_traces
from imukin.evaluation.report import write_report
from imukin.io.job_h5 import file_attrs, iter_dataset, subject_ids
from imukin.predictor import AnglePredictor
from imukin.training.dataset import split_subjects


def select_subjects(data_path: str | Path, split: str, split_seed: int = 0) -> list[str]:
    """Subject ids of a split of a dataset file (``all`` for every subject)."""
    ids = subject_ids(data_path)
    if split == "all":
        return ids
    if split not in ("train", "val", "test"):
        raise ImukinError(f"unknown split {split!r}; choose train, val, test or all")
    return split_subjects(ids, seed=split_seed)[split]


def _mean_legs(per_leg: list[dict]) -> dict:
    return {ax: {m: float(np.nanmean([d[ax][m] for d in per_leg])) for m in per_leg[0][ax]} for ax in ANGLE_AXES}


def evaluate_predictor(predictor, data_path: str | Path, subjects: list[str], n_traces: int = 0,
                       trace_dir: Path | None = None, label: str = "") -> tuple[dict, list[dict], list[Path]]:
    """Run one predictor on subjects of a dataset file.

    Returns
    -------
    aggregated : dict
        ``{axis: {metric: {"mean", "sd", "n"}}}`` over subjects.
    per_subject : list of dict
        ``{"subject": id, "metrics": {axis: {metric: value}}}``.
    plots : list of Path
        Trace plots written (right leg of the first ``n_traces`` subjects).
    """
    fs = float(file_attrs(data_path)["fs"])
    per_subject, plots = [], []
    joint = predictor.joint
    for k, rec in enumerate(iter_dataset(data_path, subjects=subjects, rmat=False)):
        legs = []
        for side in SIDES:
            try:
                acc1, gyr1, acc2, gyr2 = rec.joint_inputs(joint, side)
                ref = rec.joint_angle(joint, side)
            except ImukinError:
                continue
            extra = {"reference": ref} if getattr(predictor, "needs_reference", False) else {}
            pred = predictor.predict(acc1, gyr1, acc2, gyr2, side=side, fs=fs, **extra)
            legs.append(sequence_metrics(pred, ref))
            if k < n_traces and trace_dir is not None and len(legs) == 1:  # first leg of the subject
                n = min(len(ref), int(10 * fs))
                t = np.arange(n) / fs
                plots.append(plot_traces(trace_dir / f"traces_{label}_{rec.subject_id}_{side}.png", t,
                                         {label or "prediction": pred[:n]}, ref[:n],
                                         title=f"{label} {side} {joint}, subject {rec.subject_id}"))
        if legs:
            per_subject.append({"subject": rec.subject_id, "metrics": _mean_legs(legs)})
    if not per_subject:
        raise ImukinError(f"no subject of {data_path} has the sensors and angles of the {joint}")
    return aggregate([p["metrics"] for p in per_subject]), per_subject, plots


METHODS = ("network", "refined", "classical")


def _predictors(run, methods, ori_run, device):
    """(label, predictor) pairs for one run and the asked methods."""
    network = AnglePredictor(run, device=device)
    name = network.model.model_name
    for method in methods:
        if method == "network":
            yield name, network
        elif method == "refined":
            if ori_run is None:
                raise ImukinError("method 'refined' needs ori_run (--ori-run: an orientation run of the same joint, "
                                  "trained with 'imukin train --target orientation')")
            from imukin.fusion.refine import RefinedPredictor

            yield f"{name}+refined", RefinedPredictor(run, ori_run, device=device)
        elif method == "classical":
            from imukin.fusion.classical import ClassicalPredictor

            yield "classical (VQF)", ClassicalPredictor(network.joint)
        else:
            raise ImukinError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")


def evaluate_runs(runs: list[str | Path], data_path: str | Path, out_dir: str | Path, split: str = "test",
                  device: str = "cpu", n_traces: int = 3, methods=("network",), ori_run=None,
                  progress: bool = False) -> dict:
    """Evaluate one or more runs on one dataset file and write a report.

    Parameters
    ----------
    runs : list of path-like
        Run folders (or pretrained model folders).
    data_path : path-like
        Dataset file; for ``split`` other than ``all`` the subject split of training is
        recomputed from the run's split seed, so test subjects are never training ones
        when the run was trained on the same file.
    out_dir : path-like
        Report folder: ``metrics.json``, ``report.md``, PNG plots.
    split : {"test", "val", "train", "all"}
    device : str
    n_traces : int
        Subjects whose traces are plotted per run.
    methods : sequence of {"network", "refined", "classical"}
        Angle network alone, the optimisation stage on top (needs ``ori_run``), and the
        classical filter baseline (calibrated on the first seconds of the reference).
    ori_run : path-like, optional
        Orientation run for ``refined``.
    progress : bool
        Show a progress bar over the runs and methods (on stderr).

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    # load every model first: a bad run folder is refused before anything is written
    todo = [(run, label, predictor) for run in runs for label, predictor in _predictors(run, methods, ori_run, device)]
    metrics, plots, bars = {}, [], {}
    for run, label, predictor in tqdm(todo, desc="evaluating", unit="model", disable=not progress):
        if label in metrics:
            label = f"{label}:{Path(run).name}"
        seed = int(getattr(predictor, "meta", None) and predictor.meta.get("train_config", {}).get("split_seed", 0)
                   or 0)
        subjects = select_subjects(data_path, split, seed)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")  # a file name on every system
        agg, per_subject, trace_plots = evaluate_predictor(predictor, data_path, subjects, n_traces, out_dir, safe)
        metrics[label] = {"joint": predictor.joint, "activity": getattr(predictor, "activity", None),
                          "run": str(run), "split": split, "n_subjects": len(per_subject), predictor.joint: agg,
                          "per_subject": per_subject}
        bars[label] = {ax: (agg[ax]["rmse_offset_removed"]["mean"], agg[ax]["rmse_offset_removed"]["sd"])
                       for ax in ANGLE_AXES}
        plots += trace_plots
    plots.insert(0, plot_rmse_bars(out_dir / "rmse_by_axis.png", bars,
                                   title=f"offset-removed RMSE by axis ({Path(data_path).name}, {split})"))
    write_report(out_dir, metrics, plots, title=f"imukin evaluation on {Path(data_path).name} ({split} split)",
                 row_label="joint")
    return metrics
