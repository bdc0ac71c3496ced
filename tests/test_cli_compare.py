"""gradlab compare on the seeds' central demonstration: the MSE plateau against cross-entropy."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from gradlab.comparison import compare, differing_keys
from tests.conftest import CONFIGS, run_dirs


@pytest.fixture(scope="module")
def saturation_runs(tmp_path_factory):
    """The two shipped saturation configs, trained once for the module."""
    from gradlab.cli.app import main

    root = tmp_path_factory.mktemp("saturation")
    for name in ("saturation_mse", "saturation_ce"):
        assert main(["train", str(CONFIGS / f"{name}.yaml"), "--out", str(root), "--no-plot", "-q"]) == 0
    mse = next(p for p in run_dirs(root) if "saturation_mse" in p.name)
    ce = next(p for p in run_dirs(root) if "saturation_ce" in p.name)
    return mse, ce


def test_the_demo_is_one_command(cli, tmp_path, saturation_runs):
    mse, ce = saturation_runs
    result = cli("compare", mse, ce, "--out", tmp_path / "cmp")
    assert result.code == 0, result.text
    (run,) = run_dirs(tmp_path / "cmp")
    assert {"compare.png", "compare.csv", "config.yaml", "summary.json"} <= {p.name for p in run.iterdir()}
    assert (run / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # the CSV, long format: one row per run and epoch
    rows = list(csv.DictReader((run / "compare.csv").open()))
    assert list(rows[0]) == ["run", "label", "epoch", "train_loss"]
    assert len(rows) == 2 * 301
    assert [r["epoch"] for r in rows[:3]] == ["0", "1", "2"]  # whole numbers written as such, not 0.0
    assert {r["label"] for r in rows} == {"saturation_mse", "saturation_ce"}
    assert {r["run"] for r in rows} == {mse.name, ce.name}
    mse_loss = np.array([float(r["train_loss"]) for r in rows if r["label"] == "saturation_mse"])
    ce_loss = np.array([float(r["train_loss"]) for r in rows if r["label"] == "saturation_ce"])
    a = 1 / (1 + np.exp(-4.0))  # sigma(4): the neuron starts saturated on the wrong side
    assert mse_loss[0] == pytest.approx(0.5 * a * a) and ce_loss[0] == pytest.approx(-np.log(1 - a))

    # the plateau in numbers: MSE needs 200+ epochs to halve its loss, cross-entropy under 10
    summary = json.loads((run / "summary.json").read_text())
    stats = {r["label"]: r for r in summary["runs"]}
    assert stats["saturation_mse"]["halved_at"] > 200
    assert stats["saturation_ce"]["halved_at"] < 10
    assert stats["saturation_mse"]["final"] == pytest.approx(mse_loss[-1])
    assert stats["saturation_ce"]["best"] == pytest.approx(ce_loss.min())

    # only the config keys that differ
    assert summary["differing"] == {"name": ["saturation_mse", "saturation_ce"], "loss": ["mse", "bce"]}
    text = result.out
    differ = text[text.index("config keys that differ"):]
    assert "loss" in differ and "mse" in differ and "bce" in differ
    assert "optimizer" not in differ and "epochs" not in differ
    assert "halved at epoch" in text
    assert "different losses" in result.err and "different losses" not in text  # not on one scale; a note: stderr


def test_output_file_instead_of_a_run_directory(cli, tmp_path, saturation_runs):
    (tmp_path / "g").mkdir()
    result = cli("compare", *saturation_runs, "--metric", "grad_norm", "--linear", "--output", tmp_path / "g" / "grad.png")
    assert result.code == 0, result.text
    assert (tmp_path / "g" / "grad.png").exists()
    rows = list(csv.DictReader((tmp_path / "g" / "grad.csv").open()))
    assert list(rows[0]) == ["run", "label", "epoch", "grad_norm"]
    assert not (tmp_path / "runs").exists()  # no run directory


@pytest.mark.parametrize(("args", "message"), [
    (["--metric", "train_los"], r"--metric: run \S+ has no column 'train_los' \(did you mean 'train_loss'\?\)"),
    (["--x", "epochs"], r"--x: run \S+ has no column 'epochs' \(did you mean 'epoch'\?\)"),
    (["--output", "plot.jpg"], r"--output must name a .png file"),
    # the hint names a column these (train) runs have: they log no step
    (["--metric", "epoch"], r"--metric and --x are both 'epoch'; plot a metric against another column \(--x train_loss"),
    (["--x", "train_loss"], r"--metric and --x are both 'train_loss'"),
    (["--metric", "test_loss"],  # the saturation neurons have no test split: the column is there, empty
     r"^error: --metric test_loss: the column is empty in every run, so there is nothing to compare; choose a "
     r"column the runs filled$"),
])
def test_bad_options(cli, tmp_path, saturation_runs, args, message):
    result = cli("compare", *saturation_runs, *args)
    assert result.code == 2 and __import__("re").search(message, result.err), result.err
    assert not (tmp_path / "runs").exists()  # no compare run left behind


def test_an_output_inside_a_file_is_exit_2_before_any_work(cli, tmp_path, saturation_runs):
    (tmp_path / "afile").write_text("")  # mkdir of its "directory" raised FileExistsError: an internal error
    result = cli("compare", *saturation_runs, "--output", tmp_path / "afile" / "x.png")
    assert result.code == 2 and result.err.count("\n") == 1 and result.out == ""
    assert f"--output: {str(tmp_path / 'afile')!r} is a file, not a directory" in result.err


@pytest.mark.parametrize("extra", [["--out", "elsewhere"], ["--name", "foo"]])
def test_out_and_name_with_an_output_file_are_refused_as_plot_refuses_them(cli, tmp_path, saturation_runs, extra):
    # both were silently ignored: the PNG went to --output, and no run directory was made
    result = cli("compare", *saturation_runs, "--output", tmp_path / "cmp.png", *extra)
    assert (result.code, result.err) == (2, "error: --output writes no run directory: --out and --name do not apply\n")
    assert result.out == "" and not (tmp_path / "cmp.png").exists() and not (tmp_path / "elsewhere").exists()


def test_an_output_in_a_missing_directory_is_refused_not_created(cli, tmp_path, saturation_runs):
    # compare made every missing folder (a typo in /nonexist/x.png made /nonexist); plot and predict refuse
    result = cli("compare", *saturation_runs, "--output", tmp_path / "typo" / "deeper" / "x.png")
    assert result.code == 2 and result.out == ""
    assert result.err == f"error: --output: directory {str(tmp_path / 'typo' / 'deeper')!r} does not exist\n"
    assert not (tmp_path / "typo").exists()


def test_one_run_or_the_same_run_twice_is_refused(cli, saturation_runs):
    mse, _ = saturation_runs
    assert "at least two runs" in cli("compare", mse).err
    assert "is given twice" in cli("compare", mse, mse).err


def test_differing_keys_mark_absent_keys():
    configs = [{"a": 1, "b.c": [1, 2], "same": "x"}, {"a": 2, "b.c": [1, 2], "same": "x", "new": True}]
    assert differing_keys(configs) == {"a": [1, 2], "new": [None, True]}


def test_a_component_written_as_text_and_as_a_mapping_is_compared_key_by_key():
    from gradlab.comparison import _same_spelling

    configs = [{"loss": "mse", "seed": 0}, {"loss": "huber:delta=2", "seed": 0}, {"loss.name": "huber", "loss.delta": 1,
                                                                                  "seed": 0}]
    assert differing_keys(_same_spelling(configs)) == {"loss.name": ["mse", "huber", "huber"],
                                                       "loss.delta": [None, 2, 1]}


def test_descend_runs_default_to_f_per_step(cli, tmp_path):
    for lr in ("0.1", "0.5"):
        assert cli("descend", "--lr", lr, "--steps", "10", "--no-plot", "--out", tmp_path / "d").code == 0
    comparison = compare(run_dirs(tmp_path / "d"))
    assert (comparison.metric, comparison.x) == ("f", "step")
    assert list(comparison.differing) == ["lr"] and sorted(comparison.differing["lr"]) == [0.1, 0.5]
    assert yaml.safe_load((run_dirs(tmp_path / "d")[0] / "config.yaml").read_text())["steps"] == 10


def test_curves_that_hide_one_another_are_named(cli, tmp_path):
    # lr 0.1 and 0.9 on x^2 - 4x + 6 shrink |x - 2| by the same 0.8 a step, on either side of 2: f is the same
    for lr in ("0.1", "0.9", "0.5"):
        assert cli("descend", "--lr", lr, "--steps", "30", "--no-plot", "--out", tmp_path / lr).code == 0
    (a,), (b,), (c,) = (run_dirs(tmp_path / lr) for lr in ("0.1", "0.9", "0.5"))
    comparison = compare([a, b, c])
    assert comparison.same_curves() == [[comparison.curves[0].label, comparison.curves[1].label]]
    result = cli("compare", a, b, c, "--output", tmp_path / "c.png")
    assert (f"note: {comparison.curves[0].label} and {comparison.curves[1].label} have the same f at every step: "
            "on the plot the last hides the others") in result.err


def test_a_descend_run_and_a_train_run_are_not_compared(cli, tmp_path, saturation_runs):
    assert cli("descend", "--steps", "5", "--no-plot", "--out", tmp_path / "d").code == 0
    descended = run_dirs(tmp_path / "d")[0]
    result = cli("compare", descended, saturation_runs[0])
    assert result.code == 2 and result.err.count("\n") == 1
    assert (f"compare needs runs of one kind, got a descend run ({descended.name}) and a train run "
            f"({Path(saturation_runs[0]).name})") in result.err


def _copy(run, root, name=None):
    """A copy of a run directory under ``root`` (to damage without touching the module's runs)."""
    import shutil

    return Path(shutil.copytree(run, root / (name or run.name)))


@pytest.mark.parametrize(("damage", "message"), [
    (lambda p: (p / "metrics.csv").write_bytes(b"\xff\xfe\x00garbage\x80\x81\n"),
     "metrics.csv is unreadable: 'utf-8' codec can't decode byte 0xff"),
    (lambda p: (p / "metrics.csv").write_bytes((p / "metrics.csv").read_text().encode("utf-16-le")),
     "metrics.csv is unreadable: it holds NUL bytes, so it is binary or UTF-16"),
    (lambda p: (p / "metrics.csv").write_text(""), "metrics.csv is empty: a run to compare needs at least one row"),
    (lambda p: (p / "metrics.csv").write_text((p / "metrics.csv").read_text().splitlines()[0] + "\n"),
     "metrics.csv holds only its header: a run to compare needs at least one row"),
    (lambda p: (p / "config.yaml").write_text("\x01lr: 0.1\n"),
     "config.yaml: invalid YAML: unacceptable character #x0001: special characters are not allowed in"),
    (lambda p: (p / "config.yaml").write_text("lr: 0.1\nwhen: 2001-13-45\n"),
     "config.yaml: invalid YAML: month must be in 1..12"),
    (lambda p: (p / "config.yaml").write_text(""),
     "config.yaml: the top level must be a mapping of settings (key: value), got an empty file"),
    (lambda p: (p / "metrics.csv").write_text((p / "metrics.csv").read_text().replace("\n1,", "\n1,abc", 1)),
     "metrics.csv, row 2: train_loss is 'abc", ),  # a gap in the curve, silently, before
], ids=["binary-metrics", "utf-16-metrics", "empty-metrics", "header-only-metrics", "control-character-config",
        "impossible-date-config", "empty-config", "text-in-the-metric"])
def test_a_damaged_run_is_refused_in_one_line_naming_the_file(cli, tmp_path, saturation_runs, damage, message):
    mse, ce = saturation_runs
    hurt = _copy(mse, tmp_path / "copies")
    damage(hurt)
    result = cli("compare", hurt, ce, "--out", tmp_path / "cmp")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"error: {hurt}/") and message in result.err
    assert result.err.count("\n") == 1  # one line, whatever the YAML parser's message looked like
    assert not (tmp_path / "cmp").exists()


