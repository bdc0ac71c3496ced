"""First-order optimizers that update parameter arrays in place, plus clipping and weight decay.

Every optimizer is registered in :data:`optimizers` under its config name and is built from
its keyword arguments (``optimizers.create("adam:lr=0.01")``). One call of
:meth:`Optimizer.step` applies one update to every parameter, in place::

    opt = optimizers.create({"name": "momentum", "lr": 0.1, "momentum": 0.9})
    for epoch in range(epochs):
        ...                                 # fill the gradient arrays
        opt.step(params, grads, lr=schedule(0.1, epoch))

Notation in the docstrings: ``p`` a parameter array, ``g`` its gradient, ``lr`` the learning
rate, ``t`` the number of steps taken so far including this one (1 on the first step).

Speed
-----
The update is the whole inner loop of a tiny network trained online, so the per-step path is
a single ``for`` over ``zip(params, grads, buffers...)`` of ufunc calls writing into buffers
allocated on the first step (``np.multiply(g, -lr, out=tmp); np.add(p, tmp, out=p)``
instead of ``p -= lr * g``, which would allocate a temporary array per parameter per step).
Nothing is validated per step beyond two ``len`` comparisons (and, where arrays are cut into
blocks, their shapes and layout); the hyper-parameters are
validated once, in the constructor. A network that keeps all its parameters as views of one
flat array (see :func:`pack`) can pass ``[flat_params]`` and ``[flat_grads]`` and pay the
ufunc-call overhead once per step instead of once per array.

The ``y <- a x + y`` and ``y <- a x + b y`` passes of the rules go through
:func:`~gradlab.engine.blas.axpy` and :func:`~gradlab.engine.blas.axpby`. On a long array they
are one OpenBLAS call each, split over the thread pool of the matrix products, instead of two
or three single-core ufunc passes. Where NumPy's BLAS does not offer them, arrays longer than
:data:`BLOCK` elements are updated block by block instead, all blocks sharing one scratch array
of that size. An update is a chain of passes over the same elements (Adam makes twelve); done
on a block that stays in the core's cache, the passes between the first read and the last write
cost no memory traffic. On the 670,000 parameters of a 784-512-512-10 network, blocks made an
SGD step 1.9x and an Adam step 1.5x faster than whole-array ufuncs; against blocks, the BLAS
calls made the SGD update 2.0-2.6x and the Adam update 1.2-1.4x faster, and whole epochs 4-5%
and 8% faster (``benchmarks/update.py``). Their price is a scratch array as long as the longest
parameter array (5.4 MB on that network in float64) where blocks need 256 KiB.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from gradlab.engine import _checks, blas
from gradlab.errors import InputError
from gradlab.registry import Registry

__all__ = [
    "optimizers",
    "Optimizer",
    "SGD",
    "Momentum",
    "Nesterov",
    "RMSProp",
    "Adam",
    "Adagrad",
    "clip_by_global_norm",
    "add_weight_decay",
    "weight_decay_penalty",
    "decayed",
    "pack",
]

optimizers: Registry[Optimizer] = Registry("optimizer")

#: elements per block of a long array's update (when the BLAS routines are missing): 256 KiB
#: of float64, well inside a core's L2 cache
BLOCK = 1 << 15

# Bound once: the step loops call these for every parameter of every update. The loops call
# the ufuncs with out= rather than writing ``x *= c``: the in-place operator reaches the same
# ufunc through Python's operator dispatch, which with a scalar operand costs nearly twice as
# much (~1.1 us against ~0.6 us per call on 16 elements, numpy 2.4), and such calls are all a
# tiny network's update is made of.
_add = np.add
_multiply = np.multiply
_divide = np.divide
_sqrt = np.sqrt
_dot = np.dot
_axpy = blas.axpy
_axpby = blas.axpby


class Optimizer:
    """Base class: lazily allocated state, the step loop's bookkeeping, state (de)serialisation.

    Parameters
    ----------
    lr : float
        Learning rate, finite and > 0.

    Attributes
    ----------
    lr : float
        The learning rate used when :meth:`step` gets no ``lr``.
    t : int
        Number of steps taken since construction or the last :meth:`reset`.

    Notes
    -----
    A subclass lists its per-parameter state in ``buffers`` (kept in attributes ``_<name>``,
    one zero-initialised array per parameter) and implements
    ``_update(params, grads, lr, scratch, *state)``, which applies the rule to lists of equally
    shaped pieces: ``state`` holds one list per buffer, in the order of ``buffers``. A piece is
    a whole parameter or, for a contiguous array longer than :data:`BLOCK` that the BLAS
    routines cannot update, one block of it (a flat view); ``scratch`` gives each piece a work
    array of its shape. The state takes the shape, dtype and memory layout of the parameters
    of the first step; call :meth:`reset` before stepping a different set of parameters.
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]]
    buffers: ClassVar[tuple[str, ...]] = ()
    #: the buffers whose square root is added to an eps in the step's denominator (see :func:`flush_tiny`)
    denominators: ClassVar[tuple[str, ...]] = ()

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = _checks.positive("lr", lr)
        self.reset()

    # -- state -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the step count and all state (velocities, moment estimates, accumulators)."""
        self.t = 0
        self._scratch: list[np.ndarray] | None = None
        self._spans: list[tuple[int, int, int]] | None = None  # (array, start, stop) of every block
        for name in self.buffers:
            setattr(self, "_" + name, None)

    def _allocate(self, params: Sequence[np.ndarray]) -> list[np.ndarray]:
        # cut into blocks only what the BLAS routines cannot update whole
        cut = [p.size > BLOCK and p.flags.c_contiguous and not blas.takes(p) for p in params]
        sizes: dict[np.dtype, int] = {}
        for p, blocked in zip(params, cut):
            sizes[p.dtype] = max(sizes.get(p.dtype, 0), BLOCK if blocked else p.size)
        work = {dtype: np.empty(size, dtype=dtype) for dtype, size in sizes.items()}  # shared by all pieces
        self._shapes = [p.shape for p in params]
        self._scratch, spans = [], []
        for k, (p, blocked) in enumerate(zip(params, cut)):
            if blocked:
                for start in range(0, p.size, BLOCK):
                    stop = min(start + BLOCK, p.size)
                    spans.append((k, start, stop))
                    self._scratch.append(work[p.dtype][: stop - start])
            else:
                spans.append((k, 0, -1))  # the whole array
                self._scratch.append(work[p.dtype][: p.size].reshape(p.shape))
        # blocks only when some array was split: otherwise the pieces are the arrays themselves
        self._spans = spans if len(spans) > len(params) else None
        for name in self.buffers:
            loaded = getattr(self, "_" + name)  # load_state_dict may have filled it already
            if loaded is None:
                setattr(self, "_" + name, [np.zeros_like(p) for p in params])
            elif [a.shape for a in loaded] != [p.shape for p in params]:
                self.reset()  # zip() in the loops would silently skip or misalign arrays
                raise ValueError(f"{self.name}: loaded state does not match the shapes of the parameters")
        return self._scratch

    def state_dict(self) -> dict[str, Any]:
        """A copy of the optimizer's state: ``{"name", "t", "buffers": {name: [arrays]}}``.

        Buffers that were never allocated (no step taken yet) are left out.
        """
        saved = {}
        for name in self.buffers:
            arrays = getattr(self, "_" + name)
            if arrays is not None:
                saved[name] = [a.copy() for a in arrays]
        return {"name": self.name, "t": self.t, "buffers": saved}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (copied, so the caller's arrays stay untouched)."""
        if state.get("name") != self.name:
            raise ValueError(f"state of optimizer {state.get('name')!r} cannot be loaded into {self.name!r}")
        self.reset()
        self.t = int(state["t"])
        for name, arrays in state.get("buffers", {}).items():
            if name not in self.buffers:
                raise ValueError(f"{self.name} has no state buffer {name!r}; it has {list(self.buffers)}")
            setattr(self, "_" + name, [np.array(a, copy=True) for a in arrays])

    # -- the update --------------------------------------------------------------------------

    def step(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray], lr: float | None = None) -> None:
        """Apply one update to every array in ``params``, in place.

        Parameters
        ----------
        params : sequence of ndarray
            The parameters; each array is modified in place (its identity never changes).
        grads : sequence of ndarray
            Gradients of the loss, one per parameter, same shapes. They are only read.
        lr : float, optional
            Learning rate for this step only (from a schedule); defaults to ``self.lr``. It is
            not validated here, to keep the step cheap.
        """
        scratch = self._scratch
        if scratch is None:
            scratch = self._allocate(params)
        elif len(params) != len(self._shapes):
            raise ValueError(
                f"{self.name}: state was built for {len(self._shapes)} parameter arrays, got {len(params)}; "
                "call reset() before stepping a different model"
            )
        if len(grads) != len(params):
            raise ValueError(f"{self.name}: {len(params)} parameter arrays but {len(grads)} gradients")
        self.t += 1
        state = [getattr(self, "_" + name) for name in self.buffers]
        if self._spans is not None:
            for p, shape in zip(params, self._shapes):  # a block must be a view that writes through
                if p.shape != shape or not p.flags.c_contiguous:
                    raise ValueError(f"{self.name}: the parameters changed shape or layout; call reset() first")
            params, grads, *state = (self._pieces(arrays) for arrays in (params, grads, *state))
        self._update(params, grads, self.lr if lr is None else float(lr), scratch, *state)
        if self.buffers and self.t % FLUSH_EVERY == 0:
            for name in self.buffers:
                flush_tiny(getattr(self, "_" + name), self._denominator_eps() if name in self.denominators else None)

    def _pieces(self, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The arrays cut as ``_spans`` says: whole, or flat views of their blocks."""
        flat = [a.reshape(-1) for a in arrays]  # views: the arrays that are cut are contiguous
        return [arrays[k] if stop < 0 else flat[k][start:stop] for k, start, stop in self._spans]

    def _update(self, params, grads, lr: float, scratch: list[np.ndarray], *state: list[np.ndarray]) -> None:
        raise NotImplementedError

    def _denominator_eps(self) -> float:
        """The eps that step ``t`` added to the square roots of the :attr:`denominators`."""
        return self.eps

    def _square_weight(self) -> float:
        """The weight of the newest g^2 in the :attr:`denominators` (1 - beta2 in Adam's v)."""
        raise NotImplementedError(f"{self.name} has denominators but no _square_weight")

    def smallest_eps(self, dtype: np.dtype) -> float:
        """The smallest ``eps`` that keeps every step bounded in ``dtype`` (0 without :attr:`denominators`):
        :func:`smallest_eps` of :meth:`_square_weight`."""
        if not self.denominators:
            return 0.0
        return smallest_eps(self._square_weight(), dtype)

    def eps_problem(self, dtype: np.dtype) -> str | None:
        """Why ``eps`` is below :meth:`smallest_eps` in ``dtype`` (:func:`eps_problem`), or None."""
        if not self.denominators:
            return None
        return eps_problem(self.name, self.eps, self.denominators[0], self._square_weight(), dtype)

    def __repr__(self) -> str:
        names = [k for k in vars(self) if not k.startswith("_") and k != "t"]
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in names)})"


