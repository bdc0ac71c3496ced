"""gradlab runs: the history newest first, filters, --json, and damaged or half-written run directories
listed as such, never a crash."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradlab.runs import inspect_run, list_newest_runs, list_runs
from tests.conftest import REPO, refuse_listing, run_dirs, subprocess_env

TINY = "name: tiny\ndata: {name: xor, n_samples: 40}\nmodel: {hidden: [3]}\nloss: bce\n" \
       "optimizer: {name: sgd, lr: 0.5}\ntraining: {epochs: 3, batch_size: full}\n"


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def fake_run(root, name, summary=None, config=True, metrics=None):
    path = root / name
    path.mkdir(parents=True)
    if config:
        (path / "config.yaml").write_text("lr: 0.1\n")
    if summary is not None:
        (path / "summary.json").write_text(summary if isinstance(summary, str) else json.dumps(summary))
    if metrics:
        (path / "metrics.csv").write_text(metrics)
    return path


@pytest.fixture
def history(cli, tmp_path):
    """Two real runs (train, descend) and five broken ones, under tmp_path/runs."""
    root = tmp_path / "runs"
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    assert cli("train", config, "--out", root, "--no-plot", "-q").code == 0
    assert cli("descend", "--steps", "7", "--no-plot", "--out", root).code == 0
    old = {"command": "train", "status": "running", "started_at": "2020-01-01T00:00:00+00:00"}
    broken = {
        "corrupt": fake_run(root, "20200101-000001-train-corrupt-aaaaaa", summary='{"status": "compl'),
        "no_config": fake_run(root, "20200101-000002-train-noconf-bbbbbb", config=False,
                              summary={**old, "status": "completed", "epochs": 5}),
        "half_written": fake_run(root, "20200101-000003-train-half-cccccc"),  # config.yaml only
        "dead": fake_run(root, "20200101-000004-train-dead-dddddd", summary={**old, "pid": dead_pid(), "host": _host()},
                         metrics="epoch,train_loss,time_s\n0,0.7,0.1\n1,0.6,0.2\n"),
        "empty": fake_run(root, "20200101-000005-descend-eeeeee", config=False),
    }
    (root / "notes").mkdir()  # not a run directory: not listed
    return root, broken


def table_rows(text):
    """The body rows of the runs table (the lines between the header rule and the first blank line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"}) + 1
    return lines[start:next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))]


def _host():
    import platform

    return platform.node()


def test_listing_survives_damaged_directories(cli, history):
    root, broken = history
    result = cli("runs", "--dir", root)
    assert result.code == 0, result.text
    text = result.out
    assert "7 runs in" in text
    lines = table_rows(text)
    assert "train" in lines[0] or "descend" in lines[0]  # the real runs are the newest
    assert "completed" in lines[0] and "completed" in lines[1]
    assert "notes" not in text
    statuses = {r.id: r.status for r in list_runs(root)}
    assert statuses[broken["corrupt"].name] == "damaged"
    assert statuses[broken["no_config"].name] == "damaged"
    assert statuses[broken["half_written"].name] == "incomplete"
    assert statuses[broken["dead"].name] == "incomplete"
    assert statuses[broken["empty"].name] == "damaged"
    # each problem is explained under the table
    assert "summary.json is unreadable" in text and "config.yaml is missing" in text
    assert "is gone" in text and "no summary.json" in text


def test_a_limited_listing_says_how_many_runs_there_are(cli, history):
    # "--limit 2" printed "2 runs in ...", as if there were no others
    root, _ = history
    result = cli("runs", "--dir", root, "--limit", "2")
    assert result.out.startswith("2 of 7 runs in ") and len(table_rows(result.out)) == 2
    assert cli("runs", "--dir", root, "--limit", "7").out.startswith("7 runs in ")
    assert cli("runs", "--dir", root, "--command", "descend", "-n", "1").out.startswith("1 of 2 runs in ")  # matching


def _count_config_reads(monkeypatch):
    """The run directories whose config.yaml the listing parses, in order (read_config still runs)."""
    from gradlab.runs import listing

    read = []

    def counting(path):
        read.append(Path(path).name)
        return real(path)

    real = listing.read_config
    monkeypatch.setattr(listing, "read_config", counting)
    return read


def _five_runs(root):
    """Four good runs from 2026 and an old one (2020) whose config.yaml is not YAML; newest last."""
    runs = [fake_run(root, "20200101-000000-train-old-aaaaaa", summary=GOOD, config=False)]
    (runs[0] / "config.yaml").write_text("lr: [0.1\n")
    for day in range(1, 5):
        stamp = f"2026010{day}"
        runs.append(fake_run(root, f"{stamp}-000000-train-r{day}-{day:06d}",
                             summary={**GOOD, "started_at": f"2026-01-0{day}T00:00:00+00:00"}))
    return runs


