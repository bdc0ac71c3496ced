"""The numbers behind ``gradlab plot``: activations and losses sampled on a grid, with the facts.

This module samples functions from the registries, finds the facts a learner should
see (where the derivative peaks, where it goes flat, where a loss stops pushing a
wrong output), measures how finite-difference derivatives go wrong, and describes
each figure as plain columns (:class:`Chart`). :mod:`gradlab.plots.functions` draws a
chart and the CLI writes its columns as CSV and its facts as tables. NumPy only.

Finite differences, the seed article's way and the better way::

    forward  (f(z + h) - f(z)) / h            error ~ h |f''| / 2  +  eps |f| / h
    central  (f(z + h) - f(z - h)) / (2 h)    error ~ h^2 |f'''| / 6  +  eps |f| / h

The first term (truncation) shrinks with h, the second (round-off in f(z + h) - f(z))
grows as h shrinks; the total is smallest near h ~ sqrt(eps) ~ 1e-8 (forward) and
h ~ eps^(1/3) ~ 6e-6 (central). With h = 1e-13, as in the seed article, the
round-off term is ~1e-3: the plotted derivative is visibly noisy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gradlab.engine.diagnostics import SATURATION_LEVEL, saturation_threshold
from gradlab.errors import InputError
from gradlab.plots import DRAWABLE

#: Where the sample table evaluates the functions (those inside the range, plus its ends).
SAMPLE_POINTS = (-10.0, -4.6, -2.0, 0.0, 2.0, 4.6, 10.0)
#: |dC/dz| below this counts as flat: a loss there has (almost) stopped pushing the weights. An
#: activation's f' is flat (saturated) below 1% of its own peak, the training diagnostics' rule
#: (:func:`gradlab.engine.diagnostics.saturation_threshold`), not below this absolute number.
FLAT = 0.01
#: Activations bend within a few units of 0 (peaks, kinks, the start of saturation). Their facts
#: are found on the grid plus these points, so a coarse or very wide grid cannot step over
#: them: 10 points on [-100, 100] sample sigmoid only where its derivative is ~0.
FEATURE_POINTS = np.linspace(-8.0, 8.0, 161)
FEATURE_SPAN = float(FEATURE_POINTS[-1] - FEATURE_POINTS[0])
#: How an end of the interval where f' peaks is bounded: it belongs to the interval (``closed``), it
#: is a kink where f' jumps, so that f' there is a convention (``open``: relu's z > 0), or the
#: interval runs on to the end of the plotted range (``range end``), which is no end of its own.
CLOSED, OPEN, RANGE_END = "closed", "open", "range end"
MAX_POINTS = 1_000_000
DEFAULT_RANGE = (-10.0, 10.0)
#: The steps of the step study, 4 per decade from 1e-16 to 1e-1.
STEPS = np.logspace(-16, -1, 61)
EPS = float(np.finfo(np.float64).eps)
#: Where theory puts the best step: round-off eps/h balanced against truncation h (h^2).
THEORY = {"forward": math.sqrt(EPS), "central": EPS ** (1.0 / 3.0)}
#: A loss plot's logit range is kept where sigmoid(z) is neither 0 nor 1 in float64.
LOGIT_LIMIT = 30.0
#: Regression losses alone are plotted against y_hat in [target - 3, target + 3] by default.
REGRESSION_HALF_WIDTH = 3.0


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Series:
    """One line of a panel: the column ``column`` against the panel's x column.

    ``group`` picks the colour (one per function); ``role`` the line style: value,
    derivative, forward, central (finite differences), gradient.
    """

    column: str
    label: str
    group: int = 0
    role: str = "value"


@dataclass
class Panel:
    """One axes of a chart: which columns to draw and how to label them.

    ``marks`` are vertical reference lines (x, label); ``spans`` shaded x-intervals
    (a, b, label).
    """

    x: str
    series: list[Series]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    xscale: str = "linear"
    yscale: str = "linear"
    marks: list[tuple[float, str]] = field(default_factory=list)
    spans: list[tuple[float, float, str]] = field(default_factory=list)


@dataclass
class Chart:
    """A figure as data: equal-length ``columns`` (the CSV) and the ``panels`` drawn from them.

    ``name`` is the file stem in a run directory (``activations.png``, ``activations.csv``).
    """

    name: str
    columns: dict[str, np.ndarray]
    panels: list[Panel]


@dataclass
class Table:
    """Rows of numbers (or text) under a header, for the terminal."""

    title: str
    header: list[str]
    rows: list[list[Any]]


# --------------------------------------------------------------------------- validation


def check_grid(lo: float, hi: float, points: int, option: str = "--range") -> None:
    """Refuse a range that is not two finite numbers A < B within +-:data:`DRAWABLE` (what a plot's
    axis can span), or a point count outside [2, MAX_POINTS]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"{option} needs two finite numbers A B, got {lo} {hi}")
    if not math.isfinite(hi - lo):
        raise InputError(f"{option} A B is wider than float64 can span (B - A overflows), got {lo} {hi}")
    if max(abs(lo), abs(hi)) > DRAWABLE:
        raise InputError(f"{option} A B must lie within [-{DRAWABLE:g}, {DRAWABLE:g}], what a plot's axis can "
                         f"span, got {lo} {hi}")
    if lo >= hi:
        raise InputError(f"{option} A B needs A < B, got {lo} {hi}")
    if not 2 <= points <= MAX_POINTS:
        raise InputError(f"--points must be between 2 and {MAX_POINTS}, got {points}")
    # grid points closer than a few dozen roundings repeat one another: 1 to 1 + 2.2e-16 gave 1000
    # rows of 2 distinct z, and their differences (a derivative, a slope) would be rounding alone
    spacing, rounding = (hi - lo) / (points - 1), 64 * float(np.spacing(max(abs(lo), abs(hi))))
    if spacing < rounding:
        raise InputError(f"{option} {lo} {hi} with --points {points} puts the points {spacing:.3g} apart, closer "
                         f"than float64 tells numbers of that size apart (64 roundings: {rounding:.3g}); "
                         f"widen the range or use fewer points")


