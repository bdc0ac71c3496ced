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


def test_the_denominator_is_the_step_as_stored_not_the_nominal_2_eps():
    # float32 holds 1 + 1e-6 as 1 + 8 * 2**-23 and 1 - 1e-6 as 1 - 17 * 2**-24: the step f saw is
    # 33 * 2**-24 = 1.9670e-6, not 2e-6, and f = p has slope 1 only over the step actually taken
    # (over 2e-6 it would read 0.9835)
    p = np.ones(1, dtype=np.float32)
    (slope,) = numerical_gradient(lambda: float(p[0]), [p])
    assert slope[0] == 1.0


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


# --------------------------------------------------------------------------- kinks inside a network


def network_check(weights, hidden, X, Y, **kwargs):
    """check_network of the mse of a network with these weights, hidden activations and an identity output."""
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    return check_network(Network.from_weights(weights, hidden, "identity"), losses.create("mse"), X, Y, **kwargs)


def on_zero_row(hidden, seed=0):
    """A 2-3-...-3-1 network with zero biases on 6 rows whose first is 0: there every unit sees z = 0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(6, 2))
    X[0] = 0.0
    sizes = [2, *[3] * len(hidden), 1]
    weights = [(rng.normal(size=(n_in, n_out)), np.zeros(n_out)) for n_in, n_out in zip(sizes, sizes[1:])]
    return network_check(weights, hidden, X, rng.normal(size=(6, 1)))


def summary(result):
    """name -> (passed, entries at a kink, max relative error to 3 places)."""
    return {row["name"]: (row["passed"], row["kinks"], round(row["max_rel_error"], 3)) for row in result.rows}


def test_stacked_kinks_pass_as_kinks():
    # two elu:alpha=2 layers see z = 0 on row 0: moving b1[j] takes that row's z1[j] across 0 (slope alpha
    # or 1) and with it every z2 across 0, each one way or the other. Backpropagation multiplies elu'(0) =
    # alpha twice, the slope of neither side. Before, b1 failed (1 of 3 entries passed as at a kink, the
    # worst failing one 0.2 off: "a wrong derivative") although every derivative is right.
    from gradlab.engine.activations import ELU

    result = on_zero_row([ELU(2.0), ELU(2.0)])
    assert result.passed, result
    # the errors are against the differences that decided, those with the units on tangents (the straddled
    # ones, which the table showed until 2026-12-08, are 0.2 and 0.431 off)
    assert summary(result) == {"W1": (True, 0, 0.0), "b1": (True, 3, 0.0), "W2": (True, 0, 0.0),
                               "b2": (True, 3, 0.0), "W3": (True, 0, 0.0), "b3": (True, 0, 0.0)}


def test_a_wrong_derivative_at_stacked_kinks_still_fails():
    # the same network with elu' 1% too large everywhere: rows 1-5 cross no kink and carry the error as
    # they are, the tangents on row 0 carry it too. Before, 2 of b1's 3 entries passed as "at a kink":
    # their wrong values still lay between the one-sided slopes
    from gradlab.engine.activations import ELU

    class OnePercentOff(ELU):
        def derivative(self, z):
            return super().derivative(z) * 1.01

    result = on_zero_row([OnePercentOff(2.0), OnePercentOff(2.0)])
    assert not result.passed
    found = summary(result)
    assert found["b1"] == (False, 0, 0.19) and found["b2"][:2] == (False, 0)
    assert found["W1"] == (False, 0, 0.01)  # the plain 1% (relative error 0.00995), far from any kink


def test_elu_with_alpha_1_has_a_kink_in_its_second_derivative():
    # elu with alpha = 1: f' is continuous at 0 but f'' jumps from 1 to 0, so a central difference across
    # it is off by O(eps), not O(eps^2). b1[1] failed with relative error 2.35e-6 at eps = 1e-6 (absolute
    # 2.46e-7; 2.35e-5 at eps = 1e-5, ten times the step, ten times the error)
    rng = np.random.default_rng(0)
    weights = [(rng.normal(size=(2, 3)), np.zeros(3)), (rng.normal(size=(3, 2)), np.zeros(2)),
               (rng.normal(size=(2, 1)), np.zeros(1))]
    X = np.vstack([np.zeros((1, 2)), rng.normal(size=(4, 2))])
    result = network_check(weights, ["elu", "elu"], X, rng.normal(size=(5, 1)))
    assert result.passed, result
    row = result.rows[1]
    # b1[1], reported against its difference with the unit on a tangent, is no longer the worst entry
    assert (row["name"], row["kinks"], row["worst_index"]) == ("b1", 1, (0,))
    assert row["max_rel_error"] == pytest.approx(5.514e-7, rel=1e-3)


def test_inputs_within_eps_of_a_kink_pass_as_kinks():
    # a relu layer whose inputs on row 0 are +-3e-7: differentiable there, and backpropagation right, but
    # the step 1e-6 crosses the corner and the smallest kink step, 1e-7, does not. W1 and b1 failed with
    # relative error 1 (the central difference is half the slope, or half of 0 beside it)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 1))
    W1, W2 = rng.normal(size=(2, 3)), rng.normal(size=(3, 1))
    b1 = -(X[0] @ W1) + 3e-7 * np.array([1.0, -1.0, 1.0])
    result = network_check([(W1, b1), (W2, np.zeros(1))], ["relu"], X, Y)
    assert result.passed, result
    found = summary(result)
    assert found["W1"] == (True, 6, 0.0) and found["b1"] == (True, 3, 0.0)  # the straddled differences: 1.0


def test_samples_pushing_opposite_ways_across_a_kink_pass():
    # unit 0 of a relu layer sees z = 0 on every row (its weights and bias are 0): W1[i, 0] moves z by
    # x_i eps, up on some rows and down on others, and relu'(0) = 0 need not lie between the one-sided
    # slopes. W1 failed with relative error 1 (1 entry passed as at a kink)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 1))
    W1 = rng.normal(size=(2, 3))
    W1[:, 0] = 0.0
    result = network_check([(W1, np.zeros(3)), (rng.normal(size=(3, 1)), np.zeros(1))], ["relu"], X, Y)
    assert result.passed, result
    assert summary(result)["W1"] == (True, 2, 0.0)  # the straddled difference: 1.0


def relu_whose_derivative_is(wrong, where):
    """A ReLU whose derivative is ``wrong`` where ``where(z)`` holds, used by backpropagation (whose
    relu mask would not read ``derivative``) and by the tangents alike."""
    from gradlab.engine.activations import Activation, ReLU

    class WrongReLU(ReLU):
        backward = Activation.backward  # dC/dz = dC/da * derivative(z)

        def derivative(self, z):
            return np.where(where(z), wrong, super().derivative(z))

    return WrongReLU()


def within_eps_above_a_kink(hidden):
    """A 2-3-1 network whose layer of ``hidden`` units sees z = 3e-7 on row 0 (zero bias elsewhere)."""
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 1))
    W1, W2 = rng.normal(size=(2, 3)), rng.normal(size=(3, 1))
    return network_check([(W1, 3e-7 - X[0] @ W1), (W2, np.zeros(1))], [hidden], X, Y)


def test_a_derivative_at_a_kink_that_is_no_slope_of_the_values_fails():
    # relu'(0) = 5 on a zero row: the tangents took their slope from the derivative under test, so they
    # agreed with backpropagation and b1 and b2 passed "3 at a kink" each. 5 is neither one-sided slope
    # of relu (0 or 1), so the tangents vouch for nothing and the plain errors stand
    result = on_zero_row([relu_whose_derivative_is(5.0, lambda z: z == 0)] * 2)
    assert not result.passed
    found = summary(result)
    assert found["b1"] == (False, 0, 1.0) and found["b2"] == (False, 0, 0.818)
    assert found["W1"] == found["W2"] == (True, 0, 0.0)  # no weight moves row 0's z = 0


def test_a_derivative_wrong_just_beside_a_kink_fails():
    # relu' = 0 on (0, 1e-6) only, with row 0's inputs at 3e-7: the step 1e-6 carries them across 0, the
    # tangents took relu'(3e-7) = 0 from the derivative under test, and W1 and b1 passed "6/3 at a kink".
    # The slope of relu on 3e-7's own side of the kink is 1
    result = within_eps_above_a_kink(relu_whose_derivative_is(0.0, lambda z: (0 < z) & (z < 1e-6)))
    assert not result.passed
    found = summary(result)
    assert found["W1"] == (False, 0, 1.0) and found["b1"] == (False, 0, 1.0)


@pytest.mark.parametrize("hidden", ["relu", "leaky_relu:alpha=0.2", "elu:alpha=2", "step"])
def test_right_derivatives_on_and_beside_kinks_still_pass_as_kinks(hidden):
    # the tangents' slopes are now held against the activation's values; a right derivative passes that
    # on the kink (either one-sided slope will do) and within eps of it (the slope on its own side)
    on_kink, beside = on_zero_row([hidden, hidden]), within_eps_above_a_kink(hidden)
    assert on_kink.passed and beside.passed, (on_kink, beside)
    on_kink, beside = summary(on_kink), summary(beside)
    assert on_kink["b1"][1] > 0 and on_kink["b2"][1] > 0  # step's b1 has 2, the others 3
    assert (beside["W1"][1], beside["b1"][1]) == (6, 3)


# --------------------------------------------------------------------------- training's weight decay


def decay_network(seed=0):
    """A 2-4-1 tanh network with nonzero biases (a mask that decays them shows), on 8 rows."""
    rng = np.random.default_rng(seed)
    weights = [(rng.normal(size=(2, 4)), rng.normal(size=4)), (rng.normal(size=(4, 1)), rng.normal(size=1))]
    return weights, rng.normal(size=(8, 2)), rng.normal(size=(8, 1))


def test_check_network_checks_the_loss_plus_the_weight_penalty_training_minimises(monkeypatch):
    # without the decay in the gradient, C + R's central differences differ by l2 W + l1 sign(W): W fails, b not
    from gradlab.engine import gradcheck

    weights, X, Y = decay_network()
    assert network_check(weights, ["tanh"], X, Y, l1=0.3, l2=0.5).passed
    monkeypatch.setattr(gradcheck, "add_weight_decay", lambda *args, **kwargs: None)  # the gradient of C alone
    result = network_check(weights, ["tanh"], X, Y, l1=0.3, l2=0.5)
    assert [row["passed"] for row in result.rows] == [False, True, False, True]  # W1, b1, W2, b2
    # the numbers: W1's gap is its decay, |l2 W + l1 sign(W)|, largest where |W| is
    (W1, _), _ = weights
    assert result.rows[0]["max_abs_error"] == pytest.approx(np.abs(0.5 * W1 + 0.3 * np.sign(W1)).max(), rel=1e-6)


@pytest.mark.parametrize("broken, l1, l2, failing", [
    # the sign term dropped: only l2 W is added, l1 sign(W) is missing from both weight matrices
    ("no sign term", 0.3, 0.0, ["W1", "W2"]),
    # the mask dropped: the biases are decayed too, which the penalty (biases not penalised) does not do
    ("no mask", 0.0, 0.5, ["b1", "b2"]),
])
def test_a_broken_weight_decay_fails_the_check(monkeypatch, broken, l1, l2, failing):
    from gradlab.engine import gradcheck

    real = gradcheck.add_weight_decay

    def wrong(params, grads, l1=0.0, l2=0.0, decay_mask=None, scratch=None):
        if broken == "no sign term":
            return real(params, grads, 0.0, l2, decay_mask)
        return real(params, grads, l1, l2, [True] * len(params))

    monkeypatch.setattr(gradcheck, "add_weight_decay", wrong)
    weights, X, Y = decay_network()
    result = network_check(weights, ["tanh"], X, Y, l1=l1, l2=l2)
    assert [row["name"] for row in result.rows if not row["passed"]] == failing


@pytest.mark.parametrize("w", [3e-7, -5e-7, 9e-7])
def test_a_weight_within_eps_of_zero_under_l1_passes_as_a_kink(w):
    # l1 |w| bends at 0: eps = 1e-6 steps across it, and the plain central difference of the
    # penalty's term is l1 w / eps (0.09 at 3e-7), not l1 sign(w) = 0.3; on its tangent it is 0.3
    weights, X, Y = decay_network()
    weights[0][0][0, 1] = w
    calls = []
    result = network_check(weights, ["tanh"], X, Y, l1=0.3, l2=0.5, progress=lambda done, total: calls.append(
        (done, total)))
    assert result.passed, result
    assert [row["kinks"] for row in result.rows] == [1, 0, 0, 0]
    # the 17 entries and the corner entry retaken after them: the bar ends full, not before the end
    assert calls[-1] == (18, 18) and all(total == 18 for _, total in calls) and calls[-2][0] == 17


def test_a_weight_on_zero_under_l1_needs_no_tangent():
    # sign(0) = 0, the subgradient add_weight_decay uses, is also the central difference of |w| at 0
    weights, X, Y = decay_network()
    weights[0][0][0, 1] = 0.0
    result = network_check(weights, ["tanh"], X, Y, l1=0.3, l2=0.5)
    assert result.passed and [row["kinks"] for row in result.rows] == [0, 0, 0, 0]


def l1_term_written_as(term, monkeypatch):
    """Make the check's weight decay add ``l1 term(W)`` for the L1 penalty's gradient instead of
    ``l1 sign(W)`` (the l2 part kept)."""
    from gradlab.engine import gradcheck

    real = gradcheck.add_weight_decay

    def decay(params, grads, l1=0.0, l2=0.0, decay_mask=None, scratch=None):
        real(params, grads, 0.0, l2, decay_mask)
        for p, g in zip(params, grads):
            if p.ndim >= 2:
                g += l1 * term(p)

    monkeypatch.setattr(gradcheck, "add_weight_decay", decay)


def sign_term_dropped_below(threshold, monkeypatch):
    """Make the check's weight decay drop l1 sign(w) for |w| < threshold (a dead zone)."""
    l1_term_written_as(lambda p: np.where(np.abs(p) < threshold, 0.0, np.sign(p)), monkeypatch)


