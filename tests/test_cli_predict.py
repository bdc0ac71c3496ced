"""gradlab predict / evaluate: a trained run applied to new CSV data, with its standardisation."""

import csv
import json
import os
import re

import numpy as np
import pytest

from gradlab import datasets
from tests.conftest import CONFIGS, run_dirs


@pytest.fixture
def trained(cli, tmp_path):
    result = cli("train", CONFIGS / "cat_dog.yaml", "--out", tmp_path / "runs", "--no-plot", "-q")
    assert result.code == 0
    return run_dirs(tmp_path / "runs")[0]


@pytest.fixture
def animals(tmp_path):
    return _animals_csv(tmp_path / "animals.csv", 60)


def _animals_csv(path, n_samples):
    """``n_samples`` made-up cats and dogs (seed 11) written to ``path``, their class in column ``label``."""
    d = datasets.load({"name": "cat_dog", "n_samples": n_samples}, seed=11)
    X, y = np.vstack([d.X_train, d.X_test]), np.concatenate([d.y_train, d.y_test])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*d.feature_names, "label"])
        for row, label in zip(X, y):
            writer.writerow([*row, d.class_names[label]])
    return path, X, y, d.class_names


def test_predict_writes_classes_and_scores(cli, trained, animals):
    path, X, y, names = animals
    result = cli("predict", trained, path)
    assert result.code == 0, result.err
    rows = list(csv.DictReader((path.parent / "animals_predictions.csv").open()))
    assert len(rows) == len(X)
    assert set(rows[0]) == {"weight_kg", "snout_length_cm", "predicted", "score_dog"}
    predicted = np.array([names.index(r["predicted"]) for r in rows])
    assert np.mean(predicted == y) >= 0.95
    # scores are the sigmoid outputs of the standardised inputs: recompute them by hand
    model = np.load(trained / "model.npz")
    import json
    info = json.loads((trained / "data.json").read_text())
    z = ((X - info["mean"]) / info["std"]) @ model["W1"] + model["b1"]
    np.testing.assert_allclose([float(r["score_dog"]) for r in rows], 1 / (1 + np.exp(-z[:, 0])), rtol=1e-12)


def test_evaluate_reports_loss_and_accuracy(cli, trained, animals):
    path, *_ = animals
    result = cli("evaluate", trained, path, "--target", "label")
    assert result.code == 0, result.err
    assert "accuracy" in result.out and "loss (mse)" in result.out


def test_evaluate_runs_the_network_once_over_the_data_with_the_numbers_of_before(trained, tmp_path, monkeypatch):
    # evaluate ran a forward pass over all rows to refuse overflow, then training's chunked evaluate ran
    # another: 4 calls over 10000 rows for these 5000. The loss and accuracy must stay bit for bit
    # those of training's evaluate on the same inputs (EVAL_CHUNK-row chunks, a weighted mean).
    from gradlab.datasets import encode_labels, to_targets
    from gradlab.engine.network import Network
    from gradlab.inference import evaluate, load_model, read_features
    from gradlab.training import EVAL_CHUNK, evaluate as evaluate_network

    path, *_ = _animals_csv(tmp_path / "many.csv", 5000)
    model = load_model(trained)
    X, labels = read_features(model, path, target="label")
    indices, _ = encode_labels(labels, model.class_names, "target")
    Y = to_targets(indices, model.task, 2, one_hot=False).astype(model.network.dtype)
    expected = evaluate_network(model.network, model.loss, model.inputs(X), Y, model.task)
    forwarded = []
    forward = Network.forward
    monkeypatch.setattr(Network, "forward", lambda network, X: forwarded.append(len(X)) or forward(network, X))
    result = evaluate(model, X, labels)
    assert forwarded == [EVAL_CHUNK, EVAL_CHUNK, 5000 - 2 * EVAL_CHUNK]
    assert result == expected  # bit for bit
    # what the old path printed (a full pass, then training's evaluate): 0.004910106144925259 and 0.9894 here;
    # a relative 1e-12 leaves room for another BLAS's last bits in the 60 epochs of training
    assert result == pytest.approx({"loss": 0.004910106144925259, "accuracy": 0.9894}, rel=1e-12, abs=0)


def test_predict_goes_through_the_network_in_chunks_with_the_outputs_of_one_pass(trained, tmp_path, monkeypatch):
    # one forward pass over all rows kept every hidden layer's activations of the whole file in memory
    # (0.9 GB for 100,000 rows through 2-256-256-3); chunks of EVAL_CHUNK rows hold a chunk's
    from gradlab.engine.network import Network
    from gradlab.inference import load_model, predict, read_features
    from gradlab.training import EVAL_CHUNK

    path, *_ = _animals_csv(tmp_path / "many.csv", 5000)
    model = load_model(trained)
    X, _ = read_features(model, path, target="label")
    whole = model.network.predict(model.inputs(X))
    forwarded = []
    forward = Network.forward
    monkeypatch.setattr(Network, "forward", lambda network, X: forwarded.append(len(X)) or forward(network, X))
    columns = predict(model, X)
    assert forwarded == [EVAL_CHUNK, EVAL_CHUNK, 5000 - 2 * EVAL_CHUNK]
    np.testing.assert_allclose(columns["score_dog"], whole[:, 0], rtol=1e-15, atol=0)
    assert columns["score_dog"][[0, 2500, 4999]].tolist() == pytest.approx([0.99538, 0.0014864, 0.0074870], rel=1e-4)


