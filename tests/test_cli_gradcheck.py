"""gradlab gradcheck: every shipped config passes; a wrong derivative fails with exit 1."""

import csv
import json
import re

import numpy as np
import pytest
import yaml

from gradlab.engine.activations import Sigmoid, Tanh
from tests.conftest import CONFIGS, run_dirs

SHIPPED = sorted(p.name for p in CONFIGS.glob("*.yaml"))


@pytest.mark.parametrize("config", SHIPPED)
def test_every_shipped_config_passes(cli, tmp_path, config):
    result = cli("gradcheck", CONFIGS / config, "--samples", "16", "--out", tmp_path / "o")
    assert result.code == 0, result.text
    assert "passed" in result.out and "FAIL" not in result.out


def test_the_table_and_its_csv(cli, tmp_path):
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--out", tmp_path / "o")
    assert result.code == 0, result.err
    for name in ("W1", "b1", "W2", "b2"):
        assert name in result.out
    assert "max abs error" in result.out and "max rel error" in result.out
    (run,) = run_dirs(tmp_path / "o")
    with (run / "gradcheck.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["parameter"] for r in rows] == ["W1", "b1", "W2", "b2"]
    assert rows[0]["shape"] == "2x8" and rows[0]["size"] == "16" and rows[0]["layer"] == "1"
    assert all(r["passed"] == "True" and float(r["max_rel_error"]) < 1e-6 for r in rows)


def test_a_wrong_tanh_derivative_fails_with_exit_1(cli, tmp_path, monkeypatch):
    # tanh' = 1 - tanh^2; the mistake 1 - tanh reaches the hidden layer's gradients only
    monkeypatch.setattr(Tanh, "backward", lambda self, z, a, grad, out=None: grad * (1.0 - a))
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--out", tmp_path / "o")
    assert result.code == 1
    assert "FAIL" in result.out
    assert result.err.startswith("error: gradient check failed for W1, b1")
    (run,) = run_dirs(tmp_path / "o")
    with (run / "gradcheck.csv").open() as handle:
        verdicts = {r["parameter"]: r["passed"] for r in csv.DictReader(handle)}
    assert verdicts == {"W1": "False", "b1": "False", "W2": "True", "b2": "True"}


def test_a_wrong_sigmoid_derivative_at_the_mse_output_fails(cli, tmp_path, monkeypatch):
    # sigma' = sigma (1 - sigma); forgetting it (the identity's derivative) is wrong with mse
    monkeypatch.setattr(Sigmoid, "backward", lambda self, z, a, grad, out=None: grad)
    result = cli("gradcheck", CONFIGS / "cat_dog.yaml", "--out", tmp_path / "o")
    assert result.code == 1 and "W1" in result.err


def test_float32_configs_are_checked_in_float64(cli, tmp_path):
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--set", "model.dtype=float32", "--out", tmp_path / "o")
    assert result.code == 0, result.text
    assert "float64 (the config trains in float32)" in result.out


def test_bad_tolerance_is_exit_2(cli, tmp_path):
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--tol", "0", "--out", tmp_path / "o")
    assert result.code == 2 and "--tol must be a finite number > 0" in result.err
    assert run_dirs(tmp_path / "o") == []


def test_an_eps_below_the_float64_spacing_of_a_weight_is_exit_2(cli, tmp_path):
    # saturation_mse starts at w = b = 2: 2 + 1e-20 == 2 - 1e-20 == 2.0, a quotient 0/0; the
    # spacing of float64 numbers at 2 is 2^-51 = 4.44089e-16
    result = cli("gradcheck", CONFIGS / "saturation_mse.yaml", "--eps", "1e-20", "--out", tmp_path / "o")
    assert result.code == 2
    assert result.err == ("error: --eps 1e-20 is too small for W1[0, 0] = 2: w + eps == w - eps in float64; "
                          "use the default, --eps 1e-06 (any eps must be above 4.44089e-16, the spacing of the "
                          "largest weight, 2)\n")
    assert run_dirs(tmp_path / "o") == []


def test_the_eps_bound_is_the_largest_weights(cli, tmp_path):
    # the bound was the first stuck weight's: --eps 1e-300 said 'use --eps > 5.55e-17', and that was refused
    # again for a larger weight ('use --eps > 2.22e-16'); above the bound given, no weight is stuck
    small = cli("gradcheck", CONFIGS / "xor.yaml", "--eps", "1e-300", "--out", tmp_path / "o")
    assert small.code == 2
    found = re.search(r"any eps must be above (\S+), the spacing of the largest weight, (\S+)\)", small.err)
    bound, largest = float(found[1]), float(found[2])
    assert bound == pytest.approx(np.spacing(largest), rel=1e-5)
    above = cli("gradcheck", CONFIGS / "xor.yaml", "--eps", repr(bound * 1.01), "--out", tmp_path / "o")
    assert above.code == 2 and "w + eps == w - eps" not in above.err  # refused for its rounding noise instead


def test_an_eps_whose_rounding_noise_is_as_large_as_the_gradients_is_exit_2(cli, tmp_path):
    # --eps 1e-15 on xor: the differences' rounding noise, eps_mach C / eps = 0.35, above the largest gradient
    # entry, 0.15, raised atol past every error: a sign-flipped bias passed (an adversarial review)
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--eps", "1e-15", "--out", tmp_path / "o")
    assert (result.code, run_dirs(tmp_path / "o")) == (2, [])
    assert result.err == ("error: --eps 1e-15 is too small here: the central differences' rounding noise, 0.349, is as "
                          "large as the gradients (the largest entry is 0.151), so no wrong gradient could fail; use "
                          "--eps 1e-06 (noise 3.49e-10)\n")
    assert cli("gradcheck", CONFIGS / "xor.yaml", "--eps", "1e-12", "--out", tmp_path / "o").code == 0


def test_brackets_in_the_config_path_and_the_run_root_are_printed_as_they_are(cli, tmp_path):
    # rich would take [red] for a style and [/x] for a closing tag (a MarkupError after the run was written)
    folder = tmp_path / "cfg[/x][red]"
    folder.mkdir(parents=True)
    config = folder / "s.yaml"
    config.write_text((CONFIGS / "saturation_mse.yaml").read_text())
    result = cli("gradcheck", config, "--out", tmp_path / "o[bold]")
    assert result.code == 0, result.text
    assert f"gradient check {config}: 2 parameters" in result.out.replace("\n", " ")
    (run,) = run_dirs(tmp_path / "o[bold]")
    assert f"run directory: {run}" in result.out.replace("\n", "")


def test_weights_where_the_loss_overflows_are_exit_2(cli, tmp_path):
    # identity 2 -> 1 with w = (1e200, 1e200) on x = (1, 2): z = 3e200, C = (z - 3)^2 / 2 = inf; the
    # difference quotients were inf - inf = nan and the check blamed "a wrong derivative"
    config = tmp_path / "big.yaml"
    config.write_text(yaml.safe_dump({
        "name": "big", "data": {"name": "inline", "X": [[1.0, 2.0]], "y": [[3.0]], "test_fraction": 0},
        "model": {"hidden": [], "output": "identity",
                  "init": {"name": "explicit", "layers": [{"W": [[1e200], [1e200]], "b": [0]}]}},
        "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.1}, "training": {"epochs": 1}}))
    result = cli("gradcheck", config, "--eps", "1e190", "--out", tmp_path / "o")
    assert result.code == 2
    assert result.err == ("error: the loss on the first 1 training sample is inf at these weights (float64 "
                          "overflows): there is no gradient to check\n")
    assert run_dirs(tmp_path / "o") == []


def test_the_reproduce_line_keeps_the_overrides(cli, tmp_path):
    # it dropped --set, so re-running it checked another network (here: float64 instead of float32)
    import json
    import shlex

    result = cli("gradcheck", CONFIGS / "xor.yaml", "--set", "model.hidden=[3]", "--set", "model.dtype=float32",
                 "--samples", "4", "--out", tmp_path / "o")
    assert result.code == 0, result.text
    (run,) = run_dirs(tmp_path / "o")
    line = json.loads((run / "summary.json").read_text())["reproduce"]
    assert line == (f"gradlab gradcheck {CONFIGS / 'xor.yaml'} --eps 1e-06 --tol 1e-06 --atol 1e-08 --samples 4 "
                    "--set 'model.hidden=[3]' --set model.dtype=float32")
    again = cli(*shlex.split(line)[1:], "--out", tmp_path / "again")
    assert again.code == 0 and "13 parameters" in again.out and "the config trains in float32" in again.out


def test_the_failure_message_names_a_failing_array(cli, tmp_path, monkeypatch):
    # dC/dz at the output 3e-6 too large: the error reaches every layer, but in the first layers the
    # gradients are so small (six sigmoid layers) that the absolute error stays below atol and they
    # pass, with relative errors of finite-difference noise up to 2.6e-5 -- which the message quoted
    # ("max relative error 2.61e-05 in b1[5]") for an array that passed
    from gradlab.engine.losses import Loss

    fused = Loss.logit_gradient
    monkeypatch.setattr(Loss, "logit_gradient", lambda self, y, a, z: fused(self, y, a, z) * (1 + 3e-6))
    result = cli("gradcheck", CONFIGS / "deep_sigmoid.yaml", "--out", tmp_path / "o")
    assert result.code == 1
    (run,) = run_dirs(tmp_path / "o")
    with (run / "gradcheck.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    failed = [r for r in rows if r["passed"] == "False"]
    worst = max(failed, key=lambda r: float(r["max_rel_error"]))
    assert rows[1]["passed"] == "True" and float(rows[1]["max_rel_error"]) > float(worst["max_rel_error"])
    assert result.err.startswith(f"error: gradient check failed for {', '.join(r['parameter'] for r in failed)}: "
                                 f"max relative error of a failing entry ")
    named = re.search(r"failing entry \S+ in (\w+)\[", result.err)[1]
    assert named in {r["parameter"] for r in failed}


def test_the_failure_message_names_an_entry_that_failed_not_one_that_passed_by_atol(cli, tmp_path):
    # a trained ReLU network: many gradient entries are ~1e-12, where finite differences give relative
    # error 1 while the absolute error stays below atol; the message quoted such a passing entry
    # ("max relative error 1 in W1[0, 63]"). The tolerances are tight enough, and eps = 1e-2 large
    # enough, for the differences' truncation error to fail entries on any platform, also after
    # Richardson's extrapolation, which takes out eps^2 f''' / 6 (at eps = 1e-4 every entry passes)
    assert cli("train", CONFIGS / "spiral_relu.yaml", "--out", tmp_path / "runs", "--no-plot", "-q").code == 0
    (trained,) = run_dirs(tmp_path / "runs")
    result = cli("gradcheck", trained, "--eps", "1e-2", "--tol", "1e-11", "--atol", "1e-13",
                 "--out", tmp_path / "o")
    assert result.code == 1
    found = re.search(r"max relative error of a failing entry (\S+) in (\w+)\[([\d, ]+)\] \(absolute (\S+); "
                      r"tol 1e-11, atol (\S+)\)", result.err)
    assert found, result.err
    rel, abs_error, atol = float(found[1]), float(found[4]), float(found[5])
    assert 1e-11 < rel < 1 and abs_error > atol >= 1e-13  # it really failed, on both counts (atol: raised to the noise)
    (run,) = run_dirs(tmp_path / "o")
    with (run / "gradcheck.csv").open() as handle:
        rows = {r["parameter"]: r for r in csv.DictReader(handle)}
    assert float(rows[found[2]]["max_rel_error"]) > rel  # the array's overall worst passed by atol


def test_relu_inputs_of_exactly_zero_are_kinks_not_wrong_derivatives(cli, tmp_path):
    # three narrow ReLU layers on spiral: a layer that is all zeros for a sample feeds the next one
    # z = b = 0 exactly, where relu has two slopes; the check said "a wrong derivative" (exit 1)
    result = cli("gradcheck", CONFIGS / "spiral_relu.yaml", "--set", "model.hidden=[3,3,3]", "--out", tmp_path / "o")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    # the errors against the difference with those units on tangents, rounding's (straddled: 0.0108, 0.0638)
    b3 = re.search(r"│ b3 │ 3 │ 3 │ (\S+) │ (\S+) │ \[\d\] │ pass \(3 at a kink\) │", text)
    assert b3 and float(b3[1]) < 1e-9 and float(b3[2]) < 1e-8, text
    assert ("3 entries sit on a kink: the step carries an activation's input onto or across a point "
            "where it bends (relu's and leaky_relu's 0, say)") in text


def test_stacked_elu_kinks_are_kinks_not_wrong_derivatives(cli, tmp_path):
    # a row of zeros and zero biases: both elu:alpha=2 layers see z = 0 on it, and moving b1 takes that row's
    # inputs across 0 in both layers at once. This failed with exit 1, "gradient check failed for b1: max
    # relative error of a failing entry 0.056 in b1[2] (absolute 0.203 ...): a wrong derivative"
    config = tmp_path / "zero_row.yaml"
    config.write_text("data: {name: inline, X: [[0, 0], [1, 2], [-1, 0.5], [2, -1], [0.5, 1.5], [-2, -1]],\n"
                      "       y: [0.5, 1.0, -0.3, 0.8, 0.2, -1.0], test_fraction: 0}\n"
                      "model: {hidden: [3, 3], activation: 'elu:alpha=2', init: xavier}\n"
                      "loss: mse\noptimizer: {name: sgd, lr: 0.1}\n")
    result = cli("gradcheck", config, "--out", tmp_path / "o")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    # the errors against the differences with those units on tangents, rounding's (straddled: 0.203 and 0.446 in
    # b1, 0.0371 and 0.027 in b2)
    for name, layer in (("b1", 1), ("b2", 2)):
        row = re.search(rf"│ {name} │ {layer} │ 3 │ (\S+) │ (\S+) │ \[\d\] │ pass \(3 at a kink\) │", text)
        assert row and float(row[1]) < 1e-9 and float(row[2]) < 1e-8, text
    assert "6 entries sit on a kink:" in text


def test_a_huge_eps_fails_however_the_slopes_bend(cli, tmp_path):
    # one sigmoid neuron, no ReLU: with eps = 30 the central differences are 1e-3 off, and the
    # kink rule (then taken at eps and eps / 10) called both arrays 'pass (at a kink)', exit 0
    result = cli("gradcheck", CONFIGS / "cat_dog_ce.yaml", "--eps", "30", "--out", tmp_path / "o")
    assert result.code == 1 and "kink" not in result.out
    assert "gradient check failed for W1, b1" in result.err


def test_the_absolute_tolerance_rises_to_the_rounding_noise_of_a_large_loss(cli, tmp_path):
    # targets of about +-100 give a loss of 1e4: a central difference's rounding, eps_mach |C| / eps = 2.3e-6,
    # is far above atol = 1e-8, and a correct backprop failed ("max relative error 1.97e-06 in b1[0]")
    config = tmp_path / "big.yaml"
    config.write_text("data: {name: linear, n_samples: 40, n_features: 2, weights: [100, -100], standardize: true}\n"
                      "model: {hidden: [3], activation: tanh}\nloss: mse\noptimizer: {name: sgd, lr: 0.001}\n")
    result = cli("gradcheck", config, "--out", tmp_path / "o")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    found = re.search(r"absolute error <= atol = 1e-08, raised to (\S+): the central differences' rounding noise at "
                      r"this loss", text)
    assert found and 1e-6 < float(found[1]) < 1e-5, text


def test_the_run_duration_covers_the_check_not_only_the_writing(cli, tmp_path, monkeypatch):
    # the run directory was created after the check had finished, so summary.json timed only the
    # writing: "duration_s": 0.002476 for a check of 1.3 s. A check slowed down by 0.3 s shows it
    import json
    import time

    from gradlab import checking

    real = checking.check_network

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(checking, "check_network", slow)
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--out", tmp_path / "o")
    assert result.code == 0, result.text
    (run,) = run_dirs(tmp_path / "o")
    assert json.loads((run / "summary.json").read_text())["duration_s"] >= 0.3


def test_a_ctrl_c_during_the_check_names_the_run_directory_it_leaves(cli, tmp_path, monkeypatch):
    # it said only "interrupted": the directory, status interrupted, had to be found with gradlab runs
    from gradlab.checking import GradientCheck

    def stopped(self, progress=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(GradientCheck, "run", stopped)
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--out", tmp_path / "o")
    (run,) = run_dirs(tmp_path / "o")
    assert (result.code, result.err, result.out) == (130, "interrupted\n", f"run directory: {run}\n")
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"


def test_with_weight_decay_the_check_covers_what_training_minimises(cli, tmp_path):
    # it said "passed: backpropagation agrees ... for all 4 parameter arrays" and checked the data loss alone
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--set", "training.l2=0.5", "--out", tmp_path / "o")
    assert result.code == 0, result.text
    text = " ".join(result.out.split())  # rich wraps long lines
    assert ("checked: C + R, the loss plus the weight penalty training minimises, R = sum over W of l2/2 ||W||^2 "
            "(l2 = 0.5; biases not penalised); backpropagation's gradient plus the weight decay training adds, "
            "l2 W") in text  # the terms set: an l1 term with no value given confused
    assert "passed: backpropagation with weight decay agrees with central differences of C + R for all 4 " \
           "parameter arrays" in text
    (run,) = run_dirs(tmp_path / "o")
    assert json.loads((run / "summary.json").read_text())["objective"] == "C + R"


def test_a_weight_decay_without_its_sign_term_fails_the_check(cli, tmp_path, monkeypatch):
    """l1's sign(W) left out of the gradient: C + R's central differences differ by l1 = 0.3 in every weight."""
    from gradlab.engine import gradcheck

    real = gradcheck.add_weight_decay
    monkeypatch.setattr(gradcheck, "add_weight_decay",
                        lambda params, grads, l1=0.0, l2=0.0, *rest: real(params, grads, 0.0, l2, *rest))
    result = cli("gradcheck", CONFIGS / "xor.yaml", "--set", "training.l1=0.3", "--out", tmp_path / "o")
    assert result.code == 1, result.text
    assert re.search(r"gradient check failed for W1, W2: max relative error of a failing entry \S+ in W\d\[\d, \d\] "
                     r"\(absolute 0.3", result.err), result.err


def test_a_derivative_that_is_not_the_activation_s_slope_is_named_as_such(cli, tmp_path, monkeypatch):
    # first-layer weights of ~1e-7 under l1 = 0.1: each step crosses |w|'s corner and moves ReLU inputs
    # across 0; relu' 1% too large is inside rtol next to l1 sign(w), and fails by its tangent's slope
    from gradlab.engine import activations

    real = activations.ReLU.derivative
    monkeypatch.setattr(activations.ReLU, "derivative", lambda self, z: real(self, z) * 1.01)
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "data: {name: xor, n_samples: 40, noise: 0.1, test_fraction: 0.25}\nloss: bce\n"
        "model: {hidden: [4], activation: relu, output: sigmoid, init: {name: explicit, layers: [\n"
        "  {W: [[3.4558e-08, 8.2162e-08, 3.3044e-08, -1.30316e-07], [9.0536e-08, 4.4637e-08, -5.3695e-08, 5.8112e-08]],"
        " b: [0, 0, 0, 0]},\n"
        "  {W: [[3.6457e-08], [2.9413e-08], [2.842e-09], [5.4671e-08]], b: [0]}]}}\n"
        "optimizer: {name: sgd, lr: 0.1}\ntraining: {batch_size: full, epochs: 5, l1: 0.1}\n")
    result = cli("gradcheck", config, "--out", tmp_path / "o")
    assert result.code == 1
    assert "nan" not in result.out + result.err
    assert ("gradient check failed for W1: max relative error of a failing entry 5.97e-08 in W1[1, 3] (absolute "
            "1.19e-08; tol 1e-06, atol 1e-08): its step carries a unit across a kink where the activation's "
            "derivative is not the slope of its values") in " ".join(result.err.split())


def test_a_sample_near_a_kink_of_the_loss_passes_and_the_raised_tolerance_is_said(cli, tmp_path):
    # zero weights give outputs 0, so row 0's residual is -3e-7, within eps of mae's kink; targets of 1e4 make
    # C = 6500 and its central differences' noise 2.2e-16 * 6500 / 1e-6 = 1.44e-6; the one-sided difference
    # that falls short of the kink has 8 times that
    config = tmp_path / "near.yaml"
    config.write_text("data: {name: inline, X: [[1, 0], [0.3, -1], [-0.7, 0.4], [2, 1]],\n"
                      "       y: [3.0e-7, 1.0e4, -1.0e4, 6.0e3], test_fraction: 0}\n"
                      "model: {hidden: [], output: identity, init: zeros}\nloss: mae\noptimizer: {name: sgd, lr: 0.1}\n")
    result = cli("gradcheck", config, "--out", tmp_path / "o")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "raised to 1.44e-06: the central differences' rounding noise at this loss" in text
    assert ("entries near a kink of the loss were judged by a difference that falls short of it, whose rounding "
            "noise raises atol to 1.15e-05 there") in text
    assert "2 entries sit on a kink:" in text and "a sample across a kink of the loss (hinge's margin, mae's 0)" in text


def test_a_trained_regression_of_large_targets_is_judged_at_its_outputs_rounding(cli, tmp_path):
    # targets of about +-100 fitted to an mae of about 3: the outputs' sums, about 500, round far above the
    # loss, and a right gradient could fail against eps_mach |C| / eps; the noise is taken at their size
    config = tmp_path / "big.yaml"
    config.write_text("data: {name: linear, n_samples: 40, n_features: 2, weights: [100, -100], standardize: true}\n"
                      "model: {hidden: [3], activation: tanh}\nloss: mae\noptimizer: {name: adam, lr: 0.1}\n"
                      "training: {epochs: 3000, batch_size: 40}\n")
    assert cli("train", config, "--out", tmp_path / "runs", "--no-plot", "-q").code == 0
    (trained,) = run_dirs(tmp_path / "runs")
    result = cli("gradcheck", trained, "--out", tmp_path / "o")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    found = re.search(r"raised to (\S+) = eps_mach x (\S+) / eps, the rounding noise of the sums the outputs are "
                      r"made of \(sum \|delta\| \(\|x\| \|W\| \+ \|b\|\), above the loss itself\); --eps 1e-05 "
                      r"resolves smaller errors there \(each entry by itself", text)
    assert found, text
    size = float(found[2])
    assert 100 < size < 2000 and float(found[1]) == pytest.approx(np.finfo(float).eps * size / 1e-6, rel=5e-3)


def test_a_large_eps_is_rescued_from_its_truncation_error_by_extrapolation(cli, tmp_path):
    # at eps = 1e-2 cat_dog's central differences are off by eps^2 f''' / 6, far above tol = 1e-6, and all three
    # entries failed; (4 D(eps/2) - D(eps)) / 3 is off by O(eps^4) and they pass, counted as extrapolated
    result = cli("gradcheck", CONFIGS / "cat_dog.yaml", "--eps", "1e-2", "--out", tmp_path / "o")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "pass (2 extrapolated)" in text and "pass (1 extrapolated)" in text
    assert ("3 entries passed only by Richardson's extrapolation, (4 D(eps/2) - D(eps)) / 3: at eps = 0.01 the "
            "central difference's truncation error, about eps^2 f''' / 6, was too large; a smaller --eps, or "
            "standardised inputs, avoids it and checks the other entries more closely") in text
    (run,) = run_dirs(tmp_path / "o")
    with (run / "gradcheck.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["parameter"], r["extrapolated"], r["passed"]) for r in rows] == [("W1", "2", "True"), ("b1", "1", "True")]
    assert max(float(r["max_rel_error"]) for r in rows) < 1e-9  # reported against the extrapolated difference
