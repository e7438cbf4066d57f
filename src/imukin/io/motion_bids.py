"""Motion-BIDS recordings: the BIDS standard's motion data (``*_motion.tsv`` with ``*_channels.tsv``).

A recording of the BIDS motion modality is three files with one stem, e.g.
``sub-01_task-walk_tracksys-imu_motion.tsv``::

    ..._motion.tsv     the samples: tab-separated, no header, one column per channel, ``n/a`` where missing
    ..._channels.tsv   one row per column of the samples, in their order, with a header naming at least
                       ``name``, ``component`` (x, y, z, ...), ``type`` (ACCEL, GYRO, MAGN, LATENCY, ...),
                       ``tracked_point`` (where the sensor was worn) and ``units``
    ..._motion.json    ``SamplingFrequency`` (Hz), among other metadata

Every tracked point with ``ACCEL`` and ``GYRO`` channels for x, y and z becomes one
:class:`imukin.io.imu_csv.ImuRecording` named after it (``LeftFoot``, ``pelvis``, ``right_shank`` name their
segments for :func:`imukin.io.recording.segment_from_name`); other channel types are left out. The rate is
the sidecar's ``SamplingFrequency`` (a ``sampling_frequency`` column of the channels overrides it); a
``LATENCY`` channel, where there is one, gives each sample's time in seconds. The units are those of the
``units`` column, checked against the data.

>>> from imukin.io.motion_bids import read_motion_bids   # doctest: +SKIP
>>> [r.name for r in read_motion_bids("sub-01_task-walk_tracksys-imu_motion.tsv")]   # doctest: +SKIP
['pelvis', 'left_foot', 'right_foot']
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

from imukin.errors import ImukinError
from imukin.io.imu_csv import ImuRecording, stamp_rate
from imukin.io.units import ACC_UNITS, GYR_UNITS, convert_units, unit_in_name

SUFFIX = "_motion.tsv"  # the samples; the channels and the sidecar share the stem
CHANNELS_SUFFIX, SIDECAR_SUFFIX = "_channels.tsv", "_motion.json"
REQUIRED_COLUMNS = ("name", "component", "type", "tracked_point", "units")
SIGNAL_TYPES = {"ACCEL": "acc", "GYRO": "gyr"}  # BIDS channel type -> the signal imukin reads
MISSING = ("n/a", "nan", "NaN", "")  # cells that mark a missing sample


def is_motion_bids(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the samples file of a Motion-BIDS recording (``*_motion.tsv`` beside its channels)."""
    path = Path(path)
    return path.name.endswith(SUFFIX) and _sibling(path, CHANNELS_SUFFIX).is_file()


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name[: -len(SUFFIX)] + suffix)


def _channels(path: Path) -> list[dict]:
    """The rows of a ``*_channels.tsv``, each a dict of its columns."""
    with open(path, newline="", errors="replace") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    missing = [c for c in REQUIRED_COLUMNS if not rows or c not in rows[0]]
    if missing:
        raise ImukinError(f"{path.name} lacks the column(s) {', '.join(missing)} that Motion-BIDS channels name; "
                          "write it as the BIDS motion specification says")
    return [{k: (v or "").strip() for k, v in r.items()} for r in rows]


def _rate(path: Path, channels: list[dict]) -> float | None:
    """The sampling rate (Hz): the channels' ``sampling_frequency`` where all of them give one, else the
    sidecar's ``SamplingFrequency``; None where neither does."""
    given = {r.get("sampling_frequency", "") for r in channels} - {"", "n/a"}
    if len(given) == 1:
        return float(given.pop())
    sidecar = _sibling(path, SIDECAR_SUFFIX)
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text())
        except json.JSONDecodeError as e:
            raise ImukinError(f"{sidecar.name} is not valid JSON ({e})") from None
        if meta.get("SamplingFrequency") not in (None, "n/a"):
            return float(meta["SamplingFrequency"])
    return None


