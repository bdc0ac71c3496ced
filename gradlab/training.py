"""Training loops: mini-batch gradient descent with any optimizer, or full-batch scipy CG/L-BFGS.

:func:`fit` never prints. It reports through callbacks (:class:`Callback`), so the CLI
can draw a progress bar and a table, a sweep worker can only write CSV, and a test can
collect rows. A metrics row is produced for epoch 0 (the state before any update) and
every ``log_every`` epochs after it, and always for the last epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradlab.engine import diagnostics
from gradlab.errors import plural
from gradlab.engine.layers import Dense
from gradlab.engine.losses import Loss
from gradlab.engine.network import Network
from gradlab.engine.optimizers import add_weight_decay, clip_by_global_norm, weight_decay_penalty

#: a parameter beyond this in size counts as exploded: the run is stopped as diverged. (The loss
#: has no such cap: regression targets of 2e6 give an MSE of 2e12 before anything went wrong.)
EXPLODED = 1e12
#: ... as does a loss more than LOSS_GROWTH (1 + |C_0|) above its value before training, C_0
#: (the rule of ``gradlab descend``: a bounded loss such as MSE on a sigmoid cannot explode)
LOSS_GROWTH = 1e6
#: forward passes for evaluation go through the data in chunks of this many rows (on
#: 784-512-512-10, 2048-row chunks ran at 127 GFLOP/s, 8192-row ones at 114, with 4x the work arrays)
EVAL_CHUNK = 2048
#: gradient norms, saturation and dead units are measured on at most this many training samples (the first)
DIAGNOSTIC_SAMPLES = 2048


@dataclass
class Settings:
    """How to train. ``batch_size=None`` means full batch (one update per epoch)."""

    epochs: int = 100
    batch_size: int | None = 32
    shuffle: bool = True
    log_every: int = 1
    lr: float = 0.1
    schedule: Any = None  # an object with .lr(lr0, epoch), or None for constant
    l1: float = 0.0
    l2: float = 0.0
    clip_norm: float | None = None
    patience: int | None = None
    min_delta: float = 0.0
    task: str = "binary"  # binary | multiclass | regression

    def epoch_lr(self, epoch: int) -> float:
        """The learning rate of the 1-based ``epoch``: ``schedule.lr(lr, epoch - 1)``, or ``lr`` without a
        schedule. Epoch 0 (the state before training) is given epoch 1's."""
        return self.lr if self.schedule is None else self.schedule.lr(self.lr, max(epoch - 1, 0))


