"""OpenSim inverse-kinematics results (``.mot``) -> lower-limb kinematics -> simulated IMUs.

Coordinates used (gait2392 / Rajagopal 2016 names; degrees unless the header says
``inDegrees=no``; translations in metres): ``pelvis_tilt pelvis_list pelvis_rotation
pelvis_tx pelvis_ty pelvis_tz`` and per side ``hip_flexion_r hip_adduction_r
hip_rotation_r knee_angle_r ankle_angle_r`` (``subtalar_angle_r`` when present, else 0),
``_l`` likewise. OpenSim 4 column labels such as ``/jointset/hip_r/hip_flexion_r/value``
are accepted too. Other columns (lumbar, mtp, arms) are ignored.

The generic lower-limb model
----------------------------
OpenSim's ground and body frames are x anterior, y up, z right for both legs, the same
as imukin's segment frames, so at zero coordinates every segment frame is the lab frame.
Rotations of the ``CustomJoint``\\ s are body-fixed sequences about their axes:

=============  ====================================================================
pelvis         ``R = Rz(tilt) Rx(list) Ry(rotation)`` in the ground frame; the origin
               is at ``(pelvis_tx, pelvis_ty, pelvis_tz)``
hip            ``R_thigh = R_pelvis Rz(flexion) Rx(+-adduction) Ry(+-rotation)`` (left
               axes x and y negated): exactly :func:`imukin.conventions.angles_to_relative_rotation`
               of ``[hip_flexion, hip_adduction, hip_rotation]``, so imukin hip angles equal
               the OpenSim hip coordinates
knee           a hinge about the thigh's z axis; gait2392's ``knee_angle`` is negative in
               flexion (``R_shank = R_thigh Rz(knee_angle)``), Rajagopal's positive
               (``Rz(-knee_angle)``); ``model="auto"`` takes the convention in which the
               trial's median knee angle is flexion (positive flexion). imukin knee
               flexion = -knee_angle (gait2392) or knee_angle (Rajagopal); knee adduction and
               rotation are zero (the coupled knee motions of either model are left out)
ankle          ``R_foot = R_shank Rot(a_ankle, ankle_angle) Rot(a_subtalar, subtalar_angle)``
               with gait2392's oblique talocrural and subtalar axes (Inman 1976), mirrored
               for the left leg (:data:`ANKLE_AXIS`, :data:`SUBTALAR_AXIS`); imukin ankle
               angles come from the resulting foot orientation, so dorsiflexion and
               inversion are close to, not equal to, ``ankle_angle`` and ``subtalar_angle``
=============  ====================================================================

Joint centres: the hip centres lie :data:`HIP_IN_PELVIS_PER_HEIGHT` of the height from
the OpenSim pelvis origin (gait2392's ``(-0.0707, -0.0661, +-0.0835)`` m for its 1.80 m
model), except that their separation is imukin's ``pelvis_width`` (0.095 H); knee
``thigh_length`` (0.245 H) below the hip centre and ankle ``shank_length`` (0.246 H)
below the knee along the segments' y axes; the subtalar axis passes through the ankle
centre. ``H`` is ``SourceConfig.height_m`` (OpenSim IK files do not carry it).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from imukin.conventions import (
    SIDES,
    angles_to_relative_rotation,
    relative_rotation_to_angles,
    segment_name,
    subject_id,
    zxy_angles,
)
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.opensim import read_storage, write_storage
from imukin.simulation.gait import Kinematics
from imukin.sources.motion import (
    SourceConfig,
    anthropometric_subject,
    expand_paths,
    kinematics_to_record,
    poses_to_kinematics,
    sample_kinematics,
    source_subject_name,
)

MODELS = ("auto", "gait2392", "rajagopal")
#: Sign of imukin knee flexion per unit of OpenSim ``knee_angle``.
KNEE_FLEXION_SIGN = {"gait2392": -1.0, "rajagopal": 1.0}
#: Talocrural (ankle) axis in the shank frame, gait2392.
ANKLE_AXIS = {"right": np.array([-0.10501355, -0.17402245, 0.97912632]),
              "left": np.array([0.10501355, 0.17402245, 0.97912632])}
#: Subtalar axis in the talus (= shank at zero ankle angle) frame, gait2392.
SUBTALAR_AXIS = {"right": np.array([0.78717961, 0.60474746, -0.12094949]),
                 "left": np.array([-0.78717961, -0.60474746, -0.12094949])}
#: Midpoint of the hip centres from the OpenSim pelvis origin, per unit height (pelvis frame).
HIP_IN_PELVIS_PER_HEIGHT = np.array([-0.0707, -0.0661, 0.0]) / 1.80
PELVIS_COORDS = ("pelvis_tilt", "pelvis_list", "pelvis_rotation", "pelvis_tx", "pelvis_ty", "pelvis_tz")
LEG_COORDS = ("hip_flexion", "hip_adduction", "hip_rotation", "knee_angle", "ankle_angle")
OPTIONAL_COORDS = ("subtalar_angle",)
_SUFFIX = {"right": "r", "left": "l"}


def coordinate_names() -> list[str]:
    """Every coordinate the reader uses (optional subtalar included), in writing order."""
    out = list(PELVIS_COORDS)
    for side in SIDES:
        out += [f"{c}_{_SUFFIX[side]}" for c in LEG_COORDS + OPTIONAL_COORDS]
    return out


def _clean(name: str) -> str:
    """``/jointset/hip_r/hip_flexion_r/value`` -> ``hip_flexion_r``."""
    parts = [p for p in name.strip().split("/") if p]
    if len(parts) >= 2 and parts[-1] == "value":
        return parts[-2]
    return parts[-1] if parts else name


def read_ik(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Times (N,) and coordinates (degrees for rotations, metres for translations) of a ``.mot``.

    Raises
    ------
    ImukinError
        Missing time column or coordinates (all named), non-finite values.
    """
    path = Path(path)
    names, data, header = read_storage(path)
    cols = {_clean(n): k for k, n in enumerate(names)}
    if "time" not in cols:
        raise ImukinError(f"{path.name} has no 'time' column; pass an OpenSim IK result (.mot)")
    need = [c for c in coordinate_names() if not c.startswith(OPTIONAL_COORDS)]
    missing = [c for c in need if c not in cols]
    if missing:
        raise ImukinError(f"{path.name} lacks coordinate(s) {', '.join(missing)}; imukin reads gait2392/Rajagopal "
                          f"IK results (pelvis_tilt ... pelvis_tz, hip_flexion_r ... ankle_angle_r, left likewise)")
    if len(data) < 2:
        raise ImukinError(f"{path.name} has {len(data)} data row(s); an IK result needs many frames")
    coords = {}
    for c in coordinate_names():
        if c in cols:
            v = data[:, cols[c]].astype(float)
        else:
            v = np.zeros(len(data))
        if not c.endswith(("_tx", "_ty", "_tz")) and not header["inDegrees"]:
            v = np.rad2deg(v)
        coords[c] = v
    t = data[:, cols["time"]]
    bad = ~np.all(np.isfinite(np.column_stack(list(coords.values()) + [t])), axis=1)
    if bad.any():
        k = np.flatnonzero(bad)
        raise ImukinError(f"{path.name}: NaN or inf in rows {k[0] + 1}-{k[-1] + 1}; cut those rows")
    return t, coords


