"""Joint angles in real time from IMU samples as they arrive (the engine of ``imukin stream``).

>>> from imukin.streaming import StreamConfig, StreamingEngine          # doctest: +SKIP
>>> engine = StreamingEngine(StreamConfig(fs=100.0, mounting="report.json"))   # doctest: +SKIP
>>> out = engine.push(samples)     # (n, 6 * segments) -> angles of every joint for those samples  # doctest: +SKIP

How it works
------------
Each joint runs a **causal** network (shipped as ``<activity>_<joint>_cnn_causal``): its
output at sample ``t`` depends on samples up to ``t`` only, never later ones, so an angle
can be given as soon as its sample has arrived. The causal CNN pads every convolution on
the left only; the engine keeps, per convolution layer, its last ``(kernel - 1) * dilation``
input frames (together one receptive field, 1.2 s for the shipped models) and runs each new
sample (or small chunk) through the layers once, on that history. Nothing is recomputed, so
the cost per sample does not grow with the length of the stream, and the angles equal those of
the same causal model run offline over the whole recording (to float32 rounding: within 1e-4 deg).

Before the network, each sample goes through the same steps as in :func:`imukin.predict`:
the sensor's mounting rotation (``v_segment = r_mount @ v_sensor``), mirroring of left legs
(:func:`imukin.conventions.side_inputs`), the 16 channels of
:data:`imukin.conventions.CHANNELS`, and the normalisation stored in the checkpoint.

Mounting
--------
Either known (``mounting=``: a JSON file as ``imukin predict`` writes in ``report.json``, or
``{segment: 3x3 matrix or {"euler_zxy_deg": [z, x, y]}}``), or found from a warm-up: the
first ``warmup_s`` seconds (walking) are kept, each sensor's mounting is found from them as
``imukin predict`` finds it (:func:`imukin.preprocessing.align.align_segment`: gait, refined
by standing where the warm-up holds some), and then the warm-up's samples run through the
network at once: their angles come out late, together, and every later one on time.
``align="none"`` takes the sensor frames as the segment frames.

Rate
----
The models run at their own rate (100 Hz for the shipped causal models). A stream at another
rate is refused: changing the rate causally would add the anti-aliasing filter's delay to
every angle. Resample at the source, or train a causal model at the stream's rate.

Channel layout (LSL and :meth:`StreamingEngine.push`)
-----------------------------------------------------
Input: one sample = 6 values per sensor, sensors one after another in the order given
(``StreamConfig.segments``; by default those the joints need, in
:data:`imukin.conventions.SEGMENTS` order, i.e. pelvis, rthigh, lthigh, rshank, lshank,
rfoot, lfoot): ``<segment>_acc_x, _acc_y, _acc_z`` in m/s^2, then ``<segment>_gyr_x, _gyr_y,
_gyr_z`` in rad/s, in the sensor's own frame (:func:`input_channels`). Output: 3 values per
joint, joints in :data:`imukin.conventions.JOINTS` order (rhip, lhip, rknee, lknee, rankle,
lankle; those predicted): ``<joint>_flexion, _adduction, _rotation`` in degrees, imukin's
signs (:func:`output_channels`). A missing value (NaN) holds the sensor's last good sample.

Sensors that saturate
---------------------
Every sample is watched for channels cut flat at the sensor's range
(:class:`imukin.preprocessing.saturation.SaturationWatch`, as :func:`imukin.predict` finds them over a
recording); :attr:`StreamingEngine.notes` names such sensors. Unlike :func:`imukin.predict`, the stream
leaves cut gyroscope peaks as they are: putting one back needs the samples after it, which a causal
stream does not wait for.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from imukin.conventions import (
    ACTIVITIES,
    ANGLE_AXES,
    JOINT_NAMES,
    JOINTS,
    SEGMENTS,
    SIDES,
    check_choice,
    check_rate,
    joint_name,
    joint_segments,
    rates_agree,
    side_inputs,
)
from imukin.errors import ImukinError
from imukin.preprocessing.saturation import SaturationWatch, saturation_notes

#: Values per sensor in an input sample, in order (m/s^2, then rad/s; the sensor's own frame).
SENSOR_CHANNELS = ("acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z")
#: Shipped model the engine uses by default (``<activity>_<joint>_<model>``).
DEFAULT_STREAMING_MODEL = "cnn_causal"
ALIGN_MODES = ("auto", "none")
#: Shortest warm-up (s) the mounting is looked for in: about two strides.
MIN_WARMUP_S = 2.0


def input_channels(segments) -> list[str]:
    """Names of an input sample's values: ``<segment>_<acc|gyr>_<x|y|z>``, 6 per sensor, sensors in the given order.

    >>> input_channels(["rthigh"])
    ['rthigh_acc_x', 'rthigh_acc_y', 'rthigh_acc_z', 'rthigh_gyr_x', 'rthigh_gyr_y', 'rthigh_gyr_z']
    """
    return [f"{seg}_{c}" for seg in segments for c in SENSOR_CHANNELS]


def output_channels(joints) -> list[str]:
    """Names of an output sample's values: ``<joint>_<flexion|adduction|rotation>`` (degrees), 3 per joint.

    >>> output_channels(["rknee"])
    ['rknee_flexion', 'rknee_adduction', 'rknee_rotation']
    """
    return [f"{j}_{ax}" for j in joints for ax in ANGLE_AXES]


def segments_from_channels(labels) -> list[str]:
    """The sensors of a stream whose channels are labelled as :func:`input_channels` names them.

    Raises
    ------
    ImukinError
        When the labels are not that layout (the message shows the expected one).
    """
    labels = [str(s) for s in labels]
    if len(labels) % len(SENSOR_CHANNELS):
        raise ImukinError(f"the stream's {len(labels)} channel labels are not 6 per sensor; label them "
                          f"{', '.join(input_channels(['rthigh']))}, ... (see imukin.streaming)")
    segs = [labels[i].rsplit("_", 2)[0] for i in range(0, len(labels), len(SENSOR_CHANNELS))]
    if labels != input_channels(segs) or any(s not in SEGMENTS for s in segs) or len(set(segs)) != len(segs):
        raise ImukinError(f"the stream's channel labels ({', '.join(labels[:6])}{', ...' if len(labels) > 6 else ''}) "
                          f"are not imukin's layout <segment>_acc_x ... <segment>_gyr_z, 6 per sensor, segments "
                          f"from {', '.join(SEGMENTS)}; relabel the stream or give the sensors with --segments")
    return segs


@dataclass
class StreamConfig:
    """What to stream and how. Only ``fs`` has no default."""

    fs: float  # Hz, rate of the incoming samples; must equal the models' rate (100 Hz for the shipped ones)
    joints: tuple = JOINT_NAMES  # joint types to predict (each on the sides below whose two sensors are present)
    sides: tuple = SIDES  # legs
    segments: tuple | None = None  # sensors in an input sample, in order; None: those the joints need
    activity: str = "walking"  # which shipped models
    model: str = DEFAULT_STREAMING_MODEL  # shipped model name, <activity>_<joint>_<model> (must be causal)
    runs: dict = field(default_factory=dict)  # joint type -> run folder of a causal model, instead of the shipped one
    mounting: object = None  # known mountings: report.json of imukin predict, {segment: 3x3} or a JSON file of it
    align: str = "auto"  # "auto": find unknown mountings from the warm-up; "none": sensor frame = segment frame
    warmup_s: float = 10.0  # s of walking the mounting is found from (when not known); angles start after it
    device: str = "cpu"  # torch device

    def __post_init__(self) -> None:
        self.fs = check_rate(self.fs, "the stream's rate")
        check_choice("activity", self.activity, ACTIVITIES)
        check_choice("align", self.align, ALIGN_MODES)
        self.joints = tuple(self.joints)
        self.sides = tuple(self.sides)
        for j in self.joints:
            check_choice("joint", j, JOINT_NAMES)
        for s in self.sides:
            check_choice("side", s, SIDES)
        if not self.joints or not self.sides:
            raise ImukinError("no joint or no side asked for; name at least one joint (hip, knee, ankle) and side")
        if self.segments is not None:
            self.segments = tuple(self.segments)
            for seg in self.segments:
                check_choice("segment", seg, SEGMENTS)
            if len(set(self.segments)) != len(self.segments):
                raise ImukinError(f"a segment is named twice in {', '.join(self.segments)}; name each sensor once")
        if not (np.isfinite(self.warmup_s) and self.warmup_s >= MIN_WARMUP_S):
            raise ImukinError(f"the warm-up must be at least {MIN_WARMUP_S:g} s of walking (about two strides), "
                              f"got {self.warmup_s}")


@dataclass
class StreamOutput:
    """Angles for a run of consecutive input samples.

    Attributes
    ----------
    first : int
        Index of the first of them in the stream (0 = the first sample pushed).
    angles : ndarray, shape (n, 3 * joints)
        Degrees, columns as :attr:`StreamingEngine.output_channels`; ``n`` may be 0.
    """

    first: int
    angles: np.ndarray

    def __len__(self) -> int:
        return len(self.angles)

    @property
    def index(self) -> np.ndarray:
        """Stream index of each row, (n,)."""
        return self.first + np.arange(len(self.angles))


def _is_causal_cnn(model) -> bool:
    return getattr(model, "family", None) == "cnn" and getattr(getattr(model, "config", None), "causal", False)


class CausalCNNState:
    """A causal CNN run sample by sample: per convolution layer, the last ``(kernel - 1) * dilation`` inputs.

    Zeros at the start stand for the left padding of the offline model, so the outputs are the
    offline ones. Call :meth:`step` with new frames; each frame passes every layer once. An
    ensemble of causal CNNs (:mod:`imukin.models.ensemble`) runs each member so and gives their
    mean, as the ensemble does offline.

    Parameters
    ----------
    model : imukin.models.cnn.CNN or imukin.models.ensemble.Ensemble
        A CNN with ``config.causal`` True, or an ensemble of such CNNs (put in eval mode here).
    batch : int
        Independent streams run together (e.g. the two legs of a joint).
    """

    def __init__(self, model, batch: int = 1):
        members = list(model.members) if getattr(model, "family", None) == "ensemble" else [model]
        if not all(_is_causal_cnn(m) for m in members):
            name = getattr(model, "model_name", type(model).__name__)
            causal = all(getattr(getattr(m, "config", None), "causal", False) for m in members)
            raise ImukinError(f"streaming needs a causal CNN (a cnn with causal=True, e.g. the shipped cnn_causal, "
                              f"or an ensemble of them); got {name}{'' if causal else ' (not causal)'}")
        self.model = model.eval()
        self.members = members
        p = next(model.parameters())
        self.history = [[torch.zeros(batch, blk.conv.in_channels, blk.left_pad, dtype=p.dtype, device=p.device)
                         for blk in m.blocks] for m in members]  # per member, per layer (B, C_in, left_pad)

    @property
    def receptive_field(self) -> int:
        """Frames each output depends on (this one and ``receptive_field - 1`` before it)."""
        return int(self.model.receptive_field)

    @torch.inference_mode()
    def step(self, x: torch.Tensor) -> torch.Tensor:
        """New normalised frames (B, n, in_channels) -> the model's outputs for them (B, n, out_dim)."""
        out = [self._member_step(m, hist, x) for m, hist in zip(self.members, self.history)]  # M x (B, n, out_dim)
        return out[0] if len(out) == 1 else torch.stack(out).mean(0)  # (B, n, out_dim)

    @staticmethod
    def _member_step(model, history: list, x: torch.Tensor) -> torch.Tensor:
        """One causal CNN over new frames (B, n, in_channels) -> (B, n, out_dim); ``history`` is updated."""
        h = x.transpose(1, 2)  # (B, C_in, n)
        for i, blk in enumerate(model.blocks):
            h = torch.cat([history[i], h], dim=2)  # (B, C_in, left_pad + n)
            history[i] = h[:, :, h.shape[2] - blk.left_pad:]  # (B, C_in, left_pad): the next frames' past
            h = blk.step(h)  # (B, C_out, n)
        return model.head(h.transpose(1, 2))  # (B, n, C) -> (B, n, out_dim)