def test_a_sign_term_wrong_near_zero_still_fails(monkeypatch):
    # the tangent's slope is sign(w0), taken by the check itself: a decay that drops l1 sign(w) for
    # |w| < 1e-6 fails at that weight, by l1 = 0.3, and nowhere else
    sign_term_dropped_below(1e-6, monkeypatch)
    weights, X, Y = decay_network()
    weights[0][0][0, 1] = 3e-7
    result = network_check(weights, ["tanh"], X, Y, l1=0.3, l2=0.5)
    assert [row["passed"] for row in result.rows] == [False, True, True, True]
    worst = result.rows[0]["worst_failure"]
    assert worst["index"] == (0, 1)
    # the analytic value lacks l1 sign(w) = 0.3, all of which the corner-free difference has (the
    # straddled one has 0.3 w / eps = 0.09 of it)
    assert worst["abs_error"] == pytest.approx(0.3, rel=1e-6)


@pytest.mark.parametrize("w", [3e-7, -5e-7])
def test_a_decay_that_matches_the_straddled_difference_fails(monkeypatch, w):
    # l1 w / max(|w|, 1e-6), a guard against 0/0, is l1 w / eps within eps of 0: the plain central
    # difference agrees with it to 1e-9, the corner-free one finds its error l1 (1 - |w| / 1e-6)
    l1_term_written_as(lambda p: p / np.maximum(np.abs(p), 1e-6), monkeypatch)
    weights, X, Y = decay_network()
    weights[0][0][0, 1] = w
    result = network_check(weights, ["tanh"], X, Y, l1=0.3, l2=0.5)
    assert [row["passed"] for row in result.rows] == [False, True, True, True]
    assert result.rows[0]["worst_failure"]["abs_error"] == pytest.approx(0.3 * (1 - abs(w) / 1e-6), rel=1e-6)


