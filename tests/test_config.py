import math
from typing import Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from gradlab.config import load_yaml, validate, validation_message
from gradlab.descent import DescendConfig, parse_point
from gradlab.errors import ConfigError, InputError
from tests.conftest import CONFIGS, run_dirs


def test_load_yaml_reads_a_mapping_and_an_empty_file(tmp_path):
    (tmp_path / "a.yaml").write_text("lr: 0.5\nx0: [-1.5, 2]\n")
    assert load_yaml(tmp_path / "a.yaml") == {"lr": 0.5, "x0": [-1.5, 2]}
    (tmp_path / "empty.yaml").write_text("")
    assert load_yaml(tmp_path / "empty.yaml") == {}


@pytest.mark.parametrize(("text", "fragment"), [
    ("lr: 0.5\nsteps: [1,\n", "bad.yaml, line 3, column 1: invalid YAML"),
    ("lr: 0.5\n  steps: 3\n", "bad.yaml, line 2"),
    ("- 1\n- 2\n", "bad.yaml, line 1: the top level must be a mapping of settings (key: value), got a list"),
    ("just text\n", "got a str"),
    # SafeLoader keeps the last of two equal keys silently: lr 10 would train, 0.1 was meant
    ("optimizer:\n  lr: 0.1\n  lr: 10\n", "bad.yaml, line 3, column 3: invalid YAML: key 'lr' is given twice in one mapping"),
    # well-formed YAML whose value PyYAML cannot build raised ValueError / AttributeError (internal errors)
    ("seed: 2001-13-45\n", "bad.yaml: invalid YAML: month must be in 1..12"),
    ("seed: !!timestamp x\n", "bad.yaml: invalid YAML: 'NoneType' object has no attribute"),
    ("a: \x01\n", "bad.yaml: invalid YAML: unacceptable character #x0001"),
    # an explicit tag follows the README's rule for numbers too (PyYAML read these as 26 and 10.0)
    ("a: !!int 0x1A\n", "bad.yaml, line 1, column 4: invalid YAML: '0x1A' is not a whole number in decimal notation"),
    ("a: !!float 1_0\n", "bad.yaml, line 1, column 4: invalid YAML: '1_0' is not a number in decimal or scientific "
                         "notation"),
    # PyYAML recurses once per level: 5000 levels were 'internal error: RecursionError', exit 1
    pytest.param("a: " + "[" * 5000 + "]" * 5000 + "\n",
                 "bad.yaml: invalid YAML: nested too deeply (no config needs more than a few levels)", id="5000-levels"),
])
def test_load_yaml_names_file_and_line(tmp_path, text, fragment):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_yaml(path)
    assert str(info.value).startswith(str(path.parent))
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)  # the CLI prints each line as an error of its own


def test_load_yaml_keeps_merge_keys_and_their_overrides(tmp_path):
    # a key brought in by <<: *defaults and set again beside it is an override, not a duplicate
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {epochs: 5, batch_size: 16}\ntraining: {<<: *b, epochs: 7}\n")
    assert load_yaml(path)["training"] == {"epochs": 7, "batch_size": 16}


def test_load_yaml_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="nope.yaml: no such config file"):
        load_yaml(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match="is a directory"):
        load_yaml(tmp_path)


class Layer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    units: int
    activation: str = "relu"


class Experiment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layers: list[Layer]
    seed: Optional[int] = None


def test_validation_message_paths_values_and_did_you_mean():
    with pytest.raises(ValidationError) as info:
        Experiment.model_validate({"layers": [{"units": 3}, {"units": "many", "activaton": "tanh"}], "sed": 1})
    lines = validation_message(info.value, prefix="exp.yaml: ", sep="\n").splitlines()
    assert lines == [
        "exp.yaml: layers[1].units: input should be a valid integer, unable to parse string as an integer "
        "(got 'many')",
        "exp.yaml: layers[1].activaton: unknown key (did you mean 'activation'?); allowed keys: units, activation",
        "exp.yaml: sed: unknown key (did you mean 'seed'?); allowed keys: layers, seed",
    ]
    with pytest.raises(ValidationError) as info:
        Experiment.model_validate({})
    assert validation_message(info.value) == "layers: Field required"