def test_rows_that_overflow_in_any_chunk_are_all_named(cli, trained, tmp_path):
    # evaluation goes through the data in chunks of EVAL_CHUNK rows; a row overflowing in the first chunk
    # must not hide one in the third
    path, *_ = _animals_csv(tmp_path / "many.csv", 5000)
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = "-1e308,1e308,cat\n"
    lines[4501] = "1e308,-1e308,dog\n"
    path.write_text("".join(lines))
    result = cli("evaluate", trained, path, "--target", "label")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err.startswith("error: data rows 2, 4501: the network's output is not finite (feature values "
                                 "up to 1e+308")


def test_evaluate_errors(cli, trained, animals, tmp_path):
    path, *_ = animals
    assert cli("evaluate", trained, path, "--target", "nope").code == 2
    assert cli("predict", tmp_path / "not_a_run", path).code == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("weight_kg,other\n1,2\n")
    result = cli("predict", trained, bad)
    assert result.code == 2 and "snout_length_cm" in result.err


def test_the_readme_example_on_the_shipped_animals(cli, trained, tmp_path):
    # README: 50 animals, predicted cat 25, dog 25; evaluate: loss 0.00149713, accuracy 1
    animals = CONFIGS / "animals.csv"
    result = cli("predict", trained, animals, "-o", tmp_path / "predictions.csv")
    assert result.code == 0, result.err
    assert "50 predictions from" in result.out and "predicted classes: cat 25, dog 25" in result.out
    result = cli("evaluate", trained, animals, "--target", "target")
    assert result.code == 0, result.err
    assert "0.00149713" in result.out and "│ accuracy   │          1 │" in result.out


@pytest.mark.parametrize(("output", "message"), [
    ("", "is a directory; name a .csv file in it"),
    ("nowhere/p.csv", "does not exist"),
    ("p.txt", "--output must name a .csv file"),
    ("animals.csv/p.csv", "animals.csv' is a file, not a directory"),  # was "directory ... does not exist"
])
def test_an_output_that_cannot_be_written_is_exit_2_before_any_work(cli, trained, animals, tmp_path, output,
                                                                    message):
    path, *_ = animals
    target = tmp_path / "out.csv" if output == "" else tmp_path / output
    if output == "":
        target.mkdir()
    result = cli("predict", trained, path, "-o", target)
    assert result.code == 2 and result.err.count("\n") == 1
    assert message in result.err
    assert not (path.parent / "animals_predictions.csv").exists()


def test_a_diverged_run_is_refused_by_predict_and_evaluate(cli, trained, animals):
    path, *_ = animals
    with np.load(trained / "model.npz") as saved:
        weights = dict(saved)
    weights["W1"][0, 0] = np.nan
    np.savez(trained / "model.npz", **weights)
    for command in (("predict", trained, path), ("evaluate", trained, path, "--target", "label")):
        result = cli(*command)
        assert result.code == 2 and result.err.count("\n") == 1
        assert "the run's final weights are not finite (W1 holds nan)" in result.err
    assert not (path.parent / "animals_predictions.csv").exists()


def _edit_data_info(run, **fields):
    import json

    info = json.loads((run / "data.json").read_text())
    (run / "data.json").write_text(json.dumps({**info, **fields}))


