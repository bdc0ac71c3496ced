"""The heatmap of a two-key sweep: the mean metric over seeds per grid point.

The colours of a metric with natural ends (accuracy: 0 and 1) are fixed to those ends. Stretched
to the values seen, as matplotlib does by default, any spread fills the whole scale from dark to
bright: one test sample in 100 (0.99 against 1) looked like the best point against the worst. On
a fixed scale a difference in colour is a difference in accuracy the eye can weigh, and two
sweeps' heatmaps compare. A loss or R^2 has no such ends; its colours span the values of this
sweep, and the colour bar's label gives that span in numbers, so a narrow one is seen as narrow.
When lower is better (a loss, a gradient norm) and the values are all positive and span more than
two decades, the rule by which ``gradlab compare`` picks a log axis (:func:`gradlab.plots.spans_decades`),
the scale is logarithmic and the label says so: on a linear one a single 201 among losses of 0.02 to
0.7 gave 11 of 12 cells one colour. An R^2 stays linear: 0.0017 to 0.28 is four cells of no skill, which
a log scale coloured as far apart as good fits are.

A cell's colour is a mean over the runs that have a value; a cell whose mean is over fewer runs
than the grid point has (two of four seeds diverged) is hatched and says so ("2 of 4 runs"): drawn
like the others, a mean of the two survivors read as one of four. A cell with no value says how
its runs ended ("4 diverged") rather than nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradlab.plots import new_figure, save, spans_decades, write_columns


def heatmap(table: dict[str, Any], metric: str, higher_is_better: bool, path: Path) -> list[Path]:
    """Draw :func:`heatmap_figure` to ``path`` and write ``path.csv`` (long format: key1, key2,
    mean, sd, n; a mean no run measured, and the sd of fewer than two, are empty cells, as in
    results.csv); the paths written."""
    rows_key, cols_key = table["keys"]
    flat_rows = [r for r in table["rows"] for _ in table["columns"]]
    flat_cols = [c for _ in table["rows"] for c in table["columns"]]
    csv_path = write_columns(Path(path).with_suffix(".csv"), {
        rows_key: flat_rows, cols_key: flat_cols,
        "mean": [v for row in table["mean"] for v in row],
        "sd": [v for row in table["sd"] for v in row],
        "n": [v for row in table["n"] for v in row],
    })
    return [save(heatmap_figure(table, metric, higher_is_better), path), csv_path]


def heatmap_figure(table: dict[str, Any], metric: str, higher_is_better: bool):
    """Rows: the first grid key's values, columns: the second's; each cell says :func:`cell_labels`.
    The colour map runs so that better is always brighter, over the metric's ``bounds`` when it
    has them (see the module docstring); a cell over fewer runs than its grid point has is hatched."""
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.patches import Rectangle

    rows_key, cols_key = table["keys"]
    mean = np.array([[np.nan if v is None else v for v in row] for row in table["mean"]], dtype=float)
    fig, ax = new_figure(size=(1.6 + 1.3 * len(table["columns"]), 1.4 + 0.7 * len(table["rows"])))
    finite = mean[np.isfinite(mean)]
    # no natural ends: the colours stretch over what this sweep measured, and the label says so
    span = (float(finite.min()), float(finite.max())) if table["bounds"] is None and finite.size else None
    low, high = table["bounds"] or span or (0.0, 1.0)
    if low == high:  # one value: matplotlib centres a bar of width 0.2 on it, and a gradient norm of 0 read -0.1
        high = low + (abs(low) or 1.0)
    # a loss or gradient norm, lower is better and 0 its floor; never an R^2, whose 0 means no skill, not
    # nothing left, and whose scale would turn linear at the first cell below 0
    log = span is not None and not higher_is_better and low > 0 and spans_decades(finite)
    image = ax.imshow(np.ma.masked_invalid(mean), cmap="viridis" if higher_is_better else "viridis_r",
                      aspect="auto", norm=(LogNorm if log else Normalize)(vmin=low, vmax=high))
    labels = cell_labels(table)
    partial = [(i, j) for i, row in enumerate(table["n"]) for j, n in enumerate(row) if 0 < n < table["total"][i][j]]
    fig.colorbar(image, ax=ax, label=_scale_label(metric, table["seeds"], span, partial=bool(partial), log=log))
    ax.set_xticks(range(len(table["columns"])), labels=table["columns"])
    ax.set_yticks(range(len(table["rows"])), labels=table["rows"])
    ax.set(xlabel=cols_key, ylabel=rows_key, title=f"{metric}: {'higher' if higher_is_better else 'lower'} is better")
    for i, j in partial:
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", edgecolor="0.5", linewidth=0))
    for i in range(mean.shape[0]):
        for j in range(mean.shape[1]):
            if not np.isfinite(mean[i, j]):
                ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=8, color="gray")
                continue
            bright = (image.norm(mean[i, j]) > 0.5) == higher_is_better  # viridis is bright at its top end
            ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=9, color="black" if bright else "white")
    return fig


def cell_labels(table: dict[str, Any]) -> list[list[str]]:
    """Each cell's text, row by row: its mean (``+- sd`` below it when there are several runs), then
    ``n of total runs`` when the mean is over fewer runs than the grid point has; without a mean
    ``no mean`` and how the runs ended, one line each (``4 diverged``)."""
    labels = []
    for means, sds, ns, totals, others in zip(table["mean"], table["sd"], table["n"], table["total"], table["others"]):
        row = []
        for mean, sd, n, total, other in zip(means, sds, ns, totals, others):
            if mean is None:
                row.append("\n".join(["no mean", *other]))
                continue
            lines = [f"{mean:.3g}", *([f"± {sd:.2g}"] if sd is not None else []),
                     *([f"{n} of {total} runs"] if n < total else [])]
            row.append("\n".join(lines))
        labels.append(row)
    return labels


def _scale_label(metric: str, seeds: int, span: tuple[float, float] | None, partial: bool = False,
                 log: bool = False) -> str:
    """The colour bar's label: the metric, 'mean over N seeds' only when there are several (and that
    hatched cells are over fewer when some cells are ``partial``), and the span of a scale
    stretched to this sweep's values (``span``), which is logarithmic when ``log``."""
    label = metric + (f" (mean over {seeds} seeds)" if seeds > 1 else "")
    if partial:  # a line of its own: the bar is as tall as two rows of cells
        label += "\nhatched: over fewer runs"
    if span is not None:  # with the cells' own 3 digits; short lines, or a bar two cells tall cuts them off
        label += f"\ncolours span this sweep's\n{span[0]:.3g} to {span[1]:.3g}" + (", log scale" if log else "")
    return label
