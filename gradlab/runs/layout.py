"""Where runs live and what they are called: the run root, run names, the file names a run
directory holds, and which directories are runs.

The lowest module of :mod:`gradlab.runs`: the others take these names from here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gradlab.errors import InputError, expand_user, longest_name, path_exists
from gradlab.names import STATUSES

FINAL_STATUSES = STATUSES[1:]
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
MODEL_FILE = "model.npz"  # a training run's final weights W1, b1, W2, b2, ...
DATA_FILE = "data.json"  # what a training run's data were: features, classes, standardisation
SWEEP_FILE = "sweep.yaml"  # a sweep's record: its directory also holds the run directories of its points
#: a run name, as it may stand in a directory name (also the schema's pattern for ``name``)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)

#: a run directory's name as :meth:`gradlab.runs.Run.create` makes it: ``<stamp>-<command>[-<name>]-<suffix>``
_DIR_NAME = re.compile(r"^(?P<stamp>\d{8}-\d{6})-(?P<command>[a-z]+)(?:-(?P<name>.+))?-[0-9a-f]{6}$")


def runs_root(out: str | os.PathLike | None = None) -> Path:
    """The directory new runs go into: ``out``, else ``$GRADLAB_RUNS``, else ``./runs``.

    ``~`` is expanded, as in a config's ``data.path``: a quoted ``--out '~/runs'`` made a directory
    named ``~`` in the current one. A variable of blanks is refused as ``--out '  '`` is.
    """
    variable = os.environ.get("GRADLAB_RUNS")
    if not out and variable and not variable.strip():
        raise InputError(f"$GRADLAB_RUNS: an empty path; name a directory (GRADLAB_RUNS=. for the current one), "
                         f"got {variable!r}")
    return expand_user(out or variable or "runs", root_source(out))


def check_root(out: str | os.PathLike | None = None) -> Path:
    """The run root (see :func:`runs_root`) if it is, or can be made, a writable directory.

    Nothing is created: commands call this before printing anything, so a bad ``--out``
    fails first, and :meth:`gradlab.runs.Run.create` makes the directory when the run starts.
    """
    root = runs_root(out)
    for existing in (root, *root.absolute().parents):
        what = "is" if existing == root else f"is inside {str(existing)!r}, which is"
        if path_exists(existing, root_source(out)):
            break
        if existing.is_symlink():  # a dangling one: mkdir would say only "File exists"
            raise InputError(f"{root_source(out)}: cannot create run root {str(root)!r}: it {what} a symbolic link "
                             f"to {os.readlink(existing)!r}, a path that does not exist")
    if not existing.is_dir():
        raise InputError(f"{root_source(out)}: cannot create run root {str(root)!r}: it {what} a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{root_source(out)}: cannot create run root {str(root)!r}: {str(existing)!r} is not writable")
    # the folders still to be made: a name too long for them was found by mkdir only, after the command's output
    longest = longest_name(existing)
    for part in root.absolute().parts[len(existing.absolute().parts):]:
        if len(part.encode()) > longest:
            raise InputError(f"{root_source(out)}: cannot create run root {str(root)!r}: a folder name of "
                             f"{len(part.encode())} bytes, where {str(existing)!r} takes at most {longest}")
    return root


def root_source(out: str | os.PathLike | None, option: str = "--out") -> str:
    """Where the run root came from, for messages: the option, the variable, or the default."""
    if out:
        return option
    return "$GRADLAB_RUNS" if os.environ.get("GRADLAB_RUNS") else "the default run root"


def check_name(name: str | None, field: str = "--name") -> str | None:
    """Accept a run name usable in a directory name: letters, digits, ``_ . -``, at most 64."""
    if name is None or _NAME.fullmatch(name):  # match: "$" also matched before a final newline
        return name
    raise InputError(
        f"{field} must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or digit), got {name!r}"
    )


def is_run_dir(path: Path, config_alone: bool = True) -> bool:
    """A directory named like a run, or holding a summary or config: what a listing considers.

    With ``config_alone=False`` a config.yaml by itself does not make a run: it marks a renamed run
    that never wrote its summary, but a user's own project folder may hold one too.
    """
    try:
        if not path.is_dir() or path.name.startswith("."):
            return False
        return bool(_DIR_NAME.match(path.name)) or (path / SUMMARY_FILE).exists() \
            or (config_alone and (path / CONFIG_FILE).exists())
    except OSError:  # a path the system refuses to look at (a name too long): no run of ours
        return False


def folder_entries(folder: Path, what: str) -> list[Path]:
    """What ``folder`` holds. A folder the system refuses to list (no read permission on it) is bad
    input, named with the reason: ``<what>: cannot list '<folder>': Permission denied`` (exit 2),
    where ``iterdir`` raised PermissionError, an internal error.
    """
    try:
        return list(folder.iterdir())
    except OSError as error:
        raise InputError(f"{what}: cannot list {str(folder)!r}: {error.strerror}") from None


def is_sweep_dir(path: Path) -> bool:
    """A directory holding a sweep's record (:data:`SWEEP_FILE`), whose points are run directories
    inside it; the one run directory that holds others. Hidden directories are none, as for :func:`is_run_dir`."""
    try:
        return not path.name.startswith(".") and (path / SWEEP_FILE).is_file()
    except OSError:  # a path the system refuses to look at: no sweep of ours
        return False


def enclosing_run(path: Path) -> Path | None:
    """The run directory that the file ``path`` would be written in (its folder or one above it), or None.

    A run's files are its record (``rerun`` and ``compare`` read them back), so commands that write a file
    where the user says refuse one inside a run. Only directories gradlab made count (named like a run,
    or holding a summary.json): a folder with the user's own config.yaml is no run.
    """
    folder = Path(path).absolute().parent.resolve()
    return next((d for d in (folder, *folder.parents) if is_run_dir(d, config_alone=False)), None)
