"""Shared test fixtures. Tests run on data in tests/data (copied from shared/data with attribution)."""
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)  # the suite runs with two workers on two cores

DATA = Path(__file__).parent / "data"

#: A small CNN that trains in seconds (model_overrides of TrainConfig).
TINY_CNN = {"n_layers": 2, "channels": 16, "kernel_size": 15, "dropout": 0.0}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def corpus_factory(tmp_path_factory):
    """Simulate a corpus and write it to an HDF5 file, once per session for each set of arguments.

    ``corpus_factory(name="walk.h5", attrs=None, **config)`` returns the file's path;
    ``config`` are :class:`imukin.simulation.corpus.CorpusConfig` fields (activity defaults
    to walking) and ``attrs`` the file attributes (default: the corpus's own). Tests only
    read the files.
    """
    from imukin.io.job_h5 import write_dataset
    from imukin.simulation.corpus import CorpusConfig, corpus_attrs, simulate_corpus

    made: dict[str, Path] = {}

    def make(name: str = "walk.h5", attrs: dict | None = None, **config) -> Path:
        config.setdefault("activity", "walking")
        key = repr((name, sorted(config.items()), sorted((attrs or {}).items()) if attrs is not None else None))
        if key not in made:
            cfg = CorpusConfig(**config)
            path = tmp_path_factory.mktemp("corpus") / name
            made[key] = write_dataset(path, simulate_corpus(cfg, workers=1),
                                      attrs=corpus_attrs(cfg) if attrs is None else attrs)
        return made[key]

    return make
