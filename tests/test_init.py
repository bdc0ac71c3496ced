"""Initialisers: shapes, statistics, seeds, .npz round trips, explicit weights and their errors."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import yaml

from gradlab.engine.init import initializers, to_named
from gradlab.errors import InputError

RANDOM = ["zeros", "normal", "uniform", "xavier", "he"]


def test_registry_names_and_alias():
    assert initializers.names() == ["zeros", "normal", "uniform", "xavier", "he", "from", "explicit"]
    assert initializers.canonical("glorot") == "xavier"
    assert type(initializers.create("glorot")) is type(initializers.create("xavier"))


@pytest.mark.parametrize("name", RANDOM)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, "float32"])
def test_shapes_dtypes_and_zero_biases(name, dtype):
    layers = initializers.create(name).init([3, 5, 4, 2], np.random.default_rng(0), dtype)
    assert [(W.shape, b.shape) for W, b in layers] == [((3, 5), (5,)), ((5, 4), (4,)), ((4, 2), (2,))]
    for W, b in layers:
        assert W.dtype == np.dtype(dtype) and b.dtype == np.dtype(dtype)
        assert W.flags.c_contiguous and W.flags.owndata
        np.testing.assert_array_equal(b, 0.0)
    if name != "zeros":
        assert all(np.unique(W).size == W.size for W, _ in layers)  # symmetry broken


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_weights_and_float32_is_float64_rounded(name):
    init = initializers.create(name)
    a = init.init([4, 8, 1], np.random.default_rng(42))
    b = init.init([4, 8, 1], np.random.default_rng(42))
    c = init.init([4, 8, 1], 42)  # an int seed works too
    single = init.init([4, 8, 1], np.random.default_rng(42), np.float32)
    for (Wa, _), (Wb, _), (Wc, _), (Ws, _) in zip(a, b, c, single):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(Wa, Wc)
        np.testing.assert_array_equal(Ws, Wa.astype(np.float32))
    if name != "zeros":
        other = init.init([4, 8, 1], np.random.default_rng(43))
        assert not np.array_equal(a[0][0], other[0][0])


def test_xavier_limit_and_variance():
    fan_in, fan_out = 400, 600
    ((W, _),) = initializers.create("xavier").init([fan_in, fan_out], np.random.default_rng(1))
    limit = math.sqrt(6 / (fan_in + fan_out))  # sqrt(6/1000) = 0.0774597
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.999 * limit  # 240,000 draws come close to the edge
    assert W.var() == pytest.approx(limit**2 / 3, rel=0.01)  # = 2 / (fan_in + fan_out)
    assert abs(W.mean()) < 1e-3


def test_he_standard_deviation():
    ((W, _), _) = initializers.create("he").init([500, 400, 1], np.random.default_rng(2))
    # std = sqrt(2/500) = 0.063246; with 200,000 draws the sample std is within ~0.2%
    assert W.std() == pytest.approx(math.sqrt(2 / 500), rel=0.01)
    assert abs(W.mean()) < 1e-3


def test_uniform_refuses_an_interval_wider_than_a_float_holds():
    # rng.uniform(-1e308, 1e308) raised OverflowError: 'internal error' in train
    with pytest.raises(InputError, match=r"high must be within 1\.8e\+308 of low \(the widest interval a float holds\), "
                                         r"got low=-1e\+308, high=1e\+308$"):
        initializers.create("uniform:low=-1e308,high=1e308")
    assert initializers.create("uniform:low=-1e307,high=1e307").init([2, 1], np.random.default_rng(0))[0][0].shape == (2, 1)
    with pytest.raises(InputError, match=r"limit must be at most 8\.99e\+307 \(half the largest float\), got 1e\+308$"):
        initializers.create("uniform:limit=1e308")
    assert np.abs(initializers.create("uniform:limit=8e307").init([2, 1], np.random.default_rng(0))[0][0]).max() <= 8e307


def test_normal_and_uniform_parameters():
    ((W, _),) = initializers.create("normal:std=0.5").init([300, 300], np.random.default_rng(3))
    assert W.std() == pytest.approx(0.5, rel=0.01)
    ((W, _),) = initializers.create("normal").init([300, 300], np.random.default_rng(3))
    assert W.std() == pytest.approx(0.01, rel=0.01)  # the documented default
    ((W, _),) = initializers.create("uniform:low=1,high=3").init([300, 300], np.random.default_rng(4))
    assert 1 <= W.min() and W.max() < 3 and W.mean() == pytest.approx(2.0, abs=0.01)
    ((W, _),) = initializers.create("uniform:limit=0.2").init([300, 300], np.random.default_rng(4))
    assert -0.2 <= W.min() and W.max() < 0.2 and np.abs(W).max() > 0.199
    ((W, _),) = initializers.create("uniform").init([300, 300], np.random.default_rng(4))
    assert np.abs(W).max() == pytest.approx(0.05, rel=1e-3)


def test_zeros_is_all_zero():
    for W, b in initializers.create("zeros").init([2, 3, 1]):
        assert not W.any() and not b.any()


# -- from an .npz file -------------------------------------------------------------------------


def save_model(path, sizes, seed=0):
    layers = initializers.create("he").init(sizes, np.random.default_rng(seed))
    np.savez(path, **to_named(layers), mean=np.zeros(sizes[0]))  # extra keys are ignored
    return layers


def test_npz_round_trip(tmp_path):
    saved = save_model(tmp_path / "model.npz", [2, 4, 1])
    loaded = initializers.create({"name": "from", "path": str(tmp_path / "model.npz")}).init([2, 4, 1])
    for (W, b), (W2, b2) in zip(saved, loaded):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)
    single = initializers.create(f"from:path={tmp_path / 'model.npz'}").init([2, 4, 1], dtype=np.float32)
    assert single[0][0].dtype == np.float32
    np.testing.assert_array_equal(single[1][0], saved[1][0].astype(np.float32))


def test_relative_paths_start_from_base_dir(tmp_path):
    (tmp_path / "configs").mkdir()
    save_model(tmp_path / "configs" / "w.npz", [2, 1])
    init = initializers.create({"name": "from", "path": "w.npz"}).relative_to(tmp_path / "configs")
    assert init.resolved_path == tmp_path / "configs" / "w.npz"
    assert init.init([2, 1])[0][0].shape == (2, 1)
    # without base_dir, relative to the working directory (the test runs in tmp_path)
    assert initializers.create("from:path=configs/w.npz").init([2, 1])[0][0].shape == (2, 1)
    # where relative paths start is the config loader's business: no parameter for it in a config
    assert initializers.parameters("from") == {"path": inspect.Parameter.empty}
    with pytest.raises(InputError, match="base_dir"):
        initializers.create({"name": "from", "path": "w.npz", "base_dir": "/etc"})


@pytest.mark.parametrize(
    ("saved", "needed", "message"),
    [
        ([2, 3, 1], [2, 4, 1], "model.init: W1 has shape (2, 3), the network needs (2, 4) for layer sizes 2-4-1"),
        ([2, 4, 3, 1], [2, 4, 4, 1], "model.init: W2 has shape (4, 3), the network needs (4, 4)"),
        ([2, 4, 1], [2, 4, 4, 1], "model.init: 'model.npz' has no W3, b3 (it has W1, b1, W2, b2)"),
        ([2, 4, 4, 1], [2, 4], "'model.npz' has W2, b2, W3, b3 beyond the network's layers"),
    ],
)
def test_npz_that_does_not_fit_names_key_and_shapes(saved, needed, message):
    save_model("model.npz", saved)
    with pytest.raises(InputError) as error:
        initializers.create("from:path=model.npz").init(needed)
    assert message in str(error.value)


def test_npz_problems_name_the_file_and_key(tmp_path):
    with pytest.raises(InputError, match=r"model.init: cannot read 'nope.npz': no such file"):
        initializers.create("from:path=nope.npz").init([2, 1])
    (tmp_path / "folder.npz").mkdir()  # was "no such file"
    with pytest.raises(InputError, match=r"model.init: cannot read 'folder.npz': it is a directory, not an .npz file"):
        initializers.create("from:path=folder.npz").init([2, 1])
    np.save("plain.npy", np.ones(3))
    (tmp_path / "text.npz").write_text("not a zip")
    for name in ("plain.npy", "text.npz"):
        with pytest.raises(InputError, match=rf"'{name}' is not an .npz file"):
            initializers.create({"name": "from", "path": name}).init([2, 1])
    np.savez("b_only.npz", W1=np.ones((2, 1)))
    with pytest.raises(InputError, match=r"has no b1 \(it has W1\)"):
        initializers.create("from:path=b_only.npz").init([2, 1])
    np.savez("wrong_b.npz", W1=np.ones((2, 1)), b1=np.ones((1, 1)))
    with pytest.raises(InputError, match=r"b1 has shape \(1, 1\), the network needs \(1,\)"):
        initializers.create("from:path=wrong_b.npz").init([2, 1])
    np.savez("nan.npz", W1=np.array([[np.nan], [1.0]]), b1=np.zeros(1))
    with pytest.raises(InputError, match="W1 contains nan or inf"):
        initializers.create("from:path=nan.npz").init([2, 1])
    np.savez("text_values.npz", W1=np.array([["a"], ["b"]]), b1=np.zeros(1))
    with pytest.raises(InputError, match="W1 must hold numbers"):
        initializers.create("from:path=text_values.npz").init([2, 1])
    np.savez("transposed.npz", W1=np.ones((1, 2)), b1=np.zeros(1))
    with pytest.raises(InputError, match="looks transposed"):
        initializers.create("from:path=transposed.npz").init([2, 1])


# -- explicit weights --------------------------------------------------------------------------

EXPLICIT_YAML = """
init:
  name: explicit
  layers:
    - W: [[0.15, 0.25],
          [0.20, 0.30]]
      b: [0.35, 0.35]
    - W: [[0.40],
          [0.45]]
      b: [0.60]
