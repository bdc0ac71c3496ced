"""``gradlab gradcheck``'s computation: backpropagation against central differences on a
batch of an experiment's training data, in float64.

The comparison itself is :func:`gradlab.engine.gradcheck.check_network`, the same code the
tests use; this module only chooses the batch and the precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradlab.engine.gradcheck import CheckResult, check_network, rounding_noise, rounding_size
from gradlab.engine.init import parameter_names
from gradlab.engine.network import Network
from gradlab.errors import InputError, plural
from gradlab.names import GRADCHECK_EPS


#: an eps whose rounding noise reaches this share of the largest gradient entry checks nothing
NOISE_SHARE = 0.1


def as_float64(network: Network) -> Network:
    """A float64 copy of ``network`` (same activations).

    Central differences with eps = 1e-6 need float64: in float32 a perturbation of 1e-6 is
    below the resolution of most weights and the quotient is rounding noise.
    """
    weights = [(layer.W.astype(np.float64), layer.b.astype(np.float64)) for layer in network.layers]
    hidden = [layer.activation for layer in network.layers[:-1]]
    return Network.from_weights(weights, hidden, network.output.activation)


def _check_eps_resolves(network: Network, eps: float) -> None:
    """Raise InputError when w + eps and w - eps are the same float64 number for some weight w.

    The difference quotient would then divide by zero: eps is below the spacing of the
    floating-point numbers around w (about 2.2e-16 |w|).
    """
    for name, p in zip(parameter_names(len(network.layers)), network.params):
        stuck = (p + eps) == (p - eps)
        if stuck.any():
            index = tuple(int(i) for i in np.argwhere(stuck)[0])
            w = float(p[index])
            # the bound over every weight: the first one's sent --eps 6e-17 on to be refused for another
            largest = max(float(np.max(np.abs(q))) for q in network.params if q.size)
            raise InputError(f"--eps {eps:g} is too small for {name}{list(index)} = {w:g}: w + eps == w - eps in "
                             f"float64; use the default, --eps {GRADCHECK_EPS:g} (any eps must be above "
                             f"{np.spacing(largest):g}, the spacing of the largest weight, {largest:g})")


def _check_eps_above_noise(network: Network, loss, X: np.ndarray, Y: np.ndarray, eps: float, atol: float,
                           value: float) -> None:
    """Raise InputError when an eps below the default makes the differences' rounding noise as large as
    the gradients, where the default would not: every entry would pass by that atol, and a check that
    nothing can fail is no check (``--eps 1e-15`` passed a sign-flipped bias, noise 0.85 beside gradients
    of 0.5)."""
    if eps >= GRADCHECK_EPS:
        return
    network.loss_and_gradients(loss, X, Y)
    size = max(abs(value), rounding_size(network))
    largest = max(float(np.max(np.abs(g))) for g in network.grads if g.size)
    noise, usual = rounding_noise(size, eps), rounding_noise(size, GRADCHECK_EPS)
    if noise > atol and noise >= NOISE_SHARE * largest > usual:
        raise InputError(f"--eps {eps:g} is too small here: the central differences' rounding noise, {noise:.3g}, "
                         f"is as large as the gradients (the largest entry is {largest:.3g}), so no wrong gradient "
                         f"could fail; use --eps {GRADCHECK_EPS:g} (noise {usual:.3g})")


@dataclass(frozen=True)
class GradientCheck:
    """A validated gradient check, ready to run: a float64 copy of the network and its batch.

    Made by :func:`prepare_check`, which refuses bad input before anything is computed or
    written, so a command can create its run directory in between and time the check itself.
    """

    network: Network
    loss: object
    X: np.ndarray
    Y: np.ndarray
    eps: float
    rtol: float
    atol: float
    l1: float = 0.0
    l2: float = 0.0

    @property
    def penalised(self) -> bool:
        """Whether the objective checked includes training's weight penalty (l1 or l2 > 0)."""
        return bool(self.l1 or self.l2)

    @property
    def n(self) -> int:
        """The number of training samples in the batch."""
        return len(self.X)

    def run(self, progress=None) -> CheckResult:
        """Compare backpropagation with central differences (2 forward passes per parameter entry).

        ``progress(done, total)`` counts the parameter entries checked.
        """
        return check_network(self.network, self.loss, self.X, self.Y, l1=self.l1, l2=self.l2, eps=self.eps,
                             rtol=self.rtol, atol=self.atol, progress=progress)


def prepare_check(experiment, *, samples: int | None = 32, eps: float = GRADCHECK_EPS, rtol: float = 1e-6,
                  atol: float = 1e-8) -> GradientCheck:
    """Validate a check of every parameter's gradient on the first ``samples`` training rows.

    Parameters
    ----------
    experiment : gradlab.experiment.Experiment
        Its network at its current weights; it is not modified (a float64 copy is checked).
    samples : int or None
        Rows of the training set in the batch (None: all of them).
    eps : float
        The finite-difference step h in (C(p + h) - C(p - h)) / 2h.
    rtol, atol : float
        An entry passes when |analytic - numeric| <= max(rtol (|analytic| + |numeric|), atol).

    Returns
    -------
    GradientCheck
        The check to run; ``.run(progress)`` gives the per-parameter CheckResult. With the
        experiment's ``training.l1`` or ``l2`` > 0 it checks the loss plus the weight penalty,
        the objective training minimises.

    Raises
    ------
    InputError
        A tolerance or eps that is not a finite number > 0, ``samples`` < 1, an eps below the
        float64 spacing of a weight, an eps below the default whose rounding noise is as large as the
        gradients (see :func:`_check_eps_above_noise`), or weights at which the loss overflows.
    """
    for name, value in (("--eps", eps), ("--tol", rtol), ("--atol", atol)):
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a finite number > 0, got {value}")
    n_train = len(experiment.X_train)
    if samples is not None and samples < 1:
        raise InputError(f"--samples must be >= 1, got {samples}")
    n = n_train if samples is None else min(samples, n_train)
    X = np.ascontiguousarray(experiment.X_train[:n], dtype=np.float64)
    Y = np.ascontiguousarray(experiment.Y_train[:n], dtype=np.float64)
    network = as_float64(experiment.network)
    _check_eps_resolves(network, eps)
    with np.errstate(all="ignore"):  # huge weights overflow: said below, not warned about
        value = network.loss(experiment.loss, X, Y)
    if not np.isfinite(value):
        raise InputError(f"the loss on the first {plural(n, 'training sample')} is {value} at these weights (float64 "
                         f"overflows): there is no gradient to check")
    _check_eps_above_noise(network, experiment.loss, X, Y, eps, atol, value)
    s = experiment.settings  # training minimises the loss plus its weight penalty: that is what is checked
    return GradientCheck(network, experiment.loss, X, Y, eps, rtol, atol, l1=s.l1, l2=s.l2)
