"""Datasets: built-in generators, CSV / NPZ / inline loaders, the train/test split and standardisation.

An experiment's ``data`` mapping names a *source* from the :data:`datasets` registry plus the
split and preprocessing keys, and :func:`load` turns it into a :class:`Dataset`::

    data:
      name: moons          # a source: cat_dog, xor, moons, circles, spiral, blobs, linear, sine,
      n_samples: 300       #           csv, npz, inline
      noise: 0.2           # the source's own parameters
      test_fraction: 0.25  # split / preprocessing keys, handled by load()
      standardize: true

Conventions
-----------
- ``X`` is float64, shape ``(n_samples, n_features)``, C-contiguous (batch-first, as the engine).
- Classification (``task`` "binary" or "multiclass"): ``y`` is **int64 class indices**, shape
  ``(n_samples,)``, values in ``[0, n_classes)``; ``class_names[i]`` is the name of class ``i``.
- Regression: ``y`` is float64 targets, shape ``(n_samples, n_targets)``, **always 2-D**, even for a
  single target, so a regression ``y`` can be compared with the network output as it is.
- What a loss compares the network output with comes from :meth:`Dataset.targets`: binary ->
  ``(n, 1)`` float 0/1 (for one sigmoid unit), multiclass -> one-hot ``(n, k)``, regression -> ``y``.

Reproducibility: the data draws its random numbers from its own stream derived from the seed
(``data.seed`` if given, else the experiment seed), so the same seed gives identical arrays, and
the weight initialiser, which also starts from the experiment seed, never shares a stream with it.

Every :class:`~gradlab.errors.InputError` raised here names its field with the ``data.`` prefix,
the bad value and what is allowed, e.g. ``data.noise must be >= 0, got -1``.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import re
import sys
import zipfile
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np

from gradlab.errors import InputError, did_you_mean
from gradlab.registry import NUMBER_TEXT, Registry, number_in_text, split_spec, yes_or_no

__all__ = [
    "Dataset",
    "Raw",
    "Source",
    "SPLIT_KEYS",
    "TASKS",
    "datasets",
    "load",
    "permute_rows",
    "read_csv",
    "split_indices",
    "to_targets",
]

TASKS = ("binary", "multiclass", "regression")

#: Keys of the ``data`` mapping that belong to :func:`load`, not to the source, with defaults.
SPLIT_KEYS: dict[str, Any] = {"test_fraction": 0.25, "standardize": False, "stratify": True}

# Mixed into the seed so the data's stream differs from every other consumer of the same
# experiment seed (the bytes spell "data").
_DATA_STREAM = int.from_bytes(b"data", "big")


# --------------------------------------------------------------------------------------------
# The dataset
# --------------------------------------------------------------------------------------------


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
        A constant training column gets ``std = 1`` so it maps to 0 instead of dividing by zero.
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


# --------------------------------------------------------------------------------------------
# Validation helpers. Messages start with the parameter's name; load() adds the "data." prefix.
# --------------------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _check_int(name: str, value: Any, minimum: int) -> int:
    value = number_in_text(value)
    if _is_number(value) and not _is_int(value) and abs(value) <= 2**53 and float(value).is_integer():
        value = int(value)  # 2e2 and 200.0 are 200, as in the schema's whole numbers (1e300 stays as written)
    if not _is_int(value):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_real(
    name: str, value: Any, *, low: float | None = None, high: float | None = None, open_low: bool = False,
    open_high: bool = False,
) -> float:
    allowed = " and ".join(
        part
        for part in (
            None if low is None else f"{'>' if open_low else '>='} {low:g}",
            None if high is None else f"{'<' if open_high else '<='} {high:g}",
        )
        if part
    )
    value = number_in_text(value)
    if not _is_number(value):
        raise InputError(f"{name} must be a number{' ' + allowed if allowed else ''}, got {value!r}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if open_low else value < low
    if high is not None:
        bad |= value >= high if open_high else value > high
    if bad:
        raise InputError(f"{name} must be {allowed or 'finite'}, got {value:g}")
    return value


def _check_seed(name: str, value: Any) -> int | None:
    if value is None:
        return None
    return _check_int(name, value, 0)


def _check_bool(name: str, value: Any) -> bool:
    """``value`` read by the rule the schemas' true-or-false settings follow (:func:`yes_or_no`)."""
    try:
        return yes_or_no(bool(value) if isinstance(value, np.bool_) else value)
    except ValueError as error:
        raise InputError(f"{name} {error}") from None


def check_delimiter(name: str, value: Any) -> str:
    """The character between a CSV's cells: a csv source's ``delimiter``, ``gradlab predict --delimiter``.
    The two characters ``\\t`` mean a tab, which a shell or a single-quoted YAML text cannot easily hold."""
    if value == "\\t":
        return "\t"
    if not isinstance(value, str) or len(value) != 1:
        raise InputError(f"{name} must be a single character, got {value!r}")
    return value


def _check_names(name: str, value: Any) -> list[str] | None:
    """A list of names; a comma-separated string is accepted so ``--set`` can write one."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, Sequence) or not value:
        raise InputError(f"{name} must be a non-empty list of names, got {value!r}")
    names = [str(item).strip() for item in value]
    seen = set()
    for item in names:
        if not item:
            raise InputError(f"{name} must not contain an empty name, got {value!r}")
        if item in seen:
            raise InputError(f"{name} lists {item!r} twice")
        seen.add(item)
    return names


_SOURCE_TASKS = ("classification", "regression")


def _check_task(name: str, value: Any) -> str | None:
    if value is None or value in _SOURCE_TASKS:
        return value
    allowed = ", ".join(_SOURCE_TASKS)
    raise InputError(f"{name} must be one of {allowed} (or omitted to infer it), got {value!r}")


#: the delimiters a CSV is commonly written with, for the hint of :func:`_other_delimiter`
COMMON_DELIMITERS = (",", ";", "\t", "|")


def _other_delimiter(header: Sequence[str], delimiter: str, option: str) -> str:
    """A hint when the header read as one column holds a common delimiter other than ``delimiter``:
    a comma-separated file read at ';' has the single column 'a,b,target'."""
    others = [d for d in COMMON_DELIMITERS if d != delimiter and len(header) == 1 and d in header[0]]
    return f" (one column: the file seems to be separated by {others[0]!r}, not {delimiter!r}; see {option})" \
        if others else ""


def _suggest(word: str, choices: Sequence[str]) -> str:
    """did-you-mean that also catches a difference in case only (``Y`` for ``y``), which difflib misses."""
    for choice in choices:
        if choice.lower() == word.lower():
            return f" (did you mean {choice!r}?)"
    return did_you_mean(word, choices)


@contextmanager
def _prefixed(field: str):
    """Give errors raised by a source (``noise must be ...``) their full name (``data.noise ...``)."""
    try:
        yield
    except InputError as error:
        raise type(error)(f"{field}.{error}") from None


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


class Raw(NamedTuple):
    """What a source produces, before labels are encoded and the data is split.

    Attributes
    ----------
    X : ndarray of float64, shape (n, n_features)
        A fresh array: :func:`load` reorders and standardises it in place.
    y : ndarray, shape (n,) or (n, k)
        Labels as the source has them: ints, strings or bools (classes) or floats (regression).
    meta : dict
        ``feature_names`` (list of str, required); optional ``class_names`` (the order of the
        classes, for int labels also their names), ``target_names``, ``task``
        ("classification" / "regression", overrides inference) and ``info`` (a JSON-ready dict).
    """

    X: np.ndarray
    y: np.ndarray
    meta: dict[str, Any]


class Source:
    """Base of the registered data sources.

    A source is a small keyword-only dataclass: its fields are its config keys (so the registry
    validates them with a did-you-mean), ``__post_init__`` checks their values, and
    :meth:`raw` produces the data. Every source has ``seed`` (None: the experiment seed).
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]]
    seed: int | None

    def resolved(self, base_dir: Path | None) -> Source:
        """The source with relative paths made absolute against ``base_dir`` (no-op by default)."""
        return self

    def raw(self, rng: np.random.Generator) -> Raw:  # pragma: no cover - abstract
        """Produce ``(X, y, meta)`` drawing any randomness from ``rng``."""
        raise NotImplementedError


