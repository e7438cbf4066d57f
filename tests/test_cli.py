"""Bad input on the command line: one clear line on stderr, exit status 2, no traceback, nothing written."""
import numpy as np

from imukin.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    return code, err


def assert_one_line_error(code, err, *words):
    assert code == 2
    assert err.startswith("imukin: error: ") and "\n" not in err and "Traceback" not in err
    for w in words:
        assert w in err, err


def test_simulate_bad_arguments(tmp_path, capsys):
    out = tmp_path / "x.h5"
    assert_one_line_error(*run(capsys, "simulate", "--activity", "swimming", "--out", out), "swimming", "walking")
    assert_one_line_error(*run(capsys, "simulate", "--subjects", "0", "--out", out), "--subjects")
    assert_one_line_error(*run(capsys, "simulate", "--fs", "5", "--out", out), "--fs")
    assert_one_line_error(*run(capsys, "simulate", "--subjects", "1", "--duration-s", "2", "--out", tmp_path / "x.csv"),
                          ".h5")
    assert_one_line_error(*run(capsys, "simulate", "--markers", tmp_path / "none.c3d", "--out", out), "none.c3d")
    assert_one_line_error(*run(capsys, "simulate", "--speed-range", "0.1", "0.5", "--out", out), "--speed-range",
                          "0.2-2.6")
    assert_one_line_error(*run(capsys, "simulate", "--speed-range", "1.2", "0.8", "--out", out), "LO <= HI")
    assert_one_line_error(*run(capsys, "simulate", "--placement", "foot", "--out", out), "TYPE=SITE", "'foot'")
    assert_one_line_error(*run(capsys, "simulate", "--placement", "foot=toe", "--out", out), "foot sensor site",
                          "heel")
    assert_one_line_error(*run(capsys, "simulate", "--placement", "arm=lateral", "--out", out), "'arm'", "pelvis")
    assert_one_line_error(*run(capsys, "simulate", "--placement", "foot=heel", "--markers", tmp_path / "w.c3d",
                               "--out", out), "--placement", "synthetic")
    assert_one_line_error(*run(capsys, "simulate", "--skin-sliding", "-0.1", "--out", out), "--skin-sliding")
    assert_one_line_error(*run(capsys, "simulate", "--skin-sliding", "0.03", "--markers", tmp_path / "w.c3d",
                               "--out", out), "--skin-sliding", "synthetic")
    assert not list(tmp_path.iterdir())


def test_simulate_with_skin_sliding_turns_thigh_and_shank_sensors_only(tmp_path, capsys):
    """``--skin-sliding C``: written on the corpus, the same person, other thigh and shank signals only."""
    from imukin.io.job_h5 import file_attrs, read_dataset

    base = ("simulate", "--subjects", "1", "--seed", "3", "--fs", "100", "--duration-s", "3", "--workers", "1",
            "--quiet", "--ideal-sensors")
    assert main([*base, "--out", str(tmp_path / "usual.h5")]) == 0
    assert main([*base, "--skin-sliding", "0.05", "--out", str(tmp_path / "sliding.h5")]) == 0
    assert "'tissue_joint_coupling': 0.05" in file_attrs(tmp_path / "sliding.h5")["errors"]
    assert "tissue_joint_coupling" not in file_attrs(tmp_path / "usual.h5")["errors"]
    a, b = read_dataset(tmp_path / "usual.h5")[0], read_dataset(tmp_path / "sliding.h5")[0]
    assert np.array_equal(a.angle["rknee"], b.angle["rknee"]) and np.array_equal(a.gyr["pelvis"], b.gyr["pelvis"])
    assert not np.allclose(a.gyr["rthigh"], b.gyr["rthigh"]) and not np.allclose(a.gyr["lshank"], b.gyr["lshank"])


def test_simulate_places_the_sensors(tmp_path, capsys):
    """``--placement`` with hyphens for blanks: written on the corpus, only the moved sensors' signals differ."""
    from imukin.io.job_h5 import file_attrs, read_dataset

    base = ("simulate", "--subjects", "1", "--seed", "3", "--fs", "100", "--duration-s", "3", "--workers", "1",
            "--quiet")
    assert main([*base, "--out", str(tmp_path / "usual.h5")]) == 0
    assert main([*base, "--placement", "shank=distal-lateral", "--out", str(tmp_path / "moved.h5")]) == 0
    assert file_attrs(tmp_path / "moved.h5")["placement"] == "shank=distal lateral"
    a, b = read_dataset(tmp_path / "usual.h5")[0], read_dataset(tmp_path / "moved.h5")[0]
    assert np.array_equal(a.acc["rthigh"], b.acc["rthigh"]) and not np.allclose(a.acc["rshank"], b.acc["rshank"])


def test_train_and_evaluate_bad_input(tmp_path, capsys):
    assert_one_line_error(
        *run(capsys, "train", "--joint", "knee", "--data", tmp_path / "no.h5", "--out", tmp_path / "r"), "no.h5")
    assert_one_line_error(*run(capsys, "train", "--model", "mlp", "--joint", "knee", "--data", tmp_path / "no.h5",
                               "--out", tmp_path / "r"), "mlp", "cnn")
    assert_one_line_error(*run(capsys, "evaluate", "--run", tmp_path / "norun", "--data", tmp_path / "no.h5",
                               "--out", tmp_path / "rep"), "norun")
    train = ("train", "--joint", "knee", "--data", tmp_path / "no.h5", "--out", tmp_path / "r")
    assert_one_line_error(*run(capsys, *train, "--delay-max-ms", "-5"), "--delay-max-ms")
    assert_one_line_error(*run(capsys, *train, "--delay-fraction", "2"), "--delay-fraction")
    assert not list(tmp_path.iterdir())


def test_predict_bad_folders(tmp_path, capsys):
    assert_one_line_error(*run(capsys, "predict", "--root-path", tmp_path / "nowhere", "--joint", "knee"), "nowhere")
    assert_one_line_error(*run(capsys, "predict", "--root-path", tmp_path, "--joint", "knee"), "Right_seg1_acc.npy")
    np.save(tmp_path / "Right_seg1_acc.npy", np.zeros((100, 3)))
    assert_one_line_error(*run(capsys, "predict", "--root-path", tmp_path, "--joint", "knee"), "Right_seg2_gyr.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Right_seg1_acc.npy"]
