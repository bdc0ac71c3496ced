"""The command-line interface: the only package that imports typer or rich."""

from __future__ import annotations


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
