"""Segment poses relative to the pelvis from the joint-angle curves, and the pelvis angles.

The curves of each side are the templates (:mod:`imukin.simulation.gait.templates`) plus the
subject's deviation and asymmetry, the stride-to-stride modulation and the per-subject fit
to the ground (:data:`FIT_SCALE` and the other slots). Forward kinematics goes through
:func:`imukin.conventions.angles_to_relative_rotation`:
``R_thigh = R_pelvis @ angles_to_relative_rotation(hip, "hip", side)`` and so on, so
:func:`imukin.conventions.joint_angles` returns the curves exactly. Each sole is four
rolling circles (:func:`~imukin.simulation.body.foot_sole`); :func:`segment_pose` also gives
the soft-lowest sole point of each foot, where the ground is touched.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imukin.conventions import (
    JOINT_NAMES,
    SIDES,
    angles_to_relative_rotation,
    check_choice,
    joint_name,
    relative_rotation_to_angles,
    segment_name,
    zxy_angles,
    zxy_matrix,
)
from imukin.rotations import heading_of, heading_rotation, so3_exp, so3_log
from imukin.simulation.body import CURVE_CHANNELS, N_CURVES, SubjectParams, foot_sole
from imukin.simulation.gait.smooth import smooth_noise, smootherstep, softplus
from imukin.simulation.gait.templates import N_HARMONICS, fourier_basis, speed_terms, template_curves, template_mean

#: Column of each curve of :data:`~imukin.simulation.body.CURVE_CHANNELS`.
_CH = {c: i for i, c in enumerate(CURVE_CHANNELS)}
#: Pelvis curve sign when the left-side (mirrored) view is turned into the right-side view.
_PELVIS_MIRROR = np.array([1.0, -1.0, -1.0])

#: Walking: correction of the trailing leg during double support so that both feet are on
#: the ground when the other heel lands and the landing foot is not above the trailing one
#: afterwards. Positive: extra knee flexion (lifts the trailing foot); negative: extra ankle
#: plantarflexion (push-off, lengthens the trailing leg). Gaussian bumps (SD in cycles) at
#: these offsets from the other foot's heel strike.
_TRAIL_FIT_CENTRES = np.arange(-0.03, 0.17, 0.025)
_TRAIL_FIT_WIDTH = 0.025

#: Slots of the per-subject ground-fit vector (see :func:`~imukin.simulation.gait.stride.stride_table`):
#: stride scale, hip flexion offset (deg), toe-off (fraction of the cycle), trailing-leg correction
#: amplitudes.
FIT_SCALE, FIT_HIP, FIT_TOE_OFF = 0, 1, 2
FIT_TRAIL = slice(3, None)
N_FIT = 3 + len(_TRAIL_FIT_CENTRES)

#: Softness (m) of the choice of the lowest sole point (rolling contact).
_SOLE_SOFT_M = 0.001

#: Walking: the loaded foot lies flat on the ground from the end of loading response to heel
#: rise, whatever the shank does above it (the ankle takes the shank's forward rotation).
#: Fractions of stance: flat reached over (0.03, 0.20) (foot flat by ~12 % of the cycle) and
#: left over (0.45, 0.80) (heel rise from ~30 % of the cycle, gradual), Perry & Burnfield 2010.
#: A foot the template has on its forefoot already (heel raised: fast walking lifts the heel early)
#: stays there: laid flat fully up to FLAT_FOOT_TILT_DEG[0] of toes-down pitch, not at all beyond
#: [1]. Not fitted to any recording; see :func:`_flat_foot`.
FLAT_FOOT_STANCE = (0.03, 0.20, 0.45, 0.80)
FLAT_FOOT_TILT_DEG = (8.0, 16.0)

#: Quiet standing (the pose a walking sequence may start or end in, see :func:`standing_pose`): the thighs'
#: forward lean (hip flexion beyond the pelvic tilt) and the knees' flexion, mean and SD across sequences (deg;
#: knees near full extension, thighs near vertical), the SD of each leg's own share (deg), and postural sway,
#: the SD (deg) of a smooth random wander of pelvic tilt, thigh lean and knee flexion with a knot every
#: STAND_SWAY_KNOT_S seconds. Assumed from the usual description of quiet standing, not fitted to a recording.
STAND_THIGH_LEAN_DEG = (2.0, 2.0)
STAND_KNEE_DEG = (3.0, 3.0)
STAND_SIDE_SD_DEG = 1.0
STAND_SWAY_DEG = 0.5
STAND_SWAY_KNOT_S = 1.5


# ---------------------------------------------------------------- curves and poses
@dataclass
class Standing:
    """How far each sample is from walking towards quiet standing, and the standing pose."""

    still: np.ndarray  # (N,) 0 walking .. 1 standing still
    pose: dict  # side -> (N, 12) curves of the standing pose (with sway), side's own view


@dataclass
class CurveModifiers:
    """Per-sample curve modifiers of one side (everything but the template)."""

    scale: np.ndarray  # (N, 12) amplitude factor about the cycle mean
    offset: np.ndarray  # (N, 12) deg added


def trail_fit_basis(phase: np.ndarray) -> np.ndarray:
    """Gaussian bumps of the trailing-leg correction at the leg's phase: (N,) -> (N, J)."""
    d = (phase - np.floor(phase)) - 0.5  # cycles since the other foot's heel strike (nominally)
    return np.exp(-0.5 * ((d[:, None] - _TRAIL_FIT_CENTRES) / _TRAIL_FIT_WIDTH) ** 2)


