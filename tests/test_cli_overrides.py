"""--set KEY=VALUE on train, descend and sweep: applied, validated like the file, refused with a did-you-mean."""

import csv
import json

import pytest
import yaml

from tests.conftest import run_dirs

TINY = "name: tiny\nseed: 0\ndata: {name: xor, n_samples: 40}\nmodel: {hidden: [4]}\nloss: bce\n" \
       "optimizer: {name: sgd, lr: 0.5}\ntraining: {epochs: 4, batch_size: full}\n"


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def rows(run):
    return list(csv.DictReader((run / "metrics.csv").open()))


def config(run):
    return yaml.safe_load((run / "config.yaml").read_text())


def test_train_set_reaches_the_run(cli, tmp_path, tiny):
    result = cli("train", tiny, "--out", tmp_path / "o", "--no-plot", "-q",
                 "--set", "training.epochs=2", "--set", "model.hidden=[3,2]", "--set", "optimizer.name=momentum")
    assert result.code == 0, result.err
    (run,) = run_dirs(tmp_path / "o")
    assert [r["epoch"] for r in rows(run)] == ["0", "1", "2"]
    resolved = config(run)
    assert resolved["model"]["hidden"] == [3, 2] and resolved["optimizer"]["name"] == "momentum"


def test_descend_set_file_then_set_then_flags(cli, tmp_path):
    file = tmp_path / "d.yaml"
    file.write_text("lr: 0.3\nsteps: 50\nmethod: gd\n")
    result = cli("descend", "--config", file, "--set", "method=momentum", "--set", "steps=9", "--set", "learning_rate=0.05",
                 "--steps", "4", "--no-plot", "--out", tmp_path / "o")
    assert result.code == 0, result.err
    (run,) = run_dirs(tmp_path / "o")
    resolved = config(run)
    assert (resolved["method"], resolved["lr"], resolved["steps"]) == ("momentum", 0.05, 4)  # the flag wins over --set
    assert len(rows(run)) == 5


@pytest.mark.parametrize(("command", "item", "message"), [
    ("train", "optimiser.lr=1", r"--set optimiser.lr: unknown key \(did you mean 'optimizer'\?\)"),
    ("train", "training.epoch=3", r"did you mean 'training.epochs'"),
    ("train", "optimizer.lr=-1", r"optimizer.lr: input should be greater than 0 \(got -1\)"),
    ("train", "loss=bcee", r"loss: unknown value 'bcee' \(did you mean 'bce'\?\)"),
    ("train", "model.hidden=[1,", r"--set model.hidden: cannot read value"),
    ("descend", "lrr=0.5", r"--set lrr: unknown key \(did you mean 'lr'\?\)"),
    ("descend", "method=adma", r"method: unknown value 'adma' \(did you mean 'adam'\?\)"),
    ("descend", "steps=many", r"steps"),
    ("sweep", "trainng.epochs=2", r"--set trainng.epochs: unknown key \(did you mean 'training'\?\)"),
    ("sweep", "training.epochs=0", r"training.epochs: input should be greater than or equal to 1"),
    ("sweep", "lr", r"--set expects KEY=VALUE"),
])
def test_bad_set_is_exit_2_and_leaves_nothing(cli, tmp_path, tiny, command, item, message):
    args = {"train": ["train", tiny], "descend": ["descend"], "sweep": ["sweep", tiny, "--grid", "seed=1,2", "--workers", "1"]}
    result = cli(*args[command], "--set", item, "--out", tmp_path / "o")
    assert result.code == 2, result.text
    assert result.err.startswith("error: ") and "Traceback" not in result.text
    assert __import__("re").search(message, result.err), result.err
    assert not (tmp_path / "o").exists()


def test_sweep_set_applies_to_every_point(cli, tmp_path, tiny):
    result = cli("sweep", tiny, "--grid", "optimizer.lr=0.1,1", "--set", "training.epochs=2", "--set", "seed=3",
                 "--workers", "1", "--out", tmp_path / "o")
    assert result.code == 0, result.err
    (sweep,) = run_dirs(tmp_path / "o")
    points = [p for p in run_dirs(sweep)]
    assert len(points) == 2
    for run in points:
        assert config(run)["training"]["epochs"] == 2 and config(run)["seed"] == 3
        assert json.loads((run / "summary.json").read_text())["epochs"] == 2
    assert yaml.safe_load((sweep / "sweep.yaml").read_text())["set"] == {"training.epochs": 2, "seed": 3}


def test_descend_alias_in_the_file_is_replaced_by_the_flag(cli, tmp_path):
    file = tmp_path / "d.yaml"
    file.write_text("learning_rate: -3\nsteps: 3\n")  # wrong in the file, but the flag replaces it
    result = cli("descend", "--config", file, "--lr", "0.2", "--no-plot", "--out", tmp_path / "o")
    assert result.code == 0, result.err
    assert config(run_dirs(tmp_path / "o")[0])["lr"] == 0.2
    result = cli("descend", "--config", file, "--no-plot", "--out", tmp_path / "o")
    assert result.code == 2 and f"{file}: lr: must be a finite number > 0, got -3.0" in result.err


