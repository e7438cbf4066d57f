"""Sensor-to-segment alignment: the segment's axes in the sensor frame, found from the recording.

A sensor strapped on in any orientation (upside down, on the lateral or medial side,
rotated on the limb) is turned into the segment frame of :mod:`imukin.conventions`
(x anterior, y superior, z to the subject's right, for left and right segments alike)
by one constant rotation ``r_mount``: ``v_segment = r_mount @ v_sensor``. This is the
``R_mount`` of :mod:`imukin.simulation.sensor_errors` (``R_sensor = R_segment @ R_mount``).

Two methods are combined. The first needs only walking or running; the second needs
quiet standing and refines the first when both are available and agree.

A. From gait alone (every segment; no standing, no calibration pose)
--------------------------------------------------------------------
1. **Whole strides.** The longest bout of motion is taken and the stride period is
   found from the autocorrelation of all six (low-passed, normalised) channels within
   :data:`STRIDE_RANGE_S`; the bout is cut to a whole number of strides (at least one).
2. **Superior axis from the mean specific force** (Laidig & Seel; the mean of the
   accelerometer over whole strides is gravity seen in the segment's mean attitude,
   since the mean linear acceleration over a stride is close to zero). The mean
   attitude during gait is not neutral standing: the thigh is flexed on average, the
   shank leans back, the foot points down, the (ASIS/PSIS) pelvis is tilted forward.
   The expected direction of the mean specific force in the segment frame,
   :data:`MEAN_FORCE_TILT_DEG` (sagittal and frontal angle per segment type and
   activity), was computed from the simulator (:func:`simulated_gait_statistics`).
3. **Second axis.** Thigh, shank, foot: the dominant rotation axis (first eigenvector
   of ``E[w w^T]``, Seel et al. 2014's idea of a functional flexion axis) is the
   medio-lateral axis z. Pelvis: in the plane normal to the mean specific force, the
   direction with most gyroscope power at odd harmonics of the stride frequency
   (obliquity, about x) and least at even harmonics (tilt, about z, at step frequency),
   and -- over two strides or more -- most acceleration power at even harmonics
   (forward, at step frequency) and least at odd ones (lateral sway), is the anterior
   axis x. The frame is the rotation that maps the measured mean force exactly onto
   its expected segment-frame direction and the second axis as closely as possible.
   Foot, where two stances or more a stride apart agree (step 4's zero-velocity travel):
   the anterior axis x is the direction the foot travels, as the onset rule takes it with
   standing (``AlignConfig.foot_heading``). The foot's dominant rotation axis is tilted by
   its inversion and toe-out turning; on simulated walkers (``benchmarks/alignment.py``)
   the travel direction is nearer the true axes (foot x/z 10.1/9.8 deg against 10.8/10.6)
   and the ankle angles closer to those with the true mounting.
4. **Sign** (the remaining 180 deg ambiguity about y) from gait patterns that are
   odd under that flip, in the candidate segment frame (low-passed at
   ``AlignConfig.lowpass_hz``): skewness of ``gyr_z`` and of ``acc_x`` (fast swing
   flexion, push-off), and correlations of ``acc_x`` and ``gyr_z`` with ``acc_y`` and
   its derivative (for the pelvis the inverted pendulum of walking against the spring
   mass of running, Zijlstra & Hof 2003). Their mean and spread per segment type and
   activity, :data:`SIGN_FEATURES`, come from the simulator; the evidence is a
   log-likelihood ratio of the two signs under independent normal features
   (divided by the square root of the feature count, as they are correlated).
5. **Confidence** in 0..1: ``tanh(|LLR| / 2)`` (how decisive the sign is) times the
   axis quality ``min(1, 2 gap)``, where ``gap`` is the relative eigenvalue gap of the
   matrix that gave the second axis (how planar the rotation is; pelvis: how clear the
   harmonic contrast is). Below ``AlignConfig.min_confidence`` a warning is issued and
   ``sign_confident`` is False.
6. **Along and across the legs, and the pelvis** (:func:`leg_signs`, where several segments are
   aligned): the foot swings with the shank, and in walking the shank's swing follows the
   thigh's (:data:`LEG_PAIR_STATS`); the two legs' same segments swing half a stride apart, in
   walking and running alike (:data:`LEFT_RIGHT_PHASE`); each pair's statistic turns over with
   either sensor's sign. The signs are made to agree, turning over the least confident sensors
   whose sign came from the gait features alone, and agreeing sensors share confidence. Then
   the pelvis, which drops on the swinging leg's side in a fixed phase with that leg's swing
   (:data:`PELVIS_THIGH_PHASE`), is turned over where its obliquity is out of that phase with
   the thighs (its gait features rest partly on how the body surges, which the simulator gets
   least right).

Expected accuracy (simulated people, see ``benchmarks/alignment.py``): the superior
axis is off by the person's deviation from the mean tilt (SD 2-8 deg), the
medio-lateral axis by the frontal/transverse rotation mixed into the flexion axis
(thigh in walking up to 10-15 deg); after step 6 the angles of the shipped networks are
within 0.1-0.9 deg (mean per axis) of those with the true mountings, every joint, walking
and running; about 1 walker in 20, whose pelvic obliquity is out of the usual phase, gets a
reversed pelvis (see :data:`PELVIS_THIGH_PHASE`).

B. With quiet standing (refinement)
-----------------------------------
1. **Vertical (y) from standing.** The first still period of at least
   ``min_still_s`` (small angular rate, steady acceleration) whose mean specific force
   lies within ``max_standing_tilt_deg`` of the gait method's superior axis is taken as
   quiet standing (a seated thigh is still but not upright: sitting first, as in a
   Timed Up and Go, is passed over); the mean accelerometer reading there points along the segment's
   superior axis (a sensor at rest reads +9.81 m/s^2 on its up axis, and in the
   neutral standing pose every segment frame equals the lab frame).
2. **Anterior (x) from the walking direction** (when the recording walks off from
   that standing period; a stop into it does not count, see :func:`travel_direction`):
   the gyroscope is integrated from the standing attitude over the first ``onset_s``
   seconds of motion, the specific force is rotated into that frame, gravity removed,
   and integrated once; the mean horizontal velocity, taken against the heading of the
   moment where the walker turns as it starts, points forward. Rule ``onset``, decisive
   above 0.15 m/s.
   The walking direction is the segment's anterior axis only as far as the person
   stood with the limb turned neither in nor out; the evidence records how far the
   functional flexion axis lies from it (``flexion_axis_vs_travel_deg``). Taking the
   thighs' and shanks' heading from their flexion axes instead (the standing vertical
   kept) was measured on the Kuopio trial (left thigh 23.5 deg apart, the other
   sensors 4-11): left hip adduction 1.52 -> 1.17 deg (cnn; with the optimisation stage
   2.02 -> 1.16) and left knee flexion with the stage 1.31 -> 1.11, but left ankle
   flexion 2.70 -> 2.93 (1.99 -> 2.44) and the six flexion errors' sum unchanged
   (13.63 -> 13.62 deg, cnn); with no standing in the simulator nothing else can judge
   it, so the walking direction stays. Measured on the axes themselves, the gait frame's
   heading for every sensor (the standing vertical kept, the walking start's sign) is nearer
   the Kuopio marker clusters' frames (medio-lateral axes against those of a rotation fitted
   between each sensor's angular rate and its cluster's: mean 5.3 deg against 12.2, nearer
   on 6 of 7 sensors, left thigh 13.3 against 31.7) but farther from gaitmap's feet
   (heel-to-toe line from markers: 5.5 / 6.8 deg against 4.1 / 1.2), and on the Kuopio
   trial the six flexion errors' sum did not fall (cnn 13.56 -> 13.85, with the
   optimisation stage 10.84 -> 11.12; left hip adduction with the stage 2.02 -> 1.11, left
   ankle flexion 1.99 -> 2.82); halfway between the two headings: 7.9 deg, 4.8 / 4.0 deg,
   sums 13.67 and 10.83. Two real recordings disagree, so the walking direction stays. The thighs
   alone from their flexion axes (shanks and feet on the walking direction) left the Kuopio ankles
   as they were and took left hip adduction with the stage 2.00 -> 1.16 deg, hip and knee flexion
   with the stage 1.70 / 1.23 / 1.31 / 1.43 -> 1.68 / 1.15 / 1.27 / 1.27, and the VQF baseline nearer
   the markers on every hip and knee row; but a thigh's gait rotation axis is tilted from its knee's
   by the hip's adduction that goes with flexion (5-10 deg on simulated people, 13 deg on the tests'
   running toy walker, whose walking start is exact), so one person's thighs did not decide it.
3. **Without a walking start** (thigh, shank, foot; e.g. the only standing ends the
   recording) the flexion axis gives z and its sign comes from ``swing_peak`` (thigh)
   or ``mean_tilt`` relative to the standing vertical (shank and foot lean back / point
   down on average). A foot whose strides agree (A.3) takes the direction they travel
   about the standing vertical instead (rule ``zupt``).
4. The standing frame is used when it agrees with the gait frame (superior axes
   within ``refine_max_up_deg``, anterior within ``refine_max_forward_deg``);
   otherwise the gait frame is kept with a warning. For the pelvis the standing
   frame is the neutral-standing (lab-level) one of :mod:`imukin.conventions`; the
   simulator's anatomical pelvis is tilted forward during gait by about 14 deg
   (walking) and 17 deg (running), see :data:`MEAN_FORCE_TILT_DEG`, so the two
   methods differ by that tilt on the pelvis: ``AlignConfig.pelvis_vertical`` chooses.

A manual 3x3 matrix can be given instead (:meth:`SegmentAlignment.from_matrix`).
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.spatial.transform import Rotation

from imukin.conventions import JOINT_TYPES, SEGMENT_TYPES, SIDES, G, check_choice, joint_segments, segment_name
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


#: Stride period (s) searched per activity: fast walking ~0.9 s, self-selected ~1.1 s, slow ~1.5 s and slow,
#: clinical walking (0.3-0.4 m/s, 40-70 steps/min) up to 3 s; running 0.6-0.9 s. With the search ending at 1.7 s,
#: simulated walkers at 0.3-0.6 m/s got periods that were no stride (benchmarks/alignment.py --slow).
STRIDE_RANGE_S = {"walking": (0.8, 3.0), "running": (0.55, 1.0)}
#: Stride period (s) assumed where a bout is too short to find one: self-selected walking (105-115 steps/min)
#: and running (165-170 steps/min).
TYPICAL_STRIDE_S = {"walking": 1.1, "running": 0.72}

#: Expected direction of the mean specific force over whole strides in the segment frame, as
#: (sagittal, frontal) angles in degrees: sagittal = atan2(f_x, f_y) (positive: leans anterior),
#: frontal = atan2(f_z, f_y) for a right segment (a left one has the opposite sign).
#: Computed from the simulator only, never from real recordings: simulated_gait_statistics(activity,
#: n_subjects=16, duration_s=30, seed=9001) with the simulator's mounting error switched off
#: (SensorErrorConfig(mount_sd_deg=0); soft tissue and electronic errors on), 100 Hz, both sides
#: pooled, mean over 3 s windows of whole strides. The SD over windows (person-to-person and
#: stride-to-stride spread: the error to expect on the superior axis) is noted below.
#: SD over windows of (tilt, frontal), deg: walking pelvis (5.2, 1.3), thigh (2.8, 2.3),
#: shank (4.0, 4.3), foot (5.2, 6.0); running pelvis (4.8, 2.3), thigh (3.1, 3.5), shank (9.5, 14.6),
#: foot (10.3, 8.9).
MEAN_FORCE_TILT_DEG = {  # simulated_gait_statistics(activity, 16, 30.0, 9001) on the current simulator
    "walking": {"pelvis": (-15.1, 0.2), "thigh": (3.2, -2.0), "shank": (-15.4, -2.7), "foot": (-16.7, -0.6)},
    "running": {"pelvis": (-17.8, 0.1), "thigh": (14.1, -4.9), "shank": (-40.5, -15.2), "foot": (-19.8, -4.1)},
}

#: Sign features (odd under a 180 deg turn about y) in the true segment frame: (mean, SD) over
#: simulated 3 s windows; computed with MEAN_FORCE_TILT_DEG by simulated_gait_statistics.
#: skew_wz, skew_ax: skewness of gyr_z, acc_x; c_a_b: correlation of a and b; day: d(acc_y)/dt.
SIGN_FEATURES = {
    "walking": {
        "pelvis": {"skew_wz": (0.17, 0.64), "skew_ax": (0.04, 0.61), "c_ax_ay": (-0.04, 0.36),
                   "c_ax_day": (-0.13, 0.28), "c_wz_ay": (0.25, 0.22), "c_wz_day": (-0.07, 0.36)},
        "thigh": {"skew_wz": (0.60, 0.42), "skew_ax": (0.10, 0.61), "c_ax_ay": (0.07, 0.20),
                  "c_ax_day": (0.03, 0.21), "c_wz_ay": (0.17, 0.13), "c_wz_day": (-0.06, 0.10)},
        "shank": {"skew_wz": (1.09, 0.63), "skew_ax": (0.09, 0.76), "c_ax_ay": (0.31, 0.31),
                  "c_ax_day": (-0.04, 0.23), "c_wz_ay": (-0.22, 0.30), "c_wz_day": (0.09, 0.15)},
        "foot": {"skew_wz": (0.24, 0.94), "skew_ax": (-0.96, 1.18), "c_ax_ay": (0.04, 0.25),
                 "c_ax_day": (0.08, 0.35), "c_wz_ay": (0.05, 0.50), "c_wz_day": (-0.08, 0.17)},
    },
    "running": {
        "pelvis": {"skew_wz": (-0.11, 0.23), "skew_ax": (-0.37, 0.39), "c_ax_ay": (-0.72, 0.13),
                   "c_ax_day": (0.03, 0.21), "c_wz_ay": (-0.26, 0.25), "c_wz_day": (0.32, 0.24)},
        "thigh": {"skew_wz": (0.18, 0.21), "skew_ax": (0.81, 0.50), "c_ax_ay": (-0.29, 0.15),
                  "c_ax_day": (-0.09, 0.23), "c_wz_ay": (-0.08, 0.20), "c_wz_day": (0.21, 0.09)},
        "shank": {"skew_wz": (-0.23, 0.28), "skew_ax": (0.83, 0.32), "c_ax_ay": (0.58, 0.15),
                  "c_ax_day": (0.06, 0.17), "c_wz_ay": (-0.43, 0.11), "c_wz_day": (0.22, 0.11)},
        "foot": {"skew_wz": (-0.44, 0.15), "skew_ax": (-0.53, 0.53), "c_ax_ay": (0.07, 0.20),
                 "c_ax_day": (-0.45, 0.21), "c_wz_ay": (-0.31, 0.09), "c_wz_day": (-0.14, 0.13)},
    },
}
SIGN_FEATURE_NAMES = ("skew_wz", "skew_ax", "c_ax_ay", "c_ax_day", "c_wz_ay", "c_wz_day")

#: The simulator's pelvis surge is not a reliable model of real gait: its forward speed follows the
#: inverted pendulum (walking) and the spring-mass dip (running) only on average over steps, through
#: phase warps of the joint-angle templates (imukin.simulation.gait.stride.walk_warp, run_warp), and the
#: no-slip stance of the templates adds within-step wobble of the same size, so the simulated phase of
#: forward against vertical acceleration is mixed (running c_ax_day 0.03 +- 0.21). So the pelvis's
#: features that involve acc_x are not taken from the simulator; the phase of forward against vertical
#: acceleration comes from those models instead (Zijlstra & Hof 2003): with height ~ cos(wt) and forward
#: speed ~ -cos(wt) (walking), E[acc_x d(acc_y)/dt] > 0; running has the opposite sign. Nominal (mean,
#: SD) of the correlation: (+-0.3, 0.2), not fitted.
PELVIS_PHYSICS_FEATURES = {"walking": {"c_ax_day": (0.3, 0.2)}, "running": {"c_ax_day": (-0.3, 0.2)}}
for _act, _table in SIGN_FEATURES.items():
    _table["pelvis"] = {k: v for k, v in _table["pelvis"].items() if "ax" not in k}
    _table["pelvis"].update(PELVIS_PHYSICS_FEATURES[_act])


@dataclass
class AlignConfig:
    """Parameters of the automatic alignment; every field has a default."""

    min_still_s: float = 0.5  # s, shortest still period accepted as standing (real recordings may give 0.7 s)
    still_window_s: float = 0.4  # s, window of the moving statistics that detect stillness
    still_gyr_max: float = 0.2  # rad/s, largest mean |gyr| in a still window
    still_acc_sd_max: float = 0.3  # m/s^2, largest acc standard deviation (norm over axes) in a still window
    walk_window_s: float = 1.0  # s, window of the moving mean |gyr| that detects walking
    walk_gyr_min: float = 0.3  # rad/s, smallest moving mean |gyr| counted as walking (legs): a slow walker's
    # thigh (0.3 m/s, 2.5 s strides) turns at about 0.45 rad/s on average; standing reads below still_gyr_max
    onset_s: float = 3.0  # s of motion integrated by the onset rule (about two strides: lateral sway averages out)
    onset_turn_window_s: float = 1.0  # s, the onset rule follows the walker's turns, averaged over about a stride
    onset_turn_min_deg: float = 20.0  # ... where the heading turns by more than this: twice the sway of straight
    # walking's headings so averaged (up to 10 deg on the Kuopio trial's sensors, 6 on the tests' toy walker)
    use_onset: bool = True  # use the walking direction after standing; False: rotation axis only
    use_standing: bool = True  # refine with a standing period when there is one; False: gait alone
    min_axis_angle_deg: float = 60.0  # the rotation axis must be at least this far from vertical
    min_motion_s: float = 1.0  # s, shortest bout of gait the gait method accepts (about one stride)
    bout_trim_s: float = 1.0  # s dropped at both ends of a bout of gait (starting, stopping) if 3 strides remain
    lowpass_hz: float = 8.0  # Hz, low-pass of the signals the stride period and sign features use
    period_tolerance: float = 0.05  # the stride period is the shortest autocorrelation peak within this of the
    # highest: regular gait correlates nearly as well over two or three strides (simulated runners: 0.94 at one
    # stride, 0.95 at three), and a step's lag is no such peak (the lateral channels change sign: r < 0)
    pelvis_harmonics: int = 4  # harmonics of the stride frequency used for the pelvis's anterior axis
    refine_max_up_deg: float = 25.0  # standing and gait superior axes must agree this well to use standing
    refine_max_forward_deg: float = 45.0  # ... and their anterior axes this well
    max_standing_tilt_deg: float = 45.0  # a still period whose vertical lies farther than this from the gait
    # method's superior axis is not upright standing (a seated thigh: about 70-90 deg; an unusual gait's mean
    # attitude: within about 25) and is not used as standing
    pelvis_vertical: str = "standing"  # pelvis superior axis when standing refines it: "standing" (neutral
    # standing = lab frame, conventions) or "gait" (the simulator's anatomical pelvis tilt during gait)
    min_confidence: float = 0.5  # warn (and sign_confident=False) below this confidence
    max_gait_s: float = 120.0  # s, longest stretch of gait the gait method looks at (the middle of the bout)
    foot_still_gyr_max: float = 1.0  # rad/s, moving mean |gyr| below which a foot is flat on the ground
    foot_still_window_s: float = 0.06  # s, window of that moving mean
    foot_min_still_s: float = 0.1  # s, shortest foot-flat period (mid-swing passes through low rates briefly)
    foot_min_stride_m: float = 0.1  # m, shorter displacements between stances are not strides
    foot_min_consistency: float = 0.8  # the strides' directions must agree this well to decide the foot's sign
    foot_heading: str = "travel"  # a foot's anterior axis about its superior axis where its strides agree:
    # "travel" (the direction its strides travel, as the onset rule with standing) or "axis" (normal to its
    # dominant rotation axis, as without consistent strides)


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
    confidence: float = 1.0  # 0..1: sign decisiveness times axis quality (manual: 1)
    stride_s: float = float("nan")  # stride period found by the gait method

    @classmethod
    def from_matrix(cls, r_mount, segment: str = "unknown") -> SegmentAlignment:
        """A manual alignment from a 3x3 rotation (``v_segment = r_mount @ v_sensor``) of a segment
        given by type or name (``"thigh"``, ``"rthigh"``)."""
        r = np.asarray(r_mount, float)
        if r.shape != (3, 3):
            raise ImukinError(f"an alignment matrix must be 3x3, got shape {r.shape}")
        if np.abs(r @ r.T - np.eye(3)).max() > 1e-3 or np.linalg.det(r) < 0:
            raise ImukinError("the alignment matrix is not a proper rotation (orthonormal, det +1); "
                              "rows must be the segment's x, y, z axes in sensor coordinates")
        r = Rotation.from_matrix(r).as_matrix()  # re-orthonormalise
        seg = segment if segment == "unknown" else _segment_type(segment)
        return cls(segment=seg, r_mount=r, method="manual", sign_rule="manual")

    def apply(self, acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sensor-frame signals (N, 3) -> segment-frame signals (N, 3)."""
        return apply_alignment(acc, gyr, self.r_mount)

    def as_dict(self) -> dict:
        """Plain-type summary for provenance records (the mounting as a matrix and as angles)."""
        rot = Rotation.from_matrix(self.r_mount)
        return {"segment": self.segment, "method": self.method, "r_mount": np.round(self.r_mount, 6).tolist(),
                "euler_zxy_deg": np.round(rot.as_euler("ZXY", degrees=True), 3).tolist(),
                "rotvec_deg": np.round(np.degrees(rot.as_rotvec()), 3).tolist(),
                "angle_deg": round(float(np.degrees(rot.magnitude())), 3), "sign_rule": self.sign_rule,
                "sign_evidence": float(self.sign_evidence), "sign_confident": bool(self.sign_confident),
                "confidence": round(float(self.confidence), 4), "still_frames": list(self.still_frames),
                "axis_angle_deg": float(self.axis_angle_deg), "stride_s": float(self.stride_s)}


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


