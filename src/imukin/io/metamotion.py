"""MbientLab MetaMotion recordings: MetaBase's CSV exports, one file per signal of each sensor.

MetaBase (and the MetaWear apps) write every signal of every sensor to its own file, named
``<device name>_<YYYY-MM-DDTHH.MM.SS.mmm>_<MAC>_<Signal>[_<rate>Hz_<firmware>].csv``, e.g.
``RightThigh_2023-03-16T13.51.10.120_C8E2A1F4B7D0_Gyroscope_100.000Hz_1.7.3.csv``::

    epoc (ms),timestamp (+0100),elapsed (s),x-axis (g),y-axis (g),z-axis (g)                 (Accelerometer)
    epoc (ms),timestamp (+0100),elapsed (s),x-axis (deg/s),y-axis (deg/s),z-axis (deg/s)     (Gyroscope)

``epoc (ms)`` is Unix time in milliseconds (one clock for the sensors of a session). The accelerometer
and the gyroscope are sampled on their own, so their stamps differ (and their rates may): the gyroscope is
read at the accelerometer's stamps (linear interpolation) over the span both cover, and the sensor's rate
is the accelerometer's. Signals other than these two (magnetometer, quaternions, Euler angles, pressure)
are left out. The units are those of the column names, checked against the data
(:func:`imukin.io.units.convert_units`).

A sensor's name is its device name (``RightThigh`` names the right thigh for
:func:`imukin.io.recording.segment_from_name`), its ``meta["device_id"]`` the MAC address.

>>> from imukin.io.metamotion import metamotion_sensors   # doctest: +SKIP
>>> pairs, others = metamotion_sensors(sorted(Path("session").glob("*.csv")))   # doctest: +SKIP
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from imukin.errors import ImukinError
from imukin.io.imu_csv import ImuRecording, increasing_stamps, stamp_rate
from imukin.io.units import ACC_UNITS, GYR_UNITS, convert_units, unit_in_name
from imukin.signal import interp_columns

SIGNALS = ("accelerometer", "gyroscope")  # the two files a sensor needs, as MetaBase names them
TIME_COLUMNS = {"epoc (ms)": 1e-3, "epoch (ms)": 1e-3}  # Unix-time column -> seconds per unit
_STEM = re.compile(r"^(?P<key>.+?)_(?P<signal>[A-Za-z]+)(?:_[\d.]+Hz(?:_.*)?)?$")  # <key>_<Signal>[_<rate>Hz_<fw>]
_KEY = re.compile(r"^(?P<name>.*?)_?(?P<when>\d{4}-\d{2}-\d{2}T[\d.]+)_(?P<mac>[0-9A-Fa-f]{12})$")


def is_metamotion_file(path: str | Path) -> bool:
    """Whether ``path`` is a MetaBase CSV export (its header: a Unix-ms column and ``x-axis (...)`` columns)."""
    try:
        with open(path, errors="replace") as f:
            head = f.readline().strip().lower()
    except OSError:
        return False
    return any(c in head for c in TIME_COLUMNS) and "x-axis (" in head


def metamotion_sensors(files: list[Path]) -> tuple[dict[str, tuple[Path, Path]], list[Path], list[str]]:
    """The MetaBase exports among ``files``, paired per sensor.

    Parameters
    ----------
    files : list of Path

    Returns
    -------
    pairs : dict of str -> (Path, Path)
        Sensor key (file stem before the signal) -> its accelerometer and gyroscope files, in the files' order.
    others : list of Path
        The files that are not MetaBase exports.
    notes : list of str
        The MetaBase signals left out (one line each).

    Raises
    ------
    ImukinError
        A sensor with only one of its two signals, or one signal given twice.
    """
    found: dict[str, dict[str, Path]] = {}
    others, notes = [], []
    for p in files:
        if not is_metamotion_file(p):
            others.append(p)
            continue
        m = _STEM.match(p.stem)
        signal = m.group("signal").lower() if m else ""
        if signal not in SIGNALS:
            notes.append(f"{p.name}: MetaMotion {signal or 'signal'} export left out (imukin reads the "
                         "accelerometer and the gyroscope)")
            continue
        got = found.setdefault(m.group("key"), {})
        if signal in got:
            raise ImukinError(f"{p.name} and {got[signal].name} are both the {signal} of sensor {m.group('key')}; "
                              "keep one export per signal")
        got[signal] = p
    pairs = {}
    for key, got in found.items():
        missing = [s for s in SIGNALS if s not in got]
        if missing:
            have = next(iter(got.values())).name
            raise ImukinError(f"MetaMotion sensor {key} has {have} but no {missing[0]} export; export both the "
                              "accelerometer and the gyroscope (MetaBase: one file each)")
        pairs[key] = (got["accelerometer"], got["gyroscope"])
    return pairs, others, notes


def _read_signal(path: Path, units) -> tuple[np.ndarray, float, np.ndarray, str | None]:
    """One MetaBase file: its Unix time as written (ms, exact as integers), seconds per unit of it, (N, 3)
    x/y/z-axis values as written, and the unit its header names."""
    with open(path, errors="replace") as f:
        header = [h.strip().strip('"') for h in f.readline().split(",")]
    low = [h.lower() for h in header]
    t_col = next((low.index(c) for c in TIME_COLUMNS if c in low), None)
    axes = [next((i for i, h in enumerate(low) if h.startswith(f"{a}-axis")), None) for a in "xyz"]
    if t_col is None or None in axes:
        raise ImukinError(f"{path.name} has no 'epoc (ms)' and x-, y-, z-axis columns; its header is "
                          f"{', '.join(header)}; export it again from MetaBase")
    try:
        data = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=[t_col, *axes], dtype=float, ndmin=2)
    except ValueError as e:
        raise ImukinError(f"{path.name}: rows that are not numbers ({e}); export it again") from None
    ok = np.all(np.isfinite(data), axis=1)
    if ok.sum() < 2:
        raise ImukinError(f"{path.name} holds fewer than 2 complete rows; export it again")
    t, xyz = increasing_stamps(data[ok, 0], data[ok, 1:])  # a repeated stamp: the first sample counts
    return t, TIME_COLUMNS[low[t_col]], xyz, unit_in_name(header[axes[0]], units)


def read_metamotion(acc_path: str | Path, gyr_path: str | Path, acc_units: str = "auto",
                    gyr_units: str = "auto") -> ImuRecording:
    """One MetaMotion sensor from its accelerometer and gyroscope exports, in m/s^2 and rad/s.

    Parameters
    ----------
    acc_path, gyr_path : path-like
        The sensor's ``..._Accelerometer....csv`` and ``..._Gyroscope....csv``.
    acc_units, gyr_units : str
        ``"auto"`` (the column names' units, checked against the data) or a unit that wins.

    Returns
    -------
    ImuRecording
        On the accelerometer's stamps where the gyroscope also recorded; ``name`` the device name,
        ``meta["device_id"]`` the MAC address (both from the file name), ``t_start`` in seconds since 1970.

    Raises
    ------
    ImukinError
        Missing columns, non-numeric rows, no common span, units the data contradict.
    """
    acc_path, gyr_path = Path(acc_path), Path(gyr_path)
    raw_a, scale, acc, unit_a = _read_signal(acc_path, ACC_UNITS)
    raw_g, scale_g, gyr, unit_g = _read_signal(gyr_path, GYR_UNITS)
    ref = raw_a[0]  # differences of the stamps as written are exact; seconds since 1970 would lose microseconds
    t_a, t_g = (raw_a - ref) * scale, (raw_g - ref * scale / scale_g) * scale_g  # (N,), (M,) s from ref
    both = (t_a >= t_g[0]) & (t_a <= t_g[-1])  # accelerometer samples the gyroscope spans
    if both.sum() < 2:
        raise ImukinError(f"{acc_path.name} and {gyr_path.name} do not overlap in time (accelerometer "
                          f"{t_a[0]:.3f}-{t_a[-1]:.3f} s, gyroscope {t_g[0]:.3f}-{t_g[-1]:.3f} s from the first "
                          "accelerometer stamp); export the two signals of the same session")
    t, acc = t_a[both], acc[both]
    gyr = interp_columns(t, t_g, gyr)  # (N, 3) at the acc stamps
    m = _STEM.match(acc_path.stem)
    key = m.group("key") if m else acc_path.stem
    k = _KEY.match(key)
    name, mac = (k.group("name") or key, k.group("mac").upper()) if k else (key, key)
    declared = [(unit_a, "header" if unit_a else "metamotion"), (unit_g, "header" if unit_g else "metamotion")]
    acc, gyr, units = convert_units(acc, gyr, declared, acc_units, gyr_units, f"{acc_path.name}: {name}")
    return ImuRecording(name=name, acc=acc, gyr=gyr, fs=stamp_rate(t - t[0]), t=t - t[0],
                        t_start=float(ref * scale + t[0]),
                        source=str(acc_path), preset="metamotion", units=units,
                        meta={"device_id": mac, "gyroscope_file": str(gyr_path)})


def on_common_clock(recs: list[ImuRecording]) -> list[ImuRecording]:
    """Sensors recorded on their own (each on its own stamps, starting when it started) on one grid of their
    shared Unix time: the span every sensor covers, at the median of their rates (linear interpolation).

    MetaMotion sensors are not sampled together; their stamps come from one host clock (to about a
    millisecond), so the same instant has the same stamp in every file, whatever sample it fell on.

    Raises
    ------
    ImukinError
        The sensors do not overlap in time.
    """
    start = max(r.t_start for r in recs)
    stop = min(r.t_start + r.t[-1] for r in recs)
    rate = float(np.median([r.fs for r in recs]))
    if stop - start < 2.0 / rate:
        spans = ", ".join(f"{r.name} {r.t_start:.3f}-{r.t_start + r.t[-1]:.3f}" for r in recs)
        raise ImukinError(f"the MetaMotion sensors do not record at the same time (s since 1970: {spans}); export "
                          "the files of one session")
    t = np.arange(int(np.floor((stop - start) * rate + 1e-9)) + 1) / rate  # (N,) s from the common start
    out = []
    for r in recs:
        tr = r.t + (r.t_start - start)  # (N,) its stamps on the common axis (the large numbers first)
        acc, gyr = interp_columns(t, tr, r.acc), interp_columns(t, tr, r.gyr)
        out.append(ImuRecording(name=r.name, acc=acc, gyr=gyr, fs=rate, t=t, t_start=start, source=r.source,
                                preset=r.preset, units=dict(r.units), meta=dict(r.meta)))
    return out


__all__ = ["is_metamotion_file", "metamotion_sensors", "on_common_clock", "read_metamotion"]