@pytest.mark.parametrize(("value", "point"), [
    (8, [8.0]), ("8", [8.0]), ("-1.5,2", [-1.5, 2.0]), ("(-1.5, 2)", [-1.5, 2.0]), ([1, "2.5"], [1.0, 2.5]),
])
def test_parse_point(value, point):
    assert parse_point(value) == point


@pytest.mark.parametrize(("value", "fragment"), [
    ("1,abc", "x0: malformed number 'abc' in '1,abc'"),
    ("", "x0: no numbers given"),
    (True, "x0: expected numbers"),
    ({"x": 1}, "x0: expected a number or numbers separated by commas"),
])
def test_parse_point_refuses(value, fragment):
    with pytest.raises(ValueError) as info:
        parse_point(value)
    assert fragment in str(info.value)


def test_descend_config_defaults_resolve_lr_per_method():
    assert validate(DescendConfig, {}).resolved() == {
        "f": "x**2 - 4*x + 6", "x0": [8.0], "lr": 0.1, "steps": 100, "tol": 1e-8, "method": "gd",
        "momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "every": None, "digits": 6,
        "name": None, "plot": True,
    }
    assert validate(DescendConfig, {"method": "newton"}).lr == 1.0
    assert validate(DescendConfig, {"learning_rate": 0.3}).lr == 0.3  # the spelt-out name works in YAML


@pytest.mark.parametrize(("data", "message"), [
    ({"lr": -1}, "lr: must be a finite number > 0, got -1.0"),
    ({"lr": "fast"}, "lr: input should be a number in ASCII decimal or scientific notation (got 'fast')"),
    ({"steps": 0}, "steps: must be a whole number >= 1, got 0"),
    ({"every": 0}, "every: input should be greater than or equal to 1 (got 0)"),
    ({"lerning_rate": 0.1}, "lerning_rate: unknown key (did you mean 'learning_rate'?)"),
    ({"method": "adma"}, "method: unknown value 'adma' (did you mean 'adam'?)"),
    ({"x0": "1,,2"}, "x0: malformed number '' in '1,,2'"),
])
def test_descend_config_errors(data, message):
    with pytest.raises(ConfigError) as info:
        validate(DescendConfig, data, prefix="c.yaml: ")
    assert str(info.value).startswith(f"c.yaml: {message}")


@pytest.mark.parametrize(("text", "value"), [
    ("1e-2", 0.01), ("1E5", 100000.0), ("-3e+2", -300.0), ("1.5e3", 1500.0), ("1.0e-8", 1e-8),
    (".5e3", 500.0), ("10", 10), ("1e", "1e"), ("e5", "e5"), ("1e-2x", "1e-2x"),
])
def test_scientific_notation_without_a_dot_reads_as_a_number(tmp_path, text, value):
    # YAML 1.2 reads 1e-2 as a float; PyYAML's YAML 1.1 rule made it the text '1e-2'
    (tmp_path / "c.yaml").write_text(f"eps: {text}\n")
    read = load_yaml(tmp_path / "c.yaml")["eps"]
    assert read == value and type(read) is type(value)


# YAML 1.1, which PyYAML follows, reads each of these as a number: 1_0 -> 10, 1:0 -> 60 (base 60),
# 1:30:00 -> 5400, 0x1A -> 26, 0b101 -> 5, 1_0.5 -> 10.5. The README's rule (ASCII decimal or
# scientific notation) reads none of them; 0o17 was text in YAML 1.1 too.
YAML_1_1_NUMBERS = ["1_0", "1:0", "1:30:00", "0x1A", "0o17", "0b101", "1_0.5", "１２"]


