"""A Dask scheduler and workers on 127.0.0.1 as real subprocesses, cleaned up whatever happens.

Used by the cluster tests and by `benchmarks/bench_parallel.py` (so it lives here, not in
tests/): it starts exactly what the README tells a user to start (`dask scheduler`,
`dask worker`). Each process runs in its own process group, so killing the group on exit leaves
nothing behind even if a worker forked.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from runner.executor import quiet_worker_environment

# the folder holding the `sim` package the driver imported: the workers import the same code
CODE_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60.0


@dataclass
class LoopbackCluster:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def loopback_cluster(n_workers: int = 2, *, nanny: bool = False, scheduler_env: dict | None = None):
    """Start `dask scheduler` and `n_workers` single-threaded `dask worker`s; yield their handles.

    Without a nanny each worker is one process, so kill -9 on it is a lost machine (a nanny
    would restart it). The folder above `runner/` (the repository in a checkout) is the workers'
    working directory and on their PYTHONPATH, so they import the same code as the driver
    (installed or not) and test-only task functions (`tests.test_dask_cluster.*`).
    """
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(CODE_ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(quiet_worker_environment())  # as the README advises for workers
    dask_cli = [sys.executable, "-m", "dask"]
    procs: list[subprocess.Popen] = []
    try:
        scheduler = _start(dask_cli + ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
                                       "--idle-timeout", "600"], {**env, **(scheduler_env or {})}, procs)
        _wait_for_port(port, scheduler)
        cluster = LoopbackCluster(address, scheduler)
        for i in range(n_workers):
            cluster.workers.append(_start(
                dask_cli + ["worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                            "--host", "127.0.0.1", "--name", f"w{i}", "--death-timeout", "30",
                            "--nanny" if nanny else "--no-nanny"], env, procs))
        _wait_for_workers(address, n_workers, procs)
        yield cluster
    finally:
        for proc in reversed(procs):
            _kill_group(proc)


def _start(cmd: list[str], env: dict, procs: list) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=CODE_ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    procs.append(proc)
    return proc


def _wait_for_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with code {proc.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"dask scheduler did not listen on port {port} within {START_TIMEOUT_S:.0f} s")


def _wait_for_workers(address: str, n: int, procs: list) -> None:
    from distributed import Client

    with Client(address, timeout=START_TIMEOUT_S) as client:
        client.wait_for_workers(n, timeout=START_TIMEOUT_S)
    dead = [p.args for p in procs if p.poll() is not None]
    if dead:
        raise RuntimeError(f"dask processes exited during start-up: {dead}")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
