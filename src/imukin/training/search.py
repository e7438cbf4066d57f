"""Hyperparameter search with Optuna: TPE sampling, pruning, many workers, resumable.

One study per output folder (or per ``--study-name`` in a shared database). Each trial
trains a model with :func:`imukin.training.trainer.train` in ``trials/trial_NNNN/``,
reporting its best validation RMSE after every validation pass; the median pruner stops
trials that are worse than the median of earlier trials at the same step.

Storage
    By default an SQLite file ``study.db`` in the output folder. Any SQLAlchemy URL
    (``postgresql+psycopg2://user:password@host:5432/db``) lets several worker
    processes, on one or many machines, share one study: start the same command on each
    (each with its own ``--seed``). Workers stop when the study has ``--trials`` finished
    (complete or pruned) trials; only those count, so at most ``workers - 1`` more can
    finish, when workers start their last trials at the same moment.
Resuming
    Run the same command again after a kill. Trials interrupted by Ctrl-C, and trials of
    a killed process, are marked failed and queued again with the same parameters; they
    continue from the trial folder's ``resume.pt``. A killed worker on this machine is
    noticed at once (its process id is gone, :func:`fail_dead_local_trials`); one on
    another machine when its heartbeat stops, after a grace period of ``GRACE_S`` seconds.
Search space (:func:`suggest`)
    The reference's for cnn and lstm: learning rate 1e-5..1e-2 (log scale), dropout
    0..0.3, 1-3 layers, 10..70 channels or units in steps of 10, cnn kernel
    {11, 21, 31, 41, 51}, lstm bidirectional or not; imukin adds the cnn dilation (1 or 2,
    which doubles the receptive field at the same compute). The reference's exponential decay rate
    (0.9..0.9997) becomes the floor of imukin's cosine schedule (0.01..0.3 of the peak, log
    scale): an exponential decay over thousands of steps ends at almost zero. For the
    transformer: 1-4 layers, 2 or 4 heads of size 8 or 16, feed-forward 64/128/256,
    patch 2 or 4 frames, dropout 0..0.3, learning rate 1e-4..3e-3.

The best complete trial is copied to ``best/`` as a normal run folder
(``imukin evaluate --run`` and ``imukin predict --run`` accept it), and
:func:`search_summary` writes ``trials.csv``, ``summary.md`` and ``search.png``.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from imukin.conventions import ACTIVITIES, JOINT_NAMES, check_choice
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path, write_text_atomic
from imukin.signal import DEFAULT_WINDOW
from imukin.training.choices import MODEL_FAMILIES

SEARCH_MODELS = MODEL_FAMILIES  # the architectures suggest() knows
HEARTBEAT_S = 10  # seconds between a running trial's heartbeats
GRACE_S = 60  # a running trial without a heartbeat for this long belongs to a dead worker
SPACE_VERSION = 1  # bump when the search space changes (a study keeps one space)
BEST_FILES = ("model.safetensors", "model.json", "metrics.csv", "train_summary.json")  # weights first


@dataclass
class SearchConfig:
    """What to search and how long each trial trains."""

    model: str = "cnn"  # cnn, lstm or transformer
    joint: str = "knee"  # hip, knee or ankle
    trials: int = 20  # finished (complete or pruned) trials the study should reach
    storage: str | None = None  # SQLAlchemy URL; None: sqlite:///<out>/study.db
    study_name: str | None = None  # None: <activity>_<joint>_<model>
    seed: int | None = 0  # TPE seed; give each parallel worker its own (None: random)
    steps: int = 1500  # maximum optimiser steps per trial
    eval_every: int = 100  # steps between validation passes (the pruning points)
    patience: int = 5  # validation passes without improvement before a trial stops early
    batch_size: int = 16  # windows per step
    window: int = DEFAULT_WINDOW  # frames per training window
    startup_trials: int = 5  # random trials before TPE models the space; no pruning before this many
    prune_warmup_evals: int = 2  # validation passes of a trial before it may be pruned
    device: str = "cpu"  # cpu or cuda

    def __post_init__(self) -> None:
        if self.model not in SEARCH_MODELS:
            raise ImukinError(f"search supports models {', '.join(SEARCH_MODELS)}, got {self.model!r}")
        check_choice("joint", self.joint, JOINT_NAMES)
        for name in ("trials", "steps", "eval_every", "batch_size", "window"):
            if int(getattr(self, name)) < 1:
                raise ImukinError(f"{name} (--{name.replace('_', '-')}) must be at least 1, got {getattr(self, name)}")


def suggest(trial, model: str) -> tuple[dict, dict]:
    """Draw one configuration: ``(model overrides, TrainConfig fields)``."""
    if model == "cnn":
        arch = {"n_layers": trial.suggest_int("n_layers", 1, 3),
                "channels": trial.suggest_int("channels", 10, 70, step=10),
                "kernel_size": trial.suggest_categorical("kernel_size", [11, 21, 31, 41, 51]),
                "dilation": trial.suggest_categorical("dilation", [1, 2]),
                "dropout": trial.suggest_float("dropout", 0.0, 0.3)}
        lr = trial.suggest_float("lr", 1e-5, 1e-2, log=True)
    elif model == "lstm":
        arch = {"n_layers": trial.suggest_int("n_layers", 1, 3),
                "hidden_size": trial.suggest_int("hidden_size", 10, 70, step=10),
                "bidirectional": trial.suggest_categorical("bidirectional", [False, True]),
                "dropout": trial.suggest_float("dropout", 0.0, 0.3)}
        lr = trial.suggest_float("lr", 1e-5, 1e-2, log=True)
    elif model == "transformer":
        heads = trial.suggest_categorical("n_heads", [2, 4])
        head_dim = trial.suggest_categorical("head_dim", [8, 16])
        arch = {"n_layers": trial.suggest_int("n_layers", 1, 4), "n_heads": heads, "d_model": heads * head_dim,
                "d_ff": trial.suggest_categorical("d_ff", [64, 128, 256]),
                "patch": trial.suggest_categorical("patch", [2, 4]),
                "dropout": trial.suggest_float("dropout", 0.0, 0.3)}
        lr = trial.suggest_float("lr", 1e-4, 3e-3, log=True)
    else:
        raise ImukinError(f"search supports models {', '.join(SEARCH_MODELS)}, got {model!r}")
    train_kw = {"lr": lr, "min_lr_ratio": trial.suggest_float("min_lr_ratio", 0.01, 0.3, log=True)}
    return arch, train_kw


def _optuna():
    try:
        import optuna
    except ImportError:  # pragma: no cover - a dependency
        raise ImukinError("hyperparameter search needs optuna; install it with pip install 'optuna>=3.5,<6'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def default_storage(out_dir: str | Path) -> str:
    """The SQLite URL of a search folder's own study file."""
    return f"sqlite:///{Path(out_dir).resolve() / 'study.db'}"