#: The registry of data sources: ``datasets.create("moons:noise=0.2")``, ``datasets.names()``.
datasets: Registry[Source] = Registry("dataset")


def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels in ``[0, k)``, each class ``n // k`` or ``n // k + 1`` times, in random order.

    Balanced by construction (rather than drawn) so a small sample never misses a class.
    """
    return rng.permutation(np.arange(n, dtype=np.int64) % k)


def _xy_names(d: int) -> list[str]:
    return [f"x{j + 1}" for j in range(d)]


def _check_generated_finite(field: str, name: str, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray) -> None:
    """Refuse a generated set with inf or nan in it: its parameters (noise=1e308, say) go beyond
    float64's range, and training on it would end as a 'divergence' blamed on the learning rate."""
    if np.isfinite(X).all() and (y.dtype.kind != "f" or np.isfinite(y).all()):
        return
    given = ", ".join(f"{key}={value}" for key, value in params.items() if key != "seed")
    raise InputError(f"{field}: {name}{' with ' + given if given else ''} generates numbers beyond float64's range "
                     f"({sys.float_info.max:.3g}); use smaller parameters")


#: More rows than any generated set needs; far more than memory holds (see _check_generated_size).
MAX_SAMPLES = 10**9


def _check_generated_size(source: _Generator) -> None:
    """Refuse a generated set that cannot be drawn in this machine's memory, before drawing it.

    It holds its features, its labels and the split's permutation, and while drawing up to
    about 2.5x that (measured: cat_dog with 10 million samples peaks at 730 MB, 2.3x its
    32 bytes a row). Without this check 900 million samples were killed by the kernel.
    """
    from gradlab.machine import physical_memory

    memory = physical_memory()
    width = (getattr(source, "n_features", None) or 2) + 2
    need = 2.5 * 8 * width * source.n_samples
    if memory is not None and need > memory:
        raise InputError(f"n_samples: {source.n_samples:,} samples need about {need / 2**30:.3g} GiB while they "
                         f"are drawn, more than this machine's {memory / 2**30:.3g} GiB")


@dataclass(kw_only=True)
class _Generator(Source):
    """Shared checks of the synthetic generators: ``n_samples``, ``noise``, ``seed``."""

    min_samples: ClassVar[int] = 2

    def __post_init__(self) -> None:
        self.n_samples = _check_int("n_samples", self.n_samples, self._min_samples())
        if self.n_samples > MAX_SAMPLES:  # numpy cannot even size the array: "Maximum allowed size exceeded"
            raise InputError(f"n_samples must be at most {MAX_SAMPLES:,}, got {self.n_samples:,}")
        self.noise = _check_real("noise", self.noise, low=0)
        self.seed = _check_seed("seed", self.seed)

    def _min_samples(self) -> int:
        # every class must appear at least once
        return max(self.min_samples, getattr(self, "classes", 2))


def _classes_meta(k: int, names: list[str] | None = None) -> dict[str, Any]:
    return {"task": "classification", "class_names": names or [str(j) for j in range(k)]}


@datasets.register("cat_dog")
@dataclass(kw_only=True)
class CatDog(_Generator):
    """SYNTHETIC cats versus dogs from two measurements: body weight (kg) and snout length (cm).

    The numbers are made up to look plausible (a domestic cat against a small-to-medium dog);
    they are **not** measurements of real animals. Each class is a 2-D Gaussian; ``noise``
    scales both standard deviations:

    ======  ===================  ======================  ==========================
    class   weight_kg            snout_length_cm         correlation within class
    ======  ===================  ======================  ==========================
    cat 0   N(4.5, (1.0 s)^2)    N(3.0, (0.6 s)^2)       0.3
    dog 1   N(11.0, (2.5 s)^2)   N(6.5, (1.2 s)^2)       0.5
    ======  ===================  ======================  ==========================

    with ``s = noise``: ``x = mu + s * sigma * (z1, rho z1 + sqrt(1 - rho^2) z2)``, ``z ~ N(0, I)``,
    then clipped below at 0.1 so no animal has a negative size. Classes are balanced.

    At ``noise = 1`` the two clouds overlap a little: the best straight boundary classifies about
    98.9% of animals correctly, so a single sigmoid neuron reaches >= 95% test accuracy but the
    data is, in general, not perfectly separable (a 400-sample draw almost always has a few cats
    on the dog side). ``noise = 0`` puts every animal on its class mean; ``noise = 2`` overlaps heavily.

    Parameters
    ----------
    n_samples : int, default 400
    noise : float, default 1.0
        Multiplier of the within-class spreads (>= 0).
    seed : int or None
        Seed of the draw and the split; None uses the experiment seed.
    """

    n_samples: int = 400
    noise: float = 1.0
    seed: int | None = None

    _MEAN = np.array([[4.5, 3.0], [11.0, 6.5]])
    _STD = np.array([[1.0, 0.6], [2.5, 1.2]])
    _RHO = np.array([0.3, 0.5])

    def raw(self, rng: np.random.Generator) -> Raw:
        y = _balanced_labels(self.n_samples, 2, rng)
        z = rng.standard_normal((self.n_samples, 2))
        rho = self._RHO[y]
        # correlate the snout with the weight inside each class (bigger dogs, longer snouts)
        z[:, 1] = rho * z[:, 0] + np.sqrt(1.0 - rho**2) * z[:, 1]
        X = z
        X *= self._STD[y]
        X *= self.noise
        X += self._MEAN[y]
        np.maximum(X, 0.1, out=X)
        meta = {"feature_names": ["weight_kg", "snout_length_cm"], **_classes_meta(2, ["cat", "dog"])}
        return Raw(X, y, meta)


