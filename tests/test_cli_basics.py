import subprocess
import sys
from pathlib import Path

from gradlab import __version__
from tests.conftest import subprocess_env


def test_version(cli):
    result = cli("--version")
    assert result.code == 0
    assert result.out.strip() == f"gradlab {__version__}"


def test_help_shows_purpose_and_examples(cli):
    result = cli("--help")
    assert result.code == 0
    assert "gradient descent" in result.out
    assert "gradlab descend --lr 0.1 --x0 8" in result.out


def test_unknown_command_is_exit_2_one_line(cli):
    result = cli("desend")
    assert result.code == 2
    assert result.err.startswith("error: ")
    assert "Traceback" not in result.text


def test_an_empty_out_is_refused_not_read_as_the_current_directory(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("plot", "sigmoid", "--out", "")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "'--out': an empty path; name a directory (--out . for the current one)" in result.err
    assert list(tmp_path.iterdir()) == []


def test_help_imports_no_heavy_modules():
    code = (
        "import sys\n"
        "from gradlab.cli.app import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "finally:\n"
        "    heavy = [m for m in ('matplotlib', 'sympy', 'scipy') if m in sys.modules]\n"
        "    print('HEAVY', heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=subprocess_env())
    assert "HEAVY []" in done.stdout


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gradlab", "--version"], capture_output=True, text=True,
                          env=subprocess_env())
    assert done.returncode == 0
    assert done.stdout.startswith("gradlab ")


def test_bare_command_prints_help_and_exits_0(cli):
    result = cli()
    assert result.code == 0
    assert "Commands" in result.out and result.err == ""


def test_paths_are_printed_whole_and_as_they_are(cli, tmp_path):
    """A path longer than the 160 columns the tests give rich, holding rich markup ([red]):
    every 'label: path' line carries it unbroken and unstyled, so it can be copied or grepped."""
    root = tmp_path / ("a-long-directory-name-" * 8) / "[red]runs"
    config = tmp_path / "tiny.yaml"
    config.write_text("data: {name: xor, n_samples: 20}\nmodel: {hidden: [3]}\nloss: bce\n"
                      "optimizer: {name: sgd, lr: 0.5}\ntraining: {epochs: 4, batch_size: full, log_every: 2}\n")
    trained = cli("train", config, "--out", root)
    swept = cli("sweep", config, "--grid", "optimizer.lr=0.1,1", "--grid", "loss=mse,bce", "--out", root)
    assert trained.code == swept.code == 0, trained.text + swept.text
    lines = (trained.out + swept.out).splitlines()
    printed = {label: Path(line.removeprefix(label + ": ")) for line in lines
               for label in ("run directory", "sweep directory", "results", "heatmap") if line.startswith(label + ": ")}
    assert set(printed) == {"run directory", "sweep directory", "results", "heatmap"}
    assert printed["run directory"].parent == root
    assert printed["results"] == printed["sweep directory"] / "results.csv"
    assert all(path.exists() for path in printed.values())


def test_a_piped_table_is_printed_whole_not_cut_at_80_columns(tmp_path):
    """Piped (| tee, a CI log), rich assumes 80 columns; the descent table's 17-digit points need
    150, and every digit must survive, not an ellipsis."""
    env = {k: v for k, v in subprocess_env().items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "gradlab", "descend", "--f", "(1-x)**2 + 100*(y-x**2)**2",
                           "--x0=-1.5,2", "--lr", "2e-3", "--steps", "3", "--digits", "17", "--no-plot",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 3 and "…" not in done.stdout  # one line per step, nothing cut
    assert "(-1127.7218239799799, -306.18603940876801)" in rows[2]
    assert "(0.42313084795996003, 2.438812078817536)" in rows[2] and "510.98989187401952" in rows[2]


def _float_options():
    """(command, parameter, Annotated extras) of every option whose type holds a float, in every command."""
    import inspect
    import typing

    import typer

    from gradlab.cli.app import app

    def leaves(hint):
        args = typing.get_args(hint)
        return [leaf for arg in args for leaf in leaves(arg)] if args else [hint]

    stack = [("gradlab", typer.main.get_command(app))]
    while stack:
        path, command = stack.pop()
        stack += [(f"{path} {name}", sub) for name, sub in getattr(command, "commands", {}).items()]
        if command.callback is None:
            continue
        hints = typing.get_type_hints(inspect.unwrap(command.callback), include_extras=True)
        for name, hint in hints.items():
            base, *extras = typing.get_args(hint) if typing.get_origin(hint) is typing.Annotated else (hint,)
            if float in leaves(base):
                yield path, name, extras


def test_every_float_option_is_read_by_the_one_number_parser():
    # Typer read --lr 1e309 as inf; parse_number refuses it as typed, but only for the options that use it
    from gradlab.cli.common import parse_number

    found = {(path, name): any(getattr(extra, "parser", None) is parse_number for extra in extras)
             for path, name, extras in _float_options()}
    assert {("gradlab descend", "lr"), ("gradlab plot", "range_"), ("gradlab gradcheck", "eps")} <= set(found)
    assert [option for option, parsed in found.items() if not parsed] == []
