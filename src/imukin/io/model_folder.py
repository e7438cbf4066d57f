"""The ``model.json`` of a model folder, read without torch.

A model folder (what ``imukin train`` writes and every shipped model is) holds the
weights, ``model.safetensors``, and ``model.json``: format, architecture and config,
the weights' checksum and the caller's ``meta`` (see :mod:`imukin.models.checkpoint`,
which writes both files and loads the weights). This module only reads the JSON file, so
that listing or describing models does not load torch.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from imukin.errors import ImukinError

WEIGHTS_FILE = "model.safetensors"
META_FILE = "model.json"
FORMAT = "imukin-model"
FORMAT_VERSION = 1


def read_checkpoint_info(folder: str | os.PathLike) -> dict:
    """The parsed ``model.json`` of a checkpoint folder (no weights loaded).

    Parameters
    ----------
    folder : path-like
        A model folder (``imukin train --out``, or a shipped model).

    Returns
    -------
    dict
        ``format``, ``format_version``, ``model_name``, ``config``, ``weights``,
        ``imukin_version`` and ``meta`` as :func:`imukin.models.save_checkpoint` wrote them.

    Raises
    ------
    ImukinError
        When the folder is missing, is a file, or holds no readable imukin ``model.json``.
    """
    folder = Path(folder)
    path = folder / META_FILE
    if folder.is_file():
        raise ImukinError(f"{folder} is a file, not a run folder; a run folder is what 'imukin train --out' writes "
                          "(model.json + model.safetensors), e.g. --run runs/knee_cnn")
    if not folder.is_dir():
        raise ImukinError(f"run folder {folder} does not exist; pass a folder written by 'imukin train --out' "
                          "(model.json + model.safetensors)")
    if not path.is_file():
        raise ImukinError(f"model folder {folder} has no {META_FILE}; pass a folder written by save_checkpoint")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ImukinError(f"{path} is not valid JSON ({exc}); re-save the model") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ImukinError(f"{path} is not an imukin model file (format {FORMAT!r} expected)")
    if doc.get("format_version", 0) > FORMAT_VERSION:
        raise ImukinError(f"{path} has format version {doc.get('format_version')}, newer than this imukin "
                          f"understands ({FORMAT_VERSION}); upgrade imukin")
    for key in ("model_name", "config"):
        if key not in doc:
            raise ImukinError(f"{path} lacks {key!r}; re-save the model")
    return doc
