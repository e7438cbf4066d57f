"""Export trained models to ONNX for deployment without imukin or PyTorch.

An exported model takes the **raw** 16 input channels of
:data:`imukin.conventions.CHANNELS` (accelerometer in m/s^2, gyroscope in rad/s, the
two norms included, left-leg signals mirrored as
:func:`imukin.conventions.side_inputs` does) at the model's rate ``fs`` and
returns its outputs in physical units (degrees for angle models): the z-scoring of
the inputs and the scaling of the outputs (``normalization`` in ``model.json``) are
part of the graph. Input ``imu`` (batch, time, 16) float32, output ``angles`` (or
``orientation``) (batch, time, K) float32.

Both architectures shipped have a **dynamic time axis**: the CNN maps any length
(each output frame sees ``receptive_field`` input frames); the transformer is exported
through an equivalent forward pass (:class:`_ExportableTransformer`) whose patch
padding and rotary tables are computed in the graph, so it also takes any length,
though its outputs are only as good as in training on windows of about
``window`` frames. A long recording is therefore run the way :mod:`imukin.inference`
does it: windows of ``windowing["window"]`` frames, overlapping by
``windowing["overlap"]``, blended with a Hann taper (``windowing["margin"]`` edge frames
of a CNN window get no weight where a neighbour covers them). These settings are in the
JSON sidecar written beside each model (:func:`sidecar`).

>>> from imukin.export import export_model                        # doctest: +SKIP
>>> export_model("knee.onnx", model="cnn", joint="knee")          # doctest: +SKIP
[PosixPath('knee.onnx'), PosixPath('knee.json')]
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from imukin._version import __version__
from imukin.conventions import CHANNELS
from imukin.errors import ImukinError
from imukin.io.atomic import atomic_path
from imukin.pretrained import shipped_kinds  # the --model names of the shipped models (cnn, cnn_ori, ...)

#: Export formats known to :func:`export_run`.
FORMATS = ("onnx",)
#: Name of the graph's input and, per target, of its output.
INPUT_NAME = "imu"
OUTPUT_NAMES = {"angle": "angles", "orientation": "orientation"}
SIDECAR_FORMAT = "imukin-onnx"
SIDECAR_VERSION = 1
_ORI_OUTPUTS = tuple(f"{seg}_col{c}_{ax}" for seg in ("segment1", "segment2") for c in (0, 1) for ax in "xyz")


# ---------------------------------------------------------------- graph modules
class _ExportableTransformer(nn.Module):
    """The forward pass of :class:`imukin.models.transformer.Transformer`, written so that
    ``torch.export`` keeps the time axis dynamic (same weights, same numbers).

    The original pads a length that is not a multiple of ``patch`` under a Python ``if``
    and reads rotary tables from a cache of fixed length; both would be frozen into
    the graph at the example's length. Here the padding (last frame repeated) is a
    gather with clamped indices and the rotary angles are computed from the token
    positions in float64, as :class:`imukin.models.rotary.RotaryEmbedding` builds them.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.patch = int(model.config.patch)
        attn = model.blocks[0].attn
        self.n_heads, self.head_dim = attn.n_heads, attn.head_dim
        self.register_buffer("inv_freq", attn.rotary.inv_freq(), persistent=False)  # (D/2,) float64

    def _rope(self, n: torch.Tensor | int, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pos = torch.arange(n, device=ref.device).to(torch.float64)  # (N,)
        freqs = pos[:, None] * self.inv_freq[None, :]  # (N, D/2)
        angles = torch.cat([freqs, freqs], dim=-1)  # (N, D)
        return angles.cos().to(torch.float32), angles.sin().to(torch.float32)

    def _attention(self, attn: nn.Module, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        from imukin.models.rotary import apply_rotary

        B, N, C = x.shape
        qkv = attn.qkv(x).view(B, N, 3, self.n_heads, self.head_dim)  # (B, N, 3, H, Dh)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, H, N, Dh)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=attn.causal)  # (B, H, N, Dh)
        return attn.proj(y.transpose(1, 2).reshape(B, N, C))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) normalised inputs -> (B, T, out_dim) normalised outputs."""
        m, p = self.model, self.patch
        B, T, C = x.shape
        n = (T + p - 1) // p  # tokens
        idx = torch.clamp(torch.arange(n * p, device=x.device), max=T - 1)  # last frame repeated
        h = m.embed(x.index_select(1, idx).reshape(B, n, p * C))  # (B, N, d_model)
        cos, sin = self._rope(n, x)
        for block in m.blocks:
            h = h + self._attention(block.attn, block.ln1(h), cos, sin)
            h = h + block.ffn(block.ln2(h))
        y = m.head(m.ln_f(h))  # (B, N, out_dim * p)
        return y.reshape(B, n * p, -1)[:, :T]  # (B, T, out_dim)


class PhysicalUnits(nn.Module):
    """A model with its normalisation folded in: raw channels in, physical units out.

    ``y = core((x - x_mean) / x_std) * y_std + y_mean`` with the statistics of a run's
    ``model.json`` (``meta["normalization"]``) stored as float32 constants.

    Parameters
    ----------
    core : nn.Module
        The network, (B, T, 16) normalised -> (B, T, K) normalised, in eval mode.
    norm : imukin.normalization.Normalizer
        The run's normalisation.
    """

    def __init__(self, core: nn.Module, norm) -> None:
        super().__init__()
        self.core = core
        for name in ("x_mean", "x_std", "y_mean", "y_std"):
            self.register_buffer(name, torch.as_tensor(np.asarray(getattr(norm, name), np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, 16) raw channels -> (B, T, K) physical outputs."""
        return self.core((x - self.x_mean) / self.x_std) * self.y_std + self.y_mean


def deployable_module(run) -> nn.Module:
    """The module that is exported for a loaded run: normalisation folded in, time axis dynamic.

    Parameters
    ----------
    run : imukin.predictor.TrainedRun
        A loaded run (angle or orientation).

    Returns
    -------
    nn.Module
        In eval mode; maps raw (B, T, 16) float32 to physical (B, T, K).
    """
    return PhysicalUnits(_exportable(run.model), run.norm).eval()


class _MeanOf(nn.Module):
    """An ensemble's exportable form: the mean of its members' exportable forms."""

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, out_dim)
        return torch.stack([m(x) for m in self.members]).mean(0)  # (M, B, T, out) -> (B, T, out)