@pytest.mark.parametrize("summary", ["[1, 2]", "null", '{"status": "compl'])
def test_a_damaged_summary_still_shows_the_curves_marked_damaged(cli, tmp_path, saturation_runs, summary):
    """The curves come from metrics.csv; the run's status says the summary is damaged, and a note why."""
    mse, ce = saturation_runs
    hurt = _copy(mse, tmp_path / "copies")
    (hurt / "summary.json").write_text(summary)
    result = cli("compare", hurt, ce, "--output", tmp_path / "cmp.png")
    assert result.code == 0, result.text
    assert "│ saturation_mse │ damaged" in result.out
    assert "note: saturation_mse is damaged: summary.json is " in " ".join(result.err.split())


def test_a_bad_name_is_refused_before_any_work_or_output(cli, tmp_path, saturation_runs):
    result = cli("compare", *saturation_runs, "--name", "a b", "--out", tmp_path / "cmp")
    assert result.code == 2 and result.out == ""
    assert result.err == ("error: --name must be 1-64 letters, digits, '_', '.' or '-' (starting with a letter or "
                          "digit), got 'a b'\n")
    assert not (tmp_path / "cmp").exists()


def test_runs_are_named_by_any_unique_part_of_their_names(cli, tmp_path, monkeypatch, saturation_runs):
    mse, _ = saturation_runs
    monkeypatch.setenv("GRADLAB_RUNS", str(mse.parent))  # the module's runs, looked up by name
    result = cli("compare", "saturation_mse", "saturation_ce", "--output", tmp_path / "cmp.png")
    assert result.code == 0, result.text
    result = cli("compare", "saturation", "saturation_ce", "--output", tmp_path / "cmp.png")
    assert result.code == 2 and "error: run 'saturation' is ambiguous: matches " in result.err


