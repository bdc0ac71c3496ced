"""The matrix products of one training step of the large network, NumPy's BLAS against PyTorch's.

    python benchmarks/gemm.py              # float64 and float32, 5 rounds of 50 calls each (~1 min)
    python benchmarks/gemm.py --rounds 3

The engine benchmark's GEMM floor is these eight products (784-512-512-10, batch 256): the
three forward products ``a W``, the three weight gradients ``a^T delta`` and the two input
gradients ``delta W^T``, with the same transposed views the engine passes. Here each product is
timed alone in NumPy (``np.matmul(..., out=)``) and in PyTorch (``torch.matmul(..., out=)`` on
the same memory), the two taking turns product by product, so one can tell whether PyTorch's epoch is
faster because it multiplies faster or because it does less around the products.

Results: a rich table, and ``results.csv``/``results.json`` in a run directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

LAYERS = (784, 512, 512, 10)
BATCH = 256


def products(dtype: np.dtype, rng: np.random.Generator) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(name, A, B, out) for every product of one step: out = A @ B, A and B as the engine sees them."""
    a = [rng.standard_normal((BATCH, n)).astype(dtype) for n in LAYERS]  # activations (input first)
    W = [rng.standard_normal((m, n)).astype(dtype) for m, n in zip(LAYERS, LAYERS[1:])]
    out = []
    for k, Wk in enumerate(W, start=1):
        out.append((f"forward a{k - 1} W{k}", a[k - 1], Wk, np.empty((BATCH, Wk.shape[1]), dtype)))
    for k, Wk in enumerate(W, start=1):
        out.append((f"dW{k} = a{k - 1}^T delta{k}", a[k - 1].T, a[k], np.empty_like(Wk)))
    for k in range(len(W), 1, -1):
        out.append((f"dx{k - 1} = delta{k} W{k}^T", a[k], W[k - 1].T, np.empty((BATCH, LAYERS[k - 1]), dtype)))
    return out


def time_calls(f, calls: int) -> float:
    """Seconds per call of f, once the other library's idle threads have stopped spinning."""
    common.settle()
    f()
    start = time.perf_counter()
    for _ in range(calls):
        f()
    return (time.perf_counter() - start) / calls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=50, help="calls per timing")
    parser.add_argument("--out", default=None, help="run root (default: $GRADLAB_RUNS or ./runs)")
    args = parser.parse_args(argv)

    if not common.installed("torch"):
        print(f"gemm.py compares with PyTorch, which is not installed {common.INSTALL_HINT}", file=sys.stderr)
        return 2
    import torch
    from rich.console import Console
    from rich.table import Table

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    console = Console()
    info = {**common.machine(), "torch": str(torch.__version__), "torch_threads": torch.get_num_threads()}
    common.warn_blas_overrides(console)
    rows, totals = [], {}
    for dtype in (np.float64, np.float32):
        times: dict[tuple[str, str], list[float]] = {}
        cases = products(np.dtype(dtype), np.random.default_rng(0))
        for _ in range(args.rounds):
            for name, A, B, C in cases:
                tA, tB, tC = (torch.from_numpy(x) for x in (A, B, C))  # the same memory, strides kept
                times.setdefault((name, "numpy"), []).append(
                    time_calls(lambda: np.matmul(A, B, out=C), args.calls))
                times.setdefault((name, "torch"), []).append(
                    time_calls(lambda: torch.matmul(tA, tB, out=tC), args.calls))
        label = np.dtype(dtype).name
        table = Table(title=f"{label}: ms per product, median of {args.rounds} rounds", title_justify="left")
        for col in ("product", "numpy ms", "torch ms", "numpy GFLOP/s", "torch GFLOP/s", "numpy / torch"):
            table.add_column(col, justify="left" if col == "product" else "right")
        sums = {"numpy": 0.0, "torch": 0.0}
        for name, A, B, _ in cases:
            flops = 2 * A.shape[0] * A.shape[1] * B.shape[1]
            med = {impl: common.median(times[(name, impl)]) for impl in sums}
            for impl in sums:
                sums[impl] += med[impl]
            table.add_row(name, f"{med['numpy'] * 1e3:.3f}", f"{med['torch'] * 1e3:.3f}",
                          f"{flops / med['numpy'] / 1e9:.0f}", f"{flops / med['torch'] / 1e9:.0f}",
                          f"{med['numpy'] / med['torch']:.2f}")
            rows.append({"dtype": label, "product": name, "flops": flops,
                         **{f"{impl}_ms": med[impl] * 1e3 for impl in sums}})
        table.add_row("one step (sum)", f"{sums['numpy'] * 1e3:.3f}", f"{sums['torch'] * 1e3:.3f}", "", "",
                      f"{sums['numpy'] / sums['torch']:.2f}", style="bold")
        console.print(table)
        totals[label] = {impl: s * 1e3 for impl, s in sums.items()}
    console.print(f"numpy BLAS: {info['numpy_blas']}; torch {info['torch']} with {info['torch_threads']} threads")
    common.record("gemm", {**vars(args), "machine": info}, rows, {"machine": info, "step_ms": totals, "rows": rows},
                  args.out, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
