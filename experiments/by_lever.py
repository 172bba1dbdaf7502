"""`caresim compare --by-lever`: each scenario's end-year net saving shared among its levers.

The arithmetic is `runner.attribution` (Shapley values over the levers: exact up to 4 levers,
8 seeded orders and their reverses above, every subset run with the experiment's seeds and
posterior draws). This module runs it for the scenarios of an experiment folder, keeps every
subset's runs in `DIR/by_lever/<scenario>/` (one file per subset and seed, as `runs.parquet`, so
a rerun resumes; the scenario's own runs and the baseline's are taken from the experiment, not
run again), and writes `by_lever.csv`, a waterfall PNG per scenario and report.md's section.

The parts sum to the scenario's net saving exactly: the mean over the seeds used of the
scenario's net saving (`runner.summary.net_saving`), which is the experiment's own figure when
every seed is used.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from runner.errors import UserError

CSV = "by_lever.csv"
FOLDER = "by_lever"


def chosen_scenarios(option: str | None, names: list[str]) -> list[str]:
    """The scenarios `--by-lever [NAME,NAME]` names (every scenario but the baseline for "all")."""
    from runner.summary import BASELINE

    if option is None:
        return []
    if option == "all":
        return [n for n in names if n != BASELINE]
    chosen = [n.strip() for n in option.split(",")]
    for n in chosen:
        if n not in names or n == BASELINE:
            raise UserError(f"--by-lever {option}: {n!r} is not a scenario of this comparison (besides the baseline)")
    return chosen


def run_by_lever(out: Path, manifest: dict, scenarios: list[str], seeds: list[int], pset, *, uncertainty: bool,
                 executor, drivers=None) -> pd.DataFrame:
    """Shapley decomposition of each scenario's end-year net saving over `seeds`: by_lever.csv."""
    from experiments.compare import read_runs, write_run
    from runner.attribution import lever_savings, orders, subset_name, subsets_needed
    from runner.montecarlo import as_rows
    from runner.summary import BASELINE

    year = int(manifest["end_year"])
    runs = read_runs(out)
    docs = {s["name"]: s for s in manifest["scenarios"]}
    frames = []
    for name in scenarios:
        doc = docs[name]
        n = len(doc["levers"])
        if n == 0:
            continue
        store = out / FOLDER / name
        store.mkdir(parents=True, exist_ok=True)
        full = runs[runs["scenario"] == name].assign(scenario=subset_name(frozenset(range(n))))
        stored = [pd.read_parquet(f) for f in sorted(store.glob("*.parquet"))]
        done = pd.concat([runs[runs["scenario"] == BASELINE], full, *stored], ignore_index=True)
        made = []

        def keep(replication, table, store=store, made=made) -> None:
            write_run(store, as_rows(table, replication.scenario["name"], replication.seed))
            made.append(replication.key)

        started = time.perf_counter()
        result = lever_savings(doc, seeds, pset, scale=manifest["scale"], end_year=year, year=year,
                               executor=executor, on_table=keep, runs_done=done, uncertainty=uncertainty,
                               drivers=drivers)
        seconds = time.perf_counter() - started
        chosen = orders(n)
        subsets = len(subsets_needed(n, chosen))
        print(f"caresim compare: by lever, {name}: {len(made)} runs in {seconds:.0f} s "
              f"({subsets} subsets x {len(seeds)} seeds, {len(seeds) * subsets - len(made)} already there)",
              file=sys.stderr, flush=True)
        table = result.table.assign(scenario=name, total_gbp=result.total_gbp, year=year, seeds=len(seeds),
                                    first_seed=seeds[0], last_seed=seeds[-1], exact=result.exact,
                                    orders="all" if chosen is None else len(chosen), subsets=subsets,
                                    runs_made=len(made), seconds=round(seconds, 1))
        frames.append(table)
    if not frames:
        raise UserError("--by-lever: none of the scenarios named has a lever")
    table = pd.concat(frames, ignore_index=True)
    table = table[["scenario", "lever", "type", "saving_gbp", "solo_gbp", "total_gbp", "year", "seeds", "first_seed",
                   "last_seed", "exact", "orders", "subsets", "runs_made", "seconds"]]
    table.to_csv(out / CSV, index=False, float_format="%.17g")
    return table


