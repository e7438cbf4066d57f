"""What makes real body-worn IMUs imperfect, drawn per sensor from a seeded generator.

Two groups of errors, applied at two places of the simulation:

**Mechanical** (before :func:`imukin.simulation.imu.ideal_imu`; they change the
sensor's pose, so their effect on the signals is physically consistent):

1. :func:`draw_mounting`: a constant rotation ``R_mount`` of the sensor on its
   segment and an offset of the sensor site, both in the segment frame;
2. :func:`soft_tissue_motion`: a small time-varying rotation ``R_tissue(t)`` and
   displacement ``d(t)`` of the sensor on the segment (skin and muscle wobble).

The sensor pose is then ``R_sensor = R_seg @ R_tissue(t) @ R_mount`` and
``p_sensor = p_seg + R_seg @ (site + offset + d(t))``.

**Electronic** (:func:`apply_electronic_errors`, on the ideal signals, in this
order, each with its own per-sensor draw for the accelerometer and the gyroscope):

1. scale factor and axis misalignment: ``y = diag(1 + s) (I + E) x`` with ``E``
   off-diagonal (each sensitive axis tilted on its own, so not a rotation);
2. bias: constant turn-on bias plus a random walk (bias instability);
3. white noise, per-sample SD = noise density * sqrt(fs);
4. saturation: clip to the measurement range.

Defaults describe consumer MEMS IMUs used in gait labs (Xsens MTw Awinda, Movella
DOT, APDM Opal); per-sensor values are drawn around them.

======================  ============================  =========================================
part                    default                       typical source
======================  ============================  =========================================
acc noise density       U(1.2e-3, 2.0e-3) m/s^2/rtHz  DOT 120 ug/rtHz, MTw 200 ug/rtHz
gyr noise density       U(0.007, 0.012) deg/s/rtHz    DOT 0.007, MTw 0.01 deg/s/rtHz
acc turn-on bias        N(0, 0.05) m/s^2 per axis     ~5 mg residual after factory calibration
gyr turn-on bias        N(0, 0.5) deg/s per axis      MEMS zero-rate offset, partly calibrated
acc bias random walk    5e-4 m/s^2/rts                ~0.4 mg drift per minute (in-run stability)
gyr bias random walk    1e-3 deg/s/rts                ~0.008 deg/s per minute (~10-30 deg/h)
scale-factor error      N(0, 1 %) per axis            datasheet sensitivity tolerance ~1-2 %
axis misalignment       N(0, 0.5 deg) per axis pair   datasheet cross-axis sensitivity ~1 %
acc range               +-16 g                        MTw, DOT, Opal
gyr range               +-2000 deg/s                  MTw, DOT, Opal
sensor site offset      N(0, 2 cm) per axis           repeatability of manual placement
mounting rotation       N(0, 10 deg) about a random   strap/clip placement on a limb
                        axis
tissue oscillator       f U(10, 20) Hz, zeta          wobbling-mass and skin-sensor resonance
                        U(0.3, 0.5), gain 1           after impacts (~mm displacement)
tissue rocking          0.4 deg per mm of wobble      ~1-3 deg soft-tissue rotation
slow tissue motion      1 deg, 2 mm RMS below 1 Hz    muscle contraction, skin sliding
skin sliding with the   off (0 deg per deg); when     thigh and shank skin moves with the
joints (option)         set, N(0, c) deg of sensor    angles of the joints it spans, linearly
                        rotation per deg of flexion,  (bone-pin studies; up to ~4 deg of knee
                        per axis and joint            angle error in walking)
======================  ============================  =========================================

:meth:`SensorErrorConfig.ideal` switches everything off.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, fields

import numpy as np
from scipy.signal import bilinear, lfilter, lfilter_zi
from scipy.spatial.transform import Rotation

from imukin.conventions import GRAVITY_LAB, G
from imukin.errors import ImukinError

_SLOW_TERMS = 6  # sinusoids per axis in the slow soft-tissue component
_SLOW_MIN_HZ = 0.05  # lowest frequency of the slow component (slower is just a mounting offset)
_UNIFORM_RTOL = 1e-6  # accepted relative jitter of the sample interval in soft_tissue_motion
#: Segment type -> the joints whose flexion slides the skin under its sensor (SensorErrorConfig.tissue_joint_coupling):
#: the thigh's skin moves with the hip and the knee, the shank's with the knee and the ankle.
TISSUE_DRIVERS = {"thigh": ("hip", "knee"), "shank": ("knee", "ankle")}


@dataclass
class SensorErrorConfig:
    """Magnitudes of every sensor imperfection; each sensor draws its own values from them.

    Ranges ``(low, high)`` are sampled uniformly per sensor; ``*_sd`` values are
    standard deviations of zero-mean normal draws. All defaults are documented in
    the module's table.
    """

    # --- white noise (Movella DOT: acc 120 ug/rtHz, gyr 0.007 deg/s/rtHz; Xsens MTw: 200 ug/rtHz, 0.01)
    acc_noise_density: tuple[float, float] = (1.2e-3, 2.0e-3)  # m/s^2/sqrt(Hz), per-sensor range
    gyr_noise_density_dps: tuple[float, float] = (0.007, 0.012)  # deg/s/sqrt(Hz), per-sensor range
    # --- bias: constant at turn-on plus a random walk (in-run bias instability)
    acc_bias_sd: float = 0.05  # m/s^2 per axis, ~5 mg residual offset of calibrated MEMS modules
    gyr_bias_sd_dps: float = 0.5  # deg/s per axis, MEMS zero-rate offset not fully removed
    acc_bias_walk: float = 5e-4  # m/s^2 per sqrt(s): ~4e-3 m/s^2 drift SD after one minute
    gyr_bias_walk_dps: float = 1e-3  # deg/s per sqrt(s): ~0.008 deg/s after one minute (10-30 deg/h class)
    # --- gain errors, drawn per sensor and per sensor type (accelerometer, gyroscope)
    scale_sd: float = 0.01  # relative scale-factor error per axis (datasheet tolerance ~1-2 %)
    misalignment_sd_deg: float = 0.5  # tilt of each sensitive axis towards each other axis (cross-axis ~1 %)
    # --- saturation (MTw Awinda, DOT and Opal: +-16 g, +-2000 deg/s)
    acc_range: float = 16.0 * G  # m/s^2, readings are clipped to +-acc_range
    gyr_range_dps: float = 2000.0  # deg/s, readings are clipped to +-gyr_range_dps
    # --- placement on the segment
    offset_sd_m: float = 0.02  # m per axis, sensor site scatter of manual placement
    mount_sd_deg: float = 10.0  # deg, angle SD of the constant mounting rotation (random axis); the
    # augmentation of the published reference system used ~27 deg (0.075 pi rad), a harsher setting
    # --- soft tissue: wobbling mass driven by the segment's specific force, plus slow motion
    tissue_freq_hz: tuple[float, float] = (10.0, 20.0)  # natural frequency range of the oscillator
    tissue_damping: tuple[float, float] = (0.3, 0.5)  # damping ratio range
    tissue_disp_gain: float = 1.0  # sensor displacement per metre of oscillator displacement (0 = off)
    tissue_rock_deg_per_mm: float = 0.4  # sensor rocking per mm of oscillator displacement (0 = off)
    tissue_slow_rot_deg: float = 1.0  # RMS angle of the slow tissue rotation
    tissue_slow_disp_m: float = 0.002  # RMS length of the slow tissue displacement
    tissue_slow_max_hz: float = 1.0  # the slow component has frequencies in [0.05, this] Hz
    tissue_joint_coupling: float = 0.0  # deg of sensor rotation per deg of a spanned joint's flexion, SD per axis
    #   and joint (skin sliding locked to the gait; 0 = off; see soft_tissue_motion's ``drivers``). Off for the
    #   shipped models: trained with 0.03 the walking hip CNN lost on every check (docs/real_data.md)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            vals = value if isinstance(value, tuple) else (value,)
            if any(not isinstance(v, numbers.Real) or np.isnan(v) or v < 0 for v in vals):
                raise ImukinError(f"SensorErrorConfig.{f.name} must be >= 0, got {value!r}; use 0 to switch it off")
            if isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
                raise ImukinError(f"SensorErrorConfig.{f.name} must be a (low, high) pair with low <= high, "
                                  f"got {value!r}")
        if self.acc_range == 0 or self.gyr_range_dps == 0:
            raise ImukinError("SensorErrorConfig ranges must be > 0; use float('inf') for no saturation")
        if self.tissue_freq_hz[0] == 0:
            raise ImukinError("SensorErrorConfig.tissue_freq_hz must be > 0 Hz; set tissue gains to 0 to switch it off")

    @classmethod
    def ideal(cls) -> SensorErrorConfig:
        """A perfect sensor: no noise, bias, gain error, saturation, misplacement or tissue motion."""
        return cls(
            acc_noise_density=(0.0, 0.0),
            gyr_noise_density_dps=(0.0, 0.0),
            acc_bias_sd=0.0,
            gyr_bias_sd_dps=0.0,
            acc_bias_walk=0.0,
            gyr_bias_walk_dps=0.0,
            scale_sd=0.0,
            misalignment_sd_deg=0.0,
            acc_range=float("inf"),
            gyr_range_dps=float("inf"),
            offset_sd_m=0.0,
            mount_sd_deg=0.0,
            tissue_disp_gain=0.0,
            tissue_rock_deg_per_mm=0.0,
            tissue_slow_rot_deg=0.0,
            tissue_slow_disp_m=0.0,
            tissue_joint_coupling=0.0,
        )


# ---------------------------------------------------------------- mechanical
def draw_mounting(cfg: SensorErrorConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw how one sensor sits on its segment.

    Parameters
    ----------
    cfg : SensorErrorConfig
    rng : numpy.random.Generator

    Returns
    -------
    r_mount : ndarray, shape (3, 3)
        Constant rotation of the sensor in the segment frame: axis uniform on the
        sphere, angle ~ N(0, ``cfg.mount_sd_deg``).
    offset_m : ndarray, shape (3,)
        Displacement of the sensor site in the segment frame, ~ N(0, ``cfg.offset_sd_m``) per axis.
    """
    _check_rng(rng)
    axis = _unit_vectors(rng, 1)[0]  # (3,)
    angle = rng.normal(0.0, np.deg2rad(cfg.mount_sd_deg))
    offset_m = rng.normal(0.0, cfg.offset_sd_m, size=3)
    return Rotation.from_rotvec(axis * angle).as_matrix(), offset_m


