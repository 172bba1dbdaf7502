"""Run many independent replication tasks, serially or on Dask distributed, streaming results back.

Interface (stable; the implementation may change):

    run_tasks(tasks, on_result, workers=1, scheduler=None, progress=True)

Each `Task` is pure: its result depends only on (fn, kwargs). `on_result(task, result)` is
called in the driver as each result arrives, in any order, exactly once per task key.

Three ways to run, one code path for the last two:
- `workers=1`, no scheduler: every task in this process, in order (no cluster, no pickling).
- `workers=K > 1`: a Dask `LocalCluster` of K single-threaded worker processes on 127.0.0.1.
- `scheduler="tcp://HOST:PORT"`: a running Dask scheduler (`dask scheduler` / `dask worker`).

On a cluster, each task's Dask key is its `Task.key` followed by a hash of (fn, kwargs), so a
key names exactly one computation, even on a scheduler shared by several experiments. At most
`IN_FLIGHT_PER_THREAD` tasks per worker thread are submitted at a time and results are handed to
`on_result` as they finish, then forgotten: the driver never holds all tasks or all results.
A worker that dies (kill -9, a lost machine) costs a rerun of its tasks elsewhere: the scheduler
reschedules them itself, and a task it gives up on (`KilledWorker`) is resubmitted up to
`retries` times. A task that raises stops the experiment with one line naming its key.
"""
from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from runner.errors import UserError

# Tasks in flight per worker thread. One: a task submitted beyond the free threads is assigned
# to a busy worker at once (each replication is its own task group, so Dask's scheduler-side
# queuing does not hold it back) and can wait there while another worker idles (measured: a
# 5 s gap in an 8-task run on 2 workers). The next task is submitted as soon as one finishes.
IN_FLIGHT_PER_THREAD = 1
CONNECT_TIMEOUT_S = 10.0  # how long to try reaching a --scheduler address before giving up
WORKER_DEATH_RETRIES = 3  # resubmissions of a task the scheduler gave up on after worker deaths

# Dask settings for workers whose tasks are seconds-long replications (the README gives the same
# as environment variables for cluster workers). Dask's statistical profiler samples each task's
# stack 100 times a second (~3% of a replication's CPU time, for a profile of one opaque
# function); its event-loop and memory monitors wake every 20-500 ms: an idle 2-worker
# LocalCluster used 10% of a core, 2.5% with these intervals.
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "200ms",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
}


def quiet_worker_environment() -> dict[str, str]:
    """QUIET_WORKERS as the environment variables that set them in a `dask worker` process."""
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
            for key, value in QUIET_WORKERS.items()}


@dataclass(frozen=True)
class Task:
    key: str  # unique within an experiment, e.g. "optimised-low/seed=7"
    fn: Callable[..., Any]  # a module-level function (picklable)
    kwargs: dict = field(default_factory=dict)


class TaskError(UserError):
    """A task raised: one line naming its key (the original exception is chained)."""


