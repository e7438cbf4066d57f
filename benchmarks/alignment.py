"""How well the automatic sensor-to-segment alignment works without standing.

Prints one table (plain text) with three parts:

1. **Simulated people** (held-out seed, walking and running): every one of the seven
   sensors gets a uniformly random mounting ``R`` (``scipy Rotation.random``), the
   alignment sees the rotated signals only (no standing: the simulator has none),
   and the shipped CNN's angles after auto alignment are compared with its angles
   on the same recording with the true mounting undone.

   *What "true mounting" means here.* The simulator draws its own mounting error per
   sensor (:func:`imukin.simulation.sensor_errors.draw_mounting`, ~10 deg, stored only
   inside ``rmat = R_segment @ R_tissue(t) @ R_mount``; records carry no segment
   orientation). This benchmark switches that draw off (``mount_sd_deg=0``; the
   random stream is consumed the same way, so the people, soft tissue and electronic
   errors are unchanged), so each record's sensor frame is its segment frame up to the
   zero-mean soft-tissue wobble. The benchmark's random ``R`` is then the whole true
   mounting: ``v_segment = R @ v_sensor``; "undone" = the record's signals as simulated.
   Axis errors are the angles between the estimated and true segment x, y, z axes.
   ``--slow`` simulates slow, clinical walkers (0.3-0.6 m/s) instead, walking only.

2. **Kuopio, standing cut off** (real, ``../shared/data/real/kuopio``, trial l_comf_01,
   100 Hz): the first 2.5 s and last 1.2 s dropped; the gait-only alignment against the
   alignment of the whole trial as ``imukin predict`` makes it (its standing period; the
   pelvis at the anterior tilt the models learnt, :func:`imukin.api.align_config`), both
   predicted on the same cut signals; flexion mean absolute difference. A second column
   takes the whole trial's pelvis level in standing instead (``pelvis_vertical="standing"``).

3. **Kuopio, 1.5 s pieces**: the cut trial in non-overlapping 1.5 s pieces, each aligned
   and predicted on its own, against the whole-trial prediction (whole-trial alignment
   with standing) on the same frames.

4. **Kuopio, walking that stops**: only the first 2.5 s dropped, so the one standing left
   is the final one, after the walk stops (``(c)`` in the table); its alignment against
   the whole trial's, predicted on the cut frames of part 2.

For part 2 it also prints how close each of the two predictions comes to the trial's marker
reference (offset-removed flexion RMSE on the cut frames the markers see, the reference of
``benchmarks/real_imu.py``): which of the two alignments is nearer the truth, not only how far
apart they are.

No constant of :mod:`imukin.preprocessing.align` was fitted to the Kuopio trial.

Run: ``.venv/bin/python benchmarks/alignment.py`` (about 2-4 min on 2 cores).
"""
from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from imukin.api import align_config
from imukin.argtypes import add_option
from imukin.conventions import JOINT_TYPES, SEGMENT_TYPES, joint_name, joint_segments
from imukin.errors import ImukinError
from imukin.evaluation.metrics import sequence_metrics
from imukin.predictor import AnglePredictor
from imukin.preprocessing.align import AlignConfig, align_segment, angle_errors_deg, apply_alignment, leg_signs
from imukin.simulation.corpus import CorpusConfig, simulate_corpus
from imukin.simulation.sensor_errors import SensorErrorConfig

KUOPIO = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "kuopio"
KUOPIO_MAP = {"00B42DA3": "pelvis", "00B42DA2": "rthigh", "00B42DAE": "rshank", "00B42D48": "rfoot",
              "00B42D4D": "lthigh", "00B42D53": "lshank", "00B42D4E": "lfoot"}
AXES = ("flex", "add", "rot")
SLOW_WALKING_M_S = (0.3, 0.6)  # --slow: older adults and patients walk at 0.3-0.6 m/s


def _align_all(acc: dict, gyr: dict, fs: float, activity: str, cfg: AlignConfig | None = None) -> dict:
    """{segment name: SegmentAlignment or the error message}."""
    out = {}
    for name in acc:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out[name] = align_segment(acc[name], gyr[name], fs, name, cfg=cfg, activity=activity)
            except ImukinError as e:
                out[name] = str(e)
    found = {k: v for k, v in out.items() if not isinstance(v, str)}
    leg_signs(found, gyr, fs, activity, cfg)  # as imukin predict: each leg's segments agree
    return out


