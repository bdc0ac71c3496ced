"""Several runs side by side: one metric's curves, their final and best values, and the
config keys in which the runs differ. Never prints; ``gradlab compare`` renders it.

The curves are written as a *long* CSV, one row per run and point::

    run,label,epoch,train_loss
    20261122-...-train-saturation_mse-1a2b3c,saturation_mse,0,0.48218...

Long rather than wide because runs need not share their x values (different
``log_every``, epochs or steps); ``df.pivot(index="epoch", columns="label", values="train_loss")``
makes it wide when they do.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gradlab.errors import InputError, did_you_mean
from gradlab.runs import (METRICS_FILE, TIMING_COLUMNS, RunInfo, inspect_run, read_config,
                          read_metrics_columns, read_metrics_header, resolve_run)
from gradlab.training import best_index, evidence

#: the first of these a run's metrics have is the default metric / x axis
DEFAULT_METRICS = ("train_loss", "f")
DEFAULT_X = ("epoch", "step")
_ABSENT = object()


def higher_is_better(metric: str) -> bool:
    """Accuracies and R^2 grow as a model improves; losses, f and gradient norms shrink."""
    return metric.endswith("accuracy") or metric.endswith("r2")


def varies_loss(keys: Iterable[str]) -> bool:
    """Whether dotted config keys that differ include the loss or one of its parameters (``loss``, or
    ``loss.name`` and ``loss.delta`` where a loss has parameters): then loss values are on no one scale."""
    return any(key == "loss" or key.startswith("loss.") for key in keys)


#: metrics on one scale whatever the loss, best first: what to rank or compare runs of different losses by
SCORED_METRICS = ("test_accuracy", "train_accuracy", "test_r2", "train_r2")


def scored_metric(available: Iterable[str]) -> str | None:
    """The first of :data:`SCORED_METRICS` in ``available`` (the metrics runs have filled): what a note
    on different losses, whose values are on no one scale, tells the user to use instead; None if none."""
    available = set(available)
    return next((m for m in SCORED_METRICS if m in available), None)


def bounds(metric: str) -> tuple[float, float] | None:
    """The values a metric can take, when it has an end on both sides: an accuracy is a fraction,
    0 to 1. None for losses, f, gradient norms and R^2 (which has no lower end)."""
    return (0.0, 1.0) if metric.endswith("accuracy") else None


@dataclass
class Curve:
    """One run's metric against x, with what the tables show about it."""

    path: Path
    label: str
    status: str
    x: np.ndarray
    y: np.ndarray
    config: dict[str, Any] = field(repr=False)
    problem: str | None = None  # why the run is damaged or incomplete (see gradlab.runs.inspect_run)

    def stats(self, higher: bool) -> dict[str, Any]:
        """``start``, ``final``, ``best`` and ``best_at`` (the x of the best), ``halved_at``: the
        first logged x where a lower-is-better metric reached half its start (None if never), and
        ``halved_after``: the logged x before it, where it had not. The metric halved somewhere in
        between: with ``log_every`` 5, ``halved_at`` 10 means at an epoch from 6 to 10.
        ``diverged_at``: where a curve that ends non-finite left the finite values for good (None
        when its final value is finite, or no value is)."""
        # start and final are the values as logged, nan or inf included (a diverged run's inf is its
        # final value). best and halved_at go by the run's own rule (training.best_index, evidence): finite
        # values only (a loss of -inf is lowest, and diverged), never a diverged run's last row (an accuracy
        # of 0.72 at weights of 2e12; a gradient norm of 0 where every unit saturated is no halving)
        diverged = self.status == "diverged"
        start, final = (float(self.y[0]), float(self.y[-1])) if self.y.size else (None, None)
        k = best_index(self.y, higher, diverged)
        best = {"best": None, "best_at": None} if k is None else {"best": float(self.y[k]), "best_at": _plain(self.x[k])}
        finite = np.flatnonzero(np.isfinite(self.y))
        left = finite[-1] + 1 if finite.size else self.y.size  # after the last finite value; none: no divergence
        diverged_at = _plain(self.x[left]) if left < self.y.size else None
        halved = after = None
        if not higher and start is not None and 0 < start < math.inf:
            kept = evidence(self.y, diverged)
            below = np.flatnonzero(np.isfinite(kept) & (kept <= start / 2))
            if below.size:  # never the first point, the start itself (> start / 2)
                halved, after = _plain(self.x[below[0]]), _plain(self.x[below[0] - 1])
        return {"start": start, "final": final, **best, "halved_at": halved, "halved_after": after,
                "diverged_at": diverged_at}


