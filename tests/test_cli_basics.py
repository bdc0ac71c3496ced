import subprocess
import sys
from pathlib import Path

import pytest

from gradlab import __version__
from tests.conftest import CONFIGS, REPO, run_dirs, subprocess_env


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


def test_the_commands_annotations_are_objects_not_text():
    """Typer evaluates text annotations once per option for every ``gradlab --help`` (20 against 5 ms to
    build the commands): the CLI modules leave out ``from __future__ import annotations``."""
    import typing

    from gradlab.cli.app import app

    for command in app.registered_commands:
        assert not any(isinstance(v, str) for v in command.callback.__annotations__.values()), command.name
        typing.get_type_hints(command.callback, include_extras=True)  # and they resolve
    assert [path.name for path in (REPO / "gradlab" / "cli").glob("*.py")
            if "from __future__ import annotations" in path.read_text().splitlines()] == []


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
    # 17 digits: the fewest that read back to each float64 (repr's), so -1127.72182397998, not ...799799
    assert "(-1127.72182397998, -306.186039408768)" in rows[2]
    assert "(0.42313084795996003, 2.438812078817536)" in rows[2] and "510.9898918740195" in rows[2]


def _options_of(kind: type):
    """(command, parameter, Annotated extras) of every option whose type holds ``kind``, in every command."""
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
            if kind in leaves(base):  # exactly: bool, a subclass of int, is no whole-number option
                yield path, name, extras


def _read_by(parser, kind: type) -> dict[tuple[str, str], bool]:
    """{(command, parameter): whether ``parser`` reads it} for every option of type ``kind``; a parser
    with its range bound (``functools.partial(parser, min=1)``) counts as ``parser``."""
    def unwrapped(extra):
        found = getattr(extra, "parser", None)
        return getattr(found, "func", found)

    return {(path, name): any(unwrapped(extra) is parser for extra in extras)
            for path, name, extras in _options_of(kind)}


def test_every_float_option_is_read_by_the_one_number_parser():
    # Typer read --lr 1e309 as inf; parse_number refuses it as typed, but only for the options that use it
    from gradlab.cli.common import parse_number

    found = _read_by(parse_number, float)
    assert {("gradlab descend", "lr"), ("gradlab plot", "range_"), ("gradlab gradcheck", "eps")} <= set(found)
    assert [option for option, parsed in found.items() if not parsed] == []


def test_every_whole_number_option_is_read_by_the_one_whole_number_parser():
    # Typer's int() read --steps 1_0 as 10; parse_whole_number follows the README's rule, as a config does
    from gradlab.cli.common import parse_whole_number

    found = _read_by(parse_whole_number, int)
    assert {("gradlab descend", "steps"), ("gradlab explain", "digits"), ("gradlab landscape", "seed"),
            ("gradlab runs", "limit"), ("gradlab sweep", "workers"), ("gradlab plot", "points")} <= set(found)
    assert [option for option, parsed in found.items() if not parsed] == []


# Typer's lax int read each '..._0' as a whole number and ran the command, while --lr 1_0, a config's
# 'epochs: 1_0' and --set refuse it; fullwidth ３ and 0x10 it refused, but not by the README's rule
WHOLE_NUMBERS_NOT_BY_THE_RULE = [
    (["descend", "--steps", "1_0"], "--steps", "1_0"),
    (["runs", "-n", "３"], "--limit' / '-n", "３"),
    (["explain", CONFIGS / "xor.yaml", "--digits", "0x10"], "--digits", "0x10"),
    (["landscape", CONFIGS / "xor.yaml", "--seed", "1_0"], "--seed", "1_0"),
    (["sweep", CONFIGS / "xor.yaml", "--seeds", "2", "--workers", "2_0"], "--workers' / '-j", "2_0"),
    (["gradcheck", CONFIGS / "xor.yaml", "--samples", "8_0"], "--samples", "8_0"),
    (["plot", "sigmoid", "--points", "1_000"], "--points", "1_000"),
]


@pytest.mark.parametrize(("args", "option", "text"), WHOLE_NUMBERS_NOT_BY_THE_RULE)
def test_whole_number_options_follow_the_readme_rule_for_numbers(cli, tmp_path, args, option, text):
    result = cli(*args)
    assert (result.code, result.out) == (2, "")
    assert result.err == (f"error: Invalid value for '{option}': Input should be a whole number in ASCII decimal or "
                          f"scientific notation, got {text!r} (see 'gradlab {args[0]} --help')\n")
    assert run_dirs(tmp_path / "runs") == []


def test_a_whole_number_option_keeps_its_range_whatever_the_notation(cli):
    # Typer's own min/max check is skipped for an option with a parser: parse_whole_number makes it
    result = cli("explain", CONFIGS / "xor.yaml", "--digits", "1.8e1")
    assert (result.code, result.out) == (2, "")
    assert result.err == ("error: Invalid value for '--digits': Input should be less than or equal to 17, got "
                          "'1.8e1' (see 'gradlab explain --help')\n")
    result = cli("explain", CONFIGS / "xor.yaml", "--digits", "3e0", "--units", "1")
    assert result.code == 0, result.err
    assert "first 1 of 8 units shown" in result.out and "= [-0.184, ... +7 more]" in result.out  # 3 digits


