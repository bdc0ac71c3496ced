"""Finite-difference gradient checks, for any scalar function of a list of parameter arrays.

The function is a closure that reads the *current* contents of the arrays, so the same code
checks a loss written by hand and a whole network::

    f = lambda: network.loss(loss, X, Y)              # Y shaped like the output (losses.as_targets)
    network.loss_and_gradients(loss, X, Y)            # fills network.grads
    result = check(f, network.params, network.grads, names=["W1", "b1", "W2", "b2"])
    assert result.passed, result

which, with the kinks of ReLU-like units handled, is ``check_network(network, loss, X, Y)``.

Use float64 parameters: with float32 the perturbation ``eps`` is swamped by rounding and the
numeric gradient is meaningless.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from gradlab.engine.init import parameter_names
from gradlab.engine.optimizers import add_weight_decay, decayed, weight_decay_penalty

__all__ = ["numerical_gradient", "central_difference", "compare", "check", "check_network", "CheckResult", "TINY"]

TINY = 1e-300
"""Floor of the relative error's denominator: only there to turn 0/0 into 0."""


def numerical_gradient(f: Callable[[], float], params: Sequence[np.ndarray], eps: float = 1e-6,
                       progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
    """Central finite differences of ``f`` with respect to every entry of every array.

    .. math:: \\frac{\\partial f}{\\partial p_i} \\approx \\frac{f(p + h e_i) - f(p - h e_i)}{2h}

    Each entry is perturbed in place, ``f()`` is evaluated, and the entry is written back to its
    exact original value (also if ``f`` raises). The error is ``O(h^2)`` from truncation plus
    about ``machine_eps * |f| / h`` from rounding; ``h = 1e-6`` balances the two for float64
    functions of order 1. The denominator is the difference of the two perturbed values as
    actually stored, which is what ``f`` saw, rather than the nominal ``2h``.

    Parameters
    ----------
    f : callable
        ``f() -> float``, computed from the current contents of ``params``.
    params : sequence of ndarray
        Writable floating arrays (views are fine). Restored on return.
    eps : float, default 1e-6
        The step ``h``.
    progress : callable, optional
        Called as ``progress(done, total)`` with the entries done so far, about a thousand times
        over the whole check and once at the end (a large network takes minutes).

    Returns
    -------
    list of ndarray
        float64 arrays shaped like ``params``. Costs ``2 * sum(p.size)`` calls of ``f``.
    """
    grads = []
    total = sum(p.size for p in params)
    every, done = max(1, total // 1000), 0
    for p in params:
        grad = np.zeros(p.shape, dtype=np.float64)
        for index in np.ndindex(p.shape):
            grad[index] = central_difference(f, p, index, eps)
            done += 1
            if progress is not None and (done % every == 0 or done == total):
                progress(done, total)
        grads.append(grad)
    return grads


def central_difference(f: Callable[[], float], p: np.ndarray, index: tuple, eps: float) -> float:
    """(f(p + eps e_i) - f(p - eps e_i)) / (2 eps) for entry ``index`` of ``p``, see :func:`numerical_gradient`.

    The entry is written back to its exact original value, also if ``f`` raises; the
    denominator is the difference of the two perturbed values as stored.
    """
    original = p[index]  # a numpy scalar: writing it back restores the bits exactly
    try:
        p[index] = original + eps
        x_plus = p[index]
        f_plus = float(f())
        p[index] = original - eps
        x_minus = p[index]
        f_minus = float(f())
    finally:
        p[index] = original
    return (f_plus - f_minus) / (float(x_plus) - float(x_minus))


def agrees(a, n, rtol: float, atol: float):
    """``|a - n| <= max(rtol (|a| + |n|), atol)``, elementwise; False where either is nan."""
    return np.abs(a - n) <= np.maximum(rtol * (np.abs(a) + np.abs(n)), atol)


def _errors(a: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The absolute error ``|a - n|`` and the relative error ``|a - n| / max(|a| + |n|, TINY)``
    of every entry (see :func:`compare`)."""
    diff = np.abs(a - n)
    return diff, diff / np.maximum(np.abs(a) + np.abs(n), TINY)


def compare(
    analytic: Sequence[np.ndarray],
    numeric: Sequence[np.ndarray],
    names: Sequence[str] | None = None,
) -> list[dict]:
    """Per-array error summary between an analytic and a numeric gradient.

    The relative error of an entry is

    .. math:: r = \\frac{|a - n|}{\\max(|a| + |n|,\\ \\text{TINY})}

    which is symmetric, lies in ``[0, 1]`` (1 means opposite signs or one of them zero), and is
    defined when both are zero (``r = 0``). Near a true zero gradient the finite-difference
    noise makes ``r`` large even for a correct gradient, which is why :func:`check` also looks
    at the absolute error.

    Parameters
    ----------
    analytic, numeric : sequence of ndarray
        Same shapes, pairwise.
    names : sequence of str, optional
        Labels for the rows (default ``"0"``, ``"1"``, ...).

    Returns
    -------
    list of dict
        One per array, with keys ``name``, ``shape``, ``max_abs_error``, ``max_rel_error``,
        ``worst_index`` (the entry with the largest relative error) and ``norm_rel_error``
        (``||a - n|| / (||a|| + ||n||)`` over the whole array, 0 if both are zero).
    """
    if len(analytic) != len(numeric):
        raise ValueError(f"{len(analytic)} analytic gradients but {len(numeric)} numeric ones")
    names = [str(k) for k in range(len(analytic))] if names is None else list(names)
    rows = []
    for name, a, n in zip(names, analytic, numeric):
        a = np.asarray(a, dtype=np.float64)
        n = np.asarray(n, dtype=np.float64)
        if a.shape != n.shape:
            raise ValueError(f"{name}: analytic gradient has shape {a.shape}, numeric {n.shape}")
        diff, rel = _errors(a, n)
        norm_scale = _norm(a) + _norm(n)
        rows.append(
            {
                "name": name,
                "shape": a.shape,
                "max_abs_error": float(diff.max(initial=0.0)),
                "max_rel_error": float(rel.max(initial=0.0)),
                "worst_index": tuple(int(i) for i in np.unravel_index(int(rel.argmax()), a.shape)) if a.size else (),
                "norm_rel_error": _norm(diff) / norm_scale if norm_scale > 0 else 0.0,
            }
        )
    return rows


def _norm(x: np.ndarray) -> float:
    """The Euclidean norm of ``x``, scaled by its largest entry: squares of entries past 1e154 overflowed
    (a RuntimeWarning, an error in the test suite) where the norm itself is finite."""
    largest = float(np.max(np.abs(x), initial=0.0))
    return largest * float(np.linalg.norm(x / largest)) if 0.0 < largest < math.inf else largest


@dataclass
class CheckResult:
    """Outcome of :func:`check`.

    Attributes
    ----------
    passed : bool
        Every entry of every array is within tolerance.
    rows : list of dict
        :func:`compare`'s summary, each row with an extra ``passed`` flag, ``kinks`` (entries that
        passed as sitting on a kink of ``f``, see :func:`_on_a_kink`, or by their difference with a
        corner taken out, see :func:`check`'s ``corners``), ``extrapolated`` (entries that passed by
        :func:`check`'s ``extrapolated_by``, their difference's truncation error taken out) and ``worst_failure``
        (the failing entry with the largest relative error, see :func:`_worst_failure`; None
        when the array passed).
    rtol, atol : float
        The tolerances asked for.
    noise : float
        The central differences' rounding noise, :data:`NOISE_ULPS` ``eps_mach s / eps`` with
        ``s = max(|f|, size)`` (see :func:`check`): the absolute tolerance used is ``max(atol, noise)``.
    size : float
        :func:`check`'s ``size``, the size of the terms ``f`` is computed from where that is larger
        than ``|f|`` (0 where it is not, or not given).
    near_kink_atol : float or None
        The largest absolute tolerance an entry near a kink of the loss was judged with, raised to the
        rounding noise of the shorter or one-sided difference it took (see
        :meth:`Tangents.central_difference`); None where no entry needed one.
    """

    passed: bool
    rows: list[dict] = field(default_factory=list)
    rtol: float = 1e-6
    atol: float = 1e-8
    noise: float = 0.0
    size: float = 0.0
    near_kink_atol: float | None = None

    @property
    def abs_tolerance(self) -> float:
        """The absolute tolerance applied: ``atol``, raised to the rounding noise where that is larger."""
        return max(self.atol, self.noise)

    @property
    def max_rel_error(self) -> float:
        return max((row["max_rel_error"] for row in self.rows), default=0.0)

    @property
    def max_abs_error(self) -> float:
        return max((row["max_abs_error"] for row in self.rows), default=0.0)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        lines = [f"gradient check {'passed' if self.passed else 'FAILED'} (rtol={self.rtol:g}, "
                 f"atol={self.abs_tolerance:g})"]
        for row in self.rows:
            lines.append(
                f"  {row['name']:>8} {str(row['shape']):>10}  max rel {row['max_rel_error']:.3e}  "
                f"max abs {row['max_abs_error']:.3e}  at {row['worst_index']}  {'ok' if row['passed'] else 'FAIL'}"
            )
        return "\n".join(lines)


def check(
    f: Callable[[], float],
    params: Sequence[np.ndarray],
    analytic: Sequence[np.ndarray],
    *,
    eps: float = 1e-6,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    names: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    smoothed: Callable[[np.ndarray, tuple, float], tuple[float, float] | None] | None = None,
    corners: Callable[[np.ndarray, float], np.ndarray | None] | None = None,
    unbent: Callable[[np.ndarray, tuple], AbstractContextManager] | None = None,
    size: float = 0.0,
    extrapolated_by: Callable[[np.ndarray, tuple, float], float] | None = None,
) -> CheckResult:
    """Compare an analytic gradient with central finite differences of ``f``.

    An entry passes when its relative error is at most ``rtol`` *or* its absolute error is at
    most ``atol``:

    .. math:: |a - n| \\le \\max\\big(\\text{rtol}\\, (|a| + |n|),\\ \\text{atol}\\big)

    The absolute floor accepts entries whose true gradient is (nearly) zero, where the
    finite-difference rounding noise would otherwise dominate the relative error; keep ``atol``
    well below the gradient entries that matter. The floor is raised to that noise,
    :data:`NOISE_ULPS` ``eps_mach |f| / eps`` (``2e-10 |f|`` with ``eps = 1e-6``), where it is
    larger: below it no difference of two values of ``f`` can tell a gradient entry from 0
    (a regression loss of 1e4 makes it 2e-6). Where ``f`` is computed from terms larger than
    itself (a small loss on outputs of 1e4), it carries their rounding: ``size`` gives their
    size, and ``|f|`` is replaced by it where it is larger.

    Parameters
    ----------
    f : callable
        ``f() -> float`` from the current contents of ``params``.
    params : sequence of ndarray
        float64 parameters, perturbed and restored.
    analytic : sequence of ndarray
        The gradient to test, evaluated at ``params``. Copied before ``f`` is called, so it may
        be a buffer that ``f`` overwrites (e.g. ``network.grads``).
    eps, rtol, atol : float
        Finite-difference step and tolerances.
    names : sequence of str, optional
        Labels for the report.
    progress : callable, optional
        ``progress(done, total)`` over the parameter entries, see :func:`numerical_gradient`.
    smoothed : callable, optional
        ``smoothed(p, index, eps)``: ``(difference, step)``, a difference of ``f`` for that entry
        with the kinks the step crosses taken out, and the step of a central difference with the same
        rounding noise (``eps``, or less where it had to fall short of a kink of the loss, see
        :class:`Tangents`; where the step reaches no kink, the plain difference); None where it
        reaches one it cannot take out, a nan difference where a tangent it needs is untrue. A failing
        entry that agrees with it, to that rounding noise, passes as sitting on a kink, one that does
        not (nan included) fails (see :func:`_on_a_kink`).
    corners, unbent : callable, optional
        ``corners(p, eps)``: a mask of the entries of ``p`` whose step crosses a corner of ``f``
        that ``unbent(p, index)``, a context manager, takes out of ``f`` (and of ``smoothed``) while
        it is open, leaving ``f``'s value and derivative at the parameters as they are (the L1
        term of a weight within eps of 0 on its tangent, see :class:`Tangents`). Such an entry is
        checked on that function throughout, its central difference and its kinks alike, whatever
        the plain difference says: that one is no derivative there, and a wrong gradient can match
        it (``l1 w / max(|w|, 1e-6)`` for ``l1 sign(w)`` at w = 3e-7); where its step also crosses
        kinks of units, ``smoothed``'s difference is its numeric gradient, and a nan from it fails
        the entry. Those that pass are counted as kinks. The kink tests of any failing entry of
        ``corners(p, inf)`` (every penalised weight off 0) run unbent too: they step by up to
        ``KINK_STEPS[0]`` (:data:`KINK_STEPS`), whatever ``eps`` is.
    size : float, optional
        The size of the terms ``f`` is computed from, where it is larger than ``|f|``: the
        rounding noise is taken at it (for a network, :func:`rounding_size`).
    extrapolated_by : callable, optional
        ``extrapolated_by(p, index, eps)``: Richardson's extrapolation of ``smoothed``'s central
        difference, (4 D(eps/2) - D(eps)) / 3, with an error of O(eps^4) where D's is eps^2 f''' / 6
        (nan where it cannot be taken, see :meth:`Tangents.extrapolated`). An entry that
        ``smoothed``'s difference at ``eps`` fails is retaken by it, and passes when it agrees within
        the same tolerances (counted as ``extrapolated``). Without it, or without ``smoothed``,
        nothing is extrapolated: only they know whether a kink lies within the step.

    Returns
    -------
    CheckResult
        Truthy when passed; ``str()`` gives a small table.
    """
    analytic = [np.array(a, dtype=np.float64, copy=True) for a in analytic]
    if len(analytic) != len(params):
        raise ValueError(f"{len(params)} parameter arrays but {len(analytic)} gradients")
    masks = [corners(p, eps) if corners is not None else None for p in params]
    masks = [np.zeros(p.shape, dtype=bool) if mask is None else mask for p, mask in zip(params, masks)]
    # the corner entries are retaken after the plain pass: the progress counts them as entries too
    extra, entries = sum(int(mask.sum()) for mask in masks), sum(p.size for p in params)
    counted = None if progress is None else (lambda done, total: progress(done, total + extra))
    numeric = numerical_gradient(f, params, eps, counted)
    untrusted_in, steps_in, done = [], [], entries
    for p, n, mask in zip(params, numeric, masks):
        untrusted, steps = _unbend_corners(f, p, n, mask, eps, unbent, smoothed)
        untrusted_in.append(untrusted)
        steps_in.append(steps)
        if progress is not None and mask.any():
            done += int(mask.sum())
            progress(done, entries + extra)
    at = float(f())  # f at the parameters themselves, for the one-sided slopes of a kink (unbent: the same)
    scale = max(abs(at), size) if math.isfinite(at) else at  # what the values of f round with
    noise = rounding_noise(scale, eps)
    floor = max(atol, noise)
    noise_steps = [float(steps.min()) for steps in steps_in if steps.size and steps.min() < eps]
    verdicts = []
    for p, a, n, corner, untrusted, steps in zip(params, analytic, numeric, masks, untrusted_in, steps_in):
        # an entry retaken short of a kink of the loss carries the larger rounding noise of that difference
        floors = np.maximum(floor, rounding_noise(scale, steps))
        failing = ~agrees(a, n, rtol, floors) | untrusted  # written so that a NaN fails
        # the kink tests step by up to KINK_STEPS[0] whatever eps is: every L1-penalised weight off 0
        # is judged with its |w| unbent, the same value and slope at w0 and no corner in any step
        bendable = corners(p, math.inf) if corners is not None else None
        kinks = []
        extrapolated = 0  # entries passed by extrapolated_by
        for index in zip(*np.nonzero(failing & ~untrusted)):
            with unbent(p, index) if bendable is not None and bendable[index] else contextlib.nullcontext():
                verdict, judged, step = _on_a_kink(f, p, index, a[index], rtol, floor, at, eps, smoothed, scale)
            # failed by a central difference at eps (plain, or with units on tangents): its truncation error,
            # eps^2 f''' / 6, may be why
            if verdict is False and step == eps and judged is not None and not corner[index] and extrapolated_by:
                value = extrapolated_by(p, index, eps)
                if agrees(a[index], value, rtol, floor):  # the plain tolerance: never looser than without it
                    n[index], failing[index], extrapolated = value, False, extrapolated + 1
                    continue
            if judged is not None and not math.isnan(judged):  # reported by the difference that decided
                n[index], steps[index] = judged, step
            if step < eps:
                noise_steps.append(step)
            if verdict:
                kinks.append(index)
            elif verdict is None:
                untrusted[index] = True
        at_kink = corner.copy()  # every corner entry that passes sits on a kink of f
        for index in kinks:
            failing[index], at_kink[index] = False, True
        floors = np.maximum(floor, rounding_noise(scale, steps))
        verdicts.append({"kinks": int((at_kink & ~failing).sum()), "extrapolated": extrapolated,
                         "passed": not failing.any(),
                         "worst_failure": _worst_failure(*_errors(a, n), failing, untrusted, floors) if failing.any()
                         else None})
    # the errors against the differences that decided: at a kink, the one that took it out (the one-sided
    # slopes give two, and leave the plain difference in place)
    rows = [{**row, **verdict} for row, verdict in zip(compare(analytic, numeric, names), verdicts)]
    noise_step = min(noise_steps, default=None)
    return CheckResult(passed=all(row["passed"] for row in rows), rows=rows, rtol=rtol, atol=atol, noise=noise,
                       size=size if math.isfinite(at) and size > abs(at) else 0.0,
                       near_kink_atol=None if noise_step is None else max(floor, rounding_noise(scale, noise_step)))


def _unbend_corners(f, p: np.ndarray, numeric: np.ndarray, mask: np.ndarray, eps: float, unbent, smoothed
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Retake, in ``numeric``, the central differences of the entries of ``p`` in ``mask`` (its corner
    entries, see :func:`check`) on ``f`` unbent there, and where the step also carries units across
    kinks, ``smoothed``'s; return the mask of the entries ``smoothed`` cannot trust (its nan: a
    tangent whose slope is not its activation's; they fail, with the unbent difference reported),
    and the step of a central difference with each entry's rounding noise (``eps``, or ``smoothed``'s).

    Such an entry is judged by ``smoothed`` whether or not its plain difference agrees: the corner's
    term can make the gradient so large that a wrong derivative's share passes ``rtol``."""
    untrusted, steps = np.zeros(p.shape, dtype=bool), np.full(p.shape, float(eps))
    for index in zip(*np.nonzero(mask)):
        with unbent(p, index):
            numeric[index] = central_difference(f, p, index, eps)
            without = smoothed(p, index, eps) if smoothed is not None else None
        if without is not None and math.isnan(without[0]):
            untrusted[index] = True
        elif without is not None:
            numeric[index], steps[index] = without
    return untrusted, steps


#: a central difference (f(p + eps) - f(p - eps)) / (2 eps) carries the rounding of both values of
#: f, each a sum over many rows: taken as this many units in the last place of |f| over eps
NOISE_ULPS = 1

#: the steps at which :func:`_at_a_kink` looks for a corner: two decades, far below any
#: curvature's scale, far above float64's rounding of parameters of order 1
KINK_STEPS = (1e-5, 1e-6, 1e-7)

#: the shortest step at which :meth:`Tangents.central_difference` looks again past a kink of the loss
#: that a step reaches (eps / 10, eps / 100, ... down to this): a kink nearer than it is reached by
#: all of :data:`KINK_STEPS` alike, so :func:`_at_a_kink` sees it steadily
SHORTEST_STEP = KINK_STEPS[-1] / 10

#: how many times the rounding noise of a central difference at step h is that of the one-sided one
#: through p, p + h/2 and p + h: its weights (-3, 4, -1) / h add up to 8 / h in size, the central
#: difference's (1, -1) / 2h to 1 / h
ONE_SIDED_NOISE = 8


def rounding_noise(at: float, step):
    """The rounding noise of a central difference at ``step`` (a number or an array) of a function whose
    value is ``at``: :data:`NOISE_ULPS` ``eps_mach |at| / step`` (0 where ``at`` is not finite)."""
    return NOISE_ULPS * np.finfo(np.float64).eps * abs(at) / step if math.isfinite(at) else 0.0


def _on_a_kink(f, p: np.ndarray, index: tuple, a: float, rtol: float, atol: float, at: float, eps: float,
               smoothed: Callable[[np.ndarray, tuple, float], tuple[float, float] | None] | None, scale: float
               ) -> tuple[bool | None, float | None, float]:
    """Whether the failing entry ``index`` of ``p`` fails only for a kink of ``f`` within the step:
    True or False, and None (it fails) where a tangent it needs cannot be trusted; with the difference
    the verdict held ``a`` against (None for the one-sided slopes, which give two) and the step of a
    central difference whose rounding noise it allowed for (``eps`` unless ``smoothed`` gave another).

    Where ``smoothed`` knows of kinks the step crosses, its central difference without them is
    the judge: it checks ``a`` itself, where :func:`_at_a_kink` can only bound it by the
    one-sided slopes (an elu' 1% too large still lay between them in two of three entries of
    a stacked kink); a nan from it (a tangent whose slope is not the activation's) gives None.
    Where it returns None (a kink of the loss sat on, or nearer than it can step short of) or there
    is no ``smoothed``, the one-sided slopes decide. ``scale`` is what the values of ``f`` round with
    (see :func:`check`).
    """
    if smoothed is not None:
        without = smoothed(p, index, eps)
        if without is not None:
            value, step = without
            verdict = None if math.isnan(value) else bool(agrees(a, value, rtol, max(atol, rounding_noise(scale, step))))
            return verdict, value, step
    return _at_a_kink(f, p, index, a, rtol, atol, at, scale), None, eps


def _at_a_kink(f: Callable[[], float], p: np.ndarray, index: tuple, a: float, rtol: float, atol: float,
               at: float, scale: float) -> bool:
    """Whether entry ``index`` of ``p`` sits on a kink of ``f`` and ``a`` is a slope of it there.

    At a kink (a ReLU whose input is exactly 0, which happens when a layer feeds it zeros and its
    bias is still 0) ``f`` has two one-sided slopes, and backpropagation, with relu'(0) = 0,
    returns one of them when the samples on the kink push one way; the central difference is
    their average and matches neither. A corner is told from the other causes of a gap between
    the one-sided difference quotients by how the gap changes over :data:`KINK_STEPS`, whatever
    the check's own ``eps``: a corner's stays as it is, curvature's (``h f''``) shrinks tenfold a
    step and rounding noise's (about ``eps_mach |f| / h``) grows tenfold. So the gap must stay
    within a factor of 2 from step to step and stand far above that noise; then the entry passes
    when ``a`` lies between the slopes at the smallest step (within the usual tolerance). ``at``
    is ``f()`` at the parameters themselves, and ``scale`` what its values round with (see :func:`check`).
    """
    original = p[index]
    gaps, slopes = [], (0.0, 0.0)
    try:
        for h in KINK_STEPS:
            p[index] = original + h
            up_step = float(p[index]) - float(original)
            up = (float(f()) - at) / up_step if up_step else math.nan
            p[index] = original - h
            down_step = float(original) - float(p[index])
            down = (at - float(f())) / down_step if down_step else math.nan  # h lost in float32
            p[index] = original
            gaps.append(abs(up - down))
            slopes = (min(up, down), max(up, down))
    finally:
        p[index] = original
    tol = max(rtol * (abs(slopes[0]) + abs(slopes[1])), atol)
    noise = 100 * 4 * np.finfo(np.float64).eps * max(abs(scale), 1e-300) / KINK_STEPS[-1]
    steady = all(0.5 * wider < narrower < 2 * wider for wider, narrower in zip(gaps, gaps[1:]))  # False for nan
    return steady and gaps[-1] > max(tol, noise) and slopes[0] - tol <= a <= slopes[1] + tol


def _worst_failure(diff: np.ndarray, rel: np.ndarray, failing: np.ndarray, untrusted: np.ndarray,
                   floors: np.ndarray) -> dict:
    """The failing entry with the largest relative error, as ``{index, rel_error, abs_error, atol,
    slope_not_value}``: ``atol`` the absolute tolerance it was held to (raised for a difference taken
    short of a kink of the loss), the last True where it failed for a tangent whose slope is not its
    activation's (see :func:`_unbend_corners`), whatever its error.

    This, not :func:`compare`'s ``worst_index``, is the entry a failure report names: the entry
    with the largest relative error overall may well have passed by the absolute tolerance (a
    gradient of 1e-12 off by 1e-12 has relative error 1).
    """
    rel = np.where(failing, rel, -1.0)
    k = int(np.argmax(rel))
    return {"index": tuple(int(i) for i in np.unravel_index(k, diff.shape)), "rel_error": float(rel.flat[k]),
            "abs_error": float(diff.flat[k]), "atol": float(floors.flat[k]), "slope_not_value": bool(untrusted.flat[k])}


def check_network(network, loss, X: np.ndarray, Y: np.ndarray, *, l1: float = 0.0, l2: float = 0.0,
                  eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-8,
                  progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Backpropagation's gradient of ``loss`` on the batch (X, Y) against central differences.

    Y must be shaped like the network's output (``losses.as_targets``). Parameters are
    perturbed in place and restored exactly. ``progress(done, total)`` counts parameter entries.

    With ``l1`` or ``l2`` > 0 the function checked is the one training minimises: the loss plus
    :func:`~gradlab.engine.optimizers.weight_decay_penalty`, against backpropagation's gradient
    plus what :func:`~gradlab.engine.optimizers.add_weight_decay` adds (the same functions and
    mask training uses), so a wrong decay fails here as a wrong derivative does.
    """
    network.loss_and_gradients(loss, X, Y)
    size = rounding_size(network)
    add_weight_decay(network.params, network.grads, l1, l2)
    tangents = Tangents(network, loss, X, Y, l1=l1, l2=l2)
    return check(tangents.objective, network.params, network.grads, eps=eps, rtol=rtol, atol=atol,
                 names=parameter_names(len(network.layers)), progress=progress,
                 smoothed=tangents.central_difference, corners=tangents.l1_corners, unbent=tangents.unbent,
                 size=size, extrapolated_by=tangents.extrapolated)


def rounding_size(network) -> float:
    r"""The size of the sums a loss C is computed from, as it reaches C, after a forward and
    backward pass: :math:`\sum_l \sum |\delta_l| \odot (|x_l|\,|W_l| + |b_l|)`.

    Each pre-activation :math:`z_l = x_l W_l + b_l` rounds to about :math:`\epsilon` times the
    size of its terms, not of itself, and a change :math:`dz_l` moves C by
    :math:`\delta_l \cdot dz_l` (:math:`\delta_l = \partial C / \partial z_l`): a first-order
    bound on C's rounding, in units of :math:`\epsilon`. It is far above ``|C|`` where C is a
    small residual of large outputs: an mae of 0.05 on outputs of 1e4 carries their rounding, and
    a right gradient's differences were off by 1.0e-7 where ``eps_mach |C| / eps`` is 1.2e-11.
    Summed over the samples, whose roundings partly cancel, it stands about 3x above the largest
    error of a difference for one sample and 10x for 32 (measured). 0 where it overflows (only
    ``|C|`` is used then; weights of 1e158 on inputs of 1e150, say).
    """
    with np.errstate(all="ignore"):  # |x| |W| may overflow where z itself does not
        size = sum(float(np.sum(np.abs(layer.delta) * (np.abs(layer.x) @ np.abs(layer.W) + np.abs(layer.b))))
                   for layer in network.layers)
    return size if math.isfinite(size) else 0.0


class _Tangent(NamedTuple):
    """A layer's activation at its unperturbed inputs z0, for replacing units by their tangents."""

    kinks: np.ndarray  # the activation's kinks
    z0: np.ndarray  # the layer's input z at the parameters
    f0: np.ndarray  # f(z0)
    slope: np.ndarray  # f'(z0), from the derivative under test
    trusted: np.ndarray  # where that slope is one of f's own (_slopes_true_to_values)


class _Evaluation(NamedTuple):
    """The objective at a few steps of one entry (see :meth:`Tangents._evaluate`)."""

    points: list  # (x, f(x)) per step, x as stored
    replaced_any: bool  # some unit is on its tangent
    untrusted: bool  # a replaced unit's slope is not its activation's
    reached: list  # per step: it reaches a kink of the loss that a sample is near but not on
    sat_on: bool  # a step moves a term of the loss that sits on its kink


class Tangents:
    """Central differences of a network's loss with the kinks a step crosses taken out.

    :func:`_at_a_kink` tells a kink from outside, by the one-sided slopes of the loss, and
    accepts backpropagation's value when it lies between them. Five cases escape it:

    - stacked kinks: a step that carries one unit's input across a kink can carry the inputs
      of units it feeds across theirs too (a sample on which a layer of elu:alpha=2 and the
      next one both see z = 0). Backpropagation multiplies the derivatives each activation
      takes at its kink, a slope of the loss that need not lie between the two one-sided ones;
    - near kinks: an input within the step of a kink but not on it (a ReLU at z = 3e-7 with
      eps = 1e-6). The loss is differentiable there and backpropagation right, but the
      central difference straddles the corner and the smallest of :data:`KINK_STEPS` does not;
    - samples pushing opposite ways: a weight whose step moves one sample's input on a kink up
      and another's down, where relu'(0) = 0 need not lie between the one-sided slopes;
    - a weight within the step of 0 under an L1 penalty: ``l1 |w|`` has its corner there, so the
      central difference of a weight at 3e-7 with eps = 1e-6 gives ``l1 w / eps`` for its term,
      not ``l1 sign(w)``, and the one-sided slopes at :data:`KINK_STEPS` do not stay apart.
    - a sample within the step of a kink of the loss but not on it (a hinge margin 3e-7 away): as for
      a unit near its kink, but the loss has no tangent here; a difference that falls short of the
      kink is taken instead (see :meth:`central_difference`).

    Here every unit whose input the step ``p[index] +- eps`` carries onto or across one of its
    activation's ``kinks`` (found from the forward passes at both ends of the step, layer by
    layer, as a unit replaced below moves the inputs of the units it feeds) is replaced by the
    tangent of its activation at the unperturbed input z0, ``f(z0) + f'(z0) (z - z0)``, and the
    central difference is taken again (the L1 term of a weight whose step crosses 0 likewise, by
    ``l1 (|w0| + sign(w0) (w - w0))``, its slope taken here and not from the gradient under test).
    That function has backpropagation's gradient at the unperturbed weights (at a kink
    backpropagation uses ``f'(z0)`` too, one of the one-sided
    derivatives) and no kink within the step, so it agrees with a right backpropagation to
    O(eps^2) and still disagrees with a wrong one: every unit the step does not take across a
    kink is evaluated as it is.

    A tangent is only as good as its slope, and ``f'(z0)`` comes from the ``derivative`` under
    test: a relu'(0) = 5 would be checked against itself. So every slope is first held against
    ``value`` (:func:`_slopes_true_to_values`), and where a replaced unit's is not, the central
    difference is nan and the entry fails: the activation's derivative disagrees with its values
    there (backpropagation used that wrong ``f'(z0)``, or, for an activation whose backward does
    not call ``derivative``, the tangent would have).
    Falling back to :func:`_at_a_kink` instead would pass again the elu' 1% too large whose
    wrong values lie between the one-sided slopes.
    """

    def __init__(self, network, loss, X: np.ndarray, Y: np.ndarray, *, l1: float = 0.0, l2: float = 0.0) -> None:
        self.network, self.loss, self.X, self.Y = network, loss, X, Y
        self.l1, self.l2 = l1, l2  # training's weight penalty: part of every value taken here
        # the arrays whose entries carry l1 |w|, whose corner at w = 0 a step may cross
        self.cornered = [p for p, decay in zip(network.params, decayed(network.params)) if decay] if l1 else []
        self._corner: tuple | None = None  # (p, index, w0) while :meth:`unbent` is open
        network.forward(X)
        reads_output = not network.loss_on_logits(loss)  # a loss on the logits never applies the output's f
        self.tangents: list[_Tangent | None] = []  # per layer; None where no kink can be crossed
        for layer in network.layers:
            act = layer.activation
            if act.kinks and (reads_output or layer is not network.output):
                z0, kinks = layer.z.copy(), np.asarray(act.kinks)
                slope = act.derivative(z0)
                trusted = _slopes_true_to_values(act, kinks, z0, slope)
                self.tangents.append(_Tangent(kinks, z0, act.value(z0), slope, trusted))
            else:
                self.tangents.append(None)
        form, on_logits = network.value_form(loss)
        self._loss_form, self._on_logits = form, on_logits
        self.offsets0 = form.kink_offsets(Y, self._output())  # where the loss's own kinks lie, or None

    def central_difference(self, p: np.ndarray, index: tuple, eps: float) -> tuple[float, float] | None:
        """The central difference for entry ``index`` of ``p`` with the units the step takes across
        a kink replaced by tangents, and the step of a central difference with its rounding noise
        (where the step reaches no kink at all, the plain difference, a derivative: a failure there
        is no kink's); a nan difference when the slope of a tangent it needs is not one of its
        activation's (see :func:`_slopes_true_to_values`).

        Where the step also carries a sample across a kink of the loss that it is near but not on (a
        hinge margin 3e-7 away, with eps = 1e-6), no slope from the code under test is needed: the
        derivative is taken where the loss is smooth. If one side of the step reaches no such kink,
        by the one-sided difference through p, p +- step/2 and p +- step on that side (second order
        like the central one, with eight times its rounding noise); else by the central difference
        at step / 10, step / 100, ... down to :data:`SHORTEST_STEP`, looked at in the same way. Where
        no step falls short of the kink, or a step moves a term of the loss that sits on its kink,
        None is returned (a nan difference where a unit's tangent is untrue), and the one-sided
        slopes of :func:`_at_a_kink` judge."""
        step = eps
        while True:
            both = self._evaluate(p, index, (step, -step))
            if both.untrusted:
                return math.nan, step
            (x_up, f_up), (x_down, f_down) = both.points
            if both.sat_on or x_up == x_down:  # x_up == x_down: a weight so large that the step is lost in it
                return None
            if not any(both.reached):  # nan only where f itself is: no tangent to blame, the slopes judge
                value = (f_up - f_down) / (x_up - x_down)
                return None if math.isnan(value) else (value, step)
            if not all(both.reached):
                side = -1.0 if both.reached[0] else 1.0
                # a penalised weight on 0: one side would give l1 |w|'s slope there, +-l1, where backpropagation
                # adds l1 sign(0) = 0, the central difference's average; its flat tangent gives 0 as well
                with self.unbent(p, index) if self._on_l1_corner(p, index) else contextlib.nullcontext():
                    one = self._evaluate(p, index, (0.0, side * step / 2, side * step))
                if one.untrusted:
                    return math.nan, step
                slope = _slope_at_first(one.points)
                if not any(one.reached) and slope is not None:
                    return slope, step / ONE_SIDED_NOISE
            if step / 10 < SHORTEST_STEP:
                return None
            step /= 10

    def extrapolated(self, p: np.ndarray, index: tuple, eps: float) -> float:
        """Richardson's extrapolation (4 D(eps/2) - D(eps)) / 3 of :meth:`central_difference` at ``eps``, all
        four values of one function, the units any of the steps carries across a kink on their tangents:
        its error is O(eps^4), where D's is eps^2 f''' / 6.

        A step of 1e-6 on a first-layer weight whose inputs are 1e3 moves z by 1e-3, and that truncation
        alone failed right gradients (in 42 of 300 random networks of an adversarial review's fuzz, nearly
        all with inputs of 1e2-1e3; with a unit carried across its kink too, elu failed 11 of 40 and
        softsign 22). nan where it cannot be taken: a step reaches or moves a kink of the loss, a tangent
        is untrue, or a half step is lost in the weight's rounding (w = 1e10: w +- eps moves, w +- eps / 2
        does not).
        """
        four = self._evaluate(p, index, (eps, -eps, eps / 2, -eps / 2))
        (x1, f1), (x2, f2), (x3, f3), (x4, f4) = four.points
        if four.untrusted or four.sat_on or any(four.reached) or x1 == x2 or x3 == x4:
            return math.nan
        return (4 * (f3 - f4) / (x3 - x4) - (f1 - f2) / (x1 - x2)) / 3

    def _on_l1_corner(self, p: np.ndarray, index: tuple) -> bool:
        """Whether ``p[index]`` is a weight under training's L1 term sitting on its corner, w = 0."""
        return any(p is q for q in self.cornered) and p[index] == 0

    def _evaluate(self, p: np.ndarray, index: tuple, steps: tuple[float, ...]) -> _Evaluation:
        """The objective at ``p[index] + step`` for each of ``steps``, with the units any of the steps
        takes across a kink on tangents (see :class:`_Evaluation`)."""
        replaced = [None if t is None else np.zeros(t.z0.shape, dtype=bool) for t in self.tangents]
        while True:
            ends: list[list] = []  # per step, the inputs z of every layer
            offsets: list = []  # per step, the loss's kink offsets
            points = _values_at(lambda: self._loss(replaced, ends, offsets), p, index, steps)
            grown = False
            for tangent, done, *zs in zip(self.tangents, replaced, *ends):
                if tangent is None:
                    continue
                crossing = _crossing(zs, tangent.z0, tangent.kinks)
                if (crossing & ~done).any():
                    done |= crossing
                    grown = True
            if not grown:
                break
        used = [(tangent.trusted, done) for tangent, done in zip(self.tangents, replaced) if tangent is not None]
        reached, sat_on = [False] * len(steps), False
        if self.offsets0 is not None:
            on = self.offsets0 == 0
            reached = [bool((_crossing([u], self.offsets0, np.zeros(1)) & ~on).any()) for u in offsets]
            sat_on = any(bool((on & (u != self.offsets0)).any()) for u in offsets)
        return _Evaluation(points, replaced_any=any(done.any() for _, done in used),
                           untrusted=not all(trusted[done].all() for trusted, done in used),
                           reached=reached, sat_on=sat_on)

    def objective(self) -> float:
        """The loss at the current weights plus training's weight penalty (0 without one)."""
        return float(self.network.loss(self.loss, self.X, self.Y)) + self._penalty()

    def _penalty(self) -> float:
        """Training's weight penalty; while :meth:`unbent` is open, with that weight's L1 term on its tangent."""
        return weight_decay_penalty(self.network.params, self.l1, self.l2) + self._corner_tangent()

    def l1_corners(self, p: np.ndarray, eps: float) -> np.ndarray | None:
        """The entries of ``p`` whose step ``+- eps`` takes an L1-penalised weight across the corner of
        ``l1 |w|`` at 0 (None when ``p`` carries no L1 term). A weight on 0 is not one: the tangent
        there is flat (sign(0) = 0) and the plain central difference of ``|w|`` is already its 0,
        so such an entry is left to the plain comparison and to :meth:`central_difference` (which
        puts it on that flat tangent for a one-sided difference) or :func:`_at_a_kink`, which also
        handles a kink of the loss itself (a hinge sample on its margin) in the same step."""
        return _across_zero(p, eps) if any(p is q for q in self.cornered) else None

    @contextlib.contextmanager
    def unbent(self, p: np.ndarray, index: tuple) -> Iterator[None]:
        """While open, the L1 term of weight ``p[index]`` (one of :meth:`l1_corners`) is its tangent at
        its current value w0, ``l1 (|w0| + sign(w0) (w - w0))``, in every value taken here: the same
        value and derivative at w0, and no corner within the step."""
        outer, self._corner = self._corner, (p, index, float(p[index]))
        try:
            yield
        finally:
            self._corner = outer

    def _corner_tangent(self) -> float:
        """What :meth:`unbent` adds to the penalty: ``l1 (|w0| + sign(w0) (w - w0) - |w|)`` at the
        weight's current value w (0 when it is not open)."""
        if self._corner is None:
            return 0.0
        p, index, w0 = self._corner
        w = float(p[index])
        return self.l1 * (abs(w0) + float(np.sign(w0)) * (w - w0) - abs(w))

    def _loss(self, replaced: list, ends: list, offsets: list) -> float:
        """:meth:`objective` with the ``replaced`` units on their tangents; appends every layer's
        input z to ``ends``, and the loss's kink offsets to ``offsets`` (where it has kinks)."""
        zs = []
        a = self.X
        for layer, tangent, done in zip(self.network.layers, self.tangents, replaced):
            a = layer.forward(a)  # the layer's own work array: edited in place, the next layer reads it
            zs.append(None if tangent is None else layer.z.copy())
            if tangent is not None and done.any():
                a[done] = tangent.f0[done] + tangent.slope[done] * (layer.z[done] - tangent.z0[done])
        ends.append(zs)
        if self.offsets0 is not None:
            offsets.append(self._loss_form.kink_offsets(self.Y, self._output()))
        return float(self.network.loss_value(self.loss, self.Y)) + self._penalty()

    def _output(self) -> np.ndarray:
        """What the loss reads after a forward pass: the output layer's z or a (see ``Network.value_form``)."""
        out = self.network.output
        return out.z if self._on_logits else out.a


def _crossing(ends: list, at: np.ndarray, kinks: np.ndarray) -> np.ndarray:
    """Where the values ``at``, moved to each of ``ends`` by the steps, reach one of ``kinks`` (a kink
    the span touches counts; a span of zero width crosses none)."""
    low, high = at, at
    for end in ends:
        low, high = np.minimum(low, end), np.maximum(high, end)
    low, high = low[..., None], high[..., None]
    return ((low <= kinks) & (kinks <= high) & (low < high)).any(axis=-1)


def _values_at(f: Callable[[], float], p: np.ndarray, index: tuple, steps: tuple[float, ...]) -> list[tuple[float, float]]:
    """``(x, f())`` with ``p[index]`` set to ``x = p[index] + step``, as stored, for each of ``steps``; the
    entry is written back to its exact original value, also if ``f`` raises."""
    original = p[index]
    points = []
    try:
        for step in steps:
            p[index] = original + step
            points.append((float(p[index]), float(f())))
    finally:
        p[index] = original
    return points


def _slope_at_first(points: list[tuple[float, float]]) -> float | None:
    """The slope at the first of three points ``(x, f)`` of the parabola through them,
    ``(d1 u2 - d2 u1) / (u2 - u1)`` with ``u_k = x_k - x0`` and ``d_k = (f_k - f0) / u_k``: with u2 = 2 u1
    = 2h it is (-3 f0 + 4 f1 - f2) / 2h, O(h^2) like a central difference. Written on the differences of
    f, whose rounding is that of the values; the Lagrange weights (of order 1/h) would multiply it. None
    where two of the points are the same number."""
    (x0, f0), (x1, f1), (x2, f2) = points
    u1, u2 = x1 - x0, x2 - x0  # the steps as stored (exact where x0 and x_k are within a factor of 2)
    if not (u1 and u2 and u1 != u2):  # a weight so large that half the step is lost in it
        return None
    return ((f1 - f0) / u1 * u2 - (f2 - f0) / u2 * u1) / (u2 - u1)


def _across_zero(w, eps: float):
    """Whether a step of ``+- eps`` takes ``w`` (an array or a number) across 0, where it is not 0 itself."""
    return (np.abs(w) <= eps) & (w != 0)


#: relative step of the one-sided differences :func:`_slopes_true_to_values` takes of an activation, and
#: the relative error it allows them: truncation (h f''/2, about 1e-6 for elu and softsign) and rounding
#: (eps_mach |f| / h, about 1e-10) stay far below it, a derivative that is wrong stays far above it
SLOPE_STEP, SLOPE_RTOL = 1e-6, 1e-4


def _slopes_true_to_values(act, kinks: np.ndarray, z0: np.ndarray, slope: np.ndarray) -> np.ndarray:
    """Where ``slope`` (``act.derivative(z0)``) is a one-sided slope of ``act.value`` itself at ``z0``.

    On a kink either side's slope will do (``derivative`` there returns one of them); beside one,
    only the slope on ``z0``'s own side of the nearest kink, taken by a difference that steps away
    from it and so never crosses it, however close ``z0`` is (a relu' wrong only on (0, 1e-6)
    fails at z0 = 3e-7). The differences are taken in float64 with a step of :data:`SLOPE_STEP`
    relative to ``z0``, and must agree to :data:`SLOPE_RTOL`, or to their rounding noise.

    Returns
    -------
    ndarray of bool
        Shaped like ``z0``.
    """
    z = np.asarray(z0, dtype=np.float64)
    h = SLOPE_STEP * np.maximum(np.abs(z), 1.0)
    up, down = z + h, z - h
    f_z, f_up, f_down = act.value(z), act.value(up), act.value(down)
    noise = 4 * np.finfo(np.float64).eps * np.maximum(np.abs(f_z), np.maximum(np.abs(f_up), np.abs(f_down))) / h
    right = agrees(slope, (f_up - f_z) / (up - z), SLOPE_RTOL, noise)
    left = agrees(slope, (f_z - f_down) / (z - down), SLOPE_RTOL, noise)
    away = z[..., None] - kinks  # from each kink; the nearest one's sign is z0's side of it, 0 on it
    side = np.take_along_axis(away, np.abs(away).argmin(axis=-1)[..., None], axis=-1)[..., 0]
    return (right & (side >= 0)) | (left & (side <= 0))
