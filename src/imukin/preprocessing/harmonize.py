"""The whole harmonization pipeline: many recordings from many labs -> one dataset file.

What an input folder holds
--------------------------
Each ``--input-dirs`` folder is one *dataset* (one lab, one sensor system); its noise
is measured and equalised as a whole. It may hold any mix of:

1. **Reference-layout HDF5 files** (``*.h5``, ``*.hdf5``; :mod:`imukin.io.job_h5`, e.g.
   written by ``imukin simulate`` or the reference's ``walking_data.h5``): every subject
   with its IMU signals, orientations, joint angles and meta.
2. **Subject folders** (any sub-folder, one per recording) with IMU text files
   (:mod:`imukin.io.imu_csv`; the format is detected):

   * one file per sensor named after its segment (``pelvis.csv``, ``rthigh.txt``,
     ``lfoot.csv``, ... as in :data:`imukin.conventions.SEGMENTS`), or
   * multi-sensor files whose sensors an ``imukin.json`` maps to segments, or
   * the reference demo layout (``Right_seg1_acc.npy`` ..., see
     :mod:`imukin.io.demo_layout`) with ``"joint"`` in ``imukin.json``.
3. **APDM Opal recordings** (``*.h5`` of Mobility Lab or Moveo Explorer,
   :mod:`imukin.io.apdm_h5`), one subject each: the sensors' labels name their segments
   (``Lumbar``, ``Right Upper Leg``, ...; :func:`imukin.io.recording.segment_from_name`), or
   the input folder's ``imukin.json`` maps labels or device ids (``"sensors"``); sensors on
   no leg segment are left out.

   ``imukin.json`` (in the subject folder, or in the input folder for all its
   subject folders; every key optional)::

       {"fs": 204.8,                      # Hz, when the files carry no time stamps
        "preset": "gaitmap",              # auto | xsens | dot | gaitmap | shimmer | generic
        "acc_units": "auto", "gyr_units": "auto",
        "sensors": {"left_sensor": "lfoot", "right_sensor": "rfoot"},
        "joint": "knee",                  # demo layout: seg1/seg2 are this joint's segments
        "sync": "impact",                 # none | impact (a tap or jump seen by every sensor)
        "alignment": {"lfoot": [[1,0,0],[0,1,0],[0,0,1]]},  # manual 3x3 per segment
        "activity": "walking",
        "meta": {"sex": 1, "height_cm": 178, "weight_kg": 75, "speed_m_s": -1}}

Steps per subject
-----------------
0. **Saturation**: a sensor's channels that sat at their range are named in a warning and the provenance
   (``saturation``); a gyroscope's cut peaks are put back first
   (:func:`~imukin.preprocessing.saturation.repair_saturated`, as ``imukin predict`` does; ``repair_saturation``).
1. **Resample** every stream to ``fs`` (:mod:`imukin.preprocessing.resample`): time
   stamps with jitter and dropped samples are repaired, short gaps filled, long gaps
   flagged (and reported by the quality checks as ``long_gap``). Joint angles are
   unwrapped and resampled; orientations are slerped.
2. **Synchronise** (``sync="impact"``): every sensor is shifted onto the first one by the
   common impact anywhere in the recording (:func:`~imukin.preprocessing.synchronize.impact_offsets`: the
   landing after a jump's flight, else the strongest impact, as ``imukin predict --sync impact``); then every
   stream is cut to the common span.
3. **Align** (``align="auto"``): each sensor's mounting on its segment is found
   (:func:`~imukin.preprocessing.align.align_segment`; from walking or running, refined by standing where
   the recording has it) and
   its signals are rotated into the segment frame (orientations follow:
   ``R_seg = R_sensor @ r_mount^T``). A manual matrix from ``imukin.json`` wins; a sensor
   whose recording allows no alignment keeps its frame, with a warning and the reason recorded.
4. **Noise**: each dataset's profile is the median over its sensors' still periods
   (:mod:`imukin.preprocessing.equalize`); every sensor is brought to the target (by
   default, per channel, the noisiest dataset's profile): coloured noise added, or
   low-pass. Sensors without still periods use their dataset's profile; a dataset
   without any still period is left as it is (recorded).
5. **Quality checks** (:mod:`imukin.preprocessing.quality`) on the resampled, synchronised
   and aligned data; ``checks_passed`` is set (failed subjects are dropped with
   ``drop_failed``).

Outputs in the output folder: ``harmonized.h5`` (reference layout; provenance per
subject as HDF5 attributes, nested values as JSON strings: ``source``, ``dataset``,
``original_id``, ``original_fs``, ``resample``, ``sync``, ``alignment``, ``saturation``, ``noise_before``,
``noise_after``, ``noise_action``), ``harmonize_report.json`` and ``exclusions.txt``.

Every input is read and checked before anything is written, and every file is written
atomically, so bad input leaves the output folder as it was. Large HDF5 inputs are
streamed: the data pass runs twice (profiles and checks first, then the writing pass),
holding one subject in memory at a time.
"""
from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from imukin.conventions import (
    ACTIVITIES,
    DEFAULT_FS,
    JOINT_TYPES,
    SEGMENTS,
    SYNC_MODES,
    joint_name,
    joint_segments,
    same_rate,
    subject_id,
)
from imukin.data import META_FIELDS, SubjectRecord
from imukin.errors import ImukinError
from imukin.io.atomic import write_text_atomic
from imukin.io.imu_csv import PRESETS, ImuRecording, read_imu_csv
from imukin.preprocessing.align import AlignConfig, SegmentAlignment, align_segment
from imukin.preprocessing.equalize import (
    NoiseConfig,
    NoiseProfile,
    combine_profiles,
    equalize_noise,
    estimate_noise,
    noisiest,
    still_bouts,
)
from imukin.preprocessing.quality import (
    Exclusion,
    QualityConfig,
    QualityReport,
    check_record,
    frame_ranges,
    range_of_motion,
    rom_outliers,
)
from imukin.preprocessing.resample import resample_timestamped
from imukin.preprocessing.saturation import find_saturation, repair_gyroscopes, saturation_notes
from imukin.preprocessing.synchronize import impact_offsets, shift_stream
from imukin.signal import resample

