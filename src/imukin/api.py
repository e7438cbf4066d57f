"""Every joint angle from one recording: the Python face of ``imukin predict``.

>>> import imukin                                                    # doctest: +SKIP
>>> rec = imukin.load_recording("kuopio/", fs=100)                   # doctest: +SKIP
>>> out = imukin.predict(rec)                                        # doctest: +SKIP
>>> out.angles["rknee"].shape                                        # (N, 3) degrees
(972, 3)

:func:`predict` does what the command does, with the same checks and messages (it
raises :class:`~imukin.errors.ImukinError`): it finds each sensor's mounting on its
segment (``align="auto"``, the default; a known mounting can be given), fills gaps of up
to :data:`imukin.io.recording.MAX_FILL_S` and splits the recording at longer ones (the
angles are NaN over such a gap only), runs the shipped model of each joint at the
model's own rate (resampling in and out), and returns every joint of both legs that the
sensors allow (hip: pelvis + thigh, knee: thigh + shank, ankle: shank + foot).
"""
from __future__ import annotations

import threading
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from imukin.conventions import (
    ACTIVITIES,
    ANGLE_AXES,
    JOINT_NAMES,
    SEGMENTS,
    SIDES,
    SYNC_MODES,
    check_choice,
    joint_and_side,
    joint_name,
    joint_segments,
)
from imukin.errors import ImukinError
from imukin.io.config_files import read_config_file
from imukin.io.recording import MAX_FILL_S, Recording, load_recording, segment_from_name
from imukin.preprocessing.gait_speed import stride_notes
from imukin.preprocessing.saturation import find_saturation, repair_gyroscopes, repaired_note, saturation_notes

ALIGN_MODES = ("auto", "none")
#: Shortest stretch between long gaps (s) that is predicted; shorter ones stay NaN.
MIN_PIECE_S = 0.5
#: Stretches longer than this (s) show a progress bar when progress is asked for.
PROGRESS_MIN_S = 600.0


@dataclass
class Prediction:
    """The joint angles of one recording, and how they were found.

    Attributes
    ----------
    angles : dict of str -> ndarray, shape (N, 3)
        Per joint (``rhip``, ``lknee``, ... as in :data:`imukin.conventions.JOINTS`),
        ``[flexion, adduction, rotation]`` in degrees at the recording's rate; NaN over
        gaps longer than :data:`imukin.io.recording.MAX_FILL_S`.
    fs : float
        Hz.
    recording : Recording
        What was predicted from.
    mounting : dict of str -> dict
        Per segment, the mounting used (``r_mount``, ZXY Euler angles in degrees, how it
        was found, its confidence): see
        :meth:`imukin.preprocessing.align.SegmentAlignment.as_dict`.
    models : dict of str -> str
        Per joint, the model that predicted it.
    warnings : list of str
        What the user should know (uncertain mountings, gaps, assumptions of the reader).
    gaps : list of (int, int)
        ``[start, stop)`` frames left out (NaN in ``angles``).
    calibration : dict
        With ``calibrate``: per joint the offset (deg, per axis) added to the angles, and the
        frames it was measured on.
    timings : dict of str -> float
        Seconds spent per stage: ``align`` (mountings found and applied), ``load_models``,
        ``resample`` (to the models' rate and back), ``models`` (the networks; with
        ``refine`` also the refinement), ``calibrate``.
    """

    angles: dict[str, np.ndarray]
    fs: float
    recording: Recording
    mounting: dict[str, dict] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    calibration: dict = field(default_factory=dict)  # per joint: the offset added (deg) and where it came from
    sync: dict = field(default_factory=dict)  # with sync="impact": each sensor's offset and the frames kept
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def t(self) -> np.ndarray:
        """Time of each frame in seconds, (N,)."""
        return self.recording.t

    @property
    def joints(self) -> list[str]:
        """Joints predicted, in :data:`imukin.conventions.JOINTS` order."""
        return list(self.angles)

    def as_columns(self) -> dict[str, np.ndarray]:
        """A tidy table as columns: ``time_s`` then ``<joint>_<axis>_deg`` (e.g. ``rknee_flexion_deg``).

        ``pandas.DataFrame(prediction.as_columns())`` makes a data frame of it.
        """
        cols = {"time_s": self.t}
        for j, a in self.angles.items():
            for k, ax in enumerate(ANGLE_AXES):
                cols[f"{j}_{ax}_deg"] = a[:, k]
        return cols


