"""Gradient descent on an :class:`~gradlab.expr.Expression`: step records, never printing.

The package keeps one job to a module, each importing only the ones listed before it:

``points``
    The small helpers the others share: a point's norm, and how a message writes a point.
``methods``
    The update rules (gd, momentum, nesterov, adam, newton), their one registry :data:`METHODS`,
    and the :class:`Settings` a run reads, with their defaults.
``run``
    A run: :class:`Descent` yields :class:`Step` records and ends with an :class:`Outcome`;
    :func:`~gradlab.descent.run.check_start`, :func:`descend`, the rows of ``metrics.csv`` and the
    :class:`Trajectory` that keeps a run's points.
``probes``
    Probes of f beside a point in 50 digits, which the verdicts judge by.
``verdicts``
    Where a run stopped, when it is not plainly at a minimum: a :class:`Kink`, a fall without end,
    a :class:`Plateau`, or a :class:`Stationary` point that is no minimum.
``linear_stability``
    The step-size analysis of a finished 1-D run: :class:`Stability` and :func:`stability`.
``config``
    :class:`DescendConfig`, the config of ``gradlab descend``, and :func:`parse_point`.

The names below are the ones the CLI and the tests use; they are re-exported here so that
``from gradlab.descent import ...`` reads the same whichever module holds them.
"""

from gradlab.descent.config import DescendConfig, parse_point
from gradlab.descent.linear_stability import Stability, find_minimum_1d, linear_rate, observed_ratio, stability
from gradlab.descent.methods import METHODS, Method, Settings, update_rule
from gradlab.descent.points import norm
from gradlab.descent.run import Descent, Outcome, Step, Trajectory, descend, metric_columns, metric_row
from gradlab.descent.verdicts import (
    Kink,
    Plateau,
    Stationary,
    falling_towards,
    kink_minimum,
    plateau,
    stationary_kind,
    unbounded_direction,
)

__all__ = [
    "METHODS",
    "DescendConfig",
    "Descent",
    "Kink",
    "Method",
    "Outcome",
    "Plateau",
    "Settings",
    "Stability",
    "Stationary",
    "Step",
    "Trajectory",
    "descend",
    "falling_towards",
    "find_minimum_1d",
    "kink_minimum",
    "linear_rate",
    "metric_columns",
    "metric_row",
    "norm",
    "observed_ratio",
    "parse_point",
    "plateau",
    "stability",
    "stationary_kind",
    "unbounded_direction",
    "update_rule",
]
