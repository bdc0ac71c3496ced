"""gradlab sweep: validation before anything runs, the sweep directory, serial = process pool = Dask,
failing and diverging points recorded, Ctrl-C."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from gradlab import sweeps
from gradlab.errors import InputError
from tests.conftest import REPO, run_dirs, subprocess_env

TINY = "name: tiny\nseed: 0\ndata: {name: xor, n_samples: 40}\nmodel: {hidden: [4], activation: tanh}\n" \
       "loss: bce\noptimizer: {name: sgd, lr: 0.5}\ntraining: {epochs: 15, batch_size: full, log_every: 5}\n"
GRID_2X2X2 = ("--grid", "optimizer.lr=0.1,1", "--grid", "loss=mse,bce", "--seeds", "2")
UNTIMED = ("duration_s", "run_dir")  # what may differ between two executions of the same sweep


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def sweep(cli, tmp_path, config, *args, code=0):
    out = tmp_path / "sweeps"
    before = set(run_dirs(out))
    result = cli("sweep", config, *args, "--out", out)
    assert result.code == code, result.text
    new = sorted(set(run_dirs(out)) - before)
    return result, (new[0] if new else None)


def results(sweep_dir):
    return list(csv.DictReader((sweep_dir / "results.csv").open()))


@pytest.fixture
def heatmap_figures(monkeypatch):
    """The figures the sweeps draw as heatmaps, in order (each still saved as heatmap.png)."""
    from gradlab.plots import save
    from gradlab.plots import sweep as drawing

    figures = []
    monkeypatch.setattr(drawing, "save", lambda fig, path: figures.append(fig) or save(fig, path))
    return figures


def cell_texts(fig):
    """A heatmap's cell texts by (row, column)."""
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in fig.axes[0].texts}


def wait_for(ready, seconds, what, proc=None):
    """Poll ``ready()`` every 50 ms; if it does not hold within ``seconds``, stop ``proc``'s process
    group and fail the test naming ``what``, rather than go on without the state the test needs."""
    deadline = time.time() + seconds
    while not ready():
        if time.time() > deadline:
            if proc is not None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)  # started in a session of its own: it and its workers
                except ProcessLookupError:
                    proc.kill()
                proc.communicate()
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(0.05)


def untimed(sweep_dir):
    return [{k: v for k, v in row.items() if k not in UNTIMED} for row in results(sweep_dir)]


def test_a_2x2x2_sweep_writes_one_complete_run_per_point(cli, tmp_path, tiny):
    result, sweep_dir = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--workers", "1")
    rows = results(sweep_dir)
    assert len(rows) == 8
    assert list(rows[0])[:7] == ["point", "group", "optimizer.lr", "loss", "seed", "status", "epochs"]
    assert {"final_test_accuracy", "best_test_accuracy", "final_train_loss", "duration_s", "run_dir", "error"} <= set(rows[0])
    assert "final_train_r2" not in rows[0]  # classification only
    assert [(r["optimizer.lr"], r["loss"], r["seed"]) for r in rows[:3]] == [("0.1", "mse", "1"), ("0.1", "mse", "2"),
                                                                            ("0.1", "bce", "1")]
    for row in rows:
        assert row["status"] == "completed" and row["epochs"] == "15"
        run = sweep_dir / row["run_dir"]
        summary = json.loads((run / "summary.json").read_text())
        assert summary["status"] == "completed" and summary["name"] == f"p{int(row['point']):03d}"
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["optimizer"]["lr"] == float(row["optimizer.lr"]) and config["loss"] == row["loss"]
        assert config["seed"] == int(row["seed"])
        assert (run / "metrics.csv").exists() and (run / "model.npz").exists()
    spec = yaml.safe_load((sweep_dir / "sweep.yaml").read_text())
    assert spec["grid"] == {"optimizer.lr": [0.1, 1], "loss": ["mse", "bce"]}
    assert spec["seeds"] == [1, 2] and spec["metric"] == "test_accuracy" and spec["points"] == 8
    assert spec["base_config"]["name"] == "tiny"
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["command"] == "sweep" and summary["status"] == "completed" and summary["counts"] == {"completed": 8}
    best = summary["best"]["values"]  # as sweep.yaml holds them: numbers are numbers, not '0.1'
    assert set(best) == {"optimizer.lr", "loss"} and best["optimizer.lr"] in (0.1, 1) and best["loss"] in ("mse", "bce")
    assert (sweep_dir / "heatmap.png").exists()
    heat = list(csv.DictReader((sweep_dir / "heatmap.csv").open()))
    assert [list(h.values())[:2] for h in heat] == [["0.1", "mse"], ["0.1", "bce"], ["1", "mse"], ["1", "bce"]]
    assert [int(h["n"]) for h in heat] == [2, 2, 2, 2]
    # the terminal: ranked by the metric, mean +- sd over the seeds
    assert "grid points ranked by final test_accuracy, mean ± sd over 2 seeds" in result.out
    assert "8 completed" in result.out


def test_a_key_s_values_read_in_one_style_in_the_table_results_and_heatmap(cli, tmp_path, tiny):
    # logspace(-2, 1, 4) put 1e+01 beside 0.01, 0.1 and 1 in the ranking table and on the heatmap's axis
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=logspace(-1,1,3)", "--grid", "loss=mse,bce",
                              "--workers", "1")
    assert [r["optimizer.lr"] for r in results(sweep_dir)] == ["0.1", "0.1", "1", "1", "10", "10"]
    heat = list(csv.DictReader((sweep_dir / "heatmap.csv").open()))
    assert [h["optimizer.lr"] for h in heat] == ["0.1", "0.1", "1", "1", "10", "10"]
    assert {h["sd"] for h in heat} == {""} and all(float(h["mean"]) >= 0 for h in heat)  # one seed: no sd, not 'nan'
    table = [line.split("│")[2].strip() for line in result.out.splitlines() if line.startswith("│")]
    assert sorted(table) == ["0.1", "0.1", "1", "1", "10", "10"]


def test_a_piped_ranking_of_four_keys_keeps_every_column_and_every_value_whole(cli, tmp_path, tiny, monkeypatch):
    # piped into 80 columns it dropped rank, runs ok, other runs and s / run, and cut 'bce' to 'b…'
    from gradlab.cli import common

    monkeypatch.setattr(common.out, "width", 80)  # what rich gives a pipe
    result, _ = sweep(cli, tmp_path, tiny, "--grid", "model.activation=tanh,leaky_relu:alpha=0.1",
                      "--grid", "loss=bce,mse", "--grid", "optimizer.lr=0.001,1", "--grid", "training.batch_size=full,16",
                      "--set", "training.epochs=1", "--workers", "1")
    header = next(line for line in result.out.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.split("┃")[1:-1]] == [
        "rank", "model.activation", "loss", "optimizer.lr", "training.batch_size", "test_accuracy", "runs ok",
        "other runs", "s / run"]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in result.out.splitlines() if line.startswith("│")]
    assert len(rows) == 16 and "…" not in result.out
    assert sorted({r[1] for r in rows}) == ["leaky_relu:alpha=0.1", "tanh"] and sorted({r[2] for r in rows}) == ["bce", "mse"]
    assert {r[6] for r in rows} == {"1/1"}


def test_the_heatmap_colours_accuracy_from_0_to_1_and_says_mean_only_over_several_seeds(cli, tmp_path, tiny,
                                                                                         heatmap_figures):
    # the colours ran from the lowest to the highest mean, 0.99 to 1.00 on cat_dog: one test sample
    # in 100 looked like the best point against the worst; and the colour bar said "(mean over
    # seeds)" when one seed ran
    for seeds in ([], ["--seeds", "2"]):
        sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=0.1,1", "--grid", "loss=mse,bce", "--workers", "1", *seeds)
    one_seed, two_seeds = heatmap_figures
    assert one_seed.axes[0].images[0].get_clim() == (0.0, 1.0)
    assert one_seed.axes[1].get_ylabel() == "test_accuracy"  # the colour bar's
    assert two_seeds.axes[1].get_ylabel() == "test_accuracy (mean over 2 seeds)"


