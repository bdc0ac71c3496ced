"""What every command shares: the consoles, common options and number formatting.

Command modules import the library (and NumPy) inside their functions, so that
``gradlab --help`` stays as fast as a bare Typer app.
"""

import contextlib
import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from typer.core import TyperArgument, TyperCommand, TyperGroup


class _StdoutConsole(Console):
    """Standard output. When its reader goes away, rich's own handling exits with SystemExit(1),
    which a run directory would record as a failure; this one stops the command as Ctrl-C does."""

    closed = False

    def on_broken_pipe(self) -> None:
        from gradlab.errors import OutputClosed

        self.quiet = self.closed = True
        silence_stdout()
        raise OutputClosed


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone, so that Python's final flush of what is
    still buffered does not fail on the closed pipe again ('Exception ignored ... BrokenPipeError')."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is no real file (captured, as in tests)
        pass
    finally:
        os.close(devnull)


out = _StdoutConsole(highlight=False)
err = Console(stderr=True, highlight=False)


class Stopped(Exception):
    """A Ctrl-C, SIGTERM or closed stdout (a ``KeyboardInterrupt``, its ``__cause__``) that left a
    command, carried past Typer to :func:`gradlab.cli.app.main`, which says what stopped it.

    Typer handles a KeyboardInterrupt itself: 0.29 turns it into a bare exit code 130, 0.12 printed
    a blank line first. Either way ``main`` could no longer tell a Ctrl-C, whose "interrupted" it
    prints, from SIGTERM or from a closed pipe.
    """


class _Command(TyperCommand):
    """A command whose arguments are named in upper case, as the README names them, and whose
    usage line shows them plainly: ``gradlab train [OPTIONS] CONFIG``.

    Typer (0.29) names an argument without a metavar by its parameter (``config``) and wraps a
    required one in braces on the usage line (``{config}``, ``{RUN...}...``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:  # also what "Missing argument 'CONFIG'" and the help's table call it
            if isinstance(param, TyperArgument) and param.metavar is None:
                param.metavar = param.name.upper()

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            pieces.extend([_usage_name(param)] if isinstance(param, TyperArgument) else param.get_usage_pieces(ctx))
        return pieces


def _usage_name(argument: TyperArgument) -> str:
    """``CONFIG``, ``[KIND]`` (optional), ``NAME...`` (repeatable): an argument on the usage line."""
    name = argument.metavar or argument.name.upper()
    if argument.nargs != 1 and not name.endswith("..."):
        name += "..."
    return name if argument.required else f"[{name}]"


class _Group(TyperGroup):
    """gradlab and its sub-apps (``runs``): a KeyboardInterrupt that leaves a command, while its
    options or gradlab's own are read or while it runs, goes on as :class:`Stopped`."""

    def make_context(self, *args: Any, **kwargs: Any):
        with _interrupts_carried():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with _interrupts_carried():
            return super().invoke(ctx)


@contextlib.contextmanager
def _interrupts_carried() -> Iterator[None]:
    try:
        yield
    except KeyboardInterrupt as stop:
        raise Stopped from stop


class App(typer.Typer):
    """The Typer app of gradlab and its sub-apps: a :class:`_Group` of :class:`_Command` s."""

    def __init__(self, *args: Any, cls: Optional[type[TyperGroup]] = None, **kwargs: Any) -> None:
        super().__init__(*args, cls=cls or _Group, **kwargs)

    def command(self, *args: Any, cls: Optional[type[TyperCommand]] = None, **kwargs: Any):
        return super().command(*args, cls=cls or _Command, **kwargs)


#: the metavar of an argument that takes a config file or a training run (the README's words)
CONFIG_OR_RUN = "CONFIG|RUN_DIR"


def _directory_named(value: Optional[str]) -> Optional[str]:
    # an empty --out would become Path("") == ".": run directories strewn over the current directory
    if value is not None and not value.strip():
        raise typer.BadParameter("an empty path; name a directory (--out . for the current one)")
    return value


