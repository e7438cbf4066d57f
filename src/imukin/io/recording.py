"""Any recording in: one loader for every form imukin reads, giving a :class:`Recording`.

>>> import imukin                                              # doctest: +SKIP
>>> rec = imukin.load_recording("my_trial/", fs=100)           # doctest: +SKIP
>>> rec.segments                                               # doctest: +SKIP
('pelvis', 'rthigh', 'lthigh', 'rshank', 'lshank', 'rfoot', 'lfoot')

Forms
-----
A folder of sensor files
    One file per sensor in any format :mod:`imukin.io.imu_csv` reads (Xsens MT Manager
    ``.txt`` exports, Movella DOT ``.csv``, generic CSVs with a time column). Which
    sensor sits on which segment comes from, in this order: the ``sensors`` argument
    (``--sensors FILE``), an ``imukin.json`` in the folder (``{"sensors": {...}}``, as
    :mod:`imukin.preprocessing.harmonize` reads it), a vendor mapping file (OpenSense's
    ``myIMUMappings.xml``: ``ExperimentalSensor name="_00B42DA3"`` with
    ``name_in_model`` ``pelvis_imu``, ``femur_r_imu``, ``tibia_l_imu``, ``calcn_r_imu``
    ...), or the file names (``pelvis.csv``, ``RightThigh.txt``, ``lshank.csv``,
    ``femur_r.txt``, ...; see :func:`segment_from_name`).
A multi-sensor CSV file
    gaitmap's two-header layout; its sensors map to segments by name or ``sensors``.
A reference-layout HDF5 file (``.h5``)
    As written by ``imukin simulate`` or ``imukin harmonize`` (``harmonized.h5``); one
    subject per recording (``subject=`` picks one).
An APDM Opal recording (``.h5`` of Mobility Lab or Moveo Explorer)
    Every sensor with its label (:mod:`imukin.io.apdm_h5`), mapped to segments by ``sensors``
    (labels or device ids) or by the labels (``Lumbar``, ``Right Upper Leg``, ``Left Lower
    Leg``, ``Right Foot``, ...); sensors worn elsewhere (sternum, wrists) are left out.
The reference demo folder (``Right_seg1_acc.npy`` ...)
    One joint's two sensors per leg (:mod:`imukin.io.demo_layout`); ``joint=`` says
    which joint, so which segments seg1 and seg2 are.

A ``sensors`` mapping is ``{segment: file name, file stem, device id or sensor name}``
with segments named as in :data:`imukin.conventions.SEGMENTS` (or any name
:func:`segment_from_name` understands); as a file it is JSON (``.json``) or TOML
(``.toml``).

Rates
-----
The rate comes from the time stamps (or the file header) where there are any. Where
there are none, ``fs`` is required: imukin never assumes a rate. A given ``fs`` that
differs from the stamps by more than :data:`imukin.conventions.RATE_TOLERANCE` (1 %) is
refused, and so is a rate that is not finite or outside
:data:`imukin.conventions.FS_RANGE` (20-1000 Hz). Sensors whose rates differ are refused.
Time-stamped signals are put on a regular grid; samples missing for longer than
:data:`MAX_FILL_S` become NaN (a gap that :func:`imukin.predict` leaves out).
"""
from __future__ import annotations

import json
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imukin.conventions import (
    JOINT_NAMES,
    SEGMENTS,
    SIDES,
    SYNC_MODES,
    check_choice,
    check_rate,
    joint_segments,
    rates_agree,
)
from imukin.errors import ImukinError
from imukin.io.config_files import read_config_file
from imukin.io.motion_bids import is_motion_bids

#: Shortest recording accepted (s): about one walking stride.
MIN_RECORDING_S = 1.0
#: Longest stretch of missing samples (s) filled by interpolation; longer gaps stay NaN.
MAX_FILL_S = 0.1
#: Largest length difference (samples) between sensors of one recording that is trimmed, not refused.
MAX_LENGTH_MISMATCH = 2
#: Largest difference (s) between the sensors' first time stamps that is taken as one clock's: sensors of one
#: synchronised system whose recordings began a few samples apart (a Bluetooth start command reaches each
#: sensor at its own time; synchronised Xsens DOT exports can begin with a few extra packets). Further apart,
#: or off the sample grid, the stamps are taken as the sensors' own clocks (a DOT's counts from its power-on)
#: and the recordings as starting together.
MAX_START_SPREAD_S = 0.25
#: Largest distance (samples) of the start differences from whole samples on one clock.
START_GRID_TOL = 0.25
#: Files in a recording folder that can hold a sensor.
SENSOR_SUFFIXES = (".txt", ".csv", ".tsv")
#: Motion-capture and OpenSim files: markers or angles, not inertial sensors.
MOCAP_SUFFIXES = (".c3d", ".trc", ".mot", ".sto", ".osim")
MANIFEST = "imukin.json"

_SEGMENT_WORDS = {  # word in a file or sensor name -> segment type
    "pelvis": "pelvis", "pelv": "pelvis", "sacrum": "pelvis", "sacral": "pelvis", "lumbar": "pelvis",
    "waist": "pelvis", "lowerback": "pelvis",
    "thigh": "thigh", "femur": "thigh", "upperleg": "thigh",
    "shank": "shank", "tibia": "shank", "shin": "shank", "lowerleg": "shank", "calf": "shank",
    "foot": "foot", "calcn": "foot", "calcaneus": "foot", "heel": "foot",
}
_SIDE_WORDS = {"r": "right", "right": "right", "l": "left", "left": "left"}


