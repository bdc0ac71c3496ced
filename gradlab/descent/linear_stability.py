"""The linear stability (step-size) analysis of a finished 1-D run: the minimum it approached, the
bound on ``lr`` there, and the predicted and observed error ratios (:func:`stability`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gradlab.descent.points import uncertainty
from gradlab.descent.run import Descent, Step, Trajectory
from gradlab.descent.verdicts import falling_towards, stationary_kind


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
    linear = _linear_map(method, a, beta)
    if linear is None:
        return None
    matrix, bound = linear
    if not math.isfinite(a):  # lr * f'' overflowed (lr = 1e308): far past the bound, no finite rate
        return bound, math.inf
    return bound, float(np.max(np.abs(np.linalg.eigvals(matrix))))


def oscillation_period(method: str, a: float, beta: float) -> float | None:
    r"""Steps per turn of the error around :math:`x^*`, :math:`2\pi / |\arg \lambda|` for the
    largest eigenvalue :math:`\lambda` of the linearised method (see :func:`linear_rate`), when it
    is complex; None when the error does not circle (gd, adam, real eigenvalues, a non-finite ``a``).
    Momentum at lr 0.9 on :math:`f'' = 2` (a = 1.8, beta = 0.9) turns every 4.1 steps, at lr 0.01 every 46."""
    linear = _linear_map(method, a, beta)
    if linear is None or not math.isfinite(a):
        return None
    eigenvalues = np.linalg.eigvals(linear[0])
    angle = abs(float(np.angle(eigenvalues[np.argmax(np.abs(eigenvalues))])))
    return 2 * math.pi / angle if 1e-12 < angle < math.pi - 1e-12 else None


def _linear_map(method: str, a: float, beta: float) -> tuple[np.ndarray, float] | None:
    """The error recursion's matrix of :func:`linear_rate` and the bound on ``a``; None for adam."""
    if method in ("gd", "newton"):
        matrix, bound = [[1 - a]], 2.0
    elif method == "momentum":
        matrix, bound = [[1 - a, -beta], [a, beta]], 2 * (1 + beta)
    elif method == "nesterov":
        matrix, bound = [[1 - a, -beta * (1 - a)], [a, beta * (1 - a)]], 2 * (1 + beta) / (1 + 2 * beta)
    else:
        return None
    with np.errstate(all="ignore"):  # a = inf: the caller says so without eigenvalues
        return np.array(matrix, dtype=float), bound


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
    d = uncertainty(x_star) + 100 * abs(g / h)
    beside = max(abs(float(expr.hessian([x_star + side * d])[0, 0])) for side in (-1.0, 1.0))
    return math.isfinite(beside) and h <= FLAT * beside


def stability(run: Descent, steps: Sequence[Step]) -> Stability | None:
    """The stability numbers for a finished 1-D run (its steps as a list or a :class:`Trajectory`),
    or None (two variables, or no minimum found).

    At a flat minimum (:math:`f''(x^*) \\approx 0`, e.g. :math:`x^4`) there is no step-size
    bound: ``flat`` is True, the bounds are inf and the predicted ratio is 1 (slower than
    any geometric rate).
    """
    expr, s = run.expr, run.settings
    if expr.n_vars != 1:
        return None
    path = Trajectory.of(run, steps).x[:, 0]
    starts = [path[_last(np.isfinite(path))], run.x0[0]]  # x0 is finite: there is a last finite point
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
    # the window must hold two turns of an error that circles x*, or its ends decide the ratio
    period = None if flat or newton else oscillation_period(s.method, s.lr * h, s.momentum)
    window = OBSERVED_WINDOW if period is None else max(OBSERVED_WINDOW, math.ceil(2 * period))
    observed, m = observed_ratio(path, x_star, window, circles=period is not None)
    return Stability(x_star, h, s.lr, s.method, math.inf if flat else 2 / h, bound, predicted, observed, m, flat)


#: the steps the observed error ratio is taken over, unless the error circles x* more slowly
OBSERVED_WINDOW = 20


def observed_ratio(path: np.ndarray, x_star: float, window: int = OBSERVED_WINDOW,
                   circles: bool = False) -> tuple[float | None, int]:
    r"""Error ratio per step over the last ``window`` steps.

    ``j`` is the last point whose error is above rounding, :math:`\sqrt{\epsilon} (1 + |x^*|)`,
    and ``i`` the earliest such point at most ``window`` steps before it. For an error that
    keeps its sign or flips it (gd, adam: real eigenvalues) the ratio comes from the envelopes at
    both ends: with ``b = (j - i) // 2`` it is
    :math:`(\max_{j-b < k \le j} |e_k| / \max_{i \le k < i+b} |e_k|)^{1/(j-i-b+1)}`, exactly
    :math:`|1 - lr f''|` for gd's geometric error. An error that ``circles`` :math:`x^*`
    (momentum or nesterov with complex eigenvalues) is :math:`e_k = A r^k \cos(k\theta + \varphi)`,
    whose ends and block maxima depend on where the turn stands (0.82 to 0.86 for nesterov's
    0.8485, stopped at 40 to 80 steps); there :math:`D_k = |e_k e_{k+2} - e_{k+1}^2| =
    A^2 \sin^2\theta\, r^{2k+2}` is exactly geometric whatever the phase, and the ratio is
    :math:`(D_{j-2} / D_i)^{1/(2(j-2-i))}` (the envelope's rule where that has no two points).
    Returns ``(ratio, j - i)``; ``(None, 0)`` when there are not two such points.
    """
    with np.errstate(all="ignore"):
        signed = path - x_star
        errors = np.abs(signed)
    usable = np.isfinite(errors) & (errors > uncertainty(x_star))
    if not usable.any():
        return None, 0
    last = _last(usable)
    start = max(last - window, 0)
    first = start + int(np.argmax(usable[start:]))  # the earliest usable point at most window steps before
    if first == last:
        return None, 0
    m = last - first
    turning = _turning_rate(signed[first:last + 1].tolist()) if circles else None
    if turning is not None:
        return turning, m
    block = max(1, m // 2)
    early, late = errors[first:first + block].max(), errors[last - block + 1:last + 1].max()
    return float((late / early) ** (1 / (m - block + 1))), m


def _turning_rate(e: list[float]) -> float | None:
    """The modulus r of an error e_k = A r^k cos(k theta + phi) from D_k = |e_k e_{k+2} - e_{k+1}^2|
    at both ends of ``e`` (see :func:`observed_ratio`); None with fewer than four errors or a D
    that is no positive number."""
    n = len(e) - 3  # D_0 .. D_n
    if n < 1:
        return None
    first, last = abs(e[0] * e[2] - e[1] ** 2), abs(e[-3] * e[-1] - e[-2] ** 2)
    if not (0 < first < math.inf and 0 < last < math.inf):
        return None
    return (last / first) ** (1 / (2 * n))


def _last(mask: np.ndarray) -> int:
    """The index of the last True in ``mask`` (which has one), without an index array of all of them: a
    million-step run's path is 8 MB, and each such array was as large again."""
    return mask.size - 1 - int(np.argmax(mask[::-1]))
