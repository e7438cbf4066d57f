"""The demo runs end to end on tiny settings and writes its report."""
import json

import pytest

from imukin.conventions import ACTIVITIES, JOINT_NAMES
from imukin.demo import run_demo
from imukin.pretrained import shipped_angle_models


@pytest.mark.slow  # simulates, trains and plots: ~10 s
def test_demo_writes_data_plots_and_report(tmp_path, capsys):
    res = run_demo(tmp_path, n_subjects=1, duration_s=6.0, seed=3)
    for name in ("walking_data", "running_data", "report"):
        assert res["files"][name].exists()
    assert (tmp_path / "walking_overview.png").stat().st_size > 10_000
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    shipped = [p for a in ACTIVITIES for j in JOINT_NAMES for p in shipped_angle_models(a, j)]
    if shipped:
        assert (tmp_path / "rmse_by_axis.png").exists()
        n_cells = sum(len(joints) for joints in metrics.values())
        n_refined = sum((p / "blend.json").exists() for p in shipped)
        assert n_cells == len(shipped) + n_refined
        assert "flexion" in capsys.readouterr().out
    else:
        assert "make pretrained" in capsys.readouterr().out
