"""The benchmark scripts still run (their timings are not tested: that is what they are for)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_dirs, subprocess_env


def run_script(name: str, *args: str, out) -> dict:
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / name), *args, "--out", str(out)],
                            capture_output=True, text=True, env=subprocess_env(COLUMNS="120"), timeout=300)
    assert result.returncode == 0, result.stderr
    (run,) = run_dirs(out)
    assert json.loads((run / "summary.json").read_text())["status"] == "completed"
    assert (run / "results.csv").read_text().startswith(("case,", "command,", "measure,", "dtype,"))
    return json.loads((run / "results.json").read_text())


def test_engine_benchmark_checks_equal_work_and_reports_every_case(tmp_path):
    # torch and scikit-learn take part where they are installed (the [bench] extra)
    report = run_script("engine.py", "--sizes", "tiny", "--dtypes", "float64,float32", "--optimizers", "sgd,adam",
                        "--repeats", "1", out=tmp_path / "b")
    cases = {r["case"]: r for r in report["results"]}
    assert set(cases) == {"tiny 2-16-1 float64 sgd", "tiny 2-16-1 float64 adam",
                          "tiny 2-16-1 float32 sgd", "tiny 2-16-1 float32 adam"}
    for result in cases.values():
        assert result["median_s"]["gradlab"] > 0 and result["median_s"]["gemm"] > 0
        assert result["unequal"] == []  # every peer that ran did the same work as gradlab
        # one epoch of SGD or Adam from the shared start lowers the loss (0.738 at the start)
        assert result["loss_after_1"]["gradlab"] < 0.738
    assert report["machine"]["cores"] >= 1 and "numpy_blas" in report["machine"]


def benchmark_module(name: str):
    """A benchmark script imported as a module (they live outside the package)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_a_peer_that_is_not_installed_is_skipped_with_a_note(tmp_path, monkeypatch):
    engine = benchmark_module("engine")
    monkeypatch.setitem(engine.PEERS, "torch", "no_such_module_here")
    assert engine.available("torch") == 'torch skipped: no_such_module_here is not installed (pip install -e ".[bench]")'
    assert engine.available("gradlab") is None


def test_a_forced_blas_kernel_is_reported_with_the_command_that_lifts_it(monkeypatch):
    from rich.console import Console

    common = benchmark_module("common")
    monkeypatch.setattr(sys, "argv", ["benchmarks/engine.py", "--quick"])
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    console = Console(record=True, width=400)
    common.warn_blas_overrides(console)
    assert console.export_text() == (
        "OPENBLAS_CORETYPE=Haswell in the environment: NumPy's matrix products run what it forces, not the kernel "
        "OpenBLAS picks for this CPU; `env -u OPENBLAS_CORETYPE python benchmarks/engine.py --quick` measures the "
        "machine's own\n")
    assert common.machine()["openblas_overrides"] == {"OPENBLAS_CORETYPE": "Haswell"}
    monkeypatch.delenv("OPENBLAS_CORETYPE")
    console = Console(record=True, width=400)
    common.warn_blas_overrides(console)
    assert console.export_text() == ""  # nothing forced, nothing said


def test_the_cpu_is_named_with_its_family_and_model():
    common = benchmark_module("common")
    cpuinfo = ("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
               "model name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512f\n\n"
               "processor\t: 1\ncpu family\t: 99\nmodel\t\t: 1\nmodel name\t: Other\n")
    assert common.cpu_model(cpuinfo) == "AMD EPYC (family 25, model 17)"  # the first processor's
    # an ARM /proc/cpuinfo has neither family nor model name: the platform's string stands in
    assert common.cpu_model("processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n") == (
        common.platform.processor() or common.platform.machine())


def test_gemm_benchmark_times_the_eight_products_of_a_large_step(tmp_path):
    pytest.importorskip("torch")
    report = run_script("gemm.py", "--rounds", "1", "--calls", "1", out=tmp_path / "g")
    for dtype in ("float64", "float32"):
        rows = [r for r in report["rows"] if r["dtype"] == dtype]
        assert len(rows) == 8  # 3 forward, 3 weight gradients, 2 input gradients
        # 784-512-512-10 at batch 256: forward and weight gradients cover all three layers, the
        # input gradients only the last two (nothing needs the gradient of the data)
        per_pass = 2 * 256 * (784 * 512 + 512 * 512 + 512 * 10)
        assert sum(r["flops"] for r in rows) == 2 * per_pass + 2 * 256 * (512 * 512 + 512 * 10)
        assert report["step_ms"][dtype]["numpy"] > 0 and report["step_ms"][dtype]["torch"] > 0