"""


def test_explicit_weights_in_the_documented_yaml_format():
    spec = yaml.safe_load(EXPLICIT_YAML)["init"]
    (W1, b1), (W2, b2) = initializers.create(spec).init([2, 2, 1])
    np.testing.assert_array_equal(W1, [[0.15, 0.25], [0.20, 0.30]])  # row i = from input i
    np.testing.assert_array_equal(b1, [0.35, 0.35])
    np.testing.assert_array_equal(W2, [[0.40], [0.45]])
    np.testing.assert_array_equal(b2, [0.60])
    # a forward pass with them: x = [0.05, 0.10] -> z1 = x @ W1 + b1 = [0.3775, 0.3925]
    np.testing.assert_allclose(np.array([0.05, 0.10]) @ W1 + b1, [0.3775, 0.3925])


def test_explicit_single_neuron_and_dtype():
    spec = {"name": "explicit", "layers": [{"W": [[0.5], [-0.3]], "b": [0.1]}]}
    ((W, b),) = initializers.create(spec).init([2, 1], dtype=np.float32)
    assert W.dtype == np.float32 and W.shape == (2, 1) and b.shape == (1,)


@pytest.mark.parametrize(
    ("layers", "sizes", "message"),
    [
        ([{"W": [[1.0, 2.0]], "b": [0.0]}], [2, 1], "layers[0].W has shape (1, 2), the network needs (2, 1)"),
        ([{"W": [[1.0], [2.0]], "b": [0.0, 0.0]}], [2, 1], "layers[0].b has shape (2,), the network needs (1,)"),
        (
            [{"W": [[1.0], [2.0]], "b": [0.0]}],
            [2, 3, 1],
            "layers gives 1 layer(s), the network with layer sizes 2-3-1 has 2",
        ),
    ],
)
def test_explicit_weights_that_do_not_fit(layers, sizes, message):
    init = initializers.create({"name": "explicit", "layers": layers}, field="model.init")
    with pytest.raises(InputError) as error:
        init.init(sizes)
    assert str(error.value).startswith("model.init: ")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([{"W": [[1.0], [2.0]]}], "layers[0] needs key 'b'"),
        ([{"w": [[1.0]], "b": [0.0]}], "layers[0] has unknown key 'w' (did you mean 'W'?)"),
        ([{"W": [[1.0, 2.0], [3.0]], "b": [0.0]}], "layers[0].W must be a (nested) list of numbers with rows of equal"),
        ([{"W": [["x"]], "b": [0.0]}], "layers[0].W must hold numbers only"),
        ([{"W": [[1.0]], "b": [".nan"]}], "layers[0].b must hold numbers only"),
        ([{"W": [[float("inf")]], "b": [0.0]}], "layers[0].W contains nan or inf"),
        ([[1.0, 2.0]], "layers[0] must be a mapping with keys W and b"),
        ([], "layers must be a non-empty list"),
        ({"W": [[1.0]], "b": [0.0]}, "layers must be a non-empty list"),
    ],
)
def test_malformed_explicit_weights_are_refused_up_front(layers, message):
    with pytest.raises(InputError) as error:
        initializers.create({"name": "explicit", "layers": layers}, field="model.init")
    assert str(error.value).startswith("model.init: ")
    assert message in str(error.value)


# -- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("normal:std=0", "std must be > 0, got 0"),
        ("normal:std=-1", "std must be > 0, got -1"),
        ("uniform:limit=-0.1", "limit must be > 0, got -0.1"),
        ("uniform:low=1,high=1", "low must be < high, got low=1, high=1"),
        ("uniform:low=1", "low and high go together"),
        ("uniform:limit=1,low=0,high=1", "either limit or low and high, not both"),
        ("from", "from needs parameter(s) path"),
        ("xavier:gain=2", "xavier has no parameter 'gain'"),
        ("hee", "did you mean 'he'"),
    ],
)
def test_bad_initializer_parameters(spec, message):
    with pytest.raises(InputError) as error:
        initializers.create(spec, field="model.init")
    assert message in str(error.value)


@pytest.mark.parametrize("sizes", [[3], [], [2, 0, 1], [2, 1.5], [2, "x"], "21"])
def test_bad_layer_sizes(sizes):
    with pytest.raises(InputError, match="layer_sizes must be a list"):
        initializers.create("he").init(sizes, 0)


def test_bad_dtype():
    with pytest.raises(InputError, match="dtype must be float32 or float64, got 'int64'"):
        initializers.create("he").init([2, 1], 0, "int64")
