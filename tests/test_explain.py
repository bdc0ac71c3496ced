"""gradlab explain: its numbers are the seed article's chain rule done by hand."""

import json
import shlex

import numpy as np
import pytest
import yaml

from gradlab.cli.common import fmt
from gradlab.experiment import load_experiment
from tests.conftest import CONFIGS, run_dirs


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def explain_json(cli, *args):
    result = cli("explain", *args, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_cat_dog_neuron_sample_0_equals_the_hand_computation(cli):
    """The seed article's neuron: z = w.x + b, y_hat = sigma(z), C = 1/(2N) (y_hat - y)^2 with N = 1,
    dC/dw = dC/dy_hat * dy_hat/dz * dz/dw = (y_hat - y) * sigma(z)(1 - sigma(z)) * x,
    w_new = w_old - eta dC/dw with the config's eta = 2."""
    e = load_experiment(CONFIGS / "cat_dog.yaml")
    x, y = e.X_train[0], e.Y_train[0, 0]
    w, b = e.network.layers[0].W[:, 0].copy(), e.network.layers[0].b[0]
    z = w[0] * x[0] + w[1] * x[1] + b
    y_hat = sigmoid(z)
    C = 0.5 * (y_hat - y) ** 2
    dC_dyhat = y_hat - y
    sigma_prime = y_hat * (1 - y_hat)
    delta = dC_dyhat * sigma_prime
    dC_dw = delta * x
    dC_db = delta
    eta = 2.0
    w_new, b_new = w - eta * dC_dw, b - eta * dC_db

    d = explain_json(cli, CONFIGS / "cat_dog.yaml")
    layer = d["layers"][0]
    assert d["N"] == 1 and d["samples"] == [0] and d["lr"] == eta and d["weights"] == "initial"
    np.testing.assert_allclose(d["x"], [x], rtol=1e-15)
    close = dict(rtol=1e-12, atol=0)
    np.testing.assert_allclose(layer["z"], [[z]], **close)
    np.testing.assert_allclose(layer["a"], [[y_hat]], **close)
    assert d["loss"]["value"] == pytest.approx(C, rel=1e-12)
    np.testing.assert_allclose(layer["dC_da"], [[dC_dyhat]], **close)
    np.testing.assert_allclose(layer["f_prime"], [[sigma_prime]], **close)
    np.testing.assert_allclose(layer["delta"], [[delta]], **close)
    np.testing.assert_allclose(layer["dW"], dC_dw.reshape(2, 1), **close)
    np.testing.assert_allclose(layer["db"], [dC_db], **close)
    np.testing.assert_allclose(layer["W_new"], w_new.reshape(2, 1), **close)
    np.testing.assert_allclose(layer["b_new"], [b_new], **close)
    assert layer["fused"] is False  # mse + sigmoid goes through sigma'(z)

    text = cli("explain", CONFIGS / "cat_dog.yaml").out  # the printed numbers are the same ones
    for label, value in (("z_1 =", z), ("dC/dy_hat = (y_hat - y) / N", dC_dyhat),
                         ("dy_hat/dz = sigma'(z) = sigma(z) (1 - sigma(z))", sigma_prime),
                         ("delta = dC/dz = dC/dy_hat * dy_hat/dz", delta), ("dC/db = sum_n delta", dC_db)):
        line = next(ln for ln in text.splitlines() if label in ln)
        assert line.rstrip().endswith(f"{fmt(value, 4)}]") or line.rstrip().endswith(fmt(value, 4)), line
    assert f"= {fmt(C, 4)}" in text
    assert f"[[{fmt(w_new[0], 4)}], [{fmt(w_new[1], 4)}]]" in text
    assert f"[{fmt(b_new, 4)}]" in text


TWO_LAYERS = {
    "name": "two_layers",
    "data": {"name": "inline", "X": [[1.0, -2.0], [0.5, 0.25], [-1.5, 1.0]], "y": [1, 0, 1],
             "class_names": ["no", "yes"], "test_fraction": 0},
    "model": {"hidden": [2], "activation": "tanh", "output": "sigmoid",
              "init": {"name": "explicit", "layers": [{"W": [[0.5, -0.3], [0.2, 0.8]], "b": [0.1, -0.2]},
                                                      {"W": [[1.5], [-0.7]], "b": [0.05]}]}},
    "loss": "mse",
    "optimizer": {"name": "sgd", "lr": 0.3},
    "training": {"epochs": 1, "batch_size": "full"},
}


@pytest.mark.parametrize("batch", [False, True])
def test_two_layer_network_deltas_by_hand(cli, tmp_path, batch):
    config = tmp_path / "two.yaml"
    config.write_text(yaml.safe_dump(TWO_LAYERS))
    e = load_experiment(config)
    rows = slice(None) if batch else slice(1, 2)
    X, Y = e.X_train[rows], e.Y_train[rows]
    N = len(X)
    W1, b1 = np.array([[0.5, -0.3], [0.2, 0.8]]), np.array([0.1, -0.2])
    W2, b2 = np.array([[1.5], [-0.7]]), np.array([0.05])
    # forward: z1 = X W1 + b1, a1 = tanh(z1); z2 = a1 W2 + b2, y_hat = sigma(z2); C = 1/(2N) sum (y_hat - y)^2
    z1 = X @ W1 + b1
    a1 = np.tanh(z1)
    z2 = a1 @ W2 + b2
    y_hat = sigmoid(z2)
    C = 0.5 * np.sum((y_hat - Y) ** 2) / N
    # backward: delta2 = (y_hat - y)/N * sigma'(z2); delta1 = (delta2 W2^T) * (1 - tanh(z1)^2)
    delta2 = (y_hat - Y) / N * y_hat * (1 - y_hat)
    dW2, db2 = a1.T @ delta2, delta2.sum(axis=0)
    delta1 = (delta2 @ W2.T) * (1 - a1 ** 2)
    dW1, db1 = X.T @ delta1, delta1.sum(axis=0)

    args = ("--batch",) if batch else ("--sample", "1")
    d = explain_json(cli, config, *args)
    first, second = d["layers"]
    assert d["N"] == N
    close = dict(rtol=1e-12, atol=1e-15)
    assert d["loss"]["value"] == pytest.approx(C, rel=1e-12)
    np.testing.assert_allclose(first["z"], z1, **close)
    np.testing.assert_allclose(first["a"], a1, **close)
    np.testing.assert_allclose(second["z"], z2, **close)
    np.testing.assert_allclose(second["a"], y_hat, **close)
    np.testing.assert_allclose(second["delta"], delta2, **close)
    np.testing.assert_allclose(second["dW"], dW2, **close)
    np.testing.assert_allclose(second["db"], db2, **close)
    np.testing.assert_allclose(first["dC_da"], delta2 @ W2.T, **close)
    np.testing.assert_allclose(first["f_prime"], 1 - a1 ** 2, **close)
    np.testing.assert_allclose(first["delta"], delta1, **close)
    np.testing.assert_allclose(first["dW"], dW1, **close)
    np.testing.assert_allclose(first["db"], db1, **close)
    np.testing.assert_allclose(first["W_new"], W1 - 0.3 * dW1, **close)
    np.testing.assert_allclose(second["b_new"], b2 - 0.3 * db2, **close)
    np.testing.assert_allclose(second["dC_dx"], delta2 @ W2.T, **close)
    assert first["dC_dx"] is None

    text = cli("explain", config, *args).out
    assert "W^T x" not in text and ("z = x W + b" in text or "Z = X W + b" in text)  # x a row, as in x^T delta
    assert "dC/da = delta2 W2^T" in text and "da/dz = f'(z) = 1 - tanh(z)^2" in text
    assert "layer 1 (hidden, tanh)" in text and "layer 2 (output, sigmoid)" in text


def test_fused_cross_entropy_shows_the_cancellation(cli):
    """Nielsen's saturated neuron with cross-entropy: x = 1, y = 0, z = 4.
    dC/dy_hat = (y_hat - y)/(y_hat (1 - y_hat)) = 55.6, sigma'(4) = 0.01766, their product y_hat - y = 0.982."""
    d = explain_json(cli, CONFIGS / "saturation_ce.yaml")
    out = d["layers"][0]
    s = sigmoid(4.0)
    assert out["fused"] is True
    assert out["delta"][0][0] == pytest.approx(s, rel=1e-12)  # y_hat - y with y = 0
    assert out["dC_da"][0][0] * out["f_prime"][0][0] == pytest.approx(s, rel=1e-9)
    text = cli("explain", CONFIGS / "saturation_ce.yaml").out
    assert "(y_hat - y) / N" in text and "sigma'(z) cancelled" in text
    # the probability-space factor is bce's own formula, as the loss registry writes it
    assert "dC/dy_hat = (y_hat - y) / (y_hat (1 - y_hat)) / N" in text


def test_wide_layers_are_sliced_and_notes_name_the_optimizer(cli):
    result = cli("explain", CONFIGS / "spiral_relu.yaml", "--units", "3")
    assert result.code == 0, result.err
    assert "first 3 of 64 units shown)" in result.out
    assert "... +61 more" in result.out
    assert "the configured optimizer is adam" in result.out
    assert "J^T dC/dy_hat = (y_hat - y) / N" in result.out  # softmax + cross-entropy, fused


def test_a_run_directory_is_explained_at_its_final_weights(cli, tmp_path):
    assert cli("train", CONFIGS / "cat_dog.yaml", "--out", tmp_path / "o", "--no-plot", "-q",
               "--set", "training.epochs=2").code == 0
    (run,) = run_dirs(tmp_path / "o")
    d = explain_json(cli, run, "--sample", "3", "--lr", "0.5")
    model = np.load(run / "model.npz")
    np.testing.assert_array_equal(d["layers"][0]["W"], model["W1"])
    assert d["weights"] == "final" and d["samples"] == [3] and d["lr"] == 0.5


@pytest.mark.parametrize(("args", "message"), [
    (("--sample", "300"), "--sample must be in [0, 299]"),
    (("--sample", "2", "--batch"), "exclude each other"),
    (("--lr", "-1"), "--lr must be a finite number > 0"),
])
def test_bad_options_are_exit_2_one_line(cli, args, message):
    result = cli("explain", CONFIGS / "cat_dog.yaml", *args)
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err


def test_option_errors_echo_the_value_typed(cli):
    result = cli("explain", CONFIGS / "cat_dog.yaml", "--units", "0")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "'--units': Input should be greater than or equal to 1, got '0'" in result.err


def test_the_header_names_the_options_that_change_the_numbers(cli):
    result = cli("explain", CONFIGS / "cat_dog.yaml", "--sample", "1", "--lr", "0.5", "--units", "2")
    assert result.code == 0, result.err
    source = shlex.quote(str(CONFIGS / "cat_dog.yaml"))
    assert result.out.startswith(f"gradlab explain {source} --sample 1 --lr 0.5\n")


def test_missing_source_is_exit_2(cli, tmp_path):
    result = cli("explain", tmp_path / "nope.yaml")
    assert result.code == 2 and f"{tmp_path / 'nope.yaml'}: no such config file" in result.err
    result = cli("explain", tmp_path)  # a directory that is no run
    assert result.code == 2 and f"run {str(tmp_path)!r}: no run directory there" in result.err


def test_the_readme_excerpt_is_the_real_output(cli, monkeypatch):
    from tests.conftest import REPO

    monkeypatch.chdir(REPO)
    result = cli("explain", "configs/cat_dog.yaml")
    assert result.code == 0
    readme = (REPO / "README.md").read_text()
    assert "$ gradlab explain configs/cat_dog.yaml\n" + result.out.rstrip() + "\n```" in readme


SOFTMAX_NO_HIDDEN = {
    "name": "softmax_neurons",
    "data": {"name": "inline", "X": [[1.0, -2.0], [0.5, 0.25]], "y": [2, 0], "class_names": ["a", "b", "c"],
             "test_fraction": 0},
    "model": {"hidden": [], "output": "softmax",
              "init": {"name": "explicit", "layers": [{"W": [[0.5, -0.3, 0.1], [0.2, 0.8, -0.4]],
                                                       "b": [0.1, -0.2, 0.3]}]}},
    "loss": "cross_entropy",
    "optimizer": {"name": "sgd", "lr": 0.5},
    "training": {"epochs": 1, "batch_size": "full"},
}


def test_softmax_without_hidden_layers_by_hand(cli, tmp_path):
    """Three softmax neurons on x = (1, -2), class c: z = x W + b = (0.5 - 0.4 + 0.1, -0.3 - 1.6 - 0.2,
    0.1 + 0.8 + 0.3) = (0.2, -2.1, 1.2); s = softmax(z); C = -log s_3; delta = s - y; dC/dW = x^T delta."""
    config = tmp_path / "softmax.yaml"
    config.write_text(yaml.safe_dump(SOFTMAX_NO_HIDDEN))
    z = np.array([0.2, -2.1, 1.2])
    s = np.exp(z) / np.exp(z).sum()
    y = np.array([0.0, 0.0, 1.0])
    delta = s - y
    x = np.array([1.0, -2.0])
    d = explain_json(cli, config)
    (layer,) = d["layers"]
    close = dict(rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer["z"], [z], **close)
    np.testing.assert_allclose(layer["a"], [s], **close)
    assert d["loss"]["value"] == pytest.approx(-np.log(s[2]), rel=1e-12) and d["loss"]["on_logits"] is True
    np.testing.assert_allclose(layer["dC_da"], [[0, 0, -1 / s[2]]], **close)
    np.testing.assert_allclose(layer["delta"], [delta], **close)
    np.testing.assert_allclose(layer["dW"], np.outer(x, delta), **close)
    np.testing.assert_allclose(layer["W_new"], np.array(SOFTMAX_NO_HIDDEN["model"]["init"]["layers"][0]["W"])
                               - 0.5 * np.outer(x, delta), **close)
    text = cli("explain", config).out
    # C is computed from the logits, but y_hat is softmax(z), not z
    assert f"C   (from the logits z of layer 1, y_hat = softmax(z), N = 1) = {fmt(-np.log(s[2]), 4)}" in text
    assert "y_hat = z" not in text
    assert f"delta = dC/dz = J^T dC/dy_hat = (y_hat - y) / N      = [{', '.join(fmt(v, 4) for v in delta)}]" in text


def test_a_run_without_a_trained_network_is_exit_2_naming_its_command(cli, tmp_path):
    # a gradcheck run's config.yaml is {gradcheck: ..., experiment: ...}: it was reported as
    # "experiment: unknown key", which sent the learner looking for a bad key in their config
    assert cli("gradcheck", CONFIGS / "saturation_mse.yaml", "--out", tmp_path / "g").code == 0
    (checked,) = run_dirs(tmp_path / "g")
    for command in ("explain", "landscape", "gradcheck"):
        result = cli(command, checked)
        assert result.code == 2
        assert result.err == (f"error: {checked}: no model.npz, so no trained network (a gradcheck run); give a "
                              "config file or a training run directory (gradlab train, or gradlab landscape on a "
                              "config)\n")


def test_a_scipy_minimizer_config_needs_lr_for_the_step_shown(cli, tmp_path):
    config = tmp_path / "lbfgs.yaml"
    spec = yaml.safe_load((CONFIGS / "saturation_mse.yaml").read_text())
    spec["optimizer"] = {"name": "lbfgs"}  # no learning rate: it crashed on float(None)
    config.write_text(yaml.safe_dump(spec))
    result = cli("explain", config)
    assert result.code == 2
    assert result.err == ("error: --lr is needed: the optimizer lbfgs has no learning rate, so give the eta of the "
                          "plain gradient step shown, e.g. --lr 0.1\n")
    # x = 1, y = 0, w = b = 2: delta = sigma(4) * sigma'(4) = s^2 (1 - s); w_new = 2 - 0.15 delta
    d = explain_json(cli, config, "--lr", "0.15")
    s = sigmoid(4.0)
    assert d["layers"][0]["W_new"][0][0] == pytest.approx(2 - 0.15 * s * s * (1 - s), rel=1e-14)
    assert "the configured optimizer is lbfgs" in d["notes"][0]


@pytest.mark.parametrize(("damage", "message"), [
    (lambda f: f.write_text("junk"), "is not an .npz file (numpy.savez writes one, here with keys W1, b1, ...)"),
    (lambda f: np.savez(f, W1=np.array([["a"]]), b1=np.array(["b"])),
     "W1 and b1 must hold floats of one dtype, got <U1 and <U1"),
    # one reader with predict's checks: explain took integer weights that predict refuses
    (lambda f: np.savez(f, W1=np.array([[2]]), b1=np.array([2.0])),
     "W1 and b1 must hold floats of one dtype, got int64 and float64"),
    # float16 weights were copied into the float64 network, rounded as no training had rounded them
    (lambda f: np.savez(f, W1=np.ones((1, 1), dtype=np.float16), b1=np.ones(1, dtype=np.float16)),
     "W1 and b1 hold float16, but model.dtype in the run's config.yaml is float64"),
    (lambda f: np.savez(f, W1=np.ones((2, 1)), b1=np.ones(1)),
     "layer shapes [(2, 1)] do not fit"),
])
def test_a_damaged_model_file_is_exit_2(cli, tmp_path, damage, message):
    # np.load's pickle refusal and float('a') were internal errors
    assert cli("train", CONFIGS / "saturation_mse.yaml", "--out", tmp_path / "t", "--no-plot", "-q",
               "--set", "training.epochs=2").code == 0
    (trained,) = run_dirs(tmp_path / "t")
    damage(trained / "model.npz")
    for command in ("explain", "gradcheck", "landscape"):
        result = cli(command, trained)
        assert result.code == 2 and message in result.err and len(result.err.splitlines()) == 1, result.err


@pytest.mark.parametrize(("text", "message"), [
    ("", "the top level must be a mapping of settings (key: value), got an empty file"),
    ("data: {name: inline, X: [[1.0]], y: [0]}\nloss: foo\n", "loss: unknown value 'foo'"),
])
def test_a_damaged_config_of_a_run_is_named(cli, tmp_path, text, message):
    # 'gradlab explain RUN' names no file itself: "loss: unknown value" alone did not say where
    assert cli("train", CONFIGS / "saturation_mse.yaml", "--out", tmp_path / "t", "--no-plot", "-q",
               "--set", "training.epochs=2").code == 0
    (trained,) = run_dirs(tmp_path / "t")
    (trained / "config.yaml").write_text(text)
    for command in ("explain", "gradcheck", "landscape"):
        result = cli(command, trained)
        assert result.code == 2 and result.err.startswith(f"error: {trained / 'config.yaml'}: {message}"), result.err


def test_a_deeply_saturated_fused_output_shows_factors_whose_product_is_delta(cli):
    """x = 1, y = 0, w = 40, b = 0: z = 40, 1 - sigma(40) = sigma(-40) = 4.248e-18 (sigma(40) rounds to 1).
    dC/dy_hat = (1 - y) / (1 - y_hat) = 1 / sigma(-40) = 2.354e17, sigma'(40) = sigma(40) sigma(-40), product
    sigma(40) = y_hat - y. bce's clipped gradient gave 4.5e15, a product of 0.019 beside a delta of 1."""
    d = explain_json(cli, CONFIGS / "saturation_ce.yaml", "--set", "model.init.layers=[{W: [[40.0]], b: [0.0]}]")
    out = d["layers"][0]
    tail = 1 / (1 + np.exp(40.0))  # sigma(-40)
    assert out["dC_da"][0][0] == pytest.approx(1 / tail, rel=1e-12)
    assert out["f_prime"][0][0] == pytest.approx(tail / (1 + tail), rel=1e-12)
    assert out["delta"][0][0] == 1.0
    assert out["dC_da"][0][0] * out["f_prime"][0][0] == pytest.approx(out["delta"][0][0], rel=1e-12)


def test_an_underflowed_softmax_probability_is_minus_inf_without_a_warning(cli, tmp_path):
    # z = (1000 - 0.4 + 0.1, -2.1, 1.2) = (999.7, -2.1, 1.2): s_3 = exp(1.2 - 999.7) underflows to 0 for the
    # target class c, so dC/ds_3 = -1 / s_3 is beyond float64: -inf, and no "divide by zero" RuntimeWarning
    # (an error here)
    spec = yaml.safe_load(yaml.safe_dump(SOFTMAX_NO_HIDDEN))
    spec["model"]["init"]["layers"][0]["W"][0][0] = 1000.0
    config = tmp_path / "softmax.yaml"
    config.write_text(yaml.safe_dump(spec))
    d = explain_json(cli, config)
    out = d["layers"][0]
    assert out["dC_da"] == [[0.0, 0.0, "-inf"]]
    np.testing.assert_allclose(out["delta"], [[1.0, 0.0, -1.0]], atol=1e-300)
    assert d["loss"]["value"] == pytest.approx(999.7 - 1.2, rel=1e-12)  # -log s_3 = z_1 - z_3 + log(1 + tiny)


def test_a_softmax_hidden_layer_says_its_delta_is_the_jacobians_product(cli):
    # delta is J^T dC/da, not dC/da times the diagonal shown: -0.3108 * 0.07092 is not -0.02775
    result = cli("explain", CONFIGS / "xor.yaml", "--set", "model.activation=softmax", "--units", "2")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert "layer 1 (hidden, softmax) dC/da = delta2 W2^T = [-0.3108, -0.03548, ... +6 more] da/dz: ds_i/dz_j = " \
           "s_i (delta_ij - s_j), diagonal = [0.07092, 0.1848, ... +6 more] delta = dC/dz = J^T dC/da (softmax " \
           "Jacobian) = [-0.02775, -0.02103, ... +6 more]" in text, text


def test_standardised_inputs_are_shown_with_their_raw_values(cli):
    """cat_dog.yaml standardises: sample 0 is the dog of 8.605 kg, 6.172 cm, which the network sees as
    ((8.605 - 7.695) / 3.695, (6.172 - 4.676) / 1.95) = (0.2463, 0.7673); printed under the unit names
    alone, the z-scores read as a dog of 0.25 kg."""
    lines = cli("explain", CONFIGS / "cat_dog.yaml").out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("input"))
    assert lines[start:start + 4] == [
        "input   raw = [8.605, 6.172]   (weight_kg, snout_length_cm)",
        "        x   = [0.2463, 0.7673]   standardised, x = (raw - mean) / std: what the network sees",
        "        mean = [7.695, 4.676], std = [3.695, 1.95]   (of the 300 training samples)",
        "target  y = [1]   (dog)",
    ]
    d = explain_json(cli, CONFIGS / "cat_dog.yaml")
    raw = explain_json(cli, CONFIGS / "cat_dog.yaml", "--set", "data.standardize=false")
    assert d["standardized"] is True and raw["standardized"] is False
    assert raw["x_raw"] is None and raw["mean"] is None and raw["std"] is None
    np.testing.assert_allclose(d["x_raw"], raw["x"], rtol=1e-15)
    np.testing.assert_allclose((np.array(d["x_raw"]) - d["mean"]) / d["std"], d["x"], rtol=1e-14)
    assert "input   x = [8.605, 6.172]   (weight_kg, snout_length_cm)" in \
        cli("explain", CONFIGS / "cat_dog.yaml", "--set", "data.standardize=false").out


