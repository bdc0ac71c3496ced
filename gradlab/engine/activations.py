"""Activation functions with exact derivatives, one small class each.

Every activation has

- ``value(z)``: a = f(z), on arrays of any shape;
- ``derivative(z)``: f'(z), analytic (for softmax: the diagonal of the Jacobian);
- ``backward(z, a, grad, out=None)``: dC/dz from dC/da, the step backpropagation takes.
  ReLU and softmax write it from the cached output ``a``. Sigmoid and tanh do not, although
  the seed articles' sigma' = sigma (1 - sigma) and tanh' = 1 - tanh^2 would save an exp:
  ``a`` is rounded, and in the saturated tail that rounding is all of 1 - sigma (17% off
  at z = 15 in float32), where their ``derivative(z)`` keeps every digit;
- ``forward(z, out)``: f(z) written into a work array the layer keeps between batches.

``forward`` and ``backward(..., out=)`` are the training loop's path: the functions used most
(identity, sigmoid, tanh, relu, softmax) compute their forward pass straight into the given
array, and identity, relu and softmax their backward pass too; sigmoid and tanh take their
exact ``derivative`` (two work arrays) and multiply into it, as the other functions do, which
also keeps a float32 network in float32.

All are numerically stable: sigmoid, softplus and softmax return finite, correct values
at |z| = 1000 without a RuntimeWarning. Look them up by name in :data:`activations`.
"""

from __future__ import annotations

import math

import numpy as np

from gradlab.engine import _checks
from gradlab.errors import InputError
from gradlab.registry import Registry

activations: Registry[Activation] = Registry("activation")


