"""Sweeps: one training run per grid point and seed, all under one sweep directory.

The pieces, in the order ``gradlab sweep`` uses them:

- :func:`plan` reads the base config, applies ``--set``, expands ``--grid``/``--seeds``
  (:mod:`gradlab.grid`) and builds *every* grid point once, so that a bad key or value is
  reported (exit 2) before any directory exists.
- :func:`run_point` trains one point into its own run directory. It is a top-level,
  picklable function that never prints, so a process pool or a Dask cluster can run it.
  It never raises either: a failure is a result with status ``failed``.
- :class:`Results` keeps ``results.csv`` (one row per point) consistent: it is rewritten
  atomically whenever a point finishes, so it is complete at every moment.
- :func:`execute` feeds the points to an executor (:mod:`gradlab.executors`) and handles
  Ctrl-C: finished points are kept, running ones become ``interrupted``, the points never
  started ``cancelled``.
- :func:`rank` aggregates the seeds of each grid point (mean and sample standard deviation
  of the final value of the metric, over the seeds whose run completed).

Layout of a sweep directory (itself a run directory of command ``sweep``)::

    config.yaml     the base config with the --set overrides applied
    sweep.yaml      the grid, the seeds, the metric and the base config: the whole sweep
    results.csv     point, group, <one column per grid key>, seed, status, epochs,
                    final_<metric>..., best_<metric>..., duration_s, run_dir, error
    summary.json    status, counts per status, the best grid point
    heatmap.png/.csv   when exactly two keys vary: the mean metric per grid point
    <stamp>-train-p001-<hex>/ ...   one complete training run directory per point
"""

from __future__ import annotations

import math
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradlab.comparison import bounds, higher_is_better, varies_loss
from gradlab.errors import ConfigError, InputError, did_you_mean, plural
from gradlab.grid import Point, expand, parse_grid, parse_seeds, show, show_values
from gradlab.processes import signals_deferred
from gradlab.runs import PackedRun
from gradlab.training import best_index

RESULTS_FILE = "results.csv"
#: the metrics results.csv reports (final and best) when the experiments log them
MAIN_METRICS = ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "train_r2", "test_r2")
#: the ``error`` of a point that Ctrl-C stopped while it ran, and of one it kept from starting
INTERRUPTED = "interrupted while it ran (the sweep was stopped)"
CANCELLED = "cancelled before it started"


@dataclass
class Plan:
    """A validated sweep: every point builds. ``base`` is the raw config after ``--set``."""

    config_path: Path
    base: dict[str, Any]
    overrides: dict[str, Any]
    grid: dict[str, list[Any]]
    seeds: list[int] | None
    points: list[Point]
    metric: str
    metrics: list[str]  # reported in results.csv as final_<m> and best_<m>

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.metric)

    @property
    def fixed_data_seed(self) -> int | None:
        """The ``data.seed`` the config pins while ``--seeds`` is given (a run's saved
        config.yaml pins it), which the seeds then do not change; None otherwise."""
        data = self.base.get("data")
        if self.seeds and isinstance(data, Mapping) and "data.seed" not in self.grid:
            return data.get("seed")
        return None

    @property
    def seed_count(self) -> int:
        """How many seeds each grid point trains with: those of ``--seeds``, else the config's one."""
        return len(self.seeds) if self.seeds else 1

    @property
    def groups(self) -> int:
        return max((p.group for p in self.points), default=0)

    def spec(self, **execution: Any) -> dict[str, Any]:
        """The content of ``sweep.yaml``: enough to run the sweep again."""
        return {
            "config": str(self.config_path.resolve()),
            "grid": self.grid,
            "seeds": self.seeds,
            "seeds_rule": "each seed replaces the config's seed" if self.seeds else "the config's own seed",
            "set": self.overrides,
            "metric": self.metric,
            "direction": "higher is better" if self.higher_is_better else "lower is better",
            "points": len(self.points),
            **execution,
            "base_config": self.base,
        }

    def seed_of(self, point: Point) -> int:
        """The seed the point trains with: from ``--seeds``, else a ``--grid seed`` value, else the config's."""
        if point.seed is not None:
            return point.seed
        return int(dict(point.values).get("seed", self.base.get("seed", 0)))

    def tasks(self, out: str | None, *, plots: bool, argv: Sequence[str]) -> list[PointTask]:
        """What each worker needs; ``out=None`` makes workers return their files (``--collect``)."""
        from gradlab.overrides import apply_overrides

        width = max(3, len(str(len(self.points))))
        return [PointTask(index=p.index, name=f"p{p.index:0{width}d}", config=apply_overrides(self.base, p.overrides),
                          base_dir=str(self.config_path.parent.resolve()), out=out, plots=plots, argv=list(argv),
                          metrics=list(self.metrics))
                for p in self.points]


