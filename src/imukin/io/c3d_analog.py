"""Analog channels of C3D files (via ezc3d), e.g. IMUs recorded through a motion-capture system.

Some labs record inertial sensors (Delsys Trigno, Noraxon, APDM via an analog box) as
C3D analog channels next to the markers, at the analog rate. :func:`read_c3d_analogs`
returns every channel with its label, unit and rate; :func:`imu_from_analogs` picks
three accelerometer and three gyroscope channels by label and converts them to m/s^2
and rad/s with the units the file declares (or, failing that, detected with a
warning, as :mod:`imukin.io.imu_csv` does).

Values are those ezc3d returns (physical units after the file's ``ANALOG:SCALE``,
``GEN_SCALE`` and ``OFFSET``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from imukin.errors import ImukinError
from imukin.io.c3d import open_c3d
from imukin.io.imu_csv import ImuRecording
from imukin.io.units import ACC_UNITS, GYR_UNITS, convert_units, unit_in_name


@dataclass
class AnalogData:
    """Analog channels of one C3D file."""

    labels: list[str]  # one per column of data
    units: list[str]  # ANALOG:UNITS per channel ("" when absent)
    fs: float  # Hz, analog rate
    data: np.ndarray  # (N, C) values
    source: str = ""  # file path

    def channel(self, label: str) -> np.ndarray:
        """One channel by label, (N,)."""
        if label not in self.labels:
            raise ImukinError(f"{Path(self.source).name} has no analog channel {label!r}; it has "
                              f"{', '.join(self.labels[:20])}{' ...' if len(self.labels) > 20 else ''}")
        return self.data[:, self.labels.index(label)]


def read_c3d_analogs(path: str | os.PathLike) -> AnalogData:
    """Read every analog channel of a C3D file.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    AnalogData
        ``data`` (N, C) at the analog rate ``fs``.

    Raises
    ------
    ImukinError
        Missing or unreadable file, or a file without analog channels.
    """
    path = Path(path)
    c3d = open_c3d(path)
    analog = c3d["parameters"].get("ANALOG", {})
    data = np.asarray(c3d["data"]["analogs"], float)  # (1, C, N)
    if data.ndim != 3 or data.shape[1] == 0 or data.shape[2] == 0:
        raise ImukinError(f"{path} holds no analog channels; export the trial with its analog data")
    n_ch = data.shape[1]
    labels = [str(s).strip() for s in analog.get("LABELS", {}).get("value", [])][:n_ch]
    labels += [f"analog{i}" for i in range(len(labels), n_ch)]
    units = [str(s).strip() for s in analog.get("UNITS", {}).get("value", [])][:n_ch]
    units += [""] * (n_ch - len(units))
    rate = analog.get("RATE", {}).get("value", [])
    fs = float(rate[0]) if len(rate) else float(c3d["header"]["analogs"]["frame_rate"])
    return AnalogData(labels=labels, units=units, fs=fs, data=data[0].T.copy(), source=str(path))


def imu_from_analogs(analogs: AnalogData, acc_labels: list[str], gyr_labels: list[str], name: str = "imu",
                     acc_units: str = "auto", gyr_units: str = "auto") -> ImuRecording:
    """One IMU from six analog channels (acc x, y, z and gyr x, y, z), in m/s^2 and rad/s.

    Parameters
    ----------
    analogs : AnalogData
    acc_labels, gyr_labels : list of str
        Three channel labels each, in x, y, z order.
    name : str
        Sensor name for the result.
    acc_units, gyr_units : str
        ``"auto"`` (the file's ``ANALOG:UNITS``, else detected with a warning) or
        explicit (``"m/s^2"``/``"g"``, ``"rad/s"``/``"deg/s"``).
    """
    if len(acc_labels) != 3 or len(gyr_labels) != 3:
        raise ImukinError("an IMU needs three accelerometer and three gyroscope channel labels (x, y, z)")
    acc = np.stack([analogs.channel(c) for c in acc_labels], axis=1)
    gyr = np.stack([analogs.channel(c) for c in gyr_labels], axis=1)
    declared = []
    for labels, choices in ((acc_labels, ACC_UNITS), (gyr_labels, GYR_UNITS)):
        unit = analogs.units[analogs.labels.index(labels[0])]
        declared.append((unit_in_name(f"x ({unit})", choices) if unit else None, "header"))
    acc, gyr, units = convert_units(acc, gyr, declared, acc_units, gyr_units, f"{Path(analogs.source).name}:{name}")
    return ImuRecording(name=name, acc=acc, gyr=gyr, fs=analogs.fs, t=None, source=analogs.source, preset="c3d",
                        units=units)


__all__ = ["AnalogData", "read_c3d_analogs", "imu_from_analogs"]
