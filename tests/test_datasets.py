"""gradlab.datasets: generators, loaders, split, standardisation, targets and error messages."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradlab.datasets import Dataset, datasets, load, permute_rows, split_indices, to_targets
from gradlab.errors import InputError
from tests.conftest import subprocess_env

GENERATORS = ["cat_dog", "xor", "moons", "circles", "spiral", "blobs", "linear", "sine"]
CLASSIFIERS = {"cat_dog": 2, "xor": 2, "moons": 2, "circles": 2, "spiral": 3, "blobs": 3}


def whole(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Train and test stacked again, rows sorted, to compare two splits of the same draw."""
    X = np.vstack([ds.X_train, ds.X_test])
    y = np.concatenate([ds.y_train, ds.y_test])
    order = np.lexsort(X.T[::-1])
    return X[order], y[order]


# ---- generators -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATORS)
def test_generator_shapes_and_dtypes(name):
    ds = load({"name": name, "n_samples": 40}, seed=3)
    assert ds.name == name and ds.n_train + ds.n_test == 40 and ds.n_test == 10
    for X in (ds.X_train, ds.X_test):
        assert X.dtype == np.float64 and X.flags.c_contiguous and X.shape[1] == ds.n_features
        assert np.isfinite(X).all()
    assert len(ds.feature_names) == ds.n_features
    if name in CLASSIFIERS:
        k = CLASSIFIERS[name]
        assert ds.task == ("binary" if k == 2 else "multiclass") and ds.n_classes == k
        assert ds.n_outputs == (1 if k == 2 else k) and len(ds.class_names) == k
        for y in (ds.y_train, ds.y_test):
            assert y.dtype == np.int64 and y.ndim == 1 and y.min() >= 0 and y.max() < k
        assert ds.target_names == []
    else:
        assert ds.task == "regression" and ds.n_classes == 0 and ds.class_names == []
        for y in (ds.y_train, ds.y_test):
            assert y.dtype == np.float64 and y.shape[1] == 1 and y.flags.c_contiguous
        assert ds.n_outputs == 1 and ds.target_names == ["y"]
    assert ds.y_train.shape[0] == ds.n_train and ds.y_test.shape[0] == ds.n_test


@pytest.mark.parametrize("name", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(name):
    a, b, c = (load({"name": name}, seed=s) for s in (7, 7, 8))
    for field in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.X_train, c.X_train)


def test_data_seed_overrides_the_experiment_seed_and_spec_round_trips():
    a = load({"name": "moons", "seed": 5, "standardize": True}, seed=1)
    b = load({"name": "moons", "seed": 5, "standardize": True}, seed=2)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert a.spec["seed"] == 5 and a.spec["test_fraction"] == 0.25 and a.spec["noise"] == 0.1
    again = load(load({"name": "spiral", "noise": 0.1}, seed=4).spec, seed=999)
    np.testing.assert_array_equal(again.X_test, load({"name": "spiral", "noise": 0.1}, seed=4).X_test)
    json.dumps(a.spec)  # the resolved spec goes into a run's config, so it must serialise


def test_test_fraction_does_not_change_the_drawn_points():
    X1, y1 = whole(load({"name": "blobs"}, seed=0))
    X2, y2 = whole(load({"name": "blobs", "test_fraction": 0.5}, seed=0))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_classes_are_balanced(name):
    ds = load({"name": name, "n_samples": 301, "test_fraction": 0}, seed=0)
    counts = np.bincount(ds.y_train, minlength=ds.n_classes)
    assert counts.max() - counts.min() <= (1 if name != "xor" else 2)  # xor: 4 corners, 2 classes


def test_noise_free_generators_follow_their_formulas():
    moons = load({"name": "moons", "noise": 0, "test_fraction": 0}, seed=0)
    X, y = moons.X_train, moons.y_train
    upper = X[y == 0]
    lower = X[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)  # (cos t, sin t)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)  # (1 - cos t, 1/2 - sin t)
    assert (upper[:, 1] >= 0).all() and (lower[:, 1] <= 0.5).all()

    circles = load({"name": "circles", "noise": 0, "factor": 0.3, "test_fraction": 0}, seed=0)
    radius = np.hypot(*circles.X_train.T)
    np.testing.assert_allclose(radius, np.where(circles.y_train == 1, 0.3, 1.0))

    xor = load({"name": "xor", "noise": 0, "test_fraction": 0}, seed=0)
    assert set(map(tuple, xor.X_train)) == {(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)}
    np.testing.assert_array_equal(xor.y_train, xor.X_train[:, 0] * xor.X_train[:, 1] < 0)

    spiral = load({"name": "spiral", "noise": 0, "classes": 4, "test_fraction": 0}, seed=0)
    r = np.hypot(*spiral.X_train.T)
    theta = np.arctan2(spiral.X_train[:, 1], spiral.X_train[:, 0])
    expected = 2 * np.pi * spiral.y_train / 4 + 2 * np.pi * 0.75 * r
    np.testing.assert_allclose(np.cos(theta - expected), 1.0, atol=1e-9)

    linear = load({"name": "linear", "noise": 0, "weights": [2.0, -1.0], "bias": 0.5}, seed=0)
    np.testing.assert_allclose(linear.y_train[:, 0], linear.X_train @ [2.0, -1.0] + 0.5)
    assert linear.n_features == 2 and linear.info == {"weights": [2.0, -1.0], "bias": 0.5}

    sine = load({"name": "sine", "noise": 0, "low": 0, "high": 1}, seed=0)
    np.testing.assert_allclose(sine.y_train, np.sin(sine.X_train))
    assert 0 <= sine.X_train.min() and sine.X_train.max() < 1


