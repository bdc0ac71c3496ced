"""gradlab rerun: a seeded run reproduces its metrics exactly; a tampered metrics file is caught."""

import json

import pytest

from tests.conftest import run_dirs

TINY = "name: tiny\nseed: 4\ndata: {name: moons, n_samples: 60}\nmodel: {hidden: [5]}\nloss: bce\n" \
       "optimizer: {name: adam, lr: 0.05}\ntraining: {epochs: 6, batch_size: 16}\n"


def only_new(root, before):
    (new,) = sorted(set(run_dirs(root)) - set(before))
    return new


@pytest.fixture
def train_run(cli, tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    assert cli("train", config, "--out", tmp_path / "runs", "--no-plot", "-q").code == 0
    return run_dirs(tmp_path / "runs")[0]


def test_train_run_is_reproduced_exactly(cli, tmp_path, train_run):
    result = cli("rerun", train_run, "--out", tmp_path / "runs", "-q")
    assert result.code == 0, result.text
    assert "identical: metrics.csv matches the original in all 7 rows (time_s ignored)" in result.out
    new = only_new(tmp_path / "runs", [train_run])
    summary = json.loads((new / "summary.json").read_text())
    assert summary["command"] == "train" and summary["name"] == "tiny" and summary["identical"] is True
    assert summary["rerun_of"] == str(train_run)
    assert summary["reproduce"] == f"gradlab train {new}/config.yaml"
    assert not (new / "loss.png").exists()  # the original had no plots, so neither has the rerun
    result = cli("rerun", train_run, "--out", tmp_path / "again")
    assert "\ncompleted 6 epochs\nrerun of: " in result.out, result.out  # was 'completed: completed 6 epochs'


def test_descend_run_is_reproduced_exactly(cli, tmp_path):
    assert cli("descend", "--method", "adam", "--lr", "0.3", "--steps", "30", "--no-plot",
               "--out", tmp_path / "runs").code == 0
    (original,) = run_dirs(tmp_path / "runs")
    suffix = original.name.rsplit("-", 1)[1]
    result = cli("rerun", suffix)  # a run id's unique suffix, found under $GRADLAB_RUNS (tmp_path/runs here)
    assert result.code == 0, result.text
    assert result.out.startswith("y = x**2 - 4*x + 6")  # the run's own output first ...
    assert "converged after" in result.out or "stopped after" in result.out
    assert "identical: metrics.csv matches the original in all 31 rows" in result.out  # ... then the verdict
    new = only_new(tmp_path / "runs", [original])
    assert json.loads((new / "summary.json").read_text())["command"] == "descend"


def test_a_tampered_metrics_file_is_reported_with_row_and_column(cli, tmp_path, train_run):
    metrics = train_run / "metrics.csv"
    lines = metrics.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[3].split(",")
    column = header.index("train_loss")
    cells[column] = "0.5"
    lines[3] = ",".join(cells)
    metrics.write_text("\n".join(lines) + "\n")
    result = cli("rerun", train_run, "--out", tmp_path / "runs", "-q")
    assert result.code == 1
    assert "different: row 3 (epoch 2), column train_loss: 0.5 in the original" in " ".join(result.out.split())
    new = only_new(tmp_path / "runs", [train_run])
    assert json.loads((new / "summary.json").read_text())["identical"] is False


def test_timing_differences_do_not_count_but_missing_rows_do(cli, tmp_path, train_run):
    metrics = train_run / "metrics.csv"
    lines = metrics.read_text().splitlines()
    time_col = lines[0].split(",").index("time_s")
    bumped = []
    for line in lines[1:]:
        cells = line.split(",")
        cells[time_col] = "99.0"
        bumped.append(",".join(cells))
    metrics.write_text("\n".join([lines[0], *bumped]) + "\n")
    assert cli("rerun", train_run, "--out", tmp_path / "runs", "-q").code == 0
    metrics.write_text("\n".join([lines[0], *bumped[:-1]]) + "\n")
    result = cli("rerun", train_run, "--out", tmp_path / "runs", "-q")
    assert result.code == 1 and "the original has 6 rows, the rerun 7" in " ".join(result.out.split())


def test_runs_that_cannot_be_rerun_are_refused(cli, tmp_path, train_run):
    (train_run / "config.yaml").unlink()
    result = cli("rerun", train_run)
    assert result.code == 2 and "no config.yaml" in result.err
    fake = tmp_path / "runs" / "20261122-000000-compare-abcdef"
    fake.mkdir()
    (fake / "summary.json").write_text(json.dumps({"command": "compare", "status": "completed"}))
    result = cli("rerun", fake)
    assert result.code == 2 and "rerun reproduces train and descend runs, this is a compare run" in result.err
    assert cli("rerun", tmp_path / "nowhere").code == 2


@pytest.mark.parametrize("how", ["--out", "GRADLAB_RUNS"])
def test_rerun_and_compare_write_under_out_or_gradlab_runs(cli, tmp_path, monkeypatch, train_run, how):
    target = tmp_path / "elsewhere"
    if how == "GRADLAB_RUNS":
        monkeypatch.setenv("GRADLAB_RUNS", str(target))
    extra = ["--out", target] if how == "--out" else []
    assert cli("rerun", train_run, "-q", *extra).code == 0
    (rerun,) = run_dirs(target)
    assert json.loads((rerun / "summary.json").read_text())["rerun_of"] == str(train_run)
    assert cli("compare", train_run, rerun, *extra).code == 0
    compared = [p for p in run_dirs(target) if "-compare-" in p.name]
    assert len(compared) == 1 and (compared[0] / "summary.json").exists()
    assert run_dirs(tmp_path / "runs") == [train_run]  # nothing else went to the default root


def _with_cell(path, row: int, text: str) -> str:
    """The text of a metrics file with the second cell of data row ``row`` replaced by ``text``."""
    lines = path.read_text().splitlines()
    cells = lines[row].split(",")
    cells[1] = text
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("damage", "message"), [
    (lambda p: (p / "metrics.csv").write_bytes(b"\xff\xfe\x00garbage\x80\x81\n"),
     "is damaged: metrics.csv is unreadable: 'utf-8' codec can't decode byte 0xff"),
    (lambda p: (p / "metrics.csv").write_bytes((p / "metrics.csv").read_text().encode("utf-16")),
     "is damaged: metrics.csv is unreadable: 'utf-8' codec can't decode byte 0xff"),
    (lambda p: (p / "summary.json").write_text("[1, 2]"),
     "/summary.json is an array, not the JSON object {...} a run summary is"),
    (lambda p: (p / "summary.json").write_text("null"), "/summary.json is null, not the JSON object {...} a run summary is"),
    (lambda p: (p / "summary.json").write_text('{"a":' * 100000 + "1" + "}" * 100000),
     "/summary.json is unreadable: its JSON is nested too deeply to parse"),
    (lambda p: (p / "summary.json").write_text(json.dumps({"command": "train", "status": "completed", "name": 3})),
     "is damaged: summary.json field 'name' is 3, not text"),
    (lambda p: (p / "config.yaml").write_text("\x01name: tiny\n"),
     "is damaged: config.yaml: invalid YAML: unacceptable character #x0001: special characters are not allowed in"),
    (lambda p: (p / "metrics.csv").write_text(""), "/metrics.csv is empty: a run to compare needs at least one row"),
    (lambda p: (p / "config.yaml").write_text((p / "config.yaml").read_text().replace("epochs:", "epochs: 0 #")),
     "/config.yaml: training.epochs: input should be greater than or equal to 1 (got 0)"),
    (lambda p: (p / "metrics.csv").write_text((p / "metrics.csv").read_text().splitlines()[0] + "\n"),
     "/metrics.csv holds only its header: a run to compare needs at least one row"),
    # a row that is not CSV inside the file: the rerun trained first, then failed, leaving its run behind
    (lambda p: (p / "metrics.csv").write_text(_with_cell(p / "metrics.csv", row=2, text="1" * 200000)),
     "/metrics.csv is unreadable: not CSV (field larger than field limit (131072))"),
], ids=["binary-metrics", "utf-16-metrics", "array-summary", "null-summary", "deep-summary", "number-name", "control-character-config",
        "empty-metrics", "invalid-config-value", "header-only-metrics", "not-csv-inside"])
