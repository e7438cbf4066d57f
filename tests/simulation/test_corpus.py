"""imukin.simulation.corpus: subjects -> gait -> seven IMUs, reproducible per subject, and the file attributes."""
from dataclasses import replace

import numpy as np
import pytest

from imukin.conventions import JOINTS, SEGMENTS, G
from imukin.errors import ImukinError
from imukin.io.job_h5 import file_attrs, read_dataset
from imukin.simulation.body import draw_subject
from imukin.simulation.corpus import (
    GENERATOR,
    SIMULATOR_REVISION,
    CorpusConfig,
    cached_corpus,
    corpus_attrs,
    internal_rate,
    is_current_corpus,
    record_from_kinematics,
    simulate_corpus,
    simulate_subject,
)
from imukin.simulation.gait import GaitConfig, generate_gait
from imukin.simulation.sensor_errors import SensorErrorConfig

CFG = dict(activity="walking", n_subjects=2, seed=41, duration_s=3.0, fs=100.0)


@pytest.mark.parametrize("fs, rate", [(100.0, 500.0), (200.0, 600.0), (60.0, 540.0), (500.0, 500.0), (1000.0, 1000.0)])
def test_internal_rate_is_a_multiple_of_the_output_rate(fs, rate):
    assert internal_rate(fs) == rate


@pytest.mark.parametrize("field, value, flag", [("n_subjects", 0, "--subjects"), ("fs", 10.0, "--fs"),
                                                ("duration_s", 1.0, "--duration-s"), ("activity", "cycling", "")])
def test_config_refuses_bad_values(field, value, flag):
    with pytest.raises(ImukinError, match=flag or field):
        CorpusConfig(**{field: value})


def test_subject_record_layout():
    rec = simulate_subject(CorpusConfig(**CFG), 0)
    rec.validate()
    assert rec.subject_id == "s0000" and rec.fs == 100.0
    assert set(rec.acc) == set(rec.gyr) == set(rec.rmat) == set(SEGMENTS) and set(rec.angle) == set(JOINTS)
    assert abs(rec.n_frames - 3.0 * 100.0) <= 1
    assert rec.attrs["source"] == "synthetic" and rec.attrs["generator"] == GENERATOR
    assert rec.attrs["speed_min_m_s"] <= rec.attrs["speed_mean_m_s"] <= rec.attrs["speed_max_m_s"]
    assert rec.meta.shape == (4,) and rec.meta[3] == pytest.approx(rec.attrs["speed_mean_m_s"])
    lab = np.einsum("nij,nj->ni", rec.rmat["pelvis"], rec.acc["pelvis"])  # specific force in the lab
    assert np.allclose(lab.mean(axis=0), [0.0, G, 0.0], atol=0.6)  # +g up over whole strides


def test_file_matches_subjects_simulated_alone(corpus_factory):
    """Each subject has its own random stream: the corpus file (one worker) equals each subject alone."""
    cfg = CorpusConfig(**CFG)
    recs = read_dataset(corpus_factory("corpus.h5", **CFG))
    assert [r.subject_id for r in recs] == ["s0000", "s0001"]
    alone = simulate_subject(cfg, 1)
    for seg in SEGMENTS:
        assert np.allclose(recs[1].acc[seg], alone.acc[seg], atol=1e-5)  # stored as float32
    assert np.allclose(recs[1].angle["rknee"], alone.angle["rknee"], atol=1e-4)
    attrs = file_attrs(corpus_factory("corpus.h5", **CFG))
    assert attrs["seed"] == 41 and attrs["n_subjects"] == 2 and attrs["generator"] == GENERATOR


def test_first_subject_continues_the_ids():
    cfg = CorpusConfig(**{**CFG, "n_subjects": 1, "first_subject": 1})
    (rec,) = list(simulate_corpus(cfg, workers=1))
    assert rec.subject_id == "s0001" and rec.attrs["subject_index"] == 1
    assert np.array_equal(rec.acc["rshank"], simulate_subject(CorpusConfig(**CFG), 1).acc["rshank"])


def test_ideal_sensors_keep_the_truth():
    """With ideal sensors the stored angles are the kinematics' and the mean specific force is +g up."""
    rng = np.random.default_rng(5)
    subject = draw_subject(rng, "walking")
    kin = generate_gait(subject, GaitConfig(duration_s=3.0, fs_internal=500.0), rng)
    rec = record_from_kinematics(kin, "s0007", 100.0, SensorErrorConfig.ideal(), rng)
    assert rec.subject_id == "s0007"
    for joint in JOINTS:
        assert np.allclose(rec.angle[joint], kin.angles[joint][::5][:rec.n_frames])  # 100 Hz is every 5th pose
    up = np.einsum("nij,nj->ni", rec.rmat["pelvis"], rec.acc["pelvis"]).mean(axis=0)  # lab specific force
    assert up[1] == pytest.approx(G, abs=0.5)