def _plain(value: Any) -> Any:
    value = float(value)
    return int(value) if value.is_integer() else value


@dataclass
class Comparison:
    metric: str
    x: str
    curves: list[Curve]
    differing: dict[str, list[Any]]  # dotted config key -> the value in each run (None where absent)

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.metric)

    def same_curves(self, rtol: float = 1e-9) -> list[list[str]]:
        """Labels of runs whose curves agree at every x to ``rtol`` (two or more each): drawn, the
        last hides the others. Descend at lr 0.1 and 0.9 on a parabola is one: both shrink the
        error by |1 - lr f''| = 0.8, on either side of the minimum (equal but for roundings)."""
        groups: list[tuple[Curve, list[str]]] = []
        for curve in self.curves:
            with np.errstate(over="ignore"):  # 1e308 - (-1e308) overflows to inf: not close, rightly
                same = next((labels for first, labels in groups if np.array_equal(first.x, curve.x)
                             and np.allclose(first.y, curve.y, rtol=rtol, atol=0.0, equal_nan=True)), None)
            if same is None:
                groups.append((curve, [curve.label]))
            else:
                same.append(curve.label)
        return [labels for _, labels in groups if len(labels) > 1]

    def scored(self) -> str | None:
        """The metric of :data:`SCORED_METRICS` that every run filled (see :func:`scored_metric`): read
        only for the note on different losses."""
        tables = [read_metrics_columns(_metrics_file(c.path), SCORED_METRICS) for c in self.curves]
        return scored_metric(frozenset.intersection(*(table.filled for table in tables)))

    def table(self) -> list[dict[str, Any]]:
        """One row per run: label, run id, status and :meth:`Curve.stats`."""
        return [{"label": c.label, "run": c.path.name, "status": c.status, **c.stats(self.higher_is_better)}
                for c in self.curves]

    def long_rows(self) -> dict[str, np.ndarray]:
        """The plotted numbers as columns of the long CSV (see the module docstring): the x column
        as integers when every x is one (steps, epochs), as :func:`_plain` writes a single value."""
        lengths = [len(c.x) for c in self.curves]
        x = np.concatenate([np.asarray(c.x, dtype=float) for c in self.curves] or [np.empty(0)])
        with np.errstate(invalid="ignore"):  # inf - inf: not whole, rightly
            whole = bool(np.all(x == np.round(x))) and float(np.abs(x).max(initial=0.0)) < 2.0**63
        return {"run": np.repeat([c.path.name for c in self.curves], lengths),
                "label": np.repeat([c.label for c in self.curves], lengths),
                self.x: x.astype(np.int64) if whole else x,
                self.metric: np.concatenate([np.asarray(c.y, dtype=float) for c in self.curves] or [np.empty(0)])}


