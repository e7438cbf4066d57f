"""Simulated bodies: anthropometry, gait style and sensor sites."""
import numpy as np
import pytest

from imukin.conventions import SEGMENTS
from imukin.errors import ImukinError
from imukin.simulation.body import (
    CURVE_CHANNELS,
    N_CURVES,
    SENSOR_SITES,
    SubjectParams,
    draw_subject,
    foot_sole,
    sensor_sites,
)


@pytest.fixture(scope="module")
def people():
    rng = np.random.default_rng(7)
    return [draw_subject(rng, "walking") for _ in range(400)]


def test_heights_and_sexes_match_the_adult_population(people):
    h = np.array([p.height_m for p in people])
    assert abs(h.mean() - 1.72) < 0.02
    assert 0.07 < h.std() < 0.11
    sexes = [p.sex for p in people]
    assert 0.4 < sexes.count("female") / len(sexes) < 0.6
    men = np.array([p.height_m for p in people if p.sex == "male"])
    women = np.array([p.height_m for p in people if p.sex == "female"])
    assert men.mean() - women.mean() > 0.08
    bmi = np.array([p.mass_kg / p.height_m ** 2 for p in people])
    assert 21.5 < bmi.mean() < 25.5


def test_segment_lengths_follow_height_proportions_with_individual_variation(people):
    h = np.array([p.height_m for p in people])
    for name, prop in (("thigh_length_m", 0.245), ("shank_length_m", 0.246), ("foot_length_m", 0.152),
                       ("pelvis_width_m", 0.095)):
        ratio = np.array([getattr(p, name) for p in people]) / h
        assert abs(np.median(ratio) - prop) < 0.01 * prop + 0.005, name
        assert 0.015 < ratio.std() / ratio.mean() < 0.06, name  # a few percent, not identical
    legs = np.array([p.leg_length_m for p in people]) / h
    assert 0.50 < legs.mean() < 0.56


def test_gait_style_parameters_are_drawn_and_small(people):
    dev = np.stack([p.curve_dev_deg for p in people])  # (P, 12, 7)
    assert dev.shape[1:] == (N_CURVES, 7)
    assert np.all(np.abs(dev.mean(axis=0)) < 1.5)  # zero-mean deviations
    assert 1.0 < dev[:, CURVE_CHANNELS.index("knee_flexion"), 1].std() < 5.0  # a few degrees
    cad = np.array([p.cadence_factor for p in people])
    assert 0.03 < cad.std() < 0.07 and abs(cad.mean() - 1.0) < 0.02
    asym = np.stack([p.asym_scale for p in people])
    assert 0.02 < asym.std() < 0.06
    runners = [draw_subject(np.random.default_rng(i), "running") for i in range(200)]
    fore = np.mean([r.strike_plantarflexion_deg > 0 for r in runners])
    assert 0.1 < fore < 0.4  # about a quarter of runners strike with the mid- or fore-foot
    assert all(p.strike_plantarflexion_deg == 0 for p in people)


def test_draw_subject_is_deterministic():
    a, b = draw_subject(np.random.default_rng(3)), draw_subject(np.random.default_rng(3))
    assert a.height_m == b.height_m and a.sex == b.sex
    np.testing.assert_array_equal(a.curve_dev_deg, b.curve_dev_deg)
    c = draw_subject(np.random.default_rng(4))
    assert c.height_m != a.height_m


def test_sensor_sites_are_anatomical_and_mirrored():
    p = SubjectParams()
    sites = sensor_sites(p)
    assert set(sites) == set(SEGMENTS)
    assert sites["pelvis"][0] < -0.05 and sites["pelvis"][2] == 0.0  # on the sacrum, behind the hips
    assert sites["rthigh"][2] > 0.05 and -0.6 * p.thigh_length_m < sites["rthigh"][1] < -0.4 * p.thigh_length_m
    assert sites["rshank"][2] > 0.03 and -0.5 * p.shank_length_m < sites["rshank"][1] < -0.2 * p.shank_length_m
    assert sites["rfoot"][0] > 0.02  # instep, in front of the ankle
    for seg in ("thigh", "shank", "foot"):
        np.testing.assert_allclose(sites["l" + seg], sites["r" + seg] * np.array([1.0, 1.0, -1.0]))
    medial = sensor_sites(p, {"shank": "anteromedial"})["rshank"]
    assert medial[0] > 0.0 and medial[2] < 0.0  # front, medial (z to the right, right leg)
    with pytest.raises(ImukinError, match="shank sensor site"):
        sensor_sites(p, {"shank": "posterior"})
    with pytest.raises(ImukinError, match="segment type 'arm'"):
        sensor_sites(p, {"arm": "lateral"})


