"""Pictures of a descent run: the path on the function, and f per step.

One variable: the curve :math:`y = f(x)` with every iterate marked and joined in order.
Two variables: contour lines of :math:`f(x, y)` with the path. Beside either, :math:`f`
per step (log scale when it is positive and spans two decades or more). The iterates
are the run's ``metrics.csv``; the sampled curve or surface is written next to the PNG.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gradlab.plots import DRAWABLE, drawable, finish_axes, new_figure, save, spans_decades, write_columns

CURVE_POINTS = 400
GRID_POINTS = 81  # per axis: 6561 samples, smooth contours and a small CSV


def plot_descent(expr, path: np.ndarray, f: np.ndarray, directory: str | os.PathLike,
                 stem: str = "descent", title: str = "") -> list[Path]:
    """Draw the run and write ``<stem>.png`` plus the sampled function as ``<stem>_curve.csv``
    (one variable) or ``<stem>_surface.csv`` (two).

    Parameters
    ----------
    expr : gradlab.expr.Expression
        The function.
    path : ndarray, shape (n_points, n_vars)
        :math:`x_0, x_1, \\dots` (non-finite points of a diverged run are left out).
    f : ndarray, shape (n_points,)
        :math:`f(x_k)`.
    directory : path
        Where the files go (the run directory).

    Returns
    -------
    list of Path
        The PNG and the CSV.
    """
    directory = Path(directory)
    path = np.asarray(path, dtype=float).reshape(len(f), expr.n_vars)
    f = np.asarray(f, dtype=float)
    fig, (ax_path, ax_f) = new_figure(1, 2, size=(11.0, 4.5))
    if expr.n_vars == 1:
        csv = _curve(ax_path, expr, path[:, 0], f, directory / f"{stem}_curve.csv")
    else:
        csv = _contour(ax_path, expr, path, directory / f"{stem}_surface.csv")
    _per_step(ax_f, f)
    if title:
        fig.suptitle(title)
    return [save(fig, directory / f"{stem}.png"), csv]


BLANK = f"no value to draw: all are beyond {DRAWABLE:g} in size, or not finite"


def _span(values: np.ndarray) -> tuple[float, float]:
    """The range of the drawable values with a 10% margin (at least 1 either side of a single point)."""
    values = drawable(values)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    pad = 0.1 * (hi - lo) if hi > lo else 1.0
    return lo - pad, hi + pad


def _curve(ax, expr, xs: np.ndarray, f: np.ndarray, csv_path: Path) -> Path:
    grid = np.linspace(*_span(xs), CURVE_POINTS)
    curve = expr.values(grid)
    ax.plot(grid, drawable(curve), color="0.3", lw=1.5, label=f"y = {expr.formula}")
    ok = np.isfinite(drawable(xs)) & np.isfinite(drawable(f))
    ax.plot(xs[ok], f[ok], "o-", color="tab:red", ms=4, lw=0.8, alpha=0.8, label="iterates, in order")
    _ends(ax, xs[ok], f[ok])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    finish_axes(ax, BLANK, loc="best", fontsize="small")
    return write_columns(csv_path, {"x": grid, "f": curve})


def _contour(ax, expr, path: np.ndarray, csv_path: Path) -> Path:
    gx = np.linspace(*_span(path[:, 0]), GRID_POINTS)
    gy = np.linspace(*_span(path[:, 1]), GRID_POINTS)
    X, Y = np.meshgrid(gx, gy)
    Z = expr.values(X, Y)
    shown = drawable(Z)  # f = 1e308 tanh(x) + y spans 2e308: the levels' own arithmetic would overflow
    finite = shown[np.isfinite(shown)]
    if finite.size:
        ax.contour(X, Y, shown, levels=_levels(finite), cmap="viridis", linewidths=0.8)
    ok = np.all(np.isfinite(path), axis=1)
    ax.plot(path[ok, 0], path[ok, 1], "o-", color="tab:red", ms=3, lw=0.8, alpha=0.8, label="path, in order")
    _ends(ax, path[ok, 0], path[ok, 1])
    ax.set_xlabel(expr.variables[0])
    ax.set_ylabel(expr.variables[1])
    ax.set_title(f"f = {expr.formula}", fontsize="small")
    ax.legend(loc="best", fontsize="small")
    return write_columns(csv_path, {"x": X, "y": Y, "f": Z})


def _levels(z: np.ndarray, count: int = 20) -> np.ndarray:
    """Contour levels: spaced geometrically above the minimum when f spans decades (a narrow valley
    such as Rosenbrock's would otherwise get all its lines on the walls)."""
    lo, hi = float(z.min()), float(z.max())
    if hi <= lo:
        return np.array([lo, lo + 1.0])
    if hi - lo > 100 * (np.percentile(z, 10) - lo + 1e-12):
        return lo + np.geomspace((hi - lo) * 1e-4, hi - lo, count)
    return np.linspace(lo, hi, count)


def _ends(ax, a: np.ndarray, b: np.ndarray) -> None:
    if a.size:
        ax.plot(a[:1], b[:1], "s", color="tab:blue", ms=8, label="start")
        ax.plot(a[-1:], b[-1:], "*", color="tab:green", ms=12, label="end")


def _per_step(ax, f: np.ndarray) -> None:
    steps = np.arange(len(f))
    ok = np.isfinite(drawable(f))
    ax.plot(steps[ok], f[ok], ".-" if ok.sum() <= 200 else "-", color="tab:red", lw=1)  # dots only while distinct
    finish_axes(ax, BLANK)
    positive = f[ok]
    if positive.size and positive.min() > 0 and spans_decades(positive):
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("f")
    ax.set_title("f per step", fontsize="small")
    ax.grid(alpha=0.3)
