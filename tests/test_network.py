"""Backpropagation through whole networks, checked against finite differences."""

import numpy as np
import pytest

from gradlab.engine import diagnostics
from gradlab.engine.activations import activations
from gradlab.engine.gradcheck import check_network
from gradlab.engine.layers import Dense
from gradlab.engine.losses import as_targets, losses
from gradlab.engine.network import Network

# (output activation, loss, number of outputs, kind of targets)
OUTPUT_RULES = [
    ("sigmoid", "mse", 1, "binary"),      # general chain rule: keeps sigma'(z)
    ("sigmoid", "bce", 1, "binary"),      # fused: (a - y)/N
    ("sigmoid", "bce_logits", 1, "binary"),
    ("identity", "bce_logits", 1, "binary"),
    ("softmax", "cross_entropy", 3, "classes"),
    ("identity", "cross_entropy", 3, "classes"),
    ("softmax", "mse", 3, "classes"),    # general path through the softmax Jacobian
    ("identity", "mse", 2, "real"),
    ("identity", "mae", 2, "real"),
    ("identity", "huber", 2, "real"),
    ("identity", "smooth_l1", 2, "real"),
    ("tanh", "hinge", 1, "binary"),
    ("identity", "multiclass_hinge", 3, "classes"),
]
HIDDEN = [name for name in activations if name != "step"]  # step passes no gradient at all


def make_case(hidden, output, n_out, targets, depth, seed=0):
    rng = np.random.default_rng(seed)
    sizes = [3, *([4] * depth), n_out]
    weights = [(rng.normal(0, 0.8, (a, b)), rng.normal(0, 0.3, b)) for a, b in zip(sizes, sizes[1:])]
    net = Network.from_weights(weights, hidden, output)
    X = rng.normal(size=(7, 3))
    if targets == "binary":
        y = rng.integers(0, 2, (7, 1)).astype(float)
    elif targets == "classes":
        y = rng.integers(0, n_out, 7)
    else:
        y = rng.normal(size=(7, n_out))
    return net, X, as_targets(y, np.zeros((7, n_out)))


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize(("output", "loss_name", "n_out", "targets"), OUTPUT_RULES)
def test_every_activation_with_every_output_rule(output, loss_name, n_out, targets, depth):
    loss = losses.create(loss_name)
    failures = []
    for hidden in HIDDEN:
        net, X, Y = make_case(hidden, output, n_out, targets, depth)
        result = check_network(net, loss, X, Y)
        if not result:
            failures.append(f"{hidden}:\n{result}")
    assert not failures, "\n".join(failures)


def test_fused_and_general_rules_differ_exactly_by_sigma_prime():
    """The seeds' point in numbers: for one saturated sigmoid neuron, MSE's output delta is
    (a - y) sigma'(z) / N while cross-entropy's is (a - y) / N."""
    W, b = np.array([[2.0]]), np.array([2.0])  # x = 1: z = 4, a = sigma(4) = 0.98201379
    net = Network.from_weights([(W, b)], [], "sigmoid")
    X, Y = np.array([[1.0]]), np.array([[0.0]])
    net.forward(X)
    a = 1 / (1 + np.exp(-4.0))
    mse_delta = net.output_delta(losses.create("mse"), Y)
    bce_delta = net.output_delta(losses.create("bce"), Y)
    assert mse_delta[0, 0] == pytest.approx(a * a * (1 - a), rel=1e-14)   # 0.017663
    assert bce_delta[0, 0] == pytest.approx(a, rel=1e-14)                  # 0.982014
    assert bce_delta[0, 0] / mse_delta[0, 0] == pytest.approx(1 / (a * (1 - a)), rel=1e-12)


def test_parameters_are_views_the_optimizer_can_update_in_place():
    net, X, Y = make_case("tanh", "sigmoid", 1, "binary", 2)
    assert net.params[0] is net.layers[0].W and net.grads[-1] is net.layers[-1].gb
    flat = net.flat()
    net.set_flat(flat * 2)
    np.testing.assert_array_equal(net.flat(), flat * 2)
    assert set(net.state()) == {"W1", "b1", "W2", "b2", "W3", "b3"}


def test_parameters_and_gradients_live_in_one_flat_vector_each():
    net, X, Y = make_case("relu", "softmax", 3, "classes", 2)
    assert net.flat_params.shape == (net.n_params,)
    assert all(np.shares_memory(p, net.flat_params) for p in net.params)
    assert all(np.shares_memory(g, net.flat_grads) for g in net.grads)
    net.loss_and_gradients(losses.create("cross_entropy"), X, Y)
    np.testing.assert_array_equal(net.flat("grads"), np.concatenate([g.ravel() for g in net.grads]))
    net.flat_params[:] = 0.0  # writing the vector writes every layer
    assert not net.layers[0].W.any() and not net.layers[-1].b.any()


