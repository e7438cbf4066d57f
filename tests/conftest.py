"""Shared test fixtures. Tests run on data in tests/data (copied from shared/data with attribution)."""
from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)  # the suite runs with two workers on two cores

DATA = Path(__file__).parent / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def data_dir() -> Path:
    return DATA