def test_a_damaged_original_is_refused_before_anything_is_trained(cli, tmp_path, train_run, damage, message):
    damage(train_run)
    result = cli("rerun", train_run, "--out", tmp_path / "new", "-q")
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"error: {train_run}") and message in result.err
    assert result.err.count("\n") == 1
    assert not (tmp_path / "new").exists()  # checked first: no new run directory left behind


def test_rerun_takes_a_part_of_the_name_and_records_the_original_by_its_absolute_path(cli, tmp_path, train_run):
    result = cli("rerun", "tiny", "-q")  # the run's name, under $GRADLAB_RUNS (tmp_path/runs)
    assert result.code == 0, result.text
    new = only_new(tmp_path / "runs", [train_run])
    assert json.loads((new / "summary.json").read_text())["rerun_of"] == str(train_run.resolve())
    relative = train_run.relative_to(tmp_path)  # the working directory is tmp_path
    assert cli("rerun", relative, "-q").code == 0
    newest = only_new(tmp_path / "runs", [train_run, new])
    assert json.loads((newest / "summary.json").read_text())["rerun_of"] == str(train_run.resolve())


@pytest.mark.parametrize("where", ["middle", "end", "both"])
def test_blank_lines_in_the_original_metrics_are_no_rows(cli, tmp_path, train_run, where):
    # one rule in every reader: a blank line holds no cells and is skipped, so the comparison neither
    # crashes on it (an empty row had no epoch cell) nor counts it as an eighth row
    metrics = train_run / "metrics.csv"
    lines = metrics.read_text().splitlines()
    if where in ("middle", "both"):
        lines.insert(3, "")
    if where in ("end", "both"):
        lines.append("")
    metrics.write_text("\n".join(lines) + "\n")
    result = cli("rerun", train_run, "--out", tmp_path / "runs", "-q", "--no-plot")
    assert result.code == 0, result.text
    assert result.err == ""
    assert "identical: metrics.csv matches the original in all 7 rows (time_s ignored)" in result.out
    new = only_new(tmp_path / "runs", [train_run])
    summary = json.loads((new / "summary.json").read_text())
    assert summary["identical"] is True and summary["rerun_of"] == str(train_run.resolve())