def test_blobs_centres_sit_on_a_circle_and_extra_features_are_noise():
    spec = {"name": "blobs", "n_samples": 3000, "classes": 4, "n_features": 5, "radius": 6, "test_fraction": 0}
    ds = load(spec, seed=0)
    centres = np.array([ds.X_train[ds.y_train == j].mean(axis=0) for j in range(4)])
    angle = np.pi / 2 * np.arange(4)
    expected = np.zeros((4, 5))
    expected[:, 0], expected[:, 1] = 6 * np.cos(angle), 6 * np.sin(angle)
    np.testing.assert_allclose(centres, expected, atol=0.15)  # 750 samples/class: s.e. ~ 0.04


def test_linear_draws_its_weights_from_the_seed():
    a = load({"name": "linear", "n_features": 3}, seed=0)
    b = load({"name": "linear", "n_features": 3}, seed=0)
    assert len(a.info["weights"]) == 3 and a.info == b.info
    assert all(-2 <= w <= 2 for w in a.info["weights"])


def _logistic_accuracy(ds: Dataset, steps: int = 300, lr: float = 1.0) -> tuple[float, float]:
    """A single sigmoid neuron trained by full-batch gradient descent on the cross-entropy."""
    w, b = np.zeros(ds.n_features), 0.0
    X, t = ds.X_train, ds.y_train
    for _ in range(steps):
        p = 0.5 * (1 + np.tanh(0.5 * (X @ w + b)))  # sigmoid without overflow
        w -= lr * X.T @ (p - t) / len(t)
        b -= lr * np.mean(p - t)
    def accuracy(X, y):
        return float(np.mean((X @ w + b > 0) == y))
    return accuracy(ds.X_train, ds.y_train), accuracy(ds.X_test, ds.y_test)


@pytest.mark.parametrize("seed", range(5))
def test_cat_dog_a_single_sigmoid_neuron_reaches_95_percent(seed):
    ds = load({"name": "cat_dog", "standardize": True}, seed=seed)
    assert ds.feature_names == ["weight_kg", "snout_length_cm"] and ds.class_names == ["cat", "dog"]
    _, test_accuracy = _logistic_accuracy(ds)
    assert test_accuracy >= 0.95


def test_cat_dog_is_nearly_but_not_perfectly_separable():
    # on a large draw the best straight boundary errs on about 1% of the animals
    ds = load({"name": "cat_dog", "n_samples": 20000, "standardize": True}, seed=0)
    train_accuracy, test_accuracy = _logistic_accuracy(ds, steps=400)
    assert 0.975 < train_accuracy < 0.998 and 0.975 < test_accuracy < 0.998
    raw = load({"name": "cat_dog", "n_samples": 20000, "test_fraction": 0}, seed=0)
    cats, dogs = raw.X_train[raw.y_train == 0], raw.X_train[raw.y_train == 1]
    np.testing.assert_allclose(cats.mean(axis=0), [4.5, 3.0], atol=0.05)
    np.testing.assert_allclose(dogs.mean(axis=0), [11.0, 6.5], atol=0.1)
    assert raw.X_train.min() >= 0.1  # no animal of negative size


# ---- targets ------------------------------------------------------------------------------------


def test_targets_per_task():
    binary = load({"name": "moons", "n_samples": 20}, seed=0)
    T = binary.targets(binary.y_train)
    assert T.shape == (binary.n_train, 1) and T.dtype == np.float64
    np.testing.assert_array_equal(T[:, 0], binary.y_train)
    T2 = binary.targets(binary.y_train, one_hot=True)
    assert T2.shape == (binary.n_train, 2)
    np.testing.assert_array_equal(T2.argmax(axis=1), binary.y_train)

    multi = load({"name": "spiral", "n_samples": 30, "classes": 5}, seed=0)
    T = multi.targets(multi.y_test, dtype=np.float32)
    assert T.shape == (multi.n_test, 5) and T.dtype == np.float32
    np.testing.assert_array_equal(T.sum(axis=1), 1)
    np.testing.assert_array_equal(T.argmax(axis=1), multi.y_test)

    reg = load({"name": "sine"}, seed=0)
    assert reg.targets(reg.y_train) is reg.y_train  # no copy

    with pytest.raises(InputError, match=r"class indices in \[0, 2\)"):
        to_targets(np.array([0, 2]), "binary", 2)


# ---- split and standardisation -------------------------------------------------------------------


def test_standardisation_is_fitted_on_the_training_part_only():
    raw = load({"name": "cat_dog"}, seed=11)
    ds = load({"name": "cat_dog", "standardize": True}, seed=11)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-12)
    np.testing.assert_allclose(ds.mean, raw.X_train.mean(axis=0))
    np.testing.assert_allclose(ds.std, raw.X_train.std(axis=0))
    # the test part uses the training statistics, so its own mean is not exactly 0
    np.testing.assert_allclose(ds.X_test, (raw.X_test - ds.mean) / ds.std)
    assert np.abs(ds.X_test.mean(axis=0)).max() > 1e-6
    np.testing.assert_allclose(ds.transform(raw.X_test), ds.X_test)
    np.testing.assert_allclose(ds.inverse_transform(ds.X_test), raw.X_test)
    assert raw.mean is None and raw.transform(raw.X_test) is raw.X_test
    with pytest.raises(InputError, match=r"shape \(n, 2\).*weight_kg"):
        ds.transform(np.zeros((3, 3)))


def test_constant_feature_is_centred_not_divided_by_zero():
    ds = load({"name": "inline", "X": [[1, 5], [2, 5], [3, 5], [4, 5]], "y": [0, 1, 0, 1],
               "test_fraction": 0, "standardize": True}, seed=0)
    np.testing.assert_array_equal(ds.X_train[:, 1], 0)
    assert ds.std[1] == 8  # the power of two at or above its size (5): what rounding is left is relative

def test_test_fraction_zero_gives_an_empty_test_set():
    ds = load({"name": "moons", "n_samples": 10, "test_fraction": 0}, seed=0)
    assert ds.n_test == 0 and ds.X_test.shape == (0, 2) and ds.y_test.shape == (0,)


