"""Weight initialisers: random schemes drawn from a seeded ``numpy.random.Generator``, or given weights.

Each initialiser is registered in :data:`initializers` and builds every layer's parameters
for a network described by its layer sizes::

    init = initializers.create("he")
    layers = init.init([2, 16, 1], np.random.default_rng(0))     # [(W1, b1), (W2, b2)]

``layer_sizes = [n_in, h1, ..., n_out]``; layer ``k`` (1-based, as in the names ``W1, b1``)
gets ``W`` of shape ``(layer_sizes[k-1], layer_sizes[k])`` (inputs along the rows, matching
``Z = X @ W + b`` with batch-first ``X``) and ``b`` of shape ``(layer_sizes[k],)``. In the
formulas, ``fan_in`` and ``fan_out`` are those two numbers.

Random initialisers draw the weights layer by layer, ``W1`` first, in float64 and then cast
to the requested dtype, so a float32 network starts from the float64 network's weights
rounded (the two train along the same curve to float32 precision). Their biases are zero.
The same seed gives the same weights.

Errors about the weights themselves (a missing key, a wrong shape) are raised by
:meth:`Initializer.init` and start with ``Initializer.field`` (default ``"model.init"``),
e.g. ``model.init: W2 has shape (3, 1), the network needs (4, 1) for layer sizes 2-4-1``.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from gradlab.engine import _checks
from gradlab.errors import InputError
from gradlab.registry import Registry

__all__ = [
    "initializers",
    "Initializer",
    "Zeros",
    "Normal",
    "Uniform",
    "Xavier",
    "He",
    "FromFile",
    "Explicit",
    "parameter_names",
    "to_named",
]

Layer = tuple[np.ndarray, np.ndarray]

initializers: Registry[Initializer] = Registry("initializer")

_KEY = re.compile(r"^([Wb])([0-9]+)$")


def _layer_sizes(layer_sizes: Sequence[int]) -> list[int]:
    try:
        sizes = [int(n) for n in layer_sizes]
        exact = all(int(n) == n and not isinstance(n, bool) for n in layer_sizes)
    except (TypeError, ValueError):
        sizes, exact = [], False
    if len(sizes) < 2 or not exact or min(sizes) < 1:
        raise InputError(
            f"layer_sizes must be a list [n_in, hidden..., n_out] of at least two whole numbers >= 1, "
            f"got {layer_sizes!r}"
        )
    return sizes


def _float_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise InputError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


def _describe(sizes: Sequence[int]) -> str:
    return "-".join(map(str, sizes))


def parameter_names(n_layers: int) -> list[str]:
    """``["W1", "b1", "W2", "b2", ...]`` from the input side: the keys of model files, in the
    order of ``Network.params``."""
    return [f"{kind}{k}" for k in range(1, n_layers + 1) for kind in ("W", "b")]


def to_named(layers: Sequence[Layer]) -> dict[str, np.ndarray]:
    """``[(W1, b1), (W2, b2), ...]`` -> ``{"W1": W1, "b1": b1, ...}``, the keys of model files.

    ``np.savez(path, **to_named(layers))`` writes a file that ``from`` reads back.
    """
    return dict(zip(parameter_names(len(layers)), [array for W, b in layers for array in (W, b)]))


class Initializer:
    """Base class: ``init(layer_sizes, rng, dtype) -> [(W1, b1), (W2, b2), ...]``.

    Attributes
    ----------
    field : str
        Prefix of the messages raised by :meth:`init` (where the initialiser sits in the config).
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]]
    field: str = "model.init"

    def init(
        self,
        layer_sizes: Sequence[int],
        rng: np.random.Generator | int | None = None,
        dtype: Any = np.float64,
    ) -> list[Layer]:
        """Build every layer's ``(W, b)``.

        Parameters
        ----------
        layer_sizes : sequence of int
            ``[n_in, h1, ..., n_out]``, at least two entries, each >= 1.
        rng : numpy.random.Generator or int, optional
            Source of randomness; an int is used as a seed for ``numpy.random.default_rng``.
            Initialisers that draw nothing ignore it.
        dtype : dtype, default float64
            float32 or float64.

        Returns
        -------
        list of (W, b)
            New C-contiguous arrays: ``W`` of shape ``(n_in_k, n_out_k)``, ``b`` of shape
            ``(n_out_k,)``.
        """
        sizes = _layer_sizes(layer_sizes)
        dt = _float_dtype(dtype)
        if not isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng)
        return self._build(sizes, rng, dt)

    __call__ = init

    def _build(self, sizes: list[int], rng: np.random.Generator, dtype: np.dtype) -> list[Layer]:
        raise NotImplementedError

    def __repr__(self) -> str:
        shown = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class _Random(Initializer):
    """Random weights from :meth:`_weights` (float64), zero biases."""

    #: the parameters that set the size of the draws, named when a draw does not fit the dtype
    scale_parameters: ClassVar[str] = ""

    def _weights(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _build(self, sizes, rng, dtype):
        layers = []
        for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            drawn = self._weights(fan_in, fan_out, rng)
            W, misfits = _checks.to_dtype(drawn, dtype)
            if misfits is not None:  # normal:std=1e150 in float32: the weights would start at inf
                shown = ", ".join(f"{key}={_checks.show(value)}" for key, value in vars(self).items())
                raise InputError(f"{self.field}: {self.name} ({shown}) drew W{k} = {drawn[misfits][0]:.4g}, "
                                 f"{_checks.beyond_dtype(dtype)}; use float64 or a smaller {self.scale_parameters}")
            layers.append((W, np.zeros(fan_out, dtype=dtype)))
        return layers


@initializers.register("zeros")
class Zeros(_Random):
    """All weights and biases 0.

    Every hidden unit of a layer then computes the same function and receives the same
    gradient, so they stay identical: useful to show why random initialisation is needed, and
    fine for a network without hidden layers (a single neuron, logistic regression).
    """

    def __init__(self) -> None:
        pass

    def _weights(self, fan_in, fan_out, rng):
        return np.zeros((fan_in, fan_out))


@initializers.register("normal")
class Normal(_Random):
    """Independent Gaussian weights, ``W_ij ~ N(0, std^2)``.

    Parameters
    ----------
    std : float, default 0.01
        Standard deviation, > 0. The default is the classic "small random numbers": enough to
        break the symmetry between units without saturating sigmoids, but in deep networks the
        signal then shrinks by a factor ``std * sqrt(fan_in)`` per layer; prefer ``xavier``
        (sigmoid, tanh) or ``he`` (ReLU) there.
    """

    scale_parameters = "std"

    def __init__(self, std: float = 0.01) -> None:
        self.std = _checks.positive("std", std)

    def _weights(self, fan_in, fan_out, rng):
        return rng.normal(0.0, self.std, size=(fan_in, fan_out))


@initializers.register("uniform")
class Uniform(_Random):
    """Independent uniform weights, ``W_ij ~ U(low, high)``.

    Give either ``limit`` (for ``U(-limit, limit)``) or both ``low`` and ``high``; with neither,
    ``limit = 0.05``.

    Parameters
    ----------
    limit : float, optional
        > 0.
    low, high : float, optional
        ``low < high``.
    """

    scale_parameters = "limit (or low and high)"

    def __init__(self, limit: float | None = None, low: float | None = None, high: float | None = None) -> None:
        if limit is not None and (low is not None or high is not None):
            raise InputError("give either limit or low and high, not both")
        if (low is None) != (high is None):
            raise InputError(f"low and high go together, got low={low!r}, high={high!r}")
        widest = float(np.finfo(np.float64).max)  # rng.uniform draws low + (high - low) u
        if low is None:
            limit = 0.05 if limit is None else _checks.positive("limit", limit)
            if limit > widest / 2:
                raise InputError(f"limit must be at most {widest / 2:.3g} (half the largest float), "
                                 f"got {_checks.show(limit)}")
            self.low, self.high = -limit, limit
        else:
            self.low, self.high = _checks.real("low", low), _checks.real("high", high)
            if not self.low < self.high:
                raise InputError(f"low must be < high, got low={_checks.show(low)}, high={_checks.show(high)}")
            if not math.isfinite(self.high - self.low):
                raise InputError(f"high must be within {widest:.3g} of low (the widest interval a "
                                 f"float holds), got low={_checks.show(low)}, high={_checks.show(high)}")

    def _weights(self, fan_in, fan_out, rng):
        return rng.uniform(self.low, self.high, size=(fan_in, fan_out))


@initializers.register("xavier", "glorot")
class Xavier(_Random):
    """Glorot & Bengio (2010): ``W_ij ~ U(-L, L)``, ``L = sqrt(6 / (fan_in + fan_out))``; for sigmoid and tanh.

    .. math:: W_{ij} \\sim U(-L, L), \\qquad L = \\sqrt{\\frac{6}{\\text{fan\\_in} + \\text{fan\\_out}}}

    so that ``Var(W) = L^2 / 3 = 2 / (fan_in + fan_out)``, a compromise between keeping the
    forward activations' variance (``1/fan_in``) and the backward gradients' (``1/fan_out``).
    """

    def __init__(self) -> None:
        pass

    def _weights(self, fan_in, fan_out, rng):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, size=(fan_in, fan_out))


