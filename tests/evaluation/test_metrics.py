import math

import numpy as np
import pytest

from imukin.conventions import ANGLE_AXES
from imukin.errors import ImukinError
from imukin.evaluation.metrics import METRICS, aggregate, format_table, sequence_metrics


def test_constant_offset_gives_rmse_of_offset_and_zero_after_offset_removal():
    t = np.linspace(0, 2, 400)
    ref = np.stack([30 * np.sin(2 * np.pi * t), 5 * np.cos(2 * np.pi * t), 3 * t], axis=1)  # (T, 3)
    m = sequence_metrics(ref + 2.0, ref)
    for axis in ANGLE_AXES:
        assert m[axis]["rmse"] == pytest.approx(2.0, abs=1e-12)
        assert m[axis]["rmse_offset_removed"] == pytest.approx(0.0, abs=1e-12)
        assert m[axis]["mae"] == pytest.approx(2.0, abs=1e-12)
        assert m[axis]["bias"] == pytest.approx(2.0, abs=1e-12)
        assert m[axis]["r"] == pytest.approx(1.0, abs=1e-12)


def test_scaled_sine_has_unit_correlation_and_hand_computed_rmse():
    t = np.arange(1000) / 100.0  # 10 whole periods of 1 Hz
    s = np.sin(2 * np.pi * t)
    ref = np.stack([s, s, s], axis=1)
    pred = np.stack([2 * s, -s, s + 1.0], axis=1)
    m = sequence_metrics(pred, ref)
    assert m["flexion"]["r"] == pytest.approx(1.0)
    assert m["adduction"]["r"] == pytest.approx(-1.0)
    # error s over whole periods: rms = 1/sqrt(2), mean |sin| = 2/pi, zero bias
    assert m["flexion"]["rmse"] == pytest.approx(1 / math.sqrt(2), rel=1e-9)
    assert m["flexion"]["mae"] == pytest.approx(2 / math.pi, rel=1e-3)
    assert m["flexion"]["bias"] == pytest.approx(0.0, abs=1e-12)
    # error -2s: rms = 2/sqrt(2)
    assert m["adduction"]["rmse"] == pytest.approx(math.sqrt(2), rel=1e-9)
    assert m["rotation"]["rmse_offset_removed"] == pytest.approx(0.0, abs=1e-12)


def test_hand_computed_small_example():
    ref = np.zeros((4, 3))
    pred = np.array([[1.0, 0, 0], [-1, 0, 0], [3, 0, 0], [1, 0, 0]])
    m = sequence_metrics(pred, ref)["flexion"]
    assert m["bias"] == pytest.approx(1.0)
    assert m["rmse"] == pytest.approx(math.sqrt((1 + 1 + 9 + 1) / 4))
    assert m["mae"] == pytest.approx(1.5)
    assert m["rmse_offset_removed"] == pytest.approx(math.sqrt((0 + 4 + 4 + 0) / 4))


def test_constant_channel_gives_nan_correlation_not_a_crash():
    ref = np.zeros((50, 3))
    ref[:, 1] = np.arange(50)
    pred = np.ones((50, 3))  # constant everywhere
    with np.errstate(all="raise"):  # no hidden division by zero either
        m = sequence_metrics(pred, ref)
    assert math.isnan(m["flexion"]["r"])
    assert math.isnan(m["adduction"]["r"])
    assert m["flexion"]["rmse"] == pytest.approx(1.0)


def test_non_finite_frames_are_left_out():
    ref = np.zeros((10, 3))
    pred = np.full((10, 3), 2.0)
    pred[3, 0] = np.nan
    ref[5, 0] = np.inf
    pred[:, 2] = np.nan
    m = sequence_metrics(pred, ref)
    assert m["flexion"]["rmse"] == pytest.approx(2.0)
    assert all(math.isnan(m["rotation"][k]) for k in METRICS)


def test_bad_shapes_raise_one_line_errors():
    with pytest.raises(ImukinError, match="expected"):
        sequence_metrics(np.zeros((10, 2)), np.zeros((10, 2)))
    with pytest.raises(ImukinError, match="same length"):
        sequence_metrics(np.zeros((10, 3)), np.zeros((11, 3)))


def test_aggregate_mean_and_sample_sd():
    ref = np.zeros((20, 3))
    subjects = [sequence_metrics(ref + off, ref) for off in (1.0, 2.0, 6.0)]
    agg = aggregate(subjects)
    cell = agg["adduction"]["rmse"]
    assert cell["mean"] == pytest.approx(3.0)
    assert cell["sd"] == pytest.approx(np.std([1, 2, 6], ddof=1))
    assert cell["n"] == 3
    # r is nan for every subject (constant channels): left out, n = 0
    assert agg["flexion"]["r"]["n"] == 0 and math.isnan(agg["flexion"]["r"]["mean"])
    single = aggregate(subjects[:1])
    assert single["flexion"]["rmse"] == {"mean": 1.0, "sd": 0.0, "n": 1}
    with pytest.raises(ImukinError):
        aggregate([])


def test_format_table_rows_and_cells():
    ref = np.zeros((20, 3))
    agg = aggregate([sequence_metrics(ref + off, ref) for off in (1.0, 3.0)])
    single = sequence_metrics(ref + 0.5, ref)
    table = format_table({"knee": agg, "hip": single}, row_label="joint", metrics=("rmse", "bias"))
    lines = table.strip().splitlines()
    assert lines[0] == "| joint | axis | RMSE (deg) | bias (deg) |"
    assert len(lines) == 2 + 2 * len(ANGLE_AXES)
    assert "| knee | flexion | 2.00 ± 1.41 | 2.00 ± 1.41 |" in lines
    assert "| hip | rotation | 0.50 | 0.50 |" in lines
    with pytest.raises(ImukinError, match="unknown metric"):
        format_table({"knee": agg}, metrics=("rmsd",))
