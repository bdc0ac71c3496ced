"""The optimizer update through NumPy's OpenBLAS (axpy/axpby) against the blocked ufunc update.

    python benchmarks/update.py             # float32 and float64, SGD and Adam (~5 minutes on 2 cores)
    python benchmarks/update.py --quick     # fewer pairs, epochs of 12,000 samples (~1 minute)

The only difference between the variants is ``gradlab.engine.blas.ufuncs_only()`` around
the ufunc variant, which is what a NumPy without those BLAS routines runs (the update cut
into cache-sized blocks). Two measurements, each taking turns A B, B A, ... in one process
with one thread pool:

- steps: the update of the 669,706 parameters of 784-512-512-10, each followed by the eight
  matrix products of a training step (``gemm.py``'s, batch 256), on the same arrays for both
  variants; the median update time, and whether the products after it got slower.
- epochs: both variants train the large network of ``engine.py`` (ReLU, softmax
  cross-entropy) from the same weights through ``gradlab.training.train_epoch``, epoch
  against epoch; the median epoch of each, the median of their paired differences, the
  update's time inside the epochs, the rest of a step (the same work in both), and the loss
  after the last epoch (equal to rounding in float64). On a shared machine this is the
  noisier measurement.

Results: a rich table, and ``results.csv``/``results.json`` in a run directory.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import engine  # noqa: E402
import gemm  # noqa: E402


def variants() -> dict:
    """The two ways of running the update, as context managers around allocation and steps."""
    from gradlab.engine import blas

    return {"ufuncs": blas.ufuncs_only, "blas": nullcontext}


def turn(k: int) -> tuple[str, str]:
    """The order of the variants in round ``k``: each goes first every other round."""
    return ("ufuncs", "blas") if k % 2 else ("blas", "ufuncs")


class Timed:
    """Wraps an optimizer's ``step`` to add up the time spent in it."""

    def __init__(self, optimizer):
        self.step_s, self._step = 0.0, optimizer.step
        optimizer.step = self

    def __call__(self, *args):
        start = time.perf_counter()
        self._step(*args)
        self.step_s += time.perf_counter() - start


def paired_steps(dtype: str, optimizer: str, rounds: int) -> dict:
    """Update, then the step's eight products, alternating the variants on the same arrays."""
    import numpy as np

    from gradlab.engine.optimizers import optimizers

    rng = np.random.default_rng(0)
    layers = engine.SIZES["large"].layers
    n = sum(m * k + k for m, k in zip(layers, layers[1:]))
    params = (0.01 * rng.standard_normal(n)).astype(dtype)
    grads = (1e-3 * rng.standard_normal(n)).astype(dtype)
    products = [(A, B, C) for _, A, B, C in gemm.products(np.dtype(dtype), rng)]
    modes = variants()
    spec = {"name": optimizer, "lr": 1e-9}  # tiny steps: the parameters stay where they are
    opts = {name: optimizers.create(spec) for name in modes}
    times: dict[str, dict[str, list[float]]] = {name: {"update": [], "products": []} for name in modes}
    for r in range(rounds + 10):  # 10 warm-up rounds
        for name in turn(r):
            with modes[name]():
                start = time.perf_counter()
                opts[name].step([params], [grads])
                middle = time.perf_counter()
                for A, B, C in products:
                    np.matmul(A, B, out=C)
                end = time.perf_counter()
            if r >= 10:
                times[name]["update"].append(middle - start)
                times[name]["products"].append(end - middle)
    slower = [b - u for u, b in zip(times["ufuncs"]["products"], times["blas"]["products"])]
    return {
        "case": f"{dtype} {optimizer}", "rounds": rounds,
        **{f"{name}_{part}_ms": common.median(times[name][part]) * 1e3
           for name in modes for part in ("update", "products")},
        "products_paired_diff_ms": common.median(slower) * 1e3,
        "products_slower_in": sum(d > 0 for d in slower),
    }