OutOption = Annotated[
    Optional[str],
    typer.Option("--out", help="Root directory for run directories. Default: $GRADLAB_RUNS, else ./runs.",
                 show_default=False, callback=_directory_named),
]
SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", metavar="KEY=VALUE", help="Override a config value (repeatable): a dotted key, "
                 "a value read as YAML (0.5, [16,16], adam), checked like the file.", show_default=False),
]
def _run_name(value: Optional[str]) -> Optional[str]:
    # checked as it is parsed (an empty --name '' was otherwise taken as no name at all); the
    # InputError becomes the usual "error: --name ..." line
    if value is None:
        return value
    from gradlab.runs import check_name

    return check_name(value)


NameOption = Annotated[
    Optional[str],
    typer.Option("--name", help="A short name added to the run directory's name: 1-64 letters, digits, "
                 "'_', '.' or '-', starting with a letter or digit.", show_default=False, callback=_run_name),
]


def _read_by_the_rule(value: str, kind: str) -> float:
    """``value`` read as a float, if it is written by the README's rule for numbers; else a usage error
    saying that the option takes ``kind`` ("a number", "a whole number") written so.

    float() and int() also read '1_0' and fullwidth digits: the README's rule does not. ``1e309``,
    which float() reads as inf, is refused as typed (the CLI adds ", got '1e309'").
    """
    from gradlab.errors import BEYOND_FLOAT64, overflows_float
    from gradlab.registry import NUMBER_TEXT

    if not NUMBER_TEXT.fullmatch(value):
        raise typer.BadParameter(f"Input should be {kind} in ASCII decimal or scientific notation")
    number = float(value)
    if overflows_float(value, number):
        raise typer.BadParameter(BEYOND_FLOAT64)
    return number


def parse_number(value: str | float) -> float:
    """The parser of every float option (``parser=parse_number``): the number typed, or a usage error.

    Typer would read ``--lr 1e309`` as inf, and the check of the setting would then say "got inf",
    a value the user never typed; here it is refused as typed (the CLI adds ", got '1e309'").
    ``inf`` and ``nan`` typed as such are read, and left to each setting's own check.
    """
    if not isinstance(value, str):  # an option's default passes through here too
        return value
    return _read_by_the_rule(value, "a number")


def parse_whole_number(value: str | int, min: int | None = None, max: int | None = None) -> int:
    """The parser of every whole-number option (see :func:`whole_number_option`): the whole number
    typed, within [min, max] where given, or a usage error.

    The text means what it means in a config (the schema's :data:`~gradlab.config.Int`): written by
    the README's rule for numbers (Typer's int() read ``--steps 1_0`` as 10), and whole: ``17``,
    ``3.0`` and ``1e3`` are 17, 3 and 1000; ``3.5`` is refused.
    """
    if not isinstance(value, str):  # an option's default passes through here too
        return value
    number = _read_by_the_rule(value, "a whole number")
    if not (math.isfinite(number) and number.is_integer()):
        raise typer.BadParameter("Input should be a whole number")
    try:
        whole = int(value)  # written as an integer: read exactly (a float has 53 bits)
    except ValueError:
        whole = int(number)  # 1e3, 3.0: a whole float converts exactly
    if min is not None and whole < min:  # in Typer's own words, which it no longer checks (see below)
        raise typer.BadParameter(f"Input should be greater than or equal to {min}")
    if max is not None and whole > max:
        raise typer.BadParameter(f"Input should be less than or equal to {max}")
    return whole


def whole_number_option(*flags: str, min: int | None = None, max: int | None = None, **kwargs) -> Any:
    """``typer.Option(*flags, **kwargs)`` for a whole number, read by :func:`parse_whole_number`.

    Typer skips its own ``min``/``max`` check for an option with a parser, but still shows the range
    in the help (``<int range> [1<=x<=17]``): the bounds are given here once, for both.
    """
    # named like the function it wraps: Typer 0.12 reads the parser's __name__, which a partial lacks
    parser = functools.update_wrapper(functools.partial(parse_whole_number, min=min, max=max),
                                      parse_whole_number)
    return typer.Option(*flags, parser=parser, min=min, max=max, **kwargs)


def one_of(names) -> str:
    """``"gd, momentum or adam"``: names for a help text, written from the tuple that owns them."""
    names = list(names)
    return " or ".join(filter(None, [", ".join(names[:-1]), names[-1]]))


def examples(*lines: str) -> str:
    """Format example command lines for a command's help text (shown under 'Examples')."""
    return "[bold]Examples[/bold]\n\n" + "\n\n".join(f"  [cyan]{line}[/cyan]" for line in lines)


