"""Joint angles to files: one CSV per joint and one OpenSim motion file (``.mot``) with every joint.

CSV (``<joint>.csv``, e.g. ``rknee.csv``)::

    time_s,flexion_deg,adduction_deg,rotation_deg
    0.0000,12.3456,-1.2345,3.4567
    ...

imukin's signs (:mod:`imukin.conventions`); empty cells where the angle is unknown (gaps).

OpenSim ``.mot`` (version 1 header, ``inDegrees=yes``): ``time`` then, per joint and axis,
the coordinate of OpenSim's gait models with its sign
(:data:`imukin.conventions.OPENSIM_COORDINATES`): ``hip_flexion_r``, ``hip_adduction_r``,
``hip_rotation_r``, ``knee_angle_r`` (negative = flexion, as in gait2392),
``ankle_angle_r`` (dorsiflexion), ``subtalar_angle_r`` (inversion), and the left side
alike; knee adduction and rotation and ankle rotation, which gait2392 lacks, as
``knee_adduction_r``, ``knee_rotation_r``, ``ankle_rotation_r``. Frames in a gap carry
the last known value in the ``.mot`` (OpenSim cannot read NaN); the CSVs keep the gap. Values in
the ``.mot`` have six decimals (:data:`MOT_FORMAT`), in the CSVs four.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from imukin.conventions import ANGLE_AXES, JOINT_NAMES, OPENSIM_COORDINATES, SIDE_PREFIX, SIDES, joint_name
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path
from imukin.io.opensim import row_blocks, write_storage

CSV_HEADER = "time_s," + ",".join(f"{ax}_deg" for ax in ANGLE_AXES)
MOT_FORMAT = "%.6f"  # .mot values: angles to a micro-degree, times to a microsecond (repr took 2.5x as long)


def write_joint_csv(path: str | os.PathLike, t: np.ndarray, angles: np.ndarray) -> Path:
    """One joint's angles, (N, 3) degrees, with their times (N,) s, atomically; NaN -> empty cell."""
    t = np.asarray(t, float)
    a = np.asarray(angles, float)
    if a.shape != (len(t), 3):
        raise ImukinError(f"angles of shape {a.shape} do not match {len(t)} time stamps; expected (N, 3)")
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write(CSV_HEADER + "\n")
        for block in row_blocks(np.column_stack([t, a]), "%.4f", ",", ""):  # (N, 4)
            f.write(block)
    return path


def opensim_columns(angles: dict) -> tuple[list[str], np.ndarray]:
    """OpenSim coordinate names and values (N, C) from ``{joint: (N, 3)}`` (joints as ``rknee``)."""
    names, cols = [], []
    for side in SIDES:  # right leg then left, as in OpenSim's gait models
        for joint in JOINT_NAMES:
            key = joint_name(joint, side)
            if key not in angles:
                continue
            for k, ax in enumerate(ANGLE_AXES):
                template, sign = OPENSIM_COORDINATES[(joint, ax)]
                names.append(template.format(s=SIDE_PREFIX[side]))
                cols.append(sign * np.asarray(angles[key], float)[:, k])
    if not cols:
        raise ImukinError("no joint angles to write")
    return names, np.stack(cols, axis=1)


def write_mot(path: str | os.PathLike, t: np.ndarray, angles: dict, name: str | None = None) -> Path:
    """All joints in one OpenSim motion file (see the module notes), atomically.

    Parameters
    ----------
    path : path-like
        ``.mot`` file.
    t : ndarray, shape (N,)
        Seconds.
    angles : dict of str -> ndarray, shape (N, 3)
        Per joint (``rhip``, ``lknee``, ...), imukin's angles in degrees.
    name : str, optional
        The header's name line (default: the file stem).
    """
    names, values = opensim_columns(angles)  # (N, C)
    data = np.column_stack([np.asarray(t, float), _hold_last(values)])
    write_storage(path, ["time", *names], data, in_degrees=True, name=name, fmt=MOT_FORMAT)
    return Path(path)


def _hold_last(x: np.ndarray) -> np.ndarray:
    """Replace NaN by the last finite value above it (the first finite one at the start; 0 if none)."""
    x = np.array(x, float)
    for c in range(x.shape[1]):
        col = x[:, c]
        ok = np.isfinite(col)
        if not ok.any():
            col[:] = 0.0
            continue
        idx = np.where(ok, np.arange(len(col)), 0)
        np.maximum.accumulate(idx, out=idx)
        first = int(np.argmax(ok))
        idx[:first] = first
        x[:, c] = col[idx]
    return x


__all__ = ["write_joint_csv", "write_mot", "opensim_columns", "CSV_HEADER"]
