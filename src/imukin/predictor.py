"""A trained joint-angle model ready to use on recordings of any length and rate.

>>> from imukin.predictor import AnglePredictor           # doctest: +SKIP
>>> p = AnglePredictor.pretrained("knee", "walking")       # doctest: +SKIP
>>> angles = p.predict(acc1, gyr1, acc2, gyr2, side="left", fs=100.0)  # (T, 3) degrees

:class:`MeanPredictor` averages several predictors of one joint (``imukin predict --model both``: the
shipped cnn and transformer).
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from imukin.conventions import same_rate, side_inputs
from imukin.errors import ImukinError
from imukin.inference import LazyFrames, inference_model, inference_windowing, predict_windows
from imukin.models import load_checkpoint
from imukin.normalization import Normalizer
from imukin.pretrained import PRETRAINED_DIR, PRETRAINED_MODELS, pretrained_path, shipped_angle_models  # noqa: F401
from imukin.signal import resample, resample_to_length

_FAST_LOCK = threading.Lock()  # guards the making of each run's inference_model copy


class TrainedRun:
    """A run folder's model, loaded for inference, with what it expects of its input.

    Parameters
    ----------
    run_dir : path-like
        A run folder (``model.json`` + ``model.safetensors``).
    device : str
        ``cpu`` or ``cuda``.
    target : {"angle", "orientation"}
        What the model must predict; another kind of run is refused.
    """

    def __init__(self, run_dir: str | Path, device: str = "cpu", target: str = "angle"):
        self.run_dir = Path(run_dir)
        self.device = torch.device(device)
        self.model, self.meta = load_checkpoint(self.run_dir, device=device)
        self.model.eval()
        found = self.meta.get("target", "angle")
        if found != target:
            raise ImukinError(f"{run_dir} holds a {found} model but a {target} model is needed here "
                              f"(train one with 'imukin train --target {target}')")
        self.norm = Normalizer.from_dict(self.meta["normalization"])
        self.fs = float(self.meta["fs"])
        self.window = int(self.meta.get("window", 400))
        self.joint = self.meta.get("joint")
        self.activity = self.meta.get("activity")

    def outputs(self, x: np.ndarray, progress: bool | str = False) -> np.ndarray:
        """The model's outputs in physical units, (T, K), from raw channels (T, 16) at its rate.

        Long recordings run in overlapping windows (:func:`imukin.inference.inference_windowing`).
        """
        x = np.asarray(x)
        return self._run(self._normalized(len(x), lambda i, j: x[i:j]), progress)

    def outputs_from_signals(self, acc1, gyr1, acc2, gyr2, side: str, progress: bool | str = False) -> np.ndarray:
        """:meth:`outputs` of ``side_inputs(acc1, gyr1, acc2, gyr2, side)``: two IMUs' (T, 3) signals at the
        model's rate, a left leg mirrored; the (T, 16) channels are made window by window, never whole."""
        signals = (acc1, gyr1, acc2, gyr2)
        n = len(signals[0])
        if any(len(a) != n for a in signals):
            raise ImukinError(f"acc1, gyr1, acc2, gyr2 must have one length, got {[len(a) for a in signals]}")
        return self._run(self._normalized(n, lambda i, j: side_inputs(*(a[i:j] for a in signals), side)), progress)

    def _run(self, x: np.ndarray | LazyFrames, progress: bool | str) -> np.ndarray:
        """Outputs in physical units (T, K) from normalised float32 channels (T, C).

        The network runs as :func:`imukin.inference.inference_model` of :attr:`model` (made once;
        the weights are taken as fixed from then on).
        """
        with _FAST_LOCK:  # made once, also when two joints' passes start together (run_concurrently)
            if getattr(self, "_fast", (None, None))[0] is not self.model:
                self._fast = (self.model, inference_model(self.model))
        y = predict_windows(self._fast[1], x, device=self.device, progress=progress,
                            **inference_windowing(self.model, self.window))
        return np.asarray(self.norm.y_inverse(y))

    def _normalized(self, n: int, rows) -> LazyFrames:
        """``self.norm.x`` of the raw channels ``rows(i, j)`` (frames ``i:j``), (n, C) float32, made window by
        window as the network asks for them: a long recording's channels never exist whole."""
        return LazyFrames(n, len(self.norm.x_mean), lambda i, j: self.norm.x(rows(i, j)))  # float32