def open_storage(url: str, heartbeat: bool = True):
    """An Optuna RDB storage for an SQLAlchemy URL, with heartbeats for dead-worker detection."""
    optuna = _optuna()
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError, ProgrammingError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ImukinError(f"--storage {url!r} is not a database URL; use e.g. sqlite:///study.db or "
                          "postgresql+psycopg2://user:password@host:5432/db") from None
    kw = {}
    if heartbeat:
        import inspect

        # optuna >= 4.9 names the dead-worker callback heartbeat_stale_trial_callback
        cb = "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in inspect.signature(
            optuna.storages.RDBStorage).parameters else "failed_trial_callback"
        kw = {"heartbeat_interval": HEARTBEAT_S, "grace_period": GRACE_S, cb: _retry}
    engine_kwargs = {"pool_pre_ping": True} if parsed.get_backend_name() != "sqlite" else {}
    try:
        for attempt in range(5):
            try:
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kw)
            except (IntegrityError, ProgrammingError):  # another worker is creating the tables right now
                if attempt == 4:
                    raise
                time.sleep(0.5 + attempt)
    except NoSuchModuleError:
        raise ImukinError(f"--storage {url!r}: SQLAlchemy has no driver for {parsed.drivername!r}") from None
    except (ImportError, ModuleNotFoundError) as e:
        raise ImukinError(f"--storage {parsed.drivername} needs a database driver ({e.name}); for PostgreSQL "
                          "install psycopg2-binary") from None
    except OperationalError as e:
        first = str(e.orig).strip().splitlines()[0] if getattr(e, "orig", None) else "connection failed"
        raise ImukinError(f"cannot open --storage {parsed.render_as_string(hide_password=True)}: {first}") from None


