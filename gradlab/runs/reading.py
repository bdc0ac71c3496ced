"""Reading a run back: the run a command was given (:func:`resolve_run`), its summary.json and
config.yaml, and its metrics.csv (whole, or only its last row, read at the file's ends).

Every reader refuses a damaged file with an InputError that names it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from gradlab.errors import InputError
from gradlab.runs.layout import _DIR_NAME, CONFIG_FILE, SUMMARY_FILE, is_run_dir, runs_root


def read_metrics_text(path: str | os.PathLike) -> str:
    """The text of a metrics CSV, checked to be UTF-8 text.

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
        text = data.decode("utf-8")
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
    """The rows of CSV text read from ``path``, blank lines skipped.

    Blank lines are skipped: an editor or a ``echo >>`` adds them, they hold no cells, and every
    reader (listing, compare, rerun) goes through here, so all of them count rows alike.
    """
    try:
        return [row for row in csv.reader(io.StringIO(text, newline="")) if row]
    except csv.Error as error:
        raise InputError(f"{path} is unreadable: not CSV ({error})") from None


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
    padding = [""] * len(header)  # a short row's missing cells read as empty, as csv.DictReader has them
    return {k: _number(k, v) for k, v in zip(header, row + padding)}


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
        what = "holds only its header" if header else "is empty"
        raise InputError(f"{path} {what}: a run to compare needs at least one row of metrics")
    return header, rows


def _number(key: str, text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return int(text) if key in ("epoch", "step") else float(text)
    except ValueError:
        return text


def resolve_run(reference: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """The run directory a command was given: a path, else a run under the runs root whose
    directory name is ``reference`` or contains it (an id, a name, a time stamp, any unique part).

    Parameters
    ----------
    reference : str or path
        A run directory, or the whole or a unique part of a run directory's name.
    root : path, optional
        Where run names are looked up (default :func:`runs_root`).

    Raises
    ------
    InputError
        ``reference`` is empty, names no run, or is part of several runs' names (all of
        them are listed, so the user can pick a longer part).
    """
    text = str(reference)
    if not text:
        raise InputError("run '': give a run directory or a part of a run's name (see 'gradlab runs')")
    base = runs_root(root)
    for exact in (Path(reference), base / text):  # a path or a whole name first: it may also be part of another name
        if is_run_dir(exact):
            return exact
    matches = sorted(p for p in base.iterdir() if text in p.name and is_run_dir(p)) if base.is_dir() else []
    if len(matches) > 1:  # 'xor' beside 'xor_wide': the run named exactly that, if it is the only one
        named = [p for p in matches if (m := _DIR_NAME.match(p.name)) and m["name"] == text]
        matches = named if len(named) == 1 else matches
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InputError(f"run {text!r} is ambiguous: matches {_name_list([p.name for p in matches])}; "
                         f"give more of the name")
    raise InputError(f"run {text!r}: no run directory there, and no run under {str(base)!r} has it in its name "
                     f"(see 'gradlab runs')")


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
