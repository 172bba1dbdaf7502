"""`caresim compare`: Monte Carlo comparison of scenarios with common random numbers.

Replication i of every scenario uses the same seed (`--seed` + i) and the same parameter draw
(`ParameterSet.for_replication(seed)`), so scenario-minus-baseline differences are paired: they
are the levers' effect, not noise. Each (scenario, seed) run is a pure task
(experiments/executor.py), run serially, on local worker processes (`--workers`) or on a Dask
scheduler (`--scheduler`).

The experiment folder `DIR` holds:

* `manifest.json` - scenarios (as their files say), seeds, scale, end year, parameter file
  version and hash. Rerunning the same command resumes; other settings are refused.
* `runs.parquet/` - a parquet dataset, one small file per (scenario, seed), written atomically
  (temporary file, then `os.replace`) as each run finishes, so a killed driver loses at most
  the runs in flight. `pandas.read_parquet(DIR / "runs.parquet")` reads every row.
* `summary.csv` - per scenario and year: mean, 5th and 95th percentiles of the headline outputs
  and of savings against the baseline net of edge-of-care spending (paired by seed).
* `report.md` and PNG fan charts, with the report's headline figures (targets.md section 1)
  beside caresim's.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from runner.errors import UserError
from experiments.run_command import add_run_options
from runner.checks import check_output_dir, read_user_text
from sim.dates import START_YEAR
from runner.options import check_seeds, name_value, path_value, workers_value
from experiments.scenarios import Scenario, load_scenario, parse_scenario

BASELINE = "baseline"
STORE = "runs.parquet"
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 * 2**20  # a 10,000-seed manifest is about 100 kB

# summary name -> column of the yearly table (savings_net_gbp is derived, see `add_savings`)
MEASURES = {
    "children_in_care": "n_in_care",
    "foster": "n_foster",
    "residential": "n_residential",
    "childrens_homes": "n_childrens_homes",
    "entries": "new_entries",
    "exits": "new_exits",
    "spend_gbp": "spend_children_in_care_gbp",
    "edge_spend_gbp": "spend_edge_of_care_gbp",
    "savings_net_gbp": "savings_net_gbp",
    "direct_hours_per_week": "direct_hours_per_week",
}


# ---------------------------------------------------------------------------- the task
def run_task(scenario: dict, params, seed: int, scale: float, end_year: int) -> pd.DataFrame:
    """One replication of one scenario: the yearly table as flat rows (scenario, seed, year, ...)."""
    from sim.run import run_replication

    levers = parse_scenario(scenario, scenario["name"]).levers
    table = run_replication(params, seed=seed, scale=scale, end_year=end_year, levers=levers)
    out = table.astype("float64").reset_index()
    out.insert(0, "seed", np.int64(seed))
    out.insert(0, "scenario", scenario["name"])
    out["year"] = out["year"].astype("int64")
    return out


# ---------------------------------------------------------------------------- the store
def run_file(store: Path, scenario: str, seed: int) -> Path:
    return store / f"{scenario}--seed{seed}.parquet"


def write_run(store: Path, frame: pd.DataFrame) -> Path:
    """Write one run atomically: readers never see a partial file."""
    scenario, seed = frame["scenario"].iloc[0], int(frame["seed"].iloc[0])
    final = run_file(store, scenario, seed)
    tmp = store / f".tmp-{final.name}-{os.getpid()}"  # a leading dot: parquet readers skip it
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, final)
    return final


def read_runs(out: Path) -> pd.DataFrame:
    """Every stored run, sorted by scenario, seed and year."""
    runs = pd.read_parquet(out / STORE)
    return runs.sort_values(["scenario", "seed", "year"]).reset_index(drop=True)


def _manifest(scenarios: list[Scenario], seeds: list[int], args, pset) -> dict:
    path = Path(pset.source)
    return {
        "scenarios": [s.to_dict() for s in scenarios],
        "seeds": seeds,
        "scale": args.scale,
        "end_year": args.end_year,
        "params_file": str(path),
        "params_version": str(pset.meta.get("version", "unknown")),
        "params_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "params_draws": len(pset.draws),  # posterior draws; 0: every replication uses the point estimate
        "parameter_uncertainty": bool(pset.draws) and not args.point_estimate,
    }


_COMPARED = ("scenarios", "seeds", "scale", "end_year", "params_version", "params_sha256",
             "parameter_uncertainty")


def prepare_dir(out: Path, manifest: dict) -> set[tuple[str, int]]:
    """Create or reopen the experiment folder; the (scenario, seed) runs already stored.

    A folder made with other settings is refused before anything in it is touched."""
    store = out / STORE
    path = out / MANIFEST
    if os.path.lexists(path):
        try:
            old = json.loads(read_user_text(path, "experiment manifest", MAX_MANIFEST_BYTES))
        except json.JSONDecodeError:
            old = None
        if not isinstance(old, dict):
            raise UserError(f"{path}: not a caresim experiment manifest; use another --out")
        for key in _COMPARED:
            if old.get(key) != manifest[key]:
                raise UserError(f"{out}: made with different {key} ({_short(old.get(key))} there, "
                                f"{_short(manifest[key])} now); use another --out")
    try:
        store.mkdir(parents=True, exist_ok=True)
        if not os.path.lexists(path):
            tmp = out / f".{MANIFEST}.tmp"
            tmp.write_text(json.dumps(manifest, indent=2))
            os.replace(tmp, path)
        for leftover in store.glob(".tmp-*"):  # runs in flight when a driver was killed
            leftover.unlink()
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write ({exc.strerror})") from None
    done = set()
    for f in store.glob("*.parquet"):
        name, _, seed = f.stem.rpartition("--seed")
        if name and seed.isdigit() and _intact(f, manifest["end_year"] - START_YEAR + 1):
            done.add((name, int(seed)))
    return done


def _intact(run: Path, rows: int) -> bool:
    """Whether a stored run can be read and has a row per year; a damaged one is removed, so that
    it is run again (a killed writer never leaves one, as runs are renamed into place, but a disk
    or a person can)."""
    import pyarrow.parquet as pq

    try:
        ok = pq.read_metadata(run).num_rows == rows
        problem = "" if ok else "wrong number of rows"
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        ok, problem = False, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if not ok:
        print(f"caresim compare: {run} is damaged ({problem}); running it again", file=sys.stderr, flush=True)
        try:
            run.unlink()
        except OSError as exc:
            raise UserError(f"{run}: damaged and cannot be removed ({exc.strerror})") from None
    return ok


def _short(value) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------- summaries
def add_savings(runs: pd.DataFrame) -> pd.DataFrame:
    """Add `savings_net_gbp`: baseline spend on children in care minus the scenario's, minus the
    scenario's extra edge-of-care spend (which carries the investment), paired by seed and year."""
    base = runs[runs["scenario"] == BASELINE].set_index(["seed", "year"])
    key = pd.MultiIndex.from_frame(runs[["seed", "year"]])
    b_spend = base["spend_children_in_care_gbp"].reindex(key).to_numpy()
    b_edge = base["spend_edge_of_care_gbp"].reindex(key).to_numpy()
    runs = runs.copy()
    runs["savings_net_gbp"] = ((b_spend - runs["spend_children_in_care_gbp"].to_numpy())
                               - (runs["spend_edge_of_care_gbp"].to_numpy() - b_edge))
    return runs


