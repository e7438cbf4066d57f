"""OpenSim text formats: ``.trc`` marker files and ``.sto``/``.mot`` storage tables.

``.trc`` files are Y up (OpenSim's convention). :func:`read_trc` keeps Y and, by default,
turns the data about Y so that X is the walking direction, as in every imukin lab frame
(see :mod:`imukin.io.c3d`); positions come back in metres. :func:`write_trc` writes a
:class:`~imukin.io.c3d.MarkerData` as it is (already Y up), in millimetres by default.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from imukin.conventions import UP_LAB
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path
from imukin.io.c3d import LENGTH_UNITS_M, MarkerData, lab_rotation


# ---------------------------------------------------------------- .trc
def read_trc(path: str | os.PathLike, align_walking: bool = True) -> MarkerData:
    """Read an OpenSim ``.trc`` marker file.

    Parameters
    ----------
    path : path-like
        The ``.trc`` file (tab-separated, five header rows: file type, the rate/units
        keys, their values, marker names, X1 Y1 Z1 ... ).
    align_walking : bool
        Turn the data about the vertical Y axis so that X is the pelvis's horizontal
        direction of travel (imukin's lab frame); False keeps the file's axes.

    Returns
    -------
    MarkerData
        Positions in metres, NaN where a value is empty or NaN.

    Raises
    ------
    ImukinError
        Missing file, malformed header, unknown units or no data rows.
    """
    path = Path(path)
    if not path.is_file():
        raise ImukinError(f"TRC file {path} does not exist; check the path")
    lines = path.read_text(errors="replace").splitlines()
    if len(lines) < 5 or not lines[0].startswith("PathFileType"):
        raise ImukinError(f"{path} is not an OpenSim .trc file (first line must start with PathFileType)")
    keys = lines[1].split("\t")
    values = lines[2].split("\t")
    info = {k.strip(): v.strip() for k, v in zip(keys, values)}
    try:
        fs = float(info.get("DataRate") or info["CameraRate"])
        n_markers = int(info["NumMarkers"])
    except (KeyError, ValueError):
        raise ImukinError(f"{path}: header row 3 must give DataRate and NumMarkers under row 2's keys") from None
    units = info.get("Units", "mm").strip().lower()
    if units not in LENGTH_UNITS_M:
        raise ImukinError(f"{path}: unknown Units {units!r}; expected one of {', '.join(LENGTH_UNITS_M)}")
    names = [s.strip() for s in lines[3].split("\t")[2:] if s.strip()]
    if len(names) != n_markers:
        raise ImukinError(f"{path}: header says NumMarkers {n_markers} but row 4 names {len(names)} markers")

    rows = []
    for k, line in enumerate(lines[5:], start=6):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 + 3 * n_markers:  # trailing empty fields (missing markers) may be stripped
            fields += [""] * (2 + 3 * n_markers - len(fields))
        try:
            rows.append([float(f) if f.strip() else np.nan for f in fields[1:2 + 3 * n_markers]])
        except ValueError:
            raise ImukinError(f"{path}: line {k} has a non-numeric value; fix or remove that line") from None
    if not rows:
        raise ImukinError(f"{path} has a header but no data rows")
    data = np.asarray(rows, float)  # (N, 1 + 3M): time, then X Y Z per marker
    xyz = data[:, 1:].reshape(len(data), n_markers, 3) * LENGTH_UNITS_M[units]  # (N, M, 3) metres
    rot = lab_rotation(xyz, names, UP_LAB) if align_walking else np.eye(3)
    first_frame = int(float(info.get("OrigDataStartFrame", 1) or 1)) - 1
    return MarkerData(labels=names, fs=fs, xyz=xyz @ rot.T, source=str(path), units_in=units,
                      lab_from_file=rot, first_frame=first_frame)


def write_trc(path: str | os.PathLike, data: MarkerData, units: str = "mm") -> None:
    """Write marker data as an OpenSim ``.trc`` file (atomically).

    Parameters
    ----------
    path : path-like
        Destination ``.trc``.
    data : MarkerData
        Positions in metres, Y up; NaN (missing) is written as an empty field.
    units : {"mm", "m"}
        Length unit in the file.
    """
    if units not in ("mm", "m"):
        raise ImukinError(f"TRC units must be 'mm' or 'm', got {units!r}")
    xyz = np.asarray(data.xyz, float)  # (N, M, 3)
    if xyz.ndim != 3 or xyz.shape[2] != 3 or xyz.shape[1] != len(data.labels):
        raise ImukinError(f"marker data must be (N, M, 3) with M = {len(data.labels)} labels, got {xyz.shape}")
    n, m = xyz.shape[:2]
    scale = 1.0 / LENGTH_UNITS_M[units]
    path = Path(path)
    head = [
        f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{data.fs:g}\t{data.fs:g}\t{n}\t{m}\t{units}\t{data.fs:g}\t{data.first_frame + 1}\t{n}",
        "Frame#\tTime\t" + "\t".join(f"{name}\t\t" for name in data.labels).rstrip("\t"),
        "\t\t" + "\t".join(f"X{k + 1}\tY{k + 1}\tZ{k + 1}" for k in range(m)),
        "",
    ]
    body = []
    flat = xyz.reshape(n, 3 * m) * scale  # (N, 3M)
    for i in range(n):
        vals = "\t".join("" if not np.isfinite(v) else f"{v:.6f}" for v in flat[i])
        body.append(f"{data.first_frame + i + 1}\t{i / data.fs:.6f}\t{vals}")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(head + body) + "\n")


# ---------------------------------------------------------------- .sto / .mot
def read_storage(path: str | os.PathLike) -> tuple[list[str], np.ndarray, dict]:
    """Read an OpenSim storage file (``.sto`` or ``.mot``).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    names : list of str
        Column names (usually ``time`` first).
    data : ndarray, shape (N, C)
    header : dict
        ``key=value`` header lines (``version``, ``nRows``, ...), the first line as
        ``name``, and ``inDegrees`` as a bool (True when absent, OpenSim's default for
        ``.mot`` files).

    Raises
    ------
    ImukinError
        Missing file, no ``endheader`` line, or malformed rows.
    """
    path = Path(path)
    if not path.is_file():
        raise ImukinError(f"storage file {path} does not exist; check the path")
    lines = path.read_text(errors="replace").splitlines()
    try:
        end = next(i for i, line in enumerate(lines) if line.strip().lower() == "endheader")
    except StopIteration:
        raise ImukinError(f"{path} is not an OpenSim storage file (no 'endheader' line)") from None
    header: dict = {"name": lines[0].strip() if end > 0 else ""}
    for line in lines[1 if end > 0 else 0:end]:
        if "=" in line:
            k, v = line.split("=", 1)
            header[k.strip()] = v.strip()
        elif line.strip():  # old .mot style: "datacolumns 5"
            parts = line.split(None, 1)
            header[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    header["inDegrees"] = str(header.get("inDegrees", "yes")).lower() in ("yes", "true", "1")
    body = [line for line in lines[end + 1:] if line.strip()]
    if not body:
        raise ImukinError(f"{path} has no column-name line after 'endheader'")
    names = [s.strip() for s in (body[0].split("\t") if "\t" in body[0] else body[0].split())]
    rows = []
    for k, line in enumerate(body[1:], start=1):
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) != len(names):
            raise ImukinError(f"{path}: data row {k} has {len(fields)} values for {len(names)} columns")
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            raise ImukinError(f"{path}: data row {k} has a non-numeric value") from None
    data = np.asarray(rows, float).reshape(len(rows), len(names))  # (N, C)
    return names, data, header


def row_blocks(table: np.ndarray, fmt: str, sep: str, bad_cell: str, chunk: int = 65536):
    """Rows of ``table`` (N, C) as text, ``chunk`` rows (``\\n``-ended lines) at a time.

    Each value is ``fmt % value``, the values of a row joined by ``sep``; a non-finite value
    becomes ``bad_cell``. Each block is formatted by one ``%`` (C speed), so an hour of
    angles never exists as one string or as one list of Python floats.
    """
    n, c = table.shape
    line = sep.join([fmt] * c) + "\n"
    for i in range(0, n, chunk):
        block = table[i:i + chunk]
        text = (line * len(block)) % tuple(block.ravel().tolist())
        bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
        if bad.size:
            lines = text.split("\n")  # the last item is the empty text after the final newline
            for k in bad.tolist():
                lines[k] = sep.join(fmt % v if np.isfinite(v) else bad_cell for v in block[k].tolist())
            text = "\n".join(lines)
        yield text


def write_storage(path: str | os.PathLike, names, data: np.ndarray, in_degrees: bool = True,
                  name: str | None = None, fmt: str = "%r") -> None:
    """Write an OpenSim storage file (``.sto``/``.mot``, version 1 header), atomically.

    Parameters
    ----------
    path : path-like
    names : sequence of str
        Column names; OpenSim expects ``time`` first.
    data : ndarray, shape (N, C)
    in_degrees : bool
        Value of the ``inDegrees`` header line.
    name : str, optional
        First header line (default: the file name without extension).
    fmt : str
        ``%``-format of each value (default ``%r``: every digit of the float64, about 2.5 times the
        formatting time of a fixed number of decimals); non-finite values are written ``NaN``.
    """
    names = [str(s) for s in names]
    data = np.asarray(data, float)
    if data.ndim != 2 or data.shape[1] != len(names):
        raise ImukinError(f"data must be (N, C) with C = {len(names)} column names, got {data.shape}")
    path = Path(path)
    head = [name or path.stem, "version=1", f"nRows={data.shape[0]}", f"nColumns={data.shape[1]}",
            f"inDegrees={'yes' if in_degrees else 'no'}", "endheader", "\t".join(names)]
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        f.write("\n".join(head) + "\n")
        for block in row_blocks(data, fmt, "\t", "NaN"):
            f.write(block)