def _exportable(model: nn.Module) -> nn.Module:
    """A network in a form whose time axis stays dynamic in the exported graph."""
    from imukin.models.ensemble import Ensemble
    from imukin.models.transformer import Transformer

    if isinstance(model, Ensemble):
        return _MeanOf([_exportable(m) for m in model.members])
    return _ExportableTransformer(model) if isinstance(model, Transformer) else model


# ---------------------------------------------------------------- runs and names
def shipped_models() -> list[str]:
    """Names of the shipped models, ``<activity>_<joint>_<model>`` (e.g. ``walking_knee_cnn_ori``)."""
    from imukin.pretrained import PRETRAINED_DIR

    return sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / "model.json").is_file())


def shipped_path(model: str, joint: str, activity: str) -> Path:
    """Folder of the shipped ``model`` (``cnn``, ``transformer``, ``cnn_ori``) of a joint and activity."""
    from imukin.conventions import ACTIVITIES, JOINT_NAMES, check_choice
    from imukin.pretrained import PRETRAINED_DIR

    check_choice("joint", joint, JOINT_NAMES)
    check_choice("activity", activity, ACTIVITIES)
    kinds = shipped_kinds()
    if model not in kinds:
        raise ImukinError(f"unknown model {model!r}; shipped models: {', '.join(kinds)} (or --run RUN_DIR)")
    path = PRETRAINED_DIR / f"{activity}_{joint}_{model}"
    if not (path / "model.json").is_file():
        raise ImukinError(f"no shipped {model} for {activity} {joint}; shipped: {', '.join(shipped_models())}")
    return path


def _load_run(run_dir: str | os.PathLike):
    """A run folder loaded for export (angle or orientation), with one-line errors."""
    from imukin.io.model_folder import read_checkpoint_info
    from imukin.predictor import TrainedRun

    info = read_checkpoint_info(run_dir)  # ImukinError for a folder that is not a run
    meta = info.get("meta", {})
    missing = [k for k in ("normalization", "fs") if k not in meta]
    if missing:
        raise ImukinError(f"{run_dir} is not a trained run: its model.json has no {', '.join(missing)}; "
                          "export a folder written by 'imukin train --out'")
    return TrainedRun(run_dir, target=meta.get("target", "angle"))


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ImukinError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return fmt


def sidecar_path(out: str | os.PathLike) -> Path:
    """The sidecar beside an exported model: ``knee.onnx`` -> ``knee.json``."""
    return Path(out).with_suffix(".json")


