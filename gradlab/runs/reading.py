"""Reading a run back: the run a command was given (:func:`resolve_run`), its summary.json and
config.yaml, and its metrics.csv (whole, a few of its columns as float arrays, or only its last
row, read at the file's ends).

Every reader refuses a damaged file with an InputError that names it.
"""

from __future__ import annotations

import codecs
import collections
import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from gradlab.errors import InputError, path_exists, plural
from gradlab.runs.layout import (_DIR_NAME, CONFIG_FILE, SUMMARY_FILE, folder_entries, is_run_dir, is_sweep_dir,
                                 root_source, runs_root)


def read_metrics_text(path: str | os.PathLike) -> str:
    """The text of a metrics CSV, checked to be UTF-8 text (a byte-order mark an editor put at its
    start is dropped, as the data CSVs' reader does: it is no part of the first column's name).

    Raises
    ------
    InputError
        The file cannot be read, is not UTF-8, or holds NUL bytes (binary, or UTF-16,
        which decodes as UTF-8 when it is plain ASCII underneath). The message starts
        with the path and ``is unreadable:``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"{path} is unreadable: {error.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"{path} is unreadable: {error} (a metrics file is UTF-8 text)") from None
    if "\0" in text:
        raise InputError(f"{path} is unreadable: it holds NUL bytes, so it is binary or UTF-16, "
                         f"not the UTF-8 text a metrics file is")
    return text


def _csv_table(path: str | os.PathLike) -> list[list[str]]:
    """Every row of a metrics CSV as written, the header first (see :func:`read_metrics_text`)."""
    return _csv_rows(read_metrics_text(path), path)


def _csv_rows(text: str, path: str | os.PathLike) -> list[list[str]]:
    """The rows of CSV text read from ``path``, blank lines skipped (see :func:`_csv_stream`)."""
    return list(_csv_stream(io.StringIO(text, newline=""), path))


def _csv_stream(lines: Iterable[str], path: str | os.PathLike) -> Iterator[list[str]]:
    """The CSV rows of lines of text read from ``path``, one at a time, blank lines skipped.

    Blank lines are skipped: an editor or a ``echo >>`` adds them, they hold no cells, and every
    reader (listing, compare, rerun) goes through here, so all of them count rows alike.

    Raises
    ------
    InputError
        ``{path} is unreadable: not CSV (...)``, when the row that is not CSV is reached.
    """
    try:
        yield from filter(None, csv.reader(lines))  # a blank line is an empty row
    except csv.Error as error:
        raise InputError(f"{path} is unreadable: not CSV ({error})") from None


def _metrics_stream(path: str | os.PathLike) -> Iterator[list[str]]:
    """The rows of a metrics CSV one at a time, as :func:`_csv_table` has them, for a reader that
    keeps only some of each: the file is checked to be text first (:func:`_check_text`), then read
    from disk line by line, so a million rows are never held (a StringIO of the whole text takes
    four bytes a character).

    Raises
    ------
    InputError
        As :func:`read_metrics_text` (when the first row is asked for) and :func:`_csv_stream`.
    """
    _check_text(path)  # a file that is not UTF-8 text is refused before any of its rows is used
    with open(path, encoding="utf-8-sig", newline="") as handle:
        yield from _csv_stream(handle, path)


def _check_text(path: str | os.PathLike) -> None:
    """:func:`read_metrics_text`'s checks in blocks of :data:`_BLOCK` bytes, not on the whole file's
    bytes and text at once (170 MB for a million-step run's metrics); a file that fails them is
    read whole by it after all, for its message."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(_BLOCK):
                if b"\0" in block:  # in UTF-8 only U+0000 holds a NUL byte
                    raise ValueError
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        read_metrics_text(path)


def read_metrics_table(path: str | os.PathLike) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and rows of a metrics CSV: numbers as floats (ints for step/epoch), empty cells as None.

    Returns
    -------
    (list of str, list of dict)
        The header (empty for an empty file) and one dict per row, keyed by the header.

    Raises
    ------
    InputError
        The file is not readable UTF-8 CSV (see :func:`read_metrics_text`).
    """
    header, *rows = _csv_table(path) or [[]]
    return header, [_row_values(header, row) for row in rows]


def _row_values(header: list[str], row: list[str]) -> dict[str, Any]:
    """A metrics row keyed by the header: numbers as floats (ints for step/epoch), empty cells as None."""
    return {k: _number(k, v) for k, v in zip(header, _padded(row, len(header)))}


def _padded(row: list[str], width: int) -> list[str]:
    """``row`` with at least ``width`` cells: a short (hand-edited) row's missing cells read as
    empty, as csv.DictReader has them. The row itself when it is long enough (the usual case)."""
    return row if len(row) >= width else row + [""] * (width - len(row))


def read_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a metrics CSV (see :func:`read_metrics_table`)."""
    return read_metrics_table(path)[1]


def read_last_metrics_row(path: str | os.PathLike) -> dict[str, Any]:
    """The last row of a metrics CSV as :func:`read_metrics` has it, ``{}`` when it has no rows,
    without reading every row: what a listing shows of a run still being written.

    A file that :func:`_rows_are_lines` finds plain is read at its ends (:func:`_header_and_last_line`).
    A last line still being written (no line break yet) is that row, as :func:`read_metrics` reads
    it. Any other file goes through :func:`read_metrics` whole, for the same rows and reasons.

    Raises
    ------
    InputError
        As :func:`read_metrics`.
    """
    ends = _header_and_last_line(path) if _rows_are_lines(path) else None
    if ends is None:
        rows = read_metrics(path)
        return rows[-1] if rows else {}
    header, last = ends
    if not last:
        return {}
    header_cells, row = _csv_rows(f"{header.decode()}\n{last.decode()}\n", path)
    return _row_values(header_cells, row)


#: the size of the blocks a metrics file is scanned and its ends read in: the memory a listing needs
#: per file, however long the run
_BLOCK = 1 << 20
_LINE_BREAK = re.compile(rb"[\r\n]")


def _rows_are_lines(path: str | os.PathLike) -> bool:
    """True when every byte of the file is ASCII other than NUL and the quote ``"`` (False when it
    cannot be read). Such a file is UTF-8 text whose CSV rows are its lines: no quoted field runs
    over a line break, and csv ends a row at every ``\\r`` or ``\\n``, as :data:`_LINE_BREAK` does.

    The whole file is scanned, in blocks of :data:`_BLOCK` bytes: a NUL or a byte that is no UTF-8
    anywhere in it makes a run damaged in the listing. Metrics files as gradlab writes them are
    plain: numbers and column names.
    """
    try:
        with open(path, "rb") as handle:
            while block := handle.read(_BLOCK):
                if not block.isascii() or b"\0" in block or b'"' in block:
                    return False
    except OSError:
        return False
    return True


def _header_and_last_line(path: str | os.PathLike) -> tuple[bytes, bytes] | None:
    """A file's first line that is not blank (a CSV's header) and its last one after it (``b""``
    when there is none), without their line breaks, read in blocks of :data:`_BLOCK` bytes from the
    start and from the end; None when the file cannot be read."""
    try:
        with open(path, "rb") as handle:
            header_end, header = _first_line(handle)
            return header, _last_line(handle, header_end)
    except OSError:
        return None


def _first_line(handle: BinaryIO) -> tuple[int, bytes]:
    """The first line of a binary file that is not blank, without its line break, and the offset
    where it ends; ``(size, b"")`` when no line holds anything. Read forwards in blocks."""
    line: list[bytes] = []  # its parts, once it has begun
    offset = 0
    handle.seek(0)
    while block := handle.read(_BLOCK):
        begin = 0 if line else len(block) - len(block.lstrip(b"\r\n"))  # blank lines before it
        if begin < len(block):
            end = _LINE_BREAK.search(block, begin)
            if end is not None:
                line.append(block[begin:end.start()])
                return offset + end.start(), b"".join(line)
            line.append(block[begin:])
        offset += len(block)
    return offset, b"".join(line)


def _last_line(handle: BinaryIO, floor: int) -> bytes:
    """The last line after offset ``floor`` of a binary file that is not blank, without its line
    break (it may have none yet); ``b""`` when none holds anything. Read backwards in blocks."""
    parts: list[bytes] = []  # its parts, from its end backwards
    end = handle.seek(0, os.SEEK_END)
    while end > floor:
        start = max(floor, end - _BLOCK)
        handle.seek(start)
        block = handle.read(end - start)
        end = start
        if not parts:
            block = block.rstrip(b"\r\n")  # the line breaks and blank lines after it
            if not block:
                continue
        cut = max(block.rfind(b"\n"), block.rfind(b"\r"))
        parts.append(block[cut + 1:])
        if cut >= 0:
            break
    return b"".join(reversed(parts))


def read_metrics_with_rows(path: str | os.PathLike) -> tuple[list[str], list[dict[str, Any]]]:
    """:func:`read_metrics_table` for a run that is to be compared: one without rows is refused.

    Raises
    ------
    InputError
        As :func:`read_metrics_table`, or the file is empty or holds only its header.
    """
    header, rows = read_metrics_table(path)
    if not rows:
        raise _no_rows(path, header)
    return header, rows


def require_metrics_rows(path: str | os.PathLike) -> None:
    """Refuse a metrics CSV to compare that has no row, or that is not CSV anywhere, as
    :func:`read_metrics_with_rows` does, but row by row: a run of a million steps is not held to
    learn that (rerun checks its original so before it spends a run's time).

    Raises
    ------
    InputError
        As :func:`read_metrics_with_rows`.
    """
    rows = _metrics_stream(path)
    header = next(rows, [])
    if next(rows, None) is None:
        raise _no_rows(path, header)
    collections.deque(rows, maxlen=0)  # the rest read too: a row that is not CSV is found here


def _no_rows(path: str | os.PathLike, header: list[str]) -> InputError:
    """The error for a metrics file to compare that has no row (``header`` is empty when it has none either)."""
    what = "holds only its header" if header else "is empty"
    return InputError(f"{path} {what}: a run to compare needs at least one row of metrics")


def read_metrics_header(path: str | os.PathLike) -> list[str]:
    """The column names of a metrics CSV (empty for an empty file), without parsing its rows.

    Raises
    ------
    InputError
        As :func:`read_metrics_text`, or the header is not CSV.
    """
    return next(_metrics_stream(path), [])


@dataclass
class MetricsColumns:
    """Some columns of a metrics CSV, as :func:`read_metrics_columns` reads them."""

    header: list[str]  # every column the file has, in its order
    values: dict[str, np.ndarray]  # each asked-for column the header has: float64, nan for an empty cell
    filled: frozenset[str]  # those of them with a value (not empty) in some row


def read_metrics_columns(path: str | os.PathLike, columns: Iterable[str]) -> MetricsColumns:
    """The header and some columns of a metrics CSV that is to be compared, as float64 arrays.

    Only the asked-for cells are kept and converted: a run of 100,000 steps is two arrays, not a
    dict per row. The cells are read as :func:`read_metrics` reads them (whole numbers in step and
    epoch, floats elsewhere, a short row's missing cells empty, the last of two like-named columns).

    Parameters
    ----------
    path : path
        The metrics CSV.
    columns : names
        The columns wanted; those the header lacks are left out of ``values`` (the caller says
        which option named them).

    Raises
    ------
    InputError
        As :func:`read_metrics_with_rows` (not UTF-8 CSV, empty, only a header), or a wanted cell
        is text, not a number (``{path}, row N: {column} is 'abc', not a number``; the first such
        cell by row, then by the order of ``columns``): gradlab writes numbers or nothing.
    """
    rows = _metrics_stream(path)
    header = next(rows, [])
    positions = {name: index for index, name in enumerate(header)}  # the last of a repeated name, as a dict has it
    wanted = {name: positions[name] for name in columns if name in positions}
    cells: dict[str, list[str]] = {name: [] for name in wanted}
    keep = [(cells[name].append, index) for name, index in wanted.items()]
    width = max(wanted.values(), default=-1) + 1
    count = 0
    for count, row in enumerate(rows, start=1):
        if len(row) < width:  # the check inline: a call per row costs 3% here
            row = _padded(row, width)
        for append, index in keep:
            append(row[index])
    if not count:
        raise _no_rows(path, header)
    converted = {name: _float_column(name, column) for name, column in cells.items()}
    texts = [(text[0], order, name, text[1]) for order, (name, (_, text)) in enumerate(converted.items()) if text]
    if texts:
        number, _, name, cell = min(texts)  # the first by row, then by the order asked for
        raise InputError(f"{path}, row {number}: {name} is {cell!r}, not a number")
    return MetricsColumns(header, {name: array for name, (array, _) in converted.items()},
                          frozenset(name for name, column in cells.items() if any(column)))


def _float_column(key: str, cells: list[str]) -> tuple[np.ndarray, tuple[int, str] | None]:
    """The cells of column ``key`` as :func:`_number` reads them, in a float64 array (nan where a cell
    is empty), and the row (from 1) and text of the first that is text, not a number (else None)."""
    try:  # every cell a number: one pass in C
        return np.array(list(map(_parser(key), cells)), dtype=float), None
    except ValueError:  # an empty cell, or text
        values = [_number(key, cell) for cell in cells]
    text = next(((number, value) for number, value in enumerate(values, start=1) if isinstance(value, str)), None)
    if text is not None:
        return np.empty(0), text
    return np.array([np.nan if value is None else value for value in values], dtype=float), None


#: the columns that count (steps, epochs): whole numbers; every other column holds floats
_COUNT_COLUMNS = ("epoch", "step")


def _parser(key: str) -> type:
    """How a cell of column ``key`` is read: int for :data:`_COUNT_COLUMNS`, float elsewhere."""
    return int if key in _COUNT_COLUMNS else float


def _number(key: str, text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return _parser(key)(text)
    except ValueError:
        return text


def resolve_run(reference: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """The run directory a command was given: a path, else a run under the runs root whose
    directory name is ``reference`` or contains it (an id, a name, a time stamp, any unique part),
    else such a point of a sweep there (``gradlab runs --dir <sweep>`` lists them).

    The root's own runs come first: a name one of them has is never looked up in the sweeps, so
    a part that finds a run there finds the same run however many sweeps are added. Only names
    are compared (no run's files are read): one listing of the root, and of each sweep's directory
    when no run of the root has the name.

    A sweep whose directory cannot be listed (no read permission) is passed over: its points
    cannot be named by any part anyway, and the other sweeps' points can, so one unreadable sweep
    (another user's, in a shared root) does not make every point's id unusable. When the name is
    found nowhere, the message names the sweeps passed over and why.

    Parameters
    ----------
    reference : str or path
        A run directory, or the whole or a unique part of a run directory's name.
    root : path, optional
        Where run names are looked up (default :func:`runs_root`).

    Raises
    ------
    InputError
        ``reference`` is empty, names no run, or is part of several runs' names, among the
        root's runs or else among the sweeps' points (all of them are listed, so the user can
        pick a longer part); the root cannot be listed (:func:`folder_entries`).
    """
    text = str(reference)
    if not text:
        raise InputError("run '': give a run directory or a part of a run's name (see 'gradlab runs')")
    if os.path.islink(reference):  # a symlink loop is named as such, not as "no run directory there"
        path_exists(reference, "RUN")
    if is_run_dir(Path(reference)):  # a path needs no run root: an odd $GRADLAB_RUNS is no business of it
        return Path(reference)
    base = runs_root(root)
    source = root_source(root, "--dir")
    folders = [base] if path_exists(base, source) and base.is_dir() else []
    matches = _named_runs(folders, text, source)
    unlisted: list[str] = []  # the sweeps passed over, with why
    if not matches:
        sweeps = [p for folder in folders for p in folder_entries(folder, source) if is_sweep_dir(p)]
        matches = _named_runs(sweeps, text, source, unlisted)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(f"run {text!r} is ambiguous: matches {_name_list([p.name for p in matches])}; "
                         f"give more of the name")
    passed_over = f"; cannot list {plural(len(unlisted), 'sweep')} there: {_name_list(unlisted)}" if unlisted else ""
    raise InputError(f"run {text!r}: no run directory there, and no run under {str(base)!r} or in a sweep there "
                     f"has it in its name (see 'gradlab runs'){passed_over}")


def _named_runs(folders: Sequence[Path], text: str, what: str, unlisted: list[str] | None = None) -> list[Path]:
    """The run directories in ``folders`` that ``text`` names, sorted: the one whose whole name it is,
    else those whose name holds it, narrowed to the one run *named* ``text`` when exactly one is
    ('xor' beside 'xor_wide'); several when ``text`` is ambiguous, none when it names no run there.

    A folder that cannot be listed is refused as :func:`folder_entries` refuses it (``what`` names
    it), or, given ``unlisted``, passed over and said there: ``'<folder>' (Permission denied)``.
    """
    # '.' and '..' name no run in a folder: folder / '.' is the folder, and a sweep's is a run directory
    plain = text not in (os.curdir, os.pardir) and os.sep not in text
    whole = [folder / text for folder in folders if plain and is_run_dir(folder / text)]
    if whole:  # a whole name before a part: it may also be part of another name
        return whole
    matches = sorted(p for p in _entries(folders, what, unlisted) if text in p.name and is_run_dir(p))
    named = [p for p in matches if (m := _DIR_NAME.match(p.name)) and m["name"] == text]
    return named if len(matches) > 1 and len(named) == 1 else matches


def _entries(folders: Sequence[Path], what: str, unlisted: list[str] | None) -> Iterator[Path]:
    """What the folders hold, folder by folder (see :func:`_named_runs` for ``what`` and ``unlisted``)."""
    for folder in folders:
        if unlisted is None:
            yield from folder_entries(folder, what)
            continue
        try:
            yield from folder.iterdir()
        except OSError as error:
            unlisted.append(f"{str(folder)!r} ({error.strerror})")


def _name_list(names: Sequence[str], shown: int = 10) -> str:
    """``a, b, c`` for up to ``shown`` names, then ``and N more``: one line even for a long history."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def read_json(path: str | os.PathLike) -> Any:
    """The JSON value a run's file holds.

    Raises
    ------
    InputError
        ``{path} is unreadable: <why>``: the file is missing or unreadable, not UTF-8, not JSON,
        or JSON that Python cannot parse (an integer of more than 4300 digits, nesting deeper
        than the recursion limit).
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"{path} is unreadable: {error.strerror}") from None
    except ValueError as error:  # bad JSON, bytes that are not UTF-8, an integer too long to convert
        raise InputError(f"{path} is unreadable: {error}") from None
    except RecursionError:
        raise InputError(f"{path} is unreadable: its JSON is nested too deeply to parse") from None


def read_summary(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's summary.json as a mapping.

    Raises
    ------
    InputError
        The file is missing or unreadable, not JSON, or JSON but not an object; the
        message names the file.
    """
    path = Path(run_dir) / SUMMARY_FILE
    summary = read_json(path)
    if not isinstance(summary, dict):
        raise InputError(f"{path} is {_json_kind(summary)}, not the JSON object {{...}} a run summary is")
    return summary


def _json_kind(value: Any) -> str:
    """How JSON spells the type of a parsed value: ``an array``, ``null``, ``a string``..."""
    kinds = {list: "an array", type(None): "null", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def read_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's config.yaml as a mapping.

    Raises
    ------
    InputError
        The file is missing or unreadable, not YAML, or not a mapping (an empty file included:
        a run always records its settings, so an empty one was cut short or emptied); the
        message names the file and is one line.
    """
    from gradlab.config import load_yaml

    path = Path(run_dir) / CONFIG_FILE
    config = load_yaml(path)  # {} for an empty file, which a config given by hand may be
    if not config:
        raise InputError(f"{path}: the top level must be a mapping of settings (key: value), got an empty file")
    return config
