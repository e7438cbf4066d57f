"""Shared fixtures of the motion-source tests: one short synthetic walk, simulated once."""
import dataclasses

import numpy as np
import pytest

from imukin.simulation.body import draw_subject
from imukin.simulation.corpus import record_from_kinematics
from imukin.simulation.gait import GaitConfig, generate_gait
from imukin.simulation.sensor_errors import SensorErrorConfig
from imukin.sources.motion import SourceConfig, anthropometric_subject

HEIGHT_M = 1.68
#: Length fields the readers derive from the height alone (the rest of the subject is drawn).
BODY_FIELDS = ("height_m", "thigh_length_m", "shank_length_m", "foot_length_m", "ankle_height_m", "pelvis_width_m",
               "pelvis_depth_m", "thigh_radius_m", "shank_radius_m")


@pytest.fixture(scope="session")
def walk():
    """(kinematics, ideal-sensor record at 200 Hz) of a 2.5 s walk by a subject of average proportions."""
    rng = np.random.default_rng(7)
    drawn = draw_subject(rng, "walking")
    avg = anthropometric_subject(HEIGHT_M)
    subject = dataclasses.replace(drawn, **{k: getattr(avg, k) for k in BODY_FIELDS})
    kin = generate_gait(subject, GaitConfig(duration_s=2.5, turn_prob=0.0, speed_change_prob=0.0, speed_m_s=1.3), rng)
    ref = record_from_kinematics(kin, "s0000", 200.0, SensorErrorConfig.ideal(), np.random.default_rng(0))
    return kin, ref


@pytest.fixture
def ideal_cfg():
    return SourceConfig(height_m=HEIGHT_M, errors=SensorErrorConfig.ideal())


def rel_rms(a, b, edge=0):
    """RMS of a - b over the RMS of b's deviation from its mean, frames [edge, n - edge)."""
    n = min(len(a), len(b))
    a, b = a[edge:n - edge], b[edge:n - edge]
    return float(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean((b - b.mean(0)) ** 2)))


def max_angle_error(rec, ref):
    n = min(rec.n_frames, ref.n_frames)
    return max(float(np.abs(rec.angle[j][:n] - ref.angle[j][:n]).max()) for j in ref.angle)


def yaw_between(rec, ref):
    """Constant rotation Y with rec.rmat ~ Y @ ref.rmat (the readers turn the lab about the vertical)."""
    return rec.rmat["pelvis"][0] @ ref.rmat["pelvis"][0].T
