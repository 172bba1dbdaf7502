"""The futures view's numbers and charts: a mix and the baseline run with paired seeds.

`run_futures` runs the mix and the baseline through the Monte Carlo runner every command uses
(`runner.montecarlo`: same seeds, same posterior draw per seed as `caresim compare`), with the
subsets of levers the saving-by-lever needs (`runner.attribution`), and summarises them with the
one summary (`runner.summary`). Results are cached: baseline runs in memory, whole results on
disk (`experiments.page.cache`), chart specs in memory per server (`chart_spec`). The table,
the CSV download and the charts' data are built here; the Solara components are in
`experiments.dashboard`.
"""
from __future__ import annotations

import html
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.page import cache as page_cache
from experiments.page import charts as page_charts
from experiments.scenarios import Scenario
from runner.attribution import LeverSavings, lever_savings, orders, subsets_needed
from runner.montecarlo import BASELINE_SCENARIO, ExecutorOptions, as_rows, plan, run_replications, seeds_of
from runner.summary import BASELINE, SAVING, summarise
from sim.measures import CONTRACT

END_YEAR = 2030
TABLE_YEAR = 2025
OBSERVED_UP_TO = 2020  # calibration targets after this year are forecasts or checks, not observations
MIX = "this mix"  # the label of the mix's runs beside the baseline's (a mix may be called "baseline")
# public measures (sim.measures) the page shows, by their summary names
PLACEMENTS = {"children_in_care": "All children in care", "foster": "Foster care (incl. kinship)",
              "residential": "Children's homes and semi-independent", "other": "Other placements"}
SHOWN = {name: CONTRACT[name] for name in [*PLACEMENTS, "spend_gbp", "edge_spend_gbp"]}


@dataclass
class Futures:
    """A scenario and its baseline run with paired seeds, and their summary (runner.summary).

    `runs` holds one row per (run, seed, year): the mix's rows are labelled `MIX`, the baseline's
    `BASELINE`, whatever the mix is called. `summary` is `runner.summary.summarise` of them with
    paired changes: the statistics `caresim compare` computes from the same runs.
    """

    name: str
    levers: list[str]  # titles of the scenario's levers
    runs: pd.DataFrame
    summary: pd.DataFrame
    replications: int
    scale: float
    seed: int
    savings: LeverSavings | None = None  # the 2025 net saving by lever (None: no lever)
    from_cache: bool = False
    key: str = ""  # the result's key in the disk cache ("" when run without it): names its charts' specs

    @property
    def years(self) -> np.ndarray:
        return self.rows(BASELINE)["year"].to_numpy()

    def rows(self, which: str) -> pd.DataFrame:
        """Summary rows of `MIX` or `BASELINE`, one per year."""
        return self.summary[self.summary["scenario"] == which].reset_index(drop=True)

    def at(self, which: str, column: str, year: int = TABLE_YEAR) -> float:
        rows = self.rows(which)
        return float(rows.loc[rows["year"] == year, column].iloc[0])


_baseline_cache: dict[tuple, pd.DataFrame] = {}
cache_lock = threading.Lock()
_parameter_sets: list = []


def parameter_set():
    """The shipped parameter file (point estimate and any posterior draws), read once per server,
    so that every run of a session uses the same file; replication i uses the draw `caresim
    compare` uses for the same seed."""
    from sim.parameter_file import ParameterSet

    with cache_lock:
        if not _parameter_sets:
            _parameter_sets.append(ParameterSet.load(None))
        return _parameter_sets[0]


class _Cancelled(Exception):
    """A newer run replaced this one: stop between replications."""


def run_futures(scenario: Scenario, *, replications: int, scale: float, seed: int = 1, on_progress=None,
                cancelled=lambda: False, by_lever: bool = True, use_cache: bool = True) -> Futures | None:
    """Run the scenario and the baseline with paired seeds through the Monte Carlo runner, and
    (`by_lever`) every subset of its levers the Shapley decomposition needs (runner.attribution);
    `on_progress(done, total)` after each run. Baseline runs are kept in memory (the same for
    every mix); whole results are kept on disk (experiments.page.cache) under a key of the
    scenario, the settings, the parameter file and the code.

    Returns None if `cancelled()` became true between runs.
    """
    doc = scenario.to_dict()
    with cache_lock:
        key_lock = _result_locks.setdefault(repr(sorted(doc.items())) + f"{replications}/{scale}/{seed}", threading.Lock())
    with key_lock:  # the same result asked for twice at once (the warm-up and a first visitor) is run once
        return _run_futures(scenario, doc, replications=replications, scale=scale, seed=seed, on_progress=on_progress,
                            cancelled=cancelled, by_lever=by_lever, use_cache=use_cache)


_result_locks: dict[str, threading.Lock] = {}