@dataclass
class Recording:
    """One recording's synchronised IMU signals, per segment, at one rate.

    Attributes
    ----------
    fs : float
        Sampling rate in Hz (shared by every sensor).
    acc, gyr : dict of str -> ndarray, shape (N, 3)
        Per segment (names from :data:`imukin.conventions.SEGMENTS`), specific force in
        m/s^2 and angular velocity in rad/s, in each sensor's own frame. NaN rows mark
        samples that are missing.
    sensors : dict of str -> str
        Segment -> the sensor it came from (file name, device id or sensor name).
    name : str
        Short name (file or folder stem), used for output files.
    source : str
        Where it was read from.
    rate_source : str
        How the rate was found (``time stamps``, ``file header``, ``given``).
    units : dict of str -> dict
        Per segment, the units found in the file and how (``{"acc": ..., "gyr": ...}``).
    notes : list of str
        What the reader assumed or repaired (one line each).
    reference : dict of str -> ndarray, shape (N, 3)
        Reference joint angles in degrees, per joint (``rknee`` ...), where the file has any.
    mounting : dict of str -> ndarray, shape (3, 3)
        Known sensor mountings per segment (``v_segment = r_mount @ v_sensor``), e.g.
        from an ``imukin.json``'s ``alignment``.
    """

    fs: float
    acc: dict[str, np.ndarray]
    gyr: dict[str, np.ndarray]
    sensors: dict[str, str] = field(default_factory=dict)
    name: str = "recording"
    source: str = ""
    rate_source: str = "given"
    units: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reference: dict[str, np.ndarray] = field(default_factory=dict)
    mounting: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.fs = check_rate(self.fs, f"the rate of {self.name}")
        if not self.acc:
            raise ImukinError(f"{self.name} has no sensor signals")
        for seg in self.acc:
            check_choice("segment", seg, SEGMENTS)
            if seg not in self.gyr:
                raise ImukinError(f"{self.name}: the {seg} sensor has an accelerometer but no gyroscope")
            for what, a in (("acc", self.acc[seg]), ("gyr", self.gyr[seg])):
                if a.ndim != 2 or a.shape[1] != 3:
                    raise ImukinError(f"{self.name}: {seg} {what} has shape {a.shape}; expected (N, 3)")
        lengths = {seg: (len(self.acc[seg]), len(self.gyr[seg])) for seg in self.acc}
        if len({n for pair in lengths.values() for n in pair}) != 1:
            desc = ", ".join(f"{s} {a}" if a == g else f"{s} {a}/{g}" for s, (a, g) in lengths.items())
            raise ImukinError(f"{self.name}: sensors of unequal length ({desc} samples); pass synchronised "
                              "recordings of one trial")

    @classmethod
    def from_arrays(cls, signals: dict, fs: float, name: str = "arrays", acc_units: str = "m/s^2",
                    gyr_units: str = "rad/s", pad: bool = False) -> Recording:
        """A recording from arrays: ``{segment: (acc, gyr)}``, each (N, 3).

        Parameters
        ----------
        signals : dict of str -> (array_like, array_like)
            Per segment (``pelvis``, ``rthigh``, ... or a name :func:`segment_from_name`
            understands) the accelerometer and gyroscope, sensor frame.
        fs : float
            Hz; required, as arrays carry no time stamps.
        acc_units : {"m/s^2", "g"}
        gyr_units : {"rad/s", "deg/s"}
        pad : bool
            Sensors of unequal length are kept whole, the shorter ones padded with NaN at the end
            (sensors to be synchronised, ``imukin.predict(sync="impact")``); otherwise refused.

        Raises
        ------
        ImukinError
            Missing or bad rate, unknown segments, bad shapes, units that look wrong.
        """
        if fs is None:
            raise ImukinError("arrays carry no time stamps: pass their sampling rate, fs=... (Hz)")
        fs = check_rate(fs)
        acc_scale, gyr_scale = _unit_scales(acc_units, gyr_units)
        acc, gyr, sensors = {}, {}, {}
        for key, pair in signals.items():
            seg = key if key in SEGMENTS else segment_from_name(str(key))
            if seg is None:
                raise ImukinError(f"unknown segment {key!r}; name segments {', '.join(SEGMENTS)}")
            if seg in acc:
                raise ImukinError(f"segment {seg} is given twice; give one sensor per segment")
            try:
                a, g = pair
            except (TypeError, ValueError):
                raise ImukinError(f"signals[{key!r}] must be a pair (acc, gyr) of (N, 3) arrays") from None
            acc[seg] = np.asarray(a, float) * acc_scale
            gyr[seg] = np.asarray(g, float) * gyr_scale
            sensors[seg] = str(key)
        if pad and all(a.ndim == 2 for a in acc.values()):
            acc, gyr = _padded(acc), _padded(gyr)
        rec = cls(fs=fs, acc=acc, gyr=gyr, sensors=sensors, name=name, source="arrays", rate_source="given")
        rec.check()
        return rec

    # ------------------------------------------------------------ views
    @property
    def segments(self) -> tuple[str, ...]:
        """Segments with a sensor, in :data:`imukin.conventions.SEGMENTS` order."""
        return tuple(s for s in SEGMENTS if s in self.acc)

    @property
    def n_frames(self) -> int:
        """Number of samples."""
        return int(len(next(iter(self.acc.values()))))

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_frames / self.fs

    @property
    def t(self) -> np.ndarray:
        """Time of each sample in seconds from the first, (N,)."""
        return np.arange(self.n_frames) / self.fs

    def joints(self, joints=None, sides=None) -> list[tuple[str, str]]:
        """The ``(joint, side)`` pairs whose two segments both have a sensor.

        Parameters
        ----------
        joints : sequence of {"hip", "knee", "ankle"}, optional
            Only these (default: all three).
        sides : sequence of {"right", "left"}, optional
            Only these (default: both).
        """
        out = []
        for side in sides or SIDES:
            check_choice("side", side, SIDES)
            for joint in joints or JOINT_NAMES:
                check_choice("joint", joint, JOINT_NAMES)
                if all(s in self.acc for s in joint_segments(joint, side)):
                    out.append((joint, side))
        return out

    def gap_mask(self) -> np.ndarray:
        """Frames where any sensor lacks a sample (NaN), (N,) bool."""
        bad = np.zeros(self.n_frames, bool)
        for seg in self.acc:
            bad |= ~np.all(np.isfinite(self.acc[seg]), axis=1) | ~np.all(np.isfinite(self.gyr[seg]), axis=1)
        return bad

    def check(self) -> Recording:
        """Refuse recordings too short for a stride or whose units look wrong; returns self.

        Raises
        ------
        ImukinError
            Shorter than :data:`MIN_RECORDING_S`, nothing finite, accelerometer about 1
            (g, not m/s^2) or gyroscope beyond 40 (deg/s, not rad/s).
        """
        from imukin.io.units import check_units

        if self.duration_s < MIN_RECORDING_S:
            raise ImukinError(f"{self.name} lasts {self.duration_s:.2f} s ({self.n_frames} samples at {self.fs:g} Hz), "
                              f"too short for any stride; imukin needs at least {MIN_RECORDING_S:g} s of walking or "
                              "running")
        for seg in self.segments:
            ok = np.all(np.isfinite(self.acc[seg]), axis=1) & np.all(np.isfinite(self.gyr[seg]), axis=1)
            if ok.sum() < MIN_RECORDING_S * self.fs:
                raise ImukinError(f"{self.name}: the {seg} sensor has fewer than {MIN_RECORDING_S:g} s of finite "
                                  "samples; check the file")
            check_units(self.acc[seg][ok], self.gyr[seg][ok],
                        f"{self.name}: {seg} sensor ({self.sensors.get(seg, '')})")
        return self

    def describe(self) -> str:
        """One line: name, sensors, rate, duration."""
        return (f"{self.name}: {len(self.acc)} sensors ({', '.join(self.segments)}), {self.fs:g} Hz "
                f"({self.rate_source}), {self.duration_s:.1f} s")


