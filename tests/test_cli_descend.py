import csv
import json
import re
import subprocess
import sys
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
import yaml

from gradlab.descent import DescendConfig
from gradlab.descent import METHODS
from tests.conftest import run_dirs, subprocess_env

ROSENBROCK = "(1-x)**2 + 100*(y-x**2)**2"


def only_run(tmp_path: Path) -> Path:
    dirs = run_dirs(tmp_path / "runs")
    assert len(dirs) == 1, dirs
    return dirs[0]


def metrics(run: Path) -> list[dict]:
    return list(csv.DictReader((run / "metrics.csv").open()))


def summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def table_steps(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"^│\s+(\d+) │", text, flags=re.M)]


def test_seed_example_table_files_and_plot(cli, tmp_path):
    result = cli("descend", "--lr", 0.1, "--x0", 8)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[:3] == ["y = x**2 - 4*x + 6", "dy/dx = 2*x - 4", "x_new = x_old - 0.1 * (2*x - 4)"]
    rows = [line for line in lines if re.match(r"│\s+[1-5] │", line)]
    cells = [[c.strip() for c in row.strip("│").split("│")] for row in rows]
    assert cells[0] == ["1", "8", "12", "6.8", "25.04"]
    assert [c[3] for c in cells] == ["6.8", "5.84", "5.072", "4.4576", "3.96608"]
    assert table_steps(result.out) == list(range(1, 95))  # 100 steps allowed: every row shown
    assert "converged after 94 steps: x = 2, y = 2" in result.out
    assert "gradient descent converges only if lr < 2/f''(x*) = 1" in result.out
    assert "predicted |1 - lr f''(x*)| = 0.8, observed 0.8" in result.out

    run = only_run(tmp_path)
    rows = metrics(run)
    assert list(rows[0]) == ["step", "x", "f", "df_dx", "step_size"]
    xs = [float(r["x"]) for r in rows]
    assert xs[:6] == pytest.approx([8, 6.8, 5.84, 5.072, 4.4576, 3.96608], abs=1e-9)
    assert len(rows) == 95 and abs(xs[-1] - 2) < 1e-8
    done = summary(run)
    assert (done["status"], done["stop_reason"], done["steps"]) == ("completed", "converged", 94)
    assert done["final"]["x"] == pytest.approx(2.0, abs=1e-8) and done["final"]["f"] == pytest.approx(2.0, abs=1e-12)
    assert done["stability"]["bound"] == 1.0
    assert done["reproduce"] == f"gradlab descend --config {run}/config.yaml"
    assert (run / "descent.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    curve = list(csv.DictReader((run / "descent_curve.csv").open()))
    assert float(curve[0]["f"]) == pytest.approx(float(curve[0]["x"]) ** 2 - 4 * float(curve[0]["x"]) + 6)


def test_lr_1_1_diverges_as_a_result_not_a_crash(cli, tmp_path):
    result = cli("descend", "--lr", 1.1)
    assert result.code == 0, result.err
    assert "diverged at step 39: f rose from 38" in result.out
    assert "(lr = 1.1)" in result.out
    assert "lr < 2/f''(x*) = 1; lr = 1.1 is not below it" in result.out
    assert "predicted |1 - lr f''(x*)| = 1.2, observed 1.2" in result.out
    assert table_steps(result.out)[-1] == 39
    run = only_run(tmp_path)
    assert {p.name for p in run.iterdir()} == {"config.yaml", "metrics.csv", "summary.json", "descent.png",
                                                "descent_curve.csv"}
    done = summary(run)
    assert (done["status"], done["stop_reason"], done["steps"]) == ("diverged", "diverged", 39)
    assert done["stability"]["lr"] > done["stability"]["bound"] == 1.0
    assert len(metrics(run)) == 40


UNSAFE = [
    "__import__('os').system('touch MARKER')",
    "().__class__",
    "open('MARKER', 'w')",
    "lambda: 1",
    "'a'",
    "x.real",
    "eval('1')",
    "exec(\"open('MARKER', 'w')\")",
    "[open('MARKER', 'w') for _ in 'a']",
]


@pytest.mark.parametrize("text", UNSAFE)
def test_unsafe_expressions_are_refused_and_never_run(cli, tmp_path, text):
    result = cli("descend", "--f", text)
    assert result.code == 2
    assert result.err.startswith("error: f: ") and result.err.count("\n") == 1
    assert not (tmp_path / "MARKER").exists()
    assert run_dirs(tmp_path / "runs") == []


def test_unsafe_expression_in_a_real_process(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gradlab", "descend", "--f", "__import__('os').system('touch MARKER')"],
                          capture_output=True, text=True, cwd=tmp_path, env=subprocess_env())
    assert done.returncode == 2
    assert done.stderr.startswith("error: f: only calls of named functions are allowed")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "MARKER").exists()