def _run_futures(scenario: Scenario, doc: dict, *, replications: int, scale: float, seed: int, on_progress,
                 cancelled, by_lever: bool, use_cache: bool) -> Futures | None:
    entry = page_cache.key(doc, replications=replications, scale=scale, seed=seed, end_year=END_YEAR,
                           year=TABLE_YEAR, by_lever=by_lever) if use_cache else None
    if entry is not None and (hit := page_cache.load(entry)) is not None:
        tables, meta = hit
        return _futures(scenario, tables["runs"], replications, scale, seed,
                        _savings(tables.get("levers"), meta), from_cache=True, key=entry)
    seeds = seeds_of(seed, replications)
    mix_doc = {**doc, "name": MIX}
    levers_on = len(scenario.levers) > 0
    n_subsets = len(subsets_needed(len(scenario.levers), orders(len(scenario.levers)))) if by_lever and levers_on else 2
    todo = plan([mix_doc, BASELINE_SCENARIO] if levers_on else [BASELINE_SCENARIO], seeds, parameter_set())
    frames = []
    with cache_lock:
        for r in todo:
            cached = _baseline_cache.get((r.seed, scale, END_YEAR)) if r.scenario is BASELINE_SCENARIO else None
            if cached is not None:
                frames.append(cached)
    todo = [r for r in todo if not (r.scenario is BASELINE_SCENARIO and (r.seed, scale, END_YEAR) in _baseline_cache)]
    total, done = n_subsets * replications, [len(frames)]

    def count(replication, table) -> None:
        done[0] += 1
        if on_progress:
            on_progress(min(done[0], total), total)
        if cancelled():
            raise _Cancelled

    def keep(replication, table) -> None:
        rows = as_rows(table, replication.scenario["name"], replication.seed)
        frames.append(rows)
        if replication.scenario is BASELINE_SCENARIO:
            with cache_lock:
                _baseline_cache[(replication.seed, scale, END_YEAR)] = rows
        count(replication, table)

    try:
        run_replications(todo, keep, scale=scale, end_year=END_YEAR, executor=ExecutorOptions())
        runs = pd.concat(frames, ignore_index=True)
        if not levers_on:  # the mix is the baseline: its runs are the baseline's, shown once under each label
            runs = pd.concat([runs.assign(scenario=MIX), runs], ignore_index=True)
        savings = None
        if by_lever and levers_on:
            done_runs = runs.replace({"scenario": {MIX: "+".join(str(i) for i in range(len(scenario.levers)))}})
            savings = lever_savings(doc, seeds, parameter_set(), scale=scale, end_year=END_YEAR, year=TABLE_YEAR,
                                    on_table=count, runs_done=done_runs)
    except _Cancelled:
        return None
    f = _futures(scenario, runs, replications, scale, seed, savings, key=entry or "")
    if entry is not None:
        tables = {"runs": runs}
        if savings is not None:
            tables["levers"] = savings.table
        page_cache.store(entry, tables, {"total_gbp": None if savings is None else savings.total_gbp,
                                         "exact": None if savings is None else savings.exact})
    return f


def _futures(scenario: Scenario, runs: pd.DataFrame, replications: int, scale: float, seed: int,
             savings: LeverSavings | None, from_cache: bool = False, key: str = "") -> Futures:
    summary = summarise(runs, measures=SHOWN, baseline=BASELINE, changes=True)
    titles = [type(lever).TITLE or lever.name for lever in scenario.levers]
    return Futures(scenario.name, titles, runs, summary, replications, scale, seed, savings, from_cache, key)


def _savings(table: pd.DataFrame | None, meta: dict) -> LeverSavings | None:
    if table is None:
        return None
    return LeverSavings(table, float(meta["total_gbp"]), TABLE_YEAR, bool(meta["exact"]), pd.DataFrame())


def results_csv(f: Futures) -> bytes:
    """The summary behind the charts and the table, one row per (scenario, year), as CSV."""
    out = f.summary.replace({"scenario": {MIX: f.name}}) if f.name != BASELINE else f.summary
    if f.name == BASELINE:
        out = out[out["scenario"] == BASELINE]
    return out.to_csv(index=False).encode()


def table_rows(f: Futures) -> list[tuple[str, str, str, str]]:
    """The 2025 figures: (what, baseline, scenario, change with 90% range), medians of runs;
    changes are paired by seed."""
    rows = []

    def add(label, name, divisor):
        change = [f.at(MIX, f"{name}_change_{stat}") / divisor for stat in ("median", "p05", "p95")]
        rows.append((label, f"{f.at(BASELINE, f'{name}_median') / divisor:,.0f}",
                     f"{f.at(MIX, f'{name}_median') / divisor:,.0f}", _change(*change, f.replications)))

    for name, label in PLACEMENTS.items():
        add(f"{label} (31 March {TABLE_YEAR})", name, 1)
    add(f"Spend on children in care, £m (year to March {TABLE_YEAR})", "spend_gbp", 1e6)
    add(f"Edge-of-care spend, £m (year to March {TABLE_YEAR})", "edge_spend_gbp", 1e6)
    net = [f.at(MIX, f"{SAVING}_{stat}") / 1e6 for stat in ("median", "p05", "p95")]
    rows.append((f"Saving net of investment, £m (year to March {TABLE_YEAR})", "", "",
                 _change(*net, f.replications, signed=False)))
    return rows