def knee_convention(coords: dict[str, np.ndarray], model: str = "auto") -> str:
    """``"gait2392"`` (knee_angle negative in flexion) or ``"rajagopal"`` (positive)."""
    if model not in MODELS:
        raise ImukinError(f"unknown OpenSim model {model!r}; choose one of: {', '.join(MODELS)}")
    if model != "auto":
        return model
    knees = np.concatenate([coords["knee_angle_r"], coords["knee_angle_l"]])
    return "gait2392" if float(np.median(knees)) < 0 else "rajagopal"


def _axis_rotation(axis: np.ndarray, angle_deg: np.ndarray) -> np.ndarray:
    """(N,) angles about a unit axis -> (N, 3, 3)."""
    a = axis / np.linalg.norm(axis)
    return Rotation.from_rotvec(np.deg2rad(angle_deg)[:, None] * a).as_matrix()


def ik_kinematics(t: np.ndarray, coords: dict[str, np.ndarray], cfg: SourceConfig | None = None,
                  model: str = "auto", where: str = "IK result") -> Kinematics:
    """Lower-limb :class:`Kinematics` from OpenSim coordinates (module docstring)."""
    cfg = cfg or SourceConfig()
    model = knee_convention(coords, model)
    subject = anthropometric_subject(cfg.height_m, None, cfg.mass_kg)
    h = cfg.height_m
    r_p = Rotation.from_euler("ZXY", np.column_stack([coords[c] for c in PELVIS_COORDS[:3]]),
                              degrees=True).as_matrix()  # (N, 3, 3) intrinsic z, x', y''
    origin = np.column_stack([coords[c] for c in PELVIS_COORDS[3:]])  # (N, 3) OpenSim pelvis origin
    rot = {"pelvis": r_p}
    pos = {"pelvis": origin + r_p @ (HIP_IN_PELVIS_PER_HEIGHT * h)}
    for side in SIDES:
        s = _SUFFIX[side]
        th, sh, ft = (segment_name(x, side) for x in ("thigh", "shank", "foot"))
        hip = np.column_stack([coords[f"hip_flexion_{s}"], coords[f"hip_adduction_{s}"], coords[f"hip_rotation_{s}"]])
        rot[th] = r_p @ angles_to_relative_rotation(hip, "hip", side)
        flex = KNEE_FLEXION_SIGN[model] * coords[f"knee_angle_{s}"]
        rot[sh] = rot[th] @ angles_to_relative_rotation(np.column_stack([flex, 0 * flex, 0 * flex]), "knee", side)
        rot[ft] = (rot[sh] @ _axis_rotation(ANKLE_AXIS[side], coords[f"ankle_angle_{s}"])
                   @ _axis_rotation(SUBTALAR_AXIS[side], coords[f"subtalar_angle_{s}"]))
        zs = 1.0 if side == "right" else -1.0
        pos[th] = pos["pelvis"] + r_p @ np.array([0.0, 0.0, zs * 0.5 * subject.pelvis_width_m])
        pos[sh] = pos[th] + rot[th] @ np.array([0.0, -subject.thigh_length_m, 0.0])
        pos[ft] = pos[sh] + rot[sh] @ np.array([0.0, -subject.shank_length_m, 0.0])
    return poses_to_kinematics(t, rot, pos, subject, cfg, where=where)


