"""Use a trained run on new data: ``gradlab predict`` and ``gradlab evaluate``.

A run directory holds everything needed: the architecture and loss in ``config.yaml``,
the weights in ``model.npz`` and, in ``data.json``, the feature names, the class names and
the standardisation fitted on the training data, which new data must go through too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional

import numpy as np
from pydantic import BaseModel, Field

from gradlab.config import FiniteFloat, Int
from gradlab.engine._checks import beyond_dtype, to_dtype
from gradlab.errors import InputError, in_file, path_exists

if TYPE_CHECKING:
    from gradlab.engine.layers import Dense


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
    #: the character between the cells of the run's training CSV, which new data is read with by default
    delimiter: str = ","
    #: the label column(s) evaluate reads by default: the training CSV's, else target
    target_columns: tuple[str, ...] = ("target",)

    def inputs(self, X_raw: np.ndarray) -> np.ndarray:
        """Raw feature rows as the network saw its training data: (x - mean) / std, in its dtype.

        Raises
        ------
        InputError
            A value (standardised, if the training data was) does not fit the network's dtype
            (1e39 in float32): every such row is named, with the first value.
        """
        with np.errstate(over="ignore"):  # a standardised value beyond float64 is named below
            X = X_raw if self.mean is None else (X_raw - self.mean) / self.std
        X, misfits = to_dtype(X, self.network.dtype)
        if misfits is not None:
            raise InputError(self._misfit_message(X_raw, misfits))
        return X

    def _misfit_message(self, X_raw: np.ndarray, misfits: np.ndarray) -> str:
        """Which rows hold a feature value the network's dtype cannot hold, and the first such value."""
        how = None if self.mean is None else (
            lambda j: f" (standardised with the training mean {self.mean[j]:.4g} and std {self.std[j]:.4g})")
        return _misfits("feature", self.feature_names, X_raw, misfits, self.network.dtype, how)

    def outputs(self, X_raw: np.ndarray) -> np.ndarray:
        """Network outputs for raw feature rows (standardised as in training first).

        The rows go through the network in chunks of training's ``EVAL_CHUNK``, so the hidden
        layers' work arrays hold a chunk, not the whole file: on 100,000 rows a 2-256-256-3
        network's activations would take 0.8 GB.

        Raises
        ------
        InputError
            A row's output or output logit is not finite: its values are so far from the
            training data's that a product overflows. Every such row is named.
        """
        from gradlab.training import EVAL_CHUNK

        X = self.inputs(X_raw)
        out = np.empty((len(X), self.network.sizes[-1]), dtype=self.network.dtype)
        bad = np.zeros(len(X), dtype=bool)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported by row below
            for start in range(0, len(X), EVAL_CHUNK):
                stop = start + EVAL_CHUNK
                out[start:stop] = self.network.forward(X[start:stop])
                bad[start:stop] = _overflowing_rows(self.network.output)
        if bad.any():
            raise InputError(_overflow_message(self, X_raw, bad))
        return out


def _misfits(kind: str, names: list[str], values: np.ndarray, misfits: np.ndarray, dtype, how=None) -> str:
    """Which rows hold a ``kind`` value (a feature, a target) that ``dtype`` cannot hold, and the first
    such value as written; ``how(column)`` says how it was transformed first (standardised)."""
    rows = np.flatnonzero(misfits.any(axis=1))
    column = int(np.argmax(misfits[rows[0]]))
    value = f"{names[column]!r} = {values[rows[0], column]:g}" + (how(column) if how else "")
    return (f"data {_rows(rows)}: {kind} {value} is {beyond_dtype(dtype)}, the dtype the run was trained in; "
            f"check the units of {'those rows' if len(rows) > 1 else 'that row'}")


class _DataInfo(BaseModel):
    """What ``data.json`` must hold for new data to be read like the training data."""

    task: Literal["binary", "multiclass", "regression"]
    feature_names: list[str] = Field(min_length=1)
    class_names: Optional[list[str]] = None
    target_names: Optional[list[str]] = None
    n_outputs: Optional[Int] = None  # the config's number types: true is no 1, nor 1.0
    mean: Optional[list[FiniteFloat]] = None
    std: Optional[list[FiniteFloat]] = None