def _command_paths():
    """Every command's words after 'gradlab': ['train'], ['runs', 'show'], ..."""
    import typer

    from gradlab.cli.app import app

    stack = [([], typer.main.get_command(app))]
    while stack:
        words, command = stack.pop()
        stack += [([*words, name], sub) for name, sub in getattr(command, "commands", {}).items()]
        if words:
            yield words


def test_every_usage_line_names_its_arguments_in_upper_case_as_the_readme_does(cli):
    # Typer 0.29 wrote 'gradlab train [OPTIONS] {config}', 'predict [OPTIONS] {run} {data}',
    # 'compare [OPTIONS] {RUN...}...': the README writes CONFIG, RUN_DIR
    usage = {}
    for words in _command_paths():
        result = cli(*words, "--help")
        assert result.code == 0, (words, result.err)
        (line,) = [line.strip() for line in result.out.splitlines() if "Usage:" in line]
        usage[" ".join(words)] = line.partition(f"gradlab {' '.join(words)} ")[2]
    assert {command: line for command, line in usage.items() if "{" in line or line != line.upper()} == {}
    assert usage["train"] == usage["sweep"] == "[OPTIONS] CONFIG"
    assert usage["explain"] == usage["gradcheck"] == usage["landscape"] == "[OPTIONS] CONFIG|RUN_DIR"
    assert usage["predict"] == usage["evaluate"] == "[OPTIONS] RUN DATA"
    assert usage["compare"] == "[OPTIONS] RUN..." and usage["plot"] == "[OPTIONS] NAME..."
    assert usage["list"] == "[OPTIONS] [KIND]" and usage["runs show"] == usage["rerun"] == "[OPTIONS] RUN"


def test_a_missing_argument_is_named_as_the_usage_line_names_it(cli):
    result = cli("train")
    assert (result.code, result.err) == (2, "error: Missing argument 'CONFIG'. (see 'gradlab train --help')\n")


def test_the_help_states_the_point_counts_the_commands_accept(cli):
    # plot --points and landscape --points had bounds the help did not give
    from gradlab.curves import MAX_POINTS

    plot_help = " ".join(cli("plot", "--help").out.split())
    assert f"Number of grid points, 2 to {MAX_POINTS:,}." in plot_help
    assert cli("plot", "sigmoid", "--points", str(MAX_POINTS + 1)).code == 2
    landscape_help = " ".join(cli("landscape", "--help").out.split())
    assert "Grid points per axis, 3 to 1001." in landscape_help
    assert "must be between 3 and 1001" in cli("landscape", CONFIGS / "xor.yaml", "--points", "1002").err


@pytest.mark.parametrize("reader", ["_Command", "_Group"])
def test_a_ctrl_c_while_options_are_read_says_interrupted(cli, monkeypatch, reader):
    # Typer turned it into a bare exit code 130 there: reading a command's options (Typer imports pydantic
    # for it) or gradlab's own takes a tenth of a second, and a Ctrl-C in it ended without a word
    from gradlab.cli import common

    def interrupted(self, ctx, args):
        raise KeyboardInterrupt

    monkeypatch.setattr(getattr(common, reader), "parse_args", interrupted)
    result = cli("list")
    assert (result.code, result.err) == (130, "interrupted\n")


def test_a_ctrl_c_while_the_cli_is_imported_says_interrupted(monkeypatch, capsys):
    # the console script imported gradlab.cli.app (Typer, rich: a tenth of a second) before any handler
    # stood: a Ctrl-C then ended the start with Python's KeyboardInterrupt traceback
    import builtins

    import gradlab.cli

    real_import = builtins.__import__

    def importing(name, *args, **kwargs):
        if name == "gradlab.cli.app":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "gradlab.cli.app")
    monkeypatch.setattr(builtins, "__import__", importing)
    assert gradlab.cli.main() == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize("kind", ["long", "loop"])
@pytest.mark.parametrize(("args", "option"), [
    (("descend", "--steps", "2", "--no-plot", "--out", "{p}"), "--out"),
    (("train", CONFIGS / "xor.yaml", "--out", "{p}"), "--out"),
    (("plot", "sigmoid", "-o", "{p}.png"), "--output"),
    (("compare", "a", "b", "-o", "{p}.png"), "--output"),
    (("runs", "--dir", "{p}"), "--dir"),
    (("explain", "{p}"), "CONFIG|RUN_DIR"),
])
def test_a_path_the_system_refuses_to_look_up_is_bad_input_naming_the_option(cli, tmp_path, kind, args, option):
    # ENAMETOOLONG escaped Python 3.11's Path.exists() as an internal error (exit 1); a symlink loop
    # made Path.resolve() raise RuntimeError
    (tmp_path / "loopA").symlink_to("loopB")
    (tmp_path / "loopB").symlink_to("loopA")
    path, reason = {"long": (tmp_path / ("d" * 300), "File name too long"),
                    "loop": (tmp_path / "loopA" / "x", "Too many levels of symbolic links")}[kind]
    args = [str(a).format(p=path) for a in args]
    result = cli(*args)
    given = next(a for a in args if a.startswith(str(path)))
    assert (result.code, result.err) == (2, f"error: {option}: cannot use '{given}': {reason}\n")
    assert result.out == "" and run_dirs(tmp_path / "runs") == []