def test_a_limited_listing_reads_only_the_configs_of_the_runs_it_shows(cli, tmp_path, monkeypatch):
    # 'runs -n 5' over 2,002 runs parsed all 2,002 configs (2.9 s) and then showed 5
    root = tmp_path / "runs"
    runs = _five_runs(root)
    read = _count_config_reads(monkeypatch)
    result = cli("runs", "--dir", root, "-n", "2")
    assert result.code == 0, result.text
    assert result.out.startswith("2 of 5 runs in ")
    assert [row.split()[0] for row in table_rows(result.out)] == ["000004", "000003"]
    assert read == [runs[4].name, runs[3].name]
    assert "damaged" not in result.out


def test_a_limited_listing_still_shows_a_damaged_config_where_it_lists_the_run(cli, tmp_path, monkeypatch):
    root = tmp_path / "runs"
    _five_runs(root)
    read = _count_config_reads(monkeypatch)
    result = cli("runs", "--dir", root, "-n", "5")
    assert len(read) == 5 and table_rows(result.out)[4].split() == ["aaaaaa", "train", "damaged", "-", "-", "-", "-"]
    assert "damaged: 20200101-000000-train-old-aaaaaa: config.yaml, line 2, column 1: invalid YAML" in result.out
    # a status filter needs every run's files: the damaged one is found though it is the oldest
    read.clear()
    result = cli("runs", "--dir", root, "--status", "damaged", "-n", "1")
    assert result.out.startswith("1 run in ") and len(read) == 5
    assert table_rows(result.out)[0].split()[:3] == ["aaaaaa", "train", "damaged"]


def test_a_limited_listing_is_the_start_of_the_whole_one(history):
    # the order comes from the names and summaries, before the configs are read: a summary's started_at
    # overrides its name's stamp, a damaged summary leaves the name's, a name that is no run the mtime
    root, _ = history
    fake_run(root, "20300101-000000-train-late-ffffff", summary={**GOOD, "started_at": "2019-01-01T00:00:00+00:00"})
    fake_run(root, "20250101-000000-train-torn-eeeeee", summary="{")
    fake_run(root, "handmade", summary=GOOD, config=False)
    whole = [(r.id, r.status, r.problem, r.epochs) for r in list_runs(root)]
    for limit in range(1, len(whole) + 1):
        shown, matching = list_newest_runs(root, limit=limit)
        assert [(r.id, r.status, r.problem, r.epochs) for r in shown] == whole[:limit] and matching == len(whole)
    shown, matching = list_newest_runs(root, command="descend", limit=1)
    assert matching == 2 and [r.id for r in shown] == [r.id for r in list_runs(root, command="descend")][:1]


def test_a_half_written_run_shows_its_progress_from_the_metrics(history):
    _, broken = history
    info = inspect_run(broken["dead"])
    assert info.status == "incomplete" and info.epochs == 1 and info.final_loss == 0.6


def test_a_live_running_run_stays_running(tmp_path):
    import os

    path = fake_run(tmp_path, "20200101-000009-train-live-ffffff",
                    summary={"command": "train", "status": "running", "pid": os.getpid(), "host": _host(),
                             "started_at": "2020-01-01T00:00:09+00:00"})
    assert inspect_run(path).status == "running"


@pytest.mark.parametrize("pid", [10**30, 2**31, -1, 0, 1.5, True, "12", None])
def test_a_running_summary_whose_pid_names_no_process_is_incomplete(cli, tmp_path, pid):
    # 10**30 overflowed os.kill (internal error); os.kill(-1, 0) and os.kill(0, 0) succeed, so -1 and 0
    # were listed as running, as were the pids that are no int
    root = tmp_path / "runs"
    path = fake_run(root, "20200101-000002-train-pid-bbbbbb",
                    summary={**GOOD, "status": "running", "pid": pid, "host": _host()})
    problem = f"status is 'running' but its pid {pid!r} is no process id (a whole number 1 to 2147483647)"
    table = cli("runs", "--dir", root)
    assert table.code == 0 and table.err == ""
    assert f"incomplete: {path.name}: {problem}" in " ".join(table.out.split())
    [listed] = json.loads(cli("runs", "--dir", root, "--json").out)
    assert (listed["status"], listed["problem"]) == ("incomplete", problem)
    shown = cli("runs", "show", path)
    assert shown.code == 0 and "incomplete" in shown.out


def test_a_huge_duration_or_a_start_in_the_future_is_one_short_cell(cli, tmp_path):
    # 1e300 s was printed as a 300-digit number of hours; a running run whose started_at lies in the
    # future was shown as "-251605790415303 ms"
    import os

    root = tmp_path / "runs"
    fake_run(root, "20200101-000001-train-long-aaaaaa", summary={**GOOD, "duration_s": 1e300})
    fake_run(root, "20200101-000002-train-ahead-bbbbbb",
             summary={**GOOD, "status": "running", "pid": os.getpid(), "host": _host(),
                      "started_at": "9999-12-31T23:59:59+00:00"})
    table = cli("runs", "--dir", root)
    assert table.code == 0
    rows = {row.split()[0]: row.split() for row in table_rows(table.out)}
    assert rows["aaaaaa"][-2:] == ["2.78e+296", "h"] and rows["bbbbbb"][-1] == "-"
    assert max(len(line) for line in table.out.splitlines()) <= 80
    ahead = [r for r in json.loads(cli("runs", "--dir", root, "--json").out) if r["id"].endswith("bbbbbb")]
    assert ahead[0]["status"] == "running" and ahead[0]["duration_s"] is None


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.007, "7 ms"), (1.44, "1.4 s"), (245, "4 min 05 s"), (7380, "2 h 03 min"),
    (3600 * 9999 + 3599, "9999 h 59 min"), (3600 * 17758966, "1.78e+07 h"),
])
def test_duration_cells(seconds, shown):
    from gradlab.cli.runs import duration

    assert duration(seconds) == shown


