"""One forward and one backward pass with every intermediate number kept: backpropagation
spelled out the way the seed articles derive it, for ``gradlab explain``.

For a layer with weights W (n_in, n_out) and bias b, on an input row x (1, n_in)::

    forward    z = x W + b                a = f(z)
    loss       C(y_hat, y),  y_hat = a_L  (or z_L for a loss that reads logits)
    backward   dC/dy_hat                                the loss's gradient
               dy_hat/dz = f'(z)                        e.g. sigma'(z) = sigma(z) (1 - sigma(z))
               delta = dC/dz = dC/dy_hat * f'(z)        the chain rule
               dC/dW = x^T delta,  dC/db = sum_n delta  since dz/dW = x, dz/db = 1
               dC/da_below = delta W^T                  what the layer below receives
    update     W_new = W - eta dC/dW,  b_new = b - eta dC/db

For a loss fused with its output activation (bce + sigmoid, cross_entropy + softmax) the
product dC/dy_hat * f'(z) simplifies to (y_hat - y)/N: f' cancels. The numbers come from the
engine itself (``Network.forward``/``backward`` and the layer caches); this module only
collects them, and computes the factors the engine skips when it uses the fused rule, so
that the cancellation can be shown.

Nothing here prints; :class:`Explanation` is plain data (``to_dict`` for JSON).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradlab.errors import InputError

#: dC/dy_hat of cross-entropy on softmax's output, which the fused rule skips (no registered loss is
#: written that way; bce, its sigmoid counterpart, carries its own ``gradient_formula``)
_SOFTMAX_PROBABILITY_GRADIENT = "dC/dy_hat_i = -y_i / (y_hat_i N)"


@dataclass
class LayerStep:
    """Everything one Dense layer computed, forward and backward, for the batch shown.

    Arrays are batch-first: ``x`` is (N, n_in), ``z``, ``a``, ``dC_da``, ``f_prime`` and
    ``delta`` are (N, n_out); ``W``, ``dW``, ``W_new`` are (n_in, n_out); ``b``, ``db``,
    ``b_new`` are (n_out,).

    Attributes
    ----------
    dC_da : ndarray
        The gradient arriving at this layer's output: dC/dy_hat for the output layer,
        delta_above W_above^T for a hidden one.
    f_prime : ndarray
        f'(z) elementwise (for softmax: the diagonal of its Jacobian).
    delta : ndarray
        dC/dz, as backpropagation computed it.
    dC_dx : ndarray or None
        delta W^T, the gradient passed to the layer below (None for the first layer).
    is_output : bool
        The network's last layer (its dC/da is the loss's dC/dy_hat, with ``dC_da_formula``).
    fused : bool
        Output layer only: the loss is fused with this activation and f' cancelled.
    """

    index: int
    activation: str
    formula: str
    derivative_formula: str
    W: np.ndarray
    b: np.ndarray
    x: np.ndarray
    z: np.ndarray
    a: np.ndarray
    dC_da: np.ndarray
    f_prime: np.ndarray
    delta: np.ndarray
    dW: np.ndarray
    db: np.ndarray
    W_new: np.ndarray
    b_new: np.ndarray
    dC_dx: np.ndarray | None
    is_output: bool = False
    fused: bool = False
    dC_da_formula: str = ""


@dataclass
class Explanation:
    """One forward/backward pass and one gradient step, all numbers kept.

    Attributes
    ----------
    samples : list of int
        Indices into the training set (one for ``--sample``, all for ``--batch``).
    x, y : ndarray
        The inputs (N, n_in) and targets (N, n_out) used: ``x`` is what the network sees,
        standardised when the config standardises its data.
    loss_value : float
        C on these samples (with the network's 1/N).
    loss_parameters : dict
        The loss's own parameters, the values C depends on (huber's ``delta``; empty for mse).
    loss_on_logits : bool
        C reads z_L instead of a_L.
    lr : float
        The learning rate eta of the step shown.
    layers : list of LayerStep
        From the input side.
    notes : list of str
        Where the step shown differs from what training does.
    mean, std : ndarray or None
        The standardisation fitted on the raw training features, shape (n_in,):
        ``x = (x_raw - mean) / std``. None when the data are not standardised.
    x_raw : ndarray or None
        The same samples in their raw units (N, n_in), recovered as ``x * std + mean``;
        None when the data are not standardised (``x`` is raw then).
    """

    weights: str
    samples: list[int]
    n_train: int
    x: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    class_names: list[str] | None
    loss_name: str
    loss_formula: str
    loss_value: float
    loss_parameters: dict[str, Any]
    loss_on_logits: bool
    optimizer: str
    lr: float
    layers: list[LayerStep]
    notes: list[str] = field(default_factory=list)
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    x_raw: np.ndarray | None = None

    @property
    def standardized(self) -> bool:
        return self.mean is not None

    @property
    def N(self) -> int:
        return len(self.samples)

    @property
    def output(self) -> LayerStep:
        return self.layers[-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers, for ``--json``."""
        layers = []
        for layer in self.layers:
            layers.append({
                "index": layer.index, "activation": layer.activation, "formula": layer.formula,
                "derivative_formula": layer.derivative_formula, "is_output": layer.is_output, "fused": layer.fused,
                "W": layer.W, "b": layer.b, "x": layer.x, "z": layer.z, "a": layer.a,
                "dC_da": layer.dC_da, "f_prime": layer.f_prime, "delta": layer.delta,
                "dW": layer.dW, "db": layer.db, "W_new": layer.W_new, "b_new": layer.b_new,
                "dC_dx": layer.dC_dx,
            })
        return {
            "weights": self.weights, "samples": self.samples, "N": self.N, "n_train": self.n_train,
            "x": self.x, "y": self.y, "standardized": self.standardized, "x_raw": self.x_raw,
            "mean": self.mean, "std": self.std, "feature_names": self.feature_names, "class_names": self.class_names,
            "loss": {"name": self.loss_name, "parameters": self.loss_parameters, "formula": self.loss_formula,
                     "value": self.loss_value, "on_logits": self.loss_on_logits},
            "optimizer": self.optimizer, "lr": self.lr, "layers": layers, "notes": self.notes,
        }


