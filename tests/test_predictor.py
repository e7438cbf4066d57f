"""imukin.predictor: a trained run (the shipped walking knee CNN, 100 Hz) on a simulated recording, at any rate."""
import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.io.job_h5 import read_subject
from imukin.predictor import AnglePredictor, TrainedRun
from imukin.pretrained import pretrained_path

FS = 200.0  # Hz, the recording's (twice the model's)


@pytest.fixture(scope="module")
def knee() -> AnglePredictor:
    return AnglePredictor.pretrained("knee", "walking")


@pytest.fixture(scope="module")
def rec(corpus_factory):
    return read_subject(corpus_factory("predictor.h5", n_subjects=1, seed=9, duration_s=8.0, fs=FS), "s0000")


def _rmse_offset_removed(a: np.ndarray, b: np.ndarray) -> float:
    e = a - b
    return float(np.sqrt(np.mean((e - e.mean()) ** 2)))


def test_run_describes_its_input(knee):
    from imukin.training.pretrained import model_recipe

    assert (knee.joint, knee.activity, knee.fs) == ("knee", "walking", model_recipe("cnn", joint="knee")[1])
    assert knee.window > 0 and knee.norm is not None


@pytest.mark.parametrize("side", ["right", "left"])
def test_predicts_the_knee_at_the_model_rate(knee, rec, side):
    """Both legs (the left one mirrored inside) follow the simulated knee flexion within a few degrees."""
    ref = rec.joint_angle("knee", side)
    pred = knee.predict(*rec.joint_inputs("knee", side), side=side, fs=FS)
    assert pred.shape == ref.shape and np.all(np.isfinite(pred))
    assert _rmse_offset_removed(pred[:, 0], ref[:, 0]) < 6.0  # measured 3.0 (right), 2.1 (left)


def test_other_rates_are_resampled_to_the_model_and_back(knee, rec):
    inputs = rec.joint_inputs("knee", "right")
    assert knee.fs == FS / 2
    full = knee.predict(*inputs, side="right", fs=FS)  # resampled to the model's 100 Hz and back
    assert full.shape == (len(inputs[0]), 3)  # one output per input sample
    half = knee.predict(*(a[::2] for a in inputs), side="right", fs=FS / 2)  # at the model's rate
    assert np.array_equal(half, knee.predict(*(a[::2] for a in inputs), side="right"))  # fs defaults to it
    assert np.max(np.abs(half[:, 0] - full[::2, 0])) < 2.0  # measured 0.07 deg


def test_outputs_match_predict_at_the_model_rate(knee, rec):
    inputs = rec.joint_inputs("knee", "right")
    assert np.allclose(knee.outputs_from_signals(*inputs, "right"), knee.predict(*inputs, side="right"))


def test_bad_input_is_refused(knee, rec):
    acc1, gyr1, acc2, gyr2 = rec.joint_inputs("knee", "right")
    with pytest.raises(ImukinError, match="sampling rate must be positive"):
        knee.predict(acc1, gyr1, acc2, gyr2, side="right", fs=0.0)
    with pytest.raises(ImukinError, match="at least"):
        knee.predict(acc1[:4], gyr1[:4], acc2[:4], gyr2[:4], side="right")
    with pytest.raises(ImukinError, match="one length"):
        knee.outputs_from_signals(acc1, gyr1, acc2[:-1], gyr2, "right")


def test_a_run_of_the_other_target_is_refused():
    with pytest.raises(ImukinError, match="holds a angle model but a orientation model"):
        TrainedRun(pretrained_path("knee", "walking", "cnn"), target="orientation")
    with pytest.raises(ImukinError, match="holds a orientation model but a angle model"):
        AnglePredictor(pretrained_path("knee", "walking", "cnn_ori"))


def test_both_networks_average_at_their_own_rates(knee, rec):
    """MeanPredictor: the mean of its members' angles, each run at its own rate (the knee cnn at 100 Hz, the
    transformer at its own), the same through predict and, at the first member's rate, outputs_from_signals."""
    from imukin.predictor import MeanPredictor

    transformer = AnglePredictor.pretrained("knee", "walking", "transformer")
    both = MeanPredictor([knee, transformer])
    assert (both.joint, both.activity, both.fs) == ("knee", "walking", knee.fs)
    inputs = rec.joint_inputs("knee", "left")
    want = 0.5 * (knee.predict(*inputs, side="left", fs=FS) + transformer.predict(*inputs, side="left", fs=FS))
    got = both.predict(*inputs, side="left", fs=FS)
    assert got.shape == (len(inputs[0]), 3) and np.allclose(got, want, atol=1e-9)
    half = [a[::2] for a in inputs]  # at the first member's rate
    assert np.allclose(both.outputs_from_signals(*half, "left"), both.predict(*half, side="left"), atol=1e-9)
    ref = rec.joint_angle("knee", "left")
    assert _rmse_offset_removed(got[:, 0], ref[:, 0]) < 6.0


def test_averaging_needs_predictors_of_one_joint(knee):
    from imukin.predictor import MeanPredictor

    with pytest.raises(ImukinError, match="at least one predictor"):
        MeanPredictor([])
    with pytest.raises(ImukinError, match="different joints"):
        MeanPredictor([knee, AnglePredictor.pretrained("hip", "walking")])
