"""The shipped pretrained models (built by imukin.training.pretrained) on real human walking.

IMUs are simulated from the real Vicon marker trials in tests/data/real (see NOTICE.md), with a
real sensor's electronic errors; the reference is the joint angle between the same marker
frames. The full table is ``benchmarks/real_motion.py``.
"""
import json

import pytest

from imukin.evaluation.metrics import sequence_metrics
from imukin.predictor import AnglePredictor
from imukin.pretrained import shipped_angle_models
from imukin.simulation.markers import records_from_marker_files
from imukin.simulation.sensor_errors import SensorErrorConfig

TRIALS = ("real/opensim-core/walking2.c3d", "real/opensim-core/walking5.c3d")


@pytest.fixture(scope="module")
def real_walks():
    from tests.conftest import DATA

    return records_from_marker_files([DATA / t for t in TRIALS], fs_out=200.0, errors=SensorErrorConfig(), seed=0)


@pytest.mark.parametrize("joint", ["hip", "knee", "ankle"])
def test_shipped_walking_models_follow_real_walking(real_walks, joint):
    runs = shipped_angle_models("walking", joint)
    assert {r.name.split("_", 2)[2] for r in runs} >= {"cnn", "transformer"}
    for run in runs:
        predictor = AnglePredictor(run)
        for rec in real_walks:
            for side in ("right", "left"):
                ref = rec.joint_angle(joint, side)  # (T, 3) deg between the real marker frames
                pred = predictor.predict(*rec.joint_inputs(joint, side), side=side, fs=rec.fs)
                m = sequence_metrics(pred, ref)["flexion"]
                # real flexion swings 25-65 deg in these trials: a wrong sign, side or axis fails by far
                assert m["rmse_offset_removed"] < 4.5, (run.name, rec.attrs["source"], side, m)
                assert m["r"] > 0.95, (run.name, rec.attrs["source"], side, m)


def test_shipped_angle_models_record_their_recipe():
    from imukin.training.pretrained import MODEL_SETTINGS

    for activity in ("walking", "running"):
        for joint in ("hip", "knee", "ankle"):
            for run in shipped_angle_models(activity, joint):
                model = run.name.split("_", 2)[2]
                tc = json.loads((run / "model.json").read_text())["meta"]["train_config"]
                for key, value in MODEL_SETTINGS[model].items():
                    assert tc[key] == value, (run.name, key, tc[key], value)
                assert "axes weighted in degrees" in (run / "MODEL_CARD.md").read_text()


def test_shipped_streaming_models_record_their_recipe():
    from imukin.pretrained import shipped_streaming_models
    from imukin.training.pretrained import model_recipe

    runs = [r for joint in ("hip", "knee", "ankle") for r in shipped_streaming_models("walking", joint)]
    assert len(runs) == 3
    for run in runs:
        architecture, fs, settings = model_recipe(run.name.split("_", 2)[2])
        doc = json.loads((run / "model.json").read_text())
        tc = doc["meta"]["train_config"]
        for key, value in settings.items():
            assert tc[key] == value, (run.name, key, tc[key], value)
        assert doc["meta"]["fs"] == fs and tc["model"] == architecture
