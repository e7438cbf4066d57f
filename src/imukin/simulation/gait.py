"""Synthetic walking and running: segment poses of pelvis, thighs, shanks and feet.

How a sequence is made
----------------------
1. **Joint-angle templates.** For every curve of :data:`~imukin.simulation.body.CURVE_CHANNELS`
   (pelvis tilt/obliquity/rotation; hip, knee, ankle flexion/adduction/rotation) a few key
   points (percent of the gait cycle from heel strike, degrees) are given at three anchor
   speeds per activity. Key-point timing and values are interpolated through the anchors
   in the dimensionless speed ``v* = v / sqrt(g * leg length)`` (quadratic), a periodic
   cubic spline is drawn through them, the curve is reduced to :data:`N_HARMONICS`
   Fourier harmonics and each coefficient is fitted by a cubic polynomial in ``v*``. The
   result is C-infinity in phase and speed, so positions can be differentiated twice for
   accelerometers. Walking key points follow normal adult gait (Perry & Burnfield 2010;
   Kadaba et al. 1990; Winter 2009) and its speed effects (knee loading-response flexion,
   hip range and pelvic motion grow with speed; Schwartz et al. 2008). Running swing
   follows Novacheck (1998, Gait Posture 7:77): swing knee flexion 85-120 deg; toe-off
   at 40 % of the cycle when jogging down to 28 % at 5 m/s. Running stance key points
   come from two-link inverse kinematics of a stance in which the hip sweeps forward
   evenly over the contact length, dips 1-2 cm and the foot rolls heel - flat - forefoot
   (stance knee flexion 35-60 deg). Angles use Plug-in Gait conventions, which equal
   :mod:`imukin.conventions` (flexion, adduction, internal rotation, dorsiflexion
   positive); the pelvis frame is the anatomical (ASIS/PSIS) one, so it carries the
   anterior pelvic tilt (about 10-20 deg) and hip flexion includes it.
2. **Per-subject and per-stride variation.** Smooth per-subject curve deviations,
   left/right asymmetry, a cadence factor (see :mod:`imukin.simulation.body`), and
   smooth stride-to-stride modulation of each curve's amplitude and offset and of the
   stride time; each leg has its own phase (left half a cycle after right, plus
   asymmetry and step-timing jitter).
3. **Fit to the ground** (per subject, on a grid of speeds, :func:`_stride_table`). The
   target cadence is an empirical law of speed and leg length (:func:`step_frequency_hz`)
   times the cadence factor. Walking: the hip flexion and pelvic rotation ranges are
   scaled (0.65-1.4) so that the no-slip stride length of the subject's own kinematics
   is ``speed / stride frequency``; a hip flexion offset and a correction of the trailing
   leg in double support (knee flexion or push-off plantarflexion) put both feet on the
   ground when the heel lands; a phase warp (:func:`_walk_warp`) evens out the forward
   speed within the stride (the templates alone sweep the stance foot back unevenly).
   Running: the range scale sets the contact length; a phase warp (:func:`_run_warp`)
   gives the stance the spring-mass speed course (a dip of :data:`RUN_SPEED_DIP` at
   mid-stance) and the flight keeps the speed of the stances around it.
4. **Forward kinematics** through :func:`imukin.conventions.angles_to_relative_rotation`:
   ``R_thigh = R_pelvis @ angles_to_relative_rotation(hip, "hip", side)`` and so on, so
   :func:`imukin.conventions.joint_angles` returns :attr:`Kinematics.angles` exactly.
5. **Whole-body translation** from ground contact. Each sole is four rolling circles
   (heel, forefoot; medial, lateral); the loaded foot rolls without slipping (the pelvis
   horizontal velocity is minus the velocity, relative to the pelvis, of the material
   point under the foot) and touches the ground (sets the pelvis height). Walking: the
   load passes from the trailing to the leading foot across double support, no foot
   ever enters the ground, and the result is jerk-limited. Running: stance from heel
   strike to toe-off, ballistic flight (vertical acceleration -g, constant horizontal
   velocity) between stances, joined by a jerk-limited least-squares fit. The walking
   direction follows a slowly varying heading (gentle turns) and the speed can change
   smoothly within a sequence.

Lab frame: Y up, X the initial walking direction, Z to the right (:mod:`imukin.conventions`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.linalg import solveh_banded
from scipy.spatial.transform import Rotation

from imukin.conventions import ACTIVITIES, G, JOINT_NAMES, SIDES, angles_to_relative_rotation, check_choice, zxy_matrix, \
    joint_name, segment_name
from imukin.errors import ImukinError
from imukin.simulation.body import CURVE_CHANNELS, N_CURVES, N_DEV_HARMONICS, SubjectParams, foot_sole

# ---------------------------------------------------------------- speeds
#: Default speed range (m/s) per activity, for randomly drawn sequences.
SPEED_RANGE_M_S = {"walking": (0.6, 2.0), "running": (2.0, 5.0)}
#: Hard limits (m/s) for explicitly requested speeds.
SPEED_LIMITS_M_S = {"walking": (0.2, 2.6), "running": (1.5, 7.0)}

#: Centres of the five walking-speed groups of Schwartz, Rozumalski & Trost (2008, J Biomech
#: 41:1639) as dimensionless speeds ``v / sqrt(g * leg length)``: the study binned its trials
#: by this speed, self-selected ("Free") walking near 0.43 (adults too: 1.3 m/s on a 0.9 m
#: leg is 0.44) and bins about 0.13 wide. Approximate group centres (the normative file
#: holds no speeds); used to simulate at the speed matching each normative band.
SCHWARTZ_SPEED_CLASSES = {"VerySlow": 0.17, "Slow": 0.30, "Free": 0.43, "Fast": 0.56, "VeryFast": 0.70}

# ---------------------------------------------------------------- templates
#: Fourier harmonics kept per template curve.
N_HARMONICS = 12
#: Dimensionless speeds of the template anchors, per activity.
ANCHOR_VSTAR = {"walking": (0.17, 0.43, 0.70), "running": (0.65, 1.10, 1.75)}
#: Running stance fraction (toe-off, fraction of the cycle) at the running anchors (Novacheck 1998).
RUN_STANCE_FRACTION = (0.40, 0.35, 0.28)
#: Range of v* of the templates: the anchor range (slower or faster speeds use the end templates).
VSTAR_RANGE = {a: (v[0], v[-1]) for a, v in ANCHOR_VSTAR.items()}

#: Pelvis curves are given for the first half cycle only and completed by symmetry:
#: tilt repeats each step (even), obliquity and rotation change sign (odd).
_HALF_CYCLE = {"pelvis_tilt": 1.0, "pelvis_obliquity": -1.0, "pelvis_rotation": -1.0}

# Key points: channel -> one list of (percent of gait cycle, degrees) per anchor speed, each
# list with the same number of points (corresponding features), phases increasing.
_WALK_KEYS = {
    "pelvis_tilt": [
        [(0, 15.4), (14, 15.1), (38, 15.7)],
        [(0, 11.8), (14, 10.8), (38, 12.3)],
        [(0, 17.8), (12, 16.5), (35, 19.5)],
    ],
    "pelvis_obliquity": [
        [(0, 1.0), (11, 2.2), (22, 1.0), (32, -1.0), (43, -1.2)],
        [(0, 0.8), (14, 4.1), (24, 2.2), (33, -0.3), (43, -0.5)],
        [(0, 1.7), (15, 6.3), (26, 4.0), (36, -0.2), (44, -1.6)],
    ],
    "pelvis_rotation": [
        [(0, 2.7), (12, 3.6), (24, 3.0), (38, 1.0), (44, -0.4)],
        [(0, 4.2), (10, 3.5), (21, 2.2), (34, 0.0), (42, -2.4)],
        [(0, 7.5), (10, 5.0), (20, 2.4), (29, 0.0), (40, -5.2)],
    ],
    "hip_flexion": [
        [(0, 29.5), (6, 27.5), (20, 18.5), (36, 10.0), (48, 5.5), (56, 3.5), (64, 6.5), (72, 15.0),
         (80, 24.5), (89, 31.0), (95, 30.5)],
        [(0, 33.2), (5, 33.0), (18, 23.2), (34, 5.7), (46, -5.8), (53, -8.3), (60, -3.3), (68, 12.2),
         (78, 28.7), (88, 35.2), (95, 34.2)],
        [(0, 40.5), (5, 40.0), (17, 29.0), (33, 8.0), (45, -6.5), (52, -10.0), (59, -2.5), (67, 14.5),
         (77, 35.0), (88, 43.0), (95, 42.0)],
    ],
    "hip_adduction": [
        [(0, -1.0), (8, 1.0), (20, 2.9), (36, 2.1), (48, 1.8), (58, -1.0), (70, -4.5), (80, -2.5), (90, -0.9)],
        [(0, -1.6), (8, 2.6), (17, 5.2), (32, 2.9), (44, 2.3), (54, -1.0), (65, -6.8), (78, -3.1), (90, -2.3)],
        [(0, -3.8), (8, 1.4), (20, 7.5), (32, 4.9), (44, 1.5), (54, -1.5), (67, -8.3), (80, -4.9), (90, -4.8)],
    ],
    "hip_rotation": [
        [(0, -2.0), (12, 0.0), (30, -2.0), (50, -3.0), (64, -4.0), (80, 0.0), (92, -2.0)],
        [(0, -2.5), (12, 0.0), (30, -1.5), (50, -3.0), (63, -5.0), (80, 0.5), (92, -3.0)],
        [(0, -5.0), (12, -3.0), (30, -1.5), (50, -3.0), (60, -6.5), (80, -1.5), (92, -3.5)],
    ],
    "knee_flexion": [
        [(0, 4.5), (6, 6.5), (12, 7.8), (30, 6.8), (46, 8.5), (56, 13.0), (64, 26.0), (71, 42.0),
         (77, 49.0), (86, 37.0), (94, 14.0), (99, 5.0)],
        [(0, 4.5), (6, 12.0), (13, 18.5), (25, 12.0), (38, 6.5), (48, 10.0), (58, 27.0), (66, 48.5),
         (72, 59.5), (80, 49.0), (90, 18.5), (97, 4.0)],
        [(0, 7.5), (6, 14.0), (12, 22.5), (24, 13.0), (39, 3.0), (48, 7.0), (56, 21.0), (64, 46.5),
         (72, 62.0), (80, 52.5), (88, 28.0), (96, 8.0)],
    ],
    "knee_adduction": [
        [(0, -0.4), (20, 0.4), (44, -0.4), (60, -1.4), (72, -0.3), (84, 1.5), (94, -0.2)],
        [(0, 0.1), (14, 0.8), (40, 0.2), (64, -2.0), (74, 1.0), (82, 4.5), (94, 0.3)],
        [(0, 0.3), (20, 0.4), (40, 0.5), (62, -3.7), (76, -1.2), (85, 1.8), (94, 0.3)],
    ],
    "knee_rotation": [
        [(0, -0.2), (8, 2.3), (20, 3.9), (36, 6.0), (50, 8.0), (60, 6.0), (68, 5.0), (80, 0.3), (88, -0.3)],
        [(0, -2.0), (8, 3.0), (20, 3.5), (36, 5.5), (50, 8.2), (60, 5.0), (68, 5.5), (80, -0.5), (88, -2.4)],
        [(0, -3.6), (8, 2.6), (20, 2.9), (36, 5.0), (50, 7.5), (60, 5.4), (68, 5.4), (80, 0.0), (88, -4.1)],
    ],
    "ankle_flexion": [
        [(0, -2.6), (4, -5.6), (12, -2.5), (26, 4.0), (40, 11.0), (52, 14.0), (60, 8.0), (69, -4.0),
         (76, -0.5), (85, 4.8), (92, 1.5), (97, -1.8)],
        [(0, -2.0), (4, -5.6), (12, -1.0), (26, 6.0), (40, 10.0), (48, 11.8), (56, 1.0), (64, -20.0),
         (72, -8.0), (84, 2.5), (92, 0.2), (97, -1.3)],
        [(0, -3.2), (4, -5.9), (12, -0.5), (22, 6.8), (32, 7.9), (40, 6.9), (50, -2.0), (59, -22.0),
         (67, -13.5), (86, 3.6), (92, 1.2), (97, -3.0)],
    ],
    # Inversion (+) / eversion of the foot on the shank: slight inversion at heel strike,
    # eversion in loading, inversion at push-off (rear-foot motion, e.g. Perry 2010).
    "ankle_adduction": [
        [(0, 1.5), (8, -1.5), (30, -2.0), (50, 0.0), (64, 4.0), (76, 2.0), (90, 1.0)],
        [(0, 2.0), (8, -2.5), (30, -3.0), (50, 0.0), (62, 6.0), (75, 3.0), (90, 1.0)],
        [(0, 2.5), (8, -3.5), (30, -3.5), (48, 0.5), (60, 7.0), (74, 3.0), (90, 1.0)],
    ],
    # Foot long axis relative to the knee flexion axis: external, from tibial torsion; the
    # foot toes out by about 5-8 deg in stance (foot progression angle).
    "ankle_rotation": [
        [(0, -9.0), (12, -10.0), (40, -9.0), (62, -12.0), (80, -10.0), (92, -9.0)],
        [(0, -9.0), (12, -10.0), (40, -9.0), (60, -13.0), (78, -10.0), (92, -9.0)],
        [(0, -9.0), (12, -10.0), (40, -9.0), (58, -13.0), (76, -10.0), (92, -9.0)],
    ],
}

_RUN_KEYS = {
    "pelvis_tilt": [
        [(0, 15.3), (15, 13.5), (38, 17.0)],
        [(0, 17.5), (14, 15.0), (34, 19.5)],
        [(0, 19.5), (12, 16.5), (30, 22.5)],
    ],
    "pelvis_obliquity": [
        [(0, 1.5), (10, 5.0), (25, 2.0), (38, -1.0), (45, -1.5)],
        [(0, 2.0), (9, 6.5), (23, 3.0), (34, -1.0), (44, -2.0)],
        [(0, 2.5), (8, 7.5), (20, 3.5), (30, -1.0), (43, -2.5)],
    ],
    # Ipsilateral pelvis forward (internal) most in late swing; the pelvis turns with the
    # swinging leg (Schache et al. 1999; Novacheck 1998).
    "pelvis_rotation": [
        [(0, 3.0), (10, 0.0), (20, -3.0), (35, -5.0), (45, -4.0)],
        [(0, 3.5), (10, 0.0), (20, -3.5), (35, -6.0), (45, -5.0)],
        [(0, 4.0), (10, 0.0), (20, -4.0), (35, -7.0), (45, -5.5)],
    ],
    "hip_flexion": [
        [(0, 35.7), (7, 35.7), (13, 30.6), (20, 23.0), (27, 19.3), (33, 15.0), (40, 1.2),
         (46, -1.0), (56, 10.0), (68, 30.0), (80, 40.0), (88, 41.0), (95, 38.0)],
        [(0, 44.5), (6, 45.9), (12, 38.4), (18, 27.2), (23, 20.7), (29, 14.3), (35, -6.2),
         (41, -8.0), (52, 12.0), (64, 40.0), (76, 54.0), (86, 55.0), (94, 49.0)],
        [(0, 55.6), (5, 54.4), (9, 44.7), (14, 34.0), (19, 26.2), (23, 16.2), (28, -8.3),
         (35, -10.0), (46, 18.0), (58, 52.0), (70, 66.0), (82, 64.0), (92, 59.0)],
    ],
    "hip_adduction": [
        [(0, 2.0), (12, 8.0), (25, 5.0), (40, 0.0), (52, -4.5), (64, -5.5), (78, -3.0), (90, 0.0)],
        [(0, 2.0), (11, 9.0), (23, 6.0), (36, 0.0), (50, -5.0), (62, -6.0), (78, -3.0), (90, 0.0)],
        [(0, 2.0), (10, 9.0), (20, 6.0), (30, 0.0), (46, -5.5), (60, -6.5), (76, -3.5), (90, 0.0)],
    ],
    "hip_rotation": [
        [(0, -2.0), (15, 1.0), (35, -3.0), (55, -5.0), (75, 0.0), (90, -2.0)],
        [(0, -2.0), (14, 1.0), (32, -4.0), (52, -6.0), (74, 0.0), (90, -2.0)],
        [(0, -2.0), (12, 1.0), (28, -4.0), (48, -6.0), (72, 0.0), (90, -2.0)],
    ],
    "knee_flexion": [
        [(0, 15.0), (7, 30.6), (13, 36.3), (20, 34.6), (27, 37.8), (33, 38.2), (40, 21.3),
         (50, 44.0), (60, 74.0), (70, 86.0), (81, 64.0), (91, 40.0), (97, 22.0)],
        [(0, 15.0), (6, 39.0), (12, 46.6), (18, 44.2), (23, 46.6), (29, 44.6), (35, 15.2),
         (45, 50.0), (56, 88.0), (66, 100.0), (78, 84.0), (89, 54.0), (96, 24.0)],
        [(0, 25.0), (5, 47.2), (9, 54.5), (14, 57.1), (19, 59.2), (23, 51.5), (28, 14.9),
         (38, 72.0), (50, 112.0), (61, 120.0), (74, 92.0), (87, 52.0), (96, 30.0)],
    ],
    "knee_adduction": [
        [(0, 0.0), (15, 1.0), (40, -1.0), (60, -3.0), (80, 3.0), (92, 0.0)],
        [(0, 0.0), (14, 1.0), (36, -1.0), (58, -3.0), (80, 3.0), (92, 0.0)],
        [(0, 0.0), (12, 1.0), (30, -1.0), (55, -3.5), (78, 3.5), (92, 0.0)],
    ],
    "knee_rotation": [
        [(0, -2.0), (12, 4.0), (30, 6.0), (50, 2.0), (70, 4.0), (88, -3.0)],
        [(0, -2.0), (11, 4.0), (28, 6.0), (48, 2.0), (68, 4.0), (88, -3.0)],
        [(0, -2.0), (10, 4.0), (24, 6.0), (45, 2.0), (66, 4.0), (88, -3.0)],
    ],
    "ankle_flexion": [
        [(0, 6.6), (7, 9.0), (13, 19.2), (20, 24.8), (27, 20.2), (33, 8.6), (40, -3.0),
         (46, -12.0), (56, -6.0), (70, 8.0), (85, 8.0), (95, 7.0)],
        [(0, 0.0), (6, 9.1), (12, 23.2), (18, 31.0), (23, 22.2), (29, 2.0), (35, -19.0),
         (41, -22.0), (52, -5.0), (68, 8.0), (84, 8.0), (95, 4.0)],
        [(0, 0.9), (5, 10.7), (9, 26.5), (14, 30.3), (19, 17.4), (23, -3.2), (28, -24.9),
         (34, -27.0), (46, -6.0), (64, 10.0), (82, 8.0), (95, 3.0)],
    ],
    "ankle_adduction": [
        [(0, 4.0), (12, -5.0), (28, -3.0), (42, 5.0), (60, 3.0), (85, 2.0)],
        [(0, 4.0), (11, -6.0), (26, -3.0), (38, 5.0), (60, 3.0), (85, 2.0)],
        [(0, 4.0), (10, -6.0), (22, -3.0), (32, 5.0), (58, 3.0), (85, 2.0)],
    ],
    "ankle_rotation": [
        [(0, -9.0), (15, -11.0), (35, -8.0), (60, -12.0), (85, -9.0)],
        [(0, -9.0), (14, -11.0), (32, -8.0), (58, -12.0), (85, -9.0)],
        [(0, -9.0), (12, -11.0), (28, -8.0), (56, -12.0), (85, -9.0)],
    ],
}
_KEYS = {"walking": _WALK_KEYS, "running": _RUN_KEYS}

#: Relative weight of the stride-to-stride offset modulation per curve (sagittal curves vary most).
_STRIDE_OFFSET_WEIGHT = np.array([0.3, 0.3, 0.5, 1.0, 0.6, 0.8, 1.0, 0.4, 0.8, 1.0, 0.6, 0.6])
_CH = {c: i for i, c in enumerate(CURVE_CHANNELS)}
#: Pelvis curve sign when the left-side (mirrored) view is turned into the right-side view.
_PELVIS_MIRROR = np.array([1.0, -1.0, -1.0])
#: Seconds simulated before and after the sequence and cut off (edge effects of flights and derivatives).
_MARGIN_S = 1.0
#: Walking contact: softness (m) of the no-penetration guard.
_CONTACT_SOFT_M = 0.002
#: Running: tolerances of the ballistic fits (see :func:`_ballistic_fit`). Vertical position:
#: stance tracking (m), flight acceleration (m/s^2), jerk (m/s^3). Horizontal velocity: stance
#: tracking (m/s), flight acceleration (m/s^2), jerk (m/s^3).
_RUN_FIT_VERTICAL = (0.003, 0.5, 1500.0)
_RUN_FIT_HORIZONTAL = (0.05, 0.5, 300.0)
#: Walking: the same fits with no flight, as jerk-limited smoothing of the contact solution.
_WALK_FIT_VERTICAL = (0.002, 1.0, 500.0)
_WALK_FIT_HORIZONTAL = (0.02, 1.0, 150.0)
#: Limits of the per-subject stride scale (hip flexion and pelvic rotation range factor).
_STRIDE_SCALE_RANGE = (0.65, 1.4)
#: Walking: correction of the trailing leg during double support so that both feet are on
#: the ground when the other heel lands and the landing foot is not above the trailing one
#: afterwards. Positive: extra knee flexion (lifts the trailing foot); negative: extra ankle
#: plantarflexion (push-off, lengthens the trailing leg). Gaussian bumps (SD in cycles) at
#: these offsets from the other foot's heel strike; limits (deg) of the correction.
_TRAIL_FIT_CENTRES = np.arange(-0.03, 0.17, 0.025)
_TRAIL_FIT_WIDTH = 0.025
_TRAIL_FIT_RANGE = (-15.0, 15.0)
#: Walking: limits (deg) of the per-subject hip flexion offset fitted with it.
_HIP_FIT_RANGE = (-8.0, 8.0)
#: Slots of the per-subject ground-fit vector (see :func:`_stride_table`): stride scale, hip
#: flexion offset (deg), toe-off (fraction of the cycle), trailing-leg correction amplitudes.
_FIT_SCALE, _FIT_HIP, _FIT_TOE_OFF = 0, 1, 2
_FIT_TRAIL = slice(3, None)
_N_FIT = 3 + len(_TRAIL_FIT_CENTRES)
#: Running: Fourier harmonics of the phase warp (see :func:`_run_warp`).
_WARP_HARMONICS = 16
#: Walking: bounds of the phase warp's rate relative to its mean (see :func:`_walk_warp`), and its
#: circular Gaussian smoothing (SD in cycles).
WALK_WARP_RATE_RANGE = (0.2, 3.0)
WALK_WARP_SMOOTH = 0.02
#: Walking: relative swing of the forward speed about its mean, lowest when the pelvis is highest (the
#: inverted pendulum's exchange of kinetic and potential energy; Cavagna et al. 1977, Zijlstra & Hof 2003:
#: the body's forward speed varies by about +-5-10 % at comfortable speeds).
WALK_SPEED_SWING = 0.08
#: Running: dip of the horizontal speed at mid-stance relative to the speed in flight. The braking
#: impulse of a running step (about 0.02 body weight x s, Munro et al. 1987) takes about 0.2 m/s off
#: 3-5 m/s, so about 5 %; the speed is lowest at mid-stance, when the pelvis is lowest.
RUN_SPEED_DIP = 0.05
#: Softness (m) of the choice of the lowest sole point (rolling contact).
_SOLE_SOFT_M = 0.001


# ---------------------------------------------------------------- config and result
@dataclass
class GaitConfig:
    """What kind of sequence to generate. Every field has a default."""

    activity: str = "walking"  # "walking" or "running"
    duration_s: float = 30.0  # length of the sequence
    fs_internal: float = 1000.0  # Hz, rate of the poses (the IMU simulation samples from them)
    speed_m_s: float | None = None  # initial speed; None draws it uniformly from speed_range_m_s
    speed_range_m_s: tuple[float, float] | None = None  # None: walking 0.6-2.0, running 2.0-5.0 m/s
    speed_change_prob: float = 0.5  # probability that the speed changes within the sequence
    speed_change_every_s: tuple[float, float] = (6.0, 15.0)  # time between speed changes (uniform)
    speed_change_rel: float = 0.3  # largest relative speed change (new = old * (1 +- U(0, this)))
    speed_change_duration_s: float = 3.0  # a speed change is a smooth ramp this long
    turn_prob: float = 0.5  # probability that the sequence has gentle turns
    turn_every_s: tuple[float, float] = (5.0, 15.0)  # time between turn starts (uniform)
    turn_angle_deg: tuple[float, float] = (20.0, 90.0)  # heading change of one turn (either side)
    turn_duration_s: tuple[float, float] = (3.0, 8.0)  # duration of one turn
    subject_variation: bool = True  # apply the subject's curve deviations and asymmetry
    stride_time_cv: float = 0.02  # stride-to-stride coefficient of variation of stride time
    step_phase_sd: float = 0.004  # left-right step timing jitter, fraction of the cycle
    stride_amp_sd: float = 0.03  # stride-to-stride relative SD of each curve's amplitude
    stride_offset_sd_deg: float = 0.8  # stride-to-stride SD of each curve's offset (sagittal curves)

    def __post_init__(self):
        check_choice("activity", self.activity, ACTIVITIES)
        if not self.duration_s > 0:
            raise ImukinError(f"gait duration_s must be positive, got {self.duration_s}")
        if not 50.0 <= self.fs_internal <= 10000.0:
            raise ImukinError(f"fs_internal {self.fs_internal} Hz is outside 50-10000 Hz")
        lo, hi = self.speed_range
        lim = SPEED_LIMITS_M_S[self.activity]
        if not lim[0] <= lo <= hi <= lim[1]:
            raise ImukinError(f"{self.activity} speed range {lo}-{hi} m/s is outside {lim[0]}-{lim[1]} m/s")
        if self.speed_m_s is not None and not lim[0] <= self.speed_m_s <= lim[1]:
            raise ImukinError(f"{self.activity} speed {self.speed_m_s} m/s is outside {lim[0]}-{lim[1]} m/s; "
                              f"choose a speed in that range")
        for name in ("speed_change_prob", "turn_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ImukinError(f"gait {name} must be in [0, 1], got {getattr(self, name)}")

    @property
    def speed_range(self) -> tuple[float, float]:
        """The speed range in use (m/s)."""
        return tuple(self.speed_range_m_s) if self.speed_range_m_s is not None else SPEED_RANGE_M_S[self.activity]


@dataclass
class Kinematics:
    """Segment poses and joint angles of one generated sequence."""

    t: np.ndarray  # (N,) s at fs_internal
    fs: float  # Hz
    rot: dict[str, np.ndarray]  # segment (conventions.SEGMENTS) -> (N,3,3) segment frame in lab (columns = axes)
    pos: dict[str, np.ndarray]  # segment -> (N,3) m, frame origin (pelvis: mid hip centres; thigh: hip
    #   centre; shank: knee centre; foot: ankle centre)
    angles: dict[str, np.ndarray]  # joint (conventions.JOINTS) -> (N,3) deg [flexion, adduction, rotation]
    speed: np.ndarray  # (N,) m/s, instantaneous target speed
    heel_strikes: dict[str, np.ndarray]  # "right"/"left" -> heel strike times (s), gait cycle starts
    subject: SubjectParams  # who walked
    pelvis_angles: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # (N,3) deg, Plug-in Gait
    #   PelvisAngles (right side): [anterior tilt, obliquity (right up), rotation (right forward)]
    #   of the pelvis relative to the walking direction
    heading_deg: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (N,) walking direction in
    #   the lab, degrees about +Y from +X (positive turns to the left)
    toe_offs: dict[str, np.ndarray] = field(default_factory=dict)  # "right"/"left" -> toe-off times (s)
    #   (walking: the end of the load hand-over to the other foot)

    @property
    def n_frames(self) -> int:
        return int(self.t.shape[0])


# ---------------------------------------------------------------- templates
def _fourier_basis(phase: np.ndarray, n_harm: int) -> np.ndarray:
    """(N,) phase in cycles -> (N, 1 + 2 n_harm): [1, cos 2pi p, sin 2pi p, ..., sin 2pi n p]."""
    z1 = np.exp(2j * np.pi * np.asarray(phase, float))  # (N,)
    z = np.cumprod(np.broadcast_to(z1[:, None], (z1.shape[0], n_harm)), axis=1)  # (N, n_harm) e^{2 pi i k p}
    out = np.empty((z1.shape[0], 1 + 2 * n_harm))
    out[:, 0] = 1.0
    out[:, 1::2] = z.real
    out[:, 2::2] = z.imag
    return out


def _key_points(activity: str, channel: str, vstar: float) -> np.ndarray:
    """Key points (n, 2) [percent, deg] of one curve at one speed (full cycle).

    Phases and values are interpolated through the anchor speeds by the polynomial of
    lowest degree (quadratic for three anchors), smooth in ``v*``.
    """
    anchors = np.array(ANCHOR_VSTAR[activity])
    pts = np.array(_KEYS[activity][channel], float)  # (n_anchor, n, 2)
    basis = np.vander(anchors, len(anchors))  # (n_anchor, n_anchor)
    coef = np.linalg.solve(basis, pts.reshape(len(anchors), -1))  # polynomial through the anchors
    kp = (np.vander([vstar], len(anchors)) @ coef).reshape(pts.shape[1:])  # (n, 2)
    if channel in _HALF_CYCLE:
        kp = np.concatenate([kp, kp * np.array([1.0, _HALF_CYCLE[channel]]) + np.array([50.0, 0.0])])
    return kp


def _curve_on_grid(kp: np.ndarray, n_grid: int) -> np.ndarray:
    """Periodic cubic spline through key points (percent, value), sampled on n_grid phases."""
    x = np.append(kp[:, 0], kp[0, 0] + 100.0)
    y = np.append(kp[:, 1], kp[0, 1])
    spl = CubicSpline(x, y, bc_type="periodic")
    grid = np.arange(n_grid) * 100.0 / n_grid
    return spl(np.where(grid < x[0], grid + 100.0, grid))


@functools.lru_cache(maxsize=4)
def _template_model(activity: str) -> tuple[np.ndarray, float, float]:
    """Polynomial-in-v* Fourier model of the templates.

    Returns ``(coef, centre, half_width)``: ``coef`` (4, 1 + 2 N_HARMONICS, N_CURVES) such that
    a curve is ``sum_p u^p * basis(phase) @ coef[p]`` with ``u = (v* - centre) / half_width``.
    """
    lo, hi = VSTAR_RANGE[activity]
    grid_v = np.linspace(lo, hi, 16)
    n_grid = 256
    n_coef = 1 + 2 * N_HARMONICS
    coefs = np.empty((len(grid_v), n_coef, N_CURVES))
    for i, v in enumerate(grid_v):
        for c, ch in enumerate(CURVE_CHANNELS):
            y = _curve_on_grid(_key_points(activity, ch, v), n_grid)
            f = np.fft.rfft(y) / n_grid
            coefs[i, 0, c] = f[0].real
            coefs[i, 1::2, c] = 2.0 * f[1:N_HARMONICS + 1].real
            coefs[i, 2::2, c] = -2.0 * f[1:N_HARMONICS + 1].imag
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    u = (grid_v - centre) / half
    vander = np.stack([u ** p for p in range(4)], axis=1)  # (G, 4)
    sol, *_ = np.linalg.lstsq(vander, coefs.reshape(len(grid_v), -1), rcond=None)
    return sol.reshape(4, n_coef, N_CURVES), centre, half


def _poly_u(activity: str, vstar: np.ndarray) -> np.ndarray:
    _, centre, half = _template_model(activity)
    lo, hi = VSTAR_RANGE[activity]
    u = (np.clip(np.asarray(vstar, float), lo, hi) - centre) / half
    return np.stack([u ** p for p in range(4)], axis=-1)  # (N, 4)


def _templates(activity: str, basis: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Template curves from a Fourier basis (N, 25) and speed polynomial terms (N, 4) -> (N, 12)."""
    coef, _, _ = _template_model(activity)
    out = up[:, :1] * (basis @ coef[0])
    for p in range(1, coef.shape[0]):
        out += up[:, p:p + 1] * (basis @ coef[p])
    return out