def test_config_values_yaml_reads_as_dates_are_shown_and_recorded(cli, tmp_path, saturation_runs):
    mse, ce = saturation_runs
    dated = _copy(mse, tmp_path / "copies")
    with (dated / "config.yaml").open("a") as config:
        config.write("started: 2026-11-22\n")  # a hand-edited config: YAML reads this as a date
    result = cli("compare", dated, ce, "--out", tmp_path / "cmp")
    assert result.code == 0, result.text
    assert "started" in result.out and "2026-11-22" in result.out
    (run,) = run_dirs(tmp_path / "cmp")
    assert json.loads((run / "summary.json").read_text())["differing"]["started"] == ["2026-11-22", None]


def test_log_says_what_a_log_axis_leaves_out(cli, tmp_path):
    # the picture silently dropped values <= 0 (an empty box when all were): now a note, or exit 2 when none is > 0
    runs = tmp_path / "runs"
    for f in ("x**2 - 4*x + 6", "x**2 - 100", "x**2 - 200"):  # f > 0 throughout; f <= 64 - 100 = -36 throughout
        assert cli("descend", "--f", f, "--steps", "5", "--no-plot", "--out", runs).code == 0
    # one second can hold the runs, and then their random suffixes order them: tell them by their values
    third, second, first = sorted(run_dirs(runs),
                                  key=lambda run: float(next(csv.DictReader((run / "metrics.csv").open()))["f"]))
    both = cli("compare", first, second, "--log", "--output", tmp_path / "both.png")
    assert both.code == 0, both.err
    negative = sum(float(row["f"]) <= 0 for row in csv.DictReader((second / "metrics.csv").open()))
    assert negative == 6 and f"note: --log leaves out {negative} values of f that are <= 0" in " ".join(both.err.split())
    none = cli("compare", second, third, "--log", "--out", tmp_path / "cmp")
    assert (none.code, none.err.strip()) == (2, "error: --log: no value of f is > 0, and a log axis shows only those; "
                                                "use --linear")
    assert not (tmp_path / "cmp").exists()


