"""Losses: batch-mean values, gradients (with the 1/N) against finite differences, properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradlab.engine.activations import Softmax, activations
from gradlab.engine.losses import as_targets, losses
from gradlab.errors import InputError

N, K = 6, 3


def case(name, seed=0):
    """Predictions and targets a loss can take, away from its kinks."""
    rng = np.random.default_rng(seed)
    if name in ("bce",):
        return rng.integers(0, 2, (N, 1)).astype(float), rng.uniform(0.05, 0.95, (N, 1))
    if name in ("bce_logits", "hinge"):
        y = rng.integers(0, 2, (N, 1)).astype(float)
        z = rng.normal(0, 2, (N, 1))
        if name == "hinge":  # keep t f away from the kink at 1
            t = np.where(y > 0, 1, -1)
            z[np.abs(t * z - 1) < 0.05] += 0.2
        return y, z
    if name in ("cross_entropy", "multiclass_hinge"):
        y = rng.integers(0, K, N)
        s = rng.normal(0, 2, (N, K))
        return y, s
    y = rng.normal(size=(N, K))
    r = rng.normal(0, 2, (N, K))
    r[np.abs(r) < 0.05] += 0.2  # mae's kink at r = 0
    for kink in (1.0, -1.0):  # huber/smooth_l1 at |r| = 1
        r[np.abs(r - kink) < 0.05] += 0.2
    return y, y + r


@pytest.mark.parametrize("name", list(losses))
def test_gradient_matches_central_differences(name):
    loss = losses.create(name)
    y, p = case(name)
    if name == "multiclass_hinge":  # keep margins away from 0
        onehot = as_targets(y, p)
        correct = (p * onehot).sum(1, keepdims=True)
        m = p - correct + 1
        p = p + 0.2 * ((np.abs(m) < 0.05) & (onehot == 0))
    exact = loss.gradient(y, p)
    numeric = np.zeros_like(p)
    h = 1e-6
    for idx in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (loss.value(y, up) - loss.value(y, down)) / (2 * h)
    scale = np.maximum(np.maximum(np.abs(exact), np.abs(numeric)), 1e-3)
    assert np.max(np.abs(exact - numeric) / scale) < 1e-7


@pytest.mark.parametrize("name", list(losses))
def test_kink_offsets_are_zero_where_the_slope_jumps(name):
    # a gradient check steps short of these kinks (gradcheck.Tangents): each offset moves with its own prediction
    # (slope 1 or t = +-1) and, set to 0 there, puts the loss's one-sided slopes 1/N apart (|r|'s 2/N), or for
    # huber and smooth_l1 its one-sided curvatures
    loss = losses.create(name)
    y, p = case(name, seed=4)
    offsets = loss.kink_offsets(y, p)
    assert (offsets is not None) is (name in ("mae", "hinge", "multiclass_hinge", "huber", "smooth_l1"))
    if offsets is None:
        return
    assert offsets.shape == p.shape
    index = (0, int(np.flatnonzero(as_targets(y, p)[0] == 0)[0])) if name == "multiclass_hinge" else (0, 0)
    nudged = p.copy()
    nudged[index] += 1e-3  # small: huber's |r| - delta turns at r = 0
    slope = (loss.kink_offsets(y, nudged)[index] - offsets[index]) / 1e-3
    assert abs(slope) == pytest.approx(1.0, rel=1e-9)
    slope = round(slope)  # +-1 exactly
    p = p.copy()
    p[index] -= offsets[index] / slope
    assert abs(loss.kink_offsets(y, p)[index]) < 1e-14
    h = 1e-4

    def at(step):
        moved = p.copy()
        moved[index] += step
        return loss.value(y, moved)

    right, left = (at(h) - at(0)) / h, (at(0) - at(-h)) / h
    if name in ("huber", "smooth_l1"):  # the slope is continuous there, the curvature jumps from 1 (huber) to 0
        assert abs(right - left) < 1e-3 / N
        curvatures = (at(2 * h) - 2 * at(h) + at(0)) / h**2, (at(0) - 2 * at(-h) + at(-2 * h)) / h**2
        assert abs(curvatures[0] - curvatures[1]) == pytest.approx(1 / N, rel=1e-4)  # delta = beta = 1
        return
    assert right - left == pytest.approx((2 if name == "mae" else 1) / N, rel=1e-6)


def test_cat_dog_bird_worked_example():
    # logits (3, 1, -3): e^3 = 20.0855, e^1 = 2.7183, e^-3 = 0.0498, sum = 22.8536
    # softmax = (0.8789, 0.1189, 0.0022); loss = -ln 0.8789 = 0.1291
    z = np.array([[3.0, 1.0, -3.0]])
    np.testing.assert_allclose(Softmax().value(z), [[0.8789, 0.1189, 0.0022]], atol=5e-5)
    ce = losses.create("cross_entropy")
    assert ce.value(np.array([0]), z) == pytest.approx(0.1291, abs=5e-5)
    assert ce.value(np.array([[1.0, 0.0, 0.0]]), z) == ce.value(np.array([0]), z)  # one-hot or index
    np.testing.assert_allclose(ce.gradient(np.array([0]), z), Softmax().value(z) - [[1, 0, 0]])


def test_mse_follows_the_seeds_half_convention():
    # C = 1/(2N) sum (y_hat - y)^2: residuals 1 and 3 over N = 2 -> (1 + 9) / 4 = 2.5
    mse = losses.create("mse")
    y, p = np.array([[0.0], [0.0]]), np.array([[1.0], [3.0]])
    assert mse.value(y, p) == 2.5
    np.testing.assert_array_equal(mse.gradient(y, p), [[0.5], [1.5]])


def test_fused_gradients_equal_the_chain_rule():
    """(y_hat - y)/N is exactly dC/dy_hat * dy_hat/dz for sigmoid + bce and softmax + cross-entropy."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(5, 1))
    y = rng.integers(0, 2, (5, 1)).astype(float)
    sig = activations.create("sigmoid")
    bce = losses.create("bce")
    a = sig.value(z)
    np.testing.assert_allclose(bce.logit_gradient(y, a, z), sig.backward(z, a, bce.gradient(y, a)), rtol=1e-10)
    np.testing.assert_allclose(bce.logit_gradient(y, a, z), losses.create("bce_logits").gradient(y, z), rtol=1e-12)
    zk = rng.normal(size=(5, 4))
    labels = rng.integers(0, 4, 5)
    sm, ce = Softmax(), losses.create("cross_entropy")
    np.testing.assert_allclose(ce.logit_gradient(labels, sm.value(zk), zk), ce.gradient(labels, zk), rtol=1e-12)


