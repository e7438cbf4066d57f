"""Training one joint-angle network: AdamW, warm-up + cosine schedule, early stopping, resume.

A run folder holds:

``model.safetensors`` + ``model.json``
    the best checkpoint so far (by validation RMSE), with everything needed to use it
    (config, normalisation, channel layout, rate, joint, activity, data hash, metrics).
``resume.pt``
    the latest training state (weights, optimiser, schedule, random streams), written
    atomically at every validation pass and every ``checkpoint_every`` steps; loaded
    with ``weights_only=True``.
``.lock``
    held while a process trains in the folder: a second process on the same folder is
    refused (the lock is released by the operating system when its holder dies).
``metrics.csv``
    one row per evaluation: step, train loss, validation RMSE, learning rate, time.

Kill the process at any point and run the same command again: it continues from
``resume.pt`` and ends with the same weights as an uninterrupted run. A run folder holding
a run made with other settings is refused (``overwrite=True`` replaces it).

The same function trains with several processes under ``torchrun``
(:mod:`imukin.training.distributed`), from warm-started weights with frozen layers
(:class:`WarmStart`, used by :mod:`imukin.training.finetune`), with windows read lazily
from the file (:mod:`imukin.training.lazy`), and reports every validation pass to a
callback (``on_eval``, used for pruning by :mod:`imukin.training.search`).
"""
from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from imukin._version import __version__
from imukin.conventions import ANGLE_AXES, CHANNELS
from imukin.errors import ImukinError
from imukin.inference import predict_windows
from imukin.io.atomic import atomic_path, write_text_atomic
from imukin.models import create_model, load_checkpoint, read_checkpoint_info, save_checkpoint
from imukin.models.orientation import output_to_rotations
from imukin.signal import DEFAULT_WINDOW
from imukin.training.augment import add_noise, delay_sensors, rotate_sensors
from imukin.training.choices import AXIS_WEIGHTINGS, VAL_METRICS  # one list, shared with the command line
from imukin.training.dataset import JointIndex, Normalizer, Sampler, load_joint_data
from imukin.training.distributed import DistContext, current_context, process_device, wrap_model


