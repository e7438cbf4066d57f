"""imukin on real body-worn IMUs: the Kuopio trial, against a marker reference, beside the classical peers.

Trial ``l_comf_01`` of the Kuopio gait dataset (Lavikainen et al. 2024; as redistributed in
gateway240/opensim-core-examples): 7 Xsens MTw2 (pelvis, thighs, shanks, feet), 100 Hz,
~1.8 s standing then comfortable walking; optical marker clusters seen from ~4.6 to 8.6 s.

Reference: joint angles from the marker clusters (:mod:`imukin.evaluation.marker_reference`:
rigid cluster frames, IMU-marker lag by cross-correlation, the knees' flexion axes found functionally).
Metrics over the IMU samples where the reference exists: offset-removed RMSE, Pearson r,
raw RMSE (:func:`imukin.evaluation.metrics.sequence_metrics`), degrees. The trial has about four strides, so
the optimisation stage's gain over its network on flexion is also given with a block-bootstrap interval
(:func:`stage_differences`): how far that difference could move on another stretch of the same walking.
Each method's knee flexion at the swing peak and the loading-response peak, against the reference's, shows
its shape error there (:func:`knee_events`).

Methods, side by side:

* ``cnn``, ``transformer``, ``both`` (their mean, ``imukin predict --model both``), each ``+refined``
  (the shipped walking models; each sensor first aligned to its segment with
  :func:`imukin.preprocessing.align.align_segment`, from the standing start and walk-off);
* ``stream``: ``imukin stream``'s causal model (a CNN, the knee's the mean of three; each output sees no
  later sample), run over the aligned trial: what it streams once its warm-up has found the same mounting
  (streaming gives the causal model's offline output, ``tests/test_streaming.py``);
* ``vqf``: one offline VQF filter per aligned sensor, calibrated on the first 1.5 s as a
  neutral standing pose (:class:`imukin.fusion.classical.ClassicalPredictor`);
* ``gyro``: plain integration of both aligned gyroscopes from a neutral start, joint
  angles of the relative rotation, its mean removed per stride (strides from the shank
  gyroscope; no reference used): the offset-removed RMSE is then per stride, the raw
  RMSE is meaningless;
* ``OS shipped``: OpenSense's shipped result (OpenSim 4.5.1; Xsens' own 9-axis orientations,
  magnetometer included); ``OS rerun``: the same IMU inverse kinematics rerun here with
  the ``opensim`` package, if it is installed (gait2392: knee and ankle flexion only).

Diagnoses, not methods: ``sensor motion`` (the two sensors' own rotation against their clusters':
each gyroscope, bias from the standing start removed, turned into its cluster's frame by the
rotation fitted between the angular rates and integrated from the cluster's frame,
:func:`imukin.evaluation.marker_reference.sensor_motion_angles`; what no method that follows its
sensors avoids), a lag-sensitivity table (the default method and the sensors' motion with the
reference's IMU-marker lag moved by +-5 ms), and the networks with each sensor's flexion axis taken from
its cluster (the rotation fitted between the two angular rates) instead of imukin's alignment: how much of
a cell the alignment's flexion axes hold.

Absolute angles: ``imukin predict --calibrate standing`` (every shipped walking model, with and
without ``--refine``), which takes the first quiet standing as 0 deg, against the reference with that
standing as 0. The markers do not see the standing, so the reference's angles there are carried back
by the sensors' gyroscopes (:func:`imukin.evaluation.marker_reference.standing_pose_angles`; each
segment's fit residual is printed: the yardstick is no better than that). ``vqf`` and OpenSense are
shifted to read 0 over the same standing. One column is ``imukin predict --refine`` without a
calibration: the networks' own absolute angles (Plug-in-Gait-like: hip flexion includes the pelvis's
anterior tilt, which the standing-as-0 reference does not).

It also runs the networks on IMUs simulated from the trial's own markers (``sim``: the
Kuopio preset, default sensor errors), against the same reference, to split the error into
"simulator vs real sensor" and "network".

Nothing is fitted to this trial. ``--write-cards`` also writes each shipped walking angle model's rows
into its model card (``make pretrained`` does, after building the models). Any other trial of the
Kuopio dataset laid out alike (``<trial>_markers.trc``, ``<trial>-000_<device id>.txt`` per sensor,
``myIMUMappings.xml``; OpenSense's ``opensense/ik_<trial>-000_orientations.mot`` and
``opensense/<trial>_orientations.sto`` optional) runs the same with ``--data`` and ``--trial``; the
trial should start with 1.5 s of standing still (a warning says when it does not). Usage::

    .venv/bin/python benchmarks/real_imu.py [--data ../shared/data/real/kuopio] [--trial l_comf_01] \
        [--out benchmarks/out/real_imu]
"""
from __future__ import annotations

import argparse
import glob
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.signal import find_peaks

from imukin.conventions import ANGLE_AXES, JOINT_NAMES, SIDES, joint_angles, joint_name, joint_segments
from imukin.errors import ImukinError
from imukin.evaluation.marker_reference import reference_angles, sensor_motion_angles, standing_pose_angles
from imukin.evaluation.metrics import sequence_metrics
from imukin.io.imu_csv import read_imu_csv
from imukin.io.opensim import read_storage
from imukin.io.recording import read_sensor_map
from imukin.simulation.imu import integrate_gyroscope
from imukin.simulation.markers import read_marker_file, records_from_marker_files
from imukin.simulation.sensor_errors import SensorErrorConfig

