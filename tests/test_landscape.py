"""gradlab landscape: the exact surface is the loss, the path runs from the initial to the final
parameters, the general case writes its files; the vectorised evaluator and the directions."""

import csv
import json

import numpy as np
import pytest
import yaml

from gradlab import landscape as ls
from gradlab.experiment import load_experiment
from tests.conftest import CONFIGS, run_dirs


def read_csv(path):
    with open(path) as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, [{k: float(v) for k, v in row.items()} for row in reader]


def landscape(cli, tmp_path, *args):
    result = cli("landscape", *args, "--out", tmp_path / "o")
    assert result.code == 0, result.text
    runs = run_dirs(tmp_path / "o")
    return result, runs[-1]


def test_exact_surface_is_the_loss_and_the_path_runs_from_init_to_the_model(cli, tmp_path):
    result, run = landscape(cli, tmp_path, CONFIGS / "saturation_mse.yaml", "--points", "9",
                            "--set", "training.epochs=40")
    assert "exact loss surface" in result.out
    columns, grid = read_csv(run / "landscape_grid.csv")
    assert columns == ["w", "b", "loss"] and len(grid) == 81
    e = load_experiment(CONFIGS / "saturation_mse.yaml")
    rng = np.random.default_rng(0)
    for row in rng.choice(grid, 6, replace=False):  # the surface at (w, b) is the network's loss there
        e.network.set_flat(np.array([row["w"], row["b"]]))
        assert row["loss"] == pytest.approx(e.network.loss(e.loss, e.X_train, e.Y_train), rel=1e-12)

    columns, path = read_csv(run / "landscape_path.csv")
    assert columns == ["point", "w", "b", "loss"]
    assert len(path) == 41  # full batch: one update per epoch, plus the start
    assert (path[0]["w"], path[0]["b"]) == (2.0, 2.0)  # the config's explicit init
    model = np.load(run / "model.npz")
    assert (path[-1]["w"], path[-1]["b"]) == (model["W1"][0, 0], model["b1"][0])
    assert path[0]["loss"] == pytest.approx(0.5 * (1 / (1 + np.exp(-4.0))) ** 2, rel=1e-12)
    assert {"landscape_contour.png", "landscape_surface.png", "path.npy"} <= {p.name for p in run.iterdir()}


def test_exact_surface_of_a_training_run_uses_its_recorded_path(cli, tmp_path):
    assert cli("train", CONFIGS / "saturation_ce.yaml", "--out", tmp_path / "t", "--no-plot", "-q",
               "--set", "training.epochs=25").code == 0
    (trained,) = run_dirs(tmp_path / "t")
    _, run = landscape(cli, tmp_path, trained, "--points", "5", "--range=-3,3,-2,2")
    _, grid = read_csv(run / "landscape_grid.csv")
    assert (grid[0]["w"], grid[0]["b"], grid[-1]["w"], grid[-1]["b"]) == (-3, -2, 3, 2)
    _, path = read_csv(run / "landscape_path.csv")
    recorded = np.load(trained / "path.npy")
    assert len(path) == 26
    np.testing.assert_array_equal([[p["w"], p["b"]] for p in path], recorded)
    model = np.load(trained / "model.npz")
    assert (path[-1]["w"], path[-1]["b"]) == (model["W1"][0, 0], model["b1"][0])


