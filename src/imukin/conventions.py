"""Every convention imukin uses, in one place.

Frames
------
Lab frame
    Right-handed, **Y up** (as in the reference HDF5 layout), X the direction of
    walking at the start of a sequence, Z to the walker's right (Z = X x Y).
    Gravity is ``GRAVITY_LAB = (0, -9.81, 0)`` m/s^2.
Segment (anatomical) frame
    For every segment, left and right alike, at neutral standing the axes are
    x anterior, y superior (along the segment's long axis, pointing proximally;
    for the foot, y is perpendicular to the sole) and z to the subject's right.
    So at neutral standing every segment frame equals the lab frame, with one exception: the
    pelvis frame is the anatomical one (ASIS/PSIS, as in Plug-in Gait), which sits tilted
    forward by the pelvic tilt (about 10-20 deg; the simulator's walking pelvis averages 15 deg),
    and hip flexion includes that tilt. ``imukin.predict`` aligns a pelvis sensor to that tilt.
Sensor frame
    A simulated sensor mounted without error has the frame of its segment
    (x anterior, y up, z right at neutral standing). Rotation matrices ``rmat``
    have the sensor axes as **columns in lab coordinates**: ``v_lab = R @ v_sensor``.
IMU signals
    ``acc = R^T (p'' - g)``: specific force in the sensor frame, so a sensor at rest
    reads +9.81 m/s^2 on whichever of its axes points up. ``gyr`` is the angular
    velocity of the sensor in its own frame: ``R' = R [gyr]x``.

Joint angles
------------
Joint coordinate system (Grood & Suntay 1983; ISB, Wu et al. 2002), computed from
the relative rotation ``R_rel = R_proximal^T R_distal`` of the two segment frames
as intrinsic Z-X'-Y'' Euler angles (flexion axis of the proximal segment first,
long axis of the distal segment last, floating axis between):

================  ==============================  ==========================
angle (column)    positive means                  raw Euler angle
================  ==============================  ==========================
0 flexion         hip flexion, knee flexion,      +z (hip, ankle), -z (knee)
                  ankle dorsiflexion
1 adduction       adduction / varus / inversion   +x right side, -x left
2 rotation        internal rotation               +y right side, -y left
================  ==============================  ==========================

The left side is mirrored through the sagittal plane (lab Z -> -Z), so that left
and right legs produce the same angles and, after :func:`mirror_imu`, the same
IMU signals for the same movement. This is the reference's "left-side adduction
and rotation are sign-flipped".

Channels and units
------------------
Network input per joint: 16 channels, ``CHANNELS``: for segment 1 (proximal) then
segment 2 (distal), ``acc x,y,z, |acc|, gyr x,y,z, |gyr|``. Units: m/s^2, rad/s,
degrees for angles, Hz for rates, metres for positions (markers on disk may be mm;
readers convert).
"""
from __future__ import annotations

from typing import Literal

import numpy as np

from imukin.errors import ImukinError

# ---------------------------------------------------------------- constants
G = 9.81  # m/s^2, standard gravity magnitude used everywhere in imukin
GRAVITY_LAB = np.array([0.0, -G, 0.0])  # lab frame, Y up
UP_LAB = np.array([0.0, 1.0, 0.0])
DEFAULT_FS = 200.0  # Hz, the reference layout's rate (of simulated corpora and datasets; never assumed for a recording)
FS_RANGE = (20.0, 1000.0)  # Hz, sampling rates imukin accepts for recordings (models resample to their own)
RATE_TOLERANCE = 0.01  # relative difference allowed between a given rate and the one the time stamps show
SAME_RATE_HZ = 1e-6  # Hz; two rates closer than this are one rate, and nothing is resampled between them

SIDES = ("right", "left")
SIDE_PREFIX = {"right": "r", "left": "l"}
SIDE_SIGN = {"right": 1.0, "left": -1.0}  # sign applied to adduction and rotation

def subject_id(index: int) -> str:
    """The id of the ``index``-th subject of a corpus or dataset (``s0000``, ``s0001``, ...)."""
    return f"s{int(index):04d}"


#: Segments in the reference HDF5 layout, in its order.
SEGMENTS = ("pelvis", "rthigh", "lthigh", "rshank", "lshank", "rfoot", "lfoot")
SEGMENT_TYPES = ("pelvis", "thigh", "shank", "foot")