def _side_curves(activity: str, subject: SubjectParams, side: str, phase: np.ndarray, up: np.ndarray,
                 fit: np.ndarray, mods: CurveModifiers | None, use_subject: bool,
                 mean: np.ndarray | None = None) -> np.ndarray:
    """Curves (N, 12) of one side: template + subject deviation + asymmetry + stride modulation.

    ``up`` (N, 4) are the speed polynomial terms (:func:`speed_terms`); ``fit`` (N, N_FIT) holds
    the per-subject fit to the ground (see :func:`~imukin.simulation.gait.stride.stride_table`);
    ``mean`` (N, 12) is :func:`template_mean` of ``up`` when the caller has it already (both
    sides share it).
    """
    basis = fourier_basis(phase, N_HARMONICS)  # (N, 25)
    if mean is None:
        mean = template_mean(activity, up)  # (N, 12)
    dev = template_curves(activity, basis, up) - mean  # (N, 12) about the cycle mean
    scale = np.ones((len(phase), N_CURVES))
    scale[:, _CH["hip_flexion"]] = fit[:, FIT_SCALE]
    scale[:, _CH["pelvis_rotation"]] = fit[:, FIT_SCALE]
    out = mean.copy()
    out[:, _CH["hip_flexion"]] += fit[:, FIT_HIP]
    if activity == "walking":
        c = np.sum(fit[:, FIT_TRAIL] * trail_fit_basis(phase), axis=1)  # (N,) trailing-leg correction, deg
        raise_ = softplus(c, 0.5)  # > 0: knee flexion lifts the trailing foot
        out[:, _CH["knee_flexion"]] += raise_
        out[:, _CH["ankle_flexion"]] += c - raise_  # < 0: push-off plantarflexion lengthens the trailing leg
    if use_subject:
        sgn = 0.5 if side == "right" else -0.5
        scale = scale * (1.0 + sgn * subject.asym_scale) * subject.curve_scale
        out = out + sgn * subject.asym_offset_deg + basis[:, :subject.curve_dev_deg.shape[1]] @ subject.curve_dev_deg.T
        if activity == "running" and subject.strike_plantarflexion_deg:
            d = (phase + 0.5) % 1.0 - 0.5  # cycles since heel strike
            out[:, _CH["ankle_flexion"]] -= subject.strike_plantarflexion_deg * np.exp(-((d + 0.01) / 0.06) ** 2)
    if mods is not None:
        return out + dev * (scale * mods.scale) + mods.offset
    return out + dev * scale