@pytest.mark.parametrize("text", YAML_1_1_NUMBERS)
def test_a_train_config_number_outside_the_rule_is_refused_as_typed(cli, tmp_path, text):
    (tmp_path / "c.yaml").write_text(f"data: {{name: xor, n_samples: 40}}\ntraining: {{epochs: {text}}}\n")
    result = cli("train", tmp_path / "c.yaml", "--no-plot", "-q")
    assert (result.code, result.err) == (2, "error: training.epochs: input should be a whole number in ASCII decimal "
                                            f"or scientific notation (got '{text}')\n")
    assert not (tmp_path / "runs").exists()


def test_a_number_outside_the_rule_in_a_list_or_a_set_value_is_refused(cli, tmp_path):
    (tmp_path / "c.yaml").write_text("data: {name: xor, n_samples: 40}\nmodel: {hidden: [1_6, 8]}\n"
                                     "optimizer: {lr: 0.1_0}\n")
    result = cli("train", tmp_path / "c.yaml", "--no-plot", "-q")
    assert (result.code, result.err) == (2, (
        "error: model.hidden[0]: input should be a whole number in ASCII decimal or scientific notation (got '1_6')\n"
        "error: optimizer.lr: input should be a number in ASCII decimal or scientific notation (got '0.1_0')\n"))
    result = cli("train", CONFIGS / "xor.yaml", "--set", "training.epochs=1:0", "--no-plot", "-q")
    assert (result.code, result.err) == (2, "error: --set training.epochs: input should be a whole number in ASCII "
                                            "decimal or scientific notation (got '1:0')\n")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("text", YAML_1_1_NUMBERS)
def test_a_descend_config_number_outside_the_rule_is_refused_as_typed(cli, tmp_path, text):
    (tmp_path / "d.yaml").write_text(f"x0: {text}\nsteps: {text}\n")
    result = cli("descend", "--config", tmp_path / "d.yaml")
    assert result.code == 2 and result.err.splitlines() == [
        f"error: {tmp_path / 'd.yaml'}: x0: malformed number '{text}' in '{text}'; write ASCII decimal or scientific "
        "notation (8, -1.5, 1e3), numbers separated by commas, e.g. -1.5,2",
        f"error: {tmp_path / 'd.yaml'}: steps: input should be a whole number in ASCII decimal or scientific notation "
        f"(got '{text}')"]
    (tmp_path / "d.yaml").write_text("x0: [1_6, 8]\nf: x**2 + y**2\n")
    assert "x0: malformed number '1_6' in ['1_6', 8]" in cli("descend", "--config", tmp_path / "d.yaml").err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(("text", "value"), [
    ("10", 10), ("-0", 0), ("+5", 5),
    # a leading zero leaves text, which a number setting reads as 17 (YAML 1.1 read 017 as octal
    # 15), and a text setting keeps, as YAML 1.1 kept 08: older runs have `name: 08` unquoted
    ("017", "017"), ("08", "08"),
    ("5.", 5.0), (".5", 0.5), ("1.0e-05", 1e-05), ("+.inf", float("inf")), ("-.Inf", float("-inf")),
    ("inf", "inf"), ("0x", "0x"), ("1__0", "1__0"), ("1_0e3", "1_0e3"), ("190:20:30.15", "190:20:30.15"),
])
def test_yaml_numbers_read_by_the_readme_rule(tmp_path, text, value):
    (tmp_path / "c.yaml").write_text(f"a: {text}\nb: [{text}]\n")
    read = load_yaml(tmp_path / "c.yaml")
    assert read == {"a": value, "b": [value]} and type(read["a"]) is type(value)
    (tmp_path / "nan.yaml").write_text("a: .nan\n")
    assert math.isnan(load_yaml(tmp_path / "nan.yaml")["a"])


