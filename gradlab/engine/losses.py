"""Loss functions: the batch mean and its exact gradient, one class each.

Every loss has

- ``rows(y_true, y_pred)``: each row's loss l_i, shape (N,) -- the one place the formula lives;
- ``value(y_true, y_pred)``: the mean over the batch, C = (1/N) sum_i l_i;
- ``gradient(y_true, y_pred)``: dC/dy_pred, **including the 1/N**.

``rows`` lets ``gradlab landscape`` evaluate the loss of many parameter vectors in one
vectorised pass (stack them along the rows, then average each block).

``y_pred`` has shape (N, k). ``y_true`` may be given the same way, or for the
classification losses as N class indices (turned into one-hot rows here).

Two losses work on logits and carry their link function inside: ``bce_logits``
(sigmoid) and ``cross_entropy`` (softmax, via log-sum-exp). ``bce`` works on
probabilities but is *fused* with a sigmoid output the same way. For a fused pair
the network uses :meth:`Loss.logit_gradient`, dC/dz = (y_hat - y)/N, in which the
link's derivative has cancelled; that is the whole reason cross-entropy learns fast
from a saturated, wrong start where MSE + sigmoid crawls (see :class:`MSE`).
"""

from __future__ import annotations

import math

import numpy as np

from gradlab.engine import _checks
from gradlab.engine.activations import Softmax, _as_float, _exp_minus_abs, _select
from gradlab.errors import InputError
from gradlab.registry import Registry

losses: Registry[Loss] = Registry("loss")


