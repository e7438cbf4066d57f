"""Streaming (``imukin stream``): per-sample latency of the causal models and their accuracy against the offline ones.

Latency: the :class:`imukin.streaming.StreamingEngine` gets one sample every 10 ms (100 Hz, paced in
real time) on one thread (``torch.set_num_threads(1)``); the time from handing it the sample to
having every asked joint's angles back, p50 and p99 over ``--latency-s`` seconds after one second of
warming up. Each causal model alone (both legs of its joint), then all six joints together from
seven sensors. Target: p99 < 20 ms. Then the whole path over Lab Streaming Layer on the loopback: an
outlet here sends 7 sensors at 100 Hz, ``imukin stream`` (its own process) sends all six joints'
angles back, and the delay of each is ``pylsl.local_clock()`` at its arrival here minus the time
stamp of the sample it comes from (LSL transport both ways, the inlet, the engine, the outlet).

Accuracy: 12 held-out simulated people as ``benchmarks/accuracy.py --subjects 12 --duration-s 30``
simulates them (its seed 9001, never trained on; the same file in ``runs/benchmark``, simulated if not
there) resampled to 100 Hz as ``imukin finetune`` resamples; the causal models stream through the
engine (sensor frames as simulated, no mounting search, as the offline benchmark), the shipped
offline (two-sided) ``cnn`` runs on the same 100 Hz input (resampled to its own rate inside where that
is another, as ``imukin predict`` does). Offset-removed RMSE per axis against the simulated truth, each leg's
mean error removed, legs averaged per person, mean ± SD over people, on the frames after the
first ``--skip-s`` seconds of each trial (the causal model's start-up: its first 1.2 s see a
shorter history). Target: causal knee flexion within 0.5 deg of offline.

    .venv/bin/python benchmarks/streaming.py [--latency-s 20] [--skip-s 2]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from imukin.conventions import ANGLE_AXES, JOINT_NAMES, SEGMENTS, SIDES, joint_name
from imukin.evaluation.metrics import sequence_metrics
from imukin.io.job_h5 import file_attrs, iter_dataset
from imukin.predictor import AnglePredictor
from imukin.pretrained import pretrained_path, shipped_streaming_models
from imukin.streaming import StreamConfig, StreamingEngine

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the accuracy benchmark's held-out corpus
from accuracy import TEST_SEEDS, test_corpus  # noqa: E402

HELDOUT_PEOPLE, HELDOUT_S = 12, 30.0  # walking held-out people as benchmarks/accuracy.py --subjects 12 makes them
FS = 100.0
P99_TARGET_MS = 20.0
KNEE_FLEXION_TARGET_DEG = 0.5


def latency(joints: tuple, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, StreamingEngine]:
    """Milliseconds per sample (n,) of an engine on ``joints`` fed one sample every 1 / FS s, and the engine."""
    engine = StreamingEngine(StreamConfig(fs=FS, joints=joints, align="none"))
    n_ch = len(engine.input_channels)
    x = rng.normal(size=(int((seconds + 1) * FS), n_ch)).astype(np.float32)
    x[:, 1::6] += 9.81  # gravity on every sensor's y axis
    out = []
    t_next = time.perf_counter()
    for i in range(len(x)):
        t_next += 1.0 / FS
        t0 = time.perf_counter()
        y = engine.push(x[i])
        out.append(time.perf_counter() - t0)
        assert len(y) == 1
        pause = t_next - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    return 1e3 * np.asarray(out[int(FS):]), engine  # the first second left out (allocations, caches)


def lsl_round_trip(seconds: float, data: Path) -> np.ndarray:
    """Milliseconds (n,) from a sample's time stamp to the arrival of its angles from ``imukin stream``."""
    import os
    import subprocess
    import sys
    import tempfile
    import threading
    import uuid

    import pylsl

    from imukin.streaming import input_channels

    tag = uuid.uuid4().hex[:8]
    cfg = (f"[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {{127.0.0.1}}\n"
           f"SessionID = bench-{tag}\n[log]\nlevel = -3\n")  # this machine only, a session of its own
    cfg_file = Path(tempfile.mkdtemp()) / "lsl_api.cfg"
    cfg_file.write_text(cfg)
    pylsl.set_config_content(cfg)
    rec = next(iter_dataset(data, rmat=False))
    segs = list(SEGMENTS)
    x = np.concatenate([np.column_stack([rec.acc[s], rec.gyr[s]]) for s in segs], axis=1).astype(np.float32)
    n = min(len(x), int(seconds * FS))
    info = pylsl.StreamInfo(f"bench-imu-{tag}", "IMU", x.shape[1], FS, pylsl.cf_float32, f"bench-{tag}")
    chans = info.desc().append_child("channels")
    for c in input_channels(segs):
        chans.append_child("channel").append_child_value("label", c)
    outlet = pylsl.StreamOutlet(info)
    proc = subprocess.Popen([sys.executable, "-m", "imukin", "stream", "--lsl-name", f"bench-imu-{tag}", "--align",
                             "none", "--lsl-out", f"bench-angles-{tag}", "--duration-s", f"{n / FS:g}", "--quiet",
                             "--timeout-s", "60"], env={**os.environ, "LSLAPICFG": str(cfg_file)})
    try:
        if not outlet.wait_for_consumers(120):
            raise SystemExit("imukin stream did not connect to the benchmark's outlet")
        inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", f"bench-angles-{tag}", timeout=60)[0])
        inlet.open_stream(60)

        def send():
            t_next = time.perf_counter()
            for i in range(n):
                outlet.push_sample(x[i], pylsl.local_clock())
                t_next += 1.0 / FS
                time.sleep(max(0.0, t_next - time.perf_counter()))

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        delays = []
        t_end = time.time() + n / FS + 60
        while len(delays) < n and time.time() < t_end:
            sample, ts = inlet.pull_sample(timeout=0.5)
            if sample is not None:
                delays.append(pylsl.local_clock() - ts)
        sender.join()
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return 1e3 * np.asarray(delays[int(FS):])  # the first second left out


