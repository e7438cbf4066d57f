"""Tests for imukin.simulation.markers on real Vicon walking trials (tests/data/real, see NOTICE.md)."""
import numpy as np
import pytest

from imukin.conventions import JOINTS, SEGMENTS, G
from imukin.errors import ImukinError
from imukin.io.c3d import read_c3d
from imukin.simulation.markers import (
    OPENSIM_CLUSTERS,
    PIG_CLUSTERS,
    ClusterSet,
    fill_gaps,
    markers_to_record,
    segment_frames,
)

WALKING2 = "real/opensim-core/walking2.c3d"
WALK = "real/kineticstoolkit/walk.c3d"

@pytest.fixture(scope="module")
def walking2(request):
    from tests.conftest import DATA

    return read_c3d(DATA / WALKING2)


@pytest.fixture(scope="module")
def walk():
    from tests.conftest import DATA

    return read_c3d(DATA / WALK)


@pytest.fixture(scope="module", params=["walking2-cluster", "walk-pig"])
def record(request, walking2, walk):
    markers, clusters = (walking2, OPENSIM_CLUSTERS) if request.param == "walking2-cluster" else (walk, PIG_CLUSTERS)
    return markers_to_record(markers, clusters, fs_out=200.0)


def test_record_layout(record):
    record.validate()
    assert record.fs == 200.0 and set(record.acc) == set(SEGMENTS) and set(record.angle) == set(JOINTS)
    assert record.attrs["cutoff_hz"] == 8.0 and record.attrs["fs_markers"] in (100.0, 250.0)
    fs_m = record.attrs["fs_markers"]
    a, b = (int(x) for x in record.attrs["frames"].split("-"))
    assert abs(record.n_frames / record.fs - (b - a) / fs_m) < 1.5 / record.fs  # same span, resampled


def test_walking_angle_ranges(record):
    # walk.c3d's left knee flexes only 12-55 deg (Vicon's own LKneeAngles ROM is 43.0 deg): 40 there
    knee_min = {"r": 45, "l": 40 if "walk.c3d" in record.attrs["source"] else 45}
    for side in ("r", "l"):
        knee, hip = record.angle[side + "knee"][:, 0], record.angle[side + "hip"][:, 0]
        assert knee_min[side] < np.ptp(knee) < 75, (side, np.ptp(knee))
        assert 30 < np.ptp(hip) < 55, (side, np.ptp(hip))
        assert np.argmax(knee) != 0  # swing peak inside the trial, not an edge artefact
        assert np.all(np.ptp(record.angle[side + "knee"][:, 1:], axis=0) < 25)  # frontal/transverse stay small


def test_simulated_imu_magnitudes(record):
    acc_pelvis = np.linalg.norm(record.acc["pelvis"], axis=1)
    assert 8.5 < acc_pelvis.mean() < 11.0
    for thigh in ("rthigh", "lthigh"):
        assert 2.0 < np.linalg.norm(record.gyr[thigh], axis=1).max() < 8.0
    assert np.linalg.norm(record.gyr["pelvis"], axis=1).max() < 2.0


def test_static_instant_reads_plus_g_up(record):
    """Foot flat in mid-stance: the accelerometer's up axis reads +9.81 (the reference's sign defect read -9.81)."""
    for foot in ("rfoot", "lfoot"):
        gyr = np.linalg.norm(record.gyr[foot], axis=1)
        d = np.diff(np.concatenate([[0], (gyr < 0.5).astype(int), [0]]))
        s, e = max(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)), key=lambda r: r[1] - r[0])
        assert (e - s) / record.fs > 0.1  # a real foot-flat period
        k = (s + e) // 2  # middle of the longest still period: the foot is near-static
        acc = record.acc[foot][k]
        assert acc[1] > 9.0 and abs(np.linalg.norm(acc) - G) < 0.6  # sensor y (up when flat) reads +g
        up_lab = record.rmat[foot][k] @ acc  # specific force back in the lab: (0, +9.81, 0)
        assert np.allclose(up_lab, [0.0, G, 0.0], atol=0.6), up_lab


