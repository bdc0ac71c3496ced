"""`gradlab plot`: the files each form writes, the facts it prints, and how it refuses bad input."""

import csv
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml

from gradlab import curves
from gradlab.engine.losses import losses
from tests.conftest import run_dirs, subprocess_env

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# saturated: f' below 1% of its peak, as training counts it
# sigma'(z) = s (1 - s) = 0.01 / 4  =>  s = (1 + sqrt(0.99)) / 2,  z = ln(s / (1 - s)) = 5.9869
SIGMOID_FLAT = math.log((1 + math.sqrt(0.99)) / (1 - math.sqrt(0.99)))
# 1 - tanh(z)^2 = 0.01 * 1  =>  z = atanh(sqrt(0.99)) = 2.9932
TANH_FLAT = math.atanh(math.sqrt(0.99))


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    """A console wide enough that no table cell wraps, whatever $COLUMNS the tests run under."""
    from gradlab.cli import common

    monkeypatch.setattr(common.out, "width", 300)


def read_csv(path):
    """Header and the columns as float arrays."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header, data = rows[0], np.array(rows[1:], dtype=float)
    return header, {name: data[:, i] for i, name in enumerate(header)}


def only_run(tmp_path):
    dirs = run_dirs(tmp_path / "runs")
    assert len(dirs) == 1, dirs
    return dirs[0]


def test_sigmoid_derivative_writes_png_csv_config_and_summary(cli, tmp_path):
    # 1001 points put z = 0 on the grid
    result = cli("plot", "sigmoid", "--derivative", "--points", 1001)
    assert result.code == 0, result.err
    run = only_run(tmp_path)
    assert (run / "activations.png").read_bytes()[:8] == PNG_MAGIC
    header, col = read_csv(run / "activations.csv")
    assert header == ["z", "sigmoid", "sigmoid_derivative"]
    assert len(col["z"]) == 1001 and col["z"][0] == -10 and col["z"][-1] == 10
    zero = np.flatnonzero(col["z"] == 0.0)[0]
    assert col["sigmoid"][zero] == 0.5 and col["sigmoid_derivative"][zero] == 0.25
    assert col["sigmoid_derivative"].max() == 0.25
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["activations"] == ["sigmoid"] and config["range"] == [-10.0, 10.0] and config["points"] == 1001
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "completed"
    facts = summary["facts"]["sigmoid"]
    assert facts["max_derivative"] == 0.25 and facts["peak_at"] == [0.0, 0.0]
    assert np.all(col["sigmoid_derivative"][np.abs(col["z"]) > 5.99] < 0.0025)  # saturated: f' < 1% of 1/4
    assert col["sigmoid"].min() > 0 and col["sigmoid"].max() < 1
    assert facts["flat_above"] == pytest.approx(SIGMOID_FLAT, abs=1e-4) == -facts["flat_below"]
    assert summary["files"] == ["activations.png", "activations.csv"]
    assert "--derivative" in summary["reproduce"]
    # the printed facts
    assert "(0, 1)" in result.out
    assert "0.25 at z = 0" in result.out
    assert "f' below 1% of its peak" in result.out and "|z| > 5.99 (saturation)" in result.out
    assert "4.53979e-05" in result.out  # sigmoid(-10) in the sample table


def test_three_overlaid_with_prefixed_columns(cli, tmp_path):
    result = cli("plot", "sigmoid", "tanh", "relu", "--derivative", "--range", -6, 6, "--points", 200)
    assert result.code == 0, result.err
    header, col = read_csv(only_run(tmp_path) / "activations.csv")
    assert header == ["z", "sigmoid", "sigmoid_derivative", "tanh", "tanh_derivative", "relu", "relu_derivative"]
    assert col["z"][0] == -6 and col["z"][-1] == 6 and len(col["z"]) == 200
    np.testing.assert_allclose(col["tanh"], np.tanh(col["z"]), rtol=1e-15)
    np.testing.assert_allclose(col["relu_derivative"], col["z"] > 0)
    assert f"|z| > {TANH_FLAT:.3g} (saturation)" in result.out  # 2.99
    assert "z < 0" in result.out  # relu: no gradient for negative inputs
    # relu's peak was 'at z in [0.0302, 6]': the grid's first point past the kink and the range's end
    assert "1 for z > 0 " in result.out and "z in [" not in result.out


def facts_column(out: str, column: int) -> dict[str, str]:
    """The facts table's ``column`` (4: max f', 5: where f' is flat) by function, from printed output."""
    return {line.split("│")[1].strip(): line.split("│")[column].strip() for line in out.splitlines()
            if line.startswith("│") and len(line.split("│")) > 6}


