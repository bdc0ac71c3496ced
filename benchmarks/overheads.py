"""The costs around the training step: memory when streaming a big data set, and what the
per-epoch diagnostics and evaluation add to an epoch.

    python benchmarks/overheads.py             # both parts, about 2 minutes on 2 cores
    python benchmarks/overheads.py --quick     # 200,000 samples, fewer repeats

Memory: 1,000,000 samples of 100 features (float64, 800 MB) are trained for one epoch in
mini-batches, once through the engine (:func:`gradlab.training.fit`, evaluation and
diagnostics included) and once through ``gradlab train`` on an ``.npz`` file. Each runs in
a fresh process; its peak resident memory is compared with the data set's own size. The
only whole-set arrays training may add are one index permutation per epoch.

Diagnostics: on the large network of the engine benchmark (784-512-512-10, 60,000
samples, batch 256), the median time of one epoch's updates against the time of what a
``log_every: 1`` row adds: the diagnostics (a forward/backward pass on at most 2,048
training samples, per-layer gradient norms, saturated and dead fractions) and the
evaluation (the loss and accuracy on the whole training and test sets).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FEATURES = 100


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n samples of FEATURES Gaussian features and a binary label from a noisy linear rule."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, FEATURES))
    y = (X[:, :10].sum(axis=1) + rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


class EngineMemory:
    """One epoch of :func:`gradlab.training.fit` on the synthetic set, in this (worker) process."""

    def measure(self, n: int) -> dict:
        from gradlab.engine.init import initializers
        from gradlab.engine.losses import losses
        from gradlab.engine.network import Network
        from gradlab.engine.optimizers import optimizers
        from gradlab.training import Settings, fit

        before = common.rss_mib()
        X, y = synthetic(n)
        Y = y.astype(np.float64).reshape(-1, 1)
        data_mib = (X.nbytes + Y.nbytes) / 2**20
        network = Network.from_weights(initializers.create("xavier")([FEATURES, 64, 1], np.random.default_rng(0)),
                                       "sigmoid", "sigmoid")
        settings = Settings(epochs=1, batch_size=256, shuffle=True, log_every=1, lr=0.1, task="binary")
        gc.collect()
        common.reset_peak_rss()
        start = time.perf_counter()
        fit(network, losses.create("bce"), optimizers.create("sgd"), X, Y, settings, rng=np.random.default_rng(0))
        seconds = time.perf_counter() - start
        peak = common.peak_rss_mib()
        return {"path": "engine (fit)", "n": n, "data_mib": data_mib, "peak_mib": peak,
                "rss_before_data_mib": before, "peak_over_data": peak / data_mib,
                "peak_above_start_over_data": (peak - before) / data_mib, "seconds": seconds}


def cli_memory(n: int, scratch: Path) -> dict:
    """Peak memory of ``gradlab train`` on an .npz of the synthetic set (a child process)."""
    X, y = synthetic(n)
    data_mib = (X.nbytes + y.astype(np.float64).nbytes) / 2**20
    np.savez(scratch / "big.npz", X=X, y=y)
    del X, y
    config = scratch / "big.yaml"
    config.write_text(
        "name: big\nseed: 0\n"
        "data: {name: npz, path: big.npz, test_fraction: 0.0, standardize: false}\n"
        "model: {hidden: [64], activation: sigmoid, output: sigmoid}\n"
        "loss: bce\noptimizer: {name: sgd, lr: 0.1}\n"
        "training: {epochs: 1, batch_size: 256}\n")
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "gradlab", "train", str(config), "--out", str(scratch / "runs"),
                              "--no-plot"], stdout=subprocess.DEVNULL)
    # this child's own peak: RUSAGE_CHILDREN would report the largest of every child so far
    # (the engine measurement's worker included)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    peak = common.maxrss_mib(usage.ru_maxrss)
    return {"path": "gradlab train (npz)", "n": n, "data_mib": data_mib, "peak_mib": peak,
            "peak_over_data": peak / data_mib, "seconds": seconds}


class Diagnostics:
    """Epoch time against the cost of one logged row, on the large network."""

    def measure(self, n: int, repeats: int) -> dict:
        import engine
        from dataclasses import asdict, replace

        from gradlab.engine import diagnostics
        from gradlab.training import DIAGNOSTIC_SAMPLES, evaluate

        impl = engine.Gradlab(os.cpu_count())
        impl.setup(asdict(replace(engine.SIZES["large"], n=n)))
        net, loss, X, Y = impl.network, impl.loss, impl.X, impl.Y
        test_X, test_Y = X[: n // 5], Y[: n // 5]  # a test set of a fifth of the size, as configs use

        def diagnose():
            net.loss_and_gradients(loss, X[:DIAGNOSTIC_SAMPLES], Y[:DIAGNOSTIC_SAMPLES])
            diagnostics.grad_norms(net), diagnostics.saturated_fractions(net), diagnostics.dead_fractions(net)

        def assess():
            evaluate(net, loss, X, Y, "multiclass"), evaluate(net, loss, test_X, test_Y, "multiclass")

        def timed(f):
            start = time.perf_counter()
            f()
            return time.perf_counter() - start

        impl.epoch(0)
        epoch, diag, evaluation = [], [], []
        for r in range(repeats):
            epoch.append(impl.epoch(r + 1))
            diag.append(timed(diagnose))
            evaluation.append(timed(assess))
        e, d, v = (common.median(x) for x in (epoch, diag, evaluation))
        return {"n": n, "epoch_s": e, "diagnostics_s": d, "evaluation_s": v,
                "diagnostics_over_epoch": d / e, "evaluation_over_epoch": v / e}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200,000 samples for memory, 3 repeats")
    parser.add_argument("--skip", choices=["memory", "diagnostics"], action="append", default=[])
    parser.add_argument("--out", default=None, help="run root (default: $GRADLAB_RUNS or ./runs)")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    console = Console()
    info = common.machine()
    console.print(f"[bold]{info['cpu']}[/], {info['cores']} cores, numpy {info['numpy']} on {info['numpy_blas']}")
    common.warn_blas_overrides(console)
    n_memory = 200_000 if args.quick else 1_000_000
    report: dict = {"machine": info}
    goals, rows = [], []
    if "memory" not in args.skip:
        worker = common.Worker(EngineMemory)
        try:
            engine_row = worker.call("measure", n_memory)
        finally:
            worker.close()
        with tempfile.TemporaryDirectory() as tmp:
            cli_row = cli_memory(n_memory, Path(tmp))
        table = Table(title=f"Peak memory training {n_memory:,} x {FEATURES} float64 for one epoch",
                      title_justify="left")
        for col in ("path", "data MiB", "peak MiB", "peak / data", "seconds"):
            table.add_column(col, justify="left" if col == "path" else "right")
        for row in (engine_row, cli_row):
            table.add_row(row["path"], f"{row['data_mib']:.0f}", f"{row['peak_mib']:.0f}",
                          f"{row['peak_over_data']:.2f}", f"{row['seconds']:.1f}")
            goals.append(common.Goal(f"memory, {row['path']}: peak / data set", row["peak_over_data"], 2.0))
        console.print(table)
        report["memory"] = [engine_row, cli_row]
        rows += [{"measure": "memory", **r} for r in (engine_row, cli_row)]
    if "diagnostics" not in args.skip:
        worker = common.Worker(Diagnostics)
        try:
            d = worker.call("measure", 60_000, 3 if args.quick else 7)
        finally:
            worker.close()
        table = Table(title="One logged row against one epoch (784-512-512-10, 60,000 samples, float64)",
                      title_justify="left")
        for col in ("epoch s", "diagnostics s", "diagnostics / epoch", "evaluation s", "evaluation / epoch"):
            table.add_column(col, justify="right")
        table.add_row(f"{d['epoch_s']:.3f}", f"{d['diagnostics_s']:.3f}", f"{d['diagnostics_over_epoch']:.1%}",
                      f"{d['evaluation_s']:.3f}", f"{d['evaluation_over_epoch']:.1%}")
        console.print(table)
        goals.append(common.Goal("diagnostics / epoch (large, logged every epoch)",
                                 d["diagnostics_over_epoch"] * 100, 10.0, unit="%"))
        report["diagnostics"] = d
        rows.append({"measure": "diagnostics", **d})
    console.print(common.goals_table(goals))
    report["goals"] = [g.as_dict() for g in goals]
    common.record("overheads", {**vars(args), "machine": info}, rows, report, args.out, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