class Activation:
    """Base class: an elementwise function a = f(z) and its derivative.

    Class attributes describe the function for ``gradlab list`` and the diagnostics:
    ``formula`` and ``derivative_formula`` (one line each), ``output_range``,
    ``max_derivative`` (set for the saturating functions sigmoid/tanh, whose unit
    outputs count as saturated when f'(z) < 1% of it) and ``can_die`` (ReLU units that are
    never active pass no gradient at all).

    ``kinks`` lists the inputs z where f is not twice continuously differentiable: where f' jumps
    (relu's corner at 0), where f itself jumps (step) and where only f'' jumps (elu with
    alpha = 1, softsign, both at 0). A central difference whose step straddles one is off by a
    share of the jump in f' (in f'' times h, O(h) instead of O(h^2)), which is why the gradient
    check (``engine/gradcheck.py``) treats the units whose input the step carries across one
    apart. ``derivative`` there returns one of the one-sided derivatives.
    """

    name = "activation"
    formula = ""
    derivative_formula = ""
    output_range = "(-inf, inf)"
    max_derivative: float | None = None
    can_die = False
    kinks: tuple[float, ...] = ()

    def value(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def forward(self, z: np.ndarray, out: np.ndarray) -> np.ndarray:
        """f(z) written into ``out`` (same shape); returns the array that holds it."""
        np.copyto(out, self.value(z))
        return out

    def backward(self, z: np.ndarray, a: np.ndarray, grad: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """dC/dz = dC/da * f'(z) (elementwise), into ``out`` if given (it may be ``grad``
        itself). Subclasses use ``a`` when that is cheaper."""
        return np.multiply(grad, self.derivative(z), out=out)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{self.name}({params})" if params else self.name


def _as_float(z) -> np.ndarray:
    """An array of floats: float32/float64 kept as they are, anything else as float64."""
    z = np.asarray(z)
    return z if z.dtype.kind == "f" else z.astype(np.float64)


def _select(mask: np.ndarray, yes: float, no: float, dtype: np.dtype) -> np.ndarray:
    """``yes`` where ``mask`` holds, else ``no``, in ``dtype``: np.where of two Python floats
    would give float64 and turn a float32 network's arrays into float64."""
    return np.where(mask, dtype.type(yes), dtype.type(no))


def _exp_minus_abs(z, out: np.ndarray | None = None) -> np.ndarray:
    """exp(-|z|) into ``out``, or a new array of z's float dtype (0-d for a scalar: the callers
    write into it, and a ufunc would return a 0-d result as a scalar, which ``out=`` refuses)."""
    z = _as_float(z)
    e = np.abs(z, out=np.empty_like(z) if out is None else out)
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    # 1/(1+e^-z) overflows for z << 0; with e = exp(-|z|) <= 1 nothing can overflow:
    # sigma(z) = 1/(1+e) for z >= 0 and e/(1+e) for z < 0 (no cancellation in 1 - sigma).
    z = _as_float(z)
    negative = z < 0  # before anything is written to out, which may be z itself
    e = _exp_minus_abs(z)
    a = np.add(e, 1.0, out=np.empty_like(e) if out is None else out)
    np.divide(1.0, a, out=a)
    np.multiply(a, e, out=a, where=negative)
    return a


@activations.register("identity", "linear")
class Identity(Activation):
    """Identity: f(z) = z, f'(z) = 1. The output of a regression network."""

    formula = "f(z) = z"
    derivative_formula = "f'(z) = 1"

    def value(self, z):
        return _as_float(z)

    def derivative(self, z):
        return np.ones_like(_as_float(z))

    def forward(self, z, out):
        return z  # a is z: nothing to compute or copy

    def backward(self, z, a, grad, out=None):
        if out is None or out is grad:
            return grad
        np.copyto(out, grad)
        return out


@activations.register("sigmoid", "logistic")
class Sigmoid(Activation):
    """Logistic sigmoid: sigma(z) = 1 / (1 + exp(-z)), sigma'(z) = sigma(z) (1 - sigma(z)).

    Saturates: sigma'(z) < 0.0025, 1% of its peak sigma'(0) = 1/4 (the diagnostics' rule), for
    |z| > 5.99, which is why MSE + sigmoid learns slowly from a confidently wrong start.
    """

    formula = "sigma(z) = 1 / (1 + exp(-z))"
    derivative_formula = "sigma'(z) = sigma(z) (1 - sigma(z))"
    output_range = "(0, 1)"
    max_derivative = 0.25

    def value(self, z):
        return _sigmoid(z)

    def derivative(self, z):
        # e / (1 + e)^2 with e = exp(-|z|): exact in the tails, where a (1 - a) rounds. Two work
        # arrays and in-place passes: backward runs this on every step of a sigmoid layer.
        e = _exp_minus_abs(z)
        d = np.add(e, 1.0, out=np.empty_like(e))
        np.multiply(d, d, out=d)
        return np.divide(e, d, out=e)

    def forward(self, z, out):
        return _sigmoid(z, out)

    # backward: grad * derivative(z), the base class's. a (1 - a) from the cached output would
    # save an exp but inherit a's rounding, which is all of 1 - a in the tail: 17% off at
    # z = 15 in float32 and 0 from z = 37 in float64, where e / (1 + e)^2 keeps every digit.


@activations.register("tanh")
class Tanh(Activation):
    """Hyperbolic tangent: f(z) = tanh(z), f'(z) = 1 - tanh(z)^2."""

    formula = "f(z) = tanh(z)"
    derivative_formula = "f'(z) = 1 - tanh(z)^2"
    output_range = "(-1, 1)"
    max_derivative = 1.0

    def value(self, z):
        return np.tanh(_as_float(z))

    def derivative(self, z):
        # sech^2 z = 4e / (1 + e)^2 with e = exp(-|z|)^2: exact in the tails, and no -2|z| to
        # overflow near the largest float
        e = _exp_minus_abs(z)
        np.multiply(e, e, out=e)
        d = np.add(e, 1.0, out=np.empty_like(e))
        np.multiply(d, d, out=d)
        np.divide(e, d, out=e)
        return np.multiply(e, 4.0, out=e)

    def forward(self, z, out):
        return np.tanh(z, out=out)

    # backward: grad * derivative(z), as for sigmoid: 1 - a^2 is 6% off at z = 8 in float32


@activations.register("relu")
class ReLU(Activation):
    """Rectified linear unit: f(z) = max(z, 0), f'(z) = 1 if z > 0 else 0 (0 at the kink)."""

    formula = "f(z) = max(z, 0)"
    derivative_formula = "f'(z) = 1 if z > 0 else 0"
    output_range = "[0, inf)"
    can_die = True
    kinks = (0.0,)

    def value(self, z):
        return np.maximum(_as_float(z), 0.0)

    def derivative(self, z):
        z = _as_float(z)
        return _select(z > 0, 1.0, 0.0, z.dtype)

    def forward(self, z, out):
        return np.maximum(z, 0.0, out=out)

    def backward(self, z, a, grad, out=None):
        return np.multiply(grad, a > 0, out=out)  # a multiply by the mask is ~10x cheaper than np.where


@activations.register("leaky_relu")
class LeakyReLU(Activation):
    """Leaky ReLU: f(z) = z if z > 0 else alpha z; f'(z) = 1 if z > 0 else alpha."""

    formula = "f(z) = z if z > 0 else alpha z"
    derivative_formula = "f'(z) = 1 if z > 0 else alpha"

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = _checks.non_negative("alpha", alpha)

    @property
    def kinks(self) -> tuple[float, ...]:
        return () if self.alpha == 1.0 else (0.0,)  # alpha = 1 is the identity

    def value(self, z):
        z = _as_float(z)
        return np.where(z > 0, z, self.alpha * z)

    def derivative(self, z):
        z = _as_float(z)
        return _select(z > 0, 1.0, self.alpha, z.dtype)


@activations.register("elu")
class ELU(Activation):
    """Exponential linear unit: f(z) = z if z > 0 else alpha (exp(z) - 1).

    f'(z) = 1 if z > 0 else alpha exp(z) = f(z) + alpha.

    A kink at 0 for every alpha: f' jumps from alpha to 1 there, and with alpha = 1, where f' is
    continuous, f'' still jumps from 1 to 0.
    """

    formula = "f(z) = z if z > 0 else alpha (exp(z) - 1)"
    derivative_formula = "f'(z) = 1 if z > 0 else alpha exp(z)"
    output_range = "(-alpha, inf)"
    kinks = (0.0,)

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _checks.non_negative("alpha", alpha)

    def value(self, z):
        z = _as_float(z)
        # expm1 of min(z, 0): exact near 0 and never overflows for large positive z
        return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0)))

    def derivative(self, z):
        z = _as_float(z)
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0.0)))


