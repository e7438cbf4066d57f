"""Quality checks of the reference system (anchors A), with a report of what was excluded and why.

Per subject (:func:`check_record`), a subject fails when

* a joint angle jumps by more than ``[5, 3, 3]`` deg per frame (flexion, adduction,
  rotation; differences wrapped to +-180 deg);
* an accelerometer axis jumps by more than ``[20, 15, 15]`` m/s^2 per frame (x, y, z);
* a gyroscope axis exceeds ``[12.5, 12.5, 15]`` rad/s in magnitude.

The per-frame thresholds are the reference's at 200 Hz. At another rate they are
scaled by ``200 / fs`` (``QualityConfig.scale_with_rate``), so the same rate of change
per second is allowed; the gyroscope limits are absolute.

Over a dataset (:func:`rom_outliers`), the subjects with the most extreme range of
motion (max - min over the recording) of any joint-axis are dropped: for each
joint-axis, ``floor(n * rom_fraction / 2)`` subjects at each end of the ranking of the
``n`` subjects that passed the per-subject checks (0.5 % in total by default, so fewer
than 400 subjects lose none).

:func:`run_quality_checks` does both, sets ``attrs["checks_passed"]`` on every record
(the reference layout's attribute) and returns a :class:`QualityReport` that says which
subject failed which check in which frames.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from imukin.conventions import ANGLE_AXES
from imukin.data import SubjectRecord

AXES_XYZ = ("x", "y", "z")


@dataclass
class QualityConfig:
    """Thresholds of the checks; every field has a default (the reference's values)."""

    angle_jump_deg: tuple[float, float, float] = (5.0, 3.0, 3.0)  # deg/frame at reference_fs, per angle axis
    acc_jump: tuple[float, float, float] = (20.0, 15.0, 15.0)  # m/s^2 per frame at reference_fs, per axis:
    # the floor of the acceleration-jump limit (the reference's values)
    acc_jump_factor: float = 5.0  # the limit of a channel is at least this many times its own
    acc_jump_quantile: float = 99.5  # ... percentile of per-frame changes: heel strikes and landings make
    # jumps of 50-250 m/s^2 per frame on clean shank and foot sensors (simulated people and the real recordings
    # in tests/data), every stride, so a fixed limit flags clean people; their largest jump is at most 3.1 times
    # the 99.5th percentile, while a glitch is a one-off far above the channel's own impacts
    gyr_max: tuple[float, float, float] = (12.5, 12.5, 15.0)  # rad/s, per axis, absolute
    reference_fs: float = 200.0  # Hz, rate the per-frame thresholds were set at
    scale_with_rate: bool = True  # scale per-frame thresholds by reference_fs / fs
    rom_fraction: float = 0.005  # fraction of subjects dropped per joint-axis for extreme range of motion


@dataclass
class Exclusion:
    """One failed check of one subject."""

    subject: str  # subject id
    check: str  # "angle_jump", "acc_jump", "gyr_max" or "rom_extreme"
    where: str  # e.g. "rknee/flexion", "rshank/acc_y"
    frames: list[tuple[int, int]]  # offending frames as inclusive (first, last) ranges; empty for rom_extreme
    worst: float  # largest offending value (deg, m/s^2 or rad/s; for rom_extreme the range of motion)
    limit: float  # threshold it was compared with (for rom_extreme the nearest kept value)

    def frames_text(self, max_ranges: int = 8) -> str:
        parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in self.frames[:max_ranges]]
        if len(self.frames) > max_ranges:
            parts.append(f"... ({len(self.frames) - max_ranges} more ranges)")
        return ", ".join(parts) if parts else "-"

    def as_dict(self) -> dict:
        return {"subject": self.subject, "check": self.check, "where": self.where,
                "frames": [list(r) for r in self.frames], "worst": self.worst, "limit": self.limit}


@dataclass
class QualityReport:
    """Every exclusion, and which subjects passed."""

    exclusions: list[Exclusion] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)  # every subject checked, in order

    @property
    def failed(self) -> list[str]:
        """Subjects with at least one exclusion, in checking order."""
        bad = {e.subject for e in self.exclusions}
        return [s for s in self.subjects if s in bad]

    @property
    def passed(self) -> list[str]:
        bad = set(self.failed)
        return [s for s in self.subjects if s not in bad]

    def as_dict(self) -> dict:
        return {"n_subjects": len(self.subjects), "n_failed": len(self.failed), "failed": self.failed,
                "exclusions": [e.as_dict() for e in self.exclusions]}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_text(self) -> str:
        """Human-readable report: one line per exclusion."""
        lines = [f"quality checks: {len(self.subjects)} subjects, {len(self.failed)} failed"]
        if self.exclusions:
            lines.append(f"{'subject':<12} {'check':<12} {'where':<22} {'worst':>10} {'limit':>10}  frames")
            for e in self.exclusions:
                lines.append(f"{e.subject:<12} {e.check:<12} {e.where:<22} {e.worst:>10.3g} {e.limit:>10.3g}  "
                             f"{e.frames_text()}")
        return "\n".join(lines)


