"""``gradlab runs`` (the run history, newest first) and ``gradlab runs show RUN``."""

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from rich.markup import escape

from gradlab.cli.common import App, examples, fmt, one_of, out, show_paths, show_table, titled_table, whole_number_option
from gradlab.names import LISTING_STATUSES, RUN_COMMANDS

HELP = (
    "List run directories, newest first: id, command, name, status, epochs/steps, final loss, best test "
    "accuracy, duration. Damaged or half-written directories are listed as 'damaged' or 'incomplete'.\n\n"
    + examples(
        "gradlab runs",
        "gradlab runs --command train --status completed --limit 5",
        "gradlab runs --dir runs/<sweep run>     # the points of a sweep",
        "gradlab runs show <id>",
        "gradlab runs --json | jq '.[0].path'",
    )
)

DirOption = Annotated[Optional[Path], typer.Option(
    "--dir", show_default=False, help="Where the runs are. Default: $GRADLAB_RUNS, else ./runs.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]

_STYLE = {"completed": "green", "diverged": "red", "failed": "red", "interrupted": "yellow", "running": "cyan",
          "incomplete": "magenta", "damaged": "bold magenta"}

runs_app = App(help=HELP, invoke_without_command=True, no_args_is_help=False, add_completion=False,
             rich_markup_mode="rich", context_settings={"help_option_names": ["-h", "--help"]})


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs", short_help="List run directories, newest first; show one.")


@runs_app.callback()
def runs(
    ctx: typer.Context,
    directory: DirOption = None,
    command: Annotated[Optional[str], typer.Option(
        "--command", show_default=False, help=f"Only runs of this command: {one_of(RUN_COMMANDS)}.")] = None,
    status: Annotated[Optional[str], typer.Option(
        "--status", show_default=False,
        help=f"Only runs with this status: {one_of(LISTING_STATUSES)}.")] = None,
    limit: Annotated[Optional[int], whole_number_option("--limit", "-n", show_default=False,
                                                        help="At most this many.")] = None,
    as_json: JsonOption = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from gradlab.errors import InputError, path_exists
    from gradlab.runs import list_newest_runs, root_source, runs_root

    where, named = runs_root(directory), root_source(directory, "--dir")
    there = path_exists(where, named)  # a missing $GRADLAB_RUNS or ./runs is an empty history; a file is none
    if there and not where.is_dir() or directory is not None and not there:
        raise InputError(f"{named} {str(where)!r}: " + ("a file, not a directory" if there else "no such directory"))
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be >= 1, got {limit}")
    found, matching = list_newest_runs(directory, command=command, status=status, limit=limit)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in found], indent=2))
        return
    if not found:
        out.print(f"no runs under {escape(str(where))}" + (" matching the filters" if command or status else ""))
        return
    show_table(_table(found, matching, where))
    for r in found:
        if r.problem:
            out.print(f"[{_STYLE[r.status]}]{r.status}[/]: {escape(r.id)}: {escape(r.problem)}", highlight=False)


@runs_app.command("show", help="Print a run's config, its summary and the paths of its plots.\n\n"
                  + examples("gradlab runs show runs/<run>", "gradlab runs show <id> --json"))