def test_stratified_split_keeps_class_shares():
    ds = load({"name": "spiral", "n_samples": 90, "test_fraction": 0.2}, seed=0)
    np.testing.assert_array_equal(np.bincount(ds.y_test), [6, 6, 6])
    plain = load({"name": "inline", "X": list(range(12)), "y": [0] * 9 + [1] * 3,
                  "test_fraction": 0.25, "stratify": True}, seed=0)
    np.testing.assert_array_equal(np.bincount(plain.y_test, minlength=2), [2, 1])


@given(
    n=st.integers(2, 200),
    fraction=st.floats(0, 0.9),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    stratify=st.booleans(),
)
def test_split_is_a_partition(n, fraction, k, seed, stratify):
    labels = np.random.default_rng(seed).integers(0, k, n) if stratify else None
    train, test = split_indices(n, fraction, np.random.default_rng(seed), labels)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(n))
    expected = max(round(fraction * n), 1) if fraction > 0 else 0
    assert len(test) == expected
    if labels is not None and len(test):
        # each class's test count is within one of its exact share
        exact = np.bincount(labels, minlength=k) * len(test) / n
        assert np.all(np.abs(np.bincount(labels[test], minlength=k) - exact) < 1)
    again = split_indices(n, fraction, np.random.default_rng(seed), labels)
    np.testing.assert_array_equal(train, again[0])


@given(n=st.integers(1, 300), width=st.integers(1, 4), block=st.integers(1, 320), seed=st.integers(0, 2**32 - 1))
def test_permute_rows_equals_the_gather(n, width, block, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, width))
    order = rng.permutation(n)
    expected = X[order]
    assert permute_rows(X, order, block=block) is X
    np.testing.assert_array_equal(X, expected)


def test_a_files_rows_keep_their_order_in_both_sets():
    data = load({"name": "inline", "X": [[1, 0], [0, 1], [1, 1], [-1, 0.5], [2, 2], [3, 3]], "y": [0, 1, 1, 0, 1, 0],
                 "test_fraction": 0, "standardize": False}, seed=0)
    assert data.X_train.tolist() == [[1, 0], [0, 1], [1, 1], [-1, 0.5], [2, 2], [3, 3]]  # shuffle: false trains so
    split = load({"name": "inline", "X": [[k] for k in range(10)], "y": [k % 2 for k in range(10)],
                  "test_fraction": 0.3, "standardize": False}, seed=0)
    train, test = split.X_train.ravel().tolist(), split.X_test.ravel().tolist()
    assert train == sorted(train) and test == sorted(test) and sorted(train + test) == list(range(10))


def test_split_is_the_gather_of_the_split_indices(tmp_path):
    from gradlab.datasets.preparing import _DATA_STREAM

    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((1000, 5)), rng.integers(0, 3, 1000)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load({"name": "npz", "path": str(tmp_path / "d.npz"), "test_fraction": 0.3}, seed=7)
    split_stream = np.random.SeedSequence([7, _DATA_STREAM]).spawn(2)[1]
    train, test = split_indices(1000, 0.3, np.random.default_rng(split_stream), y)
    train, test = np.sort(train), np.sort(test)  # a file's rows keep their order
    np.testing.assert_array_equal(ds.X_train, X[train])
    np.testing.assert_array_equal(ds.X_test, X[test])
    np.testing.assert_array_equal(ds.y_train, y[train])
    np.testing.assert_array_equal(ds.y_test, y[test])


