"""All of gradlab's matplotlib, one module per topic, imported only by the commands that plot.

Figures are built with ``matplotlib.figure.Figure`` directly (the Agg canvas, no pyplot
state), so saving works without a display and in worker processes. Only
:func:`show` touches pyplot, and only when a display is there. Every PNG is written
next to a CSV of the numbers it shows (:func:`write_columns`).
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DPI = 120
#: The largest size a plotted value may have: matplotlib computes an axis from hi - lo (and a
#: margin on it), which overflows to inf beyond this and fails (LinAlgError: Singular matrix).
DRAWABLE = 1e300


def new_figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] = (7.0, 4.5), **kwargs: Any):
    """A figure and its axes on the Agg canvas: ``fig, ax = new_figure()``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, **kwargs)
    return fig, axes


def finish_axes(ax, empty: str, **legend: Any) -> None:
    """A legend when something labelled was drawn; else the reason the axes is empty, written on
    it (matplotlib would warn 'No artists with labels' and leave a bare frame)."""
    drawn = ax.collections or any(np.isfinite(np.asarray(line.get_ydata(), dtype=float)).any() for line in ax.lines)
    if not drawn:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", fontsize="small", color="0.4")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**legend)


def save(fig, path: str | os.PathLike) -> Path:
    """Write the figure as PNG and return the path.

    The PNG is written whole or not at all (:func:`gradlab.runs.atomic_file`): Ctrl-C, SIGTERM
    or a full disk while matplotlib writes it leaves the previous file, or none, never a cut one.

    Raises
    ------
    RunFailure
        The file cannot be written: ``cannot write <path>: <strerror>``.
    """
    from gradlab.runs import atomic_file

    path = Path(path)
    with atomic_file(path, binary=True) as handle:
        # a file object has no suffix to infer the format from, and the temporary name ends in .tmp
        fig.savefig(handle, format="png", dpi=DPI)
    return path


#: rows formatted at a time by :func:`write_columns`
_ROWS_AT_ONCE = 65_536


def write_columns(path: str | os.PathLike, columns: Mapping[str, Sequence[float] | np.ndarray]) -> Path:
    """Write equal-length columns as a CSV with a header (floats at full precision).

    The file is written whole or not at all (:func:`gradlab.runs.atomic_file`): a full disk
    leaves no half-written table for a script to read.

    Raises
    ------
    RunFailure
        The file cannot be written: ``cannot write <path>: <strerror>``.
    """
    from gradlab.runs import atomic_file

    path = Path(path)
    names = list(columns)
    data = [np.asarray(columns[n]).ravel() for n in names]
    lengths = {len(d) for d in data}
    if len(lengths) > 1:
        raise ValueError(f"columns of unequal length: {dict(zip(names, map(len, data)))}")
    # repr is the shortest text that reads back to the same float; one column at a time (a per-cell
    # type test cost as much as the formatting), and in blocks of rows, so that the text of a
    # million-point grid (19 columns: 1.9 GB) is never held at once
    n = len(data[0]) if data else 0
    with atomic_file(path) as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for start in range(0, n, _ROWS_AT_ONCE):
            block = [d[start:start + _ROWS_AT_ONCE] for d in data]
            writer.writerows(zip(*(list(map(repr, b.tolist())) if b.dtype.kind == "f" else b.tolist()
                                   for b in block)))
    return path


#: a curve of more points than this is drawn through each bin's lowest and highest point (the CSV keeps all)
DRAWN_BINS = 2000