class AnglePredictor(TrainedRun):
    """Joint angles from two IMUs with a trained angle network (``run_dir``, ``device`` as :class:`TrainedRun`)."""

    def __init__(self, run_dir: str | Path, device: str = "cpu"):
        super().__init__(run_dir, device, target="angle")

    @classmethod
    def pretrained(cls, joint: str, activity: str, model: str = "cnn", device: str = "cpu") -> AnglePredictor:
        """The shipped model for a joint and activity."""
        return cls(pretrained_path(joint, activity, model), device=device)

    def predict(self, acc1, gyr1, acc2, gyr2, side: str, fs: float | None = None,
                progress: bool | str = False) -> np.ndarray:
        """Predict one leg's joint angles.

        Parameters
        ----------
        acc1, gyr1, acc2, gyr2 : ndarray, shape (T, 3)
            Proximal then distal sensor, m/s^2 and rad/s, sensor frames.
        side : {"right", "left"}
            The leg; left signals are mirrored as the model expects.
        fs : float, optional
            Rate of the input in Hz (default: the model's). Other rates are resampled
            (anti-aliased) to the model's rate and the output back to the input's.
        progress : bool or str
            Show a progress bar over windows (a str: its label).

        Returns
        -------
        ndarray, shape (T, 3)
            ``[flexion, adduction, rotation]`` in degrees at the input rate.
        """
        signals = [np.asarray(a, float) for a in (acc1, gyr1, acc2, gyr2)]
        n_in = len(signals[0])
        fs = self.fs if fs is None else float(fs)
        if fs <= 0:
            raise ImukinError(f"sampling rate must be positive, got {fs}")
        if not same_rate(fs, self.fs):
            signals = [resample(a, fs, self.fs) for a in signals]
        if len(signals[0]) < 8:
            raise ImukinError(f"the recording has {n_in} samples; at least {int(np.ceil(8 * fs / self.fs))} are needed")
        y = self.outputs_from_signals(*signals, side, progress=progress)  # (T_model, 3)
        if not same_rate(fs, self.fs):
            y = resample_to_length(y, self.fs, fs, n_in)
        return y


class MeanPredictor:
    """The mean of several predictors' joint angles for one joint (``imukin predict --model both``).

    Two networks of different architectures err less alike than two trainings of one, so their mean errs
    less than either where their errors are of a size (docs/models.md, "Both networks").

    Parameters
    ----------
    members : sequence of predictors
        :class:`AnglePredictor` or :class:`imukin.fusion.refine.RefinedPredictor` objects of one joint
        (anything with ``fs``, ``joint``, ``activity``, ``predict`` and ``outputs_from_signals``), at any
        rates: the first member's rate is this predictor's (:attr:`fs`), the others are resampled to theirs
        and back.

    Examples
    --------
    >>> nets = [AnglePredictor.pretrained("knee", "walking", m) for m in ("cnn", "transformer")]  # doctest: +SKIP
    >>> p = MeanPredictor(nets)  # doctest: +SKIP
    >>> angles = p.predict(acc1, gyr1, acc2, gyr2, side="right", fs=100.0)  # doctest: +SKIP
    """

    def __init__(self, members):
        self.members = list(members)
        if not self.members:
            raise ImukinError("MeanPredictor needs at least one predictor to average")
        joints = {m.joint for m in self.members}
        if len(joints) != 1:
            names = ", ".join(sorted(map(str, joints)))
            raise ImukinError(f"the predictors to average are for different joints ({names}); pass models of one joint")
        self.joint = self.members[0].joint
        self.activity = self.members[0].activity
        self.fs = float(self.members[0].fs)  # Hz: the first member's rate

    def outputs_from_signals(self, acc1, gyr1, acc2, gyr2, side: str, progress: bool | str = False) -> np.ndarray:
        """The members' mean angles (T, 3) from two IMUs' (T, 3) signals at :attr:`fs` (a left leg not yet
        mirrored, as :meth:`TrainedRun.outputs_from_signals`)."""
        first = self.members[0].outputs_from_signals(acc1, gyr1, acc2, gyr2, side, progress=progress)  # (T, 3)
        rest = [m.predict(acc1, gyr1, acc2, gyr2, side=side, fs=self.fs, progress=progress)
                for m in self.members[1:]]  # each (T, 3), resampled to its rate and back
        return np.mean([first, *rest], axis=0)

    def predict(self, acc1, gyr1, acc2, gyr2, side: str, fs: float | None = None,
                progress: bool | str = False) -> np.ndarray:
        """One leg's joint angles, (T, 3) degrees at the input rate: the mean of the members' ``predict``
        (arguments as :meth:`AnglePredictor.predict`; ``fs`` defaults to :attr:`fs`)."""
        fs = self.fs if fs is None else fs
        return np.mean([m.predict(acc1, gyr1, acc2, gyr2, side=side, fs=fs, progress=progress)
                        for m in self.members], axis=0)
