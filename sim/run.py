"""One replication as a pure function: parameters, seed, scale, end year and levers in; the yearly table out.

`run_replication` is a pure function of its arguments: the same inputs give the same table,
in any process and in any order. The Monte Carlo runner (runner/montecarlo.py) calls it for
every command; its summaries are in runner/summary.py.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sim.allocator import collect_if_due
from sim.measures import Yearly
from sim.model import START_YEAR, CareModel
from sim.local_start import LocalStart
from sim.parameters import Params
from sim.policy import Lever

if TYPE_CHECKING:
    import pandas as pd


def replication_seed(base_seed: int, replication: int) -> int:
    """Seed of replication `replication` (0-based): paired across scenarios by construction."""
    return int(base_seed) + int(replication)


def run_replication(params: Params | None = None, *, seed: int = 1, scale: float = 1.0, end_year: int = 2025,
                    levers: Sequence[Lever] = (), journeys: bool = False, drivers=None,
                    start: LocalStart | None = None) -> "pd.DataFrame":
    """One replication from 31 March 2015 (or an authority's `start`) to 31 March `end_year`: the yearly table.

    `drivers` (sim/driven.py) replaces the referral, UASC and workforce trends where observed.
    The table has one row per year; `child_months` (the run's unit of work) and `seed` are in
    the frame's `attrs`. `replication_yearly` is the same run with the table as arrays.
    """
    return replication_yearly(params, seed=seed, scale=scale, end_year=end_year, levers=levers, journeys=journeys,
                              drivers=drivers, start=start).to_frame()


def replication_yearly(params: Params | None = None, *, seed: int = 1, scale: float = 1.0, end_year: int = 2025,
                       levers: Sequence[Lever] = (), journeys: bool = False, drivers=None,
                       start: LocalStart | None = None) -> Yearly:
    """`run_replication`'s yearly table as arrays (`sim.measures.Yearly`): no pandas needed."""
    first = START_YEAR if start is None else start.year
    if end_year <= first:
        raise ValueError(f"end year {end_year} is not after the start year {first}")
    model = CareModel(params, seed=seed, scale=scale, levers=levers, journeys=journeys, drivers=drivers, start=start)
    try:
        model.run_until(end_year)
        table = model.yearly()
        table.attrs["child_months"] = model.child_months
        table.attrs["seed"] = seed
    finally:
        model.release()
        del model
        collect_if_due()  # release() unfreezes the model's cycles: at most one full collection a second
    return table