MANIFEST = "imukin.json"
OUTPUT_FILE = "harmonized.h5"
REPORT_FILE = "harmonize_report.json"
EXCLUSIONS_FILE = "exclusions.txt"
_IMU_EXT = (".csv", ".txt", ".tsv")
_H5_EXT = (".h5", ".hdf5")
_MANIFEST_KEYS = {"fs", "preset", "acc_units", "gyr_units", "sensors", "joint", "sync", "alignment", "activity",
                  "meta", "files"}


@dataclass
class HarmonizeConfig:
    """Choices of the pipeline; every field has a default."""

    fs: float = DEFAULT_FS  # Hz, common output rate
    align: str = "auto"  # "auto": find each sensor's mounting; "none": keep sensor frames
    sync: str | None = None  # "none" or "impact" for every subject; None: each folder's imukin.json (default none)
    noise: str = "noisiest"  # "noisiest" (per channel, of all datasets), "none", or a JSON profile file
    max_gap_s: float = 0.1  # s, longest gap in time stamps filled without flagging
    drop_failed: bool = False  # leave subjects that fail a quality check out of the output
    repair_saturation: bool = True  # put back gyroscope peaks cut at the sensor's range (preprocessing.saturation)
    seed: int = 0  # seed of the added noise (subject k uses default_rng([seed, k]))
    quality: QualityConfig = field(default_factory=QualityConfig)  # thresholds of the checks
    noise_cfg: NoiseConfig = field(default_factory=NoiseConfig)  # how noise is measured and matched
    align_cfg: AlignConfig = field(default_factory=AlignConfig)  # standing/walking detection

    def __post_init__(self):
        if not (np.isfinite(self.fs) and 1.0 <= self.fs <= 10000.0):
            raise ImukinError(f"fs {self.fs} Hz (--fs) is not a usable rate; choose e.g. 100 or 200")
        if self.align not in ("auto", "none"):
            raise ImukinError(f"align (--align) must be auto or none, got {self.align!r}")
        if self.sync is not None and self.sync not in SYNC_MODES:
            raise ImukinError(f"sync (--sync) must be none or impact, got {self.sync!r}")
        if self.noise not in ("noisiest", "none") and not Path(self.noise).is_file():
            raise ImukinError(f"noise (--noise) must be noisiest, none or an existing JSON profile file; "
                              f"got {self.noise!r}")


# ---------------------------------------------------------------- input side
@dataclass
class RawSubject:
    """One recording as read, before any processing."""

    dataset: str  # input folder name
    source: str  # file or folder it came from
    original_id: str  # subject id in the source
    sensors: dict[str, ImuRecording]  # segment -> signals (m/s^2, rad/s) with rate and optional stamps
    rmat: dict[str, np.ndarray] = field(default_factory=dict)  # segment -> (N, 3, 3) at the sensor's rate
    angle: dict[str, np.ndarray] = field(default_factory=dict)  # joint -> (N, 3) deg at angle_fs
    angle_fs: float | None = None  # Hz
    meta: np.ndarray = field(default_factory=lambda: -np.ones(4))
    activity: str = "unknown"
    sync: str = "none"  # "none" or "impact"
    manual_alignment: dict[str, np.ndarray] = field(default_factory=dict)  # segment -> 3x3
    extra_attrs: dict = field(default_factory=dict)  # provenance carried over from the source


@dataclass
class SubjectSource:
    """A lazily loaded subject: where it is, and how to read it."""

    dataset: str
    label: str  # file (and subject id) or folder
    load: Callable[[], RawSubject]


def _load_manifest(folder: Path, inherited: dict | None = None) -> dict:
    m = dict(inherited or {})
    p = folder / MANIFEST
    if p.is_file():
        try:
            d = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ImukinError(f"{p} is not valid JSON ({e}); fix or remove it") from None
        if not isinstance(d, dict):
            raise ImukinError(f"{p} must hold a JSON object with keys such as fs, preset, sensors")
        unknown = set(d) - _MANIFEST_KEYS
        if unknown:
            raise ImukinError(f"{p} has unknown key(s) {', '.join(sorted(unknown))}; "
                              f"allowed: {', '.join(sorted(_MANIFEST_KEYS))}")
        m.update(d)
    if "preset" in m and m["preset"] not in PRESETS:
        raise ImukinError(f"{p}: preset {m['preset']!r} is not one of {', '.join(PRESETS)}")
    if "sync" in m and m["sync"] not in SYNC_MODES:
        raise ImukinError(f"{p}: sync must be none or impact, got {m['sync']!r}")
    for seg in m.get("sensors", {}).values():
        if seg not in SEGMENTS:
            raise ImukinError(f"{p}: sensor mapped to unknown segment {seg!r}; use one of {', '.join(SEGMENTS)}")
    return m