def test_json_and_filters(cli, history):
    root, broken = history
    result = cli("runs", "--dir", root, "--json")
    assert result.code == 0
    listed = json.loads(result.out)
    assert len(listed) == 7
    assert [r["started"] for r in listed] == sorted((r["started"] for r in listed), reverse=True)  # newest first
    train = next(r for r in listed if r["command"] == "train" and r["status"] == "completed")
    assert train["name"] == "tiny" and train["epochs"] == 3 and train["final_loss"] > 0
    assert train["best_test_accuracy"] is not None and train["duration_s"] >= 0
    descend = next(r for r in listed if r["command"] == "descend" and r["status"] == "completed")
    assert descend["steps"] == 7 and descend["final_loss"] == pytest.approx(2 + (6 * 0.8**7) ** 2)  # f for descend: x_k - 2 = 6 * 0.8^k
    damaged = json.loads(cli("runs", "--dir", root, "--json", "--status", "damaged").out)
    assert sorted(r["id"] for r in damaged) == sorted(broken[k].name for k in ("corrupt", "no_config", "empty"))
    assert all(r["problem"] for r in damaged)
    descends = json.loads(cli("runs", "--dir", root, "--json", "--command", "descend").out)
    assert {r["command"] for r in descends} == {"descend"} and len(descends) == 2
    newest = json.loads(cli("runs", "--dir", root, "--json", "--limit", "1").out)
    assert [r["id"] for r in newest] == [listed[0]["id"]]


@pytest.mark.parametrize(("args", "message"), [
    (["--status", "complete"], r"--status: unknown value 'complete' \(did you mean 'completed'\?\)"),
    (["--limit", "0"], r"--limit must be >= 1"),
    (["--dir", "nowhere"], r"--dir 'nowhere': no such directory"),
])
def test_bad_filters(cli, args, message):
    result = cli("runs", *args)
    assert result.code == 2 and __import__("re").search(message, result.err), result.err


ALLOWED = "train, descend, sweep, plot, compare, landscape, gradcheck, bench"


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_command_that_writes_no_runs_is_refused(cli, tmp_path, json_flag):
    # it listed nothing, exit 0, as if there were no such runs yet: a typo, or a command such as
    # rerun (its runs are train or descend runs) or list, which writes none
    root = tmp_path / "runs"
    fake_run(root, "20200101-000001-bench-gemm-aaaaaa", summary={"command": "bench", "status": "completed"})
    fake_run(root, "20200101-000002-descend-bbbbbb", summary={"command": "descend", "status": "completed"})
    fake_run(root, "20200101-000003-tune-cccccc", summary={"command": "tune", "status": "completed"})
    for command, hint in [("bogus", ""), ("rerun", ""), ("list", ""), ("descnd", " (did you mean 'descend'?)")]:
        result = cli("runs", "--dir", root, "--command", command, *json_flag)
        assert (result.code, result.out) == (2, "")
        # a command no version lists here (tune) can still be listed once a run of it is there
        assert result.err == f"error: --command: unknown value {command!r}{hint}; choose from: {ALLOWED}, tune\n"
    for command in ("bench", "tune"):
        result = cli("runs", "--dir", root, "--command", command, "--json")
        assert result.code == 0 and [r["command"] for r in json.loads(result.out)] == [command]


def test_a_command_that_writes_runs_lists_nothing_until_it_has(cli, tmp_path):
    for command in ("sweep", "bench"):
        result = cli("runs", "--command", command)
        assert (result.code, result.err) == (0, "") and "no runs under" in result.out
    result = cli("runs", "--command", "explain")
    assert (result.code, result.err) == (2, f"error: --command: unknown value 'explain'; choose from: {ALLOWED}\n")


def test_every_command_that_writes_runs_is_one_runs_can_filter_by():
    # Run.create refuses a command missing from RUN_COMMANDS, which the listing's check reads
    from gradlab.runs import RUN_COMMANDS, Run

    assert ", ".join(RUN_COMMANDS) == ALLOWED
    with pytest.raises(ValueError, match="'tune' is not one of RUN_COMMANDS"):
        Run.create("tune", {})
    created = set(re.findall(r'Run\.create\(\s*"(\w+)"', "".join(p.read_text() for p in (REPO / "gradlab").rglob("*.py"))))
    created |= set(re.findall(r'Run\.create\(\s*"(\w+)"', (REPO / "benchmarks" / "common.py").read_text()))
    assert created == set(RUN_COMMANDS)


