"""From a ``data`` spec to a :class:`~gradlab.datasets.dataset.Dataset`: :func:`load` draws or
reads the source, infers the task, splits (:func:`split_indices`, :func:`permute_rows`) and
standardises."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gradlab.datasets.checks import _check_bool, _check_real, _check_seed, _prefixed
from gradlab.datasets.dataset import Dataset, encode_labels
from gradlab.datasets.generators import _check_generated_finite, _check_generated_size, _Generator
from gradlab.datasets.sources import datasets
from gradlab.errors import InputError, did_you_mean
from gradlab.registry import split_spec


#: Keys of the ``data`` mapping that belong to :func:`load`, not to the source, with defaults.
SPLIT_KEYS: dict[str, Any] = {"test_fraction": 0.25, "standardize": False, "stratify": True}

# Mixed into the seed so the data's stream differs from every other consumer of the same
# experiment seed (the bytes spell "data").
_DATA_STREAM = int.from_bytes(b"data", "big")


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

    mean, std = _standardize(X_train, X_test) if standardize else (None, None)

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


def _standardize(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standardise both parts in place with the training part's statistics,
    :math:`x \\leftarrow (x - \\mu) / \\sigma`; return ``(mean, std)`` in the raw units.

    ``std`` is the population standard deviation; a column constant to 1e-12 of its size is centred,
    not divided by its spread of about 0 (see the comments).
    """
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
    # a constant column would divide by ~0; leave it centred at 0 instead. Constant is relative
    # to the column's own size (in these units its largest, about 1): a column of 1e-13s that
    # varies is a feature (farads, metres of wavelength), and was left unscaled by a 1e-12 floor.
    # Subnormal columns count as constant: 1 / std would overflow on any normal-sized input
    constant = (std <= 1e-12 * largest / scale) | (largest < np.finfo(np.float64).tiny)
    # divided by its size when that is above 1, so what is left is rounding at 1e-16, not the
    # 6.7e7 of a column of 6.02e23s in raw units; else by 1 (a subnormal column's size would overflow)
    std[constant] = np.maximum(1.0, 1.0 / scale[constant])
    X_train /= std
    X_test /= scale
    X_test -= mean
    X_test /= std
    mean *= scale
    std *= scale
    return mean, std


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
