"""Reading a CSV file with a header row into :class:`~gradlab.datasets.sources.Raw`
(:func:`read_csv`, shared by the ``csv`` source and ``gradlab predict``), with messages that
name the file, line and column of a bad cell."""

from __future__ import annotations

import contextlib
import csv
import gc
import math
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from gradlab.datasets.checks import _suggest
from gradlab.datasets.sources import Raw
from gradlab.errors import InputError
from gradlab.registry import NUMBER_TEXT


#: the delimiters a CSV is commonly written with, for the hint of :func:`_other_delimiter`
COMMON_DELIMITERS = (",", ";", "\t", "|")


def _other_delimiter(header: Sequence[str], delimiter: str, option: str) -> str:
    """A hint when the header read as one column holds a common delimiter other than ``delimiter``:
    a comma-separated file read at ';' has the single column 'a,b,target'."""
    others = [d for d in COMMON_DELIMITERS if d != delimiter and len(header) == 1 and d in header[0]]
    return f" (one column: the file seems to be separated by {others[0]!r}, not {delimiter!r}; see {option})" \
        if others else ""


def _check_quotes_closed(path, delimiter: str, row: list[str], start: int, field: str) -> None:
    """Refuse a quote left open: the lenient reader makes the rest of the file one cell of the
    row it opened in (a class label of many lines, and the rows after it gone).

    Only a row with a line break in a cell can be that row, so only then is the file read again
    by the strict reader, whose one complaint at the end of the data says so. (Everywhere else
    the lenient reader is kept: it reads ``"cat" ,1``, which the strict one refuses.)
    """
    if not any("\n" in cell or "\r" in cell for cell in row):
        return
    with open(path, newline="", encoding="utf-8-sig") as handle:
        try:
            for _ in csv.reader(handle, delimiter=delimiter, strict=True):
                pass
        except csv.Error as error:
            if str(error) == "unexpected end of data":
                raise InputError(f"{field}: '{path}' is not valid CSV: the quote opened on line {start} is never "
                                 "closed") from None


