"""Multi-process training with PyTorch DistributedDataParallel, launched by ``torchrun``.

``imukin train`` notices when ``torchrun`` started it (``WORLD_SIZE`` > 1 in the
environment), joins the process group (gloo on CPU, nccl on CUDA, one GPU per local
process) and trains one model with DDP::

    torchrun --standalone --nproc-per-node 2 $(which imukin) train --joint knee --data walk.h5 --out run
    # two machines: the same command on each, with --nnodes 2 --node-rank {0,1}
    #   --rdzv-backend c10d --rdzv-endpoint HOST:29500 instead of --standalone

How the work is shared: every process draws the same random global batch (same seed,
same augmentation) and keeps its own contiguous share of it; DDP averages the
gradients, so one step equals a single-process step on the whole batch. On GPUs,
batch normalisation layers become :class:`torch.nn.SyncBatchNorm`, so their statistics
are those of the whole batch too; PyTorch has no synchronous batch norm on CPU, so there
each process normalises with its own share's statistics (the running statistics are
rank 0's, which DDP broadcasts), and a CNN trained on several CPU processes differs from
a single-process one by that much. Models without batch norm (LSTM, transformer) match
to rounding. Validation sequences are shared out round-robin and the
squared errors summed over processes. Only rank 0 writes files (checkpoint, metrics,
resume state); on a restart rank 0 reads the resume state and sends it to the others,
so the run folder only has to exist on rank 0's machine.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as tdist

from imukin.errors import ImukinError


@dataclass
class DistContext:
    """Where this process sits in a (possibly single-process) training job."""

    rank: int = 0  # global rank of this process
    world_size: int = 1  # number of processes
    local_rank: int = 0  # rank on this machine (selects the GPU)

    @property
    def enabled(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes files and shows progress."""
        return self.rank == 0

    def share(self, n: int) -> slice:
        """This process's contiguous share of ``n`` items (``n`` must divide evenly)."""
        if n % self.world_size:
            raise ImukinError(f"batch size {n} does not split evenly over {self.world_size} processes; "
                              f"use a multiple of {self.world_size}")
        k = n // self.world_size
        return slice(self.rank * k, (self.rank + 1) * k)

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        """Sum a tensor over processes (identity for one process)."""
        if self.enabled:
            tdist.all_reduce(t, op=tdist.ReduceOp.SUM)
        return t

    def broadcast(self, obj):
        """Rank 0's Python object, on every process."""
        if not self.enabled:
            return obj
        box = [obj]
        tdist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            tdist.barrier()


def current_context() -> DistContext:
    """The context of an already initialised process group, else a single process."""
    if tdist.is_available() and tdist.is_initialized():
        return DistContext(tdist.get_rank(), tdist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistContext()


def launched_by_torchrun() -> bool:
    """True when ``torchrun`` started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_from_env(device: str = "cpu") -> DistContext:
    """Join the process group described by ``torchrun``'s environment variables.

    Parameters
    ----------
    device : str
        ``cpu`` uses the gloo backend; ``cuda`` uses nccl with GPU ``LOCAL_RANK``.

    Returns
    -------
    DistContext
        A single-process context when not launched by ``torchrun``.
    """
    if not launched_by_torchrun():
        return DistContext()
    if not tdist.is_available():
        raise ImukinError("this PyTorch build has no torch.distributed; install a standard PyTorch build")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ImukinError("device 'cuda' (--device cuda) under torchrun but no CUDA GPU is available; use 'cpu'")
        torch.cuda.set_device(local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
    if not tdist.is_initialized():
        tdist.init_process_group(backend=backend)
    return DistContext(tdist.get_rank(), tdist.get_world_size(), local_rank)


def shutdown() -> None:
    """Leave the process group (no-op when there is none)."""
    if tdist.is_available() and tdist.is_initialized():
        tdist.destroy_process_group()


def process_device(name: str, ctx: DistContext) -> str:
    """The device of this process: ``cuda`` becomes ``cuda:<local rank>`` under DDP."""
    if ctx.enabled and name == "cuda":
        return f"cuda:{ctx.local_rank}"
    return name


def wrap_model(model: torch.nn.Module, ctx: DistContext, device: torch.device) -> torch.nn.Module:
    """DDP-wrapped model (BatchNorm made synchronous on GPUs) for several processes, else the model itself."""
    if not ctx.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside a DDP wrapper."""
    return getattr(model, "module", model)