@pytest.mark.parametrize(("damage", "message"), [
    (lambda run: (run / "model.npz").write_text("not a zip"), "is not an .npz file"),
    (lambda run: np.savez(run / "model.npz", W1=np.ones((2, 1))), "model.npz: b1 is missing"),
    (lambda run: np.savez(run / "model.npz", W1=np.ones((3, 1)), b1=np.ones(1)),
     "model.npz: layer widths [3, 1] do not fit the run: config.yaml has hidden layers [], data.json 2 features"),
    (lambda run: np.savez(run / "model.npz", W1=np.ones((2, 1)), b1=np.ones(2)),
     "W1 of shape (2, 1) and b1 of shape (2,) do not make a layer with 2 inputs"),
    (lambda run: np.savez(run / "model.npz", W1=np.ones((2, 1), dtype=int), b1=np.ones(1, dtype=int)),
     "W1 and b1 must hold floats of one dtype, got int64 and int64"),
    (lambda run: np.savez(run / "model.npz", W1=np.ones((2, 1), dtype=np.float16), b1=np.ones(1, dtype=np.float16)),
     "model.npz: W1 and b1 hold float16, but model.dtype in the run's config.yaml is float64; training saves the "
     "weights in the dtype it trained in"),
    (lambda run: np.savez(run / "model.npz", W1=np.ones((2, 1), dtype=np.float32), b1=np.ones(1, dtype=np.float32)),
     "model.npz: W1 and b1 hold float32, but model.dtype in the run's config.yaml is float64"),
    (lambda run: (run / "data.json").write_text("{"), "data.json is unreadable: Expecting property name"),
    (lambda run: (run / "data.json").write_text('{"a":' * 100000 + "1" + "}" * 100000),
     "data.json is unreadable: its JSON is nested too deeply to parse"),
    (lambda run: (run / "data.json").write_text('{"n_train": ' + "1" * 5000 + "}"),  # json.loads: ValueError
     "data.json is unreadable: Exceeds the limit (4300 digits) for integer string conversion"),
    (lambda run: (run / "data.json").write_text('{"task": "binary"}'), "data.json: feature_names"),
    (lambda run: (run / "data.json").write_text(
        '{"task": "binary", "feature_names": ["a", "b"], "class_names": ["x", "y"], "std": [1, 0]}'),
     "data.json: std must hold finite values > 0, got [1.0, 0.0]"),
    (lambda run: _edit_data_info(run, mean=[True, 1.0]),  # true was read as 1: every prediction moved
     "data.json: mean[0]: input should be a number, not true or false (got true)"),
    (lambda run: (run / "data.json").write_text(
        '{"task": "binary", "feature_names": ["a", "b"], "class_names": ["x", "y"], "mean": [0, NaN]}'),
     "data.json: mean[1]: input should be a finite number"),
    (lambda run: (run / "config.yaml").write_text("data: cat_dog\nloss: nope\n"), "config.yaml: loss"),
    (lambda run: _edit_data_info(run, feature_names=["a", "a"]), "data.json: feature_names holds 'a' twice"),
    (lambda run: _edit_data_info(run, class_names=["cat", "cat"]), "data.json: class_names holds 'cat' twice"),
    (lambda run: _edit_data_info(run, class_names=["cat", "dog", "fox"]),
     "data.json: a binary run needs exactly two class_names, got ['cat', 'dog', 'fox']"),
    (lambda run: _edit_data_info(run, task="multiclass"),
     "data.json: a multiclass run needs at least three class_names, got ['cat', 'dog']"),
    (lambda run: _edit_data_info(run, task="regression"),
     "data.json: a regression run has no class_names, got ['cat', 'dog'] (a classifier marked regression?)"),
    (lambda run: _edit_data_info(run, task="regression", class_names=None, target_names=["y", "z"]),
     "model.npz: layer widths [2, 1] do not fit the run: config.yaml has hidden layers [], data.json 2 features "
     "and 2 targets (1 outputs, task regression)"),
    (lambda run: _edit_data_info(run, n_outputs=2),
     "model.npz: layer widths [2, 1] do not fit the run: config.yaml has hidden layers [], data.json 2 features "
     "and 2 classes (2 outputs, task binary)"),
], ids=["not-npz", "no-b1", "widths", "b1-shape", "int-weights", "float16-weights", "float32-weights", "bad-json", "deep-json", "long-int-json", "no-features", "zero-std", "boolean-mean", "nan-mean", "bad-loss",
        "twice-feature", "twice-class", "three-binary-classes", "two-multiclass-classes", "regression-classifier",
        "regression-targets", "n-outputs"])
def test_a_damaged_run_is_exit_2_naming_the_file(cli, trained, animals, damage, message):
    path, *_ = animals
    damage(trained)
    result = cli("predict", trained, path)
    assert result.code == 2, result.err
    assert message in result.err and "internal error" not in result.err
    assert result.err.startswith(f"error: {trained}") and result.err.count("\n") == 1
    assert not (path.parent / "animals_predictions.csv").exists()


def test_predict_refuses_to_write_over_its_input(cli, trained, animals):
    path, *_ = animals
    before = path.read_text()
    result = cli("predict", trained, path, "-o", path)
    assert result.code == 2 and result.err == (f"error: --output: {str(path)!r} is the input data file; writing "
                                               f"there would overwrite the data file, so name another file\n")
    assert path.read_text() == before


def test_rows_that_overflow_the_network_are_named(cli, trained, tmp_path):
    data = tmp_path / "huge.csv"
    data.write_text("weight_kg,snout_length_cm,target\n10,4,dog\n-1e308,1e308,cat\n")
    for command in (("predict", trained, data), ("evaluate", trained, data)):
        result = cli(*command)
        assert result.code == 2 and result.err.count("\n") == 1
        assert "data row 2: the network's output is not finite (feature values up to 1e+308" in result.err