# ---------------------------------------------------------------- models
def _load_model(joint: str, activity: str, model: str, run, refine: bool, ori_run, device: str):
    from imukin.predictor import AnglePredictor

    if run is not None:
        if refine:
            if ori_run is None:
                raise ImukinError("refine with a trained run needs an orientation run of the same joint (--ori-run); "
                                  "train one with 'imukin train --target orientation', then 'imukin fit-blend'")
            from imukin.fusion.refine import RefinedPredictor

            p = RefinedPredictor(run, ori_run, device=device)
        else:
            p = AnglePredictor(run, device=device)
        return p, f"{Path(run).name}{'+refined' if refine else ''}"
    from imukin.fusion.refine import pretrained_predictor

    return (pretrained_predictor(joint, activity, model, refine, device),
            f"{activity}_{joint}_{model}{'+refined' if refine else ''}")


# ---------------------------------------------------------------- mounting
def parse_mounting(mounting) -> dict[str, np.ndarray]:
    """``{segment: 3x3}`` from a dict or a JSON file: a matrix, or a rotation as ZXY Euler angles in degrees.

    Parameters
    ----------
    mounting : dict or path-like
        ``{segment or sensor name: 3x3 matrix, {"r_mount": 3x3} or {"euler_zxy_deg": [z, x, y]}}``,
        the ``report.json`` of ``imukin predict`` (the ``mounting`` of each sensor under
        ``sensors``), or a JSON file holding either.

    Returns
    -------
    dict of str to ndarray, shape (3, 3)
        Mounting per segment (``v_segment = r_mount @ v_sensor``).
    """
    if isinstance(mounting, (str, Path)):
        mounting = read_config_file(mounting, "mounting file",
                                    "pass the report.json of 'imukin predict' or a JSON file "
                                    '{"rthigh": [[1,0,0],[0,1,0],[0,0,1]], "rshank": {"euler_zxy_deg": [0, 90, 0]}}')
    if isinstance(mounting, dict) and isinstance(mounting.get("sensors"), dict):  # a report.json of imukin predict
        mounting = {seg: s["mounting"] for seg, s in mounting["sensors"].items()
                    if isinstance(s, dict) and s.get("mounting")}
        if not mounting:
            raise ImukinError("the report holds no sensor mounting (was it predicted with --align none?); "
                              "give the mountings, or let them be found (--align auto)")
    if not isinstance(mounting, dict):
        raise ImukinError("mounting must be {segment: 3x3 matrix or {'euler_zxy_deg': [z, x, y]}}")
    from scipy.spatial.transform import Rotation

    out = {}
    for key, value in mounting.items():
        seg = key if key in SEGMENTS else segment_from_name(str(key))
        if seg is None:
            raise ImukinError(f"mounting: unknown segment {key!r}; name segments {', '.join(SEGMENTS)}")
        if isinstance(value, dict):
            if "euler_zxy_deg" in value:
                value = Rotation.from_euler("ZXY", value["euler_zxy_deg"], degrees=True).as_matrix()
            elif "r_mount" in value:
                value = value["r_mount"]
            else:
                raise ImukinError(f"mounting of {seg}: give a 3x3 matrix, 'r_mount' or 'euler_zxy_deg'")
        out[seg] = np.asarray(value, float)
    return out


def find_mounting(recording: Recording, segments, activity: str = "walking", manual: dict | None = None,
                  align: str = "auto") -> tuple[dict, list[str]]:
    """Each sensor's mounting on its segment (``v_segment = r_mount @ v_sensor``).

    Parameters
    ----------
    recording : Recording
    segments : iterable of str
        Segments whose mounting is needed.
    activity : {"walking", "running"}
    manual : dict, optional
        ``{segment: 3x3}`` known mountings (these win).
    align : {"auto", "none"}
        ``none``: the sensors already sit in their segments' frames.

    Returns
    -------
    alignments : dict of str -> SegmentAlignment
    warnings : list of str
    """
    manual = {**recording.mounting, **(manual or {})}
    out, notes, gyr = {}, [], {}  # gyr: the gyroscopes of the mountings found, gaps left out
    ok = ~recording.gap_mask()
    ok = slice(None) if ok.all() else ok  # no gap: the signals as they are, not a copy of them
    for seg in segments:
        given = given_mounting(seg, manual, align)
        if given is not None:
            out[seg] = given
        else:
            gyr[seg] = recording.gyr[seg][ok]
            out[seg], found = segment_mounting(recording.acc[seg][ok], gyr[seg], recording.fs, seg,
                                               activity, where=f" ({recording.sensors.get(seg, '')})")
            notes += found
    return out, leg_chain_signs(out, gyr, recording.fs, activity, notes)


def leg_chain_signs(alignments: dict, gyr: dict, fs: float, activity: str, notes: list[str]) -> list[str]:
    """The notes after the legs' thigh, shank and foot mountings (along each leg and across the two) and
    the pelvis's are made to agree (:func:`~imukin.preprocessing.align.leg_signs`, in place); a segment
    whose sign this settles loses its earlier "uncertain" note."""
    from imukin.preprocessing.align import leg_signs

    chain = leg_signs(alignments, gyr, fs, activity, align_config())
    settled = {n.split(":")[0] for n in chain if alignments[n.split(":")[0]].sign_confident}
    return [n for n in notes if not (n.split(":")[0] in settled and "uncertain" in n)] + chain