def plan(
    config: str | os.PathLike,
    grid_items: Sequence[str],
    seeds: str | None = None,
    sets: Sequence[str] = (),
    metric: str | None = None,
) -> Plan:
    """Read, expand and validate a sweep; every problem is raised before anything runs.

    Raises
    ------
    InputError
        A malformed ``--grid``/``--seeds``/``--set``, an unknown key (with a did-you-mean), a
        key both set and swept, or an unknown ``--metric``.
    ConfigError
        Grid points that do not build, each line naming the ``--grid`` value responsible
        when one value alone is enough to fail, else the whole point.
    """
    from gradlab.experiment import ExperimentConfig, component_identity, config_values
    from gradlab.overrides import parse_overrides
    from gradlab.training import metric_columns

    config = Path(config)
    overrides = parse_overrides(sets)
    grid = parse_grid(grid_items, model=ExperimentConfig, identify=component_identity)
    base = config_values(config, overrides, swept=grid)
    both = [k for k in grid if k in overrides]
    if both:
        raise InputError(f"--grid {both[0]} and --set {both[0]}: a key is either swept or set, not both")
    seed_list = parse_seeds(seeds)
    if seed_list is not None and "seed" in grid:
        raise InputError("--grid seed and --seeds both choose the seeds: use one of them")
    points = expand(grid, seed_list)

    columns: dict[str, None] = {}
    kinds: set[tuple[str, bool]] = set()  # (task, has a test set) over the grid points
    failures: list[tuple[Point, str]] = []
    firsts = list(_first_of_each_group(points))
    for point in firsts:
        try:
            experiment = _build(base, point.overrides, config.parent)
        except InputError as error:
            failures.append((point, str(error)))
            continue
        has_test = experiment.X_test is not None
        columns.update(dict.fromkeys(metric_columns(experiment.network, experiment.settings.task)))
        kinds.add((experiment.settings.task, has_test))
    if failures:
        raise ConfigError(_diagnose(base, config.parent, failures, overrides, all_failed=len(failures) == len(firsts)))

    available = _reported(kinds)
    if metric is None:
        metric = next(m for m in ("test_accuracy", "test_r2", "train_accuracy", "train_r2", "train_loss")
                      if m in available)
    else:
        if metric.startswith("test_") and metric in MAIN_METRICS and not any(has_test for _, has_test in kinds):
            raise InputError(f"--metric {metric}: the data have no test split (data.test_fraction is 0)")
        if metric in MAIN_METRICS and metric not in available:  # accuracy of a regression, R^2 of a classifier
            task, score = ("regression", "accuracy") if metric.endswith("accuracy") else ("classification", "R^2")
            raise InputError(f"--metric {metric}: the runs are {task}, which logs no {score}; "
                             f"rank by one of {', '.join(available)}")
        choices = [c for c in columns if c not in ("epoch", "time_s")]
        if metric not in choices:
            raise InputError(f"--metric: unknown metric {metric!r}{did_you_mean(metric, choices)}; "
                             f"the runs log: {', '.join(choices)}")
    metrics = [m for m in MAIN_METRICS if m in available]
    if metric not in metrics:
        metrics.append(metric)
    return Plan(config, base, overrides, grid, seed_list, points, metric, metrics)


def _first_of_each_group(points: Iterable[Point]) -> list[Point]:
    seen: dict[int, Point] = {}
    for p in points:
        seen.setdefault(p.group, p)
    return list(seen.values())


def _reported(kinds: set[tuple[str, bool]]) -> list[str]:
    """The main metrics that have values for some grid point."""
    classification = any(task != "regression" for task, _ in kinds)
    regression = any(task == "regression" for task, _ in kinds)
    test = any(has_test for _, has_test in kinds)
    wanted = {"train_loss": True, "test_loss": test, "train_accuracy": classification,
              "test_accuracy": classification and test, "train_r2": regression, "test_r2": regression and test}
    return [m for m in MAIN_METRICS if wanted[m]]


