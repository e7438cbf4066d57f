"""From a dataset file to network inputs and targets for one joint.

Each subject gives two sequences, right and left leg. Left-leg IMU signals are mirrored
through the sagittal plane (:func:`imukin.conventions.mirror_imu`); left angles are already
expressed so that they look like right ones (:mod:`imukin.conventions`). Subjects are split
80/10/10 into train/validation/test with a fixed seed, so no subject is in two splits.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from imukin.conventions import JOINT_NAMES, SIDES, check_choice, joint_segments, \
    mirror_rotation, side_inputs
from imukin.data import SubjectRecord
from imukin.errors import ImukinError
from imukin.io.job_h5 import file_attrs, iter_dataset, subject_ids
from imukin.normalization import Normalizer  # noqa: F401  (its home; imported here by older code)
from imukin.rotations import heading_free

SPLITS = ("train", "val", "test")
TARGETS = ("angle", "orientation")


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


@dataclass
class Sequence:
    """One leg of one subject: inputs and targets at the file's rate."""

    subject_id: str
    side: str
    x: np.ndarray  # (T, 16) float32 raw units (m/s^2, rad/s)
    y: np.ndarray  # (T, 3) float32 degrees, or (T, 12) heading-free 6D orientations


@dataclass
class JointIndex:
    """What one joint's data from one dataset file holds, loaded or not: its origin and subject split."""

    path: Path
    joint: str
    fs: float
    activity: str
    split: dict[str, list[str]]
    sequences: dict[str, list] = field(default_factory=dict)  # split -> sequences (or references to them)
    data_hash: str = ""
    target: str = "angle"  # "angle" or "orientation"


@dataclass
class JointData(JointIndex):
    """All sequences of one joint in one dataset file, with its split (``sequences``: split ->
    list of :class:`Sequence`)."""

    def arrays(self, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
        seqs = self.sequences[split]
        return [s.x for s in seqs], [s.y for s in seqs]


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
    path = Path(path)
    attrs, split = resolve_split(path, split, split_seed)
    wanted = {sid: name for name in splits for sid in split[name]}
    data = JointData(path=path, joint=joint, fs=float(attrs["fs"]), activity=str(attrs.get("activity", "unknown")),
                     split=split, sequences={name: [] for name in splits}, data_hash=dataset_hash(path),
                     target=target)
    for rec in iter_dataset(path, subjects=sorted(wanted), rmat=target == "orientation"):
        for side in sides:
            try:
                x = record_inputs(rec, joint, side)
                y = rec.joint_angle(joint, side) if target == "angle" else record_orientation_target(rec, joint, side)
            except ImukinError:
                continue  # this subject lacks this leg
            if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                raise ImukinError(f"{path}: subject {rec.subject_id} {side} {joint} has NaN or inf samples; "
                                  "repair or drop that subject")
            data.sequences[wanted[rec.subject_id]].append(
                Sequence(rec.subject_id, side, x.astype(np.float32), y.astype(np.float32)))
    if "train" in splits and not data.sequences["train"]:
        raise ImukinError(f"{path} has no {joint} data (needs both sensors of the joint and its angles)")
    return data


def _check_explicit_split(path: Path, ids: list[str], split: dict[str, list[str]]) -> None:
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


