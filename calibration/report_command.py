"""`caresim fit-report --out DIR`: the fit report of a parameter file (default: the shipped one)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from runner.errors import UserError
from runner.checks import check_output_dir
from runner.options import (check_seeds, name_value, path_value, replications_value, scale_value, seed_value,
                            workers_value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=path_value, required=True, metavar="DIR", help="directory for the table and charts")
    parser.add_argument("--params", type=path_value, default=None, help="parameter file (default: the shipped calibration)")
    parser.add_argument("--data", type=path_value, default=None, help="target file (default: calibration/data/targets.csv)")
    parser.add_argument("--replications", type=replications_value, default=40, help="replications (default 40)")
    parser.add_argument("--scale", type=scale_value, default=0.2, help="share of England simulated (default 0.2)")
    parser.add_argument("--seed", type=seed_value, default=1, help="base seed (default 1)")
    parser.add_argument("--workers", type=workers_value, default=1, help="worker processes (default 1)")
    parser.add_argument("--scheduler", type=name_value, default=None, help="address of a running Dask scheduler")


def write_fit_report(params_path: Path | None, out: Path, targets, *, replications: int, scale: float, seed: int,
                     workers: int = 1, scheduler: str | None = None) -> list[Path]:
    from calibration.report import run_baseline, write_report
    from sim.parameter_file import ParameterSet

    meta = ParameterSet.load(params_path).meta
    print(f"fit-report: {replications} replications at scale {scale:g}, 2015-2025 ...", file=sys.stderr, flush=True)
    tables = run_baseline(params_path, targets, replications=replications, scale=scale, seed=seed, workers=workers,
                          scheduler=scheduler)
    try:
        paths = write_report(targets, tables, meta, out)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write ({exc.strerror})") from None
    for p in paths:
        print(p)
    return paths


def main(args) -> int:
    from calibration.targets import DataError, load_targets

    from sim.parameter_file import ParameterSet

    check_seeds(args.seed, args.replications)
    try:
        targets = load_targets(args.data)
    except DataError as exc:
        raise UserError(str(exc)) from None
    ParameterSet.load(args.params)  # checked whole before any work
    check_output_dir(args.out)
    write_fit_report(args.params, args.out, targets, replications=args.replications, scale=args.scale,
                     seed=args.seed, workers=args.workers, scheduler=args.scheduler)
    return 0