def test_slice_writes_contour_surface_interpolation_and_csvs(cli, tmp_path):
    result, run = landscape(cli, tmp_path, CONFIGS / "xor.yaml", "--points", "5", "--set", "training.epochs=15")
    assert "2-D slice" in result.out and "1-D interpolation" in result.out
    files = {p.name for p in run.iterdir()}
    assert {"landscape_contour.png", "landscape_surface.png", "landscape_interpolation.png",
            "landscape_grid.csv", "landscape_path.csv", "landscape_interpolation.csv"} <= files
    columns, grid = read_csv(run / "landscape_grid.csv")
    assert columns == ["alpha", "beta", "loss"] and len(grid) == 25
    columns, path = read_csv(run / "landscape_path.csv")
    assert columns == ["point", "alpha", "beta", "loss", "plane_loss"] and len(path) == 16
    assert (path[-1]["alpha"], path[-1]["beta"]) == (0, 0)  # the slice is centred on the final weights
    centre = grid[12]  # (alpha, beta) = (0, 0) on a 5 x 5 grid over [-R, R]^2
    assert (centre["alpha"], centre["beta"]) == (0, 0)
    assert centre["loss"] == pytest.approx(path[-1]["loss"], rel=1e-12)
    final = load_experiment(run / "config.yaml")
    with np.load(run / "model.npz") as model:
        final.network.set_flat(np.concatenate([model[k].ravel() for k in ("W1", "b1", "W2", "b2")]))
    assert path[-1]["loss"] == pytest.approx(final.network.loss(final.loss, final.X_train, final.Y_train), rel=1e-12)
    columns, interp = read_csv(run / "landscape_interpolation.csv")
    assert columns == ["t", "loss"] and interp[0]["t"] == -0.25 and interp[-1]["t"] == 1.25
    assert np.interp(0.0, [r["t"] for r in interp], [r["loss"] for r in interp]) == pytest.approx(path[0]["loss"])
    # the path line put C at the real weights beside projected coordinates ('from (0.2858, -0.07171), C = 0.697'
    # for full-length xor, where the surface drawn is 0.0218): each C now says which it is, the plane's value beside
    start, end = path[0], path[-1]
    assert start["plane_loss"] < start["loss"] / 2  # the case in point: the two differ
    from gradlab.cli.common import fmt

    # the plane's origin is the final weights: there the two are one value, said once (a learner review)
    assert fmt(end["plane_loss"], 4) == fmt(end["loss"], 4)
    assert (f"from ({fmt(start['alpha'], 4)}, {fmt(start['beta'], 4)}), C = {fmt(start['loss'], 4)} at the weights "
            f"({fmt(start['plane_loss'], 4)} on the plane) to (0, 0), C = {fmt(end['loss'], 4)}") in \
        " ".join(result.out.split())
    assert " ".join(result.out.split()).count("on the plane") == 1


def test_no_train_shows_the_initial_weights_only(cli, tmp_path):
    result, run = landscape(cli, tmp_path, CONFIGS / "cat_dog.yaml", "--points", "5", "--no-train")
    _, path = read_csv(run / "landscape_path.csv")
    assert len(path) == 1 and "no training path" in result.out
    assert "2-D slice through the initial 3 parameters" in result.out  # not "the final": nothing was trained
    assert not (run / "model.npz").exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--range", "0"), "--range R must be > 0"),
    (("--range", "1,2,3"), "--range must be R or U0,U1,V0,V1"),
    (("--range=2,1,0,1",), "U0 < U1"),
    (("--points", "2"), "--points must be between 3 and 1001"),
    (("--seed", "-1"), "Invalid value for '--seed': Input should be greater than or equal to 0, got '-1'"),
    # a box of +-1e308 overflowed linspace (nan axis limits, an internal error after training)
    (("--range", "1e308"), "--range numbers must be between -1e+06 and 1e+06, got '1e308'"),
    (("--range=-1e7,0,0,1",), "--range numbers must be between -1e+06 and 1e+06, got '-1e7,0,0,1'"),
    (("--range", "1e-7"), "--range must be at least 1e-06 wide (R >= 1e-06; U1 - U0, V1 - V0 >= 1e-06)"),
    (("--range=0,1e-7,0,1",), "for distinct float64 grid points, got '0,1e-7,0,1'"),
])
def test_bad_options_are_exit_2_without_a_run(cli, tmp_path, args, message):
    result = cli("landscape", CONFIGS / "saturation_mse.yaml", *args, "--out", tmp_path / "o")
    assert result.code == 2 and message in result.err
    assert run_dirs(tmp_path / "o") == []


@pytest.mark.parametrize("config", ["spiral_relu.yaml", "sine_smooth_l1.yaml", "cat_dog_ce.yaml"])
def test_the_vectorised_evaluator_equals_network_loss(config):
    e = load_experiment(CONFIGS / config)
    evaluator = ls.LossEvaluator(e.network, e.loss, e.X_train, e.Y_train)
    thetas = e.network.flat() + 0.5 * np.random.default_rng(1).standard_normal((3, e.network.n_params))
    expected = []
    for theta in thetas:
        e.network.set_flat(theta)
        expected.append(e.network.loss(e.loss, e.X_train, e.Y_train))
    np.testing.assert_allclose(evaluator(thetas), expected, rtol=1e-12)


