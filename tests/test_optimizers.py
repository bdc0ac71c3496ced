"""Optimizers, clipping and weight decay: hand-computed steps, convergence, in-place behaviour."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gradlab.engine import optimizers as optimizers_module
from gradlab.engine.gradcheck import check
from gradlab.engine.optimizers import (
    add_weight_decay,
    clip_by_global_norm,
    global_norm,
    optimizers,
    pack,
    weight_decay_penalty,
)
from gradlab.errors import InputError
from tests.conftest import subprocess_env

ALL = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adagrad"]

# The worked example used throughout: two weights, two successive gradients, lr = 0.1.
W0 = [1.0, -2.0]
G1 = [0.5, 0.25]
G2 = [0.3, -0.5]


def two_steps(spec):
    """Run two steps from W0 with gradients G1 then G2; return the weights after each step."""
    opt = optimizers.create(spec)
    w = np.array(W0)
    opt.step([w], [np.array(G1)])
    after_one = w.copy()
    opt.step([w], [np.array(G2)])
    return after_one, w


def test_registry_holds_the_six_step_optimizers_and_the_full_batch_ones():
    assert optimizers.names() == ALL + ["cg", "lbfgs"]


def test_sgd_step_by_hand():
    # w - lr g = [1.0 - 0.1*0.5, -2.0 - 0.1*0.25] = [0.95, -2.025]
    # then      [0.95 - 0.1*0.3, -2.025 - 0.1*(-0.5)] = [0.92, -1.975]
    one, two = two_steps("sgd:lr=0.1")
    np.testing.assert_allclose(one, [0.95, -2.025], rtol=0, atol=1e-15)
    np.testing.assert_allclose(two, [0.92, -1.975], rtol=0, atol=1e-15)


def test_momentum_steps_by_hand():
    # step 1: v = 0.9*0 - 0.1*[0.5, 0.25] = [-0.05, -0.025];  w = [0.95, -2.025]  (= SGD)
    # step 2: v = 0.9*[-0.05, -0.025] - 0.1*[0.3, -0.5] = [-0.045 - 0.03, -0.0225 + 0.05]
    #           = [-0.075, 0.0275];                           w = [0.875, -1.9975]
    one, two = two_steps({"name": "momentum", "lr": 0.1, "momentum": 0.9})
    np.testing.assert_allclose(one, [0.95, -2.025], rtol=0, atol=1e-15)
    np.testing.assert_allclose(two, [0.875, -1.9975], rtol=0, atol=1e-15)


def test_nesterov_steps_by_hand():
    # step 1: v = -0.1*g1 = [-0.05, -0.025];  w += 0.9 v - 0.1 g1 = [-0.045 - 0.05, -0.0225 - 0.025]
    #         w = [1 - 0.095, -2 - 0.0475] = [0.905, -2.0475]   (= a step of (1 + mu) lr g)
    # step 2: v = 0.9*[-0.05, -0.025] - 0.1*[0.3, -0.5] = [-0.075, 0.0275]
    #         w += 0.9 v - 0.1 g2 = [-0.0675 - 0.03, 0.02475 + 0.05] = [-0.0975, 0.07475]
    #         w = [0.8075, -1.97275]
    one, two = two_steps("nesterov:lr=0.1,momentum=0.9")
    np.testing.assert_allclose(one, [0.905, -2.0475], rtol=0, atol=1e-15)
    np.testing.assert_allclose(two, [0.8075, -1.97275], rtol=0, atol=1e-15)


def test_rmsprop_steps_by_hand():
    # step 1: s = 0.1*g1^2 = [0.025, 0.00625];  sqrt(s) = [0.158113883, 0.079056942]
    #         w -= 0.1*g1/sqrt(s) = 0.1/sqrt(0.1) = 0.316227766 each (eps = 1e-8 moves the
    #         8th decimal, hence atol 1e-7)
    #         w = [0.683772234, -2.316227766]
    # step 2: s = 0.9*[0.025, 0.00625] + 0.1*[0.09, 0.25] = [0.0315, 0.030625]
    #         sqrt(s) = [0.177482393, 0.175];  0.1*g2/sqrt(s) = [0.169030851, -0.285714286]
    #         w = [0.514741383, -2.030513480]
    one, two = two_steps("rmsprop:lr=0.1,rho=0.9")
    np.testing.assert_allclose(one, [0.683772234, -2.316227766], rtol=0, atol=1e-7)
    np.testing.assert_allclose(two, [0.514741383, -2.030513480], rtol=0, atol=1e-7)


def test_adagrad_steps_by_hand():
    # step 1: G = [0.25, 0.0625];  0.1*g1/sqrt(G) = [0.1, 0.1];  w = [0.9, -2.1]
    # step 2: G = [0.25 + 0.09, 0.0625 + 0.25] = [0.34, 0.3125];  sqrt(G) = [0.583095189, 0.559016994]
    #         0.1*g2/sqrt(G) = [0.051449576, -0.089442719];  w = [0.848550424, -2.010557281]
    one, two = two_steps("adagrad:lr=0.1")
    np.testing.assert_allclose(one, [0.9, -2.1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(two, [0.848550424, -2.010557281], rtol=0, atol=1e-8)


def test_adam_two_steps_by_hand():
    # beta1 = 0.9, beta2 = 0.999, eps = 1e-8, lr = 0.1
    # step 1: m = 0.1*g1 = [0.05, 0.025];  v = 0.001*g1^2 = [0.00025, 0.0000625]
    #         m_hat = m/0.1 = g1;  v_hat = v/0.001 = g1^2;  step = 0.1*g1/(|g1| + 1e-8) ~ 0.1*sign(g1)
    #         w = [0.9, -2.1]   (up to 2e-9 from eps)
    # step 2: m = 0.9*[0.05, 0.025] + 0.1*[0.3, -0.5] = [0.075, -0.0275]
    #         v = 0.999*[0.00025, 0.0000625] + 0.001*[0.09, 0.25] = [0.00033975, 0.0003124375]
    #         1 - 0.9^2 = 0.19;  1 - 0.999^2 = 0.001999
    #         m_hat = [0.394736842, -0.144736842];  v_hat = [0.169959980, 0.156296898]
    #         sqrt(v_hat) = [0.412262028, 0.395344025];  step = 0.1*m_hat/sqrt(v_hat)
    #         = [0.095749015, -0.036610352];  w = [0.804250985, -2.063389648]
    one, two = two_steps({"name": "adam", "lr": 0.1})
    np.testing.assert_allclose(one, [0.9, -2.1], rtol=0, atol=1e-8)
    np.testing.assert_allclose(two, [0.804250985, -2.063389648], rtol=0, atol=1e-8)


@given(
    g=hnp.arrays(np.float64, 6, elements=st.floats(-1e3, 1e3).filter(lambda x: abs(x) > 1e-3)),
    lr=st.floats(1e-4, 1.0),
)
def test_adam_first_step_moves_every_weight_by_about_lr_against_its_gradient(g, lr):
    w = np.zeros(6)
    optimizers.create({"name": "adam", "lr": lr}).step([w], [g])
    np.testing.assert_allclose(w, -lr * np.sign(g), rtol=1e-5)


# -- convergence on a convex quadratic ---------------------------------------------------------

A = np.array([[3.0, 0.5], [0.5, 1.0]])  # symmetric positive definite, condition number ~3.4
C = np.array([[1.0, -2.0], [0.5, 3.0]])  # the minimiser of the matrix parameter
D = np.array([-1.0, 2.0])  # the minimiser of the vector parameter


def quadratic_grads(W, b, gW, gb):
    """f = 1/2 tr((W - C)^T A (W - C)) + 1/2 ||b - D||^2, minimised at W = C, b = D."""
    np.matmul(A, W - C, out=gW)
    np.subtract(b, D, out=gb)


@pytest.mark.parametrize(
    ("spec", "steps", "atol"),
    [
        ("sgd:lr=0.2", 300, 1e-9),
        ("momentum:lr=0.1,momentum=0.8", 300, 1e-9),
        ("nesterov:lr=0.1,momentum=0.8", 300, 1e-9),
        # With a constant lr RMSProp's step never shrinks below about lr (it divides the
        # gradient by its own RMS), so it ends bouncing around the minimum at that scale.
        ("rmsprop:lr=0.01", 1500, 0.01),
        ("adam:lr=0.05", 1500, 1e-9),
        ("adagrad:lr=0.5", 1500, 1e-9),
    ],
)
def test_each_optimizer_minimises_a_convex_quadratic(spec, steps, atol):
    opt = optimizers.create(spec)
    W, b = np.zeros((2, 2)), np.zeros(2)
    gW, gb = np.empty_like(W), np.empty_like(b)
    for _ in range(steps):
        quadratic_grads(W, b, gW, gb)
        opt.step([W, b], [gW, gb])
    assert opt.t == steps
    np.testing.assert_allclose(W, C, rtol=0, atol=atol)
    np.testing.assert_allclose(b, D, rtol=0, atol=atol)


# -- in place, state, overrides ----------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_step_updates_the_same_arrays_and_reuses_its_buffers(name):
    opt = optimizers.create(name)
    W, b = np.ones((3, 2)), np.ones(2)
    ids, addresses = (id(W), id(b)), (W.ctypes.data, b.ctypes.data)
    gW, gb = np.full((3, 2), 0.5), np.full(2, -0.5)

    def buffer_ids():  # every array the optimizer holds (state and scratch)
        return [id(a) for arrays in vars(opt).values() if isinstance(arrays, list) for a in arrays]

    opt.step([W, b], [gW, gb])
    buffers = buffer_ids()
    opt.step([W, b], [gW, gb])
    assert (id(W), id(b)) == ids and (W.ctypes.data, b.ctypes.data) == addresses
    assert buffer_ids() == buffers and len(buffers) >= 2
    assert np.all(W < 1) and np.all(b > 1)  # moved against the gradient
    np.testing.assert_array_equal(gW, 0.5)  # gradients are only read


@pytest.mark.parametrize("name", ALL)
def test_steps_after_the_first_allocate_no_arrays(name):
    opt = optimizers.create(name)
    W, b = np.ones((100, 100)), np.ones(100)  # 80 kB: any temporary would show
    gW, gb = np.full_like(W, 0.01), np.full_like(b, 0.01)
    opt.step([W, b], [gW, gb])
    tracemalloc.start()
    try:
        for _ in range(5):
            opt.step([W, b], [gW, gb], lr=0.001)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4096, f"{name} allocated {peak} bytes per step"


@pytest.mark.parametrize("name", ALL)
def test_float32_parameters_stay_float32(name):
    W = np.ones((2, 2), dtype=np.float32)
    opt = optimizers.create(name)
    opt.step([W], [np.full((2, 2), 0.5, dtype=np.float32)])
    assert W.dtype == np.float32
    assert all(a.dtype == np.float32 for arrays in opt.state_dict()["buffers"].values() for a in arrays)


# A weight with gradient 0 must not move; one with gradient 1 moves by lr |g| / (|g| + eps) = lr for Adam
# and Adagrad, and by lr / sqrt(1 - rho) = 0.001 / sqrt(0.1) = 0.0031622776601683794 for RMSProp (hand
# arithmetic; eps is below 1e-40 of |g|). Each eps rounds to 0 in its dtype (Adam's folded
# eps sqrt(1 - beta2) = 3.2e-46 in float32, 1.6e-325 in float64), so 0/0 gave nan and a RuntimeWarning.
@pytest.mark.parametrize(("spec", "dtype", "moved"), [
    ("adam:lr=0.001,eps=1e-44", np.float32, 0.999),
    ("adam:lr=0.001,eps=5e-324", np.float64, 0.999),
    ("rmsprop:lr=0.001,eps=1e-46", np.float32, 1 - 0.0031622776601683794),
    ("adagrad:lr=0.001,eps=1e-46", np.float32, 0.999),
])
def test_an_eps_that_rounds_to_zero_never_divides_zero_by_zero(spec, dtype, moved):
    p = np.ones(3, dtype)
    optimizers.create(spec).step([p], [np.array([0.0, 1.0, 0.0], dtype)])
    np.testing.assert_allclose(p, [1.0, moved, 1.0], rtol=np.finfo(dtype).eps, atol=0)


def test_lr_override_applies_to_one_step_only():
    opt = optimizers.create("sgd:lr=0.1")
    w = np.array([1.0])
    opt.step([w], [np.array([1.0])], lr=0.5)  # 1 - 0.5*1
    np.testing.assert_allclose(w, [0.5])
    opt.step([w], [np.array([1.0])])  # 0.5 - 0.1*1
    np.testing.assert_allclose(w, [0.4])
    assert opt.lr == 0.1


def test_reset_and_state_dict_round_trip():
    a, b = optimizers.create("adam:lr=0.05"), optimizers.create("adam:lr=0.05")
    wa, wb = np.array([1.0, -1.0]), np.array([1.0, -1.0])
    for g in ([0.5, 0.1], [0.2, -0.3], [0.1, 0.1]):
        a.step([wa], [np.array(g)])
    state = a.state_dict()
    b.load_state_dict(state)
    wb[:] = wa
    state["buffers"]["m"][0][:] = 99.0  # a copy: editing it changes neither optimizer
    for opt, w in ((a, wa), (b, wb)):
        opt.step([w], [np.array([0.4, 0.4])])
    np.testing.assert_array_equal(wa, wb)
    assert b.t == 4
    a.reset()
    assert a.t == 0 and a.state_dict()["buffers"] == {}
    a.step([np.zeros(5)], [np.ones(5)])  # a reset optimizer accepts a different model
    with pytest.raises(ValueError, match="cannot be loaded"):
        optimizers.create("sgd").load_state_dict(state)
    other = optimizers.create("adam")
    other.load_state_dict(state)
    with pytest.raises(ValueError, match="loaded state does not match"):
        other.step([np.zeros(2), np.zeros(1)], [np.ones(2), np.ones(1)])


def test_mismatched_lists_are_refused():
    opt = optimizers.create("momentum")
    opt.step([np.zeros(2), np.zeros(3)], [np.ones(2), np.ones(3)])
    with pytest.raises(ValueError, match="built for 2 parameter arrays, got 1; call reset"):
        opt.step([np.zeros(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="2 parameter arrays but 1 gradients"):
        optimizers.create("sgd").step([np.zeros(2), np.zeros(3)], [np.ones(2)])


def test_a_flat_buffer_and_its_views_give_the_same_update():
    rng = np.random.default_rng(1)
    layers = [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 1)), rng.normal(size=1)]
    flat, views = pack(layers)
    assert flat.shape == (21,) and all(np.shares_memory(v, flat) for v in views)
    separate = [layer.copy() for layer in layers]
    grads = [rng.normal(size=layer.shape) for layer in layers]
    flat_grad, grad_views = pack(grads)
    per_array, fused = optimizers.create("adam:lr=0.1"), optimizers.create("adam:lr=0.1")
    for _ in range(3):
        per_array.step(separate, grads)
        fused.step([flat], [flat_grad])
    for a, b in zip(separate, views):
        np.testing.assert_allclose(a, b, rtol=1e-15)
    assert pack(layers, dtype=np.float32)[0].dtype == np.float32


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("sgd:lr=-1", "optimizer: lr must be > 0, got -1"),
        ("sgd:lr=0", "optimizer: lr must be > 0, got 0"),
        ("adam:lr=inf", "optimizer: lr must be a finite number, got inf"),
        ("sgd:lr=nan", "optimizer: lr must be a finite number, got nan"),
        ("sgd:lr=fast", "optimizer: lr must be a number, got 'fast'"),
        ({"name": "sgd", "lr": True}, "optimizer: lr must be a number, got True"),
        ("momentum:momentum=1", "optimizer: momentum must be >= 0 and < 1, got 1"),
        ("nesterov:momentum=-0.1", "optimizer: momentum must be >= 0 and < 1, got -0.1"),
        ("adam:beta1=1.0", "optimizer: beta1 must be >= 0 and < 1, got 1.0"),
        ("adam:beta2=1.5", "optimizer: beta2 must be >= 0 and < 1, got 1.5"),
        ("adam:eps=0", "optimizer: eps must be > 0, got 0"),
        ("rmsprop:rho=1", "optimizer: rho must be >= 0 and < 1, got 1"),
        ("adagrad:eps=-1e-8", "optimizer: eps must be > 0, got -1e-08"),
        ("sgd:momentum=0.9", "optimizer: sgd has no parameter 'momentum'"),
        ("adam:beta_1=0.9", "did you mean 'beta1'"),
        ("adamm", "did you mean 'adam'"),
    ],
)
def test_bad_hyperparameters_name_field_value_and_allowed(spec, message):
    with pytest.raises(InputError) as error:
        optimizers.create(spec, field="optimizer")
    assert message in str(error.value)


def test_defaults_are_the_documented_ones():
    assert optimizers.parameters("sgd") == {"lr": 0.01}
    assert optimizers.parameters("momentum") == {"lr": 0.01, "momentum": 0.9}
    assert optimizers.parameters("nesterov") == {"lr": 0.01, "momentum": 0.9}
    assert optimizers.parameters("rmsprop") == {"lr": 0.001, "rho": 0.9, "eps": 1e-8}
    assert optimizers.parameters("adam") == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert optimizers.parameters("adagrad") == {"lr": 0.01, "eps": 1e-8}


# -- clipping ----------------------------------------------------------------------------------


def test_clip_by_global_norm_rescales_all_gradients_together():
    g1, g2 = np.array([3.0, 4.0]), np.array([[12.0]])  # global norm sqrt(9 + 16 + 144) = 13
    norm = clip_by_global_norm([g1, g2], 6.5)
    assert norm == pytest.approx(13.0)
    np.testing.assert_allclose(g1, [1.5, 2.0])  # everything halved, direction kept
    np.testing.assert_allclose(g2, [[6.0]])
    assert clip_by_global_norm([g1, g2], 100.0) == pytest.approx(6.5)  # below the cap: untouched
    np.testing.assert_allclose(g1, [1.5, 2.0])


def test_clip_by_global_norm_survives_huge_and_non_finite_gradients():
    g = [np.array([1e200, 1e200])]  # the sum of squares overflows; the norm does not
    assert clip_by_global_norm(g, 1.0) == pytest.approx(np.sqrt(2) * 1e200)
    np.testing.assert_allclose(g[0], [np.sqrt(0.5)] * 2)
    bad = [np.array([np.nan, 1.0])]
    assert np.isnan(clip_by_global_norm(bad, 1.0))
    assert bad[0][1] == 1.0  # nothing rescaled: divergence is reported elsewhere
    with pytest.raises(InputError, match="clip_norm must be > 0, got 0"):
        clip_by_global_norm(g, 0)


# The norm of n equal entries v is sqrt(n) v exactly: four give 2v, 169 give 13v. float32(1e-23) is
# 0x1.82db34p-77 (float.hex), so 2v = 1.9999999996399175e-23.
@pytest.mark.parametrize(("arrays", "exact"), [
    ([np.full((2, 2), 1e-23, np.float32)], 1.9999999996399175e-23),  # squares of 1e-46 flush to 0: was 0
    ([np.full((13, 13), 1e-160)], 1.3e-159),  # squares of 1e-320 are subnormal: was 1.2999928e-159
    ([np.full((2, 2), 1e-23, np.float32), np.full((13, 13), 1e-160)], 1.9999999996399175e-23),
])
def test_global_norm_keeps_its_digits_when_the_squares_underflow(arrays, exact):
    assert global_norm(arrays) == pytest.approx(exact, rel=1e-15, abs=0)
    assert clip_by_global_norm(arrays, 1.0) == pytest.approx(exact, rel=1e-15, abs=0)


# -- weight decay ------------------------------------------------------------------------------


def test_weight_decay_reaches_weights_but_not_biases():
    W, b = np.array([[2.0, -1.0], [0.0, 4.0]]), np.array([5.0, -5.0])
    gW, gb = np.ones((2, 2)), np.ones(2)
    add_weight_decay([W, b], [gW, gb], l1=0.5, l2=0.1)
    # gW = 1 + 0.1*W + 0.5*sign(W): [[1 + 0.2 + 0.5, 1 - 0.1 - 0.5], [1 + 0 + 0, 1 + 0.4 + 0.5]]
    np.testing.assert_allclose(gW, [[1.7, 0.4], [1.0, 1.9]])
    np.testing.assert_array_equal(gb, [1.0, 1.0])
    # with an explicit mask and scratch buffers (no temporaries): decay the bias only
    scratch = [np.empty_like(W), np.empty_like(b)]
    add_weight_decay([W, b], [gW, gb], l2=0.1, decay_mask=[False, True], scratch=scratch)
    np.testing.assert_allclose(gb, [1.5, 0.5])
    np.testing.assert_allclose(gW, [[1.7, 0.4], [1.0, 1.9]])
    with pytest.raises(InputError, match="l1 and l2 must be >= 0"):
        add_weight_decay([W], [gW], l2=-1)


def test_weight_decay_gradient_is_the_gradient_of_the_documented_penalty():
    rng = np.random.default_rng(3)
    W = rng.uniform(0.2, 1.0, size=(3, 2)) * rng.choice([-1, 1], size=(3, 2))  # away from the L1 kink
    b = rng.normal(size=2)
    # R = (l2/2)||W||^2 + l1 ||W||_1 = 0.15*||W||^2 + 0.2*sum|W|
    assert weight_decay_penalty([W, b], l1=0.2, l2=0.3) == pytest.approx(0.15 * np.sum(W**2) + 0.2 * np.abs(W).sum())
    grads = [np.zeros_like(W), np.zeros_like(b)]
    add_weight_decay([W, b], grads, l1=0.2, l2=0.3)
    assert check(lambda: weight_decay_penalty([W, b], l1=0.2, l2=0.3), [W, b], grads).passed


# -- layering ----------------------------------------------------------------------------------


def test_engine_modules_import_numpy_only():
    code = (
        "import sys\n"
        "import gradlab.engine.optimizers, gradlab.engine.schedules, gradlab.engine.init, gradlab.engine.gradcheck\n"
        "heavy = [m for m in ('typer', 'rich', 'matplotlib', 'yaml', 'sympy', 'scipy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", ALL)
def test_long_arrays_updated_in_blocks_match_the_whole_array_update(name, monkeypatch):
    # the blocked update is the same elementwise arithmetic, so the results are bit-identical
    rng = np.random.default_rng(3)
    W0, b0 = rng.normal(size=(37, 29)), rng.normal(size=29)  # 1073 and 29 elements
    grads = [(rng.normal(size=W0.shape), rng.normal(size=b0.shape)) for _ in range(4)]
    results = []
    for block in (1 << 20, 100):  # one piece per array; then W in 11 blocks of <= 100 (b stays whole)
        monkeypatch.setattr(optimizers_module, "BLOCK", block)
        opt, W, b = optimizers.create({"name": name, "lr": 0.05}), W0.copy(), b0.copy()
        for gW, gb in grads:
            opt.step([W, b], [gW, gb])
        results.append((W, b, opt.state_dict()))
    (W1, b1, s1), (W2, b2, s2) = results
    np.testing.assert_array_equal(W1, W2)
    np.testing.assert_array_equal(b1, b2)
    for key in s1["buffers"]:  # the state keeps the parameters' shapes either way
        for x, y in zip(s1["buffers"][key], s2["buffers"][key]):
            assert x.shape == y.shape
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ALL)
def test_blas_updates_agree_with_the_blocked_ufunc_updates(name, dtype):
    # numpy's OpenBLAS updates long arrays whole, with fused multiply-adds: the same rule to
    # within a few roundings per step. Without it the same arrays are updated in blocks.
    from gradlab.engine import blas

    if not blas.available(dtype):
        pytest.skip("no BLAS routines here")
    rng = np.random.default_rng(5)
    W0, b0 = rng.normal(size=(300, 120)).astype(dtype), rng.normal(size=120).astype(dtype)  # 36,000 > BLOCK
    grads = [(rng.normal(size=W0.shape).astype(dtype), rng.normal(size=b0.shape).astype(dtype)) for _ in range(5)]
    results = []
    for mode in (contextlib.nullcontext, blas.ufuncs_only):
        with mode():
            opt, W, b = optimizers.create({"name": name, "lr": 0.05}), W0.copy(), b0.copy()
            for gW, gb in grads:
                opt.step([W, b], [gW, gb])
            assert (opt._spans is None) == blas.available()  # blocks only where BLAS cannot take W
        results.append((W, b))
    (W1, b1), (W2, b2) = results
    rtol = 50 * np.finfo(dtype).eps
    np.testing.assert_allclose(W1, W2, rtol=rtol, atol=rtol * np.abs(W0).max())
    np.testing.assert_array_equal(b1, b2)  # short: the ufunc path both times
    assert W1.dtype == dtype


def test_a_blocked_update_refuses_parameters_that_changed_shape(monkeypatch):
    monkeypatch.setattr(optimizers_module, "BLOCK", 4)
    opt = optimizers.create("sgd")
    opt.step([np.zeros(10)], [np.ones(10)])
    with pytest.raises(ValueError, match="changed shape or layout; call reset"):
        opt.step([np.zeros(12)], [np.ones(12)])


# A steady gradient g, far above eps but with g^2 below the flush level (2e-31 in float32, 3.7e-301 in
# float64), steps by the hand-computed lr g / (g + eps) = lr for Adam (m_hat = g, v_hat = g^2),
# lr / sqrt(1 - rho^t) for RMSProp (s = (1 - rho^t) g^2, rho = 0.9) and lr / sqrt(t) for Adagrad
# (G = t g^2); eps / g is 1e-13 and 1e-48. Flushing v, s or G to 0 at t = 64 and 128 made the next
# steps up to 11x (Adam, Adagrad) and 3.2x (RMSProp) too long.
@pytest.mark.parametrize(("dtype", "g", "eps", "rtol"), [(np.float32, 1e-17, 1e-30, 1e-5),
                                                         (np.float64, 1e-152, 1e-200, 1e-13)])
@pytest.mark.parametrize("name", ["adam", "rmsprop", "adagrad"])
def test_flushing_keeps_the_square_roots_that_set_the_step(name, dtype, g, eps, rtol):
    step = {"adam": lambda t: 0.001, "rmsprop": lambda t: 0.001 / np.sqrt(1 - 0.9**t),
            "adagrad": lambda t: 0.001 / np.sqrt(t)}[name]
    opt = optimizers.create({"name": name, "lr": 0.001, "eps": eps})
    grad = np.full(4, g, dtype)
    for t in range(1, 2 * optimizers_module.FLUSH_EVERY + 3):
        p = np.zeros(4, dtype)  # from 0 each time: p is then the step alone, rounded once
        opt.step([p], [grad])
        np.testing.assert_allclose(-p, step(t), rtol=rtol, atol=0, err_msg=f"step {t}")


@pytest.mark.parametrize("name", ["adam", "momentum", "rmsprop"])
def test_float32_moments_of_a_stopped_gradient_never_become_subnormal(name):
    from gradlab.engine.optimizers import FLUSH_EVERY, optimizers

    opt = optimizers.create(name)
    p = np.ones(4, dtype=np.float32)
    g = np.array([1.0, 1e-3, 0.0, 0.5], dtype=np.float32)
    opt.step([p], [g])
    g[:] = 0  # the gradient stops (a dead unit): the moments decay by beta every step
    tiny = np.finfo(np.float32).tiny
    for _ in range(40 * FLUSH_EVERY):
        opt.step([p], [g])
        for buffer in opt.state_dict()["buffers"].values():
            assert not np.any((buffer[0] != 0) & (np.abs(buffer[0]) < tiny))  # subnormals are 10-20x slower
    first = next(iter(opt.state_dict()["buffers"].values()))[0]  # adam's m, momentum's velocity: beta = 0.9
    assert name == "rmsprop" or np.all(first == 0)  # decayed below 2e-31 and flushed to exactly 0


def test_flush_tiny_zeroes_only_what_is_negligible():
    from gradlab.engine.optimizers import flush_tiny

    a = np.array([1e-30, 1e-31, -1e-32, 1e-40, 0.0, -3.0], dtype=np.float32)
    b = np.array([1e-300, 1e-310, 1.0])
    flush_tiny([a, b])
    np.testing.assert_array_equal(a, np.array([1e-30, 0, 0, 0, 0, -3.0], dtype=np.float32))
    np.testing.assert_array_equal(b, [1e-300, 0, 1.0])


def test_flush_tiny_spares_denominator_entries_whose_root_still_moves_eps():
    from gradlab.engine.optimizers import flush_tiny

    # float32, eps = 1e-8: the level is min(tiny 2**24, (eps u / 4)**2) with u = 2**-23, so
    # (1e-8 * 1.1921e-7 / 4)**2 = (2.980e-16)**2 = 8.88e-32, below 2e-31: 1e-31 stays, 8e-32 goes
    v = np.array([1e-31, 8e-32, 0.5], dtype=np.float32)
    flush_tiny([v], eps=1e-8)
    np.testing.assert_array_equal(v, np.array([1e-31, 0.0, 0.5], dtype=np.float32))


@pytest.mark.parametrize(("spec", "dtype", "smallest"), [
    ("adam", np.float32, 1.1838e-21),  # sqrt(1.4013e-45 / (1 - 0.999))
    ("adam", np.float64, 7.0290e-161),  # sqrt(4.9407e-324 / 0.001)
    ("rmsprop", np.float32, 1.1838e-22),  # sqrt(1.4013e-45 / (1 - 0.9))
    ("adagrad", np.float32, 3.7434e-23),  # sqrt(1.4013e-45 / 1)
    ("momentum", np.float32, 0.0),  # no eps under a root
])
def test_smallest_eps_is_where_the_newest_g_squared_underflows(spec, dtype, smallest):
    assert optimizers.create(spec).smallest_eps(np.dtype(dtype)) == pytest.approx(smallest, rel=1e-4, abs=0)


@pytest.mark.parametrize(("spec", "dtype", "advised"), [
    ("adam", np.float32, "1.19e-21"),  # 1.1838e-21: 1.18e-21, rounded to nearest, was advised and then refused
    ("adam", np.float64, "7.03e-161"),  # 7.0290e-161
    ("rmsprop", np.float32, "1.19e-22"),  # 1.1838e-22
    ("adagrad", np.float64, "2.23e-162"),  # 2.2227e-162
])
def test_the_eps_an_eps_problem_advises_is_accepted(spec, dtype, advised):
    opt = optimizers.create({"name": spec, "eps": 1e-300})
    problem = opt.eps_problem(np.dtype(dtype))
    assert problem.endswith(f"use eps >= {advised}")
    assert optimizers.create({"name": spec, "eps": float(advised)}).eps_problem(np.dtype(dtype)) is None


def test_below_the_smallest_eps_a_tiny_gradient_after_a_dead_spell_steps_far_beyond_lr():
    # spiral_relu's float32 divergence in one weight: 100 steps of gradient 0, then g = 4.5e-23, whose
    # 0.001 g^2 underflows to 0. Adam's step is then lr m_hat / eps with m_hat = 0.1 g (1 - 0.9^101 = 1):
    # 0.0038 lr at the smallest eps (1.18e-21), 4.5e12 lr at eps = 1e-36 (above float32's tiny, 1.2e-38)
    def step_after_a_dead_spell(eps):
        opt, p = optimizers.create({"name": "adam", "lr": 1.0, "eps": eps}), np.zeros(1, np.float32)
        for _ in range(100):
            opt.step([p], [np.zeros(1, np.float32)])
        opt.step([p], [np.full(1, 4.5e-23, np.float32)])
        return abs(float(p[0]))

    smallest = optimizers.create("adam").smallest_eps(np.dtype(np.float32))
    assert 0.0037 < step_after_a_dead_spell(smallest) < 0.0039
    assert 4.4e12 < step_after_a_dead_spell(1e-36) < 4.6e12