def test_the_shipped_softmax_example_gives_the_articles_numbers(cli):
    """The Chinese article's cat/dog/bird scores z = (3, 1, -3), target cat: softmax = (e^3, e^1, e^-3) / 22.854
    = (0.8789, 0.1189, 0.002179), C = -ln 0.8789 = 0.1291, delta = y_hat - y = (-0.1211, 0.1189, 0.002179)."""
    z = np.array([3.0, 1.0, -3.0])
    s = np.exp(z) / np.exp(z).sum()
    d = explain_json(cli, CONFIGS / "softmax_scores.yaml")
    (layer,) = d["layers"]
    np.testing.assert_allclose(layer["z"], [z], rtol=0, atol=0)
    np.testing.assert_allclose(layer["a"], [s], rtol=1e-15)
    assert d["loss"]["value"] == pytest.approx(-np.log(s[0]), rel=1e-14)
    text = cli("explain", CONFIGS / "softmax_scores.yaml").out
    assert "target  y = [1, 0, 0]   (cat)" in text
    assert "a = softmax(z):  s_i = exp(z_i) / sum_j exp(z_j)     = [0.8789, 0.1189, 0.002179]" in text
    assert "C   (from the logits z of layer 1, y_hat = softmax(z), N = 1) = 0.1291" in text
    assert "delta = dC/dz = J^T dC/dy_hat = (y_hat - y) / N      = [-0.1211, 0.1189, 0.002179]" in text