@datasets.register("xor")
@dataclass(kw_only=True)
class Xor(_Generator):
    """XOR: four Gaussian clouds at the corners (+-1, +-1); the class is 1 where the signs differ.

    ``c ~ {(-1,-1), (-1,1), (1,-1), (1,1)}`` (balanced), ``x = c + noise * z``, ``z ~ N(0, I)``,
    ``y = [c1 * c2 < 0]``. No straight line separates the classes: a hidden layer is needed.
    ``noise = 0`` gives the four textbook points.

    Parameters
    ----------
    n_samples : int, default 200
    noise : float, default 0.3
        Standard deviation of the Gaussian around each corner.
    seed : int or None
    """

    n_samples: int = 200
    noise: float = 0.3
    seed: int | None = None

    _CORNERS = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])

    def raw(self, rng: np.random.Generator) -> Raw:
        corner = _balanced_labels(self.n_samples, 4, rng)
        X = rng.standard_normal((self.n_samples, 2))
        X *= self.noise
        X += self._CORNERS[corner]
        y = ((corner == 1) | (corner == 2)).astype(np.int64)
        return Raw(X, y, {"feature_names": _xy_names(2), **_classes_meta(2)})


@datasets.register("moons")
@dataclass(kw_only=True)
class Moons(_Generator):
    """Two interleaving half circles.

    ``t ~ U(0, pi)``; class 0: ``(cos t, sin t)``; class 1: ``(1 - cos t, 1/2 - sin t)``;
    then ``x += noise * z``, ``z ~ N(0, I)``. Classes are balanced.

    Parameters
    ----------
    n_samples : int, default 200
    noise : float, default 0.1
        Standard deviation of the Gaussian added to both coordinates.
    seed : int or None
    """

    n_samples: int = 200
    noise: float = 0.1
    seed: int | None = None

    def raw(self, rng: np.random.Generator) -> Raw:
        y = _balanced_labels(self.n_samples, 2, rng)
        t = rng.uniform(0.0, np.pi, self.n_samples)
        flip = 1.0 - 2.0 * y  # +1 for class 0, -1 for class 1: one formula for both moons
        X = rng.standard_normal((self.n_samples, 2))
        X *= self.noise
        X[:, 0] += flip * np.cos(t) + y
        X[:, 1] += flip * np.sin(t) + 0.5 * y
        return Raw(X, y, {"feature_names": _xy_names(2), **_classes_meta(2)})


@datasets.register("circles")
@dataclass(kw_only=True)
class Circles(_Generator):
    """A small circle inside a large one.

    ``theta ~ U(0, 2 pi)``, radius ``r = 1`` (class 0) or ``r = factor`` (class 1),
    ``x = r (cos theta, sin theta) + noise * z``, ``z ~ N(0, I)``. Classes are balanced.

    Parameters
    ----------
    n_samples : int, default 200
    noise : float, default 0.05
        Standard deviation of the Gaussian added to both coordinates.
    factor : float, default 0.5
        Radius of the inner circle relative to the outer one, in (0, 1).
    seed : int or None
    """

    n_samples: int = 200
    noise: float = 0.05
    factor: float = 0.5
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.factor = _check_real("factor", self.factor, low=0, high=1, open_low=True, open_high=True)

    def raw(self, rng: np.random.Generator) -> Raw:
        y = _balanced_labels(self.n_samples, 2, rng)
        theta = rng.uniform(0.0, 2.0 * np.pi, self.n_samples)
        r = 1.0 - (1.0 - self.factor) * y
        X = rng.standard_normal((self.n_samples, 2))
        X *= self.noise
        X[:, 0] += r * np.cos(theta)
        X[:, 1] += r * np.sin(theta)
        return Raw(X, y, {"feature_names": _xy_names(2), **_classes_meta(2)})


@datasets.register("spiral")
@dataclass(kw_only=True)
class Spiral(_Generator):
    """Interleaved spiral arms, one per class: the classic softmax exercise.

    For class ``j``: ``r ~ U(0, 1)``, ``theta = 2 pi j / k + 2 pi turns r``,
    ``x = r (cos theta, sin theta) + noise * z``, ``z ~ N(0, I)``. Classes are balanced.

    Parameters
    ----------
    n_samples : int, default 300
    noise : float, default 0.03
        Standard deviation of the Gaussian added to both coordinates.
    classes : int, default 3
        Number of arms (>= 2).
    turns : float, default 0.75
        How many full turns each arm makes from the centre to radius 1 (> 0).
    seed : int or None
    """

    n_samples: int = 300
    noise: float = 0.03
    classes: int = 3
    turns: float = 0.75
    seed: int | None = None

    def __post_init__(self) -> None:
        self.classes = _check_int("classes", self.classes, 2)
        self.turns = _check_real("turns", self.turns, low=0, open_low=True)
        super().__post_init__()

    def raw(self, rng: np.random.Generator) -> Raw:
        y = _balanced_labels(self.n_samples, self.classes, rng)
        r = rng.uniform(0.0, 1.0, self.n_samples)
        theta = (2.0 * np.pi / self.classes) * y + (2.0 * np.pi * self.turns) * r
        X = rng.standard_normal((self.n_samples, 2))
        X *= self.noise
        X[:, 0] += r * np.cos(theta)
        X[:, 1] += r * np.sin(theta)
        return Raw(X, y, {"feature_names": _xy_names(2), **_classes_meta(self.classes)})


@datasets.register("blobs")
@dataclass(kw_only=True)
class Blobs(_Generator):
    """Gaussian clusters, one per class, with centres evenly spaced on a circle.

    Centre of class ``j``: ``c_j = radius (cos(2 pi j / k), sin(2 pi j / k), 0, ..., 0)``;
    ``x = c_y + noise * z``, ``z ~ N(0, I_d)``. Features beyond the first two carry only noise
    (useful to see a network ignore them). Classes are balanced.

    Parameters
    ----------
    n_samples : int, default 300
    noise : float, default 1.0
        Standard deviation of each cluster.
    classes : int, default 3
        Number of clusters (>= 2).
    n_features : int, default 2
        Input dimension (>= 2).
    radius : float, default 3.0
        Distance of every centre from the origin (> 0).
    seed : int or None
    """

    n_samples: int = 300
    noise: float = 1.0
    classes: int = 3
    n_features: int = 2
    radius: float = 3.0
    seed: int | None = None

    def __post_init__(self) -> None:
        self.classes = _check_int("classes", self.classes, 2)
        self.n_features = _check_int("n_features", self.n_features, 2)
        self.radius = _check_real("radius", self.radius, low=0, open_low=True)
        super().__post_init__()

    def raw(self, rng: np.random.Generator) -> Raw:
        y = _balanced_labels(self.n_samples, self.classes, rng)
        angle = 2.0 * np.pi * np.arange(self.classes) / self.classes
        X = rng.standard_normal((self.n_samples, self.n_features))
        X *= self.noise
        X[:, 0] += self.radius * np.cos(angle)[y]
        X[:, 1] += self.radius * np.sin(angle)[y]
        return Raw(X, y, {"feature_names": _xy_names(self.n_features), **_classes_meta(self.classes)})