def explain(experiment, *, sample: int | None = 0, batch: bool = False, lr: float | None = None,
            weights: str = "initial") -> Explanation:
    """Run one forward and backward pass of the experiment's network and keep every number.

    Parameters
    ----------
    experiment : gradlab.experiment.Experiment
        Its network is used at its current weights (initial for a config, final for a run).
    sample : int, default 0
        Index of the training sample (ignored with ``batch``).
    batch : bool
        Use the whole training set (N = n_train), as one full-batch update does.
    lr : float, optional
        The learning rate of the step shown; default the optimizer's (at epoch 0 of its schedule).
    weights : str
        A label for the weights used ("initial" or "final").

    Returns
    -------
    Explanation
    """
    e = experiment
    net, loss = e.network, e.loss
    n_train = len(e.X_train)
    if batch:
        samples = list(range(n_train))
    else:
        if sample is None or not 0 <= sample < n_train:
            raise InputError(f"--sample must be in [0, {n_train - 1}] (the training set has {n_train} samples), "
                             f"got {sample}")
        samples = [sample]
    X, Y = e.X_train[samples], e.Y_train[samples]
    eta = _learning_rate(e, lr)

    # a saturated unit is a lesson here, not a warning; weights of 1e160 make inf - inf = nan, which
    # the numbers shown say for themselves
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        value = net.loss_and_gradients(loss, X, Y)
        fused = loss.link == net.output.activation.name
        steps: list[LayerStep] = []
        above = None
        for index in range(len(net.layers) - 1, -1, -1):
            layer = net.layers[index]
            act = layer.activation
            if above is None:  # the output layer
                dC_da, dC_da_formula = _output_gradient(loss, layer, Y, fused)
            else:
                dC_da, dC_da_formula = above.delta @ above.W.T, ""
            step = LayerStep(
                index=index + 1, activation=act.name, formula=act.formula, derivative_formula=act.derivative_formula,
                W=layer.W.copy(), b=layer.b.copy(), x=np.array(layer.x, copy=True), z=layer.z.copy(),
                a=layer.a.copy(), dC_da=dC_da, f_prime=np.asarray(act.derivative(layer.z)),
                delta=np.array(layer.delta, copy=True), dW=layer.gW.copy(), db=layer.gb.copy(),
                W_new=layer.W - eta * layer.gW, b_new=layer.b - eta * layer.gb,
                dC_dx=layer.delta @ layer.W.T if index > 0 else None,
                is_output=above is None, fused=above is None and fused, dC_da_formula=dC_da_formula,
            )
            steps.append(step)
            above = layer
    steps.reverse()
    d = e.dataset
    # the network sees z-scores; the raw values are what a learner can check against the units named
    x_raw = d.inverse_transform(d.X_train[samples]) if d.standardized else None
    return Explanation(
        weights=weights, samples=samples, n_train=n_train, x=X.copy(), y=Y.copy(),
        feature_names=list(d.feature_names), class_names=list(d.class_names) if d.class_names else None,
        loss_name=loss.name, loss_formula=loss.formula, loss_value=float(value), loss_parameters=dict(vars(loss)),
        loss_on_logits=net.loss_on_logits(loss), optimizer=e.optimizer.name, lr=eta, layers=steps,
        notes=_notes(e, eta, lr, batch), mean=d.mean, std=d.std, x_raw=x_raw,
    )