@pytest.mark.parametrize("standardize", [False, True])
def test_values_beyond_float32_are_named_by_predict_and_evaluate_of_a_float32_run(cli, tmp_path, standardize):
    # predict cast 1e39 to float32 outside evaluate's errstate: 'internal error: RuntimeWarning: overflow
    # encountered in cast', exit 1
    result = cli("train", CONFIGS / "cat_dog.yaml", "--out", tmp_path / "runs", "--no-plot", "-q",
                 "--set", "model.dtype=float32", "--set", f"data.standardize={str(standardize).lower()}")
    assert result.code == 0, result.err
    run = run_dirs(tmp_path / "runs")[0]
    data = tmp_path / "huge.csv"
    data.write_text("weight_kg,snout_length_cm,target\n10,4,dog\n3,1e39,cat\n-1e40,2,cat\n")
    scaled = " \\(standardised with the training mean \\S+ and std \\S+\\)" if standardize else ""
    for command in (("predict", run, data), ("evaluate", run, data)):
        result = cli(*command)
        assert result.code == 2 and result.err.count("\n") == 1, result.err
        assert re.fullmatch(f"error: data rows 2, 3: feature 'snout_length_cm' = 1e\\+39{scaled} is beyond the range of "
                            r"float32 \(at most 3.403e\+38 in size\), the dtype the run was trained in; check the units "
                            r"of those rows\n", result.err), result.err


def test_a_label_beyond_float32_is_named_by_evaluate_of_a_float32_regression_run(cli, tmp_path):
    # the label was cast to inf: "loss (mse) inf" and "R^2 undefined (the targets are all equal)"
    (tmp_path / "reg.csv").write_text("a,b,target\n" + "".join(f"{i},{2 * i},{i % 3 + 0.5}\n" for i in range(20)))
    (tmp_path / "c.yaml").write_text("data: {name: csv, path: reg.csv, target: target}\nmodel: {dtype: float32, "
                                     "output: identity}\nloss: mse\ntraining: {epochs: 1}\n")
    assert cli("train", tmp_path / "c.yaml", "--no-plot", "-q", "--out", tmp_path / "runs").code == 0
    run = run_dirs(tmp_path / "runs")[0]
    (tmp_path / "new.csv").write_text("a,b,target\n0,0,0\n1,2,1e39\n2,4,1\n")
    result = cli("evaluate", run, tmp_path / "new.csv")
    assert (result.code, result.err) == (2, "error: data row 2: target 'target' = 1e+39 is beyond the range of float32 "
                                            "(at most 3.403e+38 in size), the dtype the run was trained in; check the "
                                            "units of that row\n")


def test_class_names_that_look_like_markup_are_printed_as_written(cli, trained, animals):
    # class names are the user's text: rich read '[/b]' as a closing tag (MarkupError after the file was
    # written) and '[low]' as a style (it vanished from the line)
    import json

    path, *_ = animals
    info_file = trained / "data.json"
    info = json.loads(info_file.read_text())
    info["class_names"] = ["[red]no", "[/b]"]
    info_file.write_text(json.dumps(info))
    result = cli("predict", trained, path)
    assert result.code == 0, result.text
    line = next(line for line in result.out.splitlines() if line.startswith("predicted classes: "))
    counts = dict(part.rsplit(" ", 1) for part in line.removeprefix("predicted classes: ").split(", "))
    assert set(counts) <= {"[red]no", "[/b]"} and sum(map(int, counts.values())) == 60
    rows = list(csv.DictReader((path.parent / "animals_predictions.csv").open()))
    assert {"predicted", "score_[/b]"} <= set(rows[0])


def _failing_writer(after_rows):
    """csv.writer whose rows fail with ENOSPC after ``after_rows``, as a full disk does part way."""
    import errno

    real = csv.writer

    class Writer:
        def __init__(self, handle, *args, **kwargs):
            self.handle, self.inner, self.rows = handle, real(handle, *args, **kwargs), 0

        def writerow(self, row):
            if self.rows == after_rows:
                self.handle.flush()  # what was written so far is on disk, as a real partial write leaves it
                raise OSError(errno.ENOSPC, "No space left on device")
            self.rows += 1
            return self.inner.writerow(row)

        def writerows(self, rows):
            for row in rows:
                self.writerow(row)

    return Writer


@pytest.mark.parametrize("existing", [False, True])
def test_a_failed_write_leaves_no_half_written_predictions(cli, trained, animals, monkeypatch, existing):
    path, *_ = animals
    target = path.parent / "animals_predictions.csv"
    if existing:
        target.write_text("old predictions\n")
    before = sorted(p.name for p in path.parent.iterdir())
    monkeypatch.setattr(csv, "writer", _failing_writer(after_rows=10))
    result = cli("predict", trained, path)
    assert result.code == 1 and result.out == ""
    assert result.err == f"error: cannot write {target}: No space left on device\n"
    assert sorted(p.name for p in path.parent.iterdir()) == before  # no temp file left beside it
    assert (target.read_text() == "old predictions\n") if existing else not target.exists()