def test_split_does_not_hold_the_data_twice(tmp_path):
    """Loading and splitting 16 MB peaks at about the data itself plus the archive read, not 2x."""
    import tracemalloc

    X = np.random.default_rng(0).standard_normal((20_000, 100))
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    spec = {"name": "npz", "path": str(tmp_path / "d.npz"), "test_fraction": 0.2, "standardize": True}
    tracemalloc.start()
    try:
        ds = load(spec, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.n_train == 16_000
    assert peak < 1.25 * X.nbytes, f"peak {peak / X.nbytes:.2f}x the data"


def test_standardising_is_the_textbook_formula_to_the_last_bit_and_survives_huge_columns(tmp_path):
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.normal(7.0, 3.0, 50), rng.normal(-2e-3, 1e-4, 50), np.full(50, 4.0)])
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 7).astype(np.int64))
    ds = load({"name": "npz", "path": str(tmp_path / "d.npz"), "test_fraction": 0, "standardize": True}, seed=0)
    raw = load({"name": "npz", "path": str(tmp_path / "d.npz"), "test_fraction": 0}, seed=0).X_train
    mean = raw.mean(axis=0)
    std = np.sqrt(((raw - mean) ** 2).mean(axis=0))
    std[2] = 8.0  # the constant column (4s) is centred, then divided by its size's power of two, not by 0
    assert np.array_equal(ds.mean, mean) and np.array_equal(ds.std, std)
    assert np.array_equal(ds.X_train, (raw - mean) / std)
    # a column of +-1e300: its squares overflow float64, its std (7.07e299) does not
    X[:2, 0] = [1e300, -1e300]
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 7).astype(np.int64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load({"name": "npz", "path": str(tmp_path / "d.npz"), "test_fraction": 0, "standardize": True}, seed=0)
    assert ds.std[0] == pytest.approx(1e300 * np.sqrt(2 / 50)) and np.isfinite(ds.X_train).all()
    assert sorted(ds.X_train[:, 0])[-1] == pytest.approx(np.sqrt(25))


@pytest.mark.parametrize("column", [
    [1.0, 8.99e307, -2.0, 3.0],  # 8.99e307 >= 2**1023: the power of two above it, 2**1024, is inf
    [1.7e308, -1.7e308, 1e308, 1.79e308],  # near float64's largest, of both signs
    [1e-310, 2e-310, 3e-310, -1e-310],  # subnormals: 1 / 2**-1029 is inf
])
def test_standardising_columns_at_the_ends_of_float64_is_finite_and_silent(column):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = load({"name": "inline", "X": [[x] for x in column], "y": [0, 1, 0, 1], "test_fraction": 0,
                   "standardize": True}, seed=0)
    raw = np.array(column)
    if np.abs(raw).max() > 1:  # the textbook z-scores, computed on the column divided by 1e300 first
        scaled = raw / 1e300
        expected = (scaled - scaled.mean()) / scaled.std()
        np.testing.assert_allclose(ds.X_train[:, 0], expected, rtol=1e-12)
        assert ds.std[0] == pytest.approx(scaled.std() * 1e300, rel=1e-12)
    else:  # a column of subnormals is constant to 1e-12: centred, not divided
        assert ds.std[0] == 1.0 and ds.X_train[:, 0] == pytest.approx(raw - raw.mean(), abs=1e-320)
    assert np.isfinite(ds.X_train).all() and np.isfinite(ds.mean).all() and np.isfinite(ds.std).all()


# ---- loaders ---------------------------------------------------------------------------------------


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_text_labels_keeps_the_mapping(tmp_path):
    # a blank line in the middle is skipped
    text = "weight,ears,target\n4.1,6,cat\n12,9.5,dog\n3.9,5.5,cat\n\n20,11,dog\n15,10,dog\n"
    write(tmp_path / "pets.csv", text)
    ds = load({"name": "csv", "path": "pets.csv", "test_fraction": 0}, seed=0)
    assert ds.task == "binary" and ds.class_names == ["cat", "dog"]
    assert ds.feature_names == ["weight", "ears"]
    by_weight = np.argsort(ds.X_train[:, 0])
    np.testing.assert_array_equal(ds.X_train[by_weight, 0], [3.9, 4.1, 12, 15, 20])
    np.testing.assert_array_equal(ds.y_train[by_weight], [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(ds.encode_labels(["dog", "cat"]), [1, 0])
    with pytest.raises(InputError, match="'horse' is not one of"):
        ds.encode_labels(["horse"])
    assert ds.spec["path"] == str((tmp_path / "pets.csv").resolve())


def test_csv_class_names_order_features_and_numeric_labels(tmp_path):
    write(tmp_path / "d.csv", "a,b,label,c\n1,2,dog,3\n4,5,cat,6\n7,8,bird,9\n")
    ds = load({"name": "csv", "path": "d.csv", "target": "label", "features": ["c", "a"],
               "class_names": ["dog", "cat", "bird"], "test_fraction": 0}, seed=0)
    assert ds.task == "multiclass" and ds.class_names == ["dog", "cat", "bird"]
    assert ds.feature_names == ["c", "a"]
    order = np.argsort(ds.X_train[:, 1])
    np.testing.assert_array_equal(ds.X_train[order], [[3, 1], [6, 4], [9, 7]])
    np.testing.assert_array_equal(ds.y_train[order], [0, 1, 2])

    write(tmp_path / "n.csv", "x,target\n1,10\n2,2\n3,10\n")
    numeric = load({"name": "csv", "path": "n.csv", "test_fraction": 0}, seed=0)
    assert numeric.class_names == ["2", "10"]  # integers sort by value, not as text

    write(tmp_path / "r.csv", "x,target\n1,0.5\n2,1.5\n3,2.25\n")
    reg = load({"name": "csv", "path": "r.csv", "test_fraction": 0}, seed=0)
    assert reg.task == "regression" and reg.y_train.shape == (3, 1) and reg.target_names == ["target"]
    forced = load({"name": "csv", "path": "n.csv", "task": "regression", "test_fraction": 0}, seed=0)
    assert forced.task == "regression" and sorted(forced.y_train[:, 0]) == [2, 10, 10]


def test_csv_relative_paths_resolve_against_base_dir(tmp_path):
    (tmp_path / "configs").mkdir()
    write(tmp_path / "configs" / "d.csv", "x,target\n1,a\n2,b\n3,a\n4,b\n")
    ds = load({"name": "csv", "path": "d.csv"}, seed=0, base_dir=tmp_path / "configs")
    assert ds.n_train == 3 and ds.n_test == 1
    with pytest.raises(InputError, match=r"data\.path: file not found: .*d\.csv"):
        load({"name": "csv", "path": "d.csv"}, seed=0)  # cwd is tmp_path, not configs/


@pytest.mark.parametrize(
    ("text", "spec", "pattern"),
    [
        ("x,label\n1,a\n", {}, r"data\.target: column 'target' not found in '.*bad\.csv'.*columns: x, label"),
        ("x,label\n1,a\n", {"target": "lable"}, r"column 'lable' not found.*did you mean 'label'"),
        ("w,target\n1,a\n2,b\nheavy,a\n", {},
         r"data\.path: '.*bad\.csv' line 4, column 'w': 'heavy', which is not a number"),
        ("w,target\n1,a\n,b\n", {}, r"line 3, column 'w': an empty value"),
        ("w,target\n1,a\nnan,b\n", {}, r"line 3, column 'w': 'nan' is not a finite number"),
        # float() reads these; a CSV number is ASCII decimal or scientific notation
        ("w,target\n1,a\n4_92,b\n", {}, r"line 3, column 'w': '4_92', which is not a number"),
        ("w,target\n1,a\n１２,b\n", {}, r"line 3, column 'w': '１２', which is not a number"),
        ("w,target\n1,1.5\n2,2_5\n", {"task": "regression"}, r"line 3, column 'target': '2_5', which is not a number"),
        ("", {}, r"data\.path: '.*bad\.csv' is empty"),
        ("\n\n", {}, r"is empty"),
        ("x,target\n", {}, r"has a header but no data rows"),
        ("x,target\n1,a\n2\n", {}, r"line 3 has 1 values but the header has 2 columns"),
        ("x,x,target\n1,2,a\n", {}, r"names column 'x' twice"),
        # an unclosed quote made the rest of the file one label: trained on 2 rows, exit 0
        ('a,target\n1,cat\n3,"dog\n5,cat\n7,dog\n', {},
         r"data\.path: '.*bad\.csv' is not valid CSV: the quote opened on line 3 is never closed$"),
        ('a,b,target\n1,2,cat\n3,"dog\n', {},  # too few cells in the swallowing row: the quote is still the cause
         r"data\.path: '.*bad\.csv' is not valid CSV: the quote opened on line 3 is never closed$"),
        ("x,target\n1,a\n2,a\n", {}, r"data: found a single class \('a'\)"),
        ("x,target\n1,a\n2,b\n", {"task": "regression"}, r"line 2, column 'target': 'a', which is not a number"),
        ("x,target\n1,a\n2,b\n", {"class_names": ["a", "c"]}, r"data\.class_names: label 'b' is not one of"),
        ("x,target\n1,a\n2,b\n", {"features": ["target"]}, r"data\.features: column 'target' is also the target"),
    ],
)
def test_csv_errors_name_file_column_and_line(tmp_path, text, spec, pattern):
    write(tmp_path / "bad.csv", text)
    with pytest.raises(InputError, match=pattern):
        load({"name": "csv", "path": "bad.csv", "test_fraction": 0, **spec}, seed=0)


def test_npz_loader(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)).astype(np.float32)
    np.savez(tmp_path / "ints.npz", X=X, y=np.arange(20) % 3)
    ds = load({"name": "npz", "path": str(tmp_path / "ints.npz"), "feature_names": ["a", "b", "c"]}, seed=0)
    assert ds.task == "multiclass" and ds.class_names == ["0", "1", "2"] and ds.feature_names == ["a", "b", "c"]
    assert ds.X_train.dtype == np.float64 and ds.n_train == 15

    np.savez(tmp_path / "text.npz", features=X[:, 0], labels=np.array(["no", "yes"] * 10))
    text = load({"name": "npz", "path": "text.npz", "x_key": "features", "y_key": "labels"}, seed=0)
    assert text.task == "binary" and text.class_names == ["no", "yes"] and text.n_features == 1

    np.savez(tmp_path / "reg.npz", X=X, y=rng.normal(size=(20, 2)))
    reg = load({"name": "npz", "path": "reg.npz", "test_fraction": 0}, seed=0)
    assert reg.task == "regression" and reg.y_train.shape == (20, 2) and reg.n_outputs == 2
    assert reg.target_names == ["y1", "y2"]

    with pytest.raises(InputError, match=r"data\.y_key: '.*reg\.npz' has no array 'Y' \(did you mean 'y'\?\)"):
        load({"name": "npz", "path": "reg.npz", "y_key": "Y"}, seed=0)
    np.savez(tmp_path / "short.npz", X=X, y=np.zeros(5))
    with pytest.raises(InputError, match=r"data\.y_key: .*must have shape \(20,\)"):
        load({"name": "npz", "path": "short.npz"}, seed=0)
    np.savez(tmp_path / "nofeatures.npz", X=np.zeros((3, 0)), y=np.arange(3))
    with pytest.raises(InputError, match=r"data: the npz dataset has no feature columns"):
        load({"name": "npz", "path": "nofeatures.npz"}, seed=0)
    np.savez(tmp_path / "empty.npz", X=np.zeros((0, 2)), y=np.zeros(0, dtype=int))
    with pytest.raises(InputError, match=r"data: the npz dataset is empty"):
        load({"name": "npz", "path": "empty.npz"}, seed=0)
    write(tmp_path / "junk.npz", "not a zip")
    with pytest.raises(InputError, match=r"data\.path: .*junk\.npz' is not an \.npz archive \(numpy\.savez writes one"):
        load({"name": "npz", "path": "junk.npz"}, seed=0)
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04 a zip cut short")
    with pytest.raises(InputError, match=r"data\.path: .*cut\.npz' is not a readable \.npz archive: "):
        load({"name": "npz", "path": "cut.npz"}, seed=0)


def test_inline_loader():
    spec = {"name": "inline", "X": [[4.0, 3.0], [10.0, 7.0], [5.0, 2.5], [12.0, 6.0]],
            "y": ["cat", "dog", "cat", "dog"], "feature_names": ["weight_kg", "snout_length_cm"],
            "class_names": ["dog", "cat"], "test_fraction": 0}
    ds = load(spec, seed=0)
    assert ds.class_names == ["dog", "cat"] and ds.feature_names == ["weight_kg", "snout_length_cm"]
    np.testing.assert_array_equal(ds.y_train, (ds.X_train[:, 0] < 8).astype(int))  # cat is class 1

    indices = load({"name": "inline", "X": [1, 2, 3], "y": [0, 1, 1], "class_names": ["cat", "dog"],
                    "test_fraction": 0}, seed=0)
    assert indices.n_features == 1 and indices.class_names == ["cat", "dog"]
    assert sorted(indices.y_train.tolist()) == [0, 1, 1]

    reg = load({"name": "inline", "X": [[0], [1], [2]], "y": [0.0, 0.5, 1.0], "test_fraction": 0}, seed=0)
    assert reg.task == "regression" and reg.y_train.shape == (3, 1)


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        ({"X": [[1, 2], [3]], "y": [0, 1]}, r"data\.X row 1 has 1 values, expected 2"),
        ({"X": [[1, "a"], [3, 4]], "y": [0, 1]}, r"data\.X row 0, column 1: 'a' is not a number"),
        ({"X": [[1], [2]], "y": [0, 1, 1]}, r"data\.y has 3 labels but X has 2 rows"),
        ({"X": [[1], [2]], "y": ["a", 1]}, r"data\.y mixes int and text"),
        ({"X": [], "y": []}, r"data: the inline dataset is empty"),
        ({"X": [[1], [2]], "y": [0, 5], "class_names": ["a", "b"]}, r"label 5 is not an index into class_names"),
        ({"X": [[1], [2]], "y": [0, 0.5], "class_names": ["a", "b"]},  # was a regression task, silently
         r"^data.class_names: label 0.5 is neither a whole-number index into class_names \(2 classes\) nor one of "
         r"\['a', 'b'\]$"),
        ({"X": [[1], [2], [3]], "y": [0, 1.0e20, 1], "class_names": ["a", "b"]},  # cast to int64, a warning
         r"label 1e\+20 is neither a whole-number index into class_names"),
    ],
)
def test_inline_errors(spec, pattern):
    with pytest.raises(InputError, match=pattern):
        load({"name": "inline", "test_fraction": 0, **spec}, seed=0)


