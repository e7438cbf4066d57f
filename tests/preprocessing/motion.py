"""Simulated recordings with known truth for the harmonization tests and benchmark.

A compact, self-contained gait model (so these tests do not depend on the corpus
generator): textbook sagittal joint-angle curves (hip, knee, ankle; walking or running)
plus small frontal and transverse motion, periodic cubic splines over the gait cycle,
forward kinematics through :func:`imukin.conventions.angles_to_relative_rotation` from a
pelvis that moves forward with a smooth start. The recording begins with quiet standing
(every segment frame equal to the lab frame, the neutral pose of
:mod:`imukin.conventions`); amplitudes and speed ease in over ``blend_s``. Every pose
is smooth, so :func:`~imukin.simulation.imu.ideal_imu` gives clean accelerations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.spatial.transform import Rotation

from imukin.conventions import SEGMENTS, G, angles_to_relative_rotation
from imukin.simulation.imu import ideal_imu

FS_INTERNAL = 500.0  # Hz, pose rate handed to ideal_imu

#: Key points (percent of the cycle from heel strike, degrees) of the sagittal curves.
CURVES = {
    "walking": {
        "hip": [(0, 28), (12, 24), (30, 6), (50, -10), (60, -4), (75, 18), (87, 30), (100, 28)],
        "knee": [(0, 4), (15, 18), (40, 4), (60, 38), (73, 62), (88, 22), (100, 4)],
        "ankle": [(0, 0), (8, -6), (30, 8), (48, 12), (62, -18), (75, -2), (90, 2), (100, 0)],
    },
    "running": {
        "hip": [(0, 32), (15, 22), (35, -8), (50, -6), (70, 30), (85, 40), (100, 32)],
        "knee": [(0, 18), (15, 40), (35, 18), (55, 70), (70, 100), (88, 40), (100, 18)],
        "ankle": [(0, 2), (12, 18), (35, -22), (50, -8), (70, 4), (90, 6), (100, 2)],
    },
}
GAIT = {"walking": dict(freq=0.95, speed=1.3, bob=0.02), "running": dict(freq=1.4, speed=3.2, bob=0.05)}
SEG_LEN = {"thigh": 0.44, "shank": 0.43}  # m
SITES = {"pelvis": (-0.12, 0.05, 0.0), "thigh": (0.0, -0.22, 0.08), "shank": (0.02, -0.15, 0.05),
         "foot": (0.08, 0.05, 0.0)}  # sensor sites in the segment frame (right side; left: z negated)


@dataclass
class Poses:
    t: np.ndarray  # (N,) s
    rot: dict  # segment -> (N, 3, 3)
    pos: dict  # segment -> (N, 3) sensor site positions, m
    angles: dict  # joint -> (N, 3) deg
    stand_s: float


def _ease(s):
    s = np.clip(s, 0.0, 1.0)
    return s * s * s * (s * (6.0 * s - 15.0) + 10.0)


def _periodic(points) -> CubicSpline:
    x, y = np.array(points, float).T
    return CubicSpline(x / 100.0, y, bc_type="periodic")


def standing_then_walking(seed: int, activity: str = "walking", stand_s: float = 2.0, walk_s: float = 8.0,
                          blend_s: float = 1.0, end_stand_s: float = 0.0, treadmill: bool = False,
                          turn_deg: float = 0.0) -> Poses:
    """Segment poses and sensor-site positions: standing, a smooth start, walking (or running).

    ``seed`` varies the cadence, speed and curve amplitudes by a few per cent and the
    frontal/transverse motion; ``end_stand_s > 0`` adds a smooth stop and standing;
    ``treadmill`` keeps the body in place (the belt carries the ground, not the walker);
    ``turn_deg`` turns the walker to its left by that much about the vertical while it
    starts (over ``blend_s``), walking along its heading.
    """
    rng = np.random.default_rng(seed)
    g = GAIT[activity]
    freq = g["freq"] * rng.uniform(0.9, 1.1)
    speed = g["speed"] * rng.uniform(0.85, 1.15)
    n = int(round((stand_s + walk_s + end_stand_s) * FS_INTERNAL))
    t = np.arange(n) / FS_INTERNAL
    s = _ease((t - stand_s) / blend_s)  # (N,) 0 standing -> 1 walking
    if end_stand_s > 0:
        s = s * _ease((stand_s + walk_s - t) / blend_s)
    v = speed * s
    x = np.zeros_like(v) if treadmill else np.cumsum(v) / FS_INTERNAL
    phase = np.cumsum(freq * np.clip(s * 4.0, 0.0, 1.0)) / FS_INTERNAL  # cycles; cadence starts with the motion
    amp = {k: rng.uniform(0.9, 1.1) for k in ("hip", "knee", "ankle")}
    fr = rng.uniform(0.6, 1.4, size=6)  # frontal/transverse amplitude factors
    ph = rng.uniform(-0.05, 0.05, size=6)
    rot, pos, angles = {}, {}, {}
    pelvis_deg = np.stack([2.0 * fr[0] * np.sin(4 * np.pi * (phase + ph[0])),  # tilt (about z)
                           4.0 * fr[1] * np.sin(2 * np.pi * (phase + ph[1])),  # obliquity (about x)
                           5.0 * fr[2] * np.sin(2 * np.pi * (phase + ph[2]))], axis=1) * s[:, None]
    r_pelvis = Rotation.from_euler("YXZ", pelvis_deg[:, [2, 1, 0]], degrees=True).as_matrix()  # (N, 3, 3)
    p_pelvis = np.stack([x, 0.95 + g["bob"] * s * np.sin(4 * np.pi * phase), 0.02 * s * np.sin(2 * np.pi * phase)],
                        axis=1)
    rot["pelvis"] = r_pelvis
    pos["pelvis"] = p_pelvis + np.einsum("nij,j->ni", r_pelvis, SITES["pelvis"])
    curves = {k: _periodic(v_) for k, v_ in CURVES[activity].items()}
    for side, off, zs in (("right", 0.0, 1.0), ("left", 0.5, -1.0)):
        p_side = np.mod(phase + off, 1.0)
        ang = {}
        for j in ("hip", "knee", "ankle"):
            flex = amp[j] * curves[j](p_side)
            k = {"hip": 3, "knee": 4, "ankle": 5}[j]
            add = 4.0 * fr[k] * np.sin(2 * np.pi * (p_side + ph[k]))
            irot = 5.0 * fr[k] * np.sin(2 * np.pi * (p_side + 0.25 + ph[k]))
            ang[j] = np.stack([flex, add, irot], axis=1) * s[:, None]
            angles[("r" if side == "right" else "l") + j] = ang[j]
        r_thigh = r_pelvis @ angles_to_relative_rotation(ang["hip"], "hip", side)
        r_shank = r_thigh @ angles_to_relative_rotation(ang["knee"], "knee", side)
        r_foot = r_shank @ angles_to_relative_rotation(ang["ankle"], "ankle", side)
        hip = p_pelvis + np.einsum("nij,j->ni", r_pelvis, (0.0, 0.0, 0.09 * zs))
        knee = hip + np.einsum("nij,j->ni", r_thigh, (0.0, -SEG_LEN["thigh"], 0.0))
        ankle = knee + np.einsum("nij,j->ni", r_shank, (0.0, -SEG_LEN["shank"], 0.0))
        pre = "r" if side == "right" else "l"
        for seg, r, origin in (("thigh", r_thigh, hip), ("shank", r_shank, knee), ("foot", r_foot, ankle)):
            site = np.array(SITES[seg]) * np.array([1.0, 1.0, zs])
            rot[pre + seg] = r
            pos[pre + seg] = origin + np.einsum("nij,j->ni", r, site)
    if turn_deg:  # the straight walk above turned about the vertical (y), the path along the heading
        psi = np.radians(turn_deg) * _ease((t - stand_s) / blend_s)  # (N,)
        r_yaw = Rotation.from_rotvec(np.outer(psi, [0.0, 1.0, 0.0])).as_matrix()  # (N, 3, 3)
        path = np.cumsum(v[:, None] * r_yaw[:, :, 0], axis=0) / FS_INTERNAL  # (N, 3)
        along = np.stack([x, np.zeros_like(x), np.zeros_like(x)], axis=1)  # where the straight walk was
        rot = {k: r_yaw @ r for k, r in rot.items()}
        pos = {k: path + np.einsum("nij,nj->ni", r_yaw, p - along) for k, p in pos.items()}
    return Poses(t=t, rot={k: rot[k] for k in SEGMENTS}, pos={k: pos[k] for k in SEGMENTS}, angles=angles,
                 stand_s=stand_s)


def mounted_imu(poses: Poses, seg: str, r_mount: np.ndarray, fs: float, noise: bool = True,
                rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sensor signals (acc, gyr), (M, 3) each at ``fs``, for a sensor mounted with ``r_mount``.

    ``R_sensor = R_segment @ r_mount`` (so ``v_segment = r_mount @ v_sensor``).
    """
    t_out = np.arange(int(np.floor(poses.t[-1] * fs)) + 1) / fs
    acc, gyr = ideal_imu(poses.t, poses.rot[seg] @ r_mount, poses.pos[seg], t_out)
    if noise:
        rng = rng or np.random.default_rng(0)
        acc = acc + rng.normal(0, 1.5e-3 * np.sqrt(fs), acc.shape) + rng.normal(0, 0.05, 3)
        gyr = gyr + rng.normal(0, np.deg2rad(0.01) * np.sqrt(fs), gyr.shape) + rng.normal(0, np.deg2rad(0.5), 3)
    return acc, gyr


