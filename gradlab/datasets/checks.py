"""Argument checks shared by the data sources and :func:`~gradlab.datasets.load`.

Messages start with the parameter's name (``noise must be >= 0, got -1``); :func:`_prefixed`
gives them their full name (``data.noise ...``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from gradlab.errors import InputError, did_you_mean
from gradlab.registry import number_in_text, yes_or_no


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _check_int(name: str, value: Any, minimum: int) -> int:
    value = number_in_text(value)
    if _is_number(value) and not _is_int(value) and abs(value) <= 2**53 and float(value).is_integer():
        value = int(value)  # 2e2 and 200.0 are 200, as in the schema's whole numbers (1e300 stays as written)
    if not _is_int(value):
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_real(
    name: str, value: Any, *, low: float | None = None, high: float | None = None, open_low: bool = False,
    open_high: bool = False,
) -> float:
    allowed = " and ".join(
        part
        for part in (
            None if low is None else f"{'>' if open_low else '>='} {low:g}",
            None if high is None else f"{'<' if open_high else '<='} {high:g}",
        )
        if part
    )
    value = number_in_text(value)
    if not _is_number(value):
        raise InputError(f"{name} must be a number{' ' + allowed if allowed else ''}, got {value!r}")
    value = float(value)
    bad = not math.isfinite(value)
    if low is not None:
        bad |= value <= low if open_low else value < low
    if high is not None:
        bad |= value >= high if open_high else value > high
    if bad:
        raise InputError(f"{name} must be {allowed or 'finite'}, got {value:g}")
    return value


def _check_seed(name: str, value: Any) -> int | None:
    if value is None:
        return None
    return _check_int(name, value, 0)


def _check_bool(name: str, value: Any) -> bool:
    """``value`` read by the rule the schemas' true-or-false settings follow (:func:`yes_or_no`)."""
    try:
        return yes_or_no(bool(value) if isinstance(value, np.bool_) else value)
    except ValueError as error:
        raise InputError(f"{name} {error}") from None


def check_delimiter(name: str, value: Any) -> str:
    """The character between a CSV's cells: a csv source's ``delimiter``, ``gradlab predict --delimiter``.
    The two characters ``\\t`` mean a tab, which a shell or a single-quoted YAML text cannot easily hold."""
    if value == "\\t":
        return "\t"
    if not isinstance(value, str) or len(value) != 1:
        raise InputError(f"{name} must be a single character, got {value!r}")
    return value


def _check_names(name: str, value: Any) -> list[str] | None:
    """A list of names; a comma-separated string is accepted so ``--set`` can write one."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, Sequence) or not value:
        raise InputError(f"{name} must be a non-empty list of names, got {value!r}")
    names = [str(item).strip() for item in value]
    seen = set()
    for item in names:
        if not item:
            raise InputError(f"{name} must not contain an empty name, got {value!r}")
        if item in seen:
            raise InputError(f"{name} lists {item!r} twice")
        seen.add(item)
    return names


_SOURCE_TASKS = ("classification", "regression")


def _check_task(name: str, value: Any) -> str | None:
    if value is None or value in _SOURCE_TASKS:
        return value
    allowed = ", ".join(_SOURCE_TASKS)
    raise InputError(f"{name} must be one of {allowed} (or omitted to infer it), got {value!r}")


def _suggest(word: str, choices: Sequence[str]) -> str:
    """did-you-mean that also catches a difference in case only (``Y`` for ``y``), which difflib misses."""
    for choice in choices:
        if choice.lower() == word.lower():
            return f" (did you mean {choice!r}?)"
    return did_you_mean(word, choices)


@contextmanager
def _prefixed(field: str):
    """Give errors raised by a source (``noise must be ...``) their full name (``data.noise ...``)."""
    try:
        yield
    except InputError as error:
        raise type(error)(f"{field}.{error}") from None
