"""What the benchmark scripts share: the machine report, memory readings, workers in their own
processes, the run directory the results go to, and the goals table.

The scripts are run as files (``python benchmarks/engine.py``), so this module is imported
by its bare name from the scripts' own directory.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


# -- the machine ----------------------------------------------------------------------------


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name from /proc/cpuinfo, with its family and model numbers where given
    (the platform's processor string elsewhere).

    Under a hypervisor the name alone can hide the generation: two 2-core machines here both
    called themselves "AMD EPYC", one a family 25 (Zen 4) and one a family 26 (Zen 5), and their
    matrix products ran at different speeds against PyTorch's (benchmarks/README.md).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if fields:
                break  # the first processor's block is enough
            continue
        fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def thread_report() -> list[dict[str, Any]]:
    """The native thread pools loaded in this process (threadpoolctl): library, kernel, threads."""
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "num_threads", "version", "architecture", "threading_layer")
    return [{k: pool.get(k) for k in keep if pool.get(k) is not None} for pool in threadpool_info()]


def blas_summary(pools: Iterable[Mapping[str, Any]]) -> str:
    """One line, e.g. ``openblas 0.3.31 SkylakeX x2`` for each BLAS/OpenMP pool."""
    parts = []
    for pool in pools:
        text = f"{pool.get('internal_api')} {pool.get('version') or ''}".strip()
        if pool.get("architecture"):
            text += f" {pool['architecture']}"
        parts.append(f"{text} x{pool.get('num_threads')}")
    return ", ".join(parts) or "none"


#: the environment variables that override what OpenBLAS detects of the CPU: its kernel and L2 size
BLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def blas_overrides() -> dict[str, str]:
    """Those of :data:`BLAS_OVERRIDES` that are set, with their values."""
    return {name: os.environ[name] for name in BLAS_OVERRIDES if name in os.environ}


def warn_blas_overrides(console: Any) -> None:
    """Say so when the environment forces OpenBLAS's kernel or cache size.

    Some machines set them because old OpenBLAS builds crash or compute wrong results on their
    CPU; a current NumPy's OpenBLAS does not need them, and a forced older kernel slows its
    products (with AVX2 Haswell kernels forced on an AVX-512 CPU, a 784-512-512-10 step's eight
    products took 1.7x (float64) and 1.8x (float32) as long), so the figures would measure the
    override rather than the machine.
    """
    found = blas_overrides()
    if found:
        settings = ", ".join(f"{name}={value}" for name, value in found.items())
        unset = " ".join(f"-u {name}" for name in found)
        console.print(f"[yellow]{settings} in the environment: NumPy's matrix products run what it forces, not the "
                      f"kernel OpenBLAS picks for this CPU; `env {unset} {' '.join(['python', *sys.argv])}` "
                      f"measures the machine's own[/]")


def machine() -> dict[str, Any]:
    """Cores, CPU, Python, NumPy and the BLAS NumPy runs on: what every figure is reported with."""
    import numpy as np

    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": blas_summary(p for p in thread_report() if p.get("user_api") == "blas"),
        "openblas_overrides": blas_overrides(),
        "platform": platform.platform(),
    }


# -- memory ---------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mib() -> float | None:
    """The resident set size of this process now, MiB (None where /proc is missing)."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib / 1024


def maxrss_mib(ru_maxrss: int) -> float:
    """``getrusage``'s ``ru_maxrss`` in MiB: Linux counts it in KiB, macOS in bytes."""
    return ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)


def peak_rss_mib() -> float | None:
    """The peak resident set size since start or the last :func:`reset_peak_rss`, MiB."""
    kib = _status_kib("VmHWM")
    if kib is None:
        import resource

        return maxrss_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return kib / 1024


def _release_free_heap() -> None:
    """Hand the heap that freed objects left back to the system (glibc's ``malloc_trim``; nothing
    elsewhere), so that the resident size no longer counts what an earlier piece of work freed."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def reset_peak_rss() -> None:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0; a no-op elsewhere),
    so the next :func:`peak_rss_mib` measures one piece of work, not the process's whole past.
    The free heap is released first: otherwise the mark starts from what an earlier case left."""
    _release_free_heap()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


# -- workers in their own processes -----------------------------------------------------------


class Worker:
    """A child process that builds one object and answers method calls on it, one at a time.

    Peers run in separate processes: in one process their thread pools compete for the same
    cores and both get slower. Calls block, so only one worker computes at any moment.
    """

    def __init__(self, factory: Callable[..., Any], *args: Any) -> None:
        context = mp.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, factory, args), daemon=True)
        self._process.start()
        child.close()
        self.call("__ready__")

    @property
    def pid(self) -> int:
        """The worker process's id (for :func:`settle`)."""
        return self._process.pid

    def call(self, method: str, *args: Any) -> Any:
        self._conn.send((method, args))
        ok, value = self._conn.recv()
        if not ok:
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        try:
            self._conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def _serve(conn, factory, args) -> None:
    import traceback

    try:
        target = factory(*args)
    except Exception:
        conn.send((False, traceback.format_exc()))
        return
    while True:
        message = conn.recv()
        if message is None:
            return
        method, call_args = message
        try:
            value = True if method == "__ready__" else getattr(target, method)(*call_args)
            conn.send((True, value))
        except Exception:
            conn.send((False, traceback.format_exc()))


# -- timing ---------------------------------------------------------------------------------