@pytest.mark.parametrize("feature", ["predicted", "score_dog"])
def test_a_feature_named_like_a_prediction_column_is_refused(cli, trained, animals, feature):
    # written beside the features, the predictions silently replaced that feature's column
    import json

    path, *_ = animals
    info_file = trained / "data.json"
    info = json.loads(info_file.read_text())
    info["feature_names"][1] = feature
    info_file.write_text(json.dumps(info))
    renamed = path.with_name("renamed.csv")
    renamed.write_text(path.read_text().replace("snout_length_cm", feature, 1))
    result = cli("predict", trained, renamed)
    assert result.code == 2 and result.out == ""
    assert result.err == (f"error: {trained}/data.json: the feature {feature!r} has the name of a column predict "
                          f"writes (predicted, score_dog), so the predictions would overwrite it; rename that column "
                          f"in the training data and train again\n")
    assert not path.with_name("renamed_predictions.csv").exists()


@pytest.mark.parametrize("cell", ["4_92", "１２"])
def test_a_number_float_reads_but_a_csv_does_not_write_is_refused(cli, trained, animals, cell):
    path, *_ = animals
    lines = path.read_text().splitlines()
    lines[3] = cell + lines[3][lines[3].index(","):]
    path.write_text("\n".join(lines) + "\n")
    result = cli("predict", trained, path)
    assert result.code == 2 and result.out == ""
    assert result.err == f"error: DATA: '{path}' line 4, column 'weight_kg': '{cell}', which is not a number\n"
    assert not path.with_name("animals_predictions.csv").exists()


def test_evaluate_gives_r2_of_a_regression_run_and_says_when_it_is_undefined(cli, tmp_path):
    result = cli("train", CONFIGS / "sine_smooth_l1.yaml", "--out", tmp_path / "runs", "--no-plot", "-q",
                 "--set", "training.epochs=5")
    assert result.code == 0
    run = run_dirs(tmp_path / "runs")[0]
    (tmp_path / "c3.csv").write_text("x,y\n0.5,0.4\n1.0,0.9\n2,0.8\n")
    assert cli("predict", run, tmp_path / "c3.csv", "-o", tmp_path / "p.csv").code == 0
    with open(tmp_path / "p.csv", newline="") as handle:
        y_hat = np.array([float(row["predicted_y"]) for row in csv.DictReader(handle)])
    y = np.array([0.4, 0.9, 0.8])
    r2 = 1 - np.sum((y_hat - y) ** 2) / np.sum((y - y.mean()) ** 2)  # by hand, from predict's own numbers
    result = cli("evaluate", run, tmp_path / "c3.csv", "--target", "y")
    shown = next(line.split("│")[2] for line in result.out.splitlines() if "R^2" in line)
    assert float(shown) == float(f"{r2:.4g}")
    # the loss with the beta its value depends on, as train's panel names it (it said 'loss (smooth_l1)')
    assert "│ loss (smooth_l1(beta=0.5)) │" in " ".join(result.out.split())

    (tmp_path / "flat.csv").write_text("x,y\n0.5,0.3\n1.0,0.3\n")  # nothing to explain
    result = cli("evaluate", run, tmp_path / "flat.csv", "--target", "y")
    assert result.code == 0 and "│ R^2 │ undefined (the targets are all equal) │" in " ".join(result.out.split())
    (tmp_path / "huge.csv").write_text("x,y\n0.5,1e200\n1.0,-1e200\n")  # squares of 1e200 overflow float64
    result = cli("evaluate", run, tmp_path / "huge.csv", "--target", "y")
    assert result.code == 0 and next(line.split("│")[2] for line in result.out.splitlines() if "R^2" in line).strip() == "0"