#: Joint type -> (proximal segment type, distal segment type); segment 1 is proximal.
JOINT_TYPES = {"hip": ("pelvis", "thigh"), "knee": ("thigh", "shank"), "ankle": ("shank", "foot")}
JOINT_NAMES = tuple(JOINT_TYPES)
ACTIVITIES = ("walking", "running")
#: How a recording's sensors share a time line: ``none``, sampled together (one clock, or the vendor's
#: synchronisation); ``impact``, put together afterwards by a common jump or tap
#: (:mod:`imukin.preprocessing.synchronize`).
SYNC_MODES = ("none", "impact")

#: Joints in the reference HDF5 layout, in its order.
JOINTS = ("rhip", "lhip", "rknee", "lknee", "rankle", "lankle")

ANGLE_AXES = ("flexion", "adduction", "rotation")
ANGLE_UNITS = "deg"

#: Channels of one IMU and of a two-IMU joint input, in network order.
IMU_CHANNELS = ("acc_x", "acc_y", "acc_z", "acc_norm", "gyr_x", "gyr_y", "gyr_z", "gyr_norm")
CHANNELS = tuple(f"seg1_{c}" for c in IMU_CHANNELS) + tuple(f"seg2_{c}" for c in IMU_CHANNELS)
N_CHANNELS = len(CHANNELS)  # 16
#: Where each xyz block sits in the 16 channels: ``x[..., ACC1]`` is segment 1's accelerometer, and so on.
ACC1, GYR1 = slice(0, 3), slice(4, 7)
ACC2, GYR2 = slice(8, 11), slice(12, 15)
SENSOR_BLOCKS = ((ACC1, GYR1), (ACC2, GYR2))  # (accelerometer, gyroscope) of segment 1, then segment 2
SENSOR_CHANNELS = (slice(0, 8), slice(8, 16))  # all eight channels of segment 1's sensor, then segment 2's

#: OpenSim gait-model coordinates (gait2392/gait2354, as OpenSense reports them) per joint and angle axis:
#: (name with ``{s}`` for ``r``/``l``, sign that turns imukin's angle into the coordinate). gait2392 counts
#: knee flexion negative; it has no knee adduction/rotation or ankle rotation coordinate, so those keep
#: imukin names (OpenSim carries unknown columns along). Ankle adduction is inversion, as subtalar_angle.
OPENSIM_COORDINATES = {
    ("hip", "flexion"): ("hip_flexion_{s}", 1.0),
    ("hip", "adduction"): ("hip_adduction_{s}", 1.0),
    ("hip", "rotation"): ("hip_rotation_{s}", 1.0),
    ("knee", "flexion"): ("knee_angle_{s}", -1.0),
    ("knee", "adduction"): ("knee_adduction_{s}", 1.0),
    ("knee", "rotation"): ("knee_rotation_{s}", 1.0),
    ("ankle", "flexion"): ("ankle_angle_{s}", 1.0),
    ("ankle", "adduction"): ("subtalar_angle_{s}", 1.0),
    ("ankle", "rotation"): ("ankle_rotation_{s}", 1.0),
}

UNITS = {"acc": "m/s^2", "gyr": "rad/s", "angle": "deg", "fs": "Hz", "position": "m"}

#: Mirror of the lab (and of every segment frame at neutral) through the sagittal plane.
MIRROR = np.diag([1.0, 1.0, -1.0])

Side = Literal["right", "left"]
Joint = Literal["hip", "knee", "ankle"]


# ---------------------------------------------------------------- naming
def segment_name(segment_type: str, side: str) -> str:
    """Reference-layout name of a segment (``pelvis`` has no side).

    >>> segment_name("thigh", "left")
    'lthigh'
    """
    check_choice("segment type", segment_type, SEGMENT_TYPES)
    if segment_type == "pelvis":
        return "pelvis"
    check_choice("side", side, SIDES)
    return SIDE_PREFIX[side] + segment_type


def joint_name(joint: str, side: str) -> str:
    """Reference-layout name of a joint, e.g. ``joint_name("knee", "left") == "lknee"``."""
    check_choice("joint", joint, JOINT_NAMES)
    check_choice("side", side, SIDES)
    return SIDE_PREFIX[side] + joint


def joint_and_side(name: str) -> tuple[str, str]:
    """The inverse of :func:`joint_name`.

    >>> joint_and_side("lknee")
    ('knee', 'left')
    """
    check_choice("joint", name, JOINTS)
    side = next(s for s in SIDES if name.startswith(SIDE_PREFIX[s]))
    return name[len(SIDE_PREFIX[side]):], side