def smallest_eps(square_weight: float, dtype: np.dtype) -> float:
    """The smallest ``eps`` that keeps a step ``lr m / (sqrt(v) + eps)`` bounded in ``dtype``, where
    each step adds ``square_weight * g^2`` to ``v``.

    That term underflows for ``|g| < sqrt(s / w)`` (``w`` the weight, ``s`` the dtype's smallest
    positive number): 1.2e-21 for Adam's beta2 = 0.999 in float32, 7e-161 in float64. A weight
    whose gradients stay that small divides by ``eps`` alone and steps by ``lr |g| / eps``: at
    most ``lr`` when ``eps`` is at least that bound, far more when it is below. With eps = 1e-300
    in float32 a gradient of 4.5e-23 after a dead spell (a ReLU unit coming back) stepped its
    weight by 3e21 lr, where exact arithmetic bounds Adam's step by about 7 lr (default betas)
    whatever eps is. Shared with ``gradlab descend``'s Adam, whose ``v`` takes the same term.
    """
    return math.sqrt(_limits(np.dtype(dtype))[0] / square_weight)


def eps_problem(name: str, eps: float, buffer: str, square_weight: float, dtype: np.dtype) -> str | None:
    """Why ``eps`` is below :func:`smallest_eps` (``adam eps = 1e-300 is too small for float64: ...;
    use eps >= 7.03e-161``), or None when it is not. ``buffer`` names the sum of squares (``v``)."""
    smallest = smallest_eps(square_weight, dtype)
    if eps >= smallest:
        return None
    return (f"{name} eps = {eps!r} is too small for {np.dtype(dtype)}: its {buffer} under the square root "
            f"underflows for gradients below {smallest:.3g}, which then step by lr |g| / eps, more than lr; "
            f"use eps >= {_rounded_up(smallest):.3g}")


