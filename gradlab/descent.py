r"""Gradient descent on an :class:`~gradlab.expr.Expression`: step records, never printing.

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

How a run stops:

- ``converged``: before taking step :math:`k+1`, both :math:`\|g_k\|` and the step the
  method would take, :math:`\|\Delta_k\|`, are at most ``tol`` (default :data:`DEFAULT_TOL`
  = 1e-8). Checking the *next* step means a momentum run still moving fast through the
  minimum is not stopped, and Newton on a quadratic stops after its one exact step.
- ``max_steps``: ``steps`` updates were taken without converging.
- ``diverged``: right after the step that produced a non-finite value, a coordinate larger
  than :data:`X_LIMIT` in size, or :math:`f` more than :data:`F_GROWTH`
  :math:`\cdot (1 + |f(x_0)|)` above :math:`f(x_0)` (far beyond any overshoot of a
  converging run, e.g. step 39 for ``lr = 1.1`` on :math:`x^2 - 4x + 6` from 8).
- ``no_step``: (Newton) the second derivative turned singular away from a stationary point,
  so no next step exists; the run ends there, which is a result, not a divergence.
- ``interrupted``: Ctrl-C or SIGTERM; :meth:`Descent.interrupt` ends the run after the last recorded step.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

import numpy as np

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from gradlab.config import Bool, Float, Int
from gradlab.errors import InputError
from gradlab.names import DESCENT_METHODS
from gradlab.registry import Registry

DEFAULT_LR = 0.1
DEFAULT_NEWTON_LR = 1.0  # Newton's step is already scaled by the curvature
DEFAULT_STEPS = 100
# Every step is kept for the table, the plot and the stability numbers (~0.8 kB each, ~40 us):
# a million steps is 0.8 GB and half a minute, and no lesson needs more.
MAX_STEPS = 1_000_000
DEFAULT_TOL = 1e-8
X_LIMIT = 1e12
F_GROWTH = 1e6
STOP_REASONS = ("converged", "max_steps", "diverged", "no_step", "interrupted")

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
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InputError(f"{name}: must be {allowed}, got {value!r}")
    if not (math.isfinite(value) and ok(value)):
        raise InputError(f"{name}: must be {allowed}, got {value!r}")


# --------------------------------------------------------------------------- methods


class Method:
    """One update rule. ``step`` returns the next :math:`\\Delta` and advances the method's state."""

    name: str

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
            raise NoStep(f"the second derivative (Hessian) is singular at {_point(x)}, so Newton's step is "
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


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Step:
    """One update: from ``x_old`` (where the gradient ``grad`` was taken) to ``x_new``.

    ``f_new`` and ``grad_new`` are :math:`f` and :math:`\\nabla f` at ``x_new``;
    ``step_size`` is :math:`\\|x_{new} - x_{old}\\|`.
    """

    step: int
    x_old: np.ndarray
    grad: np.ndarray
    x_new: np.ndarray
    f_new: float
    grad_new: np.ndarray
    step_size: float


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``reason`` in :data:`STOP_REASONS`, after ``steps`` updates, at ``x``."""

    reason: str
    steps: int
    x: np.ndarray
    f: float
    grad: np.ndarray
    detail: str

    @property
    def status(self) -> str:
        """The run-directory status: ``diverged``, ``interrupted`` or ``completed``."""
        return self.reason if self.reason in ("diverged", "interrupted") else "completed"


@dataclass
class Descent:
    """A descent run: iterate it for :class:`Step` records, then read :attr:`outcome`.

    The start is checked on construction (see :func:`check_start`), so a bad input
    raises :class:`~gradlab.errors.InputError` before anything runs.

    Examples
    --------
    >>> from gradlab.expr import parse
    >>> run = Descent(parse("x**2 - 4*x + 6"), [8.0], Settings(lr=0.1))
    >>> [round(float(s.x_new[0]), 9) for s, _ in zip(run, range(3))]
    [6.8, 5.84, 5.072]
    """

    expr: object
    x0: Sequence[float]
    settings: Settings = field(default_factory=Settings)
    outcome: Outcome | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.x0 = check_start(self.expr, self.x0, self.settings)
        self.f0 = self.expr.value(self.x0)
        self.g0 = self.expr.gradient(self.x0)

    def __iter__(self) -> Iterator[Step]:
        s, expr = self.settings, self.expr
        method = METHODS.get(s.method)(s, expr)
        x, f, g = self.x0, self.f0, self.g0
        for k in range(1, s.steps + 2):
            try:
                with np.errstate(all="ignore"):  # an update can overflow (lr * g, g**2): caught as non-finite below
                    dx = method.step(x, g)
            except NoStep as stop:  # after k - 1 steps; the table so far and the plot are kept
                if norm(g) <= s.tol:  # f'' = 0 at the bottom of x**4 with tol 0; x**2 + y**6 turns singular at
                    # y = 5.4e-5, its gradient 3e-21: converged, which "undefined there; try --method gd" contradicted
                    detail = (f"gradient below tol = {s.tol:g}; the second derivative (Hessian) is singular there, "
                              f"so Newton has no next step")
                    self.outcome = Outcome("converged", k - 1, x, f, g, detail)
                else:
                    self.outcome = Outcome("no_step", k - 1, x, f, g, str(stop))
                return
            if norm(g) <= s.tol and norm(dx) <= s.tol:
                detail = f"gradient and next step below tol = {s.tol:g}"
                self.outcome = Outcome("converged", k - 1, x, f, g, detail)
                return
            if k > s.steps:
                detail = f"step limit reached; gradient or next step still above tol = {s.tol:g}"
                self.outcome = Outcome("max_steps", s.steps, x, f, g, detail)
                return
            with np.errstate(all="ignore"):
                x_new = x + dx
            f_new, g_new = expr.value(x_new), expr.gradient(x_new)
            yield Step(k, x, g, x_new, f_new, g_new, norm(x_new - x))
            problem = self._explosion(x_new, f_new, g_new)
            if problem:
                self.outcome = Outcome("diverged", k, x_new, f_new, g_new, problem)
                return
            x, f, g = x_new, f_new, g_new

    def interrupt(self, steps: Sequence[Step], by: str = "Ctrl-C") -> Outcome:
        """End the run where Ctrl-C (or what ``by`` names: SIGTERM) found it, after the recorded
        ``steps``; sets :attr:`outcome`."""
        last = steps[-1] if steps else None
        x, f, g = (last.x_new, last.f_new, last.grad_new) if last else (self.x0, self.f0, self.g0)
        self.outcome = Outcome("interrupted", len(steps), x, f, g, by)
        return self.outcome

    def _explosion(self, x: np.ndarray, f: float, g: np.ndarray) -> str | None:
        """Why the run counts as diverged after reaching ``x``, or None."""
        if not np.all(np.isfinite(x)):
            return "the point is no longer a finite number"
        if math.isnan(f):
            return f"f has no real value at {_point(x)} (outside its domain)"
        if not math.isfinite(f):
            return f"f overflowed at {_point(x)}"
        if not np.all(np.isfinite(g)):
            return f"the gradient is not finite at {_point(x)}"
        if np.max(np.abs(x)) > X_LIMIT:
            return f"a coordinate passed {X_LIMIT:g} in size ({_point(x)})"
        if f - self.f0 > F_GROWTH * (1 + abs(self.f0)):
            return f"f rose from {self.f0:.6g} to {f:.6g}, more than {F_GROWTH:g} * (1 + |f(x0)|) above its start"
        return None


def descend(expr, x0: Sequence[float], settings: Settings | None = None) -> tuple[list[Step], Outcome]:
    """Run to the end and return all step records and the outcome."""
    run = Descent(expr, x0, settings or Settings())
    steps = list(run)
    return steps, run.outcome


def check_start(expr, x0: Sequence[float], settings: Settings) -> np.ndarray:
    """Check that descent can start at ``x0``; return it as a float64 array.

    Raises
    ------
    InputError
        Wrong number of coordinates, a non-finite coordinate or one beyond :data:`X_LIMIT`, no real (finite) value of
        :math:`f` or :math:`\\nabla f` at ``x0``, or (Newton) a singular second derivative.
    """
    point = np.asarray(x0, dtype=float).ravel()
    n = expr.n_vars
    if point.size != n:
        example = "8" if n == 1 else "-1.5,2"
        # 'y**2 - 4*y + 6' is f(x, y) with x unused: say why it has two variables
        no_x = " (f has no x: a function of one variable is written in x)" if "x" not in map(
            str, expr.sym.free_symbols) else ""
        raise InputError(
            f"x0: f({', '.join(expr.variables)}) has {n} variable{'s' * (n > 1)} but x0 has "
            f"{point.size} coordinate{'s' * (point.size != 1)}; give {n}, e.g. --x0={example}{no_x}"
        )
    if not np.all(np.isfinite(point)) or np.max(np.abs(point)) > X_LIMIT:  # beyond X_LIMIT counts as diverged
        raise InputError(f"x0: coordinates must be finite numbers at most {X_LIMIT:g} in size, got {_point(point)}")
    value, grad = expr.value(point), expr.gradient(point)
    if not math.isfinite(value):
        raise InputError(f"x0: f = {expr.formula} has no real finite value at {_point(point)} (got {value})")
    if not np.all(np.isfinite(grad)):
        raise InputError(f"x0: the gradient of f = {expr.formula} is not finite at {_point(point)}")
    if settings.method == "newton" and singular(expr.hessian(point)):
        what = "f''(x0) = 0" if n == 1 else "the Hessian is singular"
        raise InputError(
            f"x0: newton needs an invertible second derivative, but {what} at {_point(point)} "
            f"({'; '.join(expr.second_derivative_lines())}); start elsewhere or use --method gd"
        )
    return point


def norm(v: np.ndarray) -> float:
    """The Euclidean norm, inf (not an overflow warning) when it exceeds float64."""
    with np.errstate(all="ignore"):
        return float(np.linalg.norm(v))


def _point(x: np.ndarray) -> str:
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 1:
        return f"x = {x[0]:.6g}"
    return "(" + ", ".join(f"{v:.6g}" for v in x) + ")"


# --------------------------------------------------------------------------- metrics rows


def metric_columns(variables: Sequence[str]) -> list[str]:
    """``metrics.csv`` header: step, the coordinates, f, the gradient components, step_size."""
    return ["step", *variables, "f", *(f"df_d{v}" for v in variables), "step_size"]


def metric_row(run: Descent, step: Step | None) -> dict:
    """One metrics row: the start for ``None``, else the point after ``step``."""
    names = run.expr.variables
    if step is None:
        return _row(0, names, run.x0, run.f0, run.g0, None)
    return _row(step.step, names, step.x_new, step.f_new, step.grad_new, step.step_size)


def _row(k, names, x, f, g, size) -> dict:
    row = {"step": k, **{v: float(c) for v, c in zip(names, x)}, "f": float(f)}
    row.update({f"df_d{v}": float(c) for v, c in zip(names, g)})
    row["step_size"] = size
    return row


# --------------------------------------------------------------------------- stability (1-D)


@dataclass(frozen=True)
class Stability:
    r"""Linear stability of a 1-D run near the minimum :math:`x^*`.

    Near :math:`x^*`, :math:`f'(x) \approx f''(x^*) (x - x^*)`, so plain gradient
    descent multiplies the error :math:`e_k = x_k - x^*` by :math:`1 - \eta f''(x^*)`
    each step: it converges only when :math:`|1 - \eta f''(x^*)| < 1`, i.e.
    :math:`\eta < 2 / f''(x^*)`. Momentum and Nesterov have the bounds
    :math:`2 (1 + \beta) / f''` and :math:`2 (1 + \beta) / ((1 + 2\beta) f'')`; their
    predicted ratio is the spectral radius of the linearised two-term recursion. Damped
    Newton multiplies the error by :math:`1 - \eta`: it needs :math:`\eta < 2`, whatever
    :math:`f''(x^*)`, and at :math:`\eta = 1` the linear term vanishes (quadratic convergence).

    Attributes
    ----------
    x_star, curvature : float
        The minimum and :math:`f''(x^*)`.
    gd_bound : float
        :math:`2 / f''(x^*)` (inf when :math:`f''(x^*) = 0`).
    bound : float or None
        The bound on lr for the run's method (None for adam, and for newton at a flat minimum).
    predicted : float or None
        Predicted :math:`|e_{k+1}| / |e_k|` for the run's method.
    flat : bool
        :math:`f''(x^*)` is 0 to within rounding: no bound applies.
    observed : float or None
        Geometric mean of :math:`|e_{k+1}| / |e_k|` over the last ``observed_steps``
        steps whose errors are well above rounding.
    """

    x_star: float
    curvature: float
    lr: float
    method: str
    gd_bound: float
    bound: float | None
    predicted: float | None
    observed: float | None
    observed_steps: int
    flat: bool = False

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def linear_rate(method: str, a: float, beta: float) -> tuple[float, float] | None:
    r"""``(bound on a, spectral radius)`` of the linearised method at :math:`a = \eta f''(x^*)`.

    With :math:`w = \eta v` the error recursions are, for gd :math:`e' = (1 - a) e`;
    heavy ball :math:`w' = \beta w + a e,\ e' = e - w'`; Nesterov
    :math:`w' = a e + \beta (1 - a) w,\ e' = e - w'`. Newton divides by the curvature,
    :math:`e' = e - \eta f'(x) / f''(x) \approx (1 - \eta) e`, so for it pass :math:`a = \eta`
    (the bound is then on :math:`\eta` itself: 2). None for adam, which has no fixed
    linear rate.
    """
    if method in ("gd", "newton"):
        matrix, bound = [[1 - a]], 2.0
    elif method == "momentum":
        matrix, bound = [[1 - a, -beta], [a, beta]], 2 * (1 + beta)
    elif method == "nesterov":
        matrix, bound = [[1 - a, -beta * (1 - a)], [a, beta * (1 - a)]], 2 * (1 + beta) / (1 + 2 * beta)
    else:
        return None
    if not math.isfinite(a):  # lr * f'' overflowed (lr = 1e308): far past the bound, no finite rate
        return bound, math.inf
    return bound, float(np.max(np.abs(np.linalg.eigvals(np.array(matrix, dtype=float)))))


def find_minimum_1d(expr, starts: Sequence[float], iterations: int = 200) -> float | None:
    r"""A point with :math:`f'(x^*) = 0` and :math:`f''(x^*) > 0`, by Newton's method on :math:`f'`.

    Tries each start in turn (e.g. the run's end point, then ``x0``); None if none leads
    to a minimum. Newton on :math:`f'` is abandoned where :math:`f'' \le 0`, and its steps
    must shrink: towards a flat minimum such as :math:`x^6` they shrink geometrically, while
    on an asymptote such as :math:`e^x` (where :math:`f'` and :math:`f''` vanish together
    as :math:`x \to -\infty`) every step is the same size, and no minimum exists.
    """
    for start in starts:
        x = float(start)
        if not math.isfinite(x):
            continue
        scale = 1.0 + abs(float(expr.gradient([x])[0]))
        first = last = None
        for _ in range(iterations):
            g, h = float(expr.gradient([x])[0]), float(expr.hessian([x])[0, 0])
            if not (math.isfinite(g) and math.isfinite(h)) or h <= 0:
                break
            last = abs(g / h)
            first = last if first is None else first
            x -= g / h
            if last <= 4 * np.finfo(float).eps * (1 + abs(x)):
                break
        shrinking = first is None or last <= 1e-6 * first or last <= 1e-8 * (1 + abs(x))
        g, h = float(expr.gradient([x])[0]), float(expr.hessian([x])[0, 0])
        if math.isfinite(x) and math.isfinite(h) and h > 0 and abs(g) <= 1e-8 * scale and shrinking:
            return x
    return None


@dataclass(frozen=True)
class Kink:
    """A minimum of a 1-D f where f' jumps from ``left`` < 0 to ``right`` > 0 at ``x`` (|x| at 0), which a
    descent circles: its last points lie between ``low`` and ``high``, on either side of it."""

    x: float
    left: float
    right: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"x": self.x, "left_slope": self.left, "right_slope": self.right, "low": self.low, "high": self.high}


def kink_minimum(expr, path: Sequence[float], window: int = 20) -> Kink | None:
    r"""The :class:`Kink` a 1-D run ended circling, or None.

    Gradient descent cannot settle where :math:`f'` jumps (:math:`|x|` at 0): however close a point
    comes, the next step is :math:`\eta |f'|`, as large as ever, and the last ``window`` points circle
    the kink, some with :math:`f' < 0`, some with :math:`f' > 0`. Between the closest of each, a < b,
    the sign change of :math:`f'` is found by bisection; it is a kink when :math:`f'` a hair
    (1e-12 (1 + |x|)) to either side of it keeps more than 1% of its largest size on the circling
    points. Beside a smooth minimum the slope shrinks to 0 there, and there is no kink.
    """
    tail = np.asarray(path[-window:], dtype=float)
    if expr.n_vars != 1 or tail.size < 4 or not np.all(np.isfinite(tail)):
        return None
    slope = lambda x: float(expr.gradient([x])[0])  # noqa: E731
    slopes = np.array([slope(p) for p in tail])
    if not (np.any(slopes < 0) and np.any(slopes > 0)) or not np.all(np.isfinite(slopes)):
        return None
    below, above = float(tail[slopes < 0].max()), float(tail[slopes > 0].min())
    if below >= above:  # the points do not straddle one sign change (two minima, or a maximum between)
        return None
    low, high = float(tail.min()), float(tail.max())
    steepest = float(np.abs(slopes).max())
    a, b = below, above
    while True:  # bisect on the sign of f' down to adjacent floats (about 60 halvings)
        middle = a + (b - a) / 2
        if middle in (a, b):
            break
        g = slope(middle)
        if not math.isfinite(g):
            return None
        if g == 0:  # f' = 0 at the kink itself (sympy's sign(0))
            a = b = middle
            break
        a, b = (middle, b) if g < 0 else (a, middle)
    x = min((a, b), key=lambda point: float(expr.value([point])))
    # the one-sided slopes, a hair off x: the jump of a kink, or about 0 beside a smooth minimum
    hair = 1e-12 * (1.0 + abs(x))
    left, right = slope(x - hair), slope(x + hair)
    if not min(-left, right) > 0.01 * steepest:
        return None
    return Kink(float(x) + 0.0, left, right, float(low), float(high))


def falling_towards(expr, x: float) -> str | None:
    r"""``"+inf"`` or ``"-inf"`` when :math:`f` keeps decreasing from ``x`` that way, else None.

    Probes :math:`f(x + d t)` at :math:`t = (1 + |x|) \cdot (1, 10, 100)` in the downhill
    direction :math:`d = -\operatorname{sign} f'(x)` (either way if :math:`f'(x) = 0`): values
    that never rise and first fall mean there is no minimum that way, as for :math:`-x^2`
    (unbounded below) or :math:`e^x` (an asymptote, :math:`f \to 0` as :math:`x \to -\infty`).
    Where float64 sees f flat, the probes are repeated in mpmath: :math:`e^x` from x = -1000 is
    0 in float64 at x and at every probe, but it still falls (5.1e-435, 9.5e-870, ...).
    """
    g = float(expr.gradient([x])[0])
    f0 = float(expr.value([x]))
    directions = [-1.0 if g > 0 else 1.0] if g != 0 else [1.0, -1.0]
    for d in directions:
        probes = [x + d * t * (1 + abs(x)) for t in (1.0, 10.0, 100.0)]
        values = [expr.value([p]) for p in probes]
        if values == [f0] * 3:  # underflowed alike (or truly flat, as relu(x) for x < 0): ask without the range limit
            f0, *values = (expr.value_unbounded([p]) for p in (x, *probes))
            if None in (f0, *values):
                continue
        # falls, then falls on (or holds at an asymptote it reached in float64, as tanh does);
        # relu(x) falls to 0 and stays there: a flat floor, not a fall without end
        if all(math.isfinite(v) for v in values) and values[2] <= values[1] < values[0] < f0:
            return "+inf" if d > 0 else "-inf"
    return None


@dataclass(frozen=True)
class Stationary:
    """What a point where the gradient vanished is, when it is no minimum (see :func:`stationary_kind`).

    ``kind`` is ``"maximum"``, ``"saddle point"`` or ``"flat point"``. ``by_values`` is True when the
    Hessian is 0 to rounding along some direction there, or not finite (``hessian_finite`` False),
    or has no such direction but changes sign right beside the point (``curvature_changes`` True),
    and f's own values beside the point decided.
    """

    kind: str
    by_values: bool = False
    hessian_finite: bool = True
    curvature_changes: bool = False


@dataclass(frozen=True)
class Plateau:
    """Where a run stopped on a gradient that is merely small: f keeps falling along ``direction`` (a unit
    vector), and no point where the gradient vanishes is near (see :func:`plateau`).

    ``gradient`` is the gradient's size there; where float64 rounds the gradient to 0 (``rounded``), it
    is the 50-digit one, an mpmath number (tanh at -20: 1.7e-17; e^x at -1000: 5.1e-435).
    """

    direction: np.ndarray
    gradient: Any
    rounded: bool = False
    kind: ClassVar[str] = "plateau"  # what the run's summary calls it, as a Stationary's kind


def plateau(expr, x: Sequence[float]) -> Plateau | None:
    r"""A :class:`Plateau` where a run that met its tolerance at ``x`` did so because the gradient is
    merely small, not 0, and f keeps falling beyond float64's rounding; else None (a stationary point,
    or too flat to tell: :func:`stationary_kind` judges it).

    Saturated functions are such plateaus: tanh at -20 has a gradient of 1.7e-17 (0 in float64),
    :math:`-e^{-x^2}` at 6 one of 2.8e-15, and descent stops there, as it does at a minimum.

    What tells them apart is how far off the gradient would vanish if the curvature were what it is
    at x (:func:`_stationary_distance`). A run that stopped near a stationary point stopped within
    about that distance of it; where 10 times that distance stays within the probes' reach,
    ``PROBE_REACH`` :math:`(1 + \|x\|)`, the point is right beside x, and no plateau (a quadratic
    minimum reached to tol: its gradient vanishes a distance of tol / f'' away).

    Farther, f itself is asked, to 50 digits, along the direction :math:`u = -g / \|g\|` descent
    moves in: it must be lower at every probe :math:`x + d u` and higher at every :math:`x - d u`,
    each by more than rounding (:func:`_compare` with f's rounding and :func:`_placement`), at the
    distances of :func:`_probe_distances` from x's precision out to the probes' reach. On the side where
    the curvature c along u puts the point where f's slope along the line would vanish,
    :math:`t = \|g\| / |c|` away (downhill for c > 0, uphill for c < 0), f is also probed past it, at
    2t, 4t, ... 128t: a minimum reached to tol is about t away (a flat one, :math:`x^p`, (p - 1) t),
    and f rises again past it; twice as far at a time, no probe steps over the rise to where f may fall
    again (the local minimum 1 of :math:`x^3 - 3x`, stopped at 1.147 with tol = 1, before its fall
    to -inf). :math:`e^x` from -20 falls on at every one, out to 128 away. Where c is 0 to its
    rounding, t is the distance to where the gradient vanishes, on both sides: along the floor of
    :math:`(x + y)^2 + (x - y)^8`, where Newton stops 9.8e-4 off the minimum, the Hessian's entries
    are 2 to rounding, and c is lost in that rounding.

    Where float64 rounds the whole gradient to 0 (tanh at -20), the 50-digit gradient and Hessian
    (:meth:`~gradlab.expr.Expression.derivatives_precise`) stand in for it; at a stationary point
    they are 0 too (:math:`x^3` at 0), or the point lies within rounding of one, right beside x.
    """
    x = np.asarray(x, dtype=float)
    slope = _gradient_and_hessian(expr, x)
    if slope is None:
        return None
    g, h, size, rounded = slope
    to_stationary = _stationary_distance(g, h)
    if not 10.0 * to_stationary > PROBE_REACH * (1.0 + norm(x)):  # (nan is no distance)
        return None
    length = math.hypot(*g)  # not norm(g): g * g underflows where g is 1e-170 (-exp(-x**2) at 20)
    u = -g / length
    curvature = float(u @ h @ u)
    # past where f's slope along u would vanish if f were quadratic, twice as far at a time out to 128 times
    known = abs(curvature) > 10.0 * np.finfo(float).eps * float(np.abs(u) @ np.abs(h) @ np.abs(u))
    vanishes = length / abs(curvature) if known else to_stationary
    past = [vanishes * 2.0**k for k in range(1, 8)] if math.isfinite(vanishes) else []
    near = _probe_distances(0.0, norm(x))
    downhill = sorted(near + past) if curvature > 0 or not known else near
    uphill = sorted(near + past) if curvature < 0 or not known else near
    f0 = expr.value_precise(x)
    noise = 10.0 * (expr.rounding_precise(x) + _placement(expr, x))
    for side, distances, expected in ((1.0, downhill, -1), (-1.0, uphill, 1)):
        for d in distances:
            p = x + side * d * u
            if _compare(expr.value_precise(p), f0, noise + 10.0 * _placement(expr, p)) != expected:
                return None
    return Plateau(u, size, rounded)


def _gradient_and_hessian(expr, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any, bool] | None:
    """``(g, h, size, rounded)``: f's gradient and Hessian at x, in float64, and the gradient's size;
    None where either is not finite, or the gradient is 0 (see below).

    Where float64 rounds the whole gradient to 0 (``rounded``) and the Hessian is singular, as it is on
    a plateau (tanh at -20: both are 0), the 50-digit gradient and Hessian stand in for them, both
    divided by their largest entry so that they fit float64 (e^x at -1000: 5.1e-435); that changes
    neither the direction of g nor :math:`H^{-1} g`. With an invertible Hessian (:math:`x^2` at 0) the
    gradient vanishes within rounding of x, and there is no plateau: None.
    """
    g, h = expr.gradient(x), _hessian(expr, x)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(h))):
        return None
    if np.any(g != 0):
        return g, h, math.hypot(*g), False
    if np.all(np.linalg.eigvalsh(h) != 0):  # an invertible Hessian puts where g vanishes within float64's rounding
        return None
    precise = expr.derivatives_precise(x)
    if precise is None:
        return None
    import mpmath

    g_precise, rows = precise
    scale = max(abs(v) for v in [*g_precise, *(v for row in rows for v in row)])
    if scale == 0 or not mpmath.isfinite(scale):
        return None
    g, h = (np.array([[float(v / scale) for v in row] for row in values]) for values in ([g_precise], rows))
    if not np.any(g != 0):  # nothing beside the curvature: a stationary point within rounding of x
        return None
    return g[0], h, mpmath.norm(g_precise), True


def stationary_kind(expr, x: Sequence[float]) -> Stationary | None:
    r"""A :class:`Stationary` whose kind is ``"maximum"`` or ``"saddle point"`` when a point where
    the gradient vanished is no minimum, or ``"flat point"`` when the second derivatives say so at
    ``x`` but not right beside it; else None (a minimum, or too flat to tell).

    Descent stops wherever the gradient is 0: on :math:`\cos x` started at 0 it never moves,
    and Newton, which seeks any zero of the gradient, lands on maxima and saddles too.

    The gradient vanishes where :math:`x - H^{-1} g` says if the curvature is what it is at
    ``x`` (:func:`_newton_step`). The verdict must hold out to 10 times that distance: at the inflection
    x = 0 of :math:`x^4 - 3x^3` (:math:`f' = x^2 (4x - 9)`, a double zero) Newton halves its
    distance each step and stops at x = 1.1e-8, where :math:`f'' = -2 \cdot 10^{-7}` but
    :math:`f'' > 0` just left of 0; that point is no maximum. Nor is :math:`x^3 + y^2` minimal where
    Newton stops at (1.5e-8, 0), though its Hessian there is positive definite: 10 steps on,
    past 0, :math:`f_{xx} < 0`.

    Where the curvature changes like that, along a direction where the Hessian's eigenvalue is 0 to
    rounding, or where the Hessian is not finite, it cannot tell; f itself is asked then (see
    :func:`_kind_by_values`): :math:`-x^4 - y^4` and :math:`x^4 - y^4` end Newton's run at
    (1.8e-8, 1.8e-8) with a Hessian of 4e-15, which passed for a minimum, and :math:`x^4 - y^2`,
    which rises along x, passed for a maximum. At (0, 0) :math:`-(x^2 + y^2)^{3/2}` has a Hessian of
    0/0, and a start there was "converged". Where f cannot tell either, a maximum or saddle point
    whose curvature changes right beside x is a ``"flat point"``.
    """
    x = np.asarray(x, dtype=float)
    h = _hessian(expr, x)
    kind = _curvature_kind(h)
    # no step without a Hessian
    step = _newton_step(expr.gradient(x), h) if np.all(np.isfinite(h)) else np.zeros_like(x)
    changes = bool(np.all(np.isfinite(step))) and any(
        _curvature_kind(_hessian(expr, x + side * 10.0 * step)) != kind for side in (-1.0, 1.0))
    flat = _flat(h)  # a saddle's rising direction may be one the Hessian sees as flat: only a saddle is sure
    # where the curvature says minimum, a change 10 steps on means an odd-order point only right beside
    # x: a run stopped at a loose tol (x**3 - 3*x at 1.147, tol = 1) sees the maximum at -1 from there
    beside = norm(10.0 * step) <= PROBE_REACH * (1.0 + norm(x))
    if (changes and (kind is not None or beside)) or (flat and kind != "saddle point"):
        seen = _kind_by_values(expr, x, h, step)
        if seen is not None and (seen != kind or changes):
            return Stationary(seen, by_values=True, hessian_finite=bool(np.all(np.isfinite(h))),
                              curvature_changes=changes and not flat)
    if kind is None:
        return None
    return Stationary("flat point" if changes else kind)


def _newton_step(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    r""":math:`H^{-1} g` for the gradient ``g`` and a finite Hessian ``h`` at x: how far from x the gradient
    vanishes if the curvature is what it is at x. Along an eigenvector whose eigenvalue is exactly 0 the step is 0.

    Every other eigenvalue is inverted, however small: least squares (``lstsq``) drops those below
    :math:`\epsilon \|H\|`, but that is where Newton stops, its Hessian singular, along a flat
    direction. On :math:`(x - 0.179)^2 + (y - 1.228)^8` it stops 1.3e-3 off in y, where
    :math:`f_{yy} = 3 \cdot 10^{-16}`: without the step of 1.9e-4 there, the probes
    (:func:`_probe_distances`) start at 3e-8 and end at 2.2e-3, too little beyond the minimum to see
    f rise on both sides of it, and f lower on one side is no minimum. On :math:`x^2 - y^6` they never
    saw f fall on both sides of y = 5.4e-5, and that saddle point was "converged". Such an
    eigenvalue may be off by its rounding, :math:`\epsilon \|H\|`, even in sign, but it is the
    step's size that sets the reach.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(h)
    along = eigenvectors.T @ np.asarray(g, dtype=float)
    with np.errstate(all="ignore"):
        steps = np.where(eigenvalues != 0, along / eigenvalues, 0.0)
    return eigenvectors @ steps


def _stationary_distance(g: np.ndarray, h: np.ndarray) -> float:
    r"""How far from x the gradient vanishes if the curvature is what it is at x, :math:`\|H^{-1} g\|`
    (:func:`_newton_step`), or inf where g has a part along an eigenvector whose eigenvalue is exactly 0:
    there f changes linearly, and its gradient vanishes nowhere (:math:`10^{-9} x + y^2`)."""
    eigenvalues, eigenvectors = np.linalg.eigh(h)
    if np.any((eigenvalues == 0) & (eigenvectors.T @ g != 0)):
        return math.inf
    return norm(_newton_step(g, h))


def _hessian(expr, x: np.ndarray) -> np.ndarray:
    """The Hessian at x, nan or inf (not a warning) where it has no finite value."""
    with np.errstate(all="ignore"):
        return expr.hessian(x)


def _zero_tol(eigenvalues: np.ndarray) -> float:
    """Eigenvalues of the Hessian within this of 0 are 0 to rounding."""
    return 1e-8 * max(1.0, float(np.max(np.abs(eigenvalues))))


def _flat(h: np.ndarray) -> bool:
    """True when the Hessian ``h`` is not finite, or has an eigenvalue 0 to rounding: it cannot tell
    what the point is along every direction."""
    if not np.all(np.isfinite(h)):
        return True
    eigenvalues = np.linalg.eigvalsh(h)
    return bool(np.any(np.abs(eigenvalues) <= _zero_tol(eigenvalues)))


def _curvature_kind(h: np.ndarray) -> str | None:
    """``"maximum"``, ``"saddle point"`` or None (no negative curvature, or non-finite) from a Hessian ``h``."""
    if not np.all(np.isfinite(h)):
        return None
    eigenvalues = np.linalg.eigvalsh(h)
    tol = _zero_tol(eigenvalues)
    if eigenvalues[0] >= -tol:
        return None
    return "saddle point" if eigenvalues[-1] > tol else "maximum"


def _kind_by_values(expr, x: np.ndarray, h: np.ndarray, step: np.ndarray) -> str | None:
    r"""``"maximum"`` or ``"saddle point"`` from f itself, where the Hessian cannot tell (see
    :func:`stationary_kind`); None where f cannot tell either, or rises.

    f is compared with its value at a centre c at :math:`c \pm d u`, along each eigenvector u of
    the Hessian (it finds a flat direction among curved ones, as for
    :math:`-(x + 2y)^4 + (2x - y)^2`) and along the axes and diagonals (where the Hessian is 0 to
    rounding its eigenvectors are arbitrary), each widened until f shows its shape there (see
    :func:`_first_difference`). f lower on both sides in every direction: a maximum; lower on some
    side (both, or one only: :math:`x^3 + y^2`, the monkey saddle :math:`x^3 - 3xy^2`) and higher on
    some other: a saddle point, in the wide sense of a stationary point that is no extremum;
    anything else (e.g. :math:`x^4 + 100`, equal to rounding everywhere near 0) keeps the verdict
    "minimum".

    c is x moved by one Newton ``step`` (:func:`_newton_step`). The run stopped with a gradient up to
    ``tol``, so x may sit that far up the wall of a curved direction, and from there f falls
    along a flat one on both sides as it slides down to the floor: on the valley of minima
    :math:`(y - x^2)^2`, gd's end points looked like saddles. In the curved directions the step
    lands on the floor. Where the Hessian is not finite (0/0 at the centre of
    :math:`-(x^2 + y^2)^{3/2}`) there is no step and no eigenvector: c is x, and the axes and
    diagonals are asked. A kink is safe there: :math:`|x|` rises on both sides, and where f's own
    slope is infinite (:math:`\sqrt{x^2 + y^2}`) so is its rounding, and nothing counts.

    The distances d are :func:`_probe_distances`. f is evaluated to 50 digits
    (:meth:`~gradlab.expr.Expression.value_precise`), not in float64: beside f = 1 the
    :math:`y^6` of :math:`1 - x^6 - y^6` changes f by 1e-18 at the widest probe, which float64
    rounds away, and that maximum was "converged"; :math:`-x^2 + y^6 + 1` a maximum. A
    difference counts when it is 10 times f's rounding at c in that precision
    (:meth:`~gradlab.expr.Expression.rounding_precise`), not :math:`10^{-50} |f(c)|`: a sum of
    large terms that cancel is rounded on the scale of the terms (float64 computed
    :math:`\cosh x - 1 - x^2/2`, the flat minimum :math:`x^4/24 + \dots`, as :math:`-x^2/2` for
    :math:`|x| < 10^{-8}`, and the probes saw a maximum in x). Nor does a change that rounding the
    probe point itself to float64 can make (:func:`_placement`).
    """
    n = expr.n_vars
    axes = np.eye(n)
    directions = [*np.linalg.eigh(h)[1].T, *axes] if np.all(np.isfinite(h)) else list(axes)
    directions += [(axes[i] + sign * axes[j]) / math.sqrt(2) for i in range(n) for j in range(i + 1, n)
                   for sign in (1.0, -1.0)]
    if not np.all(np.isfinite(step)):
        step = np.zeros_like(x)
    centre = x - step
    f0 = expr.value_precise(centre)
    noise = 10.0 * (expr.rounding_precise(centre) + _placement(expr, centre))
    distances = _probe_distances(norm(step), norm(x))
    with np.errstate(all="ignore"):
        slope = np.asarray(expr.gradient(centre), dtype=float)
    if not np.all(np.isfinite(slope)):
        slope = np.zeros_like(x)
    sides = [_first_difference(expr, centre, u, distances, f0, noise, float(slope @ u)) for u in directions]
    if all(pair == (-1, -1) for pair in sides):
        return "maximum"
    lower, higher = (any(sign in pair for pair in sides) for sign in (-1, 1))
    return "saddle point" if lower and higher else None


PROBE_REACH = 1e-3  # the widest probe of f beside a flat point, times 1 + |x|


def _probe_distances(step: float, size: float) -> list[float]:
    r"""The distances at which :func:`_kind_by_values` compares f, nearest first: from
    :math:`d_0` tenfold at a time out to ``PROBE_REACH`` :math:`(1 + \|x\|)`.

    :math:`d_0` is 100 Newton steps (``step``): at a flat stationary point of order p
    (:math:`x^p`) Newton's step is :math:`x / (p - 1)`, so :math:`d_0` passes the true point for p
    up to ~100, while a run that stopped at tol = 1e-8 keeps it near 1e-6. It is at least
    :math:`\sqrt{\epsilon} (1 + \|x\|)`, the precision of x itself, for a run that stopped where
    g is exactly 0 (a start on the point).

    Wider probes reach features whose change is below even the 50-digit rounding nearer in
    (:math:`x^{40}` beside f = 1).
    """
    first = max(100.0 * step, math.sqrt(np.finfo(float).eps) * (1.0 + size))
    reach = PROBE_REACH * (1.0 + size)
    distances = [first]
    while distances[-1] * 10.0 < reach:
        distances.append(distances[-1] * 10.0)
    return distances if distances[-1] >= reach else [*distances, reach]


def _first_difference(expr, centre: np.ndarray, u: np.ndarray, distances: Sequence[float], f0: float,
                      noise: float, tilt: float = 0.0) -> tuple[int, int]:
    r""":func:`_compare` of f at :math:`c - d u` and at :math:`c + d u` with ``f0``, at the first of
    ``distances`` where both sides differ alike (lower on both, or higher on both); else the last
    one-sided pair that f's slope does not explain (see below), ``(0, 0)`` if none. A probe's difference counts when it passes
    ``noise`` (the rounding of f at c, and of c's coordinates) and what rounding the probe
    point's own coordinates to float64 can change f by (:func:`_placement`).

    Widening stops there, for each direction on its own. Nearer than that distance f along the
    line equals f(c) to rounding: any feature there (a minimum flatter than rounding, with a
    maximum 1e-4 away) is invisible even in 50 digits, and to descent's own float64, so the
    first difference is the nearest shape of f that can be seen, and it is the point's own; a
    feature farther out is never reached. A direction that differs at once (the y of
    :math:`1 + x^4 - y^2`, at 1e-6) is judged there, while a flat one (its x) is widened on
    until it shows (at 1e-3): stopping every direction at the first difference in any would
    leave x unseen, and that saddle passed for a maximum.

    f lower on one side only, higher (or equal) on the other, is widened on too: c may be off the
    point by more than d, for Newton's step (:func:`_newton_step`) only estimates how far the
    point is along a flat direction (from x on :math:`x^p` it leaves :math:`x (p - 2) / (p - 1)`
    to go), and a farther probe, past the point, sees f rise on both sides of a minimum. At an
    odd-order point such as the x of :math:`x^3 + y^2` f stays lower on one side at every distance,
    and the last pair says so: f is lower beside c, which is no minimum.

    A one-sided pair counts only where f's slope at c along u (``tilt``) does not explain it: with
    :math:`\pm d\,\mathrm{tilt}` taken off, f must still be lower on one side only. At an
    odd-order point the slope is 0 to the run's tolerance and f beyond it is :math:`\pm d^3`; on a
    plateau, where the run stopped because the gradient was merely small (``exp(x)`` from -20), the
    slope alone made f lower on one side, and the plateau passed for an inflection point.
    """
    pair = (0, 0)
    for d in distances:
        # the product d * tilt is rounded in float64: its rounding joins the noise
        margin = noise + 10.0 * np.finfo(float).eps * abs(d * tilt)
        seen, beyond_slope = [], []
        for side in (-1.0, 1.0):
            p = centre + side * d * u
            value, placement = expr.value_precise(p), 10.0 * _placement(expr, p)
            seen.append(_compare(value, f0, noise + placement))
            beyond_slope.append(_compare(value, f0, margin + placement, rise=side * d * tilt))
        seen = tuple(seen)
        if seen in ((-1, -1), (1, 1)):
            return seen
        if seen != (0, 0) and -1 in beyond_slope and tuple(beyond_slope) != (-1, -1):
            pair = seen
    return pair


def _placement(expr, point: np.ndarray) -> float:
    r"""How far f can move when ``point``'s coordinates are rounded to float64: by up to
    :math:`\delta_i = \epsilon |x_i|` each (twice half an ulp, a margin), which moves f by
    :math:`|\nabla f| \cdot \delta + \delta^T |H| \delta` at most (a margin of 2 on the second
    order); inf where either is not finite.

    A probe at :math:`c \pm d u` is rounded off the line through c, and c itself off where it was
    meant to be: on the valley of minima :math:`(x + y - 1)^2` both land up to 1e-16 off its floor,
    where f is up to 1e-32 instead of 0. Counted as a fall on one side, that made those minima
    saddle points. The gradient bounds the change to first order; on the floor, where it is 0,
    the second order does (float64 even computes the gradient as 0 at (-0.35, 1.35), whose
    coordinates are 1.1e-16 off it, so the first order alone missed that).
    """
    moved = point != 0  # 0 is exact: nothing rounds it, and its slope may be 0/0 (the kink of -(x**2)**(2/3))
    delta = np.finfo(float).eps * np.abs(point[moved])
    with np.errstate(all="ignore"):
        slope, curvature = np.abs(expr.gradient(point)[moved]), np.abs(expr.hessian(point)[np.ix_(moved, moved)])
        size = float(slope @ delta + delta @ curvature @ delta)
    return size if math.isfinite(size) else math.inf


def _compare(value, f0, noise: float, rise: float = 0.0) -> int:
    """-1 if ``value`` is below ``f0 + rise`` by more than ``noise``, 1 if above it, 0 if neither, or if
    either is not finite or None (:meth:`~gradlab.expr.Expression.value_precise` where f has no real value)."""
    if value is None or f0 is None or not (math.isfinite(value) and math.isfinite(f0)):
        return 0
    # value - f0 is exact enough at any precision, while f0 - noise (or value - rise) would round the
    # 50-digit number to the context's 15 digits: x**3 beside 1e12 vanished so
    difference = (value - f0) - rise
    return -1 if difference < -noise else 1 if difference > noise else 0


def unbounded_direction(expr, x: Sequence[float], x0: Sequence[float] | None = None) -> str | None:
    """For a 1-D run that found no minimum, where :math:`f` keeps falling from its end point ``x``,
    or else from its start ``x0`` (see :func:`falling_towards`); None for two variables or a
    non-finite end.

    The start matters when the run jumped to where f and f' underflow to exactly 0: from
    x0 = 8 with lr 0.1, :math:`10^x` lands at x = -2.3e7, where nothing falls any more.
    """
    if expr.n_vars != 1 or not np.all(np.isfinite(x)):
        return None
    points = [x] if x0 is None else [x, x0]
    return next(filter(None, (falling_towards(expr, float(np.asarray(p)[0])) for p in points)), None)


FLAT = 1e-2  # f''(x*) below this fraction of f'' just beside x* counts as 0: a flat minimum such as x**4


def is_flat(expr, x_star: float, h: float) -> bool:
    r"""True when :math:`f''(x^*) = h` is 0 to rounding: below ``FLAT`` times :math:`|f''|` at
    :math:`x^* \pm d`, as far off as :math:`x^*` is uncertain.

    :math:`x^*` is known to :math:`\sqrt{\epsilon} (1 + |x^*|)` at best, and at a flat minimum
    Newton on :math:`f'` (see :func:`find_minimum_1d`) stops a few of its last steps
    :math:`|f'/f''|` short: ``d`` is the sum of the two. At a curved minimum :math:`f''` hardly
    changes within ``d`` (cosh: 1 at 0 and beside it); at a flat one it grows from about 0
    (:math:`x^4`: :math:`1.2 \cdot 10^{-29}` at :math:`x^* = 10^{-15}`, :math:`2.7 \cdot 10^{-15}`
    beside it). The scale is f'' near :math:`x^*`, not at the start, where f'' may be huge
    (cosh from 20: :math:`2.4 \cdot 10^8`) and made any curvature look like 0.
    """
    g = float(expr.gradient([x_star])[0])
    d = math.sqrt(np.finfo(float).eps) * (1 + abs(x_star)) + 100 * abs(g / h)
    beside = max(abs(float(expr.hessian([x_star + side * d])[0, 0])) for side in (-1.0, 1.0))
    return math.isfinite(beside) and h <= FLAT * beside


def stability(run: Descent, steps: Sequence[Step]) -> Stability | None:
    """The stability numbers for a finished 1-D run, or None (two variables, or no minimum found).

    At a flat minimum (:math:`f''(x^*) \\approx 0`, e.g. :math:`x^4`) there is no step-size
    bound: ``flat`` is True, the bounds are inf and the predicted ratio is 1 (slower than
    any geometric rate).
    """
    expr, s = run.expr, run.settings
    if expr.n_vars != 1:
        return None
    path = np.array([run.x0[0], *(st.x_new[0] for st in steps)], dtype=float)
    starts = [*path[np.isfinite(path)][::-1][:1], run.x0[0]]
    x_star = find_minimum_1d(expr, starts)
    if x_star is None:
        return None
    h = float(expr.hessian([x_star])[0, 0])
    flat = is_flat(expr, x_star, h)
    # f' and f'' vanish but f falls on (an inflection such as x**3), or f is lower on one side of x*, as
    # x**3 + x**4 is at x* = 8e-16 found from Newton's stop at 1.3e-8: "a flat minimum" there contradicted the
    # final line, "an inflection point of f, not a minimum"
    if flat and (falling_towards(expr, x_star) or stationary_kind(expr, [x_star]) is not None):
        return None
    newton = s.method == "newton"  # its step is already divided by f'': the rate depends on lr alone
    linear = None if flat and newton else linear_rate(s.method, s.lr if newton else 0.0 if flat else s.lr * h,
                                                      s.momentum)
    bound = predicted = None
    if linear is not None:
        bound, predicted = (linear[0] if newton else math.inf if flat else linear[0] / h), linear[1]
    observed, m = observed_ratio(path, x_star)
    return Stability(x_star, h, s.lr, s.method, math.inf if flat else 2 / h, bound, predicted, observed, m, flat)


def observed_ratio(path: np.ndarray, x_star: float, window: int = 20) -> tuple[float | None, int]:
    r"""Geometric-mean error ratio :math:`(|e_j| / |e_i|)^{1/(j-i)}` over the last ``window`` steps.

    ``j`` is the last point whose error is above rounding, :math:`\sqrt{\epsilon} (1 + |x^*|)`,
    and ``i`` the earliest such point at most ``window`` steps before it (points in
    between may pass close to :math:`x^*` when the error oscillates; only the ends count).
    Returns ``(ratio, j - i)``; ``(None, 0)`` when there are not two such points.
    """
    with np.errstate(all="ignore"):
        errors = np.abs(path - x_star)
    usable = np.flatnonzero(np.isfinite(errors) & (errors > math.sqrt(np.finfo(float).eps) * (1 + abs(x_star))))
    if usable.size < 2:
        return None, 0
    last = int(usable[-1])
    first = int(usable[usable >= last - window][0])
    if first == last:
        return None, 0
    m = last - first
    return float((errors[last] / errors[first]) ** (1 / m)), m


DEFAULT_FUNCTION = "x**2 - 4*x + 6"


# ----------------------------------------------------------------- the config of gradlab descend


def parse_point(value: Any) -> list[float]:
    """Read a start point: ``8``, ``"8"``, ``"-1.5,2"``, ``"(-1.5, 2)"`` or ``[-1.5, 2]``.

    Raises
    ------
    ValueError
        ``x0: malformed number 'abc' in '1,abc'`` and the like.
    """
    if isinstance(value, bool):
        raise ValueError(f"x0: expected numbers, got {value!r}")
    if isinstance(value, (int, float)):
        items: list[Any] = [value]
    elif isinstance(value, str):
        inner = value.strip().strip("()[]")
        items = [part.strip() for part in inner.split(",")] if inner.strip() else []
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError(f"x0: expected a number or numbers separated by commas, got {value!r}")
    if not items:
        raise ValueError(f"x0: no numbers given in {value!r}; e.g. --x0 8 or --x0=-1.5,2")
    from gradlab.registry import NUMBER_TEXT  # the README's rule for numbers in data: x0 follows it too
    from gradlab.errors import overflows_float

    point = []
    for item in items:
        try:
            # float() also reads '1_0' and fullwidth '１２'; the rule refuses them, as it does '0x10'
            if isinstance(item, bool) or (isinstance(item, str) and not NUMBER_TEXT.fullmatch(item)):
                raise TypeError
            point.append(float(item))
        except OverflowError:  # an integer beyond float64 (400 nines in YAML): infinite, as float("1e400") is
            point.append(math.inf if item > 0 else -math.inf)
        except (TypeError, ValueError):
            raise ValueError(
                f"x0: malformed number {item!r} in {value!r}; write ASCII decimal or scientific notation "
                f"(8, -1.5, 1e3), numbers separated by commas, e.g. -1.5,2"
            ) from None
        beyond = isinstance(item, str) and overflows_float(item, point[-1])
        if beyond:  # '1e400' reads as inf, which the check of the point would show as such
            raise ValueError(f"x0: {beyond}; coordinates must be finite numbers at most {X_LIMIT:g} in size")
    return point


class DescendConfig(BaseModel):
    """Settings of ``gradlab descend``, from flags and/or YAML (flags win).

    ``lr`` left out means 0.1 (1 for ``newton``); ``every`` left out chooses a row
    interval that keeps the table to about 100 rows. The validated config holds the
    resolved ``lr``, so writing :meth:`resolved` to ``config.yaml`` reproduces the run.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    f: str = DEFAULT_FUNCTION
    x0: list[float] = Field(default_factory=lambda: [8.0])
    lr: Optional[Float] = Field(default=None, validation_alias=AliasChoices("lr", "learning_rate"))
    steps: Int = DEFAULT_STEPS
    tol: Float = DEFAULT_TOL
    method: str = "gd"
    momentum: Float = 0.9
    beta1: Float = 0.9
    beta2: Float = 0.999
    eps: Float = 1e-8
    every: Optional[Int] = Field(default=None, ge=1)
    digits: Int = Field(default=6, ge=1, le=17)
    name: Optional[str] = None
    plot: Bool = True

    @field_validator("x0", mode="before")
    @classmethod
    def _point(cls, value: Any) -> list[float]:
        return parse_point(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: Optional[str]) -> Optional[str]:
        from gradlab.runs import check_name

        return check_name(value, "name")

    @model_validator(mode="after")
    def _numbers(self) -> DescendConfig:
        # one set of rules for the library and the config: Settings checks and resolves them
        settings = self.settings()
        self.method, self.lr = settings.method, settings.lr
        return self

    def settings(self) -> Settings:
        """The numeric settings of the run (raises InputError for out-of-range values)."""
        return Settings(lr=self.lr, steps=self.steps, tol=self.tol, method=self.method,
                        momentum=self.momentum, beta1=self.beta1, beta2=self.beta2, eps=self.eps)

    def resolved(self) -> dict[str, Any]:
        """Every setting, as written to the run's ``config.yaml``."""
        return self.model_dump()
