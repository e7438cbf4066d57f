"""Fixtures shared by the preprocessing tests: the real gaitmap recording (copied into tests/data)."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from imukin.io.imu_csv import read_imu_csv
from imukin.preprocessing.synchronize import marker_frames

GAITMAP_FS_IMU = 204.8  # Hz
GAITMAP_FS_MOCAP = 100.0  # Hz


@pytest.fixture(scope="session")
def gaitmap_dir():
    return Path(__file__).resolve().parents[1] / "data" / "real" / "gaitmap"


@pytest.fixture(scope="session")
def gaitmap_imu(gaitmap_dir):
    """{"left": ImuRecording, "right": ImuRecording}: acc m/s^2, gyr rad/s at 204.8 Hz."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        recs = read_imu_csv(gaitmap_dir / "imu_sample.csv", fs=GAITMAP_FS_IMU)
    return {r.name.split("_")[0]: r for r in recs}


@pytest.fixture(scope="session")
def gaitmap_markers(gaitmap_dir):
    """{"left": (M, 3, 3), "right": ...}: foot frames from L/R_FCC, _TOE, _FM5 at 100 Hz (markers in m)."""
    path = gaitmap_dir / "mocap_sample.csv"
    with open(path) as f:
        names = f.readline().strip().split(",")
        axes = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=2)
    col = {(n, a): i for i, (n, a) in enumerate(zip(names, axes))}

    def marker(name):
        return data[:, [col[(name, a)] for a in "xyz"]] / 1000.0

    return {side: marker_frames(marker(f"{s}_FCC"), marker(f"{s}_TOE"), marker(f"{s}_FM5"))
            for side, s in (("left", "L"), ("right", "R"))}
