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
    :func:`imukin.evaluation.vicon_comparison.compare_with_vicon`): offsets of about -17 deg
    (hip flexion), -18 to -24 deg (knee flexion) and -13 deg (ankle flexion), with the
    curves' shapes kept (r 0.95-0.996 for hip and knee flexion, 4-5 deg RMSE once the
    offset is removed). Compare such angles offset-removed, as the reference's accuracy
    figures are.
``"pig"`` (Vicon Plug-in Gait segment-axis virtual markers)
    Markers O (origin), A (anterior), L (lateral), P (proximal) per segment, e.g.
    ``RFEO RFEA RFEL RFEP``. In those files L points to the subject's *left* on both
    sides and, for the foot, P points from the toe back along the foot's long axis and A
    points up (checked on Vicon data). imukin's axes: long axis first (y = P - O; for the
    foot x = O - P), then the anterior axis orthogonalised against it (x = A - O; for the
    foot y = A - O), z = x x y (to the right, both sides); origin = O.

``"rigid"`` (clusters of three or more tracking markers, any of them may drop out)
    A template of the cluster (its markers' median positions in a cluster frame built
    from the first three markers, over the frames where all are seen) is fitted to the
    markers seen in each frame by least squares (Kabsch / Soederkvist-Wedin), so any
    three markers give the frame and one marker's long gap does not break it. Same
    axes and neutral-posture correction as ``"cluster"``; frames are low-pass filtered
    as quaternions (markers may have gaps, so they cannot be filtered first).

Marker sets and maps
--------------------
:data:`PRESETS` holds the built-in sets: ``plug-in-gait`` (Vicon PiG axis markers),
``opensim-core`` (``RTH1-3 ...`` clusters of the OpenSim test trials), ``kuopio``
(``Pelvis1-4``, ``RFemur1-4``, ``RTibia1-4``, ``RFoot1-3`` and left alike) and
``opensim-running`` (the OpenSim full-body running model's ``R.ASIS L.ASIS V.Sacral``,
``R.Thigh.Upper/.Front/.Rear``, ``R.Shank.Upper/.Front/.Rear``, ``R.Heel R.Midfoot.Sup
R.Midfoot.Lat R.Toe.Tip``). :func:`detect_preset` picks one from a file's marker names;
any other set is described by a small JSON or TOML marker map (:func:`load_marker_map`):
``{"pelvis": ["Pelvis1", ...], "rthigh": [...], "method": "rigid"}``.

Robustness
----------
Mislabelled frames are rejected by cluster rigidity (:func:`reject_outliers`): every
inter-marker distance is compared with its median over the trial, and a marker whose
distances to the others jump by more than ``max(min_tol_m, n_mad * 1.4826 * MAD)`` is
removed in that frame (then filled like any gap). Marker gaps inside the trial up to
``max_gap_s`` are filled with a cubic spline; longer ones raise
:class:`~imukin.errors.ImukinError` (``"rigid"``: only when fewer than three markers
remain).

Lab frame of marker files: ``.c3d`` files say which axis is up; ``.trc`` files are
meant to be Y up (OpenSim), but some are exported Z up (the Kuopio trial). The up axis
of a ``.trc`` is therefore checked: with a preset or map, it is the file axis closest to
the median pelvis-minus-feet direction (:func:`read_marker_file`). Frames before a marker first appears and
after it last appears are not gaps: :func:`segment_frames` returns NaN there and
:func:`markers_to_record` trims the trial to the span where every used marker is seen.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation, Slerp

from imukin.conventions import (
    ACTIVITIES,
    JOINT_NAMES,
    SEGMENTS,
    SIDES,
    check_choice,
    joint_angles,
    joint_name,
    joint_segments,
    segment_name,
    subject_id,
)
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.c3d import MarkerData
from imukin.io.config_files import read_config_file
from imukin.rotations import marker_frames
from imukin.signal import lowpass
from imukin.simulation.imu import ideal_imu
from imukin.simulation.sensor_errors import SensorErrorConfig, apply_electronic_errors

METHODS = ("cluster", "pig", "rigid")
REFERENCES = ("midstance", "first")
#: Shortest trial (s) left after trimming to the span where all markers are seen.
MIN_DURATION_S = 0.5