#: the longest wait before a timed run: OpenBLAS's idle threads spin for 2**28 cycles (~0.1 s)
#: after each call and OpenMP's for up to 0.2 s; on 2 cores a thread still spinning for the
#: implementation that ran before halves the speed of the next one's matrix products
#: (benchmarks/gemm.py without the pause: PyTorch's 784x512 product 2.6 ms, with it 1.5 ms).
SETTLE_S = 0.3
#: how long the watched threads must have been idle for :func:`settle` to end sooner, and how
#: often it looks: a spinning thread runs all of every poll, a sleeping one none of it
QUIET_S = 0.03
POLL_S = 0.005


def _run_ns(pids: Iterable[int], skip: int) -> int | None:
    """Nanoseconds the threads of ``pids`` (but thread ``skip``) have run on a CPU, from
    ``/proc/<pid>/task/<tid>/schedstat`` (Linux); None where that cannot be read."""
    total = 0
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return None
        for tid in tasks:
            if int(tid) == skip:
                continue
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as stat:
                    total += int(stat.read().split()[0])
            except FileNotFoundError:  # the thread ended while we looked
                continue
            except (OSError, ValueError, IndexError):
                return None
    return total


def settle(pids: Iterable[int] = ()) -> float:
    """Wait until the thread pools of whatever ran before have gone to sleep; the seconds waited.

    Watches the threads of the processes ``pids`` (default: this process; the calling thread is
    never counted) until, over the last :data:`QUIET_S` seconds, they have run less than a tenth
    of that time, at most :data:`SETTLE_S`. After a tiny network, whose products use no worker
    threads, that is ~0.03 s; after a large one, the ~0.1-0.2 s the workers spin. The run times
    are summed over the whole window, not per poll: the kernel adds them up at its ticks (4 ms
    here), and a spinning thread that other processes keep off the cores for one poll has not
    gone to sleep. Where they cannot be read (no ``/proc``), it waits :data:`SETTLE_S`.
    """
    import threading

    pids = list(pids) or [os.getpid()]
    me = threading.get_native_id()
    start = time.perf_counter()
    samples = [(start, _run_ns(pids, me))]  # (when, run time so far)
    while samples[-1][1] is not None:
        time.sleep(POLL_S)
        now, ran = time.perf_counter(), _run_ns(pids, me)
        if ran is None or now - start >= SETTLE_S:
            break
        samples.append((now, ran))
        window = [(t, ns) for t, ns in samples if t <= now - QUIET_S]
        if window and ran - window[-1][1] < 0.1 * (now - window[-1][0]) * 1e9:
            return now - start
    time.sleep(max(0.0, SETTLE_S - (time.perf_counter() - start)))
    return time.perf_counter() - start


# -- optional peers -------------------------------------------------------------------------

#: how to get the peers the benchmarks compare with
INSTALL_HINT = '(pip install -e ".[bench]")'


def installed(module: str) -> bool:
    """True if ``module`` can be imported here (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


# -- results --------------------------------------------------------------------------------


def check_choices(parser, args, allowed: Mapping[str, Sequence[str]]) -> None:
    """Refuse, with one line naming the option and the choices, any value of a comma-separated
    list option that is not allowed (``allowed``: option name -> its choices)."""
    for option, choices in allowed.items():
        for value in getattr(args, option):
            if value not in choices:
                parser.error(f"--{option}: unknown value {value!r}; choose from {', '.join(choices)}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


@dataclass
class Goal:
    """One target of the performance issue and whether the run met it."""

    name: str
    measured: float
    limit: float
    unit: str = "x"
    #: the same ratio as the median of each round's own ratio, where the implementations take turns:
    #: shown beside ``measured`` (which alone decides ``met``, as the issue reads), since a machine that
    #: switches speed between rounds moves both sides of a round's ratio but only one median
    per_round: float | None = None

    @property
    def met(self) -> bool:
        return self.measured <= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {"goal": self.name, "measured": self.measured, "per_round": self.per_round, "limit": self.limit,
                "unit": self.unit, "met": self.met}


def goals_table(goals: Sequence[Goal], title: str = "Goals"):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    per_round = any(goal.per_round is not None for goal in goals)
    table.add_column("goal")
    table.add_column("measured", justify="right")
    if per_round:
        table.add_column("per round", justify="right")
    table.add_column("limit", justify="right")
    table.add_column("", justify="center")
    for goal in goals:
        cells = [goal.name, f"{goal.measured:.3g}{goal.unit}"]
        if per_round:
            cells.append("-" if goal.per_round is None else f"{goal.per_round:.3g}{goal.unit}")
        table.add_row(*cells, f"<= {goal.limit:g}{goal.unit}", "[green]met[/]" if goal.met else "[red]missed[/]")
    return table


def open_run(name: str, config: Mapping[str, Any], out: str | None):
    """A gradlab run directory (command ``bench``) for the results of one benchmark script."""
    sys.path.insert(0, str(REPO))
    from gradlab.runs import Run

    return Run.create("bench", dict(config), name=name, out=out,
                      argv=["python", *sys.argv], reproduce=" ".join(["python", *sys.argv]))


def record(name: str, config: Mapping[str, Any], rows: Sequence[Mapping[str, Any]],
           report: Mapping[str, Any], out: str | None, console) -> None:
    """Open the run directory of a benchmark, save its results there and print where."""
    with open_run(name, config, out) as run:
        save_results(run, rows, report)
    console.print(f"results: {run.path}")


def save_results(run, rows: Sequence[Mapping[str, Any]], report: Mapping[str, Any]) -> None:
    """``results.csv`` (one row per measurement) and ``results.json`` (everything) in the run."""
    from gradlab.runs import write_json, write_table

    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    write_table(run.file("results.csv"), columns, rows)
    write_json(run.file("results.json"), report)