def scan_input_dir(folder: str | os.PathLike) -> list[SubjectSource]:
    """Every subject an input folder holds (HDF5 files and subject folders), not yet loaded.

    Raises
    ------
    ImukinError
        The folder does not exist, or holds nothing imukin can read.
    """
    from imukin.io.apdm_h5 import is_apdm_file
    from imukin.io.job_h5 import file_attrs, subject_ids
    from imukin.io.motion_bids import SUFFIX as MOTION_BIDS_SUFFIX
    from imukin.io.motion_bids import is_motion_bids

    folder = Path(folder)
    if not folder.is_dir():
        raise ImukinError(f"input folder {folder} does not exist or is not a folder")
    top = _load_manifest(folder)
    name = folder.resolve().name
    out: list[SubjectSource] = []
    for p in sorted(folder.rglob(f"*{MOTION_BIDS_SUFFIX}")):  # a BIDS dataset: sub-*/[ses-*/]motion/*_motion.tsv
        if is_motion_bids(p):
            out.append(SubjectSource(name, str(p.relative_to(folder)), _motion_bids_loader(p, top, name)))
    for p in sorted(folder.iterdir()):
        if p.is_dir() and p.name.startswith("sub-"):
            continue  # a BIDS subject: its recordings are found above
        if p.is_file() and p.suffix.lower() in _H5_EXT and is_apdm_file(p):
            out.append(SubjectSource(name, p.name, _apdm_loader(p, top, name)))
        elif p.is_file() and p.suffix.lower() in _H5_EXT:
            attrs = file_attrs(p)
            for sid in subject_ids(p):
                out.append(SubjectSource(name, f"{p.name}:{sid}", _h5_loader(p, sid, name, attrs)))
        elif p.is_dir() and not p.name.startswith(".") and not any(is_motion_bids(f) for f in p.iterdir()):
            man = _load_manifest(p, top)
            pairs = _metamotion_pairs(p)
            if pairs:
                out.append(SubjectSource(name, p.name, _metamotion_loader(p, pairs, man, name)))
            elif _subject_files(p, man):
                out.append(SubjectSource(name, p.name, _folder_loader(p, man, name)))
    if not out:
        raise ImukinError(f"{folder} holds no reference-layout or APDM .h5 file, no Motion-BIDS recording and no "
                          "subject folder with IMU files "
                          f"(<segment>.csv, or files mapped in {MANIFEST}); see 'imukin harmonize --help'")
    return out


def _subject_files(folder: Path, man: dict) -> list[Path]:
    files = [p for p in sorted(folder.iterdir()) if p.is_file()]
    if "joint" in man and any(p.name.startswith(("Right_seg", "Left_seg")) for p in files):
        return [p for p in files if p.name.startswith(("Right_seg", "Left_seg"))]
    if man.get("files"):
        return [folder / f for f in man["files"]]
    imu = [p for p in files if p.suffix.lower() in _IMU_EXT]
    if man.get("sensors"):
        return imu
    return [p for p in imu if p.stem in SEGMENTS]


def _h5_loader(path: Path, sid: str, dataset: str, file_attrs: dict):
    def load() -> RawSubject:
        from imukin.io.job_h5 import read_subject

        rec = read_subject(path, sid)
        sensors = {seg: ImuRecording(name=seg, acc=rec.acc[seg], gyr=rec.gyr[seg], fs=rec.fs, source=str(path),
                                     preset="h5", units={"acc": "m/s^2 (reference layout)",
                                                         "gyr": "rad/s (reference layout)"})
                   for seg in SEGMENTS if seg in rec.acc and seg in rec.gyr}
        if not sensors:
            raise ImukinError(f"{path.name}:{sid} has no IMU data; every subject needs acc and gyr of some segment")
        activity = str(rec.attrs.get("activity", file_attrs.get("activity", "unknown")))
        keep = {k: v for k, v in rec.attrs.items() if k in ("seed", "generator", "subject_index")}
        return RawSubject(dataset=dataset, source=f"{path}:{sid}", original_id=sid, sensors=sensors,
                          rmat=dict(rec.rmat), angle=dict(rec.angle), angle_fs=rec.fs, meta=rec.meta,
                          activity=activity, sync="none", extra_attrs=keep)
    return load


def _manifest_meta(man: dict) -> np.ndarray:
    """The four meta values (:data:`META_FIELDS`) an ``imukin.json`` gives, -1 where it gives none."""
    meta = -np.ones(4)
    for i, k in enumerate(META_FIELDS):
        if k in man.get("meta", {}):
            meta[i] = float(man["meta"][k])
    return meta


def _named_sensors(recs: list[ImuRecording], man: dict, where: Path) -> dict[str, ImuRecording]:
    """Segments of sensors that carry a name and a device id (APDM, MetaMotion): by the manifest's ``sensors``
    (name or device id -> segment) or by their names; sensors on no leg segment are passed over."""
    from imukin.io.recording import segment_from_name

    mapping = man.get("sensors", {})
    sensors: dict[str, ImuRecording] = {}
    for rec in recs:
        seg = mapping.get(rec.name) or mapping.get(rec.meta["device_id"])
        seg = seg if mapping else segment_from_name(rec.name)
        if seg is None:
            continue  # a sensor on no leg segment (sternum, wrists), or one the manifest does not use
        if seg in sensors:
            raise ImukinError(f"{where}: two sensors on {seg} ({sensors[seg].name}, {rec.name}); map each segment "
                              f"once in {MANIFEST} 'sensors'")
        sensors[seg] = rec
    if not sensors:
        raise ImukinError(f"{where} has no sensor on a leg segment; map labels or device ids to segments in "
                          f"{MANIFEST} 'sensors'")
    return sensors