BAD_INPUT = [
    (["--f", "x**2 + z"], "f: unknown name 'z'"),
    (["--x0", "abc"], "x0: malformed number 'abc'"),
    (["--x0", "1,2x"], "x0: malformed number '2x' in '1,2x'"),
    # float() read these as 10 and 12 while '0x10' was refused: x0 follows the README's rule for numbers in data
    (["--x0=1_0"], "error: x0: malformed number '1_0' in '1_0'; write ASCII decimal or scientific notation "
                   "(8, -1.5, 1e3), numbers separated by commas, e.g. -1.5,2\n"),
    (["--x0=１２"], "x0: malformed number '１２' in '１２'; write ASCII decimal or scientific notation"),
    (["--x0=1,１"], "x0: malformed number '１' in '1,１'"),
    (["--set", "x0=１２"], "error: --set x0: malformed number '１２' in '１２'; write ASCII decimal"),
    (["--x0=0x10"], "x0: malformed number '0x10' in '0x10'; write ASCII decimal or scientific notation"),
    (["--lr", "0"], "lr: must be a finite number > 0, got 0.0"),
    (["--lr", "-0.5"], "lr: must be a finite number > 0, got -0.5"),
    (["--lr", "inf"], "lr: must be a finite number > 0, got inf"),
    (["--lr", "nan"], "lr: must be a finite number > 0, got nan"),
    (["--steps", "0"], "steps: must be a whole number >= 1, got 0"),
    (["--steps", "100000000"], "steps: at most 1,000,000 (every step is kept for the table, the plot and "
                               "metrics.csv), got 100,000,000"),
    (["--f", "sqrt(-4)*x**2"], "f: sqrt(-4) is not a real number (it is 2*I)"),
    # was accepted: printed dy/dx with I, then a ComplexWarning (internal error) or a false "maximum" verdict
    (["--f", "(-1)**x + x**2", "--x0=0", "--steps", "5"], "error: f: '(-1)**x + x**2' is not a real function: "
                                                         "dy/dx = (-1)**x*I*pi + 2*x contains the imaginary unit I"),
    (["--f", "**".join(["x"] * 55), "--x0", "1"], "f: its second derivative nests too deeply for sympy"),
    (["--x0=-1.5,2"], "x0: f(x) has 1 variable but x0 has 2 coordinates"),
    # an integer beyond float64 (YAML reads 400 nines as one) was an internal OverflowError
    (["--set", "x0=" + "9" * 400], "error: x0: coordinates must be finite numbers at most 1e+12 in size, got x = inf\n"),
    (["--set", "x0=-" + "9" * 400], "x0: coordinates must be finite numbers at most 1e+12 in size, got x = -inf"),
    # as typed, not as the inf it reads as
    (["--x0", "1e400"], "error: x0: 1e400 is beyond the range of a float64 number (at most 1.798e+308 in size); "
                        "coordinates must be finite numbers at most 1e+12 in size\n"),
    (["--f", "x**2 + y**2", "--x0=1,-1E400"], "error: x0: -1E400 is beyond the range of a float64 number (at most "
                                              "1.798e+308 in size); coordinates must be finite"),
    (["--x0", "inf"], "x0: coordinates must be finite numbers at most 1e+12 in size, got x = inf"),
    (["--f", ROSENBROCK], "x0: f(x, y) has 2 variables but x0 has 1 coordinate"),
    (["--f", "log(x)", "--x0", "-1"], "x0: f = log(x) has no real finite value at x = -1"),
    (["--f", "x**3 - 3*x", "--x0", "0", "--method", "newton"], "newton needs an invertible second derivative, but "
                                                               "f''(x0) = 0 at x = 0"),
    (["--method", "adma"], "method: unknown value 'adma' (did you mean 'adam'?)"),
    (["--momentum", "1"], "momentum: must be a number in [0, 1)"),
    (["--every", "0"], "every: input should be greater than or equal to 1"),
    # Typer's lax int read --steps 1_0 as 10 and ran; it refused fullwidth １０ and 3.5 with its own wording
    (["--steps", "1_0"], "error: Invalid value for '--steps': Input should be a whole number in ASCII decimal or "
                         "scientific notation, got '1_0' (see 'gradlab descend --help')\n"),
    (["--every", "１０"], "error: Invalid value for '--every': Input should be a whole number in ASCII decimal or "
                         "scientific notation, got '１０' (see 'gradlab descend --help')\n"),
    (["--digits", "3.5"], "error: Invalid value for '--digits': Input should be a whole number, got '3.5' (see "
                          "'gradlab descend --help')\n"),
    (["--steps", "nan"], "error: Invalid value for '--steps': Input should be a whole number, got 'nan' (see "
                         "'gradlab descend --help')\n"),
    # 1e19 is a whole number, named by the setting's own limit (pydantic said "exceeded maximum size")
    (["--steps", "1e19"], "error: steps: at most 1,000,000 (every step is kept for the table, the plot and "
                          "metrics.csv), got 10,000,000,000,000,000,000\n"),
    (["--steps", "1e309"], "error: Invalid value for '--steps': beyond the range of a float64 number (at most "
                           "1.798e+308 in size), got '1e309' (see 'gradlab descend --help')\n"),
    (["--name", "../up"], "name must be 1-64 letters"),
    (["--config", "missing.yaml"], "missing.yaml: no such config file"),
    (["--lr", "fast"], "error: Invalid value for '--lr': Input should be a number in ASCII decimal or scientific "
                       "notation, got 'fast' (see 'gradlab descend --help')\n"),
    # float() reads these, the README's rule for numbers (and --x0) does not
    (["--lr", "０.５"], "error: Invalid value for '--lr': Input should be a number in ASCII decimal or scientific "
                       "notation, got '０.５' (see 'gradlab descend --help')\n"),
    (["--tol", "1_0"], "error: Invalid value for '--tol': Input should be a number in ASCII decimal or scientific "
                       "notation, got '1_0' (see 'gradlab descend --help')\n"),
    # 1e309 was read as inf: "lr: must be a finite number > 0, got inf", a value nobody typed
    (["--lr", "1e309"], "error: Invalid value for '--lr': beyond the range of a float64 number (at most 1.798e+308 in "
                        "size), got '1e309' (see 'gradlab descend --help')\n"),
    (["--tol=-1E400"], "error: Invalid value for '--tol': beyond the range of a float64 number (at most 1.798e+308 "
                       "in size), got '-1E400' (see 'gradlab descend --help')\n"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_no_run_directory(cli, tmp_path, args, message):
    result = cli("descend", *args)
    assert result.code == 2
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert message in result.err
    assert result.out == ""
    assert run_dirs(tmp_path / "runs") == []


EPS_TOO_SMALL = ("adam eps = 1e-300 is too small for float64: its v under the square root underflows for gradients "
                 "below 7.03e-161, which then step by lr |g| / eps, more than lr; use eps >= 7.03e-161\n")


@pytest.mark.parametrize(("args", "prefix"), [
    (["--method", "adam", "--eps", "1e-300"], "error: eps: "),
    (["--set", "method=adam", "--set", "eps=1e-300"], "error: --set eps: "),
    (["--config", "adam.yaml"], "error: adam.yaml: eps: "),
])
def test_an_adam_eps_float64_cannot_keep_above_the_root_is_refused(cli, tmp_path, args, prefix):
    # was run: from x0 = 1e-170 on x**2, v = 0.001 (2e-170)^2 underflows to 0 and the first step,
    # lr m_hat / eps = 0.1 * 2e-170 / 1e-300, went to x = -2e129: "diverged at step 1 ... (lr = 0.1)"
    (tmp_path / "adam.yaml").write_text("method: adam\neps: 1.0e-300\n")
    result = cli("descend", "--f", "x**2", "--x0", "1e-170", "--no-plot", *args)
    assert result.code == 2, result.text
    assert result.err == prefix + EPS_TOO_SMALL and result.out == ""
    assert run_dirs(tmp_path / "runs") == []


def test_an_eps_only_adam_uses_is_not_checked_for_other_methods(cli, tmp_path):
    # not 'too small for float64' (adam's check): gd reads no eps at all, and says so
    result = cli("descend", "--eps", "1e-300", "--steps", 3, "--no-plot")
    assert (result.code, result.err) == (2, "error: eps: method gd does not use it, got 1e-300; it is a setting of adam\n")


@pytest.mark.parametrize(("text", "x"), [("1e3", 1000.0), (".5", 0.5), ("-0", -0.0), ("+2.", 2.0), ("8", 8.0)])
def test_start_points_in_decimal_or_scientific_notation_are_read(cli, tmp_path, text, x):
    result = cli("descend", "--no-plot", f"--x0={text}", "--steps", 1)
    assert result.code == 0, result.err
    rows = list(csv.DictReader((only_run(tmp_path) / "metrics.csv").open()))
    assert float(rows[0]["x"]) == x


# Typer read --steps with int(): '1e1' and '30e-1' were refused while a config's 'steps: 1e1' ran 10
@pytest.mark.parametrize(("text", "steps"), [("1e1", 10), ("30e-1", 3), ("3.0", 3), ("017", 17), ("+4", 4)])
def test_steps_typed_or_in_a_config_mean_the_same(cli, tmp_path, text, steps):
    (tmp_path / "c.yaml").write_text(f"steps: {text}\nplot: false\n")
    for where, args in (("typed", ["--steps", text, "--no-plot"]), ("file", ["--config", "c.yaml"])):
        result = cli("descend", "--out", tmp_path / where, *args)
        assert result.code == 0, result.err
        assert f"stopped after {steps} steps" in result.out
        assert len(metrics(run_dirs(tmp_path / where)[0])) == steps + 1  # and step 0, the start


def test_rosenbrock_with_momentum_reaches_1_1_with_a_contour_plot(cli, tmp_path):
    result = cli("descend", "--f", ROSENBROCK, "--x0=-1.5,2", "--method", "momentum", "--lr", "2e-3",
                 "--steps", 3000, "--every", 500)
    assert result.code == 0, result.err
    assert "df/dy = -200*x**2 + 200*y" in result.out
    assert "(x, y)_new = (x, y)_old - 0.002 * v_new" in result.out
    assert table_steps(result.out) == [1, 2, 3, 4, 5, 500, 1000, 1500, 1864]
    assert "converged after 1864 steps: (x, y) = (1, 1)" in result.out
    assert "stability" not in result.out  # the 1-D analysis only
    run = only_run(tmp_path)
    last = metrics(run)[-1]
    assert list(last) == ["step", "x", "y", "f", "df_dx", "df_dy", "step_size"]
    assert float(last["x"]) == pytest.approx(1, abs=1e-6) and float(last["y"]) == pytest.approx(1, abs=1e-6)
    assert summary(run)["final"]["y"] == pytest.approx(1, abs=1e-6)
    assert (run / "descent.png").exists() and (run / "descent_surface.csv").exists()


def test_newton_converges_on_the_quadratic_in_one_step(cli, tmp_path):
    result = cli("descend", "--method", "newton", "--no-plot")
    assert result.code == 0, result.err
    assert "x_new = x_old - (2*x - 4) / (2)" in result.out
    assert "converged after 1 step: x = 2, y = 2" in result.out
    run = only_run(tmp_path)
    assert [float(r["x"]) for r in metrics(run)] == [8.0, 2.0]
    assert summary(run)["steps"] == 1
    assert yaml.safe_load((run / "config.yaml").read_text())["lr"] == 1.0
    assert not (run / "descent.png").exists()


def test_newton_on_a_singular_hessian_mid_run_ends_the_run_keeping_its_steps(cli, tmp_path):
    # x0 = 1: f' = 3, f'' = 2, so x1 = 1 - 3/2 = -0.5, where relu leaves f'' = 0 and no Newton step exists
    result = cli("descend", "--f", "relu(x)**2 + x", "--x0", 1, "--method", "newton", "--no-plot")
    assert result.code == 0 and result.err == ""
    assert "│    1 │     1 │     3 │  -0.5 │     -0.5 │" in result.out  # the table is kept
    assert ("stopped after 1 step: x = -0.5, y = -0.5 (the second derivative (Hessian) is singular at x = -0.5, "
            "so Newton's step is undefined there; try --method gd)") in " ".join(result.out.split())
    run = only_run(tmp_path)
    done = summary(run)
    assert done["status"] == "completed" and done["stop_reason"] == "no_step" and done["steps"] == 1
    assert "singular" in done["message"]
    assert [float(r["x"]) for r in metrics(run)] == [1.0, -0.5]


def test_config_file_with_a_flag_overriding_it_and_rerun_from_the_run(cli, tmp_path):
    (tmp_path / "d.yaml").write_text("f: x**2 - 4*x + 6\nx0: 8\nlr: 0.2\nsteps: 50\nplot: false\n")
    result = cli("descend", "--config", tmp_path / "d.yaml", "--steps", 3, "--name", "first")
    assert result.code == 0, result.err
    run = only_run(tmp_path)
    # lr 0.2 from the file: x1 = 8 - 0.2 * 12 = 5.6, x2 = 5.6 - 0.2 * 7.2 = 4.16; 3 steps from the flag
    xs = [float(r["x"]) for r in metrics(run)]
    assert xs[:3] == pytest.approx([8, 5.6, 4.16], abs=1e-12) and len(xs) == 4
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert (saved["lr"], saved["steps"], saved["name"], saved["plot"]) == (0.2, 3, "first", False)

    again = cli("descend", "--config", run / "config.yaml", "--name", "again")
    assert again.code == 0, again.err
    rerun = next(p for p in run_dirs(tmp_path / "runs") if "again" in p.name)
    assert (rerun / "metrics.csv").read_text() == (run / "metrics.csv").read_text()


def test_config_file_errors_name_the_file(cli, tmp_path):
    (tmp_path / "bad.yaml").write_text("lr: 0.1\nlerning_rate: 2\n")
    result = cli("descend", "--config", tmp_path / "bad.yaml")
    assert result.code == 2
    assert f"error: {tmp_path / 'bad.yaml'}: lerning_rate: unknown key (did you mean 'learning_rate'?)" in result.err
    (tmp_path / "broken.yaml").write_text("lr: 0.1\nsteps: [3\n")
    result = cli("descend", "--config", tmp_path / "broken.yaml")
    assert result.code == 2 and "broken.yaml, line 3" in result.err
    assert run_dirs(tmp_path / "runs") == []


@pytest.mark.parametrize("text", ["lr: 0.2\nlearning_rate: 0.3\n", "learning_rate: 0.3\nlr: 0.2\n"])
def test_a_setting_given_under_both_its_names_is_refused_as_synonyms(cli, tmp_path, text):
    # it said 'learning_rate: unknown key (did you mean 'learning_rate'?)'
    (tmp_path / "both.yaml").write_text(text)
    result = cli("descend", "--config", tmp_path / "both.yaml")
    assert result.code == 2
    assert result.err == f"error: {tmp_path / 'both.yaml'}: learning_rate: given together with lr, its synonym; give one of them\n"
    assert run_dirs(tmp_path / "runs") == []
    assert cli("descend", "--config", tmp_path / "both.yaml", "--lr", 0.1, "--no-plot").code == 0  # the flag replaces both


def test_a_flag_replaces_a_bad_value_in_the_file(cli, tmp_path):
    (tmp_path / "c.yaml").write_text("lr: -1\nsteps: 2\n")
    result = cli("descend", "--config", tmp_path / "c.yaml", "--lr", 0.1, "--no-plot")
    assert result.code == 0, result.err
    assert [r["x"] for r in metrics(only_run(tmp_path))][1] == "6.8"


def test_every_keeps_first_rows_and_last(cli):
    result = cli("descend", "--every", 10, "--no-plot")
    assert table_steps(result.out) == [1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 94]
    auto = cli("descend", "--steps", 1000, "--lr", 0.01, "--no-plot")  # about 100 rows: every 10th
    assert table_steps(auto.out)[4:7] == [5, 10, 20]


def test_help_has_purpose_examples_and_the_config_defaults(cli):
    result = cli("descend", "--help")
    assert result.code == 0
    text = " ".join(result.out.replace("│", " ").split())
    assert "Gradient descent on a function of x" in text
    assert "gradlab descend --lr 0.1 --x0 8" in text
    defaults = DescendConfig().model_dump()
    for flag, key in [("--steps", "steps"), ("--digits", "digits"), ("--momentum", "momentum"),
                      ("--beta2", "beta2"), ("--tol", "tol")]:
        assert re.search(rf"{flag} .*?Default: {defaults[key]:g}\.", text), flag
    assert "Default: x**2 - 4*x + 6." in text and "Default: 0.1 (1 for newton)" in text
    *first, last = METHODS.names()  # every method the registry has (tests/test_names.py adds one)
    # the type column is Typer's own: <str> since it reads options through pydantic, TEXT before
    assert re.search(rf"--method (<str>|TEXT) {', '.join(first)} or {last}\. Default: gd\.", text)


def test_descend_help_imports_neither_sympy_nor_matplotlib():
    code = (
        "import sys\n"
        "from gradlab.cli.app import main\n"
        "main(['descend', '--help'])\n"
        "print('HEAVY', [m for m in ('sympy', 'matplotlib', 'numpy') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(),
                          check=True)
    assert "HEAVY []" in done.stdout


def test_newton_prints_the_second_derivative_it_divides_by(cli):
    one = cli("descend", "--method", "newton", "--no-plot").out.splitlines()
    assert one[:4] == ["y = x**2 - 4*x + 6", "dy/dx = 2*x - 4", "d2y/dx2 = 2", "x_new = x_old - (2*x - 4) / (2)"]
    two = cli("descend", "--method", "newton", "--f", "x**2 + x*y + 3*y**2", "--x0=1,1", "--no-plot").out
    assert "d2f/dx2 = 2\nd2f/dxdy = 1\nd2f/dy2 = 6\n" in two
    assert "d2y/dx2" not in cli("descend", "--no-plot").out  # gradient descent does not use it


@pytest.mark.parametrize("f, x0, direction, steps", [
    ("exp(x)", 8, "-inf", 1),  # one step to x = -290.1, where f' = 1e-126: an asymptote, not a minimum
    # one step to x = 8 - 0.1 ln(10) 1e8 = -2.3e7, where f and f' underflow to exactly 0: seen from x0
    ("10**x", 8, "-inf", 1),
    ("-x**2", 8, "+inf", 100),  # unbounded below: x grows by 1.2 per step
    ("x**3", 1, "-inf", 100),  # an inflection: f' = f'' = 0 at 0, and f falls on past it
    ("tanh(x)", 1, "-inf", 100),  # an asymptote that float64 reaches: tanh(-21) = tanh(-201) = -1
    # f and f' are 0 in float64 at the start and leftwards (e^-1000 = 5.1e-435): 0 steps, but f still
    # falls, as mpmath sees; these were 'converged after 0 steps' with 'no minimum' on the next line
    ("exp(x)", -1000, "-inf", 0),
    ("sigmoid(x)", -1000, "-inf", 0),
])
def test_a_function_without_a_minimum_is_never_called_converged(cli, tmp_path, f, x0, direction, steps):
    result = cli("descend", "--f", f, "--x0", x0, "--no-plot")
    assert result.code == 0, result.err
    final = next(line for line in result.out.splitlines() if line.startswith("stopped after"))
    assert final.startswith(f"stopped after {steps} step")
    assert final.endswith(f"f keeps decreasing as x -> {direction}, so there is no minimum to converge to that way")
    assert "converged" not in result.out
    assert f"stability: f falls away towards x = {direction} instead of to a minimum" in result.out
    done = summary(only_run(tmp_path))
    assert done["stability"] is None and done["stop_reason"] in ("converged", "max_steps")
    assert done["message"].startswith(f"stopped after {steps} step") and done["message"].endswith(final[-60:])


NO_MINIMUM = "so there is no minimum to converge to that way"


@pytest.mark.parametrize(("f", "x0", "final"), [
    # Newton's one step from 1 lands on the maximum x = 0 (f'' = -2); as f also falls away, the line
    # skipped the check and said only 'stopped after 1 step: x = 0, y = -0 (gradient and next step ...)'
    ("-x**2", 1, "stopped after 1 step at a maximum of f, not a minimum: x = 0, y = 0 (the gradient is 0, but f'' < 0 "
                 f"there); f keeps decreasing as x -> +inf, {NO_MINIMUM}"),
    ("-x**4", 1, "stopped after 43 steps at a maximum of f, not a minimum: x = 2.67964e-08, y = -5.15589e-31 (the "
                 f"gradient and f'' are 0 to rounding, but f is lower on both sides); f keeps decreasing as x -> +inf, "
                 f"{NO_MINIMUM}"),
    # f'' < 0 at the end but not beside it, so f itself is asked: lower on one side, an inflection (it was
    # 'stopped ... (gradient and next step below tol = 1e-08)' with the tail, and from +1 the same)
    ("x**3", -1, "stopped after 26 steps at an inflection point of f, not a minimum: x = -1.49012e-08, y = -3.30872e-24 "
                 "(the gradient is 0 and f'' changes sign right beside the point, but f is lower on one side and "
                 f"higher on the other); f keeps decreasing as x -> -inf, {NO_MINIMUM}"),
])
def test_a_maximum_is_named_where_f_also_falls_away(cli, tmp_path, f, x0, final):
    result = cli("descend", "--method", "newton", "--f", f, "--x0", x0, "--no-plot")
    assert result.code == 0, result.err
    assert final in result.out.splitlines()
    message = summary(only_run(tmp_path))["message"]  # 17 digits
    assert message.startswith(final.split(":")[0]) and message.endswith(final[-60:])


def test_flat_minima_are_still_found():
    from gradlab.descent import falling_towards, find_minimum_1d
    from gradlab.expr import parse

    for text in ("x**4", "x**6", "(x - 3)**4 + 1"):
        x_star = find_minimum_1d(parse(text), [1.0])
        assert x_star is not None and abs(x_star - (3 if "3" in text else 0)) < 1e-6
    assert find_minimum_1d(parse("exp(x)"), [8.0]) is None
    assert find_minimum_1d(parse("x**3"), [1.0]) is not None  # Newton on f' finds f' = f'' = 0 ...
    assert falling_towards(parse("x**3"), 1e-9) == "-inf"  # ... and the probe sees f fall on past it
    assert falling_towards(parse("x**4"), 1e-9) is None
    assert falling_towards(parse("x**2 - 4*x + 6"), 2.0) is None


def test_a_curved_minimum_reached_from_a_steep_start_is_not_called_flat(cli, tmp_path):
    # f''(20) = cosh 20 = 2.4e8 made f''(x*) = 1 "0 to rounding": the line contradicted itself
    result = cli("descend", "--no-plot", "--f", "cosh(x)", "--x0", 20, "--method", "adam", "--lr", 0.5,
                 "--steps", 2000, "--every", 1000)
    assert result.code == 0, result.err
    assert ("stability: x* = 0, f''(x*) = 1; plain gradient descent would need lr < 2/f''(x*) = 2 "
            "(adam has no such fixed bound)\n") in result.out
    assert "flat" not in result.out
    assert summary(only_run(tmp_path))["stability"]["flat"] is False


def test_ctrl_c_keeps_the_steps_done_and_marks_the_run_interrupted(cli, tmp_path, monkeypatch):
    import gradlab.descent

    real, calls = gradlab.descent.metric_row, []

    def row_then_ctrl_c(run, step):
        calls.append(step)
        if len(calls) == 4:  # the start and steps 1, 2 are logged; Ctrl-C arrives during step 3
            raise KeyboardInterrupt
        return real(run, step)

    monkeypatch.setattr(gradlab.descent, "metric_row", row_then_ctrl_c)
    result = cli("descend", "--no-plot")
    assert result.code == 130
    assert table_steps(result.out) == [1, 2]
    assert "interrupted (Ctrl-C) after 2 steps: x = 5.84, y = 16.7456" in result.out
    run = only_run(tmp_path)
    assert [float(r["x"]) for r in metrics(run)] == pytest.approx([8, 6.8, 5.84])
    done = summary(run)
    assert (done["status"], done["stop_reason"], done["steps"]) == ("interrupted", "interrupted", 2)
    assert done["final"]["x"] == pytest.approx(5.84)


def test_sigterm_is_named_as_sigterm_not_ctrl_c(cli, tmp_path, monkeypatch):
    import os
    import signal

    import gradlab.descent

    real, calls = gradlab.descent.metric_row, []

    def row_then_sigterm(run, step):
        calls.append(step)
        if len(calls) == 4:  # as above, but `kill` arrives during step 3
            os.kill(os.getpid(), signal.SIGTERM)
        return real(run, step)

    monkeypatch.setattr(gradlab.descent, "metric_row", row_then_sigterm)
    result = cli("descend", "--no-plot")
    assert result.code == 143
    # it said (Ctrl-C); the step the signal came in is written and recorded whole, then the run stops
    assert "interrupted (SIGTERM) after 3 steps: x = 5.072, y = 11.4372" in result.out
    done = summary(only_run(tmp_path))
    assert done["status"] == "interrupted" and done["message"].startswith("interrupted (SIGTERM) after 3 steps")


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_signal_between_a_steps_metrics_row_and_its_record_does_not_split_them(cli, tmp_path, monkeypatch, signum):
    # metrics.csv had a row for step k while the summary, the table and the plot ended at k - 1
    import os
    import signal

    import gradlab.descent

    real = gradlab.descent.Trajectory.add

    def signal_then_add(self, step):
        if step.step == 3:  # the row of step 3 is written: the signal lands before its record
            os.kill(os.getpid(), getattr(signal, signum))
        real(self, step)

    monkeypatch.setattr(gradlab.descent.Trajectory, "add", signal_then_add)
    result = cli("descend", "--no-plot")
    assert result.code == {"SIGINT": 130, "SIGTERM": 143}[signum]
    run = only_run(tmp_path)
    done = summary(run)
    assert done["steps"] == 3 and done["final"]["x"] == pytest.approx(5.072)
    assert [row["step"] for row in metrics(run)] == ["0", "1", "2", "3"]


def test_a_bad_out_fails_before_anything_is_printed(cli, tmp_path):
    (tmp_path / "a_file").write_text("")
    for out in (tmp_path / "a_file", tmp_path / "a_file" / "below"):
        result = cli("descend", "--out", out)
        assert result.code == 2 and result.out == ""
        assert result.err.startswith(f"error: --out: cannot create run root '{out}': it ")
        assert result.err.rstrip().endswith("a file, not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_dangling_symlink_as_out_is_named_so_before_anything_is_printed(cli, tmp_path):
    # mkdir met the link and said only "File exists", after the formula had been printed
    (tmp_path / "link").symlink_to("nowhere")
    for out, where in ((tmp_path / "link", "it is"),
                       (tmp_path / "link" / "below", f"it is inside '{tmp_path / 'link'}', which is")):
        result = cli("descend", "--out", out)
        assert (result.code, result.out) == (2, "")
        assert result.err == (f"error: --out: cannot create run root '{out}': {where} a symbolic link to 'nowhere', "
                              f"a path that does not exist\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link"]


def test_debug_is_accepted_after_the_command(cli):
    result = cli("descend", "--f", "foo(x)", "--debug")
    assert result.code == 2
    assert "Traceback (most recent call last)" in result.err
    assert result.err.rstrip().splitlines()[-1].startswith("error: f: unknown function 'foo'")
    assert "Traceback" not in cli("descend", "--f", "foo(x)").err


def test_the_readme_descend_excerpt_is_real_output(cli):
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    command = "gradlab descend --lr 0.1 --x0 8 --every 10"
    excerpt = readme.split(f"$ {command}\n", 1)[1].split("```", 1)[0].splitlines()
    result = cli(*command.split()[1:], "--no-plot")
    real = [line.rstrip() for line in result.out.splitlines()]
    assert real[:-1] == excerpt[:-1] and excerpt[-1].startswith("run directory: runs/")


def test_the_readme_line_on_a_point_that_is_no_minimum_is_real_output(cli):
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    command = "gradlab descend --f 'x**3 + y**2' --x0=0,0 --no-plot"
    quoted = readme.split(f"$ {command}\n...\n", 1)[1].splitlines()[0]
    result = cli("descend", "--f", "x**3 + y**2", "--x0=0,0", "--no-plot")
    assert quoted in result.out.splitlines() and quoted.startswith("stopped after 0 steps at a saddle point")


@pytest.mark.parametrize(("args", "name"), [
    (["--f", "x**3 + y**2", "--x0=0,0"], "saddle point"),
    (["--f", "x**3 + x**4", "--x0", "0"], "inflection point"),
    (["--f", "-x**4 - y**4", "--x0=1,1", "--method", "newton"], "maximum"),
    (["--lr", "0.1", "--x0", "8"], None),  # converged at the minimum 2
    (["--f", "exp(x)", "--x0=-20"], "plateau"),  # no stationary point: the gradient is merely small (it was None)
])
def test_the_summary_names_a_point_that_is_no_minimum(cli, tmp_path, args, name):
    # stop_reason says the stopping test was met; a script had no field telling it the point was no minimum
    assert cli("descend", *args, "--no-plot").code == 0
    saved = summary(only_run(tmp_path))
    assert (saved["stop_reason"], saved["not_a_minimum"]) == ("converged", name)


#: x_new of the seed articles' hand table for y = x**2 - 4x + 6 from 8 at lr 0.1, as printed there
ARTICLE_TABLE = ("6.80 5.84 5.07 4.45 3.96 3.57 3.25 3.00 2.80 2.64 2.51 2.41 2.32 2.26 2.21 2.16 2.13 2.10 2.08 "
                 "2.06 2.05 2.04 2.03 2.02 2.02 2.01 2.01 2.01 2.00 2.00 2.00 2.00 2.00").split()  # its 33 rows


def table_cells(text, column):
    """The cells of a descend table's ``column`` (1 = step, 4 = x_new), row by row."""
    rows = (line.split("│")[1:-1] for line in text.splitlines() if line.startswith("│"))
    return [cells[column - 1].strip() for cells in rows]


def test_the_articles_hand_table_is_the_exact_iterates_cut_to_two_decimals(cli):
    # x4 = 5.072 - 0.1 * 6.144 = 4.4576: the article has 4.45, not 4.46; x5 = 3.96608: 3.96, not 3.97.
    # Rounding and carrying the rounded value on would give 4.46 then 3.97 (5.07 - 0.614 = 4.456).
    exact = cli("descend", "--lr", "0.1", "--x0", "8", "--steps", "33", "--digits", "12", "--no-plot").out
    cut = [str(Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_DOWN)) for x in table_cells(exact, 4)]
    assert cut == ARTICLE_TABLE


def test_the_readme_note_on_the_articles_table_is_real_output(cli):
    """The article stops after 33 rows, --tol 0.01 after 32 steps; --digits 3 rounds x4 and x5."""
    from tests.conftest import REPO

    readme = " ".join((REPO / "README.md").read_text().split())
    exact = cli("descend", "--lr", "0.1", "--x0", "8", "--no-plot").out
    rounded = cli("descend", "--lr", "0.1", "--x0", "8", "--digits", "3", "--no-plot").out
    coarse = cli("descend", "--lr", "0.1", "--x0", "8", "--tol", "0.01", "--no-plot").out
    assert table_cells(exact, 4)[3:5] == ["4.4576", "3.96608"]
    assert table_cells(rounded, 4)[3:5] == ["4.46", "3.97"]
    assert "converged after 94 steps" in exact and "converged after 32 steps" in coarse
    assert ("it has 4.45 and 3.96 where the exact 4.4576 and 3.96608 round to 4.46 and 3.97 (`--digits 3`, "
            "three significant digits, shows x rounded to the article's two decimals). Cut the same way, the exact "
            "iterates give every one of its 33 rows, from 6.80 to 2.00. `--tol 0.01` stops one row short, with "
            "\"converged after 32 steps\" (|f'| = 12 * 0.8^k < 0.01 from k = 32 on); the default tol = 1e-8 takes 94.") in readme


def test_a_learning_rate_that_overflows_the_step_is_a_divergence(cli, tmp_path):
    # lr 1e308: x1 = 8 - 1e308 * 12 = -inf; lr f''(x*) = 2e308 overflows too, so the predicted ratio is inf
    result = cli("descend", "--lr", "1e308", "--no-plot")
    assert result.code == 0 and result.err == ""
    assert "diverged at step 1: the point is no longer a finite number (lr = 1e+308)" in result.out
    assert "predicted |1 - lr f''(x*)| = inf" in result.out
    assert summary(only_run(tmp_path))["status"] == "diverged"


def test_a_flat_floor_is_not_a_fall_without_end(cli, tmp_path):
    # relu(x) from 1: ten steps of 0.1 reach x = -0.1 (11 with rounding), where f = 0 and stays 0 leftwards
    result = cli("descend", "--f", "relu(x)", "--x0", 1, "--no-plot")
    assert "converged after 11 steps: x = -0.1, y = 0" in result.out
    assert "keeps decreasing" not in result.out
    # already on the floor: float64 and mpmath alike see f = 0 on the left, which is a minimum
    result = cli("descend", "--f", "relu(x)", "--x0", -1, "--no-plot")
    assert "converged after 0 steps: x = -1, y = 0" in result.out and "keeps decreasing" not in result.out


@pytest.mark.parametrize(("args", "kind", "curvature"), [
    (["--f", "cos(x)", "--x0", "0"], "maximum", "f'' < 0 there"),  # gradient 0 at the start: no step at all
    (["--f", "cos(x)", "--x0", "1", "--method", "newton"], "maximum", "f'' < 0 there"),  # Newton seeks f' = 0
    (["--f", "x**4 - x**2", "--x0", "0.1", "--method", "newton"], "maximum", "f'' < 0 there"),
    (["--f", "-x**2 - y**2", "--x0=0,0"], "maximum", "the Hessian has a negative eigenvalue there"),
    (["--f", "x*y", "--x0=0,0"], "saddle point", "the Hessian has a negative eigenvalue there"),
    (["--f", "x**2 - y**2", "--x0=1,0"], "saddle point", "the Hessian has a negative eigenvalue there"),
])
def test_maxima_and_saddle_points_are_not_called_converged(cli, tmp_path, args, kind, curvature):
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0, result.err
    final = next(line for line in result.out.splitlines() if line.startswith(("stopped", "converged")))
    assert final.startswith("stopped after") and f"at a {kind} of f, not a minimum" in final
    assert final.endswith(f"(the gradient is 0, but {curvature}); start elsewhere")
    assert summary(only_run(tmp_path))["message"].endswith("start elsewhere")


@pytest.mark.parametrize(("f", "final"), [
    # the Hessian at (1.79e-8, 1.79e-8) is ~1e-15, and both were "converged after 44 steps"
    ("-x**4 - y**4", "stopped after 44 steps at a maximum of f, not a minimum: (x, y) = (1.78642e-08, 1.78642e-08), "
                     "f = -2.03689e-31 (the gradient is 0 and the Hessian has an eigenvalue 0 to rounding, but f is "
                     "lower on every side); start elsewhere"),
    ("x**4 - y**4", "stopped after 44 steps at a saddle point of f, not a minimum: (x, y) = (1.78642e-08, "
                    "1.78642e-08), f = 0 (the gradient is 0 and the Hessian has an eigenvalue 0 to rounding, but f is "
                    "lower on some sides and higher on others); start elsewhere"),
    # f'' = -2 along y made this a maximum, though f rises along x, where the Hessian is 0 to rounding
    ("x**4 - y**2", "stopped after 43 steps at a saddle point of f, not a minimum: (x, y) = (2.67964e-08, 0), "
                    "f = 5.15589e-31 (the gradient is 0 and the Hessian has an eigenvalue 0 to rounding, but f is "
                    "lower on some sides and higher on others); start elsewhere"),
    ("-x**4 - y**2", "stopped after 43 steps at a maximum of f, not a minimum: (x, y) = (2.67964e-08, 0), "
                     "f = -5.15589e-31 (the gradient is 0, but the Hessian has a negative eigenvalue there); start "
                     "elsewhere"),
    ("x**4 + y**4", "converged after 44 steps: (x, y) = (1.78642e-08, 1.78642e-08), f = 2.03689e-31 (gradient and "
                    "next step below tol = 1e-08)"),
    ("x**4 + 2*y**2", "converged after 43 steps: (x, y) = (2.67964e-08, 0), f = 5.15589e-31 (gradient and next "
                      "step below tol = 1e-08)"),
    ("x**4 + y**4 + 100", "converged after 44 steps: (x, y) = (1.78642e-08, 1.78642e-08), f = 100 (gradient and "
                          "next step below tol = 1e-08)"),  # f rises by ~1e-12 at the widest probe, 1e-3
    # f changes by ~1e-24 at the probes ~1e-6 away, below the rounding of f = 1: both were "converged"
    ("1 - x**4 - y**4", "stopped after 44 steps at a maximum of f, not a minimum: (x, y) = (1.78642e-08, "
                        "1.78642e-08), f = 1 (the gradient is 0 and the Hessian has an eigenvalue 0 to rounding, but f "
                        "is lower on every side); start elsewhere"),
    ("x**4 - y**4 + 1", "stopped after 44 steps at a saddle point of f, not a minimum: (x, y) = (1.78642e-08, "
                        "1.78642e-08), f = 1 (the gradient is 0 and the Hessian has an eigenvalue 0 to rounding, but f "
                        "is lower on some sides and higher on others); start elsewhere"),
    # f'' = -2 along y shows at once, x**4 only at 1e-3: it was "stopped ... at a maximum"
    ("1 + x**4 - y**2", "stopped after 43 steps at a saddle point of f, not a minimum: (x, y) = (2.67964e-08, 0), "
                        "f = 1 (the gradient is 0 and the Hessian has an eigenvalue 0 to rounding, but f is lower on "
                        "some sides and higher on others); start elsewhere"),
])
def test_flat_maxima_and_saddle_points_are_not_called_converged(cli, tmp_path, f, final):
    result = cli("descend", "--method", "newton", "--f", f, "--x0=1,1", "--no-plot")
    assert result.code == 0, result.err
    assert final in result.out.splitlines()
    assert summary(only_run(tmp_path))["message"].startswith(final[:40])


@pytest.mark.parametrize(("args", "final"), [
    # f = 1 - 2.0e-31 at the end rounds to 1, and at the probes ~1e-6 away too: it named no maximum
    (["--f", "1 - x**4", "--x0", "1", "--method", "newton"],
     "stopped after 43 steps at a maximum of f, not a minimum: x = 2.67964e-08, y = 1 (the gradient and f'' are 0 to "
     f"rounding, but f is lower on both sides); f keeps decreasing as x -> +inf, {NO_MINIMUM}"),
    # an inflection: f is lower on one side at every probe, out to the widest (it said only 'stopped after 26
    # steps: ... (gradient and next step below tol = 1e-08)' with the tail)
    (["--f", "x**3 + 5", "--x0", "1", "--method", "newton"],
     "stopped after 26 steps at an inflection point of f, not a minimum: x = 1.49012e-08, y = 5 (the gradient is 0 and "
     f"f'' changes sign right beside the point, but f is lower on one side and higher on the other); f keeps "
     f"decreasing as x -> -inf, {NO_MINIMUM}"),
    # a start on the point, gradient 0: both were "converged after 0 steps"
    (["--f", "-exp(x**4)", "--x0", "0"],
     "stopped after 0 steps at a maximum of f, not a minimum: x = 0, y = -1 (the gradient and f'' are 0 to rounding, "
     "but f is lower on both sides); start elsewhere"),
    (["--f", "-(x**2 + y**2)**1.5", "--x0=0,0"],  # its Hessian there is 0/0
     "stopped after 0 steps at a maximum of f, not a minimum: (x, y) = (0, 0), f = 0 (the gradient is 0 and the "
     "Hessian is not finite there, but f is lower on every side); start elsewhere"),
    (["--f", "(x**2 + y**2)**1.5", "--x0=0,0"],
     "converged after 0 steps: (x, y) = (0, 0), f = 0 (gradient and next step below tol = 1e-08)"),
    (["--f", "abs(x) + abs(y)", "--x0=0,0"],  # a kink at the minimum
     "converged after 0 steps: (x, y) = (0, 0), f = 0 (gradient and next step below tol = 1e-08)"),
    # y**6 at the widest probe, 1e-3, changes f = 1 by 1e-18, which float64 rounds away: "converged"
    (["--f", "1 - x**6 - y**6", "--x0=0,0"],
     "stopped after 0 steps at a maximum of f, not a minimum: (x, y) = (0, 0), f = 1 (the gradient is 0 and the "
     "Hessian has an eigenvalue 0 to rounding, but f is lower on every side); start elsewhere"),
    (["--f", "1e4 - x**4 - y**4", "--x0=0.5,0.5", "--method", "newton"],
     "stopped after 42 steps at a maximum of f, not a minimum: (x, y) = (2.00973e-08, 2.00973e-08), f = 10000 (the "
     "gradient is 0 and the Hessian has an eigenvalue 0 to rounding, but f is lower on every side); start elsewhere"),
    (["--f", "x**2 - y**4 + 1e6", "--x0=1,0"],
     "stopped after 86 steps at a saddle point of f, not a minimum: (x, y) = (4.63168e-09, 0), f = 1e+06 (the "
     "gradient is 0 and the Hessian has an eigenvalue 0 to rounding, but f is lower on some sides and higher on "
     "others); start elsewhere"),
    # the rise along y was as invisible: the Hessian's -2 along x made it a "maximum"
    (["--f", "-x**2 + y**6 + 1", "--x0=0,0"],
     "stopped after 0 steps at a saddle point of f, not a minimum: (x, y) = (0, 0), f = 1 (the gradient is 0 and the "
     "Hessian has an eigenvalue 0 to rounding, but f is lower on some sides and higher on others); start elsewhere"),
])
def test_flat_points_beside_a_large_f_or_under_a_start_are_named(cli, tmp_path, args, final):
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0, result.err
    assert final in result.out.splitlines()
    assert summary(only_run(tmp_path))["message"].startswith(final.split(":")[0])


SADDLE_2D = "but f is lower on some sides and higher on others); start elsewhere"


@pytest.mark.parametrize(("args", "final"), [
    # odd order: along x, f is lower on one side only, at every probe; that told nothing, and all were "converged"
    (["--f", "x**3 + y**2", "--x0=0,0"],
     "stopped after 0 steps at a saddle point of f, not a minimum: (x, y) = (0, 0), f = 0 (the gradient is 0 and the "
     f"Hessian has an eigenvalue 0 to rounding, {SADDLE_2D}"),
    (["--f", "x**3 - 3*x*y**2", "--x0=0,0"],  # the monkey saddle: the Hessian is 0
     "stopped after 0 steps at a saddle point of f, not a minimum: (x, y) = (0, 0), f = 0 (the gradient is 0 and the "
     f"Hessian has an eigenvalue 0 to rounding, {SADDLE_2D}"),
    # f_xx = 6x = 9e-8 at the end is no 0 to rounding, but 10 Newton steps on, past 0, it is negative
    (["--f", "x**3 + y**2", "--x0=1,1", "--method", "newton"],
     "stopped after 26 steps at a saddle point of f, not a minimum: (x, y) = (1.49012e-08, 0), f = 3.30872e-24 (the "
     f"gradient is 0 and an eigenvalue of the Hessian changes sign right beside the point, {SADDLE_2D}"),
    (["--f", "x**3 + x**4", "--x0", "0"],
     "stopped after 0 steps at an inflection point of f, not a minimum: x = 0, y = 0 (the gradient and f'' are 0 to "
     "rounding, but f is lower on one side and higher on the other); start elsewhere"),
    # f_yy = -2.6e-16 is below lstsq's cutoff, so the probes were centred 5.4e-5 off the point, and the nearest
    # was one-sided: "converged ... (the second derivative (Hessian) is singular ...; try --method gd)"
    (["--f", "x**2 - y**6", "--x0=1,1", "--method", "newton"],
     "stopped after 44 steps at a saddle point of f, not a minimum: (x, y) = (0, 5.44452e-05), f = -2.60469e-26 (the "
     f"gradient is 0 and the Hessian has an eigenvalue 0 to rounding, {SADDLE_2D}"),
])
def test_odd_order_points_and_off_centre_newton_stops_are_not_called_converged(cli, tmp_path, args, final):
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0, result.err
    assert final in result.out.splitlines()
    assert summary(only_run(tmp_path))["message"].startswith(final.split(":")[0])


@pytest.mark.parametrize(("args", "final"), [
    # a local minimum reached at a loose tol: 10 Newton steps on, past the maximum at -1, f'' < 0, and
    # the probe 100 steps out saw f lower there; it was "an inflection point ... not a minimum"
    (["--f", "x**3 - 3*x", "--x0=2", "--tol", "1", "--lr", "0.05"],
     "converged after 4 steps: x = 1.14702, y = -1.93198 (gradient and next step below tol = 1)"),
    (["--f", "x**3 - 3*x + y**2", "--x0=2,0", "--tol", "1", "--lr", "0.05"],
     "converged after 4 steps: (x, y) = (1.14702, 0), f = -1.93198 (gradient and next step below tol = 1)"),
])
def test_a_loose_tol_minimum_is_no_odd_order_point(cli, tmp_path, args, final):
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0, result.err
    assert final in result.out.splitlines()


PLATEAU = "stopped after 0 steps on a plateau of f, not at a minimum: "
ON_TO_MINUS_INF = "; f keeps decreasing as x -> -inf, so there is no minimum to converge to that way"


def plateau_line(where: str, size: str, rounded: bool = False, way: str = "toward smaller x",
                 tail: str = "; start elsewhere") -> str:
    rounds = " and rounds to 0 in float64" if rounded else ""
    return f"{PLATEAU}{where} (the gradient, of size {size}, is below tol = 1e-08{rounds}, but f keeps falling {way}){tail}"


@pytest.mark.parametrize(("args", "final"), [
    # f' = 2x e^(-x^2) = 2.8e-15 at 6, and f falls on to its minimum at 0: it was "converged"
    (["--f", "-exp(-x**2)", "--x0", "6"], plateau_line("x = 6, y = -2.31952e-16", "2.78343e-15")),
    # f'' < -tol there: it was "a flat point of f ... (the gradient is 0, ...)"
    (["--f", "-exp(-x**2)", "--x0", "4.6"], plateau_line("x = 4.6, y = -6.46143e-10", "5.94452e-09")),
    # float64 rounds tanh(-20) to -1 and 1 - tanh^2 to 0 (4 e^-40 = 1.7e-17): it was "an inflection point"
    (["--f", "tanh(x)", "--x0=-20"], plateau_line("x = -20, y = -1", "1.69934e-17", rounded=True)),
    (["--f", "tanh(x)", "--x0=20"], plateau_line("x = 20, y = 1", "1.69934e-17", rounded=True, tail=ON_TO_MINUS_INF)),
    # it was "converged"; the direction is -grad f / |grad f|
    (["--f", "exp(x+y)", "--x0=-10,-10"],
     plateau_line("(x, y) = (-10, -10), f = 2.06115e-09", "2.91491e-09", way="along (-0.707107, -0.707107)")),
    # these said "stopped ... f keeps decreasing as x -> -inf", with no word on why the run stopped there
    (["--f", "exp(x)", "--x0=-20"], plateau_line("x = -20, y = 2.06115e-09", "2.06115e-09", tail=ON_TO_MINUS_INF)),
    (["--f", "sigmoid(x)", "--x0=-20"], plateau_line("x = -20, y = 2.06115e-09", "2.06115e-09", tail=ON_TO_MINUS_INF)),
    # e^-1000 underflows float64, and so does its gradient: 50 digits still give it
    (["--f", "exp(x)", "--x0=-1000"], plateau_line("x = -1000, y = 0", "5.07596e-435", rounded=True, tail=ON_TO_MINUS_INF)),
])
def test_a_plateau_is_named_where_the_gradient_is_merely_small(cli, tmp_path, args, final):
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0, result.err
    assert final in result.out.splitlines()
    saved = summary(only_run(tmp_path))
    assert (saved["stop_reason"], saved["not_a_minimum"]) == ("converged", "plateau")
    assert saved["message"].startswith(final.split(":")[0])


def test_the_readme_plateau_line_is_real_output(cli):
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    quoted = readme.split("$ gradlab descend --f 'tanh(x)' --x0=-20 --no-plot\n...\n", 1)[1].splitlines()[0]
    assert quoted.startswith(PLATEAU)
    assert quoted in cli("descend", "--f", "tanh(x)", "--x0=-20", "--no-plot").out.splitlines()


@pytest.mark.parametrize(("args", "final"), [
    # the gradient vanishes 1e-9 away, right beside the point
    (["--f", "x**2", "--x0", "1e-9"],
     "converged after 0 steps: x = 1e-09, y = 1e-18 (gradient and next step below tol = 1e-08)"),
    # flat minima 3 and 39 Newton steps away: f falls towards them, and rises again 100 steps on
    (["--f", "x**4", "--x0", "0.0013"],
     "converged after 0 steps: x = 0.0013, y = 2.8561e-12 (gradient and next step below tol = 1e-08)"),
    (["--f", "x**40", "--x0", "0.56"],
     "converged after 0 steps: x = 0.56, y = 8.46294e-11 (gradient and next step below tol = 1e-08)"),
    (["--f", "x**4 + y**4", "--x0=1e-3,1e-3"],
     "converged after 0 steps: (x, y) = (0.001, 0.001), f = 2e-12 (gradient and next step below tol = 1e-08)"),
])
def test_a_minimum_reached_to_tol_is_no_plateau(cli, tmp_path, args, final):
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0, result.err
    assert final in result.out.splitlines()
    assert summary(only_run(tmp_path))["not_a_minimum"] is None


def test_an_inflection_has_no_stability_numbers_of_a_minimum(cli, tmp_path):
    # Newton stops at 1.3e-8 beside the inflection 0 of x**3 + x**4; from there Newton on f' found x* = 8e-16
    # with f'' = 0 to rounding, and the stability line called it "a flat minimum" under a final line that
    # (now) says inflection point
    result = cli("descend", "--f", "x**3 + x**4", "--x0", "0.1", "--method", "newton", "--no-plot")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert ("stopped after 23 steps at an inflection point of f, not a minimum: x = 1.34496e-08, y = 2.43292e-24 (the "
            "gradient is 0 and f'' changes sign right beside the point, but f is lower on one side and higher on the "
            "other); start elsewhere") in lines
    assert ("stability: no minimum of f found near the path, so no step-size bound applies"
            in lines)
    assert summary(only_run(tmp_path))["stability"] is None


def test_newton_converged_where_the_hessian_turns_singular_says_so_without_contradiction(cli, tmp_path):
    # the minimum's twin of x**2 - y**6: the gradient 6y^5 = 3e-21 is below tol where the Hessian turns singular;
    # it said "converged ... (... so Newton's step is undefined there; try --method gd)"
    result = cli("descend", "--f", "x**2 + y**6", "--x0=1,1", "--method", "newton", "--no-plot")
    assert result.code == 0, result.err
    assert ("converged after 44 steps: (x, y) = (0, 5.44452e-05), f = 2.60469e-26 (gradient below tol = 1e-08; the "
            "second derivative (Hessian) is singular there, so Newton has no next step)") in result.out.splitlines()
    assert summary(only_run(tmp_path))["stop_reason"] == "converged"


@pytest.mark.parametrize(("args", "final"), [
    # a line of minima: probe points rounded to float64 land ~1e-16 off its floor, on one side lower than the
    # centre's 1e-32; counted as a fall on one side (as an odd-order point's is), that made these minima saddle
    # points: a change that rounding a point's coordinates can make is no difference
    (["--f", "(x + y - 1)**2", "--x0=0.3,2"],
     "converged after 39 steps: (x, y) = (-0.35, 1.35), f = 8.3885e-18 (gradient and next step below tol = 1e-08)"),
    (["--f", "(x + y - 1)**2 + 3.7", "--x0=0.3625,-1.03", "--lr", "0.02", "--steps", "20000"],
     "converged after 240 steps: (x, y) = (1.19625, -0.19625), f = 3.7 (gradient and next step below tol = 1e-08)"),
])
def test_a_valley_of_minima_stays_converged(cli, tmp_path, args, final):
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0, result.err
    assert final in result.out.splitlines()


def test_negative_zero_is_printed_as_0(cli):
    from gradlab.cli.common import fmt

    assert (fmt(-0.0), fmt(-0.0, 17), fmt(-1e-300)) == ("0", "0", "-1e-300")
    # f = -0.0 - 0.0 = -0.0 at the start: it was printed 'f = -0'
    result = cli("descend", "--f", "-x**2 - y**2", "--x0=0,0", "--no-plot")
    assert ("stopped after 0 steps at a maximum of f, not a minimum: (x, y) = (0, 0), f = 0 (the gradient is 0, "
            "but the Hessian has a negative eigenvalue there); start elsewhere") in result.out.splitlines()


@pytest.mark.parametrize(("f", "x0"), [("tanh(x)*1e308", "8"), ("tanh(x)*1e308 + y**2", "8,1"),
                                      ("1e308*tanh(x) + y", "0,0")])  # its contour levels overflowed (a warning)
def test_values_too_large_for_an_axis_still_give_a_plot(cli, tmp_path, f, x0):
    # f spans -1e308 to 1e308: matplotlib's axis span hi - lo would overflow; such values are left undrawn
    result = cli("descend", "--f", f, f"--x0={x0}", "--steps", 3)
    assert result.code == 0, result.err
    run = only_run(tmp_path)
    assert summary(run)["status"] == "diverged" and (run / "descent.png").stat().st_size > 0


def test_a_config_x0_beyond_float64_is_refused_as_infinite(cli, tmp_path):
    (tmp_path / "huge.yaml").write_text(f"f: x**2 + y**2\nx0: [1, {'9' * 400}]\n")
    result = cli("descend", "--config", tmp_path / "huge.yaml")
    assert result.code == 2
    assert result.err == "error: x0: coordinates must be finite numbers at most 1e+12 in size, got (1, inf)\n"
    assert run_dirs(tmp_path / "runs") == []


def test_an_inflection_newton_creeps_up_to_is_not_called_a_maximum(cli, tmp_path):
    # f' = 4x^3 - 9x^2 = x^2 (4x - 9): a double zero at the inflection x = 0, which Newton approaches
    # halving its distance; it stops at x = 1.12273e-08 where f'' = 12x^2 - 18x = -2.02e-7 < 0, yet
    # f'' > 0 just left of 0: the point is no maximum (it was called one), and f, asked, is lower on one
    # side and higher on the other (it was 'a flat point, possibly not a minimum')
    result = cli("descend", "--f", "x**4 - 3*x**3 + 2", "--x0", 0.5, "--method", "newton", "--steps", 200, "--no-plot")
    assert result.code == 0, result.err
    final = ("stopped after 25 steps at an inflection point of f, not a minimum: x = 1.12273e-08, y = 2 (the gradient is 0 "
             "and f'' changes sign right beside the point, but f is lower on one side and higher on the other); start "
             "elsewhere")
    assert final in result.out.splitlines()
    assert "maximum" not in result.out
    assert summary(only_run(tmp_path))["message"].startswith("stopped after 25 steps at an inflection point of f")


@pytest.mark.parametrize(("args", "text"), [
    # both were printed '1': 'lr < 2/f''(x*) = 1; lr = 1 is below it'
    (["--lr", "0.9999999"], "gradient descent converges only if lr < 2/f''(x*) = 1; lr = 0.9999999 is below it"),
    (["--lr", "1.0000000000000002"], "lr < 2/f''(x*) = 1; lr = 1.0000000000000002 is not below it"),
    (["--lr", "1"], "lr < 2/f''(x*) = 1; lr = 1 is not below it"),
    (["--method", "newton", "--lr", "1.9999999"], "only if lr < 2; lr = 1.9999999 is below it"),
])
def test_lr_and_its_bound_are_printed_apart(cli, tmp_path, args, text):
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0, result.err
    assert text in next(line for line in result.out.splitlines() if line.startswith("stability: x* = "))


@pytest.mark.parametrize(("steps", "every", "caption"), [
    (3, 10, False),  # all three rows are shown: the caption said 'steps 1-5, every 10 steps, and the last'
    (6, 2, False),  # 1-5, and 6 as an even step and the last: nothing left out
    (12, 2, True),  # 1-5 and the even ones up to 12 leave out 7, 9 and 11
    (30, 10, True),  # 1-5, 10, 20, 30: steps 6-9 and others are left out
])
def test_the_table_caption_appears_only_when_steps_are_left_out(cli, tmp_path, steps, every, caption):
    result = cli("descend", "--steps", steps, "--every", every, "--no-plot")
    assert result.code == 0, result.err
    assert (f"shown: steps 1-5, every {every} steps, and the last" in result.out) is caption


@pytest.mark.parametrize(("args", "line", "kink"), [
    # |x| from 1.05: ten steps of 0.1 reach 0.05, then -0.05, 0.05, ... for ever
    (["--f", "abs(x)", "--x0", "1.05"],
     "stability: x* = 0 is a kink of f, where f' jumps from -1 to 1: f' does not shrink near it as near a smooth "
     "minimum, so the run circles it (its last points lie between x = -0.05 and 0.05); no step-size bound applies, "
     "and a smaller lr ends closer to it", {"x": 0.0, "left_slope": -1.0, "right_slope": 1.0}),
    # f' = -0.5 below 1 and 1.5 above: one step down of 0.15, then steps up of 0.05 until it passes 1 again
    (["--f", "abs(x - 1) + 0.5*x", "--x0", "3"],
     "stability: x* = 1 is a kink of f, where f' jumps from -0.5 to 1.5: f' does not shrink near it as near a smooth "
     "minimum, so the run circles it (its last points lie between x = 0.85 and 1); no step-size bound applies, "
     "and a smaller lr ends closer to it", {"left_slope": -0.5, "right_slope": 1.5}),
])
def test_a_kink_minimum_is_named_where_no_step_size_bound_applies(cli, tmp_path, args, line, kink):
    # it said "no minimum of f found near the path": |x| has one, at 0, where f' jumps and f'' says nothing
    result = cli("descend", *args, "--no-plot")
    assert result.code == 0 and line in result.out.splitlines()
    saved = summary(only_run(tmp_path))
    assert saved["kink"].items() >= kink.items() and saved["stability"] is None


def test_a_smooth_minimum_has_no_kink(cli, tmp_path):
    assert cli("descend", "--no-plot").code == 0
    assert summary(only_run(tmp_path))["kink"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "gd", "--momentum", "0.5"], "momentum: method gd does not use it, got 0.5; it is a setting of "
                                               "momentum and nesterov"),
    (["--method", "adam", "--momentum", "0.5"], "momentum: method adam does not use it, got 0.5; it is a setting of "
                                                 "momentum and nesterov"),
    (["--method", "nesterov", "--eps", "0.001"], "eps: method nesterov does not use it, got 0.001; it is a setting of adam"),
])
def test_a_setting_the_method_does_not_read_is_refused_not_ignored(cli, tmp_path, args, message):
    # gd with --momentum 0.5 ran plain gd and recorded the momentum in config.yaml as if used
    result = cli("descend", *args, "--no-plot", "--out", tmp_path / "runs")
    assert (result.code, result.err) == (2, f"error: {message}\n")
    assert not (tmp_path / "runs").exists()


