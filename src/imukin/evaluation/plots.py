"""Figures for evaluation reports: angle traces, RMSE bars and a corpus overview.

Every function writes one image file atomically (the format follows the file
extension, e.g. ``.png`` or ``.pdf``), closes its figure and returns the path.
matplotlib runs on the non-interactive Agg backend, so no display is needed.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from imukin.conventions import ANGLE_AXES, ANGLE_UNITS, UNITS, joint_name, segment_name  # noqa: E402
from imukin.data import SubjectRecord  # noqa: E402
from imukin.errors import ImukinError  # noqa: E402
from imukin.io.atomic import atomic_path  # noqa: E402

DPI = 120  # resolution of raster outputs; readable in a markdown viewer, small on disk


def _save(fig: Figure, path: str | os.PathLike) -> Path:
    """Write ``fig`` atomically to ``path`` and close it."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=DPI, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path


def plot_traces(path: str | os.PathLike, t, pred, ref, title: str = "") -> Path:
    """Predicted and reference joint angles over time, one panel per axis.

    Parameters
    ----------
    path : path-like
        Output image (``.png``, ``.pdf``, ``.svg``).
    t : array_like, shape (T,)
        Time in seconds.
    pred : array_like, shape (T, 3), or dict of str -> array_like (T, 3)
        One prediction, or several labelled ones (e.g. ``{"network": a, "refined": b}``),
        in degrees, columns :data:`imukin.conventions.ANGLE_AXES`.
    ref : array_like, shape (T, 3), or None
        Reference angles in degrees (drawn in black), or None when there is none.
    title : str
        Figure title.

    Returns
    -------
    Path
        ``path``.
    """
    t = np.asarray(t, float)  # (T,)
    preds = dict(pred) if isinstance(pred, Mapping) else {"predicted": pred}
    if not preds:
        raise ImukinError("no prediction to plot; pass an array (T, 3) or a dict label -> array")
    series = {k: np.asarray(v, float) for k, v in preds.items()}  # label -> (T, 3)
    if ref is not None:
        ref = np.asarray(ref, float)  # (T, 3)
    for label, a in [*series.items(), *([("reference", ref)] if ref is not None else [])]:
        if a.shape != (t.size, len(ANGLE_AXES)):
            raise ImukinError(f"{label} angles have shape {a.shape}, expected ({t.size}, {len(ANGLE_AXES)}) to match "
                              "the time vector; pass (T, 3) arrays in degrees")
    fig, axes = plt.subplots(len(ANGLE_AXES), 1, sharex=True, figsize=(9, 7), squeeze=False)
    for i, (ax, axis_name) in enumerate(zip(axes[:, 0], ANGLE_AXES)):
        if ref is not None:
            ax.plot(t, ref[:, i], color="black", lw=1.6, label="reference")
        for label, a in series.items():
            ax.plot(t, a[:, i], lw=1.1, label=label)
        ax.set_ylabel(f"{axis_name} ({ANGLE_UNITS})")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper right", fontsize="small", ncol=len(series) + (ref is not None))
    axes[-1, 0].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def _mean_sd(v) -> tuple[float, float]:
    """(mean, sd) from a tuple/list, an aggregate dict or a plain number (sd 0)."""
    if isinstance(v, Mapping):
        return float(v["mean"]), float(v["sd"])
    if isinstance(v, (tuple, list)):
        return float(v[0]), float(v[1])
    return float(v), 0.0