def test_stable_at_extreme_logits():
    z = np.array([[1000.0, -1000.0, 0.0]])
    assert losses.create("cross_entropy").value(np.array([1]), z) == pytest.approx(2000.0)
    zb = np.array([[1000.0], [-1000.0]])
    assert losses.create("bce_logits").value(np.array([[0.0], [0.0]]), zb) == pytest.approx(500.0)
    p = np.array([[1.0], [0.0]])
    assert np.isfinite(losses.create("bce").value(np.array([[0.0], [1.0]]), p))


@given(st.sampled_from(["mse", "mae", "huber", "smooth_l1"]), st.integers(0, 10_000))
def test_regression_losses_nonnegative_and_zero_at_target(name, seed):
    loss = losses.create(name)
    rng = np.random.default_rng(seed)
    y, p = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    assert loss.value(y, p) >= 0
    assert loss.value(y, y.copy()) == 0
    np.testing.assert_array_equal(loss.gradient(y, y.copy()), 0)


@given(st.integers(0, 10_000))
def test_classification_losses_nonnegative_and_vanish_at_a_confident_right_answer(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, 4)
    logits = rng.normal(size=(4, 3))
    for name in ("cross_entropy", "multiclass_hinge"):
        assert losses.create(name).value(labels, logits) >= 0
    confident = 50.0 * np.eye(3)[labels]
    assert losses.create("cross_entropy").value(labels, confident) < 1e-20
    assert losses.create("multiclass_hinge").value(labels, confident) == 0
    y = rng.integers(0, 2, (4, 1)).astype(float)
    assert losses.create("hinge").value(y, np.where(y > 0, 2.0, -2.0)) == 0
    assert losses.create("bce_logits").value(y, np.where(y > 0, 50.0, -50.0)) < 1e-20


