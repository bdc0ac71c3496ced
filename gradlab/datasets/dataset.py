"""The :class:`Dataset` container and the label codes it uses: class names -> indices
(:func:`encode_labels`) and indices -> network targets (:func:`to_targets`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradlab.errors import InputError


TASKS = ("binary", "multiclass", "regression")


@dataclass(eq=False, repr=False)
class Dataset:
    """Training and test arrays plus what is needed to read and reuse them.

    Attributes
    ----------
    X_train, X_test : ndarray of float64, shape (n_train, n_features) and (n_test, n_features)
        Features, already standardised when ``mean``/``std`` are set. ``X_test`` has zero rows
        when ``test_fraction`` was 0.
    y_train, y_test : ndarray
        Classification: int64 class indices, shape (n,). Regression: float64, shape (n, n_targets).
    task : {"binary", "multiclass", "regression"}
    n_classes : int
        Number of classes (2 for binary); 0 for regression.
    class_names : list of str
        ``class_names[i]`` names class index ``i`` (e.g. ``["cat", "dog"]``); empty for regression.
    feature_names : list of str
        One name per column of ``X``.
    target_names : list of str
        One name per column of a regression ``y``; empty for classification.
    mean, std : ndarray of float64, shape (n_features,), or None
        The standardisation fitted on the raw training features (None when not standardised).
        A constant training column is centred to 0 and divided by the power of two at or above its
        size (1 for a column smaller than 1), so that what rounding leaves of it stays near 1e-16.
    name : str
        The source that produced the data ("moons", "csv", ...).
    spec : dict
        The resolved ``data`` mapping (every parameter, the effective seed, absolute paths):
        ``load(dataset.spec, seed=any)`` rebuilds the same arrays.
    info : dict
        Extra facts from the source, e.g. the true ``weights`` and ``bias`` of ``linear``.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    n_classes: int
    class_names: list[str]
    feature_names: list[str]
    target_names: list[str] = dataclasses.field(default_factory=list)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    name: str = ""
    spec: dict[str, Any] = dataclasses.field(default_factory=dict)
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def n_features(self) -> int:
        """Number of input features (columns of ``X``)."""
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        """Width of the output layer the targets need: 1 (binary), k (multiclass) or n_targets."""
        if self.task == "regression":
            return self.y_train.shape[1]
        return 1 if self.task == "binary" else self.n_classes

    @property
    def n_train(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        return self.X_test.shape[0]

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    @property
    def standardized(self) -> bool:
        return self.mean is not None

    def transform(self, X: Any) -> np.ndarray:
        """Apply the training standardisation to new raw features.

        Parameters
        ----------
        X : array_like, shape (n, n_features)
            Raw features, in the columns of ``feature_names``.

        Returns
        -------
        ndarray of float64, shape (n, n_features)
            ``(X - mean) / std``; ``X`` itself (no copy when it is already float64 and
            C-contiguous) when the data was not standardised.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise InputError(
                f"X must have shape (n, {self.n_features}) for features "
                f"{', '.join(self.feature_names)}; got {X.shape}"
            )
        if self.mean is None:
            return np.ascontiguousarray(X)
        out = X - self.mean  # the one new array; the division below reuses it
        out /= self.std
        return out

    def inverse_transform(self, X: Any) -> np.ndarray:
        """Map standardised features back to raw units: ``X * std + mean``."""
        X = np.asarray(X, dtype=np.float64)
        if self.mean is None:
            return np.ascontiguousarray(X)
        out = X * self.std
        out += self.mean
        return out

    def targets(self, y: np.ndarray, *, one_hot: bool = False, dtype: Any = np.float64) -> np.ndarray:
        """Turn ``y_train`` / ``y_test`` (or labels shaped like them) into network targets.

        See :func:`to_targets`; ``one_hot=True`` gives a binary task two columns (softmax output).
        """
        return to_targets(y, self.task, self.n_classes, one_hot=one_hot, dtype=dtype)

    def encode_labels(self, labels: Any) -> np.ndarray:
        """Class indices for labels written as class names (or as the numbers they were in the file).

        Raises :class:`InputError` for a label that is not one of ``class_names``.
        """
        if not self.is_classification:
            raise InputError(f"labels: the {self.name or 'dataset'} task is regression; it has no classes")
        indices, _ = encode_labels(np.asarray(labels), self.class_names, "labels")
        return indices

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description (for a summary file or a terminal panel)."""
        out: dict[str, Any] = {
            "name": self.name,
            "task": self.task,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_features": self.n_features,
            "n_outputs": self.n_outputs,
            "feature_names": list(self.feature_names),
            "standardized": self.standardized,
        }
        if self.is_classification:
            out["n_classes"] = self.n_classes
            out["class_names"] = list(self.class_names)
            out["train_class_counts"] = np.bincount(self.y_train, minlength=self.n_classes).tolist()
        else:
            out["target_names"] = list(self.target_names)
        return out

    def __repr__(self) -> str:
        classes = f", classes {self.class_names}" if self.is_classification else ""
        scaled = ", standardized" if self.standardized else ""
        return (
            f"Dataset({self.name or '?'}: {self.task}, {self.n_train} train / {self.n_test} test, "
            f"{self.n_features} features{classes}{scaled})"
        )


def to_targets(
    y: np.ndarray, task: str, n_classes: int = 0, *, one_hot: bool = False, dtype: Any = np.float64
) -> np.ndarray:
    """Network targets from labels.

    Parameters
    ----------
    y : ndarray
        Classification: int class indices, shape (n,). Regression: float targets, shape (n, k).
    task : {"binary", "multiclass", "regression"}
    n_classes : int
        Number of classes (classification only).
    one_hot : bool
        For a binary task, give the one-hot ``(n, 2)`` form (a softmax output) instead of ``(n, 1)``.
    dtype : numpy dtype
        Dtype of the result (float32 models get float32 targets without a later copy).

    Returns
    -------
    ndarray, shape (n, 1), (n, k) or (n, n_targets)
        binary: ``T[i, 0] = y[i]`` (0 or 1); multiclass: ``T[i, j] = 1 if y[i] == j else 0``;
        regression: ``y`` itself (no copy when it already has ``dtype``).
    """
    if task == "regression":
        y = np.asarray(y, dtype=dtype)
        return y.reshape(-1, 1) if y.ndim == 1 else y
    if task not in TASKS:
        raise InputError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and (y.dtype.kind not in "iub" or y.min() < 0 or y.max() >= n_classes)):
        raise InputError(f"y must be class indices in [0, {n_classes}) of shape (n,), got shape {y.shape}")
    if task == "binary" and not one_hot:
        return y.astype(dtype).reshape(-1, 1)
    T = np.zeros((y.shape[0], n_classes), dtype=dtype)
    T[np.arange(y.shape[0]), y] = 1
    return T