@dataclass
class ClusterSet:
    """Which markers define each segment's frame.

    Attributes
    ----------
    markers : dict of str -> tuple of str
        Segment name (from :data:`imukin.conventions.SEGMENTS`) -> marker names. For
        ``method="cluster"`` at least three tracking markers (see the module docstring
        for their order); for ``method="pig"`` the four axis markers ``(O, A, L, P)``.
    method : {"cluster", "pig", "rigid"}
        How the markers become a segment frame (module docstring).
    """

    markers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # segment -> marker names
    method: str = "cluster"  # "cluster" (three-marker frame), "pig" (PiG axis markers), "rigid" (template fit)

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


#: Kuopio gait dataset (Lavikainen et al. 2024): four-marker clusters, three foot markers.
KUOPIO_CLUSTERS = ClusterSet(
    markers=_leg_clusters({"thigh": "{p}Femur1 {p}Femur2 {p}Femur3 {p}Femur4",
                           "shank": "{p}Tibia1 {p}Tibia2 {p}Tibia3 {p}Tibia4", "foot": "{p}Foot1 {p}Foot2 {p}Foot3"},
                          pelvis=("Pelvis1", "Pelvis2", "Pelvis3", "Pelvis4")),
    method="rigid",
)
#: OpenSim full-body running model (Hamner et al. 2010) marker set, lower body.
OPENSIM_RUNNING_CLUSTERS = ClusterSet(
    markers=_leg_clusters({"thigh": "{p}.Thigh.Upper {p}.Thigh.Front {p}.Thigh.Rear",
                           "shank": "{p}.Shank.Upper {p}.Shank.Front {p}.Shank.Rear",
                           "foot": "{p}.Heel {p}.Midfoot.Sup {p}.Midfoot.Lat {p}.Toe.Tip"},
                          pelvis=("R.ASIS", "L.ASIS", "V.Sacral")),
    method="rigid",
)
#: Built-in marker sets by name, in the order :func:`detect_preset` prefers them on a tie.
PRESETS = {"plug-in-gait": PIG_CLUSTERS, "opensim-core": OPENSIM_CLUSTERS, "kuopio": KUOPIO_CLUSTERS,
           "opensim-running": OPENSIM_RUNNING_CLUSTERS}
#: Least share of a preset's marker names a file must hold for the preset to be picked.
MIN_PRESET_SHARE = 0.5


def _min_markers(method: str) -> int:
    return 4 if method == "pig" else 3


def detect_preset(labels) -> tuple[str, ClusterSet]:
    """The built-in marker set (:data:`PRESETS`) that fits a file's marker names.

    The preset holding the largest share of its names in ``labels`` wins, if that share
    is at least :data:`MIN_PRESET_SHARE`.

    Raises
    ------
    ImukinError
        No preset fits; the message names the closest one and what it misses.
    """
    have = set(labels)
    scored = []
    for name, cs in PRESETS.items():
        names = [m for ms in cs.markers.values() for m in ms]
        missing = [m for m in names if m not in have]
        scored.append((1.0 - len(missing) / len(names), name, missing))
    share, name, missing = max(scored, key=lambda r: r[0])  # max keeps the first on a tie
    if share < MIN_PRESET_SHARE:
        raise ImukinError(f"the marker names fit no built-in marker set (closest: {name}, which misses "
                          f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}); pass a marker map "
                          f"(--marker-map FILE, JSON {{\"pelvis\": [...], \"rthigh\": [...], ...}})")
    return name, PRESETS[name]


def load_marker_map(source) -> ClusterSet:
    """A marker map (segment -> marker names) from a JSON or TOML file, a dict, or a preset name.

    File layout: ``{"pelvis": ["Pelvis1", "Pelvis2", "Pelvis3"], "rthigh": [...], ...}``
    with segment names from :data:`imukin.conventions.SEGMENTS` (any subset), at least
    three markers each, and optionally ``"method": "rigid"`` (default), ``"cluster"`` or
    ``"pig"``; TOML the same as ``pelvis = ["Pelvis1", ...]``. A string that names a
    preset (``"kuopio"``) returns that preset.

    Raises
    ------
    ImukinError
        Unreadable file, unknown segment or method, or a segment with too few markers.
    """
    if isinstance(source, ClusterSet):
        return source
    if isinstance(source, str) and source in PRESETS:
        return PRESETS[source]
    if isinstance(source, dict):
        raw, where = source, "the marker map"
    else:
        path = Path(source)
        where = path.name
        if not path.is_file():
            raise ImukinError(f"marker map {path} does not exist; pass a JSON or TOML file, or one of the presets "
                              f"{', '.join(PRESETS)}")
        raw = read_config_file(path, "marker map", 'write {"pelvis": ["M1", "M2", "M3"], ...}')
    if not isinstance(raw, dict):
        raise ImukinError(f"{where} must map segment names to lists of marker names")
    raw = dict(raw)
    method = str(raw.pop("method", "rigid"))
    check_choice("segment frame method", method, METHODS)
    markers = {}
    for seg, names in raw.items():
        if seg not in SEGMENTS:
            raise ImukinError(f"{where}: unknown segment {seg!r}; use {', '.join(SEGMENTS)} (and optionally method)")
        if isinstance(names, str):
            names = names.split()
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise ImukinError(f"{where}: segment {seg} must list marker names as strings")
        markers[seg] = tuple(names)
    if not markers:
        raise ImukinError(f"{where} names no segment; map at least a joint's two segments to their markers")
    return ClusterSet(markers=markers, method=method)


