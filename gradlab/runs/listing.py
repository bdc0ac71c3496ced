"""Listing runs: what a run directory holds (:class:`RunInfo`), damaged or half-written ones
included; they are reported, never raised.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gradlab.errors import InputError
from gradlab.names import LISTING_STATUSES, RUN_COMMANDS, STATUSES
from gradlab.runs.files import to_plain
from gradlab.runs.layout import (_DIR_NAME, CONFIG_FILE, METRICS_FILE, SUMMARY_FILE, folder_entries, is_run_dir,
                                 root_source, runs_root)
from gradlab.runs.reading import _rows_are_lines, read_config, read_last_metrics_row, read_metrics_text, read_summary


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
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
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
    return _inspect_files(*_inspect_summary(Path(path)))


def _inspect_summary(path: Path) -> tuple[RunInfo, str | None]:
    """What a run's name and summary.json tell, and why that summary cannot be shown (or None):
    the first half of :func:`inspect_run`. Its ``started``, ``id`` and ``command``, what a listing
    sorts and filters on, are final; the config and metrics (:func:`_inspect_files`) only add damage
    and progress."""
    info = _info_from_name(path)
    summary, summary_problem = _listed_summary(path / SUMMARY_FILE)
    if summary is not None:
        _take_summary(info, summary)
    return info, summary_problem


def _inspect_files(info: RunInfo, summary_problem: str | None) -> RunInfo:
    """The second half of :func:`inspect_run`: ``info`` from :func:`_inspect_summary`, checked
    against the run's config.yaml and metrics.csv (the slow part: each config is parsed)."""
    path = info.path
    if info.summary is None and summary_problem is None and (path / CONFIG_FILE).is_file():
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
        :data:`RUN_COMMANDS` nor the command of a run here, or ``root`` cannot be listed
        (:func:`folder_entries`).
    """
    return list_newest_runs(root, command=command, status=status)[0]


def list_newest_runs(
    root: str | os.PathLike | None = None,
    *,
    command: str | None = None,
    status: str | None = None,
    limit: int | None = None,
) -> tuple[list[RunInfo], int]:
    """The ``limit`` newest runs of :func:`list_runs` (all of them when None), and how many matched.

    The runs are ordered by what their names and summaries say before their configs are parsed, so
    without ``status`` only the runs returned have their config.yaml and metrics.csv read: ``gradlab
    runs -n 5`` over 2,000 runs parses 5 configs, not 2,000. ``status`` needs every run's files
    (a damaged config makes a run ``damaged``).

    Returns
    -------
    runs : list of RunInfo
        At most ``limit`` runs, newest first, each as :func:`inspect_run` describes it.
    matching : int
        How many runs the filters matched, of which ``runs`` are the newest.

    Raises
    ------
    InputError
        As :func:`list_runs`.
    """
    from gradlab.errors import unknown_choice

    if status is not None and status not in LISTING_STATUSES:
        raise unknown_choice("--status", status, LISTING_STATUSES)
    base = runs_root(root)
    entries = folder_entries(base, root_source(root, "--dir")) if base.is_dir() else []
    found = [_inspect_summary(p) for p in entries if is_run_dir(p)]
    if command is not None:
        _check_command(command, [info for info, _ in found])
        found = [(info, problem) for info, problem in found if info.command == command]
    # started and id are final before the files are read (see _inspect_summary): sorting first is safe
    found.sort(key=lambda pair: (pair[0].started, pair[0].id), reverse=True)
    if status is None:
        return [_inspect_files(*pair) for pair in found[:limit]], len(found)
    runs = [run for run in (_inspect_files(*pair) for pair in found) if run.status == status]
    return runs[:limit], len(runs)


def _check_command(command: str, runs: Sequence[RunInfo]) -> None:
    """Refuse a ``--command`` that is none of :data:`RUN_COMMANDS` and no run here has: a typo
    would otherwise list nothing, as if there were no such runs yet. (A run of a command not
    listed, made by another version of gradlab, can still be listed by its command.)"""
    from gradlab.errors import unknown_choice

    known = [*RUN_COMMANDS, *sorted({r.command for r in runs if r.command} - set(RUN_COMMANDS))]
    if command not in known:
        raise unknown_choice("--command", command, known)
