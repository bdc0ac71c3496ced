"""Pictures of a loss landscape: contour lines with the training path, the 3-D surface, and the
1-D interpolation from the initial to the final parameters. Each writes its numbers as CSV.

Contour levels are spaced logarithmically when the loss spans more than two decades on the
grid: a plateau (MSE + a saturated sigmoid) then shows as a wide region between two lines,
the path crawling across it in many short steps, while the valley gets its share of lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gradlab.plots import fits_log_axis, new_figure, save, write_columns

LEVELS = 24
#: matplotlib's filled contours extend below the first level and above the last one to +-1e250
#: (1e-250 and 1e250 on a log scale) and fail when a level lies beyond ('upper_level must be
#: larger than lower_level'): a diverged run's loss of 1e301 is drawn without the extensions.
EXTENSION_LIMITS = {False: (-1e250, 1e250), True: (1e-250, 1e250)}


def _levels(loss: np.ndarray) -> tuple[np.ndarray, bool]:
    """Contour levels over the finite values, and whether they are log-spaced."""
    finite = loss[np.isfinite(loss)]
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:  # a constant surface: one band around it, wide enough to exist at lo = 1e300
        pad = 1e-12 * max(1.0, abs(lo))
        return np.array([lo - pad, lo + pad]), False
    if lo > 0 and hi / lo > 100:
        return np.geomspace(lo, hi, LEVELS), True
    return np.linspace(lo, hi, LEVELS), False


def tick_labels(values: Sequence[float], digits: int = 3) -> list[str]:
    """The values at the fewest significant digits, at least ``digits``, that tell them apart.

    A narrow box around a minimum has levels such as 0.0412031 and 0.0412036, which three digits
    both show as 0.0412.
    """
    for shown in range(digits, 18):  # 17 significant digits tell any two float64 values apart
        labels = [f"{value:.{shown}g}" for value in values]
        if len(set(labels)) == len(labels):
            break
    return labels


def _labels(landscape) -> tuple[str, str]:
    if landscape.kind == "exact":
        return f"w  ({landscape.names[0]})", f"b  ({landscape.names[1]})"
    return "alpha  (direction 1)", "beta  (direction 2)"


def contour(landscape, path: Path, *, title: str = "", every: int = 1) -> Path:
    """Filled contours of the loss with the path: a dot per recorded point (one every ``every``
    updates), start and end marked, a few points numbered by their update."""
    from matplotlib.colors import LogNorm

    U, V = landscape.grid
    levels, log = _levels(landscape.loss)
    fig, ax = new_figure(size=(7.0, 5.6))
    shown = np.where(np.isfinite(landscape.loss), landscape.loss, np.nan)
    low, high = EXTENSION_LIMITS[log]
    # the levels cover every finite value; the colorbar draws the extensions to scale, which
    # overflows for levels a few 1e-301 apart (huber with delta 1e-300): no extensions then
    room = low < levels[0] and levels[-1] < high and (high - low) / float(levels[-1] - levels[0]) < 1e300
    extend = "both" if room else "neither"
    filled = ax.contourf(U, V, shown, levels=levels, cmap="viridis", norm=LogNorm(levels[0], levels[-1]) if log
                         else None, extend=extend)
    ax.contour(U, V, shown, levels=levels, colors="white", linewidths=0.4, alpha=0.5)
    bar = fig.colorbar(filled, ax=ax, ticks=levels[::3])
    bar.ax.set_yticklabels(tick_labels(levels[::3]))
    bar.set_label("loss C" + (" (log-spaced levels)" if log else ""))
    _hatch_flat(ax, U, V, landscape.loss)
    p = landscape.path
    ok = np.all(np.isfinite(p), axis=1)
    if ok.sum() > 1:
        ax.plot(p[ok, 0], p[ok, 1], "-", color="white", linewidth=1.0, alpha=0.9)
        each = "one dot each" if every == 1 else f"a dot every {every} updates"
        ax.plot(p[ok, 0], p[ok, 1], ".", color="orangered", markersize=3.5,
                label=f"path: {ok.sum() - 1} recorded steps ({each})")
        _number_points(ax, p, ok, every)
    if ok.sum() == 1:  # no path recorded: one point, which is neither a start nor an end
        ax.plot(*p[ok][0], "*", color="gold", markeredgecolor="black", markersize=14, label="the weights (no path)")
    elif ok.any():
        first, last = np.flatnonzero(ok)[[0, -1]]
        ax.plot(*p[first], "o", color="white", markeredgecolor="black", markersize=8, label="start")
        ax.plot(*p[last], "*", color="gold", markeredgecolor="black", markersize=14, label="end")
    if ok.any():
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
    xlabel, ylabel = _labels(landscape)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title or "loss landscape",
           xlim=(landscape.u[0], landscape.u[-1]), ylim=(landscape.v[0], landscape.v[-1]))
    return save(fig, path)


def _hatch_flat(ax, U, V, loss, fraction: float = 0.2) -> None:
    """Hatch the plateau: where the surface is flat, |grad C| < ``fraction`` of its largest value on
    the grid (central differences over the grid spacing), and yet high, C above its median (a flat
    valley floor is the goal, not a plateau). Gradient descent crawls there."""
    with np.errstate(over="ignore", invalid="ignore"):  # a box spanning 1e298 (an exploded path) overflows
        dv, du = np.gradient(loss, V[:, 0], U[0, :])
        slope = np.hypot(du, dv)
    finite = np.isfinite(slope) & np.isfinite(loss)
    if not finite.any() or slope[finite].max() <= 0:
        return
    plateau = finite & (slope < fraction * slope[finite].max()) & (loss > np.median(loss[finite]))
    if 0 < plateau.mean() < 1:
        ax.contourf(U, V, plateau.astype(float), levels=[0.5, 1.5], colors="none", hatches=["..."])
        ax.contour(U, V, plateau.astype(float), levels=[0.5], colors="white", linewidths=1.2, linestyles="--")
        ax.plot([], [], "--", color="white", label=f"plateau (hatched): |grad C| < {fraction:.0%} of its max, "
                "C above its median")


def _number_points(ax, p: np.ndarray, ok: np.ndarray, every: int = 1, labels: int = 6) -> None:
    """Write the update number at a few evenly spaced interior points (point k is the parameters
    after k * ``every`` updates): bunched numbers = short steps."""
    index = np.flatnonzero(ok)
    for i in np.unique(np.linspace(0, len(index) - 1, labels + 1).round().astype(int))[1:-1]:
        k = index[i]
        ax.annotate(str(k * every), p[k], textcoords="offset points", xytext=(6, -10), fontsize=7, color="white",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "black", "alpha": 0.5, "lw": 0})


def surface(landscape, path: Path, *, title: str = "") -> Path:
    """The loss as a 3-D surface with the path on it.

    The exact surface is drawn as it is, so a plateau looks flat; a slice far from the minimum
    can rise by many decades, so it is drawn as log10 C when it spans more than four.
    """
    U, V = landscape.grid
    loss = landscape.loss
    finite = loss[np.isfinite(loss)]
    log = landscape.kind == "slice" and finite.min() > 0 and finite.max() / finite.min() > 1e4
    transform = np.log10 if log else (lambda x: x)
    fig, ax = new_figure(size=(7.0, 5.6), subplot_kw={"projection": "3d"})
    Z = transform(np.where(np.isfinite(loss), loss, np.nan))
    ax.plot_surface(U, V, Z, cmap="viridis", linewidth=0, antialiased=True, alpha=0.85,
                    rcount=min(80, len(landscape.v)), ccount=min(80, len(landscape.u)))
    on_surface = landscape.path_loss if landscape.plane_loss is None else landscape.plane_loss
    p = landscape.path
    ok = np.all(np.isfinite(p), axis=1) & np.isfinite(on_surface)
    inside = ok & (p[:, 0] >= landscape.u[0]) & (p[:, 0] <= landscape.u[-1]) \
        & (p[:, 1] >= landscape.v[0]) & (p[:, 1] <= landscape.v[-1])
    if inside.any():
        ax.plot(p[inside, 0], p[inside, 1], transform(on_surface[inside]), ".-", color="orangered",
                markersize=2.5, linewidth=1.0, zorder=10)
    xlabel, ylabel = _labels(landscape)
    ax.set(xlabel=xlabel.split()[0], ylabel=ylabel.split()[0], zlabel="log10 C" if log else "C",
           title=title or "loss surface")
    ax.view_init(elev=32, azim=-125)
    return save(fig, path)


def interpolation(ts: np.ndarray, losses: np.ndarray, path: Path, *, title: str = "") -> Path:
    """C((1 - t) theta_0 + t theta*) against t, the initial (t = 0) and final (t = 1) marked."""
    fig, ax = new_figure()
    finite = losses[np.isfinite(losses)]
    decades = finite.size and finite.min() > 0 and finite.max() > 100 * finite.min()
    # matplotlib's log axis overflows (its margins and ticks pass 1e308) for values far beyond
    # +-1e150 decades, as a diverged run's 1e301: those are drawn as log10 C on a linear axis
    as_log10 = decades and not fits_log_axis(finite)
    shown = np.log10(losses, where=losses > 0, out=np.full(losses.shape, np.nan)) if as_log10 else losses
    ax.plot(ts, shown, "-", color="tab:blue")
    for t, label, marker in ((0.0, "initial (t = 0)", "o"), (1.0, "final (t = 1)", "*")):
        ax.plot([t], [np.interp(t, ts, shown)], marker, markersize=10, label=label, color="tab:red")
    if decades and not as_log10:
        ax.set_yscale("log")
    ax.set(xlabel="t", ylabel="log10 C" if as_log10 else "loss C",
           title=title or "1-D interpolation from initial to final parameters")
    ax.grid(alpha=0.3)
    ax.legend()
    write_columns(Path(path).with_suffix(".csv"), {"t": ts, "loss": losses})
    return save(fig, path)


def write_grid(landscape, path: Path) -> Path:
    """The grid as long-format CSV: one row per point, columns (w, b, loss) or (alpha, beta, loss)."""
    U, V = landscape.grid
    a, b = landscape.axes
    return write_columns(path, {a: U.ravel(), b: V.ravel(), "loss": landscape.loss.ravel()})


def write_path(landscape, path: Path) -> Path:
    """The path as CSV: the point number (point i = after i updates, or i k with path_every = k; the
    last point is the end of training), its plane coordinates and the loss there (for a slice also
    the loss at the projected point, what the contour shows under the path)."""
    a, b = landscape.axes
    p = landscape.path
    columns = {"point": np.arange(len(p)), a: p[:, 0], b: p[:, 1], "loss": landscape.path_loss}
    if landscape.plane_loss is not None:
        columns["plane_loss"] = landscape.plane_loss
    return write_columns(path, columns)