def test_a_hinge_sample_on_its_margin_beside_a_weight_on_zero_passes_under_l1():
    # one identity unit, hinge loss; sample 0 has y f = 1 exactly: moving w00 gives slopes -1/3 and 0,
    # backpropagation 0, the central difference -1/6. A weight on 0 is no L1 corner (sign(0) = 0, |w|'s
    # central difference 0 there), so the loss's own kink is judged by its one-sided slopes, with or without l1
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    X = np.array([[1.0, 2.0], [0.3, -1.0], [-0.7, 0.4]])
    Y = np.array([[1.0], [0.0], [1.0]])
    for l1 in (0.0, 0.1):
        network = Network.from_weights([(np.array([[0.0], [0.5]]), np.zeros(1))], [], "identity")
        result = check_network(network, losses.create("hinge"), X, Y, l1=l1)
        assert result.passed, result
        assert [row["kinks"] for row in result.rows] == [2, 1]


def test_relu_kinks_and_the_l1_corner_together():
    # a ReLU layer on a row of zeros (every unit at z = 0, biases 0) and a first-layer weight at 4e-7
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 2))
    X[0] = 0.0
    weights = [(rng.normal(size=(2, 3)), np.zeros(3)), (rng.normal(size=(3, 1)), np.zeros(1))]
    weights[0][0][1, 2] = 4e-7
    result = network_check(weights, ["relu"], X, rng.normal(size=(6, 1)), l1=0.2)
    assert result.passed, result
    assert result.rows[0]["kinks"] >= 1


