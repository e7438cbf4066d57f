"""APDM Opal recordings: the ``.h5`` files of Mobility Lab and Moveo Explorer.

Layouts read. APDM's HDF5 file format, version 5 and later::

    /Sensors/<device id>/Accelerometer   (N, 3) m/s^2, sensor frame
    /Sensors/<device id>/Gyroscope       (N, 3) rad/s, sensor frame
    /Sensors/<device id>/Time            (N,) microseconds since 1970 (one clock for every sensor)
    /Sensors/<device id>/Configuration   attribute "Label 0": where the sensor was worn ("Right Foot",
                                         "Left Lower Leg", "Lumbar", ...)

and versions 2-4 (Mobility Lab before 2.0, Motion Studio)::

    /                                    attributes FileFormatVersion, CaseIdList (the device ids) and
                                         MonitorLabelList (their labels, in the same order)
    /<case id>/Calibrated/Accelerometers (N, 3) m/s^2, sensor frame
    /<case id>/Calibrated/Gyroscopes     (N, 3) rad/s, sensor frame
    /<case id>/Time                      (N,) microseconds since 1970

Every sensor of the file becomes one :class:`imukin.io.imu_csv.ImuRecording` named by its label
(the device id where it has none), with its time stamps; the loader
(:func:`imukin.io.recording.load_recording`) maps labels to segments
(:func:`imukin.io.recording.segment_from_name`: ``Lumbar`` is the pelvis, ``Upper Leg`` the thigh,
``Lower Leg`` the shank) and aligns the sensors on their shared clock. Files of format version 1, or
whose layout is neither of these, are refused with a line saying how to export them again. The
format fixes the units; data that contradict them (an accelerometer whose
magnitude looks like g, a gyroscope reaching hundreds) are refused, as a header that says otherwise
is (:func:`imukin.io.units.convert_units`).

>>> from imukin.io.apdm_h5 import is_apdm_file, read_apdm_h5   # doctest: +SKIP
>>> [r.name for r in read_apdm_h5("20230316-135110_Walk.h5")]   # doctest: +SKIP
['Lumbar', 'Right Upper Leg', 'Right Lower Leg', 'Right Foot', 'Sternum']
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from imukin.errors import ImukinError
from imukin.io.imu_csv import ImuRecording, stamp_rate
from imukin.io.units import convert_units

SENSORS_GROUP = "Sensors"  # group of the per-device groups (format version 5 and later)
LABEL_ATTR = "Label 0"  # attribute of a device's Configuration group: where it was worn
TIME_SCALE_S = 1e-6  # s per unit of the Time datasets (microseconds)
DECLARED_UNITS = (("m/s^2", "header"), ("rad/s", "header"))  # accelerometer, gyroscope: fixed by the format
_OLD_FORMAT_ATTRS = ("FileFormatVersion", "File_Format_Version", "CaseIdList", "MonitorLabelList")
OLD_ACC, OLD_GYR = "Calibrated/Accelerometers", "Calibrated/Gyroscopes"  # per case id (format versions 2-4)


def _text(value) -> str:
    """An HDF5 string attribute (bytes, str or a one-element array) as str."""
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip("\x00 ").strip()


def _devices(f) -> list[str]:
    """Device ids under /Sensors that hold both an accelerometer and a gyroscope."""
    group = f.get(SENSORS_GROUP)
    if group is None or not hasattr(group, "keys"):
        return []
    return [k for k in group.keys() if "Accelerometer" in group[k] and "Gyroscope" in group[k]]


def _text_list(f, name: str) -> list[str]:
    """A list of strings stored as a root attribute or a root dataset (versions 2-4 keep them either way)."""
    raw = f.attrs[name] if name in f.attrs else f[name][()] if name in f else []
    return [_text(v) for v in np.atleast_1d(raw)]


def _old_devices(f) -> list[tuple[str, str, str]]:
    """(case id, group name, label) of the sensors of a format 2-4 file that hold both signals, in its order.
    Case ids may come padded (NUL, blanks, a longer fixed width): the group is the one the id starts with."""
    ids = _text_list(f, "CaseIdList")
    labels = _text_list(f, "MonitorLabelList")
    out = []
    for i, case in enumerate(ids):
        group = case if case in f else next((k for k in f.keys() if k and case.startswith(k)), None)
        if group is not None and OLD_ACC in f[group] and OLD_GYR in f[group]:
            out.append((case, group, labels[i] if i < len(labels) else ""))
    return out


def is_apdm_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an APDM ``.h5`` recording, of any format version (a cheap look at its layout)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return bool(_devices(f)) or any(a in f.attrs for a in _OLD_FORMAT_ATTRS) or "CaseIdList" in f
    except OSError:
        return False


def read_apdm_h5(path: str | os.PathLike, acc_units: str = "auto", gyr_units: str = "auto") -> list[ImuRecording]:
    """Every sensor of an APDM ``.h5`` recording, in m/s^2 and rad/s, with its time stamps.

    Parameters
    ----------
    path : path-like
        The ``.h5`` file.
    acc_units, gyr_units : str
        ``"auto"`` (the format's m/s^2 and rad/s, checked against the data) or a unit that wins.

    Returns
    -------
    list of ImuRecording
        One per sensor, in the file's order; ``name`` is the sensor's label (its device id where it has
        none), ``meta["device_id"]`` the id, ``t`` seconds from its first stamp and ``t_start`` that stamp
        in seconds since 1970.

    Raises
    ------
    ImukinError
        Not an HDF5 file, no sensor with an accelerometer and a gyroscope in either layout (an APDM file of
        format version 1 has none), signals that are not (N, 3) with one time stamp per sample.
    """
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ImukinError(f"{path.name} is not a readable HDF5 file ({e}); pass an APDM .h5 recording") from None
    out = []
    with f:
        devices = _devices(f)
        if devices:
            sensors = [(dev, f[SENSORS_GROUP][dev], "Accelerometer", "Gyroscope") for dev in devices]
            labels = [_label(f[SENSORS_GROUP][dev]) for dev in devices]
        else:
            old = _old_devices(f)
            if not old:
                _refuse(f, path)
            sensors = [(case, f[group], OLD_ACC, OLD_GYR) for case, group, _ in old]
            labels = [label for *_, label in old]
        for (dev, g, acc_key, gyr_key), label in zip(sensors, labels):
            out.append(_read_sensor(g, acc_key, gyr_key, str(dev), label, path, acc_units, gyr_units))
    return out


def _label(g) -> str:
    """A version-5 device's "Label 0" ('' where it has none)."""
    conf = g.get("Configuration")
    return _text(conf.attrs[LABEL_ATTR]) if conf is not None and LABEL_ATTR in conf.attrs else ""


def _refuse(f, path: Path) -> None:
    """Raise the one line for an HDF5 file with no sensor imukin can read."""
    version = next((_text(f.attrs[a]) for a in _OLD_FORMAT_ATTRS[:2] if a in f.attrs), "")
    if version or any(a in f.attrs for a in _OLD_FORMAT_ATTRS):
        raise ImukinError(f"{path.name} is an APDM file of format version {version or 'unknown'} with no sensor "
                          f"holding /<case id>/{OLD_ACC} and {OLD_GYR.split('/')[1]}, which imukin does not read; "
                          "export it again from Mobility Lab or Moveo Explorer as an .h5 of the current format, "
                          "or as CSV")
    raise ImukinError(f"{path.name} holds no /{SENSORS_GROUP}/<device>/Accelerometer and Gyroscope; it is "
                      "not an APDM recording")


def _read_sensor(g, acc_key: str, gyr_key: str, dev: str, label: str, path: Path, acc_units: str,
                 gyr_units: str) -> ImuRecording:
    """One sensor's group (either layout) as an ImuRecording in m/s^2 and rad/s, with its stamps."""
    name = label or dev
    acc, gyr = np.asarray(g[acc_key][()], float), np.asarray(g[gyr_key][()], float)
    if acc.ndim != 2 or acc.shape[1] != 3 or acc.shape != gyr.shape:
        raise ImukinError(f"{path.name}: sensor {name!r} has accelerometer {acc.shape} and gyroscope "
                          f"{gyr.shape}; expected two (N, 3) arrays")
    if "Time" not in g or len(g["Time"]) != len(acc):
        raise ImukinError(f"{path.name}: sensor {name!r} has no Time dataset of {len(acc)} stamps; export "
                          "the recording again with its time stamps")
    stamps = np.asarray(g["Time"][()], np.int64)  # us since 1970: exact as integers
    t = (stamps - stamps[0]).astype(float) * TIME_SCALE_S  # (N,) s
    acc, gyr, units = convert_units(acc, gyr, list(DECLARED_UNITS), acc_units, gyr_units, f"{path.name}: {name}")
    return ImuRecording(name=name, acc=acc, gyr=gyr, fs=stamp_rate(t), t=t, t_start=float(stamps[0]) * TIME_SCALE_S,
                        source=str(path), preset="apdm", units=units, meta={"device_id": dev, "label": label})


__all__ = ["is_apdm_file", "read_apdm_h5"]
