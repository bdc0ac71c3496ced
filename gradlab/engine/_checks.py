"""Validation of scalar hyper-parameters, shared by the engine's registered classes.

Each checker returns the value as a Python ``float``/``int`` or raises :class:`InputError`
with a message ``"<name> must be <allowed>, got <value>"``; the registry prefixes the field
(``optimizer: lr must be > 0, got -1``). They run once per construction, never per step.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from gradlab.errors import InputError


def show(value: object) -> str:
    """Render a bad value for a message: ``-1``, ``0.5``, ``'abc'`` (numpy scalars as plain numbers)."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Integral):
        return repr(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    return repr(value)


def real(name: str, value: object) -> float:
    """A finite real number (``bool`` is refused: ``lr: true`` in YAML is a mistake, not 1.0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be a number, got {show(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {show(value)}")
    return value


def positive(name: str, value: object) -> float:
    """``value > 0``, finite."""
    x = real(name, value)
    if x <= 0:
        raise InputError(f"{name} must be > 0, got {show(value)}")
    return x


def non_negative(name: str, value: object) -> float:
    """``value >= 0``, finite."""
    x = real(name, value)
    if x < 0:
        raise InputError(f"{name} must be >= 0, got {show(value)}")
    return x


def unit_interval(name: str, value: object, *, low_open: bool, high_open: bool) -> float:
    """``value`` in [0, 1], with the ends open or closed as asked, e.g. ``0 <= momentum < 1``."""
    x = real(name, value)
    low_ok = x > 0 if low_open else x >= 0
    high_ok = x < 1 if high_open else x <= 1
    if not (low_ok and high_ok):
        allowed = f"{'>' if low_open else '>='} 0 and {'<' if high_open else '<='} 1"
        raise InputError(f"{name} must be {allowed}, got {show(value)}")
    return x


def whole(name: str, value: object, minimum: int) -> int:
    """A whole number ``>= minimum`` (``10.0`` is accepted as 10, ``2.5`` is not)."""
    is_whole = not isinstance(value, bool) and (
        isinstance(value, numbers.Integral)
        or isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value).is_integer()
    )
    if not is_whole or int(value) < minimum:
        raise InputError(f"{name} must be a whole number >= {minimum}, got {show(value)}")
    return int(value)


def beyond_dtype(dtype: Any) -> str:
    """Why a number does not fit ``dtype``: ``beyond the range of float32 (at most 3.403e+38 in size)``."""
    dtype = np.dtype(dtype)
    return f"beyond the range of {dtype} (at most {float(np.finfo(dtype).max):.4g} in size)"


def to_dtype(values: Any, dtype: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Finite ``values`` as a C-contiguous array of ``dtype``, and where they do not fit it.

    A float64 of size beyond float32's largest (about 3.4e38) becomes inf when cast, with an
    overflow warning that would reach the user as an internal error, or train on inf. Here the
    cast is silent and the caller names the value instead (with :func:`beyond_dtype`).

    Parameters
    ----------
    values : array_like
        Finite numbers (data, weights, a hyper-parameter); a non-finite one counts as not fitting.
    dtype : dtype
        The floating-point type the values are to have.

    Returns
    -------
    cast : ndarray
        ``values`` in ``dtype`` (``values`` itself when it has that dtype already).
    misfits : ndarray of bool, same shape, or None
        True where the cast value is not finite; None when every value fits.
    """
    with np.errstate(over="ignore"):
        cast = np.ascontiguousarray(values, dtype=dtype)
    # min and max are inf or nan exactly when some value is: no mask the size of the data unless one is
    if cast.size == 0 or math.isfinite(cast.min()) and math.isfinite(cast.max()):
        return cast, None
    return cast, ~np.isfinite(cast)


def dtype_problem(name: str, value: object, dtype: Any) -> str | None:
    """Why a component's parameter ``name = value`` would not keep its meaning in ``dtype``, or None.

    Two ways a float64 number changes when a float32 network uses it: beyond float32's range it
    becomes inf (ELU's alpha = 1e300), and a nonzero number below half its smallest subnormal
    (about 7e-46) rounds to 0. A parameter that must be > 0 is then 0 although it was checked:
    smooth L1's beta = 1e-300 makes its loss and gradient 0/0 = nan, Huber's delta = 1e-46 a zero
    gradient that learns nothing, swish's beta = 1e-46 the line z/2. The rule holds for every
    nonzero parameter, so a new registered class is covered without saying which it has.

    Returns
    -------
    str or None
        ``"beta = 1e-300 rounds to 0 in float32; use float64 or a beta of at least 1.4e-45"`` or
        ``"alpha = 1e+300 is beyond the range of float32 (...); use float64 or a smaller alpha"``;
        None for a parameter that fits, or that is not a finite nonzero float (text, 0 itself).
    """
    if not isinstance(value, float) or not math.isfinite(value) or value == 0.0:
        return None
    cast, misfits = to_dtype(value, dtype)
    if misfits is not None:
        return f"{name} = {value:g} is {beyond_dtype(dtype)}; use float64 or a smaller {name}"
    if cast == 0:
        dtype = np.dtype(dtype)
        smallest = float(np.finfo(dtype).smallest_subnormal)
        return f"{name} = {value:g} rounds to 0 in {dtype}; use float64 or a {name} of at least {smallest:.2g}"
    return None