def test_the_same_column_twice_is_refused_with_a_column_the_runs_have(cli, tmp_path):
    # descend runs log step, not epoch: the hint said --x epoch, which then failed as a missing column
    runs = tmp_path / "runs"
    for f in ("x**2", "x**2 + 1"):
        assert cli("descend", "--f", f, "--steps", "3", "--no-plot", "--out", runs).code == 0
    result = cli("compare", *run_dirs(runs), "--x", "f", "--out", tmp_path / "cmp")
    assert (result.code, result.err.strip()) == (2, "error: --metric and --x are both 'f'; plot a metric against "
                                                    "another column (--x step, for instance)")


def test_start_and_final_are_the_logged_values_even_when_none_is_finite(cli, tmp_path):
    # a run diverging at step 1 has step_size nan then inf: it showed '-' for both, while a run whose only
    # nan was its start showed 'nan'; the CSV had the inf
    runs = tmp_path / "runs"
    assert cli("descend", "--steps", "3", "--no-plot", "--out", runs).code == 0
    assert cli("descend", "--lr", "1e308", "--no-plot", "--out", runs).code == 0
    result = cli("compare", *run_dirs(runs), "--metric", "step_size", "--out", tmp_path / "cmp")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "│ diverged │ nan │ inf │ - │ never │" in text and "│ completed │ nan │ 0.768 │ 0.768 (3) │ never │" in text


