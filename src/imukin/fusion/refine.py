"""The whole framework: angle network + orientation network + gyroscope refinement + per-axis blend.

>>> from imukin.fusion.refine import RefinedPredictor, fit_blend         # doctest: +SKIP
>>> fit_blend("runs/knee_angle", "runs/knee_ori", "walk.h5")  # doctest: +SKIP
>>> p = RefinedPredictor("runs/knee_angle", "runs/knee_ori")             # doctest: +SKIP
>>> angles = p.predict(acc1, gyr1, acc2, gyr2, side="left", fs=100.0)  # doctest: +SKIP

Per recording (at the orientation model's rate, which is the stage's; other rates are resampled
in and out):

1. the angle network gives ``alpha`` (T, 3) degrees (at its own rate, resampled to the stage's);
2. the orientation network gives both sensors' heading-free orientations (T, 2, 3, 3);
3. :func:`imukin.fusion.optimize.optimize_orientations` refines them with the gyroscopes;
4. ``beta`` = joint angles of the refined relative orientation (sensor frames), through
   :func:`imukin.conventions.relative_rotation_to_angles`;
5. :func:`imukin.fusion.blend.apply_blend` combines ``alpha`` and ``beta`` per axis with
   ``s`` and ``w`` from ``blend.json`` (fitted by :func:`fit_blend` on validation data).

Everything runs in the right-leg frame: a left leg's signals are mirrored first
(:func:`imukin.conventions.mirror_imu`), as the networks expect, and its angles then
come out in imukin's left-side convention, which matches the right side's.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from imukin.conventions import ANGLE_AXES, relative_rotation_to_angles, same_rate, side_inputs, split_channels
from imukin.errors import ImukinError
from imukin.fusion.blend import apply_blend, fit_blend_params
from imukin.fusion.optimize import OptimizeConfig, optimize_orientations
from imukin.io.atomic import write_text_atomic
from imukin.io.model_folder import read_checkpoint_info
from imukin.models.orientation import output_to_rotations
from imukin.predictor import AnglePredictor, MeanPredictor, TrainedRun
from imukin.pretrained import BOTH, PRETRAINED_DIR, PRETRAINED_MODELS, angle_runs, pretrained_path
from imukin.signal import resample, resample_to_length
from imukin.training.dataset import load_joint_data

BLEND_FILE = "blend.json"
BLEND_FORMAT = "imukin-blend"
BLEND_FORMAT_VERSION = 1
MIN_FRAMES = 8  # shortest recording (at the model rate) the networks are run on


class OrientationPredictor(TrainedRun):
    """Heading-free sensor orientations from two IMUs with a trained orientation network.

    Parameters
    ----------
    run_dir : path-like
        A run folder trained with ``target="orientation"``.
    device : str
        ``cpu`` or ``cuda``.
    """

    def __init__(self, run_dir: str | Path, device: str = "cpu"):
        super().__init__(run_dir, device, target="orientation")

    def rotations_from_channels(self, x: np.ndarray) -> np.ndarray:
        """Orientations (T, 2, 3, 3) from the 16 raw channels (T, 16) at the model's rate (already mirrored)."""
        y = self.outputs(x)  # (T, 12)
        return output_to_rotations(torch.from_numpy(np.asarray(y, np.float64))).numpy()  # (T, 2, 3, 3)

    def predict(self, acc1, gyr1, acc2, gyr2, side: str, fs: float | None = None) -> np.ndarray:
        """Heading-free orientations of both sensors, (T, 2, 3, 3) at the input rate.

        A left leg's orientations are those of the mirrored leg (as the network was
        trained). Other rates than the model's are resampled in, and the 6D output is
        resampled back before Gram-Schmidt.
        """
        signals, fs, n_in = _to_model_rate([acc1, gyr1, acc2, gyr2], fs, self.fs)
        x = side_inputs(*signals, side)
        y = self.outputs(x)
        if not same_rate(fs, self.fs):
            y = resample_to_length(y, self.fs, fs, n_in)
        return output_to_rotations(torch.from_numpy(np.asarray(y, np.float64))).numpy()