def _build(base: Mapping[str, Any], overrides: Mapping[str, Any], base_dir: Path):
    from gradlab.experiment import build
    from gradlab.overrides import apply_overrides

    return build(apply_overrides(base, overrides), base_dir=base_dir)


def _diagnose(base: Mapping[str, Any], base_dir: Path, failures: list[tuple[Point, str]],
              overrides: Mapping[str, Any], all_failed: bool = True) -> str:
    """One line per problem: a --grid value that fails on its own is blamed by name; a problem of
    the file or of a ``--set`` that every point shares is said once (naming the ``--set``); grid
    points that fail only in combination are described by the first of them, with how many more
    fail, rather than one line each. While some point builds (``all_failed`` False), no problem
    is every point's: ``--set model.output=identity`` is fine for ``loss=mse`` and wrong only for
    the ``loss=bce`` point, which is then the one blamed."""
    from gradlab.experiment import ExperimentConfig
    from gradlab.overrides import name_overrides

    shared: list[str] = []
    if all_failed:
        try:
            _build(base, {}, base_dir)
        except InputError as error:  # the file's or a --set's problem: every point has it
            shared = str(error).splitlines()
    lines = name_overrides("\n".join(shared), overrides, ExperimentConfig).splitlines() if shared else []
    combinations: list[tuple[Point, str]] = []
    for point, message in failures:
        own = [line for line in message.splitlines() if line not in shared]
        if not own:
            continue
        blamed = []
        for key, value in point.values:
            try:
                _build(base, {key: value}, base_dir)
            except InputError as error:  # named as a --set is: '--grid training.batch_size=0: must be ...'
                own = "\n".join(line for line in str(error).splitlines() if line not in shared)
                blamed += name_overrides(own, {key: value}, ExperimentConfig, "--grid", every_line=True,
                                         written={key: f"{key}={show(value)}"}).splitlines() if own else []
        if blamed:
            lines += blamed
        else:
            combinations.append((point, "\n".join(own)))
    if combinations:
        (point, message), more = combinations[0], len(combinations) - 1
        described = [f"--grid point {point.label()}: {line}" for line in message.splitlines()]
        if more:
            described[-1] += f" (and {plural(more, 'more failing grid point')})"
        lines += described
    return "\n".join(_once_per_key(dict.fromkeys(lines), failures))


def _once_per_key(lines: Iterable[str], failures: list[tuple[Point, str]]) -> list[str]:
    """'--grid KEY: message' once where every value of KEY gets the same message: a misspelt key
    (``optimizer.lrr``) is the key's problem, not one line per value."""
    values: dict[str, set[str]] = {}
    for point, _ in failures:
        for key, value in point.values:
            values.setdefault(key, set()).add(f"{key}={show(value)}")
    parsed = []  # (line, key, key=value as written, message)
    for line in lines:
        written, _, message = line.removeprefix("--grid ").partition(": ")
        parsed.append((line, written.partition("=")[0], written, message))
    blamed: dict[tuple[str, str], set[str]] = {}
    for _, key, written, message in parsed:
        blamed.setdefault((key, message), set()).add(written)
    whole = {(key, message) for (key, message), given in blamed.items()
             if len(given) > 1 and given == values.get(key)}
    out = [f"--grid {key}: {message}" if (key, message) in whole else line for line, key, _, message in parsed]
    return list(dict.fromkeys(out))


# --- one point ------------------------------------------------------------------------------


@dataclass
class PointTask:
    """Everything a worker needs to train one point (plain data: it travels by pickle)."""

    index: int
    name: str
    config: dict[str, Any]
    base_dir: str
    out: str | None  # the sweep directory; None: train in a temporary one and return the files
    plots: bool
    argv: list[str]
    metrics: list[str]


@dataclass
class PointResult:
    """How a point ended, with the final and best value of each reported metric."""

    index: int
    status: str
    epochs: int | None = None
    stop_reason: str = ""
    final: dict[str, float | None] = field(default_factory=dict)
    best: dict[str, float | None] = field(default_factory=dict)
    run_dir: str | None = None
    duration_s: float | None = None
    error: str | None = None
    worker: str | None = None
    packed: PackedRun | None = None