# ---------------------------------------------------------------- names
def _tokens(name: str) -> list[str]:
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)  # camelCase -> camel_Case
    s = s.lower()
    s = re.sub(r"(upper|lower)[\s_\-.]*leg", r"\1leg", s)
    s = re.sub(r"lower[\s_\-.]*back", "lowerback", s)
    return [t for t in re.split(r"[^a-z0-9]+", s) if t]


def segment_from_name(name: str) -> str | None:
    """The segment a file or sensor name speaks of, or None.

    Understands segment words (pelvis/sacrum, thigh/femur/upper leg, shank/tibia/shin/
    lower leg, foot/calcn/heel) with a side word (r/right, l/left) as a separate token
    or glued on (``rthigh``, ``RightShank``, ``femur_r_imu``, ``Left-Foot``).

    >>> segment_from_name("femur_r_imu"), segment_from_name("LeftLowerLeg"), segment_from_name("sacrum")
    ('rthigh', 'lshank', 'pelvis')
    """
    toks = _tokens(Path(name).stem if "." in name else name)
    seg_type, side = None, None
    for tok in toks:
        found = None
        for word, st in _SEGMENT_WORDS.items():
            if tok == word:
                found = (st, None)
            elif tok.endswith(word) and tok[: -len(word)] in _SIDE_WORDS:
                found = (st, _SIDE_WORDS[tok[: -len(word)]])
            elif tok.startswith(word) and tok[len(word):] in _SIDE_WORDS:
                found = (st, _SIDE_WORDS[tok[len(word):]])
            if found:
                break
        if found:
            if seg_type is not None and seg_type != found[0]:
                return None  # two segment words: ambiguous
            seg_type = found[0]
            side = found[1] or side
        elif tok in _SIDE_WORDS:
            side = side or _SIDE_WORDS[tok]
    if seg_type is None:
        return None
    if seg_type == "pelvis":
        return "pelvis"
    if side is None:
        return None
    return ("r" if side == "right" else "l") + seg_type


def _segment_key(key: str, where: str) -> str:
    seg = key if key in SEGMENTS else segment_from_name(key)
    if seg is None:
        raise ImukinError(f"{where}: unknown segment {key!r}; name segments {', '.join(SEGMENTS)}")
    return seg


# ---------------------------------------------------------------- mappings
def read_sensor_map(path: str | Path) -> dict[str, str]:
    """A ``{segment: sensor}`` map from a JSON/TOML file (``--sensors``) or an OpenSense XML file.

    Raises
    ------
    ImukinError
        Missing or unreadable file, unknown segments, a segment given twice.
    """
    path = Path(path)
    how = 'pass a JSON file such as {"rthigh": "thigh_right.csv", "rshank": "00B42DAE"}'
    if path.suffix.lower() == ".xml" and path.is_file():
        return _read_opensense_map(path)
    raw = read_config_file(path, "sensor map", how)
    if isinstance(raw, dict) and isinstance(raw.get("sensors"), dict):
        raw = raw["sensors"]
    return _check_map(raw, str(path))


