"""Accuracy of joint-angle estimates: per-sequence metrics, subject aggregates and tables.

Angles are arrays of shape (T, 3) in degrees whose columns are
:data:`imukin.conventions.ANGLE_AXES`. Errors are ``pred - ref``.

Metrics per axis
----------------
rmse
    Root mean square error.
rmse_offset_removed
    RMSE after removing the sequence's mean error (its bias): what remains when a
    constant per-sequence offset, such as a sensor-to-segment calibration error, is
    calibrated away. This is the reference's "calibrated" figure.
mae
    Mean absolute error.
r
    Pearson correlation between prediction and reference; ``nan`` when either is
    constant (the correlation is undefined there).
bias
    Mean error.

Frames where the prediction or the reference is not finite are left out, axis by
axis; an axis with no usable frame gets ``nan`` for every metric.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from imukin.conventions import ANGLE_AXES
from imukin.errors import ImukinError

#: Metric names, in table order.
METRICS = ("rmse", "rmse_offset_removed", "mae", "r", "bias")

#: Column headers used by :func:`format_table`.
METRIC_LABELS = {
    "rmse": "RMSE (deg)",
    "rmse_offset_removed": "RMSE offset removed (deg)",
    "mae": "MAE (deg)",
    "r": "r",
    "bias": "bias (deg)",
}


def _as_angles(a, what: str) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or a.shape[1] != len(ANGLE_AXES):
        raise ImukinError(f"{what} angles have shape {a.shape}, expected (T, {len(ANGLE_AXES)}) with columns "
                          f"{', '.join(ANGLE_AXES)}; pass one joint's angles in degrees")
    return a


def _pearson(p: np.ndarray, r: np.ndarray) -> float:
    """Pearson r of two 1-D arrays; nan when either is constant (to rounding)."""
    dp = p - p.mean()
    dr = r - r.mean()
    scale = max(float(np.abs(p).max()), float(np.abs(r).max()), 1.0)
    tol = 1e-12 * scale  # spread below this is rounding noise, not signal
    if np.abs(dp).max() <= tol or np.abs(dr).max() <= tol:
        return float("nan")
    return float(np.clip(np.dot(dp, dr) / np.sqrt(np.dot(dp, dp) * np.dot(dr, dr)), -1.0, 1.0))


def sequence_metrics(pred, ref) -> dict[str, dict[str, float]]:
    """Accuracy of one predicted angle sequence against its reference.

    Parameters
    ----------
    pred, ref : array_like, shape (T, 3)
        Predicted and reference angles in degrees, columns
        :data:`imukin.conventions.ANGLE_AXES`.

    Returns
    -------
    dict
        ``{axis: {metric: value}}`` for every axis in ``ANGLE_AXES`` and every metric
        in :data:`METRICS`; values are plain floats (``nan`` where undefined).

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((100, 3)); pred = ref + 2.0
    >>> m = sequence_metrics(pred, ref)
    >>> m["flexion"]["rmse"], m["flexion"]["rmse_offset_removed"], m["flexion"]["bias"]
    (2.0, 0.0, 2.0)
    """
    p = _as_angles(pred, "predicted")
    r = _as_angles(ref, "reference")
    if p.shape != r.shape:
        raise ImukinError(f"predicted angles have {p.shape[0]} frames but the reference has {r.shape[0]}; "
                          "resample or crop them to the same length first")
    out: dict[str, dict[str, float]] = {}
    for i, axis in enumerate(ANGLE_AXES):
        ok = np.isfinite(p[:, i]) & np.isfinite(r[:, i])
        if not ok.any():
            out[axis] = {m: float("nan") for m in METRICS}
            continue
        pi, ri = p[ok, i], r[ok, i]  # (n,)
        err = pi - ri
        bias = float(err.mean())
        out[axis] = {
            "rmse": float(np.sqrt(np.mean(err**2))),
            "rmse_offset_removed": float(np.sqrt(np.mean((err - bias) ** 2))),
            "mae": float(np.mean(np.abs(err))),
            "r": _pearson(pi, ri),
            "bias": bias,
        }
    return out


def aggregate(per_subject: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean and standard deviation of per-subject metrics.

    Parameters
    ----------
    per_subject : list of dict
        Outputs of :func:`sequence_metrics`, one per subject (or sequence).

    Returns
    -------
    dict
        ``{axis: {metric: {"mean": m, "sd": s, "n": n}}}``. ``n`` counts the subjects
        with a finite value (``nan`` values, e.g. ``r`` of a constant channel, are left
        out); ``sd`` is the sample standard deviation (``ddof=1``), 0 for a single
        subject, and ``mean`` and ``sd`` are ``nan`` when ``n == 0``.
    """
    if len(per_subject) == 0:
        raise ImukinError("no per-subject metrics to aggregate; evaluate at least one subject first")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for axis in ANGLE_AXES:
        out[axis] = {}
        for metric in METRICS:
            try:
                vals = np.array([float(s[axis][metric]) for s in per_subject])  # (S,)
            except KeyError as e:
                raise ImukinError(f"per-subject metrics lack {e.args[0]!r}; pass outputs of sequence_metrics") from None
            vals = vals[np.isfinite(vals)]
            n = int(vals.size)
            mean = float(vals.mean()) if n else float("nan")
            sd = float(vals.std(ddof=1)) if n > 1 else (0.0 if n == 1 else float("nan"))
            out[axis][metric] = {"mean": mean, "sd": sd, "n": n}
    return out


def _cell(v, digits: int) -> str:
    """``"mean ± sd"`` for an aggregate, the number for a plain value."""
    if isinstance(v, Mapping):
        return f"{v['mean']:.{digits}f} ± {v['sd']:.{digits}f}"
    if isinstance(v, (tuple, list)) and len(v) == 2:
        return f"{v[0]:.{digits}f} ± {v[1]:.{digits}f}"
    return f"{float(v):.{digits}f}"


def format_table(results: Mapping[str, Mapping[str, Mapping[str, object]]], row_label: str = "joint",
                 metrics: Sequence[str] = METRICS, digits: int = 2) -> str:
    """A markdown table with one row per (name, axis) and one column per metric.

    Parameters
    ----------
    results : dict
        ``{name: per_axis}`` where ``name`` is a joint, a model, ... and ``per_axis``
        is an output of :func:`aggregate` (cells ``"mean ± sd"``) or of
        :func:`sequence_metrics` (cells are the plain values).
    row_label : str
        Header of the first column (``"joint"``, ``"model"``, ...).
    metrics : sequence of str
        Columns, from :data:`METRICS`.
    digits : int
        Decimals shown.

    Returns
    -------
    str
        The table, ending with a newline.
    """
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise ImukinError(f"unknown metric(s) {', '.join(bad)}; choose from {', '.join(METRICS)}")
    if not results:
        raise ImukinError("no results to tabulate; pass {name: metrics} with at least one entry")
    header = [row_label, "axis", *(METRIC_LABELS[m] for m in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * len(metrics)) + "|"]
    for name, per_axis in results.items():
        for axis in ANGLE_AXES:
            if axis not in per_axis:
                raise ImukinError(f"results for {name!r} have no {axis!r} entry; pass outputs of "
                                  "sequence_metrics or aggregate")
            cells = [_cell(per_axis[axis][m], digits) for m in metrics]
            lines.append("| " + " | ".join([str(name), axis, *cells]) + " |")
    return "\n".join(lines) + "\n"
