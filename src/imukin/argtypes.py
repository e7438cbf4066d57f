"""Shared pieces of every ``imukin`` command line: option types, renamed options and the parser class.

Numeric options take one of the ``type=`` functions below, so a bad value (``--steps -5``,
``--fs nan``) is refused while the arguments are parsed, before anything is read or
written. :class:`ImukinArgumentParser` turns every argparse error into the one line
``imukin: error: ...`` with exit status 2, and prints help without reST markup.

Every command uses one word per idea: ``--fs`` for a rate in Hz, ``--out`` for what it
writes, ``--run`` for a run folder it reads, ``--subjects`` for a number of subjects
(``--subject-ids`` for a list of ids), ``--quiet``, and a unit suffix where the value has
one (``--duration-s``, ``--height-m``, ``--max-gap-s``). Older spellings stay accepted as
hidden aliases (:func:`add_option`): they parse as before but are not shown by ``--help``.

Examples
--------
>>> positive_int("3")
3
>>> positive_float("nan")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: expected a finite number greater than 0, got 'nan'
"""
from __future__ import annotations

import argparse
import math
import re
import sys
from typing import NoReturn


def _int(text: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _float(text: str) -> float:
    try:
        v = float(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    return v


def positive_int(text: str) -> int:
    """A whole number >= 1 (counts: steps, subjects, trials, frames)."""
    v = _int(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return v


def nonnegative_int(text: str) -> int:
    """A whole number >= 0 (seeds, indices, optional counts)."""
    v = _int(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 0, got {text!r}")
    return v


def finite_float(text: str) -> float:
    """Any finite number (no nan, no inf)."""
    v = _float(text)
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """A finite number > 0 (rates in Hz, durations, learning rates, heights)."""
    v = _float(text)
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number greater than 0, got {text!r}")
    return v


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    v = _float(text)
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number of at least 0, got {text!r}")
    return v


def unit_fraction(text: str) -> float:
    """A number in [0, 1] (weights, fractions)."""
    v = _float(text)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return v


_DEVICE = re.compile(r"(cpu|mps|cuda(:\d+)?)")


def device(text: str) -> str:
    """A torch device name: ``cpu``, ``cuda``, ``cuda:N`` (GPU number N) or ``mps``."""
    name = str(text).strip()
    if not _DEVICE.fullmatch(name):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda, cuda:N (a GPU number) or mps, got {text!r}")
    return name


positive_int.__name__ = "positive whole number"  # argparse names the type in "invalid <name> value"
nonnegative_int.__name__ = "whole number"
finite_float.__name__ = "number"
positive_float.__name__ = "positive number"
nonnegative_float.__name__ = "number"
unit_fraction.__name__ = "fraction"
device.__name__ = "device"

#: Plain ``type=int`` / ``type=float`` options are upgraded to these by :func:`harden_numeric_types`.
SAFE_DEFAULTS = {int: nonnegative_int, float: finite_float}

_REST = [(re.compile(r":(?:mod|func|class|meth|attr|data|obj|ref|doc):`~?([^`]+)`"), r"\1"),
         (re.compile(r"``([^`]+)``"), r"\1"),
         (re.compile(r"`([^`]+)`_?"), r"\1")]


def plain_text(text: str | None) -> str | None:
    """Strip reST roles and literal markup (``:mod:`x```, double back-ticks) from help text."""
    if not text:
        return text
    for pattern, repl in _REST:
        text = pattern.sub(repl, text)
    return text


class ImukinArgumentParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line ``imukin: error: ...`` (exit status 2).

    ``add_subparsers`` makes the subcommand parsers of the same class, so every
    subcommand behaves alike. Help is printed as plain text (reST markup removed).
    """

    def error(self, message: str) -> NoReturn:  # noqa: D102 - argparse API
        message = " ".join(str(message).split())  # one line, whatever argparse built
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        hint = f"; see 'imukin {command} --help'" if command else "; see 'imukin --help'"
        self.exit(2, f"imukin: error: {message}{hint}\n")

    def format_help(self) -> str:  # noqa: D102 - argparse API
        return plain_text(super().format_help())

    def format_usage(self) -> str:  # noqa: D102 - argparse API
        return plain_text(super().format_usage())


def add_option(parser, name: str, *, aliases: tuple[str, ...] = (), **kwargs) -> argparse.Action:
    """Add the option ``name`` to ``parser`` (or an argument group), also accepting the older
    spellings ``aliases``, which ``--help``, usage lines and error messages do not show.

    Parameters
    ----------
    parser : argparse.ArgumentParser or argument group
        Where the option goes (a mutually exclusive group works too).
    name : str
        The option's one visible spelling, e.g. ``"--out"``; the destination is derived from
        it (``args.out``) unless ``dest`` is given.
    aliases : tuple of str
        Older spellings parsed exactly like ``name`` (same type, checks, ``required``).
    **kwargs
        Passed on to ``add_argument``.

    Returns
    -------
    argparse.Action
        The option's action; ``action.option_strings`` is ``[name]``.

    Examples
    --------
    >>> p = ImukinArgumentParser(prog="imukin harmonize")
    >>> _ = add_option(p, "--fs", aliases=("--freq",), type=positive_float, default=200.0)
    >>> p.parse_args(["--freq", "100"]).fs
    100.0
    >>> "--freq" in p.format_help()
    False
    """
    action = parser.add_argument(name, *aliases, **kwargs)
    action.option_strings = [name]  # the parser still maps every alias to this action
    return action


def hidden_aliases(parser: argparse.ArgumentParser) -> dict[str, str]:
    """The older spellings ``parser`` accepts without showing them: ``{alias: visible option}``."""
    return {string: action.option_strings[0] for string, action in parser._option_string_actions.items()
            if string not in action.option_strings}


def harden_numeric_types(parser: argparse.ArgumentParser) -> None:
    """Give every option of ``parser`` and its subcommands that still has a plain ``int`` or
    ``float`` type a safe one (:data:`SAFE_DEFAULTS`: no negative counts, no nan/inf).

    A safety net for options added without one of this module's types.
    """
    for action in parser._actions:
        if action.type in SAFE_DEFAULTS:
            action.type = SAFE_DEFAULTS[action.type]
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                harden_numeric_types(sub)


def print_error(message: str) -> None:
    """Print ``imukin: error: <message>`` as one line on stderr."""
    print(f"imukin: error: {' '.join(str(message).split())}", file=sys.stderr)


__all__ = ["positive_int", "nonnegative_int", "finite_float", "positive_float", "nonnegative_float",
           "unit_fraction", "device", "plain_text", "ImukinArgumentParser", "add_option", "hidden_aliases",
           "harden_numeric_types", "print_error"]