def test_a_saved_config_holding_every_default_still_runs(cli, tmp_path):
    # config.yaml records momentum, beta1, beta2 and eps whatever the method: at their defaults they are no choice
    assert cli("descend", "--method", "adam", "--lr", "0.5", "--no-plot", "--out", tmp_path / "a").code == 0
    (run,) = run_dirs(tmp_path / "a")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["momentum"] == 0.9 and saved["method"] == "adam"
    assert cli("descend", "--config", run / "config.yaml", "--no-plot", "--out", tmp_path / "b").code == 0


@pytest.mark.parametrize(("switch", "method", "momentum", "beta1"), [
    (["--method", "gd"], "gd", 0.9, 0.9),  # the run's momentum 0.5 stays behind: gd reads none
    (["--set", "method=nesterov"], "nesterov", 0.5, 0.9),  # nesterov reads it: kept
    (["--method", "momentum"], "momentum", 0.5, 0.9),
])
def test_a_saved_run_re_run_with_another_method_leaves_the_old_methods_settings(cli, tmp_path, switch, method,
                                                                                momentum, beta1):
    # --config <a momentum run> --method gd was refused for the file's momentum 0.5; --set method=nesterov too,
    # because the file was checked as if its method were the default gd
    first = cli("descend", "--method", "momentum", "--momentum", "0.5", "--no-plot", "--out", tmp_path / "a")
    assert first.code == 0
    (run,) = run_dirs(tmp_path / "a")
    result = cli("descend", "--config", run / "config.yaml", *switch, "--no-plot", "--out", tmp_path / "b")
    assert result.code == 0, result.err
    (rerun,) = run_dirs(tmp_path / "b")
    saved = yaml.safe_load((rerun / "config.yaml").read_text())
    assert (saved["method"], saved["momentum"], saved["beta1"]) == (method, momentum, beta1)