def test_an_l1_corner_and_a_hinge_sample_on_its_margin_in_the_same_step_pass():
    # w00 = 2^-22 is within eps of 0, and b = -w00 puts sample 0 exactly on its margin (y f = 1):
    # the step crosses l1 |w00|'s corner and the hinge's kink at once. With the corner unbent the
    # loss's own kink is judged by its one-sided slopes, -1/3 + l1 and l1, which backpropagation's
    # 0 + l1 lies between (it failed by 1/6 when the corner entry skipped that judgement)
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    w0 = 2.0 ** -22
    X = np.array([[1.0, 2.0], [0.3, -1.0], [-0.7, 0.4]])
    Y = np.array([[1.0], [0.0], [1.0]])
    network = Network.from_weights([(np.array([[w0], [0.5]]), np.array([-w0]))], [], "identity")
    assert (X @ network.layers[0].W + network.layers[0].b)[0, 0] == 1.0
    result = check_network(network, losses.create("hinge"), X, Y, l1=0.1)
    assert result.passed, result
    assert [row["kinks"] for row in result.rows] == [2, 1]


def test_a_wrong_relu_derivative_beside_an_l1_corner_fails_with_finite_errors(monkeypatch):
    # weights of about 1e-7 under l1 = 0.1: every first-layer weight's step crosses its corner and
    # moves ReLU inputs across 0. A relu' 1% too large is there 1e-10 of a gradient entry of ~0.1
    # (l1 sign(w)), inside rtol; the tangent's slope is held against relu's values all the same and
    # the entry fails, reported by its unbent difference (it was nan)
    from gradlab.engine import activations
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    real = activations.ReLU.derivative
    monkeypatch.setattr(activations.ReLU, "derivative", lambda self, z: real(self, z) * 1.01)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2))
    Y = (rng.random((8, 1)) < 0.5).astype(float)
    weights = [(rng.normal(scale=1e-7, size=(2, 4)), np.zeros(4)), (rng.normal(scale=1e-7, size=(4, 1)), np.zeros(1))]
    network = Network.from_weights(weights, ["relu"], "sigmoid")
    result = check_network(network, losses.create("bce"), X, Y, l1=0.1)
    assert [row["passed"] for row in result.rows] == [False, True, True, True]
    worst = result.rows[0]["worst_failure"]
    assert worst["slope_not_value"] and np.isfinite(worst["abs_error"]) and worst["rel_error"] < 1e-6
    # with the right relu' the same network passes, its corners counted as kinks
    monkeypatch.setattr(activations.ReLU, "derivative", real)
    network = Network.from_weights(weights, ["relu"], "sigmoid")
    result = check_network(network, losses.create("bce"), X, Y, l1=0.1)
    assert result.passed and result.rows[0]["kinks"] == 8


def hinge_on_its_margin(w0, n=4):
    """One identity unit with hinge loss on n rows; row 0 is x = (1, 0) with w00 = w0 and y f = 1 exactly."""
    from gradlab.engine.network import Network

    rng = np.random.default_rng(2)
    X = rng.normal(size=(n, 2))
    X[0] = [1.0, 0.0]
    network = Network.from_weights([(np.array([[w0], [0.5]]), np.array([1.0 - w0]))], [], "identity")
    assert (X @ network.layers[0].W + network.layers[0].b)[0, 0] == 1.0
    return network, X, np.array([[1.0], [0.0], [1.0], [0.0]])[:n]


def test_the_kink_steps_do_not_meet_the_l1_corner_of_a_weight_just_beyond_eps():
    # w00 = 2^-19 (1.9e-6) is beyond eps = 1e-6 of 0, so no corner entry, but the hinge kink's one-sided
    # slopes are taken at steps up to 1e-5, which cross l1 |w00|'s corner: there the gaps 0.74 and 0.25
    # (h = 1e-5, 1e-6) looked unsteady and the right gradient failed by 1/8; unbent, they are 1/4 each
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses

    network, X, Y = hinge_on_its_margin(2.0 ** -19)
    result = check_network(network, losses.create("hinge"), X, Y, l1=0.3)
    assert result.passed, result
    assert result.rows[0]["kinks"] == 1


def test_a_decay_wrong_near_zero_fails_at_a_small_eps_too(monkeypatch):
    # eps = 1e-8, w = 2e-8: not a corner entry, so its plain difference fails by the missing l1 sign(w); the
    # kink test's steps (up to 1e-5) crossed |w|'s corner, with slopes -0.6 l1 and +l1 around the wrong
    # value, and passed it as a kink. Unbent, no kink is found and the entry fails by l1
    sign_term_dropped_below(1e-7, monkeypatch)
    weights, X, Y = decay_network()
    weights[0][0][0, 1] = 2e-8
    result = network_check(weights, ["tanh"], X, Y, l1=0.3, eps=1e-8)
    assert [row["passed"] for row in result.rows] == [False, True, True, True]
    assert result.rows[0]["worst_failure"]["abs_error"] == pytest.approx(0.3, rel=1e-4)