class _JointStream:
    """One joint type's causal model, run on its legs together (batch = legs)."""

    def __init__(self, run_dir: Path, joint: str, sides: list[str], device: str):
        from imukin.predictor import AnglePredictor

        self.predictor = AnglePredictor(run_dir, device=device)
        self.label = Path(run_dir).name
        if self.predictor.joint not in (None, joint):
            raise ImukinError(f"the model {self.label} is for the {self.predictor.joint}, not the {joint}")
        self.joint, self.sides = joint, sides
        self.state = CausalCNNState(self.predictor.model, batch=len(sides))
        self.segments = [joint_segments(joint, s) for s in sides]  # per leg (proximal, distal)
        norm = self.predictor.norm
        self.x_mean, self.x_std = norm.x_mean.astype(np.float32), norm.x_std.astype(np.float32)  # (16,)
        self.y_mean, self.y_std = norm.y_mean.astype(np.float32), norm.y_std.astype(np.float32)  # (3,)

    def step(self, acc: dict, gyr: dict) -> np.ndarray:
        """Segment-frame signals {segment: (n, 3)} -> angles (legs, n, 3) in degrees."""
        x = np.stack([side_inputs(acc[p], gyr[p], acc[d], gyr[d], side)
                      for side, (p, d) in zip(self.sides, self.segments)])  # (legs, n, 16)
        x = (x - self.x_mean) / self.x_std  # (legs, n, 16) normalised
        y = self.state.step(torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(self.predictor.device))
        return y.to("cpu").numpy() * self.y_std + self.y_mean  # (legs, n, 3) degrees


