"""Comparing two metrics files cell by cell: the first place where they disagree (what
``gradlab rerun`` checks a rerun with).
"""

from __future__ import annotations

import itertools
import operator
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gradlab.runs.reading import _metrics_stream, _padded

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
    difference: the columns, then row by row, then the number of rows (see :func:`compare_metrics_counted`).

    Raises
    ------
    InputError
        A file is not readable UTF-8 CSV (see :func:`gradlab.runs.reading.read_metrics_text`).
    """
    return compare_metrics_counted(first, second, ignore, names)[0]


def compare_metrics_counted(
    first: str | os.PathLike,
    second: str | os.PathLike,
    ignore: frozenset[str] | set[str] = TIMING_COLUMNS,
    names: tuple[str, str] = ("the original", "the rerun"),
) -> tuple[MetricsDifference | None, int]:
    """:func:`compare_metrics`, and the number of rows the second file has (all of them compared
    when the difference is None), walking both files row by row rather than holding their rows.

    A column empty in every row holds nothing to compare: a regression run written before its
    metrics.csv lost the accuracy columns it could never fill still reruns equal. Whether a column is
    empty throughout is known only at the end, so the first differing row of each column is kept,
    and the columns that turn out compared decide which of them is the first difference.

    Raises
    ------
    InputError
        As :func:`compare_metrics`.
    """
    a, b = _MetricsStream(first, ignore), _MetricsStream(second, ignore)
    firsts = _first_differences(a, b)
    cols_a, cols_b = a.compared(), b.compared()
    if cols_a != cols_b:
        only_a = [c for c in cols_a if c not in cols_b]
        only_b = [c for c in cols_b if c not in cols_a]
        # a column named twice in one file (a hand edit) is in both, but not "in another order"
        more_a = [c for c in dict.fromkeys(cols_a) if 0 < cols_b.count(c) < cols_a.count(c)]
        more_b = [c for c in dict.fromkeys(cols_b) if 0 < cols_a.count(c) < cols_b.count(c)]
        detail = "; ".join(filter(None, (
            f"only in {names[0]}: {', '.join(only_a)}" if only_a else "",
            f"only in {names[1]}: {', '.join(only_b)}" if only_b else "",
            f"named more often in {names[0]}: {', '.join(more_a)}" if more_a else "",
            f"named more often in {names[1]}: {', '.join(more_b)}" if more_b else "",
        ))) or "same columns in another order"
        return MetricsDifference(f"the columns differ ({detail})"), b.count
    key = next((c for c in ("epoch", "step") if c in cols_a), None)
    differing = [(firsts[c][0], cols_a.index(c), c) for c in dict.fromkeys(cols_a) if c in firsts]
    if differing:
        number, _, column = min(differing)
        _, va, vb, ra = firsts[column]
        at = f" ({key} {ra[a.index[key]] or '(empty)'})" if key else ""  # ra is padded by take()
        return MetricsDifference(f"row {number}{at}, column {column}: {va or '(empty)'} in {names[0]}, "
                                 f"{vb or '(empty)'} in {names[1]}", number, column, va, vb), b.count
    if a.count != b.count:
        return MetricsDifference(f"{names[0]} has {a.count} rows, {names[1]} {b.count}: they agree on the "
                                 f"first {min(a.count, b.count)}", min(a.count, b.count) + 1), b.count
    return None, b.count


class _MetricsStream:
    """One metrics file read row by row: its columns, its rows counted, and which of the columns
    that are compared have held a value so far."""

    def __init__(self, path: str | os.PathLike, ignore: frozenset[str] | set[str]):
        self.rows = _metrics_stream(path)
        header = next(self.rows, [])
        self.candidates = [c for c in header if c not in ignore]  # as written, a repeated name twice
        self.index = {c: header.index(c) for c in self.candidates}  # a repeated name: its first cell
        self.width = max(self.index.values(), default=-1) + 1
        self.unfilled = dict(self.index)  # the columns no row has given a value yet
        self.count = 0

    def take(self, row: list[str]) -> list[str]:
        """A row, counted, its missing cells empty (a short, hand-edited row), as read."""
        self.count += 1
        if len(row) < self.width:  # the check inline: a call per row costs 7% here
            row = _padded(row, self.width)
        if self.unfilled:
            for column, index in list(self.unfilled.items()):
                if row[index]:
                    del self.unfilled[column]
        return row

    def compared(self) -> list[str]:
        """The columns compared, once every row is read: those not ignored and not empty in every
        row (all of them when there are no rows)."""
        return [c for c in self.candidates if c not in self.unfilled or not self.count]


def _first_differences(a: _MetricsStream, b: _MetricsStream) -> dict[str, tuple[int, str, str, list[str]]]:
    """Every row of both files read (so a damaged one is found wherever it is), and for each column
    both have, the first row where its cells differ: the row's number, the two cells and the row of ``a``."""
    common = [(c, a.index[c], b.index[c]) for c in a.index if c in b.index]
    firsts: dict[str, tuple[int, str, str, list[str]]] = {}
    pick_a, pick_b = _cells(col[1] for col in common), _cells(col[2] for col in common)
    for number, (ra, rb) in enumerate(itertools.zip_longest(a.rows, b.rows), start=1):
        ra = ra if ra is None else a.take(ra)
        rb = rb if rb is None else b.take(rb)
        if ra is None or rb is None or pick_a(ra) == pick_b(rb):  # the usual case, tested in C
            continue
        firsts.update((c, (number, ra[ia], rb[ib], ra)) for c, ia, ib in common if ra[ia] != rb[ib])
        common = [col for col in common if col[0] not in firsts]  # later differences in them are no first
        pick_a, pick_b = _cells(col[1] for col in common), _cells(col[2] for col in common)
    return firsts


def _cells(indexes: Iterable[int]) -> Callable[[list[str]], Any]:
    """A function giving a row's cells at ``indexes`` (all of them in range), picked in C."""
    indexes = list(indexes)
    return operator.itemgetter(*indexes) if indexes else lambda row: ()
