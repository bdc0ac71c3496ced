"""gradlab train end to end: the shipped configs, the run directory, reproducibility, bad configs."""

import csv
import json
import re
import signal
import statistics
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml

from tests.conftest import CONFIGS, run_dirs, subprocess_env


def train(cli, tmp_path, config, *args):
    out = tmp_path / "out"
    before = set(run_dirs(out))
    result = cli("train", config, "--out", out, *args)
    new = sorted(set(run_dirs(out)) - before)
    return result, (new[0] if new else None)


def metrics(run):
    return list(csv.DictReader((run / "metrics.csv").open()))


def summary(run):
    return json.loads((run / "summary.json").read_text())


def test_cat_dog_reaches_95_percent_and_writes_a_complete_run(cli, tmp_path):
    result, run = train(cli, tmp_path, CONFIGS / "cat_dog.yaml")
    assert result.code == 0, result.err
    rows = metrics(run)
    assert rows[0]["epoch"] == "0"  # the state before any update
    assert float(rows[-1]["test_accuracy"]) >= 0.95
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"]) / 5
    for column in ("epoch", "train_loss", "test_loss", "train_accuracy", "test_accuracy", "lr",
                   "grad_norm_1", "saturated_1"):
        assert column in rows[0]
    s = summary(run)
    assert s["status"] == "completed" and s["epochs"] == 60
    assert s["reproduce"] == f"gradlab train {run}/config.yaml"
    files = {p.name for p in run.iterdir()}
    assert {"config.yaml", "metrics.csv", "summary.json", "model.npz", "data.json", "loss.png", "accuracy.png",
            "grad_norms.png", "units.png", "decision_boundary.png", "decision_boundary.csv"} <= files
    grid = next(csv.reader((run / "decision_boundary.csv").open()))
    assert grid == ["weight_kg", "snout_length_cm", "predicted", "score_dog"]  # predict's own column names
    model = np.load(run / "model.npz")
    assert sorted(model.files) == ["W1", "b1"] and model["W1"].shape == (2, 1)
    resolved = yaml.safe_load((run / "config.yaml").read_text())
    assert resolved["model"]["output"] == "sigmoid" and resolved["optimizer"]["lr"] == 2.0
    assert "epochs" in result.out and "completed" in result.out


def test_same_seed_same_metrics_apart_from_time(cli, tmp_path):
    runs = [train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot")[1] for _ in range(2)]
    a, b = ([{k: v for k, v in row.items() if k != "time_s"} for row in metrics(r)] for r in runs)
    assert a == b


def test_rerun_from_the_recorded_config_is_identical(cli, tmp_path):
    _, first = train(cli, tmp_path, CONFIGS / "cat_dog_ce.yaml", "--no-plot")
    _, second = train(cli, tmp_path, first / "config.yaml", "--no-plot")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "time_s"} for r in rows]  # noqa: E731
    assert strip(metrics(first)) == strip(metrics(second))


@pytest.mark.parametrize(("config", "accuracy"), [("xor.yaml", 0.98), ("spiral_relu.yaml", 0.95)])
def test_xor_and_spiral_are_solved(cli, tmp_path, config, accuracy):
    result, run = train(cli, tmp_path, CONFIGS / config, "--no-plot")
    assert result.code == 0
    assert float(metrics(run)[-1]["test_accuracy"]) >= accuracy


def test_saturation_mse_plateau_against_cross_entropy(cli, tmp_path):
    """Nielsen's saturated neuron: x = 1, y = 0, w = b = 2, so a = sigma(4) = 0.98201.

    MSE: dC/dw = (a - y) sigma'(4) x = 0.98201 * 0.017663 = 0.017345 -> a plateau;
    cross-entropy: dC/dw = (a - y) x = 0.98201 -> 57x larger, fast start.
    """
    _, mse_run = train(cli, tmp_path, CONFIGS / "saturation_mse.yaml", "--no-plot")
    _, ce_run = train(cli, tmp_path, CONFIGS / "saturation_ce.yaml", "--no-plot")
    mse, ce = metrics(mse_run), metrics(ce_run)
    a = 1 / (1 + np.exp(-4.0))
    assert float(mse[0]["grad_norm_1"]) == pytest.approx(a * a * (1 - a), rel=1e-12)
    assert float(ce[0]["grad_norm_1"]) == pytest.approx(a, rel=1e-12)
    assert float(mse[0]["train_loss"]) == pytest.approx(0.5 * a * a, rel=1e-12)
    # the plateau: after 100 epochs MSE has lost under 5% of its loss, cross-entropy over 95%
    assert float(mse[100]["train_loss"]) > 0.95 * float(mse[0]["train_loss"])
    assert float(ce[100]["train_loss"]) < 0.05 * float(ce[0]["train_loss"])
    # ... and it does get off the plateau in the end
    assert float(mse[-1]["train_loss"]) < 0.1 * float(mse[0]["train_loss"])


def test_deep_sigmoid_gradients_vanish_and_relu_ones_do_not(cli, tmp_path):
    # the README's figures: 9,500 times at the start, 265 to 3,700 at the logged epochs 5-60, median 2,100
    _, sig = train(cli, tmp_path, CONFIGS / "deep_sigmoid.yaml", "--no-plot")
    _, relu = train(cli, tmp_path, CONFIGS / "deep_relu.yaml", "--no-plot")
    ratio = lambda row: float(row["grad_norm_7"]) / float(row["grad_norm_1"])  # noqa: E731
    sig_rows, relu_rows = metrics(sig), metrics(relu)
    assert round(ratio(sig_rows[0]), -2) == 9500
    later = [ratio(row) for row in sig_rows[1:]]
    assert (round(min(later)), round(max(later), -2), round(statistics.median(later), -2)) == (265, 3700, 2100)
    assert float(sig_rows[-1]["test_accuracy"]) == 0.5 and float(relu_rows[-1]["test_accuracy"]) == 1.0
    assert all(0.1 < ratio(row) < 10 for row in relu_rows)  # within a decade


@pytest.mark.parametrize("batch", ["1", "16", "full"])
def test_three_batch_modes(cli, tmp_path, batch):
    result, run = train(cli, tmp_path, CONFIGS / "online_vs_batch.yaml", "--no-plot",
                        "--set", f"training.batch_size={batch}", "--set", "training.epochs=3")
    assert result.code == 0
    rows = metrics(run)
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


def test_regression_reports_r2(cli, tmp_path):
    result, run = train(cli, tmp_path, CONFIGS / "sine_smooth_l1.yaml", "--no-plot")
    rows = metrics(run)
    assert float(rows[-1]["test_r2"]) > 0.9
    assert "test_accuracy" not in rows[-1] and "train_accuracy" not in rows[-1]  # were always empty
    table = np.loadtxt(run / "metrics.csv", delimiter=",", skiprows=1)  # every cell a number
    assert table.shape == (len(rows), len(rows[0]))


@pytest.mark.parametrize("method", ["cg", "lbfgs"])
def test_full_batch_scipy_optimizers_log_every_iteration(cli, tmp_path, method):
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot", "--set", f"optimizer.name={method}",
                        "--set", "optimizer.lr=null", "--set", "training.epochs=40", "--set", "training.log_every=1")
    assert result.code == 0, result.err
    rows = metrics(run)
    assert [int(r["epoch"]) for r in rows] == list(range(len(rows)))
    assert float(rows[-1]["train_loss"]) < 0.1 * float(rows[0]["train_loss"])


