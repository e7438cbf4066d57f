"""Small JSON or TOML files a user writes by hand (sensor maps, marker maps, mountings, poses).

One reader for all of them: the format follows the suffix (``.toml`` is TOML, anything else
JSON), and a missing or unparsable file is one line naming the file and how to write it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from imukin.errors import ImukinError


def read_config_file(path: str | os.PathLike, what: str, how: str):
    """The parsed content of a user's JSON or TOML file, or one line saying what is wrong.

    Parameters
    ----------
    path : path-like
        The file; ``.toml`` files are read as TOML, all others as JSON.
    what : str
        What the file is, for the message (``"mounting file"``, ``"sensor map"``).
    how : str
        How to write it, appended to the message.

    Returns
    -------
    object
        The parsed content (usually a dict).

    Raises
    ------
    ImukinError
        The file does not exist or does not parse.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.toml"
    >>> _ = p.write_text('rthigh = "thigh.csv"')
    >>> read_config_file(p, "sensor map", "write {segment = file}")
    {'rthigh': 'thigh.csv'}
    """
    p = Path(path)
    if not p.is_file():
        raise ImukinError(f"{what} {p} does not exist; {how}")
    text = p.read_text(errors="replace")
    toml = p.suffix.lower() == ".toml"
    try:
        if toml:
            import tomllib

            return tomllib.loads(text)
        return json.loads(text)
    except ValueError as e:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ImukinError(f"{what} {p} is not valid {'TOML' if toml else 'JSON'} ({first}); {how}") from None