def test_shape_errors_are_clear():
    with pytest.raises(InputError, match=r"targets of shape \(3, 2\) do not fit predictions of shape \(3, 1\)"):
        losses.create("mse").value(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(InputError, match=r"class labels must be integers in \[0, 2\]"):
        losses.create("cross_entropy").value(np.array([0, 5]), np.zeros((2, 3)))
    with pytest.raises(InputError, match="needs an output in"):
        losses.create("bce").check_output("relu")


@pytest.mark.parametrize("name", list(losses))
def test_rows_are_the_per_sample_losses_whose_mean_is_the_value(name):
    """value = (1/N) sum_i rows_i, and each row is the loss of that sample alone (N = 1)."""
    loss = losses.create(name)
    y, p = case(name, seed=3)
    rows = loss.rows(y, p)
    assert rows.shape == (N,)
    assert loss.value(y, p) == pytest.approx(rows.mean(), rel=1e-14)
    for i in range(N):
        assert rows[i] == pytest.approx(loss.value(y[i:i + 1], p[i:i + 1]), rel=1e-14)


def row_central_differences(loss, y, p, h):
    """dC/dp by central differences, element by element, with steps ``h`` (shape of p).

    Row i of C = (1/N) sum_i l_i depends on p_i alone, so each row is differenced on its own
    (then divided by N): a large loss elsewhere in the batch cannot swamp a small change. The
    step actually taken is (p + h) - (p - h) as stored, not 2h, so a step near 1 is exact.
    """
    n, numeric = p.shape[0], np.zeros_like(p)
    for i, j in np.ndindex(p.shape):
        up, down = p[i : i + 1].copy(), p[i : i + 1].copy()
        up[0, j] += h[i, j]
        down[0, j] -= h[i, j]
        numeric[i, j] = (loss.value(y[i : i + 1], up) - loss.value(y[i : i + 1], down)) / (up[0, j] - down[0, j]) / n
    return numeric


def assert_close_to_differences(loss, y, p, h):
    """Relative error < 1e-7, with an absolute allowance for the round-off of the difference
    quotient, 4 eps max|l_i| / h / N (where the gradient is ~1e-20, that is all it measures)."""
    exact, numeric = loss.gradient(y, p), row_central_differences(loss, y, p, h)
    atol = 4 * np.finfo(float).eps * loss.rows(y, p).max() / h.min() / p.shape[0]
    excess = np.abs(exact - numeric) - (1e-7 * np.maximum(np.abs(exact), np.abs(numeric)) + atol)
    assert np.all(excess <= 0), np.max(excess)


def test_bce_logits_gradient_on_logits_up_to_50():
    rng = np.random.default_rng(11)
    z = np.concatenate([rng.uniform(-50, 50, 30), [-50.0, 50.0, -20.0, 20.0]]).reshape(-1, 1)
    y = np.concatenate([rng.integers(0, 2, 30), [0, 0, 1, 1]]).astype(float).reshape(-1, 1)
    # h grows with |z| (the curvature shrinks like sigma'(z)), keeping round-off small
    assert_close_to_differences(losses.create("bce_logits"), y, z, 1e-5 * np.maximum(1.0, np.abs(z)))
    # by hand, N = 34: z = -50 with y = 0 pushes with sigma(-50)/34 = e^-50/(1 + e^-50)/34
    g = losses.create("bce_logits").gradient(y, z)
    assert g[30, 0] == pytest.approx(np.exp(-50.0) / (1.0 + np.exp(-50.0)) / 34, rel=1e-14, abs=0)
    # and z = 20 with y = 1 with -sigma(-20)/34, to the last digits (1/(1 + e^-20) - 1, by the rounded sigma,
    # is 3.6e-8 off; the default absolute tolerance of pytest.approx, 1e-12, hid that the two differed)
    assert g[33, 0] == pytest.approx(-np.exp(-20.0) / (1.0 + np.exp(-20.0)) / 34, rel=1e-15, abs=0)


def test_cross_entropy_gradient_on_logits_up_to_50():
    rng = np.random.default_rng(12)
    z = rng.uniform(-50, 50, (30, 5))
    labels = rng.integers(0, 5, 30)
    y = np.eye(5)[labels]
    assert_close_to_differences(losses.create("cross_entropy"), y, z, np.full(z.shape, 1e-5))
    # with index labels the same numbers
    np.testing.assert_array_equal(losses.create("cross_entropy").gradient(labels, z), losses.create("cross_entropy").gradient(y, z))


def test_bce_gradient_with_probabilities_near_0_and_1():
    rng = np.random.default_rng(13)
    gap = 10.0 ** rng.uniform(-8, -1, 40)  # distance from the nearer end, 1e-8 to 0.1
    p = np.where(np.arange(40) % 2 == 0, gap, 1.0 - gap).reshape(-1, 1)
    y = rng.integers(0, 2, (40, 1)).astype(float)
    # the step shrinks with the distance to the boundary, where -log p curves like 1/p^2
    h = 1e-5 * np.minimum(p, 1.0 - p)
    exact, numeric = losses.create("bce").gradient(y, p), row_central_differences(losses.create("bce"), y, p, h)
    np.testing.assert_allclose(exact, numeric, rtol=1e-7, atol=0)
    # by hand: p = 1e-6 with y = 1, N = 1: dC/dp = (p - 1) / (p (1 - p)) = -1/p = -1e6
    assert losses.create("bce").gradient(np.array([[1.0]]), np.array([[1e-6]]))[0, 0] == pytest.approx(-1e6, rel=1e-15)


@st.composite
def loss_cases(draw):
    """(name, y_true, y_pred) of a shape and value range the loss takes, from hypothesis."""
    name = draw(st.sampled_from(list(losses)))
    n = draw(st.integers(1, 5))
    k = 1 if name in ("hinge",) else draw(st.integers(2 if name in ("cross_entropy", "multiclass_hinge") else 1, 4))

    def floats(lo, hi, shape):
        return np.array(draw(st.lists(st.floats(lo, hi), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))).reshape(shape)

    if name in ("cross_entropy", "multiclass_hinge"):
        y = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
        return name, y, floats(-1000, 1000, (n, k))
    if name == "hinge":
        labels = draw(st.sampled_from([(0.0, 1.0), (-1.0, 1.0)]))
        y = np.array(draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))).reshape(n, 1)
        return name, y, floats(-1000, 1000, (n, 1))
    if name == "bce":
        return name, floats(0, 1, (n, k)), floats(0, 1, (n, k))
    if name == "bce_logits":
        return name, floats(0, 1, (n, k)), floats(-1000, 1000, (n, k))
    return name, floats(-1000, 1000, (n, k)), floats(-1000, 1000, (n, k))


