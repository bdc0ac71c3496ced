"""Sweep grids: ``--grid KEY=VALUES`` and ``--seeds``, expanded into the points of a sweep.

Value forms (``KEY`` is a dotted config key, as for ``--set``):

``0.01,0.1,1`` / ``mse,bce`` / ``[16,16],[8]``
    a comma list of YAML values (read as the items of one YAML flow list, so lists and
    ``{name: adam, lr: 0.1}`` mappings work; ``1e-3`` is a number, as in the config schema).
``range(a, b)`` / ``range(a, b, step)``
    ``a, a + step, ...`` up to but not including ``b``, like Python's ``range`` but for
    floats too (``step`` defaults to 1; each value is ``a + i * step`` rounded to 12
    significant digits, so ``range(0.1, 0.4, 0.1)`` is 0.1, 0.2, 0.3).
``logspace(a, b, n)``
    ``n`` values from ``10**a`` to ``10**b`` inclusive, evenly spaced in the exponent
    (``logspace(-3, -1, 3)`` is 0.001, 0.01, 0.1).

Seeds: ``--seeds N`` runs every grid point with seeds 1, 2, ..., N; ``--seeds 3,7,11`` with
exactly those. The seed *replaces* the config's ``seed`` (which drives data generation,
initialisation and shuffling); without ``--seeds`` the config's own seed is used once.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gradlab.errors import InputError
from gradlab.registry import NUMBER_TEXT

_CALL = re.compile(r"^\s*(range|logspace)\s*\((.*)\)\s*$")
#: ASCII digits only, as the README's rule for numbers says (\d alone also matches fullwidth '１')
_WHOLE = re.compile(r"[+-]?\d+", re.ASCII)
MAX_POINTS = 10_000  # a typo such as range(0, 1e6) should not start a million runs
#: Where %g writes a number plainly (0.0001 to 999999.x). A list of numbers all within it is shown
#: plainly, any other list in powers of ten throughout, so one list never mixes the two styles:
#: logspace(-2, 1, 4) showed 10 as 1e+01 beside 0.01, 0.1 and 1.
PLAIN_BAND = (1e-4, 1e6)


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its number (from 1), its grid point (``group``, from 1), the values it
    sets and its seed (None: the config's own)."""

    index: int
    group: int
    values: tuple[tuple[str, Any], ...]
    seed: int | None
    texts: tuple[str, ...]  # the values as their keys' lists show them (show_values), for tables and results.csv

    @property
    def shown(self) -> dict[str, str]:
        """``{"optimizer.lr": "10", "loss": "mse"}``: each grid value as its key's list shows it."""
        return {key: text for (key, _), text in zip(self.values, self.texts)}

    @property
    def overrides(self) -> dict[str, Any]:
        """What to set in the base config: the grid values, and ``seed`` when the sweep sets it."""
        return {**dict(self.values), **({"seed": self.seed} if self.seed is not None else {})}

    def label(self) -> str:
        """``optimizer.lr=0.1, loss=mse`` (the grid values only)."""
        return ", ".join(f"{k}={text}" for k, text in self.shown.items()) or "(base config)"


def show(value: Any) -> str:
    """A grid value as it would be typed: ``0.1``, ``mse``, ``[16, 16]``, ``1e+06``."""
    return show_values([value])[0]


def show_values(values: Sequence[Any]) -> list[str]:
    """A key's grid values as they would be typed, its floats in one style: plainly when all lie in
    :data:`PLAIN_BAND` (``0.01, 0.1, 1, 10``), else all as powers of ten (``1e-05, 1e-04``), each
    with the fewest digits that read back to the same float. The one formatter for the ranking
    table, results.csv and the heatmap's axes."""
    import json

    plain = all(not math.isfinite(v) or v == 0 or PLAIN_BAND[0] <= abs(v) < PLAIN_BAND[1]
                for v in values if isinstance(v, float))
    shown = []
    for value in values:
        if isinstance(value, str):
            shown.append(value)
        elif isinstance(value, float):
            shown.append(_show_float(value, plain))
        else:
            shown.append(json.dumps(value))  # 16, true, null, [16, 16]
    return shown


def _show_float(value: float, plain: bool) -> str:
    if not math.isfinite(value) or value == 0 or plain:
        return repr(value).removesuffix(".0")  # repr is plain inside PLAIN_BAND: the shortest that reads back
    return next(text for digits in range(17) if float(text := f"{value:.{digits}e}") == value)