def _to_model_rate(signals: list, fs: float | None, fs_model: float) -> tuple[list[np.ndarray], float, int]:
    """The four (T, 3) signals checked and resampled to ``fs_model`` (refused when shorter than :data:`MIN_FRAMES`
    there), the input rate (``fs_model`` when None) and the input length."""
    signals = [np.asarray(a, float) for a in signals]
    shapes = {a.shape for a in signals}
    if len(shapes) != 1 or signals[0].ndim != 2 or signals[0].shape[1] != 3:
        raise ImukinError(f"acc1, gyr1, acc2, gyr2 must all be (T, 3) arrays of one length, got "
                          f"{[a.shape for a in signals]}")
    n_in = len(signals[0])
    fs = fs_model if fs is None else float(fs)
    if not (np.isfinite(fs) and fs > 0):
        raise ImukinError(f"sampling rate must be positive, got {fs}")
    if not same_rate(fs, fs_model):
        signals = [resample(a, fs, fs_model) for a in signals]
    if len(signals[0]) < MIN_FRAMES:
        raise ImukinError(f"the recording has {n_in} samples; at least {MIN_FRAMES} at {fs_model:g} Hz are needed")
    return signals, fs, n_in


def read_blend(path: str | Path) -> dict:
    """Parse and check a ``blend.json``."""
    path = Path(path)
    if path.is_dir():
        path = path / BLEND_FILE
    if not path.exists():
        raise ImukinError(f"no blend parameters at {path}; fit them with imukin.fusion.refine.fit_blend")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ImukinError(f"{path} is not valid JSON ({e.msg}); fit the blend again") from None
    if doc.get("format") != BLEND_FORMAT:
        raise ImukinError(f"{path} is not an imukin blend file; fit the blend with fit_blend")
    for key in ("s", "w"):
        v = np.asarray(doc.get(key, []), float)
        if v.shape != (3,) or not np.all(np.isfinite(v)):
            raise ImukinError(f"{path}: {key!r} must be 3 finite numbers (one per angle axis); fit the blend again")
    if not all(0.0 <= w <= 1.0 for w in doc["w"]):
        raise ImukinError(f"{path}: weights w must lie in [0, 1], got {doc['w']}; fit the blend again")
    return doc


