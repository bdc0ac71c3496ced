"""The exceptions gradlab raises on purpose.

The library raises these; only the CLI turns them into ``error: <message>`` and an
exit code. A message names the field or argument, the bad value and what is allowed,
e.g. ``optimizer.lr must be > 0, got -1``.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable


class GradlabError(Exception):
    """Base class of every error gradlab reports to the user.

    Attributes
    ----------
    exit_code : int
        The process exit code the CLI uses for this error.
    """

    exit_code = 1


class InputError(GradlabError, ValueError):
    """Bad input: an argument, a config value, an expression or a data file (exit 2)."""

    exit_code = 2


class ConfigError(InputError):
    """An experiment config that does not validate (exit 2)."""


class RunFailure(GradlabError):
    """Something went wrong while running a valid experiment (exit 1)."""

    exit_code = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a job scheduler, a CI timeout), raised where it lands so that every
    handler of Ctrl-C runs for it too: the run directory ends 'interrupted', not 'running'."""


class OutputClosed(KeyboardInterrupt):
    """Standard output's reader has gone (``gradlab train ... | head -1``). The command stops as
    Ctrl-C stops it, so a run directory ends ``interrupted`` with what was done, not ``failed``;
    the exit status is 141, that of a process ended by SIGPIPE."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""`` if none is close."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_choice(field: str, value: object, choices: Iterable[str]) -> InputError:
    """Build the error for a value outside a fixed set of names.

    Examples
    --------
    >>> str(unknown_choice("activation", "sigmod", ["relu", "sigmoid"]))
    "activation: unknown value 'sigmod' (did you mean 'sigmoid'?); choose from: relu, sigmoid"
    """
    choices = list(choices)
    return InputError(
        f"{field}: unknown value {value!r}{did_you_mean(str(value), choices)}; "
        f"choose from: {', '.join(choices)}"
    )


#: what is wrong with a number such as 1e309, which Python reads as inf
BEYOND_FLOAT64 = f"beyond the range of a float64 number (at most {sys.float_info.max:.4g} in size)"


def overflows_float(text: str, value: float) -> str | None:
    """Why the number written as ``text`` cannot be used, when reading it gave ``value`` = inf
    although the text does not say infinity (``1e309``); None otherwise.

    A message saying "got inf" about a number the user typed as 1e309 would name a value they
    never wrote.
    """
    if value in (float("inf"), float("-inf")) and "inf" not in text.lower():
        return f"{text.strip()} is {BEYOND_FLOAT64}"
    return None


def in_file(error: InputError, path: object) -> InputError:
    """``error`` with ``path`` named at the start of each of its lines (those naming it already
    are kept): for a file the user did not type, such as a run directory's config.yaml."""
    where = str(path)
    lines = [line if line.startswith(where) else f"{where}: {line}" for line in str(error).splitlines()]
    return type(error)("\n".join(lines))


def plural(count: int, noun: str) -> str:
    """``"1 training sample"``, ``"3 training samples"``: for messages that count things."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def path_exists(path: str | os.PathLike, what: str) -> bool:
    """``Path(path).exists()`` for a path the user gave as ``what`` (an option or argument, e.g.
    ``--out``); a path the system refuses to look up is bad input: ``--out: cannot use '<path>':
    File name too long`` (exit 2).

    Python 3.11's ``exists()`` raises OSError for a name too long (an internal error), and says
    False to a symlink loop, which a command then called "file not found".
    """
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as error:
        raise InputError(f"{what}: cannot use {str(path)!r}: {error.strerror}") from None
    return True


def expand_user(path: str | os.PathLike, what: str):
    """``Path(path).expanduser()``; a ``~someone`` this system knows no user of is bad input, where
    ``expanduser`` raises RuntimeError (an internal error)."""
    from pathlib import Path

    try:
        return Path(path).expanduser()
    except RuntimeError:
        raise InputError(f"{what}: cannot expand {str(path)!r}: no such user") from None


def longest_name(directory: str | os.PathLike) -> int:
    """The longest file name, in bytes, that ``directory``'s file system takes (255 where it cannot say)."""
    return os.pathconf(directory, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