@dataclass
class TrainConfig:
    """How to train. Defaults train a joint model to target on 2 CPU cores in minutes."""

    model: str = "cnn"  # registry name: cnn, lstm, transformer
    joint: str = "knee"  # hip, knee or ankle
    target: str = "angle"  # "angle" (3 joint angles) or "orientation" (two heading-free sensor orientations)
    model_overrides: dict = field(default_factory=dict)  # config fields of the model to change
    steps: int = 3000  # maximum optimiser steps
    batch_size: int = 16  # windows per step (the reference's second stage)
    window: int = DEFAULT_WINDOW  # frames per training window (2 s at 200 Hz), also the inference window
    lr: float = 2e-3  # peak learning rate (AdamW)
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    warmup_steps: int = 100  # linear warm-up, then cosine decay
    min_lr_ratio: float = 0.02  # cosine floor as a fraction of lr (never collapses to 0)
    eval_every: int = 150  # steps between validation passes (each also writes a resume checkpoint)
    checkpoint_every: int = 0  # steps between extra resume checkpoints; 0: only at validation passes.
    # Does not change the result (not part of the run's identity), only how much work a kill loses
    patience: int = 8  # evaluations without improvement before stopping early
    rotation_sd_deg: float = 15.0  # augmentation: SD of the constant random rotation per sensor (angle target
    # only: a rotated sensor has another orientation, and the corpus's mounting errors already vary it)
    noise_fraction: float = 0.15  # augmentation: input noise as a fraction of channel SD
    delay_max_ms: float = 0.0  # augmentation: a delayed sensor's signals are late (or early) by up to this
    # many ms against the other sensor and the reference (sensors not sampled on one clock); 0: none
    delay_fraction: float = 0.5  # augmentation: the probability that a sensor is delayed (delay_max_ms > 0)
    seed: int = 0  # weights, batches and augmentation
    split_seed: int = 0  # subject split (the same for every model)
    grad_clip: float = 1.0  # max gradient norm
    offset_weight: float = 0.1  # angle target: weight of each window's mean error in the loss (1: plain MSE).
    # A sensor's mounting rotation shifts the angles by a constant no input reveals; fitting those constants
    # memorises the training people (validation error rises after one pass over the data), so the loss
    # weighs the course of the angle more than its constant part
    axis_weighting: str = "degrees"  # angle target: "degrees" weighs the three axes' errors in degrees, as
    # they are reported, so the wide flexion axis counts by its size; "sd" in each axis's own training SD
    # (the reference: a degree of flexion then counts ~1/16 of a degree of adduction)
    val_metric: str = "rmse_offset_removed"  # angle target: early stopping on "rmse" or "rmse_offset_removed"
    # (each validation leg's mean error removed: the course of the angle, as the reported figures)
    teacher: str = ""  # angle target: a trained model folder (e.g. an ensemble, imukin.models.ensemble) of the
    # same joint and normalisation whose outputs on each training batch are the targets in place of the
    # reference (knowledge distillation: one network learning what several do together); "": the reference.
    # Validation and early stopping stay on the reference
    device: str = "cpu"  # "cpu" or "cuda" (or "cuda:1")

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "window", "eval_every", "patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ImukinError(f"{name} must be a whole number of at least 1, got {v!r}")
        for name in ("checkpoint_every", "warmup_steps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ImukinError(f"{name} must be a whole number of at least 0, got {v!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ImukinError(f"lr must be a finite number greater than 0, got {self.lr!r}")
        if self.val_metric not in VAL_METRICS:
            raise ImukinError(f"unknown val_metric {self.val_metric!r}; use one of {', '.join(VAL_METRICS)}")
        if not (math.isfinite(self.delay_max_ms) and self.delay_max_ms >= 0):
            raise ImukinError(f"delay_max_ms must be a finite number of at least 0, got {self.delay_max_ms!r}")
        if not 0.0 <= self.delay_fraction <= 1.0:
            raise ImukinError(f"delay_fraction must lie in [0, 1], got {self.delay_fraction!r}")
        if not 0.0 <= self.offset_weight <= 1.0:
            raise ImukinError(f"offset_weight must lie in [0, 1], got {self.offset_weight}")
        if self.teacher and self.target != "angle":
            raise ImukinError(f"a teacher trains angle networks; target {self.target!r} learns from the reference")
        if self.axis_weighting not in AXIS_WEIGHTINGS:
            raise ImukinError(f"unknown axis_weighting {self.axis_weighting!r}; "
                              f"use one of {', '.join(AXIS_WEIGHTINGS)}")

    def lr_at(self, step: int) -> float:
        """Learning rate at a step: linear warm-up then cosine down to ``min_lr_ratio * lr``."""
        if step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        frac = min(1.0, (step - self.warmup_steps) / max(1, self.steps - self.warmup_steps))
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


def error_sums(model: torch.nn.Module, norm: Normalizer, pairs, window: int, device,
               target: str = "angle", remove_offset: bool = False) -> tuple[np.ndarray, int]:
    """Summed squared error per output axis and frame count over ``(x, y)`` sequence pairs.

    Sums (not means) so that shares computed by several processes, or sequences read one at
    a time, add up to the same RMSE. ``remove_offset`` (angle target) subtracts each sequence's
    mean error first (the offset-removed RMSE). The model is left in training mode (see
    :func:`set_train_mode`).
    """
    model.eval()
    se, n = None, 0
    with torch.no_grad():
        for x, y in pairs:
            pred = norm.y_inverse(predict_windows(model, norm.x(x), window=window, device=device))
            if target == "angle":
                err = pred - y  # (T, 3)
                if remove_offset:
                    err = err - err.mean(0)
                err2 = (err ** 2).sum(0)  # (3,)
            else:
                err = orientation_error_deg(torch.from_numpy(pred).double(), torch.from_numpy(y).double())  # (T, 2)
                err2 = (err ** 2).sum(0).numpy()
            se = err2 if se is None else se + err2
            n += len(y)
    set_train_mode(model)
    if se is None:
        se = np.zeros(3 if target == "angle" else 2)
    return np.asarray(se, np.float64), n


def set_train_mode(model: torch.nn.Module) -> None:
    """Training mode, except batch-norm layers whose parameters are all frozen: they keep their
    running statistics (fine-tuning with a frozen encoder must not re-estimate them)."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            params = list(m.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                m.eval()


def orientation_error_deg(pred6: torch.Tensor, true6: torch.Tensor) -> torch.Tensor:
    """Geodesic angle (degrees) between predicted and true rotations: (..., 12) x2 -> (..., 2)."""
    r_p, r_t = output_to_rotations(pred6), output_to_rotations(true6)  # (..., 2, 3, 3)
    cos = ((r_p.transpose(-1, -2) @ r_t).diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    return torch.rad2deg(torch.arccos(cos.clamp(-1.0, 1.0)))


def _loss(out: torch.Tensor, target: torch.Tensor, kind: str, offset_weight: float = 1.0,
          axis_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Angle: MSE on z-scored angles, split into the error's course and its window mean, the
    mean weighted by ``offset_weight`` (1 gives the plain MSE), each axis weighted by
    ``axis_weights`` (3,) (default equal). Orientation: MSE on the entries of the Gram-Schmidt matrices."""
    if kind == "angle":
        err = out - target  # (B, W, 3)
        mean = err.mean(dim=1, keepdim=True)  # (B, 1, 3)
        per_axis = ((err - mean) ** 2).mean(dim=(0, 1)) + offset_weight * (mean ** 2).mean(dim=(0, 1))  # (3,)
        return per_axis.mean() if axis_weights is None else (per_axis * axis_weights).sum() / axis_weights.sum()
    return torch.nn.functional.mse_loss(output_to_rotations(out), output_to_rotations(target))


@dataclass
class WarmStart:
    """Start training from trained weights instead of a fresh initialisation (fine-tuning)."""

    state_dict: dict  # weights of the model that cfg.model and cfg.model_overrides build
    normalizer: Normalizer  # statistics the weights were trained with (kept, not refitted on the new data)
    frozen: tuple = ()  # names of parameters that stay fixed (see imukin.training.finetune.frozen_parameters)
    key: str = ""  # identity of the starting point (source weights, freezing, subjects): part of the resume key
    meta: dict = field(default_factory=dict)  # added to the checkpoint's meta (e.g. {"finetune": {...}})


#: ``on_eval(step, mean_val_rmse_deg)``: called after every validation pass; may raise to stop
#: training (e.g. ``optuna.TrialPruned``), leaving a resumable run folder behind.
EvalCallback = Callable[[int, float], None]


def _config_key(cfg: TrainConfig, data) -> str:
    """The settings that decide a run's result (config and data hash), as a JSON string."""
    d = asdict(cfg)
    d.pop("device")
    d.pop("checkpoint_every")  # how often state is saved does not change the result
    if not d["teacher"]:
        d.pop("teacher")  # runs without a teacher keep the keys they had before the field existed
    if not d["delay_max_ms"]:
        d.pop("delay_max_ms")  # runs without delays keep the keys they had before the fields existed
        d.pop("delay_fraction")
    return json.dumps({"cfg": d, "data": data.data_hash}, sort_keys=True)


@dataclass
class _Run:
    """One training run in progress: what the steps of :func:`_train_locked` share."""

    cfg: TrainConfig
    data: JointIndex
    data_path: str | Path
    run_dir: Path
    dist: DistContext
    device: torch.device
    share: slice  # this process's rows of each batch
    key: str  # identity of the run's settings (see _config_key, _run_key)
    norm: Normalizer
    model: torch.nn.Module
    opt: torch.optim.Optimizer
    params: list
    sampler: Sampler
    rng: np.random.Generator  # draws the windows
    gen: torch.Generator  # draws the augmentation
    state: dict  # step, best_rmse, best_step, bad_evals, elapsed_s (saved in resume.pt)
    init: WarmStart | None = None
    teacher: torch.nn.Module | None = None  # TrainConfig.teacher's model, frozen, on the device
    on_eval: EvalCallback | None = None
    progress: bool = True
    overwrite: bool = False
    t0: float = 0.0  # perf_counter at which the run (with its earlier sessions) would have started

    @property
    def summary_path(self) -> Path:
        """Written when training ends; a finished run with the same key is not trained again."""
        return self.run_dir / "train_summary.json"

    @property
    def resume_path(self) -> Path:
        """The latest training state."""
        return self.run_dir / "resume.pt"

    @property
    def log_path(self) -> Path:
        """One row per validation pass."""
        return self.run_dir / "metrics.csv"

    @property
    def error_axes(self) -> tuple:
        """Names of the validation error's components."""
        return ANGLE_AXES if self.cfg.target == "angle" else ("segment1", "segment2")

    def elapsed(self) -> float:
        """Seconds of training so far, over every session of the run."""
        return time.perf_counter() - self.t0


@dataclass
class _Scaling:
    """The normalisation as tensors on the training device, and the loss's axis weights."""

    x_mean: torch.Tensor
    x_std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor
    axis_weights: torch.Tensor | None  # None: the three axes weigh the same


def train(cfg: TrainConfig, data_path: str | Path, run_dir: str | Path, progress: bool = True,
          data: JointIndex | None = None, *, on_eval: EvalCallback | None = None, init: WarmStart | None = None,
          dist: DistContext | None = None, overwrite: bool = False) -> dict:
    """Train (or resume training) one model and keep its best checkpoint in ``run_dir``.

    Parameters
    ----------
    cfg : TrainConfig
    data_path : path-like
        Dataset HDF5 file (reference layout).
    run_dir : path-like
        Run folder; created if missing (not on bad input). A finished run is not trained again.
    progress : bool
        Show a progress bar with live train and validation loss.
    data : JointData or LazyJointData, optional
        Already loaded data (saves reading the file again); a
        :class:`~imukin.training.lazy.LazyJointData` trains without holding the corpus in memory.
    on_eval : callable, optional
        ``on_eval(step, mean_val_rmse_deg)`` after every validation pass (used for pruning).
    init : WarmStart, optional
        Start from these weights and normalisation, with some parameters frozen.
    dist : DistContext, optional
        Process group of a multi-process (DDP) run; by default the initialised one, if any.
    overwrite : bool
        Replace a run made with other settings in ``run_dir`` (default: refuse it).

    Returns
    -------
    dict
        Summary: best validation RMSE per axis, best step, steps run, seconds.
    """
    run_dir = Path(run_dir)
    dist = dist or current_context()
    device = _device(process_device(cfg.device, dist))
    share = dist.share(cfg.batch_size) if dist.enabled else slice(None)
    data = _training_data(cfg, data_path, data)
    key = _run_key(cfg, data, init)
    torch.manual_seed(cfg.seed)
    norm = init.normalizer if init is not None else data.fit_normalizer(scale_y=cfg.target == "angle")
    model, params, opt = _build_model(cfg, init, device)
    teacher = _load_teacher(cfg, data, norm, device)
    run = _Run(cfg=cfg, data=data, data_path=data_path, run_dir=run_dir, dist=dist, device=device, share=share,
               key=key, norm=norm, model=model, opt=opt, params=params, sampler=data.sampler(cfg.window),
               rng=np.random.default_rng(cfg.seed), gen=torch.Generator().manual_seed(cfg.seed),
               state={"step": 0, "best_rmse": float("inf"), "best_step": -1, "bad_evals": 0, "elapsed_s": 0.0},
               init=init, teacher=teacher, on_eval=on_eval, progress=progress, overwrite=overwrite)
    lock = None
    if dist.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)  # only once the input is known to be good
        lock = lock_run_dir(run_dir)
    try:
        return _train_locked(run)
    finally:
        if lock is not None:
            lock.release()


def _training_data(cfg: TrainConfig, data_path: str | Path, data: JointIndex | None) -> JointIndex:
    """The given data, or the train and validation splits read from ``data_path``; checked against ``cfg``."""
    data = data or load_joint_data(data_path, cfg.joint, split_seed=cfg.split_seed, splits=("train", "val"),
                                   target=cfg.target)
    if data.target != cfg.target:
        raise ImukinError(f"data loaded for target {data.target!r} but the config trains {cfg.target!r}")
    if not data.sequences.get("val"):
        raise ImukinError(f"{data_path} gives no validation sequences for the {cfg.joint}; simulate more subjects")
    return data


def _load_teacher(cfg: TrainConfig, data: JointIndex, norm: Normalizer, device: torch.device):
    """TrainConfig.teacher's model in eval mode with frozen weights, or None; it must take and give what the
    trained network does (joint, channels, outputs, normalisation), so that its outputs are targets as they are."""
    if not cfg.teacher:
        return None
    model, meta = load_checkpoint(cfg.teacher, device=device)
    if meta.get("target", "angle") != "angle" or meta.get("joint") != cfg.joint:
        raise ImukinError(f"teacher {cfg.teacher} gives the {meta.get('joint')}'s {meta.get('target', 'angle')}s; "
                          f"train the {cfg.joint} angles with a {cfg.joint} angle model as teacher")
    theirs, ours = meta.get("normalization") or {}, norm.to_dict()
    if list(meta.get("channels", [])) != list(CHANNELS) or not all(
            np.allclose(theirs.get(k, np.nan), ours[k], rtol=1e-5, atol=1e-8) for k in ours):
        raise ImukinError(f"teacher {cfg.teacher} was trained with other inputs or normalisation than "
                          f"{data.data_hash}'s training split; distil from a model trained on the same data")
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def _run_key(cfg: TrainConfig, data: JointIndex, init: WarmStart | None) -> str:
    """Identity of a run's settings: config, data and, when warm-started, the starting point and freezing."""
    key = _config_key(cfg, data)
    if cfg.teacher:  # the teacher's weights, not only its folder, decide the result
        sha = read_checkpoint_info(cfg.teacher).get("weights", {}).get("sha256")
        key = json.dumps({"base": key, "teacher_weights": sha}, sort_keys=True)
    if init is not None:
        key = json.dumps({"base": key, "init": init.key, "frozen": sorted(init.frozen)}, sort_keys=True)
    return key


def _build_model(cfg: TrainConfig, init: WarmStart | None, device: torch.device):
    """The model (fresh or warm-started), its trainable parameters and their AdamW optimiser.

    Returns
    -------
    tuple
        ``(model, params, opt)``.
    """
    model = create_model(cfg.model, **{**cfg.model_overrides, "target": cfg.target}).to(device)
    if init is not None:
        _apply_warm_start(model, init)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ImukinError("every parameter is frozen, so nothing would be trained; use a lighter --freeze")
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return model, params, opt


def _train_locked(run: _Run) -> dict:
    """The training loop proper, run while the run folder is locked (see :func:`train`)."""
    done = _finished_summary(run)
    if done is not None:
        run.sampler.close()
        return done
    _restore_resume_state(run)
    net = wrap_model(run.model, run.dist, run.device)  # DDP for several processes, else the model itself
    scaling = _scaling(run.cfg, run.norm, run.device)
    meta = _checkpoint_meta(run)

    from tqdm.auto import tqdm

    _prepare_log(run)
    cfg, state, main = run.cfg, run.state, run.dist.is_main
    run.t0 = time.perf_counter() - state["elapsed_s"]
    bar = tqdm(total=cfg.steps, initial=state["step"], desc=f"{cfg.model} {cfg.joint}", unit="step",
               disable=not (run.progress and main), dynamic_ncols=True)
    set_train_mode(run.model)
    stopped_early = False
    try:
        while state["step"] < cfg.steps:
            step = state["step"]
            _train_step(run, net, scaling, step)
            bar.update()
            is_eval = state["step"] % cfg.eval_every == 0 or state["step"] == cfg.steps
            if main and not is_eval and cfg.checkpoint_every and state["step"] % cfg.checkpoint_every == 0:
                state["elapsed_s"] = run.elapsed()
                _save_resume(run.resume_path, run.key, run.model, run.opt, run.rng, run.gen, state)
            if is_eval and _validate(run, meta, bar, step):
                stopped_early = True
                break
    finally:
        bar.close()
        run.sampler.close()
    return _write_summary(run, stopped_early)


def _finished_summary(run: _Run) -> dict | None:
    """The summary of a finished run with the same settings in the folder, else None.

    Rank 0 first refuses (or with ``overwrite`` clears) a run made with other settings; its
    answer is sent to every process.
    """
    done = None
    if run.dist.is_main:
        _check_same_run(run.run_dir, run.key, run.overwrite)
        if run.summary_path.exists():
            done = json.loads(run.summary_path.read_text())
            done = done if done.get("key") == run.key else None
    return run.dist.broadcast(done)


def _restore_resume_state(run: _Run) -> None:
    """Continue from ``resume.pt`` when it holds this run: weights, optimiser, random streams, progress.

    Rank 0 reads it and sends it to every process.
    """
    ck = None
    if run.dist.is_main and run.resume_path.exists():
        ck = torch.load(run.resume_path, map_location="cpu", weights_only=True)
        ck = ck if ck.get("key") == run.key else None
    ck = run.dist.broadcast(ck)  # rank 0's state on every process
    if ck is not None:
        run.model.load_state_dict(ck["model"])
        run.opt.load_state_dict(ck["opt"])
        run.rng.bit_generator.state = json.loads(ck["np_rng"])
        run.gen.set_state(ck["torch_gen"])
        torch.set_rng_state(ck["torch_rng"])
        run.state = json.loads(ck["state"])


def _scaling(cfg: TrainConfig, norm: Normalizer, device: torch.device) -> _Scaling:
    """The normalisation as tensors on ``device``, and the angle loss's axis weights."""
    y_std = torch.tensor(norm.y_std, device=device, dtype=torch.float32)
    # "degrees": weights y_std^2 turn the z-scored squared errors back into squared degrees
    axis_weights = y_std.reshape(-1) ** 2 if cfg.target == "angle" and cfg.axis_weighting == "degrees" else None
    return _Scaling(x_mean=torch.tensor(norm.x_mean, device=device, dtype=torch.float32),
                    x_std=torch.tensor(norm.x_std, device=device, dtype=torch.float32),
                    y_mean=torch.tensor(norm.y_mean, device=device, dtype=torch.float32),
                    y_std=y_std, axis_weights=axis_weights)


def _checkpoint_meta(run: _Run) -> dict:
    """What a checkpoint records besides its weights (everything needed to use the model)."""
    cfg, data = run.cfg, run.data
    return {
        "target": cfg.target, "joint": cfg.joint, "activity": data.activity, "fs": data.fs,
        "channels": list(CHANNELS), "outputs": list(run.error_axes), "window": cfg.window,
        "normalization": run.norm.to_dict(), "data_hash": data.data_hash, "data_file": str(run.data_path),
        "split": data.split, "train_config": asdict(cfg), "imukin_version": __version__,
        **(run.init.meta if run.init is not None else {}),
    }


def _prepare_log(run: _Run) -> None:
    """Start the metrics log afresh, or drop the rows logged after the checkpoint a resumed run starts from."""
    if not run.dist.is_main or not run.log_path.exists():
        return
    if run.state["step"] == 0:
        run.log_path.unlink()
    else:
        _truncate_log(run.log_path, run.state["step"])  # rows logged after the checkpoint are logged again


def _train_step(run: _Run, net: torch.nn.Module, scaling: _Scaling, step: int) -> None:
    """One optimiser step on a fresh augmented batch; updates the running loss and the step count."""
    cfg, device, opt = run.cfg, run.device, run.opt
    for g in opt.param_groups:
        g["lr"] = cfg.lr_at(step)
    xb, yb = run.sampler.sample(run.rng, cfg.batch_size)  # every process draws the whole batch
    xb = torch.from_numpy(xb).to(device)  # (B, W, 16) raw
    yb = torch.from_numpy(yb).to(device)  # (B, W, 3) degrees, or (B, W, 12) 6D orientations
    xb = delay_sensors(xb, cfg.delay_max_ms * 1e-3 * run.data.fs, cfg.delay_fraction, run.gen)
    if cfg.target == "angle":
        xb = rotate_sensors(xb, cfg.rotation_sd_deg, run.gen)
    xb = add_noise((xb - scaling.x_mean) / scaling.x_std, cfg.noise_fraction, run.gen)
    xb, yb = xb[run.share], yb[run.share]  # (B / world, W, C): this process's share
    yb = (yb - scaling.y_mean) / scaling.y_std  # (B / world, W, 3 or 12) as the network gives it
    if run.teacher is not None:
        with torch.no_grad():
            yb = run.teacher(xb)  # (B / world, W, 3): the teacher's angles, z-scored alike
    loss = _loss(net(xb), yb, cfg.target, cfg.offset_weight, scaling.axis_weights)
    opt.zero_grad(set_to_none=True)
    loss.backward()  # DDP averages the gradients over processes here
    torch.nn.utils.clip_grad_norm_(run.params, cfg.grad_clip)
    opt.step()
    loss_value = float(run.dist.all_sum(loss.detach().double().cpu().reshape(1))[0]) / run.dist.world_size
    running = run.state.get("running")
    run.state["running"] = loss_value if running is None else 0.95 * running + 0.05 * loss_value
    run.state["step"] = step + 1


def _validation_rmse(run: _Run) -> np.ndarray:
    """Validation RMSE per output axis (degrees), summed over every process's share of the sequences."""
    cfg = run.cfg
    se, n = error_sums(run.model, run.norm, run.data.val_pairs(run.dist.rank, run.dist.world_size), cfg.window,
                       run.device, cfg.target, remove_offset=cfg.val_metric == "rmse_offset_removed")
    tot = run.dist.all_sum(torch.tensor([*se, n], dtype=torch.float64))
    return np.sqrt(tot[:-1].numpy() / max(float(tot[-1]), 1.0))


def _validate(run: _Run, meta: dict, bar, step: int) -> bool:
    """A validation pass after ``step``: keep a better checkpoint, log, save the resume state, report.

    Returns
    -------
    bool
        True when training should stop early (``patience`` passes without improvement).
    """
    cfg, state, main = run.cfg, run.state, run.dist.is_main
    rmse = _validation_rmse(run)
    mean_rmse = float(rmse.mean())
    if mean_rmse < state["best_rmse"] - 1e-4:
        state.update(best_rmse=mean_rmse, best_step=state["step"], bad_evals=0, best_axes=rmse.tolist())
        if main:
            save_checkpoint(run.run_dir, run.model, {**meta, "val_rmse_deg": dict(zip(run.error_axes, rmse.tolist())),
                                                     "step": state["step"]})
    else:
        state["bad_evals"] += 1
    state["elapsed_s"] = run.elapsed()
    if main:
        _append_log(run.log_path, state["step"], state["running"], mean_rmse, cfg.lr_at(step), state["elapsed_s"])
        bar.set_postfix(train=f"{state['running']:.3f}", val_rmse=f"{mean_rmse:.2f}deg",
                        best=f"{state['best_rmse']:.2f}")
        _save_resume(run.resume_path, run.key, run.model, run.opt, run.rng, run.gen, state)
    if run.on_eval is not None:
        run.on_eval(state["step"], mean_rmse)
    return state["bad_evals"] >= cfg.patience


def _write_summary(run: _Run, stopped_early: bool) -> dict:
    """The run's summary; rank 0 also writes it to the run folder."""
    state = run.state
    summary = {"key": run.key, "best_val_rmse_deg": state["best_rmse"], "best_val_rmse_axes": state.get("best_axes"),
               "best_step": state["best_step"], "steps_run": state["step"], "stopped_early": stopped_early,
               "seconds": run.elapsed(), "processes": run.dist.world_size}
    if run.dist.is_main:
        write_text_atomic(run.summary_path, json.dumps(summary, indent=2))
    return summary


def _apply_warm_start(model: torch.nn.Module, init: WarmStart) -> None:
    """Load the starting weights and freeze the named parameters."""
    try:
        model.load_state_dict(init.state_dict)
    except RuntimeError as e:
        raise ImukinError(f"the starting weights do not fit the {type(model).__name__} built from the config "
                          f"({str(e).splitlines()[0]}); start from the run's own config") from None
    names = {n for n, _ in model.named_parameters()}
    unknown = sorted(set(init.frozen) - names)
    if unknown:
        raise ImukinError(f"cannot freeze unknown parameter(s) {', '.join(unknown[:3])}")
    for n, p in model.named_parameters():
        p.requires_grad_(n not in init.frozen)


def lock_run_dir(run_dir: str | Path):
    """Lock a run folder for this process (``run_dir/.lock``); refuse if another process holds it.

    Returns
    -------
    filelock.FileLock
        The acquired lock; call ``release()`` when done. The operating system releases it
        when the process dies, so a killed run never blocks the next one.

    Raises
    ------
    ImukinError
        Another process is training in the same folder.
    """
    import filelock

    lock = filelock.FileLock(str(Path(run_dir) / ".lock"), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ImukinError(f"run folder {run_dir} is in use by another imukin process; wait for it to finish "
                          "or pass another --out") from None
    return lock


def _stored_key(run_dir: Path) -> str | None:
    """The settings key of the run already in a folder (None: no run there yet)."""
    summary = run_dir / "train_summary.json"
    if summary.exists():
        try:
            return json.loads(summary.read_text()).get("key")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None
    resume = run_dir / "resume.pt"
    if resume.exists():
        try:
            return torch.load(resume, map_location="cpu", weights_only=True).get("key")
        except Exception:  # an unreadable checkpoint is started over, as before
            return None
    return None


def _key_fields(key: str) -> dict:
    """Flatten a settings key to ``{field: value}`` for naming what changed."""
    d = json.loads(key)
    out: dict = {}
    while "base" in d:
        out.update({k: v for k, v in d.items() if k != "base"})
        d = json.loads(d["base"])
    out.update(d.get("cfg", {}))
    out["data"] = d.get("data")
    return out


def _check_same_run(run_dir: Path, key: str, overwrite: bool) -> None:
    """Refuse (or with ``overwrite`` clear) a run folder holding a run made with other settings."""
    old = _stored_key(run_dir)
    if old is None or old == key:
        return
    if overwrite:
        for name in ("resume.pt", "train_summary.json", "metrics.csv", "model.safetensors", "model.json"):
            (run_dir / name).unlink(missing_ok=True)
        return
    try:
        a, b = _key_fields(old), _key_fields(key)
        changed = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    except (json.JSONDecodeError, TypeError, AttributeError):
        changed = []
    what = f" ({', '.join(changed)} changed)" if changed else ""
    raise ImukinError(f"{run_dir} holds a run made with other settings{what}; keep them to resume it, or start a "
                      "new run with another --out (or --overwrite to replace it)")


def _truncate_log(path: Path, last_step: int) -> None:
    """Drop log rows after ``last_step`` (logged after the checkpoint a resumed run starts from)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    keep = rows[:1] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= last_step]
    if len(keep) == len(rows):
        return
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            csv.writer(f).writerows(keep)


def _append_log(path: Path, step: int, train_loss: float, val_rmse: float, lr: float, elapsed: float) -> None:
    """Add one validation pass's row to ``metrics.csv`` (with the header when the file is new)."""
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["step", "train_loss", "val_rmse_deg", "lr", "elapsed_s"])
        w.writerow([step, f"{train_loss:.6f}", f"{val_rmse:.4f}", f"{lr:.3e}", f"{elapsed:.1f}"])


def _save_resume(path: Path, key: str, model, opt, rng, gen, state) -> None:
    """Write the training state (weights, optimiser, random streams, progress) to ``resume.pt`` atomically."""
    with atomic_path(path) as tmp:
        torch.save({"key": key, "model": model.state_dict(), "opt": opt.state_dict(),
                    "np_rng": json.dumps(rng.bit_generator.state), "torch_gen": gen.get_state(),
                    "torch_rng": torch.get_rng_state(), "state": json.dumps(state)}, tmp)


def _device(name: str) -> torch.device:
    """The torch device named by ``--device``, refused when unknown or when CUDA is missing."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ImukinError(f"device {name!r} (--device) was asked for but no CUDA GPU is available; use 'cpu'")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ImukinError("device 'mps' (--device) was asked for but no Apple GPU is available; use 'cpu'")
    if name not in ("cpu", "mps") and not name.startswith("cuda"):
        raise ImukinError(f"unknown device {name!r}; use cpu, cuda, cuda:N or mps")
    return torch.device(name)
