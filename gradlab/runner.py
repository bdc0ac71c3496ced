"""Carry out a built experiment inside a run directory: train, then save the model, the
data description, the plots and the summary. Shared by ``train``, ``rerun`` and sweeps."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradlab.experiment import Experiment
from gradlab.runs import DATA_FILE, MODEL_FILE, Run, to_plain
from gradlab.training import Callback, History, best_index, binary_threshold, fit, watched_loss

PATH_FILE = "path.npy"
#: a run records its path (path.npy) by default when the network has at most this many parameters
PATH_MAX_PARAMS = 256
#: path.npy holds at most about this many numbers; a longer run keeps every k-th update
PATH_MAX_VALUES = 1_000_000
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
        "target_names": list(d.target_names) if d.target_names is not None else None,
        "mean": None if d.mean is None else np.asarray(d.mean).tolist(),
        "std": None if d.std is None else np.asarray(d.std).tolist(),
        "n_outputs": experiment.network.sizes[-1],
        "n_train": int(len(experiment.X_train)),
        "n_test": int(0 if experiment.X_test is None else len(experiment.X_test)),
    }


def final_values(history: History) -> dict[str, Any]:
    """The last logged row without timing, plus the best test accuracy and loss over the logged
    rows, by :func:`~gradlab.training.best_index` (a diverged run's last row is no best).

    The best loss is the lowest :func:`~gradlab.training.watched_loss` of every logged row, the
    first such row on a tie: also a row early stopping never checks (a scipy minimizer's end, an
    interrupted run's last) and a gain smaller than ``min_delta``, which early stopping ignores.
    """
    final = {k: v for k, v in history.final.items() if k != "time_s"}
    diverged = history.status == "diverged"
    accuracies = [r.get("test_accuracy") for r in history.rows]
    losses = [watched_loss(r) for r in history.rows]
    most, least = best_index(accuracies, True, diverged), best_index(losses, False, diverged)
    return {
        "final": final,
        "best_test_accuracy": None if most is None else accuracies[most],
        "best_epoch": None if least is None else history.rows[least]["epoch"],
        "best_loss": None if least is None else losses[least],
    }


def execute(
    experiment: Experiment,
    run: Run,
    callbacks: Sequence[Callback] = (),
    *,
    plots: bool = True,
    record_path: int | None = None,
) -> History:
    """Train the experiment into ``run`` (which must be open) and write all its files.

    The summary gets status completed/diverged/interrupted; the caller decides what an
    interruption means for its exit code.

    ``record_path``: keep the parameters after every k-th update in ``path.npy`` (shape
    (points, n_params), row 0 the initial and the last row the final parameters); 0 records
    nothing; None (default) records with :func:`path_stride` for networks of at most
    ``PATH_MAX_PARAMS`` parameters, which is what ``gradlab landscape RUN_DIR`` draws.
    """
    e = experiment
    if record_path is None:
        record_path = path_stride(e) if e.network.n_params <= PATH_MAX_PARAMS else 0
    history = fit(
        e.network, e.loss, e.optimizer, e.X_train, e.Y_train, e.settings,
        X_test=e.X_test, Y_test=e.Y_test, rng=np.random.default_rng(e.config.seed),
        callbacks=[MetricsWriter(run), *callbacks], record_path=record_path,
    )
    np.savez(run.file(MODEL_FILE), **e.network.state())
    run.file(DATA_FILE).write_text(json.dumps(to_plain(describe_data(e)), indent=2) + "\n")
    if record_path:
        np.save(run.file(PATH_FILE), np.array(history.params_path))
        run.summary["path_every"] = record_path
    try:
        plot_files = make_plots(e, history, run) if plots and history.rows else []
    except KeyboardInterrupt:  # Ctrl-C while drawing: training, model and metrics are done and saved
        plot_files = []
        if history.status != "diverged":  # a diverged run stays diverged: that is its result
            history.status = "interrupted"
        history.stop_reason = f"interrupted while drawing the plots ({history.stop_reason}; model and metrics saved)"
    run.finish(
        history.status,
        epochs=history.epochs,
        stop_reason=history.stop_reason,
        plots=[p.name for p in plot_files],
        **final_values(history),
    )
    return history


def path_stride(experiment: Experiment, max_values: int = PATH_MAX_VALUES) -> int:
    """Record every k-th update, the smallest k that keeps the path within ``max_values`` numbers.

    Updates per run = epochs * ceil(n_train / batch_size) (one per epoch for full batch and
    for the scipy minimizers).
    """
    s, n = experiment.settings, len(experiment.X_train)
    per_epoch = 1 if s.batch_size is None or getattr(experiment.optimizer, "scipy_method", None) \
        else -(-n // min(s.batch_size, n))
    points = s.epochs * per_epoch + 1
    return max(1, -(-points * experiment.network.n_params // max_values))


def make_plots(e: Experiment, history: History, run: Run) -> list:
    from gradlab.plots import DRAWABLE
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
        # the regions are drawn over the data's box plus a margin: matplotlib's axis overflows
        # beyond DRAWABLE (blobs of radius 1e308), so such data get no picture rather than a crash
        if float(np.max(np.abs(raw))) > DRAWABLE:  # a Python float: 1e300 is no float32
            return files
        dtype = e.network.dtype

        def predict(points: np.ndarray) -> np.ndarray:
            x = d.transform(points) if d.mean is not None else points
            # finite weights of 1e160 (a run stopped as diverged) overflow on the grid: the regions
            # drawn are what float64 makes of them, not a warning
            with np.errstate(over="ignore", invalid="ignore"):
                return e.network.predict(np.ascontiguousarray(x, dtype=dtype))

        files.append(tp.decision_boundary(
            predict, raw, d.y_train.astype(int), run.file("decision_boundary.png"),
            feature_names=d.feature_names, class_names=d.class_names or (),
            threshold=binary_threshold(e.loss, e.network.output.activation.name),
        ))
    return files
