"""IMU recordings in text files: a generic CSV with a column mapping, and presets for common exports.

Presets (``preset="auto"`` picks one from the file's first lines)
-----------------------------------------------------------------
``xsens``
    Xsens MT Manager text export: ``//`` comment lines (device, settings, sometimes
    ``// Update Rate: 100.0Hz``), then a tab-separated header with ``PacketCounter
    SampleTimeFine ... Acc_X Acc_Y Acc_Z Gyr_X Gyr_Y Gyr_Z``. ``SampleTimeFine``
    counts 100 us ticks (wrapping at 2^32), ``PacketCounter`` wraps at 2^16.
    Default units m/s^2 and rad/s.
``dot``
    Movella DOT CSV export: a few ``key: value`` lines (``DeviceTag``, firmware, ...),
    then a comma-separated header with ``PacketCounter,SampleTimeFine,...,Acc_X,...,
    Gyr_Z``. ``SampleTimeFine`` counts microseconds (wrapping at 2^32). Default units
    m/s^2 and deg/s.
``gaitmap``
    Two header rows, sensor names then axes (``acc_x ... gyr_z``), first column an
    index, one column group per sensor (as the mad-lab-fau/gaitmap example data).
    No time stamps: pass ``fs``. Default units m/s^2 and deg/s (gaitmap's convention).
``shimmer``
    Shimmer Consensys CSV export: an optional ``"sep=,"`` line naming the delimiter, a
    header of ``<device>_<signal>_CAL`` columns (``Shimmer_40AC_Accel_WR_X_CAL``,
    ``Shimmer_40AC_Gyro_X_CAL``, ``Shimmer_40AC_Timestamp_Unix_CAL``; ``<device>`` is
    the name given in Consensys, e.g. ``RightThigh``), then a units row (``ms``,
    ``m/(s^2)``, ``deg/s``; sometimes a ``CAL`` row before it). One sensor per device
    named in the header; the wide-range accelerometer (``Accel_WR``) is taken where
    there is one (the low-noise one, ``Accel_LN``, saturates at 2 g on a shank or foot),
    ``Timestamp_Unix`` (ms since 1970) for the time. Default units m/s^2 and deg/s.
``generic``
    One header row. Columns found by name (``acc_x``/``ax``/``Acc_X``/``accX``/``AccelX``/
    ``Accelerometer X``..., the same for ``gyr``/``gyro``/``Gyroscope X``; time in
    ``time_s``, ``time``, ``timestamp`` or ``t``), or given with ``columns={"acc": [...], "gyr": [...], "time": ...,
    "time_scale": seconds per unit}``. Units from the header (``acc_x (g)``,
    ``gyr_x [deg/s]``) or detected.

Units
-----
Units stated in the header (``Acc_X (g)``, ``gyr_x [deg/s]``) are used as given, and
data that contradict them raise. Otherwise units are assumed and a warning names the
assumption and the evidence: an accelerometer whose median magnitude is about 1
(0.5-2) is in g, about 9.81 (5-20) in m/s^2; a gyroscope whose 99th percentile of
``|gyr|`` exceeds 30 is in deg/s. Where the data cannot tell (a still gyroscope), the
preset's default holds (Xsens rad/s, DOT and gaitmap deg/s), else rad/s. Explicit
``acc_units``/``gyr_units`` arguments skip all of this, without a warning.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imukin.errors import ImukinError
from imukin.io.units import ACC_UNITS, GYR_UNITS, convert_units, detect_units, unit_in_name

PRESETS = ("auto", "xsens", "dot", "gaitmap", "shimmer", "generic")

_PRESET_UNITS = {"xsens": ("m/s^2", "rad/s"), "dot": ("m/s^2", "deg/s"), "gaitmap": ("m/s^2", "deg/s"),
                 "shimmer": ("m/s^2", "deg/s")}
_TICK_S = {"xsens": 1e-4, "dot": 1e-6}  # seconds per SampleTimeFine tick
_NAME_ALIASES = {  # x, y, z column names, lower case, units stripped; the first complete triple is taken
    "acc": [("acc_x", "acc_y", "acc_z"), ("ax", "ay", "az"), ("accx", "accy", "accz"),
            ("accel_x", "accel_y", "accel_z"), ("acc x", "acc y", "acc z"), ("accelx", "accely", "accelz"),
            ("accel x", "accel y", "accel z"), ("accelerometer_x", "accelerometer_y", "accelerometer_z"),
            ("accelerometer x", "accelerometer y", "accelerometer z"), ("acc.x", "acc.y", "acc.z")],
    "gyr": [("gyr_x", "gyr_y", "gyr_z"), ("gx", "gy", "gz"), ("gyrx", "gyry", "gyrz"), ("gyro_x", "gyro_y", "gyro_z"),
            ("gyrox", "gyroy", "gyroz"), ("gyr x", "gyr y", "gyr z"), ("gyro x", "gyro y", "gyro z"),
            ("gyroscope_x", "gyroscope_y", "gyroscope_z"), ("gyroscope x", "gyroscope y", "gyroscope z"),
            ("gyr.x", "gyr.y", "gyr.z")],
}
_TIME_NAMES = {"time_s": 1.0, "time": 1.0, "timestamp_s": 1.0, "t": 1.0, "time_ms": 1e-3, "timestamp_ms": 1e-3,
               "timestamp": None, "time_us": 1e-6}


@dataclass
class ImuRecording:
    """One sensor's signals read from a file, converted to m/s^2 and rad/s."""

    name: str  # sensor name (file stem, or the sensor's column group)
    acc: np.ndarray  # (N, 3) m/s^2, sensor frame
    gyr: np.ndarray  # (N, 3) rad/s, sensor frame
    fs: float | None  # Hz: given, from the header, or estimated from time stamps; None if unknown
    t: np.ndarray | None = None  # (N,) s, time stamps (starting at 0), None without a time column
    t_start: float | None = None  # s, the first time stamp on the file's own clock (t counts from it), or None
    source: str = ""  # file path
    preset: str = ""  # format the file was read as
    units: dict = field(default_factory=dict)  # {"acc": "...", "gyr": "..."}: units found and how
    meta: dict = field(default_factory=dict)  # header key/values (device id, firmware, ...)

    @property
    def n_frames(self) -> int:
        return int(self.acc.shape[0])