def standing_period(acc: np.ndarray, gyr: np.ndarray, fs: float, cfg: AlignConfig | None = None,
                    up: np.ndarray | None = None) -> tuple[int, int] | None:
    """The first still period of at least ``cfg.min_still_s``, ``[start, stop)``, or None.

    The first, not the longest: protocols start with quiet standing, and the walking
    right after it gives the forward direction; a final stop may follow a turn.
    With ``up`` (the segment's superior axis in sensor coordinates, (3,), e.g. the gait
    method's), only a still period whose mean specific force lies within
    ``cfg.max_standing_tilt_deg`` of it counts: a seated thigh or a lying body is still
    but not upright, and its vertical is not the segment's.
    """
    cfg = cfg or AlignConfig()
    acc = np.asarray(acc, float)
    for b in bouts(still_mask(acc, gyr, fs, cfg)):
        if b[1] - b[0] >= cfg.min_still_s * fs and (up is None or is_upright(acc[b[0]:b[1]], up, cfg)):
            return b
    return None


def is_upright(acc: np.ndarray, up: np.ndarray, cfg: AlignConfig | None = None) -> bool:
    """Whether a still sensor stands upright: its mean specific force ((N, 3), NaN ignored) within
    ``cfg.max_standing_tilt_deg`` of ``up``, the segment's superior axis in the same coordinates."""
    cfg = cfg or AlignConfig()
    m = np.nanmean(np.asarray(acc, float), axis=0)  # (3,)
    u = np.asarray(up, float)
    cos = float(m @ u) / max(float(np.linalg.norm(m) * np.linalg.norm(u)), 1e-12)
    return bool(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) <= cfg.max_standing_tilt_deg)


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
                     cfg: AlignConfig | None = None, axis: np.ndarray | None = None) -> tuple[np.ndarray, float] | None:
    """Horizontal direction of travel in sensor coordinates from a standing-walking transition.

    Integrates the gyroscope from the attitude at the end of the standing period
    ``still`` (tilt from gravity, heading arbitrary) over ``cfg.onset_s`` seconds,
    rotates the specific force into that frame, removes the gravity measured while
    standing, and integrates once. A walker who turns while starting (more than
    ``cfg.onset_turn_min_deg``) is followed: the velocity is taken against the heading of
    the moment (a limb's: its flexion axis ``axis``, about horizontal; else the turn rate
    about the vertical), averaged over about a stride. Without it a start with a turn of 60
    or 90 deg put every segment's forward direction 53-57 or 80-85 deg off on the tests'
    toy walker; with it, within 3 deg.

    Only a start counts: walking that stops into the standing period is not integrated
    backwards. A stop is no straight walk of known direction: the last steps slow down,
    the feet are brought side by side and the weight shifts after the stop. On the Kuopio
    trial without its first 2.5 s (the one standing left is the final one) the backward
    integration put the pelvis's forward direction 142 deg, the left shank's 30 and the
    left foot's 53 deg from the whole trial's alignment with its walking start, and the
    left ankle's flexion 2.3 deg (mean absolute) from that alignment's; without it they
    are 16, 12 and 12 deg and 0.6 deg (``benchmarks/alignment.py``, part 4).

    Returns
    -------
    (direction, speed) or None
        Unit vector (3,) in the sensor frame at standing (horizontal), and the mean
        horizontal speed in m/s along it (the rule's evidence); None without at least
        ``cfg.onset_s / 2`` of recording after the standing period.
    """
    from imukin.simulation.imu import integrate_gyroscope

    cfg = cfg or AlignConfig()
    acc, gyr = _xyz(acc, "acc"), _xyz(gyr, "gyr")
    n_on = int(round(cfg.onset_s * fs))
    s0, s1 = still
    bias = gyr[s0:s1].mean(axis=0)  # gyroscope bias while standing
    g_meas = np.linalg.norm(acc[s0:s1].mean(axis=0))
    r0 = Rotation.align_vectors([[0.0, 1.0, 0.0]], [up])[0].as_matrix()  # sensor at standing -> level frame
    if s1 + n_on // 2 > len(acc):  # too little after the standing to be a walking start
        return None
    seg = slice(s1 - 1, min(len(acc), s1 - 1 + n_on))  # forward in time from the end of standing
    rot = integrate_gyroscope(gyr[seg] - bias, fs, r0)  # (n, 3, 3) level frame <- sensor
    a_lvl = np.einsum("nij,nj->ni", rot, acc[seg]) - np.array([0.0, g_meas, 0.0])  # (n, 3)
    v = np.cumsum(a_lvl, axis=0) / fs  # (n, 3) velocity since the standing
    # the walker may turn as it starts: the velocity is taken against the heading of the moment (the
    # turn about the vertical since the standing, its sway within each stride averaged out), not the
    # standing's, so the direction found is the segment's forward one either way
    if axis is None:  # the heading from the rate about the vertical (a segment that stays about level)
        psi = np.cumsum(np.einsum("nij,nj->ni", rot, gyr[seg] - bias)[:, 1]) / fs  # (n,) rad
    else:  # the heading of a direction that stays about horizontal (a limb's flexion axis)
        h = np.einsum("nij,j->ni", rot, np.asarray(axis, float))[:, [0, 2]]  # (n, 2) x, z in the level frame
        psi = np.unwrap(np.arctan2(h[0, 1] * h[:, 0] - h[0, 0] * h[:, 1], h[0, 0] * h[:, 0] + h[0, 1] * h[:, 1]))
    psi = uniform_filter1d(psi, max(1, int(round(cfg.onset_turn_window_s * fs))), mode="nearest")
    if np.degrees(np.abs(psi).max()) < cfg.onset_turn_min_deg:  # no turn, only the strides' sway: not followed
        psi = np.zeros_like(psi)
    c, sn = np.cos(psi), np.sin(psi)
    vh = np.stack([c * v[:, 0] - sn * v[:, 2], sn * v[:, 0] + c * v[:, 2]], axis=1).mean(axis=0)  # (2,) x, z
    speed = float(np.linalg.norm(vh))
    d_lvl = np.array([vh[0], 0.0, vh[1]]) / max(speed, 1e-12)
    return r0.T @ d_lvl, speed


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


