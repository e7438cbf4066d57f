"""Training windows read lazily from the HDF5 file, so a corpus never sits in memory whole.

:func:`load_joint_data_lazy` indexes a dataset file (subject, leg, length: no signals)
and returns a :class:`LazyJointData`, which :func:`imukin.training.trainer.train`
accepts in place of an in-memory :class:`~imukin.training.dataset.JointData` (both are
a :class:`~imukin.training.dataset.JointIndex`):

* the normalisation statistics are accumulated one chunk of one sequence at a time
  (Chan's parallel mean/variance update, float64);
* each training batch reads only its windows (``window`` frames of the joint's two
  sensors and angles per window) through h5py slicing;
* validation reads and predicts one sequence at a time.

Memory use is then bounded by a batch of windows plus the longest single sequence,
whatever the size of the file. The windows drawn for a seed are exactly those of the
in-memory :class:`~imukin.training.dataset.WindowSampler`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from imukin.conventions import SIDES, joint_name, joint_segments, side_inputs
from imukin.errors import ImukinError
from imukin.io.job_h5 import open_dataset, read_series, series_length, series_paths
from imukin.training.dataset import SPLITS, JointIndex, Normalizer, check_finite

CHUNK_FRAMES = 20_000  # frames read at once while accumulating statistics


@dataclass(frozen=True)
class SequenceRef:
    """Where one leg of one subject lives in the file (no signals)."""

    subject_id: str  # group name s<id>
    side: str  # "right" or "left"
    n_frames: int  # length of the sequence


def joint_series(joint: str, side: str) -> list[str]:
    """The arrays of one leg's joint in a subject group: both sensors' acc and gyr, then the angles."""
    return series_paths(joint_segments(joint, side), [joint_name(joint, side)])


@dataclass
class LazyJointData(JointIndex):
    """One joint's sequences of a dataset file, indexed but not loaded (angle target only;
    ``sequences``: split -> list of :class:`SequenceRef`)."""

    def read(self, ref: SequenceRef, start: int = 0, stop: int | None = None,
             f: h5py.File | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Frames ``start:stop`` of one sequence: inputs (n, 16) float32 and angles (n, 3) float32."""
        if f is None:
            with open_dataset(self.path) as own:
                return self.read(ref, start, stop, own)
        acc1, gyr1, acc2, gyr2, angle = read_series(f, ref.subject_id, joint_series(self.joint, ref.side),
                                                    slice(start, stop))
        x = side_inputs(acc1, gyr1, acc2, gyr2, ref.side).astype(np.float32)  # (n, 16)
        return x, angle.astype(np.float32)  # (n, 3)

    def iter_pairs(self, split: str, rank: int = 0, world: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(x, y)`` of each sequence of a split, read one at a time (every ``world``-th from ``rank``)."""
        with open_dataset(self.path) as f:
            for ref in self.sequences[split][rank::world]:
                x, y = self.read(ref, f=f)
                check_finite(self.path, ref.subject_id, ref.side, self.joint, x, y)
                yield x, y

    def fit_normalizer(self, split: str = "train", scale_y: bool = True,
                       chunk_frames: int = CHUNK_FRAMES) -> Normalizer:
        """Per-channel mean and SD of a split, streamed chunk by chunk (also checks for NaN/inf)."""
        stats_x, stats_y = _Moments(), _Moments()
        with open_dataset(self.path) as f:
            for ref in self.sequences[split]:
                for a in range(0, ref.n_frames, chunk_frames):
                    x, y = self.read(ref, a, min(a + chunk_frames, ref.n_frames), f)
                    check_finite(self.path, ref.subject_id, ref.side, self.joint, x, y)
                    stats_x.add(x)
                    stats_y.add(y)
        if stats_x.n == 0:
            raise ImukinError(f"{self.path} has no {self.joint} frames in the {split} split")
        x_std = np.maximum(stats_x.std, 1e-6)
        if not scale_y:
            return Normalizer(stats_x.mean, x_std, np.zeros(3), np.ones(3))
        return Normalizer(stats_x.mean, x_std, stats_y.mean, np.maximum(stats_y.std, 1e-6))

    def sampler(self, window: int, split: str = "train") -> LazyWindowSampler:
        """Random windows of a split, read from the file batch by batch."""
        return LazyWindowSampler(self, self.sequences[split], window)


class _Moments:
    """Running per-column mean and sum of squared deviations (Chan et al.'s pairwise update)."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, None, None

    def add(self, a: np.ndarray) -> None:
        """Fold a block of rows (n, C) into the running statistics."""
        a = np.asarray(a, np.float64)  # (n, C)
        nb = len(a)
        if nb == 0:
            return
        mb = a.mean(0)
        m2b = ((a - mb) ** 2).sum(0)
        if self.n == 0:
            self.n, self.mean, self.m2 = nb, mb, m2b
            return
        n = self.n + nb
        delta = mb - self.mean
        self.mean = self.mean + delta * nb / n
        self.m2 = self.m2 + m2b + delta ** 2 * self.n * nb / n
        self.n = n

    @property
    def std(self) -> np.ndarray:
        """Population SD per column, as :meth:`imukin.normalization.Normalizer.fit`."""
        return np.sqrt(self.m2 / self.n)


class LazyWindowSampler:
    """Random fixed-length windows read from HDF5 on demand.

    Draws the same windows as :class:`imukin.training.dataset.WindowSampler` for the
    same random generator: a start frame uniform over all valid starts of all
    sequences at least ``window`` long.
    """

    def __init__(self, data: LazyJointData, refs: list[SequenceRef], window: int):
        self.data = data
        self.refs = [r for r in refs if r.n_frames >= window]
        if not self.refs:
            raise ImukinError(f"no training sequence is at least {window} frames long; use a shorter window (--window)")
        counts = np.array([r.n_frames - window + 1 for r in self.refs], np.int64)
        self.first = np.concatenate([[0], np.cumsum(counts)])  # (n_refs + 1,) first global start index
        self.window = window
        self._file: h5py.File | None = None

    def _h5(self) -> h5py.File:
        """The dataset file, opened on first use and kept open until :meth:`close`."""
        if self._file is None:
            self._file = open_dataset(self.data.path)
        return self._file

    def sample(self, rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """A batch of windows: inputs (B, W, 16) and angles (B, W, 3), float32."""
        g = rng.choice(int(self.first[-1]), size=batch)  # (B,) global start indices
        seq = np.searchsorted(self.first, g, side="right") - 1  # (B,)
        xs = np.empty((batch, self.window, 16), np.float32)
        ys = np.empty((batch, self.window, 3), np.float32)
        f = self._h5()
        for b, (i, gi) in enumerate(zip(seq, g)):
            s = int(gi - self.first[i])
            xs[b], ys[b] = self.data.read(self.refs[i], s, s + self.window, f)
        return xs, ys

    def close(self) -> None:
        """Close the dataset file (it is opened again if more windows are drawn)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass


def load_joint_data_lazy(path: str | Path, joint: str, split_seed: int = 0, sides=SIDES, splits=SPLITS,
                         split: dict[str, list[str]] | None = None) -> LazyJointData:
    """Index one joint's sequences of a dataset file for lazy reading, split by subject.

    Parameters
    ----------
    path : path-like
        HDF5 file in the reference layout.
    joint : {"hip", "knee", "ankle"}
    split_seed : int
        Seed of the subject split (the same as :func:`imukin.training.dataset.load_joint_data`).
    sides : tuple of str
        Legs to use.
    splits : tuple of str
        Which splits to index.
    split : dict, optional
        Explicit subject lists per split instead of the seeded 80/10/10 split.

    Returns
    -------
    LazyJointData
        References only; signals are read when used.
    """
    data = LazyJointData.empty(path, joint, split_seed, split, splits)
    _index_sequences(data, sides)
    data.require_training_sequences()
    return data


def _index_sequences(data: LazyJointData, sides) -> None:
    """Record each leg's sequence length (no signals) in ``data.sequences``, split by split."""
    with open_dataset(data.path) as f:
        for name in data.sequences:
            for sid in data.split.get(name, []):
                for side in sides:
                    n = series_length(f, sid, joint_series(data.joint, side))
                    if n:
                        data.sequences[name].append(SequenceRef(sid, side, n))
