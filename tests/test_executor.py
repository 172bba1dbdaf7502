"""The executor: serial fast path, a LocalCluster of 2 worker processes, and the errors a user sees.

Replications are small (scale 0.02, 2015 -> 2017) so the file runs in well under a minute.
"""
from __future__ import annotations

from pathlib import Path

import dask.config
import pandas as pd
import pytest

from runner.errors import UserError
from runner.executor import (IN_FLIGHT_PER_THREAD, QUIET_WORKERS, Task, TaskError, quiet_worker_environment,
                                  run_tasks, shared_scheduler, worker_threads)
from sim.run import replication_seed, run_replication
from runner.loopback import free_port

SMALL = dict(scale=0.02, end_year=2017)


def replication_tasks(n: int, base_seed: int = 11) -> list[Task]:
    return [Task(f"baseline/seed={replication_seed(base_seed, i)}", run_replication,
                 dict(seed=replication_seed(base_seed, i), **SMALL)) for i in range(n)]


def fail_on_seed(seed: int, bad_seed: int) -> int:
    """Task function for the error tests (module level so that workers can import it)."""
    if seed == bad_seed:
        raise ValueError(f"seed {seed} is\nbad")
    return seed


def collect(tasks, **kwargs) -> dict:
    results: dict = {}

    def on_result(task, result):
        assert task.key not in results, f"{task.key} handed over twice"
        results[task.key] = result

    run_tasks(tasks, on_result, progress=False, **kwargs)
    return results


def assert_same_tables(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        pd.testing.assert_frame_equal(a[key], b[key], check_exact=True)
        assert a[key].attrs == b[key].attrs


def test_serial_runs_each_task_once_in_order():
    tasks = replication_tasks(3)
    seen = []
    run_tasks(tasks, lambda task, result: seen.append((task.key, result.attrs["seed"])), progress=False)
    assert seen == [(t.key, t.kwargs["seed"]) for t in tasks]


def test_replication_is_a_pure_function_of_its_arguments():
    first = run_replication(seed=5, **SMALL)
    run_replication(seed=6, **SMALL)  # another model in between changes nothing
    again = run_replication(seed=5, **SMALL)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    assert not first.equals(run_replication(seed=6, **SMALL))


def test_task_error_is_one_line_naming_the_key():
    tasks = [Task(f"s/seed={s}", fail_on_seed, dict(seed=s, bad_seed=2)) for s in range(1, 4)]
    with pytest.raises(TaskError) as info:
        collect(tasks)
    message = str(info.value)
    assert "s/seed=2" in message and "ValueError" in message and "\n" not in message
    assert isinstance(info.value, UserError)  # the CLI prints it as one line and exits 2


def test_repeated_key_is_refused():
    tasks = [Task("same", fail_on_seed, dict(seed=1, bad_seed=0))] * 2
    with pytest.raises(UserError, match="'same' appears twice"):
        collect(tasks)


def test_unreachable_scheduler_is_one_line_naming_the_address():
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens there
    with pytest.raises(UserError) as info:
        collect(replication_tasks(1), scheduler=address, connect_timeout=1)
    assert address in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UserError, match="--scheduler nonsense"):
        collect(replication_tasks(1), scheduler="nonsense")


@pytest.mark.slow
@pytest.mark.cluster
def test_two_local_workers_match_serial_and_keep_few_tasks_in_flight():
    tasks = replication_tasks(6)
    serial = collect(tasks)
    pulled = []
    handed = []

    def lazily():  # a generator: the executor must not build every task up front
        for task in tasks:
            pulled.append(task.key)
            yield task

    parallel: dict = {}

    def on_result(task, result):
        handed.append(task.key)
        parallel[task.key] = result
        assert len(pulled) - len(handed) <= IN_FLIGHT_PER_THREAD * 2

    run_tasks(lazily(), on_result, workers=2, progress=False)
    assert sorted(handed) == sorted(t.key for t in tasks)
    assert_same_tables(serial, parallel)


@pytest.mark.slow
@pytest.mark.cluster
def test_task_error_on_local_workers_names_the_key():
    tasks = [Task(f"s/seed={s}", fail_on_seed, dict(seed=s, bad_seed=3)) for s in range(1, 5)]
    with pytest.raises(TaskError, match=r"'s/seed=3' failed: ValueError: seed 3 is bad"):
        collect(tasks, workers=2)


def worker_pid() -> int:
    import os

    return os.getpid()


@pytest.mark.slow
@pytest.mark.cluster
def test_a_shared_scheduler_serves_several_runs_with_the_same_workers_then_closes():
    """`run_region` prepares and then runs on one local cluster: the second `run_tasks` finds the
    workers of the first (the same processes), and the cluster is gone afterwards."""
    with shared_scheduler(1, None) as serial:
        assert serial is None
    with shared_scheduler(4, "tcp://10.0.0.5:8786") as given:
        assert given == "tcp://10.0.0.5:8786"
    with shared_scheduler(2, None) as address:
        assert worker_threads(2, address) == 2
        pids = []
        for k in range(2):
            run_tasks([Task(f"pid/{k}/{j}", worker_pid) for j in range(4)], lambda task, pid: pids.append((k, pid)),
                      scheduler=address, progress=False)
        first, second = ({pid for run, pid in pids if run == k} for k in (0, 1))
        assert len(pids) == 8 and first & second  # the second run's tasks ran in the first's workers
    with pytest.raises(UserError, match="cannot connect"):
        run_tasks([Task("late", worker_pid)], lambda task, pid: None, scheduler=address, progress=False,
                  connect_timeout=2)


def test_the_readme_gives_the_quiet_worker_settings_as_environment_variables():
    env = quiet_worker_environment()
    flat = pd.json_normalize(dask.config.collect_env(env), sep=".").iloc[0].to_dict()
    assert {k.replace("_", "-"): str(v) for k, v in flat.items()} == {k: str(v) for k, v in QUIET_WORKERS.items()}
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name, value in env.items():
        assert f"export {name}={value}" in readme
