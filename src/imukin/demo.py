"""``make demo``: the main job on built-in data.

Simulates a small corpus of new subjects (walking and running, full sensor error model),
writes it in the reference layout, and plots it.
"""
from __future__ import annotations

from pathlib import Path

from imukin.io.job_h5 import write_dataset


def run_demo(out: str | Path, n_subjects: int = 4, seed: int = 2024, duration_s: float = 20.0) -> dict:
    """Simulate demo corpora and write their files and plots under ``out``.

    Returns
    -------
    dict
        Paths of what was written, by name.
    """
    from imukin.evaluation.plots import plot_corpus_overview
    from imukin.simulation.corpus import CorpusConfig, corpus_attrs, simulate_corpus

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for activity in ("walking", "running"):
        cfg = CorpusConfig(activity=activity, n_subjects=n_subjects, seed=seed, duration_s=duration_s)
        records = list(simulate_corpus(cfg, progress=True))
        written[f"{activity}_data"] = write_dataset(out / f"{activity}_data.h5", records, attrs=corpus_attrs(cfg))
        written[f"{activity}_plot"] = plot_corpus_overview(out / f"{activity}_overview.png", records)
        speeds = ", ".join(f"{r.meta[3]:.2f}" for r in records)
        print(f"{activity}: {len(records)} subjects, mean speeds {speeds} m/s -> {written[f'{activity}_data']}")
    print(f"demo results in {out}/")
    return written
