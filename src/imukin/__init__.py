"""imukin: lower-limb joint kinematics from body-worn inertial sensors.

>>> import imukin                                          # doctest: +SKIP
>>> rec = imukin.load_recording("my_trial/", fs=100)       # doctest: +SKIP
>>> out = imukin.predict(rec)                              # doctest: +SKIP
>>> out.angles["rknee"]                                    # (N, 3) degrees  # doctest: +SKIP
"""
from imukin._version import __version__
from imukin.errors import ImukinError

#: Public names imported on first use (the models pull in torch, which takes a moment to load).
_LAZY = {
    "load_recording": "imukin.io.recording",
    "Recording": "imukin.io.recording",
    "predict": "imukin.api",
    "Prediction": "imukin.api",
}

__all__ = ["ImukinError", "__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'imukin' has no attribute {name!r}")