def test_empty_history(cli, tmp_path):
    result = cli("runs")
    assert result.code == 0 and "no runs under" in result.out


def test_a_folder_that_cannot_be_listed_is_one_line_and_exit_2(cli, tmp_path, monkeypatch):
    # chmod a-r on the run root or on a sweep in it: 'error: internal error: PermissionError: ...', exit 1
    root = tmp_path / "runs"
    sweep = fake_run(root, "20261208-004527-sweep-div-3f6231")
    (sweep / "sweep.yaml").write_text("grid: {}\n")
    fake_run(sweep, "20261208-004528-train-p001-f29c54")
    fake_run(root, "20261208-004500-train-xor-111111")
    refuse_listing(monkeypatch, sweep)
    result = cli("runs", "show", "p001")
    assert (result.code, result.out) == (2, "")
    assert result.err == (f"error: run 'p001': no run directory there, and no run under {str(root)!r} or in a sweep "
                          f"there has it in its name (see 'gradlab runs'); cannot list 1 sweep there: "
                          f"{str(sweep)!r} (Permission denied)\n")
    assert cli("runs", "show", "xor").code == 0  # the root's own runs are found as before
    result = cli("runs", "--dir", sweep)
    assert (result.code, result.err) == (2, f"error: --dir: cannot list {str(sweep)!r}: Permission denied\n")
    refuse_listing(monkeypatch, root)
    for args in (["runs"], ["runs", "show", "xor"], ["compare", "xor", "p001"]):
        result = cli(*args)
        assert (result.code, result.out, result.err) == (
            2, "", f"error: $GRADLAB_RUNS: cannot list {str(root)!r}: Permission denied\n"), args


def test_show_prints_config_summary_and_plots(cli, tmp_path):
    assert cli("descend", "--steps", "5", "--out", tmp_path / "runs").code == 0
    (run,) = run_dirs(tmp_path / "runs")
    result = cli("runs", "show", run.name[-6:])
    assert result.code == 0, result.text
    assert "config.yaml" in result.out and "f: x**2 - 4*x + 6" in result.out
    assert "stop_reason" in result.out and "max_steps" in result.out
    assert str(run / "descent.png") in result.out
    shown = json.loads(cli("runs", "show", run, "--json").out)
    assert shown["config"]["steps"] == 5 and shown["summary"]["status"] == "completed"
    assert shown["plots"] == [str(run / "descent.png")]


def test_show_piped_into_80_columns_keeps_each_path_on_one_line(cli, tmp_path, monkeypatch):
    # rich broke '.../descent.pn' + 'g' at 80 columns, so a copied or grepped path was wrong
    from gradlab.cli import common

    deep = tmp_path / ("a-folder-name-long-enough-to-pass-eighty-columns-" * 2) / "runs"
    assert cli("descend", "--steps", "5", "--out", deep).code == 0
    (run,) = run_dirs(deep)
    monkeypatch.setattr(common.out, "width", 80)
    lines = cli("runs", "show", run).out.splitlines()
    assert str(run / "descent.png") in lines and str(run / "metrics.csv") in lines


def test_show_a_damaged_run(cli, history):
    root, broken = history
    result = cli("runs", "show", broken["corrupt"])
    assert result.code == 0
    assert "damaged" in result.out and "(missing or unreadable)" in result.out
    shown = json.loads(cli("runs", "show", broken["no_config"], "--json").out)
    assert shown["config"] is None and shown["status"] == "damaged" and shown["summary"]["epochs"] == 5
    assert cli("runs", "show", "zzzzzz", "--dir", root).code == 2


def test_a_diverged_run_with_nan_values_is_listed(cli, tmp_path):
    from tests.conftest import CONFIGS

    out = tmp_path / "nan_runs"
    result = cli("train", CONFIGS / "sine_smooth_l1.yaml", "--out", out, "--no-plot", "-q", "--set", "loss=mse",
                 "--set", "optimizer.name=sgd", "--set", "optimizer.lr=5")
    assert result.code == 0
    listing = cli("runs", "--dir", out)
    assert listing.code == 0, listing.err
    assert "diverged" in listing.out and "nan" in listing.out


GOOD = {"command": "train", "status": "completed", "started_at": "2020-01-01T00:00:00+00:00", "epochs": 5,
        "duration_s": 1.5, "final": {"train_loss": 0.25}}


def _binary_metrics(path):
    (path / "metrics.csv").write_bytes(b"\xff\xfe\x00garbage\x80\x81\n")


