import pytest

from gradlab.errors import InputError
from gradlab.registry import Registry, parse_scalar

things = Registry("thing")


@things.register("leaky", "leaky_alias")
class Leaky:
    def __init__(self, alpha: float = 0.01):
        if alpha < 0:
            raise InputError(f"alpha must be >= 0, got {alpha}")
        self.alpha = alpha


def test_spec_forms_agree():
    assert things.create("leaky").alpha == 0.01
    assert things.create("leaky:alpha=0.1").alpha == 0.1
    assert things.create({"name": "leaky_alias", "alpha": 0.2}).alpha == 0.2
    assert things.parse("leaky_alias:alpha=1e-3") == ("leaky", {"alpha": 0.001})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("leeky", "did you mean 'leaky'"),
        ("leaky:alpah=0.1", "did you mean 'alpha'"),
        ("leaky:alpha", "key=value"),
        ("leaky:alpha=-1", "alpha must be >= 0, got -1"),
        ({"alpha": 1}, "needs a 'name'"),
    ],
)
def test_bad_specs_name_the_problem(spec, message):
    with pytest.raises(InputError, match=message):
        things.create(spec, field="model.activation")


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), ("017", 17), ("-1.5", -1.5), ("1e-3", 0.001), ("inf", float("inf")), ("true", True), ("none", None),
    # int() and float() read these as 10, 0.1 and 12: the README's rule for numbers does not
    ("1_0", "1_0"), ("0.1_0", "0.1_0"), ("１２", "１２"), ("0x1A", "0x1A"), ("relu", "relu"),
])
def test_spec_parameters_are_numbers_by_the_readme_rule(text, value):
    read = parse_scalar(text)
    assert read == value and type(read) is type(value)


def test_a_spec_parameter_outside_the_rule_is_refused_as_typed(cli, tmp_path):
    from tests.conftest import CONFIGS

    result = cli("train", CONFIGS / "xor.yaml", "--set", "model.activation=leaky_relu:alpha=0.1_0", "--no-plot", "-q")
    assert (result.code, result.err) == (2, "error: --set model.activation: alpha must be a number, got '0.1_0'\n")
    (tmp_path / "c.yaml").write_text("data: xor:n_samples=4_0\ntraining: {epochs: 1}\n")
    result = cli("train", tmp_path / "c.yaml", "--no-plot", "-q")
    assert (result.code, result.err) == (2, "error: data.n_samples must be an integer >= 2, got '4_0'\n")
    assert not (tmp_path / "runs").exists()
