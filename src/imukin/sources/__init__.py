"""Motion sources for simulation: AMASS/SMPL-H, BVH and OpenSim IK files -> IMU datasets.

Each source reads its format into segment orientations and joint centres,
:mod:`imukin.sources.motion` turns them into :class:`~imukin.simulation.gait.Kinematics`,
and :func:`imukin.simulation.corpus.record_from_kinematics` simulates the IMUs, exactly
as for the synthetic corpus. :mod:`imukin.sources.mix` combines dataset files of any
source into one training corpus.

=============  ====================================  ===================================
source         reader                                writer (for tests and exchange)
=============  ====================================  ===================================
AMASS .npz     :func:`~.amass.amass_record`          :func:`~.amass.write_amass_npz`
BVH            :func:`~.bvh.bvh_record`              :func:`~.bvh.write_bvh`
OpenSim .mot   :func:`~.opensim_ik.opensim_ik_record`  :func:`~.opensim_ik.write_opensim_mot`
=============  ====================================  ===================================
"""
from __future__ import annotations

import os
from pathlib import Path

from imukin.errors import ImukinError
from imukin.sources.motion import SourceConfig

SOURCE_KINDS = ("amass", "bvh", "opensim_ik")


def simulate_motion_files(kind: str, paths, out: str | os.PathLike, cfg: SourceConfig | None = None,
                          body_model: str | os.PathLike | None = None,
                          bvh_map: str | os.PathLike | dict | None = None) -> tuple[Path, int]:
    """Simulate one subject per motion file into one dataset file (atomically).

    Parameters
    ----------
    kind : {"amass", "bvh", "opensim_ik"}
    paths : sequence of path-like
        Files, or folders searched recursively for the kind's files.
    out : path-like
        Output ``.h5``; nothing is written if any file fails.
    cfg : SourceConfig, optional
    body_model : path-like, optional
        AMASS only: body-model ``.npz`` (:mod:`imukin.sources.amass`).
    bvh_map : path-like or dict, optional
        BVH only: segment -> joint names (:mod:`imukin.sources.bvh`).

    Returns
    -------
    (Path, int)
        The file written and its number of subjects.
    """
    from imukin.io.job_h5 import write_dataset

    cfg = cfg or SourceConfig()
    if kind not in SOURCE_KINDS:
        raise ImukinError(f"unknown motion source {kind!r}; choose one of: {', '.join(SOURCE_KINDS)}")
    if body_model is not None and kind != "amass":
        raise ImukinError("--body-model applies to --amass files only")
    if bvh_map is not None and kind != "bvh":
        raise ImukinError("--bvh-map applies to --bvh files only")
    if kind == "amass":
        from imukin.sources.amass import iter_amass_records as it
        records = it(paths, cfg, body_model)
    elif kind == "bvh":
        from imukin.sources.bvh import iter_bvh_records as it
        records = it(paths, cfg, bvh_map)
    else:
        from imukin.sources.opensim_ik import iter_opensim_records as it
        records = it(paths, cfg)
    count = [0]

    def counted():
        for rec in records:
            count[0] += 1
            yield rec

    attrs = {"source": kind, "activity": cfg.activity, "seed": cfg.seed, "height_m": cfg.height_m,
             "lowpass_hz": float(cfg.lowpass_hz) if cfg.lowpass_hz else 0.0}
    path = write_dataset(out, counted(), attrs=attrs)
    return path, count[0]


def simulate_from_args(args) -> int:
    """The ``imukin simulate --amass/--bvh/--opensim-mot/--mix`` actions (see :mod:`imukin.cli`)."""
    from imukin.simulation.sensor_errors import SensorErrorConfig

    given = [name for name, v in (("--amass", args.amass), ("--bvh", args.bvh), ("--opensim-mot", args.opensim_mot),
                                  ("--mix", args.mix), ("--markers", args.markers)) if v]
    if len(given) > 1:
        raise ImukinError(f"pass only one of {', '.join(given)} per run; mix the resulting files with --mix")
    extra = [name for name, v in (("--body-model", args.body_model), ("--bvh-map", args.bvh_map),
                                  ("--height", args.height)) if v is not None]
    if extra and not (args.amass or args.bvh or args.opensim_mot):
        verb = "needs" if len(extra) == 1 else "need"
        raise ImukinError(f"{', '.join(extra)} {verb} motion files: add --amass, --bvh or --opensim-mot")
    if args.mix:
        from imukin.sources.mix import mix_datasets

        path = mix_datasets(args.mix, args.out, fs=args.fs)
        print(f"mixed {len(args.mix)} dataset file(s) into {path}")
        return 0
    cfg = SourceConfig(fs=args.fs, height_m=args.height if args.height is not None else SourceConfig.height_m,
                       seed=args.seed, errors=SensorErrorConfig.ideal() if args.ideal_sensors else SensorErrorConfig())
    kind, paths = (("amass", args.amass) if args.amass else ("bvh", args.bvh) if args.bvh
                   else ("opensim_ik", args.opensim_mot))
    path, n = simulate_motion_files(kind, paths, args.out, cfg, body_model=args.body_model, bvh_map=args.bvh_map)
    print(f"wrote {n} subject(s) simulated from {kind} motion at {cfg.fs:g} Hz to {path}")
    return 0
