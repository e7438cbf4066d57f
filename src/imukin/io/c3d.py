"""Read optical marker trajectories and Vicon angle outputs from C3D files (via ezc3d).

Every reader of marker files returns a :class:`MarkerData`: positions in metres in
imukin's lab frame (see :mod:`imukin.conventions`: Y up, X along walking, Z = X x Y to
the walker's right), NaN where a marker is missing.

Lab frame of a C3D file
-----------------------
C3D files are usually Z up. :func:`read_c3d` finds the file's vertical axis (from the
``POINT:Y_SCREEN`` parameter, the axis that points up on the capture software's screen,
or, if that is absent, from the markers: typical heights along the vertical are all positive and
differ strongly between markers, while each marker's height varies little in time),
then rotates the data so that

* Y is the file's vertical (up) axis,
* X is the horizontal direction of the pelvis displacement from its first to its last
  recorded sample (pelvis = ``RASI LASI RPSI LPSI`` or ``PELO`` or ``SACR`` if present,
  else every marker); if the pelvis moves less than ``MIN_WALK_M`` (treadmill, standing),
  X is the horizontal pelvis anterior direction (mean ASIS minus mean PSIS), and failing
  that, the file's ``X_SCREEN`` axis projected on the horizontal plane,
* Z = X x Y, which points to the walker's right.

This is a pure rotation (the origin is kept), so distances and angles between markers
are unchanged and the result is right-handed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imukin.errors import ImukinError

#: Metres per unit of the C3D ``POINT:UNITS`` values imukin understands.
LENGTH_UNITS_M = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}
#: Pelvis markers used to find the walking direction, tried in this order.
PELVIS_MARKER_SETS = (("RASI", "LASI", "RPSI", "LPSI"), ("PELO",), ("SACR",), ("RASI", "LASI"))
#: Below this horizontal pelvis displacement (m) the trial is not treated as overground walking.
MIN_WALK_M = 0.2
#: C3D ``POINT`` type groups that are not marker positions (Vicon model outputs).
NON_POSITION_GROUPS = ("ANGLES", "FORCES", "MOMENTS", "POWERS", "SCALARS", "REACTIONS")
_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass
class MarkerData:
    """Marker trajectories of one trial in imukin's lab frame.

    Attributes
    ----------
    labels : list of str
        Marker names, one per column of ``xyz``.
    fs : float
        Sampling rate in Hz.
    xyz : ndarray, shape (N, M, 3)
        Positions in metres, lab frame (Y up, X along walking); NaN where missing.
    angles : dict of str -> ndarray, shape (N, 3)
        Joint angles computed by the capture software (e.g. Vicon ``RHipAngles``), in
        the file's units (degrees) and column order, untouched; NaN where missing.
    source : str
        Path the data was read from ("" if built in memory).
    units_in : str
        Length unit of the source file (``"mm"``, ``"cm"`` or ``"m"``).
    lab_from_file : ndarray, shape (3, 3)
        Rotation applied to the file's coordinates: ``p_lab = lab_from_file @ p_file``
        (in metres).
    first_frame : int
        Frame number of the first sample in the source file.
    """

    labels: list[str] = field(default_factory=list)  # marker names, one per xyz column
    fs: float = 100.0  # Hz
    xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 3)))  # (N, M, 3) metres, lab frame
    angles: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (N, 3) degrees, untouched
    source: str = ""  # file the data came from
    units_in: str = "m"  # length unit on disk
    lab_from_file: np.ndarray = field(default_factory=lambda: np.eye(3))  # (3, 3) p_lab = A @ p_file
    first_frame: int = 0  # frame number of sample 0 in the source file

    @property
    def n_frames(self) -> int:
        """Number of samples."""
        return int(self.xyz.shape[0])

    @property
    def duration_s(self) -> float:
        """Trial duration in seconds."""
        return self.n_frames / self.fs

    def has(self, name: str) -> bool:
        """Whether a marker of that name is present."""
        return name in self.labels

    def marker(self, name: str) -> np.ndarray:
        """Trajectory (N, 3) of one marker, in metres; raise :class:`ImukinError` if absent."""
        if name not in self.labels:
            raise ImukinError(f"marker {name!r} is not in {self.source or 'the marker data'}; "
                              f"available markers: {', '.join(self.labels)}")
        return self.xyz[:, self.labels.index(name)]

    def subset(self, names, frames: slice | None = None) -> MarkerData:
        """A copy holding only the markers ``names`` (and optionally a frame range)."""
        frames = slice(None) if frames is None else frames
        idx = [self.labels.index(n) for n in names if n in self.labels]
        start = frames.start or 0
        return MarkerData(labels=[self.labels[i] for i in idx], fs=self.fs, xyz=self.xyz[frames][:, idx].copy(),
                          angles={k: v[frames].copy() for k, v in self.angles.items()}, source=self.source,
                          units_in=self.units_in, lab_from_file=self.lab_from_file.copy(),
                          first_frame=self.first_frame + start)


# ---------------------------------------------------------------- reading
def open_c3d(path: str | os.PathLike):
    """Open a C3D file with ezc3d, turning a missing or unreadable file into one :class:`ImukinError` line."""
    import ezc3d

    path = Path(path)
    if not path.is_file():
        raise ImukinError(f"C3D file {path} does not exist; check the path")
    try:
        c3d = ezc3d.c3d(str(path))
    except Exception as exc:  # ezc3d raises plain RuntimeError/ValueError on bad input
        raise ImukinError(f"{path} is not a readable C3D file ({str(exc).strip() or type(exc).__name__}); "
                          f"export the trial as C3D from the capture software") from None
    expected = header_frame_count(path)
    pts = c3d["header"]["points"]
    read = int(pts["last_frame"]) - int(pts["first_frame"]) + 1
    if expected is not None and read < expected:
        raise ImukinError(f"{path} is truncated: its header announces {expected} frames but the file holds "
                          f"{max(read, 0)}; copy or export the file again")
    return c3d


def header_frame_count(path: str | os.PathLike) -> int | None:
    """Frames announced by a C3D file's own header (``last - first + 1``), read from its first block.

    ezc3d reads as many frames as a cut-off file holds and rewrites its header to match,
    so the count the file was written with is read here from the raw bytes. Returns None
    when the header cannot be read (the frame count then goes unchecked).
    """
    import struct

    try:
        with open(path, "rb") as f:
            head = f.read(512)
            if len(head) < 512 or head[1] != 0x50:
                return None
            f.seek((head[0] - 1) * 512)
            param = f.read(4)
    except OSError:
        return None
    # byte 4 of the parameter section names the processor: 84 Intel, 85 DEC (both little endian), 86 MIPS (big)
    endian = ">" if len(param) == 4 and param[3] == 86 else "<"
    first, last = struct.unpack(endian + "HH", head[6:10])
    if last == 0xFFFF or last < first:  # long trials do not fit the 16-bit header field
        return None
    return last - first + 1


def read_c3d(path: str | os.PathLike, up_axis: str = "auto") -> MarkerData:
    """Read marker trajectories (and Vicon angle outputs) from a C3D file.

    Parameters
    ----------
    path : path-like
        The ``.c3d`` file.
    up_axis : {"auto", "x", "y", "z", "-x", "-y", "-z", "+x", "+y", "+z"}
        The file's vertical axis pointing up. ``"auto"`` uses ``POINT:Y_SCREEN`` when the
        file has it, otherwise the marker heights (see the module docstring).

    Returns
    -------
    MarkerData
        Positions in metres in imukin's lab frame (Y up, X along walking, Z right); NaN
        where a marker is missing (negative residual or exactly zero coordinates).
        Point channels listed in ``POINT:ANGLES`` go to ``angles`` untouched; other
        model outputs (forces, moments, powers) are not marker positions and are dropped.

    Raises
    ------
    ImukinError
        Missing file, a file that is not a C3D, or a file without marker data.
    """
    path = Path(path)
    c3d = open_c3d(path)
    params = c3d["parameters"]
    point = params.get("POINT", {})
    labels = _point_labels(point)
    pts = np.asarray(c3d["data"]["points"], float)  # (4, M, N)
    n_frames = pts.shape[2] if pts.ndim == 3 else 0
    if n_frames == 0 or pts.shape[1] == 0:
        raise ImukinError(f"{path} holds no 3D point data (0 frames or 0 points); export the trial with markers")
    if len(labels) < pts.shape[1]:
        labels += [f"point{i}" for i in range(len(labels), pts.shape[1])]
    labels = labels[:pts.shape[1]]
    xyz = np.transpose(pts[:3], (2, 1, 0)).copy()  # (N, M, 3) in file units
    residuals = np.asarray(c3d["data"]["meta_points"]["residuals"], float)  # (1, M, N)
    missing = np.all(xyz == 0.0, axis=-1)  # (N, M)
    if residuals.size:
        missing |= residuals[0].T < 0
    xyz[missing] = np.nan

    non_pos = set()
    for group in NON_POSITION_GROUPS:
        non_pos.update(_param(point, group) or [])
    angle_names = set(_param(point, "ANGLES") or [])
    if not any(_param(point, g) for g in NON_POSITION_GROUPS):  # files without type groups
        angle_names = {n for n in labels if n.endswith(("Angles", "Angle"))}
        non_pos = set(angle_names)
    angles = {n: xyz[:, i].copy() for i, n in enumerate(labels) if n in angle_names}
    keep = [i for i, n in enumerate(labels) if n not in non_pos and n not in angle_names]
    if not keep:
        raise ImukinError(f"{path} holds no marker trajectories (only model outputs); export the markers too")
    labels = [labels[i] for i in keep]
    xyz = xyz[:, keep]
    if np.all(np.isnan(xyz)):
        raise ImukinError(f"{path} has markers but every sample is missing; check the export")

    units = (_param(point, "UNITS") or ["mm"])[0].strip().lower()
    if units not in LENGTH_UNITS_M:
        raise ImukinError(f"{path}: unknown POINT:UNITS {units!r}; expected one of {', '.join(LENGTH_UNITS_M)}")
    xyz *= LENGTH_UNITS_M[units]

    fs = float((_param(point, "RATE") or [c3d["header"]["points"]["frame_rate"]])[0])
    up = _up_vector(up_axis, point, xyz, path)
    rot = lab_rotation(xyz, labels, up, _screen_axis(_param(point, "X_SCREEN")))
    xyz = xyz @ rot.T
    return MarkerData(labels=labels, fs=fs, xyz=xyz, angles=angles, source=str(path), units_in=units,
                      lab_from_file=rot, first_frame=int(c3d["header"]["points"]["first_frame"]))


def _param(group: dict, name: str):
    """Value list of a C3D parameter, or None."""
    entry = group.get(name)
    if not entry:
        return None
    value = entry.get("value")
    return list(value) if value is not None and len(value) else None


def _point_labels(point: dict) -> list[str]:
    """``POINT:LABELS`` followed by ``LABELS2``, ``LABELS3``... (files with more than 255 points)."""
    labels = list(_param(point, "LABELS") or [])
    k = 2
    while _param(point, f"LABELS{k}"):
        labels += list(_param(point, f"LABELS{k}"))
        k += 1
    return [str(s).strip() for s in labels]


def _screen_axis(value) -> np.ndarray | None:
    """Unit vector of a ``X_SCREEN``/``Y_SCREEN`` value such as ``'+Z'``, or None."""
    if not value:
        return None
    return _axis_vector(str(value[0]))


def _axis_vector(text: str) -> np.ndarray | None:
    text = text.strip().lower()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if text not in _AXES:
        return None
    v = np.zeros(3)
    v[_AXES[text]] = sign
    return v


def _up_vector(up_axis: str, point: dict, xyz: np.ndarray, path: Path) -> np.ndarray:
    """The file's up direction as a unit vector in file coordinates."""
    if up_axis != "auto":
        v = _axis_vector(up_axis)
        if v is None:
            raise ImukinError(f"unknown up_axis {up_axis!r}; use auto, x, y, z, -x, -y or -z")
        return v
    v = _screen_axis(_param(point, "Y_SCREEN"))
    if v is not None:
        return v
    return guess_up_axis(xyz, path)


