"""The fit loop's options: schedules, early stopping, weight decay, clipping, interruption."""

import numpy as np
import pytest

from gradlab.experiment import build
from gradlab.training import Callback, fit

BASE = {"seed": 0, "data": {"name": "moons", "n_samples": 120, "standardize": True},
        "model": {"hidden": [6], "activation": "tanh"}, "loss": "bce",
        "optimizer": {"name": "sgd", "lr": 0.5}, "training": {"epochs": 12, "batch_size": 16}}


def experiment(**changes):
    raw = {key: (dict(value) if isinstance(value, dict) else value) for key, value in BASE.items()}
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        raw[section][key] = value
    return build(raw)


def train(e, **kw):
    return fit(e.network, e.loss, e.optimizer, e.X_train, e.Y_train, e.settings, X_test=e.X_test, Y_test=e.Y_test,
               rng=np.random.default_rng(0), **kw)


def test_step_schedule_sets_the_logged_learning_rate():
    # lr0 * gamma^floor(e / step_size) with e = epoch - 1: 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125 ...
    e = experiment(optimizer__schedule={"name": "step", "gamma": 0.5, "step_size": 3})
    history = train(e)
    lrs = [row["lr"] for row in history.rows[1:]]
    assert lrs == [0.5 * 0.5 ** ((epoch - 1) // 3) for epoch in range(1, 13)]


def test_early_stopping_on_the_test_loss():
    e = experiment(training__epochs=500, training__patience=3, optimizer__lr=2.0)
    history = train(e)
    assert history.epochs < 500
    assert history.epochs - history.last_gain_epoch == 3
    assert "early stop" in history.stop_reason
    test_losses = [r["test_loss"] for r in history.rows]
    assert history.last_gain_loss == min(test_losses[: history.last_gain_epoch + 1])


def test_l2_weight_decay_shrinks_the_weights():
    plain, decayed = experiment(), experiment(training__l2=0.1)
    train(plain)
    train(decayed)
    norm = lambda e: sum(float(np.sum(layer.W ** 2)) for layer in e.network.layers)  # noqa: E731
    assert norm(decayed) < 0.8 * norm(plain)


def test_clipping_bounds_every_update():
    e = experiment(optimizer__clip_norm=1e-3, training__epochs=1, training__batch_size="full")
    before = e.network.flat()
    train(e)
    # one full-batch sgd step with |g| clipped to 1e-3: |delta params| = lr * 1e-3
    assert np.linalg.norm(e.network.flat() - before) == pytest.approx(0.5e-3, rel=1e-9)


def test_interrupt_returns_what_was_done():
    class Stop(Callback):
        def on_epoch_end(self, epoch):
            if epoch == 4:
                raise KeyboardInterrupt

    history = train(experiment(), callbacks=[Stop()])
    assert history.status == "interrupted" and history.epochs == 4
    assert history.rows[-1]["epoch"] == 4 and history.stop_reason == "interrupted after epoch 4"


def test_an_interrupt_between_logged_epochs_logs_a_last_row_at_the_saved_weights():
    from gradlab.training import evaluate

    class Stop(Callback):
        def on_epoch_end(self, epoch):
            if epoch == 7:
                raise KeyboardInterrupt

    e = experiment(training__log_every=5)
    history = train(e, callbacks=[Stop()])
    assert [r["epoch"] for r in history.rows] == [0, 5, 7]  # not a 'final' of epoch 5 for a model of epoch 7
    assert history.rows[-1]["train_loss"] == evaluate(e.network, e.loss, e.X_train, e.Y_train, "binary")["loss"]
    assert history.rows[-1]["lr"] == 0.5


def test_the_summarys_best_counts_the_row_an_interrupt_logs():
    # the row logged at Ctrl-C (epoch 7, between the logged 5 and 10) bypassed early stopping's
    # bookkeeping, so the summary's best stayed at epoch 5 though epoch 7's test loss was lower
    from gradlab.runner import final_values

    class Stop(Callback):
        def on_epoch_end(self, epoch):
            if epoch == 7:
                raise KeyboardInterrupt

    history = train(experiment(training__log_every=5), callbacks=[Stop()])
    epochs, test_losses = zip(*[(r["epoch"], r["test_loss"]) for r in history.rows])
    assert epochs == (0, 5, 7) and test_losses[2] == min(test_losses)
    values = final_values(history)
    assert (values["best_epoch"], values["best_loss"]) == (7, test_losses[2])


@pytest.mark.parametrize(("values", "higher", "diverged", "best"), [
    ([0.36, 0.72], True, True, 0),  # the diverged row's 0.72 (parameters of 2e12) is no best
    ([0.36, 0.72], True, False, 1),
    ([0.77, 3.1e20], False, True, 0),
    ([0.5], True, True, None),  # a run that diverged at its first logged row has no best
    ([None, float("nan"), 0.5, 0.4, 0.4], False, False, 3),  # empty and nan cells are no values; a tie: the first
    ([38.0, 25.04, float("nan"), float("-inf")], False, False, 1),  # -inf is lowest, and diverged
    ([float("inf"), 0.9, 0.9], True, False, 1),
    ([], False, True, None),
])
def test_best_index_is_the_one_rule_for_a_runs_best(values, higher, diverged, best):
    from gradlab.training import best_index

    assert best_index(values, higher, diverged) == best
    assert best_index(np.array(values, dtype=float), higher, diverged) == best  # compare's columns, as arrays


def test_the_row_an_interrupt_logs_carries_the_learning_rate_of_its_epoch():
    class Stop(Callback):
        def on_epoch_end(self, epoch):
            if epoch == 3:
                raise KeyboardInterrupt

    # step schedule, gamma 0.5 every 3 epochs: epoch 3 ran at 0.5 * 0.5**floor((3 - 1) / 3) = 0.5
    # (0.25 is epoch 4's)
    e = experiment(training__log_every=5, optimizer__schedule={"name": "step", "gamma": 0.5, "step_size": 3})
    history = train(e, callbacks=[Stop()])
    assert [(r["epoch"], r["lr"]) for r in history.rows] == [(0, 0.5), (3, 0.5)]


def test_a_batch_size_above_the_sample_count_is_one_full_batch_update_per_epoch():
    e = experiment(training__batch_size=10_000, training__epochs=3)
    steps = []

    class Counting:
        def step(self, params, grads, lr):
            steps.append(1)
            e.optimizer.step(params, grads, lr)

    fit(e.network, e.loss, Counting(), e.X_train, e.Y_train, e.settings, rng=np.random.default_rng(0))
    assert len(steps) == 3


def test_an_interrupt_inside_an_epoch_labels_its_row_with_that_epoch_and_says_so():
    e = experiment(training__log_every=5)
    per_epoch = -(-len(e.X_train) // 16)
    updates = []

    class Interrupting:  # the optimizer, stopped by Ctrl-C at the 3rd update of epoch 3
        def __init__(self, inner):
            self.inner = inner

        def step(self, params, grads, lr):
            updates.append(1)
            if len(updates) == 2 * per_epoch + 3:
                raise KeyboardInterrupt
            self.inner.step(params, grads, lr)

    history = fit(e.network, e.loss, Interrupting(e.optimizer), e.X_train, e.Y_train, e.settings,
                  rng=np.random.default_rng(0))
    assert history.epochs == 2 and [r["epoch"] for r in history.rows] == [0, 3]
    assert history.stop_reason == "interrupted part way through epoch 3 (its row is at the weights reached)"


def test_shuffle_off_is_deterministic_and_differs_from_shuffled():
    a, b, c = experiment(training__shuffle=False), experiment(training__shuffle=False), experiment()
    la, lb, lc = ([r["train_loss"] for r in train(x).rows] for x in (a, b, c))
    assert la == lb and la != lc


@pytest.mark.parametrize("loss, w, warned", [
    ("mse", -40, True),  # confidently wrong: dC/dz = (a - y) sigma'(z) ~ 0, the plateau
    ("mse", 40, False),  # confidently right: a learned neuron (the German seed article's), nothing to warn of
    ("bce", -40, False),  # fused: dC/dz = (a - y)/N, sigma' cancelled
])
def test_a_saturated_output_is_a_warning_only_where_sigma_prime_slows_learning(loss, w, warned):
    from gradlab.experiment import build
    from gradlab.training import Callback, fit

    class Warnings(Callback):
        def __init__(self):
            self.messages = []

        def on_warning(self, message):
            self.messages.append(message)

    # one sigmoid neuron with |z| ~ 40 on most samples: f'(z) ~ 4e-18, saturated
    e = build({"data": {"name": "cat_dog", "n_samples": 40, "standardize": True}, "loss": loss,
               "model": {"output": "sigmoid", "init": {"name": "explicit", "layers": [{"W": [[w], [w]], "b": [0]}]}},
               "training": {"epochs": 1}})
    got = Warnings()
    fit(e.network, e.loss, e.optimizer, e.X_train, e.Y_train, settings=e.settings, callbacks=[got])
    saturated = [m for m in got.messages if "layer 1 (the output) is saturated on wrong answers" in m]
    assert bool(saturated) is warned


@pytest.mark.parametrize(("loss", "output", "expected"), [
    ("mse", "identity", 1.0),  # outputs fitted to 0/1 targets: 0.3 is class 0, 0.7 class 1 (was 0.5 at > 0)
    ("mse", "tanh", 1.0),
    ("mse", "relu", 1.0),
    ("bce", "sigmoid", 1.0),
    ("bce_logits", "identity", 0.5),  # the output is a logit: 0.3 and 0.7 are both above 0, class 1
    ("hinge", "identity", 0.5),  # a signed score: both positive, class 1
])
def test_binary_accuracy_cuts_a_single_output_where_its_loss_puts_the_boundary(loss, output, expected):
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.training import evaluate

    # one input, identity weights: the output is the input (through the output activation)
    network = Network.from_weights([(np.eye(1), np.zeros(1))], [], output)
    X = np.array([[0.3], [0.7]]) if output != "sigmoid" else np.array([[-0.8473], [0.8473]])  # sigma = 0.3, 0.7
    Y = np.array([[0.0], [1.0]])
    assert evaluate(network, losses.create(loss), X, Y, "binary")["accuracy"] == expected


def test_r2_of_constant_targets_is_nan_even_when_their_mean_is_not_exact():
    # three 0.1s have the mean 0.10000000000000002: a tiny sst gave R^2 = -5e27
    from gradlab.engine.network import Network
    from gradlab.engine.losses import losses
    from gradlab.training import evaluate

    net = Network.from_weights([(np.array([[0.0]]), np.array([0.101]))], [], "identity")
    X, Y = np.zeros((3, 1)), np.full((3, 1), 0.1)
    assert np.isnan(evaluate(net, losses.create("mse"), X, Y, "regression")["r2"])


def test_r2_of_several_outputs_is_pooled_and_each_output_has_its_own():
    # identity network, two outputs: y_hat = x + (0, 10). By hand, y = (0, 2, 4 | 10, 10, 40) and
    # y_hat = (1, 2, 3 | 10, 20, 30): output 1: SSE = 1 + 0 + 1 = 2, SST = 4 + 0 + 4 = 8, R^2 = 0.75;
    # output 2 (mean 20): SSE = 0 + 100 + 100 = 200, SST = 100 + 100 + 400 = 600, R^2 = 2/3;
    # pooled = 1 - (2 + 200) / (8 + 600) = 0.66776; the plain mean of the two would be 0.70833
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.training import evaluate

    net = Network.from_weights([(np.eye(2), np.array([0.0, 10.0]))], [], "identity")
    X = np.array([[1.0, 0.0], [2.0, 10.0], [3.0, 20.0]])
    Y = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 40.0]])
    result = evaluate(net, losses.create("mse"), X, Y, "regression")
    assert result["r2"] == pytest.approx(1 - 202 / 608, rel=1e-15)
    assert result["r2_outputs"] == pytest.approx([0.75, 2 / 3], rel=1e-15)
    Y[:, 1] = 7.0  # a constant output has no R^2 of its own; the pooled one still has the other's spread
    result = evaluate(net, losses.create("mse"), X, Y, "regression")
    assert result["r2"] == pytest.approx(1 - (2 + 9 + 169 + 529) / 8, rel=1e-15)
    assert result["r2_outputs"][0] == 0.75 and np.isnan(result["r2_outputs"][1])
    # one output: the pooled R^2 is its own, and no list is added
    one = Network.from_weights([(np.eye(1), np.zeros(1))], [], "identity")
    assert evaluate(one, losses.create("mse"), X[:, :1], Y[:, :1], "regression") == {"loss": 0.5 * 2 / 3, "r2": 0.75}