def train_on_two_targets(cli, tmp_path, name, rows, hidden, epochs):
    """Write ``<name>.csv`` (f0, f1, t1, t2) from ``rows`` and train a tanh network on both targets (mse, adam,
    no test split); the run directory and the train command's result."""
    (tmp_path / f"{name}.csv").write_text("f0,f1,t1,t2\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))
    (tmp_path / f"{name}.yaml").write_text(
        f"data: {{name: csv, path: {name}.csv, target: [t1, t2], test_fraction: 0}}\n"
        f"model: {{hidden: [{hidden}], activation: tanh}}\nloss: mse\n"
        f"optimizer: {{name: adam, lr: 0.05}}\ntraining: {{epochs: {epochs}}}\n")
    result = cli("train", tmp_path / f"{name}.yaml", "--out", tmp_path / "runs", "--no-plot", "-q")
    assert result.code == 0, result.err
    (run,) = run_dirs(tmp_path / "runs")
    return run, result


def train_wide_and_narrow(cli, tmp_path):
    """A run trained on wide.csv: t1 = f0, of spread ~1, and t2 = 10 f0 f1, of spread ~10 (40 rows); the run
    directory and the features."""
    X = np.random.default_rng(1).normal(size=(40, 2))
    run, _ = train_on_two_targets(cli, tmp_path, "wide", [(a, b, a, 10 * a * b) for a, b in X], hidden=4, epochs=30)
    return run, X


def test_evaluate_a_run_trained_on_two_target_columns(cli, tmp_path):
    # --target took one column, so such a run could not be evaluated ('targets of shape (12, 1) do not fit
    # predictions of shape (12, 2)'); now one --target per column, and R^2 on the training rows is training's
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    run, trained = train_on_two_targets(cli, tmp_path, "mt", [(a, b, a + b, a - b) for a, b in X], hidden=3, epochs=3)
    last = list(csv.DictReader((run / "metrics.csv").open()))[-1]
    # train's result table names the R^2 as evaluate does (it said 'R^2' for the pooled value)
    assert f"│ R^2, pooled over outputs │ {float(last['train_r2']):.4g} │ - │" in " ".join(trained.out.split())
    result = cli("evaluate", run, tmp_path / "mt.csv", "--target", "t1", "--target", "t2")
    assert result.code == 0, result.err
    assert f"│ R^2, pooled over outputs │ {float(last['train_r2']):.4g} │" in " ".join(result.out.split())
    one = cli("evaluate", run, tmp_path / "mt.csv", "--target", "t1")
    assert (one.code, one.err.strip()) == (2, "error: --target: the run predicts 2 targets (t1, t2); give one "
                                               "--target per column, got 1 (t1)")
    # the same column twice scored the second output against t1 (exit 0, a wrong loss and R^2); a feature column
    # as a target was blamed on DATA ("column 'f0' is also the target")
    twice = cli("evaluate", run, tmp_path / "mt.csv", "--target", "t1", "--target", "t1")
    assert (twice.code, twice.err) == (2, "error: --target lists 't1' twice\n")
    features = cli("evaluate", run, tmp_path / "mt.csv", "--target", "f0", "--target", "f1")
    assert (features.code, features.err) == (2, "error: --target: column 'f0' is one of the run's features (f0, f1)\n")


def test_evaluate_gives_each_target_its_own_r2_beside_the_pooled_one(cli, tmp_path):
    # targets of spread ~1 and ~10: the pooled R^2 (1 - sum SSE / sum SST over both, what metrics.csv logs) leans
    # to the wide one, and was the only R^2 shown. Each target's own is checked by hand from predict's outputs.
    run, X = train_wide_and_narrow(cli, tmp_path)
    assert cli("predict", run, tmp_path / "wide.csv", "-o", tmp_path / "p.csv").code == 0
    with open(tmp_path / "p.csv", newline="") as handle:
        y_hat = np.array([[float(row["predicted_t1"]), float(row["predicted_t2"])] for row in csv.DictReader(handle)])
    y = np.column_stack([X[:, 0], 10 * X[:, 0] * X[:, 1]])
    sse, sst = np.sum((y_hat - y) ** 2, axis=0), np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    own, pooled = 1 - sse / sst, 1 - sse.sum() / sst.sum()
    assert abs(own[0] - own[1]) > 0.1  # the case in point: the two differ, and the pooled one is not their mean
    result = cli("evaluate", run, tmp_path / "wide.csv", "--target", "t1", "--target", "t2")
    assert result.code == 0, result.err
    shown = dict(line.split("│")[1:3] for line in result.out.splitlines() if line.startswith("│"))
    shown = {key.strip(): value.strip() for key, value in shown.items()}
    assert float(shown["R^2, pooled over outputs"]) == float(f"{pooled:.4g}")
    assert float(shown["R^2 of t1"]) == float(f"{own[0]:.4g}")
    assert float(shown["R^2 of t2"]) == float(f"{own[1]:.4g}")
    last = list(csv.DictReader((run / "metrics.csv").open()))[-1]
    assert float(last["train_r2"]) == pytest.approx(pooled, rel=1e-12)  # training logs the pooled one

    (tmp_path / "flat.csv").write_text("f0,f1,t1,t2\n0.1,0.2,0.3,5\n0.4,0.5,0.6,5\n")  # t2 constant
    result = cli("evaluate", run, tmp_path / "flat.csv", "--target", "t1", "--target", "t2")
    assert result.code == 0 and "undefined (the target is constant)" in result.out
    assert "R^2 of t1" in result.out and "undefined (the targets are all equal)" not in result.out


@pytest.mark.parametrize(("text", "message"), [
    ('weight_kg,snout_length_cm\n1,"2\n', "'{path}' is not valid CSV: the quote opened on line 2 is never closed"),
    ("weight_kg,snout_length_cm\n1,2,3\n", "'{path}' line 2 has 3 values but the header has 2 columns"),
    ("weight_kg,target\n1,cat\n", "column 'snout_length_cm' not found in '{path}'; columns: weight_kg, target"),
])
def test_a_bad_data_file_is_named_by_the_argument_not_a_config_key(cli, trained, tmp_path, text, message):
    # the messages began "error: path: ...", a config's key the learner never typed; predict's usage
    # line calls the file DATA
    path = tmp_path / "bad.csv"
    path.write_text(text)
    for command in ("predict", "evaluate"):
        result = cli(command, trained, path)
        assert (result.code, result.err) == (2, f"error: DATA: {message.format(path=path)}\n")
    missing = cli("predict", trained, tmp_path / "nope.csv")
    assert missing.err == f"error: DATA: file not found: '{tmp_path / 'nope.csv'}'\n"


def test_an_empty_label_is_named_by_the_target_option(cli, trained, animals):
    path, *_ = animals
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:lines[2].rindex(",") + 1]
    path.write_text("\n".join(lines) + "\n")
    result = cli("evaluate", trained, path, "--target", "label")
    assert result.err == f"error: --target: '{path}' line 3, column 'label': an empty label\n"


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_predict_and_evaluate_read_new_data_with_the_runs_delimiter(cli, tmp_path, delimiter):
    # they split at ',' whatever the run was trained on: "DATA: column 'a' not found in 'semi.csv';
    # columns: a;b;target" (exit 2), and there was no --delimiter
    rows = [["a", "b", "target"], *([i % 3, i % 5, i % 2] for i in range(20))]
    lines = ["".join(f"{delimiter.join(map(str, row))}\n" for row in rows)]
    (tmp_path / "train.csv").write_text(lines[0])
    (tmp_path / "c.yaml").write_text(f"data: {{name: csv, path: train.csv, delimiter: {json.dumps(delimiter)}}}\n"
                                     "training: {epochs: 1}\n")
    assert cli("train", tmp_path / "c.yaml", "--no-plot", "-q").code == 0
    run = run_dirs(tmp_path / "runs")[0]
    result = cli("predict", run, tmp_path / "train.csv")
    assert result.code == 0, result.err
    assert result.out.startswith(f"20 predictions from {run.name}")
    result = cli("evaluate", run, tmp_path / "train.csv")
    assert result.code == 0 and "(20 rows)" in result.out, result.err
    # another delimiter is given with --delimiter; a wrong one says which columns it found
    (tmp_path / "comma.csv").write_text(lines[0].replace(delimiter, ","))
    result = cli("predict", run, tmp_path / "comma.csv")
    # the one column 'a,b,target' holds a comma: the message says what is likely wrong, and how to say it
    assert (result.code, result.err) == (2, f"error: DATA: column 'a' not found in '{tmp_path / 'comma.csv'}'; "
                                            f"columns: a,b,target (one column: the file seems to be separated by "
                                            f"',', not {delimiter!r}; see --delimiter)\n")
    assert cli("evaluate", run, tmp_path / "comma.csv", "--delimiter", ",").code == 0
    # a tab is written \t, as a shell passes it without a literal tab character
    (tmp_path / "tab.csv").write_text(lines[0].replace(delimiter, "\t"))
    assert cli("predict", run, tmp_path / "tab.csv", "--delimiter", "\\t").code == 0
    result = cli("predict", run, tmp_path / "comma.csv", "--delimiter", ";;")
    assert (result.code, result.err) == (2, "error: --delimiter must be a single character, got ';;'\n")


