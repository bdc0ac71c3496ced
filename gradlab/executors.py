"""Where sweep points run: in this process, in a pool of processes, or on a Dask cluster.

Every executor has the same three methods, used by :func:`gradlab.sweeps.execute`:

``results(tasks)``
    yields one :class:`~gradlab.sweeps.PointResult` per task, in the order they finish;
    a task that could not run at all still yields a result (``failed`` when its worker
    died, ``cancelled`` when it never started), so every point is accounted for.
``stop()``
    after Ctrl-C: cancel what has not started, ask running points to stop, and return
    the results that still come back: ``interrupted`` ones, ``cancelled`` ones for points
    handed to a worker that had not started them, and the finished points whose results
    had not been collected yet (none is dropped).
``close()``
    release the workers (and a cluster this executor started).

A worker's first SIGINT (or SIGTERM) ends the point it is training as ``interrupted`` (its run directory
says so); from then on the worker starts no point (a task it is handed ends ``cancelled``)
and ignores further SIGINTs: a Ctrl-C in the terminal reaches every process of the group,
and the parent forwards it too. Without this, a worker that finished its interrupted point
took the next queued task before the parent had stopped the pool, and that point, started
after the Ctrl-C, was interrupted by the parent's forwarded SIGINT. Each worker limits BLAS
to one thread so that N workers do not oversubscribe the cores (:func:`gradlab.processes.limit_threads`).
Workers start with SIGINT and SIGTERM held until that handler is in place
(:mod:`gradlab.processes`): one arriving during start-up killed the worker and broke the pool.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool

from gradlab.errors import InputError
from gradlab.names import EXECUTORS
from gradlab.processes import close_pool, limit_threads, release_signals, signals_held, spawn_context
from gradlab.sweeps import CANCELLED, INTERRUPTED, PointResult, PointTask, run_point

#: after Ctrl-C, how long to wait for running points to write their interrupted state
STOP_TIMEOUT = 30.0
#: how long connecting to ``--scheduler`` may take, handshake included (the tests shorten it)
CONNECT_TIMEOUT = 10.0
#: past CONNECT_TIMEOUT, before a handshake that has not ended is given up: distributed's own error
#: for an address that refuses connections (it retries them for CONNECT_TIMEOUT) comes first
CONNECT_GRACE = 1.0
#: the end of every --scheduler error: what belongs there
SCHEDULER_EXPECTED = "expected the address of a running Dask scheduler (`dask scheduler` prints it: tcp://HOST:8786)"
#: in a worker process: the pool's stop event (set by ProcessExecutor.stop); None elsewhere
_STOPPING = {"event": None}
#: in a worker process: whether it has had a SIGINT, and whether it is running a task now
_WORKER = {"interrupted": False, "running": False}


def _on_sigint(signum, frame) -> None:
    """A worker's SIGINT handler: the first one interrupts the task running (run_point turns the
    KeyboardInterrupt into an ``interrupted`` result); every one is remembered, so that the worker
    starts no task afterwards, and none interrupts anything else (idle, the worker lives on)."""
    first = not _WORKER["interrupted"]
    _WORKER["interrupted"] = True
    if first and _WORKER["running"]:
        raise KeyboardInterrupt


def _init_worker(threads: int | None, stopping=None) -> None:
    # SIGTERM reaches the workers too when it is sent to the whole group (`timeout`, `kill -- -PGID`,
    # a batch scheduler): it ends the running point as interrupted, as Ctrl-C does. Dying at once
    # would leave that point's run directory 'running' and break the pool.
    release_signals(_on_sigint)
    _STOPPING["event"] = stopping
    if threads == 1:
        limit_threads()


def _stop_requested() -> bool:
    """Whether this worker must start no more tasks: it had a Ctrl-C, or the pool is stopping."""
    event = _STOPPING["event"]
    return _WORKER["interrupted"] or (event is not None and event.is_set())


def _call(function: Callable[[PointTask], PointResult], task: PointTask) -> PointResult:
    """Run a task in a worker, interruptible by the worker's first SIGINT. After a Ctrl-C (seen by
    this worker or by the parent, which stops the pool), a task the worker is handed (queued, no
    longer cancellable) ends ``cancelled`` without starting."""
    _WORKER["running"] = True  # before the check: a SIGINT from here on either cancels or interrupts
    try:
        if _stop_requested():
            return _failed(task, CancelledError())
        return function(task)
    except KeyboardInterrupt:  # run_point handles its own: this one came before the point began
        return _failed(task, CancelledError())
    finally:
        _WORKER["running"] = False


def _failed(task: PointTask, error: BaseException | str) -> PointResult:
    if isinstance(error, KeyboardInterrupt):
        return PointResult(task.index, "interrupted", error=INTERRUPTED)
    if isinstance(error, CancelledError):
        return PointResult(task.index, "cancelled", error=CANCELLED)
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return PointResult(task.index, "failed", error=text)


class SerialExecutor:
    """Points one after the other in this process (``--workers 1``)."""

    name = "serial"
    workers = 1

    def __init__(self, function: Callable[[PointTask], PointResult] = run_point) -> None:
        self.function = function

    def results(self, tasks: Sequence[PointTask]) -> Iterator[PointResult]:
        for task in tasks:
            yield self.function(task)  # run_point turns Ctrl-C inside training into 'interrupted'

    def stop(self) -> list[PointResult]:
        return []

    def close(self) -> None:
        pass


class ProcessExecutor:
    """Points in ``workers`` separate processes (concurrent.futures, spawn context)."""

    name = "process"

    def __init__(self, workers: int, function: Callable[[PointTask], PointResult] = run_point,
                 threads: int | None = 1) -> None:
        self.workers = workers
        self.function = function
        self.threads = threads
        self._stopping = spawn_context().Event()
        self._pool = self._new_pool()
        self._futures: dict = {}
        self._collected: set = set()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=spawn_context(), initializer=_init_worker,
                                   initargs=(self.threads, self._stopping))

    def results(self, tasks: Sequence[PointTask]) -> Iterator[PointResult]:
        queue = list(tasks)
        while queue:
            unfinished = yield from self._run(queue)
            if not unfinished:
                return
            # A worker died and took the pool with it. The pool hands out tasks in order, so the
            # one that killed it is among the first workers + 1 unfinished: run those one at a
            # time, each in a fresh pool, so a crash names its point; then the rest in parallel.
            suspects, queue = unfinished[:self.workers + 1], unfinished[self.workers + 1:]
            for task in suspects:
                self._restart()
                if (yield from self._run([task])):
                    yield _failed(task, "its worker process died (killed, out of memory or a crash in native code)")
            self._restart()

    def _run(self, tasks: Sequence[PointTask]):
        """Yield the results of ``tasks``; return the tasks a broken pool left undone, in order."""
        with signals_held():  # submit() starts the workers: a Ctrl-C waits until they can take it
            self._futures = {self._pool.submit(_call, self.function, t): t for t in tasks}
        finished: set[int] = set()
        for future in as_completed(list(self._futures)):
            task = self._futures[future]
            if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
                continue
            finished.add(task.index)
            self._collected.add(future)
            yield self._result(future, task)
        return [t for t in tasks if t.index not in finished]

    def _restart(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._new_pool()

    @staticmethod
    def _result(future, task: PointTask) -> PointResult:
        try:
            return future.result()
        except BaseException as error:  # noqa: BLE001 - pickling errors, cancellation, Ctrl-C in the worker
            return _failed(task, error)

    def stop(self) -> list[PointResult]:
        # Workers skip the tasks they were handed but had not started; cancel() succeeds for
        # the points still queued here; those it cannot cancel are running (or handed out).
        self._stopping.set()
        running = [f for f in self._futures if not f.done() and not f.cancel()]
        for pid in list(getattr(self._pool, "_processes", None) or {}):  # no public API lists the workers
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                pass
        wait(running, timeout=STOP_TIMEOUT)
        uncollected = [f for f in self._futures if f.done() and not f.cancelled() and f not in self._collected]
        self._collected.update(uncollected)
        return [self._result(f, self._futures[f]) for f in uncollected]

    def close(self) -> None:
        close_pool(self._pool, timeout=STOP_TIMEOUT)  # kills points that ignored stop() within STOP_TIMEOUT


def _running_tasks(dask_worker, interrupt: bool = False) -> list:
    """Run on each Dask worker by ``client.run``: the keys of the tasks its threads are running,
    and with ``interrupt`` a KeyboardInterrupt raised in those threads (the async exception
    lands at the thread's next bytecode)."""
    import ctypes

    with dask_worker.active_threads_lock:
        running = dict(dask_worker.active_threads)  # thread id -> task key
    for ident in running if interrupt else ():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(KeyboardInterrupt))
    return list(running.values())


