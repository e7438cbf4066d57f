"""Worker processes that never outlive the command that started them.

:func:`process_pool` is the one way imukin starts a pool of processes. Each worker runs
:func:`die_with_parent` first: on Linux the kernel sends it ``SIGKILL`` when its parent
dies (``prctl(PR_SET_PDEATHSIG)``), and on every system a daemon thread polls the parent
process id and exits when the parent is gone. So ``kill -9`` of ``imukin simulate``
leaves no orphan worker behind. Each worker also keeps its BLAS libraries to one thread:
the pool already runs one worker per core, and BLAS threads on top of that only wait for
each other (simulated running subjects took twice as long with them).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from threadpoolctl import threadpool_limits

_PR_SET_PDEATHSIG = 1
POLL_S = 0.5  # seconds between checks of the parent process


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() != parent:
            os._exit(1)


def die_with_parent() -> None:
    """Make this (worker) process exit when its parent process dies.

    Meant as the ``initializer`` of a process pool; safe to call anywhere.
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - unusual libc
            pass
    if os.getppid() != parent or parent == 1:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="imukin-parent-watch").start()


def _start_worker() -> None:
    """Initializer of every :func:`process_pool` worker."""
    die_with_parent()
    threadpool_limits(limits=1, user_api="blas")  # numpy's and scipy's own BLAS copies alike


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A :class:`~concurrent.futures.ProcessPoolExecutor` whose workers die with this process and run
    single-threaded BLAS."""
    return ProcessPoolExecutor(max_workers=workers, initializer=_start_worker)


__all__ = ["die_with_parent", "process_pool"]