def test_a_loss_heatmap_stretches_its_colours_over_what_ran_and_says_so():
    from gradlab.plots.sweep import heatmap_figure

    table = {"keys": ("optimizer.lr", "loss"), "rows": ["0.1", "1"], "columns": ["mse", "bce"],
             "mean": [[0.0201, 0.0205], [None, 0.0203]], "sd": [[None, None], [None, None]], "n": [[1, 1], [0, 1]],
             "total": [[1, 1], [1, 1]], "others": [[[], []], [["1 diverged"], []]], "seeds": 1, "bounds": None}
    fig = heatmap_figure(table, "test_loss", higher_is_better=False)
    assert fig.axes[0].images[0].get_clim() == (0.0201, 0.0205)  # a loss has no natural ends
    assert fig.axes[1].get_ylabel() == "test_loss\ncolours span this sweep's\n0.0201 to 0.0205"


def loss_table(means):
    """A one-seed heatmap table of a loss: ``means`` row by row (None: no run has a value)."""
    return {"keys": ("optimizer.lr", "model.hidden"), "rows": [str(i) for i in range(len(means))],
            "columns": [str(j) for j in range(len(means[0]))], "mean": means,
            "sd": [[None] * len(row) for row in means], "n": [[int(v is not None) for v in row] for row in means],
            "total": [[1] * len(row) for row in means], "others": [[[] if v is not None else ["1 diverged"]
                                                                     for v in row] for row in means],
            "seeds": 1, "bounds": None}


def test_a_loss_heatmap_spanning_more_than_two_decades_is_coloured_on_a_log_scale():
    # 0.0188 to 201 on a linear scale: 11 of 12 cells the same colour, the outlier the only other one
    from matplotlib.colors import LogNorm

    from gradlab.plots.sweep import heatmap_figure

    means = [[0.0188, 0.05, 0.11, 0.3], [0.021, 0.07, 0.2, 0.45], [0.03, 0.09, 0.6, 201.0]]
    fig = heatmap_figure(loss_table(means), "test_loss", higher_is_better=False)
    image = fig.axes[0].images[0]
    assert isinstance(image.norm, LogNorm) and image.get_clim() == (0.0188, 201.0)
    colours = {tuple(image.to_rgba(v)) for row in means for v in row}
    assert len(colours) == 12  # every cell its own colour
    assert fig.axes[1].get_ylabel() == "test_loss\ncolours span this sweep's\n0.0188 to 201, log scale"
    # within two decades, or an R^2 (a log scale gave four no-skill values of 0.0017 to 0.28 four colours), linear
    for metric, within in (("test_loss", [[0.02, 0.5], [1.9, None]]), ("test_r2", [[-3.0, 0.001], [0.5, 0.99]]),
                           ("test_r2", [[0.00169, 0.01], [0.1, 0.283]])):
        fig = heatmap_figure(loss_table(within), metric, higher_is_better=metric == "test_r2")
        assert not isinstance(fig.axes[0].images[0].norm, LogNorm)
        assert "log" not in fig.axes[1].get_ylabel()


def test_a_heatmap_cell_over_fewer_runs_than_seeds_says_so_and_one_without_any_says_why(cli, tmp_path, tiny,
                                                                                         monkeypatch, heatmap_figures):
    # 2 of 4 seeds diverged: the cell read "0.55 ± 0.071" like the others under "mean over 4 seeds"
    from gradlab import runner

    real = runner.execute

    def execute(experiment, run, *args, **kwargs):  # lr 1: every mse run and bce's seed 2 fail
        config = experiment.config
        if config.optimizer.lr == 1 and (config.loss == "mse" or config.seed == 2):
            raise RuntimeError("disk full")
        return real(experiment, run, *args, **kwargs)

    monkeypatch.setattr(runner, "execute", execute)
    _, sweep_dir = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--workers", "1")
    heat = {(h["optimizer.lr"], h["loss"]): h for h in csv.DictReader((sweep_dir / "heatmap.csv").open())}
    (fig,) = heatmap_figures
    texts = cell_texts(fig)
    full = float(heat["0.1", "mse"]["mean"]), float(heat["0.1", "mse"]["sd"])
    assert texts[0, 0] == f"{full[0]:.3g}\n± {full[1]:.2g}"  # both seeds: as before
    assert texts[1, 1] == f"{float(heat['1', 'bce']['mean']):.3g}\n1 of 2 runs"
    assert texts[1, 0] == "no mean\n2 failed"
    assert fig.axes[1].get_ylabel() == "test_accuracy (mean over 2 seeds)\nhatched: over fewer runs"
    assert len(fig.axes[0].patches) == 1  # the one hatched cell


def ranked_values(out):
    """(rank, mean) from the ranking table: rank | key | key | mean ± sd | ..."""
    rows = [line.split("│") for line in out.splitlines() if line.startswith("│")]
    return [(r[1].strip(), float(r[4].split("±")[0])) for r in rows if r[4].strip() != "-"]


@pytest.mark.parametrize(("metric", "lower_first"), [("train_loss", True), ("train_accuracy", False)])
def test_ranking_follows_the_metric_direction(cli, tmp_path, tiny, metric, lower_first):
    result, sweep_dir = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--workers", "1", "--metric", metric)
    ranked = ranked_values(result.out)
    assert [rank for rank, _ in ranked] == ["1", "2", "3", "4"]
    means = [mean for _, mean in ranked]
    assert means == sorted(means, reverse=not lower_first)
    by_group = {}
    for row in results(sweep_dir):
        by_group.setdefault(row["group"], []).append(float(row[f"final_{metric}"]))
    expected = sorted((sum(v) / 2 for v in by_group.values()), reverse=not lower_first)
    assert means == pytest.approx(expected, rel=1e-3)  # the table shows 4 significant digits


def test_serial_and_two_worker_processes_give_identical_results(cli, tmp_path, tiny):
    _, serial = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--workers", "1")
    result, parallel = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--workers", "2")
    assert "2 worker processes" in result.out
    assert untimed(parallel) == untimed(serial)
    workers = {json.loads((parallel / r["run_dir"] / "summary.json").read_text())["pid"] for r in results(parallel)}
    assert os.getpid() not in workers and 1 <= len(workers) <= 2  # trained in worker processes