def _number(text: str, what: str) -> float:
    text = text.strip()
    if not NUMBER_TEXT.fullmatch(text):  # the README's rule; nan and inf are refused by each caller
        raise InputError(f"{what}: expected a number, got {text!r}")
    value = float(text)
    return int(value) if value.is_integer() and _WHOLE.fullmatch(text) else value


def _round(value: float) -> float:
    return float(f"{value:.12g}")


def _power_of_ten(exponent: float, where: str) -> float:
    """``10**exponent`` rounded like the other grid values; refused where a float cannot hold it
    (above about 1.8e308 it overflows, below about 5e-324 it is 0: neither is a value to train with)."""
    try:
        value = 10.0 ** exponent
    except OverflowError:
        value = math.inf
    if math.isinf(value):
        raise InputError(f"{where}: 10**{exponent:g} is too large for a float (at most about 1.8e308, "
                         f"10**308); use exponents from -323 to 308")
    if value == 0:
        raise InputError(f"{where}: 10**{exponent:g} is too small for a float and would be 0 (at least "
                         f"about 5e-324, 10**-323); use exponents from -323 to 308")
    return _round(value)


def _range_count(start: float, stop: float, step: float, where: str) -> int:
    """How many values ``range(start, stop, step)`` has; refused beyond :data:`MAX_POINTS`.

    Finite ends can still be further apart than a float holds (-1.7e308 to 1.7e308), and a finite
    span over a tiny step can be more steps than a float holds (1e300 / 1e-300): both were an
    OverflowError from ``ceil(inf)``. The span is refused as such; the steps are counted in
    powers of ten once too many to write out exactly.
    """
    from gradlab.errors import BEYOND_FLOAT64

    span = stop - start
    if abs(span) > sys.float_info.max:  # inf for floats; a Python int can exceed a float too
        raise InputError(f"{where}: the span from {start:g} to {stop:g} is {BEYOND_FLOAT64}; narrow the range")
    steps = span / step
    if steps <= 0:  # the wrong way (-inf, 1e300 down to 0 by +1e-300, has no ceil either)
        return 0
    count = math.ceil(steps - 1e-9) if steps < 1e15 else None  # past 1e15 a float counts no longer exactly
    if count is not None and count <= MAX_POINTS:
        return count
    shown = count or f"about 10**{math.log10(abs(span)) - math.log10(abs(step)):.0f}"
    raise InputError(f"{where} has {shown} values, more than {MAX_POINTS}")


#: ``identify(key, value)`` -> (kind, identity) of the component a value names, or None: see
#: :func:`gradlab.experiment.component_identity`
Identify = Callable[[str, Any], tuple[str, Any] | None]


def parse_values(key: str, text: str, identify: Identify | None = None) -> list[Any]:
    """The values of one ``--grid KEY=VALUES`` (see the module docstring for the forms).

    A value given twice is refused, and with ``identify`` so are two spellings of one component
    (``sigmoid`` and its alias ``logistic``): either would train the same point twice.
    """
    from gradlab.config import read_yaml_text

    where = f"--grid {key}"
    call = _CALL.match(text)
    if call:
        kind, args = call[1], [a for a in call[2].split(",")]
        if kind == "range":
            if len(args) not in (2, 3):
                raise InputError(f"{where}: range takes (start, stop) or (start, stop, step), got {text!r}")
            start, stop = _number(args[0], f"{where}: range start"), _number(args[1], f"{where}: range stop")
            step = _number(args[2], f"{where}: range step") if len(args) == 3 else 1
            if not all(math.isfinite(v) for v in (start, stop, step)):
                raise InputError(f"{where}: range start, stop and step must be finite numbers, got {text!r}")
            if step == 0:
                raise InputError(f"{where}: range step must be a number other than 0, got {text!r}")
            count = _range_count(start, stop, step, f"{where}: {text.strip()}")
            values = [start + i * step for i in range(count)]
            if not all(isinstance(v, int) for v in (start, stop, step)):
                values = [_round(v) for v in values]
        else:
            if len(args) != 3:
                raise InputError(f"{where}: logspace takes (a, b, n) for n values from 10**a to 10**b, got {text!r}")
            a, b = _number(args[0], f"{where}: logspace a"), _number(args[1], f"{where}: logspace b")
            if not (math.isfinite(a) and math.isfinite(b)):
                raise InputError(f"{where}: logspace a and b must be finite numbers, got {text!r}")
            n = _number(args[2], f"{where}: logspace n")
            if not isinstance(n, int) or not 1 <= n <= MAX_POINTS:
                raise InputError(f"{where}: logspace n must be a whole number from 1 to {MAX_POINTS}, got {args[2].strip()!r}")
            exponents = [a + (b - a) * i / (n - 1) for i in range(n)] if n > 1 else [a]
            values = [_power_of_ten(e, f"{where}: {text.strip()}") for e in exponents]
    else:
        values = read_yaml_text(f"[{text}]", f"{where}: cannot read the values {text!r}")
    if not values:
        raise InputError(f"{where}: no values in {text!r}")
    repeated = [show(v) for i, v in enumerate(values) if v in values[:i]]
    if repeated:
        raise InputError(f"{where}: value {repeated[0]} is given twice")
    if identify is not None:
        _refuse_synonyms(key, values, identify)
    return values