@datasets.register("linear")
@dataclass(kw_only=True)
class Linear(_Generator):
    """Linear regression data: ``y = X w + b + noise * e``.

    ``X ~ N(0, I_d)``, ``e ~ N(0, 1)``; ``w`` is ``weights`` if given, otherwise drawn from
    ``U(-2, 2)^d`` with the data's seed. The true ``weights`` and ``bias`` are kept in
    ``Dataset.info`` so a learned model can be compared with them.

    Parameters
    ----------
    n_samples : int, default 200
    noise : float, default 0.1
        Standard deviation of the target noise.
    n_features : int or None, default None
        Input dimension ``d`` (>= 1); None means ``len(weights)``, or 1.
    weights : list of float or None, default None
        The true ``w``.
    bias : float, default 0.0
        The true ``b``.
    seed : int or None
    """

    n_samples: int = 200
    noise: float = 0.1
    n_features: int | None = None
    weights: list[float] | None = None
    bias: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.bias = _check_real("bias", self.bias)
        if self.weights is not None:
            if isinstance(self.weights, (int, float)) and not isinstance(self.weights, bool):
                self.weights = [self.weights]
            if not isinstance(self.weights, Sequence) or isinstance(self.weights, str) or not self.weights:
                raise InputError(f"weights must be a non-empty list of numbers, got {self.weights!r}")
            self.weights = [_check_real(f"weights[{j}]", w) for j, w in enumerate(self.weights)]
        if self.n_features is None:
            self.n_features = len(self.weights) if self.weights is not None else 1
        self.n_features = _check_int("n_features", self.n_features, 1)
        if self.weights is not None and len(self.weights) != self.n_features:
            raise InputError(
                f"weights has {len(self.weights)} values but n_features is {self.n_features}; "
                "give one weight per feature (or leave n_features out)"
            )

    def raw(self, rng: np.random.Generator) -> Raw:
        d = self.n_features
        w = np.array(self.weights) if self.weights is not None else rng.uniform(-2.0, 2.0, d)
        X = rng.standard_normal((self.n_samples, d))
        y = rng.standard_normal((self.n_samples, 1))
        y *= self.noise
        y += (X @ w)[:, None] + self.bias
        info = {"weights": w.tolist(), "bias": self.bias}
        meta = {"feature_names": _xy_names(d), "target_names": ["y"], "task": "regression", "info": info}
        return Raw(X, y, meta)


@datasets.register("sine")
@dataclass(kw_only=True)
class Sine(_Generator):
    """One period of a sine: ``x ~ U(low, high)``, ``y = sin(x) + noise * e``, ``e ~ N(0, 1)``.

    Parameters
    ----------
    n_samples : int, default 200
    noise : float, default 0.1
        Standard deviation of the target noise.
    low, high : float, default -pi, pi
        The interval ``x`` is drawn from (``low < high``).
    seed : int or None
    """

    n_samples: int = 200
    noise: float = 0.1
    low: float = -math.pi
    high: float = math.pi
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.low = _check_real("low", self.low)
        self.high = _check_real("high", self.high, low=self.low, open_low=True)
        if not math.isfinite(self.high - self.low):  # rng.uniform draws low + (high - low) u
            raise InputError(f"high must be within {sys.float_info.max:.3g} of low (the widest interval a float "
                             f"holds), got low={self.low:g}, high={self.high:g}")

    def raw(self, rng: np.random.Generator) -> Raw:
        X = rng.uniform(self.low, self.high, (self.n_samples, 1))
        y = rng.standard_normal((self.n_samples, 1))
        y *= self.noise
        y += np.sin(X)
        return Raw(X, y, {"feature_names": ["x"], "target_names": ["y"], "task": "regression"})


# ---- loaders --------------------------------------------------------------------------------


def _resolve_path(path: str, base_dir: Path | None) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    p = p.resolve()
    if not p.exists():
        raise InputError(f"path: file not found: '{p}'")
    if not p.is_file():
        raise InputError(f"path: '{p}' is not a file")
    return p


def _check_path(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"path must be a file name, got {value!r}")
    return value


def _check_quotes_closed(path, delimiter: str, row: list[str], start: int, field: str) -> None:
    """Refuse a quote left open: the lenient reader makes the rest of the file one cell of the
    row it opened in (a class label of many lines, and the rows after it gone).

    Only a row with a line break in a cell can be that row, so only then is the file read again
    by the strict reader, whose one complaint at the end of the data says so. (Everywhere else
    the lenient reader is kept: it reads ``"cat" ,1``, which the strict one refuses.)
    """
    if not any("\n" in cell or "\r" in cell for cell in row):
        return
    with open(path, newline="", encoding="utf-8-sig") as handle:
        try:
            for _ in csv.reader(handle, delimiter=delimiter, strict=True):
                pass
        except csv.Error as error:
            if str(error) == "unexpected end of data":
                raise InputError(f"{field}: '{path}' is not valid CSV: the quote opened on line {start} is never "
                                 "closed") from None


def _loose_numbers(cells: list[list[str]]) -> bool:
    """Whether a cell may hold what float() reads but :data:`NUMBER_TEXT` refuses: an underscore or a
    character beyond ASCII. One C-speed test per row, so a large file pays nothing per cell."""
    return any("_" in text or not text.isascii() for text in map("".join, cells))


def _first_bad_number(cells: list[list[str]], columns: list[str], lines: list[int], file: str,
                      field: str) -> InputError:
    """Locate the cell that stopped the bulk conversion (or that :func:`_loose_numbers` flagged),
    for a message a person can act on; ``field`` names the file (see :func:`read_csv`)."""
    for row, line in zip(cells, lines):
        for text, column in zip(row, columns):
            if not NUMBER_TEXT.fullmatch(text):
                what = "an empty value" if not text.strip() else f"{text.strip()!r}, which is not a number"
                return InputError(f"{field}: '{file}' line {line}, column {column!r}: {what}")
            value = float(text)
            if not math.isfinite(value):
                return InputError(
                    f"{field}: '{file}' line {line}, column {column!r}: {text.strip()!r} is not a finite number"
                )
    return InputError(f"{field}: '{file}': could not read the numbers")  # pragma: no cover