def opensim_ik_record(path: str | os.PathLike, subject_id: str = "s0000", cfg: SourceConfig | None = None,
                      model: str = "auto", index: int = 0) -> SubjectRecord:
    """Simulate one subject's IMUs and joint angles from an OpenSim IK ``.mot`` file.

    Parameters
    ----------
    path : path-like
        The IK result.
    subject_id : str
        ``s<id>`` group name of the result.
    cfg : SourceConfig, optional
        ``height_m`` scales the generic model.
    model : {"auto", "gait2392", "rajagopal"}
        Knee-angle sign convention (module docstring).
    index : int
        Seeds the sensor-error draws.
    """
    cfg = cfg or SourceConfig()
    path = Path(path)
    t, coords = read_ik(path)
    conv = knee_convention(coords, model)
    kin = ik_kinematics(t, coords, cfg, conv, where=path.name)
    return kinematics_to_record(kin, subject_id, cfg, index, None, attrs=dict(
        source="opensim_ik", source_file=str(path), source_subject=source_subject_name(path),
        source_clip=path.stem, fs_source=float(1.0 / np.median(np.diff(t))), opensim_model=conv))


def iter_opensim_records(paths, cfg: SourceConfig | None = None, model: str = "auto",
                         first_index: int = 0) -> Iterator[SubjectRecord]:
    """One record per ``.mot`` file (folders searched recursively)."""
    for k, p in enumerate(expand_paths(paths, (".mot", ".sto"))):
        i = first_index + k
        yield opensim_ik_record(p, subject_id(i), cfg, model, index=i)


