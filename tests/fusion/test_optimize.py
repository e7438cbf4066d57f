"""The whole-sequence orientation refinement: accuracy on known truth, Jacobians, fallback, windows."""
import warnings

import numpy as np
import pytest

from imukin.conventions import relative_rotation_to_angles
from imukin.errors import ImukinError
from imukin.fusion.optimize import (
    OptimizeConfig,
    build_problem,
    dense_jacobian,
    initial_orientations,
    levenberg_marquardt,
    optimize_orientations,
    smooth_start,
    total_cost,
)
from imukin.rotations import heading_free, so3_exp, so3_log
from imukin.simulation.imu import integrate_gyroscope

from .conftest import noisy_network, random_problem, two_segment_motion


def geodesic_deg(a, b):
    return np.degrees(np.linalg.norm(so3_log(np.swapaxes(a, -1, -2) @ b), axis=-1))


def rms(x):
    return float(np.sqrt(np.mean(np.square(x))))


def errors(r1, r2, m):
    """RMS heading-free orientation error per segment and relative-orientation error, degrees."""
    h1, h2 = heading_free(m["r1"], m["r2"])
    e1, e2 = heading_free(r1, r2)
    rel = geodesic_deg(np.swapaxes(e1, -1, -2) @ e2, np.swapaxes(h1, -1, -2) @ h2)
    return rms(geodesic_deg(e1, h1)), rms(geodesic_deg(e2, h2)), rms(rel)


def test_refinement_beats_network_and_gyroscope_integration(motion):
    n1, n2 = noisy_network(motion, sd_deg=5.0)
    res = optimize_orientations(n1, n2, motion["gyr1"], motion["gyr2"], motion["fs"])
    assert res.converged and res.cost_final < res.cost_initial
    fs = motion["fs"]
    gyro = (integrate_gyroscope(motion["gyr1"], fs, n1[0]), integrate_gyroscope(motion["gyr2"], fs, n2[0]))
    e_net, e_opt, e_gyro = errors(n1, n2, motion), errors(res.r1, res.r2, motion), errors(*gyro, motion)
    for k in range(3):  # segment 1, segment 2, relative orientation
        assert e_opt[k] < 0.5 * e_net[k], (e_opt, e_net)
        assert e_opt[k] < 0.5 * e_gyro[k], (e_opt, e_gyro)
    # biases about the sensors' x and z axes (horizontal here) are found; a bias about the vertical
    # turns both sensors' heading alike, which neither prior sees and no joint angle feels
    err = (res.bias - motion["bias"])[:, [0, 2]]
    assert np.linalg.norm(err) < 0.5 * np.linalg.norm(motion["bias"][:, [0, 2]])


def test_gravity_term_is_optional_and_still_converges(motion):
    n1, n2 = noisy_network(motion, sd_deg=5.0)
    cfg = OptimizeConfig(gravity_sd_deg=10.0)
    res = optimize_orientations(n1, n2, motion["gyr1"], motion["gyr2"], motion["fs"], motion["acc1"],
                                motion["acc2"], config=cfg)
    assert res.converged
    assert errors(res.r1, res.r2, motion)[2] < 0.5 * errors(n1, n2, motion)[2]


@pytest.mark.parametrize("estimate_bias", [True, False])
def test_analytic_jacobian_matches_finite_differences(estimate_bias):
    n = 6
    p, r, b = random_problem(3, n, estimate_bias)
    res0, jac = dense_jacobian(p, r, b)
    assert np.isclose(np.sum(res0**2), total_cost(p, r, b))
    eps = 1e-6
    num = np.zeros_like(jac)
    for t in range(n):
        for k in range(2):
            for c in range(3):
                d = np.zeros(3)
                d[c] = eps
                rp, rm = r.copy(), r.copy()
                rp[k, t] = r[k, t] @ so3_exp(d)
                rm[k, t] = r[k, t] @ so3_exp(-d)
                num[:, 6 * t + 3 * k + c] = (dense_jacobian(p, rp, b)[0] - dense_jacobian(p, rm, b)[0]) / (2 * eps)
    if estimate_bias:
        for i in range(6):
            bp, bm = b.copy(), b.copy()
            bp.reshape(-1)[i] += eps
            bm.reshape(-1)[i] -= eps
            num[:, 6 * n + i] = (dense_jacobian(p, r, bp)[0] - dense_jacobian(p, r, bm)[0]) / (2 * eps)
    scale = np.abs(jac).max()
    assert np.abs(jac - num).max() < 1e-6 * scale


def test_non_convergence_warns_and_falls_back_to_the_network(motion):
    n1, n2 = noisy_network(motion, sd_deg=5.0)
    with pytest.warns(RuntimeWarning, match="did not converge|failed"):
        res = optimize_orientations(n1, n2, motion["gyr1"], motion["gyr2"], motion["fs"],
                                    config=OptimizeConfig(max_iter=1))
    assert not res.converged
    # exactly the network's tilt and relative orientation (only the heading comes from the gyroscope)
    assert geodesic_deg(res.relative(), np.swapaxes(n1, -1, -2) @ n2).max() < 1e-6
    for r, n in ((res.r1, n1), (res.r2, n2)):
        assert np.abs(r[:, 1, :] - n[:, 1, :]).max() < 1e-9  # R^T e_up is the matrices' second row