def check_step(h: float, option: str = "--numeric") -> float:
    """A finite-difference step must be a finite number > 0."""
    if not (math.isfinite(h) and h > 0):
        raise InputError(f"{option} STEP must be a finite number > 0, got {h}")
    return float(h)


def sampled(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, what: str, x_name: str = "z",
            change: str = "smaller parameters or a narrower --range") -> np.ndarray:
    """``f(x)``, refused unless every value can be drawn: finite and at most :data:`DRAWABLE` in size.

    ``what`` names the function for the message (``activation: leaky_relu:alpha=1e+308: f``),
    ``change`` what to change.

    A parameter can push a curve off any axis (leaky_relu:alpha=1e308 is -inf at z = -10,
    mse is inf at y_hat = 1e300); that is bad input, refused before a run directory exists,
    not a figure matplotlib fails to draw.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # such an overflow is refused just below, by name
        values = np.asarray(f(x), dtype=float)
    beyond = ~(np.abs(values) <= DRAWABLE)  # nan too
    if beyond.any():
        i = int(np.argmax(beyond))
        raise InputError(f"{what} at {x_name} = {x[i]:g} is {values[i]:g}; a plot shows finite values at most "
                         f"{DRAWABLE:g} in size: choose {change}")
    return values


def sample_points(lo: float, hi: float) -> np.ndarray:
    """The :data:`SAMPLE_POINTS` inside [lo, hi] and its ends; 7 even points if that is too few."""
    points = sorted({p for p in SAMPLE_POINTS if lo <= p <= hi} | {lo, hi})
    return np.array(points if len(points) >= 5 else np.linspace(lo, hi, 7), dtype=float)


def _tidy(x: float, span: float) -> float:
    """Round a located point to ~1e-5 of the range, so a peak at 3e-11 reads as 0.

    Never coarser than 1e-5 of :data:`FEATURE_SPAN`: on [-1e6, 1e6], sigmoid's saturation
    still starts at |z| > 5.99, not at a rounded 0.
    """
    decimals = 5 - math.floor(math.log10(min(span, FEATURE_SPAN)))
    return float(round(x, decimals)) + 0.0  # + 0.0 turns -0.0 into 0.0


def _resolve(registry, specs: Sequence[str], field_name: str) -> list[tuple[str, str, Any]]:
    """(canonical spec, CSV key, instance) for each spec; a spec given twice is refused.

    The canonical spec is the name with its parameters (``leaky_relu:alpha=0.1``); the
    key is that with ``:`` and ``,`` replaced by ``_`` (CSV column prefixes).
    """
    resolved: dict[str, tuple[str, str, Any]] = {}
    for spec in specs:
        name, params = registry.parse(spec, field_name)
        canonical = name + (":" + ",".join(f"{k}={v}" for k, v in params.items()) if params else "")
        if canonical in resolved:
            raise InputError(f"{field_name}: {canonical} is given twice")
        key = canonical.replace(":", "_").replace(",", "_")
        resolved[canonical] = (canonical, key, registry.create(spec, field_name))
    return list(resolved.values())


# --------------------------------------------------------------------------- 1-D search


def _crossing(g: Callable[[float], float], a: float, b: float, rounds: int = 60) -> float:
    """A point where g changes sign in [a, b] (g(a) and g(b) of opposite sign), by bisection.

    Bisection rather than a faster root finder: it also finds the jump of a
    discontinuous derivative (ReLU's at 0), and needs no SciPy import (~0.8 s).
    """
    negative_at_a = g(a) < 0
    for _ in range(rounds):
        middle = 0.5 * (a + b)
        if (g(middle) < 0) == negative_at_a:
            a = middle
        else:
            b = middle
    return 0.5 * (a + b)


def _zoom_max(f: Callable[[np.ndarray], np.ndarray], a: float, b: float, rounds: int = 25) -> float:
    """Where f peaks in [a, b]: sample 9 points, keep the best one's neighbours, repeat."""
    for _ in range(rounds):
        t = np.linspace(a, b, 9)
        i = int(np.argmax(f(t)))
        a, b = t[max(i - 1, 0)], t[min(i + 1, 8)]
    return 0.5 * (a + b)


def _peak(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """The maximum of f over the grid and where: (max, a, b) with a == b for a point, a < b for a plateau."""
    top = float(values.max())
    near = np.flatnonzero(values >= top - 1e-12 * abs(top))  # relative: tanh' peaks at 3.5e-26 on [30, 40]
    gaps = np.flatnonzero(np.diff(near) > 1)
    run = near[: gaps[0] + 1] if gaps.size else near  # the first stretch of grid points at the top
    if run[-1] - run[0] > 2:  # ReLU's 1 for z > 0: a plateau, reported by its extent on the grid
        return top, float(z[run[0]]), float(z[run[-1]])
    x = _zoom_max(f, z[max(run[0] - 1, 0)], z[min(run[-1] + 1, len(z) - 1)])
    return max(top, float(f(np.array([x]))[0])), x, x


def _flat_tails(g: Callable[[np.ndarray], np.ndarray], z: np.ndarray, values: np.ndarray,
                threshold: float) -> tuple[float | None, float | None]:
    """Where |g| < threshold on the ends of the range: (below, above) for z < below and z > above.

    None for an end where g is not flat; only the tails count (saturation), not a flat
    patch in the middle (swish's derivative crosses 0 near z = -1.3).
    """
    steep = np.abs(values) >= threshold
    if not steep.any():
        return None, None

    def excess(t: float) -> float:
        return float(abs(g(np.array([t]))[0])) - threshold

    below = above = None
    if not steep[0]:
        i = int(np.argmax(steep))
        below = _crossing(excess, z[i - 1], z[i])
    if not steep[-1]:
        j = len(z) - 1 - int(np.argmax(steep[::-1]))
        above = _crossing(excess, z[j], z[j + 1])
    return below, above


# --------------------------------------------------------------------------- activations


@dataclass(frozen=True)
class Curve:
    """An activation as a function of one real z, with its exact derivative.

    A vector-valued activation (softmax, the only one with a ``jacobian``) is read
    along the first component of [z, 0]: softmax([z, 0])_0 = 1 / (1 + e^-z), which is
    sigmoid(z), and its derivative along z is the Jacobian's diagonal entry s_0 (1 - s_0).
    """

    spec: str
    key: str
    activation: Any

    @property
    def vector_valued(self) -> bool:
        return hasattr(self.activation, "jacobian")

    @property
    def label(self) -> str:
        """The legend entry: the spec, or ``softmax([z, 0])_0`` for a vector-valued activation."""
        return f"{self.spec}([z, 0])_0" if self.vector_valued else self.spec

    @property
    def note(self) -> str:
        if self.vector_valued:
            return f"{self.spec} is vector-valued: plotted as {self.label}, which equals sigmoid(z)"
        return ""

    def value(self, z: np.ndarray) -> np.ndarray:
        return self._along_z(self.activation.value, z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return self._along_z(self.activation.derivative, z)

    def _along_z(self, f: Callable[[np.ndarray], np.ndarray], z: np.ndarray) -> np.ndarray:
        """``f`` (the activation's value or derivative) at z, or for a vector-valued activation at [z, 0],
        its first component."""
        z = np.asarray(z, dtype=float)
        if not self.vector_valued:
            return np.asarray(f(z), dtype=float)
        return np.asarray(f(np.stack([z, np.zeros_like(z)], axis=-1)), dtype=float)[..., 0]


@dataclass
class ActivationFacts:
    """What matters about an activation on a range.

    ``peak_at`` is (a, a) for a point and (a, b) for a plateau, and ``peak_ends`` says how each end
    is bounded (:data:`CLOSED`, :data:`OPEN` or :data:`RANGE_END`): relu's peak is (0, 10) with
    ends (open, range end) on [-10, 10], the fact z > 0; ``flat_below`` /
    ``flat_above`` mean |f'(z)| < ``threshold`` for z < flat_below / z > flat_above (None:
    not flat at that end); ``flat_everywhere`` means the derivative never reaches it.
    ``threshold`` is 1% of f''s peak, below which training counts a unit output as saturated
    (:func:`~gradlab.engine.diagnostics.saturation_threshold`).
    """

    output_range: str
    observed_min: float
    observed_max: float
    max_derivative: float
    peak_at: tuple[float, float]
    peak_ends: tuple[str, str]
    flat_below: float | None
    flat_above: float | None
    flat_everywhere: bool
    threshold: float


@dataclass
class NumericError:
    """Maximum absolute error of a finite-difference derivative, where it occurs, and the
    maximum relative error |num - exact| / |exact| over the points where exact != 0."""

    step: float
    abs_error: float
    at: float
    rel_error: float


def forward_difference(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray, h: float) -> np.ndarray:
    """(f(z + h) - f(z)) / h: the seed article's derivative; error O(h) + O(eps / h)."""
    return (f(z + h) - f(z)) / h


def central_difference(f: Callable[[np.ndarray], np.ndarray], z: np.ndarray, h: float) -> np.ndarray:
    """(f(z + h) - f(z - h)) / (2 h): error O(h^2) + O(eps / h)."""
    return (f(z + h) - f(z - h)) / (2.0 * h)


DIFFERENCES = {"forward": forward_difference, "central": central_difference}


def _error(numeric: np.ndarray, exact: np.ndarray, z: np.ndarray, h: float) -> NumericError:
    err = np.abs(numeric - exact)
    i = int(np.argmax(err))
    nonzero = exact != 0  # relative error is undefined where the exact derivative is 0
    rel = float(np.max(err[nonzero] / np.abs(exact[nonzero]))) if nonzero.any() else 0.0
    return NumericError(step=h, abs_error=float(err[i]), at=float(z[i]), rel_error=rel)


def activation_facts(curve: Curve, z: np.ndarray, values: np.ndarray, derivative: np.ndarray) -> ActivationFacts:
    """Facts of one activation on the grid ``z`` (with its values and derivative there).

    The derivative's facts also look at the :data:`FEATURE_POINTS` inside the range.
    """
    span = float(z[-1] - z[0])
    features = FEATURE_POINTS[(FEATURE_POINTS > z[0]) & (FEATURE_POINTS < z[-1])]
    if not np.isin(features, z).all():
        z = np.union1d(z, features)
        derivative = curve.derivative(z)
    top, a, b = _peak(curve.derivative, z, derivative)
    if a < b:  # a plateau: its ends on the grid are where the grid happens to lie, not where f' changes
        (a, low), (b, high) = (_plateau_end(curve, z, int(np.searchsorted(z, end)), outward, top)
                               for end, outward in ((a, -1), (b, 1)))
        a, b = _tidy(a, span), _tidy(b, span)
    else:
        a = b = _tidy(a, span)
        edges = (_tidy(float(z[0]), span), _tidy(float(z[-1]), span))  # softplus' peak on [-10, 10] is at 10
        low, high = (RANGE_END if a == edges[0] else CLOSED), (RANGE_END if a == edges[1] else CLOSED)
        # the value at the point reported, if it is the peak up to rounding: sigma'(0) = 0.25, not 0.25 + 1 ulp
        at = float(curve.derivative(np.array([a]))[0])
        top = at if at >= top - 1e-12 * max(1.0, abs(top)) else top
    threshold = saturation_threshold(_slope_peak(curve, z, derivative))
    below, above = _flat_tails(curve.derivative, z, derivative, threshold)
    return ActivationFacts(
        output_range=getattr(curve.activation, "output_range", ""),
        observed_min=float(values.min()),
        observed_max=float(values.max()),
        max_derivative=top,
        peak_at=(a, b),
        peak_ends=(low, high),
        flat_below=None if below is None else _tidy(below, span),
        flat_above=None if above is None else _tidy(above, span),
        flat_everywhere=bool(np.all(np.abs(derivative) < threshold)) or threshold == 0,  # step: f' = 0
        threshold=threshold,
    )


def _plateau_end(curve: Curve, z: np.ndarray, i: int, outward: int, top: float) -> tuple[float, str]:
    """Where a plateau of f' at ``top`` ends, z[i] being its last grid point on one side (``outward``
    -1 for its lower end, 1 for its upper one), and how that end is bounded.

    At the range's edge the plateau runs on past what is plotted (:data:`RANGE_END`). Otherwise it
    ends between z[i] and the next grid point; a declared kink there is the true end (relu's 0, not
    the grid's 0.01), :data:`CLOSED` only when f' reaches ``top`` on both sides of it and at it
    (elu with alpha = 1, continuous there), else :data:`OPEN`. Without a kink, z[i] as found.
    """
    if not 0 <= i + outward < len(z):
        return float(z[i]), RANGE_END
    near, far = float(z[i]), float(z[i + outward])
    kinks = [k for k in getattr(curve.activation, "kinks", ()) if min(near, far) <= k <= max(near, far)]
    if not kinks:
        return near, CLOSED
    kink = float(min(kinks, key=lambda k: abs(k - near)))
    step = 1e-9 * max(1.0, abs(kink))
    around = curve.derivative(np.array([kink - step, kink, kink + step]))
    reached = bool(np.all(np.abs(around - top) <= 1e-6 * max(1.0, abs(top))))
    return kink, CLOSED if reached else OPEN


def _slope_peak(curve: Curve, z: np.ndarray, derivative: np.ndarray) -> float:
    """The peak of |f'| that saturation is measured against: the activation's declared
    ``max_derivative`` (sigmoid's 1/4, tanh's 1: the one training uses), else the largest |f'|
    on the grid and the :data:`FEATURE_POINTS`, where the peaks lie: a property of the function,
    not of the plotted range."""
    declared = getattr(curve.activation, "max_derivative", None)
    if declared is not None:
        return float(declared)
    return float(max(np.abs(derivative).max(), np.abs(curve.derivative(FEATURE_POINTS)).max()))


@dataclass
class ActivationStudy:
    """Everything ``gradlab plot NAME...`` shows: curves, charts, facts and tables."""

    curves: list[Curve]
    grid: tuple[float, float, int]
    facts: dict[str, ActivationFacts]
    samples: Table
    charts: list[Chart]
    numeric: dict[str, dict[str, NumericError]] = field(default_factory=dict)
    step_study: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The facts as plain data for summary.json."""
        out: dict[str, Any] = {"facts": {c.spec: asdict(self.facts[c.key]) for c in self.curves}}
        if self.numeric:
            out["numeric"] = {c.spec: {k: asdict(v) for k, v in self.numeric[c.key].items()} for c in self.curves}
        if self.step_study:
            out["step_study"] = {c.spec: self.step_study[c.key] for c in self.curves}
            out["step_study_theory"] = dict(THEORY)
        return out


def resolve_curves(specs: Sequence[str]) -> list[Curve]:
    """Activations from specs such as ``sigmoid`` or ``leaky_relu:alpha=0.1`` (checked, not yet sampled)."""
    from gradlab.engine.activations import activations

    return [Curve(spec, key, act) for spec, key, act in _resolve(activations, specs, "activation")]


def study_activations(
    curves: Sequence[Curve],
    lo: float = DEFAULT_RANGE[0],
    hi: float = DEFAULT_RANGE[1],
    points: int = 1000,
    *,
    derivative: bool = False,
    numeric: float | None = None,
    step_study: bool = False,
) -> ActivationStudy:
    """Sample activations on ``points`` points of [lo, hi] and work out what to show.

    Parameters
    ----------
    curves : list of Curve
        From :func:`resolve_curves`.
    lo, hi, points : float, float, int
        The grid, ``np.linspace(lo, hi, points)``.
    derivative : bool
        Plot the exact derivative too (always computed for the facts).
    numeric : float or None
        Also plot forward and central differences with this step, their errors against
        the exact derivative on a log scale, and measure them.
    step_study : bool
        Add the ``step_study`` chart: max error against h for :data:`STEPS`.
    """
    check_grid(lo, hi, points)
    if numeric is not None:
        numeric = check_step(numeric)
        derivative = True  # the differences are judged against the exact derivative: draw it too
    z = np.linspace(lo, hi, points)
    columns: dict[str, np.ndarray] = {"z": z}
    title = ", ".join(c.spec for c in curves) + (" and derivatives" if derivative else "")
    top = Panel("z", [], title=title, xlabel="z", ylabel="f(z)")
    errors = Panel("z", [], title=f"error of the numerical derivative, h = {numeric or 0:g}", xlabel="z",
                   ylabel="|numerical - exact|", yscale="log")  # drawn only with a step
    facts, found = {}, {}
    for group, curve in enumerate(curves):
        values = sampled(curve.value, z, f"activation: {curve.spec}: f")
        exact = sampled(curve.derivative, z, f"activation: {curve.spec}: f'")
        facts[curve.key] = activation_facts(curve, z, values, exact)
        columns[curve.key] = values
        top.series.append(Series(curve.key, curve.label, group, "value"))
        if derivative:
            columns[f"{curve.key}_derivative"] = exact
            top.series.append(Series(f"{curve.key}_derivative", f"{curve.spec}'", group, "derivative"))
        if numeric is not None:
            found[curve.key] = _numeric(curve, z, exact, numeric, group, columns, top, errors)
    if len(curves) == 1:  # shading for several functions at once would be unreadable
        top.spans = _flat_spans(facts[curves[0].key], lo, hi)
    panels = [top] + ([errors] if numeric is not None else [])
    charts = [Chart("activations", columns, panels)]
    study = ActivationStudy(list(curves), (lo, hi, points), facts, _activation_samples(curves, lo, hi), charts, found)
    if step_study:
        chart, study.step_study = _step_study(curves, z)
        study.charts.append(chart)
    return study


def _numeric(curve: Curve, z: np.ndarray, exact: np.ndarray, h: float, group: int,
             columns: dict[str, np.ndarray], top: Panel, errors: Panel) -> dict[str, NumericError]:
    """Add the forward and central differences (and their errors) to the chart; measure them."""
    found = {}
    for kind, difference in DIFFERENCES.items():
        estimate = sampled(lambda t: difference(curve.value, t, h), z,
                           f"activation: {curve.spec}: the {kind} difference with --numeric {h:g}",
                           change="a smaller --numeric step, smaller parameters or a narrower --range")
        columns[f"{curve.key}_{kind}"] = estimate
        columns[f"{curve.key}_{kind}_error"] = np.abs(estimate - exact)
        top.series.append(Series(f"{curve.key}_{kind}", f"{curve.spec}' {kind} h={h:g}", group, kind))
        errors.series.append(Series(f"{curve.key}_{kind}_error", f"{curve.spec} {kind}", group, kind))
        found[kind] = _error(estimate, exact, z, h)
    return found


def _flat_spans(f: ActivationFacts, lo: float, hi: float) -> list[tuple[float, float, str]]:
    """Shade the flat tails, labelled once."""
    label = f"f' < {f.threshold:g}, {SATURATION_LEVEL:.0%} of its peak"
    spans = []
    if f.flat_below is not None:
        spans.append((lo, f.flat_below, label))
    if f.flat_above is not None:
        spans.append((f.flat_above, hi, "" if spans else label))
    return spans


def _samples(x_name: str, x: np.ndarray, rows: Sequence[tuple[str, np.ndarray]]) -> Table:
    """A table with one row per sample point and one column per function: fits 80 columns for three functions."""
    columns = [values.tolist() for _, values in rows]
    return Table("sample values", [x_name, *(label for label, _ in rows)],
                 [[point, *(column[i] for column in columns)] for i, point in enumerate(x.tolist())])


def _activation_samples(curves: Sequence[Curve], lo: float, hi: float) -> Table:
    z = sample_points(lo, hi)
    rows = []
    for curve in curves:
        rows += [(curve.spec, curve.value(z)), (f"{curve.spec}'", curve.derivative(z))]
    return _samples("z", z, rows)


def _step_study(curves: Sequence[Curve], z: np.ndarray) -> tuple[Chart, dict[str, dict[str, dict[str, float]]]]:
    """Max |finite difference - exact| over the grid for each h in STEPS, and the best h."""
    columns: dict[str, np.ndarray] = {"h": STEPS}
    panel = Panel("h", [], title="finite-difference error against the step h", xlabel="step h",
                  ylabel="max |numerical - exact| over z", xscale="log", yscale="log",
                  marks=[(THEORY["forward"], "sqrt(eps): forward, in theory"),
                         (THEORY["central"], "eps^(1/3): central, in theory")])
    best: dict[str, dict[str, dict[str, float]]] = {}
    for group, curve in enumerate(curves):
        exact = curve.derivative(z)
        best[curve.key] = {}
        for kind, difference in DIFFERENCES.items():
            # h = 1e-16 leaves z + h == z for |z| >= 1: the difference is 0, the error |f'|
            err = np.array([np.max(np.abs(difference(curve.value, z, h) - exact)) for h in STEPS])
            columns[f"{curve.key}_{kind}_error"] = err
            panel.series.append(Series(f"{curve.key}_{kind}_error", f"{curve.spec} {kind}", group, kind))
            i = int(np.argmin(err))
            best[curve.key][kind] = {"best_h": float(STEPS[i]), "error": float(err[i]), "theory_h": THEORY[kind]}
    return Chart("step_study", columns, [panel]), best


# --------------------------------------------------------------------------- losses


@dataclass(frozen=True)
class LossCurve:
    """A loss on one output with a fixed target ``t``, read on its natural input u.

    ``reads`` is what u is: ``prediction`` (regression losses: y_hat), ``probability``
    (bce: p) or ``score`` (losses on logits or raw scores: z). A per-class loss
    (cross-entropy, the multiclass SVM) sees two classes with scores [z, 0] and target
    [t, 1 - t].
    """

    spec: str
    key: str
    loss: Any
    target: float

    @property
    def reads(self) -> str:
        if not self.loss.classification:
            return "prediction"
        if self.loss.on_logits or self.loss.link is None:
            return "score"
        return "probability"

    def _batch(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.loss.per_class:  # two classes, scores [z, 0]: softmax([z, 0])_0 = sigmoid(z)
            pred = np.stack([u, np.zeros_like(u)], axis=1)
            return np.tile([self.target, 1.0 - self.target], (len(u), 1)), pred
        return np.full((len(u), 1), self.target), u[:, None]

    def value(self, u: np.ndarray) -> np.ndarray:
        """The loss of each point, l_i: the loss's rows, one sample per point (vectorised)."""
        y, pred = self._batch(np.asarray(u, dtype=float))
        return self.loss.rows(y, pred)

    def gradient(self, u: np.ndarray) -> np.ndarray:
        """dC/du of each sample: the batch gradient times N (it includes the 1/N)."""
        y, pred = self._batch(np.asarray(u, dtype=float))
        return self.loss.gradient(y, pred)[:, 0] * len(pred)

    def logit_gradient(self, z: np.ndarray, sigmoid) -> np.ndarray:
        """dC/dz for a unit with input z: what backpropagation hands to the weights.

        Scores are z itself; a sigmoid-fused loss (bce) uses its fused (p - y); any
        other loss goes through sigma'(z) by the chain rule: MSE's (p - y) p (1 - p).
        """
        if self.reads == "score":
            return self.gradient(z)
        p = sigmoid.value(z)
        if self.loss.link == "sigmoid":
            y, pred = self._batch(p)
            return self.loss.logit_gradient(y, pred, np.reshape(z, pred.shape))[:, 0] * len(p)
        return self.gradient(p) * sigmoid.derivative(z)


@dataclass
class LossFacts:
    """Per loss: on the sigmoid path, C and dC/dz at the most wrong end of the range and the
    logit interval where |dC/dz| < FLAT although |p - t| > 0.5 (the plateau: None if none);
    on the regression path, where C is smallest and C, dC/dy_hat at the farthest point."""

    worst_x: float
    worst_value: float
    worst_gradient: float
    worst_output: float | None = None
    plateau: tuple[float, float] | None = None
    min_at: float | None = None
    min_value: float | None = None


@dataclass
class LossStudy:
    """Everything ``gradlab plot loss NAME...`` shows."""

    losses: list[LossCurve]
    target: float
    through_sigmoid: bool
    grid: tuple[float, float, int]
    facts: dict[str, LossFacts]
    samples: Table
    charts: list[Chart]
    notes: list[str]

    def summary(self) -> dict[str, Any]:
        return {"target": self.target, "x_axis": "p = sigmoid(z)" if self.through_sigmoid else "y_hat",
                "facts": {c.spec: asdict(self.facts[c.key]) for c in self.losses}, "notes": self.notes}


def resolve_losses(specs: Sequence[str], target: float) -> list[LossCurve]:
    """Losses from specs, each with the target ``t``; classification losses need 0 <= t <= 1
    and the margin losses (hinge) a label t in {0, 1}."""
    from gradlab.engine.losses import losses

    if not math.isfinite(target):
        raise InputError(f"--target must be a finite number, got {target}")
    curves = [LossCurve(spec, key, loss, float(target)) for spec, key, loss in _resolve(losses, specs, "loss")]
    for curve in curves:
        if curve.loss.classification and not 0.0 <= target <= 1.0:
            raise InputError(f"--target for {curve.spec} (a classification loss) must be in [0, 1], got {target}")
        if curve.reads == "score" and curve.loss.link is None and target not in (0.0, 1.0):
            raise InputError(f"--target for {curve.spec} must be a label, 0 or 1, got {target}")
    return curves


def loss_range(curves: Sequence[LossCurve], target: float) -> tuple[float, float]:
    """The default x range: logits [-10, 10] with a classification loss, else y_hat = t +- 3."""
    if any(c.loss.classification for c in curves):
        return DEFAULT_RANGE
    lo, hi = target - REGRESSION_HALF_WIDTH, target + REGRESSION_HALF_WIDTH
    if hi - lo < REGRESSION_HALF_WIDTH:  # float64's spacing near t swallows the +-3: no curve to draw
        raise InputError(f"--target {target:g} is too large for the default range t - {REGRESSION_HALF_WIDTH:g} to "
                         f"t + {REGRESSION_HALF_WIDTH:g} in float64 (numbers near it are {math.ulp(target):g} apart); "
                         f"give --range A B")
    return lo, hi


def study_losses(
    curves: Sequence[LossCurve],
    lo: float | None = None,
    hi: float | None = None,
    points: int = 1000,
    *,
    derivative: bool = False,
) -> LossStudy:
    """Sample losses against the prediction, and dC/dz through a sigmoid output.

    With a classification loss among them, everything is seen through one sigmoid
    unit: z runs over [lo, hi] (default [-10, 10]), the prediction is p = sigmoid(z),
    losses on scores read z itself. Panels: C against p; dC/dp against p (with
    ``derivative``); dC/dz against z, the lab's central story (MSE: (p - y) p (1 - p)
    vanishes at a wrong, saturated output; cross-entropy: p - y does not). Regression
    losses alone are plotted against y_hat in [lo, hi] (default target +- 3).
    """
    target = curves[0].target
    through_sigmoid = any(c.loss.classification for c in curves)
    if lo is None or hi is None:  # a target too large for the default range asks for --range: then it has one
        default = loss_range(curves, target)
        lo, hi = default[0] if lo is None else lo, default[1] if hi is None else hi
    check_grid(lo, hi, points)
    if through_sigmoid and max(abs(lo), abs(hi)) > LOGIT_LIMIT:
        raise InputError(f"--range is the logit z of a sigmoid output here and must lie within "
                         f"[-{LOGIT_LIMIT:g}, {LOGIT_LIMIT:g}], got {lo:g} {hi:g}")
    x = np.linspace(lo, hi, points)
    run = _sigmoid_path if through_sigmoid else _regression_path
    chart, facts, samples, notes = run(curves, x, derivative)
    return LossStudy(list(curves), target, through_sigmoid, (lo, hi, points), facts, samples, [chart], notes)


def _sigmoid_path(curves: Sequence[LossCurve], z: np.ndarray, derivative: bool):
    from gradlab.engine.activations import activations

    sigmoid = activations.create("sigmoid")
    t = curves[0].target
    p = sigmoid.value(z)
    columns: dict[str, np.ndarray] = {"z": z, "p": p}
    loss_panel = Panel("p", [], title=f"loss against the prediction p (target {t:g})", xlabel="p = sigmoid(z)",
                       ylabel="C")
    grad_panel = Panel("p", [], title="dC/dp: slope along the prediction", xlabel="p = sigmoid(z)",
                       ylabel="dC/dp (symlog)", yscale="symlog")
    logit_panel = Panel("z", [], title="dC/dz through a sigmoid output: what reaches the weights", xlabel="z",
                        ylabel="dC/dz")
    worst = 0 if abs(p[0] - t) >= abs(p[-1] - t) else len(z) - 1  # the most wrong end of the range
    facts, notes = {}, []
    for group, curve in enumerate(curves):
        u = z if curve.reads == "score" else p
        c = sampled(curve.value, u, f"loss: {curve.spec}: C", "z" if curve.reads == "score" else "p")
        dcdz = sampled(lambda s: curve.logit_gradient(s, sigmoid), z, f"loss: {curve.spec}: dC/dz")
        label = curve.spec + (" (on z)" if curve.reads == "score" else "")
        columns[curve.key] = c
        loss_panel.series.append(Series(curve.key, label, group, "value"))
        if derivative:
            columns[f"{curve.key}_dC_dp"] = _slope_along_p(curve, sigmoid, z, p, dcdz)
            grad_panel.series.append(Series(f"{curve.key}_dC_dp", label, group, "derivative"))
        columns[f"{curve.key}_dC_dz"] = dcdz
        logit_panel.series.append(Series(f"{curve.key}_dC_dz", label, group, "gradient"))
        facts[curve.key] = LossFacts(float(z[worst]), float(c[worst]), float(dcdz[worst]), float(p[worst]),
                                     _plateau(curve, sigmoid, z, p, dcdz, worst))
        if curve.reads == "score":
            pair = (f" on two classes, scores [z, 0] and target [t, 1 - t] = [{curve.target:g}, {1 - curve.target:g}]"
                    if curve.loss.per_class else "")
            notes.append(f"{curve.spec} takes the logit z itself{pair}; it is drawn against p = sigmoid(z)")
    panels = [loss_panel] + ([grad_panel] if derivative else []) + [logit_panel]
    chart = Chart("losses", columns, panels)
    notes.insert(0, "the prediction is p = sigmoid(z), the output of one sigmoid unit with input z")
    zs = sample_points(float(z[0]), float(z[-1]))
    ps = sigmoid.value(zs)
    rows = [("p", ps)]
    for curve in curves:
        gs = curve.logit_gradient(zs, sigmoid)
        rows.append((f"{curve.spec} C", curve.value(zs if curve.reads == "score" else ps)))
        if derivative:  # the CSV's and the middle panel's dC/dp, so the table shows what --derivative adds
            rows.append((f"{curve.spec} dC/dp", _slope_along_p(curve, sigmoid, zs, ps, gs)))
        rows.append((f"{curve.spec} dC/dz", gs))
    return chart, facts, _samples("z", zs, rows), notes


def _slope_along_p(curve: LossCurve, sigmoid, z: np.ndarray, p: np.ndarray, dcdz: np.ndarray) -> np.ndarray:
    """dC/dp at p = sigmoid(z): the loss's own gradient, or for a loss that reads the logit z,
    dC/dz / sigma'(z) (the chain rule dC/dz = dC/dp sigma'(z) read backwards)."""
    return dcdz / sigmoid.derivative(z) if curve.reads == "score" else curve.gradient(p)


def _plateau(curve: LossCurve, sigmoid, z, p, dcdz, worst) -> tuple[float, float] | None:
    """The logit interval at the wrong end where |dC/dz| < FLAT although |p - t| > 0.5."""
    if abs(p[worst] - curve.target) <= 0.5:
        return None
    below, above = _flat_tails(lambda s: curve.logit_gradient(s, sigmoid), z, dcdz, FLAT)
    span = float(z[-1] - z[0])
    if worst == 0 and below is not None:
        return float(z[0]), _tidy(below, span)
    if worst != 0 and above is not None:
        return _tidy(above, span), float(z[-1])
    return None


def _regression_path(curves: Sequence[LossCurve], y_hat: np.ndarray, derivative: bool):
    t = curves[0].target
    columns: dict[str, np.ndarray] = {"y_hat": y_hat}
    loss_panel = Panel("y_hat", [], title=f"loss against the prediction (target {t:g})", xlabel="y_hat", ylabel="C")
    grad_panel = Panel("y_hat", [], title="dC/dy_hat", xlabel="y_hat", ylabel="dC/dy_hat")
    far = 0 if abs(y_hat[0] - t) >= abs(y_hat[-1] - t) else len(y_hat) - 1
    span = float(y_hat[-1] - y_hat[0])
    facts = {}
    for group, curve in enumerate(curves):
        c = sampled(curve.value, y_hat, f"loss: {curve.spec}: C", "y_hat")
        columns[curve.key] = c
        loss_panel.series.append(Series(curve.key, curve.spec, group, "value"))
        g = sampled(curve.gradient, y_hat, f"loss: {curve.spec}: dC/dy_hat", "y_hat")
        if derivative:
            columns[f"{curve.key}_gradient"] = g
            grad_panel.series.append(Series(f"{curve.key}_gradient", curve.spec, group, "derivative"))
        _, a, _ = _peak(lambda u, curve=curve: -curve.value(u), y_hat, -c)
        facts[curve.key] = LossFacts(float(y_hat[far]), float(c[far]), float(g[far]), min_at=_tidy(a, span),
                                     min_value=float(curve.value(np.array([a]))[0]))
    panels = [loss_panel] + ([grad_panel] if derivative else [])
    chart = Chart("losses", columns, panels)
    ys = sample_points(float(y_hat[0]), float(y_hat[-1]))
    rows = []
    for curve in curves:
        rows += [(f"{curve.spec} C", curve.value(ys)), (f"{curve.spec} dC/dy_hat", curve.gradient(ys))]
    return chart, facts, _samples("y_hat", ys, rows), []