def test_a_run_whose_first_losses_sum_past_the_largest_float_is_reported_diverged():
    # one weight of 1.3e154: each row's mse is (1.3e154)^2 / 2 = 8.45e307, finite, but three rows summed past
    # 1.8e308 and math.fsum raised OverflowError out of fit. Now the logged loss is their mean, and the run
    # stops as diverged on the weight beyond 1e12.
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.engine.optimizers import optimizers
    from gradlab.training import Settings

    net = Network.from_weights([(np.array([[1.3e154]]), np.array([0.0]))], [], "identity")
    history = fit(net, losses.create("mse"), optimizers.create("sgd"), np.ones((3, 1)), np.zeros((3, 1)),
                  Settings(epochs=2, task="regression"))
    assert history.status == "diverged"
    assert history.rows[0]["train_loss"] == pytest.approx((1.3e154) ** 2 / 2, rel=1e-15)
    assert history.stop_reason == ("diverged before the first update: a parameter reached 1.3e+154 in size "
                                   "(more than 1e+12); start from smaller weights")


def test_a_large_but_finite_starting_loss_is_no_divergence():
    # targets 2e6 (1 + x) from w = b = 0: C_0 = mean of (2e6 (1 + x))^2 / 2 = 2e12 (1 + 1/2)^2-ish, past the
    # 1e12 that parameters may not exceed. The loss used to have the same cap: "diverged before the first
    # update" at any learning rate. Only the parameters' cap and the growth rule remain.
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.engine.optimizers import optimizers
    from gradlab.training import Settings

    X = np.linspace(0.0, 1.0, 11)[:, None]
    Y = 2e6 * (1.0 + X)
    net = Network.from_weights([(np.zeros((1, 1)), np.zeros(1))], [], "identity")
    history = fit(net, losses.create("mse"), optimizers.create("sgd"), X, Y,
                  Settings(epochs=3, batch_size=None, shuffle=False, lr=0.1, task="regression"))
    assert history.status == "completed" and history.epochs == 3
    # C_0 = mean(y^2) / 2 by hand: y = 2e6 (1 + x), mean((1 + x)^2) over x = 0, 0.1, ..., 1 is 2.35
    assert history.rows[0]["train_loss"] == pytest.approx(0.5 * 4e12 * 2.35, rel=1e-14)
    assert history.rows[-1]["train_loss"] < history.rows[0]["train_loss"]


