"""Small helpers on points that the other descent submodules share: a point's size, and how a message
writes it."""

from __future__ import annotations

import math

import numpy as np


def norm(v: np.ndarray) -> float:
    """The Euclidean norm, scaled (``math.hypot``): inf only when the norm itself exceeds float64,
    where ``sqrt(v . v)`` overflowed for a component past 1.3e154 (f' = e^460 read inf)."""
    return math.hypot(*np.asarray(v, dtype=float).ravel().tolist())


def uncertainty(size: float) -> float:
    """How far apart float64 can place a stationary point of size ``size``, :math:`\\sqrt{\\epsilon} (1 + |x|)`:
    f is flat to second order there, so a change of f by one rounding moves x by about this much."""
    return math.sqrt(np.finfo(float).eps) * (1.0 + abs(size))


def point_text(x: np.ndarray) -> str:
    """A point as messages write it: ``x = 8`` for one coordinate, ``(-1.5, 2)`` for more."""
    x = np.asarray(x, dtype=float).ravel()
    if x.size == 1:
        return f"x = {x[0]:.6g}"
    return "(" + ", ".join(f"{v:.6g}" for v in x) + ")"