def test_max_derivative_facts_name_kinks_and_points_not_grid_points(cli, tmp_path):
    result = cli("plot", "hard_sigmoid", "elu", "softplus", "identity", "--output", tmp_path / "a.png")
    assert result.code == 0, result.err
    rows = facts_column(result.out, 4)
    assert rows["hard_sigmoid"] == "0.166667 for -3 < z < 3"  # was 'at z in [-2.993, 2.993]'
    assert rows["elu"] == "1 for z >= 0"  # alpha = 1: f'(0) = 1, no jump, so 0 belongs
    assert rows["softplus"] == "0.999955 at z = 10, the end of the range"
    assert rows["identity"] == "1 everywhere on the range"


@pytest.mark.parametrize(("spec", "lo", "hi", "peak"), [
    ("tanh", "30", "40", "3.5026e-26 at z = 30, the end of the range"),  # was 'everywhere on the range'
    ("sigmoid", "-40", "-28", "6.9144e-13 at z = -28, the end of the range"),
])
def test_a_peak_far_below_1_is_located_not_called_a_plateau(cli, tmp_path, spec, lo, hi, peak):
    result = cli("plot", spec, "--range", lo, hi, "--output", tmp_path / "a.png")
    assert result.code == 0, result.err
    assert facts_column(result.out, 4)[spec] == peak


@pytest.mark.parametrize("spec, lo, hi, flat", [
    ("relu", "0", "5", "at z = 0, the end of the range"),  # was 'z < 0': points the range does not hold
    ("relu", "-5", "5", "z < 0"),
    ("hard_sigmoid", "-10", "3", "at z = 3, the end of the range, and z < -3"),
    ("hard_sigmoid", "-3", "3", "at z = -3 and z = 3, the ends of the range"),  # said only z = -3
    ("sigmoid", "0", "10", f"z > {SIGMOID_FLAT:.3g}"),
])
def test_a_flat_tail_beginning_at_the_range_end_is_named_as_that_end(cli, tmp_path, spec, lo, hi, flat):
    result = cli("plot", spec, "--range", lo, hi, "--output", tmp_path / "a.png")
    assert result.code == 0, result.err
    assert facts_column(result.out, 5)[spec] == flat


def test_parameters_in_the_spec(cli, tmp_path):
    result = cli("plot", "leaky_relu:alpha=0.1", "-d", "--points", 50)
    assert result.code == 0, result.err
    run = only_run(tmp_path)
    header, col = read_csv(run / "activations.csv")
    assert header == ["z", "leaky_relu_alpha=0.1", "leaky_relu_alpha=0.1_derivative"]
    assert set(col["leaky_relu_alpha=0.1_derivative"]) == {0.1, 1.0}
    assert yaml.safe_load((run / "config.yaml").read_text())["activations"] == ["leaky_relu:alpha=0.1"]


def test_extreme_parameters_whose_curves_fit_an_axis_are_drawn(cli, tmp_path):
    """swish:beta=1e308 is relu with its bump squeezed to z ~ 2.4e-308 (it crashed with an
    IndexError); huber:delta=1e308 and smooth_l1:beta=1e-320 leaked overflow warnings."""
    result = cli("plot", "swish:beta=1e308", "-d", "--points", 5, "--output", tmp_path / "swish.png")
    assert result.code == 0, result.err
    _, col = read_csv(tmp_path / "swish.csv")
    assert col["z"].tolist() == [-10, -5, 0, 5, 10]
    assert col["swish_beta=1e+308"].tolist() == [0, 0, 0, 5, 10]
    assert col["swish_beta=1e+308_derivative"].tolist() == [0, 0, 0.5, 1, 1]
    # quadratic everywhere on target 1 +- 3: C = r^2 / 2, 4.5 at y_hat = -2; linear: C = |r| - beta/2 = 3
    result = cli("plot", "loss", "huber:delta=1e308", "smooth_l1:beta=1e-320", "-d", "--points", 3,
                 "--output", tmp_path / "losses.png")
    assert result.code == 0, result.err
    _, col = read_csv(tmp_path / "losses.csv")
    assert col["y_hat"].tolist() == [-2, 1, 4]
    assert col["huber_delta=1e+308"].tolist() == [4.5, 0, 4.5]
    assert col["huber_delta=1e+308_gradient"].tolist() == [-3, 0, 3]
    assert col["smooth_l1_beta=1e-320"].tolist() == [3, 0, 3]
    assert col["smooth_l1_beta=1e-320_gradient"].tolist() == [-1, 0, 1]