def _named_subject(recs: list[ImuRecording], man: dict, dataset: str, source: Path, original_id: str,
                   one_clock: bool = False) -> RawSubject:
    """A subject of sensors that carry names (APDM, Motion-BIDS, MetaMotion): their segments by
    :func:`_named_sensors`; ``one_clock``: sensors that each start on their own, put on one grid of their shared
    clock (:func:`imukin.io.metamotion.on_common_clock`)."""
    sensors = _named_sensors(recs, man, source)
    if one_clock:
        from imukin.io.metamotion import on_common_clock

        sensors = dict(zip(sensors, on_common_clock(list(sensors.values()))))
    return RawSubject(dataset=dataset, source=str(source), original_id=original_id, sensors=sensors,
                      meta=_manifest_meta(man), activity=str(man.get("activity", "unknown")),
                      sync=man.get("sync", "none"))


def _units(man: dict) -> dict:
    """The manifest's units as keyword arguments of the readers."""
    return {"acc_units": man.get("acc_units", "auto"), "gyr_units": man.get("gyr_units", "auto")}


def _apdm_loader(path: Path, man: dict, dataset: str):
    def load() -> RawSubject:
        from imukin.io.apdm_h5 import read_apdm_h5

        return _named_subject(read_apdm_h5(path, **_units(man)), man, dataset, path, path.stem)
    return load


def _motion_bids_loader(path: Path, man: dict, dataset: str):
    def load() -> RawSubject:
        from imukin.io.motion_bids import SUFFIX, read_motion_bids

        recs = read_motion_bids(path, fs=man.get("fs"), **_units(man))
        return _named_subject(recs, man, dataset, path, path.name[: -len(SUFFIX)])
    return load


def _metamotion_pairs(folder: Path) -> dict:
    """A subject folder's MetaMotion sensors (:func:`imukin.io.metamotion.metamotion_sensors`), {} if none."""
    from imukin.io.metamotion import metamotion_sensors

    files = [p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in _IMU_EXT]
    return metamotion_sensors(files)[0] if files else {}


def _metamotion_loader(folder: Path, pairs: dict, man: dict, dataset: str):
    def load() -> RawSubject:
        from imukin.io.metamotion import read_metamotion

        recs = [read_metamotion(a, g, **_units(man)) for a, g in pairs.values()]
        return _named_subject(recs, man, dataset, folder, folder.name, one_clock=True)
    return load


def _folder_loader(folder: Path, man: dict, dataset: str):
    def load() -> RawSubject:
        sensors: dict[str, ImuRecording] = {}
        angle: dict[str, np.ndarray] = {}
        angle_fs = None
        files = _subject_files(folder, man)
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ImukinError(f"{folder}: {MANIFEST} lists missing file(s) {', '.join(missing)}")
        if "joint" in man and files and files[0].name.startswith(("Right_seg", "Left_seg")):
            sensors, angle, angle_fs = _read_demo_folder(folder, man)
        else:
            kw = dict(preset=man.get("preset", "auto"), fs=man.get("fs"), acc_units=man.get("acc_units", "auto"),
                      gyr_units=man.get("gyr_units", "auto"))
            mapping = man.get("sensors", {})
            for f in files:
                for rec in read_imu_csv(f, **kw):
                    seg = mapping.get(rec.name) or mapping.get(f.name) or (f.stem if f.stem in SEGMENTS else None)
                    if seg is None:
                        if mapping:
                            continue  # a sensor the manifest does not use
                        raise ImukinError(f"{f}: cannot tell which segment sensor {rec.name!r} is on; name the file "
                                          f"<segment>.csv or map it in {MANIFEST} 'sensors'")
                    if seg in sensors:
                        raise ImukinError(f"{folder}: two sensors on {seg}; map each segment once")
                    if rec.fs is None:
                        raise ImukinError(f"{f}: no time stamps and no rate; add \"fs\" to {folder / MANIFEST}")
                    sensors[seg] = rec
        if not sensors:
            raise ImukinError(f"{folder} yields no sensor mapped to a segment; check {MANIFEST} 'sensors'")
        manual = {}
        for seg, r in man.get("alignment", {}).items():
            if seg not in SEGMENTS:
                raise ImukinError(f"{folder / MANIFEST}: alignment for unknown segment {seg!r}")
            manual[seg] = SegmentAlignment.from_matrix(r, seg).r_mount
        return RawSubject(dataset=dataset, source=str(folder), original_id=folder.name, sensors=sensors, angle=angle,
                          angle_fs=angle_fs, meta=_manifest_meta(man), activity=str(man.get("activity", "unknown")),
                          sync=man.get("sync", "none"), manual_alignment=manual)
    return load


