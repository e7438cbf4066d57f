"""Reference joint angles from optical markers for a real IMU trial.

How
---
1. **Segment frames.** Each segment's marker cluster (a preset picked from the marker
   names, or a marker map: :func:`imukin.simulation.markers.clusters_for`) gives a frame
   per marker frame (:func:`imukin.simulation.markers.segment_frames`): mislabelled
   samples rejected by cluster rigidity, short gaps spline-filled, clusters of four
   fitted by least squares to any three markers seen, and the neutral-posture
   correction of the cluster method (each leg segment equals the lab frame at that leg's
   mid-stance, the pelvis at its mean orientation). Frame gaps up to ``max_gap_s`` are
   bridged (slerp); longer ones stay NaN. Each seen run is low-pass filtered
   (``cutoff_hz``, zero phase, as quaternions).
2. **IMU-marker lag.** For every segment with both a sensor and a cluster, the
   gyroscope norm is cross-correlated with the norm of the cluster frame's angular
   velocity (:func:`imukin.preprocessing.synchronize.sync_imu_mocap`; norms do not
   depend on how the sensor sits on the segment). The lag is the median over segments
   whose estimate is confident (>= ``min_confidence``), else over all.
3. **Flexion axis, functionally, for the knee.** Per joint of ``functional_joints``
   (the knee by default), the relative rotation of the distal segment with respect to
   the proximal one is collected over the trial; its dominant direction (first principal
   direction of its rotation vectors about the mean pose) is the flexion axis, fixed in
   both segments (expressed in each one's frame), signed to point to the subject's right.
   An axis more than ``max_axis_tilt_deg`` from the mid-stance z is not believed (the
   joint's motion is then not hinge-like enough) and the mid-stance z is kept. Each
   segment's frame is then turned minimally so that its z axis is that axis (y, the long
   axis from the mid-stance posture, is made orthogonal to it; x = y x z). The hip is a
   ball joint: its dominant rotation mixes adduction and rotation into a direction that is
   not the flexion axis of the angle convention (on the Kuopio trial it lay 23-32 deg from
   the mid-stance z), so its flexion stays about the mid-stance z of the pelvis, as the
   pelvis's medio-lateral axis defines it; the ankle's dominant rotation is the combined
   talocrural and subtalar motion. ``functional_joints=()`` keeps the mid-stance frames
   everywhere.
4. **Angles.** :func:`imukin.conventions.joint_angles` of the two frames, then read on the
   IMU timeline at ``t + lag`` (linear interpolation; NaN where the markers are missing).

Limits
------
* The neutral posture is assumed, not measured: the long axes come from each leg's
  mid-stance (thigh and shank near vertical, foot flat) and the pelvis's mean
  orientation. The angles are therefore offset by the subject's real joint angles at
  those instants (hip flexion and knee flexion are not zero at mid-stance); compare
  them offset-removed. Adduction and rotation also inherit a few degrees of cross-talk
  from a long axis that is off by the mid-stance posture, and soft-tissue artefact
  (skin-mounted clusters move on the bone by several millimetres, up to about 5 deg
  about the long axis of the thigh) is in the reference as it is in the IMUs.
* The knee's functional axis is its dominant rotation over the trial, its flexion axis
  to within a few degrees. Hip and ankle flexion rest on the mid-stance frames (a few
  degrees of the posture's cross-talk); ankle adduction and rotation from a three-marker
  foot are the least meaningful.
* The lag is one constant (the clocks are assumed not to drift over a short trial) found
  to about a sample; it is only as good as the cross-correlation's peak (``sync``
  reports each segment's correlation and confidence).
* Only where the markers are seen (a few seconds in the Kuopio trial); no angles are
  invented outside that span.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from imukin.conventions import JOINT_NAMES, SIDES, check_choice, joint_angles, joint_name, joint_segments
from imukin.errors import ImukinError
from imukin.io.c3d import MarkerData
from imukin.preprocessing.synchronize import sync_imu_mocap
from imukin.rotations import so3_log
from imukin.simulation.imu import integrate_gyroscope
from imukin.simulation.markers import clusters_for, fill_frame_gaps, lowpass_rotations, segment_frames

#: Seen runs of a segment frame shorter than this (frames) between gaps are dropped before bridging.
MIN_ANCHOR_FRAMES = 5


@dataclass
class ReferenceConfig:
    """Settings of the marker reference; every field has a default."""

    cutoff_hz: float = 6.0  # Hz, zero-phase low-pass of the segment frames (gait kinematics live below ~6 Hz)
    max_gap_s: float = 0.1  # s, longest marker or frame gap bridged
    functional_joints: tuple = ("knee",)  # joints whose flexion axis is their dominant relative rotation (hinge-
    # like ones); the others keep the mid-stance frames. The hip's rotation is not hinge-like (see the notes)
    max_lag_s: float = 1.0  # s, largest IMU-marker lag searched
    min_confidence: float = 0.3  # segments whose lag estimate is less confident are left out of the median
    min_overlap_s: float = 1.0  # s, least time with a reference on the IMU timeline
    max_axis_tilt_deg: float = 30.0  # deg, a functional axis farther than this from the mid-stance z is not used
    marker_map: object = None  # marker map (file, dict, preset name) or None: detected from the marker names

    def __post_init__(self) -> None:
        joints = (self.functional_joints,) if isinstance(self.functional_joints, str) else self.functional_joints
        self.functional_joints = tuple(joints)
        for joint in self.functional_joints:
            check_choice("functional_joints entry", joint, JOINT_NAMES)


@dataclass
class MarkerReference:
    """Reference joint angles of a real IMU trial and how they were found."""

    angles: dict  # joint name -> (N_imu, 3) degrees on the IMU timeline, NaN where there is no reference
    lag_s: float  # s, the marker clock lags the IMU clock by this (marker time = IMU time + lag)
    fs_imu: float  # Hz
    fs_markers: float  # Hz
    angles_markers: dict = field(default_factory=dict)  # joint name -> (M, 3) degrees on the marker timeline
    frames: dict = field(default_factory=dict)  # segment -> (M, 3, 3) mid-stance segment frames (marker timeline)
    sync: dict = field(default_factory=dict)  # segment -> sync_imu_mocap summary
    axes: dict = field(default_factory=dict)  # joint name -> functional-axis summary

    def valid(self, joint: str) -> np.ndarray:
        """IMU samples (bool, (N_imu,)) where the joint's reference exists."""
        return np.all(np.isfinite(self.angles[joint]), axis=1)