def clusters_for(markers: MarkerData, marker_map=None) -> ClusterSet:
    """The marker set to use for a trial: ``marker_map`` (file, dict, preset name or set), else a detected preset.

    Only the map's segments whose markers the trial has are kept (at least three, four
    for ``"pig"``; a segment none of whose markers is in the file is left out, so a one-leg
    trial works).

    Raises
    ------
    ImukinError
        One line: the segments that have some but fewer than three of their markers
        (named, with what is missing), or too few segments to form a joint.
    """
    src = Path(str(markers.source)).name if markers.source else "the marker data"
    cs = detect_preset(markers.labels)[1] if marker_map is None else load_marker_map(marker_map)
    need = _min_markers(cs.method)
    keep, lacking = {}, []
    for seg, names in cs.markers.items():
        present = [n for n in names if markers.has(n) and np.isfinite(markers.marker(n)).any()]
        if len(present) >= need and (cs.method != "cluster" or len(present) == len(names)):
            keep[seg] = tuple(present) if cs.method == "rigid" else names
        elif present:
            lacking.append(f"{seg} ({len(present)} of {len(names)}; missing "
                           f"{', '.join(n for n in names if n not in present)})")
    if lacking:
        raise ImukinError(f"segment(s) {'; '.join(lacking)} lack {need} markers in {src}; fix the labels or "
                          f"leave those segments out of the marker map")
    if not any(all(s in keep for s in joint_segments(j, side)) for j in JOINT_NAMES for side in SIDES):
        raise ImukinError(f"too many markers missing in {src}: the segments with their markers "
                          f"({', '.join(keep) or 'none'}) form no joint (hip = pelvis + thigh, knee = thigh + "
                          f"shank, ankle = shank + foot); check the marker names or pass --marker-map")
    return ClusterSet(markers=keep, method=cs.method)


# ---------------------------------------------------------------- outliers
def reject_outliers(p: np.ndarray, min_tol_m: float = 0.015, n_mad: float = 6.0) -> tuple[np.ndarray, int]:
    """Remove mislabelled marker samples of one cluster by rigidity.

    Parameters
    ----------
    p : ndarray, shape (N, K, 3)
        The cluster's markers (metres), NaN where missing; K >= 3.
    min_tol_m : float
        Smallest tolerated change of an inter-marker distance from its median, metres.
    n_mad : float
        Tolerance in robust standard deviations (1.4826 MAD) of that distance, when larger
        (the foot is not rigid: its toe-heel distances swing by 10-20 mm every step).

    Returns
    -------
    p_clean : ndarray, shape (N, K, 3)
        A copy with rejected samples set to NaN.
    n_rejected : int
        Marker samples removed.

    Notes
    -----
    A marker is rejected in a frame when at least two of its distances to the other
    markers are off (with three markers one wrong marker spoils two of the three
    distances, with four three of six); if only single distances are off, both of their
    markers go.
    """
    p = np.array(p, float)
    n, k = p.shape[:2]
    if k < 3:
        return p, 0
    bad_count = np.zeros((n, k), int)
    off_any = np.zeros((n, k), bool)
    for i in range(k):
        for j in range(i + 1, k):
            d = np.linalg.norm(p[:, i] - p[:, j], axis=1)  # (N,)
            ok = np.isfinite(d)
            if ok.sum() < 3:
                continue
            med = np.median(d[ok])
            mad = 1.4826 * np.median(np.abs(d[ok] - med))
            off = ok & (np.abs(d - med) > max(min_tol_m, n_mad * mad))
            bad_count[off, i] += 1
            bad_count[off, j] += 1
            off_any[off, i] = off_any[off, j] = True
    reject = bad_count >= 2
    lone = off_any.any(axis=1) & ~reject.any(axis=1)  # frames with off distances but no clear culprit
    reject[lone] |= off_any[lone]
    p[reject] = np.nan
    return p, int(reject.sum())