# ---------------------------------------------------------------- writer
def _fit_ankle(r_rel: np.ndarray, side: str, iters: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Ankle and subtalar angles (deg, (N,) each) whose rotation is closest to ``r_rel`` (N, 3, 3).

    Gauss-Newton on the rotation-vector residual ``log((Ra Rs)^T R)``; exact when ``r_rel``
    is reachable by the two axes.
    """
    ea, es = (v / np.linalg.norm(v) for v in (ANKLE_AXIS[side], SUBTALAR_AXIS[side]))
    a = np.deg2rad(relative_rotation_to_angles(r_rel, "ankle", side)[:, 0])  # start: dorsiflexion
    b = np.zeros_like(a)
    for _ in range(iters):
        ra = Rotation.from_rotvec(a[:, None] * ea)
        rs = Rotation.from_rotvec(b[:, None] * es)
        resid = ((ra * rs).inv() * Rotation.from_matrix(r_rel)).as_rotvec()  # (N, 3) body frame
        ja = rs.inv().apply(ea)  # (N, 3) d/da in the body frame
        jac = np.stack([ja, np.broadcast_to(es, ja.shape)], axis=2)  # (N, 3, 2)
        jtj = np.einsum("nki,nkj->nij", jac, jac)  # (N, 2, 2)
        step = np.linalg.solve(jtj, np.einsum("nki,nk->ni", jac, resid)[..., None])[..., 0]  # (N, 2)
        a, b = a + step[:, 0], b + step[:, 1]
        if np.max(np.abs(step)) < 1e-12:
            break
    return np.rad2deg(a), np.rad2deg(b)


def kinematics_to_coordinates(kin: Kinematics, fs: float | None = None,
                              model: str = "gait2392") -> tuple[list[str], np.ndarray]:
    """OpenSim coordinates of ``kin`` for the generic model: ``(names, (N, C) data)``, time first.

    The inverse of :func:`ik_kinematics` for motions the model can make: pelvis and hips
    are exact; the knee keeps its flexion (adduction and rotation are dropped); ankle and
    subtalar angles are the least-squares fit of the foot's orientation on the shank.
    ``kin.subject.height_m`` places the OpenSim pelvis origin.
    """
    if model not in KNEE_FLEXION_SIGN:
        raise ImukinError(f"unknown OpenSim model {model!r}; choose gait2392 or rajagopal")
    t, rot, pos = sample_kinematics(kin, fs)
    h = kin.subject.height_m
    r_p = rot["pelvis"]
    cols = {}
    eul = zxy_angles(r_p)  # (N, 3) deg
    for k, c in enumerate(PELVIS_COORDS[:3]):
        cols[c] = eul[:, k]
    origin = pos["pelvis"] - r_p @ (HIP_IN_PELVIS_PER_HEIGHT * h)
    for k, c in enumerate(PELVIS_COORDS[3:]):
        cols[c] = origin[:, k]
    for side in SIDES:
        s = _SUFFIX[side]
        th, sh, ft = (segment_name(x, side) for x in ("thigh", "shank", "foot"))
        hip = relative_rotation_to_angles(np.swapaxes(r_p, 1, 2) @ rot[th], "hip", side)
        cols[f"hip_flexion_{s}"], cols[f"hip_adduction_{s}"], cols[f"hip_rotation_{s}"] = hip.T
        knee = relative_rotation_to_angles(np.swapaxes(rot[th], 1, 2) @ rot[sh], "knee", side)
        cols[f"knee_angle_{s}"] = knee[:, 0] / KNEE_FLEXION_SIGN[model]
        cols[f"ankle_angle_{s}"], cols[f"subtalar_angle_{s}"] = _fit_ankle(np.swapaxes(rot[sh], 1, 2) @ rot[ft], side)
    names = ["time"] + coordinate_names()
    return names, np.column_stack([t] + [cols[c] for c in names[1:]])


def write_opensim_mot(path: str | os.PathLike, kin: Kinematics, fs: float | None = None,
                      model: str = "gait2392") -> Path:
    """Export ``kin`` as an OpenSim IK ``.mot`` (degrees) for the generic model, atomically.

    Columns: ``time``, then :func:`coordinate_names`; see :func:`kinematics_to_coordinates`.
    """
    names, data = kinematics_to_coordinates(kin, fs, model)
    write_storage(path, names, data, in_degrees=True, name=f"Coordinates ({model}, imukin export)")
    return Path(path)