def test_whole_float_labels_index_the_class_names():
    data = load({"name": "inline", "X": [[1], [2], [3]], "y": [1.0, 0.0, 1.0], "class_names": ["a", "b"],
                 "test_fraction": 0}, seed=0)
    assert data.task == "binary" and data.class_names == ["a", "b"]
    assert sorted(data.y_train.ravel().tolist()) == [0, 1, 1]


# ---- spec validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        ({"name": "moon"}, r"data: unknown value 'moon' \(did you mean 'moons'\?\)"),
        ({"name": "moons", "nosie": 0.1}, r"data: moons has no parameter 'nosie' \(did you mean 'noise'\?\)"),
        ({"name": "moons", "test_fractoin": 0.1}, r"did you mean 'test_fraction'"),
        ({"noise": 0.1}, r"data: a mapping needs a 'name' key"),
        ({"name": "csv"}, r"data: csv needs parameter\(s\) path"),
        ({"name": "moons", "noise": -1}, r"^data\.noise must be >= 0, got -1$"),
        ({"name": "moons", "noise": "lots"}, r"data\.noise must be a number >= 0, got 'lots'"),
        ({"name": "moons", "n_samples": 1}, r"data\.n_samples must be >= 2, got 1"),
        ({"name": "moons", "n_samples": 10.5}, r"data\.n_samples must be an integer >= 2, got 10\.5"),
        ({"name": "moons", "n_samples": 10**23},
         r"data\.n_samples must be at most 1,000,000,000, got 100,000,000,000,000,000,000,000"),
        ({"name": "blobs", "n_samples": 10**9, "n_features": 100},
         r"data\.n_samples: 1,000,000,000 samples need about 1\.9e\+03 GiB while they are drawn, more than"),
        ({"name": "spiral", "classes": 1}, r"data\.classes must be >= 2, got 1"),
        ({"name": "spiral", "classes": 5, "n_samples": 4}, r"data\.n_samples must be >= 5, got 4"),
        ({"name": "circles", "factor": 1}, r"data\.factor must be > 0 and < 1, got 1"),
        ({"name": "sine", "low": 2, "high": 1}, r"data\.high must be > 2, got 1"),
        ({"name": "linear", "n_features": 3, "weights": [1, 2]},
         r"data\.weights has 2 values but n_features is 3"),
        ({"name": "moons", "seed": -1}, r"data\.seed must be >= 0, got -1"),
        ({"name": "moons", "test_fraction": 1}, r"data\.test_fraction must be >= 0 and < 1, got 1"),
        ({"name": "moons", "test_fraction": -0.1}, r"data\.test_fraction must be >= 0 and < 1, got -0\.1"),
        ({"name": "moons", "standardize": "maybe"}, r"data\.standardize must be true or false \(or yes/no, on/off\), got 'maybe'"),
        ({"name": "moons", "n_samples": 2, "test_fraction": 0.75},
         r"data\.test_fraction 0\.75 leaves no training"),
        ({"name": "csv", "path": "x.csv", "task": "clasification"},
         r"data\.task must be one of classification, regression"),
        (42, r"data: expected a dataset name or a mapping"),
    ],
)
def test_bad_specs_name_the_field(spec, pattern):
    with pytest.raises(InputError, match=pattern):
        load(spec, seed=0)