def test_descend_reads_017_as_17_as_the_command_line_does(cli, tmp_path):
    (tmp_path / "d.yaml").write_text("x0: 017\nsteps: 1\nlr: 0.1\n")
    assert cli("descend", "--config", tmp_path / "d.yaml", "--no-plot").code == 0
    assert load_yaml(run_dirs(tmp_path / "runs")[0] / "config.yaml")["x0"] == [17.0]  # YAML 1.1: 15


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda path: path.name)
def test_shipped_configs_read_as_plain_yaml_does(path):
    # they use no YAML 1.1-only number: the rule changes none of their experiments (types included)
    import yaml

    assert repr(load_yaml(path)) == repr(yaml.safe_load(path.read_text()))


def test_a_saved_config_reads_back_as_it_was_written(tmp_path):
    # strings the loader would read as numbers are quoted: a run named 1e3 was re-read as 1000.0
    from gradlab.runs import write_yaml

    config = {"name": "1e3", "tags": ["08", "1_0", "1:0", "0x1A", ".inf", "inf", "yes", "017", "é"],
              "numbers": [8, -0.0, 1e-05, 1e300, 0.1, 2**70]}
    write_yaml(tmp_path / "config.yaml", config)
    assert repr(load_yaml(tmp_path / "config.yaml")) == repr(config)
    # and YAML 1.1 reads it the same: '1_0' stays quoted for any reader
    import yaml

    assert repr(yaml.safe_load((tmp_path / "config.yaml").read_text())) == repr(config)


def test_a_run_named_like_a_number_reruns_from_its_config(cli, tmp_path):
    (tmp_path / "c.yaml").write_text("name: '1e3'\ndata: {name: xor, n_samples: 40}\ntraining: {epochs: 1}\n")
    assert cli("train", tmp_path / "c.yaml", "--no-plot", "-q").code == 0
    saved = run_dirs(tmp_path / "runs")[0] / "config.yaml"
    result = cli("train", saved, "--no-plot", "-q")
    assert result.code == 0, result.err
    assert load_yaml(saved)["name"] == "1e3"


def test_a_config_written_before_the_readme_rule_reruns_with_its_text_kept(cli, tmp_path):
    # PyYAML's YAML 1.1 writer left 08 and 09 unquoted (no octal number), '07' quoted: a run named
    # 09 and a CSV's columns 07, 08, 09 were written so, and must still read as text, not 8 and 9
    (tmp_path / "m.csv").write_text("07,08,09,target\n" + "".join(f"{i},{i % 3},{i % 5},{i % 2}\n" for i in range(20)))
    (tmp_path / "old.yaml").write_text(f"name: 09\ndata:\n  name: csv\n  path: {tmp_path / 'm.csv'}\n  target: target\n"
                                       "  features:\n  - '07'\n  - 08\n  - 09\ntraining: {epochs: 1}\n")
    result = cli("train", tmp_path / "old.yaml", "--no-plot", "-q")
    assert result.code == 0, result.err
    saved = load_yaml(run_dirs(tmp_path / "runs")[0] / "config.yaml")
    assert (saved["name"], saved["data"]["features"]) == ("09", ["07", "08", "09"])


def test_number_settings_read_a_leading_zero_and_whole_floats_by_the_rule(cli, tmp_path):
    # 017 stays text in the loader; every setting that takes a number reads it as 17, a whole
    # float 2e2 as 200 (data settings refused 2e2: "must be an integer >= 2, got 200.0")
    (tmp_path / "z.yaml").write_text(
        "data: {name: moons, n_samples: 2e2, noise: 01, seed: 017}\n"
        "model: {hidden: [016], activation: {name: leaky_relu, alpha: 01}}\ntraining: {epochs: 02}\n")
    result = cli("train", tmp_path / "z.yaml", "--no-plot", "-q")
    assert result.code == 0, result.err
    run = run_dirs(tmp_path / "runs")[0]
    saved = load_yaml(run / "config.yaml")
    assert (saved["data"]["n_samples"], saved["data"]["noise"], saved["data"]["seed"]) == (200, 1.0, 17)
    assert (saved["model"]["hidden"], saved["training"]["epochs"]) == ([16], 2)
    from gradlab.registry import number_in_text

    assert number_in_text(saved["model"]["activation"]["alpha"]) == 1
    # a float far beyond any count is named as written, not as its 301 digits
    (tmp_path / "big.yaml").write_text("data: {name: moons, n_samples: 1e300}\n")
    result = cli("train", tmp_path / "big.yaml", "--no-plot", "-q")
    assert (result.code, result.err) == (2, "error: data.n_samples must be an integer >= 2, got 1e+300\n")