def joint_segments(joint: str, side: str) -> tuple[str, str]:
    """Names of the (proximal, distal) segments of a joint on one side."""
    check_choice("joint", joint, JOINT_NAMES)
    prox, dist = JOINT_TYPES[joint]
    return segment_name(prox, side), segment_name(dist, side)


def check_choice(what: str, value: str, choices) -> None:
    """Raise a one-line :class:`~imukin.errors.ImukinError` when ``value`` is not in ``choices``."""
    if value not in choices:
        raise ImukinError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")


def check_rate(fs, where: str = "the sampling rate") -> float:
    """A recording's sampling rate as a float, or a one-line error when it is not usable.

    The rate must be finite and within :data:`FS_RANGE` (20-1000 Hz).

    >>> check_rate(100)
    100.0
    """
    try:
        f = float(fs)
    except (TypeError, ValueError):
        raise ImukinError(f"{where} must be a number in Hz, got {fs!r}") from None
    lo, hi = FS_RANGE
    if not np.isfinite(f) or f <= 0:
        raise ImukinError(f"{where} must be a positive, finite rate in Hz, got {fs}; pass the recording's rate, "
                          "e.g. --fs 100 (fs=100 in Python)")
    if not lo <= f <= hi:
        raise ImukinError(f"{where} is {f:g} Hz, outside the {lo:g}-{hi:g} Hz imukin accepts; check the rate "
                          "(it is in Hz, not a period in seconds)")
    return f


def rates_agree(fs_a: float, fs_b: float) -> bool:
    """Whether two rates agree within :data:`RATE_TOLERANCE` (relative): a given rate against the one the
    time stamps show, or a stream against its model.

    >>> rates_agree(100, 100.5), rates_agree(100, 102)
    (True, False)
    """
    return abs(float(fs_a) / float(fs_b) - 1.0) <= RATE_TOLERANCE


def same_rate(fs_a: float, fs_b: float) -> bool:
    """Whether two sampling rates are one rate (within :data:`SAME_RATE_HZ`), so no resampling is needed.

    >>> same_rate(200, 200.0), same_rate(204.8, 200)
    (True, False)
    """
    return abs(float(fs_a) - float(fs_b)) <= SAME_RATE_HZ


# ---------------------------------------------------------------- joint angles
def joint_angles(r_prox: np.ndarray, r_dist: np.ndarray, joint: str, side: str) -> np.ndarray:
    """Joint angles in degrees from two segment orientations.

    Parameters
    ----------
    r_prox, r_dist : ndarray, shape (..., 3, 3)
        Orientations of the proximal and distal segment frames (columns = segment
        axes in lab coordinates), frames as defined in this module.
    joint : {"hip", "knee", "ankle"}
    side : {"right", "left"}

    Returns
    -------
    ndarray, shape (..., 3)
        ``[flexion, adduction, rotation]`` in degrees, signs as in the module table.
    """
    check_choice("joint", joint, JOINT_NAMES)
    check_choice("side", side, SIDES)
    r_rel = np.swapaxes(r_prox, -1, -2) @ r_dist
    return relative_rotation_to_angles(r_rel, joint, side)


def relative_rotation_to_angles(r_rel: np.ndarray, joint: str, side: str) -> np.ndarray:
    """Joint angles (degrees) from ``R_rel = R_prox^T R_dist``, shape (..., 3, 3) -> (..., 3)."""
    z, x, y = np.moveaxis(zxy_angles(r_rel), -1, 0)  # each (...,) deg
    s = SIDE_SIGN[side]
    flex_sign = -1.0 if joint == "knee" else 1.0
    return np.stack([flex_sign * z, s * x, s * y], axis=-1)


def angles_to_relative_rotation(angles_deg: np.ndarray, joint: str, side: str) -> np.ndarray:
    """Inverse of :func:`relative_rotation_to_angles`: (..., 3) degrees -> (..., 3, 3).

    Closed form ``Rz(z) @ Rx(x) @ Ry(y)`` of the raw Euler angles (vectorised; the gait
    generator calls it for every frame of every joint).
    """
    check_choice("joint", joint, JOINT_NAMES)
    check_choice("side", side, SIDES)
    a = np.deg2rad(np.asarray(angles_deg, float))
    s = SIDE_SIGN[side]
    flex_sign = -1.0 if joint == "knee" else 1.0
    return zxy_matrix(flex_sign * a[..., 0], s * a[..., 1], s * a[..., 2])


