"""Fault injection: kill -9 at a random point, concurrent runs, bad paths and property-based bad numbers.

Checks the reliability promise of the README: every command prints one line and exits with
status 2 on bad input, files are written atomically, and simulate, train, search and
harmonize finish after a kill with the same result as an uninterrupted run.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imukin.cli import main
from imukin.io.atomic import atomic_path, remove_stale_temporaries

DATA = Path(__file__).parent / "data"
IMUKIN = [sys.executable, "-m", "imukin"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


# ---------------------------------------------------------------- helpers
def run_main(*argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse
            code = e.code
    return code, err.getvalue().strip()


def assert_one_line(code, err, *words):
    assert code == 2, err
    assert err.startswith("imukin: error: ") and "\n" not in err and "Traceback" not in err, err
    for w in words:
        assert w in err, err


def visible(folder: Path) -> list[str]:
    """Every file below ``folder`` a user would see (hidden temporaries and locks aside)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.name.startswith("."))


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp-" in p.name]


def h5_digest(path: Path) -> str:
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                h.update(name.encode())
                h.update(np.asarray(obj).tobytes())
        f.visititems(visit)
    return h.hexdigest()


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def kill_at(argv, delay: float, cwd: Path) -> list[int]:
    """Start ``imukin argv``, kill -9 it after ``delay`` s; return the pids of it and its children."""
    p = subprocess.Popen(IMUKIN + [str(a) for a in argv], cwd=cwd, env=ENV, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    t_end = time.monotonic() + delay
    kids: set[int] = set()
    while time.monotonic() < t_end and p.poll() is None:
        kids.update(children_of(p.pid))
        time.sleep(0.05)
    kids.update(children_of(p.pid))
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    p.wait()
    return [p.pid, *kids]


def run_cli(argv, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(IMUKIN + [str(a) for a in argv], cwd=cwd, env=ENV, capture_output=True, text=True,
                          timeout=300)


def wait_gone(pids, timeout: float = 5.0) -> list[int]:
    t_end = time.monotonic() + timeout
    left = [p for p in pids if alive(p)]
    while left and time.monotonic() < t_end:
        time.sleep(0.1)
        left = [p for p in left if alive(p)]
    return left


@pytest.fixture(scope="module")
def corpus(corpus_factory) -> Path:
    return corpus_factory("walking.h5", attrs={"activity": "walking"}, n_subjects=5, seed=3, fs=100.0,
                          duration_s=6.0)


TINY_MODEL = ["--joint", "knee", "--set", "n_layers=1", "channels=8", "kernel_size=11", "--window", "100",
              "--batch-size", "4", "--quiet"]
TINY_TRAIN = [*TINY_MODEL, "--steps", "60", "--checkpoint-every", "5"]


# ---------------------------------------------------------------- one line, exit 2, nothing written
def test_output_path_is_a_file_or_unwritable(tmp_path, corpus):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert_one_line(*run_main("train", "--data", corpus, "--out", afile, *TINY_TRAIN), "afile", "not a folder")
    assert_one_line(*run_main("evaluate", "--run", tmp_path, "--data", corpus, "--out", afile), "afile")
    assert_one_line(*run_main("harmonize", "--input-dirs", tmp_path, "--out", afile), "afile")
    assert_one_line(*run_main("simulate", "--subjects", "1", "--duration-s", "1", "--out", afile / "x.h5"), "afile")
    # an unwritable place (sysfs refuses even root) is one line too, whichever step meets it
    assert_one_line(*run_main("simulate", "--subjects", "1", "--duration-s", "1", "--out", "/sys/imukin_x/x.h5"))
    assert afile.read_text() == "x" and sorted(os.listdir(tmp_path)) == ["afile"]


def test_argparse_errors_are_one_line(tmp_path):
    assert_one_line(*run_main("train", "--joint", "elbow", "--data", "x.h5", "--out", tmp_path / "r"), "elbow")
    assert_one_line(*run_main("search", "--joint", "elbow"), "elbow")
    assert_one_line(*run_main("train"), "required")
    assert_one_line(*run_main("frobnicate"), "frobnicate")
    assert not list(tmp_path.iterdir())


def test_run_folder_given_a_file_says_so(tmp_path, corpus):
    code, err = run_main("evaluate", "--run", corpus, "--data", corpus, "--out", tmp_path / "rep")
    assert_one_line(code, err, "is a file, not a run folder", "imukin train --out")
    assert not (tmp_path / "rep").exists()  # no empty report folder either


def test_help_is_plain_text_and_names_real_keys(capsys):
    from imukin.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
    for name, p in sub.choices.items():
        text = p.format_help()
        assert "``" not in text and ":mod:" not in text and ":func:" not in text, name
    assert "n_layers=2" in sub.choices["train"].format_help()


def test_truncated_c3d_is_refused(tmp_path):
    src = DATA / "real" / "opensim-core" / "walking2.c3d"
    cut = tmp_path / "t.c3d"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    assert_one_line(*run_main("simulate", "--markers", cut, "--out", tmp_path / "x.h5"), "truncated", "t.c3d")
    assert sorted(os.listdir(tmp_path)) == ["t.c3d"]


def _csv(path: Path, seconds: float, fs: float = 100.0, drop_cells_row: int | None = None) -> None:
    t = np.arange(int(seconds * fs)) / fs
    rows = ["time,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"]
    for i, ti in enumerate(t):
        cells = [ti, np.sin(ti), 9.81, np.cos(ti), 0.5 * np.sin(2 * ti), 0.5 * np.cos(2 * ti), 0.0]
        text = ",".join(f"{c:.5f}" for c in cells)
        rows.append(",".join(text.split(",")[:4]) if i == drop_cells_row else text)
    path.write_text("\n".join(rows) + "\n")


def test_harmonize_refuses_unequal_lengths_and_ragged_rows(tmp_path):
    rec = tmp_path / "ds" / "p1"
    rec.mkdir(parents=True)
    _csv(rec / "rthigh.csv", 20.0)
    _csv(rec / "rshank.csv", 1.0)
    code, err = run_main("harmonize", "--input-dirs", tmp_path / "ds", "--out", tmp_path / "out", "--quiet")
    assert_one_line(code, err.splitlines()[-1], "rshank.csv", "rthigh.csv")
    _csv(rec / "rshank.csv", 20.0, drop_cells_row=7)
    code, err = run_main("harmonize", "--input-dirs", tmp_path / "ds", "--out", tmp_path / "out", "--quiet")
    assert_one_line(code, err.splitlines()[-1], "rshank.csv", "row 8")
    assert not (tmp_path / "out").exists()


def test_train_refuses_changed_settings_unless_overwrite(tmp_path, corpus):
    out = tmp_path / "run"
    assert main(["train", "--data", str(corpus), "--out", str(out), *TINY_MODEL, "--steps", "5"]) == 0
    log = (out / "metrics.csv").read_text()
    code, err = run_main("train", "--data", corpus, "--out", out, *TINY_MODEL, "--steps", "6")
    assert_one_line(code, err, "other settings", "steps", "--overwrite")
    assert (out / "metrics.csv").read_text() == log
    assert main(["train", "--data", str(corpus), "--out", str(out), *TINY_MODEL, "--steps", "6", "--overwrite"]) == 0
    assert json.loads((out / "train_summary.json").read_text())["steps_run"] == 6


def test_train_refuses_a_teacher_it_cannot_learn_from(tmp_path, corpus):
    from imukin.pretrained import PRETRAINED_DIR

    for teacher, words in ((tmp_path / "missing", ("missing", "does not exist")),
                           (PRETRAINED_DIR / "walking_ankle_cnn", ("teacher", "ankle", "knee angle model"))):
        out = tmp_path / "student"
        code, err = run_main("train", "--data", corpus, "--out", out, *TINY_MODEL, "--steps", "5", "--teacher", teacher)
        assert_one_line(code, err, *words)
        assert not out.exists()


def test_files_follow_the_umask_and_stale_temporaries_go(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "a.txt") as tmp:
            tmp.write_text("a")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".x.h5.tmp-{dead.pid}-abc123.h5"
    live = tmp_path / f".y.h5.tmp-{os.getpid()}-abc123.h5"
    stale.write_text("half")
    live.write_text("in progress")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert live.exists() and not stale.exists()


# ---------------------------------------------------------------- property-based bad numbers
NUMERIC = [  # (argv before the option, option, kind); the other arguments are valid or never reached
    (["simulate", "--out", "{d}/x.h5"], "--subjects", "count"),
    (["simulate", "--out", "{d}/x.h5"], "--fs", "positive"),
    (["simulate", "--out", "{d}/x.h5"], "--duration-s", "positive"),
    (["simulate", "--out", "{d}/x.h5"], "--workers", "count"),
    (["simulate", "--out", "{d}/x.h5"], "--seed", "index"),
    (["train", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/r"], "--steps", "count"),
    (["train", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/r"], "--batch-size", "count"),
    (["train", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/r"], "--window", "count"),
    (["train", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/r"], "--lr", "positive"),
    (["train", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/r"], "--checkpoint-every", "count"),
    (["train", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/r"], "--offset-weight", "fraction"),
    (["search", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/s"], "--trials", "count"),
    (["search", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/s"], "--eval-every", "count"),
    (["search", "--joint", "knee", "--data", "{d}/no.h5", "--out", "{d}/s"], "--startup-trials", "index"),
    (["finetune", "--run", "pretrained", "--data", "{d}/no.h5", "--out", "{d}/f"], "--subjects", "count"),
    (["finetune", "--run", "pretrained", "--data", "{d}/no.h5", "--out", "{d}/f"], "--lr", "positive"),
    (["harmonize", "--input-dirs", "{d}", "--out", "{d}/h"], "--fs", "positive"),
    (["harmonize", "--input-dirs", "{d}", "--out", "{d}/h"], "--max-gap-s", "positive"),
    (["demo", "--out", "{d}/demo"], "--subjects", "count"),
]
_NOT_FINITE = st.sampled_from(["nan", "inf", "-inf", "NaN", "1e999", "", "abc", "1,5", "0x10"])
BAD = {
    "count": st.one_of(st.integers(max_value=0).map(str), st.floats(allow_nan=False).filter(
        lambda x: x != int(x) if np.isfinite(x) else True).map(repr), _NOT_FINITE),
    "index": st.one_of(st.integers(max_value=-1).map(str), _NOT_FINITE),
    "positive": st.one_of(st.floats(max_value=0.0, allow_nan=False).map(repr), _NOT_FINITE),
    "fraction": st.one_of(st.floats(allow_nan=False).filter(lambda x: not 0 <= x <= 1).map(repr), _NOT_FINITE),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(NUMERIC), data=st.data())
def test_bad_numbers_are_one_line_and_write_nothing(tmp_path, case, data):
    head, option, kind = case
    value = data.draw(BAD[kind])
    argv = [a.replace("{d}", str(tmp_path)) for a in head] + [f"{option}={value}"]
    code, err = run_main(*argv)
    assert_one_line(code, err, option)
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------- kill -9 at a random point
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_kill_simulate(tmp_path, seed):
    argv = ["simulate", "--subjects", "4", "--duration-s", "8", "--fs", "100", "--workers", "2", "--quiet", "--seed",
            "5", "--out"]
    ref = run_cli(argv + ["ref.h5"], tmp_path)
    assert ref.returncode == 0, ref.stderr
    pids = kill_at(argv + ["x.h5"], random.Random(seed).uniform(0.5, 3.0), tmp_path)
    assert wait_gone(pids) == [], "a worker outlived its killed parent"
    assert not (tmp_path / "x.h5").exists() or h5_digest(tmp_path / "x.h5") == h5_digest(tmp_path / "ref.h5")
    again = run_cli(argv + ["x.h5"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert temporaries(tmp_path) == []  # the dead writer's temporary file was removed
    assert h5_digest(tmp_path / "x.h5") == h5_digest(tmp_path / "ref.h5")


@pytest.fixture(scope="module")
def train_ref(corpus, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("train_ref")
    ref = run_cli(["train", "--data", corpus, "--out", "ref", *TINY_TRAIN], d)
    assert ref.returncode == 0, ref.stderr
    return d / "ref"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_kill_train(tmp_path, corpus, train_ref, seed):
    pids = kill_at(["train", "--data", corpus, "--out", "run", *TINY_TRAIN], random.Random(seed).uniform(2.5, 5.0),
                   tmp_path)
    assert wait_gone(pids) == []
    run = tmp_path / "run"
    assert not run.exists() or all(".tmp-" not in n for n in visible(run))
    again = run_cli(["train", "--data", corpus, "--out", "run", *TINY_TRAIN], tmp_path)
    assert again.returncode == 0, again.stderr
    assert temporaries(run) == []
    from safetensors.numpy import load_file

    got, want = load_file(run / "model.safetensors"), load_file(train_ref / "model.safetensors")
    assert sorted(got) == sorted(want) and all(np.array_equal(got[k], want[k]) for k in want)
    steps = [r.split(",")[0] for r in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == [r.split(",")[0] for r in (train_ref / "metrics.csv").read_text().splitlines()[1:]]


@pytest.mark.slow
def test_kill_search_resumes_to_the_asked_trial_count(tmp_path, corpus):
    argv = ["search", "--joint", "knee", "--data", corpus, "--out", "s", "--trials", "3", "--steps", "20",
            "--eval-every", "10", "--window", "100", "--batch-size", "4", "--startup-trials", "5", "--quiet"]
    pids = kill_at(argv, random.Random(0).uniform(4.0, 7.0), tmp_path)
    assert wait_gone(pids) == []
    again = run_cli(argv, tmp_path)
    assert again.returncode == 0, again.stderr
    import optuna

    study = optuna.load_study(study_name="walking_knee_cnn", storage=f"sqlite:///{tmp_path / 's' / 'study.db'}")
    states = [t.state.name for t in study.trials]
    assert states.count("COMPLETE") + states.count("PRUNED") == 3, states
    assert "RUNNING" not in states
    assert (tmp_path / "s" / "best" / "model.json").exists()
    assert temporaries(tmp_path / "s") == []


@pytest.mark.slow
def test_kill_harmonize(tmp_path):
    for k in range(3):
        rec = tmp_path / "ds" / f"p{k}"
        rec.mkdir(parents=True)
        for seg in ("rthigh", "rshank"):
            _csv(rec / f"{seg}.csv", 12.0 + k)
    argv = ["harmonize", "--input-dirs", "ds", "--align", "none", "--noise", "none", "--quiet", "--out"]
    ref = run_cli(argv + ["ref"], tmp_path)
    assert ref.returncode == 0, ref.stderr
    pids = kill_at(argv + ["out"], random.Random(0).uniform(1.0, 3.0), tmp_path)
    assert wait_gone(pids) == []
    assert not (tmp_path / "out").exists() or all(".tmp-" not in n for n in visible(tmp_path / "out"))
    again = run_cli(argv + ["out"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert temporaries(tmp_path / "out") == []
    assert h5_digest(tmp_path / "out" / "harmonized.h5") == h5_digest(tmp_path / "ref" / "harmonized.h5")


@pytest.mark.slow
def test_two_trainings_on_one_folder(tmp_path, corpus):
    argv = ["train", "--data", corpus, "--out", "run", *TINY_MODEL, "--steps", "1000000"]
    first = subprocess.Popen(IMUKIN + [str(a) for a in argv], cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        t_end = time.monotonic() + 60
        while not (tmp_path / "run" / ".lock").exists() and time.monotonic() < t_end and first.poll() is None:
            time.sleep(0.05)
        second = run_cli(argv, tmp_path)
        assert first.poll() is None  # the first one is still training
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2
    assert second.stderr.strip().splitlines()[-1].startswith("imukin: error: run folder")
    assert "in use by another imukin process" in second.stderr