def fmt(value: float | str, digits: int = 6) -> str:
    """Format a number with ``digits`` significant digits, without trailing noise (6.8 not 6.800000).

    ``digits`` of 17, all a float64 has, give the fewest digits that read back to the same number,
    as the run's files write it (3.16269046588709, not 3.1626904658870898; 0.1, not
    0.10000000000000001). Non-finite values read back from JSON arrive as text ("nan", "inf") and
    are shown as such; negative zero is shown as 0.
    """
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    value += 0.0  # turns -0.0 (e.g. f = -x**2 at x = 0) into 0: '-0' reads as an error
    if digits >= 17:  # repr's digits and notation (20, not 2e+01), without JSON's '.0'
        text = repr(value)
        return text.removesuffix(".0")
    return f"{value:.{digits}g}"


def r2_label(outputs: int) -> str:
    """How a table names R^2: 'R^2' for one output, else the pooled one training logs (1 - sum SSE / sum SST over
    the outputs), which leans to the widest target."""
    return "R^2" if outputs == 1 else "R^2, pooled over outputs"


def weight_penalty(experiment) -> str:
    """'l2 = 1' when training adds a weight penalty (``training.l1``, ``l2``), '' when it does not."""
    s = experiment.settings
    return ", ".join(f"{name} = {fmt(value)}" for name, value in (("l1", s.l1), ("l2", s.l2)) if value)


def weight_decay_formula(experiment) -> str:
    """The gradient of training's weight penalty, with the terms it has: 'l2 W', 'l1 sign(W)' or both."""
    s = experiment.settings
    return " + ".join([*(["l2 W"] if s.l2 else []), *(["l1 sign(W)"] if s.l1 else [])])


def weight_penalty_formula(experiment) -> str:
    """Training's weight penalty spelt out with the terms it has, for a command whose numbers include it:
    'R = sum over W of l2/2 ||W||^2 (l2 = 1; biases not penalised)' (with l1 alone, no l2 term whose value is
    never given)."""
    s = experiment.settings
    terms = " + ".join([*(["l2/2 ||W||^2"] if s.l2 else []), *(["l1 |W|_1"] if s.l1 else [])])
    return f"R = sum over W of {terms} ({weight_penalty(experiment)}; biases not penalised)"


#: bytes an output file's name must leave free below the file system's longest name: the names written beside
#: it are up to this much longer (``_step_study`` and a temporary file's ``.`` and ``.<pid>.tmp``)
NAME_ROOM = 32


def check_output_file(path: Path, suffix: str, option: str = "--output",
                      inputs: tuple[tuple[str, Path], ...] = ()) -> None:
    """Refuse an output file that cannot be written, or must not be, before any work is done (exit 2).

    Its directory must exist: a typo in it would otherwise create a tree of new folders
    (``/nonexist/x.png`` made ``/nonexist``). ``inputs`` are the ``(what, path)`` the command reads,
    e.g. ``("data file", data)``: the file may not be one, nor lie in an input directory or in a run
    directory. What a command writes beside the file (a plot's CSV) shares its folder, so is refused
    with it.
    """
    import tempfile

    from gradlab.errors import InputError, longest_name, path_exists

    if path.suffix.lower() != suffix:
        raise InputError(f"{option} must name a {suffix} file, got {str(path)!r}")
    if path_exists(path, option) and path.is_dir():  # looked up whole first: a name too long, a symlink loop
        raise InputError(f"{option}: {str(path)!r} is a directory; name a {suffix} file in it")
    parent = path.absolute().parent
    existing = next(p for p in (parent, *parent.parents) if p.exists())
    if not existing.is_dir():  # before "does not exist": -o animals.csv/x.csv names a file as its folder
        raise InputError(f"{option}: {str(existing)!r} is a file, not a directory")
    _refuse_overwriting(path, option, inputs)  # first: 'inside the run' says more than a missing sub-folder
    if not parent.is_dir():
        raise InputError(f"{option}: directory {str(path.parent)!r} does not exist")
    longest = longest_name(parent)
    if len(path.name.encode()) + NAME_ROOM > longest:  # found only after the work, by a file written beside it
        raise InputError(f"{option}: the file name is {len(path.name.encode())} bytes; this directory takes names of up "
                         f"to {longest}, and the files written beside it (a chart's '_step_study', a temporary "
                         f"file's '.<pid>.tmp') need {NAME_ROOM} more")
    try:  # a file made and removed: os.access says yes to root, also on /proc and /sys
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".gradlab-probe-"):
            pass
    except OSError as error:
        raise InputError(f"{option}: cannot create a file in directory {str(parent)!r} ({error.strerror})") from None