def near_a_loss_kink(name, offset):
    """One identity layer on 4 rows and the loss ``name``, row 0 (x = (1, 0)) ``offset`` from a kink of
    the loss: hinge's margin t f = 1, mae's residual 0, multiclass hinge's s_1 - s_0 + 1 = 0."""
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    rng = np.random.default_rng(2)
    X = rng.normal(size=(4, 2))
    X[0] = [1.0, 0.0]
    if name == "multiclass_hinge":
        weights = [(np.array([[0.25, 0.5, -0.3], [0.5, -0.2, 0.4]]), np.array([0.75, -0.5 + offset, 0.1]))]
        Y = np.eye(3)[[0, 1, 2, 0]]
    else:
        weights = [(np.array([[0.25], [0.5]]), np.array([0.75 + offset]))]
        Y = np.array([[1.0], [0.3], [0.2], [-0.1]]) if name == "mae" else np.array([[1.0], [0.0], [1.0], [0.0]])
    loss = losses.create(name)
    network = Network.from_weights(weights, [], "identity")
    network.forward(X)
    assert abs(abs(float(loss.kink_offsets(Y, network.output.a)[0, 1 if name == "multiclass_hinge" else 0]))
               - abs(offset)) < 1e-15
    return network, loss, X, Y


@pytest.mark.parametrize("name", ["hinge", "mae", "multiclass_hinge"])
@pytest.mark.parametrize("offset", [3e-7, -3e-7, 5e-8, -9e-7])
def test_a_sample_near_a_kink_of_the_loss_is_checked_short_of_it(name, offset):
    # the step eps = 1e-6 reaches the kink, 3e-7 away: the central difference straddles it and missed a right
    # gradient by 10-30%, while the kink tests' steps (1e-5 to 1e-7) do not all reach it, so saw no kink.
    # The difference from the other side alone, through p, p -+ eps/2 and p -+ eps, is the derivative again
    from gradlab.engine.gradcheck import check_network

    network, loss, X, Y = near_a_loss_kink(name, offset)
    result = check_network(network, loss, X, Y)
    assert result.passed, result
    # multiclass hinge: W's and b's first two columns move s_1 - s_0 + 1
    assert [row["kinks"] for row in result.rows] == ([2, 2] if name == "multiclass_hinge" else [1, 1])


def test_samples_near_loss_kinks_on_both_sides_of_the_step_are_checked_at_a_shorter_one():
    # rows 0 and 1 are 3e-7 above and 5e-8 below their margins: b's step of 1e-6 reaches both, one on each
    # side, so no side is free; at 1e-7 the side away from row 1's margin is, and b is taken there
    from gradlab.engine.gradcheck import Tangents, check_network

    network, loss, X, Y = near_a_loss_kink("hinge", 3e-7)
    X[1], Y[1] = [1.0, -7e-7], 1.0  # t f = 0.25 - 3.5e-7 + 0.75 + 3e-7 = 1 - 5e-8
    network.forward(X)
    assert network.output.a[:2, 0] - 1 == pytest.approx([3e-7, -5e-8], abs=1e-15)
    result = check_network(network, loss, X, Y)
    assert result.passed, result
    value, step = Tangents(network, loss, X, Y).central_difference(network.params[1], (0,), 1e-6)
    network.loss_and_gradients(loss, X, Y)
    assert value == pytest.approx(network.grads[1][0], abs=1e-8) and step == pytest.approx(1e-7 / 8, rel=1e-12)


@pytest.mark.parametrize("hidden, offset", [("leaky_relu:alpha=0.2", 0.0), ("elu:alpha=2", 0.0), ("elu:alpha=2", 3e-9)])
def test_units_on_their_kinks_beside_a_sample_on_a_loss_kink_are_left_to_the_one_sided_slopes(hidden, offset):
    # row 0 of zeros puts every hidden unit at z = 0 and, through b2, sits on (or 3e-9 from) its hinge margin: b1's
    # step takes units across their kinks and reaches the margin from both sides at every step down to 1e-8.
    # The difference with the units on tangents still straddled the margin and failed the right gradient; the
    # one-sided slopes, which see that kink steadily, pass it
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 2))
    X[0] = 0.0
    W1, b1, W2 = rng.normal(size=(2, 3)), np.zeros(3), rng.normal(size=(3, 1))
    network = Network.from_weights([(W1, b1), (W2, np.zeros(1))], [hidden], "identity")
    network.forward(X)
    b2 = np.array([1.0 + offset - network.output.a[0, 0]])
    Y = (rng.random((6, 1)) > 0.5).astype(float)
    Y[0] = 1.0
    result = check_network(Network.from_weights([(W1, b1), (W2, b2)], [hidden], "identity"), losses.create("hinge"), X, Y)
    assert result.passed, result


def test_a_weight_on_zero_under_l1_beside_a_near_loss_kink_passes():
    # w00 = 0 under l1 = 0.05, row 0 3e-7 from mae's kink: the one-sided difference took l1 |w|'s slope on its side,
    # +-0.05, where backpropagation adds l1 sign(0) = 0 (the central difference's average); |w| is now flat there
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.network import Network

    _, loss, X, Y = near_a_loss_kink("mae", 3e-7)
    network = Network.from_weights([(np.array([[0.0], [0.5]]), np.array([1.0 + 3e-7]))], [], "identity")
    result = check_network(network, loss, X, Y, l1=0.05)
    assert result.passed, result
    assert result.rows[0]["kinks"] == 1


def test_a_failure_beside_a_loss_kink_beyond_a_tiny_eps_is_not_passed_by_the_kink_steps(monkeypatch):
    # eps = 1e-8, row 0 3e-8 above its margin: the difference at eps is a derivative, and it fails a gradient averaged
    # over N - 1 rows; the one-sided slopes' steps (1e-5 to 1e-7) reached the margin and let it pass as a kink
    from gradlab.engine import losses as losses_module
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    right = losses_module.Hinge.gradient
    X = np.array([[1.0, 1.0], [0.5, -1.0], [-0.2, 0.4], [1.5, 0.3]])
    Y = np.array([[1.0], [0.0], [1.0], [1.0]])
    network = Network.from_weights([(np.array([[0.25], [0.5]]), np.array([0.25 + 3e-8]))], [], "identity")
    assert check_network(network, losses.create("hinge"), X, Y, eps=1e-8).passed
    monkeypatch.setattr(losses_module.Hinge, "gradient", lambda self, y, p: right(self, y, p) * 4 / 3)
    result = check_network(network, losses.create("hinge"), X, Y, eps=1e-8)
    assert [row["passed"] for row in result.rows] == [False, False]
    assert [row["kinks"] for row in result.rows] == [0, 0]


