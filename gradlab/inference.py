"""Use a trained run on new data: ``gradlab predict`` and ``gradlab evaluate``.

A run directory holds everything needed: the architecture and loss in ``config.yaml``,
the weights in ``model.npz`` and, in ``data.json``, the feature names, the class names and
the standardisation fitted on the training data, which new data must go through too.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradlab.errors import InputError


@dataclass
class TrainedModel:
    """A trained network with what it needs to read new data like its training data."""

    network: Any
    loss: Any
    task: str
    feature_names: list[str]
    class_names: list[str] | None
    target_names: list[str] | None
    mean: np.ndarray | None
    std: np.ndarray | None
    run_dir: Path

    def outputs(self, X_raw: np.ndarray) -> np.ndarray:
        """Network outputs for raw feature rows (standardised as in training first)."""
        X = X_raw if self.mean is None else (X_raw - self.mean) / self.std
        return self.network.predict(np.ascontiguousarray(X, dtype=self.network.dtype))


def load_model(run_dir: str | os.PathLike) -> TrainedModel:
    """Rebuild a training run's network from ``config.yaml``, ``model.npz`` and ``data.json``."""
    from gradlab.config import load_yaml
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.runs import CONFIG_FILE, resolve_run
    from gradlab.runner import DATA_FILE, MODEL_FILE

    run_dir = resolve_run(run_dir)
    missing = [name for name in (CONFIG_FILE, MODEL_FILE, DATA_FILE) if not (run_dir / name).exists()]
    if missing:
        raise InputError(f"{run_dir}: not a finished training run (missing {', '.join(missing)})")
    config = load_yaml(run_dir / CONFIG_FILE)
    info = json.loads((run_dir / DATA_FILE).read_text(encoding="utf-8"))
    with np.load(run_dir / MODEL_FILE) as saved:
        n_layers = len([k for k in saved.files if k.startswith("W")])
        weights = [(saved[f"W{k}"], saved[f"b{k}"]) for k in range(1, n_layers + 1)]
    model = config["model"]
    network = Network.from_weights(weights, model["activation"] if n_layers > 1 else [], model["output"])
    return TrainedModel(
        network=network,
        loss=losses.create(config["loss"], field="loss"),
        task=info["task"],
        feature_names=info["feature_names"],
        class_names=info.get("class_names"),
        target_names=info.get("target_names"),
        mean=None if info.get("mean") is None else np.asarray(info["mean"]),
        std=None if info.get("std") is None else np.asarray(info["std"]),
        run_dir=run_dir,
    )


def read_features(model: TrainedModel, path: str | os.PathLike, target: str | None = None):
    """Read a CSV's feature columns (by the training feature names) and, if asked, its labels."""
    from gradlab.datasets import read_csv

    path = Path(path)
    if not path.exists():
        raise InputError(f"data file {str(path)!r} does not exist")
    raw = read_csv(path, target=target, features=model.feature_names,
                   task="regression" if model.task == "regression" else "classification" if target else None)
    return raw.X, (raw.y if target else None)


def predict(model: TrainedModel, X_raw: np.ndarray) -> dict[str, np.ndarray]:
    """Prediction columns: the class (by name) and one probability/score per class, or the
    regression outputs (named by the training targets)."""
    from gradlab.training import predicted_classes

    out = model.outputs(X_raw)
    if model.task == "regression":
        names = model.target_names or [f"y{k}" for k in range(out.shape[1])]
        return {f"predicted_{name}": out[:, k] for k, name in enumerate(names)}
    classes = predicted_classes(out, model.network.output.activation.name)
    names = model.class_names or [str(k) for k in range(max(2, out.shape[1]))]
    columns: dict[str, np.ndarray] = {"predicted": np.asarray(names, dtype=object)[classes]}
    if out.shape[1] == 1:
        columns[f"score_{names[1]}"] = out[:, 0]
    else:
        for k, name in enumerate(names[: out.shape[1]]):
            columns[f"score_{name}"] = out[:, k]
    return columns


def evaluate(model: TrainedModel, X_raw: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Loss and accuracy (or R^2) of the trained network on labelled data."""
    from gradlab.datasets import encode_labels, to_targets
    from gradlab.training import evaluate as evaluate_network

    if model.task == "regression":
        Y = np.asarray(labels, dtype=float).reshape(len(X_raw), -1)
    else:
        indices, _ = encode_labels(np.asarray(labels), model.class_names, "target")
        n_out = model.network.sizes[-1]
        Y = to_targets(indices, model.task, len(model.class_names), one_hot=n_out > 1 and model.task == "binary")
    X = X_raw if model.mean is None else (X_raw - model.mean) / model.std
    X = np.ascontiguousarray(X, dtype=model.network.dtype)
    return evaluate_network(model.network, model.loss, X, Y.astype(model.network.dtype), model.task)
