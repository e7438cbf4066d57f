"""The code passes ``ruff check`` with the rules in pyproject.toml ([tool.ruff])."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("src", "tests", "benchmarks", "examples")


def test_ruff_finds_nothing():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *CHECKED],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        pytest.fail(f"ruff check {' '.join(CHECKED)} (exit {res.returncode}):\n{res.stdout}{res.stderr}", pytrace=False)