def _describe(result: PointResult, history, metrics: Sequence[str]) -> None:
    """Fill ``result`` from a finished run's ``history``: its status, and each metric's final and best value."""
    result.status, result.epochs, result.stop_reason = history.status, history.epochs, history.stop_reason
    if history.status == "interrupted":
        result.error = INTERRUPTED
    for metric in metrics:
        values = [r.get(metric) for r in history.rows]
        best = best_index(values, higher_is_better(metric), history.status == "diverged")
        result.final[metric] = values[-1] if values else None
        result.best[metric] = None if best is None else values[best]


def import_point_modules(plots: bool) -> None:
    """Import the modules a point's build and run import lazily: the data sources, the
    initialisers and schedules, and matplotlib when it draws. Done before a point's clock
    starts, so that a fresh worker's first point is not timed with them: its ``duration_s``
    (the ranking's s / run) read up to 8 times its neighbours'."""
    import gradlab.datasets  # noqa: F401
    import gradlab.engine.init  # noqa: F401
    import gradlab.engine.schedules  # noqa: F401
    import gradlab.machine  # noqa: F401

    if plots:  # matplotlib loads much of itself on a first figure and its first PNG
        import io

        import gradlab.plots.training  # noqa: F401
        from gradlab.plots import new_figure

        fig, ax = new_figure()
        ax.plot([0.0, 1.0])
        fig.savefig(io.BytesIO(), format="png")


def run_point(task: PointTask) -> PointResult:
    """Train one point into its run directory and describe the outcome. Never prints, never raises."""
    from gradlab.experiment import build
    from gradlab.runner import REPRODUCE, execute
    from gradlab.runs import Run, mark_interrupted, pack_run

    import_point_modules(task.plots)
    started = time.perf_counter()
    result = PointResult(task.index, "failed", worker=f"{platform.node()}:{os.getpid()}")
    scratch = history = None

    def finished() -> None:  # the run directory is final: describe the point, and pack a scratch run
        _describe(result, history, task.metrics)
        if scratch is not None:
            result.packed = pack_run(run.path)

    try:
        with signals_deferred():  # a Ctrl-C meanwhile interrupts the point once its directory is complete
            experiment = build(task.config, base_dir=task.base_dir)
            root = task.out or (scratch := tempfile.mkdtemp(prefix="gradlab-point-"))
            run = Run.create("train", experiment.resolved, name=task.name, out=root, argv=task.argv,
                             reproduce=REPRODUCE)
            result.run_dir = str(run.path)
        with run:
            history = execute(experiment, run, plots=task.plots)
        finished()
    except KeyboardInterrupt:
        # the deferred Ctrl-C came before training (the summary still says running), or one came
        # after the run directory was final: the point is what its directory says (a worker takes
        # one Ctrl-C only). results.csv said "interrupted" beside a summary saying "completed".
        marked = result.run_dir is not None and mark_interrupted(result.run_dir, INTERRUPTED)
        if history is not None and not marked:
            finished()
        else:
            result.status, result.error = "interrupted", INTERRUPTED
    except Exception as error:  # noqa: BLE001 - a failing point is a result; the sweep goes on
        result.status = "failed"
        result.error = f"{type(error).__name__}: {error}"
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    result.duration_s = round(time.perf_counter() - started, 6)
    return result


# --- results.csv ----------------------------------------------------------------------------