def test_the_evaluator_adds_the_weight_penalty_training_minimised(cli, tmp_path):
    # without it, an l2 run's path ended partway down the drawn slope, the drawn minimum off the picture
    from gradlab.engine.optimizers import weight_decay_penalty

    e = load_experiment(CONFIGS / "xor.yaml")
    evaluator = ls.LossEvaluator(e.network, e.loss, e.X_train, e.Y_train, l1=0.3, l2=0.7)
    thetas = e.network.flat() + 0.5 * np.random.default_rng(1).standard_normal((3, e.network.n_params))
    expected = []
    for theta in thetas:
        e.network.set_flat(theta)
        expected.append(e.network.loss(e.loss, e.X_train, e.Y_train) + weight_decay_penalty(e.network.params, 0.3, 0.7))
    np.testing.assert_allclose(evaluator(thetas), expected, rtol=1e-12)
    # y = 3x - 1 + noise, l2 = 1: the path ends at the grid's lowest point, which is min 1/2 mean(r^2) + w^2/2
    config = tmp_path / "lin.yaml"
    config.write_text("seed: 0\ndata: {name: linear, n_samples: 200, weights: [3.0], bias: -1.0, noise: 0.1}\n"
                      "model: {hidden: [], output: identity}\nloss: mse\noptimizer: {name: sgd, lr: 0.3}\n"
                      "training: {epochs: 300, batch_size: full, l2: 1}\n")
    result = cli("landscape", config, "--out", tmp_path / "o")
    assert result.code == 0, result.text
    text = " ".join(result.out.split())
    assert "drawn: C + R, the loss plus the weight penalty training minimised" in text
    assert "exact loss surface (C + R)(w, b)" in text and "C + R on the grid:" in text  # the numbers say what they are
    summary = json.loads((run_dirs(tmp_path / "o")[0] / "summary.json").read_text())["landscape"]
    assert summary["end_loss"] == pytest.approx(summary["grid_min"], rel=1e-6)


def test_grid_over_processes_equals_the_serial_grid(monkeypatch):
    e = load_experiment(CONFIGS / "xor.yaml")
    evaluator = ls.LossEvaluator(e.network, e.loss, e.X_train, e.Y_train)
    monkeypatch.setattr(ls, "CHUNK_VALUES", 150 * 8 * 10)  # 10 networks per chunk: several chunks
    coords = np.random.default_rng(2).uniform(-1, 1, (35, 2))
    basis = np.random.default_rng(3).standard_normal((2, e.network.n_params))
    origin = e.network.flat()
    serial = ls.plane_losses(evaluator, origin, basis, coords, workers=1)
    monkeypatch.setattr(ls, "PARALLEL_WORK", 0)
    seen = []
    parallel = ls.plane_losses(evaluator, origin, basis, coords, workers=2,
                               progress=lambda done, total: seen.append((done, total)))
    np.testing.assert_array_equal(parallel, serial)
    assert seen[-1] == (35, 35) and len(seen) == 4


def test_filter_normalised_direction():
    e = load_experiment(CONFIGS / "xor.yaml")
    d = ls.filter_normalized_direction(e.network, np.random.default_rng(0))
    W1 = d[:16].reshape(2, 8)  # layout W1 (2 x 8), b1 (8), W2 (8 x 1), b2 (1)
    np.testing.assert_allclose(np.linalg.norm(W1, axis=0), np.linalg.norm(e.network.layers[0].W, axis=0))
    np.testing.assert_array_equal(d[16:24], 0)  # biases get no direction
    np.testing.assert_allclose(np.linalg.norm(d[24:32]), np.linalg.norm(e.network.layers[1].W))
    assert d[32] == 0


def test_a_diverged_training_is_exit_1_and_keeps_its_status(cli, tmp_path):
    # eta = 1e200: the first updates overflow to inf and then nan (eta = 50 stops earlier, at finite
    # weights beyond 1e12, which are drawn)
    result = cli("landscape", CONFIGS / "sine_smooth_l1.yaml", "--set", "loss=mse", "--set", "optimizer.name=sgd",
                 "--set", "optimizer.lr=1e200", "--points", "5", "--out", tmp_path / "o")
    assert result.code == 1
    assert "diverged" in result.err and "no landscape around non-finite weights" in result.err
    (run,) = run_dirs(tmp_path / "o")
    assert '"status": "diverged"' in (run / "summary.json").read_text()


