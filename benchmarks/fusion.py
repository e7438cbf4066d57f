"""The optimisation stage against the angle network, the orientation network and a classical filter.

Simulates a walking corpus (seed never used elsewhere), trains per joint an angle CNN and an
orientation CNN (cached in ``--workdir``), fits the per-axis blend on the validation
subjects and evaluates on the held-out test subjects. Every method is scored on the same
frames: those after the classical baseline's calibration window (``--calib`` seconds, the
only frames where it sees reference angles). Then times imukin's optimiser against the
reference's per-frame BFGS on one 60 s two-segment sequence at 200 Hz (interleaved, so both
see the same load on a shared machine), and measures the optimiser's peak memory on a one-hour
recording in a fresh process.

Prints one table: joint x axis, RMSE / offset-removed RMSE (degrees, mean over test legs) of
the angle network, the orientation network (its relative orientation, mean moved onto the
angle network's), the refined framework, and the classical VQF baseline; the fitted blend
(w, s); then speed and memory lines.

    .venv/bin/python benchmarks/fusion.py [--subjects 40] [--duration-s 30] [--steps 1000]

``--pretrained`` scores the shipped models instead (angle ``cnn``, ``cnn_ori`` and their
blend, all joints; ``--activity walking|running``) on a corpus of people they never saw, all
of whose subjects are then test subjects; nothing is trained.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import imukin.fusion.optimize as optimize_module
from imukin.argtypes import add_option
from imukin.conventions import ANGLE_AXES, JOINT_NAMES, joint_segments, relative_rotation_to_angles
from imukin.evaluation.metrics import sequence_metrics
from imukin.fusion.classical import ClassicalConfig, ClassicalPredictor
from imukin.fusion.optimize import optimize_orientations
from imukin.io.job_h5 import iter_dataset
from imukin.rotations import heading_free, so3_exp, so3_log
from imukin.simulation.corpus import CorpusConfig, cached_corpus
from imukin.training.dataset import split_subjects

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the reference's BFGS sits beside this script
import reference_bfgs  # noqa: E402
from reference_bfgs import reference_integrate  # noqa: E402

CORPUS_SEED = 7001  # benchmark corpus (train/val/test split inside it)
SPEED_SEED = 7002  # the 60 s speed sequence
SPEED_TARGET = 10_000  # times less time per frame than the per-frame BFGS
METHODS = ("angle_network", "orientation_network", "refined", "classical")
LABELS = {"angle_network": "angle net", "orientation_network": "ori net", "refined": "refined",
          "classical": "classical"}
MODEL = {"n_layers": 3, "channels": 48, "kernel_size": 41, "dropout": 0.1}


def corpus(workdir: Path, n: int, duration: float, seed: int = CORPUS_SEED, activity: str = "walking") -> Path:
    path = workdir / f"{activity}_s{seed}_n{n}_d{duration:g}.h5"
    return cached_corpus(path, CorpusConfig(activity=activity, n_subjects=n, seed=seed, duration_s=duration))


def train_runs(data: Path, workdir: Path, joint: str, steps: int) -> tuple[Path, Path]:
    from imukin.training.trainer import TrainConfig, train  # torch only where networks are used

    runs = []
    for target in ("angle", "orientation"):
        cfg = TrainConfig(model="cnn", joint=joint, target=target, model_overrides=MODEL, steps=steps,
                          eval_every=max(50, steps // 10), patience=100)
        run = workdir / f"{joint}_{target}"
        train(cfg, data, run, progress=True)
        runs.append(run)
    return runs[0], runs[1]


def evaluate_joint(joint: str, pred, data: Path, test: list[str], calib_s: float) -> dict:
    """Per-leg metrics of every method (``pred``: a RefinedPredictor) on the test subjects;
    frames after the calibration window."""
    out = {m: [] for m in METHODS}
    n_fail = 0
    for rec in iter_dataset(data, subjects=test):
        n_cal = int(round(calib_s * rec.fs))
        for side in ("right", "left"):
            acc1, gyr1, acc2, gyr2 = rec.joint_inputs(joint, side)
            ref = rec.joint_angle(joint, side)
            comps = pred.components(acc1, gyr1, acc2, gyr2, side, rec.fs)
            n_fail += not comps["converged"]
            comps["classical"] = ClassicalPredictor(joint, ClassicalConfig(calib_s=calib_s)).predict(
                acc1, gyr1, acc2, gyr2, side, rec.fs, reference=ref[:n_cal])
            for m in METHODS:
                out[m].append(sequence_metrics(comps[m][n_cal:], ref[n_cal:]))
    return {"metrics": out, "not_converged": n_fail, "blend": pred.blend}


def _subjects(path: Path) -> list[str]:
    from imukin.io.job_h5 import subject_ids

    return subject_ids(path)


def interleaved_timing(r_net: np.ndarray, gyr1: np.ndarray, gyr2: np.ndarray, fs: float,
                       runs: int = 12) -> dict:
    """Time imukin's optimiser and the per-frame BFGS on the same sequence under the same load.

    The BFGS runs through the sequence in ``runs`` pieces (each piece starts from
    the orientation the previous one ended at, so the result is the whole-sequence one), and
    before each piece imukin's optimiser solves the whole sequence once. Both therefore see
    the same background load of a shared machine: the ratio is the BFGS's total time over the
    mean of imukin's runs (its minimum and median are reported too).

    Parameters
    ----------
    r_net : ndarray, shape (T, 2, 3, 3)
        Network orientations of the two segments.
    gyr1, gyr2 : ndarray, shape (T, 3)
        Gyroscopes, rad/s.
    fs : float
        Sampling rate, Hz.
    runs : int
        Whole-sequence runs of imukin's optimiser, one before each piece of the BFGS.

    Returns
    -------
    dict
        ``imukin_s`` (mean per whole-sequence run), ``imukin_min_s``, ``imukin_median_s``,
        ``imukin_runs``, ``bfgs_s`` (total), ``ratio``, ``us_per_frame`` of both, and the
        last ``result`` (OptimizeResult) and ``reference`` (two (T, 3, 3)) orientations.
    """
    n = len(gyr1)
    chunk = max(1, -(-(n - 1) // runs))  # BFGS frames per piece
    ref = np.empty((2, n, 3, 3))  # BFGS orientations, filled piece by piece
    ref[:, 0] = r_net[0, 0], r_net[0, 1]
    optimize_orientations(r_net[:, 0], r_net[:, 1], gyr1, gyr2, fs)  # warm-up (first-call imports), not timed
    t_ours, t_bfgs = [], 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BFGS "precision loss" warnings of the published objective
        for s in range(0, n - 1, chunk):
            e = min(s + chunk, n - 1)
            t0 = time.perf_counter()
            res = optimize_orientations(r_net[:, 0], r_net[:, 1], gyr1, gyr2, fs)
            t_ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for k, g in enumerate((gyr1, gyr2)):
                ref[k, s:e + 1] = reference_integrate(g[s:e + 1], fs, ref[k, s])
            t_bfgs += time.perf_counter() - t0
    mean = float(np.mean(t_ours))
    return {"imukin_s": mean, "imukin_min_s": float(np.min(t_ours)), "imukin_median_s": float(np.median(t_ours)),
            "imukin_runs": len(t_ours), "bfgs_s": t_bfgs, "ratio": t_bfgs / mean,
            "imukin_us_per_frame": mean / n * 1e6, "bfgs_us_per_frame": t_bfgs / n * 1e6,
            "result": res, "reference": (ref[0], ref[1])}


def speed_comparison(workdir: Path, ori_run: Path, joint: str = "knee", seconds: float = 60.0) -> dict:
    """imukin's optimiser vs per-frame BFGS on one joint's sequence (60 s at 200 Hz), same inputs."""
    from imukin.fusion.refine import OrientationPredictor

    data = corpus(workdir, 1, seconds, seed=SPEED_SEED)
    rec = next(iter_dataset(data, rmat=True))
    ori = OrientationPredictor(ori_run)
    acc1, gyr1, acc2, gyr2 = rec.joint_inputs(joint, "right")
    r_net = ori.predict(acc1, gyr1, acc2, gyr2, "right", rec.fs)  # (T, 2, 3, 3)
    truth = heading_free(*(rec.rmat[s] for s in joint_segments(joint, "right")))
    ref_angles = rec.joint_angle(joint, "right")

    def score(r1, r2) -> dict:
        e1, e2 = heading_free(r1, r2)
        ori_err = [np.degrees(np.linalg.norm(so3_log(np.swapaxes(e, -1, -2) @ h), axis=-1)) for e, h in
                   zip((e1, e2), truth)]
        ang = relative_rotation_to_angles(np.swapaxes(r1, -1, -2) @ r2, joint, "right")
        m = sequence_metrics(ang, ref_angles)
        return {"orientation_rms_deg": float(np.sqrt(np.mean(np.square(ori_err)))),
                "flexion_rmse_offset_removed_deg": m["flexion"]["rmse_offset_removed"],
                "angle_rmse_offset_removed_deg": float(np.mean([m[a]["rmse_offset_removed"] for a in ANGLE_AXES]))}

    speed = interleaved_timing(r_net, gyr1, gyr2, rec.fs)
    res, (b1, b2) = speed.pop("result"), speed.pop("reference")
    return {"joint": joint, "frames": len(gyr1), "fs": rec.fs, **speed,
            "converged": res.converged, "n_iter": int(res.n_iter), "imukin": score(res.r1, res.r2),
            "bfgs": score(b1, b2),
            "network": score(r_net[:, 0], r_net[:, 1])}


def cached_speed(args) -> dict:
    """:func:`speed_comparison`, kept in the work folder per orientation model, length and timed code
    (the optimiser, the BFGS and this script: a changed one is timed again)."""
    from imukin.io.model_folder import read_checkpoint_info

    joint = args.speed_joint
    run = args.workdir / f"{joint}_orientation"
    if args.pretrained:
        from imukin.pretrained import pretrained_path

        run = pretrained_path(joint, args.activity, "cnn_ori")
    elif not (run / "model.json").exists():
        train_runs(corpus(args.workdir, args.subjects, args.duration_s), args.workdir, joint, args.steps)
    sha = read_checkpoint_info(run)["weights"]["sha256"][:16]
    code = hashlib.sha256(b"".join(Path(f).read_bytes() for f in (optimize_module.__file__, reference_bfgs.__file__,
                                                                  __file__))).hexdigest()[:12]
    path = args.workdir / f"speed_{joint}_{args.speed_seconds:g}s_{sha}_{code}.json"
    if path.exists():
        return json.loads(path.read_text())
    speed = speed_comparison(args.workdir, run, joint, args.speed_seconds)
    path.write_text(json.dumps(speed, indent=1, default=float))
    return speed


def memory_probe(hours: float) -> dict:
    """Run the optimiser on a synthetic recording of ``hours`` at 200 Hz (call in a fresh process).

    The process imports no network code, so its peak RSS is the interpreter, numpy/scipy,
    the recording and the optimiser.
    """
    import tracemalloc

    fs = 200.0
    n = int(hours * 3600 * fs)
    rng = np.random.default_rng(0)
    n1 = np.empty((2, n, 3, 3))  # heading-free "network" orientations (here: the truth)
    gyr = np.empty((2, n, 3))
    chunk = 100_000  # build the recording piecewise so that making it does not dominate the peak
    for s0 in range(0, n, chunk):
        t = np.arange(s0, min(n, s0 + chunk + 1)) / fs  # one extra frame for the last increment
        r1 = so3_exp(np.stack([0.08 * np.sin(2 * np.pi * t + 1), 0.02 * t, 0.45 * np.sin(2 * np.pi * t)], 1))
        r2 = r1 @ so3_exp(np.stack([0 * t, 0 * t, -0.5 * (1 - np.cos(2 * np.pi * t + 0.8))], 1))
        m = len(t) - 1 if s0 + chunk < n else len(t)
        for k, r in enumerate((r1, r2)):
            inc = so3_log(np.swapaxes(r[:-1], -1, -2) @ r[1:]) * fs  # (len-1, 3) rad/s
            inc = np.concatenate([inc, inc[-1:]])
            gyr[k, s0:s0 + m] = inc[:m] + rng.normal(scale=0.003, size=(m, 3)) + 0.01  # noise and bias
        h1, h2 = heading_free(r1, r2)
        n1[0, s0:s0 + m], n1[1, s0:s0 + m] = h1[:m], h2[:m]
    base_mb = _peak_rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    res = optimize_orientations(n1[0], n1[1], gyr[0], gyr[1], fs)
    wall = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"hours": hours, "frames": n, "seconds": wall, "converged": res.converged,
            "optimizer_peak_alloc_mb": peak / 2**20, "inputs_peak_rss_mb": base_mb,
            "process_peak_rss_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; unlike ru_maxrss it is not inherited across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # other systems


def _mean(per_leg: list[dict], axis: str, metric: str) -> float:
    return float(np.nanmean([d[axis][metric] for d in per_leg]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=40)
    add_option(ap, "--duration-s", aliases=("--duration",), type=float, default=30.0)
    ap.add_argument("--steps", type=int, default=1000, help="training steps per model")
    ap.add_argument("--calib", type=float, default=5.0, help="classical calibration window, s")
    ap.add_argument("--speed-joint", default="knee", choices=JOINT_NAMES, help="joint of the speed sequence")
    ap.add_argument("--speed-only", action="store_true", help="only the speed comparison (fills the cache)")
    ap.add_argument("--speed-seconds", type=float, default=60.0, help="length of the speed sequence")
    ap.add_argument("--hours", type=float, default=1.0, help="length of the memory probe recording")
    ap.add_argument("--joints", nargs="+", default=list(JOINT_NAMES))
    ap.add_argument("--workdir", type=Path, default=Path("runs/benchmark_fusion"))
    ap.add_argument("--pretrained", action="store_true", help="score the shipped models (nothing is trained)")
    ap.add_argument("--no-speed", action="store_true",
                    help="skip the optimiser-vs-BFGS timing (about 7 min on 2 cores) and the memory probe")
    ap.add_argument("--activity", default="walking", choices=("walking", "running"),
                    help="activity of the corpus (with --pretrained: of the shipped models)")
    ap.add_argument("--probe", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe is not None:
        print(json.dumps(memory_probe(args.probe)))
        return
    import torch

    from imukin.fusion.refine import RefinedPredictor, fit_blend, pretrained_refined

    torch.set_num_threads(2)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.speed_only:
        print_speed(cached_speed(args))
        return
    if args.pretrained:
        args.workdir = args.workdir / "pretrained"
        args.workdir.mkdir(parents=True, exist_ok=True)
    data = corpus(args.workdir, args.subjects, args.duration_s, activity=args.activity)
    ids = sorted(_subjects(data))
    results = {}
    for joint in args.joints:
        if args.pretrained:
            pred, test = pretrained_refined(joint, args.activity, "cnn"), ids
        else:
            angle_run, ori_run = train_runs(data, args.workdir, joint, args.steps)
            fit_blend(angle_run, ori_run, data, split="val")
            pred, test = RefinedPredictor(angle_run, ori_run), split_subjects(ids, seed=0)["test"]
        results[joint] = evaluate_joint(joint, pred, data, test, args.calib)
    speed = mem = None
    if not args.no_speed:
        speed = cached_speed(args)
        probe = subprocess.run([sys.executable, __file__, "--probe", str(args.hours)], capture_output=True,
                               text=True)
        if probe.returncode != 0:
            raise SystemExit(f"memory probe failed: {probe.stderr.strip().splitlines()[-1]}")
        mem = json.loads(probe.stdout.strip().splitlines()[-1])

    print_report(results, speed, mem, args)


def print_report(results: dict, speed: dict, mem: dict, args) -> None:
    """The table and the speed and memory lines; also saved as JSON in the work folder."""
    n_test = len(next(iter(results.values()))["metrics"]["refined"])
    models = "shipped pretrained models" if args.pretrained else f"models trained here ({args.steps} steps)"
    print(f"\nHeld-out synthetic {args.activity} test set ({n_test} legs; corpus {args.subjects} subjects x "
          f"{args.duration_s:g} s, seed {CORPUS_SEED}; {models}); RMSE / offset-removed RMSE in degrees, frames "
          f"after the first {args.calib:g} s\n")
    head = ["joint", "axis", *(LABELS[m] for m in METHODS), "blend w", "blend s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for joint, r in results.items():
        for k, axis in enumerate(ANGLE_AXES):
            cells = [f"{_mean(r['metrics'][m], axis, 'rmse'):.2f} / "
                     f"{_mean(r['metrics'][m], axis, 'rmse_offset_removed'):.2f}" for m in METHODS]
            print("| " + " | ".join([joint, axis, *cells, f"{r['blend']['w'][k]:.2f}",
                                     f"{r['blend']['s'][k]:.2f}"]) + " |")
    fails = {j: r["not_converged"] for j, r in results.items() if r["not_converged"]}
    print(f"\nnon-converged refinements (fell back to the network): {fails or 'none'}")
    if speed is None or mem is None:
        print("speed and memory: skipped (--no-speed)")
        (args.workdir / "fusion_results.json").write_text(json.dumps(
            {"blend": {j: r["blend"] for j, r in results.items()},
             "metrics": {j: r["metrics"] for j, r in results.items()}}, indent=1, default=float))
        return
    print_speed(speed)
    print(f"memory, {mem['hours']:g} h at 200 Hz ({mem['frames']} frames, two segments): optimiser "
          f"{mem['seconds']:.1f} s, converged {mem['converged']}; optimiser peak allocations "
          f"{mem['optimizer_peak_alloc_mb']:.0f} MB; process peak RSS {mem['process_peak_rss_mb']:.0f} MB "
          f"(of which inputs and interpreter {mem['inputs_peak_rss_mb']:.0f} MB)")
    (args.workdir / "fusion_results.json").write_text(json.dumps(
        {"speed": speed, "memory": mem, "blend": {j: r["blend"] for j, r in results.items()},
         "metrics": {j: r["metrics"] for j, r in results.items()}}, indent=1, default=float))


def print_speed(speed: dict) -> None:
    """The speed comparison's lines: times, ratio against the target, and each method's accuracy."""
    print(f"speed, one {speed['frames'] / speed['fs']:.0f} s two-segment {speed['joint']} sequence "
          f"at {speed['fs']:g} Hz: "
          f"imukin optimiser {speed['imukin_s']:.3f} s (mean of {speed['imukin_runs']} runs interleaved with the "
          f"BFGS), per-frame BFGS (reference) {speed['bfgs_s']:.1f} s; per frame {speed['imukin_us_per_frame']:.1f} us "
          f"vs {speed['bfgs_us_per_frame'] / 1000:.1f} ms, ratio {speed['ratio']:,.0f}x")
    print(f"  target >= {SPEED_TARGET:,}x: {'met' if speed['ratio'] >= SPEED_TARGET else 'missed'}; imukin solves "
          f"all frames at once in {speed['n_iter']} Gauss-Newton iterations, "
          f"{speed['imukin_us_per_frame'] / speed['n_iter']:.2f} us per frame each (one banded factorisation and "
          f"solve over the whole sequence), where the BFGS takes each frame on its own")
    for name in ("network", "imukin", "bfgs"):
        s = speed[name]
        print(f"  {name:8s} heading-free orientation RMS error {s['orientation_rms_deg']:.2f} deg, "
              f"{speed['joint']} angle "
              f"offset-removed RMSE flexion {s['flexion_rmse_offset_removed_deg']:.2f} deg, mean of 3 axes "
              f"{s['angle_rmse_offset_removed_deg']:.2f} deg")


if __name__ == "__main__":
    main()