@pytest.mark.parametrize(("args", "message"), [
    (["--grid", "optimiser.lr=0.1"], r"--grid optimiser.lr: unknown key \(did you mean 'optimizer'\?\)"),
    (["--grid", "optimizer.lr=0.1,-1"], r"--grid optimizer.lr=-1: input should be greater than 0"),
    (["--grid", "loss=mse,bcee"], r"--grid loss=bcee: unknown value 'bcee' \(did you mean 'bce'\?\)"),
    (["--grid", "optimizer.lr=logspace(-3,0)"], r"logspace takes \(a, b, n\)"),
    (["--grid", "optimizer.lr=0.1", "--metric", "test_acc"], r"did you mean 'test_accuracy'"),
    (["--grid", "optimizer.lr=0.1", "--metric", "test_loss", "--set", "data.test_fraction=0"],
     r"^error: --metric test_loss: the data have no test split \(data.test_fraction is 0\)$"),
    (["--grid", "optimizer.lr=0.1", "--metric", "test_accuracy", "--set", "data.name=sine", "--set", "loss=mse"],
     r"^error: --metric test_accuracy: the runs are regression, which logs no accuracy; rank by one of "
     r"train_loss, test_loss, train_r2, test_r2$"),
    (["--grid", "optimizer.lr=0.1", "--metric", "test_acc", "--set", "data.name=sine", "--set", "loss=mse"],
     r"unknown metric 'test_acc' \(did you mean 'test_r2'\?\)"),  # it suggested the refused test_accuracy
    (["--grid", "optimizer.lr=0.1", "--metric", "test_r2"],
     r"^error: --metric test_r2: the runs are classification, which logs no R\^2; rank by one of "
     r"train_loss, test_loss, train_accuracy, test_accuracy$"),
    (["--grid", "seed=1,2", "--seeds", "2"], r"--grid seed and --seeds"),
    (["--grid", "loss=mse", "--set", "loss=bce"], r"either swept or set"),
    (["--grid", "loss=mse", "--executor", "spark"], r"--executor: unknown value 'spark'"),
    (["--grid", "loss=mse", "--workers", "0"], r"--workers must be >= 1"),
    (["--grid", "loss=mse", "--collect"], r"--collect needs --executor dask"),
    ([], r"sweep needs --grid"),
])
def test_every_point_is_checked_before_anything_runs(cli, tmp_path, tiny, args, message):
    result, sweep_dir = sweep(cli, tmp_path, tiny, *args, code=2)
    assert __import__("re").search(message, result.err), result.err
    assert sweep_dir is None and not (tmp_path / "sweeps").exists()


@pytest.mark.parametrize(("grid", "message"), [
    ("model.activation=sigmoid,logistic", "--grid model.activation: 'sigmoid' and 'logistic' are the same activation"),
    ("model.activation=leaky_relu:alpha=0.1,tanh,leaky_relu:alpha=0.10",
     "--grid model.activation: 'leaky_relu:alpha=0.1' and 'leaky_relu:alpha=0.10' are the same activation"),
    ("model.activation={name: elu, alpha: 2},elu:alpha=2.0",
     "--grid model.activation: '{\"name\": \"elu\", \"alpha\": 2}' and 'elu:alpha=2.0' are the same activation"),
    ("model.activation=[tanh],[sigmoid],[logistic]",
     "--grid model.activation: '[\"sigmoid\"]' and '[\"logistic\"]' are the same activations"),
    ("model.output=identity,linear", "--grid model.output: 'identity' and 'linear' are the same activation"),
    # the text none was read as None, gelu's default is the text 'none'
    ("model.activation=gelu,gelu:approximate=none",
     "--grid model.activation: 'gelu' and 'gelu:approximate=none' are the same activation"),
    # a parameter written out at its default builds what the bare name does
    ("model.activation=leaky_relu,leaky_relu:alpha=0.01",
     "--grid model.activation: 'leaky_relu' and 'leaky_relu:alpha=0.01' are the same activation"),
    ("model.activation=[elu:alpha=1],[elu]", "--grid model.activation: '[\"elu:alpha=1\"]' and '[\"elu\"]' are the "
                                             "same activations"),
    ("loss=bce,mse,quadratic", "--grid loss: 'mse' and 'quadratic' are the same loss"),
    ("model.init=glorot,xavier", "--grid model.init: 'glorot' and 'xavier' are the same initializer"),
    ("optimizer.name=lbfgs,l_bfgs", "--grid optimizer.name: 'lbfgs' and 'l_bfgs' are the same optimizer"),
    ("optimizer=cg,conjugate_gradient", "--grid optimizer: 'cg' and 'conjugate_gradient' are the same optimizer"),
])
def test_two_spellings_of_one_component_are_refused_before_anything_runs(cli, tmp_path, tiny, grid, message):
    # each pair trained the same point twice, under two names in results.csv
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", grid, code=2)
    assert result.err == f"error: {message}; list it once\n"
    assert sweep_dir is None and not (tmp_path / "sweeps").exists()


def test_different_parameters_of_one_component_are_two_points(tmp_path, tiny):
    plan = sweeps.plan(tiny, ["model.activation=leaky_relu:alpha=0.1,leaky_relu:alpha=0.2,sigmoid"])
    assert [p.label() for p in plan.points] == ["model.activation=leaky_relu:alpha=0.1",
                                                "model.activation=leaky_relu:alpha=0.2", "model.activation=sigmoid"]


def test_an_empty_config_is_refused_unless_the_grid_or_set_fill_it(cli, tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    result, sweep_dir = sweep(cli, tmp_path, empty, "--grid", "optimizer.lr=0.1,1", code=2)
    assert result.err == f"error: {empty}: the config is empty; it needs at least 'data:' (examples in configs/, " \
                         "every field in 'gradlab schema')\n"
    assert sweep_dir is None
    result, sweep_dir = sweep(cli, tmp_path, empty, "--grid", "data=xor,cat_dog", "--set", "training.epochs=2")
    assert len(results(sweep_dir)) == 2 and {row["status"] for row in results(sweep_dir)} == {"completed"}


def test_a_combination_that_fails_only_together_is_named_as_a_point(tmp_path, tiny):
    # cross_entropy needs softmax (or identity) outputs; the base config has none set, so each value
    # alone is fine, and only the pair (cross_entropy, sigmoid) is wrong
    with pytest.raises(InputError, match=r"--grid point loss=cross_entropy, model.output=sigmoid: model.output"):
        sweeps.plan(tiny, ["loss=bce,cross_entropy", "model.output=sigmoid,softmax"])


def test_a_set_that_only_some_grid_values_clash_with_blames_those_values(cli, tmp_path, tiny):
    # --set model.output=identity is right for loss=mse and wrong for bce: the error named the --set as if
    # every point had the problem
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "loss=mse,bce", "--set", "model.output=identity", code=2)
    assert result.err == ("error: --grid loss=bce: model.output: loss bce needs an output in {sigmoid, hard_sigmoid}, "
                          "got 'identity'\n")
    assert sweep_dir is None


def test_points_failing_in_combination_are_one_error_line(cli, tmp_path, tiny):
    # with adam as the base each value alone builds; sgd and momentum take no beta1, so all 2 x 2 x 2
    # points fail, only in combination: one line for all of them
    tiny.write_text(TINY.replace("optimizer: {name: sgd, lr: 0.5}", "optimizer: {name: adam, lr: 0.5}"))
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.name=sgd,momentum", "--grid",
                              "optimizer.beta1=0.9,0.8", "--grid", "loss=mse,bce", code=2)
    assert result.err.count("\n") == 1 and result.err.count("error:") == 1, result.err
    assert result.err == ("error: --grid point optimizer.name=sgd, optimizer.beta1=0.9, loss=mse: optimizer.beta1: "
                          "sgd has no parameter 'beta1'; parameters: lr (and 7 more failing grid points)\n")
    assert sweep_dir is None


@pytest.mark.parametrize(("values", "message"), [
    ("logspace(-3,400,3)", "error: --grid optimizer.lr: logspace(-3,400,3): 10**400 is too large for a float"),
    ("logspace(-400,-390,3)", "error: --grid optimizer.lr: logspace(-400,-390,3): 10**-400 is too small for a float"),
])
def test_a_logspace_beyond_floats_is_exit_2(cli, tmp_path, tiny, values, message):
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", f"optimizer.lr={values}", code=2)  # was exit 1, OverflowError
    assert result.err.startswith(message) and result.err.count("\n") == 1, result.err
    assert sweep_dir is None


@pytest.mark.parametrize(("name", "workers", "says"), [
    ("dask", 1, "Dask at tcp://h:8786 (1 worker);"), ("dask", 3, "Dask at tcp://h:8786 (3 workers);"),
    ("process", 2, "2 worker processes;"), ("serial", 1, "one by one in this process;"),
])
def test_the_plan_line_counts_workers_in_good_english(capsys, name, workers, says):
    from types import SimpleNamespace

    from gradlab.cli.sweep import _say_plan

    plan = SimpleNamespace(grid={"loss": ["mse", "bce"]}, seeds=None, points=[1, 2], metric="train_loss",
                           higher_is_better=False, fixed_data_seed=None)
    _say_plan(plan, SimpleNamespace(name=name, workers=workers, address="tcp://h:8786"), "runs/x")
    assert says in " ".join(capsys.readouterr().out.split())