def test_errors_too_large_for_a_log_axis_are_left_out_and_said_so(cli, tmp_path, monkeypatch):
    """elu:alpha=1e300's numerical derivative is off by up to 2.3e292: a log axis's margins overflowed
    ('internal error: RuntimeWarning: overflow encountered in exp', exit 1)."""
    from gradlab.plots import functions

    notes = []
    monkeypatch.setattr(functions, "note_beyond_axis", lambda ax, count, scale: notes.append((count, scale)))
    result = cli("plot", "elu:alpha=1e300", "--numeric", "1e-3", "--output", tmp_path / "elu.png")
    assert result.code == 0, result.err
    assert (tmp_path / "elu.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _, col = read_csv(tmp_path / "elu.csv")
    errors = np.concatenate([col["elu_alpha=1e+300_forward_error"], col["elu_alpha=1e+300_central_error"]])
    beyond = int(np.sum(errors > 1e150))  # the CSV keeps them all
    assert beyond > 0 and notes == [(0, "linear"), (beyond, "log")]


def test_softmax_is_drawn_along_z_and_equals_sigmoid(cli, tmp_path):
    result = cli("plot", "softmax", "sigmoid", "-d", "--points", 100)
    assert result.code == 0, result.err
    _, col = read_csv(only_run(tmp_path) / "activations.csv")
    np.testing.assert_allclose(col["softmax"], col["sigmoid"], rtol=1e-14)
    np.testing.assert_allclose(col["softmax_derivative"], col["sigmoid_derivative"], rtol=1e-12)
    assert "softmax([z, 0])_0, which equals sigmoid(z)" in result.err  # a note: stderr


def test_numeric_step_of_the_seed_is_visibly_noisy(cli, tmp_path):
    # measured on [-10, 10], 1000 points: forward h = 1e-13 -> 2.5e-3 (round-off eps/h ~ 1e-3)
    result = cli("plot", "sigmoid", "--numeric", "1e-13", "--output", tmp_path / "seed.png")
    assert result.code == 0, result.err
    header, col = read_csv(tmp_path / "seed.csv")
    assert header == ["z", "sigmoid", "sigmoid_derivative", "sigmoid_forward", "sigmoid_forward_error",
                      "sigmoid_central", "sigmoid_central_error"]
    forward_error = col["sigmoid_forward_error"].max()
    assert 1e-4 < forward_error < 1e-2
    assert "forward" in result.out and f"{forward_error:.3g}" in result.out
    # the same sigmoid, a sensible step: central 1.4e-10, forward 4.8e-8 (truncation h |f''| / 2)
    result = cli("plot", "sigmoid", "--numeric", "1e-6", "--output", tmp_path / "good.png")
    assert result.code == 0, result.err
    _, good = read_csv(tmp_path / "good.csv")
    assert 1e-12 < good["sigmoid_central_error"].max() < 1e-9
    assert 1e-8 < good["sigmoid_forward_error"].max() < 1e-6
    assert good["sigmoid_central_error"].max() < forward_error / 1e6


def test_errors_that_are_all_zero_are_drawn_on_a_linear_axis_without_a_warning(cli, tmp_path, recwarn):
    # the step function's differences away from its jump are exactly its derivative, 0:
    # a log axis would have nothing to show (matplotlib warns "no positive values")
    result = cli("plot", "step", "--numeric", "1e-6", "--output", tmp_path / "step.png")
    assert result.code == 0, result.err
    _, col = read_csv(tmp_path / "step.csv")
    assert not col["step_forward_error"].any() and not col["step_central_error"].any()
    assert [str(w.message) for w in recwarn] == []


def test_numeric_errors_in_the_summary(cli, tmp_path):
    assert cli("plot", "tanh", "--numeric", "1e-13").code == 0
    numeric = json.loads((only_run(tmp_path) / "summary.json").read_text())["numeric"]["tanh"]
    assert numeric["forward"]["step"] == 1e-13
    assert 1e-4 < numeric["forward"]["abs_error"] < 1e-2  # measured 1.2e-3
    assert numeric["forward"]["rel_error"] > 1  # in the flat tail the noise exceeds the derivative itself


def test_step_study_finds_the_textbook_steps(cli, tmp_path):
    result = cli("plot", "sigmoid", "--step-study")
    assert result.code == 0, result.err
    run = only_run(tmp_path)
    assert (run / "step_study.png").read_bytes()[:8] == PNG_MAGIC
    header, col = read_csv(run / "step_study.csv")
    assert header == ["h", "sigmoid_forward_error", "sigmoid_central_error"]
    assert len(col["h"]) == 61 and col["h"][0] == pytest.approx(1e-16) and col["h"][-1] == pytest.approx(0.1)
    eps = np.finfo(float).eps
    for kind, theory in (("forward", np.sqrt(eps)), ("central", eps ** (1 / 3))):
        err = col[f"sigmoid_{kind}_error"]
        best = col["h"][np.argmin(err)]  # measured: forward 5.6e-8, central 1.8e-5
        assert theory / 100 < best < theory * 100, (kind, best)
        assert err[0] > 1e3 * err.min() and err[-1] > 1e3 * err.min()  # round-off left, truncation right
    best = json.loads((run / "summary.json").read_text())["step_study"]["sigmoid"]
    assert best["central"]["best_h"] == pytest.approx(col["h"][np.argmin(col["sigmoid_central_error"])])
    assert "1.49e-08" in result.out and "6.06e-06" in result.out


def test_loss_plot_shows_the_mse_plateau_and_cross_entropy_pushing(cli, tmp_path):
    result = cli("plot", "loss", "mse", "bce", "--target", 1, "--derivative")
    assert result.code == 0, result.err
    run = only_run(tmp_path)
    assert (run / "losses.png").read_bytes()[:8] == PNG_MAGIC
    header, col = read_csv(run / "losses.csv")
    assert header == ["z", "p", "mse", "mse_dC_dp", "mse_dC_dz", "bce", "bce_dC_dp", "bce_dC_dz"]
    p = col["p"]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-col["z"])), rtol=1e-14)
    np.testing.assert_allclose(col["mse"], 0.5 * (p - 1) ** 2, rtol=1e-12)
    np.testing.assert_allclose(col["bce"], -np.log(p), rtol=1e-12)
    np.testing.assert_allclose(col["mse_dC_dp"], p - 1, rtol=1e-12)
    np.testing.assert_allclose(col["bce_dC_dp"], -1 / p, rtol=1e-9)
    # the lab's story: through a sigmoid, MSE's gradient carries sigma'(z) and vanishes when wrong
    # (rtol: the engine's sigma' = e / (1 + e)^2 is more exact than p (1 - p) where 1 - p cancels)
    np.testing.assert_allclose(col["mse_dC_dz"], (p - 1) * p * (1 - p), rtol=1e-10)
    # cross-entropy's sigma'(z) cancelled: p - 1 = -sigma(-z), here from z itself, as the engine forms it
    # (p - 1 from the rounded p loses digits as p nears 1: 2.4e-12 of them at z = 9)
    np.testing.assert_allclose(col["bce_dC_dz"], -1 / (1 + np.exp(col["z"])), rtol=1e-14)
    assert abs(col["mse_dC_dz"][0]) < 1e-4 and col["bce_dC_dz"][0] < -0.999
    facts = json.loads((run / "summary.json").read_text())["facts"]
    assert facts["mse"]["plateau"][0] == -10 and -4.7 < facts["mse"]["plateau"][1] < -4.5
    assert facts["bce"]["plateau"] is None
    assert "2.2e+04 times" in result.out
    assert yaml.safe_load((run / "config.yaml").read_text())["losses"] == ["mse", "bce"]