def run_case(case: engine.Case, repeats: int, threads: int) -> dict:
    modes = variants()
    impls, timers = {}, {}
    for name, mode in modes.items():
        impl = engine.Gradlab(threads)
        with mode():
            impl.setup(dataclasses.asdict(case))
        impls[name], timers[name] = impl, Timed(impl.optimizer)
    epochs: dict[str, list[float]] = {name: [] for name in modes}
    steps: dict[str, list[float]] = {name: [] for name in modes}
    n_steps = -(-case.n // case.batch)
    for e in range(repeats + 1):  # epoch 0 of each is a warm-up
        for name in turn(e):
            common.settle()
            before = timers[name].step_s
            with modes[name]():
                seconds = impls[name].epoch(e)
            if e:
                epochs[name].append(seconds)
                steps[name].append((timers[name].step_s - before) / n_steps)
    diffs = [b - u for u, b in zip(epochs["ufuncs"], epochs["blas"])]
    return {
        "case": f"{case.dtype} {case.optimizer}", "dtype": case.dtype, "optimizer": case.optimizer,
        "samples": case.n, "pairs": repeats,
        **{f"{name}_epoch_ms": common.median(epochs[name]) * 1e3 for name in modes},
        "ratio": common.median(epochs["blas"]) / common.median(epochs["ufuncs"]),
        "paired_diff_ms": common.median(diffs) * 1e3,
        "blas_faster_in": sum(d < 0 for d in diffs),
        **{f"{name}_step_ms": common.median(steps[name]) * 1e3 for name in modes},
        # everything else in a step: the products, activations, gather, loss
        **{f"{name}_rest_ms": common.median([(t - s * n_steps) / n_steps for t, s in zip(epochs[name], steps[name])])
           * 1e3 for name in modes},
        **{f"{name}_loss": engine.reference_loss(case, impls[name].weights()) for name in modes},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 step pairs, 3 epoch pairs of 12,000 samples (~1 minute)")
    parser.add_argument("--dtypes", type=lambda s: s.split(","), default=list(engine.DTYPES),
                        help=",".join(engine.DTYPES))
    parser.add_argument("--optimizers", type=lambda s: s.split(","), default=list(engine.OPTIMIZERS),
                        help=",".join(engine.OPTIMIZERS))
    parser.add_argument("--samples", type=int, default=None, help="training samples (default 60,000)")
    parser.add_argument("--repeats", type=int, default=None, help="timed epoch pairs (default 8)")
    parser.add_argument("--rounds", type=int, default=None, help="step pairs (default 500)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="BLAS threads")
    parser.add_argument("--out", default=None, help="run root (default: $GRADLAB_RUNS or ./runs)")
    args = parser.parse_args(argv)
    common.check_choices(parser, args, {"dtypes": engine.DTYPES, "optimizers": engine.OPTIMIZERS})
    samples = args.samples if args.samples is not None else (12_000 if args.quick else engine.SIZES["large"].n)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 8)
    rounds = args.rounds if args.rounds is not None else (100 if args.quick else 500)
    if min(samples, repeats, rounds) < 1:
        parser.error(f"--samples, --repeats and --rounds must be >= 1, got {samples}, {repeats} and {rounds}")

    from rich.console import Console
    from rich.table import Table

    from gradlab.engine import blas

    console = Console(width=None if sys.stdout.isatty() else 120)
    info = {**common.machine(), "blas_routines": blas.available()}
    console.print(f"[bold]{info['cpu']}[/], {info['cores']} cores, numpy {info['numpy']} on {info['numpy_blas']}, "
                  f"{args.threads} threads; BLAS axpy/axpby {'found' if info['blas_routines'] else 'missing'}")
    common.warn_blas_overrides(console)
    if not info["blas_routines"]:
        console.print("[yellow]numpy's BLAS offers no axpy/axpby here: both variants run the ufuncs[/]")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        steps = [paired_steps(dtype, optimizer, rounds) for dtype in args.dtypes for optimizer in args.optimizers]
    table = Table(title=f"The update, then a step's 8 products, {rounds} pairs on the same arrays; median ms: "
                        "ufuncs / BLAS", title_justify="left")
    for col in ("case", "update", "BLAS / ufuncs", "products after it", "products slower after BLAS"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for r in steps:
        table.add_row(r["case"], f"{r['ufuncs_update_ms']:.3f} / {r['blas_update_ms']:.3f}",
                      f"{r['blas_update_ms'] / r['ufuncs_update_ms']:.2f}",
                      f"{r['ufuncs_products_ms']:.2f} / {r['blas_products_ms']:.2f}",
                      f"{r['products_slower_in']}/{rounds} (median {r['products_paired_diff_ms']:+.3f} ms)")
    console.print(table)

    rows = []
    for dtype in args.dtypes:
        for optimizer in args.optimizers:
            case = dataclasses.replace(engine.SIZES["large"], n=samples, dtype=dtype, optimizer=optimizer)
            console.print(f"[dim]{case.label}, {repeats} epoch pairs[/]")
            rows.append(run_case(case, repeats, args.threads))

    table = Table(title=f"784-512-512-10 on {samples:,} samples, median ms: ufuncs / BLAS", title_justify="left")
    for col in ("case", "epoch", "ratio", "paired diff", "BLAS faster", "update step", "rest of a step",
                "loss rel. diff"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for r in rows:
        table.add_row(r["case"], f"{r['ufuncs_epoch_ms']:.0f} / {r['blas_epoch_ms']:.0f}", f"{r['ratio']:.3f}",
                      f"{r['paired_diff_ms']:+.0f}", f"{r['blas_faster_in']}/{r['pairs']}",
                      f"{r['ufuncs_step_ms']:.3f} / {r['blas_step_ms']:.3f}",
                      f"{r['ufuncs_rest_ms']:.2f} / {r['blas_rest_ms']:.2f}",
                      f"{abs(r['blas_loss'] - r['ufuncs_loss']) / r['ufuncs_loss']:.1e}")
    console.print(table)
    config = {**vars(args), "samples": samples, "repeats": repeats, "rounds": rounds, "machine": info}
    common.record("update", config, rows, {"machine": info, "steps": steps, "results": rows}, args.out, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