def test_a_weight_too_large_for_half_the_step_is_left_to_the_one_sided_slopes():
    # w = 1.2e10, whose spacing is 1.9e-6: w + eps/2 rounds to w, and the one-sided difference beside row 0's kink
    # divided by zero (ZeroDivisionError, an internal error); row 0's residual is one spacing below 0, so the step
    # up reaches the kink and the step down does not
    from gradlab.engine.gradcheck import Tangents, check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    w = 1.2e10
    assert w - 5e-7 == w and w - 1e-6 != w
    X = np.array([[1.0], [1e-10], [2e-10], [-1e-10]])
    network = Network.from_weights([(np.array([[w]]), np.array([0.0]))], [], "identity")
    network.forward(X)
    Y = network.output.a + np.array([[np.spacing(w)], [0.3], [-0.4], [0.2]])
    tangents = Tangents(network, losses.create("mae"), X, Y)
    assert tangents.central_difference(network.params[0], (0, 0), 1e-6) is None
    check_network(network, losses.create("mae"), X, Y)  # a verdict, whichever


def test_the_raised_tolerance_of_a_one_sided_difference_is_reported():
    # a regression loss of about 4e3: the central differences' noise eps_mach |C| / eps raises atol to ~9e-7,
    # and the one-sided difference taken beside row 0's residual of 3e-7 has eight times that noise
    from gradlab.engine.gradcheck import check_network

    network, loss, X, Y = near_a_loss_kink("mae", 3e-7)
    Y[1:] = [[1e4], [-1e4], [6e3]]
    result = check_network(network, loss, X, Y)
    assert result.passed, result
    at = network.loss(loss, X, Y)
    assert result.noise == pytest.approx(np.finfo(float).eps * at / 1e-6, rel=1e-12)
    assert result.near_kink_atol == pytest.approx(8 * result.noise, rel=1e-12)
    network, loss, X, Y = near_a_loss_kink("mae", 3e-3)  # far from the kink: no one-sided difference
    Y[1:] = [[1e4], [-1e4], [6e3]]
    far = check_network(network, loss, X, Y)
    assert far.passed and far.near_kink_atol is None


def test_a_hinge_gradient_wrong_near_the_margin_still_fails(monkeypatch):
    # a gradient that counts a sample as inside the margin up to t f = 1 + 1e-6: sample 0 at t f = 1 + 3e-7 adds
    # -t x / N = -1/4 to W00 and b, which the difference at a step short of the margin does not have (the
    # straddled one has part of it, and fails it too)
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import Hinge, _signs

    def wrong(self, y_true, y_pred):
        t, f = _signs(y_true, y_pred)
        return -t * (t * f < 1.0 + 1e-6) / f.shape[0]

    monkeypatch.setattr(Hinge, "gradient", wrong)
    network, loss, X, Y = near_a_loss_kink("hinge", 3e-7)
    result = check_network(network, loss, X, Y)
    assert [row["passed"] for row in result.rows] == [False, False]
    assert result.rows[0]["worst_failure"]["index"] == (0, 0)
    # reported against the difference that decided, from the side short of the margin: all of that -1/4 (the
    # straddled one has (1e-6 - 3e-7) / 2e-6 of it, and the report said 0.25 - 0.0875), held to atol (its eight
    # times larger rounding noise, 8 eps_mach C / eps = 8.5e-10, stays below it)
    worst = result.rows[1]["worst_failure"]
    assert worst["abs_error"] == pytest.approx(0.25, rel=1e-6) and worst["atol"] == 1e-8


def test_a_step_that_also_moves_a_sample_on_a_loss_kink_is_left_to_the_one_sided_slopes():
    # row 0 sits on its margin (t f = 1), row 1 is 3e-7 from its own: no difference leaves row 0's kink, so b's
    # is not retaken (None), and the one-sided slopes judge b; row 1 alone near its margin is retaken
    from gradlab.engine.gradcheck import Tangents

    network, loss, X, Y = near_a_loss_kink("hinge", 0.0)
    X[1], Y[1] = [1.0, 6e-7], 1.0
    network.forward(X)
    assert network.output.a[:2, 0].tolist() == [1.0, pytest.approx(1 + 3e-7, abs=1e-15)]
    tangents = Tangents(network, loss, X, Y)
    assert tangents.central_difference(network.params[1], (0,), 1e-6) is None
    X[0] = [0.0, 0.0]
    tangents = Tangents(network, loss, X, Y)
    network.loss_and_gradients(loss, X, Y)
    # rows 0 and 3 inside their margins push b by -1/4 and +1/4, rows 1 (t f = 1 + 3e-7) and 2 are outside; the
    # difference at eps, straddling row 1's margin, would add -(1e-6 - 3e-7) / 2e-6 / 4 = -0.0875
    assert network.grads[1][0] == 0.0
    # taken from below alone (the step up reaches row 1's margin): a one-sided difference, eight times the noise
    assert tangents.central_difference(network.params[1], (0,), 1e-6) == (pytest.approx(0.0, abs=1e-8), 1e-6 / 8)


def test_unbent_corners_nest_and_restore_the_outer_one():
    from gradlab.engine.gradcheck import Tangents
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    weights, X, Y = decay_network()
    network = Network.from_weights(weights, ["tanh"], "identity")
    tangents = Tangents(network, losses.create("mse"), X, Y, l1=0.3)
    W1, W2 = network.params[0], network.params[2]
    with tangents.unbent(W1, (0, 0)):
        with tangents.unbent(W2, (1, 0)):
            assert tangents._corner[0] is W2
        assert tangents._corner[:2] == (W1, (0, 0))
    assert tangents._corner is None