def as_targets(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Bring labels to the shape of the predictions, (N, k).

    Class indices of shape (N,) become one-hot rows when k > 1 and a column when
    k = 1; anything else must already match ``y_pred``'s shape.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim != 2:
        raise InputError(f"predictions must have shape (n_samples, n_outputs), got {y_pred.shape}")
    n, k = y_pred.shape
    if y_true.shape == y_pred.shape:
        return y_true
    if y_true.shape == (n,):
        if k == 1:
            return y_true.reshape(n, 1).astype(y_pred.dtype, copy=False)
        labels = y_true.astype(np.int64, copy=False)
        if not np.array_equal(labels, y_true) or labels.min(initial=0) < 0 or labels.max(initial=0) >= k:
            raise InputError(f"class labels must be integers in [0, {k - 1}] for {k} outputs, got {y_true[:5]}...")
        onehot = np.zeros_like(y_pred)
        onehot[np.arange(n), labels] = 1.0
        return onehot
    raise InputError(f"targets of shape {y_true.shape} do not fit predictions of shape {y_pred.shape}")


def sigmoid_minus(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """sigma(z) - y, to the digits that sigma(z) rounded near 1 loses.

    sigma(z) rounds to 1 from z ~ 37 in float64 (~ 17 in float32), and sigma(z) - 1 with it
    to 0, while the true value -sigma(-z) = -exp(-z) / (1 + exp(-z)) is a number like any
    other. With q = sigma(-|z|) = e / (1 + e), e = exp(-|z|), and H = 1 where z >= 0, else 0:

        sigma(z) - y = (H - y) - sign(z) q,

    that is q - y where z < 0 and (1 - y) - q where z >= 0; H - y is exact where z < 0 for any
    label, and where z >= 0 for labels in {0, 1}. At z = 40 and y = 1 it gives -4.248e-18, where
    sigma(z) - y gives 0. (H follows the sign bit: sigma(-0) = sigma(+0) = 1/2 either way.)
    """
    q = _exp_minus_abs(z)
    q /= q + 1.0
    delta = np.subtract(~np.signbit(z), y, dtype=np.result_type(q, y))
    delta -= np.copysign(q, z, out=q)
    return delta


def softmax_minus(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """s - y for a softmax output s (N, k) and target rows y, to the digits that an s_t rounded
    near 1 loses.

    Each row's residual r = sum_j (s_j - y_j), 0 in exact arithmetic (both rows sum to 1), is taken
    off in proportion to y. For a one-hot target t that gives

        delta_t = (s_t - 1) - r = -(sum of the row's other entries),

    each of which keeps every digit, where s_t - 1 alone is 0 once they sum below the rounding
    of 1. The rows then sum to 0 up to rounding, as dC/dz must (a softmax ignores a shift of all
    its logits).
    """
    delta = s - y
    delta -= y * np.add.reduce(delta, axis=-1, keepdims=True)
    return delta


def batch(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Targets and predictions as arrays of shape (N, k), N >= 1: ``y, p = batch(y_true, y_pred)``.

    Lists are taken as arrays (float64 unless already floating); the targets are brought
    to the predictions' shape by :func:`as_targets`. An empty batch is refused: its mean,
    C = (1/N) sum_i l_i, does not exist.
    """
    p = _as_float(y_pred)
    if p.ndim == 2 and p.shape[0] == 0:
        raise InputError(f"predictions must hold at least one sample (N >= 1), got an empty batch of shape {p.shape}")
    return as_targets(y_true, p), p


class Loss:
    """Base class. ``link`` names the output activation this loss is fused with.

    Attributes
    ----------
    formula : str
        The loss in one line.
    link : str or None
        Output activation whose derivative cancels in dC/dz (sigmoid or softmax).
    on_logits : bool
        True when ``value``/``gradient`` take the link's input z rather than its output.
    signed_scores : bool
        True when a single output is a score whose sign decides the class (hinge's t f,
        t = +-1), rather than a fit to the 0/1 targets.
    outputs : tuple of str or None
        The output activations the loss makes sense with (None: any); the first is the default.
    per_class : bool
        True when the loss takes one score per class (k >= 2 outputs, one-hot targets), so a
        binary problem gets two output units.
    logit_form : Loss or None
        For a loss written on the link's output (bce on p = sigma(z)): the same loss written
        on the link's input z. A network whose output is the link evaluates that form, which
        never rounds p to 0 or 1 first.
    """

    name = "loss"
    formula = ""
    gradient_formula = ""
    link: str | None = None
    on_logits = False
    signed_scores = False
    outputs: tuple[str, ...] | None = None
    per_class = False
    classification = False
    logit_form: Loss | None = None

    def rows(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """The loss of each row, l_i, shape (N,) for predictions of shape (N, k)."""
        raise NotImplementedError

    def value(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The batch mean C = (1/N) sum_i l_i.

        The rows are summed exactly (``math.fsum``), so C does not depend on how the rows are
        grouped: a chunked evaluation, a vectorised grid and a finite-difference check all see
        the same number, to the last bit of each row. Finite rows whose sum passes float64's
        largest number (a diverging run's) are divided by N first: their mean is finite, at
        most the largest row, and the run can report it instead of crashing.
        """
        values = self.rows(y_true, y_pred).tolist()
        n = len(values)
        try:
            return math.fsum(values) / n
        except OverflowError:  # fsum refuses an intermediate sum above 1.8e308
            return math.fsum(v / n for v in values)

    def gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def kink_offsets(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray | None:
        """Where the loss bends: an array, one entry per term of a row, that is 0 where that term's
        slope jumps (mae's |r| at r = 0, hinge's margin t f = 1), or its curvature (huber's |r| =
        delta), and changes sign across it; None for a loss with no kink. A gradient check uses it
        to tell a step that crosses a kink: across a jump of the curvature a central difference is
        off by O(eps), not O(eps^2)."""
        return None

    def logit_gradient(self, y_true: np.ndarray, y_hat: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Fused gradient with respect to the logits: dC/dz = (y_hat - y) / N.

        Valid when the output activation is ``self.link``; ``y_hat`` is its output for the
        logits ``z``. The difference keeps the digits that a y_hat rounded near 1 loses
        (:func:`sigmoid_minus`, :func:`softmax_minus`).
        """
        y, y_hat = batch(y_true, y_hat)
        delta = softmax_minus(y_hat, y) if self.link == "softmax" else sigmoid_minus(z, y)
        delta /= y_hat.shape[0]
        return delta

    def check_output(self, activation: str, field: str = "model.output") -> None:
        """Refuse an output activation this loss cannot be used with."""
        if self.outputs is not None and activation not in self.outputs:
            raise InputError(
                f"{field}: loss {self.name} needs an output in {{{', '.join(self.outputs)}}}, got {activation!r}"
            )

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{self.name}({params})" if params else self.name


@losses.register("mse", "quadratic")
class MSE(Loss):
    """Quadratic cost, the seeds' and Nielsen's convention: C = 1/(2N) sum_i ||y_hat_i - y_i||^2.

    dC/dy_hat = (y_hat - y) / N. With a sigmoid output the chain rule multiplies this
    by sigma'(z), which is tiny when the neuron saturates: the MSE plateau.
    """

    formula = "C = 1/(2N) sum ||y_hat - y||^2"
    gradient_formula = "dC/dy_hat = (y_hat - y) / N"

    def rows(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        r = p - y
        return 0.5 * np.einsum("ij,ij->i", r, r)

    def gradient(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        return (p - y) / p.shape[0]


@losses.register("mae", "l1")
class MAE(Loss):
    """Mean absolute error, summed over the k outputs and averaged over the N samples:
    C = 1/N sum_i sum_k |y_hat_ik - y_ik| = 1/N sum_i ||y_hat_i - y_i||_1, dC/dy_hat = sign(y_hat - y) / N.
    """

    formula = "C = 1/N sum sum_k |y_hat_k - y_k|"
    gradient_formula = "dC/dy_hat = sign(y_hat - y) / N"

    def rows(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        return np.abs(p - y).sum(axis=1)

    def gradient(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        return np.sign(p - y) / p.shape[0]

    def kink_offsets(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        return p - y


def _huber_rows(r: np.ndarray, delta: float, *, per_delta: bool = False) -> np.ndarray:
    """Row sums of r^2/2 where |r| <= delta, delta (|r| - delta/2) elsewhere; divided by delta
    with ``per_delta`` (smooth L1).

    Both pieces are m (|r| - m/2) with m = min(|r|, delta), so only the piece that applies is
    computed: np.where would also evaluate delta (|r| - delta/2), which overflows for
    delta = 1e308 at every |r| < delta. With ``per_delta`` the factor is m / delta <= 1 rather
    than a division of the product, which for beta = 1e-320 would pass through subnormals.
    That holds in float64 only: in float32 a delta below about 7e-46 is 0, and m / delta is 0/0;
    the config check refuses it there (:func:`gradlab.engine._checks.dtype_problem`).
    """
    a = np.abs(r)
    m = np.minimum(a, delta)
    return ((m / delta if per_delta else m) * (a - 0.5 * m)).sum(axis=1)


@losses.register("huber")
class Huber(Loss):
    """Huber loss with threshold delta, on r = y_hat - y, summed over outputs, averaged over N:
    C = 1/N sum_i sum_k l(r_ik), with

    l(r) = r^2 / 2 if |r| <= delta else delta (|r| - delta / 2);
    dl/dr = clip(r, -delta, delta). Quadratic near the target, linear far from it, so
    one outlier cannot produce an exploding gradient.
    """

    formula = "C = 1/N sum sum_k l(y_hat_k - y_k), l(r) = r^2/2 if |r| <= delta else delta (|r| - delta/2)"
    gradient_formula = "dl/dr = clip(r, -delta, delta)"

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = _checks.positive("delta", delta)

    def rows(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        return _huber_rows(p - y, self.delta)

    def gradient(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        return np.clip(p - y, -self.delta, self.delta) / p.shape[0]

    def kink_offsets(self, y_true, y_pred):
        # l'' jumps from 1 to 0 at |r| = delta: a central difference across it is off by O(eps), not O(eps^2)
        y, p = batch(y_true, y_pred)
        return np.abs(p - y) - self.delta


@losses.register("smooth_l1")
class SmoothL1(Loss):
    """Smooth L1 (object detection's box loss) with threshold beta, i.e. Huber(beta) / beta, on
    r = y_hat - y, summed over outputs, averaged over N: C = 1/N sum_i sum_k l(r_ik), with

    l(r) = r^2 / (2 beta) if |r| < beta else |r| - beta / 2; dl/dr = clip(r / beta, -1, 1).
    """

    formula = "C = 1/N sum sum_k l(y_hat_k - y_k), l(r) = r^2/(2 beta) if |r| < beta else |r| - beta/2"
    gradient_formula = "dl/dr = clip(r/beta, -1, 1)"

    def __init__(self, beta: float = 1.0) -> None:
        self.beta = _checks.positive("beta", beta)

    def rows(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        return _huber_rows(p - y, self.beta, per_delta=True)

    def gradient(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        # clip before dividing: (p - y) / beta overflows for beta = 1e-320 (a float64 beta; float32
        # cannot hold it, and a beta that rounds to 0 there is refused before training, see _huber_rows)
        return np.clip(p - y, -self.beta, self.beta) / self.beta / p.shape[0]

    def kink_offsets(self, y_true, y_pred):
        # l'' jumps from 1 / beta to 0 at |r| = beta, as huber's at delta
        y, p = batch(y_true, y_pred)
        return np.abs(p - y) - self.beta


def _log_probabilities(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log p and log(1 - p), each kept finite (>= log eps ~ -36 in float64) by clipping its
    own argument only: a certain, right answer (p = y in {0, 1}) then costs exactly 0, since
    log 1 = 0 and the other term is multiplied by 0."""
    eps = float(np.finfo(p.dtype).eps)  # p comes from batch(): float32 or float64
    return np.log(np.clip(p, eps, 1.0)), np.log1p(-np.clip(p, 0.0, 1.0 - eps))


@losses.register("bce", "binary_cross_entropy")
class BCE(Loss):
    """Binary cross-entropy on probabilities p:

    C = -1/N sum_i [y log p + (1 - y) log(1 - p)], dC/dp = (p - y) / (p (1 - p) N).

    With a sigmoid output the network evaluates it on the logits, as ``bce_logits`` does:
    -log sigma(z) = softplus(-z) is exact for any z, where p = sigma(z) rounds to 1 from
    z ~ 37 on (a certain, wrong answer with z = 800 costs 800, not -log eps ~ 36). Its
    gradient is the fused dC/dz = (p - y) / N, where sigma'(z) = p (1 - p) has cancelled.

    On probabilities alone (a hard_sigmoid output, a plot against p) the logs are clipped:
    their arguments are kept >= eps, so a certain, wrong answer costs -log eps ~ 36, not
    inf, and p is kept in [eps, 1 - eps] in the gradient; a certain, right answer
    (p = y in {0, 1}) costs exactly 0.
    """

    formula = "C = -1/N sum [y log y_hat + (1 - y) log(1 - y_hat)]"
    gradient_formula = "dC/dy_hat = (y_hat - y) / (y_hat (1 - y_hat)) / N"
    link = "sigmoid"
    outputs = ("sigmoid", "hard_sigmoid")
    classification = True

    def rows(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        log_p, log_q = _log_probabilities(p)
        return 0.0 - (y * log_p + (1.0 - y) * log_q).sum(axis=1)  # 0 - x: a loss of 0 prints as 0, not -0

    def gradient(self, y_true, y_pred):
        y, p = batch(y_true, y_pred)
        eps = float(np.finfo(p.dtype).eps)
        p = np.clip(p, eps, 1.0 - eps)  # keeps p (1 - p) > 0 in the denominator
        return (p - y) / (p * (1.0 - p) * p.shape[0])


@losses.register("bce_logits")
class BCEWithLogits(Loss):
    """Binary cross-entropy on logits z (sigmoid fused), stable for any z:

    C = 1/N sum_i [max(z, 0) - y z + log(1 + exp(-|z|))], dC/dz = (sigma(z) - y) / N.
    """

    formula = "C = 1/N sum [softplus(z) - y z]"
    gradient_formula = "dC/dz = (sigma(z) - y) / N"
    link = "sigmoid"
    on_logits = True
    outputs = ("sigmoid", "identity")
    classification = True

    def rows(self, y_true, y_pred):
        y, z = batch(y_true, y_pred)
        return (np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))).sum(axis=1)

    def gradient(self, y_true, y_pred):
        y, z = batch(y_true, y_pred)
        delta = sigmoid_minus(z, y)
        delta /= z.shape[0]
        return delta


BCE.logit_form = BCEWithLogits()


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log s_i = z_i - logsumexp(z), with the maximum m subtracted first so exp cannot overflow.

    logsumexp(z) = m + log(1 + r), r the sum of exp(z_j - m) over every entry but one largest:
    ``log1p(r)`` keeps the digits of a small r, which ``log(1 + r)`` rounds away. That r is a
    confident, correct prediction's loss (2.06e-9 at a margin of 20, not 0 in float32).
    """
    top = z.argmax(axis=-1)[..., None]
    shifted = z - np.take_along_axis(z, top, axis=-1)
    others = np.exp(shifted)
    np.put_along_axis(others, top, 0.0, axis=-1)
    return shifted - np.log1p(others.sum(axis=-1, keepdims=True))


@losses.register("cross_entropy", "categorical_cross_entropy")
class CrossEntropy(Loss):
    """Softmax cross-entropy on logits z (N, k), via log-sum-exp:

    C = -1/N sum_i log s_{i, y_i} = 1/N sum_i [logsumexp(z_i) - z_{i, y_i}],
    dC/dz = (softmax(z) - y) / N.

    The seeds' example: logits (3, 1, -3) for cat, dog, bird with target cat give
    softmax (0.8789, 0.1189, 0.0022) and loss -ln 0.8789 = 0.1291.
    """

    formula = "C = -1/N sum log softmax(z)_y"
    gradient_formula = "dC/dz = (softmax(z) - y) / N"
    link = "softmax"
    on_logits = True
    outputs = ("softmax", "identity")
    classification = True
    per_class = True

    def rows(self, y_true, y_pred):
        y, z = batch(y_true, y_pred)
        if z.shape[1] < 2:
            raise InputError(f"cross_entropy needs >= 2 outputs (classes), got {z.shape[1]}")
        return -(y * log_softmax(z)).sum(axis=1)

    def gradient(self, y_true, y_pred):
        y, z = batch(y_true, y_pred)
        delta = softmax_minus(Softmax().value(z), y)
        delta /= z.shape[0]
        return delta


def _signs(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels as t in {-1, +1}, and the scores: 0/1 labels are mapped, -1/+1 kept.

    The labels must use one convention: in a mix such as (0, -1, 1) the 0 could mean
    either class.
    """
    y, f = batch(y_true, y_pred)
    values = np.unique(y)
    if not (np.all(np.isin(values, (0.0, 1.0))) or np.all(np.isin(values, (-1.0, 1.0)))):
        raise InputError("hinge labels must be all in {0, 1} or all in {-1, +1}, got values "
                         f"{{{', '.join(f'{v:g}' for v in values[:6].tolist())}{', ...' if len(values) > 6 else ''}}}")
    return _select(y > 0, 1.0, -1.0, f.dtype), f


@losses.register("hinge")
class Hinge(Loss):
    """Binary hinge (the linear SVM's) on a raw score f with t = +-1 (0/1 labels are mapped):

    C = 1/N sum_i max(0, 1 - t f), dC/df = -t [t f < 1] / N.
    """

    formula = "C = 1/N sum max(0, 1 - t f), t = +-1"
    gradient_formula = "dC/df = -t [t f < 1] / N"
    outputs = ("identity", "tanh")
    signed_scores = True
    classification = True

    def rows(self, y_true, y_pred):
        t, f = _signs(y_true, y_pred)
        return np.maximum(0.0, 1.0 - t * f).sum(axis=1)

    def gradient(self, y_true, y_pred):
        t, f = _signs(y_true, y_pred)
        return -t * (t * f < 1.0) / f.shape[0]

    def kink_offsets(self, y_true, y_pred):
        t, f = _signs(y_true, y_pred)
        return t * f - 1.0


@losses.register("multiclass_hinge", "svm")
class MulticlassHinge(Loss):
    """Multiclass SVM loss with margin 1 on scores s (N, k):

    C = 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1);
    dC/ds_j = [margin_j > 0] / N for j != y_i, and dC/ds_{y_i} = -(number of such j) / N.
    """

    formula = "C = 1/N sum_{j != y} max(0, s_j - s_y + 1)"
    gradient_formula = "dC/ds_j = [s_j - s_y + 1 > 0]/N, dC/ds_y = -sum_j [.]/N"
    outputs = ("identity",)
    classification = True
    per_class = True

    def _active(self, y_true, y_pred):
        y, margins = self._margins(y_true, y_pred)
        return y, np.maximum(0.0, margins) * (1.0 - y)

    @staticmethod
    def _margins(y_true, y_pred):
        """The one-hot targets and s_j - s_y + 1 (1 in the target's own column)."""
        y, s = batch(y_true, y_pred)
        return y, s - (s * y).sum(axis=1, keepdims=True) + 1.0

    def kink_offsets(self, y_true, y_pred):
        return self._margins(y_true, y_pred)[1]

    def rows(self, y_true, y_pred):
        _, margins = self._active(y_true, y_pred)
        return margins.sum(axis=1)

    def gradient(self, y_true, y_pred):
        y, margins = self._active(y_true, y_pred)
        active = (margins > 0).astype(margins.dtype)
        return (active - y * active.sum(axis=1, keepdims=True)) / margins.shape[0]