def compare(runs: Sequence[str | os.PathLike], metric: str | None = None, x: str | None = None,
            root: str | os.PathLike | None = None) -> Comparison:
    """Read the runs' metrics and configs.

    Parameters
    ----------
    runs : run directories or unique parts of run names (resolved under ``root``), at least
        two, all different.
    metric, x : metrics.csv columns; default the first of :data:`DEFAULT_METRICS` /
        :data:`DEFAULT_X` the first run has.

    Raises
    ------
    InputError
        Fewer than two runs, a run twice, a run whose metrics.csv is missing, unreadable or
        without rows, or whose config.yaml is missing or unreadable, or a metric/x column
        some run does not have (the message lists the columns it has), or a metric that is also
        the x column. A damaged summary.json
        is no reason: the curves come from the metrics, and the run's status reads ``damaged``.
    """
    if len(runs) < 2:
        raise InputError(f"compare needs at least two runs, got {len(runs)}")
    paths = [resolve_run(r, root) for r in runs]
    seen: dict[Path, str] = {}
    for ref, path in zip(runs, paths):
        if path.resolve() in seen:
            raise InputError(f"run {str(ref)!r} is given twice (also as {seen[path.resolve()]!r})")
        seen[path.resolve()] = str(ref)
    first = _metrics_file(paths[0])
    header = read_metrics_header(first)  # the defaults are the first run's columns
    metric = metric or next((m for m in DEFAULT_METRICS if m in header), None) or "train_loss"
    x = x or next((m for m in DEFAULT_X if m in header), None) or "epoch"
    # only the two columns are read, as float arrays; a text cell in them is damage (gradlab writes
    # numbers, nan and inf included, or nothing)
    tables = [read_metrics_columns(_metrics_file(path), (x, metric)) for path in paths]
    infos = [inspect_run(p) for p in paths]
    kinds = {info.command: info.path.name for info in infos if info.command}
    if len(kinds) > 1:  # a descend run's f per step and a train run's loss per epoch share no axis
        raise InputError("compare needs runs of one kind, got " + " and ".join(
            f"a {command} run ({name})" for command, name in kinds.items()))
    columns = [table.header for table in tables]
    if metric == x:  # a curve of a column against itself says nothing (and the long CSV has one column per axis)
        other = next(c for c in (*DEFAULT_X, *columns[0]) if c in columns[0] and c != metric)  # one these runs have
        raise InputError(f"--metric and --x are both {metric!r}; plot a metric against another column "
                         f"(--x {other}, for instance)")
    for path, cols in zip(paths, columns):
        for option, name in (("--metric", metric), ("--x", x)):
            if name not in cols:
                choices = [c for c in cols if c not in TIMING_COLUMNS or option == "--x"]
                raise InputError(f"{option}: run {path.name} has no column {name!r}{did_you_mean(name, choices)}; "
                                 f"its columns: {', '.join(choices) or 'none'}")
    for option, name in (("--metric", metric), ("--x", x)):
        if not any(name in table.filled for table in tables):  # e.g. test_loss without a test split
            raise InputError(f"{option} {name}: the column is empty in every run, so there is nothing to "
                             f"compare; choose a column the runs filled")
    configs = _same_spelling([_flat_config(p) for p in paths])
    curves = []
    for table, config, info, label in zip(tables, configs, infos, _labels(infos)):
        xs, ys = table.values[x], table.values[metric]  # an empty cell is nan
        keep = np.isfinite(xs)
        curves.append(Curve(info.path, label, info.status, xs[keep], ys[keep], config, info.problem))
    return Comparison(metric, x, curves, differing_keys(configs))


def _metrics_file(path: Path) -> Path:
    """A run's metrics.csv; InputError when it is missing."""
    if not (path / METRICS_FILE).is_file():
        raise InputError(f"{path}: no {METRICS_FILE} to compare")
    return path / METRICS_FILE


def _flat_config(path: Path) -> dict[str, Any]:
    """A run's config as dotted keys, its components' default parameters written out as a training
    run since writes them: a run saved without them differs from a new one only where it trained otherwise."""
    from gradlab.config import flatten
    from gradlab.experiment import with_component_defaults

    return flatten(with_component_defaults(read_config(path)))


def _same_spelling(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A component written as text in one config (``loss: huber:delta=2``) and as a mapping in
    another (``loss.name: huber``, ``loss.delta: 1``) is compared in the mapping's keys in both,
    so the differing keys read ``loss.delta: 2, 1`` rather than ``loss`` and ``loss.name`` apart."""
    from gradlab.registry import split_spec

    mapped = {key.removesuffix(".name") for c in configs for key in c if key.endswith(".name")}
    aligned = []
    for config in configs:
        flat: dict[str, Any] = {}
        for key, value in config.items():
            if key in mapped and isinstance(value, str):
                try:
                    name, params = split_spec(value, key)
                except InputError:  # not a spec after all: compare it as written
                    flat[key] = value
                    continue
                flat.update({f"{key}.name": name, **{f"{key}.{p}": v for p, v in params.items()}})
            else:
                flat[key] = value
        aligned.append(flat)
    return aligned


def _labels(infos: Sequence[RunInfo]) -> list[str]:
    """The run names where they tell the runs apart, else name (or command) plus the id's suffix."""
    names = [i.name or i.command or i.path.name for i in infos]
    return [n if names.count(n) == 1 else f"{n}-{i.path.name.rsplit('-', 1)[-1]}" for n, i in zip(names, infos)]


def differing_keys(configs: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Dotted keys whose value is not the same in every (flattened) config; None marks absent."""
    keys = list(dict.fromkeys(k for c in configs for k in c))
    differing = {}
    for key in keys:
        values = [c.get(key, _ABSENT) for c in configs]
        if any(v != values[0] for v in values[1:]):
            differing[key] = [None if v is _ABSENT else v for v in values]
    return differing