def zxy_matrix(z: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``Rz(z) @ Rx(x) @ Ry(y)`` (intrinsic Z-X'-Y'', radians), written out: (...) x3 -> (..., 3, 3)."""
    z, x, y = np.broadcast_arrays(np.asarray(z, float), np.asarray(x, float), np.asarray(y, float))
    cz, sz, cx, sx, cy, sy = np.cos(z), np.sin(z), np.cos(x), np.sin(x), np.cos(y), np.sin(y)
    r = np.empty(z.shape + (3, 3))
    r[..., 0, 0] = cz * cy - sz * sx * sy
    r[..., 0, 1] = -sz * cx
    r[..., 0, 2] = cz * sy + sz * sx * cy
    r[..., 1, 0] = sz * cy + cz * sx * sy
    r[..., 1, 1] = cz * cx
    r[..., 1, 2] = sz * sy - cz * sx * cy
    r[..., 2, 0] = -cx * sy
    r[..., 2, 1] = sx
    r[..., 2, 2] = cx * cy
    return r


def zxy_angles(r: np.ndarray) -> np.ndarray:
    """Inverse of :func:`zxy_matrix`: ``(z, x, y)`` in degrees of ``R = Rz(z) Rx(x) Ry(y)``, (..., 3, 3) -> (..., 3).

    Closed form: ``R[2,1] = sin x``, ``R[0,1] / R[1,1] = -tan z``, ``R[2,0] / R[2,2] = -tan y``
    (as scipy's ``as_euler("ZXY")`` away from ``x = +-90 deg``, where z and y are not separable;
    joints and the pelvis never get there).
    """
    r = np.asarray(r, float)
    z = np.arctan2(-r[..., 0, 1], r[..., 1, 1])
    x = np.arcsin(np.clip(r[..., 2, 1], -1.0, 1.0))
    y = np.arctan2(-r[..., 2, 0], r[..., 2, 2])
    return np.degrees(np.stack([z, x, y], axis=-1))


# ---------------------------------------------------------------- mirroring
def mirror_imu(acc: np.ndarray, gyr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mirror IMU signals through the sagittal plane (sensor z -> -z).

    A left-leg sensor mounted like its right-leg twin, moving as the mirror image,
    then reads what the right one reads. Acceleration is a polar vector
    (``diag(1, 1, -1) a``); angular velocity is an axial vector
    (``-diag(1, 1, -1) w = diag(-1, -1, 1) w``).

    Parameters
    ----------
    acc, gyr : ndarray, shape (..., 3)

    Returns
    -------
    acc_m, gyr_m : ndarray, shape (..., 3)
    """
    acc_m = np.asarray(acc, float) * np.array([1.0, 1.0, -1.0])
    gyr_m = np.asarray(gyr, float) * np.array([-1.0, -1.0, 1.0])
    return acc_m, gyr_m


def mirror_rotation(r: np.ndarray) -> np.ndarray:
    """Mirror a frame orientation through the sagittal plane: ``M R M`` (stays a rotation)."""
    return MIRROR @ np.asarray(r, float) @ MIRROR


# ---------------------------------------------------------------- channels
def imu_channels(acc: np.ndarray, gyr: np.ndarray) -> np.ndarray:
    """One IMU's 8 network channels ``[acc xyz, |acc|, gyr xyz, |gyr|]``: (..., 3) x2 -> (..., 8)."""
    acc = np.asarray(acc, np.float32)
    gyr = np.asarray(gyr, np.float32)
    return np.concatenate(
        [acc, np.linalg.norm(acc, axis=-1, keepdims=True), gyr, np.linalg.norm(gyr, axis=-1, keepdims=True)],
        axis=-1,
    )


def joint_channels(acc1, gyr1, acc2, gyr2) -> np.ndarray:
    """The 16 input channels of a joint (segment 1 = proximal, then segment 2): -> (T, 16)."""
    return np.concatenate([imu_channels(acc1, gyr1), imu_channels(acc2, gyr2)], axis=-1)


def split_channels(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The four xyz blocks of 16-channel inputs: (..., 16) -> ``acc1, gyr1, acc2, gyr2``, each (..., 3)."""
    return x[..., ACC1], x[..., GYR1], x[..., ACC2], x[..., GYR2]


def side_inputs(acc1, gyr1, acc2, gyr2, side: str) -> np.ndarray:
    """16 channels (T, 16) from two IMUs' (T, 3) signals; left-side signals are mirrored first."""
    check_choice("side", side, SIDES)
    if side == "left":
        acc1, gyr1 = mirror_imu(acc1, gyr1)
        acc2, gyr2 = mirror_imu(acc2, gyr2)
    return joint_channels(acc1, gyr1, acc2, gyr2)
