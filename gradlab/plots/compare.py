"""Overlaid curves of several runs (``gradlab compare``), written with their numbers as CSV."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gradlab.plots import (beyond_axis, drawable, new_figure, note_beyond_axis, save, spans_decades, thin,
                           write_columns)


def overlay(comparison, path: Path, log: bool | None = None, title: str | None = None) -> list[Path]:
    """One line per run of ``comparison.metric`` against ``comparison.x``; ``log=None`` picks a
    log y axis when the values span more than two decades. Writes ``path`` and ``path.csv``."""
    path = Path(path)
    fig, ax = new_figure()
    values = np.concatenate([c.y for c in comparison.curves]) if comparison.curves else np.array([])
    use_log = spans_decades(values) if log is None else log
    scale = "log" if use_log else "linear"
    for curve in comparison.curves:
        ys = drawable(curve.y, scale)
        if use_log:
            ys[~(ys > 0)] = np.nan  # log axes cannot show <= 0
        marker = "." if len(curve.x) < 40 else None
        ax.plot(*thin(curve.x, ys), marker=marker, label=f"{curve.label} ({curve.status})"
                if curve.status not in ("completed", "unknown") else curve.label)
    if use_log:
        ax.set_yscale("log")
    ax.set(xlabel=comparison.x, ylabel=comparison.metric,
           title=title or f"{comparison.metric} per {comparison.x}, {len(comparison.curves)} runs")
    ax.grid(alpha=0.3, which="both" if use_log else "major")
    ax.legend()
    note_beyond_axis(ax, int(beyond_axis(values, scale).sum()), scale)
    csv_path = write_columns(path.with_suffix(".csv"), comparison.long_rows())
    return [save(fig, path), csv_path]
