"""``gradlab sweep``: train every point of a grid (x seeds), in parallel, and rank the grid points."""

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from gradlab.cli.common import (NameOption, OutOption, SetOption, err, examples, fmt, one_of, out, progress_bars, saved,
                                show_paths, show_table, titled_table, whole_number_option)
from gradlab.names import EXECUTORS

HELP = (
    "Train every combination of the --grid values (x --seeds) from one config, each point in its own run "
    "directory under one sweep directory with sweep.yaml and results.csv; rank the grid points by --metric "
    "(mean +- sd over the seeds); a heatmap when two keys vary. Every point is validated before anything runs.\n\n"
    "Values: a comma list (0.01,0.1,1 or mse,bce or \\[8],\\[16,16]), range(a,b[,step]) (b excluded) or "
    "logspace(a,b,n) (10**a to 10**b); quote brackets and parentheses for the shell. --seeds N runs seeds 1..N, --seeds 3,7 those seeds; each replaces "
    "the config's seed.\n\n"
    + examples(
        "gradlab sweep configs/xor.yaml --grid optimizer.lr=0.01,0.1,1 --grid 'model.hidden=[2],[8]' --seeds 3",
        "gradlab sweep configs/cat_dog.yaml --grid 'optimizer.lr=logspace(-2,1,4)' --grid loss=mse,bce --workers 2",
        "gradlab sweep configs/xor.yaml --grid 'training.epochs=range(50,201,50)' --executor dask",
        "gradlab sweep configs/xor.yaml --grid optimizer.lr=0.01,0.1 --executor dask --scheduler tcp://10.0.0.5:8786",
    )
)


def register(app: typer.Typer) -> None:
    app.command("sweep", help=HELP, short_help="Train a grid of configs x seeds in parallel; rank the results.")(sweep)


def sweep(
    config: Annotated[Path, typer.Argument(help="The base experiment's YAML file.", show_default=False)],
    grid: Annotated[Optional[list[str]], typer.Option(
        "--grid", "-g", metavar="KEY=VALUES", show_default=False,
        help="A dotted key and its values (repeatable): 0.01,0.1,1 | range(a,b,step) | logspace(a,b,n).")] = None,
    seeds: Annotated[Optional[str], typer.Option(
        "--seeds", metavar="N|LIST", show_default=False,
        help="N: seeds 1..N; or a list 3,7,11. Each replaces the config's seed. Default: the config's seed.")] = None,
    metric: Annotated[Optional[str], typer.Option(
        "--metric", show_default=False,
        help="Rank by the final value of this metric. Default: test_accuracy (test_r2 for regression, "
             "train_* without a test split).")] = None,
    workers: Annotated[Optional[int], whole_number_option(
        "--workers", "-j", show_default=False,
        help="Points run at once, each in its own process; 1 runs them here, one by one. Default: the number of cores.")] = None,
    executor: Annotated[str, typer.Option(
        "--executor", help=one_of(f"{name} ({escape(what)})" for name, what in EXECUTORS.items()) + ".")] = "process",
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", show_default=False,
        help="A running Dask scheduler, e.g. tcp://HOST:8786. Default with --executor dask: a LocalCluster here.")] = None,
    collect: Annotated[bool, typer.Option(
        "--collect", help="Dask workers return their run files to this process, which writes them "
                          "(no shared filesystem needed).")] = False,
    set_: SetOption = None,
    out_dir: OutOption = None,
    name: NameOption = None,
    plot: Annotated[bool, typer.Option("--plot/--no-plot", help="Also draw each point's training plots (slower).")] = False,
) -> None:
    from gradlab import executors, sweeps
    from gradlab.errors import InputError
    from gradlab.runs import SWEEP_FILE, Run, write_yaml

    if not grid and not seeds:
        raise InputError("sweep needs --grid KEY=VALUES or --seeds N (or both)")
    if collect and executor != "dask":
        raise InputError("--collect needs --executor dask (process workers share this filesystem)")
    plan = sweeps.plan(config, grid or [], seeds, set_ or [], metric)  # every point checked: exit 2 before any directory
    pool = executors.create(executor, workers, scheduler, points=len(plan.points))
    try:
        execution = {"executor": pool.name, "workers": pool.workers, "scheduler": getattr(pool, "address", None),
                     "collect": collect, "plots": plot}
        run_name = name or plan.base.get("name")
        run = Run.create("sweep", plan.base, name=run_name, out=out_dir)
        with run:
            # first: a sweep stopped at any later moment has its results.csv (points not started: cancelled)
            results = sweeps.Results(plan, run.path)
            try:
                run.update(reproduce=_reproduce(run.argv, config))
                write_yaml(run.file(SWEEP_FILE), plan.spec(**execution))
                _say_plan(plan, pool, run.path)
                _run(plan, run, pool, collect, plot, results)
            finally:
                if results.unfinished():  # stopped before the executor had the points (it closes its own)
                    results.close_unfinished()
            summaries = sweeps.rank(results)
            undrawn = False
            try:  # after a Ctrl-C too: drawn from the points that finished, the others' cells missing
                files = _heatmap(results, summaries, run)
            except KeyboardInterrupt:  # a (second) Ctrl-C while drawing: results.csv and every run are saved
                files, results.interrupted, undrawn = [], True, True
            counts = results.counts()
            best = summaries[0] if summaries and summaries[0].mean is not None else None
            run.finish(
                "interrupted" if results.interrupted else "completed",
                points=len(plan.points), groups=plan.groups, metric=plan.metric, counts=dict(counts),
                best=None if best is None else {"values": _values_of(plan, best.group), "mean": best.mean,
                                                "sd": best.sd, "n": best.n},
                results=sweeps.RESULTS_FILE, plots=[p.name for p in files if p.suffix == ".png"],
            )
    finally:
        pool.close()

    show_table(_ranking(plan, summaries))
    _say_notes(plan, summaries, best)
    out.print(f"points: {', '.join(f'{n} {s}' for s, n in counts.most_common())}")
    show_paths(("results", results.path))
    for path in files:
        show_paths(("heatmap", path))
    saved(run.path)
    if results.interrupted:
        _say_interrupted(counts, undrawn)
        raise typer.Exit(130)
    if counts.get("failed", 0) == len(plan.points):
        raise typer.Exit(1)