def test_a_grid_of_seeds_is_one_seed_column_and_ranks(cli, tmp_path, tiny):
    # the seed column and the grid key 'seed' are one column; the ranking table used to crash on it
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "seed=3,5", "--workers", "1")
    assert "internal error" not in result.text
    header = (sweep_dir / "results.csv").read_text().splitlines()[0].split(",")
    assert header.count("seed") == 1
    assert [r["seed"] for r in results(sweep_dir)] == ["3", "5"]


def test_seeds_over_a_pinned_data_seed_say_the_data_stay(cli, tmp_path, tiny):
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--seeds", "2", "--set", "data.seed=4", "--workers", "1")
    note = "note: data.seed is 4 in the config, so the seeds change the initialisation and the shuffling, not the data"
    assert note in result.err.splitlines() and "note:" not in result.out  # one line, on stderr
    configs = [yaml.safe_load((sweep_dir / r["run_dir"] / "config.yaml").read_text()) for r in results(sweep_dir)]
    assert [(c["seed"], c["data"]["seed"]) for c in configs] == [(1, 4), (2, 4)]
    result, _ = sweep(cli, tmp_path, tiny, "--seeds", "2", "--workers", "1")  # data follow the seed: no note
    assert "note: data.seed" not in result.text


def test_a_sweep_s_notes_go_to_stderr_and_stdout_holds_only_the_plan_table_and_paths(cli, tmp_path, tiny):
    # `gradlab sweep <run>/config.yaml ... 2>/dev/null` still printed "note: data.seed is 0 in the config, ..."
    # and the unmeasured and different-losses notes: stdout is for the table and paths a script reads
    assert cli("train", tiny, "--out", tmp_path / "runs").code == 0
    (run,) = run_dirs(tmp_path / "runs")
    done = subprocess.run([sys.executable, "-m", "gradlab", "sweep", str(run / "config.yaml"), "--grid", "loss=mse,bce",
                           "--grid", "data.test_fraction=0,0.5", "--seeds", "2", "--metric", "test_loss",
                           "--workers", "1", "--out", str(tmp_path / "sweeps")],
                          capture_output=True, text=True, env=subprocess_env(COLUMNS="200"), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "note: data.seed is 0 in the config, so the seeds change the initialisation and the shuffling, not the data",
        "note: the points use different losses, whose values are not on one scale: rank them by --metric "
        "test_accuracy",
        "note: loss=mse, data.test_fraction=0: 2 unmeasured (completed with no final test_loss): the data have no "
        "test split (data.test_fraction is 0)",
        "note: loss=bce, data.test_fraction=0: 2 unmeasured (completed with no final test_loss): the data have no "
        "test split (data.test_fraction is 0)"]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    table = [line for line in lines if line[0] in "┏┃┡│└" or line.startswith("grid points ranked by")]
    assert len(table) == 9  # title, 3 lines of header, 4 grid points, bottom edge
    assert [line.split(": ")[0] for line in lines if line not in table] == [
        "sweep", "sweep directory", "points", "results", "heatmap", "heatmap", "run directory"]


def fake_results(grid, rows):
    """Results-like object for rank(): ``rows`` as (group, grid values, final test_accuracy, final test_loss)."""
    from types import SimpleNamespace

    plan = SimpleNamespace(metric="test_accuracy", metrics=["test_loss", "test_accuracy"], grid=grid,
                           higher_is_better=True)
    table = {i: {"group": g, **values, "status": "completed", "final_test_accuracy": acc, "final_test_loss": loss,
                 "duration_s": 1.0} for i, (g, values, acc, loss) in enumerate(rows, start=1)}
    return SimpleNamespace(plan=plan, rows=table, keys=list(grid))


def test_ties_go_to_the_lower_loss_when_every_point_has_the_same_loss():
    results = fake_results({"optimizer.lr": [0.1, 1]}, [(1, {"optimizer.lr": "0.1"}, 1.0, 0.3),
                                                        (2, {"optimizer.lr": "1"}, 1.0, 0.1)])
    assert [s.group for s in sweeps.rank(results)] == [2, 1]


def test_ties_keep_grid_order_when_the_grid_varies_the_loss():
    # an MSE of 0.1 and a BCE of 0.3 are not on one scale: the tie is not broken by them
    results = fake_results({"loss": ["bce", "mse"]}, [(1, {"loss": "bce"}, 1.0, 0.3), (2, {"loss": "mse"}, 1.0, 0.1),
                                                      (3, {"loss": "mse"}, 0.5, 0.01)])
    assert [s.group for s in sweeps.rank(results)] == [1, 2, 3]


REGRESSION = "data: {name: sine, n_samples: 40}\nmodel: {hidden: [4], activation: tanh}\nloss: mse\n" \
             "optimizer: {name: sgd, lr: 0.05}\ntraining: {epochs: 30, batch_size: full, log_every: 5}\n"


def test_a_diverging_point_is_recorded_and_the_sweep_goes_on(cli, tmp_path):
    config = tmp_path / "sine.yaml"
    config.write_text(REGRESSION)
    result, sweep_dir = sweep(cli, tmp_path, config, "--grid", "optimizer.lr=20,0.05", "--seeds", "2", "--workers", "2")
    rows = results(sweep_dir)
    assert [r["status"] for r in rows] == ["diverged", "diverged", "completed", "completed"]
    assert all(float(r["epochs"]) < 30 for r in rows[:2])
    assert "test_r2" in result.out  # regression: ranked by R^2
    assert "diverged: point 1 (optimizer.lr=20, seed 1)" in " ".join(result.err.split())  # not in the table
    ranked = [line for line in result.out.splitlines() if line.startswith("│")]
    assert ranked[0].split("│")[2].strip() == "0.05" and "2 diverged" in ranked[1]
    for row in rows[:2]:
        assert json.loads((sweep_dir / row["run_dir"] / "summary.json").read_text())["status"] == "diverged"


def test_a_point_without_a_test_split_says_why_it_has_no_test_accuracy(cli, tmp_path, tiny):
    # the test_fraction=0 row read "test_accuracy -, runs ok 0/1" with nothing under "other runs",
    # while the footer said every point completed
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "data.test_fraction=0,0.5", "--workers", "1")
    ranked = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.out.splitlines()
              if line.startswith("│")]
    assert (ranked[0][:2], ranked[0][3:5]) == (["1", "0.5"], ["1/1", ""])
    assert ranked[1][:5] == ["-", "0", "-", "0/1", "1 unmeasured"]
    assert ("note: data.test_fraction=0: 1 unmeasured (completed with no final test_accuracy): "
            "the data have no test split (data.test_fraction is 0)") in result.err.splitlines()
    assert "points: 2 completed" in result.out
    rows = results(sweep_dir)  # results.csv agrees: both completed, test_accuracy empty for the first
    assert [r["status"] for r in rows] == ["completed", "completed"]
    assert rows[0]["final_test_accuracy"] == "" and rows[1]["final_test_accuracy"] != ""


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(cli, tmp_path, tiny, monkeypatch):
    from gradlab import runner

    real = runner.execute

    def execute(experiment, run, *args, **kwargs):
        if experiment.config.optimizer.lr == 1:
            raise RuntimeError("disk full")
        return real(experiment, run, *args, **kwargs)

    monkeypatch.setattr(runner, "execute", execute)
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=1,0.1", "--workers", "1")
    rows = results(sweep_dir)
    assert [r["status"] for r in rows] == ["failed", "completed"]
    assert rows[0]["error"] == "RuntimeError: disk full"
    run = sweep_dir / rows[0]["run_dir"]
    assert json.loads((run / "summary.json").read_text())["status"] == "failed"
    assert "failed: point 1" in result.err