def test_divergence_stops_with_a_hint_and_exit_0(cli, tmp_path):
    result, run = train(cli, tmp_path, CONFIGS / "sine_smooth_l1.yaml", "--no-plot", "--set", "loss=mse",
                        "--set", "optimizer.name=sgd", "--set", "optimizer.lr=5")
    assert result.code == 0
    s = summary(run)
    assert s["status"] == "diverged"
    assert "learning rate 5 is probably too large" in s["stop_reason"]
    assert s["epochs"] < 200
    assert "diverged" in result.out


def test_a_bounded_loss_with_exploding_weights_is_diverged_at_once(cli, tmp_path):
    # MSE on a sigmoid cannot exceed 1/2, so the loss alone never explodes; eta = 1e300 throws the
    # weights to ~1e299 in the first epoch (it logs every 5th): stopped after epoch 1, not "completed"
    result, run = train(cli, tmp_path, CONFIGS / "cat_dog.yaml", "--no-plot", "--set", "optimizer.lr=1e300")
    assert result.code == 0
    s = summary(run)
    assert s["status"] == "diverged" and s["epochs"] == 1
    assert s["stop_reason"].startswith("diverged at epoch 1: a parameter reached 1.03e+299 in size (more than 1e+12)")
    assert [int(r["epoch"]) for r in metrics(run)] == [0, 1]


def test_a_loss_a_million_times_above_its_start_is_diverged(cli, tmp_path):
    # smooth L1 grows only linearly with the error: eta = 1e6 takes C from 1.38 to ~6e6 with weights
    # below 1e12 -- more than 1e6 (1 + C_0) above the start, the rule gradlab descend applies to f
    result, run = train(cli, tmp_path, CONFIGS / "sine_smooth_l1.yaml", "--no-plot", "--set", "optimizer.lr=1e6")
    s = summary(run)
    rows = metrics(run)
    start, last = float(rows[0]["train_loss"]), float(rows[-1]["train_loss"])
    assert s["status"] == "diverged" and last - start > 1e6 * (1 + start)
    assert f"the loss rose from {start:.6g} to {last:.6g}, more than 1e+06 * (1 + |C_0|)" in s["stop_reason"]
    assert all(float(r["train_loss"]) - start <= 1e6 * (1 + start) for r in rows[:-1])  # stopped at the first


def test_float32_follows_float64(cli, tmp_path):
    _, r64 = train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot")
    _, r32 = train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot", "--set", "model.dtype=float32")
    l64 = np.array([float(r["train_loss"]) for r in metrics(r64)])
    l32 = np.array([float(r["train_loss"]) for r in metrics(r32)])
    np.testing.assert_allclose(l32, l64, rtol=1e-3)
    assert np.load(r32 / "model.npz")["W1"].dtype == np.float32


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = "data: {name: xor, n_samples: 40}\ntraining: {epochs: 2}\n"
FULL = "data: {name: xor, n_samples: 40}\ntraining: {epochs: 2, batch_size: full}\n"