def _template_mean(activity: str, up: np.ndarray) -> np.ndarray:
    """Cycle mean of every curve from speed polynomial terms: (N, 4) -> (N, 12)."""
    coef, _, _ = _template_model(activity)
    return up @ coef[:, 0, :]


def stance_fraction(activity: str, vstar) -> np.ndarray:
    """Toe-off as a fraction of the gait cycle at dimensionless speed ``vstar``.

    Walking: 0.62 - 0.1 (v* - 0.43), clipped to 0.55-0.68 (about 62 % at self-selected
    speed, longer stance and double support when slower; Perry & Burnfield 2010; Schwartz
    et al. 2008). Running: interpolated between :data:`RUN_STANCE_FRACTION` at the anchors.
    """
    v = np.asarray(vstar, float)
    if activity == "running":
        return np.interp(v, ANCHOR_VSTAR["running"], RUN_STANCE_FRACTION)
    return np.clip(0.62 - 0.1 * (v - 0.43), 0.55, 0.68)


# ---------------------------------------------------------------- smooth random profiles
def _smootherstep(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (s * (6.0 * s - 15.0) + 10.0)


def _speed_profile(t: np.ndarray, cfg: GaitConfig, rng: np.random.Generator) -> np.ndarray:
    lo, hi = cfg.speed_range
    v0 = float(cfg.speed_m_s) if cfg.speed_m_s is not None else float(rng.uniform(lo, hi))
    v = np.full(t.shape, v0)
    if rng.random() < cfg.speed_change_prob:
        t_next, cur = float(rng.uniform(*cfg.speed_change_every_s)) * 0.5, v0
        while t_next < t[-1]:
            new = float(np.clip(cur * (1.0 + rng.uniform(-cfg.speed_change_rel, cfg.speed_change_rel)), lo, hi))
            v += (new - cur) * _smootherstep((t - t_next) / cfg.speed_change_duration_s)
            cur = new
            t_next += cfg.speed_change_duration_s + float(rng.uniform(*cfg.speed_change_every_s))
    return v


def _heading_profile(t: np.ndarray, cfg: GaitConfig, rng: np.random.Generator) -> np.ndarray:
    """Heading (rad) about +Y: a sum of smooth turns."""
    psi = np.zeros(t.shape)
    if rng.random() < cfg.turn_prob:
        t_next = float(rng.uniform(1.0, cfg.turn_every_s[1]))
        while t_next < t[-1]:
            ang = np.deg2rad(rng.uniform(*cfg.turn_angle_deg)) * rng.choice([-1.0, 1.0])
            dur = float(rng.uniform(*cfg.turn_duration_s))
            psi += ang * _smootherstep((t - t_next) / dur)
            t_next += dur + float(rng.uniform(*cfg.turn_every_s))
    return psi


def _smooth_noise(x: np.ndarray, knot_step: float, sd, rng: np.random.Generator, n_ch: int = 1) -> np.ndarray:
    """Smooth random signal(s) of x: N(0, sd) values at knots every ``knot_step``, cubic spline."""
    knots = np.arange(np.floor(x.min() / knot_step) - 2, np.ceil(x.max() / knot_step) + 3) * knot_step
    vals = rng.standard_normal((len(knots), n_ch)) * np.asarray(sd, float)
    return CubicSpline(knots, vals)(x)  # (N, n_ch)


# ---------------------------------------------------------------- kinematics core
@dataclass
class _Curves:
    """Per-sample curve modifiers of one side (everything but the template)."""

    scale: np.ndarray  # (N, 12) amplitude factor about the cycle mean
    offset: np.ndarray  # (N, 12) deg added


def _trail_fit_basis(phase: np.ndarray) -> np.ndarray:
    """Gaussian bumps of the trailing-leg correction at the leg's phase: (N,) -> (N, J)."""
    d = (phase - np.floor(phase)) - 0.5  # cycles since the other foot's heel strike (nominally)
    return np.exp(-0.5 * ((d[:, None] - _TRAIL_FIT_CENTRES) / _TRAIL_FIT_WIDTH) ** 2)


def _side_curves(activity: str, subject: SubjectParams, side: str, phase: np.ndarray, up: np.ndarray,
                 fit: np.ndarray, mods: _Curves | None, use_subject: bool) -> np.ndarray:
    """Curves (N, 12) of one side: template + subject deviation + asymmetry + stride modulation.

    ``up`` (N, 4) are the speed polynomial terms (:func:`_poly_u`); ``fit`` (N, _N_FIT) holds
    the per-subject fit to the ground (see :func:`_stride_table`).
    """
    basis = _fourier_basis(phase, N_HARMONICS)  # (N, 25)
    mean = _template_mean(activity, up)  # (N, 12)
    dev = _templates(activity, basis, up) - mean  # (N, 12) about the cycle mean
    scale = np.ones((len(phase), N_CURVES))
    scale[:, _CH["hip_flexion"]] = fit[:, _FIT_SCALE]
    scale[:, _CH["pelvis_rotation"]] = fit[:, _FIT_SCALE]
    out = mean.copy()
    out[:, _CH["hip_flexion"]] += fit[:, _FIT_HIP]
    if activity == "walking":
        c = np.sum(fit[:, _FIT_TRAIL] * _trail_fit_basis(phase), axis=1)  # (N,) trailing-leg correction, deg
        raise_ = _softplus(c, 0.5)  # > 0: knee flexion lifts the trailing foot
        out[:, _CH["knee_flexion"]] += raise_
        out[:, _CH["ankle_flexion"]] += c - raise_  # < 0: push-off plantarflexion lengthens the trailing leg
    if use_subject:
        sgn = 0.5 if side == "right" else -0.5
        scale = scale * (1.0 + sgn * subject.asym_scale) * subject.curve_scale
        out = out + sgn * subject.asym_offset_deg + basis[:, :1 + 2 * N_DEV_HARMONICS] @ subject.curve_dev_deg.T
        if activity == "running" and subject.strike_plantarflexion_deg:
            d = (phase + 0.5) % 1.0 - 0.5  # cycles since heel strike
            out[:, _CH["ankle_flexion"]] -= subject.strike_plantarflexion_deg * np.exp(-((d + 0.01) / 0.06) ** 2)
    if mods is not None:
        return out + dev * (scale * mods.scale) + mods.offset
    return out + dev * scale


def _rot_y(psi: np.ndarray) -> np.ndarray:
    c, s = np.cos(psi), np.sin(psi)
    r = np.zeros(psi.shape + (3, 3))
    r[..., 0, 0], r[..., 0, 2], r[..., 1, 1], r[..., 2, 0], r[..., 2, 2] = c, s, 1.0, -s, c
    return r


def pelvis_rotation_from_angles(pelvis_deg: np.ndarray) -> np.ndarray:
    """Pelvis orientation in the walking-direction frame from Plug-in Gait pelvis angles.

    ``[tilt (anterior +), obliquity (right side up +), rotation (right side forward +)]``,
    intrinsic Z-X'-Y'' like the joint angles, i.e. ``Rz(-tilt) Rx(-obliquity) Ry(rotation)``:
    (..., 3) deg -> (..., 3, 3).
    """
    a = np.deg2rad(np.asarray(pelvis_deg, float))
    return zxy_matrix(-a[..., 0], -a[..., 1], a[..., 2])


def pelvis_angles_from_rotation(r_pelvis: np.ndarray, heading_rad=0.0, side: str = "right") -> np.ndarray:
    """Plug-in Gait pelvis angles (deg) of a pelvis orientation relative to the walking direction.

    Parameters
    ----------
    r_pelvis : ndarray, shape (..., 3, 3)
    heading_rad : float or ndarray, shape (...)
        Walking direction about +Y (see :attr:`Kinematics.heading_deg`).
    side : {"right", "left"}
        The left view negates obliquity and rotation (left side up / forward positive).
    """
    check_choice("side", side, SIDES)
    r_rel = np.swapaxes(_rot_y(np.broadcast_to(np.asarray(heading_rad, float), r_pelvis.shape[:-2])), -1, -2) @ r_pelvis
    eul = Rotation.from_matrix(r_rel.reshape(-1, 3, 3)).as_euler("ZXY", degrees=True)
    out = np.stack([-eul[:, 0], -eul[:, 1], eul[:, 2]], axis=-1).reshape(r_pelvis.shape[:-2] + (3,))
    return out if side == "right" else out * np.array([1.0, -1.0, -1.0])


def _pose(subject: SubjectParams, activity: str, phase: dict, vstar: np.ndarray, psi: np.ndarray,
          fit: np.ndarray, mods: dict | None, use_subject: bool) -> dict:
    """Segment orientations, joint angles and segment origins relative to the pelvis origin.

    Returns a dict with ``rot``, ``rel``, ``angles``, ``pelvis_angles`` and, per side, the
    soft-lowest sole height relative to the pelvis ``low`` (N,) and the contact point in
    the foot frame ``contact`` (N, 3) (rolling contact of the sole circles of
    :func:`~imukin.simulation.body.foot_sole`).
    """
    n = len(vstar)
    up = _poly_u(activity, vstar)  # (N, 4)
    curves = {s: _side_curves(activity, subject, s, phase[s], up, fit, None if mods is None else mods[s],
                              use_subject) for s in SIDES}  # side -> (N, 12)
    pel = 0.5 * (curves["right"][:, :3] + curves["left"][:, :3] * _PELVIS_MIRROR)  # (N, 3) right view
    r_pelvis = _rot_y(psi) @ pelvis_rotation_from_angles(pel)  # (N,3,3)
    rot = {"pelvis": r_pelvis}
    rel = {"pelvis": np.zeros((n, 3))}
    angles, low, contact = {}, {}, {}
    centres_r, radii = foot_sole(subject)  # (4, 3), (4,) right foot
    for side in SIDES:
        hip, knee, ankle = (curves[side][:, 3 * j:3 * j + 3] for j in (1, 2, 3))
        for jn, a in zip(JOINT_NAMES, (hip, knee, ankle)):
            angles[joint_name(jn, side)] = a
        th, sh, ft = (segment_name(s, side) for s in ("thigh", "shank", "foot"))
        rot[th] = r_pelvis @ angles_to_relative_rotation(hip, "hip", side)
        rot[sh] = rot[th] @ angles_to_relative_rotation(knee, "knee", side)
        rot[ft] = rot[sh] @ angles_to_relative_rotation(ankle, "ankle", side)
        zs = 1.0 if side == "right" else -1.0
        rel[th] = r_pelvis[:, :, 2] * (zs * 0.5 * subject.pelvis_width_m)
        rel[sh] = rel[th] - rot[th][:, :, 1] * subject.thigh_length_m
        rel[ft] = rel[sh] - rot[sh][:, :, 1] * subject.shank_length_m
        # rolling contact: the lowest point of each sole circle, then a soft choice among them
        centres = centres_r * np.array([1.0, 1.0, zs])  # (4, 3) foot frame
        r_y = np.ascontiguousarray(rot[ft][:, 1, :])  # (N, 3) lab heights of the foot axes
        tilt = np.sqrt(np.maximum(1.0 - r_y[:, 2] ** 2, 1e-9))  # (N,) |down projected on the foot x-y plane|
        down = (r_y * np.array([-1.0, -1.0, 0.0])) / tilt[:, None]  # (N, 3) that direction, foot frame
        h = rel[ft][:, 1:2] + r_y @ centres.T - radii * tilt[:, None]  # (N, 4) circle bottoms rel. pelvis
        hmin = h.min(axis=1, keepdims=True)
        e = np.exp(-(h - hmin) / _SOLE_SOFT_M)  # (N, 4)
        esum = e.sum(axis=1)
        low[side] = hmin[:, 0] - _SOLE_SOFT_M * np.log(esum)  # (N,) soft-min height
        wgt = e / esum[:, None]
        contact[side] = wgt @ centres + (wgt @ radii)[:, None] * down  # (N, 3) contact point, foot frame
    return {"rot": rot, "rel": rel, "angles": angles, "pelvis_angles": pel, "low": low, "contact": contact}


def _forward(subject: SubjectParams, activity: str, fs: float, phase: dict, vstar: np.ndarray, psi: np.ndarray,
             fit: np.ndarray, mods: dict | None, use_subject: bool, t0: float = 0.0) -> dict:
    """:func:`_pose` plus the whole-body translation from ground contact (``pelvis_pos`` (N,3), and
    ``toe_offs``: toe-off times in s, the first sample being at ``t0``)."""
    res = _pose(subject, activity, phase, vstar, psi, fit, mods, use_subject)
    rot, rel, low = res["rot"], res["rel"], res["low"]
    dt = 1.0 / fs
    vel_c = {}
    for side in SIDES:
        ft = segment_name("foot", side)
        # velocity (relative to the pelvis) of the material point under the foot: v_origin + R' p
        v_org = np.gradient(rel[ft][:, [0, 2]], dt, axis=0)  # (N, 2)
        r_dot = np.gradient(rot[ft][:, [0, 2], :], dt, axis=0)  # (N, 2, 3)
        vel_c[side] = v_org + np.einsum("nkj,nj->nk", r_dot, res["contact"][side])  # (N, 2)
    if activity == "walking":
        y, v_h = _walking_translation(fs, phase, fit[:, _FIT_TOE_OFF], low, vel_c)
    else:
        y, v_h = _running_translation(fs, phase, fit[:, _FIT_TOE_OFF], low, vel_c)
    t = t0 + np.arange(len(vstar)) / fs
    toe_offs = {sd: _crossings(phase[sd] - fit[:, _FIT_TOE_OFF], t) for sd in SIDES}  # phase passes k + beta
    xz = np.concatenate([np.zeros((1, 2)), np.cumsum(0.5 * (v_h[1:] + v_h[:-1]) * dt, axis=0)])  # (N, 2)
    res["pelvis_pos"] = np.column_stack([xz[:, 0], y, xz[:, 1]])
    res["toe_offs"] = toe_offs
    res["vel_c"] = vel_c
    return res


def _crossings(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Times where a non-decreasing x passes an integer (linear interpolation)."""
    k = np.floor(x)
    i = np.flatnonzero(k[1:] > k[:-1])
    frac = (k[i + 1] - x[i]) / np.maximum(x[i + 1] - x[i], 1e-12)
    return t[i] + frac * (t[i + 1] - t[i])


def _walking_translation(fs: float, phase: dict, beta: np.ndarray, low: dict, vel_c: dict):
    """Walking: the foot in stance by its phase (toe-off at ``beta`` (N,) of the cycle) carries
    the body; the load passes from the trailing to the leading foot across double support;
    no foot ever enters the ground.

    Returns the pelvis height (N,) and horizontal velocity (N, 2) [x, z].
    """
    ds = beta - 0.5  # double support, cycles
    load = {}
    for side in SIDES:
        frac = phase[side] - np.floor(phase[side])
        load[side] = _smootherstep(frac / ds) * _smootherstep((beta - frac) / ds)  # (N,)
    total = np.maximum(load["right"] + load["left"], 1e-6)
    w_r = load["right"] / total  # (N,) share of the right foot
    y_load = -(w_r * low["right"] + (1.0 - w_r) * low["left"])  # pelvis height with the loaded foot down
    lo = np.minimum(low["right"], low["left"])
    soft_low = lo - _CONTACT_SOFT_M * np.log(np.exp((lo - low["right"]) / _CONTACT_SOFT_M)
                                             + np.exp((lo - low["left"]) / _CONTACT_SOFT_M))
    y = y_load + _softplus(-soft_low - y_load, _CONTACT_SOFT_M)  # never so low that a foot enters the ground
    v_h = -(w_r[:, None] * vel_c["right"] + (1.0 - w_r)[:, None] * vel_c["left"])  # (N, 2)
    # jerk-limited smoothing: heel strikes and load hand-overs without unphysical spikes
    ones = np.ones_like(y)
    y = _ballistic_fit(y, ones, fs, 2, 0.0, *_WALK_FIT_VERTICAL)
    v_h = np.stack([_ballistic_fit(v_h[:, k], ones, fs, 1, 0.0, *_WALK_FIT_HORIZONTAL) for k in range(2)], axis=1)
    return y, v_h


def _softplus(x: np.ndarray, tau: float) -> np.ndarray:
    return tau * np.logaddexp(0.0, x / tau)


def _running_translation(fs: float, phase: dict, beta: np.ndarray, low: dict, vel_c: dict):
    """Running: stance by phase (heel strike to toe-off at ``beta`` (N,) of the cycle), ballistic
    flight between stances; returns the pelvis height (N,) and horizontal velocity (N, 2).

    The stance foot sets the height and (no slip) the velocity; flights are parabolas
    (acceleration -g) between the toe-off and landing heights. The horizontal velocity in
    flight is constant from one stance to the next: the adjoining stances' mean speed
    over the mean of their dip course (:data:`RUN_SPEED_DIP`), as a runner's speed is the
    same at toe-off and at the next contact. The no-slip velocity is followed in the middle
    of stance only (:data:`_RUN_CONTACT_EDGE`): at contact and toe-off the templates' rolling
    heel and toe give no-slip speeds far from the body's. :func:`_ballistic_fit` then joins
    stance and flight with bounded jerk."""
    n = len(beta)
    t = np.arange(n) / fs
    ramp = 0.03  # cycles, width of the load hand-over at contact and toe-off
    w, w_mid, hs, to = {}, {}, {}, {}
    for side in SIDES:
        p = phase[side]
        frac = p - np.floor(p)
        d_hs = (frac + 0.5) % 1.0 - 0.5  # cycles since heel strike, in [-0.5, 0.5)
        w[side] = _smootherstep(d_hs / ramp + 0.5) * _smootherstep((beta - d_hs) / ramp + 0.5)
        w_mid[side] = w[side] * _stance_middle(d_hs / beta)
        hs[side] = _crossings(p, t)
        to[side] = _crossings(p - beta, t)  # toe-off: phase passes k + beta
    wsum = w["right"] + w["left"]  # (N,) in [0, 1]
    wmid = w_mid["right"] + w_mid["left"]  # (N,) in [0, 1]
    safe = np.maximum(wsum, 1e-12)
    y_st = -(w["right"] * low["right"] + w["left"] * low["left"]) / safe  # (N,)
    v_st = -(w["right"][:, None] * vel_c["right"] + w["left"][:, None] * vel_c["left"]) / safe[:, None]
    # flights: from each toe-off to the next heel strike of either foot
    t_to = np.concatenate([to["right"], to["left"]])
    t_hs = np.sort(np.concatenate([hs["right"], hs["left"]]))
    t_to = np.sort(t_to)
    y, v = y_st.copy(), v_st.copy()
    if len(t_to) and len(t_hs):
        j = np.searchsorted(t_hs, t_to)
        ok = j < len(t_hs)
        t0, t1 = t_to[ok], t_hs[j[ok]]
        y_ref = lambda tt: np.interp(tt, t, y_st)  # noqa: E731
        y0, y1 = y_ref(t0), y_ref(t1)
        k1 = np.minimum(np.searchsorted(t_to, t1), len(t_to) - 1)
        v0 = _stance_mean(v_st, wmid, t, t_hs[np.maximum(j[ok] - 1, 0)], t0) / _RUN_STANCE_MEAN_SPEED  # (K, 2)
        v1 = _stance_mean(v_st, wmid, t, t1, t_to[k1]) / _RUN_STANCE_MEAN_SPEED
        # each sample belongs to the flight whose [previous stance middle, next stance middle] holds it
        mids = 0.5 * (t1[:-1] + t0[1:])
        f = np.searchsorted(mids, t)  # (N,) flight index
        a, b = t0[f], t1[f]
        s = (t - a) / np.maximum(b - a, 1e-9)
        y_fl = y0[f] + s * (y1[f] - y0[f]) + 0.5 * G * (t - a) * (b - t)  # curvature -g through both ends
        v_fl = v0[f] + np.clip(s, 0.0, 1.0)[:, None] * (v1[f] - v0[f])  # (N, 2), constant speed in flight
        y = wsum * y_st + (1.0 - wsum) * y_fl
        v = wmid[:, None] * v_st + (1.0 - wmid)[:, None] * v_fl
    y = _ballistic_fit(y, wsum, fs, 2, -G, *_RUN_FIT_VERTICAL)
    ones = np.ones_like(wmid)
    v = np.stack([_ballistic_fit(v[:, k], ones, fs, 1, 0.0, *_RUN_FIT_HORIZONTAL) for k in range(2)], axis=1)
    return y, v


#: Running: fraction of stance at contact and at toe-off over which the horizontal velocity passes from
#: the flight value to the no-slip one (see :func:`_running_translation`).
_RUN_CONTACT_EDGE = 0.2


def _stance_middle(s: np.ndarray) -> np.ndarray:
    """Weight (0-1) of the no-slip velocity at the fraction ``s`` of stance gone (0 outside stance)."""
    s = np.clip(s, 0.0, 1.0)
    return _smootherstep(s / _RUN_CONTACT_EDGE) * _smootherstep((1.0 - s) / _RUN_CONTACT_EDGE)


def _stance_speed_course_mean() -> float:
    """Mean of the stance speed course ``1 - RUN_SPEED_DIP sin(pi s)`` under :func:`_stance_middle`."""
    s = np.linspace(0.0, 1.0, 2001)
    m = _stance_middle(s)
    return float(np.sum(m * (1.0 - RUN_SPEED_DIP * np.sin(np.pi * s))) / np.sum(m))


def _stance_mean(v: np.ndarray, weight: np.ndarray, t: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Weighted mean of ``v`` (N, C) over the samples in each ``[start_k, end_k]`` (K,): (K, C); the
    value at ``end_k`` where the interval holds no weight."""
    c = np.concatenate([np.zeros((1, v.shape[1])), np.cumsum(weight[:, None] * v, axis=0)])  # (N + 1, C)
    cw = np.concatenate([[0.0], np.cumsum(weight)])  # (N + 1,)
    i0 = np.searchsorted(t, start, side="left")
    i1 = np.searchsorted(t, end, side="right")
    sw = (cw[i1] - cw[i0])[:, None]
    at_end = np.stack([np.interp(end, t, v[:, k]) for k in range(v.shape[1])], axis=1)
    return np.where(sw > 1e-9, (c[i1] - c[i0]) / np.maximum(sw, 1e-9), at_end)


#: Running: mean of the stance speed course over the middle of stance, relative to the flight speed.
_RUN_STANCE_MEAN_SPEED = _stance_speed_course_mean()


def _banded_gram(stencil: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    """Upper banded form (B, n) of ``D^T diag(weight) D`` for the difference operator D whose rows
    are ``stencil`` at offsets 0..n-len(stencil); ``weight`` has one entry per row; B = 4."""
    m = len(stencil)
    ab = np.zeros((4, n))
    idx = np.arange(len(weight))
    for a in range(m):
        for b in range(a, m):  # entry (i+a, i+b) gets weight_i * c_a * c_b
            ab[3 - (b - a), idx + b] += weight * stencil[a] * stencil[b]
    return ab


#: Finite-difference stencils of the first, second and third derivative (divide by dt^k).
_STENCILS = {1: np.array([-1.0, 1.0]), 2: np.array([1.0, -2.0, 1.0]), 3: np.array([-1.0, 3.0, -3.0, 1.0])}


def _ballistic_fit(ref: np.ndarray, stance_w: np.ndarray, fs: float, order: int, free_value: float,
                   sigma_ref: float, sigma_free: float, sigma_smooth: float) -> np.ndarray:
    """Smooth signal x that follows ``ref`` in stance and moves freely (ballistically) in flight.

    Least squares, one banded linear solve; per sample: the stance weight ``w`` times
    ``((x - ref) / sigma_ref)^2``, plus ``(1 - w) ((x^(order) - free_value) / sigma_free)^2``
    (flight: the order-th derivative takes its free value, e.g. a vertical acceleration of
    -g, or a horizontal acceleration of 0 for a velocity signal), plus
    ``(x^(order + 1) / sigma_smooth)^2`` (bounded jerk at the transitions).
    """
    n, dt = len(ref), 1.0 / fs
    d_free = _STENCILS[order] / dt ** order
    d_smooth = _STENCILS[order + 1] / dt ** (order + 1)
    w_ref = stance_w / sigma_ref ** 2  # (N,)
    k = len(d_free)
    w_free = (1.0 - stance_w[(k - 1) // 2: n - k // 2]) / sigma_free ** 2  # (N-k+1,) at the stencil centres
    ab = _banded_gram(d_smooth, np.full(n - len(d_smooth) + 1, 1.0 / sigma_smooth ** 2), n)
    ab += _banded_gram(d_free, w_free, n)
    ab[-1] += w_ref
    rhs = w_ref * ref
    for j, c in enumerate(d_free):  # D^T (w_free * free_value)
        rhs[j:n - k + 1 + j] += c * w_free * free_value
    return solveh_banded(ab, rhs)


# ---------------------------------------------------------------- cadence
def step_frequency_hz(activity: str, speed_m_s, leg_length_m: float = 0.91) -> np.ndarray:
    """Population step frequency (steps/s) at a speed, for a leg length (hip centre to floor).

    Walking: stride length / leg length = 2.64 v*^0.66 with ``v* = v / sqrt(g L)``, fitted
    to adult overground cadence (about 1.6 Hz at 0.8 m/s, 1.87 Hz at 1.3 m/s, 2.2 Hz at
    2.0 m/s for a 0.91 m leg; the form of Grieve 1968 / Alexander 1984). Running:
    ``(2.2 + 0.15 v) (0.91 / L)^0.3`` Hz (about 2.5 Hz at 2 m/s, 2.7 at 3.3, 2.95 at 5;
    Cavanagh & Kram 1989; Heiderscheit et al. 2011).
    """
    v = np.asarray(speed_m_s, float)
    if activity == "running":
        return (2.2 + 0.15 * v) * (0.91 / leg_length_m) ** 0.3
    vstar = np.maximum(v, 1e-3) / np.sqrt(G * leg_length_m)
    stride_len = 2.64 * vstar ** 0.66 * leg_length_m
    return 2.0 * v / stride_len


def _stride_length(subject: SubjectParams, activity: str, vstar: float, fit: np.ndarray, use_subject: bool) -> float:
    """No-slip stride length (m) at constant speed: the middle stride of 2.5 one-second strides."""
    fs = 100.0  # samples per stride
    t = np.arange(int(2.5 * fs) + 1) / fs
    ph = {"right": t.copy(), "left": t + 0.5 + (subject.phase_asym if use_subject else 0.0)}
    x = _forward(subject, activity, fs, ph, np.full(t.shape, vstar), np.zeros(t.shape), np.tile(fit, (len(t), 1)),
                 None, use_subject)["pelvis_pos"][:, 0]
    return float(x[int(2 * fs)] - x[int(fs)])


def _double_support_gap(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool):
    """Height (m) of the landing foot above the trailing foot over double support.

    Returns ``(lead_phase, gap, correction)``: the landing leg's phase (M,) after its heel
    strike, the gap (M,) averaged over the right and left heel strikes, and the trailing-leg
    correction (deg, M,) that ``fit`` applies there.
    """
    asym = subject.phase_asym if use_subject else 0.0
    ds = float(stance_fraction("walking", vstar)) - 0.5
    lead = np.linspace(0.0, ds + 0.01, 14)  # (M,)
    m = len(lead)
    pr = np.concatenate([lead, lead + 0.5 - asym])  # right leading, then left leading
    ph = {"right": pr, "left": pr + 0.5 + asym}
    res = _pose(subject, "walking", ph, np.full(2 * m, vstar), np.zeros(2 * m), np.tile(fit, (2 * m, 1)), None,
                use_subject)
    d = res["low"]["right"] - res["low"]["left"]  # (2M,)
    gap = 0.5 * (d[:m] - d[m:])
    corr = _trail_fit_basis(ph["left"][:m]) @ fit[_FIT_TRAIL]  # correction on the trailing leg (both sides)
    return lead, gap, corr


def _fit_ground(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool) -> np.ndarray:
    """Fit the hip posture and the trailing-leg correction to the ground (two Gauss-Newton steps):
    the landing heel touches the ground at heel strike and is never above the trailing foot
    during double support."""
    for _ in range(2):
        # hip flexion offset: closes the gap at heel strike (about 5 mm per degree)
        _, gap, _ = _double_support_gap(subject, vstar, fit, use_subject)
        bumped = fit.copy()
        bumped[_FIT_HIP] += 2.0
        _, gap_b, _ = _double_support_gap(subject, vstar, bumped, use_subject)
        if abs(gap_b[0] - gap[0]) > 1e-6:
            fit = fit.copy()
            fit[_FIT_HIP] = float(np.clip(fit[_FIT_HIP] - 2.0 * gap[0] / (gap_b[0] - gap[0]), *_HIP_FIT_RANGE))
        # trailing-leg correction: the shape of the gap over double support
        lead, gap, corr = _double_support_gap(subject, vstar, fit, use_subject)
        sens = {}
        for sgn in (1.0, -1.0):  # raising and lowering the trailing foot act through different joints
            bumped = fit.copy()
            bumped[_FIT_TRAIL] += 5.0 * sgn
            _, gap_b, corr_b = _double_support_gap(subject, vstar, bumped, use_subject)
            dc = corr_b - corr
            sens[sgn] = (gap_b - gap) / np.where(np.abs(dc) > 1e-6, dc, 1e-6)  # (M,) m per deg
        s_dir = np.where(gap > 0.0, sens[1.0], sens[-1.0])
        want = ((lead <= 0.02) | (gap > 0.0)) & (np.abs(s_dir) > 1e-5)  # touch at heel strike; landing
        #   foot never above the trailing one afterwards
        target = corr - np.where(want, gap / np.where(want, s_dir, 1.0), 0.0)
        target = np.clip(target, *_TRAIL_FIT_RANGE)
        basis = _trail_fit_basis(lead + 0.5)  # (M, J)
        wt = np.where(lead <= 0.02, 5.0, 1.0)[:, None]  # the heel-strike contact itself matters most
        fit = fit.copy()
        d2 = np.diff(np.eye(basis.shape[1]), 2, axis=0)  # smoothness: neighbouring bumps alike
        fit[_FIT_TRAIL] = np.linalg.solve((wt * basis).T @ basis + 0.5 * d2.T @ d2 + 0.01 * np.eye(basis.shape[1]),
                                          (wt * basis).T @ target)
    return fit


def _canonical_stride(subject: SubjectParams, activity: str, vstar: float, fit: np.ndarray, use_subject: bool):
    """Two canonical strides (1 s each, 400 samples per stride, constant ``vstar`` and ``fit``).

    Returns ``(phase per side, the :func:`_forward` result, slice of the second stride)``.
    """
    fs = 400.0  # samples per (1 s) stride
    t = np.arange(int(2 * fs)) / fs
    asym = subject.phase_asym if use_subject else 0.0
    ph = {"right": t.copy(), "left": t + 0.5 + asym}
    res = _forward(subject, activity, fs, ph, np.full(t.shape, vstar), np.zeros(t.shape),
                   np.tile(fit, (len(t), 1)), None, use_subject)
    return ph, res, slice(int(fs), int(2 * fs))  # second stride, phase 0..1


def _stance_sweep(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool):
    """Running, one canonical stride (1 s): stance weights and the stance foot's backward speed
    relative to the pelvis per unit phase (m per cycle), on a phase grid.

    Returns ``(phase (M,), stance weight (M,), sweep speed (M,), dip (M,))``; ``dip`` is the
    stance-weighted ``sin(pi s)`` of the fraction ``s`` of stance gone (0 at contact and
    toe-off, 1 at mid-stance).
    """
    ph, res, sl = _canonical_stride(subject, "running", vstar, fit, use_subject)
    asym = subject.phase_asym if use_subject else 0.0
    phase = ph["right"][sl] - 1.0
    beta, ramp = fit[_FIT_TOE_OFF], 0.03
    stance, sweep, dip = np.zeros(len(phase)), np.zeros(len(phase)), np.zeros(len(phase))
    for side, p0 in (("right", phase), ("left", phase + 0.5 + asym)):
        d = (p0 + 0.5) % 1.0 - 0.5
        w = _smootherstep(d / ramp + 0.5) * _smootherstep((beta - d) / ramp + 0.5)
        stance += w
        sweep += w * np.linalg.norm(res["vel_c"][side][sl], axis=1)
        dip += w * np.sin(np.pi * np.clip(d / beta, 0.0, 1.0))
    return phase, stance, sweep, dip


def _run_warp(subject: SubjectParams, vstar: float, fit: np.ndarray, stride_m: float, use_subject: bool) -> np.ndarray:
    """Running: phase warp that gives the no-slip horizontal speed the course of real running.

    The stance leg of the templates does not sweep back at a steady rate (the knee flexes
    and extends under load). A runner's horizontal speed is constant in flight (no
    horizontal force) and dips in stance, braking in its first half and propelled in the
    second (the spring-mass model), by about :data:`RUN_SPEED_DIP` at mid-stance. The
    phase therefore advances at a rate inversely proportional to the stance foot's
    backward speed relative to the pelvis (per unit phase) times that course, and uniformly
    in flight, so that a uniform clock ``u`` gives the stride length ``stride_m``.
    Returns the Fourier coefficients (1 + 2 _WARP_HARMONICS,) of the periodic ``phase(u) - u``.
    """
    phase, stance, sweep, dip = _stance_sweep(subject, vstar, fit, use_subject)
    rate = sweep / stride_m  # du/dphase in stance for an even speed
    # the dip course, with the stance's total time (the template's duty factor) kept
    rate = rate / (1.0 - RUN_SPEED_DIP * dip) * (float(np.sum(rate)) / max(float(np.sum(rate / (1.0 - RUN_SPEED_DIP * dip))), 1e-12))
    flight = (1.0 - float(np.mean(rate))) / max(float(np.mean(1.0 - stance)), 1e-6)
    dudp = rate + (1.0 - stance) * max(flight, 0.3)
    # smooth circularly (Gaussian, SD 0.015 cycles) so the phase rate has no kinks
    return _warp_coefficients(phase, dudp, smooth=0.015, floor=0.05)


def _warp_coefficients(phase: np.ndarray, dudp: np.ndarray, smooth: float, floor: float) -> np.ndarray:
    """Fourier coefficients (1 + 2 _WARP_HARMONICS,) of the periodic ``phase(u) - u`` of a phase warp.

    ``dudp`` (M,) is the clock's rate per unit phase on the periodic ``phase`` grid (M,); it is
    smoothed circularly (Gaussian, SD ``smooth`` cycles), kept above ``floor`` and integrated
    to the clock ``u(phase)``, normalised to one cycle, and inverted on a uniform clock grid.
    """
    n = len(phase)
    k = np.fft.rfftfreq(n, d=1.0 / n)
    dudp = np.fft.irfft(np.fft.rfft(dudp) * np.exp(-0.5 * (2 * np.pi * k * smooth) ** 2), n=n)
    dudp = np.maximum(dudp, floor)
    u = np.concatenate([[0.0], np.cumsum(0.5 * (dudp[1:] + dudp[:-1]) / n)])
    u /= u[-1] + 0.5 * (dudp[-1] + dudp[0]) / n
    grid_u = np.arange(512) / 512
    phase_of_u = np.interp(grid_u, u, phase)  # (512,)
    f = np.fft.rfft(phase_of_u - grid_u) / len(grid_u)
    coef = np.empty(1 + 2 * _WARP_HARMONICS)
    coef[0] = f[0].real
    coef[1::2] = 2.0 * f[1:_WARP_HARMONICS + 1].real
    coef[2::2] = -2.0 * f[1:_WARP_HARMONICS + 1].imag
    return coef


def _walk_sweep(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool):
    """Walking, one canonical stride (1 s): the no-slip pelvis speed per unit phase (m per cycle)
    that the loaded feet give (load shares as in :func:`_walking_translation`), on a phase grid.

    Returns ``(phase (M,), sweep speed (M,), pelvis height over the loaded feet (M,))``.
    """
    ph, res, sl = _canonical_stride(subject, "walking", vstar, fit, use_subject)
    beta = fit[_FIT_TOE_OFF]
    ds = beta - 0.5
    load = {}
    for side in SIDES:
        frac = ph[side][sl] - np.floor(ph[side][sl])
        load[side] = _smootherstep(frac / ds) * _smootherstep((beta - frac) / ds)
    w_r = load["right"] / np.maximum(load["right"] + load["left"], 1e-6)
    v = w_r[:, None] * res["vel_c"]["right"][sl] + (1.0 - w_r)[:, None] * res["vel_c"]["left"][sl]  # (M, 2)
    height = -(w_r * res["low"]["right"][sl] + (1.0 - w_r) * res["low"]["left"][sl])  # (M,) pelvis over the load
    return ph["right"][sl] - 1.0, np.linalg.norm(v, axis=1), height


def _walk_warp(subject: SubjectParams, vstar: float, fit: np.ndarray, use_subject: bool) -> np.ndarray:
    """Walking: phase warp that gives the no-slip pelvis speed the course of real walking.

    The templates' stance kinematics sweep the loaded foot back unevenly (slowly in loading
    response, fast in mid-stance), so the no-slip pelvis speed of the unwarped templates
    swings between about 0.1 and 2.5 times its mean within each step, and the pelvis moves
    fastest when it is highest: the opposite of real walking, whose forward speed varies by
    about 10 % and is lowest at mid-stance (inverted pendulum; Zijlstra & Hof 2003). The
    phase therefore advances at a rate inversely proportional to that speed times the target
    course ``1 - WALK_SPEED_SWING * h`` (``h`` the pelvis height over the loaded feet, scaled to
    +-1), bounded to [:data:`WALK_WARP_RATE_RANGE`] times the mean and smoothed, so a uniform
    clock gives a forward speed that dips by about :data:`WALK_SPEED_SWING` when the pelvis is
    highest, with the stride length and cadence unchanged. Returns the
    Fourier coefficients (1 + 2 _WARP_HARMONICS,) of the periodic ``phase(u) - u``.
    """
    phase, sweep, height = _walk_sweep(subject, vstar, fit, use_subject)
    dev = height - float(np.mean(height))
    v_target = 1.0 - WALK_SPEED_SWING * dev / max(float(np.max(np.abs(dev))), 1e-6)  # slowest when highest
    dudp = np.clip(sweep / v_target / max(float(np.mean(sweep / v_target)), 1e-6), *WALK_WARP_RATE_RANGE)
    return _warp_coefficients(phase, dudp, smooth=WALK_WARP_SMOOTH, floor=WALK_WARP_RATE_RANGE[0])


def _stride_table(subject: SubjectParams, activity: str, use_subject: bool):
    """Per-subject fit of the kinematics to the ground on a grid of v*.

    Returns ``(grid (G,), fit (G, _N_FIT), stride length (G,) m, warp (G, 1 + 2W))``; the fit
    slots are :data:`_FIT_SCALE` etc. Walking: the stride scale (hip flexion and pelvic
    rotation range) makes the no-slip stride length equal the cadence law's ``speed /
    stride frequency`` (the length returned is what the kinematics produce, linear in the
    scale), and a hip flexion offset and the trailing-leg correction put both feet on the
    ground when the heel lands. Running: the stride scale makes the stance sweep the
    contact length of the template's stance fraction, the stride length is the cadence
    law's, and the phase warp (:func:`_run_warp`) keeps the speed even.
    """
    lo, hi = VSTAR_RANGE[activity]
    grid = np.linspace(lo, hi, 5)
    fit_tab, lengths = np.zeros((len(grid), _N_FIT)), np.empty(len(grid))
    warp = np.zeros((len(grid), 1 + 2 * _WARP_HARMONICS))
    for i, v in enumerate(grid):
        speed = float(subject.speed_m_s(v))
        step_hz = subject.cadence_factor * float(step_frequency_hz(activity, speed, subject.leg_length_m))
        target = 2.0 * speed / step_hz  # stride length (m) of the cadence law
        fit = np.zeros(_N_FIT)
        fit[_FIT_SCALE] = 1.0
        fit[_FIT_TOE_OFF] = float(stance_fraction(activity, v))
        if activity == "running":  # stride length from the cadence law; the warp keeps the speed even
            contact = target * fit[_FIT_TOE_OFF]  # contact length (m) for the template's stance fraction
            for _ in range(2):  # the stride scale makes the stance sweep that long
                s1 = float(np.mean(_stance_sweep(subject, v, fit, use_subject)[2])) / 2.0
                f2 = fit.copy()
                f2[_FIT_SCALE] += 0.2
                s2 = float(np.mean(_stance_sweep(subject, v, f2, use_subject)[2])) / 2.0
                if abs(s2 - s1) > 1e-6:
                    fit[_FIT_SCALE] = float(np.clip(fit[_FIT_SCALE] + 0.2 * (contact - s1) / (s2 - s1),
                                                    *_STRIDE_SCALE_RANGE))
            fit_tab[i], lengths[i] = fit, target
            warp[i] = _run_warp(subject, v, fit, target, use_subject)
            continue
        for _ in range(2):  # the ground fit and the stride scale depend on each other
            if activity == "walking":
                fit = _fit_ground(subject, v, fit, use_subject)
            s1 = _stride_length(subject, activity, v, fit, use_subject)
            f2 = fit.copy()
            f2[_FIT_SCALE] += 0.2
            s2 = _stride_length(subject, activity, v, f2, use_subject)
            k = fit[_FIT_SCALE] + 0.2 * (target - s1) / (s2 - s1) if abs(s2 - s1) > 1e-6 else fit[_FIT_SCALE]
            k = float(np.clip(k, *_STRIDE_SCALE_RANGE))
            lengths[i] = s1 + (k - fit[_FIT_SCALE]) / 0.2 * (s2 - s1)
            fit[_FIT_SCALE] = k
        fit_tab[i] = fit
        if activity == "walking":
            warp[i] = _walk_warp(subject, v, fit, use_subject)
    return grid, fit_tab, lengths, warp


# ---------------------------------------------------------------- public entry point
def generate_gait(subject: SubjectParams, cfg: GaitConfig | None = None,
                  rng: np.random.Generator | None = None) -> Kinematics:
    """Generate one walking or running sequence.

    Parameters
    ----------
    subject : SubjectParams
        Body and style (see :func:`imukin.simulation.body.draw_subject`).
    cfg : GaitConfig, optional
        Activity, duration, rate, speed profile, turns, variability.
    rng : numpy.random.Generator, optional
        The only source of randomness: the same seed gives identical arrays.

    Returns
    -------
    Kinematics
    """
    cfg = cfg or GaitConfig()
    rng = rng if rng is not None else np.random.default_rng()
    if not isinstance(subject, SubjectParams):
        raise ImukinError(f"generate_gait needs a SubjectParams, got {type(subject).__name__}; "
                          f"use imukin.simulation.body.draw_subject")
    act, fs = cfg.activity, float(cfg.fs_internal)
    n = int(round(cfg.duration_s * fs))
    if n < 10:
        raise ImukinError(f"duration {cfg.duration_s} s at {fs} Hz gives only {n} samples; make it longer")
    m = int(round(_MARGIN_S * fs))  # extra samples simulated on both sides, then cut off
    t = (np.arange(n + 2 * m) - m) / fs  # (N + 2m,)
    speed = _speed_profile(t, cfg, rng)  # (N+2m,)
    psi = _heading_profile(t, cfg, rng)  # (N+2m,)
    vstar = subject.dimensionless_speed(speed)  # (N+2m,)
    use_subject = cfg.subject_variation

    # stride frequency = speed / stride length of the subject's own (scaled) kinematics
    grid, fit_grid, sl_grid, warp_grid = _stride_table(subject, act, use_subject)
    vc = np.clip(vstar, grid[0], grid[-1])
    fit = CubicSpline(grid, fit_grid)(vc)  # (N+2m, _N_FIT) per-subject ground fit
    f0 = speed / CubicSpline(grid, sl_grid)(vc)  # (N+2m,) strides per second
    jitter = _smooth_noise(t, 1.0 / float(np.mean(f0)), cfg.stride_time_cv, rng)[:, 0]
    freq = f0 * (1.0 - jitter)
    u_r = float(rng.random()) + np.concatenate([[0.0], np.cumsum(0.5 * (freq[1:] + freq[:-1]) / fs)])  # clock
    step_jit = _smooth_noise(u_r, 1.0, cfg.step_phase_sd, rng)[:, 0]
    u_l = u_r + 0.5 + (subject.phase_asym if use_subject else 0.0) + step_jit
    phase = {"right": u_r, "left": u_l}
    # an even speed through the stride (see _walk_warp and _run_warp)
    warp = CubicSpline(grid, warp_grid)(vc)  # (N+2m, 1 + 2W)
    phase = {sd: u + np.sum(warp * _fourier_basis(u, _WARP_HARMONICS), axis=1) for sd, u in phase.items()}

    mods = {}
    off_sd = cfg.stride_offset_sd_deg * _STRIDE_OFFSET_WEIGHT
    for side in SIDES:
        a = _smooth_noise(phase[side], 1.0, np.full(N_CURVES, cfg.stride_amp_sd), rng, N_CURVES)
        o = _smooth_noise(phase[side], 1.0, off_sd, rng, N_CURVES)
        mods[side] = _Curves(scale=1.0 + a, offset=o)

    res = _forward(subject, act, fs, phase, vstar, psi, fit, mods, use_subject, t0=float(t[0]))
    keep = slice(m, m + n)
    p0 = res["pelvis_pos"][keep] - res["pelvis_pos"][m] * np.array([1.0, 0.0, 1.0])  # start above the origin
    t_out = t[keep]
    within = lambda ev: ev[(ev >= t_out[0]) & (ev <= t_out[-1])]  # noqa: E731
    return Kinematics(
        t=t_out, fs=fs,
        rot={seg: r[keep] for seg, r in res["rot"].items()},
        pos={seg: p0 + r[keep] for seg, r in res["rel"].items()},
        angles={j: a[keep] for j, a in res["angles"].items()},
        speed=speed[keep],
        heel_strikes={s: within(_crossings(phase[s], t)) for s in SIDES},
        subject=subject,
        pelvis_angles=res["pelvis_angles"][keep],
        heading_deg=np.rad2deg(psi[keep]),
        toe_offs={s: within(ev) for s, ev in res["toe_offs"].items()},
    )


# ---------------------------------------------------------------- analysis helper
def normalise_cycles(x: np.ndarray, t: np.ndarray, heel_strikes: np.ndarray, n_points: int = 51) -> np.ndarray:
    """Time-normalise a signal into gait cycles (heel strike to next heel strike).

    Parameters
    ----------
    x : ndarray, shape (N, ...)
    t : ndarray, shape (N,)
    heel_strikes : ndarray, shape (K,)
        Cycle start times; cycles not fully inside ``t`` are skipped.
    n_points : int
        Samples per cycle, 0 % to 100 % inclusive (51 -> every 2 %).

    Returns
    -------
    ndarray, shape (n_cycles, n_points, ...)
    """
    hs = np.asarray(heel_strikes, float)
    hs = hs[(hs >= t[0]) & (hs <= t[-1])]
    if len(hs) < 2:
        raise ImukinError("need at least two heel strikes inside the signal to cut gait cycles")
    frac = np.linspace(0.0, 1.0, n_points)
    tq = (hs[:-1, None] + (hs[1:] - hs[:-1])[:, None] * frac).ravel()  # (C * n_points,)
    flat = np.asarray(x, float).reshape(len(t), -1)
    out = np.stack([np.interp(tq, t, flat[:, k]) for k in range(flat.shape[1])], axis=1)
    return out.reshape(len(hs) - 1, n_points, *np.asarray(x).shape[1:])