@activations.register("softplus")
class Softplus(Activation):
    """Softplus: f(z) = log(1 + exp(z)), f'(z) = sigma(z).

    Evaluated as max(z, 0) + log1p(exp(-|z|)), which cannot overflow.
    """

    formula = "f(z) = log(1 + exp(z))"
    derivative_formula = "f'(z) = sigma(z)"
    output_range = "(0, inf)"

    def value(self, z):
        z = _as_float(z)
        return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))

    def derivative(self, z):
        return _sigmoid(z)


@activations.register("softsign")
class Softsign(Activation):
    """Softsign: f(z) = z / (1 + |z|), f'(z) = 1 / (1 + |z|)^2.

    f'' = -2 sign(z) / (1 + |z|)^3 jumps from 2 to -2 at 0: a kink for central differences.
    """

    formula = "f(z) = z / (1 + |z|)"
    derivative_formula = "f'(z) = 1 / (1 + |z|)^2"
    output_range = "(-1, 1)"
    kinks = (0.0,)

    def value(self, z):
        z = _as_float(z)
        return z / (1.0 + np.abs(z))

    def derivative(self, z):
        return (1.0 / (1.0 + np.abs(_as_float(z)))) ** 2  # squared after the division: (1 + |z|)^2 could overflow


@activations.register("swish", "silu")
class Swish(Activation):
    """Swish: f(z) = z sigma(beta z); SiLU is beta = 1.

    f'(z) = sigma(beta z) + beta z sigma(beta z) (1 - sigma(beta z)).
    """

    formula = "f(z) = z sigma(beta z)"
    derivative_formula = "f'(z) = s + beta z s (1 - s), s = sigma(beta z)"
    output_range = "[-0.278/beta, inf)"

    def __init__(self, beta: float = 1.0) -> None:
        self.beta = _checks.positive("beta", beta)

    def _scaled(self, z: np.ndarray) -> np.ndarray:
        """u = beta z, held within +-1000: beyond that sigma(u) is exactly 0 or 1 and u s (1 - s)
        exactly 0 in float64 and float32 alike, so nothing changes, while beta = 1e308 would
        make u infinite (an overflow warning, and inf * 0 = nan in the derivative)."""
        beta = self.beta
        if beta <= 1.0:  # |beta z| <= |z| cannot overflow (SiLU's beta = 1 takes this path)
            u = np.multiply(z, beta)
        elif beta <= float(np.finfo(z.dtype).max):
            with np.errstate(over="ignore"):  # an infinite u is clipped right away
                u = np.multiply(z, z.dtype.type(beta))  # in z's dtype: NumPy 1.x promoted a float32 z
        else:
            # beta beyond the dtype's range (1e39 in float32) would become inf, and 0 * inf = nan; the
            # dtype's largest number in its place gives u = 4 at float32's smallest normal z, where
            # beta z is 11.75: u is formed in float64, where beta and beta z fit, and clipped there
            with np.errstate(over="ignore"):
                u = np.clip(np.multiply(z, beta, dtype=np.float64), -1000.0, 1000.0)
            return u.astype(z.dtype)
        return np.clip(u, -1000.0, 1000.0, out=u if isinstance(u, np.ndarray) else None)  # in place, but a scalar

    def value(self, z):
        z = _as_float(z)
        return z * _sigmoid(self._scaled(z))

    def derivative(self, z):
        z = _as_float(z)
        u = self._scaled(z)
        s = _sigmoid(u)
        return s + u * s * (1.0 - s)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
