"""imukin.preprocessing.gait_speed: strides outside those the shipped models learnt from get a note."""
import warnings

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imukin.conventions import SEGMENTS
from imukin.preprocessing.align import STRIDE_RANGE_S
from imukin.preprocessing.gait_speed import recording_stride_s, stride_notes, trained_stride_range_s
from imukin.simulation.body import draw_subject
from imukin.simulation.corpus import record_from_kinematics
from imukin.simulation.gait import GaitConfig, generate_gait
from imukin.simulation.sensor_errors import SensorErrorConfig


def _walker(speeds: tuple[float, float], seed: int, activity: str = "walking"):
    """One simulated person at ``speeds`` m/s, every sensor turned at random: (record, median true stride s)."""
    rng = np.random.default_rng(seed)
    kin = generate_gait(draw_subject(rng, activity), GaitConfig(activity=activity, duration_s=14.0, fs_internal=500.0,
                                                                speed_range_m_s=speeds), rng)
    rec = record_from_kinematics(kin, "s0000", 100.0, SensorErrorConfig(), rng)
    turn = np.random.default_rng(seed + 1)
    for s in SEGMENTS:
        r = Rotation.random(random_state=turn).as_matrix()
        rec.acc[s], rec.gyr[s] = rec.acc[s] @ r, rec.gyr[s] @ r
    return rec, float(np.median(np.diff(kin.heel_strikes["right"])))


def test_the_trained_strides_are_the_simulators_at_the_ends_of_the_speed_range():
    lo, hi = trained_stride_range_s("walking")
    assert 0.7 < lo < 0.9 and 1.4 < hi < 1.8  # fast walking ~0.9 s, 0.6 m/s ~1.4 s (step_frequency_hz)
    assert STRIDE_RANGE_S["walking"][0] <= lo and hi < STRIDE_RANGE_S["walking"][1]  # the alignment looks there
    assert trained_stride_range_s("walking", (0.3, 2.0))[1] > hi + 0.3  # slower people stride for longer
    r_lo, r_hi = trained_stride_range_s("running")
    assert 0.55 < r_lo < r_hi < 1.0


def test_a_slow_walker_gets_a_note_and_a_self_selected_one_none():
    slow, true_slow = _walker((0.3, 0.35), seed=21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = recording_stride_s(slow.acc, slow.gyr, 100.0, "walking")
        assert found == pytest.approx(true_slow, rel=0.05)
        (note,) = stride_notes(slow.acc, slow.gyr, 100.0, "walking")
        assert "slower walking than the models learnt from" in note and f"every {found:.2f} s" in note
        usual, true_usual = _walker((1.2, 1.4), seed=22)
        assert recording_stride_s(usual.acc, usual.gyr, 100.0, "walking") == pytest.approx(true_usual, rel=0.05)
        assert stride_notes(usual.acc, usual.gyr, 100.0, "walking") == []


def test_a_run_analysed_as_walking_is_told_to_give_running_and_a_walk_as_running_the_other_way():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run, true_run = _walker((3.0, 3.5), seed=23, activity="running")
        assert recording_stride_s(run.acc, run.gyr, 100.0, "walking") == pytest.approx(true_run, rel=0.05)  # not 2x
        (note,) = stride_notes(run.acc, run.gyr, 100.0, "walking")
        assert "faster walking" in note and "--activity running" in note
        assert stride_notes(run.acc, run.gyr, 100.0, "running") == []
        walk, _ = _walker((1.2, 1.4), seed=22)
        (note,) = stride_notes(walk.acc, walk.gyr, 100.0, "running")
        assert "slower running" in note and "--activity walking" in note


def test_real_self_selected_walking_gets_no_note_and_gaps_are_passed_over(data_dir):
    from imukin.io.recording import load_recording

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = load_recording(data_dir / "real" / "kuopio", fs=100)
        stride = recording_stride_s(rec.acc, rec.gyr, 100.0, "walking")
        assert 0.85 < stride < 0.93  # every leg sensor: 0.88-0.89 s (135 steps/min)
        assert stride_notes(rec.acc, rec.gyr, 100.0, "walking") == []
        gappy = {s: a.copy() for s, a in rec.acc.items()}
        for a in gappy.values():
            a[100:120] = np.nan  # a gap in the standing start: the walking after it is the longest stretch
        assert recording_stride_s(gappy, rec.gyr, 100.0, "walking") == pytest.approx(stride, abs=0.02)