class RefinedPredictor:
    """Joint angles from the whole framework (angle net, orientation net, gyroscope refinement, blend).

    Parameters
    ----------
    angle_run, ori_run : path-like
        Run folders of an angle model and an orientation model of the same joint. The stage
        runs at the orientation model's rate (:attr:`fs`); an angle model of another rate sees
        its inputs resampled to its own and its angles resampled back.
    blend : path-like or dict, optional
        ``blend.json`` (or its folder, or the parsed dict); default ``ori_run/blend.json``.
        ``None`` with no file there raises; use :func:`fit_blend` first.
    config : OptimizeConfig, optional
        Optimiser settings; default the ones stored in the blend file (those it was fitted with).
    device : str
    """

    def __init__(self, angle_run: str | Path, ori_run: str | Path, blend: str | Path | dict | None = None,
                 config: OptimizeConfig | None = None, device: str = "cpu", _fitting: bool = False):
        self.angle = AnglePredictor(angle_run, device=device)
        self.orientation = OrientationPredictor(ori_run, device=device)
        if self.angle.joint != self.orientation.joint:
            raise ImukinError(f"the angle model is for the {self.angle.joint} but the orientation model for the "
                              f"{self.orientation.joint}; pass two runs of the same joint")
        self.joint = self.angle.joint
        self.activity = self.angle.activity
        self.fs = self.orientation.fs  # Hz, the rate of the orientation network, the optimiser and the blend
        if _fitting:
            self.blend = {"s": [1.0] * 3, "w": [0.0] * 3}
        else:
            self.blend = blend if isinstance(blend, dict) else read_blend(blend if blend is not None
                                                                         else Path(ori_run) / BLEND_FILE)
            self._check_models(angle_run, ori_run)
        stored = self.blend.get("optimizer") or {}
        known = {f.name for f in dataclasses.fields(OptimizeConfig)}
        self.config = config or OptimizeConfig(**{k: v for k, v in stored.items() if k in known})

    def _check_models(self, angle_run, ori_run) -> None:
        for key, run in (("angle_model", angle_run), ("orientation_model", ori_run)):
            want = self.blend.get(key, {}).get("weights_sha256")
            have = read_checkpoint_info(run)["weights"]["sha256"]
            if want is not None and want != have:
                raise ImukinError(f"the blend parameters were fitted with another {key.replace('_', ' ')} than "
                                  f"{run}; fit them again with fit_blend")

    def components(self, acc1, gyr1, acc2, gyr2, side: str, fs: float | None = None) -> dict:
        """Every stage's joint angles for one leg, (T, 3) degrees at the input rate.

        Returns
        -------
        dict
            ``angle_network`` (alpha), ``orientation_network`` (angles of the network's
            own relative orientation, its mean moved onto alpha's, unscaled),
            ``optimized`` (beta: angles of the refined relative orientation, raw sensor
            frames, with their mounting offset), ``refined`` (the blend of alpha and
            beta), and ``converged`` (bool).
        """
        signals, fs, n_in = _to_model_rate([acc1, gyr1, acc2, gyr2], fs, self.fs)
        x = side_inputs(*signals, side)  # (T, 16), mirrored for a left leg
        out = self.components_from_channels(x)
        if not same_rate(fs, self.fs):
            for k, v in out.items():
                if isinstance(v, np.ndarray):
                    out[k] = resample_to_length(v, self.fs, fs, n_in)
        return out

    def components_from_channels(self, x: np.ndarray, stage: dict | None = None) -> dict:
        """:meth:`components` from the 16 raw channels (T, 16) at the model's rate, already mirrored;
        ``stage``: :meth:`stage_from_channels` of the same channels, when it was run already."""
        x = np.asarray(x)
        acc1, gyr1, acc2, gyr2 = split_channels(np.asarray(x, float))  # each (T, 3)
        alpha = self._angle_outputs(x, (acc1, gyr1, acc2, gyr2))  # (T, 3)
        stage = stage if stage is not None else self.stage_from_channels(x)
        return {"angle_network": alpha,
                "orientation_network": apply_blend(alpha, stage["orientation_network"], np.ones(3), np.zeros(3)),
                "optimized": stage["optimized"],
                "refined": apply_blend(alpha, stage["optimized"], self.blend["s"], self.blend["w"]),
                "converged": stage["converged"]}

    def stage_from_channels(self, x: np.ndarray) -> dict:
        """What the stage gives without the angle network, from the 16 raw channels (T, 16) at the model's
        rate, already mirrored: ``optimized`` (beta, (T, 3) deg: angles of the refined relative orientation),
        ``orientation_network`` ((T, 3) deg: of the network's own), ``converged`` (bool)."""
        acc1, gyr1, acc2, gyr2 = split_channels(np.asarray(x, float))  # each (T, 3)
        r_net = self.orientation.rotations_from_channels(np.asarray(x))  # (T, 2, 3, 3)
        res = optimize_orientations(r_net[:, 0], r_net[:, 1], gyr1, gyr2, self.fs, acc1, acc2, config=self.config)
        # mirrored signals: the right-side convention gives imukin's angles for either leg
        return {"optimized": relative_rotation_to_angles(res.relative(), self.joint, "right"),  # (T, 3)
                "orientation_network": relative_rotation_to_angles(
                    np.swapaxes(r_net[:, 0], -1, -2) @ r_net[:, 1], self.joint, "right"),  # (T, 3)
                "converged": res.converged}

    def shares_stage_with(self, other) -> bool:
        """Whether ``other`` runs the very same stage (orientation weights, rate, joint, optimiser settings), so
        that one run of it serves both (:class:`RefinedMean`)."""
        return (isinstance(other, RefinedPredictor) and other.joint == self.joint and same_rate(other.fs, self.fs)
                and other.orientation.run_dir.resolve() == self.orientation.run_dir.resolve()
                and dataclasses.asdict(other.config) == dataclasses.asdict(self.config))

    def outputs_from_signals(self, acc1, gyr1, acc2, gyr2, side: str, progress: bool = False) -> np.ndarray:
        """Refined angles (T, 3) from signals (T, 3) each already at the model's rate (as
        :meth:`imukin.predictor.TrainedRun.outputs_from_signals`); ``progress`` is not shown."""
        return self.components_from_channels(side_inputs(acc1, gyr1, acc2, gyr2, side))["refined"]

    def _angle_outputs(self, x: np.ndarray, signals: tuple) -> np.ndarray:
        """The angle network's angles (T, 3) from channels (T, 16) at :attr:`fs` and the four (T, 3) signals
        they were made of, run at the network's own rate."""
        if same_rate(self.angle.fs, self.fs):
            return np.asarray(self.angle.outputs(x), float)
        # the signals, not the channels, are resampled (some channels are made from them), as predict does;
        # x is mirrored already, so it is run as a right leg
        signals = [resample(a, self.fs, self.angle.fs) for a in signals]  # 4 x (T_angle, 3)
        y = np.asarray(self.angle.outputs_from_signals(*signals, "right"), float)  # (T_angle, 3)
        return resample_to_length(y, self.angle.fs, self.fs, len(x))

    def predict(self, acc1, gyr1, acc2, gyr2, side: str, fs: float | None = None, progress: bool = False) -> np.ndarray:
        """Refined joint angles of one leg: (T, 3) ``[flexion, adduction, rotation]`` degrees at the input rate.

        Same inputs as :meth:`imukin.predictor.AnglePredictor.predict`.
        """
        return self.components(acc1, gyr1, acc2, gyr2, side, fs)["refined"]


