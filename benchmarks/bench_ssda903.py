"""Reading and cleaning ten years of a large authority's 903 return.

Writes a synthetic return (`caresim data synth`) of an authority with about 2,000 children in
care, ten collection years (2016-2025), a folder per year with dd/mm/YYYY dates, with redundant
rows (RNE T, same carer) splitting each episode as real returns hold them, so that the files
hold about 100,000 episode rows; then times reading, cleaning, counting and estimating it.
Target (issue 12): read and cleaned in under 5 s. It also checks that the cleaned counts are
those of the same return written without the redundant rows.

    python benchmarks/bench_ssda903.py [--children 2000] [--redundant 4.6] [--repeats 3] [--layout pooled]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from calibration.ssda903.cleaning import clean  # noqa: E402
from calibration.ssda903.counts import flow_table, stock_table  # noqa: E402
from calibration.ssda903.estimates import estimate  # noqa: E402
from calibration.ssda903.reader import read_return  # noqa: E402
from calibration.ssda903.synth import synthesise  # noqa: E402

YEARS = (2016, 2025)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=2000)
    parser.add_argument("--redundant", type=float, default=4.6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--layout", choices=("years", "pooled"), default="years")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        big, plain = Path(tmp) / "big", Path(tmp) / "plain"
        t = time.perf_counter()
        synthesise(big, children=args.children, years=YEARS, seed=args.seed, redundant_per_episode=args.redundant,
                   layout=args.layout)
        synth_s = time.perf_counter() - t
        synthesise(plain, children=args.children, years=YEARS, seed=args.seed)
        files = sorted(big.rglob("*.csv"))
        rows = {name: sum(len(pd.read_csv(p, usecols=[0])) for p in files if name in p.name)
                for name in ("header", "episodes", "uasc")}
        size_mib = sum(p.stat().st_size for p in files) / 2**20
        times = {"read": [], "clean": [], "count": [], "estimate": []}
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            raw = read_return(big)
            t1 = time.perf_counter()
            ret = clean(raw)
            t2 = time.perf_counter()
            stock, flows = stock_table(ret), flow_table(ret)
            t3 = time.perf_counter()
            estimate(ret)
            t4 = time.perf_counter()
            for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                times[k].append(v)
        reference = clean(read_return(plain))
        same = stock.equals(stock_table(reference)) and flows.equals(flow_table(reference))
    print(f"synthetic return: {args.children} children in care at the start, years {YEARS[0]}-{YEARS[1]}, "
          f"seed {args.seed}, layout {args.layout}, written in {synth_s:.1f} s")
    print(f"files: {len(files)} ({size_mib:.1f} MiB); rows: episodes {rows['episodes']:,}, header {rows['header']:,}, "
          f"uasc {rows['uasc']:,}")
    print(f"children in care at 31 March: {stock['total'].min():,}-{stock['total'].max():,}; "
          f"cleaned episodes {len(ret.episodes):,}; children {len(ret.children):,}")
    print("cleaning: " + "; ".join(f"{k} {v:,}" for k, v in ret.steps.items() if v))
    print(f"counts equal to the same return without redundant rows: {same}")
    print(f"{'step':<10}{'median s':>10}{'min s':>8}   ({args.repeats} repeats; cpus {os.cpu_count()})")
    for k, v in times.items():
        print(f"{k:<10}{statistics.median(v):>10.2f}{min(v):>8.2f}")
    read_clean = [a + b for a, b in zip(times["read"], times["clean"])]
    print(f"{'read+clean':<10}{statistics.median(read_clean):>10.2f}{min(read_clean):>8.2f}   target < 5 s: "
          f"{'met' if statistics.median(read_clean) < 5 else 'missed'}")


if __name__ == "__main__":
    main()