def test_the_output_saturation_warning_counts_saturated_wrong_answers():
    """saturated_k is mean(f'(z) < 1% of max) over the (samples x units) array; the output's warning counts
    the saturated outputs on misclassified samples, the ones MSE + sigmoid cannot move (a one-neuron layer
    has one unit, so "90% of its units" could not be true; the warning names what is counted)."""
    class Record(Callback):
        def __init__(self):
            self.rows, self.messages = [], []

        def on_log(self, row):
            self.rows.append(row)

        def on_warning(self, message):
            self.messages.append(message)

    e = build({"data": {"name": "cat_dog", "n_samples": 40, "standardize": True}, "loss": "mse",
               "model": {"output": "sigmoid", "init": {"name": "explicit", "layers": [{"W": [[-40], [-40]], "b": [0]}]}},
               "training": {"epochs": 1}})
    got = Record()
    fit(e.network, e.loss, e.optimizer, e.X_train, e.Y_train, settings=e.settings, callbacks=[got])
    z = e.X_train @ np.array([-40.0, -40.0])
    s = 1 / (1 + np.exp(-z))
    flat = s * (1 - s) < 0.01 * 0.25  # by hand, over the 30 training samples of the one unit
    wrong = (s > 0.5) != (e.Y_train[:, 0] > 0.5)
    assert got.rows[0]["saturated_1"] == np.mean(flat)
    stuck = np.mean(flat & wrong)
    assert stuck >= 0.5
    assert got.messages[0] == (f"epoch 0: layer 1 (the output) is saturated on wrong answers: {stuck:.0%} of its unit "
                               "outputs (units x samples) have f'(z) < 1% of the maximum on misclassified samples, so "
                               "they learn slowly (cross-entropy on the logits cancels f')")