def test_segment_frames_follow_conventions(walking2, walk):
    info = {}
    frames = segment_frames(walking2, OPENSIM_CLUSTERS, info=info)
    for seg, (rot, _origin) in frames.items():
        ref = info["reference_frame"][seg]
        if ref != "mean":
            assert np.allclose(rot[ref], np.eye(3), atol=1e-9)  # neutral (= lab) at the reference instant
        ok = np.isfinite(rot[:, 0, 0])
        assert np.allclose(np.linalg.det(rot[ok]), 1.0)
        assert np.nanmean(rot[:, 1, 1]) > 0.8  # y stays roughly up during walking
    pig = segment_frames(walk, PIG_CLUSTERS)
    for seg, (rot, _origin) in pig.items():
        assert np.mean(rot[:, 2, 2]) > 0.9, seg  # z to the subject's right (+Z lab) on both sides
        assert np.mean(rot[:, 1, 1]) > 0.8 and np.mean(rot[:, 0, 0]) > 0.8, seg
    # the PiG "L" marker points to the subject's left on both sides: z = -(L - O)
    for side in "RL":
        lo = walk.marker(f"{side}FEL") - walk.marker(f"{side}FEO")
        z = pig[side.lower() + "thigh"][0][:, :, 2]
        assert np.all(np.sum(z * lo, axis=1) < 0)


def test_fill_short_gap_close_to_original(walking2):
    x = walking2.marker("RTH2").copy()
    holed = x.copy()
    holed[600:611] = np.nan  # 11 frames = 0.044 s
    filled = fill_gaps(holed, walking2.fs, "RTH2")
    assert np.all(np.isfinite(filled[600:611]))
    assert np.max(np.abs(filled[600:611] - x[600:611])) < 0.003  # within 3 mm of the real trajectory
    assert np.isnan(filled[0]).all()  # leading frames (marker not yet seen) are not invented


def test_long_gap_raises_with_frame_range(walking2):
    m = walking2.subset(walking2.labels)
    m.xyz[600:700, m.labels.index("RTH2")] = np.nan
    with pytest.raises(ImukinError, match=r"marker RTH2 is missing in frames 600-699 \(0\.40 s\).*0\.10 s"):
        markers_to_record(m, OPENSIM_CLUSTERS)
    short = walking2.subset(walking2.labels)
    short.xyz[600:610, short.labels.index("RTH2")] = np.nan  # 0.04 s: filled
    rec = markers_to_record(short, OPENSIM_CLUSTERS)
    assert np.all(np.isfinite(rec.angle["rhip"]))


def test_missing_marker_named(walking2):
    m = walking2.subset([n for n in walking2.labels if n != "RTH2"])
    with pytest.raises(ImukinError, match="rthigh needs marker.*RTH2"):
        markers_to_record(m, OPENSIM_CLUSTERS)
    with pytest.raises(ImukinError, match="rthigh needs marker.*RTH2"):
        segment_frames(m, OPENSIM_CLUSTERS)


def test_one_leg_trial_and_no_joint(walking2):
    left_leg = {"LTH1", "LTH2", "LTH3", "LTB1", "LTB2", "LTB3", "LCAL", "LMT1", "LMT2"}
    right = walking2.subset([n for n in walking2.labels if n not in left_leg])
    rec = markers_to_record(right, OPENSIM_CLUSTERS, fs_out=100.0)
    assert set(rec.angle) == {"rhip", "rknee", "rankle"} and set(rec.acc) == {"pelvis", "rthigh", "rshank", "rfoot"}
    feet_only = walking2.subset(["RCAL", "RMT1", "RMT2", "LCAL", "LMT1", "LMT2"])
    with pytest.raises(ImukinError, match="no complete joint"):
        markers_to_record(feet_only, OPENSIM_CLUSTERS)