def test_string_spec_and_registry_entries():
    ds = load("moons:n_samples=40,noise=0.2,test_fraction=0.5", seed=0)
    assert ds.n_train == 20 and ds.spec["noise"] == 0.2
    assert set(datasets.names()) == {*GENERATORS, "csv", "npz", "inline"}
    assert datasets.parameters("spiral") == {
        "n_samples": 300, "noise": 0.03, "classes": 3, "turns": 0.75, "seed": None
    }
    with pytest.raises(InputError, match=r"^seed must be an integer >= 0"):
        load("moons", seed=None)  # type: ignore[arg-type]


def test_summary_and_repr():
    ds = load({"name": "cat_dog", "n_samples": 40, "standardize": True}, seed=0)
    summary = ds.summary()
    assert summary["class_names"] == ["cat", "dog"] and summary["train_class_counts"] == [15, 15]
    assert summary["standardized"] is True and json.dumps(summary)
    assert repr(ds) == (
        "Dataset(cat_dog: binary, 30 train / 10 test, 2 features, classes ['cat', 'dog'], standardized)"
    )


def test_datasets_module_imports_no_ui_or_yaml():
    code = (
        "import sys, gradlab.datasets; "
        "bad = [m for m in ('typer', 'rich', 'matplotlib', 'yaml') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_csv_numbers_in_every_plain_notation_are_read(tmp_path):
    write(tmp_path / "ok.csv", "w,target\n1,a\n-2.5,b\n.5,a\n3.,b\n+1e3,a\n 7 ,b\n2E-2,a\n")
    ds = load({"name": "csv", "path": "ok.csv", "test_fraction": 0, "standardize": False}, seed=0)
    assert sorted(ds.X_train[:, 0]) == [-2.5, 0.02, 0.5, 1.0, 3.0, 7.0, 1000.0]


def test_labels_written_with_an_underscore_or_fullwidth_digits_are_names(tmp_path):
    write(tmp_path / "l.csv", "w,target\n1,1_0\n2,１\n3,1_0\n")
    ds = load({"name": "csv", "path": "l.csv", "test_fraction": 0}, seed=0)
    assert ds.class_names == ["1_0", "１"]


@pytest.mark.parametrize(("spec", "shown"), [
    ({"name": "xor", "noise": 1e308}, "xor with noise=1e+308"),
    ({"name": "spiral", "turns": 1e308}, "spiral with turns=1e+308"),
    ({"name": "linear", "weights": [1e308, 1e308]}, "linear with weights=[1e+308, 1e+308]"),
    ({"name": "sine", "noise": 1e308}, "sine with noise=1e+308"),
])
def test_generator_parameters_beyond_float64s_range_are_named(spec, shown):
    # noise=1e308 overflowed X *= noise with a RuntimeWarning (an internal error under -W error); without it
    # the run 'diverged' and blamed the learning rate
    with pytest.raises(InputError) as info:
        load(spec, seed=0)
    assert str(info.value) == f"data: {shown} generates numbers beyond float64's range (1.8e+308); use smaller parameters"


def test_sine_refuses_an_interval_wider_than_a_float_holds():
    with pytest.raises(InputError, match=r"^data\.high must be within 1\.8e\+308 of low"):
        load({"name": "sine", "low": -1e308, "high": 1e308}, seed=0)


def test_csv_cells_quoted_by_hand_with_a_space_after_the_quote_or_a_line_break_inside_are_read(tmp_path):
    # the strict reader refuses '"cat" ,' (a space after the closing quote): it is only asked about quotes
    # left open, when a row holds a line break
    write(tmp_path / "q.csv", 'x,target\n1,"cat" \n2,dog\n3,"two\nlines"\n4,dog\n')
    ds = load({"name": "csv", "path": "q.csv", "test_fraction": 0}, seed=0, base_dir=tmp_path)
    assert ds.class_names == ["cat", "dog", "two\nlines"] and ds.X_train[:, 0].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_header_read_as_one_column_hints_at_the_delimiter(tmp_path):
    # a comma-separated file read at ';': its header is the one column 'a,b,target'
    from gradlab.datasets import read_csv

    path = tmp_path / "comma.csv"
    path.write_text("a,b,target\n1,2,0\n2,3,1\n")
    with pytest.raises(InputError) as info:
        read_csv(path, target="target", delimiter=";", fields={"delimiter": "data.delimiter"})
    assert str(info.value) == (f"target: column 'target' not found in '{path}'; columns: a,b,target (one column: the "
                               f"file seems to be separated by ',', not ';'; see data.delimiter)")
    with pytest.raises(InputError) as info:  # several columns: the delimiter was right
        read_csv(path, target="label")
    assert "seems to be separated" not in str(info.value)


@pytest.mark.parametrize("size", [1e-13, 1e-200, 1e150])
def test_a_varying_column_of_any_size_is_standardised(size):
    # 'constant' was std below 1e-12 raw units: a column of 1e-13s that varies was left unscaled, std 9.4e-14
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=50), rng.normal(size=50)
    X = np.column_stack([first, size * second])
    ds = load({"name": "inline", "X": X.tolist(), "y": [0, 1] * 25, "test_fraction": 0, "standardize": True}, seed=0)
    np.testing.assert_allclose(ds.X_train.std(axis=0), [1.0, 1.0], rtol=1e-12)
    # size * std of the unscaled column: X[:, 1].std() squares 1e-200s, which underflows to 0
    assert ds.std[1] == pytest.approx(size * second.std(), rel=1e-12, abs=0)


