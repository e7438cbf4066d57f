import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from imukin.conventions import ANGLE_AXES, JOINTS, SEGMENTS
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.evaluation.plots import plot_corpus_overview, plot_rmse_bars, plot_traces

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    data = path.read_bytes()
    return data[:8] == PNG_MAGIC and len(data) > 5000


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


def test_plot_traces_single_and_several_predictions(tmp_path):
    t = np.arange(300) / 100.0
    ref = np.stack([40 * np.sin(2 * np.pi * t), 5 * np.sin(4 * np.pi * t), 3 * np.cos(2 * np.pi * t)], axis=1)
    out = plot_traces(tmp_path / "one.png", t, ref + 1.0, ref, "knee, subject 1")
    assert out == tmp_path / "one.png" and _is_png(out)
    out = plot_traces(tmp_path / "sub" / "two.png", t, {"network": ref + 1, "refined": ref - 0.5}, ref, "two")
    assert _is_png(out)
    out = plot_traces(tmp_path / "noref.png", t, ref, None)
    assert _is_png(out)
    assert plt.get_fignums() == []  # every figure closed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noref.png", "one.png", "sub"]  # no temporary left


def test_plot_traces_rejects_mismatched_shapes(tmp_path):
    t = np.arange(10) / 100.0
    with pytest.raises(ImukinError, match="expected"):
        plot_traces(tmp_path / "x.png", t, np.zeros((9, 3)), np.zeros((10, 3)))
    assert not (tmp_path / "x.png").exists()


def test_plot_rmse_bars_one_and_several_models(tmp_path):
    one = {"cnn": {a: (1.0 + i, 0.2) for i, a in enumerate(ANGLE_AXES)}}
    assert _is_png(plot_rmse_bars(tmp_path / "one.png", one))
    several = {
        "cnn": {a: (1.0 + i, 0.2) for i, a in enumerate(ANGLE_AXES)},
        "transformer": {a: {"mean": 1.5 + i, "sd": 0.3, "n": 5} for i, a in enumerate(ANGLE_AXES)},
        "refined": {a: 0.9 for a in ANGLE_AXES},
    }
    assert _is_png(plot_rmse_bars(tmp_path / "many.svg".replace(".svg", ".png"), several))
    svg = plot_rmse_bars(tmp_path / "many.svg", several)
    assert svg.read_text().lstrip().startswith("<?xml")
    assert plt.get_fignums() == []
    with pytest.raises(ImukinError, match="lacks axis"):
        plot_rmse_bars(tmp_path / "bad.png", {"cnn": {"flexion": (1, 0)}})


def _record(i: int, fs: float = 100.0, n: int = 500) -> SubjectRecord:
    t = np.arange(n) / fs
    ph = 2 * np.pi * (1.0 + 0.05 * i) * t
    rec = SubjectRecord(subject_id=f"s{i}", fs=fs)
    for j in JOINTS:
        rec.angle[j] = np.stack([30 * np.sin(ph + i), 5 * np.sin(2 * ph), 3 * np.cos(ph)], axis=1)
    for s in SEGMENTS:
        rec.acc[s] = np.stack([np.sin(ph), 9.81 + 2 * np.cos(ph), 0.5 * np.sin(2 * ph)], axis=1)
        rec.gyr[s] = np.stack([0.2 * np.sin(ph), 0.1 * np.cos(ph), 3 * np.sin(ph)], axis=1)
    return rec


def test_plot_corpus_overview(tmp_path):
    records = [_record(i) for i in range(6)]
    out = plot_corpus_overview(tmp_path / "overview.png", records, n_subjects=4)
    assert _is_png(out)
    assert plt.get_fignums() == []
    short = plot_corpus_overview(tmp_path / "short.png", [_record(0, n=50)], n_subjects=4)  # < 4 s of data
    assert _is_png(short)
    with pytest.raises(ImukinError):
        plot_corpus_overview(tmp_path / "none.png", [])
    bare = _record(1)
    del bare.acc["rshank"]
    with pytest.raises(ImukinError, match="rshank"):
        plot_corpus_overview(tmp_path / "bare.png", [bare])
    no_angle = _record(2)
    del no_angle.angle["rknee"]
    with pytest.raises(ImukinError, match="rknee"):
        plot_corpus_overview(tmp_path / "no_angle.png", [no_angle])
    assert plt.get_fignums() == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["overview.png", "short.png"]