class RefinedMean(MeanPredictor):
    """The mean of several refined predictors that share one stage (:meth:`RefinedPredictor.shares_stage_with`:
    ``imukin predict --model both --refine``): the orientation network and the optimiser run once, and each
    member blends its own angle network's output with that one result. The same numbers as
    :class:`imukin.predictor.MeanPredictor` of the members, for the time of one stage.

    Parameters
    ----------
    members : sequence of RefinedPredictor
        Refined predictors of one joint whose stages are the same.
    """

    def __init__(self, members):
        super().__init__(members)
        if not _one_stage(self.members):
            raise ImukinError("RefinedMean needs refined predictors with one orientation model and one optimiser "
                              "setting; average others with imukin.predictor.MeanPredictor")

    def outputs_from_signals(self, acc1, gyr1, acc2, gyr2, side: str, progress: bool | str = False) -> np.ndarray:
        """The members' mean refined angles (T, 3) from signals (T, 3) each at :attr:`fs`; ``progress`` is not
        shown."""
        x = side_inputs(acc1, gyr1, acc2, gyr2, side)  # (T, 16), mirrored for a left leg
        stage = self.members[0].stage_from_channels(x)
        return np.mean([m.components_from_channels(x, stage)["refined"] for m in self.members], axis=0)

    def predict(self, acc1, gyr1, acc2, gyr2, side: str, fs: float | None = None,
                progress: bool | str = False) -> np.ndarray:
        """One leg's mean refined angles, (T, 3) degrees at the input rate (arguments as
        :meth:`RefinedPredictor.predict`)."""
        signals, fs, n_in = _to_model_rate([acc1, gyr1, acc2, gyr2], fs, self.fs)
        y = self.outputs_from_signals(*signals, side)  # (T_model, 3)
        return y if same_rate(fs, self.fs) else resample_to_length(y, self.fs, fs, n_in)


def _one_stage(members: list) -> bool:
    """Whether ``members`` are refined predictors that all run the first one's stage."""
    first = members[0]
    return isinstance(first, RefinedPredictor) and all(first.shares_stage_with(m) for m in members)


def _mean_of(members: list):
    """The mean of ``members``' angles, one stage run for all where they share it (:class:`RefinedMean`)."""
    return RefinedMean(members) if _one_stage(members) else MeanPredictor(members)


