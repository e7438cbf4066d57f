"""The names training options accept, importable without torch.

The command line builds its ``choices`` from these (``imukin --help`` stays fast), and
:class:`imukin.training.trainer.TrainConfig` and :class:`imukin.training.search.SearchConfig`
check against the same tuples. ``MODEL_NAMES`` and ``ENSEMBLE_NAMES`` together equal
:func:`imukin.models.list_models` (a test keeps them together).

>>> "cnn_ori" in MODEL_NAMES and "cnn_ori" not in MODEL_FAMILIES
True
"""
from __future__ import annotations

#: Architectures that predict a joint's three angles (also the ones ``imukin search`` tunes).
MODEL_FAMILIES = ("cnn", "lstm", "transformer")
#: A registered name ending in this is the family's orientation variant (``target="orientation"`` fixed).
ORI_SUFFIX = "_ori"
#: Every registered model name: the families and their orientation variants.
MODEL_NAMES = tuple(sorted(MODEL_FAMILIES + tuple(f"{m}{ORI_SUFFIX}" for m in MODEL_FAMILIES)))
#: Registered names of the ensembles: built from trained runs (``imukin ensemble``), not trained.
ENSEMBLE_NAMES = ("ensemble", f"ensemble{ORI_SUFFIX}")
#: Validation metrics early stopping can watch.
VAL_METRICS = ("rmse", "rmse_offset_removed")
#: How the angle loss weighs the three axes: each in its own training SD, or all in degrees.
AXIS_WEIGHTINGS = ("sd", "degrees")
#: What a network predicts: a joint's three angles, or the two sensors' heading-free orientations.
TARGETS = ("angle", "orientation")

__all__ = ["MODEL_FAMILIES", "ORI_SUFFIX", "MODEL_NAMES", "ENSEMBLE_NAMES", "VAL_METRICS", "AXIS_WEIGHTINGS", "TARGETS"]
