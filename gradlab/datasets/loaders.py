"""The data sources that read data someone wrote: ``csv`` and ``npz`` files, and ``inline``
values in the config itself."""

from __future__ import annotations

import dataclasses
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gradlab.datasets.checks import (
    _check_names, _check_seed, _check_task, _is_int, _is_number, _suggest, check_delimiter,
)
from gradlab.datasets.csv_files import read_csv
from gradlab.datasets.sources import Raw, Source, _xy_names, datasets
from gradlab.errors import InputError, expand_user, path_exists


def _resolve_path(path: str, base_dir: Path | None) -> Path:
    p = expand_user(path, "path")
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    # looked up before resolve(), which raises on a symlink loop; a name too long is refused too
    if not path_exists(p, "path"):
        raise InputError(f"path: file not found: '{p.resolve()}'")
    p = p.resolve()
    if not p.is_file():
        raise InputError(f"path: '{p}' is not a file")
    return p


def _check_path(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"path must be a file name, got {value!r}")
    return value


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


def _named_raw(source: Npz | Inline, X: np.ndarray, y: Any, x_name: str) -> Raw:
    """The :class:`Raw` of a source with optional ``feature_names`` (default ``x1, x2, ...``), one
    per column of ``X`` (called ``x_name`` in the message when they do not match)."""
    names = source.feature_names or _xy_names(X.shape[1])
    if len(names) != X.shape[1]:
        raise InputError(f"feature_names has {len(names)} names but {x_name} has {X.shape[1]} columns")
    return Raw(X, y, {"feature_names": names, "task": source.task, "class_names": source.class_names})


def _npz_array(archive: Any, key: str, field: str, file: str) -> np.ndarray:
    if key not in archive.files:
        raise InputError(
            f"{field}: '{file}' has no array {key!r}{_suggest(key, archive.files)}; "
            f"arrays: {', '.join(archive.files) or 'none'}"
        )
    try:
        array = archive[key]
    except ValueError as error:  # object arrays need pickle, which is refused on purpose
        raise InputError(f"{field}: array {key!r} in '{file}' cannot be read safely: {error}") from None
    if not isinstance(array, np.ndarray):  # NumPy hands back the raw bytes of a member that is no .npy file
        raise InputError(f"{field}: {key!r} in '{file}' is not an .npy array (numpy.savez writes them)")
    return array


def _first_bytes(path: str | Path, n: int) -> bytes:
    """The first ``n`` bytes of a file (fewer if it is shorter), or an :class:`InputError` if unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read(n)
    except OSError as error:
        raise InputError(f"path: cannot read '{path}': {error.strerror or error}") from None


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
        # told by the first bytes, as np.load tells them: for anything but a zip or an .npy it says the
        # file holds pickled data (NumPy 2 raises EOFError for an empty one); the size test comes first,
        # so that a fifo is not waited on
        start = b"" if Path(file).stat().st_size == 0 else _first_bytes(file, 6)
        if not start:
            raise InputError(f"path: '{file}' is empty, not an .npz archive (numpy.savez writes one)")
        if start.startswith(b"\x93NUMPY"):
            raise InputError(f"path: '{file}' holds a single array (.npy); save X and y with numpy.savez")
        if not start.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a zip's first entry, or an empty zip
            raise InputError(f"path: '{file}' is not an .npz archive (numpy.savez writes one, a zip of .npy files)")
        try:
            archive = np.load(file, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise InputError(f"path: '{file}' is not a readable .npz archive: {error}") from None
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
        return _named_raw(self, X, y, repr(self.x_key))


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
        return _named_raw(self, X, y, "X")