def _not_dask_sync_cancel(record: logging.LogRecord) -> bool:
    """A logging filter. distributed's ``sync`` (2026.8) answers a Ctrl-C that arrives before its
    coroutine starts with a callback that fails on an unset variable, and tornado logs that
    NameError with its traceback: noise after a clean stop, so it is dropped."""
    return "sync.<locals>.cancel" not in record.getMessage()


async def _connect_and_close(distributed, address: str) -> None:
    """Connect an asynchronous client to ``address`` as the executor's client will, then close it."""
    client = distributed.Client(address, asynchronous=True, timeout=CONNECT_TIMEOUT, set_as_default=False)
    try:
        await client
    finally:  # also when cancelled at the deadline: a client left half-open complains when collected
        await client.close()


def _scheduler_client(distributed, address: str):
    """A client of the Dask scheduler at ``address``, connected within about CONNECT_TIMEOUT.

    ``Client(timeout=...)`` bounds the TCP connection but not the handshake after it (distributed
    took it out of the timeout on purpose, dask/distributed#7698), and no setting bounds it: a
    server that accepts and says nothing held ``Client`` forever, and one that answered in another
    protocol had its reply read as a frame length (a MemoryError for exabytes), and the half-built
    client complained on stderr when it was collected. So a first connection, made as the blocking
    client's will be, runs in asynchronous mode under ``asyncio.wait_for`` and is closed whatever
    happens; only when it succeeds is the blocking client, which the executor uses, made.

    Raises
    ------
    InputError
        Nothing answers at ``address`` in time, the connection fails, or what answers is not a
        Dask scheduler.
    """
    deadline = CONNECT_TIMEOUT + CONNECT_GRACE
    try:
        asyncio.run(asyncio.wait_for(_connect_and_close(distributed, address), deadline))
        return distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (asyncio.TimeoutError, TimeoutError):  # before OSError, TimeoutError's base; one class from 3.11
        problem = f"no answer from a Dask scheduler within {CONNECT_TIMEOUT:g} s"
    except (OSError, ValueError, TypeError, ImportError) as error:  # refused, unresolvable, malformed (tls://
        # without an ssl_context is a TypeError), version clash
        problem = f"cannot connect to a Dask scheduler there ({error})"
    except Exception:  # noqa: BLE001 - another protocol's reply decoded as Dask frames: MemoryError, ...
        problem = "something answers there, but not as a Dask scheduler does"
    raise InputError(f"--scheduler {address}: {problem}; {SCHEDULER_EXPECTED}")


