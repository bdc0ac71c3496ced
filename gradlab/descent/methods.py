r"""The update rules of ``gradlab descend``, their registry :data:`METHODS`, and the :class:`Settings` a run reads.

Each method turns the gradient :math:`g_k = \nabla f(x_k)` into a step
:math:`\Delta_k` and sets :math:`x_{k+1} = x_k + \Delta_k` (learning rate :math:`\eta`):

=========  ==================================================================================
gd         :math:`\Delta = -\eta g`
momentum   heavy ball: :math:`v \leftarrow \beta v + g`, :math:`\Delta = -\eta v`
nesterov   look-ahead: :math:`v \leftarrow \beta v + \nabla f(x - \eta \beta v)`, :math:`\Delta = -\eta v`
adam       :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
           :math:`\Delta = -\eta \hat m / (\sqrt{\hat v} + \epsilon)` with the bias corrections
           :math:`\hat m = m / (1-\beta_1^t)`, :math:`\hat v = v / (1-\beta_2^t)`
newton     :math:`\Delta = -\eta H^{-1} g` (``lr`` defaults to 1 for Newton: the full step)
=========  ==================================================================================

:class:`Settings` holds the numbers a run needs (learning rate, steps, tolerance, the method's
own constants) and checks them against the registry on construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradlab.descent.points import point_text
from gradlab.errors import InputError
from gradlab.names import DESCENT_METHODS
from gradlab.registry import Registry

DEFAULT_LR = 0.1
DEFAULT_NEWTON_LR = 1.0  # Newton's step is already scaled by the curvature
DEFAULT_STEPS = 100
# Every step is kept for the table, the plot and the stability numbers (a Trajectory, 24-40 bytes
# a step) and written to metrics.csv: a million steps is under 50 MB and 10-20 s, and no lesson needs more.
MAX_STEPS = 1_000_000
DEFAULT_TOL = 1e-8

#: registers exactly :data:`~gradlab.names.DESCENT_METHODS`, which the CLI's help lists without importing this module
METHODS: Registry[type[Method]] = Registry("method", names=DESCENT_METHODS)


def default_lr(method: str) -> float:
    """The learning rate used when none is given: 1 for Newton, 0.1 otherwise."""
    return DEFAULT_NEWTON_LR if method == "newton" else DEFAULT_LR


@dataclass(frozen=True)
class Settings:
    """The numbers a descent run needs; checked on construction.

    Parameters
    ----------
    lr : float or None
        Learning rate :math:`\\eta > 0`; ``None`` takes :func:`default_lr` of the method.
    steps : int
        Maximum number of updates, in [1, :data:`MAX_STEPS`].
    tol : float
        Convergence tolerance on the gradient and the step (Euclidean norms), >= 0.
    method : str
        One of :data:`METHODS` (``gd``, ``momentum``, ``nesterov``, ``adam``, ``newton``).
    momentum : float
        :math:`\\beta` of momentum and nesterov, in [0, 1).
    beta1, beta2, eps : float
        Adam's decay rates, in [0, 1), and its :math:`\\epsilon > 0`.
    """

    lr: float | None = None
    steps: int = DEFAULT_STEPS
    tol: float = DEFAULT_TOL
    method: str = "gd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        method = METHODS.canonical(self.method, "method")
        object.__setattr__(self, "method", method)
        if self.lr is None:
            object.__setattr__(self, "lr", default_lr(method))
        _check(self.lr, "lr", "a finite number > 0", lambda v: v > 0)
        if isinstance(self.steps, bool) or not isinstance(self.steps, (int, np.integer)) or self.steps < 1:
            raise InputError(f"steps: must be a whole number >= 1, got {self.steps!r}")
        if self.steps > MAX_STEPS:
            raise InputError(f"steps: at most {MAX_STEPS:,} (every step is kept for the table, the plot and "
                             f"metrics.csv), got {self.steps:,}")
        _check(self.tol, "tol", "a finite number >= 0", lambda v: v >= 0)
        for name in ("momentum", "beta1", "beta2"):
            _check(getattr(self, name), name, "a number in [0, 1)", lambda v: 0 <= v < 1)
        _check(self.eps, "eps", "a finite number > 0", lambda v: v > 0)
        problem = METHODS.get(method).eps_problem(self)
        if problem is not None:
            raise InputError(f"eps: {problem}")


def _check(value: object, name: str, allowed: str, ok) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.number))
            or not (math.isfinite(value) and ok(value))):
        raise InputError(f"{name}: must be {allowed}, got {value!r}")


# --------------------------------------------------------------------------- methods


class Method:
    """One update rule. ``step`` returns the next :math:`\\Delta` and advances the method's state."""

    name: str
    #: the settings beyond lr this rule reads (a value given for another is refused, not ignored)
    uses: tuple[str, ...] = ()

    def __init__(self, settings: Settings, expr) -> None:
        self.s = settings
        self.expr = expr

    def step(self, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def rule(self, point: str, grad: str, hess: str) -> list[str]:
        """The update as text, e.g. ``["x_new = x_old - 0.1 * (2*x - 4)"]``."""
        raise NotImplementedError

    @staticmethod
    def eps_problem(settings: Settings) -> str | None:
        """Why ``settings.eps`` cannot keep this method's steps bounded, or None (no eps is used)."""
        return None


@METHODS.register("gd")
class GradientDescent(Method):
    """Plain gradient descent, :math:`x \\leftarrow x - \\eta \\nabla f(x)`."""

    def step(self, x, g):
        return -self.s.lr * g

    def rule(self, point, grad, hess):
        return [f"{point}_new = {point}_old - {self.s.lr:g} * {grad}"]


@METHODS.register("momentum")
class Momentum(Method):
    """Heavy ball: :math:`v \\leftarrow \\beta v + \\nabla f(x)`, :math:`x \\leftarrow x - \\eta v`."""

    uses = ("momentum",)

    def __init__(self, settings, expr):
        super().__init__(settings, expr)
        self.v = 0.0

    def step(self, x, g):
        self.v = self.s.momentum * self.v + g
        return -self.s.lr * self.v

    def rule(self, point, grad, hess):
        return [f"v_new = {self.s.momentum:g} * v_old + {grad}", f"{point}_new = {point}_old - {self.s.lr:g} * v_new"]


@METHODS.register("nesterov")
class Nesterov(Method):
    """Look-ahead momentum: the gradient is taken where the velocity is carrying the point.

    :math:`v \\leftarrow \\beta v + \\nabla f(x - \\eta \\beta v)`, :math:`x \\leftarrow x - \\eta v`.
    """

    uses = ("momentum",)

    def __init__(self, settings, expr):
        super().__init__(settings, expr)
        self.v = np.zeros(expr.n_vars)

    def step(self, x, g):
        beta, lr = self.s.momentum, self.s.lr
        ahead = x - lr * beta * self.v
        # at v = 0 (the first step) the look-ahead point is x itself: reuse g
        g_ahead = g if not self.v.any() else self.expr.gradient(ahead)
        self.v = beta * self.v + g_ahead
        return -lr * self.v

    def rule(self, point, grad, hess):
        b, lr = self.s.momentum, self.s.lr
        return [
            f"v_new = {b:g} * v_old + {grad} evaluated at {point}_old - {lr:g} * {b:g} * v_old",
            f"{point}_new = {point}_old - {lr:g} * v_new",
        ]


@METHODS.register("adam")
class Adam(Method):
    """Adam: steps of size about ``lr`` along the sign of a smoothed gradient."""

    uses = ("beta1", "beta2", "eps")

    def __init__(self, settings, expr):
        super().__init__(settings, expr)
        self.m = self.v = 0.0
        self.t = 0

    def step(self, x, g):
        s = self.s
        self.t += 1
        self.m = s.beta1 * self.m + (1 - s.beta1) * g
        self.v = s.beta2 * self.v + (1 - s.beta2) * g * g
        m_hat = self.m / (1 - s.beta1**self.t)
        v_hat = self.v / (1 - s.beta2**self.t)
        return -s.lr * m_hat / (np.sqrt(v_hat) + s.eps)

    @staticmethod
    def eps_problem(settings: Settings) -> str | None:
        # The engine's limit holds here unchanged. v takes (1 - beta2) g g, which rounds to 0
        # exactly where the engine's (1 - beta2) (g g) does (its product g g underflows only further
        # below); dividing v by 1 - beta2^t <= 1 cannot bring a 0 back. Then the step is
        # lr m_hat / eps with m_hat about g, as in the engine: x0 = 1e-170 on x**2 with eps = 1e-300
        # stepped to -2e129 ("diverged ... (lr = 0.1)") where exact arithmetic steps by about lr.
        from gradlab.engine.optimizers import eps_problem

        return eps_problem("adam", settings.eps, "v", 1.0 - settings.beta2, np.dtype(np.float64))

    def rule(self, point, grad, hess):
        s = self.s
        return [
            f"g = {grad};  m = {s.beta1:g} * m + {1 - s.beta1:g} * g;  v = {s.beta2:g} * v + {1 - s.beta2:g} * g**2",
            f"{point}_new = {point}_old - {s.lr:g} * m_hat / (sqrt(v_hat) + {s.eps:g}),"
            f"  m_hat = m / (1 - {s.beta1:g}**t), v_hat = v / (1 - {s.beta2:g}**t)",
        ]


@METHODS.register("newton")
class Newton(Method):
    """Newton's method, :math:`x \\leftarrow x - \\eta H(x)^{-1} \\nabla f(x)`: exact in one step on a quadratic."""

    def step(self, x, g):
        h = self.expr.hessian(x)
        if singular(h):
            raise NoStep(f"the second derivative (Hessian) is singular at {point_text(x)}, so Newton's step is "
                         f"undefined there; try --method gd")
        return -self.s.lr * np.linalg.solve(h, g)

    def rule(self, point, grad, hess):
        lr = "" if self.s.lr == 1 else f"{self.s.lr:g} * "
        if point == "x":
            return [f"x_new = x_old - {lr}{grad} / ({hess})"]
        return [f"{point}_new = {point}_old - {lr}H^-1 grad f,  H = the Hessian"]


class NoStep(Exception):
    """A method has no next step from this point (Newton at a singular Hessian): the run ends there."""


def singular(h: np.ndarray) -> bool:
    """True when the Hessian cannot be inverted reliably (not finite, or condition number > 1/eps)."""
    if not np.all(np.isfinite(h)):
        return True
    return bool(np.linalg.cond(h) > 1 / np.finfo(float).eps)


def update_rule(expr, settings: Settings) -> list[str]:
    """The update rule with the numbers substituted, e.g. ``x_new = x_old - 0.1 * (2*x - 4)``."""
    method = METHODS.get(settings.method)(settings, expr)
    if expr.n_vars == 1:
        hess = expr.show(expr.hessian_sym[0][0]) if settings.method == "newton" else ""
        return method.rule("x", f"({expr.show(expr.grad_sym[0])})", hess)
    return method.rule("(" + ", ".join(expr.variables) + ")", "grad f", "H")
