"""Reference joint angles from markers: functional axes, IMU-marker lag, known-truth synthetic trials."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imukin.errors import ImukinError
from imukin.evaluation.marker_reference import (
    ReferenceConfig,
    _tracked_angles,
    find_lag,
    functional_axis,
    reference_angles,
    sensor_motion_angles,
    standing_pose_angles,
)
from imukin.evaluation.metrics import sequence_metrics
from imukin.io.c3d import MarkerData
from imukin.preprocessing.synchronize import angular_velocity

FS = 100.0
LOCAL = {  # four markers per cluster, metres in the segment frame (no anatomical meaning)
    "rthigh": np.array([[0.06, -0.10, 0.05], [0.04, -0.20, 0.07], [0.07, -0.15, 0.10], [0.02, -0.12, 0.09]]),
    "rshank": np.array([[0.05, -0.08, 0.04], [0.06, -0.18, 0.06], [0.03, -0.13, 0.09], [0.07, -0.22, 0.08]]),
}
NAMES = {"rthigh": ["RFemur1", "RFemur2", "RFemur3", "RFemur4"], "rshank": ["RTibia1", "RTibia2", "RTibia3", "RTibia4"]}
MAP = {"rthigh": NAMES["rthigh"], "rshank": NAMES["rshank"], "method": "rigid"}


def _truth(n: int, axis=(0.0, 0.0, 1.0)):
    """Thigh swinging about lab z, knee a hinge about ``axis`` (thigh frame): frames, origins, knee flexion."""
    t = np.arange(n) / FS
    phase = 2 * np.pi * (0.8 * t + 0.08 * t ** 2)  # a chirp, so that no lag but the true one fits
    hip = 20 * np.sin(phase) * (1 + 0.3 * np.sin(0.9 * t)) + 5  # deg
    knee = 30 * (1 - np.cos(phase + 0.8)) * (1 + 0.2 * np.cos(1.3 * t))  # >= 0 deg
    r_thigh = Rotation.from_euler("z", hip[:, None], degrees=True)
    ax = np.asarray(axis, float) / np.linalg.norm(axis)
    r_shank = r_thigh * Rotation.from_rotvec(-np.radians(knee)[:, None] * ax)  # knee flexion = -z rotation
    o_thigh = np.stack([1.0 * t, np.full(n, 0.9), np.zeros(n)], axis=1)
    o_shank = o_thigh + r_thigh.apply([0.0, -0.42, 0.0])
    return (r_thigh, o_thigh), (r_shank, o_shank), knee


def _markers(frames) -> MarkerData:
    cols, labels = [], []
    for seg, (rot, origin) in frames.items():
        for k, name in enumerate(NAMES[seg]):
            cols.append(origin + rot.apply(LOCAL[seg][k]))
            labels.append(name)
    return MarkerData(labels=labels, fs=FS, xyz=np.stack(cols, axis=1), source="synthetic")


def test_functional_axis_recovers_a_tilted_hinge():
    axis = np.array([0.15, -0.1, 1.0])
    (rt, _), (rs, _), _ = _truth(400, axis)
    ap, ad, share = functional_axis(rt.as_matrix(), rs.as_matrix(), FS)
    unit = axis / np.linalg.norm(axis)
    assert np.degrees(np.arccos(min(1.0, ap @ unit))) < 0.5 and np.degrees(np.arccos(min(1.0, ad @ unit))) < 0.5
    assert share > 0.99


def test_lag_found_on_shifted_signal():
    n, lag = 600, 0.07  # markers 70 ms behind the IMU
    (rt, ot), (rs, os_), _ = _truth(n + 20)
    gyr = {"rthigh": angular_velocity(rt.as_matrix()[:n], FS), "rshank": angular_velocity(rs.as_matrix()[:n], FS)}
    shift = int(round(lag * FS))
    frames = {"rthigh": np.concatenate([np.full((shift, 3, 3), np.nan), rt.as_matrix()[:n - shift]]),
              "rshank": np.concatenate([np.full((shift, 3, 3), np.nan), rs.as_matrix()[:n - shift]])}
    found, per = find_lag(gyr, FS, frames, FS)
    assert found == pytest.approx(lag, abs=0.003)
    assert set(per) == {"rthigh", "rshank"}


def test_reference_angles_match_the_truth():
    n = 500
    (rt, ot), (rs, os_), knee = _truth(n, axis=(0.12, 0.0, 1.0))
    markers = _markers({"rthigh": (rt, ot), "rshank": (rs, os_)})
    gyr = {"rthigh": angular_velocity(rt.as_matrix(), FS), "rshank": angular_velocity(rs.as_matrix(), FS)}
    ref = reference_angles(markers, gyr, FS, cfg=ReferenceConfig(marker_map=MAP))
    assert abs(ref.lag_s) < 0.003
    ok = ref.valid("rknee")
    assert ok.sum() > 0.9 * n
    truth = np.zeros((n, 3))
    truth[:, 0] = knee
    m = sequence_metrics(ref.angles["rknee"][ok], truth[ok])
    assert m["flexion"]["rmse_offset_removed"] < 0.3 and m["flexion"]["r"] > 0.999
    assert m["adduction"]["rmse_offset_removed"] < 0.5 and m["rotation"]["rmse_offset_removed"] < 0.5
    assert ref.axes["rknee"]["used"]


def test_recordings_that_do_not_overlap_raise():
    n = 400
    (rt, ot), (rs, os_), _ = _truth(n)
    markers = _markers({"rthigh": (rt, ot), "rshank": (rs, os_)})
    gyr = {"rthigh": angular_velocity(rt.as_matrix(), FS), "rshank": angular_velocity(rs.as_matrix(), FS)}
    with pytest.raises(ImukinError, match="overlap") as e:
        reference_angles(markers, gyr, FS, cfg=ReferenceConfig(marker_map=MAP), lag_s=30.0)
    assert "\n" not in str(e.value)


def test_the_hip_keeps_its_own_frame_where_its_rotation_is_not_a_hinge():
    """A hip that turns inwards as it flexes has a dominant rotation tilted from its flexion axis:
    the reference keeps the flexion of the angle convention (the knee alone takes its functional axis)."""
    n = 600
    (rt, ot), (rs, os_), _ = _truth(n)
    hip = rt.as_euler("zyx", degrees=True)[:, 0]
    turn = 0.4 * (hip - hip.mean())  # deg of rotation about the long axis, in phase with flexion
    knee = rt.inv() * rs  # the knee as _truth made it
    rt = rt * Rotation.from_euler("y", turn[:, None], degrees=True)
    rs = rt * knee
    local = {**LOCAL, "pelvis": np.array([[0.1, 0.05, 0.1], [0.1, 0.05, -0.1], [-0.1, 0.08, 0.06],
                                           [-0.1, 0.02, -0.06]])}
    names = {**NAMES, "pelvis": ["Pelvis1", "Pelvis2", "Pelvis3", "Pelvis4"]}
    pelvis = (Rotation.identity(n), ot + [0.0, 0.05, 0.0])
    cols, labels = [], []
    for seg, (rot, origin) in {"pelvis": pelvis, "rthigh": (rt, ot), "rshank": (rs, os_)}.items():
        for k, name in enumerate(names[seg]):
            cols.append(origin + rot.apply(local[seg][k]))
            labels.append(name)
    markers = MarkerData(labels=labels, fs=FS, xyz=np.stack(cols, axis=1), source="synthetic")
    gyr = {s: angular_velocity(r.as_matrix(), FS) for s, r in (("rthigh", rt), ("rshank", rs))}
    mapping = {**MAP, "pelvis": names["pelvis"]}
    ref = reference_angles(markers, gyr, FS, cfg=ReferenceConfig(marker_map=mapping))
    hinge = reference_angles(markers, gyr, FS, cfg=ReferenceConfig(marker_map=mapping,
                                                                    functional_joints=("hip", "knee")))
    assert ref.axes["rhip"]["tilt_from_midstance_z_deg"][1] > 5  # the dominant rotation is tilted
    assert not ref.axes["rhip"]["used"] and hinge.axes["rhip"]["used"]
    ok = ref.valid("rhip") & hinge.valid("rhip")
    truth = hip - hip.mean()
    own = sequence_metrics(ref.angles["rhip"][ok], np.stack([truth, 0 * truth, turn], 1)[ok])["flexion"]
    tilted = sequence_metrics(hinge.angles["rhip"][ok], np.stack([truth, 0 * truth, turn], 1)[ok])["flexion"]
    assert own["rmse_offset_removed"] < 0.5 * tilted["rmse_offset_removed"]


def test_functional_joints_are_checked():
    assert ReferenceConfig(functional_joints="hip").functional_joints == ("hip",)
    with pytest.raises(ImukinError, match="hips"):
        ReferenceConfig(functional_joints=("hips",))


def test_sensor_motion_follows_sensors_on_their_clusters_and_shows_where_they_part():
    """Sensors turned anyhow on their segments: integrating their gyroscopes, turned by the fitted rotation,
    gives back the reference; a shank sensor that turns 10 % more than its cluster (as a heel sensor does
    against a heel-to-forefoot cluster) shows as an error of about 10 % of the knee's swing."""
    n = 500
    (rt, ot), (rs, os_), knee = _truth(n, axis=(0.12, 0.0, 1.0))
    t = np.arange(n) / FS  # the thigh also turns about x and y: a mounting is only found from 3-D rates
    rel = rt.inv() * rs
    rt = rt * Rotation.from_euler("xy", np.stack([6 * np.sin(5.1 * t), 9 * np.sin(3.7 * t + 1)], 1), degrees=True)
    rs = rt * rel
    markers = _markers({"rthigh": (rt, ot), "rshank": (rs, os_)})
    mount = {"rthigh": Rotation.from_euler("xyz", [30, -50, 120], degrees=True),
             "rshank": Rotation.from_euler("xyz", [-80, 10, 45], degrees=True)}  # v_segment = mount v_sensor
    gyr = {s: mount[s].inv().apply(angular_velocity(r.as_matrix(), FS)) for s, r in (("rthigh", rt), ("rshank", rs))}
    ref = reference_angles(markers, gyr, FS, cfg=ReferenceConfig(marker_map=MAP))
    bias = np.array([0.02, -0.03, 0.01])  # rad/s, seen alone over the first 50 samples below
    biased = {**gyr, "rshank": gyr["rshank"] + bias}
    biased["rshank"][:50] = bias  # a "standing" stretch: only the bias
    biased["rthigh"] = gyr["rthigh"].copy()
    biased["rthigh"][:50] = 0.0
    late = MarkerData(labels=markers.labels, fs=FS, xyz=markers.xyz.copy(), source="synthetic")
    late.xyz[:60] = np.nan  # the markers see the motion only after it
    ref_late = reference_angles(late, biased, FS, cfg=ReferenceConfig(marker_map=MAP))
    for r, g, still in ((ref, gyr, None), (ref_late, biased, (0, 50))):
        sm = sensor_motion_angles(r, g, still=still)
        ok = r.valid("rknee") & np.all(np.isfinite(sm["rknee"]), axis=1)
        assert ok.sum() > 0.7 * n
        m = sequence_metrics(sm["rknee"][ok], r.angles["rknee"][ok])
        assert m["flexion"]["rmse_offset_removed"] < 0.3 and m["adduction"]["rmse_offset_removed"] < 0.3
    drift = sensor_motion_angles(ref_late, biased)["rknee"]  # the bias left in drifts
    ok = ref_late.valid("rknee") & np.all(np.isfinite(drift), axis=1)
    assert sequence_metrics(drift[ok], ref_late.angles["rknee"][ok])["flexion"]["rmse_offset_removed"] > 1.0
    more = {**gyr, "rshank": 1.1 * gyr["rshank"]}
    sm = sensor_motion_angles(ref, more)
    ok = ref.valid("rknee") & np.all(np.isfinite(sm["rknee"]), axis=1)
    err = sequence_metrics(sm["rknee"][ok], ref.angles["rknee"][ok])["flexion"]["rmse_offset_removed"]
    assert err > 0.05 * np.std(knee)


