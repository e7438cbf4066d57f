"""Sensor-to-segment alignment: the segment's axes in the sensor frame, found from the recording.

A sensor strapped on in any orientation (upside down, on the lateral or medial side,
rotated on the limb) is turned into the segment frame of :mod:`imukin.conventions`
(x anterior, y superior, z to the subject's right, for left and right segments alike)
by one constant rotation ``r_mount``: ``v_segment = r_mount @ v_sensor``. This is the
``R_mount`` of :mod:`imukin.simulation.sensor_errors` (``R_sensor = R_segment @ R_mount``).

How the axes are found
----------------------
1. **Vertical (y) from standing.** The first still period of at least
   ``min_still_s`` (small angular rate, steady acceleration) is taken as quiet
   standing; the mean accelerometer reading there points along the segment's
   superior axis (a sensor at rest reads +9.81 m/s^2 on its up axis, and in the
   neutral standing pose every segment frame equals the lab frame).
2. **Anterior (x) from the walking direction** (every segment, when the recording
   walks off from that standing period, or stops into it): the gyroscope is
   integrated from the standing attitude (tilt from gravity) over the first
   ``onset_s`` seconds of motion, the specific force is rotated into that frame,
   gravity removed, and integrated once; the mean horizontal velocity points forward,
   i.e. along the segment's x axis in the standing pose. Three seconds (about two
   strides) let the side-to-side sway average out. Then ``z = x cross y``. This rule
   is called ``onset``; it is decisive when the mean speed exceeds 0.15 m/s.
3. **Without a walking start** (thigh, shank, foot only) the medio-lateral axis (z)
   is the dominant rotation axis while walking (first eigenvector of the gyroscope's
   second-moment matrix, the flexion axis), made orthogonal to y, and its sign comes
   from the gait pattern (first decisive rule wins):

   =========  ===================================================================
   segment    rule
   =========  ===================================================================
   thigh      ``swing_peak``: the fastest sagittal rotation is hip flexion in
              early swing, so the larger extreme of the rate about +z is positive
              (decisive above a 10 % difference).
   shank      ``mean_tilt``: averaged over walking the shank leans back (its distal
              end behind the knee, as knee flexion exceeds thigh flexion), by about
              10-25 deg walking and more running (decisive beyond 3 deg).
   foot       ``mean_tilt``: averaged over walking the foot points toes-down relative
              to standing (push-off and early swing): -7 and -12 deg in the real
              gaitmap recording (decisive beyond 3 deg).
   pelvis     none: the pelvis barely rotates in the sagittal plane, so it needs
              the walking start (or a manual matrix).
   =========  ===================================================================

   If no rule is decisive the first one is used and the result is marked
   ``sign_confident=False`` (with a warning). The flexion axis also differs from the
   anatomical z by the joint's frontal and transverse motion (5-15 deg in simulated
   gait), so this fallback is less exact than the walking direction.
4. The frame is completed: ``x = y cross z`` (fallback) or ``z = x cross y`` (onset).

A manual 3x3 matrix can be given instead (:meth:`SegmentAlignment.from_matrix`).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.spatial.transform import Rotation

from imukin.conventions import G, JOINT_TYPES, SEGMENT_TYPES, check_choice, joint_segments
from imukin.errors import ImukinError

SIGN_RULES = {  # per segment type, sign rules of the fallback without a walking start, tried in order
    "pelvis": (),
    "thigh": ("swing_peak",),
    "shank": ("mean_tilt", "swing_peak"),
    "foot": ("mean_tilt", "swing_peak"),
}
#: Expected sign of each rule's statistic for the correct frame.
MEAN_TILT_SIGN = {"shank": -1.0, "foot": -1.0, "thigh": 1.0}
SWING_PEAK_SIGN = {"thigh": 1.0, "shank": 1.0, "foot": -1.0}
DECISIVE = {"onset": 0.15, "swing_peak": 0.10, "mean_tilt": 3.0}  # m/s, relative, deg


@dataclass
class AlignConfig:
    """Parameters of the automatic alignment; every field has a default."""

    min_still_s: float = 0.5  # s, shortest still period accepted as standing (real recordings may give 0.7 s)
    still_window_s: float = 0.4  # s, window of the moving statistics that detect stillness
    still_gyr_max: float = 0.2  # rad/s, largest mean |gyr| in a still window
    still_acc_sd_max: float = 0.3  # m/s^2, largest acc standard deviation (norm over axes) in a still window
    walk_window_s: float = 1.0  # s, window of the moving mean |gyr| that detects walking
    walk_gyr_min: float = 0.5  # rad/s, smallest moving mean |gyr| counted as walking (legs)
    onset_s: float = 3.0  # s of motion integrated by the onset rule (about two strides: lateral sway averages out)
    use_onset: bool = True  # use the walking direction after (or before) standing; False: rotation axis only
    min_axis_angle_deg: float = 60.0  # the rotation axis must be at least this far from vertical


@dataclass
class SegmentAlignment:
    """Where a segment's axes lie in one sensor's frame."""

    segment: str  # segment type: pelvis, thigh, shank or foot
    r_mount: np.ndarray  # (3, 3) v_segment = r_mount @ v_sensor (rows: segment x, y, z in sensor coordinates)
    method: str = "auto"  # "auto" or "manual"
    sign_rule: str = ""  # rule that fixed the sign of the medio-lateral (pelvis: anterior) axis
    sign_evidence: float = float("nan")  # that rule's statistic (m/s, ratio - 1, or deg; positive = agrees)
    sign_confident: bool = True  # False when no rule was decisive
    still_frames: tuple[int, int] = (0, 0)  # standing period used for the vertical, [start, stop)
    axis_angle_deg: float = float("nan")  # angle between the rotation axis and vertical before orthogonalising
    evidence: dict = field(default_factory=dict)  # every rule's statistic that could be computed

    @classmethod
    def from_matrix(cls, r_mount, segment: str = "unknown") -> "SegmentAlignment":
        """A manual alignment from a 3x3 rotation (``v_segment = r_mount @ v_sensor``)."""
        r = np.asarray(r_mount, float)
        if r.shape != (3, 3):
            raise ImukinError(f"an alignment matrix must be 3x3, got shape {r.shape}")
        if np.abs(r @ r.T - np.eye(3)).max() > 1e-3 or np.linalg.det(r) < 0:
            raise ImukinError("the alignment matrix is not a proper rotation (orthonormal, det +1); "
                              "rows must be the segment's x, y, z axes in sensor coordinates")
        r = Rotation.from_matrix(r).as_matrix()  # re-orthonormalise
        return cls(segment=segment, r_mount=r, method="manual", sign_rule="manual")

    def apply(self, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sensor-frame signals (N, 3) -> segment-frame signals (N, 3)."""
        return apply_alignment(acc, gyr, self.r_mount)

    def as_dict(self) -> dict:
        """Plain-type summary for provenance records."""
        euler = Rotation.from_matrix(self.r_mount).as_euler("ZXY", degrees=True)
        return {"segment": self.segment, "method": self.method, "r_mount": np.round(self.r_mount, 6).tolist(),
                "euler_zxy_deg": np.round(euler, 3).tolist(), "sign_rule": self.sign_rule,
                "sign_evidence": self.sign_evidence, "sign_confident": self.sign_confident,
                "still_frames": list(self.still_frames), "axis_angle_deg": self.axis_angle_deg}


