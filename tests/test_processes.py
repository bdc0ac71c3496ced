"""Worker processes and the signals of a Ctrl-C: gradlab.processes."""

import os
import signal
from concurrent.futures import ProcessPoolExecutor

import pytest

from gradlab.processes import signals_held


@pytest.fixture
def ctrl_c_while_workers_start(monkeypatch):
    """Every worker a pool spawns gets a SIGINT at once, while its interpreter is still starting
    (before its pool's initializer has run), as the terminal's Ctrl-C to the group can."""
    spawn = ProcessPoolExecutor._spawn_process

    def spawn_and_interrupt(self):
        known = set(self._processes)
        spawn(self)
        for pid in set(self._processes) - known:
            os.kill(pid, signal.SIGINT)

    monkeypatch.setattr(ProcessPoolExecutor, "_spawn_process", spawn_and_interrupt)


def _completed(task):
    from gradlab import sweeps

    return sweeps.PointResult(task.index, "completed", epochs=1)


def test_a_ctrl_c_while_sweep_workers_start_cancels_their_points_and_breaks_nothing(ctrl_c_while_workers_start):
    # the worker died with KeyboardInterrupt in `import numpy`, the pool broke and the points were
    # 'failed ... BrokenProcessPool'; now the SIGINT waits until the worker can take it as a Ctrl-C
    from gradlab import sweeps
    from gradlab.executors import ProcessExecutor

    tasks = [sweeps.PointTask(i, f"p{i}", {}, ".", None, False, [], []) for i in range(1, 5)]
    pool = ProcessExecutor(2, function=_completed)
    try:
        outcome = {r.index: (r.status, r.error) for r in pool.results(tasks)}
    finally:
        pool.close()
    assert outcome == {i: ("cancelled", sweeps.CANCELLED) for i in range(1, 5)}  # each worker's Ctrl-C: it starts none


def test_landscape_workers_outlive_a_ctrl_c_while_they_start(ctrl_c_while_workers_start, monkeypatch):
    # one worker died holding the call queue's lock and the others waited on it: the command hung
    from gradlab import landscape as ls
    from gradlab.experiment import load_experiment
    from tests.conftest import CONFIGS

    e = load_experiment(CONFIGS / "sine_smooth_l1.yaml", {"model.hidden": []})
    monkeypatch.setattr(ls, "CHUNK_VALUES", len(e.X_train) * 10)  # 3 chunks for 5 x 5
    serial = ls.compute(e.network, e.loss, e.X_train, e.Y_train, None, points=5, workers=1)
    monkeypatch.setattr(ls, "PARALLEL_WORK", 0)
    spread = ls.compute(e.network, e.loss, e.X_train, e.Y_train, None, points=5, workers=2)
    assert spread.loss.tolist() == serial.loss.tolist()


def test_a_ctrl_c_while_workers_are_started_is_raised_when_they_are(monkeypatch):
    # raised half-way through starting a worker, it left that worker reading a start-up message that
    # never came ("EOFError: Ran out of input" on stderr)
    import threading
    import time

    done = threading.Event()
    other = threading.Thread(target=done.wait)  # a thread that does not block SIGINT: the kernel gives it the signal
    other.start()
    reached = []
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals_held():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)  # Python's handler would run here, in the main thread
                reached.append("end of block")
    finally:
        done.set()
        other.join()
    assert reached == ["end of block"]
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) & {signal.SIGINT, signal.SIGTERM} == set()