def test_another_method_with_a_setting_it_does_not_read_is_still_refused(cli, tmp_path):
    assert cli("descend", "--method", "adam", "--beta1", "0.5", "--no-plot", "--out", tmp_path / "a").code == 0
    (run,) = run_dirs(tmp_path / "a")
    result = cli("descend", "--config", run / "config.yaml", "--method", "gd", "--momentum", "0.7", "--no-plot",
                 "--out", tmp_path / "b")
    assert (result.code, result.err) == (2, "error: momentum: method gd does not use it, got 0.7; it is a setting "
                                            "of momentum and nesterov\n")
    bogus = cli("descend", "--config", run / "config.yaml", "--method", "bogus", "--no-plot", "--out", tmp_path / "b")
    assert bogus.code == 2 and bogus.err.startswith("error: method: unknown value 'bogus'")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("switch", "lr"), [
    (["--method", "gd"], 0.1),  # newton's default 1 made gd swing between 8 and -4 for ever
    (["--method", "adam"], 0.1),
    (["--method", "gd", "--lr", "1"], 1.0),  # chosen on the command line: kept
])
def test_a_newton_run_re_run_with_another_method_leaves_newtons_default_lr(cli, tmp_path, switch, lr):
    assert cli("descend", "--method", "newton", "--steps", "3", "--no-plot", "--out", tmp_path / "a").code == 0
    (run,) = run_dirs(tmp_path / "a")
    assert yaml.safe_load((run / "config.yaml").read_text())["lr"] == 1.0  # the resolved lr is recorded
    result = cli("descend", "--config", run / "config.yaml", *switch, "--no-plot", "--out", tmp_path / "b")
    assert result.code == 0, result.err
    (rerun,) = run_dirs(tmp_path / "b")
    assert yaml.safe_load((rerun / "config.yaml").read_text())["lr"] == lr