def plot_rmse_bars(path: str | os.PathLike, table: Mapping[str, Mapping[str, object]],
                   title: str = "RMSE by axis") -> Path:
    """RMSE per angle axis: a bar chart for a few models, a heat-map table for many.

    Up to :data:`MAX_BAR_MODELS` models: one bar group per axis and one colour per model.
    More (the demo has activity x joint x model rows): one table row per model, one
    column per axis, each cell coloured by its mean and labelled ``mean ± SD``, so every
    row stays readable whatever the count.

    Parameters
    ----------
    path : path-like
        Output image.
    table : dict
        ``{model: {axis: (mean, sd)}}`` in degrees; a value may also be an aggregate
        cell ``{"mean": m, "sd": s}`` or a plain number. Error bars show the SD.
    title : str
        Figure title.

    Returns
    -------
    Path
        ``path``.
    """
    if not table:
        raise ImukinError("no RMSE values to plot; pass {model: {axis: (mean, sd)}}")
    models = list(table)
    for model in models:
        missing = [a for a in ANGLE_AXES if a not in table[model]]
        if missing:
            raise ImukinError(f"RMSE table for {model!r} lacks axis {', '.join(missing)}; give all of "
                              f"{', '.join(ANGLE_AXES)}")
    stats = {m: np.array([_mean_sd(table[m][a]) for a in ANGLE_AXES]) for m in models}  # model -> (3, 2)
    if len(models) > MAX_BAR_MODELS:
        return _rmse_table(path, models, stats, title)
    x = np.arange(len(ANGLE_AXES))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(min(14.0, 4.0 + 0.5 * len(ANGLE_AXES) * len(models)), 4))
    for j, model in enumerate(models):
        ms = stats[model]  # (3, 2) mean, sd
        pos = x - 0.4 + width * (j + 0.5)
        bars = ax.bar(pos, ms[:, 0], width, yerr=ms[:, 1], capsize=3, label=str(model))
        ax.bar_label(bars, labels=[f"{m:.2f}" for m in ms[:, 0]], padding=2, fontsize="x-small")
    ax.set_xticks(x, ANGLE_AXES)
    ax.set_ylabel(f"RMSE ({ANGLE_UNITS})")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    if len(models) > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    return _save(fig, path)


#: Above this many models :func:`plot_rmse_bars` draws a heat-map table instead of bars.
MAX_BAR_MODELS = 6


def _rmse_table(path, models: list, stats: dict, title: str) -> Path:
    """Heat-map table: rows models, columns angle axes, cells ``mean ± sd`` coloured by the mean."""
    means = np.array([stats[m][:, 0] for m in models])  # (M, 3)
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.34 * len(models)))
    finite = means[np.isfinite(means)]
    vmax = float(finite.max()) if finite.size else 1.0
    vmin = float(finite.min()) if finite.size else 0.0
    vmax = vmax if vmax > vmin else vmin + 1.0
    im = ax.imshow(means, cmap="YlOrRd", vmin=vmin, vmax=vmax, aspect="auto")
    for i, m in enumerate(models):
        for j in range(len(ANGLE_AXES)):
            mean, sd = stats[m][j]
            dark = np.isfinite(mean) and mean > vmin + 0.6 * (vmax - vmin)
            ax.text(j, i, f"{mean:.2f} ± {sd:.2f}", ha="center", va="center", fontsize="small",
                    color="white" if dark else "black")
    ax.set_xticks(np.arange(len(ANGLE_AXES)), ANGLE_AXES)
    ax.xaxis.tick_top()
    ax.set_yticks(np.arange(len(models)), [str(m) for m in models], fontsize="small")
    ax.set_title(title, pad=22)
    fig.colorbar(im, ax=ax, label=f"RMSE ({ANGLE_UNITS})", fraction=0.04, pad=0.02)
    fig.tight_layout()
    return _save(fig, path)