# ---------------------------------------------------------------- gaps
def fill_gaps(xyz: np.ndarray, fs: float, name: str = "marker", max_gap_s: float = 0.1,
              strict: bool = True) -> np.ndarray:
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
    strict : bool
        Raise on a longer gap (default); False leaves longer gaps NaN.

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
    fill = np.zeros(len(xyz), bool)
    for a, b in zip(starts, stops):
        if (b - a) / fs > max_gap_s + 1e-9:
            if not strict:
                continue
            raise ImukinError(f"marker {name} is missing in frames {a}-{b - 1} ({(b - a) / fs:.2f} s); gaps up to "
                              f"{max_gap_s:.2f} s are filled - trim the trial or fill the gap in your mocap software")
        fill[a:b] = True
    if fill.any():
        spline = CubicSpline(idx, xyz[idx], axis=0)
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
    pos = _cluster_positions(markers, ClusterSet(clusters.markers, method), max_gap_s, skip_absent)  # seg -> (N,K,3)
    out = {}
    for seg, p in pos.items():
        out[seg] = _pig_frame(p, seg) if method == "pig" else _rigid_frame(p, seg) if method == "rigid" \
            else _cluster_frame(p)
    if method in ("cluster", "rigid"):
        ref = _reference_frames(pos if method == "cluster" else {s: o[:, None, :] for s, (_, o) in out.items()},
                                markers.fs, reference)
        for seg, (rot, origin) in out.items():
            r0 = _mean_rotation(rot) if ref[seg] == "mean" else rot[ref[seg]]
            out[seg] = (rot @ r0.T, origin)  # R_segment = R_cluster C with C = R_cluster(ref)^T
        if info is not None:
            info["reference_frame"] = ref
    return out


def _cluster_positions(markers: MarkerData, clusters: ClusterSet, max_gap_s: float,
                       skip_absent: bool, reject: bool = True) -> dict[str, np.ndarray]:
    """Positions per segment, (N, K, 3): outlier samples removed (:func:`reject_outliers`), short gaps filled.

    ``"rigid"`` sets keep the markers the file has (at least three) and leave long gaps NaN.
    """
    rigid = clusters.method == "rigid"
    out = {}
    for seg, names in clusters.markers.items():
        if rigid:  # any three markers that are seen at all are enough
            usable = [n for n in names if markers.has(n) and np.isfinite(markers.marker(n)).all(axis=1).sum() >= 4]
            absent = [] if len(usable) >= 3 else [n for n in names if n not in usable]
            names = usable if len(usable) >= 3 else names
        else:
            absent = [n for n in names if not markers.has(n)]
        if absent and (len(absent) < len(names) or not skip_absent):
            raise ImukinError(f"segment {seg} needs marker(s) {', '.join(absent)}, missing from "
                              f"{markers.source or 'the marker data'}; pass a ClusterSet with this file's marker names")
        if absent:
            continue
        raw = np.stack([markers.marker(n) for n in names], axis=1)  # (N, K, 3)
        if reject and clusters.method != "pig":  # PiG axis markers are computed, rigid by construction
            raw, _ = reject_outliers(raw)
        out[seg] = np.stack([fill_gaps(raw[:, i], markers.fs, n, max_gap_s, strict=not rigid)
                             for i, n in enumerate(names)], axis=1)
    if not out:
        raise ImukinError(f"none of the segments' markers ({', '.join(clusters.markers)}) is in "
                          f"{markers.source or 'the marker data'}; pass a ClusterSet with this file's marker names")
    return out