def write_xsens_txt(path, acc: np.ndarray, gyr: np.ndarray, fs: float, t: np.ndarray | None = None,
                    packet: np.ndarray | None = None) -> None:
    """Write signals as an Xsens MT Manager text export (comment header, tabs, SampleTimeFine in 100 us ticks)."""
    n = len(acc)
    t = np.arange(n) / fs if t is None else t
    ticks = (np.round(t * 1e4).astype(np.int64) + 4_294_000_000) % 2 ** 32  # wraps early, as real devices do
    packet = np.arange(n) if packet is None else packet
    lines = ["// General information:", "//  MT Manager version: 2022.2.0", "// Device information:",
             "//  DeviceId: 00B42D4F", f"// Update Rate: {fs:g}Hz",
             "PacketCounter\tSampleTimeFine\tAcc_X\tAcc_Y\tAcc_Z\tGyr_X\tGyr_Y\tGyr_Z"]
    for k in range(n):
        lines.append(f"{packet[k] % 65536}\t{ticks[k]}\t" + "\t".join(f"{v:.6f}" for v in (*acc[k], *gyr[k])))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_dot_csv(path, acc: np.ndarray, gyr_dps: np.ndarray, fs: float, t: np.ndarray | None = None) -> None:
    """Write signals as a Movella DOT CSV export (preamble lines, SampleTimeFine in microseconds, gyr in deg/s)."""
    n = len(acc)
    t = np.arange(n) / fs if t is None else t
    us = (np.round(t * 1e6).astype(np.int64) + 123_456) % 2 ** 32
    lines = ["DeviceTag: 3", "FirmwareVersion: 2.6.0", f"OutputRate: {fs:g}Hz", "",
             "PacketCounter,SampleTimeFine,Quat_W,Quat_X,Quat_Y,Quat_Z,Acc_X,Acc_Y,Acc_Z,Gyr_X,Gyr_Y,Gyr_Z"]
    for k in range(n):
        lines.append(f"{k},{us[k]},1,0,0,0," + ",".join(f"{v:.6f}" for v in (*acc[k], *gyr_dps[k])))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_apdm_h5(path, sensors: dict, fs: float, early: dict | None = None, t0_us: int = 1_678_974_670_000_000,
                  version: int = 5):
    """Write signals as an APDM Opal ``.h5``. Format version 5: /Sensors/<id>/Accelerometer m/s^2, Gyroscope
    rad/s, Time in microseconds, Configuration attribute "Label 0"; versions 2-4: root attributes CaseIdList and
    MonitorLabelList (fixed-width, NUL-padded strings), /<case id>/Calibrated/Accelerometers and Gyroscopes,
    /<case id>/Time, a SampleRate attribute. ``sensors``: label -> (acc, gyr), (N, 3) each, device ids 1300,
    1301, ... (``SI-001300`` ... before version 5) in that order; ``early``: label -> samples that sensor recorded
    before the others on the shared clock (copies of its first sample)."""
    import h5py

    early = early or {}
    step_us = int(round(1e6 / fs))
    with h5py.File(path, "w") as f:
        f.attrs["FileFormatVersion"] = version
        if version < 5:
            f.attrs["CaseIdList"] = np.array([f"SI-{1300 + i:06d}" for i in range(len(sensors))], dtype="S16")
            f.attrs["MonitorLabelList"] = np.array(list(sensors), dtype="S32")
        for i, (label, (acc, gyr)) in enumerate(sensors.items()):
            k = early.get(label, 0)
            acc, gyr = np.vstack([acc[:1]] * k + [acc]), np.vstack([gyr[:1]] * k + [gyr])
            stamps = (t0_us + step_us * np.arange(-k, len(acc) - k)).astype(np.uint64)
            if version < 5:
                g = f.create_group(f"SI-{1300 + i:06d}")
                g.attrs["SampleRate"] = np.uint16(round(fs))
                g["Calibrated/Accelerometers"], g["Calibrated/Gyroscopes"], g["Time"] = acc, gyr, stamps
                continue
            g = f.create_group(f"Sensors/{1300 + i}")
            g["Accelerometer"], g["Gyroscope"], g["Time"] = acc, gyr, stamps
            g.create_group("Configuration").attrs["Label 0"] = np.bytes_(label)
    return path


