r"""A descent run on an :class:`~gradlab.expr.Expression`: it yields :class:`Step` records and never
prints; :func:`metric_row` turns them into the rows of ``metrics.csv``; a :class:`Trajectory` keeps
the points compactly for what reads the whole run afterwards (the table, the stability numbers, the plot).

How a run stops:

- ``converged``: before taking step :math:`k+1`, both :math:`\|g_k\|` and the step the
  method would take, :math:`\|\Delta_k\|`, are at most ``tol`` (default :data:`~gradlab.descent.methods.DEFAULT_TOL`
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

import functools
import math
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from gradlab.descent.methods import METHODS, NoStep, Settings, singular
from gradlab.descent.points import norm, point_text
from gradlab.errors import InputError

X_LIMIT = 1e12
F_GROWTH = 1e6
STOP_REASONS = ("converged", "max_steps", "diverged", "no_step", "interrupted")


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
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Step]]:
        """The steps in lists of up to :data:`BATCH`, for a caller that records a batch at a time."""
        # The steps are computed BATCH at a time inside one np.errstate (an update can overflow, lr * g or
        # g**2, which the checks catch as non-finite): entering it cost more than a gd step itself. No
        # yield happens inside it, so the caller's own error state holds whenever its code runs.
        walk = self._walk()
        while True:
            with np.errstate(all="ignore"):
                batch, outcome = _take(walk, BATCH)
            yield batch
            if outcome is not None:  # set only now, after the last step was taken, as a run that stops early leaves it
                self.outcome = outcome
                return

    def _walk(self) -> Generator[Step, None, Outcome]:
        """The steps of the run, then (as its return value) the outcome; advanced only inside :meth:`batches`'s
        ``np.errstate``."""
        s, expr = self.settings, self.expr
        method = METHODS.get(s.method)(s, expr)
        x, f, g = self.x0, self.f0, self.g0
        for k in range(1, s.steps + 2):
            try:
                dx = method.step(x, g)
            except NoStep as stop:  # after k - 1 steps; the table so far and the plot are kept
                if norm(g) <= s.tol:  # f'' = 0 at the bottom of x**4 with tol 0; x**2 + y**6 turns singular at
                    # y = 5.4e-5, its gradient 3e-21: converged, which "undefined there; try --method gd" contradicted
                    detail = (f"gradient below tol = {s.tol:g}; the second derivative (Hessian) is singular there, "
                              f"so Newton has no next step")
                    return Outcome("converged", k - 1, x, f, g, detail)
                return Outcome("no_step", k - 1, x, f, g, str(stop))
            if norm(g) <= s.tol and norm(dx) <= s.tol:
                return Outcome("converged", k - 1, x, f, g, f"gradient and next step below tol = {s.tol:g}")
            if k > s.steps:
                detail = f"step limit reached; gradient or next step still above tol = {s.tol:g}"
                return Outcome("max_steps", s.steps, x, f, g, detail)
            x_new = x + dx
            f_new, g_new = expr.value_and_gradient(x_new)
            yield Step(k, x, g, x_new, f_new, g_new, norm(x_new - x))
            problem = self._explosion(x_new, f_new, g_new)
            if problem:
                return Outcome("diverged", k, x_new, f_new, g_new, problem)
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
        # math on the coordinates as floats: np.isfinite and np.max cost 4 us a call on arrays this small
        coords = x.tolist()
        if not all(map(math.isfinite, coords)):
            return "the point is no longer a finite number"
        if math.isnan(f):
            return f"f has no real value at {point_text(x)} (outside its domain)"
        if not math.isfinite(f):
            return f"f overflowed at {point_text(x)}"
        if not all(map(math.isfinite, g.tolist())):
            return f"the gradient is not finite at {point_text(x)}"
        if max(map(abs, coords)) > X_LIMIT:
            return f"a coordinate passed {X_LIMIT:g} in size ({point_text(x)})"
        if f - self.f0 > F_GROWTH * (1 + abs(self.f0)):
            return f"f rose from {self.f0:.6g} to {f:.6g}, more than {F_GROWTH:g} * (1 + |f(x0)|) above its start"
        return None


#: steps computed per np.errstate in Descent.batches (entering one costs about 1.4 us)
BATCH = 256


def _take(walk: Generator[Step, None, Outcome], n: int) -> tuple[list[Step], Outcome | None]:
    """Up to ``n`` steps from ``walk``, and its outcome if it ended (else None)."""
    steps = []
    try:
        for _ in range(n):
            steps.append(next(walk))
    except StopIteration as end:
        return steps, end.value
    return steps, None


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
        raise InputError(f"x0: coordinates must be finite numbers at most {X_LIMIT:g} in size, got {point_text(point)}")
    value, grad = expr.value(point), expr.gradient(point)
    if not math.isfinite(value):
        raise InputError(f"x0: f = {expr.formula} has no real finite value at {point_text(point)} (got {value})")
    if not np.all(np.isfinite(grad)):
        raise InputError(f"x0: the gradient of f = {expr.formula} is not finite at {point_text(point)}")
    if settings.method == "newton" and singular(expr.hessian(point)):
        what = "f''(x0) = 0" if n == 1 else "the Hessian is singular"
        raise InputError(
            f"x0: newton needs an invertible second derivative, but {what} at {point_text(point)} "
            f"({'; '.join(expr.second_derivative_lines())}); start elsewhere or use --method gd"
        )
    return point


# --------------------------------------------------------------------------- metrics rows


def metric_columns(variables: Sequence[str]) -> list[str]:
    """``metrics.csv`` header: step, the coordinates, f, the gradient components, step_size."""
    return ["step", *variables, "f", *(f"df_d{v}" for v in variables), "step_size"]


def metric_row(run: Descent, step: Step | None) -> dict:
    """One metrics row: the start for ``None``, else the point after ``step``."""
    if step is None:
        return _row(run, [0, *run.x0.tolist(), float(run.f0), *run.g0.tolist(), None])
    return _row(run, [step.step, *step.x_new.tolist(), step.f_new, *step.grad_new.tolist(), step.step_size])


def _row(run: Descent, values: list) -> dict:
    # tolist() gives the plain floats the CSV writes, at a fraction of a float() per coordinate
    return dict(zip(_columns(run.expr.variables), values))


@functools.cache
def _columns(variables: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(metric_columns(variables))


# --------------------------------------------------------------------------- the points a run visited


class Trajectory(Sequence):
    r"""The points a run visited, kept as float64 columns (24 bytes a step in one variable, where the
    :class:`Step` records took 576): row 0 is the start, row ``k`` the point after step ``k``.

    It reads as the sequence of the run's steps: ``trajectory[i]`` is the :class:`Step` numbered ``i + 1``,
    made on demand, so the table, :meth:`Descent.interrupt` and :func:`~gradlab.descent.stability` take it
    where they take a list of steps.

    Parameters
    ----------
    run : Descent
        The run; its start is row 0.
    capacity : int
        The most steps to hold (``run.settings.steps``); the columns are allocated once, and memory is
        only used as they fill.

    Attributes
    ----------
    x, grad : ndarray, shape (len + 1, n_vars)
        The points and the gradients there.
    f : ndarray, shape (len + 1,)
        :math:`f` at the points.
    """

    def __init__(self, run: Descent, capacity: int) -> None:
        n = run.expr.n_vars
        self._x, self._grad, self._f = np.empty((capacity + 1, n)), np.empty((capacity + 1, n)), np.empty(capacity + 1)
        self._x[0], self._grad[0], self._f[0] = run.x0, run.g0, run.f0
        self._steps = 0

    @classmethod
    def of(cls, run: Descent, steps: Sequence[Step]) -> Trajectory:
        """``steps`` as a trajectory (itself if it is one)."""
        if isinstance(steps, Trajectory):
            return steps
        trajectory = cls(run, len(steps))
        for step in steps:
            trajectory.add(step)
        return trajectory

    def add(self, step: Step) -> None:
        """Record the point ``step`` reached (the steps come in order)."""
        k = self._steps + 1
        self._x[k], self._grad[k], self._f[k] = step.x_new, step.grad_new, step.f_new
        self._steps = k  # last: a Ctrl-C before this leaves the step out, never a row of np.empty's memory in

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._steps + 1]

    @property
    def grad(self) -> np.ndarray:
        return self._grad[: self._steps + 1]

    @property
    def f(self) -> np.ndarray:
        return self._f[: self._steps + 1]

    def __len__(self) -> int:
        return self._steps

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._steps))]
        k = range(1, self._steps + 1)[i]  # IndexError and negative indices as a list's
        x_old, x_new = self._x[k - 1].copy(), self._x[k].copy()
        # the step size the run computed, from the same two points
        return Step(k, x_old, self._grad[k - 1].copy(), x_new, float(self._f[k]), self._grad[k].copy(),
                    norm(x_new - x_old))
