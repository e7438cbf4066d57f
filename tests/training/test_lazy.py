"""Lazy HDF5 windows: same windows and statistics as in memory, peak memory below a cap smaller than the corpus."""
import tracemalloc

import h5py
import numpy as np
import pytest
from safetensors.numpy import load_file

from imukin.conventions import joint_name, joint_segments
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.job_h5 import write_dataset
from imukin.training.dataset import WindowSampler, load_joint_data
from imukin.training.lazy import load_joint_data_lazy
from imukin.training.trainer import TrainConfig, train

N_SUBJECTS, N_FRAMES = 20, 12_000  # 20 subjects x 60 s at 200 Hz
CAP_BYTES = 8 * 2 ** 20  # memory cap of lazy loading


def _record(i: int, rng) -> SubjectRecord:
    rec = SubjectRecord(subject_id=f"s{i:04d}", fs=200.0)
    t = np.arange(N_FRAMES) / 200.0
    for side in ("right", "left"):
        for seg in joint_segments("knee", side):
            rec.acc[seg] = (rng.normal(0, 3, (N_FRAMES, 3)) + [0, 9.81, 0]).astype(np.float32)
            rec.gyr[seg] = rng.normal(0, 2, (N_FRAMES, 3)).astype(np.float32)
        phase = rng.uniform(0, 6.28)
        rec.angle[joint_name("knee", side)] = np.stack(
            [30 + 30 * np.sin(2 * np.pi * t + phase), 3 * np.cos(2 * np.pi * t), rng.normal(0, 1, N_FRAMES)],
            axis=1).astype(np.float32)
    return rec


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("lazy") / "big.h5"
    rng = np.random.default_rng(0)
    return write_dataset(path, (_record(i, rng) for i in range(N_SUBJECTS)), attrs={"activity": "walking"})


def _file_array_bytes(path) -> int:
    with h5py.File(path, "r") as f:
        return sum(f[g][n].nbytes for g in f for n in ("rthigh/acc", "rthigh/gyr", "rshank/acc", "rshank/gyr",
                                                        "lthigh/acc", "lthigh/gyr", "lshank/acc", "lshank/gyr",
                                                        "rknee/angle", "lknee/angle"))


def test_lazy_windows_and_statistics_match_in_memory(big):
    eager = load_joint_data(big, "knee", splits=("train", "val"))
    lazy = load_joint_data_lazy(big, "knee", splits=("train", "val"))
    assert lazy.split == eager.split and lazy.data_hash == eager.data_hash
    assert [(r.subject_id, r.side) for r in lazy.sequences["train"]] == \
        [(s.subject_id, s.side) for s in eager.sequences["train"]]
    ref = WindowSampler(*eager.arrays("train"), window=256)
    lz = lazy.sampler(256)
    for seed in (1, 2):
        xa, ya = ref.sample(np.random.default_rng(seed), 8)
        xb, yb = lz.sample(np.random.default_rng(seed), 8)
        assert xb.shape == (8, 256, 16) and np.array_equal(xa, xb) and np.array_equal(ya, yb)
    lz.close()
    from imukin.normalization import Normalizer

    n_eager = Normalizer.fit(*eager.arrays("train"))
    n_lazy = lazy.fit_normalizer("train", chunk_frames=5000)  # several chunks per sequence
    for k in ("x_mean", "x_std", "y_mean", "y_std"):
        assert np.allclose(getattr(n_lazy, k), getattr(n_eager, k), rtol=1e-4, atol=1e-4), k
    xs, ys = lazy.arrays("val")
    assert all(np.array_equal(a, b) for a, b in zip(xs, eager.arrays("val")[0]))


def test_lazy_loading_stays_under_a_memory_cap_smaller_than_the_corpus(big):
    corpus_bytes = _file_array_bytes(big)
    assert corpus_bytes > 3 * CAP_BYTES  # the joint's arrays alone are far larger than the cap
    tracemalloc.start()
    try:
        lazy = load_joint_data_lazy(big, "knee", splits=("train", "val"))
        norm = lazy.fit_normalizer("train")
        sampler = lazy.sampler(400)
        rng = np.random.default_rng(0)
        for _ in range(20):
            xb, yb = sampler.sample(rng, 16)
        n_val = sum(len(x) for x, _ in lazy.iter_pairs("val"))
        sampler.close()
        _, lazy_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        load_joint_data(big, "knee", splits=("train", "val"))
        _, eager_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert xb.shape == (16, 400, 16) and np.all(np.isfinite(norm.x_std)) and n_val == 4 * N_FRAMES
    assert lazy_peak < CAP_BYTES, f"lazy peak {lazy_peak / 2**20:.1f} MiB"
    assert eager_peak > CAP_BYTES  # holding the corpus in memory would break the cap


def test_training_from_lazy_data_matches_in_memory(big, tmp_path):
    cfg = TrainConfig(model="cnn", joint="knee", model_overrides={"n_layers": 1, "channels": 8, "kernel_size": 9},
                      steps=6, batch_size=4, window=128, warmup_steps=2, eval_every=3, patience=10)
    small = {"train": ["s0000", "s0001", "s0002"], "val": ["s0003"], "test": []}
    eager = load_joint_data(big, "knee", split=small, splits=("train", "val"))
    lazy = load_joint_data_lazy(big, "knee", split=small, splits=("train", "val"))
    a = train(cfg, big, tmp_path / "eager", progress=False, data=eager)
    b = train(cfg, big, tmp_path / "lazy", progress=False, data=lazy)
    assert a["best_val_rmse_deg"] == pytest.approx(b["best_val_rmse_deg"], rel=1e-4)
    wa, wb = load_file(tmp_path / "eager" / "model.safetensors"), load_file(tmp_path / "lazy" / "model.safetensors")
    assert all(np.allclose(wa[k], wb[k], atol=1e-4) for k in wa)
    from imukin.cli import main

    assert main(["train", "--lazy", "--joint", "knee", "--data", str(big), "--out", str(tmp_path / "cli"), "--steps",
                 "2", "--window", "128", "--batch-size", "4", "--set", "n_layers=1", "channels=4", "kernel_size=5",
                 "--quiet"]) == 0
    assert (tmp_path / "cli" / "model.safetensors").exists()


def test_lazy_bad_input(big, tmp_path):
    with pytest.raises(ImukinError, match="not in"):
        load_joint_data_lazy(big, "knee", split={"train": ["s9999"], "val": ["s0001"]})
    with pytest.raises(ImukinError, match="both the train and the val"):
        load_joint_data_lazy(big, "knee", split={"train": ["s0001"], "val": ["s0001"]})
    with pytest.raises(ImukinError, match="no hip data"):
        load_joint_data_lazy(big, "hip")
    with pytest.raises(ImukinError, match="does not exist"):
        load_joint_data_lazy(tmp_path / "missing.h5", "knee")
    lazy = load_joint_data_lazy(big, "knee", split={"train": ["s0000"], "val": ["s0001"]}, splits=("train", "val"))
    with pytest.raises(ImukinError, match="at least 20000 frames"):
        train(TrainConfig(window=20_000), big, tmp_path / "never", progress=False, data=lazy)
    assert not (tmp_path / "never").exists()  # nothing half-written
