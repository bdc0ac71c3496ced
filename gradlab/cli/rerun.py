"""``gradlab rerun``: run a run again from its config.yaml and check that the numbers are the same."""

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from gradlab.cli.common import OutOption, err, examples, out, saved, show_paths

HELP = (
    "Re-run a train or descend run from its config.yaml into a new run directory, then compare the two "
    "metrics.csv files cell by cell (timing columns ignored). Exit 0 when identical, 1 when not.\n\n"
    + examples("gradlab rerun runs/<run>", "gradlab rerun <id> --quiet")
)


def register(app: typer.Typer) -> None:
    app.command("rerun", help=HELP, short_help="Re-run a run from its config and check the metrics are identical.")(
        rerun)


def rerun(
    run: Annotated[str, typer.Argument(metavar="RUN", show_default=False,
                                       help="A run directory, or a run id (or unique part of one) under "
                                            "$GRADLAB_RUNS, else ./runs (not --out, which is where the new run goes).")],
    out_dir: OutOption = None,
    plot: Annotated[Optional[bool], typer.Option("--plot/--no-plot", show_default=False,
                                                 help="Draw the plots. Default: as the original did.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the comparison, not the run's own output (a run "
                                                              "that diverged is still named, on stderr).")] = False,
) -> None:
    from gradlab.runs import METRICS_FILE, TIMING_COLUMNS, compare_metrics_counted, resolve_run

    original = resolve_run(run)
    summary = _check_original(original)
    if plot is None:
        plot = bool(summary.get("plots"))
    new_run, status = _RERUNNERS[summary["command"]](original, summary, out_dir, plot, quiet)
    if quiet:  # the run's own output, which says it, is left out: 'identical' alone hid two runs that blew up
        _say_diverged(summary, new_run.summary)

    # an interrupted rerun never finished: whether it would have been identical is unknown (null), not false
    interrupted = status == "interrupted"
    # an interrupted original stops at a row the rerun has no match for (train's holds the state mid-epoch
    # where it stopped), and has none after it: the rows before that one are compared
    partial = not interrupted and summary.get("status") == "interrupted"
    with _compared_files(original / METRICS_FILE, new_run.path / METRICS_FILE, partial) as (first, second):
        # rows: counted as compared, in the one pass over both files (blank lines are no rows)
        difference, rows = (None, 0) if interrupted else compare_metrics_counted(first, second)
    # absolute: the summary is read later from anywhere, where a path relative to today's cwd means nothing
    new_run.update(rerun_of=str(original.resolve()), identical=None if interrupted else difference is None,
                   difference=None if difference is None else difference.message)
    show_paths(("rerun of", original))
    saved(new_run.path)
    ignored = ", ".join(sorted(TIMING_COLUMNS))
    if interrupted:
        out.print("[yellow]interrupted[/yellow]: the rerun stopped early, so its metrics are not comparable")
        raise typer.Exit(130)
    stopped = (" before the original's last: it was interrupted, and that row holds the state where it stopped"
               if partial else "")
    if difference is None:
        out.print(f"[green]identical[/green]: metrics.csv matches the original in all {rows} rows{stopped} "
                  f"({ignored} ignored)")
        return
    out.print(f"[red]different[/red]: {escape(difference.message)}{stopped and ' (compared: the rows' + stopped + ')'}",
              highlight=False)  # cells are file text
    raise typer.Exit(1)


def _say_diverged(original: dict, rerun: dict) -> None:
    """Say on stderr, in one line, which of the two runs diverged and where (nothing when neither
    did): ``diverged: the original and the rerun, both at epoch 7``."""
    runs = {"the original": original, "the rerun": rerun}
    where = {who: _stopped_at(s) for who, s in runs.items() if s.get("status") == "diverged"}
    if not where:
        return
    if len(where) == 2 and where["the original"] == where["the rerun"]:
        text = f"the original and the rerun, both {where['the original']}"
    else:
        text = ", ".join(f"{who} {at}" for who, at in where.items())
        text += "".join(f" ({who} {s.get('status')})" for who, s in runs.items() if who not in where)
    err.print(f"[yellow]diverged[/]: {escape(text)}", highlight=False, soft_wrap=True)