def check_export_file(out: str | os.PathLike, fmt: str = "onnx") -> Path:
    """Refuse an output path for one model before any work (nothing is created).

    Raises
    ------
    ImukinError
        Unknown format, a path that is a folder, lies below a file, is not writable, or
        does not end in ``.onnx``.
    """
    from imukin.io.paths import check_output_file

    _check_format(fmt)
    out = Path(out)
    if out.is_dir():
        raise ImukinError(f"out {out} (--out) is an existing folder; pass a file path such as {out / 'model.onnx'} "
                          "(or --all to export every shipped model into a folder)")
    if out.suffix != f".{fmt}":
        raise ImukinError(f"out {out} (--out) must end in .{fmt} (the sidecar "
                          f"{sidecar_path(out.with_suffix('.' + fmt)).name}"
                          " is written beside it)")
    return check_output_file(out)


# ---------------------------------------------------------------- export
@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's notices (missing torchvision ops, deprecations) during an export."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export", "torch.fx",
                                              "torch._dynamo", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)


def _onnx_program(module: nn.Module, target: str, example_len: int, dynamic: bool):
    """torch.onnx (dynamo) export of ``module``; the ONNXProgram."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401  (the dynamo exporter needs it)
    except ImportError as exc:
        raise ImukinError(f"ONNX export needs the packages onnx and onnxscript ({exc.name} is missing); "
                          "install them with: pip install 'imukin[export]'") from None
    x = torch.randn(2, int(example_len), len(CHANNELS), dtype=torch.float32)
    shapes = {"x": {0: torch.export.Dim("batch", min=1), 1: torch.export.Dim("time", min=1)}} if dynamic else None
    with _quiet_exporter(), torch.no_grad():
        try:
            return torch.onnx.export(module, (x,), None, dynamo=True, input_names=[INPUT_NAME],
                                     output_names=[OUTPUT_NAMES[target]], dynamic_shapes=shapes,
                                     external_data=False, verbose=False)
        except Exception as exc:  # the exporter raises many kinds; one line says which model failed
            first = " ".join(str(exc).split())[:300]
            raise ImukinError(f"torch.onnx could not export this model ({type(exc).__name__}: {first})") from None


def _name_dynamic_axes(prog, k: int, example_len: int) -> None:
    """Declare the output (batch, time, K) like the input, and drop intermediate shapes that hold the
    example's length (the exporter's fallback for an LSTM annotates them; ONNX Runtime infers them anew)."""
    import onnx_ir as ir

    for node in prog.model.graph:
        for value in node.outputs:
            if value.shape is not None and any(d == example_len for d in value.shape):
                value.shape = None
    for value in prog.model.graph.outputs:
        value.shape = ir.Shape(["batch", "time", int(k)])


def sidecar(run, model_file: str | os.PathLike, opset: int | None = None, dynamic: bool = True,
            source: str | None = None) -> dict:
    """The JSON facts an application needs to run an exported model.

    Parameters
    ----------
    run : imukin.predictor.TrainedRun
        The loaded run.
    model_file : path-like
        The exported model file (its name and SHA-256 are stored).
    opset : int, optional
        ONNX opset of the graph.
    dynamic : bool
        Whether the time axis is dynamic.
    source : str, optional
        Where the model came from (shipped name or run folder).

    Returns
    -------
    dict
        ``channels``, ``fs``, ``window``, ``joint``, ``activity``, ``target``, ``outputs``,
        ``units``, ``input``/``output`` (names, shapes, dtype), ``windowing`` (how
        imukin runs it over a long recording), ``receptive_field``, ``imukin_version``.
    """
    from imukin.inference import inference_windowing

    target = run.meta.get("target", "angle")
    k = run.model.out_dim
    if target == "angle":
        outputs = list(run.meta.get("outputs") or ("flexion", "adduction", "rotation"))
        units = "deg"
    else:
        outputs = list(_ORI_OUTPUTS)
        units = "1 (6D rotation: first two columns of each segment's rotation matrix, heading-free; " \
                "Gram-Schmidt gives the matrix, see imukin.models.orientation)"
    model_file = Path(model_file)
    return {
        "format": SIDECAR_FORMAT,
        "format_version": SIDECAR_VERSION,
        "model_file": model_file.name,
        "sha256": hashlib.sha256(model_file.read_bytes()).hexdigest(),
        "source": source or str(run.run_dir),
        "model_name": run.model.model_name,
        "joint": run.joint,
        "activity": run.activity,
        "target": target,
        "fs": float(run.fs),
        "window": int(run.window),
        "channels": list(CHANNELS),
        "channel_units": ["m/s^2" if "_acc_" in c else "rad/s" for c in CHANNELS],
        "channel_notes": "raw sensor-frame signals of segment 1 (proximal) then segment 2 (distal); the *_norm "
                         "channels are the vector norms; left-leg signals mirrored as "
                         "imukin.conventions.side_inputs; normalisation is inside the graph",
        "outputs": outputs,
        "units": units,
        "input": {"name": INPUT_NAME, "shape": ["batch", "time" if dynamic else int(run.window), len(CHANNELS)],
                  "dtype": "float32"},
        "output": {"name": OUTPUT_NAMES[target], "shape": ["batch", "time" if dynamic else int(run.window), k],
                   "dtype": "float32"},
        "dynamic_time": bool(dynamic),
        "receptive_field": getattr(run.model, "receptive_field", None),
        "causal": bool(getattr(run.model.config, "causal", False)),  # output at t from inputs up to t (streaming)
        "windowing": {**inference_windowing(run.model, run.window), "taper": "hann",
                      "note": "how imukin.inference.predict_windows runs the model over a long recording"},
        "opset": opset,
        "exporter": f"torch.onnx dynamo (torch {torch.__version__.split('+')[0]})",
        "imukin_version": __version__,
    }


def export_run(run_dir: str | os.PathLike, out: str | os.PathLike, fmt: str = "onnx",
               source: str | None = None) -> list[Path]:
    """Export one run folder (or shipped model folder) to ONNX with its JSON sidecar.

    Parameters
    ----------
    run_dir : path-like
        Folder with ``model.json`` and ``model.safetensors`` (angle or orientation run).
    out : path-like
        The ``.onnx`` file to write; the sidecar goes beside it (``.json``). Both are
        written atomically.
    fmt : {"onnx"}
        Export format.
    source : str, optional
        Name stored as ``source`` in the sidecar (default: the folder).

    Returns
    -------
    list of Path
        The model file and the sidecar.

    Raises
    ------
    ImukinError
        Unknown format, a bad output path, a folder that is not a run, missing export
        packages, or a model the exporter cannot handle.
    """
    out = check_export_file(out, fmt)
    run = _load_run(run_dir)
    module = deployable_module(run)
    example_len = max(int(run.window), 64) + 1  # odd: the transformer's patch padding is traced too
    prog = _onnx_program(module, run.meta.get("target", "angle"), example_len, dynamic=True)
    _name_dynamic_axes(prog, run.model.out_dim, example_len)
    opset = prog.model.opset_imports.get("")
    side = sidecar_path(out)
    with atomic_path(out) as tmp_model, atomic_path(side) as tmp_side:
        prog.save(tmp_model, external_data=False)
        doc = sidecar(run, tmp_model, opset=opset, dynamic=True, source=source)
        doc["model_file"] = out.name
        tmp_side.write_text(json.dumps(doc, indent=2) + "\n")
    return [out, side]


def export_model(out: str | os.PathLike, model: str = "cnn", joint: str = "knee", activity: str = "walking",
                 run: str | os.PathLike | None = None, fmt: str = "onnx") -> list[Path]:
    """Export a shipped model (or a trained ``run``) to ``out``; see :func:`export_run`.

    Parameters
    ----------
    out : path-like
        The ``.onnx`` file.
    model : str
        Shipped model kind: ``cnn``, ``transformer`` or ``cnn_ori`` (ignored with ``run``).
    joint, activity : str
        Which shipped model (ignored with ``run``).
    run : path-like, optional
        A trained run folder instead of a shipped model.
    fmt : {"onnx"}
        Export format.

    Returns
    -------
    list of Path
        The model file and its sidecar.
    """
    check_export_file(out, fmt)
    if run is not None:
        return export_run(run, out, fmt)
    path = shipped_path(model, joint, activity)
    return export_run(path, out, fmt, source=path.name)


def export_all(out_dir: str | os.PathLike, fmt: str = "onnx", progress: bool = False) -> list[Path]:
    """Export every shipped model (angle and ``_ori`` orientation models) into ``out_dir``.

    Files are ``<activity>_<joint>_<model>.onnx`` with a ``.json`` sidecar each.

    Returns
    -------
    list of Path
        All files written.
    """
    from imukin.io.paths import check_output_dir
    from imukin.pretrained import PRETRAINED_DIR

    _check_format(fmt)
    out_dir = check_output_dir(out_dir)
    written = []
    for name in shipped_models():
        written += export_run(PRETRAINED_DIR / name, out_dir / f"{name}.{fmt}", fmt, source=name)
        if progress:
            print(f"{name} -> {out_dir / name}.{fmt}")
    return written


__all__ = ["FORMATS", "PhysicalUnits", "deployable_module", "shipped_models", "shipped_kinds", "shipped_path",
           "check_export_file", "sidecar", "sidecar_path", "export_run", "export_model", "export_all"]