class Results:
    """The rows of ``results.csv``, one per point, rewritten atomically as points finish."""

    def __init__(self, plan: Plan, directory: Path) -> None:
        self.plan = plan
        self.directory = Path(directory)
        self.path = self.directory / RESULTS_FILE
        self.keys = list(plan.grid)
        columns = ["point", "group", *self.keys, "seed", "status", "epochs",
                   *(f"final_{m}" for m in plan.metrics), *(f"best_{m}" for m in plan.metrics),
                   "duration_s", "run_dir", "error"]
        self.columns = list(dict.fromkeys(columns))  # --grid seed=...: one seed column
        self.interrupted = False  # set by execute() when Ctrl-C stopped the sweep early
        self.rows: dict[int, dict[str, Any]] = {}
        for p in plan.points:
            # the grid values last: a --grid seed value stays text, like every grid value (the table shows it)
            self.rows[p.index] = {"point": p.index, "group": p.group, "seed": plan.seed_of(p),
                                  **p.shown, "status": "pending"}
        self.write()

    def write(self) -> None:
        from gradlab.runs import write_table

        write_table(self.path, self.columns, [self.rows[i] for i in sorted(self.rows)])

    def record(self, result: PointResult) -> None:
        """Store a finished point (writing its files first when the worker returned them)."""
        from gradlab.runs import unpack_run

        run_dir = result.run_dir
        if result.packed is not None:
            run_dir = str(unpack_run(result.packed, self.directory))
            result.packed = None  # the bytes are on disk now
        row = self.rows[result.index]
        row.update(status=result.status, epochs=result.epochs, duration_s=result.duration_s, error=result.error,
                   run_dir=os.path.relpath(run_dir, self.directory) if run_dir else None)
        for m in self.plan.metrics:
            row[f"final_{m}"] = result.final.get(m)
            row[f"best_{m}"] = result.best.get(m)
        self.write()

    def unfinished(self) -> list[int]:
        return [i for i, row in self.rows.items() if row["status"] == "pending"]

    def close_unfinished(self) -> None:
        """After an interruption: a point whose run directory exists was running (``interrupted``,
        and its summary says so too); one without had not started (``cancelled``)."""
        from gradlab.runs import mark_interrupted

        dirs = self.point_dirs()
        for index in self.unfinished():
            row = self.rows[index]
            path = dirs.get(index)
            if path is not None:
                mark_interrupted(path, INTERRUPTED)
                row.update(status="interrupted", run_dir=path.name, error=INTERRUPTED)
            else:
                row.update(status="cancelled", error=CANCELLED)
        self.write()

    def point_dirs(self) -> dict[int, Path]:
        """Run directories of the points in the sweep directory, by point number."""
        from gradlab.runs import inspect_run, is_run_dir

        found = {}
        for path in self.directory.iterdir():
            if is_run_dir(path):
                name = inspect_run(path).name or ""
                if name[:1] == "p" and name[1:].isdigit():
                    found[int(name[1:])] = path
        return found

    def counts(self) -> Counter:
        return Counter(row["status"] for row in self.rows.values())


# --- running --------------------------------------------------------------------------------


def execute(plan: Plan, directory: Path, executor, *, plots: bool = False, argv: Sequence[str] = (),
            collect: bool = False, on_result: Callable[[PointResult, Results], None] | None = None,
            results: Results | None = None) -> Results:
    """Run every point through ``executor`` into ``directory``; returns the results (``results``, when
    the caller wrote results.csv already), with ``interrupted`` set when Ctrl-C (or an interrupted
    point) stopped the sweep early."""
    results = results or Results(plan, directory)
    tasks = plan.tasks(None if collect else str(Path(directory).resolve()), plots=plots, argv=argv)
    try:
        for result in executor.results(tasks):
            results.record(result)
            if on_result is not None:
                on_result(result, results)
            if result.status == "interrupted":  # a point caught Ctrl-C (serial runs catch it in fit)
                results.interrupted = True
                break
    except KeyboardInterrupt:
        results.interrupted = True
    finally:
        if results.unfinished():
            try:
                for result in executor.stop():
                    results.record(result)
            finally:
                results.close_unfinished()
    return results


# --- aggregation ----------------------------------------------------------------------------


@dataclass
class GroupSummary:
    """A grid point over its seeds: the mean and sample sd of the metric's final value over
    the completed runs (``n`` of ``total``), how the runs ended, and why the other completed runs
    (:attr:`unmeasured_runs`) have no value of the metric (``unmeasured``)."""

    group: int
    values: tuple[tuple[str, str], ...]
    mean: float | None
    sd: float | None
    n: int
    total: int
    statuses: Counter
    duration_s: float | None
    unmeasured: str | None = None

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values)

    @property
    def unmeasured_runs(self) -> int:
        """The runs that completed with no value of the metric to average (``unmeasured`` says why)."""
        return self.statuses["completed"] - self.n

    @property
    def others(self) -> list[str]:
        """The runs not in the mean, by how they ended: ``['2 diverged', '1 unmeasured']`` (what the
        ranking's "other runs" column and a heatmap cell say); empty when all ``total`` are."""
        return [*(f"{n} {status}" for status, n in sorted(self.statuses.items()) if status != "completed"),
                *([f"{self.unmeasured_runs} unmeasured"] if self.unmeasured_runs else [])]