def test_a_derivative_that_is_not_the_slope_of_the_values_is_named_without_l1_too(monkeypatch):
    # relu's derivative method says 5 at z = 0 (its backward does not use it): on a row of zeros with zero
    # biases every first-layer step carries units across 0, the tangents' slopes are held against relu's
    # values, and the failures say the derivative is not their slope, as they do next to an L1 corner
    from gradlab.engine import activations

    real = activations.ReLU.derivative
    monkeypatch.setattr(activations.ReLU, "derivative", lambda self, z: np.where(z == 0, 5.0, real(self, z)))
    result = on_zero_row(["relu"])
    failing = [row for row in result.rows if not row["passed"]]
    assert failing and all(row["worst_failure"]["slope_not_value"] for row in failing)


def test_compare_takes_norms_of_gradients_past_1e154_without_overflow():
    # the squares in np.linalg.norm overflowed: "RuntimeWarning: overflow encountered in dot" (an error here)
    from gradlab.engine.gradcheck import compare

    a = np.array([3e200, 4e200])
    (row,) = compare([a], [a * (1 + 1e-9)])
    assert row["norm_rel_error"] == pytest.approx(1e-9 / 2, rel=1e-6)  # ||a e|| / (2 ||a||)
    assert row["max_rel_error"] == pytest.approx(1e-9 / 2, rel=1e-6)
    (row,) = compare([np.zeros(2)], [np.zeros(2)])
    assert row["norm_rel_error"] == 0.0


def test_the_rounding_size_of_a_network_by_hand():
    # x = (1, -2), z1 = 1 * 1 + (-2)(-2) + 0.5 = 5.5 (relu passes it), z2 = 3 * 5.5 + 1e4 = 10016.5 against
    # the target 10014.5: mse's delta2 = 2 (N = 1), delta1 = 2 * 3 = 6, so the size is
    # 2 (5.5 * 3 + 1e4) + 6 (1 * 1 + 2 * 2 + 0.5) = 20033 + 33 = 20066, where C itself is 2
    from gradlab.engine.gradcheck import rounding_size
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    network = Network.from_weights([(np.array([[1.0], [-2.0]]), np.array([0.5])), (np.array([[3.0]]), np.array([1e4]))],
                                   "relu", "identity")
    loss = losses.create("mse")
    assert network.loss_and_gradients(loss, np.array([[1.0, -2.0]]), np.array([[10014.5]])) == 2.0
    assert rounding_size(network) == 20066.0


def large_outputs_small_residuals():
    """A 2-4-1 tanh network whose outputs are about 1e4 and lie 0.01 to 0.1 from their targets (mae): C is 0.05,
    but the outputs' rounding, eps_mach 1e4, is what its values carry."""
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, size=(32, 2))
    network = Network.from_weights([(rng.normal(size=(2, 4)), rng.normal(size=4)),
                                    (rng.normal(size=(4, 1)), np.array([1e4]))], "tanh", "identity")
    network.forward(X)
    residuals = rng.uniform(0.01, 0.1, size=(32, 1)) * rng.choice([-1.0, 1.0], size=(32, 1))
    return network, losses.create("mae"), X, network.output.a + residuals


def test_a_small_loss_of_large_outputs_is_judged_at_their_rounding():
    # a right gradient failed: W1's differences were off by up to 1.0e-7 (relative 7.7e-4) against the noise
    # eps_mach |C| / eps = 1.2e-11; eps_mach times the outputs' size over eps, 2.2e-6, is above it
    from gradlab.engine.gradcheck import check_network, rounding_size

    network, loss, X, Y = large_outputs_small_residuals()
    result = check_network(network, loss, X, Y)
    assert result.passed, result
    assert 0.04 < network.loss(loss, X, Y) < 0.06
    network.loss_and_gradients(loss, X, Y)
    assert 9e3 < rounding_size(network) < 1.2e4 and result.size == rounding_size(network)
    assert result.noise == pytest.approx(np.finfo(float).eps * result.size / 1e-6, rel=1e-12)


def break_backward(monkeypatch, layer, spoil):
    """Make every backward pass wrong: layer ``layer``'s dW becomes ``spoil(dW)`` (in place, where the
    check reads it)."""
    from gradlab.engine.network import Network

    backward = Network.backward

    def wrong(self, loss, y):
        backward(self, loss, y)
        self.layers[layer].gW[...] = spoil(self.layers[layer].gW)

    monkeypatch.setattr(Network, "backward", wrong)


@pytest.mark.parametrize("factor", [1.001, 0.999])
def test_a_wrong_gradient_of_large_outputs_still_fails(monkeypatch, factor):
    # the raised atol, 2.2e-6, stays far below a 0.1% error of the gradients that matter (W2's, about 0.1-1)
    from gradlab.engine.gradcheck import check_network

    break_backward(monkeypatch, 1, lambda gW: gW * factor)
    network, loss, X, Y = large_outputs_small_residuals()
    result = check_network(network, loss, X, Y)
    assert not result.passed and [row["passed"] for row in result.rows] == [True, True, False, True]


@pytest.mark.parametrize("name", ["mse", "mae"])
def test_relu_units_on_their_kinks_under_large_outputs_pass(name):
    # three rows of zeros put each of the 5 relu units on its kink (b1 = 0) under outputs of 1e4: a right
    # gradient failed by 1.0e-8 to 1.0e-7 against atol 1e-8 (mse) and 2-4 kinks went unrecognised (mae)
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 3))
    X[:3] = 0.0
    network = Network.from_weights([(rng.normal(size=(3, 5)), np.zeros(5)), (rng.normal(size=(5, 1)), np.array([1e4]))],
                                   "relu", "identity")
    network.forward(X)
    Y = network.output.a + rng.normal(0, 0.1, size=(16, 1))
    result = check_network(network, losses.create(name), X, Y)
    assert result.passed, result
    assert [row["kinks"] for row in result.rows] == [0, 5, 0, 0]


