"""A classical baseline: one VQF orientation filter per sensor, relative orientation -> joint angles.

No learning. Each sensor's orientation comes from the offline VQF filter
(``vqf.offlineVQF``; Laidig & Seel 2023, Information Fusion 91:187-204), the
maintained Python/C++ package ``vqf`` (PyPI, MIT licence; wheels for CPython 3.8-3.13),
in its magnetometer-free 6D mode with rest and motion gyroscope-bias estimation. VQF's
earth frame has z up; it is turned into imukin's Y-up lab frame. Without a magnetometer
each filter's heading is its own (and drifts slowly), so the two sensors' lab frames
differ by an unknown rotation ``delta`` about the vertical.

Calibration
-----------
Sensor frames are not segment frames: ``R_segment = R_sensor M`` with a constant
``M`` per sensor (mounting). Over a short calibration window at the start of the
recording (``calib_s`` seconds) with known joint angles, the seven numbers ``M1``,
``M2`` (rotation vectors) and ``delta`` are fitted by nonlinear least squares
(:func:`scipy.optimize.least_squares`) so that ``M1^T R1^T Ry(delta) R2 M2`` matches the
known relative orientation; a weak prior (``mount_sd_deg``) keeps directions the
movement does not reveal near zero. The known angles are either a static neutral
pose (all zero, the default: stand still for ``calib_s`` seconds), or a reference
recording of those seconds (for example optical motion capture: a functional
calibration). Only the calibration window of a reference is ever used.

Joint angles then follow from the calibrated relative orientation through
:func:`imukin.conventions.relative_rotation_to_angles`; left legs are mirrored first, as
everywhere in imukin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from imukin.conventions import (
    JOINT_NAMES,
    angles_to_relative_rotation,
    check_choice,
    relative_rotation_to_angles,
    side_inputs,
    split_channels,
)
from imukin.errors import ImukinError
from imukin.rotations import heading_rotation, so3_exp, so3_log

#: VQF's earth frame (z up) to imukin's lab frame (Y up): a rotation of -90 deg about x.
EARTH_TO_LAB = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass
class ClassicalConfig:
    """Settings of the filter baseline."""

    calib_s: float = 5.0  # s, calibration window at the start of the recording
    tau_acc_s: float = 3.0  # s, VQF accelerometer time constant (its default)
    bias_estimation: bool = True  # VQF rest and motion gyroscope-bias estimation
    mount_sd_deg: float = 20.0  # deg, prior SD of each mounting rotation in the calibration fit
    calib_stride: int = 4  # use every n-th frame of the calibration window in the fit


def vqf_orientations(acc: np.ndarray, gyr: np.ndarray, fs: float, tau_acc_s: float = 3.0,
                     bias_estimation: bool = True) -> np.ndarray:
    """One sensor's orientation by offline 6D VQF, in a Y-up lab frame of arbitrary heading.

    Parameters
    ----------
    acc, gyr : ndarray, shape (T, 3)
        m/s^2 and rad/s, sensor frame.
    fs : float
        Hz.

    Returns
    -------
    ndarray, shape (T, 3, 3)
        Columns = sensor axes in lab coordinates.
    """
    import vqf

    params = {"tauAcc": float(tau_acc_s), "motionBiasEstEnabled": bool(bias_estimation),
              "restBiasEstEnabled": bool(bias_estimation)}
    out = vqf.offlineVQF(np.ascontiguousarray(gyr, dtype=float), np.ascontiguousarray(acc, dtype=float), None,
                         1.0 / float(fs), params)
    q = out["quat6D"]  # (T, 4) w, x, y, z: sensor -> earth
    r_earth = Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix()  # (T, 3, 3)
    return EARTH_TO_LAB @ r_earth


@dataclass
class Calibration:
    """Mounting corrections and the heading offset between the two filters."""

    m1: np.ndarray  # (3, 3) R_segment1 = R_sensor1 m1
    m2: np.ndarray  # (3, 3) R_segment2 = Ry(delta) R_sensor2 m2
    delta_rad: float  # heading of filter 2's lab frame in filter 1's
    rms_deg: float  # fit residual over the calibration window

    def relative(self, r1: np.ndarray, r2: np.ndarray) -> np.ndarray:
        """Calibrated segment relative orientation (T, 3, 3) from filter orientations."""
        ry = heading_rotation(np.array([self.delta_rad]))[0]
        return self.m1.T @ np.swapaxes(r1, -1, -2) @ ry @ r2 @ self.m2


def calibrate(r1: np.ndarray, r2: np.ndarray, rel_known: np.ndarray, mount_sd_deg: float = 20.0) -> Calibration:
    """Fit ``m1``, ``m2`` and ``delta`` so that ``m1^T r1^T Ry(delta) r2 m2 ~ rel_known``.

    Parameters
    ----------
    r1, r2 : ndarray, shape (N, 3, 3)
        Filter orientations over the calibration frames.
    rel_known : ndarray, shape (N, 3, 3)
        Known segment relative orientation at those frames.
    mount_sd_deg : float
        Prior SD of the mounting rotations (regularises what the movement does not show).
    """
    a = np.swapaxes(r1, -1, -2)  # (N, 3, 3)
    w_prior = 1.0 / np.deg2rad(mount_sd_deg) / np.sqrt(len(r1))  # prior worth one frame's residual per axis

    def resid(p: np.ndarray) -> np.ndarray:
        m1, m2 = so3_exp(p[0:3]), so3_exp(p[3:6])
        ry = heading_rotation(p[6:7])[0]
        est = m1.T @ a @ ry @ r2 @ m2  # (N, 3, 3)
        err = so3_log(np.swapaxes(rel_known, -1, -2) @ est)  # (N, 3)
        return np.concatenate([err.reshape(-1) / np.sqrt(len(r1)), p[:6] * w_prior])

    best = None
    for d0 in np.deg2rad(np.arange(-180.0, 180.0, 30.0)):  # delta is far from unique a priori: multi-start
        fit = least_squares(resid, np.r_[np.zeros(6), d0], method="lm")
        if best is None or fit.cost < best.cost:
            best = fit
    p = best.x
    err = resid(p)[:-6].reshape(-1, 3) * np.sqrt(len(r1))
    return Calibration(m1=so3_exp(p[0:3]), m2=so3_exp(p[3:6]), delta_rad=float(np.angle(np.exp(1j * p[6]))),
                       rms_deg=float(np.degrees(np.sqrt(np.mean(np.sum(err**2, axis=1))))))


class ClassicalPredictor:
    """Joint angles of one joint from two IMUs with VQF filters and a short calibration.

    Parameters
    ----------
    joint : {"hip", "knee", "ankle"}
    config : ClassicalConfig, optional
    """

    needs_reference = True  # evaluate passes the reference angles (only its calibration frames are used)

    def __init__(self, joint: str, config: ClassicalConfig | None = None):
        check_choice("joint", joint, JOINT_NAMES)
        self.joint = joint
        self.config = config or ClassicalConfig()
        self.calibration_: Calibration | None = None

    def predict(self, acc1, gyr1, acc2, gyr2, side: str, fs: float, reference=None) -> np.ndarray:
        """Joint angles of one leg, (T, 3) degrees.

        Parameters
        ----------
        acc1, gyr1, acc2, gyr2 : ndarray, shape (T, 3)
            Proximal then distal sensor, m/s^2 and rad/s.
        side : {"right", "left"}
        fs : float
            Hz.
        reference : ndarray, shape (>= calib frames, 3), optional
            Known joint angles (degrees) covering at least the calibration window; only
            its first ``calib_s * fs`` frames are used. Default: a neutral static pose
            (all angles zero) during the calibration window.

        Returns
        -------
        ndarray, shape (T, 3)
            ``[flexion, adduction, rotation]`` degrees. ``self.calibration_`` holds the fit.
        """
        fs = float(fs)
        if not (np.isfinite(fs) and fs > 0):
            raise ImukinError(f"sampling rate must be positive, got {fs}")
        x = np.asarray(side_inputs(acc1, gyr1, acc2, gyr2, side), float)  # (T, 16), mirrored for a left leg
        n = len(x)
        n_cal = int(round(self.config.calib_s * fs))
        if n_cal < 2 or n < n_cal:
            raise ImukinError(f"the recording has {n} samples but the calibration needs {max(n_cal, 2)} "
                              f"({self.config.calib_s:g} s at {fs:g} Hz); record longer or lower calib_s")
        if not np.all(np.isfinite(x)):
            raise ImukinError("the IMU signals have NaN or inf samples; interpolate or drop the gaps first")
        known = np.zeros((n_cal, 3))
        if reference is not None:
            ref = np.asarray(reference, float)
            if ref.ndim != 2 or ref.shape[1] != 3 or len(ref) < n_cal:
                raise ImukinError(f"reference angles must be (N, 3) with N >= {n_cal} calibration frames, got "
                                  f"{ref.shape}")
            known = ref[:n_cal]
        acc1, gyr1, acc2, gyr2 = split_channels(x)  # each (T, 3)
        r1 = vqf_orientations(acc1, gyr1, fs, self.config.tau_acc_s, self.config.bias_estimation)
        r2 = vqf_orientations(acc2, gyr2, fs, self.config.tau_acc_s, self.config.bias_estimation)
        idx = np.arange(0, n_cal, max(1, int(self.config.calib_stride)))
        rel_known = angles_to_relative_rotation(known[idx], self.joint, "right")  # mirrored frame: right convention
        self.calibration_ = calibrate(r1[idx], r2[idx], rel_known, self.config.mount_sd_deg)
        return relative_rotation_to_angles(self.calibration_.relative(r1, r2), self.joint, "right")