def test_loss_derivative_puts_dC_dp_in_the_printed_table(cli, tmp_path):
    """--derivative printed the same table as without it; dC/dp was only in the CSV. At z = -10,
    p = sigma(-10) = 4.5398e-5: mse's dC/dp = p - 1 = -0.99995, bce's -1/p = -22026.5."""
    def header_and_first_row(*args):
        result = cli("plot", "loss", "mse", "bce", "--target", 1, *args, "--out", tmp_path / "o")
        assert result.code == 0, result.err
        lines = [line.strip("┃│ ") for line in result.out.splitlines() if line.startswith(("┃", "│"))]
        return [cell.strip() for cell in lines[0].split("┃")], [cell.strip() for cell in lines[1].split("│")]

    header, row = header_and_first_row("--derivative")
    assert header == ["z", "p", "mse C", "mse dC/dp", "mse dC/dz", "bce C", "bce dC/dp", "bce dC/dz"]
    assert row == ["-10", "4.5398e-5", "0.49995", "-0.99995", "-4.5394e-5", "10", "-22027", "-0.99995"]
    assert header_and_first_row()[0] == ["z", "p", "mse C", "mse dC/dz", "bce C", "bce dC/dz"]


def test_regression_losses_alone_are_plotted_against_y_hat(cli, tmp_path):
    result = cli("plot", "loss", "mse", "mae", "huber", "--target", 3, "-d", "--points", 601)
    assert result.code == 0, result.err
    header, col = read_csv(only_run(tmp_path) / "losses.csv")
    assert header == ["y_hat", "mse", "mse_gradient", "mae", "mae_gradient", "huber", "huber_gradient"]
    assert col["y_hat"][0] == 0 and col["y_hat"][-1] == 6  # target +- 3
    np.testing.assert_allclose(col["mse_gradient"], col["y_hat"] - 3, atol=1e-12)
    assert np.abs(col["huber_gradient"]).max() == 1.0  # bounded, unlike mse's
    assert "0 at 3" in result.out