@given(loss_cases())
def test_every_loss_is_nonnegative_keeps_shapes_and_averages(case):
    """C >= 0; dC/dy_pred has y_pred's shape; the 1/N is in both value and gradient: a batch
    given twice has the same C and, per copy, half the gradient (exactly, in float64, but for
    the last bit of a subnormal entry)."""
    name, y, p = case
    loss = losses.create(name)
    value, gradient = loss.value(y, p), loss.gradient(y, p)
    assert value >= 0 and np.isfinite(value)
    assert gradient.shape == p.shape and gradient.dtype == np.float64
    assert np.all(np.isfinite(gradient))
    twice_y, twice_p = np.concatenate([y, y]), np.concatenate([p, p])
    assert loss.value(twice_y, twice_p) == value
    # exact for normal numbers (halving only lowers the exponent); a subnormal gradient entry
    # (cross_entropy's e^-725 / N) loses its last bit when halved: one subnormal step apart
    np.testing.assert_allclose(loss.gradient(twice_y, twice_p), np.concatenate([gradient, gradient]) / 2,
                               rtol=0, atol=np.finfo(np.float64).smallest_subnormal)


@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=6), st.integers(1, 3))
def test_bce_is_exactly_zero_at_certain_right_answers(labels, k):
    # y = p = 1: -(1 log 1 + 0 log 0) = 0; y = p = 0: -(0 log 0 + 1 log 1) = 0 (0 log 0 = 0)
    y = np.repeat(np.array(labels).reshape(-1, 1), k, axis=1)
    bce = losses.create("bce")
    assert bce.value(y, y.copy()) == 0.0
    np.testing.assert_array_equal(bce.rows(y, y.copy()), 0.0)
    # and a certain wrong answer costs -log eps = 52 ln 2 = 36.04 per output, not inf
    assert bce.value(y, 1.0 - y) == pytest.approx(k * 52 * np.log(2.0), rel=1e-15)