def _say_notes(plan, summaries, best) -> None:
    """The notes on the ranking, on stderr (stdout is the table and paths): losses on no one scale,
    a best point whose mean leaves out runs, the points with unmeasured runs and why."""
    from gradlab.comparison import scored_metric, varies_loss

    if plan.metric.endswith("loss") and varies_loss(plan.grid):  # mse's numbers beside bce's ranked mse first
        scored = scored_metric(plan.metrics)
        instead = f": rank them by --metric {scored}" if scored else ""
        err.print(f"note: the points use different losses, whose values are not on one scale{instead}",
                  markup=False, highlight=False, soft_wrap=True)
    if best is not None and best.n < best.total:  # ranked by its survivors: 2 of 4 seeds diverged, the mean is of 2
        err.print(f"note: the best point, {best.label()}, is a mean over {best.n} of its {best.total} runs "
                  f"({', '.join(best.others)})", markup=False, highlight=False, soft_wrap=True)
    for s in summaries:
        if s.unmeasured:  # config and file text: no markup
            err.print(f"note: {s.label()}: {s.unmeasured_runs} unmeasured (completed with no final "
                      f"{plan.metric}): {s.unmeasured}", markup=False, highlight=False, soft_wrap=True)


def _say_interrupted(counts, undrawn: bool) -> None:
    """The line for a Ctrl-C: what became of the points, unless every one had finished before a Ctrl-C
    while the heatmap was drawn (``undrawn``), and then that the heatmap is not drawn."""
    stopped = counts.get("interrupted", 0) + counts.get("cancelled", 0)
    said = []
    if stopped or not undrawn:
        said.append("finished points are kept; the ones running are marked interrupted, the ones not started "
                    "cancelled (results.csv and their summaries)")
    if undrawn:
        said.append("while the heatmap was drawn: it is not (heatmap.png)")
    out.print("[yellow]interrupted[/yellow]: " + "; ".join(said))