# ---------------------------------------------------------------- gait method
def _lowpass(x: np.ndarray, fs: float, hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth low-pass along axis 0 (no-op when ``hz`` >= 0.45 fs)."""
    from scipy.signal import butter, sosfiltfilt

    if hz >= 0.45 * fs or len(x) < 16:
        return np.asarray(x, float)
    sos = butter(2, hz / (fs / 2.0), output="sos")
    return sosfiltfilt(sos, x, axis=0, padlen=min(len(x) - 1, 3 * 6))


def stride_period(acc: np.ndarray, gyr: np.ndarray, fs: float, activity: str = "walking",
                  cfg: AlignConfig | None = None, limits: tuple[float, float] | None = None) -> float | None:
    """Stride period (s) of a gait bout from the autocorrelation of all six channels.

    Each channel is low-passed, mean-removed and scaled to unit SD; the normalised
    autocorrelation of the six together is searched for its maximum (the shortest peak
    within ``cfg.period_tolerance`` of it, so not a multiple of the stride) between the
    limits of :data:`STRIDE_RANGE_S` (at least 0.3 s of overlap), or between ``limits`` (s)
    where given. At one step the lateral channels change sign, so the whole vector repeats only
    after a stride.

    Returns
    -------
    float or None
        Seconds; None when the bout is too short for the activity's shortest stride.
    """
    cfg = cfg or AlignConfig()
    check_choice("activity", activity, tuple(STRIDE_RANGE_S))
    x = np.concatenate([_lowpass(acc, fs, cfg.lowpass_hz), _lowpass(gyr, fs, cfg.lowpass_hz)], axis=1)
    x = x - x.mean(axis=0)
    x = x / np.maximum(x.std(axis=0), 1e-9)
    n = len(x)
    lo, hi = limits or STRIDE_RANGE_S[activity]
    lags = np.arange(int(round(lo * fs)), min(int(round(hi * fs)), n - int(round(0.3 * fs))) + 1)
    if len(lags) == 0:
        return None
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x, nfft, axis=0)  # (F, C)
    num = np.fft.irfft((spec * spec.conj()).sum(axis=1), nfft)[lags]  # sum_c sum_t x[t] x[t + k]
    e = np.concatenate([[0.0], np.cumsum((x ** 2).sum(axis=1))])  # (n + 1,) cumulative energy
    den = np.sqrt((e[n - lags] - e[0]) * (e[n] - e[lags]))  # energy of x[:n-k] times that of x[k:]
    r = (num / np.maximum(den, 1e-12)).tolist()
    k = int(np.argmax(r))
    peaks = [j for j in range(1, len(r) - 1) if r[j - 1] <= r[j] >= r[j + 1]]
    near = [j for j in peaks if r[j] >= r[k] - cfg.period_tolerance]
    if near and near[0] < k:  # two or three strides correlate as well as one: the shortest such period is the stride
        k = near[0]
    if 0 < k < len(r) - 1:  # parabolic refinement of the peak
        den = r[k - 1] - 2 * r[k] + r[k + 1]
        off = 0.5 * (r[k - 1] - r[k + 1]) / den if den < 0 else 0.0
        return float((lags[k] + off) / fs)
    return float(lags[k] / fs)


def gait_window(acc: np.ndarray, gyr: np.ndarray, fs: float, segment: str, activity: str = "walking",
                cfg: AlignConfig | None = None, limits: tuple[float, float] | None = None) -> tuple[slice, float]:
    """Frames of whole strides for the gait method: the longest bout of motion (its middle
    ``cfg.max_gait_s`` at most), cut to whole strides (periods searched between ``limits``, s, where
    given; else :data:`STRIDE_RANGE_S`).

    Returns
    -------
    (window, stride_s)
        ``slice`` of frames and the stride period (NaN when it could not be found; the
        whole bout is then used).

    Raises
    ------
    ImukinError
        Less than ``cfg.min_motion_s`` of motion.
    """
    cfg = cfg or AlignConfig()
    seg = _segment_type(segment)
    move = walking_mask(gyr, fs, cfg) if seg != "pelvis" else ~still_mask(acc, gyr, fs, cfg)
    runs = bouts(move)
    if not runs or max(b - a for a, b in runs) < cfg.min_motion_s * fs:
        raise ImukinError(f"less than {cfg.min_motion_s:g} s of continuous {activity} found for the {seg} sensor; "
                          "the alignment needs at least one stride of gait (or pass a manual alignment matrix)")
    a, b = max(runs, key=lambda r: r[1] - r[0])
    trim, span = int(round(cfg.bout_trim_s * fs)), int(round(cfg.max_gait_s * fs))
    whole = stride_period(acc[a:min(b, a + span)], gyr[a:min(b, a + span)], fs, activity, cfg, limits)
    # where three of its strides remain, the bout's start and stop are dropped
    if b - a - 2 * trim >= (whole or TYPICAL_STRIDE_S[activity]) * 3 * fs:
        a, b = a + trim, b - trim
    if b - a > span:  # an hour of walking says no more about a fixed mounting than two minutes of it
        mid = (a + b) // 2
        a, b = mid - span // 2, mid - span // 2 + span
    period = stride_period(acc[a:b], gyr[a:b], fs, activity, cfg, limits)
    if period is None:
        return slice(a, b), float("nan")
    n_stride = period * fs
    k = max(1, int(np.floor((b - a) / n_stride + 1e-6)))
    stop = min(b, a + int(round(k * n_stride)))
    return slice(a, stop), float(period)


def sign_features(acc: np.ndarray, gyr: np.ndarray, fs: float, cfg: AlignConfig | None = None) -> dict:
    """Statistics that change sign when a frame is turned 180 deg about y (segment-frame signals).

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        Segment-frame signals over whole strides (m/s^2, rad/s).
    fs : float
        Hz.
    cfg : AlignConfig, optional

    Returns
    -------
    dict
        :data:`SIGN_FEATURE_NAMES` -> value (skewness or correlation coefficient).
    """
    cfg = cfg or AlignConfig()
    a = _lowpass(acc, fs, cfg.lowpass_hz)
    w = _lowpass(gyr, fs, cfg.lowpass_hz)
    day = np.gradient(a[:, 1]) * fs

    def corr(u, v):
        u, v = u - u.mean(), v - v.mean()
        return float((u * v).mean() / max(np.sqrt((u * u).mean() * (v * v).mean()), 1e-12))

    def skew(u):
        u = u - u.mean()
        return float((u ** 3).mean() / max((u * u).mean() ** 1.5, 1e-12))

    return {"skew_wz": skew(w[:, 2]), "skew_ax": skew(a[:, 0]), "c_ax_ay": corr(a[:, 0], a[:, 1]),
            "c_ax_day": corr(a[:, 0], day), "c_wz_ay": corr(w[:, 2], a[:, 1]), "c_wz_day": corr(w[:, 2], day)}


def sign_log_likelihood(features: dict, segment: str, activity: str = "walking") -> float:
    """Log-likelihood ratio of "this frame" against "turned 180 deg about y" from :data:`SIGN_FEATURES`.

    Each feature is modelled as normal with the simulator's mean ``mu`` and SD ``sd``
    in the right frame and mean ``-mu`` in the turned one, so it adds
    ``2 mu x / sd^2``; the sum is divided by the square root of the feature count,
    since the features are correlated. Positive: the frame is right.
    """
    table = SIGN_FEATURES[activity][_segment_type(segment)]
    terms = [2.0 * mu * features[k] / sd ** 2 for k, (mu, sd) in table.items() if k in features]
    return float(np.sum(terms) / np.sqrt(max(1, len(terms))))


def _harmonic_coefficients(x: np.ndarray, fs: float, freq: float, n_harm: int) -> np.ndarray:
    """Least-squares Fourier coefficients of ``x`` (N, C) at ``k * freq``, k = 1..n_harm: (n_harm, 2, C)."""
    t = np.arange(len(x)) / fs
    cols = [np.ones_like(t)]
    for k in range(1, n_harm + 1):
        cols += [np.cos(2 * np.pi * k * freq * t), np.sin(2 * np.pi * k * freq * t)]
    coef = np.linalg.lstsq(np.stack(cols, axis=1), x, rcond=None)[0]  # (1 + 2K, C)
    return coef[1:].reshape(n_harm, 2, -1)


def pelvis_forward_axis(acc: np.ndarray, gyr: np.ndarray, fs: float, stride_s: float, up: np.ndarray,
                        cfg: AlignConfig | None = None) -> tuple[np.ndarray, float]:
    """The pelvis's anterior-posterior direction (sign arbitrary) in the plane normal to ``up``.

    Gait at the stride frequency f (odd harmonics) sways and tilts the pelvis sideways
    (obliquity, about x; lateral acceleration); at the step frequency 2f (even
    harmonics) it pitches (about z) and surges forward (acceleration along x). The
    direction ``d`` maximising ``d^T S d`` with
    ``S = (G_odd - G_even) / tr G + 0.5 (A_even - A_odd) / tr A`` (power matrices of the
    harmonic coefficients projected on the plane; the acceleration part only over two
    strides or more) is the anterior axis.

    Returns
    -------
    (axis, gap)
        Unit vector (3,) in sensor coordinates, and the eigenvalue gap
        ``(l1 - l2) / (|l1| + |l2|)`` (0: undecided, 1: clear).
    """
    cfg = cfg or AlignConfig()
    e1 = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    e1 /= np.linalg.norm(e1)
    basis = np.stack([e1, np.cross(up, e1)])  # (2, 3) the plane normal to up
    a = _lowpass(acc, fs, cfg.lowpass_hz) @ basis.T  # (N, 2)
    w = _lowpass(gyr, fs, cfg.lowpass_hz) @ basis.T
    K = cfg.pelvis_harmonics
    ca = _harmonic_coefficients(a, fs, 1.0 / stride_s, K).reshape(K, 2, 2)
    cw = _harmonic_coefficients(w, fs, 1.0 / stride_s, K).reshape(K, 2, 2)

    def power(c, odd):
        v = c[0::2] if odd else c[1::2]  # harmonic 1, 3, ... or 2, 4, ...
        v = v.reshape(-1, 2)
        return v.T @ v

    g_odd, g_even, a_odd, a_even = power(cw, True), power(cw, False), power(ca, True), power(ca, False)
    s = (g_odd - g_even) / max(np.trace(g_odd + g_even), 1e-12)
    if len(acc) >= 1.9 * stride_s * fs:  # over a single stride the step harmonics of acc are unreliable
        s = s + 0.5 * (a_even - a_odd) / max(np.trace(a_odd + a_even), 1e-12)
    vals, vecs = np.linalg.eigh(s)
    gap = float((vals[1] - vals[0]) / max(abs(vals[1]) + abs(vals[0]), 1e-12))
    d = vecs[:, 1] @ basis
    return d / np.linalg.norm(d), gap


def _tilt_vector(segment: str, activity: str, side: str | None) -> np.ndarray:
    """Unit expected mean specific force in the segment frame (3,), from :data:`MEAN_FORCE_TILT_DEG`."""
    sag, fro = np.radians(MEAN_FORCE_TILT_DEG[activity][segment])
    fro = fro * (-1.0 if side == "left" else 1.0) if side is not None else 0.0
    v = np.array([np.tan(sag), 1.0, np.tan(fro)])
    return v / np.linalg.norm(v)


def _frame_from_pairs(seg_vecs: np.ndarray, sensor_vecs: np.ndarray) -> np.ndarray:
    """``r_mount`` mapping the first sensor vector exactly, and the second best, onto the segment vectors."""
    a = np.asarray(seg_vecs, float)
    b = np.asarray(sensor_vecs, float)
    r = Rotation.align_vectors(a, b, weights=[np.inf, 1.0])[0]
    return r.as_matrix()


def foot_travel_direction(acc: np.ndarray, gyr: np.ndarray, fs: float, cfg: AlignConfig | None = None
                          ) -> tuple[np.ndarray, float, int, float] | None:
    """Direction of travel of a foot sensor in its own frame at stance, by zero-velocity updates.

    The foot is flat and still once per stride (moving mean of ``|gyr|`` below
    ``cfg.foot_still_gyr_max`` for at least ``cfg.foot_min_still_s``, specific force about
    g); between two such moments the gyroscope is integrated from
    the stance tilt (gravity), the specific force rotated into that level frame, gravity
    removed and integrated to a velocity that is zero at both ends (linear drift removed),
    then to the stride's displacement (Skog et al. 2010; the gaitmap pipeline's stride
    length). Its horizontal direction, in the sensor frame at the first stance, points
    along the foot's anterior axis whatever the mounting.

    Returns
    -------
    (direction, consistency, n_strides, mean_stride_m) or None
        Unit vector (3,) in the sensor frame; the length of the mean of the strides' unit
        vectors (1 = all strides agree); None without two stances a stride apart.
    """
    from imukin.simulation.imu import integrate_gyroscope

    cfg = cfg or AlignConfig()
    w = max(3, int(round(cfg.foot_still_window_s * fs)))
    still = uniform_filter1d(np.linalg.norm(gyr, axis=1), w, mode="nearest") < cfg.foot_still_gyr_max
    runs = [(a, b) for a, b in bouts(still) if b - a >= cfg.foot_min_still_s * fs  # foot flat, not mid-swing
            and abs(float(np.linalg.norm(acc[a:b].mean(axis=0))) - G) < 0.1 * G]
    dirs, lengths = [], []
    for (s0, e0), (s1, e1) in zip(runs[:-1], runs[1:]):
        i0, i1 = (s0 + e0) // 2, (s1 + e1) // 2
        if not 0.3 * fs <= i1 - i0 <= 2.5 * fs:
            continue
        m = acc[s0:e0].mean(axis=0)
        g = float(np.linalg.norm(m))
        r0 = Rotation.align_vectors([[0.0, 1.0, 0.0]], [m / g])[0].as_matrix()  # level frame <- sensor at stance
        rot = integrate_gyroscope(gyr[i0:i1 + 1], fs, r0)  # (L, 3, 3)
        a_lvl = np.einsum("nij,nj->ni", rot, acc[i0:i1 + 1]) - np.array([0.0, g, 0.0])  # (L, 3)
        v = np.cumsum(a_lvl, axis=0) / fs
        v -= np.linspace(0.0, 1.0, len(v))[:, None] * v[-1]  # zero velocity at both stances
        d = v.sum(axis=0) / fs
        d_h = np.array([d[0], 0.0, d[2]])
        length = float(np.linalg.norm(d_h))
        if length < cfg.foot_min_stride_m:
            continue
        dirs.append(r0.T @ (d_h / length))
        lengths.append(length)
    if not dirs:
        return None
    mean = np.mean(dirs, axis=0)
    consistency = float(np.linalg.norm(mean))
    return mean / max(consistency, 1e-12), consistency, len(dirs), float(np.mean(lengths))


def align_from_gait(acc: np.ndarray, gyr: np.ndarray, fs: float, segment: str, activity: str = "walking",
                    cfg: AlignConfig | None = None) -> SegmentAlignment:
    """Find a sensor's mounting from walking or running alone (method A of the module notes).

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        Sensor-frame signals, m/s^2 and rad/s, containing at least one stride.
    fs : float
        Hz.
    segment : str
        Segment type or name (``"pelvis"``, ``"thigh"``, ``"rshank"``, ``"lfoot"``...);
        a side prefix also applies the frontal part of :data:`MEAN_FORCE_TILT_DEG`.
    activity : {"walking", "running"}
    cfg : AlignConfig, optional

    Returns
    -------
    SegmentAlignment
        ``sign_rule="gait"``, ``sign_evidence`` the log-likelihood ratio, ``confidence``.
    """
    cfg = cfg or AlignConfig()
    check_choice("activity", activity, tuple(MEAN_FORCE_TILT_DEG))
    check_choice("foot_heading", cfg.foot_heading, ("travel", "axis"))
    seg, side = _segment_type(segment), _segment_side(segment)
    acc, gyr = _xyz(acc, "acc"), _xyz(gyr, "gyr")
    win, stride_s = gait_window(acc, gyr, fs, seg, activity, cfg)
    a, w = acc[win], gyr[win]
    m = a.mean(axis=0)
    g = np.linalg.norm(m)
    if not 0.5 * G < g < 4.0 * G:  # centripetal force adds to gravity on average (swinging feet)
        raise ImukinError(f"the mean specific force of the {seg} sensor over whole strides is {g:.2f} m/s^2, "
                          f"not about {G}; check the accelerometer units")
    up_s = m / g
    u_seg = _tilt_vector(seg, activity, side)
    evidence: dict[str, float] = {"stride_s": stride_s}
    if seg == "pelvis":
        period = stride_s if np.isfinite(stride_s) else TYPICAL_STRIDE_S[activity]
        ax2, gap = pelvis_forward_axis(a, w, fs, period, up_s, cfg)
        pair = np.array([1.0, 0.0, 0.0])  # the second axis is anterior
        axis_angle = float("nan")
    else:
        vals, vecs = np.linalg.eigh(w.T @ w / len(w))
        axis_angle = float(np.degrees(np.arccos(min(1.0, abs(float(np.dot(vecs[:, -1], up_s)))))))
        # rotation about the long axis (turns, internal rotation) is no flexion: use the rate normal to it
        w_h = w - np.outer(w @ up_s, up_s)
        vals, vecs = np.linalg.eigh(w_h.T @ w_h / len(w))
        ax2 = vecs[:, -1]
        gap = float((vals[2] - vals[1]) / max(vals[2] + vals[1], 1e-12))
        pair = np.array([0.0, 0.0, 1.0])  # the second axis is medio-lateral
    frames, llr = [], []
    for sgn in (1.0, -1.0):
        fr = _frame_from_pairs(np.stack([u_seg, pair]), np.stack([up_s, sgn * ax2]))
        frames.append(fr)
        a_seg, w_seg = apply_alignment(a, w, fr)
        llr.append(sign_log_likelihood(sign_features(a_seg, w_seg, fs, cfg), seg, activity))
    score = 0.5 * (llr[0] - llr[1])  # both frames scored; they are nearly negatives of each other
    pick = 0 if score >= 0 else 1  # index of the chosen frame
    frame = frames[pick]
    rule = "gait"
    a_seg, w_seg = apply_alignment(a, w, frame)
    evidence.update(sign_features(a_seg, w_seg, fs, cfg))
    evidence["axis_gap"] = gap
    conf = float(np.tanh(abs(score) / 2.0) * min(1.0, 2.0 * max(gap, 0.0)))
    travel = foot_travel_direction(a, w, fs, cfg) if seg == "foot" else None
    if travel is not None:  # the foot's own travel decides its sign where the strides agree
        direction, consistency, n_strides, stride_m = travel
        evidence.update({"zupt_consistency": consistency, "zupt_strides": float(n_strides), "zupt_stride_m": stride_m})
        if consistency >= cfg.foot_min_consistency:
            along = float(direction @ frame[0])
            evidence["zupt_along_anterior"] = along
            if along < 0:  # the other sign of the second axis (x and z turn over, the mean force stays put)
                frame = frames[1 - pick]
            rule = "gait+zupt"
            if cfg.foot_heading == "travel":  # the anterior axis along the travel, about the mean force
                along_travel = _frame_from_pairs(np.stack([u_seg, np.array([1.0, 0.0, 0.0])]),
                                                 np.stack([up_s, direction]))
                evidence["travel_vs_axis_deg"] = float(np.degrees(Rotation.from_matrix(
                    along_travel @ frame.T).magnitude()))
                frame = along_travel
            conf = float(consistency * min(1.0, 2.0 * max(gap, 0.0)) * min(1.0, 0.5 + 0.25 * n_strides))
    return SegmentAlignment(segment=seg, r_mount=frame, method="auto", sign_rule=rule,
                            sign_evidence=float(abs(score)), sign_confident=conf >= cfg.min_confidence,
                            still_frames=(0, 0), axis_angle_deg=axis_angle, evidence=evidence,
                            confidence=conf, stride_s=stride_s)


# ---------------------------------------------------------------- standing method
def align_from_standing(acc: np.ndarray, gyr: np.ndarray, fs: float, segment: str, still: tuple[int, int],
                        cfg: AlignConfig | None = None,
                        gait: SegmentAlignment | None = None) -> SegmentAlignment | None:
    """Today's standing method (B of the module notes): vertical from standing, forward from the onset.

    ``gait`` (the gait method's alignment of the same signals, optional) gives a foot without a
    walking start its forward direction where its strides agree (rule ``zupt``, B.3).
    Returns None when it cannot decide (the pelvis without a decisive walking start).
    """
    cfg = cfg or AlignConfig()
    seg = _segment_type(segment)
    acc, gyr = _xyz(acc, "acc"), _xyz(gyr, "gyr")
    up = vertical_axis(acc, still)
    walk = walking_mask(gyr, fs, cfg) if seg != "pelvis" else ~still_mask(acc, gyr, fs, cfg)
    if walk.sum() < fs:
        return None
    evidence: dict[str, float] = {}
    ml = rotation_axis(gyr, walk) if seg != "pelvis" else None  # a limb's flexion axis
    travel = travel_direction(acc, gyr, fs, still, up, cfg, axis=ml) if cfg.use_onset else None
    if travel is not None:
        evidence["onset_speed_m_s"] = travel[1]
    axis_angle = float("nan")
    if travel is not None and travel[1] >= DECISIVE["onset"]:
        frame = _frame_from_up_ap(up, travel[0])
        rule, ev, confident = "onset", travel[1], True
        conf = float(np.tanh(travel[1] / DECISIVE["onset"]))
        if seg != "pelvis":  # how far the functional flexion axis is from the travel-based one
            axis_angle = float(np.degrees(np.arccos(min(1.0, abs(float(np.dot(ml, up)))))))
            ml_h = ml - np.dot(ml, up) * up
            evidence["flexion_axis_vs_travel_deg"] = float(np.degrees(np.arccos(
                min(1.0, abs(float(np.dot(ml_h / np.linalg.norm(ml_h), frame[2])))))))
    elif seg == "pelvis":
        return None
    elif (seg == "foot" and gait is not None and gait.sign_rule == "gait+zupt"
          and cfg.foot_heading == "travel"):  # the way the foot's strides travel, about the standing vertical
        frame = _frame_from_up_ap(up, gait.r_mount[0])
        rule, ev, confident, conf = "zupt", gait.sign_evidence, gait.sign_confident, gait.confidence
    else:
        axis_angle = float(np.degrees(np.arccos(min(1.0, abs(float(np.dot(ml, up)))))))
        if axis_angle < cfg.min_axis_angle_deg:
            return None
        frame = _frame_from_up_ml(up, ml)  # sign still arbitrary
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
        conf = float(np.tanh(ev / DECISIVE[rule]))
    return SegmentAlignment(segment=seg, r_mount=frame, method="auto", sign_rule=rule, sign_evidence=float(ev),
                            sign_confident=bool(confident), still_frames=(int(still[0]), int(still[1])),
                            axis_angle_deg=axis_angle, evidence=evidence, confidence=conf)


# ---------------------------------------------------------------- main entry
def align_segment(acc: np.ndarray, gyr: np.ndarray, fs: float, segment: str,
                  still: tuple[int, int] | None = None, cfg: AlignConfig | None = None,
                  activity: str = "walking") -> SegmentAlignment:
    """Find a sensor's mounting on a segment from walking or running, refined by standing if present.

    The gait method (A in the module notes) always runs; when the recording also holds
    quiet standing (``still``, or the first one detected) the standing method (B) runs
    too, and its frame is used if the two agree (``cfg.refine_max_up_deg``,
    ``cfg.refine_max_forward_deg``). Pelvis: see ``cfg.pelvis_vertical``.

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        Sensor-frame signals, m/s^2 and rad/s, with at least one stride of gait.
    fs : float
        Hz.
    segment : str
        Segment type (``"pelvis"``, ``"thigh"``, ``"shank"``, ``"foot"``) or name
        (``"rthigh"``...; the side only refines the expected frontal tilt, since every
        segment frame has z to the subject's right).
    still : (int, int), optional
        ``[start, stop)`` frames of quiet standing; default: detected (none is fine).
    cfg : AlignConfig, optional
    activity : {"walking", "running"}
        What the recording shows; selects the simulator's expected mean tilts and sign statistics.

    Returns
    -------
    SegmentAlignment
        ``r_mount`` with ``v_segment = r_mount @ v_sensor``, how it was found, and a
        ``confidence`` in 0..1.

    Raises
    ------
    ImukinError
        Less than about one stride of gait, wrong units, or a rotation axis too close to vertical.
    """
    cfg = cfg or AlignConfig()
    check_choice("pelvis_vertical", cfg.pelvis_vertical, ("standing", "gait"))
    seg = _segment_type(segment)
    acc, gyr = _xyz(acc, "acc"), _xyz(gyr, "gyr")
    if len(acc) != len(gyr):
        raise ImukinError(f"acc and gyr differ in length ({len(acc)} vs {len(gyr)}); pass synchronised signals")
    gait = align_from_gait(acc, gyr, fs, segment, activity, cfg)
    result = gait
    if still is None and cfg.use_standing:
        still = standing_period(acc, gyr, fs, cfg, up=gait.r_mount[1])
    stand = align_from_standing(acc, gyr, fs, seg, still, cfg, gait) if still is not None and cfg.use_standing else None
    if stand is not None:
        err = angle_errors_deg(stand.r_mount, gait.r_mount)
        gait.evidence.update(gait_vs_standing_up_deg=float(err[1]), gait_vs_standing_forward_deg=float(err[0]))
        if err[1] <= cfg.refine_max_up_deg and err[0] <= cfg.refine_max_forward_deg:
            stand.evidence.update({f"gait_{k}": v for k, v in gait.evidence.items()})
            stand.confidence = float(1.0 - (1.0 - stand.confidence) * (1.0 - gait.confidence))
            stand.sign_confident = stand.sign_confident or gait.sign_confident
            stand.stride_s = gait.stride_s
            if seg == "pelvis" and cfg.pelvis_vertical == "gait":  # keep the gait tilt, take the heading
                up_g = gait.r_mount[1]
                stand.r_mount = _frame_from_up_ap(up_g, stand.r_mount[0])
            result = stand
        else:  # they disagree: a decisive walking start (a measured travel direction) wins, else confidence
            use_stand = stand.sign_rule == "onset" or stand.confidence > gait.confidence
            warnings.warn(f"the {seg} sensor's standing-based alignment disagrees with the gait-based one "
                          f"(superior axes {err[1]:.0f} deg, anterior {err[0]:.0f} deg apart); using the "
                          f"{'standing' if use_stand else 'gait'} one (confidence {stand.confidence:.2f} vs "
                          f"{gait.confidence:.2f})", stacklevel=2)
            if use_stand:
                stand.evidence.update({f"gait_{k}": v for k, v in gait.evidence.items()})
                stand.confidence *= 1.0 - gait.confidence  # contradicted evidence lowers it
                stand.stride_s = gait.stride_s
                result = stand
            else:
                gait.confidence *= 1.0 - stand.confidence
                gait.still_frames = (int(still[0]), int(still[1]))
    if not result.sign_confident or result.confidence < cfg.min_confidence:
        result.sign_confident = False
        warnings.warn(f"the {seg} sensor's alignment is uncertain (rule {result.sign_rule}, confidence "
                      f"{result.confidence:.2f}); check the aligned signals or pass a manual alignment matrix",
                      stacklevel=2)
    return result


def align_leg(acc1: np.ndarray, gyr1: np.ndarray, acc2: np.ndarray, gyr2: np.ndarray, fs: float, side: str,
              joint: str = "knee", manual: dict | None = None, cfg: AlignConfig | None = None,
              activity: str = "walking") -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], dict]:
    """Align a joint's two sensors (proximal then distal) to their segment frames, agreeing along the leg.

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
    activity : {"walking", "running"}

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
    info = {}
    for key, (acc, gyr), name in zip(("seg1", "seg2"), ((acc1, gyr1), (acc2, gyr2)), names):
        if key in manual:
            info[key] = SegmentAlignment.from_matrix(manual[key], name)
        else:
            info[key] = align_segment(acc, gyr, fs, name, cfg=cfg, activity=activity)
    for note in leg_signs(dict(zip(names, (info["seg1"], info["seg2"]))),  # the two agree along the leg
                          {names[0]: _xyz(gyr1, "gyr"), names[1]: _xyz(gyr2, "gyr")}, fs, activity, cfg):
        warnings.warn(note, stacklevel=2)
    out = [*info["seg1"].apply(acc1, gyr1), *info["seg2"].apply(acc2, gyr2)]
    info["summary"] = {names[0]: info["seg1"].as_dict(), names[1]: info["seg2"].as_dict()}
    return tuple(out), info


# ---------------------------------------------------------------- neighbours along the leg
#: How the medio-lateral angular rates (gyr_z in the segment frames, low-passed at
#: AlignConfig.lowpass_hz) of neighbouring leg segments go together over whole strides, (mean, SD)
#: over simulated 3 s windows, computed by simulated_gait_statistics with the tables above:
#: - ("shank", "foot"): their correlation (the foot swings with the shank); key "c_wz_shank" of the foot;
#: - ("thigh", "shank"): the larger positive than negative peak of their cross-correlation within
#:   +-0.3 s (max + min; the shank's swing follows the thigh's by about 0.14 s in walking); key
#:   "cc_wz_shank" of the thigh. Running has no such pattern (-0.03 +- 0.11), so no entry.
#: Both statistics change sign when one of the two sensors has its medio-lateral (and so its
#: anterior) axis the wrong way round.
LEG_PAIR_STATS = {
    ("shank", "foot"): {"walking": (0.87, 0.05), "running": (0.68, 0.06)},
    ("thigh", "shank"): {"walking": (0.40, 0.18)},
}
LEG_PAIR_MIN = {("shank", "foot"): 0.2, ("thigh", "shank"): 0.1}  # |statistic| below which a pair decides
#   nothing: shank-foot below every simulated window's (0.29 running, 0.45 walking, 1.5 s windows), thigh-shank
#   1.7 SD below its mean (a few short windows fall below it and then decide nothing); both far from the
#   turned-over means (-0.87, -0.68, -0.40)
_PAIR_MAX_LAG_S = 0.3  # s, lags of the thigh-shank cross-correlation


def _pair_statistic(pair: tuple[str, str], gyr_a: np.ndarray, gyr_b: np.ndarray, fs: float,
                    cfg: AlignConfig) -> float:
    """:data:`LEG_PAIR_STATS`'s statistic of two segment-frame gyroscopes (N, 3) each (0 if undefined)."""
    a = _lowpass(gyr_a[:, 2], fs, cfg.lowpass_hz)
    b = _lowpass(gyr_b[:, 2], fs, cfg.lowpass_hz)
    sa, sb = float(np.std(a)), float(np.std(b))
    if sa < 1e-9 or sb < 1e-9:
        return 0.0
    a, b = (a - a.mean()) / sa, (b - b.mean()) / sb  # (N,) each
    if pair == ("shank", "foot"):
        return float(np.mean(a * b))
    lag = int(round(_PAIR_MAX_LAG_S * fs))
    if len(a) < 4 * lag:
        return 0.0
    cc = np.array([np.mean(a[lag:len(a) - lag] * b[lag + k:len(b) - lag + k]) for k in range(-lag, lag + 1)])
    return float(cc.max() + cc.min())


#: The two legs: the left leg's medio-lateral rate (gyr_z) against the right's, same segment, phase at the
#: stride frequency, degrees, (circular mean, circular SD) over simulated 3 s windows, computed by
#: simulated_gait_statistics with the tables above (key "ph_wz_left" of each segment type): the legs
#: alternate half a stride apart, and turning either sensor's medio-lateral axis over moves the phase by
#: 180 deg. Thigh, shank, foot:
LEFT_RIGHT_PHASE = {"walking": {"thigh": (-179.5, 18.3), "shank": (179.0, 20.6), "foot": (179.8, 16.4)},
                    "running": {"thigh": (179.7, 2.6), "shank": (179.4, 3.6), "foot": (179.3, 3.0)}}
LEFT_RIGHT_MIN = 0.5  # |cos(phase - 180 deg)| below which the two legs decide nothing (60 deg from either:
#   about 3 circular SDs of the simulated walking windows, 20 of the running ones)
#: The pelvis against the thighs: the pelvis's obliquity rate (gyr_x, about its anterior axis) against a
#: thigh's flexion rate (gyr_z; a left thigh's negated, so that both legs give the same phase), phase at
#: the stride frequency, degrees, (circular mean, circular SD) as above (key "ph_wx_thigh" of the pelvis).
#: The pelvis drops on the swinging leg's side in a fixed phase with that leg's swing (a joint-angle pattern
#: of gait, not of the simulated pelvis's translation); turning the pelvis's (or a thigh's) anterior axis
#: over moves the phase by 180 deg. About 1 simulated walker in 20 has its obliquity out of that phase (a
#: small obliquity swing outweighed by the person's own deviation); the normative spread implies a few per
#: cent of people too (Schwartz et al. 2008, free speed: obliquity 3.9 +- 2.1 deg at 12-18 % of the cycle).
#: Such a person's pelvis is turned the wrong way, and confidently: the rule's known failure.
PELVIS_THIGH_PHASE = {"walking": (117.5, 34.4), "running": (91.9, 18.5)}
PELVIS_THIGH_MIN = 0.3  # |cos(phase - mean)| below which the pelvis-thigh phase decides nothing (72.5 deg
#   from either the expected phase or its turned-over opposite: about 2 circular SDs in walking)
MIN_PHASE_STRIDES = 2.0  # strides of signal the left-right statistic needs (over one, the stride period and
#   the phase at its frequency are too loosely defined: one-stride pieces of simulated walkers turned thighs wrong)
MIN_PELVIS_STRIDES = 1.0  # ... and the pelvis-thigh one, which only ever turns the pelvis (whose gait features
#   are the least sure): on simulated 1.5 s pieces its axes came nearer the truth with one stride than with two
#   (walking x/z 70.6/78.1 -> 51.8/56.0 deg mean, running 10.3/9.1 -> 5.7/3.6)


def _stride_phase(x: np.ndarray, y: np.ndarray, fs: float, stride_s: float, cfg: AlignConfig
                  ) -> tuple[complex, float]:
    """Phase of ``x`` relative to ``y`` (both (N,), low-passed at ``cfg.lowpass_hz`` first) at the stride
    frequency, over windows of four strides: ``(sum of c_x conj(c_y), sum of |c_x| |c_y|)`` over the
    windows, ``c`` each window's Fourier coefficient at 1 / stride_s."""
    x, y = _lowpass(x, fs, cfg.lowpass_hz), _lowpass(y, fs, cfg.lowpass_hz)
    n_win = min(len(x), max(int(round(4.0 * stride_s * fs)), 1))
    e = np.exp(-2j * np.pi * np.arange(n_win) / (stride_s * fs))  # (n_win,)
    num, den = 0j, 0.0
    for start in range(0, len(x) - n_win + 1, n_win):
        cx = complex(np.dot(x[start:start + n_win] - x[start:start + n_win].mean(), e))
        cy = complex(np.dot(y[start:start + n_win] - y[start:start + n_win].mean(), e))
        num += cx * cy.conjugate()
        den += abs(cx) * abs(cy)
    return num, den


def pelvis_thigh_statistic(gyr_pelvis: np.ndarray, gyr_thigh: np.ndarray, fs: float, stride_s: float, side: str,
                           activity: str = "walking", cfg: AlignConfig | None = None) -> float:
    """``cos`` of the pelvis-thigh phase's distance from :data:`PELVIS_THIGH_PHASE` (0 if undefined).

    Parameters
    ----------
    gyr_pelvis, gyr_thigh : ndarray, shape (N, 3)
        Segment-frame gyroscopes (rad/s), synchronised.
    fs, stride_s : float
        Hz, and the stride period in s.
    side : {"right", "left"}
        The thigh's side.

    Returns
    -------
    float
        In [-1, 1], weighted by the windows' amplitudes: near +1 when both sensors' anterior axes agree,
        near -1 when one of them is the wrong way round.
    """
    cfg = cfg or AlignConfig()
    if activity not in PELVIS_THIGH_PHASE or not (np.isfinite(stride_s) and stride_s > 0):
        return 0.0
    if len(gyr_pelvis) < MIN_PELVIS_STRIDES * stride_s * fs:
        return 0.0
    num, den = _stride_phase(gyr_pelvis[:, 0], gyr_thigh[:, 2] * (-1.0 if side == "left" else 1.0), fs, stride_s,
                             cfg)
    if den < 1e-12:
        return 0.0
    return float((num * np.exp(-1j * np.radians(PELVIS_THIGH_PHASE[activity][0]))).real / den)


def _pelvis_sign(alignments: dict, gyr: dict, fs: float, activity: str, cfg: AlignConfig) -> list[str]:
    """Turn the pelvis over where its obliquity is out of phase with the thighs' swing; notes as leg_signs."""
    pel = alignments.get("pelvis")
    if activity not in PELVIS_THIGH_PHASE or pel is None or "pelvis" not in gyr or pel.method != "auto":
        return []
    thighs = [(s, side) for s, side in ((segment_name("thigh", side), side) for side in SIDES)
              if s in alignments and s in gyr]
    stride_s = pel.stride_s if np.isfinite(pel.stride_s) else next(
        (alignments[s].stride_s for s, _ in thighs if np.isfinite(alignments[s].stride_s)), float("nan"))
    stats = [pelvis_thigh_statistic(gyr["pelvis"] @ pel.r_mount.T, gyr[s] @ alignments[s].r_mount.T, fs, stride_s,
                                    side, activity, cfg) for s, side in thighs]
    if not stats:
        return []
    c = float(np.mean(stats))
    pel.evidence["pelvis_thigh_phase"] = c
    if abs(c) < PELVIS_THIGH_MIN:
        return []
    conf = min(alignments[s].confidence for s, _ in thighs)  # the thighs' sign carries over
    names = " and ".join(s for s, _ in thighs)
    if c < 0:
        if pel.sign_rule != "gait" or conf < pel.confidence:  # a walking start, or surer than the thighs: said
            return [f"pelvis: its obliquity is out of phase with the {names} swing for its {pel.sign_rule} sign "
                    f"(confidence {pel.confidence:.2f}); check it or pass --mounting"]
        old = pel.confidence
        pel.r_mount = flip_gait_sign(pel, activity)
        pel.evidence["pelvis_thigh_phase"] = -c
        note = (f"pelvis: turned over to agree with the {names} (its obliquity against their swing; the gait "
                f"features had given confidence {old:.2f})")
    elif pel.confidence < cfg.min_confidence and conf >= cfg.min_confidence:
        note = f"pelvis: sign confirmed by the {names} swing; confidence {pel.confidence:.2f} -> {conf:.2f}"
    else:
        return []
    if not pel.sign_rule.endswith("+legs"):
        pel.sign_rule = f"{pel.sign_rule}+legs"
    pel.confidence = conf  # turned over, or confirmed from below the warning level: the thighs' confidence
    pel.sign_confident = pel.confidence >= cfg.min_confidence
    return [note]


def flip_gait_sign(al: SegmentAlignment, activity: str = "walking", side: str | None = None) -> np.ndarray:
    """The other sign of a gait-based frame: a half turn about the measured mean specific force.

    The mean force stays on its expected segment-frame direction (:func:`_tilt_vector`) and the
    second axis (medio-lateral, or the pelvis's anterior) turns over, exactly the other candidate
    frame of :func:`align_from_gait`. Returns the new ``r_mount`` (3, 3).
    """
    up_s = al.r_mount.T @ _tilt_vector(al.segment, activity, side)  # (3,) sensor frame
    return al.r_mount @ Rotation.from_rotvec(np.pi * up_s).as_matrix()


def left_right_statistic(gyr_right: np.ndarray, gyr_left: np.ndarray, fs: float, stride_s: float,
                         cfg: AlignConfig | None = None) -> float:
    """How far the two legs' medio-lateral rates (gyr_z, segment frames, (N, 3) each) are half a stride apart.

    ``cos(phase - 180 deg)`` of the left rate against the right at the stride frequency, weighted by the
    windows' amplitudes (:func:`_stride_phase`): near +1 when both sensors' medio-lateral axes agree (the legs
    alternate), near -1 when one of them is the wrong way round; 0 when undefined.
    """
    cfg = cfg or AlignConfig()
    if not (np.isfinite(stride_s) and stride_s > 0) or len(gyr_right) < MIN_PHASE_STRIDES * stride_s * fs:
        return 0.0
    num, den = _stride_phase(gyr_left[:, 2], gyr_right[:, 2], fs, stride_s, cfg)
    return float(-num.real / den) if den > 1e-12 else 0.0


def leg_signs(alignments: dict, gyr: dict, fs: float, activity: str = "walking",
              cfg: AlignConfig | None = None) -> list[str]:
    """Make the legs' thighs, shanks and feet agree on which way their medio-lateral axes point.

    Pairs of sensors aligned automatically are compared: neighbours along a leg by a statistic of
    :data:`LEG_PAIR_STATS`, the same segment of the two legs by :func:`left_right_statistic` (the legs
    alternate, half a stride apart: :data:`LEFT_RIGHT_PHASE`). Above the pair's threshold
    (``LEG_PAIR_MIN``, ``LEFT_RIGHT_MIN``) the two agree, below its negative they disagree (one is
    the wrong way round), in between the pair says nothing. Of the ways to turn over sensors whose
    sign came from the gait features alone (``sign_rule == "gait"``) that satisfy every deciding pair,
    the one turning over the least confidence is taken (:func:`flip_gait_sign`). Sensors tied by
    deciding pairs then take the confidence of the most confident one left as it was. Then a
    pelvis whose sign came from the gait features alone is turned over where its obliquity is
    out of phase with the thighs' swing and the thighs are at least as sure
    (:data:`PELVIS_THIGH_PHASE`, :func:`pelvis_thigh_statistic`; rule suffix ``+legs``); a pelvis
    signed otherwise only gets a note. Changes ``alignments`` in place.

    Parameters
    ----------
    alignments : dict of str -> SegmentAlignment
        By segment name (``"rthigh"``, ``"rshank"``, ``"rfoot"``, ``"pelvis"``, ...).
    gyr : dict of str -> ndarray, shape (N, 3)
        The same sensors' gyroscopes in their sensor frames, rad/s, synchronised.
    fs : float
        Hz.
    activity : {"walking", "running"}
    cfg : AlignConfig, optional

    Returns
    -------
    list of str
        One note per sensor whose sign or confidence changed (or for sensors whose pairs cannot
        be satisfied), prefixed with the segment name.
    """
    cfg = cfg or AlignConfig()
    names = [p + s for p in "rl" for s in ("thigh", "shank", "foot")
             if p + s in alignments and p + s in gyr and alignments[p + s].method == "auto"]
    index = {n: i for i, n in enumerate(names)}
    als = [alignments[n] for n in names]
    seg_gyr = {n: gyr[n] @ alignments[n].r_mount.T for n in names}  # (N, 3) each, segment frames
    decide, keys = {}, {}  # (i, j) -> +1 agree / -1 disagree; (i, j) -> evidence key
    for p in "rl":
        for a, b in (("thigh", "shank"), ("shank", "foot")):
            if p + a not in index or p + b not in index or activity not in LEG_PAIR_STATS.get((a, b), {}):
                continue
            c = _pair_statistic((a, b), seg_gyr[p + a], seg_gyr[p + b], fs, cfg)
            ij = (index[p + a], index[p + b])
            keys[ij] = f"{a}_{b}_rates"
            if abs(c) >= LEG_PAIR_MIN[(a, b)]:
                decide[ij] = 1 if c > 0 else -1
            for k in ij:
                als[k].evidence[keys[ij]] = c
    for seg in ("thigh", "shank", "foot"):
        right, left = segment_name(seg, "right"), segment_name(seg, "left")
        if right not in index or left not in index:
            continue
        strides = [al.stride_s for al in (alignments[right], alignments[left]) if np.isfinite(al.stride_s)]
        c = left_right_statistic(seg_gyr[right], seg_gyr[left], fs,
                                 float(np.mean(strides)) if strides else float("nan"), cfg)
        ij = (index[right], index[left])
        keys[ij] = "left_right_rates"
        if abs(c) >= LEFT_RIGHT_MIN:
            decide[ij] = 1 if c > 0 else -1
        for k in ij:
            als[k].evidence[keys[ij]] = c
    notes = []
    if decide:
        best = None
        for flips in itertools.product((0, 1), repeat=len(names)):
            if any(f and al.sign_rule != "gait" for f, al in zip(flips, als)):
                continue
            if all(d * (1 - 2 * (flips[i] ^ flips[j])) > 0 for (i, j), d in decide.items()):
                cost = sum(al.confidence for f, al in zip(flips, als) if f)
                best = (cost, flips) if best is None or cost < best[0] else best
        if best is None:
            notes.append(f"{names[0]}: the signs of the {', '.join(names)} sensors disagree and cannot all be "
                         "made to agree (signs from a walking start or the feet's travel); check them or pass "
                         "--mounting")
        else:
            notes += _settle_signs(names, als, decide, keys, best[1], activity, cfg)
    return notes + _pelvis_sign(alignments, gyr, fs, activity, cfg)


def _settle_signs(names: list, als: list, decide: dict, keys: dict, flips: tuple, activity: str,
                  cfg: AlignConfig) -> list[str]:
    """Turn over the ``flips`` of :func:`leg_signs` and share confidence within the groups its deciding pairs tie."""
    for i, j in decide:  # a turned sensor's pair statistics change sign with it: all agree now
        for k in (i, j):
            als[k].evidence[keys[(i, j)]] = abs(als[k].evidence[keys[(i, j)]])
    group = list(range(len(names)))  # union-find over the deciding pairs

    def root(k):
        while group[k] != k:
            k = group[k]
        return k

    for i, j in decide:
        group[root(i)] = root(j)
    notes = []
    for members in ({r: [k for k in range(len(names)) if root(k) == r] for r in map(root, range(len(names)))}
                    .values()):
        if len(members) < 2:
            continue
        # the most confident sensor kept as it is (the cheapest turn never turns a whole group)
        top = max((k for k in members if not flips[k]), key=lambda k: als[k].confidence)
        for k in members:
            al, name = als[k], names[k]
            where = "along the leg" if name[0] == names[top][0] else "across the legs"
            if flips[k]:
                old = al.confidence
                al.r_mount = flip_gait_sign(al, activity, "right" if name[0] == "r" else "left")
                notes.append(f"{name}: turned over to agree with the {names[top]} {where} (the gait "
                             f"features had given confidence {old:.2f})")
            elif als[top].confidence - al.confidence >= 0.01:
                if al.confidence < cfg.min_confidence:  # it was uncertain (and warned about): say why not now
                    notes.append(f"{name}: sign confirmed by the {names[top]} {where}; confidence "
                                 f"{al.confidence:.2f} -> {als[top].confidence:.2f}")
            else:
                continue
            if not al.sign_rule.endswith("+leg"):
                al.sign_rule = f"{al.sign_rule}+leg"
            al.confidence = als[top].confidence
            al.sign_confident = al.confidence >= cfg.min_confidence
    return notes


# ---------------------------------------------------------------- simulator statistics
def simulated_gait_statistics(activity: str = "walking", n_subjects: int = 16, duration_s: float = 30.0,
                              seed: int = 9001, window_s: float = 3.0, fs: float = 100.0,
                              workers: int | None = None) -> dict:
    """Recompute :data:`MEAN_FORCE_TILT_DEG`, :data:`SIGN_FEATURES`, :data:`LEG_PAIR_STATS` from simulated people.

    Simulates ``n_subjects`` people (:func:`imukin.simulation.corpus.simulate_corpus`,
    default sensor errors but no mounting rotation, so each sensor frame is its segment
    frame up to soft-tissue wobble), cuts every sensor's signals into ``window_s``
    windows, keeps whole strides of each (:func:`gait_window`) and measures there the
    mean specific force's sagittal and frontal angles (frontal mirrored for left
    segments), the :func:`sign_features` and, for the feet, the correlation of their
    medio-lateral rate with the same side's shank's (``c_wz_shank``), for the thighs, the
    asymmetry of their cross-correlation with it (``cc_wz_shank``) and, for the pelvis in walking,
    the phase of its obliquity rate against each thigh's flexion rate (``ph_wx_thigh``) and, for the
    right leg's segments, the phase of the left leg's same segment against them (``ph_wz_left``),
    both as circular mean and SD in degrees (:data:`PELVIS_THIGH_PHASE`, :data:`LEFT_RIGHT_PHASE`).

    Parameters
    ----------
    activity : {"walking", "running"}
    n_subjects, duration_s, seed : corpus size and seed (the shipped tables: 16, 30 s, 9001)
    window_s : float
        s, length of the windows the statistics are taken over.
    fs : float
        Hz.
    workers : int, optional
        Simulation processes.

    Returns
    -------
    dict
        ``{segment type: {"tilt": (mean, sd), "frontal": (mean, sd), feature: (mean, sd), ...}}``
        in degrees and feature units.
    """
    from dataclasses import replace

    from imukin.simulation.corpus import CorpusConfig, simulate_corpus
    from imukin.simulation.sensor_errors import SensorErrorConfig

    cfg = CorpusConfig(activity=activity, n_subjects=n_subjects, duration_s=duration_s, seed=seed, fs=fs,
                       errors=replace(SensorErrorConfig(), mount_sd_deg=0.0))
    values: dict[str, dict[str, list]] = {s: {} for s in SEGMENT_TYPES}
    n_win = int(round(window_s * fs))
    acfg = AlignConfig()  # the statistics are those of the default settings
    for rec in simulate_corpus(cfg, workers=workers):
        for name in rec.acc:
            seg, side = _segment_type(name), _segment_side(name)
            for start in range(0, len(rec.acc[name]) - n_win + 1, n_win):
                acc = rec.acc[name][start:start + n_win]
                gyr = rec.gyr[name][start:start + n_win]
                try:
                    win, stride_s = gait_window(acc, gyr, fs, seg, activity)
                except ImukinError:
                    continue
                m = acc[win].mean(axis=0)
                if side == "right" and seg != "pelvis":  # the left leg's same segment over the same frames
                    left = rec.gyr[segment_name(seg, "left")][start:start + n_win]
                    num, _ = _stride_phase(left[win][:, 2], gyr[win][:, 2], fs, stride_s, acfg)
                    values[seg].setdefault("ph_wz_left", []).append(num / max(abs(num), 1e-12))
                if seg == "pelvis" and activity in PELVIS_THIGH_PHASE:
                    for side_t, sgn in zip(SIDES, (1.0, -1.0)):  # a left thigh's rate negated
                        thigh = segment_name("thigh", side_t)
                        num, _ = _stride_phase(gyr[win][:, 0], sgn * rec.gyr[thigh][start:start + n_win][win][:, 2],
                                               fs, stride_s, acfg)
                        values[seg].setdefault("ph_wx_thigh", []).append(num / max(abs(num), 1e-12))
                row = {"tilt": np.degrees(np.arctan2(m[0], m[1])),
                       "frontal": np.degrees(np.arctan2(m[2], m[1])) * (-1.0 if side == "left" else 1.0)}
                row.update(sign_features(acc[win], gyr[win], fs))
                if seg in ("thigh", "foot") and name != seg:  # with the same side's shank over the same frames
                    shank = rec.gyr[name[0] + "shank"][start:start + n_win][win]
                    pair, key = (("shank", "foot"), "c_wz_shank") if seg == "foot" else (("thigh", "shank"),
                                                                                       "cc_wz_shank")
                    g_a, g_b = (shank, gyr[win]) if seg == "foot" else (gyr[win], shank)
                    row[key] = _pair_statistic(pair, g_a, g_b, fs, acfg)
                for k, v in row.items():
                    values[seg].setdefault(k, []).append(v)
    out = {}
    for seg, d in values.items():
        out[seg] = {}
        for k, v in d.items():
            if k.startswith("ph_"):  # unit phasors: circular mean and SD, degrees
                r = complex(np.mean(v))
                out[seg][k] = (float(np.degrees(np.angle(r))),
                               float(np.degrees(np.sqrt(-2.0 * np.log(max(abs(r), 1e-12))))))
            else:
                out[seg][k] = (float(np.mean(v)), float(np.std(v)))
    return out


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


def _segment_side(segment: str) -> str | None:
    """``"right"``/``"left"`` from a segment name such as ``"rthigh"``; None for a bare type or the pelvis."""
    if segment not in SEGMENT_TYPES and segment[1:] in SEGMENT_TYPES and segment[0] in "rl":
        return "right" if segment[0] == "r" else "left"
    return None


def _xyz(a, name: str) -> np.ndarray:
    a = np.asarray(a, float)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ImukinError(f"{name} must have shape (N, 3), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ImukinError(f"{name} contains NaN or inf; fill the gaps before aligning")
    return a


__all__ = ["AlignConfig", "SegmentAlignment", "apply_alignment", "still_mask", "bouts", "standing_period",
           "is_upright", "walking_mask", "vertical_axis", "rotation_axis", "travel_direction", "align_segment",
           "align_leg", "angle_errors_deg", "SIGN_RULES", "STRIDE_RANGE_S", "MEAN_FORCE_TILT_DEG", "SIGN_FEATURES",
           "stride_period", "gait_window", "sign_features", "sign_log_likelihood", "pelvis_forward_axis",
           "align_from_gait", "align_from_standing", "simulated_gait_statistics", "LEG_PAIR_STATS", "LEG_PAIR_MIN",
           "flip_gait_sign", "leg_signs",
           "LEFT_RIGHT_PHASE", "LEFT_RIGHT_MIN", "PELVIS_THIGH_PHASE", "PELVIS_THIGH_MIN", "left_right_statistic",
           "pelvis_thigh_statistic"]
