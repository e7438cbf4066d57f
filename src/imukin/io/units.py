"""Units of inertial signals: the one place that tells g from m/s^2 and deg/s from rad/s.

imukin works in m/s^2 and rad/s (:data:`imukin.conventions.UNITS`). Files that do not
say their units are judged by magnitude: a body-worn accelerometer's median magnitude
over a recording is about 1 g = 9.81 m/s^2 (gravity plus the body's own, smaller,
accelerations), and gait angular velocities stay below about 25 rad/s, so a gyroscope
whose 99th percentile exceeds :data:`GYR_DEG_THRESHOLD` is in deg/s.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from imukin.conventions import G
from imukin.errors import ImukinError

ACC_UNITS = ("m/s^2", "g")
GYR_UNITS = ("rad/s", "deg/s")
ACC_G_RANGE = (0.5, 2.0)  # median |acc| in this range: the accelerometer is in g
ACC_SI_RANGE = (5.0, 20.0)  # median |acc| in this range: m/s^2
GYR_DEG_THRESHOLD = 40.0  # 99th percentile of |gyr| above which the gyroscope is in deg/s


def _median_norm(a) -> float:
    return float(np.median(np.linalg.norm(np.asarray(a, float).reshape(-1, 3), axis=1)))


def _p99_norm(a) -> float:
    return float(np.percentile(np.linalg.norm(np.asarray(a, float).reshape(-1, 3), axis=1), 99))


def detect_units(acc: np.ndarray, gyr: np.ndarray) -> tuple[str | None, str]:
    """Units the data look like.

    Parameters
    ----------
    acc, gyr : ndarray, shape (..., 3)

    Returns
    -------
    acc_units : {"g", "m/s^2", None}
        None when the median magnitude fits neither (e.g. a free-falling or broken sensor).
    gyr_units : {"deg/s", "rad/s"}

    Examples
    --------
    >>> import numpy as np
    >>> detect_units(np.array([[0.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 2.0]]))
    ('g', 'rad/s')
    """
    return _classify(_median_norm(acc), _p99_norm(gyr))


def _classify(mag: float, p99: float) -> tuple[str | None, str]:
    """:func:`detect_units` from the median |acc| and the 99th percentile of |gyr|."""
    acc_u = "g" if ACC_G_RANGE[0] <= mag <= ACC_G_RANGE[1] else (
        "m/s^2" if ACC_SI_RANGE[0] <= mag <= ACC_SI_RANGE[1] else None)
    gyr_u = "deg/s" if p99 > GYR_DEG_THRESHOLD else "rad/s"
    return acc_u, gyr_u


def check_units(acc: np.ndarray, gyr: np.ndarray, where: str) -> None:
    """Refuse signals in m/s^2 and rad/s whose magnitudes betray g or deg/s, naming the fix.

    Parameters
    ----------
    acc, gyr : ndarray, shape (..., 3)
        Signals that should be in m/s^2 and rad/s.
    where : str
        What the signals are, for the message.

    Raises
    ------
    ImukinError
        The accelerometer looks like g or the gyroscope like deg/s.
    """
    acc_u, gyr_u = detect_units(acc, gyr)
    if acc_u == "g":
        raise ImukinError(f"{where}: accelerometer magnitude is about {_median_norm(acc):.2f}, which looks like g; "
                          f"multiply by {G} (or pass --acc-units g)")
    if gyr_u == "deg/s":
        raise ImukinError(f"{where}: gyroscope reaches {_p99_norm(gyr):.0f}, which looks like deg/s; "
                          "convert to rad/s (or pass --gyr-units deg/s)")


def convert_units(acc, gyr, declared, acc_units: str, gyr_units: str, where: str):
    """Convert a sensor's signals to m/s^2 and rad/s.

    Parameters
    ----------
    acc, gyr : ndarray, shape (N, 3)
        Signals as read.
    declared : [(unit or None, source), (unit or None, source)]
        What the file says for the accelerometer and the gyroscope, and where that came
        from (``"header"``: stated in the file; a preset name: the vendor's default).
    acc_units, gyr_units : str
        ``"auto"`` or one of :data:`ACC_UNITS` / :data:`GYR_UNITS` (given by the user; wins).
    where : str
        The sensor, for messages.

    Returns
    -------
    acc, gyr : ndarray, shape (N, 3)
        In m/s^2 and rad/s.
    units : dict
        ``{"acc": ..., "gyr": ...}``: the units taken and why.

    Raises
    ------
    ImukinError
        A header contradicts the data, or the accelerometer units cannot be told.
    """
    mag, p99 = _median_norm(acc), _p99_norm(gyr)
    det_acc, det_gyr = _classify(mag, p99)
    (dec_a, src_a), (dec_g, src_g) = declared
    # accelerometer
    if acc_units != "auto":
        au, how = acc_units, "given"
    elif dec_a and src_a == "header":
        au, how = dec_a, "header"
        if det_acc is not None and det_acc != au:
            raise ImukinError(f"{where}: the header declares the accelerometer in {au} but its median magnitude is "
                              f"{mag:.2f}, which looks like {det_acc}; pass acc_units='{det_acc}' if that is right")
    else:
        if det_acc is None and dec_a is None:
            raise ImukinError(f"{where}: cannot tell the accelerometer units (median magnitude {mag:.3g}, neither "
                              f"about 1 g nor {G} m/s^2); pass acc_units")
        au = det_acc or dec_a
        how = "detected" if dec_a is None else (f"{src_a} default" if au == dec_a else f"detected, not the {src_a}'s")
        warnings.warn(f"{where}: accelerometer units not stated in the file; assumed {au} "
                      f"({how}; median magnitude {mag:.2f})", stacklevel=2)
    # gyroscope
    if gyr_units != "auto":
        gu, ghow = gyr_units, "given"
    elif dec_g and src_g == "header":
        gu, ghow = dec_g, "header"
        if gu == "rad/s" and det_gyr == "deg/s":
            raise ImukinError(f"{where}: the header declares the gyroscope in rad/s but it reaches {p99:.0f} "
                              "(99th percentile), which looks like deg/s; pass gyr_units='deg/s' if that is right")
    else:
        # large rates are deg/s for sure; small ones may be deg/s of a still sensor, so a default stands
        gu = "deg/s" if det_gyr == "deg/s" else (dec_g or "rad/s")
        ghow = "detected" if dec_g is None else (f"{src_g} default" if gu == dec_g else f"detected, not the {src_g}'s")
        warnings.warn(f"{where}: gyroscope units not stated in the file; assumed {gu} ({ghow}; 99th percentile of "
                      f"|gyr| is {p99:.3g}, deg/s above {GYR_DEG_THRESHOLD:g})", stacklevel=2)
    acc = np.asarray(acc, float) * (G if au == "g" else 1.0)
    gyr = np.asarray(gyr, float) * (np.pi / 180.0 if gu == "deg/s" else 1.0)
    return acc, gyr, {"acc": f"{au} ({how})", "gyr": f"{gu} ({ghow})"}


def unit_in_name(name: str, choices) -> str | None:
    """The unit in a column name's trailing brackets (``"Acc_X (m/s^2)"`` -> ``"m/s^2"``), if among ``choices``."""
    m = re.search(r"[\(\[]\s*([^\)\]]+?)\s*[\)\]]\s*$", name)
    if not m:
        return None
    u = m.group(1).lower().replace(" ", "").replace("²", "^2").replace("s2", "s^2").replace("sec", "s")
    table = {"m/s^2": "m/s^2", "ms^-2": "m/s^2", "g": "g", "rad/s": "rad/s", "deg/s": "deg/s", "dps": "deg/s",
             "°/s": "deg/s"}
    u = table.get(u)
    return u if u in choices else None
