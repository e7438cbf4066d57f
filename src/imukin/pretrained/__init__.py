"""The shipped pretrained models: one folder each, ``<activity>_<joint>_<model>`` (weights, model card, blend).

This package holds the weights and knows which are shipped; loading them is
:class:`imukin.predictor.AnglePredictor`'s job (``AnglePredictor.pretrained``).
"""
from __future__ import annotations

from pathlib import Path

from imukin.conventions import ACTIVITIES, JOINT_NAMES, check_choice
from imukin.errors import ImukinError

PRETRAINED_DIR = Path(__file__).parent
PRETRAINED_MODELS = ("cnn", "transformer")
BOTH = "both"  # the model name of the mean of the PRETRAINED_MODELS' angles (imukin.predictor.MeanPredictor)
MODEL_CHOICES = (*PRETRAINED_MODELS, BOTH)  # what imukin predict --model takes


def pretrained_path(joint: str, activity: str, model: str = "cnn") -> Path:
    """Folder of a shipped pretrained model (``<activity>_<joint>_<model>``)."""
    check_choice("joint", joint, JOINT_NAMES)
    check_choice("activity", activity, ACTIVITIES)
    path = PRETRAINED_DIR / f"{activity}_{joint}_{model}"
    if not (path / "model.json").exists():
        have = sorted(p.name for p in PRETRAINED_DIR.glob("*_*_*") if (p / "model.json").exists())
        raise ImukinError(f"no pretrained {model} for {activity} {joint}; shipped: {', '.join(have) or 'none'} "
                          "(build them with 'make pretrained' or pass --run RUN_DIR)")
    return path


def shipped_kinds() -> list[str]:
    """The model names of the shipped folders, ``<activity>_<joint>_<model>`` less activity and joint
    (``cnn``, ``cnn_ori``, ``transformer``, ...): what ``imukin export --model`` accepts."""
    kinds = set()
    for path in PRETRAINED_DIR.iterdir():
        if (path / "model.json").is_file():
            for prefix in (f"{a}_{j}_" for a in ACTIVITIES for j in JOINT_NAMES):
                if path.name.startswith(prefix):
                    kinds.add(path.name[len(prefix):])
    return sorted(kinds)


def shipped_angle_models(activity: str, joint: str) -> list[Path]:
    """Folders of the shipped pretrained angle models of an activity and joint (not orientation models,
    not the causal streaming models: :func:`shipped_streaming_models`)."""
    return [r for r in _shipped_angle_runs(activity, joint) if not _is_causal(r)]


def shipped_streaming_models(activity: str, joint: str) -> list[Path]:
    """Folders of the shipped causal angle models (``<activity>_<joint>_<model>_causal``, for ``imukin stream``)."""
    return [r for r in _shipped_angle_runs(activity, joint) if _is_causal(r)]


def angle_runs(folder: str | Path, activity: str, joint: str) -> list[Path]:
    """The angle-model folders ``<folder>/<activity>_<joint>_<model>`` (orientation models left out), sorted:
    the shipped ones with ``folder`` = :data:`PRETRAINED_DIR`, trained candidates with a folder of runs."""
    from imukin.io.model_folder import read_checkpoint_info

    runs = sorted(p for p in Path(folder).glob(f"{activity}_{joint}_*") if (p / "model.json").exists())
    return [r for r in runs if read_checkpoint_info(r).get("meta", {}).get("target", "angle") == "angle"]


def _shipped_angle_runs(activity: str, joint: str) -> list[Path]:
    return angle_runs(PRETRAINED_DIR, activity, joint)


def is_causal_config(config: dict) -> bool:
    """Whether a model's config (``model.json``'s ``config``) is a causal model's: a causal CNN, or an ensemble of
    them (``imukin stream``'s models)."""
    return bool(config.get("causal", (config.get("member_config") or {}).get("causal", False)))


def _is_causal(run: Path) -> bool:
    from imukin.io.model_folder import read_checkpoint_info

    return is_causal_config(read_checkpoint_info(run)["config"])