def test_the_readme_note_on_the_articles_formulas_quotes_the_real_output(cli, monkeypatch):
    """The README says where the seed articles' formulas differ (no 1/N in dC/dy_hat, no x in dy_hat/dw) and
    quotes the complete ones gradlab prints: every quoted formula is in the real output of the README example."""
    import re

    from tests.conftest import REPO

    monkeypatch.chdir(REPO)
    readme = (REPO / "README.md").read_text()
    note = " ".join(readme.split("Where the articles' formulas differ:", 1)[1].split("\n\n", 1)[0].split())
    assert "without the 1/N" in note and "without the factor dz/dw = x" in note
    quoted = re.findall(r"`([^`]+)`", note)
    assert quoted == ["C = 1/(2N) sum ||y_hat - y||^2", "dC/dy_hat = (y_hat - y) / N", "dz/dW = x",
                      "delta = dC/dz = dC/dy_hat * dy_hat/dz", "sigma(z) = 1 / (1 + exp(-z))",
                      "sigma(z) (1 - sigma(z))"]
    printed = [line.strip() for line in cli("explain", "configs/cat_dog.yaml").out.splitlines()]
    for formula in quoted:
        assert any(formula in line for line in printed), formula


def test_a_per_sample_loss_gradient_is_written_as_an_equation_that_holds_for_a_batch(cli):
    # it read 'dC/dy_hat = (1/N) dl/dr = clip(r/beta, -1, 1)' beside values of -1/225: the 1/N went missing
    text = " ".join(cli("explain", CONFIGS / "sine_smooth_l1.yaml", "--batch").out.split())
    # and the values follow dC/dy_hat: after 'r = y_hat - y =' they read as r (-0.8 for a residual of -2650)
    assert "r = y_hat - y, dl/dr = clip(r/beta, -1, 1), dC/dy_hat = (1/N) dl/dr = [" in text
    output = json.loads(cli("explain", CONFIGS / "sine_smooth_l1.yaml", "--batch", "--json").out)["layers"][-1]
    assert np.max(np.abs(output["dC_da"])) == pytest.approx(1 / 225)  # |clip| = 1 for some sample, N = 225