def test_run_point_never_raises(tmp_path):
    task = sweeps.PointTask(index=1, name="p001", config={"data": {"name": "csv", "path": "missing.csv"}},
                            base_dir=str(tmp_path), out=str(tmp_path), plots=False, argv=[], metrics=["train_loss"])
    result = sweeps.run_point(task)
    assert result.status == "failed" and "missing.csv" in result.error and result.run_dir is None


def test_ctrl_c_while_a_point_creates_its_directory_waits_until_it_is_complete(tmp_path, monkeypatch):
    from gradlab.runs import Run

    create = Run.create

    def create_and_be_interrupted(*args, **kwargs):  # Ctrl-C half way: the directory exists, no summary yet
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # time for the handler to run, were it not held back
        return create(*args, **kwargs)

    monkeypatch.setattr(Run, "create", staticmethod(create_and_be_interrupted))
    task = sweeps.PointTask(index=1, name="p001", config=yaml.safe_load(TINY), base_dir=str(tmp_path),
                            out=str(tmp_path / "s"), plots=False, argv=[], metrics=["train_loss"])
    result = sweeps.run_point(task)
    assert (result.status, result.error) == ("interrupted", sweeps.INTERRUPTED)
    (run,) = run_dirs(tmp_path / "s")
    assert str(run) == result.run_dir
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"


def test_a_ctrl_c_after_the_point_finished_leaves_it_as_its_directory_says(tmp_path, monkeypatch):
    # the Ctrl-C reaches the worker after the summary says completed but before run_point returns:
    # results.csv said "interrupted" beside that summary (seen once in 25 loops of the Ctrl-C tests)
    import yaml

    from gradlab import sweeps

    calls = []

    def interrupted_once(metric):
        calls.append(metric)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return False

    monkeypatch.setattr(sweeps, "higher_is_better", interrupted_once)
    task = sweeps.PointTask(index=1, name="p001", config=yaml.safe_load(TINY), base_dir=str(tmp_path),
                            out=str(tmp_path / "s"), plots=False, argv=[], metrics=["train_loss"])
    result = sweeps.run_point(task)
    (run,) = run_dirs(tmp_path / "s")
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    assert (result.status, result.error, len(calls)) == ("completed", None, 2)
    assert isinstance(result.final["train_loss"], float) and isinstance(result.best["train_loss"], float)


def _crash_on_two(task):
    if task.index == 2:
        os._exit(3)  # a worker killed outright (out of memory, a crash in native code)
    return sweeps.PointResult(task.index, "completed", epochs=task.index)


def test_a_worker_that_dies_fails_only_its_own_point():
    from gradlab.executors import ProcessExecutor

    tasks = [sweeps.PointTask(i, f"p{i}", {}, ".", None, False, [], []) for i in range(1, 6)]
    pool = ProcessExecutor(2, function=_crash_on_two)
    try:
        outcome = {r.index: r for r in pool.results(tasks)}
    finally:
        pool.close()
    assert sorted(outcome) == [1, 2, 3, 4, 5]
    assert outcome[2].status == "failed" and "worker process died" in outcome[2].error
    assert all(outcome[i].status == "completed" for i in (1, 3, 4, 5))


LONG = "data: {name: moons, n_samples: 100}\nmodel: {hidden: [8]}\ntraining: {epochs: 3, batch_size: 1}\n"


@pytest.mark.parametrize(("to_group", "signum", "code"), [
    (False, signal.SIGINT, 130),  # to the parent only: it stops its workers itself
    (True, signal.SIGTERM, 143),  # to the whole group, as `timeout` or a batch scheduler sends it
])
def test_ctrl_c_keeps_finished_points_and_marks_running_ones(tmp_path, to_group, signum, code):
    config = tmp_path / "long.yaml"
    config.write_text(LONG)
    out = tmp_path / "sweeps"
    proc = subprocess.Popen([sys.executable, "-m", "gradlab", "sweep", str(config), "--grid", "training.epochs=2,100000",
                             "--seeds", "2", "--workers", "2", "--out", str(out)], start_new_session=to_group,
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    def ready():  # the two short points done, the two long ones training
        sweep_dir = run_dirs(out)[0] if run_dirs(out) else None
        return bool(sweep_dir and (sweep_dir / "results.csv").exists()
                    and (sweep_dir / "results.csv").read_text().count("completed") == 2
                    and _training_points(sweep_dir) == 4)

    wait_for(ready, 60, "two points completed and two training", proc)
    (sweep_dir,) = run_dirs(out)
    if to_group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    rows = results(sweep_dir)
    assert [r["status"] for r in rows] == ["completed", "completed", "interrupted", "interrupted"]
    for row in rows:
        summary = json.loads((sweep_dir / row["run_dir"] / "summary.json").read_text())
        assert summary["status"] == row["status"]
    assert json.loads((sweep_dir / "summary.json").read_text())["status"] == "interrupted"
    assert "interrupted" in stdout


# --- Dask ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_cluster():
    """One LocalCluster (2 single-threaded worker processes) for the module; its workers import
    gradlab from this checkout."""
    distributed = pytest.importorskip("distributed")
    import logging

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
    yield cluster
    cluster.close()


def test_dask_shared_filesystem_and_collect_equal_the_process_pool(cli, tmp_path, tiny, dask_cluster):
    _, pooled = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--workers", "2")
    result, shared = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--executor", "dask",
                           "--scheduler", dask_cluster.scheduler_address)
    assert f"Dask at {dask_cluster.scheduler_address} (2 workers)" in " ".join(result.out.split())
    _, collected = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--executor", "dask", "--collect",
                         "--scheduler", dask_cluster.scheduler_address)
    assert untimed(shared) == untimed(pooled) == untimed(collected)
    for sweep_dir in (shared, collected):
        for row in results(sweep_dir):
            run = sweep_dir / row["run_dir"]
            summary = json.loads((run / "summary.json").read_text())
            assert summary["status"] == "completed" and summary["id"] == run.name
            assert summary["reproduce"] == f"gradlab train {run}/config.yaml"  # collected: points at its new place
            assert {"config.yaml", "metrics.csv", "model.npz", "data.json"} <= {p.name for p in run.iterdir()}
    assert yaml.safe_load((collected / "sweep.yaml").read_text())["collect"] is True


def test_dask_without_a_scheduler_starts_and_closes_a_local_cluster(cli, tmp_path, tiny, dask_cluster, monkeypatch):
    import distributed

    started = {}

    class Borrowed:
        """The module's cluster in place of a new one (one LocalCluster per test module)."""

        def __init__(self, **kwargs):
            started.update(kwargs)
            self.scheduler_address = dask_cluster.scheduler_address

        def __getattr__(self, name):
            return getattr(dask_cluster, name)

        def close(self):
            started["closed"] = True

    monkeypatch.setattr(distributed, "LocalCluster", Borrowed)
    _, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=0.1,1", "--executor", "dask", "--workers", "2")
    assert started["n_workers"] == 2 and started["threads_per_worker"] == 1 and started["processes"] is True
    assert started["preload"] == ["gradlab.executors"]  # its processes ignore the terminal's Ctrl-C
    assert started["closed"] is True
    assert [r["status"] for r in results(sweep_dir)] == ["completed", "completed"]


