"""Harmonization accuracy: sync error, alignment error and noise figures, in one table.

Simulated rows use sensors with known truth (offsets, drift, mountings, noise) from the
gait model of ``tests/preprocessing/motion.py``; real rows use the gaitmap foot IMUs
(204.8 Hz) and foot markers (100 Hz) recorded together.
Run: ``.venv/bin/python benchmarks/harmonization.py [--trials 20] [--gaitmap-dir DIR]``.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation, Slerp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the simulated recordings come from the test helpers

from imukin.io.imu_csv import read_imu_csv  # noqa: E402
from imukin.preprocessing.align import align_segment, angle_errors_deg  # noqa: E402
from imukin.preprocessing.equalize import equalize_noise, estimate_noise  # noqa: E402
from imukin.preprocessing.resample import resample_timestamped  # noqa: E402
from imukin.preprocessing.synchronize import (  # noqa: E402
    angular_velocity,
    marker_frames,
    sync_by_impact,
    sync_imu_imu,
    sync_imu_mocap,
)
from imukin.signal import lowpass, resample  # noqa: E402
from tests.preprocessing.motion import mounted_imu, standing_then_walking  # noqa: E402

SEGS = ("pelvis", "rthigh", "rshank", "rfoot", "lthigh", "lshank", "lfoot")


def _delayed(x, fs, delay_s, drift=0.0):
    t = np.arange(len(x)) / fs
    return CubicSpline(t, x, axis=0)(np.clip(t - delay_s - drift * t, 0.0, t[-1]))


def _stats(v) -> str:
    v = np.abs(np.asarray(v, float))
    return f"median {np.median(v):.3g}, max {v.max():.3g}"


def bench_sync(trials: int, rows: list) -> None:
    rng = np.random.default_rng(0)
    e_norm, e_drift_off, e_drift, e_tap = [], [], [], []
    for k in range(trials):
        poses = standing_then_walking(100 + k, stand_s=2.0, walk_s=14.0)
        fs = 100.0
        _, g1 = mounted_imu(poses, "rshank", np.eye(3), fs, rng=np.random.default_rng(k))
        _, g2 = mounted_imu(poses, "rshank", Rotation.random(random_state=k).as_matrix(), fs,
                            rng=np.random.default_rng(k + 1000))
        d = rng.uniform(-0.8, 0.8)
        e_norm.append(sync_imu_imu(g1, _delayed(g2, fs, d), fs, max_lag_s=1.0).offset_s - d)
        r = rng.uniform(-500e-6, 500e-6)
        res = sync_imu_imu(g1, _delayed(g2, fs, d, r), fs, max_lag_s=1.0, drift=True)
        e_drift_off.append(res.offset_s - d)
        e_drift.append(res.drift - r)
        fs2 = 200.0
        a1, _ = mounted_imu(poses, "rthigh", np.eye(3), fs2, rng=np.random.default_rng(k))
        a2, _ = mounted_imu(poses, "lfoot", Rotation.random(random_state=k + 7).as_matrix(), fs2,
                            rng=np.random.default_rng(k + 1))
        tap = np.exp(-0.5 * ((np.arange(len(a1)) / fs2 - 1.0) / 0.004) ** 2)[:, None] * np.array([30.0, -20, 10])
        a1 = a1 + tap
        a2 = _delayed(a2 + tap @ Rotation.random(random_state=k + 9).as_matrix(), fs2, abs(d))
        e_tap.append(sync_by_impact(a1, a2, fs2, search_x=(0, 1.9), search_y=(0, 1.9)).offset_s - abs(d))
    ms = lambda v: np.asarray(v) * 1e3  # noqa: E731
    rows.append(("sync", "IMU-IMU gyro-norm xcorr, offset +-0.8 s", f"sim, {trials} trials, 100 Hz",
                 f"error ms: {_stats(ms(e_norm))}", "< 2 ms (1/5 sample)"))
    rows.append(("sync", "... with clock drift +-500 ppm", f"sim, {trials} trials",
                 f"offset ms: {_stats(ms(e_drift_off))}; drift ppm: {_stats(np.asarray(e_drift) * 1e6)}", "-"))
    rows.append(("sync", "tap on thigh and foot sensors (impact)", f"sim, {trials} trials, 200 Hz",
                 f"error ms: {_stats(ms(e_tap))}", "< 2 ms"))


def bench_sync_real(imu: dict, markers: dict, rows: list) -> None:
    for side in ("left", "right"):
        r = sync_imu_mocap(imu[side].gyr, 204.8, markers[side], 100.0, drift=True)
        rows.append(("sync", f"IMU vs foot markers, {side} (204.8 vs 100 Hz)", "gaitmap real",
                     f"offset {r.sync.offset_s * 1e3:+.2f} ms, drift {r.sync.drift_ppm:+.0f} ppm, corr "
                     f"{r.sync.corr:.3f}, conf {r.sync.confidence:.2f}; "
                     f"residual norm-of-w RMS {r.residual_norm_rms:.3f} "
                     f"rad/s ({100 * r.residual_norm_rms / r.norm_rms:.0f} % of its RMS {r.norm_rms:.2f}); "
                     f"3D after rotation fit {r.residual_vec_rms:.3f} rad/s", "files recorded in sync"))
        base = sync_imu_mocap(imu[side].gyr, 204.8, markers[side], 100.0).sync.offset_s
        t = np.arange(len(markers[side])) / 100.0
        errs = []
        for shift in (-0.3456, 0.0517, 0.1234, 0.7891):
            moved = Slerp(t, Rotation.from_matrix(markers[side]))(np.clip(t - shift, 0, t[-1])).as_matrix()
            errs.append(sync_imu_mocap(imu[side].gyr, 204.8, moved, 100.0).sync.offset_s - base - shift)
        rows.append(("sync", f"... markers delayed by known shifts, {side}", "gaitmap real",
                     f"error ms: {_stats(np.asarray(errs) * 1e3)}", "< 2 ms"))


def bench_align(trials: int, rows: list) -> None:
    for activity in ("walking", "running"):
        errs = []
        for k in range(trials):
            poses = standing_then_walking(200 + k, activity, stand_s=2.0, walk_s=7.0)
            for j, seg in enumerate(SEGS):
                r_true = Rotation.random(random_state=1000 * k + j).as_matrix()
                acc, gyr = mounted_imu(poses, seg, r_true, 100.0, rng=np.random.default_rng(k))
                errs.append(angle_errors_deg(align_segment(acc, gyr, 100.0, seg).r_mount, r_true))
        e = np.array(errs)  # (trials * 7, 3)
        rows.append(("align", f"random mountings, 7 segments, {activity}", f"sim, {len(e)} sensors",
                     f"deg per axis x/y/z: median {'/'.join(f'{v:.2f}' for v in np.median(e, 0))}, "
                     f"p95 {'/'.join(f'{v:.2f}' for v in np.percentile(e, 95, 0))}, "
                     f"max {'/'.join(f'{v:.2f}' for v in e.max(0))}", "< 5 deg per axis"))


def bench_align_real(imu: dict, markers: dict, rows: list) -> None:
    up = np.array([0.0, 0.0, 1.0])  # the gaitmap mocap lab is Z up
    cells = []
    for side in ("left", "right"):
        rec = imu[side]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            al = align_segment(rec.acc, rec.gyr, 204.8, "foot")
        w_m = lowpass(angular_velocity(markers[side], 100.0), 100.0, 12.0)
        w_g = resample(lowpass(rec.gyr, 204.8, 12.0), 204.8, 100.0)
        n = min(len(w_m), len(w_g))
        r_sm = Rotation.align_vectors(w_m[:n], w_g[:n])[0].as_matrix()  # sensor -> marker frame
        r_lab = markers[side][:60].mean(axis=0)
        x = r_lab @ r_sm @ al.r_mount[0]
        y = r_lab @ r_sm @ al.r_mount[1]
        hx = x - (x @ up) * up
        ht = r_lab[:, 0] - (r_lab[:, 0] @ up) * up
        head = np.degrees(np.arccos(np.clip(hx @ ht / np.linalg.norm(hx) / np.linalg.norm(ht), -1, 1)))
        vert = np.degrees(np.arccos(np.clip(y @ up, -1, 1)))
        cells.append(f"{side}: heading {head:.1f}, vertical {vert:.1f} deg ({al.sign_rule})")
    rows.append(("align", "foot sensors vs heel-toe marker line and lab vertical", "gaitmap real",
                 "; ".join(cells), "few deg (marker placement)"))


def bench_noise(imu: dict, rows: list) -> None:
    fs = 100.0
    rng = np.random.default_rng(5)
    dens = np.array([1.5e-3, 1.5e-3, 1.5e-3, *np.deg2rad([0.01, 0.01, 0.01])])

    def still(d, n=6000, seed=0):
        r = np.random.default_rng(seed)
        return (np.array([0, 9.81, 0]) + r.normal(0, 1, (n, 3)) * d[:3] * np.sqrt(fs),
                r.normal(0, 1, (n, 3)) * d[3:] * np.sqrt(fs))

    p = estimate_noise(*still(dens), fs)
    rows.append(("noise", "white-noise density estimate (60 s still)", "sim",
                 f"relative error: {_stats(p.density / dens - 1)}", "< 10 %"))
    target = estimate_noise(*still(dens * 4, seed=1), fs)
    _, _, rep = equalize_noise(*still(dens, seed=2), fs, target, rng=rng)
    rows.append(("noise", "cleaner -> 4x noisier target (noise added)", "sim",
                 f"hf_rms after/target: {_stats(rep.after.hf_rms / target.hf_rms)}; before/target "
                 f"{np.median(rep.before.hf_rms / target.hf_rms):.2f}", "1.0 +- 0.1"))
    target = estimate_noise(*still(dens * 0.6, seed=3), fs)
    _, _, rep = equalize_noise(*still(dens, seed=4), fs, target, rng=rng)
    rows.append(("noise", "noisier -> 0.6x target (low-pass)", "sim",
                 f"hf_rms after/target: {_stats(rep.after.hf_rms / target.hf_rms)}; cutoff "
                 f"{np.median([c for c in rep.cutoff_hz if c]):.1f} Hz", "1.0 +- 0.25"))
    for side in ("left", "right"):
        acc, gyr = resample(imu[side].acc, 204.8, fs), resample(imu[side].gyr, 204.8, fs)
        q = estimate_noise(acc, gyr, fs)
        rows.append(("noise", f"standing noise, {side} foot IMU at 100 Hz", "gaitmap real",
                     f"hf_rms acc {np.mean(q.hf_rms[:3]):.4f} m/s^2, gyr {np.mean(q.hf_rms[3:]):.5f} rad/s; density "
                     f"acc {np.mean(q.density[:3]) * 1e3:.2f} mm/s^2/rtHz, gyr "
                     f"{np.degrees(np.mean(q.density[3:])):.3f} deg/s/rtHz ({q.still_s:.2f} s still)", "-"))


def bench_resample(rows: list) -> None:
    fs_in, fs_out = 204.8, 100.0
    t = np.arange(8192) / fs_in
    y = resample(np.sin(2 * np.pi * 70.0 * t), fs_in, fs_out)
    alias = np.sqrt(np.mean(y[200:-200] ** 2)) / np.sqrt(0.5)
    rng = np.random.default_rng(0)
    k = np.arange(8192)
    t_true = k / fs_in * (1 + 200e-6)
    stamps = t_true + rng.uniform(-0.3, 0.3, len(k)) / fs_in
    keep = np.ones(len(k), bool)
    keep[4000:4010] = False
    out = resample_timestamped(stamps[keep], np.sin(2 * np.pi * 1.3 * t_true[keep]), 100.0, fs_nominal=fs_in)
    err = np.abs(out.x[:, 0] - np.sin(2 * np.pi * 1.3 * out.t))[100:-100].max()
    rows.append(("resample", "204.8 -> 100 Hz: 70 Hz tone left (would alias to 30 Hz)", "sim",
                 f"{20 * np.log10(max(alias, 1e-12)):.0f} dB", "< -40 dB"))
    rows.append(("resample", "jittered stamps (+-0.3 periods), 200 ppm slow, 10 dropped", "sim",
                 f"max error {err:.1e} (unit sine), fitted drift {out.timing.drift_ppm:+.0f} ppm", "-"))


def load_gaitmap(gm: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recs = read_imu_csv(gm / "imu_sample.csv", fs=204.8)
    imu = {r.name.split("_")[0]: r for r in recs}
    with open(gm / "mocap_sample.csv") as f:
        names, axes = f.readline().strip().split(","), f.readline().strip().split(",")
    data = np.loadtxt(gm / "mocap_sample.csv", delimiter=",", skiprows=2)
    col = {(n, a): i for i, (n, a) in enumerate(zip(names, axes))}
    mk = lambda n: data[:, [col[(n, a)] for a in "xyz"]] / 1000.0  # noqa: E731
    markers = {side: marker_frames(mk(f"{s}_FCC"), mk(f"{s}_TOE"), mk(f"{s}_FM5"))
               for side, s in (("left", "L"), ("right", "R"))}
    return imu, markers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20, help="simulated trials per row")
    ap.add_argument("--gaitmap-dir", type=Path, default=ROOT / "tests" / "data" / "real" / "gaitmap",
                    help="folder with imu_sample.csv and mocap_sample.csv")
    args = ap.parse_args()
    t0 = time.perf_counter()
    imu, markers = load_gaitmap(args.gaitmap_dir)
    rows: list[tuple] = []
    bench_sync(args.trials, rows)
    bench_sync_real(imu, markers, rows)
    bench_align(args.trials, rows)
    bench_align_real(imu, markers, rows)
    bench_noise(imu, rows)
    bench_resample(rows)
    dur = len(imu["left"].acc) / 204.8
    print(f"\nHarmonization benchmark ({args.trials} simulated trials per row; gaitmap recording {dur:.1f} s from "
          f"{args.gaitmap_dir}; {time.perf_counter() - t0:.0f} s)\n")
    print("| step | test | data | measured | criterion |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
