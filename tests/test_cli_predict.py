"""gradlab predict / evaluate: a trained run applied to new CSV data, with its standardisation."""

import csv

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
    d = datasets.load({"name": "cat_dog", "n_samples": 60}, seed=11)
    X, y = np.vstack([d.X_train, d.X_test]), np.concatenate([d.y_train, d.y_test])
    path = tmp_path / "animals.csv"
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