@pytest.mark.parametrize(("text", "message"), [
    (BASE + "model: {activation: sigmod}", r"model.activation: unknown value 'sigmod' \(did you mean 'sigmoid'\?\)"),
    (BASE + "optimizer: {lr: -1}", r"optimizer.lr: input should be greater than 0 \(got -1\)"),
    (BASE + "loss: bce\nmodel: {output: relu}", r"model.output: loss bce needs an output in \{sigmoid, hard_sigmoid\}"),
    (BASE + "trainig: {epochs: 3}", r"trainig: unknown key \(did you mean 'training'\?\)"),
    (BASE + "optimizer: {name: adam, beta: 0.9}", r"optimizer.beta: adam has no parameter 'beta' \(did you mean 'beta[12]'\?\)"),
    ("data: xor\ntraining: {epochs: true}", r"training.epochs: input should be a whole number, not true or false \(got true\)"),
    ("data: xor\ntraining: {batch_size: true}", r"training.batch_size: must be a whole number >= 1 or 'full', got true$"),
    (BASE + "optimizer: {lr: .nan}", r"optimizer.lr: input should be a finite number \(got nan\)"),
    # the engine's own checks name the parameter alone: reported under its key, as data's are
    (BASE + "optimizer: {name: adam, beta1: 1.0}", r"^error: optimizer.beta1 must be >= 0 and < 1, got 1.0$"),
    (BASE + "seed: -1", r"^error: seed: input should be greater than or equal to 0 \(got -1\)$"),
    (BASE + "optimizer: {name: cg}", r"training.batch_size: optimizer cg minimises the full batch"),
    (FULL + "optimizer: {name: cg, schedule: exponential}",
     r"optimizer.schedule: cg chooses each step by a line search, so a learning-rate schedule does not apply"),
    (FULL + "optimizer: {name: lbfgs, clip_norm: 1}",
     r"optimizer.clip_norm: lbfgs chooses each step by a line search, so gradient clipping does not apply"),
    ("data: {name: sine}\nloss: cross_entropy", r"loss: cross_entropy needs class labels"),
    ("data: {name: sine}\nmodel: {output: softmax}", r"model.output: softmax over a single output is always 1"),
    ("data: {name: csv, path: d.csv, target: label}", r"data.*'label'"),
    ("data: {name: csv, path: bad.csv}", r"data.*'abc'"),
    ("data: {name: csv, path: empty.csv}", r"data.*(empty|no data|no rows)"),
    ("", r"^error: \S*bad.yaml: the config is empty; it needs at least 'data:'"),
    ("# only a comment\n", r"^error: \S*bad.yaml: the config is empty"),
    ("seed: 1", r"^error: data: Field required$"),
    (BASE + "model: {hidden: [4], init: {name: from, path: w.npz}}", r"model.init: W1 has shape \(2, 3\), the network needs \(2, 4\)"),
    # cast to float32 it was inf: an overflow warning, and 0 * inf = nan at z = 0
    (BASE + "model: {hidden: [4, 4], activation: 'leaky_relu:alpha=1e39', dtype: float32}",
     r"^error: model.activation: leaky_relu alpha = 1e\+39 is beyond the range of float32 \(at most 3.403e\+38 in "
     r"size\); use float64 or a smaller alpha$"),
    # a parameter that must be > 0 and rounds to 0 in float32: smooth_l1's loss and gradient were 0/0 = nan and
    # the run 'diverged before the first update' (exit 0); huber's gradient was 0, swish the line z/2
    ("data: {name: sine, n_samples: 40}\ntraining: {epochs: 2}\nmodel: {dtype: float32}\nloss: 'smooth_l1:beta=1e-300'",
     r"^error: loss: smooth_l1 beta = 1e-300 rounds to 0 in float32; use float64 or a beta of at least 1.4e-45$"),
    ("data: {name: sine, n_samples: 40}\ntraining: {epochs: 2}\nmodel: {dtype: float32}\nloss: 'huber:delta=1e-46'",
     r"^error: loss: huber delta = 1e-46 rounds to 0 in float32; use float64 or a delta of at least 1.4e-45$"),
    (BASE + "model: {hidden: [4], activation: 'swish:beta=1e-46', dtype: float32}",
     r"^error: model.activation: swish beta = 1e-46 rounds to 0 in float32; use float64 or a beta of at least "
     r"1.4e-45$"),
    # the loss's parameters get the activations' range check too: beta = inf made smooth_l1's loss 0
    ("data: {name: sine, n_samples: 40}\ntraining: {epochs: 2}\nmodel: {dtype: float32}\nloss: 'smooth_l1:beta=1e300'",
     r"^error: loss: smooth_l1 beta = 1e\+300 is beyond the range of float32 \(at most 3.403e\+38 in size\); "
     r"use float64 or a smaller beta$"),
    # data, targets and initial weights that float32 cannot hold: cast, they were inf ('overflow encountered in
    # cast', exit 1; without -W error a run that 'diverged' blaming the learning rate)
    ("data: {name: csv, path: huge.csv}\nmodel: {dtype: float32}",
     r"^error: data: feature 'x2' holds 1e\+39, beyond the range of float32 \(at most 3.403e\+38 in size\); "
     r"use model.dtype: float64 or data.standardize: true$"),
    ("data: {name: csv, path: huge.csv, target: x2}\nmodel: {dtype: float32}\nloss: mse",
     r"^error: data: target 'x2' holds 1e\+39, beyond the range of float32 \(at most 3.403e\+38 in size\); "
     r"use model.dtype: float64$"),
    (BASE + "model: {dtype: float32, init: 'normal:std=1e150'}",
     r"^error: model.init: normal \(std=1e\+150\) drew W1 = \S+e\+1[45]\d, beyond the range of float32 \(at most "
     r"3.403e\+38 in size\); use float64 or a smaller std$"),
    (BASE + "model: {hidden: [], dtype: float32, init: {name: explicit, layers: [{W: [[1], [-1e39]], b: [0]}]}}",
     r"^error: model.init: layers\[0\].W holds -1e\+39, beyond the range of float32 \(at most 3.403e\+38 in "
     r"size\); use float64 or smaller weights$"),
])
def test_bad_configs_exit_2_naming_the_field_and_leave_nothing(cli, tmp_path, text, message):
    write(tmp_path, "d.csv", "x1,x2,target\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    write(tmp_path, "huge.csv", "x1,x2,target\n1,2,0\n3,1e39,1\n5,6,0\n7,8,1\n")
    write(tmp_path, "bad.csv", "x1,x2,target\n1,2,0\nabc,4,1\n5,6,0\n7,8,1\n")
    write(tmp_path, "empty.csv", "x1,x2,target\n")
    np.savez(tmp_path / "w.npz", W1=np.zeros((2, 3)), b1=np.zeros(3), W2=np.zeros((3, 1)), b2=np.zeros(1))
    config = write(tmp_path, "bad.yaml", text)
    result, run = train(cli, tmp_path, config)
    assert result.code == 2, result.text
    assert result.err.startswith("error: ")
    assert "Traceback" not in result.text
    assert __import__("re").search(message, result.err), result.err
    assert run is None and not (tmp_path / "out").exists()


def test_a_float32_subnormal_beta_is_kept_and_trains(cli, tmp_path):
    """1e-44 is a float32 subnormal, not 0: smooth_l1 with it is |r| - beta/2, and the run learns."""
    config = write(tmp_path, "c.yaml", "data: {name: sine, n_samples: 40}\ntraining: {epochs: 3}\n"
                                      "model: {dtype: float32}\nloss: 'smooth_l1:beta=1e-44'\n")
    result, run = train(cli, tmp_path, config)
    assert result.code == 0, result.text
    assert summary(run)["status"] == "completed"
    assert all(np.isfinite(float(row["train_loss"])) for row in metrics(run))


@pytest.mark.parametrize("kind", ["loss", "activation"])
def test_every_positive_parameter_that_rounds_to_0_in_float32_is_refused(kind):
    """Through the registries, not a list: a class registered later with a parameter that must be > 0
    is covered by the same rule."""
    from gradlab.engine.activations import activations
    from gradlab.engine.losses import losses
    from gradlab.experiment import _parameter_problems

    registry = losses if kind == "loss" else activations
    checked = []
    for name, _ in registry.items():
        for key, default in registry.parameters(name).items():
            if isinstance(default, float) and default > 0:
                component = registry.create({"name": name, key: 1e-300})
                assert _parameter_problems(kind, component, np.dtype(np.float32)) == [
                    f"{kind}: {name} {key} = 1e-300 rounds to 0 in float32; use float64 or a {key} of at least 1.4e-45"]
                assert _parameter_problems(kind, component, np.dtype(np.float64)) == []
                checked.append(f"{name}.{key}")
    # the positive parameters there are today, and leaky_relu's and elu's alpha (>= 0, default > 0)
    expected = {"loss": ["huber.delta", "smooth_l1.beta"],
                "activation": ["leaky_relu.alpha", "elu.alpha", "swish.beta"]}[kind]
    assert checked == expected


def test_every_problem_is_reported_at_once(cli, tmp_path):
    config = write(tmp_path, "c.yaml", "data: {name: xor}\ntraining: {epochs: 0, batch_size: -3}\nloss: mse\n"
                                      "optimizer: {lr: 0}\n")
    result = cli("train", config)
    assert result.code == 2
    for field in ("training.epochs", "training.batch_size", "optimizer.lr"):
        assert field in result.err


def test_structural_and_component_problems_are_reported_together(cli, tmp_path):
    config = write(tmp_path, "c.yaml", "data: {name: cat_dog}\nmodel: {hidden: [4], activation: sigmod}\n"
                                      "optimizer: {name: sgd, lr: -1}\nloss: bcee\ntrainig: {epochs: 5}\n")
    result = cli("train", config)
    assert result.code == 2 and result.out == ""
    assert result.err.splitlines() == [
        "error: optimizer.lr: input should be greater than 0 (got -1)",
        "error: trainig: unknown key (did you mean 'training'?); allowed keys: name, seed, data, model, loss, "
        "optimizer, training",
        "error: loss: unknown value 'bcee' (did you mean 'bce'?); choose from: "
        + ", ".join(__import__("gradlab.engine.losses", fromlist=["losses"]).losses.names(aliases=True)),
        "error: model.activation: unknown value 'sigmod' (did you mean 'sigmoid'?); choose from: "
        + ", ".join(__import__("gradlab.engine.activations", fromlist=["a"]).activations.names(aliases=True)),
    ]


def test_missing_config_file(cli, tmp_path):
    result = cli("train", tmp_path / "nope.yaml")
    assert result.code == 2 and "no such config file" in result.err


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_saves_the_run_as_interrupted(tmp_path, sent, code):
    config = write(tmp_path, "long.yaml", "data: {name: moons, n_samples: 400}\nmodel: {hidden: [32]}\n"
                                         "training: {epochs: 100000, batch_size: 1, log_every: 1}\n")
    out = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "gradlab", "train", str(config), "--out", str(out), "--no-plot"],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:  # wait for a few logged epochs
        runs = run_dirs(out)
        if runs and (runs[0] / "metrics.csv").exists() and len((runs[0] / "metrics.csv").read_text().splitlines()) > 2:
            break
        time.sleep(0.1)
    proc.send_signal(sent)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    run = run_dirs(out)[0]
    s = summary(run)
    assert s["status"] == "interrupted"
    assert (run / "model.npz").exists()
    rows = metrics(run)
    assert len(rows) >= 2 and all(r["train_loss"] for r in rows)


