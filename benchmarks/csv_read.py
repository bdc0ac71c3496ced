"""How fast and in how much memory gradlab reads a large CSV file, against NumPy's own reader.

    python benchmarks/csv_read.py                 # 1,000,000 rows x 5 features, 3 rounds
    python benchmarks/csv_read.py --rows 200000 --rounds 1

A file of ``--rows`` rows of 5 numeric features (4 decimals) and an integer ``label`` column
is written into a temporary directory. Each reader then runs in a fresh process, the readers
taking turns round by round: :func:`gradlab.datasets.read_csv` (what the ``csv`` data source
and ``gradlab predict``/``evaluate`` read through), ``np.loadtxt`` on the same file, and
``list(csv.reader(...))`` alone (the parsing every Python CSV reader pays, converting nothing).
The medians of the time and of the peak resident memory are reported, and the memory above
what the process held before reading (Python, NumPy and gradlab imported).

Results: a rich table, and ``results.csv``/``results.json`` in a run directory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FEATURES = 5


def write_csv(path: Path, rows: int, seed: int = 0) -> float:
    """``rows`` rows of FEATURES Gaussian features and a label in {0, 1, 2}; the file's MiB."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, FEATURES))
    labels = rng.integers(0, 3, rows)
    header = ",".join([*(f"x{j}" for j in range(FEATURES)), "label"])
    with open(path, "w", newline="") as handle:
        handle.write(header + "\n")
        for start in range(0, rows, 100_000):  # in blocks: the text of a whole large file at once is a second copy
            block = np.column_stack([X[start:start + 100_000], labels[start:start + 100_000]])
            np.savetxt(handle, block, delimiter=",", fmt=["%.4f"] * FEATURES + ["%d"])
    return path.stat().st_size / 2**20


def _read_with_gradlab(path: str) -> tuple[int, ...]:
    from gradlab.datasets import read_csv

    raw = read_csv(path, target="label")
    return raw.X.shape


def _read_with_loadtxt(path: str) -> tuple[int, ...]:
    return np.loadtxt(path, delimiter=",", skiprows=1).shape


def _read_with_csv_module(path: str) -> tuple[int, ...]:
    import csv

    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return (len(rows) - 1, len(rows[0]))


READERS = {
    "gradlab read_csv": _read_with_gradlab,
    "np.loadtxt": _read_with_loadtxt,
    "list(csv.reader)": _read_with_csv_module,
}


class Reading:
    """One reader on one file, in this (fresh worker) process."""

    def __init__(self) -> None:
        import gradlab.datasets  # noqa: F401  (imported before the baseline, as numpy is)

    def measure(self, reader: str, path: str) -> dict:
        before = common.rss_mib()
        common.reset_peak_rss()
        start = time.perf_counter()
        shape = READERS[reader](path)
        seconds = time.perf_counter() - start
        peak = common.peak_rss_mib()
        return {"reader": reader, "shape": list(shape), "seconds": seconds, "peak_mib": peak,
                "above_start_mib": peak - before}


def measure_once(reader: str, path: Path) -> dict:
    worker = common.Worker(Reading)
    try:
        return worker.call("measure", reader, str(path))
    finally:
        worker.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=None, help="run root (default: $GRADLAB_RUNS or ./runs)")
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    console = Console()
    info = common.machine()
    console.print(f"[bold]{info['cpu']}[/], {info['cores']} cores, Python {info['python']}, numpy {info['numpy']}")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.csv"
        file_mib = write_csv(path, args.rows)
        for reader in READERS:  # warm the file cache
            measure_once(reader, path)
        for round_ in range(args.rounds):
            for reader in READERS:
                rows.append({"round": round_, **measure_once(reader, path)})

    table = Table(title=f"Reading {args.rows:,} rows x {FEATURES} features + label ({file_mib:.1f} MiB), "
                        f"median of {args.rounds}", title_justify="left")
    for col in ("reader", "s", "peak MiB", "+MiB", "÷ loadtxt s", "÷ loadtxt +MiB"):
        table.add_column(col, justify="left" if col == "reader" else "right")
    medians = {reader: {key: common.median([r[key] for r in rows if r["reader"] == reader])
                        for key in ("seconds", "peak_mib", "above_start_mib")} for reader in READERS}
    floor = medians["np.loadtxt"]
    for reader, m in medians.items():
        table.add_row(reader, f"{m['seconds']:.2f}", f"{m['peak_mib']:.0f}", f"{m['above_start_mib']:.0f}",
                      f"{m['seconds'] / floor['seconds']:.2f}",
                      f"{m['above_start_mib'] / floor['above_start_mib']:.2f}")
    console.print(table)
    report = {"machine": info, "rows": args.rows, "file_mib": file_mib, "medians": medians}
    common.record("csv_read", {**vars(args), "machine": info}, rows, report, args.out, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