def test_a_config_with_scientific_notation_in_registry_parameters_trains(cli, tmp_path):
    (tmp_path / "sci.yaml").write_text(
        "data: {name: cat_dog, noise: 1e-2}\nmodel: {init: {name: normal, std: 1e-2}}\n"
        "optimizer: {name: adam, eps: 1e-8, lr: 1e-3}\ntraining: {epochs: 2}\n")
    result = cli("train", tmp_path / "sci.yaml", "--set", "optimizer.beta1=8e-1", "--no-plot", "-q")
    assert result.code == 0, result.err
    import yaml
    from tests.conftest import run_dirs

    saved = yaml.safe_load((run_dirs(tmp_path / "runs")[0] / "config.yaml").read_text())
    assert saved["optimizer"]["eps"] == 1e-8 and saved["optimizer"]["beta1"] == 0.8
    assert saved["model"]["init"]["std"] == 0.01 and saved["data"]["noise"] == 0.01


def test_a_number_beyond_float64_is_named_as_written_not_as_inf(cli, tmp_path):
    (tmp_path / "c.yaml").write_text("optimizer:\n  lr: -1.5e400\n")
    with pytest.raises(InputError) as info:
        load_yaml(tmp_path / "c.yaml")
    assert "line 2, column 7" in str(info.value)
    assert "-1.5e400 is beyond the range of a float64 number (at most 1.798e+308 in size); write .inf" in str(info.value)
    (tmp_path / "inf.yaml").write_text("a: .inf\nb: -.Inf\nc: 1.7e308\n")
    assert load_yaml(tmp_path / "inf.yaml") == {"a": float("inf"), "b": float("-inf"), "c": 1.7e308}

    from tests.conftest import CONFIGS

    result = cli("train", CONFIGS / "cat_dog.yaml", "--set", "optimizer.lr=1e309", "--no-plot")
    assert result.code == 2 and result.err == (
        "error: --set optimizer.lr: cannot read value '1e309': 1e309 is beyond the range of a float64 number "
        "(at most 1.798e+308 in size); write .inf for infinity\n")
    result = cli("train", CONFIGS / "cat_dog.yaml", "--set", "model.activation=elu:alpha=1e309", "--no-plot")
    assert result.code == 2 and result.err == (
        "error: --set model.activation: parameter alpha in 'elu:alpha=1e309': 1e309 is beyond the range of a "
        "float64 number (at most 1.798e+308 in size)\n")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("loss, task, output", [
    ("mse", "regression", "identity"), ("mse", "binary", "sigmoid"), ("mse", "multiclass", "softmax"),
    ("bce", "binary", "sigmoid"), ("cross_entropy", "multiclass", "softmax"), ("hinge", "binary", "identity"),
])
def test_model_config_chooses_the_output_from_loss_and_task(loss, task, output):
    from gradlab.engine.losses import losses
    from gradlab.experiment import ModelConfig

    assert ModelConfig(hidden=[3]).output_spec(losses.create(loss), task) == output
    assert ModelConfig(hidden=[3], output="tanh").output_spec(losses.create(loss), task) == "tanh"


def test_model_config_gives_one_activation_per_hidden_layer():
    from gradlab.experiment import ModelConfig

    assert ModelConfig(hidden=[4, 5, 6], activation="relu").hidden_specs() == ["relu"] * 3
    assert ModelConfig(hidden=[4, 5], activation=["tanh", "elu"]).hidden_specs() == ["tanh", "elu"]
    assert ModelConfig().hidden_specs() == []


