"""imukin.streaming and ``imukin stream``: causal models sample by sample, LSL in and out, replay, bad input."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch

# liblsl reads its configuration once per process, at first use: discovery on this machine only, on IPv4,
# in a session of its own (so that no other LSL stream on the network is found), and no log lines.
_SESSION = f"imukin-test-{uuid.uuid4().hex[:8]}"
LSL_CONFIG = (f"[ports]\nIPv6 = disable\n[multicast]\nResolveScope = machine\n[lab]\nKnownPeers = {{127.0.0.1}}\n"
              f"SessionID = {_SESSION}\n[log]\nlevel = -3\n")

_LSL_CFG = Path(tempfile.mkdtemp(prefix="imukin-lsl-")) / "lsl_api.cfg"
_LSL_CFG.write_text(LSL_CONFIG)
atexit.register(shutil.rmtree, _LSL_CFG.parent, True)
os.environ["LSLAPICFG"] = str(_LSL_CFG)  # for this process (imukin stream reads it) and the ones it starts

import pylsl

pylsl.set_config_content(LSL_CONFIG)

from imukin.api import parse_mounting
from imukin.cli import main
from imukin.conventions import JOINT_NAMES
from imukin.errors import ImukinError
from imukin.models import create_model, save_checkpoint
from imukin.normalization import Normalizer
from imukin.predictor import AnglePredictor
from imukin.pretrained import PRETRAINED_DIR
from imukin.streaming import (
    StreamConfig,
    StreamingEngine,
    input_channels,
    output_channels,
    segments_from_channels,
)

FS = 100.0
SEGS = ["pelvis", "rthigh", "lthigh", "rshank", "lshank", "rfoot", "lfoot"]


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def walk():
    """One simulated person walking for 12 s at 100 Hz (sensor errors included)."""
    from imukin.simulation.corpus import CorpusConfig, simulate_corpus

    return next(iter(simulate_corpus(CorpusConfig(activity="walking", n_subjects=1, seed=7, fs=FS, duration_s=12.0),
                                     workers=1, progress=False)))


def _samples(rec, segments=SEGS) -> np.ndarray:
    """(N, 6 * segments) in the stream layout."""
    return np.concatenate([np.column_stack([rec.acc[s], rec.gyr[s]]) for s in segments], axis=1)


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, walk):
    """A tiny causal CNN per joint at 100 Hz (random weights, normalisation from the data): {joint: folder}."""
    from imukin.conventions import side_inputs

    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for k, joint in enumerate(JOINT_NAMES):
        torch.manual_seed(k)
        model = create_model("cnn", causal=True, n_layers=2, channels=8, kernel_size=5, dilation=2, head_hidden=8)
        x = side_inputs(*walk.joint_inputs(joint, "right"), "right")
        norm = Normalizer(x.mean(0), x.std(0) + 1e-3, np.array([20.0, 2.0, -3.0]), np.array([15.0, 5.0, 6.0]))
        meta = {"target": "angle", "joint": joint, "activity": "walking", "fs": FS, "window": 400,
                "normalization": norm.to_dict()}
        runs[joint] = save_checkpoint(root / f"walking_{joint}_tiny_causal", model.eval(), meta)
    return runs


def _offline(run, rec, joint, side, rot=None):
    """The causal model on the whole recording at once (AnglePredictor): (N, 3) degrees."""
    return AnglePredictor(run).predict(*rec.joint_inputs(joint, side), side=side, fs=FS)


def _push_in_chunks(engine, x, seed=0, max_chunk=7):
    rng = np.random.default_rng(seed)
    outs, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, max_chunk + 1))
        outs.append(engine.push(x[i:i + n]))
        i += n
    outs.append(engine.finish())
    return outs


def _rot(z, x, y):
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("ZXY", [z, x, y], degrees=True).as_matrix()


# ---------------------------------------------------------------- the engine
def test_streaming_equals_the_causal_model_offline(walk, tiny_runs):
    engine = StreamingEngine(StreamConfig(fs=FS, runs=tiny_runs, align="none", segments=SEGS))
    assert engine.joints == ["rhip", "lhip", "rknee", "lknee", "rankle", "lankle"]
    assert engine.output_channels == output_channels(engine.joints)
    outs = _push_in_chunks(engine, _samples(walk))
    assert [o.first for o in outs if len(o)] == list(np.cumsum([0] + [len(o) for o in outs if len(o)])[:-1])
    y = np.concatenate([o.angles for o in outs])  # (N, 18)
    assert y.shape == (walk.n_frames, 18)
    for c, name in enumerate(engine.joints):
        joint, side = name[1:], {"r": "right", "l": "left"}[name[0]]
        ref = _offline(tiny_runs[joint], walk, joint, side)
        np.testing.assert_allclose(y[:, 3 * c:3 * c + 3], ref, atol=1e-4, err_msg=name)
        assert ref.std(0).min() > 0.05  # the angles move: equality is no accident of constant output


def test_an_ensemble_of_causal_cnns_streams_as_it_runs_offline(walk, tiny_runs, tmp_path):
    from imukin.models import load_checkpoint
    from imukin.models.ensemble import build_ensemble

    _, meta = load_checkpoint(tiny_runs["knee"])
    torch.manual_seed(99)
    other = create_model("cnn", causal=True, n_layers=2, channels=8, kernel_size=5, dilation=2, head_hidden=8)
    second = save_checkpoint(tmp_path / "second", other.eval(), meta)  # same inputs and scale, other weights
    ensemble = build_ensemble([tiny_runs["knee"], second], tmp_path / "ensemble")
    engine = StreamingEngine(StreamConfig(fs=FS, runs={"knee": ensemble}, joints=("knee",), align="none",
                                          segments=("rthigh", "lthigh", "rshank", "lshank")))
    outs = _push_in_chunks(engine, _samples(walk, engine.segments), max_chunk=5)
    y = np.concatenate([o.angles for o in outs])  # (N, 6)
    for c, side in enumerate(("right", "left")):
        ref = _offline(ensemble, walk, "knee", side)
        np.testing.assert_allclose(y[:, 3 * c:3 * c + 3], ref, atol=1e-4, err_msg=side)
        members = [_offline(r, walk, "knee", side) for r in (tiny_runs["knee"], second)]
        np.testing.assert_allclose(ref, np.mean(members, axis=0), atol=1e-4)  # it is the members' mean ...
        assert np.abs(members[0] - members[1]).max() > 0.5  # ... of members that differ
    two_sided = [save_checkpoint(tmp_path / f"two{k}", create_model("cnn", n_layers=1, channels=4, kernel_size=3),
                                 meta) for k in range(2)]
    with pytest.raises(ImukinError, match="or an ensemble of them"):
        StreamingEngine(StreamConfig(fs=FS, runs={"knee": build_ensemble(two_sided, tmp_path / "two")},
                                     joints=("knee",), align="none"))


def test_a_shipped_ensemble_of_causal_cnns_is_a_streaming_model_not_a_predict_one(tiny_runs, tmp_path, monkeypatch):
    import imukin.pretrained as pretrained
    from imukin.models import load_checkpoint
    from imukin.models.ensemble import build_ensemble

    _, meta = load_checkpoint(tiny_runs["knee"])
    ship = tmp_path / "pretrained"
    build_ensemble([tiny_runs["knee"], tiny_runs["knee"]], ship / "walking_knee_cnn_causal")
    save_checkpoint(ship / "walking_knee_cnn", create_model("cnn", n_layers=1, channels=4, kernel_size=3), meta)
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", ship)
    assert pretrained.shipped_streaming_models("walking", "knee") == [ship / "walking_knee_cnn_causal"]
    assert pretrained.shipped_angle_models("walking", "knee") == [ship / "walking_knee_cnn"]


SHIPPED = PRETRAINED_DIR / "walking_knee_cnn_causal"


@pytest.mark.skipif(not (SHIPPED / "model.json").exists(), reason="the causal models are not shipped")
def test_shipped_causal_knee_streams_as_it_runs_offline(walk):
    engine = StreamingEngine(StreamConfig(fs=FS, joints=("knee",), align="none"))
    assert engine.models == {"rknee": "walking_knee_cnn_causal", "lknee": "walking_knee_cnn_causal"}
    assert engine.segments == ["rthigh", "lthigh", "rshank", "lshank"]
    outs = _push_in_chunks(engine, _samples(walk, engine.segments), max_chunk=3)
    y = np.concatenate([o.angles for o in outs])
    for c, side in enumerate(("right", "left")):
        ref = _offline(SHIPPED, walk, "knee", side)
        np.testing.assert_allclose(y[:, 3 * c:3 * c + 3], ref, atol=1e-4)
        truth = walk.joint_angle("knee", side)[:, 0]
        err = y[200:, 3 * c] - truth[200:]
        assert np.sqrt(np.mean((err - err.mean()) ** 2)) < 6.0  # it does follow the knee (flexion swings ~60 deg)


def test_known_mounting_from_a_predict_report_undoes_the_rotation(walk, tiny_runs):
    x = _samples(walk)
    mounts = {seg: _rot(30.0 * i, 80.0 if i % 2 else -20.0, 15.0 * i) for i, seg in enumerate(SEGS)}  # v_seg = R v_sens
    rotated = x.copy()
    for i, seg in enumerate(SEGS):
        for c in (6 * i, 6 * i + 3):
            rotated[:, c:c + 3] = x[:, c:c + 3] @ mounts[seg]  # v_sens = R^T v_seg
    report = {"recording": "x", "sensors": {seg: {"sensor": seg, "mounting": {"r_mount": r.tolist(), "method": "auto"}}
                                            for seg, r in mounts.items()}}
    assert set(parse_mounting(report)) == set(SEGS)
    plain = np.concatenate([o.angles for o in _push_in_chunks(StreamingEngine(StreamConfig(
        fs=FS, runs=tiny_runs, align="none", segments=SEGS)), x)])
    engine = StreamingEngine(StreamConfig(fs=FS, runs=tiny_runs, mounting=report, segments=SEGS))
    assert engine.ready  # nothing to find: angles from the first sample on
    mounted = np.concatenate([o.angles for o in _push_in_chunks(engine, rotated)])
    np.testing.assert_allclose(mounted, plain, atol=2e-3)


def test_warmup_finds_the_mounting_then_gives_every_sample(walk, tiny_runs):
    segs = ["rthigh", "rshank"]
    x = _samples(walk, segs)
    truth = {"rthigh": _rot(90.0, 0.0, 0.0), "rshank": _rot(0.0, 0.0, 180.0)}  # sensors on sideways / backwards
    for i, seg in enumerate(segs):
        for c in (6 * i, 6 * i + 3):
            x[:, c:c + 3] = x[:, c:c + 3] @ truth[seg]
    engine = StreamingEngine(StreamConfig(fs=FS, runs={"knee": tiny_runs["knee"]}, joints=("knee",),
                                          sides=("right",), segments=segs, warmup_s=6.0))
    assert not engine.ready
    first = engine.push(x[:599])
    assert len(first) == 0  # still warming up
    at_end = engine.push(x[599:601])
    assert engine.ready and at_end.first == 0 and len(at_end) == 601  # the warm-up's angles, late, at once
    rest = engine.push(x[601:])
    assert rest.first == 601 and len(rest) == len(x) - 601
    for seg in segs:
        found = np.asarray(engine.mounting[seg]["r_mount"])
        err = np.degrees(np.arccos(np.clip((np.trace(found @ truth[seg].T) - 1) / 2, -1, 1)))
        assert err < 20.0, (seg, err)  # the simulated sensors' own mounting errors are within this


@pytest.mark.parametrize("align", ["auto", "none"])
def test_a_cut_gyroscope_is_named_once_it_has_saturated_and_a_whole_one_is_not(walk, tiny_runs, align):
    """With a warm-up or without one (mountings known), in small pushes, as imukin predict names it."""
    segs = ["rthigh", "rshank"]
    x = _samples(walk, segs)
    lim = 0.6 * np.abs(x[:, 9:12]).max()  # the shank's gyroscope cut at a range its swing exceeds
    cut = x.copy()
    cut[:, 9:12] = np.clip(cut[:, 9:12], -lim, lim)
    for samples, expected in ((x, []), (cut, ["rshank"])):
        engine = StreamingEngine(StreamConfig(fs=FS, runs={"knee": tiny_runs["knee"]}, joints=("knee",),
                                              sides=("right",), segments=segs, warmup_s=6.0, align=align))
        assert engine.ready == (align == "none")
        assert sum(len(o) for o in _push_in_chunks(engine, samples)) == len(samples)  # the angles all the same
        named = [n.split(":")[0] for n in engine.notes if "gyroscope saturated" in n]
        assert named == expected, engine.notes
        assert all("cannot put cut gyroscope peaks back" in n for n in engine.notes if "saturated" in n)


@pytest.mark.skipif(not (SHIPPED / "model.json").exists(), reason="the causal models are not shipped")
def test_a_slow_walkers_warm_up_notes_the_long_strides_and_a_usual_walkers_does_not(walk):
    """As imukin predict: the shipped models learnt from strides up to about 1.6 s."""
    from dataclasses import replace

    from imukin.simulation.corpus import CorpusConfig, simulate_subject

    slow = simulate_subject(replace(CorpusConfig(activity="walking", n_subjects=1, seed=7, fs=FS, duration_s=12.0),
                                    speed_range_m_s=(0.3, 0.35)), 0)
    for rec, expected in ((slow, 1), (walk, 0)):
        engine = StreamingEngine(StreamConfig(fs=FS, joints=("knee",), sides=("right",), warmup_s=10.0))
        engine.push(_samples(rec, engine.segments))
        assert engine.ready
        found = [n for n in engine.notes if "stride every" in n]
        assert len(found) == expected, engine.notes
        if expected:
            assert "slower walking than the models learnt from" in found[0]


def test_missing_values_hold_the_last_sample(walk, tiny_runs):
    x = _samples(walk)[:300]
    holes = x.copy()
    holes[100:103, 6:12] = np.nan  # rthigh lost for three samples
    ref = x.copy()
    ref[100:103, 6:12] = x[99, 6:12]
    cfg = {"fs": FS, "runs": tiny_runs, "align": "none", "segments": SEGS}
    a, b = StreamingEngine(StreamConfig(**cfg)), StreamingEngine(StreamConfig(**cfg))
    np.testing.assert_allclose(a.push(holes).angles, b.push(ref).angles, atol=1e-5)
    assert a.n_held == 18


def test_channel_layout_is_six_per_sensor_in_order():
    assert input_channels(["rthigh", "rshank"])[:7] == ["rthigh_acc_x", "rthigh_acc_y", "rthigh_acc_z", "rthigh_gyr_x",
                                                        "rthigh_gyr_y", "rthigh_gyr_z", "rshank_acc_x"]
    assert segments_from_channels(input_channels(["lfoot", "pelvis"])) == ["lfoot", "pelvis"]
    with pytest.raises(ImukinError, match="layout"):
        segments_from_channels(["a", "b", "c", "d", "e", "f"])


def test_engine_refuses_bad_input(tiny_runs, tmp_path):
    with pytest.raises(ImukinError, match="runs at 100 Hz"):
        StreamingEngine(StreamConfig(fs=200.0, runs=tiny_runs, align="none"))
    with pytest.raises(ImukinError, match="missing rshank"):
        StreamingEngine(StreamConfig(fs=FS, runs=tiny_runs, joints=("knee",), sides=("right",), segments=("rthigh",)))
    with pytest.raises(ImukinError, match="unknown joint"):
        StreamConfig(fs=FS, joints=("elbow",))
    two_sided = create_model("cnn", n_layers=1, channels=4, kernel_size=3)
    meta = {"target": "angle", "joint": "knee", "fs": FS, "window": 400,
            "normalization": Normalizer(np.zeros(16), np.ones(16), np.zeros(3), np.ones(3)).to_dict()}
    with pytest.raises(ImukinError, match="causal"):
        StreamingEngine(StreamConfig(fs=FS, runs={"knee": save_checkpoint(tmp_path / "r", two_sided, meta)},
                                     joints=("knee",), align="none"))
    engine = StreamingEngine(StreamConfig(fs=FS, runs=tiny_runs, joints=("knee",), sides=("right",), align="none"))
    with pytest.raises(ImukinError, match="12 values"):
        engine.push(np.zeros((3, 11)))
    short = StreamingEngine(StreamConfig(fs=FS, runs=tiny_runs, joints=("knee",), sides=("right",)))
    short.push(np.zeros((50, 12)))
    with pytest.raises(ImukinError, match="ended after 0.5 s"):
        short.finish()
    with pytest.raises(ImukinError, match="no sensor mounting"):
        parse_mounting({"sensors": {"rthigh": {"sensor": "a", "mounting": None}}})


# ---------------------------------------------------------------- the command: replay
@pytest.fixture(scope="module")
def recording(tmp_path_factory, walk):
    from imukin.io.job_h5 import write_dataset

    return write_dataset(tmp_path_factory.mktemp("rec") / "walk100.h5", [walk], attrs={"activity": "walking"})


def _one_error_line(capsys, rc, *words):
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("imukin: error: "), err
    assert "Traceback" not in err[0]
    for w in words:
        assert w in err[0], err
    return err[0]


def test_replay_to_csv_gives_the_offline_angles(recording, tiny_runs, walk, tmp_path, capsys):
    out = tmp_path / "angles.csv"
    t0 = time.perf_counter()
    rc = main(["stream", "--replay", str(recording), "--run", str(tiny_runs["knee"]), "--align", "none",
               "--speed", "20", "--duration-s", "4", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert time.perf_counter() - t0 >= 4.0 / 20  # paced: 4 s of samples at 20 x real time
    assert "400 samples" in capsys.readouterr().out
    header = out.read_text().splitlines()[0].split(",")
    assert header == ["time_s", "rknee_flexion_deg", "rknee_adduction_deg", "rknee_rotation_deg",
                      "lknee_flexion_deg", "lknee_adduction_deg", "lknee_rotation_deg"]
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    assert table.shape == (400, 7)
    np.testing.assert_allclose(table[:, 0], np.arange(400) / FS, atol=1e-6)
    ref = _offline(tiny_runs["knee"], walk, "knee", "left")[:400]
    np.testing.assert_allclose(table[:, 4:7], ref, atol=1e-3)  # CSV rounding (4 decimals)
    assert [p.name for p in tmp_path.iterdir()] == ["angles.csv"]


def test_a_replay_shorter_than_the_warm_up_gives_every_angle_at_the_end(recording, tiny_runs, tmp_path, capsys):
    """6 s of walking with the mountings to find (warm-up 10 s): they are found from all 6 s when the
    input ends, every sample gets its angles, and the summary says there was no per-chunk timing."""
    out = tmp_path / "angles.csv"
    rc = main(["stream", "--replay", str(recording), "--run", str(tiny_runs["knee"]), "--speed", "50",
               "--duration-s", "6", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "600 samples" in captured.out and "all within the warm-up" in captured.out and "nan" not in captured.out
    assert np.loadtxt(out, delimiter=",", skiprows=1).shape == (600, 7)


def test_replay_bad_input_is_one_line_and_leaves_nothing(recording, tiny_runs, tmp_path, capsys):
    out = tmp_path / "angles.csv"
    base = ["stream", "--out", str(out), "--quiet"]
    _one_error_line(capsys, main(base + ["--replay", str(recording), "--fs", "200"]), "200 Hz contradicts")
    _one_error_line(capsys, main(base + ["--replay", str(recording), "--joints", "elbow"]), "elbow")
    _one_error_line(capsys, main(["stream", "--replay", str(recording)]), "name an output")
    _one_error_line(capsys, main(base + ["--replay", str(recording), "--mounting", str(tmp_path / "none.json")]),
                    "none.json")
    # the stream ends before a mounting could be found: nothing is written
    _one_error_line(capsys, main(base + ["--replay", str(recording), "--run", str(tiny_runs["knee"]),
                                         "--speed", "50", "--duration-s", "1"]), "ended after 1.0 s")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- the command: LSL
def _outlet(name: str, segments, fs=FS, n_channels=None, labels=True):
    info = pylsl.StreamInfo(name, "IMU", n_channels or 6 * len(segments), fs, pylsl.cf_float32, f"src-{name}")
    if labels:
        chans = info.desc().append_child("channels")
        for c in input_channels(segments):
            chans.append_child("channel").append_child_value("label", c)
    return pylsl.StreamOutlet(info)


def test_lsl_bad_streams_are_one_line_and_leave_nothing(tiny_runs, tmp_path, capsys):
    out = tmp_path / "angles.csv"
    base = ["stream", "--run", str(tiny_runs["knee"]), "--out", str(out), "--quiet", "--timeout-s", "2"]
    _one_error_line(capsys, main(base + ["--lsl-name", f"absent-{uuid.uuid4().hex[:6]}"]), "no LSL stream",
                    "within 2 s")
    name = f"imu-{uuid.uuid4().hex[:6]}"
    keep = _outlet(name, ["rthigh"], n_channels=7, labels=False)  # noqa: F841 (must stay alive)
    _one_error_line(capsys, main(base + ["--lsl-name", name, "--segments", "rthigh"]), "7 channels", "need 6")
    name200 = f"imu-{uuid.uuid4().hex[:6]}"
    keep200 = _outlet(name200, ["rthigh", "rshank"], fs=200.0)  # noqa: F841
    _one_error_line(capsys, main(base + ["--lsl-name", name200]), "200 Hz", "100 Hz")
    name_feet = f"imu-{uuid.uuid4().hex[:6]}"
    keep_feet = _outlet(name_feet, ["rfoot", "lfoot"])  # noqa: F841
    _one_error_line(capsys, main(base + ["--lsl-name", name_feet]), "missing")
    assert list(tmp_path.iterdir()) == []


def test_lsl_end_to_end_outlet_to_imukin_stream_to_inlet_and_csv(tiny_runs, walk, tmp_path):
    """A real LSL outlet on the loopback feeds ``imukin stream`` (its own process); its angles come back
    over LSL and in the CSV, equal to the causal model run offline on the same samples."""
    segs = ["rthigh", "rshank"]
    name, out_name = f"imu-{uuid.uuid4().hex[:6]}", f"angles-{uuid.uuid4().hex[:6]}"
    n = 300
    x = _samples(walk, segs)[:n].astype(np.float32)
    outlet = _outlet(name, segs)
    env = {**os.environ, "LSLAPICFG": str(_LSL_CFG)}
    csv = tmp_path / "out" / "angles.csv"
    proc = subprocess.Popen([sys.executable, "-m", "imukin", "stream", "--lsl-name", name, "--timeout-s", "30",
                             "--run", str(tiny_runs["knee"]), "--side", "right", "--align", "none",
                             "--lsl-out", out_name, "--out", str(csv), "--duration-s", str(n / FS)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert outlet.wait_for_consumers(60), proc.stderr.read() if proc.poll() is not None else "no consumer"
        found = pylsl.resolve_byprop("name", out_name, timeout=60)
        assert found, "imukin stream made no outlet"
        inlet = pylsl.StreamInlet(found[0])
        info = inlet.info(10)
        assert info.channel_count() == 3 and info.nominal_srate() == FS and info.type() == "JointAngles"
        inlet.open_stream(10)
        stamps = pylsl.local_clock() + np.arange(n) / FS
        got, got_ts = [], []

        def send():
            for i in range(0, n, 10):  # 10 samples every 0.02 s: five times real time
                outlet.push_chunk(x[i:i + 10], stamps[i:i + 10])
                time.sleep(0.02)

        sender = threading.Thread(target=send)
        sender.start()
        t_end = time.time() + 60
        while sum(len(g) for g in got) < n and time.time() < t_end:
            d, ts = inlet.pull_chunk(timeout=0.2)
            if d:
                got.append(np.asarray(d))
                got_ts.append(np.asarray(ts))
            elif proc.poll() is not None and time.time() > t_end - 50:  # imukin stream has ended, 10 s passed
                break
        sender.join()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert got, f"no angles arrived over LSL; imukin stream said: {out!r} {err!r}"
    y = np.concatenate(got)
    assert y.shape == (n, 3)
    ref = AnglePredictor(tiny_runs["knee"]).predict(*(x[:, k:k + 3] for k in (0, 3, 6, 9)), side="right", fs=FS)
    np.testing.assert_allclose(y, ref, atol=1e-3)
    np.testing.assert_allclose(np.concatenate(got_ts), stamps, atol=1e-3)  # each angle carries its sample's stamp
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert table.shape == (n, 4)
    np.testing.assert_allclose(table[:, 1:], ref, atol=1e-3)
    assert f"{n} samples" in out


# ---------------------------------------------------------------- export
@pytest.mark.slow  # the ONNX exporter traces the model: 5-30 s
def test_causal_model_exports_to_onnx_and_stays_causal(tiny_runs, tmp_path, capsys):
    pytest.importorskip("onnxscript")
    ort = pytest.importorskip("onnxruntime")
    import json

    out = tmp_path / "knee_causal.onnx"
    assert main(["export", "--run", str(tiny_runs["knee"]), "--out", str(out), "--quiet"]) == 0
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["causal"] is True and side["fs"] == FS and side["receptive_field"] == 17
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    run = AnglePredictor(tiny_runs["knee"])
    x = (np.random.default_rng(3).standard_normal((1, 300, 16)) * run.norm.x_std + run.norm.x_mean).astype(np.float32)
    got = sess.run(None, {"imu": x})[0]  # (1, 300, 3) degrees
    np.testing.assert_allclose(got[0], run.outputs(x[0]), atol=1e-3)
    x2 = x.copy()
    x2[:, 200:] += 5.0  # another future
    np.testing.assert_array_equal(sess.run(None, {"imu": x2})[0][:, :200], got[:, :200])


def test_the_status_line_announces_a_saturated_sensor_once_as_it_is_found(walk, tiny_runs, capsys):
    import time as _time

    from imukin.stream_cli import _Status

    segs = ["rthigh", "rshank"]
    x = _samples(walk, segs)
    lim = 0.6 * np.abs(x[:, 9:12]).max()
    x[:, 9:12] = np.clip(x[:, 9:12], -lim, lim)  # the shank's gyroscope cut at a range its swing exceeds
    engine = StreamingEngine(StreamConfig(fs=FS, runs={"knee": tiny_runs["knee"]}, joints=("knee",),
                                          sides=("right",), segments=segs, align="none"))
    status = _Status(engine, "test", quiet=False)
    printed = []
    for a in range(0, len(x), 100):  # a status update after every second of samples
        out = engine.push(x[a:a + 100])
        status.last = -np.inf  # as if the update interval had passed
        status.update(out, _time.perf_counter(), 100)
        printed += [line for line in capsys.readouterr().err.splitlines() if "saturated" in line]
    assert len(printed) == 1 and printed[0].startswith("imukin: warning: rshank: the gyroscope saturated"), printed
