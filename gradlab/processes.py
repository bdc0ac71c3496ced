"""Worker processes that a Ctrl-C cannot catch half-started: shared by sweep's process pool
(:mod:`gradlab.executors`) and landscape's (:mod:`gradlab.landscape`).

A terminal's Ctrl-C (and ``timeout``'s or a batch scheduler's signal) reaches every process of
the group, workers included. A spawned worker spends a second or more starting its interpreter
and importing NumPy before its pool's initializer can install a handler; a SIGINT in that window
raised KeyboardInterrupt inside ``import numpy`` and killed the worker, with a traceback. The
pool broke: sweep points that had not started ended ``failed ... BrokenProcessPool``, and a
landscape worker killed while holding its call queue's lock left the others waiting on it, so
the command never ended. So workers start with SIGINT and SIGTERM *blocked* (a blocked mask
survives exec), and their initializer installs its handler before it takes the signals held
meanwhile (:func:`release_signals`). CPython's multiprocessing resource tracker starts the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

#: the signals a worker is started with held: Ctrl-C, and SIGTERM (which gradlab treats as Ctrl-C)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def spawn_context():
    """spawn: each worker is a fresh interpreter with this process's sys.path, safe whatever threads
    run here. (forkserver starts about as fast here, but its server ignores the sys.path it is given
    (Python 3.11's multiprocessing.forkserver.main), so a gradlab run from a checkout imported
    another installed copy of gradlab in its workers.)"""
    import multiprocessing  # here: descend defers signals through this module and starts no process

    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def signals_deferred(signals: Sequence[int] = STOP_SIGNALS) -> Iterator[list[int]]:
    """Hold ``signals`` back until the block ends, then give the first that came to the handler that
    would have had it (Ctrl-C's raises KeyboardInterrupt there): for work a KeyboardInterrupt must
    not cut in two, such as a run directory being created or a worker process being started. The
    block gets the list of the signals held so far, to end early at a point of its choosing.

    A handler rather than a signal mask: Python runs its handlers in the main thread even when another
    thread (a BLAS one) took the signal, so blocking it in the main thread does not hold it back.
    """
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():  # handlers can only be set there
        yield caught
        return
    previous = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum)) for signum in signals}
    try:
        yield caught
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught and callable(previous[caught[0]]):
            previous[caught[0]](caught[0], None)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Start worker processes in this block (a ``ProcessPoolExecutor`` spawns them in ``submit``):
    SIGINT and SIGTERM are blocked in this thread, so each worker starts with them blocked, and
    deferred here (:func:`signals_deferred`), so this process takes them once the block ends rather
    than half-way through starting a worker (which then died reading its start-up data:
    ``EOFError: Ran out of input``).
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows has no process groups to fear
        yield
        return
    with signals_deferred():
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def release_signals(handler: Callable | signal.Handlers) -> None:
    """In a worker's initializer: handle SIGINT and SIGTERM with ``handler`` from now on, then
    unblock them, which delivers to it any that arrived while the worker was starting."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def limit_threads() -> None:
    """One BLAS/OpenMP thread in this process (threadpoolctl when installed, else the environment,
    which only helps before NumPy is loaded): a pool's workers already use the cores, and nested
    BLAS threads would only compete for them."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)  # lasts for the process: the limiter restores nothing unless told to


def close_pool(pool: ProcessPoolExecutor, timeout: float) -> None:
    """Shut ``pool`` down without waiting for its tasks: queued ones are cancelled and the workers
    still alive are killed (not terminated: a sweep worker's SIGTERM only asks its point to stop,
    and landscape's workers ignore it); then wait up to ``timeout`` seconds for its manager thread."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API lists the workers
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown() forgets it
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.kill()
    if manager is not None:
        # Let it close its wake-up pipe before the interpreter exits: at exit concurrent.futures
        # wakes every manager thread without the lock that guards that close, and a sweep stopped
        # by Ctrl-C printed "Exception ignored in atexit callback ... OSError: [Errno 9] Bad file
        # descriptor" when the two met (CPython 3.11, once in a CI run)
        manager.join(timeout=timeout)
