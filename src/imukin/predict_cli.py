"""``imukin predict``: every joint angle from a person's own recording.

``imukin predict RECORDING`` reads a recording in any form :func:`imukin.load_recording`
knows (a folder of Xsens MT Manager, Movella DOT, Shimmer Consensys or generic CSV exports with a sensor
map or segment names, a multi-sensor CSV, an APDM Opal ``.h5``, a reference-layout or harmonized ``.h5``),
finds each sensor's mounting, predicts every joint of both legs that the sensors allow
with :func:`imukin.predict`, and writes into ``--out``: one CSV per joint
(``rknee.csv``: ``time_s,flexion_deg,adduction_deg,rotation_deg``), one OpenSim motion
file with every joint (``<name>.mot``, gait2392 coordinate names and signs), plots of
the whole recording (``overview.png``) and of a few strides (``zoom.png``), and a report
(``report.md``, ``report.json``: sensors, rate, mounting found, joints, warnings).

The older form ``imukin predict --root-path FOLDER --joint knee`` reads the reference
demo layout (``<Side>_seg1_acc.npy`` ...) and writes ``<side>_<joint>_angles.csv`` and
``.npy``, with ``<joint>_metrics.json`` and a plot where reference angles are present.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from imukin.argtypes import device
from imukin.conventions import ACTIVITIES, ANGLE_AXES, JOINT_NAMES, SIDES, SYNC_MODES, G, check_rate, rates_agree
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path, write_text_atomic
from imukin.io.paths import check_output_dir
from imukin.pretrained import BOTH, MODEL_CHOICES, pretrained_path

#: Length of the zoomed plot (s): a few strides.
ZOOM_S = 5.0


def add_commands(sub) -> None:
    """Register ``imukin predict``."""
    p = sub.add_parser("predict", help="predict every joint angle of a recording",
                       description="Every joint angle of a recording: reads any form imukin knows, finds each "
                                   "sensor's mounting, predicts every joint of both legs the sensors allow, and "
                                   "writes one CSV per joint, an OpenSim .mot, plots and a report.")
    p.add_argument("recording", nargs="?", type=Path,
                   help="folder of sensor files (Xsens, DOT, CSV), a multi-sensor CSV, an APDM Opal .h5, "
                        "or an .h5 dataset")
    p.add_argument("--root-path", type=Path, help="older form: a reference demo folder (Right_seg1_acc.npy ...) "
                   "of one joint (with --joint)")
    p.add_argument("--joints", nargs="+", choices=JOINT_NAMES,
                   help="only these joints (default: all the sensors allow)")
    p.add_argument("--joint", choices=JOINT_NAMES, help="one joint (the older form needs it)")
    p.add_argument("--side", choices=SIDES, help="one leg (default: both)")
    p.add_argument("--activity", default="walking", choices=ACTIVITIES)
    p.add_argument("--fs", type=float, help="sampling rate in Hz: required when the files carry no time stamps, "
                   "checked against them otherwise")
    p.add_argument("--sensors", type=Path, help="JSON/TOML file {segment: file, device id or sensor name}; default: "
                   "imukin.json, a myIMUMappings.xml, or the file names")
    p.add_argument("--subject", help="subject of a multi-subject .h5 file (e.g. s0003)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", default="cnn", choices=MODEL_CHOICES,
                     help="shipped angle network; both: the mean of the cnn's and the transformer's angles")
    src.add_argument("--run", type=Path, help="a trained run folder (one joint) instead of the shipped model")
    p.add_argument("--refine", action="store_true",
                   help="the optimisation stage (evaluate --method refined): fuse an orientation network with "
                        "the gyroscopes and blend (the shipped orientation model and blend by default; with --run, "
                        "also --ori-run)")
    p.add_argument("--ori-run", type=Path, help="orientation run (imukin train --target orientation) for --refine")
    p.add_argument("--acc-units", choices=("auto", "m/s^2", "g"), help="accelerometer units (default: from the "
                   "file, else detected; the older form: m/s^2)")
    p.add_argument("--gyr-units", choices=("auto", "rad/s", "deg/s"), help="gyroscope units (default: from the "
                   "file, else detected; the older form: rad/s)")
    p.add_argument("--align", choices=("auto", "none"),
                   help="auto (default): find each sensor's mounting from the recording, standing or not; none: "
                        "the sensors sit in their segments' frames (the older form's default)")
    p.add_argument("--mounting", type=Path, help="known mountings: the report.json of an earlier predict, or a JSON "
                   "file {segment: 3x3 matrix or {\"euler_zxy_deg\": [z, x, y]}}, v_segment = R v_sensor")
    p.add_argument("--calibrate", help="absolute angles from a pose held in the first quiet standing: 'standing' "
                   "(neutral, 0 deg) or a JSON file {joint: [flexion, adduction, rotation]}")
    p.add_argument("--sync", choices=SYNC_MODES, default="none",
                   help="sensors not sampled together: 'impact' shifts each onto the most proximal (the pelvis "
                        "first) by a jump (or taps on every sensor) in the first 15 s (default none: sampled together)")
    p.add_argument("--no-repair", action="store_true",
                   help="keep gyroscope channels cut flat at their range as recorded (default: their cut peaks are "
                        "put back as smooth curves through the samples either side)")
    p.add_argument("--out", type=Path, help="output folder (default: ./<recording name>_angles; the older form: "
                   "--root-path)")
    p.add_argument("--no-plots", action="store_true", help="skip the plots")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary lines")
    p.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:N or mps")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args) -> int:
    if args.fs is not None:
        check_rate(args.fs, "--fs")
    if args.root_path is not None:
        if args.recording is not None:
            raise ImukinError("give either a RECORDING or --root-path, not both")
        return _cmd_predict_demo_folder(args)
    if args.recording is None:
        raise ImukinError("name the recording to predict: imukin predict RECORDING (a folder or file); see "
                          "'imukin predict --help'")
    return _cmd_predict_recording(args)


def _cmd_predict_recording(args) -> int:
    import time

    import imukin
    from imukin.io.angle_files import write_joint_csv, write_mot

    t0 = time.perf_counter()
    rec = imukin.load_recording(args.recording, fs=args.fs, sensors=args.sensors, subject=args.subject,
                                joint=args.joint, acc_units=args.acc_units or "auto",
                                gyr_units=args.gyr_units or "auto", sync=args.sync)
    timings = {"read": time.perf_counter() - t0}
    joints = args.joints or ([args.joint] if args.joint else None)
    pred = imukin.predict(rec, joints=joints, sides=[args.side] if args.side else None, activity=args.activity,
                          model=args.model, align=args.align or "auto", mounting=args.mounting, refine=args.refine,
                          run=args.run, ori_run=args.ori_run, calibrate=args.calibrate, sync=args.sync,
                          repair_saturation=not args.no_repair, device=args.device, progress=not args.quiet)
    timings.update(pred.timings)
    out = check_output_dir(args.out or Path(f"{rec.name}_angles"))
    t = pred.t
    files = []
    t0 = time.perf_counter()
    for joint, a in pred.angles.items():
        files.append(write_joint_csv(out / f"{joint}.csv", t, a))
    files.append(write_mot(out / f"{rec.name}.mot", t, pred.angles))
    timings["write"] = time.perf_counter() - t0
    if not args.no_plots:
        t0 = time.perf_counter()
        from imukin.evaluation.plots import plot_recording_angles  # matplotlib only when plotting

        files.append(plot_recording_angles(out / "overview.png", t, pred.angles,
                                           title=f"{rec.name}: whole recording ({rec.duration_s:.1f} s)"))
        span = _zoom_span(pred)
        files.append(plot_recording_angles(out / "zoom.png", t, pred.angles, span_s=span,
                                           title=f"{rec.name}: {span[0]:.1f}-{span[1]:.1f} s"))
        if pred.sync:
            from imukin.evaluation.plots import plot_impact_sync

            files.append(plot_impact_sync(out / "sync.png", t, pred.recording.acc, pred.sync["impact_s"]))
        timings["plot"] = time.perf_counter() - t0
    report = recording_report(pred, args)
    report["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    write_text_atomic(out / "report.json", json.dumps(report, indent=2))
    write_text_atomic(out / "report.md", _report_markdown(report))
    files += [out / "report.json", out / "report.md"]
    if not args.quiet:
        print(rec.describe())
        for seg, m in pred.mounting.items():
            print(f"  {seg:7s} {rec.sensors.get(seg, ''):30s} mounting {_mount_text(m)}")
        for w in pred.warnings:
            if not _is_info(w):
                print(f"imukin: warning: {w}")
        print(f"{len(pred.angles)} joints ({', '.join(pred.angles)}) -> {out}/ ({len(files)} files)")
    return 0


def _zoom_span(pred) -> tuple[float, float]:
    """A few strides around the middle of the predicted part of the recording."""
    ok = np.flatnonzero(np.all([np.isfinite(a[:, 0]) for a in pred.angles.values()], axis=0))
    if not ok.size:
        return 0.0, float(pred.t[-1])
    t0, t1 = pred.t[ok[0]], pred.t[ok[-1]]
    mid = 0.5 * (t0 + t1)
    half = min(ZOOM_S / 2, 0.5 * (t1 - t0))
    return float(mid - half), float(mid + half)


def _mount_text(m: dict) -> str:
    z, x, y = m.get("euler_zxy_deg", [float("nan")] * 3)
    conf = m.get("confidence")
    conf_txt = f", confidence {conf:.2f}" if isinstance(conf, (int, float)) else ""
    flag = "" if m.get("sign_confident", True) else " (uncertain)"
    return f"ZXY {z:7.1f} {x:7.1f} {y:7.1f} deg ({m.get('method', '')}, {m.get('sign_rule', '')}{conf_txt}){flag}"


def _is_info(note: str) -> bool:
    """Reader notes that only restate a file format's default (kept in the report, not printed)."""
    return "units not stated in the file" in note and "default;" in note