def align_config():
    """The automatic alignment's settings in :func:`predict`: the pelvis keeps the anterior tilt it has
    in the simulated gait the models learnt from (``pelvis_vertical="gait"``), also when the
    recording holds standing; the other segments as :class:`~imukin.preprocessing.align.AlignConfig`."""
    from imukin.preprocessing.align import AlignConfig

    return AlignConfig(pelvis_vertical="gait")


def given_mounting(seg: str, known: dict, align: str):
    """A segment's mounting when it need not be searched for: from ``known`` (``{segment: 3x3}``, e.g.
    from :func:`parse_mounting`), or the identity for ``align="none"`` (the sensor frame is taken as
    the segment frame); None when it is to be found (:func:`segment_mounting`)."""
    from imukin.preprocessing.align import SegmentAlignment

    if seg in known:
        return SegmentAlignment.from_matrix(known[seg], seg)
    if align == "none":
        al = SegmentAlignment.from_matrix(np.eye(3), seg)
        al.method = al.sign_rule = "none (sensor frame = segment frame)"
        return al
    return None


def segment_mounting(acc: np.ndarray, gyr: np.ndarray, fs: float, seg: str, activity: str, where: str = "",
                     hint: str = "") -> tuple:
    """One sensor's mounting found from its signals (``align="auto"``), as :func:`predict` and
    ``imukin stream`` find it: :func:`~imukin.preprocessing.align.align_segment` with :func:`align_config`
    on the segment's name (its side gives the frontal part of the expected mean force).

    Returns ``(SegmentAlignment, notes)``, the notes being the alignment's warnings as text; a
    mounting that cannot be found raises one :class:`ImukinError` naming the sensor (``where``) and
    ending with ``hint``.
    """
    from imukin.preprocessing.align import align_segment

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            al = align_segment(acc, gyr, fs, seg, cfg=align_config(), activity=activity)
        except ImukinError as e:
            raise ImukinError(f"the mounting of the {seg} sensor{where} could not be found: {e}{hint}") from None
    return al, [f"{seg}: {w.message}" for w in caught]


# ---------------------------------------------------------------- gaps
def fill_short_gaps(x: np.ndarray, bad: np.ndarray, max_len: int) -> np.ndarray:
    """Linearly fill runs of ``bad`` frames no longer than ``max_len`` (and not at the ends): (N, C) -> (N, C)."""
    from imukin.preprocessing.align import bouts

    x = np.array(x, float)
    n = len(x)
    for s, e in bouts(bad):
        if e - s <= max_len and s > 0 and e < n:
            w = (np.arange(s, e) - (s - 1)) / (e - s + 1)  # (L,)
            x[s:e] = x[s - 1] + w[:, None] * (x[e] - x[s - 1])
    return x


def _pieces(bad: np.ndarray, fs: float) -> tuple[list[tuple[int, int]], list[tuple[int, int]], np.ndarray]:
    """Stretches to predict, the gaps left out, and the mask of frames filled by interpolation."""
    from imukin.preprocessing.align import bouts

    max_len = int(round(MAX_FILL_S * fs))
    n = len(bad)
    long_gap = np.zeros(n, bool)
    filled = np.zeros(n, bool)
    for s, e in bouts(bad):
        if e - s <= max_len and s > 0 and e < n:
            filled[s:e] = True
        else:
            long_gap[s:e] = True
    pieces = [(s, e) for s, e in bouts(~long_gap)]
    return pieces, bouts(long_gap), filled


# ---------------------------------------------------------------- calibration
def _read_pose(calibrate) -> dict[str, np.ndarray] | None:
    """``{joint: (3,) deg}`` of a known pose, from a dict or JSON file; None for ``"standing"``."""
    if isinstance(calibrate, str) and calibrate == "standing":
        return None
    if isinstance(calibrate, (str, Path)):
        calibrate = read_config_file(calibrate, "calibration file",
                                     "pass 'standing' or a JSON file of the pose held at the start, e.g. "
                                     '{"rknee": [5, 0, 0]} (degrees; joints not named are taken as 0)')
    if not isinstance(calibrate, dict):
        raise ImukinError("calibrate must be 'standing' or {joint: [flexion, adduction, rotation]} in degrees")
    from imukin.conventions import JOINTS

    out = {}
    for k, v in calibrate.items():
        check_choice("joint", k, JOINTS)
        a = np.asarray(v, float).reshape(-1)
        if a.shape != (3,) or not np.all(np.isfinite(a)):
            raise ImukinError(f"calibration pose of {k} must be three finite angles in degrees, got {v!r}")
        out[k] = a
    return out