def test_corpus_attrs_describe_the_config():
    cfg = CorpusConfig(**CFG)
    attrs = corpus_attrs(cfg)
    assert {k: attrs[k] for k in CFG} == CFG
    assert attrs["source"] == "synthetic" and isinstance(attrs["errors"], str) and "noise" in attrs["errors"]


def test_cached_corpus_is_simulated_again_for_another_revision_or_config(tmp_path):
    import h5py

    cfg = CorpusConfig(**{**CFG, "n_subjects": 1, "duration_s": 2.0})
    path = cached_corpus(tmp_path / "c.h5", cfg, progress=False)
    assert file_attrs(path)["simulator_revision"] == SIMULATOR_REVISION
    made = path.stat().st_mtime_ns
    assert cached_corpus(path, cfg, progress=False) == path and path.stat().st_mtime_ns == made  # reused
    with h5py.File(path, "r+") as f:  # a corpus of an earlier simulator
        f.attrs["simulator_revision"] = SIMULATOR_REVISION - 1
    cached_corpus(path, cfg, progress=False)
    assert file_attrs(path)["simulator_revision"] == SIMULATOR_REVISION
    longer = CorpusConfig(**{**CFG, "n_subjects": 1, "duration_s": 3.0})
    assert read_dataset(cached_corpus(path, longer, progress=False))[0].n_frames == 300


def test_a_corpus_asked_for_with_whole_numbers_is_the_same_corpus(tmp_path):
    as_ints = CorpusConfig(**{**CFG, "n_subjects": 1, "duration_s": 2, "fs": 100})
    as_floats = CorpusConfig(**{**CFG, "n_subjects": 1, "duration_s": 2.0, "fs": 100.0})
    assert corpus_attrs(as_ints) == corpus_attrs(as_floats)
    path = cached_corpus(tmp_path / "c.h5", as_ints, progress=False)
    made = path.stat().st_mtime_ns
    assert cached_corpus(path, as_floats, progress=False) == path and path.stat().st_mtime_ns == made  # reused
    assert isinstance(file_attrs(path)["duration_s"], float)


def test_a_speed_range_gives_walkers_within_it_and_the_default_range_leaves_the_attributes_as_they_were():
    slow = CorpusConfig(**{**CFG, "n_subjects": 1, "speed_range_m_s": (0.3, 0.5)})
    rec = simulate_subject(slow, 0)
    assert 0.3 - 1e-9 <= rec.attrs["speed_min_m_s"] <= rec.attrs["speed_max_m_s"] <= 0.5 + 1e-9
    assert corpus_attrs(slow)["speed_range_m_s"] == "0.3-0.5"
    assert "speed_range_m_s" not in corpus_attrs(CorpusConfig(**CFG))  # corpora cached before the field stay current
    assert not is_current_corpus(corpus_attrs(CorpusConfig(**CFG)), slow)
    with pytest.raises(ImukinError, match="--speed-range"):
        CorpusConfig(**{**CFG, "speed_range_m_s": (0.1, 0.5)})


def test_more_curve_harmonics_are_a_corpus_of_their_own():
    """``curve_harmonics`` other than the default is written on the corpus (and makes another cache); the default
    leaves the attributes as they were, so corpora cached before the field stay current."""
    more = CorpusConfig(**{**CFG, "n_subjects": 1, "curve_harmonics": 6})
    assert corpus_attrs(more)["curve_harmonics"] == 6
    assert "curve_harmonics" not in corpus_attrs(CorpusConfig(**CFG))
    assert not is_current_corpus(corpus_attrs(CorpusConfig(**CFG)), more)
    a, b = simulate_subject(more, 0), simulate_subject(CorpusConfig(**{**CFG, "n_subjects": 1}), 0)
    assert np.abs(a.angle["rknee"] - b.angle["rknee"]).max() > 0.1  # another person
    with pytest.raises(ImukinError, match="curve_harmonics must be 1-6"):
        CorpusConfig(**{**CFG, "curve_harmonics": 0})
    knee = CorpusConfig(**{**CFG, "n_subjects": 1, "curve_harmonics": 6, "harmonic_curves": ["knee_flexion"]})
    assert corpus_attrs(knee)["harmonic_curves"] == "knee_flexion"
    assert not is_current_corpus(corpus_attrs(knee), more) and not is_current_corpus(corpus_attrs(more), knee)
    assert not is_current_corpus(corpus_attrs(more), CorpusConfig(**{**CFG, "n_subjects": 1}))  # nor the default
    assert "harmonic_curves" not in corpus_attrs(more)  # every curve: left out
    c = simulate_subject(knee, 0)
    assert np.abs(c.angle["rknee"] - a.angle["rknee"]).max() > 0.1  # the knee differs in its 4th-6th harmonics alone
    with pytest.raises(ImukinError, match="harmonic_curves must name curves"):
        CorpusConfig(**{**CFG, "harmonic_curves": ["knee"]})