_GELU_CLIP = 1e4  # |z| beyond which the tanh form's sigma(2u) is exactly 0 or 1


class _PerApproximation:
    """A GELU formula that follows the instance's ``approximate``; on the class (``gradlab
    list``) the exact one."""

    def __init__(self, exact: str, tanh: str) -> None:
        self.exact, self.tanh = exact, tanh

    def __get__(self, obj, owner=None) -> str:
        return self.tanh if obj is not None and obj.approximate == "tanh" else self.exact


@activations.register("gelu")
class GELU(Activation):
    """Gaussian error linear unit: f(z) = z Phi(z), Phi the standard normal CDF.

    Exact form: Phi(z) = (1 + erf(z / sqrt 2)) / 2 and f'(z) = Phi(z) + z phi(z), with
    phi(z) = exp(-z^2 / 2) / sqrt(2 pi). ``approximate="tanh"`` selects
    f(z) = z (1 + tanh(u)) / 2, u = sqrt(2/pi) (z + 0.044715 z^3), computed as
    z sigma(2u) (the same number: (1 + tanh u) / 2 = sigma(2u)), which keeps its digits for
    z < 0, where 1 + tanh(u) cancels.
    """

    formula = _PerApproximation("f(z) = z Phi(z)", "f(z) = z (1 + tanh(u)) / 2, u = sqrt(2/pi) (z + 0.044715 z^3)")
    derivative_formula = _PerApproximation("f'(z) = Phi(z) + z phi(z)",
                                           "f'(z) = (1 + t)/2 + z (1 - t^2) u'/2, t = tanh(u)")
    output_range = "[-0.17, inf)"

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise InputError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def value(self, z):
        z = _as_float(z)
        if self.approximate == "tanh":
            return z * _sigmoid(2.0 * self._u(z))
        from scipy.special import ndtr  # Phi(z), accurate in both tails

        return z * ndtr(z)

    def derivative(self, z):
        z = _as_float(z)
        if self.approximate == "tanh":
            # (1 + t)/2 = sigma(2u) and (1 - t^2)/2 = 2 sigma(2u) sigma(-2u), both without the
            # cancellation of 1 + t for z < 0; the second term is exactly 0 beyond the clip
            u = self._u(z)
            zc = np.clip(z, -_GELU_CLIP, _GELU_CLIP)
            du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * zc * zc)
            s = _sigmoid(2.0 * u)
            return s + 2.0 * zc * s * _sigmoid(-2.0 * u) * du
        from scipy.special import ndtr

        zc = np.clip(z, -100.0, 100.0)  # phi(100) = exp(-5000) / sqrt(2 pi) is 0 already; z^2 could overflow
        pdf = np.exp(-0.5 * zc * zc) / math.sqrt(2.0 * math.pi)
        return ndtr(z) + z * pdf

    @staticmethod
    def _u(z: np.ndarray) -> np.ndarray:
        """u = sqrt(2/pi) (z + 0.044715 z^3) of the tanh form, with z clipped to +-1e4 first:
        there sigma(2u) is 0 or 1 to the last bit, and z^3 cannot overflow."""
        zc = np.clip(z, -_GELU_CLIP, _GELU_CLIP)
        return _SQRT_2_OVER_PI * (zc + _GELU_CUBIC * zc * zc * zc)