@pytest.mark.parametrize("command", ["explain", "gradcheck", "landscape"])
def test_a_diverged_training_run_is_exit_2_naming_it_and_writes_nothing(cli, tmp_path, command):
    assert cli("train", CONFIGS / "sine_smooth_l1.yaml", "--set", "loss=mse", "--set", "optimizer.name=sgd",
               "--set", "optimizer.lr=1e200", "--out", tmp_path / "t", "--no-plot", "-q").code == 0
    (trained,) = run_dirs(tmp_path / "t")
    assert np.isnan(np.load(trained / "model.npz")["W1"]).any()
    extra = () if command == "explain" else ("--out", tmp_path / "o")
    result = cli(command, trained, *extra)
    assert result.code == 2
    assert result.err.startswith(f"error: {trained}: the run's final weights are not finite (W1 holds nan) "
                                 "(status diverged: diverged at epoch")
    assert len(result.err.splitlines()) == 1 and result.out == ""
    assert run_dirs(tmp_path / "o") == []


def test_a_run_whose_finite_weights_overflow_its_output_is_refused_as_predict_refuses_it(cli, tmp_path):
    # a model.npz with weights of +-1e308: LAPACK's "DLASCL parameter number 4 had an illegal value" on
    # stderr, then an internal error (LinAlgError, or an overflow RuntimeWarning) and a failed run directory
    assert cli("train", CONFIGS / "xor.yaml", "--set", "training.epochs=1", "--out", tmp_path / "t", "--no-plot",
               "-q").code == 0
    (trained,) = run_dirs(tmp_path / "t")
    with np.load(trained / "model.npz") as saved:
        signs = np.random.default_rng(0)
        np.savez(trained / "model.npz", **{k: np.where(signs.random(v.shape) < 0.5, -1e308, 1e308)
                                            for k, v in saved.items()})
    # explain and gradcheck load a run the same way: explain printed C = inf with exit 0
    for command in ("landscape", "explain", "gradcheck"):
        result = cli(command, trained, *(["--out", tmp_path / "o"] if command != "explain" else []))
        assert (result.code, result.out) == (2, "")
        assert result.err == (f"error: {trained}: the network's output is not finite on 149 of its 150 training "
                              f"samples (weights up to 1e+308 in size overflow float64); no loss or gradient can be "
                              f"computed from them\n")
    assert run_dirs(tmp_path / "o") == []


def test_range_limits_are_inclusive():
    assert ls.parse_range("1e6") == (1e6,) and ls.parse_range("1e-6") == (1e-6,)
    assert ls.parse_range("-1e6,1e6,0,1e-6") == (-1e6, 1e6, 0.0, 1e-6)


def test_an_exploding_but_finite_path_draws_without_overflow_warnings(cli, tmp_path):
    # saturation_mse at w = b = 2 (x = 1, y = 0): delta = sigma(4)^2 (1 - sigma(4)) = 0.017345; with
    # eta = 1e300 the first update jumps to w = b = 2 - 1e300 delta = -1.7345e298, where sigma' = 0;
    # training stops there as diverged (|w| > 1e12): one step of length sqrt(2) 1.7345e298 = 2.45e298.
    # The default box spans +-2.6e298, whose grid spacing overflowed the plateau's gradient
    # (RuntimeWarning = error here)
    result, run = landscape(cli, tmp_path, CONFIGS / "saturation_mse.yaml", "--points", "7",
                            "--set", "optimizer.lr=1e300", "--set", "training.epochs=3")
    s = 1 / (1 + np.exp(-4.0))
    jump = 2 - 1e300 * s * s * (1 - s)
    _, path = read_csv(run / "landscape_path.csv")
    assert [(p["w"], p["b"]) for p in path][:2] == [(2.0, 2.0), (pytest.approx(jump, rel=1e-12),) * 2]
    text = " ".join(result.out.split())
    assert f"smallest {np.hypot(jump - 2, jump - 2):.3g} (step 1), largest 2.45e+298 (step 1)" in text
    assert "path: 1 step (one per update)" in text and "(diverged)" in text