def test_a_set_value_nested_too_deeply_is_named():
    from gradlab.config import read_yaml_text

    with pytest.raises(InputError, match=r"^--set model\.hidden: nested too deeply \(no config needs more than a few levels\)$"):
        read_yaml_text("[" * 3000 + "]" * 3000, "--set model.hidden")


def test_yes_no_on_off_are_text_where_a_setting_takes_a_name(cli, tmp_path):
    # YAML 1.1 read them as booleans: features [on, off] gave "column 'True' not found", class_names
    # [no, yes] "label 'no' is not one of class_names ['False', 'True']", --set data.target=no "must be
    # a non-empty list of names, got False", name: no "input should be a valid string (got False)"
    (tmp_path / "d.csv").write_text("on,off,no\n" + "".join(f"{i % 3},{i % 5},{'yes' if i % 2 else 'no'}\n"
                                                           for i in range(20)))
    (tmp_path / "c.yaml").write_text("name: no\ndata: {name: csv, path: d.csv, features: [on, off], "
                                     "class_names: [no, yes]}\ntraining: {epochs: 1}\n")
    result = cli("train", tmp_path / "c.yaml", "--set", "data.target=no", "--no-plot", "-q")
    assert result.code == 0, result.err
    saved = run_dirs(tmp_path / "runs")[0] / "config.yaml"
    config = load_yaml(saved)
    assert (config["name"], config["data"]["features"], config["data"]["target"], config["data"]["class_names"]) == (
        "no", ["on", "off"], "no", ["no", "yes"])
    # written quoted, so that a YAML 1.1 reader (and the loader before this rule) reads the same text
    import yaml

    assert "name: 'no'" in saved.read_text() and yaml.safe_load(saved.read_text()) == config


@pytest.mark.parametrize(("text", "value"), [("true", True), ("True", True), ("FALSE", False), ("no", "no"),
                                             ("Yes", "Yes"), ("ON", "ON"), ("off", "off"), ("y", "y"), ("tRue", "tRue")])
def test_only_true_and_false_are_yaml_booleans(tmp_path, text, value):
    (tmp_path / "c.yaml").write_text(f"a: {text}\nb: [{text}]\n")
    assert load_yaml(tmp_path / "c.yaml") == {"a": value, "b": [value]}


def test_an_explicit_bool_tag_takes_only_true_or_false(tmp_path):
    (tmp_path / "c.yaml").write_text("a: !!bool yes\n")
    with pytest.raises(InputError, match=r"c\.yaml, line 1, column 4: invalid YAML: 'yes' is not true or false$"):
        load_yaml(tmp_path / "c.yaml")


def test_true_or_false_settings_read_yes_no_on_off_and_refuse_numbers(cli, tmp_path):
    # one rule for the schema's settings (training.shuffle) and the data's (standardize, stratify):
    # a config written for YAML 1.1 keeps its meaning; pydantic alone took shuffle: 1, data refused it
    (tmp_path / "c.yaml").write_text("data: {name: xor, n_samples: 40, standardize: On, stratify: no}\n"
                                     "training: {epochs: 1, shuffle: off}\n")
    assert cli("train", tmp_path / "c.yaml", "--no-plot", "-q").code == 0
    config = load_yaml(run_dirs(tmp_path / "runs")[0] / "config.yaml")
    assert (config["training"]["shuffle"], config["data"]["standardize"], config["data"]["stratify"]) == (
        False, True, False)
    result = cli("train", tmp_path / "c.yaml", "--set", "training.shuffle=1", "--no-plot", "-q")
    assert (result.code, result.err) == (2, "error: --set training.shuffle: input should be true or false "
                                            "(or yes/no, on/off), got 1\n")
    result = cli("train", tmp_path / "c.yaml", "--set", "data.stratify=y", "--no-plot", "-q")
    assert (result.code, result.err) == (2, "error: --set data.stratify: must be true or false (or yes/no, on/off), "
                                            "got 'y'\n")
    assert len(run_dirs(tmp_path / "runs")) == 1