def recording_report(pred, args=None) -> dict:
    """The facts of one prediction as plain types (for ``report.json``)."""
    rec = pred.recording
    rows = {}
    for joint, a in pred.angles.items():
        ok = np.isfinite(a[:, 0])
        rows[joint] = {"model": pred.models.get(joint), "frames_predicted": int(ok.sum()),
                       "range_deg": {ax: [float(np.nanmin(a[:, k])) if ok.any() else None,
                                          float(np.nanmax(a[:, k])) if ok.any() else None]
                                     for k, ax in enumerate(ANGLE_AXES)}}
    report = {"recording": rec.name, "source": rec.source, "fs_hz": rec.fs, "rate_source": rec.rate_source,
              "duration_s": rec.duration_s, "n_frames": rec.n_frames,
              "sensors": {seg: {"sensor": rec.sensors.get(seg), "units": rec.units.get(seg),
                                "mounting": pred.mounting.get(seg)} for seg in rec.segments},
              "joints": rows, "gaps_frames": [list(g) for g in pred.gaps], "warnings": pred.warnings,
              "calibration": pred.calibration or None, "sync": pred.sync or None}
    if args is not None:
        report["settings"] = {"activity": args.activity, "model": str(args.run) if args.run else args.model,
                              "refine": bool(args.refine), "align": args.align or "auto",
                              "mounting_file": str(args.mounting) if args.mounting else None,
                              "sync": getattr(args, "sync", "none")}
    if rec.reference:
        from imukin.evaluation.metrics import sequence_metrics

        report["against_reference"] = {}
        for joint, a in pred.angles.items():
            if joint in rec.reference:
                ok = np.isfinite(a[:, 0])
                report["against_reference"][joint] = sequence_metrics(a[ok], rec.reference[joint][ok])
    return report


