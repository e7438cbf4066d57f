"""Optuna search: space, pruning, resume after an interrupted trial, best run, summary, two workers on PostgreSQL."""
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest

from imukin.cli import main
from imukin.errors import ImukinError
from imukin.models import create_model
from imukin.predictor import AnglePredictor
from imukin.training import trainer as trainer_mod
from imukin.training.search import SearchConfig, load_study, run_search, search_summary, suggest

TINY = dict(steps=20, eval_every=5, window=100, batch_size=8, startup_trials=2)
TINY_ARGS = ["--steps", "20", "--eval-every", "5", "--window", "100", "--batch-size", "8", "--startup-trials", "2"]


@pytest.fixture(scope="module")
def corpus(corpus_factory):
    return corpus_factory(n_subjects=5, seed=9, duration_s=5.0, fs=100.0)


def test_search_space_is_the_reference_one_and_builds():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = {}
    for model in ("cnn", "lstm", "transformer"):
        for _ in range(25):
            t = study.ask()
            arch, kw = suggest(t, model)
            create_model(model, **arch)  # every draw is a valid model
            seen.setdefault(model, []).append((arch, kw))
            study.tell(t, 1.0)
    for arch, kw in seen["cnn"]:
        assert arch["n_layers"] in (1, 2, 3) and arch["channels"] in range(10, 71, 10)
        assert arch["kernel_size"] in (11, 21, 31, 41, 51) and 0 <= arch["dropout"] <= 0.3
        assert arch["dilation"] in (1, 2)
        assert 1e-5 <= kw["lr"] <= 1e-2
    assert {a["bidirectional"] for a, _ in seen["lstm"]} == {False, True}
    assert all(a["hidden_size"] in range(10, 71, 10) for a, _ in seen["lstm"])
    assert all(a["d_model"] % a["n_heads"] == 0 for a, _ in seen["transformer"])


