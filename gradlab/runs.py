"""Run directories: one per computing command, complete or clearly marked.

Layout of ``<root>/<UTC yyyymmdd-HHMMSS>-<command>[-<name>]-<suffix>/``::

    config.yaml    the fully resolved parameters, enough to re-run it
    metrics.csv    one row per step/epoch, flushed row by row
    summary.json   status, final values, timings, versions, the command line
    *.png, *.csv   plots and the numbers they show

``summary.json`` is written when the run starts (status ``running``) and rewritten
atomically when it ends with one of ``completed``, ``diverged``, ``interrupted`` or
``failed``. The root is ``--out``, else ``$GRADLAB_RUNS``, else ``./runs``.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import secrets
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from gradlab import __version__
from gradlab.errors import InputError

STATUSES = ("running", "completed", "diverged", "interrupted", "failed")
FINAL_STATUSES = STATUSES[1:]
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def runs_root(out: str | os.PathLike | None = None) -> Path:
    """The directory new runs go into: ``out``, else ``$GRADLAB_RUNS``, else ``./runs``."""
    return Path(out or os.environ.get("GRADLAB_RUNS") or "runs")


def check_name(name: str | None, field: str = "--name") -> str | None:
    """Accept a run name usable in a directory name: letters, digits, ``_ . -``, at most 64."""
    if name is None or _NAME.match(name):
        return name
    raise InputError(
        f"{field} must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or digit), got {name!r}"
    )


def to_plain(value: Any) -> Any:
    """Convert NumPy scalars/arrays, tuples and paths to plain YAML/JSON-friendly values."""
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
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)  # JSON has no inf/nan; keep them readable and loadable
    return value


def versions() -> dict[str, str]:
    return {"gradlab": __version__, "numpy": np.__version__, "python": platform.python_version()}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_yaml(path: Path, data: Mapping[str, Any]) -> None:
    import yaml

    _write_atomic(path, yaml.safe_dump(to_plain(data), sort_keys=False, allow_unicode=True))


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
        self._file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.columns)
        self._file.flush()
        self.rows = 0

    def append(self, row: Mapping[str, Any]) -> None:
        unknown = set(row) - set(self.columns)
        if unknown:
            raise KeyError(f"metrics row has columns not in the header: {sorted(unknown)}")
        self._writer.writerow([_cell(row.get(c)) for c in self.columns])
        self._file.flush()
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
        check_name(name)
        root = runs_root(out)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(f"--out: cannot create run root {str(root)!r}: {error.strerror}") from None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        stem = "-".join(filter(None, (stamp, command, name)))
        while True:  # mkdir is atomic: two processes can never get the same directory
            path = root / f"{stem}-{secrets.token_hex(3)}"
            try:
                path.mkdir()
                break
            except FileExistsError:
                continue
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
        write_json(self.file(SUMMARY_FILE), self.summary)

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
        for log in self._logs:
            log.close()
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self._status = "interrupted"
        elif exc is not None:
            self._status = "failed"
            self.summary["error"] = f"{exc_type.__name__}: {exc}"
        self.summary["status"] = self._status or "completed"
        self.summary["finished_at"] = _iso(time.time())
        self.summary["duration_s"] = round(time.perf_counter() - self._clock, 6)
        write_json(self.file(SUMMARY_FILE), self.summary)
        return False


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a metrics CSV with numbers as floats (ints for step/epoch) and empty cells as None."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: _number(k, v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _number(key: str, text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return int(text) if key in ("epoch", "step") else float(text)
    except ValueError:
        return text


def resolve_run(reference: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """A run directory from a path, or from an id (or unique id prefix/suffix) under the runs root."""
    path = Path(reference)
    if (path / SUMMARY_FILE).exists() or (path / CONFIG_FILE).exists():
        return path
    base = runs_root(root)
    if base.is_dir():
        matches = sorted(p for p in base.iterdir() if p.is_dir() and (p.name == str(reference)
                         or p.name.startswith(str(reference)) or p.name.endswith(str(reference))))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InputError(f"run {str(reference)!r} is ambiguous: {', '.join(p.name for p in matches[:5])}")
    raise InputError(f"run {str(reference)!r}: no run directory there (nor under {str(base)!r})")


def read_summary(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's summary.json; an unreadable one is InputError naming the file."""
    path = Path(run_dir) / SUMMARY_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"{path}: cannot read the run summary ({error})") from None