def _read_demo_folder(folder: Path, man: dict):
    from imukin.io.demo_layout import available_sides, read_leg

    joint = man["joint"]
    if joint not in JOINT_TYPES:
        raise ImukinError(f"{folder / MANIFEST}: joint must be one of {', '.join(JOINT_TYPES)}, got {joint!r}")
    sensors, angle = {}, {}
    fs_m = man.get("fs")
    fs_used = None
    for side in available_sides(folder):
        leg = read_leg(folder, side)
        fs = fs_m or leg.fs
        if fs is None:
            raise ImukinError(f"{folder}: the .npy files carry no rate; add \"fs\" to {folder / MANIFEST}")
        if leg.acc1.shape[0] != 1:
            raise ImukinError(f"{folder}: {side} files hold {leg.acc1.shape[0]} sequences; put each in its own folder")
        s1, s2 = joint_segments(joint, side)
        units = {"acc": "m/s^2 (demo layout)", "gyr": "rad/s (demo layout)"}
        for seg, acc, gyr in ((s1, leg.acc1[0], leg.gyr1[0]), (s2, leg.acc2[0], leg.gyr2[0])):
            if seg in sensors:  # the pelvis is shared by both hips
                continue
            sensors[seg] = ImuRecording(name=seg, acc=acc, gyr=gyr, fs=float(fs), source=str(folder),
                                        preset="demo", units=units)
        if leg.reference is not None:
            angle[joint_name(joint, side)] = leg.reference[0]
        fs_used = float(fs)
    return sensors, angle, fs_used


# ---------------------------------------------------------------- per-subject processing
@dataclass
class Prepared:
    """A subject after resampling, synchronisation and alignment (before noise equalisation)."""

    record: SubjectRecord
    prov: dict  # provenance so far (JSON-able)
    flagged: np.ndarray  # (N,) bool, frames inside long gaps
    still: dict[str, list[tuple[int, int]]]  # segment -> still bouts (for noise)
    dataset: str


def _resample_angles(a: np.ndarray, fs_in: float, fs_out: float, n_out: int) -> np.ndarray:
    un = np.rad2deg(np.unwrap(np.deg2rad(a), axis=0))
    y = resample(un, fs_in, fs_out, axis=0) if not same_rate(fs_in, fs_out) else un.copy()
    y = _fit(y, n_out)
    return (y + 180.0) % 360.0 - 180.0


def _resample_rmat(r: np.ndarray, fs_in: float, fs_out: float, n_out: int) -> np.ndarray:
    if same_rate(fs_in, fs_out):
        return _fit(r, n_out)
    t_in = np.arange(len(r)) / fs_in
    t_out = np.clip(np.arange(n_out) / fs_out, 0.0, t_in[-1])
    return Slerp(t_in, Rotation.from_matrix(r))(t_out).as_matrix()


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.repeat(x[-1:], n - len(x), axis=0)])


#: Sensors of one recording may differ in length by this many frames (at the output rate) before
#: it is refused: a few samples are normal for separately started sensors; seconds are not.
MAX_LENGTH_MISMATCH_FRAMES = 5


def _check_equal_lengths(raw: RawSubject, streams: dict, fs: float) -> None:
    """Refuse a recording whose unsynchronised sensors differ in length by more than a few frames."""
    lengths = {seg: len(v) for seg, v in streams.items()}
    short, long_ = min(lengths, key=lengths.get), max(lengths, key=lengths.get)
    if lengths[long_] - lengths[short] > MAX_LENGTH_MISMATCH_FRAMES:
        src = {seg: getattr(raw.sensors[seg], "source", "") or seg for seg in (short, long_)}
        raise ImukinError(f"{src[short]} ({short}) lasts {lengths[short] / fs:.2f} s but {src[long_]} ({long_}) "
                          f"lasts {lengths[long_] / fs:.2f} s; give every sensor of a recording the same span, "
                          "or set \"sync\": \"impact\" in its imukin.json")


def _saturation(source: str, seg: str, rec: ImuRecording, repair: bool) -> tuple[np.ndarray, dict]:
    """A sensor's gyroscope with its cut peaks put back (``repair``) and its saturation provenance: the axis
    ends of each signal that sat at their range (:func:`~imukin.preprocessing.saturation.saturated_axes`) and
    the runs repaired; a warning per saturated signal, as ``imukin predict``'s report has them."""
    acc, gyr = {seg: rec.acc}, {seg: rec.gyr}
    hits = find_saturation(acc, gyr).get(seg, {})
    info = {what: [{"axis": "xyz"[h["axis"]], "level": h["level"], "share": round(h["share"], 4)} for h in found]
            for what, found in hits.items()}
    for line in saturation_notes(acc, gyr, {seg: hits}):
        warnings.warn(f"{source}: {line}", stacklevel=3)
    if not repair:
        return rec.gyr, info
    repaired, runs = repair_gyroscopes(gyr, {seg: hits})
    if seg in runs:
        info["gyroscope_runs_repaired"] = runs[seg]
    return repaired[seg], info