def test_a_constant_column_is_centred_not_divided():
    X = [[float(k), 0.1] for k in range(10)]  # 0.1 - mean(0.1 ...) is a rounding, not a spread to blow up
    ds = load({"name": "inline", "X": X, "y": [0, 1] * 5, "test_fraction": 0, "standardize": True}, seed=0)
    assert ds.std[1] == 1.0 and np.abs(ds.X_train[:, 1]).max() < 1e-15


def test_a_constant_column_of_huge_numbers_leaves_rounding_not_raw_units():
    # 6.02214076e23 with every third row one ulp higher: centred in raw units it fed inputs of 6.7e7
    c = 6.02214076e23
    X = [[float(k), c if k % 3 else np.nextafter(c, np.inf)] for k in range(30)]
    ds = load({"name": "inline", "X": X, "y": [0, 1] * 15, "test_fraction": 0, "standardize": True}, seed=0)
    assert np.abs(ds.X_train[:, 1]).max() < 1e-15
    assert ds.std[1] == 2.0**79  # the power of two the column was scaled by: its size


# ---- reading a CSV file in chunks -------------------------------------------------------------


def chunked_file(tmp_path, rows: int, bad: dict[int, str] | None = None, label=lambda i: str(i % 3)):
    """A CSV of ``rows`` rows (x = i, w = i / 4, a label), with a blank line after every 5th row and a
    two-line quoted label on row 3, so that the line numbers drift away from the row numbers;
    ``bad`` replaces the ``x`` cell of the rows given. Returns the path and each row's last line."""
    lines, ends = ["x,w,target"], []
    for i in range(rows):
        x = (bad or {}).get(i, str(i))
        lines.append(f'{x},{i / 4},"{label(i)}\n"' if i == 3 else f"{x},{i / 4},{label(i)}")
        ends.append(len(lines) + (i >= 3))  # row 3's label takes two lines
        if i % 5 == 4:
            lines.append("")
    path = tmp_path / "chunks.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, ends


@pytest.mark.parametrize("task", [None, "regression"])
def test_a_file_longer_than_a_chunk_reads_as_in_one_chunk(tmp_path, monkeypatch, task):
    from gradlab.datasets import csv_files

    path, _ = chunked_file(tmp_path, 40)
    whole_file = csv_files.read_csv(path, task=task)
    monkeypatch.setattr(csv_files, "CHUNK_ROWS", 7)  # 6 chunks of 7 rows and one of 5
    chunked = csv_files.read_csv(path, task=task)
    assert chunked.X.tolist() == whole_file.X.tolist() == [[i, i / 4] for i in range(40)]
    assert chunked.y.dtype == whole_file.y.dtype and chunked.y.tolist() == whole_file.y.tolist()
    assert chunked.meta == whole_file.meta
    if task is None:
        assert chunked.y.dtype == np.int64 and chunked.y.tolist() == [i % 3 for i in range(40)]
    else:
        assert chunked.y.tolist() == [[i % 3] for i in range(40)]


