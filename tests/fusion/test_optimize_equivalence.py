"""The solver's normal equations and iterates against a block-by-block statement of the same solver.

:func:`block_levenberg_marquardt` below is the Levenberg-Marquardt iteration written term by
term: ``J^T J`` summed from each residual term's explicit Jacobian blocks
(:func:`imukin.fusion.optimize.residual_terms`), a dense-block to band copy, SciPy's banded
Cholesky solve with the bias Schur complement, the same damping and stopping rules.
:func:`imukin.fusion.optimize.levenberg_marquardt` assembles the same system from closed
forms and solves it through LAPACK directly; both must take the same steps.
"""
import math

import numpy as np
import pytest
from scipy.linalg import cho_solve_banded, cholesky_banded

from imukin.fusion.optimize import (
    N_BAND,
    OptimizeConfig,
    build_problem,
    dense_jacobian,
    initial_orientations,
    levenberg_marquardt,
    linearize,
    normal_equations,
    optimize_orientations,
    residual_terms,
    retract,
)
from imukin.rotations import so3_log

from .conftest import noisy_network, random_problem, two_segment_motion


def _tr(r):
    return np.swapaxes(r, -1, -2)


def block_cost(p, r, b):
    c = sum(float(np.sum(t.r**2)) for t in residual_terms(p, r, b, jac=False))
    return c + (float(np.sum((b * p.s_bias) ** 2)) if p.estimate_bias else 0.0)


def block_normal_equations(p, r, b):
    """D (T, 6, 6), O (T-1, 6, 6), B (T, 6, 6), C (6, 6), gx (T, 6), gb (6,) from the terms' blocks."""
    n_frames = p.n_frames
    d_blk, o_blk = np.zeros((n_frames, 6, 6)), np.zeros((n_frames - 1, 6, 6))
    b_blk, c_blk = np.zeros((n_frames, 6, 6)), np.zeros((6, 6))
    gx, gb = np.zeros((n_frames, 6)), np.zeros(6)
    for t in residual_terms(p, r, b):
        n = t.r.shape[0]
        for off_a, sa, ja in t.blocks:
            jat = _tr(ja)
            gx[off_a:off_a + n, 3 * sa:3 * sa + 3] += np.einsum("nid,nd->ni", jat, t.r)
            for off_b, sb, jb in t.blocks:
                if off_b == off_a:
                    d_blk[off_a:off_a + n, 3 * sa:3 * sa + 3, 3 * sb:3 * sb + 3] += jat @ jb
                elif off_b == off_a + 1:
                    o_blk[off_a:off_a + n, 3 * sa:3 * sa + 3, 3 * sb:3 * sb + 3] += jat @ jb
            for sc, jc in t.bias_blocks:
                b_blk[off_a:off_a + n, 3 * sa:3 * sa + 3, 3 * sc:3 * sc + 3] += jat @ jc
        for sc, jc in t.bias_blocks:
            gb[3 * sc:3 * sc + 3] += np.einsum("nid,nd->i", _tr(jc), t.r)
            for sd, jd in t.bias_blocks:
                c_blk[3 * sc:3 * sc + 3, 3 * sd:3 * sd + 3] += np.einsum("nid,ndj->ij", _tr(jc), jd)
    if p.estimate_bias:
        c_blk += np.eye(6) * p.s_bias**2
        gb += b.reshape(-1) * p.s_bias**2
    return d_blk, o_blk, b_blk, c_blk, gx, gb


def block_step(p, ne, mu):
    d_blk, o_blk, b_blk, c_blk, gx, gb = ne
    n_frames = p.n_frames
    ab = np.zeros((N_BAND + 1, 6 * n_frames))  # upper band storage
    for i in range(6):
        for j in range(i, 6):
            ab[N_BAND + i - j, j::6] = d_blk[:, i, j]
        for j in range(6):
            if N_BAND + i - j - 6 >= 0:
                ab[N_BAND + i - j - 6, 6 + j::6] = o_blk[:, i, j]
    ab[N_BAND] += mu
    cb = cholesky_banded(ab, lower=False)
    g = gx.reshape(-1)
    if not p.estimate_bias:
        return -cho_solve_banded((cb, False), g).reshape(n_frames, 2, 3), np.zeros((2, 3))
    bmat = b_blk.reshape(6 * n_frames, 6)
    x = cho_solve_banded((cb, False), np.concatenate([bmat, g[:, None]], axis=1))
    db = np.linalg.solve(c_blk + mu * np.eye(6) - bmat.T @ x[:, :6], -gb + bmat.T @ x[:, 6])
    return -(x[:, 6] + x[:, :6] @ db).reshape(n_frames, 2, 3), db.reshape(2, 3)