def _rigid_frame(p: np.ndarray, seg: str = "segment") -> tuple[np.ndarray, np.ndarray]:
    """Least-squares fit of the cluster's template to the markers seen, (N, K, 3) -> rot (N, 3, 3), origin (N, 3).

    The template is the markers' median position in the ``"cluster"`` frame of the frames
    where all K are seen; frames with fewer than three markers are NaN.
    """
    n, k = p.shape[:2]
    valid = np.all(np.isfinite(p), axis=2)  # (N, K)
    full = valid.all(axis=1)
    if not full.any():
        raise ImukinError(f"segment {seg}: its {k} markers are never seen together, so the cluster's shape is "
                          f"unknown; fill the gaps in your mocap software or drop a marker from the map")
    rot0, org0 = _cluster_frame(p[full])  # (F, 3, 3), (F, 3)
    local = np.einsum("fji,fkj->fki", rot0, p[full] - org0[:, None, :])  # R^T (p - o)
    tmpl = np.median(local, axis=0)  # (K, 3)
    tmpl = tmpl - tmpl.mean(axis=0)
    rot = np.full((n, 3, 3), np.nan)
    origin = np.full((n, 3), np.nan)
    resid = np.full(n, np.nan)  # RMS marker residual of the fit, m
    patterns = np.unique(valid[valid.sum(axis=1) >= 3], axis=0)
    for w in patterns:
        idx = np.flatnonzero(np.all(valid == w, axis=1))
        q = tmpl[w]  # (m, 3)
        obs = p[idx][:, w]  # (F, m, 3)
        qm, om = q.mean(axis=0), obs.mean(axis=1)  # (3,), (F, 3)
        h = np.einsum("mi,fmj->fij", q - qm, obs - om[:, None, :])  # sum q o^T
        u, _, vt = np.linalg.svd(h)
        v = np.swapaxes(vt, -1, -2)
        d = np.sign(np.linalg.det(v @ np.swapaxes(u, -1, -2)))  # (F,) reflection guard
        dd = np.zeros((len(idx), 3, 3))
        dd[:, 0, 0] = dd[:, 1, 1] = 1.0
        dd[:, 2, 2] = d
        r = v @ dd @ np.swapaxes(u, -1, -2)  # (F, 3, 3): o ~ r q
        rot[idx] = r
        origin[idx] = om - r @ qm
        fitted = np.einsum("fij,mj->fmi", r, q - qm) + om[:, None, :]  # (F, m, 3)
        resid[idx] = np.sqrt(np.mean(np.sum((fitted - obs) ** 2, axis=2), axis=1))
    return _despike_frames(rot, origin, resid)


#: Rigid-fit frames whose RMS marker residual exceeds max(this, RESIDUAL_FACTOR x the median) are rejected (m).
RESIDUAL_MIN_M = 0.01
RESIDUAL_FACTOR = 4.0
#: Frames turned more than this from the median of their +-SPIKE_HALF_WINDOW neighbours are rejected (deg).
SPIKE_DEG = 20.0
SPIKE_HALF_WINDOW = 5


