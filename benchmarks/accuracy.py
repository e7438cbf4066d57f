"""Accuracy of the shipped pretrained models on new simulated people, and inference speed.

Held-out corpora are simulated with seeds the pretrained models never saw (other people,
other sensors), with the full default sensor error model. Prints one table: joint x
activity x axis x model, RMSE and offset-removed RMSE (mean ± SD over subjects, both legs
averaged per subject), the best network per cell against the targets, and, for every
angle model shipped with a blend, the whole framework with the optimisation stage
(``<model>+refined``, shipped orientation network + gyroscope refinement + blend), and ``both`` (the mean
of the cnn's and the transformer's angles, ``imukin predict --model both``; ``both+refined`` of the two
refined ones); then
walking flexion by speed band, from slow clinical walking (0.3 m/s) to fast walking; then
inference speed and peak memory for a one-hour 100 Hz recording.

    .venv/bin/python benchmarks/accuracy.py [--subjects 20] [--duration-s 30]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from imukin.argtypes import add_option
from imukin.conventions import ACTIVITIES, ANGLE_AXES, JOINT_NAMES
from imukin.io.job_h5 import subject_ids
from imukin.predictor import AnglePredictor
from imukin.pretrained import MODEL_CHOICES, shipped_angle_models
from imukin.simulation.corpus import CorpusConfig, cached_corpus

TEST_SEEDS = {"walking": 9001, "running": 9002}  # never used for training
SPEED_SEED = 9011  # the walkers of the speed table (never used for training)
#: Walking speed bands (m/s) of the speed table: the same people in each band. Below 0.6 m/s is slow,
#: clinical walking (older adults, patients); the shipped walking corpus's range is
#: imukin.simulation.gait.SPEED_RANGE_M_S["walking"].
SPEED_BANDS = ((0.3, 0.6), (0.6, 1.0), (1.0, 1.4), (1.4, 2.0))
TARGETS = {"flexion": 1.5, "adduction": 2.5, "rotation": 3.5}  # offset-removed RMSE, deg, best model per joint


def test_corpus(activity: str, n: int, duration: float, workdir: Path) -> Path:
    path = workdir / f"{activity}_heldout_s{TEST_SEEDS[activity]}_n{n}_d{duration:g}.h5"
    return cached_corpus(path, CorpusConfig(activity=activity, n_subjects=n, seed=TEST_SEEDS[activity],
                                            duration_s=duration))


def heldout_walkers_parser(description: str) -> argparse.ArgumentParser:
    """The options of a benchmark on the held-out walkers: ``--subjects``, ``--duration-s``, ``--workdir`` and
    ``--models`` (shipped predictors by label)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--subjects", type=int, default=12, help="held-out walkers (benchmarks/accuracy.py's people)")
    ap.add_argument("--duration-s", type=float, default=30.0)
    ap.add_argument("--workdir", type=Path, default=Path("runs/benchmark"))
    ap.add_argument("--models", nargs="+", default=["cnn", "cnn+refined"],
                    help="shipped predictors by label (cnn, transformer, each +refined)")
    ap.add_argument("--candidates", type=Path, metavar="DIR",
                    help="also score trained, not shipped angle models <DIR>/walking_<joint>_<model> ('new <model>')")
    return ap


def heldout_walkers(args: argparse.Namespace) -> tuple[list, float]:
    """The held-out walkers' recordings (:func:`imukin.io.job_h5.iter_dataset`) and their rate (Hz)."""
    from imukin.io.job_h5 import file_attrs, iter_dataset

    path = test_corpus("walking", args.subjects, args.duration_s, args.workdir)
    return list(iter_dataset(path, subjects=subject_ids(path), rmat=False)), float(file_attrs(path)["fs"])


def print_condition_table(columns: list[str], recs: list, models: list[str], leg_error,
                          candidates: Path | None = None) -> None:
    """A table of the held-out walkers under several conditions: one row per joint and shipped walking predictor
    (labels ``models``) and per candidate model in ``candidates`` (:func:`imukin.fusion.refine.candidate_predictors`),
    one column per condition, each cell the mean over the legs of ``leg_error(predictor, i, rec, joint, s, side,
    c)`` (recording ``i``, side ``s``, column ``c``)."""
    from imukin.conventions import SIDES
    from imukin.fusion.refine import candidate_predictors, shipped_predictors

    print("| joint | model | " + " | ".join(columns) + " |")
    print("|---|---|" + "---:|" * len(columns))
    for joint in JOINT_NAMES:
        predictors = shipped_predictors("walking", joint)
        new = candidate_predictors(candidates, "walking", joint) if candidates else {}
        predictors.update(new)
        for label in [m for m in models if m in predictors] + list(new):
            cells = [np.mean([leg_error(predictors[label], i, rec, joint, s, side, c)
                              for i, rec in enumerate(recs) for s, side in enumerate(SIDES)])
                     for c in range(len(columns))]
            print(f"| {joint} | {label} | " + " | ".join(f"{v:.2f}" for v in cells) + " |", flush=True)


def flexion_error(y, ref) -> float:
    """Offset-removed flexion RMSE (deg) of angles ``y`` against ``ref``, (T, 3) each."""
    from imukin.evaluation.metrics import sequence_metrics

    return sequence_metrics(y, ref)["flexion"]["rmse_offset_removed"]


def speed_corpus(band: tuple[float, float], n: int, duration: float, workdir: Path) -> Path:
    """``n`` new walkers (seed :data:`SPEED_SEED`, the same people in every band) at speeds within ``band``."""
    path = workdir / f"walking_speed_s{SPEED_SEED}_n{n}_d{duration:g}_{band[0]:g}-{band[1]:g}.h5"
    return cached_corpus(path, CorpusConfig(activity="walking", n_subjects=n, seed=SPEED_SEED, duration_s=duration,
                                            speed_range_m_s=band))


def tissue_floor(activity: str, n: int, duration: float, seed: int = 4242) -> dict:
    """Offset-removed RMSE (deg) of joint angles seen by a perfect orientation tracker on the skin.

    The default soft-tissue model moves each sensor on its segment: a slow rotation (below 1 Hz, no
    filter can tell it from joint motion) and a 10-20 Hz wobble after impacts. Angles from the skin
    frames ``R_seg @ R_tissue`` against the bone angles give what the tissue alone costs, on new
    people of the same error model. Returns ``{joint: {"all": (3,), "slow": (3,)}}``.
    """
    from dataclasses import replace

    from scipy.interpolate import make_interp_spline

    from imukin.conventions import joint_angles, joint_segments
    from imukin.simulation.body import draw_subject
    from imukin.simulation.corpus import internal_rate
    from imukin.simulation.gait import GaitConfig, generate_gait
    from imukin.simulation.sensor_errors import SensorErrorConfig, soft_tissue_motion

    full = SensorErrorConfig()
    models = {"all": full, "slow": replace(full, tissue_rock_deg_per_mm=0.0)}
    out = {j: {k: [] for k in models} for j in JOINT_NAMES}
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        kin = generate_gait(draw_subject(rng, activity),
                            GaitConfig(activity=activity, duration_s=duration, fs_internal=internal_rate(200.0)), rng)
        after_gait = rng.bit_generator.state
        for kind, errors in models.items():
            rng.bit_generator.state = after_gait  # the same tissue draws for both tissue models
            skin = {}
            for seg, r_seg in kin.rot.items():
                seg_acc = make_interp_spline(kin.t, kin.pos[seg], k=5).derivative(2)(kin.t)  # (N, 3) lab
                skin[seg] = r_seg @ soft_tissue_motion(kin.t, seg_acc, errors, rng, seg_rmat=r_seg)[0]
            for joint in JOINT_NAMES:
                for side in ("right", "left"):
                    prox, dist = joint_segments(joint, side)
                    err = (joint_angles(skin[prox], skin[dist], joint, side)
                           - joint_angles(kin.rot[prox], kin.rot[dist], joint, side))  # (N, 3)
                    out[joint][kind].append(np.sqrt(((err - err.mean(0)) ** 2).mean(0)))
    return {j: {k: np.mean(v, axis=0) for k, v in d.items()} for j, d in out.items()}


def inference_probe(run: str, hours: float, repeats: int = 3) -> dict:
    """Time one model on a synthetic recording of ``hours`` at 100 Hz (run in a fresh process):
    median wall time of ``repeats`` predictions, and the process's peak memory."""
    import torch

    torch.set_num_threads(2)
    p = AnglePredictor(run)
    n = int(hours * 3600 * 100)
    rng = np.random.default_rng(0)
    t = np.arange(n) / 100.0
    acc = (np.stack([np.sin(2 * np.pi * t), 9.81 + np.cos(2 * np.pi * t), 0.1 * np.sin(t)], 1)
           + rng.normal(0, .1, (n, 3)))
    gyr = np.stack([np.sin(2 * np.pi * t), np.cos(t), 2 * np.sin(2 * np.pi * t)], 1)
    walls = []
    for _ in range(repeats):  # the median of a few runs: a shared machine's timings jitter by 20-30 %
        t0 = time.perf_counter()
        y = p.predict(acc, gyr, acc, gyr, side="right", fs=100.0)
        walls.append(time.perf_counter() - t0)
        assert y.shape == (n, 3) and np.all(np.isfinite(y))
    wall = float(np.median(walls))
    return {"seconds": wall, "realtime_factor": hours * 3600 / wall,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=20)
    add_option(ap, "--duration-s", aliases=("--duration",), type=float, default=30.0)
    ap.add_argument("--workdir", type=Path, default=Path("runs/benchmark"))
    ap.add_argument("--hours", type=float, default=1.0, help="length of the speed probe's recording (0: no probe)")
    ap.add_argument("--activities", nargs="+", choices=ACTIVITIES, default=list(ACTIVITIES))
    ap.add_argument("--floor-subjects", type=int, default=8, help="people for the soft-tissue floor (0: skip)")
    ap.add_argument("--speed-subjects", type=int, default=8,
                    help="walkers per speed band of the walking speed table (0: skip)")
    ap.add_argument("--candidates", type=Path, metavar="DIR",
                    help="also score trained, not shipped angle models <DIR>/<activity>_<joint>_<model>")
    ap.add_argument("--probe", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        print(json.dumps(inference_probe(args.probe, args.hours)))
        return
    from imukin.evaluation.evaluate import evaluate_predictor
    from imukin.fusion.refine import candidate_predictors, shipped_predictors, with_both

    def predictors_of(activity: str, joint: str) -> dict:
        found = with_both(shipped_predictors(activity, joint))
        if args.candidates:
            found.update(candidate_predictors(args.candidates, activity, joint))
        return found

    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = [r for a in args.activities for j in JOINT_NAMES for r in shipped_angle_models(a, j)]
    if not runs:
        sys.exit("no pretrained models found; build them with 'make pretrained'")
    rows, best = [], {}
    for activity in args.activities:
        data = test_corpus(activity, args.subjects, args.duration_s, args.workdir)
        for joint in JOINT_NAMES:
            for label, predictor in predictors_of(activity, joint).items():
                agg, _, _ = evaluate_predictor(predictor, data, subject_ids(data))
                for ax in ANGLE_AXES:
                    r, o = agg[ax]["rmse"], agg[ax]["rmse_offset_removed"]
                    rows.append((joint, activity, ax, label, r["mean"], r["sd"], o["mean"], o["sd"]))
                    if "+" not in label:  # the targets are for the networks
                        key = (joint, activity, ax)
                        best[key] = min(best.get(key, (np.inf, "")), (o["mean"], label))
    print(f"\nHeld-out synthetic subjects ({args.subjects} per activity, {args.duration_s:g} s each, full sensor error "
          "model), degrees, mean ± SD over subjects\n")
    print("| joint | activity | axis | model | RMSE | RMSE offset removed | best | target |")
    print("|---|---|---|---|---|---|---|---|")
    for joint, activity, ax, model, rm, rs, om, osd in sorted(rows):
        b_val, b_model = best[(joint, activity, ax)]
        is_best = "**best**" if b_model == model else ""
        verdict = ("met" if b_val <= TARGETS[ax] else "missed") if is_best else ""
        print(f"| {joint} | {activity} | {ax} | {model} | {rm:.2f} ± {rs:.2f} | {om:.2f} ± {osd:.2f} | {is_best} | "
              f"{verdict} (<= {TARGETS[ax]}) |" if is_best else
              f"| {joint} | {activity} | {ax} | {model} | {rm:.2f} ± {rs:.2f} | {om:.2f} ± {osd:.2f} | | |")
    cells = {(j, a, ax): {} for j, a, ax, *_ in rows}
    for j, a, ax, m, _, _, om, _ in rows:
        cells[(j, a, ax)][m] = om
    both = [c for c in cells.values() if "cnn" in c and "transformer" in c]
    if both:
        wins = sum(c["transformer"] <= c["cnn"] for c in both)
        print(f"\ntransformer at least as good as cnn in {wins} of {len(both)} joint x activity x axis cells")
    for m in MODEL_CHOICES:
        pairs = [(c[m], c[f"{m}+refined"]) for c in cells.values() if m in c and f"{m}+refined" in c]
        if pairs:
            better = sum(r <= n for n, r in pairs)
            print(f"{m}+refined at least as good as {m} alone in {better} of {len(pairs)} cells "
                  "(offset-removed RMSE)")

    if args.floor_subjects:
        print(f"\nSoft tissue alone ({args.floor_subjects} new people per activity, {args.duration_s:g} s): "
              "offset-removed RMSE (deg) of angles from perfect orientation trackers on the skin; 'slow' is the "
              "part below 1 Hz that no filter separates from joint motion\n")
        print("| joint | activity | all tissue motion flex / add / rot | slow part only flex / add / rot |")
        print("|---|---|---|---|")
        for activity in args.activities:
            floor = tissue_floor(activity, args.floor_subjects, args.duration_s)
            for joint, d in floor.items():
                print(f"| {joint} | {activity} | {' / '.join(f'{v:.2f}' for v in d['all'])} | "
                      f"{' / '.join(f'{v:.2f}' for v in d['slow'])} |")

    if args.speed_subjects and "walking" in args.activities:
        bands = [speed_corpus(b, args.speed_subjects, args.duration_s, args.workdir) for b in SPEED_BANDS]
        print(f"\nBy walking speed ({args.speed_subjects} new walkers, the same people in every band, "
              f"{args.duration_s:g} s each): offset-removed flexion RMSE (deg), mean over subjects\n")
        print("| joint | model | " + " | ".join(f"{lo:g}-{hi:g} m/s" for lo, hi in SPEED_BANDS) + " |")
        print("|---|---|" + "---|" * len(SPEED_BANDS))
        for joint in JOINT_NAMES:
            for label, predictor in predictors_of("walking", joint).items():
                cells = [evaluate_predictor(predictor, d, subject_ids(d))[0]["flexion"]["rmse_offset_removed"]["mean"]
                         for d in bands]
                print(f"| {joint} | {label} | " + " | ".join(f"{v:.2f}" for v in cells) + " |", flush=True)

    print("\nTraining time of the shipped models (from their model.json, 2 CPU cores while building)\n")
    print("| model | steps run | best step (an ensemble's: each member's) | minutes (an ensemble's: all members') |")
    print("|---|---|---|---|")
    for run in runs:
        meta = json.loads((run / "model.json").read_text()).get("meta", {})
        best = meta.get("best_step", "?")
        best = " / ".join(str(b) for b in best) if isinstance(best, list) else best
        print(f"| {run.name} | {meta.get('train_steps', '?')} | {best} | "
              f"{meta.get('train_seconds', float('nan')) / 60:.1f} |")

    if args.hours <= 0:
        return
    print(f"\nInference on a {args.hours:g} h recording at 100 Hz (2 threads, each model in a fresh process, "
          "median of 3 runs)\n")
    print("| model | seconds | x real time | peak memory MB |")
    print("|---|---|---|---|")
    for model in ("cnn", "transformer"):
        run = next((r for r in runs if r.name.endswith(f"_{model}")), None)
        if run is None:
            continue
        out = subprocess.run([sys.executable, __file__, "--probe", str(run), "--hours", str(args.hours)],
                             capture_output=True, text=True, check=True)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {model} | {res['seconds']:.1f} | {res['realtime_factor']:,.0f} | {res['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