def test_schema_lists_the_registries(cli):
    import jsonschema

    from gradlab.experiment import build

    result = cli("schema")
    assert result.code == 0
    schema = json.loads(result.out)
    activation = schema["$defs"]["ModelConfig"]["properties"]["activation"]
    assert "leaky_relu" in activation["anyOf"][0]["enum"]
    assert "cross_entropy" in schema["properties"]["loss"]["anyOf"][0]["enum"]
    assert "adam" in schema["properties"]["optimizer"]["anyOf"][0]["enum"]
    for config in CONFIGS.glob("*.yaml"):  # every shipped config is valid against it
        jsonschema.validate(yaml.safe_load(config.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"data": "xor", "loss": "msee"}, schema)
    # 'shuffle: no' is text in YAML 1.2, which the loader reads as false: the schema must not flag it
    jsonschema.validate({"data": "xor", "training": {"shuffle": "no"}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"data": "xor", "training": {"shuffle": "y"}}, schema)
    short = {"data": "moons:noise=0.2", "optimizer": "momentum:lr=0.5", "loss": "smooth_l1:beta=2",
             "model": {"activation": ["relu", "leaky_relu:alpha=0.1"], "init": "he", "hidden": [4, 4]}}
    jsonschema.validate(short, schema)  # the short forms the docs show are valid in the schema ...
    assert repr(build({**short, "training": {"epochs": 1}}).optimizer) == "Momentum(lr=0.5, momentum=0.9)"  # ... and run
    for bad in ({"data": "xor", "optimizer": "adamm"}, {"data": "xor", "model": {"activation": "relux:alpha=1"}},
                {"data": "xor", "optimizer": {"lr": 0}}, {"data": "xor", "training": {"patience": 0}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    # unknown names and keys and the top-level bounds: these the config and the schema both refuse (the schema
    # used to pass them). A component parameter's range (adam's beta1 < 1) is the loader's alone (README).
    for bad in ({"data": "xor", "training": {"batch_size": 0}}, {"data": "xor", "model": {"hidden": [0]}},
                {"data": "xor", "name": "a b"}, {"data": {"name": "xor", "n_sample": 40}}, {"data": {"name": "csv"}},
                {"data": "xor", "loss": {"name": "huber", "delt": 1}},
                {"data": "xor", "optimizer": {"name": "adam", "momentum": 0.5}}, {"data": "xor", "optimizer": {"name": "cg", "lr": 0.1}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    for good in ({"data": {"name": "xor", "n_samples": 40, "test_fraction": 0.2, "standardize": True}},
                 {"data": {"name": "csv", "path": "a.csv", "target": "y"}}, {"data": "xor", "name": "run-1.a"},
                 {"data": "xor", "training": {"batch_size": "full"}}, {"data": "xor", "loss": {"name": "l1"}},
                 {"data": "xor", "optimizer": {"lr": 0.1}}, {"data": "xor", "optimizer": {"name": "lbfgs", "memory": 5}},
                 {"data": "xor", "optimizer": {"name": "adam", "beta1": 0.8, "schedule": "step", "clip_norm": 1}}):
        jsonschema.validate(good, schema)
    xor = next(c for c in schema["properties"]["data"]["anyOf"] if c.get("properties", {}).get("name") == {"enum": ["xor"]})
    assert xor["properties"]["n_samples"] == {"type": "integer", "default": 200}  # parameters to complete
    # bounds in JSON Schema's own words, which editors check: pydantic's gt/ge are no keywords there
    assert not {"gt", "ge", "lt", "le"} & set(re.findall(r'"(\w+)": -?\d', result.out))


def test_init_from_an_npz_file_starts_from_its_weights(cli, tmp_path):
    W1, b1 = np.array([[0.5, -1.0, 0.25], [2.0, 0.0, -0.5]]), np.array([0.1, -0.2, 0.3])
    W2, b2 = np.array([[1.0], [-2.0], [0.5]]), np.array([-0.25])
    (tmp_path / "cfg").mkdir()
    np.savez(tmp_path / "cfg" / "w.npz", W1=W1, b1=b1, W2=W2, b2=b2)
    config = write(tmp_path / "cfg", "c.yaml", "data: {name: xor, n_samples: 40}\ntraining: {epochs: 1}\n"
                                                "model: {hidden: [3], init: {name: from, path: w.npz}}\n")
    result, run = train(cli, tmp_path, config)
    assert result.code == 0, result.text
    resolved = __import__("yaml").safe_load((run / "config.yaml").read_text())
    assert resolved["model"]["init"] == {"name": "from", "path": str((tmp_path / "cfg" / "w.npz").resolve())}
    from gradlab.experiment import build  # the network it builds starts at the file's weights
    experiment = build(resolved)
    for layer, (W, b) in zip(experiment.network.layers, [(W1, b1), (W2, b2)]):
        np.testing.assert_array_equal(layer.W, W)
        np.testing.assert_array_equal(layer.b, b)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_softmax_on_two_classes_has_two_units_and_learns(loss):
    from gradlab.experiment import build
    from gradlab.training import fit

    experiment = build({"data": {"name": "moons", "n_samples": 200}, "model": {"output": "softmax"}, "loss": loss,
                        "optimizer": {"lr": 1.0}, "training": {"epochs": 30, "batch_size": "full"}})
    assert experiment.network.layers[-1].W.shape == (2, 2)
    assert experiment.Y_train.shape == (150, 2)
    np.testing.assert_array_equal(experiment.Y_train.argmax(axis=1), experiment.dataset.y_train)
    history = fit(experiment.network, experiment.loss, experiment.optimizer, experiment.X_train, experiment.Y_train,
                  settings=experiment.settings)
    assert history.final["train_accuracy"] > 0.8  # a one-unit softmax is always 1: stuck at the class share


def test_the_readme_train_excerpt_is_real_output(cli, tmp_path, monkeypatch):
    from gradlab.cli.common import out
    from tests.conftest import REPO

    monkeypatch.setattr(out, "_width", 80)  # the README shows an 80-column terminal

    command = "gradlab train configs/cat_dog.yaml"
    excerpt = (REPO / "README.md").read_text().split(f"$ {command}\n", 1)[1].split("```", 1)[0].splitlines()
    result = cli("train", REPO / "configs" / "cat_dog.yaml", "--no-plot", "--out", tmp_path)
    real = [line.rstrip() for line in result.out.split("run directory:")[0].splitlines()]
    assert real == excerpt[:-1] and excerpt[-1].startswith("run directory: runs/")


def test_the_panel_prints_brackets_and_parameters_as_text(cli, tmp_path):
    config = write(tmp_path, "p.yaml", "data: {name: moons, n_samples: 40}\nloss: bce\n"
                                      "model: {hidden: [3], activation: 'leaky_relu:alpha=0.1'}\ntraining: {epochs: 1}\n")
    result = cli("train", config, "--no-plot", "--out", tmp_path / "runs")
    assert result.code == 0, result.err
    assert "bce: C = -1/N sum [y log y_hat + (1 - y) log(1 - y_hat)]" in result.out
    assert "2 -> 3 -> 1  (leaky_relu(alpha=0.1), sigmoid), 13 parameters" in result.out
    assert "1 epoch, mini-batch 32 (one batch of all 30 rows), 1 update an epoch (1 in all)" in " ".join(
        result.out.split())  # 30 < 32 rows


def test_the_panel_names_the_weight_penalty_and_says_the_logged_loss_is_without_it(cli, tmp_path):
    # with l2 the panel said only 'loss mse' and 'SGD(lr=...)', while train_loss is C alone and landscape prints
    # C + R for the same weights
    config = write(tmp_path, "l2.yaml", "data: {name: moons, n_samples: 40}\nloss: mse\nmodel: {hidden: [3]}\n"
                                       "training: {epochs: 1, l2: 0.01}\n")
    result = cli("train", config, "--no-plot", "--out", tmp_path / "runs")
    assert result.code == 0, result.err
    assert ("penalty C + R is minimised, R = sum over W of l2/2 ||W||^2 (l2 = 0.01; biases not "
            "penalised); the train/test loss and |dC/dW| below are C's alone (without R)") in " ".join(
        result.out.replace("│", " ").split())
    (run,) = run_dirs(tmp_path / "runs")
    from gradlab.experiment import load_experiment  # the logged loss at epoch 0 is C at the initial weights, no R

    e = load_experiment(config, {})
    first = list(csv.DictReader((run / "metrics.csv").open()))[0]
    assert float(first["train_loss"]) == e.network.loss(e.loss, e.X_train, e.Y_train)
    plain = cli("train", config, "--set", "training.l2=0", "--no-plot", "--out", tmp_path / "runs")
    assert plain.code == 0 and "penalty" not in plain.out


def test_the_panel_counts_one_feature_and_says_no_shuffle_of_a_single_batch(cli, tmp_path):
    # it said "1 features (x)", and "full batch, shuffle=True": reordering the one batch changes no update
    config = write(tmp_path, "s.yaml", "data: {name: sine, n_samples: 40}\nloss: mse\nmodel: {hidden: [3]}\n"
                                      "training: {epochs: 1, batch_size: full}\n")
    result = cli("train", config, "--no-plot", "--out", tmp_path / "runs")
    text = " ".join(result.out.split())
    assert result.code == 0, result.err
    assert "1 feature (x), regression" in text and "training 1 epoch, full batch, 1 update an epoch (1 in all), seed 0 " in text
    assert "shuffle" not in text
    many = cli("train", config, "--set", "training.batch_size=64", "--no-plot", "--out", tmp_path / "runs")
    assert "1 epoch, mini-batch 64 (one batch of all 30 rows), 1 update an epoch (1 in all), seed 0" in " ".join(
        many.out.split())
    minibatch = cli("train", config, "--set", "training.batch_size=8", "--no-plot", "--out", tmp_path / "runs")
    # 30 rows in batches of 8: 8, 8, 8 and the 6 left, four updates
    assert "1 epoch, mini-batch 8, 4 updates an epoch (4 in all), shuffle=True, seed 0" in " ".join(minibatch.out.split())


def test_the_panel_counts_the_updates_online_and_in_batches(cli, tmp_path):
    # what online and batch learning differ in (configs/online_vs_batch.yaml: 300 training rows, 40 epochs)
    config = CONFIGS / "online_vs_batch.yaml"
    for batch, expected in (("1", "online, 300 updates an epoch (12,000 in all)"),
                            ("16", "mini-batch 16, 19 updates an epoch (760 in all)"),  # 18 x 16 + 12
                            ("full", "full batch, 1 update an epoch (40 in all)")):
        result = cli("train", config, "--set", f"training.batch_size={batch}", "--set", "training.epochs=40",
                     "--set", "training.log_every=40", "--no-plot", "--out", tmp_path / "runs")
        assert result.code == 0, result.err
        assert f"40 epochs, {expected}" in " ".join(result.out.split())
    # with early stopping the count is a ceiling
    result = cli("train", config, "--set", "training.patience=5", "--set", "training.epochs=2", "--no-plot",
                 "--out", tmp_path / "runs")
    assert "2 epochs, online, 300 updates an epoch (600 at most)" in " ".join(result.out.split())


def test_lbfgs_stops_early_on_the_test_loss(tmp_path):
    from gradlab.experiment import build
    from gradlab.training import fit

    e = build({"data": {"name": "moons", "n_samples": 40, "noise": 0.5, "test_fraction": 0.5},
               "model": {"hidden": [64], "activation": "tanh"}, "loss": "bce", "optimizer": {"name": "lbfgs"},
               "training": {"epochs": 500, "batch_size": "full", "patience": 5}})
    history = fit(e.network, e.loss, e.optimizer, e.X_train, e.Y_train, settings=e.settings,
                  X_test=e.X_test, Y_test=e.Y_test)
    best = min(r["test_loss"] for r in history.rows)
    assert history.epochs == history.last_gain_epoch + 5 < 500  # a line-search optimizer honours patience too
    assert history.last_gain_loss == best
    assert history.stop_reason.startswith(f"early stop at epoch {history.epochs}: no improvement of the test loss")


def test_the_summarys_best_counts_the_row_a_line_search_minimizer_ends_on(cli, tmp_path):
    # L-BFGS converges at iteration 27, between the logged epochs 0 and 50: its end row was logged
    # without passing early stopping's bookkeeping, and summary.json said best_epoch 0 (test loss
    # 0.7535) beside best_test_accuracy 0.96, from that very row (test loss 0.5961)
    config = write(tmp_path, "lb.yaml", "seed: 0\ndata: {name: xor}\nmodel: {hidden: [4], activation: tanh}\n"
                                       "loss: bce\noptimizer: {name: lbfgs}\n"
                                       "training: {epochs: 1000, batch_size: full, log_every: 50}\n")
    result, run = train(cli, tmp_path, config, "--no-plot")
    assert result.code == 0, result.text
    rows = metrics(run)
    assert [r["epoch"] for r in rows] == ["0", "27"]
    assert float(rows[1]["test_loss"]) < float(rows[0]["test_loss"])
    s = summary(run)
    assert (s["best_epoch"], s["best_loss"]) == (27, float(rows[1]["test_loss"]))
    assert s["best_test_accuracy"] == float(rows[1]["test_accuracy"])


def test_initial_weights_beyond_the_divergence_bound_stop_before_the_first_update(cli, tmp_path):
    # it used to train one epoch and stop as diverged at epoch 1, blaming the learning rate
    result, run = train(cli, tmp_path, CONFIGS / "cat_dog.yaml", "--no-plot", "--set", "model.init.std=1e308")
    assert result.code == 0
    done = summary(run)
    assert done["status"] == "diverged" and done["epochs"] == 0
    assert re.fullmatch(r"diverged before the first update: a parameter reached \S+e\+307 in size \(more than "
                        r"1e\+12\); start from smaller weights", done["stop_reason"]), done["stop_reason"]
    assert len(metrics(run)) == 1  # epoch 0 alone
    # that row is logged at weights beyond use: no best, for the loss as for the accuracy
    assert (done["best_epoch"], done["best_loss"], done["best_test_accuracy"]) == (None, None, None)


def test_early_stop_counts_the_epochs_since_the_best_checked_at_logged_epochs():
    from gradlab.experiment import build
    from gradlab.training import fit

    # lr 20 overshoots: the test loss stops improving early
    e = build({"data": {"name": "cat_dog"}, "optimizer": {"lr": 20},
               "training": {"epochs": 300, "patience": 3, "log_every": 5}})
    history = fit(e.network, e.loss, e.optimizer, e.X_train, e.Y_train, settings=e.settings,
                  X_test=e.X_test, Y_test=e.Y_test)
    assert history.epochs == history.last_gain_epoch + 5  # the first logged epoch 3 or more after the best
    assert history.stop_reason == (f"early stop at epoch {history.epochs}: no improvement of the test loss for 5 "
                                   f"epochs (best {history.last_gain_loss:.6g} at epoch {history.last_gain_epoch}, patience 3)")


def test_ctrl_c_while_drawing_keeps_the_trained_run_and_says_so(cli, tmp_path, monkeypatch):
    from gradlab import runner

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "make_plots", interrupted)
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--set", "training.epochs=20")
    assert result.code == 130
    assert "interrupted while drawing the plots (completed 20 epochs; model and metrics saved)" in result.out
    s = summary(run)
    assert s["status"] == "interrupted" and s["epochs"] == 20 and s["plots"] == []
    assert s["final"]["train_loss"] == float(metrics(run)[-1]["train_loss"])
    assert (run / "model.npz").exists()


def test_a_network_too_large_for_memory_is_refused_before_anything_is_allocated(cli, tmp_path):
    # 2 -> 1e9 -> 1: 4e9 parameters, about 4 x 3e9 x 8 bytes for weights, gradients and optimizer state
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--set", "model.hidden=[1000000000]")
    assert result.code == 2 and result.err.count("\n") == 1 and run is None
    assert result.err.startswith("error: --set model.hidden: a 2 -> 1000000000 -> 1 network needs about ")
    assert "GiB to train (4e+09 parameters, 150 rows at a time), more than this machine's" in result.err


def test_a_plot_with_nothing_to_draw_says_so_instead_of_warning(cli, tmp_path):
    # sine with 2 samples: one training row, whose R^2 is undefined (its target does not vary)
    config = write(tmp_path, "s2.yaml", "data: {name: sine, n_samples: 2}\nmodel: {hidden: [4]}\n"
                                        "training: {epochs: 2}\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's 'No artists with labels found to put in legend'
        result, run = train(cli, tmp_path, config)
    assert result.code == 0, result.text
    assert (run / "r2.png").exists() and (run / "loss.png").exists()
    assert all(r["train_r2"] == "" or r["train_r2"] == "nan" for r in metrics(run))


def test_a_train_whose_reader_leaves_ends_interrupted_not_failed(tmp_path):
    """`gradlab train ... | head -1`: the run stops as on Ctrl-C, keeps what it did, exits 141."""
    import subprocess
    import sys

    from tests.conftest import subprocess_env

    proc = subprocess.Popen([sys.executable, "-m", "gradlab", "train", str(CONFIGS / "xor.yaml"), "--no-plot",
                             "--set", "training.epochs=1000000", "--out", str(tmp_path / "runs")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env())
    while b"train loss" not in proc.stdout.readline():  # the header box, then the table's first line
        pass
    assert proc.stdout.readline().split()[0] == b"0"  # epoch 0: training has begun
    proc.stdout.close()  # the reader leaves while the network trains
    stderr = proc.stderr.read()
    assert (proc.wait(timeout=60), stderr) == (141, b"")
    run = run_dirs(tmp_path / "runs")[0]
    done = json.loads((run / "summary.json").read_text())
    assert done["status"] == "interrupted" and "error" not in done  # it was "failed", "SystemExit: 1"
    assert 0 < done["epochs"] < 1_000_000 and done["stop_reason"] == f"interrupted after epoch {done['epochs']}"


@pytest.mark.parametrize("command", ["train", "sweep", "landscape"])
def test_an_empty_name_is_refused_not_ignored(cli, tmp_path, command):
    extra = ["--grid", "optimizer.lr=1"] if command == "sweep" else []
    result = cli(command, CONFIGS / "xor.yaml", "--name", "", *extra)
    assert (result.code, result.err) == (2, "error: --name must be 1-64 letters, digits, '_', '.' or '-' (starting "
                                            "with a letter or digit), got ''\n")
    assert not (tmp_path / "runs").exists()


NO_SPACE = "No space left on device"


def _disk_fills(monkeypatch, writes_allowed, name=".summary.json."):
    """Let the first ``writes_allowed`` files whose name starts with ``name`` be written, then fail
    the next ones part way with ENOSPC, as a disk that fills up does."""
    import builtins
    import errno

    from gradlab.runs import files

    opened = []

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def write(self, text):
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, NO_SPACE)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def __getattr__(self, attr):
            return getattr(self.handle, attr)

    def fake_open(file, mode="r", *args, **kwargs):
        handle = builtins.open(file, mode, *args, **kwargs)
        if "w" in mode and str(file).rsplit("/", 1)[-1].startswith(name):
            opened.append(file)
            if len(opened) > writes_allowed:
                return Full(handle)
        return handle

    monkeypatch.setattr(files, "open", fake_open, raising=False)  # where atomic_file and MetricsLog open files
    return opened


def test_a_full_disk_at_the_end_is_reported_with_the_file_and_leaves_no_temp_file(cli, tmp_path, monkeypatch):
    opened = _disk_fills(monkeypatch, writes_allowed=1)  # the 'running' summary fits, the final one does not
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot", "-q")
    assert len(opened) == 2
    assert result.code == 1
    assert result.err == f"error: cannot write {run / 'summary.json'}: {NO_SPACE}\n"
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]
    assert summary(run)["status"] == "running"  # the last summary that was written whole


def test_a_full_disk_at_the_start_leaves_no_run_directory(cli, tmp_path, monkeypatch):
    _disk_fills(monkeypatch, writes_allowed=0)
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot", "-q")
    assert result.code == 1 and result.out == ""
    assert re.fullmatch(rf"error: cannot write {tmp_path}/out/\S+-train-xor-\w{{6}}/summary.json: {NO_SPACE}\n",
                        result.err), result.err
    assert run is None


def test_a_full_disk_while_training_fails_the_run_with_the_file_named(cli, tmp_path, monkeypatch):
    _disk_fills(monkeypatch, writes_allowed=0, name="metrics.csv")
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot", "-q")
    assert result.code == 1
    assert result.err == f"error: cannot write {run / 'metrics.csv'}: {NO_SPACE}\n"
    assert summary(run)["status"] == "failed"
    assert summary(run)["error"] == f"RunFailure: cannot write {run / 'metrics.csv'}: {NO_SPACE}"


def test_a_full_disk_while_saving_the_model_fails_the_run(cli, tmp_path, monkeypatch):
    import errno

    from gradlab import runner

    def savez(*args, **kwargs):
        raise OSError(errno.ENOSPC, NO_SPACE)

    monkeypatch.setattr(runner.np, "savez", savez)
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot", "-q")
    assert result.code == 1
    assert result.err == f"error: cannot write {run}: {NO_SPACE}\n"
    assert summary(run)["status"] == "failed" and summary(run)["error"] == f"cannot write {run}: {NO_SPACE}"


def test_huge_finite_weights_draw_their_decision_regions_without_warnings(cli, tmp_path):
    # weights of 1e160 overflow on the plot's grid; the forward pass there raised RuntimeWarnings
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--set", "model.activation=relu",
                        "--set", "model.init={name: normal, std: 1e160}")
    assert result.code == 0 and result.err == "", result.err
    assert summary(run)["status"] == "diverged" and (run / "decision_boundary.png").exists()
    result = cli("explain", CONFIGS / "xor.yaml", "--batch", "--set", "model.activation=relu",
                 "--set", "model.init={name: normal, std: 1e160}")
    assert result.code == 0 and result.err == "", result.err


DEAD_RELU = """
data: {name: xor, n_samples: 40, test_fraction: 0}
model:
  hidden: [4]
  activation: relu
  output: sigmoid
  init:
    name: explicit
    layers:
      - W: [[0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0]]
        b: [1.0, -1.0, 1.0, 1.0]     # units 1, 3, 4: z = 1 on every sample, alive; unit 2: z = -1, dead
      - W: [[0.5], [0.5], [0.5], [0.5]]
        b: [0.0]
loss: bce
optimizer: {name: sgd, lr: 0.01}
training: {epochs: 2, batch_size: full, log_every: 1}
"""


def test_a_relu_unit_that_no_sample_activates_is_counted_dead_and_named(cli, tmp_path):
    # unit 2's z = -1 for every sample, so a = 0, its dW and db are 0 and it stays dead: 1 of 4 units
    config = tmp_path / "dead.yaml"
    config.write_text(DEAD_RELU)
    result, run = train(cli, tmp_path, config, "--no-plot")
    assert result.code == 0, result.err
    assert [row["dead_1"] for row in metrics(run)] == ["0.25", "0.25", "0.25"]
    assert "dead_2" not in metrics(run)[0]  # the sigmoid output has no dead units to count
    assert "ReLU units are dead" not in result.text  # the warning starts at half the layer
    # with units 3 and 4 dead too (b = -1), 75%: the warning names the layer and the share
    config.write_text(DEAD_RELU.replace("b: [1.0, -1.0, 1.0, 1.0]", "b: [1.0, -1.0, -1.0, -1.0]"))
    result, run = train(cli, tmp_path, config, "--no-plot")
    assert [row["dead_1"] for row in metrics(run)] == ["0.75", "0.75", "0.75"]
    # dead on all 40 training samples, the set the diagnostics measure (it said "on the batch", a minibatch it is not)
    assert ("epoch 0: layer 1: 75% of its ReLU units are dead (never active on any of the 40 training samples)"
            in " ".join(result.err.split()))
    assert "warning" not in result.out  # stdout is the epoch table a script reads


def test_the_dead_unit_warning_names_the_first_samples_of_a_larger_set(cli, tmp_path, monkeypatch):
    # the diagnostics see the first DIAGNOSTIC_SAMPLES rows only: here 16 of the 40
    from gradlab import training

    monkeypatch.setattr(training, "DIAGNOSTIC_SAMPLES", 16)
    config = tmp_path / "dead.yaml"
    config.write_text(DEAD_RELU.replace("b: [1.0, -1.0, 1.0, 1.0]", "b: [1.0, -1.0, -1.0, -1.0]"))
    result, _ = train(cli, tmp_path, config, "--no-plot")
    assert ("epoch 0: layer 1: 75% of its ReLU units are dead (never active on any of the first 16 training "
            "samples)" in result.text)


def test_the_readme_says_on_how_many_samples_the_diagnostics_are_measured(cli, tmp_path):
    """|grad| comes from the first DIAGNOSTIC_SAMPLES training rows; the README quotes the constant and an example
    where it differs from explain --batch's gradient over all 6000 training rows."""
    from gradlab.cli.common import fmt
    from gradlab.training import DIAGNOSTIC_SAMPLES
    from tests.conftest import REPO

    readme = " ".join((REPO / "README.md").read_text().split())
    assert (f"are measured on the first {DIAGNOSTIC_SAMPLES} training samples only (`DIAGNOSTIC_SAMPLES` in "
            "`gradlab/training.py`)") in readme
    big = ("--set", "data.n_samples=8000")
    result = cli("train", CONFIGS / "cat_dog.yaml", *big, "--set", "training.epochs=1", "--no-plot", "-q",
                 "--out", tmp_path / "o")
    assert result.code == 0, result.err
    (run,) = run_dirs(tmp_path / "o")
    with (run / "metrics.csv").open() as handle:
        logged = float(next(csv.DictReader(handle))["grad_norm"])
    explained = cli("explain", CONFIGS / "cat_dog.yaml", *big, "--batch", "--json")
    d = json.loads(explained.out)
    full = float(np.linalg.norm(d["layers"][0]["dW"]))
    assert d["n_train"] == 6000
    assert (fmt(logged, 4), fmt(full, 4)) == ("0.1548", "0.1541")
    assert ("logs |dC/dW| = 0.1548 at epoch 0, where explain's full-batch dC/dW has norm 0.1541") in readme


def test_an_empty_npz_data_file_is_bad_input_not_an_interruption(cli, tmp_path):
    # np.load raises EOFError on a 0-byte file; Typer turned it into Abort, which gradlab read as
    # Ctrl-C: "interrupted", exit 130
    (tmp_path / "empty.npz").write_bytes(b"")
    config = tmp_path / "c.yaml"
    config.write_text("data: {name: npz, path: empty.npz}\ntraining: {epochs: 1}\n")
    result, run = train(cli, tmp_path, config, "--no-plot")
    assert (result.code, run) == (2, None)
    assert result.err.strip().endswith("is empty, not an .npz archive (numpy.savez writes one)"), result.err
    assert "interrupted" not in result.err


def test_an_unexpected_eof_error_is_an_internal_error_not_ctrl_c(cli, tmp_path, monkeypatch):
    # anything else that raises EOFError is a bug to report (exit 1), not the user's Ctrl-C (exit 130)
    from gradlab import experiment

    def broken(*args, **kwargs):
        raise EOFError("No data left in file")

    monkeypatch.setattr(experiment, "load_experiment", broken)
    result, _ = train(cli, tmp_path, CONFIGS / "xor.yaml", "--no-plot")
    assert result.code == 1
    assert "error: internal error: EOFError: No data left in file (re-run with --debug for the traceback)" in result.err


def test_data_too_large_to_draw_train_without_a_decision_boundary_picture(cli, tmp_path):
    # blobs of radius 1e308 lie within float64 (up to 1e308 from the origin), but the plot's box plus margin
    # does not: matplotlib raised OverflowError, an internal error after training had finished
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--set", "data={name: blobs, radius: 1e308}",
                        "--set", "training.epochs=1")
    assert result.code == 0, result.err
    assert summary(run)["status"] == "completed"
    assert (run / "loss.png").exists() and not (run / "decision_boundary.png").exists()


def test_a_float32_run_draws_its_decision_boundary(cli, tmp_path):
    # comparing float32 data with the Python float 1e300 cast 1e300 to float32 (NumPy 2): an overflow warning,
    # an internal error under -W error, after training
    result, run = train(cli, tmp_path, CONFIGS / "xor.yaml", "--set", "model.dtype=float32", "--set", "training.epochs=2")
    assert result.code == 0 and result.err == "", result.err
    assert (run / "decision_boundary.png").exists()


def test_a_cg_run_that_turns_nan_between_logged_iterations_is_diverged(cli, tmp_path):
    # l1 = 1e300 sends cg's first iteration to nan; with log_every 5 that iteration was not logged, and the
    # final row, added after scipy returned, skipped the divergence check: status completed with loss nan
    config = tmp_path / "cg.yaml"
    config.write_text("data: {name: inline, X: [[1.61], [0.38]], y: [0, 1], test_fraction: 0}\n"
                      "model: {hidden: [2], activation: relu, output: sigmoid, dtype: float32}\n"
                      "loss: bce_logits\noptimizer: {name: cg}\n"
                      "training: {epochs: 2, batch_size: full, l1: 1.0e+300, log_every: 5}\n")
    result, run = train(cli, tmp_path, config, "--no-plot")
    assert result.code == 0, result.err
    assert (summary(run)["status"], summary(run)["stop_reason"]) == (
        "diverged", "diverged at epoch 1: the loss or the parameters became non-finite")


@pytest.mark.parametrize(("dtype", "eps", "message"), [
    ("float32", "1e-300", "error: --set optimizer.eps: adam eps = 1e-300 is too small for float32: its v under the "
                          "square root underflows for gradients below 1.18e-21, which then step by lr |g| / eps, more "
                          "than lr; use eps >= 1.19e-21 or model.dtype: float64"),
    ("float64", "1e-320", "error: --set optimizer.eps: adam eps = 1e-320 is too small for float64: its v under the "
                          "square root underflows for gradients below 7.03e-161, which then step by lr |g| / eps, more "
                          "than lr; use eps >= 7.03e-161"),
])
def test_an_eps_the_dtype_cannot_keep_above_the_root_is_refused(cli, tmp_path, dtype, eps, message):
    # float32 Adam with eps = 1e-300 trained spiral_relu until epoch 106, when a gradient of 4.5e-23 after a
    # dead spell (v = 0.001 g^2 = 0 in float32) stepped its weight by 4.5e-24 / 1.4e-45 lr = 3e21 lr: "diverged
    # ... the learning rate 0.01 is probably too large". eps = 1e-37, above float32's tiny, still stepped a
    # weight to 4.5e11; cat_dog, never that close to a zero gradient, completed
    config = tmp_path / "cat_dog.yaml"
    config.write_text((CONFIGS / "cat_dog.yaml").read_text())
    result, run = train(cli, tmp_path, config, "--set", f"model.dtype={dtype}", "--set", "optimizer.name=adam",
                        "--set", f"optimizer.eps={eps}")
    assert result.code == 2, result.text
    assert result.err == message + "\n" and result.out == ""
    assert run is None and not (tmp_path / "out").exists()


def test_an_eps_at_the_dtypes_bound_trains(cli, tmp_path):
    config = tmp_path / "cat_dog.yaml"
    config.write_text((CONFIGS / "cat_dog.yaml").read_text())
    result, run = train(cli, tmp_path, config, "--set", "model.dtype=float32", "--set", "optimizer.name=adam",
                        "--set", "optimizer.eps=1.2e-21", "--set", "training.epochs=2", "--no-plot", "-q")
    assert result.code == 0, result.text
    assert summary(run)["status"] == "completed"


def test_a_column_beyond_2_to_the_1023_standardises_and_trains(cli, tmp_path):
    # 8.99e307 >= 2**1023: standardising divided by 2**1024, which is inf ('overflow in ldexp', exit 1;
    # without -W error the losses were NaN and the run 'diverged before the first update')
    write(tmp_path, "huge.csv", "a,b,target\n1,2,0\n3,8.99e307,1\n2,2,0\n4,1,1\n5,3,1\n1,1,0\n")
    config = write(tmp_path, "c.yaml", "data: {name: csv, path: huge.csv, standardize: true, test_fraction: 0}\n"
                                       "model: {hidden: []}\nloss: bce\ntraining: {epochs: 3}\n")
    result, run = train(cli, tmp_path, config, "--no-plot")
    assert result.code == 0, result.text
    assert summary(run)["status"] == "completed"
    assert all(np.isfinite(float(row["train_loss"])) for row in metrics(run))
    data = json.loads((run / "data.json").read_text())
    assert data["std"][1] == pytest.approx(8.99e307 / 6 * np.sqrt(5))  # one value of 8.99e307 among six rows


def test_a_diverged_rows_accuracy_is_no_best(cli, tmp_path):
    # weights at 2.9e304 classified every test sample right by chance: best_test_accuracy 1.0 beside best_epoch 0
    result, run = train(cli, tmp_path, CONFIGS / "cat_dog.yaml", "--no-plot", "--set", "optimizer.lr=1e305",
                        "--set", "loss=bce_logits", "--set", "model.output=identity")
    rows = metrics(run)
    s = json.loads((run / "summary.json").read_text())
    assert s["status"] == "diverged" and len(rows) == 2
    assert s["best_test_accuracy"] == float(rows[0]["test_accuracy"]) and s["best_epoch"] == 0


def test_a_test_loss_never_measured_is_null_in_the_summary(cli, tmp_path):
    # without a test split 'test_loss' was missing from summary.json's final, where test_accuracy was null
    result, run = train(cli, tmp_path, CONFIGS / "saturation_mse.yaml", "--no-plot", "--set", "training.epochs=2")
    final = json.loads((run / "summary.json").read_text())["final"]
    assert final["test_loss"] is None and final["test_accuracy"] is None
    assert metrics(run)[-1]["test_loss"] == ""


@pytest.mark.parametrize(("content", "said"), [
    # np.load takes whatever is neither a zip nor an .npy for a pickle, and said so: "This file contains
    # pickled (object) data. If you trust the file you can load it unsafely ..."
    (b"x", "is not an .npz archive (numpy.savez writes one, a zip of .npy files)"),
    (b"x1,y\n1,0\n", "is not an .npz archive (numpy.savez writes one, a zip of .npy files)"),
    (b"PK", "is not an .npz archive (numpy.savez writes one, a zip of .npy files)"),  # np.load wants PK\x03\x04
    (None, "holds a single array (.npy); save X and y with numpy.savez"),
])
def test_a_data_file_that_is_no_npz_archive_is_named_for_what_it_is(cli, tmp_path, content, said):
    path = tmp_path / "data.npz"
    if content is None:
        with path.open("wb") as handle:
            np.save(handle, np.zeros(3))
    else:
        path.write_bytes(content)
    config = tmp_path / "c.yaml"
    config.write_text("data: {name: npz, path: data.npz}\ntraining: {epochs: 1}\n")
    result, run = train(cli, tmp_path, config, "--no-plot")
    assert (result.code, run) == (2, None)
    assert result.err == f"error: data.path: '{path}' {said}\n", result.err


def test_a_zip_whose_members_are_no_npy_arrays_is_refused_by_name(cli, tmp_path):
    # NumPy returns such a member's raw bytes: 'internal error: AttributeError: 'bytes' object has no attribute 'dtype''
    import zipfile

    with zipfile.ZipFile(tmp_path / "data.npz", "w") as archive:
        archive.writestr("X.npy", "1,2\n3,4\n")
        archive.writestr("y.npy", "0\n1\n")
    config = tmp_path / "c.yaml"
    config.write_text("data: {name: npz, path: data.npz}\ntraining: {epochs: 1}\n")
    result, run = train(cli, tmp_path, config, "--no-plot")
    assert (result.code, run) == (2, None)
    assert result.err == f"error: data.x_key: 'X' in '{tmp_path / 'data.npz'}' is not an .npy array (numpy.savez writes them)\n"


def test_a_semicolon_file_with_decimal_commas_gets_the_delimiter_hint(cli, tmp_path):
    # read at ',', the header 'a;b;target' is one column and '0,126;-0,132;cat' three values: the row
    # length was refused without the hint a plain ';' file gets
    path = tmp_path / "comma_decimals.csv"
    path.write_text("a;b;target\n0,126;-0,132;cat\n0,5;0,25;dog\n")
    (tmp_path / "c.yaml").write_text("data: {name: csv, path: comma_decimals.csv}\ntraining: {epochs: 1}\n")
    result = cli("train", tmp_path / "c.yaml", "--no-plot", "-q")
    assert (result.code, result.err) == (2, f"error: data.path: '{path.resolve()}' line 2 has 3 values but the header "
                                            f"has 1 columns (one column: the file seems to be separated by ';', not "
                                            f"','; see data.delimiter)\n")
    assert run_dirs(tmp_path / "runs") == []


def test_the_penalty_row_names_only_the_terms_set(cli, tmp_path):
    # with l1 alone it read 'R = sum over W of l2/2 ||W||^2 + l1 |W|_1 (l1 = 0.01; ...)', an l2 term never valued
    config = write(tmp_path, "l1.yaml", "data: {name: moons, n_samples: 40}\nloss: mse\nmodel: {hidden: [3]}\n"
                                       "training: {epochs: 1, l1: 0.01}\n")
    result = cli("train", config, "--no-plot", "--out", tmp_path / "runs")
    assert result.code == 0, result.err
    assert "R = sum over W of l1 |W|_1 (l1 = 0.01; biases not penalised)" in " ".join(
        result.out.replace("│", " ").split())