def marker_segment_frames(markers: MarkerData, clusters=None, cfg: ReferenceConfig | None = None) -> dict:
    """Mid-stance segment frames per marker frame, gaps bridged, each seen run low-passed: seg -> (M, 3, 3)."""
    cfg = cfg or ReferenceConfig()
    cs = clusters if clusters is not None else clusters_for(markers, cfg.marker_map)
    frames = segment_frames(markers, cs, reference="midstance", max_gap_s=cfg.max_gap_s, skip_absent=True)
    out = {}
    for seg, (rot, origin) in frames.items():
        rot = rot.copy()
        for a, b in _runs(np.all(np.isfinite(rot), axis=(1, 2))):
            if b - a < MIN_ANCHOR_FRAMES:  # a few frames between gaps: not credible, and no anchor for a bridge
                rot[a:b] = np.nan
        rot, _ = fill_frame_gaps(rot, origin, markers.fs, cfg.max_gap_s, seg, strict=False)
        for a, b in _runs(np.all(np.isfinite(rot), axis=(1, 2))):
            if b - a > 30:  # long enough for the zero-phase filter's padding
                rot[a:b] = lowpass_rotations(rot[a:b], markers.fs, cfg.cutoff_hz)
            else:
                rot[a:b] = np.nan  # a few isolated frames: not worth a reference
        out[seg] = rot
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of the True runs of a boolean array."""
    d = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def functional_axis(r_prox: np.ndarray, r_dist: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Dominant axis of a joint's relative rotation, in the proximal and in the distal frame.

    Parameters
    ----------
    r_prox, r_dist : ndarray, shape (M, 3, 3)
        Segment frames (NaN frames are left out).
    fs : float
        Hz.

    Notes
    -----
    The axis is the first principal direction of the relative rotation's excursions
    from its mean (rotation vectors), not of the relative angular velocity: the
    large, slow flexion dominates there, whereas differentiation would amplify the
    marker noise about poorly determined cluster axes (a foot's long axis).

    Returns
    -------
    axis_prox, axis_dist : ndarray, shape (3,)
        Unit axis in each segment's coordinates, signed so that its z component is
        positive (z points to the subject's right in every segment frame).
    share : float
        Fraction of the relative angular velocity's second moment along the axis
        (1 for a perfect hinge).
    """
    r_rel = np.swapaxes(r_prox, -1, -2) @ r_dist  # (M, 3, 3)
    ok = np.all(np.isfinite(r_rel), axis=(1, 2))
    if ok.sum() < 10:
        raise ImukinError("fewer than 10 frames with both segments seen; the joint's axis cannot be found")
    rel = Rotation.from_matrix(r_rel[ok])
    mean = rel.mean()
    out, share = [], 0.0
    # rotation away from the mean pose, as a rotation vector in the proximal (left) and distal (right) frame
    for v in ((rel * mean.inv()).as_rotvec(), (mean.inv() * rel).as_rotvec()):
        v = v - v.mean(axis=0)
        vals, vecs = np.linalg.eigh(v.T @ v)
        a = vecs[:, -1]
        out.append(a if a[2] >= 0 else -a)
        share = float(vals[-1] / max(vals.sum(), 1e-12))
    return out[0], out[1], share