def write_shimmer_csv(path, devices: dict, fs: float, sep: str = "\t", t0_ms: float = 1_678_974_670_000.0) -> None:
    """Write signals as a Shimmer Consensys CSV export: a ``"sep="`` line, ``<device>_<signal>_CAL`` columns
    (a text FormattedUnix time, Timestamp_Unix in ms, the low-noise accelerometer clipped at 2 g as the part is,
    the wide-range one, the gyroscope in deg/s), a CAL row and a units row, a trailing delimiter on every row.
    ``devices``: name -> (acc m/s^2, gyr rad/s), (N, 3) each."""
    head, cal, units = [], [], []
    for dev in devices:
        columns = [("TimestampSync_FormattedUnix_CAL", "no units"), ("Timestamp_Unix_CAL", "ms")]
        columns += [(f"Accel_{r}_{a}_CAL", "m/(s^2)") for r in ("LN", "WR") for a in "XYZ"]
        columns += [(f"Gyro_{a}_CAL", "deg/s") for a in "XYZ"]
        for col, unit in columns:
            head.append(f"{dev}_{col}")
            cal.append("CAL")
            units.append(unit)
    rows = [f'"sep={sep}"', sep.join(head) + sep, sep.join(cal) + sep, sep.join(units) + sep]
    n = min(len(a) for a, _ in devices.values())
    for k in range(n):
        cells = []
        for acc, gyr in devices.values():
            ms = t0_ms + 1000.0 * k / fs
            cells += [f"2023/03/16 13:51:{10 + k / fs:06.3f}", f"{ms:.3f}"]
            cells += [f"{v:.6f}" for v in np.clip(acc[k], -2 * G, 2 * G)]
            cells += [f"{v:.6f}" for v in acc[k]] + [f"{v:.6f}" for v in np.rad2deg(gyr[k])]
        rows.append(sep.join(cells) + sep)
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")


