import numpy as np
import pytest

from imukin.errors import ImukinError
from imukin.io.c3d_analog import imu_from_analogs, read_c3d_analogs
from tests.preprocessing.motion import mounted_imu, standing_then_walking

LABELS = ("IMU_ACC_X", "IMU_ACC_Y", "IMU_ACC_Z", "IMU_GYR_X", "IMU_GYR_Y", "IMU_GYR_Z", "EMG1")


def _write_c3d(path, analogs: np.ndarray, units, rate=200.0):
    import ezc3d

    c = ezc3d.c3d()
    c["parameters"]["POINT"]["RATE"]["value"] = [100.0]
    c["parameters"]["POINT"]["LABELS"]["value"] = ("M1",)
    c["data"]["points"] = np.ones((4, 1, analogs.shape[0] // 2))
    c["parameters"]["ANALOG"]["RATE"]["value"] = [rate]
    c["parameters"]["ANALOG"]["LABELS"]["value"] = LABELS
    c["parameters"]["ANALOG"]["UNITS"]["value"] = tuple(units)
    c["data"]["analogs"] = analogs.T[None].copy()
    c.write(str(path))


def test_imu_from_c3d_analog_channels(tmp_path):
    acc, gyr = mounted_imu(standing_then_walking(2, stand_s=1.0, walk_s=3.0), "rthigh", np.eye(3), 200.0,
                           noise=False)
    n = len(acc) - len(acc) % 2
    data = np.column_stack([acc[:n] / 9.81, np.rad2deg(gyr[:n]), np.zeros(n)])
    path = tmp_path / "trial.c3d"
    _write_c3d(path, data, ["g"] * 3 + ["deg/s"] * 3 + ["V"])
    an = read_c3d_analogs(path)
    assert an.labels == list(LABELS) and an.fs == 200.0 and an.data.shape == (n, 7)
    rec = imu_from_analogs(an, list(LABELS[:3]), list(LABELS[3:6]), name="rthigh")
    assert rec.units == {"acc": "g (header)", "gyr": "deg/s (header)"}
    assert np.allclose(rec.acc, acc[:n], atol=1e-3) and np.allclose(rec.gyr, gyr[:n], atol=1e-4)
    with pytest.raises(ImukinError, match="no analog channel"):
        an.channel("FOO")


def test_c3d_without_analogs_raises(data_dir):
    with pytest.raises(ImukinError, match="no analog channels"):
        read_c3d_analogs(data_dir / "real" / "kineticstoolkit" / "walk.c3d")