class StreamingEngine:
    """Joint angles of every asked joint for each sample (or chunk) pushed, from causal networks.

    Parameters
    ----------
    cfg : StreamConfig

    Attributes
    ----------
    segments : list of str
        Sensors of an input sample, in order (:attr:`input_channels` names the values).
    joints : list of str
        Joints predicted (``rknee``, ...), in :data:`imukin.conventions.JOINTS` order.
    models : dict of str -> str
        Per joint, the model folder's name.
    mounting : dict of str -> dict
        Per segment the mounting used (as in ``report.json``); filled once it is known.

    Raises
    ------
    ImukinError
        Unknown joints or segments, sensors missing for every asked joint, a model that is not
        causal or runs at another rate than ``cfg.fs``, a bad mounting file.
    """

    def __init__(self, cfg: StreamConfig):
        self.cfg = cfg
        pairs = [(j, s) for j in JOINT_NAMES if j in cfg.joints for s in SIDES if s in cfg.sides]
        if cfg.segments is None:
            self.segments = sorted({seg for j, s in pairs for seg in joint_segments(j, s)}, key=SEGMENTS.index)
        else:
            self.segments = list(cfg.segments)
            have = set(self.segments)
            kept = [(j, s) for j, s in pairs if set(joint_segments(j, s)) <= have]
            if not kept:
                need = sorted({seg for j, s in pairs for seg in joint_segments(j, s)} - have, key=SEGMENTS.index)
                raise ImukinError(f"the stream's sensors ({', '.join(self.segments)}) give none of the joints asked "
                                  f"for; missing {', '.join(need)} (hip needs pelvis + thigh, knee thigh + shank, "
                                  "ankle shank + foot)")
            pairs = kept
        self._col = {seg: i for i, seg in enumerate(self.segments)}
        self._streams: list[_JointStream] = []
        for joint in JOINT_NAMES:
            sides = [s for j, s in pairs if j == joint]
            if sides:
                self._streams.append(_JointStream(self._model_dir(joint), joint, sides, cfg.device))
        self.joints = [joint_name(js.joint, s) for js in self._streams for s in js.sides]
        order = [j for j in JOINTS if j in self.joints]
        self._order = [self.joints.index(j) for j in order]  # engine order -> JOINTS order
        self.joints = order
        self.models = {joint_name(js.joint, s): js.label for js in self._streams for s in js.sides}
        for js in self._streams:
            fs_model = js.predictor.fs
            if not rates_agree(cfg.fs, fs_model):
                raise ImukinError(f"the stream is at {cfg.fs:g} Hz but the model {js.label} runs at {fs_model:g} Hz; "
                                  f"stream at {fs_model:g} Hz (resample at the source) or use a causal model trained "
                                  f"at {cfg.fs:g} Hz (--run)")
        self.fs = cfg.fs
        self.needed = sorted({seg for js in self._streams for pd in js.segments for seg in pd}, key=SEGMENTS.index)
        self._r = {}  # segment -> (3, 3) r_mount, float32
        self.mounting: dict[str, dict] = {}
        self._notes: list[str] = []  # the warm-up's report lines
        self._saturation = SaturationWatch(self.segments)  # channels cut flat at their range, over the stream
        from imukin.api import given_mounting, parse_mounting

        known = parse_mounting(cfg.mounting) if cfg.mounting is not None else {}
        for seg in self.needed:
            given = given_mounting(seg, known, cfg.align)
            if given is not None:
                self._set_mount(seg, given)
        self.warmup_frames = round(cfg.warmup_s * cfg.fs)
        self._pending: list[np.ndarray] = []  # warm-up samples, (n, 6 * segments) each
        self._n_in = 0  # samples pushed
        self._n_out = 0  # samples whose angles were given
        self._last = np.zeros(len(self.segments) * len(SENSOR_CHANNELS), np.float32)  # last good value per channel
        self.n_held = 0  # input values that were NaN and held the last good one

    # ------------------------------------------------------------ set-up
    def _model_dir(self, joint: str) -> Path:
        if joint in self.cfg.runs:
            return Path(self.cfg.runs[joint])
        from imukin.pretrained import pretrained_path

        return pretrained_path(joint, self.cfg.activity, self.cfg.model)

    def _set_mount(self, seg: str, al) -> None:
        self._r[seg] = np.asarray(al.r_mount, np.float32)
        self.mounting[seg] = al.as_dict()

    @property
    def input_channels(self) -> list[str]:
        """Names of an input sample's values (6 per sensor)."""
        return input_channels(self.segments)

    @property
    def output_channels(self) -> list[str]:
        """Names of an output sample's values (3 per joint, degrees)."""
        return output_channels(self.joints)

    @property
    def ready(self) -> bool:
        """Whether every needed sensor's mounting is known (else samples wait for the warm-up to end)."""
        return all(seg in self._r for seg in self.needed)

    @property
    def receptive_field(self) -> int:
        """Samples each angle depends on (the widest of the joints' models)."""
        return max(js.state.receptive_field for js in self._streams)

    @property
    def notes(self) -> list[str]:
        """Report lines so far: the warm-up's (mountings, strides) and each sensor whose channels saturated."""
        segments = dict.fromkeys(self.needed)  # saturation_notes reads only the names: the sensors in use
        return self._notes + [f"{note} (a stream gives each angle as its sample arrives, so it cannot put cut "
                              "gyroscope peaks back: imukin predict on the recorded file does)"
                              for note in saturation_notes(segments, segments, self._saturation.found())]

    @property
    def saturated(self) -> list[tuple[str, str]]:
        """The (segment, "accelerometer" or "gyroscope") pairs found cut at their range so far."""
        return [(seg, what) for seg, signals in self._saturation.found().items() for what in signals
                if seg in self.needed]

    @property
    def n_pushed(self) -> int:
        """Samples pushed so far."""
        return self._n_in

    # ------------------------------------------------------------ streaming
    def push(self, samples) -> StreamOutput:
        """Add samples; get the angles that are ready.

        Parameters
        ----------
        samples : array_like, shape (n, 6 * len(segments)) or (6 * len(segments),)
            Consecutive samples at ``cfg.fs`` in the layout of :attr:`input_channels`.

        Returns
        -------
        StreamOutput
            The angles of these samples (once the mounting is known); during the warm-up none,
            and when it ends those of every warm-up sample at once.
        """
        x = np.asarray(samples, np.float32)
        if x.ndim == 1:
            x = x[None]
        n_ch = len(self._last)
        if x.ndim != 2 or x.shape[1] != n_ch:
            raise ImukinError(f"a sample must hold {n_ch} values ({len(self.segments)} sensors x 6: "
                              f"{', '.join(self.input_channels[:6])}, ...), got shape {x.shape}")
        x = self._hold(x)
        self._saturation.push_columns(x)  # the input layout is the watch's: per sensor acc xyz, gyr xyz
        self._n_in += len(x)
        if not self.ready:
            self._pending.append(x)
            if self._n_in < self.warmup_frames:  # every sample pushed so far is pending
                return StreamOutput(self._n_out, np.zeros((0, 3 * len(self.joints)), np.float32))
            return self._end_warmup()
        return self._run(x)

    def push_segments(self, acc: dict, gyr: dict) -> StreamOutput:
        """:meth:`push` with signals per sensor: ``acc``/``gyr`` ``{segment: (n, 3)}`` (m/s^2, rad/s)."""
        missing = [s for s in self.segments if s not in acc or s not in gyr]
        if missing:
            raise ImukinError(f"no signals for {', '.join(missing)}; the stream needs {', '.join(self.segments)}")
        cols = [np.column_stack([np.asarray(acc[s], np.float32).reshape(-1, 3),
                                 np.asarray(gyr[s], np.float32).reshape(-1, 3)]) for s in self.segments]
        return self.push(np.concatenate(cols, axis=1))  # (n, 6 * segments)

    def finish(self) -> StreamOutput:
        """End of the stream: a warm-up still waiting is used as it is (at least ``MIN_WARMUP_S``)."""
        if self.ready or not self._pending:
            return StreamOutput(self._n_out, np.zeros((0, 3 * len(self.joints)), np.float32))
        n = self._n_in  # all pending
        if n < MIN_WARMUP_S * self.fs:
            raise ImukinError(f"the stream ended after {n / self.fs:.1f} s, before the sensors' mountings could be "
                              f"found (that needs {self.cfg.warmup_s:g} s of walking); stream longer, or give the "
                              "mountings (--mounting report.json)")
        return self._end_warmup()

    def _hold(self, x: np.ndarray) -> np.ndarray:
        """NaN (or inf) values take the channel's last good value (zero before any arrived): (n, C) -> (n, C)."""
        bad = ~np.isfinite(x)
        if not bad.any():
            self._last = x[-1].copy()
            return x
        x = x.copy()
        for i in range(len(x)):  # rare: only rows with a missing value reach here
            b = bad[i]
            x[i, b] = self._last[b]
            self._last[~b] = x[i, ~b]
        self.n_held += int(bad.sum())
        return x

    def _end_warmup(self) -> StreamOutput:
        """The mountings from the pending warm-up samples, then those samples' angles."""
        x = np.concatenate(self._pending)  # (n, C)
        self._find_mounting(x)
        if not self.cfg.runs:  # the shipped models: say where the strides lie outside those they learnt from
            from imukin.preprocessing.gait_speed import stride_notes

            self._notes += stride_notes(*self._sensor_signals(x.astype(float)), self.fs, self.cfg.activity)
        self._pending = []
        return self._run(x)

    def _sensor_signals(self, x: np.ndarray) -> tuple[dict, dict]:
        """Samples ``x`` (n, C) as each needed sensor's ``{segment: (n, 3)}`` acc and gyr (views, sensor frames)."""
        cols = {seg: 6 * self._col[seg] for seg in self.needed}
        return ({seg: x[:, c:c + 3] for seg, c in cols.items()}, {seg: x[:, c + 3:c + 6] for seg, c in cols.items()})

    def _find_mounting(self, x: np.ndarray) -> None:
        """Each unknown mounting from the warm-up samples ``x`` (n, C), as imukin predict finds it."""
        from imukin.api import leg_chain_signs, segment_mounting

        acc, gyr_all = self._sensor_signals(x.astype(float))
        found, gyr, notes = {}, {}, []
        for seg in self.needed:
            if seg in self._r:
                continue
            found[seg], seg_notes = segment_mounting(acc[seg], gyr_all[seg], self.fs, seg, self.cfg.activity,
                                                     where=f" (the first {len(x) / self.fs:.1f} s)",
                                                     hint="; walk during the warm-up, or give the mountings "
                                                          "(--mounting report.json)")
            gyr[seg] = gyr_all[seg]
            notes += seg_notes
        self._notes += leg_chain_signs(found, gyr, self.fs, self.cfg.activity, notes)
        for seg, al in found.items():
            self._set_mount(seg, al)

    def _run(self, x: np.ndarray) -> StreamOutput:
        """Mounted, mirrored, normalised samples (n, C) through every joint's model -> StreamOutput."""
        acc, gyr = self._sensor_signals(x)
        acc = {seg: a @ self._r[seg].T for seg, a in acc.items()}  # (n, 3) segment frames
        gyr = {seg: g @ self._r[seg].T for seg, g in gyr.items()}
        per_joint = [js.step(acc, gyr) for js in self._streams]  # each (legs, n, 3)
        y = np.concatenate(per_joint, axis=0)  # (joints, n, 3) in engine order
        y = y[self._order].transpose(1, 0, 2).reshape(len(x), -1)  # (n, 3 * joints) in JOINTS order
        out = StreamOutput(self._n_out, y.astype(np.float32, copy=False))
        self._n_out += len(x)
        return out


