import json

import numpy as np

from imukin.data import SubjectRecord
from imukin.preprocessing.quality import (
    QualityConfig,
    check_record,
    frame_ranges,
    range_of_motion,
    rom_outliers,
    run_quality_checks,
)


def _record(sid="s0001", fs=200.0, n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    rec = SubjectRecord(subject_id=sid, fs=fs)
    for seg in ("rthigh", "rshank"):
        rec.acc[seg] = np.array([0, 9.81, 0]) + np.sin(2 * np.pi * t)[:, None] * rng.uniform(1, 3, 3)
        rec.gyr[seg] = np.sin(2 * np.pi * t)[:, None] * rng.uniform(1, 4, 3)
    rec.angle["rknee"] = np.stack([30 + 30 * np.sin(2 * np.pi * t), 3 * np.sin(2 * np.pi * t),
                                   5 * np.cos(2 * np.pi * t)], axis=1) * rng.uniform(0.9, 1.1)
    return rec


def test_clean_record_passes():
    assert check_record(_record()) == []


def test_each_reference_check_names_subject_place_and_frames():
    rec = _record()
    rec.angle["rknee"][100:103, 0] += 20.0  # flexion jumps at frames 100 and 103
    rec.acc["rshank"][250, 1] += 40.0  # acc_y spike at frame 250
    rec.gyr["rthigh"][300:305, 2] = 16.0  # gyr_z above 15 rad/s
    ex = {(e.check, e.where): e for e in check_record(rec)}
    assert ex[("angle_jump", "rknee/flexion")].frames == [(100, 100), (103, 103)]
    assert ex[("acc_jump", "rshank/acc_y")].frames == [(250, 251)]
    assert ex[("gyr_max", "rthigh/gyr_z")].frames == [(300, 304)]
    assert ex[("gyr_max", "rthigh/gyr_z")].limit == 15.0
    assert all(e.subject == "s0001" for e in ex.values())


def test_per_frame_thresholds_follow_the_rate():
    rec = _record(fs=100.0)
    rec.angle["rknee"][50:, 1] += 8.0  # 8 deg in one frame: above the 100 Hz adduction limit of 6 deg/frame
    assert check_record(rec)[0].limit == 6.0
    rec2 = _record(fs=100.0)
    rec2.angle["rknee"][50:, 1] += 5.0  # below the 100 Hz limit of 6 deg/frame
    assert check_record(rec2) == []
    assert check_record(rec2, QualityConfig(scale_with_rate=False))[0].check == "angle_jump"


def test_angle_wrap_is_not_a_jump():
    rec = _record()
    rec.angle["rknee"][:, 2] = np.where(np.arange(400) < 200, 179.5, -179.5)
    assert check_record(rec) == []


def test_extreme_range_of_motion_drops_half_a_percent():
    recs = [_record(f"s{k:04d}", n=200, seed=k) for k in range(400)]
    recs[17].angle["rknee"][:, 1] *= 5.0  # adduction range five times larger
    out = rom_outliers(recs)
    assert {(e.subject, e.where) for e in out if e.worst > e.limit} >= {("s0017", "rknee/adduction")}
    assert len({e.subject for e in out}) <= 3 * 2  # one per end per joint-axis
    assert rom_outliers(recs[:100]) == []  # too few subjects to drop 0.5 %
    table = {r.subject_id: range_of_motion(r) for r in recs}
    assert [e.as_dict() for e in rom_outliers(table)] == [e.as_dict() for e in out]


def test_report_sets_checks_passed_and_prints():
    good, bad = _record("s0001"), _record("s0002")
    bad.gyr["rshank"][10, 0] = 13.0
    rep = run_quality_checks([good, bad])
    assert rep.failed == ["s0002"] and rep.passed == ["s0001"]
    assert good.attrs["checks_passed"] is True and bad.attrs["checks_passed"] is False
    text = rep.to_text()
    assert "s0002" in text and "gyr_max" in text and "rshank/gyr_x" in text and "10" in text
    assert json.loads(rep.to_json())["n_failed"] == 1


def test_frame_ranges():
    assert frame_ranges(np.array([0, 1, 1, 0, 1, 0, 0, 1], bool)) == [(1, 2), (4, 4), (7, 7)]


def test_acc_jump_does_not_fire_on_clean_people_or_real_walking():
    """Heel strikes make large per-frame jumps on every stride; clean data must pass (a glitch still fails)."""
    from pathlib import Path

    from imukin.io.imu_csv import read_imu_csv
    from imukin.simulation.corpus import CorpusConfig, simulate_corpus

    for activity in ("walking", "running"):
        cfg = CorpusConfig(activity=activity, n_subjects=5, seed=7, fs=200.0, duration_s=6.0)
        for rec in simulate_corpus(cfg, workers=1):
            assert [e.where for e in check_record(rec) if e.check == "acc_jump"] == [], (activity, rec.subject_id)
    real = Path(__file__).parents[1] / "data" / "real" / "gaitmap" / "imu_sample.csv"
    rec = SubjectRecord(subject_id="s0001", fs=204.8)
    for seg, r in zip(("lfoot", "rfoot"), read_imu_csv(real, fs=204.8)):
        rec.acc[seg], rec.gyr[seg] = r.acc, np.zeros_like(r.gyr)
    assert [e for e in check_record(rec) if e.check == "acc_jump"] == []
    rec.acc["lfoot"][1000, 2] += 20 * np.abs(np.diff(rec.acc["lfoot"][:, 2])).max()  # a glitch far above impacts
    assert [e.where for e in check_record(rec) if e.check == "acc_jump"] == ["lfoot/acc_z"]
