"""imukin.simulation.corpus: a small corpus equals the one recorded by SIMULATOR_REVISION 1, to rounding.

``data/simulator_reference.npz`` holds, for one walking and one running subject (seed 7, 3 s,
200 Hz, the default sensor error model), every 10th sample of each stored signal (float32),
as simulated when the file was made. Speed-ups of the simulator must leave these signals
unchanged to rounding (random draws consumed in the same order); a change of the simulated
physics bumps :data:`~imukin.simulation.corpus.SIMULATOR_REVISION` and re-records the file
(``python tests/simulation/test_simulator_reference.py``).
"""
from pathlib import Path

import numpy as np
import pytest
from scipy.interpolate import make_interp_spline

from imukin.simulation.corpus import SIMULATOR_REVISION, CorpusConfig, simulate_subject
from imukin.simulation.imu import interpolating_spline

REFERENCE = Path(__file__).parent / "data" / "simulator_reference.npz"
RECORDED_REVISION = 1  # SIMULATOR_REVISION when the reference was recorded
STEP = 10  # every 10th output sample is stored
KINDS = ("acc", "gyr", "rmat", "angle")
RTOL = 1e-6  # of each signal's largest magnitude: rounding only


def _config(activity: str) -> CorpusConfig:
    return CorpusConfig(activity=activity, n_subjects=1, seed=7, duration_s=3.0)


def _arrays(activity: str) -> dict[str, np.ndarray]:
    """Every stored signal of subject 0, as ``"<activity>/<kind>/<name>"`` -> (M, ...) float64."""
    rec = simulate_subject(_config(activity), 0)
    out = {f"{activity}/{kind}/{k}": np.asarray(v)[::STEP] for kind in KINDS for k, v in getattr(rec, kind).items()}
    out[f"{activity}/meta"] = rec.meta
    return out


def record_reference(path: Path = REFERENCE) -> None:
    """Write the reference file from the simulator as it is now (only when the physics change)."""
    arrays = {k: v.astype(np.float32) for a in ("walking", "running") for k, v in _arrays(a).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, revision=np.array(SIMULATOR_REVISION), **arrays)


@pytest.mark.parametrize("activity", ["walking", "running"])
def test_corpus_matches_the_recorded_simulator(activity):
    assert SIMULATOR_REVISION == RECORDED_REVISION, "the physics changed: re-record the reference file"
    ref = np.load(REFERENCE)
    assert int(ref["revision"]) == RECORDED_REVISION
    new = _arrays(activity)
    assert sorted(new) == sorted(k for k in ref.files if k.startswith(f"{activity}/"))
    for key, value in new.items():
        want = ref[key].astype(np.float64)
        assert value.shape == want.shape, key
        scale = max(float(np.max(np.abs(want))), 1e-12)
        quantum = float(np.max(np.abs(want))) * np.finfo(np.float32).eps  # the reference is stored as float32
        err = float(np.max(np.abs(value - want)))
        assert err <= RTOL * scale + quantum, f"{key}: max |new - reference| = {err:.3g} (scale {scale:.3g})"


def test_interpolating_spline_is_scipys_quintic():
    """The shared-factorisation spline equals make_interp_spline(k=5), also after the sites change."""
    rng = np.random.default_rng(3)
    for n in (40, 40, 57):  # the second call reuses the factorisation, the third refactors
        x = np.cumsum(rng.uniform(0.5, 1.5, n)) / 100.0
        y = np.cumsum(rng.standard_normal((n, 2, 3)), axis=0)
        ours, ref = interpolating_spline(x, y), make_interp_spline(x, y, k=5)
        assert np.array_equal(ours.t, ref.t) and ours.c.shape == ref.c.shape
        assert np.allclose(ours.c, ref.c, rtol=0.0, atol=1e-9 * np.abs(ref.c).max())
        assert np.allclose(ours(x, 2), ref(x, 2), rtol=0.0, atol=1e-9 * np.abs(ref(x, 2)).max())


if __name__ == "__main__":
    record_reference()
