"""The architecture is checked, not hoped for: imports point down only, heavy modules load lazily."""

import subprocess
import sys

import pytest

from tests.conftest import subprocess_env


def imported_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_the_engine_is_numpy_only():
    statement = ("import pkgutil, importlib, gradlab.engine\n"
                 "for m in pkgutil.iter_modules(gradlab.engine.__path__):\n"
                 "    importlib.import_module('gradlab.engine.' + m.name)")
    loaded = imported_after(statement)
    assert not {"typer", "rich", "matplotlib", "yaml", "pydantic", "sympy"} & loaded


def test_importing_gradlab_and_its_cli_is_light():
    loaded = imported_after("import gradlab, gradlab.cli.app")
    assert not {"matplotlib", "sympy", "scipy", "numpy", "pydantic"} & loaded


def commands():
    from gradlab.cli.app import app
    import typer.main

    group = typer.main.get_command(app)
    return sorted(group.commands)


@pytest.mark.parametrize("command", commands())
def test_every_command_has_a_purpose_and_an_example(cli, command):
    result = cli(command, "--help")
    assert result.code == 0
    assert "Examples" in result.out and "gradlab " in result.out.split("Examples", 1)[1]


def test_every_source_file_compiles_without_a_warning():
    # an invalid escape such as "\ " in a docstring is a DeprecationWarning (SyntaxWarning from Python
    # 3.12) when the file is compiled, which a cached .pyc hides from every later run
    import warnings

    from tests.conftest import REPO

    files = [path for folder in ("gradlab", "benchmarks", "tests") for path in (REPO / folder).rglob("*.py")]
    assert len(files) > 50
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