@pytest.mark.parametrize("damage, problem", [
    (lambda p: _binary_metrics(p), "metrics.csv is unreadable: 'utf-8' codec can't decode byte 0xff"),
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "epochs": "five"})),
     "summary.json field 'epochs' is 'five', not a count (a whole number >= 0)"),
    # json.dump writes a nan as NaN, which json reads back as a float: no duration to format
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "duration_s": float("nan")})),
     "summary.json field 'duration_s' is nan, not a duration (finite seconds >= 0)"),
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "duration_s": "inf"})),
     "summary.json field 'duration_s' is 'inf', not a duration (finite seconds >= 0)"),
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "duration_s": -5})),
     "summary.json field 'duration_s' is -5, not a duration (finite seconds >= 0)"),
    # JSON integers have no size limit; 10**400 is no float: isfinite and float() raised OverflowError
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "duration_s": 10**400})),
     "summary.json field 'duration_s' is 1000"),
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "final": {"train_loss": 10**400}})),
     "summary.json field 'final.train_loss' is 1000"),
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "epochs": 1e300})),
     "summary.json field 'epochs' is 1e+300, not a count (a whole number >= 0)"),
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "steps": -1})),
     "summary.json field 'steps' is -1, not a count (a whole number >= 0)"),
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "final": {"train_loss": "garbage"}})),
     "summary.json field 'final.train_loss' is 'garbage', not a number"),
    (lambda p: (p / "summary.json").write_text(json.dumps({**GOOD, "command": None, "name": 3})),
     "summary.json field 'name' is 3, not text"),
    (lambda p: (p / "summary.json").write_text(json.dumps(GOOD)[:40]), "summary.json is unreadable: "),
    (lambda p: (p / "summary.json").write_text('{"a":' * 100000 + "1" + "}" * 100000),
     "summary.json is unreadable: its JSON is nested too deeply to parse"),
    (lambda p: (p / "config.yaml").write_text("- a\n- b\n"), "config.yaml, line 1: the top level must be a mapping of settings (key: value), got a list"),
    (lambda p: (p / "config.yaml").write_bytes(b"lr: \xff\xfe\n"), "config.yaml: cannot read the config file: 'utf-8' codec can't decode byte 0xff"),
    (lambda p: (p / "config.yaml").write_text(""),
     "config.yaml: the top level must be a mapping of settings (key: value), got an empty file"),
    (lambda p: (p / "config.yaml").write_text("[" * 5000 + "]" * 5000), "config.yaml: invalid YAML: nested too deeply (no config needs more than a few levels)"),
], ids=["binary-metrics", "string-epochs", "nan-duration", "inf-duration", "negative-duration", "huge-int-duration",
        "huge-int-loss", "float-epochs",
        "negative-steps", "garbage-loss", "number-name", "truncated-summary", "deep-summary", "config-list",
        "binary-config", "empty-config", "deep-config"])
def test_each_kind_of_damage_is_listed_with_its_reason(cli, tmp_path, damage, problem):
    root = tmp_path / "runs"
    fake_run(root, "20200101-000001-train-fine-aaaaaa", summary=GOOD)
    path = fake_run(root, "20200101-000002-train-hurt-bbbbbb",
                    summary=None if "metrics" in problem else GOOD)
    damage(path)
    [fine] = [r for r in list_runs(root) if r.id.endswith("aaaaaa")]
    assert (fine.status, fine.epochs, fine.final_loss, fine.duration_s) == ("completed", 5, 0.25, 1.5)
    info = inspect_run(path)
    assert info.status == "damaged" and info.problem.split("; ")[-1].startswith(problem)
    table = cli("runs", "--dir", root)
    assert table.code == 0 and table.err == ""
    assert "damaged: 20200101-000002-train-hurt-bbbbbb: " in table.out
    listed = {r["id"]: r for r in json.loads(cli("runs", "--dir", root, "--json").out)}
    assert listed[path.name]["status"] == "damaged" and problem in listed[path.name]["problem"]
    assert listed["20200101-000001-train-fine-aaaaaa"]["status"] == "completed"
    shown = cli("runs", "show", path)
    assert shown.code == 0 and "damaged" in shown.out and shown.err == ""
    shown_json = json.loads(cli("runs", "show", path, "--json").out)
    assert shown_json["status"] == "damaged" and problem in shown_json["problem"]


def test_the_table_reads_at_80_columns(tmp_path):
    root = tmp_path / "runs"
    long_name = "a-really-long-experiment-name-for-the-table"
    fake_run(root, "20200101-000001-train-short-aaaaaa", summary={**GOOD, "name": "saturation_mse"})
    fake_run(root, "20200101-000002-train-long-bbbbbb",
             summary={**GOOD, "name": long_name, "status": "interrupted", "duration_s": 245.0})
    fake_run(root, "20200101-000003-sweep-cccccc", summary={**GOOD, "command": "sweep", "epochs": None,
                                                            "points": 12, "best_test_accuracy": 0.9375})
    done = subprocess.run([sys.executable, "-m", "gradlab", "runs", "--dir", str(root)], capture_output=True,
                          text=True, env=subprocess_env(COLUMNS="80"), timeout=60)
    assert done.returncode == 0, done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    rows = table_rows(done.stdout)
    assert len(rows) == 3  # one line per run: nothing wrapped
    assert rows[0].split() == ["cccccc", "sweep", "completed", "12", "pts", "0.25", "0.9375", "1.5", "s"]
    long_row = rows[1].split()
    assert long_row[0] == "bbbbbb" and long_row[1] == "train" and long_row[2].endswith("…")
    assert long_name.startswith(long_row[2][:-1]) and len(long_row[2]) >= 12
    assert long_row[3:] == ["interrupted", "5", "0.25", "-", "4", "min", "05", "s"]
    assert rows[2].split() == ["aaaaaa", "train", "saturation_mse", "completed", "5", "0.25", "-", "1.5", "s"]


