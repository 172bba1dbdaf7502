"""Throughput of a many-replication experiment: serial vs K local workers vs a K-worker cluster.

Runs the same replications (default 40, full scale, 2015 -> 2025: a many-replication experiment,
20 per worker on 2 workers, so that start-up is a small part of it) three ways through
`runner.executor.run_tasks`:
- serial: in this process (`workers=1`);
- local: a Dask LocalCluster of K worker processes (`workers=K`); its start-up is timed, as a
  user of `caresim compare --workers K` pays it;
- cluster: a `dask scheduler` and K `dask worker` processes (with nannies) on 127.0.0.1, started
  and made to import the model beforehand, as a cluster that is already running would be: this
  is the steady throughput, scheduling and transfers included, start-up excluded.
It prints replications per minute, speed-up and parallel efficiency (serial time / (K x time));
target >= 90% with K = 2. Results of every mode are checked bit-identical to the serial ones.

`--memory N` also runs N small replications (`--memory-scale`, default 0.1) one after another in
ONE cluster worker (with its nanny, as `dask worker` starts by default) and prints its resident
memory along the way: flat if models are released
(Mesa 3.3.1 keeps every model alive through Agent._ids unless `model.release()` is called).

    python benchmarks/bench_parallel.py [--replications 40] [--scale 1.0] [--end-year 2025]
                                        [--workers 2] [--modes serial,local,cluster] [--memory 40]
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

import pandas as pd
from distributed import Client

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the project, installed or not

from runner.executor import Task, run_tasks  # noqa: E402
from runner.loopback import loopback_cluster  # noqa: E402
from sim.run import replication_seed, run_replication  # noqa: E402


def replication_and_rss(**kwargs) -> tuple[pd.DataFrame, int, float, float]:
    """A replication; the resident memory (bytes) of the process that ran it; its wall and CPU seconds."""
    import psutil

    wall, cpu = time.perf_counter(), time.thread_time()
    table = run_replication(**kwargs)
    return table, psutil.Process().memory_info().rss, time.perf_counter() - wall, time.thread_time() - cpu


def tasks_for(n: int, scale: float, end_year: int, base_seed: int = 1) -> list[Task]:
    return [Task(f"baseline/seed={replication_seed(base_seed, i)}", replication_and_rss,
                 dict(seed=replication_seed(base_seed, i), scale=scale, end_year=end_year)) for i in range(n)]


def timed(tasks: list[Task], **executor) -> tuple[float, dict, dict]:
    """Wall seconds, tables by task key, and: the largest worker memory seen (MiB), seconds to the
    first result, and the mean wall and CPU seconds of one replication inside its task (their
    difference is time the task waited for a core)."""
    tables: dict = {}
    rss: list[int] = []
    first: list[float] = []
    task_wall: list[float] = []
    task_cpu: list[float] = []

    def on_result(task, result):
        tables[task.key], r, wall, cpu = result
        rss.append(r)
        task_wall.append(wall)
        task_cpu.append(cpu)
        first.append(first[0] if first else time.perf_counter() - t0)

    t0 = time.perf_counter()
    run_tasks(tasks, on_result, progress=False, **executor)
    return time.perf_counter() - t0, tables, {"max_rss_mib": max(rss) / 2**20, "first_result_s": first[0],
                                              "task_wall_s": sum(task_wall) / len(task_wall),
                                              "task_cpu_s": sum(task_cpu) / len(task_cpu)}


def memory_profile(n: int, scale: float) -> list[tuple[int, float]]:
    """RSS (MiB) of one cluster worker after tasks 1, n/4, n/2, 3n/4 and n."""
    rss: list[int] = []
    with loopback_cluster(1, nanny=True) as cluster:  # as `dask worker` runs by default
        run_tasks(tasks_for(n, scale, 2025, base_seed=1000), lambda task, result: rss.append(result[1]),
                  scheduler=cluster.address, progress=False)
    return [(i, round(rss[i - 1] / 2**20, 1)) for i in sorted({1, *(max(1, n * q // 4) for q in (1, 2, 3, 4))})]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=40)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--end-year", type=int, default=2025)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", default="serial,local,cluster")
    parser.add_argument("--memory", type=int, default=0, help="tasks for the one-worker memory profile (0: skip)")
    parser.add_argument("--memory-scale", type=float, default=0.1, help="scale of the memory profile's tasks")
    args = parser.parse_args()

    tasks = tasks_for(args.replications, args.scale, args.end_year)
    k = args.workers
    rows = {}
    reference = None
    for mode in args.modes.split(","):
        if mode == "serial":
            seconds, tables, extra = timed(tasks)
        elif mode == "local":
            seconds, tables, extra = timed(tasks, workers=k)
        elif mode == "cluster":
            with loopback_cluster(k, nanny=True) as cluster:
                with Client(cluster.address) as client:  # a running cluster has the model imported
                    client.run(importlib.import_module, "sim.run")
                seconds, tables, extra = timed(tasks, scheduler=cluster.address)
        else:
            parser.error(f"unknown mode {mode!r}")
        if reference is None:
            reference = tables
        identical = tables.keys() == reference.keys() and all(
            tables[key].equals(reference[key]) and tables[key].attrs == reference[key].attrs for key in reference)
        rows[mode] = dict(seconds=round(seconds, 2), runs_per_min=round(60 * args.replications / seconds, 2),
                          identical_to_first_mode=identical, **{n: round(v, 2) for n, v in extra.items()})
        print(f"{mode:>8}: {seconds:7.1f} s  {rows[mode]['runs_per_min']:6.2f} replications/min  "
              f"first result after {extra['first_result_s']:.1f} s  replication {extra['task_wall_s']:.2f} s "
              f"(CPU {extra['task_cpu_s']:.2f} s)  max worker RSS {extra['max_rss_mib']:.0f} MiB  "
              f"identical={identical}", flush=True)
    if "serial" in rows:
        for mode in [m for m in rows if m != "serial"]:
            speedup = rows["serial"]["seconds"] / rows[mode]["seconds"]
            rows[mode].update(speedup=round(speedup, 2), efficiency=round(speedup / k, 3))
            print(f"{mode:>8}: speed-up {speedup:.2f} on {k} workers, parallel efficiency {speedup / k:.0%}")
    if args.memory:
        profile = memory_profile(args.memory, args.memory_scale)
        rows["memory_one_worker_mib"] = profile
        print(f"one worker, scale {args.memory_scale:g}: RSS after task " + ", ".join(f"{i}: {m:.0f} MiB" for i, m in profile))
    print(json.dumps(dict(replications=args.replications, scale=args.scale, end_year=args.end_year, workers=k,
                          modes=rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
