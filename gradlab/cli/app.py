"""The ``gradlab`` Typer app and ``main()``, which maps errors to messages and exit codes.

Exit codes: 0 success (a diverged experiment included: it is a result), 1 a failure
while running, 2 bad input, 130 interrupted by Ctrl-C.
"""

import importlib
import os
import signal
import sys
import threading
import traceback
from typing import Annotated, Optional

import typer

try:  # Typer >= 0.22 vendors its own copy of click
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover - older Typer on plain click
    from click import exceptions as click

from gradlab import __version__
from gradlab.cli.common import App, Stopped, examples, out, silence_stdout

# Each module defines ``register(app)``; the order is the order in ``gradlab --help``.
COMMAND_MODULES: tuple[str, ...] = (
    "descend", "train", "predict", "sweep", "rerun", "runs", "compare",
    "explain", "gradcheck", "landscape", "plot", "listing",
)

app = App(
    name="gradlab",
    help="A lab for gradient descent and backpropagation: run, see and test how networks learn.\n\n"
    + examples(
        "gradlab descend --lr 0.1 --x0 8",
        "gradlab train configs/cat_dog.yaml",
        "gradlab plot sigmoid --derivative",
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"debug": False}
_NO_ARGS_IS_HELP = getattr(click, "NoArgsIsHelpError", ())


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"gradlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback when something fails "
                                        "(also accepted after the command).")] = False,
) -> None:
    _state["debug"] = _state["debug"] or debug


for _module in COMMAND_MODULES:
    importlib.import_module(f"gradlab.cli.{_module}").register(app)


def _fail(message: str, code: int) -> int:
    for line in message.splitlines() or [""]:  # a config with several problems: one line each
        print(f"error: {line}", file=sys.stderr)
    return code


#: the shell's exit status for a process ended by SIGPIPE (128 + 13), as for `yes | head -1`
_SIGPIPE_EXIT = 141


def _closed_pipe() -> int:
    """Stop without a word when stdout's reader has gone: the exit status of a process ended by
    SIGPIPE (see :func:`~gradlab.cli.common.silence_stdout`)."""
    silence_stdout()
    return _SIGPIPE_EXIT


def _take_debug(args: list[str]) -> tuple[list[str], bool]:
    """Remove ``--debug`` wherever it stands before ``--``: ``gradlab descend ... --debug`` works too."""
    end = args.index("--") if "--" in args else len(args)
    kept = [a for a in args[:end] if a != "--debug"]
    return kept + args[end:], len(kept) < end


def _echo_value(error: click.UsageError, args: list[str]) -> str:
    """", got '0'": what the user typed for the option an error is about, if the message omits it.

    Typer's range and type checks say "Input should be greater than or equal to 1" without
    the value; an error line names the field, the value and what is allowed.
    """
    option = getattr(error, "param", None)
    if getattr(option, "param_type_name", "") != "option":  # arguments are echoed by their own checks
        return ""
    count = max(option.nargs, 1)
    end = args.index("--") if "--" in args else len(args)
    for i in reversed(range(end)):  # click keeps the last of a repeated option: echo that one
        arg = args[i]
        if arg in option.opts:
            typed = " ".join(args[i + 1 : i + 1 + count])
        elif arg.startswith(tuple(f"{name}=" for name in option.opts)):
            typed = arg.partition("=")[2]
        else:
            continue
        message = error.format_message()
        return "" if repr(typed) in message or f"got {typed}" in message else f", got {typed!r}"
    return ""


def _on_sigterm(signum, frame) -> None:
    from gradlab.errors import Terminated

    _state["terminated"] = True
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code (the console script passes it to ``sys.exit``).

    SIGTERM ends a command as Ctrl-C does, with exit code 143 (128 + 15) instead of 130.
    """
    _state["terminated"] = False
    out.closed = out.quiet = False  # in-process callers (the tests) run many commands on one console
    on_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if on_main_thread else None
    try:
        code = _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if code == 130 and out.closed:  # stopped by OutputClosed, which training takes as a Ctrl-C
        return _SIGPIPE_EXIT
    return 143 if _state["terminated"] and code == 130 else code


def _run(argv: list[str] | None) -> int:
    from gradlab.errors import GradlabError

    args, debug = _take_debug(sys.argv[1:] if argv is None else [str(a) for a in argv])
    _state["debug"] = debug or os.environ.get("GRADLAB_DEBUG", "") not in ("", "0")
    try:
        code = app(args=args, prog_name="gradlab", standalone_mode=False)
        return code if isinstance(code, int) else 0  # a raised typer.Exit(n) comes back as n
    except typer.Exit as done:
        return done.exit_code
    except GradlabError as error:
        if _state["debug"]:
            traceback.print_exc()
        return _fail(str(error), error.exit_code)
    except click.UsageError as error:
        if isinstance(error, _NO_ARGS_IS_HELP):  # the help was printed: nothing went wrong
            return 0
        hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
        return _fail(error.format_message() + _echo_value(error, args) + hint, 2)
    except click.ClickException as error:
        return _fail(error.format_message(), error.exit_code)
    except Stopped as stopped:  # a Ctrl-C, SIGTERM or closed stdout that left the command
        return _interrupted(stopped.__cause__)
    except (typer.Abort, KeyboardInterrupt) as stop:  # one that came before the command ran
        if isinstance(stop.__cause__, EOFError):  # Typer turns an EOFError into Abort, as if Ctrl-D were pressed
            return _internal_error(stop.__cause__)
        return _interrupted(stop)
    except BrokenPipeError:  # the reader left (`gradlab runs | head -1`): stop quietly, as cat or git do
        return _closed_pipe()
    except SystemExit as done:
        if isinstance(done.__context__, BrokenPipeError):  # Typer's own handling of it: a bare sys.exit(1)
            return _closed_pipe()
        raise
    except Exception as error:
        return _internal_error(error)


def _interrupted(stop: BaseException) -> int:
    """Exit code 130 with a word on stderr for Ctrl-C or SIGTERM; a closed stdout stops silently."""
    from gradlab.errors import OutputClosed

    if isinstance(stop, OutputClosed):
        return _closed_pipe()
    print("terminated (SIGTERM)" if _state["terminated"] else "interrupted", file=sys.stderr)
    return 130


def _internal_error(error: BaseException) -> int:
    """A bug: say so in one line, the traceback with --debug."""
    if _state["debug"]:
        traceback.print_exception(error)
        return 1
    return _fail(f"internal error: {type(error).__name__}: {error} (re-run with --debug for the traceback)", 1)
