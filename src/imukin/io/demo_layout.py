"""The reference demo folder layout: one leg's two IMUs as ``.npy`` (or ``.csv``) files.

``.npy`` form (as in the reference demo)::

    <Side>_seg1_acc.npy  <Side>_seg1_gyr.npy  <Side>_seg2_acc.npy  <Side>_seg2_gyr.npy
    <Side>_mocap_angle.npy          optional reference angles, degrees

each (T, 3) (or (S, T, 3) for S sequences), acc in m/s^2 and gyr in rad/s, ``<Side>`` =
``Left`` or ``Right``; seg1 is the proximal sensor of the joint, seg2 the distal one.

``.csv`` form::

    <Side>_seg1.csv  <Side>_seg2.csv    columns acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z (time_s optional)
    <Side>_mocap_angle.csv              columns flexion,adduction,rotation (time_s optional)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imukin.conventions import ANGLE_AXES, SIDES
from imukin.errors import ImukinError

IMU_CSV_COLUMNS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")


@dataclass
class LegRecording:
    """One leg's recording from a demo folder."""

    side: str  # "right" or "left"
    acc1: np.ndarray  # (S, T, 3) m/s^2, proximal sensor
    gyr1: np.ndarray  # (S, T, 3) rad/s
    acc2: np.ndarray  # (S, T, 3) distal sensor
    gyr2: np.ndarray  # (S, T, 3)
    reference: np.ndarray | None  # (S, T, 3) degrees, or None
    fs: float | None  # Hz if the files carry time stamps, else None


def available_sides(root: str | Path) -> list[str]:
    """Sides (``right``/``left``) that have a complete set of files in ``root``."""
    root = _check_root(root)
    return [side for side in SIDES if _npy_paths(root, side)[0].exists() or _csv_paths(root, side)[0].exists()]


def _check_root(root) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise ImukinError(f"--root-path {root} is not a folder; pass the folder holding Right_seg1_acc.npy etc.")
    return root


def _npy_paths(root: Path, side: str):
    s = side.capitalize()
    return [root / f"{s}_seg{k}_{q}.npy" for k in (1, 2) for q in ("acc", "gyr")] + [root / f"{s}_mocap_angle.npy"]


def _csv_paths(root: Path, side: str):
    s = side.capitalize()
    return [root / f"{s}_seg1.csv", root / f"{s}_seg2.csv", root / f"{s}_mocap_angle.csv"]


def read_leg(root: str | Path, side: str) -> LegRecording:
    """Read one leg from a demo folder (``.npy`` files first, else ``.csv``).

    Raises
    ------
    ImukinError
        Missing files (named), wrong shapes, non-finite samples.
    """
    root = _check_root(root)
    npy = _npy_paths(root, side)
    if any(p.exists() for p in npy[:4]):
        missing = [p.name for p in npy[:4] if not p.exists()]
        if missing:
            raise ImukinError(f"{root} lacks {', '.join(missing)}; a leg needs seg1/seg2 acc and gyr files")
        arrays = [_load_npy(p) for p in npy[:4]]
        ref = _load_npy(npy[4]) if npy[4].exists() else None
        fs = None
    else:
        csvs = _csv_paths(root, side)
        if not (csvs[0].exists() or csvs[1].exists()):
            raise ImukinError(f"{root} has no {side.capitalize()}_seg1_acc.npy (or {csvs[0].name}); "
                              f"see 'imukin predict --help' for the folder layout")
        missing = [p.name for p in csvs[:2] if not p.exists()]
        if missing:
            raise ImukinError(f"{root} lacks {', '.join(missing)}")
        (s1, fs1), (s2, _) = (_load_csv(p, IMU_CSV_COLUMNS) for p in csvs[:2])
        arrays = [s1[None, :, 0:3], s1[None, :, 3:6], s2[None, :, 0:3], s2[None, :, 3:6]]
        ref = _load_csv(csvs[2], ANGLE_AXES)[0][None] if csvs[2].exists() else None
        fs = fs1
    lengths = {a.shape[:2] for a in arrays}
    if len(lengths) != 1:
        raise ImukinError(f"{side} sensor files in {root} differ in length {sorted(lengths)}; "
                          "they must be synchronised")
    if ref is not None and ref.shape[:2] != arrays[0].shape[:2]:
        raise ImukinError(f"{side} reference angles have {ref.shape[:2]} frames but the IMUs have "
                          f"{arrays[0].shape[:2]}; resample the reference to the IMU rate")
    return LegRecording(side, *arrays, reference=ref, fs=fs)


def _load_npy(path: Path) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise ImukinError(f"{path.name} is not a plain numeric .npy array ({e}); save it with np.save") from None
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[-1] != 3:
        raise ImukinError(f"{path.name} has shape {a.shape}; expected (T, 3) or (S, T, 3)")
    a = a.astype(np.float64)
    _check_finite(a, path.name)
    return a


def _load_csv(path: Path, columns) -> tuple[np.ndarray, float | None]:
    with open(path) as f:
        header = [h.strip() for h in f.readline().strip().split(",")]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ImukinError(f"{path.name} lacks column(s) {', '.join(missing)}; its header is {','.join(header)}")
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    if data.shape[1] != len(header):
        raise ImukinError(f"{path.name}: rows have {data.shape[1]} values but the header names {len(header)}")
    out = data[:, [header.index(c) for c in columns]]
    _check_finite(out, path.name)
    fs = None
    if "time_s" in header:
        t = data[:, header.index("time_s")]
        dt = np.diff(t)
        if len(dt) and np.all(dt > 0):
            fs = float(1.0 / np.median(dt))
    return out, fs


def _check_finite(a: np.ndarray, name: str) -> None:
    bad = ~np.all(np.isfinite(a), axis=-1).reshape(-1)
    if bad.any():
        idx = np.flatnonzero(bad)
        raise ImukinError(f"{name} has NaN or inf samples ({idx.size} frames, first at {idx[0]}, last at {idx[-1]}); "
                          "fill or cut the gaps before predicting")


