"""The recorded training path: the parameters after every update, from the initial to the final ones."""

import json

import numpy as np
import pytest

from gradlab.experiment import load_experiment
from gradlab.training import fit
from tests.conftest import CONFIGS, run_dirs


def _fit(config, record_path, **overrides):
    e = load_experiment(CONFIGS / config, overrides)
    start = e.network.flat()
    history = fit(e.network, e.loss, e.optimizer, e.X_train, e.Y_train, e.settings,
                  rng=np.random.default_rng(0), record_path=record_path)
    return e, start, history


@pytest.mark.parametrize("every", [1, 7])
def test_path_has_one_point_per_update_and_ends_at_the_final_parameters(every):
    # cat_dog: 300 training samples in batches of 16 -> 19 updates per epoch; 3 epochs -> 57 updates
    e, start, history = _fit("cat_dog.yaml", every, **{"training.epochs": 3})
    path = np.array(history.params_path)
    updates = 3 * 19
    assert len(path) == 1 + updates // every + (1 if updates % every else 0)
    np.testing.assert_array_equal(path[0], start)
    np.testing.assert_array_equal(path[-1], e.network.flat())
    assert len({tuple(p) for p in path}) == len(path)  # every point is a different parameter vector


def test_one_update_is_one_sgd_step_and_recording_changes_nothing():
    e, start, history = _fit("saturation_mse.yaml", True, **{"training.epochs": 2})
    path = np.array(history.params_path)
    assert path.shape == (3, 2)  # full batch: one update per epoch
    # Nielsen's neuron: x = 1, y = 0, w = b = 2 -> dC/dw = dC/db = sigma(4)^2 (1 - sigma(4))
    s = 1 / (1 + np.exp(-4.0))
    np.testing.assert_allclose(path[1], [2 - 0.15 * s * s * (1 - s)] * 2, rtol=1e-12)
    e2, _, plain = _fit("saturation_mse.yaml", False, **{"training.epochs": 2})
    assert plain.params_path == []
    np.testing.assert_array_equal(e2.network.flat(), e.network.flat())


def test_train_writes_path_npy_for_a_small_network(cli, tmp_path):
    result = cli("train", CONFIGS / "cat_dog.yaml", "--out", tmp_path / "o", "--no-plot", "--quiet",
                 "--set", "training.epochs=2")
    assert result.code == 0, result.err
    (run,) = run_dirs(tmp_path / "o")
    path = np.load(run / "path.npy")
    assert path.shape == (1 + 2 * 19, 3)
    model = np.load(run / "model.npz")
    np.testing.assert_array_equal(path[-1], np.concatenate([model["W1"].ravel(), model["b1"]]))
    assert json.loads((run / "summary.json").read_text())["path_every"] == 1