def _predict_all(models: dict, acc: dict, gyr: dict, fs: float, r_mount: dict | None = None) -> dict:
    """{(joint, side): (T, 3) deg} for the six joints; ``r_mount`` rotates the signals first."""
    out = {}
    for joint, model in models.items():
        for side in ("right", "left"):
            s1, s2 = joint_segments(joint, side)
            sig = []
            for s in (s1, s2):
                a, g = acc[s], gyr[s]
                if r_mount is not None:
                    a, g = apply_alignment(a, g, r_mount[s])
                sig += [a, g]
            out[(joint, side)] = model.predict(*sig, side=side, fs=fs)
    return out


def simulated(args, models_by_act: dict) -> list[str]:
    lines = []
    for activity in ("walking",) if args.slow else ("walking", "running"):
        cfg = CorpusConfig(activity=activity, n_subjects=args.subjects, duration_s=args.duration_s,
                           seed=args.seed, fs=args.fs, errors=replace(SensorErrorConfig(), mount_sd_deg=0.0),
                           speed_range_m_s=SLOW_WALKING_M_S if args.slow else None)
        rng = np.random.default_rng(args.seed)
        diffs = {j: [] for j in JOINT_TYPES}  # per joint: (3,) MAE per side and person
        axis_err = {s: [] for s in SEGMENT_TYPES}
        piece_err = {s: [] for s in SEGMENT_TYPES}
        conf = {s: [] for s in SEGMENT_TYPES}
        flips, n_al = 0, 0
        for rec in simulate_corpus(cfg, workers=args.workers):
            r_true = {s: Rotation.random(random_state=rng).as_matrix() for s in rec.acc}
            acc = {s: rec.acc[s] @ r_true[s] for s in rec.acc}  # v_new = R^T v_seg, row form v @ R
            gyr = {s: rec.gyr[s] @ r_true[s] for s in rec.gyr}
            al = _align_all(acc, gyr, args.fs, activity)
            bad = [s for s, a in al.items() if isinstance(a, str)]
            if bad:
                lines.append(f"  {activity} {rec.subject_id}: alignment failed for {bad}: {al[bad[0]]}")
                continue
            for s, a in al.items():
                e = angle_errors_deg(a.r_mount, r_true[s])
                axis_err[s.lstrip("rl") if s != "pelvis" else s].append(e)
                conf[s.lstrip("rl") if s != "pelvis" else s].append(a.confidence)
                flips += int(e[0] > 90.0)
                n_al += 1
            ref = _predict_all(models_by_act[activity], rec.acc, rec.gyr, args.fs)
            est = _predict_all(models_by_act[activity], acc, gyr, args.fs, {s: a.r_mount for s, a in al.items()})
            for (joint, side), y in ref.items():
                diffs[joint].append(np.abs(est[(joint, side)] - y).mean(axis=0))
            n_p = int(round(1.5 * args.fs))  # 1.5 s pieces: axis errors only (a few per sensor)
            n = len(next(iter(acc.values())))
            for start in range(0, n - n_p + 1, max(n_p, n // 4)):  # every sensor on the same piece, as predict
                al_p = _align_all({s: v[start:start + n_p] for s, v in acc.items()},
                                  {s: v[start:start + n_p] for s, v in gyr.items()}, args.fs, activity)
                for s, a in al_p.items():
                    typ = s.lstrip("rl") if s != "pelvis" else s
                    piece_err[typ].append(np.full(3, np.nan) if isinstance(a, str)
                                          else angle_errors_deg(a.r_mount, r_true[s]))
        lines.append(f"Simulated {activity}: {args.subjects} people x {args.duration_s:g} s, seed {args.seed}, "
                     f"uniformly random mountings, no standing; {flips}/{n_al} sensors with the anterior axis "
                     "more than 90 deg off")
        lines.append(f"  {'joint':8s} {'MAE flex':>9s} {'MAE add':>8s} {'MAE rot':>8s}   (deg, CNN after auto "
                     "alignment vs true mounting undone; target <= 1)")
        for joint, d in diffs.items():
            m = np.mean(d, axis=0) if d else np.full(3, np.nan)
            lines.append(f"  {joint:8s} {m[0]:9.2f} {m[1]:8.2f} {m[2]:8.2f}   "
                         f"{'ok' if np.all(m <= 1.0) else 'MISSED'}")
        lines.append(f"  {'segment':8s} {'x err':>9s} {'y err':>8s} {'z err':>8s} {'p90 max':>8s} "
                     f"{'conf':>6s}   | 1.5 s pieces: {'x':>5s} {'y':>5s} {'z':>5s} {'failed':>6s}  (deg, mean)")
        for s in SEGMENT_TYPES:
            e = np.array(axis_err[s])
            p = np.array(piece_err[s])
            ok = np.all(np.isfinite(p), axis=1)
            pm = np.nanmedian(p[ok], axis=0) if ok.any() else np.full(3, np.nan)
            pm = p[ok].mean(axis=0) if ok.any() else pm
            lines.append(f"  {s:8s} {e[:, 0].mean():9.1f} {e[:, 1].mean():8.1f} {e[:, 2].mean():8.1f} "
                         f"{np.percentile(e.max(axis=1), 90):8.1f} {np.mean(conf[s]):6.2f}   |"
                         f"               {pm[0]:5.1f} {pm[1]:5.1f} {pm[2]:5.1f} {int((~ok).sum()):3d}/{len(p)}")
    return lines


def marker_angles(gyr: dict, fs: float, n: int):
    """The Kuopio trial's reference angles from its marker clusters, on the IMU timeline (as real_imu.py)."""
    from imukin.evaluation.marker_reference import reference_angles
    from imukin.simulation.markers import read_marker_file

    return reference_angles(read_marker_file(KUOPIO / "l_comf_01_markers.trc"), gyr, fs, n)


def kuopio(args, models: dict) -> list[str]:
    from imukin.io.imu_csv import read_imu_csv

    acc, gyr = {}, {}
    for dev, name in KUOPIO_MAP.items():
        rec = read_imu_csv(next(KUOPIO.glob(f"*_{dev}.txt")))[0]
        acc[name], gyr[name] = rec.acc, rec.gyr
    fs = 100.0
    n = min(len(a) for a in acc.values())
    acc = {k: v[:n] for k, v in acc.items()}
    gyr = {k: v[:n] for k, v in gyr.items()}
    lines = []
    # with its standing period, as imukin predict aligns it (the pelvis at the anterior tilt the models learnt)
    full = _align_all(acc, gyr, fs, "walking", align_config())
    full_level = _align_all(acc, gyr, fs, "walking", replace(align_config(), pelvis_vertical="standing"))
    bad = [s for s, a in full.items() if isinstance(a, str)]
    if bad:
        return [f"Kuopio: whole-trial alignment failed for {bad}: {full[bad[0]]}"]
    c0, c1 = int(round(2.5 * fs)), n - int(round(1.2 * fs))
    cut_a = {k: v[c0:c1] for k, v in acc.items()}
    cut_g = {k: v[c0:c1] for k, v in gyr.items()}
    cut = _align_all(cut_a, cut_g, fs, "walking", align_config())
    lines.append(f"Kuopio l_comf_01 (real, 100 Hz, {n} frames); whole trial aligned with standing (rule, "
                 "confidence) vs cut trial (frames %d-%d) without standing:" % (c0, c1))
    for s in acc:
        a, b = full[s], cut[s]
        if isinstance(b, str):
            lines.append(f"  {s:7s} {a.sign_rule:6s} {a.confidence:4.2f} | cut: FAILED {b}")
            continue
        e = angle_errors_deg(b.r_mount, a.r_mount)
        eg = angle_errors_deg(b.r_mount, full_level[s].r_mount)
        lines.append(f"  {s:7s} {a.sign_rule:6s} {a.confidence:4.2f} | cut: conf {b.confidence:4.2f}, axes x/y/z "
                     f"{e[0]:5.1f} {e[1]:5.1f} {e[2]:5.1f} deg from the standing alignment"
                     + (f" ({eg[0]:.1f} {eg[1]:.1f} {eg[2]:.1f} from a level pelvis)" if s == "pelvis" else ""))
    # (c) walking that stops: the start cut off, the final standing kept
    stop = _align_all({k: v[c0:] for k, v in acc.items()}, {k: v[c0:] for k, v in gyr.items()}, fs, "walking",
                      align_config())
    lines.append(f"  walking that stops (frames {c0}-{n}, the final standing kept; rule, frames of the standing "
                 "used, axes x/y/z from the standing alignment):")
    for s in acc:
        b = stop[s]
        if isinstance(b, str):
            lines.append(f"  {s:7s} stop: FAILED {b}")
            continue
        e = angle_errors_deg(b.r_mount, full[s].r_mount)
        st = "-" if b.still_frames == (0, 0) else f"{b.still_frames[0] + c0}-{b.still_frames[1] + c0}"
        lines.append(f"  {s:7s} stop: {b.sign_rule:14s} {st:9s} {e[0]:5.1f} {e[1]:5.1f} {e[2]:5.1f} deg")
    if any(isinstance(b, str) for b in (*cut.values(), *stop.values())):
        return lines
    ref = _predict_all(models, cut_a, cut_g, fs, {s: a.r_mount for s, a in full.items()})
    ref_level = _predict_all(models, cut_a, cut_g, fs, {s: a.r_mount for s, a in full_level.items()})
    est = _predict_all(models, cut_a, cut_g, fs, {s: a.r_mount for s, a in cut.items()})
    est_stop = _predict_all(models, cut_a, cut_g, fs, {s: a.r_mount for s, a in stop.items()})  # same frames
    whole = _predict_all(models, acc, gyr, fs, {s: a.r_mount for s, a in full.items()})
    n_p = int(round(1.5 * fs))
    piece = {k: np.full((c1 - c0, 3), np.nan) for k in whole}
    failed, n_pieces = 0, 0
    for start in range(c0, c1 - n_p + 1, n_p):
        pa = {k: v[start:start + n_p] for k, v in acc.items()}
        pg = {k: v[start:start + n_p] for k, v in gyr.items()}
        al = _align_all(pa, pg, fs, "walking", align_config())
        n_pieces += 1
        if any(isinstance(a, str) for a in al.values()):
            failed += 1
            continue
        y = _predict_all(models, pa, pg, fs, {s: a.r_mount for s, a in al.items()})
        for k in y:
            piece[k][start - c0:start - c0 + n_p] = y[k]
    markers = marker_angles(gyr, fs, n)
    lines.append(f"  {'joint':7s} {'(a) cut vs standing':>20s} {'(a) level-pelvis ref':>25s} "
                 f"{'(b) 1.5 s pieces vs whole':>26s} {'(c) stop vs standing':>21s}   flexion MAE, deg "
                 "(targets 1.0 / 1.5 / 1.0) | vs markers: standing / cut / stop (RMSE)")
    for joint, side in ref:
        key = (joint, side)
        da = np.abs(est[key][:, 0] - ref[key][:, 0]).mean()
        dc = np.abs(est_stop[key][:, 0] - ref[key][:, 0]).mean()
        dg = np.abs(est[key][:, 0] - ref_level[key][:, 0]).mean()
        w = whole[key][c0:c1, 0]
        ok = np.isfinite(piece[key][:, 0])
        db = np.abs(piece[key][ok, 0] - w[ok]).mean() if ok.any() else np.nan
        name = ("r" if side == "right" else "l") + joint
        m = markers.angles.get(joint_name(joint, side))
        vs = "-"
        if m is not None:
            mk, okm = m[c0:c1], markers.valid(joint_name(joint, side))[c0:c1]
            vs = " / ".join(f"{sequence_metrics(y[okm], mk[okm])['flexion']['rmse_offset_removed']:.2f}"
                            for y in (ref[key], est[key], est_stop[key]))
        verdict = (f"{'ok' if da <= 1.0 else 'MISSED'} / {'ok' if db <= 1.5 else 'MISSED'} / "
                   f"{'ok' if dc <= 1.0 else 'MISSED'}")
        lines.append(f"  {name:7s} {da:20.2f} {dg:25.2f} {db:26.2f} {dc:21.2f}   {verdict:47s}| {vs}")
    lines.append(f"  pieces: {n_pieces}, of which {failed} could not be aligned (left out of (b))")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=8, help="simulated people per activity")
    add_option(ap, "--duration-s", aliases=("--duration",), type=float, default=20.0,
               help="seconds per simulated person")
    ap.add_argument("--seed", type=int, default=31337, help="corpus seed (held out: the tables used 9001)")
    ap.add_argument("--fs", type=float, default=100.0, help="Hz of the simulated recordings")
    ap.add_argument("--workers", type=int, default=2, help="simulation processes")
    ap.add_argument("--slow", action="store_true",
                    help="simulated walkers at slow, clinical speeds (0.3-0.6 m/s) instead of the default 0.6-2.0; "
                         "no runners")
    ap.add_argument("--skip-sim", action="store_true", help="only the real Kuopio trial")
    ap.add_argument("--skip-real", action="store_true", help="only the simulated people")
    args = ap.parse_args(argv)
    t0 = time.time()
    models = {act: {j: AnglePredictor.pretrained(j, act, "cnn") for j in JOINT_TYPES} for act in ("walking", "running")}
    lines = []
    if not args.skip_sim:
        lines += simulated(args, models)
    if not args.skip_real:
        lines += kuopio(args, models["walking"])
    lines.append(f"({time.time() - t0:.0f} s)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