def _turn_to_axis(rot: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Segment frames (M, 3, 3) turned so that their z is ``axis`` (segment coordinates), y kept as far as possible."""
    z = axis / np.linalg.norm(axis)
    y = np.array([0.0, 1.0, 0.0]) - z[1] * z
    y /= np.linalg.norm(y)
    c = np.stack([np.cross(y, z), y, z], axis=1)  # columns = new axes in the old segment frame
    return rot @ c


def find_lag(gyr: dict, fs_imu: float, frames: dict, fs_markers: float, max_lag_s: float = 1.0,
             min_confidence: float = 0.3) -> tuple[float, dict]:
    """Lag of the marker clock behind the IMU clock from |gyr| vs |w| of the cluster frames.

    Parameters
    ----------
    gyr : dict of str -> ndarray (N, 3)
        Segment -> gyroscope (rad/s), any mounting.
    frames : dict of str -> ndarray (M, 3, 3)
        Segment -> cluster frames (NaN where unseen).

    Returns
    -------
    lag_s : float
        Median of the confident segments' lags (all segments' if none is confident).
    per_segment : dict
        Segment -> :meth:`imukin.preprocessing.synchronize.MocapSync.as_dict`.

    Raises
    ------
    ImukinError
        No segment has both, or the recordings cannot be aligned (no overlap).
    """
    per = {}
    for seg in gyr:
        if seg not in frames:
            continue
        try:
            per[seg] = sync_imu_mocap(gyr[seg], fs_imu, frames[seg], fs_markers, max_lag_s=max_lag_s).as_dict()
        except ImukinError as e:
            per[seg] = {"error": str(e), "confidence": 0.0}
    usable = {s: d for s, d in per.items() if "offset_s" in d}
    if not usable:
        why = next(iter(per.values()))["error"] if per else "no segment has both a sensor and a marker cluster"
        raise ImukinError(f"the IMU and marker recordings could not be synchronised ({why}); check that they are "
                          f"the same trial and overlap in time")
    good = [d["offset_s"] for d in usable.values() if d["confidence"] >= min_confidence]
    lags = good or [d["offset_s"] for d in usable.values()]
    return float(np.median(lags)), per


def _on_imu_timeline(a: np.ndarray, fs_m: float, n_imu: int, fs_imu: float, lag_s: float) -> np.ndarray:
    """(M, K) on the marker clock -> (n_imu, K) at IMU sample times + lag; NaN unless both neighbours are finite."""
    pos = (np.arange(n_imu) / fs_imu + lag_s) * fs_m  # marker sample index
    i0 = np.floor(pos).astype(int)
    inside = (i0 >= 0) & (i0 + 1 < len(a))
    i0c = np.clip(i0, 0, len(a) - 2)
    f = (pos - i0c)[:, None]
    out = (1 - f) * a[i0c] + f * a[i0c + 1]  # NaN propagates from either neighbour
    out[~inside] = np.nan
    return out


def reference_angles(markers: MarkerData, gyr: dict, fs_imu: float, n_imu: int | None = None,
                     cfg: ReferenceConfig | None = None, lag_s: float | None = None) -> MarkerReference:
    """Reference joint angles for a real IMU trial from its synchronised marker trial.

    Parameters
    ----------
    markers : MarkerData
        The trial's markers (lab frame, metres; :func:`imukin.simulation.markers.read_marker_file`).
    gyr : dict of str -> ndarray (N, 3)
        Segment -> that segment's gyroscope (rad/s), for the lag; any mounting.
    fs_imu : float
        Hz.
    n_imu : int, optional
        IMU samples (default: the gyroscopes' length).
    cfg : ReferenceConfig, optional
    lag_s : float, optional
        Known lag (marker clock behind IMU clock); default: found by cross-correlation.

    Returns
    -------
    MarkerReference
        Angles for every joint whose two segments have clusters, on the IMU timeline.

    Raises
    ------
    ImukinError
        Unknown marker set, missing markers, or IMU and marker recordings that do not
        overlap (one line each).
    """
    cfg = cfg or ReferenceConfig()
    n_imu = int(n_imu if n_imu is not None else len(next(iter(gyr.values()))))
    frames = marker_segment_frames(markers, cfg=cfg)
    if lag_s is None:
        lag_s, sync = find_lag(gyr, fs_imu, frames, markers.fs, cfg.max_lag_s, cfg.min_confidence)
    else:
        sync = {}
    angles, angles_m, axes = {}, {}, {}
    for joint in JOINT_NAMES:
        for side in SIDES:
            prox, dist = joint_segments(joint, side)
            if prox not in frames or dist not in frames:
                continue
            rp, rd = frames[prox], frames[dist]
            name = joint_name(joint, side)
            try:  # found for every joint, so that the summary says how hinge-like each one moved
                ap, ad, share = functional_axis(rp, rd, markers.fs)
            except ImukinError:
                ap = None
            if ap is not None:
                tilt = [float(np.degrees(np.arccos(min(1.0, a[2])))) for a in (ap, ad)]
                used = joint in cfg.functional_joints and max(tilt) <= cfg.max_axis_tilt_deg
                axes[name] = {"axis_proximal": ap.round(4).tolist(), "axis_distal": ad.round(4).tolist(),
                              "share": round(share, 4), "tilt_from_midstance_z_deg": [round(t, 2) for t in tilt],
                              "used": bool(used)}
                if used:
                    rp, rd = _turn_to_axis(rp, ap), _turn_to_axis(rd, ad)
            ok = np.all(np.isfinite(rp), axis=(1, 2)) & np.all(np.isfinite(rd), axis=(1, 2))
            a = np.full((len(rp), 3), np.nan)
            if ok.any():
                a[ok] = joint_angles(rp[ok], rd[ok], joint, side)
            angles_m[name] = a
            angles[name] = _on_imu_timeline(a, markers.fs, n_imu, fs_imu, lag_s)
    if not angles:
        raise ImukinError("the marker clusters form no joint with enough frames; check the marker set")
    seen = max(int(np.all(np.isfinite(v), axis=1).sum()) for v in angles.values())
    if seen < cfg.min_overlap_s * fs_imu:
        m_ok = np.flatnonzero(np.any([np.all(np.isfinite(v), axis=1) for v in angles_m.values()], axis=0))
        span = f"{m_ok[0] / markers.fs:.2f}-{m_ok[-1] / markers.fs:.2f} s" if len(m_ok) else "nowhere"
        raise ImukinError(f"the marker recording (joints seen {span}) and the IMU recording (0-{n_imu / fs_imu:.2f} s) "
                          f"overlap by {seen / fs_imu:.2f} s after a lag of {lag_s:+.3f} s, less than "
                          f"{cfg.min_overlap_s:g} s; pass the marker and IMU files of the same trial")
    return MarkerReference(angles=angles, lag_s=float(lag_s), fs_imu=float(fs_imu), fs_markers=float(markers.fs),
                           angles_markers=angles_m, frames=frames, sync=sync, axes=axes)


def _carried_frames(ref: MarkerReference, gyr: dict, still: tuple[int, int] | None,
                    back_to: int | None = None) -> tuple[dict, dict]:
    """Segment -> (N, 3, 3) on the IMU timeline: each reference frame carried by its sensor's gyroscope (less
    its mean over ``still``, turned into the cluster frame by the fitted rotation), forward from where the
    markers are first seen to where they are last seen; NaN elsewhere. With ``back_to``, from that sample
    (or the first seen, if earlier) to the last seen, and from the one start that fits every seen frame
    best rather than from the first one. Also returns, for that start, each segment's RMS angle (deg)
    between its carried and its seen frames (empty without ``back_to``)."""
    n = len(next(iter(gyr.values())))
    tracked, residuals = {}, {}
    for seg, g in gyr.items():
        r_fit = ref.sync.get(seg, {}).get("r_sensor_to_markers")
        if r_fit is None or seg not in ref.frames:
            continue
        rot = ref.frames[seg]
        frames = _on_imu_timeline(rot.reshape(len(rot), 9), ref.fs_markers, n, ref.fs_imu, ref.lag_s)  # (n, 9)
        seen = np.flatnonzero(np.all(np.isfinite(frames), axis=1))
        if len(seen) < 2:
            continue
        w = np.asarray(g, float)
        if still is not None:
            w = w - w[still[0]:still[1]].mean(axis=0)
        w = w @ np.asarray(r_fit).T  # (n, 3) rates in the cluster frame
        a, b = int(seen[0]), int(seen[-1])
        out = np.full((n, 3, 3), np.nan)
        if back_to is None:
            start = Rotation.from_matrix(frames[a].reshape(3, 3)).as_matrix()  # the interpolated frame made a rotation
            out[a:b + 1] = integrate_gyroscope(w[a:b + 1], ref.fs_imu, start)
        else:  # one start for the whole span: the rotation that best fits every seen frame (orthogonal Procrustes)
            lo = min(int(back_to), a)
            q = integrate_gyroscope(w[lo:b + 1], ref.fs_imu, np.eye(3))  # turn since lo, (b-lo+1, 3, 3)
            f = frames[seen].reshape(-1, 3, 3)  # (S, 3, 3)
            u, _, vt = np.linalg.svd(np.einsum("sij,skj->ik", f, q[seen - lo]))  # sum F(t) Q(t)^T
            g = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt  # F(lo)
            out[lo:b + 1] = g @ q
            ang = np.linalg.norm(so3_log(np.einsum("sji,sjk->sik", out[seen], f)), axis=-1)  # carried vs seen, rad
            residuals[seg] = float(np.degrees(np.sqrt(np.mean(ang ** 2))))
        tracked[seg] = out
    return tracked, residuals


def _tracked_angles(ref: MarkerReference, tracked: dict, n: int) -> dict:
    """Joint name -> (n, 3) degrees of carried frames, with the reference's own frames (functional axes too)."""
    angles = {}
    for joint in JOINT_NAMES:
        for side in SIDES:
            name = joint_name(joint, side)
            prox, dist = joint_segments(joint, side)
            if name not in ref.angles or prox not in tracked or dist not in tracked:
                continue
            rp, rd = tracked[prox], tracked[dist]
            ax = ref.axes.get(name, {})
            if ax.get("used"):  # the reference's functional axes
                rp = _turn_to_axis(rp, np.array(ax["axis_proximal"]))
                rd = _turn_to_axis(rd, np.array(ax["axis_distal"]))
            ok = np.all(np.isfinite(rp), axis=(1, 2)) & np.all(np.isfinite(rd), axis=(1, 2))
            a = np.full((n, 3), np.nan)
            a[ok] = joint_angles(rp[ok], rd[ok], joint, side)
            angles[name] = a
    return angles