@given(st.lists(st.floats(0, 100), min_size=1, max_size=6), st.sampled_from([(0.0, 1.0), (-1.0, 1.0)]), st.data())
def test_hinge_losses_are_zero_beyond_the_margin(extra, labels, data):
    # hinge: t f = 1 + u >= 1 -> max(0, 1 - t f) = 0; multiclass: s_y = s_j + 1 + u for every j != y
    n = len(extra)
    y = np.array(data.draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))).reshape(n, 1)
    t = np.where(y > 0, 1.0, -1.0)
    f = t * (1.0 + np.array(extra).reshape(n, 1))
    assert losses.create("hinge").value(y, f) == 0
    np.testing.assert_array_equal(losses.create("hinge").gradient(y, f), 0.0)
    classes = np.arange(n) % 3
    scores = np.zeros((n, 3))
    scores[np.arange(n), classes] = 1.0 + np.array(extra)
    assert losses.create("multiclass_hinge").value(classes, scores) == 0
    np.testing.assert_array_equal(losses.create("multiclass_hinge").gradient(classes, scores), 0.0)


def test_multiclass_hinge_worked_example():
    # C = 1/N sum_{j != y} max(0, s_j - s_y + 1), N = 2
    # row 0, y = 0 (s_y = 2):   j = 1: 1.5 - 2 + 1 = 0.5;  j = 2: -1 - 2 + 1 = -2 -> 0;   row loss 0.5
    # row 1, y = 1 (s_y = 3):   j = 0: 2.5 - 3 + 1 = 0.5;  j = 2: 2.8 - 3 + 1 = 0.8;       row loss 1.3
    # C = (0.5 + 1.3) / 2 = 0.9; dC/ds_j = [margin_j > 0] / N, dC/ds_y = -(active count) / N
    svm = losses.create("multiclass_hinge")
    scores = np.array([[2.0, 1.5, -1.0], [2.5, 3.0, 2.8]])
    labels = np.array([0, 1])
    assert svm.value(labels, scores) == pytest.approx(0.9, rel=1e-15)
    np.testing.assert_allclose(svm.gradient(labels, scores), [[-0.5, 0.5, 0.0], [0.5, -1.0, 0.5]], rtol=0, atol=0)


def test_hinge_refuses_mixed_label_conventions():
    hinge = losses.create("hinge")
    with pytest.raises(InputError, match=r"hinge labels must be all in \{0, 1\} or all in \{-1, \+1\}, got values \{-1, 0, 1\}"):
        hinge.value(np.array([[0.0], [-1.0], [1.0]]), np.zeros((3, 1)))
    with pytest.raises(InputError, match=r"got values \{0, 2\}"):
        hinge.gradient(np.array([0, 2]), np.zeros((2, 1)))
    # each convention alone: t = (-1, +1, -1) either way; f = (0.5, 2, -3):
    # max(0, 1 + 0.5) + max(0, 1 - 2) + max(0, 1 - 3) = 1.5, over N = 3 -> 0.5
    f = np.array([[0.5], [2.0], [-3.0]])
    assert hinge.value(np.array([0, 1, 0]), f) == hinge.value(np.array([-1, 1, -1]), f) == 0.5
    np.testing.assert_array_equal(hinge.gradient(np.array([0, 1, 0]), f), [[1 / 3], [0.0], [0.0]])


def test_lists_are_taken_as_arrays():
    # mse: residuals (0.5, 0.2) over N = 2 -> (0.25 + 0.04) / 4 = 0.0725; dC/dy_hat = (0.25, 0.1)
    assert losses.create("mse").value([[1.0], [0.0]], [[0.5], [0.2]]) == pytest.approx(0.0725, rel=1e-15)
    np.testing.assert_allclose(losses.create("mse").gradient([[1.0], [0.0]], [[0.5], [0.2]]), [[-0.25], [0.1]], rtol=1e-15)
    # integer predictions are float64: cross-entropy of logits (1, 0) with target 0 is ln(1 + e^-1)
    ce = losses.create("cross_entropy")
    assert ce.value([0], [[1, 0]]) == pytest.approx(np.log1p(np.exp(-1.0)), rel=1e-15)
    assert ce.gradient([0], [[1, 0]]).dtype == np.float64
    for name in losses:
        loss = losses.create(name)
        y, p = case(name, seed=5)
        assert loss.value(y.tolist(), p.tolist()) == loss.value(y, p)
        np.testing.assert_array_equal(loss.gradient(y.tolist(), p.tolist()), loss.gradient(y, p))