def prepare_subject(raw: RawSubject, cfg: HarmonizeConfig) -> Prepared:
    """Resample, synchronise and align one subject (steps 1-3 of the module notes)."""
    fs = float(cfg.fs)
    prov: dict = {"source": raw.source, "dataset": raw.dataset, "original_id": raw.original_id,
                  "activity": raw.activity, "original_fs": {}, "units": {}, "resample": {}, "sync": {},
                  "alignment": {}, "saturation": {}}
    streams: dict[str, np.ndarray] = {}  # segment -> (M, 6) acc|gyr at fs
    flags: dict[str, np.ndarray] = {}
    t0: dict[str, float] = {}
    for seg, rec in raw.sensors.items():
        gyr, prov["saturation"][seg] = _saturation(raw.source, seg, rec, cfg.repair_saturation)
        x = np.concatenate([rec.acc, gyr], axis=1)  # (N, 6)
        prov["original_fs"][seg] = rec.fs
        prov["units"][seg] = rec.units
        if rec.t is not None:
            res = resample_timestamped(rec.t, x, fs, fs_nominal=rec.fs, max_gap_s=cfg.max_gap_s)
            streams[seg], flags[seg], t0[seg] = res.x, res.flagged, res.t0_s
            prov["resample"][seg] = {"method": "timestamps", **res.timing.as_dict()}
        else:
            streams[seg] = resample(x, rec.fs, fs, axis=0) if not same_rate(rec.fs, fs) else x.copy()
            flags[seg] = np.zeros(len(streams[seg]), bool)
            t0[seg] = 0.0
            prov["resample"][seg] = {"method": "regular", "fs_in": rec.fs}
    segs = [s for s in SEGMENTS if s in streams]
    # ---- synchronise
    sync = cfg.sync or raw.sync
    if sync == "impact" and len(segs) > 1:
        ref = segs[0]
        prov["sync"][ref] = {"method": "impact", "reference": True, "offset_s": 0.0}
        offsets, _ = impact_offsets({seg: streams[seg][:, :3] for seg in segs}, fs, search_s=None)
        for seg in segs[1:]:
            res = offsets[seg]
            streams[seg], valid = shift_stream(streams[seg], fs, res, n_out=len(streams[ref]))
            flags[seg], _ = shift_stream(flags[seg].astype(float), fs, res, n_out=len(streams[ref]))
            flags[seg] = (flags[seg] > 0.5) | ~valid
            prov["sync"][seg] = res.as_dict()
            if res.confidence < 0.3:
                warnings.warn(f"{raw.source}: {seg} synchronised to {ref} with low confidence {res.confidence:.2f}",
                              stacklevel=2)
    else:
        prov["sync"] = {"method": "none"}
        _check_equal_lengths(raw, streams, fs)
    n = min(len(v) for v in streams.values())
    rec_out = SubjectRecord(subject_id=subject_id(0), fs=fs, meta=np.asarray(raw.meta, float))
    for seg in segs:
        rec_out.acc[seg] = streams[seg][:n, :3]
        rec_out.gyr[seg] = streams[seg][:n, 3:]
        if seg in raw.rmat:
            rec_out.rmat[seg] = _resample_rmat(raw.rmat[seg], raw.sensors[seg].fs, fs, n)
    if raw.angle:
        for j, a in raw.angle.items():
            rec_out.angle[j] = _resample_angles(np.asarray(a, float), raw.angle_fs or fs, fs, n)
    flagged = np.zeros(n, bool)
    for seg in segs:
        flagged |= _fit(flags[seg], n)
    # ---- align
    for seg in segs:
        acc, gyr = rec_out.acc[seg], rec_out.gyr[seg]
        al = None
        if seg in raw.manual_alignment:
            al = SegmentAlignment.from_matrix(raw.manual_alignment[seg], seg)
        elif cfg.align == "auto":
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    al = align_segment(acc, gyr, fs, seg, cfg=cfg.align_cfg,
                                       activity=raw.activity if raw.activity in ACTIVITIES else "walking")
                for w in caught:
                    warnings.warn(f"{raw.source}: {w.message}", stacklevel=2)
            except ImukinError as e:
                prov["alignment"][seg] = {"method": "none", "reason": str(e)}
                warnings.warn(f"{raw.source}: the {seg} sensor keeps its own frame, its mounting could not be "
                              f"found ({e}); give it in imukin.json ('alignment') or check the recording", stacklevel=2)
        else:
            prov["alignment"][seg] = {"method": "none", "reason": "--align none"}
        if al is not None:
            rec_out.acc[seg], rec_out.gyr[seg] = al.apply(acc, gyr)
            if seg in rec_out.rmat:
                rec_out.rmat[seg] = rec_out.rmat[seg] @ al.r_mount.T
            prov["alignment"][seg] = al.as_dict()
    still = {seg: still_bouts(rec_out.acc[seg], rec_out.gyr[seg], fs, cfg.noise_cfg) for seg in segs}
    return Prepared(record=rec_out, prov=prov, flagged=flagged, still=still, dataset=raw.dataset)


# ---------------------------------------------------------------- the pipeline
@dataclass
class HarmonizeResult:
    """What :func:`harmonize` wrote."""

    output: Path  # the dataset file
    report_path: Path  # JSON report
    exclusions_path: Path  # text exclusion report
    n_subjects: int  # subjects written
    n_failed: int  # subjects failing a check (written with checks_passed False unless dropped)
    report: dict  # the JSON report's content


def _sources(input_dirs) -> list[SubjectSource]:
    """Every subject of every input folder; the folders' names (the datasets' names) must differ."""
    if not input_dirs:
        raise ImukinError("no input folders given; pass input_dirs (--input-dirs A [B ...])")
    names = [Path(d).resolve().name for d in input_dirs]
    if len(set(names)) != len(names):
        raise ImukinError(f"input folders must have distinct names (they name the datasets); got {', '.join(names)}")
    out = []
    for d in input_dirs:
        out.extend(scan_input_dir(d))
    return out


