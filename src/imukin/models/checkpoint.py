"""Model folders: weights in safetensors, everything else in one JSON file.

A checkpoint folder holds

``model.safetensors``
    the ``state_dict`` (CPU, contiguous tensors). Loaded with safetensors only:
    no pickle, so loading a folder never runs code from it.
``model.json``
    ``format``/``format_version``, ``model_name`` and ``config`` (the arguments that
    rebuild the architecture through :func:`imukin.models.create_model`), the SHA-256
    of the weights file, the imukin version that wrote it, and ``meta``: whatever
    the caller stores (normalisation mean/std, channel layout, fs, activity, joint,
    target, data hash, metrics, ...).

Both files are written atomically, weights first, so a folder whose ``model.json``
exists always has the matching weights.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from imukin._version import __version__
from imukin.conventions import CHANNELS
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path
from imukin.io.model_folder import FORMAT, FORMAT_VERSION, META_FILE, WEIGHTS_FILE, read_checkpoint_info
from imukin.models.registry import create_model


def _jsonable(obj: Any, where: str = "meta") -> Any:
    """Plain JSON types from numpy/torch values, tuples and paths; ImukinError for anything else."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        arr = obj.detach().cpu().numpy() if isinstance(obj, torch.Tensor) else obj
        return _jsonable(arr.tolist(), where)
    if isinstance(obj, np.generic):
        return _jsonable(obj.item(), where)
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ImukinError(f"checkpoint {where} is {obj}; store only finite numbers (or None)")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise ImukinError(f"checkpoint {where} has a {type(obj).__name__}, which JSON cannot store; "
                      "convert it to numbers, strings, lists or dicts")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(folder: str | os.PathLike, model: nn.Module, meta: dict | None = None) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``folder`` (created if missing).

    Parameters
    ----------
    folder : path-like
        Destination folder; existing checkpoint files there are replaced atomically.
    model : nn.Module
        A model from :func:`imukin.models.create_model` (has ``model_name`` and ``config``).
    meta : dict, optional
        JSON-serialisable information stored with the weights (numpy arrays and scalars
        are converted to lists and numbers).

    Returns
    -------
    Path
        The folder.
    """
    name = getattr(model, "model_name", None)
    config = getattr(model, "config", None)
    if not isinstance(name, str) or not dataclasses.is_dataclass(config):
        raise ImukinError(f"cannot save a {type(model).__name__}: it has no model_name/config; "
                          "build models with imukin.models.create_model")
    if meta is not None and not isinstance(meta, dict):
        raise ImukinError(f"checkpoint meta must be a dict, got {type(meta).__name__}")
    folder = Path(folder)
    # everything that can be refused is checked before a file is touched: a bad meta leaves the folder as it was
    config_doc, meta_doc = _jsonable(dataclasses.asdict(config), "config"), _jsonable(meta or {})
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}  # fresh copies
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt", "model_name": name})
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_name": name,
        "config": config_doc,
        "weights": {"file": WEIGHTS_FILE, "sha256": _sha256(folder / WEIGHTS_FILE)},
        "imukin_version": __version__,
        "meta": meta_doc,
    }
    with atomic_path(folder / META_FILE) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
    return folder


def check_channels(meta: dict, folder: str | os.PathLike) -> None:
    """Refuse a model trained on other input channels than :data:`imukin.conventions.CHANNELS`.

    Models saved without a channel list (orientation-free toy models, old runs) pass.
    """
    stored = meta.get("channels")
    if stored is not None and list(stored) != list(CHANNELS):
        raise ImukinError(f"the model in {folder} was trained on the input channels {list(stored)}, but imukin "
                          f"feeds {list(CHANNELS)}; retrain it with this version of imukin")


def load_checkpoint(folder: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[nn.Module, dict]:
    """Rebuild a model from a checkpoint folder.

    Parameters
    ----------
    folder : path-like
        Folder written by :func:`save_checkpoint`.
    device : str or torch.device
        Where to put the weights.

    Returns
    -------
    model : nn.Module
        The model in eval mode, on ``device``.
    meta : dict
        The ``meta`` dict given to :func:`save_checkpoint`.

    Raises
    ------
    ImukinError
        Missing files, unknown model name or options, corrupted or mismatching weights.
    """
    folder = Path(folder)
    doc = read_checkpoint_info(folder)
    check_channels(doc.get("meta", {}), folder)
    weights = folder / doc.get("weights", {}).get("file", WEIGHTS_FILE)
    if not weights.is_file():
        raise ImukinError(f"model folder {folder} has no {weights.name}; copy the weights next to {META_FILE}")
    expected = doc.get("weights", {}).get("sha256")
    if expected and _sha256(weights) != expected:
        raise ImukinError(f"{weights} does not match the checksum in {META_FILE} (corrupted or replaced); "
                          "re-copy or re-save the model")
    try:
        model = create_model(doc["model_name"], **doc["config"])
    except ImukinError as exc:
        raise ImukinError(f"cannot rebuild the model in {folder}: {exc}") from None
    try:
        state = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError) as exc:
        raise ImukinError(f"cannot read {weights} ({exc}); re-save the model") from None
    _check_shapes(model, state, weights)
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ImukinError(f"weights in {weights} do not fit model {doc['model_name']!r} with the stored config "
                          f"(missing {result.missing_keys[:3]}, unexpected {result.unexpected_keys[:3]}); "
                          "the folder mixes files from different models")
    return model.to(device).eval(), doc.get("meta", {})


def _check_shapes(model: nn.Module, state: dict[str, torch.Tensor], weights: Path) -> None:
    """Raise ImukinError naming the first tensor whose shape differs from the model's."""
    own = model.state_dict()
    for key, tensor in state.items():
        if key in own and own[key].shape != tensor.shape:
            raise ImukinError(f"weights in {weights} do not fit the stored config: {key} has shape "
                              f"{tuple(tensor.shape)}, the model expects {tuple(own[key].shape)}; "
                              "the folder mixes files from different models")
