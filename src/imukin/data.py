"""In-memory form of one subject in the reference layout (see :mod:`imukin.io.job_h5`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imukin.conventions import JOINTS, SEGMENTS, joint_name, joint_segments
from imukin.errors import ImukinError

#: ``meta`` vector columns (reference layout); -1 marks unknown.
META_FIELDS = ("sex", "height_cm", "weight_kg", "speed_m_s")


@dataclass
class SubjectRecord:
    """One subject's synchronised IMU signals, sensor orientations and joint angles.

    Attributes
    ----------
    subject_id : str
        Group name in the HDF5 file, ``s<id>``.
    fs : float
        Sampling rate in Hz, the same for every array.
    acc, gyr : dict of str -> ndarray, shape (N, 3)
        Per segment (names from :data:`imukin.conventions.SEGMENTS`), specific force in
        m/s^2 and angular velocity in rad/s, both in the sensor frame.
    rmat : dict of str -> ndarray, shape (N, 3, 3)
        Per segment, sensor orientation (columns = sensor axes in lab coordinates).
    angle : dict of str -> ndarray, shape (N, 3)
        Per joint (names from :data:`imukin.conventions.JOINTS`), ``[flexion, adduction,
        rotation]`` in degrees.
    meta : ndarray, shape (4,)
        ``[sex, height cm, weight kg, speed m/s]``, -1 for unknown.
    attrs : dict
        Extra provenance (source, activity, seed, generator version, ...), stored as
        HDF5 attributes of the subject group.
    """

    subject_id: str
    fs: float
    acc: dict[str, np.ndarray] = field(default_factory=dict)
    gyr: dict[str, np.ndarray] = field(default_factory=dict)
    rmat: dict[str, np.ndarray] = field(default_factory=dict)
    angle: dict[str, np.ndarray] = field(default_factory=dict)
    meta: np.ndarray = field(default_factory=lambda: -np.ones(4))
    attrs: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        """Number of samples (all arrays share it)."""
        for d in (self.acc, self.angle, self.gyr, self.rmat):
            for v in d.values():
                return int(v.shape[0])
        return 0

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.fs

    def joint_inputs(self, joint: str, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(acc1, gyr1, acc2, gyr2)`` of a joint's proximal and distal sensors, each (N, 3)."""
        s1, s2 = joint_segments(joint, side)
        missing = [s for s in (s1, s2) if s not in self.acc or s not in self.gyr]
        if missing:
            raise ImukinError(f"subject {self.subject_id} has no IMU data for segment(s) {', '.join(missing)}; "
                              f"the {side} {joint} needs {s1} and {s2}")
        return self.acc[s1], self.gyr[s1], self.acc[s2], self.gyr[s2]

    def joint_angle(self, joint: str, side: str) -> np.ndarray:
        """Reference joint angles (N, 3) in degrees for one joint and side."""
        name = joint_name(joint, side)
        if name not in self.angle:
            raise ImukinError(f"subject {self.subject_id} has no angles for joint {name}")
        return self.angle[name]

    def validate(self) -> None:
        """Check names, shapes, lengths and finiteness; raise :class:`ImukinError` on the first problem."""
        n = self.n_frames
        for kind, d, tail in (("acc", self.acc, (3,)), ("gyr", self.gyr, (3,)), ("rmat", self.rmat, (3, 3)),
                              ("angle", self.angle, (3,))):
            names = JOINTS if kind == "angle" else SEGMENTS
            for k, v in d.items():
                if k not in names:
                    raise ImukinError(f"subject {self.subject_id}: unknown {kind} entry {k!r}; "
                                      f"expected one of {', '.join(names)}")
                if v.shape != (n, *tail):
                    raise ImukinError(f"subject {self.subject_id}: {k}/{kind} has shape {v.shape}, "
                                      f"expected {(n, *tail)}")
                if not np.all(np.isfinite(v)):
                    bad = np.flatnonzero(~np.all(np.isfinite(v.reshape(n, -1)), axis=1))
                    raise ImukinError(f"subject {self.subject_id}: {k}/{kind} has non-finite values in frames "
                                      f"{bad[0]}-{bad[-1]}; repair or drop them before saving")