def one_error_line(result):
    """The input-error contract: exit 2, a single ``error:`` line, no traceback."""
    assert result.code == 2, result.text
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.text
    return result.err.removeprefix("error: ").rstrip("\n")


@pytest.mark.parametrize(("command", "item", "message"), [
    # an empty value would be null: the file's lr silently replaced by the optimizer's default
    ("train", "optimizer.lr=", "--set optimizer.lr: the value is empty; put a YAML value after '=' (null to unset the key)"),
    ("train", "optimizer.lr= ", "--set optimizer.lr: the value is empty"),
    ("descend", "lr=", "--set lr: the value is empty"),
    # true/false is no number (pydantic alone takes it as 1)
    ("train", "training.epochs=true", "--set training.epochs: input should be a whole number, not true or false (got true)"),
    ("train", "optimizer.lr=false", "--set optimizer.lr: input should be a number, not true or false (got false)"),
    ("train", "model.hidden=[8,true]", "--set model.hidden: model.hidden[1]: input should be a whole number"),
    ("descend", "steps=true", "--set steps: input should be a whole number, not true or false (got true)"),
    ("descend", "lr=true", "--set lr: input should be a number, not true or false (got true)"),
    # the key the user typed is named, in the --set format
    ("train", "optimizer.lrr=0.5", "--set optimizer.lrr: adam has no parameter 'lrr' (did you mean 'lr'?); "
                                   "parameters: lr, beta1, beta2, eps"),
    ("train", "seed=-1", "--set seed: input should be greater than or equal to 0 (got -1)"),
    ("train", "optimizer.lr=nan", "--set optimizer.lr: input should be a finite number (got 'nan')"),
    ("train", "optimizer.lr=.inf", "--set optimizer.lr: input should be a finite number (got inf)"),
    ("train", "optimizer.lr=-1", "--set optimizer.lr: input should be greater than 0 (got -1)"),
    ("descend", "learning_rate=-1", "--set learning_rate: must be a finite number > 0, got -1.0"),
    # the README: a train config's optimizer takes lr only (learning_rate is descend's)
    # YAML that reads but cannot be built, and a key twice inside one value
    ("train", "seed=2001-13-45", "--set seed: cannot read value '2001-13-45': month must be in 1..12"),
    ("train", "model={hidden: [4], hidden: [8]}", "--set model: cannot read value '{hidden: [4], hidden: [8]}': "
                                                  "key 'hidden' is given twice in one mapping"),
    ("train", "optimizer.learning_rate=0.5", "--set optimizer.learning_rate: adam has no parameter 'learning_rate'; "
                                             "parameters: lr, beta1, beta2, eps"),
    # a key inside a component: the component's own message, not its path after the key's
    # ("--set optimizer.name: optimizer: unknown value 'adamm'")
    ("train", "optimizer.name=adamm", "--set optimizer.name: unknown value 'adamm' (did you mean 'adam'?); choose from: "),
    ("train", "model.init.name=he_normal", "--set model.init.name: unknown value 'he_normal'"),
    ("train", "loss.name=msee", "--set loss.name: unknown value 'msee' (did you mean 'mse'?)"),
    # data's and an optimizer's own checks say "data.n_samples must be ...": that line had no --set at all
    ("train", "data.n_samples=1_000", "--set data.n_samples: must be an integer >= "),
    ("train", "data.noise=-1", "--set data.noise: must be >= 0, got -1"),
    ("train", "optimizer.beta1=2", "--set optimizer.beta1: must be >= 0 and < 1, got 2"),
    # but a number that a key below it made a mapping is named: that is what went wrong
    ("train", "optimizer.lr.x=1", "--set optimizer.lr.x: optimizer.lr: input should be a valid number (got {'x': 1})"),
])
def test_a_bad_set_value_is_one_line_naming_the_key(cli, tmp_path, command, item, message):
    from tests.conftest import CONFIGS

    args = {"train": ["train", CONFIGS / "xor.yaml"], "descend": ["descend"]}[command]
    result = cli(*args, "--set", item, "--out", tmp_path / "o")
    assert one_error_line(result).startswith(message), result.err
    assert not (tmp_path / "o").exists()


def test_a_set_key_replaced_by_a_flag_is_not_blamed(cli, tmp_path):
    result = cli("descend", "--set", "lr=0.2", "--lr", "-1", "--out", tmp_path / "o")
    assert one_error_line(result) == "lr: must be a finite number > 0, got -1.0"  # the flag's value, not --set's


def test_a_file_problem_is_not_blamed_on_a_set(cli, tmp_path, tiny):
    tiny.write_text(TINY.replace("epochs: 4", "epochs: 0"))
    result = cli("train", tiny, "--set", "optimizer.lr=0.1", "--out", tmp_path / "o")
    assert one_error_line(result) == "training.epochs: input should be greater than or equal to 1 (got 0)"


