"""The ``imukin`` command: one entry point, one subcommand per job.

Every subcommand is a thin layer over library functions. Bad input ends with one line
``imukin: error: <what is wrong; how to fix it>`` and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import replace
from pathlib import Path

from imukin._version import __version__
from imukin.argtypes import (
    ImukinArgumentParser,
    add_option,
    harden_numeric_types,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    print_error,
)
from imukin.conventions import ACTIVITIES
from imukin.errors import ImukinError


# ---------------------------------------------------------------- simulate
def _add_simulate(sub) -> None:
    p = sub.add_parser("simulate", help="simulate IMU signals and joint angles into a dataset file",
                       description="Simulate a synthetic gait corpus, or IMUs from marker clusters (C3D/TRC), "
                                   "into one HDF5 file in the reference layout.")
    p.add_argument("--activity", default="walking", choices=ACTIVITIES, help="activity of the synthetic corpus")
    p.add_argument("--subjects", type=positive_int, default=10, metavar="N", help="number of simulated subjects")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="corpus seed (same seed, same corpus)")
    p.add_argument("--fs", type=positive_float, default=200.0, help="output sampling rate in Hz")
    add_option(p, "--duration-s", aliases=("--duration",), type=positive_float, default=30.0, metavar="S",
               help="seconds per subject")
    p.add_argument("--first-subject", type=nonnegative_int, default=0, help="index of the first subject")
    p.add_argument("--speed-range", nargs=2, type=positive_float, metavar=("LO", "HI"),
                   help="walking or running speeds in m/s to draw from (default: walking 0.6-2.0, running 2.0-5.0; "
                        "slow, clinical walking: 0.3 0.6)")
    p.add_argument("--placement", nargs="+", metavar="TYPE=SITE",
                   help="sensors at other sites of their segments, e.g. foot=heel thigh=anterior "
                        "(pelvis: sacrum, iliac-crest; thigh: lateral, anterior, distal-lateral; shank: lateral, "
                        "anteromedial, distal-lateral; foot: instep, heel, lateral; default the first of each)")
    p.add_argument("--ideal-sensors", action="store_true", help="no sensor errors (noise, bias, mounting, tissue)")
    p.add_argument("--skin-sliding", type=nonnegative_float, default=0.0, metavar="C",
                   help="synthetic corpus: thigh and shank sensors also turn with the joints they span, N(0, C) deg "
                        "per deg of flexion per axis (SensorErrorConfig.tissue_joint_coupling; e.g. 0.03; default 0: "
                        "off, as the shipped models were trained)")
    p.add_argument("--markers", nargs="+", type=Path,
                   help="marker files (.c3d or .trc) instead of the synthetic corpus")
    p.add_argument("--marker-map", type=Path, help="with --markers: JSON or TOML file mapping segments to marker names "
                   "(default: a preset picked from the names: Plug-in Gait, opensim-core, Kuopio, OpenSim running)")
    p.add_argument("--workers", type=positive_int, default=None, help="processes (default: all CPUs)")
    p.add_argument("--amass", nargs="+", type=Path, help="AMASS/SMPL-H .npz motion files or folders (recursive)")
    p.add_argument("--body-model", type=Path, help="with --amass: body-model .npz with J (or J_regressor, "
                   "v_template, shapedirs) for the joint positions (default: skeleton scaled by --height-m)")
    p.add_argument("--bvh", nargs="+", type=Path, help="BVH motion files or folders (recursive)")
    p.add_argument("--bvh-map", type=Path, help="with --bvh: JSON file mapping imukin segments to the file's "
                   "joint names (default: CMU names Hips, LeftUpLeg, LeftLeg, LeftFoot, ...)")
    p.add_argument("--opensim-mot", nargs="+", type=Path, help="OpenSim inverse-kinematics .mot files or folders")
    add_option(p, "--height-m", aliases=("--height",), type=positive_float, default=None, metavar="M",
               help="body height in m for motion files (default 1.75)")
    p.add_argument("--mix", nargs="+", type=Path, help="combine dataset .h5 files into --out at --fs, with "
                   "per-subject provenance")
    p.add_argument("--out", type=Path, required=True, help="output .h5 file (written atomically)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args) -> int:
    from imukin.io.job_h5 import write_dataset
    from imukin.io.paths import check_output_file

    check_output_file(args.out)
    if args.placement and (args.markers or args.amass or args.bvh or args.opensim_mot or args.mix):
        raise ImukinError("--placement moves the sensors of the synthetic corpus; drop it, or drop the motion, "
                          "marker or dataset files")
    if args.skin_sliding and (args.markers or args.amass or args.bvh or args.opensim_mot or args.mix):
        raise ImukinError("--skin-sliding turns the sensors of the synthetic corpus with its joint angles; drop it, "
                          "or drop the motion, marker or dataset files")
    if any(getattr(args, k, None) is not None for k in ("amass", "bvh", "opensim_mot", "mix", "body_model", "bvh_map",
                                                        "height_m")):
        return _simulate_motion(args)
    if args.marker_map is not None and not args.markers:
        raise ImukinError("--marker-map needs --markers FILE ...; it names the markers of those files")
    if args.markers:
        from imukin.simulation.markers import records_from_marker_files

        records = records_from_marker_files(args.markers, fs_out=args.fs, marker_map=args.marker_map)
        path = write_dataset(args.out, records, attrs={"source": "markers", "activity": "unknown"})
        print(f"wrote {len(records)} recording(s) simulated from markers to {path}")
        return 0

    from imukin.simulation.corpus import CorpusConfig, corpus_attrs, simulate_corpus
    from imukin.simulation.sensor_errors import SensorErrorConfig

    cfg = CorpusConfig(activity=args.activity, n_subjects=args.subjects, seed=args.seed, fs=args.fs,
                       duration_s=args.duration_s, first_subject=args.first_subject,
                       speed_range_m_s=tuple(args.speed_range) if args.speed_range else None,
                       placement=_placement(args.placement),
                       errors=replace(SensorErrorConfig.ideal() if args.ideal_sensors else SensorErrorConfig(),
                                      tissue_joint_coupling=args.skin_sliding))
    subjects = simulate_corpus(cfg, workers=args.workers, progress=not getattr(args, "quiet", False))
    path = write_dataset(args.out, subjects, attrs=corpus_attrs(cfg))
    print(f"wrote {cfg.n_subjects} {cfg.activity} subjects x {cfg.duration_s:g} s at {cfg.fs:g} Hz to {path}")
    return 0


def _placement(items: list[str] | None) -> dict[str, str] | None:
    """``--placement foot=heel thigh=distal-lateral`` -> {"foot": "heel", "thigh": "distal lateral"} (checked by
    :class:`~imukin.simulation.corpus.CorpusConfig`)."""
    if not items:
        return None
    bad = [item for item in items if item.count("=") != 1]
    if bad:
        raise ImukinError(f"--placement takes TYPE=SITE pairs such as foot=heel, got {bad[0]!r}")
    return dict((k.strip(), v.strip().replace("-", " ").replace("_", " ")) for k, v in (i.split("=") for i in items))


def _simulate_motion(args) -> int:
    """``imukin simulate --amass/--bvh/--opensim-mot/--mix``: IMUs from motion files, or dataset files mixed."""
    from imukin.simulation.sensor_errors import SensorErrorConfig
    from imukin.sources import simulate_motion_files
    from imukin.sources.motion import SourceConfig

    given = [name for name, v in (("--amass", args.amass), ("--bvh", args.bvh), ("--opensim-mot", args.opensim_mot),
                                  ("--mix", args.mix), ("--markers", args.markers)) if v]
    if len(given) > 1:
        raise ImukinError(f"pass only one of {', '.join(given)} per run; mix the resulting files with --mix")
    extra = [name for name, v in (("--body-model", args.body_model), ("--bvh-map", args.bvh_map),
                                  ("--height-m", args.height_m)) if v is not None]
    if extra and not (args.amass or args.bvh or args.opensim_mot):
        verb = "needs" if len(extra) == 1 else "need"
        raise ImukinError(f"{', '.join(extra)} {verb} motion files: add --amass, --bvh or --opensim-mot")
    if args.mix:
        from imukin.sources.mix import mix_datasets

        path = mix_datasets(args.mix, args.out, fs=args.fs)
        print(f"mixed {len(args.mix)} dataset file(s) into {path}")
        return 0
    cfg = SourceConfig(fs=args.fs, height_m=args.height_m if args.height_m is not None else SourceConfig.height_m,
                       seed=args.seed, errors=SensorErrorConfig.ideal() if args.ideal_sensors else SensorErrorConfig())
    kind, paths = (("amass", args.amass) if args.amass else ("bvh", args.bvh) if args.bvh
                   else ("opensim_ik", args.opensim_mot))
    path, n = simulate_motion_files(kind, paths, args.out, cfg, body_model=args.body_model, bvh_map=args.bvh_map)
    print(f"wrote {n} subject(s) simulated from {kind} motion at {cfg.fs:g} Hz to {path}")
    return 0


# ---------------------------------------------------------------- demo
def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="the main job on built-in data: simulate, predict, report",
                       description="Simulate new subjects, and write a report with plots.")
    p.add_argument("--out", type=Path, default=Path("demo_output"), help="output folder")
    p.add_argument("--subjects", type=positive_int, default=4, metavar="N", help="subjects per activity")
    p.add_argument("--seed", type=nonnegative_int, default=2024, help="seed of the demo corpus")
    p.add_argument("--quiet", action="store_true", help="no progress bars, lines or table (the files are the same)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    from imukin.demo import run_demo
    from imukin.io.paths import check_output_dir

    check_output_dir(args.out)
    run_demo(args.out, n_subjects=args.subjects, seed=args.seed, quiet=args.quiet)
    return 0


# ---------------------------------------------------------------- entry point
def build_parser() -> argparse.ArgumentParser:
    parser = ImukinArgumentParser(prog="imukin", description="imukin: lower-limb joint angles from body-worn "
                                     "IMUs (simulate, train, evaluate, predict, harmonize)")
    parser.add_argument("--version", action="version", version=f"imukin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from imukin.evaluation.cli import add_commands as add_evaluation
    from imukin.export_cli import add_commands as add_export
    from imukin.predict_cli import add_commands as add_predict
    from imukin.preprocessing.cli import add_commands as add_preprocessing
    from imukin.stream_cli import add_commands as add_stream
    from imukin.training.cli import add_commands as add_training

    for add in (_add_simulate, _add_demo, add_training, add_evaluation, add_predict, add_preprocessing, add_export,
                add_stream):
        add(sub)
    harden_numeric_types(parser)  # a plain int/float option still refuses nan, inf and negative counts
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a bad argument (2, its one line already printed)
        return e.code if isinstance(e.code, int) else 2
    warnings.formatwarning = lambda msg, cat, *a, **k: f"imukin: warning: {msg}\n"
    try:
        return int(args.func(args) or 0)
    except ImukinError as e:
        print_error(str(e))
        return 2
    except FileNotFoundError as e:
        print_error(f"file not found: {e.filename}; check the path")
        return 2
    except OSError as e:  # unwritable folder, a file in the way, a full disk: one line, no traceback
        from imukin.io.paths import describe_os_error

        print_error(describe_os_error(e))
        return 2
    except KeyboardInterrupt:
        print("imukin: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