FS = 100.0  # Hz, the Xsens exports (their SampleTimeFine column is empty)
#: gait2392 coordinate and sign per joint axis (OpenSense output), None where the model has no such DOF.
OPENSIM_COORDS = {("hip", "flexion"): ("hip_flexion_{s}", 1.0), ("hip", "adduction"): ("hip_adduction_{s}", 1.0),
                  ("hip", "rotation"): ("hip_rotation_{s}", 1.0), ("knee", "flexion"): ("knee_angle_{s}", -1.0),
                  ("ankle", "flexion"): ("ankle_angle_{s}", 1.0)}
#: Axes reported per joint: ankle adduction/rotation are not meaningful with a three-marker foot (see diagnosis).
AXES = {"hip": ANGLE_AXES, "knee": ANGLE_AXES, "ankle": ("flexion",)}
#: Offset-removed flexion RMSE (deg) and Pearson r (None: no target) per joint type, as TARGETS says.
FLEXION_TARGETS = {"hip": (1.5, 0.995), "knee": (1.5, 0.995), "ankle": (3.0, None)}
TARGETS = "Targets (offset-removed flexion): knee and hip <= 1.5 deg and r >= 0.995, ankle <= 3 deg; " \
          "refined never worse than the network alone."
PUBLISHED = "OpenSense published on this trial (flexion): rknee 2.1 (r 0.993), lknee 1.8 (0.995), rhip 2.2 (0.997), " \
            "lhip 3.5 (0.985), lankle 5.5 (0.77)."
DEFAULT_DATA = Path("../shared/data/real/kuopio")
DEFAULT_TRIAL = "l_comf_01"  # the trial in DEFAULT_DATA; the dataset's other trials are named alike
RAW_KNEE_TARGET = 4.0  # deg, raw knee flexion RMSE with a standing calibration (the target)
CALIB_S = 1.5  # s of the standing start used by the VQF calibration and the gyroscope bias (the trial stands ~1.8 s)
MOTION = "sensor motion"  # label of the diagnostic column: the sensors' own rotation (not a method)
STREAM = "stream"  # label of imukin stream's causal CNN, run over the aligned trial
LABELS_MOUNTING = ("cnn", "cnn+refined", "transformer")  # methods of the mounting diagnosis
UNCALIBRATED = "cnn+refined, no calibration"  # label of the absolute-angle column without --calibrate


# ---------------------------------------------------------------- loading
def sensor_files(data: Path, trial: str = DEFAULT_TRIAL) -> dict:
    """Segment -> the trial's MT Manager export (``<trial>-000_<device id>.txt``), the device ids from
    myIMUMappings.xml (:func:`imukin.io.recording.read_sensor_map`)."""
    out = {}
    for seg, sensor in read_sensor_map(data / "myIMUMappings.xml").items():
        sid = sensor.rsplit("_", 1)[-1]  # the map's names carry its own trial's prefix
        files = sorted(glob.glob(str(data / f"{glob.escape(trial)}-*{sid}.txt")))
        if not files:
            raise ImukinError(f"no export {trial}-*{sid}.txt for sensor {sid} ({seg}) in {data}; every sensor "
                              "myIMUMappings.xml names needs the trial's MT Manager export there")
        out[seg] = Path(files[0])
    return out


def load_imus(data: Path, trial: str = DEFAULT_TRIAL) -> dict:
    """Segment -> ImuRecording, the trial's exports (:func:`sensor_files`)."""
    out = {}
    for seg, path in sensor_files(data, trial).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # units: the Xsens preset defaults (m/s^2, rad/s) hold
            out[seg] = read_imu_csv(path, fs=FS)[0]
    return out


def trials_in(data: Path) -> list[str]:
    """The trials of a Kuopio-layout folder: the names of its ``<trial>_markers.trc`` files."""
    return sorted(p.name[:-len("_markers.trc")] for p in data.glob("*_markers.trc"))


def load_trial(data: Path, trial: str = DEFAULT_TRIAL) -> tuple[dict, object, object]:
    """The trial's sensors (:func:`load_imus`) cut to their common length, its markers and the marker reference
    (:func:`imukin.evaluation.marker_reference.reference_angles`) on the sensors' frames."""
    imus = load_imus(data, trial)
    n = min(r.n_frames for r in imus.values())
    imus = {s: type(r)(**{**r.__dict__, "acc": r.acc[:n], "gyr": r.gyr[:n]}) for s, r in imus.items()}
    markers = read_marker_file(data / f"{trial}_markers.trc")
    return imus, markers, reference_angles(markers, {s: r.gyr for s, r in imus.items()}, FS, n)


def starts_standing(imus: dict) -> bool:
    """Whether every sensor is still (:func:`imukin.preprocessing.align.still_mask`) over most (90 %) of the
    first :data:`CALIB_S` seconds, as vqf's calibration and the gyroscope bias of ``sensor motion`` assume."""
    from imukin.preprocessing.align import still_mask

    k = int(CALIB_S * FS)
    return all(still_mask(r.acc, r.gyr, FS)[:k].mean() >= 0.9 for r in imus.values())


def align_all(imus: dict) -> tuple[dict, dict, dict]:
    """Every sensor aligned to its segment: segment -> (acc, gyr) in segment axes, the rule each alignment
    took, and each one's ``r_mount`` (``v_segment = r_mount @ v_sensor``)."""
    from imukin.api import align_config
    from imukin.preprocessing.align import align_segment

    aligned, info, mounts = {}, {}, {}
    for seg, r in imus.items():
        try:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                al = align_segment(r.acc, r.gyr, FS, seg, cfg=align_config())  # as imukin.predict
            aligned[seg] = al.apply(r.acc, r.gyr)
            mounts[seg] = al.r_mount
            info[seg] = f"{al.sign_rule}{'' if al.sign_confident else ' (uncertain)'}"
            if w:
                info[seg] += f" [{w[0].message}]"
        except ImukinError as e:
            info[seg] = f"failed: {e}"
    return aligned, info, mounts


