"""Comparing two metrics files cell by cell: the first place where they disagree (what
``gradlab rerun`` checks a rerun with).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gradlab.runs.reading import _csv_table

#: columns that measure time, not the computation: ignored when runs are compared
TIMING_COLUMNS = frozenset({"time_s"})


@dataclass
class MetricsDifference:
    """The first place where two metrics files disagree (rows counted from 1, after the header,
    blank lines not counted)."""

    message: str
    row: int | None = None
    column: str | None = None
    first: str | None = None
    second: str | None = None


def compare_metrics(
    first: str | os.PathLike,
    second: str | os.PathLike,
    ignore: frozenset[str] | set[str] = TIMING_COLUMNS,
    names: tuple[str, str] = ("the original", "the rerun"),
) -> MetricsDifference | None:
    """Compare two metrics CSV files cell by cell as written (exact: floats are written by repr).

    Returns None when they are identical apart from the ``ignore`` columns, else the first
    difference: the columns, then row by row, then the number of rows.

    Raises
    ------
    InputError
        A file is not readable UTF-8 CSV (see :func:`gradlab.runs.reading.read_metrics_text`).
    """
    head_a, *rows_a = _csv_table(first) or [[]]
    head_b, *rows_b = _csv_table(second) or [[]]
    # a column empty in every row holds nothing to compare: a regression run written before
    # its metrics.csv lost the accuracy columns it could never fill still reruns equal
    cols_a = [c for c in head_a if c not in ignore and not _empty(rows_a, head_a.index(c))]
    cols_b = [c for c in head_b if c not in ignore and not _empty(rows_b, head_b.index(c))]
    if cols_a != cols_b:
        only_a = [c for c in cols_a if c not in cols_b]
        only_b = [c for c in cols_b if c not in cols_a]
        detail = "; ".join(filter(None, (
            f"only in {names[0]}: {', '.join(only_a)}" if only_a else "",
            f"only in {names[1]}: {', '.join(only_b)}" if only_b else "",
        ))) or "same columns in another order"
        return MetricsDifference(f"the columns differ ({detail})")
    index_a = [head_a.index(c) for c in cols_a]
    index_b = [head_b.index(c) for c in cols_b]
    key = next((c for c in ("epoch", "step") if c in cols_a), None)
    for number, (ra, rb) in enumerate(zip(rows_a, rows_b), start=1):
        for column, ia, ib in zip(cols_a, index_a, index_b):
            va, vb = _cell_at(ra, ia), _cell_at(rb, ib)
            if va != vb:
                at = f" ({key} {_cell_at(ra, head_a.index(key)) or '(empty)'})" if key else ""
                return MetricsDifference(f"row {number}{at}, column {column}: {va or '(empty)'} in {names[0]}, "
                                         f"{vb or '(empty)'} in {names[1]}", number, column, va, vb)
    if len(rows_a) != len(rows_b):
        return MetricsDifference(f"{names[0]} has {len(rows_a)} rows, {names[1]} {len(rows_b)}: they agree on the "
                                 f"first {min(len(rows_a), len(rows_b))}", min(len(rows_a), len(rows_b)) + 1)
    return None


def _empty(rows: list[list[str]], index: int) -> bool:
    """True when the column at ``index`` holds no value in any row (and there are rows)."""
    return bool(rows) and not any(_cell_at(row, index) for row in rows)


def _cell_at(row: list[str], index: int) -> str:
    """A row's cell, empty when a short (hand-edited) row stops before it, as csv.DictReader has it."""
    return row[index] if index < len(row) else ""
