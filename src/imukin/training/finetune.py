"""Fine-tuning a trained model on a few subjects of a new dataset, tested on other subjects.

The target dataset's subjects are split as for training (seeded 80/10/10, so ``imukin
evaluate --split test`` later sees the same test subjects). Fine-tuning uses a few
subjects of the training split (or the ones named), early-stops on the validation
subjects, and the model is tested before and after on the test subjects, none of which
is ever seen in fine-tuning: the subject-independent test that small-data fine-tuning
needs (a test on segments of the fine-tuning subjects flatters it).

The source model keeps its input and target normalisation, so its weights stay
meaningful; only the weights move. ``--freeze`` chooses which:

``none``
    every parameter is trained (full fine-tuning).
``encoder``
    the feature layers (convolutions, LSTM, attention and feed-forward weights, input
    embedding) are frozen; normalisation layers (batch/layer norm scale and shift, batch-norm
    running statistics) and the output head adapt. Suits a changed sensor model, whose
    effect is largely a shift and scaling of features.
``all-but-head``
    only the output head is trained; batch-norm layers keep their statistics.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from imukin.conventions import ACTIVITIES, ANGLE_AXES, JOINT_NAMES, check_choice, check_rate
from imukin.errors import ImukinError
from imukin.io.atomic import write_text_atomic
from imukin.io.job_h5 import file_attrs, subject_ids
from imukin.models import load_checkpoint, read_checkpoint_info, save_checkpoint
from imukin.sources.mix import resampled_copy
from imukin.training.dataset import Normalizer, load_joint_data, split_subjects
from imukin.training.trainer import TrainConfig, WarmStart, error_sums, train

FREEZE_MODES = ("none", "encoder", "all-but-head")
_NORM_LAYERS = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.LayerNorm, torch.nn.GroupNorm)


@dataclass
class FinetuneConfig:
    """How to fine-tune. Defaults adapt a model to a new sensor setup in a few CPU minutes."""

    freeze: str = "none"  # none, encoder or all-but-head (module docstring)
    subjects: tuple = ()  # fine-tuning subject ids; empty: n_subjects drawn from the training split
    n_subjects: int = 5  # subjects drawn when `subjects` is empty
    steps: int = 600  # maximum optimiser steps
    lr: float = 5e-4  # peak learning rate (below training's: the weights are already good)
    warmup_steps: int = 30  # linear warm-up steps, then cosine decay
    eval_every: int = 50  # steps between validation passes
    patience: int = 6  # validation passes without improvement before stopping
    batch_size: int = 16  # windows per step
    seed: int = 0  # batches, augmentation and the draw of subjects
    split_seed: int = 0  # subject split of the target dataset; its test subjects are never fine-tuned on
    device: str = "cpu"  # cpu or cuda
    extra: dict = field(default_factory=dict)  # other TrainConfig fields to set (e.g. {"window": 200})
    keep_better: bool = True  # keep the source weights when fine-tuning made the validation error worse
    # (offset-removed RMSE on the fine-tuning validation subjects, never the test subjects); False keeps the tuned

    def __post_init__(self) -> None:
        check_choice("freeze", self.freeze, FREEZE_MODES)
        if self.n_subjects < 1:
            raise ImukinError(f"n_subjects (--subjects) must be at least 1, got {self.n_subjects}")
        if self.steps < 1:
            raise ImukinError(f"steps (--steps) must be at least 1, got {self.steps}")


def frozen_parameters(model: torch.nn.Module, mode: str) -> tuple[str, ...]:
    """Names of the parameters a freeze mode keeps fixed (``head.*`` is always trained).

    Parameters
    ----------
    model : nn.Module
        A registry model (its output layers live under ``head``; an ensemble's under each
        member's ``members.<i>.head``).
    mode : {"none", "encoder", "all-but-head"}
    """
    check_choice("freeze", mode, FREEZE_MODES)
    if mode == "none":
        return ()
    names = [n for n, _ in model.named_parameters() if "head" not in n.split(".")[:-1]]
    if mode == "all-but-head":
        return tuple(names)
    norm_prefixes = tuple(f"{n}." for n, m in model.named_modules() if n and isinstance(m, _NORM_LAYERS))
    return tuple(n for n in names if not n.startswith(norm_prefixes))


def resolve_source(source: str | Path, joint: str | None, activity: str | None, model: str = "cnn") -> Path:
    """Folder of the model to start from: a run folder, or ``"pretrained"`` (needs joint and activity)."""
    if str(source) == "pretrained":
        from imukin.pretrained import pretrained_path

        if joint is None or activity is None:
            raise ImukinError("--run pretrained needs --joint and an activity (--activity, or a dataset whose "
                              "activity attribute is walking or running)")
        return pretrained_path(joint, activity, model)
    path = Path(source)
    read_checkpoint_info(path)  # one-line error if it is not a model folder
    return path


def choose_subjects(data_path: str | Path, cfg: FinetuneConfig) -> dict[str, list[str]]:
    """The fine-tuning (``train``), validation and test subjects of the target dataset.

    Test subjects are the seeded split's test subjects and never fine-tuned on;
    named fine-tuning subjects leave the validation set.
    """
    ids = subject_ids(data_path)
    base = split_subjects(ids, seed=cfg.split_seed)
    if cfg.subjects:
        chosen = sorted(dict.fromkeys(str(s) for s in cfg.subjects))
        missing = [s for s in chosen if s not in ids]
        if missing:
            raise ImukinError(f"subject(s) {', '.join(missing[:5])} are not in {data_path}; "
                              f"its training subjects include {', '.join(base['train'][:5])}")
        leaked = [s for s in chosen if s in base["test"]]
        if leaked:
            raise ImukinError(f"subject(s) {', '.join(leaked)} are test subjects of {Path(data_path).name} "
                              f"(split seed {cfg.split_seed}) and cannot be fine-tuned on; choose among the "
                              f"training subjects, e.g. {', '.join(base['train'][:5])}")
    else:
        if cfg.n_subjects > len(base["train"]):
            raise ImukinError(f"--subjects {cfg.n_subjects} is more than the {len(base['train'])} training "
                              f"subjects of {data_path}")
        pick = np.random.default_rng(cfg.seed).permutation(len(base["train"]))[:cfg.n_subjects]
        chosen = sorted(base["train"][i] for i in pick)
    val = [s for s in base["val"] if s not in chosen]
    if not val:
        raise ImukinError(f"no validation subject of {data_path} is left for early stopping; fine-tune on "
                          "training-split subjects only")
    return {"train": chosen, "val": val, "test": list(base["test"])}


def heldout_error(model: torch.nn.Module, norm: Normalizer, data, window: int, device: str, split: str = "test",
                  remove_offset: bool = False) -> np.ndarray:
    """RMSE per angle axis (3,) of a model over the ``split`` sequences of ``data`` (raw, or with each
    sequence's mean error removed)."""
    se, n = error_sums(model, norm, data.iter_pairs(split), window, device, remove_offset=remove_offset)
    model.eval()
    return np.sqrt(se / max(n, 1))


def finetune(source: str | Path, data_path: str | Path, out_dir: str | Path, cfg: FinetuneConfig | None = None,
             joint: str | None = None, activity: str | None = None, model: str = "cnn",
             progress: bool = True) -> dict:
    """Fine-tune a trained model on a few subjects of a dataset; test before and after on other subjects.

    Parameters
    ----------
    source : path-like or "pretrained"
        Run folder to start from, or ``"pretrained"`` for the shipped model of ``joint``,
        ``activity`` and ``model``.
    data_path : path-like
        Target dataset (reference layout), at any rate in 20-1000 Hz: another rate than the
        model's is resampled to it (a copy ``.data_<fs>Hz.h5`` in ``out_dir``).
    out_dir : path-like
        New run folder (a normal run: ``evaluate``/``predict --run`` accept it), with
        ``finetune_report.json``. Rerunning resumes or returns the finished result.
    cfg : FinetuneConfig, optional
    joint, activity : str, optional
        Default to the source model's joint and the dataset's activity.
    model : str
        With ``source="pretrained"``: which shipped model (cnn or transformer).
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        ``subjects`` (train/val/test), ``before`` and ``after`` test RMSE per axis and mean
        (degrees), ``freeze``, ``source``, the training summary.
    """
    cfg = cfg or FinetuneConfig()
    data_path = Path(data_path)
    attrs = file_attrs(data_path)
    src, net, meta, joint = _source_model(source, data_path, attrs, cfg, joint, activity, model)
    data_path = _at_model_rate(data_path, attrs, meta, Path(out_dir))
    split = choose_subjects(data_path, cfg)
    data = load_joint_data(data_path, joint, split=split, splits=("train", "val", "test"))
    if not data.sequences["test"]:
        raise ImukinError(f"{data_path} has no {joint} data for its test subjects; simulate more subjects")
    norm = Normalizer.from_dict(meta["normalization"])
    window = int(meta.get("window", 400))
    before, before_or = _test_errors(net, norm, data, window, cfg.device)
    val_before = heldout_error(net, norm, data, window, cfg.device, split="val", remove_offset=True)

    tcfg = _train_config(net, meta, joint, window, cfg)
    init, frozen = _warm_start(net, norm, src, split, cfg)
    summary = train(tcfg, data_path, out_dir, progress=progress, data=data, init=init)

    tuned, tuned_meta = load_checkpoint(out_dir, device=cfg.device)
    val_after = heldout_error(tuned, norm, data, window, cfg.device, split="val", remove_offset=True)
    tuned, kept = _keep_better(net, tuned, tuned_meta, out_dir, val_before, val_after, cfg)
    after, after_or = _test_errors(tuned, norm, data, window, cfg.device)
    if kept == "finetuned":
        _warn_if_worse_on_test(before_or, after_or)
    report = {
        "source": str(src), "data": str(data_path), "joint": joint, "freeze": cfg.freeze,
        "subjects": {k: list(v) for k, v in split.items()},
        "frozen_parameters": len(frozen),
        "trained_parameters": sum(p.numel() for n, p in net.named_parameters() if n not in frozen),
        "before": _axes(before), "after": _axes(after),  # raw RMSE on the test subjects
        "before_offset_removed": _axes(before_or), "after_offset_removed": _axes(after_or),
        "validation_offset_removed": {"source": _axes(val_before), "finetuned": _axes(val_after)},
        "kept": kept, "train": {k: v for k, v in summary.items() if k != "key"},
    }
    write_text_atomic(Path(out_dir) / "finetune_report.json", json.dumps(report, indent=2))
    return report


def _source_model(source, data_path: Path, attrs: dict, cfg: FinetuneConfig, joint: str | None,
                  activity: str | None, model: str):
    """The model to start from, checked to be a joint-angle model of the joint asked for.

    Returns
    -------
    tuple
        ``(folder, model, meta, joint)``; ``joint`` defaults to the source model's.
    """
    if activity is None and str(attrs.get("activity")) in ACTIVITIES:
        activity = str(attrs["activity"])
    if joint is not None:
        check_choice("joint", joint, JOINT_NAMES)
    src = resolve_source(source, joint, activity, model)
    net, meta = load_checkpoint(src, device=cfg.device)
    if meta.get("target", "angle") != "angle":
        raise ImukinError(f"{src} holds a {meta.get('target')} model; fine-tuning needs a joint-angle model")
    src_joint = meta.get("joint")
    joint = joint or src_joint
    if joint is None:
        raise ImukinError(f"{src} does not say which joint it was trained for; pass --joint")
    if src_joint and joint != src_joint:
        raise ImukinError(f"{src} is a {src_joint} model but --joint {joint} was given; start from a {joint} model")
    return src, net, meta, joint


def _at_model_rate(data_path: Path, attrs: dict, meta: dict, out_dir: Path) -> Path:
    """The dataset at the source model's rate: itself, or a resampled copy in ``out_dir``."""
    fs = check_rate(attrs["fs"], f"the rate of {data_path}")
    return resampled_copy(data_path, out_dir, float(meta.get("fs", fs)))  # the model runs at its own rate


def _test_errors(model: torch.nn.Module, norm: Normalizer, data, window: int, device: str):
    """Test-subject RMSE per axis, raw and with each sequence's mean error removed: ``(raw, offset_removed)``."""
    return (heldout_error(model, norm, data, window, device),
            heldout_error(model, norm, data, window, device, remove_offset=True))


def _train_config(net: torch.nn.Module, meta: dict, joint: str, window: int, cfg: FinetuneConfig) -> TrainConfig:
    """The training settings of a fine-tuning run: the source's architecture and augmentation, ``cfg``'s schedule."""
    overrides = {k: v for k, v in asdict(net.config).items() if k not in ("in_channels", "target")}
    tc = meta.get("train_config", {})
    tcfg = TrainConfig(model=net.model_name, joint=joint, model_overrides=overrides, steps=cfg.steps,
                       batch_size=cfg.batch_size, window=window, lr=cfg.lr, warmup_steps=cfg.warmup_steps,
                       eval_every=cfg.eval_every, patience=cfg.patience, seed=cfg.seed, split_seed=cfg.split_seed,
                       device=cfg.device, rotation_sd_deg=float(tc.get("rotation_sd_deg", 15.0)),
                       noise_fraction=float(tc.get("noise_fraction", 0.15)),
                       delay_max_ms=float(tc.get("delay_max_ms", 0.0)),
                       delay_fraction=float(tc.get("delay_fraction", 0.5)))
    for k, v in cfg.extra.items():
        if not hasattr(tcfg, k):
            raise ImukinError(f"unknown training option {k!r} for fine-tuning")
        setattr(tcfg, k, v)
    return tcfg


def _warm_start(net: torch.nn.Module, norm: Normalizer, src: Path, split: dict, cfg: FinetuneConfig):
    """The source weights (as float32), its normalisation and the frozen parameters, as a training start.

    Returns
    -------
    tuple
        ``(WarmStart, frozen parameter names)``.
    """
    state = {k: (v.float() if v.is_floating_point() else v).detach().cpu().clone()
             for k, v in net.state_dict().items()}  # float16 shipped weights become float32
    frozen = frozen_parameters(net, cfg.freeze)
    weights_id = hashlib.sha256(b"".join(v.numpy().tobytes() for v in state.values())).hexdigest()[:16]
    info = {"source": str(src), "freeze": cfg.freeze, "subjects": split["train"], "val_subjects": split["val"],
            "test_subjects": split["test"], "source_weights": weights_id}
    init = WarmStart(state_dict=state, normalizer=norm, frozen=frozen, meta={"finetune": info},
                     key=json.dumps(info, sort_keys=True))
    return init, frozen


def _keep_better(net: torch.nn.Module, tuned: torch.nn.Module, tuned_meta: dict, out_dir, val_before: np.ndarray,
                 val_after: np.ndarray, cfg: FinetuneConfig):
    """Keep the source weights in ``out_dir`` when fine-tuning made the validation error worse.

    Returns
    -------
    tuple
        ``(model, kept)``: the model the run folder now holds and ``"finetuned"`` or ``"source"``.
    """
    if tuned_meta.get("finetune", {}).get("kept") == "source":
        return tuned, "source"  # an earlier run of this command already kept the source
    if not (cfg.keep_better and float(val_after.mean()) > float(val_before.mean())):
        return tuned, "finetuned"
    save_checkpoint(out_dir, net, {**tuned_meta, "finetune": {**tuned_meta.get("finetune", {}), "kept": "source"},
                                   "val_rmse_deg": dict(zip(ANGLE_AXES, val_before.tolist()))})
    warnings.warn(f"fine-tuning made the validation error worse ({val_after.mean():.2f} vs "
                  f"{val_before.mean():.2f} deg offset-removed); {out_dir} keeps the source weights "
                  "(try a lower --lr, more --subjects or another --freeze)", stacklevel=2)
    return net, "source"


def _warn_if_worse_on_test(before_or: np.ndarray, after_or: np.ndarray) -> None:
    """Warn when a kept fine-tuned model is worse than its source on the held-out test subjects."""
    if float(after_or.mean()) > float(before_or.mean()) + 0.01:
        warnings.warn(f"the fine-tuned model is worse than its source on the held-out test subjects "
                      f"({after_or.mean():.2f} vs {before_or.mean():.2f} deg offset-removed RMSE); it was kept because "
                      "it was better on the validation subjects", stacklevel=2)


def _axes(rmse: np.ndarray) -> dict:
    return {**{a: float(v) for a, v in zip(ANGLE_AXES, rmse)}, "mean": float(np.mean(rmse))}


def format_report(report: dict) -> str:
    """A before/after table of a fine-tuning report."""
    s = report["subjects"]
    lines = [f"fine-tuned {report['joint']} model from {report['source']} (freeze {report['freeze']}) on "
             f"{len(s['train'])} subject(s) {', '.join(s['train'])}; tested on {len(s['test'])} other subject(s)",
             f"{'test RMSE (deg)':<34}" + "".join(f"{a:>11}" for a in (*ANGLE_AXES, "mean"))]
    rows = [("before", "raw", "before"), ("after", "raw", "after"),
            ("before", "offset-removed", "before_offset_removed"), ("after", "offset-removed", "after_offset_removed")]
    for name, kind, key in rows:
        if key in report:
            lines.append(f"{name + ', ' + kind:<34}"
                         + "".join(f"{report[key][a]:11.2f}" for a in (*ANGLE_AXES, "mean")))
    val = report.get("validation_offset_removed")
    if val:
        lines.append(f"validation RMSE, offset-removed (mean): source {val['source']['mean']:.2f}, fine-tuned "
                     f"{val['finetuned']['mean']:.2f} deg; kept the {report.get('kept', 'finetuned')} weights")
    return "\n".join(lines)
