"""From a dataset file to network inputs and targets for one joint.

Each subject gives two sequences, right and left leg. Left-leg IMU signals are mirrored
through the sagittal plane (:func:`imukin.conventions.mirror_imu`); left angles are already
expressed so that they look like right ones (:mod:`imukin.conventions`). Subjects are split
80/10/10 into train/validation/test with a fixed seed, so no subject is in two splits.

:class:`JointIndex` is what :func:`imukin.training.trainer.train` trains from: it fits the
normalisation (:meth:`~JointIndex.fit_normalizer`), draws training windows
(:meth:`~JointIndex.sampler`) and gives the validation sequences
(:meth:`~JointIndex.val_pairs`). :func:`load_joint_data` gives a :class:`JointData`, which
holds the sequences in memory; :func:`imukin.training.lazy.load_joint_data_lazy` gives a
:class:`~imukin.training.lazy.LazyJointData`, which reads them from the file when used.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from imukin.conventions import JOINT_NAMES, SIDES, check_choice, joint_segments, mirror_rotation, side_inputs
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.job_h5 import file_attrs, iter_dataset, subject_ids
from imukin.normalization import Normalizer
from imukin.rotations import heading_free
from imukin.training.choices import TARGETS

SPLITS = ("train", "val", "test")


def split_subjects(ids: list[str], seed: int = 0, fractions=(0.8, 0.1, 0.1)) -> dict[str, list[str]]:
    """Shuffle subject ids with a fixed seed and cut them into train/val/test.

    Every split gets at least one subject when there are three or more.

    Returns
    -------
    dict
        ``{"train": [...], "val": [...], "test": [...]}``, each sorted.
    """
    ids = sorted(ids)
    n = len(ids)
    if n < 3:
        raise ImukinError(f"need at least 3 subjects for a train/val/test split, the dataset has {n}; "
                          "simulate more with 'imukin simulate --subjects N'")
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(fractions[1] * n)))
    n_test = max(1, int(round(fractions[2] * n)))
    n_train = n - n_val - n_test
    parts = {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}
    return {k: sorted(ids[i] for i in v) for k, v in parts.items()}


def record_inputs(rec: SubjectRecord, joint: str, side: str) -> np.ndarray:
    """The 16 network channels (T, 16) of one joint of one subject, left side mirrored."""
    acc1, gyr1, acc2, gyr2 = rec.joint_inputs(joint, side)
    return side_inputs(acc1, gyr1, acc2, gyr2, side)


def record_orientation_target(rec: SubjectRecord, joint: str, side: str) -> np.ndarray:
    """Heading-free 6D orientations (T, 12) of a joint's two sensors, left side mirrored.

    Columns follow :mod:`imukin.models.orientation`: segment 1's first and second
    rotation-matrix columns, then segment 2's.
    """
    s1, s2 = joint_segments(joint, side)
    missing = [s for s in (s1, s2) if s not in rec.rmat]
    if missing:
        raise ImukinError(f"subject {rec.subject_id} has no orientations (rmat) for {', '.join(missing)}")
    r1, r2 = rec.rmat[s1], rec.rmat[s2]
    if side == "left":
        r1, r2 = mirror_rotation(r1), mirror_rotation(r2)
    r1, r2 = heading_free(r1, r2)
    return np.concatenate([r1[:, :, 0], r1[:, :, 1], r2[:, :, 0], r2[:, :, 1]], axis=1).astype(np.float32)


def resolve_split(path: Path, split: dict | None, split_seed: int) -> tuple[dict, dict[str, list[str]]]:
    """File attributes and the subject split of a dataset: seeded 80/10/10, or explicit lists checked."""
    ids = subject_ids(path)
    attrs = file_attrs(path)
    if split is None:
        return attrs, split_subjects(ids, seed=split_seed)
    split = {name: sorted(split.get(name, [])) for name in SPLITS}
    _check_explicit_split(path, ids, split)
    return attrs, split


def check_finite(path, subject_id: str, side: str, joint: str, x: np.ndarray, y: np.ndarray) -> None:
    """Refuse a sequence whose inputs or targets hold NaN or inf samples.

    Raises
    ------
    ImukinError
        Naming the file, subject, leg and joint.
    """
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ImukinError(f"{path}: subject {subject_id} {side} {joint} has NaN or inf samples; "
                          "repair or drop that subject")


@dataclass
class Sequence:
    """One leg of one subject: inputs and targets at the file's rate."""

    subject_id: str
    side: str
    x: np.ndarray  # (T, 16) float32 raw units (m/s^2, rad/s)
    y: np.ndarray  # (T, 3) float32 degrees, or (T, 12) heading-free 6D orientations