@pytest.mark.parametrize("name", list(losses))
def test_an_empty_batch_is_refused_clearly(name):
    loss = losses.create(name)
    for method in (loss.value, loss.gradient, loss.rows, lambda y, p: loss.logit_gradient(y, p, p)):
        with pytest.raises(InputError, match=r"predictions must hold at least one sample \(N >= 1\), got an empty batch of shape \(0, 3\)"):
            method(np.zeros(0), np.zeros((0, 3)))


@pytest.mark.parametrize(("spec", "message"), [
    ("huber:delta=-1", "delta must be > 0, got -1"),
    ("huber:delta=nan", "delta must be a finite number, got nan"),
    ("smooth_l1:beta=0", "beta must be > 0, got 0"),
    ("smooth_l1:beta=abc", "beta must be a number, got 'abc'"),
])
def test_parameters_are_checked_by_the_shared_checkers(spec, message):
    with pytest.raises(InputError, match=f"^loss: {message}$"):
        losses.create(spec)


def test_bce_formulas_say_what_the_code_computes():
    bce = losses.create("bce")
    assert bce.formula == "C = -1/N sum [y log y_hat + (1 - y) log(1 - y_hat)]"
    assert bce.gradient_formula == "dC/dy_hat = (y_hat - y) / (y_hat (1 - y_hat)) / N"
    # the formula's numbers, N = 2: y = (1, 0), y_hat = (0.8, 0.25)
    # C = -(ln 0.8 + ln 0.75) / 2; dC/dy_hat = ((0.8 - 1) / (0.8 * 0.2), 0.25 / (0.25 * 0.75)) / 2 = (-0.625, 0.6667)
    y, p = np.array([[1.0], [0.0]]), np.array([[0.8], [0.25]])
    assert bce.value(y, p) == pytest.approx(-(np.log(0.8) + np.log(0.75)) / 2, rel=1e-15)
    np.testing.assert_allclose(bce.gradient(y, p), [[-0.625], [2 / 3]], rtol=1e-14)


@pytest.mark.parametrize(("spec", "formula", "C"), [
    # N = 2 samples, k = 2 outputs, r = y_hat - y = (0.5, -2 | 0, 2); each C is (1/N) sum_n sum_k l(r):
    # mae: (0.5 + 2 + 0 + 2) / 2 = 2.25
    ("mae", "C = 1/N sum sum_k |y_hat_k - y_k|", 2.25),
    # huber, delta 0.8: l(0.5) = 0.125, l(+-2) = 0.8 (2 - 0.4) = 1.28: (0.125 + 1.28 + 0 + 1.28) / 2 = 1.3425
    # (not the per-entry mean, 2.685 / 4 = 0.67125, that other libraries report under the same name)
    ("huber:delta=0.8", "C = 1/N sum sum_k l(y_hat_k - y_k), l(r) = r^2/2 if |r| <= delta else delta (|r| - delta/2)",
     1.3425),
    # smooth_l1, beta 0.5: l(0.5) = 0.5 - 0.25 (|r| < beta fails at 0.5), l(+-2) = 1.75: (0.25 + 1.75 + 0 + 1.75) / 2
    ("smooth_l1:beta=0.5", "C = 1/N sum sum_k l(y_hat_k - y_k), l(r) = r^2/(2 beta) if |r| < beta else |r| - beta/2",
     1.875),
])
def test_elementwise_loss_formulas_say_how_the_outputs_combine(spec, formula, C):
    # 'l = r^2/2 if ...' gave one residual's loss and never said that several outputs are summed
    loss = losses.create(spec)
    assert loss.formula == formula
    y, p = np.array([[0.0, 0.0], [1.0, 2.0]]), np.array([[0.5, -2.0], [1.0, 4.0]])
    assert loss.value(y, p) == pytest.approx(C, rel=1e-15)