def read_table(out: Path) -> pd.DataFrame | None:
    """by_lever.csv of an experiment folder, or None."""
    path = out / CSV
    return pd.read_csv(path) if path.is_file() else None


def write_charts(out: Path, table: pd.DataFrame) -> list[str]:
    """A waterfall PNG per scenario: its levers' Shapley savings, then the net saving."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from experiments.charts import waterfall

    files = []
    for name, rows in table.groupby("scenario", sort=False):
        fig, ax = plt.subplots(figsize=(8, 4.6))
        waterfall(ax, list(rows["lever"]), rows["saving_gbp"].to_numpy(), total_label="net saving", divisor=1e9)
        ax.set_ylabel("GBP bn in the year")
        first = rows.iloc[0]
        ax.set_title(f"{name}: {int(first['year'])} net saving by lever (Shapley values, {int(first['seeds'])} seeds)",
                     fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = f"by_lever_{name}.png"
        fig.savefig(out / path, dpi=110)
        plt.close(fig)
        files.append(path)
    return files


def markdown(table: pd.DataFrame, charts: list[str], replications: int, net_saving_all: dict[str, float]) -> list[str]:
    """report.md's section: per scenario the table of Shapley savings, the method and the chart."""
    from experiments.report import _gbp

    first = table.iloc[0]
    lines = ["", f"## Saving by lever ({int(first['year'])})", "",
             "Each scenario's net saving shared among its levers by Shapley values (runner/attribution.py): a lever's "
             "part is its marginal saving averaged over the orders in which the levers could be added, so "
             "interactions are split between the levers that make them, and the parts add up exactly to the "
             "scenario's net saving over the same seeds. Every subset of levers is run with the scenario's seeds "
             "and posterior draws (common random numbers); \"alone\" is the lever run on its own.", ""]
    for name, rows in table.groupby("scenario", sort=False):
        r = rows.iloc[0]
        how = ("exact (every subset of levers)" if bool(r["exact"]) else
               f"{int(r['orders'])} sampled orders (4 seeded random orders and their reverses), "
               f"{int(r['subsets'])} subsets of levers")
        seeds = (f"seeds {int(r['first_seed'])}-{int(r['last_seed'])} ({int(r['seeds'])} of the {replications} "
                 "replications")
        total = float(r["total_gbp"])
        lines += [f"**{name}**: {len(rows)} levers, {how}; {seeds}, {int(r['subsets']) * int(r['seeds'])} runs).", "",
                  "| lever | Shapley saving | share of the net saving | alone |", "|---|---|---|---|"]
        for _, lever in rows.iterrows():
            lines.append(f"| {lever['lever']} | {_gbp(lever['saving_gbp'])} | {100 * lever['saving_gbp'] / total:.0f}% "
                         f"| {_gbp(lever['solo_gbp']) if lever['solo_gbp'] == lever['solo_gbp'] else '- (not run)'} |")
        note = ""
        if int(r["seeds"]) < replications and name in net_saving_all:
            note = f"; over all {replications} replications it is {_gbp(net_saving_all[name])}"
        lines += [f"| **net saving** (mean over these seeds{note}) | **{_gbp(rows['saving_gbp'].sum())}** | 100% | |",
                  ""]
        chart = f"by_lever_{name}.png"
        if chart in charts:
            lines += [f"![{chart}]({chart})", ""]
    return lines + ["Data: `by_lever.csv` (per scenario and lever: Shapley saving, alone, the total and how it was "
                    "computed); every subset's runs in `by_lever/<scenario>/`.", ""]