@pytest.mark.parametrize("part", ["saturation_mse", "2f15", "031726", "2f15c0"])
def test_show_finds_a_run_by_any_unique_part_of_its_name(cli, tmp_path, part):
    root = tmp_path / "runs"
    fake_run(root, "20261122-031726-train-saturation_mse-2f15c0", summary={**GOOD, "name": "saturation_mse"})
    fake_run(root, "20261122-031730-train-saturation_ce-9a0b1c", summary={**GOOD, "name": "saturation_ce"})
    result = cli("runs", "show", part)
    assert result.code == 0, result.err
    assert result.out.startswith("20261122-031726-train-saturation_mse-2f15c0")


def test_show_refuses_an_ambiguous_part_and_lists_the_runs_it_matches(cli, tmp_path):
    root = tmp_path / "runs"
    fake_run(root, "20261122-031726-train-saturation_mse-2f15c0", summary=GOOD)
    fake_run(root, "20261122-031730-train-saturation_ce-9a0b1c", summary=GOOD)
    result = cli("runs", "show", "saturation")
    assert result.code == 2 and result.out == ""
    assert result.err == ("error: run 'saturation' is ambiguous: matches 20261122-031726-train-saturation_mse-2f15c0, "
                          "20261122-031730-train-saturation_ce-9a0b1c; give more of the name\n")


def test_the_ids_a_sweeps_listing_shows_are_taken_wherever_a_run_is(cli, tmp_path):
    # 'gradlab runs --dir <sweep>' listed them, and compare, rerun and 'runs show' said no run had them in its name
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    assert cli("sweep", config, "--grid", "optimizer.lr=0.1,0.5", "--workers", "1").code == 0
    (sweep,) = run_dirs(tmp_path / "runs")
    points = {Path(r["path"]).name[-6:]: Path(r["path"]) for r in json.loads(cli("runs", "--dir", sweep, "--json").out)}
    first, second = sorted(points, key=lambda i: points[i].name)  # p1 (lr 0.1), p2 (lr 0.5)
    shown = cli("runs", "show", first)
    assert (shown.code, shown.out.splitlines()[0]) == (0, f"{points[first].name}  train  completed")
    compared = cli("compare", first, second, "--output", tmp_path / "c.png")
    assert compared.code == 0, compared.err
    assert re.search(r"optimizer\.lr\s+\S+\s+0\.1\s+\S+\s+0\.5", compared.out)
    rerun = cli("rerun", second, "-q")
    assert rerun.code == 0, rerun.err
    assert f"rerun of: {points[second]}" in rerun.out and "identical: metrics.csv matches" in rerun.out


