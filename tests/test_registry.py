import pytest

from gradlab.errors import InputError
from gradlab.registry import Registry

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
