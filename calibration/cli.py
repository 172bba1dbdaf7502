"""`caresim calibrate`: fit the free parameters to calibration/data/targets.csv and write the file.

The result goes to `--out FILE`, a calibrated parameter file of its own (free values, intervals,
posterior), loaded over the fixed values of sim/parameters.py; the shipped
calibration/params/calibrated.toml is replaced only with `--replace-shipped`. Every option, input
file and the output are checked before the fit starts.
Progress goes to stderr. Every simulation is appended to a checkpoint file next to the output
(`<out>.checkpoint.jsonl`); rerunning the same command after an interruption resumes from it,
and it is removed when the calibration finishes. `--quick` is a small, fast version for CI.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time

from runner.errors import UserError
from runner.checks import check_output_dir, check_output_file
from runner.options import (check_seeds, evaluations_value, name_value, path_value, replications_value, scale_value,
                            seed_value, workers_value)

QUICK = {"scale": 0.05, "replications": 2, "max_evaluations": 4, "draws": 50, "proposals": 16,
         "report_replications": 10, "report_scale": 0.05}
CHECKPOINT_SUFFIX = ".checkpoint.jsonl"
FULL = {"scale": 0.1, "replications": 3, "max_evaluations": 14, "draws": 200, "proposals": 120,
        "report_replications": 40, "report_scale": 0.1}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="small fast fit (CI): scale 0.05, 2 replications, 4 steps")
    out = parser.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", type=path_value, default=None, metavar="FILE",
                     help="calibrated parameter file to write (the shipped file is replaced only with --replace-shipped)")
    out.add_argument("--replace-shipped", action="store_true",
                     help="write the result over the shipped calibration/params/calibrated.toml")
    parser.add_argument("--params", type=path_value, default=None,
                        help="starting values and fixed parameters (default: the shipped file)")
    parser.add_argument("--data", type=path_value, default=None, help="target file (default: calibration/data/targets.csv)")
    parser.add_argument("--free", default=None,
                        help="comma-separated subset of the free parameters to fit (default: all free ones)")
    parser.add_argument("--report", type=path_value, default=None, metavar="DIR", help="also write the fit report to DIR")
    parser.add_argument("--workers", type=workers_value, default=1, help="worker processes (default 1)")
    parser.add_argument("--scheduler", type=name_value, default=None, help="address of a running Dask scheduler")
    parser.add_argument("--seed", type=seed_value, default=1, help="base seed of the common random numbers (default 1)")
    parser.add_argument("--scale", type=scale_value, default=None, help="share of England simulated while fitting")
    parser.add_argument("--replications", type=replications_value, default=None, help="replications per candidate")
    parser.add_argument("--max-evaluations", type=evaluations_value, default=None, help="optimiser steps at most")
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start afresh")


def _free_names(text: str | None) -> list[str]:
    from sim.parameters import Params

    free = Params.free_names()
    if text is None:
        return free
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UserError("--free: no parameter names given")
    for n in names:
        if n not in Params.names():
            raise UserError(f"--free: unknown parameter {n!r}")
        if n not in free:
            raise UserError(f"--free: parameter {n!r} is fixed (its value is set in sim/parameters.py)")
    return names


def main(args) -> int:
    from calibration.fit import FitSettings, calibrate, progress_log, write_params_file
    from calibration.targets import DataError, data_digest, load_targets
    from sim.parameter_file import default_params_path, load_params

    mode = QUICK if args.quick else FULL
    free = _free_names(args.free)
    out = default_params_path() if args.replace_shipped else args.out
    check_seeds(args.seed, args.replications or mode["replications"])
    check_output_file(out, "--out", companions=(CHECKPOINT_SUFFIX, ".tmp"))
    if args.report is not None:
        check_output_dir(args.report, "--report")
    base = load_params(args.params)
    try:
        targets = load_targets(args.data)
        digest = data_digest(args.data)
    except DataError as exc:
        raise UserError(str(exc)) from None
    fit_years = [t.model_year for t in targets if t.use == "fit"]
    settings = FitSettings(free=free, scale=args.scale or mode["scale"],
                           replications=args.replications or mode["replications"], seed=args.seed,
                           end_year=max(fit_years + [2020]),
                           max_evaluations=args.max_evaluations or mode["max_evaluations"], draws=mode["draws"],
                           proposals=mode["proposals"], quick=args.quick)
    checkpoint = out.with_name(out.name + CHECKPOINT_SUFFIX)
    if args.fresh and checkpoint.exists():
        checkpoint.unlink()
    progress_log(f"{len(free)} free parameters, {sum(t.use == 'fit' for t in targets)} targets; scale {settings.scale:g}, "
                 f"{settings.replications} replications per candidate to {settings.end_year}, "
                 f"at most {settings.max_evaluations} optimiser steps; checkpoint {checkpoint}")
    t0 = time.monotonic()
    result = calibrate(base, targets, settings, checkpoint=checkpoint, workers=args.workers,
                       scheduler=args.scheduler, log=progress_log, data_sha256=digest)
    command = "caresim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["calibrate"] \
        else "caresim calibrate"
    data_file = str(args.data) if args.data else "calibration/data/targets.csv"
    try:
        write_params_file(out, result, data_sha256=digest, data_file=data_file, command=command)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write ({exc.strerror})") from None
    checkpoint.unlink(missing_ok=True)
    progress_log(f"done in {time.monotonic() - t0:.0f} s: objective {result.cost:.3f} "
                 f"(targets chi-square {result.target_cost:.2f} over {result.n_targets}); posterior: "
                 f"{result.ess:.0%} of {settings.proposals} proposals kept; wrote {out}")
    print(f"{'parameter':<36} {'estimate':>12} {'90% interval':>27}")
    for name in free:
        lo, hi = result.intervals[name]
        print(f"{name:<36} {getattr(result.point, name):>12.4g} {lo:>12.4g} – {hi:<12.4g}")
    if args.report is not None:
        from calibration.report_command import write_fit_report

        write_fit_report(out, args.report, targets, replications=mode["report_replications"],
                         scale=mode["report_scale"], seed=args.seed, workers=args.workers, scheduler=args.scheduler)
    return 0
