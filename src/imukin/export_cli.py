"""``imukin export``: a trained model as an ONNX file for deployment (see :mod:`imukin.export`).

``imukin export --model cnn --joint knee --activity walking --out knee.onnx`` writes
``knee.onnx`` (raw 16 channels at the model's rate in, physical units out, any length)
and ``knee.json`` (channels, rate, window, outputs, units). ``--run RUN_DIR`` exports a
trained run instead; ``--all --out DIR`` every shipped model, orientation models included.
"""
from __future__ import annotations

from pathlib import Path

from imukin.conventions import ACTIVITIES, JOINT_NAMES
from imukin.errors import ImukinError
from imukin.pretrained import shipped_kinds

#: ``--format`` choices; the same as :data:`imukin.export.FORMATS`, which needs torch to import.
FORMATS = ("onnx",)


def add_commands(sub) -> None:
    """Register ``imukin export``."""
    p = sub.add_parser("export", help="export a model to ONNX (normalisation folded in)",
                       description="Export a shipped model or a trained run to ONNX: input the raw 16 channels "
                                   "(m/s^2, rad/s) at the model's rate, output physical units (degrees), "
                                   "dynamic batch and time axes, with a JSON sidecar beside it.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", choices=shipped_kinds(), help="shipped model (default cnn)")
    src.add_argument("--run", type=Path, help="a trained run folder (model.json + model.safetensors) instead")
    src.add_argument("--all", action="store_true", help="every shipped model into the folder --out")
    p.add_argument("--joint", default="knee", choices=JOINT_NAMES, help="joint of the shipped model")
    p.add_argument("--activity", default="walking", choices=ACTIVITIES, help="activity of the shipped model")
    p.add_argument("--format", default="onnx", choices=FORMATS, help="export format")
    p.add_argument("--out", type=Path, required=True, help="the .onnx file (a folder with --all); written atomically")
    p.add_argument("--quiet", action="store_true", help="no summary lines")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    from imukin import export

    if args.format not in export.FORMATS:
        raise ImukinError(f"unknown --format {args.format!r}; choose one of: {', '.join(export.FORMATS)}")
    if args.all:
        files = export.export_all(args.out, args.format, progress=not args.quiet)
    else:
        export.check_export_file(args.out, args.format)
        if args.run is None:
            # refuse an unknown model before loading
            export.shipped_path(args.model or "cnn", args.joint, args.activity)
        files = export.export_model(args.out, model=args.model or "cnn", joint=args.joint, activity=args.activity,
                                    run=args.run, fmt=args.format)
    if not args.quiet:
        print(f"wrote {len(files) // 2} model(s): {', '.join(str(f) for f in files[:2])}"
              f"{' ...' if len(files) > 2 else ''}")
    return 0
