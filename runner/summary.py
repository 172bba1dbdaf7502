"""The one summary of replications: mean, median, 5th and 95th percentiles, paired differences.

Every figure caresim shows across replications comes from here: the JSON contract of
`caresim run --json`, `summary.csv` and the report of `caresim compare`, the dashboard's fan
charts and 2025 table. The measures summarised are the public ones declared in
`sim.measures` (those with a `contract` name); the net saving is computed in one place,
`net_saving`, paired by seed with the baseline.

Replications are held as a long table of runs (`runs`): one row per (scenario, seed, year) and
one column per measure, as the experiment store keeps them; `grid` turns one scenario's rows
into (seeds, years) arrays per measure, and `grid_of` makes the same arrays from replications'
yearly tables held as arrays (`sim.measures.Yearly`), which is how `caresim run` avoids pandas.
Every statistic is computed on those arrays (`describe`, `contract_of`, `means_of`), across
seeds, year by year, over the finite values only (the first year has no flows: its statistic
is NaN).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from sim.measures import CONTRACT

if TYPE_CHECKING:  # the tables' functions import it: `caresim run` works on arrays (`grid_of`) without it
    import pandas as pd

    from sim.measures import Yearly

BASELINE = "baseline"  # the scenario that paired differences are taken against
SPEND = "spend_children_in_care_gbp"
SUPPORT_SPEND = "spend_support_gbp"  # every support levers and the baseline buy (sim/costs.py)
SAVING = "savings_net_gbp"  # name of the net saving in summaries and the store's derived column
STATISTICS = ("mean", "median", "p05", "p95")
KEYS = ("scenario", "seed", "year")  # the columns that identify a row of `runs`


def describe(values: np.ndarray, statistics: Sequence[str] = STATISTICS) -> dict[str, np.ndarray]:
    """Mean, median, p05 and p95 (or those of `statistics`) over axis 0 (replications) of a
    (replications, years) array.

    Non-finite values are left out; a year with no finite value gets NaN. (Asking for the mean
    alone skips `np.percentile`, whose first call imports numpy.ma: ~25 ms of `caresim run`.)
    """
    values = np.asarray(values, dtype=float)
    out = {name: np.full(values.shape[1], np.nan) for name in statistics}
    quantiles = {"median": 50, "p05": 5, "p95": 95}
    finite = np.isfinite(values)
    whole = finite.all(axis=0)
    if whole.any():  # the common case, reduced in one call per statistic
        v = values[:, whole]
        for name in statistics:
            out[name][whole] = v.mean(axis=0) if name == "mean" else np.percentile(v, quantiles[name], axis=0)
    for j in np.flatnonzero(~whole & finite.any(axis=0)):
        v = values[finite[:, j], j]
        for name in statistics:
            out[name][j] = v.mean() if name == "mean" else np.percentile(v, quantiles[name])
    return out


def net_saving(baseline: Mapping[str, np.ndarray], scenario: Mapping[str, np.ndarray]) -> np.ndarray:
    """The net saving, all in: baseline spend on children in care and on support minus the
    scenario's (support carries the investment: edge-of-care and reunification support); arrays
    paired element by element (by seed)."""
    return ((np.asarray(baseline[SPEND], dtype=float) - np.asarray(scenario[SPEND], dtype=float))
            - (np.asarray(scenario[SUPPORT_SPEND], dtype=float) - np.asarray(baseline[SUPPORT_SPEND], dtype=float)))


def with_saving(runs: "pd.DataFrame", baseline: str = BASELINE) -> pd.DataFrame:
    """`runs` with the column `savings_net_gbp` (`net_saving` against the baseline run of the same
    seed and year; NaN where that run is missing)."""
    import pandas as pd

    base = runs[runs["scenario"] == baseline].set_index(["seed", "year"])
    key = pd.MultiIndex.from_frame(runs[["seed", "year"]])
    paired = {c: base[c].reindex(key).to_numpy() for c in (SPEND, SUPPORT_SPEND)}
    runs = runs.copy()
    runs[SAVING] = net_saving(paired, {c: runs[c].to_numpy() for c in (SPEND, SUPPORT_SPEND)})
    return runs


def grid(runs: "pd.DataFrame", scenario: str, columns: Sequence[str], seeds: np.ndarray | None = None,
         years: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Seeds, years and, per column, the (seeds, years) array of one scenario's runs.

    `seeds` and `years` default to those the scenario has; given, they pick (and pair) the rows,
    NaN where the scenario has no run.
    """
    import pandas as pd

    rows = runs[runs["scenario"] == scenario]
    seeds = np.sort(rows["seed"].unique()) if seeds is None else seeds
    years = np.sort(rows["year"].unique()) if years is None else years
    index = pd.MultiIndex.from_product([seeds, years], names=["seed", "year"])
    by = rows.set_index(["seed", "year"]).reindex(index)
    return seeds, years, {c: by[c].to_numpy(dtype=float).reshape(seeds.size, years.size) for c in columns}