def _run_label(run: str | Path) -> str:
    """A run folder as recorded in ``blend.json``: package-relative for shipped models, else as given."""
    path = Path(run).resolve()
    if path.parent == PRETRAINED_DIR.resolve():
        return f"pretrained/{path.name}"
    return str(run)


#: The shipped orientation model used by the pretrained optimisation stage.
PRETRAINED_ORIENTATION_MODEL = "cnn_ori"


def pretrained_refined(joint: str, activity: str, model: str = "cnn", device: str = "cpu") -> RefinedPredictor:
    """The whole framework from shipped weights: the pretrained angle ``model``, the shipped
    orientation network and the blend fitted for that pair (``blend.json`` beside the angle model).

    >>> p = pretrained_refined("knee", "walking")  # doctest: +SKIP
    >>> angles = p.predict(acc1, gyr1, acc2, gyr2, side="right", fs=100.0)  # doctest: +SKIP
    """
    angle_dir = pretrained_path(joint, activity, model)
    ori_dir = pretrained_path(joint, activity, PRETRAINED_ORIENTATION_MODEL)
    if not (angle_dir / BLEND_FILE).exists():
        raise ImukinError(f"no blend is shipped for the pretrained {activity} {joint} {model}; rebuild the "
                          "pretrained models with 'make pretrained' or pass --run and --ori-run")
    return RefinedPredictor(angle_dir, ori_dir, blend=angle_dir / BLEND_FILE, device=device)


def pretrained_predictor(joint: str, activity: str, model: str = "cnn", refine: bool = False, device: str = "cpu"):
    """The shipped predictor of a joint: the angle network ``model`` (``"cnn"``, ``"transformer"``, or
    ``"both"``: the mean of the two, :class:`imukin.predictor.MeanPredictor`), with ``refine`` the
    optimisation stage after it (for ``"both"``, after each network, then the mean).

    >>> p = pretrained_predictor("knee", "walking", "both", refine=True)  # doctest: +SKIP
    """
    if model == BOTH:
        return _mean_of([pretrained_predictor(joint, activity, m, refine, device) for m in PRETRAINED_MODELS])
    if refine:
        return pretrained_refined(joint, activity, model, device=device)
    return AnglePredictor.pretrained(joint, activity, model, device=device)


def with_both(predictors: dict) -> dict:
    """``predictors`` (as :func:`shipped_predictors` gives them) and, where every one of the shipped angle
    networks is among them, their mean: ``"both"`` (and ``"both+refined"`` from the ``+refined`` ones), made
    of the same loaded predictors."""
    out = dict(predictors)
    for suffix in ("", "+refined"):
        members = [predictors.get(f"{m}{suffix}") for m in PRETRAINED_MODELS]
        if all(p is not None for p in members):
            out[f"{BOTH}{suffix}"] = _mean_of(members)
    return out


def shipped_predictors(activity: str, joint: str, device: str = "cpu") -> dict:
    """Every shipped predictor of an activity and joint, by label: each angle model (``"cnn"``,
    ``"transformer"``) and, where its blend is shipped, the same with the optimisation stage
    (``"cnn+refined"``). Values are :class:`AnglePredictor` or :class:`RefinedPredictor`."""
    from imukin.pretrained import shipped_angle_models

    predictors = {}
    for run in shipped_angle_models(activity, joint):
        model = run.name.split("_", 2)[2]
        predictors[model] = AnglePredictor(run, device=device)
        if (run / BLEND_FILE).exists():
            predictors[f"{model}+refined"] = pretrained_refined(joint, activity, model, device=device)
    return predictors


def candidate_predictors(folder: str | Path, activity: str, joint: str, device: str = "cpu") -> dict:
    """Angle models trained but not shipped, to compare with the shipped ones: every run
    ``<folder>/<activity>_<joint>_<model>`` (orientation runs left out), labelled ``"new <model>"``."""
    return {f"new {run.name.split('_', 2)[2]}": AnglePredictor(run, device=device)
            for run in angle_runs(folder, activity, joint)}