def _rounded_up(x: float, digits: int = 3) -> float:
    """``x > 0`` to ``digits`` significant digits, rounded up: advice to use eps >= 1.18e-21 (float32
    Adam's 1.1838e-21 rounded to nearest) was refused when followed."""
    shown = float(f"{x:.{digits}g}")
    if shown < x:
        shown = float(f"{shown + 10.0 ** (math.floor(math.log10(shown)) - digits + 1):.{digits}g}")
    return shown


#: per dtype seen, filled by :func:`_limits`: (smallest positive number, tiny / eps)
_LIMITS: dict[np.dtype, tuple[float, float]] = {}


def _limits(dtype: np.dtype) -> tuple[float, float]:
    """The dtype's smallest positive number (for :func:`_nonzero`) and ``tiny / eps``, below which
    per entry a sum of squares may lose more to underflow than its own rounding (for
    :func:`global_norm`). A dict lookup is half the cost of functools.cache, and the steps call
    this once per parameter; np.finfo would cost more."""
    found = _LIMITS.get(dtype)
    if found is None:
        info = np.finfo(dtype)
        found = _LIMITS[dtype] = (float(info.smallest_subnormal), float(info.tiny / info.eps))
    return found


def _nonzero(eps: float, dtype: np.dtype) -> float:
    """``eps`` raised to the dtype's smallest positive number (1.4e-45 in float32, 4.9e-324 in float64).

    A smaller ``eps`` rounds to 0 in the dtype, and a weight whose gradient has always been 0
    then steps by 0/0 = nan. Nothing else changes: a positive ``sqrt(v)`` in the dtype is at
    least the root of that number (3.7e-23 in float32), beside which the raised ``eps`` is far
    below half an ulp, so only a denominator of exactly 0 sees it (and the step 0/eps = 0).
    """
    smallest = _limits(dtype)[0]
    return eps if eps > smallest else smallest