def inputs_of_1e3(seed):
    """A 2-4-1 tanh network on 4 rows of inputs of about 1e3 (first-layer weights about 1e-3): a step of
    1e-6 on W1 moves z by about 1e-3, and the central difference's truncation error, eps^2 f''' / 6, with it."""
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4, 2)) * 1e3
    network = Network.from_weights([(rng.normal(size=(2, 4)) / 1e3, rng.normal(size=4) * 0.1),
                                    (rng.normal(size=(4, 1)), np.zeros(1))], "tanh", "identity")
    network.forward(X)
    return network, losses.create("mse"), X, network.output.a + rng.normal(size=(4, 1))


@pytest.mark.parametrize(("seed", "extrapolated"), [(1, 2), (2, 1), (6, 2), (9, 1)])
def test_a_right_gradient_failed_by_truncation_passes_by_richardson_extrapolation(monkeypatch, seed, extrapolated):
    # W1's central differences were off by relative errors of 1.3e-6 to 4.8e-5: truncation, not a wrong
    # derivative (42 of 300 random networks with inputs of 1e2-1e3 failed so in an adversarial review's fuzz)
    from gradlab.engine import gradcheck

    result = gradcheck.check_network(*inputs_of_1e3(seed))
    assert result.passed, result
    assert [row["extrapolated"] for row in result.rows] == [extrapolated, 0, 0, 0]
    monkeypatch.setattr(gradcheck.Tangents, "extrapolated", lambda *args: np.nan)  # the plain differences alone
    assert not gradcheck.check_network(*inputs_of_1e3(seed)).passed


@pytest.mark.parametrize("seed", [1, 2, 6, 9])
def test_a_wrong_gradient_is_not_passed_by_the_extrapolation(monkeypatch, seed):
    from gradlab.engine.gradcheck import check_network

    break_backward(monkeypatch, 0, lambda gW: gW * 1.001)
    result = check_network(*inputs_of_1e3(seed))
    assert [row["passed"] for row in result.rows] == [False, True, True, True]


def test_a_half_step_lost_in_a_large_weight_is_no_extrapolation(monkeypatch):
    # W1[0, 0] = 1e10: 1e10 +- 1e-6 are two numbers, 1e10 +- 5e-7 one, and the retake of a wrong gradient divided
    # by 0 (ZeroDivisionError, an adversarial review); it fails as before
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    assert 1e10 + 1e-6 != 1e10 - 1e-6 and 1e10 + 5e-7 == 1e10 - 5e-7

    def spoil(gW):  # W1[0, 0]'s entry alone
        wrong = gW.copy()
        wrong[0, 0] = gW[0, 0] * 1.01 + 1e-3
        return wrong

    break_backward(monkeypatch, 0, spoil)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4, 2))
    X[:, 0] *= 1e-10
    W1 = rng.normal(size=(2, 3))
    W1[0, 0] = 1e10
    network = Network.from_weights([(W1, rng.normal(size=3) * 0.3), (rng.normal(size=(3, 1)), np.zeros(1))],
                                   "tanh", "identity")
    network.forward(X)
    result = check_network(network, losses.create("mse"), X, network.output.a + rng.normal(size=(4, 1)))
    assert not result.passed and result.rows[0]["worst_failure"]["index"] == (0, 0)


@pytest.mark.parametrize("hidden", ["elu", "softsign"])
def test_a_unit_carried_across_its_kink_under_inputs_of_1e3_is_extrapolated_on_its_tangent(hidden):
    # the step of W1 carries sample 0's unit 0 (z = 3e-4) across its kink, so the difference with that unit on its
    # tangent judges, and its truncation error failed right gradients (elu 11, softsign 22 of 40 networks)
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    failed = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(4, 2)) * 1e3
        W1 = rng.normal(size=(2, 3)) / 1e3
        b1 = rng.normal(size=3) * 0.1
        b1[0] = 3e-4 - X[0] @ W1[:, 0]  # z = 3e-4 for sample 0, unit 0: within a step of 1e-6 on W1 (x ~ 1e3)
        network = Network.from_weights([(W1, b1), (rng.normal(size=(3, 3)), np.zeros(3)),
                                        (rng.normal(size=(3, 1)), np.zeros(1))], hidden, "identity")
        network.forward(X)
        result = check_network(network, losses.create("mse"), X, network.output.a + rng.normal(size=(4, 1)))
        failed += not result.passed
    assert failed == 0


@pytest.mark.parametrize("name", ["huber", "smooth_l1"])
@pytest.mark.parametrize("gap", [3e-4, -3e-4, 7e-4])
def test_a_residual_within_the_step_of_hubers_delta_is_checked_short_of_it(name, gap):
    # huber's curvature jumps from 1 to 0 at |r| = delta (smooth_l1's at beta): a central difference across it is
    # off by O(eps), and with inputs of 1e3 a step of 1e-6 on W1 moves r by 1e-3: W1 failed, relative error 5.8e-5
    from gradlab.engine.gradcheck import check_network
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network

    X = np.array([[1e3, -0.5e3], [0.2e3, 0.9e3]])
    network = Network.from_weights([(np.array([[0.8e-3], [0.3e-3]]), np.array([0.1]))], [], "tanh")
    network.forward(X)
    Y = network.output.a - np.array([[1.0 + gap], [0.3]])  # sample 0's residual lies gap past delta = beta = 1
    result = check_network(network, losses.create(name), X, Y)
    assert result.passed, result
    assert result.rows[0]["max_rel_error"] < 1e-7  # judged by a difference that stops short of |r| = 1 (was 5.8e-5)
