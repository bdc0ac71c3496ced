"""Finite-difference gradient checking: accuracy, restoring parameters, catching wrong gradients."""

from __future__ import annotations

import numpy as np
import pytest

from gradlab.engine.gradcheck import check, compare, numerical_gradient


def sin_problem(seed=0):
    """f(W, b) = sum_ij sin(W_ij) b_j  with  df/dW_ij = cos(W_ij) b_j  and  df/db_j = sum_i sin(W_ij)."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.2, 1.2, size=(3, 4))  # cos(W) > 0.36 and sin(W) > 0.19: no gradient entry near 0
    b = rng.uniform(0.5, 1.5, size=4)

    def f():
        return float(np.sum(np.sin(W) * b))

    def analytic():
        return [np.cos(W) * b, np.sin(W).sum(axis=0)]

    return W, b, f, analytic


def test_numerical_gradient_of_a_known_function_matches_to_1e_8():
    W, b, f, analytic = sin_problem()
    numeric = numerical_gradient(f, [W, b])
    for a, n in zip(analytic(), numeric):
        assert n.shape == a.shape and n.dtype == np.float64
        np.testing.assert_allclose(n, a, rtol=1e-8, atol=0)
    rows = compare(analytic(), numeric, names=["W", "b"])
    assert [row["name"] for row in rows] == ["W", "b"]
    assert max(row["max_rel_error"] for row in rows) < 1e-8
    result = check(f, [W, b], analytic(), rtol=1e-8, atol=0)
    assert result.passed and bool(result) and result.max_rel_error < 1e-8


def test_parameters_are_restored_bit_for_bit():
    W, b, f, _ = sin_problem(1)
    before = W.copy(), b.copy()
    numerical_gradient(f, [W, b])
    np.testing.assert_array_equal(W, before[0])
    np.testing.assert_array_equal(b, before[1])


def test_parameters_are_restored_when_f_raises():
    W = np.array([1.0, 2.0])
    calls = []

    def f():
        calls.append(W.copy())
        if len(calls) == 2:
            raise RuntimeError("boom")
        return float(W.sum())

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, [W])
    np.testing.assert_array_equal(W, [1.0, 2.0])
    assert calls[0][0] == 1.0 + 1e-6 and calls[1][0] == 1.0 - 1e-6  # it did perturb in place


def test_f_sees_the_perturbation_through_a_view():
    base = np.arange(6, dtype=np.float64).reshape(2, 3)
    view = base.T  # non-contiguous: perturbing it must reach the array f reads

    def f():
        return float(np.sum(base**2))  # gradient 2 * base

    (numeric,) = numerical_gradient(f, [view])
    np.testing.assert_allclose(numeric, 2 * view, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("mistake", ["scaled", "one_entry", "transposed_sign"])
def test_a_wrong_gradient_is_detected(mistake):
    W, b, f, analytic = sin_problem(2)
    grads = analytic()
    if mistake == "scaled":
        grads[0] *= 1.001  # off by 0.1%: relative error ~5e-4
    elif mistake == "one_entry":
        grads[1][2] += 0.01
    else:
        grads[0] = -grads[0]
    result = check(f, [W, b], grads)
    assert not result.passed
    failing = [row["name"] for row in result.rows if not row["passed"]]
    assert failing == (["1"] if mistake == "one_entry" else ["0"])
    if mistake == "one_entry":
        assert result.rows[1]["worst_index"] == (2,)
    assert "FAILED" in str(result)


def test_relative_error_formula():
    # |a - n| / max(|a| + |n|, tiny):  0.1/2.1,  0 (both zero),  1e-3/1e-3 = 1,  2/2 = 1 (opposite signs)
    rows = compare([np.array([1.0, 0.0, 0.0, 1.0])], [np.array([1.1, 0.0, 1e-3, -1.0])])
    assert rows[0]["max_rel_error"] == pytest.approx(1.0)
    assert rows[0]["max_abs_error"] == pytest.approx(2.0)
    single = compare([np.array([1.0])], [np.array([1.1])])[0]
    assert single["max_rel_error"] == pytest.approx(0.1 / 2.1)
    assert compare([np.zeros(3)], [np.zeros(3)])[0] | {"shape": None} == {
        "name": "0",
        "shape": None,
        "max_abs_error": 0.0,
        "max_rel_error": 0.0,
        "worst_index": (0,),
        "norm_rel_error": 0.0,
    }


def test_zero_true_gradients_pass_through_the_absolute_floor():
    x = np.array([0.3])

    def f():  # f = d^2 + d^3 with d = x - 0.3:  df/dx = 2d + 3d^2 = 0 at x = 0.3
        d = x[0] - 0.3
        return float(d**2 + d**3)

    exact = [np.zeros(1)]
    # The central difference there is (2 h^3) / (2h) = h^2 ~ 1e-12, not 0: the relative error
    # is 1, and only the absolute floor lets the correct gradient pass.
    result = check(f, [x], exact)
    assert result.passed, result
    assert result.rows[0]["max_rel_error"] == pytest.approx(1.0)
    assert 0 < result.rows[0]["max_abs_error"] < 1e-8
    assert not check(f, [x], exact, atol=0).passed


def test_analytic_buffers_overwritten_by_f_are_copied_first():
    W, b, f, analytic = sin_problem(3)
    grads = analytic()

    def f_that_clobbers():
        grads[0][...] = 123.0  # like a forward pass reusing the network's gradient buffers
        return f()

    assert check(f_that_clobbers, [W, b], grads).passed


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="2 analytic gradients but 1"):
        compare([np.zeros(1), np.zeros(1)], [np.zeros(1)])
    with pytest.raises(ValueError, match="shape"):
        compare([np.zeros(2)], [np.zeros(3)])
    with pytest.raises(ValueError, match="1 parameter arrays but 2 gradients"):
        check(lambda: 0.0, [np.zeros(1)], [np.zeros(1), np.zeros(1)])


def test_progress_counts_parameter_entries():
    W, b, f, analytic = sin_problem()
    seen = []
    result = check(f, [W, b], analytic(), progress=lambda done, total: seen.append((done, total)))
    assert result.passed
    assert seen == [(k, 16) for k in range(1, 17)]  # W is 3 x 4, b has 4 entries: one call per entry

    big = [np.zeros(2500)]  # 2500 entries: a call every 2500 // 1000 = 2 entries, and the last one
    seen.clear()
    numerical_gradient(lambda: 0.0, big, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (2, 2500) and seen[-1] == (2500, 2500) and len(seen) == 1250


@pytest.mark.parametrize(("analytic", "passes"), [(0.0, True), (0.5, True), (1.0, True), (2.0, False), (-0.1, False)])
def test_at_a_kink_any_slope_between_the_one_sided_ones_passes(analytic, passes):
    # relu(x) at x = 0: slopes 0 from the left and 1 from the right, central difference 0.5
    from gradlab.engine.gradcheck import check

    x = np.zeros(1)
    result = check(lambda: float(np.maximum(x[0], 0.0)), [x], [np.array([analytic])])
    assert result.passed is passes
    assert result.rows[0]["kinks"] == (1 if passes and analytic != 0.5 else 0)


def test_curvature_is_no_kink_a_wrong_slope_still_fails():
    # x^2 at 1: the one-sided quotients are 2 -+ h, a gap that shrinks tenfold with h: curvature,
    # not a kink, so a slope off by 1e-5 fails as before
    from gradlab.engine.gradcheck import check

    x = np.ones(1)
    assert not check(lambda: float(x[0] ** 2), [x], [np.array([2.0 + 1e-5])]).passed
    assert check(lambda: float(x[0] ** 2), [x], [np.array([2.0])]).rows[0]["kinks"] == 0


def test_rounding_noise_is_no_kink_a_gradient_one_percent_off_fails():
    # f = c + sum p^2 with c up to 1e5 and p ~ 1e-3: the one-sided quotients are rounding noise
    # (eps_mach |f| / h), whose gap grows as h shrinks; it was taken for a kink in 23 of 300 cases
    rng = np.random.default_rng(0)
    for _ in range(100):
        c, p = 10 ** rng.uniform(2, 5), rng.normal(0, 1e-3, 5)
        result = check(lambda: float(c + np.sum(p ** 2)), [p], [2 * p * 1.01])
        assert not result.passed and result.rows[0]["kinks"] == 0