def test_search_resumes_an_interrupted_trial_and_exports_the_best(corpus, tmp_path, monkeypatch, capsys):
    out = tmp_path / "search"
    real_save = trainer_mod._save_resume
    calls = []

    def killing_save(path, key, model, opt, rng, gen, state):
        real_save(path, key, model, opt, rng, gen, state)
        calls.append(path.parent.name)
        if path.parent.name == "trial_0001" and state["step"] == 10:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer_mod, "_save_resume", killing_save)
    with pytest.raises(KeyboardInterrupt):
        run_search(SearchConfig(joint="knee", trials=3, seed=3, **TINY), corpus, out, progress=False)
    monkeypatch.setattr(trainer_mod, "_save_resume", real_save)
    assert main(["search", "--joint", "knee", "--data", str(corpus), "--trials", "3", "--seed", "3", "--out",
                 str(out), "--quiet", *TINY_ARGS]) == 0
    study = load_study(out)
    states = [t.state.name for t in study.trials]
    assert states.count("FAIL") == 1 and states.count("COMPLETE") + states.count("PRUNED") == 3
    failed = next(t for t in study.trials if t.state.name == "FAIL")
    retry = next(t for t in study.trials if t.user_attrs.get("retry_of") == failed.number)
    assert retry.params == failed.params and retry.user_attrs["run_dir"] == "trials/trial_0001"
    steps = [int(r.split(",")[0]) for r in (out / "trials/trial_0001/metrics.csv").read_text().splitlines()[1:]]
    assert steps == [5, 10, 15, 20]  # continued from step 10, not restarted
    assert retry.intermediate_values.keys() >= {5, 10, 15, 20}
    # the best trial is a normal run folder
    best = json.loads((out / "best" / "search_best.json").read_text())
    assert best["value"] == pytest.approx(study.best_value)
    p = AnglePredictor(out / "best")
    assert p.joint == "knee" and p.fs == 100.0
    # summary: table, best parameters, plot
    capsys.readouterr()
    assert main(["search", "--summary", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "| trial | state |" in text and "best: trial" in text and "fail" in text
    for name in ("trials.csv", "summary.md", "search.png", "best_params.json"):
        assert (out / name).stat().st_size > 0
    assert json.loads((out / "best_params.json").read_text())["params"] == study.best_params
    # finished: running again does nothing
    assert run_search(SearchConfig(joint="knee", trials=3, seed=3, **TINY), corpus, out, progress=False)[
        "trials_run"] == []
    # other settings on the same study are refused
    with pytest.raises(ImukinError, match="other settings"):
        run_search(SearchConfig(joint="knee", trials=3, **{**TINY, "steps": 30}), corpus, out, progress=False)


def test_poor_trials_are_pruned(corpus, tmp_path):
    out = tmp_path / "prune"
    out.mkdir()
    from imukin.training.search import default_storage

    study = optuna.create_study(study_name="walking_knee_cnn", storage=default_storage(out))
    study.add_trial(optuna.trial.create_trial(value=0.01, intermediate_values={5: 0.01, 10: 0.01, 15: 0.01,
                                                                                20: 0.01}))
    res = run_search(SearchConfig(joint="knee", trials=2, seed=0, **{**TINY, "startup_trials": 1,
                                                                      "prune_warmup_evals": 0}),
                     corpus, out, progress=False)
    t = load_study(out).trials[res["trials_run"][0]]
    assert t.state.name == "PRUNED" and max(t.intermediate_values) == 5  # stopped at its first report


def test_search_bad_input(corpus, tmp_path, capsys):
    with pytest.raises(ImukinError, match="search supports models"):
        SearchConfig(model="mlp")
    with pytest.raises(ImukinError, match="not a database URL"):
        run_search(SearchConfig(joint="knee", storage="not a url", **TINY), corpus, tmp_path / "x", progress=False)
    assert main(["search", "--summary", "--out", str(tmp_path / "none")]) == 2
    assert "has no study.db" in capsys.readouterr().err
    assert main(["search", "--joint", "knee", "--data", str(tmp_path / "missing.h5"), "--out",
                 str(tmp_path / "y")]) == 2
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists() and not (tmp_path / "none").exists()


# ------------------------------------------------------------------ two workers, one PostgreSQL study
def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@pytest.fixture
def postgres():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    root = os.geteuid() == 0
    if root:
        try:
            import pwd

            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
    base = Path(tempfile.mkdtemp(prefix="imukin-pg-"))
    os.chmod(base, 0o755)
    if root:
        os.chown(base, pw.pw_uid, pw.pw_gid)
    prefix = ["runuser", "-u", "postgres", "--"] if root else []
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = base / "data"
    run = lambda *cmd: subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=120)  # noqa: E731
    r = run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    if r.returncode:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {r.stderr.strip().splitlines()[-1:]}")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    r = run(pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start")
    if r.returncode:
        log = (base / "log").read_text() if (base / "log").exists() else r.stderr
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {log.strip().splitlines()[-1:]}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow  # starts a PostgreSQL server and two worker processes: ~10 s
def test_two_workers_share_one_postgresql_study(corpus, tmp_path, postgres):
    pytest.importorskip("psycopg2", reason="psycopg2-binary is a dependency of imukin")
    n = 6
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers = []
    for seed in (1, 2):
        cmd = [sys.executable, "-m", "imukin.cli", "search", "--joint", "knee", "--data", str(corpus), "--trials",
               str(n), "--storage", postgres, "--study-name", "shared", "--seed", str(seed), "--out",
               str(tmp_path / f"w{seed}"), "--quiet", *TINY_ARGS]
        workers.append(subprocess.Popen(["nice", "-n", "19", *cmd], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env))
    outs = [w.communicate(timeout=300) for w in workers]
    for w, (_so, se) in zip(workers, outs):
        assert w.returncode == 0, se[-2000:]
    study = load_study(tmp_path / "w1", storage=postgres, study_name="shared")
    trials = study.trials
    assert [t.number for t in trials] == list(range(len(trials)))  # none lost, none twice
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert n <= len(trials) <= n + 1  # at most workers - 1 extra when both start a last trial together
    by_worker = {}
    for t in trials:
        by_worker.setdefault(t.user_attrs["worker"].split(":")[1], []).append(t.number)
    assert set(by_worker) == {str(w.pid) for w in workers}  # both did work
    reported = [json.loads(so.split("this worker ran ")[1].split(" ", 1)[1].split(";")[0]) for so, _ in outs]
    assert sorted(reported[0] + reported[1]) == list(range(len(trials)))  # the trials add up
    assert set(reported[0]).isdisjoint(reported[1])
    for seed, nums in zip((1, 2), reported):
        have = sorted(int(p.name.split("_")[1]) for p in (tmp_path / f"w{seed}" / "trials").iterdir())
        assert have == sorted(nums)  # each trial trained once, by the worker that ran it
    res = search_summary(tmp_path / "w1", storage=postgres, study_name="shared")
    assert len(res["rows"]) == len(trials)
