"""Two level-1 BLAS routines, ``axpy`` and ``axpby``, from the OpenBLAS that NumPy itself uses.

An optimizer's update on a large network is a few elementwise passes over every parameter.
NumPy's ufuncs make each pass on one core, and ``y += a x`` costs them two passes and a
scratch array. OpenBLAS does ``y <- a x + y`` in one pass, split over its thread pool. That is
the pool the matrix products already run on, whose worker spins on the second core between
products; ufuncs on a thread of our own would have to fight it for that core. On the 670,000
parameters of a 784-512-512-10 network on 2 cores, against the blocked ufunc update, this made
the SGD update 2.0-2.6x and the Adam update 1.2-1.4x faster, and whole training epochs 4-5% (SGD)
and 8% (Adam) faster (``benchmarks/update.py``, 2026-12-04).

The routines are looked up by name through NumPy's own compiled core. ``dlsym`` searches the
libraries an object was linked against, so this finds exactly the BLAS that NumPy loaded,
and its thread limits (threadpoolctl) apply to these calls too. Only the names of the
scipy-openblas builds in NumPy's wheels are tried, each with its known integer width. Any
other BLAS (MKL, Accelerate, a system library) or platform (Windows) finds nothing, and the
callers keep the ufunc path, whose results are bit-identical to the plain formulas. The
BLAS results differ from them by at most one rounding: the kernels use fused multiply-adds.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

import numpy as np

__all__ = ["MIN_SIZE", "available", "takes", "axpy", "axpby", "ufuncs_only"]

#: shorter arrays stay on the ufunc path: a call through ctypes costs ~8 us with its pointer
#: look-ups, what two ufunc passes over ~16,000 float64 numbers cost (numpy 2.4, this machine)
MIN_SIZE = 1 << 14

#: (symbol pattern, integer type); ``{}`` is the routine, e.g. saxpy. The ``64_`` suffix marks the
#: 64-bit integer (ILP64) builds: scipy-openblas64 in NumPy >= 2.0 wheels, openblas64_ in 1.x.
_NAMES = (
    ("scipy_cblas_{}64_", ctypes.c_int64),
    ("cblas_{}64_", ctypes.c_int64),
    ("scipy_cblas_{}", ctypes.c_int32),
)

_routines: dict[np.dtype, tuple[Callable, Callable]] | None = None  # dtype -> (axpy, axpby)


def _numpy_core() -> ctypes.CDLL:
    try:
        from numpy._core import _multiarray_umath as core
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as core
    return ctypes.CDLL(core.__file__)


def _find() -> dict[np.dtype, tuple[Callable, Callable]]:
    try:
        core = _numpy_core()
    except (ImportError, OSError, AttributeError):
        return {}
    vp = ctypes.c_void_p
    for pattern, integer in _NAMES:
        try:
            found = {}
            for letter, dtype, real in (("s", np.float32, ctypes.c_float), ("d", np.float64, ctypes.c_double)):
                axpy_ = getattr(core, pattern.format(letter + "axpy"))
                axpby_ = getattr(core, pattern.format(letter + "axpby"))
                axpy_.restype = axpby_.restype = None
                axpy_.argtypes = [integer, real, vp, integer, vp, integer]
                axpby_.argtypes = [integer, real, vp, integer, real, vp, integer]
                found[np.dtype(dtype)] = (axpy_, axpby_)
        except AttributeError:  # not this build's names
            continue
        if _works(found):
            return found
    return {}


def _works(found: dict[np.dtype, tuple[Callable, Callable]]) -> bool:
    """A wrong integer width would not fail to load; it would compute garbage. Check once."""
    for dtype, (axpy_, axpby_) in found.items():
        x, y = np.array([1.0, 2.0, 3.0], dtype), np.array([10.0, 20.0, 30.0], dtype)
        axpy_(3, 2.0, x.ctypes.data, 1, y.ctypes.data, 1)  # y = 2 x + y
        axpby_(3, 1.0, x.ctypes.data, 1, 0.5, y.ctypes.data, 1)  # y = x + y / 2
        if y.tolist() != [7.0, 14.0, 21.0]:
            return False
    return True


def _lookup() -> dict[np.dtype, tuple[Callable, Callable]]:
    global _routines
    if _routines is None:
        _routines = _find()
    return _routines


def available(dtype: np.dtype | type | None = None) -> bool:
    """Whether NumPy's BLAS offers the routines here, for ``dtype`` or for float32 and float64
    (looked up once, on the first call)."""
    routines = _lookup()
    return bool(routines) if dtype is None else np.dtype(dtype) in routines


@contextmanager
def ufuncs_only() -> Iterator[None]:
    """Within the block, everything takes the ufunc path, as where the routines are missing.

    For comparisons (``benchmarks/update.py``) and tests. An optimizer decides at its first
    step whether to cut its arrays into blocks, so allocate and step it in the same mode.
    """
    global _routines
    saved = _lookup()
    _routines = {}
    try:
        yield
    finally:
        _routines = saved


def takes(a: np.ndarray) -> bool:
    """Whether :func:`axpy` and :func:`axpby` update ``a`` (and a like-shaped ``x``) with one
    BLAS call: long enough, float32 or float64, C-contiguous, and the routines present.
    The size test comes first: it is all that a tiny network's update pays for this module."""
    return a.size >= MIN_SIZE and a.flags.c_contiguous and available(a.dtype)


def _routine(x: np.ndarray, y: np.ndarray, which: int) -> Callable | None:
    """The BLAS routine (0: axpy, 1: axpby) for ``x`` and ``y``, or None: the ufuncs do it."""
    if takes(y) and x.dtype == y.dtype and x.shape == y.shape and x.flags.c_contiguous:
        return _lookup()[y.dtype][which]
    return None


def axpy(alpha: float, x: np.ndarray, y: np.ndarray, scratch: np.ndarray) -> None:
    """``y <- alpha x + y``, in place.

    Parameters
    ----------
    alpha : float
    x, y : ndarray
        Same shape; ``y`` is overwritten.
    scratch : ndarray
        Same shape: work space of the ufunc path (it may be ``x`` itself when ``x`` is not
        needed afterwards).
    """
    routine = _routine(x, y, 0)
    if routine is not None:
        routine(y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    elif alpha == 1.0:
        np.add(y, x, out=y)
    else:
        np.multiply(x, alpha, out=scratch)
        np.add(y, scratch, out=y)


def axpby(alpha: float, x: np.ndarray, beta: float, y: np.ndarray, scratch: np.ndarray) -> None:
    """``y <- alpha x + beta y``, in place: the exponential moving average of the optimizers.

    Parameters are as in :func:`axpy`, with ``beta`` the factor of the old ``y``.
    """
    routine = _routine(x, y, 1)
    if routine is not None:
        routine(y.size, alpha, x.ctypes.data, 1, beta, y.ctypes.data, 1)
    else:
        np.multiply(y, beta, out=y)
        np.multiply(x, alpha, out=scratch)
        np.add(y, scratch, out=y)