def test_every_named_site_lies_on_the_skin_of_its_segment():
    """Each site of SENSOR_SITES, on a default person: on the surface a segment's radius away from its long axis
    (thigh, shank), at the height its name says, mirrored to the left; the foot's behind or in front of the ankle;
    the pelvis's at the back or the right side."""
    p = SubjectParams()
    for typ, names in SENSOR_SITES.items():
        for name in names:
            sites = sensor_sites(p, {typ: name})
            others = sensor_sites(p)
            assert all(np.array_equal(sites[s], others[s]) for s in SEGMENTS if typ not in s), (typ, name)
            if typ in ("thigh", "shank"):
                r = p.thigh_radius_m if typ == "thigh" else p.shank_radius_m
                off_axis = np.hypot(sites["r" + typ][0], sites["r" + typ][2])
                assert 0.5 * r <= off_axis <= 1.01 * r, (typ, name)
                np.testing.assert_allclose(sites["l" + typ], sites["r" + typ] * [1.0, 1.0, -1.0])
    L = p.thigh_length_m
    assert sensor_sites(p, {"thigh": "distal lateral"})["rthigh"][1] < -0.7 * L < sensor_sites(p)["rthigh"][1]
    assert sensor_sites(p, {"thigh": "anterior"})["rthigh"][0] > 0.05
    assert sensor_sites(p, {"shank": "distal lateral"})["rshank"][1] < -0.6 * p.shank_length_m
    heel, side = sensor_sites(p, {"foot": "heel"})["rfoot"], sensor_sites(p, {"foot": "lateral"})["rfoot"]
    assert heel[0] < -0.21 * p.foot_length_m and side[2] > 0.03 and sensor_sites(p)["rfoot"][0] > 0
    crest = sensor_sites(p, {"pelvis": "iliac crest"})["pelvis"]
    assert crest[2] > 0.5 * p.pelvis_width_m and crest[1] > sensor_sites(p)["pelvis"][1]


def test_foot_sole_rests_on_the_ground_at_neutral():
    p = SubjectParams()
    centres, radii = foot_sole(p)
    np.testing.assert_allclose(centres[:, 1] - radii, -p.ankle_height_m)  # every circle touches the floor
    assert centres[:, 0].min() < 0 < centres[:, 0].max()  # heel behind, forefoot in front of the ankle
    assert centres[:, 0].max() - centres[:, 0].min() + radii.max() < p.foot_length_m


def test_subject_params_validation_and_speed_conversion():
    with pytest.raises(ImukinError):
        SubjectParams(height_m=-1.7)
    with pytest.raises(ImukinError):
        SubjectParams(sex="other")
    with pytest.raises(ImukinError):
        SubjectParams(curve_dev_deg=np.zeros((3, 3)))
    p = SubjectParams()
    assert abs(p.leg_length_m - (p.thigh_length_m + p.shank_length_m + p.ankle_height_m)) < 1e-12
    assert abs(float(p.speed_m_s(p.dimensionless_speed(1.3))) - 1.3) < 1e-12
    assert abs(p.step_length_factor * p.cadence_factor - 1.0) < 1e-12


def test_people_may_differ_in_more_curve_harmonics():
    """``harmonics=6`` adds harmonics 4-6 (SD 1/k of the first's, as the first three) to the same first three."""
    base = [draw_subject(np.random.default_rng(i)) for i in range(300)]
    more = [draw_subject(np.random.default_rng(i), harmonics=6) for i in range(300)]
    assert all(m.curve_dev_deg.shape == (N_CURVES, 13) for m in more)
    for b, m in zip(base[:5], more[:5]):  # the offsets and first three harmonics are drawn first
        np.testing.assert_array_equal(m.curve_dev_deg[:, :7], b.curve_dev_deg)
    knee = CURVE_CHANNELS.index("knee_flexion")
    sd = np.stack([m.curve_dev_deg[knee, 1:] for m in more]).std(axis=0)  # (12,) cos1, sin1, ..., cos6, sin6
    assert sd[6:].mean() == pytest.approx(sd[:2].mean() * np.mean(1 / np.arange(4, 7)), rel=0.25)
    with pytest.raises(ImukinError, match="curve harmonics must be 1-6"):
        draw_subject(np.random.default_rng(0), harmonics=7)


def test_the_further_harmonics_may_shape_some_curves_only():
    """``harmonic_curves``: only the curves named differ in harmonics 4-6; the person is otherwise the one the
    same seed gives with them on every curve."""
    every = draw_subject(np.random.default_rng(7), harmonics=6)
    knee = draw_subject(np.random.default_rng(7), harmonics=6, harmonic_curves=["knee_flexion"])
    k = CURVE_CHANNELS.index("knee_flexion")
    np.testing.assert_array_equal(knee.curve_dev_deg[k], every.curve_dev_deg[k])
    np.testing.assert_array_equal(knee.curve_dev_deg[:, :7], every.curve_dev_deg[:, :7])
    others = np.arange(N_CURVES) != k
    assert np.all(knee.curve_dev_deg[others, 7:] == 0.0) and np.any(every.curve_dev_deg[others, 7:] != 0.0)
    assert knee.height_m == every.height_m and np.array_equal(knee.curve_scale, every.curve_scale)
    with pytest.raises(ImukinError, match="must name curves of"):
        draw_subject(np.random.default_rng(0), harmonics=6, harmonic_curves=["elbow_flexion"])
