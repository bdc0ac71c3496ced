import csv
import json
import re

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradlab.errors import InputError
from gradlab.runs import Run, runs_root
from tests.conftest import refuse_listing, run_dirs


def test_root_precedence(tmp_path, monkeypatch):
    assert runs_root(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("GRADLAB_RUNS", str(tmp_path / "env"))
    assert runs_root() == tmp_path / "env"
    monkeypatch.delenv("GRADLAB_RUNS")
    assert str(runs_root()) == "runs"


def test_metrics_log_writes_numpy_scalars_as_plain_numbers_and_refuses_unknown_columns(tmp_path):
    from gradlab.runs.files import MetricsLog

    with MetricsLog(tmp_path / "m.csv", ["step", "a", "b", "c"]) as log:
        log.append({"step": np.int64(1), "a": np.float64(0.1), "b": None, "c": 1 / 3})
        log.append({"a": float("inf"), "c": np.float32(0.5)})
        with pytest.raises(KeyError, match=r"not in the header: \['d'\]"):
            log.append({"a": 1.0, "d": 2.0})
    assert (tmp_path / "m.csv").read_bytes() == b"step,a,b,c\r\n1,0.1,,0.3333333333333333\r\n,inf,,0.5\r\n"
    assert log.rows == 2


def test_the_reproduce_line_names_the_run_by_an_absolute_path(tmp_path, monkeypatch):
    # 'gradlab train runs/<run>/config.yaml' worked only from the directory the run was started in
    monkeypatch.chdir(tmp_path)
    with Run.create("train", {"seed": 0}, out="runs", argv=["gradlab", "train"],
                    reproduce="gradlab train {run}/config.yaml") as run:
        run.finish("completed")
    summary = json.loads(run.file("summary.json").read_text())
    assert summary["reproduce"] == f"gradlab train {tmp_path / 'runs' / run.path.name}/config.yaml"


def test_a_sweeps_reproduce_line_names_its_config_by_an_absolute_path(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text("data: {name: xor, n_samples: 20}\nmodel: {hidden: [2]}\n"
                                        "training: {epochs: 1}\n")
    args = ["sweep", "base.yaml", "--grid", "optimizer.lr=0.1,1", "--workers", "1", "--out", "s"]
    monkeypatch.setattr("sys.argv", ["gradlab", *args])  # what a run records as its command line
    assert cli(*args).code == 0
    (sweep_dir,) = (tmp_path / "s").iterdir()
    summary = json.loads((sweep_dir / "summary.json").read_text())
    assert summary["reproduce"].startswith(f"gradlab sweep {tmp_path / 'base.yaml'} --grid optimizer.lr=0.1,1")


def test_completed_run_has_config_metrics_summary(tmp_path):
    with Run.create("descend", {"lr": 0.1, "x0": [8.0]}, name="demo", out=tmp_path,
                    argv=["gradlab", "descend"], reproduce="gradlab descend --config {run}/config.yaml") as run:
        with run.metrics(["step", "x"]) as log:
            log.append({"step": 0, "x": 8.0})
            log.append({"step": 1, "x": 6.8})
            # flushed row by row: readable before the log is closed
            assert len(run.file("metrics.csv").read_text().splitlines()) == 3
        run.finish("completed", final={"x": 6.8})
    assert re.fullmatch(r"\d{8}-\d{6}-descend-demo-[0-9a-f]{6}", run.path.name)
    assert yaml.safe_load(run.file("config.yaml").read_text()) == {"lr": 0.1, "x0": [8.0]}
    rows = list(csv.DictReader(run.file("metrics.csv").open()))
    assert [float(r["x"]) for r in rows] == [8.0, 6.8]
    summary = json.loads(run.file("summary.json").read_text())
    assert summary["status"] == "completed"
    assert summary["final"] == {"x": 6.8}
    assert summary["versions"]["gradlab"]
    assert summary["reproduce"] == f"gradlab descend --config {run.path}/config.yaml"
    assert summary["duration_s"] >= 0


def test_interrupted_and_failed_status(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with Run.create("train", {}, out=tmp_path) as run:
            raise KeyboardInterrupt
    assert json.loads(run.file("summary.json").read_text())["status"] == "interrupted"
    with pytest.raises(ZeroDivisionError):
        with Run.create("train", {}, out=tmp_path) as run:
            1 / 0
    summary = json.loads(run.file("summary.json").read_text())
    assert summary["status"] == "failed"
    assert "ZeroDivisionError" in summary["error"]


def test_runs_in_the_same_second_never_share_a_directory(tmp_path):
    paths = {Run.create("train", {}, out=tmp_path).path for _ in range(50)}
    assert len(paths) == 50 == len(run_dirs(tmp_path))


@pytest.mark.parametrize("name", ["../escape", "ab\n", "_a"])  # 'ab\n' made a directory name holding a newline
def test_bad_name_is_refused_before_anything_is_written(tmp_path, name):
    with pytest.raises(InputError, match="--name"):
        Run.create("train", {}, name=name, out=tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_run_marked_interrupted_from_outside_keeps_that_status(tmp_path):
    """A sweep's client marks a point interrupted while its task may still run on a Dask worker:
    the task's later writes do not overwrite the client's final status (the client is its only writer)."""
    from gradlab.runs import mark_interrupted

    with Run.create("train", {"lr": 0.1}, out=tmp_path) as run:
        run.update(epochs=1)
        assert mark_interrupted(run.path, "the sweep was interrupted") is True
        run.update(epochs=2)  # the worker goes on
        run.finish("completed", final={"train_loss": 0.5})
    summary = json.loads(run.file("summary.json").read_text())
    assert (summary["status"], summary["stop_reason"], summary.get("epochs")) == (
        "interrupted", "the sweep was interrupted", 1)
    assert "final" not in summary
    assert mark_interrupted(run.path, "again") is False  # already final


def test_a_run_updates_its_own_summary_after_it_ended(tmp_path):
    with Run.create("train", {"lr": 0.1}, out=tmp_path) as run:
        run.finish("completed")
    run.update(identical=True)  # e.g. rerun adds its verdict once the run has ended
    summary = json.loads(run.file("summary.json").read_text())
    assert (summary["status"], summary["identical"]) == ("completed", True)


# --- finding a run by a part of its name, and reading damaged files --------------------------------


def _run_dirs_named(root, *names):
    """Run directories with these names under ``root`` (not the working directory, where a
    name would also be a relative path)."""
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "config.yaml").write_text("lr: 0.1\n")
    return [root / name for name in names]


@pytest.mark.parametrize("part", ["saturation_mse", "2f15", "031726", "2f15c0", "train-saturation_mse-2f",
                                  "20261122-031726-train-saturation_mse-2f15c0"])
def test_resolve_run_takes_any_unique_part_of_a_name(tmp_path, part):
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    mse, _ = _run_dirs_named(root, "20261122-031726-train-saturation_mse-2f15c0",
                             "20261122-031730-train-saturation_ce-9a0b1c")
    assert resolve_run(part, root) == mse


def test_resolve_run_prefers_a_path_or_a_whole_name_to_a_part(tmp_path):
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    short, _ = _run_dirs_named(root, "20261122-031726-train-x-2f15c0", "20261122-031726-train-x-2f15c0-copy")
    assert resolve_run(short.name, root) == short  # also part of the copy's name: the whole name wins
    assert resolve_run(short, tmp_path / "elsewhere") == short  # a path needs no root


def test_resolve_run_takes_the_run_named_exactly_so_beside_longer_names(tmp_path):
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    xor, wide, _ = _run_dirs_named(root, "20261122-031726-train-xor-2f15c0", "20261122-031730-train-xor_wide-9a0b1c",
                                   "20261122-031735-sweep-xor_wide-77aa01")
    assert resolve_run("xor", root) == xor  # 'xor' is part of all three names, the name of one
    with pytest.raises(InputError, match="run 'xor_wide' is ambiguous"):  # two runs carry that name
        resolve_run("xor_wide", root)


def test_resolve_run_refuses_an_ambiguous_part_listing_the_candidates(tmp_path):
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    mse, ce = _run_dirs_named(root, "20261122-031726-train-saturation_mse-2f15c0",
                              "20261122-031730-train-saturation_ce-9a0b1c")
    with pytest.raises(InputError, match=rf"run 'saturation' is ambiguous: matches {mse.name}, {ce.name}; "):
        resolve_run("saturation", root)
    with pytest.raises(InputError, match=r"run 'zzz': no run directory there, and no run under .* or in a sweep there "
                                         r"has it in its name \(see 'gradlab runs'\)$"):
        resolve_run("zzz", root)
    with pytest.raises(InputError, match=r"run '': give a run directory or a part of a run's name"):
        resolve_run("", root)  # '' is part of every name, and Path('') is the current directory
    with pytest.raises(InputError, match=r"run 'a{300}': no run directory there"):
        resolve_run("a" * 300, root)  # too long for a file name: the system refuses to look (ENAMETOOLONG)


def _sweep_named(root, name, *points):
    """A sweep directory (its sweep.yaml) under ``root`` holding run directories of these names."""
    (sweep,) = _run_dirs_named(root, name)
    (sweep / "sweep.yaml").write_text("grid: {}\n")
    return [sweep, *_run_dirs_named(sweep, *points)]


def test_resolve_run_finds_a_sweeps_point_by_a_part_of_its_name(tmp_path):
    # 'gradlab runs --dir <sweep>' lists the points' ids; every command taking a run refused them
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    _run_dirs_named(root, "20261208-004500-train-xor-111111")
    sweep, p1, p2 = _sweep_named(root, "20261208-004527-sweep-div-3f6231", "20261208-004528-train-p001-f29c54",
                                 "20261208-004528-train-p002-e1dc92")
    assert resolve_run("f29c54", root) == p1
    assert resolve_run("p002", root) == p2
    assert resolve_run(p2.name, root) == p2  # the whole name
    assert resolve_run("3f6231", root) == sweep  # the sweep itself is one of the root's runs


def test_resolve_run_looks_in_the_sweeps_only_when_no_run_of_the_root_has_the_part(tmp_path):
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    top, other = _run_dirs_named(root, "20261208-004500-train-p001-aaaaaa", "20261208-004501-train-xor-bbbbbb")
    _sweep_named(root, "20261208-004527-sweep-div-3f6231", "20261208-004528-train-p001-f29c54",
                 "20261208-004528-train-xor-cccccc")
    assert resolve_run("p001", root) == top  # the root's run wins over the point named alike
    assert resolve_run("xor", root) == other
    with pytest.raises(InputError, match="run 'train' is ambiguous: matches 20261208-004500-train-p001-aaaaaa, "
                                         "20261208-004501-train-xor-bbbbbb; "):  # the root's runs only
        resolve_run("train", root)


def test_resolve_run_refuses_a_part_several_sweeps_points_share_naming_them(tmp_path):
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    _, first = _sweep_named(root, "20261208-004527-sweep-div-3f6231", "20261208-004528-train-p001-f29c54")
    _, second = _sweep_named(root, "20261208-005000-sweep-div-77aa01", "20261208-005001-train-p001-e1dc92")
    _, wide = _sweep_named(root, "20261208-005100-sweep-div-88bb02", "20261208-005101-train-p001_wide-a0a0a0")
    with pytest.raises(InputError) as refused:
        resolve_run("p001", root)
    assert str(refused.value) == (f"run 'p001' is ambiguous: matches {first.name}, {second.name}, {wide.name}; "
                                  f"give more of the name")
    _, alone, _ = _sweep_named(tmp_path / "other", "20261208-005200-sweep-div-99cc03",
                               "20261208-005201-train-p001-b1b1b1", "20261208-005201-train-p001_wide-c2c2c2")
    assert resolve_run("p001", tmp_path / "other") == alone  # as among the root's runs: the one named so
    _run_dirs_named(root / "20261208-004500-train-xor-111111", "20261208-004501-train-p009-dddddd")
    with pytest.raises(InputError, match="run 'p009': no run directory there"):  # no sweep: its folders are not looked in
        resolve_run("p009", root)


def test_resolve_run_passes_over_a_sweep_it_cannot_list_and_says_so_when_the_name_is_nowhere(tmp_path, monkeypatch):
    # a sweep folder without read permission ended every lookup of a point in 'internal error: PermissionError'
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    locked, hidden = _sweep_named(root, "20261208-004527-sweep-div-3f6231", "20261208-004528-train-p001-f29c54")
    _, readable = _sweep_named(root, "20261208-005000-sweep-div-77aa01", "20261208-005001-train-p002-e1dc92")
    refuse_listing(monkeypatch, locked)
    # found in the other sweep: the locked one's points cannot be named by a part, whatever it holds
    assert resolve_run("p002", root) == readable
    assert resolve_run(hidden.name, root) == hidden  # a whole name needs no listing
    with pytest.raises(InputError) as refused:
        resolve_run("f29c54", root)
    assert str(refused.value) == (f"run 'f29c54': no run directory there, and no run under {str(root)!r} or in a "
                                  f"sweep there has it in its name (see 'gradlab runs'); cannot list 1 sweep there: "
                                  f"{str(locked)!r} (Permission denied)")


def test_resolve_run_refuses_a_run_root_it_cannot_list_naming_it(tmp_path, monkeypatch):
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    (top,) = _run_dirs_named(root, "20261208-004500-train-xor-111111")
    refuse_listing(monkeypatch, root)
    with pytest.raises(InputError) as refused:
        resolve_run("xor", root)
    assert str(refused.value) == f"--dir: cannot list {str(root)!r}: Permission denied"
    assert resolve_run(top.name, root) == top  # a whole name needs no listing


@pytest.mark.parametrize(("text", "kind"), [("[1, 2]", "an array"), ("null", "null"), ('"done"', "a string")])
def test_read_summary_refuses_json_that_is_not_an_object(tmp_path, text, kind):
    from gradlab.runs import read_summary

    (tmp_path / "summary.json").write_text(text)
    with pytest.raises(InputError, match=rf"summary.json is {kind}, not the JSON object"):
        read_summary(tmp_path)


@pytest.mark.parametrize(("data", "reason"), [
    (b"\xff\xfe\x00garbage\x80\x81\n", "'utf-8' codec can't decode byte 0xff"),
    ("epoch,train_loss\n0,0.5\n".encode("utf-16"), "'utf-8' codec can't decode byte 0xff"),  # with its BOM
    ("epoch,train_loss\n0,0.5\n".encode("utf-16-le"), "it holds NUL bytes, so it is binary or UTF-16"),  # valid UTF-8!
], ids=["binary", "utf-16", "utf-16-le"])
def test_read_metrics_refuses_a_file_that_is_not_text(tmp_path, data, reason):
    from gradlab.runs import compare_metrics, read_metrics

    metrics = tmp_path / "metrics.csv"
    metrics.write_bytes(data)
    for read in (read_metrics, lambda path: compare_metrics(path, path)):
        with pytest.raises(InputError, match=rf"^{re.escape(str(metrics))} is unreadable: {re.escape(reason)}"):
            read(metrics)


@pytest.mark.parametrize(("text", "message"), [
    ("\x01lr: 0.1\n", "invalid YAML: unacceptable character #x0001: special characters are not allowed in"),
    ("lr: 0.1\nwhen: 2001-13-45\n", "invalid YAML: month must be in 1..12"),
    ("when: !!timestamp x\n", "invalid YAML: 'NoneType' object"),
], ids=["control-character", "impossible-date", "bad-timestamp"])
def test_read_config_refuses_damaged_yaml_in_one_line(tmp_path, text, message):
    from gradlab.runs import read_config

    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(InputError) as caught:
        read_config(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'config.yaml'}") and message in str(caught.value)
    assert "\n" not in str(caught.value)  # the CLI prints one 'error:' line per line of a message


def test_a_ctrl_c_while_a_run_directory_is_made_leaves_nothing(tmp_path, monkeypatch):
    # between mkdir and the 'running' summary the directory is half made: gone, not left behind
    from gradlab.runs import directory

    def interrupted(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(directory, "write_json", interrupted)  # where Run looks it up
    with pytest.raises(KeyboardInterrupt):
        directory.Run.create("train", {"a": 1}, out=tmp_path / "root")
    assert list((tmp_path / "root").iterdir()) == []


def _last_row_read_whole(path):
    """The last row as the listing read it before it read only the ends: every row, then the last."""
    from gradlab.runs import read_metrics

    rows = read_metrics(path)
    return rows[-1] if rows else {}


def _outcome(read, path):
    try:
        return "value", read(path)
    except InputError as error:
        return "error", str(error)


_PLAIN = [b"step", b"epoch", b"train_loss", b"f", b"1", b"0.5", b"x", b",", b"\n", b"\r", b"\r\n", b" "]
_DAMAGE = [b'"', b"\0", b"\xc3\xa9", b"\xff"]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=400)
@given(pieces=st.lists(st.sampled_from(_PLAIN), max_size=40) | st.lists(st.sampled_from(_PLAIN + _DAMAGE), max_size=40),
       block=st.sampled_from([1, 2, 3, 7, 1 << 20]))
def test_the_last_row_from_the_ends_is_the_last_row_of_the_whole_file(tmp_path, monkeypatch, pieces, block):
    # any bytes, read in blocks of any size: the same row (or the same refusal) as reading every row,
    # blank lines, \r line ends, a last line without its line break, quotes, NUL and bad UTF-8 included
    from gradlab.runs import listing, reading

    monkeypatch.setattr(reading, "_BLOCK", block)
    metrics = tmp_path / "metrics.csv"
    metrics.write_bytes(b"".join(pieces))
    assert _outcome(reading.read_last_metrics_row, metrics) == _outcome(_last_row_read_whole, metrics)
    assert listing._metrics_problem(tmp_path) == (None if _outcome(reading.read_metrics_text, metrics)[0] == "value"
                                                  else "metrics.csv" + _outcome(reading.read_metrics_text, metrics)[1]
                                                  .removeprefix(str(metrics)))


@pytest.mark.parametrize(("text", "last"), [
    ("", {}),
    ("\n\r\n", {}),
    ("step,x,f\n", {}),
    ("\n\nstep,x,f\r\n\r\n", {}),
    ("step,x,f\n0,8.0,38.0\n1,7.2,30.64\n\n", {"step": 1, "x": 7.2, "f": 30.64}),
    ("step,x,f\r1,7.2,30.64\r2,6.56", {"step": 2, "x": 6.56, "f": None}),  # the row being written
    ("step,x,f\n0,8.0,38.0\n1,7.2\n", {"step": 1, "x": 7.2, "f": None}),
    ("step,x,f\n0,8.0,\"38\n.0\"\n", {"step": 0, "x": 8.0, "f": "38\n.0"}),  # a quoted line break: read whole
])
def test_read_last_metrics_row_gives_the_values_of_the_last_row(tmp_path, text, last):
    from gradlab.runs import read_last_metrics_row

    metrics = tmp_path / "metrics.csv"
    metrics.write_bytes(text.encode())
    assert read_last_metrics_row(metrics) == last


def test_a_long_metrics_file_is_read_at_its_ends_for_the_listing(tmp_path, monkeypatch):
    # the listing read every row of metrics.csv (twice: once to check it is text, once for the last row)
    # to show a run's progress; a descend run of 200,000 steps wrote 17 MB of them
    from gradlab.runs import inspect_run, listing, reading

    run = tmp_path / "20200101-000001-descend-aaaaaa"
    run.mkdir()
    (run / "config.yaml").write_text("lr: 0.1\n")
    (run / "summary.json").write_text(json.dumps({"command": "descend", "status": "running", "pid": 1,
                                                  "host": "elsewhere", "started_at": "2020-01-01T00:00:01+00:00"}))
    with (run / "metrics.csv").open("w") as handle:
        handle.write("step,x,f,df_dx,step_size\n0,8.0,38.0,12.0,\n")
        handle.writelines(f"{k},{2 + 6 / k!r},{2 + 36 / k ** 2!r},1.0,0.1\n" for k in range(1, 20001))

    def into_memory(path):
        raise AssertionError(f"{path} was read into memory whole")

    for module in (reading, listing):  # both look it up: the last row, and the check that the file is text
        monkeypatch.setattr(module, "read_metrics_text", into_memory)
    monkeypatch.setattr(reading, "_BLOCK", 4096)  # several blocks
    info = inspect_run(run)
    assert (info.status, info.steps, info.final_loss) == ("running", 20000, 2.00000009)  # f = 2 + 36 / 20000^2


def test_to_plain_spells_numpy_non_finite_values_as_floats_are():
    from gradlab.runs import to_plain

    plain = to_plain({"a": np.float64("nan"), "b": np.array([np.inf]), "c": float("-inf"), "d": np.float32(0.5)})
    assert plain == {"a": "nan", "b": ["inf"], "c": "-inf", "d": 0.5}
    json.dumps(plain, allow_nan=False)  # what write_json does: it raised ValueError on the NumPy nan


# a metrics file as a person may have edited it: a blank line, a short row, nan and inf, an empty cell,
# a column named twice (the last one counts, as in read_metrics' dicts), and text in a column not asked for
_EDITED_METRICS = ("epoch,train_loss,test_loss,note,train_loss\n"
                   "0,0.9,,a,0.5\n"
                   "\n"
                   "1,0.8,,b,nan\n"
                   "2,0.7,,c\n"
                   "3,0.6,,d,-inf\n")


def test_read_metrics_columns_holds_the_values_read_metrics_has(tmp_path):
    from gradlab.runs import read_metrics, read_metrics_columns

    metrics = tmp_path / "metrics.csv"
    metrics.write_text(_EDITED_METRICS)
    table = read_metrics_columns(metrics, ["train_loss", "epoch", "test_loss", "missing"])
    assert table.header == ["epoch", "train_loss", "test_loss", "note", "train_loss"]
    assert list(table.values) == ["train_loss", "epoch", "test_loss"]  # 'missing' is left out, not an error
    assert all(v.dtype == np.float64 for v in table.values.values())
    np.testing.assert_array_equal(table.values["epoch"], [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(table.values["train_loss"], [0.5, np.nan, np.nan, -np.inf])  # the short row: empty
    np.testing.assert_array_equal(table.values["test_loss"], [np.nan] * 4)
    assert table.filled == {"train_loss", "epoch"}  # test_loss is empty in every row
    rows = read_metrics(metrics)  # the old reader, a dict per row
    for name, values in table.values.items():
        np.testing.assert_array_equal(values, [np.nan if r[name] is None else r[name] for r in rows])


@pytest.mark.parametrize(("text", "columns", "message"), [
    ("epoch,train_loss\n0,0.5\n1,abc\n", ["epoch", "train_loss"], ", row 2: train_loss is 'abc', not a number"),
    ("epoch,train_loss\n0,0.5\n1.5,0.4\n", ["epoch", "train_loss"], ", row 2: epoch is '1.5', not a number"),
    # the first text cell by row, then in the order the columns were asked for
    ("epoch,train_loss\n0,x\n1,0.4\ny,z\n", ["train_loss", "epoch"], ", row 1: train_loss is 'x', not a number"),
    ("epoch,train_loss\n0,x\ny,z\n", ["epoch", "train_loss"], ", row 1: train_loss is 'x', not a number"),
    ("epoch,train_loss\nw,x\n", ["epoch", "train_loss"], ", row 1: epoch is 'w', not a number"),
    ("epoch,train_loss\nw,x\n", ["train_loss", "epoch"], ", row 1: train_loss is 'x', not a number"),
    ("", ["epoch"], " is empty: a run to compare needs at least one row of metrics"),
    ("epoch,train_loss\n\n", ["epoch"], " holds only its header: a run to compare needs at least one row of metrics"),
    ("epoch\n" + "1" * 200_000 + "\n", ["epoch"], " is unreadable: not CSV (field larger than field limit (131072))"),
], ids=["text", "fraction-of-an-epoch", "row-first", "row-first-2", "column-order", "column-order-2", "empty",
        "header-only", "huge-field"])
def test_read_metrics_columns_refuses_what_compare_refused_naming_file_row_and_column(tmp_path, text, columns,
                                                                                       message):
    from gradlab.runs import read_metrics_columns

    metrics = tmp_path / "metrics.csv"
    metrics.write_text(text)
    with pytest.raises(InputError) as caught:
        read_metrics_columns(metrics, columns)
    assert str(caught.value) == f"{metrics}{message}"


@pytest.mark.parametrize(("data", "reason"), [
    (b"\xff\xfe\x00garbage\x80\x81\n", "'utf-8' codec can't decode byte 0xff"),
    ("epoch,train_loss\n0,0.5\n".encode("utf-16-le"), "it holds NUL bytes, so it is binary or UTF-16"),
], ids=["binary", "utf-16-le"])
def test_read_metrics_columns_and_header_refuse_a_file_that_is_not_text(tmp_path, data, reason):
    from gradlab.runs import read_metrics_columns, read_metrics_header

    metrics = tmp_path / "metrics.csv"
    metrics.write_bytes(data)
    for read in (read_metrics_header, lambda path: read_metrics_columns(path, ["epoch"])):
        with pytest.raises(InputError, match=rf"^{re.escape(str(metrics))} is unreadable: {re.escape(reason)}"):
            read(metrics)


def test_read_metrics_header_is_the_first_row_that_is_not_blank(tmp_path):
    from gradlab.runs import read_metrics_header

    metrics = tmp_path / "metrics.csv"
    metrics.write_text("\n\nstep,x,f\n0,8.0,38.0\n")
    assert read_metrics_header(metrics) == ["step", "x", "f"]
    metrics.write_text("")
    assert read_metrics_header(metrics) == []


def test_the_streaming_readers_check_a_files_text_in_blocks_with_the_same_refusals(tmp_path, monkeypatch):
    # each file's bytes and text were held whole to check them: rerun of a million-step run peaked at 259 MB
    import gradlab.runs.reading as reading
    from gradlab.runs import compare_metrics_counted, read_metrics_text, require_metrics_rows

    good = tmp_path / "good.csv"
    good.write_text("\ufeffstep,f\n0,30\n1,25.04\n")
    bad_bytes = {"not-utf8": b"step,f\n0,30\n1,\xff\n", "nul": b"step,f\n0,30\n1,\x00\n"}
    expected = {}
    for name, data in bad_bytes.items():
        (tmp_path / f"{name}.csv").write_bytes(data)
        with pytest.raises(InputError) as refused:
            read_metrics_text(tmp_path / f"{name}.csv")
        expected[name] = str(refused.value)
    whole = reading.read_metrics_text
    monkeypatch.setattr(reading, "read_metrics_text", lambda path: pytest.fail(f"{path} read whole"))
    require_metrics_rows(good)
    assert compare_metrics_counted(good, good) == (None, 2)
    monkeypatch.setattr(reading, "read_metrics_text", whole)
    for name in bad_bytes:
        with pytest.raises(InputError) as refused:
            require_metrics_rows(tmp_path / f"{name}.csv")
        assert str(refused.value) == expected[name]


@pytest.mark.parametrize("text", [".", ".."])
def test_dot_names_no_sweep(tmp_path, monkeypatch, text):
    # 'gradlab runs show .' outside a run showed a sweep: sweep / '.' is the sweep's own directory, a run directory
    from gradlab.runs import resolve_run

    root = tmp_path / "root"
    _sweep_named(root, "20261208-004527-sweep-div-3f6231", "20261208-004528-train-p001-f29c54")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=rf"run '{re.escape(text)}': no run directory there"):
        resolve_run(text, root)