def seated_first(acc, gyr, r_mount, pitch_deg, fs, sit_s=2.0, rise_s=1.5):
    """Sensor signals with a seated period and a smooth rise put before them: the segment pitched by
    ``pitch_deg`` about its medio-lateral axis (z) from the standing attitude of the first second.
    Returns (acc, gyr, frames put before)."""
    n_sit, n_rise = int(sit_s * fs), int(rise_s * fs)
    u = np.linspace(0.0, 1.0, n_rise)
    theta = np.radians(pitch_deg) * np.concatenate([np.ones(n_sit), 1 - u ** 3 * (u * (6 * u - 15) + 10)])
    rate = np.gradient(theta) * fs  # (n,) rad/s about the segment's z
    a0 = acc[:int(fs)].mean(axis=0)  # standing specific force, sensor frame
    rz = Rotation.from_rotvec(np.outer(theta, [0.0, 0.0, 1.0])).as_matrix()  # (n, 3, 3) segment turn
    acc_pre = np.einsum("ij,njk,kl,l->ni", r_mount.T, np.transpose(rz, (0, 2, 1)), r_mount, a0)
    gyr_pre = np.outer(rate, r_mount.T[:, 2])  # segment z in sensor coordinates
    return np.concatenate([acc_pre, acc]), np.concatenate([gyr_pre, gyr]), n_sit + n_rise


