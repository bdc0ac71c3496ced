"""Draw a :class:`gradlab.curves.Chart`: activations, derivatives, finite differences, losses.

The chart carries the numbers and the labels; this module only decides how they look.
Panels are stacked vertically. With several functions each has a colour
(``Series.group``) and each role a line style, so "tanh'" and "tanh' forward" read as
the same function; with one function the roles get the colours.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

from gradlab.plots import beyond_axis, drawable, new_figure, note_beyond_axis, thin

# How each role is drawn. The forward difference is a thin dotted line with dots, so the
# round-off noise of a tiny step shows as scattered points instead of a solid band.
STYLES: dict[str, dict[str, Any]] = {
    "value": {"linestyle": "-", "linewidth": 2.0},
    "derivative": {"linestyle": "--", "linewidth": 1.6},
    "gradient": {"linestyle": "-", "linewidth": 1.8},
    "forward": {"linestyle": ":", "linewidth": 0.8, "marker": ".", "markersize": 2.5, "alpha": 0.8},
    "central": {"linestyle": "-.", "linewidth": 1.0, "alpha": 0.9},
}

ROLE_COLOURS = {"value": "C0", "derivative": "C1", "gradient": "C0", "forward": "C3", "central": "C2"}

PANEL_HEIGHT = 3.8  # inches per panel
WIDTH = 7.5  # inches, without a legend beside the axes
#: a legend with more entries than this goes beside the axes instead of over the curves
LEGEND_INSIDE = 8
#: legend rows that fit beside one panel (fontsize 8 is about 0.18 inch a row), and the width of a column
LEGEND_ROWS = int(PANEL_HEIGHT / 0.18)
LEGEND_COLUMN_WIDTH = 2.0
TITLE_CHARACTERS = 80  # a longer title (every function's name) is wrapped onto more lines


def draw(chart):
    """A Figure (Agg canvas) with one axes per panel of ``chart``."""
    n = len(chart.panels)
    columns = max(_legend_columns(panel) for panel in chart.panels)
    fig, axes = new_figure(n, 1, size=(WIDTH + columns * LEGEND_COLUMN_WIDTH, PANEL_HEIGHT * n + 0.4))
    axes = [axes] if n == 1 else list(axes)
    by_role = len({s.group for panel in chart.panels for s in panel.series}) == 1
    for ax, panel in zip(axes, chart.panels):
        _draw_panel(ax, panel, chart.columns, by_role)
        _legend(ax, _legend_columns(panel))
    return fig


def _legend_columns(panel) -> int:
    """0 when the panel's legend fits over its curves, else how many columns it needs beside them:
    ten functions with their derivatives and both differences make 40 entries, which would cover
    the axes (and leave constrained layout no room)."""
    entries = len(panel.series) + sum(1 for *_, label in panel.spans if label)
    return 0 if entries <= LEGEND_INSIDE else math.ceil(entries / LEGEND_ROWS)


def _legend(ax, columns: int) -> None:
    if not columns:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncols=columns, borderaxespad=0.0)


def _colour(series, by_role: bool) -> str:
    if by_role:
        return ROLE_COLOURS.get(series.role, "C0")
    return f"C{series.group % 10}"


def _draw_panel(ax, panel, columns, by_role: bool) -> None:
    x = columns[panel.x]
    yscale = panel.yscale
    if yscale == "log" and not any((drawable(columns[s.column], "log") > 0).any() for s in panel.series):
        # nothing a log axis can show: every error exactly 0 (the step function's), or below LOG_AXIS[0]
        # (sigmoid's on [350, 400], where f' is 1e-153 and less)
        yscale = "linear"
    for a, b, label in panel.spans:
        ax.axvspan(a, b, color="0.85", alpha=0.6, label=label or None, zorder=0)
    for series in panel.series:  # elu:alpha=1e300's error of 1e293 would overflow a log axis's margins
        ax.plot(*thin(x, drawable(columns[series.column], yscale)), label=series.label,
                color=_colour(series, by_role), **STYLES.get(series.role, {}))
    note_beyond_axis(ax, sum(int(beyond_axis(columns[s.column], yscale).sum()) for s in panel.series), yscale)
    for position, label in panel.marks:
        ax.axvline(position, color="0.4", linestyle=(0, (4, 3)), linewidth=1.0)
        ax.annotate(label, (position, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -3),
                    textcoords="offset points", va="top", fontsize=7, color="0.3", rotation=90)
    ax.set_xscale(panel.xscale)
    if yscale == "symlog":
        ax.set_yscale("symlog", linthresh=1.0)  # linear within +-1, logarithmic beyond: -1/p and p - y both readable
    else:
        ax.set_yscale(yscale)
    if yscale != "log":  # the zero line: where a derivative or gradient stops pushing
        ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=0)
    ax.set(title=textwrap.fill(panel.title, TITLE_CHARACTERS), xlabel=panel.xlabel, ylabel=panel.ylabel)
    ax.grid(True, which="major", alpha=0.3)