def _stopped_at(summary: dict) -> str:
    """``at epoch 7`` (a train run), ``at step 11`` (a descend run): where a run stopped, as its summary counts."""
    unit, count = ("epoch", summary.get("epochs")) if summary.get("command") == "train" else ("step", summary.get("steps"))
    return f"at {unit} {count}" if count is not None else "at an unrecorded " + unit


@contextlib.contextmanager
def _compared_files(original: Path, rerun: Path, partial: bool) -> Iterator[tuple[Path, Path]]:
    """The two metrics files to compare: the files themselves, or with ``partial`` (an interrupted
    original) copies of the original without its last row and of the rerun's as many first rows."""
    if not partial:
        yield original, rerun
        return
    with tempfile.TemporaryDirectory(prefix="gradlab-rerun-") as scratch:
        first, second = Path(scratch) / "original.csv", Path(scratch) / "rerun.csv"
        with open(original, encoding="utf-8", newline="") as lines:
            rows = sum(1 for line in lines if line.strip()) - 2  # less the header and the last row
        _copy_head(original, first, rows)
        _copy_head(rerun, second, rows)
        yield first, second


def _copy_head(source: Path, target: Path, rows: int) -> None:
    """Copy the header and the first ``rows`` non-blank lines after it of a metrics file."""
    count = 0
    with open(source, encoding="utf-8", newline="") as reader, open(target, "w", encoding="utf-8", newline="") as writer:
        writer.write(reader.readline())
        for line in reader:
            if count >= rows:
                break
            if line.strip():
                writer.write(line)
                count += 1


def _check_original(original: Path) -> dict:
    """The summary of the run to re-run, once the whole run is known to be usable.

    Everything is checked before anything is trained, so a run that cannot be compared
    leaves no new run directory behind.

    Raises
    ------
    InputError
        summary.json unreadable or not an object; a command rerun cannot repeat; config.yaml
        or metrics.csv missing; any damage :func:`gradlab.runs.inspect_run` finds (a summary
        field of the wrong type, config.yaml not a YAML mapping, metrics.csv not text); or a
        metrics.csv without rows, which leaves nothing to compare the rerun with.
    """
    from gradlab.errors import InputError
    from gradlab.runs import CONFIG_FILE, METRICS_FILE, inspect_run, read_summary, require_metrics_rows

    summary = read_summary(original)
    command = summary.get("command")
    if command not in _RERUNNERS:
        raise InputError(f"{original}: rerun reproduces {' and '.join(_RERUNNERS)} runs, this is a "
                         f"{command or 'unknown'} run")
    for name in (CONFIG_FILE, METRICS_FILE):
        if not (original / name).is_file():
            raise InputError(f"{original}: no {name}, so there is nothing to {'re-run' if name == CONFIG_FILE else 'compare'}")
    info = inspect_run(original)
    if info.status == "damaged":
        raise InputError(f"{original} is damaged: {info.problem}")
    require_metrics_rows(original / METRICS_FILE)
    return summary


def _train(original: Path, summary: dict, out_dir, plot: bool, quiet: bool):
    from gradlab.cli.train import show_stop, train_reported
    from gradlab.errors import ConfigError, in_file
    from gradlab.experiment import load_experiment
    from gradlab.runner import REPRODUCE
    from gradlab.runs import CONFIG_FILE, Run

    try:
        experiment = load_experiment(original / CONFIG_FILE)
    except ConfigError as error:  # the file is implicit in 'gradlab rerun RUN': name it on every line
        raise in_file(error, original / CONFIG_FILE) from None
    run = Run.create("train", experiment.resolved, name=summary.get("name"), out=out_dir, reproduce=REPRODUCE)
    history = train_reported(experiment, run, plots=plot, quiet=quiet)
    if not quiet:
        show_stop(history)
    return run, history.status


def _descend(original: Path, summary: dict, out_dir, plot: bool, quiet: bool):
    from gradlab.cli.descend import prepare, record, report, show_setup
    from gradlab.runs import CONFIG_FILE

    cfg, expr, descent = prepare({"plot": plot}, original / CONFIG_FILE)
    if not quiet:
        show_setup(expr, descent.settings)
    result = record(cfg, expr, descent, out_dir)
    if not quiet:
        report(cfg, expr, descent, result)
    return result.run, result.run.status


# The command recorded in summary.json -> how to run it again; a new computing command adds itself here.
_RERUNNERS = {"train": _train, "descend": _descend}
