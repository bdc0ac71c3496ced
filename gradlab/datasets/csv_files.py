"""Reading a CSV file with a header row into :class:`~gradlab.datasets.sources.Raw`
(:func:`read_csv`, shared by the ``csv`` source and ``gradlab predict``), with messages that
name the file, line and column of a bad cell."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
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


def _loose_numbers(cells: list[list[str]]) -> bool:
    """Whether a cell may hold what float() reads but :data:`NUMBER_TEXT` refuses: an underscore or a
    character beyond ASCII. One C-speed test per row, so a large file pays nothing per cell."""
    return any("_" in text or not text.isascii() for text in map("".join, cells))


def _first_bad_number(cells: list[list[str]], columns: list[str], lines: list[int], file: str,
                      field: str) -> InputError:
    """Locate the cell that stopped the bulk conversion (or that :func:`_loose_numbers` flagged),
    for a message a person can act on; ``field`` names the file (see :func:`read_csv`)."""
    for row, line in zip(cells, lines):
        for text, column in zip(row, columns):
            if not NUMBER_TEXT.fullmatch(text):
                what = "an empty value" if not text.strip() else f"{text.strip()!r}, which is not a number"
                return InputError(f"{field}: '{file}' line {line}, column {column!r}: {what}")
            value = float(text)
            if not math.isfinite(value):
                return InputError(
                    f"{field}: '{file}' line {line}, column {column!r}: {text.strip()!r} is not a finite number"
                )
    return InputError(f"{field}: '{file}': could not read the numbers")  # pragma: no cover


def _finite_numbers(cells: list[list[str]], columns: list[str], lines: list[int], file: str,
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
    """
    file = str(path)
    named = {"path": "path", "target": "target", "features": "features", "delimiter": "delimiter", **(fields or {})}
    source = named["path"]
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header: list[str] | None = None
            rows: list[list[str]] = []
            lines: list[int] = []
            end = 0
            for row in reader:
                start, end = end + 1, reader.line_num  # a quoted cell may span lines
                if not any(cell.strip() for cell in row):
                    continue  # blank lines carry nothing
                if header is None:
                    header = [cell.strip() for cell in row]
                    continue
                if len(row) != len(header):
                    _check_quotes_closed(path, delimiter, row, start, source)
                    raise InputError(
                        f"{source}: '{file}' line {reader.line_num} has {len(row)} values but the header has "
                        f"{len(header)} columns"
                    )
                rows.append(row)
                lines.append(reader.line_num)
            if rows:
                _check_quotes_closed(path, delimiter, rows[-1], start, source)
    except UnicodeDecodeError:
        raise InputError(f"{source}: '{file}' is not UTF-8 text") from None
    except csv.Error as error:
        raise InputError(f"{source}: '{file}' is not valid CSV: {error} (line {reader.line_num})") from None
    except OSError as error:
        raise InputError(f"{source}: cannot read '{file}': {error.strerror or error}") from None

    if header is None:
        raise InputError(f"{source}: '{file}' is empty; a CSV needs a header row and at least one data row")
    for j, name in enumerate(header):
        if not name:
            raise InputError(f"{source}: '{file}': column {j + 1} of the header has no name")
        if name in header[:j]:
            raise InputError(f"{source}: '{file}': the header names column {name!r} twice")
    if not rows:
        raise InputError(f"{source}: '{file}' has a header but no data rows")

    def index_of(field: str, column: str) -> int:
        if column not in header:
            misread = _other_delimiter(header, delimiter, named["delimiter"])  # then 'a,b,target' is no suggestion
            raise InputError(
                f"{named[field]}: column {column!r} not found in '{file}'{'' if misread else _suggest(column, header)}; "
                f"columns: {', '.join(header)}{misread}"
            )
        return header.index(column)

    targets = [] if target is None else [target] if isinstance(target, str) else list(target)
    target_idx = [index_of("target", column) for column in targets]
    if features is None:
        feature_idx = [j for j in range(len(header)) if j not in target_idx]
    else:
        feature_idx = [index_of("features", column) for column in features]
        overlap = sorted(set(feature_idx) & set(target_idx))
        if overlap:
            raise InputError(f"{named['features']}: column {header[overlap[0]]!r} is also the target")
    if not feature_idx:
        raise InputError(f"{source}: '{file}' has no feature columns besides the target {', '.join(targets)}")
    feature_names = [header[j] for j in feature_idx]

    cells = [[row[j] for j in feature_idx] for row in rows]
    X = _finite_numbers(cells, feature_names, lines, file, source)
    del cells

    meta: dict[str, Any] = {"feature_names": feature_names, "task": task}
    if not target_idx:
        return Raw(X, np.empty((X.shape[0], 0)), meta)

    labels = [[row[j].strip() for j in target_idx] for row in rows]
    for row, line in zip(labels, lines):
        for text, column in zip(row, targets):
            if not text:
                raise InputError(f"{named['target']}: '{file}' line {line}, column {column!r}: an empty label")
    if len(targets) > 1 or task == "regression":
        y = _finite_numbers(labels, targets, lines, file, source)
        meta.update(task="regression", target_names=targets)
        return Raw(X, y, meta)

    text = np.array([row[0] for row in labels])
    y: np.ndarray
    if _loose_numbers(labels):  # '1_0' or '１' is a name, not the class 10 or 1, as for float() and int()
        y = text
    else:
        try:
            y = text.astype(np.int64)
        except (ValueError, OverflowError):
            try:
                y = text.astype(np.float64)
            except ValueError:
                y = text  # names, not numbers
            else:
                if not np.isfinite(y).all():
                    raise _first_bad_number(labels, targets, lines, file, source) from None
    meta["target_names"] = targets
    return Raw(X, y, meta)