@pytest.mark.parametrize(("every", "labels"), [(1, ["2", "3", "5", "7", "8"]), (11, ["22", "33", "55", "77", "88"])])
def test_contour_numbers_points_by_their_update(tmp_path, monkeypatch, every, labels):
    # 11 points; the labelled ones are round(linspace(0, 10, 7)) = 0, 2, 3, 5, 7, 8, 10 without the
    # ends; recorded every 11 updates, point k is the parameters after 11 k updates
    from gradlab.plots import landscape as lp

    u = v = np.linspace(-1, 1, 5)
    result = ls.Landscape(kind="exact", axes=("w", "b"), u=u, v=v, loss=np.add.outer(v ** 2, u ** 2) + 1,
                          path=np.column_stack([np.linspace(0.9, 0, 11)] * 2), path_loss=np.ones(11))
    figures = []
    save = lp.save
    monkeypatch.setattr(lp, "save", lambda fig, path: (figures.append(fig), save(fig, path))[1])
    lp.contour(result, tmp_path / "c.png", every=every)
    ax = figures[0].axes[0]
    assert [t.get_text() for t in ax.texts] == labels
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"path: 10 recorded steps ({'one dot each' if every == 1 else 'a dot every 11 updates'})" in legend


def test_projection_and_directions_of_exploded_weights_do_not_overflow():
    # offsets = 1e298 (2 d1 + 3 d2) and 1e298 (d1 + d2 + e3): coordinates (2, 3) and (1, 1); the
    # plane misses the e3 part, 1 of the squared distance 4 + 9 + 1 + 1 + 1 = 16: explained = 15/16.
    # In plain units the SVD of entries 1e298 overflowed (LinAlgError after LAPACK's DLASCL messages)
    directions = 1e298 * np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    offsets = 1e298 * np.array([[2.0, 3.0, 0.0], [1.0, 1.0, 1.0], [np.nan, 0.0, 0.0]])
    coeffs, explained = ls._project(offsets, directions)
    np.testing.assert_allclose(coeffs[:2], [[2, 3], [1, 1]], rtol=1e-14)
    assert np.isnan(coeffs[2]).all() and explained == pytest.approx(15 / 16, rel=1e-14)

    e = load_experiment(CONFIGS / "cat_dog.yaml")
    e.network.set_flat(np.array([3e298, -4e298, 1.0]))  # one unit, ||W_1|| = 5e298 (its square overflows)
    d = ls.filter_normalized_direction(e.network, np.random.default_rng(0))
    assert np.hypot(d[0], d[1]) == pytest.approx(5e298, rel=1e-14) and d[2] == 0


def test_a_slice_after_an_exploding_training_is_drawn(cli, tmp_path):
    # eta = 1e300 throws the cat/dog neuron's weights to about 1e298, finite, and training completes
    result, run = landscape(cli, tmp_path, CONFIGS / "cat_dog.yaml", "--points", "5", "--set", "optimizer.lr=1e300",
                            "--set", "training.epochs=2")
    model = np.load(run / "model.npz")
    assert np.abs(model["W1"]).max() > 1e290 and np.isfinite(model["W1"]).all()
    _, path = read_csv(run / "landscape_path.csv")
    assert (path[-1]["alpha"], path[-1]["beta"]) == (0, 0) and np.isfinite([p["alpha"] for p in path]).all()


def test_a_diverged_run_whose_loss_passes_1e250_is_drawn_marked_diverged(cli, tmp_path):
    # sgd with eta = 1e300 throws the sine net's weights to ~5e299 (finite): C ~ 2e300 to 3e301 on the
    # slice, beyond the +-1e250 to which matplotlib extends filled contours ('internal error:
    # ValueError: upper_level must be larger than lower_level'); the interpolation rises from C = 1.38 to
    # 2.7e301, which a log axis cannot span (overflow warnings): it is drawn as log10 C
    result, run = landscape(cli, tmp_path, CONFIGS / "sine_smooth_l1.yaml", "--points", "5",
                            "--set", "optimizer.name=sgd", "--set", "optimizer.lr=1e300")
    summary = yaml.safe_load((run / "summary.json").read_text())
    assert summary["status"] == "diverged"
    assert summary["plots"] == ["landscape_contour.png", "landscape_surface.png", "landscape_interpolation.png"]
    assert summary["landscape"]["grid_min"] > 1e250
    assert "(diverged)" in result.out