# ---------------------------------------------------------------- baselines
def stride_bounds(gyr_shank: np.ndarray, fs: float) -> list[int]:
    """Mid-swing instants (peaks of the shank's |gyr|, at least 0.7 s apart, over half the largest)."""
    g = np.linalg.norm(gyr_shank, axis=1)
    peaks, _ = find_peaks(g, height=0.5 * g.max(), distance=int(0.7 * fs))
    return [0, *peaks.tolist(), len(g)]


def gyro_integration(seg1, seg2, joint, side, bounds) -> np.ndarray:
    """Relative rotation of the two integrated gyroscopes -> angles, mean removed per stride."""
    r1, r2 = integrate_gyroscope(seg1[1], FS, np.eye(3)), integrate_gyroscope(seg2[1], FS, np.eye(3))
    a = joint_angles(r1, r2, joint, side)
    for s, e in zip(bounds[:-1], bounds[1:]):
        a[s:e] -= a[s:e].mean(axis=0)
    return a


def opensense_angles(path: Path, joint: str, side: str, n: int) -> np.ndarray | None:
    """(n, 3) angles from an OpenSense .mot (one row per IMU sample), NaN for DOFs gait2392 lacks."""
    names, data, _ = read_storage(path)
    out = np.full((n, 3), np.nan)
    m = min(n, len(data))
    for k, axis in enumerate(ANGLE_AXES):
        spec = OPENSIM_COORDS.get((joint, axis))
        if spec is None:
            continue
        col = spec[0].format(s=side[0])
        if col in names:
            out[:m, k] = spec[1] * data[:m, names.index(col)]
    return out


def rerun_opensense(data: Path, out: Path, trial: str = DEFAULT_TRIAL) -> tuple[Path | None, str]:
    """Rerun OpenSense's IMUInverseKinematicsTool on the shipped model and the trial's orientations."""
    d = data / "opensense"
    sto = d / f"{trial}_orientations.sto"
    if not sto.exists():
        return None, f"no opensense/{trial}_orientations.sto in {data}"
    try:
        import opensim as osim
    except ImportError as e:
        return None, f"opensim not importable ({e}); pip install opensim==4.6 into the venv"
    osim.Logger.setLevelString("error")  # its per-frame progress would drown the table
    res = out / "opensense_rerun"
    res.mkdir(parents=True, exist_ok=True)
    mot = res / f"ik_{trial}_orientations.mot"
    if mot.exists():
        return mot, f"opensim {osim.__version__} (cached {mot.name})"
    t0 = time.time()
    tool = osim.IMUInverseKinematicsTool()
    tool.set_model_file(str(d / "calibrated_gait2392_thelen2003muscle.osim"))
    tool.set_orientations_file(str(sto))
    tool.set_sensor_to_opensim_rotations(osim.Vec3(-math.pi / 2, 0, 0))  # as the shipped setup file
    tool.set_results_directory(str(res))
    tool.set_time_range(0, 0.0)
    tool.set_time_range(1, float(sto.read_text().rstrip().splitlines()[-1].split()[0]))  # the file's last row
    try:
        tool.run(False)
    except Exception as e:  # noqa: BLE001 - report any OpenSim failure as the reason
        return None, f"opensim {osim.__version__} failed: {e}"
    return (mot if mot.exists() else None), f"opensim {osim.__version__}, {time.time() - t0:.0f} s"


# ---------------------------------------------------------------- table
def cell(m: dict) -> str:
    if m is None or not np.isfinite(m["rmse_offset_removed"]):
        return "-"
    return f"{m['rmse_offset_removed']:.2f} / {m['r']:.3f} / {m['rmse']:.1f}"


def table(results: dict, methods: list[str]) -> str:
    head = "| joint | axis | " + " | ".join(methods) + " |"
    lines = [head, "| --- | --- |" + " ---: |" * len(methods)]
    for (jn, axis), row in results.items():
        lines.append(f"| {jn} | {axis} | " + " | ".join(cell(row.get(mth)) for mth in methods) + " |")
    return "\n".join(lines)