def soft_tissue_motion(
    t: np.ndarray,
    seg_acc_lab: np.ndarray,
    cfg: SensorErrorConfig,
    rng: np.random.Generator,
    seg_rmat: np.ndarray | None = None,
    drivers: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Small smooth motion of a skin-mounted sensor relative to its segment.

    A wobbling mass on a damped spring (natural frequency and damping ratio drawn
    per sensor from ``cfg.tissue_freq_hz`` and ``cfg.tissue_damping``) is driven by
    the inertial load of the segment, ``y'' + 2 zeta w y' + w^2 y = -(a_seg - g)``,
    so impacts such as heel strike make it ring. The sensor moves with it
    (``cfg.tissue_disp_gain``) and rocks by ``cfg.tissue_rock_deg_per_mm`` per mm
    about an axis fixed by a random per-sensor rotation of ``y``. A slow motion
    below ``cfg.tissue_slow_max_hz`` (sum of sinusoids with random frequencies and
    phases; muscle contraction, skin sliding) is added to both. The mean of the
    oscillator response (static sag) is removed; it belongs to the site offset.
    With ``cfg.tissue_joint_coupling`` > 0 and ``drivers`` given, the skin also slides with
    the joints the segment spans: the sensor turns by ``(q - mean q) @ C`` (degrees), ``C``
    drawn per sensor ~ N(0, ``cfg.tissue_joint_coupling``), locked to the gait as the
    rigid part of skin-marker artefacts is in bone-pin studies (linear in the hip and knee
    angles for the thigh).

    Parameters
    ----------
    t : ndarray, shape (N,)
        Uniformly spaced times, seconds.
    seg_acc_lab : ndarray, shape (N, 3)
        Segment acceleration ``p''`` in the lab frame, m/s^2 (e.g. the second
        derivative of a spline of the segment position).
    cfg : SensorErrorConfig
    rng : numpy.random.Generator
    seg_rmat : ndarray, shape (N, 3, 3), optional
        Segment orientation; when given, the load is expressed in the segment
        frame. Without it the lab axes stand in for the segment axes (exact at
        neutral standing, where both coincide).
    drivers : ndarray, shape (N, K), optional
        Flexion angles (degrees) of the K joints whose motion slides the skin under the sensor
        (:data:`TISSUE_DRIVERS`); used only when ``cfg.tissue_joint_coupling`` > 0.

    Returns
    -------
    rot : ndarray, shape (N, 3, 3)
        Rotation of the sensor relative to its mounted pose, in the segment frame.
    disp : ndarray, shape (N, 3)
        Displacement of the sensor in the segment frame, metres.
    """
    _check_rng(rng)
    t = np.asarray(t, float)
    acc = np.asarray(seg_acc_lab, float)
    if t.ndim != 1 or len(t) < 2 or acc.shape != (len(t), 3):
        raise ImukinError(f"need t (N,) with N >= 2 and seg_acc_lab (N, 3); got {t.shape} and {acc.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(acc))):
        raise ImukinError("t or seg_acc_lab contains NaN or inf; fill the gaps before simulating soft tissue")
    dt = np.diff(t)
    if np.any(dt <= 0) or np.ptp(dt) > _UNIFORM_RTOL * dt.mean():
        raise ImukinError("soft_tissue_motion needs uniformly spaced, increasing t; resample the segment first")
    fs = 1.0 / dt.mean()

    load = acc - GRAVITY_LAB  # (N, 3) specific force of the segment
    if seg_rmat is not None:
        seg_rmat = np.asarray(seg_rmat, float)
        if seg_rmat.shape != (len(t), 3, 3):
            raise ImukinError(f"seg_rmat must have shape (N, 3, 3) = ({len(t)}, 3, 3), got {seg_rmat.shape}")
        load = np.einsum("nji,nj->ni", seg_rmat, load)  # (N, 3) = R^T f, segment frame

    # per-sensor draws, always in the same order so a seed gives one sensor
    f_n = rng.uniform(*cfg.tissue_freq_hz)
    zeta = rng.uniform(*cfg.tissue_damping)
    rock_axes = _random_orthogonal(rng)  # (3, 3) direction of rocking per direction of wobble
    slow_on = cfg.tissue_slow_rot_deg > 0 or cfg.tissue_slow_disp_m > 0
    slow = _slow_motion(t, rng, cfg.tissue_slow_max_hz, slow_on)  # (N, 6) unit RMS per channel, or zeros

    wobble = np.zeros_like(load)  # (N, 3) oscillator displacement, m
    if cfg.tissue_disp_gain > 0 or cfg.tissue_rock_deg_per_mm > 0:
        w_n = 2.0 * np.pi * f_n
        b, a = bilinear([-1.0], [1.0, 2.0 * zeta * w_n, w_n**2], fs)  # y / f = -1 / (s^2 + 2 zeta w s + w^2)
        zi = lfilter_zi(b, a)[:, None] * load[0]  # (order, 3): start at rest under the first load
        wobble, _ = lfilter(b, a, load, axis=0, zi=zi)
        wobble -= wobble.mean(axis=0)

    per_axis = np.sqrt(3.0)  # RMS of a 3-vector with three unit-RMS axes
    disp = cfg.tissue_disp_gain * wobble + slow[:, 3:] * (cfg.tissue_slow_disp_m / per_axis)  # (N, 3)
    rock = np.deg2rad(cfg.tissue_rock_deg_per_mm) * 1e3  # rad per metre of wobble
    rotvec = rock * wobble @ rock_axes.T + slow[:, :3] * (np.deg2rad(cfg.tissue_slow_rot_deg) / per_axis)
    if cfg.tissue_joint_coupling > 0 and drivers is not None:  # drawn last: a seed without it is unchanged
        q = np.asarray(drivers, float)
        if q.ndim != 2 or len(q) != len(t) or not np.all(np.isfinite(q)):
            raise ImukinError(f"drivers must be a finite (N, K) array of joint angles with N = {len(t)}, "
                              f"got shape {q.shape}")
        coupling = rng.normal(0.0, cfg.tissue_joint_coupling, size=(q.shape[1], 3))  # (K, 3) deg per deg
        rotvec = rotvec + np.deg2rad((q - q.mean(axis=0)) @ coupling)  # (N, 3)
    return Rotation.from_rotvec(rotvec).as_matrix(), disp


# ---------------------------------------------------------------- electronic
def apply_electronic_errors(
    acc: np.ndarray, gyr: np.ndarray, fs: float, cfg: SensorErrorConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Turn ideal signals into what one real sensor would record.

    Order (accelerometer and gyroscope each with their own draws): scale factor
    and misalignment, constant plus random-walk bias, white noise, saturation.

    Parameters
    ----------
    acc : ndarray, shape (N, 3)
        Ideal specific force, m/s^2, sensor frame.
    gyr : ndarray, shape (N, 3)
        Ideal angular velocity, rad/s, sensor frame.
    fs : float
        Sampling rate, Hz (sets the per-sample noise SD and the random-walk step).
    cfg : SensorErrorConfig
    rng : numpy.random.Generator

    Returns
    -------
    acc, gyr : ndarray, shape (N, 3)
        Measured signals, same units.
    """
    _check_rng(rng)
    acc = np.asarray(acc, float)
    gyr = np.asarray(gyr, float)
    if acc.ndim != 2 or acc.shape[1] != 3 or gyr.shape != acc.shape:
        raise ImukinError(f"acc and gyr must both have shape (N, 3); got {acc.shape} and {gyr.shape}")
    if not (np.isfinite(fs) and fs > 0):
        raise ImukinError(f"fs must be a positive sampling rate in Hz, got {fs}")
    d2r = np.deg2rad(1.0)
    acc_out = _one_sensor(
        acc, fs, rng, cfg.acc_noise_density, cfg.acc_bias_sd, cfg.acc_bias_walk, cfg, cfg.acc_range
    )
    gyr_out = _one_sensor(
        gyr,
        fs,
        rng,
        (cfg.gyr_noise_density_dps[0] * d2r, cfg.gyr_noise_density_dps[1] * d2r),
        cfg.gyr_bias_sd_dps * d2r,
        cfg.gyr_bias_walk_dps * d2r,
        cfg,
        cfg.gyr_range_dps * d2r,
    )
    return acc_out, gyr_out


# ---------------------------------------------------------------- helpers
def _one_sensor(x, fs, rng, density_range, bias_sd, walk, cfg, limit) -> np.ndarray:
    """Errors of one triaxial sensor, in the documented order: (N, 3) -> (N, 3)."""
    n = len(x)
    density = rng.uniform(*density_range)  # per sensor
    bias = rng.normal(0.0, bias_sd, size=3)  # (3,)
    scale = rng.normal(0.0, cfg.scale_sd, size=3)  # (3,)
    tilt = rng.normal(0.0, np.deg2rad(cfg.misalignment_sd_deg), size=(3, 3)) * (1.0 - np.eye(3))  # off-diagonal
    gain = np.diag(1.0 + scale) @ (np.eye(3) + tilt)  # (3, 3), row i = sensitive axis i
    y = x @ gain.T if np.any(gain != np.eye(3)) else x.copy()  # (N, 3)
    y += bias
    if walk > 0:
        y += np.cumsum(rng.standard_normal((n, 3)) * (walk / np.sqrt(fs)), axis=0)  # bias random walk
    if density > 0:
        y += rng.standard_normal((n, 3)) * (density * np.sqrt(fs))  # per-sample SD of white noise
    return np.clip(y, -limit, limit)


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise ImukinError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                          "use np.random.default_rng(seed)")