def test_a_chosen_lr_of_a_saved_run_stays_with_another_method(cli, tmp_path):
    assert cli("descend", "--lr", "0.3", "--no-plot", "--out", tmp_path / "a").code == 0
    (run,) = run_dirs(tmp_path / "a")
    assert cli("descend", "--config", run / "config.yaml", "--method", "newton", "--no-plot",
               "--out", tmp_path / "b").code == 0
    (rerun,) = run_dirs(tmp_path / "b")
    assert yaml.safe_load((rerun / "config.yaml").read_text())["lr"] == 0.3


def test_a_null_method_is_named_on_the_command_line_not_blamed_on_the_file(cli, tmp_path):
    assert cli("descend", "--method", "adam", "--beta1", "0.8", "--no-plot", "--out", tmp_path / "a").code == 0
    (run,) = run_dirs(tmp_path / "a")
    result = cli("descend", "--config", run / "config.yaml", "--set", "method=null", "--out", tmp_path / "b")
    assert (result.code, result.err) == (2, "error: --set method: input should be a valid string (got None)\n")


def test_the_summary_message_writes_the_final_point_as_the_files_do(cli, tmp_path):
    # it wrote x = 3.1626904658870898 beside "final": {"x": 3.16269046588709}, the same float64 twice
    assert cli("descend", "--method", "adam", "--lr", "0.1", "--steps", "60", "--no-plot").code == 0
    done = summary(only_run(tmp_path))
    x, f = done["final"]["x"], done["final"]["f"]
    assert (repr(x), repr(f)) == ("3.16269046588709", "3.351849119464738")
    assert done["message"].startswith(f"stopped after 60 steps: x = {x!r}, y = {f!r} (")