@initializers.register("he")
class He(_Random):
    """He et al. (2015): ``W_ij ~ N(0, 2 / fan_in)``, a standard deviation of ``sqrt(2 / fan_in)``; for ReLU.

    .. math:: W_{ij} \\sim N\\left(0, \\frac{2}{\\text{fan\\_in}}\\right)

    ReLU zeroes half of its inputs on average, so twice the ``1/fan_in`` variance keeps the
    activations' scale from layer to layer.
    """

    def __init__(self) -> None:
        pass

    def _weights(self, fan_in, fan_out, rng):
        return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


# -- given weights -----------------------------------------------------------------------------


class _Given(Initializer):
    """Checks given arrays against the network and copies them to the requested dtype."""

    def _fit(self, arrays: list[tuple[Any, Any]], names: list[tuple[str, str]], sizes, dtype) -> list[Layer]:
        layers = []
        for k, ((W, b), (w_name, b_name)) in enumerate(zip(arrays, names)):
            expected_W, expected_b = (sizes[k], sizes[k + 1]), (sizes[k + 1],)
            layers.append(
                (
                    self._fit_one(W, w_name, expected_W, sizes, dtype),
                    self._fit_one(b, b_name, expected_b, sizes, dtype),
                )
            )
        return layers

    def _fit_one(self, value: Any, name: str, expected: tuple[int, ...], sizes, dtype) -> np.ndarray:
        array = np.asarray(value)
        if array.dtype.kind not in "fiu":
            raise InputError(f"{self.field}: {name} must hold numbers, got an array of dtype {array.dtype}")
        if array.shape != expected:
            hint = ""
            if len(expected) == 2:
                hint = "; W is written as n_in rows of n_out numbers"
                if array.shape == expected[::-1]:
                    hint += " (this one looks transposed)"
            raise InputError(
                f"{self.field}: {name} has shape {array.shape}, the network needs {expected} "
                f"for layer sizes {_describe(sizes)}{hint}"
            )
        if not np.isfinite(array).all():
            raise InputError(f"{self.field}: {name} contains nan or inf")
        copy, misfits = _checks.to_dtype(np.array(array, order="C", copy=True), dtype)
        if misfits is not None:  # W: [[1e39]] in float32 would start at inf
            raise InputError(f"{self.field}: {name} holds {array[misfits][0]:.4g}, {_checks.beyond_dtype(dtype)}; "
                             f"use float64 or smaller weights")
        return copy