# ---------------------------------------------------------------- entry point
def read_imu_csv(path: str | os.PathLike, preset: str = "auto", columns: dict | None = None, fs: float | None = None,
                 acc_units: str = "auto", gyr_units: str = "auto", sensors: list[str] | None = None
                 ) -> list[ImuRecording]:
    """Read IMU signals from a text export.

    Parameters
    ----------
    path : path-like
        ``.csv``/``.txt`` file.
    preset : {"auto", "xsens", "dot", "gaitmap", "shimmer", "generic"}
        File format (see the module notes); ``"auto"`` looks at the first lines.
    columns : dict, optional
        Column mapping for ``generic`` files: ``{"acc": [x, y, z], "gyr": [x, y, z],
        "time": name, "time_scale": seconds per time unit}`` (time optional).
    fs : float, optional
        Sampling rate in Hz. Needed for files without time stamps or a rate in the
        header (``gaitmap``); otherwise the header's rate or the stamps' median step.
    acc_units : {"auto", "m/s^2", "g"}
    gyr_units : {"auto", "rad/s", "deg/s"}
    sensors : list of str, optional
        Only these sensors of a multi-sensor file.

    Returns
    -------
    list of ImuRecording
        One per sensor in the file (one for single-sensor formats).

    Raises
    ------
    ImukinError
        Missing file or columns, non-numeric data, contradictory or undetectable units.
    """
    path = Path(path)
    if not path.is_file():
        raise ImukinError(f"IMU file {path} does not exist; check the path")
    if preset not in PRESETS:
        raise ImukinError(f"unknown IMU file preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    if acc_units not in ("auto",) + ACC_UNITS or gyr_units not in ("auto",) + GYR_UNITS:
        raise ImukinError(f"units must be auto, {'/'.join(ACC_UNITS)} (acc) and {'/'.join(GYR_UNITS)} (gyr); "
                          f"got {acc_units!r}, {gyr_units!r}")
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as e:
        raise ImukinError(f"cannot read {path} ({e.strerror}); check permissions") from None
    if not any(line.strip() for line in lines):
        raise ImukinError(f"{path} is empty; export the recording again")
    if preset == "auto":
        preset = detect_preset(lines)
    if preset == "gaitmap":
        recs = _read_gaitmap(path, lines, fs, sensors)
    elif preset == "shimmer":
        recs = _read_shimmer(path, lines, fs, sensors)
    else:
        recs = [_read_single(path, lines, preset, columns, fs)]
    out = []
    for rec, (raw_acc, raw_gyr, declared) in recs:
        rec.acc, rec.gyr, rec.units = convert_units(raw_acc, raw_gyr, declared, acc_units, gyr_units,
                                                     f"{path.name}:{rec.name}")
        out.append(rec)
    return out


def detect_preset(lines: list[str]) -> str:
    """Guess the export format from a file's lines (see the module notes)."""
    head = [line for line in lines[:60] if line.strip()]
    if not head:
        return "generic"
    if head[0].lstrip().startswith("//") or any("MT Manager" in line for line in head[:20]):
        return "xsens"
    if _SHIMMER_SEP.match(head[0]) or any(_SHIMMER_GYRO.search(c.strip().strip('"'))
                                          for line in head[:3] for c in re.split(r"[,;\t]", line)):
        return "shimmer"
    for line in head:
        if "PacketCounter" in line or "SampleTimeFine" in line:
            return "xsens" if "\t" in line else "dot"
    if len(head) >= 2:
        second = [c.strip().lower() for c in re.split(r"[,;\t]", head[1])]
        if {"acc_x", "gyr_x"} <= set(second) and not _is_number(second[1] if len(second) > 1 else ""):
            return "gaitmap"
    return "generic"


# ---------------------------------------------------------------- formats
def _read_single(path: Path, lines: list[str], preset: str, columns: dict | None, fs: float | None):
    meta: dict = {}
    header_idx = None
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        if s.startswith("//") or s.startswith("#"):
            _meta_line(s.lstrip("/#").strip(), meta)
            continue
        if preset in ("xsens", "dot") and "PacketCounter" not in s and "Acc_X" not in s:
            _meta_line(s, meta)  # preamble line of a DOT export
            continue
        header_idx = i
        break
    if header_idx is None:
        raise ImukinError(f"{path.name} has no header row; expected column names such as acc_x ... gyr_z")
    delim = _delimiter(lines[header_idx])
    header = [h.strip() for h in lines[header_idx].rstrip(delim + " \r\n").split(delim)]
    data = _numeric(path, lines[header_idx + 1:], delim, len(header))
    names_l = [_bare(h) for h in header]
    declared = [None, None]
    if columns:
        acc_cols = _find_cols(path, header, columns.get("acc"), "acc")
        gyr_cols = _find_cols(path, header, columns.get("gyr"), "gyr")
    else:
        acc_cols = _guess_cols(path, names_l, "acc")
        gyr_cols = _guess_cols(path, names_l, "gyr")
    for k, (cols, choices) in enumerate(((acc_cols, ACC_UNITS), (gyr_cols, GYR_UNITS))):
        unit = unit_in_name(header[cols[0]], choices)
        if unit:
            declared[k] = (unit, "header")
        elif preset in _PRESET_UNITS:
            declared[k] = (_PRESET_UNITS[preset][k], f"{preset} preset")
        else:
            declared[k] = (None, "")
    acc, gyr = data[:, acc_cols], data[:, gyr_cols]
    t = None
    if preset in _TICK_S and "sampletimefine" in names_l:
        ticks = data[:, names_l.index("sampletimefine")]
        if np.all(np.isfinite(ticks)):
            t = _unwrap(ticks, 2.0 ** 32) * _TICK_S[preset]
    if t is None and preset in _TICK_S and "packetcounter" in names_l:
        pc = data[:, names_l.index("packetcounter")]
        rate = fs or _rate_from_meta(meta)
        if rate and np.all(np.isfinite(pc)):
            t = _unwrap(pc, 2.0 ** 16) / rate
    if t is None and preset not in _TICK_S:
        tcol, scale = _time_column(path, header, names_l, columns)
        if tcol is not None:
            t = data[:, tcol]
            if scale is None:  # bare "timestamp": guess seconds or milliseconds from the step
                step = np.median(np.diff(t)) if len(t) > 1 else 1.0
                scale = 1e-3 if step > 0.5 else 1.0
                warnings.warn(f"{path.name}: time column '{header[tcol]}' has no unit; assumed "
                              f"{'milliseconds' if scale == 1e-3 else 'seconds'} (median step {step:g})", stacklevel=2)
            t = t * scale
    acc, gyr, t, t_start = _complete_rows(path.name, acc, gyr, t)
    rate = fs or _rate_from_meta(meta) or stamp_rate(t)
    rec = ImuRecording(name=path.stem, acc=acc, gyr=gyr, fs=rate, t=t, t_start=t_start, source=str(path),
                       preset=preset, meta=meta)
    return rec, (acc, gyr, declared)


def _read_gaitmap(path: Path, lines: list[str], fs: float | None, sensors: list[str] | None):
    rows = [line for line in lines if line.strip()]
    if len(rows) < 3:
        raise ImukinError(f"{path.name}: a gaitmap-style file needs two header rows and data")
    delim = _delimiter(rows[1])
    top = [c.strip() for c in rows[0].split(delim)]
    axes = [c.strip().lower() for c in rows[1].split(delim)]
    if len(top) != len(axes):
        raise ImukinError(f"{path.name}: the two header rows have {len(top)} and {len(axes)} columns")
    data = _numeric(path, rows[2:], delim, len(axes))
    groups: dict[str, dict[str, int]] = {}
    for i, (s, a) in enumerate(zip(top, axes)):
        if a in ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"):
            groups.setdefault(s, {})[a] = i
    if not groups:
        raise ImukinError(f"{path.name}: the second header row names no acc_x ... gyr_z columns")
    if sensors:
        missing = [s for s in sensors if s not in groups]
        if missing:
            raise ImukinError(f"{path.name} has no sensor(s) {', '.join(missing)}; it has {', '.join(groups)}")
        groups = {s: groups[s] for s in sensors}
    if fs is None:
        raise ImukinError(f"{path.name} (gaitmap layout) carries no time stamps; pass its sampling rate, e.g. "
                          "--fs 204.8 (fs=204.8 in Python, or 'fs' in the folder's imukin.json)")
    out = []
    for name, cols in groups.items():
        need = [f"{q}_{a}" for q in ("acc", "gyr") for a in "xyz"]
        if any(c not in cols for c in need):
            raise ImukinError(f"{path.name}: sensor {name} lacks {', '.join(c for c in need if c not in cols)}")
        acc = data[:, [cols[f"acc_{a}"] for a in "xyz"]]
        gyr = data[:, [cols[f"gyr_{a}"] for a in "xyz"]]
        if not (np.all(np.isfinite(acc)) and np.all(np.isfinite(gyr))):
            raise ImukinError(f"{path.name}: sensor {name} has empty or non-numeric cells and no time stamps to "
                              "mark the gap; fill them first")
        rec = ImuRecording(name=name, acc=acc, gyr=gyr, fs=float(fs), t=None, source=str(path), preset="gaitmap")
        out.append((rec, (acc, gyr, [(u, "gaitmap preset") for u in _PRESET_UNITS["gaitmap"]])))
    return out


_SHIMMER_SEP = re.compile(r'^\s*"?sep=(.)"?\s*$')
_SHIMMER_GYRO = re.compile(r"^(.+?)_Gyro_X(?:_CAL)?$")
#: Shimmer column kinds, most wanted first: (kind, pattern with the device name and the axis)
_SHIMMER_COLUMNS = (("acc", r"^(.+?)_Accel_WR_([XYZ])(?:_CAL)?$"), ("acc", r"^(.+?)_Accel_LN_([XYZ])(?:_CAL)?$"),
                    ("acc", r"^(.+?)_Accel_([XYZ])(?:_CAL)?$"), ("gyr", r"^(.+?)_Gyro_([XYZ])(?:_CAL)?$"),
                    ("time", r"^(.+?)_Timestamp_Unix(?:_CAL)?$"), ("time", r"^(.+?)_Timestamp(?:_CAL)?$"))
_TIME_UNITS_S = {"ms": 1e-3, "msecs": 1e-3, "s": 1.0, "secs": 1.0, "us": 1e-6}  # units row -> seconds per unit


def _shimmer_unit(cell: str) -> str:
    """A Consensys units cell in imukin's spelling (``m/(s^2)`` -> ``m/s^2``), or '' when it names none."""
    u = cell.strip().strip('"').lower().replace(" ", "").replace("(", "").replace(")", "").replace("²", "^2")
    u = {"m/s2": "m/s^2", "m/s^2": "m/s^2", "g": "g", "deg/s": "deg/s", "deg/sec": "deg/s", "dps": "deg/s",
         "°/s": "deg/s", "rad/s": "rad/s"}.get(u, u)
    return u


def _read_shimmer(path: Path, lines: list[str], fs: float | None, sensors: list[str] | None):
    rows = [line for line in lines if line.strip()]
    sep = _SHIMMER_SEP.match(rows[0]) if rows else None
    if sep:
        rows = rows[1:]
    if len(rows) < 2:
        raise ImukinError(f"{path.name}: a Shimmer export needs a header row and data")
    delim = sep.group(1) if sep else _delimiter(rows[0])
    header = [c.strip().strip('"') for c in rows[0].rstrip(delim + " \r\n").split(delim)]
    k = 1  # rows between the header and the data: a CAL/RAW row, a units row
    while k < len(rows) and not any(_is_number(c) for c in rows[k].split(delim)):
        k += 1
    units = [""] * len(header)
    if k > 1:
        cells = [c.strip() for c in rows[k - 1].split(delim)]
        units = [_shimmer_unit(c) for c in cells[:len(header)]] + [""] * max(0, len(header) - len(cells))
    devices: dict[str, dict] = {}  # device -> kind -> {axis: column}, the first (most wanted) pattern winning
    for kind, pattern in _SHIMMER_COLUMNS:
        found: dict[str, dict] = {}
        for i, name in enumerate(header):
            m = re.match(pattern, name)
            if m:
                found.setdefault(m.group(1), {})["t" if kind == "time" else m.group(2)] = i
        for dev, cols in found.items():
            devices.setdefault(dev, {}).setdefault(kind, cols)
    devices = {d: c for d, c in devices.items() if "acc" in c and "gyr" in c}
    if not devices:
        raise ImukinError(f"{path.name}: no Shimmer device with <name>_Accel_..._X/Y/Z and <name>_Gyro_X/Y/Z columns; "
                          "export the calibrated (CAL) accelerometer and gyroscope")
    if sensors:
        missing = [s for s in sensors if s not in devices]
        if missing:
            raise ImukinError(f"{path.name} has no sensor(s) {', '.join(missing)}; it has {', '.join(devices)}")
        devices = {s: devices[s] for s in sensors}
    data = _numeric(path, rows[k:], delim, len(header))
    out = []
    for name, cols in devices.items():
        idx = {q: [cols[q][a] for a in "XYZ"] for q in ("acc", "gyr") if set(cols[q]) == set("XYZ")}
        if len(idx) < 2:
            raise ImukinError(f"{path.name}: Shimmer device {name} lacks an X, Y or Z column of its accelerometer "
                              "or gyroscope")
        acc, gyr = data[:, idx["acc"]], data[:, idx["gyr"]]
        t = None
        if "time" in cols:
            j = cols["time"]["t"]
            t = data[:, j] * _TIME_UNITS_S.get(units[j], 1e-3)  # Consensys writes milliseconds
        acc, gyr, t, t_start = _complete_rows(f"{path.name}: Shimmer device {name}", acc, gyr, t)
        rate = fs or stamp_rate(t)
        declared = []
        for q, choices, default in (("acc", ACC_UNITS, "m/s^2"), ("gyr", GYR_UNITS, "deg/s")):
            u = units[idx[q][0]]
            declared.append((u, "header") if u in choices else (default, "shimmer preset"))
        rec = ImuRecording(name=name, acc=acc, gyr=gyr, fs=rate, t=t, t_start=t_start, source=str(path),
                           preset="shimmer", meta={"device": name})
        out.append((rec, (acc, gyr, declared)))
    return out


# ---------------------------------------------------------------- helpers
def _complete_rows(where: str, acc: np.ndarray, gyr: np.ndarray, t: np.ndarray | None):
    """A sensor's rows with every acc and gyr value (and stamp) present: ``(acc, gyr, t, t_start)``, ``t`` from
    its first stamp and ``t_start`` that stamp (None without stamps). Incomplete rows are dropped where stamps
    mark the gap they leave for the resampler, refused where nothing does."""
    ok = np.all(np.isfinite(acc), axis=1) & np.all(np.isfinite(gyr), axis=1)  # (N,)
    if t is not None:
        ok &= np.isfinite(t)
    if ok.sum() < 2:
        raise ImukinError(f"{where} holds fewer than 2 complete acc/gyr rows; check the column mapping")
    if not ok.all():
        if t is None:
            raise ImukinError(f"{where} has {int((~ok).sum())} incomplete rows and no time column to mark the "
                              "gap; fill them, or export with time stamps")
        acc, gyr, t = acc[ok], gyr[ok], t[ok]
    if t is None:
        return acc, gyr, None, None
    return acc, gyr, t - t[0], float(t[0])


def stamp_rate(t: np.ndarray | None) -> float | None:
    """The sampling rate (Hz) of time stamps ``t`` (s): their sample steps over the time they span, each step
    counted as the whole number of median steps it holds (a dropped sample is two). Stamps written in whole
    milliseconds at 102.4 Hz step 9 or 10 ms, where the median step alone would say 100 Hz. None without stamps
    or without an increasing step."""
    if t is None:
        return None
    dt = np.diff(np.asarray(t, float))
    dt = dt[dt > 0]
    if not dt.size:
        return None
    steps = np.maximum(1.0, np.round(dt / np.median(dt)))  # (N - 1,) samples per step
    return float(steps.sum() / dt.sum())


def increasing_stamps(t: np.ndarray, *signals: np.ndarray) -> tuple[np.ndarray, ...]:
    """Time stamps ``t`` (N,) sorted, a repeated stamp kept once (its first sample), and each (N, ...) signal
    in the same order: ``(t, *signals)``, ready for interpolation."""
    order = np.argsort(np.asarray(t, float), kind="stable")
    t = np.asarray(t, float)[order]
    keep = np.concatenate([[True], np.diff(t) > 0])
    return (t[keep], *(np.asarray(x)[order][keep] for x in signals))


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ",", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _numeric(path: Path, rows: list[str], delim: str, n_cols: int) -> np.ndarray:
    rows = [r for r in rows if r.strip() and not r.lstrip().startswith(("//", "#"))]
    if not rows:
        raise ImukinError(f"{path.name} has a header but no data rows")
    out = np.full((len(rows), n_cols), np.nan)
    for i, r in enumerate(rows):
        cells = r.rstrip("\r\n").split(delim)
        if len(cells) < n_cols:  # a cut-off or ragged row: refuse rather than pad with gaps
            raise ImukinError(f"{path}: data row {i + 1} has {len(cells)} values but the header names {n_cols} "
                              f"columns ({r.strip()[:40]!r}); fix or remove the row")
        for j, c in enumerate(cells[:n_cols]):
            c = c.strip()
            if c:
                try:
                    out[i, j] = float(c)
                except ValueError:
                    pass  # text cells (dates, status words) stay NaN; required columns are checked later
    return out


def _bare(name: str) -> str:
    """Lower-case column name without a unit suffix: ``'Acc_X (m/s^2)' -> 'acc_x'``."""
    return re.sub(r"\s*[\(\[].*?[\)\]]\s*$", "", name.strip()).strip().lower()


def _find_cols(path: Path, header: list[str], names, what: str) -> list[int]:
    if names is None or len(names) != 3:
        raise ImukinError(f"column mapping for {what} must list three columns (x, y, z), got {names!r}")
    idx = []
    for n in names:
        hits = [i for i, h in enumerate(header) if h.strip() == n or _bare(h) == str(n).lower()]
        if not hits:
            raise ImukinError(f"{path.name} has no column {n!r} for {what}; its header is {', '.join(header)}")
        idx.append(hits[0])
    return idx


def _guess_cols(path: Path, names_l: list[str], what: str) -> list[int]:
    for triple in _NAME_ALIASES[what]:
        if all(t in names_l for t in triple):
            return [names_l.index(t) for t in triple]
    names = ", ".join("/".join(triple) for triple in _NAME_ALIASES[what][:3])
    raise ImukinError(f"{path.name}: no {what} columns found (looked for {names}, ...); rename its header to "
                      f"{what}_x,{what}_y,{what}_z (read_imu_csv(..., columns={{'{what}': [...]}}) in Python)")


def _time_column(path: Path, header, names_l, columns):
    if columns and columns.get("time"):
        i = _find_cols(path, header, [columns["time"]] * 3, "time")[0]
        return i, float(columns.get("time_scale", 1.0))
    for name, scale in _TIME_NAMES.items():
        if name in names_l:
            return names_l.index(name), scale
    return None, None


def _unwrap(x: np.ndarray, period: float) -> np.ndarray:
    """Undo counter wrap-around: add ``period`` after every large backwards step."""
    d = np.diff(x)
    jumps = np.concatenate([[0.0], np.cumsum(np.where(d < -period / 2, period, 0.0))])
    return x + jumps


def _meta_line(s: str, meta: dict) -> None:
    if ":" in s:
        k, v = s.split(":", 1)
        if k.strip():
            meta[k.strip()] = v.strip().rstrip(",")


def _rate_from_meta(meta: dict) -> float | None:
    for k, v in meta.items():
        if re.search(r"(update|output|sample|sampling)\s*rate", k, re.I):
            m = re.search(r"([0-9.]+)", v)
            if m:
                return float(m.group(1))
    return None


__all__ = ["ImuRecording", "read_imu_csv", "detect_preset", "detect_units", "stamp_rate", "PRESETS"]
