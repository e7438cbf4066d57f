"""Output paths of the commands: checked before any work, created late, cleaned up after a failure.

Every command that writes takes its output path through these helpers, so a path that
is an existing file, a folder that cannot be written, or a failure half-way all end in
one :class:`~imukin.errors.ImukinError` line and leave nothing new behind.

* :func:`check_output_dir` / :func:`check_output_file`: refuse a bad destination before
  any work (nothing is created).
* :func:`prepare_output_dir`: check, then create the folder.
* :func:`cleanup_on_error`: a context manager that removes the folders it saw created,
  if they are still empty when an exception leaves the block.
* :func:`describe_os_error`: one line for an :class:`OSError` (used by ``imukin``'s
  ``main()`` for write failures nobody foresaw, e.g. a disk that fills up).
"""
from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from imukin.errors import ImukinError


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _writable_dir(d: Path) -> bool:
    if not os.access(d, os.W_OK | os.X_OK):
        return False
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return True
    # root passes every access() test; a read-only mount still refuses, so probe it
    try:
        fd = os.open(d, os.O_RDONLY)
        try:
            st = os.fstatvfs(fd)
        finally:
            os.close(fd)
        return not st.f_flag & os.ST_RDONLY
    except OSError:
        return True


def check_output_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Refuse an output folder that cannot be used, without creating anything.

    Parameters
    ----------
    path : path-like
        The folder a command will write into (it may exist, or not yet).
    option : str
        Name of the command-line option, for the message.

    Returns
    -------
    Path

    Raises
    ------
    ImukinError
        The path is an existing file, lies below a file, or below a folder this process
        cannot write to.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ImukinError(f"{option} {path} is an existing file, not a folder; pass a folder path "
                          "(it is created if missing)")
    _check_writable_below(path, _nearest_existing(path), option, "pass a folder path")
    return path


def check_output_file(path: str | os.PathLike, option: str = "--out") -> Path:
    """Refuse an output file path that cannot be written, without creating anything.

    Raises
    ------
    ImukinError
        The path is a folder, its parent is a file, or the parent folder is not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise ImukinError(f"{option} {path} is a folder; pass a file path")
    _check_writable_below(path, _nearest_existing(path.parent), option, "pass a path in a folder")
    return path


def _check_writable_below(path: Path, base: Path, option: str, fix: str) -> None:
    """Refuse ``path`` when its nearest existing ancestor ``base`` is a file (``fix`` says what to
    pass instead) or a folder imukin cannot write to."""
    if not base.is_dir():
        raise ImukinError(f"{option} {path} lies below the file {base}; {fix}")
    if not _writable_dir(base):
        raise ImukinError(f"{option} {path}: cannot write to {base} (read-only or no permission); "
                          "choose a writable folder")


def prepare_output_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check an output folder (see :func:`check_output_dir`) and create it."""
    path = check_output_dir(path, option)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ImukinError(describe_os_error(e)) from None
    return path


@contextlib.contextmanager
def cleanup_on_error(*paths: str | os.PathLike) -> Iterator[None]:
    """Remove the given folders (and their new parents) on an exception, if they were created
    inside the block and are still empty.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "report"
    >>> try:
    ...     with cleanup_on_error(d):
    ...         d.mkdir()
    ...         raise ValueError("bad input")
    ... except ValueError:
    ...     pass
    >>> d.exists()
    False
    """
    fresh = []
    for p in paths:
        p = Path(p).absolute()
        chain = []
        while not p.exists() and p != p.parent:
            chain.append(p)
            p = p.parent
        fresh.append(chain)  # deepest first
    try:
        yield
    except BaseException:
        for chain in fresh:
            for p in chain:
                with contextlib.suppress(OSError):
                    p.rmdir()  # only succeeds when empty
        raise


def describe_os_error(e: OSError) -> str:
    """One line for an operating-system error: which path, what went wrong, what to do."""
    where = e.filename if e.filename is not None else "a file"
    if e.filename2 is not None:
        where = f"{e.filename} -> {e.filename2}"
    what = e.strerror or str(e) or type(e).__name__
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "choose a writable location"
    elif e.errno == errno.EEXIST or e.errno == errno.ENOTDIR:
        hint = "a file is in the way of a folder; choose another path"
    elif e.errno == errno.EISDIR:
        hint = "a folder is in the way of a file; choose another path"
    elif e.errno == errno.ENOSPC:
        hint = "free some space and run the command again (it continues where it can)"
    else:
        hint = "check the path"
    return f"{where}: {what}; {hint}"


__all__ = ["check_output_dir", "check_output_file", "prepare_output_dir", "cleanup_on_error", "describe_os_error"]
