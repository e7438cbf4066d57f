"""Hyperparameter search and fine-tuning against their targets: one table.

Targets (issue 6):

* a 20-trial cnn search on 2 CPU cores finishes in under 30 minutes (with pruning) and
  reaches a validation RMSE at least as good as the default configuration trained with
  the same step budget;
* fine-tuning on 5 subjects of a shifted corpus (another placement and sensor model: every
  sensor turned 90 deg about its segment's long axis, as when a lab straps them on the side
  of the limb instead of the front, plus larger mounting rotations and placement scatter,
  8x noise, 5x bias, +-500 deg/s gyroscopes) recovers at least half of the gap between the
  source model and a model trained on that corpus in full:
  ``(before - after) / (before - full) >= 0.5``, all on the shifted corpus's test
  subjects, none of which is fine-tuned on.

The source model is the default-configuration cnn of the search part (trained on the
unshifted corpus), or the shipped one with ``--source pretrained``.

Run: ``.venv/bin/python benchmarks/search_finetune.py`` (about an hour on 2 cores);
a quick functional check: ``benchmarks/search_finetune.py --tiny``.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from imukin.argtypes import add_option
from imukin.conventions import G
from imukin.io.job_h5 import write_dataset
from imukin.models import load_checkpoint
from imukin.simulation.corpus import CorpusConfig, corpus_attrs, simulate_corpus
from imukin.simulation.sensor_errors import SensorErrorConfig
from imukin.training.dataset import Normalizer, load_joint_data
from imukin.training.finetune import FinetuneConfig, finetune, heldout_error
from imukin.training.search import SearchConfig, run_search
from imukin.training.trainer import TrainConfig, train

#: The shifted sensor model: cheaper sensors, mounted less carefully.
SHIFT = SensorErrorConfig(mount_sd_deg=25.0, offset_sd_m=0.04, acc_noise_density=(0.01, 0.016),
                          gyr_noise_density_dps=(0.06, 0.1), acc_bias_sd=0.25, gyr_bias_sd_dps=2.5,
                          scale_sd=0.03, misalignment_sd_deg=1.5, acc_range=8 * G, gyr_range_dps=500.0)


#: The shifted placement: every sensor turned this much about its segment's long axis (y).
SHIFT_TURN_DEG = 90.0


def turned(records, turn_deg: float):
    """Records whose sensors are all turned by ``turn_deg`` about their segment's long axis (y).

    ``R_sensor -> R_sensor @ r``, so a vector in the sensor frame becomes ``r^T v`` (rows: ``v @ r``);
    the joint angles (from the segments) stay as they are.
    """
    from scipy.spatial.transform import Rotation

    r = Rotation.from_euler("y", turn_deg, degrees=True).as_matrix()
    for rec in records:
        for seg in rec.acc:
            rec.acc[seg], rec.gyr[seg] = rec.acc[seg] @ r, rec.gyr[seg] @ r  # (T, 3) each
            if seg in rec.rmat:
                rec.rmat[seg] = rec.rmat[seg] @ r  # (T, 3, 3)
        yield rec


def corpus(path: Path, n: int, seed: int, duration: float, fs: float, errors=None, turn_deg: float = 0.0) -> Path:
    """Simulate (or reuse) a walking corpus, optionally with every sensor turned on its segment."""
    if path.exists():
        return path
    cfg = CorpusConfig(activity="walking", n_subjects=n, seed=seed, duration_s=duration, fs=fs,
                       **({"errors": errors} if errors else {}))
    records = simulate_corpus(cfg, progress=False)
    attrs = {**corpus_attrs(cfg), **({"sensor_turn_deg": turn_deg} if turn_deg else {})}
    return write_dataset(path, turned(records, turn_deg) if turn_deg else records, attrs=attrs)


def heldout_rmse(run: Path, data_path: Path, joint: str) -> float:
    """Mean test RMSE (deg) of a run on a dataset's seeded test subjects."""
    model, meta = load_checkpoint(run)
    data = load_joint_data(data_path, joint, splits=("test",))
    return float(np.mean(heldout_error(model, Normalizer.from_dict(meta["normalization"]), data,
                                       int(meta.get("window", 400)), "cpu")))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", type=Path, help="keep corpora and runs here (default: a temporary folder)")
    ap.add_argument("--joint", default="knee")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    ap.add_argument("--subjects", type=int, default=40, help="subjects of the source (search) corpus")
    ap.add_argument("--shift-subjects", type=int, default=40, help="subjects of the shifted corpus")
    add_option(ap, "--duration-s", aliases=("--duration",), type=float, default=30.0, help="seconds per subject")
    ap.add_argument("--fs", type=float, default=200.0)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--steps", type=int, default=300, help="step budget of each trial and of the default config")
    ap.add_argument("--eval-every", type=int, default=50)
    ap.add_argument("--window", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--full-steps", type=int, default=1500, help="steps of the model trained on the shifted corpus")
    ap.add_argument("--ft-subjects", type=int, default=5)
    ap.add_argument("--ft-steps", type=int, default=600, help="fine-tuning steps (the library default)")
    ap.add_argument("--freeze", nargs="+", default=["none", "encoder"], choices=("none", "encoder", "all-but-head"))
    ap.add_argument("--source", default="default", help="'default' (the search part's default cnn) or 'pretrained'")
    ap.add_argument("--tiny", action="store_true", help="seconds-long functional check (meaningless numbers)")
    args = ap.parse_args()
    if args.tiny:
        args.subjects, args.shift_subjects, args.duration_s, args.fs = 6, 9, 5.0, 100.0
        args.trials, args.steps, args.eval_every, args.window, args.batch_size = 3, 20, 10, 100, 8
        args.full_steps, args.ft_subjects, args.ft_steps, args.freeze = 30, 3, 20, ["none"]
    torch.set_num_threads(args.threads)
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="imukin-bench-")
        args.workdir = Path(tmp.name)
    wd = args.workdir
    wd.mkdir(parents=True, exist_ok=True)
    src_corpus = corpus(wd / "source.h5", args.subjects, 601, args.duration_s, args.fs)
    shifted = corpus(wd / "shifted.h5", args.shift_subjects, 602, args.duration_s, args.fs, SHIFT, SHIFT_TURN_DEG)
    rows = []  # (what, metric, value, seconds, target, met)

    # ---- default configuration with the trial budget
    base = dict(joint=args.joint, steps=args.steps, eval_every=args.eval_every, window=args.window,
                batch_size=args.batch_size, warmup_steps=max(1, min(100, args.steps // 10)), patience=5)
    t0 = time.perf_counter()
    default = train(TrainConfig(model="cnn", **base), src_corpus, wd / "default_cnn", progress=False)
    rows.append(("default cnn config", "val RMSE", default["best_val_rmse_deg"], time.perf_counter() - t0, "", None))

    # ---- search
    t0 = time.perf_counter()
    res = run_search(SearchConfig(model="cnn", joint=args.joint, trials=args.trials, seed=0, steps=args.steps,
                                  eval_every=args.eval_every, window=args.window, batch_size=args.batch_size),
                     src_corpus, wd / "search", progress=True)
    wall = time.perf_counter() - t0
    from imukin.training.search import load_study

    states = [t.state.name.lower() for t in load_study(wd / "search").trials]
    what = f"{args.trials}-trial cnn search ({states.count('complete')} complete, {states.count('pruned')} pruned)"
    rows.append((what, "wall time (s)", wall, wall, "< 1800 s", wall < 1800))
    rows.append(("search best trial", "val RMSE", res["best_value"], None, "<= default config",
                 res["best_value"] is not None and res["best_value"] <= default["best_val_rmse_deg"]))

    # ---- fine-tuning to the shifted corpus
    source = wd / "default_cnn" if args.source == "default" else "pretrained"
    src_dir = source if args.source == "default" else None
    if src_dir is None:
        from imukin.pretrained import pretrained_path

        src_dir = pretrained_path(args.joint, "walking", "cnn")
    before = heldout_rmse(src_dir, shifted, args.joint)
    rows.append(("source model on shifted test subjects", "test RMSE", before, None, "", None))
    t0 = time.perf_counter()
    src_meta = load_checkpoint(src_dir)[1]
    full_cfg = TrainConfig(model="cnn", joint=args.joint, steps=args.full_steps,
                           window=int(src_meta.get("window", 400)),
                           eval_every=max(args.eval_every, args.full_steps // 10), batch_size=args.batch_size)
    train(full_cfg, shifted, wd / "full_shifted", progress=False)
    full = heldout_rmse(wd / "full_shifted", shifted, args.joint)
    rows.append(("trained on the whole shifted corpus", "test RMSE", full, time.perf_counter() - t0, "", None))
    for mode in args.freeze:
        t0 = time.perf_counter()
        rep = finetune(source, shifted, wd / f"finetune_{mode}", FinetuneConfig(
            freeze=mode, n_subjects=args.ft_subjects, steps=args.ft_steps, eval_every=args.eval_every,
            batch_size=args.batch_size), joint=args.joint, activity="walking", progress=False)
        after = rep["after"]["mean"]
        recovered = (before - after) / (before - full) if before > full else float("nan")
        rows.append((f"fine-tuned on {args.ft_subjects} subjects, freeze {mode}", "test RMSE", after,
                     time.perf_counter() - t0, f"gap recovered {recovered:.0%} (>= 50 %)",
                     bool(np.isfinite(recovered) and recovered >= 0.5)))
    (wd / "benchmark.json").write_text(json.dumps(rows, indent=2, default=str))

    print(f"\nSearch and fine-tuning, {args.joint}, walking ({args.threads} threads; source corpus "
          f"{args.subjects} subjects, shifted corpus {args.shift_subjects} subjects, {args.duration_s:g} s each at "
          f"{args.fs:g} Hz{'; TINY CHECK, numbers meaningless' if args.tiny else ''})\n")
    print("| what | metric | value | seconds | target | met |")
    print("|---|---|---|---|---|---|")
    for what, metric, value, secs, target, met in rows:
        v = "n/a" if value is None else (f"{value:.0f}" if metric.startswith("wall") else f"{value:.2f} deg")
        s = "" if secs is None else f"{secs:.0f}"
        m = "" if met is None else ("yes" if met else "NO")
        print(f"| {what} | {metric} | {v} | {s} | {target} | {m} |")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