def _check_map(raw, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ImukinError(f"{where}: a sensor map is {{segment: file, device id or sensor name}}, strings only")
    out: dict[str, str] = {}
    for key, value in raw.items():
        # {segment: sensor} is the documented direction; {sensor: segment} (harmonize's) is accepted too
        seg_k = key if key in SEGMENTS else segment_from_name(key)
        seg_v = value if value in SEGMENTS else None
        if seg_v is not None and seg_k is None:
            seg, sensor = seg_v, key
        else:
            seg, sensor = _segment_key(key, where), value
        if seg in out:
            raise ImukinError(f"{where}: segment {seg} is given twice ({out[seg]} and {sensor}); "
                              "one sensor per segment")
        out[seg] = sensor
    return out


def _read_opensense_map(path: Path) -> dict[str, str]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise ImukinError(f"{path} is not valid XML ({e}); export the sensor mapping again") from None
    out: dict[str, str] = {}
    for el in root.iter("ExperimentalSensor"):
        sensor = (el.get("name") or "").strip()
        model_name = (el.findtext("name_in_model") or "").strip()
        seg = segment_from_name(model_name)
        if not sensor or seg is None:
            raise ImukinError(f"{path}: sensor {sensor or '?'} maps to {model_name!r}, which names no segment imukin "
                              f"knows ({', '.join(SEGMENTS)})")
        if seg in out:
            raise ImukinError(f"{path}: segment {seg} is given twice ({out[seg]} and {sensor})")
        out[seg] = sensor
    if not out:
        raise ImukinError(f"{path} names no ExperimentalSensor; it is not an OpenSense IMU mapping file")
    prefix = (root.findtext(".//trial_prefix") or "").strip()
    if prefix:
        out = {seg: prefix + s if not s.startswith(prefix) else s for seg, s in out.items()}
    return out


def _find_mapping_file(folder: Path) -> Path | None:
    for p in sorted(folder.glob("*.xml")):
        try:
            if "ExperimentalSensor" in p.read_text(errors="replace"):
                return p
        except OSError:
            continue
    return None


# ---------------------------------------------------------------- entry point
def load_recording(path, fs: float | None = None, sensors=None, subject: str | None = None, joint: str | None = None,
                   acc_units: str = "auto", gyr_units: str = "auto", sync: str = "none") -> Recording:
    """Read a recording in any form imukin knows (see the module notes).

    Parameters
    ----------
    path : path-like
        A folder of sensor files, a multi-sensor CSV, a reference-layout ``.h5``, or a
        reference demo folder.
    fs : float, optional
        Sampling rate in Hz. Required when the files carry no time stamps; otherwise
        checked against them (1 % tolerance).
    sensors : dict or path-like, optional
        ``{segment: file, device id or sensor name}``, or a JSON/TOML file holding it.
    subject : str, optional
        Subject of a multi-subject ``.h5`` file (``s0003``).
    joint : {"hip", "knee", "ankle"}, optional
        For the reference demo folder: the joint whose sensors seg1 and seg2 are.
    acc_units : {"auto", "m/s^2", "g"}
    gyr_units : {"auto", "rad/s", "deg/s"}
    sync : {"none", "impact"}
        ``impact``: the sensor files were not recorded together and are put together later
        (:func:`imukin.predict`'s ``sync``), so files of unequal length are kept whole (the
        shorter ones padded with NaN at the end) instead of refused.

    Returns
    -------
    Recording

    Raises
    ------
    ImukinError
        With one line naming what is wrong and how to fix it: missing rate, a rate that
        contradicts the time stamps or is out of range, unknown sensor names, a segment
        given twice, sensors of unequal length (unless ``sync="impact"``) or rate, a mapping file naming missing
        files, units that look wrong, a recording too short for a stride.

    Examples
    --------
    >>> rec = load_recording("kuopio/", fs=100)       # doctest: +SKIP
    >>> rec.describe()                                # doctest: +SKIP
    'kuopio: 7 sensors (pelvis, rthigh, lthigh, rshank, lshank, rfoot, lfoot), 100 Hz (given), 9.7 s'
    """
    path = Path(path)
    check_choice("sync", sync, SYNC_MODES)
    pad = sync == "impact"  # unequal lengths are the synchronisation's to cut
    if fs is not None:
        fs = check_rate(fs, "the given rate (fs)")
    if not path.exists():
        raise ImukinError(f"recording {path} does not exist; pass a folder of sensor files or a recording file")
    if isinstance(sensors, (str, Path)):
        sensors = read_sensor_map(sensors)
    elif sensors is not None:
        sensors = _check_map(sensors, "sensors")
    if path.is_file() and path.suffix.lower() in (".h5", ".hdf5"):
        rec = _load_any_h5(path, fs, sensors, subject, acc_units, gyr_units)
    elif path.is_dir() and _is_demo_folder(path):
        rec = _load_demo(path, fs, joint, acc_units, gyr_units)
    elif path.is_file() and is_motion_bids(path):
        rec = _load_motion_bids(path, fs, sensors, acc_units, gyr_units)
    elif path.is_dir() and any(is_motion_bids(p) for p in path.iterdir()):
        found = sorted(p for p in path.iterdir() if is_motion_bids(p))
        if len(found) > 1:
            raise ImukinError(f"{path} holds {len(found)} Motion-BIDS recordings ({found[0].name}, ...); pass one "
                              "*_motion.tsv")
        rec = _load_motion_bids(found[0], fs, sensors, acc_units, gyr_units)
    elif path.is_dir():
        h5s = sorted(p for p in path.iterdir() if p.suffix.lower() in (".h5", ".hdf5"))
        if h5s and not _sensor_files(path):
            if len(h5s) > 1:
                raise ImukinError(f"{path} holds {len(h5s)} .h5 files; pass one of them")
            rec = _load_any_h5(h5s[0], fs, sensors, subject, acc_units, gyr_units)
        else:
            rec = _load_folder(path, fs, sensors, acc_units, gyr_units, pad)
    elif path.is_file():
        _check_sensor_file(path)
        rec = _load_files([path], path.stem, str(path), fs, sensors, acc_units, gyr_units, {}, pad)
    else:
        raise ImukinError(f"{path} is neither a file nor a folder")
    return rec.check()


def _check_sensor_file(path: Path) -> None:
    """Refuse, in one line, a single file that is no IMU recording imukin reads."""
    suffix = path.suffix.lower()
    if suffix in MOCAP_SUFFIXES:
        raise ImukinError(f"{path.name} is a motion-capture or OpenSim file ({suffix}), not an IMU recording; "
                          "imukin predict reads inertial sensors (vendor exports, CSV, .npy folders, .h5); to "
                          "simulate IMUs from markers: imukin simulate --markers FILE")
    if suffix == ".npy":
        raise ImukinError(f"{path.name} is one array of the reference .npy layout; pass the folder that holds it")
    if suffix not in SENSOR_SUFFIXES:
        raise ImukinError(f"{path.name}: imukin does not read {suffix or 'extension-less'} files; pass a sensor "
                          f"file ({', '.join(SENSOR_SUFFIXES)}), a recording (.h5) or a folder of them")
    from imukin.io.metamotion import is_metamotion_file

    if is_metamotion_file(path):
        raise ImukinError(f"{path.name} is one signal of a MetaMotion (MetaBase) export; pass the folder that holds "
                          "each sensor's accelerometer and gyroscope files")


def _unit_scales(acc_units: str, gyr_units: str) -> tuple[float, float]:
    from imukin.conventions import G

    check_choice("accelerometer unit", acc_units, ("m/s^2", "g"))
    check_choice("gyroscope unit", gyr_units, ("rad/s", "deg/s"))
    return (G if acc_units == "g" else 1.0), (np.pi / 180 if gyr_units == "deg/s" else 1.0)


def _sensor_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SENSOR_SUFFIXES
                  and not p.name.startswith("."))


