r"""Probes of f beside a point, in 50 digits: at which distances (:func:`probe_distances`), whether a
value differs from f's by more than rounding (:func:`compare`, :func:`placement`), and where along a
line f first shows its shape (:func:`first_difference`). The verdicts of
:mod:`gradlab.descent.verdicts` judge a plateau or a stationary point by them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from gradlab.descent.points import uncertainty

PROBE_REACH = 1e-3  # the widest probe of f beside a flat point, times 1 + |x|


def probe_distances(step: float, size: float) -> list[float]:
    r"""The distances at which :func:`~gradlab.descent.verdicts._kind_by_values` compares f, nearest first:
    from :math:`d_0` tenfold at a time out to ``PROBE_REACH`` :math:`(1 + \|x\|)`.

    :math:`d_0` is 100 Newton steps (``step``): at a flat stationary point of order p
    (:math:`x^p`) Newton's step is :math:`x / (p - 1)`, so :math:`d_0` passes the true point for p
    up to ~100, while a run that stopped at tol = 1e-8 keeps it near 1e-6. It is at least
    :math:`\sqrt{\epsilon} (1 + \|x\|)`, the precision of x itself, for a run that stopped where
    g is exactly 0 (a start on the point).

    Wider probes reach features whose change is below even the 50-digit rounding nearer in
    (:math:`x^{40}` beside f = 1).
    """
    first = max(100.0 * step, uncertainty(size))
    reach = PROBE_REACH * (1.0 + size)
    distances = [first]
    while distances[-1] * 10.0 < reach:
        distances.append(distances[-1] * 10.0)
    return distances if distances[-1] >= reach else [*distances, reach]


def first_difference(expr, centre: np.ndarray, u: np.ndarray, distances: Sequence[float], f0: float,
                      noise: float, tilt: float = 0.0) -> tuple[int, int]:
    r""":func:`compare` of f at :math:`c - d u` and at :math:`c + d u` with ``f0``, at the first of
    ``distances`` where both sides differ alike (lower on both, or higher on both); else the last
    one-sided pair that f's slope does not explain (see below), ``(0, 0)`` if none. A probe's difference counts when it passes
    ``noise`` (the rounding of f at c, and of c's coordinates) and what rounding the probe
    point's own coordinates to float64 can change f by (:func:`placement`).

    Widening stops there, for each direction on its own. Nearer than that distance f along the
    line equals f(c) to rounding: any feature there (a minimum flatter than rounding, with a
    maximum 1e-4 away) is invisible even in 50 digits, and to descent's own float64, so the
    first difference is the nearest shape of f that can be seen, and it is the point's own; a
    feature farther out is never reached. A direction that differs at once (the y of
    :math:`1 + x^4 - y^2`, at 1e-6) is judged there, while a flat one (its x) is widened on
    until it shows (at 1e-3): stopping every direction at the first difference in any would
    leave x unseen, and that saddle passed for a maximum.

    f lower on one side only, higher (or equal) on the other, is widened on too: c may be off the
    point by more than d, for Newton's step (:func:`~gradlab.descent.verdicts._newton_step`) only estimates how far the
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
            value, placement_noise = expr.value_precise(p), 10.0 * placement(expr, p)
            seen.append(compare(value, f0, noise + placement_noise))
            beyond_slope.append(compare(value, f0, margin + placement_noise, rise=side * d * tilt))
        seen = tuple(seen)
        if seen in ((-1, -1), (1, 1)):
            return seen
        if seen != (0, 0) and -1 in beyond_slope and tuple(beyond_slope) != (-1, -1):
            pair = seen
    return pair


def placement(expr, point: np.ndarray) -> float:
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


def compare(value, f0, noise: float, rise: float = 0.0) -> int:
    """-1 if ``value`` is below ``f0 + rise`` by more than ``noise``, 1 if above it, 0 if neither, or if
    either is not finite or None (:meth:`~gradlab.expr.Expression.value_precise` where f has no real value)."""
    if value is None or f0 is None or not (math.isfinite(value) and math.isfinite(f0)):
        return 0
    # value - f0 is exact enough at any precision, while f0 - noise (or value - rise) would round the
    # 50-digit number to the context's 15 digits: x**3 beside 1e12 vanished so
    difference = (value - f0) - rise
    return -1 if difference < -noise else 1 if difference > noise else 0