def test_sweep_set_problem_shared_by_every_point_is_said_once_naming_the_set(cli, tmp_path, tiny):
    result = cli("sweep", tiny, "--grid", "loss=mse,bce", "--set", "optimizer.momentum=0.9", "--out", tmp_path / "o")
    assert one_error_line(result).startswith("--set optimizer.momentum: sgd has no parameter 'momentum'")
    assert not (tmp_path / "o").exists()


def test_a_sweep_names_the_set_once_and_a_bad_grid_value_beside_it(cli, tmp_path, tiny):
    # every point has the --set problem, one point also its own: two lines, neither repeated
    result = cli("sweep", tiny, "--set", "optimizer.lr=-1", "--grid", "training.batch_size=0,1", "--out", tmp_path / "o")
    assert result.code == 2 and not (tmp_path / "o").exists()
    assert result.err.splitlines() == [
        "error: --set optimizer.lr: input should be greater than 0 (got -1)",
        "error: --grid training.batch_size=0: must be a whole number >= 1 or 'full', got 0"]  # the key named once, as --set


@pytest.mark.parametrize(("grid", "line"), [
    # each --grid line names its key once, as the --set line of the same value does (the path was doubled:
    # '--grid training.batch_size=0: training.batch_size: must be ...')
    ("training.batch_size=0,1", "--grid training.batch_size=0: must be a whole number >= 1 or 'full', got 0"),
    ("optimizer.lr=-1,0.1", "--grid optimizer.lr=-1: input should be greater than 0 (got -1)"),
    ("data.n_samples=1,100", "--grid data.n_samples=1: must be >= 2, got 1"),  # worded 'data.n_samples must be'
    ("model.hidden=[0],[4]", "--grid model.hidden=[0]: every width must be >= 1, got [0]"),
])
def test_a_bad_grid_value_reads_like_a_bad_set(cli, tmp_path, tiny, grid, line):
    key, first = grid.split("=")[0], grid.split("=")[1].split(",")[0]
    assert one_error_line(cli("sweep", tiny, "--grid", grid, "--out", tmp_path / "o")) == line
    set_line = one_error_line(cli("train", tiny, "--set", f"{key}={first}", "--out", tmp_path / "t"))
    assert set_line.replace(f"--set {key}:", f"--grid {key}={first}:") == line


def test_a_file_of_another_command_is_named_in_one_line(cli, tmp_path):
    """sweep.yaml or a descend config given to train printed a dozen 'unknown key' lines and no file name."""
    sweep_dir = tmp_path / "s"
    sweep_dir.mkdir()
    (sweep_dir / "sweep.yaml").write_text("config: x.yaml\ngrid: {optimizer.lr: [0.1, 1]}\nbase_config: {seed: 0}\n")
    (tmp_path / "descend.yaml").write_text("f: x**2\nx0: [8.0]\nlr: 0.1\n")
    (tmp_path / "train.yaml").write_text("data: {name: xor}\nmodel: {hidden: [2]}\n")
    cases = [
        (("train", sweep_dir / "sweep.yaml"),
         f"{sweep_dir / 'sweep.yaml'}: this is a sweep's record (sweep.yaml), not an experiment config; "
         f"the experiment it varies is {sweep_dir / 'config.yaml'}"),
        (("train", tmp_path / "descend.yaml"),
         f"{tmp_path / 'descend.yaml'}: this is a gradlab descend config (f, x0), not an experiment; "
         f"run it with 'gradlab descend --config {tmp_path / 'descend.yaml'}'"),
        (("descend", "--config", tmp_path / "train.yaml", "--no-plot"),
         f"{tmp_path / 'train.yaml'}: this is an experiment config (data, model), not a descend config; "
         f"train it with 'gradlab train {tmp_path / 'train.yaml'}'"),
    ]
    (tmp_path / "plot.yaml").write_text("kind: activations\nactivations: [relu]\nrange: [-10, 10]\npoints: 1000\n")
    (tmp_path / "check.yaml").write_text("gradcheck: {source: x.yaml, eps: 1e-6}\nexperiment: {seed: 0}\n")
    cases += [
        (("train", tmp_path / "plot.yaml"),
         f"{tmp_path / 'plot.yaml'}: this is the record of a gradlab plot run, not an experiment config"),
        (("descend", "--config", tmp_path / "plot.yaml", "--no-plot"),
         f"{tmp_path / 'plot.yaml'}: this is the record of a gradlab plot run, not a descend config"),
        (("train", tmp_path / "check.yaml"),
         f"{tmp_path / 'check.yaml'}: this is the record of a gradlab gradcheck run, not an experiment config; "
         "the experiment it checked is under its 'experiment:' key"),
    ]
    for args, message in cases:
        result = cli(*args, "--out", tmp_path / "runs")
        assert (result.code, result.err) == (2, f"error: {message}\n")
    assert not (tmp_path / "runs").exists()