def summarise_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and year: mean, p05 and p95 of every measure (across seeds)."""
    rows = []
    for (scenario, year), g in runs.groupby(["scenario", "year"], sort=False):
        row = {"scenario": scenario, "year": int(year), "replications": len(g)}
        for name, col in MEASURES.items():
            v = g[col].to_numpy(dtype=float)
            ok = np.isfinite(v)
            row[f"{name}_mean"] = v[ok].mean() if ok.any() else np.nan
            row[f"{name}_p05"] = np.percentile(v[ok], 5) if ok.any() else np.nan
            row[f"{name}_p95"] = np.percentile(v[ok], 95) if ok.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                        help="scenario names or files; the baseline is added if absent")
    add_run_options(parser)
    parser.add_argument("--workers", type=workers_value, default=1, help="local worker processes (default 1)")
    parser.add_argument("--scheduler", type=name_value, default=None, metavar="tcp://HOST:PORT", help="a running Dask scheduler")
    parser.add_argument("--out", type=path_value, required=True, help="experiment folder (created; rerun to resume)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args) -> int:
    from runner.executor import Task, run_tasks
    from sim.parameters import ParameterSet
    from sim.run import replication_seed

    check_seeds(args.seed, args.replications)
    scenarios = [load_scenario(s) for s in args.scenarios]
    names = [s.name for s in scenarios]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f"scenario {repeated[0]!r} is given twice")
    if BASELINE not in names:
        scenarios.insert(0, load_scenario(BASELINE))
    pset = ParameterSet.load(args.params)
    for s in scenarios:
        s.check_params(pset.point)
    check_output_dir(args.out)
    for note in ([] if args.point_estimate else pset.notes()):
        print(f"caresim: note: {note}", file=sys.stderr)
    seeds = [replication_seed(args.seed, i) for i in range(args.replications)]
    manifest = _manifest(scenarios, seeds, args, pset)
    done = prepare_dir(args.out, manifest)
    store = args.out / STORE
    todo = [(seed, s) for seed in seeds for s in scenarios if (s.name, seed) not in done]
    total = len(seeds) * len(scenarios)
    if done:
        print(f"caresim compare: resuming, {total - len(todo)} of {total} runs already in {store}",
              file=sys.stderr, flush=True)
    tasks = [Task(key=f"{args.out.name}/{s.name}/seed={seed}", fn=run_task,
                  kwargs={"scenario": s.to_dict(), "params": pset.for_replication(seed, uncertainty=not args.point_estimate), "seed": seed,
                          "scale": args.scale, "end_year": args.end_year})
             for seed, s in todo]
    run_tasks(tasks, lambda task, frame: write_run(store, frame), workers=args.workers,
              scheduler=args.scheduler, progress=not args.no_progress)
    write_outputs(args.out, manifest, command=shlex.join(["caresim", "compare", *sys.argv[2:]]))
    print(f"caresim compare: {total} runs in {store}; summary.csv, report.md and charts in {args.out}")
    return 0


def write_outputs(out: Path, manifest: dict, command: str = "") -> None:
    """summary.csv, the charts and report.md from the stored runs."""
    from experiments.report import write_charts, write_report

    names = [s["name"] for s in manifest["scenarios"]]
    runs = read_runs(out)
    runs = runs[runs["scenario"].isin(names) & runs["seed"].isin(manifest["seeds"])]
    runs = add_savings(runs)
    summary = summarise_runs(runs)
    order = {n: i for i, n in enumerate(names)}
    summary = summary.sort_values(["scenario", "year"], key=lambda c: c.map(order) if c.name == "scenario" else c)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.6g")
    charts = write_charts(out, summary, names)
    write_report(out, runs, summary, manifest, charts, command)