def test_ctrl_c_stops_the_points_running_on_the_local_dask_cluster(tmp_path):
    """Dask cannot cancel a running task; on the LocalCluster gradlab starts, the points get a
    KeyboardInterrupt in their threads. They used to train on for seconds after the sweep ended."""
    pytest.importorskip("distributed")
    config = tmp_path / "long.yaml"
    config.write_text(LONG)
    out = tmp_path / "sweeps"
    proc = subprocess.Popen([sys.executable, "-m", "gradlab", "sweep", str(config), "--grid",
                             "training.epochs=100000,100001,100002", "--workers", "2", "--executor", "dask",
                             "--out", str(out)], start_new_session=True,
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: bool(run_dirs(out)) and _training_points(run_dirs(out)[0]) == 2, 90,
             "both dask workers training", proc)
    (sweep_dir,) = run_dirs(out)
    os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C reaches the whole group
    sent = time.time()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert time.time() - sent < 15
    rows = results(sweep_dir)
    assert [r["status"] for r in rows] == ["interrupted", "interrupted", "cancelled"]
    sizes = [(sweep_dir / r["run_dir"] / "metrics.csv").stat().st_size for r in rows[:2]]
    time.sleep(1)
    assert [(sweep_dir / r["run_dir"] / "metrics.csv").stat().st_size for r in rows[:2]] == sizes  # stopped
    for row in rows[:2]:
        assert json.loads((sweep_dir / row["run_dir"] / "summary.json").read_text())["status"] == "interrupted"
        assert int(row["epochs"]) >= 0  # the point's own result came back (a cancelled future's never did)


@pytest.fixture
def not_a_scheduler(request):
    """The address of a TCP server on 127.0.0.1 that is no Dask scheduler: ``http_400`` answers any
    connection with an HTTP error and closes it, ``silent`` accepts and never says anything (as
    ``python -m http.server`` does to Dask's handshake), ``closed`` is a port nobody listens on."""
    import socket
    import socketserver
    import threading

    if request.param == "closed":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            yield f"tcp://127.0.0.1:{probe.getsockname()[1]}"  # closed again before it is used
        return
    hang_up = threading.Event()

    class Reply(socketserver.BaseRequestHandler):
        def handle(self):
            if request.param == "http_400":
                self.request.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            else:
                hang_up.wait()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Reply)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.server_address[1]}"
    hang_up.set()
    server.shutdown()
    server.server_close()


EXPECTED_SCHEDULER = "expected the address of a running Dask scheduler (`dask scheduler` prints it: tcp://HOST:8786)"


@pytest.mark.parametrize(("not_a_scheduler", "problem"), [
    ("http_400", "something answers there, but not as a Dask scheduler does"),  # was exit 1, MemoryError for 3 EiB
    ("silent", "no answer from a Dask scheduler within 2 s"),  # was a hang with no output
    ("closed", "cannot connect to a Dask scheduler there (Timed out trying to connect to {address} after 2 s)"),
], indirect=["not_a_scheduler"])
def test_an_address_where_no_dask_scheduler_answers_is_exit_2_within_the_deadline(
        cli, tmp_path, tiny, monkeypatch, not_a_scheduler, problem):
    from gradlab import executors

    pytest.importorskip("distributed")
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", 2.0)
    started = time.monotonic()
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=0.01,0.1", "--executor", "dask",
                              "--scheduler", not_a_scheduler, code=2)
    assert time.monotonic() - started < 2.0 + executors.CONNECT_GRACE + 3  # a bounded wait, handshake included
    problem = problem.format(address=not_a_scheduler)
    assert result.err == f"error: --scheduler {not_a_scheduler}: {problem}; {EXPECTED_SCHEDULER}\n"
    assert result.out == ""
    assert sweep_dir is None and not (tmp_path / "sweeps").exists()


@pytest.mark.parametrize("executor", ["dask", "process"])
@pytest.mark.parametrize("address", ["", "  "])
def test_an_empty_scheduler_is_refused_not_taken_as_none(cli, tmp_path, tiny, executor, address):
    # --scheduler '' started a LocalCluster here (or, without dask, was ignored), where --out '' is refused
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=0.01,0.1", "--executor", executor,
                              "--scheduler", address, code=2)
    assert result.err == (f"error: --scheduler {address!r}: an empty address; {EXPECTED_SCHEDULER}, or no --scheduler "
                          f"for a LocalCluster here\n")
    assert result.out == "" and sweep_dir is None and not (tmp_path / "sweeps").exists()


def test_a_tls_address_without_tls_settings_says_why_it_cannot_connect(cli, tmp_path, tiny):
    # distributed raises a TypeError for it, which was "something answers there, but not as a Dask
    # scheduler does", although nothing answers at tls://127.0.0.1:1
    pytest.importorskip("distributed")
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=0.01,0.1", "--executor", "dask",
                              "--scheduler", "tls://127.0.0.1:1", code=2)
    assert result.err.startswith("error: --scheduler tls://127.0.0.1:1: cannot connect to a Dask scheduler there "
                                 "(TLS expects a `ssl_context` argument")
    assert result.err.endswith(f"; {EXPECTED_SCHEDULER}\n") and result.err.count("\n") == 1
    assert sweep_dir is None and not (tmp_path / "sweeps").exists()


def test_a_client_that_could_not_connect_is_closed_without_a_complaint(tmp_path, tiny):
    """Garbage-collected, a half-connected distributed.Client closed itself and printed "Exception
    ignored in: Client.__del__ ... TimeoutError" to stderr 20 s after the error; in a subprocess, so
    that what the interpreter prints on its way out is seen too."""
    pytest.importorskip("distributed")
    server = subprocess.Popen([sys.executable, "-c", (
        "import socketserver\n"
        "class Reply(socketserver.BaseRequestHandler):\n"
        "    def handle(self): self.request.sendall(b'HTTP/1.1 400 Bad Request\\r\\n\\r\\n')\n"
        "server = socketserver.TCPServer(('127.0.0.1', 0), Reply)\n"
        "print(server.server_address[1], flush=True)\n"
        "server.serve_forever()\n")], stdout=subprocess.PIPE, text=True)
    try:
        address = f"tcp://127.0.0.1:{server.stdout.readline().strip()}"
        done = subprocess.run([sys.executable, "-m", "gradlab", "sweep", str(tiny), "--grid", "optimizer.lr=0.01,0.1",
                               "--executor", "dask", "--scheduler", address, "--out", str(tmp_path / "sweeps")],
                              env=subprocess_env(), capture_output=True, text=True, timeout=60)
    finally:
        server.kill()
        server.communicate()
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr == (f"error: --scheduler {address}: something answers there, but not as a Dask scheduler does; "
                           f"{EXPECTED_SCHEDULER}\n")
    assert not (tmp_path / "sweeps").exists()


def test_dask_missing_is_a_clear_error(cli, tmp_path, tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "loss=mse", "--executor", "dask", code=2)
    assert "pip install gradlab[distributed]" in result.err and sweep_dir is None


def test_the_readme_sweep_table_is_what_the_command_prints(cli, tmp_path):
    import shlex

    from tests.conftest import CONFIGS

    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("$ gradlab sweep configs/xor.yaml"):]
    block = block[:block.index("```")]
    command = shlex.split(block.splitlines()[0].removeprefix("$ "))
    assert command[:3] == ["gradlab", "sweep", "configs/xor.yaml"]
    result = cli("sweep", CONFIGS / "xor.yaml", *command[3:], "--workers", "1", "--out", tmp_path / "o")
    assert result.code == 0, result.text

    def table(text):  # the ranking rows without the time per run, which differs from run to run
        return ["│".join(line.split("│")[:-2]) for line in text.splitlines() if line.startswith("│")]

    assert table(result.out) == table(block) and len(table(block)) == 6


def _point_of(run_dir):
    from gradlab.runs import inspect_run

    name = inspect_run(run_dir).name or ""
    return int(name[1:]) if name[:1] == "p" and name[1:].isdigit() else None


