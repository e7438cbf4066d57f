"""``imukin harmonize``: recordings from several labs and sensor systems -> one dataset file."""
from __future__ import annotations

import argparse
from pathlib import Path

from imukin.argtypes import add_option, nonnegative_int, positive_float
from imukin.conventions import DEFAULT_FS, SYNC_MODES

_EPILOG = """\
An input folder is one dataset. It may hold reference-layout .h5 files and/or one
sub-folder per recording with IMU text files named after their segment (pelvis.csv,
rthigh.csv, ...; Xsens MT Manager, Movella DOT, gaitmap two-row or generic CSV), or
files mapped to segments by an imukin.json (keys: fs, preset, acc_units, gyr_units,
sensors, joint, sync, alignment, activity, meta). Writes OUT/harmonized.h5,
OUT/harmonize_report.json and OUT/exclusions.txt.
"""


def add_commands(sub) -> None:
    """Register ``imukin harmonize`` on an argparse subparsers object."""
    p = sub.add_parser("harmonize", help="resample, synchronise, align and equalise recordings into one dataset",
                       description="Harmonize recordings from different labs and sensors: resample to one rate "
                                   "(anti-aliased; time-stamp jitter and gaps repaired), synchronise sensors, "
                                   "align sensor axes to the segments, equalise noise, run the quality checks, "
                                   "and write one reference-layout HDF5 file with provenance per subject.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input-dirs", nargs="+", type=Path, required=True, metavar="DIR",
                   help="one folder per dataset (see below)")
    add_option(p, "--out", aliases=("--output-dir",), type=Path, required=True,
               help="output folder (created if missing)")
    add_option(p, "--fs", aliases=("--freq",), type=positive_float, default=DEFAULT_FS,
               help=f"common output rate in Hz (default {DEFAULT_FS:g})")
    p.add_argument("--align", choices=("auto", "none"), default="auto",
                   help="find each sensor's mounting from standing + walking (auto), or keep sensor frames")
    p.add_argument("--sync", choices=SYNC_MODES, default=None,
                   help="synchronise the sensors of a recording on a common tap/jump (default: per imukin.json, none)")
    p.add_argument("--noise", default="noisiest", metavar="{noisiest,none,PROFILE.json}",
                   help="noise target: the noisiest dataset per channel, none, or a profile JSON file (e.g. a "
                        "dataset's 'noise' entry of an earlier harmonize_report.json, measured at the same --fs)")
    add_option(p, "--max-gap-s", aliases=("--max-gap",), type=positive_float, default=0.1, metavar="S",
                   help="longest time-stamp gap (s) filled without flagging (default 0.1)")
    p.add_argument("--drop-failed", action="store_true", help="leave subjects that fail a quality check out")
    p.add_argument("--no-repair", action="store_true", help="keep gyroscope channels cut flat at their range as "
                   "recorded (default: their cut peaks are put back, as imukin predict does)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the added noise")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_harmonize)


def cmd_harmonize(args) -> int:
    from imukin.io.paths import check_output_dir, cleanup_on_error
    from imukin.preprocessing.harmonize import HarmonizeConfig, harmonize

    check_output_dir(args.out)
    cfg = HarmonizeConfig(fs=args.fs, align=args.align, sync=args.sync, noise=args.noise, max_gap_s=args.max_gap_s,
                          drop_failed=args.drop_failed, seed=args.seed, repair_saturation=not args.no_repair)
    with cleanup_on_error(args.out):
        res = harmonize(args.input_dirs, args.out, cfg, progress=not args.quiet)
    dropped = " (dropped)" if args.drop_failed else " (kept, checks_passed=False)"
    print(f"wrote {res.n_subjects} subject(s) at {args.fs:g} Hz to {res.output}; "
          f"{res.n_failed} failed a quality check{dropped if res.n_failed else ''}; "
          f"report {res.report_path}, exclusions {res.exclusions_path}")
    return 0