def _unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Directions uniform on the sphere, (n, 3)."""
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _random_orthogonal(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix uniform over SO(3) (QR of a Gaussian matrix with the sign fixed), (3, 3)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _slow_motion(t: np.ndarray, rng: np.random.Generator, max_hz: float, on: bool) -> np.ndarray:
    """Six smooth random signals, unit RMS each, frequencies in [0.05, max_hz] Hz, (N, 6); zeros if not ``on``.

    Each channel is a sum of sinusoids. The frequencies and phases are drawn
    either way, so switching the slow part off leaves later draws unchanged.
    """
    freq = rng.uniform(_SLOW_MIN_HZ, max(max_hz, _SLOW_MIN_HZ), size=(6, _SLOW_TERMS))  # Hz
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(6, _SLOW_TERMS))
    n = len(t)
    if not on:
        return np.zeros((n, 6))
    # t is uniform, so sample k = j L + i and sin(w k dt + phi) = sin(A_j) cos(B_i) + cos(A_j) sin(B_i)
    # with A_j = w j L dt + phi, B_i = w i dt: a (J, 2K) @ (2K, L) product instead of N K sines.
    dt = (t[-1] - t[0]) / (n - 1)
    block = int(np.ceil(np.sqrt(n)))  # L
    n_blocks = -(-n // block)  # J
    w = 2.0 * np.pi * freq[:, None, :]  # (6, 1, K) rad/s
    a_j = w * (np.arange(n_blocks)[:, None] * block * dt) + phase[:, None, :]  # (6, J, K)
    b_i = w * (np.arange(block)[:, None] * dt)  # (6, L, K)
    left = np.concatenate([np.sin(a_j), np.cos(a_j)], axis=2)  # (6, J, 2K)
    right = np.concatenate([np.cos(b_i), np.sin(b_i)], axis=2)  # (6, L, 2K)
    amp = np.sqrt(2.0 / _SLOW_TERMS)  # K sinusoids of amplitude A have RMS A sqrt(K / 2)
    out = amp * (left @ right.transpose(0, 2, 1))  # (6, J, L)
    return out.reshape(6, -1)[:, :n].T  # (N, 6)