def _completed_points(sweep_dir):
    done = set()
    for path in run_dirs(sweep_dir):
        summary = path / "summary.json"
        if summary.exists() and '"status": "completed"' in summary.read_text():
            done.add(_point_of(path))
    return done


def _training_points(sweep_dir):
    """How many points have logged a row beyond epoch 0 (finished points included)."""
    return sum(1 for p in run_dirs(sweep_dir) if (p / "metrics.csv").exists()
               and len((p / "metrics.csv").read_text().splitlines()) > 2)


def test_ctrl_c_in_process_stops_promptly_and_keeps_a_finished_uncollected_point(cli, tmp_path, monkeypatch):
    """Ctrl-C while the parent records the first result: the other short point has finished meanwhile
    (its result not collected yet) and the two long ones train for ever. All is settled in seconds."""
    config = tmp_path / "long.yaml"
    config.write_text(LONG)
    out = tmp_path / "sweeps"
    record = sweeps.Results.record
    raised = []

    def interrupting_record(self, result):
        record(self, result)
        if not raised:
            deadline = time.time() + 30  # until the other short point has finished in its worker and both long ones train
            while not (ready := bool(_completed_points(self.directory) - {result.index})
                       and _training_points(self.directory) == 4) and time.time() < deadline:
                time.sleep(0.05)
            raised.append((time.time(), ready))
            raise KeyboardInterrupt

    monkeypatch.setattr(sweeps.Results, "record", interrupting_record)
    result = cli("sweep", config, "--grid", "training.epochs=2,100000", "--seeds", "2", "--workers", "2",
                 "--out", out)
    stopped = time.time() - raised[0][0]
    assert raised[0][1], "not within 30 s: the other short point finished and both long ones training"
    assert result.code == 130, result.text
    assert "Traceback" not in result.err
    assert stopped < 10, f"the stop took {stopped:.1f} s after the interruption"
    (sweep_dir,) = run_dirs(out)
    rows = results(sweep_dir)
    assert [(r["point"], r["training.epochs"], r["status"]) for r in rows] == [
        ("1", "2", "completed"), ("2", "2", "completed"), ("3", "100000", "interrupted"),
        ("4", "100000", "interrupted")]
    for row in rows:
        summary = json.loads((sweep_dir / row["run_dir"] / "summary.json").read_text())
        assert summary["status"] == row["status"]
    assert rows[0]["epochs"] == rows[1]["epochs"] == "2"  # the uncollected result was recorded, not lost
    assert json.loads((sweep_dir / "summary.json").read_text())["status"] == "interrupted"
    assert "interrupted" in result.out


def test_a_handed_out_task_is_cancelled_once_the_pool_is_stopping(monkeypatch):
    import threading
    from types import SimpleNamespace

    from gradlab import executors

    stopping = threading.Event()
    monkeypatch.setitem(executors._STOPPING, "event", stopping)
    handler = signal.getsignal(signal.SIGINT)  # _call leaves SIGINT ignored, as in a worker
    monkeypatch.setattr(signal, "signal", lambda *args: handler)
    ran = []
    assert executors._call(ran.append, SimpleNamespace(index=7)) is None and len(ran) == 1  # not stopping: runs
    stopping.set()
    result = executors._call(ran.append, SimpleNamespace(index=8))
    assert (result.index, result.status, result.error) == (8, "cancelled", "cancelled before it started")
    assert len(ran) == 1  # the point never started


def test_a_worker_starts_no_point_after_its_own_ctrl_c(monkeypatch):
    """The terminal's SIGINT reaches the workers with the parent's: it interrupts the point a worker
    runs; a worker idle or finishing at that moment must not take the next queued task, which the
    parent's forwarded SIGINT would then interrupt (a point started after Ctrl-C marked interrupted)."""
    from types import SimpleNamespace

    from gradlab import executors

    monkeypatch.setitem(executors._WORKER, "interrupted", False)
    monkeypatch.setitem(executors._WORKER, "running", False)
    monkeypatch.setitem(executors._STOPPING, "event", None)  # the parent has not stopped the pool yet

    def training(task):  # like run_point: a Ctrl-C while it trains ends it as interrupted
        try:
            executors._on_sigint(signal.SIGINT, None)  # the terminal's Ctrl-C arrives
        except KeyboardInterrupt:
            executors._on_sigint(signal.SIGINT, None)  # the parent's forwarded one: ignored, no second raise
            return sweeps.PointResult(task.index, "interrupted", error=sweeps.INTERRUPTED)
        raise AssertionError("the first SIGINT during a point must interrupt it")

    assert executors._call(training, SimpleNamespace(index=1)).status == "interrupted"
    ran = []
    result = executors._call(ran.append, SimpleNamespace(index=2))  # the next queued task
    assert (result.index, result.status, result.error) == (2, "cancelled", sweeps.CANCELLED) and not ran


def test_an_idle_worker_survives_ctrl_c_and_then_starts_nothing(monkeypatch):
    from types import SimpleNamespace

    from gradlab import executors

    monkeypatch.setitem(executors._WORKER, "interrupted", False)
    monkeypatch.setitem(executors._WORKER, "running", False)
    executors._on_sigint(signal.SIGINT, None)  # idle: no KeyboardInterrupt, the worker lives on
    ran = []
    assert executors._call(ran.append, SimpleNamespace(index=3)).status == "cancelled" and not ran


def test_ctrl_c_to_the_process_group_starts_no_point_after_it(tmp_path):
    """As in a terminal: SIGINT to every process of the sweep. Short points, so that workers are often
    between two points when it arrives. Every point ends completed, interrupted (with a run directory
    saying so) or cancelled (without one), each with its own message; at most one interrupted per worker."""
    config = tmp_path / "short.yaml"
    config.write_text(LONG.replace("epochs: 3", "epochs: 40"))
    out = tmp_path / "sweeps"
    proc = subprocess.Popen([sys.executable, "-m", "gradlab", "sweep", str(config), "--grid", "seed=range(1,41)",
                             "--workers", "2", "--out", str(out)], env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    def ready():  # a few points done: the workers are busy taking the next ones
        sweep_dir = run_dirs(out)[0] if run_dirs(out) else None
        return bool(sweep_dir and (sweep_dir / "results.csv").exists()
                    and (sweep_dir / "results.csv").read_text().count("completed") >= 3)

    wait_for(ready, 60, "three points completed", proc)
    (sweep_dir,) = run_dirs(out)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    rows = results(sweep_dir)
    assert {r["status"] for r in rows} <= {"completed", "interrupted", "cancelled"}
    assert sum(r["status"] == "interrupted" for r in rows) <= 2
    messages = {"completed": "", "interrupted": sweeps.INTERRUPTED, "cancelled": sweeps.CANCELLED}
    for row in rows:
        assert row["error"] == messages[row["status"]], row
        if row["status"] == "cancelled":
            assert row["run_dir"] == ""
        else:
            summary = json.loads((sweep_dir / row["run_dir"] / "summary.json").read_text())
            assert summary["status"] == row["status"]
    named = {row["run_dir"] for row in rows}
    lost = [(p.name, sorted(f.name for f in p.iterdir())) for p in run_dirs(sweep_dir) if p.name not in named]
    assert not lost, (lost, rows)  # no directory of a point started and lost


@pytest.mark.parametrize("stop", ["_say_plan", "_run"])
def test_a_sweep_stopped_right_after_its_directory_is_made_has_its_results_csv(cli, tmp_path, tiny, monkeypatch,
                                                                               stop):
    # Ctrl-C while the plan was printed (or stdout closed then), or the progress bar set up, left a sweep
    # directory without results.csv: it was first written when the points were handed to the executor
    from gradlab.cli import sweep as sweep_cli

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_cli, stop, ctrl_c)
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=0.1,1", code=130)
    assert json.loads((sweep_dir / "summary.json").read_text())["status"] == "interrupted"
    rows = results(sweep_dir)
    assert [(r["point"], r["optimizer.lr"], r["status"], r["error"]) for r in rows] == [
        ("1", "0.1", "cancelled", "cancelled before it started"), ("2", "1", "cancelled", "cancelled before it started")]