def _despike_frames(rot: np.ndarray, origin: np.ndarray, resid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN the frames of a fit that are not credible: a large marker residual, or an orientation spike.

    A mislabelled marker among three can still be fitted exactly but turns the frame by
    tens of degrees (up to a flip) for a few frames; a running median of the quaternions
    (sign-aligned, +-``SPIKE_HALF_WINDOW`` frames) follows smooth motion exactly but not
    such spikes.
    """
    rot, origin = rot.copy(), origin.copy()
    ok = np.isfinite(resid)
    if ok.sum() >= 3:
        bad = ok & (resid > max(RESIDUAL_MIN_M, RESIDUAL_FACTOR * np.median(resid[ok])))
        rot[bad], origin[bad] = np.nan, np.nan
    ok = np.all(np.isfinite(rot), axis=(1, 2))
    idx = np.flatnonzero(ok)
    if len(idx) < 2 * SPIKE_HALF_WINDOW + 1:
        return rot, origin
    q = Rotation.from_matrix(rot[idx]).as_quat()  # (F, 4)
    h = SPIKE_HALF_WINDOW
    pad = np.concatenate([q[h:0:-1], q, q[-2:-h - 2:-1]])  # reflect, so the ends have full windows
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * h + 1, axis=0)  # (F, 4, 2h + 1)
    sign = np.sign(np.einsum("fk,fkw->fw", q, win))  # align each neighbour to the centre's hemisphere
    sign[sign == 0] = 1.0
    med = np.median(win * sign[:, None, :], axis=2)  # (F, 4)
    med /= np.linalg.norm(med, axis=1, keepdims=True)
    ang = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(med * q, axis=1)), 0.0, 1.0)))
    spike = idx[ang > SPIKE_DEG]
    rot[spike], origin[spike] = np.nan, np.nan
    return rot, origin


def fill_frame_gaps(rot: np.ndarray, origin: np.ndarray, fs: float, max_gap_s: float, seg: str,
                    strict: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Interior NaN runs of a segment frame sequence filled: rotations by slerp, origins by cubic spline.

    Parameters
    ----------
    rot : ndarray, shape (N, 3, 3)
        Segment orientations, NaN where the segment has fewer than three markers.
    origin : ndarray, shape (N, 3)
        Segment origins, NaN at the same frames.
    fs : float
        Marker rate, Hz.
    max_gap_s : float
        Longest run that is filled, s.
    seg : str
        Segment name, for the error messages.
    strict : bool
        Raise for a longer run (True), or leave it NaN (False).

    Returns
    -------
    rot, origin : ndarray
        Copies with the interior runs filled; NaN before the first and after the last good frame stay.
    """
    ok = np.all(np.isfinite(rot), axis=(1, 2))
    idx = np.flatnonzero(ok)
    if len(idx) < 4:
        raise ImukinError(f"segment {seg} has three markers in only {len(idx)} frames; it cannot be used")
    rot, origin = rot.copy(), origin.copy()
    inner = ~ok[idx[0]:idx[-1] + 1]
    if not inner.any():
        return rot, origin
    d = np.diff(np.concatenate([[0], inner.astype(int), [0]]))
    fill = np.zeros(len(rot), bool)
    for a, b in zip(np.flatnonzero(d == 1) + idx[0], np.flatnonzero(d == -1) + idx[0]):
        if (b - a) / fs > max_gap_s + 1e-9:
            if strict:
                raise ImukinError(f"segment {seg} has fewer than three markers in frames {a}-{b - 1} "
                                  f"({(b - a) / fs:.2f} s); gaps up to {max_gap_s:.2f} s are filled - trim the trial "
                                  f"or fill the gap in your mocap software")
            continue
        fill[a:b] = True
    if fill.any():
        at = np.flatnonzero(fill)
        rot[at] = Slerp(idx, Rotation.from_matrix(rot[idx]))(at).as_matrix()
        origin[at] = CubicSpline(idx, origin[idx], axis=0)(at)
    return rot, origin


def lowpass_rotations(rot: np.ndarray, fs: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase low-pass of an orientation sequence (N, 3, 3) without NaN, as sign-continuous quaternions."""
    if cutoff_hz is None or cutoff_hz <= 0:
        return rot
    q = Rotation.from_matrix(rot).as_quat()  # (N, 4)
    flip = np.concatenate([[1.0], np.sign(np.sum(q[1:] * q[:-1], axis=1))])
    flip[flip == 0] = 1.0
    q = q * np.cumprod(flip)[:, None]
    q = _lowpass(q, fs, cutoff_hz)
    return Rotation.from_quat(q / np.linalg.norm(q, axis=1, keepdims=True)).as_matrix()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _cluster_frame(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference cluster frame of markers (N, K, 3): -> rot (N, 3, 3), origin (N, 3)."""
    return marker_frames(p[:, 0], p[:, 1], p[:, 2:].mean(axis=1)), p.mean(axis=1)


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
    c = np.array(centroid[a:b], float)
    hole = ~np.all(np.isfinite(c), axis=1)
    if hole.any():  # interior gaps (a "rigid" cluster with < 3 markers): bridged linearly, for the search only
        for k in range(3):
            c[hole, k] = np.interp(np.flatnonzero(hole), np.flatnonzero(~hole), c[~hole, k])
    c = _lowpass(c, fs, cutoff_hz)
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
    """:func:`imukin.signal.lowpass` of marker data (4th order), refusing a cutoff at or above half the marker rate."""
    if cutoff_hz is not None and cutoff_hz >= fs / 2:
        raise ImukinError(f"cutoff {cutoff_hz} Hz must be below half the marker rate ({fs / 2} Hz); lower it")
    return lowpass(x, fs, cutoff_hz)


def trial_frames(markers: MarkerData, clusters: ClusterSet, cutoff_hz: float, reference: str | int,
                 max_gap_s: float):
    """Segment frames of a trial: gap-filled, trimmed to where every segment is seen, low-pass filtered.

    Parameters
    ----------
    markers : MarkerData
        The trial (lab frame, metres).
    clusters : ClusterSet
        Segment markers and frame method.
    cutoff_hz : float
        Low-pass cutoff of the markers (``"rigid"``: of the frames); 0 for none.
    reference : {"midstance", "first"} or int
        Neutral-posture instant (see :func:`segment_frames`); a frame number counts from the
        trial's first frame.
    max_gap_s : float
        Longest gap filled.

    Returns
    -------
    frames : dict
        Segment -> ``(rot (n, 3, 3), origin (n, 3))`` over frames ``first:stop``.
    first, stop : int
        The span of the trial's frames kept.
    joints : list of tuple
        ``(joint, side)`` pairs whose two segments have markers.
    info : dict
        What :func:`segment_frames` reports (``reference_frame`` per segment).
    """
    fs = markers.fs
    pos = _cluster_positions(markers, clusters, max_gap_s, skip_absent=True)  # segment -> (N, K, 3)
    joints = [(j, s) for j in JOINT_NAMES for s in SIDES if all(seg in pos for seg in joint_segments(j, s))]
    if not joints:
        raise ImukinError(f"{markers.source or 'the marker data'} has markers for {', '.join(pos) or 'no segment'}, "
                          f"which form no complete joint (hip = pelvis + thigh, knee = thigh + shank, "
                          f"ankle = shank + foot); check the ClusterSet's marker names")
    if clusters.method == "rigid":
        return _trial_frames_rigid(markers, pos, cutoff_hz, reference, max_gap_s, joints)
    seen = np.all(np.stack([np.all(np.isfinite(p), axis=(1, 2)) for p in pos.values()]), axis=0)  # (N,)
    a, b, reference = _seen_span(seen, fs, pos, markers, reference)
    names = [n for seg in pos for n in clusters.markers[seg]]
    xyz = np.stack([fill_gaps(markers.marker(n)[a:b], fs, n, max_gap_s) for n in names], axis=1)  # (n, M, 3)
    xyz = _lowpass(xyz, fs, cutoff_hz)
    trimmed = MarkerData(labels=names, fs=fs, xyz=xyz, source=markers.source, units_in=markers.units_in,
                         lab_from_file=markers.lab_from_file, first_frame=markers.first_frame + a)
    info: dict = {}
    frames = segment_frames(trimmed, ClusterSet({s: clusters.markers[s] for s in pos}, clusters.method),
                            reference=reference, max_gap_s=max_gap_s, info=info)
    return frames, a, b, joints, info


def _seen_span(seen: np.ndarray, fs: float, pos: dict, markers: MarkerData, reference):
    """``[a, b)`` from the first to the last frame where every segment is seen, and ``reference`` made
    relative to ``a`` (when it is a frame number); one line when the span is too short or misses it."""
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
    return a, b, reference


def _trial_frames_rigid(markers: MarkerData, pos: dict, cutoff_hz: float, reference, max_gap_s: float, joints):
    """:func:`trial_frames` for ``"rigid"`` sets: fit, trim, fill frame gaps, low-pass the frames."""
    fs = markers.fs
    raw = {seg: _rigid_frame(p, seg) for seg, p in pos.items()}
    seen = np.all(np.stack([np.all(np.isfinite(r), axis=(1, 2)) for r, _ in raw.values()]), axis=0)  # (N,)
    a, b, reference = _seen_span(seen, fs, pos, markers, reference)
    frames = {}
    for seg, (rot, origin) in raw.items():
        rot, origin = fill_frame_gaps(rot[a:b], origin[a:b], fs, max_gap_s, seg)
        frames[seg] = (lowpass_rotations(rot, fs, cutoff_hz), _lowpass(origin, fs, cutoff_hz))
    ref = _reference_frames({s: o[:, None, :] for s, (_, o) in frames.items()}, fs, reference)
    for seg, (rot, origin) in frames.items():
        r0 = _mean_rotation(rot) if ref[seg] == "mean" else rot[ref[seg]]
        frames[seg] = (rot @ r0.T, origin)
    return frames, a, b, joints, {"reference_frame": ref}


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
    frames, a, b, joints, info = trial_frames(markers, clusters, cutoff_hz, reference, max_gap_s)

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


# ---------------------------------------------------------------- files
def read_marker_file(path: str | Path, marker_map=None) -> MarkerData:
    """Read a ``.c3d`` or OpenSim ``.trc`` marker file into imukin's lab frame (metres, Y up, X walking).

    A ``.trc`` is meant to be Y up, but exports are not always: its up axis is the file
    axis (with sign) closest to the median direction from the feet to the pelvis of the
    trial's marker set (``marker_map``, else the detected preset); the walking direction
    is the pelvis's horizontal travel. Without a usable set the file's Y is taken as up.
    """
    from imukin.io.c3d import lab_rotation, read_c3d
    from imukin.io.opensim import read_trc

    path = Path(path)
    if path.suffix.lower() not in (".c3d", ".trc"):
        raise ImukinError(f"{path.name}: unknown marker file type {path.suffix!r}; pass a .c3d or .trc file")
    if not path.exists():
        raise ImukinError(f"marker file {path} does not exist; check the path")
    if path.suffix.lower() == ".c3d":
        return read_c3d(path)
    data = read_trc(path, align_walking=False)  # file axes
    try:
        cs = detect_preset(data.labels)[1] if marker_map is None else load_marker_map(marker_map)
    except ImukinError:
        cs = None
    up, fwd = _file_up_forward(data, cs) if cs is not None else (None, None)
    if up is None:
        return read_trc(path)  # OpenSim's Y up, walking direction from the pelvis markers
    if fwd is None:
        rot = lab_rotation(data.xyz, data.labels, up)
    else:
        x = fwd / np.linalg.norm(fwd)
        rot = np.stack([x, up, np.cross(x, up)])
    data.xyz = data.xyz @ rot.T
    data.lab_from_file = rot
    return data


def _centroid(data: MarkerData, names) -> np.ndarray:
    got = [data.marker(n) for n in names if data.has(n)]
    if not got:
        return np.full((data.n_frames, 3), np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(got, axis=1), axis=1)  # (N, 3)


def _file_up_forward(data: MarkerData, cs: ClusterSet) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Up axis (snapped to a file axis) and horizontal travel of the pelvis, in file coordinates."""
    if "pelvis" not in cs.markers:
        return None, None
    pelvis = _centroid(data, cs.markers["pelvis"])
    low = [seg for seg in ("rfoot", "lfoot", "rshank", "lshank") if seg in cs.markers]
    if not low:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        feet = np.nanmean(np.stack([_centroid(data, cs.markers[s]) for s in low], axis=1), axis=1)
        v = np.nanmedian(pelvis - feet, axis=0)  # (3,)
    if not np.all(np.isfinite(v)) or np.linalg.norm(v) < 0.2:
        return None, None
    k = int(np.argmax(np.abs(v)))
    up = np.zeros(3)
    up[k] = np.sign(v[k])
    ok = np.flatnonzero(np.all(np.isfinite(pelvis), axis=1))
    fwd = None
    if len(ok) >= 2:
        d = pelvis[ok[-1]] - pelvis[ok[0]]
        d = d - np.dot(d, up) * up
        fwd = d if np.linalg.norm(d) > 0.3 else None  # at least 0.3 m of travel, else the c3d reader's rules
    return up, fwd


def default_clusters(markers: MarkerData) -> ClusterSet:
    """The built-in marker set that fits a trial (:func:`detect_preset` on its names, checked by :func:`clusters_for`).

    Raises
    ------
    ImukinError
        No preset fits, or the chosen one's segments lack markers (one line, naming them).
    """
    return clusters_for(markers)


def records_from_marker_files(paths, fs_out: float = 200.0, activity: str = "walking",
                              errors: SensorErrorConfig | None = None, seed: int = 0,
                              marker_map=None) -> list[SubjectRecord]:
    """One :class:`SubjectRecord` per marker file (ids ``s0000``, ``s0001``, ...), marker set chosen per file.

    With ``errors``, every simulated sensor also gets a real sensor's electronic errors
    (:func:`imukin.simulation.sensor_errors.apply_electronic_errors`: scale, misalignment, bias,
    bias drift, noise, saturation; the marker cluster already moves with the skin), drawn
    from a generator seeded with ``seed``.

    Parameters
    ----------
    marker_map : path, dict, str or ClusterSet, optional
        Segment -> marker names (:func:`load_marker_map`: a JSON/TOML file, a dict, a
        preset name); default: the preset detected from each file's marker names.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    rng = np.random.default_rng(seed)
    records = []
    for k, path in enumerate(paths):
        markers = read_marker_file(path, marker_map)
        rec = markers_to_record(markers, clusters_for(markers, marker_map), fs_out=fs_out, subject_id=subject_id(k),
                                activity=activity)
        if errors is not None:
            for seg in list(rec.acc):
                rec.acc[seg], rec.gyr[seg] = apply_electronic_errors(rec.acc[seg], rec.gyr[seg], rec.fs, errors, rng)
        records.append(rec)
    return records