@pytest.mark.filterwarnings("ignore:Optimal rotation")  # the whole trial's rate fit sees the still start
def test_standing_pose_is_carried_back_from_markers_seen_only_later():
    """A leg that stands still (knee bent 8 deg, a gyroscope bias only), then walks, seen by the markers only
    once it walks: the reference's angles in that standing come back from the sensors within 0.3 deg, and
    the reference less them is the angle since the standing."""
    n, stand = 600, 100
    (rt, ot), (rs, os_), _ = _truth(n, axis=(0.12, 0.0, 1.0))
    t = np.arange(n) / FS
    env = np.clip((t - stand / FS) / 0.5, 0.0, 1.0)[:, None]  # still, then the motion fades in over 0.5 s
    hip = Rotation.from_rotvec(env * rt.as_rotvec())
    knee = Rotation.from_rotvec(env * (rt.inv() * rs).as_rotvec() + (1 - env) * [0.0, 0.0, -np.radians(8.0)])
    rt, rs = hip, hip * knee
    mount = {"rthigh": Rotation.from_euler("xyz", [30, -50, 120], degrees=True),
             "rshank": Rotation.from_euler("xyz", [-80, 10, 45], degrees=True)}  # v_segment = mount v_sensor
    bias = {"rthigh": np.array([0.01, -0.02, 0.015]), "rshank": np.array([-0.02, 0.01, 0.02])}  # rad/s
    gyr = {s: mount[s].inv().apply(angular_velocity(r.as_matrix(), FS)) + bias[s]
           for s, r in (("rthigh", rt), ("rshank", rs))}
    full = _markers({"rthigh": (rt, ot), "rshank": (rs, os_)})
    late = MarkerData(labels=full.labels, fs=FS, xyz=full.xyz.copy(), source="synthetic")
    late.xyz[:stand + 80] = np.nan  # the markers see the walking only
    cfg = ReferenceConfig(marker_map=MAP)
    ref_full, ref_late = (reference_angles(m, gyr, FS, cfg=cfg) for m in (full, late))
    # what the later reference would read in the standing: its frames, which differ from those of the whole
    # trial's reference by one turn per segment (the neutral posture is taken from what is seen)
    seen = np.flatnonzero(np.all(np.isfinite(ref_late.frames["rshank"]), axis=(1, 2)))[10]
    frames = {s: ref_full.frames[s] @ (np.swapaxes(ref_full.frames[s][seen], 0, 1) @ ref_late.frames[s][seen])
              for s in ("rthigh", "rshank")}
    expected = _tracked_angles(ref_late, frames, n)["rknee"]
    assert np.allclose(expected[ref_late.valid("rknee")], ref_late.angles["rknee"][ref_late.valid("rknee")], atol=0.2)
    pose = standing_pose_angles(ref_late, gyr, still=(0, stand))
    assert pose.still == (0, stand) and set(pose.fit_residual_deg) == {"rthigh", "rshank"}
    assert max(pose.fit_residual_deg.values()) < 0.3
    assert not ref_late.valid("rknee")[:stand].any()
    assert np.allclose(pose.angles["rknee"], expected[5:stand - 5].mean(axis=0), atol=0.3)
    walk = ref_late.angles["rknee"][ref_late.valid("rknee"), 0]
    assert walk.min() - pose.angles["rknee"][0] < -3  # the standing is not a pose the walk passes through
    with pytest.raises(ImukinError, match="standing period"):
        standing_pose_angles(ref_late, gyr, still=(0, n + 1))