def verdicts(results: dict) -> str:
    """The targets checked on the measured table: flexion per joint with the optimisation stage (the verdict
    for cnn+refined, ``imukin predict --refine``'s default), beside OpenSense, and every cell where the stage
    is worse than its network. Beside them the sensors' own motion (:data:`MOTION`, not a method): a target it
    misses too lies beyond what the trial's sensors measure against its markers."""
    lines = ["| joint | cnn+refined | transformer+refined | OpenSense | sensor motion | target | "
             "verdict (cnn+refined) |", "| --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for (jn, axis), row in results.items():
        if axis != "flexion":
            continue
        joint = jn[1:]
        limit, r_min = FLEXION_TARGETS[joint]
        m = row.get("cnn+refined")
        if m is None:
            continue
        def meets(c, limit=limit, r_min=r_min):
            return c["rmse_offset_removed"] <= limit and (r_min is None or c["r"] >= r_min)

        ok, motion = meets(m), row.get(MOTION)
        verdict = "met" if ok else "MISSED" + (", as the sensors' own motion" if motion and not meets(motion) else "")
        cells = [row.get(k) for k in ("cnn+refined", "transformer+refined", "OS shipped", MOTION)]
        lines.append(f"| {jn} | " + " | ".join("-" if c is None else f"{c['rmse_offset_removed']:.2f} / {c['r']:.3f}"
                                              for c in cells)
                     + f" | <= {limit:g}{'' if r_min is None else f', r >= {r_min:g}'} | {verdict} |")
    worse = []
    for (jn, axis), row in results.items():
        for net in ("cnn", "transformer"):
            a, b = row.get(net), row.get(f"{net}+refined")
            if a and b and round(b["rmse_offset_removed"], 2) > round(a["rmse_offset_removed"], 2):
                worse.append(f"{jn} {axis} {net}: {a['rmse_offset_removed']:.2f} -> {b['rmse_offset_removed']:.2f}")
    lines.append("\nThe optimisation stage worse than its network (offset-removed RMSE, deg): "
                 + ("; ".join(worse) if worse else "nowhere"))
    return "\n".join(lines)


BLOCK_S = 0.5  # s, the blocks of the bootstrap of stage_differences (about half a stride: the trial has ~4 strides)
N_BOOT = 2000  # resamples of that bootstrap


def stage_differences(curves: dict, seed: int = 0) -> str:
    """How far the measured stage-minus-network differences could move on another stretch of the same walking:
    for every flexion row, the offset-removed RMSE of ``<net>+refined`` minus ``<net>`` (deg) with its 5-95 %
    interval from a moving-block bootstrap over the reference's frames (blocks of :data:`BLOCK_S`, drawn with
    replacement to the trial's length; each resample's errors have their own mean removed, as the metric does).
    A difference whose interval spans 0 is not resolved by this trial."""
    rng = np.random.default_rng(seed)
    k = ANGLE_AXES.index("flexion")
    lines = [f"The optimisation stage minus its network, offset-removed flexion RMSE (deg), with the 5-95 % interval "
             f"of a moving-block bootstrap ({BLOCK_S:g} s blocks, {N_BOOT} resamples) over the reference's frames:",
             "| joint | cnn | transformer |", "| --- | ---: | ---: |"]
    for jn, (ref, preds, ok) in curves.items():
        cells = []
        for net in ("cnn", "transformer"):
            if net not in preds or f"{net}+refined" not in preds:
                cells.append("-")
                continue
            ea = preds[net][ok, k] - ref[ok, k]  # (N,) over the reference's frames
            eb = preds[f"{net}+refined"][ok, k] - ref[ok, k]
            block = int(round(BLOCK_S * FS))
            starts = rng.integers(0, len(ea) - block + 1, size=(N_BOOT, math.ceil(len(ea) / block)))  # (B, n)
            idx = (starts[:, :, None] + np.arange(block)).reshape(N_BOOT, -1)[:, :len(ea)]  # (B, N)

            def rmse(e):  # offset-removed RMSE along the last axis
                return np.sqrt(np.mean((e - e.mean(axis=-1, keepdims=True)) ** 2, axis=-1))

            d = rmse(eb) - rmse(ea)
            lo, hi = np.percentile(rmse(eb[idx]) - rmse(ea[idx]), [5, 95])
            cells.append(f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]")
        lines.append(f"| {jn} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


SWING_MIN_DEG = 35.0  # deg of reference knee flexion a swing peak exceeds (the loading response stays below)
EVENT_WINDOW_S = 0.1  # s each side of the reference's event within which a method's own peak is taken
LOADING_WINDOW_S = (0.05, 0.35)  # s after the knee's extension at heel strike in which the loading-response peak lies


def knee_events(curves: dict, labels=("cnn", "transformer", "both", "cnn+refined", "both+refined", "vqf",
                                      "OS shipped")) -> str:
    """Knee flexion at the two peaks of a stride, each method against the reference: the swing peak and the
    loading-response peak (the flexion just after heel strike). Per stride of the reference (a swing peak over
    :data:`SWING_MIN_DEG`; heel strike the extension that follows it within 0.5 s; the loading-response peak the
    reference's highest flexion :data:`LOADING_WINDOW_S` after it), a method's value is its own highest flexion
    within :data:`EVENT_WINDOW_S` of the reference's event, less its mean error over the reference's frames (the
    offset the table removes). The cells are the mean and SD over strides of method minus reference (deg): how a
    method's shape differs, which an RMSE hides (a real trial elsewhere showed networks overshooting the swing
    peak and flattening the loading response)."""
    k = ANGLE_AXES.index("flexion")
    w = int(round(EVENT_WINDOW_S * FS))
    lines = ["Knee flexion at the stride's two peaks, method minus reference, mean +- SD over the reference's strides "
             "(deg; each method shifted by its mean error first):",
             "| joint | event | strides | " + " | ".join(labels) + " |",
             "| --- | --- | ---: |" + " ---: |" * len(labels)]
    for jn, (ref, preds, ok) in curves.items():
        if not jn.endswith("knee"):
            continue
        r = np.where(ok, ref[:, k], np.nan)
        peaks, _ = find_peaks(np.nan_to_num(r, nan=-1e9), height=SWING_MIN_DEG, distance=int(0.7 * FS))
        events = {"swing peak": [], "loading response": []}
        for p in peaks:
            if p - w < 0 or p + w >= len(r) or not ok[p - w:p + w + 1].all():
                continue
            events["swing peak"].append(p)
            after = r[p:p + int(0.5 * FS)]
            if np.isfinite(after).all():
                hs = p + int(np.argmin(after))
                a, b = hs + int(LOADING_WINDOW_S[0] * FS), hs + int(LOADING_WINDOW_S[1] * FS)
                if b + w < len(r) and ok[a - w:b + w].all():
                    events["loading response"].append(a + int(np.argmax(r[a:b])))
        for event, idx in events.items():
            cells = _event_cells(preds, ref, ok, idx, labels, np.max)
            lines.append(f"| {jn} | {event} | {len(idx)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _event_cells(preds: dict, ref: np.ndarray, ok: np.ndarray, idx: list, labels, peak) -> list[str]:
    """Per method, mean +- SD over the events ``idx`` (frames of the reference) of the method's own ``peak``
    (np.max or np.min) flexion within :data:`EVENT_WINDOW_S` of each, less its mean error over the reference's
    frames, minus the reference there (deg)."""
    k, w = ANGLE_AXES.index("flexion"), int(round(EVENT_WINDOW_S * FS))
    cells = []
    for label in labels:
        q = preds.get(label)
        if q is None or not np.isfinite(q[ok, k]).all() or not idx:
            cells.append("-")
            continue
        off = np.mean(q[ok, k] - ref[ok, k])
        d = np.array([peak(q[i - w:i + w + 1, k]) - off - ref[i, k] for i in idx])  # (events,)
        cells.append(f"{d.mean():+.1f} +- {d.std():.1f}")
    return cells


PUSH_OFF_PROMINENCE_DEG = 8.0  # deg a reference ankle's plantarflexion peak after push-off stands out by


def ankle_events(curves: dict, labels=("cnn", "cnn+refined", "both+refined", "vqf", "gyro", "OS shipped",
                                       MOTION)) -> str:
    """Ankle flexion at the stride's plantarflexion peak (just after push-off), each method against the reference,
    as :func:`knee_events` does for the knee (peaks of the reference's plantarflexion standing out by
    :data:`PUSH_OFF_PROMINENCE_DEG`, at least 0.7 s apart). The sensors' own motion is a column: where every
    method and the sensors agree with one another and not with the reference, the markers and the sensors
    disagree about the foot (a foot cluster on the shoe's forefoot bends with the toes at push-off)."""
    k = ANGLE_AXES.index("flexion")
    w = int(round(EVENT_WINDOW_S * FS))
    lines = ["Ankle flexion at the stride's plantarflexion peak after push-off, method minus reference, mean +- SD "
             "over the reference's strides (deg; each method shifted by its mean error first):",
             "| joint | strides | " + " | ".join(labels) + " |", "| --- | ---: |" + " ---: |" * len(labels)]
    for jn, (ref, preds, ok) in curves.items():
        if not jn.endswith("ankle"):
            continue
        r = np.where(ok, ref[:, k], np.nan)
        peaks, _ = find_peaks(-np.nan_to_num(r, nan=1e9), prominence=PUSH_OFF_PROMINENCE_DEG, distance=int(0.7 * FS))
        idx = [int(p) for p in peaks if p - w >= 0 and p + w < len(r) and ok[p - w:p + w + 1].all()]
        lines.append(f"| {jn} | {len(idx)} | " + " | ".join(_event_cells(preds, ref, ok, idx, labels, np.min)) + " |")
    return "\n".join(lines)


CARD_TITLE = "Real sensors: the Kuopio trial (measured)"


def write_cards(results: dict) -> list[Path]:
    """Each shipped walking angle model's rows of the real-IMU table into its model card (a section of
    :data:`CARD_TITLE`, stamped with the command, the code version and the date)."""
    import datetime
    import subprocess

    from imukin import __version__
    from imukin.training.pretrained import write_card_section

    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    written = []
    for joint in JOINT_NAMES:
        for model, label in (("cnn", "cnn"), ("transformer", "transformer"), ("cnn_causal", STREAM)):
            rows = [(jn, axis, row) for (jn, axis), row in results.items() if jn[1:] == joint and label in row]
            if not rows:
                continue
            lines = [f"Measured by `.venv/bin/python benchmarks/real_imu.py --no-rerun --write-cards` (imukin "
                     f"{__version__}, {commit}, {datetime.date.today().isoformat()}): one person walking overground "
                     "with 7 Xsens MTw2 strapped on by hand (100 Hz, each sensor's mounting found by `imukin "
                     "predict`'s alignment), against joint angles from the trial's marker clusters "
                     "(`docs/real_data.md`). Offset-removed RMSE (deg) / Pearson r / raw RMSE (deg, against a "
                     "reference whose 0 is mid-stance):", "",
                     "| joint | axis | this model | with `--refine` | OpenSense (its shipped result) | the sensors' "
                     "own motion |", "|---|---|---:|---:|---:|---:|"]
            for jn, axis, row in rows:
                lines.append(f"| {jn} | {axis} | " + " | ".join(
                    cell(row.get(k)) for k in (label, f"{label}+refined", "OS shipped", MOTION)) + " |")
            lines += ["", "The sensors' own motion is not a method: what the two sensors turned through against "
                      "what their marker clusters did, the error no method that follows its sensors avoids. One "
                      "trial of one person: it finds causes, it does not prove accuracy."]
            written.append(write_card_section(f"walking_{joint}_{model}", CARD_TITLE, "\n".join(lines)))
    return written


def lag_sensitivity(markers, gyr: dict, ref, curves: dict, shifts_ms=(-5.0, 5.0)) -> str:
    """Offset-removed flexion of the cnn, the default method (the cnn with the stage) and the sensors' own motion
    with the reference moved by a few milliseconds: how much of a cell, and of the stage's difference to its
    network, the lag's uncertainty holds."""
    lags = [d["offset_s"] * 1000 for d in ref.sync.values() if "offset_s" in d]
    shifted = {d: reference_angles(markers, gyr, FS, len(next(iter(gyr.values()))), lag_s=ref.lag_s + d / 1000)
               for d in shifts_ms}
    cols = [f"{d:+g} ms" if d else "found" for d in (shifts_ms[0], 0.0, shifts_ms[1])]
    labels = ("cnn", "cnn+refined", MOTION)
    lines = [f"Lag sensitivity: offset-removed flexion (deg), {' / '.join(labels)}, with the reference's IMU-marker "
             f"lag ({ref.lag_s * 1000:+.1f} ms; the segments' own estimates span {min(lags):+.1f} to {max(lags):+.1f} "
             "ms) moved by",
             "| joint | " + " | ".join(cols) + " |", "| --- |" + " ---: |" * len(cols)]
    for jn, (r0, preds, _) in curves.items():
        cells = []
        for d in (shifts_ms[0], 0.0, shifts_ms[1]):
            r = r0 if d == 0.0 else shifted[d].angles[jn]
            vals = []
            for label in labels:
                p = preds.get(label)
                ok = np.isfinite(r[:, 0]) & (np.isfinite(p[:, 0]) if p is not None else False)
                vals.append(f"{sequence_metrics(p[ok], r[ok])['flexion']['rmse_offset_removed']:.2f}"
                            if p is not None and ok.sum() > 10 else "-")
            cells.append(" / ".join(vals))
        lines.append(f"| {jn} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mounting_check(imus: dict, ref, mounts: dict, predictors: dict, curves: dict) -> str:
    """The networks with each sensor's flexion axis taken from its marker cluster instead of imukin's alignment.

    The cluster's mounting is the rotation fitted between the sensor's and its cluster's angular rates
    (``ref.sync[segment]["r_sensor_to_markers"]``, in the reference's segment frames). A leg segment turns
    mostly about its flexion axis, so that fit holds the flexion axis (z) firmly but leaves the turn about it
    loose (tens of degrees apart on the Kuopio thighs); so imukin's alignment is only turned, minimally, until
    its z axis is the fitted one. With it the networks see each segment's flexion axis as the reference has it.
    It uses the markers, so it is a diagnosis: how much of a cell the flexion axes found by the alignment hold.
    ``predictors``: joint -> label -> predictor; ``curves``: joint name -> (reference, predictions with imukin's
    alignment, valid frames), as the main table made them.
    """
    from scipy.spatial.transform import Rotation

    from imukin.preprocessing.align import apply_alignment

    turned, apart = {}, {}
    for seg, m in mounts.items():
        fitted = ref.sync.get(seg, {}).get("r_sensor_to_markers")
        if fitted is None:
            continue
        z_fit, z_own = np.asarray(fitted)[2], m[2]  # the segment's z in sensor coordinates
        q = Rotation.align_vectors(z_fit[None], z_own[None])[0].as_matrix()  # q @ z_own = z_fit, least turn
        turned[seg] = m @ q.T
        apart[seg] = np.degrees(np.arccos(np.clip(z_fit @ z_own, -1.0, 1.0)))
    lines = ["Flexion axes against the clusters' (a diagnosis: the markers give each sensor's flexion axis, from the "
             "rotation fitted between its angular rate and its cluster's). Angle between imukin's and the cluster's: "
             + ", ".join(f"{s} {a:.0f} deg" for s, a in apart.items()),
             "Offset-removed flexion (deg) with imukin's alignment / with the clusters' flexion axes:",
             "| joint | " + " | ".join(LABELS_MOUNTING) + " |", "| --- |" + " ---: |" * len(LABELS_MOUNTING)]
    for joint, preds in predictors.items():
        for side in SIDES:
            jn = joint_name(joint, side)
            s1, s2 = joint_segments(joint, side)
            if jn not in curves or not {s1, s2} <= set(turned):
                continue
            r, own, ok = curves[jn]
            x = [a for s in (s1, s2) for a in apply_alignment(imus[s].acc, imus[s].gyr, turned[s])]  # acc1, gyr1, ...
            cells = []
            for label in LABELS_MOUNTING:
                vals = [sequence_metrics(p[ok], r[ok])["flexion"]["rmse_offset_removed"]
                        for p in (own[label], preds[label].predict(*x, side=side, fs=FS))]
                cells.append(" / ".join(f"{v:.2f}" for v in vals))
            lines.append(f"| {jn} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def absolute_angles(data: Path, files: dict, ref, gyr: dict, curves: dict) -> str:
    """Raw flexion RMSE (deg) of ``imukin predict --calibrate standing`` and the shifted baselines against the
    reference with the standing as 0 (its angles there carried back by the sensors), as a printed section."""
    from imukin.api import predict
    from imukin.io.recording import load_recording

    runs = {"cnn": {}, "cnn+refined": {"refine": True}, "transformer": {"model": "transformer"},
            "transformer+refined": {"model": "transformer", "refine": True}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reader's unit notes, as in load_imus
        rec = load_recording(data, fs=FS, sensors={seg: p.name for seg, p in files.items()})  # read once, used 5x
        pred = {label: predict(rec, activity="walking", calibrate="standing", **kw) for label, kw in runs.items()}
        pred[UNCALIBRATED] = predict(rec, activity="walking", refine=True)  # the networks' own absolute angles
    runs[UNCALIBRATED] = {}
    lo, hi = next(iter(pred["cnn"].calibration.values()))["frames"]
    pose = standing_pose_angles(ref, gyr, (lo, hi))
    labels = [*runs, "vqf", "OS shipped"]
    lines = [f"Absolute angles: `imukin predict --calibrate standing` (standing = IMU samples {lo}-{hi}) against the "
             "reference with that standing as 0 (its angles there carried back by the sensors' gyroscopes; fit "
             "residual per segment, deg: " + ", ".join(f"{k} {v:.1f}" for k, v in pose.fit_residual_deg.items())
             + "). vqf and OpenSense shifted to read 0 there. Cells: raw flexion RMSE / mean error (deg)\n",
             "| joint | reference in the standing (flex / add / rot) | " + " | ".join(labels) + " |",
             "| --- | --- |" + " ---: |" * len(labels)]
    misses = []
    for jn, (_, preds, ok) in curves.items():
        if jn not in pose.angles:
            continue
        r0 = ref.angles[jn][:, 0] - pose.angles[jn][0]  # flexion, the standing as 0
        cells = []
        for label in labels:
            if label in runs:
                x = pred[label].angles[jn][:len(r0), 0]
            elif preds.get(label) is not None:
                x = preds[label][:, 0] - np.mean(preds[label][lo:hi, 0])
            else:
                cells.append("-")
                continue
            err = x[ok] - r0[ok]
            cells.append(f"{np.sqrt(np.mean(err ** 2)):.1f} / {np.mean(err):+.1f}")
            if "knee" in jn and label == "cnn+refined" and np.sqrt(np.mean(err ** 2)) > RAW_KNEE_TARGET:
                misses.append(jn)
        lines.append(f"| {jn} | {' / '.join(f'{v:.1f}' for v in pose.angles[jn])} | " + " | ".join(cells) + " |")
    lines.append(f"\nTarget: raw knee flexion <= {RAW_KNEE_TARGET:g} deg with a standing calibration (cnn+refined): "
                 + (f"MISSED ({', '.join(misses)})" if misses else "met"))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the Kuopio trial")
    ap.add_argument("--trial", default=DEFAULT_TRIAL, help="which trial of that folder (<trial>_markers.trc, "
                    "<trial>-000_<device>.txt, optionally opensense/ik_<trial>-000_orientations.mot)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/real_imu"), help="output folder for plots")
    ap.add_argument("--no-rerun", action="store_true", help="skip the OpenSense rerun")
    ap.add_argument("--write-cards", action="store_true",
                    help="also write each shipped walking angle model's rows into its model card")
    ap.add_argument("--seed", type=int, default=0, help="sensor-error draw of the simulated IMUs")
    ap.add_argument("--candidates", type=Path, help="a folder of trained runs walking_<joint>_<model> to compare "
                    "with the shipped models (rows 'new <model>')")
    args = ap.parse_args()
    trial = args.trial
    if not (args.data / f"{trial}_markers.trc").exists():
        found = trials_in(args.data) if args.data.is_dir() else []
        print(f"missing {args.data}/{trial}_markers.trc; pass --data with a Kuopio-layout folder and --trial with "
              f"one of its trials ({', '.join(found) if found else 'none found there'})", file=sys.stderr)
        return 2
    if args.write_cards and trial != DEFAULT_TRIAL:
        print(f"--write-cards writes the {DEFAULT_TRIAL} trial's rows into the model cards; run it without --trial",
              file=sys.stderr)
        return 2
    if not (args.data / "myIMUMappings.xml").is_file():
        print(f"missing {args.data}/myIMUMappings.xml; the folder needs OpenSense's sensor mapping beside one MT "
              "Manager export per sensor", file=sys.stderr)
        return 2
    try:
        files = sensor_files(args.data, trial)
    except ImukinError as e:
        print(e, file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    ignore = args.out.parent / ".gitignore"
    if args.out.parent.name == "out" and not ignore.exists():
        ignore.write_text("*\n")  # benchmark outputs stay out of git
    from imukin.fusion.classical import ClassicalConfig, ClassicalPredictor
    from imukin.fusion.refine import candidate_predictors, shipped_predictors, with_both
    from imukin.predictor import AnglePredictor
    from imukin.pretrained import shipped_streaming_models

    imus, markers, ref = load_trial(args.data, trial)
    n = min(r.n_frames for r in imus.values())
    gyr = {s: r.gyr for s, r in imus.items()}
    motion = sensor_motion_angles(ref, gyr, still=(0, int(CALIB_S * FS)))
    aligned, align_info, mounts = align_all(imus)
    rerun, rerun_note = ((None, "skipped (--no-rerun)") if args.no_rerun
                         else rerun_opensense(args.data, args.out, trial))
    shipped = args.data / "opensense" / f"ik_{trial}-000_orientations.mot"  # OpenSense's own result, where given
    shipped = shipped if shipped.exists() else None
    sim = records_from_marker_files([args.data / f"{trial}_markers.trc"], fs_out=markers.fs,
                                    errors=SensorErrorConfig(), seed=args.seed)[0]
    sim_a = int(sim.attrs["frames"].split("-")[0])

    real, simres, curves, by_joint = {}, {}, {}, {}
    for joint in JOINT_NAMES:
        predictors = with_both(shipped_predictors("walking", joint))
        by_joint[joint] = predictors
        for run in shipped_streaming_models("walking", joint)[:1]:  # the causal model imukin stream runs
            predictors[STREAM] = AnglePredictor(run)
        if args.candidates is not None:
            predictors.update(candidate_predictors(args.candidates, "walking", joint))
        for side in SIDES:
            jn = joint_name(joint, side)
            if jn not in ref.angles:
                continue
            s1, s2 = joint_segments(joint, side)
            r = ref.angles[jn]
            ok = ref.valid(jn)
            preds = {}
            if s1 in aligned and s2 in aligned:
                x = (*aligned[s1], *aligned[s2])
                for label, p in predictors.items():
                    preds[label] = p.predict(*x, side=side, fs=FS)
                preds["vqf"] = ClassicalPredictor(joint, ClassicalConfig(calib_s=CALIB_S)).predict(*x, side=side,
                                                                                                   fs=FS)
                shank = joint_segments("knee", side)[1]
                if shank in aligned:
                    preds["gyro"] = gyro_integration(aligned[s1], aligned[s2], joint, side,
                                                     stride_bounds(aligned[shank][1], FS))
            if shipped is not None:
                preds["OS shipped"] = opensense_angles(shipped, joint, side, n)
            if rerun is not None:
                preds["OS rerun"] = opensense_angles(rerun, joint, side, n)
            if jn in motion:
                preds[MOTION] = motion[jn]
            curves[jn] = (r, preds, ok)
            for axis in ANGLE_AXES:
                if axis not in AXES[joint]:
                    continue
                row = real.setdefault((jn, axis), {})
                for label, p in preds.items():
                    m = sequence_metrics(p[ok], r[ok])[axis]
                    row[label] = m if np.isfinite(m["rmse"]) else None
            # the same networks on IMUs simulated from the trial's own markers
            try:
                xs = sim.joint_inputs(joint, side)
            except ImukinError:
                continue
            rs = ref.angles_markers[jn][sim_a:sim_a + len(xs[0])]
            oks = np.all(np.isfinite(rs), axis=1)
            sp = {label: p.predict(*xs, side=side, fs=sim.fs) for label, p in predictors.items()}
            for axis in ANGLE_AXES:
                if axis in AXES[joint]:
                    simres.setdefault((jn, axis), {}).update(
                        {lab: sequence_metrics(p[oks], rs[oks])[axis] for lab, p in sp.items()})

    nets = ["cnn", "transformer", "both", "cnn+refined", "transformer+refined", "both+refined", STREAM]
    nets += sorted({lab for row in real.values() for lab in row if lab.startswith("new ")})
    methods = (nets + ["vqf", "gyro"] + (["OS shipped"] if shipped is not None else [])
               + (["OS rerun"] if rerun is not None else []) + [MOTION])
    print(f"\nimukin on real IMUs: Kuopio {trial} (7 Xsens MTw2, 100 Hz), reference from marker clusters")
    print(f"IMU-marker lag {ref.lag_s * 1000:+.1f} ms (markers behind IMUs; per segment: " + ", ".join(
        f"{s} {d['offset_s'] * 1000:+.0f} ms r {d['corr']:.2f}" for s, d in ref.sync.items() if "offset_s" in d) + ")")
    if not starts_standing(imus):
        print(f"WARNING: the trial does not start with {CALIB_S:g} s of standing still, which vqf's calibration and "
              "the sensor-motion diagnosis take as their start: read those two columns with care")
    print("sensor alignment rules: " + ", ".join(f"{s} {v}" for s, v in align_info.items()))
    print("functional flexion axes (dominant relative rotation; used for the knees, see "
          "imukin.evaluation.marker_reference): " + ", ".join(
        f"{j} {'used' if a['used'] else 'NOT used'} (tilt {a['tilt_from_midstance_z_deg'][0]:.0f}/"
        f"{a['tilt_from_midstance_z_deg'][1]:.0f} deg)" for j, a in ref.axes.items()))
    print("reference frames: " + ", ".join(f"{j} {int(ref.valid(j).sum())}" for j in ref.angles))
    print(f"OpenSense rerun: {rerun_note if rerun is not None else 'not run: ' + rerun_note}")
    print("\nReal IMUs. Cells: offset-removed RMSE (deg) / Pearson r / raw RMSE (deg); gyro: offset removed per "
          "stride; OS = OpenSense (gait2392: knee, ankle flexion only); sensor motion: not a method, the two sensors' "
          "own rotation against the clusters' (see the module notes)\n")
    print(table(real, methods))
    print("\n" + lag_sensitivity(markers, gyr, ref, curves))
    print("\n" + mounting_check(imus, ref, mounts, by_joint, curves))
    print("\nSame networks on IMUs simulated from the trial's own markers (Kuopio preset, default sensor errors; "
          f"frames {sim.attrs['frames']}), same reference\n")
    print(table(simres, nets))
    print("\n" + TARGETS)
    print(verdicts(real))
    print("\n" + stage_differences(curves))
    print("\n" + knee_events(curves))
    print("\n" + ankle_events(curves))
    if trial == DEFAULT_TRIAL:
        print(PUBLISHED)
    print("\n" + absolute_angles(args.data, files, ref, gyr, curves))
    plot(curves, args.out, trial)
    print(f"\nplots: {args.out}/")
    if args.write_cards:
        print("model cards: " + ", ".join(str(p.parent.name) for p in write_cards(real)))
    return 0


def plot(curves: dict, out: Path, trial: str = DEFAULT_TRIAL) -> None:
    """One figure per joint: reference and every method, each shifted by its mean error over the reference frames."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = None
    for jn, (r, preds, ok) in curves.items():
        joint = jn[1:]
        axes = [k for k, a in enumerate(ANGLE_AXES) if a in AXES[joint]]
        fig, axs = plt.subplots(len(axes), 1, figsize=(10, 3 * len(axes)), sharex=True, squeeze=False)
        t = np.arange(len(r)) / FS
        idx = np.flatnonzero(ok)
        sl = slice(max(idx[0] - 20, 0), idx[-1] + 20)
        for row, k in enumerate(axes):
            ax = axs[row, 0]
            ax.plot(t[sl], r[sl, k], "k", lw=2.5, label="markers (reference)")
            for label in ("both", "both+refined", "vqf", "gyro", "OS shipped", "OS rerun", MOTION):
                p = preds.get(label)
                if p is None or not np.isfinite(p[ok, k]).any():
                    continue
                off = np.nanmean(p[ok, k] - r[ok, k])
                ax.plot(t[sl], p[sl, k] - off, lw=1.2, label=f"{label} (offset {off:+.1f})")
            ax.set_ylabel(f"{ANGLE_AXES[k]} (deg)")
            ax.grid(alpha=0.3)
        axs[0, 0].set_title(f"{jn}: Kuopio {trial}, offset removed (each curve shifted by its mean error)")
        axs[0, 0].legend(fontsize=7, ncol=2)
        axs[-1, 0].set_xlabel("time (s, IMU clock)")
        fig.tight_layout()
        fig.savefig(out / f"{jn}.png", dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
