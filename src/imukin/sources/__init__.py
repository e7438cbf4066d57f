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
        raise ImukinError("body_model applies to AMASS files only (imukin simulate: --body-model goes with --amass)")
    if bvh_map is not None and kind != "bvh":
        raise ImukinError("bvh_map applies to BVH files only (imukin simulate: --bvh-map goes with --bvh)")
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