def _load_folder(folder: Path, fs, sensors, acc_units, gyr_units, pad: bool = False) -> Recording:
    manifest = {}
    if (folder / MANIFEST).is_file():
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
        except json.JSONDecodeError as e:
            raise ImukinError(f"{folder / MANIFEST} is not valid JSON ({e})") from None
        if fs is None and manifest.get("fs") is not None:
            fs = check_rate(manifest["fs"], f"'fs' in {folder / MANIFEST}")
        acc_units = manifest.get("acc_units", acc_units)
        gyr_units = manifest.get("gyr_units", gyr_units)
        if sensors is None and isinstance(manifest.get("sensors"), dict):
            sensors = _check_map(manifest["sensors"], str(folder / MANIFEST))
    if sensors is None:
        xml = _find_mapping_file(folder)
        if xml is not None:
            sensors = _read_opensense_map(xml)
    files = _sensor_files(folder)
    if not files:
        raise ImukinError(f"{folder} holds no sensor files ({', '.join(SENSOR_SUFFIXES)}), no .h5 file and no "
                          "Right_seg1_acc.npy; see 'imukin predict --help' for the forms imukin reads")
    from imukin.io.metamotion import metamotion_sensors

    pairs, files, left_out = metamotion_sensors(files)
    if pairs or left_out:
        if files:
            raise ImukinError(f"{folder} holds MetaMotion exports and other sensor files ({files[0].name}); keep one "
                              "kind of recording per folder")
        if not pairs:
            raise ImukinError(f"{folder}: its MetaMotion exports hold no accelerometer and gyroscope pair; export "
                              "both signals of each sensor")
        rec = _load_metamotion(pairs, folder, fs, sensors, acc_units, gyr_units, left_out)
    else:
        rec = _load_files(files, folder.name, str(folder), fs, sensors, acc_units, gyr_units, manifest, pad)
    for seg, m in (manifest.get("alignment") or {}).items():
        rec.mounting[_segment_key(seg, str(folder / MANIFEST))] = np.asarray(m, float)
    return rec


def _match(files: list[Path], sensor: str) -> list[Path]:
    """Files a sensor map entry means: same name, same stem, or a stem ending in the device id."""
    s = sensor.lower()
    exact = [p for p in files if p.name.lower() == s or p.stem.lower() == s]
    if exact:
        return exact
    return [p for p in files if p.stem.lower().endswith(s.lstrip("_")) and len(s.lstrip("_")) >= 4]


def _load_files(files: list[Path], name: str, source: str, fs, sensors, acc_units, gyr_units, manifest,
                pad: bool = False) -> Recording:
    """Read sensor files, map them to segments, put them on one time grid (``pad``: see :func:`_on_one_grid`)."""
    from imukin.io.imu_csv import read_imu_csv

    where = source
    if sensors is not None:
        chosen: dict[str, Path] = {}
        missing = []
        for seg, sensor in sensors.items():
            hits = _match(files, sensor)
            if len(hits) > 1 and len(files) > 1:
                raise ImukinError(f"{where}: sensor {sensor!r} ({seg}) matches {len(hits)} files "
                                  f"({', '.join(p.name for p in hits[:4])}); name the file exactly")
            if not hits:
                missing.append(f"{seg} -> {sensor}")
            else:
                chosen[seg] = hits[0]
        multi = len(files) == 1 and not chosen
        if missing and not multi:
            raise ImukinError(f"{where}: the sensor map names files that are not there ({'; '.join(missing)}); "
                              f"files found: {', '.join(p.name for p in files[:8])}")
    else:
        chosen, unknown = {}, []
        for p in files:
            seg = segment_from_name(p.stem)
            if seg is None:
                unknown.append(p.name)
                continue
            if seg in chosen:
                raise ImukinError(f"{where}: segment {seg} is given twice ({chosen[seg].name} and {p.name}); keep one "
                                  "file per segment or pass --sensors")
            chosen[seg] = p
        multi = len(files) == 1 and not chosen
        if not chosen and not multi:
            raise ImukinError(f"{where}: no file name names a segment ({', '.join(unknown[:6])}); name the files "
                              "after their segments (pelvis, rthigh, lshank, rfoot, ...) or pass --sensors FILE "
                              '({"rthigh": "<file or device id>", ...})')
    reads = {}  # segment -> ImuRecording
    preset = manifest.get("preset", "auto")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if multi:  # one file holding several sensors
            recs = read_imu_csv(files[0], preset=preset, fs=fs, acc_units=acc_units, gyr_units=gyr_units)
            by_name = {r.name: r for r in recs}
            if sensors is not None:
                for seg, sensor in sensors.items():
                    if sensor not in by_name:
                        raise ImukinError(f"{files[0].name} has no sensor {sensor!r} (for {seg}); it has "
                                          f"{', '.join(by_name)}")
                    reads[seg] = by_name[sensor]
            else:
                for r in recs:
                    seg = segment_from_name(r.name)
                    if seg is None:
                        raise ImukinError(f"{files[0].name}: sensor {r.name!r} names no segment; pass --sensors FILE "
                                          f'({{"lfoot": "{r.name}", ...}})')
                    if seg in reads:
                        raise ImukinError(f"{files[0].name}: segment {seg} is given twice")
                    reads[seg] = r
        else:
            for seg, p in chosen.items():
                reads[seg] = read_imu_csv(p, preset=preset, fs=fs, acc_units=acc_units, gyr_units=gyr_units)[0]
    # a unit the file format implies and the data confirm is a fact (in Recording.units), not a warning
    notes = [str(w.message) for w in caught if "default;" not in str(w.message)]
    return _on_one_grid(reads, name, source, fs, notes, pad)


