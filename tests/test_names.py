"""Lists of names in the CLI's help and in the README are the lists the library owns, not copies.

The help of ``gradlab descend --method``, ``list KIND``, ``runs --status``/``--command`` and
``sweep --executor`` is written from :mod:`gradlab.names` and :data:`gradlab.catalog.KINDS`
(light modules: ``gradlab --help`` imports every command module and must stay fast); the
README's lists are checked against the registries here.
"""

import re
import subprocess
import sys

import pytest
import typer.main

from gradlab import catalog, names
from tests.conftest import REPO, subprocess_env


def option_help(command: str, option: str) -> str:
    """The help text of one option (or argument, by name) of a gradlab command, as Click holds it."""
    from gradlab.cli.app import app

    params = typer.main.get_command(app).commands[command].params
    return next(p.help for p in params if option in p.opts or p.name == option)


def listed(help_text: str) -> list[str]:
    """``"Only runs with this status: running, ... or damaged."`` -> the names; descriptions in
    parentheses (``process (this machine)``) and what follows the list (``. Default: gd.``, ``\\[default:
    ...]``) are dropped."""
    text = re.sub(r"^[^,:]*: ", "", re.sub(r" \([^)]*\)", "", help_text))  # "Only runs with this status: "
    return re.split(r", | or ", re.split(r"\.|\s\\\[", text)[0])


def owned(owner: str) -> list[str]:
    """The names as the library holds them where it uses them (not the light copies' module)."""
    if owner == "methods":
        from gradlab.descent import METHODS

        return METHODS.names()
    if owner == "kinds":
        return list(catalog.KINDS)
    if owner == "executors":
        from gradlab.executors import EXECUTORS

        return list(EXECUTORS)
    from gradlab import runs

    return list(getattr(runs, owner))


HELP_LISTS = [  # command, option, whose names, where the help takes them from
    ("descend", "--method", "methods", "gradlab.names:DESCENT_METHODS"),
    ("list", "kind", "kinds", "gradlab.catalog:KINDS"),
    ("runs", "--status", "LISTING_STATUSES", "gradlab.names:LISTING_STATUSES"),
    ("runs", "--command", "RUN_COMMANDS", "gradlab.names:RUN_COMMANDS"),
    ("sweep", "--executor", "executors", "gradlab.names:EXECUTORS"),
]


@pytest.mark.parametrize(("command", "option", "owner", "source"), HELP_LISTS)
def test_a_help_lists_exactly_the_names_the_library_accepts(command, option, owner, source):
    # runs --command listed 'train, descend, sweep, compare, ...' of eight commands
    assert listed(option_help(command, option)) == owned(owner)


@pytest.mark.parametrize(("command", "option", "owner", "source"), HELP_LISTS)
def test_a_name_added_where_the_library_owns_it_appears_in_the_help(command, option, owner, source):
    module, attribute = source.split(":")
    code = (
        "import importlib, typer.main\n"
        f"owner = importlib.import_module({module!r})\n"
        f"names = getattr(owner, {attribute!r})\n"
        f"setattr(owner, {attribute!r}, {{**names, 'zeta': 'new'}} if isinstance(names, dict) else (*names, 'zeta'))\n"
        + ("import gradlab.descent as d\n"
           "d.METHODS.register('zeta')(type('Zeta', (d.Method,), {}))\n" if owner == "methods" else "")
        + "from gradlab.cli.app import app\n"
        f"params = typer.main.get_command(app).commands[{command!r}].params\n"
        f"print(next(p.help for p in params if {option!r} in p.opts or p.name == {option!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env())
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout.strip()) == [*owned(owner), "zeta"]


def test_the_descent_registry_takes_only_the_names_the_help_lists(monkeypatch):
    from gradlab.descent import METHODS, Method

    assert METHODS.names() == list(names.DESCENT_METHODS)
    monkeypatch.setattr(METHODS, "_classes", dict(METHODS._classes))  # a name it wrongly took goes with the test
    with pytest.raises(ValueError, match=r"method 'zeta' is not one of the names .* add it there \(gradlab.names\)"):
        METHODS.register("zeta")(type("Zeta", (Method,), {}))
    assert "zeta" not in METHODS


# --------------------------------------------------------------------------- the README's lists


README = " ".join((REPO / "README.md").read_text().split())


def words(text: str) -> list[str]:
    """``"`gd`, `momentum` or `newton`"`` -> ``["gd", "momentum", "newton"]`` (also ``and``, no backticks)."""
    return re.split(r", | or | and ", text.replace("`", ""))


def between(start: str, end: str) -> str:
    return README.split(start, 1)[1].split(end, 1)[0]


def test_the_readme_descend_methods_are_the_registry():
    from gradlab.descent import METHODS

    assert words(between("| `--method` | ", " (`gd`) |")) == METHODS.names()


def test_the_readme_run_statuses_are_the_ones_a_summary_may_hold():
    from gradlab.runs import STATUSES

    assert words(between("| `summary.json` | `status` (", ")")) == list(STATUSES)


def test_the_readme_kinds_of_gradlab_list_are_the_catalog():
    assert words(between("`gradlab list activations` (or ", ") one of them")) == list(catalog.KINDS)[1:]
    assert list(catalog.KINDS)[0] == "activations"


def test_the_readme_commands_that_write_runs_are_run_commands():
    from gradlab.runs import RUN_COMMANDS

    text = between("a `--command` that writes no runs (", ")")
    assert words(text.replace(" do, and the benchmark scripts'", ",")) == list(RUN_COMMANDS)


def test_the_readme_initializers_are_the_registry():
    from gradlab.engine.init import initializers

    text = between("init: {name: normal, std: 0.1} # ", " dtype:")
    assert words(text.replace(" (an .npz)", "")) == initializers.names()