@pytest.mark.parametrize("name", list(losses))
def test_every_loss_has_a_binary_view(name):
    specs = [name] if name == "bce" else [name, "bce"]
    study = curves.study_losses(curves.resolve_losses(specs, 1.0), points=101, derivative=True)
    columns = study.charts[0].columns
    assert all(np.all(np.isfinite(v)) for v in columns.values())
    if name in ("bce_logits", "cross_entropy"):
        # on two classes, scores [z, 0], softmax cross-entropy is BCE on the logit: the same curve
        np.testing.assert_allclose(columns[name], columns["bce"], rtol=1e-9)
        np.testing.assert_allclose(columns[f"{name}_dC_dz"], columns["bce_dC_dz"], rtol=1e-9, atol=1e-15)


def test_output_path_writes_beside_it_and_no_run_directory(cli, tmp_path):
    (tmp_path / "figs").mkdir()
    result = cli("plot", "sigmoid", "--step-study", "--output", tmp_path / "figs" / "sig.png")
    assert result.code == 0, result.err
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "sig.csv", "sig.png", "sig_step_study.csv", "sig_step_study.png"]
    assert run_dirs(tmp_path / "runs") == []


def test_show_without_a_display_says_where_the_figure_is(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    result = cli("plot", "relu", "--show", "--points", 20)
    assert result.code == 0, result.err
    assert result.err.strip().endswith(
        "no display available (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window opened; "
        f"the figure is saved at {only_run(tmp_path) / 'activations.png'}")
    # with the step study two figures, both named
    result = cli("plot", "relu", "--step-study", "--show", "--points", 20, "--output", tmp_path / "r.png")
    assert result.code == 0, result.err
    assert f"so no window opened; the figures are saved at {tmp_path / 'r.png'}, {tmp_path / 'r_step_study.png'}" in result.err


def test_show_with_a_display_but_a_non_interactive_backend_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    result = cli("plot", "relu", "--show", "--points", 20, "--output", tmp_path / "r.png")
    assert result.code == 0, result.err
    assert f"cannot open a window (matplotlib's backend is non-interactive); the figure is saved at {tmp_path / 'r.png'}" in result.err


def test_show_opens_each_png_at_its_own_size_fitted_to_the_screen(tmp_path, monkeypatch):
    """The window holds the whole PNG: 900 x 504 px at 120 dpi is 7.5 x 4.2 in; the 900 x 1416
    loss plot is shrunk by 820/1416 to 521.2 x 820 px, never cropped."""
    import matplotlib
    import matplotlib.pyplot as plt

    from gradlab import plots

    assert plots.window_size(900, 504) == (7.5, 4.2)
    w, h = plots.window_size(900, 1416)
    assert h == pytest.approx(820 / 120, rel=1e-15) and w == pytest.approx(900 * 820 / 1416 / 120, rel=1e-15)
    fig, ax = plots.new_figure(size=(7.5, 11.8))
    png = plots.save(fig, tmp_path / "tall.png")
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "tkagg")
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.extend(plt.figure(n) for n in plt.get_fignums()))
    try:
        assert plots.show([png]) is True
        (window,) = shown
        assert tuple(window.get_size_inches()) == pytest.approx((900 * 820 / 1416 / 120, 820 / 120), rel=1e-12)
        (image_axes,) = window.axes
        assert image_axes.get_position().bounds == (0.0, 0.0, 1.0, 1.0)
        assert image_axes.images[0].get_array().shape[:2] == (1416, 900)
    finally:
        plt.close("all")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Missing argument 'NAME'"),
        (["sigmod"], "did you mean 'sigmoid'?); choose from: identity, sigmoid"),
        (["loss", "msee"], "did you mean 'mse'?); choose from: mse"),
        (["sigmoid", "--range", "1", "1"], "--range A B needs A < B, got 1.0 1.0"),
        (["sigmoid", "--range", "0", "inf"], "--range needs two finite numbers"),
        (["sigmoid", "--range", "-1e308", "1e308"], "--range A B is wider than float64 can span (B - A overflows)"),
        (["loss", "mse", "--target", "1e308"], "--target 1e+308 is too large for the default range t - 3 to t + 3 "
                                               "in float64 (numbers near it are 1.99584e+292 apart); give --range"),
        (["sigmoid", "--range", "1e307", "1.7e308"], "--range A B must lie within [-1e+300, 1e+300], what a plot's "
                                                     "axis can span, got 1e+307 1.7e+308"),
        # 1e309 was read as inf, and the message then named a value nobody typed ("got -inf")
        (["sigmoid", "--range", "-1e309", "1"], "error: Invalid value for '--range': beyond the range of a float64 "
                                                "number (at most 1.798e+308 in size), got '-1e309 1' (see 'gradlab "
                                                "plot --help')\n"),
        (["sigmoid", "--numeric", "1e309"], "error: Invalid value for '--numeric': beyond the range of a float64 "
                                            "number (at most 1.798e+308 in size), got '1e309' (see 'gradlab plot "
                                            "--help')\n"),
        (["loss", "mae", "--range", "1e300", "1.7e308", "-d"], "--range A B must lie within [-1e+300, 1e+300]"),
        # curves a plot cannot draw: matplotlib failed on them (LinAlgError: Singular matrix)
        (["leaky_relu:alpha=1e308", "-d"], "error: activation: leaky_relu:alpha=1e+308: f at z = -10 is -inf; a plot "
                                           "shows finite values at most 1e+300 in size: choose smaller parameters or "
                                           "a narrower --range\n"),
        (["elu:alpha=1e308"], "activation: elu:alpha=1e+308: f at z = -10 is -9.99955e+307; a plot shows"),
        (["loss", "mse", "--range", "-1e300", "1e300"], "loss: mse: C at y_hat = -1e+300 is inf; a plot shows"),
        (["identity", "--range", "-1", "1", "--numeric", "1e308"],
         "activation: identity: the central difference with --numeric 1e+308 at z = -1 is nan; a plot shows finite "
         "values at most 1e+300 in size: choose a smaller --numeric step, smaller parameters or a narrower --range"),
        (["sigmoid", "--points", "1"], "--points must be between 2 and"),
        (["sigmoid", "--numeric", "0"], "--numeric STEP must be a finite number > 0, got 0.0"),
        (["sigmoid", "--numeric", "-1e-3"], "--numeric STEP must be a finite number > 0"),
        (["sigmoid", "sigmoid"], "sigmoid is given twice"),
        (["leaky_relu:alpha=0.1,alpha=0.2"], "parameter alpha is given twice in 'leaky_relu:alpha=0.1,alpha=0.2'"),
        (["leaky_relu:alpha=-1"], "alpha must be >= 0, got -1"),
        (["sigmoid", "--target", "1"], "--target applies to loss plots"),
        (["loss", "mse", "--numeric", "1e-3"], "--numeric and --step-study apply to activations"),
        (["loss", "bce", "--target", "2"], "must be in [0, 1], got 2.0"),
        (["loss", "hinge", "--target", "0.5"], "must be a label, 0 or 1"),
        (["loss", "bce", "--range", "-50", "0"], "must lie within [-30, 30]"),
        (["sigmoid", "--output", "x.txt"], "--output must name a .png file"),
        (["sigmoid", "--output", "nowhere/x.png"], "does not exist"),
        (["sigmoid", "--range", "1", "1.0000000000000002"],  # 1000 rows of 2 distinct z
         "--range 1.0 1.0000000000000002 with --points 1000 puts the points 2.22e-19 apart, closer than float64"),
        (["sigmoid", "--output", "x.png", "--name", "a"], "--out and --name do not apply"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, tmp_path, args, message):
    result = cli("plot", *args)
    assert result.code == 2
    assert result.err.startswith("error: ") and result.err.count("\n") == 1
    assert message in result.err
    assert run_dirs(tmp_path / "runs") == []
    assert not list(tmp_path.glob("*.png"))


