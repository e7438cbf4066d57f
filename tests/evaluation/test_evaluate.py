"""imukin.evaluation.evaluate: subject splits, one predictor on a dataset file, and the written report."""
import json

import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.evaluation.evaluate import evaluate_predictor, evaluate_runs, select_subjects
from imukin.io.job_h5 import subject_ids
from imukin.pretrained import pretrained_path
from imukin.training.dataset import split_subjects

OFFSET = np.array([2.0, 0.0, -1.0])  # degrees


class Offset:
    """A predictor that returns the reference angles plus :data:`OFFSET` (needs the reference)."""

    joint = "knee"
    needs_reference = True

    def predict(self, acc1, gyr1, acc2, gyr2, side, fs, reference):
        assert len(acc1) == len(reference) and fs == 100.0
        return reference + OFFSET


@pytest.fixture(scope="module")
def data(corpus_factory):
    return corpus_factory("evaluate.h5", n_subjects=3, seed=21, duration_s=4.0, fs=100.0)


def test_select_subjects_splits_like_training(data):
    ids = subject_ids(data)
    assert select_subjects(data, "all") == ids
    parts = {s: select_subjects(data, s, split_seed=3) for s in ("train", "val", "test")}
    assert parts == split_subjects(ids, seed=3)
    assert sorted(sum(parts.values(), [])) == sorted(ids)
    with pytest.raises(ImukinError, match="unknown split 'dev'"):
        select_subjects(data, "dev")


def test_evaluate_predictor_scores_each_subject(data, tmp_path):
    subjects = subject_ids(data)[:2]
    agg, per_subject, plots = evaluate_predictor(Offset(), data, subjects, n_traces=1, trace_dir=tmp_path,
                                                 label="offset")
    assert [p["subject"] for p in per_subject] == subjects
    for k, axis in enumerate(("flexion", "adduction", "rotation")):
        assert agg[axis]["rmse"]["mean"] == pytest.approx(abs(OFFSET[k]))
        assert agg[axis]["rmse_offset_removed"]["mean"] == pytest.approx(0.0, abs=1e-9)
        assert agg[axis]["rmse"]["n"] == 2
    assert [p.name for p in plots] == [f"traces_offset_{subjects[0]}_right.png"]  # first leg, first subject
    assert plots[0].stat().st_size > 1000


def test_evaluate_runs_writes_the_report(data, tmp_path):
    run = pretrained_path("knee", "walking", "cnn")
    metrics = evaluate_runs([run], data, tmp_path / "report", split="all", n_traces=1)
    assert list(metrics) == ["ensemble"]  # the shipped walking knee cnn: three trainings of its recipe
    m = metrics["ensemble"]
    assert (m["joint"], m["split"], m["n_subjects"]) == ("knee", "all", 3)
    assert np.isfinite(m["knee"]["flexion"]["rmse"]["mean"])
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["ensemble"]["n_subjects"] == 3
    assert (tmp_path / "report" / "report.md").exists()
    assert (tmp_path / "report" / "rmse_by_axis.png").stat().st_size > 1000


def test_unknown_method_is_refused_before_anything_is_written(data, tmp_path):
    with pytest.raises(ImukinError, match="unknown method 'magic'"):
        evaluate_runs([pretrained_path("knee", "walking", "cnn")], data, tmp_path / "report", methods=("magic",))
    with pytest.raises(ImukinError, match="ori_run"):
        evaluate_runs([pretrained_path("knee", "walking", "cnn")], data, tmp_path / "report", methods=("refined",))
    assert not (tmp_path / "report").exists()