def test_the_loss_is_named_with_its_parameter_and_json_has_it_to_recompute_c(cli, tmp_path):
    # 'loss huber' and a formula with delta, but never delta's value; --json's loss had name, formula, value only
    (tmp_path / "h.yaml").write_text("data: {name: sine, n_samples: 40}\nmodel: {hidden: [3]}\n"
                                     "loss: {name: huber, delta: 0.3}\n")
    text = cli("explain", tmp_path / "h.yaml").out
    assert "loss huber(delta=0.3), initial weights" in " ".join(text.split())
    d = explain_json(cli, tmp_path / "h.yaml", "--batch")
    assert d["loss"]["parameters"] == {"delta": 0.3}
    # a script recomputes C from the JSON alone: l(r) = r^2/2 for |r| <= delta, else delta (|r| - delta/2), mean over N
    r = np.abs(np.array(d["layers"][-1]["a"]) - np.array(d["y"]))
    delta = d["loss"]["parameters"]["delta"]
    assert (r > delta).any() and (r <= delta).any()  # both pieces are used
    C = np.where(r <= delta, r ** 2 / 2, delta * (r - delta / 2)).sum() / d["N"]
    assert d["loss"]["value"] == pytest.approx(C, rel=1e-12)
    assert explain_json(cli, CONFIGS / "cat_dog.yaml")["loss"]["parameters"] == {}  # mse has none