def heldout_100hz(workdir: Path) -> Path:
    """The held-out corpus at 100 Hz (anti-aliased; truth orientations slerped), cached in ``workdir``
    beside the accuracy benchmark's corpus (one folder per source file)."""
    from imukin.sources.mix import resampled_copy

    source = test_corpus("walking", HELDOUT_PEOPLE, HELDOUT_S, workdir.parent)
    return resampled_copy(source, workdir / source.stem, FS)


def accuracy(data: Path, skip_s: float, joints: tuple = JOINT_NAMES) -> dict:
    """Per joint and model ("offline", "causal"): per-person offset-removed RMSE (people, 3)."""
    fs = float(file_attrs(data)["fs"])
    skip = round(skip_s * fs)
    offline = {j: AnglePredictor(pretrained_path(j, "walking", "cnn")) for j in joints}
    res = {j: {"offline": [], "causal": []} for j in joints}
    for rec in iter_dataset(data, rmat=False):
        engine = StreamingEngine(StreamConfig(fs=fs, joints=joints, align="none"))
        x = np.concatenate([np.column_stack([rec.acc[s], rec.gyr[s]]) for s in engine.segments], axis=1)
        y = np.concatenate([engine.push(x[i:i + 50]).angles for i in range(0, len(x), 50)])  # (N, 18)
        for joint in joints:
            legs = {"offline": [], "causal": []}
            for side in SIDES:
                ref = rec.joint_angle(joint, side)
                c = engine.joints.index(joint_name(joint, side))
                preds = {"causal": y[:, 3 * c:3 * c + 3],
                         "offline": offline[joint].predict(*rec.joint_inputs(joint, side), side=side, fs=fs)}
                for kind, p in preds.items():
                    m = sequence_metrics(p[skip:], ref[skip:])
                    legs[kind].append([m[ax]["rmse_offset_removed"] for ax in ANGLE_AXES])
            for kind, values in legs.items():
                res[joint][kind].append(np.mean(values, axis=0))
    return {j: {k: np.asarray(v) for k, v in d.items()} for j, d in res.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--latency-s", type=float, default=20.0, help="seconds of 100 Hz samples per latency run")
    ap.add_argument("--skip-s", type=float, default=2.0, help="seconds at the start of each trial not scored")
    ap.add_argument("--workdir", type=Path, default=Path("runs/benchmark/streaming"))
    ap.add_argument("--joints", nargs="+", default=list(JOINT_NAMES), choices=JOINT_NAMES)
    args = ap.parse_args()
    torch.set_num_threads(1)
    joints = tuple(j for j in JOINT_NAMES if j in args.joints)
    shipped = {j: shipped_streaming_models("walking", j) for j in joints}
    if not all(shipped.values()):
        raise SystemExit("the causal walking models are not shipped; build them (runs/causal/run.py, then "
                         "python -m imukin.training.pretrained --activities walking --models cnn_causal "
                         "--workdir runs/causal --export-only)")
    rng = np.random.default_rng(0)
    print(f"\nPer-sample latency at {FS:g} Hz on one thread ({args.latency_s:g} s of samples, one at a time, paced "
          "in real time): from push to angles\n")
    print("| model | joints (legs) | receptive field | p50 ms | p99 ms | max ms | p99 < 20 ms |")
    print("|---|---|---|---|---|---|---|")
    runs = [((j,), shipped[j][0].name) for j in joints]
    if len(joints) > 1:
        runs.append((joints, "all three cnn_causal"))
    for asked, label in runs:
        ms, engine = latency(asked, args.latency_s, rng)
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"| {label} | {', '.join(engine.joints)} | {engine.receptive_field} frames "
              f"({(engine.receptive_field - 1) / FS:.2f} s) | {p50:.2f} | {p99:.2f} | {ms.max():.2f} | "
              f"{'met' if p99 < P99_TARGET_MS else 'missed'} |")

    args.workdir.mkdir(parents=True, exist_ok=True)
    data = heldout_100hz(args.workdir)
    if len(joints) == len(JOINT_NAMES):
        ms = lsl_round_trip(args.latency_s, data)
        p50, p99 = np.percentile(ms, [50, 99])
        print(f"| LSL loopback: outlet -> imukin stream -> inlet | all six | "
              f"| {p50:.2f} | {p99:.2f} | {ms.max():.2f} | "
              f"{'met' if p99 < P99_TARGET_MS else 'missed'} ({len(ms)} samples) |")
    res = accuracy(data, args.skip_s, joints)
    n = len(next(iter(res.values()))["offline"])
    print(f"\nAccuracy on {n} held-out simulated people (seed {TEST_SEEDS['walking']}, {HELDOUT_S:g} s each, "
          f"resampled to {FS:g} Hz, the first {args.skip_s:g} s of each trial not scored): offset-removed RMSE, "
          "deg, mean ± SD over people\n")
    print("| joint | axis | offline cnn (two-sided, shipped) | causal cnn_causal (streamed) "
          "| causal - offline | target |")
    print("|---|---|---|---|---|---|")
    for joint in joints:
        off, cau = res[joint]["offline"], res[joint]["causal"]
        for k, ax in enumerate(ANGLE_AXES):
            d = cau[:, k] - off[:, k]
            target = ""
            if joint == "knee" and ax == "flexion":
                target = f"{'met' if d.mean() <= KNEE_FLEXION_TARGET_DEG else 'missed'} (<= {KNEE_FLEXION_TARGET_DEG})"
            print(f"| {joint} | {ax} | {off[:, k].mean():.2f} ± {off[:, k].std():.2f} | {cau[:, k].mean():.2f} ± "
                  f"{cau[:, k].std():.2f} | {d.mean():+.2f} ± {d.std():.2f} | {target} |")


if __name__ == "__main__":
    main()