def _root(trial) -> int:
    """Number of the first trial of a chain of retries (its folder is shared)."""
    return int(trial.user_attrs.get("retry_of", trial.number))


def _retry(study, frozen) -> None:
    """Queue a failed or interrupted trial again, with its parameters and folder."""
    study.enqueue_trial(frozen.params, user_attrs={"retry_of": _root(frozen)}, skip_if_exists=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_dead_local_trials(study) -> list[int]:
    """Mark RUNNING trials of dead workers on this machine as failed, and queue them again.

    A trial records its worker as ``host:pid``; when the host is this one and no process
    has that id, the worker was killed (``kill -9``, a crash, a power cut) and the trial
    would otherwise stay RUNNING until its heartbeat times out. Returns the trial numbers.
    """
    optuna = _optuna()
    States = optuna.trial.TrialState
    host = socket.gethostname()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(States.RUNNING,)):
        who = str(t.user_attrs.get("worker", ""))
        h, _, pid = who.rpartition(":")
        if h != host or not pid.isdigit() or int(pid) == os.getpid() or _pid_alive(int(pid)):
            continue
        try:
            study._storage.set_trial_state_values(t._trial_id, state=States.FAIL)
        except RuntimeError:  # finished meanwhile
            continue
        _retry(study, t)
        failed.append(t.number)
    return failed


def _earlier_reports(study, root: int, run_dir: Path) -> dict[int, float]:
    """Validation RMSE per step of an interrupted trial: its reports, completed from its metrics log."""
    values = dict(study.trials[root].intermediate_values)
    log = run_dir / "metrics.csv"
    if log.exists():
        with open(log, newline="") as f:
            for row in csv.DictReader(f):
                values[int(row["step"])] = float(row["val_rmse_deg"])
    return values


def _identity(cfg: SearchConfig, activity: str, data_hash: str) -> dict:
    keep = ("model", "joint", "steps", "eval_every", "patience", "batch_size", "window")
    return {"activity": activity, "data_hash": data_hash, "space_version": SPACE_VERSION,
            **{k: v for k, v in asdict(cfg).items() if k in keep}}


def run_search(cfg: SearchConfig, data_path: str | Path, out_dir: str | Path, activity: str | None = None,
               progress: bool = True) -> dict:
    """Run (or continue) a search until the study has ``cfg.trials`` finished trials.

    Parameters
    ----------
    cfg : SearchConfig
    data_path : path-like
        Dataset file (train and validation subjects are used).
    out_dir : path-like
        Search folder: ``study.db`` (default storage), ``trials/``, ``best/``.
    activity : str, optional
        Checked against the dataset's activity attribute.
    progress : bool
        Print one line per finished trial.

    Returns
    -------
    dict
        ``study_name``, ``storage`` (password hidden), ``trials_run`` (numbers of the
        trials this worker ran), ``n_finished``, ``best_value``, ``best_params``, ``best_dir``.
    """
    _optuna()  # a one-line error when Optuna is missing, before the data is read
    data_path = Path(data_path)
    activity, data = _search_data(cfg, data_path, activity)
    out_dir = Path(out_dir)
    study, name, url = _open_study(cfg, out_dir, activity, data.data_hash)
    _set_sampler_and_pruner(study, cfg)
    ran: list[int] = []
    objective = _objective(study, cfg, data, data_path, out_dir, ran)
    _optimize_until_finished(study, objective, cfg.trials, ran, progress)
    return _search_result(study, out_dir, name, url, ran)


