"""Ensembles: several trainings of one architecture whose outputs are averaged.

One training run of a recipe is one draw: on the Kuopio real sensors two training seeds of the
same walking ankle CNN differ by up to 1.6 deg of flexion RMSE (docs/real_data.md). The mean of
several seeds' outputs keeps the recipe and drops most of that chance. An ensemble is an ordinary
model (registered ``ensemble`` and ``ensemble_ori``), so the predictors, the optimisation stage,
the evaluation and the exports take it as they take its members::

    >>> import torch
    >>> from imukin.models import create_model
    >>> model = create_model("ensemble", member="cnn", member_config={"n_layers": 1}, n_members=2)
    >>> model(torch.zeros(1, 50, 16)).shape
    torch.Size([1, 50, 3])

:func:`build_ensemble` writes one from trained run folders (``imukin ensemble RUN RUN ...``).
The members must have been trained on the same inputs with the same normalisation: they
share one input path and one output scale.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from imukin.errors import ImukinError
from imukin.models.base import SequenceModel, SequenceModelConfig, check_int
from imukin.models.checkpoint import load_checkpoint, read_checkpoint_info, save_checkpoint
from imukin.models.registry import create_model, get_entry, register_model

#: meta entries every member must share: what goes in, what comes out, and how it is scaled.
SHARED_META = ("target", "joint", "activity", "fs", "channels", "outputs", "window", "normalization")


@dataclass
class EnsembleConfig(SequenceModelConfig):
    """Options of :class:`Ensemble`."""

    member: str = "cnn"  # registered name of every member (one architecture for all)
    member_config: dict = field(default_factory=dict)  # the members' options (create_model overrides)
    n_members: int = 3  # trainings whose outputs are averaged

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "n_members", 1)
        if not isinstance(self.member, str) or self.member.split("_")[0] == "ensemble":
            raise ImukinError(f"EnsembleConfig.member must name a registered single model, got {self.member!r}")
        get_entry(self.member)  # ImukinError listing the names if unknown
        if not isinstance(self.member_config, dict):
            raise ImukinError(f"EnsembleConfig.member_config must be a dict of options, got "
                              f"{type(self.member_config).__name__}")


@register_model("ensemble")
@register_model("ensemble_ori", target="orientation")
class Ensemble(SequenceModel):
    """Mean of ``n_members`` models of one architecture, (B, T, in_channels) -> (B, T, out_dim).

    Orientation members' 6D outputs are averaged before they are made rotations
    (:meth:`SequenceModel.rotations`), the chordal mean of nearby rotations.
    """

    family = "ensemble"
    config_class = EnsembleConfig

    def __init__(self, config: EnsembleConfig) -> None:
        super().__init__(config)
        c = config
        options = {**c.member_config, "in_channels": c.in_channels, "target": c.target}
        self.members = nn.ModuleList([create_model(c.member, **options) for _ in range(c.n_members)])

    @property
    def receptive_field(self) -> int | None:
        """The members' field (they share one architecture); ``None`` when it is the whole window."""
        return self.members[0].receptive_field

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in_channels) -> (B, T, out_dim): the members' mean."""
        self._check_input(x)
        return torch.stack([m(x) for m in self.members]).mean(0)  # (M, B, T, out) -> (B, T, out)


def _same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) == len(b) and all(isinstance(v, (int, float)) for v in [*a, *b]):
            return bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    return a == b


def build_ensemble(runs: list[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write one ensemble model folder from trained run folders of one architecture.

    Parameters
    ----------
    runs : list of path-like
        Two or more model folders (``imukin train`` outputs or pretrained folders) trained on the
        same inputs: the same architecture and options, joint, activity, rate, channels, window
        and normalisation (the meta entries in :data:`SHARED_META`).
    out : path-like
        Destination folder (written atomically, file by file).

    Returns
    -------
    Path
        ``out``. Its meta is the first member's, with ``members`` listing each member's folder,
        training seed, validation RMSE and weights checksum.

    Raises
    ------
    ImukinError
        Fewer than two runs, an unreadable run, or runs that differ in any shared entry (the
        message names the entry and the run).
    """
    if len(runs) < 2:
        raise ImukinError(f"an ensemble needs at least two trained runs, got {len(runs)}; train the recipe "
                          "again with another --seed")
    loaded = [(Path(r), *load_checkpoint(r)) for r in runs]
    first_dir, first, first_meta = loaded[0]
    if isinstance(first, Ensemble):
        raise ImukinError(f"{first_dir} is already an ensemble; list the single runs it was built from")
    members_doc = []
    for folder, model, meta in loaded:
        if model.model_name != first.model_name or dataclasses.asdict(model.config) != dataclasses.asdict(first.config):
            raise ImukinError(f"{folder} is a {model.model_name} with other options than {first_dir}; an ensemble "
                              "averages trainings of one architecture")
        for key in SHARED_META:
            if not _same(meta.get(key), first_meta.get(key)):
                raise ImukinError(f"{folder} differs from {first_dir} in {key!r}; ensemble only runs trained on "
                                  "the same corpus with the same recipe")
        members_doc.append({"run": str(folder), "seed": (meta.get("train_config") or {}).get("seed"),
                            "val_rmse_deg": meta.get("val_rmse_deg"),
                            "weights_sha256": read_checkpoint_info(folder).get("weights", {}).get("sha256")})
    member_config = {k: v for k, v in dataclasses.asdict(first.config).items() if k not in ("in_channels", "target")}
    ensemble = create_model("ensemble" + ("_ori" if first.config.target == "orientation" else ""),
                            member=first.family, member_config=member_config, n_members=len(loaded),
                            in_channels=first.config.in_channels)
    for slot, (_, model, _) in zip(ensemble.members, loaded):
        slot.load_state_dict(model.state_dict())
    meta = {k: v for k, v in first_meta.items() if k not in ("val_rmse_deg", "best_step", "pretrained_name")}
    meta["members"] = members_doc
    return save_checkpoint(out, ensemble.eval(), meta)