def summarise(runs: "pd.DataFrame", *, measures: Mapping[str, str] | None = None, baseline: str | None = BASELINE,
              changes: bool = False) -> "pd.DataFrame":
    """Per scenario and year: every statistic of every measure across seeds.

    Args:
        runs: one row per (scenario, seed, year), one column per measure.
        measures: summary name -> column (default: the public measures of `sim.measures`).
        baseline: the scenario paired differences are taken against; if it is in `runs`, the net
            saving (`savings_net_gbp_<statistic>`) is added; None: no paired differences.
        changes: also summarise each measure's paired difference from the baseline
            (`<name>_change_<statistic>`, scenario minus baseline of the same seed).

    Returns:
        Columns `scenario`, `year`, `replications`, then `<name>_<statistic>` for each measure;
        scenarios in their order of first appearance in `runs`, years ascending.
    """
    import pandas as pd

    measures = dict(CONTRACT if measures is None else measures)
    scenarios = list(dict.fromkeys(runs["scenario"]))
    paired = baseline is not None and baseline in scenarios
    columns = list(dict.fromkeys([*measures.values(), SPEND, SUPPORT_SPEND]))
    frames = []
    for scenario in scenarios:
        seeds, years, values = grid(runs, scenario, columns)
        frame = {"scenario": scenario, "year": years.astype("int64"), "replications": np.full(years.size, seeds.size)}
        for name, column in measures.items():
            for stat, v in describe(values[column]).items():
                frame[f"{name}_{stat}"] = v
        if paired:
            base_paired = grid(runs, baseline, columns, seeds, years)[2]
            for stat, v in describe(net_saving(base_paired, values)).items():
                frame[f"{SAVING}_{stat}"] = v
            if changes:
                for name, column in measures.items():
                    for stat, v in describe(values[column] - base_paired[column]).items():
                        frame[f"{name}_change_{stat}"] = v
        frames.append(pd.DataFrame(frame))
    return pd.concat(frames, ignore_index=True)


def grid_of(tables: Sequence["Yearly"], columns: Sequence[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Years and, per column, the (replications, years) array of replications' yearly tables
    held as arrays (`sim.measures.Yearly`, in seed order): `grid`'s arrays without a DataFrame."""
    years = tables[0].years
    if any(not np.array_equal(t.years, years) for t in tables):  # a bug, not a user's mistake
        raise RuntimeError("replications of one experiment cover different years")
    return years, {c: np.stack([np.asarray(t.columns[c], dtype=float) for t in tables]) for c in columns}


def contract(runs: "pd.DataFrame", *, scenario: str, seed: int, child_months: int) -> dict:
    """The JSON contract of one scenario's runs (`contract_of` their arrays)."""
    _, years, values = grid(runs, scenario, list(CONTRACT.values()))
    return contract_of(years, values, scenario=scenario, seed=seed, child_months=child_months)


def contract_of(years: np.ndarray, values: Mapping[str, np.ndarray], *, scenario: str, seed: int,
                child_months: int) -> dict:
    """The JSON contract of `caresim run --json`: per public measure the mean over replications,
    with `_p05`/`_p95` when there are several (values rounded to 2 decimals, NaN as null), and
    the child-months simulated in all (the unit of work of benchmarks). `values`: the
    (replications, years) array of each contract column (`grid` or `grid_of`)."""
    replications = int(values[next(iter(CONTRACT.values()))].shape[0])
    out: dict = {"scenario": scenario, "seed": int(seed), "replications": replications,
                 "years": [int(y) for y in years]}
    wanted = STATISTICS if replications > 1 else ("mean",)
    for name, column in CONTRACT.items():
        stats = describe(values[column], wanted)
        out[name] = _json_list(stats["mean"])
        if replications > 1:
            out[f"{name}_p05"] = _json_list(stats["p05"])
            out[f"{name}_p95"] = _json_list(stats["p95"])
    out["child_months"] = int(child_months)
    return out


def _json_list(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else round(float(v), 2) for v in values]


def means_of(values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The mean over replications (axis 0) of each (replications, years) array, as `describe`."""
    return {column: describe(v, ("mean",))["mean"] for column, v in values.items()}


def mean_table(runs: "pd.DataFrame", scenario: str) -> "pd.DataFrame":
    """One scenario's mean over replications of every measure of `sim.measures`, indexed by year:
    the yearly table of a run with several replications (`caresim run --data` prints and writes it)."""
    import pandas as pd

    from sim.measures import MEASURES

    _, years, values = grid(runs, scenario, [m.name for m in MEASURES])
    return pd.DataFrame(means_of(values), index=pd.Index(years.astype("int64"), name="year"))