def test_help_has_purpose_and_examples(cli):
    result = cli("plot", "--help")
    assert result.code == 0
    assert "Plot activations" in result.out
    assert "gradlab plot sigmoid --numeric 1e-13" in result.out
    assert "softmax([z, 0])_0" in result.out


def test_readme_command_works_without_a_display(tmp_path):
    env = subprocess_env(COLUMNS="200")  # the facts table unwrapped whatever the caller's terminal
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.pop("MPLBACKEND", None)
    done = subprocess.run([sys.executable, "-m", "gradlab", "plot", "sigmoid", "--derivative"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (run,) = run_dirs(tmp_path / "runs")
    assert (run / "activations.png").read_bytes()[:8] == PNG_MAGIC
    assert os.path.getsize(run / "activations.csv") > 10_000
    assert "0.25 at z = 0" in done.stdout


def test_every_plot_command_in_the_readme_runs(cli, monkeypatch):
    from tests.conftest import REPO

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    lines = [line.split("#")[0].split() for line in (REPO / "README.md").read_text().splitlines()
             if line.startswith("gradlab plot ")]
    assert len(lines) >= 7
    for line in lines:
        result = cli(*line[1:])
        assert result.code == 0, (line, result.err)


def test_piped_facts_table_is_not_squeezed_into_80_columns(tmp_path):
    # the facts table was printed without show_table: piped at COLUMNS=80 its cells wrapped
    # ('4.53979e-05 to' / '0.999955' on two lines), unlike the sample table above it
    done = subprocess.run([sys.executable, "-m", "gradlab", "plot", "sigmoid", "tanh", "relu", "-d", "--output",
                           tmp_path / "a.png"], cwd=tmp_path, env=subprocess_env(COLUMNS="80"), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("│ sigmoid"))
    assert "4.53979e-05 to 0.999955" in row and "0.25 at z = 0" in row and "|z| > 5.99 (saturation)" in row


def test_many_curves_put_their_legend_beside_the_axes_and_keep_the_layout(cli, tmp_path, recwarn):
    # eleven functions with derivative and both differences: 44 entries in the top legend. Over
    # the axes they hid every curve and constrained layout gave up ("axes sizes collapsed to zero")
    names = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "swish", "softplus", "softsign",
             "hard_sigmoid", "identity"]
    result = cli("plot", *names, "--numeric", "1e-4", "--output", tmp_path / "many.png")
    assert result.code == 0, result.err
    assert [str(w.message) for w in recwarn] == []

    from gradlab.plots import functions

    def chart(specs):
        return curves.study_activations(curves.resolve_curves(specs), -10, 10, 50, numeric=1e-4).charts[0]

    fig = functions.draw(chart(names))
    top, errors = fig.axes
    assert [len(ax.get_legend().get_texts()) for ax in (top, errors)] == [44, 22]
    assert [ax.get_legend()._ncols for ax in (top, errors)] == [3, 2]  # 21 rows beside a 3.8-inch panel
    assert fig.get_size_inches().tolist() == [7.5 + 3 * 2.0, 2 * 3.8 + 0.4]
    fig.canvas.draw()
    for ax in (top, errors):  # the legend starts right of the axes, level with its top
        legend, frame = ax.get_legend().get_window_extent(), ax.get_window_extent()
        assert legend.x0 > frame.x1 and legend.y1 == pytest.approx(frame.y1, abs=1)
    assert top.get_title().count("\n") == 1  # the 100-character list of names, wrapped once

    one = functions.draw(chart(["sigmoid"]))
    assert one.get_size_inches().tolist() == [7.5, 2 * 3.8 + 0.4]  # a short legend stays over the curves
    assert one.axes[0].get_legend()._loc == 0  # "best"


def test_an_output_inside_a_run_is_refused(cli, tmp_path):
    assert cli("descend", "--steps", "3", "--no-plot", "--out", tmp_path / "d").code == 0
    (run,) = run_dirs(tmp_path / "d")
    result = cli("plot", "sigmoid", "--output", run / "metrics.png")  # its CSV would replace the run's metrics
    assert result.code == 2 and result.err.count("\n") == 1
    assert f"--output: {str(run / 'metrics.png')!r} lies inside the run directory {str(run)!r}" in result.err
    assert not (run / "metrics.png").exists()


def test_a_ctrl_c_while_drawing_names_the_run_directory_it_leaves(cli, tmp_path, monkeypatch):
    from gradlab.cli import plot as cli_plot

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_plot, "_write", stopped)
    result = cli("plot", "sigmoid", "--out", tmp_path / "o")
    (run,) = run_dirs(tmp_path / "o")
    assert (result.code, result.err) == (130, "interrupted\n")
    assert result.out.endswith(f"run directory: {run}\n")
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"