# libyaml's parser, tried first on plain text (gradlab runs reads one config.yaml per run), must
# read every such text as PyYAML's own parser does, and leave every other text to it
_YAML_PIECES = ["a", "b", "1", "017", "1e3", "-2.5", ".inf", "null", "~", "yes", "true", "1_0", "'it''s'", '"q"',
                " ", "  ", "\n", "\n  ", "\n- ", "- ", "-", ":", ": ", ",", "[", "]", "{", "}", "#", "# c", "/", "(", "+",
                # outside the fast loader's alphabet: where the two parsers differ
                "\t", "!", "!!str ", "&x ", "*x", "|", ">", "?", "<<: ", "\\", "%YAML 1.1\n", "---", "..."]


def _read_with(text, fast):
    import gradlab.config as config

    saved = config._fast_loader
    config._fast_loader = saved if fast else (lambda: None)
    try:
        return "read", repr(config._parse_yaml(text))
    except config._YamlProblem as problem:
        return "refused", problem.problem, problem.at
    finally:
        config._fast_loader = saved


@given(st.lists(st.sampled_from(_YAML_PIECES), min_size=1, max_size=16).map("".join))
@settings(max_examples=400, deadline=None)
def test_the_fast_yaml_parser_reads_what_the_python_one_reads(text):
    assert _read_with(text, fast=True) == _read_with(text, fast=False)


def test_a_run_record_is_read_by_the_fast_parser_and_deep_or_tabbed_text_is_not(tmp_path):
    import yaml

    from gradlab.config import _fast_enough, dump_yaml
    from gradlab.experiment import ExperimentConfig

    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML built without libyaml")
    record = dump_yaml(validate(ExperimentConfig, load_yaml(CONFIGS / "cat_dog.yaml")).model_dump(mode="json"))
    assert _fast_enough(record)
    assert not _fast_enough("a: [" + "[" * 1000 + "]" * 1000 + "]\n")  # 1001 levels could be
    assert not _fast_enough("a:\t1\n") and not _fast_enough("a: !!str 1\n")


def test_yaml_nested_beyond_the_c_stack_is_refused_not_a_crash():
    # libyaml's composer recurses in C: 100000 levels ended the process (SIGSEGV) before Python's limit
    import subprocess
    import sys

    code = ("from gradlab.config import read_yaml_text\n"
            "try:\n    read_yaml_text('[' * 100000 + ']' * 100000, 'x')\n"
            "except Exception as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "x: nested too deeply (no config needs more than a few levels)\n")


def test_yaml_nested_hundreds_of_levels_is_refused_as_before_the_fast_parser(cli, tmp_path):
    # libyaml read 600 levels that the Python loader refuses; the value then broke copy.deepcopy:
    # "internal error: RecursionError", exit 1. What the fast parser reads deeper than 64 levels is
    # read again by the Python loader
    deep = "[" * 600 + "]" * 600
    config = tmp_path / "c.yaml"
    config.write_text(f"name: t\ndata: {{name: cat_dog}}\nmodel: {{hidden: []}}\nloss: bce\noptimizer: {{name: sgd, lr: {deep}}}\n")
    result = cli("train", config, "--out", tmp_path / "runs")
    assert (result.code, result.err) == (2, f"error: {config}: invalid YAML: nested too deeply (no config needs more "
                                            f"than a few levels)\n")
    assert not (tmp_path / "runs").exists()
    result = cli("descend", "--set", f"x0={deep}", "--no-plot", "--out", tmp_path / "runs")
    assert result.code == 2 and "nested too deeply" in result.err
    from gradlab.config import _nesting_at_most

    assert _nesting_at_most([[1]], 2) and not _nesting_at_most([[[1]]], 2) and _nesting_at_most({"a": 1}, 1)
