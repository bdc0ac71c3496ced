"""A run directory being written (:class:`Run`): created unique and atomically, its summary kept
complete or clearly marked; finalising a run stopped from outside; moving a finished run between
machines.
"""

from __future__ import annotations

import os
import platform
import secrets
import shlex
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from gradlab import __version__
from gradlab.errors import InputError, RunFailure
from gradlab.names import RUN_COMMANDS
from gradlab.runs.files import _WRITE_ERRNOS, MetricsLog, write_failure, write_json, write_yaml
from gradlab.runs.layout import (CONFIG_FILE, FINAL_STATUSES, METRICS_FILE, SUMMARY_FILE, check_name, check_root,
                                 root_source)
from gradlab.runs.reading import read_summary


def versions() -> dict[str, str]:
    return {"gradlab": __version__, "numpy": np.__version__, "python": platform.python_version()}


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
            raise InputError(f"{root_source(out)}: cannot create run root {str(root)!r}: {error.strerror}") from None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        stem = "-".join(filter(None, (stamp, command, name)))
        try:
            path = _mkdir_unique(root, stem)
        except OSError as error:  # a full disk has no room for one more directory entry
            raise write_failure(error, error.filename or root) from None  # mkdir names the path it tried
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
            # absolute: the command works from any directory, not only from where the run was started
            "reproduce": (reproduce or "").replace("{run}", shlex.quote(str(path.absolute()))) or None,
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


def _mkdir_unique(root: Path, stem: str, first: str | None = None) -> Path:
    """Create and return a new directory under ``root``: ``first`` when given and free, else
    ``<stem>-<6 hex digits>``, drawing again until a name is free.

    mkdir is atomic: two processes can never get the same directory. Any other ``OSError``
    propagates, with the path tried as its ``filename``, for the caller to report its own way.
    """
    name = first or f"{stem}-{secrets.token_hex(3)}"
    while True:
        path = root / name
        try:
            path.mkdir()
            return path
        except FileExistsError:
            name = f"{stem}-{secrets.token_hex(3)}"


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
    return PackedRun(path.name, str(path.absolute()), files)


def unpack_run(packed: PackedRun, root: str | os.PathLike) -> Path:
    """Write a packed run under ``root`` (its own name when free) and point its summary at the new place."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = _mkdir_unique(root, packed.name.rsplit("-", 1)[0], first=packed.name)
    for name, data in packed.files.items():
        (path / name).write_bytes(data)
    summary = read_summary(path)
    summary["id"] = path.name
    if summary.get("reproduce"):
        summary["reproduce"] = summary["reproduce"].replace(shlex.quote(packed.path), shlex.quote(str(path.absolute())))
    write_json(path / SUMMARY_FILE, summary)
    return path