def write_metamotion(folder, name: str, mac: str, t_acc, acc_g, t_gyr, gyr_dps, signals=("Accelerometer", "Gyroscope")):
    """Write one sensor as MbientLab MetaBase exports: ``<name>_<date>_<MAC>_<Signal>_100.000Hz_1.7.3.csv`` per
    signal, columns ``epoc (ms),timestamp (+0100),elapsed (s),x-axis (g),...`` (the gyroscope in deg/s).
    ``t_acc``/``t_gyr``: each signal's own stamps, s since 1970; ``signals``: which files to write."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for signal, t, xyz, unit in (("Accelerometer", t_acc, acc_g, "g"), ("Gyroscope", t_gyr, gyr_dps, "deg/s")):
        if signal not in signals:
            continue
        rows = [f"epoc (ms),timestamp (+0100),elapsed (s),x-axis ({unit}),y-axis ({unit}),z-axis ({unit})"]
        for tk, v in zip(t, xyz):
            ms = int(round(tk * 1000))
            rows.append(f"{ms},2023-03-16T13.51.{(ms // 1000) % 60:02d}.{ms % 1000:03d},{tk - t[0]:.3f},"
                        f"{v[0]:.6f},{v[1]:.6f},{v[2]:.6f}")
        path = folder / f"{name}_2023-03-16T13.51.10.120_{mac}_{signal}_100.000Hz_1.7.3.csv"
        path.write_text("\n".join(rows) + "\n")


def write_motion_bids(folder, stem: str, sensors: dict, fs: float | None, units=("m/s^2", "rad/s"), latency=None,
                      extra_point: bool = True):
    """Write signals as a Motion-BIDS recording: ``<stem>_motion.tsv`` (no header, ``n/a`` for NaN),
    ``<stem>_channels.tsv`` (name, component, type, tracked_point, units) and ``<stem>_motion.json``
    (SamplingFrequency, left out when ``fs`` is None). ``sensors``: tracked point -> (acc, gyr), (N, 3) each, in
    the given ``units``; ``latency``: (N,) seconds for a LATENCY channel first; ``extra_point``: also a head
    sensor with magnetometer channels only, which a reader must pass over."""
    import json
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows, cols = ["name\tcomponent\ttype\ttracked_point\tunits"], []
    if latency is not None:
        rows.append("latency\tn/a\tLATENCY\tn/a\ts")
        cols.append(np.asarray(latency, float)[:, None])
    for point, (acc, gyr) in sensors.items():
        for kind, x, unit in (("ACCEL", acc, units[0]), ("GYRO", gyr, units[1])):
            rows += [f"{point}_{kind.lower()}_{c}\t{c}\t{kind}\t{point}\t{unit}" for c in "xyz"]
            cols.append(np.asarray(x, float))
    if extra_point:
        n = len(cols[-1])
        rows += [f"head_magn_{c}\t{c}\tMAGN\thead\tT" for c in "xyz"]
        cols.append(np.full((n, 3), 4e-5))
    data = np.hstack(cols)
    (folder / f"{stem}_channels.tsv").write_text("\n".join(rows) + "\n")
    lines = ["\t".join("n/a" if not np.isfinite(v) else f"{v:.9g}" for v in row) for row in data]
    (folder / f"{stem}_motion.tsv").write_text("\n".join(lines) + "\n")
    if fs is not None:
        (folder / f"{stem}_motion.json").write_text(json.dumps({"SamplingFrequency": fs, "TaskName": "walk"}))
    return folder / f"{stem}_motion.tsv"