def plot_corpus_overview(path: str | os.PathLike, records: Sequence[SubjectRecord], n_subjects: int = 4,
                         duration_s: float = 4.0, side: str = "right") -> Path:
    """Overview of a gait corpus: joint flexion of several subjects and one subject's IMU signals.

    Left column: hip, knee and ankle flexion of the first ``n_subjects`` records over
    the first ``duration_s`` seconds. Right column: accelerometer and gyroscope of the
    thigh and shank sensors of the first record.

    Parameters
    ----------
    path : path-like
        Output image.
    records : list of SubjectRecord
        Subjects to show (at least one); they need angles for the side's hip, knee
        and ankle, and IMU data for its thigh and shank.
    n_subjects : int
        How many subjects to overlay in the angle panels.
    duration_s : float
        Length of the shown excerpt in seconds.
    side : {"right", "left"}
        Which leg to show.

    Returns
    -------
    Path
        ``path``.
    """
    if len(records) == 0:
        raise ImukinError("no subject records to plot; generate or load a corpus first")
    shown = list(records[: max(1, n_subjects)])
    joints = ("hip", "knee", "ankle")
    segs = ("thigh", "shank")
    fig = plt.figure(figsize=(13, 8), layout="constrained")
    try:
        grid = fig.add_gridspec(12, 2)
        # Left: 3 angle panels of 4 grid rows each; right: 4 IMU panels of 3 grid rows each.
        ang_axes = [fig.add_subplot(grid[4 * i:4 * i + 4, 0]) for i in range(len(joints))]
        imu_axes = [fig.add_subplot(grid[3 * i:3 * i + 3, 1]) for i in range(2 * len(segs))]
        for column in (ang_axes, imu_axes):  # one time axis per column, labelled at the bottom
            for ax in column[:-1]:
                ax.sharex(column[-1])
                ax.tick_params(labelbottom=False)
        for ax, joint in zip(ang_axes, joints):
            for rec in shown:
                n = min(rec.n_frames, int(round(duration_s * rec.fs)))
                flex = rec.joint_angle(joint, side)[:n, 0]  # (n,)
                ax.plot(np.arange(n) / rec.fs, flex, lw=1.1, label=rec.subject_id)
            ax.set_title(f"{side} {joint} flexion ({joint_name(joint, side)})", fontsize="medium")
            ax.set_ylabel(f"angle ({ANGLE_UNITS})")
            ax.grid(alpha=0.3)
        ang_axes[-1].set_xlabel("time (s)")
        ang_axes[0].legend(fontsize="x-small", ncol=min(4, len(shown)), loc="upper right")

        rec = shown[0]
        n = min(rec.n_frames, int(round(duration_s * rec.fs)))
        tt = np.arange(n) / rec.fs
        panels = [(s, kind) for s in segs for kind in ("acc", "gyr")]
        for ax, (seg_type, kind) in zip(imu_axes, panels):
            seg = segment_name(seg_type, side)
            data = getattr(rec, kind)
            if seg not in data:
                raise ImukinError(f"subject {rec.subject_id} has no {kind} for {seg}; "
                                  "the overview needs thigh and shank IMUs")
            sig = data[seg][:n]  # (n, 3)
            for k, c in enumerate("xyz"):
                ax.plot(tt, sig[:, k], lw=1.0, label=c)
            ax.set_title(f"{rec.subject_id} {seg} {'accelerometer' if kind == 'acc' else 'gyroscope'}",
                         fontsize="medium")
            ax.set_ylabel(UNITS[kind])
            ax.grid(alpha=0.3)
            ax.legend(fontsize="x-small", ncol=3, loc="upper right")
        imu_axes[-1].set_xlabel("time (s)")
        fig.suptitle(f"Corpus overview: {len(records)} subject(s), first {duration_s:g} s")
    except BaseException:
        plt.close(fig)
        raise
    return _save(fig, path)


#: Points per line above which the overview of a recording draws a min-max envelope per bin instead.
OVERVIEW_MAX_POINTS = 4000
SIDE_COLOURS = {"right": "tab:red", "left": "tab:blue"}