def test_evaluating_targets_near_the_largest_float_gives_their_loss_and_r2():
    # targets +-1e308: the R^2 scale 2**1024 overflowed math.ldexp (an internal error in train and evaluate),
    # and the chunk's mean times its 2 rows was inf. By hand, from w = b = 0: smooth_l1 rows |y| - 1/2, whose
    # mean is 1e308 - 0.5 = 1e308; R^2 = 1 - sum y^2 / sum (y - 0)^2 = 0.
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.training import evaluate

    net = Network.from_weights([(np.zeros((1, 1)), np.zeros(1))], [], "identity")
    X, Y = np.zeros((2, 1)), np.array([[1e308], [-1e308]])
    assert evaluate(net, losses.create("smooth_l1"), X, Y, "regression") == {"loss": 1e308, "r2": 0.0}


def test_r2_of_same_sign_targets_near_the_largest_float():
    # their mean overflowed before any scaling: R^2 nan with two RuntimeWarnings. By hand: y_hat = 0.999 y, so
    # sse = 1e-6 sum y^2 = 1e-6 (2.25 + 2.56 + 2.89) 1e616 and sst = 2 (0.1e308)^2: R^2 = 1 - 7.7e-6 / 0.02 = 0.999615
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.training import evaluate

    net = Network.from_weights([(np.ones((1, 1)), np.zeros(1))], [], "identity")
    Y = np.array([[1.5e308], [1.6e308], [1.7e308]])
    assert evaluate(net, losses.create("smooth_l1"), 0.999 * Y, Y, "regression")["r2"] == pytest.approx(0.999615, rel=1e-12)