def _report_markdown(r: dict) -> str:
    lines = [f"# imukin: {r['recording']}", "",
             f"- source: `{r['source']}`",
             f"- rate: {r['fs_hz']:g} Hz ({r['rate_source']}), {r['n_frames']} samples, {r['duration_s']:.1f} s",
             "", "## Sensors and the mounting found", "",
             "| segment | sensor | mounting ZXY Euler (deg) | how | confidence |", "|---|---|---|---|---|"]
    for seg, s in r["sensors"].items():
        m = s.get("mounting") or {}
        e = m.get("euler_zxy_deg")
        conf = m.get("confidence")
        if not m:
            conf_txt = ""
        elif isinstance(conf, (int, float)):
            conf_txt = f"{conf:.2f}"
        else:
            conf_txt = "yes" if m.get("sign_confident", True) else "uncertain"
        lines.append(f"| {seg} | {s['sensor']} | {' / '.join(f'{v:.1f}' for v in e) if e else 'not used'} | "
                     f"{m.get('method', '')} {m.get('sign_rule', '')} | {conf_txt} |")
    lines += ["", "## Joints", "", "| joint | model | frames | flexion range (deg) |", "|---|---|---|---|"]
    for j, row in r["joints"].items():
        lo, hi = row["range_deg"]["flexion"]
        rng = f"{lo:.1f} to {hi:.1f}" if lo is not None else "-"
        lines.append(f"| {j} | {row['model']} | {row['frames_predicted']} | {rng} |")
    if r.get("against_reference"):
        lines += ["", "## Against the reference in the file (RMSE deg, offset removed in brackets)", ""]
        for j, m in r["against_reference"].items():
            cells = ", ".join(f"{ax} {m[ax]['rmse']:.2f} ({m[ax]['rmse_offset_removed']:.2f})" for ax in ANGLE_AXES)
            lines.append(f"- {j}: {cells}")
    if r.get("calibration"):
        lines += ["", "## Calibration (offset added per joint, deg: flexion / adduction / rotation)", ""]
        for j, c in r["calibration"].items():
            carried = (f", carried into the motion over frames {c['carried'][0]}-{c['carried'][1]} by the orientation "
                       "filters" if c.get("carried") else ", the networks' angles in the standing")
            lines.append(f"- {j}: {' / '.join(f'{v:+.1f}' for v in c['offset_deg'])} (pose "
                         f"{' / '.join(f'{v:g}' for v in c['pose_deg'])}, standing frames {c['frames'][0]}-"
                         f"{c['frames'][1]}{carried})")
    if r.get("sync"):
        a, b = r["sync"]["frames"]
        lines += ["", f"## Synchronisation (by the impact, onto {r['sync']['reference']}; its frames {a}-{b} kept)", "",
                  "| sensor | offset (ms) | confidence |", "|---|---|---|"]
        for seg, d in r["sync"]["sensors"].items():
            conf = "reference" if d.get("reference") else f"{d['confidence']:.2f}"
            lines.append(f"| {seg} | {d['offset_s'] * 1000:+.1f} | {conf} |")
    lines += ["", "## Warnings", ""]
    lines += [f"- {w}" for w in r["warnings"]] or ["- none"]
    if r.get("timings_s"):
        lines += ["", "Seconds per stage: " + ", ".join(f"{k} {v:.2f}" for k, v in r["timings_s"].items()) + "."]
    lines += ["", "Files: one CSV per joint, the OpenSim motion file (`.mot`), `overview.png`, `zoom.png`"
              + (", `sync.png` (the sensors around the impact)" if r.get("sync") else "") + ".", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- the older form

def _root_path_predictor(args):
    """The predictor of the older form (one joint): a trained run or the shipped ``--model``, with ``--refine``
    the optimisation stage (``--ori-run``: an orientation run of one's own)."""
    from imukin.fusion.refine import RefinedPredictor, pretrained_predictor
    from imukin.predictor import AnglePredictor

    if args.run is None and not (args.refine and args.ori_run is not None):
        return pretrained_predictor(args.joint, args.activity, args.model, args.refine, args.device)
    if args.run is None and args.model == BOTH:
        raise ImukinError("--ori-run refines one angle network: pass --model cnn or --model transformer with it")
    angle_run = args.run or pretrained_path(args.joint, args.activity, args.model)
    predictor = AnglePredictor(angle_run, args.device)
    if predictor.joint != args.joint:
        raise ImukinError(f"{predictor.run_dir} is a {predictor.joint} model but --joint {args.joint} was given")
    if not args.refine:
        return predictor
    if args.ori_run is None:
        raise ImukinError("--refine with --run needs --ori-run (an orientation run of the same joint; "
                          "train one with 'imukin train --target orientation', then 'imukin fit-blend')")
    return RefinedPredictor(angle_run, args.ori_run, device=args.device)


def _cmd_predict_demo_folder(args) -> int:
    from imukin.io.demo_layout import available_sides, read_leg
    from imukin.io.units import check_units

    if args.joint is None:
        raise ImukinError("--root-path (the reference demo layout) holds one joint's sensors: say which with --joint")
    sides = [args.side] if args.side else available_sides(args.root_path)
    if not sides:
        raise ImukinError(f"{args.root_path} holds no Right_/Left_ sensor files; expected Right_seg1_acc.npy, "
                          "Right_seg1_gyr.npy, Right_seg2_acc.npy, Right_seg2_gyr.npy (or Right_seg1.csv ...)")
    legs = [read_leg(args.root_path, side) for side in sides]  # read and check everything before writing
    for leg in legs:
        if leg.fs is None and args.fs is None:
            raise ImukinError(f"{args.root_path} ({leg.side} leg) carries no time stamps: pass its sampling rate, "
                              "e.g. --fs 100")
        if leg.fs is not None and args.fs is not None and not rates_agree(args.fs, leg.fs):
            raise ImukinError(f"--fs {args.fs:g} contradicts the time stamps of the {leg.side} leg ({leg.fs:.4g} Hz); "
                              "drop --fs, or fix it")
    predictor = _root_path_predictor(args)
    out = check_output_dir(args.out or args.root_path)
    acc_scale = G if args.acc_units == "g" else 1.0
    gyr_scale = np.pi / 180 if args.gyr_units == "deg/s" else 1.0
    for leg in legs:  # scale and check units of every leg before anything is written
        leg.acc1, leg.acc2 = leg.acc1 * acc_scale, leg.acc2 * acc_scale
        leg.gyr1, leg.gyr2 = leg.gyr1 * gyr_scale, leg.gyr2 * gyr_scale
        check_units(np.concatenate([leg.acc1, leg.acc2], 1), np.concatenate([leg.gyr1, leg.gyr2], 1),
                    f"{leg.side} leg")
    for leg in legs:
        for note in _repair_leg(leg, args.joint, not args.no_repair):
            if not args.quiet:
                print(f"imukin: warning: {note}")
    metrics = {}
    for leg in legs:
        fs = args.fs or leg.fs
        preds = np.stack([_predict_one(predictor, leg, s, fs, args) for s in range(leg.acc1.shape[0])])  # (S, T, 3)
        stem = f"{leg.side}_{args.joint}_angles"
        _write_outputs(out, stem, preds, fs)
        if not args.quiet:
            print(f"{leg.side} {args.joint}: {preds.shape[0] * preds.shape[1] / fs:.1f} s at {fs:g} Hz -> "
                  f"{out / stem}.csv")
        if leg.reference is not None:
            metrics[leg.side] = _compare(out, leg, preds, fs, args.joint)
    if metrics:
        write_text_atomic(out / f"{args.joint}_metrics.json", json.dumps(metrics, indent=2))
        if not args.quiet:
            for side, m in metrics.items():
                cells = ", ".join(f"{ax} {m[ax]['rmse']:.2f} ({m[ax]['rmse_offset_removed']:.2f})"
                                  for ax in ANGLE_AXES)
                print(f"{side} RMSE deg (offset removed): {cells}")
    return 0


def _repair_leg(leg, joint: str, repair: bool) -> list[str]:
    """Report lines for a leg's saturated sensors (:func:`imukin.preprocessing.saturation.saturation_notes`,
    every sequence); with ``repair``, the leg's cut gyroscope peaks put back in place (as ``imukin predict``
    does for a recording)."""
    from imukin.conventions import joint_segments
    from imukin.preprocessing.saturation import find_saturation, repair_gyroscopes, repaired_note, saturation_notes

    notes = []
    for s in range(leg.acc1.shape[0]):
        where = f" (sequence {s})" if leg.acc1.shape[0] > 1 else ""
        segs = [seg + where for seg in joint_segments(joint, leg.side)]  # (proximal, distal): seg1, seg2
        acc, gyr = dict(zip(segs, (leg.acc1[s], leg.acc2[s]))), dict(zip(segs, (leg.gyr1[s], leg.gyr2[s])))
        found = find_saturation(acc, gyr)
        notes += saturation_notes(acc, gyr, found)
        if not repair:
            continue
        fixed, runs = repair_gyroscopes(gyr, found)
        leg.gyr1[s], leg.gyr2[s] = fixed[segs[0]], fixed[segs[1]]
        notes += [repaired_note(seg, n) for seg, n in runs.items()]
    return notes


def _predict_one(predictor, leg, s: int, fs: float, args) -> np.ndarray:
    """Angles (T, 3) of sequence ``s`` of a leg, after automatic axis alignment when asked."""
    signals = (leg.acc1[s], leg.gyr1[s], leg.acc2[s], leg.gyr2[s])
    if args.align == "auto":
        from imukin.api import align_config
        from imukin.preprocessing.align import align_leg

        signals, info = align_leg(*signals, fs, leg.side, args.joint, cfg=align_config(), activity=args.activity)
    return predictor.predict(*signals, side=leg.side, fs=fs, progress=not args.quiet)


def _write_outputs(out: Path, stem: str, preds: np.ndarray, fs: float) -> None:
    arr = preds[0] if preds.shape[0] == 1 else preds
    with atomic_path(out / f"{stem}.npy") as tmp:
        np.save(tmp, arr.astype(np.float64))
    flat = preds.reshape(-1, 3)
    t = (np.arange(preds.shape[1]) / fs)
    t = np.tile(t, preds.shape[0])
    with atomic_path(out / f"{stem}.csv") as tmp:
        np.savetxt(tmp, np.column_stack([t, flat]), delimiter=",", fmt="%.4f",
                   header="time_s,flexion_deg,adduction_deg,rotation_deg", comments="")


def _compare(out: Path, leg, preds: np.ndarray, fs: float, joint: str) -> dict:
    from imukin.evaluation.metrics import sequence_metrics
    from imukin.evaluation.plots import plot_traces

    ref = leg.reference.reshape(-1, 3)
    m = sequence_metrics(preds.reshape(-1, 3), ref)
    plot_traces(out / f"{leg.side}_{joint}_angles.png", np.arange(len(ref)) / fs, {"imukin": preds.reshape(-1, 3)},
                ref, title=f"{leg.side} {joint} (whole recording)")
    return m
