"""The reference HDF5 dataset layout, read and written.

Layout (one file per activity, as in the reference ``walking_data.h5``)::

    /                          attrs: fs, activity, units_*, imukin_version, generator, seed, source
    s<id>/                     attrs: checks_passed, plus provenance (source, seed, activity, ...)
        <segment>/acc          (N, 3) float  m/s^2, sensor frame (specific force)
        <segment>/gyr          (N, 3) float  rad/s, sensor frame
        <segment>/rmat         (N, 3, 3)     columns = sensor axes in lab coordinates
        <joint>/angle          (N, 3) float  degrees [flexion, adduction, rotation]
        meta                   (4,)          [sex, height cm, weight kg, speed m/s], -1 unknown

Segments are ``pelvis rthigh lthigh rshank lshank rfoot lfoot`` and joints ``rhip lhip
rknee lknee rankle lankle`` (:mod:`imukin.conventions`). Files written by others in this
layout load unchanged: a missing file-level ``fs`` attribute means the reference's 200 Hz.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import h5py
import numpy as np

from imukin._version import __version__
from imukin.conventions import DEFAULT_FS, JOINTS, SEGMENTS, UNITS, same_rate
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path

_SUBJECT_ATTR_TYPES = (str, int, float, bool, np.integer, np.floating, np.bool_)


def write_dataset(path: str | os.PathLike, records: Iterable[SubjectRecord], attrs: dict | None = None,
                  compression: str | None = None) -> Path:
    """Write subjects to an HDF5 file in the reference layout, atomically.

    Parameters
    ----------
    path : path-like
        Destination ``.h5`` file. It appears only once complete; an existing file is
        replaced only on success.
    records : iterable of SubjectRecord
        All must share one sampling rate.
    attrs : dict, optional
        File-level attributes (activity, seed, generator, ...). ``fs``, units and the
        imukin version are added.
    compression : str or None
        h5py compression filter for the datasets (off by default: sensor signals are
        noise-like and gzip saves ~5 % at 15x the write time).

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    if path.suffix.lower() not in (".h5", ".hdf5"):
        raise ImukinError(f"output file {path} must end in .h5 or .hdf5")
    with atomic_path(path) as tmp:
        fs = None
        with h5py.File(tmp, "w") as f:
            n = 0
            for rec in records:
                rec.validate()
                if fs is None:
                    fs = float(rec.fs)
                elif not same_rate(rec.fs, fs):
                    raise ImukinError(f"subject {rec.subject_id} is at {rec.fs} Hz but the file is at {fs} Hz; "
                                      "resample to one rate first")
                _write_subject(f, rec, compression)
                n += 1
            if n == 0:
                raise ImukinError(f"no subjects to write to {path}")
            f.attrs["fs"] = fs
            f.attrs["imukin_version"] = __version__
            for k, v in UNITS.items():
                f.attrs[f"units_{k}"] = v
            for k, v in (attrs or {}).items():
                f.attrs[k] = v if isinstance(v, _SUBJECT_ATTR_TYPES) else str(v)
    return path


def _write_subject(f: h5py.File, rec: SubjectRecord, compression: str | None) -> None:
    if not rec.subject_id.startswith("s"):
        raise ImukinError(f"subject id {rec.subject_id!r} must look like s<id> (for example s0001)")
    g = f.create_group(rec.subject_id)
    for seg in SEGMENTS:
        for kind, d in (("acc", rec.acc), ("gyr", rec.gyr), ("rmat", rec.rmat)):
            if seg in d:
                g.create_dataset(f"{seg}/{kind}", data=np.asarray(d[seg], np.float32),
                                 compression=compression)
    for j in JOINTS:
        if j in rec.angle:
            g.create_dataset(f"{j}/angle", data=np.asarray(rec.angle[j], np.float32), compression=compression)
    g.create_dataset("meta", data=np.asarray(rec.meta, np.float64))
    g.attrs["checks_passed"] = bool(rec.attrs.get("checks_passed", True))
    for k, v in rec.attrs.items():
        if k not in ("checks_passed", "fs"):  # the record's own rate is the truth
            g.attrs[k] = v if isinstance(v, _SUBJECT_ATTR_TYPES) else str(v)
    g.attrs["fs"] = float(rec.fs)


def open_dataset(path: str | os.PathLike) -> h5py.File:
    """Open a dataset file for reading, with a one-line error when it is missing or not HDF5.

    Parameters
    ----------
    path : path-like
        A file in the reference HDF5 layout (``imukin simulate --out``, ``imukin harmonize``).

    Returns
    -------
    h5py.File
        Open read-only; use it as a context manager.
    """
    path = Path(path)
    if not path.exists():
        raise ImukinError(f"dataset file {path} does not exist; create one with 'imukin simulate --out {path.name}'")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ImukinError(f"{path} is not a readable HDF5 file ({e.__class__.__name__}); "
                          "pass a file written by 'imukin simulate' or in the reference layout") from None


def subject_ids(path: str | os.PathLike) -> list[str]:
    """Subject group names in a dataset file, sorted."""
    with open_dataset(path) as f:
        return sorted(k for k in f.keys() if isinstance(f[k], h5py.Group) and k.startswith("s"))


