"""The per-axis blend of angle-network angles with angles from refined orientations.

For each angle axis (flexion, adduction, rotation) and each sequence::

    beta'  = (beta - mean(beta)) * s + mean(alpha)
    theta  = w * alpha + (1 - w) * beta'

``alpha`` is the angle network's output; ``beta`` the joint angle of the refined sensor
orientations (sensor frames, so it carries a constant mounting offset, which the mean
swap removes, and a slightly different gain, which ``s`` corrects). ``s`` and ``w`` are
fitted per axis on validation sequences: for every ``w`` on a grid over [0, 1], ``s`` is
the least-squares optimum (the error is linear in ``s``), and the pair with the lowest
RMSE over all validation frames is kept.

Tried and not adopted (measured with the shipped walking and running models):

- *Removing beta's flexion cross-talk per recording.* A proximal sensor turned about its
  segment's long axis puts a share of flexion (about the sine of the turn) into ``beta``'s
  adduction and rotation; the least-squares multiple of ``beta``'s flexion that explains
  ``beta - alpha`` on those axes can be taken out per recording, with no reference. On the
  Kuopio trial it took left-hip adduction with the cnn from 2.02 to 1.58 deg (alpha 1.52). On
  simulated people it gains nothing: the multiple also takes up ``alpha``'s own error that
  goes with flexion, so the corrected ``beta`` shares it and the blend averages less away
  (held-out walking knee adduction 0.84 -> 0.88 with the cnn, 0.86 -> 0.92 with the
  transformer), and it was clearly better (by two standard errors over the validation legs) on
  no axis of any shipped blend, so the shipped blends do without it.
- *Fitting on validation people whose sensors were turned at random and found again by the
  alignment* (the condition of ``imukin predict`` without a given mounting): the weights move
  towards the angle network (walking hip adduction w = 1), but Kuopio flexion got worse (right
  hip 2.00 -> 2.19, left hip 1.24 -> 1.36 deg, cnn) and held-out simulated people did not
  gain (walking hip flexion 1.09 -> 1.16 as simulated).
- *Falling back to the angle network per recording where that cross-talk is out of range*
  (adduction or rotation of a recording whose ``|k|`` exceeded the largest over the 30
  validation legs took ``w = 1``). On held-out simulated people it fell back on 0-6 legs of
  24 per cell and made every such cell slightly worse (walking hip rotation 1.19 -> 1.20,
  ankle adduction 1.28 -> 1.30, running hip rotation 1.30 -> 1.37, cnn); on the Kuopio
  trial it changed no scored cell (left hip adduction has ``|k|`` 0.27 over the recording,
  the validation legs up to 0.30), and over the validation legs themselves no threshold
  on walking hip adduction beat never falling back: a large ``k`` there is not beta's error.
- *Fitting on people no network saw* (30 legs of 30 new simulated walkers, seed 101, subjects
  1800-1829) instead of the validation people the networks stopped early on: the flexion weights
  came out lower (knee 0.47 -> 0.38, ankle 0.55 -> 0.39, hip 0.53 -> 0.44), held-out walking ankle
  flexion got worse (1.51 -> 1.59 deg), knee adduction 0.84 -> 0.87, hip adduction better (1.14 ->
  1.07); on the Kuopio trial mixed (left ankle 1.99 -> 1.85, left knee 1.31 -> 1.38, right hip 1.69
  -> 1.75, left hip adduction 2.02 -> 1.72, still worse than the network's 1.52). Two sets of 30 legs
  give weights that far apart at about the same error: the error is flat in ``w`` near its minimum.
- *Using the stage only on axes where it clearly helps* (gain over the angle network, offset-removed
  RMSE per validation leg, above two standard errors): every walking axis of the shipped blends
  passes (hip t 2.4-9.3, knee 2.3-7.3, ankle flexion and adduction 2.2-6.4) but ankle rotation with
  the cnn (t 1.6, not scored on the Kuopio trial), so the gate would change no Kuopio cell; the
  knee's adduction and rotation, worse on the Kuopio trial by 0.06 and 0.01 deg, gain on simulated
  people (0.04-0.12 deg, t 2.3-3.4).
- *Fitting on 120 validation legs instead of 30* (every shipped walking blend refitted; the weights are
  noisy on 30 legs, the error being flat in ``w`` near its minimum): held-out walking people gained
  little (cnn with the stage: ankle flexion 1.47 -> 1.44, hip adduction 1.14 -> 1.09, still worse than
  the network's 1.06; knee unchanged) and the Kuopio trial moved both ways (left ankle 2.17 -> 2.36, left
  hip adduction 2.02 -> 1.81, the other flexion rows within 0.01), so 30 stays.
- *Weighting per recording by how far alpha and beta disagree.* The error of the blend is least at
  ``w* = (B - C) / D`` (``A``, ``B``: error variances of alpha and the scaled beta, ``C`` their
  covariance), and ``D = A + B - 2C`` is the variance of ``alpha - beta'``, which needs no reference.
  Storing ``D_v`` from the validation legs and taking a recording's excess ``X = max(0, D - D_v)`` as
  beta's own error gives ``w = (w_v D_v + X) / (D_v + X)``. On the Kuopio trial it mended left-hip
  adduction (cnn 2.00 -> 1.66, network 1.52; transformer 1.92 -> 1.50) but lost flexion (left hip 1.23 ->
  1.68, right knee 1.28 -> 1.47, left ankle 2.24 -> 2.66): on real sensors both estimates disagree more
  on every flexion axis (hip sqrt(D) 2.9-3.4 deg against 1.6 on validation legs) while beta still helps,
  so the excess is not beta's alone. On 24 held-out simulated legs it moved cells both ways (hip flexion
  1.09 -> 1.13, adduction 1.14 -> 1.11). With the largest validation leg's ``D`` as the threshold instead
  of the mean it left hip adduction unchanged and still lost left-hip flexion (1.23 -> 1.49).
- *Mounting the stage's sensors by the network, per recording.* ``beta`` rests on the alignment's sensor
  axes, ``alpha`` learnt to read through mounting errors; the two constant rotations ``m1``, ``m2`` that
  bring ``m1^T R_beta m2`` closest to ``alpha``'s relative rotation over the whole recording (6 numbers,
  least squares, no prior) were fitted and ``beta`` recomputed through them. On the Kuopio trial (cnn, shipped
  blend) right hip flexion with the stage went 1.62 -> 1.47 and left hip adduction 1.72 -> 1.36, but left hip
  flexion 0.97 -> 1.19, right knee 1.24 -> 1.52 and the ankles 3.38 / 2.24 -> 3.78 / 3.31: the fitted
  rotations (up to 30 deg on the feet) take up ``alpha``'s own errors along every direction the motion does
  not pin down, so it was not taken further.
"""
from __future__ import annotations

