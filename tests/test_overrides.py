import pytest

from gradlab.errors import InputError
from gradlab.experiment import ExperimentConfig
from gradlab.overrides import apply_overrides, parse_overrides


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
])
def test_malformed(item, message):
    with pytest.raises(InputError, match=message):
        parse_overrides([item])


def test_unknown_key_did_you_mean():
    with pytest.raises(InputError, match=r"--set optimiser.lr: unknown key \(did you mean 'optimizer'\?\)"):
        apply_overrides({}, {"optimiser.lr": 1}, model=ExperimentConfig)
    with pytest.raises(InputError, match=r"did you mean 'training.epochs'"):
        apply_overrides({}, {"training.epoch": 1}, model=ExperimentConfig)