def test_a_per_class_loss_names_the_target_it_draws(cli, tmp_path):
    # --target 0 is the target [0, 1] of the two classes [z, 0]: class 1, so C = -log softmax([z, 0])_1 = log(1 + e^z),
    # 4.5399e-5 at z = -10 (a learner reading 0 as a class index expects about 10)
    result = cli("plot", "loss", "cross_entropy", "--target", "0", "--out", tmp_path / "runs")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert ("cross_entropy takes the logit z itself on two classes, scores [z, 0] and target [t, 1 - t] = [0, 1]; "
            "it is drawn against p = sigmoid(z)") in result.err  # a note: stderr
    assert "│ -10 │ 4.5398e-5 │ 4.5399e-5 │" in text


@pytest.mark.parametrize("args", [["sigmoid", "--step-study", "--range", "350", "400"],
                                  ["softplus", "--step-study", "--range", "-500", "-400"],
                                  ["sigmoid", "--numeric", "1e-3", "--range", "700", "800"]])
def test_errors_too_small_for_a_log_axis_are_drawn_on_a_linear_one(cli, tmp_path, args):
    # sigmoid' on [350, 400] is 1e-152 and less, so every error lies below the log axis's 1e-150: the plot ended in
    # "internal error: ValueError: Data cannot be log-scaled" (exit 1, run failed), or warned from matplotlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = cli("plot", *args, "--out", tmp_path / "runs")
    assert result.code == 0, result.err
    assert result.err == ""
    (run,) = run_dirs(tmp_path / "runs")
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"