class Sampler(Protocol):
    """Random fixed-length training windows (:meth:`JointIndex.sampler`)."""

    def sample(self, rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """A batch of windows: inputs (B, W, 16) and targets (B, W, C), float32."""

    def close(self) -> None:
        """Release what the sampler holds open (a file)."""


class WindowSampler:
    """Random fixed-length windows from a list of sequences in memory (uniform over valid starts)."""

    def __init__(self, xs: list[np.ndarray], ys: list[np.ndarray], window: int):
        keep = [i for i, x in enumerate(xs) if len(x) >= window]
        if not keep:
            raise ImukinError(f"no training sequence is at least {window} frames long; use a shorter --window")
        self.x = np.concatenate([xs[i] for i in keep])  # (N, 16)
        self.y = np.concatenate([ys[i] for i in keep])  # (N, 3)
        starts, offset = [], 0
        for i in keep:
            n = len(xs[i])
            starts.append(offset + np.arange(n - window + 1))
            offset += n
        self.starts = np.concatenate(starts)
        self.window = window

    def sample(self, rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """A batch of windows: inputs (B, W, 16) and targets (B, W, C)."""
        s = rng.choice(self.starts, size=batch)
        idx = s[:, None] + np.arange(self.window)[None, :]  # (B, W)
        return self.x[idx], self.y[idx]  # (B, W, 16), (B, W, 3)

    def close(self) -> None:
        """Nothing to release: the sequences are in memory."""


@dataclass
class JointIndex:
    """One joint's data from one dataset file, split by subject: what the trainer trains from.

    Subclasses decide where the signals live: :class:`JointData` holds them in memory,
    :class:`~imukin.training.lazy.LazyJointData` reads them from the file when used.
    ``sequences`` maps each loaded split to its sequences (or references to them).
    """

    path: Path
    joint: str
    fs: float
    activity: str
    split: dict[str, list[str]]
    sequences: dict[str, list] = field(default_factory=dict)  # split -> sequences (or references to them)
    data_hash: str = ""
    target: str = "angle"  # "angle" or "orientation"

    @classmethod
    def empty(cls, path: str | Path, joint: str, split_seed: int, split: dict | None, splits,
              target: str = "angle"):
        """An index of one joint of a dataset file with its subject split resolved and no sequences yet."""
        check_choice("joint", joint, JOINT_NAMES)
        path = Path(path)
        attrs, split = resolve_split(path, split, split_seed)
        return cls(path=path, joint=joint, fs=float(attrs["fs"]), activity=str(attrs.get("activity", "unknown")),
                   split=split, sequences={name: [] for name in splits}, data_hash=dataset_hash(path),
                   target=target)

    def require_training_sequences(self) -> None:
        """Refuse a file that gives no training sequence for the joint (when the train split is loaded)."""
        if "train" in self.sequences and not self.sequences["train"]:
            raise ImukinError(f"{self.path} has no {self.joint} data (needs both sensors of the joint and its angles)")

    def iter_pairs(self, split: str, rank: int = 0, world: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(x, y)`` of each sequence of a split (every ``world``-th from ``rank``)."""
        raise NotImplementedError

    def arrays(self, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Inputs and targets of every sequence of a split, in memory."""
        pairs = list(self.iter_pairs(split))
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def val_pairs(self, rank: int = 0, world: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """This process's share (round robin over ``world`` processes) of the validation sequences."""
        return self.iter_pairs("val", rank=rank, world=world)

    def fit_normalizer(self, split: str = "train", scale_y: bool = True) -> Normalizer:
        """Per-channel mean and SD of a split (``scale_y=False``: targets left unscaled)."""
        raise NotImplementedError

    def sampler(self, window: int, split: str = "train") -> Sampler:
        """Random ``window``-frame windows of a split."""
        raise NotImplementedError


@dataclass
class JointData(JointIndex):
    """All sequences of one joint in one dataset file, in memory, with its split (``sequences``:
    split -> list of :class:`Sequence`)."""

    def iter_pairs(self, split: str, rank: int = 0, world: int = 1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(x, y)`` of each sequence of a split (every ``world``-th from ``rank``)."""
        return ((s.x, s.y) for s in self.sequences[split][rank::world])

    def fit_normalizer(self, split: str = "train", scale_y: bool = True) -> Normalizer:
        """Per-channel mean and SD of a split (``scale_y=False``: targets left unscaled)."""
        return Normalizer.fit(*self.arrays(split), scale_y=scale_y)

    def sampler(self, window: int, split: str = "train") -> WindowSampler:
        """Random ``window``-frame windows of a split."""
        return WindowSampler(*self.arrays(split), window=window)


def load_joint_data(path: str | Path, joint: str, split_seed: int = 0, sides=SIDES,
                    splits=SPLITS, target: str = "angle", split: dict[str, list[str]] | None = None) -> JointData:
    """Read one joint's sequences from a dataset file and split them by subject.

    Parameters
    ----------
    path : path-like
        HDF5 file in the reference layout.
    joint : {"hip", "knee", "ankle"}
    split_seed : int
        Seed of the subject split (the same for every model).
    sides : tuple of str
        Legs to use (both by default).
    splits : tuple of str
        Which splits to load.
    target : {"angle", "orientation"}
        Joint angles (T, 3) degrees, or the two sensors' heading-free 6D orientations (T, 12).
    split : dict, optional
        Explicit subject lists per split (e.g. a few subjects for fine-tuning) instead of
        the seeded 80/10/10 split; a subject may appear in one split only.
    """
    check_choice("joint", joint, JOINT_NAMES)
    check_choice("target", target, TARGETS)
    data = JointData.empty(path, joint, split_seed, split, splits, target=target)
    _load_sequences(data, sides)
    data.require_training_sequences()
    return data


def _load_sequences(data: JointData, sides) -> None:
    """Read the subjects of the loaded splits, one at a time, into ``data.sequences``."""
    wanted = {sid: name for name in data.sequences for sid in data.split[name]}
    for rec in iter_dataset(data.path, subjects=sorted(wanted), rmat=data.target == "orientation"):
        for side in sides:
            try:
                x = record_inputs(rec, data.joint, side)
                y = rec.joint_angle(data.joint, side) if data.target == "angle" else \
                    record_orientation_target(rec, data.joint, side)
            except ImukinError:
                continue  # this subject lacks this leg
            check_finite(data.path, rec.subject_id, side, data.joint, x, y)
            data.sequences[wanted[rec.subject_id]].append(
                Sequence(rec.subject_id, side, x.astype(np.float32), y.astype(np.float32)))


def _check_explicit_split(path: Path, ids: list[str], split: dict[str, list[str]]) -> None:
    """Refuse explicit subject lists naming subjects the file lacks or a subject in two splits."""
    missing = sorted(set().union(*split.values()) - set(ids))
    if missing:
        raise ImukinError(f"subject(s) {', '.join(missing[:5])} are not in {path}; it has {', '.join(ids[:5])}"
                          f"{' ...' if len(ids) > 5 else ''}")
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            both = sorted(set(split[a]) & set(split[b]))
            if both:
                raise ImukinError(f"subject(s) {', '.join(both)} are in both the {a} and the {b} split; "
                                  "give each subject to one split")


def dataset_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 (first 16 hex digits) of a dataset file, stored with models trained on it."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()[:16]
