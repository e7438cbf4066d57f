"""Tests for imukin.io.c3d on real Vicon files (tests/data/real, see tests/data/NOTICE.md)."""
import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.io.c3d import guess_up_axis, read_c3d

FILES = {  # file -> (rate Hz, pelvis markers)
    "real/opensim-core/walking2.c3d": (250.0, ("RASI", "LASI", "RPSI", "LPSI")),
    "real/opensim-core/walking5.c3d": (250.0, ("RASI", "LASI", "RPSI", "LPSI")),
    "real/kineticstoolkit/walk.c3d": (100.0, ("RASI", "LASI", "RPSI", "LPSI")),
}


@pytest.mark.parametrize("name", list(FILES))
def test_read_real_c3d_metres_y_up_x_walking(data_dir, name):
    fs, pelvis = FILES[name]
    m = read_c3d(data_dir / name)
    assert m.fs == fs and m.units_in == "mm"
    assert all(p in m.labels for p in pelvis)
    assert m.xyz.shape == (m.n_frames, len(m.labels), 3)
    # pelvis markers ~0.85-1.15 m above the floor (metres, Y up); walk.c3d's subject is smaller (~0.9 m)
    heights = np.array([np.nanmean(m.marker(p)[:, 1]) for p in pelvis])
    assert np.all((heights > 0.8) & (heights < 1.2)), heights
    # walking along +X: every pelvis marker moves > 1 m forward and little sideways
    for p in pelvis:
        x = m.marker(p)
        ok = np.flatnonzero(np.isfinite(x[:, 0]))
        d = x[ok[-1]] - x[ok[0]]
        assert d[0] > 1.0 and abs(d[2]) < 0.3 * d[0], (p, d)
    # right-handed with Z to the walker's right: the right ASIS is to the right of the left one
    assert np.nanmean(m.marker("RASI")[:, 2] - m.marker("LASI")[:, 2]) > 0.15
    assert np.allclose(m.lab_from_file @ m.lab_from_file.T, np.eye(3)) and np.isclose(np.linalg.det(m.lab_from_file), 1)


def test_missing_markers_are_nan_and_vicon_angles_untouched(data_dir):
    m = read_c3d(data_dir / "real/opensim-core/walking2.c3d")
    rth1 = m.marker("RTH1")
    assert np.isnan(rth1[0]).all() and np.isfinite(rth1[600]).all()  # marker enters the volume later
    pig = read_c3d(data_dir / "real/kineticstoolkit/walk.c3d")
    assert {"RHipAngles", "LKneeAngles", "RAnkleAngles"} <= set(pig.angles)
    assert "RHipAngles" not in pig.labels and "RHipPower" not in pig.labels  # not marker positions
    hip = pig.angles["RHipAngles"]  # degrees, sagittal first: hip flexion ~ -5..45 in walking
    assert hip.shape == (pig.n_frames, 3) and 35 < np.nanmax(hip[:, 0]) < 50 and -10 < np.nanmin(hip[:, 0]) < 5


def test_guess_up_axis_without_screen_parameters(data_dir):
    for name in FILES:
        m = read_c3d(data_dir / name)
        xyz_file = m.xyz @ m.lab_from_file  # back to file coordinates (Z up there)
        assert guess_up_axis(xyz_file).tolist() == [0.0, 0.0, 1.0]
        assert guess_up_axis(-xyz_file).tolist() == [0.0, 0.0, -1.0]


def test_explicit_up_axis_changes_the_frame(data_dir):
    m = read_c3d(data_dir / "real/opensim-core/walking2.c3d", up_axis="z")
    assert np.allclose(m.lab_from_file[1], [0, 0, 1])
    with pytest.raises(ImukinError, match="up_axis"):
        read_c3d(data_dir / "real/opensim-core/walking2.c3d", up_axis="w")


def test_errors(tmp_path):
    with pytest.raises(ImukinError, match="does not exist"):
        read_c3d(tmp_path / "nope.c3d")
    bad = tmp_path / "bad.c3d"
    bad.write_text("this is not a c3d file\n" * 20)
    with pytest.raises(ImukinError, match="not a readable C3D"):
        read_c3d(bad)
    import ezc3d

    c = ezc3d.c3d()  # a valid C3D holding one analog channel and no points
    c["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c["parameters"]["ANALOG"]["RATE"]["value"] = [100.0]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = ["a1"]
    c["data"]["analogs"] = np.ones((1, 1, 10))
    c["data"]["points"] = np.zeros((4, 0, 10))
    c["data"]["meta_points"]["residuals"] = np.zeros((1, 0, 10))
    c["data"]["meta_points"]["camera_masks"] = np.zeros((7, 0, 10), dtype=bool)
    c["data"]["rotations"] = np.zeros((4, 4, 0, 10))
    empty = tmp_path / "empty.c3d"
    c.write(str(empty))
    with pytest.raises(ImukinError, match="no 3D point data"):
        read_c3d(empty)


def _write_synthetic_c3d(path, xyz_file, labels, units, y_screen=None):
    """A small C3D with markers xyz_file (N, M, 3) in file units."""
    import ezc3d

    n = xyz_file.shape[0]
    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [50.0]
    c["parameters"]["POINT"]["LABELS"]["value"] = labels
    c["parameters"]["POINT"]["UNITS"]["value"] = [units]
    if y_screen:
        c.add_parameter("POINT", "Y_SCREEN", [y_screen])
    c["parameters"]["ANALOG"]["RATE"]["value"] = [50.0]
    pts = np.ones((4, len(labels), n))
    pts[:3] = np.transpose(xyz_file, (2, 1, 0))
    c["data"]["points"] = pts
    c["data"]["analogs"] = np.zeros((1, 0, n))
    c.write(str(path))


@pytest.mark.parametrize("y_screen", ["+Y", None])
def test_y_up_file_in_metres_walking_backwards(tmp_path, y_screen):
    n = 30
    walk = np.linspace(0.0, -2.0, n)  # the subject walks along the file's -X
    lab = {"RASI": (0.0, 0.95, -0.12), "LASI": (0.0, 0.95, 0.12), "RPSI": (-0.15, 1.0, -0.05),
           "LPSI": (-0.15, 1.0, 0.05), "RTOE": (0.1, 0.05, -0.1), "LTOE": (0.1, 0.05, 0.1)}
    # file frame: forward = -X, up = +Y, so the walker's right = forward x up = -Z (the "r" column is file z)
    xyz = np.stack([np.stack([walk - f, np.full(n, u), np.full(n, r)], axis=1) for f, u, r in lab.values()], axis=1)
    xyz[5, 4] = 0.0  # exact zeros: a missing sample in many exporters
    _write_synthetic_c3d(tmp_path / "y_up.c3d", xyz, list(lab), "m", y_screen)
    m = read_c3d(tmp_path / "y_up.c3d")
    assert m.units_in == "m" and m.fs == 50.0
    assert np.isnan(m.marker("RTOE")[5]).all() and np.isfinite(m.marker("RTOE")[6]).all()
    assert np.allclose(m.lab_from_file[1], [0, 1, 0])  # Y stays up
    ra = m.marker("RASI")
    assert ra[-1, 0] - ra[0, 0] == pytest.approx(2.0)  # now walking along +X
    assert np.allclose(ra[:, 1], 0.95)
    # in the file the right ASIS has z = -0.12 with forward -X and up +Y: right = fwd x up = (-1,0,0)x(0,1,0) = -Z
    assert m.marker("RASI")[0, 2] - m.marker("LASI")[0, 2] == pytest.approx(0.24)