def rank(results: Results) -> list[GroupSummary]:
    """Grid points best first by the mean of ``final_<metric>`` (direction from the metric);
    exact ties (accuracy 1.0 twice) go to the lower mean final loss when every point uses the
    same loss, else they stay in grid order (an MSE and a cross-entropy are on different
    scales); grid points without a completed run come last."""
    metric = results.plan.metric
    tiebreak = _loss_tiebreak(results.plan)
    by_group: dict[int, list[dict[str, Any]]] = {}
    for row in results.rows.values():
        by_group.setdefault(row["group"], []).append(row)
    summaries, losses = [], {}
    for group, rows in by_group.items():
        completed = [row for row in rows if row["status"] == "completed"]
        values = _finite(row.get(f"final_{metric}") for row in completed)
        durations = _finite(row.get("duration_s") for row in rows)
        tied = _finite(row.get(f"final_{tiebreak}") for row in completed) if tiebreak else []
        losses[group] = statistics.fmean(tied) if tied else float("inf")
        summaries.append(GroupSummary(
            group, tuple((k, rows[0][k]) for k in results.keys),
            statistics.fmean(values) if values else None,
            statistics.stdev(values) if len(values) > 1 else None,
            len(values), len(rows), Counter(row["status"] for row in rows),
            statistics.fmean(durations) if durations else None,
            _unmeasured(completed, metric),
        ))
    sign = -1.0 if results.plan.higher_is_better else 1.0
    summaries.sort(key=lambda s: (s.mean is None, sign * s.mean if s.mean is not None else 0.0, losses[s.group], s.group))
    return summaries


def _unmeasured(completed: Sequence[Mapping[str, Any]], metric: str) -> str | None:
    """Why completed runs have no final value of ``metric`` to average, e.g. ``the data have no
    test split (data.test_fraction is 0)``; None when every completed run has one."""
    missing = [row for row in completed if not _finite([row.get(f"final_{metric}")])]
    if not missing:
        return None
    if metric.startswith("test_") and all(row.get("final_test_loss") is None for row in missing):
        return "the data have no test split (data.test_fraction is 0)"  # test_loss is logged whenever there is one
    if all(row.get(f"final_{metric}") is None for row in missing):
        return f"the runs log no {metric}"
    return "its final value is not a finite number"


def _loss_tiebreak(plan: Plan) -> str | None:
    """The loss column that breaks exact ties of the metric: none when the grid varies the loss
    (``loss`` or one of its parameters), whose values would then not be comparable."""
    if varies_loss(plan.grid):
        return None
    return next((m for m in ("test_loss", "train_loss") if m in plan.metrics and m != plan.metric), None)


def _finite(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def heatmap_table(results: Results, summaries: Sequence[GroupSummary]) -> dict[str, Any] | None:
    """With exactly two grid keys: the values of each key in grid order and, per (row value,
    column value) as nested lists, the mean metric (None where no run has a value), its sd, the
    number of runs ``n`` it is taken over of the ``total`` the grid point has, and the ``others``
    (:attr:`GroupSummary.others`); with the seeds per point and the metric's ``bounds`` (0 to 1 for
    an accuracy; else None)."""
    if len(results.keys) != 2:
        return None
    rows_key, cols_key = results.keys
    row_values = show_values(results.plan.grid[rows_key])
    col_values = show_values(results.plan.grid[cols_key])
    cells = {(dict(s.values)[rows_key], dict(s.values)[cols_key]): s for s in summaries}

    def table(attribute: str, empty: Any) -> list[list[Any]]:
        """Each cell's summary ``attribute``, row by row; ``empty`` where no grid point is."""
        return [[getattr(cells.get((r, c)), attribute, empty) for c in col_values] for r in row_values]

    return {"keys": (rows_key, cols_key), "rows": row_values, "columns": col_values, "mean": table("mean", None),
            "sd": table("sd", None), "n": table("n", 0), "total": table("total", 0), "others": table("others", []),
            "seeds": results.plan.seed_count,
            "bounds": bounds(results.plan.metric)}