#: every this many steps the state buffers lose their negligible entries (see :func:`flush_tiny`)
FLUSH_EVERY = 64


def flush_tiny(arrays: Sequence[np.ndarray], eps: float | None = None) -> None:
    """Set entries below ``tiny * 2**24`` of their dtype (2e-31 in float32) to exactly 0, in place.

    A moment whose gradient has stopped (a dead ReLU's weights) decays by beta every step
    and, in float32, reaches the subnormal range (below 1.2e-38) after a few hundred
    steps; arithmetic on subnormal numbers is 10-20 times slower on x86, and it tripled
    Adam's float32 epoch on the 784-512-512-10 benchmark. A decay of 0.9 takes over 150
    steps from this level to the subnormal range, so flushing every :data:`FLUSH_EVERY`
    steps keeps the buffers free of them. A flushed first moment or velocity entry moves its
    parameter by less than ``lr * 2e-31 / eps``: nothing at the dtype's precision.

    A buffer whose square root is added to ``eps`` in the step's denominator (Adam's ``v``,
    RMSProp's ``s``, Adagrad's ``G``) is passed with that ``eps``, and its entries are flushed
    only below ``min(tiny * 2**24, (eps u / 4)**2)``, ``u`` the dtype's machine epsilon.
    Their roots are then below ``eps u / 4``, at most half an ulp of ``eps``,
    so ``sqrt(v) + eps`` keeps its value to within a rounding. Above that level the entry
    sets the step's scale: with eps = 1e-30 and a steady gradient of 1e-17, flushing ``v`` at
    2e-31 multiplied Adam's next step by 7.9. (With so small an eps such entries may become
    subnormal: they carry the step.)
    """
    for a in arrays:
        info = np.finfo(a.dtype)
        level = float(info.tiny) * 2.0**24
        if eps is not None:
            root = eps * float(info.eps) / 4  # in Python floats: squaring a huge eps gives inf, not a warning
            level = min(level, root * root)
        a[np.abs(a) < level] = 0


@optimizers.register("sgd")
class SGD(Optimizer):
    """Plain gradient descent.

    .. math:: p \\leftarrow p - \\mathrm{lr}\\, g

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate, > 0.
    """

    formula = "p <- p - lr g"

    def _update(self, params, grads, lr, scratch):
        for p, g, tmp in zip(params, grads, scratch):
            _axpy(-lr, g, p, tmp)


@optimizers.register("momentum")
class Momentum(Optimizer):
    """Heavy-ball (Polyak) momentum, with the velocity carrying the learning rate.

    .. math::

        v &\\leftarrow \\mu v - \\mathrm{lr}\\, g \\\\
        p &\\leftarrow p + v

    ``v`` starts at zero, so the first step equals an SGD step. Because ``lr`` sits inside the
    velocity, a schedule that lowers ``lr`` damps new gradients but not the velocity already
    built up (PyTorch instead keeps ``v = mu v + g`` and multiplies by ``lr`` afterwards; the two
    agree while ``lr`` is constant).

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate, > 0.
    momentum : float, default 0.9
        The decay ``mu`` of the velocity, ``0 <= mu < 1`` (0 is plain SGD).
    """

    formula = "v <- mu v - lr g;  p <- p + v"

    buffers = ("velocity",)

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = _checks.unit_interval("momentum", momentum, low_open=False, high_open=True)

    def _update(self, params, grads, lr, scratch, velocity):
        mu = self.momentum
        for p, g, tmp, v in zip(params, grads, scratch, velocity):
            _axpby(-lr, g, mu, v, tmp)  # v = mu v - lr g
            _axpy(1.0, v, p, tmp)  # p = p + v


