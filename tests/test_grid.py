"""--grid values, --seeds and the cartesian expansion of a sweep."""

import pytest

from gradlab.errors import InputError
from gradlab.experiment import ExperimentConfig
from gradlab.grid import expand, parse_grid, parse_seeds, parse_values


@pytest.mark.parametrize(("text", "values"), [
    ("0.01,0.1,1", [0.01, 0.1, 1]),
    ("mse,bce", ["mse", "bce"]),
    ("[16,16],[8]", [[16, 16], [8]]),
    ("1e-3, 2.5E2", [0.001, 250.0]),  # YAML 1.1 reads 1e-3 as text; a grid value that reads as a number is one
    ("true,false", [True, False]),
    ("{name: adam, lr: 0.1},sgd", [{"name": "adam", "lr": 0.1}, "sgd"]),
    ("range(1,4)", [1, 2, 3]),  # like Python: the stop is excluded
    ("range(10, 0, -4)", [10, 6, 2]),
    ("range(0.1, 0.4, 0.1)", [0.1, 0.2, 0.3]),  # a + i*step, rounded: no 0.30000000000000004
    ("range(0, 1, 0.25)", [0.0, 0.25, 0.5, 0.75]),
    ("logspace(-3, -1, 3)", [0.001, 0.01, 0.1]),
    ("logspace(0, 1, 2)", [1.0, 10.0]),
    ("logspace(-2, -2, 1)", [0.01]),
])
def test_value_forms(text, values):
    assert parse_values("k", text) == values


@pytest.mark.parametrize(("text", "message"), [
    ("range(1)", "range takes"),
    ("range(1, 5, 0)", "step must be a number other than 0"),
    ("range(0, nan)", r"range start, stop and step must be finite numbers, got 'range\(0, nan\)'"),  # not "step"
    ("range(5, 1)", "no values"),
    ("range(a, 2)", "expected a number, got 'a'"),
    ("logspace(0, 1)", "logspace takes"),
    ("logspace(0, 1, 2.5)", "whole number"),
    ("0.1,0.1", "value 0.1 is given twice"),
    ("[1,", "cannot read the values"),
    ("range(0, 1e6, 1e-3)", r"^--grid optimizer.lr: range\(0, 1e6, 1e-3\) has 1000000000 values, more than 10000$"),
    # the steps, or the span, beyond a float were an OverflowError from ceil(inf): an internal error
    ("range(0,1e300,1e-300)", r"^--grid optimizer.lr: range\(0,1e300,1e-300\) has about 10\*\*600 values, more than 10000$"),
    ("range(0,1,1e-300)", r"has about 10\*\*300 values, more than 10000$"),  # was 301 digits written out
    ("range(-1.7e308,1.7e308,1e308)", r"^--grid optimizer.lr: range\(-1.7e308,1.7e308,1e308\): the span from -1.7e\+308 "
                                      r"to 1.7e\+308 is beyond the range of a float64 number \(at most 1.798e\+308 in "
                                      r"size\); narrow the range$"),
    ("range(1e300,0,1e-300)", r"no values in 'range\(1e300,0,1e-300\)'"),  # -inf steps
    ("logspace(-3, 400, 3)", r"logspace\(-3, 400, 3\): 10\*\*400 is too large for a float"),
    ("logspace(-400, -390, 3)", r"10\*\*-400 is too small for a float and would be 0"),  # not "0.0 is given twice"
    ("logspace(0, 1e400, 3)", "logspace a and b must be finite numbers"),
    ("range(\uff11, 3)", "expected a number, got '\uff11'"),  # fullwidth 1: the README's rule is ASCII digits
])
def test_bad_values_name_the_key(text, message):
    with pytest.raises(InputError, match=message) as info:
        parse_values("optimizer.lr", text)
    assert str(info.value).startswith("--grid optimizer.lr")


def test_grid_keys_are_checked_against_the_schema():
    assert parse_grid(["optimizer.lr=0.1,1", "loss=mse"], model=ExperimentConfig) == {
        "optimizer.lr": [0.1, 1], "loss": ["mse"]}
    with pytest.raises(InputError, match=r"--grid training.epoch: unknown key \(did you mean 'training.epochs'\?\)"):
        parse_grid(["training.epoch=1,2"], model=ExperimentConfig)
    with pytest.raises(InputError, match="given twice"):
        parse_grid(["loss=mse", "loss=bce"])
    for item in ("loss", "=mse", "loss="):
        with pytest.raises(InputError, match="KEY=VALUES"):
            parse_grid([item])


