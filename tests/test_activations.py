"""Activations: exact derivatives against finite differences, stability, properties."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from gradlab.engine.activations import Softmax, activations
from gradlab.engine.losses import losses
from gradlab.errors import InputError

ELEMENTWISE = [name for name in activations if name != "softmax"]
SPECS = ELEMENTWISE + ["leaky_relu:alpha=0.2", "elu:alpha=0.5", "swish:beta=2", "gelu:approximate=tanh"]


def sample_z(name, n=400, seed=0):
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.uniform(-50, 50, n // 2), rng.normal(0, 3, n // 2)])
    for kink in activations.create(name).kinks:  # finite differences are no derivative within reach of them
        z = z[np.abs(z - kink) > 1e-3]
    return z


def central_difference(f, z, step=1e-5):
    h = step * np.maximum(1.0, np.abs(z))
    return (f(z + h) - f(z - h)) / (2 * h)


@pytest.mark.parametrize("spec", SPECS)
def test_derivative_matches_central_differences(spec):
    act = activations.create(spec)
    z = sample_z(spec)
    exact = act.derivative(z)
    numeric = central_difference(act.value, z)
    # relative error, with a floor of 1e-3 on the scale: where f' ~ 1e-20 in a saturated
    # tail, the difference quotient is all round-off of f's value, not a derivative
    scale = np.maximum(np.maximum(np.abs(exact), np.abs(numeric)), 1e-3)
    assert np.max(np.abs(exact - numeric) / scale) < 1e-7


@pytest.mark.parametrize("spec", [*SPECS, "elu:alpha=1", "leaky_relu:alpha=1"])
def test_kinks_are_declared_where_central_differences_converge_slower(spec):
    # a central difference with h = 1e-3 is within h^2 |f^(3)| / 6 ~ 1e-7 of a smooth f' and further off (at
    # least h/4 of a jump in f'') at a declared kink, where derivative() is one of the one-sided slopes.
    # elu with alpha = 1 has a kink (f'' jumps from 1 to 0), leaky_relu with alpha = 1 (the identity) none
    act = activations.create(spec)
    h, one_sided = 1e-3, 1e-7
    for z in sorted({-3.0, 0.0, 3.0, *act.kinks}):
        at = np.array([z])
        error = abs(central_difference(act.value, at, h) - act.derivative(at))[0]
        if z in act.kinks:
            assert error > 1e-5, (spec, z, error)
            left = (act.value(at) - act.value(at - one_sided))[0] / one_sided
            right = (act.value(at + one_sided) - act.value(at))[0] / one_sided
            assert min(abs(act.derivative(at)[0] - left), abs(act.derivative(at)[0] - right)) < 1e-6, (spec, z)
        else:
            assert error < 1e-6, (spec, z, error)
    assert (0.0 in act.kinks) is (spec in ("relu", "leaky_relu", "elu", "elu:alpha=1", "leaky_relu:alpha=0.2",
                                           "elu:alpha=0.5", "softsign", "step", "heaviside"))


@pytest.mark.parametrize("spec", SPECS)
def test_backward_is_grad_times_derivative(spec):
    act = activations.create(spec)
    z = sample_z(spec, 50).reshape(5, 10)
    grad = np.random.default_rng(1).normal(size=z.shape)
    # backward's own path: in place on cached outputs for ReLU-like units, f'(z) for sigmoid and tanh
    np.testing.assert_allclose(act.backward(z, act.value(z), grad), grad * act.derivative(z), rtol=1e-12, atol=1e-14)


def test_softmax_backward_is_the_jacobian_vector_product():
    sm = Softmax()
    rng = np.random.default_rng(2)
    z, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    expected = np.einsum("nij,ni->nj", sm.jacobian(z), g)
    np.testing.assert_allclose(sm.backward(z, sm.value(z), g), expected, rtol=1e-12)
    # and the Jacobian itself against finite differences, column by column
    h = 1e-6
    for j in range(5):
        dz = np.zeros(5)
        dz[j] = h
        numeric = (sm.value(z + dz) - sm.value(z - dz)) / (2 * h)
        np.testing.assert_allclose(sm.jacobian(z)[:, :, j], numeric, atol=1e-9)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e300), (np.float32, 1e38),
                                        (np.float64, np.finfo(np.float64).max), (np.float32, np.finfo(np.float32).max)])
@pytest.mark.parametrize("name", list(activations) + ["gelu:approximate=tanh", "swish:beta=2"])
def test_stable_at_plus_minus_1000_and_near_the_largest_float(name, dtype, big):
    # softsign' squared 1 + |z| and gelu' z^2 (tanh form: z^3) before dividing or clipping: overflow at 1e154
    act = activations.create(name)
    if name == "softmax":  # z - max(z) is its stable form: logits may span up to the largest float, not twice it
        big = big / 2
    z = np.array([[-big, -1000.0, -1.0, 0.0, 1000.0, big]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, derivative = act.value(z), act.derivative(z)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(derivative))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-14), (np.float32, 1e-6)])
def test_tanh_gelu_keeps_its_digits_for_negative_z(dtype, rtol):
    # z (1 + tanh u) / 2 cancelled for z < 0 (30% off at z = -5 in float32, 0 at z = -10 in float64);
    # z sigma(2u) is the same number. References: mpmath at 50 digits, f = z (1 + tanh u) / 2 and d/dz of it.
    act = activations.create("gelu:approximate=tanh")
    z = np.array([-3.0, -5.0, -10.0], dtype=dtype)
    np.testing.assert_allclose(act.value(z), [-3.637392081773019e-03, -2.291796196629506e-07, -1.2040923482098107e-37],
                               rtol=rtol)
    np.testing.assert_allclose(act.derivative(z),
                               [-1.1584166630969726e-02, -1.5463619875325946e-06, -2.7576380638540315e-36], rtol=rtol)
    assert act.value(z).dtype == act.derivative(z).dtype == dtype


def test_known_values_in_the_tails():
    sig, sp, sm = activations.create("sigmoid"), activations.create("softplus"), Softmax()
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    np.testing.assert_allclose(sig.value(z), [0.0, np.exp(-30) / (1 + np.exp(-30)), 0.5, 1 / (1 + np.exp(-30)), 1.0], rtol=1e-15)
    np.testing.assert_allclose(sig.derivative(z)[1], np.exp(-30) / (1 + np.exp(-30)) ** 2, rtol=1e-14)
    np.testing.assert_allclose(sp.value(z), [0.0, np.log1p(np.exp(-30)), np.log(2), 30 + np.log1p(np.exp(-30)), 1000.0], rtol=1e-15)
    np.testing.assert_allclose(sm.value(np.array([1000.0, 0.0, -1000.0])), [1.0, 0.0, 0.0])
    assert sig.max_derivative == sig.derivative(np.array(0.0)) == 0.25


@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=6), elements=st.floats(-1000, 1000)))
def test_softmax_rows_sum_to_one(z):
    s = Softmax().value(z)
    assert s.shape == z.shape
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=1e-12)
    assert np.all(s >= 0)


@given(st.sampled_from(ELEMENTWISE),
       arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=5), elements=st.floats(-1000, 1000)))
def test_shapes_preserved_and_finite(name, z):
    act = activations.create(name)
    assert act.value(z).shape == z.shape == act.derivative(z).shape
    assert np.all(np.isfinite(act.value(z))) and np.all(np.isfinite(act.derivative(z)))


def test_float32_stays_float32():
    z = np.linspace(-5, 5, 7, dtype=np.float32)
    for name in ("sigmoid", "tanh", "relu", "softmax"):
        assert activations.create(name).value(z).dtype == np.float32


def test_unknown_name_lists_valid_ones():
    with pytest.raises(InputError, match=r"did you mean 'sigmoid'.*choose from: identity, .*softmax"):
        activations.create("sigmod")
    with pytest.raises(InputError, match="alpha must be >= 0, got -1"):
        activations.create("leaky_relu:alpha=-1")


@pytest.mark.parametrize(("spec", "message"), [
    ("leaky_relu:alpha=-0.5", "alpha must be >= 0, got -0.5"),
    ("elu:alpha=inf", "alpha must be a finite number, got inf"),
    ("leaky_relu:alpha=abc", "alpha must be a number, got 'abc'"),
    ("swish:beta=0", "beta must be > 0, got 0"),
    ("swish:beta=true", "beta must be a number, got True"),
])
def test_parameters_are_checked_by_the_shared_checkers(spec, message):
    with pytest.raises(InputError, match=f"^activation: {message}$"):
        activations.create(spec)


@pytest.mark.parametrize("spec", ELEMENTWISE + ["softmax", "leaky_relu:alpha=0.2", "swish:beta=2", "gelu:approximate=tanh"])
def test_any_shape_scalars_and_lists(spec):
    """A Python float, a 0-d array, an int, a list and a 3-d array all give the vectorised numbers."""
    act = activations.create(spec)
    grid = np.array([-2.5, -0.5, 0.75, 3.5])
    for method in (act.value, act.derivative):
        if spec == "softmax":  # over the last axis: a single number is one class, s = 1, ds/dz = 0
            assert float(method(0.75)) == (1.0 if method == act.value else 0.0)
            expected = method(grid)
        else:
            expected = method(grid)
            for i, z in enumerate(grid):
                for form in (float(z), np.float64(z), np.array(z)):
                    got = method(form)
                    assert np.shape(got) == () and np.asarray(got).dtype == np.float64
                    assert float(got) == expected[i]
            assert float(method(3)) == float(method(3.0))  # integers are taken as float64
        got = method(grid.tolist())
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        np.testing.assert_array_equal(got, expected)
        cube = np.tile(grid, (2, 3, 1))  # shape (2, 3, 4): every row the grid
        np.testing.assert_array_equal(method(cube), np.broadcast_to(expected, cube.shape))


def test_scalar_values_by_hand():
    # sigma(0) = 1/2, sigma'(0) = 1/4; softplus(0) = ln 2; swish(2) = 2 sigma(2) = 2 / (1 + e^-2)
    assert activations.create("sigmoid").value(0.0) == 0.5
    assert activations.create("sigmoid").derivative(0) == 0.25
    assert activations.create("softplus").value(0.0) == pytest.approx(np.log(2.0), rel=1e-15)
    assert activations.create("swish").value(2.0) == pytest.approx(2.0 / (1.0 + np.exp(-2.0)), rel=1e-15)
    assert activations.create("sigmoid").value(-1000.0) == 0.0


def test_values_exactly_on_the_kinks_follow_the_formulas():
    # the conventions the formulas state: relu'(0) = 0 ("1 if z > 0"), leaky_relu'(0) = alpha,
    # hard_sigmoid'(+-3) = 0 ("1/6 if |z| < 3"), step(0) = 1 ("1 if z >= 0")
    np.testing.assert_array_equal(activations.create("relu").derivative([0.0]), [0.0])
    np.testing.assert_array_equal(activations.create("leaky_relu:alpha=0.2").derivative([0.0]), [0.2])
    np.testing.assert_array_equal(activations.create("hard_sigmoid").derivative([-3.0, 3.0]), [0.0, 0.0])
    np.testing.assert_array_equal(activations.create("hard_sigmoid").value([-3.0, 3.0]), [0.0, 1.0])
    np.testing.assert_array_equal(activations.create("step").value([-1e-300, 0.0]), [0.0, 1.0])


def test_swish_with_a_huge_beta_is_relu_with_its_bump_and_warns_nothing():
    """beta = 1e308: beta z overflowed to +-inf (a RuntimeWarning) and the derivative's
    beta z s (1 - s) became inf * 0 = nan, crashing ``gradlab plot swish:beta=1e308``."""
    swish = activations.create("swish:beta=1e308")
    z = np.array([-10.0, 0.0, 2.4e-308, 10.0])
    np.testing.assert_array_equal(swish.value(z)[[0, 1, 3]], [0.0, 0.0, 10.0])
    u = 2.4e-308 * 1e308  # the bump of swish' sits at beta z = 2.4: s + u s (1 - s) = 1.0998
    s = 1.0 / (1.0 + np.exp(-u))
    d = swish.derivative(z)
    np.testing.assert_array_equal(d[[0, 1, 3]], [0.0, 0.5, 1.0])
    assert d[2] == pytest.approx(s + u * s * (1.0 - s), rel=1e-12) and d[2] == pytest.approx(1.0998, abs=1e-4)
    z32 = np.array([-3.0, 3.0], dtype=np.float32)  # float32 overflows at 3.4e38 already
    assert swish.value(z32).tolist() == [0.0, 3.0] and swish.derivative(z32).tolist() == [0.0, 1.0]


def test_softmax_backward_on_wide_logits_matches_the_explicit_jacobian():
    """z spread over [-1000, 1000] across 40 classes: s has entries that underflow to 0 and
    one near 1; the Jacobian-vector product still equals (diag(s) - s s^T) v, with no warning."""
    sm = Softmax()
    rng = np.random.default_rng(7)
    z = rng.uniform(-1000.0, 1000.0, (8, 40))
    z[0] = np.minimum(z[0], 900.0)  # the rest of row 0 at least 100 below: e^-100 vanishes against 1
    z[0, :2] = [1000.0, 999.0]  # two leading classes 1 apart: s = (1/(1+e^-1), e^-1/(1+e^-1), ~0, ...)
    v = rng.normal(size=z.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sm.value(z)
        jvp = sm.backward(z, s, v)
    expected = np.stack([(np.diag(row) - np.outer(row, row)) @ g for row, g in zip(s, v)])
    assert np.all(np.isfinite(jvp))
    np.testing.assert_allclose(jvp, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-15)
    # the first row by hand: s0 = 1/(1+e^-1), s1 = 1 - s0, and dC/dz = s * (v - s . v)
    s0 = 1.0 / (1.0 + np.exp(-1.0))
    np.testing.assert_allclose(s[0, :2], [s0, 1.0 - s0], rtol=1e-14)
    mean = s0 * v[0, 0] + (1.0 - s0) * v[0, 1]
    np.testing.assert_allclose(jvp[0, :2], [s0 * (v[0, 0] - mean), (1.0 - s0) * (v[0, 1] - mean)], rtol=1e-12)
    assert np.all(s[0, 2:] < 1e-43)
    np.testing.assert_allclose(jvp[0, 2:], 0.0, atol=1e-42)


def test_gelu_formulas_follow_the_approximation():
    from gradlab.engine.activations import GELU

    assert GELU.formula == activations.create("gelu").formula == "f(z) = z Phi(z)"
    tanh_form = activations.create("gelu:approximate=tanh")
    assert tanh_form.formula == "f(z) = z (1 + tanh(u)) / 2, u = sqrt(2/pi) (z + 0.044715 z^3)"
    assert tanh_form.derivative_formula == "f'(z) = (1 + t)/2 + z (1 - t^2) u'/2, t = tanh(u)"
    assert repr(tanh_form) == "gelu(approximate='tanh')"
    # the default written out: a spec string reads 'none' as None, which was refused ("got None")
    assert repr(activations.create("gelu:approximate=none")) == "gelu(approximate='none')"
    # the formula at z = 1: u = sqrt(2/pi) 1.044715, f = (1 + tanh u) / 2
    u = np.sqrt(2 / np.pi) * 1.044715
    assert tanh_form.value(1.0) == pytest.approx((1 + np.tanh(u)) / 2, rel=1e-15)
    t, du = np.tanh(u), np.sqrt(2 / np.pi) * (1 + 3 * 0.044715)
    assert tanh_form.derivative(1.0) == pytest.approx((1 + t) / 2 + (1 - t * t) * du / 2, rel=1e-15)


def test_swish_with_a_beta_beyond_float32_stays_exact_in_float32():
    # beta = 1e39 is inf in float32: u = 0 * inf was nan, with a RuntimeWarning; f(0) = 0, f'(0) = 1/2
    swish = activations.create("swish:beta=1e39")
    z = np.array([0.0, 1.0, -1.0, 1e-3], dtype=np.float32)
    np.testing.assert_array_equal(swish.value(z), np.array([0.0, 1.0, -0.0, 1e-3], dtype=np.float32))
    np.testing.assert_array_equal(swish.derivative(z), np.array([0.5, 1.0, 0.0, 1.0], dtype=np.float32))
    assert swish.value(z).dtype == np.float32



@pytest.mark.parametrize(("dtype", "beta"), [(np.float32, 1e39), (np.float32, 1e300), (np.float16, 1e6)])
def test_swish_with_a_beta_beyond_the_dtype_keeps_the_smallest_normal_inputs_right(dtype, beta):
    # beta was clipped to the dtype's largest number: at float32's smallest normal, 1.1755e-38, u = beta z
    # came out 4 instead of 11.75, and f' read 1.0527; float16's (6.1e-5) read 1.053 for any beta >= 1e6
    swish = activations.create(f"swish:beta={beta}")
    tiny = float(np.finfo(dtype).tiny)
    z = np.array([tiny, -tiny, 4 * tiny], dtype)
    u = np.clip(beta * z.astype(np.float64), -1000.0, 1000.0)  # beta z by hand, in float64
    s = 0.5 * (1.0 + np.tanh(u / 2))  # sigma(u), without exp(1000) overflowing
    eps, step = float(np.finfo(dtype).eps), float(np.finfo(dtype).smallest_subnormal)
    # f(-tiny) = -tiny sigma(-11.75) is a subnormal number: it keeps only an absolute precision
    np.testing.assert_allclose(swish.value(z), z.astype(np.float64) * s, rtol=2 * eps, atol=step)
    np.testing.assert_allclose(swish.derivative(z), s + u * s * (1.0 - s), rtol=2 * eps, atol=eps)
    assert swish.value(z).dtype == swish.derivative(z).dtype == dtype


Z32 = np.array([[-1.0, 2.0, 4.0]], np.float32)
TWOS = np.full_like(Z32, 2.0)


# By hand, from each formula at z = -1, 2, 4 (leaky_relu's alpha = 0.01), with dC/da = 2 for backward;
# hinge: t = (+1, -1), t f = (0.3, -0.2) < 1, so dC/df = -t / N. The float32 references are the exact
# values rounded once (2 float32(0.01) = float32(0.02) and 2 float32(1/6) = float32(1/3), doubling being exact).
@pytest.mark.parametrize(("compute", "exact"), [
    (lambda: activations.create("relu").derivative(Z32), [[0, 1, 1]]),
    (lambda: activations.create("leaky_relu").derivative(Z32), [[0.01, 1, 1]]),
    (lambda: activations.create("hard_sigmoid").derivative(Z32), [[1 / 6, 1 / 6, 0]]),
    (lambda: activations.create("step").value(Z32), [[0, 1, 1]]),
    (lambda: activations.create("leaky_relu").backward(Z32, Z32, TWOS), [[0.02, 2, 2]]),
    (lambda: activations.create("hard_sigmoid").backward(Z32, Z32, TWOS), [[1 / 3, 1 / 3, 0]]),
    (lambda: Softmax().jacobian(np.zeros((1, 2), np.float32)), [[[0.25, -0.25], [-0.25, 0.25]]]),  # s = 1/2
    (lambda: losses.create("hinge").gradient(np.array([[1.0], [0.0]], np.float32),
                                             np.array([[0.3], [0.2]], np.float32)), [[-0.5], [0.5]]),
], ids=["relu'", "leaky_relu'", "hard_sigmoid'", "step", "leaky_relu.backward", "hard_sigmoid.backward",
        "softmax.jacobian", "hinge.gradient"])
def test_float32_inputs_give_float32_results(compute, exact):
    result = compute()
    assert result.dtype == np.float32  # these were float64
    np.testing.assert_array_equal(result, np.array(exact, np.float32))


@pytest.mark.parametrize("name, z", [("sigmoid", [8.0, 10.0, 15.0, 17.0, 40.0]), ("tanh", [4.0, 8.0, 10.0, 20.0])])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_backward_keep_their_digits_in_the_saturated_tail(name, z, dtype):
    # backward used a (1 - a) and 1 - a^2 of the rounded output: in float32, sigma'(15) came out 3.5763e-7
    # against 3.0590e-7 and 0 from z = 17; tanh'(8) 6% off. The references are e / (1 + e)^2 (e = exp(-|z|))
    # and 4 e / (1 + e)^2 (e = exp(-2|z|)) in float64, exact to rounding there.
    act = activations.create(name)
    z64 = np.array(z)
    e = np.exp(-np.abs(z64)) if name == "sigmoid" else np.exp(-2 * np.abs(z64))
    exact = e / (1 + e) ** 2 * (1 if name == "sigmoid" else 4)
    zd = z64.astype(dtype)
    got = act.backward(zd, act.value(zd), np.ones_like(zd))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, exact, rtol=1e-6 if dtype == np.float32 else 1e-14)
