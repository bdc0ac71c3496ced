"""Run directories: one per computing command, complete or clearly marked.

Layout of ``<root>/<UTC yyyymmdd-HHMMSS>-<command>[-<name>]-<suffix>/``::

    config.yaml    the fully resolved parameters, enough to re-run it
    metrics.csv    one row per step/epoch, flushed row by row
    summary.json   status, final values, timings, versions, the command line
    *.png, *.csv   plots and the numbers they show

``summary.json`` is written when the run starts (status ``running``) and rewritten
atomically when it ends with one of ``completed``, ``diverged``, ``interrupted`` or
``failed``. The root is ``--out``, else ``$GRADLAB_RUNS``, else ``./runs``.

Reading back: :func:`resolve_run` finds the run a command was given (a path, or any
unique part of a run's name); :func:`inspect_run` and :func:`list_runs` describe run
directories, damaged or half-written ones included (they are reported, never raised);
:func:`read_config`, :func:`read_summary`, :func:`read_metrics` read the files, refusing a
damaged one with an InputError that names it (:func:`read_last_metrics_row` the last row of a
metrics file, from its ends), and :func:`compare_metrics` finds the first difference between
two metrics files.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import platform
import re
import secrets
import shlex
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import numpy as np

from gradlab import __version__
from gradlab.errors import InputError, RunFailure
from gradlab.names import LISTING_STATUSES, RUN_COMMANDS, STATUSES

FINAL_STATUSES = STATUSES[1:]
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
#: a run name, as it may stand in a directory name (also the schema's pattern for ``name``)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)


def runs_root(out: str | os.PathLike | None = None) -> Path:
    """The directory new runs go into: ``out``, else ``$GRADLAB_RUNS``, else ``./runs``."""
    return Path(out or os.environ.get("GRADLAB_RUNS") or "runs")


def check_root(out: str | os.PathLike | None = None) -> Path:
    """The run root (see :func:`runs_root`) if it is, or can be made, a writable directory.

    Nothing is created: commands call this before printing anything, so a bad ``--out``
    fails first, and :meth:`Run.create` makes the directory when the run starts.
    """
    root = runs_root(out)
    existing = next(p for p in (root, *root.absolute().parents) if p.exists())
    if not existing.is_dir():
        what = "is" if existing == root else f"is inside {str(existing)!r}, which is"
        raise InputError(f"{_root_source(out)}: cannot create run root {str(root)!r}: it {what} a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{_root_source(out)}: cannot create run root {str(root)!r}: {str(existing)!r} is not writable")
    return root


def _root_source(out: str | os.PathLike | None) -> str:
    """Where the run root came from, for messages: the option, the variable, or the default."""
    if out:
        return "--out"
    return "$GRADLAB_RUNS" if os.environ.get("GRADLAB_RUNS") else "the default run root"


def check_name(name: str | None, field: str = "--name") -> str | None:
    """Accept a run name usable in a directory name: letters, digits, ``_ . -``, at most 64."""
    if name is None or _NAME.match(name):
        return name
    raise InputError(
        f"{field} must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or digit), got {name!r}"
    )


def to_plain(value: Any) -> Any:
    """Convert NumPy scalars/arrays, tuples, paths and dates to plain YAML/JSON-friendly values."""
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, date):  # YAML reads 2026-01-01 as a date (a hand-edited config): JSON has none
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)  # JSON has no inf/nan; keep them readable and loadable
    return value


def versions() -> dict[str, str]:
    return {"gradlab": __version__, "numpy": np.__version__, "python": platform.python_version()}


#: what a failed write of a file we create says: a full disk, a quota, a read-only or failing device
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES,
                           errno.EPERM})


def write_failure(error: OSError, path: str | os.PathLike) -> RunFailure:
    """The error to report when writing ``path`` failed: ``cannot write <path>: <strerror>`` (exit 1).

    A failure while running, not bad input: the command's inputs were fine, the disk was not.
    """
    return RunFailure(f"cannot write {path}: {error.strerror or error}")


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[TextIO]:
    """A text file to write ``path`` through: readers see the old file or the whole new one.

    The text goes to a temporary file beside ``path`` (same directory, so the rename is atomic),
    which replaces ``path`` when the block ends; if anything fails, the temporary file is removed
    and ``path`` is left as it was.

    Raises
    ------
    RunFailure
        Writing failed (a full disk): ``cannot write <path>: <strerror>``, see :func:`write_failure`.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException as error:
        with suppress(OSError):
            tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise write_failure(error, path) from error
        raise


def _write_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as handle:
        handle.write(text)


def write_yaml(path: Path, data: Mapping[str, Any]) -> None:
    from gradlab.config import dump_yaml

    _write_atomic(path, dump_yaml(to_plain(data)))


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    _write_atomic(path, json.dumps(to_plain(data), indent=2, allow_nan=False) + "\n")