def sensor_motion_angles(ref: MarkerReference, gyr: dict, still: tuple[int, int] | None = None) -> dict:
    """Joint angles of the sensors' own rotation, to split a real-IMU benchmark's error.

    Each sensor's gyroscope, less its mean over ``still`` (quiet standing: the gyroscope's
    bias), is turned into its cluster's frame by the rotation fitted between the two
    angular rates (``ref.sync[segment]["r_sensor_to_markers"]``) and integrated on the IMU
    timeline from the cluster frame where the markers are first seen to where they are
    last seen; the joint angles of two such orientations are taken with the reference's
    own frames (the knees' functional axes included). This is what the two sensors turned
    through, against what the marker clusters turned through: an error no method that
    follows its sensors avoids (skin or shoe moving a sensor and a cluster differently, a
    cluster spanning a joint, the fitted rotation's own error). It uses the markers twice
    (the mounting and the start), so it is a diagnosis, not a method.

    Parameters
    ----------
    ref : MarkerReference
        From :func:`reference_angles` with ``lag_s`` found (its ``sync`` holds the rotations).
    gyr : dict of str -> ndarray (N, 3)
        Segment -> that segment's gyroscope (rad/s) on the IMU timeline, as given to
        :func:`reference_angles`.
    still : (int, int), optional
        ``[start, stop)`` IMU samples of quiet standing whose mean gyroscope is the bias;
        default: no bias removed.

    Returns
    -------
    dict
        Joint name -> (N, 3) degrees, NaN outside the integrated span; joints whose two
        segments both have a sensor, a cluster and a fitted rotation.
    """
    n = len(next(iter(gyr.values())))
    return _tracked_angles(ref, _carried_frames(ref, gyr, still)[0], n)