def _change(median: float, lo: float, hi: float, replications: int, signed: bool = True) -> str:
    text = f"{median:+,.0f}" if signed else f"{median:,.0f}"
    if replications > 1:
        text += f" ({lo:,.0f} to {hi:,.0f})"
    return text


def table_html(f: Futures) -> str:
    head = ("<tr><th style='text-align:left'>2025</th><th>Baseline</th><th>This mix</th>"
            "<th>Change (90% range)</th></tr>")
    body = "".join(
        "<tr>" + f"<td style='text-align:left'>{html.escape(r[0])}</td>"
        + "".join(f"<td>{html.escape(c)}</td>" for c in r[1:]) + "</tr>" for r in table_rows(f))
    return (f"<table class='results-table' style='border-collapse:collapse;width:100%;font-size:15px'>"
            f"<style>.results-table td,.results-table th{{padding:6px 10px;border-bottom:1px solid #ddd;"
            f"text-align:right}}</style>{head}{body}</table>")


# ---------------------------------------------------------------------------- charts
def _series(f: Futures) -> dict[str, pd.DataFrame]:
    """Summary rows by the label a chart shows: the baseline, and the mix when it has levers."""
    rows = {"Baseline": f.rows(BASELINE)}
    if f.levers:
        rows[f.name] = f.rows(MIX)
    return rows


def observed_points() -> pd.DataFrame:
    """Observed values of the charts' measures to OBSERVED_UP_TO, from the calibration's data file
    (calibration/data/targets.csv, read as data: `experiments` does not import `calibration`):
    children in care, foster and residential as their observed shares of it, and spend (£m)."""
    from importlib import resources

    targets = pd.read_csv(resources.files("calibration.data") / "targets.csv")
    targets = targets[targets["year"] <= OBSERVED_UP_TO]
    by = {(m, y): (v, src) for m, y, v, src in targets[["measure", "year", "value", "source"]].itertuples(index=False)}
    rows = []
    for (measure, year), (value, source) in by.items():
        if measure == "n_in_care":
            rows.append(("All children in care", year, value, source))
            for share, title in (("foster_share", PLACEMENTS["foster"]), ("residential_share", PLACEMENTS["residential"])):
                if (share, year) in by:
                    rows.append((title, year, value * by[(share, year)][0], by[(share, year)][1]))
        elif measure == CONTRACT["spend_gbp"]:
            rows.append(("Spend on children in care", year, value / 1e6, source))
    return pd.DataFrame(rows, columns=["measure", "year", "value", "source"])


_specs: OrderedDict[tuple, dict] = OrderedDict()  # (result key, chart) -> Vega-Lite spec, shared by tabs
SPECS_KEPT = 64
# drawn where a chart will be before its result arrives, so that the browser loads vega meanwhile
PLACEHOLDER_SPEC = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"values": []},
                    "mark": "point", "width": 1, "height": 1, "config": {"view": {"stroke": None}},
                    "usermeta": {"embedOptions": {"actions": False}}}


def chart_spec(make, f: Futures, *args) -> dict:
    """The Vega-Lite spec of chart `make` for `f`, not re-validated against the schema. Altair
    takes ~0.3 s a chart, so a cached result's specs are built once per server (the warm-up
    builds the first sight's) and shared by every tab that shows that result."""
    if not f.key:
        return make(f, *args).to_dict(validate=False)
    name = (f.key, make.__name__, *args)
    with cache_lock:
        spec = _specs.get(name)
    if spec is None:
        spec = make(f, *args).to_dict(validate=False)
        with cache_lock:
            _specs[name] = spec
            while len(_specs) > SPECS_KEPT:
                _specs.popitem(last=False)
    return spec


def waterfall(f: Futures):
    return page_charts.waterfall_chart(
        f.savings.table, f.savings.total_gbp,
        title=f"{f.name}: year to March {TABLE_YEAR}, £m (mean of {f.replications} paired runs)")


def care_chart(f: Futures):
    data = page_charts.fan_data(_series(f), PLACEMENTS)
    return page_charts.fan_chart(data, observed_points(), unit="children", label_year=TABLE_YEAR,
                                 title=f"Children in care at 31 March: median and 90% band of {f.replications} runs")


def spend_chart(f: Futures):
    data = page_charts.fan_data(_series(f), {"spend_gbp": "Spend on children in care",
                                             "edge_spend_gbp": "Edge-of-care spend"}, divisor=1e6)
    return page_charts.fan_chart(data, observed_points(), unit="£m", label_year=TABLE_YEAR,
                                 title="Spend in the year to 31 March, £m (median and 90% band)")
