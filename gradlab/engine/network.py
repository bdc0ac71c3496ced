"""A feed-forward network of Dense layers: forward, backward, parameters, gradients.

Backpropagation here is the chain rule applied layer by layer from the output down:

    delta_L = dC/dz_L                       (the output rule, below)
    dC/dW_l = a_{l-1}^T delta_l,  dC/db_l = sum_n delta_l
    delta_{l-1} = (delta_l W_l^T) * f'_{l-1}(z_{l-1})

The output rule is explicit (:meth:`Network.output_delta`): when the loss is fused with
the output activation (sigmoid + bce, softmax + cross_entropy) the link's derivative
cancels and delta_L = (y_hat - y)/N; otherwise, e.g. mse + sigmoid, the general chain
rule delta_L = dC/dy_hat * f'(z_L) keeps the factor sigma'(z) that makes a saturated
neuron learn slowly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gradlab.engine.activations import Activation, activations
from gradlab.engine.init import parameter_names
from gradlab.engine.layers import Dense
from gradlab.engine.losses import Loss
from gradlab.engine.optimizers import pack


class Network:
    """A stack of :class:`Dense` layers.

    Parameters
    ----------
    layers : sequence of Dense
        From the input side; consecutive shapes must chain.

    Attributes
    ----------
    params, grads : list of ndarray
        ``[W1, b1, W2, b2, ...]`` and their gradients, from the input side.
    flat_params, flat_grads : ndarray, shape (n_params,)
        The same numbers as one contiguous vector each: every array in ``params`` (and
        ``grads``) is a view into it, so an optimizer given ``[flat_params]`` updates all
        layers in one set of ufunc calls instead of one per array, which is most of a tiny
        network's update time. The layers' W and b are copied in on construction.
    """

    def __init__(self, layers: Sequence[Dense]) -> None:
        if not layers:
            raise ValueError("a network needs at least one layer")
        for below, above in zip(layers, layers[1:]):
            if below.W.shape[1] != above.W.shape[0]:
                raise ValueError(f"layer shapes do not chain: {below.W.shape} then {above.W.shape}")
        self.layers = list(layers)
        self.flat_params, self.params = pack([p for layer in self.layers for p in (layer.W, layer.b)])
        self.flat_grads, self.grads = pack([g for layer in self.layers for g in (layer.gW, layer.gb)],
                                           dtype=self.flat_params.dtype)
        for k, layer in enumerate(self.layers):
            layer.W, layer.b = self.params[2 * k], self.params[2 * k + 1]
            layer.gW, layer.gb = self.grads[2 * k], self.grads[2 * k + 1]

    @classmethod
    def from_weights(
        cls,
        weights: Sequence[tuple[np.ndarray, np.ndarray]],
        hidden: str | Activation | Sequence[str | Activation],
        output: str | Activation,
    ) -> Network:
        """Build from ``[(W1, b1), (W2, b2), ...]`` with one activation for every hidden layer
        (or a list, one per hidden layer) and the output activation."""
        n_hidden = len(weights) - 1
        if isinstance(hidden, (str, Activation)) or hidden is None:
            hidden = [hidden] * n_hidden
        if len(hidden) != n_hidden:
            raise ValueError(f"{n_hidden} hidden layers but {len(hidden)} activations")
        acts = [activations.create(spec) for spec in (*hidden, output)]
        return cls([Dense(W, b, act) for (W, b), act in zip(weights, acts)])

    @property
    def sizes(self) -> list[int]:
        """Layer widths from the input: [n_in, h1, ..., n_out]."""
        return [self.layers[0].W.shape[0]] + [layer.W.shape[1] for layer in self.layers]

    @property
    def dtype(self) -> np.dtype:
        return self.layers[0].W.dtype

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params)

    @property
    def output(self) -> Dense:
        return self.layers[-1]

    def forward(self, X: np.ndarray) -> np.ndarray:
        """a_L for a batch X of shape (n, n_in); every layer caches what backward needs.

        The result lives in the output layer's work array: the next pass overwrites it.
        """
        a = X
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def predict(self, X: np.ndarray) -> np.ndarray:
        """a_L for X, as an array of its own (a copy of :meth:`forward`'s result)."""
        return self.forward(X).copy()

    def value_form(self, loss: Loss) -> tuple[Loss, bool]:
        """The loss as this network evaluates it, and whether that form reads the logits z_L.

        A loss fused with this output reads z_L: one that works on logits as it is, one written
        on the output (bce on a sigmoid) through its ``logit_form``. Any other reads a_L.
        """
        if loss.link == self.output.activation.name:
            if loss.on_logits:
                return loss, True
            if loss.logit_form is not None:
                return loss.logit_form, True
        return loss, False

    def loss_on_logits(self, loss: Loss) -> bool:
        """True when ``loss`` is evaluated on the logits z_L (see :meth:`value_form`)."""
        return self.value_form(loss)[1]

    def loss_value(self, loss: Loss, y: np.ndarray) -> float:
        """The loss C after a forward pass, for targets y (see :meth:`value_form`)."""
        form, on_logits = self.value_form(loss)
        return form.value(y, self.output.z if on_logits else self.output.a)

    def output_delta(self, loss: Loss, y: np.ndarray) -> np.ndarray:
        """delta_L = dC/dz_L for targets y (shaped like the output, see ``losses.as_targets``)."""
        out = self.output
        if loss.link == out.activation.name:
            # fused: dC/dz = (y_hat - y)/N; the link's derivative cancelled analytically
            return loss.logit_gradient(y, out.a, out.z)
        # general chain rule: dC/dz = dC/dy_hat * f'(z) -- mse + sigmoid keeps sigma'(z) here
        grad = loss.gradient(y, out.a)
        return out.activation.backward(out.z, out.a, grad, out=grad if grad.dtype == out.a.dtype else None)

    def backward(self, loss: Loss, y: np.ndarray) -> None:
        """Fill every layer's gW, gb after :meth:`forward` on the same batch."""
        delta = self.output_delta(loss, y)
        grad_a = self.output.backward_from_delta(delta, need_input_grad=len(self.layers) > 1)
        for index in range(len(self.layers) - 2, -1, -1):
            grad_a = self.layers[index].backward(grad_a, need_input_grad=index > 0, overwrite_grad=True)

    def loss_and_gradients(self, loss: Loss, X: np.ndarray, y: np.ndarray) -> float:
        """Forward, loss value and backward on one batch; gradients land in ``self.grads``."""
        self.forward(X)
        value = self.loss_value(loss, y)
        self.backward(loss, y)
        return value

    def loss(self, loss: Loss, X: np.ndarray, y: np.ndarray) -> float:
        """The loss on a batch (a forward pass, no gradients)."""
        self.forward(X)
        return self.loss_value(loss, y)

    def state(self) -> dict[str, np.ndarray]:
        """Parameters keyed W1, b1, W2, b2, ... from the input side (the model.npz format)."""
        return {name: p.copy() for name, p in zip(parameter_names(len(self.layers)), self.params)}

    def set_flat(self, vector: np.ndarray) -> None:
        """Write a flat parameter vector (as from :meth:`flat`) into the parameters in place."""
        self.flat_params[...] = vector

    def flat(self, which: str = "params") -> np.ndarray:
        """A copy of all parameters (or gradients, ``which="grads"``) as one vector W1, b1, W2, ..."""
        return getattr(self, f"flat_{which}").copy()

    def __repr__(self) -> str:
        return "Network(" + ", ".join(repr(layer) for layer in self.layers) + ")"