@optimizers.register("nesterov")
class Nesterov(Momentum):
    """Nesterov accelerated gradient, in the form that needs the gradient at ``p`` only.

    Nesterov's method evaluates the gradient at the look-ahead point ``p + mu v``. Tracking the
    look-ahead point itself as the parameter (Bengio, Boulanger-Lewandowski & Pascanu, 2013)
    turns this into an update that uses the gradient at the stored parameters:

    .. math::

        v &\\leftarrow \\mu v - \\mathrm{lr}\\, g \\\\
        p &\\leftarrow p + \\mu v - \\mathrm{lr}\\, g

    (with the new ``v``). The first step is ``p -= (1 + mu) lr g``.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate, > 0.
    momentum : float, default 0.9
        ``mu``, ``0 <= mu < 1``.
    """

    formula = "v <- mu v - lr g;  p <- p + mu v - lr g"

    # the velocity, its parameters and their checks are Momentum's; only the step differs

    def _update(self, params, grads, lr, scratch, velocity):
        mu = self.momentum
        for p, g, tmp, v in zip(params, grads, scratch, velocity):
            _axpby(-lr, g, mu, v, tmp)  # v = mu v - lr g
            _axpy(-lr, g, p, tmp)  # p = p - lr g + mu v
            _axpy(mu, v, p, tmp)


