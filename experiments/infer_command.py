"""`caresim infer`: the share of each opportunity realised that reproduces the report's net cut.

For each scenario named (default: optimised-low and optimised-high), find the `share_realised`
at which its mean 2025 net cut (all in, as a share of the baseline's spend on children in care)
equals the report's R5 figure (19% low, 27% high; `--target NAME=FRACTION` for another), with a
90% bootstrap interval and the spread over replications (experiments/infer.py). R8 and R12b at
that share are printed beside it as out-of-sample checks. A target that no share in the lever's
allowed range reaches is reported as such, with the cut at the end of the range, and the
command still exits 0: that is the inverse analysis's answer.

Outputs: a table on stdout, `--json` (one JSON object on stdout), `--out DIR` (infer.csv and
infer.md). Options and bad input as `caresim compare` (runner/options.py).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import shlex
import sys
from pathlib import Path

from runner.errors import UserError
from runner.options import (name_value, path_value, replications_value, scale_value, seed_value, workers_value)

DEFAULT_SCENARIOS = ("optimised-low", "optimised-high")


def target_value(text: str) -> tuple[str, float]:
    """`NAME=FRACTION`, e.g. optimised-low=0.19 (a net cut as a share of spend, above -1 and below 1)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected SCENARIO=FRACTION (e.g. optimised-low=0.19), got {text!r}")
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: {value!r} is not a number") from None
    if not -1 < number < 1:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r}: a net cut is a share of spend, from above -1 to below 1 "
                                         f"(19% is 0.19), got {value}")
    return name.strip(), number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", default=list(DEFAULT_SCENARIOS),
                        help="scenario names or files (default: optimised-low optimised-high)")
    parser.add_argument("--target", type=target_value, action="append", default=[], metavar="NAME=FRACTION",
                        help="net cut to reproduce for a scenario (default: the report's R5, optimised-low=0.19, "
                             "optimised-high=0.27)")
    parser.add_argument("--seed", type=seed_value, default=1, help="base seed; replication i uses seed+i (default 1)")
    parser.add_argument("--replications", type=replications_value, default=20,
                        help="replications at every share, the same seeds and draws at each (default 20)")
    parser.add_argument("--scale", type=scale_value, default=0.1, help="share of England simulated (default 0.1)")
    parser.add_argument("--params", type=path_value, default=None, help="parameter file (default: the shipped calibration)")
    parser.add_argument("--point-estimate", action="store_true",
                        help="every replication uses the calibrated point estimate (no parameter uncertainty)")
    parser.add_argument("--workers", type=workers_value, default=1, help="local worker processes (default 1)")
    parser.add_argument("--scheduler", type=name_value, default=None, metavar="tcp://HOST:PORT", help="a running Dask scheduler")
    parser.add_argument("--out", type=path_value, default=None, help="folder for infer.csv and infer.md")
    parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else on stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _targets(args, names: list[str]) -> dict[str, float]:
    from experiments.infer import REPORT_NET_CUT

    given = dict(args.target)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise UserError(f"--target {unknown[0]}=...: {unknown[0]!r} is not one of the scenarios named ({', '.join(names)})")
    targets = {}
    for name in names:
        if name in given:
            targets[name] = given[name]
        elif name in REPORT_NET_CUT:
            targets[name] = REPORT_NET_CUT[name]
        else:
            raise UserError(f"scenario {name!r}: the report gives no net cut for it; say one with --target {name}=FRACTION")
    return targets


def main(args) -> int:
    from experiments.infer import YEAR, ScenarioEvaluator, infer, realised_levers
    from experiments.scenarios import BASELINE, load_scenarios
    from runner.checks import check_output_dir
    from runner.montecarlo import ExecutorOptions, seeds_of
    from runner.options import check_seeds
    from sim.parameter_file import ParameterSet

    check_seeds(args.seed, args.replications)
    scenarios = load_scenarios(args.scenarios)
    names = [s.name for s in scenarios]
    for s in scenarios:
        if s.name == BASELINE or not realised_levers(s.to_dict()):
            raise UserError(f"scenario {s.name!r}: no lever whose strength share_realised scales, so there is no "
                            "share to infer")
    targets = _targets(args, names)
    pset = ParameterSet.load(args.params)
    for s in scenarios:
        s.check_params(pset.point)
    if args.out is not None:
        check_output_dir(args.out)
    seeds = seeds_of(args.seed, args.replications)
    executor = ExecutorOptions(args.workers, args.scheduler, progress=not (args.no_progress or args.json))
    common = dict(scale=args.scale, uncertainty=not args.point_estimate, executor=executor)
    # scenarios with the same levers (optimised-low and -high differ only in their share) share one
    # curve: a share run for one is not run again for the other
    evaluators: dict[str, ScenarioEvaluator] = {}
    baseline = None
    results = []
    for s in scenarios:
        levers = json.dumps(s.to_dict()["levers"], sort_keys=True)
        if levers not in evaluators:
            evaluators[levers] = ScenarioEvaluator({**s.to_dict(), "name": f"levers{len(evaluators)}"}, seeds, pset,
                                                   baseline=baseline, **common)
            baseline = evaluators[levers].baseline
        results.append(infer(s.name, targets[s.name], evaluators[levers]))
    runs = sum(e.runs for e in evaluators.values())
    command = shlex.join(["caresim", "infer", *sys.argv[2:]])
    settings = {"year": YEAR, "seed": args.seed, "replications": args.replications, "scale": args.scale,
                "parameter_uncertainty": not args.point_estimate, "params_file": str(pset.source),
                "params_version": str(pset.meta.get("version", "unknown")), "runs": runs,
                "date": datetime.date.today().isoformat(), "command": command}
    rows = [as_row(r) for r in results]
    if args.out is not None:
        write_outputs(args.out, rows, settings)
    if args.json:
        print(json.dumps({**settings, "results": rows}, allow_nan=False, default=_no_nan))
    else:
        print(format_table(rows, settings))
    return 0