def test_json_paths_are_absolute(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("GRADLAB_RUNS")  # ./runs, relative to the working directory (tmp_path)
    assert cli("descend", "--steps", "3").code == 0
    (run,) = run_dirs(tmp_path / "runs")
    [listed] = json.loads(cli("runs", "--json").out)
    assert listed["path"] == str(run.resolve())
    shown = json.loads(cli("runs", "show", run.name[-6:], "--json").out)
    assert shown["path"] == str(run.resolve())
    assert shown["plots"] == [str(run.resolve() / "descent.png")]
    assert str(run.resolve() / "metrics.csv") in shown["tables"]


@pytest.mark.parametrize("metrics", [
    b"\xff\xfe\x00garbage\x80\x81\n" + bytes(range(256)),
    "epoch,train_loss,time_s\n0,0.7,0.1\n".encode("utf-16"),
    "epoch,train_loss,time_s\n0,0.7,0.1\n".encode("utf-16-le"),
], ids=["random-bytes", "utf-16", "utf-16-le"])
def test_a_completed_run_whose_metrics_are_not_text_is_damaged_and_shows_no_numbers(cli, tmp_path, metrics):
    root = tmp_path / "runs"
    path = fake_run(root, "20200101-000002-train-hurt-bbbbbb", summary=GOOD)
    (path / "metrics.csv").write_bytes(metrics)
    info = inspect_run(path)
    assert info.status == "damaged" and info.problem.startswith("metrics.csv is unreadable: ")
    table = cli("runs", "--dir", root)
    assert table.code == 0
    # its numbers come from files that cannot be trusted: '-', as in the README's example
    assert table_rows(table.out)[0].split() == ["bbbbbb", "train", "damaged", "-", "-", "-", "-"]
    [listed] = json.loads(cli("runs", "--dir", root, "--json").out)
    assert (listed["status"], listed["epochs"], listed["final_loss"]) == ("damaged", None, None)


def test_a_damaged_row_shows_dashes_even_when_its_summary_has_numbers(cli, tmp_path):
    root = tmp_path / "runs"
    fake_run(root, "20200101-000002-train-noconf-bbbbbb", summary=GOOD, config=False,
             metrics="epoch,train_loss,time_s\n0,0.7,0.1\n")
    table = cli("runs", "--dir", root)
    assert table_rows(table.out)[0].split() == ["bbbbbb", "train", "damaged", "-", "-", "-", "-"]
    assert "damaged: 20200101-000002-train-noconf-bbbbbb: config.yaml is missing" in table.out


@pytest.mark.parametrize(("summary", "problem"), [
    ("[1, 2]", "summary.json is an array, not the JSON object {...} a run summary is"),
    ("null", "summary.json is null, not the JSON object {...} a run summary is"),
])
def test_a_summary_that_is_not_an_object_is_damaged(cli, tmp_path, summary, problem):
    root = tmp_path / "runs"
    path = fake_run(root, "20200101-000002-train-hurt-bbbbbb", summary=summary)
    assert (inspect_run(path).status, inspect_run(path).problem) == ("damaged", problem)
    assert f"damaged: {path.name}: {problem}" in " ".join(cli("runs", "--dir", root).out.split())


def test_writing_to_a_closed_pipe_ends_quietly(tmp_path):
    """`gradlab runs show ID | head -1`: the reader leaves early; no message, the status of a SIGPIPE."""
    import os

    root = tmp_path / "runs"
    fake_run(root, "20200101-000001-train-fine-aaaaaa", summary=GOOD)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        done = subprocess.run([sys.executable, "-m", "gradlab", "runs", "show", "aaaaaa", "--dir", str(root)],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, env=subprocess_env(), timeout=60)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")


def test_file_text_that_looks_like_markup_is_listed_and_shown_as_written(cli, tmp_path):
    # a hand-edited summary or config may hold '[/b]': rich took it for a closing tag (MarkupError)
    root = tmp_path / "runs"
    fake_run(root, "20200101-000001-train-x-aaaaaa", summary={**GOOD, "name": "[/b]named"})
    fake_run(root, "20200101-000002-train-y-bbbbbb", summary={**GOOD, "status": "[/red]done"})
    listing = cli("runs", "--dir", root)
    assert listing.code == 0 and listing.err == "", listing.text
    assert "[/b]named" in listing.out
    assert "damaged: 20200101-000002-train-y-bbbbbb: summary.json has no valid status (got '[/red]done')" in listing.out
    for run in ("aaaaaa", "bbbbbb"):
        shown = cli("runs", "show", "--dir", root, run)
        assert shown.code == 0 and shown.err == "", shown.text
    assert "[/b]named" in cli("runs", "show", "--dir", root, "aaaaaa").out
    assert "[/red]done" in cli("runs", "show", "--dir", root, "bbbbbb").out


def test_compare_prints_config_values_that_look_like_markup_as_written(cli, tmp_path):
    root = tmp_path / "runs"
    config = tmp_path / "tiny.yaml"
    config.write_text(TINY)
    assert cli("train", config, "--out", root, "--no-plot", "-q").code == 0
    assert cli("train", config, "--out", root, "--no-plot", "-q", "--name", "other").code == 0
    first, second = run_dirs(root)
    (second / "config.yaml").write_text((second / "config.yaml").read_text().replace("name: tiny", "name: '[/b]x'"))
    result = cli("compare", first, second, "--output", tmp_path / "c.png")
    assert result.code == 0, result.text
    assert "[/b]x" in result.out


def test_a_directory_whose_time_stamp_is_no_time_is_listed_by_its_mtime(cli, tmp_path):
    # month 13, February 30th, hour 25: named like a run, so listed, but strptime refused the stamp
    # (it was 'internal error: ValueError: time data ...')
    root = tmp_path / "rl2"
    for name in ("20261399-000000-train-x-abcdef", "20260230-250000-train-y-fedcba"):
        (root / name).mkdir(parents=True)
    fake_run(root, "20200101-000000-train-fine-aaaaaa", summary=GOOD)
    result = cli("runs", "--dir", root)
    assert result.code == 0 and result.err == "", result.text
    assert "damaged: 20261399-000000-train-x-abcdef: neither summary.json nor config.yaml" in result.out
    assert "damaged: 20260230-250000-train-y-fedcba: neither summary.json nor config.yaml" in result.out
    listed = list_runs(root)
    bad = next(r for r in listed if r.id.endswith("abcdef"))
    assert bad.started == (root / bad.id).stat().st_mtime and bad.command == "train" and bad.name == "x"
    assert listed[-1].id.endswith("aaaaaa")  # dated 2020 by its summary: the oldest
    assert cli("runs", "show", "--dir", root, "abcdef").code == 0


def test_show_takes_the_groups_dir_and_json(cli, tmp_path):
    root = tmp_path / "elsewhere"
    fake_run(root, "20261122-031726-train-fine-2f15c0", summary=GOOD)
    assert cli("runs", "show", "2f15c0").code == 2  # not under the default root
    for args in (["runs", "--dir", root, "show", "2f15c0"], ["runs", "show", "--dir", root, "2f15c0"]):
        result = cli(*args)
        assert result.code == 0 and result.out.startswith("20261122-031726-train-fine-2f15c0"), result.err
    result = cli("runs", "--dir", root, "--json", "show", "2f15c0")
    assert json.loads(result.out)["id"] == "20261122-031726-train-fine-2f15c0"


def test_a_dir_that_is_a_file_is_named_as_such(cli, tmp_path):
    (tmp_path / "notes.csv").write_text("a\n")
    assert cli("runs", "--dir", tmp_path / "notes.csv").err == f"error: --dir '{tmp_path / 'notes.csv'}': a file, not a directory\n"
    assert cli("runs", "--dir", tmp_path / "nope").err == f"error: --dir '{tmp_path / 'nope'}': no such directory\n"


def _long_metrics(rows, damage=b""):
    """A descend run's metrics.csv of ``rows`` steps, ``damage`` written into the middle of it."""
    lines = [b"step,x,f,df_dx,step_size\n", b"0,8.0,38.0,12.0,\n"]
    lines += [f"{k},{2 + 6 / k!r},{2 + 36 / k ** 2!r},1.0,0.1\n".encode() for k in range(1, rows + 1)]
    lines[len(lines) // 2] = lines[len(lines) // 2][:3] + damage + lines[len(lines) // 2][3:]
    return b"".join(lines)


LAST_F = 2 + 36 / 3000 ** 2  # f at step 3000 of _long_metrics(3000)


@pytest.mark.parametrize(("metrics", "shown", "listed"), [
    (_long_metrics(3000), ["running", "3000", "2"], (3000, LAST_F, None)),
    # a row being written is shown as it stands, as when every row was read
    (_long_metrics(3000) + b"3001,2.0019,2.00001", ["running", "3001", "2"], (3001, 2.00001, None)),
    (_long_metrics(3000) + b"\n\r\n", ["running", "3000", "2"], (3000, LAST_F, None)),
    (b"", ["running", "-", "-"], (None, None, None)),
    (b"step,x,f,df_dx,step_size\n", ["running", "-", "-"], (None, None, None)),
    (_long_metrics(3000, b"\0"), ["damaged", "-", "-"],
     (None, None, "metrics.csv is unreadable: it holds NUL bytes, so it is binary or UTF-16, not the UTF-8 text a "
                  "metrics file is")),
    (_long_metrics(3000, b"\xff"), ["damaged", "-", "-"],  # 72800: the byte's place in the file, not in a block
     (None, None, "metrics.csv is unreadable: 'utf-8' codec can't decode byte 0xff in position 72800: invalid start "
                  "byte (a metrics file is UTF-8 text)")),
], ids=["long", "partial-last-line", "blank-lines-after", "empty", "header-only", "nul-inside", "bad-utf8-inside"])
def test_the_listing_shows_the_last_row_of_a_run_being_written(cli, tmp_path, metrics, shown, listed):
    # the listing parses the header and the last line of metrics.csv, not every row (it only scans the rest
    # for NUL and bytes that are no UTF-8); what it shows is what reading every row showed
    import os

    root = tmp_path / "runs"
    path = fake_run(root, "20200101-000002-descend-live-bbbbbb",
                    summary={"command": "descend", "status": "running", "pid": os.getpid(), "host": _host(),
                             "started_at": "2020-01-01T00:00:02+00:00"})
    (path / "metrics.csv").write_bytes(metrics)
    table = cli("runs", "--dir", root)
    assert table.code == 0 and table.err == ""
    assert table_rows(table.out)[0].split()[2:5] == shown  # status, steps, final loss
    [info] = json.loads(cli("runs", "--dir", root, "--json").out)
    assert (info["steps"], info["final_loss"], info["problem"]) == listed


@pytest.mark.parametrize("how", ["--dir", "GRADLAB_RUNS", "the default"])
def test_a_run_root_that_is_a_file_is_refused_however_it_is_given(cli, tmp_path, monkeypatch, how):
    # $GRADLAB_RUNS naming a file listed "no runs under <file>", exit 0, where --dir <file> is exit 2
    root = tmp_path / "runs"
    root.write_text("not a directory")
    if how == "the default":
        monkeypatch.delenv("GRADLAB_RUNS")
    result = cli("runs", *(["--dir", root] if how == "--dir" else []))
    given, named = {"--dir": (root, "--dir"), "GRADLAB_RUNS": (root, "$GRADLAB_RUNS"),
                    "the default": ("runs", "the default run root")}[how]
    assert (result.code, result.err) == (2, f"error: {named} '{given}': a file, not a directory\n")
    assert result.out == ""
