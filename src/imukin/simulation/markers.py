"""Segment frames from optical markers -> simulated IMUs and joint angles.

This is the reference's ("JOB") route from a marker trial to training data, with its
accelerometer defect fixed: segment frames are built from marker clusters, an ideal IMU
(:func:`imukin.simulation.imu.ideal_imu`) is attached to each segment, and joint angles
come from the same frames through :func:`imukin.conventions.joint_angles`.

Two ways to build a segment frame (``ClusterSet.method``):

``"cluster"`` (the reference's)
    Three tracking markers m1, m2, m3 per segment (with four or more markers, m3 is the
    mean of the markers after the first two, e.g. mid-PSIS for ``RASI LASI RPSI LPSI``):
    ``e1 = m2 - m1``, ``e2 = (m3 - m1) x e1``, ``e3 = e1 x e2``, normalised, origin = the
    centroid of all the segment's markers. A cluster frame has no anatomical meaning, so
    a constant correction ``C`` (``R_segment = R_cluster C``) makes the segment frame equal
    to the lab frame (x forward, y up, z right) at a reference instant, i.e. the segment is
    taken to be in its neutral standing orientation then. ``reference="midstance"``
    (default) uses, for each leg, mid-stance: within that leg's longest foot-flat period
    (the foot cluster's centroid nearly still; the shank's if there is no foot), the frame
    where the pelvis is highest (the body vaults over the upright stance leg), or the
    period's middle without pelvis markers. Then thigh and shank are close to upright and
    the foot is flat. For the pelvis it uses the trial's mean pelvis orientation, about
    which the pelvis oscillates while walking. (The reference used foot strike, which
    builds the hip flexion at foot strike, ~20-30 deg in walking, into its angles.)
    Joint angles from cluster frames are therefore offset by the subject's joint angles
    at mid-stance. Measured against Vicon Plug-in Gait on a real trial (see
    :func:`compare_with_vicon`): offsets of about -17 deg (hip flexion), -18 to -24 deg
    (knee flexion) and -13 deg (ankle flexion), with the curves' shapes kept (r 0.95-0.996
    for hip and knee flexion, 4-5 deg RMSE once the offset is removed). Compare such
    angles offset-removed, as the reference's accuracy figures are.
``"pig"`` (Vicon Plug-in Gait segment-axis virtual markers)
    Markers O (origin), A (anterior), L (lateral), P (proximal) per segment, e.g.
    ``RFEO RFEA RFEL RFEP``. In those files L points to the subject's *left* on both
    sides and, for the foot, P points from the toe back along the foot's long axis and A
    points up (checked on Vicon data). imukin's axes: long axis first (y = P - O; for the
    foot x = O - P), then the anterior axis orthogonalised against it (x = A - O; for the
    foot y = A - O), z = x x y (to the right, both sides); origin = O.

Marker gaps inside the trial up to ``max_gap_s`` are filled with a cubic spline; longer
ones raise :class:`~imukin.errors.ImukinError`. Frames before a marker first appears and
after it last appears are not gaps: :func:`segment_frames` returns NaN there and
:func:`markers_to_record` trims the trial to the span where every used marker is seen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation, Slerp

from imukin.conventions import ACTIVITIES, ANGLE_AXES, JOINT_NAMES, SEGMENTS, SIDES, check_choice, joint_angles, \
    joint_name, joint_segments, segment_name
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.c3d import MarkerData
from imukin.simulation.imu import ideal_imu
from imukin.simulation.sensor_errors import SensorErrorConfig, apply_electronic_errors

METHODS = ("cluster", "pig")
REFERENCES = ("midstance", "first")
#: Shortest trial (s) left after trimming to the span where all markers are seen.
MIN_DURATION_S = 0.5
#: Plug-in Gait angle output names per joint (prefixed with R or L).
VICON_ANGLE_NAMES = {"hip": "HipAngles", "knee": "KneeAngles", "ankle": "AnkleAngles"}


@dataclass
class ClusterSet:
    """Which markers define each segment's frame.

    Attributes
    ----------
    markers : dict of str -> tuple of str
        Segment name (from :data:`imukin.conventions.SEGMENTS`) -> marker names. For
        ``method="cluster"`` at least three tracking markers (see the module docstring
        for their order); for ``method="pig"`` the four axis markers ``(O, A, L, P)``.
    method : {"cluster", "pig"}
        How the markers become a segment frame (module docstring).
    """

    markers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # segment -> marker names
    method: str = "cluster"  # "cluster" (three-marker frame + correction) or "pig" (PiG axis markers)

    def __post_init__(self) -> None:
        check_choice("segment frame method", self.method, METHODS)
        for seg, names in self.markers.items():
            check_choice("segment", seg, SEGMENTS)
            need = 4 if self.method == "pig" else 3
            if len(names) < need or (self.method == "pig" and len(names) != 4):
                what = "exactly 4 axis markers (O, A, L, P)" if self.method == "pig" else "at least 3 markers"
                raise ImukinError(f"segment {seg} has {len(names)} markers ({', '.join(names)}); "
                                  f"method {self.method!r} needs {what}")


def _leg_clusters(fmt: dict[str, str], **extra) -> dict[str, tuple[str, ...]]:
    out = dict(extra)
    for side in SIDES:
        p = side[0].upper()
        for seg_type, pattern in fmt.items():
            out[segment_name(seg_type, side)] = tuple(s.format(p=p) for s in pattern.split())
    return out


#: The opensim-core walking trials (``walking2.c3d``, ``walking5.c3d``): tracking clusters.
OPENSIM_CLUSTERS = ClusterSet(
    markers=_leg_clusters({"thigh": "{p}TH1 {p}TH2 {p}TH3", "shank": "{p}TB1 {p}TB2 {p}TB3",
                           "foot": "{p}CAL {p}MT1 {p}MT2"}, pelvis=("RASI", "LASI", "RPSI", "LPSI")),
    method="cluster",
)
#: Vicon Plug-in Gait segment-axis virtual markers (femur FE, tibia TI, foot FO).
PIG_CLUSTERS = ClusterSet(
    markers=_leg_clusters({"thigh": "{p}FEO {p}FEA {p}FEL {p}FEP", "shank": "{p}TIO {p}TIA {p}TIL {p}TIP",
                           "foot": "{p}FOO {p}FOA {p}FOL {p}FOP"}, pelvis=("PELO", "PELA", "PELL", "PELP")),
    method="pig",
)


# ---------------------------------------------------------------- gaps
def fill_gaps(xyz: np.ndarray, fs: float, name: str = "marker", max_gap_s: float = 0.1) -> np.ndarray:
    """Fill short interior NaN gaps of one marker trajectory with a cubic spline.

    Parameters
    ----------
    xyz : ndarray, shape (N, 3)
        Trajectory with NaN rows where the marker is missing.
    fs : float
        Sampling rate, Hz.
    name : str
        Marker name, for error messages.
    max_gap_s : float
        Longest gap filled, seconds.

    Returns
    -------
    ndarray, shape (N, 3)
        A copy with interior gaps filled; leading and trailing NaN rows are kept (the
        marker is not yet / no longer seen: trim, don't invent).

    Raises
    ------
    ImukinError
        A gap longer than ``max_gap_s``, naming the marker and its frames (0-based samples).
    """
    xyz = np.array(xyz, float)
    ok = np.all(np.isfinite(xyz), axis=1)  # (N,)
    idx = np.flatnonzero(ok)
    if len(idx) < 4:
        raise ImukinError(f"marker {name} is seen in only {len(idx)} frames; it cannot be used")
    inner = ~ok[idx[0]:idx[-1] + 1]
    if not inner.any():
        return xyz
    d = np.diff(np.concatenate([[0], inner.astype(int), [0]]))
    starts, stops = np.flatnonzero(d == 1) + idx[0], np.flatnonzero(d == -1) + idx[0]  # [start, stop)
    for a, b in zip(starts, stops):
        if (b - a) / fs > max_gap_s + 1e-9:
            raise ImukinError(f"marker {name} is missing in frames {a}-{b - 1} ({(b - a) / fs:.2f} s); gaps up to "
                              f"{max_gap_s:.2f} s are filled - trim the trial or fill the gap in your mocap software")
    spline = CubicSpline(idx, xyz[idx], axis=0)
    fill = ~ok
    fill[:idx[0]] = False
    fill[idx[-1] + 1:] = False
    xyz[fill] = spline(np.flatnonzero(fill))
    return xyz


# ---------------------------------------------------------------- frames
def segment_frames(markers: MarkerData, clusters: ClusterSet, method: str | None = None,
                   reference: str | int = "midstance", max_gap_s: float = 0.1, skip_absent: bool = False,
                   info: dict | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Orientation and origin of every segment frame, imukin conventions.

    Parameters
    ----------
    markers : MarkerData
        Trial in imukin's lab frame (metres).
    clusters : ClusterSet
        Markers per segment.
    method : {"cluster", "pig"}, optional
        Overrides ``clusters.method``.
    reference : {"midstance", "first"} or int
        Cluster method only: instant at which each segment is taken to be neutral
        (module docstring); ``"first"`` = first frame where the segment is seen, an int
        = that frame (0-based) for every segment.
    max_gap_s : float
        Longest interior marker gap filled by a cubic spline, seconds.
    skip_absent : bool
        Leave out segments none of whose markers is in the data (instead of raising).
    info : dict, optional
        If given, receives ``{"reference_frame": {segment: frame index or "mean"}}``.

    Returns
    -------
    dict of str -> (ndarray (N, 3, 3), ndarray (N, 3))
        Segment -> (rotation, columns = segment axes x anterior, y superior, z right in lab
        coordinates; origin in metres). NaN at frames where a marker is not (yet) seen.

    Raises
    ------
    ImukinError
        Missing markers (named, with the segment), or a gap longer than ``max_gap_s``.
    """
    method = clusters.method if method is None else method
    check_choice("segment frame method", method, METHODS)
    pos = _cluster_positions(markers, clusters, max_gap_s, skip_absent)  # segment -> (N, K, 3)
    out = {}
    for seg, p in pos.items():
        out[seg] = _pig_frame(p, seg) if method == "pig" else _cluster_frame(p)
    if method == "cluster":
        ref = _reference_frames(pos, markers.fs, reference)
        for seg, (rot, origin) in out.items():
            r0 = _mean_rotation(rot) if ref[seg] == "mean" else rot[ref[seg]]
            out[seg] = (rot @ r0.T, origin)  # R_segment = R_cluster C with C = R_cluster(ref)^T
        if info is not None:
            info["reference_frame"] = ref
    return out


def _cluster_positions(markers: MarkerData, clusters: ClusterSet, max_gap_s: float,
                       skip_absent: bool) -> dict[str, np.ndarray]:
    """Gap-filled marker positions per segment, (N, K, 3)."""
    out = {}
    for seg, names in clusters.markers.items():
        absent = [n for n in names if not markers.has(n)]
        if absent and (len(absent) < len(names) or not skip_absent):
            raise ImukinError(f"segment {seg} needs marker(s) {', '.join(absent)}, missing from "
                              f"{markers.source or 'the marker data'}; pass a ClusterSet with this file's marker names")
        if absent:
            continue
        out[seg] = np.stack([fill_gaps(markers.marker(n), markers.fs, n, max_gap_s) for n in names], axis=1)
    if not out:
        raise ImukinError(f"none of the segments' markers ({', '.join(clusters.markers)}) is in "
                          f"{markers.source or 'the marker data'}; pass a ClusterSet with this file's marker names")
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _cluster_frame(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference cluster frame of markers (N, K, 3): -> rot (N, 3, 3), origin (N, 3)."""
    m1, m2, m3 = p[:, 0], p[:, 1], p[:, 2:].mean(axis=1)  # (N, 3) each
    e1 = _unit(m2 - m1)
    e2 = _unit(np.cross(m3 - m1, e1))
    e3 = np.cross(e1, e2)
    return np.stack([e1, e2, e3], axis=-1), p.mean(axis=1)


def _pig_frame(p: np.ndarray, seg: str) -> tuple[np.ndarray, np.ndarray]:
    """Plug-in Gait axis markers (N, 4 = O A L P, 3) -> imukin rot (N, 3, 3), origin (N, 3)."""
    o, a, _, prox = (p[:, i] for i in range(4))
    if seg.endswith("foot"):
        x = _unit(o - prox)  # toe direction along the foot's long axis
        y = _unit((a - o) - np.sum((a - o) * x, axis=1, keepdims=True) * x)  # up, perpendicular to the sole
    else:
        y = _unit(prox - o)  # long axis, proximal
        x = _unit((a - o) - np.sum((a - o) * y, axis=1, keepdims=True) * y)  # anterior
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=-1), o


def _mean_rotation(rot: np.ndarray) -> np.ndarray:
    ok = np.all(np.isfinite(rot), axis=(1, 2))
    return Rotation.from_matrix(rot[ok]).mean().as_matrix()


def _reference_frames(pos: dict[str, np.ndarray], fs: float, reference: str | int) -> dict[str, int | str]:
    """Reference instant per segment for the cluster correction."""
    first = {seg: int(np.flatnonzero(np.all(np.isfinite(p), axis=(1, 2)))[0]) for seg, p in pos.items()}
    if isinstance(reference, (int, np.integer)):
        n = next(iter(pos.values())).shape[0]
        if not 0 <= reference < n:
            raise ImukinError(f"reference frame {reference} is outside the trial (0-{n - 1}); pass a frame inside it")
        for seg, p in pos.items():
            if not np.all(np.isfinite(p[reference])):
                raise ImukinError(f"segment {seg} is not seen at reference frame {reference}; pick another frame")
        return {seg: int(reference) for seg in pos}
    check_choice("reference", reference, REFERENCES)
    if reference == "first":
        return first
    out: dict[str, int | str] = {}
    height = pos["pelvis"].mean(axis=1)[:, 1] if "pelvis" in pos else None  # (N,) pelvis centroid height
    for side in SIDES:
        foot, shank = segment_name("foot", side), segment_name("shank", side)
        probe = pos.get(foot, pos.get(shank))
        frame = midstance_frame(probe.mean(axis=1), fs, height=height) if probe is not None else None
        for seg_type in ("thigh", "shank", "foot"):
            seg = segment_name(seg_type, side)
            if seg in pos:
                ok = frame is not None and np.all(np.isfinite(pos[seg][frame]))
                out[seg] = int(frame) if ok else first[seg]
    if "pelvis" in pos:
        out["pelvis"] = "mean"
    return out


def midstance_frame(centroid: np.ndarray, fs: float, height: np.ndarray | None = None,
                    cutoff_hz: float = 8.0) -> int | None:
    """Mid-stance: the highest pelvis point within the longest period a foot is nearly still.

    Parameters
    ----------
    centroid : ndarray, shape (N, 3)
        Foot (or shank) cluster centroid, metres; NaN where not seen.
    fs : float
        Sampling rate, Hz.
    height : ndarray, shape (N,), optional
        Pelvis height, metres; without it the middle of the still period is returned.
    cutoff_hz : float
        Low-pass cutoff applied before differentiating.

    Returns
    -------
    int or None
        Frame index, or None when no still period is found. "Still" is a speed below
        10 % of the way from the slowest to the fastest speed of the trial; periods that
        do not touch the ends of the seen span are preferred (a truncated stance's middle
        is not mid-stance).
    """
    ok = np.flatnonzero(np.all(np.isfinite(centroid), axis=1))
    if len(ok) < 16:
        return None
    a, b = ok[0], ok[-1] + 1
    c = _lowpass(centroid[a:b], fs, cutoff_hz)
    speed = np.linalg.norm(np.gradient(c, 1.0 / fs, axis=0), axis=1)  # (n,)
    thr = speed.min() + 0.1 * (speed.max() - speed.min())
    still = np.concatenate([[0], (speed < thr).astype(int), [0]])
    d = np.diff(still)
    runs = list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))
    inner = [r for r in runs if r[0] > 0 and r[1] < len(speed)]
    runs = inner or runs
    if not runs:
        return None
    s, e = max(runs, key=lambda r: r[1] - r[0])
    if height is not None and np.all(np.isfinite(height[a + s:a + e])) and e - s >= 16:
        h = _lowpass(height[a + s:a + e], fs, cutoff_hz)  # (e - s,)
        return int(a + s + np.argmax(h))
    return int(a + (s + e - 1) // 2)


def _lowpass(x: np.ndarray, fs: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0: a 4th-order design run forwards and backwards."""
    if cutoff_hz is None or cutoff_hz <= 0:
        return x
    if cutoff_hz >= fs / 2:
        raise ImukinError(f"cutoff {cutoff_hz} Hz must be below half the marker rate ({fs / 2} Hz); lower it")
    sos = butter(4, cutoff_hz, fs=fs, output="sos")
    return sosfiltfilt(sos, x, axis=0)


def _trial_frames(markers: MarkerData, clusters: ClusterSet, cutoff_hz: float, reference: str | int,
                  max_gap_s: float):
    """Gap-fill, trim, low-pass and build frames: -> (frames, first, stop, joints, info)."""
    fs = markers.fs
    pos = _cluster_positions(markers, clusters, max_gap_s, skip_absent=True)  # segment -> (N, K, 3)
    joints = [(j, s) for j in JOINT_NAMES for s in SIDES if all(seg in pos for seg in joint_segments(j, s))]
    if not joints:
        raise ImukinError(f"{markers.source or 'the marker data'} has markers for {', '.join(pos) or 'no segment'}, "
                          f"which form no complete joint (hip = pelvis + thigh, knee = thigh + shank, "
                          f"ankle = shank + foot); check the ClusterSet's marker names")
    seen = np.all(np.stack([np.all(np.isfinite(p), axis=(1, 2)) for p in pos.values()]), axis=0)  # (N,)
    idx = np.flatnonzero(seen)
    if len(idx) == 0 or (idx[-1] - idx[0] + 1) / fs < MIN_DURATION_S:
        raise ImukinError(f"the markers of {', '.join(pos)} are seen together for less than {MIN_DURATION_S} s in "
                          f"{markers.source or 'the trial'}; use a longer trial or fewer segments")
    a, b = int(idx[0]), int(idx[-1]) + 1
    if isinstance(reference, (int, np.integer)):
        if not a <= reference < b:
            raise ImukinError(f"reference frame {reference} is outside frames {a}-{b - 1}, where all the markers "
                              f"are seen; pass a frame inside that range")
        reference = int(reference) - a
    names = [n for seg in pos for n in clusters.markers[seg]]
    xyz = np.stack([fill_gaps(markers.marker(n)[a:b], fs, n, max_gap_s) for n in names], axis=1)  # (n, M, 3)
    xyz = _lowpass(xyz, fs, cutoff_hz)
    trimmed = MarkerData(labels=names, fs=fs, xyz=xyz, source=markers.source, units_in=markers.units_in,
                         lab_from_file=markers.lab_from_file, first_frame=markers.first_frame + a)
    info: dict = {}
    frames = segment_frames(trimmed, ClusterSet({s: clusters.markers[s] for s in pos}, clusters.method),
                            reference=reference, max_gap_s=max_gap_s, info=info)
    return frames, a, b, joints, info


# ---------------------------------------------------------------- record
def markers_to_record(markers: MarkerData, clusters: ClusterSet, fs_out: float = 200.0, cutoff_hz: float = 8.0,
                      subject_id: str = "s0", sensor_offsets: dict[str, np.ndarray] | None = None,
                      reference: str | int = "midstance", max_gap_s: float = 0.1,
                      activity: str = "walking") -> SubjectRecord:
    """Simulated IMUs, sensor orientations and joint angles from a marker trial.

    Steps: interior gaps up to ``max_gap_s`` filled; the trial trimmed to the span where
    every used marker is seen; markers low-pass filtered (4th-order zero-phase
    Butterworth, ``cutoff_hz``: marker noise explodes when differentiated twice); segment
    frames built (:func:`segment_frames`); an ideal IMU simulated at each segment's frame
    origin (plus ``sensor_offsets``) with :func:`imukin.simulation.imu.ideal_imu`, i.e.
    ``acc = R^T (p'' - g)`` (+9.81 m/s^2 on the up axis at rest) from spline
    derivatives at the marker times, evaluated at ``fs_out``; orientations resampled by
    slerp; joint angles for every joint whose two segments are present.

    Parameters
    ----------
    markers : MarkerData
        Marker trial (lab frame, metres).
    clusters : ClusterSet
        Markers per segment; segments none of whose markers is in ``markers`` are left
        out (a one-leg trial works).
    fs_out : float
        Output rate, Hz.
    cutoff_hz : float
        Marker low-pass cutoff, Hz (the reference's 8 Hz); 0 disables filtering.
    subject_id : str
        Record name.
    sensor_offsets : dict of str -> array (3,), optional
        Sensor position per segment in that segment's frame (metres from the origin).
    reference : {"midstance", "first"} or int
        Neutral instant for the cluster method (see :func:`segment_frames`).
    max_gap_s : float
        Longest interior marker gap filled, seconds.
    activity : {"walking", "running"}
        Stored in ``attrs``.

    Returns
    -------
    SubjectRecord
        ``acc``/``gyr``/``rmat`` per present segment, ``angle`` per complete joint, all
        at ``fs_out``; ``attrs`` hold source, method, cutoff, original rate, frame range.

    Raises
    ------
    ImukinError
        No complete joint, partly missing clusters, long gaps, or a too short trial.
    """
    if not fs_out > 0:
        raise ImukinError(f"fs_out must be a positive rate in Hz, got {fs_out}")
    check_choice("activity", activity, ACTIVITIES)
    fs = markers.fs
    frames, a, b, joints, info = _trial_frames(markers, clusters, cutoff_hz, reference, max_gap_s)

    n = b - a
    t = np.arange(n) / fs  # (n,) marker times
    t_out = np.arange(0.0, t[-1] + 1e-9, 1.0 / fs_out)  # (T,)
    rec = SubjectRecord(subject_id=subject_id, fs=float(fs_out))
    offsets = sensor_offsets or {}
    for seg in SEGMENTS:
        if seg not in frames:
            continue
        rot, origin = frames[seg]
        rot = Rotation.from_matrix(rot).as_matrix()  # exactly orthonormal for the spline
        sensor = origin + rot @ np.asarray(offsets.get(seg, np.zeros(3)), float)  # (n, 3)
        rec.acc[seg], rec.gyr[seg] = ideal_imu(t, rot, sensor, t_out=t_out)
        rec.rmat[seg] = Slerp(t, Rotation.from_matrix(rot))(t_out).as_matrix()  # (T, 3, 3)
    for joint, side in joints:
        prox, dist = joint_segments(joint, side)
        rec.angle[joint_name(joint, side)] = joint_angles(rec.rmat[prox], rec.rmat[dist], joint, side)
    ref = info.get("reference_frame", {})
    rec.attrs.update(
        source=str(markers.source), method=clusters.method, cutoff_hz=float(cutoff_hz), fs_markers=float(fs),
        frames=f"{a}-{b - 1}", first_frame=int(markers.first_frame + a),
        reference_frames=", ".join(f"{k}:{v if v == 'mean' else int(v) + a}" for k, v in ref.items()),
        activity=activity, generator="imukin.simulation.markers",
    )
    rec.validate()
    return rec


# ---------------------------------------------------------------- Vicon comparison
def compare_with_vicon(markers: MarkerData, joints=("hip", "knee", "ankle"), clusters: ClusterSet = PIG_CLUSTERS,
                       cutoff_hz: float | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """imukin's joint angles vs Vicon Plug-in Gait's own angle outputs, per joint, side and axis.

    With the default :data:`PIG_CLUSTERS` both come from the same PiG segments, so the
    comparison isolates the angle conventions (axes, Euler sequence, signs). With a
    ``method="cluster"`` set (e.g. the physical thigh/shank/foot markers) it measures
    the cluster method, offsets from its neutral-posture assumption included.

    Plug-in Gait ankle specifics (measured on a Vicon trial): Vicon's knee uses the tibia
    axis markers (``RTIO...``) as they are, and imukin's knee matches it to 0.01 deg; Vicon's
    ankle uses that tibia turned about its long axis by the tibial torsion, and a
    flexion - rotation - inversion (Z-Y'-X'') sequence about the PiG foot axes (long axis
    toe -> ankle). imukin keeps one convention (untorsioned tibia, Z-X'-Y'' with the foot's
    y perpendicular to the sole), so ankle flexion agrees closely, ankle rotation is offset
    by the torsion (a constant, reported as ``offset_deg``), and the frontal angles differ.

    Parameters
    ----------
    markers : MarkerData
        A Plug-in Gait trial with ``angles`` such as ``RHipAngles`` (columns sagittal,
        frontal, transverse) and the markers ``clusters`` names.
    joints : sequence of {"hip", "knee", "ankle"}
    clusters : ClusterSet
        Segment markers (default :data:`PIG_CLUSTERS`).
    cutoff_hz : float, optional
        Marker low-pass cutoff; default none for PiG axis markers (Vicon's angles come
        from the same unfiltered axes), 8 Hz for clusters (as :func:`markers_to_record`).

    Returns
    -------
    dict
        ``result[joint_name][axis]`` (e.g. ``result["rknee"]["flexion"]``) -> dict with
        ``rmse_deg``, ``offset_deg`` (mean imukin - Vicon), ``rmse_offset_removed_deg``,
        ``r`` (Pearson) and ``n`` (frames compared).
    """
    for j in joints:
        check_choice("joint", j, JOINT_NAMES)
    if cutoff_hz is None:
        cutoff_hz = 0.0 if clusters.method == "pig" else 8.0
    frames, a, b, _, _ = _trial_frames(markers, clusters, cutoff_hz, "midstance", 0.1)
    result = {}
    for joint in joints:
        for side in SIDES:
            vicon = markers.angles.get(side[0].upper() + VICON_ANGLE_NAMES[joint])
            prox, dist = joint_segments(joint, side)
            if vicon is None or prox not in frames or dist not in frames:
                continue
            vicon = vicon[a:b]  # (n, 3)
            ours = joint_angles(frames[prox][0], frames[dist][0], joint, side)  # (n, 3)
            ok = np.all(np.isfinite(ours), axis=1) & np.all(np.isfinite(vicon), axis=1)
            if ok.sum() < 3:
                continue
            per_axis = {}
            for k, axis in enumerate(ANGLE_AXES):
                d = ours[ok, k] - vicon[ok, k]
                per_axis[axis] = dict(
                    rmse_deg=float(np.sqrt(np.mean(d ** 2))), offset_deg=float(d.mean()),
                    rmse_offset_removed_deg=float(np.std(d)), r=float(np.corrcoef(ours[ok, k], vicon[ok, k])[0, 1]),
                    n=int(ok.sum()))
            result[joint_name(joint, side)] = per_axis
    if not result:
        raise ImukinError(f"{markers.source or 'the marker data'} has no Vicon angle outputs (RHipAngles, ...) "
                          f"for the joints its segment markers form; nothing to compare")
    return result


def format_vicon_table(result: dict) -> str:
    """Markdown table of :func:`compare_with_vicon`'s result."""
    lines = ["| joint | axis | RMSE (deg) | offset (deg) | RMSE offset removed (deg) | r | frames |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for jn, axes in result.items():
        for axis, m in axes.items():
            lines.append(f"| {jn} | {axis} | {m['rmse_deg']:.2f} | {m['offset_deg']:+.2f} | "
                         f"{m['rmse_offset_removed_deg']:.2f} | {m['r']:.3f} | {m['n']} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- files
def read_marker_file(path: str | Path) -> MarkerData:
    """Read a ``.c3d`` or OpenSim ``.trc`` marker file into imukin's lab frame (metres, Y up)."""
    from imukin.io.c3d import read_c3d
    from imukin.io.opensim import read_trc

    path = Path(path)
    readers = {".c3d": read_c3d, ".trc": read_trc}
    if path.suffix.lower() not in readers:
        raise ImukinError(f"{path.name}: unknown marker file type {path.suffix!r}; pass a .c3d or .trc file")
    if not path.exists():
        raise ImukinError(f"marker file {path} does not exist; check the path")
    return readers[path.suffix.lower()](path)


def default_clusters(markers: MarkerData) -> ClusterSet:
    """The built-in cluster set that fits a trial: Plug-in Gait axis markers, else tracking clusters.

    Raises
    ------
    ImukinError
        Neither set is present; the message names the markers missing for the closer one.
    """
    best, best_missing = None, None
    for clusters in (PIG_CLUSTERS, OPENSIM_CLUSTERS):
        names = [m for ms in clusters.markers.values() for m in ms]
        missing = [m for m in names if not markers.has(m)]
        pelvis_ok = all(markers.has(m) for m in clusters.markers["pelvis"])
        if pelvis_ok and len(missing) < len(names) // 2:
            return clusters
        if best_missing is None or len(missing) < len(best_missing):
            best, best_missing = clusters, missing
    raise ImukinError(f"{Path(str(markers.source)).name} lacks the markers of a supported cluster set; missing "
                      f"{', '.join(best_missing[:12])}{' ...' if len(best_missing) > 12 else ''} "
                      "(Plug-in Gait axis markers or RTH1-3/RTB1-3/RCAL RMT1 RMT2 clusters with RASI LASI RPSI LPSI)")


def records_from_marker_files(paths, fs_out: float = 200.0, activity: str = "walking",
                              errors: SensorErrorConfig | None = None, seed: int = 0) -> list[SubjectRecord]:
    """One :class:`SubjectRecord` per marker file (ids ``s0000``, ``s0001``, ...), clusters chosen per file.

    With ``errors``, every simulated sensor also gets a real sensor's electronic errors
    (:func:`imukin.simulation.sensor_errors.apply_electronic_errors`: scale, misalignment, bias,
    bias drift, noise, saturation; the marker cluster already moves with the skin), drawn
    from a generator seeded with ``seed``.
    """
    rng = np.random.default_rng(seed)
    records = []
    for k, path in enumerate(paths):
        markers = read_marker_file(path)
        rec = markers_to_record(markers, default_clusters(markers), fs_out=fs_out, subject_id=f"s{k:04d}",
                                activity=activity)
        if errors is not None:
            for seg in list(rec.acc):
                rec.acc[seg], rec.gyr[seg] = apply_electronic_errors(rec.acc[seg], rec.gyr[seg], rec.fs, errors, rng)
        records.append(rec)
    return records
