"""Units: g vs m/s^2 and deg/s vs rad/s told apart by magnitude, from first principles."""
import numpy as np
import pytest

from imukin.conventions import G
from imukin.errors import ImukinError
from imukin.io.units import check_units, convert_units, detect_units, unit_in_name


@pytest.fixture
def gait(rng):
    t = np.arange(1000) / 100.0
    acc = np.column_stack([np.sin(2 * np.pi * t), G + 2 * np.cos(2 * np.pi * t), 0.5 * rng.normal(size=t.size)])
    gyr = np.column_stack([0.2 * rng.normal(size=t.size), 0.2 * rng.normal(size=t.size), 5 * np.sin(2 * np.pi * t)])
    return acc, gyr  # m/s^2, rad/s: a still-ish sensor under gravity, swinging at up to 5 rad/s


def test_si_signals_pass_and_are_detected_as_si(gait):
    acc, gyr = gait
    assert detect_units(acc, gyr) == ("m/s^2", "rad/s")
    check_units(acc, gyr, "thigh")  # no error


def test_g_and_deg_s_are_detected_and_refused_with_the_fix(gait):
    acc, gyr = gait
    assert detect_units(acc / G, np.rad2deg(gyr)) == ("g", "deg/s")
    with pytest.raises(ImukinError, match="looks like g; multiply by 9.81"):
        check_units(acc / G, gyr, "thigh")
    with pytest.raises(ImukinError, match="looks like deg/s"):
        check_units(acc, np.rad2deg(gyr), "thigh")


def test_conversion_to_si_from_declared_or_given_units(gait):
    acc, gyr = gait
    a, g, units = convert_units(acc / G, np.rad2deg(gyr), [("g", "header"), ("deg/s", "header")], "auto", "auto", "s")
    assert np.allclose(a, acc) and np.allclose(g, gyr)
    assert units == {"acc": "g (header)", "gyr": "deg/s (header)"}
    with pytest.raises(ImukinError, match="declares the accelerometer in m/s\\^2"):
        convert_units(acc / G, gyr, [("m/s^2", "header"), (None, "header")], "auto", "auto", "s")
    a, _, units = convert_units(acc / G, gyr, [(None, ""), (None, "")], "g", "rad/s", "s")
    assert np.allclose(a, acc) and units["acc"] == "g (given)"


@pytest.mark.parametrize("name, unit", [("Acc_X (m/s^2)", "m/s^2"), ("acc_x [g]", "g"), ("Gyr_X (deg/s)", "deg/s"),
                                        ("gyro x (dps)", "deg/s"), ("Gyr_X", None)])
def test_unit_in_column_name(name, unit):
    assert unit_in_name(name, ("m/s^2", "g", "rad/s", "deg/s")) == unit