def _on_one_grid(reads: dict, name: str, source: str, fs, notes: list[str], pad: bool = False) -> Recording:
    """Check rates and lengths of the sensors of one recording and put them on one regular grid. ``pad``: sensors
    of unequal length are kept whole, the shorter ones padded with NaN at the end (to be synchronised later)."""
    stamped = {seg: r for seg, r in reads.items() if r.t is not None and len(r.t) > 1}
    rates = {seg: r.fs for seg, r in reads.items() if r.fs is not None}
    if stamped:
        found = {seg: _stamp_rate(r.t) for seg, r in stamped.items()}
        lo, hi = min(found.values()), max(found.values())
        if not rates_agree(hi, lo):
            desc = ", ".join(f"{s} {v:.4g} Hz" for s, v in found.items())
            raise ImukinError(f"{name}: sensors of unequal rate ({desc}); record all sensors at one rate, or resample "
                              "them first (imukin harmonize)")
        stamp_fs = float(np.median(list(found.values())))
        if fs is not None and not rates_agree(fs, stamp_fs):
            raise ImukinError(f"the given rate {fs:g} Hz contradicts the time stamps of {name} ({stamp_fs:.4g} Hz); "
                              "drop --fs, or fix it")
        rate, how = (fs, "given, checked against the time stamps") if fs is not None else (stamp_fs, "time stamps")
    elif rates:
        vals = sorted(set(rates.values()))
        if not rates_agree(vals[-1], vals[0]):
            listed = ", ".join(f"{s} {v:g} Hz" for s, v in rates.items())
            raise ImukinError(f"{name}: sensors of unequal rate ({listed})")
        hdr = float(vals[0])
        if fs is not None and not rates_agree(fs, hdr):
            raise ImukinError(f"the given rate {fs:g} Hz contradicts the rate in the files of {name} ({hdr:g} Hz); "
                              "drop --fs, or fix it")
        rate, how = (fs if fs is not None else hdr), ("given" if fs is not None else "file header")
    else:
        if fs is None:
            first = next(iter(reads.values()))
            raise ImukinError(f"{name} carries no time stamps and no rate ({Path(first.source).name}); pass its "
                              "sampling rate, e.g. --fs 100 (fs=100 in Python)")
        rate, how = fs, "given"
    rate = check_rate(rate, f"the rate of {name}")
    lead = _leading_samples(reads, rate, notes)
    acc, gyr, sensors, units = {}, {}, {}, {}
    for seg, r in reads.items():
        if r.t is not None and len(r.t) > 1:
            a, g = _to_grid(r.t, r.acc, r.gyr, rate)
        else:
            a, g = r.acc, r.gyr
        k = 0 if lead is None else lead[seg]
        acc[seg], gyr[seg] = a[k:], g[k:]
        sensors[seg] = Path(r.source).name if r.source else r.name
        units[seg] = dict(r.units)
    lengths = {seg: len(a) for seg, a in acc.items()}
    n = min(lengths.values())
    # on one clock the recordings may also stop a little apart; otherwise only a sample or two is cut
    allowed = MAX_LENGTH_MISMATCH if lead is None else max(MAX_LENGTH_MISMATCH, int(MAX_START_SPREAD_S * rate))
    if pad and max(lengths.values()) != n:
        notes.append("sensors of unequal length (" + ", ".join(f"{s} {v}" for s, v in lengths.items())
                     + " samples) kept whole for the synchronisation")
        acc, gyr = _padded(acc), _padded(gyr)
        n = max(lengths.values())
    elif max(lengths.values()) - n > allowed:
        desc = ", ".join(f"{s} {v}" for s, v in lengths.items())
        raise ImukinError(f"{name}: sensors of unequal length ({desc} samples at {rate:g} Hz); pass synchronised "
                          "recordings of one trial (cut them to a common span first), or --sync impact if they were "
                          "not recorded together and the wearer jumped at the start")
    if max(lengths.values()) != n:
        notes.append(f"sensors differed by up to {max(lengths.values()) - n} samples; cut to the shortest ({n})")
    acc = {s: a[:n] for s, a in acc.items()}
    gyr = {s: g[:n] for s, g in gyr.items()}
    return Recording(fs=rate, acc=acc, gyr=gyr, sensors=sensors, name=name, source=source, rate_source=how,
                     units=units, notes=notes)


def _padded(signals: dict) -> dict:
    """Per sensor (N_k, C) signals, the shorter ones padded with NaN rows at their end to the longest's length."""
    longest = max(len(x) for x in signals.values())
    return {k: np.vstack([x, np.full((longest - len(x), x.shape[1]), np.nan)]) for k, x in signals.items()}