def guess_up_axis(xyz: np.ndarray, path: str | os.PathLike = "the file") -> np.ndarray:
    """Vertical (up) axis of marker data without orientation metadata.

    Along the vertical, marker heights are positive (above the floor), differ strongly
    between markers (feet to pelvis or head) and change little over time; along the
    walking direction every marker moves a lot, and the lateral spread between markers
    is narrower than the vertical one.

    Parameters
    ----------
    xyz : ndarray, shape (N, M, 3)
        Positions in metres, file coordinates.

    Returns
    -------
    ndarray, shape (3,)
        Unit vector of the up axis in file coordinates (``+x``, ``-y``, ...).
    """
    med = np.nanmedian(xyz, axis=0)  # (M, 3) each marker's typical position
    between = np.nanstd(med, axis=0)  # (3,) spread between markers
    within = np.nanmedian(np.nanstd(xyz, axis=0), axis=0) + 1e-3  # (3,) typical motion of one marker
    score = between / within
    best, best_score = None, -np.inf
    for k in range(3):
        for sign in (1.0, -1.0):
            if np.nanmin(sign * med[:, k]) < -0.05:  # a marker typically below the floor: not "up"
                continue
            if score[k] > best_score:
                best, best_score = (k, sign), score[k]
    if best is None:
        raise ImukinError(f"cannot tell the vertical axis of {path} (no axis along which all markers are "
                          f"above the floor); pass up_axis='z' (or x, y, -z, ...)")
    v = np.zeros(3)
    v[best[0]] = best[1]
    return v