def show(
    ctx: typer.Context,
    run: Annotated[str, typer.Argument(metavar="RUN", show_default=False,
                                       help="A run directory, or a run id (or unique part of one).")],
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    from rich.table import Table

    from gradlab.config import flatten
    from gradlab.runs import CONFIG_FILE, inspect_run, resolve_run, to_plain

    group = ctx.parent.params if ctx.parent is not None else {}  # 'gradlab runs --dir D --json show ID' too
    directory = directory if directory is not None else group.get("directory")
    as_json = as_json or bool(group.get("as_json"))
    path = resolve_run(run, directory)
    info = inspect_run(path)
    where = path.resolve() if as_json else path  # absolute for scripts, as in 'gradlab runs --json'
    plots = sorted(str(p) for p in where.glob("*.png"))
    tables = sorted(str(p) for p in where.glob("*.csv"))
    if as_json:
        typer.echo(json.dumps(to_plain({**info.as_dict(), "config": _config_or_none(path), "summary": info.summary,
                                        "plots": plots, "tables": tables}), indent=2))  # dates, paths: as text
        return
    config_file = path / CONFIG_FILE
    config_text = config_file.read_text(encoding="utf-8", errors="replace") if config_file.is_file() else None
    style = _STYLE.get(info.status, "")
    out.print(f"[bold]{escape(info.id)}[/bold]  {escape(info.command or '?')}  [{style}]{info.status}[/]",
              highlight=False)
    show_paths(("path", path))
    if info.problem:
        out.print(f"[{style}]problem:[/] {escape(info.problem)}")
    out.print("\n[bold]config.yaml[/bold]")
    out.print(config_text.rstrip() if config_text is not None else "(missing)", markup=False, highlight=False,
              soft_wrap=True)
    out.print("\n[bold]summary.json[/bold]")
    if info.summary is None:
        out.print("(missing or unreadable)")
    else:
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        for key, value in flatten(info.summary).items():
            if key != "argv":  # command_line says the same in one line
                table.add_row(escape(key), escape(_cell(value)))  # file text: '[/b]' is no markup
        show_table(table)
    for heading, paths in (("plots", plots), ("tables", tables)):
        if paths or heading == "plots":  # "(none)" is said of plots; no tables, no heading
            out.print(f"\n[bold]{heading}[/bold]")
            for p in paths or ["(none)"]:
                out.print(p, highlight=False, soft_wrap=True)  # whole, for copying and grep


def _config_or_none(path: Path) -> dict | None:
    """The run's config as a mapping, or None when it is missing or damaged (``problem`` says why)."""
    from gradlab.errors import InputError
    from gradlab.runs import read_config

    try:
        return read_config(path)
    except InputError:
        return None


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return fmt(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def duration(seconds: float | None) -> str:
    """``7 ms``, ``1.4 s``, ``4 min 05 s``, ``2 h 03 min``; from 10000 hours on ``1.78e+07 h``, so that
    a duration recorded as 1e300 s stays one short cell."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds >= 3600 * 10000:
        return f"{fmt(seconds / 3600, 3)} h"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def short_id(run_id: str) -> str:
    """The random suffix of a run directory's name: unique, and enough for every command that takes a run."""
    suffix = run_id.rsplit("-", 1)[-1]
    return suffix if len(suffix) == 6 and run_id != suffix else run_id


#: the width the table's columns other than the name take at most (with their separators)
_OTHER_COLUMNS = 62


def _table(found, matching: int, where):
    """The listing as a rich table that reads at 80 columns: no vertical rules, one space between
    columns, two-line headers; a name too long for what is left ends in an ellipsis (--json has it whole).
    ``matching`` is how many runs the filters matched, of which --limit shows ``found``."""
    from rich import box

    from gradlab.errors import plural

    shown = f"{len(found)} of {matching} runs" if len(found) < matching else plural(matching, "run")
    table = titled_table(f"{shown} in {escape(str(where))}, newest first "
                         "(id: the end of the directory name; --json for paths)",
                         box=box.SIMPLE_HEAD, padding=0, show_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("command", no_wrap=True)
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=max(8, out.width - _OTHER_COLUMNS))
    table.add_column("status", no_wrap=True)
    table.add_column("epochs/\nsteps", justify="right", no_wrap=True)
    table.add_column("final\nloss", justify="right", no_wrap=True)
    table.add_column("best\ntest acc", justify="right", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    for r in found:
        progress = next((f"{v}{unit}" for v, unit in ((r.epochs, ""), (r.steps, ""), (r.points, " pts"))
                         if v is not None), "-")
        table.add_row(
            # names and commands come from files a user may edit: '[/b]' there is text, not markup
            escape(short_id(r.id)), escape(r.command or "?"), escape(r.name or ""),
            f"[{_STYLE.get(r.status, '')}]{r.status}[/]", progress,
            "-" if r.final_loss is None else fmt(r.final_loss, 4),
            "-" if r.best_test_accuracy is None else fmt(r.best_test_accuracy, 4),
            duration(r.duration_s),
        )
    return table