def frame_ranges(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` ranges of the True frames of a mask."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    return [(int(a), int(b) - 1) for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


def _scale(rec: SubjectRecord, cfg: QualityConfig) -> float:
    return cfg.reference_fs / float(rec.fs) if cfg.scale_with_rate else 1.0


def check_record(rec: SubjectRecord, cfg: QualityConfig | None = None) -> list[Exclusion]:
    """Per-subject checks (angle jumps, acceleration jumps, angular rate limits) of one record."""
    cfg = cfg or QualityConfig()
    k = _scale(rec, cfg)
    out: list[Exclusion] = []
    for joint, ang in rec.angle.items():
        d = np.diff(np.asarray(ang, float), axis=0)  # (N-1, 3)
        d = np.abs((d + 180.0) % 360.0 - 180.0)  # wrapped
        for a, name in enumerate(ANGLE_AXES):
            lim = cfg.angle_jump_deg[a] * k
            bad = d[:, a] > lim
            if bad.any():  # frame i+1 jumped from frame i
                out.append(Exclusion(rec.subject_id, "angle_jump", f"{joint}/{name}",
                                     [(s + 1, e + 1) for s, e in frame_ranges(bad)], float(d[:, a].max()), lim))
    for seg, acc in rec.acc.items():
        d = np.abs(np.diff(np.asarray(acc, float), axis=0))
        own = np.percentile(d, cfg.acc_jump_quantile, axis=0) if len(d) else np.zeros(3)
        for a, ax in enumerate(AXES_XYZ):
            lim = max(cfg.acc_jump[a] * k, cfg.acc_jump_factor * float(own[a]))
            bad = d[:, a] > lim
            if bad.any():
                out.append(Exclusion(rec.subject_id, "acc_jump", f"{seg}/acc_{ax}",
                                     [(s + 1, e + 1) for s, e in frame_ranges(bad)], float(d[:, a].max()), lim))
    for seg, gyr in rec.gyr.items():
        g = np.abs(np.asarray(gyr, float))
        for a, ax in enumerate(AXES_XYZ):
            bad = g[:, a] > cfg.gyr_max[a]
            if bad.any():
                out.append(Exclusion(rec.subject_id, "gyr_max", f"{seg}/gyr_{ax}", frame_ranges(bad),
                                     float(g[:, a].max()), cfg.gyr_max[a]))
    return out


def range_of_motion(rec: SubjectRecord) -> dict[str, np.ndarray]:
    """Per joint, the range (max - min) of each angle axis over the recording, deg: joint -> (3,)."""
    return {j: np.ptp(np.asarray(a, float), axis=0) for j, a in rec.angle.items() if len(a)}


def rom_outliers(records: list[SubjectRecord] | dict[str, dict[str, np.ndarray]], cfg: QualityConfig | None = None
                 ) -> list[Exclusion]:
    """Subjects whose range of motion of some joint-axis is among the ``rom_fraction`` most extreme.

    Parameters
    ----------
    records : list of SubjectRecord, or dict
        The subjects, or their :func:`range_of_motion` tables keyed by subject id
        (enough for large datasets: the angles need not stay in memory).
    cfg : QualityConfig, optional
    """
    cfg = cfg or QualityConfig()
    table = records if isinstance(records, dict) else {r.subject_id: range_of_motion(r) for r in records}
    k = int(np.floor(len(table) * cfg.rom_fraction / 2.0))
    if k == 0:
        return []
    out = []
    for joint in sorted({j for t in table.values() for j in t}):
        have = [(sid, t[joint]) for sid, t in table.items() if joint in t]
        if len(have) <= 2 * k:
            continue
        rom = np.stack([r for _, r in have])  # (n, 3)
        for a, name in enumerate(ANGLE_AXES):
            order = np.argsort(rom[:, a], kind="stable")
            lo_keep, hi_keep = rom[order[k], a], rom[order[-k - 1], a]
            for i in order[:k]:
                out.append(Exclusion(have[i][0], "rom_extreme", f"{joint}/{name}", [], float(rom[i, a]),
                                     float(lo_keep)))
            for i in order[-k:]:
                out.append(Exclusion(have[i][0], "rom_extreme", f"{joint}/{name}", [], float(rom[i, a]),
                                     float(hi_keep)))
    return out


def run_quality_checks(records: list[SubjectRecord], cfg: QualityConfig | None = None) -> QualityReport:
    """All checks over a dataset; sets ``attrs["checks_passed"]`` on every record.

    Parameters
    ----------
    records : list of SubjectRecord
    cfg : QualityConfig, optional

    Returns
    -------
    QualityReport
        Exclusions with subject, check, place and frames.
    """
    cfg = cfg or QualityConfig()
    rep = QualityReport(subjects=[r.subject_id for r in records])
    for r in records:
        rep.exclusions.extend(check_record(r, cfg))
    first_failed = set(rep.failed)
    rep.exclusions.extend(rom_outliers([r for r in records if r.subject_id not in first_failed], cfg))
    failed = set(rep.failed)
    for r in records:
        r.attrs["checks_passed"] = r.subject_id not in failed
    return rep


__all__ = ["QualityConfig", "Exclusion", "QualityReport", "frame_ranges", "check_record", "range_of_motion",
           "rom_outliers", "run_quality_checks"]