def lab_rotation(xyz: np.ndarray, labels: list[str], up: np.ndarray, x_screen: np.ndarray | None = None) -> np.ndarray:
    """Rotation from file to imukin lab coordinates (Y = up, X = walking direction, Z = X x Y).

    Parameters
    ----------
    xyz : ndarray, shape (N, M, 3)
        Marker positions in file coordinates (NaN where missing).
    labels : list of str
        Marker names.
    up : ndarray, shape (3,)
        Unit up vector in file coordinates.
    x_screen : ndarray, shape (3,), optional
        Fallback forward direction (the file's ``X_SCREEN`` axis).

    Returns
    -------
    ndarray, shape (3, 3)
        ``A`` with rows = lab X, Y, Z in file coordinates; ``p_lab = A @ p_file``.
    """
    up = np.asarray(up, float) / np.linalg.norm(up)
    fwd = _horizontal(_walking_displacement(xyz, labels), up)
    if fwd is None or np.linalg.norm(fwd) < MIN_WALK_M:
        fwd = _horizontal(_pelvis_anterior(xyz, labels), up)
    if fwd is None or np.linalg.norm(fwd) < 1e-6:
        cand = x_screen if x_screen is not None else np.eye(3)[np.argmin(np.abs(up))]
        fwd = _horizontal(cand, up)
        if np.linalg.norm(fwd) < 1e-6:  # X_SCREEN parallel to up: any horizontal axis
            fwd = _horizontal(np.eye(3)[np.argmin(np.abs(up))], up)
    x = fwd / np.linalg.norm(fwd)
    z = np.cross(x, up)
    return np.stack([x, up, z])