def test_a_target_too_large_for_the_default_range_takes_the_range_it_asks_for(cli, tmp_path):
    # the message says "give --range A B", and --range was refused with the same message
    result = cli("plot", "loss", "mse", "--target", "1e20", "--out", tmp_path / "runs")
    assert result.code == 2 and result.err.strip().endswith("give --range A B")
    result = cli("plot", "loss", "mse", "--target", "1e20", "--range", "0", "2e20", "--out", tmp_path / "runs")
    assert result.code == 0, result.err
    # C = (y_hat - t)^2 / 2 at y_hat = 0 is 5e39, its slope -t
    assert "│ mse │ 0 at 1e+20 │ 5e+39 │ -1e+20 │" in " ".join(result.out.split())


def test_the_wrong_end_comparison_is_said_only_where_the_pushes_differ(cli, tmp_path):
    # mse + sigmoid against bce at z = -10 with target 1: sigma'(-10) makes mse's push 4.5e-5 of bce's
    result = cli("plot", "loss", "mse", "bce", "--out", tmp_path / "runs")
    assert "at the wrong end, bce's |dC/dz| is 2.2e+04 times mse's" in " ".join(result.out.split())
    # hinge and bce_logits push alike there (1 and 0.99995): "is 1 times" said nothing
    result = cli("plot", "loss", "hinge", "bce_logits", "--target", "0", "--out", tmp_path / "runs")
    assert result.code == 0, result.err
    assert "at the wrong end" not in result.out


def test_a_value_seen_on_the_grid_is_not_rounded_onto_a_bound_it_never_reaches(cli, tmp_path):
    # tanh(+-10) = +-0.9999999958776927 read "-1 to 1" beside the open range (-1, 1); sigmoid(40) is 1 in float64
    result = cli("plot", "tanh", "--out", tmp_path / "runs")
    assert "│ tanh │ (-1, 1) │ -0.9999999958776927 to 0.9999999958776927 │" in " ".join(result.out.split())
    result = cli("plot", "sigmoid", "--range", "-40", "40", "--out", tmp_path / "runs")
    assert "│ sigmoid │ (0, 1) │ 4.24835e-18 to 1 │" in " ".join(result.out.split())


def test_an_output_name_too_long_for_the_files_beside_it_is_refused_before_the_work(cli, tmp_path):
    # 244 bytes passed the check, the plot was computed and drawn, and its CSV's temporary file (11 bytes more)
    # failed: "cannot write ...: File name too long", exit 1, a PNG without its CSV
    name = "p" * 240 + ".png"
    result = cli("plot", "sigmoid", "-o", tmp_path / name)
    assert (result.code, result.err) == (2, "error: --output: the file name is 244 bytes; this directory takes names "
                                            "of up to 255, and the files written beside it (a chart's '_step_study', "
                                            "a temporary file's '.<pid>.tmp') need 32 more\n")
    assert list(tmp_path.iterdir()) == []
    assert cli("plot", "sigmoid", "-o", tmp_path / ("p" * 219 + ".png")).code == 0  # 223 bytes + 32 = 255