def block_levenberg_marquardt(p, r, cfg):
    b = np.zeros((2, 3))
    cost = block_cost(p, r, b)
    mu, n_iter = None, 0
    for n_iter in range(1, cfg.max_iter + 1):
        ne = block_normal_equations(p, r, b)
        if mu is None:
            mu = 1e-9 * float(ne[0].diagonal(axis1=1, axis2=2).max())
        while True:
            dx, db = block_step(p, ne, mu)
            r_new, b_new = retract(r, dx), b + db
            cost_new = block_cost(p, r_new, b_new)
            if math.isfinite(cost_new) and cost_new <= cost:
                break
            mu *= 8.0
        decrease = cost - cost_new
        r, b, cost = r_new, b_new, cost_new
        mu = max(mu / 4.0, 1e-15)
        if decrease <= cfg.tol * max(cost, 1e-300) or float(np.abs(dx).max()) < np.deg2rad(cfg.step_tol_deg):
            return r, b, n_iter, cost
    return r, b, n_iter, cost


def geodesic_deg(a, b):
    return np.degrees(np.linalg.norm(so3_log(_tr(a) @ b), axis=-1))


@pytest.mark.parametrize("estimate_bias", [True, False])
def test_normal_equations_are_the_jacobian_products(estimate_bias):
    p, r, b = random_problem(5, 7, estimate_bias)
    res, jac = dense_jacobian(p, r, b)
    lin = linearize(p, r, b)
    assert np.isclose(lin.cost, np.sum(res**2), rtol=1e-12)
    h, g = normal_equations(p, lin, b).dense()
    scale = np.abs(jac.T @ jac).max()
    assert np.abs(h - jac.T @ jac).max() < 1e-11 * scale
    assert np.abs(g - jac.T @ res).max() < 1e-11 * np.abs(jac.T @ res).max()


@pytest.mark.parametrize("config", [{}, {"estimate_bias": False}, {"gravity_sd_deg": 10.0}],
                         ids=["default", "known-bias", "gravity"])
def test_solver_takes_the_block_by_block_steps(config):
    """Same iterations, same orientations and biases to rounding. On 6 s of motion the orientations agree
    to about 1e-7 deg, their relative orientation to 1e-11 deg and the biases to 1e-10 deg/s; the bounds
    leave room for rounding carried along the free lab heading (which joint angles do not see)."""
    m = two_segment_motion(seconds=6.0, seed=4)
    n1, n2 = noisy_network(m, sd_deg=5.0, seed=2)
    cfg = OptimizeConfig(**config)
    r_net, gyr, acc = np.stack([n1, n2]), np.stack([m["gyr1"], m["gyr2"]]), np.stack([m["acc1"], m["acc2"]])
    p = build_problem(r_net, gyr, m["fs"], cfg, acc)
    r0 = initial_orientations(r_net, gyr[0], m["fs"])
    r_ref, b_ref, n_ref, cost_ref = block_levenberg_marquardt(p, r0, cfg)
    r, b, info = levenberg_marquardt(p, r0, cfg)
    assert info["converged"] and info["n_iter"] == n_ref
    assert np.isclose(info["cost_final"], cost_ref, rtol=1e-9)
    assert geodesic_deg(r, r_ref).max() < 1e-4
    rel, rel_ref = _tr(r[0]) @ r[1], _tr(r_ref[0]) @ r_ref[1]
    assert geodesic_deg(rel, rel_ref).max() < 1e-6
    assert np.abs(np.degrees(b - b_ref)).max() < 1e-6  # deg/s
    # and through the public entry point (input projection, window bookkeeping)
    res = optimize_orientations(n1, n2, m["gyr1"], m["gyr2"], m["fs"], m["acc1"], m["acc2"], config=cfg)
    assert geodesic_deg(res.relative(), rel_ref).max() < 1e-4
