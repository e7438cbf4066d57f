"""Inference speed: whole-process ``imukin predict`` against one plain PyTorch pass, and ONNX Runtime.

One table, all figures measured in this run:

* ``imukin predict`` as a user runs it (a subprocess, ``--quiet``, plots and report
  included) on a simulated 7-sensor walking recording (``--minutes``, default 60, at
  100 Hz): one joint (``rknee``) with the CNN, all six joints with the CNN, all six with
  the transformer, all six with both (``--model both``: the mean of the two). Wall-clock
  time from process start to exit, and the child's peak resident memory (its ``VmHWM``,
  polled from ``/proc``).
* One plain PyTorch forward pass of the reference-size CNN (3 layers x 70 channels,
  kernel 41, random weights) over the same input, (1, T, 16) at 100 Hz, and, when the
  shipped models run at another rate (``imukin predict`` resamples to it), over the same
  span at that rate, in this process with PyTorch's default threads.
* A fresh interpreter that only imports the libraries ``imukin predict`` needs (torch,
  scipy.signal, h5py, matplotlib) and exits: the floor under every whole-process run.
* ONNX Runtime on the same span at each model's rate: the shipped knee CNN in one pass
  (its time axis is dynamic) and the shipped knee transformer over its windows as
  :func:`imukin.inference.predict_windows` runs it; the models are exported with
  :mod:`imukin.export` first (not timed).

A second table splits each ``imukin predict`` run into its stages, as the run itself
timed them (``timings_s`` of its ``report.json``): ``read``, ``align`` (mountings found
and applied), ``load_models`` (the first one imports torch), ``resample`` (100 Hz to
each model's rate and back, when they differ: the knee CNN runs at 100 Hz, the other shipped models
at 200 Hz), ``models`` (the networks, windowed), ``write`` (CSVs and ``.mot``), ``plot``, and
``other`` (the rest of the wall-clock time: interpreter start, imports, the report, exit).

The recording is simulated once (``simulate_corpus``, one subject) and written both as
an ``.h5`` file and as a folder of CSVs (``pelvis.csv, rthigh.csv, ...`` with
``time_s,acc_x,...,gyr_z``); whichever :func:`imukin.load_recording` reads faster is
the one the predict runs get. ``--profile`` then runs the all-joint CNN prediction
under cProfile and prints where the time goes. ``--compare-src OLD/src`` also runs the
three predictions from another source tree (e.g. an older checkout's ``src``) in the
same run, for a before/after comparison that shares the machine's load.

Timings on a shared machine are noisy: compare the ratios to the plain pass measured in
the same run (the plain passes are timed twice, the faster counts), and repeat the run.

Run: ``.venv/bin/python benchmarks/inference_speed.py`` (several minutes on 2 cores,
of which simulating the hour is about a third); ``--minutes 5`` for a quick check.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
FS = 100.0  # Hz, the recording's rate
TARGETS = {"ratio": 2.0, "all_joints_s": 30.0, "peak_mb": 1024.0, "transformer_rt": 1000.0}


# ---------------------------------------------------------------- the recording
def simulate_recording(folder: Path, minutes: float) -> tuple[Path, Path]:
    """One simulated walking subject as ``rec.h5`` and as a CSV folder ``csv/``; their paths."""
    from imukin.conventions import SEGMENTS
    from imukin.io.job_h5 import write_dataset
    from imukin.simulation.corpus import CorpusConfig, corpus_attrs, simulate_corpus

    cfg = CorpusConfig(activity="walking", n_subjects=1, duration_s=60.0 * minutes, fs=FS)
    rec = next(iter(simulate_corpus(cfg, workers=1)))
    h5 = write_dataset(folder / "rec.h5", [rec], attrs=corpus_attrs(cfg))
    csv = folder / "csv"
    csv.mkdir()
    t = np.arange(len(rec.acc[SEGMENTS[0]])) / FS
    for seg in SEGMENTS:
        np.savetxt(csv / f"{seg}.csv", np.column_stack([t, rec.acc[seg], rec.gyr[seg]]), delimiter=",",
                   fmt="%.6f", header="time_s,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z", comments="")
    return h5, csv


def fastest_form(paths: list[Path]) -> tuple[Path, dict[str, float]]:
    """The form :func:`imukin.load_recording` reads fastest, and the seconds each took."""
    import imukin

    took = {}
    for p in paths:
        t0 = time.perf_counter()
        imukin.load_recording(p, fs=FS)
        took[p.name] = time.perf_counter() - t0
    return min(paths, key=lambda p: took[p.name]), took


# ---------------------------------------------------------------- measurements
def run_predict(rec: Path, out: Path, model: str, extra: list[str], profile: Path | None = None,
                src: Path | None = None) -> tuple[float, float]:
    """Whole-process ``imukin predict``: (seconds, peak resident MB of the child).

    ``src``: run the ``imukin`` package found in that folder instead of the installed one.
    """
    env = None
    if src is not None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable]
    if profile is not None:
        cmd += ["-m", "cProfile", "-o", str(profile)]
    cmd += ["-m", "imukin", "predict", str(rec), "--fs", f"{FS:g}", "--out", str(out), "--quiet", "--model", model,
            *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = _watch_peak(proc.pid)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"imukin predict failed ({proc.returncode}): {err.strip()}")
    # ru_maxrss of a child counts the address space it was forked from (this process's, which the
    # plain passes make large) until its exec, so the child's own high-water mark (VmHWM) is used
    # where /proc has it.
    return seconds, (peak[0] if peak[0] else usage.ru_maxrss) / 1024.0


def _watch_peak(pid: int) -> list[int]:
    """Poll /proc/<pid>/status every 20 ms in a thread; [largest VmHWM in KiB seen] (0 without /proc)."""
    import threading

    peak = [0]

    def poll() -> None:
        while True:
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                return
            if _exited(pid):
                return
            time.sleep(0.02)

    threading.Thread(target=poll, daemon=True).start()
    return peak


def _exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # zombie: exited, not yet reaped
    except OSError:
        return True


def model_fs() -> float:
    """Hz the shipped walking knee CNN (the ``rknee only`` run's model) runs at, from its model.json."""
    from imukin.io.model_folder import read_checkpoint_info
    from imukin.pretrained import pretrained_path

    return float(read_checkpoint_info(pretrained_path("knee", "walking", "cnn"))["meta"]["fs"])


def plain_cnn_pass(n_frames: int, repeats: int = 2) -> float:
    """Seconds of one forward pass of the reference-size CNN over (1, n_frames, 16), the fastest of ``repeats``."""
    from imukin.models import create_model

    torch.manual_seed(0)
    model = create_model("cnn", in_channels=16, n_layers=3, channels=70, kernel_size=41).eval()
    x = torch.randn(1, n_frames, 16)
    best = float("inf")
    with torch.no_grad():
        model(x[:, :2000])  # warm-up (allocator, kernels)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - t0)
    return best


#: The libraries a whole-process ``imukin predict`` cannot do without: the networks, the filters and
#: resampling of the alignment and rate handling, the HDF5 reader and the plots.
FLOOR_IMPORTS = "import torch, scipy.signal, h5py, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot"


def import_floor(repeats: int = 3) -> float:
    """Seconds of a fresh interpreter that only imports :data:`FLOOR_IMPORTS` and exits, the fastest of
    ``repeats``: the part of every ``imukin predict`` run that no change to imukin can remove."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", FLOOR_IMPORTS], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def onnx_runtime(folder: Path, span_s: float) -> dict[str, float]:
    """Seconds of ONNX Runtime on ``span_s`` of (T, 16) input at each model's rate: the knee CNN in one pass,
    the knee transformer windowed."""
    import onnxruntime as ort

    from imukin.export import export_run
    from imukin.inference import inference_windowing, predict_windows
    from imukin.predictor import TrainedRun
    from imukin.pretrained import PRETRAINED_DIR

    took = {}
    for name in ("walking_knee_cnn", "walking_knee_transformer"):
        path = folder / f"{name}.onnx"
        export_run(PRETRAINED_DIR / name, path)
        run = TrainedRun(PRETRAINED_DIR / name)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        z = np.random.default_rng(0).standard_normal((int(span_s * run.fs), 16)).astype(np.float32)
        x = z * run.norm.x_std + run.norm.x_mean  # raw channels: the model's input units
        sess.run(None, {"imu": x[None, :2000]})  # warm-up
        t0 = time.perf_counter()
        if run.model.receptive_field:
            sess.run(None, {"imu": x[None]})
        else:
            predict_windows(lambda b, sess=sess: torch.from_numpy(sess.run(None, {"imu": b.numpy()})[0]), x,
                            **inference_windowing(run.model, run.window))
        took[name] = time.perf_counter() - t0
    return took


# ---------------------------------------------------------------- report
def print_table(rows: list[tuple], span_s: float) -> None:
    head = ("what", "seconds", "x real time", "peak MB", "vs plain pass", "target", "met")
    widths = (74, 8, 11, 7, 13, 26, 4)
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-|-".join("-" * w for w in widths))
    for what, sec, peak, ratio, target, ok in rows:
        cells = (what, f"{sec:.2f}", f"{span_s / sec:.0f}", "" if peak is None else f"{peak:.0f}",
                 "" if ratio is None else f"{ratio:.2f}x", target, "" if ok is None else ("yes" if ok else "NO"))
        print(" | ".join(str(c).ljust(w) for c, w in zip(cells, widths)))


STAGES = ("read", "align", "load_models", "resample", "models", "calibrate", "write", "plot")


def stage_times(out: Path) -> dict[str, float] | None:
    """Seconds per stage of one ``imukin predict`` run (``timings_s`` of its report), or None if it has none."""
    try:
        return json.loads((out / "report.json").read_text()).get("timings_s")
    except (OSError, ValueError):
        return None


def print_stages(runs: list[tuple[str, float, dict | None]]) -> None:
    """Per run: seconds per stage and ``other`` (start, imports, report, exit)."""
    stages = [s for s in STAGES if any(t and t.get(s) for _, _, t in runs)]
    head = ("run", *stages, "other", "total")
    widths = (40, *[max(8, len(s)) for s in stages], 7, 7)
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("-|-".join("-" * w for w in widths))
    for what, total, t in runs:
        if not t:
            print(" | ".join([what.ljust(widths[0]), "(no stage timings in report.json)"]))
            continue
        other = total - sum(t.get(s, 0.0) for s in STAGES)
        cells = (what, *[f"{t.get(s, 0.0):.2f}" for s in stages], f"{other:.2f}", f"{total:.2f}")
        print(" | ".join(str(c).ljust(w) for c, w in zip(cells, widths)))


def profile_summary(prof: Path, n: int = 18) -> str:
    """The top of a cProfile dump, by cumulative and by own time."""
    out = io.StringIO()
    stats = pstats.Stats(str(prof), stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(n)
    stats.sort_stats("tottime").print_stats(n)
    return out.getvalue()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the simulated recording (default 60)")
    ap.add_argument("--profile", action="store_true", help="also profile the all-joint CNN prediction (cProfile)")
    ap.add_argument("--work", type=Path, help="folder for the recording and outputs (default: a temporary one)")
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime rows")
    ap.add_argument("--compare-src", type=Path, help="also run the predictions from this source folder (the one "
                    "holding the imukin package, e.g. an older checkout's src) for a before/after comparison")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="imukin_speed_")) if args.work is None else args.work
    work.mkdir(parents=True, exist_ok=True)
    try:
        span_s = 60.0 * args.minutes
        t0 = time.perf_counter()
        h5, csv = ((work / "rec.h5", work / "csv") if (work / "rec.h5").exists()
                   else simulate_recording(work, args.minutes))
        sim_s = time.perf_counter() - t0
        rec, load_s = fastest_form([h5, csv])
        print(f"recording: 7 sensors, {args.minutes:g} min at {FS:g} Hz, simulated in {sim_s:.0f} s; "
              f"load_recording: " + ", ".join(f"{k} {v:.2f} s" for k, v in load_s.items()) + f" -> {rec.name}")
        print(f"cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}")

        fs_model = model_fs()
        n100, n_model = int(span_s * FS), int(span_s * fs_model)
        resampled = n_model != n100  # the knee CNN runs at another rate than the recording's
        plain100 = plain_cnn_pass(n100)
        plain_model = plain_cnn_pass(n_model) if resampled else None
        print(f"knee CNN at {fs_model:g} Hz; plain pass: {plain100:.2f} s at {FS:g} Hz"
              + (f", {plain_model:.2f} s at {fs_model:g} Hz" if resampled else ""), flush=True)
        predicts = [("cnn, rknee only", "cnn", ["--joints", "knee", "--side", "right"]),
                    ("cnn, 6 joints", "cnn", []), ("transformer, 6 joints", "transformer", []),
                    ("both, 6 joints", "both", [])]
        done = {}  # (tree, label) -> (seconds, peak MB, stage timings)
        trees = [("", None)] + ([("before: ", args.compare_src)] if args.compare_src else [])
        for prefix, src in trees:
            for label, model, extra in predicts:
                out = work / f"out_{'old_' if src else ''}{label.replace(' ', '_').replace(',', '')}"
                sec, mb = run_predict(rec, out, model, extra, src=src)
                done[prefix, label] = (sec, mb, stage_times(out))
                print(f"  {prefix}imukin predict --model {label}: {sec:.2f} s, {mb:.0f} MB", flush=True)
        ok_mb = lambda mb: mb < TARGETS["peak_mb"]  # noqa: E731
        floor = import_floor()
        rows = [
            (f"plain PyTorch CNN 3x70 k41, one pass, {n100} frames ({FS:g} Hz)", plain100, None, 1.0, "", None),
            ("interpreter start + imports only (torch, scipy.signal, h5py, matplotlib)", floor, None,
             floor / plain100, "", None),
        ]
        if resampled:
            rows.append((f"plain PyTorch CNN 3x70 k41, one pass, {n_model} frames ({fs_model:g} Hz)", plain_model,
                         None, plain_model / plain100, "", None))
        if not args.no_onnx:
            try:
                ort_s = onnx_runtime(work, span_s)
            except Exception as e:  # noqa: BLE001 -- an optional comparison must not lose the measurements
                print(f"ONNX Runtime rows skipped: {type(e).__name__}: {e}")
            else:
                rows += [(f"ONNX Runtime walking_knee_cnn, one pass, {n_model} frames", ort_s["walking_knee_cnn"], None,
                          ort_s["walking_knee_cnn"] / plain100, "", None),
                         ("ONNX Runtime walking_knee_transformer, windowed",
                          ort_s["walking_knee_transformer"], None, ort_s["walking_knee_transformer"] / plain100, "",
                          None)]
        for prefix, _ in trees:
            one, one_mb, _ = done[prefix, "cnn, rknee only"]
            cnn, cnn_mb, _ = done[prefix, "cnn, 6 joints"]
            tf, tf_mb, _ = done[prefix, "transformer, 6 joints"]
            both, both_mb, _ = done[prefix, "both, 6 joints"]
            rows += [
                (f"{prefix}imukin predict --model cnn, rknee only (whole process)", one, one_mb, one / plain100,
                 "<= 2x plain pass; < 1 GB", one / plain100 <= TARGETS["ratio"] and ok_mb(one_mb)),
                (f"{prefix}imukin predict --model cnn, 6 joints (whole process)", cnn, cnn_mb, cnn / plain100,
                 "< 30 s; < 1 GB", cnn < TARGETS["all_joints_s"] and ok_mb(cnn_mb)),
                (f"{prefix}imukin predict --model transformer, 6 joints (whole process)", tf, tf_mb, tf / plain100,
                 ">= 1000x real time; < 1 GB", span_s / tf >= TARGETS["transformer_rt"] and ok_mb(tf_mb)),
                (f"{prefix}imukin predict --model both, 6 joints (whole process)", both, both_mb, both / plain100,
                 "", None),
            ]
        print()
        print_table(rows, span_s)
        one = done["", "cnn, rknee only"][0]
        if resampled:
            print(f"\nrknee only vs the plain pass at the models' {fs_model:g} Hz: {one / plain_model:.2f}x")
        one_model = done["", "cnn, rknee only"][2] or {}
        print(f"\nrknee only: the import floor ({floor:.2f} s) plus the plain pass is {floor + plain100:.2f} s = "
              f"{(floor + plain100) / plain100:.2f}x the plain pass before reading, aligning, writing or plotting "
              f"anything; its own network stage took {one_model.get('models', float('nan')):.2f} s")
        print("\nStages of each imukin predict run (seconds; 'other' = interpreter start, imports, report, exit):")
        print_stages([(f"{prefix}{label}", sec, t) for (prefix, label), (sec, _, t) in done.items()])
        if args.profile:
            prof = work / "predict_cnn.prof"
            secs, _ = run_predict(rec, work / "out_prof", "cnn", [], profile=prof)
            print(f"\ncProfile of imukin predict --model cnn, 6 joints ({secs:.1f} s under the profiler):")
            print(profile_summary(prof))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