def _say_plan(plan, pool, path) -> None:
    sizes = " x ".join(str(len(v)) for v in plan.grid.values()) or "1"
    seeds = f" x {len(plan.seeds)} seeds" if plan.seeds else ""
    many = pool.workers != 1
    where = {"serial": "one by one in this process",
             "process": f"{pool.workers} worker process{'es' * many}",
             "dask": f"Dask at {getattr(pool, 'address', '?')} ({pool.workers} worker{'s' * many})"}[pool.name]
    direction = "higher" if plan.higher_is_better else "lower"
    out.print(f"sweep: {len(plan.points)} points ({sizes} grid{seeds}), {where}; ranked by {plan.metric} "
              f"({direction} is better)", highlight=False, soft_wrap=True)  # one line, for a script reading it
    if plan.fixed_data_seed is not None:
        err.print(f"note: data.seed is {plan.fixed_data_seed} in the config, so the seeds change the initialisation "
                  f"and the shuffling, not the data", highlight=False, soft_wrap=True)  # a note: stderr
    show_paths(("sweep directory", path))


def _run(plan, run, pool, collect: bool, plot: bool, results):
    from gradlab import sweeps

    progress = progress_bars("points", "{task.fields[counts]}")
    points = {p.index: p for p in plan.points}

    def on_result(result, results) -> None:
        counts = results.counts()
        done = sum(n for status, n in counts.items() if status != "pending")
        progress.update(bar, completed=done, counts=" ".join(
            f"{status} {n}" for status, n in sorted(counts.items()) if status != "pending"))
        if result.status in ("failed", "diverged"):
            style = "red" if result.status == "failed" else "yellow"
            why = result.error or result.stop_reason
            err.print(f"[{style}]{result.status}[/]: point {result.index} "  # config and error text, on stderr
                      f"({escape(points[result.index].label())}, seed {plan.seed_of(points[result.index])}): "
                      f"{escape(str(why))}", highlight=False, soft_wrap=True)

    with progress:
        bar = progress.add_task("sweep", total=len(plan.points), counts="")
        return sweeps.execute(plan, run.path, pool, plots=plot, argv=run.argv, collect=collect, on_result=on_result,
                              results=results)


def _heatmap(results, summaries, run) -> list:
    from gradlab import sweeps

    table = sweeps.heatmap_table(results, summaries)
    if table is None:
        return []
    from gradlab.plots.sweep import heatmap

    return heatmap(table, results.plan.metric, results.plan.higher_is_better, run.file("heatmap.png"))


def _values_of(plan, group: int) -> dict:
    """A grid point's values as sweep.yaml holds them (0.1, [8]), not as the table shows them ('0.1', '[8]')."""
    return dict(next(p.values for p in plan.points if p.group == group))


def _reproduce(argv: list[str], config: Path) -> str:
    """The sweep's own command line, its config named by an absolute path so that it runs from anywhere."""
    import shlex

    at = next((i for i, arg in enumerate(argv) if i > 0 and arg == str(config)), None)
    if at is not None:
        argv = [*argv[:at], str(config.absolute()), *argv[at + 1:]]
    return shlex.join(argv)


def _ranking(plan, summaries):
    many = plan.seed_count > 1
    title = f"grid points ranked by final {plan.metric}" + (f", mean ± sd over {plan.seed_count} seeds" if many else "")
    table = titled_table(title)
    # in a narrow window a grid value folds onto a second line rather than being cut to 'b…',
    # and the short columns keep their width rather than being squeezed out of the table
    table.add_column("rank", justify="right", no_wrap=True)
    for key in plan.grid:
        table.add_column(key, overflow="fold")
    table.add_column(plan.metric, justify="right", no_wrap=True)
    table.add_column("runs ok", justify="right", no_wrap=True)
    table.add_column("other runs")
    table.add_column("s / run", justify="right", no_wrap=True)
    for rank, s in enumerate(summaries, start=1):
        value = "-" if s.mean is None else fmt(s.mean, 4) + (f" ± {fmt(s.sd, 2)}" if s.sd is not None else "")
        table.add_row(str(rank) if s.mean is not None else "-", *(escape(str(v)) for _, v in s.values), value,
                      f"{s.n}/{s.total}", ", ".join(s.others), "-" if s.duration_s is None else f"{s.duration_s:.2g}")
    return table