def _leading_samples(reads: dict, rate: float, notes: list[str]) -> dict[str, int] | None:
    """Samples to drop from the start of each sensor so that all begin at the same instant of their shared clock
    (``None``: the stamps do not show one clock).

    Sensors of one synchronised system stamp their samples on one clock, but their recordings can begin a few
    samples apart; aligned by sample number they would be that far apart in time (10 ms between a joint's two
    sensors costs about 0.3-0.9 deg of flexion, ``benchmarks/sensor_faults.py``). Stamps that begin within
    :data:`MAX_START_SPREAD_S` of each other and a whole number of samples apart are taken as one clock's;
    otherwise (or without stamps) the recordings are taken as starting together, as before.
    """
    if len(reads) < 2 or any(r.t_start is None for r in reads.values()):
        return None
    starts = {seg: r.t_start for seg, r in reads.items()}
    first = min(starts.values())
    shift = {seg: (t0 - first) * rate for seg, t0 in starts.items()}  # samples after the earliest start
    spread = max(shift.values())
    if spread < START_GRID_TOL:  # one start: nothing to align (and nothing shows whether the clock is shared)
        return None
    on_grid = all(abs(v - round(v)) <= START_GRID_TOL for v in shift.values())
    if spread > MAX_START_SPREAD_S * rate or not on_grid:
        notes.append(f"the sensors' first time stamps differ by {spread / rate:.3g} s"
                     f"{'' if on_grid else ', off the sample grid'}: not one clock, so the recordings are taken as "
                     "starting together; if they did not, synchronise them (the vendor's sync step, or a jump at the "
                     "start and --sync impact)")
        return None
    last = round(spread)
    lead = {seg: last - round(v) for seg, v in shift.items()}
    early = ", ".join(f"{seg} {k}" for seg, k in lead.items() if k)
    notes.append(f"the sensors began recording up to {last} samples apart on their shared clock; aligned on their "
                 f"time stamps (samples dropped at the start: {early})")
    return lead


def _stamp_rate(t: np.ndarray) -> float:
    """The rate of a sensor's time stamps (:func:`imukin.io.imu_csv.stamp_rate`), to the digits stamps are
    printed with."""
    from imukin.io.imu_csv import stamp_rate

    rate = stamp_rate(t)
    if rate is None:
        raise ImukinError("time stamps do not increase; check the time column")
    return float(f"{rate:.6g}")