def _no_nan(value):
    raise TypeError(f"not JSON: {value!r}")


def _number(x: float) -> float | str | None:
    """A JSON-safe number: NaN as null, a crossing outside the range as "below 0" / "above 1"."""
    if isinstance(x, float) and math.isinf(x):
        return "below 0" if x < 0 else "above 1"
    return None if isinstance(x, float) and math.isnan(x) else round(float(x), 6)


def as_row(result) -> dict:
    """One scenario's result as plain values (infer.csv's row, an element of the JSON's `results`)."""
    import numpy as np

    from experiments.infer import REPORT_HOMES_CHANGE, REPORT_RESIDENTIAL_CHANGE

    at = result.at
    row = {"scenario": result.scenario, "target_net_cut": result.target, "reachable": result.reachable,
           "share": _number(result.share), "share_lo": _number(result.interval[0]),
           "share_hi": _number(result.interval[1]), "spread_lo": _number(result.spread[0]),
           "spread_hi": _number(result.spread[1]), "checked_share": _number(result.checked_share)}
    for name, values in (("net_cut", at.net_cut), ("homes_change", at.homes_change),
                         ("residential_change", at.residential_change)):
        row[f"{name}_mean"] = _number(float(values.mean()))
        row[f"{name}_p05"] = _number(float(np.percentile(values, 5)))
        row[f"{name}_p95"] = _number(float(np.percentile(values, 95)))
    row["report_homes_change"] = REPORT_HOMES_CHANGE
    row["report_residential_change"] = REPORT_RESIDENTIAL_CHANGE
    row["shares_run"] = ";".join(f"{s:.4f}:{v.net_cut.mean():.4f}" for s, v in sorted(result.evaluated.items()))
    row["finding"] = result.finding()
    return row


def _share_text(row: dict) -> str:
    return f"{row['share']:.3f}" if row["reachable"] else "not reached"


def _bound(v) -> str:
    return v if isinstance(v, str) else "-" if v is None else f"{v:.3f}"


def _between(lo, hi) -> str:
    return _bound(lo) if isinstance(lo, str) and lo == hi else f"{_bound(lo)} to {_bound(hi)}"


def format_table(rows: list[dict], settings: dict) -> str:
    """The table a person reads (stdout and infer.md)."""
    head = (f"caresim infer: inverse analysis, {settings['year']}: the share of each opportunity realised at which "
            f"the mean net cut equals the target ({settings['replications']} replications at every share, seeds "
            f"{settings['seed']}-{settings['seed'] + settings['replications'] - 1}, scale {settings['scale']:g}, "
            f"{settings['runs']} runs). Inferred from the report's totals, not evidence; R8 and R12b are "
            "out-of-sample checks at that share, never fitted.")
    lines = [head, "",
             "| scenario | target (R5) | inferred share | 90% interval (bootstrap) | spread over replications "
             "| share checked | net cut there | R8 children's homes (report -37%) | R12b residential (report -4,400) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(" | ".join([
            f"| {r['scenario']}", f"{100 * r['target_net_cut']:.1f}%", _share_text(r),
            _between(r["share_lo"], r["share_hi"]), _between(r["spread_lo"], r["spread_hi"]),
            f"{r['checked_share']:.3f}",
            f"{100 * r['net_cut_mean']:.1f}% ({100 * r['net_cut_p05']:.1f}% to {100 * r['net_cut_p95']:.1f}%)",
            f"{100 * r['homes_change_mean']:+.1f}% ({100 * r['homes_change_p05']:+.1f}% to {100 * r['homes_change_p95']:+.1f}%)",
            f"{r['residential_change_mean']:+,.0f} ({r['residential_change_p05']:+,.0f} to {r['residential_change_p95']:+,.0f})"])
            + " |")
    lines.append("")
    lines += [f"- {r['scenario']}: {r['finding']}." for r in rows]
    return "\n".join(lines)


def write_outputs(out: Path, rows: list[dict], settings: dict) -> None:
    """infer.csv (one row per scenario) and infer.md (the table, the findings, the command)."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out / "infer.csv", index=False)
    text = ["# caresim infer: the share of each opportunity the report's totals imply", "",
            f"Command ({settings['date']}):", "", f"    {settings['command']}", "",
            f"Parameter file version {settings['params_version']}; parameter uncertainty: "
            f"{'each seed its posterior draw' if settings['parameter_uncertainty'] else 'none (point estimate)'}.", "",
            format_table(rows, settings), "",
            "Shares run (share: mean net cut): " + "; ".join(f"{r['scenario']} {r['shares_run']}" for r in rows), ""]
    (out / "infer.md").write_text("\n".join(text))