def test_the_readme_command_picks_the_two_train_runs_beside_a_landscape_run(cli, tmp_path, saturation_runs):
    # following the README in order leaves a landscape run of saturation_mse in runs/ too: a glob
    # matching it as well made compare refuse to mix "a landscape run and a train run"
    import glob
    import shutil

    from tests.conftest import REPO

    root = tmp_path / "runs"
    for run in saturation_runs:
        shutil.copytree(run, root / run.name)
    landscape = root / saturation_runs[0].name.replace("-train-", "-landscape-")
    shutil.copytree(saturation_runs[0], landscape)
    summary = json.loads((landscape / "summary.json").read_text())
    (landscape / "summary.json").write_text(json.dumps({**summary, "command": "landscape"}))

    line = next(line for line in (REPO / "README.md").read_text().splitlines() if line.startswith("$ gradlab compare"))
    patterns = line.split()[3:]
    assert patterns == ["runs/*-train-saturation_mse-*", "runs/*-train-saturation_ce-*"]
    matched = [sorted(glob.glob(str(tmp_path / pattern))) for pattern in patterns]
    assert [[Path(p).name for p in paths] for paths in matched] == [[saturation_runs[0].name], [saturation_runs[1].name]]
    result = cli("compare", *matched[0], *matched[1], "--out", tmp_path / "cmp")
    assert result.code == 0, result.text
    halved = json.loads((run_dirs(tmp_path / "cmp")[0] / "summary.json").read_text())["runs"]
    assert [r["halved_at"] for r in halved] == [212, 8]