def _to_grid(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate time-stamped samples onto ``k / fs``; samples inside gaps longer than MAX_FILL_S become NaN."""
    from imukin.io.imu_csv import increasing_stamps
    from imukin.signal import interp_columns

    t, acc, gyr = increasing_stamps(np.asarray(t, float) - float(t[0]), acc, gyr)
    n = int(np.floor(t[-1] * fs + 1e-6)) + 1
    grid = np.arange(n) / fs  # (n,)
    a, g = interp_columns(grid, t, acc), interp_columns(grid, t, gyr)
    gap_starts = np.flatnonzero(np.diff(t) > MAX_FILL_S)
    for i in gap_starts:
        inside = (grid > t[i] + 1e-6) & (grid < t[i + 1] - 1e-6)
        a[inside] = np.nan
        g[inside] = np.nan
    return a, g


def _is_demo_folder(folder: Path) -> bool:
    return any((folder / f"{s}_seg1_acc.npy").exists() or (folder / f"{s}_seg1.csv").exists()
               for s in ("Right", "Left"))


def _load_demo(folder: Path, fs, joint, acc_units, gyr_units) -> Recording:
    from imukin.io.demo_layout import available_sides, read_leg

    if joint is None:
        raise ImukinError(f"{folder} is in the reference demo layout, which holds one joint's two sensors per leg; "
                          "say which joint (--joint knee, or joint='knee')")
    check_choice("joint", joint, JOINT_NAMES)
    acc_scale, gyr_scale = _unit_scales("m/s^2" if acc_units == "auto" else acc_units,
                                        "rad/s" if gyr_units == "auto" else gyr_units)
    acc, gyr, sensors, reference = {}, {}, {}, {}
    stamp_fs = None
    from imukin.conventions import joint_name

    for side in available_sides(folder):
        leg = read_leg(folder, side)
        if leg.acc1.shape[0] != 1:
            raise ImukinError(f"{folder}: {side} files hold {leg.acc1.shape[0]} sequences; predict them with "
                              "'imukin predict --root-path' or one sequence per folder")
        prox, dist = joint_segments(joint, side)
        acc[prox], gyr[prox] = leg.acc1[0] * acc_scale, leg.gyr1[0] * gyr_scale
        acc[dist], gyr[dist] = leg.acc2[0] * acc_scale, leg.gyr2[0] * gyr_scale
        sensors[prox], sensors[dist] = f"{side.capitalize()}_seg1", f"{side.capitalize()}_seg2"
        if leg.reference is not None:
            reference[joint_name(joint, side)] = leg.reference[0]
        stamp_fs = leg.fs or stamp_fs
    if stamp_fs is not None:
        if fs is not None and not rates_agree(fs, stamp_fs):
            raise ImukinError(f"the given rate {fs:g} Hz contradicts the time stamps of {folder.name} "
                              f"({stamp_fs:.4g} Hz); drop --fs, or fix it")
        rate, how = (fs or stamp_fs), ("given" if fs else "time stamps")
    elif fs is None:
        raise ImukinError(f"{folder} (.npy files) carries no time stamps: pass its sampling rate, e.g. --fs 100 "
                          "(fs=100 in Python)")
    else:
        rate, how = fs, "given"
    lengths = {len(a) for a in acc.values()}
    if len(lengths) > 1:
        raise ImukinError(f"{folder}: the legs' files differ in length ({sorted(lengths)} samples); they must be "
                          "synchronised")
    return Recording(fs=rate, acc=acc, gyr=gyr, sensors=sensors, name=folder.name, source=str(folder),
                     rate_source=how, reference=reference)


def _load_any_h5(path: Path, fs, sensors, subject, acc_units, gyr_units) -> Recording:
    """An APDM recording or a reference-layout dataset, whichever ``path`` is."""
    from imukin.io.apdm_h5 import is_apdm_file

    if is_apdm_file(path):
        return _load_apdm(path, fs, sensors, acc_units, gyr_units)
    return _load_h5(path, fs, subject)


def _load_apdm(path: Path, fs, sensors, acc_units, gyr_units) -> Recording:
    """An APDM Opal ``.h5``: its sensors mapped to segments by ``sensors`` (labels or device ids) or by their
    labels; sensors worn elsewhere (sternum, wrists) are left out, with a note."""
    from imukin.io.apdm_h5 import read_apdm_h5

    recs = read_apdm_h5(path, acc_units=acc_units, gyr_units=gyr_units)
    reads, notes = _map_named_sensors(recs, path.name, sensors)
    rec = _on_one_grid(reads, path.stem, str(path), fs, notes)
    rec.sensors = {seg: f"{r.name} ({r.meta['device_id']})" for seg, r in reads.items()}
    return rec


def _map_named_sensors(recs: list, where: str, sensors) -> tuple[dict, list[str]]:
    """Segments of sensors that carry a name and a device id (``meta["device_id"]``): by ``sensors`` (segment ->
    name or device id) or by their names; sensors on no leg segment are left out, with a note."""
    reads, notes = {}, []
    if sensors is not None:
        by_name = {r.name: r for r in recs} | {r.meta["device_id"]: r for r in recs}
        for seg, sensor in sensors.items():
            if sensor not in by_name:
                raise ImukinError(f"{where} has no sensor {sensor!r} (for {seg}); it has "
                                  + ", ".join(f"{r.name} ({r.meta['device_id']})" for r in recs))
            reads[seg] = by_name[sensor]
        return reads, notes
    for r in recs:
        seg = segment_from_name(r.name)
        if seg is None:
            notes.append(f"sensor {r.name!r} ({r.meta['device_id']}) is on no leg segment imukin knows; left out")
            continue
        if seg in reads:
            raise ImukinError(f"{where}: segment {seg} is given twice ({reads[seg].name} and {r.name}); pass "
                              '--sensors FILE ({"' + seg + '": "<label or device id>", ...})')
        reads[seg] = r
    if not reads:
        raise ImukinError(f"{where}: no sensor label names a leg segment ("
                          + ", ".join(r.name for r in recs[:6]) + '); pass --sensors FILE ({"rthigh": '
                          '"<label or device id>", ...})')
    return reads, notes


def _load_motion_bids(path: Path, fs, sensors, acc_units, gyr_units) -> Recording:
    """A Motion-BIDS recording (:mod:`imukin.io.motion_bids`): its tracked points mapped to segments by
    ``sensors`` or by their names."""
    from imukin.io.motion_bids import SUFFIX, read_motion_bids

    recs = read_motion_bids(path, acc_units=acc_units, gyr_units=gyr_units, fs=fs)
    reads, notes = _map_named_sensors(recs, path.name, sensors)
    rec = _on_one_grid(reads, path.name[: -len(SUFFIX)], str(path), fs, notes)
    rec.sensors = {seg: r.name for seg, r in reads.items()}
    return rec


def _load_metamotion(pairs: dict, folder: Path, fs, sensors, acc_units, gyr_units, notes: list[str]) -> Recording:
    """MbientLab MetaBase exports (:mod:`imukin.io.metamotion`): one accelerometer and one gyroscope file per
    sensor, put on one grid of their shared clock, mapped to segments by device name or MAC (as APDM labels)."""
    from imukin.io.metamotion import on_common_clock, read_metamotion

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recs = [read_metamotion(a, g, acc_units=acc_units, gyr_units=gyr_units) for a, g in pairs.values()]
    notes = notes + [str(w.message) for w in caught]
    reads, more = _map_named_sensors(recs, str(folder), sensors)
    common = dict(zip(reads, on_common_clock(list(reads.values()))))  # segment -> sensor on the shared grid
    rec = _on_one_grid(common, folder.name, str(folder), fs, notes + more)
    rec.sensors = {seg: f"{r.name} ({r.meta['device_id']})" for seg, r in common.items()}
    return rec


def _load_h5(path: Path, fs, subject) -> Recording:
    from imukin.io.job_h5 import open_dataset, read_subject, subject_ids

    ids = subject_ids(path)
    if not ids:
        raise ImukinError(f"{path} holds no subject groups (s0000 ...) and no APDM sensors (/Sensors/...); it is "
                          "neither a reference-layout dataset nor an APDM recording")
    if subject is None:
        if len(ids) > 1:
            more = " ..." if len(ids) > 5 else ""
            raise ImukinError(f"{path} holds {len(ids)} subjects ({', '.join(ids[:5])}{more});"
                              " pick one with --subject (subject= in Python)")
        subject = ids[0]
    if subject not in ids:
        raise ImukinError(f"{path} has no subject {subject!r}; it has {', '.join(ids[:8])}")
    with open_dataset(path) as f:
        stored = f[subject].attrs.get("fs", f.attrs.get("fs"))
    rec = read_subject(path, subject, rmat=False)
    if stored is None:
        if fs is None:
            raise ImukinError(f"{path} does not record its sampling rate; pass it, e.g. --fs 100")
        rate, how = fs, "given"
    else:
        stored = float(stored)
        if fs is not None and not rates_agree(fs, stored):
            raise ImukinError(f"the given rate {fs:g} Hz contradicts the rate stored in {path.name} ({stored:g} Hz); "
                              "drop --fs, or fix it")
        rate, how = stored, "file header"
    return Recording(fs=rate, acc=rec.acc, gyr=rec.gyr, sensors={s: f"{subject}/{s}" for s in rec.acc},
                     name=f"{path.stem}_{subject}", source=str(path), rate_source=how, reference=dict(rec.angle))


__all__ = ["Recording", "load_recording", "segment_from_name", "read_sensor_map", "MIN_RECORDING_S", "MAX_FILL_S"]