#: how many data rows are held as text at a time: their numbers are converted chunk by chunk, so
#: that the text of the whole file (Python strings, ~15x its bytes) is never held at once
CHUNK_ROWS = 65_536


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a file is read, and restore it after.

    A large CSV is read as one small list of strings per row, which can form no reference
    cycle; but every 700 container objects made, the collector walks the youngest ones, and
    now and then all the rows held so far. Paused, 1,000,000 rows x 6 columns read in 2.60 s
    instead of 3.15 s (``benchmarks/csv_read.py``, 2026-12-07). Nothing is left uncollected:
    the collector runs as usual once reading ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _picker(columns: Sequence[int]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """A C-speed function picking a row's cells in ``columns``, always as a tuple (an
    ``itemgetter`` of one index gives the cell itself, which would be iterated as characters)."""
    if len(columns) == 1:
        return operator.itemgetter(slice(columns[0], columns[0] + 1))
    return operator.itemgetter(*columns)


def _loose_numbers(cells: Sequence[Sequence[str]]) -> bool:
    """Whether a cell may hold what float() reads but :data:`NUMBER_TEXT` refuses: an underscore or a
    character beyond ASCII. One C-speed test over all the cells joined, so a large file pays nothing
    per cell."""
    text = "".join(chain.from_iterable(cells))
    return "_" in text or not text.isascii()


def _first_bad_number(cells: Sequence[Sequence[str]], columns: list[str], lines: list[int], file: str,
                      field: str) -> InputError:
    """Locate the cell that stopped the bulk conversion (or that :func:`_loose_numbers` flagged),
    for a message a person can act on; ``field`` names the file (see :func:`read_csv`)."""
    for row, line in zip(cells, lines):
        for text, column in zip(row, columns):
            if not NUMBER_TEXT.fullmatch(text):
                what = "an empty value" if not text.strip() else f"{text.strip()!r}, which is not a number"
                if NUMBER_TEXT.fullmatch(text.replace(",", ".", 1)):  # a spreadsheet's decimal comma: 0,126
                    what += " (a decimal comma? write numbers with a point: 0.5, not 0,5)"
                return InputError(f"{field}: '{file}' line {line}, column {column!r}: {what}")
            value = float(text)
            if not math.isfinite(value):
                return InputError(
                    f"{field}: '{file}' line {line}, column {column!r}: {text.strip()!r} is not a finite number"
                )
    return InputError(f"{field}: '{file}': could not read the numbers")  # pragma: no cover


def _finite_numbers(cells: Sequence[Sequence[str]], columns: list[str], lines: list[int], file: str,
                    field: str) -> np.ndarray:
    """The cells as float64 in one bulk conversion, or the :func:`_first_bad_number` error for the
    first cell that is not a finite number written plainly."""
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        raise _first_bad_number(cells, columns, lines, file, field) from None
    if not np.isfinite(values).all() or _loose_numbers(cells):
        raise _first_bad_number(cells, columns, lines, file, field)
    return values


def _data_chunks(path: str | Path, delimiter: str, named: Mapping[str, str], file: str
                 ) -> Iterator[tuple[list[str] | None, list[list[str]], list[int]]]:
    """The header and the data rows of a CSV file, ``(header, rows, lines)`` for each chunk of at
    most :data:`CHUNK_ROWS` rows, ``lines`` the line each row ends on (a quoted cell may span lines).

    The last chunk may have no rows, and is yielded for every file, so that the caller always
    learns the header (None for a file of blank lines). A file that is not CSV, not UTF-8 text or
    has a row of the wrong length is refused when the reading meets it. ``named`` are the
    messages' names of the file and the delimiter (see :func:`read_csv`).
    """
    source = named["path"]
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header: list[str] | None = None
            rows: list[list[str]] = []
            lines: list[int] = []
            last: list[str] | None = None
            end = 0
            for row in reader:
                start, end = end + 1, reader.line_num  # a quoted cell may span lines
                if not "".join(row).strip():
                    continue  # blank lines carry nothing (one C-speed test: a generator per row cost more)
                if header is None:
                    header = [cell.strip() for cell in row]
                    continue
                if len(row) != len(header):
                    _check_quotes_closed(path, delimiter, row, start, source)
                    raise InputError(  # a ';' file with decimal commas: 'a;b' is one column, '0,1;0,2' three
                        f"{source}: '{file}' line {reader.line_num} has {len(row)} values but the header has "
                        f"{len(header)} columns{_other_delimiter(header, delimiter, named['delimiter'])}"
                    )
                rows.append(row)
                lines.append(reader.line_num)
                last = row
                if len(rows) == CHUNK_ROWS:
                    yield header, rows, lines
                    rows, lines = [], []
            if last is not None:
                _check_quotes_closed(path, delimiter, last, start, source)
            yield header, rows, lines
    except UnicodeDecodeError:
        raise InputError(f"{source}: '{file}' is not UTF-8 text") from None
    except csv.Error as error:
        raise InputError(f"{source}: '{file}' is not valid CSV: {error} (line {reader.line_num})") from None
    except OSError as error:
        raise InputError(f"{source}: cannot read '{file}': {error.strerror or error}") from None


def _check_header(header: list[str], file: str, source: str) -> None:
    """Refuse a header with a column without a name or a name given twice."""
    for j, name in enumerate(header):
        if not name:
            raise InputError(f"{source}: '{file}': column {j + 1} of the header has no name")
        if name in header[:j]:
            raise InputError(f"{source}: '{file}': the header names column {name!r} twice")


@dataclass
class _Columns:
    """Which columns of a file are read as what (see :func:`_columns`)."""

    feature_idx: list[int]
    feature_names: list[str]
    target_idx: list[int]
    targets: list[str]


def _columns(header: list[str], file: str, targets: list[str], features: Sequence[str] | None, delimiter: str,
             named: Mapping[str, str]) -> _Columns:
    """The feature and target columns of ``header``, or an error naming a column that is missing,
    a feature that is also the target, or a file with no feature column."""

    def index_of(field: str, column: str) -> int:
        if column not in header:
            misread = _other_delimiter(header, delimiter, named["delimiter"])  # then 'a,b,target' is no suggestion
            raise InputError(
                f"{named[field]}: column {column!r} not found in '{file}'{'' if misread else _suggest(column, header)}; "
                f"columns: {', '.join(header)}{misread}"
            )
        return header.index(column)

    target_idx = [index_of("target", column) for column in targets]
    if features is None:
        feature_idx = [j for j in range(len(header)) if j not in target_idx]
    else:
        feature_idx = [index_of("features", column) for column in features]
        overlap = sorted(set(feature_idx) & set(target_idx))
        if overlap:
            raise InputError(f"{named['features']}: column {header[overlap[0]]!r} is also the target")
    if not feature_idx:
        raise InputError(f"{named['path']}: '{file}' has no feature columns besides the target {', '.join(targets)}")
    return _Columns(feature_idx, [header[j] for j in feature_idx], target_idx, targets)


class _Conversion:
    """The numbers of a file's data rows, converted chunk by chunk (:meth:`add`), and :meth:`result`.

    A chunk's problem is not raised when met: the whole file is read first, so that a row of the
    wrong length anywhere is still reported before a bad value, and the problems are raised in
    the order the checks run over the whole file: a bad feature value, then an empty label, then
    a bad label. Only the first of each kind is kept, and once one is found nothing later in the
    file can come before it, so the work it makes pointless is skipped.

    A single label column is classes or regression targets by the whole column (integers, other
    numbers, text), so it is kept as text (a NumPy string array) until the end; a label that is a
    number but not a finite one is then located by reading the file again (:meth:`_non_finite_label`).
    """

    def __init__(self, columns: _Columns, task: str | None, path: str | Path, delimiter: str,
                 named: Mapping[str, str]) -> None:
        self.columns, self.task, self.path, self.delimiter, self.named = columns, task, path, delimiter, named
        self.file = str(path)
        self.regression = len(columns.targets) > 1 or task == "regression"
        self.pick_features = _picker(columns.feature_idx)
        self.features: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        self.loose_labels = False  # a class label with '_' or beyond ASCII: then all are names
        self.bad_feature: InputError | None = None
        self.empty_label: InputError | None = None
        self.bad_label: InputError | None = None  # the first regression target that is not a finite number

    def add(self, rows: list[list[str]], lines: list[int]) -> None:
        """Convert one chunk of rows, ``lines`` the line each ends on."""
        if self.bad_feature is not None:
            return  # nothing found later is reported before it
        try:
            self.features.append(_finite_numbers(list(map(self.pick_features, rows)), self.columns.feature_names,
                                                 lines, self.file, self.named["path"]))
        except InputError as error:
            self.bad_feature = error
            self.features.clear()
            self.labels.clear()
            return
        if self.columns.targets and self.empty_label is None:
            self._add_labels(rows, lines)

    def _add_labels(self, rows: list[list[str]], lines: list[int]) -> None:
        targets = self.columns.targets
        columns = [list(map(str.strip, map(operator.itemgetter(j), rows))) for j in self.columns.target_idx]
        if not all(map(all, columns)):
            for row, line in zip(zip(*columns), lines):
                for text, column in zip(row, targets):
                    if not text:
                        self.empty_label = InputError(
                            f"{self.named['target']}: '{self.file}' line {line}, column {column!r}: an empty label")
                        self.labels.clear()
                        return
        if self.regression:
            if self.bad_label is None:
                try:
                    self.labels.append(_finite_numbers(list(zip(*columns)), targets, lines, self.file,
                                                       self.named["path"]))
                except InputError as error:
                    self.bad_label = error
                    self.labels.clear()
            return
        self.labels.append(np.array(columns[0]))
        self.loose_labels = self.loose_labels or _loose_numbers(columns)

    def _non_finite_label(self, index: int) -> InputError:
        """The error for the class label of data row ``index``, a number but not a finite one.

        The file is read again to find its line: the rows' lines are kept only a chunk at a time,
        and this happens only for a file that is refused.
        """
        seen = 0
        for _, rows, lines in _data_chunks(self.path, self.delimiter, self.named, self.file):
            if index < seen + len(rows):
                k = index - seen
                labels = [(row[self.columns.target_idx[0]].strip(),) for row in rows[k:]]
                return _first_bad_number(labels, self.columns.targets, lines[k:], self.file, self.named["path"])
            seen += len(rows)
        raise AssertionError("the file changed while it was read")  # pragma: no cover

    def result(self) -> Raw:
        """The features and labels of the whole file, or the first problem met (see the class)."""
        for problem in (self.bad_feature, self.empty_label, self.bad_label):
            if problem is not None:
                raise problem
        X = np.concatenate(self.features)
        self.features.clear()
        targets = self.columns.targets
        meta: dict[str, Any] = {"feature_names": self.columns.feature_names, "task": self.task}
        if not targets:
            return Raw(X, np.empty((X.shape[0], 0)), meta)
        labels = np.concatenate(self.labels)
        self.labels.clear()
        if self.regression:
            meta.update(task="regression", target_names=targets)
            return Raw(X, labels, meta)
        meta["target_names"] = targets
        return Raw(X, self._class_labels(labels), meta)

    def _class_labels(self, text: np.ndarray) -> np.ndarray:
        """Integer labels, other numbers (regression targets) or names, by the whole column."""
        if self.loose_labels:  # '1_0' or '１' is a name, not the class 10 or 1, as for float() and int()
            return text
        try:
            return text.astype(np.int64)
        except (ValueError, OverflowError):
            pass
        try:
            y = text.astype(np.float64)
        except ValueError:
            return text  # names, not numbers
        finite = np.isfinite(y)
        if not finite.all():
            raise self._non_finite_label(int(np.argmin(finite)))
        return y


def read_csv(
    path: str | Path,
    *,
    target: str | Sequence[str] | None = "target",
    features: Sequence[str] | None = None,
    task: str | None = None,
    delimiter: str = ",",
    fields: Mapping[str, str] | None = None,
) -> Raw:
    """Read a CSV file with a header row into raw features and labels.

    Parameters
    ----------
    path : str or Path
        The file (already resolved).
    target : str, list of str or None
        The label column (several columns: a multi-output regression). None reads features only
        (``y`` then has zero columns), as for ``gradlab predict``.
    features : list of str or None
        The feature columns, in order; None means every column except the target(s).
    task : {"classification", "regression"} or None
        None infers it: integer or text labels are classes, other numbers regression targets.
    delimiter : str
    fields : mapping, optional
        What the messages call the file, the target and the features: by default the keys of a
        csv data source (``path``, ``target``, ``features``), which a config prefixes with
        ``data.``; ``gradlab predict`` names its argument instead (``{"path": "DATA", ...}``).

    Returns
    -------
    Raw
        ``X`` float64 (n, d); ``y`` int64 (integer labels), float64 (regression, (n, k)) or
        str (text labels), shape (n,).

    Raises
    ------
    InputError
        For an empty file, a missing column, a row of the wrong length, or a value that is not
        a finite number where one is needed; the message names the file, line and column.

    Notes
    -----
    The rows are read and converted :data:`CHUNK_ROWS` at a time, so a large file costs its
    float64 result and one chunk's text, not its text as Python strings (~15x its bytes). A
    problem is still reported as a reading of the whole file would: the file is read to its end
    first, and the problems are raised in the order of the checks (see :class:`_Conversion`).
    """
    file = str(path)
    named = {"path": "path", "target": "target", "features": "features", "delimiter": "delimiter", **(fields or {})}
    source = named["path"]
    targets = [] if target is None else [target] if isinstance(target, str) else list(target)
    header: list[str] | None = None
    conversion: _Conversion | None = None
    column_problem: InputError | None = None  # raised after the whole file is read, as the checks order it
    n_rows = 0
    with _collector_paused():
        for header, rows, lines in _data_chunks(path, delimiter, named, file):
            if header is not None and conversion is None and column_problem is None:
                try:
                    _check_header(header, file, source)
                    columns = _columns(header, file, targets, features, delimiter, named)
                    conversion = _Conversion(columns, task, path, delimiter, named)
                except InputError as problem:
                    column_problem = problem
            n_rows += len(rows)
            if conversion is not None and rows:
                conversion.add(rows, lines)

    if header is None:
        raise InputError(f"{source}: '{file}' is empty; a CSV needs a header row and at least one data row")
    _check_header(header, file, source)
    if not n_rows:
        raise InputError(f"{source}: '{file}' has a header but no data rows")
    if column_problem is not None:
        raise column_problem
    assert conversion is not None  # made with the header, which passed every check
    return conversion.result()