def apply_alignment(acc: np.ndarray, gyr: np.ndarray, r_mount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate sensor-frame signals into the segment frame: ``v_seg = r_mount @ v_sensor``, (N, 3) each."""
    r = np.asarray(r_mount, float)
    return np.asarray(acc, float) @ r.T, np.asarray(gyr, float) @ r.T


# ---------------------------------------------------------------- detection
def still_mask(acc: np.ndarray, gyr: np.ndarray, fs: float, cfg: AlignConfig | None = None) -> np.ndarray:
    """Frames where the sensor is still (small rate, steady acceleration): (N, 3) x2 -> (N,) bool."""
    cfg = cfg or AlignConfig()
    acc, gyr = _xyz(acc, "acc"), _xyz(gyr, "gyr")
    w = max(3, int(round(cfg.still_window_s * fs)))
    g = uniform_filter1d(np.linalg.norm(gyr, axis=1), w, mode="nearest")  # (N,)
    m1 = uniform_filter1d(acc, w, axis=0, mode="nearest")
    m2 = uniform_filter1d(acc * acc, w, axis=0, mode="nearest")
    sd = np.sqrt(np.maximum(m2 - m1 * m1, 0.0).sum(axis=1))  # (N,)
    return (g < cfg.still_gyr_max) & (sd < cfg.still_acc_sd_max)


def bouts(mask: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a boolean mask as ``[start, stop)`` pairs."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def standing_period(acc: np.ndarray, gyr: np.ndarray, fs: float, cfg: AlignConfig | None = None
                    ) -> tuple[int, int] | None:
    """The first still period of at least ``cfg.min_still_s``, ``[start, stop)``, or None.

    The first, not the longest: protocols start with quiet standing, and the walking
    right after it gives the forward direction; a final stop may follow a turn.
    """
    cfg = cfg or AlignConfig()
    runs = [b for b in bouts(still_mask(acc, gyr, fs, cfg)) if b[1] - b[0] >= cfg.min_still_s * fs]
    return runs[0] if runs else None


def walking_mask(gyr: np.ndarray, fs: float, cfg: AlignConfig | None = None) -> np.ndarray:
    """Frames of sustained limb rotation (moving mean of ``|gyr|`` above ``cfg.walk_gyr_min``): (N,) bool."""
    cfg = cfg or AlignConfig()
    w = max(3, int(round(cfg.walk_window_s * fs)))
    return uniform_filter1d(np.linalg.norm(_xyz(gyr, "gyr"), axis=1), w, mode="nearest") > cfg.walk_gyr_min


# ---------------------------------------------------------------- axes
def vertical_axis(acc: np.ndarray, frames: tuple[int, int]) -> np.ndarray:
    """Unit superior axis in sensor coordinates: the mean accelerometer reading over ``frames``, (3,)."""
    m = np.asarray(acc, float)[frames[0]:frames[1]].mean(axis=0)
    n = np.linalg.norm(m)
    if not 0.5 * G < n < 1.5 * G:
        raise ImukinError(f"the standing period reads {n:.2f} m/s^2, not about {G}; check the accelerometer units")
    return m / n


def rotation_axis(gyr: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Dominant rotation axis (unit, sign arbitrary): first eigenvector of ``E[w w^T]`` over ``mask``, (3,)."""
    w = np.asarray(gyr, float)
    if mask is not None:
        w = w[mask]
    if len(w) < 10:
        raise ImukinError("fewer than 10 walking frames; the recording needs walking to find the flexion axis")
    vals, vecs = np.linalg.eigh(w.T @ w / len(w))
    return vecs[:, -1]


def _frame_from_up_ml(up: np.ndarray, ml: np.ndarray) -> np.ndarray:
    """Rows x, y, z from the superior axis y and a medio-lateral direction (made orthogonal)."""
    z = ml - np.dot(ml, up) * up
    z /= np.linalg.norm(z)
    x = np.cross(up, z)
    return np.stack([x, up, z])


def _frame_from_up_ap(up: np.ndarray, ap: np.ndarray) -> np.ndarray:
    """Rows x, y, z from the superior axis y and an anterior direction (made orthogonal)."""
    x = ap - np.dot(ap, up) * up
    x /= np.linalg.norm(x)
    z = np.cross(x, up)
    return np.stack([x, up, z])


# ---------------------------------------------------------------- sign rules
def travel_direction(acc: np.ndarray, gyr: np.ndarray, fs: float, still: tuple[int, int], up: np.ndarray,
                     cfg: AlignConfig | None = None) -> tuple[np.ndarray, float] | None:
    """Horizontal direction of travel in sensor coordinates from a standing-walking transition.

    Integrates the gyroscope from the attitude at the end of the standing period
    ``still`` (tilt from gravity, heading arbitrary) over ``cfg.onset_s`` seconds,
    rotates the specific force into that frame, removes the gravity measured while
    standing, and integrates once. If nothing moves after the standing period, the
    motion before it is integrated backwards instead (walking that stops).

    Returns
    -------
    (direction, speed) or None
        Unit vector (3,) in the sensor frame at standing (horizontal), and the mean
        horizontal speed in m/s along it (the rule's evidence); None without motion
        next to the standing period.
    """
    from imukin.simulation.imu import integrate_gyroscope

    cfg = cfg or AlignConfig()
    acc, gyr = _xyz(acc, "acc"), _xyz(gyr, "gyr")
    n_on = int(round(cfg.onset_s * fs))
    s0, s1 = still
    bias = gyr[s0:s1].mean(axis=0)  # gyroscope bias while standing
    g_meas = np.linalg.norm(acc[s0:s1].mean(axis=0))
    r0 = Rotation.align_vectors([[0.0, 1.0, 0.0]], [up])[0].as_matrix()  # sensor at standing -> level frame
    candidates = []
    if s1 + n_on // 2 <= len(acc):  # forward in time from the end of standing
        seg = slice(s1 - 1, min(len(acc), s1 - 1 + n_on))
        candidates.append((seg, 1.0))
    if s0 - n_on // 2 >= 0:  # backwards in time from the start of standing
        seg = slice(max(0, s0 - n_on), s0 + 1)
        candidates.append((seg, -1.0))
    best = None
    for seg, direction in candidates:
        w = gyr[seg] - bias
        a = acc[seg]
        if direction < 0:  # integrate backwards: reverse time, negate rates
            w, a = -w[::-1], a[::-1]
        rot = integrate_gyroscope(w, fs, r0)  # (n, 3, 3) level frame <- sensor
        a_lvl = np.einsum("nij,nj->ni", rot, a) - np.array([0.0, g_meas, 0.0])  # (n, 3)
        v = np.cumsum(a_lvl, axis=0) / fs * direction  # backwards: velocity before the stop
        vh = v[:, [0, 2]].mean(axis=0)  # horizontal mean velocity
        speed = float(np.linalg.norm(vh))
        if best is None or speed > best[1]:
            d_lvl = np.array([vh[0], 0.0, vh[1]]) / max(speed, 1e-12)
            best = (r0.T @ d_lvl, speed)
    return best


def _swing_peak(gyr_z: np.ndarray) -> float:
    """Relative excess of the positive over the negative extreme of a rate: p99.5 / |p0.5| - 1 (signed)."""
    lo, hi = np.percentile(gyr_z, [0.5, 99.5])
    if hi <= 0 or lo >= 0:
        return float(np.sign(hi + lo))
    return float(hi / -lo - 1.0) if hi >= -lo else float(-(-lo / hi - 1.0))


def _mean_tilt_deg(acc: np.ndarray, frame: np.ndarray, mask: np.ndarray) -> float:
    """Mean sagittal tilt (deg) over ``mask``: positive when the mean specific force leans to +x."""
    m = np.asarray(acc, float)[mask].mean(axis=0) @ frame.T  # segment coordinates
    return float(np.degrees(np.arctan2(m[0], m[1])))


# ---------------------------------------------------------------- main entry
def align_segment(acc: np.ndarray, gyr: np.ndarray, fs: float, segment: str,
                  still: tuple[int, int] | None = None, cfg: AlignConfig | None = None) -> SegmentAlignment:
    """Find a sensor's mounting on a segment from a recording with standing and walking.

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        Sensor-frame signals, m/s^2 and rad/s.
    fs : float
        Hz.
    segment : {"pelvis", "thigh", "shank", "foot"}
        Segment type (``"rthigh"`` etc. are accepted; the side does not matter, since
        every segment frame has z to the subject's right).
    still : (int, int), optional
        ``[start, stop)`` frames of quiet standing; default: detected.
    cfg : AlignConfig, optional

    Returns
    -------
    SegmentAlignment
        ``r_mount`` with ``v_segment = r_mount @ v_sensor``, and how it was found.

    Raises
    ------
    ImukinError
        No standing period, no walking, or a rotation axis too close to vertical.
    """
    cfg = cfg or AlignConfig()
    seg = _segment_type(segment)
    acc, gyr = _xyz(acc, "acc"), _xyz(gyr, "gyr")
    if len(acc) != len(gyr):
        raise ImukinError(f"acc and gyr differ in length ({len(acc)} vs {len(gyr)}); pass synchronised signals")
    if still is None:
        still = standing_period(acc, gyr, fs, cfg)
        if still is None:
            raise ImukinError(f"no still period of at least {cfg.min_still_s:g} s found for the {seg} sensor; "
                              "record quiet standing before walking, or pass a manual alignment matrix")
    up = vertical_axis(acc, still)
    walk = walking_mask(gyr, fs, cfg) if seg != "pelvis" else ~still_mask(acc, gyr, fs, cfg)
    if walk.sum() < fs:
        raise ImukinError(f"less than 1 s of walking found for the {seg} sensor; the alignment needs walking")
    evidence: dict[str, float] = {}
    travel = travel_direction(acc, gyr, fs, still, up, cfg) if cfg.use_onset else None
    if travel is not None:
        evidence["onset_speed_m_s"] = travel[1]
    axis_angle = float("nan")
    if travel is not None and travel[1] >= DECISIVE["onset"]:
        # the walking direction at standing is the segment's anterior axis (neutral pose = lab frame)
        frame = _frame_from_up_ap(up, travel[0])
        rule, ev, confident = "onset", travel[1], True
        if seg != "pelvis":  # report how far the functional flexion axis is from the travel-based one
            ml = rotation_axis(gyr, walk)
            axis_angle = float(np.degrees(np.arccos(min(1.0, abs(float(np.dot(ml, up)))))))
            ml_h = ml - np.dot(ml, up) * up
            evidence["flexion_axis_vs_travel_deg"] = float(np.degrees(np.arccos(
                min(1.0, abs(float(np.dot(ml_h / np.linalg.norm(ml_h), frame[2])))))))
    elif seg == "pelvis":
        raise ImukinError("the pelvis sensor's forward axis needs walking right after (or before) quiet "
                          "standing in the recording; pass a manual alignment matrix otherwise")
    else:
        ml = rotation_axis(gyr, walk)
        axis_angle = float(np.degrees(np.arccos(min(1.0, abs(float(np.dot(ml, up)))))))
        if axis_angle < cfg.min_axis_angle_deg:
            raise ImukinError(f"the {seg} sensor's main rotation axis is {axis_angle:.0f} deg from vertical; "
                              "walking should rotate it about a horizontal axis (check the segment name)")
        frame = _frame_from_up_ml(up, ml)  # sign still arbitrary
        # each rule's statistic, positive when the current frame is right
        stats = {"swing_peak": SWING_PEAK_SIGN[seg] * _swing_peak(gyr[walk] @ frame[2])}
        if seg in MEAN_TILT_SIGN:
            stats["mean_tilt"] = MEAN_TILT_SIGN[seg] * _mean_tilt_deg(acc, frame, walk)
        order = [r for r in SIGN_RULES[seg] if r in stats]
        decisive = [r for r in order if abs(stats[r]) >= DECISIVE[r]]
        rule = decisive[0] if decisive else order[0]
        confident = bool(decisive)
        flip = stats[rule] < 0
        if flip:  # the other sign: rotate 180 deg about y (x and z flip)
            frame = frame * np.array([[-1.0], [1.0], [-1.0]])
        evidence.update({k: (-v if flip else v) for k, v in stats.items()})
        ev = abs(stats[rule])
    if not confident:
        warnings.warn(f"the {seg} sensor's forward direction is uncertain (rule {rule}, evidence {ev:.3g}); "
                      "check the aligned signals or pass a manual alignment matrix")
    return SegmentAlignment(segment=seg, r_mount=frame, method="auto", sign_rule=rule, sign_evidence=float(ev),
                            sign_confident=bool(confident), still_frames=(int(still[0]), int(still[1])),
                            axis_angle_deg=axis_angle, evidence=evidence)


def align_leg(acc1: np.ndarray, gyr1: np.ndarray, acc2: np.ndarray, gyr2: np.ndarray, fs: float, side: str,
              joint: str = "knee", manual: dict | None = None, cfg: AlignConfig | None = None
              ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], dict]:
    """Align a joint's two sensors (proximal then distal) to their segment frames.

    Parameters
    ----------
    acc1, gyr1, acc2, gyr2 : ndarray, shape (N, 3)
        Proximal then distal sensor, m/s^2 and rad/s, sensor frames, synchronised.
    fs : float
        Hz.
    side : {"right", "left"}
    joint : {"hip", "knee", "ankle"}
        Says which segments the sensors are on (hip: pelvis + thigh, and so on).
    manual : dict, optional
        ``{"seg1": 3x3, "seg2": 3x3}`` matrices to use instead of the automatic ones
        (either or both).
    cfg : AlignConfig, optional

    Returns
    -------
    (acc1, gyr1, acc2, gyr2) : ndarrays, shape (N, 3)
        Signals in the segment frames.
    info : dict
        ``{"seg1": SegmentAlignment, "seg2": SegmentAlignment}`` (names from
        :func:`imukin.conventions.joint_segments`) and ``"summary"``, a plain dict.

    Examples
    --------
    >>> (a1, g1, a2, g2), info = align_leg(acc1, gyr1, acc2, gyr2, 100.0, "left")  # doctest: +SKIP
    """
    check_choice("joint", joint, tuple(JOINT_TYPES))
    names = joint_segments(joint, side)
    manual = manual or {}
    out, info = [], {}
    for key, (acc, gyr), seg_type, name in zip(("seg1", "seg2"), ((acc1, gyr1), (acc2, gyr2)), JOINT_TYPES[joint],
                                               names):
        if key in manual:
            al = SegmentAlignment.from_matrix(manual[key], seg_type)
        else:
            al = align_segment(acc, gyr, fs, seg_type, cfg=cfg)
        out.extend(al.apply(acc, gyr))
        info[key] = al
    info["summary"] = {names[0]: info["seg1"].as_dict(), names[1]: info["seg2"].as_dict()}
    return tuple(out), info


def angle_errors_deg(r_est: np.ndarray, r_true: np.ndarray) -> np.ndarray:
    """Angle (deg) between each estimated and true segment axis (rows x, y, z): (3,)."""
    cos = np.clip(np.sum(np.asarray(r_est) * np.asarray(r_true), axis=1), -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def _segment_type(segment: str) -> str:
    s = segment
    if s not in SEGMENT_TYPES and s[1:] in SEGMENT_TYPES and s[0] in "rl":
        s = s[1:]
    check_choice("segment type", s, SEGMENT_TYPES)
    return s


def _xyz(a, name: str) -> np.ndarray:
    a = np.asarray(a, float)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ImukinError(f"{name} must have shape (N, 3), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ImukinError(f"{name} contains NaN or inf; fill the gaps before aligning")
    return a


__all__ = ["AlignConfig", "SegmentAlignment", "apply_alignment", "still_mask", "bouts", "standing_period",
           "walking_mask", "vertical_axis", "rotation_axis", "travel_direction", "align_segment", "align_leg",
           "angle_errors_deg", "SIGN_RULES"]
