"""Sequence models (IMU channels -> joint angles or segment orientations per time step).

Registered names (:func:`list_models`): ``cnn``, ``lstm``, ``transformer`` predict
3 joint angles; ``cnn_ori``, ``lstm_ori``, ``transformer_ori`` are the same
architectures with ``target="orientation"`` fixed, predicting two 6D rotations
(12 channels; ``model.rotations(x)`` gives (B, T, 2, 3, 3) matrices). ``ensemble`` and
``ensemble_ori`` average several trainings of one of them (:mod:`imukin.models.ensemble`).

>>> import torch
>>> from imukin.models import create_model
>>> model = create_model("transformer", n_layers=1)
>>> model(torch.zeros(2, 50, 16)).shape
torch.Size([2, 50, 3])
"""
from imukin.models.base import TARGET_DIMS, SequenceModel, SequenceModelConfig
from imukin.models.checkpoint import load_checkpoint, read_checkpoint_info, save_checkpoint  # noqa: E402

# Importing the model modules registers them.
from imukin.models.cnn import CNN, CNNConfig  # noqa: E402  (after the registry on purpose)
from imukin.models.ensemble import Ensemble, EnsembleConfig, build_ensemble  # noqa: E402
from imukin.models.lstm import LSTM, LSTMConfig  # noqa: E402
from imukin.models.orientation import (  # noqa: E402
    ORIENTATION_DIM,
    matrix_to_sixd,
    output_to_rotations,
    rotations_to_output,
    sixd_to_matrix,
)
from imukin.models.registry import create_model, get_entry, list_models, model_config, register_model
from imukin.models.rotary import RotaryEmbedding  # noqa: E402
from imukin.models.transformer import Transformer, TransformerConfig  # noqa: E402

__all__ = [
    "CNN", "CNNConfig", "Ensemble", "EnsembleConfig", "build_ensemble", "LSTM", "LSTMConfig",
    "Transformer", "TransformerConfig",
    "SequenceModel", "SequenceModelConfig", "TARGET_DIMS", "ORIENTATION_DIM", "RotaryEmbedding",
    "create_model", "get_entry", "list_models", "model_config", "register_model",
    "save_checkpoint", "load_checkpoint", "read_checkpoint_info",
    "sixd_to_matrix", "matrix_to_sixd", "output_to_rotations", "rotations_to_output",
]
