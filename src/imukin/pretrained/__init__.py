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


def shipped_angle_models(activity: str, joint: str) -> list[Path]:
    """Folders of the shipped pretrained angle models of an activity and joint (not orientation models)."""
    from imukin.models.checkpoint import read_checkpoint_info

    runs = sorted(p for p in PRETRAINED_DIR.glob(f"{activity}_{joint}_*") if (p / "model.json").exists())
    return [r for r in runs if read_checkpoint_info(r).get("meta", {}).get("target", "angle") == "angle"]