def test_a_difference_after_a_blank_line_is_counted_in_data_rows(cli, tmp_path, train_run):
    from gradlab.runs import compare_metrics

    metrics = train_run / "metrics.csv"
    lines = metrics.read_text().splitlines()
    copy = tmp_path / "copy.csv"
    header = lines[0].split(",")
    cells = lines[3].split(",")
    cells[header.index("train_loss")] = "0.5"
    copy.write_text("\n".join([*lines[:2], "", lines[2], ",".join(cells), *lines[4:]]) + "\n")
    difference = compare_metrics(metrics, copy)
    assert difference.row == 3 and difference.column == "train_loss" and difference.second == "0.5"
    assert difference.message.startswith("row 3 (epoch 2), column train_loss:")


def test_a_difference_that_looks_like_markup_is_printed_as_written(cli, tmp_path, train_run):
    metrics = train_run / "metrics.csv"
    lines = metrics.read_text().splitlines()
    cells = lines[2].split(",")
    cells[lines[0].split(",").index("train_loss")] = "[/red]x"
    lines[2] = ",".join(cells)
    metrics.write_text("\n".join(lines) + "\n")
    result = cli("rerun", train_run, "--out", tmp_path / "runs", "-q")
    assert result.code == 1, result.text
    assert "different: row 2 (epoch 1), column train_loss: [/red]x in the original" in " ".join(result.out.split())
    new = only_new(tmp_path / "runs", [train_run])
    assert json.loads((new / "summary.json").read_text())["identical"] is False