@initializers.register("from")
class FromFile(_Given):
    """Weights read from an ``.npz`` file, e.g. the ``model.npz`` of an earlier run.

    The file holds ``W1, b1, W2, b2, ...`` numbered from the input side, ``Wk`` of shape
    ``(n_in, n_out)`` and ``bk`` of shape ``(n_out,)``; they must match the network exactly
    (every layer present, no extra layers, the same shapes). Other keys (e.g. standardisation
    statistics saved next to the weights) are ignored. The values are copied, converted to the
    requested dtype.

    Parameters
    ----------
    path : str
        The file. A relative path is taken relative to the working directory, or to the
        directory given to :meth:`relative_to` (the config loader passes the config file's).

    Notes
    -----
    The file is read by :meth:`init`, not by the constructor, so that a missing file and a
    shape mismatch are reported the same way, with the network's sizes at hand.
    """

    def __init__(self, path: str) -> None:
        if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
            raise InputError(f"path must be the path of an .npz file, got {path!r}")
        self.path = str(path)
        # not a parameter: the registry shows __init__'s arguments to users, and where a
        # config's relative paths start is the loader's business, not the config's
        self._base_dir: Path | None = None

    def relative_to(self, base_dir: str | os.PathLike) -> FromFile:
        """Read a relative ``path`` from ``base_dir`` instead of the working directory; returns self."""
        self._base_dir = Path(base_dir)
        return self

    @property
    def resolved_path(self) -> Path:
        """``path`` with ``~`` expanded and, if relative, joined to the directory of :meth:`relative_to`."""
        path = Path(self.path).expanduser()
        if not path.is_absolute() and self._base_dir is not None:
            path = self._base_dir.expanduser() / path
        return path

    def read(self) -> dict[str, np.ndarray]:
        """All arrays in the file, by key."""
        path = self.resolved_path
        shown = repr(self.path)
        if path.is_dir():
            raise InputError(f"{self.field}: cannot read {shown}: it is a directory, not an .npz file")
        if not path.is_file():
            where = f" (looked in {path.parent})" if path.parent != Path(".") else ""
            raise InputError(f"{self.field}: cannot read {shown}: no such file{where}")
        if not zipfile.is_zipfile(path):  # .npz is a zip of .npy arrays; anything else is refused up front
            raise InputError(
                f"{self.field}: {shown} is not an .npz file (numpy.savez writes one, here with keys W1, b1, ...)"
            )
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise InputError(f"{self.field}: cannot read {shown} as .npz: {error}") from None
        if not isinstance(data, np.lib.npyio.NpzFile):  # a .npy file gives a bare array
            raise InputError(f"{self.field}: {shown} holds a single array; expected an .npz file with keys W1, b1, ...")
        try:
            with data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            # e.g. an object array, which allow_pickle=False refuses to unpickle
            raise InputError(f"{self.field}: cannot read {shown} as .npz: {error}") from None

    def _build(self, sizes, rng, dtype):
        arrays = self.read()
        n_layers = len(sizes) - 1
        found = sorted(
            (key for key in arrays if _KEY.match(key)),
            key=lambda key: (int(_KEY.match(key).group(2)), key[0] == "b"),
        )
        keys = parameter_names(n_layers)
        missing = [key for key in keys if key not in arrays]
        extra = [key for key in found if not 1 <= int(_KEY.match(key).group(2)) <= n_layers]
        if missing or extra:
            has = ", ".join(found) or "no W/b keys"
            needs = f"W1..W{n_layers} and b1..b{n_layers}" if n_layers > 1 else "W1 and b1"
            if missing:
                problem = f"has no {', '.join(missing)}"
            else:
                problem = f"has {', '.join(extra)} beyond the network's layers"
            raise InputError(
                f"{self.field}: {self.path!r} {problem} (it has {has}); "
                f"the network with layer sizes {_describe(sizes)} needs {needs}"
            )
        names = list(zip(keys[0::2], keys[1::2]))  # [("W1", "b1"), ("W2", "b2"), ...]
        return self._fit([(arrays[w], arrays[b]) for w, b in names], names, sizes, dtype)


