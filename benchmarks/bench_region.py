"""A region of many authorities against one national replication, on the same cores.

Builds `--authorities` synthetic returns (default 150) with `caresim data synth`'s machinery
(calibration/ssda903/synth.py), their sizes (children in care at 31 March 2015) log-normal
around England's 69,540 / 152 with England's spread (sd of log 0.6: authorities run from a few
dozen to a few thousand children; assumption from the published spread), years 2019-2021; the
returns are built once in `--cache` (not timed). Each measurement runs on a fresh loopback Dask cluster of `--workers` single-threaded workers
(as `caresim region --workers N` and `caresim run --workers N` start their own), whose scheduler
and workers have imported the model first, as a running cluster's have (the scheduler unpickles
each task's function, so the first task from a module it has not imported waits for the import:
~0.4-0.6 s for calibration.local, measured):

* region: `calibration.region.run_region` with national parameters (`--no-fit`: the local fits
  are a separate, cached step of about 5-10 s per authority): every return read and cleaned (one
  task per worker, each reading its share in one pass), then one replication of all the
  authorities as one model (one task), from 31 March 2021 for `--years` years;
* national: one replication of England at scale 1 for the same number of years (2015 on),
  through the same executor.

`--repeats` pairs (default 3), region first in the odd pairs and national first in the even
ones, since this 2-core machine's timings drift by 10-20% from one minute to the next. It prints
each pair, the medians and the ratio of each pair (target <= 2), the region's two phases
(reading and cleaning every return, from the start to `run_region`'s "running" message; then
the replication and the driver's suppression and writes) and the workers' resident memory (RSS)
sampled once a second. Nothing is cached between measurements: every figure is cold.

    python benchmarks/bench_region.py [--authorities 150] [--workers 2] [--years 5] [--repeats 3]
                                      [--cache DIR]
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


def _warmed(cluster) -> None:
    """Import the model in the workers and the scheduler, as a running cluster's have."""
    with Client(cluster.address) as client:
        for module in ("sim.run", "calibration.local", "calibration.region"):
            client.run(importlib.import_module, module)
            # the scheduler unpickles each task's function: the first task of a module not
            # yet imported there waits ~0.4-0.6 s for the import (measured; calibration.local)
            client.run_on_scheduler(importlib.import_module, module)


def time_region(args, folder: Path, out: Path) -> dict:
    """One region run on a fresh cluster: wall time, its reading phase, the workers' RSS."""
    from calibration.region import run_region
    from runner.montecarlo import ExecutorOptions

    with loopback_cluster(args.workers, nanny=True) as cluster:
        _warmed(cluster)
        with RssSampler(cluster.address) as sampler:
            marks: list[float] = []  # when run_region logs its phases: preparing, then running
            t0 = time.perf_counter()
            run_region(folder, out, [1], end_year=2021 + args.years, fit=False,
                       executor=ExecutorOptions(scheduler=cluster.address),
                       log=lambda msg: marks.append(time.perf_counter()))
            region_s = time.perf_counter() - t0
    prepare_s = marks[1] - t0 if len(marks) > 1 else float("nan")
    return {"region_s": region_s, "prepare_s": prepare_s, "rss": sampler.samples}


def time_national(args) -> float:
    """One national replication on a fresh cluster."""
    from sim.run import run_replication

    with loopback_cluster(args.workers, nanny=True) as cluster:
        _warmed(cluster)
        t0 = time.perf_counter()
        run_tasks([Task("national/seed=1", run_replication, {"seed": 1, "scale": args.national_scale,
                                                              "end_year": 2015 + args.years})],
                  lambda task, table: None, scheduler=cluster.address, progress=False)
        return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authorities", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="pairs of measurements (region and national), "
                        "each on fresh workers, in alternating order")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/caresim-bench-region"))
    parser.add_argument("--build-processes", type=int, default=2)
    parser.add_argument("--national-scale", type=float, default=1.0, help="scale of the national replication "
                        "(1: England; smaller only for a smoke run)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    folder = args.cache / f"n{args.authorities}"
    children = build(folder, args.authorities, args.build_processes)
    build_s = time.perf_counter() - t0
    print(f"{args.authorities} synthetic authorities, {sum(children):,} children in care at 31 March 2015 "
          f"(median {int(np.median(children))}, min {min(children)}, max {max(children)}); built in {build_s:.0f} s",
          flush=True)
    pairs = []
    for i in range(args.repeats):
        order = ("region", "national") if i % 2 == 0 else ("national", "region")
        pair = {}
        for what in order:
            if what == "region":
                pair.update(time_region(args, folder, args.cache / f"out{args.authorities}-{time.time_ns()}"))
            else:
                pair["national_s"] = time_national(args)
        pair["ratio"] = pair["region_s"] / pair["national_s"]
        pairs.append(pair)
        print(f"pair {i + 1} ({' then '.join(order)}): region {pair['region_s']:.2f} s (reading and cleaning the "
              f"returns {pair['prepare_s']:.2f} s, then running {pair['region_s'] - pair['prepare_s']:.2f} s), "
              f"national {pair['national_s']:.2f} s, ratio {pair['ratio']:.2f}", flush=True)
    rss = [s for p in pairs for s in p["rss"]]
    first = {k: round(v / 2**20) for k, v in pairs[-1]["rss"][0].items()} if pairs[-1]["rss"] else {}
    last = {k: round(v / 2**20) for k, v in pairs[-1]["rss"][-1].items()} if pairs[-1]["rss"] else {}
    peak = max((max(s.values()) for s in rss), default=0) / 2**20
    ratios = [p["ratio"] for p in pairs]
    median = {k: float(np.median([p[k] for p in pairs])) for k in ("region_s", "prepare_s", "national_s")}
    print(f"region: median {median['region_s']:.2f} s for {args.authorities} authorities x 1 replication, "
          f"{args.years} years (reading and cleaning {median['prepare_s']:.2f} s)")
    print(f"national: median {median['national_s']:.2f} s for one replication at scale {args.national_scale:g}, "
          f"{args.years} years")
    print(f"ratio: median {np.median(ratios):.2f}, range {min(ratios):.2f}-{max(ratios):.2f} (target <= 2); "
          f"worker RSS MiB in the last region run: first {first} last {last}; peak {peak:.0f}")
    print(json.dumps(dict(authorities=args.authorities, children_2015=int(sum(children)), workers=args.workers,
                          years=args.years, build_s=round(build_s, 1),
                          region_s=[round(p["region_s"], 2) for p in pairs],
                          prepare_s=[round(p["prepare_s"], 2) for p in pairs],
                          national_s=[round(p["national_s"], 2) for p in pairs],
                          ratio=[round(r, 2) for r in ratios], ratio_median=round(float(np.median(ratios)), 2),
                          rss_first_mib=first, rss_last_mib=last, rss_peak_mib=round(peak))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