def replay_schedule(n: int, fs: float, speed: float, start: float | None = None):
    """Yield ``(start, stop)`` runs of samples of a recording that are due, pacing a replay at ``speed`` x real time.

    Sample ``i`` is due at ``start + i / (fs * speed)`` (``time.perf_counter`` seconds); the generator
    sleeps until the next sample is due and then yields every sample due by then, so a slow consumer
    gets larger chunks rather than falling further behind.

    Parameters
    ----------
    n : int
        Samples in the recording.
    fs : float
        Its rate in Hz.
    speed : float
        Times real time (2: twice as fast).
    start : float, optional
        ``time.perf_counter()`` at which sample 0 is due (default: now).

    Yields
    ------
    (int, int)
        ``[start, stop)`` sample indices, consecutive and together covering ``0 .. n``.
    """
    t0 = time.perf_counter() if start is None else start
    rate = fs * speed
    i = 0
    while i < n:
        due = t0 + i / rate
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
            now = time.perf_counter()
        j = min(n, max(i + 1, int(np.floor((now - t0) * rate)) + 1))
        yield i, j
        i = j


__all__ = [
    "DEFAULT_STREAMING_MODEL",
    "SENSOR_CHANNELS",
    "CausalCNNState",
    "StreamConfig",
    "StreamOutput",
    "StreamingEngine",
    "input_channels",
    "output_channels",
    "replay_schedule",
    "segments_from_channels",
]
