"""What the gradients and units are doing, layer by layer: the vanishing-gradient story in numbers.

All functions read the caches a forward/backward pass left in the layers, so they cost
a few reductions, not another pass.
"""

from __future__ import annotations

import numpy as np

from gradlab.engine.network import Network
from gradlab.engine.optimizers import global_norm

#: a unit output (one unit on one sample) counts as saturated when f'(z) is below this fraction
#: of the function's maximum slope
SATURATION_LEVEL = 0.01


def saturation_threshold(peak: float) -> float:
    """The slope below which f'(z) counts as saturated: :data:`SATURATION_LEVEL` times f''s peak.

    0.0025 for sigmoid (peak sigma'(0) = 1/4: saturated for |z| > 5.99), 0.01 for tanh (peak 1:
    |z| > 2.99). The one definition behind training's ``saturated_k`` and its warnings and
    ``gradlab plot``'s facts, so a unit called saturated in one is saturated in the other.
    """
    return SATURATION_LEVEL * peak


def grad_norms(network: Network) -> list[float]:
    """Frobenius norm of dC/dW for each layer, from the input side: ||dC/dW_l||_F.

    Taken by :func:`~gradlab.engine.optimizers.global_norm`, which rescales when the sum of
    squares would underflow or overflow: a vanishing gradient of 1e-23 per entry in float32 is
    reported as such, not as 0.
    """
    return [global_norm([layer.gW]) for layer in network.layers]


def saturated_fractions(network: Network) -> list[float | None]:
    """Per layer, the fraction of unit outputs with f'(z) < 1% of max f', for saturating
    activations (sigmoid, tanh); None for others.

    The fraction is taken over all (sample, unit) pairs of the cached batch, z of shape
    (N, n_units): ``mean(f'(z) < 0.01 max f')``. It is not a count of units; a layer of one
    unit can be 43% saturated (on 43% of the samples). A saturated output passes almost no
    gradient back: MSE + sigmoid's plateau, and the vanishing gradients of deep sigmoid stacks.
    """
    out: list[float | None] = []
    for layer in network.layers:
        act = layer.activation
        if act.max_derivative is None or layer.z is None:
            out.append(None)
            continue
        out.append(float(np.mean(act.derivative(layer.z) < saturation_threshold(act.max_derivative))))
    return out


def dead_fractions(network: Network) -> list[float | None]:
    """Per layer, the fraction of ReLU units never active on the cached batch (a = 0 for
    every sample): they pass no gradient back and their own weights get none, so only a change in
    the layers below can bring them back (``configs/deep_relu.yaml``'s layer 5 goes from 6 to 8
    dead units of 16 and back to 7). None for other activations."""
    out: list[float | None] = []
    for layer in network.layers:
        if not layer.activation.can_die or layer.a is None:
            out.append(None)
            continue
        out.append(float(np.mean(~np.any(layer.a > 0, axis=0))))
    return out