def test_seventeen_digits_are_the_fewest_that_read_back_to_the_number():
    from gradlab.cli.common import fmt

    assert [fmt(v, 17) for v in (0.1, 8 - 0.1 * 12, 25.039999999999996, 1234567.0, 1e300, -0.0)] == \
        ["0.1", "6.8", "25.039999999999996", "1234567", "1e+300", "0"]
    # repr's notation: the fewest %g digits wrote 20 as 2e+01 in every summary message
    assert [fmt(v, 17) for v in (20.0, 100.0, -4000.0, 1234500.0, 1e16, 2.5e-05, 5e-324)] == \
        ["20", "100", "-4000", "1234500", "1e+16", "2.5e-05", "5e-324"]
    assert fmt(0.1, 6) == "0.1" and fmt(2 / 3, 6) == "0.666667"


def test_the_table_shows_about_100_rows_of_the_steps_taken_not_of_the_step_limit(cli):
    # --steps 100000 converged after 94 steps and showed rows 1-5 and 94 ("every 1000 steps")
    result = cli("descend", "--steps", "100000", "--no-plot")
    assert result.code == 0 and "converged after 94 steps" in result.out
    assert "shown:" not in result.out
    assert [line.split()[1] for line in result.out.splitlines() if line.startswith("│")][-3:] == ["92", "93", "94"]


def test_a_flat_minimum_says_its_predicted_ratio_is_no_fixed_one(cli, tmp_path):
    # "predicted |1 - lr f''(x*)| = 1" came right after "shrinks more slowly than any fixed ratio" (a learner review)
    result = cli("descend", "--f", "x**4", "--x0", "1", "--no-plot", "--out", tmp_path)
    assert result.code == 0, result.err
    assert ("error ratio |x_k+1 - x*| / |x_k - x*|: predicted |1 - lr f''(x*)| = 1 (f''(x*) = 0: the ratio creeps up "
            "towards 1), observed 0.994439 (last 20 steps)") in result.out.splitlines()
