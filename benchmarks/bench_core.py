"""Speed and memory of one full-scale replication, beside a pure-numpy floor.

Runs one replication 2015 -> END (default 2025) at full scale in a fresh process and prints
wall time (model build + run), peak memory (max RSS of that process), agents, child-months,
and child-months per second; then a pure-numpy loop of the same number of child-month
transitions (a monthly transition-matrix step with ageing and arrivals, the design floor in
../shared/PERFORMANCE.md) and the ratio of the two throughputs.

Targets (issue 2, this 2-core machine): under 15 s, under 1 GiB, at least 1/4 of the floor.
The ratio is the median over (model run, floor run) pairs taken one after the other; the floor
runs with the model's allocator settings (sim/allocator.py).

    python benchmarks/bench_core.py [--scale 1.0] [--end-year 2025] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

from sim import allocator

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from sim.model import CareModel
t1 = time.perf_counter()
m = CareModel(seed=1, scale={scale}, journeys=False)
t2 = time.perf_counter()
m.run_until({end_year})
t3 = time.perf_counter()
print(json.dumps(dict(import_s=t1 - t0, build_s=t2 - t1, run_s=t3 - t2, child_months=m.child_months,
    children=m.children.n, families=m.families.n, workers=m.workers.n, providers=m.providers.n,
    active_end=int(m.active_rows.size), months=m.month,
    peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def model_run(scale: float, end_year: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(scale=scale, end_year=end_year)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def numpy_floor(n_children: int, months: int, seed: int = 0) -> float:
    """Seconds for `months` monthly transitions of `n_children` in 8 states with 3 age bands."""
    rng = np.random.default_rng(seed)
    n_states, n_bands = 8, 3
    p = rng.random((n_bands, n_states, n_states)) ** 4
    p /= p.sum(axis=2, keepdims=True)
    cum = np.cumsum(p, axis=2)
    state = rng.integers(0, n_states, n_children).astype(np.int8)
    age = rng.integers(0, 216, n_children).astype(np.int16)
    t0 = time.perf_counter()
    for _ in range(months):
        band = np.minimum(age // 72, n_bands - 1)
        u = rng.random(n_children)
        state = (u[:, None] >= cum[band, state]).sum(axis=1).astype(np.int8)
        age += 1
        adult = age >= 216
        age[adult] = 0  # a leaver is replaced by an arrival
        state[adult] = 0
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--end-year", type=int, default=2025)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    allocator.tune()  # the floor gets the allocator settings the model runs with
    # each model run is followed by a floor run of its size, and the ratio is taken per pair, so
    # that a shared machine's load, which drifts over seconds, falls on both sides alike
    runs, floors = [], []
    for k in range(args.repeats):
        runs.append(model_run(args.scale, args.end_year))
        floors.append(numpy_floor(runs[0]["child_months"] // runs[0]["months"], runs[0]["months"], seed=k))
    med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    r = runs[0]
    wall = med("build_s") + med("run_s")
    cm = r["child_months"]
    rate = cm / med("run_s")
    mean_active = cm // r["months"]
    floor = statistics.median(floors)
    ratios = sorted(f / run["run_s"] for f, run in zip(floors, runs))  # model rate / floor rate
    print(f"caresim core benchmark: scale {args.scale}, 2015->{args.end_year}, {args.repeats} runs (medians)")
    print(f"  agents: {r['children']:,} children, {r['families']:,} families, {r['workers']:,} social workers, "
          f"{r['providers']:,} providers; {r['active_end']:,} children active at the end")
    print(f"  import {med('import_s'):.2f} s, build {med('build_s'):.2f} s, run {med('run_s'):.2f} s; "
          f"wall (build+run) {wall:.2f} s  [target < 15 s]")
    print(f"  peak memory {med('peak_rss_mib'):,.0f} MiB  [target < 1024 MiB]")
    print(f"  child-months {cm:,}: {rate / 1e6:.2f} M per second")
    print(f"  numpy floor, {mean_active:,} children x {r['months']} months: {floor:.2f} s, "
          f"{cm / floor / 1e6:.2f} M per second")
    print(f"  model / floor throughput: {statistics.median(ratios):.2f} (each pair: "
          f"{', '.join(f'{x:.2f}' for x in ratios)})  [target >= 0.25]")


if __name__ == "__main__":
    main()