@activations.register("hard_sigmoid")
class HardSigmoid(Activation):
    """Piecewise-linear sigmoid: f(z) = clip(z / 6 + 1/2, 0, 1); f'(z) = 1/6 on (-3, 3), else 0."""

    formula = "f(z) = clip(z/6 + 1/2, 0, 1)"
    derivative_formula = "f'(z) = 1/6 if |z| < 3 else 0"
    output_range = "[0, 1]"
    kinks = (-3.0, 3.0)

    def value(self, z):
        return np.clip(_as_float(z) / 6.0 + 0.5, 0.0, 1.0)

    def derivative(self, z):
        z = _as_float(z)
        return _select(np.abs(z) < 3.0, 1.0 / 6.0, 0.0, z.dtype)


@activations.register("step", "heaviside")
class Step(Activation):
    """Heaviside step (the perceptron's): f(z) = 1 if z >= 0 else 0, f'(z) = 0.

    The derivative is zero wherever it exists, so no gradient flows through a step
    unit: the reason gradient descent needs smooth activations.
    """

    formula = "f(z) = 1 if z >= 0 else 0"
    derivative_formula = "f'(z) = 0"
    output_range = "{0, 1}"
    kinks = (0.0,)  # f itself jumps

    def value(self, z):
        z = _as_float(z)
        return _select(z >= 0, 1.0, 0.0, z.dtype)

    def derivative(self, z):
        return np.zeros_like(_as_float(z))

    def backward(self, z, a, grad, out=None):
        if out is None:
            return np.zeros_like(grad)
        out.fill(0.0)
        return out


@activations.register("softmax")
class Softmax(Activation):
    """Softmax over the last axis: s_i = exp(z_i) / sum_j exp(z_j).

    Not elementwise: the Jacobian is ds_i/dz_j = s_i (delta_ij - s_j). ``derivative``
    returns its diagonal s_i (1 - s_i); ``backward`` applies the whole Jacobian to a
    gradient (a Jacobian-vector product, never forming the matrix):
    dC/dz = s * (g - sum_j g_j s_j). Stable: z - max(z) is taken first.
    """

    formula = "s_i = exp(z_i) / sum_j exp(z_j)"
    derivative_formula = "ds_i/dz_j = s_i (delta_ij - s_j)"
    output_range = "(0, 1), rows sum to 1"

    def value(self, z):
        z = _as_float(z)
        if z.ndim == 0:  # a single number is a distribution over one class
            return np.ones_like(z)
        return self.forward(z, None)

    def forward(self, z, out):
        z = _as_float(z)
        # the reductions as ufunc methods: the same work as z.max() and e.sum(), without their Python wrappers
        e = np.subtract(z, np.maximum.reduce(z, axis=-1, keepdims=True), out=out)
        np.exp(e, out=e)
        e /= np.add.reduce(e, axis=-1, keepdims=True)
        return e

    def derivative(self, z):
        # s_i (1 - s_i), with 1 - s_i of an entry above 1/2 (a row has at most one) formed as the sum of
        # the row's other entries: s_i rounds to 1 once they sum below the rounding of 1, and 1 - s_i to 0,
        # which explain showed beside the exact delta of softmax + cross_entropy (losses.softmax_minus)
        s = self.value(z)
        complement = 1.0 - s
        if s.ndim:
            top = s > 0.5
            others = np.add.reduce(np.where(top, 0.0, s), axis=-1, keepdims=True)
            np.copyto(complement, np.broadcast_to(others, s.shape), where=top)
        return s * complement

    def jacobian(self, z):
        """The full Jacobian, shape (..., k, k): diag(s) - s s^T, its diagonal from :meth:`derivative`."""
        s = self.value(z)
        J = -(s[..., :, None] * s[..., None, :])
        diagonal = np.arange(s.shape[-1])
        J[..., diagonal, diagonal] = self.derivative(z)
        return J

    def backward(self, z, a, grad, out=None):
        return np.multiply(a, grad - np.sum(grad * a, axis=-1, keepdims=True), out=out)