def test_contour_levels_of_a_constant_surface_far_out_are_distinct(tmp_path):
    from gradlab.plots import landscape as lp

    levels, log = lp._levels(np.full((3, 3), 1e300))  # lo +- 1e-12 would be lo itself: no band to fill
    assert not log and levels.tolist() == [1e300 - 1e288, 1e300 + 1e288] and levels[0] < 1e300 < levels[1]
    u = v = np.linspace(-1, 1, 3)
    flat = ls.Landscape(kind="exact", axes=("w", "b"), u=u, v=v, loss=np.full((3, 3), 1e300),
                        path=np.zeros((1, 2)), path_loss=np.array([1e300]))
    assert lp.contour(flat, tmp_path / "flat.png").exists()


def test_a_grid_with_no_finite_loss_is_exit_1_and_a_failed_run(cli, tmp_path):
    # relu 2 -> 2 -> 1 with every weight 1e200: a1 = 3e200, z2 overflows, C = inf at every grid point
    config = tmp_path / "big.yaml"
    config.write_text(yaml.safe_dump({
        "name": "big", "data": {"name": "inline", "X": [[1.0, 2.0]], "y": [[3.0]], "test_fraction": 0},
        "model": {"hidden": [2], "activation": "relu", "output": "identity",
                  "init": {"name": "explicit", "layers": [{"W": [[1e200, 1e200], [1e200, 1e200]], "b": [0, 0]},
                                                          {"W": [[1e200], [1e200]], "b": [0]}]}},
        "loss": "mse", "optimizer": {"name": "sgd", "lr": 0.1}, "training": {"epochs": 1}}))
    result = cli("landscape", config, "--no-train", "--points", "5", "--out", tmp_path / "o")
    (run,) = run_dirs(tmp_path / "o")
    assert result.code == 1
    assert result.err == (f"error: the loss is not finite at any of the 5 x 5 grid points (C = inf at the weights "
                          f"themselves: float64 overflows around them); there is no surface to draw (run {run})\n")
    assert '"status": "failed"' in (run / "summary.json").read_text()


def test_a_diverged_training_whose_grid_has_no_finite_loss_keeps_its_status(cli, tmp_path):
    # sgd lr 1e300 on xor with mse: finite weights of about 4e299, the loss inf all around them;
    # the run was marked 'failed', though training had ended as diverged
    result = cli("landscape", CONFIGS / "xor.yaml", "--set", "optimizer.name=sgd", "--set", "optimizer.lr=1e300",
                 "--set", "loss=mse", "--set", "model.output=identity", "--points", "5", "--out", tmp_path / "o")
    (run,) = run_dirs(tmp_path / "o")
    assert result.code == 1 and "the loss is not finite at any of the 5 x 5 grid points" in result.err
    assert json.loads((run / "summary.json").read_text())["status"] == "diverged"


def test_the_readme_excerpt_is_the_real_output(cli, monkeypatch, tmp_path):
    from tests.conftest import REPO

    monkeypatch.chdir(REPO)
    result = cli("landscape", "configs/saturation_mse.yaml", "--out", tmp_path / "o")
    assert result.code == 0, result.text
    printed = [line for line in result.out.splitlines() if not line.startswith("run directory:")]
    readme = (REPO / "README.md").read_text()
    assert "$ gradlab landscape configs/saturation_mse.yaml\n" + "\n".join(printed) + "\n```" in readme


def _set_summary(run, **fields):
    summary = run / "summary.json"
    summary.write_text(json.dumps({**json.loads(summary.read_text()), **fields}))