def _horizontal(v: np.ndarray | None, up: np.ndarray) -> np.ndarray | None:
    if v is None or not np.all(np.isfinite(v)):
        return None
    return v - np.dot(v, up) * up


def _walking_displacement(xyz: np.ndarray, labels: list[str]) -> np.ndarray | None:
    """Mean displacement (3,) of the pelvis markers from their first to their last valid sample."""
    idx = []
    for names in PELVIS_MARKER_SETS:
        if all(n in labels for n in names):
            idx = [labels.index(n) for n in names]
            break
    if not idx:
        idx = list(range(len(labels)))
    disp = []
    for i in idx:
        ok = np.flatnonzero(np.all(np.isfinite(xyz[:, i]), axis=1))
        if len(ok) >= 2:
            disp.append(xyz[ok[-1], i] - xyz[ok[0], i])
    return np.mean(disp, axis=0) if disp else None


def _pelvis_anterior(xyz: np.ndarray, labels: list[str]) -> np.ndarray | None:
    """Mean pelvis anterior vector (3,): mid-ASIS minus mid-PSIS."""
    need = ("RASI", "LASI", "RPSI", "LPSI")
    if not all(n in labels for n in need):
        return None
    p = {n: xyz[:, labels.index(n)] for n in need}
    v = 0.5 * (p["RASI"] + p["LASI"]) - 0.5 * (p["RPSI"] + p["LPSI"])  # (N, 3)
    return np.nanmean(v, axis=0)