def test_cluster_set_validation():
    with pytest.raises(ImukinError, match="at least 3"):
        ClusterSet({"rthigh": ("A", "B")})
    with pytest.raises(ImukinError, match="unknown segment"):
        ClusterSet({"rarm": ("A", "B", "C")})
    with pytest.raises(ImukinError, match="exactly 4"):
        ClusterSet({"rthigh": ("A", "B", "C")}, method="pig")


def test_marker_files_with_sensor_errors():
    from imukin.simulation.markers import records_from_marker_files
    from imukin.simulation.sensor_errors import SensorErrorConfig
    from tests.conftest import DATA

    path = [DATA / WALKING2]
    ideal = records_from_marker_files(path)[0]
    noisy = records_from_marker_files(path, errors=SensorErrorConfig(), seed=3)[0]
    again = records_from_marker_files(path, errors=SensorErrorConfig(), seed=3)[0]
    for seg in ideal.acc:
        d_acc, d_gyr = noisy.acc[seg] - ideal.acc[seg], noisy.gyr[seg] - ideal.gyr[seg]
        # a real sensor's errors: present, but small beside walking's signals (bias, noise, 1 % scale)
        assert 0.01 < np.std(d_acc) < 0.6 and 0.001 < np.std(d_gyr) < 0.2, seg
        assert np.array_equal(noisy.acc[seg], again.acc[seg])  # the seed fixes the draws
    assert np.array_equal(noisy.angle["rknee"], ideal.angle["rknee"])  # references untouched


# ---------------------------------------------------------------- presets, marker maps, Kuopio
KUOPIO_TRC = "real/kuopio/l_comf_01_markers_cut.trc"


@pytest.fixture(scope="module")
def kuopio():
    from imukin.simulation.markers import read_marker_file
    from tests.conftest import DATA

    return read_marker_file(DATA / KUOPIO_TRC)


@pytest.mark.parametrize("preset", ["plug-in-gait", "opensim-core", "kuopio", "opensim-running"])
def test_preset_detected_from_names(preset):
    from imukin.simulation.markers import PRESETS, detect_preset

    names = [m for ms in PRESETS[preset].markers.values() for m in ms] + ["C7", "*31", "RKnee"]
    assert detect_preset(names)[0] == preset
    assert detect_preset(names[: int(0.6 * (len(names) - 3))])[0] == preset  # 60 % of the names still decide


def test_unknown_marker_set_is_one_clear_line():
    from imukin.simulation.markers import detect_preset

    with pytest.raises(ImukinError, match="fit no built-in marker set.*--marker-map") as e:
        detect_preset(["A1", "A2", "B1", "RFemur1"])
    assert "\n" not in str(e.value)


def test_missing_segments_listed(kuopio):
    from imukin.simulation.markers import clusters_for

    m = kuopio.subset([n for n in kuopio.labels if n not in ("RFemur2", "RFemur3", "LFoot1", "LFoot2")])
    with pytest.raises(ImukinError, match=r"rthigh \(2 of 4; missing RFemur2, RFemur3\); lfoot \(1 of 3") as e:
        clusters_for(m)
    assert "\n" not in str(e.value)
    feet = kuopio.subset([n for n in kuopio.labels if "Foot" in n or "Pelvis" in n])  # 10 of 26 names
    with pytest.raises(ImukinError, match="fit no built-in marker set"):
        clusters_for(feet)
    with pytest.raises(ImukinError, match="too many markers missing.*form no joint"):
        clusters_for(feet, {"pelvis": ["Pelvis1", "Pelvis2", "Pelvis3"], "rthigh": ["RFemur1", "RFemur2", "RFemur3"],
                            "rfoot": ["RFoot1", "RFoot2", "RFoot3"]})
    right = kuopio.subset([n for n in kuopio.labels if not n.startswith("L")])  # a one-leg trial works
    assert set(clusters_for(right).markers) == {"pelvis", "rthigh", "rshank", "rfoot"}