@pytest.mark.parametrize(("damage", "message"), [
    (lambda f: np.save(f, np.zeros((3, 5))), "path.npy: expected shape (points, 2), got (3, 5)"),
    (lambda f: f.write_text("garbage"), "path.npy: not a NumPy array of the training path ("),  # NumPy's reason follows, worded by version
    (lambda f: np.save(f, np.array([["a", "b"]])), "path.npy: expected floating-point parameters, got dtype <U1"),
    # these three were internal errors (ValueError: zero-size array; OverflowError: int too large)
    (lambda f: np.save(f, np.zeros((0, 2))),
     "path.npy: expected at least one point (the parameters before training), got shape (0, 2)\n"),
    (lambda f: np.save(f, np.full((4, 2), np.nan)), "path.npy: no point of the path is finite (every row holds nan or inf)\n"),
    (lambda f: _set_summary(f.parent, path_every=10**30),
     f"summary.json: path_every must be a whole number from 1 to {np.iinfo(np.int64).max // 3} (the last of 4 points is "
     f"after 3 x path_every updates), got {10**30}\n"),
])
def test_a_damaged_path_file_is_exit_2_before_a_run_directory(cli, tmp_path, damage, message):
    # the shape was checked inside the landscape's run (a failed run directory left behind), and a
    # file that is no .npy was an internal error; 3 full-batch epochs record 4 points
    assert cli("train", CONFIGS / "saturation_mse.yaml", "--out", tmp_path / "t", "--no-plot", "-q",
               "--set", "training.epochs=3").code == 0
    (trained,) = run_dirs(tmp_path / "t")
    damage(trained / "path.npy")
    result = cli("landscape", trained, "--points", "5", "--out", tmp_path / "o")
    assert result.code == 2 and result.err.startswith(f"error: {trained}/{message}")
    assert len(result.err.splitlines()) == 1 and run_dirs(tmp_path / "o") == []


def test_contour_of_a_single_point_marks_it_once(tmp_path, monkeypatch):
    # --no-train, or a run that recorded no path: the one point was drawn as both "start" and "end"
    from gradlab.plots import landscape as lp

    u = v = np.linspace(-1, 1, 5)
    result = ls.Landscape(kind="slice", axes=("alpha", "beta"), u=u, v=v, loss=np.add.outer(v ** 2, u ** 2) + 1,
                          path=np.zeros((1, 2)), path_loss=np.ones(1))
    figures = []
    save = lp.save
    monkeypatch.setattr(lp, "save", lambda fig, path: (figures.append(fig), save(fig, path))[1])
    lp.contour(result, tmp_path / "c.png")
    legend = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert "the weights (no path)" in legend and "start" not in legend and "end" not in legend


def test_the_reproduce_line_of_a_run_dir_landscape_runs_again(cli, tmp_path, monkeypatch):
    # the run directory was pasted unquoted: a path with a space split into two arguments; and it was
    # relative to where landscape was typed, so the line failed from anywhere else
    import json
    import shlex

    assert cli("train", CONFIGS / "saturation_mse.yaml", "--out", tmp_path / "my runs", "--no-plot", "-q",
               "--set", "training.epochs=3").code == 0
    (trained,) = run_dirs(tmp_path / "my runs")
    monkeypatch.chdir(tmp_path)
    _, run = landscape(cli, tmp_path, trained.relative_to(tmp_path), "--points", "5", "--range=-3,3,-2,2")
    monkeypatch.chdir(trained)
    line = json.loads((run / "summary.json").read_text())["reproduce"]
    assert line == f"gradlab landscape '{trained}' --range -3,3,-2,2 --points 5 --seed 0"
    again = cli(*shlex.split(line)[1:], "--out", tmp_path / "again")
    assert again.code == 0, again.text
    (redrawn,) = run_dirs(tmp_path / "again")
    assert (redrawn / "landscape_grid.csv").read_text() == (run / "landscape_grid.csv").read_text()


def test_a_large_exact_surface_is_spread_over_the_workers(monkeypatch):
    # the exact case never passed workers on: a one-feature regression on many samples ran on one core
    e = load_experiment(CONFIGS / "sine_smooth_l1.yaml", {"model.hidden": []})
    assert e.network.n_params == 2
    monkeypatch.setattr(ls, "CHUNK_VALUES", len(e.X_train) * 10)  # 10 networks per chunk: 3 chunks for 5 x 5
    calls = []
    real = ls._plane_losses_in_processes
    monkeypatch.setattr(ls, "_plane_losses_in_processes", lambda *a: calls.append(a[-2]) or real(*a))
    serial = ls.compute(e.network, e.loss, e.X_train, e.Y_train, None, points=5, workers=2)
    assert calls == []  # 25 networks x 225 samples: far below PARALLEL_WORK
    monkeypatch.setattr(ls, "PARALLEL_WORK", 0)
    spread = ls.compute(e.network, e.loss, e.X_train, e.Y_train, None, points=5, workers=2)
    assert calls == [2]
    np.testing.assert_array_equal(spread.loss, serial.loss)
    w, b = e.network.flat()
    assert spread.loss[2, 2] == pytest.approx(e.network.loss(e.loss, e.X_train, e.Y_train), rel=1e-12)  # centre
    assert (spread.u[2], spread.v[2]) == (w, b)


