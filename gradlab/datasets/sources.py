"""What a data source is: :class:`Raw` (its output), :class:`Source` (its base class) and
:data:`datasets`, the one registry of sources that the config schema, the CLI and the docs read."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np

from gradlab.registry import Registry


class Raw(NamedTuple):
    """What a source produces, before labels are encoded and the data is split.

    Attributes
    ----------
    X : ndarray of float64, shape (n, n_features)
        A fresh array: :func:`~gradlab.datasets.load` reorders and standardises it in place.
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


def _xy_names(d: int) -> list[str]:
    return [f"x{j + 1}" for j in range(d)]
