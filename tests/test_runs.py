import csv
import json
import re

import pytest
import yaml

from gradlab.errors import InputError
from gradlab.runs import Run, runs_root
from tests.conftest import run_dirs


def test_root_precedence(tmp_path, monkeypatch):
    assert runs_root(tmp_path / "x") == tmp_path / "x"
    monkeypatch.setenv("GRADLAB_RUNS", str(tmp_path / "env"))
    assert runs_root() == tmp_path / "env"
    monkeypatch.delenv("GRADLAB_RUNS")
    assert str(runs_root()) == "runs"


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


def test_bad_name_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(InputError, match="--name"):
        Run.create("train", {}, name="../escape", out=tmp_path / "r")
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