@optimizers.register("rmsprop")
class RMSProp(Optimizer):
    """RMSProp: divide the step by a running root mean square of the gradient.

    .. math::

        s &\\leftarrow \\rho s + (1 - \\rho)\\, g^2 \\\\
        p &\\leftarrow p - \\mathrm{lr}\\, \\frac{g}{\\sqrt{s} + \\varepsilon}

    elementwise, with ``s`` starting at zero (so the first step is ``lr g / (sqrt(1 - rho)|g| +
    eps)``, about ``lr sign(g) / sqrt(1 - rho)``). ``eps`` is added outside the root, as in
    Keras and PyTorch.

    Parameters
    ----------
    lr : float, default 0.001
        Learning rate, > 0.
    rho : float, default 0.9
        Decay of the mean square, ``0 <= rho < 1``.
    eps : float, default 1e-8
        Keeps the division finite where ``s`` is 0, > 0.
    """

    formula = "s <- rho s + (1 - rho) g^2;  p <- p - lr g / (sqrt(s) + eps)"

    buffers = ("square_avg",)
    denominators = ("square_avg",)

    def __init__(self, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.rho = _checks.unit_interval("rho", rho, low_open=False, high_open=True)
        self.eps = _checks.positive("eps", eps)

    def _square_weight(self) -> float:
        return 1.0 - self.rho

    def _update(self, params, grads, lr, scratch, square_avg):
        rho, one_minus_rho, eps = self.rho, 1.0 - self.rho, self.eps
        for p, g, tmp, s in zip(params, grads, scratch, square_avg):
            _multiply(g, g, out=tmp)  # s = rho s + (1 - rho) g^2
            _axpby(one_minus_rho, tmp, rho, s, tmp)
            _sqrt(s, out=tmp)  # p = p - lr g / (sqrt(s) + eps)
            _add(tmp, _nonzero(eps, tmp.dtype), out=tmp)
            _divide(g, tmp, out=tmp)
            _axpy(-lr, tmp, p, tmp)


@optimizers.register("adam")
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum on the gradient, RMSProp scaling, bias correction.

    .. math::

        m &\\leftarrow \\beta_1 m + (1 - \\beta_1)\\, g \\\\
        v &\\leftarrow \\beta_2 v + (1 - \\beta_2)\\, g^2 \\\\
        \\hat m &= m / (1 - \\beta_1^t), \\qquad \\hat v = v / (1 - \\beta_2^t) \\\\
        p &\\leftarrow p - \\mathrm{lr}\\, \\frac{\\hat m}{\\sqrt{\\hat v} + \\varepsilon}

    with ``m = v = 0`` initially. On the first step ``m_hat = g`` and ``v_hat = g^2``, so every
    weight moves by ``lr |g| / (|g| + eps)``, i.e. about ``lr`` against the sign of its gradient.

    The code folds the two corrections into scalars computed once per step,
    ``a = lr sqrt(1 - beta2^t) / (1 - beta1^t)`` and ``e = eps sqrt(1 - beta2^t)``, and applies
    ``p -= a m / (sqrt(v) + e)``: multiplying numerator and denominator of the formula above by
    ``sqrt(1 - beta2^t)`` shows that this is the same update, without two per-element divisions.
    ``e`` (like RMSProp's and Adagrad's ``eps``) is kept at least the dtype's smallest positive
    number, so that it cannot round to 0 (see :func:`_nonzero`).

    Parameters
    ----------
    lr : float, default 0.001
        Learning rate, > 0.
    beta1 : float, default 0.9
        Decay of the first moment, ``0 <= beta1 < 1`` (0 switches the momentum off).
    beta2 : float, default 0.999
        Decay of the second moment, ``0 <= beta2 < 1``.
    eps : float, default 1e-8
        > 0.
    """

    formula = "m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2; p <- p - lr m_hat / (sqrt(v_hat) + eps)"

    buffers = ("m", "v")
    denominators = ("v",)

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1 = _checks.unit_interval("beta1", beta1, low_open=False, high_open=True)
        self.beta2 = _checks.unit_interval("beta2", beta2, low_open=False, high_open=True)
        self.eps = _checks.positive("eps", eps)

    def _denominator_eps(self) -> float:
        return self.eps * math.sqrt(1.0 - self.beta2**self.t)  # e, the folded eps of step t

    def _square_weight(self) -> float:
        return 1.0 - self.beta2

    def _update(self, params, grads, lr, scratch, m_list, v_list):
        b1, b2, t = self.beta1, self.beta2, self.t
        c1 = 1.0 - b1**t
        a = lr * math.sqrt(1.0 - b2**t) / c1
        e = self._denominator_eps()
        one_minus_b1, one_minus_b2 = 1.0 - b1, 1.0 - b2
        for p, g, tmp, m, v in zip(params, grads, scratch, m_list, v_list):
            _axpby(one_minus_b1, g, b1, m, tmp)  # m = b1 m + (1 - b1) g
            _multiply(g, g, out=tmp)  # v = b2 v + (1 - b2) g^2
            _axpby(one_minus_b2, tmp, b2, v, tmp)
            _sqrt(v, out=tmp)  # p = p - a m / (sqrt(v) + e)
            _add(tmp, _nonzero(e, tmp.dtype), out=tmp)  # e = 1e-44 sqrt(1 - beta2) is 0 in float32
            _divide(m, tmp, out=tmp)
            _axpy(-a, tmp, p, tmp)


@optimizers.register("adagrad")
class Adagrad(Optimizer):
    """Adagrad: per-weight steps shrinking with the sum of all squared gradients seen.

    .. math::

        G &\\leftarrow G + g^2 \\\\
        p &\\leftarrow p - \\mathrm{lr}\\, \\frac{g}{\\sqrt{G} + \\varepsilon}

    with ``G`` starting at zero, so the first step is about ``lr sign(g)``.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate, > 0.
    eps : float, default 1e-8
        > 0.
    """

    formula = "s <- s + g^2;  p <- p - lr g / (sqrt(s) + eps)"

    buffers = ("sum_squares",)
    denominators = ("sum_squares",)

    def __init__(self, lr: float = 0.01, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.eps = _checks.positive("eps", eps)

    def _square_weight(self) -> float:
        return 1.0  # G is a plain sum

    def _update(self, params, grads, lr, scratch, sum_squares):
        eps = self.eps
        for p, g, tmp, acc in zip(params, grads, scratch, sum_squares):
            _multiply(g, g, out=tmp)  # G = G + g^2
            _axpy(1.0, tmp, acc, tmp)
            _sqrt(acc, out=tmp)  # p = p - lr g / (sqrt(G) + eps)
            _add(tmp, _nonzero(eps, tmp.dtype), out=tmp)
            _divide(g, tmp, out=tmp)
            _axpy(-lr, tmp, p, tmp)


class FullBatchMinimizer:
    """Base of the full-batch optimizers run by ``scipy.optimize.minimize`` with the
    network's analytic gradient (the training loop drives them; they have no ``step``)."""

    scipy_method: ClassVar[str] = ""
    name: ClassVar[str]
    lr = None  # they choose their own step lengths by line search

    def scipy_options(self) -> dict[str, Any]:
        return {"gtol": self.gtol}

    def step(self, params, grads, lr=None) -> None:
        raise InputError(f"optimizer {self.name} works on the full batch only: use training.batch_size: full")

    __repr__ = Optimizer.__repr__  # the hyper-parameters, e.g. LBFGS(gtol=1e-08, memory=10)


@optimizers.register("cg", "conjugate_gradient")
class ConjugateGradient(FullBatchMinimizer):
    """Nonlinear conjugate gradient (Polak-Ribiere, scipy's ``CG``) on the full batch.

    Each iteration searches along d_k = -g_k + beta_k d_{k-1}, beta_k = g_k.(g_k - g_{k-1}) / |g_{k-1}|^2,
    with a line search choosing the step: no learning rate to tune. One of the seed
    articles names it the most common choice for backprop.
    """

    formula = "d <- -g + beta d (Polak-Ribiere);  p <- p + alpha d, alpha by line search"

    scipy_method = "CG"

    def __init__(self, gtol: float = 1e-8) -> None:
        self.gtol = _checks.positive("gtol", gtol)


@optimizers.register("lbfgs", "l_bfgs")
class LBFGS(FullBatchMinimizer):
    """Limited-memory BFGS (scipy's ``L-BFGS-B``) on the full batch: a quasi-Newton method
    that builds a curvature estimate from the last ``memory`` gradient differences."""

    formula = "p <- p - alpha H g, H from the last m gradient differences, alpha by line search"

    scipy_method = "L-BFGS-B"

    def __init__(self, gtol: float = 1e-8, memory: int = 10) -> None:
        self.gtol = _checks.positive("gtol", gtol)
        self.memory = _checks.whole("memory", memory, 1)

    def scipy_options(self) -> dict[str, Any]:
        return {"gtol": self.gtol, "maxcor": self.memory}


# -- gradient clipping -----------------------------------------------------------------------


def global_norm(arrays: Sequence[np.ndarray]) -> float:
    r"""The Euclidean norm of all arrays taken together, as a float64 number.

    .. math:: \|a\| = \sqrt{\textstyle\sum_k \sum_i a_{k,i}^2}
              = M \sqrt{\textstyle\sum_k \sum_i (a_{k,i} / M)^2}, \qquad M = \max_{k,i} |a_{k,i}|

    The plain sum of squares is one BLAS dot product per array, in the array's dtype (no
    temporaries). It is kept when it is finite and at least ``n tiny / eps`` for ``n`` entries
    (1e-31 per entry in float32, 1e-292 in float64): a square that underflows loses at most
    ``tiny``, the dtype's smallest normal number, so above that bound all of them together stay
    below the sum's own rounding. Otherwise (overflow, underflow, or an inf or nan entry) the
    right-hand form is summed in float64: the entries ``a / M`` lie in [-1, 1], so nothing
    overflows, and squares that underflow are below 1e-308 of a sum that is at least 1.

    Returns
    -------
    float
        The norm; ``inf`` or ``nan`` if an entry is, 0.0 for no entries.
    """
    total = floor = 0.0
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # both handled below
        for a in arrays:
            flat = a.reshape(-1)  # a view for contiguous arrays
            total += float(_dot(flat, flat))
            floor += a.size * _limits(a.dtype)[1]  # clipping runs this every step
    if floor <= total < math.inf:
        return math.sqrt(total)
    big = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    if not math.isfinite(big) or big == 0.0:  # an inf or nan entry makes the norm that; all zeros, 0
        return big
    total = 0.0
    for a in arrays:
        scaled = np.divide(a.reshape(-1), big, dtype=np.float64)
        total += float(_dot(scaled, scaled))
    return big * math.sqrt(total)


def clip_by_global_norm(grads: Sequence[np.ndarray], max_norm: float) -> float:
    """Rescale all gradients together so that their global norm is at most ``max_norm``.

    .. math::

        \\|g\\| = \\sqrt{\\textstyle\\sum_k \\|g_k\\|^2}, \\qquad
        g_k \\leftarrow g_k \\cdot \\frac{\\text{max\\_norm}}{\\|g\\|} \\quad \\text{if } \\|g\\| > \\text{max\\_norm}

    The direction of the whole update is kept; only its length is capped.

    Parameters
    ----------
    grads : sequence of ndarray
        Modified in place.
    max_norm : float
        > 0.

    Returns
    -------
    float
        The global norm *before* clipping (``nan`` or ``inf`` if a gradient is not finite;
        then nothing is rescaled, and divergence detection is the caller's business).
    """
    if not max_norm > 0:
        raise InputError(f"clip_norm must be > 0, got {_checks.show(max_norm)}")
    norm = global_norm(grads)
    if max_norm < norm < math.inf:
        scale = max_norm / norm
        for g in grads:
            _multiply(g, scale, out=g)
    return norm


# -- weight decay ----------------------------------------------------------------------------


def decayed(params: Sequence[np.ndarray], decay_mask: Sequence[bool] | None = None) -> Sequence[bool]:
    """Which of ``params`` the weight penalty acts on: ``decay_mask``, or by default the arrays with
    ``ndim >= 2`` (the weight matrices, not the bias vectors)."""
    if decay_mask is None:
        return [p.ndim >= 2 for p in params]
    if len(decay_mask) != len(params):
        raise ValueError(f"decay_mask has {len(decay_mask)} entries for {len(params)} parameter arrays")
    return decay_mask


def add_weight_decay(
    params: Sequence[np.ndarray],
    grads: Sequence[np.ndarray],
    l1: float = 0.0,
    l2: float = 0.0,
    decay_mask: Sequence[bool] | None = None,
    scratch: Sequence[np.ndarray] | None = None,
) -> None:
    """Add the gradient of an L1/L2 penalty on the weights to their gradients, in place.

    For every weight matrix ``W`` (a parameter selected by ``decay_mask``) the loss gains

    .. math:: \\frac{l_2}{2} \\|W\\|_F^2 + l_1 \\|W\\|_1

    (see :func:`weight_decay_penalty`), so its gradient gains
    ``l2 W + l1 sign(W)``. At ``W_ij = 0`` the L1 term uses the subgradient 0. Biases are not
    decayed: they set offsets, not the complexity of the fit.

    Parameters
    ----------
    params, grads : sequence of ndarray
        Parameters (read) and their gradients (modified in place).
    l1, l2 : float, default 0
        Penalty strengths, >= 0; a zero strength costs nothing.
    decay_mask : sequence of bool, optional
        Which parameters are decayed. Default: arrays with ``ndim >= 2``, i.e. the weight
        matrices and not the bias vectors.
    scratch : sequence of ndarray, optional
        One work array per parameter (same shape and dtype), so that no temporary is
        allocated; without it each decayed parameter allocates one temporary per call.
    """
    if l1 < 0 or l2 < 0:
        raise InputError(f"l1 and l2 must be >= 0, got l1={_checks.show(l1)}, l2={_checks.show(l2)}")
    if not (l1 or l2):
        return
    mask = decayed(params, decay_mask)
    for k, (p, g, decay) in enumerate(zip(params, grads, mask)):
        if not decay:
            continue
        tmp = scratch[k] if scratch is not None else np.empty_like(p)
        if l2:
            _multiply(p, l2, out=tmp)
            _add(g, tmp, out=g)
        if l1:
            np.sign(p, out=tmp)
            _multiply(tmp, l1, out=tmp)
            _add(g, tmp, out=g)


def weight_decay_penalty(
    params: Sequence[np.ndarray],
    l1: float = 0.0,
    l2: float = 0.0,
    decay_mask: Sequence[bool] | None = None,
) -> float:
    """The penalty whose gradient :func:`add_weight_decay` adds.

    .. math:: R = \\sum_{W} \\left( \\frac{l_2}{2} \\|W\\|_F^2 + l_1 \\|W\\|_1 \\right)

    summed over the parameters selected by ``decay_mask`` (default: ``ndim >= 2``).
    """
    if not (l1 or l2):
        return 0.0
    total = 0.0
    for p, decay in zip(params, decayed(params, decay_mask)):
        if decay:
            flat = p.reshape(-1)
            if l2:
                total += 0.5 * l2 * float(_dot(flat, flat))
            if l1:
                total += l1 * float(np.abs(flat).sum())
    return total


# -- flat parameter storage ------------------------------------------------------------------


def pack(arrays: Sequence[np.ndarray], dtype: Any = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Copy arrays into one contiguous 1-D buffer and return it with views shaped like them.

    Writing through a view writes into the buffer, so a model can keep its parameters (and,
    with a second call, its gradients) as these views and hand the optimizer the single flat
    array: one set of ufunc calls per step instead of one per layer, which is what dominates
    the update time of tiny networks.

    Parameters
    ----------
    arrays : sequence of ndarray
    dtype : dtype, optional
        Buffer dtype; default: the result type of the arrays.

    Returns
    -------
    flat : ndarray, shape (sum of sizes,)
    views : list of ndarray
        ``views[k]`` has ``arrays[k].shape`` and shares memory with ``flat``.
    """
    dtype = np.result_type(*arrays) if dtype is None else np.dtype(dtype)
    flat = np.empty(sum(a.size for a in arrays), dtype=dtype)
    views, start = [], 0
    for a in arrays:
        view = flat[start : start + a.size].reshape(a.shape)
        view[...] = a
        views.append(view)
        start += a.size
    return flat, views