@dataclass
class StandingPose:
    """The reference's joint angles in a standing its markers did not see (:func:`standing_pose_angles`).

    Attributes
    ----------
    angles : dict of str -> ndarray, shape (3,)
        Joint name -> the reference's angles (deg) averaged over the standing.
    fit_residual_deg : dict of str -> float
        Segment -> RMS angle (deg) between its gyroscope-carried frames and its cluster frames over
        the span the markers see: how well one start explains them (the carried standing's own error
        is of that order or larger).
    still : (int, int)
        The standing, ``[start, stop)`` IMU samples.
    """

    angles: dict
    fit_residual_deg: dict
    still: tuple[int, int]


def standing_pose_angles(ref: MarkerReference, gyr: dict, still: tuple[int, int]) -> StandingPose:
    """The reference's joint angles during quiet standing that the markers did not see.

    A trial whose markers start after its standing (the Kuopio trial's at about 4.6 s, its
    standing before 1.8 s) has no reference in the pose that ``imukin predict --calibrate
    standing`` takes as 0. Each segment's gyroscope (bias: its mean over ``still``; turned into
    the cluster frame by the fitted rotation) is integrated from the standing to where the
    markers are last seen, and started from the one orientation that best fits every cluster
    frame seen (orthogonal Procrustes; a single seen frame would carry its own noise and the
    heel-against-forefoot bending of a foot cluster into the start). The angles of those frames
    over ``still`` are averaged: ``ref.angles[joint] - pose.angles[joint]`` is the reference with
    that standing as 0, the yardstick of absolute angles.

    The carried frames inherit the integration's error over the seconds between (a gyroscope's
    scale error, the fitted rotation's error); ``fit_residual_deg`` shows how far one start
    leaves them from the clusters where both are seen.

    Parameters
    ----------
    ref : MarkerReference
        From :func:`reference_angles` with ``lag_s`` found.
    gyr : dict of str -> ndarray (N, 3)
        Segment -> gyroscope (rad/s) on the IMU timeline, as given to :func:`reference_angles`.
    still : (int, int)
        ``[start, stop)`` IMU samples of the quiet standing.

    Returns
    -------
    StandingPose
        For the joints :func:`sensor_motion_angles` gives.
    """
    n = len(next(iter(gyr.values())))
    lo, hi = int(still[0]), int(still[1])
    if not 0 <= lo < hi <= n:
        raise ImukinError(f"the standing period [{lo}, {hi}) is not within the {n} IMU samples")
    tracked, residuals = _carried_frames(ref, gyr, (lo, hi), back_to=lo)
    angles = _tracked_angles(ref, tracked, n)
    return StandingPose(angles={name: np.mean(a[lo:hi], axis=0) for name, a in angles.items()
                                if np.all(np.isfinite(a[lo:hi]))},
                        fit_residual_deg=residuals, still=(lo, hi))


__all__ = ["ReferenceConfig", "MarkerReference", "marker_segment_frames", "functional_axis", "find_lag",
           "reference_angles", "sensor_motion_angles",
           "StandingPose", "standing_pose_angles"]
