"""Where a run stopped, when it is not plainly at a minimum: a :class:`Kink` it circles, a fall without
end (:func:`falling_towards`, :func:`unbounded_direction`), a :class:`Plateau`, or a :class:`Stationary`
point that is no minimum (a maximum, saddle or flat point)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from gradlab.descent.points import norm
from gradlab.descent.probes import PROBE_REACH, compare, first_difference, placement, probe_distances


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
    each by more than rounding (:func:`compare` with f's rounding and :func:`placement`), at the
    distances of :func:`probe_distances` from x's precision out to the probes' reach. On the side where
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
    near = probe_distances(0.0, norm(x))
    downhill = sorted(near + past) if curvature > 0 or not known else near
    uphill = sorted(near + past) if curvature < 0 or not known else near
    f0 = expr.value_precise(x)
    noise = 10.0 * (expr.rounding_precise(x) + placement(expr, x))
    for side, distances, expected in ((1.0, downhill, -1), (-1.0, uphill, 1)):
        for d in distances:
            p = x + side * d * u
            if compare(expr.value_precise(p), f0, noise + 10.0 * placement(expr, p)) != expected:
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
    (:func:`probe_distances`) start at 3e-8 and end at 2.2e-3, too little beyond the minimum to see
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
    :func:`first_difference`). f lower on both sides in every direction: a maximum; lower on some
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

    The distances d are :func:`probe_distances`. f is evaluated to 50 digits
    (:meth:`~gradlab.expr.Expression.value_precise`), not in float64: beside f = 1 the
    :math:`y^6` of :math:`1 - x^6 - y^6` changes f by 1e-18 at the widest probe, which float64
    rounds away, and that maximum was "converged"; :math:`-x^2 + y^6 + 1` a maximum. A
    difference counts when it is 10 times f's rounding at c in that precision
    (:meth:`~gradlab.expr.Expression.rounding_precise`), not :math:`10^{-50} |f(c)|`: a sum of
    large terms that cancel is rounded on the scale of the terms (float64 computed
    :math:`\cosh x - 1 - x^2/2`, the flat minimum :math:`x^4/24 + \dots`, as :math:`-x^2/2` for
    :math:`|x| < 10^{-8}`, and the probes saw a maximum in x). Nor does a change that rounding the
    probe point itself to float64 can make (:func:`placement`).
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
    noise = 10.0 * (expr.rounding_precise(centre) + placement(expr, centre))
    distances = probe_distances(norm(step), norm(x))
    with np.errstate(all="ignore"):
        slope = np.asarray(expr.gradient(centre), dtype=float)
    if not np.all(np.isfinite(slope)):
        slope = np.zeros_like(x)
    sides = [first_difference(expr, centre, u, distances, f0, noise, float(slope @ u)) for u in directions]
    if all(pair == (-1, -1) for pair in sides):
        return "maximum"
    lower, higher = (any(sign in pair for pair in sides) for sign in (-1, 1))
    return "saddle point" if lower and higher else None