@pytest.mark.parametrize(("signum", "code", "said"), [("SIGINT", 130, "interrupted\n"),
                                                      ("SIGTERM", 143, "terminated (SIGTERM)\n")])
def test_a_signal_during_the_grid_ends_the_run_interrupted_and_says_so(cli, tmp_path, monkeypatch, signum, code,
                                                                      said):
    # Typer 0.29 turned the KeyboardInterrupt into a bare exit code: the progress bars vanished, nothing said why
    import os
    import signal

    def stopped(*args, **kwargs):
        os.kill(os.getpid(), getattr(signal, signum))

    monkeypatch.setattr(ls, "compute", stopped)
    result = cli("landscape", CONFIGS / "saturation_mse.yaml", "--points", "5", "--out", tmp_path / "o")
    assert (result.code, result.err) == (code, said), result.text
    (run,) = run_dirs(tmp_path / "o")
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    assert result.out.endswith(f"run directory: {run}\n")  # where the training it did is kept


def test_ctrl_c_during_training_stops_before_the_grid_and_exits_130(cli, tmp_path, monkeypatch):
    # it computed the whole grid first (about 9 s for spiral_relu with --points 101) and drew it
    from gradlab.cli import landscape as cli_landscape
    from gradlab.training import Callback

    class CtrlC(Callback):
        def on_epoch_end(self, epoch: int) -> None:
            if epoch == 3:
                raise KeyboardInterrupt

    def no_grid(*args, **kwargs):
        raise AssertionError("the grid must not be computed after a Ctrl-C")

    monkeypatch.setattr(cli_landscape.ProgressBars, "epochs", lambda self, total: CtrlC())
    monkeypatch.setattr(ls, "compute", no_grid)
    result = cli("landscape", CONFIGS / "saturation_mse.yaml", "--points", "5", "--out", tmp_path / "o")
    assert result.code == 130, result.text
    (run,) = run_dirs(tmp_path / "o")
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    assert not list(run.glob("landscape_*"))
    assert len(np.load(run / "path.npy")) == 4  # kept for a later landscape: the start and 3 updates
    assert f"gradlab landscape {run} draws it" in " ".join(result.out.split())


def test_a_landscape_whose_loss_is_a_few_1e_301_is_drawn(cli, tmp_path):
    # huber with delta 1e-300: losses between 4e-301 and 2.3e-300 on the grid. The colorbar drew its
    # extensions (to +-1e250) to the scale of levels 1e-301 apart: an overflow, an internal error
    config = tmp_path / "tiny.yaml"
    config.write_text("data: {name: sine, n_samples: 20}\nloss: {name: huber, delta: 1.0e-300}\n"
                      "optimizer: {name: sgd, lr: 0.1}\ntraining: {epochs: 2}\n")
    result = cli("landscape", config, "--points", "9", "--out", tmp_path / "out")
    assert result.code == 0, result.err
    (run,) = run_dirs(tmp_path / "out")
    assert (run / "landscape_contour.png").exists() and (run / "landscape_surface.png").exists()
    loss = [float(row["loss"]) for row in csv.DictReader((run / "landscape_grid.csv").open())]
    assert 1e-302 < min(loss) < max(loss) < 1e-299


def test_colorbar_ticks_of_a_narrow_box_show_the_digits_that_tell_them_apart():
    # --range 1e-4 around a trained saturation_mse run: losses 0.310813 to 0.310866, every tick read 0.311
    from gradlab.plots.landscape import tick_labels

    levels = np.linspace(0.31081348067099346, 0.3108660830699118, 8)
    assert tick_labels(levels) == ["0.310813", "0.310821", "0.310829", "0.310836", "0.310844", "0.310851",
                                   "0.310859", "0.310866"]
    assert tick_labels([0.5, 1.25, 300.0]) == ["0.5", "1.25", "300"]  # three digits where they suffice
    assert tick_labels([1.0, 1.0 + 2**-52]) == ["1", "1.0000000000000002"]