@pytest.mark.parametrize("args", [("descend", "--steps", "2", "--no-plot"), ("runs",), ("runs", "show", "abc"),
                                  ("predict", "abc", "data.csv"), ("rerun", "abc")])
def test_a_run_root_from_gradlab_runs_the_system_refuses_to_look_up_is_bad_input(cli, tmp_path, monkeypatch, args):
    # where runs are made, listed, and looked up by a part of their name
    root = tmp_path / ("d" * 300)
    monkeypatch.setenv("GRADLAB_RUNS", str(root))
    result = cli(*args)
    assert (result.code, result.err) == (2, f"error: $GRADLAB_RUNS: cannot use '{root}': File name too long\n")


@pytest.mark.parametrize("how", ["--out", "GRADLAB_RUNS"])
def test_a_quoted_tilde_in_the_run_root_is_the_home_directory(cli, tmp_path, monkeypatch, how):
    # as a config's data.path is read; it made a directory named '~' in the current one
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if how == "GRADLAB_RUNS":
        monkeypatch.setenv("GRADLAB_RUNS", "~/runs")
    result = cli("descend", "--steps", "2", "--no-plot", *(["--out", "~/runs"] if how == "--out" else []))
    assert result.code == 0, result.err
    (run,) = run_dirs(tmp_path / "home" / "runs")
    assert f"run directory: {run}\n" in result.out
    assert not (tmp_path / "~").exists()  # the working directory


@pytest.mark.parametrize("command", [("descend", "--steps", "2", "--no-plot"), ("runs",)])
def test_a_gradlab_runs_of_blanks_is_refused_as_an_out_of_blanks_is(cli, tmp_path, monkeypatch, command):
    monkeypatch.setenv("GRADLAB_RUNS", "   ")
    result = cli(*command)
    assert (result.code, result.err) == (2, "error: $GRADLAB_RUNS: an empty path; name a directory "
                                            "(GRADLAB_RUNS=. for the current one), got '   '\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["--out", "GRADLAB_RUNS"])
def test_a_tilde_naming_no_user_is_refused(cli, tmp_path, monkeypatch, how):
    # Path.expanduser raised RuntimeError ('Could not determine home directory'): an internal error, exit 1
    if how == "GRADLAB_RUNS":
        monkeypatch.setenv("GRADLAB_RUNS", "~nosuchuser_gradlab/x")
    result = cli("descend", "--steps", "2", "--no-plot", *(["--out", "~nosuchuser_gradlab/x"] if how == "--out" else []))
    source = "--out" if how == "--out" else "$GRADLAB_RUNS"
    assert (result.code, result.err) == (2, f"error: {source}: cannot expand '~nosuchuser_gradlab/x': no such user\n")


@pytest.mark.parametrize("value", ["   ", "~nosuchuser_gradlab"])
def test_an_odd_run_root_does_not_stop_a_command_given_a_run_path(cli, tmp_path, monkeypatch, value):
    # runs show, explain, predict and compare on a run's own path read $GRADLAB_RUNS first and were refused
    result = cli("descend", "--steps", "2", "--no-plot", "--out", tmp_path / "runs")
    (run,) = run_dirs(tmp_path / "runs")
    monkeypatch.setenv("GRADLAB_RUNS", value)
    result = cli("runs", "show", run)
    assert result.code == 0, result.err
    assert run.name in result.out


def test_a_run_root_folder_name_too_long_is_refused_before_any_output(cli, tmp_path):
    # mkdir found it only after descend had printed its table, leaving the empty folders above it behind
    root = tmp_path / "missing" / ("d" * 300)
    result = cli("descend", "--steps", "2", "--no-plot", "--out", root)
    assert (result.code, result.out) == (2, "")
    assert result.err == (f"error: --out: cannot create run root '{root}': a folder name of 300 bytes, where "
                          f"'{tmp_path}' takes at most 255\n")
    assert list(tmp_path.iterdir()) == []


def test_a_run_given_as_a_symlink_loop_is_named_as_such(cli, tmp_path):
    # it was "no run directory there, and no run under ... has it in its name"
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    result = cli("runs", "show", tmp_path / "a")
    assert (result.code, result.err) == (2, f"error: RUN: cannot use '{tmp_path / 'a'}': Too many levels of symbolic "
                                            f"links\n")