def test_seeds_count_or_list():
    assert parse_seeds("3") == [1, 2, 3]
    assert parse_seeds("0,7,11") == [0, 7, 11]
    assert parse_seeds(None) is None
    # whole numbers as every whole-number option reads them: --steps 3.0 ran, --seeds 2.0 was refused
    assert parse_seeds("2.0") == [1, 2] and parse_seeds("1e1,3.0") == [10, 3]
    for bad in ("0", "x", "1,1", "-1,2", "\uff12", "1,\uff12", "2.5", "1e400", "1_0"):  # fullwidth digits are no number by the README's rule
        with pytest.raises(InputError, match="--seeds"):
            parse_seeds(bad)


def test_expansion_order_groups_and_seeds():
    points = expand({"a": [1, 2], "b": ["x", "y", "z"]}, [1, 2])
    assert len(points) == 12
    assert [p.index for p in points] == list(range(1, 13))
    assert points[0].overrides == {"a": 1, "b": "x", "seed": 1}
    assert points[1].overrides == {"a": 1, "b": "x", "seed": 2}  # seeds vary fastest, then the last key
    assert points[2].overrides == {"a": 1, "b": "y", "seed": 1} and points[2].group == 2
    assert points[-1].overrides == {"a": 2, "b": "z", "seed": 2} and points[-1].group == 6
    assert points[0].label() == "a=1, b=x"
    assert [p.overrides for p in expand({}, [5])] == [{"seed": 5}]
    assert [p.overrides for p in expand({"a": [1]}, None)] == [{"a": 1}]  # the config's own seed


def test_too_many_points_are_refused_before_any_combination_is_built():
    import time

    huge = {"a": list(range(10_000)), "b": list(range(10_000)), "c": list(range(100))}
    started = time.perf_counter()
    with pytest.raises(InputError, match="the sweep has 10000000000 points, more than 10000"):
        expand(huge, None)
    assert time.perf_counter() - started < 1  # building 1e10 combinations would take hours and the memory
    with pytest.raises(InputError, match="the sweep has 10002 points"):
        expand({"a": list(range(5001))}, [1, 2])
    assert len(expand({"a": list(range(5000))}, [1, 2])) == 10_000


@pytest.mark.parametrize(("text", "shown"), [
    # logspace(-2, 1, 4) showed 10 as 1e+01 beside 0.01, 0.1 and 1 in the ranking table and on the heatmap's axis
    ("logspace(-2,1,4)", ["0.01", "0.1", "1", "10"]),
    ("logspace(-5,-3,3)", ["1e-05", "1e-04", "1e-03"]),  # 1e-05 lies beyond %g's plain style: the list follows it
    ("0,1e6,2.5", ["0", "1e+06", "2.5e+00"]),
    ("1,0.5,16", ["1", "0.5", "16"]),  # whole numbers read from YAML stay whole
    ("mse,bce", ["mse", "bce"]),
])
def test_the_values_of_one_key_are_shown_in_one_style(text, shown):
    from gradlab.grid import show_values

    values = parse_values("k", text)
    assert show_values(values) == shown
    assert [float(s) for s in shown if s[0].isdigit()] == [v for v in values if not isinstance(v, str)]
    points = expand({"k": values, "b": ["x"]}, None)
    assert [p.label() for p in points] == [f"k={s}, b=x" for s in shown]  # the labels and results.csv agree


@pytest.mark.parametrize(("value", "text"), [
    (1e6, "1e+06"), (1e300, "1e+300"), (0.1, "0.1"), (1e-3, "0.001"), (1.0, "1"), (123456.0, "123456"),
    (1 / 3, "0.3333333333333333"), (-2.5e-7, "-2.5e-07"), ("mse", "mse"), ([16, 16], "[16, 16]"), (None, "null"),
    (10.0, "10"), (999999.0, "999999"), (1e-4, "0.0001"), (1e-5, "1e-05"),  # 10 was 1e+01
])
def test_grid_values_show_in_one_style_and_read_back_exactly(value, text):
    from gradlab.grid import show

    assert show(value) == text
    if isinstance(value, float):
        assert float(show(value)) == value