def test_windows_give_the_whole_sequence_result():
    long = two_segment_motion(seconds=40.0, seed=2)
    n1, n2 = noisy_network(long, sd_deg=5.0)
    args = (n1, n2, long["gyr1"], long["gyr2"], long["fs"])
    # with the biases known, a frame's solution only depends on nearby data: windows reproduce the whole
    fixed = OptimizeConfig(estimate_bias=False)
    whole = optimize_orientations(*args, config=fixed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split = optimize_orientations(*args, config=OptimizeConfig(estimate_bias=False, window_s=30.0, overlap_s=20.0))
    assert split.converged
    diff = geodesic_deg(whole.relative(), split.relative())
    assert diff.max() < 0.2 and rms(diff) < 0.05, (diff.max(), rms(diff))
    # estimating the biases per window (16 s each here) is about as accurate as over the whole recording
    whole = optimize_orientations(*args)
    split = optimize_orientations(*args, config=OptimizeConfig(window_s=16.0, overlap_s=6.0))
    assert errors(split.r1, split.r2, long)[2] < 1.25 * errors(whole.r1, whole.r2, long)[2]
    # the stitched lab frame continues the heading: no jump at the window seams
    step = geodesic_deg(split.r1[:-1], split.r1[1:])
    assert step.max() < 2.0


def test_bad_inputs_raise_one_line_errors(motion):
    n1, n2 = noisy_network(motion)
    with pytest.raises(ImukinError, match="gyroscopes must be"):
        optimize_orientations(n1, n2, motion["gyr1"][:-1], motion["gyr2"], 200.0)
    g = motion["gyr1"].copy()
    g[5, 1] = np.nan
    with pytest.raises(ImukinError, match="NaN"):
        optimize_orientations(n1, n2, g, motion["gyr2"], 200.0)
    with pytest.raises(ImukinError, match="positive"):
        optimize_orientations(n1, n2, motion["gyr1"], motion["gyr2"], 0.0)
    with pytest.raises(ImukinError, match="overlap_s"):
        OptimizeConfig(window_s=10.0, overlap_s=10.0)


def test_smooth_start_follows_the_gyroscope_and_the_network(motion):
    """Within a chunk the start turns as the gyroscope says; on average it is where the network puts it."""
    n1, n2 = noisy_network(motion, sd_deg=5.0)
    r_net = np.stack([n1, n2])
    gyr = np.stack([motion["gyr1"], motion["gyr2"]])
    r0 = initial_orientations(r_net, gyr[0], motion["fs"])
    start = smooth_start(r0, gyr, motion["fs"], chunk_s=0.5)
    step = int(0.5 * motion["fs"])
    for k in range(2):
        own = np.swapaxes(start[k, :step - 1], -1, -2) @ start[k, 1:step]  # (step - 1, 3, 3) frame to frame
        ref = np.swapaxes(motion[f"r{k + 1}"][:step - 1], -1, -2) @ motion[f"r{k + 1}"][1:step]
        assert geodesic_deg(own, ref).max() < 0.01  # the gyroscope's increments (noise-free motion)
    assert rms(geodesic_deg(start, r0)) < 5.0  # the network's 5 deg jitter, averaged per chunk


def test_a_jittery_network_start_no_longer_strands_the_solver():
    """Three seconds of a simulated runner's right ankle (held-out person, the shipped running ankle
    orientation network's outputs; tests/data/NOTICE.md): started from the network's frames the solver
    settled about 60 deg off the true ankle flexion; from the smooth start it finds the true motion."""
    from scipy.spatial.transform import Rotation

    from tests.conftest import DATA

    d = np.load(DATA / "sim" / "running_ankle_network_orientations.npz")
    fs = float(d["fs"])
    r_net = Rotation.from_quat(d["q_net"].reshape(-1, 4).astype(float)).as_matrix().reshape(2, -1, 3, 3)
    gyr = d["gyr"].astype(float)
    cfg = OptimizeConfig()
    p = build_problem(r_net, gyr, fs, cfg)
    r0 = initial_orientations(r_net, gyr[0], fs)
    flexion = {}
    for name, start in (("network", r0), ("smooth", smooth_start(r0, gyr, fs))):
        r, _, info = levenberg_marquardt(p, start, cfg)
        assert info["converged"]
        beta = relative_rotation_to_angles(np.swapaxes(r[0], -1, -2) @ r[1], "ankle", "right")
        err = beta[:, 0] - d["angles"][:, 0]
        flexion[name] = rms(err - err.mean())
    assert flexion["network"] > 20.0  # the failure this guards against is in the data
    assert flexion["smooth"] < 4.0
    res = optimize_orientations(r_net[0], r_net[1], gyr[0], gyr[1], fs)  # the public entry uses the smooth start
    beta = relative_rotation_to_angles(res.relative(), "ankle", "right")
    err = beta[:, 0] - d["angles"][:, 0]
    assert rms(err - err.mean()) < 4.0
