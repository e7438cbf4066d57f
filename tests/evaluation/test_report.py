import json

import numpy as np
import pytest

from imukin.conventions import ANGLE_AXES
from imukin.errors import ImukinError
from imukin.evaluation.metrics import aggregate, sequence_metrics
from imukin.evaluation.plots import plot_rmse_bars
from imukin.evaluation.report import write_report


def _agg(offsets):
    ref = np.zeros((30, 3))
    t = np.arange(30)
    ref[:, 0] = np.sin(t / 3)
    return aggregate([sequence_metrics(ref + o + 0.1 * np.cos(t / 2)[:, None], ref) for o in offsets])


def test_write_report_files_json_and_markdown(tmp_path):
    metrics = {"walking": {"knee": _agg([1.0, 2.0]), "hip": _agg([0.5, 3.0])}, "n_subjects": 2, "fs_hz": 200.0}
    plot = plot_rmse_bars(tmp_path / "out" / "figs" / "bars.png",
                          {"knee": {a: metrics["walking"]["knee"][a]["rmse"] for a in ANGLE_AXES}})
    report = write_report(tmp_path / "out", metrics, [plot], "Knee and hip, walking", notes="Synthetic test set.")
    assert report == tmp_path / "out" / "report.md"
    loaded = json.loads((tmp_path / "out" / "metrics.json").read_text())
    # r of the flexion channel is finite here, the other axes' r are nan -> null
    knee = loaded["walking"]["knee"]
    assert knee["flexion"]["rmse"]["mean"] == metrics["walking"]["knee"]["flexion"]["rmse"]["mean"]
    assert knee["rotation"]["r"]["mean"] is None
    strip_nan = json.loads(json.dumps(metrics), parse_constant=lambda c: None)
    assert loaded == strip_nan
    text = report.read_text()
    assert text.startswith("# Knee and hip, walking\n")
    assert "Synthetic test set." in text
    assert "## walking" in text
    assert "| knee | flexion |" in text and "| hip | rotation |" in text
    assert " ± " in text
    assert "![bars](figs/bars.png)" in text
    assert "- n_subjects: 2" in text


def test_write_report_exact_numbers_round_trip(tmp_path):
    metrics = {"cnn": {a: {"rmse": 1.25 + i, "bias": -0.5} for i, a in enumerate(ANGLE_AXES)},
               "values": [np.float32(1.5), np.int64(3)]}
    write_report(tmp_path, metrics, [], "t")
    loaded = json.loads((tmp_path / "metrics.json").read_text())
    assert loaded == {"cnn": {a: {"rmse": 1.25 + i, "bias": -0.5} for i, a in enumerate(ANGLE_AXES)},
                      "values": [1.5, 3]}
    text = (tmp_path / "report.md").read_text()
    assert "| cnn | adduction | 2.25 | -0.50 |" in text


def test_write_report_rejects_unstorable_values(tmp_path):
    with pytest.raises(ImukinError, match="metrics.json"):
        write_report(tmp_path, {"x": object()}, [], "t")
    assert not (tmp_path / "metrics.json").exists()
