"""Carry out a built experiment inside a run directory: train, then save the model, the
data description, the plots and the summary. Shared by ``train``, ``rerun`` and sweeps."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradlab.experiment import Experiment
from gradlab.runs import Run, to_plain
from gradlab.training import Callback, History, fit

MODEL_FILE = "model.npz"
DATA_FILE = "data.json"
#: the command line that re-runs a training run (``{run}``: its directory)
REPRODUCE = "gradlab train {run}/config.yaml"


class MetricsWriter(Callback):
    """Writes every logged row to the run's metrics.csv as it happens (flushed row by row)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.log = None

    def on_start(self, settings, columns) -> None:
        self.log = self.run.metrics(columns)

    def on_log(self, row) -> None:
        self.log.append(row)


def describe_data(experiment: Experiment) -> dict[str, Any]:
    """What ``predict``/``evaluate`` need to treat new data like the training data."""
    d = experiment.dataset
    return {
        "task": d.task,
        "feature_names": list(d.feature_names),
        "class_names": list(d.class_names) if d.class_names is not None else None,
        "mean": None if d.mean is None else np.asarray(d.mean).tolist(),
        "std": None if d.std is None else np.asarray(d.std).tolist(),
        "n_outputs": experiment.network.sizes[-1],
        "n_train": int(len(experiment.X_train)),
        "n_test": int(0 if experiment.X_test is None else len(experiment.X_test)),
    }


def final_values(history: History) -> dict[str, Any]:
    """The last logged row without timing, plus the best test accuracy/loss seen."""
    final = {k: v for k, v in history.final.items() if k != "time_s"}
    accuracies = [r["test_accuracy"] for r in history.rows if r.get("test_accuracy") is not None]
    return {
        "final": final,
        "best_test_accuracy": max(accuracies) if accuracies else None,
        "best_epoch": history.best_epoch,
        "best_loss": history.best_value,
    }


def execute(
    experiment: Experiment,
    run: Run,
    callbacks: Sequence[Callback] = (),
    *,
    plots: bool = True,
    record_path: bool = False,
) -> History:
    """Train the experiment into ``run`` (which must be open) and write all its files.

    The summary gets status completed/diverged/interrupted; the caller decides what an
    interruption means for its exit code.
    """
    e = experiment
    history = fit(
        e.network, e.loss, e.optimizer, e.X_train, e.Y_train, e.settings,
        X_test=e.X_test, Y_test=e.Y_test, rng=np.random.default_rng(e.config.seed),
        callbacks=[MetricsWriter(run), *callbacks], record_path=record_path,
    )
    np.savez(run.file(MODEL_FILE), **e.network.state())
    run.file(DATA_FILE).write_text(json.dumps(to_plain(describe_data(e)), indent=2) + "\n")
    if record_path:
        np.save(run.file("path.npy"), np.array(history.params_path))
    plot_files = make_plots(e, history, run) if plots and history.rows else []
    run.finish(
        history.status,
        epochs=history.epochs,
        stop_reason=history.stop_reason,
        plots=[p.name for p in plot_files],
        **final_values(history),
    )
    return history


def make_plots(e: Experiment, history: History, run: Run) -> list:
    from gradlab.plots import training as tp

    n_layers = len(e.network.layers)
    title = f"{e.loss.name} + {e.network.output.activation.name} output"
    files = [tp.loss_curves(history.rows, run.file("loss.png"), title=f"loss ({title})")]
    metric = "r2" if e.settings.task == "regression" else "accuracy"
    files.append(tp.score_curves(history.rows, run.file(f"{metric}.png"), metric))
    files.append(tp.gradient_norms(history.rows, n_layers, run.file("grad_norms.png")))
    health = tp.unit_health(history.rows, n_layers, run.file("units.png"))
    if health is not None:
        files.append(health)
    d = e.dataset
    if d.n_features == 2 and e.settings.task != "regression" and np.all(np.isfinite(e.network.flat())):
        raw = d.inverse_transform(e.X_train) if d.mean is not None else e.X_train
        dtype = e.network.dtype

        def predict(points: np.ndarray) -> np.ndarray:
            x = d.transform(points) if d.mean is not None else points
            return e.network.forward(np.ascontiguousarray(x, dtype=dtype))

        files.append(tp.decision_boundary(
            predict, raw, d.y_train.astype(int), run.file("decision_boundary.png"),
            feature_names=d.feature_names, class_names=d.class_names or (),
        ))
    return files