def test_text_labels_whose_kind_shows_only_in_a_later_chunk_are_names(tmp_path, monkeypatch):
    # the first chunks' labels are integers, the last one's a name: the whole column is names
    from gradlab.datasets import csv_files

    monkeypatch.setattr(csv_files, "CHUNK_ROWS", 7)
    path, _ = chunked_file(tmp_path, 30, label=lambda i: "cat" if i == 29 else str(i % 3))
    y = csv_files.read_csv(path).y
    assert y.dtype.kind == "U" and y.tolist() == [str(i % 3) for i in range(29)] + ["cat"]


def test_a_bad_value_in_a_later_chunk_is_reported_at_its_line_and_column(tmp_path, monkeypatch):
    from gradlab.datasets import csv_files

    monkeypatch.setattr(csv_files, "CHUNK_ROWS", 7)
    path, ends = chunked_file(tmp_path, 40, bad={23: "heavy", 31: "nan"})
    assert ends[23] == 30  # the header, 24 rows, 4 blank lines, the two-line label
    with pytest.raises(InputError) as info:
        csv_files.read_csv(path)
    assert str(info.value) == f"path: '{path}' line 30, column 'x': 'heavy', which is not a number"


def test_a_non_finite_class_label_in_a_later_chunk_is_reported_at_its_line(tmp_path, monkeypatch):
    # labels are classes or numbers by the whole column: the bad one is found after all chunks are read
    from gradlab.datasets import csv_files

    monkeypatch.setattr(csv_files, "CHUNK_ROWS", 7)
    path, ends = chunked_file(tmp_path, 40, label=lambda i: "inf" if i == 33 else str(i / 2))
    with pytest.raises(InputError) as info:
        csv_files.read_csv(path)
    assert str(info.value) == f"path: '{path}' line {ends[33]}, column 'target': 'inf' is not a finite number"
    assert ends[33] == 42  # the header, 34 rows, 6 blank lines, the two-line label


@pytest.mark.parametrize(("bad", "label", "expected"), [
    # a bad feature in a later chunk is reported before an empty label in an earlier one, as over the whole file
    ({30: "x"}, lambda i: "" if i == 2 else "a",
     "path: '{path}' line {line[30]}, column 'x': 'x', which is not a number"),
    ({}, lambda i: "" if i == 25 else "a", "target: '{path}' line {line[25]}, column 'target': an empty label"),
])
def test_problems_in_different_chunks_are_reported_in_the_whole_files_order(tmp_path, monkeypatch, bad, label,
                                                                            expected):
    from gradlab.datasets import csv_files

    monkeypatch.setattr(csv_files, "CHUNK_ROWS", 7)
    path, ends = chunked_file(tmp_path, 40, bad=bad, label=label)
    with pytest.raises(InputError) as info:
        csv_files.read_csv(path)
    assert str(info.value) == expected.format(path=path, line=ends)


def test_a_short_row_after_a_bad_value_is_reported_first(tmp_path, monkeypatch):
    # the file's shape is checked to its end before any value is blamed
    from gradlab.datasets import csv_files

    monkeypatch.setattr(csv_files, "CHUNK_ROWS", 7)
    path, _ = chunked_file(tmp_path, 20, bad={1: "heavy"})
    path.write_text(path.read_text() + "5\n")
    n_lines = len(path.read_text().splitlines())
    with pytest.raises(InputError) as info:
        csv_files.read_csv(path)
    assert str(info.value) == f"path: '{path}' line {n_lines} has 1 values but the header has 3 columns"


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("text", ["x,target\n1,0\n2,1\n", "x,target\n1,0\nabc,1\n"])
def test_reading_a_csv_leaves_the_garbage_collector_as_it_found_it(tmp_path, enabled, text):
    # read_csv pauses the cyclic collector while it holds the rows (no cycles among lists of strings)
    import gc

    from gradlab.datasets.csv_files import read_csv

    path = tmp_path / "data.csv"
    path.write_text(text)
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        if "abc" in text:
            with pytest.raises(InputError, match="line 3, column 'x'"):
                read_csv(path)
        else:
            assert read_csv(path).X.tolist() == [[1.0], [2.0]]
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_data_path_the_system_refuses_to_look_up_is_bad_input(tmp_path):
    # a symlink loop, a name over 255 bytes and '~nosuchuser' ended in internal errors (RuntimeError from resolve()
    # and expanduser(), OSError from exists()); now InputErrors naming data.path
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    long = tmp_path / ("d" * 300 + ".csv")
    for path, message in ((tmp_path / "a", f"path: cannot use '{tmp_path / 'a'}': Too many levels of symbolic links"),
                          (long, f"path: cannot use '{long}': File name too long"),
                          ("~nosuchuser_gradlab/f.csv", "path: cannot expand '~nosuchuser_gradlab/f.csv': no such user")):
        with pytest.raises(InputError) as caught:
            load({"name": "csv", "path": str(path)}, seed=0)
        assert str(caught.value) == "data." + message


def test_a_decimal_comma_is_named_as_such(tmp_path):
    # after the ';' hint, a spreadsheet's '0,126' was only "not a number"
    path = tmp_path / "dc.csv"
    path.write_text("a;b;target\n0,126;1,5;0\n0,2;3;1\n")
    with pytest.raises(InputError) as caught:
        load({"name": "csv", "path": str(path), "delimiter": ";"}, seed=0)
    assert str(caught.value) == (f"data.path: '{path}' line 2, column 'a': '0,126', which is not a number (a decimal "
                                 "comma? write numbers with a point: 0.5, not 0,5)")
    path.write_text("a;b;target\nx,y;1;0\n0.2;3;1\n")  # a comma that makes no number stays unexplained
    with pytest.raises(InputError, match=r"'x,y', which is not a number$"):
        load({"name": "csv", "path": str(path), "delimiter": ";"}, seed=0)
