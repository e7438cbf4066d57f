"""The shared path from segment poses to Kinematics: heading, resampling, checks."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from imukin.conventions import SEGMENTS
from imukin.errors import ImukinError
from imukin.sources.motion import (
    SourceConfig,
    anthropometric_subject,
    expand_paths,
    poses_to_kinematics,
    sample_kinematics,
    travel_heading_rotation,
)


def test_heading_turns_travel_onto_x():
    path = np.outer(np.linspace(0, 3, 50), [0.6, 0.0, -0.8]) + [0, 0.9, 0]  # walking towards +X-Z
    h = travel_heading_rotation(path, np.tile(np.eye(3), (50, 1, 1)))
    d = h @ (path[-1] - path[0])
    assert np.allclose(d / np.linalg.norm(d), [1, 0, 0]) and np.allclose(h[1], [0, 1, 0])
    # treadmill: no travel, the pelvis faces -Z -> that becomes +X
    facing = Rotation.from_rotvec([0, np.pi / 2, 0]).as_matrix()  # x axis -> -Z
    h2 = travel_heading_rotation(np.zeros((50, 3)), np.tile(facing, (50, 1, 1)))
    assert np.allclose(h2 @ facing[:, 0], [1, 0, 0])


def test_resampled_kinematics_match_the_source(walk):
    kin, _ = walk
    t, rot, pos = sample_kinematics(kin, 250.0)
    out = poses_to_kinematics(t, rot, pos, kin.subject, SourceConfig(align_heading=False))
    assert out.fs == 1000.0 and out.n_frames == kin.n_frames - 3  # the last 250 Hz sample is at 2.496 s
    n = out.n_frames
    for j in kin.angles:
        assert np.abs(out.angles[j][50:n - 50] - kin.angles[j][50:n - 50]).max() < 0.05
    shift = kin.pos["pelvis"][0] * [1, 0, 1]  # the output starts above the origin
    # 0.2 mm: the foot settling flat at loading response is the sharpest motion the spline has to follow
    assert np.abs(out.pos["lfoot"][50:n - 50] - (kin.pos["lfoot"][50:n - 50] - shift)).max() < 2e-4
    assert out.speed.mean() == pytest.approx(1.3, rel=0.1) and out.heel_strikes["right"].size == 0


def _poses(n=100, fs=100.0):
    t = np.arange(n) / fs
    rot = {s: np.tile(np.eye(3), (n, 1, 1)) for s in SEGMENTS}
    pos = {s: np.zeros((n, 3)) + [0.0, 1.0 - 0.1 * k, 0.0] for k, s in enumerate(SEGMENTS)}
    return t, rot, pos


@pytest.mark.parametrize("break_it, message", [
    (lambda t, r, p: (t[:20], {s: v[:20] for s, v in r.items()}, {s: v[:20] for s, v in p.items()}), "at least 0.5 s"),
    (lambda t, r, p: (np.r_[t[:50], t[50:] + 0.004], r, p), "not evenly spaced"),
    (lambda t, r, p: (t, r, {**p, "rfoot": np.where(np.arange(100)[:, None] == 7, np.nan, p["rfoot"])}),
     "rfoot has NaN or inf in frames 7-7"),
    (lambda t, r, p: (t, {k: v for k, v in r.items() if k != "lshank"}, p), "segment\\(s\\) lshank"),
    (lambda t, r, p: (t * 1e-3, r, p), "outside 10-10000 Hz"),
])
def test_bad_poses_raise_one_line(break_it, message):
    t, rot, pos = break_it(*_poses())
    with pytest.raises(ImukinError, match=message) as e:
        poses_to_kinematics(t, rot, pos, anthropometric_subject(), where="clip.x")
    assert str(e.value).startswith("clip.x") and "\n" not in str(e.value)


def test_config_and_paths(tmp_path):
    with pytest.raises(ImukinError, match="give the height in metres"):
        SourceConfig(height_m=175.0)
    with pytest.raises(ImukinError, match="--fs"):
        SourceConfig(fs=5000.0)
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/b/x.npz", "a/shape.npz", "a/y.NPZ", "a/z.txt"):
        (tmp_path / name).write_bytes(b"")
    found = expand_paths([tmp_path / "a"], (".npz",), ("shape.npz",))
    assert [p.name for p in found] == ["x.npz", "y.NPZ"]
    with pytest.raises(ImukinError, match="does not exist"):
        expand_paths([tmp_path / "nope"], (".npz",))
    with pytest.raises(ImukinError, match="no .bvh files"):
        expand_paths([tmp_path / "a"], (".bvh",))
