"""The heatmap of a two-key sweep: the mean metric over seeds per grid point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gradlab.plots import new_figure, save, write_columns


def heatmap(table: dict[str, Any], metric: str, higher_is_better: bool, path: Path) -> list[Path]:
    """Rows: the first grid key's values, columns: the second's; each cell its mean (and
    +- sd when there are several seeds). The colour map runs so that better is always
    brighter. Writes ``path`` and ``path.csv`` (long format: key1, key2, mean, sd, n)."""
    rows_key, cols_key = table["keys"]
    mean = np.array([[np.nan if v is None else v for v in row] for row in table["mean"]], dtype=float)
    sd = table["sd"]
    fig, ax = new_figure(size=(1.6 + 1.3 * len(table["columns"]), 1.4 + 0.7 * len(table["rows"])))
    cmap = "viridis" if higher_is_better else "viridis_r"
    image = ax.imshow(np.ma.masked_invalid(mean), cmap=cmap, aspect="auto")
    fig.colorbar(image, ax=ax, label=f"{metric} (mean over seeds)")
    ax.set_xticks(range(len(table["columns"])), labels=table["columns"])
    ax.set_yticks(range(len(table["rows"])), labels=table["rows"])
    ax.set(xlabel=cols_key, ylabel=rows_key, title=f"{metric}: {'higher' if higher_is_better else 'lower'} is better")
    finite = mean[np.isfinite(mean)]
    middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
    for i in range(mean.shape[0]):
        for j in range(mean.shape[1]):
            if not np.isfinite(mean[i, j]):
                ax.text(j, i, "no run\ncompleted", ha="center", va="center", fontsize=8, color="gray")
                continue
            text = f"{mean[i, j]:.3g}" + (f"\n± {sd[i][j]:.2g}" if sd[i][j] is not None else "")
            bright = (mean[i, j] > middle) == higher_is_better  # viridis is bright at its top end
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="black" if bright else "white")
    flat_rows = [r for r in table["rows"] for _ in table["columns"]]
    flat_cols = [c for _ in table["rows"] for c in table["columns"]]
    csv_path = write_columns(Path(path).with_suffix(".csv"), {
        rows_key: flat_rows, cols_key: flat_cols,
        "mean": [np.nan if v is None else v for row in table["mean"] for v in row],
        "sd": [np.nan if v is None else v for row in table["sd"] for v in row],
        "n": [v for row in table["n"] for v in row],
    })
    return [save(fig, path), csv_path]