@pytest.mark.parametrize("layer_norm", [1e160, 1e-180, 0.5])
def test_the_logged_gradient_norm_combines_the_layers_without_overflow_or_underflow(monkeypatch, layer_norm):
    from gradlab.engine import diagnostics

    monkeypatch.setattr(diagnostics, "grad_norms", lambda net: [layer_norm, layer_norm])
    history = train(experiment(training__epochs=1))
    assert history.rows[0]["grad_norm"] == pytest.approx(layer_norm * 2**0.5, rel=1e-15)  # sqrt(n^2 + n^2)


@pytest.mark.parametrize(("l1", "l2", "w_after"), [
    (0.5, 0.0, 1.95),  # g + l1 sign(W) = 0 + 0.5: W = 2 - 0.1 * 0.5
    (0.0, 0.5, 1.9),  # g + l2 W = 0 + 0.5 * 2: W = 2 - 0.1 * 1
])
def test_weight_decay_moves_a_perfect_fit_by_hand_and_a_loss_rising_from_0_is_no_divergence(l1, l2, w_after):
    # y = 2x fitted exactly (W = 2, b = 0): the loss gradient is 0, so one full-batch sgd step (lr 0.1)
    # moves W by the decay alone and leaves b (not decayed) at 0. The loss then rises from C_0 = 0 to
    # 1/(2N) sum ((2 - W) x)^2 over x = 1, 2 (N = 2): 5 (2 - W)^2 / 4, far below 1e6 (1 + |C_0|)
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.engine.optimizers import optimizers
    from gradlab.training import Settings

    network = Network.from_weights([(np.array([[2.0]]), np.zeros(1))], [], "identity")
    X = np.array([[1.0], [2.0]])
    settings = Settings(epochs=1, batch_size=None, lr=0.1, l1=l1, l2=l2, task="regression")
    history = fit(network, losses.create("mse"), optimizers.create({"name": "sgd", "lr": 0.1}), X, 2.0 * X, settings,
                  rng=np.random.default_rng(0))
    assert history.status == "completed"
    assert network.layers[0].W[0, 0] == pytest.approx(w_after, rel=1e-15)
    assert network.layers[0].b[0] == 0.0
    assert history.rows[-1]["train_loss"] == pytest.approx(5 * (2 - w_after) ** 2 / 4, rel=1e-12)