def _refuse_overwriting(path: Path, option: str, inputs) -> None:
    """Refuse ``path`` where writing it, or a file beside it, would replace what the command reads or
    a run's own record: ``compare A B -o A/metrics.png`` put the comparison's CSV in place of A's
    metrics.csv."""
    import os

    from gradlab.errors import InputError
    from gradlab.runs import enclosing_run

    # os.path's isdir and isfile say False to an input the system refuses to look up (a name too
    # long), which the command then refuses under its own name when it reads it
    folders = [("the run directory", run)] if (run := enclosing_run(path)) else []
    folders += [(f"the input {what}", given) for what, given in inputs if os.path.isdir(given)]
    for where, folder in folders:
        if path.absolute().parent.resolve().is_relative_to(folder.resolve()):
            raise InputError(f"{option}: {str(path)!r} lies inside {where} {str(folder)!r}; writing there could "
                             f"overwrite the run's own files, so name a file outside it")
    for what, given in inputs:
        if path.exists() and os.path.isfile(given) and path.samefile(given):
            raise InputError(f"{option}: {str(path)!r} is the input {what}; writing there would overwrite the "
                             f"{what}, so name another file")


def show_paths(*labelled: tuple[str, object]) -> None:
    """Print ``label: path`` pairs on one line, e.g. ``run directory: runs/2026...-train-xor-1a2b3c``.

    Paths are escaped (one may hold brackets like ``[red]``, which rich would read as markup)
    and never wrapped: piped into a file or ``grep``, rich would otherwise break a long path
    at 80 columns, and the line would no longer hold it whole.
    """
    from rich.markup import escape

    out.print("  ".join(f"[dim]{label}:[/dim] {escape(str(path))}" for label, path in labelled), soft_wrap=True)


def progress_bars(label: str, *texts: str, disable: bool = False):
    """A transient rich ``Progress`` on stdout, as every gradlab command draws one: ``label`` in bold
    (rich markup, e.g. ``{task.description}``), the bar, done/total and the time elapsed, then one
    column per extra markup text in ``texts``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    *map(TextColumn, texts), console=out, transient=True, disable=disable)


def titled_table(title: str, **options: Any):
    """A rich ``Table`` with its title above it on the left, in bold, as every titled table gradlab prints."""
    from rich.table import Table

    return Table(title=title, title_justify="left", title_style="bold", **options)


def show_table(table) -> None:
    """Print a rich table whole. In a terminal it fits the window, as rich does; piped (``| tee``,
    ``| less``, a CI log) rich would squeeze it into 80 columns and cut the numbers short with
    an ellipsis, so there it gets the width it needs.

    A table that does not expand is drawn at its natural width whatever room it is given, so
    piped output is printed with room to spare instead of measuring the table first (which
    costs as much as a third of printing it).
    """
    if out.is_terminal:
        out.print(table)
        return
    detected = out._width  # print(width=...) only narrows; the console's own width must change, then return
    out.width = _PIPED_WIDTH
    try:
        out.print(table)
    finally:
        out._width = detected


#: room for a piped table: far more than any table gradlab prints needs
_PIPED_WIDTH = 10_000


def saved(run_path: Path) -> None:
    """Tell the user where the run directory is."""
    show_paths(("run directory", run_path))


@contextlib.contextmanager
def named_if_stopped(run: Any) -> Iterator[Any]:
    """Enter ``run`` (a :class:`~gradlab.runs.Run`) and yield it; a Ctrl-C or SIGTERM that stops the
    work still names its directory (status interrupted, what was done kept), before ``main`` says
    "interrupted". A closed stdout names nothing: its reader has gone."""
    from gradlab.errors import OutputClosed

    try:
        with run:
            yield run
    except KeyboardInterrupt as stop:
        if not isinstance(stop, OutputClosed):
            saved(run.path)
        raise
