import pytest

from gradlab.errors import InputError
from gradlab.experiment import ExperimentConfig
from gradlab.overrides import apply_overrides, name_overrides, parse_overrides


def test_values_are_yaml_scalars_and_lists():
    assert parse_overrides(["optimizer.lr=0.5", "model.hidden=[16,16]", "training.batch_size=full",
                            "training.shuffle=false"]) == {
        "optimizer.lr": 0.5, "model.hidden": [16, 16], "training.batch_size": "full", "training.shuffle": False}


def test_apply_sets_nested_keys_without_touching_the_original():
    raw = {"data": "xor", "optimizer": {"name": "sgd", "lr": 0.1}, "model": {"activation": "tanh"}}
    new = apply_overrides(raw, {"optimizer.lr": 0.5, "model.hidden": [8], "model.activation.alpha": 0.2},
                          model=ExperimentConfig)
    assert new["optimizer"] == {"name": "sgd", "lr": 0.5}
    assert new["model"] == {"activation": {"name": "tanh", "alpha": 0.2}, "hidden": [8]}
    assert raw["optimizer"]["lr"] == 0.1


def test_optimizer_parameters_are_open_keys():
    assert apply_overrides({}, {"optimizer.momentum": 0.9}, model=ExperimentConfig) == {"optimizer": {"momentum": 0.9}}


@pytest.mark.parametrize(("item", "message"), [
    ("optimizer.lr", "KEY=VALUE"),
    ("=3", "KEY=VALUE"),
    ("a..b=1", "KEY=VALUE"),
    ("model.hidden=[1,", "cannot read value"),
    ("optimizer.lr=", r"--set optimizer.lr: the value is empty"),  # would read as null: the default, silently
    ("optimizer.lr=  ", r"--set optimizer.lr: the value is empty"),
])
def test_malformed(item, message):
    with pytest.raises(InputError, match=message):
        parse_overrides([item])


def test_unknown_key_did_you_mean():
    with pytest.raises(InputError, match=r"--set optimiser.lr: unknown key \(did you mean 'optimizer'\?\)"):
        apply_overrides({}, {"optimiser.lr": 1}, model=ExperimentConfig)
    with pytest.raises(InputError, match=r"did you mean 'training.epochs'"):
        apply_overrides({}, {"training.epoch": 1}, model=ExperimentConfig)


def test_null_is_still_a_value():
    assert parse_overrides(["model.output=null"]) == {"model.output": None}


def test_name_overrides_names_the_set_behind_a_line_and_keeps_the_others():
    from gradlab.descent import DescendConfig

    message = "optimizer.lr: input should be greater than 0 (got -1)\nmodel.hidden[0]: bad\ntraining.epochs: bad"
    assert name_overrides(message, {"optimizer.lr": -1, "model.hidden": [0]}, ExperimentConfig).splitlines() == [
        "--set optimizer.lr: input should be greater than 0 (got -1)",
        "--set model.hidden: model.hidden[0]: bad",
        "training.epochs: bad"]
    # a synonym names the key as the user typed it
    assert name_overrides("lr: must be > 0", {"learning_rate": -1}, DescendConfig) == "--set learning_rate: must be > 0"
    # optimizer.lrr is not optimizer.lr
    assert name_overrides("optimizer.lr: bad", {"optimizer.lrr": 1}, ExperimentConfig) == "optimizer.lr: bad"
    # a key below a scalar made it a mapping: the line about the scalar is the --set's doing
    assert name_overrides("lr: input should be a valid number (got {'x': 1})", {"lr.x": 1}, DescendConfig) == \
        "--set lr.x: lr: input should be a valid number (got {'x': 1})"


def test_a_line_about_the_component_that_holds_the_key_is_named_by_the_key_alone():
    # "--set optimizer.name: optimizer: unknown value 'adamm'" said the path twice
    assert name_overrides("optimizer: unknown value 'adamm'", {"optimizer.name": "adamm"}, ExperimentConfig) == \
        "--set optimizer.name: unknown value 'adamm'"
    assert name_overrides("model.init: std must be > 0, got -1", {"model.init.std": -1}, ExperimentConfig) == \
        "--set model.init.std: std must be > 0, got -1"
    # a number is no component: lr.x made it a mapping, and the line about lr says so
    line = "optimizer.lr: input should be a valid number (got {'x': 1})"
    assert name_overrides(line, {"optimizer.lr.x": 1}, ExperimentConfig) == f"--set optimizer.lr.x: {line}"


def test_a_components_own_problem_in_the_file_is_not_blamed_on_a_set_inside_it():
    # name: adamm in the file and --set optimizer.lr=0.1 read "--set optimizer.lr: unknown value 'adamm'"
    line = "optimizer: unknown value 'adamm' (did you mean 'adam'?)"
    assert name_overrides(line, {"optimizer.lr": 0.1}, ExperimentConfig) == line
    assert name_overrides(line, {"optimizer.lr": 2}, ExperimentConfig) == line
    # a line that names the key or its value is the --set's own
    assert name_overrides("loss: mse has no parameter 'delta'", {"loss.delta": 2}, ExperimentConfig) == \
        "--set loss.delta: mse has no parameter 'delta'"


def test_a_line_that_starts_with_the_field_is_named_by_its_set():
    # "data.n_samples must be ..." (no colon) kept no --set prefix, unlike every other --set error
    assert name_overrides("data.n_samples must be >= 3, got -1", {"data.n_samples": -1}, ExperimentConfig) == \
        "--set data.n_samples: must be >= 3, got -1"
    assert name_overrides("data.noise must be >= 0, got -1", {"data.n_samples": 5}, ExperimentConfig) == \
        "data.noise must be >= 0, got -1"  # the file's problem stays the file's
