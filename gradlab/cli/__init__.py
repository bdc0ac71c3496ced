"""The command-line interface: the only package that imports typer or rich.

Its modules do not use ``from __future__ import annotations``: Typer reads every command's
annotations to build its options, even for ``gradlab --help``, and annotations kept as text cost
it an ``eval`` each (building the commands took 20 ms with them, 5 ms without).
"""


def main() -> int:
    """The ``gradlab`` command: :func:`gradlab.cli.app.main`, imported here so that a Ctrl-C in the
    tenth of a second that importing Typer and rich takes ends as every other Ctrl-C does
    ("interrupted", exit 130) rather than with Python's traceback."""
    import sys

    try:
        from gradlab.cli.app import main as run
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return run()