def test_a_placement_moves_only_its_sensors():
    """Sensors at other sites (``placement``): the same person and motion, the same signals for the segments left
    at their default sites, other signals for the moved ones; written on the corpus, the default left out."""
    one = {**CFG, "n_subjects": 1}
    heel = CorpusConfig(**one, placement={"foot": "heel", "thigh": "lateral"})
    assert heel.placement == {"foot": "heel"}  # default sites are dropped: one cache per real placement
    assert CorpusConfig(**one, placement={"thigh": "lateral"}).placement is None
    assert corpus_attrs(heel)["placement"] == "foot=heel" and "placement" not in corpus_attrs(CorpusConfig(**one))
    assert not is_current_corpus(corpus_attrs(CorpusConfig(**one)), heel)
    a, b = simulate_subject(heel, 0), simulate_subject(CorpusConfig(**one), 0)
    assert np.array_equal(a.angle["rankle"], b.angle["rankle"])
    for seg in ("pelvis", "rthigh", "rshank"):
        assert np.array_equal(a.acc[seg], b.acc[seg]) and np.array_equal(a.gyr[seg], b.gyr[seg])
    # the heel sits about 0.1 m behind the instep: the foot's acceleration differs by the lever arm's terms
    assert np.sqrt(np.mean((a.acc["rfoot"] - b.acc["rfoot"]) ** 2)) > 1.0
    with pytest.raises(ImukinError, match="foot sensor site"):
        CorpusConfig(**one, placement={"foot": "toe"})


def test_skin_sliding_with_the_joints_turns_only_thigh_and_shank_sensors():
    """``errors.tissue_joint_coupling``: with otherwise ideal sensors, the pelvis and foot sensors read what they read
    without it, the thigh and shank sensors turn with their joints (the thigh's gyroscope differs most when the knee
    turns fastest); written on the corpus only when set, so corpora cached before it stay current."""
    one = {**CFG, "n_subjects": 1}
    ideal = SensorErrorConfig.ideal()
    plain = CorpusConfig(**one, errors=ideal)
    sliding = CorpusConfig(**one, errors=replace(ideal, tissue_joint_coupling=0.05))
    assert "tissue_joint_coupling" not in corpus_attrs(CorpusConfig(**one))["errors"]
    assert "tissue_joint_coupling" in corpus_attrs(sliding)["errors"]
    assert not is_current_corpus(corpus_attrs(plain), sliding)
    a, b = simulate_subject(sliding, 0), simulate_subject(plain, 0)
    for seg in ("pelvis", "rfoot", "lfoot"):
        assert np.array_equal(a.gyr[seg], b.gyr[seg]) and np.array_equal(a.acc[seg], b.acc[seg])
    for seg in ("rthigh", "lthigh", "rshank", "lshank"):
        assert np.sqrt(np.mean((a.gyr[seg] - b.gyr[seg]) ** 2)) > 1e-3  # rad/s
    extra = np.linalg.norm(a.gyr["rthigh"] - b.gyr["rthigh"], axis=1)  # (T,) rad/s of sliding
    knee_rate = np.abs(np.gradient(a.angle["rknee"][:, 0]))  # (T,) deg per frame
    hip_rate = np.abs(np.gradient(a.angle["rhip"][:, 0]))
    assert np.corrcoef(extra, knee_rate + hip_rate)[0, 1] > 0.5


def test_sensors_of_a_person_standing_still_read_gravity_and_no_turn():
    """First principles on a standing start (``stand_prob``): every ideal accelerometer reads +g up and no
    more, every gyroscope nearly nothing (postural sway only); the option is written on the corpus only when set."""
    cfg = CorpusConfig(**{**CFG, "n_subjects": 1, "duration_s": 30.0, "stand_prob": 1.0,
                          "errors": SensorErrorConfig.ideal()})
    rec = simulate_subject(cfg, 0)
    still = slice(0, int(0.9 * rec.fs))  # inside the standing start, whatever its drawn length (1-4 s)
    for seg in SEGMENTS:
        acc, gyr = rec.acc[seg][still], rec.gyr[seg][still]
        assert np.abs(np.linalg.norm(acc, axis=1) - G).max() < 0.05, seg
        up = np.einsum("nij,nj->ni", rec.rmat[seg][still], acc)  # lab specific force
        assert np.abs(up[:, 1] - G).max() < 0.05 and np.abs(up[:, [0, 2]]).max() < 0.3, seg
        assert np.degrees(np.abs(gyr)).max() < 3.0, seg
    walking = rec.gyr["rshank"][int(12 * rec.fs):int(16 * rec.fs)]
    assert np.degrees(np.abs(walking)).max() > 100.0  # and then walks
    assert corpus_attrs(cfg)["stand_prob"] == "1" and "stand_prob" not in corpus_attrs(CorpusConfig(**CFG))
    assert not is_current_corpus(corpus_attrs(CorpusConfig(**{**CFG, "stand_prob": 0.5})), cfg)
    with pytest.raises(ImukinError, match="walking only"):
        CorpusConfig(**{**CFG, "activity": "running", "stand_prob": 0.5})
