"""imukin's joint angles from optical markers against Vicon Plug-in Gait's own angle outputs.

A Plug-in Gait trial carries Vicon's joint angles (``RHipAngles`` ...) next to its markers.
:func:`compare_with_vicon` builds imukin's segment frames from the trial's markers
(:func:`imukin.simulation.markers.trial_frames`), takes imukin's joint angles of them and
scores them against Vicon's per joint, side and axis; :func:`format_vicon_table` prints the
result as a Markdown table.
"""
from __future__ import annotations

import numpy as np

from imukin.conventions import ANGLE_AXES, JOINT_NAMES, SIDES, check_choice, joint_angles, joint_name, joint_segments
from imukin.errors import ImukinError
from imukin.io.c3d import MarkerData
from imukin.simulation.markers import PIG_CLUSTERS, ClusterSet, trial_frames

#: Plug-in Gait angle output names per joint (prefixed with R or L).
VICON_ANGLE_NAMES = {"hip": "HipAngles", "knee": "KneeAngles", "ankle": "AnkleAngles"}


def compare_with_vicon(markers: MarkerData, joints=("hip", "knee", "ankle"), clusters: ClusterSet = PIG_CLUSTERS,
                       cutoff_hz: float | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """imukin's joint angles vs Vicon Plug-in Gait's own angle outputs, per joint, side and axis.

    With the default :data:`~imukin.simulation.markers.PIG_CLUSTERS` both come from the same PiG segments, so the
    comparison isolates the angle conventions (axes, Euler sequence, signs). With a
    ``method="cluster"`` set (e.g. the physical thigh/shank/foot markers) it measures
    the cluster method, offsets from its neutral-posture assumption included.

    Plug-in Gait ankle specifics (measured on a Vicon trial): Vicon's knee uses the tibia
    axis markers (``RTIO...``) as they are, and imukin's knee matches it to 0.01 deg; Vicon's
    ankle uses that tibia turned about its long axis by the tibial torsion, and a
    flexion - rotation - inversion (Z-Y'-X'') sequence about the PiG foot axes (long axis
    toe -> ankle). imukin keeps one convention (untorsioned tibia, Z-X'-Y'' with the foot's
    y perpendicular to the sole), so ankle flexion agrees closely, ankle rotation is offset
    by the torsion (a constant, reported as ``offset_deg``), and the frontal angles differ.

    Parameters
    ----------
    markers : MarkerData
        A Plug-in Gait trial with ``angles`` such as ``RHipAngles`` (columns sagittal,
        frontal, transverse) and the markers ``clusters`` names.
    joints : sequence of {"hip", "knee", "ankle"}
    clusters : ClusterSet
        Segment markers (default :data:`~imukin.simulation.markers.PIG_CLUSTERS`).
    cutoff_hz : float, optional
        Marker low-pass cutoff; default none for PiG axis markers (Vicon's angles come
        from the same unfiltered axes), 8 Hz for clusters (as :func:`~imukin.simulation.markers.markers_to_record`).

    Returns
    -------
    dict
        ``result[joint_name][axis]`` (e.g. ``result["rknee"]["flexion"]``) -> dict with
        ``rmse_deg``, ``offset_deg`` (mean imukin - Vicon), ``rmse_offset_removed_deg``,
        ``r`` (Pearson) and ``n`` (frames compared).
    """
    for j in joints:
        check_choice("joint", j, JOINT_NAMES)
    if cutoff_hz is None:
        cutoff_hz = 0.0 if clusters.method == "pig" else 8.0
    frames, a, b, _, _ = trial_frames(markers, clusters, cutoff_hz, "midstance", 0.1)
    result = {}
    for joint in joints:
        for side in SIDES:
            vicon = markers.angles.get(side[0].upper() + VICON_ANGLE_NAMES[joint])
            prox, dist = joint_segments(joint, side)
            if vicon is None or prox not in frames or dist not in frames:
                continue
            vicon = vicon[a:b]  # (n, 3)
            ours = joint_angles(frames[prox][0], frames[dist][0], joint, side)  # (n, 3)
            ok = np.all(np.isfinite(ours), axis=1) & np.all(np.isfinite(vicon), axis=1)
            if ok.sum() < 3:
                continue
            per_axis = {}
            for k, axis in enumerate(ANGLE_AXES):
                d = ours[ok, k] - vicon[ok, k]
                per_axis[axis] = dict(
                    rmse_deg=float(np.sqrt(np.mean(d ** 2))), offset_deg=float(d.mean()),
                    rmse_offset_removed_deg=float(np.std(d)), r=float(np.corrcoef(ours[ok, k], vicon[ok, k])[0, 1]),
                    n=int(ok.sum()))
            result[joint_name(joint, side)] = per_axis
    if not result:
        raise ImukinError(f"{markers.source or 'the marker data'} has no Vicon angle outputs (RHipAngles, ...) "
                          f"for the joints its segment markers form; nothing to compare")
    return result


def format_vicon_table(result: dict) -> str:
    """Markdown table of :func:`compare_with_vicon`'s result."""
    lines = ["| joint | axis | RMSE (deg) | offset (deg) | RMSE offset removed (deg) | r | frames |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for jn, axes in result.items():
        for axis, m in axes.items():
            lines.append(f"| {jn} | {axis} | {m['rmse_deg']:.2f} | {m['offset_deg']:+.2f} | "
                         f"{m['rmse_offset_removed_deg']:.2f} | {m['r']:.3f} | {m['n']} |")
    return "\n".join(lines)
