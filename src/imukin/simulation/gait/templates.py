"""Joint-angle templates of walking and running: key points, Fourier model in speed, stance fraction.

For every curve of :data:`~imukin.simulation.body.CURVE_CHANNELS` a few key points (percent
of the gait cycle from heel strike, degrees) are given at three anchor speeds per activity
(:data:`ANCHOR_VSTAR`). Key-point timing and values are interpolated through the anchors in
the dimensionless speed ``v* = v / sqrt(g * leg length)``, a periodic cubic spline is drawn
through them, the curve is reduced to :data:`N_HARMONICS` Fourier harmonics and each
coefficient is fitted by a cubic polynomial in ``v*``
(:func:`template_curves`, :func:`template_mean`).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy.interpolate import CubicSpline

from imukin.simulation.body import CURVE_CHANNELS, N_CURVES

# ---------------------------------------------------------------- speeds
#: Centres of the five walking-speed groups of Schwartz, Rozumalski & Trost (2008, J Biomech
#: 41:1639) as dimensionless speeds ``v / sqrt(g * leg length)``: the study binned its trials
#: by this speed, self-selected ("Free") walking near 0.43 (adults too: 1.3 m/s on a 0.9 m
#: leg is 0.44) and bins about 0.13 wide. Approximate group centres (the normative file
#: holds no speeds); used to simulate at the speed matching each normative band.
SCHWARTZ_SPEED_CLASSES = {"VerySlow": 0.17, "Slow": 0.30, "Free": 0.43, "Fast": 0.56, "VeryFast": 0.70}

# ---------------------------------------------------------------- templates
#: Fourier harmonics kept per template curve.
N_HARMONICS = 12
#: Dimensionless speeds of the template anchors, per activity.
ANCHOR_VSTAR = {"walking": (0.17, 0.43, 0.70), "running": (0.65, 1.10, 1.75)}
#: Running stance fraction (toe-off, fraction of the cycle) at the running anchors (Novacheck 1998).
RUN_STANCE_FRACTION = (0.40, 0.35, 0.28)
#: Range of v* of the templates: the anchor range (slower or faster speeds use the end templates).
VSTAR_RANGE = {a: (v[0], v[-1]) for a, v in ANCHOR_VSTAR.items()}

#: Pelvis curves are given for the first half cycle only and completed by symmetry:
#: tilt repeats each step (even), obliquity and rotation change sign (odd).
_HALF_CYCLE = {"pelvis_tilt": 1.0, "pelvis_obliquity": -1.0, "pelvis_rotation": -1.0}

# Key points: channel -> one list of (percent of gait cycle, degrees) per anchor speed, each
# list with the same number of points (corresponding features), phases increasing.
_WALK_KEYS = {
    "pelvis_tilt": [
        [(0, 15.4), (14, 15.1), (38, 15.7)],
        [(0, 11.8), (14, 10.8), (38, 12.3)],
        [(0, 17.8), (12, 16.5), (35, 19.5)],
    ],
    "pelvis_obliquity": [
        [(0, 1.0), (11, 2.2), (22, 1.0), (32, -1.0), (43, -1.2)],
        [(0, 0.8), (14, 4.1), (24, 2.2), (33, -0.3), (43, -0.5)],
        [(0, 1.7), (15, 6.3), (26, 4.0), (36, -0.2), (44, -1.6)],
    ],
    "pelvis_rotation": [
        [(0, 2.7), (12, 3.6), (24, 3.0), (38, 1.0), (44, -0.4)],
        [(0, 4.2), (10, 3.5), (21, 2.2), (34, 0.0), (42, -2.4)],
        [(0, 7.5), (10, 5.0), (20, 2.4), (29, 0.0), (40, -5.2)],
    ],
    "hip_flexion": [
        [(0, 29.5), (6, 27.5), (20, 18.5), (36, 10.0), (48, 5.5), (56, 3.5), (64, 6.5), (72, 15.0),
         (80, 24.5), (89, 31.0), (95, 30.5)],
        [(0, 33.2), (5, 33.0), (18, 23.2), (34, 5.7), (46, -5.8), (53, -8.3), (60, -3.3), (68, 12.2),
         (78, 28.7), (88, 35.2), (95, 34.2)],
        [(0, 40.5), (5, 40.0), (17, 29.0), (33, 8.0), (45, -6.5), (52, -10.0), (59, -2.5), (67, 14.5),
         (77, 35.0), (88, 43.0), (95, 42.0)],
    ],
    "hip_adduction": [
        [(0, -1.0), (8, 1.0), (20, 2.9), (36, 2.1), (48, 1.8), (58, -1.0), (70, -4.5), (80, -2.5), (90, -0.9)],
        [(0, -1.6), (8, 2.6), (17, 5.2), (32, 2.9), (44, 2.3), (54, -1.0), (65, -6.8), (78, -3.1), (90, -2.3)],
        [(0, -3.8), (8, 1.4), (20, 7.5), (32, 4.9), (44, 1.5), (54, -1.5), (67, -8.3), (80, -4.9), (90, -4.8)],
    ],
    "hip_rotation": [
        [(0, -2.0), (12, 0.0), (30, -2.0), (50, -3.0), (64, -4.0), (80, 0.0), (92, -2.0)],
        [(0, -2.5), (12, 0.0), (30, -1.5), (50, -3.0), (63, -5.0), (80, 0.5), (92, -3.0)],
        [(0, -5.0), (12, -3.0), (30, -1.5), (50, -3.0), (60, -6.5), (80, -1.5), (92, -3.5)],
    ],
    "knee_flexion": [
        [(0, 4.5), (6, 6.5), (12, 7.8), (30, 6.8), (46, 8.5), (56, 13.0), (64, 26.0), (71, 42.0),
         (77, 49.0), (86, 37.0), (94, 14.0), (99, 5.0)],
        [(0, 4.5), (6, 12.0), (13, 18.5), (25, 12.0), (38, 6.5), (48, 10.0), (58, 27.0), (66, 48.5),
         (72, 59.5), (80, 49.0), (90, 18.5), (97, 4.0)],
        [(0, 7.5), (6, 14.0), (12, 22.5), (24, 13.0), (39, 3.0), (48, 7.0), (56, 21.0), (64, 46.5),
         (72, 62.0), (80, 52.5), (88, 28.0), (96, 8.0)],
    ],
    "knee_adduction": [
        [(0, -0.4), (20, 0.4), (44, -0.4), (60, -1.4), (72, -0.3), (84, 1.5), (94, -0.2)],
        [(0, 0.1), (14, 0.8), (40, 0.2), (64, -2.0), (74, 1.0), (82, 4.5), (94, 0.3)],
        [(0, 0.3), (20, 0.4), (40, 0.5), (62, -3.7), (76, -1.2), (85, 1.8), (94, 0.3)],
    ],
    "knee_rotation": [
        [(0, -0.2), (8, 2.3), (20, 3.9), (36, 6.0), (50, 8.0), (60, 6.0), (68, 5.0), (80, 0.3), (88, -0.3)],
        [(0, -2.0), (8, 3.0), (20, 3.5), (36, 5.5), (50, 8.2), (60, 5.0), (68, 5.5), (80, -0.5), (88, -2.4)],
        [(0, -3.6), (8, 2.6), (20, 2.9), (36, 5.0), (50, 7.5), (60, 5.4), (68, 5.4), (80, 0.0), (88, -4.1)],
    ],
    "ankle_flexion": [
        [(0, -2.6), (4, -5.6), (12, -2.5), (26, 4.0), (40, 11.0), (52, 14.0), (60, 8.0), (69, -4.0),
         (76, -0.5), (85, 4.8), (92, 1.5), (97, -1.8)],
        [(0, -2.0), (4, -5.6), (12, -1.0), (26, 6.0), (40, 10.0), (48, 11.8), (56, 1.0), (64, -20.0),
         (72, -8.0), (84, 2.5), (92, 0.2), (97, -1.3)],
        [(0, -3.2), (4, -5.9), (12, -0.5), (22, 6.8), (32, 7.9), (40, 6.9), (50, -2.0), (59, -22.0),
         (67, -13.5), (86, 3.6), (92, 1.2), (97, -3.0)],
    ],
    # Inversion (+) / eversion of the foot on the shank: slight inversion at heel strike,
    # eversion in loading, inversion at push-off (rear-foot motion, e.g. Perry 2010).
    "ankle_adduction": [
        [(0, 1.5), (8, -1.5), (30, -2.0), (50, 0.0), (64, 4.0), (76, 2.0), (90, 1.0)],
        [(0, 2.0), (8, -2.5), (30, -3.0), (50, 0.0), (62, 6.0), (75, 3.0), (90, 1.0)],
        [(0, 2.5), (8, -3.5), (30, -3.5), (48, 0.5), (60, 7.0), (74, 3.0), (90, 1.0)],
    ],
    # Foot long axis relative to the knee flexion axis: external, from tibial torsion; the
    # foot toes out by about 5-8 deg in stance (foot progression angle).
    "ankle_rotation": [
        [(0, -9.0), (12, -10.0), (40, -9.0), (62, -12.0), (80, -10.0), (92, -9.0)],
        [(0, -9.0), (12, -10.0), (40, -9.0), (60, -13.0), (78, -10.0), (92, -9.0)],
        [(0, -9.0), (12, -10.0), (40, -9.0), (58, -13.0), (76, -10.0), (92, -9.0)],
    ],
}

_RUN_KEYS = {
    "pelvis_tilt": [
        [(0, 15.3), (15, 13.5), (38, 17.0)],
        [(0, 17.5), (14, 15.0), (34, 19.5)],
        [(0, 19.5), (12, 16.5), (30, 22.5)],
    ],
    "pelvis_obliquity": [
        [(0, 1.5), (10, 5.0), (25, 2.0), (38, -1.0), (45, -1.5)],
        [(0, 2.0), (9, 6.5), (23, 3.0), (34, -1.0), (44, -2.0)],
        [(0, 2.5), (8, 7.5), (20, 3.5), (30, -1.0), (43, -2.5)],
    ],
    # Ipsilateral pelvis forward (internal) most in late swing; the pelvis turns with the
    # swinging leg (Schache et al. 1999; Novacheck 1998).
    "pelvis_rotation": [
        [(0, 3.0), (10, 0.0), (20, -3.0), (35, -5.0), (45, -4.0)],
        [(0, 3.5), (10, 0.0), (20, -3.5), (35, -6.0), (45, -5.0)],
        [(0, 4.0), (10, 0.0), (20, -4.0), (35, -7.0), (45, -5.5)],
    ],
    "hip_flexion": [
        [(0, 35.7), (7, 35.7), (13, 30.6), (20, 23.0), (27, 19.3), (33, 15.0), (40, 1.2),
         (46, -1.0), (56, 10.0), (68, 30.0), (80, 40.0), (88, 41.0), (95, 38.0)],
        [(0, 44.5), (6, 45.9), (12, 38.4), (18, 27.2), (23, 20.7), (29, 14.3), (35, -6.2),
         (41, -8.0), (52, 12.0), (64, 40.0), (76, 54.0), (86, 55.0), (94, 49.0)],
        [(0, 55.6), (5, 54.4), (9, 44.7), (14, 34.0), (19, 26.2), (23, 16.2), (28, -8.3),
         (35, -10.0), (46, 18.0), (58, 52.0), (70, 66.0), (82, 64.0), (92, 59.0)],
    ],
    "hip_adduction": [
        [(0, 2.0), (12, 8.0), (25, 5.0), (40, 0.0), (52, -4.5), (64, -5.5), (78, -3.0), (90, 0.0)],
        [(0, 2.0), (11, 9.0), (23, 6.0), (36, 0.0), (50, -5.0), (62, -6.0), (78, -3.0), (90, 0.0)],
        [(0, 2.0), (10, 9.0), (20, 6.0), (30, 0.0), (46, -5.5), (60, -6.5), (76, -3.5), (90, 0.0)],
    ],
    "hip_rotation": [
        [(0, -2.0), (15, 1.0), (35, -3.0), (55, -5.0), (75, 0.0), (90, -2.0)],
        [(0, -2.0), (14, 1.0), (32, -4.0), (52, -6.0), (74, 0.0), (90, -2.0)],
        [(0, -2.0), (12, 1.0), (28, -4.0), (48, -6.0), (72, 0.0), (90, -2.0)],
    ],
    "knee_flexion": [
        [(0, 15.0), (7, 30.6), (13, 36.3), (20, 34.6), (27, 37.8), (33, 38.2), (40, 21.3),
         (50, 44.0), (60, 74.0), (70, 86.0), (81, 64.0), (91, 40.0), (97, 22.0)],
        [(0, 15.0), (6, 39.0), (12, 46.6), (18, 44.2), (23, 46.6), (29, 44.6), (35, 15.2),
         (45, 50.0), (56, 88.0), (66, 100.0), (78, 84.0), (89, 54.0), (96, 24.0)],
        [(0, 25.0), (5, 47.2), (9, 54.5), (14, 57.1), (19, 59.2), (23, 51.5), (28, 14.9),
         (38, 72.0), (50, 112.0), (61, 120.0), (74, 92.0), (87, 52.0), (96, 30.0)],
    ],
    "knee_adduction": [
        [(0, 0.0), (15, 1.0), (40, -1.0), (60, -3.0), (80, 3.0), (92, 0.0)],
        [(0, 0.0), (14, 1.0), (36, -1.0), (58, -3.0), (80, 3.0), (92, 0.0)],
        [(0, 0.0), (12, 1.0), (30, -1.0), (55, -3.5), (78, 3.5), (92, 0.0)],
    ],
    "knee_rotation": [
        [(0, -2.0), (12, 4.0), (30, 6.0), (50, 2.0), (70, 4.0), (88, -3.0)],
        [(0, -2.0), (11, 4.0), (28, 6.0), (48, 2.0), (68, 4.0), (88, -3.0)],
        [(0, -2.0), (10, 4.0), (24, 6.0), (45, 2.0), (66, 4.0), (88, -3.0)],
    ],
    "ankle_flexion": [
        [(0, 6.6), (7, 9.0), (13, 19.2), (20, 24.8), (27, 20.2), (33, 8.6), (40, -3.0),
         (46, -12.0), (56, -6.0), (70, 8.0), (85, 8.0), (95, 7.0)],
        [(0, 0.0), (6, 9.1), (12, 23.2), (18, 31.0), (23, 22.2), (29, 2.0), (35, -19.0),
         (41, -22.0), (52, -5.0), (68, 8.0), (84, 8.0), (95, 4.0)],
        [(0, 0.9), (5, 10.7), (9, 26.5), (14, 30.3), (19, 17.4), (23, -3.2), (28, -24.9),
         (34, -27.0), (46, -6.0), (64, 10.0), (82, 8.0), (95, 3.0)],
    ],
    "ankle_adduction": [
        [(0, 4.0), (12, -5.0), (28, -3.0), (42, 5.0), (60, 3.0), (85, 2.0)],
        [(0, 4.0), (11, -6.0), (26, -3.0), (38, 5.0), (60, 3.0), (85, 2.0)],
        [(0, 4.0), (10, -6.0), (22, -3.0), (32, 5.0), (58, 3.0), (85, 2.0)],
    ],
    "ankle_rotation": [
        [(0, -9.0), (15, -11.0), (35, -8.0), (60, -12.0), (85, -9.0)],
        [(0, -9.0), (14, -11.0), (32, -8.0), (58, -12.0), (85, -9.0)],
        [(0, -9.0), (12, -11.0), (28, -8.0), (56, -12.0), (85, -9.0)],
    ],
}
_KEYS = {"walking": _WALK_KEYS, "running": _RUN_KEYS}


# ---------------------------------------------------------------- Fourier model in speed
def fourier_basis(phase: np.ndarray, n_harm: int) -> np.ndarray:
    """(N,) phase in cycles -> (N, 1 + 2 n_harm): [1, cos 2pi p, sin 2pi p, ..., sin 2pi n p]."""
    z1 = np.exp(2j * np.pi * np.asarray(phase, float))  # (N,)
    z = np.cumprod(np.broadcast_to(z1[:, None], (z1.shape[0], n_harm)), axis=1)  # (N, n_harm) e^{2 pi i k p}
    out = np.empty((z1.shape[0], 1 + 2 * n_harm))
    out[:, 0] = 1.0
    out[:, 1::2] = z.real
    out[:, 2::2] = z.imag
    return out


def _key_points(activity: str, channel: str, vstar: float) -> np.ndarray:
    """Key points (n, 2) [percent, deg] of one curve at one speed (full cycle).

    Phases and values are interpolated through the anchor speeds by the polynomial of
    lowest degree (quadratic for three anchors), smooth in ``v*``.
    """
    anchors = np.array(ANCHOR_VSTAR[activity])
    pts = np.array(_KEYS[activity][channel], float)  # (n_anchor, n, 2)
    basis = np.vander(anchors, len(anchors))  # (n_anchor, n_anchor)
    coef = np.linalg.solve(basis, pts.reshape(len(anchors), -1))  # polynomial through the anchors
    kp = (np.vander([vstar], len(anchors)) @ coef).reshape(pts.shape[1:])  # (n, 2)
    if channel in _HALF_CYCLE:
        kp = np.concatenate([kp, kp * np.array([1.0, _HALF_CYCLE[channel]]) + np.array([50.0, 0.0])])
    return kp


def _curve_on_grid(kp: np.ndarray, n_grid: int) -> np.ndarray:
    """Periodic cubic spline through key points (percent, value), sampled on n_grid phases."""
    x = np.append(kp[:, 0], kp[0, 0] + 100.0)
    y = np.append(kp[:, 1], kp[0, 1])
    spl = CubicSpline(x, y, bc_type="periodic")
    grid = np.arange(n_grid) * 100.0 / n_grid
    return spl(np.where(grid < x[0], grid + 100.0, grid))


@functools.lru_cache(maxsize=4)
def _template_model(activity: str) -> tuple[np.ndarray, float, float]:
    """Polynomial-in-v* Fourier model of the templates.

    Returns ``(coef, centre, half_width)``: ``coef`` (4, 1 + 2 N_HARMONICS, N_CURVES) such that
    a curve is ``sum_p u^p * basis(phase) @ coef[p]`` with ``u = (v* - centre) / half_width``.
    """
    lo, hi = VSTAR_RANGE[activity]
    grid_v = np.linspace(lo, hi, 16)
    n_grid = 256
    n_coef = 1 + 2 * N_HARMONICS
    coefs = np.empty((len(grid_v), n_coef, N_CURVES))
    for i, v in enumerate(grid_v):
        for c, ch in enumerate(CURVE_CHANNELS):
            y = _curve_on_grid(_key_points(activity, ch, v), n_grid)
            f = np.fft.rfft(y) / n_grid
            coefs[i, 0, c] = f[0].real
            coefs[i, 1::2, c] = 2.0 * f[1:N_HARMONICS + 1].real
            coefs[i, 2::2, c] = -2.0 * f[1:N_HARMONICS + 1].imag
    centre, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    u = (grid_v - centre) / half
    vander = np.stack([u ** p for p in range(4)], axis=1)  # (G, 4)
    sol, *_ = np.linalg.lstsq(vander, coefs.reshape(len(grid_v), -1), rcond=None)
    return sol.reshape(4, n_coef, N_CURVES), centre, half


def speed_terms(activity: str, vstar: np.ndarray) -> np.ndarray:
    """Speed polynomial terms ``[1, u, u^2, u^3]`` (N, 4) of dimensionless speeds ``vstar`` (N,).

    ``u`` is ``v*`` clipped to :data:`VSTAR_RANGE` and scaled to [-1, 1]; the terms weight the
    Fourier coefficients in :func:`template_curves` and :func:`template_mean`.
    """
    _, centre, half = _template_model(activity)
    lo, hi = VSTAR_RANGE[activity]
    u = (np.clip(np.asarray(vstar, float), lo, hi) - centre) / half
    return np.stack([u ** p for p in range(4)], axis=-1)  # (N, 4)


@functools.lru_cache(maxsize=4)
def _stacked_coef(activity: str) -> np.ndarray:
    """The coefficients of :func:`_template_model` side by side, (1 + 2 N_HARMONICS, 4 N_CURVES):
    columns ``p * N_CURVES + c`` hold ``coef[p][:, c]``, so one product gives every speed term."""
    coef, _, _ = _template_model(activity)
    return np.ascontiguousarray(np.concatenate(list(coef), axis=1))


def template_curves(activity: str, basis: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Template curves from a Fourier basis (N, 25) and speed polynomial terms (N, 4) -> (N, 12)."""
    full = basis @ _stacked_coef(activity)  # (N, 4 * 12): basis @ coef[p] for every p, one product
    out = up[:, :1] * full[:, :N_CURVES]
    for p in range(1, up.shape[1]):
        out += up[:, p:p + 1] * full[:, p * N_CURVES:(p + 1) * N_CURVES]
    return out


def template_mean(activity: str, up: np.ndarray) -> np.ndarray:
    """Cycle mean of every curve from speed polynomial terms: (N, 4) -> (N, 12)."""
    coef, _, _ = _template_model(activity)
    return up @ coef[:, 0, :]


def stance_fraction(activity: str, vstar) -> np.ndarray:
    """Toe-off as a fraction of the gait cycle at dimensionless speed ``vstar``.

    Walking: 0.62 - 0.1 (v* - 0.43), clipped to 0.55-0.68 (about 62 % at self-selected
    speed, longer stance and double support when slower; Perry & Burnfield 2010; Schwartz
    et al. 2008). Running: interpolated between :data:`RUN_STANCE_FRACTION` at the anchors.
    """
    v = np.asarray(vstar, float)
    if activity == "running":
        return np.interp(v, ANCHOR_VSTAR["running"], RUN_STANCE_FRACTION)
    return np.clip(0.62 - 0.1 * (v - 0.43), 0.55, 0.68)
