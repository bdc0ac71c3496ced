"""``gradlab compare``: several runs' curves in one plot, their final and best values, and the
config keys in which they differ."""

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from gradlab.cli.common import (
    NameOption, OutOption, check_output_file, err, examples, fmt, named_if_stopped, out, saved, show_paths,
    show_table, titled_table,
)

HELP = (
    "Overlay one metric of several runs in a PNG (+ CSV, long format: run, label, x, metric), print "
    "their start, final and best values, and the config keys that differ between them.\n\n"
    + examples(
        "gradlab compare runs/*-train-saturation_mse-* runs/*-train-saturation_ce-*   # MSE plateau against cross-entropy",
        "gradlab compare RUN RUN RUN --metric test_accuracy --linear",
        "gradlab compare RUN RUN --output lr.png",
    )
)


def register(app: typer.Typer) -> None:
    app.command("compare", help=HELP, short_help="Overlay the curves of several runs; show what differs.")(compare)


def compare(
    runs: Annotated[list[str], typer.Argument(metavar="RUN...", show_default=False,
                                              help="Two or more run directories or run ids (ids under "
                                                   "$GRADLAB_RUNS, else ./runs).")],
    metric: Annotated[Optional[str], typer.Option(
        "--metric", show_default=False, help="The metrics.csv column to plot. Default: train_loss (f for descend runs).")] = None,
    x: Annotated[Optional[str], typer.Option(
        "--x", show_default=False, help="The x axis column. Default: epoch (step for descend runs).")] = None,
    log: Annotated[Optional[bool], typer.Option(
        "--log/--linear", show_default=False,
        help="Log or linear y axis. Default: log when the values span more than two decades.")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", show_default=False, help="Write the PNG (and the CSV beside it) here instead of a run directory.")] = None,
    out_dir: OutOption = None,
    name: NameOption = None,
) -> None:
    from gradlab.comparison import compare as read_runs, varies_loss
    from gradlab.errors import InputError, plural

    _check_options(output, out_dir, name, runs)
    comparison = read_runs(runs, metric, x)
    hidden = 0
    if log:  # a log axis shows only values > 0: say what the picture leaves out, before any run exists
        import numpy as np

        values = np.concatenate([c.y for c in comparison.curves])
        hidden = int(np.sum(values <= 0))
        if not np.any(values > 0):
            raise InputError(f"--log: no value of {comparison.metric} is > 0, and a log axis shows only those; "
                             f"use --linear")
    show_table(_values_table(comparison))
    if hidden:
        err.print(f"[dim]note: --log leaves out {plural(hidden, 'value')} of {escape(comparison.metric)} that "
                  f"{'is' if hidden == 1 else 'are'} <= 0[/dim]", soft_wrap=True)  # notes: stderr, as train's warnings
    show_table(_differing_table(comparison))
    for labels in comparison.same_curves():
        err.print(f"[dim]note: {escape(' and '.join(labels))} have the same {escape(comparison.metric)} at every "
                  f"{escape(comparison.x)}: on the plot the last hides the others[/dim]", soft_wrap=True)
    for curve in comparison.curves:
        if curve.problem:
            err.print(f"[dim]note: {escape(curve.label)} is {curve.status}: {escape(curve.problem)}[/dim]", soft_wrap=True)
    for row in comparison.table():
        if row["diverged_at"] is not None:  # its best is before that: a -inf loss is no best, but divergence
            err.print(f"[dim]note: {escape(row['label'])}'s {escape(comparison.metric)} is not finite from "
                      f"{escape(comparison.x)} {_show(row['diverged_at'])} on (final {_show(row['final'])}): "
                      f"diverged values, never the best[/dim]", soft_wrap=True)
        elif row["status"] == "diverged":  # final 0.72 beside best 0.36 read as a mistake
            halved = "" if comparison.higher_is_better else f", nor where {escape(comparison.metric)} halved"
            err.print(f"[dim]note: {escape(row['label'])} diverged: its last row, the final value, is logged at "
                      f"weights beyond use and is never the best{halved}[/dim]", soft_wrap=True)
    if comparison.metric.endswith("loss") and varies_loss(comparison.differing):  # also loss.name, loss.delta
        scored = comparison.scored()  # train_accuracy, test_r2, ...: one the runs have (regression has no accuracy)
        err.print("[dim]note: the runs use different losses, whose values are not on one scale: compare the shapes "
                  f"(plateau, halving time){f', or --metric {scored}' if scored else ''}[/dim]", soft_wrap=True)

    from gradlab.plots.compare import overlay

    if output is not None:
        try:
            files = overlay(comparison, output, log)
        except OSError as error:  # a directory that refuses new files (/proc): bad --output, not a bug
            raise InputError(f"--output: cannot write {str(output)!r}: {error.strerror}") from None
        show_paths(("plot", files[0]), ("numbers", files[1]))
        return
    from gradlab.runs import Run

    spec = {"runs": [str(c.path.resolve()) for c in comparison.curves], "metric": comparison.metric,
            "x": comparison.x, "log": log}
    with named_if_stopped(Run.create("compare", spec, name=name, out=out_dir)) as run:
        files = overlay(comparison, run.file("compare.png"), log)
        run.finish("completed", metric=comparison.metric, x=comparison.x, runs=comparison.table(),
                   differing=comparison.differing, plots=[p.name for p in files if p.suffix == ".png"])
    saved(run.path)


def _check_options(output: Path | None, out_dir: Path | None, name: str | None, runs: list[str]) -> None:
    """Refuse a bad --output, --out or --name before any run is read or anything is printed."""
    from gradlab.errors import InputError
    from gradlab.runs import check_root, is_run_dir

    if output is not None:  # the runs given as directories (as find_run reads them); any other is a run gradlab made
        check_output_file(output, ".png",
                          inputs=tuple(("run", Path(run)) for run in runs if is_run_dir(Path(run))))
        if out_dir is not None or name is not None:  # as gradlab plot refuses them
            raise InputError("--output writes no run directory: --out and --name do not apply")
    if output is None:  # only a run directory needs the run root
        check_root(out_dir)


def _show(value: Any) -> str:
    """A value in a table cell: ``-`` for none, numbers to 6 digits, lists and mappings as JSON."""
    from gradlab.runs import to_plain

    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return fmt(value)
    if isinstance(value, str):
        return value
    return json.dumps(to_plain(value))


def _values_table(comparison):
    lower = not comparison.higher_is_better
    table = titled_table(f"{comparison.metric} per {comparison.x} ({'lower' if lower else 'higher'} is better)")
    table.add_column("run", style="bold", no_wrap=True)
    table.add_column("status")
    for head in ("start", "final", f"best ({comparison.x})"):
        table.add_column(head, justify="right")
    if lower:
        table.add_column(f"halved at {comparison.x}", justify="right")
    for row in comparison.table():
        best = "-" if row["best"] is None else f"{fmt(row['best'])} ({_show(row['best_at'])})"
        cells = [escape(row["label"]), row["status"], _show(row["start"]), _show(row["final"]), best]
        if lower:
            cells.append(_halved(row))
        table.add_row(*cells)
    return table


def _halved(row) -> str:
    """When the metric halved, to the resolution of the log: ``212`` when the x logged before was
    211, ``by 10 (logged every 5)`` when it may have halved at any x after 5 up to 10."""
    if row["halved_at"] is None:
        return "never"
    gap = row["halved_at"] - row["halved_after"]
    if gap == 1 and isinstance(row["halved_at"], int):
        return _show(row["halved_at"])
    return f"by {_show(row['halved_at'])} (logged every {_show(gap)})"


def _differing_table(comparison):
    from rich.text import Text

    if not comparison.differing:
        return Text("the runs' configs are identical")
    table = titled_table("config keys that differ")
    table.add_column("key", style="bold")
    for curve in comparison.curves:
        table.add_column(escape(curve.label), overflow="fold")
    for key, values in comparison.differing.items():  # keys and values are config text: '[/b]' is no markup
        table.add_row(escape(key), *(escape(_show(v)) for v in values))
    return table