def _learning_rate(e, lr: float | None) -> float:
    if lr is not None:
        if not (np.isfinite(lr) and lr > 0):
            raise InputError(f"--lr must be a finite number > 0, got {lr}")
        return float(lr)
    s = e.settings
    if s.lr is None:  # cg, lbfgs: a scipy minimizer chooses its own steps
        raise InputError(f"--lr is needed: the optimizer {e.optimizer.name} has no learning rate, so give the eta "
                         f"of the plain gradient step shown, e.g. --lr 0.1")
    return float(s.epoch_lr(1))


def _output_gradient(loss, layer, Y: np.ndarray, fused: bool) -> tuple[np.ndarray, str]:
    """dC/dy_hat at the output and its formula.

    Through the general chain rule it is exactly what the engine used (``loss.gradient``). For a
    fused loss the engine never forms it, so it is computed here in probability space, only to
    show the two factors whose product cancels to (y_hat - y)/N.
    """
    from gradlab.engine.losses import BCE

    act, a = layer.activation.name, layer.a
    if fused or loss.logit_form is not None:  # bce: written on sigma(z), with a form on z
        n = a.shape[0]
        if act == "softmax":
            # dC/ds_i = -y_i / (s_i N); zero where y_i = 0. An s_i that underflowed to 0 gives -inf,
            # the true value being beyond float64
            return _divide(-Y, a * n), _SOFTMAX_PROBABILITY_GRADIENT
        if fused:  # sigmoid: -y / sigma(z) + (1 - y) / (1 - sigma(z)), 1 - sigma(z) = sigma(-z) without
            # rounding (bce's own gradient clips y_hat to 1 - 1e-16: at z = 40 that is 50 times too small,
            # and its product with sigma'(z) would no longer be the delta shown)
            sigma = layer.activation.value
            return (_divide(-Y, sigma(layer.z) * n) + _divide(1.0 - Y, sigma(-layer.z) * n),
                    BCE.gradient_formula)
        return loss.gradient(Y, a), BCE.gradient_formula  # bce + hard_sigmoid: as the engine
    formula = loss.gradient_formula or "dl/dy_hat"
    if not formula.startswith("dC/"):  # a per-sample derivative (huber, smooth_l1): the 1/N is the mean's
        # the values are printed after the formula's last '=': they are dC/dy_hat's, so it comes last (after
        # 'r = y_hat - y' they read as r, -0.8 for a residual of -2650 that huber clips to -delta)
        formula = f"r = y_hat - y, {formula}, dC/dy_hat = (1/N) dl/dr"
    return loss.gradient(Y, a), formula


def _divide(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom, 0 where top is 0 (a target of 0 contributes nothing, also over an underflowed
    bottom), +-inf where only the bottom underflowed to 0."""
    out = np.zeros(np.broadcast_shapes(top.shape, bottom.shape))
    with np.errstate(divide="ignore"):
        np.divide(top, bottom, out=out, where=top != 0)
    return out


def _notes(e, eta: float, lr: float | None, batch: bool) -> list[str]:
    """Where the single step shown differs from what ``gradlab train`` does."""
    notes = []
    s, name = e.settings, e.optimizer.name
    if name != "sgd":
        notes.append(f"the configured optimizer is {name}; shown is the plain gradient step w - eta dC/dw with "
                     f"eta = {eta:g}, which {name}'s own update rule replaces")
    elif lr is not None and lr != s.lr:
        notes.append(f"eta = {eta:g} from --lr; the config trains with {s.lr:g}")
    if s.l1 or s.l2:
        notes.append(f"training adds weight decay (l1 = {s.l1:g}, l2 = {s.l2:g}) to dC/dW; not included here")
    if s.clip_norm is not None:
        notes.append(f"training clips the gradient norm at {s.clip_norm:g}; not applied here")
    per_update = len(e.X_train) if s.batch_size is None else min(s.batch_size, len(e.X_train))
    if batch and per_update != len(e.X_train):
        notes.append(f"one step on all {len(e.X_train)} training samples; training averages over "
                     f"{per_update} per update")
    elif not batch and per_update != 1:
        notes.append(f"one step on one sample (N = 1), as online learning makes; training averages over "
                     f"{per_update} samples per update")
    if e.network.dtype != np.float64:
        notes.append(f"computed in {e.network.dtype}, the config's dtype")
    return notes
