"""``make demo``: the main job on built-in data.

Simulates a small corpus of new people (walking and running, full sensor error model,
seeds the shipped models never saw), runs the shipped pretrained models on every joint
of both legs (each angle network alone and, where a blend is shipped with it, the whole
framework with the optimisation stage, labelled ``+refined``), prints the accuracy table
and writes a report with plots.
"""
from __future__ import annotations

from pathlib import Path

from imukin.conventions import ACTIVITIES, ANGLE_AXES, JOINT_NAMES
from imukin.io.job_h5 import subject_ids, write_dataset


def run_demo(out: str | Path, n_subjects: int = 4, seed: int = 2024, duration_s: float = 20.0,
             quiet: bool = False) -> dict:
    """Simulate demo corpora, predict with the pretrained models, and report under ``out``.

    ``quiet`` turns off the progress bars and the printed lines and table (the files are the same).

    Returns
    -------
    dict
        ``{"files": {name: path}, "metrics": {model label: {joint: aggregate}}}``.
    """
    from imukin.evaluation.evaluate import evaluate_predictor
    from imukin.evaluation.plots import plot_corpus_overview, plot_rmse_bars
    from imukin.evaluation.report import write_report
    from imukin.fusion.refine import shipped_predictors
    from imukin.simulation.corpus import CorpusConfig, corpus_attrs, simulate_corpus

    say = (lambda *a, **k: None) if quiet else print

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files, metrics, plots, bars = {}, {}, [], {}
    for activity in ACTIVITIES:
        cfg = CorpusConfig(activity=activity, n_subjects=n_subjects, seed=seed, duration_s=duration_s)
        records = list(simulate_corpus(cfg, progress=not quiet))
        data = write_dataset(out / f"{activity}_data.h5", records, attrs=corpus_attrs(cfg))
        files[f"{activity}_data"] = data
        plots.append(plot_corpus_overview(out / f"{activity}_overview.png", records))
        speeds = ", ".join(f"{r.meta[3]:.2f}" for r in records)
        say(f"{activity}: {len(records)} new subjects, mean speeds {speeds} m/s -> {data}")
        for joint in JOINT_NAMES:
            for model_label, predictor in shipped_predictors(activity, joint).items():
                agg, _, traces = evaluate_predictor(predictor, data, subject_ids(data), n_traces=1,
                                                    trace_dir=out, label=f"{activity}_{joint}_{model_label}")
                metrics.setdefault(f"{activity} {model_label}", {})[joint] = agg
                bars[f"{activity} {joint} {model_label}"] = {
                    ax: (agg[ax]["rmse_offset_removed"]["mean"], agg[ax]["rmse_offset_removed"]["sd"])
                    for ax in ANGLE_AXES}
                plots += traces
    if bars:
        plots.insert(0, plot_rmse_bars(out / "rmse_by_axis.png", bars, title="offset-removed RMSE, new subjects"))
        if not quiet:
            _print_table(metrics)
    else:
        say("no pretrained models are installed; build them with 'make pretrained' (simulation results only)")
    files["report"] = write_report(out, metrics, plots, title="imukin demo: pretrained models on new simulated people",
                                   notes=f"{n_subjects} new subjects per activity, {duration_s:g} s each, seed {seed}, "
                                         "full sensor error model; both legs averaged per subject.", row_label="joint")
    say(f"demo results in {out}/ (report.md, plots, data)")
    return {"files": files, "metrics": metrics}


def _print_table(metrics: dict) -> None:
    width = max([len("activity model")] + [len(label) for label in metrics])
    print(f"\n{'activity model':<{width}} {'joint':<6} " + " ".join(f"{ax:>22}" for ax in ANGLE_AXES))
    print(f"{'':<{width + 7}} " + " ".join(f"{'RMSE (offset removed)':>22}" for _ in ANGLE_AXES))
    for label, joints in metrics.items():
        for joint, agg in joints.items():
            cells = " ".join(f"{agg[ax]['rmse']['mean']:8.2f} ({agg[ax]['rmse_offset_removed']['mean']:5.2f}) deg"
                             for ax in ANGLE_AXES)
            print(f"{label:<{width}} {joint:<6} {cells}")