def _search_data(cfg: SearchConfig, data_path: Path, activity: str | None):
    """The activity searched for (checked against the file's) and the joint's train and validation data.

    Returns
    -------
    tuple
        ``(activity, JointData)``.
    """
    from imukin.io.job_h5 import file_attrs
    from imukin.training.dataset import load_joint_data

    file_activity = str(file_attrs(data_path).get("activity", "unknown"))
    if activity and file_activity in ACTIVITIES and file_activity != activity:
        raise ImukinError(f"{data_path} holds {file_activity} data but --activity {activity} was given")
    activity = activity or file_activity
    data = load_joint_data(data_path, cfg.joint, splits=("train", "val"))
    if not data.sequences.get("val"):
        raise ImukinError(f"{data_path} gives no validation sequences for the {cfg.joint}; simulate more subjects")
    return activity, data


def _open_study(cfg: SearchConfig, out_dir: Path, activity: str, data_hash: str):
    """Create or open the study, refusing one made with other settings.

    Returns
    -------
    tuple
        ``(study, study name, storage URL)``.
    """
    optuna = _optuna()
    url = cfg.storage or default_storage(out_dir)
    if not cfg.storage:
        out_dir.mkdir(parents=True, exist_ok=True)
    storage = open_storage(url)
    name = cfg.study_name or f"{activity}_{cfg.joint}_{cfg.model}"
    study = optuna.create_study(study_name=name, storage=storage, direction="minimize", load_if_exists=True)
    ident = _identity(cfg, activity, data_hash)
    have = study.user_attrs.get("imukin")
    if have is None:
        study.set_user_attr("imukin", ident)
    elif have != ident:
        diff = sorted(k for k in ident if have.get(k) != ident[k])
        raise ImukinError(f"study {name!r} in {_safe_url(url)} was made with other settings ({', '.join(diff)}); "
                          "use the same settings, another --study-name or another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    return study, name, url


def _set_sampler_and_pruner(study, cfg: SearchConfig) -> None:
    """TPE sampling (seeded per worker start, so restarts draw new parameters) and median pruning."""
    optuna = _optuna()
    n_start = len(study.get_trials(deepcopy=False))
    study.sampler = optuna.samplers.TPESampler(
        seed=None if cfg.seed is None else int(cfg.seed) + 7919 * n_start, n_startup_trials=cfg.startup_trials)
    study.pruner = optuna.pruners.MedianPruner(n_startup_trials=cfg.startup_trials,
                                               n_warmup_steps=cfg.prune_warmup_evals * cfg.eval_every)


def _objective(study, cfg: SearchConfig, data, data_path: Path, out_dir: Path, ran: list[int]):
    """The Optuna objective: train one trial's model in its folder, report each validation pass for pruning.

    The numbers of the trials it runs are appended to ``ran``.
    """
    optuna = _optuna()
    from imukin.training.trainer import TrainConfig, train

    worker = f"{socket.gethostname()}:{os.getpid()}"
    warmup = max(1, min(100, cfg.steps // 10))

    def objective(trial) -> float:
        arch, train_kw = suggest(trial, cfg.model)
        root = _root(trial)
        run_dir = out_dir / "trials" / f"trial_{root:04d}"
        trial.set_user_attr("worker", worker)
        trial.set_user_attr("run_dir", str(run_dir.relative_to(out_dir)))
        ran.append(trial.number)
        tcfg = TrainConfig(model=cfg.model, joint=cfg.joint, model_overrides=arch, steps=cfg.steps,
                           batch_size=cfg.batch_size, window=cfg.window, eval_every=cfg.eval_every,
                           patience=cfg.patience, warmup_steps=warmup, device=cfg.device, **train_kw)
        best = [_replay_earlier_reports(study, trial, root, run_dir)]

        def on_eval(step: int, rmse: float) -> None:
            best[0] = min(best[0], rmse)
            trial.report(best[0], step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"validation RMSE {best[0]:.2f} deg at step {step}")

        try:
            summary = train(tcfg, data_path, run_dir, progress=False, data=data, on_eval=on_eval)
        except KeyboardInterrupt:
            _retry(study, trial)  # continue it on the next run, from its resume.pt
            raise
        trial.set_user_attr("steps_run", int(summary["steps_run"]))
        return float(summary["best_val_rmse_deg"])

    return objective


def _replay_earlier_reports(study, trial, root: int, run_dir: Path) -> float:
    """Report a retried trial's earlier evaluations again (they still count for pruning).

    Returns
    -------
    float
        The best value reported so far (inf for a first attempt).
    """
    best = float("inf")
    if root != trial.number:  # a retry: the earlier attempt's evaluations still count for pruning
        for step, value in sorted(_earlier_reports(study, root, run_dir).items()):
            best = min(best, value)
            trial.report(best, step)
    return best


def _optimize_until_finished(study, objective, n_trials: int, ran: list[int], progress: bool) -> None:
    """Run trials one at a time until the study has ``n_trials`` finished (complete or pruned) ones.

    Before each trial, trials of dead workers are failed (and so queued again).
    """
    optuna = _optuna()
    while True:
        fail_dead_local_trials(study)  # killed workers on this machine: at once
        optuna.storages.fail_stale_trials(study)  # on other machines: once their heartbeat stops
        if _n_finished(study) >= n_trials:  # only finished trials count: a RUNNING one may belong to a dead worker
            break
        t0 = time.perf_counter()
        study.optimize(objective, n_trials=1, gc_after_trial=False)
        if progress and ran:
            _print_trial(study.trials[ran[-1]], time.perf_counter() - t0)


def _n_finished(study) -> int:
    """Trials of the study that are complete or pruned."""
    states = _optuna().trial.TrialState
    return sum(t.state in (states.COMPLETE, states.PRUNED) for t in study.get_trials(deepcopy=False))


def _print_trial(t, seconds: float) -> None:
    """One line on a trial: state, value (or last report), time and parameters."""
    value = "" if t.value is None else f"{t.value:.3f} deg"
    last = max(t.intermediate_values.items(), default=(0, float('nan')))
    print(f"trial {t.number:4d} {t.state.name.lower():8s} {value or f'{last[1]:.3f} deg at {last[0]}'} "
          f"({seconds:.0f} s) {json.dumps(t.params)}", flush=True)


def _search_result(study, out_dir: Path, name: str, url: str, ran: list[int]) -> dict:
    """Export the best complete trial to ``out_dir/best`` and summarise the study (see :func:`run_search`)."""
    best_dir = export_best(study, out_dir)
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == _optuna().trial.TrialState.COMPLETE]
    best = min(complete, key=lambda t: t.value) if complete else None
    return {"study_name": name, "storage": _safe_url(url), "trials_run": ran,
            "n_finished": _n_finished(study),
            "best_value": None if best is None else best.value, "best_params": None if best is None else best.params,
            "best_trial": None if best is None else best.number,
            "best_dir": None if best_dir is None else str(best_dir)}


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def export_best(study, out_dir: str | Path) -> Path | None:
    """Copy the best complete trial's run folder to ``out_dir/best`` (a normal run folder).

    Returns None when no trial is complete or the trial's folder is on another machine.
    """
    optuna = _optuna()
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        return None
    best = min(complete, key=lambda t: t.value)
    src = Path(out_dir) / best.user_attrs.get("run_dir", f"trials/trial_{_root(best):04d}")
    dest = Path(out_dir) / "best"
    if not (src / "model.json").exists():
        return None  # trained by a worker on another machine: its --out folder has it
    info = {"study": study.study_name, "trial": best.number, "value": best.value, "params": best.params,
            "source": str(src.relative_to(out_dir))}
    if (dest / "search_best.json").exists() and json.loads((dest / "search_best.json").read_text()) == info:
        return dest
    for name in BEST_FILES:
        if (src / name).exists():
            with atomic_path(dest / name) as tmp:
                shutil.copyfile(src / name, tmp)
    write_text_atomic(dest / "search_best.json", json.dumps(info, indent=2))
    return dest


def load_study(out_dir: str | Path, storage: str | None = None, study_name: str | None = None):
    """Open an existing study (the only one in the storage when no name is given)."""
    optuna = _optuna()
    url = storage or default_storage(out_dir)
    if storage is None and not (Path(out_dir) / "study.db").exists():
        raise ImukinError(f"{out_dir} has no study.db; run 'imukin search' with --out {out_dir} first, "
                          "or pass --storage")
    st = open_storage(url, heartbeat=False)
    names = optuna.study.get_all_study_names(storage=st)
    if study_name is None:
        if len(names) != 1:
            raise ImukinError(f"{_safe_url(url)} holds {len(names)} studies ({', '.join(names) or 'none'}); "
                              "pass --study-name")
        study_name = names[0]
    if study_name not in names:
        raise ImukinError(f"no study {study_name!r} in {_safe_url(url)}; it has {', '.join(names) or 'none'}")
    return optuna.load_study(study_name=study_name, storage=st)


def trial_rows(study) -> list[dict]:
    """One row per trial: number, state, value, last reported step, seconds, worker, parameters."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        secs = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start \
            else None
        last = max(t.intermediate_values.items(), default=(None, None))
        rows.append({"trial": t.number, "state": t.state.name.lower(), "value": t.value,
                     "last_step": last[0], "last_report": last[1], "seconds": secs,
                     "retry_of": t.user_attrs.get("retry_of"), "worker": t.user_attrs.get("worker"), **t.params})
    return rows


def search_summary(out_dir: str | Path, storage: str | None = None, study_name: str | None = None) -> dict:
    """Write ``trials.csv``, ``summary.md`` and ``search.png`` for a study; export the best run.

    Returns
    -------
    dict
        ``text`` (the table and best parameters as printed), ``rows``, ``best``, ``files``.
    """
    study = load_study(out_dir, storage, study_name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = trial_rows(study)
    if not rows:
        raise ImukinError(f"study {study.study_name!r} has no trials yet; run 'imukin search' first")
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(out_dir / "trials.csv") as tmp:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
    params = [c for c in cols if c not in ("trial", "state", "value", "last_step", "last_report", "seconds",
                                           "retry_of", "worker")]
    head = ["trial", "state", "val RMSE", "steps", "s", *params]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        val = r["value"] if r["value"] is not None else r["last_report"]
        cells = [str(r["trial"]), r["state"], "" if val is None else f"{val:.3f}",
                 "" if r["last_step"] is None else str(r["last_step"]),
                 "" if r["seconds"] is None else f"{r['seconds']:.0f}",
                 *[_fmt(r.get(p)) for p in params]]
        lines.append("| " + " | ".join(cells) + " |")
    complete = [r for r in rows if r["state"] == "complete"]
    best = min(complete, key=lambda r: r["value"]) if complete else None
    counts = {s: sum(r["state"] == s for r in rows) for s in dict.fromkeys(r["state"] for r in rows)}
    text = [f"study {study.study_name}: {len(rows)} trials ({', '.join(f'{n} {s}' for s, n in counts.items())})", "",
            *lines, ""]
    if best:
        text.append(f"best: trial {best['trial']}, validation RMSE {best['value']:.3f} deg, parameters "
                    + json.dumps({p: best[p] for p in params if p in best}))
    best_dir = export_best(study, out_dir)
    if best_dir:
        text.append(f"best run: {best_dir}")
    text = "\n".join(text)
    write_text_atomic(out_dir / "summary.md", f"# Hyperparameter search\n\n{text}\n")
    if best:
        write_text_atomic(out_dir / "best_params.json", json.dumps(
            {"trial": best["trial"], "value": best["value"], "params": {p: best[p] for p in params if p in best}},
            indent=2))
    _plot(rows, out_dir / "search.png", study.study_name)
    return {"text": text, "rows": rows, "best": best, "files": [str(out_dir / n) for n in
                                                                ("trials.csv", "summary.md", "search.png")]}


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return "" if v is None else str(v)


def _plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for state, marker, color in (("complete", "o", "C0"), ("pruned", "x", "C1")):
        pts = [(r["trial"], r["value"] if r["value"] is not None else r["last_report"]) for r in rows
               if r["state"] == state and (r["value"] is not None or r["last_report"] is not None)]
        if pts:
            ax.scatter(*zip(*pts), marker=marker, color=color, label=state)
    done = sorted((r["trial"], r["value"]) for r in rows if r["state"] == "complete")
    if done:
        best, xs, ys = float("inf"), [], []
        for n, v in done:
            best = min(best, v)
            xs.append(n)
            ys.append(best)
        ax.step(xs, ys, where="post", color="k", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation RMSE (deg, mean of axes)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