def standing_pose(subject: SubjectParams, activity: str, up: np.ndarray, fit: np.ndarray, use_subject: bool,
                  t: np.ndarray, rng: np.random.Generator) -> dict:
    """The curves (side -> (N, 12), side's own view) of a person standing still on both feet.

    Pelvic obliquity and rotation, hip and knee adduction and rotation are the person's cycle means of
    walking at ``up`` (4,) and ``fit`` (N_FIT,) (:func:`speed_terms` and the ground fit of one speed), so
    that the stance is their own; pelvic tilt is its cycle mean too. The thighs lean forward and the knees
    flex by :data:`STAND_THIGH_LEAN_DEG` and :data:`STAND_KNEE_DEG` (drawn per sequence, with a share of
    :data:`STAND_SIDE_SD_DEG` per leg) and sway slowly (:data:`STAND_SWAY_DEG`). Each foot lies level
    (:func:`~imukin.simulation.body.foot_sole`) with the heading its walking cycle mean gives it, and the
    ankle angles follow from that, so both feet stand flat on the ground. ``t`` (N,) s.
    """
    ph = np.arange(50) / 50.0
    cyc = {s: _side_curves(activity, subject, s, ph, np.repeat(up[None], 50, 0), np.repeat(fit[None], 50, 0),
                           None, use_subject).mean(axis=0) for s in SIDES}  # side -> (12,)
    pel = 0.5 * (cyc["right"][:3] + cyc["left"][:3] * _PELVIS_MIRROR)  # (3,) right view
    sway = smooth_noise(t, STAND_SWAY_KNOT_S, STAND_SWAY_DEG, rng, 5)  # (N, 5): tilt, lean R/L, knee R/L
    lean, knee = rng.normal(*STAND_THIGH_LEAN_DEG), rng.normal(*STAND_KNEE_DEG)
    pel_t = np.tile(pel, (len(t), 1))  # (N, 3)
    pel_t[:, 0] += sway[:, 0]
    r_pelvis = pelvis_rotation_from_angles(pel_t)  # (N, 3, 3), heading 0
    pose = {}
    for k, side in enumerate(SIDES):
        c = np.tile(cyc[side], (len(t), 1))  # (N, 12)
        c[:, :3] = pel_t * (1.0 if side == "right" else _PELVIS_MIRROR)
        c[:, _CH["hip_flexion"]] = pel_t[:, 0] + lean + rng.normal(0.0, STAND_SIDE_SD_DEG) + sway[:, 1 + k]
        c[:, _CH["knee_flexion"]] = knee + rng.normal(0.0, STAND_SIDE_SD_DEG) + sway[:, 3 + k]
        r_shank = (r_pelvis @ angles_to_relative_rotation(c[:, 3:6], "hip", side)
                   @ angles_to_relative_rotation(c[:, 6:9], "knee", side))  # (N, 3, 3)
        r_walk = r_shank @ angles_to_relative_rotation(cyc[side][9:], "ankle", side)  # the foot's cycle-mean turn
        r_foot = heading_rotation(heading_of(r_walk))  # (N, 3, 3) level
        c[:, 9:] = relative_rotation_to_angles(np.swapaxes(r_shank, -1, -2) @ r_foot, "ankle", side)
        pose[side] = c
    return pose


def flat_foot_weight(phase: np.ndarray, toe_off: np.ndarray) -> np.ndarray:
    """How flat the walking foot is held (0..1, C2-smooth) at the leg's ``phase`` (N,), toe-off at
    ``toe_off`` (N,) of the cycle; see :data:`FLAT_FOOT_STANCE`."""
    a0, a1, b0, b1 = FLAT_FOOT_STANCE
    s = (phase - np.floor(phase)) / toe_off  # (N,) fraction of stance (> 1: swing)
    return smootherstep((s - a0) / (a1 - a0)) * (1.0 - smootherstep((s - b0) / (b1 - b0)))


