"""The whole framework end to end on a tiny corpus: train both networks, fit the blend, predict."""
import json

import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.fusion.refine import OrientationPredictor, RefinedPredictor, fit_blend, read_blend
from imukin.io.job_h5 import iter_dataset
from imukin.training.trainer import TrainConfig, train
from tests.conftest import TINY_CNN


@pytest.fixture(scope="module")
def runs(tiny_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("fusion_runs")
    out = {}
    for target in ("angle", "orientation"):
        cfg = TrainConfig(model="cnn", joint="knee", target=target, model_overrides=TINY_CNN, steps=60,
                          batch_size=8, window=200, warmup_steps=5, eval_every=30, patience=100, lr=3e-3)
        train(cfg, tiny_corpus, root / target, progress=False)
        out[target] = root / target
    return out


def test_fit_blend_writes_params_and_predictor_runs_end_to_end(runs, tiny_corpus, tmp_path):
    doc = fit_blend(runs["angle"], runs["orientation"], tiny_corpus, split="val", out_dir=tmp_path)
    stored = read_blend(tmp_path / "blend.json")
    assert stored["s"] == doc["s"] and stored["w"] == doc["w"] and len(doc["w"]) == 3
    assert all(0.0 <= w <= 1.0 for w in doc["w"]) and all(np.isfinite(doc["s"]))
    # the fitted blend is no worse than the angle network alone on the data it was fitted on (w = 1 is allowed)
    assert all(b <= a + 1e-9 for b, a in zip(doc["fit"]["rmse_deg"], doc["fit"]["rmse_angle_network_deg"]))
    assert json.loads((tmp_path / "blend.json").read_text())["joint"] == "knee"

    p = RefinedPredictor(runs["angle"], runs["orientation"], blend=tmp_path / "blend.json")
    rec = next(iter_dataset(tiny_corpus, subjects=["s0000"]))
    acc1, gyr1, acc2, gyr2 = rec.joint_inputs("knee", "left")
    # at another rate than the models' (100 Hz): resampled in and out
    sl = slice(None, None, 2)
    comps = p.components(acc1[sl], gyr1[sl], acc2[sl], gyr2[sl], side="left", fs=50.0)
    n = len(acc1[sl])
    for key in ("angle_network", "orientation_network", "optimized", "refined"):
        assert comps[key].shape == (n, 3) and np.all(np.isfinite(comps[key])), key
    assert comps["converged"]
    theta = p.predict(acc1, gyr1, acc2, gyr2, side="left", fs=rec.fs)
    assert theta.shape == (len(acc1), 3)
    # the blend is what the parameters say: w * alpha + (1 - w) * beta'
    full = p.components(acc1, gyr1, acc2, gyr2, side="left", fs=rec.fs)
    a, b = full["angle_network"], full["optimized"]
    w, s = np.array(doc["w"]), np.array(doc["s"])
    assert np.allclose(theta, w * a + (1 - w) * ((b - b.mean(0)) * s + a.mean(0)), atol=1e-6)

    rot = OrientationPredictor(runs["orientation"]).predict(acc1, gyr1, acc2, gyr2, side="left", fs=rec.fs)
    assert rot.shape == (len(acc1), 2, 3, 3)
    assert np.allclose(np.swapaxes(rot, -1, -2) @ rot, np.eye(3), atol=1e-6)


def test_blend_leaves_out_excluded_subjects(runs, tiny_corpus, tmp_path):
    from imukin.io.job_h5 import subject_ids
    from imukin.training.dataset import split_subjects

    split = split_subjects(subject_ids(tiny_corpus), seed=0)
    doc = fit_blend(runs["angle"], runs["orientation"], tiny_corpus, split="train", out_dir=tmp_path,
                    max_sequences=2, exclude_subjects=split["train"][:1] + ["not_in_the_file"])
    assert doc["fit"]["n_excluded_subjects"] == 1 and doc["fit"]["n_sequences"] == 2
    with pytest.raises(ImukinError, match="beyond the excluded subjects"):
        fit_blend(runs["angle"], runs["orientation"], tiny_corpus, split="val", out_dir=tmp_path,
                  exclude_subjects=split["val"])


def test_mismatched_runs_and_missing_blend_are_refused(runs, tmp_path):
    with pytest.raises(ImukinError, match="orientation model"):
        RefinedPredictor(runs["angle"], runs["angle"], blend={"s": [1, 1, 1], "w": [0, 0, 0]})
    with pytest.raises(ImukinError, match="angle model"):
        RefinedPredictor(runs["orientation"], runs["orientation"], blend={"s": [1, 1, 1], "w": [0, 0, 0]})
    with pytest.raises(ImukinError, match="no blend parameters"):
        RefinedPredictor(runs["angle"], runs["orientation"], blend=tmp_path / "nowhere.json")
    (tmp_path / "blend.json").write_text(json.dumps({"format": "imukin-blend", "s": [1, 1], "w": [0, 0, 0]}))
    with pytest.raises(ImukinError, match="3 finite numbers"):
        read_blend(tmp_path)


def test_every_shipped_blend_matches_the_shipped_weights():
    """Each pretrained angle model ships a blend fitted with the shipped orientation network;
    loading checks both weights' hashes, so a stale blend would raise here."""
    from imukin.conventions import ACTIVITIES, JOINT_NAMES
    from imukin.fusion.refine import BLEND_FILE, pretrained_refined
    from imukin.pretrained import shipped_angle_models

    shipped = [r for a in ACTIVITIES for j in JOINT_NAMES for r in shipped_angle_models(a, j)]
    with_blend = [r for r in shipped if (r / BLEND_FILE).exists()]
    assert len(with_blend) == len(shipped) > 0
    for run in with_blend:
        activity, joint, model = run.name.split("_", 2)
        p = pretrained_refined(joint, activity, model)
        assert p.joint == joint and p.activity == activity
        assert all(0.0 <= w <= 1.0 for w in p.blend["w"])


def test_shipped_predictors_label_every_shipped_model():
    from imukin.fusion.refine import RefinedPredictor, shipped_predictors
    from imukin.predictor import AnglePredictor

    predictors = shipped_predictors("walking", "knee")
    assert set(predictors) == {"cnn", "cnn+refined", "transformer", "transformer+refined"}
    for label, p in predictors.items():
        assert isinstance(p, RefinedPredictor if label.endswith("+refined") else AnglePredictor)


def test_both_is_the_mean_of_the_shipped_networks_with_and_without_the_stage():
    from imukin.fusion.refine import pretrained_predictor, shipped_predictors, with_both
    from imukin.predictor import MeanPredictor

    shipped = shipped_predictors("walking", "knee")
    predictors = with_both(shipped)
    assert set(predictors) - set(shipped) == {"both", "both+refined"}
    assert predictors["both"].members == [shipped["cnn"], shipped["transformer"]]
    assert predictors["both+refined"].members == [shipped["cnn+refined"], shipped["transformer+refined"]]
    assert set(with_both({"cnn": shipped["cnn"]})) == {"cnn"}  # one network: nothing to average
    p = pretrained_predictor("knee", "walking", "both", refine=True)
    assert isinstance(p, MeanPredictor) and all(isinstance(m, RefinedPredictor) for m in p.members)
    assert [m.angle.run_dir.name for m in p.members] == ["walking_knee_cnn", "walking_knee_transformer"]


def test_both_refined_runs_the_stage_once_for_the_same_numbers(monkeypatch):
    """RefinedMean (the cnn and transformer refined with one shipped orientation network and optimiser settings)
    gives what the plain mean of the two refined predictors gives, running the stage once instead of twice."""
    from imukin.fusion import refine
    from imukin.predictor import MeanPredictor
    from imukin.simulation.corpus import CorpusConfig, simulate_corpus

    rec = next(iter(simulate_corpus(CorpusConfig(activity="walking", n_subjects=1, seed=4, duration_s=6.0),
                                    workers=1, progress=False)))
    x = rec.joint_inputs("knee", "left")
    shared = refine.pretrained_predictor("knee", "walking", "both", refine=True)
    assert isinstance(shared, refine.RefinedMean)
    calls = []
    run_stage = refine.RefinedPredictor.stage_from_channels
    monkeypatch.setattr(refine.RefinedPredictor, "stage_from_channels",
                        lambda self, ch: calls.append(1) or run_stage(self, ch))
    got = shared.predict(*x, side="left", fs=rec.fs)
    assert len(calls) == 1
    want = MeanPredictor(shared.members).predict(*x, side="left", fs=rec.fs)
    assert len(calls) == 3 and np.allclose(got, want, atol=1e-9)
    with pytest.raises(ImukinError, match="one orientation model"):
        refine.RefinedMean([shared.members[0], refine.pretrained_refined("knee", "running")])


def test_angle_model_of_another_rate_runs_at_its_own(runs, tiny_corpus, tmp_path):
    """The stage runs at the orientation model's rate; an angle model trained at half that rate gets
    its inputs resampled to its own rate, so its part of the stage equals its own prediction."""
    from imukin.predictor import AnglePredictor
    from imukin.sources.mix import resampled_copy

    half = resampled_copy(tiny_corpus, tmp_path, 50.0)
    cfg = TrainConfig(model="cnn", joint="knee", target="angle", model_overrides=TINY_CNN, steps=20, batch_size=8,
                      window=100, warmup_steps=5, eval_every=20, patience=100, lr=3e-3)
    train(cfg, half, tmp_path / "angle50", progress=False)
    p = RefinedPredictor(tmp_path / "angle50", runs["orientation"], blend={"s": [1, 1, 1], "w": [0.5, 0.5, 0.5]})
    assert p.angle.fs == 50.0 and p.fs == p.orientation.fs == 100.0
    rec = next(iter_dataset(tiny_corpus, subjects=["s0000"]))
    for side in ("right", "left"):  # a left leg is mirrored before the angle model's resampling
        x = rec.joint_inputs("knee", side)
        comps = p.components(*x, side=side, fs=rec.fs)
        own = AnglePredictor(tmp_path / "angle50").predict(*x, side=side, fs=rec.fs)
        assert comps["angle_network"].shape == (len(x[0]), 3)
        assert np.allclose(comps["angle_network"], own, atol=1e-4), side