def read_csv(
    path: str | Path,
    *,
    target: str | Sequence[str] | None = "target",
    features: Sequence[str] | None = None,
    task: str | None = None,
    delimiter: str = ",",
    fields: Mapping[str, str] | None = None,
) -> Raw:
    """Read a CSV file with a header row into raw features and labels.

    Parameters
    ----------
    path : str or Path
        The file (already resolved).
    target : str, list of str or None
        The label column (several columns: a multi-output regression). None reads features only
        (``y`` then has zero columns), as for ``gradlab predict``.
    features : list of str or None
        The feature columns, in order; None means every column except the target(s).
    task : {"classification", "regression"} or None
        None infers it: integer or text labels are classes, other numbers regression targets.
    delimiter : str
    fields : mapping, optional
        What the messages call the file, the target and the features: by default the keys of a
        csv data source (``path``, ``target``, ``features``), which a config prefixes with
        ``data.``; ``gradlab predict`` names its argument instead (``{"path": "DATA", ...}``).

    Returns
    -------
    Raw
        ``X`` float64 (n, d); ``y`` int64 (integer labels), float64 (regression, (n, k)) or
        str (text labels), shape (n,).

    Raises
    ------
    InputError
        For an empty file, a missing column, a row of the wrong length, or a value that is not
        a finite number where one is needed; the message names the file, line and column.
    """
    file = str(path)
    named = {"path": "path", "target": "target", "features": "features", "delimiter": "delimiter", **(fields or {})}
    source = named["path"]
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header: list[str] | None = None
            rows: list[list[str]] = []
            lines: list[int] = []
            end = 0
            for row in reader:
                start, end = end + 1, reader.line_num  # a quoted cell may span lines
                if not any(cell.strip() for cell in row):
                    continue  # blank lines carry nothing
                if header is None:
                    header = [cell.strip() for cell in row]
                    continue
                if len(row) != len(header):
                    _check_quotes_closed(path, delimiter, row, start, source)
                    raise InputError(
                        f"{source}: '{file}' line {reader.line_num} has {len(row)} values but the header has "
                        f"{len(header)} columns"
                    )
                rows.append(row)
                lines.append(reader.line_num)
            if rows:
                _check_quotes_closed(path, delimiter, rows[-1], start, source)
    except UnicodeDecodeError:
        raise InputError(f"{source}: '{file}' is not UTF-8 text") from None
    except csv.Error as error:
        raise InputError(f"{source}: '{file}' is not valid CSV: {error} (line {reader.line_num})") from None
    except OSError as error:
        raise InputError(f"{source}: cannot read '{file}': {error.strerror or error}") from None

    if header is None:
        raise InputError(f"{source}: '{file}' is empty; a CSV needs a header row and at least one data row")
    for j, name in enumerate(header):
        if not name:
            raise InputError(f"{source}: '{file}': column {j + 1} of the header has no name")
        if name in header[:j]:
            raise InputError(f"{source}: '{file}': the header names column {name!r} twice")
    if not rows:
        raise InputError(f"{source}: '{file}' has a header but no data rows")

    def index_of(field: str, column: str) -> int:
        if column not in header:
            misread = _other_delimiter(header, delimiter, named["delimiter"])  # then 'a,b,target' is no suggestion
            raise InputError(
                f"{named[field]}: column {column!r} not found in '{file}'{'' if misread else _suggest(column, header)}; "
                f"columns: {', '.join(header)}{misread}"
            )
        return header.index(column)

    targets = [] if target is None else [target] if isinstance(target, str) else list(target)
    target_idx = [index_of("target", column) for column in targets]
    if features is None:
        feature_idx = [j for j in range(len(header)) if j not in target_idx]
    else:
        feature_idx = [index_of("features", column) for column in features]
        overlap = sorted(set(feature_idx) & set(target_idx))
        if overlap:
            raise InputError(f"{named['features']}: column {header[overlap[0]]!r} is also the target")
    if not feature_idx:
        raise InputError(f"{source}: '{file}' has no feature columns besides the target {', '.join(targets)}")
    feature_names = [header[j] for j in feature_idx]

    cells = [[row[j] for j in feature_idx] for row in rows]
    try:
        X = np.array(cells, dtype=np.float64)
    except ValueError:
        raise _first_bad_number(cells, feature_names, lines, file, source) from None
    if not np.isfinite(X).all() or _loose_numbers(cells):
        raise _first_bad_number(cells, feature_names, lines, file, source)
    del cells

    meta: dict[str, Any] = {"feature_names": feature_names, "task": task}
    if not target_idx:
        return Raw(X, np.empty((X.shape[0], 0)), meta)

    labels = [[row[j].strip() for j in target_idx] for row in rows]
    for row, line in zip(labels, lines):
        for text, column in zip(row, targets):
            if not text:
                raise InputError(f"{named['target']}: '{file}' line {line}, column {column!r}: an empty label")
    if len(targets) > 1 or task == "regression":
        try:
            y = np.array(labels, dtype=np.float64)
        except ValueError:
            raise _first_bad_number(labels, targets, lines, file, source) from None
        if not np.isfinite(y).all() or _loose_numbers(labels):
            raise _first_bad_number(labels, targets, lines, file, source)
        meta.update(task="regression", target_names=targets)
        return Raw(X, y, meta)

    text = np.array([row[0] for row in labels])
    y: np.ndarray
    if _loose_numbers(labels):  # '1_0' or '１' is a name, not the class 10 or 1, as for float() and int()
        y = text
    else:
        try:
            y = text.astype(np.int64)
        except (ValueError, OverflowError):
            try:
                y = text.astype(np.float64)
            except ValueError:
                y = text  # names, not numbers
            else:
                if not np.isfinite(y).all():
                    raise _first_bad_number(labels, targets, lines, file, source) from None
    meta["target_names"] = targets
    return Raw(X, y, meta)


@dataclass(kw_only=True)
class _Loader(Source):
    def __post_init__(self) -> None:
        self.seed = _check_seed("seed", self.seed)
        self.task = _check_task("task", self.task)
        self.class_names = _check_names("class_names", self.class_names)

    def resolved(self, base_dir: Path | None) -> Source:
        return dataclasses.replace(self, path=str(_resolve_path(self.path, base_dir)))


@datasets.register("csv")
@dataclass(kw_only=True)
class Csv(_Loader):
    """A CSV file with a header row; one column is the target, the others are features.

    Text labels become classes sorted by name (``dog, cat, dog`` -> ``class_names = ["cat",
    "dog"]``, ``y = [1, 0, 1]``); integer labels become classes sorted by value; other numbers
    make a regression target. ``class_names`` fixes the order instead (e.g. which class is 1).

    Parameters
    ----------
    path : str
        The file; relative to the config file's directory when the config came from a file.
    target : str, default "target"
        The label column. For a multi-output regression, a list of columns.
    features : list of str or None, default None
        Feature columns in order; None: every other column.
    class_names : list of str or None, default None
        The classes in index order; every label must be one of them.
    task : {"classification", "regression"} or None, default None
        Overrides the inference from the labels.
    delimiter : str, default ","
    seed : int or None
        Seed of the split; None uses the experiment seed.
    """

    path: str
    target: str | list[str] = "target"
    features: list[str] | None = None
    class_names: list[str] | None = None
    task: str | None = None
    delimiter: str = ","
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.path = _check_path(self.path)
        if isinstance(self.target, str):
            if not self.target.strip():
                raise InputError(f"target must be a column name, got {self.target!r}")
            self.target = self.target.strip()
        else:
            self.target = _check_names("target", self.target)
        self.features = _check_names("features", self.features)
        self.delimiter = check_delimiter("delimiter", self.delimiter)

    def raw(self, rng: np.random.Generator) -> Raw:
        raw = read_csv(
            self.path, target=self.target, features=self.features, task=self.task, delimiter=self.delimiter,
            fields={"delimiter": "data.delimiter"},
        )
        raw.meta["class_names"] = self.class_names
        return raw


