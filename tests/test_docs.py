"""The documentation site: it builds with ``mkdocs build --strict``, holds the model cards and
the sign table, and the ``imukin`` commands it shows are valid (the quick tour really runs)."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from imukin.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CARDS = sorted((ROOT / "src" / "imukin" / "pretrained").glob("*/MODEL_CARD.md"))


def _env() -> dict:
    """Environment for subprocesses: this interpreter's scripts first on PATH, one thread each."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                          "-d", str(out)], cwd=ROOT, capture_output=True, text=True, env=_env(), timeout=120)
    assert res.returncode == 0, f"mkdocs build --strict failed:\n{res.stdout}\n{res.stderr}"
    return out


def test_model_cards_become_pages(site):
    assert CARDS, "no MODEL_CARD.md under src/imukin/pretrained"
    overview = (site / "models" / "index.html").read_text(encoding="utf-8")
    for card in CARDS:
        name = card.parent.name
        page = site / "models" / name / "index.html"
        assert page.exists(), f"no page for the card of {name}"
        html = page.read_text(encoding="utf-8")
        assert name in html and "Validation RMSE" in html
        assert f'href="{name}/"' in overview  # listed in the overview table
    assert "<!-- model-cards -->" not in overview
    assert not (site / "hooks.py").exists()


def test_conventions_page_has_the_sign_table(site):
    html = (site / "conventions" / "index.html").read_text(encoding="utf-8")
    assert "<table>" in html
    for row in ("hip flexion: knee moves forward", "knee varus: ankle moves medially",
                "foot internal rotation: toes turn medially"):
        assert row in html


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _imukin_commands(block: str) -> list[str]:
    """``imukin ...`` argument strings of a shell block (continuation lines joined)."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        line = line.strip()
        if "$(which imukin)" in line:
            out.append(line.split("$(which imukin)", 1)[1])
        elif line.startswith("imukin "):
            out.append(line[len("imukin "):])
    return out


def test_every_imukin_command_in_the_docs_parses():
    parser = build_parser()
    found = 0
    for page in sorted(DOCS.glob("*.md")):
        for block in _shell_blocks(page.read_text(encoding="utf-8")):
            for cmd in _imukin_commands(block):
                found += 1
                try:
                    parser.parse_args(shlex.split(cmd, comments=True))
                except SystemExit:
                    pytest.fail(f"{page.name}: 'imukin {cmd}' is not a valid command line")
    assert found > 20


@pytest.mark.slow
def test_quick_tour_runs(tmp_path):
    """The quick tour of docs/commands.md, run as it stands with bash, from a repository-like folder."""
    text = (DOCS / "commands.md").read_text(encoding="utf-8")
    tour = _shell_blocks(text.split("## A quick tour", 1)[1])[0]
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # the tour reads tests/data/... from the repository root
    res = subprocess.run(["bash", "-euo", "pipefail", "-c", tour], cwd=tmp_path, capture_output=True, text=True,
                         env=_env(), timeout=600)
    assert res.returncode == 0, f"the quick tour failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    for path in ("tiny.h5", "runs/tiny_knee/model.json", "reports/tiny_knee/report.md", "runs/tiny_search/best",
                 "runs/tiny_ft/finetune_report.json", "walk_markers.h5", "merged/harmonized.h5"):
        assert (tmp_path / path).exists(), path