def fit_blend(angle_run: str | Path, ori_run: str | Path, data_path: str | Path, split: str = "val",
              out_dir: str | Path | None = None, config: OptimizeConfig | None = None,
              split_seed: int | None = None, device: str = "cpu", max_sequences: int | None = None,
              exclude_subjects=()) -> dict:
    """Fit the per-axis blend on a split of a dataset and write ``blend.json``.

    Parameters
    ----------
    angle_run, ori_run : path-like
        Run folders of the angle and orientation models (same joint and rate).
    data_path : path-like
        Dataset HDF5 file in the reference layout, at the models' rate.
    split : {"val", "train", "test"}
        Subjects to fit on (the validation split by default; never the test split for
        reported results).
    out_dir : path-like, optional
        Where ``blend.json`` goes; default ``ori_run``.
    config : OptimizeConfig, optional
        Optimiser settings (stored in the file and used by :class:`RefinedPredictor`).
    split_seed : int, optional
        Subject split seed; default the angle run's.
    device : str
    max_sequences : int, optional
        Fit on at most this many legs of the split, spread evenly over it (six
        parameters need few; the optimiser costs about 0.3 s per minute of recording, 200 Hz).
    exclude_subjects : iterable of str
        Subject ids left out of the split before that, e.g. those the orientation model
        trained on when the angle model comes from a larger corpus of the same people.

    Returns
    -------
    dict
        The written parameters: ``s``, ``w`` (per axis), validation ``rmse_deg`` of the
        blend and ``rmse_alpha_deg`` of the angle network alone, provenance.
    """
    pred = RefinedPredictor(angle_run, ori_run, config=config, device=device, _fitting=True)
    if split_seed is None:
        split_seed = int(pred.angle.meta.get("train_config", {}).get("split_seed", 0))
    data = load_joint_data(data_path, pred.joint, split_seed=split_seed, splits=(split,), target="angle")
    if not same_rate(data.fs, pred.fs):
        raise ImukinError(f"{data_path} is at {data.fs:g} Hz but the models run at {pred.fs:g} Hz; fit the blend "
                          "on data of the models' rate")
    excluded = set(exclude_subjects) & {q.subject_id for q in data.sequences[split]}  # those the split holds
    seqs = [q for q in data.sequences[split] if q.subject_id not in excluded]
    if not seqs:
        raise ImukinError(f"{data_path} has no {split} sequences for the {pred.joint}"
                          f"{' beyond the excluded subjects' if excluded else ''}; simulate more subjects")
    if max_sequences is not None and len(seqs) > max_sequences:
        seqs = [seqs[i] for i in np.linspace(0, len(seqs) - 1, max_sequences).round().astype(int)]
    alphas, betas, refs, failed = [], [], [], 0
    for seq in seqs:
        c = pred.components_from_channels(seq.x)
        alphas.append(c["angle_network"])
        betas.append(c["optimized"])
        refs.append(np.asarray(seq.y, float))
        failed += not c["converged"]
    params = fit_blend_params(alphas, betas, refs)
    doc = {
        "format": BLEND_FORMAT, "format_version": BLEND_FORMAT_VERSION,
        "joint": pred.joint, "activity": pred.activity, "fs": pred.fs,
        "axes": list(ANGLE_AXES), "s": params["s"], "w": params["w"],
        "fit": {"split": split, "split_seed": split_seed, "data_file": str(data_path), "data_hash": data.data_hash,
                "n_sequences": len(seqs), "n_excluded_subjects": len(excluded),
                "n_frames": params["n_frames"], "n_not_converged": failed,
                "rmse_deg": params["rmse_deg"], "rmse_angle_network_deg": params["rmse_alpha_deg"]},
        "angle_model": {"run": _run_label(angle_run),
                        "weights_sha256": read_checkpoint_info(angle_run)["weights"]["sha256"]},
        "orientation_model": {"run": _run_label(ori_run),
                              "weights_sha256": read_checkpoint_info(ori_run)["weights"]["sha256"]},
        "optimizer": pred.config.to_dict(),
    }
    out = Path(out_dir) if out_dir is not None else Path(ori_run)
    write_text_atomic(out / BLEND_FILE, json.dumps(doc, indent=2) + "\n")
    return doc