def plot_recording_angles(path: str | os.PathLike, t, angles: Mapping[str, np.ndarray], span_s=None,
                          title: str = "") -> Path:
    """Every joint angle of a recording: rows hip, knee, ankle; columns flexion, adduction, rotation.

    Right legs red, left legs blue. Long recordings (over :data:`OVERVIEW_MAX_POINTS`
    samples in view) are drawn as a min-max envelope per bin with the bin mean, so an
    hour plots as fast as a minute and no excursion is hidden.

    Parameters
    ----------
    path : path-like
        Output image.
    t : array_like, shape (N,)
        Seconds.
    angles : dict of str -> ndarray, shape (N, 3)
        Per joint (``rhip``, ``lknee``, ...), degrees; NaN in gaps.
    span_s : (float, float), optional
        Only this time span (a zoom); default the whole recording.
    title : str

    Returns
    -------
    Path
    """
    from imukin.conventions import JOINT_NAMES, SIDES

    t = np.asarray(t, float)
    sel = np.ones(t.size, bool) if span_s is None else (t >= span_s[0]) & (t <= span_s[1])
    rows = [j for j in JOINT_NAMES if any(joint_name(j, s) in angles for s in SIDES)]
    if not rows or not sel.any():
        raise ImukinError("nothing to plot: no joint angles in the time span asked for")
    fig, axes = plt.subplots(len(rows), len(ANGLE_AXES), sharex=True, figsize=(13, 2.6 * len(rows) + 0.8),
                             squeeze=False)
    ts = t[sel]
    n_bins = OVERVIEW_MAX_POINTS // 2
    for r, joint in enumerate(rows):
        for c, axis_name in enumerate(ANGLE_AXES):
            ax = axes[r, c]
            for side in SIDES:
                key = joint_name(joint, side)
                if key not in angles:
                    continue
                y = np.asarray(angles[key], float)[sel, c]
                if y.size > OVERVIEW_MAX_POINTS:
                    edges = np.linspace(0, y.size, n_bins + 1).astype(int)
                    lo, hi, mid = _bin_envelope(y, edges)
                    tb = ts[(edges[:-1] + edges[1:]) // 2]
                    ax.fill_between(tb, lo, hi, color=SIDE_COLOURS[side], alpha=0.25, lw=0)
                    ax.plot(tb, mid, color=SIDE_COLOURS[side], lw=0.8, label=side)
                else:
                    ax.plot(ts, y, color=SIDE_COLOURS[side], lw=1.0, label=side)
            ax.grid(alpha=0.3)
            if r == 0:
                ax.set_title(axis_name)
            if c == 0:
                ax.set_ylabel(f"{joint} ({ANGLE_UNITS})")
    axes[0, 0].legend(loc="upper right", fontsize="small")
    for c in range(len(ANGLE_AXES)):
        axes[-1, c].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    # Fixed margins (inches) where tight_layout would measure every tick label: the same look, a
    # third of the drawing time less.
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=0.9 / w, right=1 - 0.15 / w, bottom=0.6 / h, top=1 - (0.7 if title else 0.4) / h,
                        wspace=0.2, hspace=0.12 if len(rows) > 1 else 0.2)
    return _save(fig, path)


def plot_impact_sync(path: str | os.PathLike, t, acc: Mapping[str, np.ndarray], impact_s: float,
                     half_width_s: float = 0.6, title: str = "") -> Path:
    """Each sensor's acceleration magnitude around the common impact, after synchronisation: the check by eye
    that the sensors' landings (or taps) now coincide.

    Parameters
    ----------
    path : path-like
        Output image.
    t : array_like, shape (N,)
        Seconds, the synchronised timeline.
    acc : dict of str -> ndarray, shape (N, 3)
        Per sensor, m/s^2.
    impact_s : float
        The impact's time on ``t``.
    half_width_s : float
        Seconds shown either side of it.
    title : str

    Returns
    -------
    Path
    """
    from imukin.conventions import G

    t = np.asarray(t, float)
    sel = np.abs(t - impact_s) <= half_width_s
    if not sel.any():
        raise ImukinError(f"nothing to plot: the impact at {impact_s:.2f} s lies outside the recording")
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for seg, a in acc.items():
        ax.plot(t[sel] - impact_s, np.linalg.norm(np.asarray(a, float)[sel], axis=1) / G, lw=1.0, label=seg)
    ax.axvline(0.0, color="k", lw=0.8, ls="--")
    ax.set_xlabel("time from the impact (s)")
    ax.set_ylabel("|acceleration| (g)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize="small", ncol=2)
    ax.set_title(title or "sensors synchronised by the impact: their peaks should coincide")
    fig.tight_layout()
    return _save(fig, path)


def _bin_envelope(y: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin ``[edges[i], edges[i + 1])`` of ``y`` (N,): NaN-ignoring min, max and mean, each (n_bins,).

    One vectorised pass per statistic (``reduceat``); a bin of NaN only gives NaN. The bins must
    not be empty.
    """
    starts = edges[:-1]
    ok = ~np.isnan(y)
    lo = np.fmin.reduceat(y, starts)  # fmin skips NaN unless both are NaN
    hi = np.fmax.reduceat(y, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = np.add.reduceat(np.where(ok, y, 0.0), starts) / np.add.reduceat(ok.astype(np.int64), starts)
    return lo, hi, mid