def test_work_arrays_are_reused_and_predict_returns_its_own_array():
    net, X, _ = make_case("sigmoid", "softmax", 3, "classes", 2)
    rng = np.random.default_rng(5)
    big, small = rng.normal(size=(50, 3)), rng.normal(size=(4, 3))
    expected_big = net.predict(big)
    expected_small = net.predict(small)
    out = net.forward(big)
    assert out.shape == (50, 3) and not np.shares_memory(out, expected_big)
    again = net.forward(small)  # a smaller batch: a view of the same work array, values right
    assert np.shares_memory(again, out) and again.shape == (4, 3)
    np.testing.assert_array_equal(again, expected_small)
    np.testing.assert_array_equal(net.predict(big), expected_big)  # the earlier result was not touched


def test_a_float32_layer_that_already_ran_computes_in_float64_once_packed_as_float64():
    # packing beside a float64 layer makes its W float64; its float32 work arrays from the earlier
    # forward pass must not be reused, or z would be rounded to float32's 7 digits
    rng = np.random.default_rng(3)
    W1 = rng.normal(size=(3, 4)).astype(np.float32)
    first = Dense(W1, np.zeros(4, np.float32), activations.create("identity"))
    first.forward(np.ones((2, 3), np.float32))
    net = Network([first, Dense(rng.normal(size=(4, 1)), np.zeros(1), activations.create("identity"))])
    X = rng.normal(size=(2, 3))
    net.forward(X)
    assert first.z.dtype == np.float64
    np.testing.assert_allclose(first.z, X @ W1.astype(np.float64), rtol=1e-15)


def test_dead_fractions_count_units_and_grad_norms_take_dW_only():
    # relu layer 1 -> 2 with W = (-1, 1), b = (0, -1.5) on x = 1, 2, 0.5, 1: unit 0 (z = -x) never
    # fires, unit 1 (z = x - 1.5) fires on x = 2 only: 1 dead unit of 2 = 0.5 (not the 3 of 4 samples
    # with no unit firing). Output 2 -> 1 identity, W = (0, 1), b = 0, mse against y = 0:
    # y_hat = (0, 0.5, 0, 0), dC/dy_hat = y_hat / 4 = (0, 0.125, 0, 0); dC/dW2 = a^T delta = (0, 0.0625);
    # dC/db2 = 0.125, which ||dC/dW2||_F = 0.0625 leaves out
    net = Network.from_weights([(np.array([[-1.0, 1.0]]), np.array([0.0, -1.5])),
                                (np.array([[0.0], [1.0]]), np.zeros(1))], "relu", "identity")
    X = np.array([[1.0], [2.0], [0.5], [1.0]])
    net.loss_and_gradients(losses.create("mse"), X, np.zeros((4, 1)))
    assert diagnostics.dead_fractions(net) == [0.5, None]
    assert net.layers[1].gb[0] == 0.125
    assert diagnostics.grad_norms(net)[1] == 0.0625


@pytest.mark.parametrize("hidden", HIDDEN)
def test_a_float32_network_computes_in_float32(hidden):
    rng = np.random.default_rng(2)
    sizes = [3, 5, 2]
    weights = [(rng.normal(size=(a, b)).astype(np.float32), np.zeros(b, np.float32)) for a, b in zip(sizes, sizes[1:])]
    net = Network.from_weights(weights, hidden, "softmax")
    X = rng.normal(size=(6, 3)).astype(np.float32)
    net.loss_and_gradients(losses.create("cross_entropy"), X, rng.integers(0, 2, 6))
    assert all(layer.a.dtype == np.float32 and layer.z.dtype == np.float32 for layer in net.layers)
    assert net.flat_grads.dtype == np.float32 and net.layers[0].delta.dtype == np.float32


@pytest.mark.parametrize("w", [800.0, 40.0, 20.0])
def test_bce_on_a_sigmoid_output_is_exact_however_confident_the_wrong_answer(w):
    # one neuron, z = w x with x = 1 and target 0: C = -log(1 - sigma(z)) = softplus(z) = z + log1p(e^-z).
    # On p = sigma(z), which rounds to 1 from z ~ 37 on, the clipped log gave -log eps = 36.04 instead.
    net = Network.from_weights([(np.array([[w]]), np.array([0.0]))], [], "sigmoid")
    X, Y = np.array([[1.0]]), np.array([[0.0]])
    bce = losses.create("bce")
    assert net.loss(bce, X, Y) == w + np.log1p(np.exp(-w))
    assert net.loss_on_logits(bce) and not net.loss_on_logits(losses.create("mse"))
    # its finite differences now see the true slope, 1 - sigma(-z): the backprop gradient passes
    assert check_network(net, bce, X, Y).passed
    hard = Network.from_weights([(np.array([[w]]), np.array([0.0]))], [], "hard_sigmoid")
    assert hard.loss(bce, X, Y) == pytest.approx(-np.log(np.finfo(float).eps))  # p alone: clipped, as documented