class MetricsLog:
    """A CSV file with fixed columns, flushed after every row so a crash loses nothing.

    Parameters
    ----------
    path : Path
        The file to create.
    columns : sequence of str
        Column names, in order; rows may leave some out (written as empty cells).
    """

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self.columns = list(columns)
        try:
            self._file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.columns)
            self._file.flush()
        except OSError as error:
            raise write_failure(error, path) from error
        self.rows = 0

    def append(self, row: Mapping[str, Any]) -> None:
        unknown = set(row) - set(self.columns)
        if unknown:
            raise KeyError(f"metrics row has columns not in the header: {sorted(unknown)}")
        try:
            self._writer.writerow([_cell(row.get(c)) for c in self.columns])
            self._file.flush()
        except OSError as error:  # a flush fails without a file name: name it here
            raise write_failure(error, self.path) from error
        self.rows += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same float
    return value


class Run:
    """A run directory being written. Use as a context manager around the computation.

    On leaving the ``with`` block the summary is finalised: ``completed`` unless
    :meth:`finish` set another status, ``interrupted`` on Ctrl-C, ``failed`` on an
    exception (which is re-raised).
    """

    def __init__(self, path: Path, command: str, name: str | None, argv: Sequence[str]) -> None:
        self.path = path
        self.id = path.name
        self.command = command
        self.name = name
        self.argv = list(argv)
        self.started = time.time()
        self._clock = time.perf_counter()
        self.summary: dict[str, Any] = {}
        self._status: str | None = None
        self._logs: list[MetricsLog] = []
        self._ended = False

    @classmethod
    def create(
        cls,
        command: str,
        config: Mapping[str, Any],
        *,
        name: str | None = None,
        out: str | os.PathLike | None = None,
        argv: Sequence[str] | None = None,
        reproduce: str | None = None,
    ) -> Run:
        """Create a fresh, uniquely named run directory holding ``config.yaml`` and a ``running`` summary.

        Call it only after the inputs are validated, so bad input leaves nothing behind.
        ``reproduce`` is the command line that re-runs it; ``{run}`` in it is replaced
        by the run directory.
        """
        if command not in RUN_COMMANDS:  # a new command must be listed in gradlab.names, for `gradlab runs --command`
            raise ValueError(f"{command!r} is not one of RUN_COMMANDS {RUN_COMMANDS}")
        check_name(name)
        root = check_root(out)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"{_root_source(out)}: cannot create run root {str(root)!r}: {error.strerror}") from None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        stem = "-".join(filter(None, (stamp, command, name)))
        while True:  # mkdir is atomic: two processes can never get the same directory
            path = root / f"{stem}-{secrets.token_hex(3)}"
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
            except OSError as error:  # a full disk has no room for one more directory entry
                raise write_failure(error, path) from None
        try:
            return cls._begin(path, command, name, argv, config, reproduce)
        except BaseException:  # Ctrl-C, or a full disk, before the summary exists: leave nothing half made
            shutil.rmtree(path, ignore_errors=True)
            raise

    @classmethod
    def _begin(cls, path: Path, command: str, name: str | None, argv: Sequence[str] | None,
               config: Mapping[str, Any], reproduce: str | None) -> Run:
        """Write ``config.yaml`` and the ``running`` summary into the new directory ``path``."""
        run = cls(path, command, name, argv if argv is not None else ["gradlab", *sys.argv[1:]])
        write_yaml(path / CONFIG_FILE, config)
        run.summary = {
            "id": run.id,
            "command": command,
            "name": name,
            "status": "running",
            "started_at": _iso(run.started),
            "finished_at": None,
            "duration_s": None,
            "versions": versions(),
            "argv": run.argv,
            "command_line": shlex.join(run.argv),
            "reproduce": (reproduce or "").replace("{run}", shlex.quote(str(path))) or None,
            # who writes it: a 'running' run whose process is gone is reported as incomplete
            "pid": os.getpid(),
            "host": platform.node(),
        }
        write_json(path / SUMMARY_FILE, run.summary)
        return run

    def file(self, name: str) -> Path:
        """Path of a file inside the run directory."""
        return self.path / name

    def metrics(self, columns: Sequence[str], name: str = METRICS_FILE) -> MetricsLog:
        """Open a row-by-row flushed CSV log (closed when the run ends)."""
        log = MetricsLog(self.file(name), columns)
        self._logs.append(log)
        return log

    def update(self, **fields: Any) -> None:
        """Merge fields into the summary and rewrite it."""
        self.summary.update(fields)
        self._write_summary()

    def _write_summary(self) -> None:
        """Rewrite summary.json, unless another process has finalised it meanwhile (a sweep's
        client marks a point ``interrupted`` with :func:`mark_interrupted` while the point may
        still be running on a cluster): the first final status stays, the client is its only writer.
        After the run's own end (``with`` block exited) its updates always go through."""
        path = self.file(SUMMARY_FILE)
        try:
            on_disk = read_summary(self.path).get("status")
        except InputError:
            on_disk = None
        if on_disk in FINAL_STATUSES and not self._ended:
            return
        write_json(path, self.summary)  # atomic: a failed write leaves the previous summary, no temp file

    def finish(self, status: str = "completed", **fields: Any) -> None:
        """Record how the run ended (the file is written when the ``with`` block exits)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {FINAL_STATUSES}, got {status!r}")
        self._status = status
        self.summary.update(fields)

    @property
    def status(self) -> str:
        return self._status or self.summary.get("status", "running")

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        failure = None
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:  # a file of the run (model, plot) not written
            failure = write_failure(exc, exc.filename or self.path)
        for log in self._logs:
            with suppress(OSError):  # its last rows are flushed already; a full disk must not hide the error
                log.close()
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self._status = "interrupted"
        elif exc is not None:
            self._status = "failed"
            self.summary["error"] = str(failure) if failure else f"{exc_type.__name__}: {exc}"
        self.summary["status"] = self._status or "completed"
        self.summary["finished_at"] = _iso(time.time())
        self.summary["duration_s"] = round(time.perf_counter() - self._clock, 6)
        try:
            self._write_summary()
        except RunFailure:
            if exc is None:
                raise
            # the disk is still full: the summary stays 'running' (listed 'incomplete' once this process
            # is gone), and the error that stopped the run is the one to report
        self._ended = True  # its own final status is on disk: later updates add to it
        if failure is not None:
            raise failure from exc
        return False


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def read_metrics_text(path: str | os.PathLike) -> str:
    """The text of a metrics CSV, checked to be UTF-8 text.

    Raises
    ------
    InputError
        The file cannot be read, is not UTF-8, or holds NUL bytes (binary, or UTF-16,
        which decodes as UTF-8 when it is plain ASCII underneath). The message starts
        with the path and ``is unreadable:``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path} is unreadable: {error.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is unreadable: {error} (a metrics file is UTF-8 text)") from None
    if "\0" in text:
        raise InputError(f"{path} is unreadable: it holds NUL bytes, so it is binary or UTF-16, "
                         f"not the UTF-8 text a metrics file is")
    return text


def _csv_table(path: str | os.PathLike) -> list[list[str]]:
    """Every row of a metrics CSV as written, the header first (see :func:`read_metrics_text`)."""
    return _csv_rows(read_metrics_text(path), path)


def _csv_rows(text: str, path: str | os.PathLike) -> list[list[str]]:
    """The rows of CSV text read from ``path``, blank lines skipped.

    Blank lines are skipped: an editor or a ``echo >>`` adds them, they hold no cells, and every
    reader (listing, compare, rerun) goes through here, so all of them count rows alike.
    """
    try:
        return [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    except csv.Error as error:
        raise InputError(f"{path} is unreadable: not CSV ({error})") from None


def read_metrics_table(path: str | os.PathLike) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows of a metrics CSV: numbers as floats (ints for step/epoch), empty cells as None.

    Returns
    -------
    (list of str, list of dict)
        The header (empty for an empty file) and one dict per row, keyed by the header.

    Raises
    ------
    InputError
        The file is not readable UTF-8 CSV (see :func:`read_metrics_text`).
    """
    header, *rows = _csv_table(path) or [[]]
    return header, [_row_values(header, row) for row in rows]


def _row_values(header: list[str], row: list[str]) -> dict[str, Any]:
    """A metrics row keyed by the header: numbers as floats (ints for step/epoch), empty cells as None."""
    padding = [""] * len(header)  # a short row's missing cells read as empty, as csv.DictReader has them
    return {k: _number(k, v) for k, v in zip(header, row + padding)}


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a metrics CSV (see :func:`read_metrics_table`)."""
    return read_metrics_table(path)[1]


def read_last_metrics_row(path: str | os.PathLike) -> dict[str, Any]:
    """The last row of a metrics CSV as :func:`read_metrics` has it, ``{}`` when it has no rows,
    without reading every row: what a listing shows of a run still being written.

    A file that :func:`_rows_are_lines` finds plain is read at its ends (:func:`_header_and_last_line`).
    A last line still being written (no line break yet) is that row, as :func:`read_metrics` reads
    it. Any other file goes through :func:`read_metrics` whole, for the same rows and reasons.

    Raises
    ------
    InputError
        As :func:`read_metrics`.
    """
    ends = _header_and_last_line(path) if _rows_are_lines(path) else None
    if ends is None:
        rows = read_metrics(path)
        return rows[-1] if rows else {}
    header, last = ends
    if not last:
        return {}
    header_cells, row = _csv_rows(f"{header.decode()}\n{last.decode()}\n", path)
    return _row_values(header_cells, row)


#: the size of the blocks a metrics file is scanned and its ends read in: the memory a listing needs
#: per file, however long the run
_BLOCK = 1 << 20
_LINE_BREAK = re.compile(rb"[\r\n]")


def _rows_are_lines(path: str | os.PathLike) -> bool:
    """True when every byte of the file is ASCII other than NUL and the quote ``"`` (False when it
    cannot be read). Such a file is UTF-8 text whose CSV rows are its lines: no quoted field runs
    over a line break, and csv ends a row at every ``\\r`` or ``\\n``, as :data:`_LINE_BREAK` does.

    The whole file is scanned, in blocks of :data:`_BLOCK` bytes: a NUL or a byte that is no UTF-8
    anywhere in it makes a run damaged in the listing. Metrics files as gradlab writes them are
    plain: numbers and column names.
    """
    try:
        with open(path, "rb") as handle:
            while block := handle.read(_BLOCK):
                if not block.isascii() or b"\0" in block or b'"' in block:
                    return False
    except OSError:
        return False
    return True


def _header_and_last_line(path: str | os.PathLike) -> tuple[bytes, bytes] | None:
    """A file's first line that is not blank (a CSV's header) and its last one after it (``b""``
    when there is none), without their line breaks, read in blocks of :data:`_BLOCK` bytes from the
    start and from the end; None when the file cannot be read."""
    try:
        with open(path, "rb") as handle:
            header_end, header = _first_line(handle)
            return header, _last_line(handle, header_end)
    except OSError:
        return None


def _first_line(handle: BinaryIO) -> tuple[int, bytes]:
    """The first line of a binary file that is not blank, without its line break, and the offset
    where it ends; ``(size, b"")`` when no line holds anything. Read forwards in blocks."""
    line: list[bytes] = []  # its parts, once it has begun
    offset = 0
    handle.seek(0)
    while block := handle.read(_BLOCK):
        begin = 0 if line else len(block) - len(block.lstrip(b"\r\n"))  # blank lines before it
        if begin < len(block):
            end = _LINE_BREAK.search(block, begin)
            if end is not None:
                line.append(block[begin:end.start()])
                return offset + end.start(), b"".join(line)
            line.append(block[begin:])
        offset += len(block)
    return offset, b"".join(line)


def _last_line(handle: BinaryIO, floor: int) -> bytes:
    """The last line after offset ``floor`` of a binary file that is not blank, without its line
    break (it may have none yet); ``b""`` when none holds anything. Read backwards in blocks."""
    parts: list[bytes] = []  # its parts, from its end backwards
    end = handle.seek(0, os.SEEK_END)
    while end > floor:
        start = max(floor, end - _BLOCK)
        handle.seek(start)
        block = handle.read(end - start)
        end = start
        if not parts:
            block = block.rstrip(b"\r\n")  # the line breaks and blank lines after it
            if not block:
                continue
        cut = max(block.rfind(b"\n"), block.rfind(b"\r"))
        parts.append(block[cut + 1:])
        if cut >= 0:
            break
    return b"".join(reversed(parts))


def read_metrics_with_rows(path: str | os.PathLike) -> tuple[list[str], list[dict[str, Any]]]:
    """:func:`read_metrics_table` for a run that is to be compared: one without rows is refused.

    Raises
    ------
    InputError
        As :func:`read_metrics_table`, or the file is empty or holds only its header.
    """
    header, rows = read_metrics_table(path)
    if not rows:
        what = "holds only its header" if header else "is empty"
        raise InputError(f"{path} {what}: a run to compare needs at least one row of metrics")
    return header, rows


def _number(key: str, text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return int(text) if key in ("epoch", "step") else float(text)
    except ValueError:
        return text


def resolve_run(reference: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """The run directory a command was given: a path, else a run under the runs root whose
    directory name is ``reference`` or contains it (an id, a name, a time stamp, any unique part).

    Parameters
    ----------
    reference : str or path
        A run directory, or the whole or a unique part of a run directory's name.
    root : path, optional
        Where run names are looked up (default :func:`runs_root`).

    Raises
    ------
    InputError
        ``reference`` is empty, names no run, or is part of several runs' names (all of
        them are listed, so the user can pick a longer part).
    """
    text = str(reference)
    if not text:
        raise InputError("run '': give a run directory or a part of a run's name (see 'gradlab runs')")
    base = runs_root(root)
    for exact in (Path(reference), base / text):  # a path or a whole name first: it may also be part of another name
        if is_run_dir(exact):
            return exact
    matches = sorted(p for p in base.iterdir() if text in p.name and is_run_dir(p)) if base.is_dir() else []
    if len(matches) > 1:  # 'xor' beside 'xor_wide': the run named exactly that, if it is the only one
        named = [p for p in matches if (m := _DIR_NAME.match(p.name)) and m["name"] == text]
        matches = named if len(named) == 1 else matches
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(f"run {text!r} is ambiguous: matches {_name_list([p.name for p in matches])}; "
                         f"give more of the name")
    raise InputError(f"run {text!r}: no run directory there, and no run under {str(base)!r} has it in its name "
                     f"(see 'gradlab runs')")


def _name_list(names: Sequence[str], shown: int = 10) -> str:
    """``a, b, c`` for up to ``shown`` names, then ``and N more``: one line even for a long history."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def read_json(path: str | os.PathLike) -> Any:
    """The JSON value a run's file holds.

    Raises
    ------
    InputError
        ``{path} is unreadable: <why>``: the file is missing or unreadable, not UTF-8, not JSON,
        or JSON that Python cannot parse (an integer of more than 4300 digits, nesting deeper
        than the recursion limit).
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path} is unreadable: {error.strerror}") from None
    except ValueError as error:  # bad JSON, bytes that are not UTF-8, an integer too long to convert
        raise InputError(f"{path} is unreadable: {error}") from None
    except RecursionError:
        raise InputError(f"{path} is unreadable: its JSON is nested too deeply to parse") from None


def read_summary(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's summary.json as a mapping.

    Raises
    ------
    InputError
        The file is missing or unreadable, not JSON, or JSON but not an object; the
        message names the file.
    """
    path = Path(run_dir) / SUMMARY_FILE
    summary = read_json(path)
    if not isinstance(summary, dict):
        raise InputError(f"{path} is {_json_kind(summary)}, not the JSON object {{...}} a run summary is")
    return summary


def _json_kind(value: Any) -> str:
    """How JSON spells the type of a parsed value: ``an array``, ``null``, ``a string``..."""
    kinds = {list: "an array", type(None): "null", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's config.yaml as a mapping.

    Raises
    ------
    InputError
        The file is missing or unreadable, not YAML, or not a mapping (an empty file included:
        a run always records its settings, so an empty one was cut short or emptied); the
        message names the file and is one line.
    """
    from gradlab.config import load_yaml

    path = Path(run_dir) / CONFIG_FILE
    config = load_yaml(path)  # {} for an empty file, which a config given by hand may be
    if not config:
        raise InputError(f"{path}: the top level must be a mapping of settings (key: value), got an empty file")
    return config


# --- listing: what a run directory holds, damaged ones included -------------------------------

#: columns that measure time, not the computation: ignored when runs are compared
TIMING_COLUMNS = frozenset({"time_s"})
_DIR_NAME = re.compile(r"^(?P<stamp>\d{8}-\d{6})-(?P<command>[a-z]+)(?:-(?P<name>.+))?-[0-9a-f]{6}$")


@dataclass
class RunInfo:
    """What a listing shows about one run directory.

    ``status`` is the summary's, except ``incomplete`` (no summary yet, or ``running``
    while the process that wrote it is gone) and ``damaged`` (summary.json unreadable
    or a listed field mistyped or out of range, config.yaml missing or not a mapping, metrics.csv not text);
    ``problem`` then says why.
    """

    path: Path
    id: str
    command: str | None
    name: str | None
    status: str
    started: float
    started_at: str | None = None
    duration_s: float | None = None
    epochs: int | None = None
    steps: int | None = None
    points: int | None = None
    final_loss: float | None = None
    best_test_accuracy: float | None = None
    problem: str | None = None
    summary: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for ``--json`` (no summary: ``runs show`` gives that); ``path`` is absolute,
        so a script can use it from any directory."""
        fields = {k: v for k, v in self.__dict__.items() if k != "summary"}
        return to_plain({**fields, "path": self.path.resolve()})


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


def enclosing_run(path: Path) -> Path | None:
    """The run directory that the file ``path`` would be written in (its folder or one above it), or None.

    A run's files are its record (``rerun`` and ``compare`` read them back), so commands that write a file
    where the user says refuse one inside a run. Only directories gradlab made count (named like a run,
    or holding a summary.json): a folder with the user's own config.yaml is no run.
    """
    folder = Path(path).absolute().parent.resolve()
    return next((d for d in (folder, *folder.parents) if is_run_dir(d, config_alone=False)), None)


#: the largest process id there can be: pid_t is a 32-bit C int on Linux and macOS
_PID_MAX = 2**31 - 1


def _is_pid(value: Any) -> bool:
    """A number that names one process: 0 and -1 would make os.kill signal a group or every
    process (and succeed), and a number beyond pid_t overflows it."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _PID_MAX


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists, owned by someone else
    return True


def _timestamp(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except (TypeError, ValueError):
        return None


def inspect_run(path: str | os.PathLike) -> RunInfo:
    """Describe one run directory without ever raising for what is (not) inside it.

    A run is ``damaged`` when a file it needs cannot be trusted, and ``problem`` gives every
    reason found; it then shows no epochs, loss, accuracy or duration, since those would
    come from the very files that are damaged.
    """
    path = Path(path)
    info = _info_from_name(path)
    summary, summary_problem = _listed_summary(path / SUMMARY_FILE)
    if summary is not None:
        _take_summary(info, summary)
    elif summary_problem is None and (path / CONFIG_FILE).is_file():
        info.status, info.problem = "incomplete", "no summary.json: the run stopped while its directory was being created"
    damage = [p for p in (summary_problem, _config_problem(path)) if p]
    if not damage and info.epochs is None and info.steps is None and info.points is None:
        # no final numbers: the last row tells; reading it refuses a metrics.csv that is not text as
        # _metrics_problem does, so the file is scanned once
        _fill_from_metrics(info)
        return info
    damage += filter(None, [_metrics_problem(path)])
    if damage:
        _mark_damaged(info, damage)
    return info


def _info_from_name(path: Path) -> RunInfo:
    """What a run directory's name tells (time stamp, command, name), status ``damaged`` until
    its files say otherwise; a directory not named like a run, or whose stamp is no real time
    (``20261399-000000``, hand-made), is dated by its mtime."""
    named = _DIR_NAME.match(path.name)
    info = RunInfo(path=path, id=path.name, command=named["command"] if named else None,
                   name=named["name"] if named else None, status="damaged", started=0.0)
    if named:
        try:
            info.started = datetime.strptime(named["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc).timestamp()
            return info
        except ValueError:  # a hand-made name with month 13: listed all the same, dated below
            pass
    try:
        info.started = path.stat().st_mtime
    except OSError:
        pass
    return info


def _listed_summary(summary_file: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The summary a listing can show, or why it cannot: ``(summary, None)``, ``(None, problem)``,
    or ``(None, None)`` when there is no summary.json."""
    if not summary_file.exists():
        return None, None
    try:
        summary = read_summary(summary_file.parent)
    except InputError as error:
        return None, _as_listed(error, summary_file)
    if summary.get("status") not in STATUSES:
        return None, f"summary.json has no valid status (got {summary.get('status')!r})"
    problem = _summary_problem(summary)
    return (None, problem) if problem else (summary, None)


def _take_summary(info: RunInfo, summary: dict[str, Any]) -> None:
    """Fill ``info`` from a summary checked by :func:`_listed_summary`; a ``running`` run whose
    process is gone on this host, or whose pid names no single process, becomes ``incomplete``."""
    info.summary = summary
    info.command = summary.get("command") or info.command
    info.name = summary.get("name")
    info.status = summary["status"]
    info.started_at = summary.get("started_at")
    info.started = _timestamp(info.started_at) or info.started
    info.duration_s = summary.get("duration_s")
    final = summary.get("final") or {}
    info.epochs, info.steps, info.points = summary.get("epochs"), summary.get("steps"), summary.get("points")
    info.final_loss = final.get("train_loss", final.get("f"))
    info.best_test_accuracy = summary.get("best_test_accuracy")
    if info.status == "running":
        pid, host = summary.get("pid"), summary.get("host")
        if host == platform.node() and not (_is_pid(pid) and _process_alive(pid)):
            info.status = "incomplete"
            info.problem = (f"status is 'running' but its process {pid} is gone" if _is_pid(pid) else
                            f"status is 'running' but its pid {pid!r} is no process id (a whole number 1 to {_PID_MAX})")
        else:  # so far; none when its start is in the future (a clock put back, a hand-edited started_at)
            elapsed = round(time.time() - info.started, 3)
            info.duration_s = elapsed if elapsed >= 0 else None


def _mark_damaged(info: RunInfo, problems: Sequence[str]) -> None:
    """Make ``info`` a damaged run: the problems are added to ``problem`` and the progress numbers
    dropped (the listing shows ``-``: they came from files that cannot be trusted)."""
    info.status = "damaged"
    info.problem = "; ".join(filter(None, (info.problem, *problems)))
    info.epochs = info.steps = info.points = info.final_loss = info.best_test_accuracy = info.duration_s = None


def _json_float(value: Any) -> float | None:
    """A JSON number, or a float kept as text (``"nan"``, ``"inf"``: see :func:`to_plain`), as a
    float; None for anything else: a bool, other text, or an integer beyond float64 (10**400)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except (ValueError, OverflowError):
        return None


def _is_number(value: Any) -> bool:
    return _json_float(value) is not None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_seconds(value: Any) -> bool:
    seconds = None if isinstance(value, str) else _json_float(value)
    return seconds is not None and math.isfinite(seconds) and seconds >= 0


#: summary.json fields the listing shows, and what each must be when recorded (not None): a loss may
#: be nan or inf (a diverged run), a duration or a count never is
_SUMMARY_FIELDS = {
    "duration_s": (_is_seconds, "a duration (finite seconds >= 0)"),
    **dict.fromkeys(("epochs", "steps", "points"), (_is_count, "a count (a whole number >= 0)")),
    **dict.fromkeys(("best_test_accuracy", "final.train_loss", "final.f"), (_is_number, "a number")),
    **dict.fromkeys(("command", "name", "started_at"), (lambda value: isinstance(value, str), "text")),
}


def _summary_problem(summary: dict[str, Any]) -> str | None:
    """Why a summary's listed fields cannot be shown (a wrong type or value), or None when they can.

    Parameters
    ----------
    summary : dict
        The parsed summary.json.

    Returns
    -------
    str or None
        e.g. ``summary.json field 'epochs' is 'x', not a count (a whole number >= 0)``; None when every
        field fits.
    """
    final = summary.get("final")
    if final is not None and not isinstance(final, dict):
        return f"summary.json field 'final' is {final!r}, not a mapping"
    values = {**summary, **{f"final.{k}": v for k, v in (final or {}).items()}}
    for key, (fits, allowed) in _SUMMARY_FIELDS.items():
        if values.get(key) is not None and not fits(values[key]):
            return f"summary.json field {key!r} is {values[key]!r}, not {allowed}"
    return None


def _config_problem(path: Path) -> str | None:
    """Why a run's config.yaml is missing or unusable (unreadable, not YAML, not a mapping: what
    :func:`read_config` refuses), or None."""
    if not (path / CONFIG_FILE).is_file():
        return "config.yaml is missing" if (path / SUMMARY_FILE).exists() else "neither summary.json nor config.yaml"
    try:
        read_config(path)
    except InputError as error:
        return _as_listed(error, path / CONFIG_FILE)
    return None


def _metrics_problem(path: Path) -> str | None:
    """Why a run's metrics.csv is not text (see :func:`read_metrics_text`), or None; a run
    without one (a compare or sweep run) has no problem with it."""
    metrics = path / METRICS_FILE
    if not metrics.is_file():
        return None
    try:
        if not _rows_are_lines(metrics):  # a plain file is text; any other is read whole, for the reason
            read_metrics_text(metrics)
    except InputError as error:
        return _as_listed(error, metrics)
    return None


def _as_listed(error: InputError, file: Path) -> str:
    """An error about one of a run's files as a listing says it, from the file's name on
    (``metrics.csv is unreadable: ...``): the run's directory stands at the start of the line."""
    return file.name + str(error).removeprefix(str(file))


def _fill_from_metrics(info: RunInfo) -> None:
    """Progress of a run without final numbers in its summary, from the last row of its
    metrics.csv (one that is not text or not CSV makes the run ``damaged``, with the reason)."""
    metrics = info.path / METRICS_FILE
    if not metrics.is_file():
        return
    try:
        last = read_last_metrics_row(metrics)
    except InputError as error:
        _mark_damaged(info, [_as_listed(error, metrics)])
        return
    if isinstance(last.get("epoch"), int):
        info.epochs = last["epoch"]
    if isinstance(last.get("step"), int):
        info.steps = last["step"]
    loss = last.get("train_loss", last.get("f"))
    if isinstance(loss, float):
        info.final_loss = loss


def list_runs(
    root: str | os.PathLike | None = None,
    *,
    command: str | None = None,
    status: str | None = None,
) -> list[RunInfo]:
    """Run directories under ``root`` (default :func:`runs_root`), newest first, filtered.

    ``command`` may name a command of :data:`RUN_COMMANDS` while no run here has it (``--command
    sweep`` before the first sweep lists nothing, and that is no error).

    Raises
    ------
    InputError
        ``status`` is not one of :data:`LISTING_STATUSES`, ``command`` is neither one of
        :data:`RUN_COMMANDS` nor the command of a run here.
    """
    from gradlab.errors import unknown_choice

    if status is not None and status not in LISTING_STATUSES:
        raise unknown_choice("--status", status, LISTING_STATUSES)
    base = runs_root(root)
    runs = [inspect_run(p) for p in base.iterdir() if is_run_dir(p)] if base.is_dir() else []
    if command is not None:
        _check_command(command, runs)
    runs = [r for r in runs if (command is None or r.command == command) and (status is None or r.status == status)]
    runs.sort(key=lambda r: (r.started, r.id), reverse=True)
    return runs


def _check_command(command: str, runs: Sequence[RunInfo]) -> None:
    """Refuse a ``--command`` that is none of :data:`RUN_COMMANDS` and no run here has: a typo
    would otherwise list nothing, as if there were no such runs yet. (A run of a command not
    listed, made by another version of gradlab, can still be listed by its command.)"""
    from gradlab.errors import unknown_choice

    known = [*RUN_COMMANDS, *sorted({r.command for r in runs if r.command} - set(RUN_COMMANDS))]
    if command not in known:
        raise unknown_choice("--command", command, known)


def mark_interrupted(run_dir: str | os.PathLike, reason: str) -> bool:
    """Finalise a run left ``running`` by a process that was stopped from outside; True if it was."""
    try:
        summary = read_summary(run_dir)
    except InputError:
        return False
    if summary.get("status") != "running":
        return False
    summary.update(status="interrupted", stop_reason=reason, finished_at=_iso(time.time()))
    write_json(Path(run_dir) / SUMMARY_FILE, summary)
    return True


# --- comparing metrics files ------------------------------------------------------------------


@dataclass
class MetricsDifference:
    """The first place where two metrics files disagree (rows counted from 1, after the header,
    blank lines not counted)."""

    message: str
    row: int | None = None
    column: str | None = None
    first: str | None = None
    second: str | None = None


def compare_metrics(
    first: str | os.PathLike,
    second: str | os.PathLike,
    ignore: frozenset[str] | set[str] = TIMING_COLUMNS,
    names: tuple[str, str] = ("the original", "the rerun"),
) -> MetricsDifference | None:
    """Compare two metrics CSV files cell by cell as written (exact: floats are written by repr).

    Returns None when they are identical apart from the ``ignore`` columns, else the first
    difference: the columns, then row by row, then the number of rows.

    Raises
    ------
    InputError
        A file is not readable UTF-8 CSV (see :func:`read_metrics_text`).
    """
    head_a, *rows_a = _csv_table(first) or [[]]
    head_b, *rows_b = _csv_table(second) or [[]]
    cols_a = [c for c in head_a if c not in ignore]
    cols_b = [c for c in head_b if c not in ignore]
    if cols_a != cols_b:
        only_a = [c for c in cols_a if c not in cols_b]
        only_b = [c for c in cols_b if c not in cols_a]
        detail = "; ".join(filter(None, (
            f"only in {names[0]}: {', '.join(only_a)}" if only_a else "",
            f"only in {names[1]}: {', '.join(only_b)}" if only_b else "",
        ))) or "same columns in another order"
        return MetricsDifference(f"the columns differ ({detail})")
    index_a = [head_a.index(c) for c in cols_a]
    index_b = [head_b.index(c) for c in cols_b]
    key = next((c for c in ("epoch", "step") if c in cols_a), None)
    for number, (ra, rb) in enumerate(zip(rows_a, rows_b), start=1):
        for column, ia, ib in zip(cols_a, index_a, index_b):
            va, vb = _cell_at(ra, ia), _cell_at(rb, ib)
            if va != vb:
                at = f" ({key} {_cell_at(ra, head_a.index(key)) or '(empty)'})" if key else ""
                return MetricsDifference(f"row {number}{at}, column {column}: {va or '(empty)'} in {names[0]}, "
                                         f"{vb or '(empty)'} in {names[1]}", number, column, va, vb)
    if len(rows_a) != len(rows_b):
        return MetricsDifference(f"{names[0]} has {len(rows_a)} rows, {names[1]} {len(rows_b)}: they agree on the "
                                 f"first {min(len(rows_a), len(rows_b))}", min(len(rows_a), len(rows_b)) + 1)
    return None


def _cell_at(row: list[str], index: int) -> str:
    """A row's cell, empty when a short (hand-edited) row stops before it, as csv.DictReader has it."""
    return row[index] if index < len(row) else ""


# --- moving a finished run directory between machines -----------------------------------------


@dataclass
class PackedRun:
    """A run directory's files as bytes, to return from a worker without a shared filesystem."""

    name: str
    path: str
    files: dict[str, bytes]


def pack_run(run_dir: str | os.PathLike) -> PackedRun:
    """Read every file of a run directory (no subdirectories: runs have none)."""
    path = Path(run_dir)
    files = {p.name: p.read_bytes() for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")}
    return PackedRun(path.name, str(path), files)


def unpack_run(packed: PackedRun, root: str | os.PathLike) -> Path:
    """Write a packed run under ``root`` (its own name when free) and point its summary at the new place."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / packed.name
    stem = packed.name.rsplit("-", 1)[0]
    while True:
        try:
            path.mkdir()
            break
        except FileExistsError:
            path = root / f"{stem}-{secrets.token_hex(3)}"
    for name, data in packed.files.items():
        (path / name).write_bytes(data)
    summary = read_summary(path)
    summary["id"] = path.name
    if summary.get("reproduce"):
        summary["reproduce"] = summary["reproduce"].replace(shlex.quote(packed.path), shlex.quote(str(path)))
    write_json(path / SUMMARY_FILE, summary)
    return path


def write_table(path: str | os.PathLike, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Write a whole CSV table atomically (readers see the old or the new file, never half of one)."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    _write_atomic(Path(path), buffer.getvalue())
