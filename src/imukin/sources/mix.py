"""Several dataset files (synthetic, AMASS, BVH, OpenSim, markers) -> one training corpus.

:func:`mix_datasets` streams the subjects of each input file, in the order given, into
one file in the reference layout, so ``imukin train`` can learn from all sources at
once. Subjects are renumbered ``s0000``, ``s0001``, ... (unique in the output), and each
keeps its own attributes plus its provenance:

``dataset_file``
    the input file it came from;
``dataset_subject``
    its subject id there;
``source_type``
    its ``source`` attribute (``synthetic``, ``amass``, ``bvh``, ``opensim_ik``,
    ``markers``, ...), else the input file's, else ``unknown``.

All subjects are brought to one rate (``fs``; default the first file's):
accelerations, angular rates and angles with :func:`imukin.signal.resample`
(anti-aliased, zero-phase), orientations by spherical linear interpolation.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from imukin.conventions import same_rate
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.job_h5 import file_attrs, iter_dataset, subject_ids, write_dataset
from imukin.signal import resample


def resample_record(rec: SubjectRecord, fs: float) -> SubjectRecord:
    """The same subject at another rate (a new record; ``rec`` is not changed)."""
    fs = float(fs)
    if same_rate(fs, rec.fs):
        return rec
    attrs = {k: v for k, v in rec.attrs.items() if k != "fs"}  # the group's rate attribute is rewritten
    out = SubjectRecord(subject_id=rec.subject_id, fs=fs, meta=rec.meta.copy(), attrs=attrs)
    for src, dst in ((rec.acc, out.acc), (rec.gyr, out.gyr), (rec.angle, out.angle)):
        for k, v in src.items():
            dst[k] = resample(v, rec.fs, fs, axis=0)  # (M, 3)
    n_out = next(iter(out.acc.values()), next(iter(out.angle.values()), np.zeros((0, 3)))).shape[0]
    t_in = np.arange(rec.n_frames) / rec.fs
    t_out = np.minimum(np.arange(n_out) / fs, t_in[-1])  # (M,) the last output sample may pass the input's end
    for k, r in rec.rmat.items():
        out.rmat[k] = Slerp(t_in, Rotation.from_matrix(r))(t_out).as_matrix()  # (M, 3, 3)
    out.attrs["resampled_from_hz"] = float(rec.fs)
    return out


def resampled_copy(data_path: str | os.PathLike, out_dir: str | os.PathLike, fs: float) -> Path:
    """A dataset file at the rate ``fs``: the file itself when it is at that rate already, else its copy
    resampled to ``fs``, subject ids kept: ``.data_<fs>Hz.h5`` in ``out_dir``.

    Every subject goes through :func:`resample_record` (anti-aliased signals, slerped
    orientations). A copy already in ``out_dir`` at that rate, made from the same file (path and modification
    time), is reused.

    Parameters
    ----------
    data_path : path-like
        Dataset in the reference layout.
    out_dir : path-like
        Folder of the copy (created if missing).
    fs : float
        Rate of the copy, Hz.

    Returns
    -------
    Path
        The file itself or the copy.
    """
    data_path, out_dir, fs = Path(data_path), Path(out_dir), float(fs)
    src_attrs = file_attrs(data_path)
    source = {"resampled_from": str(data_path.resolve()), "resampled_from_mtime_ns": data_path.stat().st_mtime_ns}
    if same_rate(float(src_attrs["fs"]), fs):
        return data_path
    dest = out_dir / f".data_{fs:g}Hz.h5"
    if dest.exists():
        have = file_attrs(dest)
        if same_rate(float(have.get("fs", 0.0)), fs) and all(have.get(k) == v for k, v in source.items()):
            return dest
    out_dir.mkdir(parents=True, exist_ok=True)
    attrs = {**src_attrs, "fs": fs, **source}  # a source simulated again (new mtime) is copied again
    return write_dataset(dest, (resample_record(r, fs) for r in iter_dataset(data_path)), attrs=attrs)


def _check_inputs(paths) -> list[Path]:
    paths = [Path(p) for p in paths]
    if not paths:
        raise ImukinError("mix_datasets needs at least one dataset file (imukin simulate --mix A.h5 B.h5 ...)")
    for p in paths:
        if not p.is_file():
            raise ImukinError(f"dataset file {p} does not exist; check the path")
    return paths


def iter_mixed(paths, fs: float | None = None) -> Iterator[SubjectRecord]:
    """Yield the renumbered, resampled subjects of every file with provenance (module docstring)."""
    paths = _check_inputs(paths)
    counts = [len(subject_ids(p)) for p in paths]
    for p, n in zip(paths, counts):
        if n == 0:
            raise ImukinError(f"{p} holds no subjects (groups s<id>); pass dataset files written by imukin")
    fs = float(fs) if fs is not None else float(file_attrs(paths[0])["fs"])
    width = max(4, len(str(sum(counts) - 1)))
    k = 0
    for p in paths:
        ftype = str(file_attrs(p).get("source", "unknown"))
        for rec in iter_dataset(p):
            rec = resample_record(rec, fs)
            rec.attrs.update(dataset_file=str(p), dataset_subject=rec.subject_id,
                             source_type=str(rec.attrs.get("source", ftype)))
            rec.subject_id = f"s{k:0{width}d}"
            k += 1
            yield rec


def mix_datasets(paths, out: str | os.PathLike, fs: float | None = None) -> Path:
    """Combine dataset files into one training corpus with per-subject provenance.

    Parameters
    ----------
    paths : sequence of path-like
        Input ``.h5`` files in the reference layout.
    out : path-like
        Output ``.h5`` (written atomically: it appears complete or not at all).
    fs : float, optional
        Output rate in Hz (default: the first file's).

    Returns
    -------
    Path
        The written file. File attributes: ``source="mixed"``, ``sources`` (JSON list of
        ``{"file", "source", "subjects", "fs"}``), ``activity`` (the common one, or
        ``"mixed"``).
    """
    paths = _check_inputs(paths)
    infos = []
    for p in paths:
        a = file_attrs(p)
        infos.append({"file": str(p), "source": str(a.get("source", "unknown")), "subjects": len(subject_ids(p)),
                      "fs": float(a["fs"]), "activity": str(a.get("activity", "unknown"))})
    acts = sorted({i["activity"] for i in infos})
    attrs = {"source": "mixed", "sources": json.dumps(infos), "activity": acts[0] if len(acts) == 1 else "mixed"}
    return write_dataset(out, iter_mixed(paths, fs), attrs=attrs)