# Four equal entries v have the norm 2v exactly; float32(1e-23) = 0x1.82db34p-77 and
# float32(3e19) = 0x1.a0556ap+64 (float.hex), doubled below.
@pytest.mark.parametrize(("entry", "exact"), [
    (1e-23, 1.9999999996399175e-23),  # the float32 squares underflow: was 0.0
    (3e19, 6.000000208206194e+19),  # the float32 squares overflow: was inf
])
def test_gradient_norms_of_a_float32_layer_neither_underflow_nor_overflow(entry, exact):
    net = Network.from_weights([(np.zeros((2, 2), np.float32), np.zeros(2, np.float32))], [], "identity")
    net.layers[0].gW[...] = entry
    assert diagnostics.grad_norms(net) == [pytest.approx(exact, rel=1e-15, abs=0)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fused_output_delta_keeps_its_digits_where_the_output_rounds_to_1(dtype):
    # (y_hat - y)/N with y_hat = sigma(z) rounded: 0 from z = 37 in float64 (17 in float32), while the
    # loss, softplus(-z) = 4.248e-18 at z = 40, is not. The delta is -sigma(-z) = -exp(-z)/(1 + exp(-z))
    # to the last digit (mpmath: sigma(-40) = 4.2483542552915889e-18, sigma(-20) = 2.0611536181902037e-9)
    z = 40.0 if dtype == np.float64 else 20.0
    exact = 4.2483542552915889e-18 if dtype == np.float64 else 2.0611536181902037e-9
    net = Network.from_weights([(np.array([[z]], dtype), np.zeros(1, dtype))], "sigmoid", "sigmoid")
    loss = net.loss_and_gradients(losses.create("bce"), np.ones((1, 1), dtype), np.ones((1, 1), dtype))
    assert net.output.a[0, 0] == 1  # the output itself has rounded
    assert loss == pytest.approx(exact, rel=1e-6, abs=0)  # softplus(-z), as it always was
    assert net.grads[1][0] == pytest.approx(-exact, rel=2 * np.finfo(dtype).eps, abs=0)  # dC/db: was 0
    assert net.grads[0][0, 0] == pytest.approx(-exact, rel=2 * np.finfo(dtype).eps, abs=0)  # x = 1: dC/dW = dC/db


def test_the_softmax_output_delta_sums_to_0_where_the_top_class_rounds_to_1():
    # logits (40, 0, 0) with the first class the target: s = (1, e^-40, e^-40) rounded, s_0 - 1 = 0 while
    # the others are 4.248e-18 each. delta_0 = -(sum of the others) = -8.4967e-18, and the row sums to 0,
    # as dC/dz of a softmax must (a shift of all logits changes nothing)
    net = Network.from_weights([(np.array([[40.0, 0.0, 0.0]]), np.zeros(3))], "relu", "softmax")
    net.loss_and_gradients(losses.create("cross_entropy"), np.ones((1, 1)), np.array([0]))
    db = net.grads[1]
    assert db[1] == db[2] == pytest.approx(4.2483542552915889e-18, rel=1e-15, abs=0)
    assert db[0] == -(db[1] + db[2])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_minus_and_softmax_minus_against_mpmath(dtype):
    from mpmath import exp, mp, mpf

    from gradlab.engine.losses import sigmoid_minus, softmax_minus

    mp.dps = 40
    z = np.array([-800.0, -40.0, -1.0, -0.0, 0.0, 0.5, 17.0, 37.0, 40.0, 800.0], dtype)[:, None]
    for label in (0.0, 1.0):
        got = sigmoid_minus(z, np.full_like(z, label))
        assert got.dtype == dtype
        for value, zi in zip(got[:, 0].tolist(), z[:, 0].tolist()):
            exact = float(1 / (1 + exp(-mpf(zi))) - label)
            # a few roundings: NumPy's exp differs by an ulp between versions (1.24: 2 ulps at z = 37)
            assert value == pytest.approx(exact, rel=4 * np.finfo(dtype).eps, abs=0), (zi, label)
    # soft labels below sigma(z) < 1/2: q - y, not (1 - y) - 1 + q, which rounded a small y away (and
    # gave +4.248e-18 for z = -40, y = 1e-17, whose sigma(z) - y is -5.7516e-18)
    for zi, label in ((-40.0, 1e-17), (-20.0, 1e-8), (-16.0, 1e-6), (-3.0, 0.3), (2.0, 0.7)):
        zz, yy = np.array([[zi]], dtype), np.array([[label]], dtype)
        exact = float(1 / (1 + exp(-mpf(float(zz[0, 0])))) - mpf(float(yy[0, 0])))
        assert sigmoid_minus(zz, yy)[0, 0] == pytest.approx(exact, rel=4 * np.finfo(dtype).eps, abs=0), (zi, label)
    s = np.array([[1.0, 3e-18, 7e-18], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], dtype)
    y = np.array([[1.0, 0, 0], [1, 0, 0], [0, 0, 1]], dtype)
    expected = np.array([[-1e-17, 3e-18, 7e-18], [-0.5, 0.5, 0], [0.2, 0.3, -0.5]], dtype)
    np.testing.assert_allclose(softmax_minus(s, y), expected, rtol=np.finfo(dtype).eps)
