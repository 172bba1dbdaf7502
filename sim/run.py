"""Run replications and turn them into the yearly table and the JSON contract.

`run_replication` is a pure function of its arguments: the same inputs give the same table,
in any process and in any order. This is what the CLI, the Monte Carlo runners and the
calibration call.
"""
from __future__ import annotations

import gc
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.model import START_YEAR, CareModel
from sim.parameters import Params
from sim.policy import Lever

# JSON name -> column of the yearly table
CONTRACT = {
    "children_in_care": "n_in_care",
    "foster": "n_foster",
    "residential": "n_residential",
    "other": "n_other_care",
    "entries": "new_entries",
    "exits": "new_exits",
    "spend_gbp": "spend_children_in_care_gbp",
    "direct_hours_per_week": "direct_hours_per_week",
}


def replication_seed(base_seed: int, replication: int) -> int:
    """Seed of replication `replication` (0-based): paired across scenarios by construction."""
    return int(base_seed) + int(replication)


def run_replication(params: Params | None = None, *, seed: int = 1, scale: float = 1.0, end_year: int = 2025,
                    levers: Sequence[Lever] = (), journeys: bool = False) -> pd.DataFrame:
    """One replication from 31 March 2015 to 31 March `end_year`: the yearly table.

    The table has one row per year; `child_months` (the run's unit of work) is in the
    frame's `attrs`.
    """
    if end_year <= START_YEAR:
        raise ValueError(f"end year {end_year} is not after the start year {START_YEAR}")
    model = CareModel(params, seed=seed, scale=scale, levers=levers, journeys=journeys)
    try:
        model.run_until(end_year)
        table = model.yearly_table()
        table.attrs["child_months"] = model.child_months
        table.attrs["seed"] = seed
    finally:
        model.release()
        del model
        gc.collect()  # release() unfreezes the model's cycles; collect them now, not in a later run
    return table


def summarise(tables: Sequence[pd.DataFrame], *, scenario: str, seed: int) -> dict:
    """The JSON contract: means over replications, with _p05/_p95 when there are several."""
    years = [int(y) for y in tables[0].index]
    out: dict = {"scenario": scenario, "seed": int(seed), "replications": len(tables), "years": years}
    for name, col in CONTRACT.items():
        values = np.stack([t[col].to_numpy(dtype=float) for t in tables])
        out[name] = _json_list(values.mean(axis=0))
        if len(tables) > 1:
            out[f"{name}_p05"] = _json_list(np.percentile(values, 5, axis=0))
            out[f"{name}_p95"] = _json_list(np.percentile(values, 95, axis=0))
    out["child_months"] = int(sum(t.attrs.get("child_months", 0) for t in tables))
    return out


def _json_list(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else round(float(v), 2) for v in values]


def mean_table(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Element-wise mean of several yearly tables."""
    return sum(tables) / len(tables) if len(tables) > 1 else tables[0]