def test_halved_at_says_to_what_resolution_the_log_tells_it(cli, tmp_path, saturation_runs):
    # with log_every 5 the column said "halved at epoch 215" of a loss that halved at epoch 212: the first
    # logged epoch at or below half, not the epoch it halved at
    mse, ce = saturation_runs
    thinned = _copy(mse, tmp_path / "runs", mse.name.replace("saturation_mse", "every5"))
    lines = (thinned / "metrics.csv").read_text().splitlines()
    rows = [line for line in lines[1:] if int(line.split(",")[0]) % 5 == 0]
    (thinned / "metrics.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    result = cli("compare", thinned, ce, "--out", tmp_path / "cmp")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "│ by 215 (logged every 5) │" in text and "│ 8 │" in text  # ce is logged every epoch: exact
    stats = json.loads((run_dirs(tmp_path / "cmp")[0] / "summary.json").read_text())["runs"]
    assert [(r["halved_after"], r["halved_at"]) for r in stats] == [(210, 215), (7, 8)]


@pytest.mark.parametrize("scale", [[], ["--linear"], ["--log"]])
def test_runs_near_the_float_maximum_are_compared_with_what_cannot_be_drawn_left_out(cli, tmp_path, monkeypatch,
                                                                                      scale):
    # f = 9e307 at every step: matplotlib's ticks overflowed ('internal error: RuntimeWarning: overflow
    # encountered in multiply', exit 1) and left a failed run directory
    from gradlab.plots import compare as plots_compare

    notes = []
    monkeypatch.setattr(plots_compare, "note_beyond_axis", lambda ax, count, scale: notes.append((count, scale)))
    runs = tmp_path / "runs"
    for args in (["--f", "1e307*x**2", "--x0", "3", "--lr", "1e-309"], ["--f", "x**2 + 1e100", "--x0", "3"]):
        assert cli("descend", *args, "--steps", 20, "--no-plot", "--out", runs).code == 0
    result = cli("compare", *run_dirs(runs), *scale, "--out", tmp_path / "cmp")
    assert result.code == 0, result.err
    (run,) = run_dirs(tmp_path / "cmp")
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    f = [float(row["f"]) for row in csv.DictReader((run / "compare.csv").open())]
    assert max(f) > 8.9e307  # the CSV has every value
    # the 21 values of 9e307: beyond 1e300 (linear), outside [1e-150, 1e150] (log); 1e100 + x^2 fits both
    assert notes == ([(21, "log")] if scale == ["--log"] else [(21, "linear")])


def test_compare_shows_every_components_parameters_and_a_saved_config_switches_components(cli, tmp_path):
    # compare showed optimizer.name alone for an sgd and an adam run: the parameters left at their
    # defaults (Adam's betas and eps, the step schedule's gamma, huber's delta) were in no config
    (tmp_path / "c.yaml").write_text("data: {name: xor, n_samples: 40}\nloss: huber\ntraining: {epochs: 1}\n"
                                     "optimizer: {name: adam, lr: 0.01, schedule: step}\n")
    assert cli("train", tmp_path / "c.yaml", "--no-plot", "-q").code == 0
    assert cli("train", tmp_path / "c.yaml", "--set", "optimizer=sgd", "--no-plot", "-q").code == 0
    adam, sgd = sorted(run_dirs(tmp_path / "runs"), key=lambda run: yaml.safe_load((run / "config.yaml").read_text())
                       ["optimizer"]["name"])
    config = yaml.safe_load((adam / "config.yaml").read_text())
    # config.yaml keeps a component as given: spelt out, --set optimizer.name=sgd carried beta1 to sgd
    assert config["optimizer"] == {"name": "adam", "lr": 0.01, "schedule": "step", "clip_norm": None}
    assert (config["loss"], config["model"]["activation"]) == ("huber", "sigmoid")
    for switch in (["--set", "optimizer.name=sgd"], ["--set", "loss.name=mse"]):
        assert cli("train", adam / "config.yaml", *switch, "--no-plot", "-q", "--out", tmp_path / "switched").code == 0
    assert compare([adam, sgd]).differing == {"optimizer.name": ["adam", "sgd"],
                                              "optimizer.schedule.name": ["step", "constant"],
                                              "optimizer.schedule.gamma": [0.5, None],
                                              "optimizer.schedule.step_size": [10, None],
                                              "optimizer.beta1": [0.9, None], "optimizer.beta2": [0.999, None],
                                              "optimizer.eps": [1e-08, None]}
    # the betas written at their defaults: the same run as one that left them out
    (tmp_path / "d.yaml").write_text((tmp_path / "c.yaml").read_text().replace(
        "lr: 0.01,", "lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1.0e-8,"))
    assert cli("train", tmp_path / "d.yaml", "--no-plot", "-q").code == 0
    spelt = next(run for run in run_dirs(tmp_path / "runs") if run not in (adam, sgd))
    assert compare([adam, spelt]).differing == {}
    assert cli("rerun", adam, "--out", tmp_path / "again", "-q").code == 0
    assert yaml.safe_load((run_dirs(tmp_path / "again")[0] / "config.yaml").read_text()) == config


@pytest.mark.parametrize("where", ["metrics.png", "sub/x.png"])
def test_an_output_inside_a_run_is_refused_before_it_overwrites_the_run(cli, tmp_path, saturation_runs, where):
    # '-o A/metrics.png' wrote the comparison's long CSV over A's own metrics.csv (the CSV sits beside
    # the PNG); a later compare then read A's final loss from it
    mse, ce = (_copy(run, tmp_path / "copies") for run in saturation_runs)
    before = (mse / "metrics.csv").read_bytes()
    result = cli("compare", mse, ce, "--output", mse / where)
    assert result.code == 2 and result.out == "" and result.err.count("\n") == 1
    assert result.err == (f"error: --output: {str(mse / where)!r} lies inside the run directory {str(mse)!r}; "
                          f"writing there could overwrite the run's own files, so name a file outside it\n")
    assert (mse / "metrics.csv").read_bytes() == before and not (mse / "sub").exists()


def test_an_output_inside_a_renamed_input_run_is_refused(cli, tmp_path, saturation_runs):
    # a run renamed before it wrote its summary is still an input: its folder is no place for the plot
    mse, ce = saturation_runs
    renamed = _copy(mse, tmp_path / "copies", name="mine")
    (renamed / "summary.json").unlink()
    result = cli("compare", renamed, ce, "--output", renamed / "metrics.png")
    assert result.code == 2 and f"lies inside the input run {str(renamed)!r}" in result.err


def test_a_folder_holding_a_users_own_config_yaml_is_no_run(cli, tmp_path, saturation_runs):
    (tmp_path / "config.yaml").write_text("lr: 0.1\n")  # the user's project folder, not a run
    result = cli("compare", *saturation_runs, "--output", tmp_path / "cmp.png")
    assert result.code == 0, result.err


def test_a_final_minus_inf_is_a_diverged_value_not_the_best(cli, tmp_path):
    # compare reads nan and -inf cells; a curve ending at -inf kept 25.04 as its best with nothing to say
    # why the lower final was not it: -inf is divergence, and the table, note and summary.json say so alike
    for lr, name in (("0.1", "slow"), ("0.2", "fast")):
        assert cli("descend", "--lr", lr, "--steps", "3", "--no-plot", "--name", name, "--out", tmp_path / name).code == 0
    (first,), (second,) = run_dirs(tmp_path / "slow"), run_dirs(tmp_path / "fast")
    metrics = first / "metrics.csv"
    rows = list(csv.reader(metrics.open()))
    f = rows[0].index("f")
    rows[3][f], rows[4][f] = "nan", "-inf"  # steps 2 and 3: 38, 25.04, nan, -inf
    with metrics.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = cli("compare", first, second, "--out", tmp_path / "cmp")
    assert result.code == 0, result.err
    text = " ".join(result.out.split())
    assert "│ slow │ completed │ 38 │ -inf │ 25.04 (1) │ never │" in text
    assert ("note: slow's f is not finite from step 2 on (final -inf): diverged values, "
            "never the best") in result.err
    (run,) = run_dirs(tmp_path / "cmp")
    row = json.loads((run / "summary.json").read_text())["runs"][0]
    assert (row["final"], row["best"], row["best_at"], row["diverged_at"]) == ("-inf", pytest.approx(25.04), 1, 2)
    assert json.loads((run / "summary.json").read_text())["runs"][1]["diverged_at"] is None


def relu_xor_at_lr_1000_and_1(cli, tmp_path, seed):
    """Train relu on noisy XOR with sgd at lr 1000 (it diverges at epoch 7) and at lr 1, named lr1000 and lr1;
    the diverged run's directory."""
    config = tmp_path / "xor.yaml"
    config.write_text((CONFIGS / "xor.yaml").read_text())
    common = ("--set", "optimizer.name=sgd", "--set", "data.noise=0.4", "--set", "model.hidden=[3]",
              "--set", "model.activation=relu", "--set", f"seed={seed}", "--no-plot", "-q")
    for lr in ("1000", "1"):
        assert cli("train", config, *common, "--set", f"optimizer.lr={lr}", "--name", f"lr{lr}").code == 0
    return next(p for p in run_dirs(tmp_path / "runs") if "-lr1000-" in p.name)


def test_a_diverged_runs_best_is_the_one_its_summary_gives(cli, tmp_path):
    # relu at lr 1000 on noisy XOR diverges at epoch 7 with test accuracy 0.72, from 0.36 at epoch 0:
    # compare said best 0.72 (7) where summary.json, results.csv and 'gradlab runs' said 0.36
    diverged = relu_xor_at_lr_1000_and_1(cli, tmp_path, seed=1)
    summary = json.loads((diverged / "summary.json").read_text())
    rows = list(csv.DictReader((diverged / "metrics.csv").open()))
    assert summary["status"] == "diverged" and [(r["epoch"], float(r["test_accuracy"])) for r in rows] == \
        [("0", 0.36), ("7", 0.72)]
    assert (summary["best_test_accuracy"], summary["best_epoch"]) == (0.36, 0)
    result = cli("compare", "lr1000", "lr1", "--metric", "test_accuracy", "--out", tmp_path / "cmp")
    assert result.code == 0, result.err
    assert "│ lr1000 │ diverged  │  0.36 │  0.72 │     0.36 (0) │" in result.out
    assert "note: lr1000 diverged: its last row, the final value, is logged at weights beyond use and is never " \
           "the best" in " ".join(result.err.split())  # a note: stderr
    (run,) = run_dirs(tmp_path / "cmp")
    row = json.loads((run / "summary.json").read_text())["runs"][0]
    assert (row["final"], row["best"], row["best_at"]) == (0.72, summary["best_test_accuracy"], summary["best_epoch"])
    losses = cli("compare", "lr1000", "lr1", "--out", tmp_path / "cmp2")  # train_loss: 0.7688 at 0, 3.1e20 at 7
    (run,) = run_dirs(tmp_path / "cmp2")
    row = json.loads((run / "summary.json").read_text())["runs"][0]
    assert losses.code == 0 and (row["best"], row["best_at"]) == (float(rows[0]["train_loss"]), 0)


def test_a_diverged_runs_last_row_is_not_where_its_metric_halved(cli, tmp_path):
    # relu at lr 1000 on noisy XOR, seed 8, diverges at epoch 7 with every unit saturated: a gradient norm of 0,
    # from 0.27 at epoch 0. compare said it halved 'by 7 (logged every 7)', from the row its best leaves out
    diverged = relu_xor_at_lr_1000_and_1(cli, tmp_path, seed=8)
    rows = list(csv.DictReader((diverged / "metrics.csv").open()))
    assert json.loads((diverged / "summary.json").read_text())["status"] == "diverged"
    assert [(r["epoch"], float(r["grad_norm"])) for r in rows] == [("0", pytest.approx(0.26998, rel=1e-4)), ("7", 0.0)]
    result = cli("compare", "lr1000", "lr1", "--metric", "grad_norm", "--out", tmp_path / "cmp")
    assert result.code == 0, result.err
    assert "│ lr1000 │ diverged │ 0.269977 │ 0 │ 0.269977 (0) │ never │" in " ".join(result.out.split())
    assert "note: lr1000 diverged: its last row, the final value, is logged at weights beyond use and is never " \
           "the best, nor where grad_norm halved" in " ".join(result.err.split())
    (run,) = run_dirs(tmp_path / "cmp")
    diverged_row, completed_row = json.loads((run / "summary.json").read_text())["runs"]
    assert (diverged_row["halved_at"], diverged_row["halved_after"]) == (None, None)
    assert (completed_row["status"], completed_row["halved_at"], completed_row["halved_after"]) == ("completed", 10, 0)


@pytest.mark.parametrize(("status", "halved"), [("completed", (20, 10)), ("diverged", (None, None))])
def test_only_a_diverged_runs_last_row_is_left_out_of_halved_at(status, halved):
    # the rule of the run's best (training.evidence): a completed run's last row is as good as any other
    from gradlab.comparison import Curve

    curve = Curve(Path("r"), "r", status, np.array([0, 10, 20]), np.array([1.0, 0.8, 0.4]), config={})
    stats = curve.stats(higher=False)
    assert (stats["halved_at"], stats["halved_after"]) == halved
    assert (stats["best"], stats["best_at"]) == ((0.4, 20) if status == "completed" else (0.8, 10))


def test_compare_reads_only_the_two_columns_it_draws(tmp_path, monkeypatch, saturation_runs):
    """Each run's metrics.csv is read as its x and metric columns, float arrays, not as a dict per row
    and cell (20 runs of 100,001 rows took 16 s that way), and the curves are the file's numbers."""
    import gradlab.runs.reading

    def whole(*args):
        raise AssertionError("a metrics file was read into a dict per row")

    mse, ce = saturation_runs
    expected = [float(r["train_loss"]) for r in csv.DictReader((mse / "metrics.csv").open())]
    monkeypatch.setattr(gradlab.runs.reading, "read_metrics_table", whole)
    comparison = compare([mse, ce])
    assert (comparison.x, comparison.metric) == ("epoch", "train_loss")
    curve = comparison.curves[0]
    assert curve.x.dtype == np.float64 and curve.x.tolist() == list(range(301))
    assert curve.y.tolist() == expected


def test_a_ctrl_c_while_drawing_names_the_run_directory_it_leaves(cli, tmp_path, monkeypatch, saturation_runs):
    import gradlab.plots.compare

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(gradlab.plots.compare, "overlay", stopped)
    result = cli("compare", *saturation_runs, "--out", tmp_path / "o")
    (run,) = run_dirs(tmp_path / "o")
    *notes, last = result.err.splitlines()  # the notes (different losses) go to stderr before it
    assert (result.code, last) == (130, "interrupted") and all(n.startswith("note: ") for n in notes)
    assert result.out.endswith(f"run directory: {run}\n")
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"


def test_losses_with_parameters_are_different_losses_too(cli, tmp_path):
    # smooth_l1 with its beta is written loss.name, loss.beta: the check looked for a key 'loss' and said nothing
    for extra in ([], ["--set", "loss=mse"]):
        assert cli("train", CONFIGS / "sine_smooth_l1.yaml", "--set", "training.epochs=2", *extra, "--out",
                   tmp_path / "runs", "--no-plot", "-q").code == 0
    first, second = run_dirs(tmp_path / "runs")
    result = cli("compare", first, second, "--out", tmp_path / "o")
    assert result.code == 0, result.err
    # regression runs have no accuracy: the note named --metric train_accuracy, which compare then refused
    assert ("note: the runs use different losses, whose values are not on one scale: compare the shapes (plateau, "
            "halving time), or --metric test_r2") in " ".join(result.err.split())
    assert cli("compare", first, second, "--metric", "test_r2", "--out", tmp_path / "o2").code == 0