def file_attrs(path: str | os.PathLike) -> dict:
    """File-level attributes (``fs`` defaults to the reference's 200 Hz when absent)."""
    with open_dataset(path) as f:
        attrs = {k: _py(v) for k, v in f.attrs.items()}
    attrs.setdefault("fs", DEFAULT_FS)
    return attrs


def read_subject(path_or_file, subject_id: str, segments: Iterable[str] | None = None,
                 joints: Iterable[str] | None = None, rmat: bool = True) -> SubjectRecord:
    """Read one subject (optionally only some segments and joints).

    Parameters
    ----------
    path_or_file : path-like or h5py.File
    subject_id : str
        Group name, ``s<id>``.
    segments, joints : iterable of str, optional
        Restrict what is read (default: everything present).
    rmat : bool
        Also read orientations (the largest arrays).
    """
    if isinstance(path_or_file, h5py.File):
        return _read_subject(path_or_file, subject_id, segments, joints, rmat)
    with open_dataset(path_or_file) as f:
        return _read_subject(f, subject_id, segments, joints, rmat)


def _subject_group(f: h5py.File, sid: str) -> h5py.Group:
    """The group of one subject, with a one-line error when the file lacks it."""
    if sid not in f:
        raise ImukinError(f"subject {sid} is not in {f.filename}; it has {len(f.keys())} groups")
    return f[sid]


def _read_subject(f: h5py.File, sid: str, segments, joints, rmat: bool) -> SubjectRecord:
    g = _subject_group(f, sid)
    fs = float(g.attrs.get("fs", f.attrs.get("fs", DEFAULT_FS)))
    rec = SubjectRecord(subject_id=sid, fs=fs)
    for seg in (segments or SEGMENTS):
        if seg in g:
            rec.acc[seg] = np.asarray(g[seg]["acc"], np.float64)
            rec.gyr[seg] = np.asarray(g[seg]["gyr"], np.float64)
            if rmat and "rmat" in g[seg]:
                rec.rmat[seg] = np.asarray(g[seg]["rmat"], np.float64)
    for j in (joints or JOINTS):
        if j in g and "angle" in g[j]:
            rec.angle[j] = np.asarray(g[j]["angle"], np.float64)
    if "meta" in g:
        rec.meta = np.asarray(g["meta"], np.float64).ravel()
    rec.attrs = {k: _py(v) for k, v in g.attrs.items()}
    return rec


def series_paths(segments: Iterable[str] = (), joints: Iterable[str] = ()) -> list[str]:
    """Paths inside a subject group of some segments' ``acc`` and ``gyr`` and some joints' ``angle``.

    Returns
    -------
    list of str
        ``<segment>/acc``, ``<segment>/gyr`` for each segment, then ``<joint>/angle`` for each
        joint, in the order given: what :func:`series_length` and :func:`read_series` take.
    """
    return [f"{s}/{kind}" for s in segments for kind in ("acc", "gyr")] + [f"{j}/angle" for j in joints]


def series_length(f: h5py.File, subject_id: str, paths: Iterable[str]) -> int:
    """Frames of some arrays of one subject (see :func:`series_paths`), without reading them.

    Returns
    -------
    int
        Their common length; 0 when any of them is missing.

    Raises
    ------
    ImukinError
        The subject is not in the file, or the arrays differ in length.
    """
    g = _subject_group(f, subject_id)
    paths = list(paths)
    if not all(p in g for p in paths):
        return 0
    lengths = {g[p].shape[0] for p in paths}
    if len(lengths) != 1:
        raise ImukinError(f"{f.filename}: subject {subject_id} arrays {', '.join(paths)} differ in length "
                          f"({sorted(lengths)}); repair or drop that subject")
    return lengths.pop()


def read_series(f: h5py.File, subject_id: str, paths: Iterable[str], frames: slice = slice(None)) -> list[np.ndarray]:
    """Some frames of some arrays of one subject (see :func:`series_paths`), float64.

    Only the requested frames are read from the file (h5py slicing), so a training window
    of a long recording costs a window's worth of reading.
    """
    g = _subject_group(f, subject_id)
    return [np.asarray(g[p][frames], np.float64) for p in paths]


def read_dataset(path: str | os.PathLike, **kwargs) -> list[SubjectRecord]:
    """Read every subject of a dataset file (see :func:`read_subject` for options)."""
    return list(iter_dataset(path, **kwargs))


def iter_dataset(path: str | os.PathLike, subjects: Iterable[str] | None = None, **kwargs) -> Iterator[SubjectRecord]:
    """Yield subjects one at a time, so a large file never sits in memory whole."""
    with open_dataset(path) as f:
        ids = list(subjects) if subjects is not None else sorted(
            k for k in f.keys() if isinstance(f[k], h5py.Group) and k.startswith("s"))
        for sid in ids:
            yield _read_subject(f, sid, kwargs.get("segments"), kwargs.get("joints"), kwargs.get("rmat", True))


def _py(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    return v