def test_marker_map_files(tmp_path, kuopio):
    import json

    from imukin.simulation.markers import clusters_for, load_marker_map

    js = tmp_path / "map.json"
    js.write_text(json.dumps({"pelvis": ["Pelvis1", "Pelvis2", "Pelvis3", "Pelvis4"],
                              "rthigh": ["RFemur1", "RFemur2", "RFemur3"], "rshank": "RTibia1 RTibia2 RTibia3"}))
    toml = tmp_path / "map.toml"
    toml.write_text('method = "rigid"\npelvis = ["Pelvis1", "Pelvis2", "Pelvis3"]\nrthigh = ["RFemur1", "RFemur2", '
                    '"RFemur4"]\n')
    cs = load_marker_map(js)
    assert cs.method == "rigid" and cs.markers["rshank"] == ("RTibia1", "RTibia2", "RTibia3")
    assert set(clusters_for(kuopio, toml).markers) == {"pelvis", "rthigh"}
    bad = tmp_path / "bad.json"
    bad.write_text('{"femur": ["A", "B", "C"]}')
    with pytest.raises(ImukinError, match="unknown segment 'femur'"):
        load_marker_map(bad)
    bad.write_text("{not json")
    with pytest.raises(ImukinError, match="not valid JSON"):
        load_marker_map(bad)


def test_kuopio_trc_z_up_gaps_and_mislabels(kuopio):
    from imukin.simulation.markers import clusters_for

    # the file is Z up: the reader turns it into imukin's Y-up lab frame
    assert np.allclose(np.abs(kuopio.lab_from_file[1]), [0, 0, 1])
    assert np.nanmedian(kuopio.marker("Pelvis1")[:, 1]) > np.nanmedian(kuopio.marker("RFoot1")[:, 1]) + 0.6
    cs = clusters_for(kuopio)
    assert cs.method == "rigid" and len(cs.markers) == 7
    rec = markers_to_record(kuopio, cs, fs_out=100.0)  # gaps bridged, mislabelled frames rejected
    assert set(rec.angle) == set(JOINTS)
    knee = rec.angle["rknee"][:, 0]
    assert np.all(np.isfinite(knee)) and 40 < knee.max() - knee.min() < 75  # walking knee range
    assert np.all(np.abs(np.diff(rec.angle["lhip"], axis=0)) < 3)  # no flips between frames


def test_reject_outliers_finds_a_swapped_marker():
    from imukin.simulation.markers import reject_outliers

    rng = np.random.default_rng(0)
    local = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.08, 0], [0.03, 0.02, 0.06]])
    p = np.repeat(local[None], 200, axis=0) + rng.normal(0, 0.0005, (200, 4, 3))
    p[50, 3] = p[50, 1] + 0.01  # a mislabelled sample
    clean, n = reject_outliers(p)
    assert n == 1 and np.isnan(clean[50, 3]).all() and np.isfinite(clean[50, :3]).all()


def test_cli_marker_map_errors_write_nothing(tmp_path, capsys):
    from imukin.cli import main
    from tests.conftest import DATA

    bad = tmp_path / "map.json"
    bad.write_text('{"pelvis": ["Pelvis1", "Pelvis2", "Pelvis3"], "rthigh": ["RFemur1", "X2", "X3"]}')
    out = tmp_path / "k.h5"
    assert main(["simulate", "--markers", str(DATA / KUOPIO_TRC), "--marker-map", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "rthigh (1 of 3; missing X2, X3)" in err and not out.exists()
    unknown = tmp_path / "u.trc"
    from imukin.io.c3d import MarkerData
    from imukin.io.opensim import write_trc

    write_trc(unknown, MarkerData(labels=["A", "B", "C"], fs=100.0, xyz=np.zeros((50, 3, 3))))
    assert main(["simulate", "--markers", str(unknown), "--out", str(out)]) == 2
    assert "fit no built-in marker set" in capsys.readouterr().err and not out.exists()
