"""The level-1 BLAS routines taken from NumPy's own OpenBLAS, and their ufunc fallback."""

from __future__ import annotations

import numpy as np
import pytest

from gradlab.engine import blas

LONG = blas.MIN_SIZE + 7  # long enough for one BLAS call, and not a multiple of any vector width


@pytest.fixture
def ufuncs_only():
    """As on a platform where NumPy's BLAS offers no axpy: every update takes the ufunc path."""
    before = blas.available()
    with blas.ufuncs_only():
        yield
    assert blas.available() == before  # restored


def blas_numpy() -> str:
    try:
        return np.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"]
    except (TypeError, KeyError):  # NumPy < 1.25 has no mode="dicts"
        return "unknown"


def test_numpy_wheels_openblas_is_found():
    # the fast path must not silently vanish where it exists: NumPy's wheels ship scipy-openblas
    if blas_numpy() != "scipy-openblas":
        pytest.skip(f"numpy is built against {blas_numpy()}")
    assert blas.available()
    assert blas.available(np.float32) and blas.available(np.float64)
    assert not blas.available(np.float16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_and_axpby_exact_on_small_integers(dtype):
    # integers below 2**24 add and scale exactly in both dtypes, so every path must give these
    x = np.arange(LONG, dtype=dtype) % 1000
    y = np.full(LONG, 5.0, dtype=dtype)
    blas.axpy(2.0, x, y, np.empty_like(x))  # y = 2 x + 5
    np.testing.assert_array_equal(y, 2 * (np.arange(LONG) % 1000) + 5)
    blas.axpby(3.0, x, 0.5, y, np.empty_like(x))  # y = 3 x + (2 x + 5) / 2 = 4 x + 2.5
    np.testing.assert_array_equal(y, 4 * (np.arange(LONG) % 1000) + 2.5)
    assert y.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_blas_path_agrees_with_the_formula_to_one_rounding(dtype):
    if not blas.available(dtype):
        pytest.skip("no BLAS routines here")
    rng = np.random.default_rng(0)
    x, y0 = rng.normal(size=LONG).astype(dtype), rng.normal(size=LONG).astype(dtype)
    eps = np.finfo(dtype).eps
    y = y0.copy()
    blas.axpy(-0.37, x, y, np.empty_like(x))
    exact = y0.astype(np.float64) - 0.37 * x.astype(np.float64)
    # a fused multiply-add rounds once; the ufuncs round twice: both within 2 eps of the terms
    assert np.all(np.abs(y - exact) <= 2 * eps * (np.abs(y0) + 0.37 * np.abs(x)))
    y = y0.copy()
    blas.axpby(0.1, x, 0.9, y, np.empty_like(x))
    exact = 0.1 * x.astype(np.float64) + 0.9 * y0.astype(np.float64)
    assert np.all(np.abs(y - exact) <= 3 * eps * (0.1 * np.abs(x) + 0.9 * np.abs(y0)))


def strided(a):
    return np.repeat(a, 2)[::2]  # the same values, as a non-contiguous view


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda a: a[:100].copy(), id="short"),
        pytest.param(lambda a: a.astype(np.float16), id="float16"),
        pytest.param(strided, id="non-contiguous"),
    ],
)
def test_what_blas_cannot_take_goes_through_the_ufuncs_bit_for_bit(make):
    rng = np.random.default_rng(1)
    x, y0 = make(rng.normal(size=LONG)), make(rng.normal(size=LONG))
    assert not blas.takes(y0)
    y = y0.copy() if y0.flags.c_contiguous else strided(y0.copy())
    blas.axpy(-0.3, x, y, np.empty_like(x))
    np.testing.assert_array_equal(y, y0 + x * x.dtype.type(-0.3))
    y = y0.copy() if y0.flags.c_contiguous else strided(y0.copy())
    blas.axpby(0.1, x, 0.9, y, np.empty_like(x))
    np.testing.assert_array_equal(y, y0 * y0.dtype.type(0.9) + x * x.dtype.type(0.1))


def test_without_the_routines_long_arrays_take_the_ufuncs_bit_for_bit(ufuncs_only):
    rng = np.random.default_rng(2)
    x, y0 = rng.normal(size=LONG), rng.normal(size=LONG)
    assert not blas.available() and not blas.takes(y0)
    y = y0.copy()
    blas.axpby(0.25, x, 0.75, y, np.empty_like(x))
    np.testing.assert_array_equal(y, 0.75 * y0 + 0.25 * x)


def test_routines_that_compute_garbage_are_refused():
    # the check that guards against a wrong integer width when the names are found
    def ignores_its_arguments(*args):
        return None

    assert not blas._works({np.dtype(np.float64): (ignores_its_arguments, ignores_its_arguments)})
    if blas.available():
        assert blas._works(blas._lookup())
