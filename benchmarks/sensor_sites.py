"""Accuracy with the sensors at other sites on their segments: the shipped walking models, with and without the
optimisation stage, on held-out simulated walkers who wear one segment type's sensors elsewhere.

The training corpora put every sensor at one site per segment (:data:`imukin.simulation.body.SENSOR_SITES`'
first: the sacrum, the lateral mid-thigh, the lateral shank at its upper third, the instep), scattered by
2 cm per axis. Gait studies strap them elsewhere too: a belt clip on the iliac crest, a sensor on the front of
the thigh or just above the knee, on the tibia's flat face or above the ankle, on the heel or the side of the
shoe. A sensor away from the usual site turns with its segment all the same but feels other accelerations
(the lever arm's tangential and centripetal terms). Each column moves one segment type's sensors (both legs)
to one other site of :data:`~imukin.simulation.body.SENSOR_SITES`, the people, motion and sensor errors
otherwise the same (``CorpusConfig.placement``); the mountings as simulated (the sensors' axes along the
segment's, as after ``--align auto``).

It prints, per joint and predictor (``cnn``, ``cnn+refined`` by default), walking flexion offset-removed RMSE
(deg, mean over legs) on the held-out walkers of ``benchmarks/accuracy.py`` (seed 9001). Nothing is fitted.

    .venv/bin/python benchmarks/sensor_sites.py [--subjects 12] [--models cnn cnn+refined transformer] \\
        [--candidates DIR]  # also trained, not shipped models DIR/walking_<joint>_<model>
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from accuracy import TEST_SEEDS, flexion_error, heldout_walkers_parser, print_condition_table  # noqa: E402

from imukin.io.job_h5 import file_attrs, iter_dataset, subject_ids  # noqa: E402
from imukin.simulation.body import SENSOR_SITES  # noqa: E402
from imukin.simulation.corpus import CorpusConfig, cached_corpus  # noqa: E402

#: Column label -> placement (segment type -> site); the first column keeps every sensor at its usual site.
PLACEMENTS = {"usual sites": None} | {f"{typ} {site}": {typ: site}
                                      for typ, sites in SENSOR_SITES.items() for site in sites[1:]}


def site_corpus(placement: dict | None, n: int, duration: float, workdir: Path) -> Path:
    """The held-out walkers (seed 9001) with ``placement``'s sensors moved, simulated once and cached."""
    tag = "".join(f"_{t}-{s.replace(' ', '-')}" for t, s in sorted((placement or {}).items()))
    path = workdir / f"walking_heldout_s{TEST_SEEDS['walking']}_n{n}_d{duration:g}{tag}.h5"
    return cached_corpus(path, CorpusConfig(activity="walking", n_subjects=n, seed=TEST_SEEDS["walking"],
                                            duration_s=duration, placement=placement))


def main() -> int:
    args = heldout_walkers_parser(__doc__.splitlines()[0]).parse_args()
    by_column = []
    for placement in PLACEMENTS.values():
        path = site_corpus(placement, args.subjects, args.duration_s, args.workdir)
        by_column.append(list(iter_dataset(path, subjects=subject_ids(path), rmat=False)))
    fs = float(file_attrs(path)["fs"])
    print(f"Walking flexion, offset-removed RMSE (deg), mean over {2 * args.subjects} legs of {args.subjects} "
          f"held-out simulated walkers at {fs:g} Hz, one segment type's sensors at another site per column\n")

    def leg_error(predictor, i, rec, joint, s, side, c):
        rec = by_column[c][i]  # the same person, the sensors of column c's placement
        return flexion_error(predictor.predict(*rec.joint_inputs(joint, side), side=side, fs=fs),
                             rec.joint_angle(joint, side))

    print_condition_table(list(PLACEMENTS), by_column[0], args.models, leg_error, candidates=args.candidates)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