def test_a_saturated_right_answer_shows_a_delta_of_every_digit_beside_its_loss(cli, tmp_path):
    """x = 1, y = 1, w = 40, b = 0: y_hat = sigma(40) rounds to 1, and y_hat - y = 1 - 1 = 0 in float64;
    the true delta is -sigma(-40) = -4.2483542552915889e-18 (mpmath), and the loss softplus(-40) the same
    number, positive. explain showed delta = 0 (z = 40) or -8.88e-16 (near z = 35) beside them."""
    config = tmp_path / "right.yaml"
    config.write_text("data: {name: inline, X: [[1.0], [-1.0]], y: [1, 0], test_fraction: 0, standardize: false}\n"
                      "model: {hidden: [], output: sigmoid, init: {name: explicit, layers: [{W: [[40.0]], b: [0.0]}]}}\n"
                      "loss: bce\n")
    d = explain_json(cli, config)
    out = d["layers"][0]
    assert out["a"] == [[1.0]]
    assert out["delta"][0][0] == pytest.approx(-4.2483542552915889e-18, rel=1e-15)
    assert d["loss"]["value"] == pytest.approx(4.2483542552915889e-18, rel=1e-15)
    assert out["dW"][0][0] == out["db"][0] == out["delta"][0][0]  # x = 1


