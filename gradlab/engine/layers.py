"""A fully connected layer: the forward rule and, right beside it, its backward rule."""

from __future__ import annotations

import numpy as np

from gradlab.engine.activations import Activation


class Dense:
    """z = x W + b, a = f(z), batch-first.

    Parameters
    ----------
    W : ndarray, shape (n_in, n_out)
    b : ndarray, shape (n_out,)
    activation : Activation

    Notes
    -----
    ``forward`` caches x, z and a (and ``backward`` keeps delta, for ``gradlab explain``); it takes delta = dC/dz of this layer and
    fills the gradients

        dC/dW = x^T delta,   dC/db = sum over the batch of delta,

    returning dC/dx = delta W^T for the layer below. delta already carries the loss's
    1/N, so no averaging happens here.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray, activation: Activation) -> None:
        if W.ndim != 2 or b.shape != (W.shape[1],):
            raise ValueError(f"W must be (n_in, n_out) and b (n_out,), got {W.shape} and {b.shape}")
        self.W = W
        self.b = b
        self.activation = activation
        self.gW = np.zeros_like(W)
        self.gb = np.zeros_like(b)
        self.x = self.z = self.a = self.delta = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.W.shape

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        self.z = x @ self.W
        self.z += self.b
        self.a = self.activation.value(self.z)
        return self.a

    def backward_from_delta(self, delta: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Fill gW, gb from delta = dC/dz and return dC/dx (None for the first layer)."""
        self.delta = delta
        np.matmul(self.x.T, delta, out=self.gW)
        np.sum(delta, axis=0, out=self.gb)
        return delta @ self.W.T if need_input_grad else None

    def backward(self, grad_a: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Chain rule through the activation, then through the affine map: dC/da -> dC/dx."""
        delta = self.activation.backward(self.z, self.a, grad_a)
        return self.backward_from_delta(delta, need_input_grad)

    def __repr__(self) -> str:
        return f"Dense({self.W.shape[0]} -> {self.W.shape[1]}, {self.activation!r})"
