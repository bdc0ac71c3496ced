"""`gradlab list`: everything in the registries, with formulas, table-driven by gradlab.catalog."""

import importlib.util

import pytest

from gradlab import catalog
from gradlab.cli import common
from gradlab.engine.activations import activations
from gradlab.engine.losses import losses
from gradlab.registry import Registry
from tests.conftest import run_dirs


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    """A console wide enough that no formula wraps inside its cell, whatever $COLUMNS is."""
    monkeypatch.setattr(common.out, "width", 300)


def test_list_shows_every_activation_and_loss_with_its_formula(cli, tmp_path):
    result = cli("list")
    assert result.code == 0, result.err
    assert "activations (13)" in result.out and "losses (9)" in result.out
    for registry in (activations, losses):
        for name, cls in registry.items():
            line = next(line for line in result.out.splitlines() if line.startswith(f"│ {name} "))
            assert cls.formula in line, name  # brackets such as "[y log p ...]" survive rich markup
    assert run_dirs(tmp_path / "runs") == []  # listing computes nothing


def test_one_kind_with_aliases_parameters_and_second_formula(cli):
    result = cli("list", "activation")  # the singular works too
    assert result.code == 0, result.err
    assert "losses" not in result.out
    assert "derivative" in result.out and "sigma'(z) = sigma(z) (1 - sigma(z))" in result.out
    sigmoid = next(line for line in result.out.splitlines() if line.startswith("│ sigmoid "))
    assert "logistic" in sigmoid
    gelu = next(line for line in result.out.splitlines() if line.startswith("│ gelu "))
    assert "approximate='none'" in gelu
    losses_out = cli("list", "losses").out
    assert "gradient" in losses_out and "delta=1.0" in losses_out
    # aliases whole: 'binary_cross_e' / 'ntropy' read as two names that do not exist
    assert "│ binary_cross_entropy " in losses_out and "│ categorical_cross_entropy " in losses_out
    assert "│ conjugate_gradient " in cli("list", "optimizers").out


def test_unknown_kind_lists_the_kinds(cli):
    result = cli("list", "optimisers")
    assert result.code == 2
    assert result.err.startswith("error: list: unknown value 'optimisers' (did you mean 'optimizers'?)")


def test_a_kind_not_in_this_build_is_skipped_or_refused(cli, monkeypatch):
    monkeypatch.setitem(catalog.KINDS, "widgets", ("gradlab.no_such_module:widgets",))
    assert "widgets" not in catalog.available()
    assert "widgets" not in cli("list").out
    result = cli("list", "widgets")
    assert result.code == 2
    assert "no widgets yet (gradlab.no_such_module not found)" in result.err


def test_every_existing_module_in_the_table_has_its_registry():
    # guards the table after a merge: a module that exists but names its registry otherwise
    for kind, sources in catalog.KINDS.items():
        modules = [s.partition(":")[0] for s in sources]
        if any(importlib.util.find_spec(m) is not None for m in modules):
            assert catalog.load(kind) is not None, f"{kind}: none of {sources} holds a registry"


def test_formula_falls_back_to_the_first_docstring_line():
    things = Registry("thing")

    @things.register("documented", "doc")
    class Documented:
        """A thing with a docstring.

        More text.
        """

        def __init__(self, size: int, scale: float = 2.0):
            pass

    @things.register("bare")
    class Bare(Documented):  # no docstring of its own: must not show its base's
        pass

    documented, bare = catalog.describe(things)
    assert documented.formula == "A thing with a docstring."
    assert documented.aliases == ("doc",)
    assert documented.parameters == {"size": catalog.REQUIRED, "scale": 2.0}
    assert bare.formula == ""


def test_formulas_are_plain_text_without_docstring_markup(cli):
    # schedules have formulas of their own; a docstring line loses ``literal`` and :math:`...` markup
    result = cli("list", "schedules")
    assert "│ step         │         │ gamma=0.5, step_size=10 │ lr(e) = lr0 * gamma**floor(e / step_size) │" in result.out
    for kind in ("schedules", "initializers", "datasets"):
        assert "``" not in cli("list", kind).out
    things = Registry("thing")

    @things.register("marked")
    class Marked:
        """Weights ``W ~ N(0, s^2)`` with :math:`s = 1/\\sqrt{n}`."""

    assert catalog.describe(things)[0].formula == "Weights W ~ N(0, s^2) with s = 1/\\sqrt{n}."


def test_dataset_descriptions_read_as_sentences_not_parameter_names(cli):
    # the docstrings began "``classes`` interleaved spiral arms", listed as "classes interleaved spiral arms"
    from gradlab.datasets import datasets

    for name, entry in ((e.name, e) for e in catalog.describe(datasets)):
        first = entry.formula.split()[0]
        assert first not in entry.parameters and first[0].isupper(), (name, entry.formula)
    text = cli("list", "datasets").out
    assert "Interleaved spiral arms, one per class: the classic softmax exercise." in text
    assert "Gaussian clusters, one per class, with centres evenly spaced on a circle." in text


def test_xavier_and_he_show_the_distributions_they_draw_from(cli):
    # their rows gave a reference and no formula: "Glorot & Bengio (2010) uniform initialisation, ..."
    import math

    import numpy as np

    from gradlab.engine.init import He, Xavier

    text = cli("list", "initializers").out
    assert "W_ij ~ U(-L, L), L = sqrt(6 / (fan_in + fan_out))" in text
    assert "W_ij ~ N(0, 2 / fan_in)" in text
    # and they are what the code draws: 400 x 600 weights, L = sqrt(6 / 1000), sigma = sqrt(2 / 400)
    rng = np.random.default_rng(0)
    uniform = Xavier()._weights(400, 600, rng)
    assert np.abs(uniform).max() <= math.sqrt(6 / 1000) and abs(uniform.var() - 2 / 1000) < 2e-5
    assert abs(He()._weights(400, 600, rng).std() - math.sqrt(2 / 400)) < 1e-3
