"""The built-in synthetic data sources: cat_dog, xor, moons, circles, spiral, blobs, linear, sine,
and the checks every generated set passes (its size before it is drawn, its values after)."""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from gradlab.datasets.checks import _check_int, _check_real, _check_seed
from gradlab.datasets.sources import Raw, Source, _xy_names, datasets
from gradlab.errors import InputError


def _balanced_labels(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels in ``[0, k)``, each class ``n // k`` or ``n // k + 1`` times, in random order.

    Balanced by construction (rather than drawn) so a small sample never misses a class.
    """
    return rng.permutation(np.arange(n, dtype=np.int64) % k)


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


def _polar_with_noise(r: np.ndarray, theta: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``x = r (cos theta, sin theta) + noise * z``, ``z ~ N(0, I)``, shape ``(len(theta), 2)``: the points
    of circles and spiral arms. The noise is drawn first and the points added to it in place, so the
    data is never held twice."""
    X = rng.standard_normal((len(theta), 2))
    X *= noise
    X[:, 0] += r * np.cos(theta)
    X[:, 1] += r * np.sin(theta)
    return X


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
        X = _polar_with_noise(r, theta, self.noise, rng)
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
        X = _polar_with_noise(r, theta, self.noise, rng)
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
