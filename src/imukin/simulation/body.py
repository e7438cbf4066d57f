"""Simulated people: body size, segment lengths, gait style and where the sensors sit.

Segment lengths are proportions of body height after Winter (Biomechanics and Motor
Control of Human Movement, 4th ed., 2009, Fig. 4.1, from Drillis & Contini / Dempster):
thigh (hip to knee joint centre) 0.245 H, shank (knee to ankle joint centre) 0.246 H,
foot length 0.152 H, ankle joint height 0.039 H. The hip-joint-centre separation
(0.095 H) and pelvis depth (ASIS-PSIS, 0.095 H) follow the Bell et al. (1982) hip-centre
regression on a 0.13 H inter-ASIS width. Each proportion gets a per-subject random
factor of a few percent, so limbs are not all alike for a given height.

Gait style (used by :mod:`imukin.simulation.gait`): a cadence factor, smooth
per-subject deviations of every joint-angle curve (a few random low-order Fourier
coefficients in degrees), left/right asymmetry and, for running, the foot-strike style.

All segment frames follow :mod:`imukin.conventions` (x anterior, y superior, z to the
subject's right on both sides); left-side sites are the right ones mirrored (z negated).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from imukin.conventions import ACTIVITIES, SEGMENTS, check_choice
from imukin.errors import ImukinError

#: The joint-angle curves the gait generator shapes, in the row order of the per-subject
#: arrays below. Pelvis angles are those of the pelvis in the walking-direction frame
#: (Plug-in Gait ``PelvisAngles``, right-side view); the others are the
#: :mod:`imukin.conventions` joint angles.
CURVE_CHANNELS = (
    "pelvis_tilt", "pelvis_obliquity", "pelvis_rotation",
    "hip_flexion", "hip_adduction", "hip_rotation",
    "knee_flexion", "knee_adduction", "knee_rotation",
    "ankle_flexion", "ankle_adduction", "ankle_rotation",
)
N_CURVES = len(CURVE_CHANNELS)
#: Harmonics in the per-subject curve deviations: coefficients [offset, cos1, sin1, ..., cos3, sin3]. A corpus
#: may ask for more (:func:`draw_subject`'s ``harmonics``, ``CorpusConfig.curve_harmonics``), harmonic k with SD
#: ``DEV_HARMONIC_SD_DEG / k`` as these: people whose loading response and swing peak vary apart.
N_DEV_HARMONICS = 3
MAX_DEV_HARMONICS = 6  # most harmonics a corpus may ask for

#: Height proportions (Winter 2009) and their per-subject relative SD.
THIGH_PER_HEIGHT = 0.245
SHANK_PER_HEIGHT = 0.246
FOOT_PER_HEIGHT = 0.152
ANKLE_HEIGHT_PER_HEIGHT = 0.039
PELVIS_WIDTH_PER_HEIGHT = 0.095  # hip-joint-centre separation
PELVIS_DEPTH_PER_HEIGHT = 0.095  # ASIS to PSIS
PROPORTION_SD = 0.03

#: Height (m) by sex: mean and SD (adult populations; pooled about N(1.72, 0.09)).
HEIGHT_M = {"female": (1.65, 0.065), "male": (1.785, 0.07)}

#: Per-subject SD (deg) of the curve deviation offsets (harmonic 0), per CURVE_CHANNELS.
#: Large for transverse-plane offsets (femoral anteversion, tibial torsion) and pelvic tilt.
#: The hip flexion offset also inherits the pelvic tilt offset (a pelvis tilted further
#: forward flexes the hip by as much, the thigh keeps its path); its own part is small.
DEV_OFFSET_SD_DEG = {"walking": np.array([3.5, 0.5, 1.0, 2.5, 2.0, 6.0, 3.5, 2.0, 5.0, 3.5, 2.5, 4.0]),
                     "running": np.array([3.5, 0.5, 1.0, 1.5, 2.0, 6.0, 2.5, 2.0, 5.0, 3.0, 2.5, 4.0])}
#: Per-subject SD (deg) of the first-harmonic deviation coefficients; harmonic k gets 1/k of it.
#: Walking: sagittal hip, knee and ankle (offsets and harmonics) about 1.3 times the running values, and
#: CURVE_SCALE_SD below, bring the between-subject SD of simulated mean walking curves to the normative
#: one (Schwartz et al. 2008 bands as mean +- 1 SD: knee and ankle flexion about 6.3 and 5.3 deg at free
#: speed, simulated 6.4 and 5.4; it was 4.5 and 4.2). Running keeps the narrower values: with wider
#: ones some simulated runners lose their flight phase.
DEV_HARMONIC_SD_DEG = {"walking": np.array([0.6, 1.4, 2.2, 2.6, 1.5, 2.0, 3.9, 0.8, 1.5, 2.9, 1.0, 1.0]),
                       "running": np.array([0.6, 1.4, 2.2, 2.0, 1.5, 2.0, 3.0, 0.8, 1.5, 2.2, 1.0, 1.0])}
#: Walking: per-subject relative SD of each curve's range (its excursion about the cycle mean is scaled by
#: ``1 + CURVE_SCALE_SD * z``): people differ most at the peaks (swing knee flexion, push-off),
#: which low-order Fourier deviations alone cannot give. Hip flexion and pelvic rotation get
#: none: their range is fitted to the stride length. With it the simulated population's SD of
#: mean curves comes near the normative between-subject SD of Schwartz et al. (2008) (their
#: bands, taken as mean +- 1 SD; ``tests/simulation/test_gait.py`` checks the spread).
CURVE_SCALE_SD = np.array([0.10, 0.15, 0.0, 0.0, 0.15, 0.15, 0.15, 0.25, 0.15, 0.15, 0.15, 0.15])


@dataclass
class SubjectParams:
    """One simulated person. The defaults describe an average adult with a textbook gait."""

    sex: str = "male"  # "female" or "male"
    height_m: float = 1.72  # standing height
    mass_kg: float = 70.0  # body mass
    thigh_length_m: float = THIGH_PER_HEIGHT * 1.72  # hip joint centre to knee joint centre
    shank_length_m: float = SHANK_PER_HEIGHT * 1.72  # knee joint centre to ankle joint centre
    foot_length_m: float = FOOT_PER_HEIGHT * 1.72  # heel to tip of the longest toe
    ankle_height_m: float = ANKLE_HEIGHT_PER_HEIGHT * 1.72  # ankle joint centre above the sole
    pelvis_width_m: float = PELVIS_WIDTH_PER_HEIGHT * 1.72  # distance between the hip joint centres
    pelvis_depth_m: float = PELVIS_DEPTH_PER_HEIGHT * 1.72  # ASIS to PSIS (antero-posterior pelvis depth)
    thigh_radius_m: float = 0.075  # mid-thigh radius (skin to femur axis), places the thigh sensor
    shank_radius_m: float = 0.05  # upper-shank radius (skin to tibia axis), places the shank sensor
    cadence_factor: float = 1.0  # this person's step frequency / the population's at the same speed
    #   (step length follows as speed / cadence; hip flexion range adapts to produce it)
    curve_dev_deg: np.ndarray = field(  # (N_CURVES, 1 + 2 * N_DEV_HARMONICS) Fourier deviations, deg
        default_factory=lambda: np.zeros((N_CURVES, 1 + 2 * N_DEV_HARMONICS)))
    asym_scale: np.ndarray = field(default_factory=lambda: np.zeros(N_CURVES))  # right/left amplitude
    #   difference per curve: right curves scaled by (1 + a/2), left by (1 - a/2)
    asym_offset_deg: np.ndarray = field(default_factory=lambda: np.zeros(N_CURVES))  # right minus left
    #   offset per curve, deg (half added to the right, half subtracted from the left)
    phase_asym: float = 0.0  # left heel strike delay beyond half a cycle, fraction of the cycle
    curve_scale: np.ndarray = field(default_factory=lambda: np.ones(N_CURVES))  # per-curve range factor
    #   (excursion about the cycle mean), both sides
    strike_plantarflexion_deg: float = 0.0  # running: extra ankle plantarflexion at foot strike
    #   (0 = rear-foot striker, 8-15 = mid/fore-foot striker)

    def __post_init__(self):
        check_choice("sex", self.sex, ("female", "male"))
        for name in ("height_m", "mass_kg", "thigh_length_m", "shank_length_m", "foot_length_m",
                     "ankle_height_m", "pelvis_width_m", "pelvis_depth_m", "thigh_radius_m", "shank_radius_m",
                     "cadence_factor"):
            if not float(getattr(self, name)) > 0:
                raise ImukinError(f"subject {name} must be positive, got {getattr(self, name)}")
        self.curve_dev_deg = np.asarray(self.curve_dev_deg, float)
        k = self.curve_dev_deg.shape[-1] // 2 if self.curve_dev_deg.ndim == 2 else -1
        if self.curve_dev_deg.shape != (N_CURVES, 1 + 2 * k) or not 1 <= k <= MAX_DEV_HARMONICS:
            raise ImukinError(f"curve_dev_deg must have shape ({N_CURVES}, 1 + 2 k) with 1 <= k <= "
                              f"{MAX_DEV_HARMONICS} harmonics, got {self.curve_dev_deg.shape}")
        self.asym_scale = np.asarray(self.asym_scale, float).reshape(N_CURVES)
        self.asym_offset_deg = np.asarray(self.asym_offset_deg, float).reshape(N_CURVES)
        self.curve_scale = np.asarray(self.curve_scale, float).reshape(N_CURVES)

    @property
    def step_length_factor(self) -> float:
        """This person's step length / the population's at the same speed (1 / cadence factor)."""
        return 1.0 / self.cadence_factor

    @property
    def leg_length_m(self) -> float:
        """Hip joint centre to the floor at neutral standing: thigh + shank + ankle height."""
        return self.thigh_length_m + self.shank_length_m + self.ankle_height_m

    def dimensionless_speed(self, speed_m_s):
        """Froude-type speed ``v / sqrt(g * leg length)`` (as in Schwartz et al. 2008)."""
        from imukin.conventions import G
        return np.asarray(speed_m_s, float) / np.sqrt(G * self.leg_length_m)

    def speed_m_s(self, dimensionless_speed):
        """Inverse of :meth:`dimensionless_speed`: m/s for a dimensionless speed."""
        from imukin.conventions import G
        return np.asarray(dimensionless_speed, float) * np.sqrt(G * self.leg_length_m)


def check_curve_harmonics(harmonics, name: str = "curve harmonics") -> int:
    """``harmonics`` as an int, refused in one line (naming it ``name``) outside 1-:data:`MAX_DEV_HARMONICS`."""
    if not 1 <= int(harmonics) <= MAX_DEV_HARMONICS:
        raise ImukinError(f"{name} must be 1-{MAX_DEV_HARMONICS}, got {harmonics}")
    return int(harmonics)


def check_harmonic_curves(curves, name: str = "harmonic curves") -> tuple[str, ...] | None:
    """``curves`` (names of :data:`CURVE_CHANNELS`) as a tuple in that order, or None for every curve; unknown names
    refused in one line (naming the option ``name``)."""
    if curves is None:
        return None
    curves = (curves,) if isinstance(curves, str) else tuple(curves)
    bad = sorted(set(curves) - set(CURVE_CHANNELS))
    if bad or not curves:
        raise ImukinError(f"{name} must name curves of {', '.join(CURVE_CHANNELS)}; got {', '.join(bad) or 'none'}")
    return tuple(c for c in CURVE_CHANNELS if c in curves)


def draw_subject(rng: np.random.Generator, activity: str = "walking",
                 harmonics: int = N_DEV_HARMONICS, harmonic_curves=None) -> SubjectParams:
    """Draw a random adult: sex, height, mass, segment lengths and gait style.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (same state -> same subject).
    activity : {"walking", "running"}
        Running subjects also get a foot-strike style (about a quarter strike with the
        mid- or fore-foot).
    harmonics : int
        Harmonics of the person's deviations from the template curves (1 to :data:`MAX_DEV_HARMONICS`).
    harmonic_curves : sequence of str, optional
        The curves (:data:`CURVE_CHANNELS`) that differ in the harmonics beyond :data:`N_DEV_HARMONICS`; the
        others keep the first :data:`N_DEV_HARMONICS` only. None (default): every curve. The random draws are
        the same either way, so one seed gives the same person but for those harmonics.

    Returns
    -------
    SubjectParams
    """
    check_choice("activity", activity, ACTIVITIES)
    sex = "female" if rng.random() < 0.5 else "male"
    mu, sd = HEIGHT_M[sex]
    h = float(np.clip(rng.normal(mu, sd), 1.45, 2.05))
    bmi = float(np.clip(rng.normal(23.5, 3.0), 17.5, 35.0))
    prop = 1.0 + PROPORTION_SD * np.clip(rng.standard_normal(6), -2.5, 2.5)  # thigh shank foot ankle width depth
    width_sex = 1.04 if sex == "female" else 1.0  # relatively wider pelvis in women
    girth = np.sqrt(bmi / 23.5)
    harmonics = check_curve_harmonics(harmonics)
    n_coef = 1 + 2 * harmonics
    dev = np.zeros((N_CURVES, n_coef))
    dev[:, 0] = DEV_OFFSET_SD_DEG[activity] * np.clip(rng.standard_normal(N_CURVES), -2.5, 2.5)
    dev[CURVE_CHANNELS.index("hip_flexion"), 0] += dev[CURVE_CHANNELS.index("pelvis_tilt"), 0]
    keep = np.array([c in (check_harmonic_curves(harmonic_curves) or CURVE_CHANNELS) for c in CURVE_CHANNELS])
    for k in range(1, harmonics + 1):
        z = np.clip(rng.standard_normal((N_CURVES, 2)), -2.5, 2.5)
        dev[:, 2 * k - 1:2 * k + 1] = (DEV_HARMONIC_SD_DEG[activity] / k)[:, None] * z
        if k > N_DEV_HARMONICS:
            dev[~keep, 2 * k - 1:2 * k + 1] = 0.0
    strike = 0.0
    if activity == "running" and rng.random() < 0.25:
        strike = float(rng.uniform(6.0, 15.0))
    scale_z = np.clip(rng.standard_normal(N_CURVES), -2.5, 2.5)
    return SubjectParams(
        sex=sex,
        height_m=h,
        mass_kg=bmi * h * h,
        thigh_length_m=THIGH_PER_HEIGHT * h * prop[0],
        shank_length_m=SHANK_PER_HEIGHT * h * prop[1],
        foot_length_m=FOOT_PER_HEIGHT * h * prop[2],
        ankle_height_m=ANKLE_HEIGHT_PER_HEIGHT * h * prop[3],
        pelvis_width_m=PELVIS_WIDTH_PER_HEIGHT * h * prop[4] * width_sex,
        pelvis_depth_m=PELVIS_DEPTH_PER_HEIGHT * h * prop[5],
        thigh_radius_m=0.075 * girth * h / 1.72 * float(rng.uniform(0.9, 1.1)),
        shank_radius_m=0.05 * girth * h / 1.72 * float(rng.uniform(0.9, 1.1)),
        cadence_factor=float(np.clip(rng.normal(1.0, 0.05), 0.88, 1.12)),
        curve_dev_deg=dev,
        asym_scale=0.04 * np.clip(rng.standard_normal(N_CURVES), -2.5, 2.5),
        asym_offset_deg=1.0 * np.clip(rng.standard_normal(N_CURVES), -2.5, 2.5),
        phase_asym=float(0.008 * np.clip(rng.standard_normal(), -2.5, 2.5)),
        strike_plantarflexion_deg=strike,
        curve_scale=(np.clip(1.0 + CURVE_SCALE_SD * scale_z, 0.5, 1.6) if activity == "walking"
                     else np.ones(N_CURVES)),
    )


def foot_sole(params: SubjectParams) -> tuple[np.ndarray, np.ndarray]:
    """The sole of the right foot as four rolling circles, in the foot frame.

    A rounded heel (radius 3.5 cm) and a rounded forefoot under the metatarsal heads
    (radius 2 cm), each on a medial and a lateral line 3.5 cm from the foot's long axis;
    the flat mid-sole between them is their common tangent. The sole is ``ankle_height_m``
    below the ankle joint centre, which lies 21 % of the foot length in front of the heel;
    the metatarsal heads are at 73 %. Left foot: negate z.

    Returns
    -------
    centres : ndarray, shape (4, 3)
        Circle centres (m), each circle in the foot's x-y plane.
    radii : ndarray, shape (4,)
        Circle radii (m).
    """
    lf, ha = params.foot_length_m, params.ankle_height_m
    r_h, r_f = 0.035, 0.02
    x_heel = -0.21 * lf + r_h  # heel circle centre (back of the heel at -0.21 lf)
    x_mth = 0.52 * lf  # metatarsal heads
    centres = np.array([[x_heel, -ha + r_h, -0.035], [x_heel, -ha + r_h, 0.035],
                        [x_mth, -ha + r_f, -0.035], [x_mth, -ha + r_f, 0.035]])
    return centres, np.array([r_h, r_h, r_f, r_f])


#: Where a sensor may sit on each segment type (:func:`sensor_sites`), the default first: the sites of
#: straps, clips and shoe mounts in gait studies. Pelvis: over the sacrum (a belt's back) or on the right
#: iliac crest (a belt clip at the side); thigh: lateral mid-thigh, the front of the mid-thigh, or lateral
#: just above the knee; shank: lateral at the upper third (where marker clusters and most commercial straps
#: go), the flat antero-medial face of the tibia at the upper third, or lateral at the lower third above the
#: ankle; foot: the dorsum over the instep (the laces), the back of the heel (a heel clip) or the lateral
#: mid-foot (the shoe's side).
SENSOR_SITES = {
    "pelvis": ("sacrum", "iliac crest"),
    "thigh": ("lateral", "anterior", "distal lateral"),
    "shank": ("lateral", "anteromedial", "distal lateral"),
    "foot": ("instep", "heel", "lateral"),
}


def check_placement(placement) -> dict[str, str]:
    """``placement`` (segment type -> site name of :data:`SENSOR_SITES`, or None) as a full dict, the default
    site for every type it leaves out; an unknown type or site is refused in one line."""
    placement = dict(placement or {})
    for typ, site in placement.items():
        if typ not in SENSOR_SITES:
            raise ImukinError(f"sensor placement names segment type {typ!r}; use {', '.join(SENSOR_SITES)}")
        check_choice(f"{typ} sensor site", site, SENSOR_SITES[typ])
    return {typ: placement.get(typ, sites[0]) for typ, sites in SENSOR_SITES.items()}


def sensor_sites(params: SubjectParams, placement: dict | None = None) -> dict[str, np.ndarray]:
    """Where each of the seven sensors sits on its segment, in the segment frame (m).

    Parameters
    ----------
    params : SubjectParams
    placement : dict of str -> str, optional
        Segment type (``pelvis``, ``thigh``, ``shank``, ``foot``) -> one of its sites in
        :data:`SENSOR_SITES`; types left out (and ``None``) take the first, default site.

    Returns
    -------
    dict of str -> ndarray, shape (3,)
        Keys :data:`imukin.conventions.SEGMENTS`. Frames as in :mod:`imukin.conventions`
        (origin at the segment's proximal joint centre; for the pelvis the midpoint of the
        hip joint centres); left sites are the right ones with z negated (the pelvis's
        iliac crest is the right one).

    Examples
    --------
    >>> p = SubjectParams()
    >>> heel, instep = sensor_sites(p, {"foot": "heel"})["rfoot"], sensor_sites(p)["rfoot"]
    >>> bool(heel[0] < 0 < instep[0])  # behind and in front of the ankle
    True
    """
    where = check_placement(placement)
    p = params
    # Bell et al. (1982): hip centres 14 % posterior, 30 % inferior and 36 % lateral of the
    # inter-ASIS width from the ASIS midpoint, so the ASIS width is pelvis_width / 0.72.
    asis_w = p.pelvis_width_m / 0.72
    pelvis = {"sacrum": [-(p.pelvis_depth_m - 0.14 * asis_w) - 0.01, 0.30 * asis_w - 0.02, 0.0],
              # the iliac tubercle: about 5 cm behind and above the ASIS, on the skin at its side
              "iliac crest": [0.14 * asis_w - 0.05, 0.30 * asis_w + 0.05, 0.5 * asis_w + 0.01]}
    lt, rt, ls, rs = p.thigh_length_m, p.thigh_radius_m, p.shank_length_m, p.shank_radius_m
    thigh = {"lateral": [0.0, -0.5 * lt, rt], "anterior": [rt, -0.5 * lt, 0.0],
             "distal lateral": [0.0, -0.8 * lt, 0.8 * rt]}  # the thigh narrows above the knee
    shank = {"lateral": [0.0, -ls / 3.0, rs], "anteromedial": [0.7 * rs, -ls / 3.0, -0.5 * rs],
             "distal lateral": [0.0, -0.7 * ls, 0.6 * rs]}  # above the ankle, where the shank is thin
    lf, ha = p.foot_length_m, p.ankle_height_m
    foot = {"instep": [0.22 * lf, 0.2 * ha, 0.0],
            "heel": [-0.21 * lf - 0.015, -0.5 * ha, 0.0],  # the heel is 21 % of the foot behind the ankle
            "lateral": [0.15 * lf, -0.5 * ha, 0.045]}
    right = {"thigh": thigh[where["thigh"]], "shank": shank[where["shank"]], "foot": foot[where["foot"]]}
    out = {}
    for seg in SEGMENTS:
        if seg == "pelvis":
            out[seg] = np.array(pelvis[where["pelvis"]], float)
        else:
            site = np.array(right[seg[1:]], float)
            if seg[0] == "l":
                site[2] = -site[2]
            out[seg] = site
    return out