def load_model(run_dir: str | os.PathLike) -> TrainedModel:
    """Rebuild a training run's network from ``config.yaml``, ``model.npz`` and ``data.json``.

    Raises
    ------
    InputError
        The directory is no finished training run, one of its files is damaged (the message
        names the file and what is wrong), or its weights are not finite (a diverged run).
    """
    from gradlab.config import load_yaml, validate
    from gradlab.engine.activations import activations
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.experiment import ExperimentConfig, read_weights, require_finite_weights
    from gradlab.runs import CONFIG_FILE, DATA_FILE, MODEL_FILE, resolve_run

    run_dir = resolve_run(run_dir)
    missing = [name for name in (CONFIG_FILE, MODEL_FILE, DATA_FILE) if not (run_dir / name).exists()]
    if missing:
        raise InputError(f"{run_dir}: not a finished training run (missing {', '.join(missing)})")
    config_file = run_dir / CONFIG_FILE
    info = _read_data_info(run_dir / DATA_FILE)
    try:
        config = validate(ExperimentConfig, load_yaml(config_file))
        model = config.model
        loss = losses.create(config.loss, field="loss")
        specs = model.hidden_specs()
        if len(specs) != len(model.hidden):
            raise InputError(f"model.activation: {len(specs)} activations for {len(model.hidden)} hidden layers")
        hidden = [activations.create(spec, field="model.activation") for spec in specs]
        output = activations.create(model.output_spec(loss, info.task), field="model.output")
        delimiter = _training_delimiter(config.data)
    except InputError as error:
        raise in_file(error, config_file) from None
    weights = read_weights(run_dir / MODEL_FILE, model.dtype)
    sizes = [weights[0][0].shape[0], *(W.shape[1] for W, _ in weights)]
    n_classes = len(info.class_names or ())
    n_targets = len(info.target_names or ())  # a regression run names one target per output
    expected_outputs = {"binary": {1, 2}, "multiclass": {n_classes}}.get(info.task, {n_targets or sizes[-1]})
    if info.n_outputs is not None:  # recorded by training: a task edited by hand no longer fits it
        expected_outputs &= {info.n_outputs}
    if sizes[1:-1] != model.hidden or sizes[0] != len(info.feature_names) or sizes[-1] not in expected_outputs:
        raise InputError(f"{run_dir / MODEL_FILE}: layer widths {sizes} do not fit the run: {CONFIG_FILE} has "
                         f"hidden layers {model.hidden}, {DATA_FILE} {len(info.feature_names)} features"
                         + (f" and {n_classes} classes" if n_classes else "")
                         + (f" and {n_targets} targets" if info.task == "regression" and n_targets else "")
                         + (f" ({info.n_outputs} outputs, task {info.task})" if info.n_outputs is not None else ""))
    network = Network.from_weights(weights, hidden, output)
    require_finite_weights(network, run_dir)
    return TrainedModel(
        network=network,
        loss=loss,
        task=info.task,
        feature_names=info.feature_names,
        class_names=info.class_names,
        target_names=info.target_names,
        mean=None if info.mean is None else np.asarray(info.mean),
        std=None if info.std is None else np.asarray(info.std),
        run_dir=run_dir,
        delimiter=delimiter,
        target_columns=_training_targets(config.data),
    )


def _training_targets(data: Any) -> tuple[str, ...]:
    """The label column(s) of the run's training CSV; ``target`` for data from a generator or an
    .npz, whose keys (sine's y) name no column of a file someone writes."""
    if isinstance(data, dict) and data.get("name") == "csv" and data.get("target") is not None:
        target = data["target"]
        return tuple(target) if isinstance(target, list) else (str(target),)
    return ("target",)


def _training_delimiter(data: Any) -> str:
    """The delimiter of the run's CSV, from its resolved config's ``data``: ``,`` for data from
    elsewhere (a generator, an .npz) and for a run saved before a csv source recorded it."""
    from gradlab.datasets import check_delimiter

    if not isinstance(data, dict) or "delimiter" not in data:
        return ","
    return check_delimiter("data.delimiter", data["delimiter"])


