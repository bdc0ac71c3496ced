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

Submodules (imports point down this list; each has one job):

- :mod:`~gradlab.datasets.checks`: argument checks shared by the sources and :func:`load`.
- :mod:`~gradlab.datasets.dataset`: :class:`Dataset`, :func:`to_targets`, :func:`encode_labels`.
- :mod:`~gradlab.datasets.sources`: :class:`Raw`, :class:`Source` and the :data:`datasets` registry.
- :mod:`~gradlab.datasets.csv_files`: :func:`read_csv`.
- :mod:`~gradlab.datasets.generators`: the synthetic sources (cat_dog, xor, moons, ...).
- :mod:`~gradlab.datasets.loaders`: the csv, npz and inline sources.
- :mod:`~gradlab.datasets.preparing`: :func:`load`, :func:`split_indices`, :func:`permute_rows`.
"""

from __future__ import annotations

# importing the two modules of sources registers them; generators first, as the registry
# lists the sources in the order they register
from gradlab.datasets import generators, loaders
from gradlab.datasets.checks import check_delimiter
from gradlab.datasets.csv_files import read_csv
from gradlab.datasets.dataset import TASKS, Dataset, encode_labels, to_targets
from gradlab.datasets.preparing import SPLIT_KEYS, load, permute_rows, split_indices
from gradlab.datasets.sources import Raw, Source, datasets

__all__ = [
    "Dataset",
    "Raw",
    "Source",
    "SPLIT_KEYS",
    "TASKS",
    "check_delimiter",
    "datasets",
    "encode_labels",
    "load",
    "permute_rows",
    "read_csv",
    "split_indices",
    "to_targets",
]
