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
    ``forward`` caches x, z and a. ``backward_from_delta`` takes delta = dC/dz of this layer
    (and keeps it, for ``gradlab explain``), fills the gradients

        dC/dW = x^T delta,   dC/db = sum over the batch of delta,

    and returns dC/dx = delta W^T for the layer below. delta already carries the loss's
    1/N, so no averaging happens here.

    Work arrays: z, a and dC/dx are written into arrays the layer keeps (grown to the
    largest batch seen, used as views of their first rows), so a training step allocates
    nothing of the batch's size beyond what an activation's backward needs (ReLU none;
    sigmoid and tanh one f'(z), computed from z for its accuracy in the tails): on a
    784-512-512-10 network fresh arrays per batch cost page faults and a third of the time
    the matrix products take. The price is that the
    cached z and a, and the returned a and dC/dx, are overwritten by the next call: copy
    what must outlive it (``Network.predict`` does).
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
        self._z = self._a = self._dx = None  # work arrays, (capacity, n_out) and (capacity, n_in)

    @property
    def shape(self) -> tuple[int, int]:
        return self.W.shape

    def _rows(self, name: str, rows: int, cols: int) -> np.ndarray:
        """The first ``rows`` rows of work array ``name``, grown when the batch is larger."""
        work = getattr(self, name)
        if work is None or work.shape[0] < rows or work.dtype != self.W.dtype:
            work = np.empty((rows, cols), dtype=self.W.dtype)
            setattr(self, name, work)
        return work[:rows]

    def forward(self, x: np.ndarray) -> np.ndarray:
        rows, n_out = x.shape[0], self.W.shape[1]
        z = self._rows("_z", rows, n_out)
        np.matmul(x, self.W, out=z)
        z += self.b
        self.x, self.z = x, z
        self.a = self.activation.forward(z, self._rows("_a", rows, n_out))
        return self.a

    def backward_from_delta(self, delta: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Fill gW, gb from delta = dC/dz and return dC/dx (None for the first layer)."""
        self.delta = delta
        np.matmul(self.x.T, delta, out=self.gW)
        np.add.reduce(delta, axis=0, out=self.gb)  # np.sum's own work, without its Python wrapper (~1 us a call)
        if not need_input_grad:
            return None
        return np.matmul(delta, self.W.T, out=self._rows("_dx", delta.shape[0], self.W.shape[0]))

    def backward(self, grad_a: np.ndarray, need_input_grad: bool = True,
                 overwrite_grad: bool = False) -> np.ndarray | None:
        """Chain rule through the activation, then through the affine map: dC/da -> dC/dx.

        ``overwrite_grad=True`` lets delta = dC/da * f'(z) be written over ``grad_a``
        (the network passes the dC/dx work array of the layer above, which it no longer needs).
        """
        delta = self.activation.backward(self.z, self.a, grad_a, out=grad_a if overwrite_grad else None)
        return self.backward_from_delta(delta, need_input_grad)

    def __repr__(self) -> str:
        return f"Dense({self.W.shape[0]} -> {self.W.shape[1]}, {self.activation!r})"