def _npz_array(archive: Any, key: str, field: str, file: str) -> np.ndarray:
    if key not in archive.files:
        raise InputError(
            f"{field}: '{file}' has no array {key!r}{_suggest(key, archive.files)}; "
            f"arrays: {', '.join(archive.files) or 'none'}"
        )
    try:
        return archive[key]
    except ValueError as error:  # object arrays need pickle, which is refused on purpose
        raise InputError(f"{field}: array {key!r} in '{file}' cannot be read safely: {error}") from None


@datasets.register("npz")
@dataclass(kw_only=True)
class Npz(_Loader):
    """A NumPy ``.npz`` archive holding the features and the labels.

    ``X``: numbers, shape (n, d) (or (n,) for one feature). ``y``: shape (n,) of ints, bools or
    strings (classes), or floats (regression, (n,) or (n, k)). Pickled objects are refused.

    Parameters
    ----------
    path : str
        The archive; relative to the config file's directory.
    x_key, y_key : str, default "X", "y"
        The names of the two arrays in the archive.
    feature_names : list of str or None, default None
        Names of the columns of ``X`` (default ``x1, x2, ...``).
    class_names : list of str or None, default None
        The classes in index order (integer labels are read as indices when they are not names).
    task : {"classification", "regression"} or None, default None
    seed : int or None
        Seed of the split; None uses the experiment seed.
    """

    path: str
    x_key: str = "X"
    y_key: str = "y"
    feature_names: list[str] | None = None
    class_names: list[str] | None = None
    task: str | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.path = _check_path(self.path)
        self.feature_names = _check_names("feature_names", self.feature_names)

    def raw(self, rng: np.random.Generator) -> Raw:
        file = self.path
        try:
            archive = np.load(file, allow_pickle=False)
        except EOFError:  # what np.load raises for an empty file
            raise InputError(f"path: '{file}' is empty, not an .npz archive (numpy.savez writes one)") from None
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise InputError(f"path: '{file}' is not a readable .npz archive: {error}") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise InputError(f"path: '{file}' holds a single array (.npy); save X and y with numpy.savez")
        with archive:
            X = _npz_array(archive, self.x_key, "x_key", file)
            y = _npz_array(archive, self.y_key, "y_key", file)
        if X.dtype.kind not in "biuf":
            raise InputError(f"x_key: array {self.x_key!r} in '{file}' must hold numbers, got dtype {X.dtype}")
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise InputError(f"x_key: array {self.x_key!r} in '{file}' must be 2-D (n, d), got shape {X.shape}")
        if y.shape[:1] != X.shape[:1] or y.ndim > 2:
            raise InputError(
                f"y_key: array {self.y_key!r} in '{file}' must have shape ({X.shape[0]},) or ({X.shape[0]}, k) "
                f"to match {self.x_key!r}, got {y.shape}"
            )
        if y.dtype.kind not in "biufUS":
            raise InputError(f"y_key: array {self.y_key!r} in '{file}' has unsupported dtype {y.dtype}")
        X = np.ascontiguousarray(X, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
        if bad.size:
            raise InputError(f"x_key: array {self.x_key!r} in '{file}' row {bad[0]} holds a non-finite value")
        if y.dtype.kind == "S":
            y = y.astype(str)
        names = self.feature_names or _xy_names(X.shape[1])
        if len(names) != X.shape[1]:
            raise InputError(f"feature_names has {len(names)} names but {self.x_key!r} has {X.shape[1]} columns")
        return Raw(X, y, {"feature_names": names, "task": self.task, "class_names": self.class_names})


def _inline_matrix(name: str, rows: Any, *, allow_text: bool = False) -> np.ndarray:
    """Rows written in YAML -> an array, refusing ragged rows and values that are not numbers."""
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        raise InputError(f"{name} must be a list, got {rows!r}")
    if not rows:
        return np.empty((0, 0))  # load() reports the empty dataset with its name
    nested = [isinstance(row, (list, tuple)) for row in rows]
    if any(nested) and not all(nested):
        first = nested.index(not nested[0])
        raise InputError(f"{name} mixes rows and single values (row {first}: {rows[first]!r})")
    table = [list(row) for row in rows] if all(nested) else [[value] for value in rows]
    width = len(table[0])
    for i, row in enumerate(table):
        if len(row) != width or not row:
            raise InputError(f"{name} row {i} has {len(row)} values, expected {width} like row 0")
    kinds = set()
    for i, row in enumerate(table):
        for j, value in enumerate(row):
            if isinstance(value, str) and allow_text:
                kinds.add("text")
            elif isinstance(value, (bool, np.bool_)) and allow_text:
                kinds.add("bool")
            elif _is_int(value) and allow_text:
                kinds.add("int")
            elif _is_number(value):
                if not math.isfinite(value):
                    raise InputError(f"{name} row {i}, column {j}: {value!r} is not a finite number")
                kinds.add("float")
            else:
                raise InputError(f"{name} row {i}, column {j}: {value!r} is not a number")
    if len(kinds) > 1 and ("text" in kinds or "bool" in kinds):
        raise InputError(f"{name} mixes {' and '.join(sorted(kinds))} values; write every label the same way")
    if kinds == {"text"}:
        return np.array(table, dtype=str)
    if kinds == {"bool"}:
        return np.array(table, dtype=bool)
    if kinds == {"int"}:
        return np.array(table, dtype=np.int64)
    return np.array(table, dtype=np.float64)


@datasets.register("inline")
@dataclass(kw_only=True)
class Inline(_Loader):
    """Values written in the config itself, for tiny textbook examples.

    ``X`` is a list of rows (a flat list means one feature); ``y`` a list of labels: text, ints
    or bools (classes) or floats (regression; rows of floats for several targets).

    Parameters
    ----------
    X : list of list of float
    y : list
    class_names : list of str or None, default None
        The classes in index order: text labels are looked up in it; integer labels that are not
        names are read as indices into it.
    feature_names : list of str or None, default None
    task : {"classification", "regression"} or None, default None
    seed : int or None
        Seed of the split; None uses the experiment seed.
    """

    X: list
    y: list
    class_names: list[str] | None = None
    feature_names: list[str] | None = None
    task: str | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        self.feature_names = _check_names("feature_names", self.feature_names)

    def resolved(self, base_dir: Path | None) -> Source:
        return self

    def raw(self, rng: np.random.Generator) -> Raw:
        X = _inline_matrix("X", self.X)
        y = _inline_matrix("y", self.y, allow_text=True)
        if y.shape[0] != X.shape[0]:
            raise InputError(f"y has {y.shape[0]} labels but X has {X.shape[0]} rows")
        if y.shape[1] == 1:
            y = y[:, 0]
        names = self.feature_names or _xy_names(X.shape[1])
        if len(names) != X.shape[1]:
            raise InputError(f"feature_names has {len(names)} names but X has {X.shape[1]} columns")
        return Raw(X, y, {"feature_names": names, "task": self.task, "class_names": self.class_names})


# --------------------------------------------------------------------------------------------
# Labels, split, load
# --------------------------------------------------------------------------------------------


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


def _n_test(n: int, test_fraction: float) -> int:
    """Size of the test set: ``round(test_fraction * n)``, at least 1 when a test set is asked for."""
    return max(int(round(test_fraction * n)), 1) if test_fraction > 0 else 0


def split_indices(
    n: int, test_fraction: float, rng: np.random.Generator, labels: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Random train / test row indices.

    Parameters
    ----------
    n : int
        Number of samples.
    test_fraction : float
        In [0, 1). The test set gets ``round(test_fraction * n)`` rows, at least one when
        ``test_fraction > 0``.
    rng : numpy.random.Generator
    labels : ndarray of int, shape (n,), optional
        Class indices: stratify, i.e. give every class the test share it has in the whole data
        (largest-remainder rounding), so a small test set is not missing a class by chance.

    Returns
    -------
    train, test : ndarray of int64
        Disjoint, together ``0 .. n-1``, each in random order.
    """
    n_test = _n_test(n, test_fraction)
    perm = rng.permutation(n)
    if labels is None or n_test == 0:
        return perm[n_test:], perm[:n_test]
    shuffled = labels[perm]
    counts = np.bincount(shuffled)
    exact = counts * (n_test / n)
    quota = np.floor(exact).astype(np.int64)
    largest_rest = np.argsort(quota - exact, kind="stable")  # biggest remainders first
    quota[largest_rest[: n_test - quota.sum()]] += 1
    # rank of each sample within its class, in the random order: the first `quota` go to test
    order = np.argsort(shuffled, kind="stable")
    grouped = shuffled[order]
    rank = np.arange(n) - np.searchsorted(grouped, grouped, side="left")
    is_test = np.empty(n, dtype=bool)
    is_test[order] = rank < quota[grouped]
    return perm[~is_test], perm[is_test]


#: permute_rows moves blocks of about this many bytes of rows (two are alive at once); on
#: 1,000,000 x 100 float64, 256 KiB blocks permuted in 0.49 s, 4 MiB ones in 0.66 s, X[order] 2.2 s
_PERMUTE_BLOCK_BYTES = 1 << 18


def permute_rows(X: np.ndarray, order: np.ndarray, *, block: int | None = None) -> np.ndarray:
    """Reorder the rows of ``X`` in place: afterwards row ``i`` is the row that was ``X[order[i]]``.

    The result equals ``X[order]`` bit for bit, but the data is never held twice: the split of a
    data set the size of the memory must not need twice the memory. The rows are moved a block
    of ``b`` rows at a time. Block ``[a, a + b)`` gathers the rows it wants (``order[a:a + b]``,
    wherever earlier blocks have moved them); the rows standing there that it does not want
    move to the places the wanted rows left, all of which lie past the block. Scratch: two
    blocks of rows (about 256 KiB each) and two position arrays of ``n`` int64.

    Parameters
    ----------
    X : ndarray, shape (n, ...)
        Rewritten in place; C-contiguous.
    order : ndarray of int, shape (n,)
        A permutation of ``0 .. n-1``.
    block : int, optional
        Rows per block; default: about 256 KiB of rows.

    Returns
    -------
    ndarray
        ``X`` itself.
    """
    n = len(order)
    block = block or max(1, _PERMUTE_BLOCK_BYTES // max(1, X[:1].nbytes))
    holder = np.arange(n)  # holder[p]: original index of the row now at position p
    position = np.arange(n)  # position[r]: where original row r is now
    for start in range(0, n, block):
        stop = min(start + block, n)
        wanted = order[start:stop]
        source = position[wanted]  # every one >= start: positions before are final
        incoming = X[source]
        outside = source >= stop
        keep_here = np.ones(stop - start, dtype=bool)
        keep_here[source[~outside] - start] = False
        evicted = start + np.flatnonzero(keep_here)  # as many as the wanted rows from outside
        freed = source[outside]
        X[freed] = X[evicted]
        X[start:stop] = incoming
        moved = holder[evicted]
        holder[freed], position[moved] = moved, freed
        holder[start:stop], position[wanted] = wanted, np.arange(start, stop)
    return X


def _spec_mapping(spec: Mapping[str, Any] | str, field: str) -> dict[str, Any]:
    """A ``data`` spec as a mapping (``"moons:noise=0.2,test_fraction=0.5"`` is accepted too)."""
    if isinstance(spec, Mapping):
        return dict(spec)
    if not isinstance(spec, str):
        raise InputError(f"{field}: expected a dataset name or a mapping, got {spec!r}")
    name, params = split_spec(spec, field, example="noise=0.2")
    return {"name": name.strip(), **params}


#: standardisation divides a column by 2**e for e in this range: 2**e and 1 / 2**e are finite floats
_SMALLEST_SCALE_EXPONENT, _LARGEST_SCALE_EXPONENT = np.finfo(np.float64).minexp + 1, np.finfo(np.float64).maxexp - 1


def load(
    spec: Mapping[str, Any] | str, *, seed: int, base_dir: Path | str | None = None, field: str = "data"
) -> Dataset:
    """Build the :class:`Dataset` an experiment's ``data`` mapping describes.

    Parameters
    ----------
    spec : mapping or str
        ``{"name": source, **source parameters, **split keys}`` or ``"moons:noise=0.2"``.
        Split keys: ``test_fraction`` (default 0.25, in [0, 1); 0: no test set),
        ``standardize`` (default false; mean and std fitted on the training part only) and
        ``stratify`` (default true; keep class shares in the split, ignored for regression).
    seed : int
        The experiment seed, used when the spec has no ``seed`` of its own.
    base_dir : Path, optional
        Directory relative file paths are resolved against (the config file's directory);
        None: the current directory.
    field : str
        Name of the spec in messages.

    Returns
    -------
    Dataset

    Raises
    ------
    InputError
        Unknown source or key (with a did-you-mean), a bad value, an unreadable or empty data
        file, or a split leaving no training samples; the message starts with ``data``.
    """
    params = _spec_mapping(spec, field)
    split = {key: params.pop(key, default) for key, default in SPLIT_KEYS.items()}
    name = params.get("name")
    if isinstance(name, str):
        name = datasets.canonical(name.strip(), field)
        allowed = [*datasets.parameters(name), *SPLIT_KEYS]
        for key in params:
            if key != "name" and key not in allowed:
                raise InputError(
                    f"{field}: {name} has no parameter {key!r}{did_you_mean(key, allowed)}; "
                    f"parameters: {', '.join(allowed)}"
                )
    name, source_params = datasets.parse(params, field)

    experiment_seed = _check_seed("seed", seed)
    if experiment_seed is None:
        raise InputError("seed must be an integer >= 0, got None")
    with _prefixed(field):
        test_fraction = _check_real("test_fraction", split["test_fraction"], low=0, high=1, open_high=True)
        standardize = _check_bool("standardize", split["standardize"])
        stratify = _check_bool("stratify", split["stratify"])
        source = datasets.get(name)(**source_params)
        source = source.resolved(None if base_dir is None else Path(base_dir))
        data_seed = experiment_seed if source.seed is None else source.seed
        # separate streams: the drawn points do not change when only test_fraction changes
        draw_stream, split_stream = np.random.SeedSequence([data_seed, _DATA_STREAM]).spawn(2)
        if isinstance(source, _Generator):
            _check_generated_size(source)
            with np.errstate(over="ignore", invalid="ignore"):  # parameters like noise=1e308: refused below
                X, y, meta = source.raw(np.random.default_rng(draw_stream))
        else:
            X, y, meta = source.raw(np.random.default_rng(draw_stream))
    if isinstance(source, _Generator):
        _check_generated_finite(field, name, source_params, X, y)

    X = np.require(X, dtype=np.float64, requirements=["C", "W"])  # split and standardised in place
    n = X.shape[0]
    if n == 0:
        raise InputError(f"{field}: the {name} dataset is empty (no samples)")
    if X.ndim != 2 or X.shape[1] == 0:
        raise InputError(f"{field}: the {name} dataset has no feature columns (X has shape {X.shape})")
    task, y, class_names, target_names = _infer_task(y, meta, field)
    if n - _n_test(n, test_fraction) < 1:
        raise InputError(
            f"{field}.test_fraction {test_fraction:g} leaves no training samples out of {n}; "
            "use a smaller test_fraction or more samples"
        )
    train, test = split_indices(
        n, test_fraction, np.random.default_rng(split_stream), y if stratify and task != "regression" else None
    )
    if not isinstance(source, _Generator):
        # rows someone wrote keep their order: the split chooses which rows go where, and
        # `shuffle: false` then trains in the order of the file
        train.sort()
        test.sort()
    # train rows first, then test rows: two views of one buffer
    order = np.concatenate([train, test])
    permute_rows(X, order)
    y = y[order]
    n_train = len(train)
    X_train, X_test, y_train, y_test = X[:n_train], X[n_train:], y[:n_train], y[n_train:]

    mean = std = None
    if standardize:
        # each column is first divided by a power of two at least its largest size, which is
        # exact: the same numbers to the last bit, but a column holding 1e300 can no longer
        # overflow its sum or its squares (std would be inf, the column all zeros). The power
        # stays within float64's normal range: 2**1024 (for |x| >= 2**1023) is inf, and
        # 1 / 2**-1030 (for a column of subnormals) is too; the scaled sizes then stay below 2
        largest = np.maximum(X_train.max(axis=0), -X_train.min(axis=0))
        scale = np.ldexp(1.0, np.clip(np.frexp(largest)[1], _SMALLEST_SCALE_EXPONENT, _LARGEST_SCALE_EXPONENT))
        X_train /= scale
        mean = X_train.mean(axis=0)
        X_train -= mean
        # the population std of the centred columns; einsum sums the squares without the
        # temporary copy of the data that X_train.std() would make
        std = np.sqrt(np.einsum("ij,ij->j", X_train, X_train) / len(X_train))
        # a constant column would divide by ~0; leave it centred at 0 instead
        constant = std <= 1e-12 * np.maximum(1.0 / scale, np.abs(mean))
        std[constant] = 1.0 / scale[constant]
        X_train /= std
        X_test /= scale
        X_test -= mean
        X_test /= std
        mean *= scale
        std *= scale

    resolved = {"name": name, **dataclasses.asdict(source), "seed": data_seed}
    resolved.update(test_fraction=test_fraction, standardize=standardize, stratify=stratify)
    return Dataset(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=task,
        n_classes=len(class_names),
        class_names=class_names,
        feature_names=list(meta["feature_names"]),
        target_names=target_names,
        mean=mean,
        std=std,
        name=name,
        spec=resolved,
        info=dict(meta.get("info") or {}),
    )


def _infer_task(
    y: np.ndarray, meta: Mapping[str, Any], field: str
) -> tuple[str, np.ndarray, list[str], list[str]]:
    """Decide the task and encode ``y``: ``(task, y, class_names, target_names)``.

    Integer, bool or text labels of shape (n,) are classes; anything else is a regression
    target, unless the source's ``meta["task"]`` says otherwise.
    """
    y = np.asarray(y)
    requested = meta.get("task")
    if y.ndim == 2 and y.shape[1] == 1 and (requested == "classification" or y.dtype.kind in "biuUS"):
        y = y[:, 0]
    if requested is None:  # class names make labels classes, whatever their type (y: [0.5] is then refused)
        classes = y.ndim == 1 and (y.dtype.kind in "biuUS" or meta.get("class_names") is not None)
        requested = "classification" if classes else "regression"
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise InputError(f"{field}: the labels contain a non-finite value (NaN or infinity)")

    if requested == "regression":
        if y.dtype.kind in "US":
            raise InputError(
                f"{field}.task: regression needs numeric targets, "
                f"but the labels are text (e.g. {str(y.flat[0])!r})"
            )
        y = np.ascontiguousarray(y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        names = list(meta.get("target_names") or [])
        if len(names) != y.shape[1]:
            names = ["y"] if y.shape[1] == 1 else [f"y{j + 1}" for j in range(y.shape[1])]
        return "regression", y, [], names

    if y.ndim != 1:
        raise InputError(f"{field}: classification needs one label per sample, got labels of shape {y.shape}")
    given = meta.get("class_names")
    indices, class_names = encode_labels(y, given, f"{field}.class_names" if given else f"{field}.target")
    if len(class_names) < 2:
        raise InputError(
            f"{field}: found a single class ({class_names[0]!r}); classification needs at least 2 "
            "(set task: regression for numeric targets)"
        )
    return ("binary" if len(class_names) == 2 else "multiclass"), indices, class_names, []
