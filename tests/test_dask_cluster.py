"""A real Dask cluster on 127.0.0.1: `dask scheduler` and two `dask worker` processes per test.

Checks that replications run on the cluster equal the serial ones exactly, and that kill -9 on a
worker while tasks run costs only a rerun: every key is handed over exactly once. Every process
started is killed at the end of its test, pass or fail (see `runner.loopback.loopback_cluster`).
"""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from distributed import Client

from runner.loopback import loopback_cluster
from runner.executor import Task, TaskError, run_tasks
from sim.run import replication_seed, run_replication
from tests.test_executor import SMALL, assert_same_tables, collect, replication_tasks

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

RUN_TIMEOUT_S = 120.0


def replication_then_pause(pause_s: float, **kwargs):
    """A replication that takes long enough for a worker to be killed in the middle of it."""
    table = run_replication(**kwargs)
    time.sleep(pause_s)
    return table


def busy_worker(client: Client, timeout_s: float = 10.0) -> tuple[str, tuple]:
    """Address of the worker with most tasks in hand, and those tasks' keys."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        address, keys = max(client.processing().items(), key=lambda item: len(item[1]))
        if keys:
            return address, tuple(keys)
        time.sleep(0.05)
    raise AssertionError(f"no worker had a task in hand for {timeout_s:.0f} s")


def run_with_deadline(tasks, on_result, **kwargs) -> None:
    """run_tasks in a thread, failing the test (instead of hanging) if it overruns."""
    outcome: dict = {}

    def target():
        try:
            run_tasks(tasks, on_result, progress=False, **kwargs)
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(RUN_TIMEOUT_S)
    assert not thread.is_alive(), f"run_tasks did not finish within {RUN_TIMEOUT_S:.0f} s"
    if "error" in outcome:
        raise outcome["error"]


def test_cluster_results_equal_serial_results():
    tasks = replication_tasks(6, base_seed=40)
    serial = collect(tasks)
    with loopback_cluster(2) as cluster:
        on_cluster: dict = {}
        run_with_deadline(tasks, lambda task, result: on_cluster.__setitem__(task.key, result),
                          scheduler=cluster.address)
    assert_same_tables(serial, on_cluster)


# allowed failures: 3 (Dask's default) lets the scheduler reschedule the dead worker's tasks
# itself; 0 makes it give up at once (KilledWorker), so the executor's resubmission must do it,
# and without resubmissions (retries=0) the experiment stops with one line naming the task.
@pytest.mark.parametrize("allowed_failures, retries", [(3, 3), (0, 3), (0, 0)])
def test_killed_worker_costs_only_a_rerun(allowed_failures, retries):
    n = 6
    tasks = [Task(f"baseline/seed={replication_seed(60, i)}", replication_then_pause,
                  dict(pause_s=0.5, seed=replication_seed(60, i), **SMALL)) for i in range(n)]
    expected = collect([Task(t.key, run_replication, {k: v for k, v in t.kwargs.items() if k != "pause_s"})
                        for t in tasks])
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures)}
    with loopback_cluster(2, scheduler_env=env) as cluster, \
            Client(cluster.address, timeout=30) as monitor:
        handed: list[str] = []
        results: dict = {}
        killed: dict = {}

        def on_result(task, result):
            handed.append(task.key)
            results[task.key] = result
            if not killed:  # first result: kill a worker that has tasks in hand right now
                address, keys = busy_worker(monitor)
                pid = monitor.run(os.getpid, workers=[address])[address]
                assert pid in [w.pid for w in cluster.workers]
                os.kill(pid, signal.SIGKILL)
                killed.update(address=address, pid=pid, keys=keys)

        if retries == 0:
            with pytest.raises(TaskError, match=r"task 'baseline/seed=\d+' failed: every worker that ran it died"):
                run_with_deadline(tasks, on_result, scheduler=cluster.address, retries=0)
            return
        run_with_deadline(tasks, on_result, scheduler=cluster.address, retries=retries)
        assert killed, "no worker was killed"
        dead = next(w for w in cluster.workers if w.pid == killed["pid"])
        assert dead.wait(timeout=10) == -signal.SIGKILL
        assert len(monitor.scheduler_info()["workers"]) == 1
    assert len(handed) == n and set(handed) == {t.key for t in tasks}  # no duplicates, no gaps
    assert_same_tables(expected, results)