def wide_case(name, seed=0):
    """Like ``case`` with scores/residuals ~20x larger (|z| up to ~50), nudged off the kinks again."""
    y, p = case(name, seed)
    if name in ("cross_entropy", "multiclass_hinge", "bce_logits", "hinge"):
        p = np.clip(20.0 * p, -50.0, 50.0)
    else:
        p = y + np.clip(20.0 * (p - y), -50.0, 50.0)
    if name in ("mae", "huber", "smooth_l1"):
        r = p - y
        p = p + 0.2 * np.sign(r) * ((np.abs(r) < 0.05) | (np.abs(np.abs(r) - 1.0) < 0.05))
    if name == "hinge":
        t = np.where(y > 0, 1.0, -1.0)
        p = p + 0.2 * t * (np.abs(t * p - 1.0) < 0.05)
    if name == "multiclass_hinge":
        onehot = as_targets(y, p)
        m = p - (p * onehot).sum(1, keepdims=True) + 1
        p = p + 0.2 * ((np.abs(m) < 0.05) & (onehot == 0))
    return y, p


@pytest.mark.parametrize("name", [n for n in losses if n != "bce"])  # bce's inputs are probabilities: see above
def test_every_gradient_matches_differences_with_scores_up_to_50(name):
    y, p = wide_case(name)
    assert np.abs(p).max() > 20
    loss = losses.create(name)
    assert_close_to_differences(loss, as_targets(y, p) if y.ndim == 1 else y, p, np.full(p.shape, 1e-5))


def test_huber_and_smooth_l1_take_extreme_thresholds_exactly():
    # huber:delta=1e308 is quadratic everywhere here: (3^2 + 2^2) / 2 = 6.5, gradient r; its unused
    # linear piece delta (|r| - delta/2) used to be evaluated too and overflow (a RuntimeWarning)
    huber = losses.create("huber:delta=1e308")
    assert huber.value([[0.0, 0.0]], [[3.0, -2.0]]) == 6.5
    np.testing.assert_array_equal(huber.gradient([[0.0, 0.0]], [[3.0, -2.0]]), [[3.0, -2.0]])
    # smooth_l1:beta=1e-320 is linear here: |3| + |-2| - 2 beta/2 = 5, gradient sign(r); r / beta overflowed
    tiny = losses.create("smooth_l1:beta=1e-320")
    assert tiny.value([[0.0, 0.0]], [[3.0, -2.0]]) == 5.0
    np.testing.assert_array_equal(tiny.gradient([[0.0, 0.0]], [[3.0, -2.0]]), [[1.0, -1.0]])
    # inside |r| < beta = 1e-300: r^2 / (2 beta) = 0.25e-600 / 2e-300 = 1.25e-301 (r^2 alone underflows to 0)
    small = losses.create("smooth_l1:beta=1e-300")
    assert small.value([[0.0]], [[0.5e-300]]) == pytest.approx(1.25e-301, rel=1e-15)


def test_mean_of_finite_rows_whose_sum_overflows_is_their_mean_not_a_crash():
    # mse rows (1.3e154)^2 / 2 = 8.45e307 each: three of them sum past 1.8e308, yet their mean is 8.45e307
    row = (1.3e154) ** 2 / 2
    value = losses.create("mse").value(np.zeros((3, 1)), np.full((3, 1), 1.3e154))
    assert value == pytest.approx(row, rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_of_a_confident_correct_prediction_keeps_its_digits(dtype):
    # two classes, margin z: C = log(1 + e^-z), the value bce_logits gives at z. log(sum exp) rounded
    # 1 + e^-20 to 1 in float32 (C = 0) and was 1e-3 off at z = 30 in float64; log1p of the rest is not.
    ce, bce = losses.create("cross_entropy"), losses.create("bce_logits")
    for z in (10.0, 20.0, 30.0, 40.0):
        exact = float(np.log1p(np.exp(-z)))  # float64 reference: e^-z is exact to rounding here
        value = ce.value(np.array([0]), np.array([[z, 0.0]], dtype=dtype))
        assert value == pytest.approx(exact, rel=1e-15 if dtype == np.float64 else 1e-6)
        assert value == bce.value(np.array([[1.0]], dtype=dtype), np.array([[z]], dtype=dtype))
    # three classes (20, 0, 0): C = log(1 + 2 e^-20) = 4.1223072363804e-09 (by hand, log1p of 2 e^-20)
    assert ce.value(np.array([0]), np.array([[20.0, 0.0, 0.0]])) == pytest.approx(np.log1p(2 * np.exp(-20.0)), rel=1e-15)