def dask_setup(worker_or_nanny) -> None:
    """Dask's preload hook, run in each process of the LocalCluster a DaskExecutor starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError("--executor dask needs dask.distributed, which is not installed: "
                         "pip install gradlab[distributed]") from None
    return distributed


class DaskExecutor:
    """Points as tasks on a Dask cluster: the one at ``scheduler``, else a LocalCluster of
    ``workers`` single-threaded processes started here and closed afterwards."""

    name = "dask"

    def __init__(self, scheduler: str | None, workers: int,
                 function: Callable[[PointTask], PointResult] = run_point) -> None:
        distributed = _distributed()
        self.function = function
        self.cluster = None
        self._futures: dict = {}
        self._collected: set = set()
        if scheduler:
            self.client = _scheduler_client(distributed, scheduler)
            self.workers = len(self.client.scheduler_info().get("workers", {}))
        else:
            # its processes ignore Ctrl-C, which a terminal sends to the whole group: each would print
            # a traceback and die; this process stops their tasks instead (see stop)
            self.cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                    dashboard_address=None, silence_logs=logging.ERROR,
                                                    preload=[__name__])
            self.client = distributed.Client(self.cluster, set_as_default=False)
            self.workers = workers
        self.address = self.client.scheduler.address
        logging.getLogger("tornado.application").addFilter(_not_dask_sync_cancel)

    def results(self, tasks: Sequence[PointTask]) -> Iterator[PointResult]:
        distributed = _distributed()
        self._futures = {self.client.submit(self.function, t, pure=False): t for t in tasks}
        self._collected: set = set()
        for future in distributed.as_completed(list(self._futures), loop=self.client.loop):
            self._collected.add(future)
            yield self._result(future)

    def _result(self, future) -> PointResult:
        try:
            return future.result()
        except BaseException as error:  # noqa: BLE001 - KilledWorker, cancellation, ...
            return _failed(self._futures[future], error)

    def stop(self) -> list[PointResult]:
        # Queued tasks are cancelled. Dask has no way to stop a running task; on the LocalCluster
        # started here each running point gets a KeyboardInterrupt in its thread, which it ends
        # as 'interrupted' (as a worker process's Ctrl-C does). A remote cluster's tasks run on,
        # and the sweep marks their points interrupted.
        running = [f for f in self._futures if not f.done()]
        if self.cluster is None:
            if running:
                self.client.cancel(running)
            return []
        # a running future's status is 'pending' too: the workers say which tasks run, and only the
        # others are cancelled (a cancelled running point would vanish, its result never collected)
        # the queued ones first: an interrupted point frees its worker, which would start the next
        started = {key for keys in self.client.run(_running_tasks).values() for key in keys}
        queued = [f for f in running if f.key not in started]
        if queued:
            self.client.cancel(queued)
        self.client.run(_running_tasks, interrupt=True)
        running = [f for f in running if f.key in started]
        deadline = time.monotonic() + STOP_TIMEOUT
        while not all(f.done() for f in running) and time.monotonic() < deadline:  # distributed.wait needs a
            time.sleep(0.05)  # default client, which this one is not
        finished = [f for f in self._futures if f.done() and f.status != "cancelled" and f not in self._collected]
        self._collected.update(finished)
        return [self._result(f) for f in finished]

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def create(executor: str, workers: int | None, scheduler: str | None = None, points: int | None = None):
    """The executor for ``--executor``/``--workers``/``--scheduler`` (workers default: the number of cores).

    Raises
    ------
    InputError
        An unknown executor, workers < 1, ``--scheduler`` without dask, dask not installed or
        the scheduler unreachable.
    """
    from gradlab.errors import unknown_choice

    if executor not in EXECUTORS:
        raise unknown_choice("--executor", executor, EXECUTORS)
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    if scheduler is not None and not scheduler.strip():  # was taken as no --scheduler: a LocalCluster here
        raise InputError(f"--scheduler {scheduler!r}: an empty address; {SCHEDULER_EXPECTED}, or no --scheduler "
                         f"for a LocalCluster here")
    if scheduler and executor != "dask":
        raise InputError("--scheduler needs --executor dask")
    workers = workers or os.cpu_count() or 1
    if points is not None:  # idle processes cost start-up time and memory (-j 1000 for 4 points: 57 GB)
        workers = min(workers, points)
    if executor == "dask":
        return DaskExecutor(scheduler, workers)
    return SerialExecutor() if workers == 1 else ProcessExecutor(workers)