def test_an_interrupted_rerun_records_that_identity_is_unknown(cli, tmp_path, monkeypatch, train_run):
    # a rerun stopped by Ctrl-C never finished: summary.json said identical: false, as if it had differed
    import gradlab.descent

    real, calls = gradlab.descent.metric_row, []

    def ctrl_c_at_step_2(run, step):
        calls.append(step)
        if len(calls) == 3:  # the start and step 1 are logged
            raise KeyboardInterrupt
        return real(run, step)

    assert cli("descend", "--steps", "5", "--no-plot", "--out", tmp_path / "d").code == 0
    (original,) = run_dirs(tmp_path / "d")
    monkeypatch.setattr(gradlab.descent, "metric_row", ctrl_c_at_step_2)
    result = cli("rerun", original, "--out", tmp_path / "again", "-q")
    assert result.code == 130 and "interrupted" in result.out
    (rerun,) = run_dirs(tmp_path / "again")
    summary = json.loads((rerun / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert (summary["identical"], summary["difference"]) == (None, None)


def test_a_column_empty_in_every_row_is_no_difference(tmp_path):
    """A regression run from before metrics.csv dropped the accuracy columns it never filled reruns equal."""
    from gradlab.runs import compare_metrics

    old = tmp_path / "old.csv"
    old.write_text("epoch,train_loss,test_loss,train_accuracy,test_accuracy,train_r2,test_r2\n"
                   "0,0.5,0.6,,,0.1,0.2\n1,0.25,0.3,,,0.7,0.6\n")
    new = tmp_path / "new.csv"
    new.write_text("epoch,train_loss,test_loss,train_r2,test_r2\n0,0.5,0.6,0.1,0.2\n1,0.25,0.3,0.7,0.6\n")
    assert compare_metrics(old, new) is None
    new.write_text("epoch,train_loss,test_loss,train_r2,test_r2\n0,0.5,0.6,0.1,0.2\n1,0.25,0.3,0.7,0.5\n")
    assert compare_metrics(old, new).message == "row 2 (epoch 1), column test_r2: 0.6 in the original, 0.5 in the rerun"


def _files(tmp_path, first, second):
    (tmp_path / "a.csv").write_text(first)
    (tmp_path / "b.csv").write_text(second)
    return tmp_path / "a.csv", tmp_path / "b.csv"


def test_compare_metrics_counted_walks_both_files_and_counts_the_rows(tmp_path):
    from gradlab.runs import compare_metrics, compare_metrics_counted

    # equal but for the timing column and a blank line: no difference, in all 3 rows
    a, b = _files(tmp_path, "epoch,train_loss,time_s\n0,0.5,0.1\n1,0.25,0.2\n2,0.125,0.3\n",
                  "epoch,train_loss,time_s\n0,0.5,9\n\n1,0.25,9\n2,0.125,9\n")
    assert compare_metrics_counted(a, b) == (None, 3)
    # two cells differ: the first by row is reported, with the message compare_metrics always gave
    a, b = _files(tmp_path, "epoch,train_loss,test_loss\n0,0.5,0.6\n1,0.25,0.3\n2,0.125,0.1\n",
                  "epoch,train_loss,test_loss\n0,0.5,0.6\n1,0.25,0.35\n2,0.1,0.1\n")
    difference, rows = compare_metrics_counted(a, b)
    assert rows == 3
    assert difference.message == "row 2 (epoch 1), column test_loss: 0.3 in the original, 0.35 in the rerun"
    assert (difference.row, difference.column, difference.first, difference.second) == (2, "test_loss", "0.3", "0.35")
    assert compare_metrics(a, b) == difference
    # in one row, the first column in the original's order
    a, b = _files(tmp_path, "epoch,train_loss,test_loss\n0,0.5,0.6\n", "epoch,train_loss,test_loss\n0,0.4,0.7\n")
    assert compare_metrics(a, b).message == "row 1 (epoch 0), column train_loss: 0.5 in the original, 0.4 in the rerun"
    # different lengths, equal as far as both go
    a, b = _files(tmp_path, "step,f\n0,1.0\n1,0.5\n2,0.25\n", "step,f\n0,1.0\n1,0.5\n")
    difference, rows = compare_metrics_counted(a, b)
    assert rows == 2 and difference.row == 3
    assert difference.message == "the original has 3 rows, the rerun 2: they agree on the first 2"
    assert compare_metrics_counted(b, a)[0].message == "the original has 2 rows, the rerun 3: they agree on the first 2"


def test_a_column_filled_only_after_a_difference_decides_the_message(tmp_path):
    """A column empty in every row of one file is absent, which only its last row tells: a difference in
    train_loss in row 1 is not the first difference when test_loss turns out filled in one file only."""
    from gradlab.runs import compare_metrics

    a, b = _files(tmp_path, "epoch,train_loss,test_loss\n0,0.5,\n1,0.25,\n2,0.125,\n",
                  "epoch,train_loss,test_loss\n0,0.4,\n1,0.25,\n2,0.125,0.1\n")
    assert compare_metrics(a, b).message == "the columns differ (only in the rerun: test_loss)"
    # filled in neither: absent from both, and train_loss's difference is the first
    b.write_text("epoch,train_loss,test_loss\n0,0.4,\n1,0.25,\n2,0.125,\n")
    assert compare_metrics(a, b).message == "row 1 (epoch 0), column train_loss: 0.5 in the original, 0.4 in the rerun"
    # a short (hand-edited) row's missing cells are empty, as they always were
    b.write_text("epoch,train_loss\n0,0.5\n1\n2,0.125\n")
    assert compare_metrics(a, b).message == "row 2 (epoch 1), column train_loss: 0.25 in the original, (empty) in " \
                                            "the rerun"


def test_rerun_reads_no_metrics_file_into_a_dict_per_row(cli, tmp_path, monkeypatch, train_run):
    """The original is checked for a row at its ends, and the comparison counts the rows it walks: a run of
    a million steps is not read whole three times (5 s and 1 GB each)."""
    import gradlab.runs.reading

    def whole(*args):
        raise AssertionError("a metrics file was read into a dict per row")

    monkeypatch.setattr(gradlab.runs.reading, "read_metrics_table", whole)
    result = cli("rerun", train_run, "--out", tmp_path / "runs", "-q")
    assert result.code == 0, result.text
    assert "identical: metrics.csv matches the original in all 7 rows (time_s ignored)" in result.out


def test_a_column_named_twice_is_said_so_not_another_order(tmp_path):
    from gradlab.runs import compare_metrics

    a, b = _files(tmp_path, "step,x,f,f\n0,8,30,30\n", "step,x,f\n0,8,30\n")
    assert compare_metrics(a, b).message == "the columns differ (named more often in the original: f)"
    a, b = _files(tmp_path, "step,f,x\n0,30,8\n", "step,x,f\n0,8,30\n")
    assert compare_metrics(a, b).message == "the columns differ (same columns in another order)"


def test_a_byte_order_mark_an_editor_added_is_no_part_of_the_first_column(tmp_path):
    # it read as a column '\ufeffstep' only in the original
    from gradlab.runs import compare_metrics, read_metrics

    a, b = _files(tmp_path, "\ufeffstep,x,f\n0,8,30\n1,6.8,25.04\n", "step,x,f\n0,8,30\n1,6.8,25.04\n")
    assert compare_metrics(a, b) is None
    assert read_metrics(a) == read_metrics(b) == [{"step": 0, "x": 8.0, "f": 30.0}, {"step": 1, "x": 6.8, "f": 25.04}]


def test_an_interrupted_original_is_compared_up_to_the_row_where_it_stopped(cli, tmp_path, monkeypatch):
    # the rerun trains every epoch; the original's last row is the state where Ctrl-C stopped it, and it has no
    # rows after that: it said "different: row 4 ..." (exit 1) although every row before it matched
    import gradlab.training

    config = tmp_path / "xor.yaml"
    config.write_text("data: {name: xor, n_samples: 40}\nmodel: {hidden: [4], activation: tanh}\nloss: bce\n"
                      "optimizer: {name: sgd, lr: 0.5}\ntraining: {epochs: 8, batch_size: 8, log_every: 1}\n")
    real, calls = gradlab.training.train_epoch, []

    def ctrl_c_in_epoch_4(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(gradlab.training, "train_epoch", ctrl_c_in_epoch_4)
    assert cli("train", config, "--out", tmp_path / "t", "--no-plot", "-q").code == 130
    monkeypatch.setattr(gradlab.training, "train_epoch", real)
    (original,) = run_dirs(tmp_path / "t")
    assert json.loads((original / "summary.json").read_text())["status"] == "interrupted"
    rows = (original / "metrics.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["0", "1", "2", "3", "4"]  # epoch 4: where it stopped
    result = cli("rerun", original, "--out", tmp_path / "again", "-q")
    assert result.code == 0, result.out
    assert ("identical: metrics.csv matches the original in all 4 rows before the original's last: it was "
            "interrupted, and that row holds the state where it stopped (time_s ignored)") in " ".join(result.out.split())
    (rerun,) = run_dirs(tmp_path / "again")
    assert json.loads((rerun / "summary.json").read_text())["identical"] is True


def test_quiet_still_says_on_stderr_that_a_run_diverged_and_where(cli, tmp_path):
    # 'rerun -q' of a run that diverged at epoch 7 printed 'identical: ...' alone (exit 0), as for a sound run
    from tests.conftest import CONFIGS

    config = tmp_path / "xor.yaml"
    config.write_text((CONFIGS / "xor.yaml").read_text())
    assert cli("train", config, "--set", "optimizer.name=sgd", "--set", "optimizer.lr=1000", "--set", "data.noise=0.4",
               "--set", "model.hidden=[3]", "--set", "model.activation=relu", "--set", "seed=1", "--no-plot", "-q",
               "--name", "boom").code == 0
    (original,) = run_dirs(tmp_path / "runs")
    result = cli("rerun", "boom", "-q")
    assert result.code == 0, result.text
    assert result.out.splitlines()[-1] == "identical: metrics.csv matches the original in all 2 rows (time_s ignored)"
    assert "diverged" not in result.out  # stdout holds the paths and the verdict a script reads
    assert "diverged: the original and the rerun, both at epoch 7" in result.err.splitlines()
    loud = cli("rerun", "boom-" + original.name[-6:])  # without -q the rerun's own output says it (stdout)
    assert "diverged at epoch 7: " in loud.out and "diverged: the original" not in loud.err
    summary = json.loads((original / "summary.json").read_text())
    (original / "summary.json").write_text(json.dumps({**summary, "status": "completed"}))
    result = cli("rerun", original, "-q")
    assert "diverged: the rerun at epoch 7 (the original completed)" in result.err.splitlines()


def test_quiet_names_a_descend_runs_divergence_by_its_step(cli, tmp_path):
    assert cli("descend", "--lr", "1.5", "--x0", "8", "--no-plot").code == 0  # 'diverged at step 11: f rose ...'
    (original,) = run_dirs(tmp_path / "runs")
    result = cli("rerun", original, "-q")
    assert result.code == 0 and result.err == "diverged: the original and the rerun, both at step 11\n"
    assert cli("descend", "--lr", "0.1", "--x0", "8", "--no-plot", "--out", tmp_path / "sound").code == 0
    (sound,) = run_dirs(tmp_path / "sound")
    assert cli("rerun", sound, "-q", "--out", tmp_path / "quiet").err == ""  # nothing diverged: nothing said