@initializers.register("explicit")
class Explicit(_Given):
    """Weights written out in the config, to reproduce a textbook example by hand.

    ``layers`` is a list with one entry per layer, from the input side; each entry is a mapping
    with exactly the keys ``W`` (a list of ``n_in`` rows, each a list of ``n_out`` numbers) and
    ``b`` (a list of ``n_out`` numbers). In YAML, for a 2-2-1 network::

        init:
          name: explicit
          layers:
            - W: [[0.15, 0.25],     # row i = weights from input i
                  [0.20, 0.30]]     # column j = weights into unit j
              b: [0.35, 0.35]
            - W: [[0.40],
                  [0.45]]
              b: [0.60]

    A single neuron with two inputs is ``[{W: [[0.5], [-0.3]], b: [0.1]}]``.

    Parameters
    ----------
    layers : list of mappings
        As above. The structure and numbers are checked here; the shapes are checked against
        the network by :meth:`init`.
    """

    def __init__(self, layers: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(layers, (str, bytes, Mapping)) or not isinstance(layers, Sequence) or not layers:
            raise InputError(
                f"layers must be a non-empty list of {{W: [[...]], b: [...]}} mappings, one per layer, got {layers!r}"
            )
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        for i, layer in enumerate(layers):
            where = f"layers[{i}]"
            if not isinstance(layer, Mapping):
                raise InputError(f"{where} must be a mapping with keys W and b, got {layer!r}")
            for key in layer:
                if key not in ("W", "b"):
                    close = [k for k in ("W", "b") if k.lower() == str(key).strip().lower()]
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    raise InputError(f"{where} has unknown key {key!r}{hint}; keys: W, b")
            for key in ("W", "b"):
                if key not in layer:
                    raise InputError(f"{where} needs key {key!r} (W: n_in rows of n_out numbers, b: n_out numbers)")
            self.layers.append((self._numbers(layer["W"], f"{where}.W"), self._numbers(layer["b"], f"{where}.b")))

    @staticmethod
    def _numbers(value: Any, where: str) -> np.ndarray:
        def has_text_or_bool(item: Any) -> bool:
            if isinstance(item, (list, tuple)):
                return any(has_text_or_bool(x) for x in item)
            return isinstance(item, (str, bytes, bool))

        if has_text_or_bool(value):
            raise InputError(f"{where} must hold numbers only, got {value!r}")
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(
                f"{where} must be a (nested) list of numbers with rows of equal length, got {value!r}"
            ) from None
        if not np.isfinite(array).all():
            raise InputError(f"{where} contains nan or inf: {value!r}")
        return array

    def _build(self, sizes, rng, dtype):
        n_layers = len(sizes) - 1
        if len(self.layers) != n_layers:
            raise InputError(
                f"{self.field}: layers gives {len(self.layers)} layer(s), "
                f"the network with layer sizes {_describe(sizes)} has {n_layers}"
            )
        names = [(f"layers[{i}].W", f"layers[{i}].b") for i in range(n_layers)]
        return self._fit(self.layers, names, sizes, dtype)