def _refuse_synonyms(key: str, values: Sequence[Any], identify: Identify) -> None:
    """Raise when two of ``values`` name the same component, naming both spellings."""
    seen: list[tuple[Any, Any]] = []  # (value, identity): identities hold dicts, which cannot be hashed
    for value in values:
        found = identify(key, value)
        if found is None:
            continue
        kind, identity = found
        twin = next((other for other, known in seen if known == identity), None)
        if twin is not None:
            raise InputError(f"--grid {key}: '{show(twin)}' and '{show(value)}' are the same {kind}; list it once")
        seen.append((value, identity))


def parse_grid(items: Sequence[str], model=None, identify: Identify | None = None) -> dict[str, list[Any]]:
    """``["optimizer.lr=0.01,0.1", "loss=mse,bce"]`` -> ``{"optimizer.lr": [0.01, 0.1], "loss": ["mse", "bce"]}``.

    With a pydantic ``model`` the keys are checked against it (did-you-mean); with ``identify``
    two spellings of one component among a key's values are refused (:func:`parse_values`).
    """
    from gradlab.overrides import check_key

    grid: dict[str, list[Any]] = {}
    for item in items:
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key or any(not part for part in key.split(".")) or not text.strip():
            raise InputError(f"--grid expects KEY=VALUES with a dotted key, e.g. optimizer.lr=0.01,0.1,1, got {item!r}")
        if key in grid:
            raise InputError(f"--grid {key} is given twice; put all its values in one --grid")
        if model is not None:
            check_key(key, model, "--grid")
        grid[key] = parse_values(key, text, identify)
    return grid


def parse_seeds(text: str | None) -> list[int] | None:
    """``"3"`` -> [1, 2, 3]; ``"4,7"`` -> [4, 7]; None -> None (the config's own seed)."""
    if text is None:
        return None
    numbers = [_whole_number(p.strip()) for p in str(text).split(",")]
    if None in numbers:
        raise InputError(f"--seeds expects a count N (seeds 1..N) or a comma list of whole numbers, got {text!r}")
    if len(numbers) == 1:
        if not 1 <= numbers[0] <= MAX_POINTS:
            raise InputError(f"--seeds N must be from 1 to {MAX_POINTS}, got {numbers[0]}")
        return list(range(1, numbers[0] + 1))
    if any(n < 0 for n in numbers) or len(set(numbers)) != len(numbers):
        raise InputError(f"--seeds: a list of seeds must be distinct and >= 0, got {text!r}")
    return numbers


def _whole_number(text: str) -> int | None:
    """``text`` as a whole number by the README's rule, as every whole-number option reads it
    (``7``, ``3.0``, ``1e3``), or None."""
    from gradlab.registry import NUMBER_TEXT

    if _WHOLE.fullmatch(text):
        return int(text)  # exactly, however long
    if NUMBER_TEXT.fullmatch(text) and math.isfinite(number := float(text)) and number.is_integer():
        return int(number)
    return None


def expand(grid: Mapping[str, Sequence[Any]], seeds: Sequence[int] | None) -> list[Point]:
    """Every combination of the grid values (the first key varies slowest), each with every seed."""
    total = math.prod(len(values) for values in grid.values()) * len(seeds or [None])
    if total > MAX_POINTS:  # counted before any combination is built: 10,000 x 10,000 would fill the memory
        raise InputError(f"the sweep has {total} points, more than {MAX_POINTS}")
    texts = [show_values(values) for values in grid.values()]
    combos = itertools.product(*(range(len(values)) for values in grid.values())) if grid else [()]
    points = []
    for group, combo in enumerate(combos, start=1):
        values = tuple((key, grid[key][i]) for key, i in zip(grid, combo))
        shown = tuple(texts[k][i] for k, i in enumerate(combo))
        for seed in seeds or [None]:
            points.append(Point(len(points) + 1, group, values, seed, shown))
    return points