def thin(x: np.ndarray, y: np.ndarray, bins: int = DRAWN_BINS) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` as drawn: unchanged up to ``4 bins`` points, else the lowest and the highest point
    of each of ``bins`` runs of consecutive points, in order, and nan for a run that is all nan (a
    gap stays a gap). A PNG some 900 pixels wide cannot show more, and a million-point curve with
    markers took matplotlib 0.55 s to draw, eighteen of them 18 s."""
    n = len(y)
    if n <= 4 * bins:
        return x, y
    per = n // bins
    runs = y[: bins * per].reshape(bins, per)
    missing = np.isnan(runs)
    low = np.argmin(np.where(missing, np.inf, runs), axis=1)
    high = np.argmax(np.where(missing, -np.inf, runs), axis=1)
    offsets = np.sort(np.stack([low, high], axis=1), axis=1) + per * np.arange(bins)[:, None]
    index = np.concatenate([offsets.ravel(), np.arange(bins * per, n)])
    ys = y[index].astype(float, copy=True)
    ys[: 2 * bins][np.repeat(missing.all(axis=1), 2)] = np.nan
    return x[index], ys


#: The values a log axis can show: matplotlib's log ticks and margins overflow (RuntimeWarning,
#: then OverflowError) when the values span about 260 decades or more, e.g. 1 to 1e270.
LOG_AXIS = (1e-150, 1e150)


def fits_log_axis(values: Sequence[float] | np.ndarray) -> bool:
    """True when every positive finite value lies within :data:`LOG_AXIS` (there are some)."""
    values = np.asarray(values, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    return bool(positive.size) and LOG_AXIS[0] <= positive.min() and positive.max() <= LOG_AXIS[1]


def spans_decades(values: Sequence[float] | np.ndarray, decades: float = 2.0) -> bool:
    """True when the positive finite values span more than ``decades`` powers of ten, the
    point where a log axis shows more than a linear one, and a log axis can draw them
    (:func:`fits_log_axis`; a diverged run's 1e280 is drawn on a linear axis)."""
    values = np.asarray(values, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    return fits_log_axis(positive) and positive.max() / positive.min() > 10.0 ** decades


def beyond_axis(values: Sequence[float] | np.ndarray, scale: str = "linear") -> np.ndarray:
    """Which finite values an axis of ``scale`` cannot show: beyond :data:`DRAWABLE` in size on a
    linear axis, outside :data:`LOG_AXIS` on a log one (when > 0; a log axis shows no value <= 0),
    beyond ``LOG_AXIS[1]`` in size on a symlog one (its ticks and margins overflow as a log axis's do)."""
    values = np.asarray(values, dtype=float)
    size = np.abs(values)
    with np.errstate(invalid="ignore"):
        if scale == "log":
            return (values > 0) & ((values < LOG_AXIS[0]) | (values > LOG_AXIS[1])) & np.isfinite(values)
        return np.isfinite(values) & (size > (LOG_AXIS[1] if scale == "symlog" else DRAWABLE))


def drawable(values: Sequence[float] | np.ndarray, scale: str = "linear") -> np.ndarray:
    """``values`` as floats with those :func:`beyond_axis` (and inf) turned into nan: gaps in a line
    instead of an overflow in matplotlib's limits and ticks (f = 1e307 x^2, an error of 1e293 on a log axis)."""
    values = np.asarray(values, dtype=float)
    return np.where(beyond_axis(values, scale) | np.isinf(values), np.nan, values)


def note_beyond_axis(ax, count: int, scale: str = "linear") -> None:
    """Say in the axes' lower-left corner that ``count`` values were left out by :func:`drawable`
    (the CSV beside the PNG has them); nothing when none were."""
    if not count:
        return
    limit = f"outside [{LOG_AXIS[0]:g}, {LOG_AXIS[1]:g}]" if scale == "log" else \
        f"beyond {LOG_AXIS[1] if scale == 'symlog' else DRAWABLE:g} in size"
    ax.text(0.01, 0.01, f"not drawn: {count} value{'s' if count > 1 else ''} {limit} (the CSV has them)",
            transform=ax.transAxes, ha="left", va="bottom", fontsize="x-small", color="0.4")


def display_available() -> bool:
    """True when a window can be opened (an X/Wayland display, or macOS/Windows)."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


#: The largest window :func:`show` opens, in pixels (fits a 1440 x 900 laptop screen with a title bar).
MAX_WINDOW = (1400, 820)


def window_size(width: int, height: int) -> tuple[float, float]:
    """The figure size in inches (at :data:`DPI`) of a window showing a ``width`` x ``height``
    pixel image: its own size, shrunk to fit :data:`MAX_WINDOW` with the aspect ratio kept."""
    scale = min(1.0, MAX_WINDOW[0] / width, MAX_WINDOW[1] / height)
    return width * scale / DPI, height * scale / DPI


def show(paths: Sequence[str | os.PathLike]) -> bool:
    """Open saved PNGs in a window if a display is available; return whether it did.

    Each window is the PNG's size (shrunk to fit the screen), the image filling it: a
    default-sized figure would crop a 900 x 1416 loss plot to its lower-left corner.
    """
    if not display_available():
        return False
    import matplotlib
    import matplotlib.pyplot as plt

    if matplotlib.get_backend().lower() == "agg":
        return False
    for path in paths:
        image = plt.imread(os.fspath(path))
        fig = plt.figure(figsize=window_size(image.shape[1], image.shape[0]), dpi=DPI)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.imshow(image)
        ax.set_axis_off()
    plt.show()
    return True