@dataclass
class History:
    """What happened: the logged rows and how the run ended."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    status: str = "completed"  # completed | diverged | interrupted
    stop_reason: str = ""
    epochs: int = 0
    in_epoch: bool = False  # updates of epoch ``epochs + 1`` have begun: the weights are past the last full epoch
    # early stopping's reference: the epoch and watched loss of the last gain of at least min_delta,
    # seen only at the rows it checks (the summary's best_epoch/best_loss are the lowest loss of
    # all the rows, runner.final_values, which a gain smaller than min_delta can move later)
    last_gain_epoch: int | None = None
    last_gain_loss: float | None = None
    params_path: list[np.ndarray] = field(default_factory=list)  # flat parameters along the way, if asked (fit)

    @property
    def final(self) -> dict[str, Any]:
        return self.rows[-1] if self.rows else {}


def evidence(values: Sequence[Any], diverged: bool) -> Sequence[Any]:
    """The logged rows of a metric that say how far a run got: all of them, but a diverged run's
    last row, logged at weights beyond use (an accuracy of 0.72 after a step to parameters of 2e12,
    from 0.36 before it; a gradient norm of 0 where every unit saturated). The rule for the run's
    best (:func:`best_index`) and for where its metric halved (``gradlab compare``).
    """
    return values[:-1] if diverged else values


def best_index(values: Sequence[float | None], higher: bool, diverged: bool) -> int | None:
    """Which logged value of a metric is the run's best: the index of the highest (``higher``) or
    lowest finite value, the first on a tie; None when there is none.

    The one rule for a run's best, wherever it is given: summary.json (``best_test_accuracy``,
    ``best_epoch``, ``best_loss``), a sweep's results.csv (``best_<metric>``) and ``gradlab compare``.
    A diverged run's last row is left out (:func:`evidence`): it is logged at weights beyond use,
    where an accuracy can be anything. So is a value that is not finite: a loss of -inf is lowest,
    and diverged.

    Parameters
    ----------
    values : sequence of float or None, shape (n_rows,)
        The metric at each logged row, in order; None (an empty cell) is no value.
    higher : bool
        Whether higher is better (accuracies, R^2); else lower is (losses, f).
    diverged : bool
        Whether the run's status is ``diverged``.
    """
    kept = np.array(evidence(values, diverged), dtype=float)  # None -> nan
    finite = np.isfinite(kept)
    if not finite.any():
        return None
    return int(np.argmax(np.where(finite, kept, -np.inf)) if higher else np.argmin(np.where(finite, kept, np.inf)))


class Callback:
    """Override what you need; every method is optional."""

    def on_start(self, settings: Settings, columns: list[str]) -> None: ...

    def on_epoch_end(self, epoch: int) -> None: ...

    def on_log(self, row: dict[str, Any]) -> None: ...

    def on_warning(self, message: str) -> None: ...


def metric_columns(network: Network, task: str) -> list[str]:
    """The metrics.csv header for this network and task: accuracy for a classifier, R^2 for a
    regression, and a layer's saturation or dead-unit share only where its activation can have
    them. The test columns are always there, empty without a test set (as every number that was
    never measured): one header whatever the data split, so that runs and sweeps line up."""
    scores = ["train_r2", "test_r2"] if task == "regression" else ["train_accuracy", "test_accuracy"]
    cols = ["epoch", "train_loss", "test_loss", *scores, "lr", "grad_norm"]
    for k, layer in enumerate(network.layers, start=1):
        cols.append(f"grad_norm_{k}")
        if layer.activation.max_derivative is not None:
            cols.append(f"saturated_{k}")
        if layer.activation.can_die:
            cols.append(f"dead_{k}")
    return cols + ["time_s"]


def binary_threshold(loss: Loss, activation_name: str) -> float:
    """The value of a single output unit between the two classes.

    0 for a score whose sign decides: hinge's f (with t = +-1), or the logit z that
    bce_logits reads through an identity output. Otherwise the output is fitted to the 0/1
    targets (a sigmoid's probability, or mse on an identity, tanh or relu output), and the
    boundary is midway between them, 0.5.
    """
    return 0.0 if loss.signed_scores or (loss.on_logits and activation_name != loss.link) else 0.5


def predicted_classes(output: np.ndarray, threshold: float) -> np.ndarray:
    """Class indices from network outputs: argmax for several outputs, ``output > threshold``
    for one (see :func:`binary_threshold`)."""
    if output.shape[1] > 1:
        return output.argmax(axis=1)
    return (output[:, 0] > threshold).astype(np.int64)


def target_classes(Y: np.ndarray) -> np.ndarray:
    """Class indices from network targets (one column of 0/1 (or -1/+1), or one-hot rows)."""
    return Y.argmax(axis=1) if Y.shape[1] > 1 else (Y[:, 0] > 0).astype(np.int64)


def _power_of_two_below(x: float) -> float:
    """The power of two in (x/2, x] for a positive finite x (dividing by it is exact), else 1."""
    return math.ldexp(0.5, math.frexp(x)[1]) if 0 < x < math.inf else 1.0


def r_squared(sse: float, sst: float, constant: bool) -> float:
    """R^2 = 1 - SSE / SST, SSE = sum (y_hat - y)^2 and SST = sum (y - mean y)^2 over the same entries.

    nan when the targets are constant (``constant``, or one row, say: SST of 0): nothing is left to explain.
    """
    return 1.0 - sse / sst if sst > 0 and not constant else float("nan")


def evaluate(network: Network, loss: Loss, X: np.ndarray, Y: np.ndarray, task: str, *,
             check_output: Callable[[Dense], None] | None = None) -> dict[str, float]:
    """Loss (batch mean over all of X), and accuracy or R^2, in chunks of EVAL_CHUNK rows.

    ``check_output``, if given, is called with the output layer after each chunk's forward pass,
    before that chunk's loss is taken (its ``a`` and ``z`` hold the chunk's rows); it may raise to
    refuse the data. ``gradlab evaluate`` refuses outputs that overflow this way, within the one
    pass that also scores the data.

    ``r2`` (see :func:`r_squared`) is pooled over the outputs: both sums run over every output,
    1 - sum_outputs SSE / sum_outputs SST, scikit-learn's ``r2_score`` with
    ``multioutput='variance_weighted'``, so the output with the largest spread weighs most. With
    more than one output the result also holds ``r2_outputs``, each output's own R^2 (a list, in
    the outputs' order). The targets and outputs are divided by a power of two near the targets'
    size before the mean and the differences are taken, and the differences by one near their
    spread before they are squared: exact scalings, which keep targets of 1e308 (and their mean,
    and y_hat - y) from overflowing, and cancel in each ratio.
    """
    n = X.shape[0]
    total, correct, sse = 0.0, 0, 0.0
    per_output = task == "regression" and Y.shape[1] > 1
    sse_outputs = np.zeros(Y.shape[1])
    threshold = binary_threshold(loss, network.output.activation.name)
    if task == "regression":
        unit = _power_of_two_below(float(np.max(np.abs(Y))))
        centred = Y / unit
        centred -= centred.mean(axis=0)
        scale = _power_of_two_below(float(np.max(np.abs(centred))))
    for start in range(0, n, EVAL_CHUNK):
        xb, yb = X[start:start + EVAL_CHUNK], Y[start:start + EVAL_CHUNK]
        out = network.forward(xb)
        if check_output is not None:
            check_output(network.output)
        total += network.loss_value(loss, yb) * (xb.shape[0] / n)  # a weighted mean: no sum of huge rows overflows
        if task == "regression":
            squares = ((out / unit - yb / unit) / scale) ** 2
            sse += float(np.sum(squares))  # summed whole, as before per-output R^2 existed: the same bits
            if per_output:
                sse_outputs += np.sum(squares, axis=0)
        else:
            correct += int(np.sum(predicted_classes(out, threshold) == target_classes(yb)))
    result = {"loss": total}
    if task == "regression":
        spread = (centred / scale) ** 2
        constant = np.all(Y == Y[:1], axis=0)  # 0.1 three times has a mean of 0.10000000000000002: sst > 0
        result["r2"] = r_squared(sse, float(np.sum(spread)), bool(constant.all()))
        if per_output:
            result["r2_outputs"] = [r_squared(float(e), float(t), bool(c))
                                    for e, t, c in zip(sse_outputs, np.sum(spread, axis=0), constant)]
    else:
        result["accuracy"] = correct / n
    return result


class _Logger:
    """Builds metrics rows (evaluation + diagnostics) and hands them to the callbacks."""

    def __init__(self, network, loss, X, Y, X_test, Y_test, settings, callbacks):
        self.network, self.loss, self.settings, self.callbacks = network, loss, settings, callbacks
        self.X, self.Y, self.X_test, self.Y_test = X, Y, X_test, Y_test
        self.diag_X, self.diag_Y = X[:DIAGNOSTIC_SAMPLES], Y[:DIAGNOSTIC_SAMPLES]
        self.started = time.perf_counter()

    def row(self, epoch: int, lr: float | None) -> dict[str, Any]:
        s, net = self.settings, self.network
        # diagnostics first: a forward/backward on a fixed slice of the training data
        net.loss_and_gradients(self.loss, self.diag_X, self.diag_Y)
        norms = diagnostics.grad_norms(net)
        saturated = diagnostics.saturated_fractions(net)
        dead = diagnostics.dead_fractions(net)
        stuck = self._stuck_output()  # from the same caches, before evaluate overwrites them
        train = evaluate(net, self.loss, self.X, self.Y, s.task)
        row: dict[str, Any] = {"epoch": epoch, "train_loss": train["loss"]}
        if self.X_test is not None and len(self.X_test):
            test = evaluate(net, self.loss, self.X_test, self.Y_test, s.task)
            row["test_loss"] = test["loss"]
        else:
            test, row["test_loss"] = {}, None  # never measured: null in summary.json, as the other test values
        if s.task == "regression":
            row["train_r2"], row["test_r2"] = train["r2"], test.get("r2")
        else:
            row["train_accuracy"], row["test_accuracy"] = train["accuracy"], test.get("accuracy")
        row["lr"] = lr
        row["grad_norm"] = math.hypot(*norms)  # scaled: layer norms of 1e160 give 1.41e160, not inf
        for k, (g, sat, d) in enumerate(zip(norms, saturated, dead), start=1):
            row[f"grad_norm_{k}"] = g
            if sat is not None:
                row[f"saturated_{k}"] = sat
            if d is not None:
                row[f"dead_{k}"] = d
        row["time_s"] = time.perf_counter() - self.started
        for cb in self.callbacks:
            cb.on_log(row)
        self._warn(row, saturated, dead, stuck)
        return row

    def _stuck_output(self) -> float | None:
        """The output's saturated unit outputs on misclassified samples, a fraction of units x
        samples: MSE + sigmoid's plateau, where dC/dz carries f'(z) ~ 0 on a wrong answer.

        A saturated right answer is a learned one (the German seed article's neuron that has
        "studied well"), and a fused output (sigmoid + bce, softmax + cross_entropy) never
        multiplies by its f'(z): dC/dz = (y_hat - y)/N. None for those, for regression and for
        an output that does not saturate.
        """
        out, act = self.network.output, self.network.output.activation
        if self.settings.task == "regression" or act.max_derivative is None or self.loss.link == act.name:
            return None
        flat = act.derivative(out.z) < diagnostics.saturation_threshold(act.max_derivative)
        wrong = predicted_classes(out.a, binary_threshold(self.loss, act.name)) != target_classes(self.diag_Y)
        return float(np.mean(flat & wrong[:, None]))

    def _warn(self, row, saturated, dead, stuck) -> None:
        last = len(saturated)
        level = f"{diagnostics.SATURATION_LEVEL:.0%}"
        if stuck is not None and stuck >= 0.5:
            self._say(f"epoch {row['epoch']}: layer {last} (the output) is saturated on wrong answers: {stuck:.0%} "
                      f"of its unit outputs (units x samples) have f'(z) < {level} of the maximum on misclassified "
                      f"samples, so they learn slowly (cross-entropy on the logits cancels f')")
        # a fused output's saturation slows nothing, and a classifier's is judged above; a regression
        # output that saturates (tanh) is judged like a hidden layer
        output_judged = self.settings.task != "regression" or self.loss.link == self.network.output.activation.name
        for k, sat in enumerate(saturated, start=1):
            if sat is not None and sat >= 0.9 and not (k == last and output_judged):
                # counted over units x samples: a one-neuron layer has one unit, yet 90% of its outputs
                self._say(f"epoch {row['epoch']}: layer {k} is saturated: {sat:.0%} of its unit outputs "
                          f"(units x samples) have f'(z) < {level} of the maximum, so little gradient flows through it")
        for k, d in enumerate(dead, start=1):
            if d is not None and d >= 0.5:
                self._say(f"epoch {row['epoch']}: layer {k}: {d:.0%} of its ReLU units are dead "
                          f"(never active on {self._diagnostic_set()})")

    def _diagnostic_set(self) -> str:
        """The training samples the diagnostics are measured on, as a warning names them: all of
        them on a small set, the first :data:`DIAGNOSTIC_SAMPLES` on a larger one."""
        n = len(self.diag_X)
        if n == 1:
            return "the 1 training sample"
        return f"any of the {'first ' if n < len(self.X) else ''}{plural(n, 'training sample')}"

    def _say(self, message: str) -> None:
        for cb in self.callbacks:
            cb.on_warning(message)


def _diverged(history: History, loss_value: float, network: Network, epoch: int, lr: float | None) -> bool:
    """True (status and stop reason set) when the run has diverged.

    Diverged: a non-finite loss or parameter, a parameter larger than :data:`EXPLODED` in
    size, or a loss more than :data:`LOSS_GROWTH` (1 + |C_0|) above C_0, the loss logged
    before the first update.
    """
    largest = largest_magnitude(network.params)
    start = history.rows[0]["train_loss"] if history.rows else loss_value
    if not (math.isfinite(loss_value) and math.isfinite(largest)):
        what = "the loss or the parameters became non-finite"
    elif largest > EXPLODED:
        what = f"a parameter reached {largest:.3g} in size (more than {EXPLODED:g})"
    elif loss_value - start > LOSS_GROWTH * (1.0 + abs(start)):
        what = f"the loss rose from {start:.6g} to {loss_value:.6g}, more than {LOSS_GROWTH:g} * (1 + |C_0|) above its start"
    else:
        return False
    history.status = "diverged"
    if epoch == 0:  # before any update: the learning rate is not to blame
        hint = "; start from smaller weights" if largest > EXPLODED else ""
        history.stop_reason = f"diverged before the first update: {what.replace('became', 'are')}{hint}"
        return True
    hint = f"; the learning rate {lr:g} is probably too large (try {lr / 10:g})" if lr else ""
    history.stop_reason = f"diverged at epoch {epoch}: {what}{hint}"
    return True


def largest_magnitude(params: list[np.ndarray]) -> float:
    """max |p| over all parameters, without an array of absolute values; nan if any is nan
    (np.max propagates nan, Python's max would drop one that is not first)."""
    return float(np.max([bound for p in params for bound in (p.max(), -p.min())]))


def watched_loss(row: dict[str, Any]) -> float:
    """The loss a row is judged by, for early stopping and for the summary's best: the test
    loss, or the train loss when there is no test set."""
    value = row.get("test_loss")
    return row["train_loss"] if value is None else value


def _improved(history: History, row: dict[str, Any], settings: Settings) -> bool:
    """Early-stopping bookkeeping on :func:`watched_loss`: a new best needs a gain of ``min_delta``."""
    value = watched_loss(row)
    if history.last_gain_loss is None or value < history.last_gain_loss - settings.min_delta:
        history.last_gain_loss, history.last_gain_epoch = value, row["epoch"]
        return True
    return False


def _early_stop(history: History, row: dict[str, Any], settings: Settings) -> bool:
    """True (with the stop reason set) when ``patience`` epochs passed without improvement; checked
    at the logged epochs, so with ``log_every`` > 1 the stop comes at the first logged epoch after."""
    if _improved(history, row, settings) or settings.patience is None:
        return False
    epoch = row["epoch"]
    if epoch - history.last_gain_epoch < settings.patience:
        return False
    which = "test" if row.get("test_loss") is not None else "train"
    waited, since, loss = plural(epoch - history.last_gain_epoch, "epoch"), history.last_gain_epoch, history.last_gain_loss
    if settings.min_delta:  # smaller gains may have come meanwhile: "no improvement" would be false
        history.stop_reason = (f"early stop at epoch {epoch}: the {which} loss has not fallen below "
                               f"{loss - settings.min_delta:.6g} ({loss:.6g} at epoch {since} less min_delta = "
                               f"{settings.min_delta:g}) for {waited} (patience {settings.patience})")
    else:
        history.stop_reason = (f"early stop at epoch {epoch}: no improvement of the {which} loss for {waited} "
                               f"(best {loss:.6g} at epoch {since}, patience {settings.patience})")
    return True


def fit(
    network: Network,
    loss: Loss,
    optimizer: Any,
    X: np.ndarray,
    Y: np.ndarray,
    settings: Settings,
    *,
    X_test: np.ndarray | None = None,
    Y_test: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    callbacks: Sequence[Callback] = (),
    record_path: bool | int = False,
) -> History:
    """Train ``network`` on (X, Y) and return the :class:`History`.

    Parameters
    ----------
    network, loss
        The model and the loss; Y must already be shaped like the output (``as_targets``).
    optimizer
        An object with ``step(params, grads, lr)`` updating in place, or one with a
        ``scipy_method`` attribute ("CG", "L-BFGS-B") for full-batch scipy minimisation.
    settings : Settings
    rng : numpy.random.Generator
        Used for shuffling only.
    record_path : bool or int
        Keep the flat parameter vector in ``history.params_path`` (for loss-landscape paths):
        before training, after every ``k``-th update (``True`` = every update; a scipy
        minimizer: every iteration) and at the end, so the path runs from the initial to
        the final parameters.

    Notes
    -----
    One epoch visits every training sample once, in batches of ``batch_size`` rows
    (a permutation of the indices when shuffling; no copy of the whole set). Ctrl-C
    ends the run with status ``interrupted`` and returns what was done.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    history = History()
    columns = metric_columns(network, settings.task)
    for cb in callbacks:
        cb.on_start(settings, columns)
    logger = _Logger(network, loss, X, Y, X_test, Y_test, settings, callbacks)
    if record_path:
        history.params_path.append(network.flat())
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected, not warned about
        try:
            row = logger.row(0, settings.lr)
            history.rows.append(row)
            _improved(history, row, settings)
            if _diverged(history, row["train_loss"], network, 0, None):  # e.g. initial weights of 1e300
                pass
            elif getattr(optimizer, "scipy_method", None):
                _fit_scipy(network, loss, optimizer, X, Y, settings, logger, history, callbacks, record_path)
            else:
                stepper = _PathRecorder(optimizer, network, history.params_path, int(record_path)) \
                    if record_path else optimizer
                _fit_steps(network, loss, stepper, X, Y, settings, logger, history, callbacks, rng)
        except KeyboardInterrupt:
            history.status = "interrupted"
            scipy = getattr(optimizer, "scipy_method", None)
            history.stop_reason = _log_where_interrupted(history, logger, None if scipy else settings)
    if record_path and not np.array_equal(history.params_path[-1], network.flat(), equal_nan=True):
        history.params_path.append(network.flat())  # the end point, whatever the stride
    if not history.stop_reason:
        history.stop_reason = f"completed {plural(history.epochs, 'epoch')}"
    return history


def _log_where_interrupted(history: History, logger: _Logger, settings: Settings | None) -> str:
    """After Ctrl-C: log a last row at the weights it left, which are the model that is saved,
    unless the last row already holds them; return the stop reason.

    With ``log_every: 100`` a run stopped at epoch 50 would otherwise report epoch 0's loss
    as final. A row for an epoch cut part way is labelled with that epoch and said to be partial.
    ``settings`` None: a scipy minimizer, whose rows have no learning rate.
    """
    epoch = history.epochs + history.in_epoch
    if history.in_epoch:
        reason = f"interrupted part way through epoch {epoch} (its row is at the weights reached)"
    else:
        reason = f"interrupted after epoch {epoch}"
    if history.in_epoch or not history.rows or history.rows[-1]["epoch"] != epoch:
        lr = None if settings is None else settings.epoch_lr(epoch)
        try:
            history.rows.append(logger.row(epoch, lr))
        except KeyboardInterrupt:  # a second Ctrl-C: stop at once, with the rows there are
            pass
    return reason


def train_epoch(
    network: Network,
    loss: Loss,
    optimizer: Any,
    X: np.ndarray,
    Y: np.ndarray,
    batch_size: int | None,
    lr: float,
    *,
    order: np.ndarray | None = None,
    l1: float = 0.0,
    l2: float = 0.0,
    clip_norm: float | None = None,
) -> None:
    """One pass over (X, Y): for every mini-batch a forward pass, backpropagation and one
    optimizer step, in place. This is the whole hot path of training.

    Parameters
    ----------
    network, loss, optimizer
        As in :func:`fit`.
    X, Y : ndarray, shapes (n, n_in) and (n, n_out)
        Training data in the network's dtype.
    batch_size : int or None
        Rows per update; None is the full batch (one update).
    lr : float
        The learning rate of every step of this epoch.
    order : ndarray of int, optional
        A permutation of ``range(n)`` to visit the rows in; batch k is gathered as
        ``X[order[k b:(k + 1) b]]`` (one copy of b rows). Without it the batches are
        contiguous slices, which are views: no copy at all.
    l1, l2, clip_norm
        Weight decay strengths and the global gradient-norm clip (None: no clipping).
    """
    n = X.shape[0]
    batch = n if batch_size is None else min(batch_size, n)
    params, grads = network.params, network.grads
    # every update rule here is elementwise, so the optimizer can step the one flat vector
    # the parameters are views of: a few ufunc calls per step, however many layers
    flat_params, flat_grads = [network.flat_params], [network.flat_grads]
    for start in range(0, n, batch):
        if order is None:
            xb, yb = X[start:start + batch], Y[start:start + batch]
        else:
            idx = order[start:start + batch]
            xb, yb = X[idx], Y[idx]
        network.forward(xb)
        network.backward(loss, yb)
        add_weight_decay(params, grads, l1, l2)
        if clip_norm is not None:
            clip_by_global_norm(grads, clip_norm)
        optimizer.step(flat_params, flat_grads, lr)


def _fit_steps(network, loss, optimizer, X, Y, settings, logger, history, callbacks, rng):
    n = X.shape[0]
    params = network.params
    for epoch in range(1, settings.epochs + 1):
        lr = settings.epoch_lr(epoch)
        order = rng.permutation(n) if settings.shuffle else None
        history.in_epoch = True
        train_epoch(network, loss, optimizer, X, Y, settings.batch_size, lr, order=order,
                    l1=settings.l1, l2=settings.l2, clip_norm=settings.clip_norm)
        history.epochs, history.in_epoch = epoch, False
        for cb in callbacks:
            cb.on_epoch_end(epoch)
        # an epoch between logged ones is skipped, unless its parameters exploded (nan compares False
        # too): that is logged at once, and _diverged stops the run
        unlogged = epoch % settings.log_every and epoch != settings.epochs
        if unlogged and largest_magnitude(params) <= EXPLODED:
            continue
        row = logger.row(epoch, lr)
        history.rows.append(row)
        if _diverged(history, row["train_loss"], network, epoch, lr) or _early_stop(history, row, settings):
            return


def _fit_scipy(network, loss, optimizer, X, Y, settings, logger, history, callbacks, record_path):
    """Full-batch minimisation by scipy.optimize.minimize with the analytic gradient; one
    scipy iteration is logged as one epoch."""
    from scipy.optimize import minimize

    dtype = network.dtype

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        network.set_flat(theta.astype(dtype, copy=False))
        history.in_epoch = True  # a line search's trial point, not an iterate
        value = network.loss_and_gradients(loss, X, Y) + weight_decay_penalty(network.params, settings.l1, settings.l2)
        add_weight_decay(network.params, network.grads, settings.l1, settings.l2)
        return value, network.flat("grads").astype(np.float64)

    class Stop(Exception):
        pass

    def on_iteration(theta: np.ndarray) -> None:
        network.set_flat(theta.astype(dtype, copy=False))
        history.epochs += 1
        history.in_epoch = False
        epoch = history.epochs
        if record_path:
            history.params_path.append(network.flat())
        for cb in callbacks:
            cb.on_epoch_end(epoch)
        if epoch % settings.log_every == 0 or epoch == settings.epochs:
            row = logger.row(epoch, None)
            history.rows.append(row)
            if _diverged(history, row["train_loss"], network, epoch, None) or _early_stop(history, row, settings):
                raise Stop

    try:
        result = minimize(objective, network.flat().astype(np.float64), jac=True, method=optimizer.scipy_method,
                          callback=on_iteration, options={"maxiter": settings.epochs, **optimizer.scipy_options()})
    except Stop:
        return
    network.set_flat(result.x.astype(dtype, copy=False))
    history.in_epoch = False
    if history.rows and history.rows[-1]["epoch"] != history.epochs:
        history.rows.append(logger.row(history.epochs, None))
    # the result is checked as a logged iteration is: one between two logged ones may have gone to nan
    if history.rows and _diverged(history, history.rows[-1]["train_loss"], network, history.epochs, None):
        return
    history.stop_reason = f"{optimizer.name}: {result.message} after {plural(history.epochs, 'iteration')}"


class _PathRecorder:
    """An optimizer that also keeps the flat parameters after every ``every``-th update.

    Recording per update lives in this wrapper, not in the training loop, so a run that
    records nothing executes the loop exactly as before.
    """

    def __init__(self, optimizer, network: Network, path: list[np.ndarray], every: int) -> None:
        self.optimizer, self.network, self.path, self.every = optimizer, network, path, max(1, every)
        self.updates = 0

    def step(self, params, grads, lr=None) -> None:
        self.optimizer.step(params, grads, lr)
        self.updates += 1
        if self.updates % self.every == 0:
            self.path.append(self.network.flat())