def encode_labels(
    labels: np.ndarray, class_names: list[str] | None, field: str
) -> tuple[np.ndarray, list[str]]:
    """Class indices and class names for raw labels.

    Without ``class_names`` the classes are the sorted distinct labels (numbers by value, text
    by name). With ``class_names`` labels are looked up by their text; integer labels none of
    which is a name are read as indices into ``class_names``.
    """
    labels = np.asarray(labels)
    if class_names is not None and labels.dtype.kind == "f" and np.isfinite(labels).all() \
            and np.array_equal(labels, np.trunc(labels)) and np.abs(labels).max(initial=0) < 2**53:
        labels = labels.astype(np.int64)  # y: [0.0, 1.0] indexes class_names as [0, 1] does
    if class_names is None:
        values, indices = np.unique(labels, return_inverse=True)
        return indices.reshape(-1).astype(np.int64), [str(v) for v in values.tolist()]
    values, inverse = np.unique(labels, return_inverse=True)
    text = [str(v) for v in values.tolist()]
    lookup = {name: i for i, name in enumerate(class_names)}
    if labels.dtype.kind in "iu" and not any(t in lookup for t in text):
        if values.size and (values[0] < 0 or values[-1] >= len(class_names)):
            bad = values[0] if values[0] < 0 else values[-1]
            raise InputError(
                f"{field}: label {bad} is not an index into class_names ({len(class_names)} classes) "
                f"nor one of {class_names}"
            )
        return labels.reshape(-1).astype(np.int64), list(class_names)
    missing = [t for t in text if t not in lookup]
    if missing and labels.dtype.kind == "f":  # a label that is no whole number, or beyond int64's exact range
        unnamed = [v for v, t in zip(values.tolist(), text) if t in missing]
        bad = next((v for v in unnamed if v % 1 or not 0 <= v < len(class_names)), unnamed[0])
        raise InputError(f"{field}: label {bad} is neither a whole-number index into class_names "
                         f"({len(class_names)} classes) nor one of {class_names}")
    if missing:
        raise InputError(f"{field}: label {missing[0]!r} is not one of class_names {class_names}")
    mapping = np.array([lookup[t] for t in text], dtype=np.int64)
    return mapping[inverse.reshape(-1)], list(class_names)