#: How long after the standing (s) the sensors' orientation filters carry the standing pose into the
#: motion to set each joint's offset. Without a magnetometer the two filters' relative heading drifts,
#: so a stretch near the standing: long enough for a dozen strides, short enough for little drift.
CARRY_S = 20.0
MIN_CARRY_S = 1.0  # s of motion after the standing needed to carry it; with less, the standing itself is used


def still_bouts(rec: Recording, segments, cfg=None) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Where every sensor of ``segments`` holds still, as ``calibrate="standing"`` looks for the standing.

    Parameters
    ----------
    rec : Recording
    segments : iterable of str
        The sensors that must all be still (``rec.acc`` / ``rec.gyr`` keys).
    cfg : imukin.preprocessing.align.AlignConfig, optional
        Stillness thresholds and ``min_still_s`` (default: its defaults).

    Returns
    -------
    runs : list of (int, int)
        Start and stop frames of each bout of at least ``cfg.min_still_s`` without a gap, in order.
    still : ndarray of bool, shape (N,)
        Per frame: every one of those sensors still and no gap.
    """
    from imukin.preprocessing.align import AlignConfig, bouts, still_mask

    cfg = cfg or AlignConfig()
    still = ~rec.gap_mask()
    for seg in segments:
        still &= still_mask(np.nan_to_num(rec.acc[seg]), np.nan_to_num(rec.gyr[seg]), rec.fs, cfg)
    return [b for b in bouts(still) if b[1] - b[0] >= cfg.min_still_s * rec.fs], still


def calibrate_to_pose(angles: dict, rec: Recording, segments, calibrate, aligned=None) -> tuple[dict, dict]:
    """Absolute angles: shift each joint's angles by one constant so that the known pose holds in the
    recording's quiet standing.

    The first still period (:func:`imukin.preprocessing.align.standing_period`) common to every
    sensor is taken as the pose: neutral standing (0 deg on every axis) for
    ``calibrate="standing"``, or the angles given per joint. For neutral standing, with ``aligned``,
    only a period in which every segment stands upright counts (within
    ``AlignConfig.max_standing_tilt_deg`` of its superior axis): sitting first is not standing.

    Not every network learnt standing (the walking knee and hip CNNs did, the others learnt gait only),
    so the networks' angles in the standing are not what sets the offset. With ``aligned`` (segment -> its
    sensor's (acc, gyr) in segment axes) the pose is carried into the motion by the classical orientation
    filters (:class:`imukin.fusion.classical.ClassicalPredictor`,
    calibrated on that standing with the pose), over the :data:`CARRY_S` seconds after it; the offset is
    what the networks' angles lack of the filters' where the legs move there, on average. Without
    ``aligned``, or with less than :data:`MIN_CARRY_S` of motion after the standing before a gap or the
    end, the offset makes the angles' mean over the standing equal the pose.

    Returns the shifted angles and, per joint, the offset added, the standing's frames, the pose and
    the frames the offset was taken over (``carried``: ``[start, stop]``, or None).
    """
    from imukin.fusion.classical import ClassicalConfig, ClassicalPredictor
    from imukin.preprocessing.align import AlignConfig, is_upright

    pose = _read_pose(calibrate)
    cfg = AlignConfig()
    ok = ~rec.gap_mask()
    runs, still = still_bouts(rec, segments, cfg)
    if pose is None and aligned is not None:  # neutral standing is upright: not a seated or lying still period
        runs = [(a, b) for a, b in runs if all(is_upright(aligned(seg)[0][a:b], [0.0, 1.0, 0.0], cfg)
                                               for seg in segments)]  # segment axes: y is up
    if not runs:
        raise ImukinError(f"{rec.name} has no quiet standing of at least {cfg.min_still_s:g} s on all sensors to "
                          "calibrate on; record a few seconds of standing, or predict without calibration")
    a, b = runs[0]
    stop = b + int(round(CARRY_S * rec.fs))  # the carried stretch: up to CARRY_S, to the first gap or the end
    gap = np.flatnonzero(~ok[b:stop])
    stop = min(b + (int(gap[0]) if len(gap) else stop - b), rec.n_frames)
    moving = ~still[b:stop]  # the networks' angles count where the legs move (not every one learnt standing)
    carry = aligned is not None and moving.sum() >= MIN_CARRY_S * rec.fs
    out, info = {}, {}
    for name, x in angles.items():
        target = np.zeros(3) if pose is None else pose.get(name, np.zeros(3))
        offset, carried = target - np.nanmean(x[a:b], axis=0), False
        if carry:
            joint, side = joint_and_side(name)
            signals = [v[a:stop] for seg in joint_segments(joint, side) for v in aligned(seg)]  # 4 x (m, 3)
            known = np.tile(target, (b - a, 1))  # the pose over the standing
            filt = ClassicalPredictor(joint, ClassicalConfig(calib_s=(b - a) / rec.fs)).predict(
                *signals, side=side, fs=rec.fs, reference=known)  # (m, 3) deg, the pose carried
            lack = (filt[b - a:] - x[b:stop])[moving]  # (k, 3), NaN where the networks gave no angles
            if np.isfinite(lack).any(axis=0).all():
                offset, carried = np.nanmean(lack, axis=0), True
        out[name] = x + offset
        info[name] = {"offset_deg": np.round(offset, 3).tolist(), "frames": [int(a), int(b)],
                      "pose_deg": target.tolist(), "carried": [int(b), int(stop)] if carried else None}
    return out, info


# ---------------------------------------------------------------- entry point
def predict(recording, fs: float | None = None, joints=None, sides=None, activity: str = "walking",
            model: str = "cnn", align: str = "auto", mounting=None, refine: bool = False, run=None, ori_run=None,
            calibrate=None, sync: str = "none", repair_saturation: bool = True, device: str = "cpu",
            progress: bool = False) -> Prediction:
    """Joint angles of every joint the sensors allow.

    Parameters
    ----------
    recording : Recording, path-like, or dict
        A :class:`~imukin.io.recording.Recording`, a path :func:`imukin.load_recording`
        reads, or arrays ``{segment: (acc, gyr)}`` (m/s^2, rad/s, (N, 3) each; ``fs``
        then required).
    fs : float, optional
        Hz. Required for arrays and for files without time stamps; checked against
        time stamps where there are any.
    joints : sequence of {"hip", "knee", "ankle"}, optional
        Only these (default: every joint both of whose segments have a sensor).
    sides : sequence of {"right", "left"}, optional
        Only these legs (default: both).
    activity : {"walking", "running"}
        Which shipped models to use.
    model : {"cnn", "transformer", "both"}
        Which shipped angle network; ``both``: the mean of the two networks' angles
        (:class:`~imukin.predictor.MeanPredictor`; with ``refine``, of the two refined ones).
    align : {"auto", "none"}
        ``auto`` (default): find each sensor's mounting from the recording itself, with
        or without a standing period. ``none``: the sensors sit in their segments' frames.
    mounting : dict or path-like, optional
        Known mountings ``{segment: 3x3 matrix or {"euler_zxy_deg": [z, x, y]}}``
        (``v_segment = r_mount @ v_sensor``), or a JSON file of them; these win over
        ``align``.
    refine : bool
        Add the optimisation stage (orientation network fused with the gyroscopes).
    run, ori_run : path-like, optional
        A trained run folder (one joint) instead of the shipped model, and its
        orientation run for ``refine``.
    calibrate : "standing", dict or path-like, optional
        Absolute angles from a known pose held during the recording's first quiet standing
        (at least 0.5 s on every sensor): ``"standing"`` for neutral standing (0 deg), or
        ``{joint: [flexion, adduction, rotation]}`` (or a JSON file of it) for another pose.
        Each joint's angles are shifted by one constant so that they match the pose there.
        Default: none (the networks' own absolute angles).
    sync : {"none", "impact"}
        ``none`` (default): the sensors were sampled together (one clock, or the vendor's synchronisation).
        ``impact``: they were not; the wearer jumped once (or the sensors were tapped together) in the first
        15 s, and each sensor is shifted onto the first one by that impact
        (:func:`imukin.preprocessing.synchronize.sync_sensors_by_impact`); the angles then cover the span
        every sensor recorded, on the timeline of the first sensor in :data:`imukin.conventions.SEGMENTS`
        order (the pelvis where there is one; ``Prediction.sync`` says which and where).
    repair_saturation : bool
        Gyroscope channels cut flat at their range (:func:`imukin.preprocessing.saturation.saturated_axes`) get
        their cut peaks put back as smooth curves through the samples either side
        (:func:`~imukin.preprocessing.saturation.repair_saturated`; default). False keeps them as recorded.
        Accelerometers are never repaired. Either way the report names every saturated sensor.
    device : str
        ``cpu`` or ``cuda``.
    progress : bool
        Progress bars.

    Returns
    -------
    Prediction

    Raises
    ------
    ImukinError
        Every check of :func:`imukin.load_recording`, plus: no joint whose two segments
        have sensors (the message names the segments found and missing), unknown
        joints, sides, activity or model, a mounting that could not be found.
    """
    check_choice("activity", activity, ACTIVITIES)
    check_choice("align", align, ALIGN_MODES)
    check_choice("sync", sync, SYNC_MODES)
    for j in joints or ():
        check_choice("joint", j, JOINT_NAMES)
    for s in sides or ():
        check_choice("side", s, SIDES)
    rec = _as_recording(recording, fs, sync)
    sync_info = {}
    if sync == "impact":
        rec, sync_info = _synchronised(rec)
    pairs = _joint_pairs(rec, joints, sides, run)
    needed = sorted({seg for j, s in pairs for seg in joint_segments(j, s)}, key=SEGMENTS.index)
    manual = parse_mounting(mounting) if mounting is not None else None
    timings = dict.fromkeys(("align", "load_models", "resample", "models", "calibrate"), 0.0)
    t0 = time.perf_counter()
    acc_in, gyr_in = {s: rec.acc[s] for s in needed}, {s: rec.gyr[s] for s in needed}
    saturated = find_saturation(acc_in, gyr_in)
    first_notes = list(rec.notes) + saturation_notes(acc_in, gyr_in, saturated)
    if repair_saturation:
        gyr_fixed, runs = repair_gyroscopes(gyr_in, saturated)
        if runs:
            rec = replace(rec, gyr={**rec.gyr, **gyr_fixed})
        first_notes += [repaired_note(seg, n) for seg, n in runs.items()]
    alignments, notes = find_mounting(rec, needed, activity, manual, align)
    notes = first_notes + notes
    if run is None:  # the shipped models: say where the strides lie outside those they learnt from
        notes += stride_notes(acc_in, gyr_in, rec.fs, activity)
    for seg, al in alignments.items():
        if al.method == "auto" and not al.sign_confident:
            notes.append(f"{seg}: the mounting found is uncertain (rule {al.sign_rule}); check the {seg} angles or "
                         "give the mounting (--mounting)")
    bad = rec.gap_mask()
    pieces, gaps = _gap_plan(bad, rec.fs, notes)
    max_len = int(round(MAX_FILL_S * rec.fs))
    timings["align"] = time.perf_counter() - t0

    def aligned(seg: str) -> tuple[np.ndarray, np.ndarray]:  # segment-frame (acc, gyr), short gaps filled
        acc = fill_short_gaps(rec.acc[seg], bad, max_len)
        gyr = fill_short_gaps(rec.gyr[seg], bad, max_len)
        return alignments[seg].apply(np.nan_to_num(acc), np.nan_to_num(gyr))

    t0 = time.perf_counter()
    predictors, models = _load_predictors(pairs, activity, model, run, refine, ori_run, device)
    timings["load_models"] = time.perf_counter() - t0
    from imukin.inference import run_concurrently  # torch is imported by now
    tasks = [(j, side) for j in predictors for side in SIDES if (j, side) in pairs]
    angles = {joint_name(j, side): np.full((rec.n_frames, 3), np.nan) for j, side in tasks}
    signals = _AlignedSignals(aligned, keep=len(pieces) > 1, timings=timings)
    for s, e in pieces:
        inputs = _ModelRateInputs(signals, rec.fs, s, e, [(joint_segments(j, side), float(predictors[j].fs))
                                                           for j, side in tasks], timings)

        def one(task, s=s, e=e, inputs=inputs):
            j, side = task
            angles[joint_name(j, side)][s:e] = _predict_piece(
                predictors[j], inputs, joint_segments(j, side), side,
                progress=joint_name(j, side) if progress and e - s > PROGRESS_MIN_S * rec.fs else False)

        t0, resampled = time.perf_counter(), timings["resample"]
        run_concurrently(one, tasks, device)  # the joints' networks, two at a time on a CPU
        timings["models"] += time.perf_counter() - t0 - (timings["resample"] - resampled)
    order = [joint_name(j, s) for j in JOINT_NAMES for s in SIDES]
    angles = {k: angles[k] for k in order if k in angles}
    calibration = {}
    if calibrate is not None:
        t0 = time.perf_counter()
        angles, calibration = calibrate_to_pose(angles, rec, needed, calibrate, aligned=aligned)
        timings["calibrate"] = time.perf_counter() - t0
    return Prediction(angles=angles, fs=rec.fs, recording=rec,
                      mounting={seg: al.as_dict() for seg, al in alignments.items()},
                      models={k: models[k] for k in angles}, warnings=notes, gaps=gaps, calibration=calibration,
                      sync=sync_info,
                      timings=timings)


def _joint_pairs(rec: Recording, joints, sides, run) -> list[tuple[str, str]]:
    """The (joint, side) pairs to predict: those asked for (a trained run: its joint) whose two
    segments have sensors; none is one line naming the segments found and missing."""
    if run is not None:
        from imukin.models.checkpoint import read_checkpoint_info

        run_joint = read_checkpoint_info(run).get("meta", {}).get("joint")
        if joints and run_joint not in joints:
            raise ImukinError(f"{run} is a {run_joint} model but joints {', '.join(joints)} were asked for")
        joints = [run_joint]
    pairs = rec.joints(joints, sides)
    if not pairs:
        want = [(j, s) for s in (sides or SIDES) for j in (joints or JOINT_NAMES)]
        need = sorted({seg for j, s in want for seg in joint_segments(j, s)}, key=SEGMENTS.index)
        missing = [s for s in need if s not in rec.acc]
        raise ImukinError(f"{rec.name}: no joint has sensors on both its segments; found {', '.join(rec.segments)}, "
                          f"missing {', '.join(missing)} (hip needs pelvis + thigh, knee thigh + shank, ankle shank + "
                          "foot)")
    return pairs


def _gap_plan(bad: np.ndarray, fs: float, notes: list[str]) -> tuple[list, list]:
    """The stretches to predict (long enough, between gaps longer than :data:`MAX_FILL_S`) and the
    gaps, as ``[(start, end)]`` frame ranges; what was filled or left out goes to ``notes``."""
    pieces, gaps, filled = _pieces(bad, fs)
    if filled.any():
        notes.append(f"{int(filled.sum())} missing samples in gaps of at most {MAX_FILL_S:g} s were interpolated")
    if gaps:
        notes.append(f"{len(gaps)} gap(s) longer than {MAX_FILL_S:g} s ({sum(e - s for s, e in gaps)} samples) split "
                     "the recording; the angles are NaN there")
    min_piece = int(np.ceil(MIN_PIECE_S * fs))
    short = [(s, e) for s, e in pieces if e - s < min_piece]
    if short:
        notes.append(f"{len(short)} stretch(es) between gaps shorter than {MIN_PIECE_S:g} s were not predicted (NaN)")
    return [(s, e) for s, e in pieces if e - s >= min_piece], gaps


def _load_predictors(pairs, activity, model, run, refine, ori_run, device) -> tuple[dict, dict]:
    """One predictor per joint of ``pairs`` (``{joint: predictor}``) and the model label of each
    joint and side (``{"rknee": "walking_knee_cnn", ...}``)."""
    predictors, models = {}, {}
    for joint in JOINT_NAMES:
        if not any(j == joint for j, _ in pairs):
            continue
        predictor, label = _load_model(joint, activity, model, run, refine, ori_run, device)
        if getattr(predictor, "joint", joint) != joint:
            raise ImukinError(f"the model {label} is for the {predictor.joint}, not the {joint}")
        predictors[joint] = predictor
        for j, side in pairs:
            if j == joint:
                models[joint_name(joint, side)] = label
    return predictors, models


# ---------------------------------------------------------------- models on shared inputs
class _AlignedSignals:
    """Each segment's signals in its segment frame, made when first asked for.

    Parameters
    ----------
    make : callable
        ``make(segment) -> (acc, gyr)``, (N, 3) each.
    keep : bool
        Keep them for further stretches (a recording split by long gaps); otherwise each is
        made once per stretch and only its slice at the models' rate is kept.
    timings : dict
        ``timings["align"]`` grows by the seconds spent.
    """

    def __init__(self, make, keep: bool, timings: dict):
        self.make, self.keep, self.timings = make, keep, timings
        self._kept: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def __getitem__(self, seg: str) -> tuple[np.ndarray, np.ndarray]:
        if seg in self._kept:
            return self._kept[seg]
        t0 = time.perf_counter()
        out = self.make(seg)
        self.timings["align"] += time.perf_counter() - t0
        if self.keep:
            self._kept[seg] = out
        return out


class _ModelRateInputs:
    """One stretch ``[s, e)`` of every segment's aligned signals at the models' rate, resampled once.

    A segment feeds up to two joints of its leg (a thigh the hip and the knee), and the three
    joints' models share one rate, so each segment is resampled once per stretch and rate, not once
    per joint; it is dropped after its last use.

    Parameters
    ----------
    signals : _AlignedSignals or dict of str -> (ndarray, ndarray)
        Per segment, aligned ``(acc, gyr)`` (N, 3) at ``fs``.
    fs : float
        Hz of ``signals``.
    s, e : int
        The stretch.
    uses : list of ((str, str), float)
        Per joint to predict, its (proximal, distal) segments and its model's rate.
    timings : dict
        ``timings["resample"]`` grows by the seconds spent resampling.
    """

    def __init__(self, signals, fs: float, s: int, e: int, uses: list, timings: dict):
        self.signals, self.fs, self.s, self.e, self.timings = signals, fs, s, e, timings
        self._lock = threading.Lock()  # joints are predicted two at a time (imukin.inference.run_concurrently)
        self._left: dict[tuple[str, float], int] = {}
        for segs, fs_model in uses:
            for seg in segs:
                self._left[seg, fs_model] = self._left.get((seg, fs_model), 0) + 1
        self._cache: dict[tuple[str, float], list[np.ndarray]] = {}

    def raw(self, seg: str) -> list[np.ndarray]:
        """``[acc, gyr]`` of a segment over the stretch at the recording's rate (views)."""
        return [a[self.s:self.e] for a in self.signals[seg]]

    def at(self, seg: str, fs_model: float) -> list[np.ndarray]:
        """``[acc, gyr]`` of a segment over the stretch at ``fs_model`` (float64, as the predictors resample)."""
        from imukin.conventions import same_rate
        from imukin.signal import resample

        key = (seg, fs_model)
        with self._lock:  # one thread makes it, the other waits for it
            if key not in self._cache:
                t0 = time.perf_counter()
                sig = [np.asarray(a, float) for a in self.raw(seg)]
                if not same_rate(self.fs, fs_model):
                    sig = [resample(a, self.fs, fs_model) for a in sig]
                self._cache[key] = sig
                self.timings["resample"] += time.perf_counter() - t0
            out = self._cache[key]
            self._left[key] -= 1
            if self._left[key] <= 0:  # its last joint: free it
                del self._cache[key]
        return out

    def add_time(self, stage: str, seconds: float) -> None:
        """Add ``seconds`` to ``timings[stage]`` (from any thread)."""
        with self._lock:
            self.timings[stage] += seconds


def _predict_piece(predictor, inputs: _ModelRateInputs, segs: tuple[str, str], side: str,
                   progress: bool | str = False) -> np.ndarray:
    """One joint's angles (n, 3) over one stretch, from inputs shared with the other joints.

    The same numbers as ``predictor.predict(acc1, gyr1, acc2, gyr2, side, fs)`` (which
    resamples to the model's rate, runs ``outputs_from_signals`` and resamples back).
    """
    from imukin.conventions import same_rate
    from imukin.signal import resample_to_length

    prox, dist = segs
    fs_model = float(predictor.fs)
    signals = [*inputs.at(prox, fs_model), *inputs.at(dist, fs_model)]  # acc1, gyr1, acc2, gyr2 (T_model, 3)
    if len(signals[0]) < 8:  # too short for the network: the predictor says so in its own words
        return predictor.predict(*inputs.raw(prox), *inputs.raw(dist), side=side, fs=inputs.fs)
    y = predictor.outputs_from_signals(*signals, side, progress=progress)  # (T_model, 3)
    del signals
    if not same_rate(inputs.fs, fs_model):
        t0 = time.perf_counter()
        y = resample_to_length(y, fs_model, inputs.fs, inputs.e - inputs.s)
        inputs.add_time("resample", time.perf_counter() - t0)
    return y


def _synchronised(rec: Recording) -> tuple[Recording, dict]:
    """``rec`` with its sensors put on the first one's timeline by a common impact, and what was done."""
    from imukin.preprocessing.synchronize import IMPACT_SEARCH_S, sync_sensors_by_impact

    if len(rec.segments) < 2:
        return rec, {}
    order = sorted(rec.acc, key=SEGMENTS.index)  # the pelvis, or the most proximal sensor, is the reference
    acc, gyr, info = sync_sensors_by_impact({k: rec.acc[k] for k in order}, {k: rec.gyr[k] for k in order}, rec.fs)
    notes = list(rec.notes)
    a, b = info["frames"]
    shifts = ", ".join(f"{seg} {d['offset_s'] * 1000:+.0f} ms" for seg, d in info["sensors"].items()
                       if not d.get("reference"))
    notes.append(f"sensors synchronised by the impact onto {info['reference']} ({shifts}); frames {a}-{b} of it kept")
    weak = [seg for seg, d in info["sensors"].items() if not d.get("reference") and d["confidence"] < 0.3]
    if weak:
        notes.append(f"the impact is unclear in {', '.join(weak)} (confidence below 0.3): check that the jump or tap "
                     f"shows in every sensor in the first {IMPACT_SEARCH_S:g} s")
    reference = {j: v[a:b] for j, v in rec.reference.items()}  # on the first sensor's timeline, as the angles
    return replace(rec, acc=acc, gyr=gyr, notes=notes, reference=reference).check(), info


def _as_recording(recording, fs, sync: str = "none") -> Recording:
    if isinstance(recording, Recording):
        if fs is not None:
            from imukin.conventions import check_rate, rates_agree

            fs = check_rate(fs, "the given rate (fs)")
            if not rates_agree(fs, recording.fs):
                raise ImukinError(f"the given rate {fs:g} Hz contradicts the recording's {recording.fs:g} Hz; "
                                  "drop fs, or fix it")
        return recording.check()
    if isinstance(recording, dict):
        return Recording.from_arrays(recording, fs=fs, pad=sync == "impact")
    if isinstance(recording, (str, Path)):
        return load_recording(recording, fs=fs, sync=sync)
    raise ImukinError(f"predict takes a Recording, a path or {{segment: (acc, gyr)}} arrays, not "
                      f"{type(recording).__name__}")


__all__ = ["Prediction", "predict", "find_mounting", "calibrate_to_pose", "fill_short_gaps", "align_config",
           "MIN_PIECE_S"]