def test_predict_refuses_to_write_inside_a_run(cli, trained, animals):
    # '-o RUN/metrics.csv' replaced the run's metrics with predictions: 'gradlab rerun RUN' then failed
    path, *_ = animals
    before = (trained / "metrics.csv").read_bytes()
    result = cli("predict", trained, path, "-o", trained / "metrics.csv")
    assert result.code == 2 and result.err.count("\n") == 1
    assert result.err == (f"error: --output: {str(trained / 'metrics.csv')!r} lies inside the run directory "
                          f"{str(trained.resolve())!r}; writing there could overwrite the run's own files, so name a "
                          f"file outside it\n")
    assert (trained / "metrics.csv").read_bytes() == before
    assert cli("rerun", trained, "-q").code == 0


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_directory_that_refuses_new_files_is_exit_2_before_any_work(cli, trained, animals):
    # os.access says /proc is writable to root: the predictions were computed, then 'cannot write' and exit 1
    path, *_ = animals
    result = cli("predict", trained, path, "-o", "/proc/p.csv")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith("error: --output: cannot create a file in directory '/proc' (")


def test_evaluate_reads_the_runs_own_label_column_by_default(cli, tmp_path, animals):
    # it read a column named 'target' whatever the run trained on: a run's own training file failed
    path, *_ = animals
    config = tmp_path / "csv.yaml"
    config.write_text(f"seed: 0\ndata: {{name: csv, path: {path}, target: label}}\nmodel: {{hidden: []}}\n"
                      "optimizer: {name: sgd, lr: 2}\ntraining: {epochs: 5}\n")
    assert cli("train", config, "--out", tmp_path / "c", "--no-plot", "-q").code == 0
    result = cli("evaluate", run_dirs(tmp_path / "c")[0], path)
    assert result.code == 0, result.err
    assert "accuracy" in result.out
    # data from a generator name no column: sine's target stays 'target', not its key y
    assert cli("train", CONFIGS / "sine_smooth_l1.yaml", "--out", tmp_path / "s", "--no-plot", "-q",
               "--set", "training.epochs=2").code == 0
    x = np.linspace(-3, 3, 20)
    rows = "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), np.sin(x).tolist()))
    (tmp_path / "sine.csv").write_text("x,target\n" + rows)
    result = cli("evaluate", run_dirs(tmp_path / "s")[0], tmp_path / "sine.csv")
    assert result.code == 0, result.err
    assert "R^2" in result.out