import numpy as np

from imukin.conventions import ANGLE_AXES
from imukin.errors import ImukinError

W_GRID = np.linspace(0.0, 1.0, 101)  # candidate weights of the angle network


def _check(alpha, beta, what: str = "") -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(alpha, float), np.asarray(beta, float)
    if a.ndim != 2 or a.shape[1] != 3 or a.shape != b.shape or len(a) == 0:
        raise ImukinError(f"{what}alpha and beta must both be (T, 3) angle arrays of the same length, got "
                          f"{a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ImukinError(f"{what}alpha or beta has NaN or inf; blend only finite angles")
    return a, b


def apply_blend(alpha, beta, s, w) -> np.ndarray:
    """Blend one sequence: (T, 3) angle-network and refined angles (degrees) -> (T, 3) degrees.

    Parameters
    ----------
    alpha, beta : array_like, shape (T, 3)
    s, w : array_like, shape (3,)
        Per-axis scale of ``beta`` and weight of ``alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((4, 3)); b = np.tile([[1.0], [-1.0]], (2, 3)) + 7.0
    >>> apply_blend(a, b, s=[2, 2, 2], w=[0.5, 0.5, 0.5])[:, 0].tolist()
    [1.0, -1.0, 1.0, -1.0]
    """
    a, b = _check(alpha, beta)
    s, w = np.asarray(s, float).reshape(3), np.asarray(w, float).reshape(3)
    beta_p = (b - b.mean(0)) * s + a.mean(0)  # (T, 3)
    return w * a + (1.0 - w) * beta_p


def fit_blend_params(alphas: list, betas: list, refs: list, w_grid: np.ndarray = W_GRID) -> dict:
    """Fit ``s`` and ``w`` per axis on validation sequences.

    Parameters
    ----------
    alphas, betas, refs : list of ndarray, each (T_i, 3)
        Angle-network angles, refined angles and reference angles (degrees) per sequence.
    w_grid : ndarray
        Candidate weights in [0, 1].

    Returns
    -------
    dict
        ``{"s": [3], "w": [3], "rmse_deg": [3], "rmse_alpha_deg": [3], "n_frames": int}``:
        the fitted parameters, the validation RMSE of the blend and of the angle network alone.
    """
    if not (len(alphas) == len(betas) == len(refs)) or not alphas:
        raise ImukinError("fit_blend_params needs the same number (>= 1) of alpha, beta and reference sequences")
    ac, bc, tc, aa = [], [], [], []
    for i, (a, b, y) in enumerate(zip(alphas, betas, refs)):
        a, b = _check(a, b, f"sequence {i}: ")
        y, _ = _check(y, b, f"sequence {i}: ")
        bc.append(b - b.mean(0))  # centred beta
        am = a.mean(0)
        ac.append(a - am)  # centred alpha
        tc.append(y - am)  # reference relative to alpha's mean
        aa.append(a - y)
    bc, ac, tc = np.concatenate(bc), np.concatenate(ac), np.concatenate(tc)  # (N, 3)
    # theta - y = w * ac + (1 - w) * s * bc - tc: linear in s for fixed w
    s_out, w_out, rmse_out = np.ones(3), np.ones(3), np.zeros(3)
    for k in range(3):
        best = (np.inf, 1.0, 1.0)
        for w in w_grid:
            target = tc[:, k] - w * ac[:, k]
            x = (1.0 - w) * bc[:, k]
            den = float(x @ x)
            s = float(x @ target) / den if den > 1e-12 else 1.0
            rmse = float(np.sqrt(np.mean((x * s - target) ** 2)))
            if rmse < best[0] - 1e-12:
                best = (rmse, s, float(w))
        rmse_out[k], s_out[k], w_out[k] = best
    return {"s": s_out.tolist(), "w": w_out.tolist(), "rmse_deg": rmse_out.tolist(),
            "rmse_alpha_deg": np.sqrt(np.mean(np.concatenate(aa) ** 2, axis=0)).tolist(),
            "axes": list(ANGLE_AXES), "n_frames": int(len(bc))}