def test_gemm_benchmark_without_pytorch_exits_2_with_a_note(tmp_path, monkeypatch, capsys):
    gemm = benchmark_module("gemm")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert gemm.main(["--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == 'gemm.py compares with PyTorch, which is not installed (pip install -e ".[bench]")\n'
    assert not any(tmp_path.iterdir())  # no run directory


def test_update_benchmark_compares_the_blas_and_ufunc_updates_on_equal_work(tmp_path):
    report = run_script("update.py", "--samples", "1024", "--repeats", "1", "--rounds", "2", "--dtypes", "float64",
                        "--optimizers", "sgd,adam", out=tmp_path / "u")
    rows = {r["case"]: r for r in report["results"]}
    assert set(rows) == {"float64 sgd", "float64 adam"}
    for r in rows.values():
        assert r["samples"] == 1024 and r["pairs"] == 1
        assert r["ufuncs_epoch_ms"] > 0 and r["blas_epoch_ms"] > 0 and r["blas_step_ms"] > 0
        # the two updates differ by roundings only: two epochs of float64 end at the same loss
        assert abs(r["blas_loss"] - r["ufuncs_loss"]) <= 1e-12 * r["ufuncs_loss"]
    for r in report["steps"]:
        assert r["rounds"] == 2 and r["ufuncs_update_ms"] > 0 and r["blas_products_ms"] > 0
    assert report["machine"]["blas_routines"] in (True, False)


SPIN_THEN_SLEEP = """
import sys, time
print("spinning", flush=True)
end = time.perf_counter() + float(sys.argv[1])
while time.perf_counter() < end:
    pass
time.sleep(60)
"""


def waited_for(spin_s: float) -> float:
    """Seconds :func:`common.settle` waits on a process whose only thread spins ``spin_s`` seconds
    from the moment it is watched, then sleeps."""
    common = benchmark_module("common")
    child = subprocess.Popen([sys.executable, "-c", SPIN_THEN_SLEEP, str(spin_s)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "spinning\n"
        return common.settle([child.pid])
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the threads' run times from /proc")
def test_settle_waits_while_the_watched_threads_spin_and_no_longer():
    common = benchmark_module("common")
    assert (common.QUIET_S, common.SETTLE_S) == (0.03, 0.3)
    assert 0.03 <= waited_for(0.0) < 0.2  # asleep from the start: the quiet period and done
    assert 0.12 <= waited_for(0.15) < 0.3  # the spin (less the moments before settle looks), then the quiet period
    assert 0.3 <= waited_for(5.0) < 0.5  # still spinning: at most SETTLE_S


def test_settle_waits_the_whole_pause_where_run_times_cannot_be_read(monkeypatch):
    common = benchmark_module("common")
    monkeypatch.setattr(common, "_run_ns", lambda pids, skip: None)
    assert 0.3 <= common.settle([1]) < 0.5


def test_quick_trains_the_long_sizes_on_fewer_samples():
    engine = benchmark_module("engine")
    args = engine.argparse.Namespace(quick=True, sizes=list(engine.SIZES), dtypes=["float64"], optimizers=["sgd"])
    assert {case.size: case.n for case in engine.cases_for(args)} == {
        "tiny": 1000, "small": 1797, "large": 6000, "online": 250}
    args.quick = False
    assert {case.size: case.n for case in engine.cases_for(args)} == {
        "tiny": 1000, "small": 1797, "large": 60_000, "online": 1000}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads and resets the peak from /proc")
def test_peak_memory_is_training_s_not_the_data_generation_s():
    engine = benchmark_module("engine")
    case = engine.replace(engine.SIZES["large"], n=6000)  # X: 36 MiB, and as much again while labelled
    impl = engine.Gemm(1)
    impl.setup(engine.asdict(case))
    assert impl.memory()["train_extra_mib"] < 4  # was the labelling's temporary, ~36 MiB
    impl.epoch(0)
    assert impl.memory()["peak_mib"] >= impl.rss_after_setup


def test_thread_pools_off_the_asked_count_are_named():
    engine = benchmark_module("engine")
    threads = {"gradlab": [{"internal_api": "openblas", "version": "0.3.31", "num_threads": 2}],
               "sklearn": [{"internal_api": "openblas", "version": "0.3.30", "num_threads": 1},
                           {"internal_api": "openmp", "num_threads": 2}],
               "torch": [{"internal_api": "torch", "version": "2.13.0", "num_threads": 2}]}
    assert engine.unequal_threads(threads, 2) == ["sklearn: openblas 0.3.30 x1"]
    assert engine.unequal_threads(threads, 1) == ["gradlab: openblas 0.3.31 x2", "sklearn: openmp x2",
                                                  "torch: torch 2.13.0 x2"]


def test_epochs_that_vary_widely_are_named():
    engine = benchmark_module("engine")
    result = {"times_s": {"gradlab": [2.255, 0.245, 2.470], "gemm": [0.215, 0.218, 0.216], "torch": []}}
    assert engine.spread_notes(result) == ["gradlab 245-2470 ms"]


def test_a_nan_loss_is_not_equal_work(monkeypatch):
    """nan > tolerance is False: a diverged implementation used to pass the equal-work check."""
    from rich.console import Console

    engine = benchmark_module("engine")

    class Fake:
        pid = 0

        def __init__(self, loss):
            self.loss = loss

        def call(self, method, *args):
            return {"setup": {"threads": []}, "weights": self.loss, "memory": {}}.get(method, 0.001)

    monkeypatch.setattr(engine, "reference_loss", lambda case, loss: loss)
    monkeypatch.setattr(engine.common, "settle", lambda pids=(): 0.0)
    args = engine.argparse.Namespace(repeats=1, quick=False, threads=2)
    workers = {"gradlab": Fake(0.5), "torch": Fake(float("nan")), "sklearn": Fake(0.5 + 1e-12), "gemm": Fake(None)}
    result = engine.run_case(engine.SIZES["tiny"], workers, args, Console(file=None, quiet=True))
    assert result["unequal"] == ["torch"]
    assert engine.ratio(result, "gradlab", "torch") is None and engine.ratio(result, "gradlab", "sklearn") == 1.0


def test_each_goal_shows_the_median_of_the_rounds_own_ratios_beside_the_ratio_of_medians():
    # the full run of 2026-12-07 from 21:59 UTC, large float64 SGD: the floor's third epoch fell in the
    # machine's fast state, gradlab's in its slow one; the ratio of the medians is 3.352 / 2.130 = 1.57, the
    # rounds' own ratios 1.29, 1.27, 1.60, 1.13, 1.13 have the median 1.27
    from rich.console import Console

    engine = benchmark_module("engine")
    result = {"size": "large", "dtype": "float64", "unequal": [],
              "times_s": {"gradlab": [3.399, 3.386, 3.352, 2.411, 2.342], "gemm": [2.637, 2.669, 2.094, 2.130, 2.073]}}
    result["median_s"] = {name: engine.common.median(ts) for name, ts in result["times_s"].items()}
    assert engine.ratio(result, "gradlab", "gemm") == pytest.approx(3.352 / 2.130, rel=1e-12)
    assert engine.per_round_ratio(result, "gradlab", "gemm") == pytest.approx(3.386 / 2.669, rel=1e-12)
    (goal,) = engine.goals([result])
    assert (goal.name, round(goal.measured, 3), round(goal.per_round, 3), goal.met) == (
        "large float64: gradlab / GEMM floor", 1.574, 1.269, False)  # the issue reads the medians
    console = Console(width=120, record=True)
    console.print(engine.common.goals_table([goal]))
    row = "│ large float64: gradlab / GEMM floor │    1.57x │     1.27x │ <= 1.25x │ missed │"
    assert row in console.export_text()
    assert engine.per_round_ratio(dict(result, unequal=["gradlab"]), "gradlab", "gemm") is None


def test_start_up_goals_are_read_on_the_medians_and_per_round():
    # three rounds, the second slow for both --help runs: the medians give 0.22 / 0.17 = 1.29 for
    # --help, the rounds' own ratios 0.20/0.16, 0.30/0.30, 0.22/0.17 (1.25, 1.00, 1.29) a median of 1.25
    startup = benchmark_module("startup")
    times = {"bare typer --help": [0.16, 0.30, 0.17], "gradlab --help": [0.20, 0.30, 0.22],
             "python": [0.04, 0.04, 0.04], "import numpy, sympy": [0.40, 0.40, 0.40],
             "gradlab descend --no-plot": [0.70, 0.80, 0.72], "gradlab descend": [1.30, 1.40, 1.32],
             "matplotlib figure": [0.70, 0.70, 0.70]}
    help_goal, descend_goal, plots_goal = startup.goals_of(times)
    assert (help_goal.measured, help_goal.per_round, help_goal.met) == (
        pytest.approx(0.22 / 0.17), pytest.approx(0.20 / 0.16), True)
    assert (descend_goal.measured, descend_goal.per_round) == (pytest.approx(0.72 / 0.40), pytest.approx(0.72 / 0.40))
    assert plots_goal.measured == pytest.approx((1.32 - 0.72) / (0.70 - 0.04))