def run_tasks(tasks: Iterable[Task], on_result: Callable[[Task, Any], None], *, workers: int = 1,
              scheduler: str | None = None, progress: bool = True, retries: int = WORKER_DEATH_RETRIES,
              connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Run every task once and call `on_result(task, result)` in this process as each finishes.

    Args:
        tasks: tasks with unique keys; may be a generator (consumed lazily, a few at a time).
        on_result: called once per task, in completion order, in the calling process.
        workers: number of local worker processes when no scheduler is given (1 = serial).
        scheduler: address of a running Dask scheduler, e.g. "tcp://10.0.0.5:8786".
        progress: show a progress bar on stderr.
        retries: resubmissions of a task whose workers kept dying (`KilledWorker`).
        connect_timeout: seconds to keep trying to reach `scheduler`.

    Raises:
        TaskError: a task raised (the message names its key).
        UserError: the scheduler cannot be reached, or a key is repeated.
    """
    total = len(tasks) if hasattr(tasks, "__len__") else None
    with _progress_bar(total, progress) as bar:
        tasks = _unique(tasks)
        if scheduler is None and workers <= 1:
            for task in tasks:
                on_result(task, _call(task))
                bar.update()
            return
        with _client(workers, scheduler, connect_timeout) as client:
            for task, result in _completed(client, tasks, retries):
                on_result(task, result)
                bar.update()


def worker_threads(workers: int = 1, scheduler: str | None = None, connect_timeout: float = CONNECT_TIMEOUT_S) -> int:
    """How many tasks `run_tasks` runs at once with these options: `workers` (at least 1), or the
    threads of the workers now attached to `scheduler` (at least 1)."""
    if scheduler is None:
        return max(1, workers)
    with _client(workers, scheduler, connect_timeout) as client:
        return max(1, sum(client.nthreads().values()))


def _call(task: Task) -> Any:
    try:
        return run_collected(task.fn, task.kwargs)
    except Exception as exc:
        raise _task_error(task, exc) from exc


def run_collected(fn: Callable[..., Any], kwargs: dict) -> Any:
    """`fn(**kwargs)`, then a full garbage collection if a model was released and none ran in
    the last second.

    This is what each task runs, serially or on a worker: a released model's cycles are
    collected at most once a second (`sim.allocator.collect_if_due`, which says why), and one
    the task ran itself counts.
    """
    from sim.allocator import collect_if_due

    result = fn(**kwargs)
    collect_if_due()
    return result


def _task_error(task: Task, exc: BaseException) -> TaskError:
    message = " ".join(str(exc).split()) or "(no message)"
    return TaskError(f"task {task.key!r} failed: {type(exc).__name__}: {message}")


def _unique(tasks: Iterable[Task]) -> Iterator[Task]:
    seen: set[str] = set()
    for task in tasks:
        if task.key in seen:
            raise UserError(f"task key {task.key!r} appears twice in one experiment")
        seen.add(task.key)
        yield task


def _progress_bar(total: int | None, enabled: bool):
    if not enabled:  # tqdm is not imported for a run that shows no bar (`caresim run` starts faster)
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, file=sys.stderr, unit="run", dynamic_ncols=True)


class _NoBar:
    """A progress bar that shows nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def update(self, n: int = 1) -> None:
        pass


def _client(workers: int, scheduler: str | None, connect_timeout: float):
    """A Dask client: to `scheduler`, or to a new loopback LocalCluster of `workers` processes.

    The returned client closes its LocalCluster (if it made one) when closed.
    """
    from distributed import Client

    if scheduler is None:
        cluster = _local_cluster(workers)
        try:
            client = Client(cluster)
        except BaseException:
            cluster.close()
            raise
        return _ClosingClient(client, cluster)
    try:
        client = Client(scheduler, timeout=connect_timeout)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise UserError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler there ({reason})") from None
    return _ClosingClient(client, None)


def _local_cluster(workers: int):
    """A loopback LocalCluster of `workers` single-threaded processes."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(QUIET_WORKERS):
        # the workers' own logs stay quiet: a task that fails (a user's bad file, say) is
        # reported once, as one line, by `run_tasks`, not as a worker's traceback too
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL)


@contextmanager
def shared_scheduler(workers: int = 1, scheduler: str | None = None) -> Iterator[str | None]:
    """The scheduler for several `run_tasks` calls in a row: `scheduler` itself, None (serial)
    for one worker, or else the address of one loopback cluster of `workers` processes, started
    once and closed on exit (each `run_tasks(workers=N)` would start its own: ~1-2 s each)."""
    if scheduler is not None or workers <= 1:
        yield scheduler
        return
    cluster = _local_cluster(workers)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


class _ClosingClient:
    """Context manager closing a client and then the cluster it was started with."""

    def __init__(self, client, cluster):
        self.client, self.cluster = client, cluster

    def __enter__(self):
        return self.client

    def __exit__(self, *exc_info):
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def _completed(client, tasks: Iterator[Task], retries: int) -> Iterator[tuple[Task, Any]]:
    """(task, result) as each task completes, keeping a bounded number of tasks in flight."""
    from dask.base import tokenize
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    running: dict[str, Task] = {}  # Dask key -> task, for tasks submitted and not yet handed over
    resubmitted: dict[str, int] = {}
    done = as_completed()
    capacity = _Capacity(client)

    def top_up() -> None:
        while len(running) < IN_FLIGHT_PER_THREAD * capacity():
            task = next(tasks, None)
            if task is None:
                return
            key = f"{task.key}-{tokenize(task.fn, task.kwargs)}"
            running[key] = task
            done.add(client.submit(run_collected, task.fn, task.kwargs, key=key, pure=True))

    try:
        top_up()
        for future in done:
            task = running[future.key]
            if future.status == "error":
                exc = future.exception()
                if not isinstance(exc, KilledWorker):
                    raise _task_error(task, exc) from exc
                if resubmitted.get(future.key, 0) >= retries:
                    raise TaskError(f"task {task.key!r} failed: every worker that ran it died "
                                    f"({retries} resubmission(s)); see the workers' logs") from exc
                resubmitted[future.key] = resubmitted.get(future.key, 0) + 1
                future.retry()
                done.add(future)
                continue
            if future.status != "finished":
                raise UserError(f"task {task.key!r} was {future.status} by the Dask scheduler "
                                f"{client.scheduler.address} (lost, restarted or cancelled by another client)")
            del running[future.key]
            top_up()  # the freed thread gets its next task before this result is fetched and stored
            result = future.result()
            resubmitted.pop(future.key, None)
            future.release()  # the scheduler and the worker forget the result now
            yield task, result
    except OSError as exc:  # distributed's CommClosedError and friends: the scheduler went away
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise UserError(f"lost the Dask scheduler {client.scheduler.address}: {reason}") from exc


class _Capacity:
    """Worker threads in the cluster (at least 1), asked of the scheduler at most once a second.

    Workers may join or leave a running cluster, so the number of tasks in flight follows it.
    """

    def __init__(self, client):
        self.client = client
        self.checked = -1.0
        self.threads = 1

    def __call__(self) -> int:
        now = time.monotonic()
        if now - self.checked >= 1.0:
            self.threads = max(1, sum(self.client.nthreads().values()))
            self.checked = now
        return self.threads