def harmonize(input_dirs, output_dir: str | os.PathLike, cfg: HarmonizeConfig | None = None,
              progress: bool = False) -> HarmonizeResult:
    """Harmonize every recording of several datasets into one reference-layout file.

    Parameters
    ----------
    input_dirs : list of path-like
        One folder per dataset (see the module notes for what a folder holds).
    output_dir : path-like
        Created if missing; receives ``harmonized.h5``, ``harmonize_report.json`` and
        ``exclusions.txt`` (each written atomically).
    cfg : HarmonizeConfig, optional
    progress : bool
        Progress bars on stderr.

    Returns
    -------
    HarmonizeResult

    Raises
    ------
    ImukinError
        Any unreadable or inconsistent input (nothing is written then).
    """
    from imukin.io.job_h5 import write_dataset

    cfg = cfg or HarmonizeConfig()
    out_dir = Path(output_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ImukinError(f"--out {out_dir} is a file; pass a folder")
    sources = _sources(input_dirs)
    target_file = _noise_profile_file(cfg)
    checked = _check_pass(sources, cfg, progress)
    dataset_profiles = {d: combine_profiles(p) for d, p in checked.profiles.items() if p}
    target = _noise_target(cfg, target_file, dataset_profiles)
    attrs = _output_attrs(sources, checked.activities, target, cfg)
    n_written = len(sources) - (len(checked.failed) if cfg.drop_failed else 0)
    if n_written == 0:
        raise ImukinError("every subject failed a quality check and --drop-failed is set; nothing to write "
                          f"(see the checks: {', '.join(sorted({e.check for e in checked.quality.exclusions}))})")
    records = _written_records(sources, cfg, checked, dataset_profiles, target, progress)
    out_path = write_dataset(out_dir / OUTPUT_FILE, records, attrs=attrs)
    report = {"output": str(out_path), "fs": cfg.fs, "n_subjects": n_written, "n_failed": len(checked.failed),
              "datasets": {d: {"n_subjects": sum(1 for s in sources if s.dataset == d),
                               "noise": dataset_profiles[d].as_dict() if d in dataset_profiles else None}
                           for d in sorted({s.dataset for s in sources})},
              "noise_target": target.as_dict() if target is not None else None,
              "subjects": {subject_id(k): p for k, p in enumerate(checked.provs)},
              "quality": checked.quality.as_dict()}
    report_path = out_dir / REPORT_FILE
    write_text_atomic(report_path, json.dumps(report, indent=1, default=_json_default))
    excl_path = out_dir / EXCLUSIONS_FILE
    write_text_atomic(excl_path, checked.quality.to_text() + "\n")
    return HarmonizeResult(output=out_path, report_path=report_path, exclusions_path=excl_path,
                           n_subjects=n_written, n_failed=len(checked.failed), report=report)


def _noise_profile_file(cfg: HarmonizeConfig) -> NoiseProfile | None:
    """The noise profile file given as ``--noise``, checked to be at the output rate (None: not given)."""
    if cfg.noise in ("noisiest", "none"):
        return None
    try:
        target_file = NoiseProfile.from_dict(json.loads(Path(cfg.noise).read_text()))
    except json.JSONDecodeError as e:
        raise ImukinError(f"--noise {cfg.noise} is not valid JSON ({e})") from None
    if not same_rate(target_file.fs, cfg.fs):
        raise ImukinError(f"the noise profile {cfg.noise} was measured at {target_file.fs} Hz, not --fs {cfg.fs}")
    return target_file


@dataclass
class _Checked:
    """What the first pass over the subjects found (subject ``k`` is written as ``s<k>``)."""

    profiles: dict[str, list[NoiseProfile]] = field(default_factory=dict)  # dataset -> per-sensor profiles
    sensor_profiles: list[dict[str, NoiseProfile]] = field(default_factory=list)  # per subject: segment -> profile
    quality: QualityReport = field(default_factory=QualityReport)
    provs: list[dict] = field(default_factory=list)  # per subject: provenance (completed in the writing pass)
    activities: list[str] = field(default_factory=list)  # per subject
    failed: set = field(default_factory=set)  # subject ids failing a check


def _check_pass(sources: list[SubjectSource], cfg: HarmonizeConfig, progress: bool) -> _Checked:
    """Pass 1: read every subject, resample/sync/align, measure the sensors' noise, run the quality checks."""
    from tqdm.auto import tqdm

    out = _Checked()
    roms = {}
    for k, src in enumerate(tqdm(sources, desc="checking", disable=not progress)):
        try:
            raw = src.load()
        except ImukinError as e:
            raise ImukinError(f"{src.dataset}/{src.label}: {e}") from None
        prep = prepare_subject(raw, cfg)
        sid = subject_id(k)
        prep.record.subject_id = sid
        prof = _measure_noise(prep, cfg)
        for p in prof.values():
            out.profiles.setdefault(src.dataset, []).append(p)
        out.sensor_profiles.append(prof)
        out.quality.subjects.append(sid)
        out.quality.exclusions.extend(_subject_exclusions(prep, sid, cfg))
        roms[sid] = range_of_motion(prep.record)
        out.provs.append(prep.prov)
        out.activities.append(raw.activity)
    failed_first = set(out.quality.failed)
    out.quality.exclusions.extend(rom_outliers({s: r for s, r in roms.items() if s not in failed_first},
                                               cfg.quality))
    out.failed = set(out.quality.failed)
    return out


def _measure_noise(prep: Prepared, cfg: HarmonizeConfig) -> dict[str, NoiseProfile]:
    """Noise profile of each sensor of a prepared subject that has still periods to measure it on."""
    return {seg: estimate_noise(prep.record.acc[seg], prep.record.gyr[seg], cfg.fs, bouts_, cfg.noise_cfg)
            for seg, bouts_ in prep.still.items() if bouts_}


def _subject_exclusions(prep: Prepared, sid: str, cfg: HarmonizeConfig) -> list[Exclusion]:
    """The quality checks a prepared subject fails on its own (range of motion is checked across subjects)."""
    found = list(check_record(prep.record, cfg.quality))
    if prep.flagged.any():
        found.append(Exclusion(sid, "long_gap", "all sensors", frame_ranges(prep.flagged),
                               float(prep.flagged.sum()) / cfg.fs, cfg.max_gap_s))
    return found


def _noise_target(cfg: HarmonizeConfig, target_file: NoiseProfile | None,
                  dataset_profiles: dict[str, NoiseProfile]) -> NoiseProfile | None:
    """The noise every sensor is equalised to: none, the given profile, or the noisiest dataset's per channel."""
    if cfg.noise == "none":
        return None
    if target_file is not None:
        return target_file
    return noisiest(list(dataset_profiles.values())) if len(dataset_profiles) >= 1 else None


def _written_records(sources: list[SubjectSource], cfg: HarmonizeConfig, checked: _Checked,
                     dataset_profiles: dict[str, NoiseProfile], target: NoiseProfile | None,
                     progress: bool) -> Iterator[SubjectRecord]:
    """Pass 2: prepare every kept subject again, equalise its noise, attach its provenance; one at a time."""
    from tqdm.auto import tqdm

    for k, src in enumerate(tqdm(sources, desc="writing", disable=not progress)):
        sid = subject_id(k)
        if cfg.drop_failed and sid in checked.failed:
            continue
        with warnings.catch_warnings():  # every warning was shown in the first pass
            warnings.simplefilter("ignore")
            prep = prepare_subject(src.load(), cfg)
        rec = prep.record
        rec.subject_id = sid
        prov = checked.provs[k]
        _equalize_subject(rec, prep, prov, checked.sensor_profiles[k], dataset_profiles, target,
                          np.random.default_rng([cfg.seed, k]), cfg)
        rec.attrs = _subject_attrs(prov, sid not in checked.failed)
        yield rec


def _equalize_subject(rec: SubjectRecord, prep: Prepared, prov: dict, sensor_prof: dict[str, NoiseProfile],
                      dataset_profiles: dict[str, NoiseProfile], target: NoiseProfile | None,
                      rng: np.random.Generator, cfg: HarmonizeConfig) -> None:
    """Equalise each sensor's noise to ``target`` in place, recording before, after and action in ``prov``.

    A sensor without a still period of its own is equalised from its dataset's median profile.
    """
    prov["noise_before"], prov["noise_after"], prov["noise_action"] = {}, {}, {}
    for seg in list(rec.acc):
        src_prof = sensor_prof.get(seg) or dataset_profiles.get(prep.dataset)
        if target is None or src_prof is None:
            prov["noise_action"][seg] = "none" if target is None else "not measured: no still period"
            if seg in sensor_prof:
                prov["noise_before"][seg] = sensor_prof[seg].as_dict()["hf_rms"]
            continue
        acc, gyr, rep = equalize_noise(rec.acc[seg], rec.gyr[seg], cfg.fs, target, source=src_prof, rng=rng,
                                       still=prep.still[seg], cfg=cfg.noise_cfg)
        rec.acc[seg], rec.gyr[seg] = acc, gyr
        prov["noise_before"][seg] = src_prof.as_dict()["hf_rms"]
        if seg not in sensor_prof:
            prov["noise_before"][seg]["from"] = f"dataset {prep.dataset} median"
        prov["noise_after"][seg] = rep.after.as_dict()["hf_rms"] if rep.after is not None else None
        prov["noise_action"][seg] = {c: (a if fc is None else f"{a} {fc:.1f} Hz")
                                     for c, a, fc in zip(rep.before.as_dict()["hf_rms"], rep.action,
                                                         rep.cutoff_hz)}


def _subject_attrs(prov: dict, checks_passed: bool) -> dict:
    """A written subject's HDF5 attributes: whether it passed the checks, and its provenance (JSON strings)."""
    attrs = {"checks_passed": checks_passed, "source": prov["source"], "dataset": prov["dataset"],
             "original_id": prov["original_id"], "activity": prov["activity"]}
    for key in ("original_fs", "units", "resample", "sync", "alignment", "saturation", "noise_before", "noise_after",
                "noise_action"):
        attrs[key] = json.dumps(prov[key], default=_json_default)
    return attrs


def _output_attrs(sources: list[SubjectSource], activities: list[str], target: NoiseProfile | None,
                  cfg: HarmonizeConfig) -> dict:
    """File-level attributes of the harmonized file: activity, datasets, noise target and settings."""
    acts = sorted(set(activities))
    return {"source": "harmonized", "activity": acts[0] if len(acts) == 1 else "mixed",
            "datasets": json.dumps(sorted({s.dataset for s in sources})),
            "noise_target": json.dumps(target.as_dict() if target is not None else None, default=_json_default),
            "harmonize_config": json.dumps({"fs": cfg.fs, "align": cfg.align, "sync": cfg.sync, "noise": cfg.noise,
                                            "max_gap_s": cfg.max_gap_s, "drop_failed": cfg.drop_failed,
                                            "seed": cfg.seed})}


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


__all__ = ["HarmonizeConfig", "RawSubject", "SubjectSource", "scan_input_dir", "prepare_subject", "harmonize",
           "HarmonizeResult", "MANIFEST", "OUTPUT_FILE", "REPORT_FILE", "EXCLUSIONS_FILE"]