def read_motion_bids(path: str | os.PathLike, acc_units: str = "auto", gyr_units: str = "auto",
                     fs: float | None = None) -> list[ImuRecording]:
    """Every tracked point with an accelerometer and a gyroscope in a Motion-BIDS recording.

    Parameters
    ----------
    path : path-like
        The ``*_motion.tsv``; its ``*_channels.tsv`` and ``*_motion.json`` lie beside it.
    acc_units, gyr_units : str
        ``"auto"`` (the ``units`` column's, checked against the data) or a unit that wins.
    fs : float, optional
        Hz, for a recording that states no rate and has no ``LATENCY`` channel.

    Returns
    -------
    list of ImuRecording
        One per tracked point, in the channels' order; ``name`` and ``meta["device_id"]`` the tracked point,
        ``t`` from a ``LATENCY`` channel where there is one.

    Raises
    ------
    ImukinError
        No channels file, columns the specification requires missing, no tracked point with both signals,
        samples whose column count differs from the channels', no rate and no latency channel.
    """
    path = Path(path)
    chan_path = _sibling(path, CHANNELS_SUFFIX)
    if not path.is_file() or not chan_path.is_file():
        raise ImukinError(f"{path.name}: a Motion-BIDS recording needs its samples (*{SUFFIX}) and channels "
                          f"(*{CHANNELS_SUFFIX}) side by side; {chan_path.name if path.is_file() else path.name} "
                          "is missing")
    channels = _channels(chan_path)
    try:
        data = np.genfromtxt(path, delimiter="\t", missing_values=MISSING, filling_values=np.nan, dtype=float,
                             ndmin=2)
    except ValueError as e:
        raise ImukinError(f"{path.name}: rows of unequal length or text among the samples ({e})") from None
    if data.shape[1] != len(channels):
        raise ImukinError(f"{path.name} has {data.shape[1]} columns but {chan_path.name} describes {len(channels)} "
                          "channels; they must match one to one")
    latency = [i for i, r in enumerate(channels) if r["type"].upper() == "LATENCY"]
    t = data[:, latency[0]] if latency else None
    rate = _rate(path, channels) or fs
    if rate is None and t is None:
        raise ImukinError(f"{path.name}: no SamplingFrequency in {_sibling(path, SIDECAR_SUFFIX).name} and no "
                          "LATENCY channel; pass the rate (--fs)")
    points: dict[str, dict] = {}  # tracked point -> {"acc": {component: column}, "gyr": ..., units}
    for i, r in enumerate(channels):
        kind = SIGNAL_TYPES.get(r["type"].upper())
        if kind is None or r["component"].lower() not in ("x", "y", "z"):
            continue
        p = points.setdefault(r["tracked_point"], {"acc": {}, "gyr": {}, "acc_units": set(), "gyr_units": set()})
        p[kind][r["component"].lower()] = i
        p[f"{kind}_units"].add(r["units"])
    out = []
    for name, p in points.items():
        if len(p["acc"]) < 3 or len(p["gyr"]) < 3:
            continue
        acc = data[:, [p["acc"][c] for c in "xyz"]]
        gyr = data[:, [p["gyr"][c] for c in "xyz"]]
        ok = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1)
        if t is not None:
            ok &= np.isfinite(t)
        if ok.sum() < 2:
            raise ImukinError(f"{path.name}: {name} has fewer than 2 complete samples")
        declared = [(_unit(p["acc_units"], ACC_UNITS), "header"), (_unit(p["gyr_units"], GYR_UNITS), "header")]
        declared = [(u, how if u else "motion-bids") for u, how in declared]
        a, g, units = convert_units(acc[ok], gyr[ok], declared, acc_units, gyr_units, f"{path.name}: {name}")
        ts = None if t is None else t[ok] - t[ok][0]
        fs = rate if rate is not None else stamp_rate(ts)
        if t is None and not ok.all():  # gaps without stamps: their samples stay NaN, on the grid
            a_full, g_full = np.full(acc.shape, np.nan), np.full(gyr.shape, np.nan)
            a_full[ok], g_full[ok] = a, g
            a, g = a_full, g_full
        out.append(ImuRecording(name=name, acc=a, gyr=g, fs=fs, t=ts, t_start=None if t is None else float(t[ok][0]),
                                source=str(path), preset="motion-bids", units=units,
                                meta={"device_id": name, "tracked_point": name}))
    if not out:
        raise ImukinError(f"{path.name}: no tracked point has ACCEL and GYRO channels for x, y and z in "
                          f"{chan_path.name}")
    return out


def _unit(found: set, choices) -> str | None:
    """The one unit a signal's three channels name (``m/s^2``, ``g``, ``rad/s``, ``deg/s``), or None."""
    units = {unit_in_name(f"({u})", choices) for u in found}
    return units.pop() if len(units) == 1 else None


__all__ = ["is_motion_bids", "read_motion_bids"]
