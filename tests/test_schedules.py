"""Learning-rate schedules: values at given epochs and parameter validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradlab.engine.schedules import schedules
from gradlab.errors import InputError


def test_registry_holds_the_four_schedules():
    assert schedules.names() == ["constant", "step", "exponential", "inverse_time"]


@pytest.mark.parametrize(
    ("spec", "epochs", "expected"),
    [
        ("constant", [0, 1, 50], [0.1, 0.1, 0.1]),
        # 0.1 * 0.5^floor(e/10): epochs 0-9 -> 0.1, 10-19 -> 0.05, 20 -> 0.025
        ("step:gamma=0.5,step_size=10", [0, 9, 10, 19, 20, 35], [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]),
        ("step:gamma=0.1,step_size=1", [0, 1, 2], [0.1, 0.01, 0.001]),
        # 0.1 * 0.9^e: 0.1, 0.09, 0.081, 0.0729
        ("exponential:gamma=0.9", [0, 1, 2, 3], [0.1, 0.09, 0.081, 0.0729]),
        # 0.1 / (1 + 0.5 e): 0.1, 0.1/1.5, 0.1/2 = 0.05, 0.1/4 = 0.025
        ("inverse_time:decay=0.5", [0, 1, 2, 6], [0.1, 0.1 / 1.5, 0.05, 0.025]),
        ("inverse_time:decay=0", [0, 100], [0.1, 0.1]),
    ],
)
def test_values_at_given_epochs(spec, epochs, expected):
    schedule = schedules.create(spec)
    assert [schedule(0.1, e) for e in epochs] == pytest.approx(expected, rel=1e-12)
    assert [schedule.lr(0.1, e) for e in epochs] == pytest.approx(expected, rel=1e-12)


def test_defaults():
    assert schedules.parameters("step") == {"gamma": 0.5, "step_size": 10}
    assert schedules.parameters("exponential") == {"gamma": 0.95}
    assert schedules.parameters("inverse_time") == {"decay": 0.1}
    assert schedules.parameters("constant") == {}


@given(name=st.sampled_from(["constant", "step", "exponential", "inverse_time"]), lr0=st.floats(1e-6, 10.0))
def test_every_schedule_starts_at_lr0_and_never_increases(name, lr0):
    schedule = schedules.create(name)
    rates = [schedule(lr0, e) for e in range(60)]
    assert rates[0] == pytest.approx(lr0)
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))
    assert all(rate > 0 for rate in rates)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("step:gamma=0", "schedule: gamma must be > 0 and <= 1, got 0"),
        ("step:gamma=1.5", "schedule: gamma must be > 0 and <= 1, got 1.5"),
        ("step:step_size=0", "schedule: step_size must be a whole number >= 1, got 0"),
        ("step:step_size=2.5", "schedule: step_size must be a whole number >= 1, got 2.5"),
        ("exponential:gamma=-0.5", "schedule: gamma must be > 0 and <= 1, got -0.5"),
        ("inverse_time:decay=-1", "schedule: decay must be >= 0, got -1"),
        ("inverse_time:decay=inf", "schedule: decay must be a finite number, got inf"),
        ("step:gama=0.5", "did you mean 'gamma'"),
        ("cosine", "unknown value 'cosine'"),
    ],
)
def test_bad_parameters_are_refused(spec, message):
    with pytest.raises(InputError) as error:
        schedules.create(spec, field="schedule")
    assert message in str(error.value)


def test_a_whole_float_step_size_is_accepted():
    assert schedules.create({"name": "step", "step_size": 5.0}).step_size == 5
