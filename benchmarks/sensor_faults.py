"""Accuracy with sensors worse than the simulator's: the shipped walking models, with and without the
optimisation stage, on held-out simulated walkers whose IMU signals carry errors beyond those they
trained on.

The training corpora draw each sensor's errors from :class:`imukin.simulation.sensor_errors.SensorErrorConfig`
(gyroscope turn-on bias SD 0.5 deg/s, accelerometer bias SD 0.05 m/s^2, scale-factor SD 1 %, sensors sampled
together). Real recordings can be worse: consumer MEMS parts that were never calibrated have zero-rate offsets
of several deg/s and accelerometer offsets of tens of mg, scale tolerances of 2-3 %, and wireless sensors that
are not hardware-synchronised can be tens of milliseconds apart. This adds, on top of the simulated errors,
one of these per column, drawn per sensor with a fixed seed (``SEED``):

* gyroscope bias, normal SD 2 and 5 deg/s per axis (a constant);
* gyroscope scale error, normal SD 3 % per axis;
* accelerometer bias, normal SD 0.5 m/s^2 per axis;
* the distal sensor 5, 10 or 20 ms late (its signals delayed against the proximal one's and the reference);
* the distal sensor 40 ms late and put back by ``imukin predict --sync impact``
  (:func:`imukin.preprocessing.synchronize.sync_sensors_by_impact`): a jump is drawn into both sensors at 1 s
  (0.25 s of flight, specific force near 0, then a 6 g landing; :func:`draw_jump`), the angles scored on the
  frames the synchronisation keeps, against the reference on the proximal sensor's timeline.

It prints, per joint and predictor (``cnn``, ``cnn+refined`` by default), walking flexion offset-removed
RMSE (deg, mean over legs) on the held-out walkers of ``benchmarks/accuracy.py`` (seed 9001). Nothing is
fitted; the magnitudes are datasheet-typical, not a real recording's. It tells where the optimisation stage
(which integrates the gyroscopes) loses more than the angle network does when the sensors are worse.

    .venv/bin/python benchmarks/sensor_faults.py [--subjects 12] [--models cnn cnn+refined transformer] \
        [--candidates DIR]  # also trained, not shipped models DIR/walking_<joint>_<model>
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from imukin.conventions import G

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import flexion_error, heldout_walkers, heldout_walkers_parser, print_condition_table  # noqa: E402

SEED = 31  # of the added sensor errors
# column label -> (gyroscope bias SD deg/s, gyroscope scale SD, accelerometer bias SD m/s^2, distal delay s)
CONDITIONS = {
    "as simulated": (0.0, 0.0, 0.0, 0.0),
    "gyro bias 2 deg/s": (2.0, 0.0, 0.0, 0.0),
    "gyro bias 5 deg/s": (5.0, 0.0, 0.0, 0.0),
    "gyro scale 3 %": (0.0, 0.03, 0.0, 0.0),
    "acc bias 0.5 m/s^2": (0.0, 0.0, 0.5, 0.0),
    "distal 5 ms late": (0.0, 0.0, 0.0, 0.005),
    "distal 10 ms late": (0.0, 0.0, 0.0, 0.010),
    "distal 20 ms late": (0.0, 0.0, 0.0, 0.020),
    "distal 40 ms late, --sync impact": (0.0, 0.0, 0.0, 0.040),
}
SYNCED = "distal 40 ms late, --sync impact"  # the column synchronised by a drawn-in jump
JUMP_S = (0.75, 1.0)  # s, the drawn-in jump's flight (its landing at the end)


def draw_jump(acc: np.ndarray, fs: float, rng: np.random.Generator) -> np.ndarray:
    """A sensor's (T, 3) specific force with a jump drawn in: near 0 during :data:`JUMP_S` (free fall, 0.3 m/s^2
    of noise), then a 6 g landing spike of 10 ms SD along a random direction."""
    t = np.arange(len(acc)) / fs
    out = np.array(acc, float)
    flight = (t >= JUMP_S[0]) & (t < JUMP_S[1])
    out[flight] = rng.normal(0.0, 0.3, (int(flight.sum()), 3))
    direction = rng.normal(size=3)
    spike = np.exp(-0.5 * ((t - JUMP_S[1] - 0.02) / 0.01) ** 2)[:, None] * direction / np.linalg.norm(direction)
    return out + 6.0 * G * spike


def degrade(x: list[np.ndarray], fs: float, condition: tuple, rng: np.random.Generator) -> list[np.ndarray]:
    """One leg's ``[acc1, gyr1, acc2, gyr2]`` ((T, 3) each, m/s^2 and rad/s) with a condition's errors added."""
    gyr_bias_dps, gyr_scale, acc_bias, delay_s = condition
    out = []
    for k, a in enumerate(x):
        a = np.array(a, float)
        if k % 2:  # gyroscope
            a = a * (1.0 + rng.normal(0.0, gyr_scale, 3)) + np.deg2rad(rng.normal(0.0, gyr_bias_dps, 3))
        else:
            a = a + rng.normal(0.0, acc_bias, 3)
        if k >= 2 and delay_s > 0:  # the distal sensor's samples arrive late
            n = int(round(delay_s * fs))
            a = np.concatenate([np.repeat(a[:1], n, axis=0), a[:-n]])
        out.append(a)
    return out


def leg_error(predictor, c: int, i: int, rec, joint: str, s: int, side: str, fs: float) -> float:
    """Offset-removed flexion RMSE (deg) of one leg (recording ``i``, side ``s``) under condition ``c``."""
    from imukin.preprocessing.synchronize import sync_sensors_by_impact

    rng = np.random.default_rng([SEED, c, i, s])  # each leg's errors the same for every model
    x = list(rec.joint_inputs(joint, side))
    ref = rec.joint_angle(joint, side)
    synced = list(CONDITIONS)[c] == SYNCED
    if synced:
        x[0], x[2] = draw_jump(x[0], fs, rng), draw_jump(x[2], fs, rng)
    x = degrade(x, fs, list(CONDITIONS.values())[c], rng)
    if synced:
        acc, gyr, info = sync_sensors_by_impact({"1": x[0], "2": x[2]}, {"1": x[1], "2": x[3]}, fs)
        a, b = info["frames"]
        x, ref = [acc["1"], gyr["1"], acc["2"], gyr["2"]], ref[a:b]
        x, ref = [v[int(2 * fs):] for v in x], ref[int(2 * fs):]  # the jump itself is no gait: scored after it
    return flexion_error(predictor.predict(*x, side=side, fs=fs), ref)


def main() -> int:
    args = heldout_walkers_parser(__doc__.splitlines()[0]).parse_args()
    recs, fs = heldout_walkers(args)
    print(f"Walking flexion, offset-removed RMSE (deg), mean over {2 * len(recs)} legs of {len(recs)} held-out "
          f"simulated walkers at {fs:g} Hz, with sensor errors beyond the simulator's added (seed {SEED})\n")
    print_condition_table(list(CONDITIONS), recs, args.models,
                          lambda p, i, rec, joint, s, side, c: leg_error(p, c, i, rec, joint, s, side, fs),
                          candidates=args.candidates)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
