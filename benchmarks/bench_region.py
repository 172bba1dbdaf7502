"""A region of many authorities against one national replication, on the same cores.

Builds `--authorities` synthetic returns (default 150) with `caresim data synth`'s machinery
(calibration/ssda903/synth.py), their sizes (children in care at 31 March 2015) log-normal
around England's 69,540 / 152 with England's spread (sd of log 0.6: authorities run from a few
dozen to a few thousand children; assumption from the published spread), years 2019-2021; the
returns are built once in `--cache` (not timed). Then times, on a loopback Dask cluster of
`--workers` single-threaded workers:

The workers and the scheduler import the model before the timing, as a running cluster's
have (the scheduler unpickles each task's function, so the first task from a module it has not
imported waits for the import: ~0.4-0.6 s for calibration.local, measured).

* region: `calibration.region.run_region` with national parameters (`--no-fit`: the local fits
  are a separate, cached step of about 5-10 s per authority): every return read and cleaned (one
  task per worker, each reading its share in one pass), then one replication of all the
  authorities as one model (one task), from 31 March 2021 for `--years` years;
* national: one replication of England at scale 1 for the same number of years (2015 on),
  through the same executor on the same workers: after the region (the default), or before it
  on workers as they start (`--national-first`).

It prints both wall times, their ratio (target <= 2), the region's two phases apart (reading
and cleaning every return, from the start to `run_region`'s "running" message; then the
replications and the driver's suppression and writes) and the workers' resident memory (RSS)
sampled once a second: the first and the last sample of the region phase. Nothing is cached between runs: every figure is cold.

    python benchmarks/bench_region.py [--authorities 150] [--workers 2] [--years 5] [--cache DIR]
                                      [--national-first]
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from distributed import Client  # noqa: E402

from runner.executor import Task, run_tasks  # noqa: E402
from runner.loopback import loopback_cluster  # noqa: E402

ENGLAND_2015 = 69_540
AUTHORITIES_IN_ENGLAND = 152
LOG_SD = 0.6


def sizes(n: int, seed: int = 2021) -> np.ndarray:
    """Children in care of `n` authorities: log-normal, median such that the mean is England's / 152."""
    rng = np.random.default_rng(seed)
    mean = ENGLAND_2015 / AUTHORITIES_IN_ENGLAND
    raw = rng.lognormal(np.log(mean) - LOG_SD ** 2 / 2, LOG_SD, n)
    return np.clip(np.round(raw), 20, 5000).astype(int)


def _synth_one(args: tuple[str, int, int]) -> str:
    from calibration.ssda903.synth import synthesise

    folder, children, seed = args
    if not (Path(folder) / "2021").exists():
        synthesise(Path(folder), children=int(children), years=(2019, 2021), seed=seed)
    return folder


def build(cache: Path, n: int, processes: int) -> list[int]:
    cache.mkdir(parents=True, exist_ok=True)
    children = sizes(n)
    jobs = [(str(cache / f"la{i:03d}"), int(c), 100 + i) for i, c in enumerate(children)]
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_synth_one, jobs))
    return children.tolist()


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


class RssSampler:
    """Every worker's RSS once a second, from a Dask client, while a phase runs."""

    def __init__(self, address: str):
        from distributed import Client

        self.client = Client(address)
        self.samples: list[dict[str, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.samples.append(self.client.run(_rss))
            except Exception:  # a worker busy past the timeout: skip this sample
                pass
            self._stop.wait(1.0)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.client.close()


def main() -> int:
    from calibration.region import run_region
    from runner.montecarlo import ExecutorOptions
    from sim.run import run_replication

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authorities", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/caresim-bench-region"))
    parser.add_argument("--build-processes", type=int, default=2)
    parser.add_argument("--national-scale", type=float, default=1.0, help="scale of the national replication "
                        "(1: England; smaller only for a smoke run)")
    parser.add_argument("--national-first", action="store_true", help="time the national replication before the "
                        "region, on the workers as they start (by default after it, on workers the region warmed)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    children = build(args.cache / f"n{args.authorities}", args.authorities, args.build_processes)
    build_s = time.perf_counter() - t0
    print(f"{args.authorities} synthetic authorities, {sum(children):,} children in care at 31 March 2015 "
          f"(median {int(np.median(children))}, min {min(children)}, max {max(children)}); built in {build_s:.0f} s",
          flush=True)
    out = args.cache / f"out{args.authorities}-{int(time.time())}"
    with loopback_cluster(args.workers, nanny=True) as cluster:
        with Client(cluster.address) as client:  # a running cluster has the model imported
            for module in ("sim.run", "calibration.local", "calibration.region"):
                client.run(importlib.import_module, module)
                # the scheduler unpickles each task's function: the first task of a module not
                # yet imported there waits ~0.4-0.6 s for the import (measured; calibration.local)
                client.run_on_scheduler(importlib.import_module, module)
        def time_national() -> float:
            t0 = time.perf_counter()
            run_tasks([Task("national/seed=1", run_replication, {"seed": 1, "scale": args.national_scale,
                                                                  "end_year": 2015 + args.years})],
                      lambda task, table: None, scheduler=cluster.address, progress=False)
            return time.perf_counter() - t0

        if args.national_first:
            national_s = time_national()
        with RssSampler(cluster.address) as sampler:
            marks: list[float] = []  # when run_region logs its phases: preparing, then running
            t0 = time.perf_counter()
            run_region(args.cache / f"n{args.authorities}", out, [1], end_year=2021 + args.years, fit=False,
                       executor=ExecutorOptions(scheduler=cluster.address),
                       log=lambda msg: marks.append(time.perf_counter()))
            region_s = time.perf_counter() - t0
        prepare_s = marks[1] - t0 if len(marks) > 1 else float("nan")
        rss = sampler.samples
        if not args.national_first:
            national_s = time_national()
    first = {k: round(v / 2**20) for k, v in rss[0].items()} if rss else {}
    last = {k: round(v / 2**20) for k, v in rss[-1].items()} if rss else {}
    peak = max((max(s.values()) for s in rss), default=0) / 2**20
    ratio = region_s / national_s
    print(f"region: {region_s:.1f} s for {args.authorities} authorities x 1 replication, {args.years} years "
          f"(reading and cleaning the returns {prepare_s:.1f} s, then running {region_s - prepare_s:.1f} s)")
    print(f"national: {national_s:.1f} s for one replication at scale {args.national_scale:g}, {args.years} years "
          f"({'before' if args.national_first else 'after'} the region)")
    print(f"ratio {ratio:.2f} (target <= 2); worker RSS MiB first {first} last {last} peak {peak:.0f} "
          f"({len(rss)} samples)")
    print(json.dumps(dict(authorities=args.authorities, children_2015=int(sum(children)), workers=args.workers,
                          years=args.years, build_s=round(build_s, 1), region_s=round(region_s, 1),
                          prepare_s=round(prepare_s, 1),
                          national_s=round(national_s, 1), national_first=args.national_first,
                          ratio=round(ratio, 2), rss_first_mib=first,
                          rss_last_mib=last, rss_peak_mib=round(peak))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
