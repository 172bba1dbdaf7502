"""`caresim region DIR`: every authority of DIR (one sub-folder each) fitted, run and added up.

    caresim region DIR --out OUT [--replications N] [--workers K | --scheduler tcp://...] [--json]

Writes OUT/runs.parquet/ (the store: one file per seed, every authority and the
total; rerun to resume), OUT/by_authority.csv and OUT/region.csv (means over replications of the
public measures per year), OUT/fits/NAME/ (each authority's fitted parameters). `--json` prints
{"total": <contract>, "by_authority": {name: <contract>}}. Counts that round to 1-5 show as `c`
(NaN in the store). The authorities run as one model that shares fostering households, homes
and support (their measures are the region's, blank for an authority); each authority's
children, flows, spend on children in care and workforce are its own, and the regional total of
those is exactly the sum of its authorities in every replication (calibration/region.py).
"""
from __future__ import annotations

import argparse
import json
import sys

from runner.checks import check_output_dir
from runner.errors import UserError
from runner.options import (check_seeds, end_year_value, name_value, path_value, replications_value, seed_value,
                            workers_value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=path_value, metavar="DIR", help="a folder with one sub-folder per authority")
    parser.add_argument("--out", type=path_value, required=True, help="output folder (created; rerun to resume)")
    parser.add_argument("--seed", type=seed_value, default=1, help="base seed; replication i uses seed+i (default 1)")
    parser.add_argument("--replications", type=replications_value, default=1, help="replications (default 1)")
    parser.add_argument("--end-year", type=end_year_value, default=None,
                        help="last 31 March simulated (default: five years after the latest return)")
    parser.add_argument("--params", type=path_value, default=None, help="national parameter file (default: shipped)")
    parser.add_argument("--no-fit", action="store_true", help="national parameters for every authority (no local fit)")
    parser.add_argument("--workers", type=workers_value, default=1, help="local worker processes (default 1)")
    parser.add_argument("--scheduler", type=name_value, default=None, metavar="tcp://HOST:PORT",
                        help="a running Dask scheduler")
    parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else on stdout")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def contracts(store, seed: int) -> dict:
    """{"total": contract, "by_authority": {name: contract}} from the store, suppressed together:
    a mean that rounds to 1-5 or was suppressed in any replication is "c", and so is any mean that
    would reveal one through the total or the sums within a table (secondary suppression,
    calibration/ssda903/privacy.py); a hidden mean hides its p05 and p95."""
    import numpy as np
    import pandas as pd

    from calibration.local import count_columns, suppress_contract
    from calibration.region import TOTAL
    from calibration.ssda903.privacy import HIDDEN, hidden_yearly
    from runner.summary import contract
    from sim.measures import CONTRACT

    docs, means, hidden = {}, {}, {}
    counts = [c for c in CONTRACT.values() if c in count_columns()]
    for name, runs in store.groupby("authority", sort=True):
        runs = runs.drop(columns="authority")
        doc = contract(runs, scenario="baseline", seed=seed, child_months=int(np.nansum(runs["child_months"])))
        years = doc["years"]
        first_flow = runs["year"].min()
        means[name] = pd.DataFrame({c: [np.nan if v is None else v for v in doc[k]]
                                    for k, c in CONTRACT.items() if c in counts}, index=years)
        suppressed = runs.groupby("year")[counts].agg(lambda v: bool(v.isna().any())).reindex(years)
        for c in counts:  # a first year's flows are absent, not suppressed
            if c.startswith("new_"):
                suppressed.loc[suppressed.index == first_flow, c] = False
        hidden[name] = suppressed.astype(bool)
        docs[name] = doc
    masks = hidden_yearly(means, counts, total=TOTAL, hidden=hidden)
    out = {}
    for name, doc in docs.items():
        doc = suppress_contract(doc)
        for key, column in CONTRACT.items():
            if column not in counts:
                continue
            mask = masks[name][column].to_numpy()
            for suffix in ("", "_p05", "_p95"):
                if key + suffix in doc:
                    doc[key + suffix] = [HIDDEN if h else v for v, h in zip(doc[key + suffix], mask)]
        out[name] = {"local_authority": name, **doc}
    return {"total": out.pop(TOTAL), "by_authority": out}


def table_of(docs: dict):
    """The means per authority and year (`c` kept) as one table."""
    import pandas as pd

    from sim.measures import CONTRACT

    frames = []
    for name, doc in docs.items():
        frames.append(pd.DataFrame({"authority": name, "year": doc["years"],
                                    **{k: doc[k] for k in CONTRACT if k in doc}}))
    return pd.concat(frames, ignore_index=True)


def main(args) -> int:
    from calibration.region import read_store, run_region
    from runner.montecarlo import ExecutorOptions, seeds_of

    check_seeds(args.seed, args.replications)
    check_output_dir(args.out)
    seeds = seeds_of(args.seed, args.replications)
    log = None if args.json else (lambda msg: print(f"region: {msg}", file=sys.stderr, flush=True))
    try:
        prepared, _ = run_region(args.folder, args.out, seeds, end_year=args.end_year, params=args.params,
                                 fit=not args.no_fit, log=log,
                                 executor=ExecutorOptions(args.workers, args.scheduler,
                                                          progress=not (args.no_progress or args.json)))
    except OSError as exc:
        raise UserError(f"--out {args.out}: cannot write ({exc.strerror})") from None
    notes = [note for p in prepared for note in p.notes]
    if args.no_fit:
        notes.append(f"{len(prepared)} authorities: national parameters (no local fit)")
    if not args.json:
        for note in notes:
            print(f"caresim: note: {note}", file=sys.stderr)
    store = read_store(args.out)
    store = store[store["seed"].isin(seeds)]
    docs = contracts(store, args.seed)
    table_of(docs["by_authority"]).to_csv(args.out / "by_authority.csv", index=False)
    table_of({"total": docs["total"]}).drop(columns="authority").to_csv(args.out / "region.csv", index=False)
    if args.json:
        print(json.dumps(docs))
    else:
        print(table_of({"total": docs["total"], **docs["by_authority"]})[
            ["authority", "year", "children_in_care", "entries", "exits"]].to_string(index=False))
        print(f"\n{len(prepared)} authorities run as one region, {len(seeds)} replication(s): children, their "
              f"entries and exits and spend on children in care are each authority's, and the total is their sum "
              f"in every replication, as are its social workers and caseload; foster households, homes and "
              f"support are the region's, shared (blank for an authority). Counts from 1 to 5 are shown as c. Wrote {args.out}")
    return 0