def _flat_foot(r_shank: np.ndarray, r_foot: np.ndarray, ankle: np.ndarray, phase: np.ndarray,
               toe_off: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """The walking foot turned towards lying flat in mid-stance; the ankle angles follow.

    Flat is the foot frame level (:func:`~imukin.simulation.body.foot_sole`: heel and
    forefoot circles touch a level ground together) with the heading the template gives
    the foot in the middle of its flat period, one per stance (the foot does not twist on
    the ground). ``R_foot <- R_foot Exp(w Log(R_foot^T R_flat))`` with ``w`` from
    :func:`flat_foot_weight`, faded out where the template has raised the heel
    (:data:`FLAT_FOOT_TILT_DEG`); returns the new foot orientations (N, 3, 3) and ankle angles
    (N, 3) deg (``ankle`` where ``w = 0``), so that :func:`imukin.conventions.joint_angles` still
    returns them exactly.
    """
    _, a1, b0, _ = FLAT_FOOT_STANCE
    lo, hi = FLAT_FOOT_TILT_DEG
    heel_up = np.degrees(np.arcsin(np.clip(-r_foot[:, 1, 0], -1.0, 1.0)))  # (N,) deg the toes point down
    w = flat_foot_weight(phase, toe_off) * (1.0 - smootherstep((heel_up - lo) / (hi - lo)))  # (N,)
    on = np.flatnonzero(w > 0.0)  # (M,) stance frames that move (about half)
    psi = np.unwrap(heading_of(r_foot))  # (N,)
    mid = np.floor(phase[on]) + 0.5 * (a1 + b0) * toe_off[on]  # (M,) phase of the stance's mid-flat moment
    r_flat = heading_rotation(np.interp(mid, phase, psi))  # (M, 3, 3) level, that stance's heading
    d = so3_log(np.swapaxes(r_foot[on], -1, -2) @ r_flat)  # (M, 3) rad
    r_new, ankle = r_foot.copy(), ankle.copy()
    r_new[on] = r_foot[on] @ so3_exp(w[on, None] * d)
    ankle[on] = relative_rotation_to_angles(np.swapaxes(r_shank[on], -1, -2) @ r_new[on], "ankle", side)
    return r_new, ankle


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
        Walking direction about +Y (see :attr:`~imukin.simulation.gait.generator.Kinematics.heading_deg`).
    side : {"right", "left"}
        The left view negates obliquity and rotation (left side up / forward positive).
    """
    check_choice("side", side, SIDES)
    heading = heading_rotation(np.broadcast_to(np.asarray(heading_rad, float), r_pelvis.shape[:-2]))  # (..., 3, 3)
    r_rel = np.swapaxes(heading, -1, -2) @ r_pelvis
    out = zxy_angles(r_rel) * np.array([-1.0, -1.0, 1.0])  # (..., 3): tilt and obliquity are Z and X negated
    return out if side == "right" else out * _PELVIS_MIRROR


def segment_pose(subject: SubjectParams, activity: str, phase: dict, vstar: np.ndarray, psi: np.ndarray,
                 fit: np.ndarray, mods: dict | None, use_subject: bool, standing: Standing | None = None) -> dict:
    """Segment orientations, joint angles and segment origins relative to the pelvis origin.

    With ``standing``, each side's curves move towards the standing pose by ``standing.still``.

    Returns a dict with ``rot``, ``rel``, ``angles``, ``pelvis_angles`` and, per side, the
    soft-lowest sole height relative to the pelvis ``low`` (N,) and the contact point in
    the foot frame ``contact`` (N, 3) (rolling contact of the sole circles of
    :func:`~imukin.simulation.body.foot_sole`).
    """
    n = len(vstar)
    up = speed_terms(activity, vstar)  # (N, 4)
    mean = template_mean(activity, up)  # (N, 12) cycle means, the same for both sides
    curves = {s: _side_curves(activity, subject, s, phase[s], up, fit, None if mods is None else mods[s],
                              use_subject, mean) for s in SIDES}  # side -> (N, 12)
    if standing is not None:
        curves = {s: c + standing.still[:, None] * (standing.pose[s] - c) for s, c in curves.items()}
    pel = 0.5 * (curves["right"][:, :3] + curves["left"][:, :3] * _PELVIS_MIRROR)  # (N, 3) right view
    r_pelvis = heading_rotation(psi) @ pelvis_rotation_from_angles(pel)  # (N,3,3)
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
        if activity == "walking":
            rot[ft], angles[joint_name("ankle", side)] = _flat_foot(rot[sh], rot[ft], ankle, phase[side],
                                                                    fit[:, FIT_TOE_OFF], side)
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
