import math

import numpy as np
import pytest

from gradlab.descent import (
    Descent,
    Settings,
    Stationary,
    descend,
    linear_rate,
    metric_columns,
    metric_row,
    observed_ratio,
    plateau,
    stability,
    stationary_kind,
    update_rule,
)
from gradlab.errors import InputError
from gradlab.expr import parse

SEED = "x**2 - 4*x + 6"
ROSENBROCK = "(1-x)**2 + 100*(y-x**2)**2"


@pytest.fixture(scope="module")
def seed():
    return parse(SEED)


def test_seed_table_from_x0_8(seed):
    steps, outcome = descend(seed, [8.0], Settings(lr=0.1))
    # x_new = x_old - 0.1 (2 x_old - 4) = 0.8 x_old + 0.4:
    # 8 -> 6.8 -> 5.84 -> 5.072 -> 4.4576 -> 3.96608 -> 3.572864
    expected = [6.8, 5.84, 5.072, 4.4576, 3.96608, 3.572864]
    np.testing.assert_allclose([s.x_new[0] for s in steps[:6]], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose([s.grad[0] for s in steps[:3]], [12.0, 9.6, 7.68], rtol=0, atol=1e-9)
    np.testing.assert_allclose([s.f_new for s in steps[:2]], [25.04, 16.7456], rtol=0, atol=1e-9)  # 6.8^2 - 27.2 + 6
    for s in steps:  # every row is the seed's update rule
        assert s.x_new[0] == pytest.approx(s.x_old[0] - 0.1 * (2 * s.x_old[0] - 4), abs=1e-12)
    # the error x - 2 shrinks by 0.8 per step: 6 * 0.8^k, and the gradient 2 * 6 * 0.8^k < 1e-8 from k = 94
    assert outcome.reason == "converged" and outcome.status == "completed"
    assert outcome.steps == 94 == len(steps)
    assert outcome.x[0] == pytest.approx(2.0, abs=1e-8)
    assert outcome.f == pytest.approx(2.0, abs=1e-9)


def test_exactly_enough_steps_still_counts_as_converged(seed):
    _, outcome = descend(seed, [8.0], Settings(lr=0.1, steps=94))
    assert outcome.reason == "converged"
    _, outcome = descend(seed, [8.0], Settings(lr=0.1, steps=93))
    assert (outcome.reason, outcome.steps) == ("max_steps", 93)


def test_lr_1_1_diverges_and_stops_early(seed):
    steps, outcome = descend(seed, [8.0], Settings(lr=1.1))
    # error multiplied by 1 - 1.1 * 2 = -1.2 per step; f - 2 = 36 * 1.44^k passes 1e6 * 39 at k = 39
    assert (outcome.reason, outcome.status, outcome.steps) == ("diverged", "diverged", 39)
    assert "f rose from 38" in outcome.detail
    errors = np.array([s.x_new[0] - 2 for s in steps])
    np.testing.assert_allclose(errors[1:] / errors[:-1], -1.2, rtol=1e-9)


def test_overflow_and_leaving_the_domain_are_divergence_without_warnings():
    _, outcome = descend(parse("exp(x**2)"), [3.0], Settings(lr=0.1))
    assert outcome.reason == "diverged" and outcome.steps == 1
    assert "overflowed" in outcome.detail
    _, outcome = descend(parse("log(x)"), [1.0], Settings(lr=2.0))  # 1 - 2/1 = -1: log(-1)
    assert outcome.reason == "diverged" and "no real value" in outcome.detail


def test_momentum_first_steps_by_hand(seed):
    steps, _ = descend(seed, [8.0], Settings(method="momentum", lr=0.1, momentum=0.9, steps=2))
    # v1 = 12, x1 = 8 - 1.2 = 6.8; v2 = 0.9 * 12 + 9.6 = 20.4, x2 = 6.8 - 2.04 = 4.76
    np.testing.assert_allclose([s.x_new[0] for s in steps], [6.8, 4.76], atol=1e-12)


def test_nesterov_first_steps_by_hand(seed):
    steps, _ = descend(seed, [8.0], Settings(method="nesterov", lr=0.1, momentum=0.9, steps=2))
    # v1 = 12, x1 = 6.8; look-ahead 6.8 - 0.1 * 0.9 * 12 = 5.72, g = 7.44; v2 = 10.8 + 7.44 = 18.24; x2 = 4.976
    np.testing.assert_allclose([s.x_new[0] for s in steps], [6.8, 4.976], atol=1e-12)


def test_adam_first_step_by_hand(seed):
    steps, _ = descend(seed, [8.0], Settings(method="adam", lr=0.1, steps=1))
    # m = 0.1 * 12, v = 0.001 * 144; m_hat = 12, v_hat = 144: step = -0.1 * 12 / (12 + 1e-8)
    assert steps[0].x_new[0] == pytest.approx(8 - 0.1 * 12 / (12 + 1e-8), abs=1e-15)


@pytest.mark.parametrize("method", ["momentum", "nesterov", "adam"])
def test_every_method_reaches_the_minimum(seed, method):
    _, outcome = descend(seed, [8.0], Settings(method=method, lr=0.1, steps=3000))
    assert outcome.reason == "converged"
    assert outcome.x[0] == pytest.approx(2.0, abs=1e-6)


def test_newton_solves_a_quadratic_in_one_step(seed):
    steps, outcome = descend(seed, [8.0], Settings(method="newton"))
    assert Settings(method="newton").lr == 1.0
    assert (outcome.reason, outcome.steps, len(steps)) == ("converged", 1, 1)
    assert steps[0].x_new[0] == 2.0  # 8 - 12 / 2
    steps, outcome = descend(parse("3*(x-1)**2 + (x-1)*(y+2) + 2*(y+2)**2"), [5.0, 5.0], Settings(method="newton"))
    assert outcome.steps == 1
    np.testing.assert_allclose(outcome.x, [1.0, -2.0], atol=1e-12)


def test_rosenbrock_with_momentum_reaches_1_1():
    _, outcome = descend(parse(ROSENBROCK), [-1.5, 2.0], Settings(method="momentum", lr=2e-3, steps=3000))
    assert outcome.reason == "converged"
    np.testing.assert_allclose(outcome.x, [1.0, 1.0], atol=1e-6)
    _, plain = descend(parse(ROSENBROCK), [-1.5, 2.0], Settings(method="gd", lr=2e-3, steps=3000))
    assert plain.reason == "max_steps"  # same lr and budget without momentum: still in the valley


def test_newton_hitting_a_singular_hessian_mid_run_ends_the_run_there():
    # relu(x)**2 + x: Newton from 1 jumps to 1 - 3/2 = -0.5, where f'' = 0 and f' = 1: no next step
    run = Descent(parse("relu(x)**2 + x"), [1.0], Settings(method="newton"))
    assert [float(s.x_new[0]) for s in run] == [-0.5]
    assert run.outcome.reason == "no_step" and run.outcome.steps == 1 and float(run.outcome.x[0]) == -0.5
    assert run.outcome.status == "completed"  # a point without a Newton step is a result, not a divergence
    assert "singular at x = -0.5" in run.outcome.detail


def test_newton_without_a_step_where_the_gradient_is_zero_has_converged():
    # relu(x)**2 with lr 2 from 1: x1 = 1 - 2 * 2/2 = -1, on the flat side: f' = f'' = 0
    run = Descent(parse("relu(x)**2"), [1.0], Settings(method="newton", lr=2.0))
    assert [float(s.x_new[0]) for s in run] == [-1.0]
    assert run.outcome.reason == "converged" and run.outcome.steps == 1


@pytest.mark.parametrize(("method", "lr", "bound", "ratio"), [
    ("newton", 1.0, 2.0, 0.0),  # damped Newton: e' = (1 - lr) e whatever f''(x*)
    ("newton", 0.5, 2.0, 0.5),
    ("newton", 2.5, 2.0, 1.5),
    ("gd", 0.1, 1.0, 0.8),  # f'' = 2: bound 2/2, ratio |1 - 0.2|
])
def test_stability_bound_and_predicted_ratio(method, lr, bound, ratio):
    run = Descent(parse("x**2 - 4*x + 6"), [8.0], Settings(method=method, lr=lr, steps=20))
    stable = stability(run, list(run))
    assert stable.bound == pytest.approx(bound) and stable.predicted == pytest.approx(ratio, abs=1e-15)


def test_an_overflowing_learning_rate_is_a_divergence_with_an_infinite_predicted_ratio():
    run = Descent(parse("x**2 - 4*x + 6"), [8.0], Settings(lr=1e308))
    steps = list(run)
    assert run.outcome.reason == "diverged" and len(steps) == 1
    stable = stability(run, steps)
    assert stable.bound == 1.0 and stable.predicted == np.inf


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"lr": 0}, "lr: must be a finite number > 0, got 0"),
    ({"lr": -1.0}, "lr: must be a finite number > 0, got -1.0"),
    ({"lr": float("nan")}, "lr: must be a finite number > 0, got nan"),
    ({"lr": float("inf")}, "lr: must be a finite number > 0, got inf"),
    ({"steps": 0}, "steps: must be a whole number >= 1, got 0"),
    ({"steps": 2.5}, "steps: must be a whole number >= 1, got 2.5"),
    ({"tol": -1e-3}, "tol: must be a finite number >= 0"),
    ({"momentum": 1.0}, "momentum: must be a number in [0, 1), got 1.0"),
    ({"method": "adma"}, "method: unknown value 'adma' (did you mean 'adam'?)"),
])
def test_settings_are_checked(kwargs, fragment):
    with pytest.raises(InputError) as info:
        Settings(**kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(("text", "x0", "method", "fragment"), [
    (SEED, [1.0, 2.0], "gd", "f(x) has 1 variable but x0 has 2 coordinates"),
    (ROSENBROCK, [8.0], "gd", "f(x, y) has 2 variables but x0 has 1 coordinate; give 2, e.g. --x0=-1.5,2"),
    # a function of y alone is f(x, y) with x unused: the message says why it has two variables
    ("y**2 - 4*y + 6", [8.0], "gd", "f(x, y) has 2 variables but x0 has 1 coordinate; give 2, e.g. --x0=-1.5,2 "
                                    "(f has no x: a function of one variable is written in x)"),
    ("log(x)", [-1.0], "gd", "has no real finite value at x = -1"),
    ("sqrt(x)", [0.0], "gd", "gradient of f = sqrt(x) is not finite at x = 0"),
    ("x**3 - 3*x", [0.0], "newton", "f''(x0) = 0 at x = 0"),
    ("x**2 + y", [1.0, 1.0], "newton", "the Hessian is singular"),
    (SEED, [float("inf")], "gd", "coordinates must be finite numbers at most 1e+12 in size, got x = inf"),
    (SEED, [2e12], "gd", "at most 1e+12 in size, got x = 2e+12"),
])
def test_bad_start_is_refused_before_running(text, x0, method, fragment):
    with pytest.raises(InputError) as info:
        Descent(parse(text), x0, Settings(method=method))
    assert fragment in str(info.value)


def test_stability_of_the_seed_runs(seed):
    run = Descent(seed, [8.0], Settings(lr=0.1))
    st = stability(run, list(run))
    assert (st.x_star, st.curvature, st.bound, st.gd_bound) == (2.0, 2.0, 1.0, 1.0)
    assert st.predicted == pytest.approx(0.8, abs=1e-12)  # |1 - 0.1 * 2|
    assert st.observed == pytest.approx(0.8, abs=1e-6)
    run = Descent(seed, [8.0], Settings(lr=1.1))
    st = stability(run, list(run))
    assert st.bound == 1.0 and st.lr > st.bound
    assert st.predicted == pytest.approx(1.2, abs=1e-12) and st.observed == pytest.approx(1.2, abs=1e-9)


def test_stability_bounds_for_momentum_and_no_minimum(seed):
    run = Descent(seed, [8.0], Settings(method="momentum", momentum=0.5))
    st = stability(run, list(run))
    assert st.bound == pytest.approx(2 * 1.5 / 2)  # 2 (1 + beta) / f''
    run = Descent(parse("-x**2"), [1.0], Settings(steps=5))
    assert stability(run, list(run)) is None
    run = Descent(parse(ROSENBROCK), [0.0, 0.0], Settings(steps=2, lr=1e-3))
    assert stability(run, list(run)) is None  # the 1-D analysis only


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov"])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_linear_bounds_are_where_the_spectral_radius_reaches_1(method, beta):
    bound, _ = linear_rate(method, 1.0, beta)
    assert linear_rate(method, bound * 0.999, beta)[1] < 1
    assert linear_rate(method, bound, beta)[1] == pytest.approx(1.0, abs=1e-6)
    assert linear_rate(method, bound * 1.001, beta)[1] > 1


def test_observed_ratio_skips_rounding_level_errors():
    path = 2 + 6 * 0.5 ** np.arange(80.0)
    ratio, m = observed_ratio(path, 2.0)
    assert ratio == pytest.approx(0.5, rel=1e-9) and m == 20
    assert observed_ratio(np.array([8.0, 2.0]), 2.0) == (None, 0)


@pytest.mark.parametrize(("lr", "steps", "turn"), [(0.9, (100, 150, 200, 250, 300), 4.14), (0.01, (200, 300, 400), 46.4)])
def test_the_observed_ratio_of_an_error_circling_the_minimum_is_its_spectral_radius(seed, lr, steps, turn):
    # momentum, beta 0.9, f'' = 2: complex eigenvalues of modulus sqrt(0.9) = 0.9487. The ratio of the two end
    # errors read 0.87 to 1.05 for the same run stopped at 100 to 300 steps, and 1.007 at lr 0.01
    from gradlab.descent.linear_stability import oscillation_period

    assert oscillation_period("momentum", 2 * lr, 0.9) == pytest.approx(turn, rel=0.01)
    assert oscillation_period("gd", 2 * lr, 0.9) is None
    for n in steps:
        run = Descent(seed, [8.0], Settings(lr=lr, method="momentum", steps=n, tol=0.0))
        st = stability(run, list(run))
        assert st.predicted == pytest.approx(math.sqrt(0.9), rel=1e-12)
        assert st.observed == pytest.approx(math.sqrt(0.9), rel=1e-6), n  # the block maxima read 0.935-0.965


@pytest.mark.parametrize("steps", [40, 50, 55, 60, 70, 80])
def test_nesterovs_observed_ratio_does_not_depend_on_where_the_run_stops(seed, steps):
    # lr 0.1, beta 0.9, f'' = 2: spectral radius sqrt(0.72) = 0.848528; the block maxima read 0.816 to 0.862
    run = Descent(seed, [8.0], Settings(lr=0.1, method="nesterov", steps=steps, tol=0.0))
    st = stability(run, list(run))
    assert st.predicted == pytest.approx(math.sqrt(0.72), rel=1e-12)
    assert st.observed == pytest.approx(math.sqrt(0.72), rel=1e-6)


def test_the_turning_rate_is_the_modulus_whatever_the_phase():
    from gradlab.descent.linear_stability import _turning_rate

    k = np.arange(30.0)
    for phase in (0.0, 0.7, 2.0):
        errors = 3.0 * 0.8 ** k * np.cos(1.3 * k + phase)
        assert _turning_rate(errors.tolist()) == pytest.approx(0.8, rel=1e-12)
    assert _turning_rate([1.0, 0.5, 0.25]) is None  # fewer than four errors
    assert _turning_rate([1.0, 0.5, 0.25, 0.125]) is None  # geometric: D = 0, no turn to measure


def test_update_rules_show_the_numbers(seed):
    assert update_rule(seed, Settings(lr=0.1)) == ["x_new = x_old - 0.1 * (2*x - 4)"]
    assert update_rule(seed, Settings(method="newton")) == ["x_new = x_old - (2*x - 4) / (2)"]
    assert update_rule(seed, Settings(method="momentum", momentum=0.5, lr=0.2)) == [
        "v_new = 0.5 * v_old + (2*x - 4)", "x_new = x_old - 0.2 * v_new"]
    assert update_rule(parse(ROSENBROCK), Settings(lr=1e-3)) == ["(x, y)_new = (x, y)_old - 0.001 * grad f"]


def test_metric_rows_start_at_step_0(seed):
    run = Descent(seed, [8.0], Settings(steps=1))
    first = next(iter(run))
    assert metric_columns(("x",)) == ["step", "x", "f", "df_dx", "step_size"]
    assert metric_row(run, None) == {"step": 0, "x": 8.0, "f": 38.0, "df_dx": 12.0, "step_size": None}
    row = metric_row(run, first)
    assert row["step"] == 1 and row["x"] == pytest.approx(6.8) and row["df_dx"] == pytest.approx(9.6)
    assert row["step_size"] == pytest.approx(1.2)


def test_a_flat_minimum_has_no_bound():
    run = Descent(parse("x**4"), [1.0], Settings(steps=200))
    st = stability(run, list(run))
    assert st.flat and st.bound == st.gd_bound == float("inf")
    assert st.predicted == 1.0 and 0.99 < st.observed < 1  # slower than any geometric rate
    assert abs(st.x_star) < 1e-12


def test_flat_means_f2_below_1_percent_of_f2_just_beside_x_star():
    from gradlab.descent.linear_stability import is_flat

    # f = x**4 + c x**2 at x* = 0 (f' = 0): beside it by d = sqrt(eps_mach) = 1.49e-8,
    # f'' = 12 d**2 + 2c = 2.665e-15 + 2c. c = 1e-18: 2e-18 is 7.5e-4 of 2.667e-15, below 1%: flat;
    # c = 1e-15: 2e-15 is 43% of 4.665e-15: curved
    assert is_flat(parse("x**4 + 1e-18*x**2"), 0.0, 2e-18)
    assert not is_flat(parse("x**4 + 1e-15*x**2"), 0.0, 2e-15)


def test_newton_steps_that_shrink_too_slowly_claim_no_minimum():
    from gradlab.descent.linear_stability import find_minimum_1d

    # on x**26 Newton's step is x / 25, so x shrinks by 24/25 a step: 200 steps from 1 end at
    # 0.96**200 = 2.8e-4, their last step only 2.8e-4 of the first (not the 1e-6 asked): the point
    # reached is no minimum (that is 0), and none is claimed
    assert find_minimum_1d(parse("x**26"), [1.0]) is None


@pytest.mark.parametrize(("text", "x0", "settings", "curvature"), [
    ("cosh(x)", 20.0, dict(method="adam", lr=0.5, steps=2000), 1.0),  # f''(20) = cosh 20 = 2.4e8
    ("2**x**2", 8.0, dict(), 2 * np.log(2)),  # f'' = 2 ln 2 (1 + 2 ln 2 x^2) 2^(x^2): 2.3e21 at 8
])
def test_a_curved_minimum_is_not_flat_however_curved_the_start(text, x0, settings, curvature):
    # the old rule called f''(x*) "0 to rounding" when below 1e-8 |f''(x0)|: 1 < 2.4 against cosh(20)
    run = Descent(parse(text), [x0], Settings(**settings))
    st = stability(run, list(run))
    assert st.x_star == pytest.approx(0, abs=1e-12)
    assert st.curvature == pytest.approx(curvature) and not st.flat
    assert st.gd_bound == pytest.approx(2 / curvature)
    if st.method == "gd":  # 2**x**2: lr < 2 / (2 ln 2) = 1.4427; |1 - 0.1 * 1.38629| = 0.86137
        assert st.bound == pytest.approx(1 / np.log(2)) and st.predicted == pytest.approx(1 - 0.2 * np.log(2))


def test_a_stationary_start_takes_zero_steps():
    steps, outcome = descend(parse("x*y"), [0.0, 0.0])
    assert steps == [] and (outcome.reason, outcome.steps) == ("converged", 0)


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov"])
def test_overflow_inside_the_update_itself_is_divergence_not_a_warning(seed, method):
    # lr * g = 1e308 * 12 overflows in the update rule itself, before f is evaluated
    _, outcome = descend(seed, [8.0], Settings(method=method, lr=1e308))
    assert (outcome.reason, outcome.steps) == ("diverged", 1)
    assert "no longer a finite number" in outcome.detail


def test_adam_squaring_a_huge_gradient_does_not_warn():
    # at x = 1000, f = e^500 ~ 1e217 is finite but g**2 = e^1000 / 4 overflows: v = inf freezes the step at 0
    _, outcome = descend(parse("exp(x/2)"), [1000.0], Settings(method="adam", lr=1.0, steps=3))
    assert (outcome.reason, outcome.steps) == ("max_steps", 3)


# Newton on x^4 moves x to x - x/3 = 2x/3: from 1 it is below tol after 44 steps, (2/3)^44 = 1.79e-8
# (43 for a lone x^4, whose gradient 4x^3 counts alone), where the Hessian is ~1e-15 and every
# eigenvalue passed the curvature test as >= 0: a minimum
@pytest.mark.parametrize(("text", "x0", "x_end", "kind"), [
    ("-x**4 - y**4", [1.0, 1.0], [1.78642e-08, 1.78642e-08], "maximum"),
    ("x**4 - y**4", [1.0, 1.0], [1.78642e-08, 1.78642e-08], "saddle point"),
    ("-x**4 + y**2", [1.0, 1.0], [2.67964e-08, 0.0], "saddle point"),  # flat along x only
    ("-(x + 2*y)**4 + (2*x - y)**2", [1.0, 1.0], [1.07239e-08, 2.14478e-08], "saddle point"),  # flat along (1, 2)
    ("-x**4", [1.0], [2.67964e-08], "maximum"),
    # f'' = -2 along y made it a 'maximum', though f rises along x, where the Hessian is 0 to rounding
    ("x**4 - y**2", [1.0, 1.0], [2.67964e-08, 0.0], "saddle point"),
    # beside f = 1 the probes at ~1e-6 change f by ~1e-24, far below its rounding: all were 'minima'
    ("1 - x**4 - y**4", [1.0, 1.0], [1.78642e-08, 1.78642e-08], "maximum"),
    ("x**4 - y**4 + 1", [1.0, 1.0], [1.78642e-08, 1.78642e-08], "saddle point"),
    ("1 - x**4", [1.0], [2.67964e-08], "maximum"),
    # y shows at ~1e-6 and x only at ~1e-3: each direction is widened until it shows on its own
    ("1 + x**4 - y**2", [1.0, 1.0], [2.67964e-08, 0.0], "saddle point"),
    ("1 - x**4 + y**2", [1.0, 1.0], [2.67964e-08, 0.0], "saddle point"),
])
def test_flat_maxima_and_saddle_points_are_told_by_f_itself(text, x0, x_end, kind):
    expr = parse(text)
    _, outcome = descend(expr, x0, Settings(method="newton"))
    assert outcome.reason == "converged"
    np.testing.assert_allclose(outcome.x, x_end, rtol=1e-5, atol=1e-300)
    assert stationary_kind(expr, outcome.x) == Stationary(kind, by_values=True)
    assert plateau(expr, outcome.x) is None


@pytest.mark.parametrize(("text", "x0", "settings", "x_end", "atol"), [
    ("x**4 + y**4", [1.0, 1.0], dict(method="newton"), [1.78642e-08, 1.78642e-08], 1e-300),
    ("x**4 + 2*y**2", [1.0, 1.0], dict(method="newton"), [2.67964e-08, 0.0], 1e-300),
    ("(x - 1)**4 + y**2", [0.0, 1.0], dict(method="newton"), [1 - 2.67964e-08, 0.0], 1e-300),
    ("x**4 + 100", [1.0], dict(method="newton"), [2.67964e-08], 1e-300),  # rises by 1e-12 at the widest probe, 1e-3
    ("x**4 + y**4 + 100", [1.0, 1.0], dict(method="newton"), [1.78642e-08, 1.78642e-08], 1e-300),
    ("x**4 + 2*y**2 + 1", [1.0, 1.0], dict(method="newton"), [2.67964e-08, 0.0], 1e-300),
    # a valley of minima along y = x^2; gd stops up to tol up its wall, from where f falls along the
    # valley on both sides: probed from there it looked like a saddle point
    ("(y - x**2)**2", [0.5, 0.5], dict(lr=0.1), [0.62220146, 0.38713466], 1e-300),
    # x^4/24 + ... in exact arithmetic, but float64 computes -x^2/2 below |x| = 1e-8, where cosh x
    # rounds to 1: measured against eps |f| the probes saw a maximum along x. Where Newton stops, a
    # few roundings of sinh x - x from 0, is the platform's sinh (2.9e-8 on NumPy 2.4, 3.8e-8 on 1.24)
    ("cosh(x) - 1 - x**2/2 + y**2", [1.0, 1.0], dict(method="newton"), [0.0, 0.0], 1e-7),
    ("cosh(x) - 1 - x**2/2 + y**2", [0.0, 0.0], dict(), [0.0, 0.0], 1e-300),
])
def test_flat_minima_stay_minima(text, x0, settings, x_end, atol):
    expr = parse(text)
    _, outcome = descend(expr, x0, Settings(**settings))
    assert outcome.reason == "converged"
    np.testing.assert_allclose(outcome.x, x_end, rtol=1e-5, atol=atol)
    assert stationary_kind(expr, outcome.x) is None
    assert plateau(expr, outcome.x) is None


@pytest.mark.parametrize(("text", "x0", "kind"), [
    # a start on the point: f is -1 - 2.2e-32 at the first probe, sqrt(eps) away, which rounds to -1
    ("-exp(x**4)", [0.0], Stationary("maximum", by_values=True)),
    # the Hessian is 0/0 = nan at (0, 0), so f was never asked
    ("-(x**2 + y**2)**1.5", [0.0, 0.0], Stationary("maximum", by_values=True, hessian_finite=False)),
    ("-(x**2)**(2/3)", [0.0], Stationary("maximum", by_values=True, hessian_finite=False)),  # f'' = -inf
    # minima, kinked or with a Hessian of nan, stay minima
    ("(x**2 + y**2)**1.5", [0.0, 0.0], None),
    ("(x**2)**(2/3)", [0.0], None),
    ("abs(x)", [0.0], None),
    ("abs(x) + abs(y)", [0.0, 0.0], None),
    ("exp(x**4)", [0.0], None),
    # beside f = 1 or 1e6 the flat direction changes f by 1e-18 at 1e-3: below float64's rounding
    ("1 - x**6 - y**6", [0.0, 0.0], Stationary("maximum", by_values=True)),
    ("-x**2 + y**6 + 1", [0.0, 0.0], Stationary("saddle point", by_values=True)),
    ("x**2 - y**6 + 1e6", [0.0, 0.0], Stationary("saddle point", by_values=True)),
    ("1e6 - x**4 + x**8", [0.0], Stationary("maximum", by_values=True)),
    # minima beside a large f stay minima
    ("1 + x**6 + y**6", [0.0, 0.0], None),
    ("1e6 + x**4 + (y - 1)**8", [0.0, 1.0], None),
    # 2.092 is a 57-bit constant in mpmath, x0 a 53-bit float: the start is 1e-16 off the minimum, and
    # f0 - noise at mpmath's default 53 bits rounded f0 to 3.7 and made it a maximum
    ("1.479*(x + 2.092)**4 + 3.7", [-2.092], None),
])
def test_a_start_on_a_flat_or_non_finite_hessian_point_is_told_by_f(text, x0, kind):
    expr = parse(text)
    _, outcome = descend(expr, x0, Settings())
    assert (outcome.reason, outcome.steps) == ("converged", 0)
    assert stationary_kind(expr, outcome.x) == kind
    assert plateau(expr, outcome.x) is None


def test_a_maximum_flat_along_some_direction_is_still_a_maximum():
    expr = parse("-x**4 - y**2")  # f'' = -2 along y; along x the Hessian is 0, and f falls there too
    _, outcome = descend(expr, [1.0, 1.0], Settings(method="newton"))
    np.testing.assert_allclose(outcome.x, [2.67964e-08, 0.0], rtol=1e-5, atol=1e-300)
    assert stationary_kind(expr, outcome.x) == Stationary("maximum")


@pytest.mark.parametrize(("text", "x0", "direction", "gradient", "rounded"), [
    # f' = 2x e^(-x^2) = 12 e^-36 = 2.78e-15, f'' = (2 - 4x^2) e^(-x^2) < 0: f falls on towards the minimum at 0
    ("-exp(-x**2)", [6.0], [-1.0], 2.7834273962922828e-15, False),
    ("-exp(-x**2)", [20.0], [-1.0], 7.660678386856023e-173, False),  # g * g underflows float64: |g| is taken by hypot
    # tanh(-20) is -1 in float64, and 1 - tanh^2 is 0; to 50 digits it is 4 e^-40 = 1.6993e-17
    ("tanh(x)", [-20.0], [-1.0], 1.6993417021166355e-17, True),
    ("tanh(x)", [20.0], [-1.0], 1.6993417021166355e-17, True),
    # grad = (e^-20, e^-20); the Hessian is singular, and f falls along the diagonal for ever
    ("exp(x + y)", [-10.0, -10.0], [-0.5**0.5, -0.5**0.5], 2**0.5 * 2.061153622438558e-09, False),
    ("sigmoid(x)", [-20.0], [-1.0], 2.0611536139418488e-09, False),
    # f falls with slope 1e-9 for ever along x; y is at its minimum, where the Hessian is 2
    ("1e-9*x + y**2", [0.0, 0.0], [-1.0, 0.0], 1e-9, False),
])
def test_a_plateau_is_where_f_falls_on_beyond_rounding(text, x0, direction, gradient, rounded):
    expr = parse(text)
    _, outcome = descend(expr, x0, Settings())
    assert (outcome.reason, outcome.steps) == ("converged", 0)
    found = plateau(expr, outcome.x)
    np.testing.assert_allclose(found.direction, direction, rtol=1e-12, atol=1e-300)
    assert float(found.gradient) == pytest.approx(gradient, rel=1e-12)
    assert (found.rounded, found.kind) == (rounded, "plateau")


@pytest.mark.parametrize(("text", "x0", "settings", "steps"), [
    ("x**2", [1e-9], {}, 0),  # the minimum 0 is 1e-9 away, where f'(x)/f''(x) = 1e-9 puts it
    ("x**4", [0.0013], {}, 0),  # a flat minimum 3 Newton steps (4.3e-4) away: f rises again 8 steps downhill
    ("x**40", [0.56], {}, 0),  # 39 Newton steps (0.0144) away
    ("x**4 + y**4", [1e-3, 1e-3], {}, 0),
    ("x**3", [0.0], {}, 0),  # an inflection: the gradient is 0 to 50 digits too
    ("(x - 0.1)**3", [0.1], {}, 0),  # 5.6e-18 beside the inflection at the exact 0.1, which float64 cannot hold
    ("relu(x)", [-1.0], {}, 0),  # flat: f is 0 on the whole left half
    ("cos(x)", [1e-9], {}, 0),  # beside a maximum
    # Newton stops 7 of its steps (9.8e-4 and 2.6e-3) off these flat points: 10 steps pass the probes'
    # reach, so they are not right beside, and f is probed past them, twice as far at a time. In the
    # first, the curvature along -g, 8e-16, is lost in the rounding of the Hessian's entries of 2, so
    # that is done on both sides
    ("(x + y)**2 + (x - y)**8", [0.2864, -0.7613], {"method": "newton", "steps": 500}, 43),
    ("-0.1207*(x + 1.847)**8 + 7.435*(y - 0.8372)**2 + 1e12", [0.1227, 2.289], {"method": "newton", "steps": 500}, 43),
])
def test_a_point_beside_a_stationary_one_is_no_plateau(text, x0, settings, steps):
    expr = parse(text)
    _, outcome = descend(expr, x0, Settings(**settings))
    assert (outcome.reason, outcome.steps) == ("converged", steps)
    assert plateau(expr, outcome.x) is None


def test_a_probe_where_f_has_no_real_value_tells_nothing():
    # value_precise gives None where f has no real value (sqrt of a negative beside a domain's edge);
    # the comparison raised TypeError on it, where a non-finite value tells nothing (0)
    from gradlab.descent.probes import compare, first_difference

    assert [compare(*args, 1e-45) for args in [(None, 1.0), (1.0, None), (float("nan"), 1.0),
                                                (0.5, 1.0), (1.5, 1.0)]] == [0, 0, 0, -1, 1]
    expr = parse("sqrt(1 - x**2) - y**4")
    assert expr.value_precise([2.0, 0.0]) is None
    assert first_difference(expr, np.array([0.0, 0.0]), np.array([1.0, 0.0]), [2.0], expr.value_precise([0, 0]),
                            1e-40) == (0, 0)


def test_adam_at_the_engines_smallest_eps_steps_at_most_lr_where_the_square_underflows():
    from gradlab.engine.optimizers import optimizers

    # descend's Adam has the engine Adam's limit: v = 0.001 (2e-170)^2 = 4e-343 rounds to 0 in float64, so
    # the first step is lr m_hat / eps = 0.1 * 2e-170 / 7.03e-161 = 2.8e-11, at most lr as eps >= the limit
    smallest = optimizers.create("adam").smallest_eps(np.dtype(np.float64))
    steps, _ = descend(parse("x**2"), [1e-170], Settings(method="adam", eps=smallest, tol=0, steps=1))
    assert abs(steps[0].x_new[0] - 1e-170) == pytest.approx(0.1 * 2e-170 / smallest)
    with pytest.raises(InputError, match=r"^eps: adam eps = .* is too small for float64: .*use eps >= 7.03e-161$"):
        Settings(method="adam", eps=smallest * 0.99)
    # beta2 sets the weight of g^2 in v: with beta2 = 0, v = g^2 underflows below sqrt(4.9e-324) = 2.2227e-162
    with pytest.raises(InputError, match=r"use eps >= 2.23e-162$"):
        Settings(method="adam", beta2=0.0, eps=1e-163)
    assert Settings(method="gd", eps=1e-300).eps == 1e-300  # only Adam adds eps to a square root


@pytest.mark.parametrize(("text", "path", "kink"), [
    ("abs(x)", [0.05, -0.05, 0.05, -0.05], (0.0, -1.0, 1.0)),
    ("relu(x) + relu(-x)", [0.05, -0.05, 0.05, -0.05], (0.0, -1.0, 1.0)),
    ("abs(x - 1) + 0.5*x", [0.85, 0.9, 0.95, 1.0, 0.85], (1.0, -0.5, 1.5)),
    ("x**2", [0.5, -0.5, 0.5, -0.5], None),  # a smooth minimum in a 2-cycle (lr = 2/f''): f' -> 0 at 0
    ("abs(x)", [0.3, 0.2, 0.1, 0.05], None),  # all on one side: nothing circled
    ("abs(x**3)", [0.05, -0.05, 0.05, -0.05], None),  # f' is continuous: |x|^3 is smooth enough at 0
])
def test_kink_minimum(text, path, kink):
    from gradlab.descent import kink_minimum

    found = kink_minimum(parse(text), path)
    if kink is None:
        assert found is None
    else:
        assert (round(found.x, 12), found.left, found.right) == kink
        assert (found.low, found.high) == (min(path), max(path))


def test_a_gradient_beyond_the_square_root_of_the_largest_float_has_its_finite_norm():
    # f'(460) = e^460 = 5.96e199: sqrt(g . g) overflowed to inf past 1.3e154
    from gradlab.descent.points import norm

    assert norm(np.array([math.exp(460)])) == math.exp(460)
    assert norm(np.array([3e200, 4e200])) == pytest.approx(5e200, rel=1e-15)
    assert norm(np.array([np.inf, np.nan])) == math.inf


# --------------------------------------------------------------------------- long runs: the compact trajectory


@pytest.mark.parametrize(("text", "x0", "settings"), [
    (SEED, [8.0], Settings(lr=0.1)),
    (SEED, [8.0], Settings(lr=1.1)),  # diverged: the last point is the one that gave up
    (SEED, [8.0], Settings(method="momentum", lr=0.1)),
    (SEED, [8.0], Settings(method="nesterov", lr=0.1)),
    ("x**4", [1.0], Settings(method="newton", steps=50)),
    (ROSENBROCK, [-1.5, 2.0], Settings(method="adam", lr=0.05, steps=300)),
])
def test_a_trajectory_gives_back_the_steps_exactly(text, x0, settings):
    from gradlab.descent import Trajectory

    run = Descent(parse(text), x0, settings)
    steps = list(run)
    trajectory = Trajectory(run, settings.steps)
    for step in steps:
        trajectory.add(step)
    assert len(trajectory) == len(steps) > 0
    for kept, step in zip([*trajectory, trajectory[-1]], [*steps, steps[-1]]):
        assert kept.step == step.step and kept.f_new == step.f_new and kept.step_size == step.step_size
        for name in ("x_old", "grad", "x_new", "grad_new"):
            assert getattr(kept, name).tolist() == getattr(step, name).tolist(), name
    assert trajectory.x.tolist() == [run.x0.tolist(), *(s.x_new.tolist() for s in steps)]
    assert trajectory.f.tolist() == [run.f0, *(s.f_new for s in steps)]
    assert Trajectory.of(run, steps).x.tolist() == trajectory.x.tolist() and Trajectory.of(run, trajectory) is trajectory
    assert stability(run, trajectory) == stability(run, steps)
    kept, listed = run.interrupt(trajectory), run.interrupt(steps)
    assert (kept.steps, kept.x.tolist(), kept.f, kept.grad.tolist()) == (
        len(steps), listed.x.tolist(), listed.f, listed.grad.tolist())
    with pytest.raises(IndexError):
        trajectory[len(steps)]


def test_a_trajectory_takes_24_bytes_a_step_in_one_variable_not_a_step_object():
    # a Step with its four one-element arrays took 576 bytes: a million steps were 0.9 GB
    from gradlab.descent import Trajectory

    run = Descent(parse(SEED), [8.0], Settings(lr=1e-7, steps=1000, tol=0))
    trajectory = Trajectory.of(run, list(run))
    assert len(trajectory) == 1000
    assert sum(column.nbytes for column in (trajectory.x, trajectory.grad, trajectory.f)) == 24 * 1001


def test_iterating_a_descent_leaves_the_callers_numpy_error_state_alone():
    # the steps are computed in batches inside np.errstate(all="ignore"): between steps, and after the
    # run, the caller's own settings hold (here: raise), and the run's overflow still ends it as diverged
    long_run = Descent(parse(SEED), [8.0], Settings(lr=1e-7, steps=600, tol=0))  # more than two batches
    overflowing = Descent(parse("exp(x**2)"), [3.0], Settings(lr=0.1))  # exp(4858.85**2) at step 1
    with np.errstate(all="raise"):
        before = np.geterr()
        seen = [np.geterr() for run in (long_run, overflowing) for _ in run]
        assert len(seen) == 601 and all(state == before for state in seen)
        assert np.geterr() == before
        with pytest.raises(FloatingPointError):
            np.float64(1e300) * 1e300
    assert long_run.outcome.reason == "max_steps"
    assert overflowing.outcome.reason == "diverged" and "f overflowed" in overflowing.outcome.detail


def test_a_run_stopped_early_has_no_outcome_yet():
    run = Descent(parse(SEED), [8.0], Settings(lr=1.1, steps=50))  # diverges at step 39, within the first batch
    assert [s.step for s, _ in zip(run, range(3))] == [1, 2, 3]
    assert run.outcome is None


@pytest.mark.parametrize("text", ["x**2 - 4*x + 6", "x", "relu(x) + abs(x - 1)", "sigmoid(x)*log(1 + x**2)",
                                  ROSENBROCK, "3*x + y", "exp(x*y) - sqrt(x**2 + y**2)"])
def test_value_and_gradient_are_the_numbers_of_value_and_gradient(text):
    expr = parse(text)
    for point in ([0.3, -1.7], [2.0, 0.5], [-40.0, 3.0], [1e200, 1e-300]):
        x = np.array(point[:expr.n_vars])
        with np.errstate(all="ignore"):
            f, g = expr.value_and_gradient(x)
        assert type(f) is float and g.dtype == np.float64 and g.shape == (expr.n_vars,)
        assert np.array_equal([f], [expr.value(x)], equal_nan=True)
        assert np.array_equal(g, expr.gradient(x), equal_nan=True)
