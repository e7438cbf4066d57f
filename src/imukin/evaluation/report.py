"""Evaluation reports: ``metrics.json`` for machines and ``report.md`` for people."""
from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from imukin.conventions import ANGLE_AXES
from imukin.errors import ImukinError
from imukin.evaluation.metrics import METRICS, format_table
from imukin.io.atomic import write_text_atomic


def _jsonable(obj):
    """Plain-JSON copy of ``obj``: numpy scalars/arrays to Python, tuples to lists, NaN/inf to None."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None  # strict JSON has no NaN
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise ImukinError(f"cannot store a {type(obj).__name__} in metrics.json; pass numbers, strings, lists and dicts")


def _is_per_axis(d) -> bool:
    """True for ``{axis: {metric: ...}}`` as made by ``sequence_metrics`` or ``aggregate``."""
    return (isinstance(d, Mapping) and all(a in d for a in ANGLE_AXES)
            and all(isinstance(d[a], Mapping) and any(m in d[a] for m in METRICS) for a in ANGLE_AXES))


def _tables(metrics: Mapping, heading: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Mapping]]:
    """Yield (heading path, ``{name: per_axis}``) for every tabulable part of ``metrics``."""
    if _is_per_axis(metrics):
        yield heading[:-1], {heading[-1] if heading else "result": metrics}
        return
    rows = {k: v for k, v in metrics.items() if _is_per_axis(v)}
    if rows:
        yield heading, rows
    for k, v in metrics.items():
        if k not in rows and isinstance(v, Mapping):
            yield from _tables(v, (*heading, str(k)))


def _scalars(metrics: Mapping, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Yield (dotted key, value) for loose numbers/strings that no table shows."""
    if _is_per_axis(metrics):
        return
    for k, v in metrics.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            if not _is_per_axis(v):
                yield from _scalars(v, key + ".")
        elif isinstance(v, (int, float, str, np.integer, np.floating)):
            yield key, v


def write_report(out_dir: str | os.PathLike, metrics: Mapping, plots: Sequence[str | os.PathLike], title: str,
                 notes: str = "", row_label: str = "name") -> Path:
    """Write ``metrics.json`` and ``report.md`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Report folder (created if missing).
    metrics : dict
        Any nesting of dicts whose leaves are numbers or strings. Every
        ``{name: per_axis}`` level, where ``per_axis`` is an output of
        :func:`~imukin.evaluation.metrics.sequence_metrics` or
        :func:`~imukin.evaluation.metrics.aggregate`, becomes a markdown table headed by
        the keys leading to it, e.g. ``{"walking": {"knee": agg, "hip": agg}}``; loose
        numbers are listed below the tables. Stored in full in ``metrics.json``
        (``nan`` as ``null``).
    plots : list of path-like
        Images to embed, linked relative to ``out_dir``.
    title : str
        Report title.
    notes : str
        Free markdown placed under the title.
    row_label : str
        Header of the tables' first column (e.g. ``"joint"`` or ``"model"``).

    Returns
    -------
    Path
        Path of ``report.md``.
    """
    if not isinstance(metrics, Mapping):
        raise ImukinError(f"metrics must be a dict, got {type(metrics).__name__}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "metrics.json", json.dumps(_jsonable(metrics), indent=2, allow_nan=False) + "\n")

    lines = [f"# {title}", ""]
    if notes:
        lines += [notes.strip(), ""]
    for heading, rows in _tables(metrics):
        present = [m for m in METRICS if all(m in per_axis[a] for per_axis in rows.values() for a in ANGLE_AXES)]
        if heading:
            lines += [f"## {' / '.join(heading)}", ""]
        lines += [format_table(rows, row_label=row_label, metrics=present).rstrip("\n"), ""]
    loose = list(_scalars(metrics))
    if loose:
        lines += ["## Values", ""] + [f"- {k}: {v:.4g}" if isinstance(v, (float, np.floating)) else f"- {k}: {v}"
                                      for k, v in loose] + [""]
    if plots:
        lines += ["## Figures", ""]
        for p in plots:
            rel = Path(os.path.relpath(Path(p).resolve(), out_dir.resolve())).as_posix()
            lines += [f"![{Path(p).stem}]({rel})", ""]
    lines.append("Angles in degrees; cells are mean ± SD over subjects where aggregated. "
                  "\"offset removed\" subtracts each sequence's mean error before the RMSE.")
    report = out_dir / "report.md"
    write_text_atomic(report, "\n".join(lines) + "\n")
    return report