def test_min_delta_larger_than_any_gain_stops_after_patience_epochs():
    # no epoch beats the starting loss by 1e9, so the best stays epoch 0 and the run stops at epoch 2
    history = train(experiment(training__epochs=50, training__patience=2, training__min_delta=1e9))
    assert (history.last_gain_epoch, history.epochs) == (0, 2)


def test_the_early_stop_message_with_min_delta_names_the_threshold_not_no_improvement():
    # the test loss falls at every epoch, each time by less than min_delta: "no improvement" would be false,
    # and the summary's best (the lowest loss) is the last epoch, not the reference one
    history = train(experiment(training__epochs=500, training__patience=3, training__min_delta=0.01,
                               optimizer__lr=0.1))
    losses = [row["test_loss"] for row in history.rows]
    since, epoch = history.last_gain_epoch, history.epochs
    assert (since, epoch) == (10, 13)
    assert losses[10] > losses[11] > losses[12] > losses[13] > losses[10] - 0.01  # it fell, by less than 0.01
    reference = losses[since]
    assert history.stop_reason == (
        f"early stop at epoch {epoch}: the test loss has not fallen below {reference - 0.01:.6g} ({reference:.6g} at "
        f"epoch {since} less min_delta = 0.01) for 3 epochs (patience 3)")


def test_a_single_output_exactly_on_its_threshold_is_class_0():
    from gradlab.training import predicted_classes

    # "output > threshold": a sigmoid's 0.5 (z = 0) and a score of exactly 0 are class 0
    np.testing.assert_array_equal(predicted_classes(np.array([[0.5], [0.5000001]]), 0.5), [0, 1])
    np.testing.assert_array_equal(predicted_classes(np.array([[0.0], [1e-300]]), 0.0), [0, 1])


def test_the_loss_over_several_evaluation_chunks_is_the_mean_over_all_rows():
    from gradlab.engine.losses import losses
    from gradlab.engine.network import Network
    from gradlab.training import EVAL_CHUNK, evaluate

    # identity 1 -> 1, y = 0: mse rows are x^2 / 2. 2048 rows of x = 1 (0.5 each, one chunk) and 952 of
    # x = 3 (4.5 each): (2048 * 0.5 + 952 * 4.5) / 3000 = (1024 + 4284) / 3000 = 1.769333...
    assert EVAL_CHUNK == 2048
    network = Network.from_weights([(np.eye(1), np.zeros(1))], [], "identity")
    X = np.concatenate([np.ones((2048, 1)), np.full((952, 1), 3.0)])
    result = evaluate(network, losses.create("mse"), X, np.zeros((3000, 1)), "regression")
    assert result["loss"] == pytest.approx(5308 / 3000, rel=1e-14)
