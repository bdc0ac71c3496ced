"""Writing a run's files: whole files replaced atomically (YAML, JSON, CSV tables, PNGs), a metrics
CSV flushed row by row, plain values for YAML/JSON, and the error a failed write reports.
"""

from __future__ import annotations

import csv
import errno
import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import numpy as np

from gradlab.errors import RunFailure


def to_plain(value: Any) -> Any:
    """Convert NumPy scalars/arrays, tuples, paths and dates to plain YAML/JSON-friendly values."""
    if type(value) is float:  # the common case first (np.float64 is a float too, and must become one)
        return value if math.isfinite(value) else repr(value)  # JSON has no inf/nan; keep them readable
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iub" or (value.dtype.kind == "f" and np.isfinite(value).all()):
            return value.tolist()  # plain already: explain --batch --json's 7M floats, not one call each
        return to_plain(value.tolist())
    if isinstance(value, np.generic):
        return to_plain(value.item())  # a NumPy nan becomes 'nan' as a float's does
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, date):  # YAML reads 2026-01-01 as a date (a hand-edited config): JSON has none
        return value.isoformat()
    return value


#: what a failed write of a file we create says: a full disk, a quota, a read-only or failing device
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES,
                           errno.EPERM})


def write_failure(error: OSError, path: str | os.PathLike) -> RunFailure:
    """The error to report when writing ``path`` failed: ``cannot write <path>: <strerror>`` (exit 1).

    A failure while running, not bad input: the command's inputs were fine, the disk was not.
    """
    return RunFailure(f"cannot write {path}: {error.strerror or error}")


@contextmanager
def atomic_file(path: str | os.PathLike, binary: bool = False) -> Iterator[TextIO | BinaryIO]:
    """A text file (a binary one with ``binary=True``, for a PNG) to write ``path`` through:
    readers see the old file or the whole new one.

    The text goes to a temporary file beside ``path`` (same directory, so the rename is atomic),
    which replaces ``path`` when the block ends; if anything fails, Ctrl-C and SIGTERM included,
    the temporary file is removed and ``path`` is left as it was.

    Raises
    ------
    RunFailure
        Writing failed (a full disk): ``cannot write <path>: <strerror>``, see :func:`write_failure`.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") if binary else open(tmp, "w", newline="", encoding="utf-8") as handle:
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
        self._known = frozenset(self.columns)
        try:
            self._file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
            self._writer = csv.writer(self._file)
            self._writer.writerow(self.columns)
            self._file.flush()
        except OSError as error:
            raise write_failure(error, path) from error
        self.rows = 0

    def append(self, row: Mapping[str, Any]) -> None:
        if not self._known.issuperset(row):  # a frozenset made once: a descent appends a million rows
            raise KeyError(f"metrics row has columns not in the header: {sorted(set(row) - self._known)}")
        cells = [_cell(value) for value in map(row.get, self.columns)]
        try:
            self._writer.writerow(cells)
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
    """``value`` as the CSV writer takes it: a plain Python value, which it writes as ``str`` does, but a float
    as its ``repr`` (the shortest text that reads back to the same float) and None as an empty cell."""
    if isinstance(value, np.generic):  # np.float64 is a float, but its repr is 'np.float64(0.5)'
        return value.item()
    return value


def write_table(path: str | os.PathLike, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Write a whole CSV table atomically (readers see the old or the new file, never half of one)."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    _write_atomic(Path(path), buffer.getvalue())