def test_one_row_is_counted_in_the_singular(cli, trained, tmp_path):
    path, *_ = _animals_csv(tmp_path / "two.csv", 2)
    path = tmp_path / "one.csv"
    path.write_text("".join((tmp_path / "two.csv").read_text().splitlines(keepends=True)[:2]))  # header, one row
    assert f"1 prediction from {trained.name} written to" in cli("predict", trained, path).out
    evaluated = cli("evaluate", trained, path, "--target", "label").out
    assert f"{trained.name} on {path} (1 row)" in " ".join(evaluated.split())


def test_a_classifier_is_evaluated_on_one_label_column(cli, trained, animals):
    # --target twice read the class names as numbers: "column 'target': 'cat', which is not a number"
    path, *_ = animals
    result = cli("evaluate", trained, path, "--target", "label", "--target", "label")
    assert (result.code, result.err) == (2, "error: --target: a classifier's labels are one column (its class "
                                            "names), got 2 (label, label)\n")


@pytest.mark.parametrize("kind", ["long", "loop"])
@pytest.mark.parametrize(("data", "output", "option"), [
    ("{p}.csv", None, "DATA"),
    ("{p}.csv", "ok.csv", "DATA"),  # the output is checked first, and the data file's lookup is left to DATA
    ("animals.csv", "{p}.csv", "--output"),
])
def test_a_path_the_system_refuses_to_look_up_is_bad_input_naming_it(cli, trained, animals, tmp_path, kind, data,
                                                                     output, option):
    (tmp_path / "loopA").symlink_to("loopB")
    (tmp_path / "loopB").symlink_to("loopA")
    path, reason = {"long": (tmp_path / ("d" * 300), "File name too long"),
                    "loop": (tmp_path / "loopA" / "x", "Too many levels of symbolic links")}[kind]
    data, output = (tmp_path / a.format(p=path) if a else None for a in (data, output))
    result = cli("predict", trained, data, *(["-o", output] if output else []))
    given = output if option == "--output" else data
    assert (result.code, result.err) == (2, f"error: {option}: cannot use '{given}': {reason}\n")
    assert result.out == ""


def test_evaluate_matches_the_runs_own_target_names_whatever_their_order(cli, tmp_path):
    # --target t2 --target t1 scored output t1 against column t2 and showed it as 'R^2 of t2' (a practitioner
    # review: 'R^2 of y1 -31.49' for a fit of 0.97); the run's own names now meet their own outputs
    run, _ = train_wide_and_narrow(cli, tmp_path)
    ordered = cli("evaluate", run, tmp_path / "wide.csv", "--target", "t1", "--target", "t2")
    swapped = cli("evaluate", run, tmp_path / "wide.csv", "--target", "t2", "--target", "t1")
    assert ordered.code == swapped.code == 0 and swapped.out == ordered.out
    assert "R^2 of t1" in ordered.out and "R^2 of t2" in ordered.out
    # one of the run's names at the other's place, beside a column of another name: refused, not misread
    (tmp_path / "other.csv").write_text((tmp_path / "wide.csv").read_text().replace("t1,t2", "u,t2", 1))
    mixed = cli("evaluate", run, tmp_path / "other.csv", "--target", "t2", "--target", "u")
    assert (mixed.code, mixed.err) == (2, "error: --target: 't2' is the run's output 2, given as output 1 (the run "
                                          "predicts t1, t2, in that order): give the columns in that order\n")
    renamed = cli("evaluate", run, tmp_path / "other.csv", "--target", "u", "--target", "t2")  # by order, as before
    assert renamed.code == 0 and "R^2 of u" in renamed.out


def test_one_row_of_several_targets_says_each_is_constant(cli, tmp_path):
    # one row, t1 = 1 and t2 = 2: the pooled R^2 is undefined because each target is constant; it said 'the targets
    # are all equal', which they are not
    rng = np.random.default_rng(0)
    run, _ = train_on_two_targets(cli, tmp_path, "mt", [(a, b, a + b, a - b) for a, b in rng.normal(size=(12, 2))],
                                  hidden=3, epochs=3)
    (tmp_path / "one.csv").write_text("f0,f1,t1,t2\n0.1,0.2,1,2\n")
    result = cli("evaluate", run, tmp_path / "one.csv", "--target", "t1", "--target", "t2")
    assert result.code == 0, result.err
    assert "│ R^2, pooled over outputs │ undefined (each target is constant) │" in " ".join(result.out.split())
