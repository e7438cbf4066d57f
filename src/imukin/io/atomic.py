"""Atomic writes: a file appears complete or not at all, and a good old one is never clobbered.

The temporary file sits beside the destination as ``.NAME.tmp-<pid>-<random><suffix>``
(hidden, named after the writing process). A writer killed with ``kill -9`` cannot remove
it, so the next :func:`atomic_path` into the same folder removes the temporaries of writers
that no longer run (:func:`remove_stale_temporaries`). The finished file gets the usual
permissions of a new file (``0666`` less the umask), not the temporary file's ``0600``.
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Parameters
    ----------
    path : path-like
        Final destination. Its parent folder is created if missing.
    suffix : str, optional
        Suffix of the temporary file (defaults to the destination's, so writers
        that look at the extension behave).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_path(os.path.join(d, "x.npy")) as tmp:
    ...     np.save(tmp, np.zeros(3))
    >>> sorted(os.listdir(d))
    ['x.npy']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    # The temporary name keeps the destination's suffix (np.save, h5py and savefig look at it).
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-",
                               suffix=suffix if suffix is not None else path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


_TMP_NAME = re.compile(r"^\..+\.tmp-(\d+)-[A-Za-z0-9_]+")


def current_umask() -> int:
    """The process's file-mode creation mask (read without changing it where the system allows)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of :func:`atomic_path` writers that no longer run.

    Only files named ``.NAME.tmp-<pid>-...`` whose process is gone are removed, so
    temporaries of live writers (this or other processes) are left alone.

    Returns
    -------
    list of Path
        The files removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        m = _TMP_NAME.match(e.name)
        if m and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                if e.is_dir(follow_symlinks=False):
                    import shutil

                    shutil.rmtree(e.path)
                else:
                    os.unlink(e.path)
                removed.append(Path(e.path))
    return removed