def test_a_saturated_softmax_shows_a_jacobian_diagonal_that_agrees_with_its_delta(cli, tmp_path):
    """Logits (40, 0, 0), target class 0: s = (1, e, e) rounded, e = exp(-40) = 4.2483542552915889e-18.
    The diagonal s_0 (1 - s_0) = s_0 (s_1 + s_2) = 8.4967085e-18 (mpmath), and delta_0 = -(s_1 + s_2), its
    negative, as J^T dC/dy_hat with dC/dy_hat = (-1, 0, 0) says. The diagonal showed 0 (1 - s_0 rounded)."""
    config = tmp_path / "softmax.yaml"
    config.write_text("data: {name: inline, X: [[1.0], [-1.0], [0.5]], y: [0, 1, 2], test_fraction: 0, "
                      "standardize: false}\n"
                      "model: {hidden: [], output: softmax, init: {name: explicit, layers: [{W: [[40.0, 0.0, 0.0]], "
                      "b: [0.0, 0.0, 0.0]}]}}\nloss: cross_entropy\n")
    out = explain_json(cli, config)["layers"][0]
    e = 4.2483542552915889e-18
    assert out["a"][0][0] == 1.0
    assert out["f_prime"][0] == pytest.approx([2 * e, e, e], rel=1e-15)
    assert out["delta"][0] == pytest.approx([-2 * e, e, e], rel=1e-15)


def test_a_batch_of_fewer_rows_than_shown_says_no_first_rows(cli, tmp_path):
    # 'all 2 training samples (N = 2; the first 3 rows shown)' (a learner review)
    config = tmp_path / "two.yaml"
    config.write_text("data: {name: inline, X: [[1.0], [-1.0]], y: [1, 0], test_fraction: 0, standardize: false}\n"
                      "model: {hidden: [], output: sigmoid}\nloss: bce\n")
    text = " ".join(cli("explain", config, "--batch").out.split())
    assert "all 2 training samples (N = 2)" in text and "rows shown" not in text
