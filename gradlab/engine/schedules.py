"""Learning-rate schedules: the learning rate as a function of the epoch.

Each schedule is registered in :data:`schedules` and maps the base learning rate ``lr0`` and
the epoch number to the learning rate for that epoch::

    schedule = schedules.create("step:gamma=0.5,step_size=10")
    lr = schedule(0.1, epoch)        # or schedule.lr(0.1, epoch)
    optimizer.step(params, grads, lr=lr)

Epochs count from 0: the first epoch trains with ``lr(lr0, 0) = lr0`` for every schedule.
The epoch may be fractional (e.g. ``epoch + batch / n_batches`` for per-batch decay); the
formulas below hold for any ``epoch >= 0``.
"""

from __future__ import annotations

import math
from typing import ClassVar

from gradlab.engine import _checks
from gradlab.registry import Registry

__all__ = ["schedules", "Schedule", "Constant", "StepDecay", "Exponential", "InverseTime"]

schedules: Registry[Schedule] = Registry("schedule")


class Schedule:
    """Base class: ``schedule(lr0, epoch) -> lr``; subclasses implement :meth:`lr`."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]]
    formula: ClassVar[str] = ""  # lr as a function of the epoch e, for 'gradlab list schedules'

    def lr(self, lr0: float, epoch: float) -> float:
        """The learning rate for ``epoch`` (0-based) given the base rate ``lr0``."""
        raise NotImplementedError

    def __call__(self, lr0: float, epoch: float) -> float:
        return self.lr(lr0, epoch)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


@schedules.register("constant")
class Constant(Schedule):
    """The same rate every epoch: ``lr(epoch) = lr0``."""

    formula = "lr(e) = lr0"

    def __init__(self) -> None:
        pass

    def lr(self, lr0: float, epoch: float) -> float:
        return float(lr0)


@schedules.register("step")
class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs.

    .. math:: \\mathrm{lr}(e) = \\mathrm{lr}_0 \\, \\gamma^{\\lfloor e / \\text{step\\_size} \\rfloor}

    e.g. ``gamma=0.5, step_size=10``: ``lr0`` for epochs 0-9, ``lr0/2`` for 10-19, ``lr0/4``
    from 20.

    Parameters
    ----------
    gamma : float, default 0.5
        Drop factor, ``0 < gamma <= 1``.
    step_size : int, default 10
        Epochs between drops, >= 1.
    """

    formula = "lr(e) = lr0 * gamma**floor(e / step_size)"

    def __init__(self, gamma: float = 0.5, step_size: int = 10) -> None:
        self.gamma = _checks.unit_interval("gamma", gamma, low_open=True, high_open=False)
        self.step_size = _checks.whole("step_size", step_size, 1)

    def lr(self, lr0: float, epoch: float) -> float:
        return lr0 * self.gamma ** math.floor(epoch / self.step_size)


@schedules.register("exponential")
class Exponential(Schedule):
    """Multiply the rate by ``gamma`` every epoch.

    .. math:: \\mathrm{lr}(e) = \\mathrm{lr}_0 \\, \\gamma^{e}

    Parameters
    ----------
    gamma : float, default 0.95
        Per-epoch factor, ``0 < gamma <= 1``.
    """

    formula = "lr(e) = lr0 * gamma**e"

    def __init__(self, gamma: float = 0.95) -> None:
        self.gamma = _checks.unit_interval("gamma", gamma, low_open=True, high_open=False)

    def lr(self, lr0: float, epoch: float) -> float:
        return lr0 * self.gamma**epoch


@schedules.register("inverse_time")
class InverseTime(Schedule):
    """Hyperbolic decay, the classic stochastic-approximation schedule.

    .. math:: \\mathrm{lr}(e) = \\frac{\\mathrm{lr}_0}{1 + \\text{decay} \\cdot e}

    so the rate is halved at epoch ``1 / decay``. For ``decay > 0`` the rates sum to infinity
    while their squares do not (the Robbins-Monro conditions for stochastic gradient descent).

    Parameters
    ----------
    decay : float, default 0.1
        ``decay >= 0`` (0 keeps the rate constant).
    """

    formula = "lr(e) = lr0 / (1 + decay * e)"

    def __init__(self, decay: float = 0.1) -> None:
        self.decay = _checks.non_negative("decay", decay)

    def lr(self, lr0: float, epoch: float) -> float:
        return lr0 / (1.0 + self.decay * epoch)
