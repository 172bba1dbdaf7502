"""`caresim run --data DIR` and `compare --data DIR`: one authority's model (calibration/local.py).

The command line (experiments/cli.py) sends `run` and `compare` here when `--data` is given,
with the scenario loader and the table formatter of `caresim run` (calibration does not import
experiments: the command line joins them).

The authority's own counts, every count of children that rounds to 1-5 shown as `c` (the DfE's
rule for local figures), and `local_authority`: the LA code from the return or the folder's
name - never a child's identifier. The fitted local parameters are kept beside `--out`, or in
the user's cache folder, never in the data folder.
"""
from __future__ import annotations

import json
import sys

from runner.checks import check_output_dir
from runner.errors import UserError
from runner.options import check_seeds

BASELINE = "baseline"
STORE = "runs.parquet"  # as `caresim compare`'s folder


def run_local(args, load_scenario, format_table) -> int:
    """`caresim run --data`: `load_scenario(name)` and `format_table(table)` are `caresim run`'s."""
    from calibration.local import load_authority, local_run, suppress_contract, suppress_counts
    from runner.montecarlo import seeds_of
    from runner.summary import contract, mean_table
    from sim.parameter_file import ParameterSet

    if args.scale != 1.0:
        raise UserError(f"--scale {args.scale:g}: a local model simulates the whole authority (leave --scale out)")
    check_seeds(args.seed, args.replications)
    scenario = load_scenario(getattr(args, "scenario", None) or "baseline")
    scenario.check_params(ParameterSet.load(args.params).point)
    if args.out is not None:
        check_output_dir(args.out)
    authority = load_authority(args.data)
    end_year = args.end_year if args.end_year > authority.last_year else None
    log = None if args.json else (lambda msg: print(f"local fit: {msg}", file=sys.stderr, flush=True))
    result = local_run(authority, scenario.to_dict(), seeds_of(args.seed, args.replications), end_year=end_year,
                       params=args.params, cache_dir=args.out, uncertainty=not args.point_estimate, log=log)
    for note in result.notes:
        print(f"caresim: note: {note}", file=sys.stderr)
    table = mean_table(result.runs, scenario.name)
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            suppress_counts(table).to_csv(args.out / "yearly.csv")
        except OSError as exc:
            raise UserError(f"--out {args.out}: cannot write ({exc.strerror})") from None
    if args.json:
        doc = contract(result.runs, scenario=scenario.name, seed=args.seed, child_months=result.child_months)
        doc = {"local_authority": result.name, **suppress_contract(doc)}
        print(json.dumps(doc))
    else:
        print(f"caresim {scenario.name} for {result.name}: from 31 March {result.start.year}, seed {args.seed}, "
              f"{args.replications} replication(s)" + (" (means)" if args.replications > 1 else ""))
        shown = suppress_counts(table)
        print(format_table(shown.index, {c: shown[c].to_numpy() for c in shown.columns}))
        print("The authority's own counts: stocks at 31 March; entries, exits and spend for the year ending then.")
        print("Counts from 1 to 5 are shown as c. At-home stocks, workforce and providers are England's scaled "
              "by the authority's size.")
    return 0


def compare_local(args, load_scenario) -> int:
    """`caresim compare --data DIR`: every scenario for one authority, paired by seed; the store
    (counts of 1-5 as NaN), and summary.csv (counts of 1-5 as `c`). England's report and charts,
    whose headline figures are national, are not written."""
    import numpy as np
    import pandas as pd

    from calibration.local import load_authority, local_run
    from calibration.region import _suppressed_rows
    from runner.montecarlo import seeds_of
    from runner.summary import summarise

    if args.scale != 1.0:
        raise UserError(f"--scale {args.scale:g}: a local model simulates the whole authority (leave --scale out)")
    check_seeds(args.seed, args.replications)
    scenarios = [load_scenario(s) for s in args.scenarios]
    if BASELINE not in [s.name for s in scenarios]:
        scenarios.insert(0, load_scenario(BASELINE))  # paired differences are taken against it
    check_output_dir(args.out)
    authority = load_authority(args.data)
    end_year = args.end_year if args.end_year > authority.last_year else None
    seeds = seeds_of(args.seed, args.replications)
    frames = []
    for scenario in scenarios:
        result = local_run(authority, scenario.to_dict(), seeds, end_year=end_year, params=args.params,
                           cache_dir=args.out, uncertainty=not args.point_estimate)
        frames.append(result.runs)
    runs = pd.concat(frames, ignore_index=True)
    store = args.out / STORE
    store.mkdir(parents=True, exist_ok=True)
    _suppressed_rows(runs).assign(authority=authority.name).to_parquet(store / "runs.parquet", index=False)
    summary = summarise(runs, baseline=BASELINE)
    from sim.measures import BY_NAME, CONTRACT

    counts = {k for k, col in CONTRACT.items() if BY_NAME[col].unit.startswith("children")}
    columns = [c for c in summary.columns if c.rsplit("_", 1)[0] in counts]
    shown = summary.copy()
    for col in columns:
        shown[col] = shown[col].astype(object).map(
            lambda v: "c" if np.isfinite(v) and 1 <= round(v) <= 5 else v)
    shown.insert(0, "local_authority", authority.name)
    shown.to_csv(args.out / "summary.csv", index=False, float_format="%.6g")
    print(f"caresim compare for {authority.name}: {len(scenarios)} scenarios x {len(seeds)} replications; "
          f"summary.csv in {args.out} (counts from 1 to 5 shown as c)")
    return 0