def _read_data_info(path: Path) -> _DataInfo:
    """``data.json``, checked: the task, the feature names and a standardisation of their length."""
    from gradlab.config import validate
    from gradlab.runs import read_json

    raw = read_json(path)
    if not isinstance(raw, dict):
        raise InputError(f"{path}: must hold a JSON object (task, feature_names, ...), got {type(raw).__name__}")
    try:
        info = validate(_DataInfo, {k: v for k, v in raw.items() if k in _DataInfo.model_fields})
    except InputError as error:
        raise in_file(error, path) from None
    for name in ("mean", "std"):
        values = getattr(info, name)
        if values is not None and len(values) != len(info.feature_names):
            raise InputError(f"{path}: {name} holds {len(values)} values for {len(info.feature_names)} features")
    if info.std is not None and not min(info.std, default=1.0) > 0:  # finite already (FiniteFloat)
        raise InputError(f"{path}: std must hold finite values > 0, got {info.std}")
    for name in ("feature_names", "class_names", "target_names"):
        names = getattr(info, name) or []
        twice = next((n for k, n in enumerate(names) if n in names[:k]), None)
        if twice is not None:  # columns and classes are looked up by name: a second one could never be
            raise InputError(f"{path}: {name} holds {twice!r} twice; each name must be unique")
    if info.task == "regression" and info.class_names:
        raise InputError(f"{path}: a regression run has no class_names, got {info.class_names} (a classifier "
                         f"marked regression?)")
    n_classes = len(info.class_names or ())
    if info.task == "binary" and n_classes != 2 or info.task == "multiclass" and n_classes < 3:
        wanted = "exactly two" if info.task == "binary" else "at least three"  # as datasets infers the task
        raise InputError(f"{path}: a {info.task} run needs {wanted} class_names, got {info.class_names}")
    return info


#: what messages about the data file call it and its columns: the names ``gradlab predict`` and
#: ``gradlab evaluate`` give them (a config's ``path``, ``target`` and ``features`` are no words of theirs)
DATA_FIELDS = {"path": "DATA", "features": "DATA", "target": "--target", "delimiter": "--delimiter"}


def read_features(model: TrainedModel, path: str | os.PathLike, target: str | None = None,
                  delimiter: str | None = None):
    """Read a CSV's feature columns (by the training feature names) and, if asked, its labels.

    The cells are split at ``delimiter`` (``--delimiter``), by default at the training CSV's
    (:attr:`TrainedModel.delimiter`). Messages name the file ``DATA`` and the label column
    ``--target``, as the commands do.
    """
    from gradlab.datasets import check_delimiter, read_csv

    delimiter = model.delimiter if delimiter is None else check_delimiter("--delimiter", delimiter)
    path = Path(path)
    if not path_exists(path, "DATA"):
        raise InputError(f"DATA: file not found: {str(path)!r}")
    raw = read_csv(path, target=target, features=model.feature_names, fields=DATA_FIELDS, delimiter=delimiter,
                   task="regression" if model.task == "regression" else "classification" if target else None)
    return raw.X, (raw.y if target else None)


def prediction_names(model: TrainedModel) -> list[str]:
    """The columns :func:`predict` returns, in order: ``predicted_<target>`` per regression
    output, else ``predicted`` and ``score_<class>`` per network output (a single sigmoid
    output scores the second class)."""
    n_out = model.network.sizes[-1]
    if model.task == "regression":
        return [f"predicted_{name}" for name in model.target_names or [f"y{k}" for k in range(n_out)]]
    scored = _class_names(model)[1:2] if n_out == 1 else _class_names(model)[:n_out]
    return ["predicted", *(f"score_{name}" for name in scored)]


def _class_names(model: TrainedModel) -> list[str]:
    return model.class_names or [str(k) for k in range(max(2, model.network.sizes[-1]))]


def predict(model: TrainedModel, X_raw: np.ndarray) -> dict[str, np.ndarray]:
    """Prediction columns (see :func:`prediction_names`): the class (by name) and one
    probability/score per class, or the regression outputs (named by the training targets).

    Raises
    ------
    InputError
        A training feature has the name of a prediction column: written beside the features,
        one would overwrite the other.
    """
    from gradlab.runs import DATA_FILE
    from gradlab.training import binary_threshold, predicted_classes

    names = prediction_names(model)
    clash = next((name for name in names if name in model.feature_names), None)
    if clash is not None:
        raise InputError(f"{model.run_dir / DATA_FILE}: the feature {clash!r} has the name of a column predict "
                         f"writes ({', '.join(names)}), so the predictions would overwrite it; rename that column in "
                         f"the training data and train again")
    out = model.outputs(X_raw)
    if model.task == "regression":
        return {name: out[:, k] for k, name in enumerate(names)}
    classes = predicted_classes(out, binary_threshold(model.loss, model.network.output.activation.name))
    return {"predicted": np.asarray(_class_names(model), dtype=object)[classes],
            **{name: out[:, k] for k, name in enumerate(names[1:])}}