def test_an_interrupted_sweep_draws_its_heatmap_from_the_points_that_finished(cli, tmp_path, tiny, monkeypatch,
                                                                              heatmap_figures):
    # after Ctrl-C no heatmap was drawn at all, though two keys vary and three points had finished
    record = sweeps.Results.record

    def ctrl_c_after_the_third(self, result):
        record(self, result)
        if result.index == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(sweeps.Results, "record", ctrl_c_after_the_third)
    result, sweep_dir = sweep(cli, tmp_path, tiny, *GRID_2X2X2, "--workers", "1", code=130)
    assert [r["status"] for r in results(sweep_dir)] == ["completed"] * 3 + ["cancelled"] * 5
    heat = list(csv.DictReader((sweep_dir / "heatmap.csv").open()))
    assert [(h["optimizer.lr"], h["loss"], h["n"]) for h in heat] == [
        ("0.1", "mse", "2"), ("0.1", "bce", "1"), ("1", "mse", "0"), ("1", "bce", "0")]
    assert [h["mean"] == "" for h in heat] == [False, False, True, True]
    (fig,) = heatmap_figures
    texts = cell_texts(fig)
    assert texts[0, 1].endswith("\n1 of 2 runs")
    assert texts[1, 0] == texts[1, 1] == "no mean\n2 cancelled"
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["plots"] == ["heatmap.png"]
    assert f"heatmap: {sweep_dir / 'heatmap.png'}" in result.out.splitlines()


def test_a_ctrl_c_while_the_heatmap_is_drawn_keeps_the_sweep_s_summary_and_table(cli, tmp_path, tiny, monkeypatch):
    # the heatmap is drawn after a first Ctrl-C too, where a second one is likely to land
    from gradlab.plots import sweep as drawing

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(drawing, "heatmap_figure", ctrl_c)
    result, sweep_dir = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=0.1,1", "--grid", "loss=mse,bce",
                              "--workers", "1", code=130)
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert (summary["status"], summary["counts"], summary["plots"]) == ("interrupted", {"completed": 4}, [])
    assert "grid points ranked by final test_accuracy" in result.out and "heatmap:" not in result.out
    assert not (sweep_dir / "heatmap.png").exists()
    # every point had finished: it said 'the ones running are marked interrupted, the ones not started cancelled'
    assert "interrupted: while the heatmap was drawn: it is not (heatmap.png)" in result.out
    assert "the ones running" not in result.out


def test_a_points_clock_starts_after_the_modules_it_imports_are_loaded(tmp_path):
    """A fresh worker's first point was timed with its lazy imports (matplotlib alone ~0.7 s): once
    ``run_point``'s own imports and ``import_point_modules`` are done, a point with plots imports nothing more."""
    code = f"""
import sys, yaml
from gradlab import experiment, runner, runs, sweeps
sweeps.import_point_modules(plots=True)
before = set(sys.modules)
task = sweeps.PointTask(0, "p", yaml.safe_load({TINY!r}), {str(tmp_path)!r}, {str(tmp_path / "out")!r}, True,
                        ["x"], ["test_accuracy"])
assert sweeps.run_point(task).status == "completed"
print(sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("gradlab", "matplotlib", "PIL")))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_misspelt_grid_key_is_one_line_not_one_per_value(cli, tmp_path, tiny):
    result = cli("sweep", tiny, "--grid", "optimizer.lrr=0.1,1", "--grid", "loss=mse,bce", "--out", tmp_path / "s")
    assert result.code == 2
    assert result.err == ("error: --grid optimizer.lrr: sgd has no parameter 'lrr' (did you mean 'lr'?); "
                          "parameters: lr\n")
    # values that fail each for itself are still blamed one by one
    result = cli("sweep", tiny, "--grid", "optimizer.lr=0.1,-1,-2", "--out", tmp_path / "s")
    assert result.err.splitlines() == ["error: --grid optimizer.lr=-1: input should be greater than 0 (got -1)",
                                       "error: --grid optimizer.lr=-2: input should be greater than 0 (got -2)"]


def test_a_diverged_points_last_row_is_no_best_in_results(tmp_path):
    # results.csv's best_test_accuracy took the diverged row's 0.7333 where summary.json said 0.6667
    from gradlab.training import History

    history = History(rows=[{"test_accuracy": 0.6667, "train_loss": 0.7}, {"test_accuracy": 0.7333, "train_loss": 5e300}],
                      status="diverged", epochs=1)
    result = sweeps.PointResult(1, "failed")
    sweeps._describe(result, history, ["test_accuracy", "train_loss"])
    assert result.best == {"test_accuracy": 0.6667, "train_loss": 0.7}
    assert result.final["test_accuracy"] == 0.7333  # the last row is still what the run ended at


def test_a_local_dask_cluster_gets_no_more_workers_than_points(monkeypatch):
    # -j 1000 --executor dask for 4 points started 1000 worker processes of 57 MB: the machine ran out of memory
    from gradlab import executors

    started = []
    monkeypatch.setattr(executors, "DaskExecutor", lambda scheduler, workers: started.append((scheduler, workers)))
    executors.create("dask", 1000, points=4)
    executors.create("dask", 2, points=40)
    assert started == [(None, 4), (None, 2)]
    pool = executors.create("process", 1000, points=3)
    try:
        assert pool.workers == 3
    finally:
        pool.close()


def test_a_sweep_ranking_different_losses_by_a_loss_says_they_are_on_no_one_scale(cli, tmp_path, tiny):
    # --grid loss=mse,bce --metric test_loss ranked the mse points first only because its numbers are smaller
    result, _ = sweep(cli, tmp_path, tiny, "--grid", "loss=mse,bce", "--metric", "train_loss")
    assert ("note: the points use different losses, whose values are not on one scale: rank them by --metric "
            "test_accuracy") in result.err.splitlines()
    result, _ = sweep(cli, tmp_path, tiny, "--grid", "loss=mse,bce")  # an accuracy: nothing to say
    assert "different losses" not in result.text
    result, _ = sweep(cli, tmp_path, tiny, "--grid", "optimizer.lr=0.1,1", "--metric", "train_loss")
    assert "different losses" not in result.text


def test_a_best_point_whose_mean_leaves_out_diverged_runs_says_so(cli, tmp_path):
    # lr 1 on the sine ranks first with 1 of its 4 seeds diverged: the table's "3/4" was the only hint that its
    # mean is over the three that survived (a practitioner review)
    config = tmp_path / "sine.yaml"
    config.write_text(REGRESSION)
    result, sweep_dir = sweep(cli, tmp_path, config, "--grid", "optimizer.lr=1,2", "--seeds", "4", "--workers", "2")
    best = json.loads((sweep_dir / "summary.json").read_text())["best"]
    assert (best["values"], best["n"]) == ({"optimizer.lr": 1}, 3)
    assert "note: the best point, optimizer.lr=1, is a mean over 3 of its 4 runs (1 diverged)" in \
        " ".join(result.err.split())
    assert "note: the best point" not in result.out


def test_a_heatmap_of_one_value_has_no_colour_bar_below_it():
    # every cell's grad_norm_1 was 0: the colour bar ran from -0.1 to 0.1, negative norms
    from gradlab.plots.sweep import heatmap_figure

    fig = heatmap_figure(loss_table([[0.0, 0.0], [0.0, 0.0]]), "grad_norm_1", higher_is_better=False)
    assert fig.axes[0].images[0].get_clim() == (0.0, 1.0)
