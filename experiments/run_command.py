"""`caresim run`: one scenario, N replications, a readable table per year or the JSON contract."""
from __future__ import annotations

import argparse
import json
import sys

from runner.errors import UserError
from runner.checks import check_output_dir
from runner.options import (check_seeds, end_year_value, name_value, path_value, replications_value, scale_value,
                            seed_value)

# The table a person reads: (JSON contract name, heading, format); the columns come from sim.measures.
READABLE = [("children_in_care", "in care", "{:>8,.0f}"), ("foster", "foster", "{:>8,.0f}"),
            ("residential", "resid.", "{:>7,.0f}"), ("other", "other", "{:>7,.0f}"),
            ("entries", "entries", "{:>8,.0f}"), ("exits", "exits", "{:>8,.0f}"),
            ("spend_gbp", "spend £bn", "{:>9.2f}"), ("direct_hours_per_week", "direct h/wk", "{:>11,.0f}")]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by `run` and `compare`."""
    parser.add_argument("--seed", type=seed_value, default=1, help="base seed; replication i uses seed+i (default 1)")
    parser.add_argument("--replications", type=replications_value, default=1, help="number of replications (default 1)")
    parser.add_argument("--end-year", type=end_year_value, default=2025, help="last 31 March simulated (default 2025)")
    parser.add_argument("--scale", type=scale_value, default=1.0,
                        help="share of England simulated, results scaled back up (default 1 = every child)")
    parser.add_argument("--params", type=path_value, default=None, help="parameter file (default: the shipped calibration)")
    parser.add_argument("--point-estimate", action="store_true",
                        help="every replication uses the calibrated point estimate (no parameter uncertainty)")
    parser.add_argument("--data", type=path_value, default=None, metavar="DIR",
                        help="an authority's SSDA903 folder: start from its latest 31 March, fitted to its history")
    parser.add_argument("--drivers", type=path_value, default=None, metavar="FILE",
                        help="CSV of observed drivers (year,measure,value; e.g. ../shared/drivers.csv): "
                             "referrals, UASC arrivals and social-worker FTE follow it where observed")


def read_drivers_option(path):
    """The `--drivers FILE` of a command: a checked `runner.drivers.Drivers`, or None without one.

    A mistake in the file is one line naming the file, row, column and value (exit 2). Pass the
    result to `runner.montecarlo.run_replications(..., drivers=...)` (or `sim.run.run_replication`).
    """
    if path is None:
        return None
    from runner.drivers import load_drivers

    return load_drivers(path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_options(parser)
    parser.add_argument("--scenario", type=name_value, default="baseline", metavar="NAME|FILE",
                        help="scenario by shipped name or path to a .toml file (default: baseline)")
    parser.add_argument("--out", type=path_value, default=None, help="directory for yearly.csv")
    parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else on stdout")


def format_table(years, columns) -> str:
    """The yearly table as a person reads it: `columns` maps each measure to its values by year
    (numbers, or `c` for a suppressed count from an authority's return)."""
    from sim.measures import CONTRACT

    cols = READABLE
    header = f"{'31 March':>8} " + " ".join(f"{label:>{len(fmt.format(0))}}" for _, label, fmt in cols)
    lines = [header, "-" * len(header)]
    for i, year in enumerate(years):
        cells = []
        for name, _, fmt in cols:
            v = columns[CONTRACT[name]][i]
            width = len(fmt.format(0))
            if isinstance(v, str):  # a suppressed count from an authority's return (`c`)
                cells.append(f"{v:>{width}}")
                continue
            if name == "spend_gbp":
                v = v / 1e9
            cells.append(" " * (width - 1) + "–" if v != v else fmt.format(v))
        lines.append(f"{year:>8} " + " ".join(cells))
    return "\n".join(lines)


def load_run_inputs(args):
    """The parameter file and the scenario of a run, checked together: user errors become UserError,
    and every option, input and output is checked here, before any work or progress line.

    Sets `args.scenario_name` to the scenario's name (the JSON contract's "scenario").
    """
    from experiments.scenarios import load_scenario
    from sim.parameter_file import ParameterSet

    scenario = load_scenario(getattr(args, "scenario", None) or "baseline")
    args.scenario_name = scenario.name
    check_seeds(args.seed, args.replications)
    parameters = ParameterSet.load(args.params)
    scenario.check_params(parameters.point)
    if getattr(args, "out", None) is not None:
        check_output_dir(args.out)
    args.drivers_data = read_drivers_option(getattr(args, "drivers", None))
    return parameters, scenario


def main(args) -> int:
    """Runs the replications with their tables as arrays (no pandas: ~0.3 s of start-up), summarised
    by `runner.summary`'s array functions, as `compare` and the dashboard summarise theirs."""
    from runner.montecarlo import ExecutorOptions, plan, run_replications, seeds_of
    from runner.summary import contract_of, grid_of, means_of
    from sim.measures import MEASURES

    parameters, scenario = load_run_inputs(args)
    for note in ([] if args.point_estimate else parameters.notes()):
        print(f"caresim: note: {note}", file=sys.stderr)
    name = scenario.name
    tables = {}

    def announce(done: int) -> None:
        if not args.json and done < args.replications:
            print(f"replication {done + 1}/{args.replications} ...", file=sys.stderr, flush=True)

    def keep(replication, table) -> None:
        tables[replication.seed] = table
        announce(len(tables))

    seeds = seeds_of(args.seed, args.replications)
    announce(0)
    # each replication uses the posterior draw of its seed (parameter uncertainty), as compare does
    run_replications(plan([scenario.to_dict()], seeds, parameters, uncertainty=not args.point_estimate), keep,
                     scale=args.scale, end_year=args.end_year, executor=ExecutorOptions(), drivers=args.drivers_data,
                     frame=False)
    years, values = grid_of([tables[seed] for seed in seeds], [m.name for m in MEASURES])
    means = means_of(values)
    if args.out is not None:
        write_yearly_csv(args.out, years, means)
    if args.json:
        child_months = sum(t.attrs.get("child_months", 0) for t in tables.values())
        print(json.dumps(contract_of(years, values, scenario=name, seed=args.seed, child_months=child_months)))
    else:
        print(f"caresim {name}: seed {args.seed}, {args.replications} replication(s), scale {args.scale:g}"
              + (" (means)" if args.replications > 1 else ""))
        print(format_table(years, means))
        print("Stocks at 31 March; entries, exits and spend on children in care for the year ending then.")
    return 0


def write_yearly_csv(out, years, means) -> None:
    """OUT/yearly.csv: the mean over replications of every measure, a row per year."""
    import pandas as pd

    try:
        out.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(means, index=pd.Index(years.astype("int64"), name="year")).to_csv(out / "yearly.csv")
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write ({exc.strerror})") from None