def evaluate(model: TrainedModel, X_raw: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Loss and accuracy (or R^2) of the trained network on labelled data, as training computes them.

    One forward pass goes through the data, in training's chunks (:func:`gradlab.training.evaluate`).

    Raises
    ------
    InputError
        A row's output or output logit is not finite (see :meth:`TrainedModel.outputs`): refused
        before the loss of its chunk is taken.
    """
    from gradlab.datasets import encode_labels, to_targets
    from gradlab.training import evaluate as evaluate_network

    if model.task == "regression":
        Y = np.asarray(labels, dtype=float).reshape(len(X_raw), -1)
    else:
        indices, _ = encode_labels(np.asarray(labels), model.class_names, "target")
        n_out = model.network.sizes[-1]
        Y = to_targets(indices, model.task, len(model.class_names), one_hot=n_out > 1 and model.task == "binary")

    def refuse_overflow(output: Dense) -> None:
        """Before a chunk's loss is taken: a chunk with an output that overflows stops the evaluation."""
        if _overflowing_rows(output).any():
            model.outputs(X_raw)  # a pass over all the rows, on this error only, raises naming every one

    X = model.inputs(X_raw)
    cast, misfits = to_dtype(Y, model.network.dtype)
    if misfits is not None:  # a float32 run's label of 1e39: the loss was inf and R^2 "undefined"
        names = model.target_names or [f"y{k + 1}" for k in range(Y.shape[1])]
        raise InputError(_misfits("target", names, Y, misfits, model.network.dtype))
    with np.errstate(over="ignore", invalid="ignore"):  # only hidden layers can overflow here, to their limits
        return evaluate_network(model.network, model.loss, X, cast, model.task, check_output=refuse_overflow)


def _overflowing_rows(output: Dense) -> np.ndarray:
    """Which rows of the output layer's last forward pass have an output or a logit that is not finite.

    A hidden sigmoid that saturates at 1.0 from z = inf is at its true limit; an infinite logit is not
    (nor the output computed from it).
    """
    return ~(np.isfinite(output.a).all(axis=1) & np.isfinite(output.z).all(axis=1))


def require_finite_outputs(network, X: np.ndarray, run_dir: Path) -> None:
    """Raise InputError when a run's final weights, finite but near float64's limit (a tampered
    model.npz), make the network's output on its own training data ``X`` overflow: the check
    predict and evaluate make of their rows, for a command that has no rows of its own.

    Checked for every command that loads a run as its source (:func:`gradlab.experiment.load_source`):
    ``gradlab landscape`` took such weights on, to LAPACK's complaints and an internal error.
    """
    from gradlab.errors import plural
    from gradlab.training import EVAL_CHUNK

    bad = 0
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is what is looked for
        for start in range(0, len(X), EVAL_CHUNK):
            network.forward(X[start:start + EVAL_CHUNK])
            bad += int(_overflowing_rows(network.output).sum())
    if bad:
        largest = max(float(np.max(np.abs(layer.W), initial=0.0)) for layer in network.layers)
        raise InputError(f"{run_dir}: the network's output is not finite on {bad} of its "
                         f"{plural(len(X), 'training sample')} (weights up to {largest:.4g} in size overflow "
                         f"float{8 * network.dtype.itemsize}); no loss or gradient can be computed from them")


def _rows(rows: np.ndarray) -> str:
    """``row 3`` or ``rows 2, 5, 7, 8, 9 and 4 more``: the 1-based numbers of the data rows at 0-based ``rows``."""
    shown = ", ".join(str(r + 1) for r in rows[:5]) + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
    return f"row{'s' if len(rows) > 1 else ''} {shown}"


def _overflow_message(model: TrainedModel, X_raw: np.ndarray, bad: np.ndarray) -> str:
    """Which rows overflow the network, and how far their values are from the training data's."""
    rows = np.flatnonzero(bad)
    largest = np.max(np.abs(X_raw[rows]))
    scale = "" if model.std is None else f"; the training features had std up to {np.max(model.std):.4g}"
    return (f"data {_rows(rows)}: the network's output is not finite (feature values "
            f"up to {largest:.4g} in size overflow float{8 * model.network.dtype.itemsize}{scale}); "
            f"check the units of those rows")
